/* hex.c - Hex API bodies <-> plain C structs; see hex.h. The only json-c user. */
#include "hex.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "budget.h"
#include "buf.h"

#define EXCERPT_MAX 200

/* ---------------------------------------------------------------------------------------
 * Parsing helpers
 * ------------------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Parse exactly `len` bytes as one JSON document (strict: no trailing garbage, no
 * embedded NUL). *out is NULL for the document "null". Returns 0, or -1 with err filled
 * (HEXRUN_E_NOMEM when memory ran out: not the document's fault). */
static int parse_doc(const char *body, size_t len, json_object **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!body || len > (size_t)INT32_MAX - 1) {
        set_err(err, errlen, "%s", "no body or body too large to parse");
        return -1;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        set_err(err, errlen, "%s", "out of memory");
        return HEXRUN_E_NOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    /* A bare number at the end is finished by the end of input: a NUL fed on its own, so
     * the body is parsed where it lies (a copy would double a large answer's memory). */
    if (!root && jerr == json_tokener_continue) {
        root = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    int ok = jerr == json_tokener_success && end == len && len > 0;
    if (!ok) {
        json_object_put(root);
        root = NULL;
        set_err(err, errlen, "invalid JSON at byte %zu: %s", end,
                len == 0                       ? "empty body"
                : jerr == json_tokener_success ? "unexpected character"
                                               : json_tokener_error_desc(jerr));
    }
    json_tokener_free(tok);
    *out = root;
    return ok ? 0 : -1;
}

/* parse_doc for an object; *nomem (may be NULL) tells an out-of-memory failure apart. */
static json_object *parse_object_nomem(const char *body, size_t len, char *err, size_t errlen,
                                       int *nomem)
{
    json_object *root = NULL;
    int rc = parse_doc(body, len, &root, err, errlen);
    if (nomem)
        *nomem = rc == HEXRUN_E_NOMEM;
    if (rc != 0)
        return NULL;
    if (!json_object_is_type(root, json_type_object)) {
        set_err(err, errlen, "expected a JSON object, got %s",
                json_type_to_name(json_object_get_type(root)));
        json_object_put(root);
        return NULL;
    }
    return root;
}

static json_object *parse_object(const char *body, size_t len, char *err, size_t errlen)
{
    return parse_object_nomem(body, len, err, errlen, NULL);
}

static json_object *field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* Copy a string field into out. Absent or null gives "" (an error when required). */
static int get_string(json_object *obj, const char *key, char *out, size_t outlen, int required,
                      char *err, size_t errlen)
{
    json_object *v = field(obj, key);
    out[0] = '\0';
    if (!v) {
        if (!required)
            return HEXRUN_OK;
        set_err(err, errlen, "missing field '%s'", key);
        return HEXRUN_E_PROTOCOL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field '%s' is not a string", key);
        return HEXRUN_E_PROTOCOL;
    }
    size_t n = (size_t)json_object_get_string_len(v);
    if (n >= outlen || memchr(json_object_get_string(v), '\0', n)) {
        set_err(err, errlen, "field '%s' is too long or holds a NUL", key);
        return HEXRUN_E_PROTOCOL;
    }
    memcpy(out, json_object_get_string(v), n + 1);
    if (required && n == 0) {
        set_err(err, errlen, "field '%s' is empty", key);
        return HEXRUN_E_PROTOCOL;
    }
    return HEXRUN_OK;
}

/*
 * Optional fields never fail a run: Hex may send them longer, of another type or out of
 * the range the spec gives, and a job must not stall on a field it does not need.
 */

/* Copy at most outlen - 1 bytes of s, cut at a UTF-8 character boundary. */
static void copy_truncated(char *out, size_t outlen, const char *s, size_t n)
{
    if (n >= outlen) {
        n = outlen - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* s[n] would start the cut: drop the partial character before it */
    }
    memcpy(out, s, n);
    out[n] = '\0'; /* an embedded NUL ends the text earlier: harmless */
}

/* An optional text field: a string is kept (truncated to fit), a number or boolean is kept
 * as its JSON text, anything else (absent, null, object, array) gives "". */
static void get_text(json_object *obj, const char *key, char *out, size_t outlen)
{
    json_object *v = field(obj, key);
    out[0] = '\0';
    if (!v)
        return;
    if (json_object_is_type(v, json_type_string)) {
        copy_truncated(out, outlen, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
    } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double) ||
               json_object_is_type(v, json_type_boolean)) {
        const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (t)
            copy_truncated(out, outlen, t, strlen(t));
    }
}

