/*
 * NAME
 *	mailwarden - mail policy milter
 * SYNOPSIS
 *	mailwarden [-fnVO] [-c config_file]
 * DESCRIPTION
 *	Loads the configuration, opens the milter socket while still
 *	privileged, becomes a daemon (unless -f), drops to the configured
 *	user and group, and hands control to libmilter. SIGHUP reloads the
 *	configuration; SIGTERM and SIGINT stop.
 *
 *	libmilter's own signal thread takes SIGHUP as "stop". mailwarden
 *	defines sigwait() (the only caller in the process is libmilter) so
 *	that libmilter waits for SIGTERM and SIGINT only, and a thread of its
 *	own waits for SIGHUP to reload. See sigwait() below.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "mailwarden.h"
#include "config.h"
#include "ctl.h"
#include "keycheck.h"
#include "log.h"
#include "milter.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEF_CONFIG SYSCONFDIR "/mailwarden/mailwarden.conf"

static const char *config_path = DEF_CONFIG;

/*
 * sigwait - libmilter's signal thread calls this. Hand it every signal of
 * its set but SIGHUP, which the reload thread owns. sigwaitinfo() is a
 * different symbol, so this does not recurse.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t mine = *set;
	int	s;

	sigdelset(&mine, SIGHUP);
	do {
		s = sigwaitinfo(&mine, NULL);
	} while (s < 0 && errno == EINTR);
	if (s < 0)
		return errno;
	*sig = s;
	return 0;
}

/* reload - build a new snapshot; keep the old one when it does not load */
static void
reload(void)
{
	struct conf_errors errs;
	struct mw_conf *c;
	unsigned i;

	if ((c = conf_load(config_path, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			mw_log(LOG_ERR, "error: %s", errs.msg[i]);
		mw_log(LOG_ERR, "reload failed: %u error%s in %s; still serving on the "
		       "previous configuration", errs.n, errs.n == 1 ? "" : "s", config_path);
		conf_errors_free(&errs);
		return;
	}
	conf_errors_free(&errs);
	conf_install(c);
	mw_log(LOG_INFO, "reloaded configuration from %s", config_path);
}

/* reload_thread - wait for SIGHUP, forever */
static void *
reload_thread(void *arg)
{
	sigset_t set;
	int	sig;

	(void) arg;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGHUP)
			reload();
	}
	return NULL;
}

/* usage - how to call */
static void
usage(void)
{
	fprintf(stderr, "usage: mailwarden [-fnKVO] [-c config_file]\n"
		"  -c FILE  configuration file (default %s)\n"
		"  -n       check the configuration and exit (0: valid, 78: errors)\n"
		"  -f       stay in the foreground and log to stderr\n"
		"  -K       check every signing key against its DNS record and exit\n"
		"           (0: all match, 1: some do not, 2: no keys)\n"
		"  -O       print the option reference of mailwarden.conf(5)\n"
		"  -V       print the version\n", DEF_CONFIG);
	exit(EX_USAGE);
}

/* load_or_die - the initial snapshot; print every error and exit 78 */
static struct mw_conf *
load_or_die(const char *path)
{
	struct conf_errors errs;
	struct mw_conf *c;

	if ((c = conf_load(path, &errs)) == NULL) {
		conf_errors_print(&errs, stderr);
		fprintf(stderr, "mailwarden: %u error%s in %s\n", errs.n,
			errs.n == 1 ? "" : "s", path);
		conf_errors_free(&errs);
		exit(EX_CONFIG);
	}
	conf_errors_free(&errs);
	return c;
}

/*
 * listen_nodelay - TCP_NODELAY on libmilter's listening TCP socket, which
 * the accepted connections inherit. libmilter does not set it, and an end
 * of message answered in two packets then waits ~40 ms for the MTA's
 * delayed ACK. libmilter does not give out the descriptor: find the one
 * listening socket open at this point.
 */
static void
listen_nodelay(void)
{
	int	fd, on = 1, v;
	socklen_t len;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0
		    || (v != AF_INET && v != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
			mw_log(LOG_WARNING, "warning: TCP_NODELAY on the milter socket: %s",
			       strerror(errno));
	}
}

