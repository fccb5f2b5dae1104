/*
 * NAME
 *	dns_wire.c - DNS messages in wire format
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	Builds a query, checks that a reply answers it, and reads what the
 *	resolver needs from a reply: its rcode, how long it may be cached,
 *	and its TXT records. Replies are untrusted: every length is checked
 *	against the end of the message before it is used, and a malformed
 *	reply is an error, never a partial read. Names are handled by
 *	glibc's dn_comp/dn_skipname/dn_expand, which bound them (255 bytes,
 *	labels of 63, compression pointers that only point backwards).
 */
#include "autoconf.h"

#include <arpa/nameser.h>
#include <resolv.h>
#include <string.h>

#include "dns_int.h"

/* get16 - a 16-bit network-order value */
static unsigned
get16(const unsigned char *p)
{
	return ((unsigned) p[0] << 8) | p[1];
}

/* get32 - a 32-bit network-order value */
static unsigned long
get32(const unsigned char *p)
{
	return ((unsigned long) p[0] << 24) | ((unsigned long) p[1] << 16)
	    | ((unsigned long) p[2] << 8) | p[3];
}

/* dns_wire_key - the cache key of a name: lower case, no final dot */
int
dns_wire_key(const char *name, char *key, size_t keylen)
{
	size_t	len = strlen(name), i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > DNS_MAX_NAME - 2 || len >= keylen)
		return -1;
	for (i = 0; i < len; i++)
		key[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
	key[len] = 0;
	return 0;
}

/* dns_wire_query - a recursive query for (name, type, IN); its length or -1 */
int
dns_wire_query(const char *name, int type, unsigned id, unsigned char *buf,
	       size_t buflen)
{
	int	n;

	if (buflen < DNS_HDR + 4 + 1 || type < 0 || type > 0xffff)
		return -1;
	memset(buf, 0, DNS_HDR);
	buf[0] = (id >> 8) & 0xff;
	buf[1] = id & 0xff;
	buf[2] = 0x01;			/* RD */
	buf[5] = 1;			/* QDCOUNT */
	n = dn_comp(name, buf + DNS_HDR, (int) (buflen - DNS_HDR - 4), NULL, NULL);
	if (n < 0)
		return -1;
	buf += DNS_HDR + n;
	buf[0] = (type >> 8) & 0xff;
	buf[1] = type & 0xff;
	buf[2] = 0;
	buf[3] = ns_c_in;
	return DNS_HDR + n + 4;
}

/* same_name - wire names equal but for ASCII case (label lengths are < 64) */
static int
same_name(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return 0;
	}
	return 1;
}

/* dns_wire_isreply - 1 if a is a reply to query q (ID, QR, question) */
int
dns_wire_isreply(const unsigned char *q, size_t qlen, const unsigned char *a,
		 size_t alen)
{
	size_t	nlen;

	if (qlen < DNS_HDR + 5 || alen < qlen)
		return 0;
	if (a[0] != q[0] || a[1] != q[1] || (a[2] & 0x80) == 0
	    || (a[2] & 0x78) != (q[2] & 0x78) || get16(a + 4) != 1)
		return 0;
	nlen = qlen - DNS_HDR - 4;
	return same_name(q + DNS_HDR, a + DNS_HDR, nlen)
	    && memcmp(q + qlen - 4, a + qlen - 4, 4) == 0;
}

/* dns_wire_rcode - the reply's rcode, or -1 if it has no header */
int
dns_wire_rcode(const unsigned char *a, size_t alen)
{
	return alen < DNS_HDR ? -1 : (a[3] & 0x0f);
}

/* dns_wire_truncated - the TC bit */
int
dns_wire_truncated(const unsigned char *a, size_t alen)
{
	return alen >= DNS_HDR && (a[2] & 0x02) != 0;
}

/* dns_wire_iter - start reading the records past the question; -1 malformed */
int
dns_wire_iter(struct dns_iter *it, const unsigned char *a, size_t alen)
{
	unsigned qd;
	int	n;

	memset(it, 0, sizeof(*it));
	if (alen < DNS_HDR)
		return -1;
	it->msg = a;
	it->end = a + alen;
	it->p = a + DNS_HDR;
	it->left[1] = get16(a + 6);
	it->left[2] = get16(a + 8);
	it->left[3] = get16(a + 10);
	it->sect = 1;
	for (qd = get16(a + 4); qd > 0; qd--) {
		if ((n = dn_skipname(it->p, it->end)) < 0 || it->end - it->p < n + 4)
			return -1;
		it->p += n + 4;
	}
	return 0;
}

