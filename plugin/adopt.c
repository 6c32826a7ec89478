/* adopt.c - choosing the run an unanswered RunProject created; see adopt.h. */
#include "adopt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t hexrun__iso8601_ms(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 || used != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
        return -1;
    int64_t frac_ms = 0;
    const char *p = s + used;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (!digits)
            return -1;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? -1 : (int64_t)t * 1000 + frac_ms;
}

static int may_be_ours(const hexrun__hex_run *run, int64_t since_ms)
{
    if (run->run_trigger[0] && strcmp(run->run_trigger, "API") != 0)
        return 0;
    if (!run->start_time[0])
        return 1;
    int64_t start = hexrun__iso8601_ms(run->start_time);
    return start < 0 || start >= since_ms - HEXRUN__ADOPT_SKEW_MS;
}

size_t hexrun__adopt_candidates(const hexrun__hex_run *runs, size_t n, int64_t since_ms,
                                hexrun__run_known_fn known, void *ud, size_t *idx, size_t max)
{
    size_t found = 0;
    /* The page is newest first; walk it backwards so idx comes out oldest first. */
    for (size_t k = n; k-- > 0;) {
        if (!may_be_ours(&runs[k], since_ms) || (known && known(runs[k].run_id, ud)))
            continue;
        if (found < max)
            idx[found] = k;
        found++;
    }
    return found;
}
