/* log.c - log sink with secret redaction; see log.h. */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define LOG_LINE_MAX 4096

/* Lines queued by a deferring thread, beyond which they are counted and dropped. */
#define LOG_QUEUE_MAX 10000

typedef struct queued_line {
    int level;
    struct queued_line *next;
    char text[];
} queued_line;

struct hexrun__log {
    int level;
    hexrun_log_fn fn;
    void *user_data;
    char **secrets; /* NULL-terminated copies */
    /* Deferred lines: touched only by the one thread that defers (hexrun__log_defer). */
    queued_line *head, *tail;
    size_t queued, dropped;
};

/* The log this thread defers lines of, or NULL. */
static __thread hexrun__log *deferring;

hexrun__log *hexrun__log_new(int level, hexrun_log_fn fn, void *user_data,
                             const char *const *secrets)
{
    hexrun__log *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->level = level;
    log->fn = fn;
    log->user_data = user_data;
    size_t n = 0;
    while (secrets && secrets[n])
        n++;
    log->secrets = calloc(n + 1, sizeof *log->secrets);
    if (!log->secrets) {
        free(log);
        return NULL;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!secrets[i][0])
            continue;
        log->secrets[kept] = strdup(secrets[i]);
        if (!log->secrets[kept]) {
            hexrun__log_free(log);
            return NULL;
        }
        kept++;
    }
    return log;
}

void hexrun__log_free(hexrun__log *log)
{
    if (!log)
        return;
    for (queued_line *q = log->head, *next; q; q = next) {
        next = q->next;
        free(q);
    }
    for (char **s = log->secrets; s && *s; s++)
        free(*s);
    free(log->secrets);
    free(log);
}

int hexrun__log_enabled(const hexrun__log *log, int level)
{
    return log && level <= log->level;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The value of n hex digits at p, or -1. */
static int hex_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        int d = hex_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* How many bytes at p encode the byte c: raw, percent-encoded (either case), '+' for a
 * space, or a JSON escape ("\/", "\u00XX"). 0 when they do not. */
static size_t match_byte(const char *p, unsigned char c)
{
    if ((unsigned char)*p == c)
        return 1;
    if (*p == '%' && hex_digits(p + 1, 2) == c)
        return 3;
    if (*p == '+' && c == ' ')
        return 1;
    if (*p == '\\' && p[1] == (char)c && c == '/')
        return 2;
    if (*p == '\\' && p[1] == 'u' && hex_digits(p + 2, 4) == c)
        return 6;
    return 0;
}

/* Length of the match of `secret` at p, each byte in any encoding match_byte knows: a
 * token echoed inside a URL or a JSON string is still found. */
static size_t match_secret(const char *p, const char *secret)
{
    const char *start = p;
    for (const unsigned char *s = (const unsigned char *)secret; *s; s++) {
        size_t m = match_byte(p, *s);
        if (!m)
            return 0;
        p += m;
    }
    return (size_t)(p - start);
}

static size_t longest_secret(const char *p, const char *const *secrets)
{
    size_t best = 0;
    for (size_t i = 0; secrets && secrets[i]; i++) {
        if (!secrets[i][0])
            continue;
        size_t m = match_secret(p, secrets[i]);
        if (m > best)
            best = m;
    }
    return best;
}

static int is_credential_char(int c)
{
    return isalnum(c) || strchr("-._~+/=%", c) != NULL;
}

/* "Bearer <cred>": returns the length of the whole match, with *value_at set to the
 * offset where the credential starts. */
static size_t match_bearer(const char *p, size_t *value_at)
{
    if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return 0;
    size_t i = 6;
    while (p[i] == ' ' || p[i] == '\t')
        i++;
    size_t v = i;
    while (p[i] && is_credential_char((unsigned char)p[i]))
        i++;
    if (i == v)
        return 0;
    *value_at = v;
    return i;
}

/* An Authorization header in any of the forms it is echoed in: "Authorization: x",
 * "authorization=x" (key=value logs) or "\"Authorization\": \"x\"" (JSON). The value
 * runs to the end of the line or the closing quote. */
static size_t match_authorization(const char *p, size_t *value_at)
{
    if (strncasecmp(p, "authorization", 13) != 0)
        return 0;
    size_t i = 13;
    if (p[i] == '"')
        i++;
    while (p[i] == ' ' || p[i] == '\t')
        i++;
    if (p[i] != ':' && p[i] != '=')
        return 0;
    i++;
    while (p[i] == ' ' || p[i] == '\t')
        i++;
    int quoted = p[i] == '"';
    if (quoted)
        i++;
    size_t v = i;
    while (p[i] && p[i] != '\r' && p[i] != '\n' && !(quoted && p[i] == '"'))
        i++;
    if (i == v)
        return 0;
    *value_at = v;
    return i;
}

static void redact_into(hexrun__buf *b, const char *in, const char *const *secrets)
{
    const char *p = in;
    while (*p) {
        size_t value_at = 0;
        size_t m = longest_secret(p, secrets);
        if (m) {
            hexrun__buf_appends(b, HEXRUN__REDACTED);
            p += m;
            continue;
        }
        m = match_authorization(p, &value_at);
        if (!m)
            m = match_bearer(p, &value_at);
        if (m) {
            hexrun__buf_append(b, p, value_at);
            hexrun__buf_appends(b, HEXRUN__REDACTED);
            p += m;
            continue;
        }
        hexrun__buf_append(b, p, 1);
        p++;
    }
}

size_t hexrun__redact(const char *in, const char *const *secrets, char *out, size_t outlen)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    redact_into(&b, in ? in : "", secrets);
    /* Never fall back to the unredacted text: on NOMEM say so instead. */
    const char *text = b.failed ? "<redaction failed: out of memory>" : (b.data ? b.data : "");
    size_t need = strlen(text);
    if (outlen) {
        size_t n = need < outlen - 1 ? need : outlen - 1;
        memcpy(out, text, n);
        out[n] = '\0';
    }
    hexrun__buf_free(&b);
    return need;
}

