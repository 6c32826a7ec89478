/*
 * libFuzzer target: hexrun__job_to_json (plugin/job.c), the JSON of hexrun_job_info.
 * Input: byte 0 the state, byte 1 the error code (0 = no error), bytes 2-3 the HTTP status,
 * byte 4 flags (bit 0 dry run, bits 1-2 queued jobs ahead), then NUL-separated strings:
 * project id, run id, run URL, Hex status, idempotency key, error message, trace id,
 * start time, end time. The output must parse as one JSON object holding every string
 * unchanged (or null when empty); a string that is not valid UTF-8 comes back as valid
 * UTF-8 with U+FFFD where it was broken.
 */
#include <json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A stand-in for api.c's hexrun_strerror: api.c would pull in the whole client. */
const char *hexrun_strerror(int code)
{
    return code == HEXRUN_E_INVALID_REQUEST ? "HEXRUN_E_INVALID_REQUEST" : "HEXRUN_E_\"x\"";
}

enum { F_PROJECT, F_RUN, F_URL, F_STATUS, F_KEY, F_MESSAGE, F_TRACE, F_START, F_END, N_FIELDS };

/* Splits the text after the header at NULs; missing fields are "". */
static void split(const char *text, size_t len, const char *out[N_FIELDS])
{
    size_t pos = 0;
    for (int i = 0; i < N_FIELDS; i++) {
        out[i] = pos < len ? text + pos : "";
        pos += strlen(out[i]) + 1;
    }
}

/* Independent of plugin/buf.c: decode code points and check their ranges. */
static int valid_utf8(const unsigned char *p)
{
    while (*p) {
        int n = *p < 0x80             ? 0
                : (*p & 0xE0) == 0xC0 ? 1
                : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3
                                      : -1;
        if (n < 0)
            return 0;
        uint32_t cp = n == 0 ? *p : (uint32_t)(*p & (0x3F >> n));
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* got is want, or, when want is not valid UTF-8, valid UTF-8 holding U+FFFD. */
static int same_text(const char *got, const char *want)
{
    if (valid_utf8((const unsigned char *)want))
        return strcmp(got, want) == 0;
    return valid_utf8((const unsigned char *)got) && strstr(got, "\xef\xbf\xbd") != NULL;
}

/* The member `key` must be null when want is empty, else exactly want. */
static void expect_str(json_object *obj, const char *key, const char *want)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v))
        abort();
    if (!want || !want[0]) {
        if (v != NULL)
            abort();
        return;
    }
    if (!json_object_is_type(v, json_type_string) || !same_text(json_object_get_string(v), want))
        abort();
}

static void expect_int(json_object *obj, const char *key, int64_t want)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) != want)
        abort();
}

static void check_error(json_object *obj, const hexrun__job *job)
{
    json_object *e;
    if (!json_object_object_get_ex(obj, "last_error", &e))
        abort();
    if (job->last_error.code == HEXRUN_OK) {
        if (e != NULL)
            abort();
        return;
    }
    if (!json_object_is_type(e, json_type_object))
        abort();
    expect_int(e, "code", job->last_error.code);
    expect_str(e, "name", hexrun_strerror(job->last_error.code));
    json_object *m;
    /* message is a string even when empty; null only when there is none */
    if (!json_object_object_get_ex(e, "message", &m) || !json_object_is_type(m, json_type_string) ||
        !same_text(json_object_get_string(m), job->last_error.message))
        abort();
    expect_str(e, "trace_id", job->last_error.trace_id);
    if (job->last_error.http_status)
        expect_int(e, "http_status", job->last_error.http_status);
}

static void check_json(const char *json, const hexrun__jobs *t, const hexrun__job *job,
                       const char *f[N_FIELDS])
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    /* Strict: raw control characters in a string or trailing bytes are errors. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, json, (int)strlen(json) + 1);
    if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(obj, json_type_object))
        abort();
    json_tokener_free(tok);
    expect_int(obj, "job", job->id);
    /* The fixed-size fields keep what fits; the heap ones keep everything. */
    if (strncmp(job->project_id, f[F_PROJECT], sizeof job->project_id - 1) ||
        strncmp(job->start_time, f[F_START], sizeof job->start_time - 1))
        abort();
    expect_str(obj, "project_id", job->project_id);
    expect_str(obj, "run_id", job->run_id);
    expect_str(obj, "run_url", f[F_URL]);
    expect_str(obj, "state", hexrun_state_name(job->state));
    expect_str(obj, "hex_status", job->hex_status);
    expect_str(obj, "idempotency_key", f[F_KEY]);
    expect_str(obj, "start_time", job->start_time);
    expect_str(obj, "end_time", job->end_time);
    expect_str(obj, "submitted_at", job->submitted_at);
    json_object *d;
    if (!json_object_object_get_ex(obj, "dry_run", &d) ||
        json_object_get_boolean(d) != (job->dry_run != 0))
        abort();
    if (job->state == HEXRUN_STATE_QUEUED)
        expect_int(obj, "queue_position", (int64_t)hexrun__jobs_queue_position(t, job));
    check_error(obj, job);
    json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    char *text = malloc(size - 5 + 1);
    if (!text)
        return 0;
    memcpy(text, data + 5, size - 5);
    text[size - 5] = '\0';
    const char *f[N_FIELDS];
    split(text, size - 5, f);

    hexrun__jobs t;
    if (hexrun__jobs_init(&t) != 0)
        abort();
    for (int i = 0; i < ((data[4] >> 1) & 3); i++) /* queued jobs ahead of this one */
        hexrun__jobs_add(&t, HEXRUN_STATE_QUEUED, "p", NULL, NULL, 0, NULL);
    hexrun__job *job = hexrun__jobs_add(&t, (int32_t)(data[0] % 13), f[F_PROJECT], f[F_RUN], "{}",
                                        data[4] & 1, f[F_KEY][0] ? f[F_KEY] : NULL);
    if (!job)
        abort();
    hexrun__job_set_run_url(job, "https://old.example/run");
    hexrun__job_set_run_url(job, f[F_URL]);
    if (!f[F_URL][0]) /* an empty URL keeps the previous one */
        f[F_URL] = "https://old.example/run";
    snprintf(job->hex_status, sizeof job->hex_status, "%s", f[F_STATUS]);
    snprintf(job->start_time, sizeof job->start_time, "%s", f[F_START]);
    snprintf(job->end_time, sizeof job->end_time, "%s", f[F_END]);
    if (data[1])
        hexrun__job_set_error(job, -(int)(data[1] % 24), data[2] | data[3] << 8, f[F_MESSAGE],
                              f[F_TRACE]);
    char *json = hexrun__job_to_json(&t, job);
    if (!json)
        abort();
    check_json(json, &t, job, f);
    free(json);
    hexrun__jobs_destroy(&t);
    free(text);
    return 0;
}
