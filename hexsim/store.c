/* store.c - hexsim's world: clock, scenario loading, tokens, rate limits, faults, counters. */
#include "hexsim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

hs_world hs_w = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- clock ---------------------------------------------------------------------------
 * hexsim time = base_sim + (real - base_real) * scale; changing the scale rebases, so
 * hexsim time never jumps. Guarded by its own lock: the clock is read everywhere. */
static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t base_real = -1, base_sim;
static double scale = 1.0;

int64_t hs_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void clock_init_locked(void)
{
    if (base_real < 0) {
        base_real = hs_real_ms();
        base_sim = base_real;
    }
}

int64_t hs_sim_ms(void)
{
    pthread_mutex_lock(&clock_mu);
    clock_init_locked();
    int64_t now = base_sim + (int64_t)((double)(hs_real_ms() - base_real) * scale);
    pthread_mutex_unlock(&clock_mu);
    return now;
}

double hs_time_scale(void)
{
    pthread_mutex_lock(&clock_mu);
    double s = scale;
    pthread_mutex_unlock(&clock_mu);
    return s;
}

void hs_set_time_scale(double s)
{
    pthread_mutex_lock(&clock_mu);
    clock_init_locked();
    int64_t real = hs_real_ms();
    base_sim = base_sim + (int64_t)((double)(real - base_real) * scale);
    base_real = real;
    scale = s;
    pthread_mutex_unlock(&clock_mu);
}

int64_t hs_sim_to_real_ms(int64_t sim_ms)
{
    pthread_mutex_lock(&clock_mu);
    clock_init_locked();
    int64_t real = base_real + (int64_t)((double)(sim_ms - base_sim) / scale);
    pthread_mutex_unlock(&clock_mu);
    return real;
}

void hs_iso8601(int64_t unix_ms, char out[32])
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(unix_ms % 1000));
}

/* ---- random numbers and ids (deterministic given --seed) ---- */

uint64_t hs_rand(void)
{
    /* xorshift64*: small, fast and reproducible across platforms */
    uint64_t x = hs_w.rng ? hs_w.rng : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    hs_w.rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

double hs_rand01(void)
{
    return (double)(hs_rand() >> 11) / 9007199254740992.0;
}

void hs_new_id(char out[HS_ID_LEN])
{
    uint64_t a = hs_rand(), b = hs_rand();
    snprintf(out, HS_ID_LEN, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* Trace ids need no determinism and are made while the world lock may be held, so they
 * come from their own lock-free counter (splitmix64) instead of the world's generator. */
void hs_trace_id(char out[HS_ID_LEN])
{
    static uint64_t counter = 0x243f6a8885a308d3ULL;
    uint64_t z = __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    snprintf(out, HS_ID_LEN, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(z >> 32),
             (unsigned)(z >> 16) & 0xffff, (unsigned)z & 0xfff, 0x8000u | ((unsigned)z & 0x3fff),
             (unsigned long long)((z * 31) & 0xffffffffffffULL));
}

/* ---- responses ---- */

void hs_resp_json(hs_resp *r, int status, json_object *doc)
{
    r->status = status;
    free(r->body);
    r->body = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
}

void hs_resp_text(hs_resp *r, int status, const char *text)
{
    r->status = status;
    free(r->body);
    r->body = text ? strdup(text) : NULL;
}

void hs_err_reason(hs_resp *r, int status, const char *reason, const char *details)
{
    char trace[HS_ID_LEN];
    hs_trace_id(trace);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "reason", json_object_new_string(reason));
    if (details)
        json_object_object_add(o, "details", json_object_new_string(details));
    json_object_object_add(o, "traceId", json_object_new_string(trace));
    hs_resp_json(r, status, o);
}

static const char *code_name(int status)
{
    switch (status) {
    case 400:
        return "BAD_REQUEST";
    case 401:
        return "UNAUTHORIZED";
    case 403:
        return "FORBIDDEN";
    case 404:
        return "NOT_FOUND";
    case 422:
        return "UNPROCESSABLE_ENTITY";
    case 429:
        return "TOO_MANY_REQUESTS";
    default:
        return "INTERNAL_SERVER_ERROR";
    }
}

void hs_err_code(hs_resp *r, int status, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "code", json_object_new_string(code_name(status)));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "issues", json_object_new_array());
    hs_resp_json(r, status, o);
}

