/*
 * NAME
 *	mailwarden-ctl - talk to a running mailwarden
 * SYNOPSIS
 *	mailwarden-ctl [-s socket] show RULE VALUE...
 *	mailwarden-ctl [-s socket] reset RULE VALUE...
 *	mailwarden-ctl [-s socket] rules
 *	mailwarden-ctl [-s socket] stats
 * DESCRIPTION
 *	Sends one request over mailwarden's control socket (option
 *	control_socket; see ctl.c for the protocol) and prints the answer:
 *	on standard output with status 0, or the daemon's error on standard
 *	error with status 1. See mailwarden-ctl(8).
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"

#define DEF_SOCKET	"/run/mailwarden/control.sock"
#define TIMEOUT		30		/* seconds for the whole exchange */

/* usage - how to call */
static void
usage(void)
{
	fprintf(stderr, "usage: mailwarden-ctl [-s socket] command [argument...]\n"
		"  show RULE VALUE...   a key's standing under a rate-limit rule\n"
		"  reset RULE VALUE...  forget a key: its whole burst is available again\n"
		"  rules                the rate-limit rules of the running configuration\n"
		"  stats                the rate-limit store\n"
		"  -s SOCKET            the control socket (default %s)\n", DEF_SOCKET);
	exit(EX_USAGE);
}

/* ctl_connect - a connection to the daemon, or exit */
static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = {TIMEOUT, 0};
	int	fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mailwarden-ctl: %s: path too long\n", path);
		exit(EX_USAGE);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0
	    || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
		fprintf(stderr, "mailwarden-ctl: %s: %s (is mailwarden running with "
			"control_socket = \"%s\"?)\n", path, strerror(errno), path);
		exit(EX_UNAVAILABLE);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ctl_send - the arguments, each NUL-ended, then end of file */
static void
ctl_send(int fd, int argc, char **argv)
{
	size_t	total = 0;
	int	i;

	for (i = 0; i < argc; i++)
		total += strlen(argv[i]) + 1;
	if (argc > CTL_MAX_ARGS || total > CTL_MAX_REQUEST - 1) {
		fprintf(stderr, "mailwarden-ctl: too many or too long arguments\n");
		exit(EX_USAGE);
	}
	for (i = 0; i < argc; i++)
		if (write(fd, argv[i], strlen(argv[i]) + 1) != (ssize_t) strlen(argv[i]) + 1) {
			fprintf(stderr, "mailwarden-ctl: write: %s\n", strerror(errno));
			exit(EX_IOERR);
		}
	shutdown(fd, SHUT_WR);
}

/* ctl_receive - the whole answer, NUL-terminated; or exit */
static char *
ctl_receive(int fd)
{
	static char buf[CTL_MAX_ANSWER + 64];
	size_t	n = 0;
	ssize_t	r;

	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t) r;
	if (n == 0) {
		fprintf(stderr, "mailwarden-ctl: no answer from mailwarden\n");
		exit(EX_PROTOCOL);
	}
	buf[n] = 0;
	return buf;
}

int
main(int argc, char **argv)
{
	const char *path = DEF_SOCKET;
	char   *ans;
	int	ch, fd;

	while ((ch = getopt(argc, argv, "s:h")) != -1) {
		if (ch == 's')
			path = optarg;
		else
			usage();
	}
	if (optind >= argc)
		usage();
	signal(SIGPIPE, SIG_IGN);		/* a closed socket is an error, not death */
	fd = ctl_connect(path);
	ctl_send(fd, argc - optind, argv + optind);
	ans = ctl_receive(fd);
	close(fd);
	if (strncmp(ans, "ok\n", 3) == 0) {
		fputs(ans + 3, stdout);
		return 0;
	}
	fprintf(stderr, "mailwarden-ctl: %s", strncmp(ans, "error: ", 7) == 0 ? ans + 7 : ans);
	return 1;
}
