/*
 * NAME
 *	mailwarden-keygen - make a DKIM key pair and its DNS record
 * SYNOPSIS
 *	mailwarden-keygen [-t rsa|ed25519] [-b bits] [-o keyfile] -d domain -s selector
 * DESCRIPTION
 *	Writes a new private key (RSA, 2048 bits by default, or Ed25519) to
 *	keyfile (default DOMAIN.SELECTOR.key), mode 0600, never over an
 *	existing file, and prints the TXT record to publish, in zone-file
 *	form with the value split into 255-byte strings, after comment lines
 *	with the mailwarden.conf section that uses the key.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "keygen.h"
#include "keytable.h"
#include "options.h"

/* usage - how to call */
static void
usage(void)
{
	fprintf(stderr, "usage: mailwarden-keygen [-t rsa|ed25519] [-b bits] [-o keyfile] "
		"-d domain -s selector\n"
		"  -t TYPE  rsa (default) or ed25519\n"
		"  -b BITS  RSA key size, %d..%d (default %d)\n"
		"  -o FILE  private key file to create (default DOMAIN.SELECTOR.key)\n",
		KEYS_MIN_RSA, KEYS_MAX_RSA, KEYGEN_RSA_BITS);
	exit(EX_USAGE);
}

/* check_args - domain and selector as DNS takes them */
static void
check_args(const char *domain, const char *sel)
{
	char	err[256];

	if (domain == NULL || sel == NULL)
		usage();
	if (opt_check_domain(domain, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailwarden-keygen: %s\n", err);
		exit(EX_USAGE);
	}
	if (!keytable_selector_ok(sel)) {
		fprintf(stderr, "mailwarden-keygen: \"%s\" is not a selector\n", sel);
		exit(EX_USAGE);
	}
}

/* print_result - the config section and the record */
static void
print_result(const struct keys_key *k, const char *file, const char *domain,
	     const char *sel, const char *txt)
{
	char	abs[PATH_MAX];

	if (realpath(file, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", file);
	printf("; %s key of %u bits in %s\n", keys_type_name(k->type), k->bits, abs);
	printf("; mailwarden.conf: sign \"%s\" { key \"%s\" { file = \"%s\" } }\n",
	       domain, sel, abs);
	keygen_record(stdout, sel, domain, txt);
}

int
main(int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *file = NULL;
	enum keys_type type = KEYS_RSA;
	unsigned bits = KEYGEN_RSA_BITS;
	char	err[512] = "", deffile[600], txt[4096];
	struct keys_key k = {0};
	int	ch;

	while ((ch = getopt(argc, argv, "t:b:o:d:s:h")) != -1) {
		switch (ch) {
		case 't':
			if (strcmp(optarg, "rsa") != 0 && strcmp(optarg, "ed25519") != 0)
				usage();
			type = strcmp(optarg, "rsa") == 0 ? KEYS_RSA : KEYS_ED25519;
			break;
		case 'b':
			bits = (unsigned) strtoul(optarg, NULL, 10);
			break;
		case 'o':
			file = optarg;
			break;
		case 'd':
			domain = optarg;
			break;
		case 's':
			sel = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	check_args(domain, sel);
	if (file == NULL) {
		snprintf(deffile, sizeof(deffile), "%s.%s.key", domain, sel);
		file = deffile;
	}
	if (keygen_make(&k, type, bits, err, sizeof(err)) < 0
	    || keygen_txt(&k, txt, sizeof(txt)) < 0
	    || keygen_write(&k, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailwarden-keygen: %s\n", *err ? err : "cannot encode the key");
		return EX_CANTCREAT;
	}
	print_result(&k, file, domain, sel, txt);
	keys_clear(&k);
	return 0;
}
