/*
 * NAME
 *	log.h - logging to syslog or stderr
 * DESCRIPTION
 *	Only the top layer (main.c, milter.c) logs; modules report through
 *	msg_note() and return codes. log_clean() makes untrusted text safe to
 *	log: bounded, control characters and non-ASCII shown as '?'.
 */
#ifndef MW_LOG_H
#define MW_LOG_H

#include <stddef.h>
#include <syslog.h>

void	log_open(int facility, int to_stderr);
void	mw_log(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
char   *log_clean(char *dst, size_t dstlen, const char *src);

#endif
