/* runs.c - RunProject, GetRunStatus, GetProjectRuns, CancelRun (both path generations). */
#include "hexsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATUS_NAMES[] = {"PENDING", "RUNNING", "COMPLETED",
                                           "ERRORED", "KILLED",  "UNABLE_TO_ALLOCATE_KERNEL"};
static const char *const TRIGGERS[] = {"API", "SCHEDULED", "APP_REFRESH"};

const char *hs_status_name(hs_status s)
{
    return STATUS_NAMES[s];
}

/* ---- lifecycle, derived from timestamps ---- */

static int64_t start_at(const hs_run *run)
{
    return run->created_sim + run->pending_ms;
}

static int64_t end_at(const hs_run *run)
{
    return start_at(run) + run->running_ms;
}

hs_status hs_run_status(const hs_run *run, int64_t now)
{
    /* A cancel takes effect only if it lands before the run ends by itself (an
     * asynchronous cancel can lose that race). */
    if (run->killed_sim >= 0 && run->killed_sim <= now && run->killed_sim < end_at(run))
        return RUN_KILLED;
    if (now < start_at(run))
        return RUN_PENDING;
    if (now < end_at(run))
        return RUN_RUNNING;
    return (hs_status)run->outcome;
}

static int64_t sample(hs_dist d)
{
    if (d.max_ms <= d.min_ms)
        return d.min_ms;
    return d.min_ms + (int64_t)(hs_rand() % (uint64_t)(d.max_ms - d.min_ms + 1));
}

/* Under hs_w.mu. */
hs_run *hs_run_create(hs_project *p, int trigger)
{
    if (hs_w.nruns == hs_w.capruns) {
        size_t cap = hs_w.capruns ? hs_w.capruns * 2 : 1024;
        hs_run *bigger = realloc(hs_w.runs, cap * sizeof(hs_run));
        if (!bigger)
            return NULL;
        hs_w.runs = bigger;
        hs_w.capruns = cap;
    }
    if (p->nruns == p->caprun) {
        size_t cap = p->caprun ? p->caprun * 2 : 64;
        size_t *bigger = realloc(p->runs, cap * sizeof(size_t));
        if (!bigger)
            return NULL;
        p->runs = bigger;
        p->caprun = cap;
    }
    size_t idx = hs_w.nruns++;
    hs_run *run = &hs_w.runs[idx];
    memset(run, 0, sizeof(*run));
    /* The run's index is its id's last 12 hex digits, so a lookup needs no hash table. */
    uint64_t a = hs_rand();
    snprintf(run->id, sizeof(run->id), "%08x-%04x-4%03x-%04x-%012zx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, 0x8000u | (unsigned)(a >> 50), idx);
    run->project = (uint32_t)(p - hs_w.projects);
    run->trigger = (uint8_t)trigger;
    run->created_sim = hs_sim_ms();
    run->created_real = hs_real_ms();
    run->pending_ms = (int32_t)sample(p->pending);
    double u = hs_rand01();
    if (u < p->p_completed)
        run->outcome = RUN_COMPLETED;
    else if (u < p->p_completed + p->p_errored)
        run->outcome = RUN_ERRORED;
    else
        run->outcome = RUN_KERNEL;
    /* A kernel that cannot be allocated never runs. */
    run->running_ms = run->outcome == RUN_KERNEL ? 0 : (int32_t)sample(p->running);
    run->killed_sim = -1;
    p->runs[p->nruns++] = idx;
    p->created_count++;
    return run;
}

static hs_run *find_run(const hs_project *p, const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len != 36)
        return NULL;
    size_t idx = (size_t)strtoull(id + 24, NULL, 16);
    if (idx >= hs_w.nruns)
        return NULL;
    hs_run *run = &hs_w.runs[idx];
    if (strcasecmp(run->id, id) != 0 || &hs_w.projects[run->project] != p)
        return NULL;
    return run;
}

/* A run's startTime/endTime: the wall-clock moment of that hexsim time, as Hex reports
 * real times. (In hexsim time they ran ahead of every client's clock at a time scale
 * above 1, so a client comparing them with its own clock, as adoption of a lost
 * RunProject answer does, saw every run start in the future.) */
