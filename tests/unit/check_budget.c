/* Unit: the budget's two lanes (interactive and poll, with the reserve polls leave free)
 * and the host-wide shared budget (budget_path): handles on one file share a token's
 * budget, tokens are apart, a process killed while holding the lock blocks nobody, and a
 * planted, foreign, truncated, damaged or unallocatable file gives an error or a repair,
 * never a signal. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "ck_run.h"
#include "hexrun.h"

static char path[64];
static char err[600];
static const int64_t HEX_LIMITS[4] = {20, 60, 30, 1800};

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/hexrun-budget-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
}

static hexrun__shared_budget *open_sb(const char *token, const int64_t limits[4]);

/* Polls as fast as the poll lane allows for an hour of an injected clock: returns how many
 * went; no minute may hold more than the share (20 of 30 with a third reserved). */
static int64_t poll_for_an_hour(hexrun__budget *b, int64_t start)
{
    static int64_t sent[4000];
    int64_t n = 0, now = start;
    while (now < start + 3600000) {
        int64_t w = hexrun__budget_take_poll(b, now);
        if (w > 0) {
            now += w;
            continue;
        }
        ck_assert_int_lt(n, 4000);
        sent[n++] = now;
        for (int64_t j = n - 1; j >= 0 && now - sent[j] < 60000; j--)
            ck_assert_msg(n - j <= 20, "%lld polls within a minute", (long long)(n - j));
    }
    return n;
}

START_TEST(the_reserve_is_never_spent_by_polls)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 30, 1800, 1, 33, 0);
    /* An hour of polls: the share of every minute, no more (and the hour's share holds). */
    int64_t n = poll_for_an_hour(&b, 0);
    ck_assert_int_ge(n, 1190);
    ck_assert_int_le(n, 1206);
    /* The polls have filled their share of the last minute and must wait; the reserve is
     * free for the interactive lane at once: its ten, less the window's 5% jitter margin
     * (63 s hold 21 polls). */
    int64_t now = 3599000;
    ck_assert_int_gt(hexrun__budget_take_poll(&b, now), 0);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, now), 0);
    ck_assert_int_gt(hexrun__budget_take(&b, now), 0);
}
END_TEST

START_TEST(the_interactive_lane_goes_first_and_never_waits_for_pacing)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 30, 1800, 1, 33, 0);
    /* A burst of 25 direct calls goes at once: only the window's limit stops them. */
    for (int i = 0; i < 25; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, 1000), 0);
    /* Polls spend only what is idle: nothing until the burst has left the minute. */
    ck_assert_int_eq(hexrun__budget_take_poll(&b, 1000), 60000);
    /* The last 5 of the window are the interactive lane's too; then the window is spent. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(hexrun__budget_take(&b, 1001 + i), 0);
    ck_assert_int_gt(hexrun__budget_take(&b, 2000), 0);
    /* A poll then waits for the window's whole limit (63 s with the margin) as well. */
    ck_assert_int_eq(hexrun__budget_take_poll(&b, 61000), 3000);
    ck_assert_int_eq(hexrun__budget_take_poll(&b, 64000), 0);
}
END_TEST

START_TEST(the_poll_interval_follows_the_budget_and_the_reserve)
{
    hexrun__budget b;
    hexrun__budget_init(&b, 30, 1800, 1, 33, 0);
    ck_assert_int_eq(hexrun__budget_poll_interval_ms(&b), 3000); /* 20 a minute */
    hexrun__budget_init(&b, 30, 1800, 30, 33, 0);
    ck_assert_int_eq(hexrun__budget_poll_interval_ms(&b), 100); /* a clock 30x faster */
    hexrun__budget_init(&b, 60, 3600, 1, 50, 0);
    ck_assert_int_eq(hexrun__budget_poll_interval_ms(&b), 2000);
    hexrun__budget_init(&b, 30, 600, 1, 0, 0);
    ck_assert_int_eq(hexrun__budget_poll_interval_ms(&b), 6000); /* the hour is tighter */
    hexrun__budget_init(&b, 0, 0, 1, 33, 0);
    ck_assert_int_eq(hexrun__budget_poll_interval_ms(&b), 0); /* no budget, no pace */
}
END_TEST

