/*
 * errors.h - the calling thread's last error (internal), behind hexrun_last_error.
 */
#ifndef HEXRUN_ERRORS_H
#define HEXRUN_ERRORS_H

#include <stddef.h>

/* Forget the calling thread's last error (every public call starts with this). */
void hexrun__error_clear(void);

/* Record a message for the calling thread and return code, so that callers can write
 * `return hexrun__error_set(HEXRUN_E_CONFIG, "...", ...)`. Messages longer than 2 KiB
 * are truncated. The text must already be free of secrets. */
int hexrun__error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's message buffer ("" when none). */
const char *hexrun__error_get(void);

#endif
