/* engine.c - the engine thread: scheduler, budgets, retries; see engine.h. */
#include "engine.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adopt.h"
#include "budget.h"
#include "coord.h"
#include "buf.h"
#include "http.h"
#include "journal.h"

/* The engine never sleeps longer than this, so a lost wakeup costs little. */
#define MAX_SLEEP_MS 1000
/* Connections the poll lane leaves free, so that a cancel or a direct call never queues
 * in the transport behind polls. */
#define INTERACTIVE_CONNECTIONS 4
#define POLLS_IN_FLIGHT_MAX (HEXRUN__HTTP_MAX_CONNECTIONS - INTERACTIVE_CONNECTIONS)
#define MAX_STATS 64

/* OP_PROJECT_POLL: one GetProjectRuns answering the due polls of several runs of one
 * project (Hex's limits make one request per run too dear). OP_ADOPT: one GetProjectRuns
 * looking for the run of a RunProject whose answer was lost (adopt.h). */
typedef enum { OP_SUBMIT, OP_POLL, OP_CANCEL, OP_DIRECT, OP_PROJECT_POLL, OP_ADOPT } op_kind;

/* Lookups for an unanswered RunProject's run before it ends SUBMIT_UNKNOWN. The first goes
 * at once (the project waits for it: one RunProject of a project at a time, and most lost
 * answers are of runs Hex has made already), the second after poll_min_ms and each later
 * one twice as long as the one before, so a run Hex was still creating gets time to show
 * (31 poll_min_ms in all). */
#define ADOPT_LOOKUPS 6
/* API runs of a project listed per lookup. */
#define ADOPT_QUERY "limit=100&runTriggerFilter=API"
/* Most unanswered submits of one project resolved together. */
#define ADOPT_MAX 64

/* A run whose GetRunStatus answers are unusable (unreadable, or about another run) this
 * many times in a row, and more than max_retries times, is LOST: asking again does not
 * help, and the job must end. */
#define POLL_BAD_ANSWERS_MIN 3

/* Runs of a project per GetProjectRuns page (Hex's maximum), and the pages one coalesced
 * poll reads (while at least two of its runs are still missing, a page is cheaper than
 * their GetRunStatus) before the rest fall back to GetRunStatus each. */
#define PROJECT_POLL_LIMIT 100
#define PROJECT_POLL_PAGES 20

typedef struct op {
    op_kind kind;
    int64_t job;
    hexrun__direct *direct;
    int attempt;            /* attempts made for the current request */
    int64_t due_ms;
    int64_t sent_ms;        /* OP_POLL, OP_PROJECT_POLL: when the last answer was asked */
    int solo;               /* OP_POLL: always alone (the run was not on the project's page) */
    int urgent;             /* OP_POLL: asked for by a cancel's answer: goes alone, in the
                               interactive lane */
    int bad_answers;        /* OP_POLL: unusable GetRunStatus answers in a row */
    struct op *group;       /* OP_PROJECT_POLL: the poll ops it answers */
    char project_id[HEXRUN__HEX_ID_MAX]; /* OP_PROJECT_POLL, OP_POLL (the job's) */
    int64_t page_offset;    /* OP_PROJECT_POLL: the page being read */
    int pages;              /* OP_PROJECT_POLL: pages read before this one */
    int failed_lookups;     /* OP_ADOPT: lookups whose answer could not be used */
    int board_misses;       /* OP_POLL: board reads in a row that lacked its run (coord.h) */
    const char *method;
    char *path;
    char *body;             /* OP_SUBMIT: the RunProject body */
    int64_t sent_unix_ms;   /* OP_SUBMIT: when the last attempt went out (wall clock) */
    int64_t deadline_ms;    /* OP_DIRECT: when its caller stops waiting (0 = never) */
    int64_t skipped_retry_ms; /* OP_DIRECT: a retry not made: its wait passes deadline_ms */
    hexrun__engine *engine;
    struct op *next;
} op;

/* A journal record waiting to be written by the engine thread outside the table mutex
 * (an fsync must not stall hexrun_poll). */
typedef struct journal_note {
    char type;                 /* 'R', 'F' or 'U' (journal.h) */
    char *key;
    char project_id[HEXRUN__HEX_ID_MAX];
    char run_id[HEXRUN__HEX_ID_MAX];
    int64_t t_ms;
    struct journal_note *next;
} journal_note;

/* Projects with a RunProject in flight (see submit_must_wait). */
typedef struct busy_projects {
    char (*ids)[HEXRUN__HEX_ID_MAX];
    size_t n, cap;
    int complete;           /* 0 after NOMEM: ask the jobs table instead */
} busy_projects;

/* A project with polls in the poll lane, so that the sweep period knows how many poll
 * requests a round takes (engine thread only). */
typedef struct poll_group {
    char project_id[HEXRUN__HEX_ID_MAX];
    int64_t polls;          /* its OP_POLL ops not polled alone */
    int pages;              /* pages its last coalesced poll read; 0 before the first */
} poll_group;

typedef struct stat_row {
    const char *endpoint;
    int status;
    uint64_t count;
} stat_row;

struct hexrun__engine {
    const hexrun_config *cfg;
    hexrun__jobs *jobs;
    hexrun__log *log;
    hexrun__http *http;
    pthread_t thread;
    int started;
    int stopping;           /* under jobs->mu */
    int64_t drain_deadline_ms; /* under jobs->mu, set with stopping */
    int cancel_error;       /* first cancel failure while draining */
    op *incoming;           /* queued by host threads, under jobs->mu */
    /* Two lanes, each sorted by due time (engine thread only): `pending` holds the
     * interactive lane (cancels, adopt look-ups, direct calls) and submits, `polls` the
     * poll lane, which runs only after the interactive lane and within its budget share. */
    op *pending;
    op *polls;
    int polls_in_flight;
    hexrun__budget budget[2];  /* HEXRUN__BUDGET_RUN, HEXRUN__BUDGET_API */
    /* The store (coord.h) of budget_path / journal_path / coord_url: its budget is used
     * instead of budget[] when it has one. NULL = none. Engine thread only. */
    hexrun__coord *coord;
    journal_note *notes;       /* under jobs->mu */
    /* Runs this client's sweeps saw, for the store's status board (coord.h); put outside
     * the table mutex. Under jobs->mu. */
    hexrun__hex_run *board_out;
    size_t n_board_out, cap_board_out;
    /* Projects whose pages a coalesced poll is reading now (engine thread): one reader per
     * project, or two would read the first pages twice while the last wait for budget. */
    char (*reading)[HEXRUN__HEX_ID_MAX];
    size_t n_reading, cap_reading;
    busy_projects busy;     /* run_due_ops' scratch (engine thread) */
    /* The poll groups (engine thread): projects with polls, and the polls made alone. */
    poll_group *groups;
    size_t n_groups, cap_groups;
    int64_t poll_ops, solo_polls;
    uint64_t rng;
    /* The wait of each budget group in this round of run_due_ops (engine thread). */
    int64_t blocked_until[2], blocked_paused[2];
    /* counters, under jobs->mu */
    stat_row stats[MAX_STATS];
    size_t n_stats;
    uint64_t retries, rate_limited, transport_errors, bytes_sent, bytes_received;
    int64_t stat_poll_groups, stat_sweep_ms; /* the last sweep period and its groups */
    int64_t board_reads;    /* project polls answered from the status board (coord.h) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wall-clock ms: compared with the start times Hex reports. */
static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hexrun__engine_new(const hexrun_config *cfg, hexrun__jobs *jobs, hexrun__log *log,
                       hexrun__engine **out, char *err, size_t errlen)
{
    hexrun__engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    hexrun__http_opts opts = {
        .base_url = cfg->base_url, .token = cfg->token, .timeout_ms = cfg->timeout_ms,
        .connect_timeout_ms = cfg->connect_timeout_ms, .ca_file = cfg->ca_file,
        .insecure_skip_verify = (int)cfg->insecure_skip_verify, .proxy = cfg->proxy,
        .user_agent = cfg->user_agent, .max_response_bytes = cfg->max_response_bytes};
    int rc = hexrun__http_new(&opts, log, &e->http);
    if (rc != HEXRUN_OK) {
        snprintf(err, errlen, "cannot set up the HTTP transport for base_url: %s",
                 hexrun_strerror(rc));
        free(e);
        return rc;
    }
    e->cfg = cfg;
    e->jobs = jobs;
    e->log = log;
    int64_t now = now_ms();
    /* Submits and the interactive lane may burst; polls are paced (budget.h). */
    hexrun__budget_init(&e->budget[HEXRUN__BUDGET_RUN], cfg->run_budget_per_min,
                        cfg->run_budget_per_hour, cfg->budget_time_scale, 0, now);
    hexrun__budget_init(&e->budget[HEXRUN__BUDGET_API], cfg->api_budget_per_min,
                        cfg->api_budget_per_hour, cfg->budget_time_scale,
                        cfg->api_reserve_percent, now);
    if ((rc = hexrun__coord_open(cfg, now, log, &e->coord, err, errlen)) != HEXRUN_OK) {
        hexrun__http_free(e->http);
        free(e);
        return rc;
    }
    e->rng = (uint64_t)now ^ (uint64_t)(uintptr_t)e;
    *out = e;
    return HEXRUN_OK;
}

/* ---- queueing (host threads, table mutex held) ---- */

static int queue_op(hexrun__engine *e, op_kind kind, int64_t job, hexrun__direct *d)
{
    op *o = calloc(1, sizeof *o);
    if (!o)
        return HEXRUN_E_NOMEM;
    o->kind = kind;
    o->job = job;
    o->direct = d;
    o->engine = e;
    o->next = e->incoming;
    e->incoming = o;
    return HEXRUN_OK;
}

int hexrun__engine_queue_submit(hexrun__engine *e, int64_t job)
{
    return queue_op(e, OP_SUBMIT, job, NULL);
}

int hexrun__engine_queue_poll(hexrun__engine *e, int64_t job)
{
    return queue_op(e, OP_POLL, job, NULL);
}

int hexrun__engine_queue_cancel(hexrun__engine *e, int64_t job)
{
    return queue_op(e, OP_CANCEL, job, NULL);
}

/* A direct call blocks its caller at most this long: every attempt timing out and every
 * retry waiting its longest. A wait for budget or a Retry-After that would pass it fails
 * the call at once, saying until when (0: no deadline, as timeout_ms is 0). */
static int64_t direct_deadline_span(const hexrun_config *cfg)
{
    if (cfg->timeout_ms <= 0)
        return 0;
    return (cfg->max_retries + 1) * cfg->timeout_ms + cfg->max_retries * cfg->retry_max_ms;
}

int hexrun__engine_queue_direct(hexrun__engine *e, hexrun__direct *d)
{
    int rc = queue_op(e, OP_DIRECT, 0, d);
    int64_t span = direct_deadline_span(e->cfg);
    if (rc == HEXRUN_OK && span > 0)
        e->incoming->deadline_ms = now_ms() + span; /* queue_op put it first */
    return rc;
}

/* ---- stats (table mutex held) ---- */

/* A job op's endpoint in hex.h's catalogue; NULL for a direct call (it names its own). */
static const hexrun__hex_endpoint *op_hex_endpoint(const op *o)
{
    switch (o->kind) {
    case OP_SUBMIT:
        return hexrun__hex_endpoint_of(HEXRUN__EP_RUN_PROJECT);
    case OP_POLL:
        return hexrun__hex_endpoint_of(HEXRUN__EP_GET_RUN_STATUS);
    case OP_CANCEL:
        return hexrun__hex_endpoint_of(HEXRUN__EP_CANCEL_RUN);
    case OP_PROJECT_POLL:
    case OP_ADOPT:
        return hexrun__hex_endpoint_of(HEXRUN__EP_GET_PROJECT_RUNS);
    case OP_DIRECT:
        break;
    }
    return NULL;
}

static const char *op_endpoint(const op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    return ep ? ep->operation : o->direct->endpoint;
}

static void stats_count(hexrun__engine *e, const op *o, const hexrun__http_resp *r)
{
    const char *ep = op_endpoint(o);
    e->bytes_sent += r->bytes_sent;
    e->bytes_received += r->bytes_received;
    if (r->status == 429)
        e->rate_limited++;
    if (r->error != HEXRUN_OK)
        e->transport_errors++;
    for (size_t i = 0; i < e->n_stats; i++) {
        if (e->stats[i].status == r->status && strcmp(e->stats[i].endpoint, ep) == 0) {
            e->stats[i].count++;
            return;
        }
    }
    if (e->n_stats < MAX_STATS)
        e->stats[e->n_stats++] = (stat_row){ep, r->status, 1};
}

static void stats_endpoints(const hexrun__engine *e, hexrun__buf *b)
{
    hexrun__buf_appends(b, "\"requests\":{");
    int first_ep = 1;
    for (size_t i = 0; i < e->n_stats; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(e->stats[j].endpoint, e->stats[i].endpoint) == 0;
        if (seen)
            continue;
        hexrun__buf_appends(b, first_ep ? "" : ",");
        first_ep = 0;
        hexrun__buf_append_json_str(b, e->stats[i].endpoint);
        hexrun__buf_appends(b, ":{");
        int first = 1;
        for (size_t j = i; j < e->n_stats; j++) {
            if (strcmp(e->stats[j].endpoint, e->stats[i].endpoint) != 0)
                continue;
            /* Status 0: the attempt ended without an HTTP answer. */
            hexrun__buf_appendf(b, "%s\"%d\":%llu", first ? "" : ",", e->stats[j].status,
                                (unsigned long long)e->stats[j].count);
            first = 0;
        }
        hexrun__buf_appends(b, "}");
    }
    hexrun__buf_appends(b, "}");
}

char *hexrun__engine_stats_json(const hexrun__engine *e)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appends(&b, "{");
    stats_endpoints(e, &b);
    hexrun__buf_appendf(&b,
                        ",\"retries\":%llu,\"rate_limited\":%llu,\"transport_errors\":%llu,"
                        "\"bytes_sent\":%llu,\"bytes_received\":%llu,\"poll_groups\":%lld,"
                        "\"sweep_period_ms\":%lld,\"board_reads\":%lld,\"jobs\":{",
                        (unsigned long long)e->retries, (unsigned long long)e->rate_limited,
                        (unsigned long long)e->transport_errors,
                        (unsigned long long)e->bytes_sent,
                        (unsigned long long)e->bytes_received, (long long)e->stat_poll_groups,
                        (long long)e->stat_sweep_ms, (long long)e->board_reads);
    for (int32_t s = 0; hexrun_state_is_terminal(s) >= 0; s++) {
        size_t n = 0;
        for (size_t i = 0; i < e->jobs->n; i++)
            n += e->jobs->items[i]->state == s;
        hexrun__buf_appendf(&b, "%s\"%s\":%zu", s ? "," : "", hexrun_state_name(s), n);
    }
    hexrun__buf_appends(&b, "}}");
    return hexrun__buf_steal(&b);
}