/* runUrl: a string that fits, else "" (a truncated URL would lead somewhere else). */
static void get_url(json_object *obj, char *out, size_t outlen)
{
    json_object *v = field(obj, "runUrl");
    out[0] = '\0';
    if (v && json_object_is_type(v, json_type_string) &&
        (size_t)json_object_get_string_len(v) < outlen &&
        !memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)))
        memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
}

/* elapsedTime: milliseconds, or -1 when absent, null, not a number or out of range. */
static int64_t get_elapsed(json_object *obj)
{
    json_object *v = field(obj, "elapsedTime");
    if (!v || (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)))
        return -1;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < 0 || d > 9.0e15)
        return -1;
    return (int64_t)(d + 0.5); /* not llround: the library does not link libm */
}

/* A required id: a string with the UUID shape (ids go into request paths). */
static int get_uuid(json_object *obj, const char *key, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    int rc = get_string(obj, key, out, outlen, 1, err, errlen);
    if (rc == HEXRUN_OK && !hexrun__hex_is_uuid(out)) {
        set_err(err, errlen, "field '%s' is not a UUID: '%.40s%s'", key, out,
                strlen(out) > 40 ? "..." : "");
        out[0] = '\0';
        rc = HEXRUN_E_PROTOCOL;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------------------- */

int32_t hexrun__hex_state_from_status(const char *status)
{
    static const struct {
        const char *name;
        int32_t state;
    } map[] = {
        {"PENDING", HEXRUN_STATE_PENDING},
        {"RUNNING", HEXRUN_STATE_RUNNING},
        {"COMPLETED", HEXRUN_STATE_COMPLETED},
        {"ERRORED", HEXRUN_STATE_ERRORED},
        {"KILLED", HEXRUN_STATE_KILLED},
        {"UNABLE_TO_ALLOCATE_KERNEL", HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL},
    };
    for (size_t i = 0; status && i < sizeof map / sizeof *map; i++)
        if (strcmp(status, map[i].name) == 0)
            return map[i].state;
    return HEXRUN_STATE_UNKNOWN;
}

/* status: a non-empty string when required (truncated to fit: no status Hex knows is that
 * long, so it maps to UNKNOWN); optional in a RunProject answer. */
static int get_status(json_object *obj, int required, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    json_object *v = field(obj, "status");
    out[0] = '\0';
    if (v && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
        json_object_get_string(v)[0]) {
        copy_truncated(out, outlen, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
        return HEXRUN_OK;
    }
    if (!required)
        return HEXRUN_OK;
    if (!v)
        set_err(err, errlen, "missing field '%s'", "status");
    else
        set_err(err, errlen, "field 'status' is %s",
                json_object_is_type(v, json_type_string) ? "empty" : "not a string");
    return HEXRUN_E_PROTOCOL;
}

/* Fill a run from one run object; `need_status` for GetRunStatus-shaped objects. Only
 * runId and projectId (UUIDs) and, with need_status, status can fail it. */
static int run_from_object(json_object *obj, int need_status, hexrun__hex_run *run, char *err,
                           size_t errlen)
{
    memset(run, 0, sizeof *run);
    run->elapsed_ms = -1;
    if (!json_object_is_type(obj, json_type_object)) {
        set_err(err, errlen, "a run is not a JSON object");
        return HEXRUN_E_PROTOCOL;
    }
    int rc = get_uuid(obj, "runId", run->run_id, sizeof run->run_id, err, errlen);
    if (!rc)
        rc = get_uuid(obj, "projectId", run->project_id, sizeof run->project_id, err, errlen);
    if (!rc)
        rc = get_status(obj, need_status, run->status, sizeof run->status, err, errlen);
    if (rc)
        return rc;
    get_url(obj, run->run_url, sizeof run->run_url);
    get_text(obj, "startTime", run->start_time, sizeof run->start_time);
    get_text(obj, "endTime", run->end_time, sizeof run->end_time);
    get_text(obj, "traceId", run->trace_id, sizeof run->trace_id);
    get_text(obj, "runTrigger", run->run_trigger, sizeof run->run_trigger);
    get_text(obj, "projectVersion", run->project_version, sizeof run->project_version);
    run->elapsed_ms = get_elapsed(obj);
    run->state = run->status[0] ? hexrun__hex_state_from_status(run->status) : HEXRUN_STATE_PENDING;
    return HEXRUN_OK;
}

static int parse_one_run(const char *body, size_t len, int need_status, hexrun__hex_run *run,
                         char *err, size_t errlen)
{
    json_object *root = parse_object(body, len, err, errlen);
    if (!root) {
        memset(run, 0, sizeof *run);
        return HEXRUN_E_PROTOCOL;
    }
    int rc = run_from_object(root, need_status, run, err, errlen);
    json_object_put(root);
    return rc;
}

int hexrun__hex_parse_run_created(const char *body, size_t len, hexrun__hex_run *run, char *err,
                                  size_t errlen)
{
    return parse_one_run(body, len, 0, run, err, errlen);
}

int hexrun__hex_parse_run(const char *body, size_t len, hexrun__hex_run *run, char *err,
                          size_t errlen)
{
    return parse_one_run(body, len, 1, run, err, errlen);
}

/* The offset parameter of a query string, or -1 when it has no valid one. */
static int64_t query_offset(const char *q)
{
    for (const char *p = q; p; p = strchr(p + 1, '&')) {
        const char *v = p == q ? p : p + 1;
        if (strncmp(v, "offset=", 7) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        long long off = strtoll(v + 7, &end, 10);
        if (end != v + 7 && (*end == '\0' || *end == '&' || *end == '#') && off >= 0 && errno == 0)
            return off;
    }
    return -1;
}

/* nextPage: null or absent is the last page. Its format is not in the spec: any string is
 * a next page; its offset and query are read when it has them (the URL's host is never
 * used). A value of another type is a protocol error. */
static int next_page_of(json_object *root, hexrun__hex_next_page *next, char *err, size_t errlen)
{
    json_object *v = field(root, "nextPage");
    memset(next, 0, sizeof *next);
    next->offset = -1;
    if (!v)
        return HEXRUN_OK;
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field '%s' is not a string or null", "nextPage");
        return HEXRUN_E_PROTOCOL;
    }
    const char *url = json_object_get_string(v);
    next->present = 1;
    const char *q = strchr(url, '?');
    if (!q)
        return HEXRUN_OK;
    q++;
    size_t qlen = strcspn(q, "#");
    if (qlen < sizeof next->query) {
        memcpy(next->query, q, qlen);
        next->query[qlen] = '\0';
        next->offset = query_offset(next->query);
    }
    return HEXRUN_OK;
}

static int runs_from_array(json_object *arr, hexrun__hex_run **runs, size_t *n, char *err,
                           size_t errlen)
{
    size_t count = json_object_array_length(arr);
    *runs = NULL;
    *n = 0;
    if (count == 0)
        return HEXRUN_OK;
    hexrun__hex_run *out = calloc(count, sizeof *out);
    if (!out) {
        set_err(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        char item_err[256];
        int rc = run_from_object(json_object_array_get_idx(arr, i), 1, &out[i], item_err,
                                 sizeof item_err);
        if (rc) {
            set_err(err, errlen, "runs[%zu]: %s", i, item_err);
            free(out);
            return rc;
        }
    }
    *runs = out;
    *n = count;
    return HEXRUN_OK;
}

int hexrun__hex_parse_runs_page(const char *body, size_t len, hexrun__hex_run **runs, size_t *n,
                                hexrun__hex_next_page *next, char *err, size_t errlen)
{
    *runs = NULL;
    *n = 0;
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *arr = field(root, "runs");
    int rc = HEXRUN_OK;
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "field '%s' is missing or not an array", "runs");
        rc = HEXRUN_E_PROTOCOL;
    }
    if (!rc && next)
        rc = next_page_of(root, next, err, errlen);
    if (!rc)
        rc = runs_from_array(arr, runs, n, err, errlen);
    json_object_put(root);
    return rc;
}

int hexrun__hex_runs_next(const char *body, size_t len, hexrun__hex_next_page *next, char *err,
                          size_t errlen)
{
    memset(next, 0, sizeof *next);
    next->offset = -1;
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *arr = field(root, "runs");
    int rc = next_page_of(root, next, err, errlen);
    if (!rc && arr && json_object_is_type(arr, json_type_array))
        next->runs = json_object_array_length(arr);
    json_object_put(root);
    return rc;
}

int hexrun__hex_cursor_after(const char *body, size_t len, char **after, char *err, size_t errlen)
{
    *after = NULL;
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *pag = field(root, "pagination");
    json_object *v = pag && json_object_is_type(pag, json_type_object) ? field(pag, "after") : NULL;
    int rc = HEXRUN_OK;
    if (!pag || !json_object_is_type(pag, json_type_object)) {
        set_err(err, errlen, "field '%s' is missing or not an object", "pagination");
        rc = HEXRUN_E_PROTOCOL;
    } else if (v && !json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field '%s' is not a string or null", "pagination.after");
        rc = HEXRUN_E_PROTOCOL;
    } else if (v && json_object_get_string_len(v) > 0) {
        *after = strdup(json_object_get_string(v));
        if (!*after)
            rc = HEXRUN_E_NOMEM;
    }
    json_object_put(root);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Errors (both families)
 * ------------------------------------------------------------------------------------- */

static void append_excerpt(hexrun__buf *b, const char *s, size_t len)
{
    size_t n = len < EXCERPT_MAX ? len : EXCERPT_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char ch = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        hexrun__buf_append(b, &ch, 1);
    }
    if (len > n)
        hexrun__buf_appends(b, "...");
}

static const char *str_of(json_object *v)
{
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* "details" is a string in the spec; anything else is shown as its JSON. */
static void append_details(hexrun__buf *b, json_object *details)
{
    if (!details || json_object_is_type(details, json_type_null))
        return;
    const char *s = str_of(details);
    if (!s)
        s = json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN);
    if (s && s[0]) {
        hexrun__buf_appends(b, b->len ? "; " : "");
        append_excerpt(b, s, strlen(s));
    }
}

static void append_issues(hexrun__buf *b, json_object *issues)
{
    if (!issues || !json_object_is_type(issues, json_type_array))
        return;
    size_t n = json_object_array_length(issues);
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(issues, i);
        const char *m = str_of(it) ? str_of(it) : str_of(field(it, "message"));
        if (!m)
            continue;
        hexrun__buf_appends(b, b->len ? "; " : "");
        append_excerpt(b, m, strlen(m));
    }
}

/* InvalidParamPayload: name each rejected and unknown input parameter. */
static int append_params(hexrun__buf *b, json_object *root)
{
    json_object *inv = field(root, "invalid");
    json_object *nf = field(root, "notFound");
    int seen = 0;
    size_t n = inv && json_object_is_type(inv, json_type_array) ? json_object_array_length(inv) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(inv, i);
        const char *name = str_of(field(it, "paramName"));
        const char *type = str_of(field(it, "dataType"));
        const char *val = str_of(field(it, "paramValue"));
        hexrun__buf_appends(b, seen++ || b->len ? "; " : "");
        hexrun__buf_appendf(b, "invalid input parameter '%.100s' (expected %.40s, got %.100s)",
                            name ? name : "?", type ? type : "?", val ? val : "?");
    }
    n = nf && json_object_is_type(nf, json_type_array) ? json_object_array_length(nf) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = str_of(json_object_array_get_idx(nf, i));
        hexrun__buf_appends(b, seen++ || b->len ? "; " : "");
        hexrun__buf_appendf(b, "unknown input parameter '%.100s'", name ? name : "?");
    }
    return seen || inv || nf;
}

