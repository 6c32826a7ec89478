/* API suite: the job verbs of libhexrun.so.1 against hexsim (submit, poll, wait, cancel,
 * attach, idempotency keys, release, shutdown, fork). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_common.h"

static hexrun_client *c;

static int64_t submit(const char *project, const char *options)
{
    int64_t job = -1;
    ck_assert_msg(hexrun_submit(c, project, options, NULL, &job) == HEXRUN_OK, "%s",
                  hexrun_last_error());
    return job;
}

static int32_t wait_terminal(int64_t job)
{
    int32_t state = -1;
    ck_assert_msg(hexrun_wait(c, job, 20000, &state) == HEXRUN_OK, "%s", hexrun_last_error());
    return state;
}

START_TEST(submit_poll_wait_completed)
{
    int64_t job = submit(P_OK, "{\"inputParams\":{\"region\":\"eu\",\"days\":3,\"full\":true}}");
    int32_t state = -1;
    ck_assert_int_eq(hexrun_poll(c, job, &state), HEXRUN_OK);
    ck_assert_int_eq(hexrun_state_is_terminal(state), 0);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_COMPLETED);
    json_object *info = api_job_info(c, job);
    ck_assert_str_eq(api_str(info, "state"), "COMPLETED");
    ck_assert_str_eq(api_str(info, "hex_status"), "COMPLETED");
    ck_assert_str_eq(api_str(info, "project_id"), P_OK);
    ck_assert_uint_eq(strlen(api_str(info, "run_id")), 36);
    ck_assert_ptr_nonnull(api_str(info, "run_url"));
    ck_assert_int_ge(api_int(info, "polls"), 1);
    ck_assert_ptr_null(api_str(info, "last_error"));
    json_object_put(info);
    ck_assert_int_eq(api_runs_created(P_OK), 1);
}
END_TEST

START_TEST(failure_statuses_end_the_job)
{
    int64_t err = submit(P_ERR, NULL), kernel = submit(P_KERNEL, NULL);
    ck_assert_int_eq(wait_terminal(err), HEXRUN_STATE_ERRORED);
    ck_assert_int_eq(wait_terminal(kernel), HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL);
}
END_TEST

START_TEST(unpublished_project_fails_with_reason)
{
    int64_t job = submit(P_UNPUB, NULL);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_SUBMIT_FAILED);
    json_object *info = api_job_info(c, job);
    json_object *e = api_get(info, "last_error");
    ck_assert_int_eq(api_int(e, "code"), HEXRUN_E_INVALID_REQUEST);
    ck_assert_int_eq(api_int(e, "http_status"), 422);
    ck_assert_ptr_nonnull(strstr(api_str(e, "message"), "HTTP 422 after 1 attempt"));
    json_object_put(info);
    ck_assert_int_eq(api_runs_created(P_UNPUB), 0);
}
END_TEST

START_TEST(dry_run_completes_without_a_run)
{
    int64_t job = submit(P_OK, "{\"dryRun\":true}");
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_COMPLETED);
    json_object *info = api_job_info(c, job);
    ck_assert(json_object_get_boolean(api_get(info, "dry_run")));
    ck_assert_int_eq(api_int(info, "polls"), 0);
    json_object_put(info);
}
END_TEST

START_TEST(bad_arguments_are_refused_before_sending)
{
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(c, "not-a-uuid", NULL, NULL, &job), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "project_id 'not-a-uuid' is not a UUID"));
    ck_assert_int_eq(hexrun_submit(c, P_OK, "{\"bogus\":1}", NULL, &job), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "bogus"));
    ck_assert_int_eq(hexrun_submit(c, P_OK, "[1", NULL, &job), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_submit(c, NULL, NULL, NULL, &job), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, "", &job), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_submit(NULL, P_OK, NULL, NULL, &job), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_attach(c, P_OK, "x", &job), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(job, -1);
    ck_assert_int_eq(api_requests("RunProject", "201"), 0);
}
END_TEST

START_TEST(cancel_of_a_queued_job_sends_nothing)
{
    hexrun_client *slow =
        api_client(TOKEN_ADMIN, (const char *[]){"run_budget_per_min", "1", NULL});
    int64_t first = -1, second = -1;
    ck_assert_int_eq(hexrun_submit(slow, P_OK, NULL, NULL, &first), HEXRUN_OK);
    ck_assert_int_eq(hexrun_submit(slow, P_OK, NULL, NULL, &second), HEXRUN_OK);
    int32_t state = -1;
    ck_assert_int_eq(hexrun_wait(slow, first, 20000, &state), HEXRUN_OK);
    ck_assert_int_eq(hexrun_poll(slow, second, &state), HEXRUN_OK);
    ck_assert_int_eq(state, HEXRUN_STATE_QUEUED);
    json_object *info = api_job_info(slow, second);
    ck_assert_int_eq(api_int(info, "queue_position"), 0);
    json_object_put(info);
    ck_assert_int_eq(hexrun_cancel(slow, second), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(slow, second, 0, &state), HEXRUN_OK);
    ck_assert_int_eq(state, HEXRUN_STATE_KILLED);
    ck_assert_int_eq(api_runs_created(P_OK), 1);
    hexrun_shutdown(slow, 0);
}
END_TEST

START_TEST(run_budget_holds_submits_in_order)
{
    hexrun_client *slow =
        api_client(TOKEN_ADMIN, (const char *[]){"run_budget_per_min", "2", NULL});
    int64_t jobs[4];
    int32_t state = -1;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(hexrun_submit(slow, P_OK, NULL, NULL, &jobs[i]), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(slow, jobs[0], 20000, &state), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(slow, jobs[1], 20000, &state), HEXRUN_OK);
    for (int i = 2; i < 4; i++) {
        json_object *info = api_job_info(slow, jobs[i]);
        ck_assert_str_eq(api_str(info, "state"), "QUEUED");
        ck_assert_int_eq(api_int(info, "queue_position"), i - 2);
        json_object_put(info);
    }
    ck_assert_int_eq(api_runs_created(P_OK), 2);
    hexrun_shutdown(slow, 0);
}
END_TEST

START_TEST(cancel_of_a_pending_job)
{
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":1}"));
    int64_t job = submit(P_OK, NULL);
    ck_assert_int_eq(api_wait_state(c, job, HEXRUN_STATE_PENDING, 5000), HEXRUN_STATE_PENDING);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_OK);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_KILLED);
    ck_assert_int_eq(api_requests("CancelRun", "204"), 1);
}
END_TEST

START_TEST(cancel_of_a_running_job)
{
    /* Real time, so the run is surely still RUNNING when the cancel goes out. */
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":1}"));
    int64_t job = submit(P_SLOW, NULL);
    ck_assert_int_eq(api_wait_state(c, job, HEXRUN_STATE_RUNNING, 10000), HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_OK);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_KILLED);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_E_STATE);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "already KILLED"));
    json_object *runs = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *first = json_object_array_get_idx(api_get(runs, "runs"), 0);
    ck_assert_str_eq(api_str(first, "status"), "KILLED");
    json_object_put(runs);
    /* The job's view of the run agrees with Hex's: status KILLED, ended. */
    json_object *info = api_job_info(c, job);
    ck_assert_str_eq(api_str(info, "hex_status"), "KILLED");
    ck_assert_ptr_nonnull(api_get(info, "end_time"));
    json_object_put(info);
}
END_TEST