size_t hexrun__log_redact(const hexrun__log *log, const char *in, char *out, size_t outlen)
{
    return hexrun__redact(in, log ? (const char *const *)log->secrets : NULL, out, outlen);
}

void hexrun__escape_controls(const char *in, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p; p++) {
        char esc[8];
        size_t n = 0;
        if (*p == '\r' || *p == '\n' || *p == '\t')
            n = (size_t)snprintf(esc, sizeof esc, "\\%c",
                                 *p == '\r'   ? 'r'
                                 : *p == '\n' ? 'n'
                                              : 't');
        else if (*p < 0x20 || *p == 0x7f)
            n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            n = (size_t)snprintf(esc, sizeof esc, "\\u00%02x", *++p);
        else
            esc[n++] = (char)*p;
        if (o + n >= outlen)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = '\0';
}

static const char *level_name(int level)
{
    switch (level) {
    case HEXRUN_LOG_ERROR:
        return "error";
    case HEXRUN_LOG_WARN:
        return "warn";
    case HEXRUN_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void deliver(hexrun__log *log, int level, const char *line)
{
    if (log->fn)
        log->fn(level, line, log->user_data);
    else
        fprintf(stderr, "hexrun level=%s %s\n", level_name(level), line);
}

static void enqueue(hexrun__log *log, int level, const char *line)
{
    size_t len = strlen(line);
    queued_line *q = log->queued < LOG_QUEUE_MAX ? malloc(sizeof *q + len + 1) : NULL;
    if (!q) {
        log->dropped++;
        return;
    }
    q->level = level;
    q->next = NULL;
    memcpy(q->text, line, len + 1);
    if (log->tail)
        log->tail->next = q;
    else
        log->head = q;
    log->tail = q;
    log->queued++;
}

void hexrun__log_write(hexrun__log *log, int level, const char *fmt, ...)
{
    if (!hexrun__log_enabled(log, level))
        return;
    /* Redact the whole line before truncating it, so a cut never leaves part of a
     * token behind. */
    char *raw = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char red[LOG_LINE_MAX], line[LOG_LINE_MAX];
    hexrun__log_redact(log, raw, red, sizeof red);
    free(raw);
    hexrun__escape_controls(red, line, sizeof line);
    if (deferring == log)
        enqueue(log, level, line);
    else
        deliver(log, level, line);
}

void hexrun__log_defer(hexrun__log *log, int on)
{
    if (!log)
        return;
    if (on) {
        deferring = log;
        return;
    }
    hexrun__log_flush(log);
    if (deferring == log)
        deferring = NULL;
}

void hexrun__log_flush(hexrun__log *log)
{
    if (!log || deferring != log)
        return;
    queued_line *q = log->head;
    size_t dropped = log->dropped;
    log->head = log->tail = NULL;
    log->queued = log->dropped = 0;
    for (queued_line *next; q; q = next) {
        next = q->next;
        deliver(log, q->level, q->text);
        free(q);
    }
    if (dropped) {
        char line[128];
        snprintf(line, sizeof line,
                 "event=log_dropped lines=%zu (the log callback fell behind "
                 "or memory ran out)",
                 dropped);
        deliver(log, HEXRUN_LOG_WARN, line);
    }
}