/* ---- starting attempts (engine thread) ---- */

static int reading_find(const hexrun__engine *e, const char *project)
{
    for (size_t i = 0; i < e->n_reading; i++)
        if (strcmp(e->reading[i], project) == 0)
            return (int)i;
    return -1;
}

static void reading_add(hexrun__engine *e, const char *project)
{
    if (e->n_reading == e->cap_reading) {
        size_t cap = e->cap_reading ? 2 * e->cap_reading : 8;
        void *grown = realloc(e->reading, cap * sizeof *e->reading);
        if (!grown)
            return; /* only costs a second reader */
        e->reading = grown;
        e->cap_reading = cap;
    }
    snprintf(e->reading[e->n_reading++], HEXRUN__HEX_ID_MAX, "%s", project);
}

static void reading_remove(hexrun__engine *e, const char *project)
{
    int i = reading_find(e, project);
    if (i >= 0)
        memcpy(e->reading[i], e->reading[--e->n_reading], HEXRUN__HEX_ID_MAX);
}

/* ---- poll groups and the sweep period (engine thread) ---- */

static poll_group *group_find(hexrun__engine *e, const char *project)
{
    for (size_t i = 0; i < e->n_groups; i++)
        if (strcmp(e->groups[i].project_id, project) == 0)
            return &e->groups[i];
    return NULL;
}

static poll_group *group_get(hexrun__engine *e, const char *project)
{
    poll_group *g = group_find(e, project);
    if (g)
        return g;
    if (e->n_groups == e->cap_groups) {
        size_t cap = e->cap_groups ? 2 * e->cap_groups : 8;
        void *grown = realloc(e->groups, cap * sizeof *e->groups);
        if (!grown)
            return NULL; /* only the sweep period undercounts this project */
        e->groups = grown;
        e->cap_groups = cap;
    }
    g = &e->groups[e->n_groups++];
    memset(g, 0, sizeof *g);
    snprintf(g->project_id, sizeof g->project_id, "%s", project);
    return g;
}

/* Count a poll op in (delta 1) or out (-1) of its group. */
static void poll_track(hexrun__engine *e, const op *o, int delta)
{
    e->poll_ops += delta;
    if (o->solo) {
        e->solo_polls += delta;
        return;
    }
    poll_group *g = delta > 0 ? group_get(e, o->project_id) : group_find(e, o->project_id);
    if (g && (g->polls += delta) <= 0)
        *g = e->groups[--e->n_groups];
}

/* A new OP_POLL: note its job's project and count it (table mutex held). */
static void poll_track_new(hexrun__engine *e, op *o)
{
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    snprintf(o->project_id, sizeof o->project_id, "%s", job ? job->project_id : "");
    poll_track(e, o, 1);
}

/* From now on this poll goes alone (its run was not on the pages read). */
static void poll_set_solo(hexrun__engine *e, op *o)
{
    poll_track(e, o, -1);
    o->solo = 1;
    poll_track(e, o, 1);
}

/* The poll requests one round over every live run takes: a page per 100 runs of each
 * project (or what its last coalesced poll read), one per run polled alone. */
static int64_t poll_groups(const hexrun__engine *e)
{
    if (!e->cfg->coalesce)
        return e->poll_ops;
    int64_t n = e->solo_polls;
    for (size_t i = 0; i < e->n_groups; i++) {
        const poll_group *g = &e->groups[i];
        n += g->pages > 0 ? g->pages : (g->polls + PROJECT_POLL_LIMIT - 1) / PROJECT_POLL_LIMIT;
    }
    return n;
}

/* How often each run is polled: as often as the poll share of the api budget allows a
 * round over every group, never more often than poll_min_ms nor less than poll_max_ms. */
static int64_t sweep_period_ms(const hexrun__engine *e)
{
    int64_t t = poll_groups(e) * hexrun__budget_poll_interval_ms(&e->budget[HEXRUN__BUDGET_API]);
    return t < e->cfg->poll_min_ms ? e->cfg->poll_min_ms
           : t > e->cfg->poll_max_ms ? e->cfg->poll_max_ms
                                      : t;
}

static void op_free(op *o)
{
    if (!o)
        return;
    if (o->kind == OP_PROJECT_POLL)
        reading_remove(o->engine, o->project_id);
    if (o->kind == OP_POLL)
        poll_track(o->engine, o, -1);
    for (op *g = o->group, *next; g; g = next) {
        next = g->next;
        op_free(g);
    }
    free(o->path);
    free(o->body);
    free(o);
}

/* The endpoint's path for a job: its project, and its run where the path has one. */
static char *run_path(const hexrun__job *job, const hexrun__hex_endpoint *ep)
{
    char pid[3 * HEXRUN__HEX_ID_MAX], rid[3 * HEXRUN__HEX_ID_MAX];
    if (hexrun__http_escape(job->project_id, pid, sizeof pid) < 0 ||
        hexrun__http_escape(job->run_id, rid, sizeof rid) < 0)
        return NULL;
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appendf(&b, ep->path, pid, rid); /* a path with one id ignores rid */
    return hexrun__buf_steal(&b);
}

/* Fill method/path/body of a job op from the job. Returns 1 to send, 0 to drop the op
 * (job released, finished, or its request is no longer wanted), -1 on NOMEM. */
static int op_prepare_job(hexrun__engine *e, op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    if (o->kind == OP_PROJECT_POLL) {
        char pid[3 * HEXRUN__HEX_ID_MAX];
        hexrun__buf b = HEXRUN__BUF_INIT;
        if (hexrun__http_escape(o->project_id, pid, sizeof pid) < 0)
            return 0;
        hexrun__buf_appendf(&b, ep->path, pid);
        free(o->path);
        o->method = ep->method;
        return (o->path = hexrun__buf_steal(&b)) ? 1 : -1;
    }
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job || hexrun_state_is_terminal(job->state) == 1)
        return 0;
    free(o->path);
    o->path = NULL;
    job->waiting_for[0] = '\0'; /* its request goes out now */
    job->waiting_until_ms = 0;
    switch (o->kind) {
    case OP_SUBMIT:
        if (job->state != HEXRUN_STATE_QUEUED && job->state != HEXRUN_STATE_SUBMITTING)
            return 0;
        /* A retry is only scheduled when no run was made, so a cancel can end it here. */
        if (job->cancel_requested) {
            hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED);
            return 0;
        }
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMITTING);
        o->method = ep->method;
        if (!o->body && !(o->body = strdup(job->run_body ? job->run_body : "{}")))
            return -1;
        o->path = run_path(job, ep);
        o->sent_unix_ms = unix_ms();
        break;
    case OP_ADOPT:
        if (!job->adopt_since_ms)
            return 0; /* a lookup for another job of the project settled this one */
        o->method = ep->method;
        o->path = run_path(job, ep);
        job->adopt_lookups++;
        break;
    case OP_POLL:
    case OP_CANCEL:
        o->method = ep->method;
        o->path = run_path(job, ep);
        break;
    case OP_DIRECT:
    case OP_PROJECT_POLL:
        return 0;
    }
    job->attempts = o->attempt + 1;
    return o->path ? 1 : -1;
}

static void on_done(const hexrun__http_resp *resp, void *ud);
static int project_poll_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code);
static void reschedule(hexrun__engine *e, op *o, int64_t delay_ms);
static int journal_step(hexrun__engine *e, op *o);
static int adopt_first(hexrun__engine *e, op *o);
static void journal_note_add(hexrun__engine *e, char type, const hexrun__job *job,
                             int64_t t_ms);
static void journal_flush(hexrun__engine *e);
static void job_out_of_memory(hexrun__engine *e, op_kind kind, int64_t id);
static int board_serve(hexrun__engine *e, op *o, int64_t now);
static void board_queue(hexrun__engine *e, const hexrun__hex_run *runs, size_t n);
static void board_flush(hexrun__engine *e);

static void direct_finish(hexrun__engine *e, op *o, int code, const char *message)
{
    hexrun__direct *d = o->direct;
    d->code = code;
    d->attempts = o->attempt;
    snprintf(d->message, sizeof d->message, "%s", message);
    d->done = 1;
    pthread_cond_broadcast(&e->jobs->cv);
}