static void add_time(json_object *o, const char *key, int64_t sim_ms, int reached)
{
    char ts[32];
    if (!reached) {
        json_object_object_add(o, key, NULL);
        return;
    }
    hs_iso8601(hs_sim_to_real_ms(sim_ms), ts);
    json_object_object_add(o, key, json_object_new_string(ts));
}

static void run_urls(const hs_run *run, const char *host, char *run_url, char *status_url)
{
    const char *pid = hs_w.projects[run->project].id;
    snprintf(run_url, 256, "%s/app/projects/%s/runs/%s", host, pid, run->id);
    snprintf(status_url, 256, "%s/api/v1/projects/%s/runs/%s", host, pid, run->id);
}

json_object *hs_run_json(const hs_run *run, const char *host, int64_t now)
{
    char run_url[256], status_url[256], trace[HS_ID_LEN];
    hs_status st = hs_run_status(run, now);
    hs_project *p = &hs_w.projects[run->project];
    run_urls(run, host, run_url, status_url);
    hs_trace_id(trace);
    int started =
        now >= start_at(run) && !(run->killed_sim >= 0 && run->killed_sim < start_at(run));
    int64_t end = st == RUN_KILLED ? run->killed_sim : end_at(run);
    int ended = st >= RUN_COMPLETED;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "projectId", json_object_new_string(p->id));
    json_object_object_add(o, "projectVersion", json_object_new_int(p->version));
    json_object_object_add(o, "runId", json_object_new_string(run->id));
    json_object_object_add(o, "runUrl", json_object_new_string(run_url));
    json_object_object_add(o, "status", json_object_new_string(STATUS_NAMES[st]));
    json_object_object_add(o, "runTrigger", json_object_new_string(TRIGGERS[run->trigger]));
    add_time(o, "startTime", start_at(run), started);
    add_time(o, "endTime", end, ended);
    if (started)
        json_object_object_add(o, "elapsedTime",
                               json_object_new_int64((ended ? end : now) - start_at(run)));
    else
        json_object_object_add(o, "elapsedTime", NULL);
    json_object_object_add(o, "traceId", json_object_new_string(trace));
    return o;
}

static void add_transition(json_object *list, hs_status st, int64_t sim_ms)
{
    char ts[32];
    json_object *t = json_object_new_object();
    int64_t real = hs_sim_to_real_ms(sim_ms);
    hs_iso8601(real, ts);
    json_object_object_add(t, "status", json_object_new_string(STATUS_NAMES[st]));
    json_object_object_add(t, "at", json_object_new_string(ts));
    json_object_object_add(t, "at_ms", json_object_new_int64(real));
    json_object_array_add(list, t);
}

/* The real (not hexsim) times at which the run entered each state so far. */
json_object *hs_run_transitions(const hs_run *run, int64_t now)
{
    json_object *list = json_object_new_array();
    int64_t killed =
        run->killed_sim >= 0 && run->killed_sim < end_at(run) ? run->killed_sim : INT64_MAX;
    add_transition(list, RUN_PENDING, run->created_sim);
    if (start_at(run) <= now && start_at(run) < killed && run->outcome != RUN_KERNEL)
        add_transition(list, RUN_RUNNING, start_at(run));
    if (end_at(run) <= now && end_at(run) < killed)
        add_transition(list, (hs_status)run->outcome, end_at(run));
    else if (killed <= now)
        add_transition(list, RUN_KILLED, killed);
    return list;
}

/* ---- the variant profile's view of a run ---- */

/* A trace id of 70 characters (Hex documents no length). */
static json_object *long_trace_id(void)
{
    char a[HS_ID_LEN], b[HS_ID_LEN], out[96];
    hs_trace_id(a);
    hs_trace_id(b);
    snprintf(out, sizeof(out), "Root=1-%s-%s", a, b);
    out[70] = '\0';
    return json_object_new_string(out);
}

/* Odd values of optional fields and keys the spec does not list, as the switches say. */
static void vary_fields(json_object *o, int version)
{
    const hs_variant *v = &hs_w.variant;
    json_object *elapsed;
    if (v->odd_fields) {
        json_object_object_add(o, "traceId", long_trace_id());
        json_object_object_add(o, "projectVersion", json_object_new_double(version));
        if (json_object_object_get_ex(o, "elapsedTime", &elapsed) && elapsed)
            json_object_object_add(o, "elapsedTime",
                                   json_object_new_int64(-1 - json_object_get_int64(elapsed)));
    }
    if (v->extra_fields) {
        json_object *kernel = json_object_new_object();
        json_object_object_add(kernel, "size", json_object_new_string("MEDIUM"));
        json_object_object_add(kernel, "queuedMs", json_object_new_int(12));
        json_object_object_add(o, "kernel", kernel);
        json_object_object_add(o, "labels", json_object_new_array());
    }
}

