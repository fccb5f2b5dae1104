/*
 * NAME
 *	ratelimit.c - the rate-limit stage
 * SYNOPSIS
 *	const struct mw_stage stage_ratelimit;
 *
 *	int ratelimit_ctl_show(conf, argc, argv, out, outlen)
 *	int ratelimit_ctl_reset(conf, argc, argv, out, outlen)
 *	int ratelimit_ctl_rules(conf, argc, argv, out, outlen)
 *	int ratelimit_ctl_stats(conf, argc, argv, out, outlen)
 * DESCRIPTION
 *	Each "ratelimit NAME { ... }" section is a rule: what it counts by
 *	(its key: one or more of sasl_user, sender, sender_domain,
 *	client_ip, client_net, rcpt_domain), what it counts (messages,
 *	decided at MAIL FROM; or recipients, decided at each RCPT TO, so a
 *	client learns which recipients to retry), RATE per PERIOD with a
 *	BURST (see rl_gcra.c), the directions it applies to, exceptions, and
 *	the action over the limit: tempfail (451 4.7.1, the default), reject
 *	(550 5.7.1), or log (shadow mode: noted, never refused). The reply
 *	names the rule and, for a tempfail, when to retry.
 *
 *	A rule applies to a request when the message's direction is one it
 *	covers, no exception matches (except_hosts: the client address;
 *	except_users: the SASL user, exactly; except_domains: the sender
 *	domain or a subdomain of it), and every item of its key is known: a
 *	sasl_user rule does not apply to a client that did not authenticate,
 *	a sender rule not to the null sender, client rules not to a client
 *	without an address. Values are normalized: addresses and domains in
 *	lower case, client_ip in canonical form (an IPv4-mapped IPv6 address
 *	as IPv4), client_net as the /24 (IPv4) or /64 (IPv6) around it.
 *
 *	Several rules: every rule that applies to a request is decided in
 *	one atomic step of the store (one locked step in memory, one Lua
 *	script in Redis). If a rule that enforces (tempfail or reject) is
 *	over its limit, the request is refused and no rule is charged: a
 *	refused request consumes no allowance. Otherwise every enforcing
 *	rule is charged one, and every log-only rule is charged when it is
 *	within its own limit, as it would be if it enforced. When several
 *	rules refuse, a reject wins over a tempfail, and among tempfails the
 *	one with the longest wait gives the reply. A message charged at MAIL
 *	FROM stays charged if the transaction later fails.
 *
 *	Each decision is noted on the message's log line: at MAIL FROM
 *	"ratelimit=NAME ok left=N" or "ratelimit=NAME over retry=Ts"
 *	(" (log only)" for a shadow rule that would have refused; " (not
 *	counted)" for a rule not charged because another refused). At RCPT
 *	TO the first "ok" and the first "over" of each rule are noted, with
 *	the recipient, and at end of message a count of the recipients
 *	refused or that a log-only rule would have refused.
 *
 *	State: the store outlives configuration snapshots. The in-memory
 *	store is one per process (rl_mem_shared()) and Redis pools are per
 *	process too (rl_redis_shared()), so a reload (SIGHUP) keeps every
 *	key's standing; the rules, the choice of store and its bounds come
 *	from the snapshot a message started with. A rule whose limit changes
 *	keeps its keys' TATs, which the new limit then reads.
 *
 *	When the Redis store cannot be reached the request is accepted with
 *	a note (redis_down_action = accept, the default) or refused with 451
 *	4.3.0 (tempfail). Any other internal failure returns -1: on_error.
 *
 *	The ratelimit_ctl_* functions answer mailwarden-ctl (see ctl.c) from
 *	the running snapshot: a key's standing, a reset, the rules, the
 *	store's statistics.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailwarden.h"
#include "config.h"
#include "clock.h"
#include "ratelimit.h"

#define RL_MAX_NAME	64		/* rule name */
#define RL_MAX_ITEMS	6		/* items in one key */
#define RL_MAX_KEY	4096		/* a composed key; the bounded inputs fit */

enum item {
	IT_SASL_USER, IT_SENDER, IT_SENDER_DOMAIN, IT_CLIENT_IP, IT_CLIENT_NET,
	IT_RCPT_DOMAIN, IT_COUNT
};
static const char *const item_names[IT_COUNT] = {
	"sasl_user", "sender", "sender_domain", "client_ip", "client_net", "rcpt_domain",
};

