/*
 * NAME
 *	tags.c - DKIM tag=value lists (RFC 6376 section 3.2)
 * DESCRIPTION
 *	tag-list = tag-spec *( ";" tag-spec ) [ ";" ], tag-spec = [FWS]
 *	tag-name [FWS] "=" [FWS] tag-value [FWS]. Values are compared with
 *	white space removed: base64 values may be folded anywhere.
 */
#include "autoconf.h"

#include <string.h>

#include "tags.h"

#define FWS " \t\r\n"

/* tags_value - copy a value up to ';' without white space; -1 if too long */
static int
tags_value(const char *v, char *out, size_t len)
{
	size_t	n = 0;

	for (; *v && *v != ';'; v++) {
		if (strchr(FWS, *v))
			continue;
		if (n + 1 >= len)
			return -1;
		out[n++] = *v;
	}
	out[n] = 0;
	return 0;
}

/* tags_get - the value of one tag */
int
tags_get(const char *v, const char *tag, char *out, size_t len)
{
	size_t	tl = strlen(tag), sp;

	if (len == 0)
		return -1;
	while (*v) {
		v += strspn(v, FWS);
		/* The name first: v may end before tl bytes. */
		if (strncmp(v, tag, tl) == 0 && v[tl + (sp = strspn(v + tl, FWS))] == '=')
			return tags_value(v + tl + sp + 1, out, len);
		v += strcspn(v, ";");
		if (*v == ';')
			v++;
	}
	return -1;
}
