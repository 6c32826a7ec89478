/* engine.c - the engine thread: its queues and lanes, dispatch of due ops, budgets,
 * starting and stopping; see engine.h and engine_int.h. */
#include "engine_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

/* ---- the real clocks and transport (engine.h's hexrun__engine_io) ---- */

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_now_ms(void *ud)
{
    (void)ud;
    return clock_ms(CLOCK_MONOTONIC);
}

static int64_t real_unix_ms(void *ud)
{
    (void)ud;
    return clock_ms(CLOCK_REALTIME);
}

static int real_start(void *ud, const hexrun__http_req *req)
{
    return hexrun__http_start(ud, req);
}

static int real_run(void *ud, int timeout_ms)
{
    return hexrun__http_run(ud, timeout_ms);
}

static int real_in_flight(void *ud)
{
    return hexrun__http_in_flight(ud);
}

static void real_wakeup(void *ud)
{
    hexrun__http_wakeup(ud);
}

static void real_free(void *ud)
{
    hexrun__http_free(ud);
}

static void real_watch_fd(void *ud, int fd)
{
    hexrun__http_watch_fd(ud, fd);
}

int hexrun__engine_new(const hexrun_config *cfg, hexrun__jobs *jobs, hexrun__log *log,
                       hexrun__engine **out, char *err, size_t errlen)
{
    hexrun__http_opts opts = {.base_url = cfg->base_url,
                              .token = cfg->token,
                              .timeout_ms = cfg->timeout_ms,
                              .connect_timeout_ms = cfg->connect_timeout_ms,
                              .ca_file = cfg->ca_file,
                              .insecure_skip_verify = (int)cfg->insecure_skip_verify,
                              .proxy = cfg->proxy,
                              .user_agent = cfg->user_agent,
                              .max_response_bytes = cfg->max_response_bytes};
    hexrun__http *http;
    int rc = hexrun__http_new(&opts, log, &http);
    if (rc != HEXRUN_OK) {
        snprintf(err, errlen, "cannot set up the HTTP transport for base_url: %s",
                 hexrun_strerror(rc));
        return rc;
    }
    hexrun__engine_io io = {real_now_ms, real_unix_ms, real_start, real_run,     real_in_flight,
                            real_wakeup, real_free,    http,       real_watch_fd};
    rc = hexrun__engine_new_io(cfg, jobs, log, &io, out, err, errlen);
    if (rc != HEXRUN_OK)
        hexrun__http_free(http);
    return rc;
}

int hexrun__engine_new_io(const hexrun_config *cfg, hexrun__jobs *jobs, hexrun__log *log,
                          const hexrun__engine_io *io, hexrun__engine **out, char *err,
                          size_t errlen)
{
    hexrun__engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    e->io = *io;
    e->cfg = cfg;
    e->jobs = jobs;
    e->log = log;
    int64_t now = now_ms(e);
    /* Submits and the interactive lane may burst; polls are paced (budget.h). */
    hexrun__budget_init(&e->budget[HEXRUN__BUDGET_RUN], cfg->run_budget_per_min,
                        cfg->run_budget_per_hour, cfg->budget_time_scale, 0, now);
    hexrun__budget_init(&e->budget[HEXRUN__BUDGET_API], cfg->api_budget_per_min,
                        cfg->api_budget_per_hour, cfg->budget_time_scale, cfg->api_reserve_percent,
                        now);
    int rc = hexrun__coord_open(cfg, now, log, &e->coord, err, errlen);
    if (rc != HEXRUN_OK) {
        free(e);
        return rc;
    }
    e->rng = (uint64_t)now ^ (uint64_t)(uintptr_t)e;
    /* Jobs are stamped on the engine's wall clock (job.h), a test's fake one included. */
    jobs->unix_ms = io->unix_ms;
    jobs->clock_ud = io->ud;
    *out = e;
    return HEXRUN_OK;
}

/* The one op constructor: an op of kind for job (0 for a direct call or a project poll),
 * on no lane yet; NULL on NOMEM. */
op *op_new(hexrun__engine *e, op_kind kind, int64_t job)
{
    op *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->kind = kind;
    o->job = job;
    o->engine = e;
    return o;
}

/* A new op on the incoming queue (table mutex held); NULL on NOMEM. */
static op *queue_op(hexrun__engine *e, op_kind kind, int64_t job)
{
    op *o = op_new(e, kind, job);
    if (!o)
        return NULL;
    o->next = e->incoming;
    e->incoming = o;
    return o;
}

