/*
 * API suite: liveness against answers the Hex spec allows (issue 12). A scripted stub
 * (tests/support/stubsrv) plays Hex, so each case can answer what hexsim's default
 * profile never does: a 422 for a run, a run naming another run, odd optional fields, an
 * opaque nextPage, a cancel that Hex carries out later, ... Every case asserts that the
 * job ends, or the call returns a clear error, within a bound.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    int cancels;            /* DELETEs answered */
    int polls_after_cancel; /* GetRunStatus answered after the first DELETE */
} script;

static script S = {.mu = PTHREAD_MUTEX_INITIALIZER};
static stub_server *stub;

static void handler(const stub_req *req, stub_resp *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&S.mu);
    if (S.n_seen < MAX_SEEN)
        snprintf(S.seen[S.n_seen++], sizeof S.seen[0], "%.8s %.100s%s%.40s", req->method, req->path,
                 req->query[0] ? "?" : "", req->query);
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

/* api_client's defaults with shorter bounds, so that every case ends within its own. */
static hexrun_client *stub_client(void)
{
    return api_client_at(stub_base_url(stub), "hxtok_stub",
                         (const char *[]){"poll_max_ms", "50", "retry_max_ms", "50", "timeout_ms",
                                          "5000", "max_retries", "2", NULL});
}

static void start_stub(void (*answer)(const stub_req *, stub_resp *))
{
    S.answer = answer;
    stub = stub_start(handler, NULL);
    ck_assert_ptr_nonnull(stub);
}

/* The stub started with answer, and a client of it. */
static hexrun_client *stub_and_client(void (*answer)(const stub_req *, stub_resp *))
{
    start_stub(answer);
    return stub_client();
}

/* The answer to a request a case does not script. */
static void no_route(stub_resp *resp)
{
    resp->status = 404;
    resp->body = stub_printf("{\"reason\":\"no such route\"}");
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
    no_route(resp);
}

/* ---- point 10: releasing a job another thread waits on ---- */

typedef struct waiter {
    hexrun_client *c;
    int64_t job;
    int64_t timeout_ms;
    int rc;
    int32_t state;
    atomic_int tid; /* the waiting thread's id, once it is about to wait */
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;
    atomic_store(&w->tid, (int)gettid());
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

/* 1 while thread tid of this process sleeps in the kernel (state S in its /proc stat). */
static int thread_sleeps(int tid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *name_end = strrchr(stat, ')'); /* the thread's name may hold anything */
    return name_end && strncmp(name_end, ") S", 3) == 0;
}

/* Wait (<= 10 s) until the waiter blocks in hexrun_wait: the job table shows no change
 * while it waits, but the kernel shows the thread asleep once it called hexrun_wait. */
static void let_it_block(waiter *w, pthread_t t)
{
    api_await(atomic_load(&w->tid) && thread_sleeps(atomic_load(&w->tid)), 10000,
              "the waiter thread asleep in hexrun_wait");
    ck_assert_msg(pthread_tryjoin_np(t, NULL) != 0, "the waiter returned before the release");
}

START_TEST(release_wakes_a_waiter_with_no_such_job)
{
    /* _i = 0: a wait without limit; 1: a wait with a 60 s limit. */
    hexrun_client *c = stub_and_client(answer_running);
    waiter w = {.c = c, .job = attach(c, RUN1), .timeout_ms = _i ? 60000 : -1, .state = 99};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wait_main, &w), 0);
    let_it_block(&w, t);
    ck_assert_int_eq(hexrun_job_release(c, w.job), HEXRUN_OK);
    int joined = join_within(t, 10000);
    if (!joined) { /* unblock it so the case can end: shutdown wakes every waiter */
        hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
        ck_abort_msg("the waiter did not return within 10 s of the release (%s by shutdown)",
                     join_within(t, 10000) ? "woken" : "not even woken");
    }
    ck_assert_msg(w.rc == HEXRUN_E_NO_SUCH_JOB, "waiter got %d (%s), state %d", w.rc,
                  hexrun_strerror(w.rc), w.state);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(release_during_a_timed_wait_is_no_such_job_not_timeout)
{
    /* A limit: without a wake-up the waiter would see its time pass (E_TIMEOUT). */
    hexrun_client *c = stub_and_client(answer_running);
    waiter w = {.c = c, .job = attach(c, RUN1), .timeout_ms = 5000, .state = 99};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wait_main, &w), 0);
    let_it_block(&w, t);
    ck_assert_int_eq(hexrun_job_release(c, w.job), HEXRUN_OK);
    ck_assert_msg(join_within(t, 15000), "the waiter did not return within 15 s of the release");
    ck_assert_msg(w.rc == HEXRUN_E_NO_SUCH_JOB, "waiter got %d (%s), state %d", w.rc,
                  hexrun_strerror(w.rc), w.state);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 11: the log callback is never called under the client lock ---- */

