/* API suite: the scheduler's two lanes. Cancels and direct calls go before polls and wait
 * only for the budget itself; polls spend the share of the api budget the reserve leaves,
 * and the sweep period follows from that share and the number of poll groups. Runs are
 * made through /__sim/runs and attached, so the run budget plays no part. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_common.h"

/* A project whose runs last two hours of hexsim time (for the hour-long test). */
#define P_LONG "77777777-7777-4777-8777-777777777777"

/* 1 once hexsim has the run KILLED: the CancelRun reached it. */
static int sim_run_killed(const char *project, const char *run)
{
    char path[160];
    snprintf(path, sizeof path, "/__sim/runs?projectId=%s", project);
    json_object *all = api_sim_call("GET", path, NULL), *runs = api_get(all, "runs");
    int killed = 0;
    for (size_t i = 0; runs && i < json_object_array_length(runs); i++) {
        json_object *r = json_object_array_get_idx(runs, i);
        const char *id = api_str(r, "runId"), *status = api_str(r, "status");
        if (id && strcmp(id, run) == 0)
            killed = status && strcmp(status, "KILLED") == 0;
    }
    json_object_put(all);
    return killed;
}

/* The scheduler's poll_groups from hexrun_stats; its sweep_period_ms goes to *period. */
static int64_t poll_groups(hexrun_client *c, int64_t *period)
{
    char *text = NULL;
    ck_assert_int_eq(hexrun_stats(c, &text), HEXRUN_OK);
    json_object *s = api_json(text);
    hexrun_free(text);
    int64_t groups = api_int(s, "poll_groups");
    *period = api_int(s, "sweep_period_ms");
    json_object_put(s);
    return groups;
}

/* The sweep period once poll_groups reads `groups` (the engine counts a job's poll when
 * it takes it in). */
static int64_t sweep_period_once(hexrun_client *c, int64_t groups)
{
    int64_t period = -1;
    api_await(poll_groups(c, &period) == groups, 30000, "poll_groups %lld (it is %lld)",
              (long long)groups, (long long)poll_groups(c, &period));
    return period;
}

START_TEST(a_cancel_queued_behind_500_due_polls_is_sent_first)
{
    /* 500 runs polled alone: 500 polls are due at once, and the poll share of the api
     * budget (20 a real minute) sends one every 3 s. The cancel of the last job must not
     * wait behind them: it goes at once, while the window has room. */
    static char ids[500][64];
    api_sim_runs(P_SLOW, 500, ids);
    hexrun_client *c =
        api_client(TOKEN_ADMIN, (const char *[]){"coalesce", "false", "api_budget_per_min", "30",
                                                 "api_budget_per_hour", "1800", NULL});
    int64_t jobs[500];
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(hexrun_attach(c, P_SLOW, ids[i], &jobs[i]), HEXRUN_OK);
    ck_assert_int_eq(hexrun_cancel(c, jobs[499]), HEXRUN_OK);
    api_await(sim_run_killed(P_SLOW, ids[499]), 60000,
              "the cancel to reach hexsim (%d polls went first)",
              api_requests("GetRunStatus", "200"));
    int polls = api_requests("GetRunStatus", "200");
    /* Polls sent before it: what the share allowed while the cancel was on its way. */
    ck_assert_msg(polls < 30, "%d polls went before the cancel", polls);
    /* The poll that follows Hex's answer to the cancel (the job reports what Hex reports)
     * is the cancel's too: it does not queue behind the 500 polls either. */
    ck_assert_int_eq(api_wait_state(c, jobs[499], HEXRUN_STATE_KILLED, 60000), HEXRUN_STATE_KILLED);
    polls = api_requests("GetRunStatus", "200");
    ck_assert_msg(polls < 40, "%d polls went before the cancelled job saw its end", polls);
    hexrun_shutdown(c, 0);
}
END_TEST

START_TEST(direct_calls_wait_only_when_the_window_is_spent)
{
    /* 25 direct calls in a burst on an idle client: all within the api limit (30 a real
     * minute), so none waits for pacing (the window's 25 would take 50 s at the poll pace). */
    char ids[1][64];
    api_sim_runs(P_SLOW, 1, ids);
    hexrun_client *c =
        api_client(TOKEN_ADMIN, (const char *[]){"api_budget_per_min", "30", "api_budget_per_hour",
                                                 "1800", NULL});
    int64_t start = api_now_ms();
    for (int i = 0; i < 25; i++) {
        char *run = NULL;
        ck_assert_int_eq(hexrun_run_get(c, P_SLOW, ids[0], &run), HEXRUN_OK);
        hexrun_free(run);
    }
    int64_t took = api_now_ms() - start;
    hexrun_shutdown(c, 0);
    ck_assert_int_eq(api_requests("GetRunStatus", "200"), 25);
    ck_assert_msg(took < 20000, "25 direct calls took %lld ms", (long long)took);
}
END_TEST

