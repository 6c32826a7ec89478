/* hex.c - Hex API bodies <-> plain C structs; see hex.h. The only json-c user. */
#include "hex.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "budget.h"
#include "buf.h"
#include "errors.h"

#define EXCERPT_MAX 200

/* ---------------------------------------------------------------------------------------
 * Parsing helpers
 * ------------------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Parse exactly `len` bytes as one JSON document (strict: no trailing garbage, no
 * embedded NUL). *out is NULL for the document "null". Returns 0, or -1 with err filled
 * (HEXRUN_E_NOMEM when memory ran out: not the document's fault). */
static int parse_doc(const char *body, size_t len, json_object **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!body || len > (size_t)INT32_MAX - 1) {
        set_err(err, errlen, "%s", "no body or body too large to parse");
        return -1;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        set_err(err, errlen, "%s", "out of memory");
        return HEXRUN_E_NOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    /* A bare number at the end is finished by the end of input: a NUL fed on its own, so
     * the body is parsed where it lies (a copy would double a large answer's memory). */
    if (!root && jerr == json_tokener_continue) {
        root = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    int ok = jerr == json_tokener_success && end == len && len > 0;
    if (!ok) {
        json_object_put(root);
        root = NULL;
        set_err(err, errlen, "invalid JSON at byte %zu: %s", end,
                len == 0                       ? "empty body"
                : jerr == json_tokener_success ? "unexpected character"
                                               : json_tokener_error_desc(jerr));
    }
    json_tokener_free(tok);
    *out = root;
    return ok ? 0 : -1;
}

/* parse_doc for an object; *nomem (may be NULL) tells an out-of-memory failure apart. */
static json_object *parse_object_nomem(const char *body, size_t len, char *err, size_t errlen,
                                       int *nomem)
{
    json_object *root = NULL;
    int rc = parse_doc(body, len, &root, err, errlen);
    if (nomem)
        *nomem = rc == HEXRUN_E_NOMEM;
    if (rc != 0)
        return NULL;
    if (!json_object_is_type(root, json_type_object)) {
        set_err(err, errlen, "expected a JSON object, got %s",
                json_type_to_name(json_object_get_type(root)));
        json_object_put(root);
        return NULL;
    }
    return root;
}

static json_object *parse_object(const char *body, size_t len, char *err, size_t errlen)
{
    return parse_object_nomem(body, len, err, errlen, NULL);
}

static json_object *field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* Copy a string field into out. Absent or null gives "" (an error when required). */
static int get_string(json_object *obj, const char *key, char *out, size_t outlen, int required,
                      char *err, size_t errlen)
{
    json_object *v = field(obj, key);
    out[0] = '\0';
    if (!v) {
        if (!required)
            return HEXRUN_OK;
        set_err(err, errlen, "missing field '%s'", key);
        return HEXRUN_E_PROTOCOL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field '%s' is not a string", key);
        return HEXRUN_E_PROTOCOL;
    }
    size_t n = (size_t)json_object_get_string_len(v);
    if (n >= outlen || memchr(json_object_get_string(v), '\0', n)) {
        set_err(err, errlen, "field '%s' is too long or holds a NUL", key);
        return HEXRUN_E_PROTOCOL;
    }
    memcpy(out, json_object_get_string(v), n + 1);
    if (required && n == 0) {
        set_err(err, errlen, "field '%s' is empty", key);
        return HEXRUN_E_PROTOCOL;
    }
    return HEXRUN_OK;
}

/*
 * Optional fields never fail a run: Hex may send them longer, of another type or out of
 * the range the spec gives, and a job must not stall on a field it does not need.
 */

/* Copy at most outlen - 1 bytes of s, cut at a UTF-8 character boundary. */
static void copy_truncated(char *out, size_t outlen, const char *s, size_t n)
{
    if (n >= outlen) {
        n = outlen - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* s[n] would start the cut: drop the partial character before it */
    }
    memcpy(out, s, n);
    out[n] = '\0'; /* an embedded NUL ends the text earlier: harmless */
}

/* An optional text field: a string is kept (truncated to fit), a number or boolean is kept
 * as its JSON text, anything else (absent, null, object, array) gives "". */
static void get_text(json_object *obj, const char *key, char *out, size_t outlen)
{
    json_object *v = field(obj, key);
    out[0] = '\0';
    if (!v)
        return;
    if (json_object_is_type(v, json_type_string)) {
        copy_truncated(out, outlen, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
    } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double) ||
               json_object_is_type(v, json_type_boolean)) {
        const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (t)
            copy_truncated(out, outlen, t, strlen(t));
    }
}

/* runUrl: a string that fits, else "" (a truncated URL would lead somewhere else). */
static void get_url(json_object *obj, char *out, size_t outlen)
{
    json_object *v = field(obj, "runUrl");
    out[0] = '\0';
    if (v && json_object_is_type(v, json_type_string) &&
        (size_t)json_object_get_string_len(v) < outlen &&
        !memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)))
        memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
}

/* elapsedTime: milliseconds, or -1 when absent, null, not a number or out of range. */
static int64_t get_elapsed(json_object *obj)
{
    json_object *v = field(obj, "elapsedTime");
    if (!v || (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)))
        return -1;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < 0 || d > 9.0e15)
        return -1;
    return (int64_t)(d + 0.5); /* not llround: the library does not link libm */
}

