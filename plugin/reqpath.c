/* reqpath.c - hexrun_request paths; see reqpath.h. */
#include "reqpath.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SEGMENTS_MAX 16

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode the segment [s, s + len) into out (cut at outlen - 1). */
static void decode_segment(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < outlen; i++) {
        int hi = s[i] == '%' && i + 2 < len ? hex_val(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_val(s[i + 2]) : -1;
        if (lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

int hexrun__is_dot_segment(const char *id)
{
    return id && (strcmp(id, ".") == 0 || strcmp(id, "..") == 0);
}

/* Split the path part (before '?') into decoded, non-empty segments. Returns how many
 * (at most max); *dots is set when one of them is "." or "..". */
static size_t segments(const char *path, char seg[][128], size_t max, int *dots)
{
    size_t n = 0, end = strcspn(path, "?");
    *dots = 0;
    for (size_t i = 0; i < end;) {
        size_t len = strcspn(path + i, "/?");
        if (len > end - i)
            len = end - i;
        if (len > 0) {
            char one[128];
            decode_segment(path + i, len, one, sizeof one);
            *dots |= hexrun__is_dot_segment(one);
            if (n < max)
                snprintf(seg[n], sizeof seg[n], "%s", one);
            n++;
        }
        i += len + 1;
    }
    return n;
}

int hexrun__request_path_ok(const char *path, char *why, size_t whylen)
{
    char seg[SEGMENTS_MAX][128];
    int dots = 0;
    if (strncmp(path, "/v1/", 4) != 0) {
        snprintf(why, whylen, "must start with /v1/");
        return 0;
    }
    if (strlen(path) > HEXRUN__REQUEST_PATH_MAX) {
        snprintf(why, whylen, "is longer than %d bytes", HEXRUN__REQUEST_PATH_MAX);
        return 0;
    }
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#' || *p == '\\') {
            snprintf(why, whylen, "must hold no spaces, control characters, '#' or '\\'");
            return 0;
        }
    }
    segments(path, seg, SEGMENTS_MAX, &dots);
    if (dots) {
        snprintf(why, whylen, "must hold no '.' or '..' segments (also not as %%2e)");
        return 0;
    }
    return 1;
}

int hexrun__request_is_run_project(const char *method, const char *path)
{
    char seg[SEGMENTS_MAX][128];
    int dots = 0;
    if (!method || strcasecmp(method, "POST") != 0)
        return 0;
    size_t n = segments(path, seg, SEGMENTS_MAX, &dots);
    if (n != 4 || strcasecmp(seg[0], "v1") != 0)
        return 0;
    return (strcasecmp(seg[1], "projects") == 0 && strcasecmp(seg[3], "runs") == 0) ||
           (strcasecmp(seg[1], "project") == 0 && strcasecmp(seg[3], "run") == 0);
}
