/* out.c - tables, JSON lines and time formatting (see out.h). */
#include "out.h"

#include <stdio.h>
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

int table_add(table *t, const char *const *cells)
{
    return add_cells(t, cells);
}

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

/* json-c escapes C0 controls but writes C1 (U+0080..U+009F, e.g. CSI U+009B) as raw UTF-8,
 * which some terminals obey: escape those too. They can only be inside strings, where
 * \u00NN is the same character. */
void out_json_line(FILE *f, json_object *o)
{
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            fprintf(f, "\\u00%02x", *++p);
        else
            fputc(*p, f);
    }
    fputc('\n', f);
    fflush(f);
}

/* 1 for a byte (or the UTF-8 lead of a C1 character) a terminal could act on. */
static int is_control(const unsigned char *p)
{
    return *p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
}

size_t out_clean(const char *in, char *out, size_t size)
{
    size_t o = 0, need = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        char esc[8];
        int n;
        if (!is_control(p))
            n = snprintf(esc, sizeof esc, "%c", *p);
        else if (*p == 0xc2)
            n = snprintf(esc, sizeof esc, "\\u00%02x", *++p);
        else if (*p == '\n' || *p == '\r' || *p == '\t')
            n = snprintf(esc, sizeof esc, "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else
            n = snprintf(esc, sizeof esc, "\\x%02x", *p);
        need += (size_t)n;
        if (o + (size_t)n < size) {
            memcpy(out + o, esc, (size_t)n);
            o += (size_t)n;
        }
    }
    if (size)
        out[o] = '\0';
    return need;
}

/* Strings from Hex (names, statuses, URLs, messages) reach a terminal: an escape sequence
 * in a project name must not recolour, retitle or clear it. The value is cleaned in the
 * object itself, so every later reader of it gets the clean text. */
const char *out_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!is_control(p))
            continue;
        size_t need = out_clean(s, NULL, 0);
        char *clean = malloc(need + 1);
        if (!clean)
            return "?";
        out_clean(s, clean, need + 1);
        json_object_set_string(v, clean);
        free(clean);
        return json_object_get_string(v);
    }
    return s;
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