static void copy_out(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

static int error_from_object(json_object *root, hexrun__hex_error *out)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    const char *reason = str_of(field(root, "reason"));
    const char *message = str_of(field(root, "message"));
    const char *head = reason ? reason : message;
    if (head)
        append_excerpt(&b, head, strlen(head));
    append_details(&b, field(root, "details"));
    append_issues(&b, field(root, "issues"));
    int known = append_params(&b, root) || head;
    if (known) {
        copy_out(out->message, sizeof out->message, b.failed ? "out of memory" : b.data);
        /* Parameter names and values came in unfiltered: keep the summary one line. */
        for (char *p = out->message; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        copy_out(out->trace_id, sizeof out->trace_id, str_of(field(root, "traceId")));
        copy_out(out->code, sizeof out->code, str_of(field(root, "code")));
    }
    hexrun__buf_free(&b);
    return known;
}

int hexrun__hex_parse_error(const char *body, size_t len, hexrun__hex_error *out)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return 0;
    json_object *root = parse_object(body, len, NULL, 0);
    int known = root ? error_from_object(root, out) : 0;
    json_object_put(root);
    if (!known) {
        hexrun__buf b = HEXRUN__BUF_INIT;
        append_excerpt(&b, body, len);
        copy_out(out->message, sizeof out->message, b.failed ? "" : b.data);
        hexrun__buf_free(&b);
    }
    return known;
}

