/*
 * NAME
 *	dns_net.c - one DNS exchange, bounded by a deadline
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	dns_net_exchange() sends a query over UDP to the servers in turn,
 *	two rounds, spreading the attempts evenly over the time left before
 *	the deadline, and takes the first reply to any attempt still open.
 *	A truncated reply is asked again over TCP of the same server. A
 *	server that refuses the connection (ICMP port unreachable) or
 *	answers SERVFAIL, REFUSED or NOTIMP is not asked again in this
 *	exchange; when no server is left the exchange fails at once.
 *
 *	Why not glibc's res_nsend(): its UDP wait is a whole number of
 *	seconds (retrans, at least 1 s), and its TCP path connects and
 *	reads with blocking calls that have no timeout at all (checked with
 *	glibc 2.36: a server that accepts TCP and never answers holds
 *	res_nsend until the process is killed). A milter thread must never
 *	outlive the MTA's milter timeouts, so every wait here is a poll()
 *	bounded by the deadline, in milliseconds.
 *
 *	Each UDP attempt uses its own connected socket, so the kernel picks
 *	a fresh random source port and drops datagrams from other peers; the
 *	reply must also carry the query's random ID and question.
 */
#include "autoconf.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "dns_int.h"

#define NET_ROUNDS	2		/* UDP tries per server */
#define NET_MAXTRY	(NET_ROUNDS * DNS_MAX_SERVERS)

/* One exchange in progress. */
struct net_x {
	const struct dns_server *srv;
	unsigned nsrv;
	const unsigned char *q;
	size_t	qlen;
	unsigned char *ans;
	size_t	anssize;
	const struct timespec *deadline;
	struct pollfd pfd[NET_MAXTRY];	/* open attempts; fd -1 when done */
	unsigned who[NET_MAXTRY];	/* server of each attempt */
	unsigned ntry;
	unsigned char skip[DNS_MAX_SERVERS];	/* no more tries to it */
	char   *err;
	size_t	errlen;
	int	failed;			/* err says why a server failed */
};

/* dns_net_ms_left - milliseconds until the deadline, 0 once it passed */
long
dns_net_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long) (deadline->tv_sec - now.tv_sec) * 1000
	    + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* net_error - say what went wrong with a server */
static void
net_error(struct net_x *x, unsigned s, const char *what)
{
	char	addr[80];

	dns_conf_print(&x->srv[s], addr, sizeof(addr));
	snprintf(x->err, x->errlen, "%s: %s", addr, what);
	x->failed = 1;
}

/* net_socket - a non-blocking socket connected (or connecting) to a server */
static int
net_socket(const struct dns_server *s, int type)
{
	int	fd;

	fd = socket(s->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *) &s->ss, s->len) < 0
	    && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* net_wait - wait for events on one fd until the deadline: 1 ready, 0 timeout */
static int
net_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = {.fd = fd,.events = events };
	int	n;

	do
		n = poll(&p, 1, (int) dns_net_ms_left(deadline));
	while (n < 0 && errno == EINTR);
	return n > 0 ? 1 : 0;
}

/* net_io - read or write exactly len bytes of a stream before the deadline */
static int
net_io(int fd, unsigned char *buf, size_t len, int writing,
       const struct timespec *deadline)
{
	size_t	done = 0;

	while (done < len) {
		ssize_t n = writing ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
		    : recv(fd, buf + done, len - done, 0);

		if (n > 0) {
			done += (size_t) n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (!net_wait(fd, writing ? POLLOUT : POLLIN, deadline))
			return -1;
	}
	return 0;
}

/* net_tcp_talk - query and reply over a connected stream; reply length or -1 */
static int
net_tcp_talk(struct net_x *x, int fd)
{
	unsigned char len[2] = {(x->qlen >> 8) & 0xff, x->qlen & 0xff};
	size_t	rlen;
	int	soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!net_wait(fd, POLLOUT, x->deadline)
	    || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
		return -1;
	if (net_io(fd, len, 2, 1, x->deadline) < 0
	    || net_io(fd, (unsigned char *) x->q, x->qlen, 1, x->deadline) < 0
	    || net_io(fd, len, 2, 0, x->deadline) < 0)
		return -1;
	rlen = ((size_t) len[0] << 8) | len[1];
	if (rlen > x->anssize || net_io(fd, x->ans, rlen, 0, x->deadline) < 0)
		return -1;
	return dns_wire_isreply(x->q, x->qlen, x->ans, rlen) ? (int) rlen : -1;
}

/* net_tcp - the exchange over TCP with server s; reply length or -1 */
static int
net_tcp(struct net_x *x, unsigned s)
{
	int	fd, n;

	if ((fd = net_socket(&x->srv[s], SOCK_STREAM)) < 0) {
		net_error(x, s, "TCP connect failed");
		return -1;
	}
	n = net_tcp_talk(x, fd);
	close(fd);
	if (n < 0)
		net_error(x, s, dns_net_ms_left(x->deadline) ? "TCP exchange failed"
			  : "no TCP answer before the deadline");
	return n;
}

/* net_send - the next UDP attempt to a server not yet given up on */
static void
net_send(struct net_x *x, unsigned *next)
{
	unsigned s = *next % x->nsrv;
	int	fd;

	(*next)++;
	if (x->skip[s])
		return;
	if ((fd = net_socket(&x->srv[s], SOCK_DGRAM)) < 0
	    || send(fd, x->q, x->qlen, 0) != (ssize_t) x->qlen) {
		if (fd >= 0)
			close(fd);
		net_error(x, s, "cannot send");
		return;
	}
	x->pfd[x->ntry].fd = fd;
	x->pfd[x->ntry].events = POLLIN;
	x->who[x->ntry++] = s;
}

/* net_drop - an attempt is over; maybe its server too */
static void
net_drop(struct net_x *x, unsigned i, const char *why)
{
	close(x->pfd[i].fd);
	x->pfd[i].fd = -1;
	if (why) {
		x->skip[x->who[i]] = 1;
		net_error(x, x->who[i], why);
	}
}

/* net_read - a datagram on attempt i: reply length, 0 nothing usable */
static int
net_read(struct net_x *x, unsigned i)
{
	ssize_t n = recv(x->pfd[i].fd, x->ans, x->anssize, MSG_TRUNC);
	int	rcode;

	if (n > (ssize_t) x->anssize)
		return 0;		/* larger than any reply we take */
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			net_drop(x, i, errno == ECONNREFUSED ? "connection refused"
				 : "receive error");
		return 0;
	}
	if (!dns_wire_isreply(x->q, x->qlen, x->ans, (size_t) n))
		return 0;		/* stray or forged: keep waiting */
	rcode = dns_wire_rcode(x->ans, (size_t) n);
	if (rcode == ns_r_servfail || rcode == ns_r_refused || rcode == ns_r_notimpl) {
		net_drop(x, i, rcode == ns_r_refused ? "REFUSED" : "server failure");
		return 0;
	}
	if (dns_wire_truncated(x->ans, (size_t) n))
		return net_tcp(x, x->who[i]);
	return (int) n;
}