/* Word order as in the option table. */
enum action { ACT_TEMPFAIL, ACT_REJECT, ACT_LOG };
static const char *const action_names[] = {"tempfail", "reject", "log"};
enum dirs { DIRS_INBOUND, DIRS_OUTBOUND, DIRS_BOTH };
static const char *const dirs_names[] = {"inbound", "outbound", "both"};

struct rule {
	const char *name;		/* the section title, in the cfg tree */
	cfg_t  *sec;			/* except_users, except_domains */
	int	per_rcpt;		/* count = recipients */
	unsigned item[RL_MAX_ITEMS], nitem;
	long	rate, period;
	int64_t	interval, burst;	/* us, requests */
	int	dirs, action;
	struct cidr_list except_hosts;
};

struct rl_conf {
	struct rule rule[RL_MAX_BATCH];
	unsigned nrule;
	struct rl_mem *mem;		/* one of the two stores */
	struct rl_redis *rds;
	size_t	max_keys;
	int	down_tempfail;
};

/* Per-message state: which notes were written at RCPT, and counts. */
struct rl_state {
	uint32_t noted_ok, noted_over;	/* a bit per rule */
	int	noted_down;
	unsigned rcpt_refused, rcpt_shadow;
};

/* One decision being built: a request per rule that applies. */
struct batch {
	struct rl_req req[RL_MAX_BATCH];
	unsigned rule[RL_MAX_BATCH];
	size_t	off[RL_MAX_BATCH];	/* of each key in buf */
	unsigned n;
	char   *buf;
	size_t	len, cap;
};

/* ---------------------------------------------------------------- keys */

/* norm_copy - the value as given; -1 when empty or too long */
static int
norm_copy(const char *raw, char *out, size_t len)
{
	size_t	n = strlen(raw);

	if (n == 0 || n >= len)
		return -1;
	memcpy(out, raw, n + 1);
	return 0;
}

/* norm_lower - the value in lower case; -1 when empty or too long */
static int
norm_lower(const char *raw, char *out, size_t len)
{
	size_t	i;

	if (norm_copy(raw, out, len) < 0)
		return -1;
	for (i = 0; out[i]; i++)
		out[i] = (char) tolower((unsigned char) out[i]);
	return 0;
}

/* parse_ip - text address to binary; an IPv4-mapped IPv6 one becomes IPv4 */
static int
parse_ip(const char *raw, unsigned char *bin, int *family)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (inet_pton(AF_INET, raw, bin) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, raw, bin) != 1)
		return -1;
	*family = AF_INET6;
	if (memcmp(bin, mapped, 12) == 0) {
		memmove(bin, bin + 12, 4);
		*family = AF_INET;
	}
	return 0;
}

/* norm_ip - canonical text of an address */
static int
norm_ip(const char *raw, char *out, size_t len)
{
	unsigned char bin[16];
	int	family;

	if (parse_ip(raw, bin, &family) < 0)
		return -1;
	return inet_ntop(family, bin, out, (socklen_t) len) ? 0 : -1;
}

/* norm_net - "a.b.c.0/24" or "x:x:x:x::/64" around an address ("/N" ignored) */
static int
norm_net(const char *raw, char *out, size_t len)
{
	char	addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	size_t	n = strcspn(raw, "/");
	int	family;

	if (n >= sizeof(addr) || (raw[n] == '/' && strspn(raw + n + 1, "0123456789") != strlen(raw + n + 1)))
		return -1;
	memcpy(addr, raw, n);
	addr[n] = 0;
	if (parse_ip(addr, bin, &family) < 0)
		return -1;
	memset(bin + (family == AF_INET ? 3 : 8), 0, family == AF_INET ? 1 : 8);
	if (inet_ntop(family, bin, addr, sizeof(addr)) == NULL)
		return -1;
	return snprintf(out, len, "%s/%d", addr, family == AF_INET ? 24 : 64) < (int) len ? 0 : -1;
}

/* item_norm - the normalized value of one key item; -1 when not valid */
static int
item_norm(unsigned item, const char *raw, char *out, size_t len)
{
	switch (item) {
	case IT_SASL_USER:
		return norm_copy(raw, out, len);
	case IT_CLIENT_IP:
		return norm_ip(raw, out, len);
	case IT_CLIENT_NET:
		return norm_net(raw, out, len);
	default:
		return norm_lower(raw, out, len);
	}
}

/* domain_of - the part after the last '@', or NULL */
static const char *
domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at && at[1] ? at + 1 : NULL;
}

