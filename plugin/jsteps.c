/* jsteps.c - the engine's steps of the submit journal (journal.h, through coord.h): asking
 * before a keyed RunProject, recording its answer. */
#include "engine_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An intent older than this cannot belong to a RunProject still in flight (every attempt
 * timed out, every lookup done: 31 poll_min_ms, and up to ADOPT_LOOKUPS unreadable ones of
 * at most 16 more each), whoever owns it. */
static int64_t journal_stale_ms(const hexrun_config *cfg)
{
    return cfg->timeout_ms * (cfg->max_retries + 1) + 128 * cfg->poll_min_ms + 60000;
}

/* Queue the answer of a keyed submit for the journal (table mutex held). */
void journal_note_add(hexrun__engine *e, char type, const hexrun__job *job, int64_t t_ms)
{
    if (!hexrun__coord_has_journal(e->coord) || !job->idempotency_key)
        return;
    journal_note *n = calloc(1, sizeof *n);
    if (!n || !(n->key = strdup(job->idempotency_key))) {
        free(n);
        hexrun__log_write(e->log, HEXRUN_LOG_ERROR, "event=journal_failed job=%lld out of memory",
                          (long long)job->id);
        return;
    }
    n->type = type;
    n->t_ms = t_ms;
    snprintf(n->project_id, sizeof n->project_id, "%s", job->project_id);
    snprintf(n->run_id, sizeof n->run_id, "%s", job->run_id);
    n->next = e->notes;
    e->notes = n;
}

/* Write the queued answers, oldest first (engine thread, without the table mutex). */
void journal_flush(hexrun__engine *e)
{
    if (!hexrun__coord_has_journal(e->coord))
        return;
    pthread_mutex_lock(&e->jobs->mu);
    journal_note *list = NULL;
    for (journal_note *n = e->notes, *next; n; n = next) {
        next = n->next;
        n->next = list;
        list = n;
    }
    e->notes = NULL;
    pthread_mutex_unlock(&e->jobs->mu);
    for (journal_note *n = list, *next; n; n = next) {
        next = n->next;
        char err[HEXRUN__ERR_MAX] = "";
        int rc = hexrun__coord_journal_note(e->coord, n->type, n->key, n->project_id, n->run_id,
                                            n->t_ms, err, sizeof err);
        if (rc != HEXRUN_OK)
            hexrun__log_write(e->log, HEXRUN_LOG_ERROR, "event=journal_failed project=%s %s",
                              n->project_id, err[0] ? err : hexrun_strerror(rc));
        free(n->key);
        free(n);
    }
}

/* Act on the journal's verdict for a keyed submit that may not send RunProject (table
 * mutex held). */
static op_fate journal_verdict_apply(hexrun__engine *e, op *o, hexrun__job *job, int rc,
                                     const hexrun__journal_claim *claim, const char *err)
{
    char msg[HEXRUN__MSG_MAX];
    if (rc == HEXRUN_OK && claim->verdict == HEXRUN__JOURNAL_WAIT) {
        reschedule(e, o, e->cfg->poll_min_ms); /* still QUEUED: asks the journal again */
        return OP_REQUEUED;
    }
    hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMITTING); /* the way out of QUEUED */
    if (rc != HEXRUN_OK) {
        snprintf(msg, sizeof msg, "nothing was sent: %s", err[0] ? err : hexrun_strerror(rc));
        hexrun__job_set_error(job, rc, 0, msg, "");
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMIT_FAILED);
        return OP_FINISHED;
    }
    switch (claim->verdict) {
    case HEXRUN__JOURNAL_ATTACH:
        snprintf(job->run_id, sizeof job->run_id, "%s", claim->run_id);
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_PENDING);
        hexrun__log_write(e->log, HEXRUN_LOG_INFO,
                          "event=journal_attach job=%lld run=%s (idempotency key already "
                          "recorded; no RunProject sent)",
                          (long long)job->id, job->run_id);
        follow_up(e, OP_POLL, job->id, 0);
        cancel_if_requested(e, job);
        return OP_FINISHED;
    case HEXRUN__JOURNAL_ADOPT:
        snprintf(msg, sizeof msg,
                 "RunProject outcome unknown: an earlier RunProject with this "
                 "idempotency key (journal_path) was sent and its answer never recorded");
        hexrun__job_set_error(job, HEXRUN_E_OUTCOME_UNKNOWN, 0, msg, "");
        job->adopt_since_ms = claim->since_ms;
        job->adopt_lookups = 0;
        follow_up(e, OP_ADOPT, job->id, 0);
        return OP_FINISHED;
    case HEXRUN__JOURNAL_CONFLICT:
        snprintf(msg, sizeof msg,
                 "the idempotency key already names a submit of project %s "
                 "in journal_path; nothing was sent",
                 claim->run_id);
        hexrun__job_set_error(job, HEXRUN_E_INVALID_ARG, 0, msg, "");
        hexrun__job_set_state(e->jobs, job, HEXRUN_STATE_SUBMIT_FAILED);
        return OP_FINISHED;
    case HEXRUN__JOURNAL_WAIT:
    case HEXRUN__JOURNAL_GO:
        break;
    }
    return OP_FINISHED;
}

/* Before a keyed submit's first RunProject: ask the journal (which records the intent when
 * the key is free). Engine thread, without the table mutex. OP_SEND to send it; else the
 * journal's verdict: OP_REQUEUED (asks again later) or OP_FINISHED (the job attached,
 * adopts or failed). */
op_fate journal_step(hexrun__engine *e, op *o)
{
    char key[HEXRUN__IDEMPOTENCY_KEY_MAX + 1], project[HEXRUN__HEX_ID_MAX];
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    int keyed =
        job && job->idempotency_key && job->state == HEXRUN_STATE_QUEUED && !job->cancel_requested;
    if (keyed) {
        snprintf(key, sizeof key, "%s", job->idempotency_key);
        snprintf(project, sizeof project, "%s", job->project_id);
    }
    pthread_mutex_unlock(&e->jobs->mu);
    if (!keyed)
        return OP_SEND; /* op_start drops or ends it */
    hexrun__journal_claim claim;
    char err[HEXRUN__ERR_MAX] = "";
    int rc = hexrun__coord_journal_begin(e->coord, key, project, unix_ms(e),
                                         journal_stale_ms(e->cfg), &claim, err, sizeof err);
    if (rc == HEXRUN_OK && claim.verdict == HEXRUN__JOURNAL_GO)
        return OP_SEND;
    pthread_mutex_lock(&e->jobs->mu);
    job = hexrun__jobs_find(e->jobs, o->job);
    op_fate fate = job ? journal_verdict_apply(e, o, job, rc, &claim, err) : OP_FINISHED;
    pthread_mutex_unlock(&e->jobs->mu);
    return fate;
}
