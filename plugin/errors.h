/*
 * errors.h - the calling thread's last error (internal), behind hexrun_last_error, and the
 * plugin's one error convention (also in docs/architecture.md, "Errors inside the plugin"):
 *
 * 1. A public hexrun_* function calls hexrun__error_clear() first and returns HEXRUN_OK or
 *    a HEXRUN_E_* code; on failure it sets the message with
 *    `return hexrun__error_set(code, "fn: what went wrong", ...)`, naming the function,
 *    the argument or key, and what is allowed.
 * 2. An internal function that can fail for more than one reason returns HEXRUN_OK or a
 *    HEXRUN_E_* code and, when the caller needs to say why, writes the message into the
 *    caller's `char *err, size_t errlen` (a buffer of HEXRUN__ERR_MAX). It never touches the
 *    thread-local message: it may run on the engine thread, whose last error no host reads.
 *    Only the files of public functions (api*.c, config.c) call hexrun__error_set, from err
 *    (`make check-layers` fails otherwise).
 * 3. A function with one way to fail (an allocation, a parse, a lookup) returns 0 / -1, or
 *    a pointer / NULL; a predicate returns 1 / 0. Such a failure means NOMEM, or whatever
 *    the function's comment names.
 * 4. Messages are free of secrets when made (tokens never enter one) and carry ids and
 *    Hex's words quoted; hexrun__error_set escapes control characters.
 * 5. Two buffer sizes: HEXRUN__ERR_MAX for an `err` (rule 2), HEXRUN__MSG_MAX for a
 *    message made for a host (a job's last error, a direct call's answer, the thread's
 *    last error, the report of hexrun_shutdown), which may quote an `err` or a job's
 *    message; snprintf cuts what does not fit.
 */
#ifndef HEXRUN_ERRORS_H
#define HEXRUN_ERRORS_H

#include <stddef.h>

/* The buffer of an internal function's message (rule 2 above). */
#define HEXRUN__ERR_MAX 512
/* A message for a host, and the whole message it reads from hexrun_last_error (rule 5;
 * longer ones are cut). */
#define HEXRUN__MSG_MAX 2048

/* Forget the calling thread's last error (every public call starts with this). */
void hexrun__error_clear(void);

/* Record a message for the calling thread and return code, so that callers can write
 * `return hexrun__error_set(HEXRUN_E_CONFIG, "...", ...)`. Messages longer than
 * HEXRUN__MSG_MAX are truncated. The text must already be free of secrets. */
int hexrun__error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's message buffer ("" when none). */
const char *hexrun__error_get(void);

#endif