/* item_raw - one item of a message or recipient, as given; NULL: unknown */
static const char *
item_raw(const struct mw_msg *m, const char *rcpt, unsigned item)
{
	switch (item) {
	case IT_SASL_USER:
		return *m->auth_user ? m->auth_user : NULL;
	case IT_SENDER:
		return *m->mailfrom ? m->mailfrom : NULL;
	case IT_SENDER_DOMAIN:
		return domain_of(m->mailfrom);
	case IT_CLIENT_IP:
	case IT_CLIENT_NET:
		return m->conn->has_addr && *m->conn->addr ? m->conn->addr : NULL;
	default:
		return domain_of(rcpt);
	}
}

/* key_put - append s with '\' and '|' escaped; -1 when it does not fit */
static int
key_put(char *key, size_t *pos, size_t len, const char *s)
{
	for (; *s; s++) {
		if (*pos + 3 > len)
			return -1;
		if (*s == '\\' || *s == '|')
			key[(*pos)++] = '\\';
		key[(*pos)++] = *s;
	}
	key[*pos] = 0;
	return 0;
}

/* key_compose - "NAME|VALUE|..." from normalized values; length, or -1 */
static int
key_compose(const struct rule *r, char (*val)[RL_MAX_KEY / 4], char *key, size_t len)
{
	size_t	pos = 0;
	unsigned i;

	if (key_put(key, &pos, len, r->name) < 0)
		return -1;
	for (i = 0; i < r->nitem; i++) {
		if (pos + 2 > len)
			return -1;
		key[pos++] = '|';
		if (key_put(key, &pos, len, val[i]) < 0)
			return -1;
	}
	return (int) pos;
}

/* rule_key - the rule's key for a request; length, 0 when an item is unknown */
static int
rule_key(const struct rule *r, const struct mw_msg *m, const char *rcpt,
	 char *key, size_t len)
{
	char	val[RL_MAX_ITEMS][RL_MAX_KEY / 4];
	const char *raw;
	unsigned i;

	for (i = 0; i < r->nitem; i++)
		if ((raw = item_raw(m, rcpt, r->item[i])) == NULL
		    || item_norm(r->item[i], raw, val[i], sizeof(val[i])) < 0)
			return 0;
	return key_compose(r, val, key, len);
}

/* -------------------------------------------------------------- config */

/* rule_items - the key list; -1 after conf_error() */
static int
rule_items(cfg_t *sec, struct rule *r)
{
	unsigned i, j, seen = 0;

	for (i = 0; i < cfg_size(sec, "key"); i++) {
		const char *w = cfg_getnstr(sec, "key", i);

		for (j = 0; j < IT_COUNT && strcmp(item_names[j], w) != 0; j++)
			;
		if (j == IT_COUNT || (seen & (1u << j))) {
			conf_error(sec, "ratelimit \"%s\": key item \"%s\" is unknown or repeated", r->name, w);
			return -1;
		}
		seen |= 1u << j;
		r->item[r->nitem++] = j;
	}
	if (r->nitem == 0) {
		conf_error(sec, "ratelimit \"%s\": key must name at least one item", r->name);
		return -1;
	}
	if ((seen & (1u << IT_RCPT_DOMAIN)) && !r->per_rcpt) {
		conf_error(sec, "ratelimit \"%s\": key rcpt_domain needs count = recipients", r->name);
		return -1;
	}
	return 0;
}

/* rule_limit - rate, period and burst as GCRA's interval and burst */
static int
rule_limit(cfg_t *sec, struct rule *r)
{
	long	burst = cfg_getint(sec, "burst");
	int64_t	period_us;

	r->rate = cfg_getint(sec, "rate");
	r->period = cfg_getint(sec, "period");
	period_us = (int64_t) r->period * 1000000;
	if (r->rate < 1 || r->rate > period_us) {
		conf_error(sec, "ratelimit \"%s\": rate %ld per %ld s is more than one per microsecond",
			   r->name, r->rate, r->period);
		return -1;
	}
	r->interval = (period_us + r->rate - 1) / r->rate;	/* never above the rate */
	r->burst = burst > 0 ? burst : r->rate;
	if (r->burst > RL_MAX_WINDOW / r->interval) {
		conf_error(sec, "ratelimit \"%s\": burst %lld at %ld per %ld s takes more than "
			   "10 years to refill; lower burst or period", r->name,
			   (long long) r->burst, r->rate, r->period);
		return -1;
	}
	return 0;
}

