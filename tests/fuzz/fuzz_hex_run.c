/* libFuzzer target: the run parsers (RunProject 201, GetRunStatus, GetProjectRuns page).
 * They read the body in place; each answer must be the one of the whole parse by json-c
 * (the hexrun__hex_*_whole references): the same fields, the same error, or, for a body
 * that is not JSON, both an "invalid JSON" error (the byte named may differ). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char invalid[] = "invalid JSON ";

/* The same code, and the same error unless both say the body is not JSON. */
static void same_error(int rc, const char *err, int whole_rc, const char *whole_err)
{
    int both_invalid = !strncmp(err, invalid, sizeof invalid - 1) &&
                       !strncmp(whole_err, invalid, sizeof invalid - 1);
    if (rc != whole_rc || (rc != HEXRUN_OK && !both_invalid && strcmp(err, whole_err) != 0)) {
        fprintf(stderr, "in place: %d %s\nwhole:    %d %s\n", rc, err, whole_rc, whole_err);
        abort();
    }
}

/* max_runs: the limit the page is read with (a page of more runs is refused). */
static void same_page(const char *body, size_t size, int want_next, size_t max_runs)
{
    char err[256] = "", whole_err[256] = "";
    hexrun__hex_run *runs = NULL, *whole = NULL;
    size_t n = 0, whole_n = 0;
    hexrun__hex_next_page next, whole_next;
    memset(&next, 0, sizeof next);
    memset(&whole_next, 0, sizeof whole_next);
    int rc = hexrun__hex_parse_runs_page(body, size, max_runs, &runs, &n, want_next ? &next : NULL,
                                         err, sizeof err);
    int whole_rc = hexrun__hex_parse_runs_page_whole(body, size, max_runs, &whole, &whole_n,
                                                     want_next ? &whole_next : NULL, whole_err,
                                                     sizeof whole_err);
    same_error(rc, err, whole_rc, whole_err);
    if (n != whole_n || (n && memcmp(runs, whole, n * sizeof *runs) != 0) ||
        memcmp(&next, &whole_next, sizeof next) != 0)
        abort();
    free(runs);
    free(whole);
    rc = hexrun__hex_runs_next(body, size, &next, err, sizeof err);
    whole_rc = hexrun__hex_runs_next_whole(body, size, &whole_next, whole_err, sizeof whole_err);
    same_error(rc, err, whole_rc, whole_err);
    if (memcmp(&next, &whole_next, sizeof next) != 0)
        abort();
}

static void same_answer(const char *body, size_t size, int need_status)
{
    char err[256] = "", whole_err[256] = "";
    hexrun__hex_run run, whole;
    int rc = need_status ? hexrun__hex_parse_run(body, size, &run, err, sizeof err)
                         : hexrun__hex_parse_run_created(body, size, &run, err, sizeof err);
    int whole_rc =
        hexrun__hex_parse_run_whole(body, size, need_status, &whole, whole_err, sizeof whole_err);
    same_error(rc, err, whole_rc, whole_err);
    if (rc == HEXRUN_OK && memcmp(&run, &whole, sizeof run) != 0)
        abort();
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
    same_page(body, size, 1, SIZE_MAX);
    same_page(body, size, 0, SIZE_MAX);
    same_page(body, size, 1, size % 3); /* a limit of 0, 1 or 2 runs, refusing more */
    hexrun__hex_run *runs = NULL;
    size_t n = 0;
    hexrun__hex_next_page next;
    if (hexrun__hex_parse_runs_page(body, size, SIZE_MAX, &runs, &n, &next, err, sizeof err) == 0 &&
        (next.offset < -1 || !memchr(next.query, 0, sizeof next.query) ||
         (n > 0) != (runs != NULL)))
        abort();
    free(runs);
    return 0;
}
