/*
 * api_direct.c - the direct calls: Hex's list, get and admin endpoints (hex.h's
 * catalogue) and hexrun_request, each one request through the engine; see api_int.h.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "buf.h"
#include "errors.h"
#include "hex.h"
#include "http.h"
#include "reqpath.h"

#define MAX_PAGES 10000
#define ID_MAX 128
/* A list query beyond this is a mistake: it would fail as a transport error that is
 * retried, not as the caller's bad argument. */
#define QUERY_MAX 2048

/* One request through the engine; blocks until it is final. On success *out (may be
 * NULL) receives the body; on failure last_error holds the redacted detail. */
static int direct_call(hexrun_client *c, hexrun__direct *d, int32_t *out_status, char **out,
                       int keep_body_on_error)
{
    pthread_mutex_lock(&c->jobs.mu);
    int rc = c->shutting_down ? HEXRUN_E_SHUTDOWN : hexrun__engine_queue_direct(c->engine, d);
    pthread_mutex_unlock(&c->jobs.mu);
    if (rc == HEXRUN_OK)
        rc = hexrun__engine_kick(c->engine);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "%s: %s", d->endpoint, hexrun_strerror(rc));
    pthread_mutex_lock(&c->jobs.mu);
    /* The engine finishes every queued direct call, also when it stops (and within the
     * call's deadline otherwise). Counted as a waiter: shutdown frees the client only
     * after this thread is done with it. */
    c->waiters++;
    while (!d->done)
        pthread_cond_wait(&c->jobs.cv, &c->jobs.mu);
    if (--c->waiters == 0 && c->shutting_down)
        pthread_cond_broadcast(&c->jobs.cv);
    pthread_mutex_unlock(&c->jobs.mu);
    if (out_status)
        *out_status = d->status;
    if (d->code == HEXRUN_OK || keep_body_on_error) {
        if (out)
            *out = d->response;
        else
            free(d->response);
    } else {
        free(d->response);
    }
    if (d->code != HEXRUN_OK)
        return hexrun__error_set(d->code, "%s", d->message);
    return HEXRUN_OK;
}

static int direct_simple(hexrun_client *c, const char *endpoint, const char *method,
                         const char *path, const char *query, const char *body, char **out)
{
    hexrun__direct d = {
        .endpoint = endpoint, .method = method, .path = path, .query = query, .body = body};
    return direct_call(c, &d, NULL, out, 0);
}

/* A path from a format and one escaped id (format holds one %s). */
static int id_path(const char *fn, const char *what, const char *id, int uuid, const char *fmt,
                   char *path, size_t pathlen)
{
    if (!id)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s is NULL", fn, what);
    if (!id[0] || strlen(id) >= ID_MAX)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s must be 1 to %d bytes", fn, what,
                                 ID_MAX - 1);
    if (uuid && hexrun__api_check_uuid(fn, what, id) != HEXRUN_OK)
        return HEXRUN_E_INVALID_ARG;
    /* "." and ".." would be resolved away: group_delete("..") would DELETE /api/v1/. */
    if (hexrun__is_dot_segment(id))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s '%s' is not an id", fn, what, id);
    char esc[3 * ID_MAX];
    if (hexrun__http_escape(id, esc, sizeof esc) < 0)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s cannot be encoded", fn, what);
    snprintf(path, pathlen, fmt, esc);
    return HEXRUN_OK;
}

static int check_out(const char *fn, char **out)
{
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    return HEXRUN_OK;
}

static int check_body(const char *fn, const char *body, int want_object)
{
    if (!body)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: body_json is NULL", fn);
    char err[HEXRUN__ERR_MAX];
    if (hexrun__hex_validate_json(body, want_object, err, sizeof err) != HEXRUN_OK)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: body_json: %s", fn, err);
    return HEXRUN_OK;
}

static int query_ok(const char *q)
{
    for (; q && *q; q++)
        if (!isalnum((unsigned char)*q) && !strchr("-._~=&%+,:", *q))
            return 0;
    return 1;
}

/* Fetch every page: `next` turns a page (asked with `query`) into the query of the
 * following one, from the caller's `base_query`. */
typedef int (*next_query_fn)(const char *base_query, const char *query, const char *body,
                             char **next_query);

/* The queries of the pages read so far: a query asked twice would get the same page again
 * (a server repeating its cursor, or a cursor the caller's query already holds), and
 * following it would read pages until MAX_PAGES. */
