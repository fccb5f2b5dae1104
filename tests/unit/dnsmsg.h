/*
 * dnsmsg.h - hand-made DNS messages for the resolver's unit tests.
 *
 *	struct dnsmsg m;
 *	dnsmsg_hdr(&m, 0x1234, DNSMSG_QR | DNSMSG_AA, 3, 1, 1, 0);
 *	dnsmsg_q(&m, "example.test", 16);
 *	dnsmsg_txt(&m, "example.test", 300, 2, "part one ", "part two");
 *	dnsmsg_soa(&m, "example.test", 300, 60);
 *
 * The header counts are the caller's (so tests can lie on purpose).
 * Names are written uncompressed; dnsmsg_ptr() writes a compression
 * pointer to an offset.
 */
#ifndef DNSMSG_H
#define DNSMSG_H

#include <stdarg.h>
#include <string.h>

#define DNSMSG_QR	0x8000
#define DNSMSG_AA	0x0400
#define DNSMSG_TC	0x0200
#define DNSMSG_RD	0x0100

struct dnsmsg {
	unsigned char b[16384];
	size_t	n;
};

static inline void
dnsmsg_u8(struct dnsmsg *m, unsigned v)
{
	m->b[m->n++] = v & 0xff;
}

static inline void
dnsmsg_u16(struct dnsmsg *m, unsigned v)
{
	dnsmsg_u8(m, v >> 8);
	dnsmsg_u8(m, v);
}

static inline void
dnsmsg_u32(struct dnsmsg *m, unsigned long v)
{
	dnsmsg_u16(m, (unsigned) (v >> 16));
	dnsmsg_u16(m, (unsigned) v);
}

static inline void
dnsmsg_bytes(struct dnsmsg *m, const void *p, size_t len)
{
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

/* header: flags = bytes 2-3 (QR, opcode, AA, TC, RD, RA, rcode) */
static inline void
dnsmsg_hdr(struct dnsmsg *m, unsigned id, unsigned flags, unsigned qd,
	   unsigned an, unsigned ns, unsigned ar)
{
	m->n = 0;
	dnsmsg_u16(m, id);
	dnsmsg_u16(m, flags);
	dnsmsg_u16(m, qd);
	dnsmsg_u16(m, an);
	dnsmsg_u16(m, ns);
	dnsmsg_u16(m, ar);
}

/* an uncompressed name */
static inline void
dnsmsg_name(struct dnsmsg *m, const char *name)
{
	while (*name) {
		size_t	len = strcspn(name, ".");

		dnsmsg_u8(m, (unsigned) len);
		dnsmsg_bytes(m, name, len);
		name += len;
		if (*name == '.')
			name++;
	}
	dnsmsg_u8(m, 0);
}

/* a compression pointer */
static inline void
dnsmsg_ptr(struct dnsmsg *m, unsigned off)
{
	dnsmsg_u16(m, 0xc000 | off);
}

static inline void
dnsmsg_q(struct dnsmsg *m, const char *name, unsigned type)
{
	dnsmsg_name(m, name);
	dnsmsg_u16(m, type);
	dnsmsg_u16(m, 1);
}

/* a record's fixed part after its owner name */
static inline void
dnsmsg_rrfix(struct dnsmsg *m, unsigned type, unsigned long ttl, unsigned rdlen)
{
	dnsmsg_u16(m, type);
	dnsmsg_u16(m, 1);
	dnsmsg_u32(m, ttl);
	dnsmsg_u16(m, rdlen);
}

static inline void
dnsmsg_rr(struct dnsmsg *m, const char *name, unsigned type, unsigned long ttl,
	  const void *rdata, unsigned rdlen)
{
	dnsmsg_name(m, name);
	dnsmsg_rrfix(m, type, ttl, rdlen);
	dnsmsg_bytes(m, rdata, rdlen);
}

/* a TXT record of n strings */
static inline void
dnsmsg_txt(struct dnsmsg *m, const char *name, unsigned long ttl, int n, ...)
{
	unsigned char rd[4096];
	unsigned len = 0;
	va_list ap;

	va_start(ap, n);
	while (n-- > 0) {
		const char *s = va_arg(ap, const char *);

		rd[len++] = (unsigned char) strlen(s);
		memcpy(rd + len, s, strlen(s));
		len += (unsigned) strlen(s);
	}
	va_end(ap);
	dnsmsg_rr(m, name, 16, ttl, rd, len);
}

/* an SOA record with the given MINIMUM */
static inline void
dnsmsg_soa(struct dnsmsg *m, const char *name, unsigned long ttl, unsigned long min)
{
	struct dnsmsg rd = {.n = 0};

	dnsmsg_name(&rd, "ns.test");
	dnsmsg_name(&rd, "hostmaster.test");
	dnsmsg_u32(&rd, 1);
	dnsmsg_u32(&rd, 3600);
	dnsmsg_u32(&rd, 600);
	dnsmsg_u32(&rd, 86400);
	dnsmsg_u32(&rd, min);
	dnsmsg_rr(m, name, 6, ttl, rd.b, (unsigned) rd.n);
}

#endif