/* Returns 1 when the op went out, 0 when it was dropped or finished. */
static int op_start(hexrun__engine *e, op *o)
{
    pthread_mutex_lock(&e->jobs->mu);
    int ready = o->kind == OP_DIRECT ? 1 : op_prepare_job(e, o);
    if (ready < 0 && o->kind == OP_DIRECT)
        direct_finish(e, o, HEXRUN_E_NOMEM, "out of memory");
    if (ready <= 0 && o->kind == OP_PROJECT_POLL)
        project_poll_result(e, o, NULL, HEXRUN_E_NOMEM);
    if (ready < 0 && o->kind != OP_DIRECT && o->kind != OP_PROJECT_POLL)
        job_out_of_memory(e, o->kind, o->job);
    pthread_mutex_unlock(&e->jobs->mu);
    if (ready <= 0)
        return 0;
    char page_query[64];
    snprintf(page_query, sizeof page_query, "limit=%d&offset=%lld", PROJECT_POLL_LIMIT,
             (long long)o->page_offset);
    hexrun__http_req req = {
        .method = o->kind == OP_DIRECT ? o->direct->method : o->method,
        .path = o->kind == OP_DIRECT ? o->direct->path : o->path,
        .query = o->kind == OP_DIRECT         ? o->direct->query
                 : o->kind == OP_PROJECT_POLL ? page_query
                 : o->kind == OP_ADOPT        ? ADOPT_QUERY
                                              : NULL,
        .body = o->kind == OP_DIRECT ? o->direct->body : o->body,
        .done = on_done,
        .ud = o};
    o->attempt++;
    o->sent_ms = now_ms();
    hexrun__log_write(e->log, HEXRUN_LOG_DEBUG, "event=attempt endpoint=%s job=%lld attempt=%d",
                      op_endpoint(o), (long long)o->job, o->attempt);
    int rc = hexrun__http_start(e->http, &req);
    if (rc == HEXRUN_OK)
        return 1;
    pthread_mutex_lock(&e->jobs->mu);
    if (o->kind == OP_DIRECT) {
        direct_finish(e, o, rc, rc == HEXRUN_E_NOMEM
                                    ? "out of memory: the request could not be started"
                                    : "the request could not be started (bad method or path)");
    } else if (o->kind == OP_PROJECT_POLL) {
        project_poll_result(e, o, NULL, rc);
    } else {
        hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
        if (job) {
            hexrun__job_set_error(job, rc, 0,
                                  rc == HEXRUN_E_NOMEM
                                      ? "out of memory: the request could not be started"
                                      : "the request could not be started",
                                  "");
            hexrun__job_set_state(e->jobs, job,
                                  o->kind == OP_SUBMIT  ? HEXRUN_STATE_SUBMIT_FAILED
                                  : o->kind == OP_ADOPT ? HEXRUN_STATE_SUBMIT_UNKNOWN
                                                        : HEXRUN_STATE_LOST);
        }
    }
    pthread_mutex_unlock(&e->jobs->mu);
    return 0;
}

static int op_uses_run_budget(const op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    return ep ? ep->group == HEXRUN__BUDGET_RUN : o->direct->run_bucket;
}

/* The budget calls, on this client's buckets or the store's shared ones (coord.h). */
static int64_t budget_take(hexrun__engine *e, int group, int64_t now)
{
    return hexrun__coord_has_budget(e->coord) ? hexrun__coord_take(e->coord, group, now)
                                              : hexrun__budget_take(&e->budget[group], now);
}

static int64_t budget_take_poll(hexrun__engine *e, int64_t now)
{
    return hexrun__coord_has_budget(e->coord)
               ? hexrun__coord_take_poll(e->coord, now)
               : hexrun__budget_take_poll(&e->budget[HEXRUN__BUDGET_API], now);
}

static void budget_refund(hexrun__engine *e, int group)
{
    if (hexrun__coord_has_budget(e->coord))
        hexrun__coord_refund(e->coord, group);
    else
        hexrun__budget_refund(&e->budget[group]);
}

static void budget_pause(hexrun__engine *e, int group, int64_t now, int64_t ms)
{
    if (hexrun__coord_has_budget(e->coord))
        hexrun__coord_pause(e->coord, group, now, ms);
    else
        hexrun__budget_pause(&e->budget[group], now, ms);
}

/* The wall-clock time (ISO-8601 UTC) of a moment on the engine's monotonic clock. */
static void iso_of(int64_t mono_ms, char *out, size_t outlen)
{
    time_t t = (time_t)((unix_ms() + (mono_ms - now_ms())) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t budget_paused_until(hexrun__engine *e, int group, int64_t now)
{
    return hexrun__coord_has_budget(e->coord)
               ? hexrun__coord_paused_until(e->coord, group, now)
               : hexrun__budget_paused_until(&e->budget[group]);
}

/* Why an op waits for its budget group, for a job's waiting_for or a direct call's error. */
static void budget_why(int group, int64_t now, int64_t paused, int64_t until, char *out,
                       size_t outlen)
{
    const char *name = group == HEXRUN__BUDGET_RUN ? "run" : "api";
    char when[32];
    iso_of(until, when, sizeof when);
    if (paused > now)
        snprintf(out, outlen, "rate limit pause until %s (Hex answered 429 or 503 with "
                 "Retry-After; the %s budget waits for it)", when, name);
    else if (until > now)
        snprintf(out, outlen, "the %s budget (%s_budget_per_min, %s_budget_per_hour) allows "
                 "the next request at %s", name, name, name, when);
    else
        snprintf(out, outlen, "the %s budget: behind earlier requests", name);
}

/* An op waits `wait` ms (0: behind earlier ops) for its budget group (engine thread,
 * without the table mutex). A direct call that would wait past its deadline is finished
 * with HEXRUN_E_RATE_LIMITED (returns 1: unlink and free o); a job's info says what its
 * next request waits for. */
static int budget_wait(hexrun__engine *e, op *o, int group, int64_t now, int64_t wait)
{
    /* The first op of a group that waits in a round says how long (wait > 0); the ops
     * behind it wait as long. The pause is read once per round (a file with budget_path). */
    if (wait > 0) {
        e->blocked_paused[group] = budget_paused_until(e, group, now);
        e->blocked_until[group] = now + wait;
    }
    int64_t paused = e->blocked_paused[group];
    int64_t until = e->blocked_until[group] > now ? e->blocked_until[group] : now;
    char why[256], msg[512];
    pthread_mutex_lock(&e->jobs->mu);
    int finished = o->kind == OP_DIRECT && o->deadline_ms && until > o->deadline_ms;
    hexrun__job *job = o->kind == OP_DIRECT ? NULL : hexrun__jobs_find(e->jobs, o->job);
    if (finished) {
        budget_why(group, now, paused, until, why, sizeof why);
        snprintf(msg, sizeof msg, "%s: not sent: %s, after this call's deadline (%lld s from "
                 "its start)", op_endpoint(o), why,
                 (long long)direct_deadline_span(e->cfg) / 1000);
        direct_finish(e, o, HEXRUN_E_RATE_LIMITED, msg);
    } else if (job && (!job->waiting_for[0] || job->waiting_until_ms < until - 500 ||
                       job->waiting_until_ms > until + 500)) {
        budget_why(group, now, paused, until, job->waiting_for, sizeof job->waiting_for);
        job->waiting_until_ms = until;
    }
    pthread_mutex_unlock(&e->jobs->mu);
    return finished;
}

/* An op of the poll lane. A poll that follows a cancel's answer is the cancel's: it goes
 * in the interactive lane, not behind the due polls of a sweep. */
static int op_is_poll(const op *o)
{
    return (o->kind == OP_POLL && !o->urgent) || o->kind == OP_PROJECT_POLL;
}

/* The job's poll op, taken out of the poll lane or out of the group of a project poll
 * waiting there; NULL when it is in flight. */
static op *poll_take_out(hexrun__engine *e, int64_t job)
{
    for (op **pp = &e->polls; *pp; pp = &(*pp)->next) {
        op *o = *pp;
        if (o->kind == OP_POLL && o->job == job) {
            *pp = o->next;
            return o;
        }
        for (op **gp = &o->group; o->kind == OP_PROJECT_POLL && *gp; gp = &(*gp)->next) {
            op *m = *gp;
            if (m->job == job) {
                *gp = m->next;
                return m;
            }
        }
    }
    return NULL;
}

/* Each lane stays sorted by due time, first come first served among equals, so that work
 * waiting for budget is served in order and none starves. */
static void pending_add(hexrun__engine *e, op *o)
{
    op **pp = op_is_poll(o) ? &e->polls : &e->pending;
    while (*pp && (*pp)->due_ms <= o->due_ms)
        pp = &(*pp)->next;
    o->next = *pp;
    *pp = o;
}

/*
 * One RunProject per project at a time: a project is busy from the moment a job of it is
 * SUBMITTING until its run is known or its job has ended, which covers the lookups for the
 * run of an unanswered RunProject (adopt.h). So when an answer is lost, exactly one run
 * can be that submit's: no other RunProject of the project went out meanwhile. Hex allows
 * one RunProject every 3 s on average and a POST takes far less, so this costs no
 * throughput (docs/faults.md). The busy projects, as of the start of run_due_ops (only the
 * engine thread moves a job into or out of these states, in on_done or run_due_ops).
 */

static int busy_find(const busy_projects *b, const char *project)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ids[i], project) == 0)
            return 1;
    return 0;
}

/* On NOMEM the list is marked incomplete: the jobs table is then scanned instead. */
static void busy_add(busy_projects *b, const char *project)
{
    if (!b->complete || busy_find(b, project))
        return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        void *grown = realloc(b->ids, cap * sizeof *b->ids);
        if (!grown) {
            b->complete = 0;
            return;
        }
        b->ids = grown;
        b->cap = cap;
    }
    snprintf(b->ids[b->n++], HEXRUN__HEX_ID_MAX, "%s", project);
}

static int job_holds_project(const hexrun__job *job)
{
    return job->state == HEXRUN_STATE_SUBMITTING || job->adopt_since_ms;
}

static int project_held(const hexrun__engine *e, const char *project)
{
    for (size_t i = 0; i < e->jobs->n; i++)
        if (job_holds_project(e->jobs->items[i]) &&
            strcmp(e->jobs->items[i]->project_id, project) == 0)
            return 1;
    return 0;
}

/* Table mutex held. */
static void busy_collect(const hexrun__engine *e, busy_projects *b)
{
    b->n = 0;
    b->complete = 1;
    for (size_t i = 0; i < e->jobs->n; i++)
        if (job_holds_project(e->jobs->items[i]))
            busy_add(b, e->jobs->items[i]->project_id);
}

/* 1 when o is a submit whose project has another RunProject in flight (or unresolved):
 * it waits, in its place, without taking budget. Else its project joins b. */
static int submit_must_wait(hexrun__engine *e, const op *o, busy_projects *b)
{
    if (o->kind != OP_SUBMIT)
        return 0;
    pthread_mutex_lock(&e->jobs->mu);
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    /* A retry (its own job SUBMITTING) holds the project already; a finished or cancelled
     * job goes on to op_start, which discards it. */
    int wait = job && !job_holds_project(job) && hexrun_state_is_terminal(job->state) == 0 &&
               !job->cancel_requested &&
               (b->complete ? busy_find(b, job->project_id)
                            : project_held(e, job->project_id));
    if (job && !wait)
        busy_add(b, job->project_id);
    pthread_mutex_unlock(&e->jobs->mu);
    return wait;
}

