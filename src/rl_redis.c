/*
 * NAME
 *	rl_redis.c - the Redis rate-limit store
 * SYNOPSIS
 *	#include "ratelimit.h"
 *
 *	struct rl_redis *rl_redis_shared(server, timeout_ms, err, errlen)
 *
 *	int rl_redis_decide(rs, req, n, err, errlen)
 *
 *	int rl_redis_get(rs, key, keylen, tat, now, err, errlen)
 *
 *	int rl_redis_reset(rs, key, keylen, err, errlen)
 *
 *	void rl_redis_status(rs, buf, len)
 * DESCRIPTION
 *	Several MTAs that share one limit keep the TATs in one Redis server,
 *	under "mailwarden:rl:" followed by the key ratelimit.c composes. A
 *	decision is one round trip: one Lua script, run atomically by the
 *	server, reads every key of the decision, applies the same arithmetic
 *	as rl_gcra_batch() (all or nothing), and stores the charged TATs
 *	with an expiry at the moment each key comes to rest. The time is the
 *	Redis server's (TIME), so the MTAs' clocks need not agree. The
 *	script is called by its SHA-1 (EVALSHA) and sent whole (EVAL) only
 *	when the server answers NOSCRIPT, after a restart or SCRIPT FLUSH.
 *
 *	Connections are reused: a pool per server keeps up to 16 idle ones;
 *	a thread takes one for a command and gives it back. Connecting and
 *	each command wait at most redis_timeout milliseconds.
 *
 *	When a connection or a command fails, every idle connection is
 *	dropped and the store is "down" for one second: calls fail at once
 *	with the error that took it down, without touching the network.
 *	After that second one caller tries again (the others still fail at
 *	once); if it succeeds the store is up again. So an outage costs each
 *	message no wait, and recovery needs no restart. What a failure means
 *	for the message (accept or tempfail) is the caller's choice.
 *
 *	Pools are shared by the process, one per (server, timeout), created
 *	on first use and never freed, so a configuration reload keeps its
 *	connections; each distinct setting a reload ever names costs one
 *	idle pool. Creating a pool does not connect.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis.h>
#include <openssl/evp.h>

#include "clock.h"
#include "ratelimit.h"

#define REDIS_IDLE_MAX	16		/* idle connections kept per pool */
#define REDIS_BACKOFF	1000000		/* us between attempts while down */
#define REDIS_PREFIX	"mailwarden:rl:"
#define REDIS_PREFIX_LEN (sizeof(REDIS_PREFIX) - 1)

/*
 * The decision. KEYS: one per rule; ARGV: interval, burst, soft ("1"/"0")
 * per key. Returns allowed, charged, remaining, retry per key. Times are
 * microseconds; every value stays an integer far below 2^53, so Lua's
 * doubles hold them exactly.
 */
static const char decide_lua[] =
"if redis.replicate_commands then redis.replicate_commands() end\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local out, new, refused = {}, {}, false\n"
"for i = 1, #KEYS do\n"
"  local T, B = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1])\n"
"  local tat = tonumber(redis.call('GET', KEYS[i]) or 0) or 0\n"
"  if tat < now then tat = now end\n"
"  new[i] = tat + T\n"
"  local at = new[i] - B * T\n"
"  if now >= at then\n"
"    local left = math.floor((now - at) / T)\n"
"    if left * T > now - at then left = left - 1 end\n"
"    out[4*i-3], out[4*i-1], out[4*i] = 1, left, 0\n"
"  else\n"
"    out[4*i-3], out[4*i-1], out[4*i] = 0, 0, at - now\n"
"    if ARGV[3*i] == '0' then refused = true end\n"
"  end\n"
"  out[4*i-2] = 0\n"
"end\n"
"if not refused then\n"
"  for i = 1, #KEYS do\n"
"    if out[4*i-3] == 1 then\n"
"      redis.call('SET', KEYS[i], string.format('%d', new[i]), 'PX',\n"
"                 math.max(1, math.ceil((new[i] - now) / 1000)))\n"
"      out[4*i-2] = 1\n"
"    end\n"
"  end\n"
"end\n"
"return out\n";

/* The standing of one key: its TAT (0: none) and the server's time. */
static const char get_lua[] =
"local t = redis.call('TIME')\n"
"return {tonumber(redis.call('GET', KEYS[1]) or 0) or 0,\n"
"        tonumber(t[1]) * 1000000 + tonumber(t[2])}\n";

struct redis_conn {
	redisContext *c;
	unsigned gen;			/* pool generation it was made in */
};