int hexrun__engine_queue_submit(hexrun__engine *e, int64_t job)
{
    return queue_op(e, OP_SUBMIT, job) ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

int hexrun__engine_queue_poll(hexrun__engine *e, int64_t job)
{
    return queue_op(e, OP_POLL, job) ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

int hexrun__engine_queue_cancel(hexrun__engine *e, int64_t job)
{
    return queue_op(e, OP_CANCEL, job) ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

/* A direct call blocks its caller at most this long: every attempt timing out and every
 * retry waiting its longest. A wait for budget or a Retry-After that would pass it fails
 * the call at once, saying until when (0: no deadline, as timeout_ms is 0). */
int64_t direct_deadline_span(const hexrun_config *cfg)
{
    if (cfg->timeout_ms <= 0)
        return 0;
    return (cfg->max_retries + 1) * cfg->timeout_ms + cfg->max_retries * cfg->retry_max_ms;
}

int hexrun__engine_queue_direct(hexrun__engine *e, hexrun__direct *d)
{
    op *o = queue_op(e, OP_DIRECT, 0);
    if (!o)
        return HEXRUN_E_NOMEM;
    int64_t span = direct_deadline_span(e->cfg);
    o->direct.call = d;
    o->direct.deadline_ms = span > 0 ? now_ms(e) + span : 0;
    return HEXRUN_OK;
}

void op_free(op *o)
{
    if (!o)
        return;
    switch (o->kind) {
    case OP_PROJECT_POLL:
        reading_remove(o->engine, o->project.id);
        for (op *g = o->project.group, *next; g; g = next) {
            next = g->next;
            op_free(g);
        }
        break;
    case OP_POLL:
        poll_track(o->engine, o, -1);
        break;
    case OP_SUBMIT:
        free(o->submit.body);
        break;
    case OP_CANCEL:
    case OP_DIRECT:
    case OP_ADOPT:
        break;
    }
    free(o->path);
    free(o);
}

/* The endpoint's path for a job: its project, and its run where the path has one. */
static char *run_path(const hexrun__job *job, const hexrun__hex_endpoint *ep)
{
    char pid[3 * HEXRUN__HEX_ID_MAX], rid[3 * HEXRUN__HEX_ID_MAX];
    if (hexrun__http_escape(job->project_id, pid, sizeof pid) < 0 ||
        hexrun__http_escape(job->run_id, rid, sizeof rid) < 0)
        return NULL;
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appendf(&b, ep->path, pid, rid); /* a path with one id ignores rid */
    return hexrun__buf_steal(&b);
}

/* Fill method/path of a project poll; -1 when that cannot be done. */
static int project_poll_prepare(op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    char pid[3 * HEXRUN__HEX_ID_MAX];
    hexrun__buf b = HEXRUN__BUF_INIT;
    if (hexrun__http_escape(o->project.id, pid, sizeof pid) < 0)
        return -1;
    hexrun__buf_appendf(&b, ep->path, pid);
    free(o->path);
    o->method = ep->method;
    return (o->path = hexrun__buf_steal(&b)) ? 0 : -1;
}

/* Fill method/path/body of a job op from the job. Returns 1 to send, 0 to drop the op
 * (job released, finished, or its request is no longer wanted), -1 on NOMEM. */
static int job_op_prepare(hexrun__engine *e, op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job || hexrun_state_is_terminal(job->state) == 1)
        return 0;
    free(o->path);
    o->path = NULL;
    job->waiting_for[0] = '\0'; /* its request goes out now */
    job->waiting_until_ms = 0;
    switch (o->kind) {
    case OP_SUBMIT:
        if (job->state != HEXRUN_STATE_QUEUED && job->state != HEXRUN_STATE_SUBMITTING)
            return 0;
        /* A retry is only scheduled when no run was made, so a cancel can end it here. */
        if (job->cancel_requested) {
            hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED);
            return 0;
        }
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMITTING);
        o->method = ep->method;
        if (!o->submit.body && !(o->submit.body = strdup(job->run_body ? job->run_body : "{}")))
            return -1;
        o->path = run_path(job, ep);
        o->submit.sent_unix_ms = unix_ms(e);
        break;
    case OP_ADOPT:
        if (!job->adopt_since_ms)
            return 0; /* a lookup for another job of the project settled this one */
        o->method = ep->method;
        o->path = run_path(job, ep);
        job->adopt_lookups++;
        break;
    case OP_POLL:
    case OP_CANCEL:
        o->method = ep->method;
        o->path = run_path(job, ep);
        break;
    case OP_DIRECT:
    case OP_PROJECT_POLL:
        return 0;
    }
    job->attempts = o->attempt + 1;
    return o->path ? 1 : -1;
}

void direct_finish(hexrun__engine *e, op *o, int code, const char *message)
{
    hexrun__direct *d = o->direct.call;
    d->code = code;
    d->attempts = o->attempt;
    snprintf(d->message, sizeof d->message, "%s", message);
    d->done = 1;
    pthread_cond_broadcast(&e->jobs->cv);
}

/* An op of the poll lane. A poll that follows a cancel's answer is the cancel's: it goes
 * in the interactive lane, not behind the due polls of a sweep. */
static int op_is_poll(const op *o)
{
    return (o->kind == OP_POLL && !o->poll.urgent) || o->kind == OP_PROJECT_POLL;
}

/* A submit that failed before its RunProject went out (table mutex held): the journal
 * frees its key, as nothing reached Hex (journal_step may have recorded the intent). */
