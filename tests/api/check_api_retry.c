/* API suite: retries of 5xx, 429 and transport errors, and the RunProject rule: a POST
 * that may have reached Hex is never sent again. Faults come from hexsim's /__sim/faults. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_common.h"

static hexrun_client *c;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int32_t submit_and_wait(hexrun_client *client, const char *project, int64_t *job)
{
    int32_t state = -1;
    ck_assert_int_eq(hexrun_submit(client, project, NULL, NULL, job), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(client, *job, 20000, &state), HEXRUN_OK);
    return state;
}

START_TEST(get_5xx_is_retried_then_succeeds)
{
    api_fault("{\"faults\":[{\"endpoint\":\"Me\",\"kind\":\"status\",\"status\":503,"
              "\"count\":2}]}");
    char *out = NULL;
    ck_assert_msg(hexrun_user_me(c, &out) == HEXRUN_OK, "%s", hexrun_last_error());
    hexrun_free(out);
    ck_assert_int_eq(api_requests("Me", "503"), 2);
    ck_assert_int_eq(api_requests("Me", "200"), 1);
    char *stats = NULL;
    hexrun_stats(c, &stats);
    json_object *s = api_json(stats);
    ck_assert_int_eq(api_int(s, "retries"), 2);
    json_object_put(s);
    hexrun_free(stats);
}
END_TEST

START_TEST(retry_after_of_a_429_is_honoured)
{
    api_fault("{\"faults\":[{\"endpoint\":\"ListUsers\",\"kind\":\"status\",\"status\":429,"
              "\"retry_after\":\"1\",\"count\":1}]}");
    char *out = NULL;
    int64_t t0 = mono_ms();
    ck_assert_msg(hexrun_users_list(c, NULL, 0, &out) == HEXRUN_OK, "%s", hexrun_last_error());
    ck_assert_int_ge(mono_ms() - t0, 950);
    hexrun_free(out);
    ck_assert_int_eq(api_requests("ListUsers", "429"), 1);
    ck_assert_int_eq(api_requests("ListUsers", "200"), 1);
}
END_TEST

START_TEST(retries_exhausted_say_how_many_attempts)
{
    hexrun_client *few = api_client(TOKEN_ADMIN, (const char *[]){"max_retries", "2", NULL});
    api_fault("{\"faults\":[{\"endpoint\":\"Me\",\"kind\":\"status\",\"status\":500,"
              "\"count\":100}]}");
    char *out = NULL;
    ck_assert_int_eq(hexrun_user_me(few, &out), HEXRUN_E_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HTTP 500 after 3 attempts"));
    ck_assert_int_eq(api_requests("Me", "500"), 3);
    hexrun_shutdown(few, 0);
}
END_TEST

START_TEST(run_project_503_and_429_are_retried)
{
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"status\",\"status\":503,"
              "\"count\":1},{\"endpoint\":\"RunProject\",\"kind\":\"status\",\"status\":429,"
              "\"retry_after\":\"0\",\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(api_runs_created(P_OK), 1);
    ck_assert_int_eq(api_requests("RunProject", "503"), 1);
    ck_assert_int_eq(api_requests("RunProject", "429"), 1);
    ck_assert_int_eq(api_requests("RunProject", "201"), 1);
}
END_TEST

START_TEST(run_project_500_is_not_retried_and_its_run_looked_for)
{
    /* A 500 before any work: no run appears, so after its lookups the job says it cannot
     * know (a gateway's 500 may come after Hex made the run), and sends nothing again. */
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"status\",\"status\":500,"
              "\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_SUBMIT_UNKNOWN);
    json_object *info = api_job_info(c, job);
    json_object *e = api_get(info, "last_error");
    ck_assert_int_eq(api_int(e, "code"), HEXRUN_E_OUTCOME_UNKNOWN);
    ck_assert_int_eq(api_int(e, "http_status"), 500);
    const char *msg = api_str(e, "message");
    ck_assert_msg(strstr(msg, "HTTP 500") && strstr(msg, "0 API run(s) of the project appeared"),
                  "%s", msg);
    json_object_put(info);
    ck_assert_int_eq(api_requests("RunProject", "500"), 1);
    ck_assert_int_eq(api_requests("RunProject", "201"), 0);
    ck_assert_int_ge(api_requests("GetProjectRuns", "200"), 1);
}
END_TEST