struct rl_redis {
	char	server[256];		/* as configured */
	char	host[256];		/* or the unix socket path */
	int	port;			/* 0: unix socket */
	int	timeout_ms;
	char	sha[41];		/* of decide_lua */
	pthread_mutex_t lock;		/* guards what follows */
	struct redis_conn idle[REDIS_IDLE_MAX];
	unsigned nidle;
	unsigned gen;			/* bumped when the server fails */
	int64_t	down_until;		/* clock_now_us(); 0: up */
	int	probing;		/* one caller is trying again */
	char	down_err[200];
	struct rl_redis *next;		/* the process's list of pools */
};

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_redis *pools;

/* parse_server - "host:port", "[v6]:port" or "unix:/path"; -1 with err */
static int
parse_server(struct rl_redis *rs, const char *server, char *err, size_t errlen)
{
	const char *colon = strrchr(server, ':');
	size_t	hl;

	if (strncmp(server, "unix:", 5) == 0) {
		rs->port = 0;
		hl = strlen(server + 5);
		colon = server + 4;
	} else {
		if (colon == NULL || (rs->port = atoi(colon + 1)) <= 0 || rs->port > 65535)
			goto bad;
		hl = (size_t) (colon - server);
		if (*server == '[' && hl > 2 && server[hl - 1] == ']') {
			server++;
			hl -= 2;
		}
	}
	if (hl == 0 || hl >= sizeof(rs->host) || strlen(server) >= sizeof(rs->server))
		goto bad;
	memcpy(rs->host, rs->port ? server : colon + 1, hl);
	rs->host[hl] = 0;
	return 0;
bad:
	snprintf(err, errlen, "redis_server \"%.100s\": write host:port or unix:/path", server);
	return -1;
}

/* script_sha - hex SHA-1 of the decision script, as Redis names it */
static int
script_sha(char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;

	if (EVP_Digest(decide_lua, strlen(decide_lua), md, &mdlen, EVP_sha1(), NULL) != 1)
		return -1;
	for (i = 0; i < mdlen && i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* pool_new - a pool; it connects on first use */
static struct rl_redis *
pool_new(const char *server, int timeout_ms, char *err, size_t errlen)
{
	struct rl_redis *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_server(rs, server, err, errlen) < 0) {
		free(rs);
		return NULL;
	}
	if (script_sha(rs->sha) < 0) {
		snprintf(err, errlen, "cannot compute the SHA-1 of the Redis script");
		free(rs);
		return NULL;
	}
	snprintf(rs->server, sizeof(rs->server), "%s", server);
	rs->timeout_ms = timeout_ms;
	pthread_mutex_init(&rs->lock, NULL);
	return rs;
}

/* rl_redis_shared - the process's pool for this server and timeout */
struct rl_redis *
rl_redis_shared(const char *server, int timeout_ms, char *err, size_t errlen)
{
	struct rl_redis *rs;

	pthread_mutex_lock(&pools_lock);
	for (rs = pools; rs; rs = rs->next)
		if (strcmp(rs->server, server) == 0 && rs->timeout_ms == timeout_ms)
			break;
	if (rs == NULL && (rs = pool_new(server, timeout_ms, err, errlen)) != NULL) {
		rs->next = pools;
		pools = rs;
	}
	pthread_mutex_unlock(&pools_lock);
	return rs;
}

/* redis_connect - a new connection with the pool's timeouts; NULL with err */
static redisContext *
redis_connect(struct rl_redis *rs, char *err, size_t errlen)
{
	struct timeval tv = {rs->timeout_ms / 1000, (rs->timeout_ms % 1000) * 1000};
	redisContext *c;

	c = rs->port ? redisConnectWithTimeout(rs->host, rs->port, tv)
	    : redisConnectUnixWithTimeout(rs->host, tv);
	if (c == NULL) {
		snprintf(err, errlen, "redis %s: out of memory", rs->server);
		return NULL;
	}
	if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, errlen, "redis %s: %s", rs->server, *c->errstr ? c->errstr : "cannot connect");
		redisFree(c);
		return NULL;
	}
	return c;
}

/* pool_get - an idle or new connection; -1 with err when down */
static int
pool_get(struct rl_redis *rs, struct redis_conn *rc, char *err, size_t errlen)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->down_until && (rs->probing || clock_now_us() < rs->down_until)) {
		snprintf(err, errlen, "%s (retrying every second)", rs->down_err);
		pthread_mutex_unlock(&rs->lock);
		return -1;
	}
	if (rs->down_until)
		rs->probing = 1;		/* this caller tries; others fail fast */
	rc->gen = rs->gen;
	rc->c = rs->nidle ? rs->idle[--rs->nidle].c : NULL;
	pthread_mutex_unlock(&rs->lock);
	return 0;
}

