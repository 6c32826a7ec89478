/* cron.c - cron expression parsing and next-fire computation (see cron.h). */
#include "cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct field_spec {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] is the value min + i, or NULL */
} field_spec;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
/* 7 is accepted as a second sunday, as in Vixie cron. */
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static const field_spec fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, day_names},
};

static const struct {
    const char *name, *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Reads one number or name at *p; advances *p. Returns 0 or -1 with err set. */
static int parse_value(const field_spec *f, const char **p, int *out, char *err, size_t n)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > 1000)
                break;
            s++;
        }
        if (v < f->min || v > f->max) {
            snprintf(err, n, "%s: value %ld out of range %d-%d", f->name, v, f->min, f->max);
            return -1;
        }
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
        isalpha((unsigned char)s[2]) && !isalpha((unsigned char)s[3])) {
        for (int i = 0; i <= f->max - f->min; i++) {
            if (f->names[i] && strncasecmp(s, f->names[i], 3) == 0) {
                *out = f->min + i;
                *p = s + 3;
                return 0;
            }
        }
        snprintf(err, n, "%s: unknown name '%.3s'", f->name, s);
        return -1;
    }
    snprintf(err, n, "%s: expected a number%s at '%s'", f->name, f->names ? " or a name" : "", s);
    return -1;
}

static int parse_step(const field_spec *f, const char **p, int *step, char *err, size_t n)
{
    const char *s = *p;
    if (*s != '/') {
        *step = 1;
        return 0;
    }
    s++;
    if (!isdigit((unsigned char)*s)) {
        snprintf(err, n, "%s: step must be a positive number", f->name);
        return -1;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (v < 1 || v > f->max + 1) {
        snprintf(err, n, "%s: step %ld out of range 1-%d", f->name, v, f->max + 1);
        return -1;
    }
    *step = (int)v;
    *p = end;
    return 0;
}

/* One list element: "*", "*" "/N", "A", "A-B", "A-B/N" or "A/N". */
static int parse_element(const field_spec *f, const char **p, uint64_t *bits, char *err, size_t n)
{
    int lo, hi, step;
    if (**p == '*') {
        (*p)++;
        lo = f->min;
        hi = f->max == 7 ? 6 : f->max;
    } else {
        if (parse_value(f, p, &lo, err, n) != 0)
            return -1;
        hi = lo;
        if (**p == '-') {
            (*p)++;
            if (parse_value(f, p, &hi, err, n) != 0)
                return -1;
            if (hi < lo) {
                snprintf(err, n, "%s: range %d-%d is backwards", f->name, lo, hi);
                return -1;
            }
        } else if (**p == '/') {
            hi = f->max;
        }
    }
    if (parse_step(f, p, &step, err, n) != 0)
        return -1;
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

static int parse_field(const field_spec *f, const char *text, uint64_t *bits, char *err, size_t n)
{
    const char *p = text;
    *bits = 0;
    for (;;) {
        if (parse_element(f, &p, bits, err, n) != 0)
            return -1;
        if (*p == '\0')
            return 0;
        if (*p != ',') {
            snprintf(err, n, "%s: unexpected '%c' in '%s'", f->name, *p, text);
            return -1;
        }
        p++;
    }
}

int cron_tz_valid(const char *tz)
{
    if (tz == NULL || strcmp(tz, "UTC") == 0)
        return 1;
    if (tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") || strlen(tz) >= CRON_TZ_MAX)
        return 0;
    for (const char *c = tz; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_-+", *c))
            return 0;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *expand_macro(const char *text, char *err, size_t n)
{
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (strcasecmp(text, macros[i].name) == 0)
            return macros[i].expansion;
    snprintf(err, n,
             "unknown macro '%s' (known: @yearly @annually @monthly @weekly @daily "
             "@midnight @hourly)",
             text);
    return NULL;
}

/* Splits text into exactly five whitespace-separated fields. */
static int split_fields(char *buf, char *parts[5], char *err, size_t n)
{
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (count == 5) {
            snprintf(err, n,
                     "expected 5 fields (minute hour day-of-month month day-of-week), "
                     "got more");
            return -1;
        }
        parts[count++] = tok;
    }
    if (count != 5) {
        snprintf(err, n,
                 "expected 5 fields (minute hour day-of-month month day-of-week), "
                 "got %d",
                 count);
        return -1;
    }
    return 0;
}

int cron_parse(cron_expr *out, const char *text, const char *tz, char *err, size_t n)
{
    if (text == NULL) {
        snprintf(err, n, "empty expression");
        return -1;
    }
    while (isspace((unsigned char)*text))
        text++;
    if (*text == '@' && (text = expand_macro(text, err, n)) == NULL)
        return -1;
    if (tz && *tz && !cron_tz_valid(tz)) {
        snprintf(err, n,
                 "unknown time zone '%s' (use UTC or an IANA name like "
                 "Europe/Paris)",
                 tz);
        return -1;
    }
    char buf[256];
    if (strlen(text) >= sizeof buf) {
        snprintf(err, n, "expression too long");
        return -1;
    }
    strcpy(buf, text);
    char *parts[5];
    if (split_fields(buf, parts, err, n) != 0)
        return -1;
    uint64_t bits[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], parts[i], &bits[i], err, n) != 0)
            return -1;
    memset(out, 0, sizeof *out);
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is sunday too */
    out->dom_restricted = parts[2][0] != '*';
    out->dow_restricted = parts[4][0] != '*';
    snprintf(out->tz, sizeof out->tz, "%s", tz && *tz ? tz : "UTC");
    return 0;
}

/* ---- civil calendar arithmetic, independent of any time zone ---- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* 0 = sunday (Sakamoto's method). */
static int weekday(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int day_matches(const cron_expr *c, int y, int m, int d)
{
    if (!(c->months & (1u << m)))
        return 0;
    int dom = (c->mdays >> d) & 1;
    int dow = (c->wdays >> weekday(y, m, d)) & 1;
    if (c->dom_restricted && c->dow_restricted)
        return dom || dow;
    return dom && dow;
}

/* ---- time zone conversion: TZ is switched around each call (single-threaded use) ---- */

typedef struct tz_scope {
    char *saved;
    int had;
} tz_scope;

static void tz_enter(tz_scope *s, const char *tz)
{
    const char *old = getenv("TZ");
    s->had = old != NULL;
    s->saved = old ? strdup(old) : NULL;
    setenv("TZ", tz, 1);
    tzset();
}

static void tz_leave(tz_scope *s)
{
    if (s->had && s->saved)
        setenv("TZ", s->saved, 1);
    else
        unsetenv("TZ");
    free(s->saved);
    tzset();
}

static int is_utc(const char *tz)
{
    return strcmp(tz, "UTC") == 0;
}

void cron_localtime(const char *tz, time_t t, struct tm *out)
{
    if (tz == NULL || is_utc(tz)) {
        gmtime_r(&t, out);
        return;
    }
    tz_scope s;
    tz_enter(&s, tz);
    localtime_r(&t, out);
    tz_leave(&s);
}

/*
 * The earliest instant whose local time (TZ already set) is y-m-d h:mi, or -1 when that
 * local time does not exist. Trying both DST flags finds both occurrences of a repeated
 * hour; the round trip rejects times inside a spring-forward gap.
 */
static time_t local_to_utc(int y, int m, int d, int h, int mi)
{
    time_t best = -1;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = m - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_isdst = dst};
        time_t t = mktime(&tm);
        struct tm back;
        if (t == (time_t)-1 || !localtime_r(&t, &back))
            continue;
        if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d ||
            back.tm_hour != h || back.tm_min != mi)
            continue;
        if (best == -1 || t < best)
            best = t;
    }
    return best;
}