/* ---------------------------------------------------------------------------------------
 * Pages
 * ------------------------------------------------------------------------------------- */

struct hexrun__hex_pages {
    char key[16];
    json_object *first; /* the first page's document */
    json_object *items; /* every page's items */
};

hexrun__hex_pages *hexrun__hex_pages_new(const char *array_key)
{
    if (!array_key || strlen(array_key) >= sizeof((hexrun__hex_pages *)0)->key)
        return NULL;
    hexrun__hex_pages *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    strcpy(p->key, array_key);
    p->items = json_object_new_array();
    if (!p->items) {
        free(p);
        return NULL;
    }
    return p;
}

int hexrun__hex_pages_add(hexrun__hex_pages *pages, const char *body, size_t len, char *err,
                          size_t errlen)
{
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *arr = field(root, pages->key);
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "field '%s' is missing or not an array", pages->key);
        json_object_put(root);
        return HEXRUN_E_PROTOCOL;
    }
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(arr, i);
        if (json_object_array_add(pages->items, json_object_get(it)) != 0) {
            json_object_put(it);
            json_object_put(root);
            set_err(err, errlen, "out of memory");
            return HEXRUN_E_NOMEM;
        }
    }
    if (!pages->first)
        pages->first = root;
    else
        json_object_put(root);
    return HEXRUN_OK;
}