/* pool_put - a connection that worked goes back; the server is up */
static void
pool_put(struct rl_redis *rs, struct redis_conn *rc)
{
	pthread_mutex_lock(&rs->lock);
	rs->down_until = 0;
	rs->probing = 0;
	if (rc->gen == rs->gen && rs->nidle < REDIS_IDLE_MAX) {
		rs->idle[rs->nidle++] = *rc;
		rc->c = NULL;
	}
	pthread_mutex_unlock(&rs->lock);
	if (rc->c)
		redisFree(rc->c);
}

/* pool_down - the server failed: drop every connection, back off */
static void
pool_down(struct rl_redis *rs, struct redis_conn *rc, const char *err)
{
	struct redis_conn old[REDIS_IDLE_MAX];
	unsigned n, i;

	if (rc->c)
		redisFree(rc->c);
	pthread_mutex_lock(&rs->lock);
	n = rs->nidle;
	memcpy(old, rs->idle, n * sizeof(old[0]));
	rs->nidle = 0;
	rs->gen++;
	rs->down_until = clock_now_us() + REDIS_BACKOFF;
	rs->probing = 0;
	snprintf(rs->down_err, sizeof(rs->down_err), "%s", err);
	pthread_mutex_unlock(&rs->lock);
	for (i = 0; i < n; i++)
		redisFree(old[i].c);
}

/* conn_closed - did the server close this connection, or reset it? */
static int
conn_closed(const redisContext *c)
{
	return c->err == REDIS_ERR_EOF
	    || (c->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
}

/*
 * redis_run - one command; the reply, or NULL with err. A connection from
 * the pool that the server closed (it restarted) is replaced by a new one
 * once before the server counts as down; not after a timeout, when the
 * script may have run.
 */
static redisReply *
redis_run(struct rl_redis *rs, int argc, const char **argv, const size_t *len,
	  char *err, size_t errlen)
{
	struct redis_conn rc;
	redisReply *rep;
	int	fresh;

	if (pool_get(rs, &rc, err, errlen) < 0)
		return NULL;
	for (fresh = rc.c == NULL;; fresh = 1) {
		if (rc.c == NULL && (rc.c = redis_connect(rs, err, errlen)) == NULL)
			break;
		if ((rep = redisCommandArgv(rc.c, argc, argv, len)) != NULL) {
			pool_put(rs, &rc);
			return rep;
		}
		snprintf(err, errlen, "redis %s: %s", rs->server,
			 *rc.c->errstr ? rc.c->errstr : "no answer");
		if (fresh || !conn_closed(rc.c))
			break;			/* a timeout may have run the script */
		redisFree(rc.c);
		rc.c = NULL;
	}
	pool_down(rs, &rc, err);
	return NULL;
}

/* redis_script - EVALSHA, or EVAL when the server lost the script */
static redisReply *
redis_script(struct rl_redis *rs, int argc, const char **argv, size_t *len,
	     char *err, size_t errlen)
{
	redisReply *rep;

	argv[0] = "EVALSHA";
	len[0] = 7;
	argv[1] = rs->sha;
	len[1] = strlen(rs->sha);
	rep = redis_run(rs, argc, argv, len, err, errlen);
	if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(rep);
		argv[0] = "EVAL";
		len[0] = 4;
		argv[1] = decide_lua;
		len[1] = strlen(decide_lua);
		rep = redis_run(rs, argc, argv, len, err, errlen);
	}
	return rep;
}

/* reply_ints - check an array of n integers; -1 with err */
static int
reply_ints(const struct rl_redis *rs, const redisReply *rep, size_t n,
	   char *err, size_t errlen)
{
	size_t	i;

	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis %s: %.150s", rs->server, rep->str);
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
		goto bad;
	for (i = 0; i < n; i++)
		if (rep->element[i]->type != REDIS_REPLY_INTEGER)
			goto bad;
	return 0;
bad:
	snprintf(err, errlen, "redis %s: unexpected answer to the rate-limit script", rs->server);
	return -1;
}

/* prefixed_keys - "mailwarden:rl:" + key, all in one buffer; NULL: no memory */
static char *
prefixed_keys(const struct rl_req *req, unsigned n, const char **argv, size_t *len)
{
	size_t	total = 0, off = 0;
	unsigned i;
	char   *buf;

	for (i = 0; i < n; i++)
		total += REDIS_PREFIX_LEN + req[i].keylen;
	if ((buf = malloc(total ? total : 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		memcpy(buf + off, REDIS_PREFIX, REDIS_PREFIX_LEN);
		memcpy(buf + off + REDIS_PREFIX_LEN, req[i].key, req[i].keylen);
		argv[i] = buf + off;
		len[i] = REDIS_PREFIX_LEN + req[i].keylen;
		off += len[i];
	}
	return buf;
}

/* decide_args - the script's ARGV: interval, burst, soft per key */
static void
decide_args(const struct rl_req *req, unsigned n, char (*num)[24],
	    const char **argv, size_t *len)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(num[3 * i], 24, "%lld", (long long) req[i].interval);
		snprintf(num[3 * i + 1], 24, "%lld", (long long) req[i].burst);
		snprintf(num[3 * i + 2], 24, "%d", req[i].soft ? 1 : 0);
	}
	for (i = 0; i < 3 * n; i++) {
		argv[i] = num[i];
		len[i] = strlen(num[i]);
	}
}

