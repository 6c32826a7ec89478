/* job.c - the job table and the job state machine; see job.h. */
#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"

#define N_STATES 12

static const char *const state_names[N_STATES] = {
    "QUEUED",        "SUBMITTING", "PENDING", "RUNNING",
    "COMPLETED",     "ERRORED",    "KILLED",  "UNABLE_TO_ALLOCATE_KERNEL",
    "SUBMIT_FAILED", "UNKNOWN",    "LOST",    "SUBMIT_UNKNOWN"};

const char *hexrun_state_name(int32_t state)
{
    if (state < 0 || state >= N_STATES)
        return "INVALID";
    return state_names[state];
}

int32_t hexrun_state_is_terminal(int32_t state)
{
    switch (state) {
    case HEXRUN_STATE_QUEUED:
    case HEXRUN_STATE_SUBMITTING:
    case HEXRUN_STATE_PENDING:
    case HEXRUN_STATE_RUNNING:
    case HEXRUN_STATE_UNKNOWN:
        return 0;
    case HEXRUN_STATE_COMPLETED:
    case HEXRUN_STATE_ERRORED:
    case HEXRUN_STATE_KILLED:
    case HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL:
    case HEXRUN_STATE_SUBMIT_FAILED:
    case HEXRUN_STATE_LOST:
    case HEXRUN_STATE_SUBMIT_UNKNOWN:
        return 1;
    default:
        return -1;
    }
}

static int64_t real_unix_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hexrun__jobs_init(hexrun__jobs *t)
{
    memset(t, 0, sizeof *t);
    t->next_id = 1;
    t->unix_ms = real_unix_ms;
    if (pthread_mutex_init(&t->mu, NULL))
        return -1;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* Waits are bounded by elapsed time, which must not jump with the wall clock. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&t->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc) {
        pthread_mutex_destroy(&t->mu);
        return -1;
    }
    return 0;
}

static void job_free(hexrun__job *job)
{
    if (!job)
        return;
    free(job->idempotency_key);
    free(job->run_body);
    free(job->run_url);
    free(job->last_error.message);
    free(job);
}

void hexrun__jobs_destroy(hexrun__jobs *t)
{
    for (size_t i = 0; i < t->n; i++)
        job_free(t->items[i]);
    free(t->items);
    for (size_t i = 0; i < t->n_released; i++)
        free(t->released[i].runs);
    free(t->released);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* The table's clock now, as ISO-8601 UTC with milliseconds. */
static void now_iso8601(const hexrun__jobs *t, char *out, size_t size)
{
    int64_t ms = t->unix_ms(t->clock_ud);
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03dZ", day, (int)(ms % 1000));
}

static int dup_opt(const char *src, char **dst)
{
    *dst = NULL;
    return src && !(*dst = strdup(src)) ? -1 : 0;
}

static int table_grow(hexrun__jobs *t)
{
    if (t->n < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 64;
    hexrun__job **items = realloc(t->items, cap * sizeof *items);
    if (!items)
        return -1;
    t->items = items;
    t->cap = cap;
    return 0;
}

hexrun__job *hexrun__jobs_add(hexrun__jobs *t, int32_t state, const char *project_id,
                              const char *run_id, const char *run_body, int dry_run,
                              const char *idempotency_key)
{
    hexrun__job *job = calloc(1, sizeof *job);
    if (!job || dup_opt(run_body, &job->run_body) ||
        dup_opt(idempotency_key, &job->idempotency_key) || table_grow(t)) {
        job_free(job);
        return NULL;
    }
    job->id = t->next_id++;
    job->state = state;
    job->dry_run = dry_run;
    job->elapsed_ms = -1;
    copy_str(job->project_id, sizeof job->project_id, project_id);
    copy_str(job->run_id, sizeof job->run_id, run_id);
    now_iso8601(t, job->submitted_at, sizeof job->submitted_at);
    t->items[t->n++] = job;
    return job;
}

static size_t index_of(const hexrun__jobs *t, int64_t id, int *found)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->items[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < t->n && t->items[lo]->id == id;
    return lo;
}

hexrun__job *hexrun__jobs_find(const hexrun__jobs *t, int64_t id)
{
    int found;
    size_t i = index_of(t, id, &found);
    return found ? t->items[i] : NULL;
}

hexrun__job *hexrun__jobs_find_key(const hexrun__jobs *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i]->idempotency_key && strcmp(t->items[i]->idempotency_key, key) == 0)
            return t->items[i];
    return NULL;
}

