/*
 * buf.h - a growable NUL-terminated string buffer (internal).
 *
 * Used to build the JSON the plugin hands out (job info, stats, plugin info) without
 * json-c, and to assemble URLs and log lines. A buffer that fails to grow remembers it
 * (`failed`) and ignores further appends, so a caller can append a whole document and
 * check once at the end.
 */
#ifndef HEXRUN_BUF_H
#define HEXRUN_BUF_H

#include <stddef.h>

typedef struct hexrun__buf {
    char *data; /* NUL-terminated once anything was appended; NULL when empty */
    size_t len; /* bytes in data, without the NUL */
    size_t cap; /* bytes allocated */
    int failed; /* 1 after an allocation failure: data is left as it was */
} hexrun__buf;

/* A zeroed hexrun__buf is a valid empty buffer. */
/* clang-format 14 would spread a braced macro body over four lines */
/* clang-format off */
#define HEXRUN__BUF_INIT {NULL, 0, 0, 0}
/* clang-format on */

/* Append bytes / a string / printf output. Return 0, or -1 on allocation failure. */
int hexrun__buf_append(hexrun__buf *b, const char *data, size_t len);
/* Make room for extra more bytes (and the NUL) in one allocation; 0 or -1 (failed). */
int hexrun__buf_reserve(hexrun__buf *b, size_t extra);
int hexrun__buf_appends(hexrun__buf *b, const char *s);
int hexrun__buf_appendf(hexrun__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s as a JSON string literal with its quotes ("null" when s is NULL). Control
 * characters, quote and backslash are escaped; other bytes are copied as they are. */
int hexrun__buf_append_json_str(hexrun__buf *b, const char *s);

/* Take ownership of the contents (malloc'd, never NULL unless failed: "" when empty)
 * and reset the buffer. Returns NULL when an earlier append failed or on NOMEM. */
char *hexrun__buf_steal(hexrun__buf *b);

/* Release the contents and reset. */
void hexrun__buf_free(hexrun__buf *b);

#endif