/* A required id: a string with the UUID shape (ids go into request paths). */
static int get_uuid(json_object *obj, const char *key, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    int rc = get_string(obj, key, out, outlen, 1, err, errlen);
    if (rc == HEXRUN_OK && !hexrun__hex_is_uuid(out)) {
        set_err(err, errlen, "field '%s' is not a UUID: '%.40s%s'", key, out,
                strlen(out) > 40 ? "..." : "");
        out[0] = '\0';
        rc = HEXRUN_E_PROTOCOL;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------------------- */

int32_t hexrun__hex_state_from_status(const char *status)
{
    static const struct {
        const char *name;
        int32_t state;
    } map[] = {
        {"PENDING", HEXRUN_STATE_PENDING},
        {"RUNNING", HEXRUN_STATE_RUNNING},
        {"COMPLETED", HEXRUN_STATE_COMPLETED},
        {"ERRORED", HEXRUN_STATE_ERRORED},
        {"KILLED", HEXRUN_STATE_KILLED},
        {"UNABLE_TO_ALLOCATE_KERNEL", HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL},
    };
    for (size_t i = 0; status && i < sizeof map / sizeof *map; i++)
        if (strcmp(status, map[i].name) == 0)
            return map[i].state;
    return HEXRUN_STATE_UNKNOWN;
}

/* status: a non-empty string when required (truncated to fit: no status Hex knows is that
 * long, so it maps to UNKNOWN); optional in a RunProject answer. */
static int get_status(json_object *obj, int required, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    json_object *v = field(obj, "status");
    out[0] = '\0';
    if (v && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
        json_object_get_string(v)[0]) {
        copy_truncated(out, outlen, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
        return HEXRUN_OK;
    }
    if (!required)
        return HEXRUN_OK;
    if (!v)
        set_err(err, errlen, "missing field '%s'", "status");
    else
        set_err(err, errlen, "field 'status' is %s",
                json_object_is_type(v, json_type_string) ? "empty" : "not a string");
    return HEXRUN_E_PROTOCOL;
}

/* Fill a run from one run object; `need_status` for GetRunStatus-shaped objects. Only
 * runId and projectId (UUIDs) and, with need_status, status can fail it. */
static int run_from_object(json_object *obj, int need_status, hexrun__hex_run *run, char *err,
                           size_t errlen)
{
    memset(run, 0, sizeof *run);
    run->elapsed_ms = -1;
    if (!json_object_is_type(obj, json_type_object)) {
        set_err(err, errlen, "a run is not a JSON object");
        return HEXRUN_E_PROTOCOL;
    }
    int rc = get_uuid(obj, "runId", run->run_id, sizeof run->run_id, err, errlen);
    if (!rc)
        rc = get_uuid(obj, "projectId", run->project_id, sizeof run->project_id, err, errlen);
    if (!rc)
        rc = get_status(obj, need_status, run->status, sizeof run->status, err, errlen);
    if (rc)
        return rc;
    get_url(obj, run->run_url, sizeof run->run_url);
    get_text(obj, "startTime", run->start_time, sizeof run->start_time);
    get_text(obj, "endTime", run->end_time, sizeof run->end_time);
    get_text(obj, "traceId", run->trace_id, sizeof run->trace_id);
    get_text(obj, "runTrigger", run->run_trigger, sizeof run->run_trigger);
    get_text(obj, "projectVersion", run->project_version, sizeof run->project_version);
    run->elapsed_ms = get_elapsed(obj);
    run->state = run->status[0] ? hexrun__hex_state_from_status(run->status) : HEXRUN_STATE_PENDING;
    return HEXRUN_OK;
}

/* ---------------------------------------------------------------------------------------
 * A run object read in place (GetRunStatus, RunProject 201)
 *
 * Why: parsed whole by json-c, an answer costs about three times its size (the body, the
 * tokener's buffer, the copy json-c keeps of each string), and Hex, or anything between
 * it and us, may send one as large as max_response_bytes with every poll. So the body is
 * walked where it lies: every byte is checked against what json-c accepts with
 * JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 (json-c 0.16, quirks included: keys in
 * single quotes, NaN and Infinity, raw control characters in strings, integers that
 * saturate, a key ending at its first \u0000, depth 32, the last of duplicate keys wins),
 * and only the values of the fields a run uses go to json-c, cut to what those fields
 * can hold. Every other value is skipped without allocating. fuzz_hex_run checks the
 * result against the whole parse (hexrun__hex_parse_run_whole) on every input.
 * ------------------------------------------------------------------------------------- */

/* The fields run_from_object reads, and those of a GetProjectRuns page. */
static const char *const run_fields[] = {"runId",          "projectId",  "runUrl",  "status",
                                         "startTime",      "endTime",    "traceId", "runTrigger",
                                         "projectVersion", "elapsedTime"};
#define RUN_FIELDS (sizeof run_fields / sizeof *run_fields)
static const char *const page_fields[] = {"runs", "nextPage"};
enum { PAGE_RUNS, PAGE_NEXT, PAGE_FIELDS };
#define KEY_MAX 16 /* longer than every name above */

/* A string is handed to json-c up to the first character at which it decodes to this
 * many bytes, and a number up to this many characters (a longer one is rewritten to a
 * shorter one json-c reads the same): more than any field of a run holds. */
#define STRING_KEEP HEXRUN__HEX_URL_MAX
#define NUMBER_KEEP HEXRUN__HEX_SHORT_MAX
_Static_assert(HEXRUN__HEX_ID_MAX <= NUMBER_KEEP && HEXRUN__HEX_SHORT_MAX <= NUMBER_KEEP &&
                   NUMBER_KEEP <= STRING_KEEP,
               "a kept value must cover every field it can fill");

typedef struct {
    const char *p;
    size_t len, pos;
    enum json_tokener_error err;
} reader;

/* Where one value lies in the body and what json-c would make of it. */
typedef struct {
    int present;
    enum json_type type; /* json_type_double also for NaN and Infinity */
    size_t start, end;
    size_t cut;   /* a string: where its kept part ends (== end when it is kept whole) */
    size_t items; /* an array: how many values it holds */
} span;

/* The fields an object is read for: their names, and where the last value of each lies. */
typedef struct {
    const char *const *names;
    size_t count;
    span *at;
} wanted;

static int fail(reader *r, enum json_tokener_error e)
{
    r->err = r->pos >= r->len ? json_tokener_error_parse_eof : e;
    return -1;
}

static int peek(const reader *r)
{
    return r->pos < r->len ? (unsigned char)r->p[r->pos] : -1;
}

static void skip_ws(reader *r)
{
    while (r->pos < r->len && (r->p[r->pos] == ' ' || r->p[r->pos] == '\t' ||
                               r->p[r->pos] == '\n' || r->p[r->pos] == '\r'))
        r->pos++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* How many of the bytes from s (before end) are digits, or are '0' with only_zeros. */
static size_t digits(const char *s, const char *end, int only_zeros)
{
    const char *p = s;
    while (p < end && (only_zeros ? *p == '0' : is_digit(*p)))
        p++;
    return (size_t)(p - s);
}

static int hex4(const char *s, unsigned *cp)
{
    *cp = 0;
    for (int i = 0; i < 4; i++) {
        char c = (char)(s[i] | 0x20); /* lower case for letters; digits stay digits */
        if (!is_digit(s[i]) && (c < 'a' || c > 'f'))
            return -1;
        *cp = *cp << 4 | (unsigned)(is_digit(s[i]) ? s[i] - '0' : c - 'a' + 10);
    }
    return 0;
}

/* A multi-byte character as json-c checks it: a lead byte, then its count of continuation
 * bytes (json-c lets overlong forms and encoded surrogates pass). */
static int read_utf8(reader *r, unsigned char out[4], size_t *n)
{
    unsigned char c = (unsigned char)r->p[r->pos];
    size_t more = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 4;
    if (more == 4 || r->len - r->pos <= more)
        return fail(r, json_tokener_error_parse_utf8_string);
    for (size_t i = 0; i <= more; i++) {
        out[i] = (unsigned char)r->p[r->pos + i];
        if (i > 0 && (out[i] & 0xC0) != 0x80) {
            r->pos += i;
            return fail(r, json_tokener_error_parse_utf8_string);
        }
    }
    r->pos += more + 1;
    *n = more + 1;
    return 0;
}

/* A \u escape (r->pos after the u) decoded as json-c does: a high surrogate takes the low
 * one that follows it, a lone surrogate becomes U+FFFD. */
static int read_unicode(reader *r, unsigned char out[4], size_t *n)
{
    unsigned cp, lo;
    if (r->len - r->pos < 4 || hex4(r->p + r->pos, &cp) != 0)
        return fail(r, json_tokener_error_parse_string);
    r->pos += 4;
    if ((cp & 0xFC00) == 0xD800 && r->len - r->pos >= 6 && r->p[r->pos] == '\\' &&
        r->p[r->pos + 1] == 'u' && hex4(r->p + r->pos + 2, &lo) == 0 && (lo & 0xFC00) == 0xDC00) {
        r->pos += 6;
        cp = (((cp & 0x3FF) << 10) | (lo & 0x3FF)) + 0x10000;
    } else if ((cp & 0xF800) == 0xD800) {
        cp = 0xFFFD;
    }
    size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = k - 1; i > 0; i--, cp >>= 6)
        out[i] = (unsigned char)(0x80 | (cp & 0x3F));
    out[0] = (unsigned char)(lead[k] | cp);
    *n = k;
    return 0;
}

/* One character or escape of a string (r->pos on it), decoded into out[0..*n). */
static int read_unit(reader *r, unsigned char out[4], size_t *n)
{
    unsigned char c = (unsigned char)r->p[r->pos];
    if (c >= 0x80)
        return read_utf8(r, out, n);
    if (c == '\0') /* json-c stops at a NUL: the document ends early */
        return fail(r, json_tokener_error_parse_eof);
    *n = 1;
    r->pos++;
    if (c != '\\') {
        out[0] = c;
        return 0;
    }
    static const char esc_in[] = "\"\\/bnrtf", esc_out[] = "\"\\/\b\n\r\t\f";
    const char *e = r->pos < r->len && r->p[r->pos] ? strchr(esc_in, r->p[r->pos]) : NULL;
    if (e) {
        out[0] = (unsigned char)esc_out[e - esc_in];
        r->pos++;
        return 0;
    }
    if (peek(r) != 'u')
        return fail(r, json_tokener_error_parse_string);
    r->pos++;
    return read_unicode(r, out, n);
}

/* How many bytes from r->pos decode to themselves: ASCII but the quote, '\\' and NUL. */
static size_t plain_run(const reader *r, char quote)
{
    size_t i = r->pos;
    while (i < r->len && r->p[i] != quote && r->p[i] != '\\' && r->p[i] != '\0' &&
           (unsigned char)r->p[i] < 0x80)
        i++;
    return i - r->pos;
}

/* A string from its opening quote to after its closing one. key (NULL: not kept) receives
 * its first KEY_MAX decoded bytes and *keylen their count up to the first NUL, where
 * json-c's copy of a key ends (more than KEY_MAX: no name of a field); *cut is where the
 * string has decoded to STRING_KEEP bytes. */
static int read_string(reader *r, char *key, size_t *keylen, size_t *cut)
{
    char quote = r->p[r->pos++];
    size_t decoded = 0, klen = 0;
    int nul = 0;
    *cut = 0;
    while (r->pos < r->len && r->p[r->pos] != quote) {
        unsigned char out[4];
        size_t n = key ? 0 : plain_run(r, quote);
        if (n > 0) { /* the bulk of a large value, a byte at a time, no call per byte */
            if (!*cut && decoded + n >= STRING_KEEP)
                *cut = r->pos + (STRING_KEEP - decoded);
            decoded += n;
            r->pos += n;
            continue;
        }
        if (read_unit(r, out, &n) != 0)
            return -1;
        for (size_t i = 0; key && i < n && !nul; i++) {
            nul = out[i] == '\0';
            if (!nul && klen < KEY_MAX)
                key[klen] = (char)out[i];
            klen += !nul && klen <= KEY_MAX;
        }
        decoded += n;
        if (!*cut && decoded >= STRING_KEEP)
            *cut = r->pos;
    }
    if (r->pos >= r->len)
        return fail(r, json_tokener_error_parse_eof);
    r->pos++;
    if (keylen)
        *keylen = klen;
    if (!*cut)
        *cut = r->pos;
    return 0;
}

/* true, false, null, NaN or Infinity, spelt exactly (json-c's strict mode). */
static int read_word(reader *r, span *v)
{
    static const struct {
        const char *word;
        enum json_type type;
        enum json_tokener_error err;
    } words[] = {{"true", json_type_boolean, json_tokener_error_parse_boolean},
                 {"false", json_type_boolean, json_tokener_error_parse_boolean},
                 {"null", json_type_null, json_tokener_error_parse_null},
                 {"NaN", json_type_double, json_tokener_error_parse_null},
                 {"Infinity", json_type_double, json_tokener_error_parse_unexpected}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t n = strlen(words[i].word);
        if (r->p[r->pos] != words[i].word[0])
            continue;
        if (r->len - r->pos < n || memcmp(r->p + r->pos, words[i].word, n) != 0)
            return fail(r, words[i].err);
        r->pos += n;
        v->type = words[i].type;
        return 0;
    }
    return fail(r, json_tokener_error_parse_unexpected);
}

/* What strtod reads whole (json-c wants that of a number with '.', 'e' or 'E'). */
static int is_decimal(const char *s, const char *end)
{
    s += *s == '-';
    size_t n = digits(s, end, 0);
    const char *p = s + n;
    if (p < end && *p == '.') {
        size_t frac = digits(p + 1, end, 0);
        n += frac;
        p += 1 + frac;
    }
    if (n == 0)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p += 1 + (p + 1 < end && (p[1] == '+' || p[1] == '-'));
        size_t exp = digits(p, end, 0);
        if (exp == 0)
            return 0;
        p += exp;
    }
    return p == end;
}

/* A number: json-c takes the longest run of what can continue one, then reads it as an
 * int64 (negative; saturating), a uint64 (no leading zero unless it is 0; saturating) or,
 * with '.', 'e' or 'E', a double. "-Infinity" is a double too. */
static int read_number(reader *r, span *v)
{
    size_t start = r->pos;
    int is_double = 0, is_exp = 0, neg_ok = 1, pos_ok = 0;
    for (; r->pos < r->len; r->pos++) {
        char c = r->p[r->pos];
        int e = !is_exp && (c == 'e' || c == 'E');
        if (!is_digit(c) && !e && !(neg_ok && c == '-') && !(pos_ok && c == '+') &&
            !(!is_double && c == '.'))
            break;
        is_double |= e || c == '.';
        is_exp |= e;
        neg_ok = pos_ok = e || c == '.';
    }
    const char *s = r->p + start, *end = r->p + r->pos;
    if (end - s == 1 && *s == '-' && (peek(r) == 'I' || peek(r) == 'i'))
        return read_word(r, v); /* -Infinity */
    v->type = is_double ? json_type_double : json_type_int;
    int ok = is_double   ? is_decimal(s, end)
             : *s == '-' ? end - s > 1
                         : *s != '0' || digits(s, end, 1) == (size_t)(end - s);
    return ok ? 0 : fail(r, json_tokener_error_parse_number);
}

static int read_value(reader *r, int depth, span *v);

/* An object from '{' (r->pos) to after '}'; w (NULL: none) receives where the last value
 * of each of its fields lies. */
static int read_object(reader *r, int depth, const wanted *w)
{
    r->pos++;
    skip_ws(r);
    if (peek(r) == '}') {
        r->pos++;
        return 0;
    }
    for (;;) {
        if (peek(r) != '"' && peek(r) != '\'')
            return fail(r, json_tokener_error_parse_object_key_name);
        char key[KEY_MAX];
        size_t klen = 0, cut = 0;
        span v = {0};
        if (read_string(r, w ? key : NULL, &klen, &cut) != 0)
            return -1;
        skip_ws(r);
        if (peek(r) != ':')
            return fail(r, json_tokener_error_parse_object_key_sep);
        r->pos++;
        skip_ws(r);
        if (depth >= JSON_TOKENER_DEFAULT_DEPTH - 1)
            return fail(r, json_tokener_error_depth);
        if (read_value(r, depth + 1, &v) != 0)
            return -1;
        for (size_t i = 0; w && i < w->count; i++)
            if (strlen(w->names[i]) == klen && memcmp(w->names[i], key, klen) == 0)
                w->at[i] = v;
        skip_ws(r);
        if (peek(r) == '}') {
            r->pos++;
            return 0;
        }
        if (peek(r) != ',')
            return fail(r, json_tokener_error_parse_object_value_sep);
        r->pos++;
        skip_ws(r);
        if (peek(r) == '}') /* a trailing comma */
            return fail(r, json_tokener_error_parse_unexpected);
    }
}

static int read_array(reader *r, int depth, size_t *items)
{
    *items = 0;
    r->pos++;
    skip_ws(r);
    if (peek(r) == ']') {
        r->pos++;
        return 0;
    }
    for (;;) {
        span v = {0};
        if (depth >= JSON_TOKENER_DEFAULT_DEPTH - 1)
            return fail(r, json_tokener_error_depth);
        if (read_value(r, depth + 1, &v) != 0)
            return -1;
        ++*items;
        skip_ws(r);
        if (peek(r) == ']') {
            r->pos++;
            return 0;
        }
        if (peek(r) != ',')
            return fail(r, json_tokener_error_parse_array);
        r->pos++;
        skip_ws(r);
        if (peek(r) == ']') /* a trailing comma */
            return fail(r, json_tokener_error_parse_unexpected);
    }
}

/* Any value at `depth` (the document is at 0), recursing at most JSON_TOKENER_DEFAULT_DEPTH
 * times as json-c allows. */
static int read_value(reader *r, int depth, span *v)
{
    int c = peek(r), rc;
    v->present = 1;
    v->start = r->pos;
    if (c == '{') {
        v->type = json_type_object;
        rc = read_object(r, depth, NULL);
    } else if (c == '[') {
        v->type = json_type_array;
        rc = read_array(r, depth, &v->items);
    } else if (c == '"') {
        v->type = json_type_string;
        rc = read_string(r, NULL, NULL, &v->cut);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        rc = read_number(r, v);
    } else if (c >= 0) {
        rc = read_word(r, v);
    } else {
        rc = fail(r, json_tokener_error_parse_eof);
    }
    v->end = r->pos;
    return rc;
}

/* Check the whole document, an object read for w. */
static int read_doc(const char *body, size_t len, const wanted *w, char *err, size_t errlen)
{
    if (!body || len > (size_t)INT32_MAX - 1) { /* parse_doc's limits, for the same answers */
        set_err(err, errlen, "%s", "no body or body too large to parse");
        return -1;
    }
    reader r = {body, len, 0, json_tokener_success};
    span top = {0};
    skip_ws(&r);
    int rc = peek(&r) == '{' ? read_object(&r, 0, w) : read_value(&r, 0, &top);
    skip_ws(&r);
    if (rc == 0 && r.pos < r.len)
        rc = fail(&r, json_tokener_error_parse_unexpected);
    if (rc != 0)
        set_err(err, errlen, "invalid JSON at byte %zu: %s", r.pos,
                len == 0 ? "empty body" : json_tokener_error_desc(r.err));
    else if (top.present)
        set_err(err, errlen, "expected a JSON object, got %s", json_type_to_name(top.type));
    return rc != 0 || top.present ? -1 : 0;
}

/* Parse n bytes, then tail (NULL: none), as one value; json-c's answer for a value the
 * reader has already checked (a refusal here would be a difference between the two). */
static int parse_kept(const char *p, size_t n, const char *tail, enum json_type type,
                      json_object **out, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return HEXRUN_E_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    *out = json_tokener_parse_ex(tok, p, (int)n);
    if (!*out && tail && json_tokener_get_error(tok) == json_tokener_continue)
        *out = json_tokener_parse_ex(tok, tail, (int)strlen(tail));
    if (!*out && json_tokener_get_error(tok) == json_tokener_continue)
        *out = json_tokener_parse_ex(tok, "", 1); /* the end of a number */
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        set_err(err, errlen, "invalid JSON in '%.*s': %s", (int)(n < 40 ? n : 40), p,
                json_tokener_error_desc(jerr));
        return HEXRUN_E_PROTOCOL;
    }
    return *out || type == json_type_null ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

/* An integer too long to hand over, as the shortest text json-c reads the same: leading
 * zeros dropped, and past 20 digits (beyond UINT64_MAX) any longer number, as json-c
 * saturates them all alike. */
static int long_int(const char *s, size_t n, json_object **out, char *err, size_t errlen)
{
    char text[32];
    size_t k = 0;
    const char *end = s + n;
    if (*s == '-')
        text[k++] = *s++;
    s += digits(s, end - 1, 1); /* keep the last digit */
    if (end - s > 20) {
        memset(text + k, '9', 21);
        k += 21;
    } else {
        memcpy(text + k, s, (size_t)(end - s));
        k += (size_t)(end - s);
    }
    return parse_kept(text, k, NULL, json_type_int, out, err, errlen);
}

/* A double too long to hand over: its value read where it lies (a byte that ends it
 * follows it in the body) as json-c reads it, and its text cut to what a field holds. */
static int long_double(const char *s, json_object **out)
{
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c)
        return HEXRUN_E_NOMEM;
    double d = strtod_l(s, NULL, c);
    freelocale(c);
    char text[NUMBER_KEEP + 1];
    memcpy(text, s, NUMBER_KEEP);
    text[NUMBER_KEEP] = '\0';
    *out = json_object_new_double_s(d, text);
    return *out ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

/* What json-c makes of a field's value, from no more of it than the field can hold: an
 * object or array stands for itself (a run's fields only look at their type). */
static int value_of(const char *body, const span *v, json_object **out, char *err, size_t errlen)
{
    const char *s = body + v->start;
    size_t n = v->end - v->start;
    *out = NULL;
    if (v->type == json_type_object || v->type == json_type_array) {
        *out = v->type == json_type_object ? json_object_new_object() : json_object_new_array();
        return *out ? HEXRUN_OK : HEXRUN_E_NOMEM;
    }
    if (v->type == json_type_string)
        return parse_kept(s, v->cut - v->start, v->cut < v->end ? "\"" : NULL, v->type, out, err,
                          errlen);
    if (n <= NUMBER_KEEP)
        return parse_kept(s, n, NULL, v->type, out, err, errlen);
    return v->type == json_type_int ? long_int(s, n, out, err, errlen) : long_double(s, out);
}

/* The run object of a body with only the fields a run uses, their values from value_of. */
static int run_fields_object(const char *body, const span fields[RUN_FIELDS], json_object **root,
                             char *err, size_t errlen)
{
    *root = json_object_new_object();
    int rc = *root ? HEXRUN_OK : HEXRUN_E_NOMEM;
    for (size_t i = 0; rc == HEXRUN_OK && i < RUN_FIELDS; i++) {
        json_object *v = NULL;
        if (!fields[i].present)
            continue;
        rc = value_of(body, &fields[i], &v, err, errlen);
        if (rc == HEXRUN_OK && json_object_object_add(*root, run_fields[i], v) != 0) {
            json_object_put(v);
            rc = HEXRUN_E_NOMEM;
        }
    }
    if (rc == HEXRUN_E_NOMEM)
        set_err(err, errlen, "%s", "out of memory");
    return rc;
}

/* A run from where its fields lie. */
static int run_at(const char *body, const span at[RUN_FIELDS], int need_status,
                  hexrun__hex_run *run, char *err, size_t errlen)
{
    json_object *root = NULL;
    int rc = run_fields_object(body, at, &root, err, errlen);
    if (rc == HEXRUN_OK)
        rc = run_from_object(root, need_status, run, err, errlen);
    json_object_put(root);
    return rc;
}

static int parse_one_run(const char *body, size_t len, int need_status, hexrun__hex_run *run,
                         char *err, size_t errlen)
{
    span at[RUN_FIELDS] = {{0}};
    wanted w = {run_fields, RUN_FIELDS, at};
    memset(run, 0, sizeof *run);
    if (read_doc(body, len, &w, err, errlen) != 0)
        return HEXRUN_E_PROTOCOL;
    return run_at(body, at, need_status, run, err, errlen);
}

int hexrun__hex_parse_run_whole(const char *body, size_t len, int need_status, hexrun__hex_run *run,
                                char *err, size_t errlen)
{
    json_object *root = parse_object(body, len, err, errlen);
    if (!root) {
        memset(run, 0, sizeof *run);
        return HEXRUN_E_PROTOCOL;
    }
    int rc = run_from_object(root, need_status, run, err, errlen);
    json_object_put(root);
    return rc;
}

int hexrun__hex_parse_run_created(const char *body, size_t len, hexrun__hex_run *run, char *err,
                                  size_t errlen)
{
    return parse_one_run(body, len, 0, run, err, errlen);
}

int hexrun__hex_parse_run(const char *body, size_t len, hexrun__hex_run *run, char *err,
                          size_t errlen)
{
    return parse_one_run(body, len, 1, run, err, errlen);
}

/* The offset parameter of a query string, or -1 when it has no valid one. */
static int64_t query_offset(const char *q)
{
    for (const char *p = q; p; p = strchr(p + 1, '&')) {
        const char *v = p == q ? p : p + 1;
        if (strncmp(v, "offset=", 7) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        long long off = strtoll(v + 7, &end, 10);
        if (end != v + 7 && (*end == '\0' || *end == '&' || *end == '#') && off >= 0 && errno == 0)
            return off;
    }
    return -1;
}

/* nextPage: null or absent is the last page. Its format is not in the spec: any string is
 * a next page; its offset and query are read when it has them (the URL's host is never
 * used). A value of another type is a protocol error. */
static int next_page_of(json_object *root, hexrun__hex_next_page *next, char *err, size_t errlen)
{
    json_object *v = field(root, "nextPage");
    memset(next, 0, sizeof *next);
    next->offset = -1;
    if (!v)
        return HEXRUN_OK;
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field '%s' is not a string or null", "nextPage");
        return HEXRUN_E_PROTOCOL;
    }
    const char *url = json_object_get_string(v);
    next->present = 1;
    const char *q = strchr(url, '?');
    if (!q)
        return HEXRUN_OK;
    q++;
    size_t qlen = strcspn(q, "#");
    if (qlen < sizeof next->query) {
        memcpy(next->query, q, qlen);
        next->query[qlen] = '\0';
        next->offset = query_offset(next->query);
    }
    return HEXRUN_OK;
}

static int runs_from_array(json_object *arr, hexrun__hex_run **runs, size_t *n, char *err,
                           size_t errlen)
{
    size_t count = json_object_array_length(arr);
    *runs = NULL;
    *n = 0;
    if (count == 0)
        return HEXRUN_OK;
    hexrun__hex_run *out = calloc(count, sizeof *out);
    if (!out) {
        set_err(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        char item_err[HEXRUN__ERR_MAX];
        int rc = run_from_object(json_object_array_get_idx(arr, i), 1, &out[i], item_err,
                                 sizeof item_err);
        if (rc) {
            set_err(err, errlen, "runs[%zu]: %s", i, item_err);
            free(out);
            return rc;
        }
    }
    *runs = out;
    *n = count;
    return HEXRUN_OK;
}

/* A page of more runs than asked for is refused before its runs are parsed (hex.h). */
static int too_many_runs(size_t count, size_t max_runs, char *err, size_t errlen)
{
    if (count <= max_runs)
        return HEXRUN_OK;
    set_err(err, errlen, "GetProjectRuns: the page holds %zu runs, more than the %zu asked for",
            count, max_runs);
    return HEXRUN_E_PROTOCOL;
}

int hexrun__hex_parse_runs_page_whole(const char *body, size_t len, size_t max_runs,
                                      hexrun__hex_run **runs, size_t *n,
                                      hexrun__hex_next_page *next, char *err, size_t errlen)
{
    *runs = NULL;
    *n = 0;
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *arr = field(root, "runs");
    int rc = HEXRUN_OK;
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "field '%s' is missing or not an array", "runs");
        rc = HEXRUN_E_PROTOCOL;
    }
    if (!rc)
        rc = too_many_runs(json_object_array_length(arr), max_runs, err, errlen);
    if (!rc && next)
        rc = next_page_of(root, next, err, errlen);
    if (!rc)
        rc = runs_from_array(arr, runs, n, err, errlen);
    json_object_put(root);
    return rc;
}

int hexrun__hex_runs_next_whole(const char *body, size_t len, hexrun__hex_next_page *next,
                                char *err, size_t errlen)
{
    memset(next, 0, sizeof *next);
    next->offset = -1;
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *arr = field(root, "runs");
    int rc = next_page_of(root, next, err, errlen);
    if (!rc && arr && json_object_is_type(arr, json_type_array))
        next->runs = json_object_array_length(arr);
    json_object_put(root);
    return rc;
}

/* ---- GetProjectRuns pages read in place (the coalesced polls), as a run above ---- */

/* nextPage's string as next_page_of reads it, from no more than that reads: "" when it has
 * no '?' before its first NUL, else '?' and the query up to '#' or that NUL, cut at
 * HEXRUN__HEX_URL_MAX bytes (a longer query is dropped anyway). */
static int next_page_text(const char *body, const span *v, json_object **out)
{
    reader r = {body, v->end - 1, v->start + 1, json_tokener_success}; /* inside the quotes */
    char text[HEXRUN__HEX_URL_MAX + 1];
    size_t k = 0;
    int done = 0;
    while (r.pos < r.len && !done) {
        unsigned char c[4];
        size_t n = 0;
        if (read_unit(&r, c, &n) != 0) /* checked already: cannot happen */
            return HEXRUN_E_PROTOCOL;
        for (size_t i = 0; i < n && !done; i++) {
            done = c[i] == '\0' || (k > 0 && (c[i] == '#' || k == sizeof text));
            if (!done && (k > 0 || c[i] == '?'))
                text[k++] = (char)c[i];
        }
    }
    *out = json_object_new_string_len(text, (int)k);
    return *out ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

/* The nextPage of a page whose fields lie at `at`. */
static int next_page_at(const char *body, const span at[PAGE_FIELDS], hexrun__hex_next_page *next,
                        char *err, size_t errlen)
{
    const span *v = &at[PAGE_NEXT];
    json_object *root = json_object_new_object(), *text = NULL;
    int rc = root ? HEXRUN_OK : HEXRUN_E_NOMEM;
    if (rc == HEXRUN_OK && v->present)
        rc = v->type == json_type_string ? next_page_text(body, v, &text)
                                         : value_of(body, v, &text, err, errlen);
    if (rc == HEXRUN_OK && v->present && json_object_object_add(root, "nextPage", text) != 0) {
        json_object_put(text);
        rc = HEXRUN_E_NOMEM;
    }
    if (rc == HEXRUN_OK)
        rc = next_page_of(root, next, err, errlen);
    else if (rc == HEXRUN_E_NOMEM)
        set_err(err, errlen, "%s", "out of memory");
    json_object_put(root);
    return rc;
}

/* One item of the runs array (r->pos on it, at depth 2 as in the page). */
static int run_item(reader *r, const char *body, hexrun__hex_run *run, char *err, size_t errlen)
{
    span at[RUN_FIELDS] = {{0}}, item = {0};
    wanted w = {run_fields, RUN_FIELDS, at};
    if (peek(r) != '{') {
        read_value(r, 2, &item);
        return run_from_object(NULL, 1, run, err, errlen); /* "a run is not a JSON object" */
    }
    read_object(r, 2, &w);
    return run_at(body, at, 1, run, err, errlen);
}

/* The runs of a page, as runs_from_array gives them; the array grows with the runs read,
 * so a page of bad items costs nothing for them. */
static int runs_at(const char *body, const span *arr, hexrun__hex_run **runs, size_t *n, char *err,
                   size_t errlen)
{
    reader r = {body, arr->end, arr->start + 1, json_tokener_success};
    hexrun__hex_run *out = NULL;
    size_t count = 0, cap = 0;
    int rc = HEXRUN_OK;
    for (skip_ws(&r); rc == HEXRUN_OK && peek(&r) != ']'; count++) {
        char item_err[HEXRUN__ERR_MAX];
        hexrun__hex_run *grown =
            count < cap ? out : realloc(out, (cap = cap ? 2 * cap : 16) * sizeof *out);
        if (!grown) {
            set_err(err, errlen, "out of memory");
            rc = HEXRUN_E_NOMEM;
            break;
        }
        out = grown;
        rc = run_item(&r, body, &out[count], item_err, sizeof item_err);
        if (rc)
            set_err(err, errlen, "runs[%zu]: %s", count, item_err);
        skip_ws(&r);
        r.pos += peek(&r) == ',';
        skip_ws(&r);
    }
    if (rc != HEXRUN_OK || count == 0) {
        free(out);
        out = NULL;
        count = 0;
    }
    *runs = out;
    *n = count;
    return rc;
}

int hexrun__hex_parse_runs_page(const char *body, size_t len, size_t max_runs,
                                hexrun__hex_run **runs, size_t *n, hexrun__hex_next_page *next,
                                char *err, size_t errlen)
{
    span at[PAGE_FIELDS] = {{0}};
    wanted w = {page_fields, PAGE_FIELDS, at};
    *runs = NULL;
    *n = 0;
    if (read_doc(body, len, &w, err, errlen) != 0)
        return HEXRUN_E_PROTOCOL;
    if (at[PAGE_RUNS].type != json_type_array) {
        set_err(err, errlen, "field '%s' is missing or not an array", "runs");
        return HEXRUN_E_PROTOCOL;
    }
    int rc = too_many_runs(at[PAGE_RUNS].items, max_runs, err, errlen);
    if (rc == HEXRUN_OK && next)
        rc = next_page_at(body, at, next, err, errlen);
    return rc ? rc : runs_at(body, &at[PAGE_RUNS], runs, n, err, errlen);
}

int hexrun__hex_runs_next(const char *body, size_t len, hexrun__hex_next_page *next, char *err,
                          size_t errlen)
{
    span at[PAGE_FIELDS] = {{0}};
    wanted w = {page_fields, PAGE_FIELDS, at};
    memset(next, 0, sizeof *next);
    next->offset = -1;
    if (read_doc(body, len, &w, err, errlen) != 0)
        return HEXRUN_E_PROTOCOL;
    int rc = next_page_at(body, at, next, err, errlen);
    if (!rc && at[PAGE_RUNS].type == json_type_array)
        next->runs = at[PAGE_RUNS].items;
    return rc;
}

int hexrun__hex_cursor_after(const char *body, size_t len, char **after, char *err, size_t errlen)
{
    *after = NULL;
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *pag = field(root, "pagination");
    json_object *v = pag && json_object_is_type(pag, json_type_object) ? field(pag, "after") : NULL;
    int rc = HEXRUN_OK;
    if (!pag || !json_object_is_type(pag, json_type_object)) {
        set_err(err, errlen, "field '%s' is missing or not an object", "pagination");
        rc = HEXRUN_E_PROTOCOL;
    } else if (v && !json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field '%s' is not a string or null", "pagination.after");
        rc = HEXRUN_E_PROTOCOL;
    } else if (v && json_object_get_string_len(v) > 0) {
        *after = strdup(json_object_get_string(v));
        if (!*after)
            rc = HEXRUN_E_NOMEM;
    }
    json_object_put(root);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Errors (both families)
 * ------------------------------------------------------------------------------------- */

static void append_excerpt(hexrun__buf *b, const char *s, size_t len)
{
    size_t n = len < EXCERPT_MAX ? len : EXCERPT_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char ch = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        hexrun__buf_append(b, &ch, 1);
    }
    if (len > n)
        hexrun__buf_appends(b, "...");
}

static const char *str_of(json_object *v)
{
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* "details" is a string in the spec; anything else is shown as its JSON. */
static void append_details(hexrun__buf *b, json_object *details)
{
    if (!details || json_object_is_type(details, json_type_null))
        return;
    const char *s = str_of(details);
    if (!s)
        s = json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN);
    if (s && s[0]) {
        hexrun__buf_appends(b, b->len ? "; " : "");
        append_excerpt(b, s, strlen(s));
    }
}

static void append_issues(hexrun__buf *b, json_object *issues)
{
    if (!issues || !json_object_is_type(issues, json_type_array))
        return;
    size_t n = json_object_array_length(issues);
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(issues, i);
        const char *m = str_of(it) ? str_of(it) : str_of(field(it, "message"));
        if (!m)
            continue;
        hexrun__buf_appends(b, b->len ? "; " : "");
        append_excerpt(b, m, strlen(m));
    }
}

/* InvalidParamPayload: name each rejected and unknown input parameter. */
static int append_params(hexrun__buf *b, json_object *root)
{
    json_object *inv = field(root, "invalid");
    json_object *nf = field(root, "notFound");
    int seen = 0;
    size_t n = inv && json_object_is_type(inv, json_type_array) ? json_object_array_length(inv) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(inv, i);
        const char *name = str_of(field(it, "paramName"));
        const char *type = str_of(field(it, "dataType"));
        const char *val = str_of(field(it, "paramValue"));
        hexrun__buf_appends(b, seen++ || b->len ? "; " : "");
        hexrun__buf_appendf(b, "invalid input parameter '%.100s' (expected %.40s, got %.100s)",
                            name ? name : "?", type ? type : "?", val ? val : "?");
    }
    n = nf && json_object_is_type(nf, json_type_array) ? json_object_array_length(nf) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = str_of(json_object_array_get_idx(nf, i));
        hexrun__buf_appends(b, seen++ || b->len ? "; " : "");
        hexrun__buf_appendf(b, "unknown input parameter '%.100s'", name ? name : "?");
    }
    return seen || inv || nf;
}