static void submit_unsent(hexrun__engine *e, const op *o)
{
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (job)
        journal_note_add(e, 'F', job, unix_ms(e));
}

/* Ready an op's request (table mutex held). OP_SEND; or OP_FINISHED when it is dropped
 * or, for lack of memory, ended (its job's ending or its project poll's polls seen to). */
static op_fate op_prepare(hexrun__engine *e, op *o)
{
    if (o->kind == OP_DIRECT)
        return OP_SEND;
    if (o->kind == OP_PROJECT_POLL)
        return project_poll_prepare(o) == 0 ? OP_SEND
                                            : project_poll_result(e, o, NULL, HEXRUN_E_NOMEM);
    int ready = job_op_prepare(e, o);
    if (ready < 0)
        job_out_of_memory(e, o->kind, o->job);
    if (ready < 0 && o->kind == OP_SUBMIT)
        submit_unsent(e, o);
    return ready > 0 ? OP_SEND : OP_FINISHED;
}

/* An attempt ended (from hexrun__http_run): count it, then retry it or hand it to its
 * result. */
static void on_done(const hexrun__http_resp *resp, void *ud)
{
    op *o = ud;
    hexrun__engine *e = o->engine;
    e->polls_in_flight -= op_is_poll(o);
    pthread_mutex_lock(&e->jobs->mu);
    stats_count(e, o, resp);
    op_fate fate = OP_REQUEUED;
    int64_t delay = retry_delay(e, o, resp);
    if (delay >= 0) {
        reschedule(e, o, delay);
    } else {
        int code =
            resp->error != HEXRUN_OK ? resp->error : hexrun__http_error_from_status(resp->status);
        fate = o->kind == OP_DIRECT         ? direct_result(e, o, resp, code)
               : o->kind == OP_PROJECT_POLL ? project_poll_result(e, o, resp, code)
                                            : job_result(e, o, resp, code);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    if (fate == OP_FINISHED)
        op_free(o);
}

/* The request of an op that is ready to go (page: room for a project poll's query). */
static hexrun__http_req op_request(op *o, char *page, size_t pagelen)
{
    hexrun__http_req req = {.method = o->method, .path = o->path, .done = on_done, .ud = o};
    switch (o->kind) {
    case OP_DIRECT:
        req.method = o->direct.call->method;
        req.path = o->direct.call->path;
        req.query = o->direct.call->query;
        req.body = o->direct.call->body;
        break;
    case OP_SUBMIT:
        req.body = o->submit.body;
        break;
    case OP_PROJECT_POLL:
        snprintf(page, pagelen, "limit=%d&offset=%lld", PROJECT_POLL_LIMIT,
                 (long long)o->project.page_offset);
        req.query = page;
        break;
    case OP_ADOPT:
        req.query = ADOPT_QUERY;
        break;
    case OP_POLL:
    case OP_CANCEL:
        break;
    }
    return req;
}

/* The transport refused to start o's request (table mutex held): its caller, its job or
 * its project poll's polls learn it now, as no answer will come. */
static op_fate op_not_started(hexrun__engine *e, op *o, int rc)
{
    const char *why = rc == HEXRUN_E_NOMEM ? "out of memory: the request could not be started"
                                           : "the request could not be started";
    if (o->kind == OP_DIRECT) {
        direct_finish(e, o, rc,
                      rc == HEXRUN_E_NOMEM ? why
                                           : "the request could not be started (bad method or "
                                             "path)");
        return OP_FINISHED;
    }
    if (o->kind == OP_PROJECT_POLL)
        return project_poll_result(e, o, NULL, rc);
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job)
        return OP_FINISHED;
    if (o->kind == OP_ADOPT) {
        /* As when no lookup could be made at all: the job lets go of its project. */
        job->adopt_lookups--; /* this one was not made */
        adopt_give_up(e, job, why);
        return OP_FINISHED;
    }
    hexrun__job_set_error(job, rc, 0, why, "");
    hexrun__job_set_state(e->jobs, job,
                          o->kind == OP_SUBMIT ? HEXRUN_STATE_SUBMIT_FAILED : HEXRUN_STATE_LOST);
    if (o->kind == OP_SUBMIT)
        submit_unsent(e, o);
    return OP_FINISHED;
}

/* Ready and start o's request. OP_IN_FLIGHT when it went out; else OP_FINISHED. */
static op_fate op_start(hexrun__engine *e, op *o)
{
    pthread_mutex_lock(&e->jobs->mu);
    op_fate fate = op_prepare(e, o);
    pthread_mutex_unlock(&e->jobs->mu);
    if (fate != OP_SEND)
        return fate;
    char page_query[64];
    hexrun__http_req req = op_request(o, page_query, sizeof page_query);
    o->attempt++;
    o->sent_ms = now_ms(e);
    hexrun__log_write(e->log, HEXRUN_LOG_DEBUG, "event=attempt endpoint=%s job=%lld attempt=%d",
                      op_endpoint(o), (long long)o->job, o->attempt);
    int rc = e->io.start(e->io.ud, &req);
    if (rc == HEXRUN_OK)
        return OP_IN_FLIGHT;
    pthread_mutex_lock(&e->jobs->mu);
    fate = op_not_started(e, o, rc);
    pthread_mutex_unlock(&e->jobs->mu);
    return fate;
}

