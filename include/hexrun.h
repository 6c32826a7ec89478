/*
 * hexrun.h - the public C ABI of libhexrun.so.1
 *
 * hexrun triggers, tracks, waits on and cancels Hex (hex.tech) project runs for any host
 * that can dlopen a shared object: Airflow and Dagster through Python ctypes, C, C++, Go
 * or Rust programs, and the bundled hexrun-host.
 *
 * Rules that hold for every function below (see docs/abi.md):
 *  - Fallible calls return int: HEXRUN_OK (0) or a negative HEXRUN_E_* code. The numbers
 *    are fixed and never reused. hexrun_last_error() gives the detail for the calling
 *    thread's last failed call.
 *  - Strings in are UTF-8 and NUL-terminated; the library copies what it keeps.
 *  - Strings out marked "yours" are allocated by the library and released with
 *    hexrun_free(). Strings out marked "static" must not be freed.
 *  - A job is an int64_t id, never a pointer: a stale or unknown id gives
 *    HEXRUN_E_NO_SUCH_JOB, not a crash.
 *  - Every function is thread-safe unless its comment says otherwise.
 *  - A client belongs to the process that created it: after fork() the child gets
 *    HEXRUN_E_FORKED from every call on it and must create its own client.
 *  - "Since" gives the library version in which a symbol first appeared.
 *
 * This header is C99 and C++ compatible and parseable by cffi's cdef after preprocessing.
 */
#ifndef HEXRUN_H
#define HEXRUN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(HEXRUN_BUILDING)
#define HEXRUN_API __attribute__((visibility("default")))
#else
#define HEXRUN_API
#endif

/* ---------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------- */

/** Major ABI version: changes only with the SONAME (libhexrun.so.N). */
#define HEXRUN_ABI_MAJOR 1
/** Minor ABI version: grows when symbols are added; never decreases within a major. */
#define HEXRUN_ABI_MINOR 1
/** Library version string of this header (MAJOR.MINOR.PATCH). */
#define HEXRUN_VERSION_STRING "1.1.0"

/** The ABI version the header was compiled against, packed as (major << 16) | minor. */
#define HEXRUN_ABI_VERSION (((uint32_t)HEXRUN_ABI_MAJOR << 16) | (uint32_t)HEXRUN_ABI_MINOR)

/**
 * hexrun_abi_version - the ABI version of the loaded library.
 *
 * The first call every host makes. Returns (major << 16) | minor. A host built against
 * major M must refuse a library whose major differs; a larger minor is compatible.
 * Any thread, any time, even before any other call. Since 1.0.
 */
HEXRUN_API uint32_t hexrun_abi_version(void);

/**
 * hexrun_version - the library version, e.g. "1.1.0".
 * Returns a static string. Any thread. Since 1.0.
 */
HEXRUN_API const char *hexrun_version(void);

/* ---------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------- */

/** Error codes. Numbers are fixed forever; new codes take new numbers. */
enum hexrun_error {
    HEXRUN_OK = 0,                /**< success */
    HEXRUN_E_INVALID_ARG = -1,    /**< a NULL pointer, malformed id, bad JSON or bad flag */
    HEXRUN_E_NOMEM = -2,          /**< out of memory; nothing was changed */
    HEXRUN_E_CONFIG = -3,         /**< unknown config key, bad value, or missing token */
    HEXRUN_E_NO_SUCH_JOB = -4,    /**< the job id is unknown or was released */
    HEXRUN_E_TIMEOUT = -5,        /**< hexrun_wait*: the time ran out; the job goes on */
    HEXRUN_E_TRANSPORT = -6,      /**< network failure (connect, DNS, reset, timeout) */
    HEXRUN_E_TLS = -7,            /**< TLS handshake or certificate verification failed */
    HEXRUN_E_AUTH = -8,           /**< Hex answered 401: token missing, wrong or expired */
    HEXRUN_E_FORBIDDEN = -9,      /**< Hex answered 403: token lacks access or scope */
    HEXRUN_E_NOT_FOUND = -10,     /**< Hex answered 404: unknown project, run or object */
    HEXRUN_E_INVALID_REQUEST = -11, /**< Hex answered 400 or 422: request refused */
    HEXRUN_E_RATE_LIMITED = -12,  /**< Hex answered 429 and retries were exhausted */
    HEXRUN_E_UNAVAILABLE = -13,   /**< Hex answered 5xx and retries were exhausted */
    HEXRUN_E_HTTP = -14,          /**< any other unexpected HTTP status */
    HEXRUN_E_PROTOCOL = -15,      /**< a response hexrun could not understand */
    HEXRUN_E_TOO_LARGE = -16,     /**< a response exceeded max_response_bytes */
    HEXRUN_E_OUTCOME_UNKNOWN = -17, /**< a RunProject may have reached Hex; not repeated */
    HEXRUN_E_STATE = -18,         /**< not valid in the job's state (e.g. cancel a finished run) */
    HEXRUN_E_FORKED = -19,        /**< the client was created by another process (fork) */
    HEXRUN_E_SHUTDOWN = -20,      /**< the client is shutting down */
    HEXRUN_E_BUFFER = -21,        /**< a caller buffer was too small (size reported) */
    HEXRUN_E_IO = -22,            /**< a local file (token, journal, budget) failed */
    HEXRUN_E_INTERNAL = -23       /**< a bug in hexrun: please report it */
};

