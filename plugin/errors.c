/* errors.c - thread-local last error; see errors.h. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

#define ERROR_MAX 2048

static _Thread_local char last_error[ERROR_MAX];

void hexrun__error_clear(void)
{
    last_error[0] = '\0';
}

int hexrun__error_set(int code, const char *fmt, ...)
{
    /* Messages quote callers' ids and Hex's words: hosts print and log them as they are,
     * so control characters are escaped here once for all. */
    char raw[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    hexrun__escape_controls(raw, last_error, sizeof last_error);
    return code;
}

const char *hexrun__error_get(void)
{
    return last_error;
}
