/* Unit: picking the run of an unanswered RunProject (plugin/adopt.c). */
#include <check.h>
#include <string.h>

#include "adopt.h"
#include "ck_run.h"

START_TEST(iso8601_times)
{
    ck_assert_int_eq(hexrun__iso8601_ms("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(hexrun__iso8601_ms("2026-11-29T03:04:05.678Z"), 1795921445678LL);
    ck_assert_int_eq(hexrun__iso8601_ms("2026-11-29T03:04:05.6Z"), 1795921445600LL);
    ck_assert_int_eq(hexrun__iso8601_ms("2026-11-29T03:04:05.67891Z"), 1795921445678LL);
    ck_assert_int_eq(hexrun__iso8601_ms("2026-11-29T03:04:05"), 1795921445000LL);
    const char *bad[] = {"",
                         "2026-11-29",
                         "2026-13-01T00:00:00Z",
                         "2026-11-29T03:04:05.Z",
                         "2026-11-29T03:04:05Zjunk",
                         "2026-11-29 03:04:05Z",
                         "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(hexrun__iso8601_ms(bad[i]) == -1, "%s", bad[i]);
    ck_assert_int_eq(hexrun__iso8601_ms(NULL), -1);
}
END_TEST

static int known_b(const char *run_id, void *ud)
{
    (void)ud;
    return strcmp(run_id, "b") == 0;
}

static hexrun__hex_run run(const char *id, const char *trigger, const char *start)
{
    hexrun__hex_run r;
    memset(&r, 0, sizeof r);
    strcpy(r.run_id, id);
    strcpy(r.run_trigger, trigger);
    strcpy(r.start_time, start);
    return r;
}

START_TEST(candidates_are_new_unknown_api_runs_oldest_first)
{
    int64_t since = hexrun__iso8601_ms("2026-11-29T03:00:00Z");
    /* Newest first, as Hex lists them. */
    hexrun__hex_run runs[] = {
        run("a", "API", ""),                     /* pending: no start time yet */
        run("b", "API", ""),                     /* another job already tracks it */
        run("c", "SCHEDULED", ""),               /* not started by the API */
        run("d", "API", "2026-11-29T02:59:50Z"), /* within the clock-skew allowance */
        run("e", "API", "2026-11-29T02:58:00Z"), /* started before the attempt */
    };
    size_t idx[8];
    size_t n = hexrun__adopt_candidates(runs, 5, since, known_b, NULL, idx, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(runs[idx[0]].run_id, "d");
    ck_assert_str_eq(runs[idx[1]].run_id, "a");
    /* max bounds what is written, not the count. */
    ck_assert_uint_eq(hexrun__adopt_candidates(runs, 5, since, NULL, NULL, idx, 1), 3);
    ck_assert_str_eq(runs[idx[0]].run_id, "d");
    ck_assert_uint_eq(hexrun__adopt_candidates(runs, 0, since, NULL, NULL, idx, 8), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("adopt");
    TCase *tc = tcase_create("adopt");
    tcase_add_test(tc, iso8601_times);
    tcase_add_test(tc, candidates_are_new_unknown_api_runs_oldest_first);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
