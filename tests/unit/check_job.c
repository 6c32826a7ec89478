/* Unit suite: the job table (ids, idempotency keys, release, JSON) and the rate budget. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "ck_run.h"
#include "hexrun.h"
#include "job.h"

#define P_OK "11111111-1111-4111-8111-111111111111"
#define P_ERR "22222222-2222-4222-8222-222222222222"

static hexrun__jobs t;

static void setup(void)
{
    ck_assert_int_eq(hexrun__jobs_init(&t), 0);
}

static void teardown(void)
{
    hexrun__jobs_destroy(&t);
}

START_TEST(ids_grow_and_are_never_reused)
{
    hexrun__job *a = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, "{}", 0, NULL);
    hexrun__job *b = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, "{}", 0, NULL);
    ck_assert_int_eq(a->id, 1);
    ck_assert_int_eq(b->id, 2);
    ck_assert_int_eq(hexrun__jobs_release(&t, 2), 0);
    ck_assert_int_eq(hexrun__jobs_release(&t, 2), -1);
    ck_assert_ptr_null(hexrun__jobs_find(&t, 2));
    hexrun__job *c = hexrun__jobs_add(&t, HEXRUN_STATE_PENDING, P_OK, P_OK, NULL, 0, NULL);
    ck_assert_int_eq(c->id, 3);
    ck_assert_ptr_eq(hexrun__jobs_find(&t, 1), a);
    ck_assert_ptr_eq(hexrun__jobs_find(&t, 3), c);
    ck_assert_ptr_null(hexrun__jobs_find(&t, 0));
    ck_assert_ptr_null(hexrun__jobs_find(&t, -5));
}
END_TEST

START_TEST(many_jobs_are_found_after_releases)
{
    for (int i = 0; i < 1000; i++)
        ck_assert_ptr_nonnull(hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, NULL));
    for (int64_t id = 1; id <= 1000; id += 3)
        ck_assert_int_eq(hexrun__jobs_release(&t, id), 0);
    for (int64_t id = 1; id <= 1000; id++) {
        hexrun__job *j = hexrun__jobs_find(&t, id);
        if ((id - 1) % 3 == 0)
            ck_assert_ptr_null(j);
        else
            ck_assert_int_eq(j->id, id);
    }
}
END_TEST

START_TEST(idempotency_keys_find_their_job)
{
    hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, "nightly-2026-11-28");
    hexrun__job *b = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, "other");
    ck_assert_ptr_eq(hexrun__jobs_find_key(&t, "other"), b);
    ck_assert_ptr_null(hexrun__jobs_find_key(&t, "missing"));
}
END_TEST

START_TEST(set_state_refuses_leaving_a_terminal_state)
{
    hexrun__job *j = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, NULL);
    ck_assert_int_eq(hexrun__job_set_state(&t, j, HEXRUN_STATE_SUBMITTING), 1);
    ck_assert_int_eq(hexrun__job_set_state(&t, j, HEXRUN_STATE_SUBMITTING), 0);
    ck_assert_int_eq(hexrun__job_set_state(&t, j, HEXRUN_STATE_RUNNING), 1);
    ck_assert_int_eq(hexrun__job_set_state(&t, j, HEXRUN_STATE_COMPLETED), 1);
    ck_assert_int_eq(hexrun__job_set_state(&t, j, HEXRUN_STATE_KILLED), -1);
    ck_assert_int_eq(j->state, HEXRUN_STATE_COMPLETED);
}
END_TEST

START_TEST(queue_position_counts_earlier_queued_jobs)
{
    hexrun__job *a = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, NULL);
    hexrun__job *b = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, NULL);
    hexrun__job *c = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 0, NULL);
    hexrun__job_set_state(&t, a, HEXRUN_STATE_SUBMITTING);
    ck_assert_uint_eq(hexrun__jobs_queue_position(&t, b), 0);
    ck_assert_uint_eq(hexrun__jobs_queue_position(&t, c), 1);
}
END_TEST

START_TEST(job_json_carries_error_and_trace_id)
{
    hexrun__job *j = hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, P_OK, NULL, NULL, 1, "k\"1");
    char *json = hexrun__job_to_json(&t, j);
    ck_assert_ptr_nonnull(strstr(json, "\"job\":1,\"project_id\":\"" P_OK "\",\"run_id\":null"));
    ck_assert_ptr_nonnull(strstr(json, "\"idempotency_key\":\"k\\\"1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"dry_run\":true,\"queue_position\":0"));
    ck_assert_ptr_nonnull(strstr(json, "\"last_error\":null"));
    free(json);
    hexrun__job_set_error(j, HEXRUN_E_INVALID_REQUEST, 422, "RunProject: HTTP 422: nope",
                          "trace-9");
    hexrun__job_set_state(&t, j, HEXRUN_STATE_SUBMITTING);
    hexrun__job_set_state(&t, j, HEXRUN_STATE_SUBMIT_FAILED);
    json = hexrun__job_to_json(&t, j);
    ck_assert_ptr_nonnull(strstr(json, "\"state\":\"SUBMIT_FAILED\""));
    ck_assert_ptr_nonnull(strstr(json, "\"queue_position\":null"));
    ck_assert_ptr_nonnull(strstr(json, "\"code\":-11"));
    ck_assert_ptr_nonnull(strstr(json, "\"http_status\":422,\"trace_id\":\"trace-9\""));
    free(json);
}
END_TEST

/* Release a job of project with run id "<tag>-<i>". */
static void release_run(const char *project, const char *tag, int i)
{
    char run[64];
    snprintf(run, sizeof run, "%s-%d", tag, i);
    hexrun__job *j = hexrun__jobs_add(&t, HEXRUN_STATE_PENDING, project, run, NULL, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(hexrun__jobs_release(&t, j->id), 0);
}

START_TEST(released_runs_stay_known_per_project)
{
    /* A rarely used project's runs stay known however many runs of another project are
     * released after them (a lookup reads each project's newest 100 runs). */
    for (int i = 0; i < 150; i++)
        release_run(P_ERR, "rare", i);
    for (int i = 0; i < 5000; i++)
        release_run(P_OK, "busy", i);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_ERR, "rare-149"), 1);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_ERR, "rare-22"), 1);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_ERR, "rare-21"), 0); /* beyond its 128 */
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_OK, "busy-4999"), 1);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_OK, "rare-149"), 0);
    /* A live job's run is known whatever the project. */
    hexrun__job *live = hexrun__jobs_add(&t, HEXRUN_STATE_PENDING, P_OK, "live", NULL, 0, NULL);
    ck_assert_ptr_nonnull(live);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_ERR, "live"), 1);
}
END_TEST

