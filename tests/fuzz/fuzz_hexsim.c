/*
 * libFuzzer target: hexsim's request handling without a socket (hexsim/request.c and the
 * handlers): scenario JSON, request bodies, query strings and paths of the Hex API and of
 * the /__sim/ control API.
 * Input: NUL-separated fields. Field 0 is a scenario (the built-in one when it is empty or
 * not a JSON object); then pairs of "METHOD PATH[?QUERY][ TOKEN]" and a body.
 * Every answer must have an HTTP status, and a body that is strict JSON; API errors carry
 * the fields of their error family; a run that RunProject created can be read back.
 */
#include <json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexsim.h"
#include "wake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness serves requests without a server (no server.c, no wake.c): no connection is
 * ever held, so POST /__sim/release has nothing to release. */
int hs_wake_release_all(void)
{
    return 0;
}

#define PROJECT "11111111-1111-4111-8111-111111111111"
#define TOKEN "hxtok_admin"

static const char DEFAULT_SCENARIO[] =
    "{\"seed\":7,\"tokens\":[{\"token\":\"" TOKEN "\",\"user\":\"aaaaaaaa-0000-4000-8000-"
    "000000000001\"},{\"token\":\"hxtok_limited\",\"projects\":[\"" PROJECT "\"]}],"
    "\"projects\":[{\"id\":\"" PROJECT "\",\"title\":\"Daily\",\"inputs\":[{\"name\":\"region"
    "\",\"type\":\"string\"},{\"name\":\"days\",\"type\":\"number\"}],\"timeline\":{"
    "\"pending_ms\":{\"min\":10,\"max\":20},\"running_ms\":{\"min\":10,\"max\":20}}},"
    "{\"id\":\"22222222-2222-4222-8222-222222222222\",\"title\":\"Other\",\"published\":false}],"
    "\"users\":[{\"id\":\"aaaaaaaa-0000-4000-8000-000000000001\",\"name\":\"A\",\"email\":"
    "\"a@x\"}],\"groups\":[],\"data_connections\":[],\"collections\":[]}";

/* The query string of one request as name=value pairs (not URL-decoded). */
typedef struct query {
    char *names[16], *values[16];
    int n;
} query;

static const char *query_arg(void *ctx, const char *name)
{
    const query *qs = ctx;
    for (int i = 0; i < qs->n; i++)
        if (strcmp(qs->names[i], name) == 0)
            return qs->values[i];
    return NULL;
}

static void query_parse(char *text, query *qs)
{
    qs->n = 0;
    for (char *save = NULL, *kv = strtok_r(text, "&", &save); kv && qs->n < 16;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        qs->names[qs->n] = kv;
        qs->values[qs->n++] = eq ? eq + 1 : (char *)"";
    }
}

static json_object *parse_strict(const char *text)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *doc = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(doc);
        doc = NULL;
    }
    json_tokener_free(tok);
    return doc;
}

