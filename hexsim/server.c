/* server.c - the libmicrohttpd request handler: routing, auth, rate limits, faults. */
#include "server.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { FAM_REASON, FAM_CODE } err_family;

typedef struct route {
    const char *method;
    const char *pattern; /* segments after an optional "/api"; "*" matches one segment */
    const char *op;      /* the openapi operationId, used for counters and faults */
    err_family family;
    int run_bucket;      /* RunProject has its own rate limit */
    hs_handler handler;
} route;

static const route ROUTES[] = {
    {"POST", "v1/projects/*/runs", "RunProject", FAM_REASON, 1, hs_h_run_project},
    {"POST", "v1/project/*/run", "RunProject", FAM_REASON, 1, hs_h_run_project},
    {"GET", "v1/projects/*/runs/*", "GetRunStatus", FAM_REASON, 0, hs_h_run_status},
    {"GET", "v1/project/*/run/*", "GetRunStatus", FAM_REASON, 0, hs_h_run_status},
    {"GET", "v1/projects/*/runs", "GetProjectRuns", FAM_REASON, 0, hs_h_project_runs},
    {"GET", "v1/project/*/runs", "GetProjectRuns", FAM_REASON, 0, hs_h_project_runs},
    {"DELETE", "v1/projects/*/runs/*", "CancelRun", FAM_REASON, 0, hs_h_cancel_run},
    {"DELETE", "v1/project/*/run/*", "CancelRun", FAM_REASON, 0, hs_h_cancel_run},
    {"GET", "v1/projects", "ListProjects", FAM_REASON, 0, hs_h_list_projects},
    {"POST", "v1/projects", "CreateProject", FAM_REASON, 0, hs_h_create_project},
    {"GET", "v1/projects/*", "GetProject", FAM_CODE, 0, hs_h_get_project},
    {"GET", "v1/users/me", "Me", FAM_CODE, 0, hs_h_me},
    {"GET", "v1/users", "ListUsers", FAM_CODE, 0, hs_h_list_users},
    {"POST", "v1/users/*/deactivate", "DeactivateUser", FAM_CODE, 0, hs_h_deactivate_user},
    {"GET", "v1/groups", "ListGroups", FAM_REASON, 0, hs_h_list_groups},
    {"POST", "v1/groups", "CreateGroup", FAM_REASON, 0, hs_h_create_group},
    {"GET", "v1/groups/*", "GetGroup", FAM_REASON, 0, hs_h_get_group},
    {"PATCH", "v1/groups/*", "EditGroup", FAM_REASON, 0, hs_h_edit_group},
    {"DELETE", "v1/groups/*", "DeleteGroup", FAM_REASON, 0, hs_h_delete_group},
    {"GET", "v1/data-connections", "ListDataConnections", FAM_REASON, 0, hs_h_list_connections},
    {"POST", "v1/data-connections", "CreateDataConnection", FAM_REASON, 0,
     hs_h_create_connection},
    {"GET", "v1/data-connections/*", "GetDataConnection", FAM_REASON, 0, hs_h_get_connection},
    {"PATCH", "v1/data-connections/*", "EditDataConnection", FAM_REASON, 0,
     hs_h_edit_connection},
    {"GET", "v1/collections", "ListCollections", FAM_REASON, 0, hs_h_list_collections},
    {"POST", "v1/collections", "CreateCollection", FAM_REASON, 0, hs_h_create_collection},
    {"GET", "v1/collections/*", "GetCollection", FAM_REASON, 0, hs_h_get_collection},
    {"PATCH", "v1/collections/*", "EditCollection", FAM_REASON, 0, hs_h_edit_collection},
};

/* Per-connection state while the body arrives. */
typedef struct upload {
    char *body;
    size_t len, cap;
    int too_large;
} upload;

/* ---- request helpers used by the handlers ---- */

const char *hs_query(const hs_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

int hs_query_int(const hs_req *q, hs_resp *r, const char *name, long lo, long hi, long def,
                 long *out)
{
    const char *v = hs_query(q, name);
    char *end;
    *out = def;
    if (!v)
        return 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        char why[160];
        snprintf(why, sizeof(why), "%s must be an integer from %ld to %ld", name, lo, hi);
        hs_err_for(q, r, 400, why);
        return -1;
    }
    *out = n;
    return 0;
}

json_object *hs_body_json(const hs_req *q, hs_resp *r)
{
    if (!q->body || q->body_len == 0)
        return json_object_new_object();
    json_tokener *tok = json_tokener_new();
    json_object *doc = json_tokener_parse_ex(tok, q->body, (int)q->body_len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    int trailing = tok->char_offset < (int)q->body_len;
    json_tokener_free(tok);
    if (!doc || jerr != json_tokener_success || trailing) {
        char why[200];
        snprintf(why, sizeof(why), "The request body is not valid JSON: %s",
                 doc ? "unexpected data after the document" : json_tokener_error_desc(jerr));
        json_object_put(doc);
        hs_err_for(q, r, 400, why);
        return NULL;
    }
    return doc;
}

/* ---- routing ---- */

static int split_path(char *path, const char **segs, int max)
{
    int n = 0;
    for (char *save = NULL, *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return -1;
        segs[n++] = s;
    }
    return n;
}

static int pattern_matches(const char *pattern, const char *const *segs, int nsegs)
{
    char buf[64];
    const char *ps[8];
    snprintf(buf, sizeof(buf), "%s", pattern);
    int n = split_path(buf, ps, 8);
    if (n != nsegs)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(ps[i], "*") != 0 && strcmp(ps[i], segs[i]) != 0)
            return 0;
    return 1;
}

