/*
 * url.h - the little URL knowledge the configuration and the transport share (internal,
 * no libcurl): the host of a base URL, and whether it is this machine.
 */
#ifndef HEXRUN_URL_H
#define HEXRUN_URL_H

#include <stddef.h>

/*
 * hexrun__url_host - copy the host of an "http://" or "https://" URL into out (lower
 * case; an IPv6 literal without its brackets). Returns 0, or -1 when there is no host,
 * the URL carries userinfo ("user@host"), or out is too small.
 */
int hexrun__url_host(const char *url, char *out, size_t outlen);

/* 1 for an exact loopback name: "localhost", an IPv4 address in 127.0.0.0/8 written as a
 * full dotted quad, or "::1". Never a prefix match ("127.evil.example" is not). */
int hexrun__host_is_loopback(const char *host);

/* 1 when the URL starts with "http://" (any case): the token would travel in cleartext. */
int hexrun__url_is_cleartext(const char *url);

#endif
