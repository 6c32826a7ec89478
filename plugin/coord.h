/*
 * coord.h - the coordination store (internal): where a client's rate budget and submit
 * journal live, behind one interface (docs/coordination.md).
 *
 *   in process   neither coord_url nor budget_path: the engine's own buckets (budget.h),
 *                no journal unless journal_path names one (no store is opened: NULL);
 *   one host     budget_path and/or journal_path: files every process of the host opens
 *                (budget.c, journal.c);
 *   many hosts   coord_url=postgresql://...: a PostgreSQL database every process on every
 *                machine names (coord_pg.c), for both the budget and the journal.
 *
 * Only the engine thread uses a store.
 */
#ifndef HEXRUN_COORD_H
#define HEXRUN_COORD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "journal.h"
#include "log.h"

typedef struct hexrun__coord hexrun__coord;

/* Open the store cfg names (*out = NULL when it names none). Returns HEXRUN_OK,
 * HEXRUN_E_CONFIG (coord_url with budget_path or journal_path, libpq missing),
 * HEXRUN_E_IO or HEXRUN_E_NOMEM with err filled. now_ms: the engine's monotonic clock. */
int hexrun__coord_open(const hexrun_config *cfg, int64_t now_ms, hexrun__log *log,
                       hexrun__coord **out, char *err, size_t errlen);
void hexrun__coord_close(hexrun__coord *c);

/* 1 when the store holds the budget (else the engine's own buckets apply), or a journal. */
int hexrun__coord_has_budget(const hexrun__coord *c);
int hexrun__coord_has_journal(const hexrun__coord *c);

/* The budget, as hexrun__shared_budget_* (budget.h). */
int64_t hexrun__coord_take(hexrun__coord *c, int group, int64_t now_ms);
int64_t hexrun__coord_take_poll(hexrun__coord *c, int64_t now_ms);
void hexrun__coord_refund(hexrun__coord *c, int group);
void hexrun__coord_pause(hexrun__coord *c, int group, int64_t now_ms, int64_t ms);
int64_t hexrun__coord_paused_until(hexrun__coord *c, int group, int64_t now_ms);

/* The journal, as hexrun__journal_* (journal.h); note: type 'R', 'F' or 'U'. */
int hexrun__coord_journal_begin(hexrun__coord *c, const char *key, const char *project,
                                int64_t now_ms, int64_t stale_ms,
                                hexrun__journal_claim *claim, char *err, size_t errlen);
int hexrun__coord_journal_note(hexrun__coord *c, char type, const char *key,
                               const char *project, const char *run_id, int64_t t_ms,
                               char *err, size_t errlen);
int hexrun__coord_journal_knows_run(hexrun__coord *c, const char *run_id);

/* The SHA-256 of s as 64 hex digits: how the store names a token (never the token). */
void hexrun__coord_token_hash(const char *s, char out[65]);

#endif