int op_uses_run_budget(const op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    return ep ? ep->group == HEXRUN__BUDGET_RUN : o->direct.call->run_bucket;
}

/* The budget calls, on this client's buckets or the store's shared ones (coord.h). */
static int64_t budget_take(hexrun__engine *e, int group, int64_t now)
{
    return hexrun__coord_has_budget(e->coord) ? hexrun__coord_take(e->coord, group, now)
                                              : hexrun__budget_take(&e->budget[group], now);
}

static int64_t budget_take_poll(hexrun__engine *e, int64_t now)
{
    return hexrun__coord_has_budget(e->coord)
               ? hexrun__coord_take_poll(e->coord, now)
               : hexrun__budget_take_poll(&e->budget[HEXRUN__BUDGET_API], now);
}

static void budget_refund(hexrun__engine *e, int group)
{
    if (hexrun__coord_has_budget(e->coord))
        hexrun__coord_refund(e->coord, group);
    else
        hexrun__budget_refund(&e->budget[group]);
}

void budget_pause(hexrun__engine *e, int group, int64_t now, int64_t ms)
{
    if (hexrun__coord_has_budget(e->coord))
        hexrun__coord_pause(e->coord, group, now, ms);
    else
        hexrun__budget_pause(&e->budget[group], now, ms);
}

/* The wall-clock time (ISO-8601 UTC) of a moment on the engine's monotonic clock. */
void iso_of(const hexrun__engine *e, int64_t mono_ms, char *out, size_t outlen)
{
    time_t t = (time_t)((unix_ms(e) + (mono_ms - now_ms(e))) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t budget_paused_until(hexrun__engine *e, int group, int64_t now)
{
    return hexrun__coord_has_budget(e->coord) ? hexrun__coord_paused_until(e->coord, group, now)
                                              : hexrun__budget_paused_until(&e->budget[group]);
}

/* Why an op waits for its budget group, for a job's waiting_for or a direct call's error. */
static void budget_why(const hexrun__engine *e, int group, int64_t now, int64_t paused,
                       int64_t until, char *out, size_t outlen)
{
    const char *name = group == HEXRUN__BUDGET_RUN ? "run" : "api";
    char when[32];
    iso_of(e, until, when, sizeof when);
    if (paused > now)
        snprintf(out, outlen,
                 "rate limit pause until %s (Hex answered 429 or 503 with "
                 "Retry-After; the %s budget waits for it)",
                 when, name);
    else if (until > now)
        snprintf(out, outlen,
                 "the %s budget (%s_budget_per_min, %s_budget_per_hour) allows "
                 "the next request at %s",
                 name, name, name, when);
    else
        snprintf(out, outlen, "the %s budget: behind earlier requests", name);
}

/* How long the group's next request waits; 0: it may go now, and was counted. The first
 * op of a group that waits in a round says how long, and the ops behind it wait as long
 * (blocked_until, with the pause of the moment for their waiting_for). A shared budget
 * (coord_url, budget_path) costs a statement or a lock per answer, and the wait it names
 * only grows as other clients send: the group is not asked again before it is over
 * (every wake-up of the engine would ask, and a store's clients all wake at each sweep's
 * news). */
static int64_t budget_ask(hexrun__engine *e, int group, int64_t now)
{
    if (hexrun__coord_has_budget(e->coord) && now < e->blocked_until[group])
        return e->blocked_until[group] - now;
    int64_t wait = budget_take(e, group, now);
    if (wait > 0) {
        e->blocked_paused[group] = budget_paused_until(e, group, now);
        e->blocked_until[group] = now + wait;
    }
    return wait;
}

/* An op waits for its budget group until blocked_until (budget_ask set it) (engine thread,
 * without the table mutex): OP_REQUEUED, it keeps its place on the lane, and a job's
 * info says what its next request waits for; OP_FINISHED, a direct call that would wait
 * past its deadline has failed with HEXRUN_E_RATE_LIMITED (the caller unlinks it). */
static op_fate budget_wait(hexrun__engine *e, op *o, int group, int64_t now)
{
    int64_t paused = e->blocked_paused[group];
    int64_t until = e->blocked_until[group] > now ? e->blocked_until[group] : now;
    char why[HEXRUN__ERR_MAX], msg[HEXRUN__MSG_MAX];
    pthread_mutex_lock(&e->jobs->mu);
    int finished = o->kind == OP_DIRECT && o->direct.deadline_ms && until > o->direct.deadline_ms;
    hexrun__job *job = o->kind == OP_DIRECT ? NULL : hexrun__jobs_find(e->jobs, o->job);
    if (finished) {
        budget_why(e, group, now, paused, until, why, sizeof why);
        snprintf(msg, sizeof msg,
                 "%s: not sent: %s, after this call's deadline (%lld s from "
                 "its start)",
                 op_endpoint(o), why, (long long)direct_deadline_span(e->cfg) / 1000);
        direct_finish(e, o, HEXRUN_E_RATE_LIMITED, msg);
    } else if (job && (!job->waiting_for[0] || job->waiting_until_ms < until - 500 ||
                       job->waiting_until_ms > until + 500)) {
        budget_why(e, group, now, paused, until, job->waiting_for, sizeof job->waiting_for);
        job->waiting_until_ms = until;
    }
    pthread_mutex_unlock(&e->jobs->mu);
    return finished ? OP_FINISHED : OP_REQUEUED;
}

/* The one way onto a lane for an op (lane_insert_chain for a chain of them): due at
 * due_ms, on the poll lane for a poll, else on pending. */
void lane_add(hexrun__engine *e, op *o, int64_t due_ms)
{
    o->due_ms = due_ms;
    lane_insert_chain(op_is_poll(o) ? &e->polls : &e->pending, o, o, due_ms);
}

/*
 * One RunProject per project at a time: a project is busy from the moment a job of it is
 * SUBMITTING until its run is known or its job has ended, which covers the lookups for the
 * run of an unanswered RunProject (adopt.h). So when an answer is lost, exactly one run
 * can be that submit's: no other RunProject of the project went out meanwhile. Hex allows
 * one RunProject every 3 s on average and a POST takes far less, so this costs no
 * throughput (docs/faults.md). The busy projects, as of the start of run_due_ops (only the
 * engine thread moves a job into or out of these states, in on_done or run_due_ops).
 */

static int busy_find(const busy_projects *b, const char *project)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ids[i], project) == 0)
            return 1;
    return 0;
}

