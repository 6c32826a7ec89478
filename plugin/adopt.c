/* adopt.c - the run an unanswered RunProject created: choosing it, and the engine's lookups for it;
 * see adopt.h. */
#include "adopt.h"

#include <pthread.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"

int64_t hexrun__iso8601_ms(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used) != 6 ||
        used != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
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

/* ---- the engine's lookups for the run of an unanswered RunProject (engine thread) ---- */

typedef struct lookup_ctx {
    const hexrun__engine *e;
    const char *project_id;
} lookup_ctx;

/* A run id this client already accounts for: a job tracks it or tracked it before its
 * release, or the journal records it. */
static int run_tracked(const char *run_id, void *ud)
{
    const lookup_ctx *l = ud;
    return hexrun__jobs_knows_run(l->e->jobs, l->project_id, run_id) ||
           (hexrun__coord_has_journal(l->e->coord) &&
            hexrun__coord_journal_knows_run(l->e->coord, run_id));
}

/* The RunProject of job was sent but its answer is lost: look for its run instead of
 * sending it again. A dry run starts nothing, so there is nothing to find. */
void adopt_begin(hexrun__engine *e, const op *o, hexrun__job *job, const hexrun__http_resp *r,
                 int code)
{
    if (job->dry_run) {
        job_fail(e, o, job, code, r, HEXRUN_STATE_SUBMIT_FAILED);
        return;
    }
    job_fail(e, o, job, HEXRUN_E_OUTCOME_UNKNOWN, r, -1);
    job->adopt_since_ms = o->submit.sent_unix_ms;
    job->adopt_lookups = 0;
    follow_up(e, OP_ADOPT, job->id, 0);
}

static void adopt_run(hexrun__engine *e, hexrun__job *job, const hexrun__hex_run *run)
{
    job->adopt_since_ms = 0;
    job->adopt_first_since_ms = 0;
    /* Keep the story in last_error: the answer was lost and the run was found. */
    char msg[HEXRUN__MSG_MAX];
    snprintf(msg, sizeof msg, "%s; adopted run %s, found among the project's runs",
             job->last_error.message ? job->last_error.message : "RunProject outcome unknown",
             run->run_id);
    hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, job->last_error.http_status, msg,
                          job->last_error.trace_id);
    job_update_from_run(e, job, run);
    hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                      "event=adopted job=%lld run=%s (RunProject answer was lost; found the "
                      "run in the project's runs)",
                      (long long)job->id, job->run_id);
    journal_note_add(e, 'R', job, unix_ms(e));
    if (hexrun_state_is_terminal(job->state) == 0) {
        follow_up(e, OP_POLL, job->id, e->cfg->poll_min_ms);
        cancel_if_requested(e, job);
    }
}

static int same_body(const hexrun__job *a, const hexrun__job *b)
{
    return strcmp(a->run_body ? a->run_body : "", b->run_body ? b->run_body : "") == 0;
}

/* Pair every unanswered submit of job's project with a run that may be its own: only when
 * there are exactly as many such runs as submits, and the submits are interchangeable
 * (one, or all with the same body). Returns 1 when job got its run; else describes what
 * was found in evidence. */
static int adopt_match(hexrun__engine *e, const hexrun__job *job, const hexrun__hex_run *runs,
                       size_t n, size_t *found, char *evidence, size_t evlen)
{
    hexrun__job *waiting[ADOPT_MAX];
    size_t nw = 0, idx[ADOPT_MAX];
    int64_t since = job->adopt_since_ms;
    int alike = 1;
    for (size_t i = 0; i < e->jobs->n && nw < ADOPT_MAX; i++) {
        hexrun__job *j = e->jobs->items[i];
        if (!j->adopt_since_ms || strcmp(j->project_id, job->project_id) != 0)
            continue;
        waiting[nw++] = j;
        alike &= same_body(waiting[0], j);
        if (j->adopt_since_ms < since)
            since = j->adopt_since_ms;
    }
    lookup_ctx l = {e, job->project_id};
    size_t nc = hexrun__adopt_candidates(runs, n, since, run_tracked, &l, idx, ADOPT_MAX);
    *found = nc;
    snprintf(evidence, evlen,
             "%zu API run(s) of the project appeared since then (%s%s%s) for "
             "%zu unanswered RunProject(s)%s",
             nc, nc > 0 ? runs[idx[0]].run_id : "none", nc > 1 ? ", " : "",
             nc > 1 ? runs[idx[1]].run_id : "", nw,
             nc == nw && !alike ? " with different bodies" : "");
    if (nc == 0 || nc != nw || !alike)
        return 0;
    for (size_t i = 0; i < nw; i++)
        adopt_run(e, waiting[i], &runs[idx[i]]);
    return 1;
}