/* Insert a chain of ops all due at `due` into a lane at once, in their order, behind the
 * ops due no later: one walk for the chain (thousands of attaches at once, or the polls a
 * project's read puts off), not one per op. */
static void lane_insert_chain(op **lane, op *first, op *last, int64_t due)
{
    if (!first)
        return;
    while (*lane && (*lane)->due_ms <= due)
        lane = &(*lane)->next;
    last->next = *lane;
    *lane = first;
}

/* The ms from now until the first op of a lane is due, if sooner than next. */
static int64_t lane_next(const op *first, int64_t now, int64_t next)
{
    return first && first->due_ms - now < next ? first->due_ms - now : next;
}

/* Send or drop a due op taken off its lane (its budget is taken). Returns 1 when it went
 * out. */
static int op_go(hexrun__engine *e, op *o)
{
    if (o->kind == OP_SUBMIT && adopt_first(e, o)) {
        budget_refund(e, HEXRUN__BUDGET_RUN); /* a lookup goes out, not a RunProject */
        return 0;
    }
    if (o->kind == OP_SUBMIT && hexrun__coord_has_journal(e->coord) && !journal_step(e, o)) {
        budget_refund(e, HEXRUN__BUDGET_RUN); /* no RunProject went out */
        return 0;
    }
    int poll = op_is_poll(o);
    if (!op_start(e, o)) {
        op_free(o);
        return 0;
    }
    e->polls_in_flight += poll;
    return 1;
}

/* The interactive lane (and submits): every due op its budget allows. Returns 1 when the
 * api budget is spent, so that polls wait too. */
static int run_interactive(hexrun__engine *e, int64_t now, int64_t *next)
{
    int run_blocked = 0, api_blocked = 0;
    pthread_mutex_lock(&e->jobs->mu);
    busy_collect(e, &e->busy);
    pthread_mutex_unlock(&e->jobs->mu);
    int resweep = 0; /* a submit marked its project busy but sent nothing */
    op **pp = &e->pending;
    while (*pp && (*pp)->due_ms <= now) {
        op *o = *pp;
        if (!run_blocked && submit_must_wait(e, o, &e->busy)) {
            pp = &o->next;
            continue;
        }
        int is_run = op_uses_run_budget(o);
        int64_t wait = 0;
        /* Once a bucket is empty, later ops of it wait too (they keep their place). */
        if (!(is_run ? run_blocked : api_blocked))
            wait = budget_take(e, is_run ? HEXRUN__BUDGET_RUN : HEXRUN__BUDGET_API, now);
        if (wait > 0 || (is_run ? run_blocked : api_blocked)) {
            if (budget_wait(e, o, is_run ? HEXRUN__BUDGET_RUN : HEXRUN__BUDGET_API, now, wait)) {
                *pp = o->next; /* a direct call that would wait past its deadline */
                op_free(o);
                continue;
            }
            if (wait > 0 && wait < *next)
                *next = wait;
            *(is_run ? &run_blocked : &api_blocked) = 1;
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        int kind = o->kind;
        if (!op_go(e, o))
            resweep |= kind == OP_SUBMIT;
    }
    *next = resweep ? 0 : lane_next(*pp, now, *next);
    return api_blocked;
}

/* 0 for the poll of a job that ended or was released meanwhile: it must not spend the
 * poll share. */
static int poll_wanted(hexrun__engine *e, const op *o)
{
    if (o->kind != OP_POLL)
        return 1;
    pthread_mutex_lock(&e->jobs->mu);
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    int wanted = job && hexrun_state_is_terminal(job->state) == 0;
    pthread_mutex_unlock(&e->jobs->mu);
    return wanted;
}

/* The poll lane: due polls in order, within the poll share, leaving connections free. */
static void run_polls(hexrun__engine *e, int64_t now, int64_t *next)
{
    while (e->polls && e->polls->due_ms <= now && e->polls_in_flight < POLLS_IN_FLIGHT_MAX) {
        if (!poll_wanted(e, e->polls)) {
            op *gone = e->polls;
            e->polls = gone->next;
            op_free(gone);
            continue;
        }
        if (board_serve(e, e->polls, now))
            continue; /* another client's sweep answered it, from the store */
        int64_t wait = budget_take_poll(e, now);
        if (wait > 0) {
            if (wait < *next)
                *next = wait;
            return;
        }
        op *o = e->polls;
        e->polls = o->next;
        op_go(e, o);
    }
    /* At the in-flight cap, the next answer wakes the engine. */
    if (e->polls_in_flight < POLLS_IN_FLIGHT_MAX)
        *next = lane_next(e->polls, now, *next);
}

/* Start every due op the budgets allow, the interactive lane first; return the ms until
 * the next one is due. */
static int64_t run_due_ops(hexrun__engine *e, int64_t now)
{
    int64_t next = MAX_SLEEP_MS;
    if (!run_interactive(e, now, &next))
        run_polls(e, now, &next);
    return next;
}

/* ---- results (engine thread, from hexrun__http_run) ---- */

static void reschedule(hexrun__engine *e, op *o, int64_t delay_ms)
{
    o->due_ms = now_ms() + delay_ms;
    pending_add(e, o);
}

/* A redacted one-line description of a failed request. */
static void describe_failure(hexrun__engine *e, const op *o, const hexrun__http_resp *r,
                             int code, char *trace_id, char *out, size_t outlen)
{
    char raw[1536];
    trace_id[0] = '\0';
    if (r->error != HEXRUN_OK) {
        snprintf(raw, sizeof raw, "%s: %s (%s) after %d attempt%s", op_endpoint(o),
                 hexrun_strerror(code), r->error_text, o->attempt, o->attempt == 1 ? "" : "s");
    } else {
        hexrun__hex_error he;
        hexrun__hex_parse_error(r->body, r->body_len, &he);
        snprintf(trace_id, HEXRUN__HEX_ID_MAX, "%s", he.trace_id);
        snprintf(raw, sizeof raw, "%s: HTTP %d after %d attempt%s: %s%s%s%s", op_endpoint(o),
                 r->status, o->attempt, o->attempt == 1 ? "" : "s",
                 he.message[0] ? he.message : hexrun_strerror(code),
                 he.trace_id[0] ? " (trace id " : "", he.trace_id, he.trace_id[0] ? ")" : "");
    }
    hexrun__log_redact(e->log, raw, out, outlen);
}

static void job_fail(hexrun__engine *e, const op *o, hexrun__job *job, int code,
                     const hexrun__http_resp *r, int32_t state)
{
    char msg[1536], trace[HEXRUN__HEX_ID_MAX];
    describe_failure(e, o, r, code, trace, msg, sizeof msg);
    char full[2048];
    snprintf(full, sizeof full, "%s%s",
             code == HEXRUN_E_OUTCOME_UNKNOWN
                 ? "RunProject outcome unknown: the request may have reached Hex, so it is "
                   "not repeated: "
                 : "",
             msg);
    hexrun__job_set_error(job, code, r->status, full, trace);
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=request_failed job=%lld %s",
                      (long long)job->id, full);
    if (state >= 0 && hexrun__job_set_state(e->jobs, job, state) > 0)
        hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=state job=%lld state=%s",
                          (long long)job->id, hexrun_state_name(state));
}

static void job_update_from_run(hexrun__engine *e, hexrun__job *job, const hexrun__hex_run *run)
{
    if (run->run_id[0])
        snprintf(job->run_id, sizeof job->run_id, "%s", run->run_id);
    hexrun__job_set_run_url(job, run->run_url);
    snprintf(job->hex_status, sizeof job->hex_status, "%s", run->status);
    snprintf(job->start_time, sizeof job->start_time, "%s", run->start_time);
    snprintf(job->end_time, sizeof job->end_time, "%s", run->end_time);
    job->elapsed_ms = run->elapsed_ms;
    if (run->state == HEXRUN_STATE_UNKNOWN)
        hexrun__log_write(e->log, HEXRUN_LOG_WARN,
                          "event=unknown_status job=%lld status=%.40s (treated as live)",
                          (long long)job->id, run->status);
    if (hexrun__job_set_state(e->jobs, job, run->state) > 0)
        hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=state job=%lld run=%s state=%s",
                          (long long)job->id, job->run_id, hexrun_state_name(run->state));
}

static void adopt_give_up(hexrun__engine *e, hexrun__job *job, const char *evidence);

/*
 * The next request of a job could not be made for lack of memory (engine thread, table
 * mutex held). Nothing may stay live waiting for a request that will never go out, and
 * nothing may send a RunProject again: a submit not yet sent fails (no run exists), a
 * lookup for an unanswered RunProject gives up (SUBMIT_UNKNOWN), a lost poll ends the
 * tracking (LOST, run id kept), and a lost cancel is asked again by the next poll.
 */
static void job_out_of_memory(hexrun__engine *e, op_kind kind, int64_t id)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, id);
    if (!job || hexrun_state_is_terminal(job->state) == 1)
        return;
    char msg[256];
    int32_t state;
    switch (kind) {
    case OP_CANCEL:
        job->cancel_sent = 0;
        return;
    case OP_ADOPT:
        adopt_give_up(e, job, "out of memory: the project's runs could not be looked up");
        return;
    case OP_SUBMIT:
        snprintf(msg, sizeof msg, "RunProject: out of memory before the request was sent; "
                 "no run was started");
        state = HEXRUN_STATE_SUBMIT_FAILED;
        break;
    case OP_POLL:
        snprintf(msg, sizeof msg, "GetRunStatus: out of memory: run %s is no longer "
                 "tracked (it goes on in Hex)", job->run_id);
        state = HEXRUN_STATE_LOST;
        break;
    default:
        return;
    }
    hexrun__job_set_error(job, HEXRUN_E_NOMEM, 0, msg, "");
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=out_of_memory job=%lld %s",
                      (long long)job->id, msg);
    hexrun__job_set_state(e->jobs, job, state);
}

/* Queue the follow-up op of a job (engine thread, table mutex held). */
static void follow_up(hexrun__engine *e, op_kind kind, int64_t job, int64_t delay_ms)
{
    op *o = calloc(1, sizeof *o);
    if (!o) {
        job_out_of_memory(e, kind, job);
        return;
    }
    o->kind = kind;
    o->job = job;
    o->engine = e;
    o->due_ms = now_ms() + delay_ms;
    if (kind == OP_POLL)
        poll_track_new(e, o);
    pending_add(e, o);
}

static void cancel_if_requested(hexrun__engine *e, hexrun__job *job)
{
    if (job->cancel_requested && !job->cancel_sent && job->run_id[0] &&
        hexrun_state_is_terminal(job->state) == 0) {
        job->cancel_sent = 1;
        follow_up(e, OP_CANCEL, job->id, 0);
    }
}

/* Returns 1 when the op was consumed (freed or requeued). */
static int submit_succeeded(hexrun__engine *e, const op *o, hexrun__job *job,
                            const hexrun__http_resp *r)
{
    hexrun__hex_run run;
    char err[512];
    if (hexrun__hex_parse_run_created(r->body, r->body_len, &run, err, sizeof err) != HEXRUN_OK) {
        /* Hex accepted the run but its id is unreadable: look for it like a lost answer. */
        char msg[700];
        snprintf(msg, sizeof msg,
                 "RunProject: HTTP %d but the answer could not be read (%s); a run may "
                 "exist, so it is not repeated",
                 r->status, err);
        char red[700];
        hexrun__log_redact(e->log, msg, red, sizeof red);
        hexrun__job_set_error(job, HEXRUN_E_PROTOCOL, r->status, red, "");
        job->adopt_since_ms = o->sent_unix_ms;
        job->adopt_lookups = 0;
        follow_up(e, OP_ADOPT, job->id, 0);
        return 0;
    }
    snprintf(job->run_id, sizeof job->run_id, "%s", run.run_id);
    hexrun__job_set_run_url(job, run.run_url);
    int32_t state = job->dry_run ? HEXRUN_STATE_COMPLETED : HEXRUN_STATE_PENDING;
    hexrun__job_set_state(e->jobs, job, state);
    /* A dry run makes no run: its key stays free for a real submit. */
    journal_note_add(e, job->dry_run ? 'F' : 'R', job, unix_ms());
    hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=submitted job=%lld run=%s dry_run=%d",
                      (long long)job->id, job->run_id, job->dry_run);
    if (!job->dry_run) {
        follow_up(e, OP_POLL, job->id, e->cfg->poll_min_ms);
        cancel_if_requested(e, job);
    }
    return 0;
}

