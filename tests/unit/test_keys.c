/*
 * test_keys - loading and checking DKIM private keys, their public halves,
 * key generation, and the key cache that spares libopendkim a parse per
 * message. Keys are real (OpenSSL), written to a private temporary
 * directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <opendkim/dkim.h>

#include "keycache.h"
#include "keygen.h"
#include "keys.h"
#include "signmem.h"

static char dir[64];

/* path - a file name in the test directory */
static const char *
path(const char *name)
{
	static char buf[8][128];	/* a few may be in use at once */
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* put - text into a file of that mode */
static const char *
put(const char *name, const char *text, mode_t mode)
{
	const char *p = path(name);
	FILE   *fp;

	unlink(p);
	assert_non_null(fp = fopen(p, "w"));
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

/* put_pkey - a key as PEM (traditional or PKCS#8, optionally encrypted) */
static const char *
put_pkey(const char *name, EVP_PKEY *k, int traditional, const char *pass)
{
	const char *p = path(name);
	BIO    *bio;

	unlink(p);
	assert_non_null(bio = BIO_new_file(p, "w"));
	if (traditional)
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0,
								      NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(bio, k, pass ? EVP_aes_128_cbc() : NULL,
							  (unsigned char *) pass,
							  pass ? (int) strlen(pass) : 0, NULL, NULL), 1);
	BIO_free(bio);
	assert_int_equal(chmod(p, 0600), 0);
	return p;
}

/* load - keys_load into a fresh key; its status, error in err */
static int
load(struct keys_key *k, const char *file, int safe, char *err, size_t len)
{
	memset(k, 0, sizeof(*k));
	return keys_load(k, file, safe, NULL, err, len);
}

static EVP_PKEY *rsa2048, *ed;

static int
setup(void **state)
{
	(void) state;
	strcpy(dir, "/tmp/mwkeysXXXXXX");
	assert_non_null(mkdtemp(dir));
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return rsa2048 && ed ? 0 : -1;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void) state;
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(ed);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* RSA in PKCS#8 and traditional PEM, Ed25519 in PKCS#8: type and size. */
static void
test_load_types(void **state)
{
	struct keys_key k;
	char	err[512];

	(void) state;
	assert_int_equal(load(&k, put_pkey("rsa8", rsa2048, 0, NULL), 1, err, sizeof(err)), 0);
	assert_int_equal(k.type, KEYS_RSA);
	assert_int_equal(k.bits, 2048);
	assert_non_null(strstr(k.pem, "-----BEGIN PRIVATE KEY-----"));
	keys_clear(&k);
	assert_int_equal(load(&k, put_pkey("rsat", rsa2048, 1, NULL), 1, err, sizeof(err)), 0);
	assert_int_equal(k.type, KEYS_RSA);
	keys_clear(&k);
	assert_int_equal(load(&k, put_pkey("ed", ed, 0, NULL), 1, err, sizeof(err)), 0);
	assert_int_equal(k.type, KEYS_ED25519);
	assert_string_equal(keys_alg_name(k.type), "ed25519-sha256");
	keys_clear(&k);
	keys_clear(&k);			/* twice is fine */
}

/* The base64 32-byte seed dkimpy and rspamd write is an Ed25519 key. */
static void
test_load_raw_ed25519(void **state)
{
	unsigned char seed[32], pub[32], pub2[32];
	char	b64[64], err[512];
	size_t	n = sizeof(seed), pn = sizeof(pub), pn2 = sizeof(pub2);
	struct keys_key k;

	(void) state;
	assert_int_equal(EVP_PKEY_get_raw_private_key(ed, seed, &n), 1);
	EVP_EncodeBlock((unsigned char *) b64, seed, 32);
	strcat(b64, "\n");
	assert_int_equal(load(&k, put("raw", b64, 0600), 1, err, sizeof(err)), 0);
	assert_int_equal(k.type, KEYS_ED25519);
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, pub, &pn), 1);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k.pkey, pub2, &pn2), 1);
	assert_memory_equal(pub, pub2, 32);
	keys_clear(&k);
}

