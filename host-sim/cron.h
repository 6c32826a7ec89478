/*
 * cron.h - 5-field cron expressions and their next fire times in a time zone.
 *
 * Syntax: "MIN HOUR DOM MON DOW" with lists (1,5), ranges (1-5), steps (a star then /15, 1-30/5,
 * 10/5 = 10-max/5), month names (jan..dec) and day names (sun..sat, 7 = sunday), plus the
 * macros @yearly @annually @monthly @weekly @daily @midnight @hourly. When both the
 * day-of-month and the day-of-week field are restricted (neither starts with '*'), a day
 * matches if EITHER matches (the classic cron OR rule); otherwise both must match.
 *
 * Time zones: "UTC" or an IANA name found in the zoneinfo database. Daylight saving:
 *  - a local time that does not exist (skipped by a spring-forward jump) does not fire;
 *  - a local time that happens twice (fall back) fires once, at its first occurrence.
 */
#ifndef HEXRUN_HOST_CRON_H
#define HEXRUN_HOST_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CRON_TZ_MAX 64

typedef struct cron_expr {
    uint64_t minutes;   /* bit n: minute n */
    uint32_t hours;     /* bit n: hour n */
    uint32_t mdays;     /* bit n: day of month n (1..31) */
    uint16_t months;    /* bit n: month n (1..12) */
    uint8_t wdays;      /* bit n: weekday n (0 = sunday) */
    int dom_restricted; /* the field did not start with '*' */
    int dow_restricted;
    char tz[CRON_TZ_MAX]; /* "UTC" or an IANA zone name */
} cron_expr;

/*
 * Parse an expression for a time zone (NULL or "" means UTC). Returns 0, or -1 with a
 * message naming the field and the problem written to err.
 */
int cron_parse(cron_expr *out, const char *text, const char *tz, char *err, size_t err_size);

/* 1 if tz is "UTC" or a zone in the zoneinfo database, else 0. */
int cron_tz_valid(const char *tz);

/*
 * The first fire time strictly after `after` (whole minutes). Returns 0, or -1 when the
 * expression never fires (e.g. "0 0 31 2 *").
 */
int cron_next(const cron_expr *c, time_t after, time_t *out);

/* Break t into local time in tz (the scheduler's templates use it). */
void cron_localtime(const char *tz, time_t t, struct tm *out);

#endif