static hexrun__released *released_find(const hexrun__jobs *t, const char *project_id)
{
    for (size_t i = 0; i < t->n_released; i++)
        if (strcmp(t->released[i].project_id, project_id) == 0)
            return &t->released[i];
    return NULL;
}

/* The project's memory: found, new, or the least recently used one taken over. */
static hexrun__released *released_slot(hexrun__jobs *t, const char *project_id)
{
    hexrun__released *r = released_find(t, project_id);
    if (r)
        return r;
    if (!t->released &&
        !(t->released = calloc(HEXRUN__JOBS_RELEASED_PROJECTS, sizeof *t->released)))
        return NULL;
    if (t->n_released < HEXRUN__JOBS_RELEASED_PROJECTS) {
        r = &t->released[t->n_released++];
    } else {
        r = &t->released[0];
        for (size_t i = 1; i < t->n_released; i++)
            if (t->released[i].last_use < r->last_use)
                r = &t->released[i];
        r->n = 0;
    }
    snprintf(r->project_id, sizeof r->project_id, "%s", project_id);
    return r;
}

/* Keep the run among its project's released runs of the highest job ids. Out of memory
 * only makes a later lookup find the run ambiguous, never wrong. */
static void remember_run(hexrun__jobs *t, const hexrun__job *job)
{
    hexrun__released *r = job->run_id[0] ? released_slot(t, job->project_id) : NULL;
    if (!r || (!r->runs && !(r->runs = calloc(HEXRUN__JOBS_RELEASED_PER_PROJECT, sizeof *r->runs))))
        return;
    hexrun__released_run *slot = &r->runs[r->n];
    if (r->n == HEXRUN__JOBS_RELEASED_PER_PROJECT) {
        slot = &r->runs[0];
        for (size_t i = 1; i < r->n; i++)
            if (r->runs[i].job < slot->job)
                slot = &r->runs[i];
        if (slot->job > job->id)
            return; /* older than every run kept: off the project's newest page */
    } else {
        r->n++;
    }
    slot->job = job->id;
    snprintf(slot->run_id, sizeof slot->run_id, "%s", job->run_id);
    r->last_use = ++t->releases;
}

int hexrun__jobs_knows_run(const hexrun__jobs *t, const char *project_id, const char *run_id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i]->run_id, run_id) == 0)
            return 1;
    const hexrun__released *r = released_find(t, project_id);
    for (size_t i = 0; r && i < r->n; i++)
        if (strcmp(r->runs[i].run_id, run_id) == 0)
            return 1;
    return 0;
}

int hexrun__jobs_release(hexrun__jobs *t, int64_t id)
{
    int found;
    size_t i = index_of(t, id, &found);
    if (!found)
        return -1;
    remember_run(t, t->items[i]);
    job_free(t->items[i]);
    memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof *t->items);
    t->n--;
    pthread_cond_broadcast(&t->cv); /* a thread waiting on it returns NO_SUCH_JOB now */
    return 0;
}

size_t hexrun__jobs_queue_position(const hexrun__jobs *t, const hexrun__job *job)
{
    size_t pos = 0;
    for (size_t i = 0; i < t->n && t->items[i]->id < job->id; i++)
        if (t->items[i]->state == HEXRUN_STATE_QUEUED)
            pos++;
    return pos;
}

int hexrun__job_transition_ok(int32_t from, int32_t to)
{
    if (hexrun_state_is_terminal(from) != 0 || hexrun_state_is_terminal(to) < 0)
        return 0;
    switch (from) {
    case HEXRUN_STATE_QUEUED:
        return to == HEXRUN_STATE_SUBMITTING || to == HEXRUN_STATE_KILLED;
    case HEXRUN_STATE_SUBMITTING:
        return to != HEXRUN_STATE_QUEUED && to != HEXRUN_STATE_LOST;
    default:
        /* A run that exists never goes back to the submit states. */
        return to != HEXRUN_STATE_QUEUED && to != HEXRUN_STATE_SUBMITTING &&
               to != HEXRUN_STATE_SUBMIT_FAILED && to != HEXRUN_STATE_SUBMIT_UNKNOWN;
    }
}

int hexrun__job_set_state(hexrun__jobs *t, hexrun__job *job, int32_t state)
{
    if (job->state == state)
        return 0;
    if (!hexrun__job_transition_ok(job->state, state))
        return -1;
    job->state = state;
    pthread_cond_broadcast(&t->cv);
    return 1;
}

void hexrun__job_set_error(hexrun__job *job, int code, int http_status, const char *message,
                           const char *trace_id)
{
    job->last_error.code = code;
    job->last_error.http_status = http_status;
    free(job->last_error.message);
    /* Out of memory loses only the text; the code and status stay. */
    job->last_error.message = message ? strdup(message) : NULL;
    copy_str(job->last_error.trace_id, sizeof job->last_error.trace_id, trace_id);
}