static void copy_out(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

static int error_from_object(json_object *root, hexrun__hex_error *out)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    const char *reason = str_of(field(root, "reason"));
    const char *message = str_of(field(root, "message"));
    const char *head = reason ? reason : message;
    if (head)
        append_excerpt(&b, head, strlen(head));
    append_details(&b, field(root, "details"));
    append_issues(&b, field(root, "issues"));
    int known = append_params(&b, root) || head;
    if (known) {
        copy_out(out->message, sizeof out->message, b.failed ? "out of memory" : b.data);
        /* Parameter names and values came in unfiltered: keep the summary one line. */
        for (char *p = out->message; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        copy_out(out->trace_id, sizeof out->trace_id, str_of(field(root, "traceId")));
        copy_out(out->code, sizeof out->code, str_of(field(root, "code")));
    }
    hexrun__buf_free(&b);
    return known;
}

int hexrun__hex_parse_error(const char *body, size_t len, hexrun__hex_error *out)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return 0;
    json_object *root = parse_object(body, len, NULL, 0);
    int known = root ? error_from_object(root, out) : 0;
    json_object_put(root);
    if (!known) {
        hexrun__buf b = HEXRUN__BUF_INIT;
        append_excerpt(&b, body, len);
        copy_out(out->message, sizeof out->message, b.failed ? "" : b.data);
        hexrun__buf_free(&b);
    }
    return known;
}