/* The merged document is one page that holds everything: no further pages. */
static int clear_paging(hexrun__hex_pages *pages)
{
    json_object *doc = pages->first;
    if (strcmp(pages->key, "runs") == 0)
        return json_object_object_add(doc, "nextPage", NULL) ||
               json_object_object_add(doc, "previousPage", NULL);
    json_object *pag = json_object_new_object();
    if (!pag)
        return -1;
    if (json_object_object_add(pag, "after", NULL) || json_object_object_add(pag, "before", NULL)) {
        json_object_put(pag);
        return -1;
    }
    return json_object_object_add(doc, "pagination", pag);
}

char *hexrun__hex_pages_render(hexrun__hex_pages *pages)
{
    if (!pages || !pages->first)
        return NULL;
    if (json_object_object_add(pages->first, pages->key, json_object_get(pages->items)) != 0) {
        json_object_put(pages->items);
        return NULL;
    }
    if (clear_paging(pages) != 0)
        return NULL;
    const char *s = json_object_to_json_string_ext(
        pages->first, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? strdup(s) : NULL;
}

void hexrun__hex_pages_free(hexrun__hex_pages *pages)
{
    if (!pages)
        return;
    json_object_put(pages->first);
    json_object_put(pages->items);
    free(pages);
}

/* ---------------------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------------------- */

int hexrun__hex_validate_json(const char *json, int want_object, char *err, size_t errlen)
{
    if (!json) {
        set_err(err, errlen, "no JSON given");
        return HEXRUN_E_INVALID_ARG;
    }
    json_object *root = NULL;
    int nomem = 0;
    int rc = want_object
                 ? ((root = parse_object_nomem(json, strlen(json), err, errlen, &nomem)) ? 0 : -1)
                 : parse_doc(json, strlen(json), &root, err, errlen);
    json_object_put(root);
    if (rc == HEXRUN_E_NOMEM || nomem)
        return HEXRUN_E_NOMEM;
    return rc == 0 ? HEXRUN_OK : HEXRUN_E_INVALID_ARG;
}

int hexrun__hex_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * RunProject body
 * ------------------------------------------------------------------------------------- */

typedef enum {
    T_BOOL,
    T_STRING,
    T_OBJECT,
    T_STRINGS,
    T_NOTIFICATIONS,
    T_RUN_TYPE,
    T_SCREENSHOT
} opt_type;

typedef struct {
    const char *key;
    opt_type type;
} opt_rule;

static const opt_rule run_rules[] = {
    {"inputParams", T_OBJECT},          {"dryRun", T_BOOL},      {"updatePublishedResults", T_BOOL},
    {"useCachedSqlResults", T_BOOL},    {"updateCache", T_BOOL}, {"viewId", T_STRING},
    {"notifications", T_NOTIFICATIONS},
};

static const opt_rule notification_rules[] = {
    {"type", T_RUN_TYPE},
    {"includeSuccessScreenshot", T_BOOL},
    {"screenshotFormat", T_SCREENSHOT},
    {"slackChannelIds", T_STRINGS},
    {"userIds", T_STRINGS},
    {"groupIds", T_STRINGS},
    {"subject", T_STRING},
    {"body", T_STRING},
};

static const char *type_text(opt_type t)
{
    switch (t) {
    case T_BOOL:
        return "a boolean";
    case T_STRING:
        return "a string";
    case T_OBJECT:
        return "an object";
    case T_STRINGS:
        return "an array of strings";
    case T_NOTIFICATIONS:
        return "an array of notification objects";
    case T_RUN_TYPE:
        return "one of \"SUCCESS\", \"FAILURE\", \"ALL\"";
    case T_SCREENSHOT:
        return "\"png\" or \"pdf\"";
    }
    return "?";
}

static int is_one_of(json_object *v, const char *const *names)
{
    const char *s = str_of(v);
    for (; s && *names; names++)
        if (strcmp(s, *names) == 0)
            return 1;
    return 0;
}

static int check_notifications(json_object *v, const char *where, char *err, size_t errlen);

static int value_fits(json_object *v, opt_type t, const char *where, char *err, size_t errlen)
{
    static const char *const run_types[] = {"SUCCESS", "FAILURE", "ALL", NULL};
    static const char *const formats[] = {"png", "pdf", NULL};
    switch (t) {
    case T_BOOL:
        return json_object_is_type(v, json_type_boolean);
    case T_STRING:
        return json_object_is_type(v, json_type_string);
    case T_OBJECT:
        return json_object_is_type(v, json_type_object);
    case T_RUN_TYPE:
        return is_one_of(v, run_types);
    case T_SCREENSHOT:
        return is_one_of(v, formats);
    case T_STRINGS:
        if (!json_object_is_type(v, json_type_array))
            return 0;
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                return 0;
        return 1;
    case T_NOTIFICATIONS:
        /* Reports its own, more precise error. */
        return check_notifications(v, where, err, errlen) == 0 ? 1 : -1;
    }
    return 0;
}

static const opt_rule *find_rule(const opt_rule *rules, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rules[i].key, key) == 0)
            return &rules[i];
    return NULL;
}

