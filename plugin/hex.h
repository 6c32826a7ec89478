/*
 * hex.h - Hex API requests and responses <-> plain C structs (internal; hex.c is the
 * only json-c user and json-c objects never leave it).
 *
 * Every parser takes a body and its length (need not be NUL-terminated), never crashes
 * on any input, and on failure returns HEXRUN_E_PROTOCOL (or HEXRUN_E_NOMEM) with a
 * message in err (snprintf rules) that names what was wrong.
 */
#ifndef HEXRUN_HEX_H
#define HEXRUN_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "hexrun.h"

/* Field sizes, NUL included. A longer id in a response is a protocol error; a longer
 * status or optional field is truncated (a run URL is dropped instead). */
#define HEXRUN__HEX_ID_MAX 64
#define HEXRUN__HEX_URL_MAX 1024
#define HEXRUN__HEX_SHORT_MAX 64
#define HEXRUN__HEX_MSG_MAX 1024

/* A run as Hex describes it (RunProject 201, GetRunStatus, an item of GetProjectRuns).
 * Strings are "" when absent or null. */
typedef struct hexrun__hex_run {
    char run_id[HEXRUN__HEX_ID_MAX];
    char project_id[HEXRUN__HEX_ID_MAX];
    char run_url[HEXRUN__HEX_URL_MAX];
    char status[HEXRUN__HEX_SHORT_MAX]; /* Hex's status string as sent */
    int32_t state;                      /* hexrun_state; UNKNOWN for new statuses,
                                           PENDING when no status (RunProject 201) */
    char start_time[HEXRUN__HEX_SHORT_MAX];
    char end_time[HEXRUN__HEX_SHORT_MAX];
    int64_t elapsed_ms; /* -1 when null or absent */
    char trace_id[HEXRUN__HEX_ID_MAX];
    char project_version[HEXRUN__HEX_SHORT_MAX]; /* int or string in the JSON */
    char run_trigger[HEXRUN__HEX_SHORT_MAX];
} hexrun__hex_run;

/* An error body of either family, summarised. */
typedef struct hexrun__hex_error {
    /* "reason" or "message", then "; " and a summary of details / issues[] /
     * invalid[] / notFound[]; or, for a body of no known shape, a printable excerpt of
     * it (control characters replaced). "" for an empty body. */
    char message[HEXRUN__HEX_MSG_MAX];
    char trace_id[HEXRUN__HEX_ID_MAX]; /* "" when absent */
    char code[HEXRUN__HEX_SHORT_MAX];  /* the {code,message} family's code, else "" */
} hexrun__hex_error;

/*
 * hexrun__hex_run_options - validate a host's run options against the RunProject body
 * schema and produce the body to send.
 * @options_json: NULL (= "{}") or a JSON object with only inputParams (object), dryRun,
 *   updatePublishedResults, useCachedSqlResults, updateCache (booleans), viewId
 *   (string), notifications (array of {type: SUCCESS|FAILURE|ALL,
 *   includeSuccessScreenshot: bool, screenshotFormat?: "png"|"pdf",
 *   slackChannelIds?/userIds?/groupIds?: arrays of strings, subject?/body?: strings}).
 *   viewId or updatePublishedResults=true together with inputParams are refused.
 * @out_body: receives the body (malloc'd, free()).  @out_dry_run: 1 if dryRun is true.
 * Returns HEXRUN_OK, HEXRUN_E_INVALID_ARG (err names the key and what is allowed) or
 * HEXRUN_E_NOMEM.
 */
int hexrun__hex_run_options(const char *options_json, char **out_body, int *out_dry_run, char *err,
                            size_t errlen);

/* Hex status string -> hexrun_state; NULL or unknown -> HEXRUN_STATE_UNKNOWN. */
int32_t hexrun__hex_state_from_status(const char *status);

/* RunProject 201: needs runId and projectId; state is PENDING. */
int hexrun__hex_parse_run_created(const char *body, size_t len, hexrun__hex_run *run, char *err,
                                  size_t errlen);

/* GetRunStatus 200: needs runId, projectId and status. Both read the body in place: only
 * the values of a run's fields (cut to what they can hold) are copied, so a large answer
 * costs no memory beyond its body. */
int hexrun__hex_parse_run(const char *body, size_t len, hexrun__hex_run *run, char *err,
                          size_t errlen);

/* The same answers from the whole document parsed by json-c (it costs about three times
 * the body): the reference fuzz_hex_run and check_hex hold the readers above to.
 * need_status: 1 as hexrun__hex_parse_run, 0 as hexrun__hex_parse_run_created. */
int hexrun__hex_parse_run_whole(const char *body, size_t len, int need_status, hexrun__hex_run *run,
                                char *err, size_t errlen);

/* Append run to out as a JSON object of Hex's run fields (what hexrun__hex_parse_run reads
 * back): the status board keeps runs in this form. HEXRUN_OK or HEXRUN_E_NOMEM. */
struct hexrun__buf;
int hexrun__hex_run_json(const hexrun__hex_run *run, struct hexrun__buf *out);

/*
 * The nextPage of a GetProjectRuns page. Its format is not in Hex's spec (a URL whose query
 * holds limit and offset today): offset is read when it is there; otherwise the next page
 * is asked with its query as Hex gave it, or, without one, by counting the runs read.
 */
typedef struct hexrun__hex_next_page {
    int present;                     /* 0: nextPage null or absent, the last page */
    int64_t offset;                  /* its query's offset, -1 when it has none */
    char query[HEXRUN__HEX_URL_MAX]; /* its query string ("" when none or too long) */
    size_t runs;                     /* runs on the page (hexrun__hex_runs_next only) */
} hexrun__hex_next_page;