START_TEST(handles_share_the_poll_share)
{
    hexrun__shared_budget *a = open_sb("tok-1", HEX_LIMITS), *b = open_sb("tok-1", HEX_LIMITS);
    /* One poll every 3 s between the two processes, not one each. */
    ck_assert_int_eq(hexrun__shared_budget_take_poll(a, 1000), 0);
    ck_assert_int_eq(hexrun__shared_budget_take_poll(b, 1000), 3000);
    ck_assert_int_eq(hexrun__shared_budget_take_poll(b, 4000), 0);
    ck_assert_int_gt(hexrun__shared_budget_take_poll(a, 4000), 0);
    /* The interactive lane of either is not held by that pace. */
    ck_assert_int_eq(hexrun__shared_budget_take(a, HEXRUN__BUDGET_API, 4000), 0);
    hexrun__shared_budget_close(a);
    hexrun__shared_budget_close(b);
}
END_TEST

static hexrun__shared_budget *open_sb(const char *token, const int64_t limits[4])
{
    hexrun__shared_budget *sb = NULL;
    ck_assert_msg(hexrun__shared_budget_open(path, token, limits, 1, 33, 1000, NULL, &sb, err,
                                             sizeof err) == HEXRUN_OK,
                  "%s", err);
    return sb;
}

START_TEST(two_handles_share_one_tokens_budget)
{
    hexrun__shared_budget *a = open_sb("tok-1", HEX_LIMITS), *b = open_sb("tok-1", HEX_LIMITS);
    hexrun__shared_budget *other = open_sb("tok-2", HEX_LIMITS);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(hexrun__shared_budget_take(a, HEXRUN__BUDGET_RUN, 1000), 0);
        ck_assert_int_eq(hexrun__shared_budget_take(b, HEXRUN__BUDGET_RUN, 1000), 0);
    }
    /* 20 RunProjects between them: both must wait now; the api group is untouched. */
    ck_assert_int_gt(hexrun__shared_budget_take(a, HEXRUN__BUDGET_RUN, 1000), 0);
    ck_assert_int_gt(hexrun__shared_budget_take(b, HEXRUN__BUDGET_RUN, 1000), 0);
    ck_assert_int_eq(hexrun__shared_budget_take(b, HEXRUN__BUDGET_API, 1000), 0);
    /* Another token has its own budget; a refund in one handle frees one for the other. */
    ck_assert_int_eq(hexrun__shared_budget_take(other, HEXRUN__BUDGET_RUN, 1000), 0);
    hexrun__shared_budget_refund(a, HEXRUN__BUDGET_RUN);
    ck_assert_int_eq(hexrun__shared_budget_take(b, HEXRUN__BUDGET_RUN, 1000), 0);
    /* A pause (429 with Retry-After) holds every handle of the token. */
    hexrun__shared_budget_pause(a, HEXRUN__BUDGET_API, 1000, 5000);
    ck_assert_int_eq(hexrun__shared_budget_take(b, HEXRUN__BUDGET_API, 1000), 5000);
    hexrun__shared_budget_close(a);
    hexrun__shared_budget_close(b);
    hexrun__shared_budget_close(other);
    /* The file keeps the state for the next process of this boot. */
    hexrun__shared_budget *c = open_sb("tok-1", HEX_LIMITS);
    ck_assert_int_gt(hexrun__shared_budget_take(c, HEXRUN__BUDGET_RUN, 1000), 0);
    hexrun__shared_budget_close(c);
}
END_TEST

static void on_alarm(int sig)
{
    (void)sig;
    _exit(3); /* stuck on the lock */
}

START_TEST(a_process_killed_holding_the_lock_blocks_nobody)
{
    const int64_t unlimited[4] = {0, 0, 0, 0};
    hexrun__shared_budget *sb = open_sb("tok", unlimited);
    for (int round = 0; round < 20; round++) {
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            hexrun__shared_budget *mine = open_sb("tok", unlimited);
            for (;;) /* in and out of the lock, as fast as it goes */
                hexrun__shared_budget_take(mine, HEXRUN__BUDGET_API, 1000);
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        /* A grandchild checks that the lock can be taken; the alarm catches a hang. */
        pid_t probe = fork();
        if (probe == 0) {
            signal(SIGALRM, on_alarm);
            alarm(5);
            _exit(hexrun__shared_budget_take(sb, HEXRUN__BUDGET_API, 1000) == 0 ? 0 : 4);
        }
        int status = 0;
        waitpid(probe, &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: status %d", round,
                      status);
    }
    hexrun__shared_budget_close(sb);
}
END_TEST