void adopt_give_up(hexrun__engine *e, hexrun__job *job, const char *evidence)
{
    char msg[HEXRUN__MSG_MAX];
    snprintf(msg, sizeof msg,
             "%s; after %d lookup(s) of the project's runs: %s, so none was "
             "adopted and none was started again",
             job->last_error.message ? job->last_error.message : "RunProject outcome unknown",
             job->adopt_lookups, evidence);
    journal_note_add(e, 'U', job, job->adopt_since_ms);
    job->adopt_since_ms = 0;
    hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, job->last_error.http_status, msg,
                          job->last_error.trace_id);
    hexrun__log_write(e->log, HEXRUN_LOG_WARN, "event=submit_unknown job=%lld %s",
                      (long long)job->id, msg);
    hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMIT_UNKNOWN);
}

/* hexrun_submit_or_adopt: before a submit's RunProject, look for the run another
 * process's RunProject, sent at adopt_first_since_ms, may have made. Engine thread,
 * without the table mutex. OP_FINISHED when the job looks now (a lookup replaces o), else
 * OP_SEND. */
op_fate adopt_first(hexrun__engine *e, op *o)
{
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    int look = job && job->adopt_first_since_ms && job->state == HEXRUN_STATE_QUEUED &&
               !job->cancel_requested;
    if (look) {
        /* SUBMITTING holds the project (no other RunProject of it goes out meanwhile) and
         * makes a cancel wait for the run, as for an unanswered RunProject of our own. */
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMITTING);
        hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, 0,
                              "RunProject outcome unknown: an earlier process was sending it "
                              "and did not record Hex's answer",
                              "");
        job->adopt_since_ms = job->adopt_first_since_ms;
        job->adopt_lookups = 0;
        hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                          "event=adopt_first job=%lld project=%s (looking for the run of an "
                          "earlier process's RunProject before sending one)",
                          (long long)job->id, job->project_id);
        follow_up(e, OP_ADOPT, job->id, 0);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    return look ? OP_FINISHED : OP_SEND;
}

/* hexrun_submit_or_adopt found no run of the earlier RunProject: once any run it made
 * would be listed (31 poll_min_ms after it was sent, or after the last lookup), send
 * RunProject. Returns 1 when it did (table mutex held). */
static int adopt_else_submit(hexrun__engine *e, hexrun__job *job)
{
    int64_t window = ((1 << ADOPT_LOOKUPS) - 1) * e->cfg->poll_min_ms;
    if (!job->adopt_first_since_ms ||
        (job->adopt_lookups < ADOPT_LOOKUPS && unix_ms(e) - job->adopt_since_ms < window))
        return 0;
    hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                      "event=adopt_none job=%lld project=%s (no run of the earlier "
                      "RunProject after %d lookup(s); sending RunProject)",
                      (long long)job->id, job->project_id, job->adopt_lookups);
    job->adopt_since_ms = 0;
    job->adopt_first_since_ms = 0;
    hexrun__job_set_error(job, HEXRUN_OK, 0, NULL, "");
    follow_up(e, OP_SUBMIT, job->id, 0);
    return 1;
}

/* A lookup's answer. OP_REQUEUED: o looks again later. */
op_fate adopt_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    if (!job || !job->adopt_since_ms)
        return OP_FINISHED;
    hexrun__hex_run *runs = NULL;
    size_t n = 0, found = 0;
    char evidence[HEXRUN__MSG_MAX], err[HEXRUN__ERR_MAX];
    if (code == HEXRUN_OK)
        code = hexrun__hex_parse_runs_page(r->body, r->body_len, ADOPT_LIMIT, &runs, &n, NULL, err,
                                           sizeof err);
    else
        snprintf(err, sizeof err, "%s", hexrun_strerror(code));
    int done = code == HEXRUN_OK && adopt_match(e, job, runs, n, &found, evidence, sizeof evidence);
    free(runs);
    if (code != HEXRUN_OK) {
        snprintf(evidence, sizeof evidence, "the last lookup failed: %s", err);
        /* An answer that could not be read tells nothing either way: it does not count as
         * one of the lookups (up to ADOPT_LOOKUPS such), so the verdict rests on pages that
         * were read. */
        if (++o->adopt.failed_lookups <= ADOPT_LOOKUPS)
            job->adopt_lookups--;
    }
    if (done)
        return OP_FINISHED;
    if (code == HEXRUN_OK && found == 0 && adopt_else_submit(e, job))
        return OP_FINISHED;
    if (job->adopt_lookups >= ADOPT_LOOKUPS) {
        adopt_give_up(e, job, evidence);
        return OP_FINISHED;
    }
    o->attempt = 0;
    /* A cancelling shutdown looks again at the poll interval until its deadline. */
    int doubling = job->adopt_lookups > 1 ? job->adopt_lookups - 1 : 0;
    reschedule(e, o, e->stopping ? e->cfg->poll_min_ms : e->cfg->poll_min_ms << doubling);
    return OP_REQUEUED;
}
