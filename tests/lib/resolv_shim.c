/*
 * NAME
 *	resolv_shim.c - point a program's libc resolver at the test's nsd
 * SYNOPSIS
 *	TEST_DNS_SERVER=127.0.0.1:PORT LD_PRELOAD=.../resolv_shim.so command
 * DESCRIPTION
 *	For tests only, to run third-party tools (opendkim-testmsg, anything
 *	on libopendkim, libspf2 or libopendmarc's default resolvers) against
 *	a DNS server on a high loopback port. glibc has no environment
 *	variable for that, but honours the port in nsaddr_list; so this
 *	wraps res_ninit() and res_init(): after the real call, the state
 *	names exactly one server, $TEST_DNS_SERVER, with one short retry.
 *
 *	Not covered: lookups glibc makes on the implicit _res without a
 *	res_init() call (getaddrinfo and friends). Without a valid
 *	TEST_DNS_SERVER the resolver state is left empty of servers, so a
 *	query fails rather than leaking to the system's resolver.
 *	tests/lib/common.sh's mw_dns_run sets it all up.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <resolv.h>		/* res_ninit is __res_ninit, res_init __res_init */

/* shim_server - parse "IPv4:PORT" into sin; 0 on success */
static int
shim_server(const char *spec, struct sockaddr_in *sin)
{
	char	host[INET_ADDRSTRLEN];
	const char *colon;
	char   *end;
	long	port;

	if (spec == NULL || (colon = strrchr(spec, ':')) == NULL
	    || (size_t) (colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, colon - spec);
	host[colon - spec] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != 0 || port < 1 || port > 65535)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short) port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* shim_patch - one server, the test's, and no long waits */
static void
shim_patch(res_state statp)
{
	struct sockaddr_in sin;

	if (shim_server(getenv("TEST_DNS_SERVER"), &sin) != 0) {
		fprintf(stderr, "resolv_shim: TEST_DNS_SERVER is not IPv4:PORT; "
			"no DNS server configured\n");
		statp->nscount = 0;
		return;
	}
	statp->nsaddr_list[0] = sin;
	statp->nscount = 1;
	statp->retry = 1;
	statp->retrans = 2;
}

/* __res_ninit - the real res_ninit, then our server */
int
__res_ninit(res_state statp)
{
	static int (*real) (res_state);
	int	rc;

	if (real == NULL)
		real = (int (*)(res_state)) dlsym(RTLD_NEXT, "__res_ninit");
	if (real == NULL)
		return -1;
	if ((rc = real(statp)) == 0)
		shim_patch(statp);
	return rc;
}

/* __res_init - the real res_init, then our server in _res */
int
__res_init(void)
{
	static int (*real) (void);
	int	rc;

	if (real == NULL)
		real = (int (*)(void)) dlsym(RTLD_NEXT, "__res_init");
	if (real == NULL)
		return -1;
	if ((rc = real()) == 0)
		shim_patch(&_res);
	return rc;
}
