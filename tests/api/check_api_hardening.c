/*
 * API suite: inputs an attacker or a careless caller controls (issue 13). Dot ids and dot
 * segments never reach Hex, over-long inputs are INVALID_ARG with the limit (not a retried
 * transport error), and a RunProject written any way through hexrun_request is paid from
 * the run budget. docs/security.md lists what each test proves.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "api_common.h"

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
    return api_run_suite(s);
}
