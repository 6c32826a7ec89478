/* errors.c - thread-local last error, and the public hexrun_strerror and
 * hexrun_last_error; errors.h holds the plugin's one error convention. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

#include "hexrun.h"
#include "log.h"

static _Thread_local char last_error[HEXRUN__MSG_MAX];

void hexrun__error_clear(void)
{
    last_error[0] = '\0';
}

int hexrun__error_set(int code, const char *fmt, ...)
{
    /* Messages quote callers' ids and Hex's words: hosts print and log them as they are,
     * so control characters are escaped here once for all. */
    char raw[HEXRUN__MSG_MAX];
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

/* A missing case is a compile error, so a new code cannot lack a message. */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch-enum"
const char *hexrun_strerror(int code)
{
    switch ((enum hexrun_error)code) {
    case HEXRUN_OK:
        return "success";
    case HEXRUN_E_INVALID_ARG:
        return "invalid argument";
    case HEXRUN_E_NOMEM:
        return "out of memory";
    case HEXRUN_E_CONFIG:
        return "invalid configuration";
    case HEXRUN_E_NO_SUCH_JOB:
        return "no such job";
    case HEXRUN_E_TIMEOUT:
        return "timed out";
    case HEXRUN_E_TRANSPORT:
        return "network failure";
    case HEXRUN_E_TLS:
        return "TLS failure";
    case HEXRUN_E_AUTH:
        return "authentication failed (401)";
    case HEXRUN_E_FORBIDDEN:
        return "forbidden (403)";
    case HEXRUN_E_NOT_FOUND:
        return "not found (404)";
    case HEXRUN_E_INVALID_REQUEST:
        return "request refused by Hex (400/422)";
    case HEXRUN_E_RATE_LIMITED:
        return "rate limited (429)";
    case HEXRUN_E_UNAVAILABLE:
        return "Hex unavailable (5xx)";
    case HEXRUN_E_HTTP:
        return "unexpected HTTP status";
    case HEXRUN_E_PROTOCOL:
        return "unreadable response";
    case HEXRUN_E_TOO_LARGE:
        return "response too large";
    case HEXRUN_E_OUTCOME_UNKNOWN:
        return "run outcome unknown";
    case HEXRUN_E_STATE:
        return "not valid in the job's state";
    case HEXRUN_E_FORKED:
        return "client belongs to another process (fork)";
    case HEXRUN_E_SHUTDOWN:
        return "client is shutting down";
    case HEXRUN_E_BUFFER:
        return "buffer too small";
    case HEXRUN_E_IO:
        return "local file error";
    case HEXRUN_E_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}
#pragma GCC diagnostic pop

const char *hexrun_last_error(void)
{
    return hexrun__error_get();
}
