/* results.c - what the engine does with an answer: job results, direct results, retries
 * (engine thread, table mutex held). */
#include "engine_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A redacted one-line description of a failed request. */
static void describe_failure(hexrun__engine *e, const op *o, const hexrun__http_resp *r, int code,
                             char *trace_id, char *out, size_t outlen)
{
    char raw[HEXRUN__MSG_MAX];
    trace_id[0] = '\0';
    if (r->error != HEXRUN_OK) {
        snprintf(raw, sizeof raw, "%s: %s (%s) after %d attempt%s", op_endpoint(o),
                 hexrun_strerror(code), r->error_text, o->attempt, o->attempt == 1 ? "" : "s");
    } else {
        hexrun__hex_error he;
        hexrun__hex_parse_error(r->body, r->body_len, &he);
        snprintf(trace_id, HEXRUN__HEX_ID_MAX, "%s", he.trace_id);
        snprintf(raw, sizeof raw, "%s: HTTP %d after %d attempt%s: %s%s%s%s", op_endpoint(o),
                 r->status, o->attempt, o->attempt == 1 ? "" : "s",
                 he.message[0] ? he.message : hexrun_strerror(code),
                 he.trace_id[0] ? " (trace id " : "", he.trace_id, he.trace_id[0] ? ")" : "");
    }
    hexrun__log_redact(e->log, raw, out, outlen);
}

void job_fail(hexrun__engine *e, const op *o, hexrun__job *job, int code,
              const hexrun__http_resp *r, int32_t state)
{
    char full[HEXRUN__MSG_MAX], trace[HEXRUN__HEX_ID_MAX];
    size_t len = (size_t)snprintf(full, sizeof full, "%s",
                                  code == HEXRUN_E_OUTCOME_UNKNOWN
                                      ? "RunProject outcome unknown: the request may have "
                                        "reached Hex, so it is not repeated: "
                                      : "");
    describe_failure(e, o, r, code, trace, full + len, sizeof full - len);
    hexrun__job_set_error(job, code, r->status, full, trace);
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=request_failed job=%lld %s",
                      (long long)job->id, full);
    if (state >= 0 && hexrun__job_set_state(e->jobs, job, state) > 0)
        hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=state job=%lld state=%s",
                          (long long)job->id, hexrun_state_name(state));
}

void job_update_from_run(hexrun__engine *e, hexrun__job *job, const hexrun__hex_run *run)
{
    if (run->run_id[0])
        snprintf(job->run_id, sizeof job->run_id, "%s", run->run_id);
    hexrun__job_set_run_url(job, run->run_url);
    snprintf(job->hex_status, sizeof job->hex_status, "%s", run->status);
    snprintf(job->start_time, sizeof job->start_time, "%s", run->start_time);
    snprintf(job->end_time, sizeof job->end_time, "%s", run->end_time);
    job->elapsed_ms = run->elapsed_ms;
    if (run->state == HEXRUN_STATE_UNKNOWN)
        hexrun__log_write(e->log, HEXRUN_LOG_WARN,
                          "event=unknown_status job=%lld status=%.40s (treated as live)",
                          (long long)job->id, run->status);
    if (hexrun__job_set_state(e->jobs, job, run->state) > 0)
        hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=state job=%lld run=%s state=%s",
                          (long long)job->id, job->run_id, hexrun_state_name(run->state));
}

/*
 * The next request of a job could not be made for lack of memory (engine thread, table
 * mutex held). Nothing may stay live waiting for a request that will never go out, and
 * nothing may send a RunProject again: a submit not yet sent fails (no run exists), a
 * lookup for an unanswered RunProject gives up (SUBMIT_UNKNOWN), a lost poll ends the
 * tracking (LOST, run id kept), and a lost cancel is asked again by the next poll.
 */
void job_out_of_memory(hexrun__engine *e, op_kind kind, int64_t id)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, id);
    if (!job || hexrun_state_is_terminal(job->state) == 1)
        return;
    char msg[HEXRUN__MSG_MAX];
    int32_t state;
    switch (kind) {
    case OP_CANCEL:
        job->cancel_sent = 0;
        return;
    case OP_ADOPT:
        adopt_give_up(e, job, "out of memory: the project's runs could not be looked up");
        return;
    case OP_SUBMIT:
        snprintf(msg, sizeof msg,
                 "RunProject: out of memory before the request was sent; "
                 "no run was started");
        state = HEXRUN_STATE_SUBMIT_FAILED;
        break;
    case OP_POLL:
        snprintf(msg, sizeof msg,
                 "GetRunStatus: out of memory: run %s is no longer "
                 "tracked (it goes on in Hex)",
                 job->run_id);
        state = HEXRUN_STATE_LOST;
        break;
    default:
        return;
    }
    hexrun__job_set_error(job, HEXRUN_E_NOMEM, 0, msg, "");
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=out_of_memory job=%lld %s",
                      (long long)job->id, msg);
    hexrun__job_set_state(e->jobs, job, state);
}