/* ---------------------------------------------------------------------------------------
 * Pages
 * ------------------------------------------------------------------------------------- */

struct hexrun__hex_pages {
    char key[16];
    json_object *first; /* the first page's document */
    json_object *items; /* every page's items */
};

hexrun__hex_pages *hexrun__hex_pages_new(const char *array_key)
{
    if (!array_key || strlen(array_key) >= sizeof((hexrun__hex_pages *)0)->key)
        return NULL;
    hexrun__hex_pages *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    strcpy(p->key, array_key);
    p->items = json_object_new_array();
    if (!p->items) {
        free(p);
        return NULL;
    }
    return p;
}

int hexrun__hex_pages_add(hexrun__hex_pages *pages, const char *body, size_t len, char *err,
                          size_t errlen)
{
    int nomem = 0;
    json_object *root = parse_object_nomem(body, len, err, errlen, &nomem);
    if (!root)
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_PROTOCOL;
    json_object *arr = field(root, pages->key);
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "field '%s' is missing or not an array", pages->key);
        json_object_put(root);
        return HEXRUN_E_PROTOCOL;
    }
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(arr, i);
        if (json_object_array_add(pages->items, json_object_get(it)) != 0) {
            json_object_put(it);
            json_object_put(root);
            set_err(err, errlen, "out of memory");
            return HEXRUN_E_NOMEM;
        }
    }
    if (!pages->first)
        pages->first = root;
    else
        json_object_put(root);
    return HEXRUN_OK;
}