static const char *str_member(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* RunProject's 422 for bad inputParams: {traceId, invalid[], notFound[]}. */
static int invalid_params(json_object *doc)
{
    json_object *a, *b;
    return json_object_object_get_ex(doc, "invalid", &a) &&
           json_object_is_type(a, json_type_array) &&
           json_object_object_get_ex(doc, "notFound", &b) &&
           json_object_is_type(b, json_type_array);
}

/* Shows the request and the answer that broke an invariant, then crashes. */
static void fail(const hs_req *q, const hs_resp *r, const char *why)
{
    fprintf(stderr, "fuzz_hexsim: %s: %s %s -> %d %s\n", why, q->method, q->path, r->status,
            r->body ? r->body : "(no body)");
    abort();
}

/* Status and body of any answer; the error family of an API error. */
static void check_answer(const hs_req *q, const hs_resp *r, int api)
{
    if (r->status < 100 || r->status > 599)
        fail(q, r, "status out of range");
    if (!r->body)
        return;
    /* The variant profile's gateway pages (502/504 after the work) are the only non-JSON. */
    if (!strcmp(r->content_type, "text/html")) {
        if (r->status < 500)
            fail(q, r, "an HTML body on a status below 500");
        return;
    }
    json_object *doc = parse_strict(r->body);
    if (!doc)
        fail(q, r, "body is not JSON"); /* hexsim only answers JSON otherwise */
    if (api && r->status >= 400) {
        if (!json_object_is_type(doc, json_type_object))
            fail(q, r, "error body is not an object");
        int ok = q->code_family ? str_member(doc, "code") && str_member(doc, "message")
                                : str_member(doc, "traceId") &&
                                      (str_member(doc, "reason") || invalid_params(doc));
        if (!ok)
            fail(q, r, "error body lacks the fields of its family");
    }
    json_object_put(doc);
}

/* One request; returns the answer (body owned by the caller) and the fault it drew. */
static hs_resp request(const char *method, char *target, const char *token, const char *body,
                       hs_fault *fault)
{
    hs_resp r = {0};
    query qs = {.n = 0};
    char *qmark = strchr(target, '?');
    if (qmark) {
        *qmark = '\0';
        query_parse(qmark + 1, &qs);
    }
    hs_req q = {.method = method,
                .path = target,
                .token = token,
                .body = body,
                .body_len = strlen(body),
                .host_url = "http://127.0.0.1:1",
                .arg = query_arg,
                .arg_ctx = &qs,
                .content_type = "application/json"}; /* else the API ignores the body */
    memset(fault, 0, sizeof *fault);
    /* Injected delays would only slow the fuzzer down. */
    for (size_t i = 0; i < hs_w.nfaults; i++)
        hs_w.faults[i].delay_ms = 0;
    int api = strncmp(target, "/__sim/", 7) != 0 && strcmp(target, "/__sim") != 0;
    if (!api) {
        hs_control_route(&q, &r);
    } else {
        char *p = strncmp(target, "/api/", 5) == 0 ? target + 4 : target;
        q.nsegs = hs_split_path(p, q.segs, 8);
        if (q.nsegs < 0) {
            q.nsegs = 0;
            hs_err_reason(&r, 404, "No such endpoint", NULL);
        } else {
            hs_serve_api(&q, &r, fault);
        }
    }
    if (strcmp(fault->kind, "drop_before") != 0)
        check_answer(&q, &r, api);
    return r;
}

static int body_says_dry_run(const char *body)
{
    json_object *doc = json_tokener_parse(body), *v;
    int dry = doc && json_object_is_type(doc, json_type_object) &&
              json_object_object_get_ex(doc, "dryRun", &v) && json_object_get_boolean(v);
    json_object_put(doc);
    return dry;
}

/* A run that RunProject created is found by GetRunStatus (a dry run is not). */
static void check_created(const char *token, const char *body, const hs_resp *created)
{
    json_object *doc = parse_strict(created->body);
    const char *pid = str_member(doc, "projectId"), *rid = str_member(doc, "runId");
    if (!pid || !rid)
        abort();
    char path[256];
    snprintf(path, sizeof path, "/v1/projects/%s/runs/%s", pid, rid);
    hs_fault fault;
    hs_resp r = request("GET", path, token, "", &fault);
    if (!fault.kind[0] && r.status != 429) {
        int dry = body_says_dry_run(body);
        /* A dry run's id names no run: 404, or 400/422 in the variant profile. */
        int unknown = r.status == 404 || r.status == 400 || r.status == 422;
        if (dry ? !unknown : r.status != 200)
            abort();
        json_object *st = dry ? NULL : parse_strict(r.body);
        if (!dry && (!str_member(st, "runId") || strcmp(str_member(st, "runId"), rid)))
            abort();
        json_object_put(st);
    }
    free(r.body);
    json_object_put(doc);
}

/* POST /__sim/runs creates up to a million runs per call: far too slow for fuzzing. */
static int too_many_runs(const char *method, const char *target, const char *body)
{
    if (strcmp(method, "POST") != 0 || strncmp(target, "/__sim/runs", 11) != 0)
        return 0;
    json_object *doc = json_tokener_parse(body), *v;
    int many = doc && json_object_is_type(doc, json_type_object) &&
               json_object_object_get_ex(doc, "count", &v) && json_object_get_int(v) > 100;
    json_object_put(doc);
    return many;
}

/* "METHOD PATH[?QUERY][ TOKEN]" and its body. */
static void one_request(char *line, const char *body)
{
    char *save = NULL;
    const char *method = strtok_r(line, " ", &save);
    char *target = strtok_r(NULL, " ", &save);
    const char *token = strtok_r(NULL, " ", &save);
    if (!method || !target || target[0] != '/' || too_many_runs(method, target, body))
        return;
    if (!token)
        token = TOKEN;
    else if (strcmp(token, "-") == 0)
        token = NULL; /* no Authorization header */
    int run_project =
        strcmp(method, "POST") == 0 && strstr(target, "/run") && !strstr(target, "__sim");
    hs_fault fault;
    hs_resp r = request(method, target, token, body, &fault);
    if (run_project && r.status == 201 && !fault.kind[0])
        check_created(token, body, &r);
    free(r.body);
}

static void load_world(const char *text)
{
    char err[256] = "";
    json_object *sc = text[0] ? json_tokener_parse(text) : NULL;
    if (!sc || !json_object_is_type(sc, json_type_object)) {
        json_object_put(sc);
        sc = json_tokener_parse(DEFAULT_SCENARIO);
    }
    hs_w.limits = (hs_limits){0, 20, 60, 30, 1800};
    /* A refused scenario must still leave a world that answers requests. */
    if (hs_world_load(sc, err, sizeof err) != 0 && !err[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t pos = strlen(text) + 1;
    load_world(text);
    for (int i = 0; pos < size && i < 32; i++) {
        char *line = text + pos;
        pos += strlen(line) + 1;
        const char *body = pos < size ? text + pos : "";
        pos += strlen(body) + 1;
        one_request(line, body);
    }
    free(text);
    return 0;
}
