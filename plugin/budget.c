/* budget.c - token buckets per limit group; see budget.h. */
#include "budget.h"

#include <math.h>

static void bucket_init(hexrun__bucket *k, int64_t per_window, int64_t window_ms,
                        int64_t now_ms)
{
    k->capacity = (double)per_window;
    k->tokens = k->capacity;
    k->per_ms = k->capacity / (double)window_ms;
    k->last_ms = now_ms;
}

void hexrun__budget_init(hexrun__budget *b, int64_t per_min, int64_t per_hour, int64_t now_ms)
{
    bucket_init(&b->minute, per_min, 60000, now_ms);
    bucket_init(&b->hour, per_hour, 3600000, now_ms);
    b->paused_until_ms = 0;
}

static void bucket_refill(hexrun__bucket *k, int64_t now_ms)
{
    if (now_ms > k->last_ms) {
        k->tokens = fmin(k->capacity, k->tokens + (double)(now_ms - k->last_ms) * k->per_ms);
        k->last_ms = now_ms;
    }
}

/* ms until the bucket holds one token (0 when it does, or when it is off). */
static int64_t bucket_wait(hexrun__bucket *k, int64_t now_ms)
{
    if (k->capacity <= 0)
        return 0;
    bucket_refill(k, now_ms);
    if (k->tokens >= 1.0)
        return 0;
    return (int64_t)ceil((1.0 - k->tokens) / k->per_ms);
}

int64_t hexrun__budget_take(hexrun__budget *b, int64_t now_ms)
{
    if (now_ms < b->paused_until_ms)
        return b->paused_until_ms - now_ms;
    int64_t wm = bucket_wait(&b->minute, now_ms);
    int64_t wh = bucket_wait(&b->hour, now_ms);
    int64_t wait = wm > wh ? wm : wh;
    if (wait > 0)
        return wait;
    if (b->minute.capacity > 0)
        b->minute.tokens -= 1.0;
    if (b->hour.capacity > 0)
        b->hour.tokens -= 1.0;
    return 0;
}

void hexrun__budget_refund(hexrun__budget *b)
{
    if (b->minute.capacity > 0)
        b->minute.tokens = fmin(b->minute.capacity, b->minute.tokens + 1.0);
    if (b->hour.capacity > 0)
        b->hour.tokens = fmin(b->hour.capacity, b->hour.tokens + 1.0);
}

void hexrun__budget_pause(hexrun__budget *b, int64_t now_ms, int64_t ms)
{
    if (now_ms + ms > b->paused_until_ms)
        b->paused_until_ms = now_ms + ms;
}
