/* libFuzzer target: the run parsers (RunProject 201, GetRunStatus, GetProjectRuns page).
 * The first two read the body in place; each answer must be the one of the whole parse by
 * json-c (hexrun__hex_parse_run_whole): the same fields, the same error, or, for a body
 * that is not JSON, both an "invalid JSON" error (the byte named may differ). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char invalid[] = "invalid JSON ";

static void same_answer(const char *body, size_t size, int need_status)
{
    char err[256], whole_err[256];
    hexrun__hex_run run, whole;
    int rc = need_status ? hexrun__hex_parse_run(body, size, &run, err, sizeof err)
                         : hexrun__hex_parse_run_created(body, size, &run, err, sizeof err);
    int whole_rc =
        hexrun__hex_parse_run_whole(body, size, need_status, &whole, whole_err, sizeof whole_err);
    int both_invalid = !strncmp(err, invalid, sizeof invalid - 1) &&
                       !strncmp(whole_err, invalid, sizeof invalid - 1);
    if (rc != whole_rc || (rc == HEXRUN_OK && memcmp(&run, &whole, sizeof run) != 0) ||
        (rc != HEXRUN_OK && !both_invalid && strcmp(err, whole_err) != 0)) {
        fprintf(stderr, "in place: %d %s\nwhole:    %d %s\n", rc, rc ? err : run.run_id, whole_rc,
                whole_rc ? whole_err : whole.run_id);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char err[256];
    hexrun__hex_run run;
    if (hexrun__hex_parse_run(body, size, &run, err, sizeof err) == HEXRUN_OK) {
        /* Every field the engine copies out must be terminated within its array. */
        if (!memchr(run.run_id, 0, sizeof run.run_id) || !run.run_id[0] ||
            !memchr(run.run_url, 0, sizeof run.run_url) || run.state < 0 ||
            run.state > HEXRUN_STATE_SUBMIT_UNKNOWN)
            abort();
    }
    same_answer(body, size, 1);
    same_answer(body, size, 0);
    hexrun__hex_run *runs = NULL;
    size_t n = 0;
    hexrun__hex_next_page next;
    if (hexrun__hex_parse_runs_page(body, size, &runs, &n, &next, err, sizeof err) == 0 &&
        (next.offset < -1 || !memchr(next.query, 0, sizeof next.query) ||
         (n > 0) != (runs != NULL)))
        abort();
    free(runs);
    return 0;
}