START_TEST(a_short_run_released_early_stays_known_while_long_ones_end)
{
    /* Runs end out of order: the newest run ends first, then 200 older long runs of the
     * project end. The newest is on the project's first page: it must stay known. */
    hexrun__job *old[200];
    for (int i = 0; i < 200; i++) {
        char run[32];
        snprintf(run, sizeof run, "long-%d", i);
        old[i] = hexrun__jobs_add(&t, HEXRUN_STATE_RUNNING, P_OK, run, NULL, 0, NULL);
        ck_assert_ptr_nonnull(old[i]);
    }
    release_run(P_OK, "short", 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(hexrun__jobs_release(&t, old[i]->id), 0);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_OK, "short-0"), 1);
    ck_assert_int_eq(hexrun__jobs_knows_run(&t, P_OK, "long-199"), 1);
}
END_TEST

START_TEST(budget_allows_the_limit_then_waits_for_the_oldest_to_leave)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 20, 60, 1, 0, 1000);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, 1000 + i), 0);
    /* The 21st waits until the first of the 20 is a minute (and a 3 s margin) old. */
    ck_assert_int_eq(hexrun__budget_take(&b, 1100), 63000 - 100);
    ck_assert_int_eq(hexrun__budget_take(&b, 64000), 0);
    ck_assert_int_eq(hexrun__budget_take(&b, 64000), 1);
    /* A refund gives back the newest request only. */
    hexrun__budget_refund(&b);
    ck_assert_int_eq(hexrun__budget_take(&b, 64000), 0);
}
END_TEST

START_TEST(a_scaled_window_keeps_a_real_time_margin)
{
    /* budget_time_scale=1000: Hex's minute is 60 ms. A margin of 1/20 (3 ms) is less than
     * a loaded machine's scheduling delay; the margin stays 250 ms of real time. */
    hexrun__budget b;
    hexrun__budget_init(&b, 20, 0, 1000, 0, 0);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, i), 0);
    ck_assert_int_eq(hexrun__budget_take(&b, 63), 60 + HEXRUN__BUDGET_MIN_MARGIN_MS - 63);
    ck_assert_int_eq(hexrun__budget_take(&b, 60 + HEXRUN__BUDGET_MIN_MARGIN_MS), 0);
}
END_TEST

START_TEST(budget_hour_window_limits_too)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 20, 30, 1, 0, 0);
    int64_t now = 0, taken = 0;
    while (now < 600000) {
        int64_t w = hexrun__budget_take(&b, now);
        if (w == 0)
            taken++;
        else
            now += w;
    }
    /* 20 at once, 10 a minute (+5%) later, then nothing until the hour (+5%) is over. */
    ck_assert_int_eq(taken, 30);
    ck_assert_int_eq(hexrun__budget_take(&b, 3600000 + 180000 - 1), 1);
}
END_TEST