/* A run as the API shows it: hs_run_json (the truth, also shown by /__sim/runs) with the
 * variant's unknown status name and odd fields. */
static json_object *api_run_json(const hs_run *run, const char *host, int64_t now)
{
    json_object *o = hs_run_json(run, host, now);
    if (hs_w.variant.unknown_status[0] && hs_run_status(run, now) == RUN_PENDING)
        json_object_object_add(o, "status", json_object_new_string(hs_w.variant.unknown_status));
    vary_fields(o, hs_w.projects[run->project].version);
    return o;
}

/* The variant's 5xx after the work: JSON from Hex (500), HTML from a gateway (502, 504). */
static void after_work_error(hs_resp *r, int status)
{
    char html[160];
    if (status == 500) {
        hs_err_reason(r, 500, "Internal server error", NULL);
        return;
    }
    snprintf(html, sizeof(html), "<html><body><h1>%d %s</h1></body></html>\n", status,
             status == 504   ? "Gateway Time-out"
             : status == 502 ? "Bad Gateway"
                             : "Error");
    hs_resp_text(r, status, html);
    snprintf(r->content_type, sizeof(r->content_type), "text/html");
}

/* ---- request validation ---- */

/* The project of a runs path, checked against the token: 404 (or the variant's status)
 * unknown, 403 not visible. */
static hs_project *project_for(hs_req *q, hs_resp *r, hs_token *t)
{
    hs_project *p = hs_find_project(q->segs[2]);
    if (!p) {
        hs_err_reason(r, hs_unknown_object_status(q), "Project not found", NULL);
        return NULL;
    }
    if (!hs_token_sees(t, p)) {
        hs_err_reason(r, 403, "This token does not have access to the project", NULL);
        return NULL;
    }
    return p;
}

static int type_is(json_object *v, json_type type)
{
    return v && json_object_is_type(v, type);
}

static int check_string_array(json_object *v)
{
    if (!type_is(v, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(v); i++)
        if (!type_is(json_object_array_get_idx(v, i), json_type_string))
            return 0;
    return 1;
}

static const char *check_notification(json_object *n)
{
    static const char *const arrays[] = {"slackChannelIds", "userIds", "groupIds"};
    json_object *v;
    if (!type_is(n, json_type_object))
        return "notifications items must be objects";
    if (!json_object_object_get_ex(n, "type", &v) || !type_is(v, json_type_string) ||
        (strcmp(json_object_get_string(v), "SUCCESS") &&
         strcmp(json_object_get_string(v), "FAILURE") && strcmp(json_object_get_string(v), "ALL")))
        return "notifications[].type must be SUCCESS, FAILURE or ALL";
    if (!json_object_object_get_ex(n, "includeSuccessScreenshot", &v))
        return "notifications[].includeSuccessScreenshot is required (true or false)";
    json_object_object_foreach(n, key, val)
    {
        int ok = 0;
        if (!strcmp(key, "type"))
            ok = 1;
        else if (!strcmp(key, "includeSuccessScreenshot"))
            ok = type_is(val, json_type_boolean);
        else if (!strcmp(key, "screenshotFormat"))
            ok = type_is(val, json_type_string) && (!strcmp(json_object_get_string(val), "png") ||
                                                    !strcmp(json_object_get_string(val), "pdf"));
        else if (!strcmp(key, "subject") || !strcmp(key, "body"))
            ok = type_is(val, json_type_string);
        for (size_t i = 0; i < 3; i++)
            if (!strcmp(key, arrays[i]))
                ok = check_string_array(val);
        if (!ok)
            return "notifications[] has an unknown key or a value of the wrong type";
    }
    return NULL;
}

/* Schema rules of RunProjectRequestBody; returns the reason or NULL. */
static const char *check_run_body(json_object *body)
{
    static const char *const bools[] = {"dryRun", "updatePublishedResults", "useCachedSqlResults",
                                        "updateCache"};
    if (!type_is(body, json_type_object))
        return "The request body must be a JSON object";
    json_object_object_foreach(body, key, val)
    {
        int known = 0;
        for (size_t i = 0; i < 4; i++)
            if (!strcmp(key, bools[i])) {
                if (!type_is(val, json_type_boolean))
                    return "dryRun, updatePublishedResults, useCachedSqlResults and updateCache "
                           "must be booleans";
                known = 1;
            }
        if (!strcmp(key, "inputParams")) {
            if (!type_is(val, json_type_object))
                return "inputParams must be an object";
            known = 1;
        } else if (!strcmp(key, "viewId")) {
            if (!type_is(val, json_type_string))
                return "viewId must be a string";
            known = 1;
        } else if (!strcmp(key, "notifications")) {
            if (!type_is(val, json_type_array))
                return "notifications must be an array";
            for (size_t i = 0; i < json_object_array_length(val); i++) {
                const char *why = check_notification(json_object_array_get_idx(val, i));
                if (why)
                    return why;
            }
            known = 1;
        }
        if (!known)
            return "The request body has an unknown key";
    }
    return NULL;
}

static const char *input_type(const hs_project *p, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(p->inputs); i++) {
        json_object *in = json_object_array_get_idx(p->inputs, i), *v;
        if (json_object_object_get_ex(in, "name", &v) &&
            strcmp(json_object_get_string(v), name) == 0)
            return json_object_object_get_ex(in, "type", &v) ? json_object_get_string(v) : "any";
    }
    return NULL;
}

