/*
 * api.c - the public entry points: argument checks, the client, the job verbs and the
 * direct calls. Everything that talks to Hex goes through the engine (engine.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "engine.h"
#include "errors.h"
#include "hex.h"
#include "hexrun.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "reqpath.h"

#define MAX_PAGES 10000
#define ID_MAX 128
/* A list query beyond this is a mistake: it would fail as a transport error that is
 * retried, not as the caller's bad argument. */
#define QUERY_MAX 2048

struct hexrun_client {
    pid_t pid;
    hexrun_config *cfg;
    hexrun__log *log;
    hexrun__jobs jobs;
    hexrun__engine *engine;
    int shutting_down; /* under jobs.mu */
    int waiters;       /* threads blocked in a wait; shutdown waits for them to leave */
};

uint32_t hexrun_abi_version(void)
{
    return HEXRUN_ABI_VERSION;
}

const char *hexrun_version(void)
{
    return HEXRUN_VERSION_STRING;
}

void hexrun_free(void *ptr)
{
    free(ptr);
}

int hexrun_plugin_info(char **out)
{
    hexrun__error_clear();
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_plugin_info: out is NULL");
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appendf(&b,
                        "{\"name\":\"hexrun\",\"version\":\"%s\",\"abi\":{\"major\":%d,"
                        "\"minor\":%d},\"capabilities\":[\"submit\",\"poll\",\"wait\","
                        "\"wait_any\",\"cancel\",\"attach\",\"submit_or_adopt\","
                        "\"job_info\",\"stats\","
                        "\"runs_list\",\"projects\",\"users\",\"groups\",\"connections\","
                        "\"collections\",\"request\"],\"config_keys\":[",
                        HEXRUN_VERSION_STRING, HEXRUN_ABI_MAJOR, HEXRUN_ABI_MINOR);
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        hexrun__buf_appends(&b, i ? "," : "");
        hexrun__buf_append_json_str(&b, hexrun__config_key_at(i)->name);
    }
    hexrun__buf_appends(&b, "]}");
    *out = hexrun__buf_steal(&b);
    return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

/* ---- client ---- */

/* The prologue of every call on a client. */
static int client_check(const hexrun_client *client, const char *fn)
{
    hexrun__error_clear();
    if (!client)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: client is NULL", fn);
    if (client->pid != getpid())
        return hexrun__error_set(HEXRUN_E_FORKED,
                                 "%s: this client was created by process %ld; create a new "
                                 "client after fork()",
                                 fn, (long)client->pid);
    return HEXRUN_OK;
}

static void client_free(hexrun_client *c)
{
    hexrun__log_free(c->log);
    hexrun_config_free(c->cfg);
    free(c);
}

