/*
 * http.h - the plugin's HTTP transport over one curl multi handle (internal; the only
 * libcurl user is http.c), and the pure retry policy the engine applies to its results.
 *
 * Threading: everything except hexrun__http_wakeup runs on ONE thread (the engine's).
 * Connections are pooled and kept alive across attempts; HTTP/2 is used when offered.
 *
 * Redirects are NOT followed: a 3xx comes back as a status like any other (and maps to
 * HEXRUN_E_HTTP). Hex's API never redirects, and not following is the only way to be sure
 * the Authorization header never reaches another host.
 */
#ifndef HEXRUN_HTTP_H
#define HEXRUN_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hexrun.h"
#include "log.h"

typedef struct hexrun__http hexrun__http;

/* Connections kept open to the API host at most; more attempts in flight queue. */
#define HEXRUN__HTTP_MAX_CONNECTIONS 16

typedef struct hexrun__http_opts {
    const char *base_url;       /* e.g. "https://app.hex.tech"; "/api" is appended */
    const char *token;          /* sent as "Authorization: Bearer <token>" */
    int64_t timeout_ms;         /* whole attempt; 0 = no limit */
    int64_t connect_timeout_ms; /* connect + TLS; 0 = curl's default */
    const char *ca_file;        /* NULL = system store */
    int insecure_skip_verify;   /* 1 = no certificate checks (logged as a warning) */
    const char *proxy;          /* NULL = the environment's (none for a loopback base_url);
                                   "" = no proxy */
    const char *user_agent;     /* NULL = "hexrun/<version>" */
    int64_t max_response_bytes; /* larger bodies fail with HEXRUN_E_TOO_LARGE; 0 = none */
} hexrun__http_opts;

/* The outcome of one attempt. Borrowed: valid only during the done callback. */
typedef struct hexrun__http_resp {
    int error;        /* HEXRUN_OK (an HTTP status arrived), or HEXRUN_E_TRANSPORT,
                         HEXRUN_E_TLS, HEXRUN_E_TOO_LARGE, HEXRUN_E_NOMEM */
    int sent;         /* 0: the request certainly did not reach the server
                         (DNS, connect, TLS handshake failed); 1: it may have */
    int status;       /* HTTP status, 0 if none was received */
    const char *body; /* NUL-terminated, never NULL ("" when empty) */
    size_t body_len;
    const char *retry_after; /* raw Retry-After header value, or NULL */
    const char *error_text;  /* transport error detail (no secrets), "" when error==OK */
    int64_t elapsed_ms;      /* wall time of the attempt */
    uint64_t bytes_sent;     /* request body bytes uploaded */
    uint64_t bytes_received; /* response body bytes received */
    void *attempt;           /* internal: for hexrun__http_take_body */
} hexrun__http_resp;

/* Inside a done callback: take the body over instead of copying it (a large answer then
 * costs its size once). Returns it (malloc'd, NUL-terminated: free() it) or NULL on NOMEM;
 * resp->body stays valid while the taker keeps it. */
char *hexrun__http_take_body(const hexrun__http_resp *resp);

typedef void (*hexrun__http_done_fn)(const hexrun__http_resp *resp, void *ud);

/* One attempt. Every string is copied by hexrun__http_start. */
typedef struct hexrun__http_req {
    const char *method;        /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;          /* relative to <base_url>/api, starts with "/v1/"; may hold a
                                  query string already (then `query` is appended with '&') */
    const char *query;         /* NULL or a query string without '?' */
    const char *body;          /* NULL or a JSON document (sent as application/json) */
    int64_t timeout_ms;        /* 0 = opts.timeout_ms; else overrides it for this attempt */
    hexrun__http_done_fn done; /* called exactly once, from hexrun__http_run or _free;
                                  it may start new attempts when called from _run, never
                                  when called from _free */
    void *ud;
} hexrun__http_req;

/*
 * hexrun__http_new - a transport for one base URL and token.
 * Returns HEXRUN_OK, HEXRUN_E_INVALID_ARG (no base_url/token, or a base_url that is not
 * http:// or https://), HEXRUN_E_TRANSPORT (curl init failed) or HEXRUN_E_NOMEM.
 * `log` is borrowed and must outlive the transport (may be NULL).
 */
int hexrun__http_new(const hexrun__http_opts *opts, hexrun__log *log, hexrun__http **out);

/* Abort every attempt still in flight (each done callback is called with
 * error=HEXRUN_E_TRANSPORT, sent=1, "aborted"), then release everything. NULL is fine. */
