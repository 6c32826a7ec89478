/*
 * libFuzzer target: cron expressions (host-sim/cron.c) and their next fire times.
 * Input: byte 0 picks the time zone (or says "the zone name follows up to a newline"),
 * bytes 1-4 the start time (seconds since 1970, little endian), the rest the expression.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zones[] = {
    "UTC", "Europe/Paris",     "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
    "",    "America/St_Johns", "Pacific/Chatham"};
#define N_ZONES (sizeof zones / sizeof zones[0])

/* The weekday/day-of-month rule from cron.h, checked against a broken-down local time. */
static int day_ok(const cron_expr *c, const struct tm *tm)
{
    int dom = (c->mdays >> tm->tm_mday) & 1;
    int dow = (c->wdays >> tm->tm_wday) & 1;
    return c->dom_restricted && c->dow_restricted ? dom || dow : dom && dow;
}

/* A fire time must be a whole minute whose local time every field accepts. */
static void check_fire(const cron_expr *c, time_t t)
{
    if (t % 60 != 0)
        abort();
    struct tm tm;
    cron_localtime(c->tz, t, &tm);
    if (!((c->minutes >> tm.tm_min) & 1) || !((c->hours >> tm.tm_hour) & 1) ||
        !((c->months >> (tm.tm_mon + 1)) & 1) || !day_ok(c, &tm))
        abort();
}

static void check_expr(const cron_expr *c, time_t after)
{
    /* Field bits outside each field's range would fire at impossible times. */
    if ((c->minutes >> 60) || (c->hours >> 24) || (c->mdays & 1) || (c->months & 1) ||
        (c->months >> 13) || (c->wdays >> 7) || !c->minutes || !c->hours || !c->mdays ||
        !c->months || !c->wdays)
        abort();
    time_t next;
    if (cron_next(c, after, &next) != 0)
        return;
    if (next <= after)
        abort();
    check_fire(c, next);
    /* Nothing fires in between: asking again from just before gives the same time. */
    time_t again;
    if (cron_next(c, next - 1, &again) != 0 || again != next)
        abort();
    /* The following fire time is later still and valid too. */
    time_t later;
    if (cron_next(c, next, &later) == 0) {
        if (later <= next)
            abort();
        check_fire(c, later);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    uint32_t start = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                     (uint32_t)data[4] << 24;
    memcpy(text, data + 5, size - 5);
    text[size - 5] = '\0';
    const char *tz = zones[data[0] % N_ZONES];
    char *expr = text;
    if (data[0] >= 0x80) { /* zone name from the input, up to a newline */
        char *nl = strchr(text, '\n');
        if (nl) {
            *nl = '\0';
            tz = text;
            expr = nl + 1;
        }
    }
    int tz_ok = cron_tz_valid(tz);
    char err[256];
    err[0] = '\0';
    cron_expr c;
    memset(&c, 0xa5, sizeof c);
    if (cron_parse(&c, expr, tz, err, sizeof err) == 0) {
        if (*tz && !tz_ok)
            abort(); /* parse must refuse a zone cron_tz_valid refuses */
        if (strcmp(c.tz, *tz ? tz : "UTC") != 0)
            abort();
        check_expr(&c, (time_t)start);
    } else if (!err[0] || !memchr(err, 0, sizeof err)) {
        abort();
    }
    free(text);
    return 0;
}