START_TEST(the_sweep_period_follows_the_groups_and_the_budget)
{
    /* budget_time_scale 20: the poll share of 30 a minute (20) paces polls every 150 ms. */
    const char *kv[] = {"api_budget_per_min",
                        "30",
                        "api_budget_per_hour",
                        "1800",
                        "budget_time_scale",
                        "20",
                        "poll_max_ms",
                        "100000",
                        NULL};
    char ids[151][64];
    api_sim_runs(P_SLOW, 1, ids);
    api_sim_runs(P_SLOW, 150, ids + 1);
    hexrun_client *c = api_client(TOKEN_ADMIN, kv);
    int64_t job;
    ck_assert_int_eq(hexrun_attach(c, P_SLOW, ids[0], &job), HEXRUN_OK);
    ck_assert_int_eq(sweep_period_once(c, 1), 150); /* one run: one request a round */
    for (int i = 1; i < 151; i++)
        ck_assert_int_eq(hexrun_attach(c, P_SLOW, ids[i], &job), HEXRUN_OK);
    ck_assert_int_eq(sweep_period_once(c, 2), 300); /* 151 runs of a project: two pages */
    hexrun_shutdown(c, 0);

    /* Twice the budget: half the period. */
    const char *twice[] = {"api_budget_per_min",
                           "60",
                           "api_budget_per_hour",
                           "3600",
                           "budget_time_scale",
                           "20",
                           "poll_max_ms",
                           "100000",
                           NULL};
    c = api_client(TOKEN_ADMIN, twice);
    for (int i = 0; i < 151; i++)
        ck_assert_int_eq(hexrun_attach(c, P_SLOW, ids[i], &job), HEXRUN_OK);
    ck_assert_int_eq(sweep_period_once(c, 2), 150);
    hexrun_shutdown(c, 0);

    /* Each run polled alone is a group of its own; poll_max_ms caps the period. */
    const char *alone[] = {"api_budget_per_min",
                           "30",
                           "api_budget_per_hour",
                           "1800",
                           "budget_time_scale",
                           "20",
                           "poll_max_ms",
                           "400",
                           "coalesce",
                           "false",
                           NULL};
    c = api_client(TOKEN_ADMIN, alone);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(hexrun_attach(c, P_SLOW, ids[i], &job), HEXRUN_OK);
    ck_assert_int_eq(sweep_period_once(c, 2), 300);
    ck_assert_int_eq(hexrun_attach(c, P_SLOW, ids[2], &job), HEXRUN_OK);
    ck_assert_int_eq(sweep_period_once(c, 3), 400);
    hexrun_shutdown(c, 0);
}
END_TEST

/* hexsim's scenario for the hour: one project whose runs last two hours. */
static const char LONG_SCENARIO[] =
    "{\"seed\":1,\"org_id\":\"0a0a0a0a-0000-4000-8000-000000000001\","
    "\"tokens\":[{\"token\":\"" TOKEN_ADMIN
    "\",\"user\":\"aaaaaaaa-0000-4000-8000-000000000001\"}],"
    "\"users\":[{\"id\":\"aaaaaaaa-0000-4000-8000-000000000001\",\"name\":\"Ann\","
    "\"email\":\"ann@example.com\",\"role\":\"ADMIN\",\"lastLoginDate\":null}],"
    "\"projects\":[{\"id\":\"" P_LONG "\",\"title\":\"Long\",\"timeline\":{"
    "\"pending_ms\":{\"min\":1000,\"max\":1000},"
    "\"running_ms\":{\"min\":7200000,\"max\":7200000}}}]}";

START_TEST(one_jobs_polls_stay_within_the_poll_share_for_an_hour)
{
    /* hexsim and the budget run 120x faster: an hour lasts 30 s. Hex's limits are on. */
    json_object_put(api_sim_call("POST", "/__sim/scenario", LONG_SCENARIO));
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":120}"));
    json_object_put(api_sim_call("POST", "/__sim/limits",
                                 "{\"enabled\":true,\"run_per_min\":20,\"run_per_hour\":60,"
                                 "\"api_per_min\":30,\"api_per_hour\":1800}"));
    char ids[1][64];
    api_sim_runs(P_LONG, 1, ids);
    hexrun_client *c = api_client(
        TOKEN_ADMIN, (const char *[]){"api_budget_per_min", "30", "api_budget_per_hour", "1800",
                                      "budget_time_scale", "120", "poll_max_ms", "250", NULL});
    int64_t job;
    ck_assert_int_eq(hexrun_attach(c, P_LONG, ids[0], &job), HEXRUN_OK);
    api_pause_ms(3600000 / 120); /* the hour being measured, on hexsim's and the budget's clock */
    int32_t state = -1;
    ck_assert_int_eq(hexrun_poll(c, job, &state), HEXRUN_OK);
    hexrun_shutdown(c, 0);
    int polls = api_requests("GetRunStatus", "200") + api_requests("GetProjectRuns", "200");
    int limited = api_requests("GetRunStatus", "429") + api_requests("GetProjectRuns", "429");
    ck_assert_int_eq(state, HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(limited, 0);
    /* The hour's poll share: two thirds of 1800 (the rest is the reserve). */
    ck_assert_msg(polls <= 1206, "%d polls in an hour", polls);
    /* ... and the share is spent: about one poll every 3 s, not a back-off to minutes (a
     * loaded machine may fall behind, hence only half). */
    ck_assert_msg(polls >= 600, "only %d polls in an hour", polls);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_lanes");
    TCase *tc = api_tcase("lanes", 120, NULL);
    tcase_add_test(tc, a_cancel_queued_behind_500_due_polls_is_sent_first);
    tcase_add_test(tc, direct_calls_wait_only_when_the_window_is_spent);
    tcase_add_test(tc, the_sweep_period_follows_the_groups_and_the_budget);
    suite_add_tcase(s, tc);
    /* Its own hexsim: the test loads a scenario of its own. */
    TCase *hour = api_tcase("hour", 120, NULL);
    tcase_add_test(hour, one_jobs_polls_stay_within_the_poll_share_for_an_hour);
    suite_add_tcase(s, hour);
    return api_run_suite(s);
}
