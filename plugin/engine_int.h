/*
 * engine_int.h - the engine's insides, shared by its files (internal to the engine: only
 * engine.c, results.c, polls.c, adopt.c, jsteps.c and stats.c include it).
 *
 *   engine.c   the thread, the queues and lanes, dispatch of due ops, budgets, stop
 *   results.c  answers: job results, direct results, retries
 *   polls.c    the poll lane's bookkeeping, coalesced project polls, the status board
 *   adopt.c    lookups for the run of an unanswered RunProject
 *   jsteps.c   the submit journal's steps
 *   stats.c    counters for hexrun_stats
 *
 * Locking: the table mutex (jobs->mu) guards the jobs and what is marked "under
 * jobs->mu"; the lanes and the poll bookkeeping are the engine thread's alone.
 */
#ifndef HEXRUN_ENGINE_INT_H
#define HEXRUN_ENGINE_INT_H

#include "budget.h"
#include "coord.h"
#include "engine.h"
#include "http.h"
#include "journal.h"
#include <stddef.h>
#include <stdint.h>

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
/* API runs of a project listed per lookup (a page of more is refused). */
#define ADOPT_LIMIT 100
#define ADOPT_TEXT_(n) #n
#define ADOPT_TEXT(n) ADOPT_TEXT_(n)
#define ADOPT_QUERY "limit=" ADOPT_TEXT(ADOPT_LIMIT) "&runTriggerFilter=API"
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

/* An op: one request of the engine, from its first attempt to its last answer. The fields
 * before the union are every kind's; the union holds each kind's own, and only the code of
 * that kind touches them (o->kind says which member is live; OP_CANCEL has none). */
typedef struct op {
    op_kind kind;
    int64_t job; /* 0 for OP_DIRECT and OP_PROJECT_POLL */
    int attempt; /* attempts made for the current request */
    int64_t due_ms;
    int64_t sent_ms;    /* when the last attempt went out (monotonic) */
    const char *method; /* the request (OP_DIRECT: its call's, not these) */
    char *path;
    hexrun__engine *engine;
    struct op *next;
    union {
        struct {
            char *body;           /* the RunProject body */
            int64_t sent_unix_ms; /* when the last attempt went out (wall clock) */
        } submit;
        struct {
            char project_id[HEXRUN__HEX_ID_MAX]; /* the job's */
            int solo;         /* always alone (the run was not on the project's page) */
            int urgent;       /* asked for by a cancel's answer: goes alone, in the
                                 interactive lane */
            int bad_answers;  /* unusable GetRunStatus answers in a row */
            int board_misses; /* board reads in a row that lacked its run (coord.h) */
        } poll;
        struct {
            hexrun__direct *call;     /* its caller's, answered by direct_finish */
            int64_t deadline_ms;      /* when its caller stops waiting (0 = never) */
            int64_t skipped_retry_ms; /* a retry not made: its wait passes deadline_ms */
        } direct;
        struct {
            char id[HEXRUN__HEX_ID_MAX];
            struct op *group;    /* the OP_POLL ops it answers */
            int64_t page_offset; /* the page being read */
            int pages;           /* pages read before this one */
        } project;               /* OP_PROJECT_POLL */
        struct {
            int failed_lookups; /* lookups whose answer could not be used */
        } adopt;
    };
} op;

/* What became of an op a handler was given: OP_FINISHED, done with (the caller frees it);
 * OP_REQUEUED, on a lane or in a project poll's group (put back, or left in its place:
 * the handler kept it; the caller lets go); OP_IN_FLIGHT, handed to the transport (its
 * answer comes to on_done; the caller lets go). The steps before a request (adopt_first,
 * journal_step, board_serve, op_prepare) also answer OP_SEND: nothing kept it, the
 * request goes out. */
typedef enum { OP_FINISHED, OP_REQUEUED, OP_SEND, OP_IN_FLIGHT } op_fate;

/* A journal record waiting to be written by the engine thread outside the table mutex
 * (an fsync must not stall hexrun_poll). */
typedef struct journal_note {
    char type; /* 'R', 'F' or 'U' (journal.h) */
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
    int complete; /* 0 after NOMEM: ask the jobs table instead */
} busy_projects;

/* A project with polls in the poll lane, so that the sweep period knows how many poll
 * requests a round takes (engine thread only). */