START_TEST(cancel_right_after_submit_kills_the_run)
{
    int64_t job = submit(P_SLOW, NULL);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_OK);
    int32_t state = wait_terminal(job);
    /* Either dropped while QUEUED (no run) or cancelled once Hex gave the run id. */
    ck_assert_int_eq(state, HEXRUN_STATE_KILLED);
    ck_assert_int_eq(api_runs_created(P_SLOW), api_requests("CancelRun", "204"));
}
END_TEST

START_TEST(attach_tracks_a_run_started_elsewhere)
{
    json_object *made =
        api_sim_call("POST", "/__sim/runs", "{\"projectId\":\"" P_OK "\",\"count\":1}");
    const char *run_id =
        json_object_get_string(json_object_array_get_idx(api_get(made, "runIds"), 0));
    int64_t job = -1;
    ck_assert_int_eq(hexrun_attach(c, P_OK, run_id, &job), HEXRUN_OK);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_COMPLETED);
    json_object *info = api_job_info(c, job);
    ck_assert_str_eq(api_str(info, "run_id"), run_id);
    json_object_put(info);
    json_object_put(made);
    ck_assert_int_eq(api_requests("RunProject", "201"), 0);
}
END_TEST

START_TEST(attach_to_an_unknown_run_is_lost)
{
    int64_t job = -1;
    ck_assert_int_eq(hexrun_attach(c, P_OK, "99999999-9999-4999-8999-999999999999", &job),
                     HEXRUN_OK);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_LOST);
    json_object *info = api_job_info(c, job);
    ck_assert_int_eq(api_int(api_get(info, "last_error"), "http_status"), 404);
    json_object_put(info);
}
END_TEST

