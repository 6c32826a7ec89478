/*
 * coord_pg.h - the PostgreSQL coordination store (internal; see coord.h and
 * docs/coordination.md).
 *
 * libpq is loaded with dlopen("libpq.so.5") the first time a client names coord_url, so
 * the library does not link it. Every call is one statement on one connection; the engine
 * thread is the only user of a handle. The connection also LISTENs for the status board's
 * news (hexrun__pg_board_news). When the server cannot be reached the handle goes
 * offline: it logs that once, spends a local budget of 1/N of each limit (N = hexrun clients
 * the store last counted) that starts from 1/N of what the shared windows last held,
 * holds keyed submits (WAIT) and keeps journal records in memory; at most every
 * HEXRUN__PG_RETRY_MS it tries to reconnect, and on success writes the kept records, adds
 * what it sent meanwhile to the shared windows, logs once more and draws from the store
 * again. (After each failed attempt the wait doubles, up to HEXRUN__PG_RETRY_MAX_MS.)
 */
#ifndef HEXRUN_COORD_PG_H
#define HEXRUN_COORD_PG_H

#include <stddef.h>
#include <stdint.h>

#include "hex.h"
#include "journal.h"
#include "log.h"

#define HEXRUN__PG_RETRY_MS 2000
#define HEXRUN__PG_RETRY_MAX_MS 30000

typedef struct hexrun__pg hexrun__pg;

/* settings: run per min, run per hour, api per min, api per hour, budget_time_scale,
 * api_reserve_percent. token_hash: the token's SHA-256 in hex (the token is never sent).
 * Connects, installs or checks the schema and takes the client's session lock.
 * Returns HEXRUN_OK, HEXRUN_E_CONFIG (libpq missing, a newer schema), HEXRUN_E_IO (cannot
 * connect or install: err has the server's message) or HEXRUN_E_NOMEM. */
int hexrun__pg_open(const char *url, const char *token_hash, const int64_t settings[6],
                    int64_t now_ms, hexrun__log *log, hexrun__pg **out, char *err, size_t errlen);
void hexrun__pg_close(hexrun__pg *pg);

/* Budget operations on group HEXRUN__BUDGET_RUN or _API, as hexrun__shared_budget_*.
 * now_ms is the engine's monotonic clock; the store keeps time by the server's clock. */
int64_t hexrun__pg_take(hexrun__pg *pg, int group, int poll, int64_t now_ms);
void hexrun__pg_refund(hexrun__pg *pg, int group);
void hexrun__pg_pause(hexrun__pg *pg, int group, int64_t now_ms, int64_t ms);
int64_t hexrun__pg_paused_until(hexrun__pg *pg, int group, int64_t now_ms);

/* Journal operations, as hexrun__journal_* (type 'R', 'F' or 'U' for a note). */
int hexrun__pg_journal_begin(hexrun__pg *pg, const char *key, const char *project, int64_t now_ms,
                             int64_t stale_ms, hexrun__journal_claim *claim, char *err,
                             size_t errlen);
int hexrun__pg_journal_note(hexrun__pg *pg, char type, const char *key, const char *project,
                            const char *run_id, int64_t t_ms, char *err, size_t errlen);
int hexrun__pg_journal_knows_run(hexrun__pg *pg, const char *run_id);

/* The status board, as hexrun__coord_board_* (coord.h): returns 0 (sweep), 1 (read),
 * 2 (off: the store cannot be reached, or the board could not be read) or 3 (lease). */
int hexrun__pg_board_step(hexrun__pg *pg, const char *project, int64_t lease_ms,
                          const char (*run_ids)[HEXRUN__HEX_ID_MAX], size_t n,
                          hexrun__hex_run **runs, int64_t **ages, size_t *n_runs);
void hexrun__pg_board_put(hexrun__pg *pg, const hexrun__hex_run *runs, size_t n);
void hexrun__pg_board_release(hexrun__pg *pg, const char *project);
/* As hexrun__coord_board_fd and hexrun__coord_board_news. */
int hexrun__pg_board_fd(const hexrun__pg *pg);
typedef void (*hexrun__pg_news_fn)(void *ud, const char *project, const hexrun__hex_run *runs,
                                   size_t n); /* as coord.h's hexrun__board_news_fn */
size_t hexrun__pg_board_news(hexrun__pg *pg, hexrun__pg_news_fn news, void *ud);

/* Statements sent, and times the store was found unreachable (tests, stats). */
typedef struct hexrun__pg_stats {
    int64_t queries, outages, offline;
} hexrun__pg_stats;
void hexrun__pg_get_stats(const hexrun__pg *pg, hexrun__pg_stats *out);

#endif