/* rule_hosts - except_hosts as a network list */
static int
rule_hosts(cfg_t *sec, struct rule *r)
{
	struct cidr net;
	char	err[256];
	unsigned i;

	for (i = 0; i < cfg_size(sec, "except_hosts"); i++)
		if (cidr_parse(cfg_getnstr(sec, "except_hosts", i), &net, err, sizeof(err)) < 0
		    || cidr_list_add(&r->except_hosts, &net) < 0) {
			conf_error(sec, "ratelimit \"%s\": except_hosts: %s", r->name, err);
			return -1;
		}
	return 0;
}

/* name_ok - a rule name: 1..64 of letters, digits and "._-@:/" */
static int
name_ok(const char *name)
{
	size_t	n = strlen(name);

	return n > 0 && n <= RL_MAX_NAME
	    && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-@:/") == n;
}

/* rule_load - one ratelimit section; -1 after conf_error() */
static int
rule_load(cfg_t *sec, struct rule *r)
{
	int	bad = 0;

	r->sec = sec;
	r->name = cfg_title(sec) ? cfg_title(sec) : "";
	r->per_rcpt = conf_enum(sec, "count") == 1;
	r->dirs = conf_enum(sec, "direction");
	r->action = conf_enum(sec, "action");
	if (!name_ok(r->name)) {
		conf_error(sec, "ratelimit \"%.100s\": a name is 1 to %d letters, digits or ._-@:/",
			   r->name, RL_MAX_NAME);
		bad = 1;
	}
	bad |= rule_items(sec, r) < 0;
	bad |= rule_limit(sec, r) < 0;
	bad |= rule_hosts(sec, r) < 0;
	return bad ? -1 : 0;
}

/* store_load - the store this snapshot uses; -1 after conf_error_opt() */
static int
store_load(cfg_t *cfg, struct rl_conf *rc)
{
	char	err[256];

	rc->max_keys = (size_t) cfg_getint(cfg, "ratelimit_max_keys");
	rc->down_tempfail = conf_enum(cfg, "redis_down_action") == 1;
	if (conf_enum(cfg, "ratelimit_store") == 1) {
		rc->rds = rl_redis_shared(cfg_getstr(cfg, "redis_server"),
					  (int) cfg_getint(cfg, "redis_timeout"), err, sizeof(err));
		if (rc->rds == NULL) {
			conf_error_opt("redis_server", "%s", err);
			return -1;
		}
	} else if ((rc->mem = rl_mem_shared()) == NULL) {
		conf_error_opt("ratelimit_store", "cannot allocate the in-memory store");
		return -1;
	}
	return 0;
}

/* ratelimit_conf_free - release a snapshot's rules; the store stays */
static void
ratelimit_conf_free(void *data)
{
	struct rl_conf *rc = data;
	unsigned i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->nrule; i++)
		cidr_list_free(&rc->rule[i].except_hosts);
	free(rc);
}

/* ratelimit_conf_load - the rules of a snapshot; NULL data when none */
static int
ratelimit_conf_load(cfg_t *cfg, struct mw_conf *conf, void **data)
{
	unsigned i, n = cfg_size(cfg, "ratelimit");
	struct rl_conf *rc;
	int	bad = 0;

	(void) conf;
	*data = NULL;
	if (n == 0)
		return 0;
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return -1;
	*data = rc;
	if (n > RL_MAX_BATCH) {
		conf_error(cfg_getnsec(cfg, "ratelimit", RL_MAX_BATCH),
			   "at most %d ratelimit sections", RL_MAX_BATCH);
		return -1;
	}
	for (i = 0; i < n; i++)
		bad |= rule_load(cfg_getnsec(cfg, "ratelimit", i), &rc->rule[rc->nrule++]) < 0;
	bad |= store_load(cfg, rc) < 0;
	return bad ? -1 : 0;
}

/* ----------------------------------------------------------- decisions */

/* domain_in - d is pat or a subdomain of it, ignoring case */
static int
domain_in(const char *d, const char *pat)
{
	size_t	dl = strlen(d), pl = strlen(pat);

	return strcasecmp(d, pat) == 0
	    || (dl > pl && d[dl - pl - 1] == '.' && strcasecmp(d + dl - pl, pat) == 0);
}

