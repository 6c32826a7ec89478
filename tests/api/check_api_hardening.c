/*
 * API suite: inputs an attacker or a careless caller controls (issue 13). Dot ids and dot
 * segments never reach Hex, over-long inputs are INVALID_ARG with the limit (not a retried
 * transport error), and a RunProject written any way through hexrun_request is paid from
 * the run budget. docs/security.md lists what each test proves.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "api_common.h"
#include "stubsrv.h"

static hexrun_client *c;

/* Every request hexsim has answered since the reset, whatever the endpoint and status. */
static int sim_requests_total(void)
{
    json_object *doc = api_sim_call("GET", "/__sim/counters", NULL);
    int total = 0;
    json_object_object_foreach(api_get(doc, "requests"), endpoint, by_status)
    {
        (void)endpoint;
        json_object_object_foreach(by_status, status, n)
        {
            (void)status;
            total += json_object_get_int(n);
        }
    }
    json_object_put(doc);
    return total;
}

static void expect_invalid(int rc, const char *needle)
{
    ck_assert_msg(rc == HEXRUN_E_INVALID_ARG, "rc=%d %s", rc, hexrun_last_error());
    ck_assert_msg(strstr(hexrun_last_error(), needle), "'%s' not in: %s", needle,
                  hexrun_last_error());
}

