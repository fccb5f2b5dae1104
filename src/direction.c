/*
 * NAME
 *	direction.c - is a message inbound or outbound?
 * DESCRIPTION
 *	Outbound: the client authenticated with SASL ({auth_authen}), its
 *	address is in internal_hosts, or the MTA service it reached is one of
 *	internal_daemons ({daemon_name}, such as "submission"). Anything else
 *	is inbound. The first reason that holds is reported.
 */
#include "autoconf.h"

#include <string.h>

#include "mailwarden.h"
#include "config.h"

/* direction_of - classify a message; *why names the reason */
enum mw_dir
direction_of(const struct mw_conf *conf, const struct mw_conn *conn,
	     const char *auth_user, const char **why)
{
	unsigned i;

	if (auth_user && *auth_user) {
		*why = "sasl";
		return MW_DIR_OUTBOUND;
	}
	if (conn->has_addr
	    && cidr_list_match(&conf->internal_hosts, (const struct sockaddr *) &conn->ss)) {
		*why = "internal_hosts";
		return MW_DIR_OUTBOUND;
	}
	for (i = 0; i < conf->n_internal_daemons; i++)
		if (*conn->daemon_name
		    && strcmp(conf->internal_daemons[i], conn->daemon_name) == 0) {
			*why = "internal_daemons";
			return MW_DIR_OUTBOUND;
		}
	*why = "external";
	return MW_DIR_INBOUND;
}