void cancel_if_requested(hexrun__engine *e, hexrun__job *job)
{
    if (job->cancel_requested && !job->cancel_sent && job->run_id[0] &&
        hexrun_state_is_terminal(job->state) == 0) {
        job->cancel_sent = 1;
        follow_up(e, OP_CANCEL, job->id, 0);
    }
}

static void submit_succeeded(hexrun__engine *e, const op *o, hexrun__job *job,
                             const hexrun__http_resp *r)
{
    hexrun__hex_run run;
    char err[HEXRUN__ERR_MAX];
    if (hexrun__hex_parse_run_created(r->body, r->body_len, &run, err, sizeof err) != HEXRUN_OK) {
        /* Hex accepted the run but its id is unreadable: look for it like a lost answer. */
        char msg[HEXRUN__MSG_MAX];
        snprintf(msg, sizeof msg,
                 "RunProject: HTTP %d but the answer could not be read (%s); a run may "
                 "exist, so it is not repeated",
                 r->status, err);
        char red[HEXRUN__MSG_MAX];
        hexrun__log_redact(e->log, msg, red, sizeof red);
        hexrun__job_set_error(job, HEXRUN_E_PROTOCOL, r->status, red, "");
        job->adopt_since_ms = o->submit.sent_unix_ms;
        job->adopt_lookups = 0;
        follow_up(e, OP_ADOPT, job->id, 0);
        return;
    }
    snprintf(job->run_id, sizeof job->run_id, "%s", run.run_id);
    hexrun__job_set_run_url(job, run.run_url);
    int32_t state = job->dry_run ? HEXRUN_STATE_COMPLETED : HEXRUN_STATE_PENDING;
    hexrun__job_set_state(e->jobs, job, state);
    /* A dry run makes no run: its key stays free for a real submit. */
    journal_note_add(e, job->dry_run ? 'F' : 'R', job, unix_ms(e));
    hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=submitted job=%lld run=%s dry_run=%d",
                      (long long)job->id, job->run_id, job->dry_run);
    if (!job->dry_run) {
        follow_up(e, OP_POLL, job->id, e->cfg->poll_min_ms);
        cancel_if_requested(e, job);
    }
}

/* Apply a run's status (NULL when the answer was unreadable) and plan the next poll. */
op_fate poll_apply(hexrun__engine *e, op *o, hexrun__job *job, const hexrun__hex_run *run)
{
    /* A cancel may have finished the job while this poll was in flight. */
    if (hexrun_state_is_terminal(job->state) == 1)
        return OP_FINISHED;
    if (run) {
        job->polls++;
        job_update_from_run(e, job, run);
    }
    if (hexrun_state_is_terminal(job->state) == 1)
        return OP_FINISHED;
    o->attempt = 0;
    cancel_if_requested(e, job); /* again, if an earlier CancelRun could not be queued */
    /* One sweep period after the question, not the answer: the period is the budget's.
     * After a cancel's answer, at once: the run's end is what the job waits for. */
    o->poll.urgent = job->poll_soon;
    lane_add(e, o, job->poll_soon ? now_ms(e) : o->sent_ms + sweep_period_ms(e));
    job->poll_soon = 0;
    return OP_REQUEUED;
}

/* A 2xx GetRunStatus: the run's status, if the answer is readable and about the run asked
 * for (an answer naming another run must not move this job, nor send its later requests
 * elsewhere). Unusable answers in a row end the job LOST, with the evidence. */