/* A token file that others can read leaks the token to every local user. */
static void warn_open_token_file(hexrun_client *c)
{
    struct stat st;
    const char *path = c->cfg->token_file;
    if (path && stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        hexrun__log_write(c->log, HEXRUN_LOG_WARN,
                          "event=token_file_permissions path=%s mode=%03o the token file is "
                          "readable by group or others; chmod 600 it",
                          path, (unsigned)(st.st_mode & 0777));
}

static int client_make(hexrun_client *c, const hexrun_config *cfg)
{
    char err[1024] = "";
    if (!(c->cfg = hexrun__config_copy(cfg)))
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_init: out of memory");
    int rc = hexrun__config_resolve(c->cfg, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "hexrun_init: %s", err);
    const char *secrets[] = {c->cfg->token, NULL};
    if (!(c->log = hexrun__log_new((int)c->cfg->log_level, c->cfg->log_fn,
                                   c->cfg->log_user_data, secrets)))
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_init: out of memory");
    if (hexrun__jobs_init(&c->jobs))
        return hexrun__error_set(HEXRUN_E_INTERNAL, "hexrun_init: cannot create a mutex");
    c->jobs.log = c->log;
    rc = hexrun__engine_new(c->cfg, &c->jobs, c->log, &c->engine, err, sizeof err);
    if (rc != HEXRUN_OK) {
        hexrun__jobs_destroy(&c->jobs);
        return hexrun__error_set(rc, "hexrun_init: %s", err);
    }
    if (c->cfg->insecure_skip_verify)
        hexrun__log_write(c->log, HEXRUN_LOG_WARN,
                          "event=insecure_skip_verify TLS certificates are NOT verified");
    if (hexrun__config_cleartext_remote(c->cfg))
        hexrun__log_write(c->log, HEXRUN_LOG_WARN,
                          "event=cleartext base_url=%s the token travels unencrypted "
                          "(allow_cleartext=true)",
                          c->cfg->base_url);
    warn_open_token_file(c);
    return HEXRUN_OK;
}

int hexrun_init(const hexrun_config *cfg, hexrun_client **out)
{
    hexrun__error_clear();
    if (!cfg || !out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_init: cfg and out must not "
                                                       "be NULL");
    hexrun_client *c = calloc(1, sizeof *c);
    if (!c)
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_init: out of memory");
    c->pid = getpid();
    int rc = client_make(c, cfg);
    if (rc != HEXRUN_OK) {
        client_free(c);
        return rc;
    }
    *out = c;
    return HEXRUN_OK;
}

int hexrun_shutdown(hexrun_client *client, uint32_t flags)
{
    hexrun__error_clear();
    if (!client)
        return HEXRUN_OK;
    int rc = client_check(client, "hexrun_shutdown");
    if (rc != HEXRUN_OK)
        return rc;
    if (flags & ~(uint32_t)(HEXRUN_SHUTDOWN_CANCEL_LIVE | HEXRUN_SHUTDOWN_DETACH))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_shutdown: unknown flags 0x%x",
                                 (unsigned)flags);
    int cancel = (flags & HEXRUN_SHUTDOWN_CANCEL_LIVE) ||
                 (client->cfg->cancel_on_free && !(flags & HEXRUN_SHUTDOWN_DETACH));
    pthread_mutex_lock(&client->jobs.mu);
    client->shutting_down = 1;
    pthread_cond_broadcast(&client->jobs.cv);
    pthread_mutex_unlock(&client->jobs.mu);
    /* The engine waits (at most timeout_ms) only for cancels still in flight. */
    char why[1024];
    rc = hexrun__engine_stop(client->engine, cancel,
                             (flags & HEXRUN_SHUTDOWN_DETACH) ? 0 : client->cfg->timeout_ms,
                             why, sizeof why);
    pthread_mutex_lock(&client->jobs.mu);
    while (client->waiters > 0)
        pthread_cond_wait(&client->jobs.cv, &client->jobs.mu);
    pthread_mutex_unlock(&client->jobs.mu);
    hexrun__jobs_destroy(&client->jobs);
    client_free(client);
    if (rc != HEXRUN_OK)
        hexrun__error_set(rc, "hexrun_shutdown: %s", why);
    return rc;
}

int hexrun_stats(hexrun_client *client, char **out)
{
    int rc = client_check(client, "hexrun_stats");
    if (rc != HEXRUN_OK)
        return rc;
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_stats: out is NULL");
    pthread_mutex_lock(&client->jobs.mu);
    *out = hexrun__engine_stats_json(client->engine);
    pthread_mutex_unlock(&client->jobs.mu);
    return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

/* ---- jobs ---- */

static int check_uuid(const char *fn, const char *what, const char *id)
{
    if (!id)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s is NULL", fn, what);
    if (!hexrun__hex_is_uuid(id))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: %s '%.80s' is not a UUID "
                                 "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                                 fn, what, id);
    return HEXRUN_OK;
}

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
static int job_create(hexrun_client *c, int32_t state, const char *project_id,
                      const char *run_id, const char *body, int dry_run, const char *key,
                      int64_t adopt_first_since_ms, int64_t *out_job)
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
    } else if (!(job = hexrun__jobs_add(&c->jobs, state, project_id, run_id, body, dry_run,
                                        key))) {
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
    int rc = client_check(client, "hexrun_submit");
    if (rc == HEXRUN_OK && !out_job)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_submit: out_job is NULL");
    if (rc == HEXRUN_OK)
        rc = check_uuid("hexrun_submit", "project_id", project_id);
    if (rc == HEXRUN_OK)
        rc = check_key(idempotency_key);
    if (rc != HEXRUN_OK)
        return rc;
    char *body = NULL, err[512] = "";
    int dry_run = 0;
    rc = hexrun__hex_run_options(options_json, &body, &dry_run, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "hexrun_submit: options_json: %s", err);
    rc = job_create(client, HEXRUN_STATE_QUEUED, project_id, NULL, body, dry_run,
                    idempotency_key, 0, out_job);
    free(body);
    return rc;
}