/* net_open - attempts still waiting, and servers left to try */
static unsigned
net_open(const struct net_x *x, unsigned next, unsigned ntries)
{
	unsigned i, open = 0;

	for (i = 0; i < x->ntry; i++)
		open += x->pfd[i].fd >= 0;
	for (; next < ntries; next++)
		open += !x->skip[next % x->nsrv];
	return open;
}

/* net_poll - wait for any open attempt for at most ms; reply length, 0, -1 */
static int
net_poll(struct net_x *x, long ms)
{
	unsigned i;
	int	n;

	n = poll(x->pfd, x->ntry, (int) ms);
	if (n < 0 && errno != EINTR)
		return -1;
	for (i = 0; n > 0 && i < x->ntry; i++) {
		if (x->pfd[i].fd < 0 || x->pfd[i].revents == 0)
			continue;
		if ((n = net_read(x, i)) != 0)
			return n;
		n = 1;
	}
	return 0;
}

/* net_loop - send on schedule, wait in between; reply length, -1, -2 deadline */
static int
net_loop(struct net_x *x)
{
	unsigned next = 0, ntries = NET_ROUNDS * x->nsrv;
	long	slot = dns_net_ms_left(x->deadline) / (long) ntries, left;
	struct timespec next_at = {0, 0};
	int	n;

	for (;;) {
		if (net_open(x, next, ntries) == 0)
			return -1;
		if (next < ntries && (dns_net_ms_left(&next_at) == 0
				      || net_open(x, ntries, ntries) == 0)) {
			net_send(x, &next);
			clock_gettime(CLOCK_MONOTONIC, &next_at);
			next_at.tv_sec += slot / 1000;
			next_at.tv_nsec += (slot % 1000) * 1000000;
			if (next_at.tv_nsec >= 1000000000) {
				next_at.tv_sec++;
				next_at.tv_nsec -= 1000000000;
			}
			continue;
		}
		if ((left = dns_net_ms_left(x->deadline)) == 0)
			return -2;
		if (next < ntries && dns_net_ms_left(&next_at) < left)
			left = dns_net_ms_left(&next_at);
		if ((n = net_poll(x, left)) != 0)
			return n;
	}
}

/*
 * dns_net_exchange - ask the servers; the reply's length (it is in ans and
 * answers q), or -1 with the reason in err.
 */
int
dns_net_exchange(const struct dns_server *srv, unsigned nsrv,
		 const unsigned char *q, size_t qlen, unsigned char *ans,
		 size_t anssize, const struct timespec *deadline,
		 char *err, size_t errlen)
{
	struct net_x x;
	unsigned i;
	int	n;

	memset(&x, 0, sizeof(x));
	x.srv = srv;
	x.nsrv = nsrv < DNS_MAX_SERVERS ? nsrv : DNS_MAX_SERVERS;
	x.q = q;
	x.qlen = qlen;
	x.ans = ans;
	x.anssize = anssize;
	x.deadline = deadline;
	x.err = err;
	x.errlen = errlen;
	snprintf(err, errlen, "no server to ask");
	if (x.nsrv == 0 || qlen > 512)
		return -1;
	n = net_loop(&x);
	for (i = 0; i < x.ntry; i++)
		if (x.pfd[i].fd >= 0)
			close(x.pfd[i].fd);
	if (n == -2 && !x.failed)
		snprintf(err, errlen, "no answer before the deadline");
	else if (n == -2)
		snprintf(err + strlen(err), errlen - strlen(err),
			 "; no other answer before the deadline");
	return n < 0 ? -1 : n;
}
