/* Check suite for hexrun-host's pure parts: cron expressions, templates, schedule files. */
#include "cron.h"
#include "sched.h"
#include "tmpl.h"

#include "ck_run.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static time_t iso(const char *s)
{
    struct tm tm = {0};
    ck_assert_ptr_nonnull(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

static const struct next_case {
    const char *expr, *tz, *after, *want;
} next_cases[] = {
    {"* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},
    {"* * * * *", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T00:14:00Z", "2026-01-01T00:15:00Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"},
    {"5,10 * * * *", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T00:10:00Z"},
    {"10/20 * * * *", "UTC", "2026-01-01T00:31:00Z", "2026-01-01T00:50:00Z"},
    {"0 6 * * 1-5", "UTC", "2026-01-03T07:00:00Z", "2026-01-05T06:00:00Z"},
    {"0 9-17/4 * * mon-fri", "UTC", "2026-01-05T09:00:00Z", "2026-01-05T13:00:00Z"},
    {"30 2 1 * *", "UTC", "2026-01-01T02:30:00Z", "2026-02-01T02:30:00Z"},
    {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
    {"0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},
    {"0 0 1 jan,JUL *", "UTC", "2026-02-01T00:00:00Z", "2026-07-01T00:00:00Z"},
    {"0 0 * 2 *", "UTC", "2026-03-01T00:00:00Z", "2027-02-01T00:00:00Z"},
    /* Both day fields restricted: the 13th OR a friday (2026-01-02 is a friday). */
    {"0 12 13 * 5", "UTC", "2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z"},
    {"0 12 13 * *", "UTC", "2026-01-01T12:00:00Z", "2026-01-13T12:00:00Z"},
    {"0 0 1-7 * mon", "UTC", "2026-01-07T00:00:00Z", "2026-01-12T00:00:00Z"},
    /* Day-of-week alone restricted: AND with an unrestricted day-of-month. */
    {"0 0 * * sun", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {"0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    /* A field starting with '*' (even a step) counts as unrestricted, as in Vixie cron:
     * days 1, 11, 21, 31 AND a saturday. */
    {"0 0 */10 * sat", "UTC", "2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"},
    {"@hourly", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"},
    {"@daily", "UTC", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z"},
    {"@midnight", "UTC", "2026-05-05T10:00:00Z", "2026-05-06T00:00:00Z"},
    {"@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {"@monthly", "UTC", "2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"},
    {"@yearly", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    {"@annually", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    /* Time zones: Paris is +1 in winter, +2 in summer; Kolkata is +5:30. */
    {"0 6 * * *", "Europe/Paris", "2026-01-01T00:00:00Z", "2026-01-01T05:00:00Z"},
    {"0 6 * * *", "Europe/Paris", "2026-07-01T00:00:00Z", "2026-07-01T04:00:00Z"},
    {"0 0 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z", "2026-01-01T18:30:00Z"},
    /* New York springs forward on 2026-03-08: 02:30 does not exist that day. */
    {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-09T06:30:00Z"},
    /* ...and falls back on 2026-11-01: 01:30 happens twice and fires only the first time. */
    {"30 1 * * *", "America/New_York", "2026-11-01T00:00:00Z", "2026-11-01T05:30:00Z"},
    {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
    {"*/30 * * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"},
};

START_TEST(next_fire_times_match_the_table)
{
    const struct next_case *c = &next_cases[_i];
    cron_expr e;
    char err[200] = "";
    ck_assert_msg(cron_parse(&e, c->expr, c->tz, err, sizeof err) == 0, "%s: %s", c->expr, err);
    time_t got;
    ck_assert_int_eq(cron_next(&e, iso(c->after), &got), 0);
    char buf[32];
    tmpl_iso_utc(got, buf, sizeof buf);
    ck_assert_msg(got == iso(c->want), "'%s' in %s after %s: got %s, want %s", c->expr, c->tz,
                  c->after, buf, c->want);
}
END_TEST

static const struct bad_case {
    const char *expr, *tz, *reason;
} bad_cases[] = {
    {"", "UTC", "expected 5 fields"},
    {"* * * *", "UTC", "got 4"},
    {"* * * * * *", "UTC", "got more"},
    {"60 * * * *", "UTC", "minute: value 60 out of range 0-59"},
    {"* 24 * * *", "UTC", "hour: value 24 out of range 0-23"},
    {"* * 0 * *", "UTC", "day-of-month: value 0 out of range 1-31"},
    {"* * * 13 *", "UTC", "month: value 13 out of range 1-12"},
    {"* * * * 8", "UTC", "day-of-week: value 8 out of range 0-7"},
    {"*/0 * * * *", "UTC", "minute: step 0 out of range"},
    {"*/ * * * *", "UTC", "minute: step must be a positive number"},
    {"5-1 * * * *", "UTC", "minute: range 5-1 is backwards"},
    {"* * * foo *", "UTC", "month: unknown name 'foo'"},
    {"* * * * mon-xyz", "UTC", "day-of-week: unknown name 'xyz'"},
    {"a * * * *", "UTC", "minute: expected a number at 'a'"},
    {"1,,2 * * * *", "UTC", "minute: expected a number"},
    {"1;2 * * * *", "UTC", "minute: unexpected ';'"},
    {"@reboot", "UTC", "unknown macro '@reboot'"},
    {"* * * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"},
    {"* * * * *", "../etc/passwd", "unknown time zone"},
};

START_TEST(invalid_expressions_are_rejected_with_the_reason)
{
    const struct bad_case *c = &bad_cases[_i];
    cron_expr e;
    char err[200] = "";
    ck_assert_int_eq(cron_parse(&e, c->expr, c->tz, err, sizeof err), -1);
    ck_assert_msg(strstr(err, c->reason) != NULL, "'%s': got '%s', want '%s'", c->expr, err,
                  c->reason);
}
END_TEST

START_TEST(an_impossible_date_never_fires)
{
    cron_expr e;
    char err[200];
    ck_assert_int_eq(cron_parse(&e, "0 0 31 2 *", "UTC", err, sizeof err), 0);
    time_t t;
    ck_assert_int_eq(cron_next(&e, iso("2026-01-01T00:00:00Z"), &t), -1);
}
END_TEST

START_TEST(the_caller_time_zone_is_left_alone)
{
    setenv("TZ", "Asia/Tokyo", 1);
    cron_expr e;
    char err[200];
    ck_assert_int_eq(cron_parse(&e, "0 6 * * *", "Europe/Paris", err, sizeof err), 0);
    time_t t;
    ck_assert_int_eq(cron_next(&e, iso("2026-01-01T00:00:00Z"), &t), 0);
    ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
}
END_TEST

START_TEST(templates_expand_in_the_entry_time_zone)
{
    tmpl_ctx ctx = {.slot = iso("2026-11-28T06:00:00Z"),
                    .fired = iso("2026-11-28T23:30:00Z"),
                    .tz = "Europe/Paris"};
    char err[200];
    char *s = tmpl_expand("d={{ds}} ts={{ ts }} ld={{logical_date}} fired={{date}}!", &ctx, err,
                          sizeof err);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "d=2026-11-28 ts=2026-11-28T07:00:00+01:00 ld=2026-11-28T06:00:00Z "
                        "fired=2026-11-29!");
    free(s);
}
END_TEST

START_TEST(unknown_and_unterminated_templates_are_errors)
{
    tmpl_ctx ctx = {.slot = 0, .fired = 0, .tz = "UTC"};
    char err[200];
    ck_assert_ptr_null(tmpl_expand("x {{yesterday}}", &ctx, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "unknown template '{{yesterday}}'"));
    ck_assert_ptr_null(tmpl_expand("x {{ds", &ctx, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "unterminated template"));
}
END_TEST

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/hexrun-sched-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(a_schedule_file_loads_and_expands_params)
{
    char *path = write_temp(
        "{\"entries\":[{\"name\":\"daily\",\"cron\":\"0 6 * * *\",\"timezone\":\"Europe/Paris\","
        "\"project\":\"11111111-1111-4111-8111-111111111111\",\"overlap\":\"queue\","
        "\"timeout\":90,\"params\":{\"day\":\"{{ds}}\",\"days\":3,\"tags\":[\"t-{{ds}}\"]}},"
        "{\"name\":\"hourly\",\"cron\":\"@hourly\",\"project\":\"p2\",\"wait\":false}]}");
    sched_file f;
    char err[300] = "";
    ck_assert_msg(sched_file_load(path, &f, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(f.n, 2);
    ck_assert_int_eq(f.entries[0].overlap, OVERLAP_QUEUE);
    ck_assert(f.entries[0].timeout_s == 90);
    ck_assert_int_eq(f.entries[1].wait, 0);
    ck_assert_int_eq(f.entries[1].overlap, OVERLAP_SKIP);
    ck_assert_str_eq(f.entries[1].cron.tz, "UTC");
    tmpl_ctx ctx = {.slot = iso("2026-03-01T05:00:00Z"), .fired = 0, .tz = "Europe/Paris"};
    char *opts = sched_entry_options(&f.entries[0], &ctx, err, sizeof err);
    ck_assert_str_eq(opts, "{\"inputParams\":{\"day\":\"2026-03-01\",\"days\":3,"
                           "\"tags\":[\"t-2026-03-01\"]}}");
    free(opts);
    char want_state[600];
    snprintf(want_state, sizeof want_state, "%s.state", path);
    ck_assert_str_eq(f.state_path, want_state);
    sched_file_free(&f);
    unlink(path);
    free(path);
}
END_TEST

static const struct bad_file {
    const char *text, *reason;
} bad_files[] = {
    {"[1]", "must be a JSON object"},
    {"{\"entries\":[]}", "\"entries\" must be a non-empty array"},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"* * * * *\"}]}", "entry 1: missing \"project\""},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"61 * * * *\",\"project\":\"p\"}]}",
     "entry 1: cron \"61 * * * *\": minute: value 61 out of range"},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"@daily\",\"project\":\"p\",\"overlap\":\"x\"}]}",
     "\"overlap\" must be skip, queue or allow"},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"@daily\",\"project\":\"p\","
     "\"params\":{\"d\":\"{{tomorrow}}\"}}]}",
     "unknown template '{{tomorrow}}'"},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"@daily\",\"project\":\"p\",\"timezone\":\"X/Y\"}]}",
     "unknown time zone 'X/Y'"},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"@daily\",\"project\":\"p\"},"
     "{\"name\":\"a\",\"cron\":\"@daily\",\"project\":\"p\"}]}",
     "entry name \"a\" is used twice"},
    {"{\"entries\":[{\"name\":\"a\",\"cron\":\"@daily\",\"project\":\"p\",\"timeout\":-1}]}",
     "\"timeout\" must be a number of seconds >= 0"},
    {"{\"entries\": [", "hexrun-sched-"},
};

START_TEST(bad_schedule_files_are_rejected_with_the_reason)
{
    char *path = write_temp(bad_files[_i].text);
    sched_file f;
    char err[400] = "";
    ck_assert_int_eq(sched_file_load(path, &f, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_files[_i].reason) != NULL, "got '%s', want '%s'", err,
                  bad_files[_i].reason);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(the_state_file_round_trips)
{
    char path[] = "/tmp/hexrun-state-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    sched_state st;
    char err[300];
    ck_assert_int_eq(sched_state_load(path, &st, err, sizeof err), 0);
    ck_assert_int_eq(sched_state_get(&st, "a"), -1);
    ck_assert_int_eq(sched_state_set(&st, "a", 1700000000), 0);
    ck_assert_int_eq(sched_state_set(&st, "b", 1700000060), 0);
    ck_assert_int_eq(sched_state_set(&st, "a", 1700000120), 0);
    ck_assert_int_eq(sched_state_save(path, &st, err, sizeof err), 0);
    sched_state_free(&st);
    ck_assert_int_eq(sched_state_load(path, &st, err, sizeof err), 0);
    ck_assert_int_eq(sched_state_get(&st, "a"), 1700000120);
    ck_assert_int_eq(sched_state_get(&st, "b"), 1700000060);
    sched_state_free(&st);
    unlink(path);
}
END_TEST

START_TEST(the_state_file_is_written_0600_never_through_a_planted_link)
{
    char path[] = "/tmp/hexrun-state-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    char victim[64], tmp[64];
    snprintf(victim, sizeof victim, "%s.victim", path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(victim, "w");
    fputs("precious\n", f);
    fclose(f);
    ck_assert_int_eq(symlink(victim, tmp), 0);
    sched_state st;
    char err[300];
    ck_assert_int_eq(sched_state_load(path, &st, err, sizeof err), 0);
    ck_assert_int_eq(sched_state_set(&st, "a", 1700000000), 0);
    mode_t old = umask(0);
    ck_assert_int_eq(sched_state_save(path, &st, err, sizeof err), 0);
    umask(old);
    sched_state_free(&st);
    struct stat sb;
    ck_assert_int_eq(stat(victim, &sb), 0);
    ck_assert_int_eq(sb.st_size, 9); /* the victim is untouched */
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert_msg(S_ISREG(sb.st_mode), "the state path became a symlink");
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(sched_state_load(path, &st, err, sizeof err), 0);
    ck_assert_int_eq(sched_state_get(&st, "a"), 1700000000);
    sched_state_free(&st);
    unlink(path);
    unlink(victim);
}
END_TEST

static Suite *host_pure_suite(void)
{
    Suite *s = suite_create("host-pure");
    TCase *tc = tcase_create("cron");
    tcase_add_loop_test(tc, next_fire_times_match_the_table, 0,
                        sizeof next_cases / sizeof next_cases[0]);
    tcase_add_loop_test(tc, invalid_expressions_are_rejected_with_the_reason, 0,
                        sizeof bad_cases / sizeof bad_cases[0]);
    tcase_add_test(tc, an_impossible_date_never_fires);
    tcase_add_test(tc, the_caller_time_zone_is_left_alone);
    suite_add_tcase(s, tc);
    tc = tcase_create("templates");
    tcase_add_test(tc, templates_expand_in_the_entry_time_zone);
    tcase_add_test(tc, unknown_and_unterminated_templates_are_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("schedule-file");
    tcase_add_test(tc, a_schedule_file_loads_and_expands_params);
    tcase_add_loop_test(tc, bad_schedule_files_are_rejected_with_the_reason, 0,
                        sizeof bad_files / sizeof bad_files[0]);
    tcase_add_test(tc, the_state_file_round_trips);
    tcase_add_test(tc, the_state_file_is_written_0600_never_through_a_planted_link);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ck_run(host_pure_suite());
}