int hexrun_submit_or_adopt(hexrun_client *client, const char *project_id,
                           const char *options_json, const char *idempotency_key,
                           int64_t since_unix_ms, int64_t *out_job)
{
    static const char fn[] = "hexrun_submit_or_adopt";
    int rc = client_check(client, fn);
    if (rc == HEXRUN_OK && !out_job)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: out_job is NULL", fn);
    if (rc == HEXRUN_OK)
        rc = check_uuid(fn, "project_id", project_id);
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
    char *body = NULL, err[512] = "";
    int dry_run = 0;
    rc = hexrun__hex_run_options(options_json, &body, &dry_run, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "%s: options_json: %s", fn, err);
    /* A dry run makes no run: there is nothing to look for. */
    rc = job_create(client, HEXRUN_STATE_QUEUED, project_id, NULL, body, dry_run,
                    idempotency_key, dry_run ? 0 : since_unix_ms, out_job);
    free(body);
    return rc;
}

int hexrun_attach(hexrun_client *client, const char *project_id, const char *run_id,
                  int64_t *out_job)
{
    int rc = client_check(client, "hexrun_attach");
    if (rc == HEXRUN_OK && !out_job)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_attach: out_job is NULL");
    if (rc == HEXRUN_OK)
        rc = check_uuid("hexrun_attach", "project_id", project_id);
    if (rc == HEXRUN_OK)
        rc = check_uuid("hexrun_attach", "run_id", run_id);
    if (rc != HEXRUN_OK)
        return rc;
    return job_create(client, HEXRUN_STATE_PENDING, project_id, run_id, NULL, 0, NULL, 0,
                      out_job);
}

static int no_such_job(const char *fn, int64_t job)
{
    return hexrun__error_set(HEXRUN_E_NO_SUCH_JOB, "%s: no job %lld in this client (unknown "
                                                   "or released)",
                             fn, (long long)job);
}

int hexrun_poll(hexrun_client *client, int64_t job, int32_t *out_state)
{
    int rc = client_check(client, "hexrun_poll");
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
    int rc = client_check(client, "hexrun_wait");
    if (rc != HEXRUN_OK)
        return rc;
    return wait_jobs(client, "hexrun_wait", &job, 1, timeout_ms, NULL, out_state);
}

int hexrun_wait_any(hexrun_client *client, const int64_t *jobs, uint32_t n_jobs,
                    int64_t timeout_ms, int64_t *out_job, int32_t *out_state)
{
    int rc = client_check(client, "hexrun_wait_any");
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
    int rc = client_check(client, "hexrun_cancel");
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
    int rc = client_check(client, "hexrun_job_info");
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
    int rc = client_check(client, "hexrun_job_release");
    if (rc != HEXRUN_OK)
        return rc;
    pthread_mutex_lock(&client->jobs.mu);
    int gone = hexrun__jobs_release(&client->jobs, job);
    pthread_mutex_unlock(&client->jobs.mu);
    return gone ? no_such_job("hexrun_job_release", job) : HEXRUN_OK;
}

/* ---- direct calls ---- */

/* One request through the engine; blocks until it is final. On success *out (may be
 * NULL) receives the body; on failure last_error holds the redacted detail. */
static int direct_call(hexrun_client *c, hexrun__direct *d, int32_t *out_status, char **out,
                       int keep_body_on_error)
{
    pthread_mutex_lock(&c->jobs.mu);
    int rc = c->shutting_down ? HEXRUN_E_SHUTDOWN : hexrun__engine_queue_direct(c->engine, d);
    pthread_mutex_unlock(&c->jobs.mu);
    if (rc == HEXRUN_OK)
        rc = hexrun__engine_kick(c->engine);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "%s: %s", d->endpoint, hexrun_strerror(rc));
    pthread_mutex_lock(&c->jobs.mu);
    /* The engine finishes every queued direct call, also when it stops (and within the
     * call's deadline otherwise). Counted as a waiter: shutdown frees the client only
     * after this thread is done with it. */
    c->waiters++;
    while (!d->done)
        pthread_cond_wait(&c->jobs.cv, &c->jobs.mu);
    if (--c->waiters == 0 && c->shutting_down)
        pthread_cond_broadcast(&c->jobs.cv);
    pthread_mutex_unlock(&c->jobs.mu);
    if (out_status)
        *out_status = d->status;
    if (d->code == HEXRUN_OK || keep_body_on_error) {
        if (out)
            *out = d->response;
        else
            free(d->response);
    } else {
        free(d->response);
    }
    if (d->code != HEXRUN_OK)
        return hexrun__error_set(d->code, "%s", d->message);
    return HEXRUN_OK;
}

