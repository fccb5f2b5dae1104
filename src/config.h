/*
 * NAME
 *	config.h - configuration snapshots
 * SYNOPSIS
 *	#include "config.h"
 * DESCRIPTION
 *	conf_load() parses a file into an immutable, reference-counted
 *	snapshot. The daemon installs one as current with conf_install();
 *	each connection and each message takes its own reference with
 *	conf_acquire() and drops it with conf_release(), so a reload never
 *	changes the config under a message in flight.
 *
 *	Errors are collected, never printed: every error of a file (unknown
 *	options, bad values, out-of-range numbers, stage-specific problems
 *	such as an unreadable key) is kept with its file and line, sorted,
 *	and handed to the caller.
 */
#ifndef MW_CONFIG_H
#define MW_CONFIG_H

#include <stdio.h>
#include <confuse.h>

#include "mailwarden.h"
#include "cidr.h"

struct dns_resolver;

struct mw_conf {
	int	refs;
	char   *path;
	cfg_t  *cfg;			/* the parsed tree; read-only */
	/* Top-level options that the core uses, read once at load. */
	const char *socket;
	const char *pid_file;
	const char *user;
	const char *group;
	const char *authserv_id;	/* the host name when unset */
	int	umask;
	int	syslog_facility;
	enum mw_onerror on_error;
	int	milter_timeout;
	int	milter_backlog;
	struct cidr_list internal_hosts;
	char  **internal_daemons;
	unsigned n_internal_daemons;
	unsigned max_headers;
	size_t	max_header_bytes;
	char	hostname[256];
	struct dns_resolver *dns;	/* dns.c: the one resolver (dns_servers...) */
	int	dns_budget;		/* seconds of DNS one message may spend */
	void   *stage[MW_STAGE_COUNT];	/* each stage's own config */
};

/* The errors of one load, "file:line: text", in line order. */
struct conf_errors {
	char  **msg;
	int    *line;
	unsigned n;
};

struct mw_conf *conf_load(const char *path, struct conf_errors *);
void	conf_errors_print(const struct conf_errors *, FILE *);
void	conf_errors_free(struct conf_errors *);

void	conf_install(struct mw_conf *);
struct mw_conf *conf_acquire(void);
struct mw_conf *conf_ref(struct mw_conf *);
void	conf_release(struct mw_conf *);

/* For stage conf_load() functions: report an error at a section or option. */
void	conf_error(cfg_t *section, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	conf_error_opt(const char *option, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	conf_enum(cfg_t *, const char *option);

/* The option reference for mailwarden.conf(5), in man(7) form. */
void	conf_print_reference(FILE *);

#endif