START_TEST(idempotency_key_returns_the_same_job)
{
    int64_t a = -1, b = -1;
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, "nightly-2026-11-28", &a), HEXRUN_OK);
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, "nightly-2026-11-28", &b), HEXRUN_OK);
    ck_assert_int_eq(a, b);
    ck_assert_int_eq(wait_terminal(a), HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(api_runs_created(P_OK), 1);
}
END_TEST

START_TEST(wait_any_and_timeouts)
{
    /* With one RunProject a minute the second submit stays QUEUED: never terminal here. */
    hexrun_client *slow =
        api_client(TOKEN_ADMIN, (const char *[]){"run_budget_per_min", "1", NULL});
    int64_t jobs[2], done = -1;
    int32_t state = -1;
    ck_assert_int_eq(hexrun_submit(slow, P_OK, NULL, NULL, &jobs[1]), HEXRUN_OK);
    ck_assert_int_eq(hexrun_submit(slow, P_OK, NULL, NULL, &jobs[0]), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(slow, jobs[0], 50, &state), HEXRUN_E_TIMEOUT);
    ck_assert_int_eq(state, HEXRUN_STATE_QUEUED);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "within 50 ms"));
    ck_assert_int_eq(hexrun_wait_any(slow, jobs, 2, 20000, &done, &state), HEXRUN_OK);
    ck_assert_int_eq(done, jobs[1]);
    ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
    int64_t bad[2] = {jobs[0], 12345};
    ck_assert_int_eq(hexrun_wait_any(slow, bad, 2, 10, &done, &state), HEXRUN_E_NO_SUCH_JOB);
    ck_assert_int_eq(hexrun_wait_any(slow, jobs, 0, 10, &done, &state), HEXRUN_E_INVALID_ARG);
    hexrun_shutdown(slow, 0);
}
END_TEST

START_TEST(released_jobs_are_unknown)
{
    int64_t job = submit(P_OK, NULL);
    ck_assert_int_eq(hexrun_job_release(c, job), HEXRUN_OK);
    int32_t state;
    char *info = NULL;
    ck_assert_int_eq(hexrun_poll(c, job, &state), HEXRUN_E_NO_SUCH_JOB);
    ck_assert_int_eq(hexrun_job_info(c, job, &info), HEXRUN_E_NO_SUCH_JOB);
    ck_assert_int_eq(hexrun_job_release(c, job), HEXRUN_E_NO_SUCH_JOB);
    ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_E_NO_SUCH_JOB);
    int64_t next = submit(P_OK, NULL);
    ck_assert_int_gt(next, job);
}
END_TEST

