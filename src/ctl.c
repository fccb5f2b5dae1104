/*
 * NAME
 *	ctl.c - the control socket
 * SYNOPSIS
 *	#include "ctl.h"
 *
 *	int ctl_start(char *err, size_t errlen)
 * DESCRIPTION
 *	ctl_start() opens the unix socket named by control_socket (nothing
 *	when it is empty) and starts one thread that serves mailwarden-ctl
 *	on it, one request at a time: "show RULE VALUE...", "reset RULE
 *	VALUE...", "rules" and "stats" (see ratelimit.c). Each request runs
 *	on the configuration snapshot current when it arrives. A request is
 *	its arguments, each ended by a NUL byte, then end of file; it may
 *	be CTL_MAX_REQUEST bytes and CTL_MAX_ARGS arguments at most, and a
 *	client has 5 seconds to send it. The answer is "ok" and a text, or
 *	"error: " and the reason, and the connection is closed.
 *
 *	main.c calls ctl_start() once, after the privilege drop, so the
 *	socket belongs to the run-as user (mode 0600: that user and root
 *	may use it) and its directory must be writable by that user. A
 *	reload that names another path keeps serving on the first one until
 *	a restart. A stale socket left by a crash is replaced; one that a
 *	live process answers on is an error. The socket is removed at exit.
 *
 *	Like main.c and milter.c, this is a top layer: it logs. A reset is
 *	logged with the uid of the client, so that lifting a limit leaves a
 *	trace.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "mailwarden.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "ratelimit.h"

#define CTL_TIMEOUT	5		/* seconds a client may take */

struct ctl_cmd {
	const char *name;
	int	min_args, max_args;	/* argc, the command included */
	int	logged;			/* log each use */
	ratelimit_ctl_fn fn;
};

static const struct ctl_cmd ctl_cmds[] = {
	{"show", 3, CTL_MAX_ARGS, 0, ratelimit_ctl_show},
	{"reset", 3, CTL_MAX_ARGS, 1, ratelimit_ctl_reset},
	{"rules", 1, 1, 0, ratelimit_ctl_rules},
	{"stats", 1, 1, 0, ratelimit_ctl_stats},
};

/* The socket's path, removed at exit. */
static char ctl_path[sizeof(((struct sockaddr_un *) 0)->sun_path)];

/* ctl_unlink - remove the socket at exit */
static void
ctl_unlink(void)
{
	if (*ctl_path)
		unlink(ctl_path);
}

/* ctl_in_use - does a live process answer on this socket? */
static int
ctl_in_use(const struct sockaddr_un *sun)
{
	int	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *) sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/* ctl_listen - the listening socket; -1 with err */
static int
ctl_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int	fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || ctl_in_use(&sun)) {
			snprintf(err, errlen, "control_socket %s: %s", path, S_ISSOCK(st.st_mode) ?
				 "another process serves it" : "exists and is not a socket");
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
	    || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0
	    || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "control_socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ctl_read - the whole request; its length, or -1 when too long or late */
static ssize_t
ctl_read(int fd, char *buf, size_t len)
{
	size_t	n = 0;
	ssize_t	r;

	while ((r = read(fd, buf + n, len - n)) > 0)
		if ((n += (size_t) r) == len)
			return -1;
	return r < 0 ? -1 : (ssize_t) n;
}

/* ctl_split - NUL-ended arguments into argv; argc, or -1 when malformed */
static int
ctl_split(char *buf, size_t n, char **argv)
{
	size_t	i = 0;
	int	argc = 0;

	if (n == 0 || buf[n - 1] != 0)
		return -1;
	while (i < n) {
		if (argc == CTL_MAX_ARGS)
			return -1;
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	return argc;
}

/* ctl_write - the whole answer, best effort */
static void
ctl_write(int fd, const char *s)
{
	size_t	n = strlen(s);
	ssize_t	w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t) w;
	}
}

