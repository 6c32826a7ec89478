/*
 * simproc - start, call and stop a hexsim process from C test suites.
 *
 * Test-only helper: plain sockets, no libcurl, so a transport bug in the plugin can never
 * hide behind the same bug in the test's own client.
 */
#ifndef HEXRUN_TEST_SIMPROC_H
#define HEXRUN_TEST_SIMPROC_H

#include <sys/types.h>

typedef struct hexsim_proc {
    pid_t pid;
    int out_fd; /* read end of hexsim's stdout, kept open so hexsim never gets SIGPIPE */
    int port;
    char base_url[64]; /* "http://127.0.0.1:PORT" */
} hexsim_proc;

/*
 * Starts $HEXSIM_BIN (default build/hexsim) with `--port 0 --scenario
 * $HEXSIM_SCENARIO (default hexsim/scenarios/test.json) [--profile $HEXSIM_PROFILE]`
 * followed by extra_args (a
 * NULL-terminated list, or NULL) and waits up to 5 s for its "listening on" line.
 * Returns 0, or -1 with a message on stderr.
 */
int hexsim_proc_start(hexsim_proc *p, const char *const *extra_args);

/* Sends SIGTERM, waits up to 3 s, then SIGKILL. Safe to call twice. */
void hexsim_proc_stop(hexsim_proc *p);

/*
 * One HTTP/1.1 request to the simulator. token may be NULL (no Authorization header),
 * body may be NULL. *out_body (may be NULL) receives the response body, malloc'd and
 * NUL-terminated. Returns the HTTP status, or -1 on a socket error or a 10 s timeout.
 */
int hexsim_proc_call(const hexsim_proc *p, const char *method, const char *path, const char *token,
                     const char *body, char **out_body);

#endif