static int direct_simple(hexrun_client *c, const char *endpoint, const char *method,
                         const char *path, const char *query, const char *body, char **out)
{
    hexrun__direct d = {.endpoint = endpoint, .method = method, .path = path, .query = query,
                        .body = body};
    return direct_call(c, &d, NULL, out, 0);
}

/* A path from a format and one escaped id (format holds one %s). */
static int id_path(const char *fn, const char *what, const char *id, int uuid, const char *fmt,
                   char *path, size_t pathlen)
{
    if (!id)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s is NULL", fn, what);
    if (!id[0] || strlen(id) >= ID_MAX)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s must be 1 to %d bytes", fn,
                                 what, ID_MAX - 1);
    if (uuid && check_uuid(fn, what, id) != HEXRUN_OK)
        return HEXRUN_E_INVALID_ARG;
    /* "." and ".." would be resolved away: group_delete("..") would DELETE /api/v1/. */
    if (hexrun__is_dot_segment(id))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s '%s' is not an id", fn, what,
                                 id);
    char esc[3 * ID_MAX];
    if (hexrun__http_escape(id, esc, sizeof esc) < 0)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s cannot be encoded", fn, what);
    snprintf(path, pathlen, fmt, esc);
    return HEXRUN_OK;
}

static int check_out(const char *fn, char **out)
{
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    return HEXRUN_OK;
}

static int check_body(const char *fn, const char *body, int want_object)
{
    if (!body)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: body_json is NULL", fn);
    char err[HEXRUN__ERR_MAX];
    if (hexrun__hex_validate_json(body, want_object, err, sizeof err) != HEXRUN_OK)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: body_json: %s", fn, err);
    return HEXRUN_OK;
}

static int query_ok(const char *q)
{
    for (; q && *q; q++)
        if (!isalnum((unsigned char)*q) && !strchr("-._~=&%+,:", *q))
            return 0;
    return 1;
}

/* Fetch every page: `next` turns a page (asked with `query`) into the query of the
 * following one, from the caller's `base_query`. */
typedef int (*next_query_fn)(const char *base_query, const char *query, const char *body,
                             char **next_query);

/* The queries of the pages read so far: a query asked twice would get the same page again
 * (a server repeating its cursor, or a cursor the caller's query already holds), and
 * following it would read pages until MAX_PAGES. */
typedef struct seen_queries {
    char **q;
    size_t n, cap;
} seen_queries;

/* The page (1-based) that was asked with q, or 0. */
static size_t seen_page(const seen_queries *s, const char *q)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->q[i], q ? q : "") == 0)
            return i + 1;
    return 0;
}

static int seen_add(seen_queries *s, const char *q)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **grown = realloc(s->q, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->q = grown;
        s->cap = cap;
    }
    if (!(s->q[s->n] = strdup(q ? q : "")))
        return -1;
    s->n++;
    return 0;
}

static void seen_free(seen_queries *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->q[i]);
    free(s->q);
}

/* One page of list_pages: fetch it with q, add it to pages, and work out the next query
 * (*nq, NULL after the last page). */
static int list_page(hexrun_client *c, const char *endpoint, const char *path,
                     const char *query, const char *q, int n, hexrun__hex_pages *pages,
                     next_query_fn next, char **nq)
{
    char *body = NULL, err[512];
    *nq = NULL;
    int rc = direct_simple(c, endpoint, "GET", path, q, NULL, &body);
    int prc = rc == HEXRUN_OK ? hexrun__hex_pages_add(pages, body, strlen(body), err,
                                                      sizeof err)
                              : HEXRUN_OK;
    if (prc != HEXRUN_OK) /* NOMEM stays NOMEM: the page was not at fault */
        rc = hexrun__error_set(prc, "%s: page %d: %s", endpoint, n + 1, err);
    if (rc == HEXRUN_OK)
        rc = next(query, q, body, nq);
    free(body);
    return rc;
}