/* Apply a run's status (NULL when the answer was unreadable) and plan the next poll.
 * Returns 1 when o was requeued. */
static int poll_apply(hexrun__engine *e, op *o, hexrun__job *job, const hexrun__hex_run *run)
{
    /* A cancel may have finished the job while this poll was in flight. */
    if (hexrun_state_is_terminal(job->state) == 1)
        return 0;
    if (run) {
        job->polls++;
        job_update_from_run(e, job, run);
    }
    if (hexrun_state_is_terminal(job->state) == 1)
        return 0;
    o->attempt = 0;
    cancel_if_requested(e, job); /* again, if an earlier CancelRun could not be queued */
    /* One sweep period after the question, not the answer: the period is the budget's.
     * After a cancel's answer, at once: the run's end is what the job waits for. */
    o->due_ms = job->poll_soon ? now_ms() : o->sent_ms + sweep_period_ms(e);
    o->urgent = job->poll_soon;
    job->poll_soon = 0;
    pending_add(e, o);
    return 1;
}

/* A 2xx GetRunStatus: the run's status, if the answer is readable and about the run asked
 * for (an answer naming another run must not move this job, nor send its later requests
 * elsewhere). Unusable answers in a row end the job LOST, with the evidence. */
static int poll_succeeded(hexrun__engine *e, op *o, hexrun__job *job, const hexrun__http_resp *r)
{
    hexrun__hex_run run;
    char err[512];
    int rc = hexrun__hex_parse_run(r->body, r->body_len, &run, err, sizeof err);
    if (rc == HEXRUN_OK && (strcasecmp(run.run_id, job->run_id) != 0 ||
                            strcasecmp(run.project_id, job->project_id) != 0)) {
        snprintf(err, sizeof err, "it is about run %s of project %s, not run %s of project %s",
                 run.run_id, run.project_id, job->run_id, job->project_id);
        rc = HEXRUN_E_PROTOCOL;
    }
    if (rc == HEXRUN_OK) {
        o->bad_answers = 0;
        return poll_apply(e, o, job, &run);
    }
    o->bad_answers++;
    int give_up = o->bad_answers >= POLL_BAD_ANSWERS_MIN && o->bad_answers > e->cfg->max_retries;
    char msg[900], red[900];
    snprintf(msg, sizeof msg, "GetRunStatus: HTTP %d but the answer cannot be used: %s%s",
             r->status, err,
             give_up ? "; after that many unusable answers in a row the run is no longer "
                       "tracked (it may go on in Hex)"
                     : "");
    hexrun__log_redact(e->log, msg, red, sizeof red);
    hexrun__job_set_error(job, HEXRUN_E_PROTOCOL, r->status, red, "");
    if (!give_up)
        return poll_apply(e, o, job, NULL);
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=lost job=%lld answers=%d %s",
                      (long long)job->id, o->bad_answers, red);
    hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_LOST);
    return 0;
}

static const hexrun__hex_run *run_find(const hexrun__hex_run *runs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(runs[i].run_id, id) == 0)
            return &runs[i];
    return NULL;
}

/* Hand each grouped poll its run from the page. The runs not on it are looked for on the
 * next page while that is cheaper than polling them one by one; after that (or when the
 * page failed) each is polled alone from now on, so nothing depends on the pages.
 * Returns 1 when o was requeued for the next page. */
static int project_poll_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__hex_run *runs = NULL;
    size_t n = 0, n_missing = 0;
    hexrun__hex_next_page np = {0};
    char err[512];
    int ok = code == HEXRUN_OK &&
             hexrun__hex_parse_runs_page(r->body, r->body_len, &runs, &n, &np, err,
                                         sizeof err) == HEXRUN_OK;
    /* A nextPage without an offset: the next page starts after the runs of this one. */
    int64_t next_offset = !np.present      ? -1
                          : np.offset >= 0 ? np.offset
                                           : o->page_offset + (int64_t)n;
    op *p = o->group, *missing = NULL;
    o->group = NULL;
    while (p) {
        op *next = p->next;
        p->sent_ms = o->sent_ms;
        hexrun__job *job = hexrun__jobs_find(e->jobs, p->job);
        const hexrun__hex_run *run = ok && job ? run_find(runs, n, job->run_id) : NULL;
        if (!job) {
            op_free(p);
        } else if (run) {
            if (!poll_apply(e, p, job, run))
                op_free(p);
        } else if (job->poll_soon) {
            /* A cancel's answer wants the run's status now, not after the next pages. */
            job->poll_soon = 0;
            p->urgent = 1;
            reschedule(e, p, 0);
        } else {
            p->next = missing;
            missing = p;
            n_missing++;
        }
        p = next;
    }
    if (ok)
        board_queue(e, runs, n);
    free(runs);
    if (ok && n_missing >= 2 && next_offset > o->page_offset && o->pages + 1 < PROJECT_POLL_PAGES) {
        o->group = missing;
        o->page_offset = next_offset;
        o->pages++;
        o->attempt = 0;
        reschedule(e, o, 0);
        return 1;
    }
    poll_group *g = group_find(e, o->project_id);
    if (g)
        g->pages = o->pages + 1;
    for (p = missing; p; p = missing) {
        missing = p->next;
        poll_set_solo(e, p);
        reschedule(e, p, 0);
    }
    return 0;
}

/* The project of a poll op that may join a group, or NULL (table mutex held). */
static const char *poll_project(const hexrun__engine *e, const op *o)
{
    if (o->kind != OP_POLL || o->solo)
        return NULL;
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    return job && job->run_id[0] && hexrun_state_is_terminal(job->state) == 0 ? job->project_id
                                                                                : NULL;
}

static size_t polls_of_project(const hexrun__engine *e, const char *project)
{
    size_t n = 0;
    for (const op *o = e->polls; o; o = o->next) {
        const char *p = poll_project(e, o);
        n += p && strcmp(p, project) == 0;
    }
    return n;
}

/* Move every groupable poll of `project` (due or not: riding along is free) into one
 * OP_PROJECT_POLL due now. */
static int group_project(hexrun__engine *e, const char *project, int64_t now)
{
    op *g = calloc(1, sizeof *g);
    if (!g)
        return -1; /* the runs are polled one by one instead */
    g->kind = OP_PROJECT_POLL;
    g->engine = e;
    snprintf(g->project_id, sizeof g->project_id, "%s", project);
    reading_add(e, g->project_id);
    op **pp = &e->polls;
    while (*pp) {
        op *o = *pp;
        const char *p = poll_project(e, o);
        if (p && strcmp(p, g->project_id) == 0) {
            *pp = o->next;
            o->next = g->group;
            g->group = o;
        } else {
            pp = &o->next;
        }
    }
    g->due_ms = now;
    pending_add(e, g);
    return 0;
}

/* Polls of a project worth one page: two, or one with a status board (its page serves the
 * other clients' runs of the project too). */
static size_t group_min(const hexrun__engine *e)
{
    return hexrun__coord_has_board(e->coord) ? 1 : 2;
}

/* Group the due polls of every project that has group_min(e) or more runs to poll. */
static void coalesce_polls(hexrun__engine *e, int64_t now)
{
    pthread_mutex_lock(&e->jobs->mu);
    op **pp = &e->polls, *later = NULL, **later_end = &later, *later_last = NULL;
    while (*pp && (*pp)->due_ms <= now) {
        op *o = *pp;
        const char *p = poll_project(e, o);
        if (p && reading_find(e, p) >= 0) {
            /* The project's pages are being read: this run waits for the next round. */
            *pp = o->next;
            o->next = NULL;
            *later_end = later_last = o;
            later_end = &o->next;
        } else if (p && polls_of_project(e, p) >= group_min(e) && group_project(e, p, now) == 0) {
            pp = &e->polls; /* the list changed; grouped ops are gone from it */
        } else {
            pp = &o->next;
        }
    }
    /* Their project's next round picks them up; until then they need no look. */
    int64_t period = sweep_period_ms(e);
    for (op *o = later; o; o = o->next)
        o->due_ms = now + period;
    lane_insert_chain(&e->polls, later, later_last, now + period);
    pthread_mutex_unlock(&e->jobs->mu);
}

/* ---- adopting the run of an unanswered RunProject (adopt.h) ---- */

typedef struct lookup_ctx {
    const hexrun__engine *e;
    const char *project_id;
} lookup_ctx;

/* A run id this client already accounts for: a job tracks it or tracked it before its
 * release, or the journal records it. */
static int run_tracked(const char *run_id, void *ud)
{
    const lookup_ctx *l = ud;
    return hexrun__jobs_knows_run(l->e->jobs, l->project_id, run_id) ||
           (hexrun__coord_has_journal(l->e->coord) &&
            hexrun__coord_journal_knows_run(l->e->coord, run_id));
}

/* The RunProject of job was sent but its answer is lost: look for its run instead of
 * sending it again. A dry run starts nothing, so there is nothing to find. */
static void adopt_begin(hexrun__engine *e, const op *o, hexrun__job *job,
                        const hexrun__http_resp *r, int code)
{
    if (job->dry_run) {
        job_fail(e, o, job, code, r, HEXRUN_STATE_SUBMIT_FAILED);
        return;
    }
    job_fail(e, o, job, HEXRUN_E_OUTCOME_UNKNOWN, r, -1);
    job->adopt_since_ms = o->sent_unix_ms;
    job->adopt_lookups = 0;
    follow_up(e, OP_ADOPT, job->id, 0);
}

static void adopt_run(hexrun__engine *e, hexrun__job *job, const hexrun__hex_run *run)
{
    job->adopt_since_ms = 0;
    job->adopt_first_since_ms = 0;
    /* Keep the story in last_error: the answer was lost and the run was found. */
    char msg[2048];
    snprintf(msg, sizeof msg, "%s; adopted run %s, found among the project's runs",
             job->last_error.message ? job->last_error.message : "RunProject outcome unknown",
             run->run_id);
    hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, job->last_error.http_status, msg,
                          job->last_error.trace_id);
    job_update_from_run(e, job, run);
    hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                      "event=adopted job=%lld run=%s (RunProject answer was lost; found the "
                      "run in the project's runs)",
                      (long long)job->id, job->run_id);
    journal_note_add(e, 'R', job, unix_ms());
    if (hexrun_state_is_terminal(job->state) == 0) {
        follow_up(e, OP_POLL, job->id, e->cfg->poll_min_ms);
        cancel_if_requested(e, job);
    }
}

static int same_body(const hexrun__job *a, const hexrun__job *b)
{
    return strcmp(a->run_body ? a->run_body : "", b->run_body ? b->run_body : "") == 0;
}

/* Pair every unanswered submit of job's project with a run that may be its own: only when
 * there are exactly as many such runs as submits, and the submits are interchangeable
 * (one, or all with the same body). Returns 1 when job got its run; else describes what
 * was found in evidence. */