/* rule_excepted - does one of the rule's exceptions match? */
static int
rule_excepted(const struct rule *r, const struct mw_msg *m)
{
	const char *d = domain_of(m->mailfrom);
	unsigned i;

	if (m->conn->has_addr
	    && cidr_list_match(&r->except_hosts, (const struct sockaddr *) &m->conn->ss))
		return 1;
	for (i = 0; *m->auth_user && i < cfg_size(r->sec, "except_users"); i++)
		if (strcmp(m->auth_user, cfg_getnstr(r->sec, "except_users", i)) == 0)
			return 1;
	for (i = 0; d && i < cfg_size(r->sec, "except_domains"); i++)
		if (domain_in(d, cfg_getnstr(r->sec, "except_domains", i)))
			return 1;
	return 0;
}

/* rule_applies - right stage, right direction, no exception */
static int
rule_applies(const struct rule *r, const struct mw_msg *m, int per_rcpt)
{
	if (r->per_rcpt != per_rcpt)
		return 0;
	if (r->dirs != DIRS_BOTH && (r->dirs == DIRS_OUTBOUND) != (m->dir == MW_DIR_OUTBOUND))
		return 0;
	return !rule_excepted(r, m);
}

/* batch_add - one rule's request; -1 when out of memory */
static int
batch_add(struct batch *b, unsigned idx, const struct rule *r, const char *key, size_t klen)
{
	struct rl_req *q = &b->req[b->n];

	if (b->len + klen > b->cap) {
		size_t	cap = b->cap ? b->cap * 2 : 1024;
		char   *p;

		while (cap < b->len + klen)
			cap *= 2;
		if ((p = realloc(b->buf, cap)) == NULL)
			return -1;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, key, klen);
	memset(q, 0, sizeof(*q));
	q->keylen = klen;
	q->interval = r->interval;
	q->burst = r->burst;
	q->soft = r->action == ACT_LOG;
	b->off[b->n] = b->len;
	b->rule[b->n++] = idx;
	b->len += klen;
	return 0;
}

/* batch_collect - the requests of every rule that applies; -1 on failure */
static int
batch_collect(const struct rl_conf *rc, const struct mw_msg *m, const char *rcpt,
	      struct batch *b)
{
	char	key[RL_MAX_KEY];
	unsigned i;
	int	klen;

	for (i = 0; i < rc->nrule; i++) {
		if (!rule_applies(&rc->rule[i], m, rcpt != NULL))
			continue;
		if ((klen = rule_key(&rc->rule[i], m, rcpt, key, sizeof(key))) < 0)
			return -1;
		if (klen > 0 && batch_add(b, i, &rc->rule[i], key, (size_t) klen) < 0)
			return -1;
	}
	for (i = 0; i < b->n; i++)
		b->req[i].key = b->buf + b->off[i];
	return 0;
}

/* state_of - the message's rate-limit state, made on first use; NULL: no memory */
static struct rl_state *
state_of(struct mw_msg *m)
{
	if (m->stage[MW_STAGE_RATELIMIT] == NULL)
		m->stage[MW_STAGE_RATELIMIT] = calloc(1, sizeof(struct rl_state));
	return m->stage[MW_STAGE_RATELIMIT];
}

/* store_down - the store could not decide: the configured answer */
static int
store_down(const struct rl_conf *rc, struct mw_msg *m, const char *rcpt,
	   const char *err, struct mw_reply *r)
{
	struct rl_state *st = rcpt ? state_of(m) : NULL;

	if (st == NULL || !st->noted_down)
		msg_note(m, "ratelimit=unavailable (%s), %s", err,
			 rc->down_tempfail ? "tempfail" : "accepted");
	if (st)
		st->noted_down = 1;
	if (rc->down_tempfail)
		reply_set(r, MW_TEMPFAIL, "451", "4.3.0",
			  "Rate limit service unavailable, try again later");
	return 0;
}

/* secs - microseconds as "S.Ts", rounded up to the tenth */
static const char *
secs(int64_t us, char *buf, size_t len)
{
	int64_t	tenths = (us + 99999) / 100000;

	snprintf(buf, len, "%lld.%llds", (long long) (tenths / 10), (long long) (tenths % 10));
	return buf;
}

