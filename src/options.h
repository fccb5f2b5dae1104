/*
 * NAME
 *	options.h - the option table
 * DESCRIPTION
 *	See options.c. The check functions validate a string value's form
 *	(one list item at a time) and write the reason to err.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>

enum mw_opt_type {
	MW_T_INT = 1,			/* integer in [min, max] */
	MW_T_BOOL,			/* yes/no, true/false, on/off */
	MW_T_STR,			/* string */
	MW_T_ENUM,			/* one of values ("a|b|c") */
	MW_T_LIST,			/* list of strings, each in values if set */
	MW_T_CIDRS,			/* list of IPv4/IPv6 networks */
	MW_T_SECTION,			/* NAME "title" { ... }, repeatable */
};

typedef int (*mw_opt_check)(const char *value, char *err, size_t errlen);

struct mw_option {
	const char *section;		/* "" top level, "sign", "sign|key" */
	const char *name;
	enum mw_opt_type type;
	const char *def;		/* default, as written in the file */
	long	min, max;		/* MW_T_INT bounds */
	const char *values;		/* MW_T_ENUM, MW_T_LIST: allowed words */
	mw_opt_check check;		/* form of a string value, or NULL */
	const char *help;
};

extern const struct mw_option mw_options[];

const struct mw_option *option_find(const char *section, const char *name);
int	option_enum_index(const struct mw_option *, const char *);
const char *option_type_name(enum mw_opt_type);

int	opt_check_socket(const char *, char *, size_t);
int	opt_check_hostname(const char *, char *, size_t);
int	opt_check_domain(const char *, char *, size_t);
int	opt_check_hostport(const char *, char *, size_t);
int	opt_check_redis(const char *, char *, size_t);
int	opt_check_header_name(const char *, char *, size_t);
int	opt_check_abspath(const char *, char *, size_t);
int	opt_check_address(const char *, char *, size_t);

#endif