static void allowed_keys(char *out, size_t outlen, const opt_rule *rules, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", rules[i].key);
}

/* Check every key of obj against rules; `where` prefixes messages ("options",
 * "options.notifications[0]"). */
static int check_keys(json_object *obj, const opt_rule *rules, size_t n, const char *where,
                      char *err, size_t errlen)
{
    json_object_object_foreach(obj, key, val)
    {
        const opt_rule *r = find_rule(rules, n, key);
        if (!r) {
            char allowed[256];
            allowed_keys(allowed, sizeof allowed, rules, n);
            set_err(err, errlen, "%s: unknown key '%.64s' (allowed: %s)", where, key, allowed);
            return HEXRUN_E_INVALID_ARG;
        }
        char sub[160];
        snprintf(sub, sizeof sub, "%.90s.%.64s", where, key);
        int fits = value_fits(val, r->type, sub, err, errlen);
        if (fits < 0)
            return HEXRUN_E_INVALID_ARG;
        if (!fits) {
            set_err(err, errlen, "%s: '%s' must be %s", where, key, type_text(r->type));
            return HEXRUN_E_INVALID_ARG;
        }
    }
    return HEXRUN_OK;
}

static int check_notifications(json_object *v, const char *where, char *err, size_t errlen)
{
    const size_t nrules = sizeof notification_rules / sizeof *notification_rules;
    if (!json_object_is_type(v, json_type_array)) {
        set_err(err, errlen, "%s: must be an array of notification objects", where);
        return HEXRUN_E_INVALID_ARG;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *it = json_object_array_get_idx(v, i);
        char sub[128];
        snprintf(sub, sizeof sub, "%.90s[%zu]", where, i);
        if (!json_object_is_type(it, json_type_object)) {
            set_err(err, errlen, "%s: must be an object", sub);
            return HEXRUN_E_INVALID_ARG;
        }
        if (check_keys(it, notification_rules, nrules, sub, err, errlen))
            return HEXRUN_E_INVALID_ARG;
        if (!field(it, "type") || !field(it, "includeSuccessScreenshot")) {
            set_err(err, errlen, "%s: 'type' and 'includeSuccessScreenshot' are required", sub);
            return HEXRUN_E_INVALID_ARG;
        }
    }
    return HEXRUN_OK;
}