void hs_err_for(const hs_req *q, hs_resp *r, int status, const char *message)
{
    if (q->code_family)
        hs_err_code(r, status, message);
    else
        hs_err_reason(r, status, message, NULL);
}

/* ---- scenario loading ---- */

static int64_t obj_int(json_object *o, const char *key, int64_t def)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : def;
}

static double obj_double(json_object *o, const char *key, double def)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : def;
}

static const char *obj_str(json_object *o, const char *key, const char *def)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : def;
}

static hs_dist parse_dist(json_object *timeline, const char *key, int64_t def_ms)
{
    json_object *d;
    hs_dist out = {def_ms, def_ms};
    if (timeline && json_object_object_get_ex(timeline, key, &d)) {
        out.min_ms = obj_int(d, "min", def_ms);
        out.max_ms = obj_int(d, "max", out.min_ms);
        if (out.max_ms < out.min_ms)
            out.max_ms = out.min_ms;
    }
    return out;
}

static json_object *email_of(const char *email)
{
    json_object *person = json_object_new_object();
    json_object_object_add(person, "email", json_object_new_string(email));
    return person;
}

static json_object *nullable_str(json_object *src, const char *key)
{
    const char *v = obj_str(src, key, NULL);
    return v ? json_object_new_string(v) : NULL;
}

/* Scenario "categories": ["name", ...] -> [{"name", "description": null}, ...]. */
static json_object *categories_of(json_object *src)
{
    json_object *list, *out = json_object_new_array();
    if (!json_object_object_get_ex(src, "categories", &list) ||
        !json_object_is_type(list, json_type_array))
        return out;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *c = json_object_new_object();
        const char *name = json_object_get_string(json_object_array_get_idx(list, i));
        json_object_object_add(c, "name", json_object_new_string(name));
        json_object_object_add(c, "description", NULL);
        json_object_array_add(out, c);
    }
    return out;
}

static json_object *project_doc(json_object *src, const char *id, int64_t now)
{
    char ts[32];
    hs_iso8601(now, ts);
    json_object *o = json_object_new_object(), *v;
    const char *owner = obj_str(src, "owner", "owner@example.com");
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "title", json_object_new_string(obj_str(src, "title", "Untitled")));
    json_object_object_add(o, "description", nullable_str(src, "description"));
    int component = !strcmp(obj_str(src, "type", ""), "COMPONENT");
    json_object_object_add(o, "type", json_object_new_string(component ? "COMPONENT" : "PROJECT"));
    json_object_object_add(o, "creator", email_of(obj_str(src, "creator", owner)));
    json_object_object_add(o, "owner", email_of(owner));
    if (obj_str(src, "status", NULL)) {
        v = json_object_new_object();
        json_object_object_add(v, "name", nullable_str(src, "status"));
        json_object_object_add(o, "status", v);
    } else {
        json_object_object_add(o, "status", NULL);
    }
    json_object_object_add(o, "categories", categories_of(src));
    v = json_object_new_object();
    json_object_object_add(v, "required", json_object_new_boolean(0));
    json_object_object_add(o, "reviews", v);
    v = json_object_new_object();
    json_object *views = json_object_new_object();
    const char *keys[] = {"allTime", "lastSevenDays", "lastFourteenDays", "lastThirtyDays"};
    for (int i = 0; i < 4; i++)
        json_object_object_add(views, keys[i], json_object_new_int(0));
    json_object_object_add(v, "appViews", views);
    json_object_object_add(v, "lastViewedAt", NULL);
    json_object_object_add(v, "publishedResultsUpdatedAt", NULL);
    json_object_object_add(o, "analytics", v);
    json_object_object_add(o, "lastEditedAt", json_object_new_string(ts));
    json_object_object_add(o, "lastPublishedAt", json_object_new_string(ts));
    json_object_object_add(o, "createdAt", json_object_new_string(obj_str(src, "createdAt", ts)));
    json_object_object_add(o, "archivedAt", nullable_str(src, "archivedAt"));
    json_object_object_add(o, "trashedAt", nullable_str(src, "trashedAt"));
    json_object *sched;
    json_object_object_add(o, "schedules",
                           json_object_object_get_ex(src, "schedules", &sched)
                               ? json_object_get(sched)
                               : json_object_new_array());
    return o;
}

