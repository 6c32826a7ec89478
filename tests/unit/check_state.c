/* Unit suite: state names, terminal states, the state machine, error strings. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ck_run.h"
#include "hexrun.h"
#include "job.h"

START_TEST(state_names_are_fixed)
{
    ck_assert_str_eq(hexrun_state_name(HEXRUN_STATE_QUEUED), "QUEUED");
    ck_assert_str_eq(hexrun_state_name(HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL),
                     "UNABLE_TO_ALLOCATE_KERNEL");
    ck_assert_str_eq(hexrun_state_name(HEXRUN_STATE_SUBMIT_UNKNOWN), "SUBMIT_UNKNOWN");
    ck_assert_str_eq(hexrun_state_name(-1), "INVALID");
    ck_assert_str_eq(hexrun_state_name(12), "INVALID");
}
END_TEST

START_TEST(terminal_states)
{
    int32_t live[] = {HEXRUN_STATE_QUEUED, HEXRUN_STATE_SUBMITTING, HEXRUN_STATE_PENDING,
                      HEXRUN_STATE_RUNNING, HEXRUN_STATE_UNKNOWN};
    int32_t final[] = {HEXRUN_STATE_COMPLETED,     HEXRUN_STATE_ERRORED,
                       HEXRUN_STATE_KILLED,        HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL,
                       HEXRUN_STATE_SUBMIT_FAILED, HEXRUN_STATE_LOST,
                       HEXRUN_STATE_SUBMIT_UNKNOWN};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        ck_assert_int_eq(hexrun_state_is_terminal(live[i]), 0);
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        ck_assert_int_eq(hexrun_state_is_terminal(final[i]), 1);
    ck_assert_int_eq(hexrun_state_is_terminal(99), -1);
    ck_assert_int_eq(hexrun_state_is_terminal(-3), -1);
}
END_TEST

START_TEST(terminal_is_final)
{
    for (int32_t from = 0; from < 12; from++) {
        if (hexrun_state_is_terminal(from) != 1)
            continue;
        for (int32_t to = 0; to < 12; to++)
            ck_assert_int_eq(hexrun__job_transition_ok(from, to), 0);
    }
}
END_TEST

START_TEST(submit_path_transitions)
{
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_QUEUED, HEXRUN_STATE_SUBMITTING), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_QUEUED, HEXRUN_STATE_KILLED), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_QUEUED, HEXRUN_STATE_RUNNING), 0);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_SUBMITTING, HEXRUN_STATE_PENDING), 1);
    ck_assert_int_eq(
        hexrun__job_transition_ok(HEXRUN_STATE_SUBMITTING, HEXRUN_STATE_SUBMIT_UNKNOWN), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_SUBMITTING, HEXRUN_STATE_QUEUED), 0);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_RUNNING, HEXRUN_STATE_PENDING), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_RUNNING, HEXRUN_STATE_UNKNOWN), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_UNKNOWN, HEXRUN_STATE_COMPLETED), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_RUNNING, HEXRUN_STATE_SUBMIT_FAILED),
                     0);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_PENDING, HEXRUN_STATE_LOST), 1);
    ck_assert_int_eq(hexrun__job_transition_ok(HEXRUN_STATE_PENDING, 42), 0);
}
END_TEST

START_TEST(every_error_code_has_its_own_message)
{
    for (int code = HEXRUN_E_INTERNAL; code <= HEXRUN_OK; code++) {
        const char *msg = hexrun_strerror(code);
        ck_assert_str_ne(msg, "unknown error");
        for (int other = code + 1; other <= HEXRUN_OK; other++)
            ck_assert_str_ne(msg, hexrun_strerror(other));
    }
    ck_assert_str_eq(hexrun_strerror(-24), "unknown error");
    ck_assert_str_eq(hexrun_strerror(5), "unknown error");
}
END_TEST

START_TEST(versions)
{
    ck_assert_uint_eq(hexrun_abi_version(), HEXRUN_ABI_VERSION);
    ck_assert_uint_eq(hexrun_abi_version() >> 16, 1);
    ck_assert_str_eq(hexrun_version(), HEXRUN_VERSION_STRING);
    hexrun_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    tcase_add_test(tc, state_names_are_fixed);
    tcase_add_test(tc, terminal_states);
    tcase_add_test(tc, terminal_is_final);
    tcase_add_test(tc, submit_path_transitions);
    tcase_add_test(tc, every_error_code_has_its_own_message);
    tcase_add_test(tc, versions);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