static int value_matches(const char *type, json_object *v)
{
    if (!strcmp(type, "string"))
        return type_is(v, json_type_string);
    if (!strcmp(type, "number"))
        return type_is(v, json_type_int) || type_is(v, json_type_double);
    if (!strcmp(type, "boolean"))
        return type_is(v, json_type_boolean);
    return 1;
}

/* Input names and types against the project's declared inputs: 422 InvalidParamPayload. */
static int check_inputs(const hs_project *p, json_object *params, hs_resp *r)
{
    json_object *invalid = json_object_new_array(), *not_found = json_object_new_array();
    json_object_object_foreach(params, name, val)
    {
        const char *type = input_type(p, name);
        if (!type) {
            json_object_array_add(not_found, json_object_new_string(name));
        } else if (!value_matches(type, val)) {
            json_object *bad = json_object_new_object();
            json_object_object_add(bad, "dataType", json_object_new_string(type));
            json_object_object_add(bad, "inputCellType", json_object_new_string("input"));
            json_object_object_add(bad, "paramValue",
                                   json_object_new_string(json_object_to_json_string(val)));
            json_object_object_add(bad, "paramName", json_object_new_string(name));
            json_object_array_add(invalid, bad);
        }
    }
    if (json_object_array_length(invalid) == 0 && json_object_array_length(not_found) == 0) {
        json_object_put(invalid);
        json_object_put(not_found);
        return 0;
    }
    char trace[HS_ID_LEN];
    hs_trace_id(trace);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "traceId", json_object_new_string(trace));
    json_object_object_add(o, "invalid", invalid);
    json_object_object_add(o, "notFound", not_found);
    hs_resp_json(r, 422, o);
    return -1;
}

static int live_runs(void)
{
    int live = 0;
    int64_t now = hs_sim_ms();
    for (size_t i = 0; i < hs_w.nruns; i++)
        live += hs_run_status(&hs_w.runs[i], now) <= RUN_RUNNING;
    return live;
}

static json_object *created_json(const hs_project *p, const char *run_id, const char *host)
{
    char run_url[256], status_url[256], trace[HS_ID_LEN];
    hs_trace_id(trace);
    snprintf(run_url, sizeof(run_url), "%s/app/projects/%s/runs/%s", host, p->id, run_id);
    snprintf(status_url, sizeof(status_url), "%s/api/v1/projects/%s/runs/%s", host, p->id, run_id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "projectId", json_object_new_string(p->id));
    json_object_object_add(o, "runId", json_object_new_string(run_id));
    json_object_object_add(o, "runUrl", json_object_new_string(run_url));
    json_object_object_add(o, "runStatusUrl", json_object_new_string(status_url));
    json_object_object_add(o, "traceId", json_object_new_string(trace));
    json_object_object_add(o, "projectVersion", json_object_new_int(p->version));
    vary_fields(o, p->version);
    return o;
}