/* [{"name": string, "type"?: string}, ...]: RunProject compares both as C strings. */
static int inputs_ok(json_object *inputs)
{
    if (!json_object_is_type(inputs, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(inputs); i++) {
        json_object *in = json_object_array_get_idx(inputs, i), *v;
        if (!json_object_is_type(in, json_type_object) ||
            !json_object_object_get_ex(in, "name", &v) ||
            !json_object_is_type(v, json_type_string) ||
            (json_object_object_get_ex(in, "type", &v) &&
             !json_object_is_type(v, json_type_string)))
            return 0;
    }
    return 1;
}

static int string_array_ok(json_object *a)
{
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
            return 0;
    return 1;
}

int hs_project_from_json(hs_project *p, json_object *src, char *err, size_t errlen)
{
    const char *id = obj_str(src, "id", NULL);
    json_object *in;
    if (!id || strlen(id) != 36) {
        snprintf(err, errlen, "scenario: every project needs a 36-character \"id\"");
        return -1;
    }
    /* A malformed list crashed the next RunProject with inputParams (found by fuzzing). */
    if (json_object_object_get_ex(src, "inputs", &in) && !inputs_ok(in)) {
        snprintf(err, errlen,
                 "scenario: project %s: \"inputs\" must be an array of "
                 "{\"name\": string, \"type\": string}",
                 id);
        return -1;
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    json_object *pub, *timeline = NULL, *inputs, *outcomes, *cols;
    p->published =
        json_object_object_get_ex(src, "published", &pub) ? json_object_get_boolean(pub) : 1;
    p->version = (int)obj_int(src, "version", 1);
    p->inputs = json_object_object_get_ex(src, "inputs", &inputs) ? json_object_get(inputs)
                                                                  : json_object_new_array();
    json_object_object_get_ex(src, "timeline", &timeline);
    p->pending = parse_dist(timeline, "pending_ms", 1000);
    p->running = parse_dist(timeline, "running_ms", 5000);
    p->p_completed = 1.0;
    if (timeline && json_object_object_get_ex(timeline, "outcomes", &outcomes)) {
        p->p_completed = obj_double(outcomes, "COMPLETED", 0);
        p->p_errored = obj_double(outcomes, "ERRORED", 0);
        p->p_kernel = obj_double(outcomes, "UNABLE_TO_ALLOCATE_KERNEL", 0);
    }
    p->doc = project_doc(src, p->id, hs_sim_ms());
    p->collections = json_object_object_get_ex(src, "collections", &cols) &&
                             json_object_is_type(cols, json_type_array) && string_array_ok(cols)
                         ? json_object_get(cols)
                         : json_object_new_array();
    if (!p->published) /* never published: Hex reports no publish time */
        json_object_object_add(p->doc, "lastPublishedAt", NULL);
    return 0;
}

static int load_tokens(json_object *list, char *err, size_t errlen)
{
    /* json-c asserts on the length of a non-array: refuse it (found by fuzzing). */
    if (list && !json_object_is_type(list, json_type_array)) {
        snprintf(err, errlen, "scenario: \"tokens\" must be an array");
        return -1;
    }
    size_t n = list ? json_object_array_length(list) : 0;
    hs_w.tokens = calloc(n ? n : 1, sizeof(hs_token));
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(list, i), *projects;
        const char *tok = obj_str(t, "token", NULL);
        if (!tok) {
            snprintf(err, errlen, "scenario: tokens[%zu] has no \"token\"", i);
            return -1;
        }
        hs_token *dst = &hs_w.tokens[hs_w.ntokens++];
        dst->token = strdup(tok);
        snprintf(dst->user_id, sizeof(dst->user_id), "%s", obj_str(t, "user", ""));
        if (json_object_object_get_ex(t, "projects", &projects) &&
            json_object_is_type(projects, json_type_array) && !string_array_ok(projects)) {
            snprintf(err, errlen, "scenario: tokens[%zu].projects must hold project ids", i);
            return -1;
        }
        if (json_object_object_get_ex(t, "projects", &projects) &&
            json_object_is_type(projects, json_type_array))
            dst->projects = json_object_get(projects);
        else
            dst->all_projects = 1;
    }
    return 0;
}

static json_object *array_or_empty(json_object *scenario, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(scenario, key, &v) && json_object_is_type(v, json_type_array))
        return json_object_get(v);
    return json_object_new_array();
}