typedef struct slow_log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inside;  /* the callback is blocked */
    int release; /* let it go */
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
    ck_assert_msg(joined,
                  "hexrun_poll blocked while the log callback was busy (%s once it "
                  "was let go)",
                  join_within(t, 10000) ? "it returned" : "and did not return");
    ck_assert_int_eq(p.rc, HEXRUN_OK);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 2: a GetRunStatus answer asking again cannot change ends the job ---- */

/* Requests seen that start with prefix ("GET /api/v1/..."). */
static int seen(const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < S.n_seen; i++)
        n += strncmp(S.seen[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&S.mu);
    return n;
}

static int final_status; /* the status the stub answers GetRunStatus with */

static void answer_final_status(const stub_req *req, stub_resp *resp)
{
    resp->status = is_status_of(req, RUN1) ? final_status : 404;
    resp->body = stub_printf("{\"reason\":\"Run not found in this workspace\","
                             "\"traceId\":\"tr-%d\"}",
                             resp->status);
}

START_TEST(poll_answered_400_or_422_ends_the_job_lost)
{
    static const int statuses[] = {422, 400, 410};
    final_status = statuses[_i];
    hexrun_client *c = stub_and_client(answer_final_status);
    int64_t job = attach(c, RUN1);
    int32_t state = -1;
    int rc = hexrun_wait(c, job, 20000, &state);
    ck_assert_msg(rc == HEXRUN_OK, "HTTP %d: wait gave %s, state %s", final_status,
                  hexrun_strerror(rc), hexrun_state_name(state));
    ck_assert_int_eq(state, HEXRUN_STATE_LOST);
    json_object *info = api_job_info(c, job);
    json_object *err = api_get(info, "last_error");
    ck_assert_int_eq(api_int(err, "http_status"), final_status);
    ck_assert_ptr_nonnull(strstr(api_str(err, "message"), "Run not found"));
    ck_assert_str_eq(api_str(info, "run_id"), RUN1); /* kept: the run may go on in Hex */
    /* Not asked again and again: one answer each (a 4xx is not retried). */
    ck_assert_int_eq(seen("GET " RUNS_PATH "/" RUN1), 1);
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 7: a status answer must be about the run asked for ---- */

static const char *answered_run; /* the runId the stub puts in GetRunStatus answers */

static void answer_other_run(const stub_req *req, stub_resp *resp)
{
    if (strcmp(req->method, "GET") == 0 &&
        strncmp(req->path, RUNS_PATH "/", strlen(RUNS_PATH) + 1) == 0) {
        resp->body = stub_printf("{\"projectId\":\"" PROJ "\",\"runId\":\"%s\",\"status\":"
                                 "\"COMPLETED\",\"runUrl\":\"https://x/%s\"}",
                                 answered_run, answered_run);
        return;
    }
    no_route(resp);
}

START_TEST(status_answer_about_another_run_is_not_taken)
{
    static const char *const others[] = {RUN2, "..", "x/../../users"};
    answered_run = others[_i];
    hexrun_client *c = stub_and_client(answer_other_run);
    int64_t job = attach(c, RUN1);
    int32_t state = -1;
    ck_assert_int_eq(hexrun_wait(c, job, 20000, &state), HEXRUN_OK);
    ck_assert_msg(state == HEXRUN_STATE_LOST, "state %s", hexrun_state_name(state));
    json_object *info = api_job_info(c, job);
    ck_assert_str_eq(api_str(info, "run_id"), RUN1);
    ck_assert_ptr_null(api_str(info, "hex_status"));
    json_object *err = api_get(info, "last_error");
    ck_assert_int_eq(api_int(err, "code"), HEXRUN_E_PROTOCOL);
    ck_assert_msg(strstr(api_str(err, "message"), _i ? "not a UUID" : "not run " RUN1), "%s",
                  api_str(err, "message"));
    /* Every request went to the run asked for. */
    ck_assert_int_eq(seen("GET"), seen("GET " RUNS_PATH "/" RUN1));
    ck_assert_int_ge(seen("GET"), 3);
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

static void answer_created_dotdot(const stub_req *req, stub_resp *resp)
{
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, RUNS_PATH) == 0) {
        resp->status = 201;
        resp->body = stub_printf("{\"projectId\":\"" PROJ "\",\"runId\":\"..\",\"runUrl\":"
                                 "\"u\",\"runStatusUrl\":\"s\",\"traceId\":\"t\","
                                 "\"projectVersion\":1}");
        return;
    }
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, RUNS_PATH) == 0) {
        resp->body = stub_printf("{\"runs\":[],\"nextPage\":null,\"previousPage\":null}");
        return;
    }
    no_route(resp);
}