/*
 * raise_nofile - the soft limit on descriptors up to the hard one: a
 * message in flight may hold several (socket, journal files, DNS), and
 * the usual soft limit of 1024 is reached near 300 concurrent messages.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			mw_log(LOG_WARNING, "warning: cannot raise the descriptor limit: %s",
			       strerror(errno));
	}
}

/* drop_privileges - become user and group; -1 with a message on error */
static int
drop_privileges(const struct mw_conf *c, char *err, size_t len)
{
	struct passwd *pw;
	struct group *gr;
	gid_t	gid;

	if (*c->user == 0 || getuid() != 0)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		snprintf(err, len, "user \"%s\" does not exist: create it or set user", c->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (*c->group) {
		if ((gr = getgrnam(c->group)) == NULL) {
			snprintf(err, len, "group \"%s\" does not exist", c->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, len, "cannot become %s: %s", c->user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, len, "privileges were not dropped");
		return -1;
	}
	return 0;
}

/* socket_chown - give a unix socket to the run-as user and group */
static void
socket_chown(const struct mw_conf *c)
{
	const char *path = NULL;
	struct passwd *pw;
	struct group *gr;

	if (strncmp(c->socket, "unix:", 5) == 0)
		path = c->socket + 5;
	else if (strncmp(c->socket, "local:", 6) == 0)
		path = c->socket + 6;
	if (path == NULL || *c->user == 0 || getuid() != 0
	    || (pw = getpwnam(c->user)) == NULL)
		return;
	gr = *c->group ? getgrnam(c->group) : NULL;
	if (chown(path, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0)
		mw_log(LOG_WARNING, "warning: chown %s: %s", path, strerror(errno));
}

/* write_pidfile - record our pid; -1 with a message */
static int
write_pidfile(const char *path, char *err, size_t len)
{
	FILE   *fp;

	if (*path == 0)
		return 0;
	if ((fp = fopen(path, "w")) == NULL) {
		snprintf(err, len, "cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fchmod(fileno(fp), 0644);
	fprintf(fp, "%ld\n", (long) getpid());
	if (fclose(fp) != 0) {
		snprintf(err, len, "cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* daemonize - detach from the terminal; the parent exits */
static void
daemonize(void)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) < 0) {
		perror("mailwarden: fork");
		exit(EX_OSERR);
	}
	if (pid > 0)
		_exit(0);
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

int
main(int argc, char **argv)
{
	struct mw_conf *conf;
	int	ch, check_only = 0, foreground = 0, rc;
	char	err[512];
	static char pid_file[4096];	/* outlives the snapshot it came from */
	pthread_t tid;
	sigset_t set;

	while ((ch = getopt(argc, argv, "c:fnKVOh")) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'K':
			check_only = 2;
			break;
		case 'V':
			printf("mailwarden %s\n", PACKAGE_VERSION);
			return 0;
		case 'O':
			conf_print_reference(stdout);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	conf = load_or_die(config_path);
	if (check_only == 2) {
		rc = keycheck_run(conf, stdout);
		conf_release(conf);
		return rc;
	}
	if (check_only) {
		printf("mailwarden: %s: configuration OK\n", config_path);
		conf_release(conf);
		return 0;
	}
	if (snprintf(pid_file, sizeof(pid_file), "%s", conf->pid_file) >= (int) sizeof(pid_file)) {
		fprintf(stderr, "mailwarden: pid_file name too long\n");
		conf_release(conf);
		return EX_CONFIG;
	}
	umask((mode_t) conf->umask);
	log_open(conf->syslog_facility, foreground);
	conf_install(conf);

	if (smfi_setconn((char *) conf->socket) != MI_SUCCESS
	    || milter_register() < 0
	    || smfi_settimeout(conf->milter_timeout) != MI_SUCCESS
	    || smfi_setbacklog(conf->milter_backlog) != MI_SUCCESS
	    || smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "mailwarden: cannot open milter socket %s\n", conf->socket);
		mw_log(LOG_ERR, "fatal: cannot open milter socket %s", conf->socket);
		return EX_UNAVAILABLE;
	}
	socket_chown(conf);
	listen_nodelay();
	raise_nofile();
	if (!foreground)
		daemonize();
	if (write_pidfile(conf->pid_file, err, sizeof(err)) < 0
	    || drop_privileges(conf, err, sizeof(err)) < 0) {
		mw_log(LOG_ERR, "fatal: %s", err);
		if (foreground)
			fprintf(stderr, "mailwarden: %s\n", err);
		return EX_CONFIG;
	}

	/* Block the signals in every thread; the two waiters take them. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&tid, NULL, reload_thread, NULL) != 0) {
		mw_log(LOG_ERR, "fatal: cannot start the reload thread");
		return EX_OSERR;
	}
	pthread_detach(tid);
	/* After the privilege drop: the socket belongs to the run-as user. */
	if (ctl_start(err, sizeof(err)) < 0) {
		mw_log(LOG_ERR, "fatal: %s", err);
		return EX_UNAVAILABLE;
	}

	mw_log(LOG_INFO, "starting mailwarden %s on %s", PACKAGE_VERSION, conf->socket);
	rc = smfi_main();
	mw_log(LOG_INFO, "stopping");
	if (*pid_file)
		unlink(pid_file);
	return rc == MI_SUCCESS ? 0 : EX_SOFTWARE;
}