static void world_free_locked(void)
{
    for (size_t i = 0; i < hs_w.nprojects; i++) {
        json_object_put(hs_w.projects[i].doc);
        json_object_put(hs_w.projects[i].inputs);
        json_object_put(hs_w.projects[i].collections);
        free(hs_w.projects[i].runs);
    }
    free(hs_w.projects);
    for (size_t i = 0; i < hs_w.ntokens; i++) {
        free(hs_w.tokens[i].token);
        json_object_put(hs_w.tokens[i].projects);
    }
    free(hs_w.tokens);
    free(hs_w.runs);
    json_object_put(hs_w.users);
    json_object_put(hs_w.groups);
    json_object_put(hs_w.connections);
    json_object_put(hs_w.collections);
    hs_w.projects = NULL;
    hs_w.nprojects = 0;
    hs_w.tokens = NULL;
    hs_w.ntokens = 0;
    hs_w.runs = NULL;
    hs_w.nruns = hs_w.capruns = 0;
    hs_w.users = hs_w.groups = hs_w.connections = hs_w.collections = NULL;
    hs_w.nfaults = 0;
    hs_w.ncounters = 0;
    hs_w.total_requests = 0;
    hs_w.max_concurrent_runs = 0;
}

/* --profile, then the scenario's "profile" and "variant" switches on top. */
static int variant_load(json_object *sc, char *err, size_t errlen)
{
    json_object *v;
    if (hs_variant_profile(&hs_w.variant,
                           obj_str(sc, "profile", hs_w.profile[0] ? hs_w.profile : "default"), err,
                           errlen))
        return -1;
    if (json_object_object_get_ex(sc, "variant", &v) &&
        hs_variant_apply(&hs_w.variant, v, err, errlen))
        return -1;
    return 0;
}

static int world_build_locked(json_object *sc, char *err, size_t errlen)
{
    json_object *projects, *limits;
    hs_w.rng = (hs_w.seed ? hs_w.seed : (uint64_t)obj_int(sc, "seed", 42)) +
               hs_w.worlds++ * 0x9e3779b97f4a7c15ULL;
    snprintf(hs_w.org_id, sizeof(hs_w.org_id), "%s",
             obj_str(sc, "org_id", "0a0a0a0a-0000-4000-8000-000000000001"));
    hs_w.max_concurrent_runs = (int)obj_int(sc, "max_concurrent_runs", 0);
    if (json_object_object_get_ex(sc, "limits", &limits)) {
        hs_w.limits.enabled |= (int)obj_int(limits, "enabled", 0);
        hs_w.limits.run_per_min = (int)obj_int(limits, "run_per_min", hs_w.limits.run_per_min);
        hs_w.limits.run_per_hour = (int)obj_int(limits, "run_per_hour", hs_w.limits.run_per_hour);
        hs_w.limits.api_per_min = (int)obj_int(limits, "api_per_min", hs_w.limits.api_per_min);
        hs_w.limits.api_per_hour = (int)obj_int(limits, "api_per_hour", hs_w.limits.api_per_hour);
    }
    if (json_object_object_get_ex(sc, "projects", &projects)) {
        if (!json_object_is_type(projects, json_type_array)) {
            snprintf(err, errlen, "scenario: \"projects\" must be an array");
            return -1;
        }
        size_t n = json_object_array_length(projects);
        hs_w.projects = calloc(n ? n : 1, sizeof(hs_project));
        for (size_t i = 0; i < n; i++) {
            if (hs_project_from_json(&hs_w.projects[i], json_object_array_get_idx(projects, i), err,
                                     errlen) != 0)
                return -1;
            hs_w.nprojects++;
        }
    }
    json_object *tokens = NULL, *faults;
    json_object_object_get_ex(sc, "tokens", &tokens);
    if (load_tokens(tokens, err, errlen) != 0)
        return -1;
    hs_w.users = array_or_empty(sc, "users");
    hs_w.groups = array_or_empty(sc, "groups");
    hs_w.connections = array_or_empty(sc, "data_connections");
    hs_w.collections = array_or_empty(sc, "collections");
    if (json_object_object_get_ex(sc, "faults", &faults) && hs_faults_add(faults, err, errlen))
        return -1;
    return variant_load(sc, err, errlen);
}

