/*
 * NAME
 *	keys.c - DKIM private keys: loading, checking, public halves
 * DESCRIPTION
 *	A key file is read once per configuration snapshot. It must be a
 *	regular file of at most KEYS_MAX_FILE bytes; with require_safe_keys
 *	no group or other permission bit may be set (OpenDKIM's
 *	RequireSafeKeys); when mailwarden starts as root and will run as a
 *	user, that user must be able to read it, or every later reload would
 *	fail. The content is a PEM private key (PKCS#8 or traditional RSA),
 *	or the base64 32-byte Ed25519 seed that dkimpy and rspamd write.
 *	Encrypted keys are refused: nobody would be there to type a password.
 *
 *	The accepted key is RSA of KEYS_MIN_RSA..KEYS_MAX_RSA bits or
 *	Ed25519. libopendkim is given the key as canonical PKCS#8 PEM text,
 *	which it can read for both types (it would misread a base64 DER
 *	Ed25519 key: it only decodes base64 that starts with "MII"), and that
 *	text is registered with keycache so libopendkim uses the parsed key.
 *
 *	Every function returns 0 or -1 with the reason in err; none logs.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keycache.h"
#include "keys.h"

#define ED25519_LEN 32

/* keys_ssl_error - OpenSSL's last reason, and an empty error queue */
static const char *
keys_ssl_error(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown reason";
}

/* keys_check_mode - safe permissions, readable by the run-as user */
static int
keys_check_mode(const char *file, const struct stat *st, int require_safe,
		const struct keys_owner *own, char *err, size_t len)
{
	mode_t	m = st->st_mode;

	if (!S_ISREG(m) || st->st_size > KEYS_MAX_FILE) {
		snprintf(err, len, "key file %s: not a regular file of at most %d bytes",
			 file, KEYS_MAX_FILE);
		return -1;
	}
	if (require_safe && (m & (S_IRWXG | S_IRWXO))) {
		snprintf(err, len, "key file %s: mode %04o gives group or others access; "
			 "chmod 600 it (or set require_safe_keys = no)", file,
			 (unsigned) (m & 07777));
		return -1;
	}
	if (own && own->check && !((st->st_uid == own->uid && (m & S_IRUSR))
				   || (st->st_gid == own->gid && (m & S_IRGRP))
				   || (m & S_IROTH))) {
		snprintf(err, len, "key file %s: user %s, which mailwarden runs as, cannot "
			 "read it (owner uid %ld, mode %04o), so reloads would fail; chown %s it",
			 file, own->user, (long) st->st_uid, (unsigned) (m & 07777), own->user);
		return -1;
	}
	return 0;
}