static int list_pages(hexrun_client *c, const char *endpoint, const char *path,
                      const char *query, const char *array_key, next_query_fn next, char **out)
{
    hexrun__hex_pages *pages = hexrun__hex_pages_new(array_key);
    if (!pages)
        return hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
    seen_queries seen = {0};
    char *q = query ? strdup(query) : NULL;
    int rc = query && !q ? hexrun__error_set(HEXRUN_E_NOMEM, "out of memory") : HEXRUN_OK;
    for (int n = 0; rc == HEXRUN_OK; n++) {
        size_t again = seen_page(&seen, q);
        if (again) {
            rc = hexrun__error_set(HEXRUN_E_PROTOCOL,
                                   "%s: page %d would be asked with the query of page %zu "
                                   "(%.200s): the cursor repeats, so the pages would never "
                                   "end; stopped after %d pages",
                                   endpoint, n + 1, again, q ? q : "", n);
            break;
        }
        if (n == MAX_PAGES) {
            rc = hexrun__error_set(HEXRUN_E_PROTOCOL, "%s: more than %d pages", endpoint,
                                   MAX_PAGES);
            break;
        }
        if (seen_add(&seen, q) != 0) {
            rc = hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
            break;
        }
        char *nq = NULL;
        rc = list_page(c, endpoint, path, query, q, n, pages, next, &nq);
        free(q);
        q = nq;
        if (rc == HEXRUN_OK && !q)
            break;
    }
    free(q);
    seen_free(&seen);
    if (rc == HEXRUN_OK && !(*out = hexrun__hex_pages_render(pages)))
        rc = hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
    hexrun__hex_pages_free(pages);
    return rc;
}

/* Append the parameters of query but those starting with one of drop ("after=") to b,
 * each followed by '&'. */
static void append_query_without(hexrun__buf *b, const char *query, const char *const *drop)
{
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        int keep = len > 0;
        for (const char *const *d = drop; *d && keep; d++)
            keep = strncmp(p, *d, strlen(*d)) != 0;
        if (keep) {
            hexrun__buf_append(b, p, len);
            hexrun__buf_appends(b, "&");
        }
        p += len + (p[len] == '&');
    }
}

/* The next page of a cursor list: the caller's query with its own cursor (after=,
 * before=) replaced by the page's pagination.after. */
static int next_cursor(const char *base_query, const char *query, const char *body,
                       char **next_query)
{
    (void)query;
    char *after = NULL, err[512];
    *next_query = NULL;
    int rc = hexrun__hex_cursor_after(body, strlen(body), &after, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "pagination: %s",
                                 rc == HEXRUN_E_NOMEM ? "out of memory" : err);
    if (!after)
        return HEXRUN_OK;
    char esc[1024];
    int ok = hexrun__http_escape(after, esc, sizeof esc) >= 0;
    free(after);
    if (!ok)
        return hexrun__error_set(HEXRUN_E_PROTOCOL, "pagination: cursor too long");
    static const char *const cursors[] = {"after=", "before=", NULL};
    hexrun__buf b = HEXRUN__BUF_INIT;
    append_query_without(&b, base_query, cursors);
    hexrun__buf_appendf(&b, "after=%s", esc);
    *next_query = hexrun__buf_steal(&b);
    return *next_query ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

static int cursor_list(hexrun_client *c, const char *fn, hexrun__hex_op op,
                       const char *query, uint32_t flags, char **out)
{
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(op);
    int rc = client_check(c, fn);
    if (rc == HEXRUN_OK)
        rc = check_out(fn, out);
    if (rc != HEXRUN_OK)
        return rc;
    if (!query_ok(query))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: query may hold only letters, digits and -._~=&%%+,:",
                                 fn);
    if (query && strlen(query) > QUERY_MAX)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: query is longer than %d bytes",
                                 fn, QUERY_MAX);
    if (flags > HEXRUN_LIST_ALL_PAGES)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: unknown flags 0x%x", fn,
                                 (unsigned)flags);
    const char *q = query && query[0] ? query : NULL;
    if (flags == HEXRUN_LIST_ONE_PAGE)
        return direct_simple(c, ep->operation, ep->method, ep->path, q, NULL, out);
    return list_pages(c, ep->operation, ep->path, q, ep->list_key, next_cursor, out);
}