static int adopt_match(hexrun__engine *e, const hexrun__job *job, const hexrun__hex_run *runs,
                       size_t n, size_t *found, char *evidence, size_t evlen)
{
    hexrun__job *waiting[ADOPT_MAX];
    size_t nw = 0, idx[ADOPT_MAX];
    int64_t since = job->adopt_since_ms;
    int alike = 1;
    for (size_t i = 0; i < e->jobs->n && nw < ADOPT_MAX; i++) {
        hexrun__job *j = e->jobs->items[i];
        if (!j->adopt_since_ms || strcmp(j->project_id, job->project_id) != 0)
            continue;
        waiting[nw++] = j;
        alike &= same_body(waiting[0], j);
        if (j->adopt_since_ms < since)
            since = j->adopt_since_ms;
    }
    lookup_ctx l = {e, job->project_id};
    size_t nc = hexrun__adopt_candidates(runs, n, since, run_tracked, &l, idx, ADOPT_MAX);
    *found = nc;
    snprintf(evidence, evlen, "%zu API run(s) of the project appeared since then (%s%s%s) for "
             "%zu unanswered RunProject(s)%s",
             nc, nc > 0 ? runs[idx[0]].run_id : "none", nc > 1 ? ", " : "",
             nc > 1 ? runs[idx[1]].run_id : "", nw,
             nc == nw && !alike ? " with different bodies" : "");
    if (nc == 0 || nc != nw || !alike)
        return 0;
    for (size_t i = 0; i < nw; i++)
        adopt_run(e, waiting[i], &runs[idx[i]]);
    return 1;
}

static void adopt_give_up(hexrun__engine *e, hexrun__job *job, const char *evidence)
{
    char msg[2048];
    snprintf(msg, sizeof msg, "%s; after %d lookup(s) of the project's runs: %s, so none was "
             "adopted and none was started again",
             job->last_error.message ? job->last_error.message : "RunProject outcome unknown",
             job->adopt_lookups, evidence);
    journal_note_add(e, 'U', job, job->adopt_since_ms);
    job->adopt_since_ms = 0;
    hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, job->last_error.http_status, msg,
                          job->last_error.trace_id);
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=submit_unknown job=%lld %s",
                      (long long)job->id, msg);
    hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMIT_UNKNOWN);
}

/* hexrun_submit_or_adopt: before a submit's RunProject, look for the run another
 * process's RunProject, sent at adopt_first_since_ms, may have made. Engine thread,
 * without the table mutex. Returns 1 when o was consumed (the job looks now). */
static int adopt_first(hexrun__engine *e, op *o)
{
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    int look = job && job->adopt_first_since_ms && job->state == HEXRUN_STATE_QUEUED &&
               !job->cancel_requested;
    if (look) {
        /* SUBMITTING holds the project (no other RunProject of it goes out meanwhile) and
         * makes a cancel wait for the run, as for an unanswered RunProject of our own. */
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMITTING);
        hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, 0,
                              "RunProject outcome unknown: an earlier process was sending it "
                              "and did not record Hex's answer",
                              "");
        job->adopt_since_ms = job->adopt_first_since_ms;
        job->adopt_lookups = 0;
        hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                          "event=adopt_first job=%lld project=%s (looking for the run of an "
                          "earlier process's RunProject before sending one)",
                          (long long)job->id, job->project_id);
        follow_up(e, OP_ADOPT, job->id, 0);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    if (look)
        op_free(o);
    return look;
}

/* hexrun_submit_or_adopt found no run of the earlier RunProject: once any run it made
 * would be listed (31 poll_min_ms after it was sent, or after the last lookup), send
 * RunProject. Returns 1 when it did (table mutex held). */
static int adopt_else_submit(hexrun__engine *e, hexrun__job *job)
{
    int64_t window = ((1 << ADOPT_LOOKUPS) - 1) * e->cfg->poll_min_ms;
    if (!job->adopt_first_since_ms ||
        (job->adopt_lookups < ADOPT_LOOKUPS && unix_ms() - job->adopt_since_ms < window))
        return 0;
    hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                      "event=adopt_none job=%lld project=%s (no run of the earlier "
                      "RunProject after %d lookup(s); sending RunProject)",
                      (long long)job->id, job->project_id, job->adopt_lookups);
    job->adopt_since_ms = 0;
    job->adopt_first_since_ms = 0;
    hexrun__job_set_error(job, HEXRUN_OK, 0, NULL, "");
    follow_up(e, OP_SUBMIT, job->id, 0);
    return 1;
}

/* A lookup's answer. Returns 1 when o was requeued for another lookup. */
static int adopt_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job || !job->adopt_since_ms)
        return 0;
    hexrun__hex_run *runs = NULL;
    size_t n = 0, found = 0;
    char evidence[512], err[400];
    if (code == HEXRUN_OK)
        code = hexrun__hex_parse_runs_page(r->body, r->body_len, &runs, &n, NULL, err,
                                           sizeof err);
    else
        snprintf(err, sizeof err, "%s", hexrun_strerror(code));
    int done = code == HEXRUN_OK &&
               adopt_match(e, job, runs, n, &found, evidence, sizeof evidence);
    free(runs);
    if (code != HEXRUN_OK) {
        snprintf(evidence, sizeof evidence, "the last lookup failed: %s", err);
        /* An answer that could not be read tells nothing either way: it does not count as
         * one of the lookups (up to ADOPT_LOOKUPS such), so the verdict rests on pages that
         * were read. */
        if (++o->failed_lookups <= ADOPT_LOOKUPS)
            job->adopt_lookups--;
    }
    if (done)
        return 0;
    if (code == HEXRUN_OK && found == 0 && adopt_else_submit(e, job))
        return 0;
    if (job->adopt_lookups >= ADOPT_LOOKUPS) {
        adopt_give_up(e, job, evidence);
        return 0;
    }
    o->attempt = 0;
    /* A cancelling shutdown looks again at the poll interval until its deadline. */
    int doubling = job->adopt_lookups > 1 ? job->adopt_lookups - 1 : 0;
    reschedule(e, o, e->stopping ? e->cfg->poll_min_ms : e->cfg->poll_min_ms << doubling);
    return 1;
}

/* ---- the submit journal (journal.h) ---- */

/* An intent older than this cannot belong to a RunProject still in flight (every attempt
 * timed out, every lookup done: 31 poll_min_ms, and up to ADOPT_LOOKUPS unreadable ones of
 * at most 16 more each), whoever owns it. */
static int64_t journal_stale_ms(const hexrun_config *cfg)
{
    return cfg->timeout_ms * (cfg->max_retries + 1) + 128 * cfg->poll_min_ms + 60000;
}

/* Queue the answer of a keyed submit for the journal (table mutex held). */
static void journal_note_add(hexrun__engine *e, char type, const hexrun__job *job,
                             int64_t t_ms)
{
    if (!hexrun__coord_has_journal(e->coord) || !job->idempotency_key)
        return;
    journal_note *n = calloc(1, sizeof *n);
    if (!n || !(n->key = strdup(job->idempotency_key))) {
        free(n);
        hexrun__log_write(e->log, HEXRUN_LOG_ERROR,
                          "event=journal_failed job=%lld out of memory", (long long)job->id);
        return;
    }
    n->type = type;
    n->t_ms = t_ms;
    snprintf(n->project_id, sizeof n->project_id, "%s", job->project_id);
    snprintf(n->run_id, sizeof n->run_id, "%s", job->run_id);
    n->next = e->notes;
    e->notes = n;
}

/* Write the queued answers, oldest first (engine thread, without the table mutex). */
static void journal_flush(hexrun__engine *e)
{
    if (!hexrun__coord_has_journal(e->coord))
        return;
    pthread_mutex_lock(&e->jobs->mu);
    journal_note *list = NULL;
    for (journal_note *n = e->notes, *next; n; n = next) {
        next = n->next;
        n->next = list;
        list = n;
    }
    e->notes = NULL;
    pthread_mutex_unlock(&e->jobs->mu);
    for (journal_note *n = list, *next; n; n = next) {
        next = n->next;
        char err[600] = "";
        int rc = hexrun__coord_journal_note(e->coord, n->type, n->key, n->project_id,
                                            n->run_id, n->t_ms, err, sizeof err);
        if (rc != HEXRUN_OK)
            hexrun__log_write(e->log, HEXRUN_LOG_ERROR, "event=journal_failed project=%s %s",
                              n->project_id, err[0] ? err : hexrun_strerror(rc));
        free(n->key);
        free(n);
    }
}

/* Act on the journal's verdict for a keyed submit that may not send RunProject (table
 * mutex held). Returns 1 when o was requeued. */
static int journal_verdict_apply(hexrun__engine *e, op *o, hexrun__job *job, int rc,
                                 const hexrun__journal_claim *claim, const char *err)
{
    char msg[1024];
    if (rc == HEXRUN_OK && claim->verdict == HEXRUN__JOURNAL_WAIT) {
        reschedule(e, o, e->cfg->poll_min_ms); /* still QUEUED: asks the journal again */
        return 1;
    }
    hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMITTING); /* the way out of QUEUED */
    if (rc != HEXRUN_OK) {
        snprintf(msg, sizeof msg, "nothing was sent: %s", err[0] ? err : hexrun_strerror(rc));
        hexrun__job_set_error(job, rc, 0, msg, "");
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMIT_FAILED);
        return 0;
    }
    switch (claim->verdict) {
    case HEXRUN__JOURNAL_ATTACH:
        snprintf(job->run_id, sizeof job->run_id, "%s", claim->run_id);
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_PENDING);
        hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                          "event=journal_attach job=%lld run=%s (idempotency key already "
                          "recorded; no RunProject sent)",
                          (long long)job->id, job->run_id);
        follow_up(e, OP_POLL, job->id, 0);
        cancel_if_requested(e, job);
        return 0;
    case HEXRUN__JOURNAL_ADOPT:
        snprintf(msg, sizeof msg, "RunProject outcome unknown: an earlier RunProject with this "
                 "idempotency key (journal_path) was sent and its answer never recorded");
        hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, 0, msg, "");
        job->adopt_since_ms = claim->since_ms;
        job->adopt_lookups = 0;
        follow_up(e, OP_ADOPT, job->id, 0);
        return 0;
    case HEXRUN__JOURNAL_CONFLICT:
        snprintf(msg, sizeof msg, "the idempotency key already names a submit of project %s "
                 "in journal_path; nothing was sent", claim->run_id);
        hexrun__job_set_error(job, HEXRUN_E_INVALID_ARG, 0, msg, "");
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMIT_FAILED);
        return 0;
    case HEXRUN__JOURNAL_WAIT:
    case HEXRUN__JOURNAL_GO:
        break;
    }
    return 0;
}

/* Before a keyed submit's first RunProject: ask the journal (which records the intent when
 * the key is free). Engine thread, without the table mutex. Returns 1 to send it, 0 when
 * o was consumed (requeued, or the job attached, adopts or failed). */
