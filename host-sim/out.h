/* out.h - output of hexrun-host: aligned tables for people, JSON lines for machines. */
#ifndef HEXRUN_HOST_OUT_H
#define HEXRUN_HOST_OUT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

typedef struct table table;

table *table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (copied; NULL prints as "-"). Returns 0 or -1 (no memory). */
int table_add(table *t, const char *const *cells);
void table_print(const table *t, FILE *f);
void table_free(table *t);

/* One JSON object per line, flushed so a reader sees it at once. */
void out_json_line(FILE *f, json_object *o);

/* Copy in into out (snprintf rules) with control characters written visibly (\n, \x1b,
 * \u009b); returns the length the whole result needs. */
size_t out_clean(const char *in, char *out, size_t size);

/* A string member, or NULL when absent, null or not a string; control characters in it are
 * made visible (out_clean), so it is safe to print. */
const char *out_str(json_object *o, const char *key);
/* A nested string member "a.b", or NULL. */
const char *out_str2(json_object *o, const char *key, const char *sub);

/* "2026-11-28T20:01:02.123Z" -> "2026-11-28 20:01:02"; NULL -> "-". */
void out_time(const char *iso, char *buf, size_t size);
/* Milliseconds as "850ms", "4.1s", "3m05s", "2h03m". */
void out_duration(double ms, char *buf, size_t size);
/* Parse an ISO-8601 UTC timestamp (fractional seconds allowed) to unix ms; -1 if bad. */
double out_parse_iso_ms(const char *iso);

#endif
