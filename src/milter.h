/*
 * NAME
 *	milter.h - the libmilter callbacks
 */
#ifndef MW_MILTER_H
#define MW_MILTER_H

int	milter_register(void);

#endif