START_TEST(shutdown_cancel_live_kills_running_runs)
{
    /* Real time, so the run is surely still RUNNING when the cancel goes out. */
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":1}"));
    hexrun_client *d = api_client(TOKEN_ADMIN, NULL);
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(d, P_SLOW, NULL, NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(api_wait_state(d, job, HEXRUN_STATE_RUNNING, 10000), HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(hexrun_shutdown(d, HEXRUN_SHUTDOWN_CANCEL_LIVE), HEXRUN_OK);
    ck_assert_int_eq(api_requests("CancelRun", "204"), 1);
}
END_TEST

/* The status hexsim reports for the only run it made. */
static void assert_only_run_killed(void)
{
    json_object *runs = api_sim_call("GET", "/__sim/runs", NULL);
    json_object *list = api_get(runs, "runs");
    ck_assert_uint_eq(json_object_array_length(list), 1);
    ck_assert_str_eq(api_str(json_object_array_get_idx(list, 0), "status"), "KILLED");
    json_object_put(runs);
}

START_TEST(shutdown_cancel_live_cancels_the_run_of_a_submit_in_flight)
{
    /* Hex takes a second to answer RunProject; the host shuts down meanwhile. The run is
     * made all the same, so the shutdown must wait for its id and cancel it. */
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":1}"));
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"delay\","
              "\"delay_ms\":1000,\"count\":1}]}");
    hexrun_client *d = api_client(TOKEN_ADMIN, NULL);
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(d, P_SLOW, NULL, NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(api_wait_state(d, job, HEXRUN_STATE_SUBMITTING, 10000),
                     HEXRUN_STATE_SUBMITTING);
    ck_assert_msg(hexrun_shutdown(d, HEXRUN_SHUTDOWN_CANCEL_LIVE) == HEXRUN_OK, "%s",
                  hexrun_last_error());
    ck_assert_int_eq(api_requests("RunProject", "201"), 1);
    ck_assert_int_eq(api_requests("CancelRun", "204"), 1);
    assert_only_run_killed();
}
END_TEST

START_TEST(shutdown_cancel_live_finds_and_cancels_the_run_of_a_lost_answer)
{
    /* The RunProject answer was lost and the first lookup is not due yet. */
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":1}"));
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_after\","
              "\"count\":1}]}");
    hexrun_client *d = api_client(
        TOKEN_ADMIN, (const char *[]){"poll_min_ms", "1000", "poll_max_ms", "1000", NULL});
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(d, P_SLOW, NULL, "lost-answer", &job), HEXRUN_OK);
    api_await(api_requests("RunProject", "0") >= 1, 10000,
              "hexsim to drop the RunProject's answer");
    ck_assert_int_eq(api_requests("RunProject", "0"), 1);
    ck_assert_msg(hexrun_shutdown(d, HEXRUN_SHUTDOWN_CANCEL_LIVE) == HEXRUN_OK, "%s",
                  hexrun_last_error());
    ck_assert_int_ge(api_requests("GetProjectRuns", "200"), 1);
    ck_assert_int_eq(api_requests("CancelRun", "204"), 1);
    assert_only_run_killed();
}
END_TEST

START_TEST(shutdown_cancel_live_reports_a_run_it_could_not_find)
{
    /* Nothing answers and no run appears: the shutdown cannot know whether a run goes on,
     * and says so, naming the project and the key. */
    api_fault("{\"faults\":[{\"endpoint\":\"RunProject\",\"kind\":\"drop_before\","
              "\"count\":1}]}");
    hexrun_client *d = api_client(
        TOKEN_ADMIN, (const char *[]){"poll_min_ms", "1000", "poll_max_ms", "1000", NULL});
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(d, P_SLOW, NULL, "never-answered", &job), HEXRUN_OK);
    api_await(api_requests("RunProject", "0") >= 1, 10000, "hexsim to drop the RunProject");
    ck_assert_int_eq(hexrun_shutdown(d, HEXRUN_SHUTDOWN_CANCEL_LIVE), HEXRUN_E_OUTCOME_UNKNOWN);
    const char *why = hexrun_last_error();
    ck_assert_msg(strstr(why, P_SLOW) && strstr(why, "never-answered") &&
                      strstr(why, "not cancelled"),
                  "%s", why);
    ck_assert_int_eq(api_runs_created(P_SLOW), 0);
}
END_TEST

