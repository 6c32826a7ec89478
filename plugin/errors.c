/* errors.c - thread-local last error; see errors.h. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

#define ERROR_MAX 2048

static _Thread_local char last_error[ERROR_MAX];

void hexrun__error_clear(void)
{
    last_error[0] = '\0';
}

int hexrun__error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *hexrun__error_get(void)
{
    return last_error;
}