/**
 * hexrun_strerror - a short static description of an error code.
 * Unknown codes give "unknown error". Any thread. Since 1.0.
 */
HEXRUN_API const char *hexrun_strerror(int code);

/**
 * hexrun_last_error - the detailed message of the calling thread's last failed call.
 *
 * Names the problem (the config key, the HTTP status, Hex's reason and trace id, the
 * number of attempts). Never contains the token. Returns a thread-local string, valid
 * until the same thread's next hexrun call; "" when there is none. Since 1.0.
 */
HEXRUN_API const char *hexrun_last_error(void);

/* ---------------------------------------------------------------------------------------
 * Job states
 * ------------------------------------------------------------------------------------- */

/** States of a job: Hex's six run statuses plus hexrun's own. Numbers are fixed. */
enum hexrun_state {
    HEXRUN_STATE_QUEUED = 0,       /**< waiting for budget before RunProject is sent */
    HEXRUN_STATE_SUBMITTING = 1,   /**< RunProject in flight */
    HEXRUN_STATE_PENDING = 2,      /**< Hex: PENDING */
    HEXRUN_STATE_RUNNING = 3,      /**< Hex: RUNNING */
    HEXRUN_STATE_COMPLETED = 4,    /**< Hex: COMPLETED (terminal, success); also a dry run */
    HEXRUN_STATE_ERRORED = 5,      /**< Hex: ERRORED (terminal) */
    HEXRUN_STATE_KILLED = 6,       /**< Hex: KILLED (terminal); also a QUEUED job cancelled */
    HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL = 7, /**< Hex: UNABLE_TO_ALLOCATE_KERNEL (terminal) */
    HEXRUN_STATE_SUBMIT_FAILED = 8, /**< RunProject was refused; no run exists (terminal) */
    HEXRUN_STATE_UNKNOWN = 9,      /**< Hex reported a status hexrun does not know (live) */
    HEXRUN_STATE_LOST = 10,        /**< the run can no longer be seen (terminal) */
    HEXRUN_STATE_SUBMIT_UNKNOWN = 11 /**< RunProject may or may not have started a run (terminal) */
};

/**
 * hexrun_state_name - the name of a state ("RUNNING", "SUBMIT_FAILED", ...).
 * Returns a static string; "INVALID" for a number that is not a state. Since 1.0.
 */
HEXRUN_API const char *hexrun_state_name(int32_t state);

/**
 * hexrun_state_is_terminal - 1 if the state is final (the job will not change again),
 * 0 if it is live, -1 if the number is not a state. Since 1.0.
 */
HEXRUN_API int32_t hexrun_state_is_terminal(int32_t state);

/**
 * hexrun_free - release a string or buffer that hexrun returned as "yours".
 * Accepts NULL. Any thread. Since 1.0.
 */
HEXRUN_API void hexrun_free(void *ptr);

/* ---------------------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------------------- */

/** An opaque set of validated configuration values. */
typedef struct hexrun_config hexrun_config;