static int journal_step(hexrun__engine *e, op *o)
{
    char key[HEXRUN__IDEMPOTENCY_KEY_MAX + 1], project[HEXRUN__HEX_ID_MAX];
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    int keyed = job && job->idempotency_key && job->state == HEXRUN_STATE_QUEUED &&
                !job->cancel_requested;
    if (keyed) {
        snprintf(key, sizeof key, "%s", job->idempotency_key);
        snprintf(project, sizeof project, "%s", job->project_id);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    if (!keyed)
        return 1; /* op_start drops or ends it */
    hexrun__journal_claim claim;
    char err[600] = "";
    int rc = hexrun__coord_journal_begin(e->coord, key, project, unix_ms(),
                                         journal_stale_ms(e->cfg), &claim, err, sizeof err);
    if (rc == HEXRUN_OK && claim.verdict == HEXRUN__JOURNAL_GO)
        return 1;
    pthread_mutex_lock(&e->jobs->mu);
    job = hexrun__jobs_find(e->jobs, o->job);
    int requeued = job && journal_verdict_apply(e, o, job, rc, &claim, err);
    pthread_mutex_unlock(&e->jobs->mu);
    if (!requeued)
        op_free(o);
    return 0;
}

/* ---- the status board (coord.h) ---- */

/* Board reads in a row without a poll's run before it is polled alone (its run is not on
 * the sweeper's pages, or no one sweeps): a period and a half, as reads come four times a
 * period and a new run appears at the next sweep. A run the board saw more than
 * BOARD_STALE_PERIODS ago counts as missing. */
#define BOARD_MISSES_MAX 6
#define BOARD_STALE_PERIODS 3

/* Keep the runs of a page for the board (table mutex held); on NOMEM the board just
 * misses them until the next sweep. */
static void board_queue(hexrun__engine *e, const hexrun__hex_run *runs, size_t n)
{
    if (!hexrun__coord_has_board(e->coord) || n == 0)
        return;
    if (e->n_board_out + n > e->cap_board_out) {
        size_t cap = (e->n_board_out + n) * 2;
        hexrun__hex_run *grown = realloc(e->board_out, cap * sizeof *grown);
        if (!grown)
            return;
        e->board_out = grown;
        e->cap_board_out = cap;
    }
    memcpy(e->board_out + e->n_board_out, runs, n * sizeof *runs);
    e->n_board_out += n;
}

/* Put the kept runs on the board (engine thread, without the table mutex). */
static void board_flush(hexrun__engine *e)
{
    if (!hexrun__coord_has_board(e->coord))
        return;
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__hex_run *runs = e->board_out;
    size_t n = e->n_board_out;
    e->board_out = NULL;
    e->n_board_out = e->cap_board_out = 0;
    pthread_mutex_unlock(&e->jobs->mu);
    hexrun__coord_board_put(e->coord, runs, n);
    free(runs);
}

/* The run ids of a project poll's group (table mutex held); NULL on NOMEM. */
static char (*group_run_ids(hexrun__engine *e, const op *o, size_t *n))[HEXRUN__HEX_ID_MAX]
{
    size_t count = 0;
    for (const op *p = o->group; p; p = p->next)
        count++;
    char (*ids)[HEXRUN__HEX_ID_MAX] = calloc(count ? count : 1, sizeof *ids);
    *n = 0;
    for (const op *p = o->group; ids && p; p = p->next) {
        const hexrun__job *job = hexrun__jobs_find(e->jobs, p->job);
        if (job)
            snprintf(ids[(*n)++], sizeof ids[0], "%s", job->run_id);
    }
    return ids;
}

/* Hand each poll of a served group the board's run (table mutex held). A run the board
 * lacks (or saw too long ago) is asked again at the next read,
 * and polled alone after BOARD_MISSES_MAX such reads. Reads come four times a period: they
 * cost the store a statement, not Hex a request, and the sweep's news reach the job sooner. */
static void board_apply(hexrun__engine *e, op *o, const hexrun__hex_run *runs,
                        const int64_t *ages, size_t n, int64_t now)
{
    int64_t period = sweep_period_ms(e);
    op *p = o->group;
    o->group = NULL;
    while (p) {
        op *next = p->next;
        hexrun__job *job = hexrun__jobs_find(e->jobs, p->job);
        const hexrun__hex_run *run = job ? run_find(runs, n, job->run_id) : NULL;
        if (run && ages[run - runs] > BOARD_STALE_PERIODS * period)
            run = NULL;
        p->board_misses = run ? 0 : p->board_misses + 1;
        p->sent_ms = now - period + period / 4; /* poll_apply: due a quarter period on */
        if (!job) {
            op_free(p);
        } else if (!run && p->board_misses >= BOARD_MISSES_MAX) {
            poll_set_solo(e, p);
            reschedule(e, p, 0);
        } else if (!poll_apply(e, p, job, run)) {
            op_free(p);
        }
        p = next;
    }
}

/* A due project poll while another client holds the project's lease: answered from the
 * board, without a request to Hex or budget (returns 1: o was taken off the poll lane and
 * consumed). 0: this client sweeps (or there is no board): poll Hex as usual. */
static int board_serve(hexrun__engine *e, op *o, int64_t now)
{
    if (o->kind != OP_PROJECT_POLL || o->pages > 0 || !hexrun__coord_has_board(e->coord))
        return 0;
    size_t n_ids = 0, n_runs = 0;
    pthread_mutex_lock(&e->jobs->mu);
    char (*ids)[HEXRUN__HEX_ID_MAX] = group_run_ids(e, o, &n_ids);
    int64_t period = sweep_period_ms(e);
    pthread_mutex_unlock(&e->jobs->mu);
    if (!ids)
        return 0;
    hexrun__hex_run *runs;
    int64_t *ages;
    /* The lease outlives a period by another: the holder's sweeps come a period apart
     * plus its queueing and the store's round trips, and a lease that lapsed between two
     * of them would pass to a reader, which would sweep too. */
    hexrun__board_verdict v = hexrun__coord_board_step(e->coord, o->project_id, 2 * period,
                                                       ids, n_ids, &runs, &ages, &n_runs);
    free(ids);
    if (v != HEXRUN__BOARD_READ)
        return 0;
    e->polls = o->next;
    pthread_mutex_lock(&e->jobs->mu);
    e->board_reads++;
    board_apply(e, o, runs, ages, n_runs, now);
    pthread_mutex_unlock(&e->jobs->mu);
    op_free(o);
    free(runs);
    free(ages);
    return 1;
}

/* An answer to GetRunStatus that asking again cannot change: a 4xx other than 408 and
 * 429. That is 401, 403 and 404, and also the 400 and 422 Hex's spec declares for the
 * endpoint (it declares no 404): this client cannot see the run. */
static int poll_answer_final(const hexrun__http_resp *r)
{
    return r->error == HEXRUN_OK && r->status >= 400 && r->status < 500 && r->status != 408 &&
           r->status != 429;
}

static int poll_failed(hexrun__engine *e, op *o, hexrun__job *job, int code,
                       const hexrun__http_resp *r)
{
    /* Anything else (5xx, transport) may pass: the poll is asked again later. */
    int gone = poll_answer_final(r);
    job_fail(e, o, job, code, r, gone ? HEXRUN_STATE_LOST : -1);
    if (gone)
        return 0;
    o->attempt = 0;
    reschedule(e, o, e->cfg->poll_max_ms);
    return 1;
}

/* The job's poll, now (engine thread, table mutex held): a waiting poll (alone or in a
 * project's group) is made due now, in the interactive lane; one in flight is flagged, so
 * that its answer plans the next poll at once. */
static void poll_soon(hexrun__engine *e, hexrun__job *job)
{
    op *o = poll_take_out(e, job->id);
    job->poll_soon = !o;
    if (o) {
        o->urgent = 1;
        reschedule(e, o, 0);
    }
}

/* Hex answered CancelRun. A 2xx says Hex took the cancel, not that the run is KILLED: Hex
 * may kill it later, or the run may have ended (COMPLETED) just before. So the job keeps
 * following GetRunStatus, asked at once, and reports what Hex reports. While the client
 * stops no poll is left to ask: Hex's 2xx is taken as the run's end. */
static void cancel_answered(hexrun__engine *e, const op *o, hexrun__job *job,
                            const hexrun__http_resp *r, int code)
{
    if (code != HEXRUN_OK) {
        job_fail(e, o, job, code, r, -1);
        if (!e->cancel_error)
            e->cancel_error = code;
    } else if (e->stopping) {
        if (hexrun_state_is_terminal(job->state) == 0)
            hexrun__job_note_cancelled(job);
        if (hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED) > 0)
            hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=cancelled job=%lld run=%s",
                              (long long)job->id, job->run_id);
        return;
    } else {
        job->cancel_accepted = 1;
        hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                          "event=cancel_accepted job=%lld run=%s (the state follows Hex's "
                          "status of the run)",
                          (long long)job->id, job->run_id);
    }
    if (hexrun_state_is_terminal(job->state) == 0)
        poll_soon(e, job);
}

static int job_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job)
        return 0;
    hexrun__retry_kind kind = hexrun__retry_kind_of(o->method);
    switch (o->kind) {
    case OP_SUBMIT:
        if (code == HEXRUN_OK)
            return submit_succeeded(e, o, job, r);
        if (hexrun__retry_outcome_unknown(kind, r))
            adopt_begin(e, o, job, r, code);
        else
            job_fail(e, o, job, code, r, HEXRUN_STATE_SUBMIT_FAILED);
        if (job->state == HEXRUN_STATE_SUBMIT_FAILED)
            journal_note_add(e, 'F', job, unix_ms());
        return 0;
    case OP_POLL:
        return code == HEXRUN_OK ? poll_succeeded(e, o, job, r) : poll_failed(e, o, job, code, r);
    case OP_CANCEL:
        cancel_answered(e, o, job, r, code);
        return 0;
    case OP_ADOPT:
        return adopt_result(e, o, r, code);
    case OP_DIRECT:
    case OP_PROJECT_POLL:
        break;
    }
    return 0;
}

static void direct_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__direct *d = o->direct;
    d->status = r->status;
    if (r->error == HEXRUN_OK)
        d->response = hexrun__http_take_body(r); /* handed over, not copied */
    char msg[1536] = "", trace[HEXRUN__HEX_ID_MAX];
    if (code != HEXRUN_OK)
        describe_failure(e, o, r, code, trace, msg, sizeof msg);
    if (code != HEXRUN_OK && o->skipped_retry_ms) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "; not retried: the wait Hex asks for (%lld s) "
                 "passes this call's deadline (%lld s from its start)",
                 (long long)(o->skipped_retry_ms + 999) / 1000,
                 (long long)direct_deadline_span(e->cfg) / 1000);
    }
    if (r->error == HEXRUN_OK && !d->response) {
        code = HEXRUN_E_NOMEM;
        snprintf(msg, sizeof msg, "%s: out of memory while keeping the response",
                 op_endpoint(o));
    }
    direct_finish(e, o, code, msg);
}

/* A job's request is repeated after `delay` ms: its info says why it waits (table mutex
 * held). */
static void note_retry_wait(hexrun__engine *e, const op *o, const hexrun__http_resp *r,
                            int64_t delay, int64_t retry_after)
{
    hexrun__job *job = o->kind == OP_DIRECT ? NULL : hexrun__jobs_find(e->jobs, o->job);
    if (!job)
        return;
    char when[32], cause[128];
    int64_t at = now_ms() + delay;
    iso_of(at, when, sizeof when);
    if (r->error != HEXRUN_OK)
        snprintf(cause, sizeof cause, "%s", hexrun_strerror(r->error));
    else if (retry_after >= 0 && r->retry_after)
        snprintf(cause, sizeof cause, "HTTP %d with Retry-After: %.40s%s", r->status,
                 r->retry_after,
                 retry_after >= HEXRUN__RETRY_AFTER_MAX_MS ? " (capped at an hour)" : "");
    else
        snprintf(cause, sizeof cause, "HTTP %d", r->status);
    snprintf(job->waiting_for, sizeof job->waiting_for, "%s retry %d of %d at %s (in %lld s) "
             "after %s", op_endpoint(o), o->attempt, (int)e->cfg->max_retries, when,
             (long long)(delay + 999) / 1000, cause);
    job->waiting_until_ms = at;
}