START_TEST(bad_paths_are_clear_io_errors)
{
    hexrun__shared_budget *sb = NULL;
    ck_assert_int_eq(hexrun__shared_budget_open("/nonexistent-dir/b", "t", HEX_LIMITS, 1, 33, 0,
                                                NULL, &sb, err, sizeof err),
                     HEXRUN_E_IO);
    ck_assert_ptr_nonnull(strstr(err, "budget_path"));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/b"));
    ck_assert_int_eq(
        hexrun__shared_budget_open("/tmp", "t", HEX_LIMITS, 1, 33, 0, NULL, &sb, err, sizeof err),
        HEXRUN_E_IO);
    /* A file full of tokens says so. */
    hexrun__shared_budget *held[32];
    for (int i = 0; i < 32; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "t%d", i);
        held[i] = open_sb(tok, HEX_LIMITS);
    }
    ck_assert_int_eq(hexrun__shared_budget_open(path, "one-more", HEX_LIMITS, 1, 33, 0, NULL, &sb,
                                                err, sizeof err),
                     HEXRUN_E_IO);
    ck_assert_ptr_nonnull(strstr(err, "32 tokens"));
    for (int i = 0; i < 32; i++)
        hexrun__shared_budget_close(held[i]);
}
END_TEST

static int open_rc(const char *p)
{
    hexrun__shared_budget *sb = NULL;
    err[0] = '\0';
    int rc = hexrun__shared_budget_open(p, "t", HEX_LIMITS, 1, 33, 0, NULL, &sb, err, sizeof err);
    hexrun__shared_budget_close(sb);
    return rc;
}

START_TEST(a_planted_symlink_or_foreign_file_is_refused)
{
    /* The victim: a file of ours the symlink points at. It must stay untouched. */
    char victim[80], link_path[80];
    snprintf(victim, sizeof victim, "%s.victim", path);
    snprintf(link_path, sizeof link_path, "%s.link", path);
    FILE *f = fopen(victim, "w");
    fputs("precious\n", f);
    fclose(f);
    ck_assert_int_eq(symlink(victim, link_path), 0);
    ck_assert_int_eq(open_rc(link_path), HEXRUN_E_IO);
    ck_assert_msg(strstr(err, "symbolic link") && strstr(err, "budget_path"), "%s", err);
    struct stat st;
    ck_assert_int_eq(stat(victim, &st), 0);
    ck_assert_int_eq(st.st_size, 9);
    unlink(link_path);
    unlink(victim);
    /* Writable by others: anyone could forge the budget. */
    ck_assert_int_eq(chmod(path, 0666), 0);
    ck_assert_int_eq(open_rc(path), HEXRUN_E_IO);
    ck_assert_msg(strstr(err, "writable by group or others"), "%s", err);
    ck_assert_int_eq(chmod(path, 0600), 0);
    /* Another user's file (as root we can make one). */
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        ck_assert_int_eq(open_rc(path), HEXRUN_E_IO);
        ck_assert_msg(strstr(err, "belongs to uid 65534"), "%s", err);
        ck_assert_int_eq(chown(path, 0, 0), 0);
    }
    /* A FIFO: refused at once, not a hang. */
    char fifo[80];
    snprintf(fifo, sizeof fifo, "%s.fifo", path);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    alarm(10);
    ck_assert_int_eq(open_rc(fifo), HEXRUN_E_IO);
    alarm(0);
    ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
    unlink(fifo);
    ck_assert_int_eq(open_rc(path), HEXRUN_OK);
}
END_TEST

static void must_take(hexrun__shared_budget *sb)
{
    ck_assert_int_eq(hexrun__shared_budget_take(sb, HEXRUN__BUDGET_API, 1000), 0);
    hexrun__shared_budget_refund(sb, HEXRUN__BUDGET_API);
}