/* ctl_log - log a command that changes state, with who asked */
static void
ctl_log(int fd, int argc, char **argv, int ok, const char *out)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char	args[512], text[512];
	size_t	pos = 0;
	int	i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		cred.uid = (uid_t) -1;
	args[0] = 0;
	for (i = 0; i < argc && pos < sizeof(args); i++)
		pos += (size_t) snprintf(args + pos, sizeof(args) - pos, "%s%s", i ? " " : "", argv[i]);
	log_clean(text, sizeof(text), out);
	text[strcspn(out, "\n") < sizeof(text) ? strcspn(out, "\n") : sizeof(text) - 1] = 0;
	mw_log(ok ? LOG_NOTICE : LOG_WARNING, "control: uid %ld: %s: %s%s", (long) cred.uid,
	       log_clean(args, sizeof(args), args), ok ? "" : "error: ", text);
}

/* ctl_run - find and run one command; 0, or -1 with the error in out */
static int
ctl_run(const struct ctl_cmd **cmd, int argc, char **argv, char *out, size_t len)
{
	struct mw_conf *conf;
	size_t	i;
	int	rc;

	*cmd = NULL;
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strcmp(ctl_cmds[i].name, argv[0]) == 0)
			*cmd = &ctl_cmds[i];
	if (*cmd == NULL || argc < (*cmd)->min_args || argc > (*cmd)->max_args) {
		snprintf(out, len, "usage: show RULE VALUE... | reset RULE VALUE... | rules | stats");
		return -1;
	}
	conf = conf_acquire();
	rc = (*cmd)->fn(conf, argc, argv, out, len);
	conf_release(conf);
	return rc;
}

/* ctl_serve - one client: read, run, answer */
static void
ctl_serve(int fd, char *req, char *out)
{
	struct timeval tv = {CTL_TIMEOUT, 0};
	const struct ctl_cmd *cmd = NULL;
	char   *argv[CTL_MAX_ARGS];
	ssize_t	n;
	size_t	len;
	int	argc = 0, rc = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*out = 0;
	if ((n = ctl_read(fd, req, CTL_MAX_REQUEST)) < 0
	    || (argc = ctl_split(req, (size_t) n, argv)) < 0)
		snprintf(out, CTL_MAX_ANSWER, "request too long, too slow or malformed");
	else
		rc = ctl_run(&cmd, argc, argv, out, CTL_MAX_ANSWER);
	if (cmd && cmd->logged)
		ctl_log(fd, argc, argv, rc == 0, out);
	ctl_write(fd, rc == 0 ? "ok\n" : "error: ");
	len = strlen(out);
	if (len > 0 && out[len - 1] != '\n')
		strcpy(out + len, "\n");	/* out has room: its writers stop short */
	ctl_write(fd, out);
}

/* ctl_thread - accept and serve, forever */
static void *
ctl_thread(void *arg)
{
	int	lfd = (int) (intptr_t) arg, fd;
	char   *req = malloc(CTL_MAX_REQUEST), *out = malloc(CTL_MAX_ANSWER + 2);

	if (req == NULL || out == NULL) {
		mw_log(LOG_ERR, "error: control socket: out of memory; mailwarden-ctl will not work");
		return NULL;
	}
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(100000);	/* EMFILE and the like: do not spin */
			continue;
		}
		ctl_serve(fd, req, out);
		close(fd);
	}
	return NULL;
}

/* ctl_start - serve control_socket if configured; -1 with err */
int
ctl_start(char *err, size_t errlen)
{
	struct mw_conf *conf = conf_acquire();
	const char *path = conf ? cfg_getstr(conf->cfg, "control_socket") : NULL;
	pthread_t tid;
	int	fd;

	if (path == NULL || *path == 0 || strlen(path) >= sizeof(ctl_path)) {
		if (path && *path)
			snprintf(err, errlen, "control_socket %.100s: path too long", path);
		conf_release(conf);
		return path && *path ? -1 : 0;
	}
	memcpy(ctl_path, path, strlen(path) + 1);
	conf_release(conf);
	if ((fd = ctl_listen(ctl_path, err, errlen)) < 0) {
		*ctl_path = 0;
		return -1;
	}
	atexit(ctl_unlink);
	if (pthread_create(&tid, NULL, ctl_thread, (void *) (intptr_t) fd) != 0) {
		snprintf(err, errlen, "control_socket %s: cannot start its thread", ctl_path);
		close(fd);
		return -1;
	}
	pthread_detach(tid);
	return 0;
}