/* The merged document is one page that holds everything: no further pages. */
static int clear_paging(hexrun__hex_pages *pages)
{
    json_object *doc = pages->first;
    if (strcmp(pages->key, "runs") == 0)
        return json_object_object_add(doc, "nextPage", NULL) ||
               json_object_object_add(doc, "previousPage", NULL);
    json_object *pag = json_object_new_object();
    if (!pag)
        return -1;
    if (json_object_object_add(pag, "after", NULL) || json_object_object_add(pag, "before", NULL)) {
        json_object_put(pag);
        return -1;
    }
    return json_object_object_add(doc, "pagination", pag);
}

char *hexrun__hex_pages_render(hexrun__hex_pages *pages)
{
    if (!pages || !pages->first)
        return NULL;
    if (json_object_object_add(pages->first, pages->key, json_object_get(pages->items)) != 0) {
        json_object_put(pages->items);
        return NULL;
    }
    if (clear_paging(pages) != 0)
        return NULL;
    const char *s = json_object_to_json_string_ext(
        pages->first, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? strdup(s) : NULL;
}

void hexrun__hex_pages_free(hexrun__hex_pages *pages)
{
    if (!pages)
        return;
    json_object_put(pages->first);
    json_object_put(pages->items);
    free(pages);
}

/* ---------------------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------------------- */

int hexrun__hex_validate_json(const char *json, int want_object, char *err, size_t errlen)
{
    if (!json) {
        set_err(err, errlen, "no JSON given");
        return HEXRUN_E_INVALID_ARG;
    }
    json_object *root = NULL;
    int nomem = 0;
    int rc = want_object
                 ? ((root = parse_object_nomem(json, strlen(json), err, errlen, &nomem)) ? 0 : -1)
                 : parse_doc(json, strlen(json), &root, err, errlen);
    json_object_put(root);
    if (rc == HEXRUN_E_NOMEM || nomem)
        return HEXRUN_E_NOMEM;
    return rc == 0 ? HEXRUN_OK : HEXRUN_E_INVALID_ARG;
}

int hexrun__hex_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * RunProject body
 * ------------------------------------------------------------------------------------- */

typedef enum {
    T_BOOL,
    T_STRING,
    T_OBJECT,
    T_STRINGS,
    T_NOTIFICATIONS,
    T_RUN_TYPE,
    T_SCREENSHOT
} opt_type;

typedef struct {
    const char *key;
    opt_type type;
} opt_rule;

static const opt_rule run_rules[] = {
    {"inputParams", T_OBJECT},          {"dryRun", T_BOOL},      {"updatePublishedResults", T_BOOL},
    {"useCachedSqlResults", T_BOOL},    {"updateCache", T_BOOL}, {"viewId", T_STRING},
    {"notifications", T_NOTIFICATIONS},
};

static const opt_rule notification_rules[] = {
    {"type", T_RUN_TYPE},
    {"includeSuccessScreenshot", T_BOOL},
    {"screenshotFormat", T_SCREENSHOT},
    {"slackChannelIds", T_STRINGS},
    {"userIds", T_STRINGS},
    {"groupIds", T_STRINGS},
    {"subject", T_STRING},
    {"body", T_STRING},
};

static const char *type_text(opt_type t)
{
    switch (t) {
    case T_BOOL:
        return "a boolean";
    case T_STRING:
        return "a string";
    case T_OBJECT:
        return "an object";
    case T_STRINGS:
        return "an array of strings";
    case T_NOTIFICATIONS:
        return "an array of notification objects";
    case T_RUN_TYPE:
        return "one of \"SUCCESS\", \"FAILURE\", \"ALL\"";
    case T_SCREENSHOT:
        return "\"png\" or \"pdf\"";
    }
    return "?";
}

static int is_one_of(json_object *v, const char *const *names)
{
    const char *s = str_of(v);
    for (; s && *names; names++)
        if (strcmp(s, *names) == 0)
            return 1;
    return 0;
}

static int check_notifications(json_object *v, const char *where, char *err, size_t errlen);

static int value_fits(json_object *v, opt_type t, const char *where, char *err, size_t errlen)
{
    static const char *const run_types[] = {"SUCCESS", "FAILURE", "ALL", NULL};
    static const char *const formats[] = {"png", "pdf", NULL};
    switch (t) {
    case T_BOOL:
        return json_object_is_type(v, json_type_boolean);
    case T_STRING:
        return json_object_is_type(v, json_type_string);
    case T_OBJECT:
        return json_object_is_type(v, json_type_object);
    case T_RUN_TYPE:
        return is_one_of(v, run_types);
    case T_SCREENSHOT:
        return is_one_of(v, formats);
    case T_STRINGS:
        if (!json_object_is_type(v, json_type_array))
            return 0;
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                return 0;
        return 1;
    case T_NOTIFICATIONS:
        /* Reports its own, more precise error. */
        return check_notifications(v, where, err, errlen) == 0 ? 1 : -1;
    }
    return 0;
}

static const opt_rule *find_rule(const opt_rule *rules, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rules[i].key, key) == 0)
            return &rules[i];
    return NULL;
}

