/*
 * hexsim.h - shared types of hexsim, the local simulation of the Hex API.
 *
 * hexsim is an independent implementation of the API that libhexrun talks to; it shares no
 * code with the plugin, so that one can catch the other's mistakes. See docs/hexsim.md.
 *
 * All state lives in one `hs_world` guarded by one mutex: requests are short (no request
 * holds the lock while writing to the network), and run states are derived from
 * timestamps when read. The one timer thread (wake.c) only ends the holds of delay and
 * slow_body faults.
 */
#ifndef HEXSIM_H
#define HEXSIM_H

#include <json-c/json.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define HS_ID_LEN 37 /* a UUID and its NUL */

/* ---- the simulated clock (hexsim time runs `scale` times faster than real time) ---- */
int64_t hs_real_ms(void); /* wall clock, unix ms */
int64_t hs_sim_ms(void);  /* simulated wall clock, unix ms */
double hs_time_scale(void);
void hs_set_time_scale(double scale); /* keeps hexsim time continuous */
int64_t hs_sim_to_real_ms(int64_t sim_ms);
void hs_iso8601(int64_t unix_ms, char out[32]);

#define HS_MAX_DELAY_MS 600000 /* the longest fault delay (real ms): 10 minutes */

/* ---- responses ---- */
typedef struct hs_resp {
    int status;
    char *body; /* malloc'd JSON text, or NULL for an empty body */
    char retry_after[40];
    char content_type[40];
    int hold_ms; /* > 0: not answered yet, a delay fault holds it (hs_serve_api) */
} hs_resp;

void hs_resp_json(hs_resp *r, int status, json_object *doc); /* takes doc */
void hs_resp_text(hs_resp *r, int status, const char *text);
/* Error family of runs, groups, connections, collections: {reason, details?, traceId}. */
void hs_err_reason(hs_resp *r, int status, const char *reason, const char *details);
/* Error family of projects/{id} and users: {code, message, traceId}. */
void hs_err_code(hs_resp *r, int status, const char *message);
void hs_trace_id(char out[HS_ID_LEN]);

/* ---- requests ---- */
typedef struct hs_req {
    const char *method;
    const char *path;  /* without the query string */
    const char *token; /* bearer token or NULL */
    const char *body;
    size_t body_len;
    const char *host_url; /* "http://127.0.0.1:PORT" for absolute URLs */
    /* A decoded query parameter or NULL (server.c wires in libmicrohttpd). */
    const char *(*arg)(void *ctx, const char *name);
    /* Every value of a repeatable (array) parameter, up to max; NULL = only arg's one. */
    int (*arg_all)(void *ctx, const char *name, const char **out, int max);
    void *arg_ctx;
    const char *repeated_arg; /* a query key given twice (arrays excepted), or NULL */
    const char *content_type; /* the request's Content-Type header, or NULL */
    const char *segs[8];      /* path split on '/' (segs[0] == "v1" for the API) */
    int nsegs;
    int code_family;  /* errors of this operation use {code, message} */
    int declares_422; /* the operation's spec lists 422 (variant: unknown objects) */
    int is_api;       /* a Hex API request (not /__sim/): bodies need a JSON type */
    int delay_done;   /* the delay fault hs_serve_api held it for is over (see there) */
} hs_req;

/* A 4xx in the error family of the request's operation. */
void hs_err_for(const hs_req *q, hs_resp *r, int status, const char *message);
const char *hs_query(const hs_req *q, const char *name);
/* Every value of an array query parameter (repeated key, or comma-separated): n. */
int hs_query_all(const hs_req *q, const char *name, const char **out, int max);
/* Parses the JSON body; NULL body gives an empty object. On failure answers 400. Like Hex
 * (a JSON body parser), an API request's body is read only with a JSON Content-Type: any
 * other body counts as absent. */
json_object *hs_body_json(const hs_req *q, hs_resp *r);
/* Integer query parameter in [lo, hi] (def when absent); answers 400 when out of range. */
int hs_query_int(const hs_req *q, hs_resp *r, const char *name, long lo, long hi, long def,
                 long *out);
/* 1 when s is a UUID (8-4-4-4-12 hex digits), as every id of the spec is. */
int hs_is_uuid(const char *s);
/* Splits path in place on '/' into at most max segments; -1 when there are more. */
int hs_split_path(char *path, const char **segs, int max);

