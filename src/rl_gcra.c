/*
 * NAME
 *	rl_gcra.c - the generic cell rate algorithm
 * SYNOPSIS
 *	#include "ratelimit.h"
 *
 *	void rl_gcra_eval(tat, now, interval, burst, result)
 *
 *	int rl_gcra_batch(req, n, tat, now)
 *
 *	int64_t rl_gcra_available(tat, now, interval, burst)
 * DESCRIPTION
 *	A limit of RATE per PERIOD with a burst B is an emission interval
 *	T = PERIOD / RATE and a tolerance: a key may run at most B*T ahead
 *	of the clock. Each key keeps one number, its theoretical arrival
 *	time (TAT). A request at time now is allowed when
 *
 *		max(TAT, now) + T - B*T <= now
 *
 *	and, when counted, sets TAT to max(TAT, now) + T. So a key at rest
 *	may send B at once, then one per T; there is no window whose edge
 *	lets twice the rate through, the state is constant per key, and one
 *	decision is a few additions. This is a token bucket of size B that
 *	refills one token per T, kept as a single time.
 *
 *	rl_gcra_eval() decides one request of one key. rl_gcra_batch()
 *	decides the requests of several rules together, all or nothing: if
 *	any rule that enforces (not soft) refuses, nothing is charged;
 *	otherwise every enforcing rule is charged, and each soft (log-only)
 *	rule is charged when it is within its own limit, as if it enforced
 *	alone. The new TATs are written back into tat[] for the caller to
 *	store. rl_gcra_available() tells how many requests a stored TAT
 *	still allows now.
 *
 *	The Redis store runs the same arithmetic in Lua (rl_redis.c); keep
 *	them in step.
 */
#include "autoconf.h"

#include <stdint.h>

#include "ratelimit.h"

/* rl_gcra_eval - one request of one key */
void
rl_gcra_eval(int64_t tat, int64_t now, int64_t t, int64_t b, struct rl_gcra *g)
{
	int64_t	at;

	if (tat < now)
		tat = now;
	g->tat = tat + t;
	at = g->tat - b * t;		/* the earliest time this request fits */
	if (now >= at) {
		g->allowed = 1;
		g->remaining = (now - at) / t;
		g->retry = 0;
	} else {
		g->allowed = 0;
		g->remaining = 0;
		g->retry = at - now;
	}
}

/* rl_gcra_batch - decide n requests together; 1 when refused, else 0 */
int
rl_gcra_batch(struct rl_req *req, unsigned n, int64_t *tat, int64_t now)
{
	struct rl_gcra g[RL_MAX_BATCH];
	unsigned i;
	int	refused = 0;

	if (n > RL_MAX_BATCH)
		n = RL_MAX_BATCH;
	for (i = 0; i < n; i++) {
		rl_gcra_eval(tat[i], now, req[i].interval, req[i].burst, &g[i]);
		req[i].allowed = g[i].allowed;
		req[i].remaining = g[i].remaining;
		req[i].retry = g[i].retry;
		req[i].charged = 0;
		if (!g[i].allowed && !req[i].soft)
			refused = 1;
	}
	for (i = 0; i < n && !refused; i++) {
		if (g[i].allowed) {
			req[i].charged = 1;
			tat[i] = g[i].tat;
		}
	}
	return refused;
}

/* rl_gcra_available - requests a key with this TAT may make now */
int64_t
rl_gcra_available(int64_t tat, int64_t now, int64_t t, int64_t b)
{
	int64_t	ahead;

	if (tat <= now)
		return b;
	ahead = (tat - now + t - 1) / t;	/* intervals the key is ahead, rounded up */
	return ahead >= b ? 0 : b - ahead;
}