/* note_decision - one rule's decision on the log line (once per message at RCPT) */
static void
note_decision(struct mw_msg *m, const char *rcpt, struct rl_state *st, unsigned idx,
	      const struct rule *r, const struct rl_req *q)
{
	uint32_t *seen = st ? (q->allowed ? &st->noted_ok : &st->noted_over) : NULL;
	char	t[32];

	if (seen && (*seen & (1u << idx)))
		return;
	if (seen)
		*seen |= 1u << idx;
	if (q->allowed)
		msg_note(m, "ratelimit=%s ok left=%lld%s%s%s%s", r->name, (long long) q->remaining,
			 rcpt ? " rcpt=<" : "", rcpt ? rcpt : "", rcpt ? ">" : "",
			 q->charged ? "" : " (not counted)");
	else
		msg_note(m, "ratelimit=%s over retry=%s%s%s%s%s", r->name, secs(q->retry, t, sizeof(t)),
			 rcpt ? " rcpt=<" : "", rcpt ? rcpt : "", rcpt ? ">" : "",
			 q->soft ? " (log only)" : "");
}

/* refusal_better - should refusal a give the reply rather than b? */
static int
refusal_better(const struct rule *ra, const struct rl_req *a,
	       const struct rule *rb, const struct rl_req *b)
{
	if ((ra->action == ACT_REJECT) != (rb->action == ACT_REJECT))
		return ra->action == ACT_REJECT;
	return a->retry > b->retry;
}

/* refuse - the SMTP answer of the rule that refused */
static void
refuse(const struct rule *r, const struct rl_req *q, struct mw_reply *rep)
{
	if (r->action == ACT_REJECT)
		reply_set(rep, MW_REJECT, "550", "5.7.1", "Rate limit \"%s\" exceeded", r->name);
	else
		reply_set(rep, MW_TEMPFAIL, "451", "4.7.1",
			  "Rate limit \"%s\" exceeded, try again in %lld seconds", r->name,
			  (long long) ((q->retry + 999999) / 1000000));
}

/* batch_answer - note every decision and answer for the deciding refusal */
static int
batch_answer(const struct rl_conf *rc, struct mw_msg *m, const char *rcpt,
	     const struct batch *b, struct mw_reply *r)
{
	struct rl_state *st = rcpt ? state_of(m) : NULL;
	int	worst = -1, shadow = 0;
	unsigned i;

	for (i = 0; i < b->n; i++) {
		const struct rule *ru = &rc->rule[b->rule[i]];
		const struct rl_req *q = &b->req[i];

		note_decision(m, rcpt, st, b->rule[i], ru, q);
		shadow |= !q->allowed && q->soft;
		if (!q->allowed && !q->soft && (worst < 0
		    || refusal_better(ru, q, &rc->rule[b->rule[worst]], &b->req[worst])))
			worst = (int) i;
	}
	if (st && worst >= 0)
		st->rcpt_refused++;
	else if (st && shadow)
		st->rcpt_shadow++;
	if (worst >= 0)
		refuse(&rc->rule[b->rule[worst]], &b->req[worst], r);
	return 0;
}

/* store_decide - ask the snapshot's store; 0, -1 Redis unreachable, -2 no memory */
static int
store_decide(const struct rl_conf *rc, struct batch *b, char *err, size_t errlen)
{
	if (rc->rds)
		return rl_redis_decide(rc->rds, b->req, b->n, err, errlen) < 0 ? -1 : 0;
	return rl_mem_decide(rc->mem, b->req, b->n, clock_now_us(), rc->max_keys) < 0 ? -2 : 0;
}

/* decide - one message (rcpt NULL) or one recipient against every rule */
static int
decide(struct mw_msg *m, const char *rcpt, struct mw_reply *r)
{
	const struct rl_conf *rc = m->conf->stage[MW_STAGE_RATELIMIT];
	struct batch b;
	char	err[256];
	int	rv = 0;

	if (rc == NULL)
		return 0;
	b.n = 0;
	b.buf = NULL;
	b.len = b.cap = 0;
	if (batch_collect(rc, m, rcpt, &b) < 0) {
		msg_note(m, "ratelimit=error (out of memory)");
		rv = -1;
	} else if (b.n > 0) {
		switch (store_decide(rc, &b, err, sizeof(err))) {
		case 0:
			rv = batch_answer(rc, m, rcpt, &b, r);
			break;
		case -1:
			rv = store_down(rc, m, rcpt, err, r);
			break;
		default:
			msg_note(m, "ratelimit=error (store out of memory)");
			rv = -1;
		}
	}
	free(b.buf);
	return rv;
}

/* ratelimit_mail - message rules, at MAIL FROM */
static int
ratelimit_mail(struct mw_msg *m, struct mw_reply *r)
{
	return decide(m, NULL, r);
}

/* ratelimit_rcpt - recipient rules, at each RCPT TO */
static int
ratelimit_rcpt(struct mw_msg *m, const char *rcpt, struct mw_reply *r)
{
	return decide(m, rcpt, r);
}