/* Each unusable file is refused with a message that names it. */
static void
test_load_refused(void **state)
{
	struct {
		const char *file;
		const char *want;
	}	cases[4];
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 512);
	struct keys_key k;
	char	err[512];
	unsigned i;

	(void) state;
	cases[0].file = put_pkey("enc", rsa2048, 0, "secret");
	cases[0].want = "encrypted";
	cases[1].file = put_pkey("ec", ec, 0, NULL);
	cases[1].want = "cannot make DKIM signatures";
	cases[2].file = put_pkey("small", small, 0, NULL);
	cases[2].want = "RSA key of 512 bits";
	cases[3].file = put("corrupt", "-----BEGIN PRIVATE KEY-----\nnot base64\n"
			    "-----END PRIVATE KEY-----\n", 0600);
	cases[3].want = "not a usable PEM private key";
	for (i = 0; i < 4; i++) {
		*err = 0;
		assert_int_equal(load(&k, cases[i].file, 1, err, sizeof(err)), -1);
		assert_non_null(strstr(err, cases[i].file));
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].file, err, cases[i].want);
		keys_clear(&k);
	}
	assert_int_equal(load(&k, put("junk", "hello\n", 0600), 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "neither a PEM private key"));
	keys_clear(&k);
	assert_int_equal(load(&k, path("missing"), 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	keys_clear(&k);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(small);
}

/* require_safe_keys: group or other access refuses; off, it is allowed. */
static void
test_load_modes(void **state)
{
	const char *f = put_pkey("mode", rsa2048, 0, NULL);
	struct keys_key k;
	char	err[512];

	(void) state;
	assert_int_equal(chmod(f, 0640), 0);
	assert_int_equal(load(&k, f, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0640"));
	keys_clear(&k);
	assert_int_equal(load(&k, f, 0, err, sizeof(err)), 0);
	keys_clear(&k);
	assert_int_equal(chmod(f, 0602), 0);	/* others may write: unsafe too */
	assert_int_equal(load(&k, f, 1, err, sizeof(err)), -1);
	keys_clear(&k);
	assert_int_equal(load(&k, dir, 1, err, sizeof(err)), -1);	/* a directory */
	assert_non_null(strstr(err, "not a regular file"));
	keys_clear(&k);
}

/* The user mailwarden runs as must be able to read the key. */
static void
test_load_owner(void **state)
{
	const char *f = put_pkey("owner", rsa2048, 0, NULL);
	struct keys_owner own = {1, getuid() + 1, getgid() + 1, "nobody-test"};
	struct keys_key k = {0};
	char	err[512];

	(void) state;
	assert_int_equal(keys_load(&k, f, 1, &own, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "user nobody-test"));
	keys_clear(&k);
	own.uid = getuid();
	assert_int_equal(keys_load(&k, f, 1, &own, err, sizeof(err)), 0);
	keys_clear(&k);
}

/* p= of a generated key matches its own key and not another. */
static void
test_public(void **state)
{
	struct keys_key a = {0}, b = {0}, e = {0};
	char	p[2048], err[256], txt[4096];
	unsigned char der[2048];
	int	n;

	(void) state;
	assert_int_equal(keygen_make(&a, KEYS_RSA, 1024, err, sizeof(err)), 0);
	assert_int_equal(keygen_make(&b, KEYS_RSA, 1024, err, sizeof(err)), 0);
	assert_int_equal(keygen_make(&e, KEYS_ED25519, 0, err, sizeof(err)), 0);
	assert_int_equal(keys_public_b64(&a, p, sizeof(p)), 0);
	assert_true(strncmp(p, "MIGf", 4) == 0);	/* SubjectPublicKeyInfo */
	n = keys_b64_decode(p, der, sizeof(der));
	assert_true(n > 0);
	assert_true(keys_match_public(&a, der, (size_t) n));
	assert_false(keys_match_public(&b, der, (size_t) n));
	assert_int_equal(keys_public_b64(&e, p, sizeof(p)), 0);
	assert_int_equal(strlen(p), 44);		/* 32 raw bytes, RFC 8463 */
	assert_int_equal(keys_b64_decode(p, der, sizeof(der)), 32);
	assert_true(keys_match_public(&e, der, 32));
	assert_false(keys_match_public(&a, der, 32));
	assert_int_equal(keygen_txt(&e, txt, sizeof(txt)), 0);
	assert_true(strncmp(txt, "v=DKIM1; k=ed25519; p=", 22) == 0);
	assert_int_equal(keygen_make(&b, KEYS_RSA, 512, err, sizeof(err)), -1);
	keys_clear(&a);
	keys_clear(&b);
	keys_clear(&e);
}

/* The record is split into strings of at most 255 bytes. */
static void
test_record_split(void **state)
{
	struct keys_key k = {0};
	char	err[256], txt[4096], *buf = NULL, *p, *q;
	size_t	len = 0, total = 0;
	FILE   *fp;

	(void) state;
	assert_int_equal(keygen_make(&k, KEYS_RSA, 4096, err, sizeof(err)), 0);
	assert_int_equal(keygen_txt(&k, txt, sizeof(txt)), 0);
	assert_true(strlen(txt) > 600);
	assert_non_null(fp = open_memstream(&buf, &len));
	keygen_record(fp, "s1", "example.test", txt);
	fclose(fp);
	assert_true(strncmp(buf, "s1._domainkey.example.test. IN TXT (", 36) == 0);
	for (p = strchr(buf, '"'); p; p = strchr(q + 1, '"')) {
		q = strchr(p + 1, '"');
		assert_non_null(q);
		assert_true(q - p - 1 <= 255);
		assert_memory_equal(p + 1, txt + total, (size_t) (q - p - 1));
		total += (size_t) (q - p - 1);
	}
	assert_int_equal(total, strlen(txt));
	free(buf);
	keys_clear(&k);
}

/* keygen_write refuses to overwrite and makes a 0600 file that loads. */
static void
test_keygen_write(void **state)
{
	struct keys_key k = {0}, l;
	const char *f = path("gen.key");
	struct stat st;
	char	err[512];

	(void) state;
	unlink(f);
	assert_int_equal(keygen_make(&k, KEYS_ED25519, 0, err, sizeof(err)), 0);
	assert_int_equal(keygen_write(&k, f, err, sizeof(err)), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(keygen_write(&k, f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "File exists"));
	assert_int_equal(load(&l, f, 1, err, sizeof(err)), 0);
	assert_int_equal(EVP_PKEY_eq(k.pkey, l.pkey), 1);
	keys_clear(&l);
	keys_clear(&k);
}

/*
 * sign - one message through libopendkim with a key's PEM; 0 when signed.
 * What libopendkim 2.11 leaves behind for Ed25519 is swept as the signing
 * stage does (signmem.h, dkim_sign.c), so a leak checker sees none.
 */
static int
sign(const struct keys_key *k)
{
	DKIM_LIB *lib = dkim_init(signmem_alloc, signmem_free);
	struct signmem mem = {0};
	EVP_PKEY *lent;
	DKIM_STAT st;
	DKIM   *d;
	unsigned char *sig;
	size_t	len;
	char	hdr[] = "From: a@example.test", body[] = "hi\r\n";
	int	rc;

	(void) keycache_lent();
	d = dkim_sign(lib, (unsigned char *) "t", &mem, (dkim_sigkey_t) k->pem,
		      (unsigned char *) "s", (unsigned char *) "example.test",
		      DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, k->type == KEYS_ED25519 ?
		      DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(d);
	dkim_header(d, (unsigned char *) hdr, strlen(hdr));
	dkim_eoh(d);
	dkim_body(d, (unsigned char *) body, strlen(body));
	rc = dkim_eom(d, NULL) == DKIM_STAT_OK
	    && dkim_getsighdr_d(d, 16, &sig, &len) == DKIM_STAT_OK ? 0 : -1;
	lent = keycache_lent();
	dkim_free(d);
	if (signmem_sweep(&mem) > 0 && lent)
		EVP_PKEY_free(lent);
	dkim_close(lib);
	return rc;
}

/*
 * libopendkim's own key parse is answered from the cache for a loaded
 * key (the interposition works), and parses as usual once it is gone.
 */
static void
test_keycache(void **state)
{
	struct keys_key k;
	char	err[512];
	unsigned long before;

	(void) state;
	assert_int_equal(load(&k, put_pkey("cache", rsa2048, 0, NULL), 1, err, sizeof(err)), 0);
	before = keycache_hits();
	assert_int_equal(sign(&k), 0);
	assert_int_equal(keycache_hits(), before + 1);
	keycache_remove(k.cache);
	k.cache = NULL;
	before = keycache_hits();
	assert_int_equal(sign(&k), 0);		/* parsed by OpenSSL instead */
	assert_int_equal(keycache_hits(), before);
	keys_clear(&k);
	assert_int_equal(load(&k, put_pkey("cache-ed", ed, 0, NULL), 1, err, sizeof(err)), 0);
	before = keycache_hits();
	assert_int_equal(sign(&k), 0);
	assert_int_equal(keycache_hits(), before + 1);
	keys_clear(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_types),
		cmocka_unit_test(test_load_raw_ed25519),
		cmocka_unit_test(test_load_refused),
		cmocka_unit_test(test_load_modes),
		cmocka_unit_test(test_load_owner),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_record_split),
		cmocka_unit_test(test_keygen_write),
		cmocka_unit_test(test_keycache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