/* Returns 1 when the attempt will be repeated (o requeued). */
static int maybe_retry(hexrun__engine *e, op *o, const hexrun__http_resp *r)
{
    const char *method = o->kind == OP_DIRECT ? o->direct->method : o->method;
    if (e->stopping || o->attempt > e->cfg->max_retries ||
        !hexrun__retry_should(hexrun__retry_kind_of(method), r))
        return 0;
    int64_t after = hexrun__retry_after_parse(r->retry_after, time(NULL));
    if (after >= 0 && (r->status == 429 || r->status == 503))
        budget_pause(e, op_uses_run_budget(o) ? HEXRUN__BUDGET_RUN : HEXRUN__BUDGET_API,
                     now_ms(), after);
    int64_t delay = hexrun__retry_backoff_ms(o->attempt, e->cfg->retry_base_ms,
                                             e->cfg->retry_max_ms, after, &e->rng);
    if (o->kind == OP_DIRECT && o->deadline_ms && now_ms() + delay > o->deadline_ms) {
        o->skipped_retry_ms = delay; /* its caller would wait past the deadline */
        return 0;
    }
    note_retry_wait(e, o, r, delay, after);
    hexrun__log_write(e->log, HEXRUN_LOG_DEBUG,
                      "event=retry endpoint=%s job=%lld attempt=%d status=%d delay_ms=%lld",
                      op_endpoint(o), (long long)o->job, o->attempt, r->status,
                      (long long)delay);
    e->retries++;
    reschedule(e, o, delay);
    return 1;
}

static void on_done(const hexrun__http_resp *resp, void *ud)
{
    op *o = ud;
    hexrun__engine *e = o->engine;
    e->polls_in_flight -= op_is_poll(o);
    pthread_mutex_lock(&e->jobs->mu);
    stats_count(e, o, resp);
    int consumed = maybe_retry(e, o, resp);
    if (!consumed) {
        int code = resp->error != HEXRUN_OK ? resp->error
                                            : hexrun__http_error_from_status(resp->status);
        if (o->kind == OP_DIRECT)
            direct_result(e, o, resp, code);
        else if (o->kind == OP_PROJECT_POLL)
            consumed = project_poll_result(e, o, resp, code);
        else
            consumed = job_result(e, o, resp, code);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    if (!consumed)
        op_free(o);
}

/* ---- the thread ---- */

/* Move queued ops into pending (table mutex held). While stopping, only cancels run. */
static void take_incoming(hexrun__engine *e)
{
    /* incoming is newest first: build each lane's chain oldest first (arrival order among
     * equal due times), then insert the chains. */
    op *first[2] = {NULL, NULL}, *last[2] = {NULL, NULL};
    int64_t now = now_ms();
    for (op *o = e->incoming, *next; o; o = next) {
        next = o->next;
        int lane = op_is_poll(o);
        o->due_ms = now;
        if (o->kind == OP_POLL)
            poll_track_new(e, o);
        o->next = first[lane];
        first[lane] = o;
        if (!last[lane])
            last[lane] = o;
    }
    e->incoming = NULL;
    lane_insert_chain(&e->pending, first[0], last[0], now);
    lane_insert_chain(&e->polls, first[1], last[1], now);
}

/* While stopping: a cancel, or the lookup for the run of a job to be cancelled whose
 * RunProject answer was lost (table mutex held). */
static int op_serves_cancel(const hexrun__engine *e, const op *o)
{
    if (o->kind == OP_CANCEL)
        return 1;
    const hexrun__job *job = o->kind == OP_ADOPT ? hexrun__jobs_find(e->jobs, o->job) : NULL;
    return job && job->cancel_requested && job->adopt_since_ms;
}

/* A submit dropped before its RunProject went out (a retry waits only when nothing reached
 * Hex): with a cancel wanted, it ends KILLED, as a queued one does. */
static void submit_dropped(hexrun__engine *e, const op *o)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (job && job->cancel_requested && hexrun_state_is_terminal(job->state) == 0 &&
        !job->adopt_since_ms)
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED);
}

static void drop_pending(hexrun__engine *e, int keep_cancels)
{
    op **pp = &e->pending;
    while (*pp) {
        op *o = *pp;
        if (keep_cancels && op_serves_cancel(e, o)) {
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        if (o->kind == OP_DIRECT)
            direct_finish(e, o, HEXRUN_E_SHUTDOWN, "the client is shutting down");
        if (o->kind == OP_SUBMIT)
            submit_dropped(e, o);
        op_free(o);
    }
    for (op *o = e->polls, *next; o; o = next) {
        next = o->next;
        op_free(o);
    }
    e->polls = NULL;
}

static void *engine_main(void *arg)
{
    hexrun__engine *e = arg;
    /* This thread logs while it holds the table mutex: its lines reach the host's callback
     * only at the flushes below, where it holds no lock (hexrun_poll never waits on a
     * slow callback). */
    hexrun__log_defer(e->log, 1);
    for (;;) {
        pthread_mutex_lock(&e->jobs->mu);
        take_incoming(e);
        e->stat_poll_groups = poll_groups(e);
        e->stat_sweep_ms = sweep_period_ms(e);
        int stopping = e->stopping;
        int64_t deadline = e->drain_deadline_ms;
        if (stopping)
            drop_pending(e, 1);
        pthread_mutex_unlock(&e->jobs->mu);
        /* The drain is bounded: at the deadline whatever is in flight is aborted. */
        if (stopping && ((!e->pending && hexrun__http_in_flight(e->http) == 0) ||
                         now_ms() >= deadline))
            break;
        if (e->cfg->coalesce)
            coalesce_polls(e, now_ms());
        int64_t sleep = run_due_ops(e, now_ms());
        hexrun__log_flush(e->log);
        hexrun__http_run(e->http, (int)(sleep < 0 ? 0 : sleep));
        journal_flush(e);
        board_flush(e);
        hexrun__log_flush(e->log);
    }
    hexrun__log_defer(e->log, 0);
    return NULL;
}

int hexrun__engine_kick(hexrun__engine *e)
{
    pthread_mutex_lock(&e->jobs->mu);
    int rc = HEXRUN_OK;
    if (!e->started) {
        /* The host's signals (SIGINT in Python above all) stay with the host's threads. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&e->thread, NULL, engine_main, e) == 0)
            e->started = 1;
        else
            rc = HEXRUN_E_INTERNAL;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    hexrun__http_wakeup(e->http);
    return rc;
}

/* Every live job is to be cancelled: a queued one at once, one with a run by CancelRun,
 * and one whose RunProject is in flight (or unanswered) once its run is known. */
static void queue_cancels(hexrun__engine *e)
{
    for (size_t i = 0; i < e->jobs->n; i++) {
        hexrun__job *job = e->jobs->items[i];
        if (job->state == HEXRUN_STATE_QUEUED) {
            hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED);
        } else if (hexrun_state_is_terminal(job->state) == 0) {
            job->cancel_requested = 1;
            if (job->run_id[0] && !job->cancel_sent) {
                job->cancel_sent = 1;
                queue_op(e, OP_CANCEL, job->id, NULL);
            }
        }
    }
}

/* 1 when a job to be cancelled has no run id yet (its RunProject is in flight or its
 * answer was lost), 2 when one only waits for its CancelRun's answer, else 0. */
static int cancels_outstanding(const hexrun__engine *e)
{
    int found = 0;
    for (size_t i = 0; i < e->jobs->n; i++) {
        const hexrun__job *job = e->jobs->items[i];
        /* A cancel Hex accepted is done with: the run's end is Hex's to report. */
        if (hexrun_state_is_terminal(job->state) != 0 || job->cancel_accepted)
            continue;
        if (job->cancel_requested && !job->run_id[0])
            return 1;
        if (job->cancel_sent)
            found = 2;
    }
    return found;
}

/* After the engine thread: end every lookup still open (the journal keeps its key held),
 * and, for a cancelling shutdown, name the first job whose run may still be going on. */
static int stop_report(hexrun__engine *e, int cancel_live, char *err, size_t errlen)
{
    int rc = HEXRUN_OK;
    for (size_t i = 0; i < e->jobs->n; i++) {
        hexrun__job *job = e->jobs->items[i];
        if (job->adopt_since_ms)
            adopt_give_up(e, job, "the client shut down before the run could be found");
        int open = hexrun_state_is_terminal(job->state) == 0 ||
                   job->state == HEXRUN_STATE_SUBMIT_UNKNOWN;
        if (!cancel_live || !job->cancel_requested || job->cancel_accepted || !open ||
            rc != HEXRUN_OK)
            continue;
        rc = job->run_id[0] ? HEXRUN_E_TIMEOUT : HEXRUN_E_OUTCOME_UNKNOWN;
        char what[600];
        if (job->run_id[0])
            snprintf(what, sizeof what, "its CancelRun for run %s got no answer in time",
                     job->run_id);
        else
            snprintf(what, sizeof what, "its RunProject got no usable answer and its run "
                     "was not found in time, so it may be running: %s",
                     job->last_error.message ? job->last_error.message : "no answer");
        snprintf(err, errlen, "job %lld (project %s%s%s) was not cancelled: %s",
                 (long long)job->id, job->project_id,
                 job->idempotency_key ? ", idempotency key " : "",
                 job->idempotency_key ? job->idempotency_key : "", what);
    }
    return rc;
}

int hexrun__engine_stop(hexrun__engine *e, int cancel_live, int64_t drain_ms, char *err,
                        size_t errlen)
{
    err[0] = '\0';
    if (!e)
        return HEXRUN_OK;
    pthread_mutex_lock(&e->jobs->mu);
    if (cancel_live)
        queue_cancels(e);
    /* Only cancels are worth waiting for: a run the host asked to stop must not keep
     * running in Hex because the client went away. Anything else is aborted at once.
     * A RunProject in flight first needs its answer (or a lookup): twice the time. */
    int outstanding = cancels_outstanding(e);
    drain_ms = outstanding == 1 ? 2 * drain_ms : outstanding ? drain_ms : 0;
    int need_thread = e->incoming != NULL;
    pthread_mutex_unlock(&e->jobs->mu);
    if (need_thread)
        hexrun__engine_kick(e);
    pthread_mutex_lock(&e->jobs->mu);
    e->stopping = 1;
    e->drain_deadline_ms = now_ms() + drain_ms;
    int started = e->started;
    pthread_mutex_unlock(&e->jobs->mu);
    if (started) {
        hexrun__http_wakeup(e->http);
        pthread_join(e->thread, NULL);
    }
    /* Aborted attempts come back through on_done and finish their direct calls; their
     * lines wait like the engine thread's (which is gone now) until the lock is free. */
    hexrun__log_defer(e->log, 1);
    hexrun__http_free(e->http);
    pthread_mutex_lock(&e->jobs->mu);
    take_incoming(e);
    drop_pending(e, 0);
    int report = stop_report(e, cancel_live, err, errlen);
    pthread_mutex_unlock(&e->jobs->mu);
    journal_flush(e);
    hexrun__log_defer(e->log, 0);
    hexrun__coord_close(e->coord);
    free(e->board_out);
    free(e->reading);
    free(e->busy.ids);
    free(e->groups);
    int rc = e->cancel_error;
    if (rc != HEXRUN_OK)
        snprintf(err, errlen, "a CancelRun failed: %s", hexrun_strerror(rc));
    else
        rc = report;
    free(e);
    return rc;
}
