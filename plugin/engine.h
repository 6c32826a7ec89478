/*
 * engine.h - one engine thread per client (internal): it alone drives the transport, and
 * runs a scheduler of submits, polls, cancels and direct calls with budgets and retries.
 *
 * Host threads never touch the transport. They change jobs and queue work under the job
 * table's mutex (the one lock of a client), then kick the engine, which starts its thread
 * on first use and wakes it. Results come back into the job table, with a broadcast on
 * its condition variable.
 */
#ifndef HEXRUN_ENGINE_H
#define HEXRUN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errors.h"
#include "hex.h"
#include "http.h"
#include "job.h"
#include "log.h"

typedef struct hexrun__engine hexrun__engine;

/* A blocking request of a host thread (the direct calls), filled in by the engine. */
typedef struct hexrun__direct {
    const char *endpoint; /* operationId, for stats and messages */
    const char *method;
    const char *path;  /* relative to <base_url>/api */
    const char *query; /* NULL or without '?' */
    const char *body;  /* NULL or JSON */
    int run_bucket;    /* 1: a RunProject, paid from the run budget */
    int done;          /* set (under the table mutex) when the fields below are final */
    int code;          /* HEXRUN_OK for 2xx, else the error */
    int status;        /* HTTP status, 0 when none */
    int attempts;
    char *response;                /* malloc'd body ("" when empty); NULL on failure w/o body */
    char message[HEXRUN__MSG_MAX]; /* redacted error text, "" on success */
} hexrun__direct;

/* A stopped engine for a resolved configuration (see hexrun__config_resolve). The
 * configuration, jobs and log are borrowed and must outlive the engine. */
int hexrun__engine_new(const hexrun_config *cfg, hexrun__jobs *jobs, hexrun__log *log,
                       hexrun__engine **out, char *err, size_t errlen);

/* What the engine takes from the world: its clocks and its transport (http.h's calls).
 * hexrun__engine_new gives it the real ones; a unit test gives a fake clock and canned
 * answers to hexrun__engine_new_io and drives the engine with hexrun__engine_round,
 * without its thread (tests/unit/check_engine.c). */
typedef struct hexrun__engine_io {
    int64_t (*now_ms)(void *ud);                         /* monotonic ms */
    int64_t (*unix_ms)(void *ud);                        /* wall-clock ms */
    int (*start)(void *ud, const hexrun__http_req *req); /* as hexrun__http_start */
    int (*run)(void *ud, int timeout_ms);                /* as hexrun__http_run */
    int (*in_flight)(void *ud);
    void (*wakeup)(void *ud);
    void (*free)(void *ud); /* at stop: answers still owed come back through done */
    void *ud;
    /* as hexrun__http_watch_fd: run also returns when fd is readable (NULL: not offered,
     * the store's news then wait for the engine's next wake-up) */
    void (*watch_fd)(void *ud, int fd);
} hexrun__engine_io;

/* hexrun__engine_new with io (copied; io->ud is borrowed until the engine stops). The job
 * table stamps its jobs with io->unix_ms from then on (job.h). */
int hexrun__engine_new_io(const hexrun_config *cfg, hexrun__jobs *jobs, hexrun__log *log,
                          const hexrun__engine_io *io, hexrun__engine **out, char *err,
                          size_t errlen);

/* One round of the engine thread's loop: take queued work, start what is due, let the
 * transport run until the next op is due (io.run), write the journal and the board.
 * Returns 0 once a stopping engine is done, else 1. Only the engine thread, or a test
 * whose engine never started it, calls it. */
int hexrun__engine_round(hexrun__engine *e);

/*
 * hexrun__engine_stop - stop the engine thread and free the engine. With cancel_live,
 * first sends CancelRun for every live run with a run id and waits for the answers, for
 * at most drain_ms; a job whose RunProject is in flight (or whose answer was lost) gets
 * its run from the answer (or a lookup, adopt.h) and then its CancelRun, within
 * 2 * drain_ms. Every direct call still waiting is finished with HEXRUN_E_SHUTDOWN.
 * Returns HEXRUN_OK, the first cancel error, HEXRUN_E_OUTCOME_UNKNOWN (a run that may exist
 * was not found in time) or HEXRUN_E_TIMEOUT (a CancelRun got no answer in time), with err
 * naming the job, project and key. Call without the table mutex.
 */
int hexrun__engine_stop(hexrun__engine *e, int cancel_live, int64_t drain_ms, char *err,
                        size_t errlen);

/* Queue work. Called WITH the table mutex held; then call hexrun__engine_kick without
 * it. Return HEXRUN_OK or HEXRUN_E_NOMEM (nothing queued). */
int hexrun__engine_queue_submit(hexrun__engine *e, int64_t job);
int hexrun__engine_queue_poll(hexrun__engine *e, int64_t job);
int hexrun__engine_queue_cancel(hexrun__engine *e, int64_t job);
int hexrun__engine_queue_direct(hexrun__engine *e, hexrun__direct *d);

/* Start the engine thread if needed and wake it. Without the table mutex. Returns
 * HEXRUN_OK or HEXRUN_E_INTERNAL when the thread cannot start. */
int hexrun__engine_kick(hexrun__engine *e);

/* The counters of hexrun_stats as JSON (malloc'd). Called WITH the table mutex held. */
char *hexrun__engine_stats_json(const hexrun__engine *e);

#endif
