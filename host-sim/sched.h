/*
 * sched.h - schedule files (the entries `hexrun-host schedule` runs) and their state file.
 *
 * A schedule file is JSON:
 *   {"state_file": "optional/path.state",
 *    "entries": [{"name": "daily-report", "cron": "0 6 * * 1-5",
 *                 "timezone": "Europe/Paris", "project": "<uuid>",
 *                 "params": {"day": "{{ds}}", "full": true},
 *                 "overlap": "skip" | "queue" | "allow",
 *                 "wait": true, "timeout": 3600}]}
 * Only name, cron and project are required. The state file (default: FILE.state) records
 * the last slot each entry fired, so a restarted scheduler never fires a slot twice.
 */
#ifndef HEXRUN_HOST_SCHED_H
#define HEXRUN_HOST_SCHED_H

#include "cron.h"
#include "tmpl.h"

#include <stddef.h>
#include <time.h>

typedef enum { OVERLAP_SKIP, OVERLAP_QUEUE, OVERLAP_ALLOW } overlap_policy;

typedef struct sched_entry {
    char name[128];
    char cron_text[128];
    cron_expr cron;
    char project[64];
    char *params_json; /* the params object as written (templates unexpanded); or NULL */
    overlap_policy overlap;
    int wait;         /* track the run to its end (needed for overlap and timeout) */
    double timeout_s; /* 0: none */
} sched_entry;

typedef struct sched_file {
    sched_entry *entries;
    size_t n;
    char *state_path;
} sched_file;

/* Load and check a schedule file. Returns 0, or -1 with the reason (and entry) in err. */
int sched_file_load(const char *path, sched_file *out, char *err, size_t err_size);
void sched_file_free(sched_file *f);

/* The RunProject options JSON for one fire: {"inputParams":{...}} with templates expanded. */
char *sched_entry_options(const sched_entry *e, const tmpl_ctx *ctx, char *err, size_t err_size);

const char *sched_overlap_name(overlap_policy p);

/* Last fired slot of each entry, by name. */
typedef struct sched_state {
    char **names;
    time_t *last_slot;
    size_t n;
} sched_state;

/* Read a state file; a missing file is an empty state. Returns 0 or -1 with err. */
int sched_state_load(const char *path, sched_state *st, char *err, size_t err_size);
/* Write atomically (temporary file, fsync, rename). Returns 0 or -1 with err. */
int sched_state_save(const char *path, const sched_state *st, char *err, size_t err_size);
/* The entry's last slot, or -1 when it never fired. */
time_t sched_state_get(const sched_state *st, const char *name);
int sched_state_set(sched_state *st, const char *name, time_t slot);
void sched_state_free(sched_state *st);

#endif