/** Log levels, most severe first. */
enum hexrun_log_level {
    HEXRUN_LOG_ERROR = 0, /**< a failure the host should see */
    HEXRUN_LOG_WARN = 1,  /**< something degraded or insecure (e.g. insecure_skip_verify) */
    HEXRUN_LOG_INFO = 2,  /**< one line per job event (submitted, state change, cancelled) */
    HEXRUN_LOG_DEBUG = 3  /**< one line per HTTP attempt and scheduling decision */
};

/**
 * A log sink. Called from any hexrun thread (often the engine thread) with one line of
 * key=value text, already redacted (never the token). The message is borrowed for the
 * duration of the call. hexrun never calls it while holding a client's lock, so a slow
 * callback delays only the thread that logs (the engine's lines wait in order), never
 * hexrun_poll or other threads' calls. The callback must not call back into hexrun with
 * the same client.
 */
typedef void (*hexrun_log_fn)(int32_t level, const char *message, void *user_data);

/**
 * hexrun_config_new - create a configuration with every key at its default.
 *
 * Environment fallbacks are read by hexrun_init, not here: HEX_API_TOKEN when neither
 * `token` nor `token_file` is set, HEX_API_BASE_URL when `base_url` is not set.
 * @out: receives the configuration (yours, free with hexrun_config_free).
 * Returns HEXRUN_OK or HEXRUN_E_NOMEM. Since 1.0.
 */
HEXRUN_API int hexrun_config_new(hexrun_config **out);

/**
 * hexrun_config_free - release a configuration. Accepts NULL. A client made from it
 * keeps its own copy. Since 1.0.
 */
HEXRUN_API void hexrun_config_free(hexrun_config *cfg);

/**
 * hexrun_config_set - set one key to a string value, validated at once.
 *
 * Keys (see docs/config.md for defaults and ranges):
 *   base_url, token, token_file, timeout_ms, connect_timeout_ms, max_retries,
 *   retry_base_ms, retry_max_ms, poll_min_ms, poll_max_ms, ca_file,
 *   insecure_skip_verify, proxy, user_agent, log_level, max_response_bytes,
 *   run_budget_per_min, run_budget_per_hour, api_budget_per_min, api_budget_per_hour,
 *   api_reserve_percent, budget_time_scale, cancel_on_free, coalesce, budget_path,
 *   journal_path, allow_cleartext, coord_url.
 * An unknown key or a bad value fails with HEXRUN_E_CONFIG and a hexrun_last_error()
 * message that names the key and what is allowed; the configuration is unchanged.
 * Not thread-safe for one cfg: one thread at a time may set keys. Since 1.0.
 */
HEXRUN_API int hexrun_config_set(hexrun_config *cfg, const char *key, const char *value);

/**
 * hexrun_config_get - the current value of a key as a string.
 * @out: receives the value (yours, free with hexrun_free). The token is returned as
 * "<redacted>" when set. Returns HEXRUN_OK, HEXRUN_E_CONFIG (unknown key) or
 * HEXRUN_E_NOMEM. Since 1.0.
 */
HEXRUN_API int hexrun_config_get(const hexrun_config *cfg, const char *key, char **out);

/**
 * hexrun_config_set_log - install a log sink for clients made from this configuration.
 * @fn: the callback, or NULL for the default (stderr, lines at or above log_level).
 * @user_data: passed back to fn untouched; must stay valid while any such client lives.
 * Returns HEXRUN_OK or HEXRUN_E_INVALID_ARG. Since 1.0.
 */
HEXRUN_API int hexrun_config_set_log(hexrun_config *cfg, hexrun_log_fn fn, void *user_data);

/* ---------------------------------------------------------------------------------------
 * Client
 * ------------------------------------------------------------------------------------- */

/** An opaque client: one token, one base URL, one engine thread, one job table. */
typedef struct hexrun_client hexrun_client;

/**
 * hexrun_init - create a client from a configuration.
 *
 * Checks the configuration (a token must be set, from a key or HEX_API_TOKEN) and starts
 * nothing heavy: the engine thread starts on first use.
 * @cfg: read and copied; the caller keeps ownership.
 * @out: receives the client (yours, release with hexrun_shutdown).
 * Returns HEXRUN_OK, HEXRUN_E_INVALID_ARG, HEXRUN_E_CONFIG, HEXRUN_E_IO (token_file)
 * or HEXRUN_E_NOMEM. Since 1.0.
 */
HEXRUN_API int hexrun_init(const hexrun_config *cfg, hexrun_client **out);

