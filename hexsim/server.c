/* server.c - the libmicrohttpd request handler: routing, auth, rate limits, faults. */
#include "server.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wake.h"

typedef enum {
    REQ_READING, /* the body arrives */
    REQ_HELD,    /* a delay fault holds it: the timer thread serves it at the deadline */
    REQ_SERVED   /* served; r holds the answer to send */
} req_stage;

/* One request: its body while it arrives, then, for a request that a delay fault holds,
 * everything needed to serve it later on the timer thread (wake.c). */
typedef struct upload {
    char *body;
    size_t len, cap;
    int too_large;
    req_stage stage;
    const char *op; /* the operation counted in flight until the request ends, or NULL */
    char path[1024], host[160];
    hs_req q;
    hs_resp r;
    hs_fault fault;
    hs_wake wake;
} upload;

/* Query parameters as libmicrohttpd decoded them (hs_req.arg). */
static const char *mhd_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Every value of one query parameter, in order (hs_req.arg_all). */
typedef struct arg_walk {
    const char *name;
    const char **out;
    int n, max;
    const char *seen[64]; /* keys so far, to find a repeated one */
    int nseen;
    const char *repeated;
} arg_walk;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    arg_walk *w = cls;
    (void)kind;
    if (w->name && !strcmp(key, w->name) && w->n < w->max)
        w->out[w->n++] = value ? value : "";
    return MHD_YES;
}

static int mhd_arg_all(void *conn, const char *name, const char **out, int max)
{
    arg_walk w = {.name = name, .out = out, .max = max};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &w);
    return w.n;
}

/* The spec's array parameters (ListProjects) may repeat; any other key may not. */
static enum MHD_Result find_repeat(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    arg_walk *w = cls;
    (void)kind;
    (void)value;
    if (w->repeated || !strcmp(key, "statuses") || !strcmp(key, "categories"))
        return MHD_YES;
    for (int i = 0; i < w->nseen; i++)
        if (!strcmp(w->seen[i], key)) {
            w->repeated = key;
            return MHD_YES;
        }
    if (w->nseen < 64)
        w->seen[w->nseen++] = key;
    return MHD_YES;
}

static const char *repeated_arg(struct MHD_Connection *conn)
{
    arg_walk w = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, find_repeat, &w);
    return w.repeated;
}

