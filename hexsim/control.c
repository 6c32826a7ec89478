/* control.c - the /__sim/ control and observation API (outside the Hex API, no auth). */
#include "hexsim.h"
#include "wake.h"

#include <stdio.h>
#include <string.h>

static json_object *ok_doc(void)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(1));
    return o;
}

static void sim_error(hs_resp *r, int status, const char *why)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(why));
    hs_resp_json(r, status, o);
}

static json_object *counters_doc(void)
{
    json_object *by_ep = json_object_new_object();
    pthread_mutex_lock(&hs_w.mu);
    for (size_t i = 0; i < hs_w.ncounters; i++) {
        hs_counter *c = &hs_w.counters[i];
        json_object *row;
        char status[16];
        if (!json_object_object_get_ex(by_ep, c->endpoint, &row)) {
            row = json_object_new_object();
            json_object_object_add(by_ep, c->endpoint, row);
        }
        /* status 0 = the connection was dropped on purpose (drop_before/drop_after) */
        snprintf(status, sizeof(status), "%d", c->status);
        json_object_object_add(row, status, json_object_new_int64((int64_t)c->n));
    }
    json_object *in_flight = json_object_new_object();
    for (size_t i = 0; i < hs_w.nin_flight; i++)
        if (hs_w.in_flight[i].n)
            json_object_object_add(in_flight, hs_w.in_flight[i].endpoint,
                                   json_object_new_int64(hs_w.in_flight[i].n));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "requests", by_ep);
    json_object_object_add(o, "total", json_object_new_int64((int64_t)hs_w.total_requests));
    json_object_object_add(o, "in_flight", in_flight);
    pthread_mutex_unlock(&hs_w.mu);
    return o;
}

static json_object *runs_doc(const char *host, const char *project_filter)
{
    json_object *per = json_object_new_object(), *runs = json_object_new_array();
    int64_t now = hs_sim_ms();
    pthread_mutex_lock(&hs_w.mu);
    for (size_t i = 0; i < hs_w.nprojects; i++)
        json_object_object_add(per, hs_w.projects[i].id,
                               json_object_new_int64((int64_t)hs_w.projects[i].created_count));
    for (size_t i = 0; i < hs_w.nruns; i++) {
        hs_run *run = &hs_w.runs[i];
        if (project_filter && strcasecmp(hs_w.projects[run->project].id, project_filter))
            continue;
        json_object *o = hs_run_json(run, host, now);
        json_object_object_add(o, "transitions", hs_run_transitions(run, now));
        json_object_array_add(runs, o);
    }
    pthread_mutex_unlock(&hs_w.mu);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "created_per_project", per);
    json_object_object_add(o, "runs", runs);
    return o;
}

static void create_runs(hs_req *q, hs_resp *r)
{
    json_object *body = hs_body_json(q, r), *v;
    if (!body)
        return;
    const char *pid =
        json_object_object_get_ex(body, "projectId", &v) ? json_object_get_string(v) : NULL;
    int count = json_object_object_get_ex(body, "count", &v) ? json_object_get_int(v) : 1;
    int trigger = 0;
    if (json_object_object_get_ex(body, "runTrigger", &v))
        trigger = !strcmp(json_object_get_string(v), "SCHEDULED")     ? 1
                  : !strcmp(json_object_get_string(v), "APP_REFRESH") ? 2
                                                                      : 0;
    json_object *ids = json_object_new_array();
    pthread_mutex_lock(&hs_w.mu);
    hs_project *p = hs_find_project(pid);
    for (int i = 0; p && i < count && i <= 1000000; i++) {
        hs_run *run = hs_run_create(p, trigger);
        if (!run)
            break;
        json_object_array_add(ids, json_object_new_string(run->id));
    }
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
    if (!p) {
        json_object_put(ids);
        sim_error(r, 404, "projectId names no project of the scenario");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "runIds", ids);
    hs_resp_json(r, 200, o);
}

static void set_faults(hs_req *q, hs_resp *r)
{
    char err[256];
    json_object *body = hs_body_json(q, r), *list;
    if (!body)
        return;
    if (!json_object_object_get_ex(body, "faults", &list)) {
        json_object_put(body);
        sim_error(r, 400, "the body needs a \"faults\" array");
        return;
    }
    pthread_mutex_lock(&hs_w.mu);
    int rc = hs_faults_add(list, err, sizeof(err));
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
    if (rc)
        sim_error(r, 400, err);
    else
        hs_resp_json(r, 200, ok_doc());
}