/* The id of the only run hexsim holds (the caller frees nothing; copied to out). */
static void only_sim_run(char *out, size_t len)
{
    json_object *runs = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *list = api_get(runs, "runs");
    ck_assert_uint_eq(json_object_array_length(list), 1);
    snprintf(out, len, "%s", api_str(json_object_array_get_idx(list, 0), "runId"));
    json_object_put(runs);
}

/* The job tracks run_id, and its last_error tells that it was adopted. */
static void assert_job_run(hexrun_client *client, int64_t job, const char *run_id)
{
    json_object *info = api_job_info(client, job);
    ck_assert_str_eq(api_str(info, "run_id"), run_id);
    json_object *e = api_get(info, "last_error");
    ck_assert_int_eq(api_int(e, "code"), HEXRUN_E_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(api_str(e, "message"), "adopted run"));
    ck_assert_ptr_nonnull(strstr(api_str(e, "message"), run_id));
    json_object_put(info);
}

START_TEST(run_project_dropped_after_processing_adopts_its_run)
{
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_COMPLETED);
    /* hexsim made exactly one run and saw one RunProject; the job found and tracked it. */
    ck_assert_int_eq(api_runs_created(P_OK), 1);
    ck_assert_int_eq(api_requests("RunProject", "0"), 1);
    ck_assert_int_ge(api_requests("GetProjectRuns", "200"), 1);
    char run_id[64];
    only_sim_run(run_id, sizeof run_id);
    assert_job_run(c, job, run_id);
}
END_TEST

START_TEST(identical_unanswered_submits_each_adopt_one_run)
{
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":3}]}");
    int64_t jobs[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, NULL, &jobs[i]), HEXRUN_OK);
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        int32_t state = -1;
        ck_assert_int_eq(hexrun_wait(c, jobs[i], 20000, &state), HEXRUN_OK);
        ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
        json_object *info = api_job_info(c, jobs[i]);
        snprintf(ids[i], sizeof ids[i], "%s", api_str(info, "run_id"));
        json_object_put(info);
    }
    ck_assert_int_eq(api_runs_created(P_OK), 3);
    ck_assert_str_ne(ids[0], ids[1]);
    ck_assert_str_ne(ids[1], ids[2]);
    ck_assert_str_ne(ids[0], ids[2]);
}
END_TEST