START_TEST(run_created_with_a_run_id_that_is_not_a_uuid_is_not_used)
{
    hexrun_client *c = stub_and_client(answer_created_dotdot);
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(c, PROJ, NULL, NULL, &job), HEXRUN_OK);
    int32_t state = -1;
    ck_assert_int_eq(hexrun_wait(c, job, 20000, &state), HEXRUN_OK);
    /* The run may exist but its id is unusable: looked for, not found, never resent. */
    ck_assert_msg(state == HEXRUN_STATE_SUBMIT_UNKNOWN, "state %s", hexrun_state_name(state));
    json_object *info = api_job_info(c, job);
    ck_assert_ptr_null(api_str(info, "run_id"));
    ck_assert_ptr_nonnull(strstr(api_str(api_get(info, "last_error"), "message"), "not a UUID"));
    ck_assert_int_eq(seen("POST"), 1);
    ck_assert_int_eq(seen("DELETE"), 0);
    ck_assert_int_eq(seen("GET"), seen("GET " RUNS_PATH "?"));
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 3: odd optional fields never stall a job ---- */

static void answer_odd_fields(const stub_req *req, stub_resp *resp)
{
    if (is_status_of(req, RUN1)) {
        resp->body = stub_printf(
            "{\"projectId\":\"" PROJ "\",\"runId\":\"" RUN1 "\",\"status\":\"COMPLETED\","
            "\"traceId\":\"%070d\",\"elapsedTime\":-5,\"projectVersion\":3.0,"
            "\"startTime\":1732924800,\"endTime\":{\"t\":1},\"runTrigger\":\"CRON_%0100d\","
            "\"runUrl\":\"https://app.hex.tech/%02000d\",\"notifications\":7}",
            0, 0, 0);
        return;
    }
    no_route(resp);
}

