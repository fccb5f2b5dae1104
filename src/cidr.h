/*
 * NAME
 *	cidr.h - IPv4 and IPv6 network lists
 * SYNOPSIS
 *	#include "cidr.h"
 * DESCRIPTION
 *	cidr_parse() reads "192.0.2.0/24", "2001:db8::/32" or a bare address;
 *	cidr_list_match() tells whether an address falls in any entry.
 */
#ifndef CIDR_H
#define CIDR_H

#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int	family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network, host bits cleared */
	unsigned prefix;		/* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr *v;
	size_t	n;
};

int	cidr_parse(const char *, struct cidr *, char *err, size_t errlen);
int	cidr_match(const struct cidr *, const struct sockaddr *);
int	cidr_list_match(const struct cidr_list *, const struct sockaddr *);
int	cidr_list_add(struct cidr_list *, const struct cidr *);
void	cidr_list_free(struct cidr_list *);
int	cidr_sockaddr(const char *, struct sockaddr_storage *);

#endif