/* ratelimit_eom - the recipients' tally on the log line */
static int
ratelimit_eom(struct mw_msg *m, struct mw_reply *r)
{
	struct rl_state *st = m->stage[MW_STAGE_RATELIMIT];

	(void) r;
	if (st && (st->rcpt_refused || st->rcpt_shadow))
		msg_note(m, "ratelimit recipients refused=%u log-only-over=%u",
			 st->rcpt_refused, st->rcpt_shadow);
	return 0;
}

/* ratelimit_msg_end - free the per-message state; safe twice */
static void
ratelimit_msg_end(struct mw_msg *m)
{
	free(m->stage[MW_STAGE_RATELIMIT]);
	m->stage[MW_STAGE_RATELIMIT] = NULL;
}

const struct mw_stage stage_ratelimit = {
	.name = "ratelimit",
	.conf_load = ratelimit_conf_load,
	.conf_free = ratelimit_conf_free,
	.mail = ratelimit_mail,
	.rcpt = ratelimit_rcpt,
	.eom = ratelimit_eom,
	.msg_end = ratelimit_msg_end,
};

/* ------------------------------------------------------ mailwarden-ctl */

/* ctl_conf - the snapshot's rules; NULL with the reason in out */
static const struct rl_conf *
ctl_conf(struct mw_conf *conf, char *out, size_t len)
{
	const struct rl_conf *rc = conf ? conf->stage[MW_STAGE_RATELIMIT] : NULL;

	if (rc == NULL)
		snprintf(out, len, "the running configuration has no ratelimit rules");
	return rc;
}

/* ctl_rule - the rule of that name; NULL with the reason in out */
static const struct rule *
ctl_rule(const struct rl_conf *rc, const char *name, char *out, size_t len)
{
	unsigned i;

	for (i = 0; i < rc->nrule; i++)
		if (strcmp(rc->rule[i].name, name) == 0)
			return &rc->rule[i];
	snprintf(out, len, "no ratelimit rule \"%.100s\" in the running configuration", name);
	return NULL;
}

/* ctl_items - "sasl_user client_ip": what a rule counts by */
static const char *
ctl_items(const struct rule *r, char *buf, size_t len)
{
	size_t	pos = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < r->nitem && pos < len; i++)
		pos += (size_t) snprintf(buf + pos, len - pos, "%s%s", i ? "," : "",
					 item_names[r->item[i]]);
	return buf;
}

/* ctl_key - a rule's key from the admin's values; length, or -1 with out */
static int
ctl_key(const struct rule *r, int argc, char **argv, char *key, size_t klen,
	char *out, size_t len)
{
	char	val[RL_MAX_ITEMS][RL_MAX_KEY / 4], items[128];
	int	i, n;

	if (argc != (int) r->nitem) {
		snprintf(out, len, "rule %s counts by %s: give %u value%s", r->name,
			 ctl_items(r, items, sizeof(items)), r->nitem, r->nitem == 1 ? "" : "s");
		return -1;
	}
	for (i = 0; i < argc; i++)
		if (item_norm(r->item[i], argv[i], val[i], sizeof(val[i])) < 0) {
			snprintf(out, len, "\"%.200s\" is not a valid %s", argv[i], item_names[r->item[i]]);
			return -1;
		}
	if ((n = key_compose(r, val, key, klen)) < 0)
		snprintf(out, len, "key too long");
	return n;
}

/* ctl_standing - a key's TAT and the store's time; -1 with out */
static int
ctl_standing(const struct rl_conf *rc, const char *key, size_t klen, int64_t *tat,
	     int64_t *now, char *out, size_t len)
{
	char	err[256];

	if (rc->rds) {
		if (rl_redis_get(rc->rds, key, klen, tat, now, err, sizeof(err)) < 0) {
			snprintf(out, len, "%s", err);
			return -1;
		}
		return 0;
	}
	*now = clock_now_us();
	*tat = rl_mem_get(rc->mem, key, klen);
	return 0;
}

/* ctl_describe - "rule=... key=... available=..." of a key's standing */
static void
ctl_describe(const struct rule *r, const char *key, int64_t tat, int64_t now,
	     char *out, size_t len)
{
	struct rl_gcra g;
	int64_t	avail = rl_gcra_available(tat, now, r->interval, r->burst);
	char	t1[32], t2[32];

	rl_gcra_eval(tat, now, r->interval, r->burst, &g);
	snprintf(out, len, "rule=%s key=%s limit=%ld/%lds burst=%lld available=%lld used=%lld "
		 "next_in=%s full_in=%s\n", r->name, key + strcspn(key, "|") + 1, r->rate,
		 r->period, (long long) r->burst, (long long) avail,
		 (long long) (r->burst - avail), secs(g.retry, t1, sizeof(t1)),
		 secs(tat > now ? tat - now : 0, t2, sizeof(t2)));
}