typedef struct seen_queries {
    char **q;
    size_t n, cap;
} seen_queries;

/* The page (1-based) that was asked with q, or 0. */
static size_t seen_page(const seen_queries *s, const char *q)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->q[i], q ? q : "") == 0)
            return i + 1;
    return 0;
}

static int seen_add(seen_queries *s, const char *q)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **grown = realloc(s->q, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->q = grown;
        s->cap = cap;
    }
    if (!(s->q[s->n] = strdup(q ? q : "")))
        return -1;
    s->n++;
    return 0;
}

static void seen_free(seen_queries *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->q[i]);
    free(s->q);
}

/* One page of list_pages: fetch it with q, add it to pages, and work out the next query
 * (*nq, NULL after the last page). */
static int list_page(hexrun_client *c, const char *endpoint, const char *path, const char *query,
                     const char *q, int n, hexrun__hex_pages *pages, next_query_fn next, char **nq)
{
    char *body = NULL, err[HEXRUN__ERR_MAX];
    *nq = NULL;
    int rc = direct_simple(c, endpoint, "GET", path, q, NULL, &body);
    int prc = rc == HEXRUN_OK ? hexrun__hex_pages_add(pages, body, strlen(body), err, sizeof err)
                              : HEXRUN_OK;
    if (prc != HEXRUN_OK) /* NOMEM stays NOMEM: the page was not at fault */
        rc = hexrun__error_set(prc, "%s: page %d: %s", endpoint, n + 1, err);
    if (rc == HEXRUN_OK)
        rc = next(query, q, body, nq);
    free(body);
    return rc;
}

static int list_pages(hexrun_client *c, const char *endpoint, const char *path, const char *query,
                      const char *array_key, next_query_fn next, char **out)
{
    hexrun__hex_pages *pages = hexrun__hex_pages_new(array_key);
    if (!pages)
        return hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
    seen_queries seen = {0};
    char *q = query ? strdup(query) : NULL;
    int rc = query && !q ? hexrun__error_set(HEXRUN_E_NOMEM, "out of memory") : HEXRUN_OK;
    for (int n = 0; rc == HEXRUN_OK; n++) {
        size_t again = seen_page(&seen, q);
        if (again) {
            rc = hexrun__error_set(HEXRUN_E_PROTOCOL,
                                   "%s: page %d would be asked with the query of page %zu "
                                   "(%.200s): the cursor repeats, so the pages would never "
                                   "end; stopped after %d pages",
                                   endpoint, n + 1, again, q ? q : "", n);
            break;
        }
        if (n == MAX_PAGES) {
            rc =
                hexrun__error_set(HEXRUN_E_PROTOCOL, "%s: more than %d pages", endpoint, MAX_PAGES);
            break;
        }
        if (seen_add(&seen, q) != 0) {
            rc = hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
            break;
        }
        char *nq = NULL;
        rc = list_page(c, endpoint, path, query, q, n, pages, next, &nq);
        free(q);
        q = nq;
        if (rc == HEXRUN_OK && !q)
            break;
    }
    free(q);
    seen_free(&seen);
    if (rc == HEXRUN_OK && !(*out = hexrun__hex_pages_render(pages)))
        rc = hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
    hexrun__hex_pages_free(pages);
    return rc;
}

/* Append the parameters of query but those starting with one of drop ("after=") to b,
 * each followed by '&'. */
static void append_query_without(hexrun__buf *b, const char *query, const char *const *drop)
{
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        int keep = len > 0;
        for (const char *const *d = drop; *d && keep; d++)
            keep = strncmp(p, *d, strlen(*d)) != 0;
        if (keep) {
            hexrun__buf_append(b, p, len);
            hexrun__buf_appends(b, "&");
        }
        p += len + (p[len] == '&');
    }
}

/* The next page of a cursor list: the caller's query with its own cursor (after=,
 * before=) replaced by the page's pagination.after. */
