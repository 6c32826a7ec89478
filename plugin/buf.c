/* buf.c - growable string buffer; see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(hexrun__buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int hexrun__buf_reserve(hexrun__buf *b, size_t extra)
{
    if (b->failed || extra > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1; /* exactly: a known size needs no doubling */
    if (need <= b->cap)
        return 0;
    char *p = realloc(b->data, need);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = need;
    return 0;
}

int hexrun__buf_append(hexrun__buf *b, const char *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int hexrun__buf_appends(hexrun__buf *b, const char *s)
{
    return hexrun__buf_append(b, s, strlen(s));
}

int hexrun__buf_appendf(hexrun__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0) {
        b->failed = 1;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when it is not one
 * (a stray continuation byte, a cut sequence, an overlong form, a surrogate, > U+10FFFF). */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = *p < 0x80                  ? 1
               : *p >= 0xC2 && *p <= 0xDF ? 2
               : (*p & 0xF0) == 0xE0      ? 3
               : *p >= 0xF0 && *p <= 0xF4 ? 4
                                          : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) ||
        (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))))
        return 0;
    return n;
}

int hexrun__buf_append_json_str(hexrun__buf *b, const char *s)
{
    if (!s)
        return hexrun__buf_appends(b, "null");
    hexrun__buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* Text cut to fit a buffer may end inside a character: JSON out is always valid
         * UTF-8, so a broken sequence becomes U+FFFD. */
        if (*p >= 0x80) {
            size_t n = utf8_len(p);
            if (n)
                hexrun__buf_append(b, (const char *)p, n);
            else
                hexrun__buf_appends(b, "\\ufffd");
            p += n ? n - 1 : 0;
            continue;
        }
        switch (*p) {
        case '"':
            hexrun__buf_append(b, "\\\"", 2);
            break;
        case '\\':
            hexrun__buf_append(b, "\\\\", 2);
            break;
        case '\n':
            hexrun__buf_append(b, "\\n", 2);
            break;
        case '\r':
            hexrun__buf_append(b, "\\r", 2);
            break;
        case '\t':
            hexrun__buf_append(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20)
                hexrun__buf_appendf(b, "\\u%04x", *p);
            else
                hexrun__buf_append(b, (const char *)p, 1);
        }
    }
    return hexrun__buf_append(b, "\"", 1);
}

char *hexrun__buf_steal(hexrun__buf *b)
{
    if (b->failed) {
        hexrun__buf_free(b);
        return NULL;
    }
    char *out = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}

void hexrun__buf_free(hexrun__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