static int hex_digit(char c)
{
    return (c >= '0' && c <= '9')   ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* Decodes %HH in paths and query values, except %00 and %2F, which stay as they are: a
 * decoded NUL cut "/v1/groups/%00" to "/v1/groups/" (the list), a decoded '/' would move
 * an id's bytes into another path segment. Either way the id is then not a UUID: 400. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *out = s;
    for (const char *in = s; *in;) {
        int hi = in[0] == '%' ? hex_digit(in[1]) : -1, lo = hi >= 0 ? hex_digit(in[2]) : -1;
        int byte = hi * 16 + lo;
        if (hi < 0 || lo < 0 || byte == 0 || byte == '/') {
            *out++ = *in++;
        } else {
            *out++ = (char)byte;
            in += 3;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

static const char *bearer(struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    return auth + 7;
}

/* ---- responses with post-processing faults ---- */

typedef struct trickle {
    char *body;
    size_t len, stop;  /* bytes to send before stopping (truncate) */
    int delay_ms;      /* before each chunk (slow_body) */
    int waited;        /* the delay before the next chunk is over */
    unsigned releases; /* hs_wake_releases() when made: a release since ends the delays */
    struct MHD_Connection *conn;
    hs_wake wake;
} trickle;

static ssize_t trickle_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    trickle *t = cls;
    if (pos >= t->stop)
        return pos >= t->len ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->stop - (size_t)pos;
    if (t->delay_ms && hs_wake_releases() != t->releases)
        t->delay_ms = 0; /* released (POST /__sim/release): the rest at once */
    if (t->delay_ms) {
        if (!t->waited) {
            if (hs_wake_after(&t->wake, t->conn, t->delay_ms, NULL, NULL) != 0)
                return MHD_CONTENT_READER_END_WITH_ERROR; /* shutting down */
            t->waited = 1;
            return 0; /* nothing yet: libmicrohttpd asks again once the timer resumes conn */
        }
        t->waited = 0;
        if (n > 16)
            n = 16;
    }
    if (n > max)
        n = max;
    memcpy(buf, t->body + pos, n);
    return (ssize_t)n;
}

static void trickle_free(void *cls)
{
    trickle *t = cls;
    free(t->body);
    free(t);
}

static char *oversized(const char *body, long bytes)
{
    size_t len = body ? strlen(body) : 0;
    size_t want = bytes > (long)len + 32 ? (size_t)bytes : len + 32;
    char *out = malloc(want + 1);
    if (!out)
        return NULL;
    /* A valid document: the original fields plus one huge padding field. */
    size_t head = (len > 1 && body[len - 1] == '}') ? len - 1 : 0;
    memcpy(out, body ? body : "", head);
    size_t n = head;
    n += (size_t)sprintf(out + n, "%s\"padding\":\"", head > 1 ? "," : "{");
    memset(out + n, 'x', want - n - 2);
    memcpy(out + want - 2, "\"}", 3);
    return out;
}

static struct MHD_Response *make_response(struct MHD_Connection *conn, hs_resp *r,
                                          const hs_fault *fault)
{
    const char *body = r->body ? r->body : "";
    size_t len = strlen(body);
    const char *kind = fault->kind;
    if (!strcmp(kind, "malformed") && len > 0) {
        /* Cut the document in the middle of a token and close it wrongly. */
        r->body[len / 2] = '\0';
        char *bad = malloc(len / 2 + 4);
        if (bad) {
            sprintf(bad, "%s\"}{", r->body);
            free(r->body);
            r->body = bad;
        }
    } else if (!strcmp(kind, "oversize")) {
        char *big = oversized(r->body, fault->bytes);
        if (big) {
            free(r->body);
            r->body = big;
        }
    } else if (!strcmp(kind, "truncate") || !strcmp(kind, "slow_body")) {
        trickle *t = calloc(1, sizeof(*t));
        if (t) {
            t->body = r->body ? r->body : strdup("");
            r->body = NULL;
            t->len = strlen(t->body);
            t->stop = !strcmp(kind, "truncate") ? t->len / 2 : t->len;
            t->delay_ms = !strcmp(kind, "slow_body") ? fault->delay_ms : 0;
            t->releases = hs_wake_releases();
            t->conn = conn;
            return MHD_create_response_from_callback(t->len, 1024, trickle_read, t, trickle_free);
        }
    }
    body = r->body ? r->body : "";
    return MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
}

/* The variant's Retry-After: a delay in seconds rewritten as the HTTP date it ends at. */
static void retry_after_as_date(char *value, size_t cap)
{
    char *end;
    long secs = strtol(value, &end, 10);
    if (!value[0] || *end || secs < 0)
        return;
    time_t at = time(NULL) + secs + 1; /* rounded up: never earlier than the delay */
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(value, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, hs_resp *r, const hs_fault *fault)
{
    struct MHD_Response *resp = make_response(conn, r, fault);
    if (!resp)
        return MHD_NO;
    if (r->body || fault->kind[0])
        MHD_add_response_header(resp, "Content-Type",
                                r->content_type[0] ? r->content_type : "application/json");
    pthread_mutex_lock(&hs_w.mu);
    int as_date = hs_w.variant.retry_after_date;
    pthread_mutex_unlock(&hs_w.mu);
    if (r->retry_after[0] && as_date)
        retry_after_as_date(r->retry_after, sizeof(r->retry_after));
    if (r->retry_after[0])
        MHD_add_response_header(resp, "Retry-After", r->retry_after);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- the libmicrohttpd callbacks ---- */

static int accept_body(upload *up, const char *data, size_t size)
{
    if (up->too_large || up->len + size > hs_w.max_body) {
        up->too_large = 1;
        return 0;
    }
    if (up->len + size + 1 > up->cap) {
        size_t cap = (up->len + size + 1) * 2;
        char *bigger = realloc(up->body, cap);
        if (!bigger)
            return -1;
        up->body = bigger;
        up->cap = cap;
    }
    memcpy(up->body + up->len, data, size);
    up->len += size;
    up->body[up->len] = '\0';
    return 0;
}

static void host_url(struct MHD_Connection *conn, char *out, size_t cap)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    snprintf(out, cap, "http://%s", host ? host : "127.0.0.1");
}

/* Fills up->q from the connection; its strings stay valid until the request ends. */
static void read_request(struct MHD_Connection *conn, const char *url, const char *method,
                         upload *up)
{
    host_url(conn, up->host, sizeof(up->host));
    snprintf(up->path, sizeof(up->path), "%s", url);
    up->q =
        (hs_req){.method = method,
                 .path = url,
                 .arg = mhd_arg,
                 .arg_all = mhd_arg_all,
                 .arg_ctx = conn,
                 .body = up->body,
                 .body_len = up->len,
                 .host_url = up->host,
                 .token = bearer(conn),
                 .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
                 .repeated_arg = repeated_arg(conn)};
}

static int dropped(const upload *up)
{
    return !strcmp(up->fault.kind, "drop_before") || !strcmp(up->fault.kind, "drop_after");
}

static void count_answer(upload *up)
{
    pthread_mutex_lock(&hs_w.mu);
    hs_count(up->op, dropped(up) ? 0 : up->r.status);
    pthread_mutex_unlock(&hs_w.mu);
}

/* An API request, or one refused before routing; up->r gets the answer unless a delay
 * fault holds it (up->r.hold_ms). */
static void serve_api(upload *up)
{
    up->op = "unknown";
    if (up->too_large) {
        hs_err_reason(&up->r, 413, "The request body is too large", NULL);
        return;
    }
    char *p = strncmp(up->path, "/api/", 5) == 0 ? up->path + 4 : up->path;
    up->q.nsegs = hs_split_path(p, up->q.segs, 8);
    if (up->q.nsegs < 0) {
        up->q.nsegs = 0;
        hs_err_reason(&up->r, 404, "No such endpoint", NULL);
        return;
    }
    up->op = hs_serve_api(&up->q, &up->r, &up->fault);
}

/* The held request's second half, when its delay is over: on the timer thread, so the work
 * (a RunProject's run, the rate count) happens then even if the client has gone, as on a
 * server that does not notice; or on its pool thread when the stop cut the delay short. */
static void serve_held(void *arg)
{
    upload *up = arg;
    up->r.hold_ms = 0;
    up->q.delay_done = 1;
    hs_serve_api(&up->q, &up->r, &up->fault);
    count_answer(up);
    up->stage = REQ_SERVED;
}

static enum MHD_Result answer(struct MHD_Connection *conn, upload *up)
{
    /* Returning MHD_NO makes libmicrohttpd close the connection without an answer. */
    return dropped(up) ? MHD_NO : send_resp(conn, &up->r, &up->fault);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    upload *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof(upload));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        int rc = accept_body(up, data, *data_size);
        *data_size = 0;
        return rc == 0 ? MHD_YES : MHD_NO;
    }
    if (up->stage == REQ_HELD) /* resumed by the stop before its deadline */
        serve_held(up);
    if (up->stage == REQ_SERVED) /* resumed by the timer thread */
        return answer(conn, up);
    read_request(conn, url, method, up);
    if (!up->too_large && (strncmp(url, "/__sim/", 7) == 0 || strcmp(url, "/__sim") == 0)) {
        hs_control_route(&up->q, &up->r);
        return send_resp(conn, &up->r, &up->fault);
    }
    serve_api(up);
    pthread_mutex_lock(&hs_w.mu);
    hs_in_flight_add(up->op, 1);
    pthread_mutex_unlock(&hs_w.mu);
    if (up->r.hold_ms > 0) {
        up->stage = REQ_HELD;
        if (hs_wake_after(&up->wake, conn, up->r.hold_ms, serve_held, up) == 0)
            return MHD_YES; /* handle is called again once the timer thread resumes conn */
        serve_held(up);     /* stopping: no delay */
        return answer(conn, up);
    }
    count_answer(up);
    up->stage = REQ_SERVED;
    return answer(conn, up);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    upload *up = *con_cls;
    if (!up)
        return;
    if (up->op) {
        pthread_mutex_lock(&hs_w.mu);
        hs_in_flight_add(up->op, -1);
        pthread_mutex_unlock(&hs_w.mu);
    }
    free(up->r.body);
    free(up->body);
    free(up);
    *con_cls = NULL;
}

struct MHD_Daemon *hs_server_start(const struct sockaddr *addr, unsigned threads, int ipv6,
                                   const hs_tls *tls)
{
    /* Suspend/resume: delay and slow_body faults hold connections, not threads (wake.h). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    /* Without TLS the certificate options are skipped by ending the list early. */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)4000, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, tls ? tls->key_pem : NULL,
        MHD_OPTION_HTTPS_MEM_CERT, tls ? tls->cert_pem : NULL, MHD_OPTION_END);
}
