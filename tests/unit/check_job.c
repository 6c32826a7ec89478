/* Unit suite: the job table (ids, idempotency keys, release, JSON) and the rate budget. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "hexrun.h"
#include "job.h"
#include "ck_run.h"

#define P_OK "11111111-1111-4111-8111-111111111111"

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

START_TEST(budget_allows_a_burst_then_waits)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 20, 60, 1000);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, 1000), 0);
    int64_t wait = hexrun__budget_take(&b, 1000);
    /* One request per 3 s comes back into the minute bucket. */
    ck_assert_int_ge(wait, 2999);
    ck_assert_int_le(wait, 3000);
    ck_assert_int_eq(hexrun__budget_take(&b, 1000 + wait), 0);
}
END_TEST

START_TEST(budget_hour_bucket_limits_too)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 20, 30, 0);
    int64_t now = 0, taken = 0;
    while (now < 600000) {
        int64_t w = hexrun__budget_take(&b, now);
        if (w == 0)
            taken++;
        else
            now += w;
    }
    /* 30 at once, then one per 2 minutes of the hour bucket: 35 in ten minutes. */
    ck_assert_int_ge(taken, 34);
    ck_assert_int_le(taken, 36);
}
END_TEST

START_TEST(budget_zero_is_unlimited_and_pause_holds)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 0, 0, 0);
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
    tcase_add_test(tc, budget_allows_a_burst_then_waits);
    tcase_add_test(tc, budget_hour_bucket_limits_too);
    tcase_add_test(tc, budget_zero_is_unlimited_and_pause_holds);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
