/*
 * job.h - the job table of a client and the job state machine (internal).
 *
 * One mutex guards the whole table, and one condition variable is broadcast on every
 * change that a waiter may care about (a state change, a direct call finishing, shutdown).
 * Host threads and the engine thread take the mutex briefly; nothing blocks under it.
 * Ids start at 1, grow by one and are never reused, so a stale id is always unknown.
 */
#ifndef HEXRUN_JOB_H
#define HEXRUN_JOB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hex.h"
#include "hexrun.h"

#define HEXRUN__IDEMPOTENCY_KEY_MAX 256

typedef struct hexrun__job_error {
    int code;        /* HEXRUN_OK when there is none */
    int http_status; /* 0 when none */
    char *message;   /* redacted; NULL when none (heap: most jobs never fail) */
    char trace_id[HEXRUN__HEX_ID_MAX];
} hexrun__job_error;

typedef struct hexrun__job {
    int64_t id;
    int32_t state;
    char project_id[HEXRUN__HEX_ID_MAX];
    char run_id[HEXRUN__HEX_ID_MAX];        /* "" until Hex answered RunProject */
    char *run_url;                          /* NULL until Hex sent one */
    char hex_status[HEXRUN__HEX_SHORT_MAX]; /* "" until Hex reported one */
    char start_time[HEXRUN__HEX_SHORT_MAX];
    char end_time[HEXRUN__HEX_SHORT_MAX];
    char submitted_at[HEXRUN__HEX_SHORT_MAX]; /* ISO-8601 UTC, set when created */
    int64_t elapsed_ms;                       /* -1 until Hex reported it */
    char *idempotency_key;                    /* NULL when none */
    char *run_body;                           /* RunProject body; NULL for an attach */
    int dry_run;
    int attempts;                 /* HTTP attempts of the current request */
    int polls;                    /* GetRunStatus answers received */
    int cancel_requested;         /* cancel once the run id is known */
    int64_t adopt_since_ms;       /* > 0 while looking for the run that an
                                     unanswered RunProject sent at this unix
                                     ms may have created (adopt.h) */
    int adopt_lookups;            /* GetProjectRuns made for that */
    int64_t adopt_first_since_ms; /* > 0 for hexrun_submit_or_adopt: before
                                     sending RunProject, look for the run one
                                     sent at this unix ms by another process
                                     made; 0 once it sends or adopts */
    int cancel_sent;
    int cancel_accepted;      /* Hex answered CancelRun with a 2xx; the
                                 state follows GetRunStatus from then on */
    int poll_soon;            /* the next poll is wanted at poll_min_ms */
    char waiting_for[256];    /* why the next request waits ("" when it
                                 does not): a rate-limit pause, the
                                 budget, a retry's back-off */
    int64_t waiting_until_ms; /* what waiting_for was written for */
    hexrun__job_error last_error;
} hexrun__job;

/* Run ids of released jobs the table remembers, per project: an unanswered RunProject's
 * lookup must not take a run this client made earlier for its own (adopt.h). A lookup
 * reads a project's newest 100 runs, and a client makes the runs of a project in the order
 * of its job ids (one RunProject of a project at a time), so the released runs of the
 * highest job ids suffice: HEXRUN__JOBS_RELEASED_PER_PROJECT of them (more than 100 for
 * attached runs, whose ids follow no order), for the HEXRUN__JOBS_RELEASED_PROJECTS
 * projects released into most recently (about 9 KB each, allocated on first use). Runs
 * are released in the order they end, not the order they were made: a ring of the last
 * releases would forget a short run while long ones made before it still end. */
#define HEXRUN__JOBS_RELEASED_PER_PROJECT 128
#define HEXRUN__JOBS_RELEASED_PROJECTS 64

typedef struct hexrun__released_run {
    int64_t job;
    char run_id[HEXRUN__HEX_ID_MAX];
} hexrun__released_run;

typedef struct hexrun__released {
    char project_id[HEXRUN__HEX_ID_MAX];
    hexrun__released_run *runs; /* HEXRUN__JOBS_RELEASED_PER_PROJECT, unordered */
    size_t n;
    uint64_t last_use; /* the table's release count when last added to */
} hexrun__released;

typedef struct hexrun__jobs {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hexrun__job **items; /* sorted by id (ids only grow) */
    size_t n, cap;
    int64_t next_id;
    hexrun__released *released; /* per project, up to HEXRUN__JOBS_RELEASED_PROJECTS */
    size_t n_released;
    uint64_t releases;
    const struct hexrun__log *log; /* secrets to redact from what Hex sent (may be NULL) */
    /* The wall clock (ms since the epoch) jobs are stamped with: submitted_at, a cancel's
     * end time. The real one from hexrun__jobs_init; the engine's from hexrun__engine_new_io
     * on (engine.h's io), so that a fake clock given to the engine stamps them too. */
    int64_t (*unix_ms)(void *ud);
    void *clock_ud;
} hexrun__jobs;

int hexrun__jobs_init(hexrun__jobs *t);
void hexrun__jobs_destroy(hexrun__jobs *t);

/* The rest is called with t->mu held. */

/* A new job in `state` (QUEUED for a submit, PENDING for an attach), added to the table.
 * Copies the strings. Returns NULL on NOMEM. */
hexrun__job *hexrun__jobs_add(hexrun__jobs *t, int32_t state, const char *project_id,
                              const char *run_id, const char *run_body, int dry_run,
                              const char *idempotency_key);

hexrun__job *hexrun__jobs_find(const hexrun__jobs *t, int64_t id);

/* The job made with this idempotency key, or NULL. */
hexrun__job *hexrun__jobs_find_key(const hexrun__jobs *t, const char *key);

/* Remove and free a job (its run id joins the remembered ones). Returns 0, or -1 when the
 * id is unknown. */
int hexrun__jobs_release(hexrun__jobs *t, int64_t id);

/* 1 when a job of the table tracks run_id, or a released one of project_id did (among the
 * remembered ones above), else 0. */
int hexrun__jobs_knows_run(const hexrun__jobs *t, const char *project_id, const char *run_id);

/* Number of QUEUED jobs with a smaller id (the job's place in the submit queue). */
size_t hexrun__jobs_queue_position(const hexrun__jobs *t, const hexrun__job *job);

/*
 * hexrun__job_set_state - move a job to `state` if the state machine allows it:
 * a terminal state is final, QUEUED only leads to SUBMITTING or KILLED, and
 * SUBMITTING only to PENDING/RUNNING/terminal states. Returns 1 when the state changed,
 * 0 when it was already that state, -1 when the transition is refused.
 * Broadcasts t->cv on a change.
 */
int hexrun__job_set_state(hexrun__jobs *t, hexrun__job *job, int32_t state);

/* Record an error on the job (message already redacted). */
/* Replaces the run URL when it differs (called on every poll answer). */
void hexrun__job_set_run_url(hexrun__job *job, const char *url);

/* Hex accepted CancelRun: the run's status is KILLED and it ended now (the table's clock;
 * Hex reports no end time in its answer). */
void hexrun__job_note_cancelled(const hexrun__jobs *t, hexrun__job *job);

void hexrun__job_set_error(hexrun__job *job, int code, int http_status, const char *message,
                           const char *trace_id);

/* 1 if the transition from -> to is allowed (see hexrun__job_set_state). */
int hexrun__job_transition_ok(int32_t from, int32_t to);

/* The job as the JSON object of hexrun_job_info (malloc'd), or NULL on NOMEM. */
char *hexrun__job_to_json(const hexrun__jobs *t, const hexrun__job *job);

#endif