void hexrun__http_free(hexrun__http *http);

/* Add one attempt. Non-blocking: the transfer happens in hexrun__http_run.
 * Returns HEXRUN_OK (done will be called), HEXRUN_E_INVALID_ARG or HEXRUN_E_NOMEM (done
 * will not be called). */
int hexrun__http_start(hexrun__http *http, const hexrun__http_req *req);

/* Perform transfers and wait for activity up to timeout_ms (0 = do not wait), calling
 * done for each finished attempt on this thread. Returns the number of attempts still in
 * flight, or a negative HEXRUN_E_* on a curl multi failure. */
int hexrun__http_run(hexrun__http *http, int timeout_ms);

/* Number of attempts in flight. */
int hexrun__http_in_flight(const hexrun__http *http);

/* Also end a wait of hexrun__http_run when fd is readable (-1: no such fd). The
 * coordination store's socket, so that another process's news wake the engine. */
void hexrun__http_watch_fd(hexrun__http *http, int fd);

/* Thread-safe: make a hexrun__http_run that is waiting return early. */
void hexrun__http_wakeup(hexrun__http *http);

/*
 * hexrun__http_escape - percent-encode one path segment (everything but RFC 3986
 * unreserved characters). Returns the encoded length, or -1 when it does not fit in
 * outlen (including the NUL) or in is NULL.
 */
int hexrun__http_escape(const char *in, char *out, size_t outlen);

/* The HEXRUN_E_* code for an HTTP status: 2xx OK, 400/422 INVALID_REQUEST, 401 AUTH,
 * 403 FORBIDDEN, 404 NOT_FOUND, 429 RATE_LIMITED, 5xx UNAVAILABLE, anything else HTTP. */
int hexrun__http_error_from_status(int status);

/* ---------------------------------------------------------------------------------------
 * Retry policy: pure functions; the engine owns the timers and the attempt counts.
 * ------------------------------------------------------------------------------------- */

typedef enum hexrun__retry_kind {
    /* GET, PUT, DELETE: safe to repeat. Retried on transport errors, 5xx and 429. */
    HEXRUN__RETRY_IDEMPOTENT = 0,
    /* POST, PATCH (RunProject above all: Hex has no idempotency key). Retried only when
     * the request certainly did not reach Hex (sent == 0) or Hex said 429 or 503. */
    HEXRUN__RETRY_NON_IDEMPOTENT = 1
} hexrun__retry_kind;

#define HEXRUN__RETRY_RUN_PROJECT HEXRUN__RETRY_NON_IDEMPOTENT

/* The kind for an HTTP method (case-insensitive); unknown methods are NON_IDEMPOTENT. */
hexrun__retry_kind hexrun__retry_kind_of(const char *method);

/* 1 if the attempt may be repeated, 0 if its result is final. */
int hexrun__retry_should(hexrun__retry_kind kind, const hexrun__http_resp *resp);

/* 1 if a non-idempotent attempt failed after its request may have reached the server
 * (timeout, reset, empty or truncated reply once sent, or a 5xx other than 503, which a
 * gateway may answer after the server did the work): the caller must not repeat it and
 * reports HEXRUN_E_OUTCOME_UNKNOWN. 0 otherwise (always 0 for IDEMPOTENT). */
int hexrun__retry_outcome_unknown(hexrun__retry_kind kind, const hexrun__http_resp *resp);

/* The longest wait a Retry-After can impose: one hour, Hex's longest rate-limit window.
 * A server asking for more cannot park a host (and, with budget_path, every process on it)
 * for longer; the request is tried again, or a direct call fails at its deadline. */
#define HEXRUN__RETRY_AFTER_MAX_MS (3600LL * 1000)

/* Parse a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850
 * or asctime form) relative to `now`. Returns milliseconds (0 for a date in the past), or
 * -1 when value is NULL or malformed. Capped at HEXRUN__RETRY_AFTER_MAX_MS. */
int64_t hexrun__retry_after_parse(const char *value, time_t now);

/*
 * hexrun__retry_backoff_ms - the delay before retry number `attempt` (1 = first retry).
 * With retry_after_ms >= 0 that value wins as it is (the server knows when it will
 * accept again; the parser already caps it at HEXRUN__RETRY_AFTER_MAX_MS). Otherwise full jitter:
 * uniform in [0, min(max_ms, base_ms * 2^(attempt-1))]. rng_state: the caller's xorshift state (any
 * value; 0 is replaced by a constant).
 */
int64_t hexrun__retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                                 int64_t retry_after_ms, uint64_t *rng_state);

#endif