START_TEST(polls_spread_steady_demand_evenly_at_their_share)
{
    /* Under steady demand polls go every 60 s / 20 (the two thirds the default reserve
     * leaves of 30 a minute): no burst then a minute of silence, which would leave polls
     * stale, and the whole share is spent. */
    hexrun__budget b;
    hexrun__budget_init(&b, 30, 1800, 1, 33, 0);
    int64_t now = 0, last = -1, worst = 0;
    for (int sent = 0; sent < 300;) {
        int64_t w = hexrun__budget_take_poll(&b, now);
        if (w) {
            now += w;
            continue;
        }
        if (sent++ > 0 && now - last > worst)
            worst = now - last;
        last = now;
    }
    ck_assert_int_le(worst, 3000 + 1);
    ck_assert_int_le(now, 299 * 3000 + 300); /* the full share is kept */
}
END_TEST

/* Take as fast as allowed with random gaps; no window of the given length may ever hold
 * more than the lane's limit (the poll lane: its share), wherever it starts. */
static void assert_never_over(int64_t per_min, int64_t scale, int64_t reserve, int poll)
{
    hexrun__budget b;
    hexrun__budget_init(&b, per_min, 0, scale, reserve, 0);
    int64_t limit = poll ? per_min * (100 - reserve) / 100 : per_min;
    int64_t len = 60000 / scale, n = 0, now = 0;
    static int64_t sent[20000];
    uint32_t rnd = 12345;
    int64_t want = 3 * per_min < 20000 ? 3 * per_min : 20000;
    while (n < want && now < 1000 * len) {
        rnd = rnd * 1103515245u + 12345u; /* gaps of 0 to twice the average allowed pace */
        now += (int64_t)((rnd >> 8) % (uint32_t)(2 * len / per_min + 1));
        int64_t w = poll ? hexrun__budget_take_poll(&b, now) : hexrun__budget_take(&b, now);
        if (w == 0)
            sent[n++] = now;
        else
            now += w;
    }
    ck_assert_int_eq(n, want);
    for (int64_t i = 0, j = 0; i < n; i++) {
        while (sent[i] - sent[j] >= len)
            j++;
        ck_assert_msg(i - j + 1 <= limit, "%lld sends within %lld ms (limit %lld)",
                      (long long)(i - j + 1), (long long)len, (long long)limit);
    }
}

START_TEST(budget_never_exceeds_its_limit_in_any_window)
{
    assert_never_over(20, 1, 0, 0);    /* Hex's RunProject minute, sliding log */
    assert_never_over(30, 1, 33, 0);   /* the api minute, interactive lane */
    assert_never_over(30, 1, 33, 1);   /* the api minute, poll lane: its share */
    assert_never_over(30, 60, 33, 1);  /* a scaled clock: the minute lasts one second */
    assert_never_over(5000, 1, 0, 0);  /* above the log: the half-rate bucket */
    assert_never_over(5000, 1, 50, 1); /* ... and the poll lane's share of it */
}
END_TEST

START_TEST(budget_zero_is_unlimited_and_pause_holds)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 0, 0, 1, 0, 0);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, 0), 0);
    hexrun__budget_pause(&b, 100, 2000);
    ck_assert_int_eq(hexrun__budget_take(&b, 100), 2000);
    hexrun__budget_pause(&b, 200, 10);
    ck_assert_int_eq(hexrun__budget_take(&b, 2099), 1);
    ck_assert_int_eq(hexrun__budget_take(&b, 2100), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("job");
    TCase *tc = tcase_create("job");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ids_grow_and_are_never_reused);
    tcase_add_test(tc, many_jobs_are_found_after_releases);
    tcase_add_test(tc, idempotency_keys_find_their_job);
    tcase_add_test(tc, set_state_refuses_leaving_a_terminal_state);
    tcase_add_test(tc, queue_position_counts_earlier_queued_jobs);
    tcase_add_test(tc, job_json_carries_error_and_trace_id);
    tcase_add_test(tc, released_runs_stay_known_per_project);
    tcase_add_test(tc, a_short_run_released_early_stays_known_while_long_ones_end);
    tcase_add_test(tc, budget_allows_the_limit_then_waits_for_the_oldest_to_leave);
    tcase_add_test(tc, polls_spread_steady_demand_evenly_at_their_share);
    tcase_add_test(tc, a_scaled_window_keeps_a_real_time_margin);
    tcase_add_test(tc, budget_hour_window_limits_too);
    tcase_add_test(tc, budget_never_exceeds_its_limit_in_any_window);
    tcase_add_test(tc, budget_zero_is_unlimited_and_pause_holds);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
