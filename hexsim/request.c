/*
 * request.c - the request side of hexsim that needs no socket: query and body helpers,
 * the route table, the fault/auth/rate-limit gates and dispatch to the handlers.
 * server.c feeds it requests from libmicrohttpd; tests/fuzz/fuzz_hexsim.c feeds it directly.
 */
#include "hexsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { FAM_REASON, FAM_CODE } err_family;

typedef struct route {
    const char *method;
    const char *pattern; /* segments after an optional "/api"; "*" matches one segment */
    const char *op;      /* the openapi operationId, used for counters and faults */
    err_family family;
    int run_bucket; /* RunProject has its own rate limit */
    hs_handler handler;
} route;

/* Operations whose spec lists a 422 answer (the variant's status for unknown objects). */
static const char *const DECLARE_422[] = {"RunProject",           "GetRunStatus",
                                          "GetProjectRuns",       "CancelRun",
                                          "CreateDataConnection", "EditDataConnection"};

static int declares_422(const char *op)
{
    for (size_t i = 0; i < sizeof(DECLARE_422) / sizeof(DECLARE_422[0]); i++)
        if (!strcmp(op, DECLARE_422[i]))
            return 1;
    return 0;
}

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
    {"POST", "v1/data-connections", "CreateDataConnection", FAM_REASON, 0, hs_h_create_connection},
    {"GET", "v1/data-connections/*", "GetDataConnection", FAM_REASON, 0, hs_h_get_connection},
    {"PATCH", "v1/data-connections/*", "EditDataConnection", FAM_REASON, 0, hs_h_edit_connection},
    {"GET", "v1/collections", "ListCollections", FAM_REASON, 0, hs_h_list_collections},
    {"POST", "v1/collections", "CreateCollection", FAM_REASON, 0, hs_h_create_collection},
    {"GET", "v1/collections/*", "GetCollection", FAM_REASON, 0, hs_h_get_collection},
    {"PATCH", "v1/collections/*", "EditCollection", FAM_REASON, 0, hs_h_edit_collection},
};

/* ---- request helpers used by the handlers ---- */

const char *hs_query(const hs_req *q, const char *name)
{
    return q->arg ? q->arg(q->arg_ctx, name) : NULL;
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

int hs_query_all(const hs_req *q, const char *name, const char **out, int max)
{
    if (q->arg_all)
        return q->arg_all(q->arg_ctx, name, out, max);
    const char *v = hs_query(q, name);
    if (v && max > 0)
        out[0] = v;
    return v && max > 0;
}

/* application/json or application/<anything>+json, with or without parameters. */
static int is_json_type(const char *type)
{
    if (!type)
        return 0;
    size_t len = strcspn(type, ";");
    while (len > 0 && (type[len - 1] == ' ' || type[len - 1] == '\t'))
        len--;
    if (len == 16 && !strncasecmp(type, "application/json", 16))
        return 1;
    return len > 17 && !strncasecmp(type, "application/", 12) &&
           !strncasecmp(type + len - 5, "+json", 5);
}

json_object *hs_body_json(const hs_req *q, hs_resp *r)
{
    if (!q->body || q->body_len == 0 || (q->is_api && !is_json_type(q->content_type)))
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

int hs_is_uuid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        char c = s[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (shape[i] == '-' ? c != '-' : !hex)
            return 0;
    }
    return s[sizeof(shape) - 1] == '\0';
}

int hs_split_path(char *path, const char **segs, int max)
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
    int n = hs_split_path(buf, ps, 8);
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

/* Fault, auth and rate-limit gates before the handler; 1 when the request was answered. */
static int gate(hs_req *q, hs_resp *r, const route *rt, hs_fault *fault, hs_token **tok)
{
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
        hs_err_for(q, r, 401, q->token ? "The API token is not valid" : "An API token is required");
        return 1;
    }
    if (limited) {
        hs_err_reason(r, 429,
                      rt->run_bucket ? "Too many RunProject requests for this token"
                                     : "Too many requests for this token",
                      NULL);
        return 1;
    }
    return 0;
}

/* What the spec's parameter rules refuse before any handler: a repeated query key, an id
 * in the path that is not a UUID. 1 when the request was answered (400). */
static int refuse_params(hs_req *q, hs_resp *r, const route *rt)
{
    char why[160], buf[64];
    const char *ps[8];
    if (q->repeated_arg) {
        snprintf(why, sizeof(why), "The query parameter \"%.40s\" is given more than once",
                 q->repeated_arg);
        hs_err_for(q, r, 400, why);
        return 1;
    }
    snprintf(buf, sizeof(buf), "%s", rt->pattern);
    int n = hs_split_path(buf, ps, 8);
    for (int i = 0; i < n && i < q->nsegs; i++)
        if (!strcmp(ps[i], "*") && !hs_is_uuid(q->segs[i])) {
            snprintf(why, sizeof(why), "The %s id in the path is not a valid id (a UUID)",
                     i == 4 ? "run" : ps[i - 1]);
            hs_err_for(q, r, 400, why);
            return 1;
        }
    return 0;
}

/* Routes one API request; returns the operation name for counters. */
const char *hs_serve_api(hs_req *q, hs_resp *r, hs_fault *fault)
{
    int path_known;
    const route *rt = find_route(q, &path_known);
    if (!rt) {
        hs_err_reason(r, path_known ? 405 : 404,
                      path_known ? "Method not allowed on this path" : "No such endpoint", NULL);
        return "unknown";
    }
    q->code_family = rt->family == FAM_CODE;
    q->declares_422 = declares_422(rt->op);
    q->is_api = 1;
    if (!q->delay_done) {
        pthread_mutex_lock(&hs_w.mu);
        if (!hs_fault_pick(rt->op, fault))
            fault->kind[0] = '\0';
        pthread_mutex_unlock(&hs_w.mu);
        /* A delay comes before everything, the auth and rate checks included. */
        if (!strcmp(fault->kind, "delay") && fault->delay_ms > 0) {
            r->hold_ms = fault->delay_ms;
            return rt->op;
        }
    }
    if (strcmp(fault->kind, "drop_before") == 0)
        return rt->op;
    hs_token *tok = NULL;
    if (!gate(q, r, rt, fault, &tok) && !refuse_params(q, r, rt)) {
        rt->handler(q, r, tok);
        /* status_after: the work is done (a RunProject created its run), then it fails. */
        if (!strcmp(fault->kind, "status_after") && r->status / 100 == 2) {
            r->content_type[0] = '\0';
            hs_err_for(q, r, fault->status, "Injected failure after the work was done");
        }
    }
    return rt->op;
}
