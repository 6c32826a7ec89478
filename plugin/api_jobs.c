/*
 * api_jobs.c - the job verbs: submit, submit_or_adopt, attach, poll, wait, wait_any,
 * cancel, job_info, job_release; see api_int.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "errors.h"
#include "hex.h"

static int check_key(const char *key)
{
    if (!key)
        return HEXRUN_OK;
    size_t len = strlen(key);
    if (len == 0 || len > HEXRUN__IDEMPOTENCY_KEY_MAX)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "hexrun_submit: idempotency_key must be 1 to %d bytes (got "
                                 "%zu)",
                                 HEXRUN__IDEMPOTENCY_KEY_MAX, len);
    return HEXRUN_OK;
}

/* Add a job and queue its first op, or find the job of a known idempotency key. */
static int job_create(hexrun_client *c, int32_t state, const char *project_id, const char *run_id,
                      const char *body, int dry_run, const char *key, int64_t adopt_first_since_ms,
                      int64_t *out_job)
{
    pthread_mutex_lock(&c->jobs.mu);
    hexrun__job *job = key ? hexrun__jobs_find_key(&c->jobs, key) : NULL;
    int rc = HEXRUN_OK;
    if (c->shutting_down) {
        rc = hexrun__error_set(HEXRUN_E_SHUTDOWN, "the client is shutting down");
    } else if (job) {
        *out_job = job->id;
        pthread_mutex_unlock(&c->jobs.mu);
        return HEXRUN_OK;
    } else if (!(job = hexrun__jobs_add(&c->jobs, state, project_id, run_id, body, dry_run, key))) {
        rc = hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
    } else {
        job->adopt_first_since_ms = adopt_first_since_ms;
        rc = state == HEXRUN_STATE_QUEUED ? hexrun__engine_queue_submit(c->engine, job->id)
                                          : hexrun__engine_queue_poll(c->engine, job->id);
        if (rc != HEXRUN_OK) {
            hexrun__jobs_release(&c->jobs, job->id);
            hexrun__error_set(rc, "out of memory");
        } else {
            *out_job = job->id;
        }
    }
    pthread_mutex_unlock(&c->jobs.mu);
    if (rc == HEXRUN_OK && (rc = hexrun__engine_kick(c->engine)) != HEXRUN_OK)
        hexrun__error_set(rc, "the engine thread could not be started");
    return rc;
}

int hexrun_submit(hexrun_client *client, const char *project_id, const char *options_json,
                  const char *idempotency_key, int64_t *out_job)
{
    int rc = hexrun__api_client_check(client, "hexrun_submit");
    if (rc == HEXRUN_OK && !out_job)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_submit: out_job is NULL");
    if (rc == HEXRUN_OK)
        rc = hexrun__api_check_uuid("hexrun_submit", "project_id", project_id);
    if (rc == HEXRUN_OK)
        rc = check_key(idempotency_key);
    if (rc != HEXRUN_OK)
        return rc;
    char *body = NULL, err[HEXRUN__ERR_MAX] = "";
    int dry_run = 0;
    rc = hexrun__hex_run_options(options_json, &body, &dry_run, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "hexrun_submit: options_json: %s", err);
    rc = job_create(client, HEXRUN_STATE_QUEUED, project_id, NULL, body, dry_run, idempotency_key,
                    0, out_job);
    free(body);
    return rc;
}

int hexrun_submit_or_adopt(hexrun_client *client, const char *project_id, const char *options_json,
                           const char *idempotency_key, int64_t since_unix_ms, int64_t *out_job)
{
    static const char fn[] = "hexrun_submit_or_adopt";
    int rc = hexrun__api_client_check(client, fn);
    if (rc == HEXRUN_OK && !out_job)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: out_job is NULL", fn);
    if (rc == HEXRUN_OK)
        rc = hexrun__api_check_uuid(fn, "project_id", project_id);
    if (rc == HEXRUN_OK)
        rc = check_key(idempotency_key);
    /* The earlier send happened on some host's clock: allow a minute of skew ahead. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (rc == HEXRUN_OK && (since_unix_ms <= 0 || since_unix_ms > now_ms + 60000))
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG,
                               "%s: since_unix_ms %lld is not a past time in ms since the "
                               "epoch",
                               fn, (long long)since_unix_ms);
    if (rc != HEXRUN_OK)
        return rc;
    char *body = NULL, err[HEXRUN__ERR_MAX] = "";
    int dry_run = 0;
    rc = hexrun__hex_run_options(options_json, &body, &dry_run, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "%s: options_json: %s", fn, err);
    /* A dry run makes no run: there is nothing to look for. */
    rc = job_create(client, HEXRUN_STATE_QUEUED, project_id, NULL, body, dry_run, idempotency_key,
                    dry_run ? 0 : since_unix_ms, out_job);
    free(body);
    return rc;
}

