/*
 * budget.h - a client's rate budget (internal): for each of Hex's limit groups, a per
 * minute and a per hour window, so work waits for budget instead of earning 429s.
 *
 * Each window is a sliding log: it remembers the send times of the last `limit` requests
 * and allows another only when the oldest of them has left the window (plus 1/20 of it, for
 * clock and network jitter, and at least HEXRUN__BUDGET_MIN_MARGIN_MS). So no interval of
 * the window's length ever holds more than `limit` requests, whatever windows Hex counts
 * in (fixed or sliding), and a burst of up to the limit goes at once (what a batch of
 * submits and the interactive lane want).
 *
 * Two lanes draw from the api group. The interactive lane (cancels, adopt look-ups, direct
 * calls) waits only when the log is full. The poll lane spends the share the reserve leaves
 * (api_reserve_percent): a poll goes only while fewer than that share of the window's
 * requests, of either lane, were sent in the last window, and polls are paced at the
 * share's rate (a bucket of one), so steady polling is spread evenly instead of a burst and
 * a minute of silence. The reserve is thus never spent by polls: it stays for the
 * interactive lane and for other tools on the token.
 * A limit above HEXRUN__BUDGET_LOG_MAX (never Hex's) has no log; a bucket of half the limit,
 * refilled at half the rate, keeps the same guarantee alone.
 * Only the engine thread uses a budget, so it has no lock.
 */
#ifndef HEXRUN_BUDGET_H
#define HEXRUN_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define HEXRUN__BUDGET_LOG_MAX 2048
/* The least jitter margin of a window, in real ms: it only matters for windows shorter
 * than 20 times that (budget_time_scale above 12), i.e. against a fast-clock simulator. */
#define HEXRUN__BUDGET_MIN_MARGIN_MS 250

typedef struct hexrun__window {
    int64_t limit; /* requests per window; 0 = no limit */
    int64_t len_ms;
    uint32_t head, count; /* the log: count send times from log[head], oldest first */
    int64_t poll_share;   /* requests per window the poll lane may fill (<= limit) */
    double tokens;        /* the bucket of a window without a log */
    int64_t last_ms;
    double poll_tokens; /* the poll lane's pacing bucket (at most one) */
    int64_t poll_last_ms;
    int64_t log[HEXRUN__BUDGET_LOG_MAX];
} hexrun__window;

typedef struct hexrun__budget {
    hexrun__window minute, hour;
    int64_t paused_until_ms; /* a 429 or 503 with Retry-After stops the group until then */
} hexrun__budget;

/* per_min / per_hour: 0 turns that window off. time_scale >= 1 shortens both windows by
 * that factor (budget_time_scale: for a simulator whose clock runs faster).
 * reserve_percent (0..90): the share of each window the poll lane leaves free. */
void hexrun__budget_init(hexrun__budget *b, int64_t per_min, int64_t per_hour, int64_t time_scale,
                         int64_t reserve_percent, int64_t now_ms);

/* The interactive lane: take one request's worth of budget if both windows allow it now:
 * returns 0. Otherwise takes nothing and returns the ms to wait before it may succeed
 * (>= 1). */
int64_t hexrun__budget_take(hexrun__budget *b, int64_t now_ms);

/* The poll lane: as hexrun__budget_take, within the poll share and its pace. */
int64_t hexrun__budget_take_poll(hexrun__budget *b, int64_t now_ms);

/* The poll share's pace: the ms between two polls when polls alone use the budget (the
 * slower window decides); 0 when the budget is off. */
int64_t hexrun__budget_poll_interval_ms(const hexrun__budget *b);

/* Give back one request's worth taken by hexrun__budget_take that was not spent. */
void hexrun__budget_refund(hexrun__budget *b);

/* Count minute_n and hour_n more requests as sent at at_ms in the two windows (at most
 * each window's limit): they leave the windows then. For a budget that takes over from
 * another in the middle of its windows (the store's fallback, coord_pg.c): placing every
 * request at the newest one's time errs on the safe side. */
void hexrun__budget_seed(hexrun__budget *b, int64_t minute_n, int64_t hour_n, int64_t at_ms);

/* The ages at now_ms of the requests sent after after_ms that the group's longer window
 * still holds (at most max, oldest first): what a budget that stood in for another must
 * hand back to it (coord_pg.c). Returns how many. */
size_t hexrun__budget_sent_since(const hexrun__budget *b, int64_t after_ms, int64_t now_ms,
                                 int64_t *ages, size_t max);

/* Hold the group until now_ms + ms (keeps the later of two pauses). */
void hexrun__budget_pause(hexrun__budget *b, int64_t now_ms, int64_t ms);

/* The end of the group's pause (ms on the same clock), or 0 when it was never paused. */
int64_t hexrun__budget_paused_until(const hexrun__budget *b);

/*
 * A shared budget: the buckets of a token live in a file (budget_path), so every process
 * of the user on the host that opens the same file with the same token draws from one
 * budget. Each access is one read-modify-write of the token's slot under flock (the lock
 * goes with a process that dies). The file is opened without following a symlink and must
 * belong to the user and not be writable by others (file.h). A damaged file (truncated,
 * overwritten, indices out of range) never raises a signal: at open it is rebuilt or the
 * open fails with HEXRUN_E_IO; later, the token's slot is rebuilt with a warning. The file
 * is reset after a reboot (its clock is the boot's monotonic clock). Up to 32 tokens.
 */
typedef struct hexrun__shared_budget hexrun__shared_budget;

enum { HEXRUN__BUDGET_RUN = 0, HEXRUN__BUDGET_API = 1 };

/* limits: run per min, run per hour, api per min, api per hour (0 = off); time_scale and
 * the api group's reserve_percent as for hexrun__budget_init. The latest opener's settings
 * apply to the token's budget. log (may be NULL) receives the warnings about a damaged file.
 * Returns HEXRUN_OK, HEXRUN_E_IO (err names the path and the problem) or HEXRUN_E_NOMEM. */
int hexrun__shared_budget_open(const char *path, const char *token, const int64_t limits[4],
                               int64_t time_scale, int64_t reserve_percent, int64_t now_ms,
                               hexrun__log *log, hexrun__shared_budget **out, char *err,
                               size_t errlen);
void hexrun__shared_budget_close(hexrun__shared_budget *sb);

/* As hexrun__budget_take / _refund / _pause, for group HEXRUN__BUDGET_RUN or _API, and
 * hexrun__budget_take_poll for the api group. */
int64_t hexrun__shared_budget_take(hexrun__shared_budget *sb, int group, int64_t now_ms);
int64_t hexrun__shared_budget_take_poll(hexrun__shared_budget *sb, int64_t now_ms);
void hexrun__shared_budget_refund(hexrun__shared_budget *sb, int group);
void hexrun__shared_budget_pause(hexrun__shared_budget *sb, int group, int64_t now_ms, int64_t ms);
int64_t hexrun__shared_budget_paused_until(hexrun__shared_budget *sb, int group, int64_t now_ms);

/* How many times the file was found damaged and the token's slot rebuilt (for tests). */
int64_t hexrun__shared_budget_repairs(const hexrun__shared_budget *sb);

#endif
