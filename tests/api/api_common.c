/* api_common.c - see api_common.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_common.h"
#include "ck_run.h"

hexsim_proc api_sim;

void api_sim_start(void)
{
    const char *args[] = {"--time-scale", "20", NULL};
    if (hexsim_proc_start(&api_sim, args) != 0) {
        fprintf(stderr, "api suite: hexsim did not start\n");
        exit(EXIT_FAILURE);
    }
}

void api_sim_stop(void)
{
    hexsim_proc_stop(&api_sim);
}

json_object *api_sim_call(const char *method, const char *path, const char *body)
{
    char *out = NULL;
    int status = hexsim_proc_call(&api_sim, method, path, NULL, body, &out);
    ck_assert_msg(status >= 200 && status < 300, "%s %s: HTTP %d %s", method, path, status,
                  out ? out : "");
    json_object *o = out && out[0] ? json_tokener_parse(out) : NULL;
    free(out);
    return o;
}

void api_sim_reset(void)
{
    json_object_put(api_sim_call("POST", "/__sim/reset", "{}"));
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":20}"));
    json_object_put(api_sim_call("POST", "/__sim/limits", "{\"enabled\":false}"));
}

hexrun_client *api_client(const char *token, const char *const *kv)
{
    return api_client_at(api_sim.base_url, token, kv);
}

hexrun_client *api_client_at(const char *base_url, const char *token, const char *const *kv)
{
    return api_client_logged(base_url, token, kv, NULL, NULL);
}

hexrun_client *api_client_logged(const char *base_url, const char *token, const char *const *kv,
                                 hexrun_log_fn fn, void *ud)
{
    hexrun_config *cfg = NULL;
    ck_assert_int_eq(hexrun_config_new(&cfg), HEXRUN_OK);
    const char *defaults[] = {"base_url",
                              base_url,
                              "token",
                              token,
                              "poll_min_ms",
                              "10",
                              "poll_max_ms",
                              "100",
                              "retry_base_ms",
                              "10",
                              "retry_max_ms",
                              "200",
                              "timeout_ms",
                              "10000",
                              "run_budget_per_min",
                              "0",
                              "run_budget_per_hour",
                              "0",
                              "api_budget_per_min",
                              "0",
                              "api_budget_per_hour",
                              "0",
                              NULL};
    for (const char *const *p = defaults; *p; p += 2)
        ck_assert_msg(hexrun_config_set(cfg, p[0], p[1]) == HEXRUN_OK, "%s", hexrun_last_error());
    for (const char *const *p = kv; p && *p; p += 2)
        ck_assert_msg(hexrun_config_set(cfg, p[0], p[1]) == HEXRUN_OK, "%s", hexrun_last_error());
    ck_assert_int_eq(hexrun_config_set_log(cfg, fn, ud), HEXRUN_OK);
    hexrun_client *c = NULL;
    ck_assert_msg(hexrun_init(cfg, &c) == HEXRUN_OK, "%s", hexrun_last_error());
    hexrun_config_free(cfg);
    return c;
}

/* Where api_tcase's fixture puts the admin client of the running test (NULL: none). */
static hexrun_client **admin_slot;

static void admin_setup(void)
{
    api_sim_reset();
    *admin_slot = api_client(TOKEN_ADMIN, NULL);
}

static void admin_teardown(void)
{
    hexrun_shutdown(*admin_slot, HEXRUN_SHUTDOWN_DETACH);
}

TCase *api_tcase(const char *name, int timeout_s, hexrun_client **admin)
{
    if (admin && admin_slot && admin_slot != admin) {
        fprintf(stderr, "api suite: api_tcase takes one admin client slot a program\n");
        exit(EXIT_FAILURE);
    }
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, api_sim_start, api_sim_stop);
    if (admin) {
        admin_slot = admin;
        tcase_add_checked_fixture(tc, admin_setup, admin_teardown);
    } else {
        tcase_add_checked_fixture(tc, api_sim_reset, NULL);
    }
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

void api_sim_runs(const char *project, int count, char (*ids)[64])
{
    char body[160];
    snprintf(body, sizeof body, "{\"projectId\":\"%s\",\"count\":%d}", project, count);
    json_object *r = api_sim_call("POST", "/__sim/runs", body);
    json_object *list = api_get(r, "runIds");
    ck_assert_int_eq((int)json_object_array_length(list), count);
    for (int i = 0; ids && i < count; i++)
        snprintf(ids[i], 64, "%s", json_object_get_string(json_object_array_get_idx(list, i)));
    json_object_put(r);
}

int api_runs_created(const char *project_id)
{
    json_object *runs = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *per = api_get(runs, "created_per_project"), *n = NULL;
    int count = per && json_object_object_get_ex(per, project_id, &n) ? json_object_get_int(n) : 0;
    json_object_put(runs);
    return count;
}

int api_requests(const char *endpoint, const char *status)
{
    json_object *c = api_sim_call("GET", "/__sim/counters", NULL);
    json_object *by = api_get(api_get(c, "requests"), endpoint), *n = NULL;
    int count = by && json_object_object_get_ex(by, status, &n) ? json_object_get_int(n) : 0;
    json_object_put(c);
    return count;
}

void api_fault(const char *faults_json)
{
    json_object_put(api_sim_call("POST", "/__sim/faults", faults_json));
}

json_object *api_json(const char *text)
{
    ck_assert_ptr_nonnull(text);
    json_object *o = json_tokener_parse(text);
    ck_assert_msg(o != NULL, "not JSON: %.200s", text);
    return o;
}

json_object *api_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *api_str(json_object *o, const char *key)
{
    json_object *v = api_get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t api_int(json_object *o, const char *key)
{
    json_object *v = api_get(o, key);
    return v ? json_object_get_int64(v) : -1;
}

int64_t api_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void api_pause_ms(int64_t ms)
{
    struct timespec pause = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

int32_t api_wait_state(hexrun_client *c, int64_t job, int32_t state, int64_t timeout_ms)
{
    int32_t s = -1;
    for (int64_t end = api_now_ms() + timeout_ms;;) {
        ck_assert_int_eq(hexrun_poll(c, job, &s), HEXRUN_OK);
        if (s == state || hexrun_state_is_terminal(s) == 1 || api_now_ms() >= end)
            return s;
        api_pause_ms(5);
    }
}

json_object *api_job_info(hexrun_client *c, int64_t job)
{
    char *info = NULL;
    ck_assert_int_eq(hexrun_job_info(c, job, &info), HEXRUN_OK);
    json_object *o = api_json(info);
    hexrun_free(info);
    return o;
}

int api_run_suite(Suite *s)
{
    return ck_run(s);
}
