/*
 * NAME
 *	miltergen - milter protocol load generator
 * SYNOPSIS
 *	miltergen [options] SOCKET
 * DESCRIPTION
 *	Speaks the MTA side of the milter protocol (version 6) to a milter the
 *	way Postfix's milter client does, so a milter can be measured without
 *	an MTA in the way: per SMTP session one milter connection with option
 *	negotiation (every action and event Postfix offers, the milter's own
 *	macro lists honoured), then connect, HELO, and per message MAIL, RCPT,
 *	DATA, each header, end of headers, the body in chunks of at most
 *	65535 bytes, end of message, and QUIT at the end of the session. A
 *	macro packet precedes every event, with the values Postfix would give
 *	(i from RCPT on, {auth_authen} for authenticated clients,
 *	{daemon_name}, ...). Events and replies the milter negotiated away
 *	are not sent or awaited. Replies are honoured: accept, reject,
 *	tempfail, discard and reply codes end the message (or the session,
 *	at connect and HELO), skip ends the body, progress is waited out, and
 *	the modifications at end of message are parsed and counted.
 *
 *	It runs CONC sessions at once and reports messages per second and
 *	per-message latency percentiles. Latency is from the first command of
 *	the message (its session's negotiation, for the first message of a
 *	session) to the milter's final answer at end of message.
 *
 *	SOCKET: inet:PORT@HOST, inet6:PORT@HOST, unix:/path, or HOST:PORT.
 *
 *	Exit status: 0 when every message got an answer and every expectation
 *	(-e, -E) held for every accepted message; 1 otherwise; 2 on usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define GEN_CHUNK	65535		/* body chunk, as Postfix sends */
#define GEN_MAX_PKT	(4 * 1024 * 1024)	/* largest reply we take */
#define GEN_MAX_EXPECT	8
#define GEN_MAX_FILE	(64 * 1024 * 1024)
#define GEN_MAX_RSS	4096		/* RSS samples kept */

/* What Postfix 3.x offers in its option negotiation (milter_protocol = 6). */
#define GEN_ACTIONS	(SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT \
			 | SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE \
			 | SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST)
#define GEN_EVENTS	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL \
			 | SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS \
			 | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA \
			 | SMFIP_SKIP | SMFIP_RCPT_REJ | SMFIP_NR_CONN \
			 | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT \
			 | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR \
			 | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)

