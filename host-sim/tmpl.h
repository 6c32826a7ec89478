/*
 * tmpl.h - input parameter templates of schedule entries.
 *
 *   {{logical_date}}  the slot's time in UTC, ISO-8601:       2026-11-28T06:00:00Z
 *   {{ts}}            the slot's time in the entry's zone:    2026-11-28T07:00:00+01:00
 *   {{ds}}            the slot's date in the entry's zone:    2026-11-28
 *   {{date}}          the date of the actual fire, same zone (differs from ds when a
 *                     queued slot fires late, e.g. after midnight)
 * Spaces inside the braces are allowed ({{ ds }}). Anything else in braces is an error.
 */
#ifndef HEXRUN_HOST_TMPL_H
#define HEXRUN_HOST_TMPL_H

#include <stddef.h>
#include <time.h>

typedef struct tmpl_ctx {
    time_t slot;    /* the scheduled time */
    time_t fired;   /* when it actually fired */
    const char *tz; /* "UTC" or an IANA name */
} tmpl_ctx;

/*
 * Expand the templates of `in`. Returns a malloc'd string, or NULL with a message in err
 * (an unknown or unterminated template, or out of memory).
 */
char *tmpl_expand(const char *in, const tmpl_ctx *ctx, char *err, size_t err_size);

/* Format t as ISO-8601 in UTC ("...Z") into buf (at least 21 bytes). */
void tmpl_iso_utc(time_t t, char *buf, size_t size);

#endif