/* keys_read_fd - the whole of an open, checked file; NULL with err */
static char *
keys_read_fd(int fd, const char *file, const struct stat *st, size_t *len,
	     char *err, size_t errlen)
{
	char   *buf;
	ssize_t n;

	if ((buf = malloc((size_t) st->st_size + 1)) == NULL) {
		snprintf(err, errlen, "key file %s: out of memory", file);
		return NULL;
	}
	/* One byte more than fstat said shows a file that grew meanwhile. */
	if ((n = read(fd, buf, (size_t) st->st_size + 1)) < 0 || n > st->st_size) {
		snprintf(err, errlen, "key file %s: %s", file,
			 n < 0 ? strerror(errno) : "changed while being read");
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = (size_t) n;
	return buf;
}

/* keys_read - the checked file's content, NUL-terminated; *len its size */
static char *
keys_read(const char *file, int require_safe, const struct keys_owner *own,
	  size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char   *buf = NULL;
	int	fd;

	if ((fd = open(file, O_RDONLY | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "key file %s: %s", file, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		snprintf(err, errlen, "key file %s: %s", file, strerror(errno));
	else if (keys_check_mode(file, &st, require_safe, own, err, errlen) == 0)
		buf = keys_read_fd(fd, file, &st, len, err, errlen);
	close(fd);
	return buf;
}

/* keys_nopass - password callback: refuse, and remember that one was asked */
static int
keys_nopass(char *buf, int size, int rwflag, void *u)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	*(int *) u = 1;
	return -1;
}

/* keys_b64_decode - base64 (white space ignored) to bytes; length or -1 */
int
keys_b64_decode(const char *in, unsigned char *out, size_t outlen)
{
	char	clean[4096];
	size_t	n = 0, pad = 0;
	int	got;

	for (; *in; in++) {
		if (isspace((unsigned char) *in))
			continue;
		if (n + 1 >= sizeof(clean) || (pad && *in != '='))
			return -1;
		pad += *in == '=';
		clean[n++] = *in;
	}
	if (n == 0 || n % 4 || pad > 2 || (n / 4) * 3 > outlen)
		return -1;
	clean[n] = 0;
	if ((got = EVP_DecodeBlock(out, (unsigned char *) clean, (int) n)) < 0)
		return -1;
	return got - (int) pad;
}

/* keys_parse_raw - a base64 32-byte Ed25519 seed, or NULL */
static EVP_PKEY *
keys_parse_raw(const char *text)
{
	unsigned char seed[ED25519_LEN + 3];
	EVP_PKEY *k;

	if (keys_b64_decode(text, seed, sizeof(seed)) != ED25519_LEN)
		return NULL;
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, ED25519_LEN);
	OPENSSL_cleanse(seed, sizeof(seed));
	return k;
}

/* keys_parse - PEM or raw Ed25519 text to a key; NULL with err */
static EVP_PKEY *
keys_parse(const char *file, const char *text, size_t len, char *err, size_t errlen)
{
	BIO    *bio;
	EVP_PKEY *k = NULL;
	int	asked = 0;

	if (strstr(text, "-----BEGIN") == NULL) {
		if ((k = keys_parse_raw(text)) == NULL)
			snprintf(err, errlen, "key file %s: neither a PEM private key nor "
				 "a base64 Ed25519 key", file);
		return k;
	}
	if ((bio = BIO_new_mem_buf(text, (int) len)) == NULL) {
		snprintf(err, errlen, "key file %s: out of memory", file);
		return NULL;
	}
	k = PEM_read_bio_PrivateKey_ex(bio, NULL, keys_nopass, &asked, NULL, NULL);
	BIO_free(bio);
	if (k == NULL && asked)
		snprintf(err, errlen, "key file %s: the key is encrypted; store it "
			 "unencrypted (openssl pkey -in FILE -out NEW)", file);
	else if (k == NULL)
		snprintf(err, errlen, "key file %s: not a usable PEM private key (%s)",
			 file, keys_ssl_error());
	ERR_clear_error();
	return k;
}

/* keys_check_type - RSA of a usable size or Ed25519; sets type, bits */
static int
keys_check_type(struct keys_key *k, EVP_PKEY *pkey, char *err, size_t len)
{
	int	bits = EVP_PKEY_get_bits(pkey);

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (bits < KEYS_MIN_RSA || bits > KEYS_MAX_RSA) {
			snprintf(err, len, "RSA key of %d bits: DKIM needs %d to %d "
				 "(2048 is usual)", bits, KEYS_MIN_RSA, KEYS_MAX_RSA);
			return -1;
		}
		k->type = KEYS_RSA;
		break;
	case EVP_PKEY_ED25519:
		k->type = KEYS_ED25519;
		break;
	default:
		snprintf(err, len, "a %s key cannot make DKIM signatures: use RSA or Ed25519",
			 OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		return -1;
	}
	k->bits = (unsigned) bits;
	return 0;
}

/* keys_canonical - the key as PKCS#8 PEM text, registered with keycache */
static int
keys_canonical(struct keys_key *k, char *err, size_t len)
{
	BIO    *bio;
	char   *p;
	long	n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL
	    || PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1
	    || (n = BIO_get_mem_data(bio, &p)) <= 0
	    || (k->pem = malloc((size_t) n + 1)) == NULL) {
		snprintf(err, len, "cannot encode the key (%s)", keys_ssl_error());
		BIO_free(bio);
		return -1;
	}
	memcpy(k->pem, p, (size_t) n);
	k->pem[n] = 0;
	k->pemlen = (size_t) n;
	OPENSSL_cleanse(p, (size_t) n);
	BIO_free(bio);
	if ((k->cache = keycache_add(k->pem, k->pemlen, k->pkey)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	return 0;
}

/* keys_from_pkey - adopt a parsed key (takes the reference); -1 with err */
int
keys_from_pkey(struct keys_key *k, EVP_PKEY *pkey, char *err, size_t len)
{
	k->pkey = pkey;
	if (keys_check_type(k, pkey, err, len) < 0 || keys_canonical(k, err, len) < 0)
		return -1;
	return 0;
}

/* keys_load - read, check and parse one key file into k; -1 with err */
int
keys_load(struct keys_key *k, const char *file, int require_safe,
	  const struct keys_owner *own, char *err, size_t errlen)
{
	char   *text, why[256];
	size_t	len = 0;
	EVP_PKEY *pkey;

	*err = 0;
	if ((k->file = strdup(file)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((text = keys_read(file, require_safe, own, &len, err, errlen)) == NULL)
		return -1;
	pkey = keys_parse(file, text, len, err, errlen);
	OPENSSL_cleanse(text, len);
	free(text);
	if (pkey == NULL)
		return -1;
	if (keys_from_pkey(k, pkey, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "key file %s: %s", file, why);
		return -1;
	}
	return 0;
}

/* keys_clear - free what a key holds; safe to call twice */
void
keys_clear(struct keys_key *k)
{
	keycache_remove(k->cache);
	if (k->pem) {
		OPENSSL_cleanse(k->pem, k->pemlen);
		free(k->pem);
	}
	EVP_PKEY_free(k->pkey);
	free(k->file);
	free(k->selector);
	free(k->domain);
	memset(k, 0, sizeof(*k));
}

/* keys_type_name - k= of the DNS record */
const char *
keys_type_name(enum keys_type t)
{
	return t == KEYS_ED25519 ? "ed25519" : "rsa";
}

/* keys_alg_name - a= of the signature */
const char *
keys_alg_name(enum keys_type t)
{
	return t == KEYS_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

/*
 * keys_public_b64 - p= of the DNS record: the SubjectPublicKeyInfo of an
 * RSA key, the 32 raw bytes of an Ed25519 key (RFC 8463), in base64
 */
int
keys_public_b64(const struct keys_key *k, char *out, size_t outlen)
{
	unsigned char raw[ED25519_LEN], *der = NULL;
	size_t	rawlen = sizeof(raw);
	int	n, rc = -1;

	if (k->type == KEYS_ED25519) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1)
			return -1;
		if (outlen >= 4 * ((rawlen + 2) / 3) + 1) {
			EVP_EncodeBlock((unsigned char *) out, raw, (int) rawlen);
			rc = 0;
		}
		return rc;
	}
	if ((n = i2d_PUBKEY(k->pkey, &der)) <= 0)
		return -1;
	if (outlen >= 4 * (((size_t) n + 2) / 3) + 1) {
		EVP_EncodeBlock((unsigned char *) out, der, n);
		rc = 0;
	}
	OPENSSL_free(der);
	return rc;
}

/* keys_match_rsa - DER SubjectPublicKeyInfo or PKCS#1 RSAPublicKey */
static int
keys_match_rsa(const struct keys_key *k, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pub;
	int	eq;

	if ((pub = d2i_PUBKEY(NULL, &p, (long) len)) == NULL) {
		p = der;
		pub = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long) len);
	}
	ERR_clear_error();
	if (pub == NULL)
		return 0;
	eq = EVP_PKEY_eq(k->pkey, pub) == 1;
	EVP_PKEY_free(pub);
	return eq;
}

/* keys_match_public - does a record's decoded p= hold our public key? */
int
keys_match_public(const struct keys_key *k, const unsigned char *der, size_t len)
{
	unsigned char raw[ED25519_LEN];
	size_t	rawlen = sizeof(raw);

	if (k->type == KEYS_RSA)
		return keys_match_rsa(k, der, len);
	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1)
		return 0;
	return len == rawlen && memcmp(raw, der, len) == 0;
}