/** Flags of hexrun_shutdown. */
enum hexrun_shutdown_flags {
    HEXRUN_SHUTDOWN_DEFAULT = 0,     /**< follow the cancel_on_free key */
    HEXRUN_SHUTDOWN_CANCEL_LIVE = 1, /**< cancel live runs first (bounded by timeout_ms) */
    HEXRUN_SHUTDOWN_DETACH = 2       /**< leave live runs alone, even if cancel_on_free */
};

/**
 * hexrun_shutdown - stop the engine and free the client. Accepts NULL.
 *
 * Wakes every hexrun_wait* on the client with HEXRUN_E_SHUTDOWN, then stops the engine.
 * With HEXRUN_SHUTDOWN_CANCEL_LIVE (or cancel_on_free=true and no DETACH flag) it first
 * sends CancelRun for every live run and drops queued submits. Cancels already requested
 * with hexrun_cancel are waited for too (at most timeout_ms; not with DETACH), so a run the
 * host asked to stop does not keep running. A submit whose RunProject is in flight (or
 * whose answer was lost) is cancelled too: the shutdown waits for its answer, or finds its
 * run among the project's runs, and cancels it (at most 2 * timeout_ms). No call may use
 * the client after this one starts. In a forked child it frees nothing shared and returns
 * HEXRUN_E_FORKED. Returns HEXRUN_OK, the first cancel error, HEXRUN_E_OUTCOME_UNKNOWN (a
 * run that may exist was not found in time) or HEXRUN_E_TIMEOUT (a CancelRun got no answer
 * in time); hexrun_last_error() then names the job, its project and idempotency key.
 * Since 1.0.
 */
HEXRUN_API int hexrun_shutdown(hexrun_client *client, uint32_t flags);

/**
 * hexrun_plugin_info - describe the library as JSON for generic hosts:
 * {"name":"hexrun","version":"1.1.0","abi":{"major":1,"minor":1},
 *  "capabilities":["submit","poll","wait","cancel","attach",...],"config_keys":[...]}.
 * @out: yours, free with hexrun_free. Since 1.0.
 */
HEXRUN_API int hexrun_plugin_info(char **out);

/**
 * hexrun_stats - counters of a client as JSON: requests by endpoint and HTTP status,
 * retries, 429s, transport errors, bytes sent and received, the poll scheduler's groups
 * and sweep period, jobs by state.
 * @out: yours, free with hexrun_free. Since 1.0.
 */
HEXRUN_API int hexrun_stats(hexrun_client *client, char **out);

/* ---------------------------------------------------------------------------------------
 * Jobs: submit, attach, poll, wait, cancel
 * ------------------------------------------------------------------------------------- */

/**
 * hexrun_submit - queue a run of a project and return at once.
 *
 * The engine sends RunProject when the run budget allows (the job is QUEUED until then)
 * and never repeats a RunProject that may have reached Hex: when its answer is lost, it
 * lists the project's recent API runs and adopts the run that appeared since, if it can
 * tell which one that is; otherwise the job ends SUBMIT_UNKNOWN with what it found.
 * @project_id: the project's UUID.
 * @options_json: NULL or a JSON object with RunProject body keys (inputParams, dryRun,
 *   updatePublishedResults, useCachedSqlResults, viewId, notifications, updateCache),
 *   validated before anything is sent: unknown keys, wrong types, viewId or
 *   updatePublishedResults with inputParams give HEXRUN_E_INVALID_ARG.
 * @idempotency_key: NULL, or a key (<= 256 bytes) naming this logical submit. A second
 *   submit with a key this client (or its journal) already knows returns the same run's
 *   job instead of starting another run.
 * @out_job: receives the job id (release with hexrun_job_release when done).
 * Returns HEXRUN_OK, HEXRUN_E_INVALID_ARG, HEXRUN_E_FORKED, HEXRUN_E_SHUTDOWN or
 * HEXRUN_E_NOMEM. Failures of the request itself show in the job's state. Since 1.0.
 */
HEXRUN_API int hexrun_submit(hexrun_client *client, const char *project_id,
                             const char *options_json, const char *idempotency_key,
                             int64_t *out_job);