START_TEST(dot_ids_and_dot_segments_never_reach_hex)
{
    char *out = NULL;
    int32_t status = 0;
    int before = sim_requests_total();
    /* group_delete("..") used to send DELETE /api/v1/ (curl resolves the dots). */
    expect_invalid(hexrun_group_delete(c, ".."), "'..' is not an id");
    expect_invalid(hexrun_group_get(c, ".", &out), "'.' is not an id");
    expect_invalid(hexrun_connection_get(c, "..", &out), "is not an id");
    expect_invalid(hexrun_group_edit(c, "..", "{\"name\":\"x\"}", &out), "is not an id");
    const char *paths[] = {"/v1/../../etc/passwd", "/v1/./users/me",
                           "/v1/users/..",         "/v1/x/%2e%2E/users/me",
                           "/v1/x/.%2e/users/me",  "/v1/x/../projects/" P_OK "/runs",
                           "/v1/users\\..\\me"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        expect_invalid(hexrun_request(c, i % 2 ? "GET" : "POST", paths[i], NULL, &status, &out),
                       "path must");
    ck_assert_int_eq(sim_requests_total(), before);
    /* Dots inside a segment are ordinary characters. */
    ck_assert_int_eq(hexrun_request(c, "GET", "/v1/users/me?x=..", NULL, &status, &out), HEXRUN_OK);
    hexrun_free(out);
}
END_TEST

static char *big_string(size_t n, char fill)
{
    char *s = malloc(n + 1);
    memset(s, fill, n);
    s[n] = '\0';
    return s;
}

START_TEST(over_long_inputs_are_invalid_arg_with_the_limit)
{
    char *out = NULL;
    int32_t status = 0;
    char *big = big_string(1 << 20, 'a'); /* 1 MiB: once "Out of memory (curl 27)", retried */
    int before = sim_requests_total();
    expect_invalid(hexrun_projects_list(c, big, HEXRUN_LIST_ONE_PAGE, &out), "2048 bytes");
    expect_invalid(hexrun_users_list(c, big, HEXRUN_LIST_ALL_PAGES, &out), "2048 bytes");
    expect_invalid(hexrun_group_get(c, big, &out), "1 to 127 bytes");
    expect_invalid(hexrun_connection_get(c, big, &out), "1 to 127 bytes");
    int64_t job = 0;
    expect_invalid(hexrun_submit(c, P_OK, NULL, big, &job), "idempotency_key");
    expect_invalid(hexrun_submit(c, big, NULL, NULL, &job), "not a UUID");
    memcpy(big, "/v1/users/", 10);
    expect_invalid(hexrun_request(c, "GET", big, NULL, &status, &out), "2048 bytes");
    ck_assert_int_eq(sim_requests_total(), before);
    free(big);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One RunProject a (scaled) minute: 60 s / 20 = 3 s, plus the 5% margin. */
START_TEST(a_run_project_through_request_is_paid_from_the_run_budget)
{
    const char *kv[] = {"run_budget_per_min", "1", "budget_time_scale", "20", NULL};
    hexrun_client *paced = api_client(TOKEN_ADMIN, kv);
    char *out = NULL;
    int32_t status = 0;
    /* Written the way a router reads it, not the way a prefix match does. */
    const char *variants[] = {"/v1/projects/" P_OK "/runs/", "/v1/projects//" P_OK "/runs",
                              "/v1/projects/" P_OK "/%72uns", "/v1/project/" P_OK "/run/"};
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        /* Spend the budget with the plain path, then time the variant. */
        ck_assert_int_eq(
            hexrun_request(paced, "POST", "/v1/projects/" P_OK "/runs", "{}", &status, &out),
            HEXRUN_OK);
        hexrun_free(out);
        double t0 = now_s();
        hexrun_request(paced, "POST", variants[i], "{}", &status, &out);
        hexrun_free(out);
        out = NULL;
        double waited = now_s() - t0;
        /* Uncharged, it goes at once; charged, it waits for the window (about 3 s). */
        ck_assert_msg(waited >= 2.5, "%s went after %.2f s: not charged", variants[i], waited);
    }
    hexrun_shutdown(paced, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A direct call's answer is handed over, not copied: the peak memory of a large answer
 * is about its size once (it was twice: the receive buffer and a copy for the caller).
 * Check forks each test, so the high-water mark starts at this test. */
START_TEST(a_large_response_costs_its_size_once_not_twice)
{
    const long body = 48L << 20;
    const char *kv[] = {"max_response_bytes", "67108864", NULL};
    hexrun_client *big = api_client(TOKEN_ADMIN, kv);
    char *out = NULL;
    ck_assert_int_eq(hexrun_user_me(big, &out), HEXRUN_OK); /* warm up curl and the engine */
    hexrun_free(out);
    api_fault("{\"faults\":[{\"endpoint\":\"Me\",\"kind\":\"oversize\",\"bytes\":50331648}]}");
    long before = peak_rss_kb();
    ck_assert_int_eq(hexrun_user_me(big, &out), HEXRUN_OK);
    long grown = peak_rss_kb() - before;
    ck_assert_uint_ge(strlen(out), (size_t)body);
    hexrun_free(out);
    double ratio = (double)grown * 1024.0 / (double)body;
    printf("peak memory of a %ld MiB answer: +%ld KiB (%.2f x the answer)\n", body >> 20, grown,
           ratio);
    ck_assert_msg(ratio < 1.4, "peak %.2f x the answer", ratio);
    hexrun_shutdown(big, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

static int64_t job_polls(hexrun_client *cl, int64_t job)
{
    json_object *info = api_job_info(cl, job);
    int64_t n = api_int(info, "polls");
    json_object_put(info);
    return n;
}

/* Wait (deadline 30 s) until the job has been polled more than `than` times. */
static void await_polls(hexrun_client *cl, int64_t job, int64_t than)
{
    api_await(job_polls(cl, job) > than, 30000, "poll %lld of job %lld", (long long)than + 1,
              (long long)job);
}

/* A poll's answer is parsed where it lies (it was copied first): a large GetRunStatus
 * answer costs the body, json-c's token buffer and its string, no fourth copy. */
START_TEST(a_large_poll_answer_is_parsed_without_a_copy)
{
    const long body = 48L << 20;
    const char *kv[] = {"max_response_bytes", "67108864", "coalesce", "false", NULL};
    hexrun_client *big = api_client(TOKEN_ADMIN, kv);
    json_object *made =
        api_sim_call("POST", "/__sim/runs", "{\"projectId\":\"" P_SLOW "\",\"count\":1}");
    const char *run = json_object_get_string(json_object_array_get_idx(api_get(made, "runIds"), 0));
    int64_t job = 0;
    ck_assert_int_eq(hexrun_attach(big, P_SLOW, run, &job), HEXRUN_OK);
    json_object_put(made);
    await_polls(big, job, 0);
    long before = peak_rss_kb();
    api_fault("{\"faults\":[{\"endpoint\":\"GetRunStatus\",\"kind\":\"oversize\","
              "\"bytes\":50331648}]}");
    await_polls(big, job, job_polls(big, job));
    long grown = peak_rss_kb() - before;
    double ratio = (double)grown * 1024.0 / (double)body;
    printf("peak memory of a %ld MiB poll answer: +%ld KiB (%.2f x the answer)\n", body >> 20,
           grown, ratio);
    ck_assert_msg(ratio < 1.5, "peak %.2f x the answer (3.00 parsed whole by json-c)", ratio);
    hexrun_shutdown(big, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* The same for the default, coalesced, polls: a large GetProjectRuns page is read in place
 * too. */
START_TEST(a_large_coalesced_poll_page_is_parsed_without_a_copy)
{
    const long body = 48L << 20;
    const char *kv[] = {"max_response_bytes", "67108864", NULL};
    hexrun_client *big = api_client(TOKEN_ADMIN, kv);
    json_object *made =
        api_sim_call("POST", "/__sim/runs", "{\"projectId\":\"" P_SLOW "\",\"count\":2}");
    int64_t jobs[2];
    for (int i = 0; i < 2; i++) {
        const char *run =
            json_object_get_string(json_object_array_get_idx(api_get(made, "runIds"), i));
        ck_assert_int_eq(hexrun_attach(big, P_SLOW, run, &jobs[i]), HEXRUN_OK);
    }
    json_object_put(made);
    await_polls(big, jobs[0], 0);
    await_polls(big, jobs[1], 0);
    int pages = api_requests("GetProjectRuns", "200");
    long before = peak_rss_kb();
    api_fault("{\"faults\":[{\"endpoint\":\"GetProjectRuns\",\"kind\":\"oversize\","
              "\"bytes\":50331648}]}");
    double until = now_s() + 60;
    while (api_requests("GetProjectRuns", "200") <= pages) {
        ck_assert_msg(now_s() < until, "no GetProjectRuns page within 60 s");
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    await_polls(big, jobs[0], job_polls(big, jobs[0])); /* the big page has been read */
    long grown = peak_rss_kb() - before;
    double ratio = (double)grown * 1024.0 / (double)body;
    printf("peak memory of a %ld MiB poll page: +%ld KiB (%.2f x the answer)\n", body >> 20, grown,
           ratio);
    ck_assert_msg(ratio < 1.5, "peak %.2f x the answer (3.00 parsed whole by json-c)", ratio);
    hexrun_shutdown(big, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* ---- a page packed with more runs than it was asked for, from a scripted server ---- */

#define PACKED_PROJECT "77777777-7777-4777-8777-777777777777"
#define PACKED_RUN1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define PACKED_RUN2 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define PACKED_RUNS_PATH "/api/v1/projects/" PACKED_PROJECT "/runs"

/* What the stub answers: its runs' status, and a packed page handed over once. */
static struct {
    pthread_mutex_t mu;
    const char *status;
    char *packed; /* the next GetProjectRuns answer when not NULL (the stub frees it) */
    int packed_sent;
    char refusal[512]; /* the log line that refused a page */
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .status = "RUNNING"};

static char *packed_run(const char *run, const char *status)
{
    return stub_printf("{\"projectId\":\"" PACKED_PROJECT "\",\"runId\":\"%s\","
                       "\"status\":\"%s\"}",
                       run, status);
}

static void packed_answer(const stub_req *req, stub_resp *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&P.mu);
    if (strcmp(req->path, PACKED_RUNS_PATH) == 0 && P.packed) {
        resp->body = P.packed; /* handed over: its memory was counted before the test */
        P.packed = NULL;
        P.packed_sent++;
    } else if (strcmp(req->path, PACKED_RUNS_PATH) == 0) {
        char *r1 = packed_run(PACKED_RUN1, P.status), *r2 = packed_run(PACKED_RUN2, P.status);
        resp->body = stub_printf("{\"runs\":[%s,%s],\"nextPage\":null}", r1, r2);
        free(r1);
        free(r2);
    } else if (strcmp(req->path, PACKED_RUNS_PATH "/" PACKED_RUN1) == 0) {
        resp->body = packed_run(PACKED_RUN1, P.status);
    } else if (strcmp(req->path, PACKED_RUNS_PATH "/" PACKED_RUN2) == 0) {
        resp->body = packed_run(PACKED_RUN2, P.status);
    } else {
        resp->status = 404;
        resp->body = stub_printf("{\"reason\":\"no such route\"}");
    }
    pthread_mutex_unlock(&P.mu);
}

static void packed_log(int32_t level, const char *message, void *ud)
{
    (void)level;
    (void)ud;
    pthread_mutex_lock(&P.mu);
    if (!P.refusal[0] && strstr(message, "event=page_unreadable"))
        snprintf(P.refusal, sizeof P.refusal, "%s", message);
    pthread_mutex_unlock(&P.mu);
}

static int packed_page_sent(void)
{
    pthread_mutex_lock(&P.mu);
    int sent = P.packed_sent;
    pthread_mutex_unlock(&P.mu);
    return sent;
}

/* Set once, then only read. */
static int page_refused(void)
{
    pthread_mutex_lock(&P.mu);
    int refused = P.refusal[0] != '\0';
    pthread_mutex_unlock(&P.mu);
    return refused;
}

/* A GetProjectRuns page of about `bytes` bytes of runs with only their required fields. */
static char *packed_page(size_t bytes, size_t *count)
{
    char *page = malloc(bytes + 256), *p = page;
    ck_assert_ptr_nonnull(page);
    p += sprintf(p, "{\"runs\":[");
    for (*count = 0; (size_t)(p - page) < bytes; ++*count)
        p += sprintf(p,
                     "%s{\"projectId\":\"" PACKED_PROJECT "\",\"runId\":\"%08zx-0000-4000-"
                     "8000-000000000000\",\"status\":\"RUNNING\"}",
                     *count ? "," : "", *count);
    strcpy(p, "],\"nextPage\":null}");
    return page;
}

/* A page of many tiny runs would cost some 13 times its size parsed (a run is about
 * 1.5 KiB): it is refused before its runs are parsed, as a page of more runs than the
 * limit it was asked with, named in the log; its runs are polled alone and end. */
START_TEST(a_page_packed_with_more_runs_than_asked_for_is_refused_unparsed)
{
    const size_t body = 32u << 20;
    stub_server *stub = stub_start(packed_answer, NULL);
    ck_assert_ptr_nonnull(stub);
    const char *kv[] = {"max_response_bytes", "67108864", NULL};
    hexrun_client *cl = api_client_logged(stub_base_url(stub), "hxtok_stub", kv, packed_log, NULL);
    int64_t jobs[2];
    ck_assert_int_eq(hexrun_attach(cl, PACKED_PROJECT, PACKED_RUN1, &jobs[0]), HEXRUN_OK);
    ck_assert_int_eq(hexrun_attach(cl, PACKED_PROJECT, PACKED_RUN2, &jobs[1]), HEXRUN_OK);
    await_polls(cl, jobs[0], 0);
    await_polls(cl, jobs[1], 0);
    size_t count = 0;
    char *page = packed_page(body, &count);
    long before = peak_rss_kb();
    pthread_mutex_lock(&P.mu);
    P.packed = page;
    pthread_mutex_unlock(&P.mu);
    api_await(packed_page_sent(), 60000, "the packed page to be asked for");
    await_polls(cl, jobs[0], job_polls(cl, jobs[0])); /* the packed page has been read */
    long grown = peak_rss_kb() - before;
    double ratio = (double)grown * 1024.0 / (double)body;
    printf("peak memory of a %zu MiB page of %zu runs: +%ld KiB (%.2f x the answer)\n", body >> 20,
           count, grown, ratio);
    char expected[128];
    snprintf(expected, sizeof expected,
             "GetProjectRuns: the page holds %zu runs, more than the 100 asked for", count);
    ck_assert_msg(ratio < 1.5, "peak %.2f x the answer (about 13 parsed)", ratio);
    api_await(page_refused(), 30000, "the page's refusal in the log");
    ck_assert_msg(strstr(P.refusal, expected), "'%s' not in: %s", expected, P.refusal);
    pthread_mutex_lock(&P.mu);
    P.status = "COMPLETED";
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(api_wait_state(cl, jobs[i], HEXRUN_STATE_COMPLETED, 30000),
                         HEXRUN_STATE_COMPLETED);
    hexrun_shutdown(cl, HEXRUN_SHUTDOWN_DETACH);
    stub_stop(stub);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-hardening");
    TCase *tc = api_tcase("inputs", 120, &c);
    tcase_add_test(tc, dot_ids_and_dot_segments_never_reach_hex);
    tcase_add_test(tc, over_long_inputs_are_invalid_arg_with_the_limit);
    tcase_add_test(tc, a_run_project_through_request_is_paid_from_the_run_budget);
    tcase_add_test(tc, a_large_response_costs_its_size_once_not_twice);
    tcase_add_test(tc, a_large_poll_answer_is_parsed_without_a_copy);
    tcase_add_test(tc, a_large_coalesced_poll_page_is_parsed_without_a_copy);
    suite_add_tcase(s, tc);
    TCase *hostile = tcase_create("hostile_pages"); /* a scripted server, no hexsim */
    tcase_set_timeout(hostile, 120);
    tcase_add_test(hostile, a_page_packed_with_more_runs_than_asked_for_is_refused_unparsed);
    suite_add_tcase(s, hostile);
    return api_run_suite(s);
}
