/*
 * NAME
 *	nullmilter - a milter that does nothing, the floor of any milter
 * SYNOPSIS
 *	nullmilter -p SOCKET [-b BACKLOG] [-T TIMEOUT]
 * DESCRIPTION
 *	A libmilter milter that registers every callback and answers
 *	"continue" to all of them. It negotiates what mailwarden negotiates
 *	(the same actions, header leading space, no skipped events, no
 *	"no reply" flags, the same macro lists), so the MTA does the same
 *	protocol work for it as for mailwarden, and libmilter does the same
 *	work inside it: what the benchmark measures for it is the cost of
 *	libmilter plus the MTA's milter client, which no milter can avoid.
 *
 *	It counts the messages it saw (end of message) and prints the
 *	count on stdout when it stops (SIGTERM), so a benchmark can show the
 *	milter was really in the path.
 *
 *	SOCKET is a libmilter socket: inet:PORT@HOST or unix:/path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* The lists milter.c asks for; keep them equal to compare like with like. */
#define MACROS_CONNECT	"{daemon_name} j _"
#define MACROS_MAIL	"i {auth_authen} {auth_type} {mail_addr}"
#define MACROS_RCPT	"i {rcpt_addr}"
#define MACROS_EOM	"i"

static unsigned long nmsg;

/* null_negotiate - every action mailwarden asks for, every event, our macros */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	       unsigned long f2, unsigned long f3, unsigned long *pf0,
	       unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void) f1;
	(void) f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT
		     | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*pf1 = f2 & SMFIP_HDR_LEADSPC;
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, MACROS_CONNECT);
		smfi_setsymlist(ctx, SMFIM_ENVFROM, MACROS_MAIL);
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, MACROS_RCPT);
		smfi_setsymlist(ctx, SMFIM_EOM, MACROS_EOM);
	}
	return SMFIS_CONTINUE;
}

/* null_connect - a client connects */
static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void) ctx;
	(void) host;
	(void) sa;
	return SMFIS_CONTINUE;
}

/* null_helo - HELO or EHLO */
static sfsistat
null_helo(SMFICTX *ctx, char *helo)
{
	(void) ctx;
	(void) helo;
	return SMFIS_CONTINUE;
}

/* null_envfrom - MAIL FROM */
static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void) ctx;
	(void) argv;
	return SMFIS_CONTINUE;
}

/* null_envrcpt - RCPT TO */
static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void) ctx;
	(void) argv;
	return SMFIS_CONTINUE;
}

/* null_data - DATA */
static sfsistat
null_data(SMFICTX *ctx)
{
	(void) ctx;
	return SMFIS_CONTINUE;
}

/* null_header - one header */
static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void) ctx;
	(void) name;
	(void) value;
	return SMFIS_CONTINUE;
}

/* null_eoh - end of headers */
static sfsistat
null_eoh(SMFICTX *ctx)
{
	(void) ctx;
	return SMFIS_CONTINUE;
}

/* null_body - one body chunk */
static sfsistat
null_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	(void) ctx;
	(void) p;
	(void) len;
	return SMFIS_CONTINUE;
}

/* null_eom - end of message: count it */
static sfsistat
null_eom(SMFICTX *ctx)
{
	(void) ctx;
	__atomic_add_fetch(&nmsg, 1, __ATOMIC_RELAXED);
	return SMFIS_CONTINUE;
}

/* null_abort - the MTA abandoned the transaction */
static sfsistat
null_abort(SMFICTX *ctx)
{
	(void) ctx;
	return SMFIS_CONTINUE;
}

/* null_close - the connection ends */
static sfsistat
null_close(SMFICTX *ctx)
{
	(void) ctx;
	return SMFIS_CONTINUE;
}

/* null_unknown - a command the MTA did not know */
static sfsistat
null_unknown(SMFICTX *ctx, const char *cmd)
{
	(void) ctx;
	(void) cmd;
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
	"nullmilter",
	SMFI_VERSION,
	SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_QUARANTINE
	| SMFIF_SETSYMLIST,
	null_connect,
	null_helo,
	null_envfrom,
	null_envrcpt,
	null_header,
	null_eoh,
	null_body,
	null_eom,
	null_abort,
	null_close,
	null_unknown,
	null_data,
	null_negotiate,
};

/* usage - how to call */
static void
usage(void)
{
	fprintf(stderr, "usage: nullmilter -p SOCKET [-b BACKLOG] [-T TIMEOUT]\n"
		"  -p SOCKET   inet:PORT@HOST or unix:/path\n"
		"  -b BACKLOG  listen queue (default 128)\n"
		"  -T TIMEOUT  seconds to wait for the MTA (default 300)\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int	ch, backlog = 128, timeout = 300, rc;

	while ((ch = getopt(argc, argv, "p:b:T:")) != -1) {
		switch (ch) {
		case 'p':
			sock = optarg;
			break;
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || backlog < 1 || timeout < 1)
		usage();
	if (smfi_register(null_desc) == MI_FAILURE
	    || smfi_setconn((char *) sock) == MI_FAILURE
	    || smfi_setbacklog(backlog) == MI_FAILURE
	    || smfi_settimeout(timeout) == MI_FAILURE
	    || smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot open %s\n", sock);
		return 71;
	}
	rc = smfi_main();
	printf("nullmilter: messages=%lu\n", __atomic_load_n(&nmsg, __ATOMIC_RELAXED));
	return rc == MI_SUCCESS ? 0 : 70;
}