static void allowed_keys(char *out, size_t outlen, const opt_rule *rules, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", rules[i].key);
}

/* Check every key of obj against rules; `where` prefixes messages ("options",
 * "options.notifications[0]"). */
static int check_keys(json_object *obj, const opt_rule *rules, size_t n, const char *where,
                      char *err, size_t errlen)
{
    json_object_object_foreach(obj, key, val)
    {
        const opt_rule *r = find_rule(rules, n, key);
        if (!r) {
            char allowed[256];
            allowed_keys(allowed, sizeof allowed, rules, n);
            set_err(err, errlen, "%s: unknown key '%.64s' (allowed: %s)", where, key, allowed);
            return HEXRUN_E_INVALID_ARG;
        }
        char sub[160];
        snprintf(sub, sizeof sub, "%.90s.%.64s", where, key);
        int fits = value_fits(val, r->type, sub, err, errlen);
        if (fits < 0)
            return HEXRUN_E_INVALID_ARG;
        if (!fits) {
            set_err(err, errlen, "%s: '%s' must be %s", where, key, type_text(r->type));
            return HEXRUN_E_INVALID_ARG;
        }
    }
    return HEXRUN_OK;
}

static int check_notifications(json_object *v, const char *where, char *err, size_t errlen)
{
    const size_t nrules = sizeof notification_rules / sizeof *notification_rules;
    if (!json_object_is_type(v, json_type_array)) {
        set_err(err, errlen, "%s: must be an array of notification objects", where);
        return HEXRUN_E_INVALID_ARG;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *it = json_object_array_get_idx(v, i);
        char sub[128];
        snprintf(sub, sizeof sub, "%.90s[%zu]", where, i);
        if (!json_object_is_type(it, json_type_object)) {
            set_err(err, errlen, "%s: must be an object", sub);
            return HEXRUN_E_INVALID_ARG;
        }
        if (check_keys(it, notification_rules, nrules, sub, err, errlen))
            return HEXRUN_E_INVALID_ARG;
        if (!field(it, "type") || !field(it, "includeSuccessScreenshot")) {
            set_err(err, errlen, "%s: 'type' and 'includeSuccessScreenshot' are required", sub);
            return HEXRUN_E_INVALID_ARG;
        }
    }
    return HEXRUN_OK;
}

