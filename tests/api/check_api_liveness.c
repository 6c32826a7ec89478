/*
 * API suite: liveness against answers the Hex spec allows (issue 12). A scripted stub
 * (tests/support/stubsrv) plays Hex, so each case can answer what hexsim's default
 * profile never does: a 422 for a run, a run naming another run, odd optional fields, an
 * opaque nextPage, a cancel that Hex carries out later, ... Every case asserts that the
 * job ends, or the call returns a clear error, within a bound.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_common.h"
#include "stubsrv.h"

#define PROJ "77777777-7777-4777-8777-777777777777"
#define RUN0 "99999999-9999-4999-8999-999999999999"
#define RUN1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define RUN2 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define RUN3 "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define RUNS_PATH "/api/v1/projects/" PROJ "/runs"
#define MAX_SEEN 4096

/* What the stub saw and how the current case wants it to answer. */
typedef struct script {
    pthread_mutex_t mu;
    void (*answer)(const stub_req *req, stub_resp *resp);
    char seen[MAX_SEEN][160]; /* "METHOD path?query" */
    int n_seen;
    int cancels;              /* DELETEs answered */
    int polls_after_cancel;   /* GetRunStatus answered after the first DELETE */
} script;

static script S = {.mu = PTHREAD_MUTEX_INITIALIZER};
static stub_server *stub;

static void handler(const stub_req *req, stub_resp *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&S.mu);
    if (S.n_seen < MAX_SEEN)
        snprintf(S.seen[S.n_seen++], sizeof S.seen[0], "%.8s %.100s%s%.40s", req->method,
                 req->path, req->query[0] ? "?" : "", req->query);
    pthread_mutex_unlock(&S.mu);
    S.answer(req, resp);
}

static int is_status_of(const stub_req *req, const char *run)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", RUNS_PATH, run);
    return strcmp(req->method, "GET") == 0 && strcmp(req->path, path) == 0;
}

static char *run_json(const char *run, const char *status, const char *extra)
{
    return stub_printf("{\"projectId\":\"" PROJ "\",\"runId\":\"%s\",\"runUrl\":"
                       "\"https://app.hex.tech/app/runs/%s\",\"status\":\"%s\","
                       "\"startTime\":\"2026-11-30T00:00:00Z\",\"endTime\":null,"
                       "\"elapsedTime\":null,\"traceId\":\"t1\",\"projectVersion\":1%s}",
                       run, run, status, extra ? extra : "");
}

static hexrun_client *stub_client(const char *const *kv)
{
    hexrun_config *cfg = NULL;
    ck_assert_int_eq(hexrun_config_new(&cfg), HEXRUN_OK);
    const char *defaults[] = {"base_url", stub_base_url(stub), "token", "hxtok_stub",
                              "poll_min_ms", "10", "poll_max_ms", "50",
                              "retry_base_ms", "10", "retry_max_ms", "50",
                              "timeout_ms", "5000", "max_retries", "2",
                              "run_budget_per_min", "0", "run_budget_per_hour", "0",
                              "api_budget_per_min", "0", "api_budget_per_hour", "0", NULL};
    for (const char *const *p = defaults; *p; p += 2)
        ck_assert_msg(hexrun_config_set(cfg, p[0], p[1]) == HEXRUN_OK, "%s",
                      hexrun_last_error());
    for (const char *const *p = kv; p && *p; p += 2)
        ck_assert_msg(hexrun_config_set(cfg, p[0], p[1]) == HEXRUN_OK, "%s",
                      hexrun_last_error());
    hexrun_client *c = NULL;
    ck_assert_msg(hexrun_init(cfg, &c) == HEXRUN_OK, "%s", hexrun_last_error());
    hexrun_config_free(cfg);
    return c;
}

static void start_stub(void (*answer)(const stub_req *, stub_resp *))
{
    S.answer = answer;
    stub = stub_start(handler, NULL);
    ck_assert_ptr_nonnull(stub);
}

static void teardown(void)
{
    stub_stop(stub);
    stub = NULL;
}

static int64_t attach(hexrun_client *c, const char *run)
{
    int64_t job = -1;
    ck_assert_msg(hexrun_attach(c, PROJ, run, &job) == HEXRUN_OK, "%s", hexrun_last_error());
    return job;
}

static void answer_running(const stub_req *req, stub_resp *resp)
{
    if (is_status_of(req, RUN1)) {
        resp->body = run_json(RUN1, "RUNNING", NULL);
        return;
    }
    resp->status = 404;
    resp->body = stub_printf("{\"reason\":\"no such route\"}");
}

/* ---- point 10: releasing a job another thread waits on ---- */

typedef struct waiter {
    hexrun_client *c;
    int64_t job;
    int64_t timeout_ms;
    int rc;
    int32_t state;
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;
    w->rc = hexrun_wait(w->c, w->job, w->timeout_ms, &w->state);
    return NULL;
}