/* A public direct call on one resource, as its wrapper describes it. */
typedef struct {
    const char *fn;      /* the public function, for messages */
    hexrun__hex_op op;   /* the endpoint (hex.h's catalogue) */
    const char *id_name; /* the id in the path ("group_id"); NULL when the path has none */
    const char *id;
    int id_uuid;         /* 1: the id must have the UUID shape (project ids) */
    int sends_body;      /* 1: body is a JSON object to send (create, edit) */
    const char *body;
    char **out;          /* required by a GET; a write may pass NULL to drop the answer */
} direct_args;

/* The one path of the per-resource direct calls: the same checks in the same order
 * (client, out, id, body), the method and path from the catalogue. */
static int direct_op(hexrun_client *c, const direct_args *a)
{
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(a->op);
    char path[512];
    int rc = client_check(c, a->fn);
    if (rc == HEXRUN_OK && strcmp(ep->method, "GET") == 0)
        rc = check_out(a->fn, a->out);
    else if (rc == HEXRUN_OK && a->out)
        *a->out = NULL;
    if (rc == HEXRUN_OK && a->id_name)
        rc = id_path(a->fn, a->id_name, a->id, a->id_uuid, ep->path, path, sizeof path);
    else if (rc == HEXRUN_OK)
        snprintf(path, sizeof path, "%s", ep->path);
    if (rc == HEXRUN_OK && a->sends_body)
        rc = check_body(a->fn, a->body, 1);
    if (rc != HEXRUN_OK)
        return rc;
    const char *body = a->sends_body ? a->body : NULL;
    return direct_simple(c, ep->operation, ep->method, path, NULL, body, a->out);
}

static const char *const run_statuses[] = {"PENDING", "RUNNING", "COMPLETED", "ERRORED",
                                           "KILLED", "UNABLE_TO_ALLOCATE_KERNEL", NULL};
static const char *const run_triggers[] = {"API", "SCHEDULED", "APP_REFRESH", "ALL", NULL};

static int one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return 1;
    return 0;
}

/* The next page of GetProjectRuns. nextPage's format is not in Hex's spec: its offset
 * replaces the query's; a nextPage without one is sent back with its query as Hex gave it
 * (an opaque cursor), or, with no query at all, the offset counts the runs read. */
static int next_offset(const char *base_query, const char *query, const char *body,
                       char **next_query)
{
    hexrun__hex_next_page next;
    char err[HEXRUN__ERR_MAX];
    *next_query = NULL;
    int rc = hexrun__hex_runs_next(body, strlen(body), &next, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "GetProjectRuns nextPage: %s", err);
    if (!next.present)
        return HEXRUN_OK;
    if (next.offset < 0 && next.query[0] && !query_ok(next.query))
        return hexrun__error_set(HEXRUN_E_PROTOCOL,
                                 "GetProjectRuns nextPage: its query holds characters that "
                                 "are not URL-safe: %.200s",
                                 next.query);
    hexrun__buf b = HEXRUN__BUF_INIT;
    if (next.offset < 0 && next.query[0]) {
        hexrun__buf_appends(&b, next.query);
    } else {
        /* Both queries hold offset= (runs_query); query is this page's. */
        static const char *const offsets[] = {"offset=", NULL};
        const char *at = strstr(query, "offset=");
        int64_t off = next.offset >= 0 ? next.offset
                                       : (at ? strtoll(at + 7, NULL, 10) : 0) +
                                             (int64_t)next.runs;
        append_query_without(&b, base_query, offsets);
        hexrun__buf_appendf(&b, "offset=%lld", (long long)off);
    }
    *next_query = hexrun__buf_steal(&b);
    return *next_query ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

static int runs_query(const char *status, const char *trigger, int32_t limit, int32_t offset,
                      char *q, size_t qlen)
{
    const char *fn = "hexrun_runs_list";
    if (status && !one_of(status, run_statuses))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: status '%.40s' is not one of PENDING, RUNNING, "
                                 "COMPLETED, ERRORED, KILLED, UNABLE_TO_ALLOCATE_KERNEL",
                                 fn, status);
    if (trigger && !one_of(trigger, run_triggers))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: trigger '%.40s' is not one of API, SCHEDULED, "
                                 "APP_REFRESH, ALL",
                                 fn, trigger);
    if (limit < 0 || limit > 100 || offset < 0)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: limit must be 0 (default) or 1..100 and offset >= 0", fn);
    int n = 0;
    if (status)
        n += snprintf(q + n, qlen - (size_t)n, "statusFilter=%s&", status);
    if (trigger)
        n += snprintf(q + n, qlen - (size_t)n, "runTriggerFilter=%s&", trigger);
    if (limit)
        n += snprintf(q + n, qlen - (size_t)n, "limit=%d&", (int)limit);
    snprintf(q + n, qlen - (size_t)n, "offset=%d", (int)offset);
    return HEXRUN_OK;
}