static op_fate poll_succeeded(hexrun__engine *e, op *o, hexrun__job *job,
                              const hexrun__http_resp *r)
{
    hexrun__hex_run run;
    char err[HEXRUN__ERR_MAX];
    int rc = hexrun__hex_parse_run(r->body, r->body_len, &run, err, sizeof err);
    if (rc == HEXRUN_OK && (strcasecmp(run.run_id, job->run_id) != 0 ||
                            strcasecmp(run.project_id, job->project_id) != 0)) {
        snprintf(err, sizeof err, "it is about run %s of project %s, not run %s of project %s",
                 run.run_id, run.project_id, job->run_id, job->project_id);
        rc = HEXRUN_E_PROTOCOL;
    }
    if (rc == HEXRUN_OK) {
        o->poll.bad_answers = 0;
        return poll_apply(e, o, job, &run);
    }
    int bad = ++o->poll.bad_answers;
    int give_up = bad >= POLL_BAD_ANSWERS_MIN && bad > e->cfg->max_retries;
    char msg[HEXRUN__MSG_MAX], red[HEXRUN__MSG_MAX];
    snprintf(msg, sizeof msg, "GetRunStatus: HTTP %d but the answer cannot be used: %s%s",
             r->status, err,
             give_up ? "; after that many unusable answers in a row the run is no longer "
                       "tracked (it may go on in Hex)"
                     : "");
    hexrun__log_redact(e->log, msg, red, sizeof red);
    hexrun__job_set_error(job, HEXRUN_E_PROTOCOL, r->status, red, "");
    if (!give_up)
        return poll_apply(e, o, job, NULL);
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=lost job=%lld answers=%d %s",
                      (long long)job->id, bad, red);
    hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_LOST);
    return OP_FINISHED;
}

/* An answer to GetRunStatus that asking again cannot change: a 4xx other than 408 and
 * 429. That is 401, 403 and 404, and also the 400 and 422 Hex's spec declares for the
 * endpoint (it declares no 404): this client cannot see the run. */
static int poll_answer_final(const hexrun__http_resp *r)
{
    return r->error == HEXRUN_OK && r->status >= 400 && r->status < 500 && r->status != 408 &&
           r->status != 429;
}

static op_fate poll_failed(hexrun__engine *e, op *o, hexrun__job *job, int code,
                           const hexrun__http_resp *r)
{
    /* Anything else (5xx, transport) may pass: the poll is asked again later. */
    int gone = poll_answer_final(r);
    job_fail(e, o, job, code, r, gone ? HEXRUN_STATE_LOST : -1);
    if (gone)
        return OP_FINISHED;
    o->attempt = 0;
    reschedule(e, o, e->cfg->poll_max_ms);
    return OP_REQUEUED;
}

/* The job's poll, now (engine thread, table mutex held): a waiting poll (alone or in a
 * project's group) is made due now, in the interactive lane; one in flight is flagged, so
 * that its answer plans the next poll at once. */
void poll_soon(hexrun__engine *e, hexrun__job *job)
{
    op *o = poll_take_out(e, job->id);
    job->poll_soon = !o;
    if (o) {
        o->poll.urgent = 1;
        reschedule(e, o, 0);
    }
}

/* Hex answered CancelRun. A 2xx says Hex took the cancel, not that the run is KILLED: Hex
 * may kill it later, or the run may have ended (COMPLETED) just before. So the job keeps
 * following GetRunStatus, asked at once, and reports what Hex reports. While the client
 * stops no poll is left to ask: Hex's 2xx is taken as the run's end. */
static void cancel_answered(hexrun__engine *e, const op *o, hexrun__job *job,
                            const hexrun__http_resp *r, int code)
{
    if (code != HEXRUN_OK) {
        job_fail(e, o, job, code, r, -1);
        if (!e->cancel_error)
            e->cancel_error = code;
    } else if (e->stopping) {
        if (hexrun_state_is_terminal(job->state) == 0)
            hexrun__job_note_cancelled(e->jobs, job);
        if (hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_KILLED) > 0)
            hexrun__log_write(e->log, HEXRUN_LOG_INFO, "event=cancelled job=%lld run=%s",
                              (long long)job->id, job->run_id);
        return;
    } else {
        job->cancel_accepted = 1;
        hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                          "event=cancel_accepted job=%lld run=%s (the state follows Hex's "
                          "status of the run)",
                          (long long)job->id, job->run_id);
    }
    if (hexrun_state_is_terminal(job->state) == 0)
        poll_soon(e, job);
}

/* A job op's answer (table mutex held). */
op_fate job_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job)
        return OP_FINISHED;
    hexrun__retry_kind kind = hexrun__retry_kind_of(o->method);
    switch (o->kind) {
    case OP_SUBMIT:
        if (code == HEXRUN_OK) {
            submit_succeeded(e, o, job, r);
            return OP_FINISHED;
        }
        if (hexrun__retry_outcome_unknown(kind, r))
            adopt_begin(e, o, job, r, code);
        else
            job_fail(e, o, job, code, r, HEXRUN_STATE_SUBMIT_FAILED);
        if (job->state == HEXRUN_STATE_SUBMIT_FAILED)
            journal_note_add(e, 'F', job, unix_ms(e));
        return OP_FINISHED;
    case OP_POLL:
        return code == HEXRUN_OK ? poll_succeeded(e, o, job, r) : poll_failed(e, o, job, code, r);
    case OP_CANCEL:
        cancel_answered(e, o, job, r, code);
        return OP_FINISHED;
    case OP_ADOPT:
        return adopt_result(e, o, r, code);
    case OP_DIRECT:
    case OP_PROJECT_POLL:
        break;
    }
    return OP_FINISHED;
}

