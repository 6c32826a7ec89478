/* libFuzzer target: the run parsers (RunProject 201, GetRunStatus, GetProjectRuns page). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    hexrun__hex_parse_run_created(body, size, &run, err, sizeof err);
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