static const route *find_route(const hs_req *q, int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < sizeof(ROUTES) / sizeof(ROUTES[0]); i++) {
        if (!pattern_matches(ROUTES[i].pattern, q->segs, q->nsegs))
            continue;
        *path_known = 1;
        if (strcmp(ROUTES[i].method, q->method) == 0)
            return &ROUTES[i];
    }
    return NULL;
}

static const char *bearer(struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    return auth + 7;
}

/* Fault, auth and rate-limit gates before the handler; 1 when the request was answered. */
static int gate(hs_req *q, hs_resp *r, const route *rt, hs_fault *fault, hs_token **tok)
{
    if (fault->kind[0] && strcmp(fault->kind, "delay") == 0)
        usleep((useconds_t)fault->delay_ms * 1000);
    if (fault->kind[0] && strcmp(fault->kind, "status") == 0) {
        if (fault->status == 429)
            hs_err_reason(r, 429, "Rate limit exceeded (injected)", NULL);
        else
            hs_err_for(q, r, fault->status, "Injected failure");
        snprintf(r->retry_after, sizeof(r->retry_after), "%s", fault->retry_after);
        return 1;
    }
    pthread_mutex_lock(&hs_w.mu);
    *tok = hs_find_token(q->token);
    int limited = *tok && hs_rate_check(*tok, rt->run_bucket, r) != 0;
    pthread_mutex_unlock(&hs_w.mu);
    if (!*tok) {
        hs_err_for(q, r, 401,
                     q->token ? "The API token is not valid" : "An API token is required");
        return 1;
    }
    if (limited) {
        hs_err_reason(r, 429, rt->run_bucket ? "Too many RunProject requests for this token"
                                             : "Too many requests for this token", NULL);
        return 1;
    }
    return 0;
}

/* Routes one API request; returns the operation name for counters. */
static const char *serve_api(hs_req *q, hs_resp *r, hs_fault *fault)
{
    int path_known;
    const route *rt = find_route(q, &path_known);
    if (!rt) {
        hs_err_reason(r, path_known ? 405 : 404,
                      path_known ? "Method not allowed on this path" : "No such endpoint", NULL);
        return "unknown";
    }
    q->code_family = rt->family == FAM_CODE;
    pthread_mutex_lock(&hs_w.mu);
    if (!hs_fault_pick(rt->op, fault))
        fault->kind[0] = '\0';
    pthread_mutex_unlock(&hs_w.mu);
    if (strcmp(fault->kind, "drop_before") == 0)
        return rt->op;
    hs_token *tok = NULL;
    if (!gate(q, r, rt, fault, &tok))
        rt->handler(q, r, tok);
    return rt->op;
}

/* ---- responses with post-processing faults ---- */

typedef struct trickle {
    char *body;
    size_t len, stop;   /* bytes to send before stopping (truncate) */
    int delay_ms;       /* per chunk (slow_body) */
} trickle;

static ssize_t trickle_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    trickle *t = cls;
    if (pos >= t->stop)
        return pos >= t->len ? MHD_CONTENT_READER_END_OF_STREAM
                             : MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->stop - (size_t)pos;
    if (t->delay_ms) {
        usleep((useconds_t)t->delay_ms * 1000);
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

static struct MHD_Response *make_response(hs_resp *r, const hs_fault *fault)
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
            return MHD_create_response_from_callback(t->len, 1024, trickle_read, t, trickle_free);
        }
    }
    body = r->body ? r->body : "";
    return MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, hs_resp *r, const hs_fault *fault)
{
    struct MHD_Response *resp = make_response(r, fault);
    if (!resp)
        return MHD_NO;
    if (r->body || fault->kind[0])
        MHD_add_response_header(resp, "Content-Type",
                                r->content_type[0] ? r->content_type : "application/json");
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
    char path[1024], host[160];
    hs_req q = {.method = method, .conn = conn, .body = up->body, .body_len = up->len};
    hs_resp r = {0};
    hs_fault fault = {0};
    host_url(conn, host, sizeof(host));
    q.host_url = host;
    q.token = bearer(conn);
    snprintf(path, sizeof(path), "%s", url);
    q.path = url;
    const char *op = "unknown";
    if (up->too_large) {
        hs_err_reason(&r, 413, "The request body is too large", NULL);
    } else if (strncmp(url, "/__sim/", 7) == 0 || strcmp(url, "/__sim") == 0) {
        hs_control_route(&q, &r);
        return send_resp(conn, &r, &fault) == MHD_YES ? (free(r.body), MHD_YES)
                                                      : (free(r.body), MHD_NO);
    } else {
        char *p = strncmp(path, "/api/", 5) == 0 ? path + 4 : path;
        q.nsegs = split_path(p, q.segs, 8);
        if (q.nsegs < 0) {
            q.nsegs = 0;
            hs_err_reason(&r, 404, "No such endpoint", NULL);
        } else {
            op = serve_api(&q, &r, &fault);
        }
    }
    int drop = !strcmp(fault.kind, "drop_before") || !strcmp(fault.kind, "drop_after");
    pthread_mutex_lock(&hs_w.mu);
    hs_count(op, drop ? 0 : r.status);
    pthread_mutex_unlock(&hs_w.mu);
    /* Returning MHD_NO makes libmicrohttpd close the connection without an answer. */
    enum MHD_Result ok = drop ? MHD_NO : send_resp(conn, &r, &fault);
    free(r.body);
    return ok;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    upload *up = *con_cls;
    if (up) {
        free(up->body);
        free(up);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *hs_server_start(const struct sockaddr *addr, unsigned threads, int ipv6,
                                   const hs_tls *tls)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    /* Without TLS the certificate options are skipped by ending the list early. */
    return MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
                            MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
                            tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END,
                            tls ? tls->key_pem : NULL,
                            MHD_OPTION_HTTPS_MEM_CERT, tls ? tls->cert_pem : NULL,
                            MHD_OPTION_END);
}