/* decide_results - copy the script's answer into the requests */
static void
decide_results(const redisReply *rep, struct rl_req *req, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		req[i].allowed = rep->element[4 * i]->integer != 0;
		req[i].charged = rep->element[4 * i + 1]->integer != 0;
		req[i].remaining = rep->element[4 * i + 2]->integer;
		req[i].retry = rep->element[4 * i + 3]->integer;
	}
}

/* rl_redis_decide - decide n requests together in one script; 0, or -1 with err */
int
rl_redis_decide(struct rl_redis *rs, struct rl_req *req, unsigned n,
		char *err, size_t errlen)
{
	const char *argv[3 + 4 * RL_MAX_BATCH];
	size_t	len[3 + 4 * RL_MAX_BATCH];
	char	num[3 * RL_MAX_BATCH][24], nkeys[16], *keys;
	redisReply *rep;
	int	rc = -1;

	if (n == 0 || n > RL_MAX_BATCH) {
		snprintf(err, errlen, "bad number of rate-limit keys");
		return -1;
	}
	snprintf(nkeys, sizeof(nkeys), "%u", n);
	argv[2] = nkeys;
	len[2] = strlen(nkeys);
	if ((keys = prefixed_keys(req, n, argv + 3, len + 3)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	decide_args(req, n, num, argv + 3 + n, len + 3 + n);
	rep = redis_script(rs, (int) (3 + 4 * n), argv, len, err, errlen);
	if (rep && reply_ints(rs, rep, 4 * (size_t) n, err, errlen) == 0) {
		decide_results(rep, req, n);
		rc = 0;
	}
	if (rep)
		freeReplyObject(rep);
	free(keys);
	return rc;
}

/* rl_redis_get - a key's TAT (0: none) and the server's time; -1 with err */
int
rl_redis_get(struct rl_redis *rs, const char *key, size_t keylen, int64_t *tat,
	     int64_t *now, char *err, size_t errlen)
{
	struct rl_req q = {.key = key, .keylen = keylen};
	const char *argv[4] = {"EVAL", get_lua, "1"};
	size_t	len[4] = {4, strlen(get_lua), 1};
	redisReply *rep;
	char   *k;
	int	rc = -1;

	if ((k = prefixed_keys(&q, 1, argv + 3, len + 3)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rep = redis_run(rs, 4, argv, len, err, errlen);
	if (rep && reply_ints(rs, rep, 2, err, errlen) == 0) {
		*tat = rep->element[0]->integer;
		*now = rep->element[1]->integer;
		rc = 0;
	}
	if (rep)
		freeReplyObject(rep);
	free(k);
	return rc;
}

/* rl_redis_reset - delete a key: 1 if it was there, 0 if not, -1 with err */
int
rl_redis_reset(struct rl_redis *rs, const char *key, size_t keylen, char *err, size_t errlen)
{
	struct rl_req q = {.key = key, .keylen = keylen};
	const char *argv[2] = {"DEL"};
	size_t	len[2] = {3};
	redisReply *rep;
	char   *k;
	int	rc = -1;

	if ((k = prefixed_keys(&q, 1, argv + 1, len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rep = redis_run(rs, 2, argv, len, err, errlen);
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer > 0;
	else if (rep)
		snprintf(err, errlen, "redis %s: unexpected answer to DEL", rs->server);
	if (rep)
		freeReplyObject(rep);
	free(k);
	return rc;
}

/* rl_redis_status - "server=... state=up idle=N" for mailwarden-ctl */
void
rl_redis_status(struct rl_redis *rs, char *buf, size_t len)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->down_until)
		snprintf(buf, len, "server=%s timeout=%dms state=down idle=%u error=\"%s\"",
			 rs->server, rs->timeout_ms, rs->nidle, rs->down_err);
	else
		snprintf(buf, len, "server=%s timeout=%dms state=up idle=%u",
			 rs->server, rs->timeout_ms, rs->nidle);
	pthread_mutex_unlock(&rs->lock);
}