int hs_world_load(json_object *scenario, char *err, size_t errlen)
{
    double ts = obj_double(scenario, "time_scale", 0);
    pthread_mutex_lock(&hs_w.mu);
    world_free_locked();
    int rc = world_build_locked(scenario, err, errlen);
    if (rc == 0) {
        json_object_put(hs_w.scenario);
        hs_w.scenario = scenario;
    } else {
        /* A refused scenario left a half-built world (no users or groups arrays: the next
         * POST /v1/groups aborted hexsim; found by fuzzing). Go back to the scenario that
         * was loaded, as after /__sim/reset. */
        json_object_put(scenario);
        world_free_locked();
        if (!hs_w.scenario)
            hs_w.scenario = json_object_new_object();
        char ignored[256];
        world_build_locked(hs_w.scenario, ignored, sizeof(ignored));
    }
    pthread_mutex_unlock(&hs_w.mu);
    if (rc == 0 && ts > 0)
        hs_set_time_scale(ts);
    return rc;
}

void hs_world_reset(void)
{
    char err[256];
    pthread_mutex_lock(&hs_w.mu);
    world_free_locked();
    world_build_locked(hs_w.scenario, err, sizeof(err));
    pthread_mutex_unlock(&hs_w.mu);
}

hs_token *hs_find_token(const char *token)
{
    for (size_t i = 0; token && i < hs_w.ntokens; i++)
        if (!hs_w.tokens[i].revoked && strcmp(hs_w.tokens[i].token, token) == 0)
            return &hs_w.tokens[i];
    return NULL;
}

hs_project *hs_find_project(const char *id)
{
    for (size_t i = 0; id && i < hs_w.nprojects; i++)
        if (strcasecmp(hs_w.projects[i].id, id) == 0)
            return &hs_w.projects[i];
    return NULL;
}

int hs_token_sees(const hs_token *t, const hs_project *p)
{
    if (t->all_projects)
        return 1;
    for (size_t i = 0; i < json_object_array_length(t->projects); i++)
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(t->projects, i)), p->id) ==
            0)
            return 1;
    return 0;
}

void hs_count(const char *endpoint, int status)
{
    hs_w.total_requests++;
    for (size_t i = 0; i < hs_w.ncounters; i++) {
        hs_counter *c = &hs_w.counters[i];
        if (c->status == status && strcmp(c->endpoint, endpoint) == 0) {
            c->n++;
            return;
        }
    }
    if (hs_w.ncounters < sizeof(hs_w.counters) / sizeof(hs_w.counters[0])) {
        hs_counter *c = &hs_w.counters[hs_w.ncounters++];
        snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
        c->status = status;
        c->n = 1;
    }
}

void hs_in_flight_add(const char *endpoint, int delta)
{
    size_t i = 0;
    while (i < hs_w.nin_flight && strcmp(hs_w.in_flight[i].endpoint, endpoint) != 0)
        i++;
    if (i == hs_w.nin_flight) {
        if (i == sizeof(hs_w.in_flight) / sizeof(hs_w.in_flight[0]))
            return; /* more operations than hexsim serves: cannot happen */
        hs_w.in_flight[hs_w.nin_flight++].endpoint = endpoint;
    }
    hs_w.in_flight[i].n += delta;
}

/* ---- rate limits: fixed windows in hexsim time, per token and bucket ---- */

static int window_full(int64_t *window, int *count, int64_t now, int64_t len, int limit,
                       int64_t *wait_sim)
{
    int64_t w = now / len;
    if (*window != w) {
        *window = w;
        *count = 0;
    }
    if (limit > 0 && *count >= limit) {
        *wait_sim = (w + 1) * len - now;
        return 1;
    }
    return 0;
}