/* Postfix's default macro lists (postconf -d milter_*_macros), by SMFIM_. */
static const char *const gen_default_macros[SMFIM_LAST + 1] = {
	[SMFIM_CONNECT] = "j {daemon_name} {daemon_addr} v _",
	[SMFIM_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	[SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {auth_author} {mail_addr} "
	"{mail_host} {mail_mailer}",
	[SMFIM_ENVRCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	[SMFIM_DATA] = "i",
	[SMFIM_EOM] = "i",
	[SMFIM_EOH] = "i",
};

/* Command-line options. */
struct gen_opt {
	const char *sock;
	unsigned long count, warmup;
	unsigned conc, per_conn, nrcpt;
	size_t	size;
	const char *file, *from, *rcpt, *user, *addr, *host, *helo, *daemon;
	const char *expect[GEN_MAX_EXPECT];
	unsigned nexpect;
	int	expect_rcpt, outbound, timeout, hold, print, rss_pid;
	const char *out;		/* -o: write the traced message here */
};

/* One header of the message template; value without its leading space. */
struct gen_hdr {
	char   *name;
	char   *value;
};

/* The message sent: headers, and the body in wire form (CRLF lines). */
struct gen_msg {
	struct gen_hdr *hdrs;
	unsigned nhdrs;
	int	msgid_idx;		/* generated Message-ID, -1: from a file */
	char   *body;
	size_t	bodylen;
};

/* Outcome of one message. */
enum gen_outcome {
	GEN_ACCEPTED = 0, GEN_REJECTED, GEN_TEMPFAILED, GEN_DISCARDED,
	GEN_ERROR, GEN_NOUTCOME
};
static const char *const gen_outcome_name[GEN_NOUTCOME] = {
	"accepted", "rejected", "tempfailed", "discarded", "errors"
};

/* What one reply loop ended with. */
enum gen_reply {
	R_CONTINUE, R_ACCEPT, R_REJECT, R_TEMPFAIL, R_DISCARD, R_SKIP, R_FAIL
};

/* Counters of one worker; summed at the end. */
struct gen_stats {
	unsigned long outcome[GEN_NOUTCOME];
	unsigned long hdr_add, hdr_ins, hdr_chg, rcpt_add, rcpt_del, chg_from;
	unsigned long repl_body, quarantine, expect_missing, sessions;
};

/* One milter connection (a Postfix SMTP session). */
struct gen_conn {
	int	fd;
	unsigned char *wbuf;
	size_t	wlen, wcap;
	unsigned char rbuf[65536];
	size_t	rpos, rlen;
	unsigned char *pkt;		/* last reply's data */
	size_t	pktcap;
	uint32_t version, actions, events;
	char   *macros[SMFIM_LAST + 1];	/* the milter's lists; NULL: default */
	int	skip_body;		/* the milter said "skip" to the body */
	int	trace;			/* the first measured message: -p, -o */
	char	err[256];
};

/* Per-message state the macros are taken from. */
struct gen_tx {
	char	qid[24];
	int	has_qid;
	const char *rcpt;
	unsigned expect_seen;
	int	rcpt_added;
	int	eom;			/* end of message was sent */
};

/* A run of COUNT messages by CONC workers. */
struct gen_phase {
	unsigned long count;
	unsigned long next;		/* next message index to claim */
	double *lat;			/* latency per message, ms; NULL: none */
	pthread_barrier_t *hold;	/* all sessions open before mail */
};

struct gen_worker {
	pthread_t tid;
	unsigned id;
	struct gen_phase *ph;
	struct gen_stats st;
	int	held;
};

/* The first measured message as the milter left it (-o): its headers. */
struct gen_trace {
	char  **name, **value;		/* value as the MTA would store it */
	unsigned n, cap;
};

static struct gen_opt opt;
static struct gen_msg msg;
static struct gen_trace trace;
static struct sockaddr_storage gen_sa;
static socklen_t gen_salen;
static unsigned gen_open, gen_max_open;
static volatile int gen_done;
static unsigned long gen_msgs_done;
static unsigned long gen_seq;

/* now_ms - monotonic clock in milliseconds */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* die - print and exit 2 (setup errors only) */
static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("miltergen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* xmalloc - malloc or die */
static void *
xmalloc(size_t n)
{
	void   *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* xstrndup - bounded strdup or die */
static char *
xstrndup(const char *s, size_t n)
{
	char   *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* --- the message template ------------------------------------------- */

/* msg_add_hdr - append one header to the template */
static void
msg_add_hdr(const char *name, size_t nlen, const char *value, size_t vlen)
{
	msg.hdrs = realloc(msg.hdrs, (msg.nhdrs + 1) * sizeof(*msg.hdrs));
	if (msg.hdrs == NULL)
		die("out of memory");
	msg.hdrs[msg.nhdrs].name = xstrndup(name, nlen);
	msg.hdrs[msg.nhdrs].value = xstrndup(value, vlen);
	msg.nhdrs++;
}

/* msg_body_add - append one line to the wire-form body, with CRLF */
static void
msg_body_add(const char *line, size_t len, size_t *cap)
{
	if (msg.bodylen + len + 2 > *cap) {
		*cap = (*cap + len + 2) * 2;
		if ((msg.body = realloc(msg.body, *cap)) == NULL)
			die("out of memory");
	}
	memcpy(msg.body + msg.bodylen, line, len);
	memcpy(msg.body + msg.bodylen + len, "\r\n", 2);
	msg.bodylen += len + 2;
}

/* msg_header_line - one (unfolded-start) header line of a file */
static void
msg_header_line(const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t	nlen;

	if (colon == NULL || colon == p)
		die("%s: header line without a name: %.60s", opt.file, p);
	nlen = (size_t) (colon - p);
	while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
		nlen--;
	colon++;
	if (colon < p + len && *colon == ' ')
		colon++;
	msg_add_hdr(p, nlen, colon, (size_t) (p + len - colon));
}

/* msg_fold_line - a continuation line: append to the last header, "\n" between */
static void
msg_fold_line(const char *p, size_t len)
{
	struct gen_hdr *h;
	size_t	old;

	if (msg.nhdrs == 0)
		die("%s: continuation line before any header", opt.file);
	h = &msg.hdrs[msg.nhdrs - 1];
	old = strlen(h->value);
	if ((h->value = realloc(h->value, old + len + 2)) == NULL)
		die("out of memory");
	h->value[old] = '\n';
	memcpy(h->value + old + 1, p, len);
	h->value[old + 1 + len] = 0;
}

/* msg_read_file - the template from a file: headers, blank line, body */
static void
msg_read_file(const char *path)
{
	FILE   *fp;
	struct stat sb;
	char   *buf, *p, *end, *nl;
	size_t	len, cap = 0;
	int	in_body = 0;

	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &sb) < 0)
		die("%s: %s", path, strerror(errno));
	if (sb.st_size > GEN_MAX_FILE)
		die("%s: larger than %d bytes", path, GEN_MAX_FILE);
	buf = xmalloc((size_t) sb.st_size + 1);
	len = fread(buf, 1, (size_t) sb.st_size, fp);
	fclose(fp);
	buf[len] = 0;
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL)
			nl = end;
		len = (size_t) (nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (in_body)
			msg_body_add(p, len, &cap);
		else if (len == 0)
			in_body = 1;
		else if (*p == ' ' || *p == '\t')
			msg_fold_line(p, len);
		else
			msg_header_line(p, len);
	}
	free(buf);
	msg.msgid_idx = -1;
	if (msg.nhdrs == 0)
		die("%s: no headers", path);
}

/* msg_generate - a plain-text message of about SIZE bytes, real headers */
static void
msg_generate(size_t size)
{
	static const char words[] = "The quarterly figures are attached below; "
	    "please check the totals against the ledger before Friday and "
	    "send corrections to the list. ";
	char	line[80], date[64];
	size_t	total = 0, cap = 0, i, w = 0;
	time_t	t = time(NULL);
	unsigned h;

	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&t));
#define HDR(n, v) msg_add_hdr(n, strlen(n), v, strlen(v))
	HDR("From", "Alice Example <alice@example.test>");
	HDR("To", "Bob Example <bob@example.org>");
	HDR("Subject", "Quarterly figures for the benchmark run");
	HDR("Date", date);
	msg.msgid_idx = (int) msg.nhdrs;
	HDR("Message-ID", "<0.miltergen@example.test>");
	HDR("MIME-Version", "1.0");
	HDR("Content-Type", "text/plain; charset=utf-8");
	HDR("Content-Transfer-Encoding", "8bit");
	HDR("User-Agent", "miltergen/1.0");
#undef HDR
	for (h = 0; h < msg.nhdrs; h++)
		total += strlen(msg.hdrs[h].name) + strlen(msg.hdrs[h].value) + 4;
	while (total + 2 < size) {
		for (i = 0; i < 72 && total + i + 4 < size; i++, w++)
			line[i] = words[w % (sizeof(words) - 1)];
		msg_body_add(line, i, &cap);
		total += i + 2;
		if (i == 0)
			break;
	}
}

/* --- connection I/O ---------------------------------------------------- */

/* gen_resolve - parse SOCKET into gen_sa */
static void
gen_resolve(const char *s)
{
	struct addrinfo hints = {0}, *res;
	char	host[256], port[16];
	const char *at, *p;

	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *) &gen_sa;

		p = strchr(s, ':') + 1;
		if (strlen(p) >= sizeof(un->sun_path))
			die("socket path too long: %s", p);
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, p);
		gen_salen = sizeof(*un);
		return;
	}
	if (strncmp(s, "inet:", 5) == 0 || strncmp(s, "inet6:", 6) == 0) {
		p = strchr(s, ':') + 1;
		if ((at = strchr(p, '@')) == NULL || (size_t) (at - p) >= sizeof(port))
			die("bad socket %s: write inet:PORT@HOST", s);
		snprintf(port, sizeof(port), "%.*s", (int) (at - p), p);
		snprintf(host, sizeof(host), "%s", at + 1);
	} else if ((p = strrchr(s, ':')) != NULL && (size_t) (p - s) < sizeof(host)) {
		snprintf(host, sizeof(host), "%.*s", (int) (p - s), s);
		snprintf(port, sizeof(port), "%s", p + 1);
	} else {
		die("bad socket %s", s);
	}
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("cannot resolve %s", s);
	memcpy(&gen_sa, res->ai_addr, res->ai_addrlen);
	gen_salen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* conn_open - connect, with I/O timeouts; -1 with c->err */