START_TEST(odd_optional_fields_do_not_stall_a_job)
{
    hexrun_client *c = stub_and_client(answer_odd_fields);
    int64_t job = attach(c, RUN1);
    int32_t state = -1;
    ck_assert_int_eq(hexrun_wait(c, job, 20000, &state), HEXRUN_OK);
    ck_assert_msg(state == HEXRUN_STATE_COMPLETED, "state %s", hexrun_state_name(state));
    json_object *info = api_job_info(c, job);
    ck_assert_ptr_null(api_get(info, "last_error"));
    ck_assert_ptr_null(api_get(info, "elapsed_ms"));
    ck_assert_str_eq(api_str(info, "start_time"), "1732924800");
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 4: nextPage without an offset ---- */

/* GetProjectRuns: page 1 holds RUN0 (no job's) and an opaque nextPage; page 2 (asked with
 * that cursor, or by counting: offset=1) holds RUN1, RUN2 and RUN3. They are RUNNING until
 * the case sets runs_done, on the pages and in GetRunStatus alike. */
static int runs_done;

static void answer_opaque_pages(const stub_req *req, stub_resp *resp)
{
    pthread_mutex_lock(&S.mu);
    const char *status = runs_done ? "COMPLETED" : "RUNNING";
    pthread_mutex_unlock(&S.mu);
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, RUNS_PATH) == 0) {
        char *a = NULL, *b = NULL, *c = NULL;
        if (strstr(req->query, "cursor=p2") || strstr(req->query, "offset=1")) {
            a = run_json(RUN1, status, NULL);
            b = run_json(RUN2, status, NULL);
            c = run_json(RUN3, status, NULL);
            resp->body = stub_printf("{\"runs\":[%s,%s,%s],\"nextPage\":null,"
                                     "\"previousPage\":null,\"traceId\":\"t\"}",
                                     a, b, c);
        } else {
            a = run_json(RUN0, "COMPLETED", NULL);
            resp->body = stub_printf("{\"runs\":[%s],\"nextPage\":\"https://app.hex.tech/api/"
                                     "v1/projects/" PROJ "/runs?cursor=p2\",\"previousPage\":"
                                     "null,\"traceId\":\"t\"}",
                                     a);
        }
        free(a);
        free(b);
        free(c);
        return;
    }
    const char *runs[] = {RUN1, RUN2, RUN3};
    for (int i = 0; i < 3; i++)
        if (is_status_of(req, runs[i])) {
            resp->body = run_json(runs[i], status, NULL);
            return;
        }
    no_route(resp);
}

START_TEST(coalesced_polls_follow_a_next_page_without_offset)
{
    hexrun_client *c = stub_and_client(answer_opaque_pages);
    int64_t jobs[3] = {attach(c, RUN1), attach(c, RUN2), attach(c, RUN3)};
    /* While the runs go on, their project's pages are read: the second by counting the
     * runs of the first (offset=1), as its nextPage has no offset. */
    api_await(seen("GET " RUNS_PATH "?limit=100&offset=1") >= 1, 10000,
              "a read of the second page (%d page reads, %d GetRunStatus)",
              seen("GET " RUNS_PATH "?"), seen("GET " RUNS_PATH "/"));
    pthread_mutex_lock(&S.mu);
    runs_done = 1;
    pthread_mutex_unlock(&S.mu);
    int32_t state = -1;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(hexrun_wait(c, jobs[i], 20000, &state), HEXRUN_OK);
        ck_assert_msg(state == HEXRUN_STATE_COMPLETED, "job %d: %s", i, hexrun_state_name(state));
    }
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(runs_list_all_pages_passes_an_opaque_cursor_back)
{
    hexrun_client *c = stub_and_client(answer_opaque_pages);
    char *out = NULL;
    int rc = hexrun_runs_list(c, PROJ, NULL, NULL, 0, 0, HEXRUN_LIST_ALL_PAGES, &out);
    ck_assert_msg(rc == HEXRUN_OK, "%s", hexrun_last_error());
    json_object *page = api_json(out);
    hexrun_free(out);
    json_object *runs = api_get(page, "runs");
    ck_assert_int_eq(json_object_array_length(runs), 4);
    ck_assert_str_eq(api_str(json_object_array_get_idx(runs, 1), "runId"), RUN1);
    ck_assert_int_eq(seen("GET " RUNS_PATH "?cursor=p2"), 1);
    json_object_put(page);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 5: all pages with the caller's own cursor, and a cursor that repeats ---- */

static int cursor_repeats; /* the stub's pagination.after never changes */

/* ListProjects: after=A -> after=B -> after=null, or always after=A when it repeats. The
 * stub reads the first after= of a query, as servers do. */
static void answer_cursor_pages(const stub_req *req, stub_resp *resp)
{
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/api/v1/projects") == 0) {
        const char *a = strstr(req->query, "after=");
        char cur = a ? a[6] : '-';
        const char *next = cursor_repeats ? "\"A\""
                           : cur == '-'   ? "\"A\""
                           : cur == 'A'   ? "\"B\""
                                          : "null";
        resp->body = stub_printf("{\"values\":[{\"id\":\"p-%c\"}],\"pagination\":{\"after\":%s,"
                                 "\"before\":null}}",
                                 cur, next);
        return;
    }
    no_route(resp);
}