START_TEST(a_gateway_5xx_after_the_run_was_made_adopts_it_and_keeps_the_key)
{
    /* hexsim's variant profile: RunProject makes the run, then a gateway answers 504:
     * the job finds its run; the journal keeps the key bound to it,
     * so a retried task (another client, same key) attaches instead of starting a run. */
    json_object_put(api_sim_call("POST", "/__sim/variant",
                                 "{\"run_project_after_work\":{\"status\":504,\"every\":1}}"));
    char dir[] = "/tmp/hexrun-api-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
    const char *kv[] = {"journal_path", path, NULL};
    hexrun_client *j = api_client(TOKEN_ADMIN, kv);
    int64_t job = -1;
    int32_t state = -1;
    ck_assert_int_eq(hexrun_submit(j, P_OK, NULL, "gateway-504", &job), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(j, job, 20000, &state), HEXRUN_OK);
    ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(api_requests("RunProject", "504"), 1);
    char run_id[64];
    only_sim_run(run_id, sizeof run_id);
    assert_job_run(j, job, run_id);
    json_object *info = api_job_info(j, job);
    ck_assert_int_eq(api_int(api_get(info, "last_error"), "http_status"), 504);
    json_object_put(info);
    hexrun_shutdown(j, 0);

    hexrun_client *retry = api_client(TOKEN_ADMIN, kv);
    ck_assert_int_eq(hexrun_submit(retry, P_OK, NULL, "gateway-504", &job), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(retry, job, 20000, &state), HEXRUN_OK);
    ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
    info = api_job_info(retry, job);
    ck_assert_str_eq(api_str(info, "run_id"), run_id);
    json_object_put(info);
    hexrun_shutdown(retry, 0);
    ck_assert_int_eq(api_runs_created(P_OK), 1);
    ck_assert_int_eq(api_requests("RunProject", "504"), 1);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(a_lost_answer_holds_its_project_for_one_lookup_not_a_poll_interval)
{
    /* Every RunProject makes its run and then gets a gateway's 504. Submits of one project
     * go one at a time, so each lookup delays the next submit: the first looks at once,
     * not after poll_min_ms (5 s here), or three submits would take over 10 s. */
    json_object_put(api_sim_call("POST", "/__sim/variant",
                                 "{\"run_project_after_work\":{\"status\":504,\"every\":1}}"));
    hexrun_client *slow = api_client(
        TOKEN_ADMIN, (const char *[]){"poll_min_ms", "5000", "poll_max_ms", "5000", NULL});
    int64_t jobs[3];
    int64_t t0 = mono_ms();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(hexrun_submit(slow, P_OK, NULL, NULL, &jobs[i]), HEXRUN_OK);
    for (int i = 0; i < 3; i++) {
        int32_t state = -1;
        for (int64_t end = mono_ms() + 20000; mono_ms() < end;) {
            ck_assert_int_eq(hexrun_poll(slow, jobs[i], &state), HEXRUN_OK);
            if (state != HEXRUN_STATE_QUEUED && state != HEXRUN_STATE_SUBMITTING)
                break;
            nanosleep(&(struct timespec){0, 5000000}, NULL);
        }
        ck_assert_int_ne(state, HEXRUN_STATE_SUBMIT_UNKNOWN);
        ck_assert_int_ne(state, HEXRUN_STATE_SUBMITTING);
    }
    /* Under 10 s (lookups waiting poll_min_ms would take over 10 s); the headroom is for a
     * loaded machine, not for the lookups. */
    ck_assert_int_lt(mono_ms() - t0, 9000);
    ck_assert_int_eq(api_requests("RunProject", "504"), 3);
    ck_assert_int_eq(api_runs_created(P_OK), 3);
    hexrun_shutdown(slow, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

START_TEST(clients_sharing_a_journal_send_one_run_project_of_a_project_at_a_time)
{
    /* Two clients (as two processes would) share a journal; both answers are lost. The
     * second waits while the first's intent is open, so each lookup has one candidate. */
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":2}]}");
    char dir[] = "/tmp/hexrun-api-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
    const char *kv[] = {"journal_path", path, NULL};
    hexrun_client *a = api_client(TOKEN_ADMIN, kv), *b = api_client(TOKEN_ADMIN, kv);
    int64_t ja = -1, jb = -1;
    int32_t sa = -1, sb = -1;
    ck_assert_int_eq(hexrun_submit(a, P_OK, NULL, "shared-a", &ja), HEXRUN_OK);
    ck_assert_int_eq(hexrun_submit(b, P_OK, NULL, "shared-b", &jb), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(a, ja, 20000, &sa), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(b, jb, 20000, &sb), HEXRUN_OK);
    ck_assert_int_eq(sa, HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(sb, HEXRUN_STATE_COMPLETED);
    json_object *ia = api_job_info(a, ja), *ib = api_job_info(b, jb);
    ck_assert_str_ne(api_str(ia, "run_id"), api_str(ib, "run_id"));
    json_object_put(ia);
    json_object_put(ib);
    ck_assert_int_eq(api_runs_created(P_OK), 2);
    hexrun_shutdown(a, 0);
    hexrun_shutdown(b, 0);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(unanswered_submits_with_different_bodies_each_adopt_their_own_run)
{
    /* Two submits of one project with different bodies, both answers lost: one RunProject
     * of a project at a time gives each lost answer exactly one candidate run. */
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":2}]}");
    int64_t jobs[2];
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, NULL, &jobs[0]), HEXRUN_OK);
    ck_assert_int_eq(hexrun_submit(c, P_OK, "{\"useCachedSqlResults\":false}", NULL, &jobs[1]),
                     HEXRUN_OK);
    for (int i = 0; i < 2; i++) {
        int32_t state = -1;
        ck_assert_int_eq(hexrun_wait(c, jobs[i], 20000, &state), HEXRUN_OK);
        ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
    }
    json_object *runs = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *list = api_get(runs, "runs");
    ck_assert_uint_eq(json_object_array_length(list), 2);
    /* hexsim lists runs in the order it made them: the first submit's run first. */
    for (int i = 0; i < 2; i++)
        assert_job_run(c, jobs[i], api_str(json_object_array_get_idx(list, (size_t)i), "runId"));
    json_object_put(runs);
    ck_assert_int_eq(api_requests("RunProject", "0"), 2);
}
END_TEST

START_TEST(a_released_jobs_run_is_not_taken_for_an_unanswered_submits)
{
    /* The first job's run is done and released; the second's RunProject answer is lost.
     * The project now lists two new runs, but only one is not this client's. */
    int64_t first = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &first), HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(hexrun_job_release(c, first), HEXRUN_OK);
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_COMPLETED);
    json_object *runs = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *list = api_get(runs, "runs");
    ck_assert_uint_eq(json_object_array_length(list), 2);
    assert_job_run(c, job, api_str(json_object_array_get_idx(list, 1), "runId"));
    json_object_put(runs);
}
END_TEST

