/*
 * NAME
 *	keygen.c - DKIM key pairs and their DNS records
 * DESCRIPTION
 *	Keys come from OpenSSL's generator: RSA of KEYS_MIN_RSA..KEYS_MAX_RSA
 *	bits (2048 by default) or Ed25519 (RFC 8463). The private key is
 *	written as PKCS#8 PEM to a file created with mode 0600 that must not
 *	exist yet. The record's p= is what keys_public_b64() gives: the
 *	SubjectPublicKeyInfo of an RSA key, the raw 32 bytes of an Ed25519 key.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keygen.h"

#define KEYGEN_MAX_STRING 255		/* RFC 1035 character-string */

/* keygen_make - a new key pair of a type into k */
int
keygen_make(struct keys_key *k, enum keys_type type, unsigned bits,
	    char *err, size_t len)
{
	EVP_PKEY *pkey;

	if (type == KEYS_RSA && (bits < KEYS_MIN_RSA || bits > KEYS_MAX_RSA)) {
		snprintf(err, len, "RSA keys have %d to %d bits", KEYS_MIN_RSA, KEYS_MAX_RSA);
		return -1;
	}
	pkey = type == KEYS_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) bits)
	    : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL) {
		snprintf(err, len, "key generation failed: %s",
			 ERR_reason_error_string(ERR_get_error()));
		return -1;
	}
	return keys_from_pkey(k, pkey, err, len);
}

/* keygen_write - the private key into a new file of mode 0600 */
int
keygen_write(const struct keys_key *k, const char *file, char *err, size_t len)
{
	FILE   *fp;
	int	fd, ok;

	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, len, "%s: %s", file, strerror(errno));
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, len, "%s: %s", file, strerror(errno));
		close(fd);
		unlink(file);
		return -1;
	}
	ok = fwrite(k->pem, 1, k->pemlen, fp) == k->pemlen;
	if (fclose(fp) != 0 || !ok) {
		snprintf(err, len, "%s: write failed", file);
		unlink(file);
		return -1;
	}
	return 0;
}

/* keygen_txt - the record's value */
int
keygen_txt(const struct keys_key *k, char *out, size_t len)
{
	char	p[2048];
	int	n;

	if (keys_public_b64(k, p, sizeof(p)) < 0)
		return -1;
	n = snprintf(out, len, "v=DKIM1; k=%s; p=%s", keys_type_name(k->type), p);
	return n > 0 && (size_t) n < len ? 0 : -1;
}

/* keygen_record - "SEL._domainkey.DOMAIN. IN TXT ( "..." "..." )" */
void
keygen_record(FILE *fp, const char *selector, const char *domain, const char *txt)
{
	size_t	n = strlen(txt), i;

	fprintf(fp, "%s._domainkey.%s. IN TXT (", selector, domain);
	for (i = 0; i < n; i += KEYGEN_MAX_STRING)
		fprintf(fp, "\n\t\"%.*s\"", KEYGEN_MAX_STRING, txt + i);
	fprintf(fp, " )\n");
}
