/*
 * NAME
 *	signmem.c - account for libopendkim's memory per signing handle
 * DESCRIPTION
 *	A set of the live blocks of one handle, as an open-addressing hash
 *	table of pointers (linear probing, tombstones, grown at half load),
 *	so that a message with many headers (thousands of blocks) costs
 *	constant time per allocation. The blocks themselves come from malloc
 *	unchanged: libopendkim's own frees stay compatible.
 *
 *	Only memory libopendkim allocates through its allocator with the
 *	handle's closure is tracked; that is all of a signing handle's memory
 *	except what it allocates and frees with malloc/free itself (checked
 *	against its 2.11 sources: address parsing, DNS, header arrays).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>

#include "signmem.h"

#define SIGNMEM_TOMB ((void *) 1)	/* a slot whose block was freed */

/* signmem_hash - slot of a pointer */
static size_t
signmem_hash(const void *p, size_t cap)
{
	uintptr_t h = (uintptr_t) p;

	h ^= h >> 17;
	h *= (uintptr_t) 0x9e3779b97f4a7c15ULL;
	return (size_t) (h >> 7) & (cap - 1);
}

/* signmem_put - add a pointer (the table has room) */
static void
signmem_put(struct signmem *m, void *p)
{
	size_t	i = signmem_hash(p, m->cap);

	while (m->slot[i] != NULL && m->slot[i] != SIGNMEM_TOMB)
		i = (i + 1) & (m->cap - 1);
	if (m->slot[i] == NULL)
		m->used++;
	m->slot[i] = p;
	m->live++;
}

/* signmem_rehash - a table of 4 x live slots or more, without tombstones; -1 */
static int
signmem_rehash(struct signmem *m)
{
	struct signmem n = {NULL, 64, 0, 0};
	size_t	i;

	while (n.cap < 4 * (m->live + 1))
		n.cap *= 2;
	if ((n.slot = calloc(n.cap, sizeof(void *))) == NULL)
		return -1;
	for (i = 0; i < m->cap; i++)
		if (m->slot[i] != NULL && m->slot[i] != SIGNMEM_TOMB)
			signmem_put(&n, m->slot[i]);
	free(m->slot);
	*m = n;
	return 0;
}

/* signmem_alloc - libopendkim's malloc; the block joins the handle's set */
void   *
signmem_alloc(void *closure, size_t len)
{
	struct signmem *m = closure;
	void   *p;

	if (m && 2 * (m->used + 1) > m->cap && signmem_rehash(m) < 0)
		return NULL;
	if ((p = malloc(len ? len : 1)) != NULL && m)
		signmem_put(m, p);
	return p;
}

/* signmem_free - libopendkim's free; the block leaves the set */
void
signmem_free(void *closure, void *p)
{
	struct signmem *m = closure;
	size_t	i;

	if (p == NULL)
		return;
	if (m && m->cap) {
		for (i = signmem_hash(p, m->cap); m->slot[i] != NULL; i = (i + 1) & (m->cap - 1))
			if (m->slot[i] == p) {
				m->slot[i] = SIGNMEM_TOMB;
				m->live--;
				break;
			}
	}
	free(p);
}

/* signmem_sweep - free the blocks still in the set, and the set */
size_t
signmem_sweep(struct signmem *m)
{
	size_t	i, n = 0;

	for (i = 0; i < m->cap; i++)
		if (m->slot[i] != NULL && m->slot[i] != SIGNMEM_TOMB) {
			free(m->slot[i]);
			n++;
		}
	free(m->slot);
	m->slot = NULL;
	m->cap = m->used = m->live = 0;
	return n;
}