/* read_rr - the record at it->p; -1 if it runs past the message */
static int
read_rr(struct dns_iter *it, struct dns_rr *rr)
{
	int	n;

	if ((n = dn_skipname(it->p, it->end)) < 0 || it->end - it->p < n + 10)
		return -1;
	it->p += n;
	rr->type = (int) get16(it->p);
	rr->class = (int) get16(it->p + 2);
	rr->ttl = get32(it->p + 4) > 0x7fffffffUL ? 0 : (unsigned) get32(it->p + 4);
	rr->rdlen = get16(it->p + 8);
	if ((size_t) (it->end - it->p - 10) < rr->rdlen)
		return -1;
	rr->rdata = it->p + 10;
	it->p += 10 + rr->rdlen;
	return 0;
}

/* dns_wire_next - the next record of a section: 1, 0 at its end, -1 malformed */
int
dns_wire_next(struct dns_iter *it, unsigned section, struct dns_rr *rr)
{
	for (;;) {
		unsigned sect;

		while (it->sect <= 3 && it->left[it->sect] == 0)
			it->sect++;
		if (it->sect > 3 || it->sect > section)
			return 0;
		sect = it->sect;
		if (read_rr(it, rr) < 0)
			return -1;
		it->left[sect]--;
		if (sect == section)
			return 1;
	}
}

/* neg_ttl - RFC 2308: min(SOA TTL, SOA MINIMUM) from the authority section */
static unsigned
neg_ttl(struct dns_iter *it)
{
	struct dns_rr rr;
	int	r;
	unsigned ttl = 0;

	while ((r = dns_wire_next(it, 2, &rr)) == 1)
		if (rr.type == ns_t_soa && rr.rdlen >= 22) {
			unsigned long min = get32(rr.rdata + rr.rdlen - 4);

			ttl = rr.ttl < min ? rr.ttl : (unsigned) min;
			break;
		}
	if (r < 0)
		return 0;
	return ttl > DNS_CACHE_MAX_NEG_TTL ? DNS_CACHE_MAX_NEG_TTL : ttl;
}

/*
 * dns_wire_ttl - seconds a reply may be cached; 0: do not cache.
 * A positive reply lives as long as its shortest record; NXDOMAIN and
 * NODATA as long as the SOA in the authority section says (no SOA: not
 * cached). A CNAME chain that ends in NODATA carries both: the lesser
 * wins. Truncated replies and other rcodes are never cached.
 */
unsigned
dns_wire_ttl(const unsigned char *a, size_t alen)
{
	struct dns_iter it;
	struct dns_rr rr;
	unsigned ttl = DNS_CACHE_MAX_TTL, neg, nans = 0;
	int	rcode = dns_wire_rcode(a, alen), r;

	if ((rcode != ns_r_noerror && rcode != ns_r_nxdomain)
	    || dns_wire_truncated(a, alen) || dns_wire_iter(&it, a, alen) < 0)
		return 0;
	while ((r = dns_wire_next(&it, 1, &rr)) == 1) {
		nans++;
		if (rr.ttl < ttl)
			ttl = rr.ttl;
	}
	if (r < 0)
		return 0;
	neg = neg_ttl(&it);
	if (nans == 0 || rcode == ns_r_nxdomain)
		return neg;
	return neg > 0 && neg < ttl ? neg : ttl;
}

/* txt_one - one TXT record's strings joined into out; -1 malformed, -2 no room */
static int
txt_one(const struct dns_rr *rr, char *out, size_t room, size_t *used)
{
	unsigned off = 0;
	size_t	n = 0;

	while (off < rr->rdlen) {
		unsigned len = rr->rdata[off];

		if (off + 1 + len > rr->rdlen)
			return -1;
		if (n + len + 2 > room)	/* this NUL and the final one */
			return -2;
		memcpy(out + n, rr->rdata + off + 1, len);
		n += len;
		off += 1 + len;
	}
	if (n + 2 > room)
		return -2;
	out[n] = 0;
	*used = n;
	return 0;
}

/*
 * dns_wire_txt - every TXT record of the answer section, each record's
 * strings joined, records separated by NUL, the whole ended by an extra
 * NUL; walk it with *nrec (a record may be empty). A record that holds a
 * NUL byte cannot be a text policy record and is left out. Returns 0,
 * -1 for a malformed reply, -2 when the records do not fit in out.
 */
int
dns_wire_txt(const unsigned char *a, size_t alen, char *out, size_t outlen,
	     unsigned *nrec)
{
	struct dns_iter it;
	struct dns_rr rr;
	size_t	pos = 0, used;
	int	r;

	*nrec = 0;
	if (outlen < 1)
		return -2;
	out[0] = 0;
	if (dns_wire_iter(&it, a, alen) < 0)
		return -1;
	while ((r = dns_wire_next(&it, 1, &rr)) == 1) {
		if (rr.type != ns_t_txt)
			continue;
		if ((r = txt_one(&rr, out + pos, outlen - pos, &used)) < 0)
			return r;
		if (memchr(out + pos, 0, used) != NULL)
			continue;
		pos += used + 1;
		(*nrec)++;
	}
	out[pos] = 0;
	return r;
}