START_TEST(unreadable_lookups_do_not_count_against_finding_the_run)
{
    /* The answer is lost, and the project's runs come back unreadable five times (a 200
     * with a broken body is not retried): those say nothing, so the job looks again and
     * adopts its run instead of ending SUBMIT_UNKNOWN on "the last lookup failed". */
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\",\"count\":1},"
              "{\"endpoint\":\"GetProjectRuns\",\"kind\":\"malformed\",\"count\":5}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_COMPLETED);
    char run_id[64];
    only_sim_run(run_id, sizeof run_id);
    assert_job_run(c, job, run_id);
    ck_assert_int_eq(api_requests("GetProjectRuns", "200"), 6);
}
END_TEST

START_TEST(an_ambiguous_unanswered_submit_ends_submit_unknown_with_evidence)
{
    /* Someone else's API run appears in the project too: two candidates for one submit. */
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":1}]}");
    json_object_put(
        api_sim_call("POST", "/__sim/runs", "{\"projectId\":\"" P_OK "\",\"count\":1}"));
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_SUBMIT_UNKNOWN);
    json_object *info = api_job_info(c, job);
    json_object *e = api_get(info, "last_error");
    ck_assert_int_eq(api_int(e, "code"), HEXRUN_E_OUTCOME_UNKNOWN);
    const char *msg = api_str(e, "message");
    ck_assert_ptr_nonnull(strstr(msg, "outcome unknown"));
    ck_assert_ptr_nonnull(strstr(msg, "after 6 lookup(s)"));
    ck_assert_ptr_nonnull(strstr(msg, "2 API run(s)"));
    json_object_put(info);
    /* Nothing was sent again: still the one RunProject, and two runs in all. */
    ck_assert_int_eq(api_requests("RunProject", "0"), 1);
    ck_assert_int_eq(api_runs_created(P_OK), 2);
}
END_TEST

START_TEST(run_project_timeout_adopts_the_run_hex_made_later)
{
    /* Hex answers after the client gave up; the run shows up in a later lookup. */
    hexrun_client *quick =
        api_client(TOKEN_ADMIN, (const char *[]){"timeout_ms", "300", "poll_min_ms", "300",
                                                 "poll_max_ms", "1000", NULL});
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"delay\",\"delay_ms\":1500,"
              "\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(quick, P_OK, &job), HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(api_runs_created(P_OK), 1);
    char run_id[64];
    only_sim_run(run_id, sizeof run_id);
    assert_job_run(quick, job, run_id);
    hexrun_shutdown(quick, 0);
}
END_TEST

START_TEST(a_dry_run_without_answer_fails_cleanly)
{
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":1}]}");
    int64_t job = -1;
    int32_t state = -1;
    ck_assert_int_eq(hexrun_submit(c, P_OK, "{\"dryRun\":true}", NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(c, job, 20000, &state), HEXRUN_OK);
    ck_assert_int_eq(state, HEXRUN_STATE_SUBMIT_FAILED);
    ck_assert_int_eq(api_requests("GetProjectRuns", "200"), 0);
}
END_TEST