typedef struct poll_group {
    char project_id[HEXRUN__HEX_ID_MAX];
    int64_t polls; /* its OP_POLL ops not polled alone */
    int pages;     /* pages its last coalesced poll read; 0 before the first */
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
    hexrun__engine_io io; /* clocks and transport (engine.h) */
    pthread_t thread;
    int started;
    int stopping;              /* under jobs->mu */
    int64_t drain_deadline_ms; /* under jobs->mu, set with stopping */
    int cancel_error;          /* first cancel failure while draining */
    op *incoming;              /* queued by host threads, under jobs->mu */
    /* Two lanes, each sorted by due time (engine thread only): `pending` holds the
     * interactive lane (cancels, adopt look-ups, direct calls) and submits, `polls` the
     * poll lane, which runs only after the interactive lane and within its budget share. */
    op *pending;
    op *polls;
    int polls_in_flight;
    hexrun__budget budget[2]; /* HEXRUN__BUDGET_RUN, HEXRUN__BUDGET_API */
    /* The store (coord.h) of budget_path / journal_path / coord_url: its budget is used
     * instead of budget[] when it has one. NULL = none. Engine thread only. */
    hexrun__coord *coord;
    journal_note *notes; /* under jobs->mu */
    /* Runs this client's sweeps saw, for the store's status board (coord.h); put outside
     * the table mutex. Under jobs->mu. */
    hexrun__hex_run *board_out;
    size_t n_board_out, cap_board_out;
    char (*board_done)[HEXRUN__HEX_ID_MAX]; /* projects this client swept its last runs of */
    size_t n_board_done, cap_board_done;
    /* Projects whose pages a coalesced poll is reading now (engine thread): one reader per
     * project, or two would read the first pages twice while the last wait for budget. */
    char (*reading)[HEXRUN__HEX_ID_MAX];
    size_t n_reading, cap_reading;
    busy_projects busy; /* run_due_ops' scratch (engine thread) */
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
    int64_t board_reads; /* project polls answered from the status board (coord.h) */
    int board_woken;     /* board_listen made a poll due (engine thread) */
};

/* The engine's clocks (engine.h's hexrun__engine_io): monotonic ms for due times and
 * budgets, wall-clock ms compared with the start times Hex reports. */
static inline int64_t now_ms(const hexrun__engine *e)
{
    return e->io.now_ms(e->io.ud);
}

static inline int64_t unix_ms(const hexrun__engine *e)
{
    return e->io.unix_ms(e->io.ud);
}

/* engine.c */
op *op_new(hexrun__engine *e, op_kind kind, int64_t job);
int64_t direct_deadline_span(const hexrun_config *cfg);
void op_free(op *o);
void direct_finish(hexrun__engine *e, op *o, int code, const char *message);
int op_uses_run_budget(const op *o);
void budget_pause(hexrun__engine *e, int group, int64_t now, int64_t ms);
void iso_of(const hexrun__engine *e, int64_t mono_ms, char *out, size_t outlen);
void lane_add(hexrun__engine *e, op *o, int64_t due_ms);
void lane_insert_chain(op **lane, op *first, op *last, int64_t due);
void reschedule(hexrun__engine *e, op *o, int64_t delay_ms);
void follow_up(hexrun__engine *e, op_kind kind, int64_t job, int64_t delay_ms);

/* results.c */
void job_fail(hexrun__engine *e, const op *o, hexrun__job *job, int code,
              const hexrun__http_resp *r, int32_t state);
void job_update_from_run(hexrun__engine *e, hexrun__job *job, const hexrun__hex_run *run);
void job_out_of_memory(hexrun__engine *e, op_kind kind, int64_t id);
void cancel_if_requested(hexrun__engine *e, hexrun__job *job);
op_fate poll_apply(hexrun__engine *e, op *o, hexrun__job *job, const hexrun__hex_run *run);
void poll_soon(hexrun__engine *e, hexrun__job *job);
op_fate job_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code);
op_fate direct_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code);
int64_t retry_delay(hexrun__engine *e, op *o, const hexrun__http_resp *r);

/* polls.c */
void reading_remove(hexrun__engine *e, const char *project);
void poll_track(hexrun__engine *e, const op *o, int delta);
void poll_track_new(hexrun__engine *e, op *o);
int64_t poll_groups(const hexrun__engine *e);
int64_t sweep_period_ms(const hexrun__engine *e);
op *poll_take_out(hexrun__engine *e, int64_t job);
op_fate project_poll_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code);
void coalesce_polls(hexrun__engine *e, int64_t now);
void board_flush(hexrun__engine *e);
op_fate board_serve(hexrun__engine *e, op *o, int64_t now);
int board_listen(hexrun__engine *e);

/* adopt.c (the engine's part) */
void adopt_begin(hexrun__engine *e, const op *o, hexrun__job *job, const hexrun__http_resp *r,
                 int code);
void adopt_give_up(hexrun__engine *e, hexrun__job *job, const char *evidence);
op_fate adopt_first(hexrun__engine *e, op *o);
op_fate adopt_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code);

/* jsteps.c */
void journal_note_add(hexrun__engine *e, char type, const hexrun__job *job, int64_t t_ms);
void journal_flush(hexrun__engine *e);
op_fate journal_step(hexrun__engine *e, op *o);

/* stats.c */
const hexrun__hex_endpoint *op_hex_endpoint(const op *o);
const char *op_endpoint(const op *o);
void stats_count(hexrun__engine *e, const op *o, const hexrun__http_resp *r);

#endif