/**
 * hexrun_submit_or_adopt - hexrun_submit for a submit that an earlier process may already
 * have sent: it recorded (before sending) that it would send RunProject at since_unix_ms,
 * then died before it could record Hex's answer, so nobody knows whether a run exists.
 *
 * Instead of sending RunProject at once, the engine looks for that run as it does for a
 * RunProject of its own whose answer was lost: it lists the project's recent API runs and
 * adopts the one that started since since_unix_ms (30 s allowance for clock skew) that no
 * job of this client (nor its journal) accounts for. When no such run appears, and
 * 31 * poll_min_ms have passed since since_unix_ms (a run made then is listed by now), it
 * sends RunProject as hexrun_submit would. When more than one could be it, the job ends
 * SUBMIT_UNKNOWN with what was found, and nothing is sent. Meanwhile the job is SUBMITTING
 * and, like every submit, holds its project: no other RunProject of the project goes out.
 * The journal (journal_path) is not consulted for this job: the caller's own record of the
 * key and time plays its part.
 * @project_id, @options_json, @idempotency_key, @out_job: as for hexrun_submit (a key this
 *   client already knows returns that job, and nothing is looked up).
 * @since_unix_ms: wall-clock ms since the epoch at which the earlier RunProject was (or
 *   would have been) sent; > 0 and not in the future.
 * Returns HEXRUN_OK, HEXRUN_E_INVALID_ARG, HEXRUN_E_FORKED, HEXRUN_E_SHUTDOWN or
 * HEXRUN_E_NOMEM. Since 1.1 (symbol version HEXRUN_1.1).
 */
HEXRUN_API int hexrun_submit_or_adopt(hexrun_client *client, const char *project_id,
                                      const char *options_json, const char *idempotency_key,
                                      int64_t since_unix_ms, int64_t *out_job);

/**
 * hexrun_attach - track a run that was started elsewhere (another process, Hex's UI).
 * @project_id, @run_id: UUIDs. @out_job: receives the job id.
 * The run's status arrives with the engine's first poll; until then the job is PENDING.
 * Returns HEXRUN_OK, HEXRUN_E_INVALID_ARG, HEXRUN_E_FORKED, HEXRUN_E_SHUTDOWN or
 * HEXRUN_E_NOMEM. Since 1.0.
 */
HEXRUN_API int hexrun_attach(hexrun_client *client, const char *project_id,
                             const char *run_id, int64_t *out_job);

/**
 * hexrun_poll - the job's current state as the engine knows it.
 * Never blocks and never makes a request. @out_state receives a hexrun_state.
 * Returns HEXRUN_OK, HEXRUN_E_NO_SUCH_JOB or HEXRUN_E_FORKED. Since 1.0.
 */
HEXRUN_API int hexrun_poll(hexrun_client *client, int64_t job, int32_t *out_state);

/**
 * hexrun_wait - block until the job is terminal or timeout_ms has passed.
 * @timeout_ms: < 0 waits without limit; 0 checks once without blocking (a live job gives
 *   HEXRUN_E_TIMEOUT with its state filled in).
 * @out_state: receives the state when the call returns (NULL allowed).
 * Every job ends (or its run is LOST) within a bound that follows from the configured
 * timeouts and retries, whatever Hex answers, so a wait without limit returns. A job
 * released by another thread while this one waits gives HEXRUN_E_NO_SUCH_JOB at once.
 * Returns HEXRUN_OK when terminal, HEXRUN_E_TIMEOUT, HEXRUN_E_NO_SUCH_JOB,
 * HEXRUN_E_SHUTDOWN or HEXRUN_E_FORKED. Since 1.0.
 */
HEXRUN_API int hexrun_wait(hexrun_client *client, int64_t job, int64_t timeout_ms,
                           int32_t *out_state);

/**
 * hexrun_wait_any - block until any of n_jobs jobs is terminal or timeout_ms has passed.
 * @jobs: borrowed array of n_jobs ids (1 <= n_jobs <= 65536).
 * @out_job, @out_state: receive the first terminal job found and its state.
 * Returns as hexrun_wait; HEXRUN_E_NO_SUCH_JOB if any id is unknown. Since 1.0.
 */
HEXRUN_API int hexrun_wait_any(hexrun_client *client, const int64_t *jobs, uint32_t n_jobs,
                               int64_t timeout_ms, int64_t *out_job, int32_t *out_state);

