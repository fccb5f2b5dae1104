/*
 * test_signmem - the per-handle allocation set, and what libopendkim
 * leaves behind after dkim_free(): nothing for RSA, the signature buffer
 * for Ed25519 (libopendkim 2.11). The second is what dkim_sign.c's
 * clean-up relies on; if libopendkim changes, this test says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <opendkim/dkim.h>

#include "keycache.h"
#include "keygen.h"
#include "signmem.h"

/* Many blocks, half freed through the set: the sweep frees the rest. */
static void
test_set(void **state)
{
	struct signmem m = {0};
	void   *p[20000];
	int	i;

	(void) state;
	for (i = 0; i < 20000; i++)
		assert_non_null(p[i] = signmem_alloc(&m, (size_t) (i % 100)));
	for (i = 0; i < 20000; i += 2)
		signmem_free(&m, p[i]);
	signmem_free(&m, NULL);
	assert_int_equal(m.live, 10000);
	for (i = 0; i < 100000; i++)		/* churn: tombstones, rehashes */
		signmem_free(&m, signmem_alloc(&m, 8));
	assert_true(m.cap <= 65536);
	assert_int_equal(signmem_sweep(&m), 10000);
	assert_int_equal(signmem_sweep(&m), 0);	/* twice is fine */
	signmem_free(NULL, signmem_alloc(NULL, 16));	/* untracked */
}

/* swept - sign one message with a key through libopendkim; blocks left */
static size_t
swept(enum keys_type t)
{
	DKIM_LIB *lib = dkim_init(signmem_alloc, signmem_free);
	struct signmem m = {0};
	struct keys_key k = {0};
	char	err[256], hdr[] = "From: a@example.test", body[] = "hi\r\n";
	unsigned char *sig;
	size_t	len, n;
	EVP_PKEY *lent;
	DKIM_STAT st;
	DKIM   *d;

	assert_int_equal(keygen_make(&k, t, 1024, err, sizeof(err)), 0);
	d = dkim_sign(lib, (unsigned char *) "t", &m, (dkim_sigkey_t) k.pem,
		      (unsigned char *) "s", (unsigned char *) "example.test",
		      DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, t == KEYS_ED25519 ?
		      DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(d);
	assert_true(m.live > 0);		/* the handle's memory is tracked */
	dkim_header(d, (unsigned char *) hdr, strlen(hdr));
	dkim_eoh(d);
	dkim_body(d, (unsigned char *) body, strlen(body));
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr_d(d, 16, &sig, &len), DKIM_STAT_OK);
	lent = keycache_lent();
	assert_ptr_equal(lent, k.pkey);	/* libopendkim got the parsed key */
	dkim_free(d);
	if ((n = signmem_sweep(&m)) > 0)
		EVP_PKEY_free(lent);		/* as dkim_sign.c does */
	keys_clear(&k);
	dkim_close(lib);
	return n;
}

/* RSA: dkim_free() frees everything. Ed25519: 2.11 leaves one block. */
static void
test_libopendkim(void **state)
{
	size_t	ed;

	(void) state;
	assert_int_equal(swept(KEYS_RSA), 0);
	ed = swept(KEYS_ED25519);
	if (ed > 1)
		fail_msg("libopendkim left %zu blocks of an Ed25519 handle (2.11: 1, or 0 "
			 "once fixed): check the clean-up in dkim_sign.c", ed);
	printf("# libopendkim leaves %zu block(s) of an Ed25519 handle\n", ed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_libopendkim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
