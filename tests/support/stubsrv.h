/*
 * stubsrv - a scripted HTTP/1.1 server on 127.0.0.1 for C test suites.
 *
 * hexsim answers the way hexrun's authors expected; a stub answers whatever a test scripts,
 * which is how the suites show what hexrun does with answers the Hex spec allows and hexsim
 * does not give (a 422 for an unknown run, a run naming another run, an opaque nextPage,
 * a long Retry-After, ...). Test-only: plain sockets, one thread per connection, every
 * answer closes its connection.
 */
#ifndef HEXRUN_TEST_STUBSRV_H
#define HEXRUN_TEST_STUBSRV_H

#include <stddef.h>

typedef struct stub_req {
    char method[16];
    char path[1024];  /* without the query */
    char query[2048]; /* "" when none */
    char *body;       /* NUL-terminated, "" when none */
} stub_req;

typedef struct stub_resp {
    int status;         /* 200 unless the handler sets another */
    char headers[1024]; /* extra header lines, each ending in "\r\n" */
    char *body;         /* malloc'd by the handler (stub frees it), or NULL for none */
    int delay_ms;       /* wait this long before answering */
} stub_resp;

/* Called on a connection thread, several at once when requests overlap. */
typedef void (*stub_handler)(const stub_req *req, stub_resp *resp, void *ud);

typedef struct stub_server stub_server;

/* Listen on a free loopback port and serve with fn. Returns NULL on failure. */
stub_server *stub_start(stub_handler fn, void *ud);

/* "http://127.0.0.1:PORT" */
const char *stub_base_url(const stub_server *s);

/* Requests answered so far. */
int stub_requests(stub_server *s);

/* Stop listening and wait (at most 5 s) for connections being answered. NULL is fine. */
void stub_stop(stub_server *s);

/* A malloc'd copy of a printf format: for stub_resp.body. */
char *stub_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