START_TEST(a_forked_child_gets_forked)
{
    int64_t job = submit(P_OK, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int32_t state;
        _exit(hexrun_poll(c, job, &state) == HEXRUN_E_FORKED &&
                      hexrun_shutdown(c, 0) == HEXRUN_E_FORKED
                  ? 0
                  : 1);
    }
    int status = -1;
    api_await(waitpid(pid, &status, WNOHANG) == pid, 10000, "the forked child %d to exit",
              (int)pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(wait_terminal(job), HEXRUN_STATE_COMPLETED);
}
END_TEST

START_TEST(polls_of_one_project_share_one_request)
{
    int64_t jobs[4];
    for (int i = 0; i < 4; i++)
        jobs[i] = submit(P_OK, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(wait_terminal(jobs[i]), HEXRUN_STATE_COMPLETED);
    /* One GetProjectRuns answers every live run of the project; each run was polled. */
    int pages = api_requests("GetProjectRuns", "200");
    ck_assert_int_ge(pages, 1);
    for (int i = 0; i < 4; i++) {
        json_object *info = api_job_info(c, jobs[i]);
        ck_assert_int_ge(api_int(info, "polls"), 1);
        json_object_put(info);
    }
    ck_assert_int_lt(api_requests("GetRunStatus", "200"), 4 * pages);
}
END_TEST

START_TEST(stats_count_requests_by_endpoint_and_status)
{
    int64_t job = submit(P_OK, NULL);
    wait_terminal(job);
    char *stats = NULL;
    ck_assert_int_eq(hexrun_stats(c, &stats), HEXRUN_OK);
    json_object *s = api_json(stats);
    hexrun_free(stats);
    ck_assert_int_eq(api_int(api_get(api_get(s, "requests"), "RunProject"), "201"), 1);
    ck_assert_int_ge(api_int(api_get(api_get(s, "requests"), "GetRunStatus"), "200"), 1);
    ck_assert_int_eq(api_int(api_get(s, "jobs"), "COMPLETED"), 1);
    json_object_put(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_jobs");
    TCase *tc = api_tcase("jobs", 60, &c);
    tcase_add_test(tc, submit_poll_wait_completed);
    tcase_add_test(tc, failure_statuses_end_the_job);
    tcase_add_test(tc, unpublished_project_fails_with_reason);
    tcase_add_test(tc, dry_run_completes_without_a_run);
    tcase_add_test(tc, bad_arguments_are_refused_before_sending);
    tcase_add_test(tc, cancel_of_a_queued_job_sends_nothing);
    tcase_add_test(tc, run_budget_holds_submits_in_order);
    tcase_add_test(tc, cancel_of_a_pending_job);
    tcase_add_test(tc, cancel_of_a_running_job);
    tcase_add_test(tc, cancel_right_after_submit_kills_the_run);
    tcase_add_test(tc, attach_tracks_a_run_started_elsewhere);
    tcase_add_test(tc, attach_to_an_unknown_run_is_lost);
    tcase_add_test(tc, idempotency_key_returns_the_same_job);
    tcase_add_test(tc, wait_any_and_timeouts);
    tcase_add_test(tc, released_jobs_are_unknown);
    tcase_add_test(tc, shutdown_cancel_live_kills_running_runs);
    tcase_add_test(tc, shutdown_cancel_live_cancels_the_run_of_a_submit_in_flight);
    tcase_add_test(tc, shutdown_cancel_live_finds_and_cancels_the_run_of_a_lost_answer);
    tcase_add_test(tc, shutdown_cancel_live_reports_a_run_it_could_not_find);
    tcase_add_test(tc, a_forked_child_gets_forked);
    tcase_add_test(tc, polls_of_one_project_share_one_request);
    tcase_add_test(tc, stats_count_requests_by_endpoint_and_status);
    suite_add_tcase(s, tc);
    return api_run_suite(s);
}