static void set_limits(hs_req *q, hs_resp *r)
{
    json_object *body = hs_body_json(q, r), *v;
    if (!body)
        return;
    pthread_mutex_lock(&hs_w.mu);
    hs_limits *l = &hs_w.limits;
    struct {
        const char *key;
        int *field;
    } keys[] = {{"enabled", &l->enabled},
                {"run_per_min", &l->run_per_min},
                {"run_per_hour", &l->run_per_hour},
                {"api_per_min", &l->api_per_min},
                {"api_per_hour", &l->api_per_hour}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_object_get_ex(body, keys[i].key, &v))
            *keys[i].field = json_object_get_int(v);
    /* New limits start from fresh windows. */
    for (size_t i = 0; i < hs_w.ntokens; i++) {
        memset(hs_w.tokens[i].min_count, 0, sizeof(hs_w.tokens[i].min_count));
        memset(hs_w.tokens[i].hour_count, 0, sizeof(hs_w.tokens[i].hour_count));
    }
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
    hs_resp_json(r, 200, ok_doc());
}

static void revoke_token(hs_req *q, hs_resp *r)
{
    json_object *body = hs_body_json(q, r), *v;
    if (!body)
        return;
    const char *tok =
        json_object_object_get_ex(body, "token", &v) ? json_object_get_string(v) : NULL;
    pthread_mutex_lock(&hs_w.mu);
    hs_token *t = hs_find_token(tok);
    if (t)
        t->revoked = 1;
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
    if (t)
        hs_resp_json(r, 200, ok_doc());
    else
        sim_error(r, 404, "no such (unrevoked) token");
}

static void load_scenario(hs_req *q, hs_resp *r)
{
    char err[256];
    json_object *body = hs_body_json(q, r);
    if (!body)
        return;
    if (hs_world_load(body, err, sizeof(err)) != 0)
        sim_error(r, 400, err);
    else
        hs_resp_json(r, 200, ok_doc());
}

static void set_time_scale(hs_req *q, hs_resp *r)
{
    json_object *body = hs_body_json(q, r), *v;
    if (!body)
        return;
    double s = json_object_object_get_ex(body, "scale", &v) ? json_object_get_double(v) : 0;
    json_object_put(body);
    if (s <= 0 || s > 1e6) {
        sim_error(r, 400, "\"scale\" must be a number above 0 and up to 1e6");
        return;
    }
    hs_set_time_scale(s);
    hs_resp_json(r, 200, ok_doc());
}

/* POST /__sim/variant: merges switches (and an optional profile) into the live variant. */
static void set_variant(hs_req *q, hs_resp *r)
{
    char err[256];
    json_object *body = hs_body_json(q, r);
    if (!body)
        return;
    pthread_mutex_lock(&hs_w.mu);
    int rc = hs_variant_apply(&hs_w.variant, body, err, sizeof(err));
    json_object *now = hs_variant_json(&hs_w.variant);
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
    if (rc) {
        json_object_put(now);
        sim_error(r, 400, err);
    } else {
        hs_resp_json(r, 200, now);
    }
}

static void get_variant(hs_resp *r)
{
    pthread_mutex_lock(&hs_w.mu);
    json_object *now = hs_variant_json(&hs_w.variant);
    pthread_mutex_unlock(&hs_w.mu);
    hs_resp_json(r, 200, now);
}

/* POST /__sim/release: every answer a delay or slow_body fault holds is sent now. */
static void release_held(hs_resp *r)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "released", json_object_new_int(hs_wake_release_all()));
    hs_resp_json(r, 200, doc);
}

int hs_control_route(hs_req *q, hs_resp *r)
{
    const char *p = q->path + strlen("/__sim");
    int get = !strcmp(q->method, "GET"), post = !strcmp(q->method, "POST");
    if (get && !strcmp(p, "/health"))
        hs_resp_json(r, 200, ok_doc());
    else if (post && !strcmp(p, "/reset"))
        hs_world_reset(), hs_resp_json(r, 200, ok_doc());
    else if (post && !strcmp(p, "/scenario"))
        load_scenario(q, r);
    else if (post && !strcmp(p, "/faults"))
        set_faults(q, r);
    else if (!strcmp(q->method, "DELETE") && !strcmp(p, "/faults")) {
        pthread_mutex_lock(&hs_w.mu);
        hs_w.nfaults = 0;
        pthread_mutex_unlock(&hs_w.mu);
        hs_resp_json(r, 200, ok_doc());
    } else if (post && !strcmp(p, "/time_scale"))
        set_time_scale(q, r);
    else if (post && !strcmp(p, "/limits"))
        set_limits(q, r);
    else if (get && !strcmp(p, "/counters"))
        hs_resp_json(r, 200, counters_doc());
    else if (get && !strcmp(p, "/runs"))
        hs_resp_json(r, 200, runs_doc(q->host_url, hs_query(q, "projectId")));
    else if (post && !strcmp(p, "/runs"))
        create_runs(q, r);
    else if (get && !strcmp(p, "/variant"))
        get_variant(r);
    else if (post && !strcmp(p, "/variant"))
        set_variant(q, r);
    else if (post && !strcmp(p, "/release"))
        release_held(r);
    else if (post && !strcmp(p, "/tokens/revoke"))
        revoke_token(q, r);
    else
        sim_error(r, 404, "unknown /__sim/ route (see docs/hexsim.md)");
    return 1;
}
