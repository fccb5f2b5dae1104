/*
 * NAME
 *	ratelimit.h - rate limiting: algorithm, stores, stage, control
 * SYNOPSIS
 *	#include "ratelimit.h"
 * DESCRIPTION
 *	rl_gcra.c decides requests with the generic cell rate algorithm;
 *	rl_mem.c keeps the state of each key in this process, rl_redis.c in a
 *	Redis server that several MTAs share; ratelimit.c is the pipeline
 *	stage that turns a message into the keys of its rules and asks the
 *	store, and answers mailwarden-ctl's commands (ctl.c).
 *
 *	Time is in microseconds. The state of a key is one number, its
 *	theoretical arrival time (TAT): a key whose TAT is not in the future
 *	is at rest and has its whole burst; a stored TAT that is in the past
 *	carries no information and may be dropped at any time.
 */
#ifndef MW_RATELIMIT_H
#define MW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct mw_conf;

#define RL_MAX_BATCH	32		/* rules decided together; = rules a config may hold */
#define RL_MAX_WINDOW	(INT64_C(10) * 366 * 86400 * 1000000)	/* burst x interval */

/* One request against one key, as a store decides it. */
struct rl_req {
	const char *key;		/* the rule's key, as ratelimit.c composes it */
	size_t	keylen;
	int64_t	interval;		/* emission interval: period / rate, in us */
	int64_t	burst;			/* most requests at once from a key at rest */
	int	soft;			/* a log-only rule: it never refuses */
	/* Results. */
	int	allowed;		/* the request is within this key's limit */
	int	charged;		/* it was counted against the key */
	int64_t	remaining;		/* requests still allowed now, after this one */
	int64_t	retry;			/* us until one would be allowed; 0 if allowed */
};

/* rl_gcra.c: one key's arithmetic, and the all-or-nothing rule. */
struct rl_gcra {
	int	allowed;
	int64_t	tat;			/* the key's TAT once this request is counted */
	int64_t	remaining;
	int64_t	retry;
};

void	rl_gcra_eval(int64_t tat, int64_t now, int64_t interval, int64_t burst,
		     struct rl_gcra *);
int	rl_gcra_batch(struct rl_req *, unsigned n, int64_t *tat, int64_t now);
int64_t	rl_gcra_available(int64_t tat, int64_t now, int64_t interval, int64_t burst);

/* rl_mem.c: the in-process store. */
struct rl_mem;
struct rl_mem_stats {
	size_t	keys;			/* entries held */
	size_t	live;			/* of them, not at rest */
	size_t	slots;			/* hash slots allocated */
	size_t	bytes;			/* memory of the slots */
	uint64_t evictions;		/* entries dropped to make room */
};

struct rl_mem *rl_mem_new(void);
struct rl_mem *rl_mem_shared(void);
void	rl_mem_free(struct rl_mem *);
int	rl_mem_decide(struct rl_mem *, struct rl_req *, unsigned n, int64_t now,
		      size_t max_keys);
int64_t	rl_mem_get(struct rl_mem *, const char *key, size_t keylen);
int	rl_mem_reset(struct rl_mem *, const char *key, size_t keylen);
void	rl_mem_stats(struct rl_mem *, int64_t now, struct rl_mem_stats *);

/* rl_redis.c: the Redis store. */
struct rl_redis;

struct rl_redis *rl_redis_shared(const char *server, int timeout_ms,
				 char *err, size_t errlen);
int	rl_redis_decide(struct rl_redis *, struct rl_req *, unsigned n,
			char *err, size_t errlen);
int	rl_redis_get(struct rl_redis *, const char *key, size_t keylen,
		     int64_t *tat, int64_t *now, char *err, size_t errlen);
int	rl_redis_reset(struct rl_redis *, const char *key, size_t keylen,
		       char *err, size_t errlen);
void	rl_redis_status(struct rl_redis *, char *buf, size_t len);

/* ratelimit.c: mailwarden-ctl commands; 0, or -1 with the error in out. */
typedef int (*ratelimit_ctl_fn)(struct mw_conf *, int argc, char **argv,
				char *out, size_t outlen);
int	ratelimit_ctl_show(struct mw_conf *, int, char **, char *, size_t);
int	ratelimit_ctl_reset(struct mw_conf *, int, char **, char *, size_t);
int	ratelimit_ctl_rules(struct mw_conf *, int, char **, char *, size_t);
int	ratelimit_ctl_stats(struct mw_conf *, int, char **, char *, size_t);

#endif