/* On NOMEM the list is marked incomplete: the jobs table is then scanned instead. */
static void busy_add(busy_projects *b, const char *project)
{
    if (!b->complete || busy_find(b, project))
        return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        void *grown = realloc(b->ids, cap * sizeof *b->ids);
        if (!grown) {
            b->complete = 0;
            return;
        }
        b->ids = grown;
        b->cap = cap;
    }
    snprintf(b->ids[b->n++], HEXRUN__HEX_ID_MAX, "%s", project);
}

static int job_holds_project(const hexrun__job *job)
{
    return job->state == HEXRUN_STATE_SUBMITTING || job->adopt_since_ms;
}

static int project_held(const hexrun__engine *e, const char *project)
{
    for (size_t i = 0; i < e->jobs->n; i++)
        if (job_holds_project(e->jobs->items[i]) &&
            strcmp(e->jobs->items[i]->project_id, project) == 0)
            return 1;
    return 0;
}

/* Table mutex held. */
static void busy_collect(const hexrun__engine *e, busy_projects *b)
{
    b->n = 0;
    b->complete = 1;
    for (size_t i = 0; i < e->jobs->n; i++)
        if (job_holds_project(e->jobs->items[i]))
            busy_add(b, e->jobs->items[i]->project_id);
}

/* 1 when o is a submit whose project has another RunProject in flight (or unresolved):
 * it waits, in its place, without taking budget. Else its project joins b. */
static int submit_must_wait(hexrun__engine *e, const op *o, busy_projects *b)
{
    if (o->kind != OP_SUBMIT)
        return 0;
    pthread_mutex_lock(&e->jobs->mu);
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    /* A retry (its own job SUBMITTING) holds the project already; a finished or cancelled
     * job goes on to op_start, which discards it. */
    int wait = job && !job_holds_project(job) && hexrun_state_is_terminal(job->state) == 0 &&
               !job->cancel_requested &&
               (b->complete ? busy_find(b, job->project_id) : project_held(e, job->project_id));
    if (job && !wait)
        busy_add(b, job->project_id);
    pthread_mutex_unlock(&e->jobs->mu);
    return wait;
}

/* Insert a chain of ops all due at `due` into a lane at once, in their order, behind the
 * ops due no later (each lane stays sorted by due time, first come first served among
 * equals, so that work waiting for budget is served in order and none starves): one walk
 * for the chain (thousands of attaches at once, or the polls a project's read puts off),
 * not one per op. */
void lane_insert_chain(op **lane, op *first, op *last, int64_t due)
{
    if (!first)
        return;
    while (*lane && (*lane)->due_ms <= due)
        lane = &(*lane)->next;
    last->next = *lane;
    *lane = first;
}

/* The ms from now until the first op of a lane is due, if sooner than next. */
static int64_t lane_next(const op *first, int64_t now, int64_t next)
{
    return first && first->due_ms - now < next ? first->due_ms - now : next;
}

/* A due op taken off its lane, its budget taken: a submit's steps before its RunProject,
 * then the request. OP_IN_FLIGHT when it went out; else OP_REQUEUED or OP_FINISHED. */