int hexrun_runs_list(hexrun_client *client, const char *project_id, const char *status,
                     const char *trigger, int32_t limit, int32_t offset, uint32_t flags,
                     char **out)
{
    const char *fn = "hexrun_runs_list";
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(HEXRUN__EP_GET_PROJECT_RUNS);
    char path[256], q[256];
    int rc = client_check(client, fn);
    if (rc == HEXRUN_OK)
        rc = check_out(fn, out);
    if (rc == HEXRUN_OK)
        rc = id_path(fn, "project_id", project_id, 1, ep->path, path, sizeof path);
    if (rc == HEXRUN_OK)
        rc = runs_query(status, trigger, limit, offset, q, sizeof q);
    if (rc == HEXRUN_OK && flags > HEXRUN_LIST_ALL_PAGES)
        rc = hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: unknown flags 0x%x", fn,
                               (unsigned)flags);
    if (rc != HEXRUN_OK)
        return rc;
    if (flags == HEXRUN_LIST_ONE_PAGE)
        return direct_simple(client, ep->operation, ep->method, path, q, NULL, out);
    return list_pages(client, ep->operation, path, q, ep->list_key, next_offset, out);
}

int hexrun_run_get(hexrun_client *client, const char *project_id, const char *run_id,
                   char **out)
{
    const char *fn = "hexrun_run_get";
    char pid[256], path[512];
    int rc = client_check(client, fn);
    if (rc == HEXRUN_OK)
        rc = check_out(fn, out);
    if (rc == HEXRUN_OK)
        rc = id_path(fn, "project_id", project_id, 1, "%s", pid, sizeof pid);
    if (rc == HEXRUN_OK)
        rc = check_uuid(fn, "run_id", run_id);
    if (rc != HEXRUN_OK)
        return rc;
    const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of(HEXRUN__EP_GET_RUN_STATUS);
    snprintf(path, sizeof path, ep->path, pid, run_id);
    return direct_simple(client, ep->operation, ep->method, path, NULL, NULL, out);
}

int hexrun_projects_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_projects_list", HEXRUN__EP_LIST_PROJECTS, query, flags, out);
}

int hexrun_project_get(hexrun_client *client, const char *project_id, char **out)
{
    direct_args a = {.fn = "hexrun_project_get", .op = HEXRUN__EP_GET_PROJECT,
                     .id_name = "project_id", .id = project_id, .id_uuid = 1, .out = out};
    return direct_op(client, &a);
}

int hexrun_user_me(hexrun_client *client, char **out)
{
    direct_args a = {.fn = "hexrun_user_me", .op = HEXRUN__EP_ME, .out = out};
    return direct_op(client, &a);
}

int hexrun_users_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_users_list", HEXRUN__EP_LIST_USERS, query, flags, out);
}

int hexrun_user_deactivate(hexrun_client *client, const char *user_id, char **out)
{
    direct_args a = {.fn = "hexrun_user_deactivate", .op = HEXRUN__EP_DEACTIVATE_USER,
                     .id_name = "user_id", .id = user_id, .out = out};
    return direct_op(client, &a);
}

int hexrun_groups_list(hexrun_client *client, const char *query, uint32_t flags, char **out)
{
    return cursor_list(client, "hexrun_groups_list", HEXRUN__EP_LIST_GROUPS, query, flags, out);
}