START_TEST(a_file_truncated_under_a_client_is_repaired_not_sigbus)
{
    hexrun__shared_budget *sb = open_sb("tok", HEX_LIMITS);
    must_take(sb);
    const off_t cuts[] = {0, 100, 5000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ck_assert_int_eq(truncate(path, cuts[i]), 0);
        must_take(sb); /* SIGBUS here with a mapped file */
        ck_assert_int_eq(hexrun__shared_budget_repairs(sb), (int64_t)i + 1);
    }
    /* Another handle opens the repaired file as usual. */
    hexrun__shared_budget *other = open_sb("tok", HEX_LIMITS);
    must_take(other);
    hexrun__shared_budget_close(other);
    hexrun__shared_budget_close(sb);
}
END_TEST

static void overwrite(off_t from, unsigned seed)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    srand(seed);
    for (off_t off = from; off < st.st_size; off += 512) {
        unsigned char junk[512];
        for (size_t k = 0; k < sizeof junk; k++)
            junk[k] = seed == 0 ? 0xFF : (unsigned char)rand();
        size_t n = (size_t)(st.st_size - off < 512 ? st.st_size - off : 512);
        ck_assert_int_eq(pwrite(fd, junk, n, off), (ssize_t)n);
    }
    close(fd);
}

START_TEST(a_damaged_file_is_repaired_not_sigsegv)
{
    hexrun__shared_budget *sb = open_sb("tok", HEX_LIMITS);
    for (unsigned seed = 0; seed < 20; seed++) {
        must_take(sb);
        int64_t repairs = hexrun__shared_budget_repairs(sb);
        /* Everything after the magic, version and boot id: hashes, limits, indices. */
        overwrite(48, seed);
        must_take(sb); /* out-of-range window indices: SIGSEGV without the checks */
        ck_assert_int_eq(hexrun__shared_budget_repairs(sb), repairs + 1);
        /* Damage at open: the file is rebuilt, or the open fails cleanly. */
        overwrite((off_t)(seed * 4), seed + 1);
        int rc = open_rc(path);
        ck_assert_msg(rc == HEXRUN_OK || rc == HEXRUN_E_IO, "rc %d", rc);
    }
    hexrun__shared_budget_close(sb);
}
END_TEST

/* A full file system: in a private mount namespace, a 64 KiB tmpfs (the file needs more). */
START_TEST(a_full_file_system_is_an_io_error_not_sigbus)
{
    char dir[] = "/tmp/hexrun-full-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount("tmpfs", dir, "tmpfs", 0, "size=64k") == 0) {
        char p[64];
        snprintf(p, sizeof p, "%s/budget", dir);
        ck_assert_int_eq(open_rc(p), HEXRUN_E_IO); /* SIGBUS with a sparse mapping */
        ck_assert_msg(strstr(err, "budget_path") && strstr(err, "No space"), "%s", err);
        umount(dir);
    } else {
        /* Without the right to mount: a file size limit fails the allocation the same way. */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {65536, 65536};
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
        char p[64];
        snprintf(p, sizeof p, "%s/budget", dir);
        ck_assert_int_eq(open_rc(p), HEXRUN_E_IO);
        unlink(p);
    }
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("shared");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_handles_share_one_tokens_budget);
    tcase_add_test(tc, handles_share_the_poll_share);
    tcase_add_test(tc, a_process_killed_holding_the_lock_blocks_nobody);
    tcase_add_test(tc, bad_paths_are_clear_io_errors);
    tcase_add_test(tc, a_planted_symlink_or_foreign_file_is_refused);
    tcase_add_test(tc, a_file_truncated_under_a_client_is_repaired_not_sigbus);
    tcase_add_test(tc, a_damaged_file_is_repaired_not_sigsegv);
    tcase_add_test(tc, a_full_file_system_is_an_io_error_not_sigbus);
    suite_add_tcase(s, tc);
    TCase *lanes = tcase_create("lanes");
    tcase_add_test(lanes, the_reserve_is_never_spent_by_polls);
    tcase_add_test(lanes, the_interactive_lane_goes_first_and_never_waits_for_pacing);
    tcase_add_test(lanes, the_poll_interval_follows_the_budget_and_the_reserve);
    suite_add_tcase(s, lanes);
    return ck_run(s);
}
