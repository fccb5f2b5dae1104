/*
 * NAME
 *	dns_int.h - the resolver's inner modules
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	Only dns*.c and the unit tests include this. The resolver (dns.c)
 *	is built from:
 *	dns_wire.c	building queries, checking and reading replies;
 *	dns_net.c	one exchange with the servers over UDP, then TCP when
 *			the reply is truncated, bounded by a deadline;
 *	dns_cache.c	raw replies by (name, type) for their TTL;
 *	dns_clock.c	the cache's clock (a separate object so that unit
 *			tests can replace it with -Wl,--wrap=dns_clock_now);
 *	dns_conf.c	the server list: dns_servers, or resolv.conf.
 */
#ifndef MW_DNS_INT_H
#define MW_DNS_INT_H

#include <stddef.h>
#include <time.h>
#include <sys/socket.h>

#define DNS_MAX_SERVERS	8		/* dns_servers entries, nameserver lines */
#define DNS_MAX_NAME	255		/* presentation form, without the final dot */
#define DNS_MAX_PACKET	65535		/* largest reply (TCP) */
#define DNS_HDR		12		/* fixed header */

/* Cache bounds beside the configured entry count. */
#define DNS_CACHE_MAX_TTL	86400	/* a positive answer is kept at most a day */
#define DNS_CACHE_MAX_NEG_TTL	3600	/* NXDOMAIN/NODATA at most an hour (RFC 2308 §5) */
#define DNS_CACHE_MAX_ANSWER	8192	/* larger replies are not kept */
#define DNS_CACHE_AVG_BYTES	1024	/* byte bound: entries x this */

/* dns_conf.c */
struct dns_server {
	struct sockaddr_storage ss;
	socklen_t len;
};
int	dns_conf_server(const char *text, struct dns_server *, char *err, size_t);
int	dns_conf_resolvconf(const char *path, struct dns_server *, unsigned max,
			    char *err, size_t);
void	dns_conf_print(const struct dns_server *, char *buf, size_t);

/* dns_wire.c: sections 1 answer, 2 authority, 3 additional */
struct dns_rr {
	int	type;
	int	class;
	unsigned ttl;
	const unsigned char *rdata;
	unsigned rdlen;
};
struct dns_iter {
	const unsigned char *msg, *end, *p;
	unsigned left[4];		/* records left per section */
	unsigned sect;			/* section of the next record */
};
int	dns_wire_iter(struct dns_iter *, const unsigned char *a, size_t alen);
int	dns_wire_next(struct dns_iter *, unsigned section, struct dns_rr *);
int	dns_wire_key(const char *name, char *key, size_t keylen);
int	dns_wire_query(const char *name, int type, unsigned id,
		       unsigned char *buf, size_t buflen);
int	dns_wire_isreply(const unsigned char *q, size_t qlen,
			 const unsigned char *a, size_t alen);
int	dns_wire_rcode(const unsigned char *a, size_t alen);
int	dns_wire_truncated(const unsigned char *a, size_t alen);
unsigned dns_wire_ttl(const unsigned char *a, size_t alen);
int	dns_wire_txt(const unsigned char *a, size_t alen, char *out,
		     size_t outlen, unsigned *nrec);

/* dns_net.c */
int	dns_net_exchange(const struct dns_server *, unsigned nservers,
			 const unsigned char *q, size_t qlen,
			 unsigned char *ans, size_t anssize,
			 const struct timespec *deadline, char *err, size_t errlen);
long	dns_net_ms_left(const struct timespec *deadline);

/* dns_cache.c */
struct dns_cache;
struct dns_cache *dns_cache_new(unsigned entries);
void	dns_cache_free(struct dns_cache *);
int	dns_cache_get(struct dns_cache *, const char *key, int type,
		      unsigned char *ans, size_t *anslen);
void	dns_cache_put(struct dns_cache *, const char *key, int type,
		      const unsigned char *ans, size_t len, unsigned ttl);
unsigned dns_cache_count(struct dns_cache *);

/* dns_clock.c */
time_t	dns_clock_now(void);

/* dns_spf.c: a reply into a libspf2 record set (for tests) */
struct SPF_dns_rr_struct;
int	dns_spf_fill(struct SPF_dns_rr_struct *, const unsigned char *a, size_t alen);

#endif