int hexrun_group_get(hexrun_client *client, const char *group_id, char **out)
{
    direct_args a = {.fn = "hexrun_group_get", .op = HEXRUN__EP_GET_GROUP,
                     .id_name = "group_id", .id = group_id, .out = out};
    return direct_op(client, &a);
}

int hexrun_group_create(hexrun_client *client, const char *body_json, char **out)
{
    direct_args a = {.fn = "hexrun_group_create", .op = HEXRUN__EP_CREATE_GROUP,
                     .sends_body = 1, .body = body_json, .out = out};
    return direct_op(client, &a);
}

int hexrun_group_edit(hexrun_client *client, const char *group_id, const char *body_json,
                      char **out)
{
    direct_args a = {.fn = "hexrun_group_edit", .op = HEXRUN__EP_EDIT_GROUP,
                     .id_name = "group_id", .id = group_id, .sends_body = 1, .body = body_json,
                     .out = out};
    return direct_op(client, &a);
}

int hexrun_group_delete(hexrun_client *client, const char *group_id)
{
    direct_args a = {.fn = "hexrun_group_delete", .op = HEXRUN__EP_DELETE_GROUP,
                     .id_name = "group_id", .id = group_id};
    return direct_op(client, &a);
}

int hexrun_connections_list(hexrun_client *client, const char *query, uint32_t flags,
                            char **out)
{
    return cursor_list(client, "hexrun_connections_list", HEXRUN__EP_LIST_DATA_CONNECTIONS,
                       query, flags, out);
}

int hexrun_connection_get(hexrun_client *client, const char *connection_id, char **out)
{
    direct_args a = {.fn = "hexrun_connection_get", .op = HEXRUN__EP_GET_DATA_CONNECTION,
                     .id_name = "connection_id", .id = connection_id, .out = out};
    return direct_op(client, &a);
}

int hexrun_connection_create(hexrun_client *client, const char *body_json, char **out)
{
    direct_args a = {.fn = "hexrun_connection_create", .op = HEXRUN__EP_CREATE_DATA_CONNECTION,
                     .sends_body = 1, .body = body_json, .out = out};
    return direct_op(client, &a);
}

int hexrun_connection_edit(hexrun_client *client, const char *connection_id,
                           const char *body_json, char **out)
{
    direct_args a = {.fn = "hexrun_connection_edit", .op = HEXRUN__EP_EDIT_DATA_CONNECTION,
                     .id_name = "connection_id", .id = connection_id, .sends_body = 1,
                     .body = body_json, .out = out};
    return direct_op(client, &a);
}

int hexrun_collections_list(hexrun_client *client, const char *query, uint32_t flags,
                            char **out)
{
    return cursor_list(client, "hexrun_collections_list", HEXRUN__EP_LIST_COLLECTIONS, query, flags,
                       out);
}

int hexrun_collection_get(hexrun_client *client, const char *collection_id, char **out)
{
    direct_args a = {.fn = "hexrun_collection_get", .op = HEXRUN__EP_GET_COLLECTION,
                     .id_name = "collection_id", .id = collection_id, .out = out};
    return direct_op(client, &a);
}

int hexrun_request(hexrun_client *client, const char *method, const char *path,
                   const char *body_json, int32_t *out_status, char **out)
{
    const char *fn = "hexrun_request";
    static const char *const methods[] = {"GET", "POST", "PATCH", "PUT", "DELETE", NULL};
    int rc = client_check(client, fn);
    if (rc != HEXRUN_OK)
        return rc;
    if (out)
        *out = NULL;
    if (out_status)
        *out_status = 0;
    if (!method || !one_of(method, methods))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: method must be GET, POST, PATCH, PUT or DELETE", fn);
    char why[128] = "is NULL";
    if (!path || !hexrun__request_path_ok(path, why, sizeof why))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: path %s", fn, why);
    if (body_json && check_body(fn, body_json, 0) != HEXRUN_OK)
        return HEXRUN_E_INVALID_ARG;
    /* A RunProject sent this way (either path generation, however written) is paid from
     * the run budget like hexrun_submit. */
    hexrun__direct d = {.endpoint = "request", .method = method, .path = path,
                        .body = body_json,
                        .run_bucket = hexrun__request_is_run_project(method, path)};
    return direct_call(client, &d, out_status, out, 1);
}