int hexrun_attach(hexrun_client *client, const char *project_id, const char *run_id,
                  int64_t *out_job)
{
    int rc = hexrun__api_client_check(client, "hexrun_attach");
    if (rc == HEXRUN_OK && !out_job)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_attach: out_job is NULL");
    if (rc == HEXRUN_OK)
        rc = hexrun__api_check_uuid("hexrun_attach", "project_id", project_id);
    if (rc == HEXRUN_OK)
        rc = hexrun__api_check_uuid("hexrun_attach", "run_id", run_id);
    if (rc != HEXRUN_OK)
        return rc;
    return job_create(client, HEXRUN_STATE_PENDING, project_id, run_id, NULL, 0, NULL, 0, out_job);
}

static int no_such_job(const char *fn, int64_t job)
{
    return hexrun__error_set(HEXRUN_E_NO_SUCH_JOB,
                             "%s: no job %lld in this client (unknown "
                             "or released)",
                             fn, (long long)job);
}

int hexrun_poll(hexrun_client *client, int64_t job, int32_t *out_state)
{
    int rc = hexrun__api_client_check(client, "hexrun_poll");
    if (rc != HEXRUN_OK)
        return rc;
    if (!out_state)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_poll: out_state is NULL");
    pthread_mutex_lock(&client->jobs.mu);
    const hexrun__job *j = hexrun__jobs_find(&client->jobs, job);
    if (j)
        *out_state = j->state;
    pthread_mutex_unlock(&client->jobs.mu);
    return j ? HEXRUN_OK : no_such_job("hexrun_poll", job);
}

static struct timespec deadline_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The first terminal job of the list: 1 found, 0 none, -1 an unknown id (in *bad). */
static int first_terminal(hexrun_client *c, const int64_t *jobs, uint32_t n, int64_t *out_job,
                          int32_t *out_state, int64_t *bad)
{
    int found = 0;
    for (uint32_t i = 0; i < n; i++) {
        const hexrun__job *j = hexrun__jobs_find(&c->jobs, jobs[i]);
        if (!j) {
            *bad = jobs[i];
            return -1;
        }
        if (!found && hexrun_state_is_terminal(j->state) == 1) {
            *out_job = j->id;
            *out_state = j->state;
            found = 1;
        }
    }
    return found;
}

static int wait_jobs(hexrun_client *c, const char *fn, const int64_t *jobs, uint32_t n,
                     int64_t timeout_ms, int64_t *out_job, int32_t *out_state)
{
    struct timespec deadline = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
    int64_t job = -1, bad = 0;
    int32_t state = -1;
    int rc = HEXRUN_E_TIMEOUT;
    pthread_mutex_lock(&c->jobs.mu);
    c->waiters++;
    /* The table is looked at once more after the time is up: a job released (or ended)
     * while this thread slept is reported as such, not as a timeout. */
    for (int time_up = timeout_ms == 0;;) {
        int found = first_terminal(c, jobs, n, &job, &state, &bad);
        if (found != 0) {
            rc = found > 0 ? HEXRUN_OK : HEXRUN_E_NO_SUCH_JOB;
            break;
        }
        if (c->shutting_down) {
            rc = HEXRUN_E_SHUTDOWN;
            break;
        }
        if (time_up)
            break;
        if (timeout_ms > 0)
            time_up = pthread_cond_timedwait(&c->jobs.cv, &c->jobs.mu, &deadline) != 0;
        else
            pthread_cond_wait(&c->jobs.cv, &c->jobs.mu);
    }
    if (n == 1 && rc != HEXRUN_E_NO_SUCH_JOB) {
        const hexrun__job *j = hexrun__jobs_find(&c->jobs, jobs[0]);
        state = j ? j->state : state;
    }
    if (--c->waiters == 0 && c->shutting_down)
        pthread_cond_broadcast(&c->jobs.cv);
    pthread_mutex_unlock(&c->jobs.mu);
    if (out_job)
        *out_job = job;
    if (out_state)
        *out_state = state;
    if (rc == HEXRUN_E_NO_SUCH_JOB)
        return no_such_job(fn, bad);
    if (rc == HEXRUN_E_TIMEOUT)
        return hexrun__error_set(rc, "%s: no job became terminal within %lld ms", fn,
                                 (long long)timeout_ms);
    if (rc == HEXRUN_E_SHUTDOWN)
        return hexrun__error_set(rc, "%s: the client is shutting down", fn);
    return rc;
}

