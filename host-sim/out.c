/* out.c - tables, JSON lines and time formatting (see out.h). */
#include "out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major, header row first */
};

static int add_cells(table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof *p);
        if (!p)
            return -1;
        t->cells = p;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "-");
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

table *table_new(size_t ncols, const char *const *headers)
{
    table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    if (add_cells(t, headers) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

int table_add(table *t, const char *const *cells) { return add_cells(t, cells); }

void table_print(const table *t, FILE *f)
{
    size_t width[32] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols && c < 32; c++) {
            size_t w = strlen(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c + 1 == t->ncols)
                fprintf(f, "%s\n", cell);
            else
                fprintf(f, "%-*s  ", (int)width[c < 32 ? c : 31], cell);
        }
    }
    fflush(f);
}

void table_free(table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void out_json_line(FILE *f, json_object *o)
{
    fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(f);
}

const char *out_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

const char *out_str2(json_object *o, const char *key, const char *sub)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return out_str(v, sub);
}

void out_time(const char *iso, char *buf, size_t size)
{
    if (!iso || !*iso) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%.19s", iso);
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
}

void out_duration(double ms, char *buf, size_t size)
{
    if (ms < 0)
        snprintf(buf, size, "-");
    else if (ms < 1000)
        snprintf(buf, size, "%.0fms", ms);
    else if (ms < 60000)
        snprintf(buf, size, "%.1fs", ms / 1000);
    else if (ms < 3600000)
        snprintf(buf, size, "%dm%02ds", (int)(ms / 60000), (int)(ms / 1000) % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(ms / 3600000), (int)(ms / 60000) % 60);
}

double out_parse_iso_ms(const char *iso)
{
    if (!iso)
        return -1;
    struct tm tm = {0};
    const char *rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    double frac = 0;
    if (*rest == '.') {
        double scale = 0.1;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            frac += (*rest - '0') * scale;
    }
    return (double)timegm(&tm) * 1000.0 + frac * 1000.0;
}
