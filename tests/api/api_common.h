/*
 * api_common.h - helpers shared by the API suites: one hexsim per test case (started by
 * tests/support/simproc), clients of the built libhexrun.so.1 pointed at it, and small
 * JSON readers for the answers (tests may use json-c; the plugin's layers do not apply).
 */
#ifndef HEXRUN_API_COMMON_H
#define HEXRUN_API_COMMON_H

#include <check.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

#include "hexrun.h"
#include "simproc.h"

#define P_OK "11111111-1111-4111-8111-111111111111"
#define P_ERR "22222222-2222-4222-8222-222222222222"
#define P_KERNEL "33333333-3333-4333-8333-333333333333"
#define P_SLOW "44444444-4444-4444-8444-444444444444"
#define P_UNPUB "55555555-5555-4555-8555-555555555555"
#define P_MIX "66666666-6666-4666-8666-666666666666"
#define TOKEN_ADMIN "hxtok_admin"
#define TOKEN_LIMITED "hxtok_limited"

extern hexsim_proc api_sim;

/* Unchecked fixture (once per test case, in the parent): start / stop hexsim with
 * --time-scale 20. */
void api_sim_start(void);
void api_sim_stop(void);
/* Checked fixture: reset hexsim (runs, counters, faults) and its time scale. */
void api_sim_reset(void);

/* POST/GET/DELETE on /__sim/...; fails the test unless 2xx. Returns parsed JSON (put it). */
json_object *api_sim_call(const char *method, const char *path, const char *body);

/* A client for the sim with fast polling and retries; extra NULL-terminated key/value
 * pairs override the defaults. */
hexrun_client *api_client(const char *token, const char *const *kv);
/* The same defaults for a server at base_url (a scripted stub, say). */
hexrun_client *api_client_at(const char *base_url, const char *token, const char *const *kv);
/* api_client_at whose log lines go to fn (NULL: stderr) with ud. */
hexrun_client *api_client_logged(const char *base_url, const char *token, const char *const *kv,
                                 hexrun_log_fn fn, void *ud);

/* A test case on its own hexsim (started once for the case, in the parent) that resets
 * hexsim before each test; with admin not NULL, *admin is a new admin client for each test,
 * shut down (detached) after it. One admin slot a program (a fixture takes no argument). */
TCase *api_tcase(const char *name, int timeout_s, hexrun_client **admin);

/* Make count runs of project in hexsim (/__sim/runs); their ids go to ids (each 64 bytes)
 * when ids is not NULL. */
void api_sim_runs(const char *project, int count, char (*ids)[64]);

/* Runs hexsim created for a project (from /__sim/runs). */
int api_runs_created(const char *project_id);
/* Requests hexsim saw for an endpoint with a status ("201"), from /__sim/counters. */
int api_requests(const char *endpoint, const char *status);
/* Submit faults: body {"faults":[...]} */
void api_fault(const char *faults_json);

/* Parse a JSON string returned by hexrun (fails the test if it does not parse). */
json_object *api_json(const char *text);
const char *api_str(json_object *o, const char *key);
int64_t api_int(json_object *o, const char *key);
json_object *api_get(json_object *o, const char *key);

/* Wait until the job reaches `state` (or any terminal state), polling every 5 ms for at
 * most timeout_ms of real time; returns the state it saw last. */
int32_t api_wait_state(hexrun_client *c, int64_t job, int32_t state, int64_t timeout_ms);

/* Milliseconds of CLOCK_MONOTONIC, and a pause of ms. */
int64_t api_now_ms(void);
void api_pause_ms(int64_t ms);

/* Wait on an event with a deadline: evaluate cond every 5 ms until it holds. When
 * timeout_ms of real time pass first, the test fails naming itself and what it waited for
 * (printf-style arguments), where a hang would end in Check's bare "timeout" and a fixed
 * sleep would only hope the event came. */
#define api_await(cond, timeout_ms, ...)                                                           \
    do {                                                                                           \
        const int64_t api_await_end_ = api_now_ms() + (timeout_ms);                                \
        while (!(cond)) {                                                                          \
            if (api_now_ms() >= api_await_end_) {                                                  \
                char api_await_what_[512];                                                         \
                snprintf(api_await_what_, sizeof api_await_what_, __VA_ARGS__);                    \
                ck_abort_msg("%s: gave up after %lld ms waiting for %s", tcase_name(),             \
                             (long long)(timeout_ms), api_await_what_);                            \
            }                                                                                      \
            api_pause_ms(5);                                                                       \
        }                                                                                          \
    } while (0)

/* The job's info as parsed JSON. */
json_object *api_job_info(hexrun_client *c, int64_t job);

/* Run a Check suite in fork mode; the exit status of main. */
int api_run_suite(Suite *s);

#endif
