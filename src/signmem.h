/*
 * NAME
 *	signmem.h - account for libopendkim's memory per signing handle
 * SYNOPSIS
 *	#include "signmem.h"
 * DESCRIPTION
 *	libopendkim 2.11's dkim_free() releases the key material of a
 *	signature only for RSA: every Ed25519 signature leaves its signature
 *	buffer behind (64 bytes; with its own key parse, the whole parsed key
 *	too). libopendkim takes an allocator (dkim_init) and a closure per
 *	handle (dkim_sign's memclosure) for the memory of each handle; with
 *	signmem_alloc/signmem_free and one struct signmem per handle, every
 *	block a handle still holds after dkim_free() is known, and
 *	signmem_sweep() frees it.
 */
#ifndef MW_SIGNMEM_H
#define MW_SIGNMEM_H

#include <stddef.h>

struct signmem {
	void  **slot;			/* open addressing; NULL empty */
	size_t	cap, used, live;	/* used counts tombstones too */
};

void   *signmem_alloc(void *closure, size_t);	/* closure NULL: untracked */
void	signmem_free(void *closure, void *);
/* Free what the handle left (after dkim_free), and the table; count freed. */
size_t	signmem_sweep(struct signmem *);

#endif