op_fate direct_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__direct *d = o->direct.call;
    d->status = r->status;
    if (r->error == HEXRUN_OK)
        d->response = hexrun__http_take_body(r); /* handed over, not copied */
    char msg[HEXRUN__MSG_MAX] = "", trace[HEXRUN__HEX_ID_MAX];
    if (code != HEXRUN_OK)
        describe_failure(e, o, r, code, trace, msg, sizeof msg);
    if (code != HEXRUN_OK && o->direct.skipped_retry_ms) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len,
                 "; not retried: the wait Hex asks for (%lld s) "
                 "passes this call's deadline (%lld s from its start)",
                 (long long)(o->direct.skipped_retry_ms + 999) / 1000,
                 (long long)direct_deadline_span(e->cfg) / 1000);
    }
    if (r->error == HEXRUN_OK && !d->response) {
        code = HEXRUN_E_NOMEM;
        snprintf(msg, sizeof msg, "%s: out of memory while keeping the response", op_endpoint(o));
    }
    direct_finish(e, o, code, msg);
    return OP_FINISHED; /* its caller has the answer */
}

/* A job's request is repeated after `delay` ms: its info says why it waits (table mutex
 * held). */
static void note_retry_wait(hexrun__engine *e, const op *o, const hexrun__http_resp *r,
                            int64_t delay, int64_t retry_after)
{
    hexrun__job *job = o->kind == OP_DIRECT ? NULL : hexrun__jobs_find(e->jobs, o->job);
    if (!job)
        return;
    char when[32], cause[128];
    int64_t at = now_ms(e) + delay;
    iso_of(e, at, when, sizeof when);
    if (r->error != HEXRUN_OK)
        snprintf(cause, sizeof cause, "%s", hexrun_strerror(r->error));
    else if (retry_after >= 0 && r->retry_after)
        snprintf(cause, sizeof cause, "HTTP %d with Retry-After: %.40s%s", r->status,
                 r->retry_after,
                 retry_after >= HEXRUN__RETRY_AFTER_MAX_MS ? " (capped at an hour)" : "");
    else
        snprintf(cause, sizeof cause, "HTTP %d", r->status);
    snprintf(job->waiting_for, sizeof job->waiting_for,
             "%s retry %d of %d at %s (in %lld s) "
             "after %s",
             op_endpoint(o), o->attempt, (int)e->cfg->max_retries, when,
             (long long)(delay + 999) / 1000, cause);
    job->waiting_until_ms = at;
}

/* The wait before o's attempt is repeated, or -1 when it is not (its answer is final). */
int64_t retry_delay(hexrun__engine *e, op *o, const hexrun__http_resp *r)
{
    const char *method = o->kind == OP_DIRECT ? o->direct.call->method : o->method;
    if (e->stopping || o->attempt > e->cfg->max_retries ||
        !hexrun__retry_should(hexrun__retry_kind_of(method), r))
        return -1;
    /* An HTTP-date is read against the engine's wall clock (engine.h's io), as the rest. */
    int64_t after = hexrun__retry_after_parse(r->retry_after, (time_t)(unix_ms(e) / 1000));
    if (after >= 0 && (r->status == 429 || r->status == 503))
        budget_pause(e, op_uses_run_budget(o) ? HEXRUN__BUDGET_RUN : HEXRUN__BUDGET_API, now_ms(e),
                     after);
    int64_t delay = hexrun__retry_backoff_ms(o->attempt, e->cfg->retry_base_ms,
                                             e->cfg->retry_max_ms, after, &e->rng);
    if (o->kind == OP_DIRECT && o->direct.deadline_ms &&
        now_ms(e) + delay > o->direct.deadline_ms) {
        o->direct.skipped_retry_ms = delay; /* its caller would wait past the deadline */
        return -1;
    }
    note_retry_wait(e, o, r, delay, after);
    hexrun__log_write(e->log, HEXRUN_LOG_DEBUG,
                      "event=retry endpoint=%s job=%lld attempt=%d status=%d delay_ms=%lld",
                      op_endpoint(o), (long long)o->job, o->attempt, r->status, (long long)delay);
    e->retries++;
    return delay;
}