static op_fate op_go(hexrun__engine *e, op *o)
{
    op_fate fate = o->kind == OP_SUBMIT ? adopt_first(e, o) : OP_SEND;
    if (fate == OP_SEND && o->kind == OP_SUBMIT && hexrun__coord_has_journal(e->coord))
        fate = journal_step(e, o);
    if (fate != OP_SEND) {
        budget_refund(e, HEXRUN__BUDGET_RUN); /* no RunProject went out (a lookup may) */
        return fate;
    }
    int poll = op_is_poll(o);
    fate = op_start(e, o);
    if (fate == OP_IN_FLIGHT)
        e->polls_in_flight += poll;
    return fate;
}

/* The interactive lane (and submits): every due op its budget allows. Returns 1 when the
 * api budget is spent, so that polls wait too. */
static int run_interactive(hexrun__engine *e, int64_t now, int64_t *next)
{
    int run_blocked = 0, api_blocked = 0;
    pthread_mutex_lock(&e->jobs->mu);
    busy_collect(e, &e->busy);
    pthread_mutex_unlock(&e->jobs->mu);
    int resweep = 0; /* a submit marked its project busy but sent nothing */
    op **pp = &e->pending;
    while (*pp && (*pp)->due_ms <= now) {
        op *o = *pp;
        if (!run_blocked && submit_must_wait(e, o, &e->busy)) {
            pp = &o->next;
            continue;
        }
        int is_run = op_uses_run_budget(o);
        int64_t wait = 0;
        /* Once a bucket is empty, later ops of it wait too (they keep their place). */
        if (!(is_run ? run_blocked : api_blocked))
            wait = budget_ask(e, is_run ? HEXRUN__BUDGET_RUN : HEXRUN__BUDGET_API, now);
        if (wait > 0 || (is_run ? run_blocked : api_blocked)) {
            if (budget_wait(e, o, is_run ? HEXRUN__BUDGET_RUN : HEXRUN__BUDGET_API, now) ==
                OP_FINISHED) {
                *pp = o->next; /* a direct call that would wait past its deadline */
                op_free(o);
                continue;
            }
            if (wait > 0 && wait < *next)
                *next = wait;
            *(is_run ? &run_blocked : &api_blocked) = 1;
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        int kind = o->kind;
        op_fate fate = op_go(e, o);
        if (fate == OP_FINISHED)
            op_free(o);
        if (fate != OP_IN_FLIGHT)
            resweep |= kind == OP_SUBMIT;
    }
    *next = resweep ? 0 : lane_next(*pp, now, *next);
    return api_blocked;
}

/* 0 for the poll of a job that ended or was released meanwhile: it must not spend the
 * poll share. */
static int poll_wanted(hexrun__engine *e, const op *o)
{
    if (o->kind != OP_POLL)
        return 1;
    pthread_mutex_lock(&e->jobs->mu);
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    int wanted = job && hexrun_state_is_terminal(job->state) == 0;
    pthread_mutex_unlock(&e->jobs->mu);
    return wanted;
}

/* The poll lane: due polls in order, within the poll share, leaving connections free. */
static void run_polls(hexrun__engine *e, int64_t now, int64_t *next)
{
    while (e->polls && e->polls->due_ms <= now && e->polls_in_flight < POLLS_IN_FLIGHT_MAX) {
        if (!poll_wanted(e, e->polls)) {
            op *gone = e->polls;
            e->polls = gone->next;
            op_free(gone);
            continue;
        }
        op *first = e->polls;
        if (board_serve(e, first, now) == OP_FINISHED) {
            op_free(first); /* another client's sweep answered it, from the store */
            continue;
        }
        int64_t wait = budget_take_poll(e, now);
        if (wait > 0) {
            if (wait < *next)
                *next = wait;
            return;
        }
        op *o = e->polls;
        e->polls = o->next;
        if (op_go(e, o) == OP_FINISHED)
            op_free(o);
    }
    /* At the in-flight cap, the next answer wakes the engine. */
    if (e->polls_in_flight < POLLS_IN_FLIGHT_MAX)
        *next = lane_next(e->polls, now, *next);
}

/* Start every due op the budgets allow, the interactive lane first; return the ms until
 * the next one is due. */
static int64_t run_due_ops(hexrun__engine *e, int64_t now)
{
    int64_t next = MAX_SLEEP_MS;
    if (!run_interactive(e, now, &next))
        run_polls(e, now, &next);
    return next;
}

void reschedule(hexrun__engine *e, op *o, int64_t delay_ms)
{
    lane_add(e, o, now_ms(e) + delay_ms);
}

/* Queue the follow-up op of a job (engine thread, table mutex held). */
void follow_up(hexrun__engine *e, op_kind kind, int64_t job, int64_t delay_ms)
{
    op *o = op_new(e, kind, job);
    if (!o) {
        job_out_of_memory(e, kind, job);
        return;
    }
    if (kind == OP_POLL)
        poll_track_new(e, o);
    reschedule(e, o, delay_ms);
}

/* Move queued ops into pending (table mutex held). While stopping, only cancels run. */
static void take_incoming(hexrun__engine *e)
{
    /* incoming is newest first: build each lane's chain oldest first (arrival order among
     * equal due times), then insert the chains. */
    op *first[2] = {NULL, NULL}, *last[2] = {NULL, NULL};
    int64_t now = now_ms(e);
    for (op *o = e->incoming, *next; o; o = next) {
        next = o->next;
        int lane = op_is_poll(o);
        o->due_ms = now;
        if (o->kind == OP_POLL)
            poll_track_new(e, o);
        o->next = first[lane];
        first[lane] = o;
        if (!last[lane])
            last[lane] = o;
    }
    e->incoming = NULL;
    lane_insert_chain(&e->pending, first[0], last[0], now);
    lane_insert_chain(&e->polls, first[1], last[1], now);
}

/* While stopping: a cancel, or the lookup for the run of a job to be cancelled whose
 * RunProject answer was lost (table mutex held). */
static int op_serves_cancel(const hexrun__engine *e, const op *o)
{
    if (o->kind == OP_CANCEL)
        return 1;
    const hexrun__job *job = o->kind == OP_ADOPT ? hexrun__jobs_find(e->jobs, o->job) : NULL;
    return job && job->cancel_requested && job->adopt_since_ms;
}

/* A submit dropped before its RunProject went out (a retry waits only when nothing reached
 * Hex): with a cancel wanted, it ends KILLED, as a queued one does. */
static void submit_dropped(hexrun__engine *e, const op *o)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (job && job->cancel_requested && hexrun_state_is_terminal(job->state) == 0 &&
        !job->adopt_since_ms)
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED);
}

