/* Unit: the submit journal (plugin/journal.c): verdicts, durability rules, corruption,
 * compaction, and two handles on one file (as two processes would have). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck_run.h"
#include "journal.h"

#define P1 "11111111-1111-4111-8111-111111111111"
#define P2 "22222222-2222-4222-8222-222222222222"
#define R1 "aaaaaaaa-1111-4111-8111-111111111111"
#define STALE 3600000

static char path[64];
static char err[600];

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/hexrun-journal-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
}

static hexrun__journal *open_j(void)
{
    hexrun__journal *j = NULL;
    ck_assert_msg(hexrun__journal_open(path, &j, err, sizeof err) == HEXRUN_OK, "%s", err);
    return j;
}

static hexrun__journal_verdict begin(hexrun__journal *j, const char *key, const char *project,
                                     int64_t now, hexrun__journal_claim *claim)
{
    ck_assert_msg(hexrun__journal_begin(j, key, project, now, STALE, claim, err, sizeof err) ==
                      HEXRUN_OK,
                  "%s", err);
    return claim->verdict;
}

static void append_raw(const char *text)
{
    FILE *f = fopen(path, "a");
    fputs(text, f);
    fclose(f);
}

START_TEST(a_recorded_run_is_attached_across_handles)
{
    hexrun__journal *a = open_j(), *b = open_j();
    hexrun__journal_claim c;
    ck_assert_int_eq(begin(a, "k1", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    /* The owner is alive (this process) and the intent fresh: the other handle waits. */
    ck_assert_int_eq(begin(b, "k1", P1, 1001, &c), HEXRUN__JOURNAL_WAIT);
    ck_assert_int_eq(hexrun__journal_run(a, "k1", P1, R1, 1002, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(begin(b, "k1", P1, 1003, &c), HEXRUN__JOURNAL_ATTACH);
    ck_assert_str_eq(c.run_id, R1);
    ck_assert_int_eq(hexrun__journal_knows_run(b, R1), 1);
    ck_assert_int_eq(hexrun__journal_knows_run(b, "other"), 0);
    /* The same key for another project is refused, naming the first project. */
    ck_assert_int_eq(begin(b, "k1", P2, 1004, &c), HEXRUN__JOURNAL_CONFLICT);
    ck_assert_str_eq(c.run_id, P1);
    hexrun__journal_close(a);
    hexrun__journal_close(b);
    /* A new handle (a restarted process) reads it all back. */
    hexrun__journal *r = open_j();
    ck_assert_int_eq(begin(r, "k1", P1, 1005, &c), HEXRUN__JOURNAL_ATTACH);
    hexrun__journal_close(r);
}
END_TEST

START_TEST(failed_frees_the_key_and_unknown_or_stale_intents_adopt)
{
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    ck_assert_int_eq(begin(j, "k", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(hexrun__journal_failed(j, "k", P1, 1001, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(begin(j, "k", P1, 2000, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(hexrun__journal_unknown(j, "k", P1, 2000, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(begin(j, "k", P1, 3000, &c), HEXRUN__JOURNAL_ADOPT);
    ck_assert_int_eq(c.since_ms, 2000);
    /* An intent older than stale_ms adopts even though its owner (we) is alive. */
    ck_assert_int_eq(begin(j, "s", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(begin(j, "s", P1, 1000 + STALE, &c), HEXRUN__JOURNAL_ADOPT);
    ck_assert_int_eq(c.since_ms, 1000);
    hexrun__journal_close(j);
}
END_TEST

/* Append a record line with a valid checksum. */
static void append_record(const char *body)
{
    char line[300];
    unsigned crc = 0xFFFFFFFFu;
    for (const char *p = body; *p; p++) {
        crc ^= (unsigned char)*p;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    snprintf(line, sizeof line, "%08x %s\n", ~crc, body);
    append_raw(line);
}

START_TEST(a_dead_owners_intent_adopts)
{
    /* pid 1 with a start time that is not init's: a process that is gone. */
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    char body[200];
    snprintf(body, sizeof body, "I 5000 1 999999999 %s - dead", P1);
    append_record(body);
    ck_assert_int_eq(begin(j, "dead", P1, 6000, &c), HEXRUN__JOURNAL_ADOPT);
    ck_assert_int_eq(c.since_ms, 5000);
    hexrun__journal_close(j);
}
END_TEST

START_TEST(a_run_id_that_is_not_a_uuid_is_not_trusted)
{
    /* Issue 12 point 7: a run id from a journal line goes into request paths. */
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    ck_assert_int_eq(begin(j, "k", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(hexrun__journal_run(j, "k", P1, "..", 1001, err, sizeof err), HEXRUN_OK);
    hexrun__journal_close(j);
    hexrun__journal *r = open_j();
    ck_assert_int_ne(begin(r, "k", P1, 1002, &c), HEXRUN__JOURNAL_ATTACH);
    hexrun__journal_stats st;
    hexrun__journal_get_stats(r, &st);
    ck_assert_uint_eq(st.corrupt, 1);
    ck_assert_int_eq(hexrun__journal_knows_run(r, ".."), 0);
    hexrun__journal_close(r);
}
END_TEST

START_TEST(corrupt_lines_are_skipped_and_a_torn_tail_is_cut)
{
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    ck_assert_int_eq(begin(j, "a", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(hexrun__journal_run(j, "a", P1, R1, 1001, err, sizeof err), HEXRUN_OK);
    append_raw("deadbeef I 1 2 3 x - bad-checksum\n");
    append_raw("00000000 R 1 2"); /* a crash mid-write: no newline */
    ck_assert_int_eq(begin(j, "b", P1, 1002, &c), HEXRUN__JOURNAL_GO);
    hexrun__journal_close(j);
    hexrun__journal *r = open_j();
    hexrun__journal_stats st;
    hexrun__journal_get_stats(r, &st);
    ck_assert_uint_eq(st.corrupt, 1);
    ck_assert_uint_eq(st.lines, 4); /* I a, R a, the bad line, I b: the torn tail is gone */
    ck_assert_int_eq(begin(r, "a", P1, 1003, &c), HEXRUN__JOURNAL_ATTACH);
    ck_assert_int_eq(begin(r, "b", P1, 1004, &c), HEXRUN__JOURNAL_WAIT);
    hexrun__journal_close(r);
}
END_TEST

START_TEST(keys_with_any_bytes_round_trip)
{
    const char *keys[] = {"dag.task run 2026-11-29T00:00:00+00:00 [3]", "tab\there", "new\nline",
                          "100%", "ünïcødé"};
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(begin(j, keys[i], P1, 1000, &c), HEXRUN__JOURNAL_GO);
        ck_assert_int_eq(hexrun__journal_run(j, keys[i], P1, R1, 1001, err, sizeof err), HEXRUN_OK);
    }
    hexrun__journal_close(j);
    j = open_j();
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(begin(j, keys[i], P1, 1002, &c) == HEXRUN__JOURNAL_ATTACH, "%s", keys[i]);
    hexrun__journal_stats st;
    hexrun__journal_get_stats(j, &st);
    ck_assert_uint_eq(st.corrupt, 0);
    hexrun__journal_close(j);
}
END_TEST

START_TEST(compaction_keeps_live_keys_and_other_handles_follow)
{
    hexrun__journal *a = open_j(), *b = open_j();
    hexrun__journal_claim c;
    char key[32];
    /* 600 keys that failed (dropped by compaction) and one run (kept). */
    for (int i = 0; i < 600; i++) {
        snprintf(key, sizeof key, "gone-%d", i);
        ck_assert_int_eq(begin(a, key, P1, 1000, &c), HEXRUN__JOURNAL_GO);
        ck_assert_int_eq(hexrun__journal_failed(a, key, P1, 1001, err, sizeof err), HEXRUN_OK);
    }
    ck_assert_int_eq(begin(a, "kept", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(hexrun__journal_run(a, "kept", P1, R1, 4102444800000LL, err, sizeof err),
                     HEXRUN_OK);
    hexrun__journal_stats st;
    hexrun__journal_get_stats(a, &st);
    ck_assert_uint_ge(st.compactions, 1); /* 1200 lines, 1 live key: compacted on its own */
    ck_assert_int_eq(hexrun__journal_compact(a, 1, err, sizeof err), HEXRUN_OK);
    hexrun__journal_get_stats(a, &st);
    ck_assert_uint_eq(st.lines, 1);
    struct stat fs;
    ck_assert_int_eq(stat(path, &fs), 0);
    ck_assert_int_lt(fs.st_size, 200);
    /* b still holds the replaced file: it notices, reopens and sees the kept run. */
    ck_assert_int_eq(begin(b, "kept", P1, 1002, &c), HEXRUN__JOURNAL_ATTACH);
    ck_assert_int_eq(begin(b, "new", P1, 1003, &c), HEXRUN__JOURNAL_GO);
    ck_assert_int_eq(begin(a, "new", P1, 1004, &c), HEXRUN__JOURNAL_WAIT);
    hexrun__journal_close(a);
    hexrun__journal_close(b);
}
END_TEST

START_TEST(a_bad_path_is_a_clear_io_error)
{
    hexrun__journal *j = NULL;
    ck_assert_int_eq(hexrun__journal_open("/nonexistent-dir/j", &j, err, sizeof err), HEXRUN_E_IO);
    ck_assert_ptr_null(j);
    ck_assert_ptr_nonnull(strstr(err, "journal_path"));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/j"));
    ck_assert_int_eq(hexrun__journal_open("/tmp", &j, err, sizeof err), HEXRUN_E_IO);
}
END_TEST

START_TEST(an_intent_dated_in_the_future_does_not_block_its_key)
{
    /* Owner alive (pid 1, any start time), dated far ahead: stale by rule, so adopted
     * (looked up, never re-sent) instead of waited on for ever. */
    char body[200];
    snprintf(body, sizeof body, "I 9000000000000 1 0 %s - future", P1);
    append_record(body);
    /* INT64_MIN (and any time before 1970) is damage: the line is skipped, no overflow. */
    snprintf(body, sizeof body, "I -9223372036854775808 1 0 %s - ancient", P1);
    append_record(body);
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    ck_assert_int_eq(begin(j, "future", P1, 6000, &c), HEXRUN__JOURNAL_ADOPT);
    ck_assert_int_eq(c.since_ms, 6000); /* clamped to now */
    ck_assert_int_eq(begin(j, "ancient", P1, 6000, &c), HEXRUN__JOURNAL_GO);
    hexrun__journal_stats st;
    hexrun__journal_get_stats(j, &st);
    ck_assert_uint_eq(st.corrupt, 1);
    hexrun__journal_close(j);
}
END_TEST

START_TEST(a_planted_symlink_or_foreign_journal_is_refused)
{
    char victim[80], link_path[80];
    snprintf(victim, sizeof victim, "%s.victim", path);
    snprintf(link_path, sizeof link_path, "%s.link", path);
    FILE *f = fopen(victim, "w");
    fputs("precious\n", f);
    fclose(f);
    ck_assert_int_eq(symlink(victim, link_path), 0);
    hexrun__journal *j = NULL;
    ck_assert_int_eq(hexrun__journal_open(link_path, &j, err, sizeof err), HEXRUN_E_IO);
    ck_assert_msg(strstr(err, "journal_path") && strstr(err, "symbolic link"), "%s", err);
    struct stat st;
    ck_assert_int_eq(stat(victim, &st), 0);
    ck_assert_int_eq(st.st_size, 9);
    unlink(link_path);
    unlink(victim);
    ck_assert_int_eq(chmod(path, 0620), 0);
    ck_assert_int_eq(hexrun__journal_open(path, &j, err, sizeof err), HEXRUN_E_IO);
    ck_assert_msg(strstr(err, "writable by group or others"), "%s", err);
    ck_assert_int_eq(chmod(path, 0600), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        ck_assert_int_eq(hexrun__journal_open(path, &j, err, sizeof err), HEXRUN_E_IO);
        ck_assert_msg(strstr(err, "belongs to uid 65534"), "%s", err);
        ck_assert_int_eq(chown(path, 0, 0), 0);
    }
    char fifo[80];
    snprintf(fifo, sizeof fifo, "%s.fifo", path);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    alarm(10); /* a FIFO must not hang the open */
    ck_assert_int_eq(hexrun__journal_open(fifo, &j, err, sizeof err), HEXRUN_E_IO);
    alarm(0);
    unlink(fifo);
}
END_TEST

START_TEST(compaction_never_writes_through_a_planted_temp_file)
{
    /* The old temporary name was predictable: <path>.compact.<pid>. */
    char victim[80], planted[120];
    snprintf(victim, sizeof victim, "%s.victim", path);
    snprintf(planted, sizeof planted, "%s.compact.%ld", path, (long)getpid());
    FILE *f = fopen(victim, "w");
    fputs("precious\n", f);
    fclose(f);
    ck_assert_int_eq(symlink(victim, planted), 0);
    hexrun__journal *j = open_j();
    hexrun__journal_claim c;
    ck_assert_int_eq(begin(j, "k", P1, 1000, &c), HEXRUN__JOURNAL_GO);
    mode_t old = umask(0);
    ck_assert_int_eq(hexrun__journal_compact(j, 1, err, sizeof err), HEXRUN_OK);
    umask(old);
    struct stat st;
    ck_assert_int_eq(stat(victim, &st), 0);
    ck_assert_int_eq(st.st_size, 9);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_msg(S_ISREG(st.st_mode), "the journal path is no longer a regular file");
    ck_assert_int_eq(st.st_mode & 0777, 0600); /* even with umask 0 */
    ck_assert_int_eq(begin(j, "k", P1, 1001, &c), HEXRUN__JOURNAL_WAIT);
    hexrun__journal_close(j);
    unlink(planted);
    unlink(victim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_recorded_run_is_attached_across_handles);
    tcase_add_test(tc, failed_frees_the_key_and_unknown_or_stale_intents_adopt);
    tcase_add_test(tc, a_dead_owners_intent_adopts);
    tcase_add_test(tc, a_run_id_that_is_not_a_uuid_is_not_trusted);
    tcase_add_test(tc, corrupt_lines_are_skipped_and_a_torn_tail_is_cut);
    tcase_add_test(tc, keys_with_any_bytes_round_trip);
    tcase_add_test(tc, compaction_keeps_live_keys_and_other_handles_follow);
    tcase_add_test(tc, a_bad_path_is_a_clear_io_error);
    tcase_add_test(tc, an_intent_dated_in_the_future_does_not_block_its_key);
    tcase_add_test(tc, a_planted_symlink_or_foreign_journal_is_refused);
    tcase_add_test(tc, compaction_never_writes_through_a_planted_temp_file);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