/* ratelimit_ctl_show - "show RULE VALUE...": a key's standing */
int
ratelimit_ctl_show(struct mw_conf *conf, int argc, char **argv, char *out, size_t len)
{
	const struct rl_conf *rc;
	const struct rule *r;
	char	key[RL_MAX_KEY];
	int64_t	tat, now;
	int	klen;

	if ((rc = ctl_conf(conf, out, len)) == NULL || (r = ctl_rule(rc, argv[1], out, len)) == NULL
	    || (klen = ctl_key(r, argc - 2, argv + 2, key, sizeof(key), out, len)) < 0
	    || ctl_standing(rc, key, (size_t) klen, &tat, &now, out, len) < 0)
		return -1;
	ctl_describe(r, key, tat, now, out, len);
	return 0;
}

/* ratelimit_ctl_reset - "reset RULE VALUE...": the key starts over */
int
ratelimit_ctl_reset(struct mw_conf *conf, int argc, char **argv, char *out, size_t len)
{
	const struct rl_conf *rc;
	const struct rule *r;
	char	key[RL_MAX_KEY], err[256];
	int64_t	tat, now;
	int	klen, rv;

	if ((rc = ctl_conf(conf, out, len)) == NULL || (r = ctl_rule(rc, argv[1], out, len)) == NULL
	    || (klen = ctl_key(r, argc - 2, argv + 2, key, sizeof(key), out, len)) < 0
	    || ctl_standing(rc, key, (size_t) klen, &tat, &now, out, len) < 0)
		return -1;
	rv = rc->rds ? rl_redis_reset(rc->rds, key, (size_t) klen, err, sizeof(err))
	    : rl_mem_reset(rc->mem, key, (size_t) klen);
	if (rv < 0) {
		snprintf(out, len, "%s", err);
		return -1;
	}
	snprintf(out, len, "rule=%s key=%s reset: it had used %lld of %lld\n", r->name,
		 key + strcspn(key, "|") + 1,
		 (long long) (r->burst - rl_gcra_available(tat, now, r->interval, r->burst)),
		 (long long) r->burst);
	return 0;
}

/* ratelimit_ctl_rules - "rules": one line per rule */
int
ratelimit_ctl_rules(struct mw_conf *conf, int argc, char **argv, char *out, size_t len)
{
	const struct rl_conf *rc;
	char	items[128];
	size_t	pos = 0;
	unsigned i;

	(void) argc;
	(void) argv;
	if ((rc = ctl_conf(conf, out, len)) == NULL)
		return -1;
	out[0] = 0;
	for (i = 0; i < rc->nrule && pos < len; i++) {
		const struct rule *r = &rc->rule[i];

		pos += (size_t) snprintf(out + pos, len - pos, "rule=%s count=%s key=%s limit=%ld/%lds "
					 "burst=%lld direction=%s action=%s\n", r->name,
					 r->per_rcpt ? "recipients" : "messages",
					 ctl_items(r, items, sizeof(items)), r->rate, r->period,
					 (long long) r->burst, dirs_names[r->dirs],
					 action_names[r->action]);
	}
	return 0;
}

/* ratelimit_ctl_stats - "stats": the store */
int
ratelimit_ctl_stats(struct mw_conf *conf, int argc, char **argv, char *out, size_t len)
{
	const struct rl_conf *rc;
	struct rl_mem_stats st;
	char	buf[512];

	(void) argc;
	(void) argv;
	if ((rc = ctl_conf(conf, out, len)) == NULL)
		return -1;
	if (rc->rds) {
		rl_redis_status(rc->rds, buf, sizeof(buf));
		snprintf(out, len, "store=redis %s\n", buf);
		return 0;
	}
	rl_mem_stats(rc->mem, clock_now_us(), &st);
	snprintf(out, len, "store=memory keys=%zu live=%zu max_keys=%zu slots=%zu bytes=%zu "
		 "evictions=%llu\n", st.keys, st.live, rc->max_keys, st.slots, st.bytes,
		 (unsigned long long) st.evictions);
	return 0;
}