/* Hex refuses these combinations; saying so before sending saves a request and a run. */
static int check_combinations(json_object *root, char *err, size_t errlen)
{
    if (!field(root, "inputParams"))
        return HEXRUN_OK;
    if (field(root, "viewId")) {
        set_err(err, errlen, "options: 'viewId' cannot be combined with 'inputParams'");
        return HEXRUN_E_INVALID_ARG;
    }
    json_object *upr = field(root, "updatePublishedResults");
    if (upr && json_object_get_boolean(upr)) {
        set_err(err, errlen,
                "options: 'updatePublishedResults' cannot be true together with "
                "'inputParams'");
        return HEXRUN_E_INVALID_ARG;
    }
    return HEXRUN_OK;
}

int hexrun__hex_run_options(const char *options_json, char **out_body, int *out_dry_run, char *err,
                            size_t errlen)
{
    *out_body = NULL;
    *out_dry_run = 0;
    const char *text = options_json ? options_json : "{}";
    char perr[160];
    int nomem = 0;
    json_object *root = parse_object_nomem(text, strlen(text), perr, sizeof perr, &nomem);
    if (!root) {
        set_err(err, errlen, "options: %s", perr);
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_INVALID_ARG;
    }
    int rc =
        check_keys(root, run_rules, sizeof run_rules / sizeof *run_rules, "options", err, errlen);
    if (!rc)
        rc = check_combinations(root, err, errlen);
    if (!rc) {
        json_object *dry = field(root, "dryRun");
        *out_dry_run = dry && json_object_get_boolean(dry);
        const char *body = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        *out_body = body ? strdup(body) : NULL;
        if (!*out_body) {
            set_err(err, errlen, "out of memory");
            rc = HEXRUN_E_NOMEM;
        }
    }
    json_object_put(root);
    return rc;
}