/* Hex refuses these combinations; saying so before sending saves a request and a run. */
static int check_combinations(json_object *root, char *err, size_t errlen)
{
    if (!field(root, "inputParams"))
        return HEXRUN_OK;
    if (field(root, "viewId")) {
        set_err(err, errlen, "options: 'viewId' cannot be combined with 'inputParams'");
        return HEXRUN_E_INVALID_ARG;
    }
    json_object *upr = field(root, "updatePublishedResults");
    if (upr && json_object_get_boolean(upr)) {
        set_err(err, errlen,
                "options: 'updatePublishedResults' cannot be true together with "
                "'inputParams'");
        return HEXRUN_E_INVALID_ARG;
    }
    return HEXRUN_OK;
}

int hexrun__hex_run_options(const char *options_json, char **out_body, int *out_dry_run, char *err,
                            size_t errlen)
{
    *out_body = NULL;
    *out_dry_run = 0;
    const char *text = options_json ? options_json : "{}";
    char perr[HEXRUN__ERR_MAX];
    int nomem = 0;
    json_object *root = parse_object_nomem(text, strlen(text), perr, sizeof perr, &nomem);
    if (!root) {
        set_err(err, errlen, "options: %s", perr);
        return nomem ? HEXRUN_E_NOMEM : HEXRUN_E_INVALID_ARG;
    }
    int rc =
        check_keys(root, run_rules, sizeof run_rules / sizeof *run_rules, "options", err, errlen);
    if (!rc)
        rc = check_combinations(root, err, errlen);
    if (!rc) {
        json_object *dry = field(root, "dryRun");
        *out_dry_run = dry && json_object_get_boolean(dry);
        const char *body = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        *out_body = body ? strdup(body) : NULL;
        if (!*out_body) {
            set_err(err, errlen, "out of memory");
            rc = HEXRUN_E_NOMEM;
        }
    }
    json_object_put(root);
    return rc;
}