START_TEST(polls_survive_5xx_and_drops)
{
    api_fault("{\"faults\":[{\"endpoint\":\"GetRunStatus\",\"kind\":\"status\",\"status\":502,"
              "\"count\":2},{\"endpoint\":\"GetRunStatus\",\"kind\":\"drop_before\","
              "\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(api_requests("GetRunStatus", "502"), 2);
}
END_TEST

START_TEST(connect_refused_is_retried_then_fails)
{
    /* A port nobody listens on: hexsim's, after stopping a second sim. */
    hexsim_proc other;
    ck_assert_int_eq(hexsim_proc_start(&other, NULL), 0);
    char url[64];
    snprintf(url, sizeof url, "%s", other.base_url);
    hexsim_proc_stop(&other);
    hexrun_client *dead =
        api_client(TOKEN_ADMIN, (const char *[]){"base_url", url, "max_retries", "2", NULL});
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(dead, P_OK, &job), HEXRUN_STATE_SUBMIT_FAILED);
    json_object *info = api_job_info(dead, job);
    ck_assert_int_eq(api_int(api_get(info, "last_error"), "code"), HEXRUN_E_TRANSPORT);
    ck_assert_int_eq(api_int(info, "attempts"), 3);
    ck_assert_ptr_nonnull(
        strstr(api_str(api_get(info, "last_error"), "message"), "after 3 attempts"));
    json_object_put(info);
    hexrun_shutdown(dead, 0);
}
END_TEST

START_TEST(malformed_status_is_a_protocol_error_then_recovers)
{
    api_fault("{\"faults\":[{\"endpoint\":\"GetRunStatus\",\"kind\":\"malformed\","
              "\"count\":1}]}");
    int64_t job = -1;
    ck_assert_int_eq(submit_and_wait(c, P_OK, &job), HEXRUN_STATE_COMPLETED);
}
END_TEST

START_TEST(run_budget_keeps_submits_under_hex_limits)
{
    json_object_put(api_sim_call("POST", "/__sim/limits",
                                 "{\"enabled\":true,\"run_per_min\":3,\"run_per_hour\":60,"
                                 "\"api_per_min\":1000,\"api_per_hour\":100000}"));
    hexrun_client *b = api_client(TOKEN_ADMIN, (const char *[]){"run_budget_per_min", "3",
                                                                "run_budget_per_hour", "60", NULL});
    int64_t jobs[5];
    int32_t state;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(hexrun_submit(b, P_OK, NULL, NULL, &jobs[i]), HEXRUN_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(hexrun_wait(b, jobs[i], 20000, &state), HEXRUN_OK);
        ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
    }
    for (int i = 3; i < 5; i++) {
        ck_assert_int_eq(hexrun_poll(b, jobs[i], &state), HEXRUN_OK);
        ck_assert_int_eq(state, HEXRUN_STATE_QUEUED);
    }
    /* The budget waited; Hex never had to refuse. */
    ck_assert_int_eq(api_requests("RunProject", "201"), 3);
    ck_assert_int_eq(api_requests("RunProject", "429"), 0);
    hexrun_shutdown(b, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_retry");
    TCase *tc = api_tcase("retry", 60, &c);
    tcase_add_test(tc, get_5xx_is_retried_then_succeeds);
    tcase_add_test(tc, retry_after_of_a_429_is_honoured);
    tcase_add_test(tc, retries_exhausted_say_how_many_attempts);
    tcase_add_test(tc, run_project_503_and_429_are_retried);
    tcase_add_test(tc, run_project_500_is_not_retried_and_its_run_looked_for);
    tcase_add_test(tc, run_project_dropped_after_processing_adopts_its_run);
    tcase_add_test(tc, identical_unanswered_submits_each_adopt_one_run);
    tcase_add_test(tc, a_gateway_5xx_after_the_run_was_made_adopts_it_and_keeps_the_key);
    tcase_add_test(tc, a_lost_answer_holds_its_project_for_one_lookup_not_a_poll_interval);
    tcase_add_test(tc, clients_sharing_a_journal_send_one_run_project_of_a_project_at_a_time);
    tcase_add_test(tc, unanswered_submits_with_different_bodies_each_adopt_their_own_run);
    tcase_add_test(tc, a_released_jobs_run_is_not_taken_for_an_unanswered_submits);
    tcase_add_test(tc, unreadable_lookups_do_not_count_against_finding_the_run);
    tcase_add_test(tc, an_ambiguous_unanswered_submit_ends_submit_unknown_with_evidence);
    tcase_add_test(tc, run_project_timeout_adopts_the_run_hex_made_later);
    tcase_add_test(tc, a_dry_run_without_answer_fails_cleanly);
    tcase_add_test(tc, polls_survive_5xx_and_drops);
    tcase_add_test(tc, connect_refused_is_retried_then_fails);
    tcase_add_test(tc, malformed_status_is_a_protocol_error_then_recovers);
    tcase_add_test(tc, run_budget_keeps_submits_under_hex_limits);
    suite_add_tcase(s, tc);
    return api_run_suite(s);
}