/*
 * GetProjectRuns 200: {runs:[...], nextPage, previousPage, traceId}.
 * @max_runs: the limit the page was asked with. A page holding more runs is refused
 *   (HEXRUN_E_PROTOCOL naming both counts) before any run is parsed: a parsed run costs
 *   about 1.5 KiB, some 13 times the JSON of a run with only its required fields, so a
 *   server answering thousands of tiny runs would cost 13 times max_response_bytes.
 *   SIZE_MAX: no limit.
 * @runs: receives a malloc'd array of *n runs (free(); NULL when n is 0).
 * @next: receives the nextPage (the URL's host is never used: requests stay on base_url);
 *   NULL when the caller reads no next page (nextPage is then not looked at).
 */
int hexrun__hex_parse_runs_page(const char *body, size_t len, size_t max_runs,
                                hexrun__hex_run **runs, size_t *n, hexrun__hex_next_page *next,
                                char *err, size_t errlen);

/* GetProjectRuns paging for the direct calls: the nextPage and the number of runs of a
 * page (the runs themselves are not parsed). */
int hexrun__hex_runs_next(const char *body, size_t len, hexrun__hex_next_page *next, char *err,
                          size_t errlen);

/* Both read the body in place, as hexrun__hex_parse_run; these give the same answers from
 * the whole document parsed by json-c, the reference for fuzz_hex_run and check_hex. */
int hexrun__hex_parse_runs_page_whole(const char *body, size_t len, size_t max_runs,
                                      hexrun__hex_run **runs, size_t *n,
                                      hexrun__hex_next_page *next, char *err, size_t errlen);
int hexrun__hex_runs_next_whole(const char *body, size_t len, hexrun__hex_next_page *next,
                                char *err, size_t errlen);

/* Fill `out` from an error body of either family (never fails; out is always filled).
 * Returns 1 when the body had a known error shape, 0 otherwise. */
int hexrun__hex_parse_error(const char *body, size_t len, hexrun__hex_error *out);

/* Cursor lists: *after receives pagination.after (malloc'd) or NULL on the last page. */
int hexrun__hex_cursor_after(const char *body, size_t len, char **after, char *err, size_t errlen);

/*
 * Merging pages for HEXRUN_LIST_ALL_PAGES. Make one with the array key ("values" for
 * cursor lists, "runs" for GetProjectRuns), add each page's body in order, then render:
 * the first page's document with the array replaced by every page's items, and
 * pagination {after:null,before:null} ("values") or nextPage/previousPage null ("runs").
 */
typedef struct hexrun__hex_pages hexrun__hex_pages;
hexrun__hex_pages *hexrun__hex_pages_new(const char *array_key);
int hexrun__hex_pages_add(hexrun__hex_pages *pages, const char *body, size_t len, char *err,
                          size_t errlen);
/* Returns the merged document (malloc'd, free()), or NULL on NOMEM or when no page was
 * added. */
char *hexrun__hex_pages_render(hexrun__hex_pages *pages);
void hexrun__hex_pages_free(hexrun__hex_pages *pages);

/* Check that json parses completely (and is an object when want_object). Returns
 * HEXRUN_OK or HEXRUN_E_INVALID_ARG with err naming the problem. */
int hexrun__hex_validate_json(const char *json, int want_object, char *err, size_t errlen);

/* 1 if s has the UUID shape (8-4-4-4-12 hex digits), else 0. */
int hexrun__hex_is_uuid(const char *s);

/* The endpoints of Hex that hexrun calls: the one catalogue (api_direct.c's calls and the
 * engine's job requests read it). Operation ids, methods and paths are those of Hex's
 * docs/hex-api/openapi.json (check_hex compares them). */
typedef enum {
    HEXRUN__EP_RUN_PROJECT,
    HEXRUN__EP_GET_RUN_STATUS,
    HEXRUN__EP_CANCEL_RUN,
    HEXRUN__EP_GET_PROJECT_RUNS,
    HEXRUN__EP_LIST_PROJECTS,
    HEXRUN__EP_GET_PROJECT,
    HEXRUN__EP_ME,
    HEXRUN__EP_LIST_USERS,
    HEXRUN__EP_DEACTIVATE_USER,
    HEXRUN__EP_LIST_GROUPS,
    HEXRUN__EP_GET_GROUP,
    HEXRUN__EP_CREATE_GROUP,
    HEXRUN__EP_EDIT_GROUP,
    HEXRUN__EP_DELETE_GROUP,
    HEXRUN__EP_LIST_DATA_CONNECTIONS,
    HEXRUN__EP_GET_DATA_CONNECTION,
    HEXRUN__EP_CREATE_DATA_CONNECTION,
    HEXRUN__EP_EDIT_DATA_CONNECTION,
    HEXRUN__EP_LIST_COLLECTIONS,
    HEXRUN__EP_GET_COLLECTION,
    HEXRUN__EP_COUNT
} hexrun__hex_op;

typedef struct {
    const char *operation; /* Hex's operationId, for stats and messages */
    const char *method;
    const char *path;     /* relative to <base_url>/api; one %s per id, in order */
    const char *list_key; /* the array a page holds ("runs", "values"); NULL: not a list */
    int group;            /* Hex's limit group: HEXRUN__BUDGET_RUN or _API (budget.h) */
} hexrun__hex_endpoint;

/* The catalogue's entry for op (op < HEXRUN__EP_COUNT). */
const hexrun__hex_endpoint *hexrun__hex_endpoint_of(hexrun__hex_op op);

#endif
