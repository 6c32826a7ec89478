/* Unit: the host-wide shared budget (budget_path): handles on one file share a token's
 * budget, tokens are apart, a process killed while holding the lock blocks nobody. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static hexrun__shared_budget *open_sb(const char *token, const int64_t limits[4])
{
    hexrun__shared_budget *sb = NULL;
    ck_assert_msg(hexrun__shared_budget_open(path, token, limits, 1, 1000, &sb, err,
                                             sizeof err) == HEXRUN_OK, "%s", err);
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
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: status %d",
                      round, status);
    }
    hexrun__shared_budget_close(sb);
}
END_TEST

START_TEST(bad_paths_are_clear_io_errors)
{
    hexrun__shared_budget *sb = NULL;
    ck_assert_int_eq(hexrun__shared_budget_open("/nonexistent-dir/b", "t", HEX_LIMITS, 1, 0, &sb,
                                                err, sizeof err),
                     HEXRUN_E_IO);
    ck_assert_ptr_nonnull(strstr(err, "budget_path"));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/b"));
    ck_assert_int_eq(hexrun__shared_budget_open("/tmp", "t", HEX_LIMITS, 1, 0, &sb, err,
                                                sizeof err),
                     HEXRUN_E_IO);
    /* A file full of tokens says so. */
    hexrun__shared_budget *held[32];
    for (int i = 0; i < 32; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "t%d", i);
        held[i] = open_sb(tok, HEX_LIMITS);
    }
    ck_assert_int_eq(hexrun__shared_budget_open(path, "one-more", HEX_LIMITS, 1, 0, &sb, err,
                                                sizeof err),
                     HEXRUN_E_IO);
    ck_assert_ptr_nonnull(strstr(err, "32 tokens"));
    for (int i = 0; i < 32; i++)
        hexrun__shared_budget_close(held[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("shared");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_handles_share_one_tokens_budget);
    tcase_add_test(tc, a_process_killed_holding_the_lock_blocks_nobody);
    tcase_add_test(tc, bad_paths_are_clear_io_errors);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