void hexrun__job_note_cancelled(const hexrun__jobs *t, hexrun__job *job)
{
    copy_str(job->hex_status, sizeof job->hex_status, "KILLED");
    if (!job->end_time[0])
        now_iso8601(t, job->end_time, sizeof job->end_time);
}

void hexrun__job_set_run_url(hexrun__job *job, const char *url)
{
    if (!url || !url[0] || (job->run_url && strcmp(job->run_url, url) == 0))
        return;
    char *copy = strdup(url);
    if (!copy)
        return; /* keep the previous URL */
    free(job->run_url);
    job->run_url = copy;
}

static void json_opt_str(hexrun__buf *b, const char *key, const char *value)
{
    hexrun__buf_appendf(b, ",\"%s\":", key);
    hexrun__buf_append_json_str(b, value && value[0] ? value : NULL);
}

/* A field whose text came from Hex (a status, a URL, a trace id): Hex may echo the token
 * in anything, so it passes through the same redaction as the logs. */
static void json_opt_str_redacted(hexrun__buf *b, const hexrun__jobs *t, const char *key,
                                  const char *value)
{
    if (!t->log || !value || !value[0]) {
        json_opt_str(b, key, value);
        return;
    }
    size_t need = hexrun__log_redact(t->log, value, NULL, 0);
    char *red = malloc(need + 1);
    if (!red) {
        b->failed = 1;
        return;
    }
    hexrun__log_redact(t->log, value, red, need + 1);
    json_opt_str(b, key, red);
    free(red);
}

static void json_error(hexrun__buf *b, const hexrun__jobs *t, const hexrun__job_error *e)
{
    if (e->code == HEXRUN_OK) {
        hexrun__buf_appends(b, ",\"last_error\":null");
        return;
    }
    hexrun__buf_appendf(b, ",\"last_error\":{\"code\":%d,\"name\":", e->code);
    hexrun__buf_append_json_str(b, hexrun_strerror(e->code));
    hexrun__buf_appends(b, ",\"message\":");
    hexrun__buf_append_json_str(b, e->message);
    if (e->http_status)
        hexrun__buf_appendf(b, ",\"http_status\":%d", e->http_status);
    else
        hexrun__buf_appends(b, ",\"http_status\":null");
    json_opt_str_redacted(b, t, "trace_id", e->trace_id);
    hexrun__buf_appends(b, "}");
}

char *hexrun__job_to_json(const hexrun__jobs *t, const hexrun__job *job)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appendf(&b, "{\"job\":%lld", (long long)job->id);
    json_opt_str(&b, "project_id", job->project_id);
    json_opt_str_redacted(&b, t, "run_id", job->run_id);
    json_opt_str_redacted(&b, t, "run_url", job->run_url);
    json_opt_str(&b, "state", hexrun_state_name(job->state));
    json_opt_str_redacted(&b, t, "hex_status", job->hex_status);
    json_opt_str(&b, "idempotency_key", job->idempotency_key);
    hexrun__buf_appendf(&b, ",\"dry_run\":%s", job->dry_run ? "true" : "false");
    if (job->state == HEXRUN_STATE_QUEUED)
        hexrun__buf_appendf(&b, ",\"queue_position\":%zu", hexrun__jobs_queue_position(t, job));
    else
        hexrun__buf_appends(&b, ",\"queue_position\":null");
    json_opt_str(&b, "submitted_at", job->submitted_at);
    json_opt_str(&b, "start_time", job->start_time);
    json_opt_str(&b, "end_time", job->end_time);
    if (job->elapsed_ms >= 0)
        hexrun__buf_appendf(&b, ",\"elapsed_ms\":%lld", (long long)job->elapsed_ms);
    else
        hexrun__buf_appends(&b, ",\"elapsed_ms\":null");
    hexrun__buf_appendf(&b, ",\"attempts\":%d,\"polls\":%d", job->attempts, job->polls);
    json_opt_str(&b, "cancel",
                 job->cancel_accepted    ? "accepted"
                 : job->cancel_sent      ? "sent"
                 : job->cancel_requested ? "requested"
                                         : NULL);
    json_opt_str(&b, "waiting_for",
                 hexrun_state_is_terminal(job->state) == 1 ? NULL : job->waiting_for);
    json_error(&b, t, &job->last_error);
    hexrun__buf_appends(&b, "}");
    return hexrun__buf_steal(&b);
}