static void run_project_locked(hs_req *q, hs_resp *r, hs_project *p, json_object *body)
{
    json_object *params = NULL, *v;
    int has_params = json_object_object_get_ex(body, "inputParams", &params);
    const char *why = check_run_body(body);
    if (why) {
        hs_err_reason(r, 400, why, NULL);
        return;
    }
    if (has_params && json_object_object_get_ex(body, "viewId", &v)) {
        hs_err_reason(r, 422, "viewId cannot be combined with inputParams", NULL);
        return;
    }
    if (has_params && json_object_object_get_ex(body, "updatePublishedResults", &v) &&
        json_object_get_boolean(v)) {
        hs_err_reason(r, 422, "updatePublishedResults cannot be combined with inputParams", NULL);
        return;
    }
    if (!p->published) {
        hs_err_reason(r, 422, "The project has no published version to run", NULL);
        return;
    }
    if (has_params && check_inputs(p, params, r) != 0)
        return;
    if (json_object_object_get_ex(body, "dryRun", &v) && json_object_get_boolean(v)) {
        char dummy[HS_ID_LEN];
        hs_new_id(dummy);
        hs_resp_json(r, 201, created_json(p, dummy, q->host_url));
        return;
    }
    if (hs_w.max_concurrent_runs > 0 && live_runs() >= hs_w.max_concurrent_runs) {
        hs_err_reason(r, 503, "The concurrent run limit of the workspace is reached", NULL);
        return;
    }
    hs_run *run = hs_run_create(p, 0);
    if (!run) {
        hs_err_reason(r, 500, "out of memory", NULL);
        return;
    }
    if (hs_after_work_due(&hs_w.variant.run_after, &hs_w.variant.run_after_n))
        after_work_error(r, hs_w.variant.run_after.status);
    else
        hs_resp_json(r, 201, created_json(p, run->id, q->host_url));
}

void hs_h_run_project(hs_req *q, hs_resp *r, hs_token *t)
{
    json_object *body = hs_body_json(q, r);
    if (!body)
        return;
    pthread_mutex_lock(&hs_w.mu);
    hs_project *p = project_for(q, r, t);
    if (p)
        run_project_locked(q, r, p, body);
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
}

void hs_h_run_status(hs_req *q, hs_resp *r, hs_token *t)
{
    pthread_mutex_lock(&hs_w.mu);
    hs_project *p = project_for(q, r, t);
    hs_run *run = p ? find_run(p, q->segs[4]) : NULL;
    if (run)
        hs_resp_json(r, 200, api_run_json(run, q->host_url, hs_sim_ms()));
    else if (p)
        hs_err_reason(r, hs_unknown_object_status(q), "Run not found", NULL);
    pthread_mutex_unlock(&hs_w.mu);
}

/* The variant's lost race: the run ends COMPLETED at `at` although a cancel was accepted. */
static void complete_at(hs_run *run, int64_t at)
{
    run->outcome = RUN_COMPLETED;
    if (at < start_at(run))
        run->pending_ms = (int32_t)(at - run->created_sim);
    run->running_ms = (int32_t)(at - start_at(run));
}

/* Accepts a cancel of a live run: KILLED now, or after the variant's delay, or (variant)
 * the run completes first. A cancel already under way is left as it is. */
static void accept_cancel(hs_run *run, int64_t now)
{
    hs_variant *v = &hs_w.variant;
    if (run->killed_sim >= 0)
        return;
    if (v->cancel_race_every && ++v->cancel_n % (uint64_t)v->cancel_race_every == 0)
        complete_at(run, now + v->async_cancel_ms);
    else
        run->killed_sim = now + v->async_cancel_ms;
}

void hs_h_cancel_run(hs_req *q, hs_resp *r, hs_token *t)
{
    pthread_mutex_lock(&hs_w.mu);
    hs_project *p = project_for(q, r, t);
    hs_run *run = p ? find_run(p, q->segs[4]) : NULL;
    int64_t now = hs_sim_ms();
    if (!run) {
        if (p)
            hs_err_reason(r, hs_unknown_object_status(q), "Run not found", NULL);
    } else if (hs_run_status(run, now) > RUN_RUNNING) {
        hs_err_reason(r, 422, "The run has already finished",
                      hs_status_name(hs_run_status(run, now)));
    } else {
        accept_cancel(run, now);
        if (hs_after_work_due(&hs_w.variant.cancel_after, &hs_w.variant.cancel_after_n))
            after_work_error(r, hs_w.variant.cancel_after.status);
        else
            hs_resp_text(r, 204, NULL);
    }
    pthread_mutex_unlock(&hs_w.mu);
}