static int next_cursor(const char *base_query, const char *query, const char *body,
                       char **next_query)
{
    (void)query;
    char *after = NULL, err[HEXRUN__ERR_MAX];
    *next_query = NULL;
    int rc = hexrun__hex_cursor_after(body, strlen(body), &after, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "pagination: %s",
                                 rc == HEXRUN_E_NOMEM ? "out of memory" : err);
    if (!after)
        return HEXRUN_OK;
    char esc[1024];
    int ok = hexrun__http_escape(after, esc, sizeof esc) >= 0;
    free(after);
    if (!ok)
        return hexrun__error_set(HEXRUN_E_PROTOCOL, "pagination: cursor too long");
    static const char *const cursors[] = {"after=", "before=", NULL};
    hexrun__buf b = HEXRUN__BUF_INIT;
    append_query_without(&b, base_query, cursors);
    hexrun__buf_appendf(&b, "after=%s", esc);
    *next_query = hexrun__buf_steal(&b);
    return *next_query ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

static int cursor_list(hexrun_client *c, const char *fn, hexrun__hex_op op, const char *query,
                       uint32_t flags, char **out)
{
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(op);
    int rc = hexrun__api_client_check(c, fn);
    if (rc == HEXRUN_OK)
        rc = check_out(fn, out);
    if (rc != HEXRUN_OK)
        return rc;
    if (!query_ok(query))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: query may hold only letters, digits and -._~=&%%+,:", fn);
    if (query && strlen(query) > QUERY_MAX)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: query is longer than %d bytes", fn,
                                 QUERY_MAX);
    if (flags > HEXRUN_LIST_ALL_PAGES)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: unknown flags 0x%x", fn,
                                 (unsigned)flags);
    const char *q = query && query[0] ? query : NULL;
    if (flags == HEXRUN_LIST_ONE_PAGE)
        return direct_simple(c, ep->operation, ep->method, ep->path, q, NULL, out);
    return list_pages(c, ep->operation, ep->path, q, ep->list_key, next_cursor, out);
}

/* A public direct call on one resource, as its wrapper describes it. */
typedef struct {
    const char *fn;      /* the public function, for messages */
    hexrun__hex_op op;   /* the endpoint (hex.h's catalogue) */
    const char *id_name; /* the id in the path ("group_id"); NULL when the path has none */
    const char *id;
    int id_uuid;    /* 1: the id must have the UUID shape (project ids) */
    int sends_body; /* 1: body is a JSON object to send (create, edit) */
    const char *body;
    char **out; /* required by a GET; a write may pass NULL to drop the answer */
} direct_args;

/* The one path of the per-resource direct calls: the same checks in the same order
 * (client, out, id, body), the method and path from the catalogue. */
static int direct_op(hexrun_client *c, const direct_args *a)
{
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(a->op);
    char path[512];
    int rc = hexrun__api_client_check(c, a->fn);
    if (rc == HEXRUN_OK && strcmp(ep->method, "GET") == 0)
        rc = check_out(a->fn, a->out);
    else if (rc == HEXRUN_OK && a->out)
        *a->out = NULL;
    if (rc == HEXRUN_OK && a->id_name)
        rc = id_path(a->fn, a->id_name, a->id, a->id_uuid, ep->path, path, sizeof path);
    else if (rc == HEXRUN_OK)
        snprintf(path, sizeof path, "%s", ep->path);
    if (rc == HEXRUN_OK && a->sends_body)
        rc = check_body(a->fn, a->body, 1);
    if (rc != HEXRUN_OK)
        return rc;
    const char *body = a->sends_body ? a->body : NULL;
    return direct_simple(c, ep->operation, ep->method, path, NULL, body, a->out);
}

static const char *const run_statuses[] = {
    "PENDING", "RUNNING", "COMPLETED", "ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL", NULL};
static const char *const run_triggers[] = {"API", "SCHEDULED", "APP_REFRESH", "ALL", NULL};

static int one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return 1;
    return 0;
}

/* The next page of GetProjectRuns. nextPage's format is not in Hex's spec: its offset
 * replaces the query's; a nextPage without one is sent back with its query as Hex gave it
 * (an opaque cursor), or, with no query at all, the offset counts the runs read. */
