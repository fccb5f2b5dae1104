/*
 * NAME
 *	rl_bench - decisions per second of the rate-limit stores
 * SYNOPSIS
 *	rl_bench [-n decisions] [-t threads] [-k keys] [-r rules] [-R host:port]
 * DESCRIPTION
 *	Times rl_mem_decide() (or, with -R, rl_redis_decide() against that
 *	Redis server: one round trip per decision) on keys shaped like the
 *	daemon's ("per-user|user1234@example.com"), spread over -k distinct
 *	keys, -r rules per decision, from -t threads at once, and prints
 *	decisions per second. Not run by make check; bench/rl_bench.sh runs
 *	the usual set, with a private redis-server.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ratelimit.h"

struct job {
	struct rl_mem *mem;
	struct rl_redis *rds;
	long	n, keys, rules, seed;
	long	allowed;
	int	failed;
};

/* job_run - n decisions of rules requests each */
static void *
job_run(void *arg)
{
	struct job *j = arg;
	struct rl_req q[RL_MAX_BATCH];
	char	key[RL_MAX_BATCH][80], err[256];
	unsigned long x = (unsigned long) j->seed * 2654435761UL + 1;
	long	i, r;

	for (i = 0; i < j->n; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		for (r = 0; r < j->rules; r++) {
			memset(&q[r], 0, sizeof(q[r]));
			q[r].keylen = (size_t) snprintf(key[r], sizeof(key[r]), "rule%ld|user%lu@example.com",
							r, (x >> 33) % (unsigned long) j->keys);
			q[r].key = key[r];
			q[r].interval = 1000;	/* 1000 a second, burst 100000: mostly allowed */
			q[r].burst = 100000;
		}
		if (j->rds ? rl_redis_decide(j->rds, q, (unsigned) j->rules, err, sizeof(err))
		    : rl_mem_decide(j->mem, q, (unsigned) j->rules, clock_now_us(), 1000000)) {
			fprintf(stderr, "rl_bench: %s\n", j->rds ? err : "store out of memory");
			j->failed = 1;
			return NULL;
		}
		j->allowed += q[0].allowed;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct job proto = {NULL, NULL, 1000000, 10000, 1, 0, 0, 0}, job[64];
	pthread_t tid[64];
	const char *redis = NULL;
	char	err[256];
	long	threads = 1, t;
	int64_t	t0, t1;
	int	ch;

	while ((ch = getopt(argc, argv, "n:t:k:r:R:")) != -1) {
		switch (ch) {
		case 'n': proto.n = atol(optarg); break;
		case 't': threads = atol(optarg); break;
		case 'k': proto.keys = atol(optarg); break;
		case 'r': proto.rules = atol(optarg); break;
		case 'R': redis = optarg; break;
		default:
			fprintf(stderr, "usage: rl_bench [-n decisions] [-t threads] [-k keys] "
				"[-r rules] [-R host:port]\n");
			return 64;
		}
	}
	if (threads < 1 || threads > 64 || proto.rules < 1 || proto.rules > RL_MAX_BATCH
	    || proto.keys < 1 || proto.n < 1)
		return 64;
	if (redis && (proto.rds = rl_redis_shared(redis, 1000, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rl_bench: %s\n", err);
		return 1;
	}
	if (!redis && (proto.mem = rl_mem_new()) == NULL)
		return 1;
	t0 = clock_now_us();
	for (t = 0; t < threads; t++) {
		job[t] = proto;
		job[t].seed = t + 1;
		pthread_create(&tid[t], NULL, job_run, &job[t]);
	}
	for (t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		if (job[t].failed)
			return 1;
	}
	t1 = clock_now_us();
	printf("store=%s threads=%ld rules=%ld keys=%ld decisions=%ld seconds=%.3f "
	       "decisions_per_second=%.0f\n", redis ? "redis" : "memory", threads, proto.rules,
	       proto.keys, proto.n * threads, (double) (t1 - t0) / 1e6,
	       (double) proto.n * (double) threads * 1e6 / (double) (t1 - t0));
	return 0;
}
