/* API suite: coalesced polling. Live runs of one project are refreshed by GetProjectRuns
 * pages, not one GetRunStatus each; runs beyond the pages read still finish; with
 * coalesce=false every run is polled alone. Runs are made through /__sim/runs and
 * attached, so the run budget plays no part. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "api_common.h"

/* Attach a job to each run and wait for all; every one must end COMPLETED. Returns the
 * status answers the jobs received in all (what a per-run poller would have requested). */
static int64_t attach_and_wait(hexrun_client *c, const char *project, char (*ids)[64], int n)
{
    int64_t jobs[64], polls = 0;
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(hexrun_attach(c, project, ids[i], &jobs[i]), HEXRUN_OK);
    for (int i = 0; i < n; i++) {
        int32_t state = -1;
        ck_assert_int_eq(hexrun_wait(c, jobs[i], 60000, &state), HEXRUN_OK);
        ck_assert_int_eq(state, HEXRUN_STATE_COMPLETED);
        json_object *info = api_job_info(c, jobs[i]);
        polls += api_int(info, "polls");
        json_object_put(info);
    }
    return polls;
}

START_TEST(fifty_live_runs_are_refreshed_by_list_calls)
{
    char ids[50][64];
    api_sim_runs(P_OK, 50, ids);
    hexrun_client *c = api_client(TOKEN_ADMIN, NULL);
    int64_t answers = attach_and_wait(c, P_OK, ids, 50);
    hexrun_shutdown(c, 0);
    int lists = api_requests("GetProjectRuns", "200");
    int singles = api_requests("GetRunStatus", "200");
    /* Each list call answered every live run: a per-run poller would have made as many
     * requests as the jobs got answers. */
    ck_assert_int_ge(lists, 2);
    /* A job's first poll may go out alone before the next attaches come in: how many do
     * depends on how fast this thread attaches (12 of 50 under ASan on a loaded machine).
     * Most runs must never be polled alone; without coalescing every one is, many times. */
    ck_assert_int_lt(singles, 25);
    ck_assert_msg(lists * 20 < answers, "%d list calls for %lld status answers", lists,
                  (long long)answers);
}
END_TEST

START_TEST(runs_beyond_the_pages_read_still_finish)
{
    /* Three old runs, then 2100 newer ones (21 pages): the three are not on the 20 pages a
     * coalesced poll reads, so each falls back to GetRunStatus. */
    char ids[3][64];
    api_sim_runs(P_OK, 3, ids);
    api_sim_runs(P_OK, 2100, NULL);
    hexrun_client *c = api_client(TOKEN_ADMIN, NULL);
    attach_and_wait(c, P_OK, ids, 3);
    hexrun_shutdown(c, 0);
    ck_assert_int_eq(api_requests("GetProjectRuns", "200"), 20);
    ck_assert_int_ge(api_requests("GetRunStatus", "200"), 3);
}
END_TEST

START_TEST(a_later_page_is_read_while_it_saves_requests)
{
    /* Three old runs behind 150 newer ones: pages 1 and 2 (2 requests) answer all three,
     * where single polls would take 3. Once one run is left it is polled alone. */
    char ids[3][64];
    api_sim_runs(P_OK, 3, ids);
    api_sim_runs(P_OK, 150, NULL);
    hexrun_client *c = api_client(TOKEN_ADMIN, NULL);
    int64_t answers = attach_and_wait(c, P_OK, ids, 3);
    hexrun_shutdown(c, 0);
    int lists = api_requests("GetProjectRuns", "200");
    int singles = api_requests("GetRunStatus", "200");
    ck_assert_int_ge(lists, 2);
    ck_assert_msg((lists + singles) * 10 < answers * 9, "%d lists + %d singles for %lld answers",
                  lists, singles, (long long)answers);
}
END_TEST

START_TEST(coalesce_off_polls_each_run_alone)
{
    char ids[10][64];
    api_sim_runs(P_OK, 10, ids);
    hexrun_client *c = api_client(TOKEN_ADMIN, (const char *[]){"coalesce", "false", NULL});
    attach_and_wait(c, P_OK, ids, 10);
    hexrun_shutdown(c, 0);
    ck_assert_int_eq(api_requests("GetProjectRuns", "200"), 0);
    ck_assert_int_ge(api_requests("GetRunStatus", "200"), 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_coalesce");
    TCase *tc = api_tcase("coalesce", 90, NULL);
    tcase_add_test(tc, fifty_live_runs_are_refreshed_by_list_calls);
    tcase_add_test(tc, runs_beyond_the_pages_read_still_finish);
    tcase_add_test(tc, a_later_page_is_read_while_it_saves_requests);
    tcase_add_test(tc, coalesce_off_polls_each_run_alone);
    suite_add_tcase(s, tc);
    return api_run_suite(s);
}