static int next_offset(const char *base_query, const char *query, const char *body,
                       char **next_query)
{
    hexrun__hex_next_page next;
    char err[HEXRUN__ERR_MAX];
    *next_query = NULL;
    int rc = hexrun__hex_runs_next(body, strlen(body), &next, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "GetProjectRuns nextPage: %s", err);
    if (!next.present)
        return HEXRUN_OK;
    if (next.offset < 0 && next.query[0] && !query_ok(next.query))
        return hexrun__error_set(HEXRUN_E_PROTOCOL,
                                 "GetProjectRuns nextPage: its query holds characters that "
                                 "are not URL-safe: %.200s",
                                 next.query);
    hexrun__buf b = HEXRUN__BUF_INIT;
    if (next.offset < 0 && next.query[0]) {
        hexrun__buf_appends(&b, next.query);
    } else {
        /* Both queries hold offset= (runs_query); query is this page's. */
        static const char *const offsets[] = {"offset=", NULL};
        const char *at = strstr(query, "offset=");
        int64_t off = next.offset >= 0 ? next.offset
                                       : (at ? strtoll(at + 7, NULL, 10) : 0) + (int64_t)next.runs;
        append_query_without(&b, base_query, offsets);
        hexrun__buf_appendf(&b, "offset=%lld", (long long)off);
    }
    *next_query = hexrun__buf_steal(&b);
    return *next_query ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

static int runs_query(const char *status, const char *trigger, int32_t limit, int32_t offset,
                      char *q, size_t qlen)
{
    const char *fn = "hexrun_runs_list";
    if (status && !one_of(status, run_statuses))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: status '%.40s' is not one of PENDING, RUNNING, "
                                 "COMPLETED, ERRORED, KILLED, UNABLE_TO_ALLOCATE_KERNEL",
                                 fn, status);
    if (trigger && !one_of(trigger, run_triggers))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: trigger '%.40s' is not one of API, SCHEDULED, "
                                 "APP_REFRESH, ALL",
                                 fn, trigger);
    if (limit < 0 || limit > 100 || offset < 0)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: limit must be 0 (default) or 1..100 and offset >= 0", fn);
    int n = 0;
    if (status)
        n += snprintf(q + n, qlen - (size_t)n, "statusFilter=%s&", status);
    if (trigger)
        n += snprintf(q + n, qlen - (size_t)n, "runTriggerFilter=%s&", trigger);
    if (limit)
        n += snprintf(q + n, qlen - (size_t)n, "limit=%d&", (int)limit);
    snprintf(q + n, qlen - (size_t)n, "offset=%d", (int)offset);
    return HEXRUN_OK;
}

int hexrun_runs_list(hexrun_client *client, const char *project_id, const char *status,
                     const char *trigger, int32_t limit, int32_t offset, uint32_t flags, char **out)
{
    const char *fn = "hexrun_runs_list";
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(HEXRUN__EP_GET_PROJECT_RUNS);
    char path[256], q[256];
    int rc = hexrun__api_client_check(client, fn);
    if (rc == HEXRUN_OK)
        rc = check_out(fn, out);
    if (rc == HEXRUN_OK)
        rc = id_path(fn, "project_id", project_id, 1, ep->path, path, sizeof path);
    if (rc == HEXRUN_OK)
        rc = runs_query(status, trigger, limit, offset, q, sizeof q);
    if (rc == HEXRUN_OK && flags > HEXRUN_LIST_ALL_PAGES)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: unknown flags 0x%x", fn, (unsigned)flags);
    if (rc != HEXRUN_OK)
        return rc;
    if (flags == HEXRUN_LIST_ONE_PAGE)
        return direct_simple(client, ep->operation, ep->method, path, q, NULL, out);
    return list_pages(client, ep->operation, path, q, ep->list_key, next_offset, out);
}

int hexrun_run_get(hexrun_client *client, const char *project_id, const char *run_id, char **out)
{
    const char *fn = "hexrun_run_get";
    char pid[256], path[512];
    int rc = hexrun__api_client_check(client, fn);
    if (rc == HEXRUN_OK)
        rc = check_out(fn, out);
    if (rc == HEXRUN_OK)
        rc = id_path(fn, "project_id", project_id, 1, "%s", pid, sizeof pid);
    if (rc == HEXRUN_OK)
        rc = hexrun__api_check_uuid(fn, "run_id", run_id);
    if (rc != HEXRUN_OK)
        return rc;
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(HEXRUN__EP_GET_RUN_STATUS);
    snprintf(path, sizeof path, ep->path, pid, run_id);
    return direct_simple(client, ep->operation, ep->method, path, NULL, NULL, out);
}

int hexrun_projects_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_projects_list", HEXRUN__EP_LIST_PROJECTS, query, flags, out);
}