/**
 * hexrun_cancel - cancel a job.
 * A QUEUED job is dropped (state KILLED, nothing sent). A live run gets CancelRun; once
 * Hex accepts it the job polls at once and reports what Hex reports: KILLED when Hex has
 * killed the run (it may do so later), or the state the run ended in if it ended first
 * (e.g. COMPLETED). Cancelling a terminal job gives HEXRUN_E_STATE.
 * Returns at once; use hexrun_wait to see the outcome. Since 1.0.
 */
HEXRUN_API int hexrun_cancel(hexrun_client *client, int64_t job);

/**
 * hexrun_job_info - details of a job as one JSON object:
 * {"job":1,"project_id":"...","run_id":"..."|null,"run_url":"..."|null,
 *  "state":"RUNNING","hex_status":"RUNNING"|null,"idempotency_key":...,"dry_run":false,
 *  "queue_position":0|null,"submitted_at":"ISO-8601","start_time":...,"end_time":...,
 *  "elapsed_ms":...,"attempts":1,"polls":3,
 *  "cancel":"requested"|"sent"|"accepted"|null,
 *  "waiting_for":"rate limit pause until 2026-11-30T05:00:00Z (...)"|null,
 *  "last_error":{"code":-12,"name":"...","message":"...","http_status":429,
 *                "trace_id":"..."}|null}
 * waiting_for says why a live job's next request waits (a rate-limit pause, the budget,
 * a retry's back-off); null when it does not wait.
 * @out: yours, free with hexrun_free. Returns HEXRUN_OK, HEXRUN_E_NO_SUCH_JOB,
 * HEXRUN_E_FORKED or HEXRUN_E_NOMEM. Since 1.0.
 */
HEXRUN_API int hexrun_job_info(hexrun_client *client, int64_t job, char **out);

/**
 * hexrun_job_release - forget a job (a live run is not cancelled; polling it stops).
 * The id becomes invalid. Returns HEXRUN_OK or HEXRUN_E_NO_SUCH_JOB. Since 1.0.
 */
HEXRUN_API int hexrun_job_release(hexrun_client *client, int64_t job);

/* ---------------------------------------------------------------------------------------
 * Direct calls: one blocking request each (or one per page), through the same budget,
 * retry and redaction paths as the engine. Results are Hex's JSON (yours, hexrun_free).
 * Each request blocks at most (max_retries + 1) * timeout_ms + max_retries * retry_max_ms:
 * when a Retry-After or the wait for budget would pass that, it fails at once with
 * HEXRUN_E_RATE_LIMITED, saying until when Hex asks to wait.
 * ------------------------------------------------------------------------------------- */

/** Flags of the list calls. */
enum hexrun_list_flags {
    HEXRUN_LIST_ONE_PAGE = 0,  /**< one page, as Hex returned it */
    HEXRUN_LIST_ALL_PAGES = 1  /**< follow the pages; values merged into one page */
};

/**
 * hexrun_runs_list - a project's runs, newest first (GetProjectRuns).
 * @status: NULL or one Hex status; @trigger: NULL, "API", "SCHEDULED", "APP_REFRESH" or
 * "ALL"; @limit: 0 for Hex's default (25) or 1..100; @offset: >= 0.
 * @out: {"runs":[...],"nextPage":...,"previousPage":...,"traceId":...}; with
 * HEXRUN_LIST_ALL_PAGES every page from offset on is merged into "runs": the next page is
 * asked with nextPage's offset, or its query as Hex gave it when it has no offset, or by
 * counting the runs read when it has neither. A next page that would be asked with the
 * query of an earlier one fails with HEXRUN_E_PROTOCOL (it would never end). Since 1.0.
 */
HEXRUN_API int hexrun_runs_list(hexrun_client *client, const char *project_id,
                                const char *status, const char *trigger, int32_t limit,
                                int32_t offset, uint32_t flags, char **out);

/**
 * hexrun_run_get - one run's status (GetRunStatus) as Hex's JSON. Since 1.0.
 */
HEXRUN_API int hexrun_run_get(hexrun_client *client, const char *project_id,
                              const char *run_id, char **out);