static void drop_pending(hexrun__engine *e, int keep_cancels)
{
    op **pp = &e->pending;
    while (*pp) {
        op *o = *pp;
        if (keep_cancels && op_serves_cancel(e, o)) {
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        if (o->kind == OP_DIRECT)
            direct_finish(e, o, HEXRUN_E_SHUTDOWN, "the client is shutting down");
        if (o->kind == OP_SUBMIT)
            submit_dropped(e, o);
        op_free(o);
    }
    for (op *o = e->polls, *next; o; o = next) {
        next = o->next;
        op_free(o);
    }
    e->polls = NULL;
}

static void *engine_main(void *arg)
{
    hexrun__engine *e = arg;
    /* This thread logs while it holds the table mutex: its lines reach the host's callback
     * only at the flushes below, where it holds no lock (hexrun_poll never waits on a
     * slow callback). */
    hexrun__log_defer(e->log, 1);
    while (hexrun__engine_round(e))
        ;
    hexrun__log_defer(e->log, 0);
    return NULL;
}

int hexrun__engine_round(hexrun__engine *e)
{
    pthread_mutex_lock(&e->jobs->mu);
    take_incoming(e);
    e->stat_poll_groups = poll_groups(e);
    e->stat_sweep_ms = sweep_period_ms(e);
    int stopping = e->stopping;
    int64_t deadline = e->drain_deadline_ms;
    if (stopping)
        drop_pending(e, 1);
    pthread_mutex_unlock(&e->jobs->mu);
    /* The drain is bounded: at the deadline whatever is in flight is aborted. */
    if (stopping && ((!e->pending && e->io.in_flight(e->io.ud) == 0) || now_ms(e) >= deadline))
        return 0;
    /* The board's news first: what woke this round is often another client's sweep,
     * whose runs are handed over before the due ops' store statements and requests (a
     * read the news made due is one of those ops). */
    board_listen(e);
    if (e->cfg->coalesce)
        coalesce_polls(e, now_ms(e));
    int64_t sleep = run_due_ops(e, now_ms(e));
    /* Again before waiting: the due ops' statements may have taken news in. */
    if (board_listen(e))
        sleep = 0; /* another client's sweep changed the board: read it now */
    hexrun__log_flush(e->log);
    e->io.run(e->io.ud, (int)(sleep < 0 ? 0 : sleep));
    board_flush(e); /* first: the other clients wait on its news */
    journal_flush(e);
    hexrun__log_flush(e->log);
    return 1;
}

int hexrun__engine_kick(hexrun__engine *e)
{
    pthread_mutex_lock(&e->jobs->mu);
    int rc = HEXRUN_OK;
    if (!e->started) {
        /* The host's signals (SIGINT in Python above all) stay with the host's threads. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&e->thread, NULL, engine_main, e) == 0)
            e->started = 1;
        else
            rc = HEXRUN_E_INTERNAL;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    e->io.wakeup(e->io.ud);
    return rc;
}

/* Every live job is to be cancelled: a queued one at once, one with a run by CancelRun,
 * and one whose RunProject is in flight (or unanswered) once its run is known. */
static void queue_cancels(hexrun__engine *e)
{
    for (size_t i = 0; i < e->jobs->n; i++) {
        hexrun__job *job = e->jobs->items[i];
        if (job->state == HEXRUN_STATE_QUEUED) {
            hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED);
        } else if (hexrun_state_is_terminal(job->state) == 0) {
            job->cancel_requested = 1;
            if (job->run_id[0] && !job->cancel_sent) {
                job->cancel_sent = 1;
                queue_op(e, OP_CANCEL, job->id);
            }
        }
    }
}

/* 1 when a job to be cancelled has no run id yet (its RunProject is in flight or its
 * answer was lost), 2 when one only waits for its CancelRun's answer, else 0. */
static int cancels_outstanding(const hexrun__engine *e)
{
    int found = 0;
    for (size_t i = 0; i < e->jobs->n; i++) {
        const hexrun__job *job = e->jobs->items[i];
        /* A cancel Hex accepted is done with: the run's end is Hex's to report. */
        if (hexrun_state_is_terminal(job->state) != 0 || job->cancel_accepted)
            continue;
        if (job->cancel_requested && !job->run_id[0])
            return 1;
        if (job->cancel_sent)
            found = 2;
    }
    return found;
}

/* After the engine thread: end every lookup still open (the journal keeps its key held),
 * and, for a cancelling shutdown, name the first job whose run may still be going on. */
static int stop_report(hexrun__engine *e, int cancel_live, char *err, size_t errlen)
{
    int rc = HEXRUN_OK;
    for (size_t i = 0; i < e->jobs->n; i++) {
        hexrun__job *job = e->jobs->items[i];
        if (job->adopt_since_ms)
            adopt_give_up(e, job, "the client shut down before the run could be found");
        int open =
            hexrun_state_is_terminal(job->state) == 0 || job->state == HEXRUN_STATE_SUBMIT_UNKNOWN;
        if (!cancel_live || !job->cancel_requested || job->cancel_accepted || !open ||
            rc != HEXRUN_OK)
            continue;
        rc = job->run_id[0] ? HEXRUN_E_TIMEOUT : HEXRUN_E_OUTCOME_UNKNOWN;
        char what[HEXRUN__MSG_MAX];
        if (job->run_id[0])
            snprintf(what, sizeof what, "its CancelRun for run %s got no answer in time",
                     job->run_id);
        else
            snprintf(what, sizeof what,
                     "its RunProject got no usable answer and its run "
                     "was not found in time, so it may be running: %s",
                     job->last_error.message ? job->last_error.message : "no answer");
        snprintf(err, errlen, "job %lld (project %s%s%s) was not cancelled: %s", (long long)job->id,
                 job->project_id, job->idempotency_key ? ", idempotency key " : "",
                 job->idempotency_key ? job->idempotency_key : "", what);
    }
    return rc;
}

int hexrun__engine_stop(hexrun__engine *e, int cancel_live, int64_t drain_ms, char *err,
                        size_t errlen)
{
    err[0] = '\0';
    if (!e)
        return HEXRUN_OK;
    pthread_mutex_lock(&e->jobs->mu);
    if (cancel_live)
        queue_cancels(e);
    /* Only cancels are worth waiting for: a run the host asked to stop must not keep
     * running in Hex because the client went away. Anything else is aborted at once.
     * A RunProject in flight first needs its answer (or a lookup): twice the time. */
    int outstanding = cancels_outstanding(e);
    drain_ms = outstanding == 1 ? 2 * drain_ms : outstanding ? drain_ms : 0;
    int need_thread = e->incoming != NULL;
    pthread_mutex_unlock(&e->jobs->mu);
    if (need_thread)
        hexrun__engine_kick(e);
    pthread_mutex_lock(&e->jobs->mu);
    e->stopping = 1;
    e->drain_deadline_ms = now_ms(e) + drain_ms;
    int started = e->started;
    pthread_mutex_unlock(&e->jobs->mu);
    if (started) {
        e->io.wakeup(e->io.ud);
        pthread_join(e->thread, NULL);
    }
    /* Aborted attempts come back through on_done and finish their direct calls; their
     * lines wait like the engine thread's (which is gone now) until the lock is free. */
    hexrun__log_defer(e->log, 1);
    if (e->io.free)
        e->io.free(e->io.ud);
    pthread_mutex_lock(&e->jobs->mu);
    take_incoming(e);
    drop_pending(e, 0);
    int report = stop_report(e, cancel_live, err, errlen);
    pthread_mutex_unlock(&e->jobs->mu);
    journal_flush(e);
    hexrun__log_defer(e->log, 0);
    hexrun__coord_close(e->coord);
    free(e->board_out);
    free(e->board_done);
    free(e->reading);
    free(e->busy.ids);
    free(e->groups);
    int rc = e->cancel_error;
    if (rc != HEXRUN_OK)
        snprintf(err, errlen, "a CancelRun failed: %s", hexrun_strerror(rc));
    else
        rc = report;
    free(e);
    return rc;
}