/* Join t within ms; 1 when it finished. */
static int join_within(pthread_t t, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

/* Wait (<= 10 s) until a thread blocks in hexrun_wait: the job table shows no change
 * while it waits, so give it a moment and check it has not returned. */
static void let_it_block(pthread_t t)
{
    struct timespec pause = {0, 200 * 1000000L};
    nanosleep(&pause, NULL);
    ck_assert_msg(pthread_tryjoin_np(t, NULL) != 0, "the waiter returned before the release");
}

START_TEST(release_wakes_a_waiter_with_no_such_job)
{
    /* _i = 0: a wait without limit; 1: a wait with a 60 s limit. */
    start_stub(answer_running);
    hexrun_client *c = stub_client(NULL);
    waiter w = {.c = c, .job = attach(c, RUN1), .timeout_ms = _i ? 60000 : -1, .state = 99};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wait_main, &w), 0);
    let_it_block(t);
    ck_assert_int_eq(hexrun_job_release(c, w.job), HEXRUN_OK);
    int joined = join_within(t, 10000);
    if (!joined) { /* unblock it so the case can end: shutdown wakes every waiter */
        hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
        pthread_join(t, NULL);
        ck_abort_msg("the waiter did not return within 10 s of the release");
    }
    ck_assert_msg(w.rc == HEXRUN_E_NO_SUCH_JOB, "waiter got %d (%s), state %d", w.rc,
                  hexrun_strerror(w.rc), w.state);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(release_during_a_timed_wait_is_no_such_job_not_timeout)
{
    /* A short limit: without a wake-up the waiter would see its time pass first. */
    start_stub(answer_running);
    hexrun_client *c = stub_client(NULL);
    waiter w = {.c = c, .job = attach(c, RUN1), .timeout_ms = 1500, .state = 99};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wait_main, &w), 0);
    let_it_block(t);
    ck_assert_int_eq(hexrun_job_release(c, w.job), HEXRUN_OK);
    pthread_join(t, NULL);
    ck_assert_msg(w.rc == HEXRUN_E_NO_SUCH_JOB, "waiter got %d (%s), state %d", w.rc,
                  hexrun_strerror(w.rc), w.state);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 11: the log callback is never called under the client lock ---- */

typedef struct slow_log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inside;   /* the callback is blocked */
    int release;  /* let it go */
} slow_log;

static slow_log L = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

/* Blocks on the first state-change line until the test lets it go (at most 30 s). */
static void blocking_log(int32_t level, const char *message, void *ud)
{
    (void)level;
    (void)ud;
    if (!strstr(message, "event=state"))
        return;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&L.mu);
    L.inside = 1;
    pthread_cond_broadcast(&L.cv);
    while (!L.release && pthread_cond_timedwait(&L.cv, &L.mu, &deadline) == 0)
        ;
    pthread_mutex_unlock(&L.mu);
}

typedef struct poller {
    hexrun_client *c;
    int64_t job;
    int rc;
} poller;

static void *poll_main(void *arg)
{
    poller *p = arg;
    int32_t state;
    p->rc = hexrun_poll(p->c, p->job, &state);
    return NULL;
}

START_TEST(poll_does_not_wait_for_a_slow_log_callback)
{
    start_stub(answer_running);
    hexrun_config *cfg = NULL;
    ck_assert_int_eq(hexrun_config_new(&cfg), HEXRUN_OK);
    ck_assert_int_eq(hexrun_config_set(cfg, "base_url", stub_base_url(stub)), HEXRUN_OK);
    ck_assert_int_eq(hexrun_config_set(cfg, "token", "hxtok_stub"), HEXRUN_OK);
    ck_assert_int_eq(hexrun_config_set(cfg, "poll_min_ms", "10"), HEXRUN_OK);
    ck_assert_int_eq(hexrun_config_set(cfg, "log_level", "info"), HEXRUN_OK);
    ck_assert_int_eq(hexrun_config_set_log(cfg, blocking_log, NULL), HEXRUN_OK);
    hexrun_client *c = NULL;
    ck_assert_msg(hexrun_init(cfg, &c) == HEXRUN_OK, "%s", hexrun_last_error());
    hexrun_config_free(cfg);
    poller p = {.c = c, .job = attach(c, RUN1), .rc = 99};

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&L.mu);
    while (!L.inside && pthread_cond_timedwait(&L.cv, &L.mu, &deadline) == 0)
        ;
    int inside = L.inside;
    pthread_mutex_unlock(&L.mu);
    ck_assert_msg(inside, "no state change was logged within 20 s");

    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, poll_main, &p), 0);
    int joined = join_within(t, 5000);
    pthread_mutex_lock(&L.mu);
    L.release = 1;
    pthread_cond_broadcast(&L.cv);
    pthread_mutex_unlock(&L.mu);
    if (!joined)
        pthread_join(t, NULL);
    ck_assert_msg(joined, "hexrun_poll blocked while the log callback was busy");
    ck_assert_int_eq(p.rc, HEXRUN_OK);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_liveness");
    TCase *tc = tcase_create("stub");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, release_wakes_a_waiter_with_no_such_job, 0, 2);
    tcase_add_test(tc, release_during_a_timed_wait_is_no_such_job_not_timeout);
    tcase_add_test(tc, poll_does_not_wait_for_a_slow_log_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return api_run_suite(suite());
}