int hs_rate_check(hs_token *t, int run_bucket, hs_resp *r)
{
    if (!hs_w.limits.enabled)
        return 0;
    int b = run_bucket ? 0 : 1;
    int per_min = run_bucket ? hs_w.limits.run_per_min : hs_w.limits.api_per_min;
    int per_hour = run_bucket ? hs_w.limits.run_per_hour : hs_w.limits.api_per_hour;
    int64_t now = hs_sim_ms(), wait = 0;
    if (window_full(&t->min_window[b], &t->min_count[b], now, 60000, per_min, &wait) ||
        window_full(&t->hour_window[b], &t->hour_count[b], now, 3600000, per_hour, &wait)) {
        /* Retry-After is in real seconds, rounded up, at least 1 (HTTP has no fractions). */
        double real_s = (double)wait / 1000.0 / hs_time_scale();
        long secs = (long)ceil(real_s);
        snprintf(r->retry_after, sizeof(r->retry_after), "%ld", secs < 1 ? 1 : secs);
        r->status = 429; /* body is filled by the caller after the lock is released */
        return -1;
    }
    t->min_count[b]++;
    t->hour_count[b]++;
    return 0;
}

/* ---- faults ---- */

static const char *const FAULT_KINDS[] = {"status",      "status_after", "delay",
                                          "drop_before", "drop_after",   "truncate",
                                          "malformed",   "slow_body",    "oversize"};

int hs_faults_add(json_object *list, char *err, size_t errlen)
{
    if (!json_object_is_type(list, json_type_array)) {
        snprintf(err, errlen, "\"faults\" must be an array");
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *f = json_object_array_get_idx(list, i), *v;
        const char *kind = obj_str(f, "kind", "");
        int known = 0;
        for (size_t k = 0; k < sizeof(FAULT_KINDS) / sizeof(FAULT_KINDS[0]); k++)
            known |= strcmp(kind, FAULT_KINDS[k]) == 0;
        if (!known) {
            snprintf(err, errlen,
                     "faults[%zu]: unknown kind \"%s\" (status, status_after, "
                     "delay, drop_before, drop_after, truncate, malformed, slow_body, oversize)",
                     i, kind);
            return -1;
        }
        if (hs_w.nfaults >= sizeof(hs_w.faults) / sizeof(hs_w.faults[0])) {
            snprintf(err, errlen, "too many faults (at most 64)");
            return -1;
        }
        hs_fault *d = &hs_w.faults[hs_w.nfaults++];
        memset(d, 0, sizeof(*d));
        snprintf(d->endpoint, sizeof(d->endpoint), "%s", obj_str(f, "endpoint", "*"));
        snprintf(d->kind, sizeof(d->kind), "%s", kind);
        d->status = (int)obj_int(f, "status", 503);
        /* An error status only: 7 or 200 made answers no HTTP client expects (fuzzing). */
        if (!strncmp(kind, "status", 6) && (d->status < 400 || d->status > 599)) {
            hs_w.nfaults--;
            snprintf(err, errlen, "faults[%zu]: status must be from 400 to 599", i);
            return -1;
        }
        if (json_object_object_get_ex(f, "retry_after", &v))
            snprintf(d->retry_after, sizeof(d->retry_after), "%s", json_object_get_string(v));
        int64_t delay = obj_int(f, "delay_ms", 100);
        int typed =
            !json_object_object_get_ex(f, "delay_ms", &v) || json_object_is_type(v, json_type_int);
        if (!typed || delay < 0 || delay > HS_MAX_DELAY_MS) {
            hs_w.nfaults--;
            snprintf(err, errlen, "faults[%zu]: delay_ms must be an integer from 0 to %d", i,
                     HS_MAX_DELAY_MS);
            return -1;
        }
        d->delay_ms = (int)delay;
        d->bytes = (long)obj_int(f, "bytes", 10 * 1024 * 1024);
        d->probability = obj_double(f, "probability", 0);
        d->count =
            json_object_object_get_ex(f, "probability", &v) ? -1 : (int)obj_int(f, "count", 1);
    }
    return 0;
}

int hs_fault_pick(const char *endpoint, hs_fault *out)
{
    for (size_t i = 0; i < hs_w.nfaults; i++) {
        hs_fault *f = &hs_w.faults[i];
        if (strcmp(f->endpoint, "*") != 0 && strcmp(f->endpoint, endpoint) != 0)
            continue;
        if (f->count == 0)
            continue;
        if (f->count < 0 && hs_rand01() >= f->probability)
            continue;
        if (f->count > 0)
            f->count--;
        *out = *f;
        return 1;
    }
    return 0;
}