static int parse_filter(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -1;
}

/* The variant's opaque page cursor: the offset, scrambled so it reads as no number. */
#define CURSOR_KEY 0x5bd1e995L

static long parse_page_cursor(const char *c)
{
    char *end;
    if (!c || c[0] != 'c' || strlen(c) != 9)
        return -1;
    long n = strtol(c + 1, &end, 16);
    return *end ? -1 : n ^ CURSOR_KEY;
}

static json_object *page_url(hs_req *q, long limit, long offset, const char *status,
                             const char *trigger)
{
    char url[512];
    int n = hs_w.variant.opaque_next_page
                ? snprintf(url, sizeof(url), "%s/api/v1/projects/%s/runs?limit=%ld&cursor=c%08lx",
                           q->host_url, q->segs[2], limit, offset ^ CURSOR_KEY)
                : snprintf(url, sizeof(url), "%s/api/v1/projects/%s/runs?limit=%ld&offset=%ld",
                           q->host_url, q->segs[2], limit, offset);
    if (status)
        n += snprintf(url + n, sizeof(url) - (size_t)n, "&statusFilter=%s", status);
    if (trigger)
        snprintf(url + n, sizeof(url) - (size_t)n, "&runTriggerFilter=%s", trigger);
    return json_object_new_string(url);
}

void hs_h_project_runs(hs_req *q, hs_resp *r, hs_token *t)
{
    long limit, offset;
    const char *status = hs_query(q, "statusFilter"), *trigger = hs_query(q, "runTriggerFilter");
    int want_status = status ? parse_filter(status, STATUS_NAMES, 6) : -1;
    int want_trigger = trigger ? parse_filter(trigger, TRIGGERS, 3) : -1;
    const char *cursor = hs_query(q, "cursor");
    if (hs_query_int(q, r, "limit", 1, 100, 25, &limit) ||
        hs_query_int(q, r, "offset", 0, 1L << 30, 0, &offset))
        return;
    if (cursor &&
        (hs_query(q, "offset") || (offset = parse_page_cursor(cursor)) < 0 || offset > 1L << 30)) {
        hs_err_reason(r, 400, "cursor must come from a previous page's URL, without offset", NULL);
        return;
    }
    if ((status && want_status < 0) || (trigger && want_trigger < 0 && strcmp(trigger, "ALL"))) {
        hs_err_reason(r, 400, "statusFilter or runTriggerFilter has an unknown value", NULL);
        return;
    }
    pthread_mutex_lock(&hs_w.mu);
    hs_project *p = project_for(q, r, t);
    if (!p) {
        pthread_mutex_unlock(&hs_w.mu);
        return;
    }
    int64_t now = hs_sim_ms();
    json_object *runs = json_object_new_array();
    long matched = 0;
    for (size_t i = p->nruns; i-- > 0;) { /* newest first */
        hs_run *run = &hs_w.runs[p->runs[i]];
        if ((want_status >= 0 && (int)hs_run_status(run, now) != want_status) ||
            (want_trigger >= 0 && run->trigger != want_trigger))
            continue;
        if (matched >= offset && matched < offset + limit)
            json_object_array_add(runs, api_run_json(run, q->host_url, now));
        matched++;
    }
    pthread_mutex_unlock(&hs_w.mu);
    char trace[HS_ID_LEN];
    hs_trace_id(trace);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "runs", runs);
    json_object_object_add(
        o, "nextPage",
        offset + limit < matched ? page_url(q, limit, offset + limit, status, trigger) : NULL);
    json_object_object_add(
        o, "previousPage",
        offset > 0 ? page_url(q, limit, offset > limit ? offset - limit : 0, status, trigger)
                   : NULL);
    json_object_object_add(o, "traceId", json_object_new_string(trace));
    if (hs_w.variant.odd_fields)
        json_object_object_add(o, "traceId", long_trace_id());
    if (hs_w.variant.extra_fields)
        json_object_object_add(o, "matched", json_object_new_int64(matched));
    hs_resp_json(r, 200, o);
}