static int
conn_open(struct gen_conn *c)
{
	struct timeval tv = {opt.timeout, 0};
	int	one = 1;

	if ((c->fd = socket(gen_sa.ss_family, SOCK_STREAM, 0)) < 0
	    || connect(c->fd, (struct sockaddr *) &gen_sa, gen_salen) < 0) {
		snprintf(c->err, sizeof(c->err), "connect: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (gen_sa.ss_family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* conn_close - close and forget the milter's macro lists */
static void
conn_close(struct gen_conn *c)
{
	int	i;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->wlen = c->rpos = c->rlen = 0;
	c->skip_body = 0;
	for (i = 0; i <= SMFIM_LAST; i++) {
		free(c->macros[i]);
		c->macros[i] = NULL;
	}
}

/* conn_reserve - room for n more bytes in the write buffer */
static void
conn_reserve(struct gen_conn *c, size_t n)
{
	if (c->wlen + n <= c->wcap)
		return;
	c->wcap = (c->wlen + n) * 2;
	if ((c->wbuf = realloc(c->wbuf, c->wcap)) == NULL)
		die("out of memory");
}

/* conn_begin - start a command packet; returns its offset for conn_end */
static size_t
conn_begin(struct gen_conn *c, int cmd)
{
	size_t	at = c->wlen;

	conn_reserve(c, 5);
	c->wlen += 4;
	c->wbuf[c->wlen++] = (unsigned char) cmd;
	return at;
}

/* conn_bytes - append raw bytes to the packet being built */
static void
conn_bytes(struct gen_conn *c, const void *p, size_t n)
{
	conn_reserve(c, n);
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

/* conn_str - append a NUL-terminated string */
static void
conn_str(struct gen_conn *c, const char *s)
{
	conn_bytes(c, s, strlen(s) + 1);
}

/* conn_u32 - append a network-order 32-bit number */
static void
conn_u32(struct gen_conn *c, uint32_t v)
{
	v = htonl(v);
	conn_bytes(c, &v, 4);
}

/* conn_end - fill in the length of the packet begun at offset at */
static void
conn_end(struct gen_conn *c, size_t at)
{
	uint32_t len = htonl((uint32_t) (c->wlen - at - 4));

	memcpy(c->wbuf + at, &len, 4);
}

/* conn_flush - write everything buffered; -1 with c->err */
static int
conn_flush(struct gen_conn *c)
{
	size_t	off = 0;
	ssize_t n;

	while (off < c->wlen) {
		if ((n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(c->err, sizeof(c->err), "write: %s", strerror(errno));
			return -1;
		}
		off += (size_t) n;
	}
	c->wlen = 0;
	return 0;
}

/* conn_read - exactly n bytes from the milter; -1 with c->err */
static int
conn_read(struct gen_conn *c, void *dst, size_t n)
{
	unsigned char *d = dst;
	size_t	k;
	ssize_t r;

	while (n > 0) {
		if (c->rpos == c->rlen) {
			c->rpos = 0;
			do {
				r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
			} while (r < 0 && errno == EINTR);
			if (r <= 0) {
				snprintf(c->err, sizeof(c->err), "read: %s",
					 r == 0 ? "connection closed by milter" : strerror(errno));
				return -1;
			}
			c->rlen = (size_t) r;
		}
		k = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
		memcpy(d, c->rbuf + c->rpos, k);
		c->rpos += k;
		d += k;
		n -= k;
	}
	return 0;
}

/* conn_packet - read one reply: its command and data (NUL-terminated copy) */
static int
conn_packet(struct gen_conn *c, int *cmd, size_t *len)
{
	uint32_t n;
	unsigned char ch;

	if (conn_read(c, &n, 4) < 0)
		return -1;
	n = ntohl(n);
	if (n < 1 || n > GEN_MAX_PKT) {
		snprintf(c->err, sizeof(c->err), "bad reply length %lu", (unsigned long) n);
		return -1;
	}
	if (conn_read(c, &ch, 1) < 0)
		return -1;
	if (n > c->pktcap) {
		c->pktcap = n;
		if ((c->pkt = realloc(c->pkt, c->pktcap)) == NULL)
			die("out of memory");
	}
	if (conn_read(c, c->pkt, n - 1) < 0)
		return -1;
	c->pkt[n - 1] = 0;
	*cmd = ch;
	*len = n - 1;
	return 0;
}

/* --- macros ------------------------------------------------------------ */

/* macro_value - what Postfix's smtpd would give for a macro, or NULL */
static const char *
macro_value(const char *name, const struct gen_tx *tx, char *buf, size_t len)
{
	if (strcmp(name, "j") == 0)
		return "mx.example.test";
	if (strcmp(name, "daemon_name") == 0)
		return opt.daemon;
	if (strcmp(name, "daemon_addr") == 0)
		return "127.0.0.1";
	if (strcmp(name, "v") == 0)
		return "Postfix 3.7.11";
	if (strcmp(name, "_") == 0) {
		snprintf(buf, len, "%s [%s]", opt.host, opt.addr);
		return buf;
	}
	if (strcmp(name, "i") == 0)
		return tx && tx->has_qid ? tx->qid : NULL;
	if (strcmp(name, "auth_type") == 0)
		return opt.outbound ? "PLAIN" : NULL;
	if (strcmp(name, "auth_authen") == 0)
		return opt.outbound ? opt.user : NULL;
	if (strcmp(name, "mail_addr") == 0)
		return tx ? opt.from : NULL;
	if (strcmp(name, "mail_mailer") == 0 || strcmp(name, "rcpt_mailer") == 0)
		return tx ? "smtp" : NULL;
	if (strcmp(name, "mail_host") == 0)
		return tx ? strchr(opt.from, '@') ? strchr(opt.from, '@') + 1 : "" : NULL;
	if (strcmp(name, "rcpt_addr") == 0)
		return tx ? tx->rcpt : NULL;
	if (strcmp(name, "rcpt_host") == 0)
		return tx && tx->rcpt && strchr(tx->rcpt, '@') ? strchr(tx->rcpt, '@') + 1 : NULL;
	return NULL;
}

/* conn_macros - the macro packet for event cmd, from list SMFIM_ class */
static void
conn_macros(struct gen_conn *c, int cmd, int class, const struct gen_tx *tx)
{
	const char *list = c->macros[class] ? c->macros[class] : gen_default_macros[class];
	const char *p = list, *v;
	char	name[64], canon[64], buf[600];
	size_t	n, at = conn_begin(c, SMFIC_MACRO);
	unsigned char ch = (unsigned char) cmd;

	conn_bytes(c, &ch, 1);
	while (*p) {
		p += strspn(p, " ,");
		if ((n = strcspn(p, " ,")) == 0)
			break;
		snprintf(name, sizeof(name), "%.*s", (int) n, p);
		p += n;
		snprintf(canon, sizeof(canon), "%s", name);
		if (*name == '{' && n > 2) {
			snprintf(canon, sizeof(canon), "%.*s", (int) n - 2, name + 1);
		}
		if ((v = macro_value(canon, tx, buf, sizeof(buf))) != NULL) {
			conn_str(c, name);
			conn_str(c, v);
		}
	}
	conn_end(c, at);
}

/* --- the traced message (-o) ------------------------------------------ */

/* trace_insert - header name: value at position idx (0: top) */
static void
trace_insert(unsigned idx, const char *name, const char *value)
{
	if (trace.n == trace.cap) {
		trace.cap = trace.cap ? trace.cap * 2 : 32;
		trace.name = realloc(trace.name, trace.cap * sizeof(char *));
		trace.value = realloc(trace.value, trace.cap * sizeof(char *));
		if (trace.name == NULL || trace.value == NULL)
			die("out of memory");
	}
	if (idx > trace.n)
		idx = trace.n;
	memmove(trace.name + idx + 1, trace.name + idx, (trace.n - idx) * sizeof(char *));
	memmove(trace.value + idx + 1, trace.value + idx, (trace.n - idx) * sizeof(char *));
	trace.name[idx] = xstrndup(name, strlen(name));
	trace.value[idx] = xstrndup(value, strlen(value));
	trace.n++;
}

/* trace_change - the idx-th (1-based) header name: new value, or delete */
static void
trace_change(unsigned idx, const char *name, const char *value)
{
	unsigned i, k = 0;

	for (i = 0; i < trace.n; i++) {
		if (strcasecmp(trace.name[i], name) != 0 || ++k < (idx ? idx : 1))
			continue;
		free(trace.value[i]);
		if (*value) {
			trace.value[i] = xstrndup(value, strlen(value));
			return;
		}
		free(trace.name[i]);
		memmove(trace.name + i, trace.name + i + 1, (trace.n - i - 1) * sizeof(char *));
		memmove(trace.value + i, trace.value + i + 1, (trace.n - i - 1) * sizeof(char *));
		trace.n--;
		return;
	}
	if (*value)
		trace_insert(trace.n, name, value);
}

/* trace_value - a milter's header value as stored: leading space added */
static const char *
trace_value(const struct gen_conn *c, const char *v, char *buf, size_t len)
{
	if (c->events & SMFIP_HDR_LEADSPC)
		return v;
	snprintf(buf, len, " %s", v);
	return buf;
}

/* trace_write - the traced message to opt.out, CRLF line ends */
static void
trace_write(void)
{
	FILE   *fp;
	unsigned i;
	const char *p;

	if ((fp = fopen(opt.out, "w")) == NULL)
		die("%s: %s", opt.out, strerror(errno));
	for (i = 0; i < trace.n; i++) {
		fprintf(fp, "%s:", trace.name[i]);
		for (p = trace.value[i]; *p; p++) {
			if (*p == '\n' && (p == trace.value[i] || p[-1] != '\r'))
				fputc('\r', fp);
			fputc(*p, fp);
		}
		fputs("\r\n", fp);
	}
	fputs("\r\n", fp);
	fwrite(msg.body, 1, msg.bodylen, fp);
	if (fclose(fp) != 0)
		die("%s: %s", opt.out, strerror(errno));
}

/* --- replies ----------------------------------------------------------- */

/* reply_code - "4xx"/"5xx" reply text: tempfail or reject; fail otherwise */
static enum gen_reply
reply_code(struct gen_conn *c, size_t len)
{
	const char *t = (const char *) c->pkt;

	if (len >= 4 && (t[0] == '4' || t[0] == '5') && isdigit((unsigned char) t[1])
	    && isdigit((unsigned char) t[2]) && (t[3] == ' ' || t[3] == '-'))
		return t[0] == '4' ? R_TEMPFAIL : R_REJECT;
	snprintf(c->err, sizeof(c->err), "malformed reply code \"%.40s\"", t);
	return R_FAIL;
}

/* mod_strings - data holds n NUL-terminated strings from offset off */
static int
mod_strings(const struct gen_conn *c, size_t len, size_t off, int n)
{
	for (; n > 0; n--) {
		const unsigned char *z;

		if (off >= len || (z = memchr(c->pkt + off, 0, len - off)) == NULL)
			return -1;
		off = (size_t) (z - c->pkt) + 1;
	}
	return 0;
}

/* mod_expect - note an added or changed header that -e asked for */
static void
mod_expect(struct gen_tx *tx, const char *name)
{
	unsigned i;

	for (i = 0; i < opt.nexpect; i++)
		if (strcasecmp(name, opt.expect[i]) == 0)
			tx->expect_seen |= 1u << i;
}

/* mod_print - trace a modification */
static void
mod_print(const struct gen_conn *c, int cmd, const char *what, const char *a,
	  const char *b)
{
	if (c->trace && opt.print)
		fprintf(stderr, "miltergen: eom: %c %s %s%s%s\n", cmd, what, a,
			b ? ": " : "", b ? b : "");
}

/* reply_mod - a modification at end of message: check, count; -1 bad */
static int
reply_mod(struct gen_conn *c, int cmd, size_t len, struct gen_tx *tx,
	  struct gen_stats *st)
{
	const char *s = (const char *) c->pkt;

	char	buf[8192];
	uint32_t idx;

	switch (cmd) {
	case SMFIR_ADDHEADER:
		if (mod_strings(c, len, 0, 2) < 0)
			return -1;
		st->hdr_add++;
		mod_expect(tx, s);
		mod_print(c, cmd, "add header", s, s + strlen(s) + 1);
		if (c->trace)
			trace_insert(trace.n, s, trace_value(c, s + strlen(s) + 1, buf, sizeof(buf)));
		return 0;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (len < 4 || mod_strings(c, len, 4, 2) < 0)
			return -1;
		memcpy(&idx, s, 4);
		idx = ntohl(idx);
		if (cmd == SMFIR_INSHEADER)
			st->hdr_ins++;
		else
			st->hdr_chg++;
		mod_expect(tx, s + 4);
		mod_print(c, cmd, cmd == SMFIR_INSHEADER ? "insert header" :
			  "change header", s + 4, s + 4 + strlen(s + 4) + 1);
		if (c->trace && cmd == SMFIR_INSHEADER)
			trace_insert(idx, s + 4, trace_value(c, s + 4 + strlen(s + 4) + 1, buf, sizeof(buf)));
		else if (c->trace)
			trace_change(idx, s + 4, *(s + 4 + strlen(s + 4) + 1) ?
				     trace_value(c, s + 4 + strlen(s + 4) + 1, buf, sizeof(buf)) : "");
		return 0;
	case SMFIR_ADDRCPT:
	case SMFIR_ADDRCPT_PAR:
		if (mod_strings(c, len, 0, 1) < 0)
			return -1;
		st->rcpt_add++;
		tx->rcpt_added = 1;
		mod_print(c, cmd, "add recipient", s, NULL);
		return 0;
	case SMFIR_DELRCPT:
		st->rcpt_del++;
		return mod_strings(c, len, 0, 1);
	case SMFIR_CHGFROM:
		st->chg_from++;
		return mod_strings(c, len, 0, 1);
	case SMFIR_REPLBODY:
		st->repl_body++;
		return 0;
	}
	return -1;
}

/* reply_decision - a final or progress reply; R_FAIL when not one */
static int
reply_decision(struct gen_conn *c, int cmd, size_t len, int *res)
{
	switch (cmd) {
	case SMFIR_CONTINUE:
		*res = R_CONTINUE;
		return 1;
	case SMFIR_ACCEPT:
		*res = R_ACCEPT;
		return 1;
	case SMFIR_REJECT:
		*res = R_REJECT;
		return 1;
	case SMFIR_TEMPFAIL:
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		*res = R_TEMPFAIL;
		return 1;
	case SMFIR_DISCARD:
		*res = R_DISCARD;
		return 1;
	case SMFIR_SKIP:
		*res = R_SKIP;
		return 1;
	case SMFIR_REPLYCODE:
		*res = (int) reply_code(c, len);
		return 1;
	case SMFIR_PROGRESS:
		return 0;
	}
	return -1;
}

/* conn_reply - flush, then read replies to event until a decision */
static enum gen_reply
conn_reply(struct gen_conn *c, int event, struct gen_tx *tx, struct gen_stats *st)
{
	int	cmd, res, k;
	size_t	len;

	if (conn_flush(c) < 0)
		return R_FAIL;
	for (;;) {
		if (conn_packet(c, &cmd, &len) < 0)
			return R_FAIL;
		if (c->trace && opt.print && strchr("carstdy", cmd))
			fprintf(stderr, "miltergen: reply to %c: %c%s%s\n", event, cmd,
				cmd == SMFIR_REPLYCODE ? " " : "",
				cmd == SMFIR_REPLYCODE ? (char *) c->pkt : "");
		if (cmd == SMFIR_QUARANTINE) {
			st->quarantine++;
			continue;
		}
		if ((k = reply_decision(c, cmd, len, &res)) > 0)
			return (enum gen_reply) res;
		if (k == 0)
			continue;
		if (event == SMFIC_BODYEOB && reply_mod(c, cmd, len, tx, st) == 0)
			continue;
		snprintf(c->err, sizeof(c->err), "unexpected reply '%c' (%zu bytes) to '%c'",
			 cmd, len, event);
		return R_FAIL;
	}
}

/* --- events ------------------------------------------------------------- */

/* conn_negotiate - option negotiation; keep the milter's masks and macros */
static int
conn_negotiate(struct gen_conn *c)
{
	int	cmd;
	size_t	len, off;
	size_t	at = conn_begin(c, SMFIC_OPTNEG);
	uint32_t v[3], cls;

	conn_u32(c, SMFI_PROT_VERSION);
	conn_u32(c, GEN_ACTIONS);
	conn_u32(c, GEN_EVENTS);
	conn_end(c, at);
	if (conn_flush(c) < 0 || conn_packet(c, &cmd, &len) < 0)
		return -1;
	if (cmd != SMFIC_OPTNEG || len < 12) {
		snprintf(c->err, sizeof(c->err), "bad negotiation reply '%c'", cmd);
		return -1;
	}
	memcpy(v, c->pkt, 12);
	c->version = ntohl(v[0]);
	c->actions = ntohl(v[1]);
	c->events = ntohl(v[2]);
	if (c->version < 2 || c->version > SMFI_PROT_VERSION
	    || (c->actions & GEN_ACTIONS) != c->actions) {
		snprintf(c->err, sizeof(c->err), "milter wants version %u actions 0x%x",
			 c->version, c->actions);
		return -1;
	}
	for (off = 12; off + 5 <= len;) {
		const unsigned char *z = memchr(c->pkt + off + 4, 0, len - off - 4);

		memcpy(&cls, c->pkt + off, 4);
		cls = ntohl(cls);
		if (z == NULL || cls > SMFIM_LAST) {
			snprintf(c->err, sizeof(c->err), "bad macro list in negotiation");
			return -1;
		}
		free(c->macros[cls]);
		c->macros[cls] = xstrndup((char *) c->pkt + off + 4,
					  (size_t) (z - c->pkt) - off - 4);
		off = (size_t) (z - c->pkt) + 1;
	}
	return 0;
}

/* conn_event - macros, then the event unless negotiated away, then reply */
static enum gen_reply
conn_event(struct gen_conn *c, int cmd, int class, uint32_t no, uint32_t nr,
	   struct gen_tx *tx, struct gen_stats *st, const void *data, size_t len)
{
	size_t	at;

	conn_macros(c, cmd, class, tx);
	if (c->events & no)
		return R_CONTINUE;
	at = conn_begin(c, cmd);
	conn_bytes(c, data, len);
	conn_end(c, at);
	if (c->events & nr)
		return R_CONTINUE;
	return conn_reply(c, cmd, tx, st);
}

/* conn_hello - connect and HELO events */
static enum gen_reply
conn_hello(struct gen_conn *c, struct gen_stats *st)
{
	char	data[600];
	size_t	n;
	uint16_t port = htons(42424);
	enum gen_reply r;
	int	v6 = strchr(opt.addr, ':') != NULL;

	n = (size_t) snprintf(data, sizeof(data), "%s", opt.host) + 1;
	data[n++] = v6 ? SMFIA_INET6 : SMFIA_INET;
	memcpy(data + n, &port, 2);
	n += 2;
	n += (size_t) snprintf(data + n, sizeof(data) - n, "%s", opt.addr) + 1;
	r = conn_event(c, SMFIC_CONNECT, SMFIM_CONNECT, SMFIP_NOCONNECT,
		       SMFIP_NR_CONN, NULL, st, data, n);
	if (r != R_CONTINUE)
		return r;
	return conn_event(c, SMFIC_HELO, SMFIM_HELO, SMFIP_NOHELO, SMFIP_NR_HELO,
			  NULL, st, opt.helo, strlen(opt.helo) + 1);
}

/* env_arg - "<addr>" as one NUL-terminated argument */
static size_t
env_arg(char *buf, size_t len, const char *addr)
{
	return (size_t) snprintf(buf, len, "<%s>", addr) + 1;
}

/* tx_envelope - MAIL and RCPT events; R_CONTINUE when some rcpt is left */
static enum gen_reply
tx_envelope(struct gen_conn *c, struct gen_tx *tx, struct gen_stats *st)
{
	char	arg[600], rcpt[600];
	unsigned i, ok = 0;
	enum gen_reply r;

	r = conn_event(c, SMFIC_MAIL, SMFIM_ENVFROM, SMFIP_NOMAIL, SMFIP_NR_MAIL,
		       tx, st, arg, env_arg(arg, sizeof(arg), opt.from));
	if (r != R_CONTINUE)
		return r;
	tx->has_qid = 1;		/* smtpd opens the queue file at RCPT */
	for (i = 0; i < opt.nrcpt; i++) {
		if (i == 0)
			snprintf(rcpt, sizeof(rcpt), "%s", opt.rcpt);
		else
			snprintf(rcpt, sizeof(rcpt), "%u%s", i, opt.rcpt);
		tx->rcpt = rcpt;
		r = conn_event(c, SMFIC_RCPT, SMFIM_ENVRCPT, SMFIP_NORCPT,
			       SMFIP_NR_RCPT, tx, st, arg, env_arg(arg, sizeof(arg), rcpt));
		if (r == R_FAIL || r == R_ACCEPT || r == R_DISCARD)
			return r;
		if (r == R_CONTINUE || r == R_SKIP)
			ok++;
	}
	tx->rcpt = NULL;
	return ok ? R_CONTINUE : r;
}

/* tx_header - one header event; the Message-ID made unique when generated */
static enum gen_reply
tx_header(struct gen_conn *c, struct gen_tx *tx, struct gen_stats *st,
	  unsigned h, unsigned long seq)
{
	const struct gen_hdr *hd = &msg.hdrs[h];
	char	idbuf[96];
	const char *v = hd->value;
	size_t	at;
	int	lead = (c->events & SMFIP_HDR_LEADSPC) != 0;

	if ((int) h == msg.msgid_idx) {
		snprintf(idbuf, sizeof(idbuf), "<%lu.%s@example.test>", seq, tx->qid);
		v = idbuf;
	}
	if (c->trace) {
		char	tv[8192];

		snprintf(tv, sizeof(tv), " %s", v);
		trace_insert(trace.n, hd->name, tv);
	}
	conn_macros(c, SMFIC_HEADER, SMFIM_EOH, tx);
	if (c->events & SMFIP_NOHDRS)
		return R_CONTINUE;
	at = conn_begin(c, SMFIC_HEADER);
	conn_str(c, hd->name);
	if (lead)
		conn_bytes(c, " ", 1);
	conn_str(c, v);
	conn_end(c, at);
	if (c->events & SMFIP_NR_HDR)
		return R_CONTINUE;
	return conn_reply(c, SMFIC_HEADER, tx, st);
}

/* tx_body - the body in chunks, until done or the milter says skip */
static enum gen_reply
tx_body(struct gen_conn *c, struct gen_tx *tx, struct gen_stats *st)
{
	size_t	off, n;
	enum gen_reply r;

	for (off = 0; off < msg.bodylen; off += n) {
		n = msg.bodylen - off > GEN_CHUNK ? GEN_CHUNK : msg.bodylen - off;
		r = conn_event(c, SMFIC_BODY, SMFIM_EOM, SMFIP_NOBODY, SMFIP_NR_BODY,
			       tx, st, msg.body + off, n);
		if (r == R_SKIP)
			return R_CONTINUE;
		if (r != R_CONTINUE)
			return r;
	}
	return R_CONTINUE;
}

/* tx_content - DATA, headers, end of headers, body, end of message */
static enum gen_reply
tx_content(struct gen_conn *c, struct gen_tx *tx, struct gen_stats *st,
	   unsigned long seq)
{
	enum gen_reply r;
	unsigned h;

	r = conn_event(c, SMFIC_DATA, SMFIM_DATA, SMFIP_NODATA, SMFIP_NR_DATA,
		       tx, st, "", 0);
	for (h = 0; h < msg.nhdrs && (r == R_CONTINUE || r == R_SKIP); h++)
		r = tx_header(c, tx, st, h, seq);
	if (r == R_CONTINUE || r == R_SKIP)
		r = conn_event(c, SMFIC_EOH, SMFIM_EOH, SMFIP_NOEOH, SMFIP_NR_EOH,
			       tx, st, "", 0);
	if (r == R_CONTINUE || r == R_SKIP)
		r = tx_body(c, tx, st);
	if (r != R_CONTINUE && r != R_SKIP)
		return r;
	conn_macros(c, SMFIC_BODYEOB, SMFIM_EOM, tx);
	conn_end(c, conn_begin(c, SMFIC_BODYEOB));
	tx->eom = 1;
	return conn_reply(c, SMFIC_BODYEOB, tx, st);
}

/* tx_outcome - a reply as the message's fate */
static enum gen_outcome
tx_outcome(enum gen_reply r)
{
	switch (r) {
	case R_CONTINUE:
	case R_ACCEPT:
	case R_SKIP:
		return GEN_ACCEPTED;
	case R_REJECT:
		return GEN_REJECTED;
	case R_TEMPFAIL:
		return GEN_TEMPFAILED;
	case R_DISCARD:
		return GEN_DISCARDED;
	default:
		return GEN_ERROR;
	}
}

/* tx_check - count an accepted message that missed an expectation */
static void
tx_check(const struct gen_tx *tx, struct gen_stats *st)
{
	if (tx->expect_seen != (1u << opt.nexpect) - 1
	    || (opt.expect_rcpt && !tx->rcpt_added))
		st->expect_missing++;
}

/* tx_run - one message on an open session; its outcome */
static enum gen_outcome
tx_run(struct gen_conn *c, struct gen_stats *st, unsigned long seq)
{
	struct gen_tx tx = {0};
	enum gen_reply r;

	/* unique across runs too: a journal may be keyed on the queue ID */
	snprintf(tx.qid, sizeof(tx.qid), "%05X%07lX", (unsigned) getpid() & 0xfffff,
		 __atomic_add_fetch(&gen_seq, 1, __ATOMIC_RELAXED) & 0xfffffff);
	r = tx_envelope(c, &tx, st);
	if (r == R_CONTINUE)
		r = tx_content(c, &tx, st, seq);
	/* A message refused before its end is abandoned, as smtpd does. */
	if (!tx.eom && (r == R_REJECT || r == R_TEMPFAIL || r == R_DISCARD))
		conn_end(c, conn_begin(c, SMFIC_ABORT));
	if (tx_outcome(r) == GEN_ACCEPTED)
		tx_check(&tx, st);
	return tx_outcome(r);
}

static int rss_read(int, long *, long *);

/* --- sessions and workers ----------------------------------------------- */

/* session_fail - every message of the session that did not run is an error */
static void
session_fail(struct gen_conn *c, struct gen_stats *st, unsigned long n)
{
	st->outcome[GEN_ERROR] += n;
	fprintf(stderr, "miltergen: session: %s\n", c->err);
}

/* session_hold - once per worker: wait until every session is open */
static void
session_hold(struct gen_worker *w)
{
	if (w->ph->hold == NULL || w->held)
		return;
	w->held = 1;
	pthread_barrier_wait(w->ph->hold);
	if (w->id == 0) {
		long	rss, hwm;

		fprintf(stderr, "miltergen: %u sessions open, holding %d s\n",
			__atomic_load_n(&gen_open, __ATOMIC_RELAXED), opt.hold);
		sleep((unsigned) opt.hold);
		if (opt.rss_pid > 0 && rss_read(opt.rss_pid, &rss, &hwm) == 0)
			printf("miltergen: held open=%u rss_kb=%ld hwm_kb=%ld\n",
			       __atomic_load_n(&gen_open, __ATOMIC_RELAXED), rss, hwm);
	}
	pthread_barrier_wait(w->ph->hold);
}

/* session_open - connect and greet; count the open connections */
static enum gen_reply
session_open(struct gen_conn *c, struct gen_stats *st)
{
	unsigned n, m;

	if (conn_open(c) < 0)
		return R_FAIL;
	n = __atomic_add_fetch(&gen_open, 1, __ATOMIC_RELAXED);
	while ((m = __atomic_load_n(&gen_max_open, __ATOMIC_RELAXED)) < n
	       && !__atomic_compare_exchange_n(&gen_max_open, &m, n, 0,
					       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	st->sessions++;
	if (conn_negotiate(c) < 0)
		return R_FAIL;
	return conn_hello(c, st);
}

/* session_close - QUIT (unless the milter is gone) and close */
static void
session_close(struct gen_conn *c, int quit)
{
	if (quit && c->fd >= 0) {
		conn_end(c, conn_begin(c, SMFIC_QUIT));
		(void) conn_flush(c);
	}
	if (c->fd >= 0)
		__atomic_sub_fetch(&gen_open, 1, __ATOMIC_RELAXED);
	conn_close(c);
}

/* session_run - one milter connection carrying messages first .. first+n-1 */
static void
session_run(struct gen_worker *w, struct gen_conn *c, unsigned long first,
	    unsigned long n)
{
	struct gen_phase *ph = w->ph;
	double	t0 = now_ms();
	enum gen_reply r;
	enum gen_outcome o;
	unsigned long i;

	c->trace = (opt.print || opt.out) && first == 0 && ph->lat != NULL;
	r = session_open(c, &w->st);
	if (r == R_FAIL) {
		session_fail(c, &w->st, n);
		session_close(c, 0);
		return;
	}
	session_hold(w);
	if (ph->hold)
		t0 = now_ms();		/* the hold is not the message's latency */
	for (i = 0; i < n; i++) {
		if (i > 0)
			t0 = now_ms();
		o = r == R_CONTINUE ? tx_run(c, &w->st, first + i) : tx_outcome(r);
		if (o == GEN_ERROR) {
			session_fail(c, &w->st, n - i);
			session_close(c, 0);
			return;
		}
		w->st.outcome[o]++;
		if (ph->lat)
			ph->lat[first + i] = now_ms() - t0;
		__atomic_add_fetch(&gen_msgs_done, 1, __ATOMIC_RELAXED);
		if (c->trace && opt.out)
			trace_write();
		c->trace = 0;
	}
	session_close(c, r == R_CONTINUE);
}

/* worker - claim sessions' worth of messages until the phase is done */
static void *
worker(void *arg)
{
	struct gen_worker *w = arg;
	struct gen_conn *c = xmalloc(sizeof(*c));
	unsigned long first, n;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	for (;;) {
		first = __atomic_fetch_add(&w->ph->next, opt.per_conn, __ATOMIC_RELAXED);
		if (first >= w->ph->count)
			break;
		n = w->ph->count - first < opt.per_conn ? w->ph->count - first : opt.per_conn;
		session_run(w, c, first, n);
	}
	/* A worker with nothing to do still meets the others at the hold. */
	session_hold(w);
	free(c->wbuf);
	free(c->pkt);
	free(c);
	return NULL;
}

/* --- the run -------------------------------------------------------------- */

/* phase_run - COUNT messages by CONC workers; stats summed into *sum */
static double
phase_run(unsigned long count, double *lat, struct gen_stats *sum)
{
	struct gen_phase ph = {count, 0, lat, NULL};
	struct gen_worker *w;
	pthread_attr_t attr;
	pthread_barrier_t bar;
	unsigned i, k, n = opt.conc;
	double	t0;

	if (n > count)
		n = (unsigned) count;
	if (opt.hold > 0 && lat != NULL) {
		pthread_barrier_init(&bar, NULL, n);
		ph.hold = &bar;
	}
	w = calloc(n, sizeof(*w));
	if (w == NULL)
		die("out of memory");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		w[i].id = i;
		w[i].ph = &ph;
		if (pthread_create(&w[i].tid, &attr, worker, &w[i]) != 0)
			die("cannot start thread %u of %u", i + 1, n);
	}
	for (i = 0; i < n; i++) {
		/* struct gen_stats holds unsigned long counters only */
		unsigned long *a = (unsigned long *) &w[i].st, *s = (unsigned long *) sum;

		pthread_join(w[i].tid, NULL);
		for (k = 0; k < sizeof(*sum) / sizeof(unsigned long); k++)
			s[k] += a[k];
	}
	t0 = now_ms() - t0;
	if (ph.hold)
		pthread_barrier_destroy(&bar);
	pthread_attr_destroy(&attr);
	free(w);
	return t0 - (ph.hold ? opt.hold * 1e3 : 0);
}

/* cmp_double - qsort order */
static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* pct - the p-th percentile of sorted v[0..n-1] (nearest rank) */
static double
pct(const double *v, unsigned long n, double p)
{
	unsigned long k = (unsigned long) (p / 100.0 * (double) n + 0.999999);

	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

/* rss_read - VmRSS and VmHWM of pid, kB; -1 when gone */
static int
rss_read(int pid, long *rss, long *hwm)
{
	char	path[64], line[256];
	FILE   *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	*rss = *hwm = -1;
	while (fgets(line, sizeof(line), fp)) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(fp);
	return 0;
}

/* rss_thread - sample the milter's RSS every second while the run lasts */
static void *
rss_thread(void *arg)
{
	long	rss, hwm, last_hwm = 0;
	unsigned long done;
	unsigned n = 0;
	int	tick = 0;

	(void) arg;
	while (!gen_done && n < GEN_MAX_RSS) {
		if (rss_read(opt.rss_pid, &rss, &hwm) < 0)
			break;
		done = __atomic_load_n(&gen_msgs_done, __ATOMIC_RELAXED);
		/* print every 10 s, and whenever the peak grew */
		if (tick++ % 10 == 0 || hwm > last_hwm)
			printf("miltergen: rss msgs=%lu open=%u rss_kb=%ld hwm_kb=%ld\n", done,
			       __atomic_load_n(&gen_open, __ATOMIC_RELAXED), rss, hwm);
		fflush(stdout);
		last_hwm = hwm;
		n++;
		sleep(1);
	}
	return NULL;
}

/* report - the summary lines; 0 when all went well */
static int
report(const struct gen_stats *s, double ms, double *lat, unsigned long n)
{
	unsigned i;
	long	rss, hwm;

	printf("miltergen: messages=%lu", n);
	for (i = 0; i < GEN_NOUTCOME; i++)
		printf(" %s=%lu", gen_outcome_name[i], s->outcome[i]);
	printf(" sessions=%lu max_open=%u\n", s->sessions, gen_max_open);
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("miltergen: elapsed_s=%.3f msgs_per_s=%.1f p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f\n", ms / 1e3, n / (ms / 1e3), pct(lat, n, 50),
	       pct(lat, n, 90), pct(lat, n, 99), lat[n - 1]);
	printf("miltergen: hdr_added=%lu hdr_inserted=%lu hdr_changed=%lu rcpt_added=%lu "
	       "rcpt_deleted=%lu from_changed=%lu body_replaced=%lu quarantined=%lu "
	       "expect_missing=%lu\n", s->hdr_add, s->hdr_ins, s->hdr_chg, s->rcpt_add,
	       s->rcpt_del, s->chg_from, s->repl_body, s->quarantine, s->expect_missing);
	if (opt.rss_pid > 0 && rss_read(opt.rss_pid, &rss, &hwm) == 0)
		printf("miltergen: milter pid=%d rss_kb=%ld hwm_kb=%ld\n", opt.rss_pid, rss, hwm);
	return s->outcome[GEN_ERROR] || s->expect_missing ? 1 : 0;
}

/* usage - how to call */
static void
usage(void)
{
	fprintf(stderr,
		"usage: miltergen [options] SOCKET\n"
		"  SOCKET     inet:PORT@HOST, unix:/path or HOST:PORT\n"
		"  -n COUNT   messages measured (default 1000)\n"
		"  -W COUNT   warm-up messages sent first, not measured (default 0)\n"
		"  -c CONC    sessions at once (default 10)\n"
		"  -m PER     messages per session (default 1, as Postfix: one milter\n"
		"             connection per SMTP session)\n"
		"  -s SIZE    size of the generated message, bytes (default 4096)\n"
		"  -f FILE    send this message (headers, blank line, body) instead\n"
		"  -F FROM    envelope sender (default alice@example.test)\n"
		"  -t RCPT    recipient (default bob@example.org)\n"
		"  -r N       recipients per message (default 1)\n"
		"  -d DIR     in: no SASL login; out: {auth_authen} set (default in)\n"
		"  -u USER    SASL login sent with -d out (default alice)\n"
		"  -a ADDR    client IP address (default 192.0.2.10)\n"
		"  -N NAME    client host name (default client.example.test)\n"
		"  -h HELO    HELO name (default client.example.test)\n"
		"  -D NAME    {daemon_name} (default mx.example.test)\n"
		"  -e HEADER  the milter must add or change HEADER in every accepted\n"
		"             message (repeatable)\n"
		"  -E         the milter must add a recipient to every accepted message\n"
		"  -H SECS    open all CONC sessions, hold them SECS, then send\n"
		"  -P PID     sample the milter's RSS (/proc/PID/status) every second\n"
		"  -T SECS    I/O timeout (default 60)\n"
		"  -p         trace the first measured message's replies to stderr\n"
		"  -o FILE    write the first measured message, as the milter left\n"
		"             it (header changes applied), to FILE\n");
	exit(2);
}

/* num - a positive number option */
static unsigned long
num(const char *s, unsigned long max)
{
	char   *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || v < 1 || v > max)
		usage();
	return v;
}

/* options - parse argv into opt */
static void
options(int argc, char **argv)
{
	int	ch;

	opt = (struct gen_opt) {
		.count = 1000, .conc = 10, .per_conn = 1, .nrcpt = 1, .size = 4096,
		.from = "alice@example.test", .rcpt = "bob@example.org",
		.user = "alice", .addr = "192.0.2.10", .host = "client.example.test",
		.helo = "client.example.test", .daemon = "mx.example.test",
		.timeout = 60,
	};
	while ((ch = getopt(argc, argv, "n:W:c:m:s:f:F:t:r:d:u:a:N:h:D:e:EH:P:T:po:")) != -1) {
		switch (ch) {
		case 'n': opt.count = num(optarg, 100000000); break;
		case 'W': opt.warmup = strtoul(optarg, NULL, 10); break;
		case 'c': opt.conc = (unsigned) num(optarg, 10000); break;
		case 'm': opt.per_conn = (unsigned) num(optarg, 1000000); break;
		case 's': opt.size = num(optarg, GEN_MAX_FILE); break;
		case 'f': opt.file = optarg; break;
		case 'F': opt.from = optarg; break;
		case 't': opt.rcpt = optarg; break;
		case 'r': opt.nrcpt = (unsigned) num(optarg, 1000); break;
		case 'd':
			if (strcmp(optarg, "in") && strcmp(optarg, "out"))
				usage();
			opt.outbound = strcmp(optarg, "out") == 0;
			break;
		case 'u': opt.user = optarg; break;
		case 'a': opt.addr = optarg; break;
		case 'N': opt.host = optarg; break;
		case 'h': opt.helo = optarg; break;
		case 'D': opt.daemon = optarg; break;
		case 'e':
			if (opt.nexpect == GEN_MAX_EXPECT)
				usage();
			opt.expect[opt.nexpect++] = optarg;
			break;
		case 'E': opt.expect_rcpt = 1; break;
		case 'H': opt.hold = (int) num(optarg, 3600); break;
		case 'P': opt.rss_pid = (int) num(optarg, 1u << 30); break;
		case 'T': opt.timeout = (int) num(optarg, 3600); break;
		case 'p': opt.print = 1; break;
		case 'o': opt.out = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	opt.sock = argv[optind];
	if (strlen(opt.from) > 500 || strlen(opt.rcpt) > 490 || strlen(opt.host) > 250
	    || strlen(opt.addr) > 64 || strlen(opt.helo) > 500)
		die("an address or name is too long");
}

int
main(int argc, char **argv)
{
	struct gen_stats warm = {0}, st = {0};
	pthread_t rss_tid;
	double *lat, ms;
	int	rc;

	options(argc, argv);
	gen_resolve(opt.sock);
	if (opt.file)
		msg_read_file(opt.file);
	else
		msg_generate(opt.size);
	if (opt.warmup > 0) {
		phase_run(opt.warmup, NULL, &warm);
		if (warm.outcome[GEN_ERROR])
			fprintf(stderr, "miltergen: %lu errors during warm-up\n",
				warm.outcome[GEN_ERROR]);
	}
	lat = xmalloc(opt.count * sizeof(*lat));
	memset(lat, 0, opt.count * sizeof(*lat));
	gen_max_open = 0;
	__atomic_store_n(&gen_msgs_done, 0, __ATOMIC_RELAXED);
	if (opt.rss_pid > 0 && pthread_create(&rss_tid, NULL, rss_thread, NULL) != 0)
		die("cannot start the RSS sampler");
	ms = phase_run(opt.count, lat, &st);
	gen_done = 1;
	if (opt.rss_pid > 0)
		pthread_join(rss_tid, NULL);
	rc = report(&st, ms, lat, opt.count);
	free(lat);
	return rc;
}