int hexrun_wait(hexrun_client *client, int64_t job, int64_t timeout_ms, int32_t *out_state)
{
    int rc = hexrun__api_client_check(client, "hexrun_wait");
    if (rc != HEXRUN_OK)
        return rc;
    return wait_jobs(client, "hexrun_wait", &job, 1, timeout_ms, NULL, out_state);
}

int hexrun_wait_any(hexrun_client *client, const int64_t *jobs, uint32_t n_jobs, int64_t timeout_ms,
                    int64_t *out_job, int32_t *out_state)
{
    int rc = hexrun__api_client_check(client, "hexrun_wait_any");
    if (rc != HEXRUN_OK)
        return rc;
    if (!jobs || n_jobs < 1 || n_jobs > 65536)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "hexrun_wait_any: jobs must be an array of 1 to 65536 ids");
    return wait_jobs(client, "hexrun_wait_any", jobs, n_jobs, timeout_ms, out_job, out_state);
}

/* Decide what a cancel does (table mutex held): 1 = queue a CancelRun, 0 = nothing more,
 * -1 = a QUEUED job was dropped. */
static int cancel_locked(hexrun_client *c, hexrun__job *j, int *rc)
{
    *rc = HEXRUN_OK;
    if (hexrun_state_is_terminal(j->state) == 1) {
        *rc = hexrun__error_set(HEXRUN_E_STATE, "hexrun_cancel: job %lld is already %s",
                                (long long)j->id, hexrun_state_name(j->state));
        return 0;
    }
    if (j->state == HEXRUN_STATE_QUEUED) {
        hexrun__job_set_state(&c->jobs, j, HEXRUN_STATE_KILLED);
        return -1; /* logged by the caller, outside the lock */
    }
    /* Without a run id yet, the engine cancels as soon as RunProject answers. */
    j->cancel_requested = 1;
    if (!j->run_id[0] || j->cancel_sent)
        return 0;
    j->cancel_sent = 1;
    return 1;
}

int hexrun_cancel(hexrun_client *client, int64_t job)
{
    int rc = hexrun__api_client_check(client, "hexrun_cancel");
    if (rc != HEXRUN_OK)
        return rc;
    pthread_mutex_lock(&client->jobs.mu);
    hexrun__job *j = hexrun__jobs_find(&client->jobs, job);
    int send = 0;
    if (!j)
        rc = no_such_job("hexrun_cancel", job);
    else if (client->shutting_down)
        rc = hexrun__error_set(HEXRUN_E_SHUTDOWN, "the client is shutting down");
    else
        send = cancel_locked(client, j, &rc);
    if (send > 0 && (rc = hexrun__engine_queue_cancel(client->engine, job)) != HEXRUN_OK) {
        j->cancel_sent = 0;
        hexrun__error_set(rc, "out of memory");
    }
    pthread_mutex_unlock(&client->jobs.mu);
    /* Never under the lock: a slow log callback must not hold up other threads' calls. */
    if (send < 0)
        hexrun__log_write(client->log, HEXRUN_LOG_INFO, "event=cancelled job=%lld queued=1",
                          (long long)job);
    if (send > 0 && rc == HEXRUN_OK)
        rc = hexrun__engine_kick(client->engine);
    return rc;
}

int hexrun_job_info(hexrun_client *client, int64_t job, char **out)
{
    int rc = hexrun__api_client_check(client, "hexrun_job_info");
    if (rc != HEXRUN_OK)
        return rc;
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_job_info: out is NULL");
    pthread_mutex_lock(&client->jobs.mu);
    const hexrun__job *j = hexrun__jobs_find(&client->jobs, job);
    *out = j ? hexrun__job_to_json(&client->jobs, j) : NULL;
    pthread_mutex_unlock(&client->jobs.mu);
    if (!j)
        return no_such_job("hexrun_job_info", job);
    return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

int hexrun_job_release(hexrun_client *client, int64_t job)
{
    int rc = hexrun__api_client_check(client, "hexrun_job_release");
    if (rc != HEXRUN_OK)
        return rc;
    pthread_mutex_lock(&client->jobs.mu);
    int gone = hexrun__jobs_release(&client->jobs, job);
    pthread_mutex_unlock(&client->jobs.mu);
    return gone ? no_such_job("hexrun_job_release", job) : HEXRUN_OK;
}