/* ---- a run as Hex shows it, for the coordination store's status board (coord.h) ---- */

static int add_text(json_object *obj, const char *key, const char *value)
{
    if (!value[0])
        return 0;
    json_object *v = json_object_new_string(value);
    return !v || json_object_object_add(obj, key, v) != 0;
}

int hexrun__hex_run_json(const hexrun__hex_run *run, hexrun__buf *out)
{
    json_object *obj = json_object_new_object();
    if (!obj)
        return HEXRUN_E_NOMEM;
    int failed =
        add_text(obj, "runId", run->run_id) || add_text(obj, "projectId", run->project_id) ||
        add_text(obj, "runUrl", run->run_url) || add_text(obj, "status", run->status) ||
        add_text(obj, "startTime", run->start_time) || add_text(obj, "endTime", run->end_time) ||
        add_text(obj, "traceId", run->trace_id) ||
        add_text(obj, "projectVersion", run->project_version) ||
        add_text(obj, "runTrigger", run->run_trigger);
    if (!failed && run->elapsed_ms >= 0) {
        json_object *v = json_object_new_int64(run->elapsed_ms);
        failed = !v || json_object_object_add(obj, "elapsedTime", v) != 0;
    }
    if (!failed)
        failed = hexrun__buf_appends(
                     out, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN)) != 0;
    json_object_put(obj);
    return failed ? HEXRUN_E_NOMEM : HEXRUN_OK;
}

#define RUNS "/v1/projects/%s/runs"
static const hexrun__hex_endpoint endpoints[HEXRUN__EP_COUNT] = {
    [HEXRUN__EP_RUN_PROJECT] = {"RunProject", "POST", RUNS, NULL, HEXRUN__BUDGET_RUN},
    [HEXRUN__EP_GET_RUN_STATUS] = {"GetRunStatus", "GET", RUNS "/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_CANCEL_RUN] = {"CancelRun", "DELETE", RUNS "/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_PROJECT_RUNS] = {"GetProjectRuns", "GET", RUNS, "runs", HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_PROJECTS] = {"ListProjects", "GET", "/v1/projects", "values",
                                  HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_PROJECT] = {"GetProject", "GET", "/v1/projects/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_ME] = {"Me", "GET", "/v1/users/me", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_USERS] = {"ListUsers", "GET", "/v1/users", "values", HEXRUN__BUDGET_API},
    [HEXRUN__EP_DEACTIVATE_USER] = {"DeactivateUser", "POST", "/v1/users/%s/deactivate", NULL,
                                    HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_GROUPS] = {"ListGroups", "GET", "/v1/groups", "values", HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_GROUP] = {"GetGroup", "GET", "/v1/groups/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_CREATE_GROUP] = {"CreateGroup", "POST", "/v1/groups", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_EDIT_GROUP] = {"EditGroup", "PATCH", "/v1/groups/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_DELETE_GROUP] = {"DeleteGroup", "DELETE", "/v1/groups/%s", NULL,
                                 HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_DATA_CONNECTIONS] = {"ListDataConnections", "GET", "/v1/data-connections",
                                          "values", HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_DATA_CONNECTION] = {"GetDataConnection", "GET", "/v1/data-connections/%s", NULL,
                                        HEXRUN__BUDGET_API},
    [HEXRUN__EP_CREATE_DATA_CONNECTION] = {"CreateDataConnection", "POST", "/v1/data-connections",
                                           NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_EDIT_DATA_CONNECTION] = {"EditDataConnection", "PATCH", "/v1/data-connections/%s",
                                         NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_COLLECTIONS] = {"ListCollections", "GET", "/v1/collections", "values",
                                     HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_COLLECTION] = {"GetCollection", "GET", "/v1/collections/%s", NULL,
                                   HEXRUN__BUDGET_API},
};

const hexrun__hex_endpoint *hexrun__hex_endpoint_of(hexrun__hex_op op)
{
    return &endpoints[op];
}
