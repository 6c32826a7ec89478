/*
 * budget.h - a client's rate budget (internal): two token buckets (per minute and per
 * hour) for each of Hex's limit groups, so work waits for budget instead of earning 429s.
 * Only the engine thread uses a budget, so it has no lock.
 */
#ifndef HEXRUN_BUDGET_H
#define HEXRUN_BUDGET_H

#include <stdint.h>

typedef struct hexrun__bucket {
    double capacity;      /* requests per window; 0 = no limit */
    double tokens;
    double per_ms;        /* refill rate */
    int64_t last_ms;
} hexrun__bucket;

typedef struct hexrun__budget {
    hexrun__bucket minute, hour;
    int64_t paused_until_ms; /* a 429 or 503 with Retry-After stops the group until then */
} hexrun__budget;

/* per_min / per_hour: 0 turns that bucket off. Buckets start full. */
void hexrun__budget_init(hexrun__budget *b, int64_t per_min, int64_t per_hour, int64_t now_ms);

/* Take one request's worth of budget if both buckets allow it now: returns 0. Otherwise
 * takes nothing and returns the ms to wait before it may succeed (>= 1). */
int64_t hexrun__budget_take(hexrun__budget *b, int64_t now_ms);

/* Give back one request's worth taken by hexrun__budget_take that was not spent. */
void hexrun__budget_refund(hexrun__budget *b);

/* Hold the group until now_ms + ms (keeps the later of two pauses). */
void hexrun__budget_pause(hexrun__budget *b, int64_t now_ms, int64_t ms);

#endif