/* ---- a run as Hex shows it, for the coordination store's status board (coord.h) ---- */

static int add_text(json_object *obj, const char *key, const char *value)
{
    if (!value[0])
        return 0;
    json_object *v = json_object_new_string(value);
    return !v || json_object_object_add(obj, key, v) != 0;
}

int hexrun__hex_run_json(const hexrun__hex_run *run, hexrun__buf *out)
{
    json_object *obj = json_object_new_object();
    if (!obj)
        return HEXRUN_E_NOMEM;
    int failed =
        add_text(obj, "runId", run->run_id) || add_text(obj, "projectId", run->project_id) ||
        add_text(obj, "runUrl", run->run_url) || add_text(obj, "status", run->status) ||
        add_text(obj, "startTime", run->start_time) || add_text(obj, "endTime", run->end_time) ||
        add_text(obj, "traceId", run->trace_id) ||
        add_text(obj, "projectVersion", run->project_version) ||
        add_text(obj, "runTrigger", run->run_trigger);
    if (!failed && run->elapsed_ms >= 0) {
        json_object *v = json_object_new_int64(run->elapsed_ms);
        failed = !v || json_object_object_add(obj, "elapsedTime", v) != 0;
    }
    if (!failed)
        failed = hexrun__buf_appends(
                     out, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN)) != 0;
    json_object_put(obj);
    return failed ? HEXRUN_E_NOMEM : HEXRUN_OK;
}

#define RUNS "/v1/projects/%s/runs"
static const hexrun__hex_endpoint endpoints[HEXRUN__EP_COUNT] = {
    [HEXRUN__EP_RUN_PROJECT] = {"RunProject", "POST", RUNS, NULL, HEXRUN__BUDGET_RUN},
    [HEXRUN__EP_GET_RUN_STATUS] = {"GetRunStatus", "GET", RUNS "/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_CANCEL_RUN] = {"CancelRun", "DELETE", RUNS "/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_PROJECT_RUNS] = {"GetProjectRuns", "GET", RUNS, "runs", HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_PROJECTS] = {"ListProjects", "GET", "/v1/projects", "values",
                                  HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_PROJECT] = {"GetProject", "GET", "/v1/projects/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_ME] = {"Me", "GET", "/v1/users/me", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_USERS] = {"ListUsers", "GET", "/v1/users", "values", HEXRUN__BUDGET_API},
    [HEXRUN__EP_DEACTIVATE_USER] = {"DeactivateUser", "POST", "/v1/users/%s/deactivate", NULL,
                                    HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_GROUPS] = {"ListGroups", "GET", "/v1/groups", "values", HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_GROUP] = {"GetGroup", "GET", "/v1/groups/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_CREATE_GROUP] = {"CreateGroup", "POST", "/v1/groups", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_EDIT_GROUP] = {"EditGroup", "PATCH", "/v1/groups/%s", NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_DELETE_GROUP] = {"DeleteGroup", "DELETE", "/v1/groups/%s", NULL,
                                 HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_DATA_CONNECTIONS] = {"ListDataConnections", "GET", "/v1/data-connections",
                                          "values", HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_DATA_CONNECTION] = {"GetDataConnection", "GET", "/v1/data-connections/%s", NULL,
                                        HEXRUN__BUDGET_API},
    [HEXRUN__EP_CREATE_DATA_CONNECTION] = {"CreateDataConnection", "POST", "/v1/data-connections",
                                           NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_EDIT_DATA_CONNECTION] = {"EditDataConnection", "PATCH", "/v1/data-connections/%s",
                                         NULL, HEXRUN__BUDGET_API},
    [HEXRUN__EP_LIST_COLLECTIONS] = {"ListCollections", "GET", "/v1/collections", "values",
                                     HEXRUN__BUDGET_API},
    [HEXRUN__EP_GET_COLLECTION] = {"GetCollection", "GET", "/v1/collections/%s", NULL,
                                   HEXRUN__BUDGET_API},
};

const hexrun__hex_endpoint *hexrun__hex_endpoint_of(hexrun__hex_op op)
{
    return &endpoints[op];
}
