/* ck_run.h - the one way every Check suite of hexrun runs: fork mode (a crash fails one
 * test, not the suite), normal output, exit status from the failure count. */
#ifndef HEXRUN_TEST_CK_RUN_H
#define HEXRUN_TEST_CK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int ck_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
