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
#include "hex.h"
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
                                int64_t now_ms, int64_t stale_ms, hexrun__journal_claim *claim,
                                char *err, size_t errlen);
int hexrun__coord_journal_note(hexrun__coord *c, char type, const char *key, const char *project,
                               const char *run_id, int64_t t_ms, char *err, size_t errlen);
int hexrun__coord_journal_knows_run(hexrun__coord *c, const char *run_id);

/*
 * The status board (coord_url only): per project and token, one client at a time holds a
 * lease and polls Hex for everyone, putting the runs it sees on the board; the others read
 * the board instead of asking Hex. The lease expires lease_ms after its holder's last
 * sweep, so a client that dies is replaced by the next one whose poll is due.
 */
/* 1 when the store has a status board (coord_url). */
int hexrun__coord_has_board(const hexrun__coord *c);

typedef enum {
    HEXRUN__BOARD_SWEEP, /* this client holds the lease: poll Hex, then put the runs */
    HEXRUN__BOARD_READ,  /* another client swept within the period: use what the board has */
    HEXRUN__BOARD_OFF,   /* no board (no store, or it cannot be reached): poll Hex */
    HEXRUN__BOARD_LEASE  /* this client took the lease over (given up or lapsed): it sweeps
                            from now on; the board's runs come along, as for READ */
} hexrun__board_verdict;

/* Before polling project's runs run_ids (n of them, UUIDs): the verdict; for READ and
 * LEASE, *runs (malloc'ed, the caller frees it) holds the board's runs among run_ids
 * (*n_runs), and ages[i] how many ms ago run i was seen (malloc'ed too). lease_ms: how
 * long a sweep holds the lease. */
hexrun__board_verdict hexrun__coord_board_step(hexrun__coord *c, const char *project,
                                               int64_t lease_ms,
                                               const char (*run_ids)[HEXRUN__HEX_ID_MAX], size_t n,
                                               hexrun__hex_run **runs, int64_t **ages,
                                               size_t *n_runs);
/* Put the runs a sweep saw on the board (nothing when there is no board). */
void hexrun__coord_board_put(hexrun__coord *c, const hexrun__hex_run *runs, size_t n);
/* Give up this client's lease of project (it has no run of it left to poll). */
void hexrun__coord_board_release(hexrun__coord *c, const char *project);
/* The board's news: a put that changed a run's status (or put a new run), and a lease
 * given up, are announced to the token's other clients at once (PostgreSQL NOTIFY, in the
 * same transaction). board_fd is the socket that turns readable when news arrive (-1:
 * none, or offline); board_news hands each announcement of another client to news and
 * returns how many (it never blocks): the project, and the runs that changed (n of them;
 * NULL when the announcement could not carry them: read the board). */
typedef void (*hexrun__board_news_fn)(void *ud, const char *project, const hexrun__hex_run *runs,
                                      size_t n);
int hexrun__coord_board_fd(const hexrun__coord *c);
size_t hexrun__coord_board_news(hexrun__coord *c, hexrun__board_news_fn news, void *ud);

/* The SHA-256 of s as 64 hex digits: how the store names a token (never the token). */
void hexrun__coord_token_hash(const char *s, char out[65]);

#endif