static time_t civil_to_utc(int utc, int y, int m, int d, int h, int mi)
{
    if (utc) {
        struct tm tm = {
            .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
        return timegm(&tm);
    }
    return local_to_utc(y, m, d, h, mi);
}

/* The first matching minute of one day that is later than `after`, or -1. */
static time_t first_in_day(const cron_expr *c, int utc, int y, int m, int d, time_t after)
{
    for (int h = 0; h < 24; h++) {
        if (!(c->hours & (1u << h)))
            continue;
        for (int mi = 0; mi < 60; mi++) {
            if (!(c->minutes & ((uint64_t)1 << mi)))
                continue;
            time_t t = civil_to_utc(utc, y, m, d, h, mi);
            if (t != -1 && t > after)
                return t;
        }
    }
    return -1;
}

/* Far enough to find Feb 29 on a given weekday (28 years) with room to spare. */
#define CRON_SEARCH_DAYS (366 * 30)

int cron_next(const cron_expr *c, time_t after, time_t *out)
{
    int utc = is_utc(c->tz);
    tz_scope s;
    if (!utc)
        tz_enter(&s, c->tz);
    struct tm start;
    if (utc)
        gmtime_r(&after, &start);
    else
        localtime_r(&after, &start);
    int y = start.tm_year + 1900, m = start.tm_mon + 1, d = start.tm_mday;
    /* Begin a day early: a repeated local hour can map the previous civil day after us. */
    if (--d == 0) {
        if (--m == 0) {
            m = 12;
            y--;
        }
        d = days_in_month(y, m);
    }
    time_t found = -1;
    for (int i = 0; i < CRON_SEARCH_DAYS && found == -1; i++) {
        if (day_matches(c, y, m, d))
            found = first_in_day(c, utc, y, m, d, after);
        if (++d > days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    if (!utc)
        tz_leave(&s);
    if (found == -1)
        return -1;
    *out = found;
    return 0;
}
