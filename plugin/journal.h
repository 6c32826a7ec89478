/*
 * journal.h - the submit journal (internal): a crash-safe record of which idempotency key
 * started which Hex run, shared by every process that opens the same file.
 *
 * Hex has no idempotency key, so hexrun keeps one: before a RunProject is sent the intent
 * (key, project, time, owner process) is appended and fsynced; after the answer, the run
 * id (or that no run was made). A later submit with the same key, in this process or any
 * other, after a crash or a task retry, reads the record and attaches to the run instead
 * of starting a second one. See docs/journal.md for the file format.
 *
 * Every call takes an exclusive flock(2) on the file for its duration, so processes
 * never interleave records; a call blocks at most as long as another's append + fsync.
 * A journal handle is used by one thread at a time (the engine thread).
 */
#ifndef HEXRUN_JOURNAL_H
#define HEXRUN_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hex.h"

typedef struct hexrun__journal hexrun__journal;

/* Open (creating with mode 0600) the journal at path and read it. Returns HEXRUN_OK,
 * HEXRUN_E_IO (err names the path and the system error) or HEXRUN_E_NOMEM. */
int hexrun__journal_open(const char *path, hexrun__journal **out, char *err, size_t errlen);
void hexrun__journal_close(hexrun__journal *j);

typedef enum {
    HEXRUN__JOURNAL_GO,      /* the key is free: the intent is recorded, send RunProject */
    HEXRUN__JOURNAL_ATTACH,  /* the key already has a run: track it (run_id) */
    HEXRUN__JOURNAL_WAIT,    /* a live process is submitting this key, or another key of
                                the project, now: ask again later */
    HEXRUN__JOURNAL_ADOPT,   /* a RunProject for the key was sent at since_ms and its
                                answer never recorded: look for its run (adopt.h) */
    HEXRUN__JOURNAL_CONFLICT /* the key names a run of another project (in run_id) */
} hexrun__journal_verdict;

/* The outcome of hexrun__journal_begin. */
typedef struct hexrun__journal_claim {
    hexrun__journal_verdict verdict;
    char run_id[HEXRUN__HEX_ID_MAX]; /* ATTACH: the run; CONFLICT: the other project */
    int64_t since_ms;                /* ADOPT: when the earlier RunProject was sent */
} hexrun__journal_claim;

/*
 * hexrun__journal_begin - decide, under the file lock, what a submit of project with this
 * key does, and for GO record the intent (owned by this process) at now_ms (unix ms).
 * An intent whose owner process is gone, or older than stale_ms, gives ADOPT.
 * Returns HEXRUN_OK (see claim) or HEXRUN_E_IO / HEXRUN_E_NOMEM with err filled.
 */
int hexrun__journal_begin(hexrun__journal *j, const char *key, const char *project, int64_t now_ms,
                          int64_t stale_ms, hexrun__journal_claim *claim, char *err, size_t errlen);

/* Record the answer for a key: its run (R), that no run was made so the key is free again
 * (F), or that the outcome stays unknown (U: a later submit looks for the run again).
 * Return HEXRUN_OK or HEXRUN_E_IO / HEXRUN_E_NOMEM with err filled. */
int hexrun__journal_run(hexrun__journal *j, const char *key, const char *project,
                        const char *run_id, int64_t now_ms, char *err, size_t errlen);
int hexrun__journal_failed(hexrun__journal *j, const char *key, const char *project, int64_t now_ms,
                           char *err, size_t errlen);
int hexrun__journal_unknown(hexrun__journal *j, const char *key, const char *project,
                            int64_t since_ms, char *err, size_t errlen);

/* 1 when the journal (as last read) records run_id for some key, else 0. */
int hexrun__journal_knows_run(const hexrun__journal *j, const char *run_id);

/* Figures for tests and stats: records in the file, keys held, corrupt lines skipped,
 * compactions done by this handle. */
typedef struct hexrun__journal_stats {
    size_t lines, keys, corrupt, compactions;
} hexrun__journal_stats;
void hexrun__journal_get_stats(const hexrun__journal *j, hexrun__journal_stats *out);

/* Rewrite the file with one record per live key (and none older than the retention), if
 * force or it has grown to more than twice that. Returns HEXRUN_OK or HEXRUN_E_IO. */
int hexrun__journal_compact(hexrun__journal *j, int force, char *err, size_t errlen);

#endif