START_TEST(all_pages_from_the_callers_own_cursor)
{
    hexrun_client *c = stub_and_client(answer_cursor_pages);
    char *out = NULL;
    int rc = hexrun_projects_list(c, "limit=1&after=A", HEXRUN_LIST_ALL_PAGES, &out);
    ck_assert_msg(rc == HEXRUN_OK, "%s", hexrun_last_error());
    json_object *page = api_json(out);
    hexrun_free(out);
    ck_assert_int_eq(json_object_array_length(api_get(page, "values")), 2);
    ck_assert_int_eq(seen("GET /api/v1/projects?limit=1&after=A"), 1);
    ck_assert_int_eq(seen("GET /api/v1/projects?limit=1&after=B"), 1);
    ck_assert_int_eq(seen("GET"), 2);
    json_object_put(page);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(a_repeated_cursor_stops_with_a_clear_error)
{
    cursor_repeats = 1;
    hexrun_client *c = stub_and_client(answer_cursor_pages);
    char *out = NULL;
    ck_assert_int_eq(hexrun_projects_list(c, NULL, HEXRUN_LIST_ALL_PAGES, &out), HEXRUN_E_PROTOCOL);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(hexrun_last_error(), "the cursor repeats"), "%s", hexrun_last_error());
    ck_assert_int_eq(seen("GET"), 2); /* no-cursor page, then after=A once */
    /* The caller's own cursor repeated by the server is caught too. */
    ck_assert_int_eq(hexrun_projects_list(c, "after=A", HEXRUN_LIST_ALL_PAGES, &out),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(seen("GET"), 3);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

static void answer_runs_offset_repeats(const stub_req *req, stub_resp *resp)
{
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, RUNS_PATH) == 0) {
        char *run = run_json(RUN1, "COMPLETED", NULL);
        resp->body = stub_printf("{\"runs\":[%s],\"nextPage\":\"https://app.hex.tech/api/v1/"
                                 "projects/" PROJ "/runs?offset=0\"}",
                                 run);
        free(run);
        return;
    }
    no_route(resp);
}

