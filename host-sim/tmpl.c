/* tmpl.c - template expansion for schedule parameters (see tmpl.h). */
#include "tmpl.h"

#include "cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tmpl_iso_utc(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ISO-8601 with the zone's offset, e.g. 2026-11-28T07:00:00+01:00. */
static void iso_local(time_t t, const char *tz, char *buf, size_t size)
{
    struct tm tm;
    cron_localtime(tz, t, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s%c%02ld:%02ld", base, sign, off / 3600, (off % 3600) / 60);
}

static void date_local(time_t t, const char *tz, char *buf, size_t size)
{
    struct tm tm;
    cron_localtime(tz, t, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
}

/* Writes the value of template `name` (length len) into val; -1 if unknown. */
static int template_value(const char *name, size_t len, const tmpl_ctx *ctx, char *val, size_t size)
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
    if (IS("logical_date"))
        tmpl_iso_utc(ctx->slot, val, size);
    else if (IS("ts"))
        iso_local(ctx->slot, ctx->tz, val, size);
    else if (IS("ds"))
        date_local(ctx->slot, ctx->tz, val, size);
    else if (IS("date"))
        date_local(ctx->fired, ctx->tz, val, size);
    else
        return -1;
    return 0;
#undef IS
}

typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* Expands the template that starts at *p (just after "{{"); advances *p past "}}". */
static int expand_one(const char **p, const tmpl_ctx *ctx, strbuf *b, char *err, size_t n)
{
    const char *close = strstr(*p, "}}");
    if (!close) {
        snprintf(err, n, "unterminated template '{{%.20s'", *p);
        return -1;
    }
    const char *name = *p, *end = close;
    while (name < end && *name == ' ')
        name++;
    while (end > name && end[-1] == ' ')
        end--;
    char val[64];
    if (template_value(name, (size_t)(end - name), ctx, val, sizeof val) != 0) {
        snprintf(err, n,
                 "unknown template '{{%.*s}}' (known: {{date}} {{ds}} {{ts}} "
                 "{{logical_date}})",
                 (int)(end - name), name);
        return -1;
    }
    *p = close + 2;
    return sb_add(b, val, strlen(val));
}

char *tmpl_expand(const char *in, const tmpl_ctx *ctx, char *err, size_t n)
{
    strbuf b = {0};
    const char *p = in;
    if (n)
        err[0] = '\0';
    int rc = sb_add(&b, "", 0);
    while (rc == 0 && *p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            rc = sb_add(&b, p, strlen(p));
            break;
        }
        rc = sb_add(&b, p, (size_t)(open - p));
        p = open + 2;
        if (rc == 0)
            rc = expand_one(&p, ctx, &b, err, n);
    }
    if (rc != 0) {
        if (n && !err[0])
            snprintf(err, n, "out of memory");
        free(b.s);
        return NULL;
    }
    return b.s;
}