/* ---- the world ---- */
typedef struct hs_dist {
    int64_t min_ms, max_ms; /* uniform, in hexsim time */
} hs_dist;

typedef struct hs_project {
    char id[HS_ID_LEN];
    json_object *doc; /* ProjectApiResource */
    int published;
    int version;
    json_object *inputs;      /* array of input names */
    json_object *collections; /* ids of the collections the project is in (ListProjects) */
    hs_dist pending, running;
    double p_completed, p_errored, p_kernel;
    size_t *runs; /* indices into world.runs, oldest first */
    size_t nruns, caprun;
    uint64_t created_count; /* RunProject calls that created a run */
} hs_project;

typedef enum {
    RUN_PENDING,
    RUN_RUNNING,
    RUN_COMPLETED,
    RUN_ERRORED,
    RUN_KILLED,
    RUN_KERNEL
} hs_status;

typedef struct hs_run {
    char id[HS_ID_LEN];
    uint32_t project;     /* index into world.projects */
    uint8_t outcome;      /* terminal status when not killed */
    uint8_t trigger;      /* 0 API, 1 SCHEDULED, 2 APP_REFRESH */
    int64_t created_sim;  /* hexsim ms */
    int64_t created_real; /* unix ms */
    int32_t pending_ms, running_ms;
    int64_t killed_sim; /* -1 unless cancelled; may lie ahead (asynchronous cancel) */
} hs_run;

typedef struct hs_token {
    char *token;
    int all_projects;
    json_object *projects; /* array of project ids when !all_projects */
    char user_id[HS_ID_LEN];
    int revoked;
    /* rate-limit windows: [0] run bucket, [1] default bucket */
    int64_t min_window[2], hour_window[2];
    int min_count[2], hour_count[2];
} hs_token;

typedef struct hs_fault {
    char endpoint[48];
    char kind[16];
    int status;
    char retry_after[40];
    int delay_ms;
    long bytes;
    int count; /* remaining; -1 = unlimited (probability) */
    double probability;
} hs_fault;

typedef struct hs_counter {
    char endpoint[48];
    int status;
    uint64_t n;
} hs_counter;

/* API requests read and not yet fully answered, by operation (a static name). */
typedef struct hs_in_flight {
    const char *endpoint;
    int64_t n;
} hs_in_flight;

typedef struct hs_limits {
    int enabled;
    int run_per_min, run_per_hour, api_per_min, api_per_hour;
} hs_limits;

/* 5xx after the work was done: every `every`-th request that did its work answers status. */
typedef struct hs_after_work {
    int status; /* 0 = off */
    int every;
} hs_after_work;

#define HS_UNKNOWN_AS_SPEC (-1) /* 422 where the operation declares it, else 400 */

/* The variant profile's switches (variant.c); all zero = the default profile. */
typedef struct hs_variant {
    int unknown_object_status;  /* 0 = 404, 400, 422 or HS_UNKNOWN_AS_SPEC */
    hs_after_work run_after;    /* RunProject creates the run, then answers 5xx */
    hs_after_work cancel_after; /* CancelRun cancels, then answers 5xx */
    int odd_fields;             /* 70-char traceId, negative elapsedTime, projectVersion 3.0 */
    int extra_fields;           /* keys the spec does not list (a later Hex may add them) */
    int opaque_next_page;       /* nextPage/previousPage carry a cursor, not offset= */
    int async_cancel_ms;        /* hexsim ms between CancelRun's 204 and KILLED */
    int cancel_race_every;      /* every N-th accepted cancel: the run ends COMPLETED */
    char unknown_status[32];    /* "" = off; a live run reports this instead of PENDING */
    int retry_after_date;       /* Retry-After as an HTTP date instead of seconds */
    uint64_t run_after_n, cancel_after_n, cancel_n; /* request counters for `every` */
} hs_variant;