START_TEST(runs_list_with_a_repeated_next_page_stops)
{
    hexrun_client *c = stub_and_client(answer_runs_offset_repeats);
    char *out = NULL;
    ck_assert_int_eq(hexrun_runs_list(c, PROJ, NULL, NULL, 0, 0, HEXRUN_LIST_ALL_PAGES, &out),
                     HEXRUN_E_PROTOCOL);
    ck_assert_msg(strstr(hexrun_last_error(), "the cursor repeats"), "%s", hexrun_last_error());
    ck_assert_int_eq(seen("GET"), 1);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 6: a cancel is confirmed with Hex ---- */

static const char *after_cancel; /* the status GetRunStatus reports after the DELETE */
static int kill_after_polls;     /* async kill: RUNNING for this many polls after it */

static void answer_cancel(const stub_req *req, stub_resp *resp)
{
    if (strcmp(req->method, "DELETE") == 0 && strcmp(req->path, RUNS_PATH "/" RUN1) == 0) {
        pthread_mutex_lock(&S.mu);
        S.cancels++;
        pthread_mutex_unlock(&S.mu);
        resp->status = 204;
        return;
    }
    if (is_status_of(req, RUN1)) {
        pthread_mutex_lock(&S.mu);
        int cancelled = S.cancels > 0;
        int polls = cancelled ? ++S.polls_after_cancel : 0;
        pthread_mutex_unlock(&S.mu);
        const char *status = !cancelled                  ? "RUNNING"
                             : polls <= kill_after_polls ? "RUNNING"
                                                         : after_cancel;
        resp->body = run_json(RUN1, status, NULL);
        return;
    }
    no_route(resp);
}

START_TEST(cancel_reports_what_hex_reports)
{
    /* _i = 0: Hex kills the run after 3 more polls; 1: the run had COMPLETED. */
    after_cancel = _i ? "COMPLETED" : "KILLED";
    kill_after_polls = _i ? 0 : 3;
    hexrun_client *c = stub_and_client(answer_cancel);
    int64_t job = attach(c, RUN1);
    ck_assert_int_eq(api_wait_state(c, job, HEXRUN_STATE_RUNNING, 10000), HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_OK);
    int32_t state = -1;
    ck_assert_int_eq(hexrun_wait(c, job, 20000, &state), HEXRUN_OK);
    ck_assert_msg(state == (_i ? HEXRUN_STATE_COMPLETED : HEXRUN_STATE_KILLED), "state %s",
                  hexrun_state_name(state));
    json_object *info = api_job_info(c, job);
    ck_assert_str_eq(api_str(info, "hex_status"), after_cancel);
    ck_assert_str_eq(api_str(info, "cancel"), "accepted");
    pthread_mutex_lock(&S.mu);
    int polls = S.polls_after_cancel, cancels = S.cancels;
    pthread_mutex_unlock(&S.mu);
    ck_assert_int_eq(cancels, 1);
    ck_assert_int_eq(polls, kill_after_polls + 1); /* the job ended on Hex's word */
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- point 9: a Retry-After of a day parks nothing for long, and says so ---- */

static void answer_rate_limited(const stub_req *req, stub_resp *resp)
{
    resp->status = 429;
    snprintf(resp->headers, sizeof resp->headers, "Retry-After: 86400\r\n");
    resp->body = stub_printf("{\"reason\":\"Too many requests\",\"traceId\":\"t429\"}");
    (void)req;
}

/* The job's waiting_for now, malloc'd; NULL when it has none. */
static char *waiting_for_now(hexrun_client *c, int64_t job)
{
    json_object *info = api_job_info(c, job);
    const char *w = api_str(info, "waiting_for");
    char *copy = w ? strdup(w) : NULL;
    json_object_put(info);
    return copy;
}

/* The job's waiting_for once it has one (the test fails after 10 s), malloc'd. */
static char *waiting_for(hexrun_client *c, int64_t job)
{
    char *w = NULL;
    api_await((w = waiting_for_now(c, job)) != NULL, 10000, "job info to say why job %lld waits",
              (long long)job);
    return w;
}

START_TEST(a_long_retry_after_is_capped_and_shown_in_job_info)
{
    hexrun_client *c = stub_and_client(answer_rate_limited);
    int64_t first = -1, second = -1;
    ck_assert_int_eq(hexrun_submit(c, PROJ, NULL, NULL, &first), HEXRUN_OK);
    char *w = waiting_for(c, first);
    ck_assert_msg(strstr(w, "RunProject retry 1 of 2") && strstr(w, "(in 3600 s)") &&
                      strstr(w, "HTTP 429 with Retry-After: 86400 (capped at an hour)"),
                  "%s", w);
    free(w);
    /* The run budget is paused for the hour: a later submit (of another project, which
     * is not held behind the first's RunProject) says so too. */
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, NULL, &second), HEXRUN_OK);
    w = waiting_for(c, second);
    ck_assert_msg(strstr(w, "rate limit pause until "), "%s", w);
    free(w);
    int32_t state = -1;
    ck_assert_int_eq(hexrun_poll(c, second, &state), HEXRUN_OK);
    ck_assert_int_eq(state, HEXRUN_STATE_QUEUED);
    ck_assert_int_eq(seen("POST"), 1);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(a_direct_call_ends_by_its_deadline)
{
    /* timeout_ms 5000, max_retries 2, retry_max_ms 50: the deadline is 15.1 s. */
    hexrun_client *c = stub_and_client(answer_rate_limited);
    char *out = NULL;
    int64_t t0 = api_now_ms();
    ck_assert_int_eq(hexrun_projects_list(c, NULL, HEXRUN_LIST_ONE_PAGE, &out),
                     HEXRUN_E_RATE_LIMITED);
    ck_assert_msg(strstr(hexrun_last_error(), "not retried: the wait Hex asks for (3600 s) "
                                              "passes this call's deadline (15 s"),
                  "%s", hexrun_last_error());
    /* The api budget now waits for Hex's pause: the next call does not even go out. */
    ck_assert_int_eq(hexrun_user_me(c, &out), HEXRUN_E_RATE_LIMITED);
    ck_assert_msg(strstr(hexrun_last_error(), "Me: not sent: rate limit pause until "), "%s",
                  hexrun_last_error());
    ck_assert_int_lt(api_now_ms() - t0, 15100);
    ck_assert_int_eq(seen("GET"), 1);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- against hexsim's variant profile (docs/hexsim.md): the same points, end to end ---- */

#define UNKNOWN_RUN "99999999-9999-4999-8999-999999999999"

static hexrun_client *sim_client(void)
{
    return api_client(TOKEN_ADMIN, (const char *[]){"max_retries", "2", NULL});
}

static void variant(const char *switches)
{
    json_object_put(api_sim_call("POST", "/__sim/variant", switches));
}

static int32_t wait_job(hexrun_client *c, int64_t job)
{
    int32_t state = -1;
    int rc = hexrun_wait(c, job, 30000, &state);
    ck_assert_msg(rc == HEXRUN_OK, "wait: %s, state %s", hexrun_strerror(rc),
                  hexrun_state_name(state));
    return state;
}

/* The truth about a run in hexsim (/__sim/runs), whatever it answered. */
static char *sim_run_status(const char *run_id)
{
    json_object *all = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *runs = api_get(all, "runs");
    char *status = NULL;
    for (size_t i = 0; runs && i < json_object_array_length(runs) && !status; i++) {
        json_object *r = json_object_array_get_idx(runs, i);
        if (api_str(r, "runId") && strcmp(api_str(r, "runId"), run_id) == 0)
            status = strdup(api_str(r, "status"));
    }
    json_object_put(all);
    ck_assert_msg(status != NULL, "hexsim has no run %s", run_id);
    return status;
}

START_TEST(variant_422_for_an_unknown_run_ends_the_job)
{
    variant("{\"unknown_object_status\":\"spec\"}");
    hexrun_client *c = sim_client();
    int64_t job = -1;
    ck_assert_int_eq(hexrun_attach(c, P_OK, UNKNOWN_RUN, &job), HEXRUN_OK);
    ck_assert_int_eq(wait_job(c, job), HEXRUN_STATE_LOST);
    json_object *info = api_job_info(c, job);
    ck_assert_int_eq(api_int(api_get(info, "last_error"), "http_status"), 422);
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(variant_odd_fields_and_unknown_status_still_complete)
{
    variant("{\"odd_fields\":true,\"extra_fields\":true,"
            "\"unknown_status\":\"QUEUED_FOR_KERNEL\"}");
    hexrun_client *c = sim_client();
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(wait_job(c, job), HEXRUN_STATE_COMPLETED);
    json_object *info = api_job_info(c, job);
    ck_assert_ptr_null(api_get(info, "last_error"));
    json_object_put(info);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(variant_opaque_next_page_lists_every_run)
{
    variant("{\"opaque_next_page\":true}");
    hexrun_client *c = sim_client();
    int64_t jobs[5];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, NULL, &jobs[i]), HEXRUN_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(wait_job(c, jobs[i]), HEXRUN_STATE_COMPLETED);
    char *one = NULL, *all = NULL;
    ck_assert_int_eq(hexrun_runs_list(c, P_OK, NULL, NULL, 100, 0, HEXRUN_LIST_ONE_PAGE, &one),
                     HEXRUN_OK);
    int rc = hexrun_runs_list(c, P_OK, NULL, NULL, 2, 0, HEXRUN_LIST_ALL_PAGES, &all);
    ck_assert_msg(rc == HEXRUN_OK, "%s", hexrun_last_error());
    json_object *o = api_json(one), *a = api_json(all);
    size_t n = json_object_array_length(api_get(o, "runs"));
    ck_assert_uint_ge(n, 5);
    ck_assert_uint_eq(json_object_array_length(api_get(a, "runs")), n);
    json_object_put(o);
    json_object_put(a);
    hexrun_free(one);
    hexrun_free(all);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(variant_cancel_reports_what_hex_did)
{
    /* _i = 0: Hex kills the run 2 s (hexsim time) after the 204; 1: the run wins the race
     * and ends COMPLETED although the cancel was accepted. */
    variant(_i ? "{\"async_cancel_ms\":2000,\"cancel_race_every\":1}"
               : "{\"async_cancel_ms\":2000}");
    hexrun_client *c = sim_client();
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(c, P_SLOW, NULL, NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(api_wait_state(c, job, HEXRUN_STATE_RUNNING, 20000), HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_OK);
    int32_t state = wait_job(c, job);
    json_object *info = api_job_info(c, job);
    char *truth = sim_run_status(api_str(info, "run_id"));
    ck_assert_str_eq(truth, _i ? "COMPLETED" : "KILLED");
    ck_assert_str_eq(hexrun_state_name(state), truth);
    ck_assert_str_eq(api_str(info, "cancel"), "accepted");
    free(truth);
    json_object_put(info);
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
    tcase_add_loop_test(tc, poll_answered_400_or_422_ends_the_job_lost, 0, 3);
    tcase_add_loop_test(tc, status_answer_about_another_run_is_not_taken, 0, 3);
    tcase_add_test(tc, run_created_with_a_run_id_that_is_not_a_uuid_is_not_used);
    tcase_add_test(tc, odd_optional_fields_do_not_stall_a_job);
    tcase_add_test(tc, coalesced_polls_follow_a_next_page_without_offset);
    tcase_add_test(tc, runs_list_all_pages_passes_an_opaque_cursor_back);
    tcase_add_test(tc, all_pages_from_the_callers_own_cursor);
    tcase_add_test(tc, a_repeated_cursor_stops_with_a_clear_error);
    tcase_add_test(tc, runs_list_with_a_repeated_next_page_stops);
    tcase_add_loop_test(tc, cancel_reports_what_hex_reports, 0, 2);
    tcase_add_test(tc, a_long_retry_after_is_capped_and_shown_in_job_info);
    tcase_add_test(tc, a_direct_call_ends_by_its_deadline);
    suite_add_tcase(s, tc);
    TCase *tv = api_tcase("hexsim_variant", 60, NULL);
    tcase_add_test(tv, variant_422_for_an_unknown_run_ends_the_job);
    tcase_add_test(tv, variant_odd_fields_and_unknown_status_still_complete);
    tcase_add_test(tv, variant_opaque_next_page_lists_every_run);
    tcase_add_loop_test(tv, variant_cancel_reports_what_hex_did, 0, 2);
    suite_add_tcase(s, tv);
    return s;
}

int main(void)
{
    return api_run_suite(suite());
}