/*
 * Cursor lists. @query: NULL or a URL query string without '?' (e.g. "limit=50&sortBy=NAME"),
 * at most 2048 bytes, passed through after its keys are checked to be URL-safe. @out: {"values":[...],
 * "pagination":{"after":...,"before":...}}; with HEXRUN_LIST_ALL_PAGES every page is
 * merged into "values" and pagination is null/null: the pages start from the query's own
 * cursor (after=) if it has one, each next page replaces it with pagination.after, and a
 * cursor that comes back fails the call with HEXRUN_E_PROTOCOL (it would never end).
 */

/** List projects (ListProjects). Since 1.0. */
HEXRUN_API int hexrun_projects_list(hexrun_client *client, const char *query, uint32_t flags,
                                    char **out);
/** Get one project (GetProject). Since 1.0. */
HEXRUN_API int hexrun_project_get(hexrun_client *client, const char *project_id, char **out);
/** The token's own user (Me). Since 1.0. */
HEXRUN_API int hexrun_user_me(hexrun_client *client, char **out);
/** List users (ListUsers). Since 1.0. */
HEXRUN_API int hexrun_users_list(hexrun_client *client, const char *query, uint32_t flags,
                                 char **out);
/** Deactivate a user (DeactivateUser); @out may be NULL. Since 1.0. */
HEXRUN_API int hexrun_user_deactivate(hexrun_client *client, const char *user_id, char **out);
/** List groups (ListGroups). Since 1.0. */
HEXRUN_API int hexrun_groups_list(hexrun_client *client, const char *query, uint32_t flags,
                                  char **out);
/** Get one group (GetGroup). Since 1.0. */
HEXRUN_API int hexrun_group_get(hexrun_client *client, const char *group_id, char **out);
/** Create a group (CreateGroup) from a JSON body. Since 1.0. */
HEXRUN_API int hexrun_group_create(hexrun_client *client, const char *body_json, char **out);
/** Edit a group (EditGroup) with a JSON body. Since 1.0. */
HEXRUN_API int hexrun_group_edit(hexrun_client *client, const char *group_id,
                                 const char *body_json, char **out);
/** Delete a group (DeleteGroup). Since 1.0. */
HEXRUN_API int hexrun_group_delete(hexrun_client *client, const char *group_id);
/** List data connections (ListDataConnections). Since 1.0. */
HEXRUN_API int hexrun_connections_list(hexrun_client *client, const char *query,
                                       uint32_t flags, char **out);
/** Get one data connection (GetDataConnection). Since 1.0. */
HEXRUN_API int hexrun_connection_get(hexrun_client *client, const char *connection_id,
                                     char **out);
/** Create a data connection (CreateDataConnection) from a JSON body. Since 1.0. */
HEXRUN_API int hexrun_connection_create(hexrun_client *client, const char *body_json,
                                        char **out);
/** Edit a data connection (EditDataConnection) with a JSON body. Since 1.0. */
HEXRUN_API int hexrun_connection_edit(hexrun_client *client, const char *connection_id,
                                      const char *body_json, char **out);
/** List collections (ListCollections). Since 1.0. */
HEXRUN_API int hexrun_collections_list(hexrun_client *client, const char *query,
                                       uint32_t flags, char **out);
/** Get one collection (GetCollection). Since 1.0. */
HEXRUN_API int hexrun_collection_get(hexrun_client *client, const char *collection_id,
                                     char **out);

/**
 * hexrun_request - any other endpoint of the Hex API.
 * @method: "GET", "POST", "PATCH", "PUT" or "DELETE".
 * @path: starting with "/v1/" (relative to base_url + "/api"), query string allowed; at
 *   most 2048 bytes, no "." or ".." segments (also percent-encoded: they would be resolved
 *   away and leave the API), no spaces, control characters, '#' or '\' (else
 *   HEXRUN_E_INVALID_ARG). A RunProject sent this way is paid from the run budget.
 * @body_json: NULL or a JSON document sent as application/json.
 * @out_status: receives the HTTP status (NULL allowed).
 * @out: receives the response body (yours; "" for an empty body; NULL allowed).
 * Retries follow the method (GET, PUT and DELETE are retried; POST and PATCH only when
 * they certainly did not reach Hex). Returns HEXRUN_OK for any 2xx, else the error code
 * for the status, with the body still delivered in @out. Since 1.0.
 */
HEXRUN_API int hexrun_request(hexrun_client *client, const char *method, const char *path,
                              const char *body_json, int32_t *out_status, char **out);

#ifdef __cplusplus
}
#endif

#endif /* HEXRUN_H */