int hexrun_project_get(hexrun_client *client, const char *project_id, char **out)
{
    direct_args a = {.fn = "hexrun_project_get",
                     .op = HEXRUN__EP_GET_PROJECT,
                     .id_name = "project_id",
                     .id = project_id,
                     .id_uuid = 1,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_user_me(hexrun_client *client, char **out)
{
    direct_args a = {.fn = "hexrun_user_me", .op = HEXRUN__EP_ME, .out = out};
    return direct_op(client, &a);
}

int hexrun_users_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_users_list", HEXRUN__EP_LIST_USERS, query, flags, out);
}

int hexrun_user_deactivate(hexrun_client *client, const char *user_id, char **out)
{
    direct_args a = {.fn = "hexrun_user_deactivate",
                     .op = HEXRUN__EP_DEACTIVATE_USER,
                     .id_name = "user_id",
                     .id = user_id,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_groups_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_groups_list", HEXRUN__EP_LIST_GROUPS, query, flags, out);
}

int hexrun_group_get(hexrun_client *client, const char *group_id, char **out)
{
    direct_args a = {.fn = "hexrun_group_get",
                     .op = HEXRUN__EP_GET_GROUP,
                     .id_name = "group_id",
                     .id = group_id,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_group_create(hexrun_client *client, const char *body_json, char **out)
{
    direct_args a = {.fn = "hexrun_group_create",
                     .op = HEXRUN__EP_CREATE_GROUP,
                     .sends_body = 1,
                     .body = body_json,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_group_edit(hexrun_client *client, const char *group_id, const char *body_json,
                      char **out)
{
    direct_args a = {.fn = "hexrun_group_edit",
                     .op = HEXRUN__EP_EDIT_GROUP,
                     .id_name = "group_id",
                     .id = group_id,
                     .sends_body = 1,
                     .body = body_json,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_group_delete(hexrun_client *client, const char *group_id)
{
    direct_args a = {.fn = "hexrun_group_delete",
                     .op = HEXRUN__EP_DELETE_GROUP,
                     .id_name = "group_id",
                     .id = group_id};
    return direct_op(client, &a);
}

int hexrun_connections_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_connections_list", HEXRUN__EP_LIST_DATA_CONNECTIONS, query,
                       flags, out);
}

int hexrun_connection_get(hexrun_client *client, const char *connection_id, char **out)
{
    direct_args a = {.fn = "hexrun_connection_get",
                     .op = HEXRUN__EP_GET_DATA_CONNECTION,
                     .id_name = "connection_id",
                     .id = connection_id,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_connection_create(hexrun_client *client, const char *body_json, char **out)
{
    direct_args a = {.fn = "hexrun_connection_create",
                     .op = HEXRUN__EP_CREATE_DATA_CONNECTION,
                     .sends_body = 1,
                     .body = body_json,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_connection_edit(hexrun_client *client, const char *connection_id, const char *body_json,
                           char **out)
{
    direct_args a = {.fn = "hexrun_connection_edit",
                     .op = HEXRUN__EP_EDIT_DATA_CONNECTION,
                     .id_name = "connection_id",
                     .id = connection_id,
                     .sends_body = 1,
                     .body = body_json,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_collections_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_collections_list", HEXRUN__EP_LIST_COLLECTIONS, query, flags,
                       out);
}

int hexrun_collection_get(hexrun_client *client, const char *collection_id, char **out)
{
    direct_args a = {.fn = "hexrun_collection_get",
                     .op = HEXRUN__EP_GET_COLLECTION,
                     .id_name = "collection_id",
                     .id = collection_id,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_request(hexrun_client *client, const char *method, const char *path,
                   const char *body_json, int32_t *out_status, char **out)
{
    const char *fn = "hexrun_request";
    static const char *const methods[] = {"GET", "POST", "PATCH", "PUT", "DELETE", NULL};
    int rc = hexrun__api_client_check(client, fn);
    if (rc != HEXRUN_OK)
        return rc;
    if (out)
        *out = NULL;
    if (out_status)
        *out_status = 0;
    if (!method || !one_of(method, methods))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: method must be GET, POST, PATCH, PUT or DELETE", fn);
    char why[128] = "is NULL";
    if (!path || !hexrun__request_path_ok(path, why, sizeof why))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: path %s", fn, why);
    if (body_json && check_body(fn, body_json, 0) != HEXRUN_OK)
        return HEXRUN_E_INVALID_ARG;
    /* A RunProject sent this way (either path generation, however written) is paid from
     * the run budget like hexrun_submit. */
    hexrun__direct d = {.endpoint = "request",
                        .method = method,
                        .path = path,
                        .body = body_json,
                        .run_bucket = hexrun__request_is_run_project(method, path)};
    return direct_call(client, &d, out_status, out, 1);
}