typedef struct hs_world {
    pthread_mutex_t mu;
    json_object *scenario; /* as loaded, for reset */
    hs_project *projects;
    size_t nprojects;
    hs_run *runs;
    size_t nruns, capruns;
    hs_token *tokens;
    size_t ntokens;
    json_object *users, *groups, *connections, *collections; /* arrays of resources */
    char org_id[HS_ID_LEN];
    hs_fault faults[64];
    size_t nfaults;
    hs_counter counters[256];
    size_t ncounters;
    uint64_t total_requests;
    /* Live connections, not world state: a reset or a new scenario leaves them alone. */
    hs_in_flight in_flight[64];
    size_t nin_flight;
    hs_limits limits;
    int max_concurrent_runs; /* 0 = no cap */
    uint64_t rng;
    uint64_t seed;
    /* Worlds built since start: each draws its ids from a stream of its own, so a reset
     * never gives a run id again (Hex never reuses one; a journal kept across resets
     * would take a new run for an old key's). */
    uint64_t worlds;
    size_t max_body;
    char profile[32]; /* --profile; the scenario's "profile" overrides it */
    hs_variant variant;
} hs_world;

extern hs_world hs_w;

int hs_world_load(json_object *scenario, char *err, size_t errlen); /* takes scenario */
void hs_world_reset(void);
/* Fills p from a scenario project entry (id, title, published, inputs, timeline, ...). */
int hs_project_from_json(hs_project *p, json_object *src, char *err, size_t errlen);
uint64_t hs_rand(void); /* under hs_w.mu */
double hs_rand01(void); /* under hs_w.mu */
void hs_new_id(char out[HS_ID_LEN]);
hs_token *hs_find_token(const char *token);
hs_project *hs_find_project(const char *id);
int hs_token_sees(const hs_token *t, const hs_project *p);
void hs_count(const char *endpoint, int status);
/* Adds delta to the requests of endpoint (a static string) in flight. Under hs_w.mu. */
void hs_in_flight_add(const char *endpoint, int delta);

/* Rate limit check for a token; 0 when allowed (and counted), else fills a 429. */
int hs_rate_check(hs_token *t, int run_bucket, hs_resp *r);

/* Handlers of the Hex API (runs.c, admin.c): called with the token already checked and
 * the request counted against its rate limit; wildcard path segments are in q->segs. */
typedef void (*hs_handler)(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_run_project(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_run_status(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_project_runs(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_cancel_run(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_list_projects(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_get_project(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_create_project(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_me(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_list_users(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_deactivate_user(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_list_groups(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_get_group(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_create_group(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_edit_group(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_delete_group(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_list_connections(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_get_connection(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_create_connection(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_edit_connection(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_list_collections(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_get_collection(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_create_collection(hs_req *q, hs_resp *r, hs_token *t);
void hs_h_edit_collection(hs_req *q, hs_resp *r, hs_token *t);

/* The variant profile (variant.c). hs_variant_profile resets v to a named preset
 * (default, spec-variant); hs_variant_apply merges a JSON object of switches (and an
 * optional "profile" applied first) into v, all or nothing. */
int hs_variant_profile(hs_variant *v, const char *name, char *err, size_t errlen);
int hs_variant_apply(hs_variant *v, json_object *src, char *err, size_t errlen);
json_object *hs_variant_json(const hs_variant *v);
/* The status for an unknown object of q's operation: 404, or the variant's. */
int hs_unknown_object_status(const hs_req *q);
/* Counts one done request in *n; 1 when this one must answer w->status. Under hs_w.mu. */
int hs_after_work_due(hs_after_work *w, uint64_t *n);

/* The control API (control.c); returns 1 when the path was under /__sim/. */
int hs_control_route(hs_req *q, hs_resp *r);

/* Run helpers shared by the control API. */
hs_run *hs_run_create(hs_project *p, int trigger);
hs_status hs_run_status(const hs_run *run, int64_t now_sim);
const char *hs_status_name(hs_status s);
json_object *hs_run_json(const hs_run *run, const char *host_url, int64_t now_sim);
json_object *hs_run_transitions(const hs_run *run, int64_t now_sim);

/* Fault selection for one request to `endpoint`; copies the chosen fault into out. */
int hs_fault_pick(const char *endpoint, hs_fault *out);
int hs_faults_add(json_object *list, char *err, size_t errlen);

/* Routes one API request (segs already split) through the fault, auth and rate-limit gates
 * to its handler (request.c); returns the operation name for the counters. A picked fault
 * is left in *fault for the response side. A delay fault answers nothing: r->hold_ms is
 * set, and the caller calls again hold_ms real ms later with q->delay_done = 1 and the same
 * *fault (no other fault is picked then), which serves the request as it stands then. */
const char *hs_serve_api(hs_req *q, hs_resp *r, hs_fault *fault);

#endif
