/*
 * log.h - the plugin's log sink with secret redaction (internal).
 *
 * Every line the plugin emits, and every error text it hands to a host
 * (hexrun_last_error, job info last_error), passes through redaction: each registered
 * secret (the token), raw, percent-encoded or JSON-escaped, and the value of any
 * "Authorization:" header or "Bearer xxx" credential becomes "<redacted>".
 */
#ifndef HEXRUN_LOG_H
#define HEXRUN_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "hexrun.h"

/* What replaces a secret. */
#define HEXRUN__REDACTED "<redacted>"

typedef struct hexrun__log hexrun__log;

/*
 * hexrun__log_new - a sink that passes lines at or above `level` (a hexrun_log_level) to
 * `fn(level, line, user_data)`, or to stderr when fn is NULL.
 * @secrets: NULL-terminated list of strings to redact (copied; NULL or empty entries are
 *   skipped). May be NULL.
 * Returns NULL on allocation failure. Thread-safe to use from any thread once made.
 */
hexrun__log *hexrun__log_new(int level, hexrun_log_fn fn, void *user_data,
                             const char *const *secrets);
void hexrun__log_free(hexrun__log *log);

/* 1 if a line at this level would be delivered (to skip costly formatting). */
int hexrun__log_enabled(const hexrun__log *log, int level);

/*
 * hexrun__log_write - format one line (by convention "event=... key=value ..."), redact
 * it, escape its control characters (one event is always one line), and deliver it. Lines
 * longer than 4 KiB are truncated. log may be NULL (no-op).
 */
void hexrun__log_write(hexrun__log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Deferred delivery. A thread that writes lines while holding a lock the host's threads
 * need (the engine thread and the client's table mutex) calls hexrun__log_defer once:
 * from then on its lines are queued (formatted and redacted at once, in order) instead of
 * handed to the callback, and hexrun__log_flush delivers them when that thread holds no
 * lock. So a slow callback slows only that thread, and a callback may call hexrun_poll.
 * on=0 stops deferring (flush first). Only the deferring thread may flush.
 */
void hexrun__log_defer(hexrun__log *log, int on);
void hexrun__log_flush(hexrun__log *log);

/*
 * hexrun__redact - copy `in` into out (snprintf rules: always NUL-terminated when
 * outlen > 0, truncated when too long) with every secret in `secrets` (NULL-terminated,
 * may be NULL), its percent-encoded and JSON-escaped forms, and Authorization/Bearer
 * credentials replaced by HEXRUN__REDACTED. Returns the length the full result needs
 * (without the NUL).
 */
size_t hexrun__redact(const char *in, const char *const *secrets, char *out, size_t outlen);

/* hexrun__redact with the secrets registered in `log` (log may be NULL). */
size_t hexrun__log_redact(const hexrun__log *log, const char *in, char *out, size_t outlen);

/*
 * hexrun__escape_controls - copy `in` into out (snprintf rules) with control characters
 * written visibly: CR, LF and tab as \r \n \t, other C0 bytes and DEL as \xNN, C1 (UTF-8
 * U+0080..U+009F) as \u00NN. Text from Hex or from a caller (a status, a trace id, an id)
 * can then neither forge a log line nor drive a terminal. Never cuts an escape in two.
 */
void hexrun__escape_controls(const char *in, char *out, size_t outlen);

#endif
