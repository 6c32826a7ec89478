/* Unit: the engine (plugin/engine.c and the files behind engine_int.h) driven without its
 * thread, on a fake clock and a fake transport that answers at once with canned answers
 * (engine.h's hexrun__engine_io). Time is the fake clock's: a test of minutes of back-off
 * runs in milliseconds, and nothing sleeps. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ck_run.h"
#include "config.h"
#include "engine.h"
#include "job.h"
#include "log.h"

#define MAX_SENT 512
/* Hex's ids are UUIDs (hex.c checks them): project P, runs R1..R9, projects P0..P19. */
#define P "11111111-2222-4333-8444-555555555555"
#define Q "11111111-2222-4333-8444-666666666666"
#define RUN(n) "aaaaaaaa-bbbb-4ccc-8ddd-00000000000" #n
#define RUN_N "aaaaaaaa-bbbb-4ccc-8ddd-00000000000%d"
#define PROJECT_N "22222222-3333-4444-8555-0000000000%02d"
/* The fake wall clock starts here (2027-01-15), the monotonic one at 0. */
#define UNIX_BASE_MS 1800000000000LL

typedef struct sent_req {
    char method[8];
    char path[256];
    char query[128];
    int64_t at_ms; /* on the fake monotonic clock */
    hexrun__http_done_fn done;
    void *ud;
    int answered;
} sent_req;

typedef struct fake fake;
/* The canned answer to request r (its index i among the requests sent). */
typedef void (*answer_fn)(fake *f, const sent_req *r, int i, hexrun__http_resp *resp);

struct fake {
    int64_t now;
    sent_req sent[MAX_SENT];
    int n_sent;
    answer_fn answer;
    char body[4096];          /* the body of the answer being given */
    int start_error;          /* fake_start fails with this (HEXRUN_OK: it does not) */
    const char *refuse_query; /* ... only for requests with this query (NULL: for all) */
};

static int64_t fake_now(void *ud)
{
    return ((fake *)ud)->now;
}

static int64_t fake_unix(void *ud)
{
    return UNIX_BASE_MS + ((fake *)ud)->now;
}

static int fake_start(void *ud, const hexrun__http_req *req)
{
    fake *f = ud;
    if (f->start_error != HEXRUN_OK &&
        (!f->refuse_query || (req->query && strcmp(req->query, f->refuse_query) == 0)))
        return f->start_error;
    ck_assert_int_lt(f->n_sent, MAX_SENT);
    sent_req *r = &f->sent[f->n_sent++];
    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", req->method);
    snprintf(r->path, sizeof r->path, "%s", req->path);
    snprintf(r->query, sizeof r->query, "%s", req->query ? req->query : "");
    r->at_ms = f->now;
    r->done = req->done;
    r->ud = req->ud;
    return HEXRUN_OK;
}

static int fake_in_flight(void *ud)
{
    fake *f = ud;
    int n = 0;
    for (int i = 0; i < f->n_sent; i++)
        n += !f->sent[i].answered;
    return n;
}

/* Answer every request in flight at once; with none, let the time pass that the engine
 * would wait (at least a millisecond, so that every round moves the clock or answers). */
static int fake_run(void *ud, int timeout_ms)
{
    fake *f = ud;
    int answered = 0;
    for (int i = 0; i < f->n_sent; i++) {
        sent_req *r = &f->sent[i];
        if (r->answered)
            continue;
        r->answered = 1;
        hexrun__http_resp resp = {.error = HEXRUN_OK, .sent = 1, .body = "", .error_text = ""};
        f->answer(f, r, i, &resp);
        resp.body_len = strlen(resp.body);
        r->done(&resp, r->ud);
        answered++;
    }
    if (!answered)
        f->now += timeout_ms > 0 ? timeout_ms : 1;
    return HEXRUN_OK;
}

static void fake_wakeup(void *ud)
{
    (void)ud;
}

typedef struct world {
    fake f;
    hexrun_config *cfg;
    hexrun__jobs jobs;
    hexrun__log *log;
    hexrun__engine *e;
} world;

/* A world whose configuration has key set to value (key NULL: the defaults). */
static world *world_new_with(answer_fn answer, const char *key, const char *value)
{
    static world w;
    memset(&w, 0, sizeof w);
    w.f.answer = answer;
    ck_assert_int_eq(hexrun_config_new(&w.cfg), HEXRUN_OK);
    if (key)
        ck_assert_int_eq(hexrun_config_set(w.cfg, key, value), HEXRUN_OK);
    ck_assert_int_eq(hexrun__jobs_init(&w.jobs), HEXRUN_OK);
    w.log = hexrun__log_new(HEXRUN_LOG_ERROR, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(w.log);
    hexrun__engine_io io = {fake_now,    fake_unix, fake_start, fake_run, fake_in_flight,
                            fake_wakeup, NULL,      &w.f,       NULL};
    char err[256];
    ck_assert_int_eq(hexrun__engine_new_io(w.cfg, &w.jobs, w.log, &io, &w.e, err, sizeof err),
                     HEXRUN_OK);
    return &w;
}

static world *world_new(answer_fn answer)
{
    return world_new_with(answer, NULL, NULL);
}

static void world_free(world *w)
{
    char err[256];
    ck_assert_int_eq(hexrun__engine_stop(w->e, 0, 0, err, sizeof err), HEXRUN_OK);
    hexrun__jobs_destroy(&w->jobs);
    hexrun__log_free(w->log);
    hexrun_config_free(w->cfg);
}

/* Engine rounds until the fake clock reaches until_ms. */
static void drive(world *w, int64_t until_ms)
{
    for (int rounds = 0; w->f.now < until_ms; rounds++) {
        ck_assert_msg(rounds < 100000, "the engine made no progress at %lld ms",
                      (long long)w->f.now);
        hexrun__engine_round(w->e);
    }
}

/* CHECK_ENGINE_DUMP=1: the requests a test made, with their times (to read a failure). */
static void dump(const world *w)
{
    if (!getenv("CHECK_ENGINE_DUMP"))
        return;
    for (int i = 0; i < w->f.n_sent; i++)
        fprintf(stderr, "%6lld %s %s ?%s\n", (long long)w->f.sent[i].at_ms, w->f.sent[i].method,
                w->f.sent[i].path, w->f.sent[i].query);
}

static int64_t add_job(world *w, int32_t state, const char *project, const char *run)
{
    pthread_mutex_lock(&w->jobs.mu);
    hexrun__job *job = hexrun__jobs_add(&w->jobs, state, project, run, "{}", 0, NULL);
    pthread_mutex_unlock(&w->jobs.mu);
    ck_assert_ptr_nonnull(job);
    return job->id;
}

static hexrun__job *job_of(world *w, int64_t id)
{
    return hexrun__jobs_find(&w->jobs, id);
}

/* Queue work as a host thread does: under the table mutex. */
static void queue(world *w, int (*fn)(hexrun__engine *, int64_t), int64_t id)
{
    pthread_mutex_lock(&w->jobs.mu);
    ck_assert_int_eq(fn(w->e, id), HEXRUN_OK);
    pthread_mutex_unlock(&w->jobs.mu);
}

static int count(const world *w, const char *method)
{
    int n = 0;
    for (int i = 0; i < w->f.n_sent; i++)
        n += strcmp(w->f.sent[i].method, method) == 0;
    return n;
}

/* "/v1/projects/<p>/runs/<r>" -> r (or "" for a path without a run). */
static const char *run_of_path(const char *path)
{
    const char *p = strstr(path, "/runs/");
    return p ? p + 6 : "";
}

static void run_json(fake *f, const char *project, const char *run, const char *status)
{
    snprintf(f->body, sizeof f->body,
             "{\"projectId\":\"%s\",\"runId\":\"%s\",\"runUrl\":\"https://hex/%s\","
             "\"status\":\"%s\"}",
             project, run, run, status);
}

/* ---- the sweep period ---- */

static void answer_running(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)i;
    run_json(f, P, run_of_path(r->path), "RUNNING");
    resp->status = 200;
    resp->body = f->body;
}

START_TEST(a_lone_run_is_polled_once_a_sweep_period)
{
    world *w = world_new(answer_running);
    int64_t id = add_job(w, HEXRUN_STATE_PENDING, P, RUN(1));
    queue(w, hexrun__engine_queue_poll, id);
    drive(w, 10500);
    dump(w);
    /* poll_min_ms (1000) bounds the period from below; the api budget's poll share
     * may stretch it, evenly. */
    int n = count(w, "GET");
    ck_assert_int_ge(n, 2);
    int64_t period = w->f.sent[1].at_ms - w->f.sent[0].at_ms;
    ck_assert_int_ge(period, w->cfg->poll_min_ms);
    for (int i = 1; i < n; i++) {
        ck_assert_str_eq(w->f.sent[i].path, "/v1/projects/" P "/runs/" RUN(1));
        ck_assert_int_eq(w->f.sent[i].at_ms - w->f.sent[i - 1].at_ms, period);
    }
    ck_assert_int_eq(n, 10500 / period + 1);
    ck_assert_int_eq(job_of(w, id)->state, HEXRUN_STATE_RUNNING);
    world_free(w);
}
END_TEST

/* ---- coalescing ---- */

/* A 200 answer: the last page of project P's runs, runs 1 to n COMPLETED. */
static void page_of_completed_runs(fake *f, int n, hexrun__http_resp *resp)
{
    snprintf(f->body, sizeof f->body, "{\"runs\":[");
    for (int k = 1; k <= n; k++) {
        size_t len = strlen(f->body);
        snprintf(f->body + len, sizeof f->body - len,
                 "%s{\"projectId\":\"" P "\",\"runId\":\"" RUN_N "\",\"status\":\"COMPLETED\"}",
                 k > 1 ? "," : "", k);
    }
    strcat(f->body, "],\"nextPage\":null}");
    resp->status = 200;
    resp->body = f->body;
}

/* Jobs on runs 1, 2 and 3 of project P in `state`, their polls queued; ids to ids. */
static void poll_three_runs(world *w, int32_t state, int64_t ids[3])
{
    for (int k = 0; k < 3; k++) {
        char run[40];
        snprintf(run, sizeof run, RUN_N, k + 1);
        ids[k] = add_job(w, state, P, run);
        queue(w, hexrun__engine_queue_poll, ids[k]);
    }
}

static void answer_page_completed(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)r;
    (void)i;
    page_of_completed_runs(f, 3, resp);
}

START_TEST(polls_of_one_project_share_one_page)
{
    world *w = world_new(answer_page_completed);
    int64_t ids[3];
    poll_three_runs(w, HEXRUN_STATE_PENDING, ids);
    drive(w, 5000);
    dump(w);
    ck_assert_int_eq(w->f.n_sent, 1);
    ck_assert_str_eq(w->f.sent[0].method, "GET");
    ck_assert_str_eq(w->f.sent[0].path, "/v1/projects/" P "/runs");
    ck_assert_str_eq(w->f.sent[0].query, "limit=100&offset=0");
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(job_of(w, ids[k])->state, HEXRUN_STATE_COMPLETED);
    world_free(w);
}
END_TEST

/* The page lacks run 3 (and has no next page): run 3 is polled alone from then on, on the
 * poll share's pace; the page's runs are done with. */
static void answer_page_without_3(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)i;
    if (strcmp(run_of_path(r->path), "") == 0) {
        page_of_completed_runs(f, 2, resp);
        return;
    }
    run_json(f, P, run_of_path(r->path), "ERRORED");
    resp->status = 200;
    resp->body = f->body;
}

START_TEST(a_run_missing_from_the_page_is_polled_alone)
{
    world *w = world_new(answer_page_without_3);
    int64_t ids[3];
    poll_three_runs(w, HEXRUN_STATE_RUNNING, ids);
    drive(w, 10000);
    dump(w);
    ck_assert_int_eq(w->f.n_sent, 2);
    ck_assert_str_eq(w->f.sent[0].path, "/v1/projects/" P "/runs");
    ck_assert_str_eq(w->f.sent[1].path, "/v1/projects/" P "/runs/" RUN(3));
    ck_assert_int_eq(job_of(w, ids[0])->state, HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(job_of(w, ids[1])->state, HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(job_of(w, ids[2])->state, HEXRUN_STATE_ERRORED);
    world_free(w);
}
END_TEST

/* ---- a second page of a project's runs ---- */

/* Page 1 (offset 0) has run 1 and a next page at offset 1; page 2 has runs 2 and 3. */
static void answer_two_pages(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)i;
    if (strcmp(r->query, "limit=100&offset=0") == 0) {
        snprintf(f->body, sizeof f->body,
                 "{\"runs\":[{\"projectId\":\"" P "\",\"runId\":\"" RUN(
                     1) "\",\"status\":"
                        "\"COMPLETED\"}],\"nextPage\":\"https://hex/api/v1/projects/" P
                        "/runs?limit=100&offset=1\"}");
        resp->status = 200;
        resp->body = f->body;
        return;
    }
    page_of_completed_runs(f, 3, resp); /* runs 2 and 3 are on it */
}

START_TEST(runs_missing_from_the_first_page_are_found_on_the_next)
{
    world *w = world_new(answer_two_pages);
    int64_t ids[3];
    poll_three_runs(w, HEXRUN_STATE_RUNNING, ids);
    drive(w, 10000);
    dump(w);
    ck_assert_int_eq(w->f.n_sent, 2);
    ck_assert_str_eq(w->f.sent[0].query, "limit=100&offset=0");
    ck_assert_str_eq(w->f.sent[1].path, "/v1/projects/" P "/runs");
    ck_assert_str_eq(w->f.sent[1].query, "limit=100&offset=1");
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(job_of(w, ids[k])->state, HEXRUN_STATE_COMPLETED);
    world_free(w);
}
END_TEST

/* ---- a poll's answers that cannot be used ---- */

static void answer_about_another_run(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)r;
    (void)i;
    run_json(f, P, RUN(8), "COMPLETED");
    resp->status = 200;
    resp->body = f->body;
}

START_TEST(answers_about_another_run_end_the_poll_lost)
{
    world *w = world_new(answer_about_another_run);
    int64_t id = add_job(w, HEXRUN_STATE_RUNNING, P, RUN(1));
    queue(w, hexrun__engine_queue_poll, id);
    drive(w, 120000);
    dump(w);
    /* max(3, max_retries + 1) unusable answers in a row, then no more polls: the job ends
     * LOST and never takes the other run's status. */
    ck_assert_int_eq(count(w, "GET"), (int)w->cfg->max_retries + 1);
    const hexrun__job *job = job_of(w, id);
    ck_assert_int_eq(job->state, HEXRUN_STATE_LOST);
    ck_assert_str_eq(job->run_id, RUN(1));
    ck_assert_ptr_nonnull(strstr(job->last_error.message, "not run " RUN(1)));
    world_free(w);
}
END_TEST

/* ---- cancels go before polls ---- */

static void answer_cancel_or_running(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    if (strcmp(r->method, "DELETE") == 0) {
        resp->status = 204;
        return;
    }
    answer_running(f, r, i, resp);
}

START_TEST(a_cancel_goes_before_a_backlog_of_polls)
{
    world *w = world_new(answer_cancel_or_running);
    for (int k = 0; k < 20; k++) {
        char project[40];
        snprintf(project, sizeof project, PROJECT_N, k);
        queue(w, hexrun__engine_queue_poll, add_job(w, HEXRUN_STATE_RUNNING, project, RUN(1)));
    }
    int64_t victim = add_job(w, HEXRUN_STATE_RUNNING, Q, RUN(2));
    queue(w, hexrun__engine_queue_cancel, victim);
    drive(w, 1);
    ck_assert_int_ge(w->f.n_sent, 1);
    ck_assert_str_eq(w->f.sent[0].method, "DELETE");
    ck_assert_str_eq(w->f.sent[0].path, "/v1/projects/" Q "/runs/" RUN(2));
    ck_assert_int_eq(job_of(w, victim)->cancel_accepted, 1);
    world_free(w);
}
END_TEST

/* ---- back-off ---- */

static void answer_cancel_fails_twice(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)f;
    (void)r;
    resp->status = i < 2 ? 500 : 204;
}

START_TEST(a_failed_cancel_backs_off_within_the_doubling_cap)
{
    world *w = world_new(answer_cancel_fails_twice);
    int64_t id = add_job(w, HEXRUN_STATE_RUNNING, P, RUN(1));
    queue(w, hexrun__engine_queue_cancel, id);
    drive(w, 60000);
    ck_assert_int_eq(count(w, "DELETE"), 3);
    /* Full jitter: the n-th retry waits up to retry_base_ms * 2^(n-1). */
    ck_assert_int_le(w->f.sent[1].at_ms - w->f.sent[0].at_ms, w->cfg->retry_base_ms);
    ck_assert_int_le(w->f.sent[2].at_ms - w->f.sent[1].at_ms, 2 * w->cfg->retry_base_ms);
    ck_assert_int_eq(job_of(w, id)->cancel_accepted, 1);
    world_free(w);
}
END_TEST

static void answer_429_then_ok(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)f;
    (void)r;
    resp->status = i == 0 ? 429 : 204;
    resp->retry_after = i == 0 ? "7" : NULL;
}

START_TEST(retry_after_is_waited_to_the_millisecond)
{
    world *w = world_new(answer_429_then_ok);
    int64_t id = add_job(w, HEXRUN_STATE_RUNNING, P, RUN(1));
    queue(w, hexrun__engine_queue_cancel, id);
    drive(w, 20000);
    ck_assert_int_eq(count(w, "DELETE"), 2);
    ck_assert_int_eq(w->f.sent[1].at_ms - w->f.sent[0].at_ms, 7000);
    world_free(w);
}
END_TEST

/* Retry-After as an HTTP-date, 10 s after the engine's wall clock (not this machine's). */
static void answer_429_until_a_date(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)r;
    static char date[64];
    time_t at = (time_t)(fake_unix(f) / 1000) + 10;
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    resp->status = i == 0 ? 429 : 204;
    resp->retry_after = i == 0 ? date : NULL;
}

START_TEST(a_retry_after_date_is_read_on_the_engines_clock)
{
    world *w = world_new(answer_429_until_a_date);
    int64_t id = add_job(w, HEXRUN_STATE_RUNNING, P, RUN(1));
    queue(w, hexrun__engine_queue_cancel, id);
    drive(w, 20000);
    ck_assert_int_eq(count(w, "DELETE"), 2);
    ck_assert_int_eq(w->f.sent[1].at_ms - w->f.sent[0].at_ms, 10000);
    world_free(w);
}
END_TEST

/* ---- adoption of the run of an unanswered RunProject ---- */

static void answer_lost_then_found(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)i;
    if (strcmp(r->method, "POST") == 0) {
        /* Sent, then the connection broke: the run may exist. */
        resp->error = HEXRUN_E_TRANSPORT;
        resp->error_text = "connection reset";
        return;
    }
    if (strcmp(r->query, "limit=100&runTriggerFilter=API") == 0)
        snprintf(f->body, sizeof f->body,
                 "{\"runs\":[{\"projectId\":\"" P
                 "\",\"runId\":\"" RUN(9) "\",\"status\":\"RUNNING\","
                                          "\"runTrigger\":\"API\"}],\"nextPage\":null}");
    else
        run_json(f, P, run_of_path(r->path), "COMPLETED");
    resp->status = 200;
    resp->body = f->body;
}

START_TEST(a_lost_runproject_answer_adopts_the_new_run_without_resending)
{
    world *w = world_new(answer_lost_then_found);
    int64_t id = add_job(w, HEXRUN_STATE_QUEUED, P, "");
    queue(w, hexrun__engine_queue_submit, id);
    drive(w, 5000);
    dump(w);
    ck_assert_int_eq(count(w, "POST"), 1);
    const hexrun__job *job = job_of(w, id);
    ck_assert_str_eq(job->run_id, RUN(9));
    ck_assert_int_eq(job->state, HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(job->last_error.code, HEXRUN_E_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(job->last_error.message, "adopted run " RUN(9)));
    world_free(w);
}
END_TEST

/* ---- lookups whose answers cannot be read ---- */

static void answer_lost_then_unreadable(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)f;
    (void)i;
    if (strcmp(r->method, "POST") == 0) {
        resp->error = HEXRUN_E_TRANSPORT;
        resp->error_text = "connection reset";
        return;
    }
    resp->status = 200;
    resp->body = "{\"runs\":";
}

START_TEST(unreadable_lookups_do_not_count_toward_submit_unknown)
{
    world *w = world_new(answer_lost_then_unreadable);
    int64_t id = add_job(w, HEXRUN_STATE_QUEUED, P, "");
    queue(w, hexrun__engine_queue_submit, id);
    drive(w, 3600000);
    dump(w);
    /* Six lookups whose answers could not be read tell nothing either way; six more decide
     * (they cannot be read either). The RunProject is never sent again. */
    ck_assert_int_eq(count(w, "POST"), 1);
    ck_assert_int_eq(count(w, "GET"), 12);
    const hexrun__job *job = job_of(w, id);
    ck_assert_int_eq(job->state, HEXRUN_STATE_SUBMIT_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(job->last_error.message, "the last lookup failed"));
    world_free(w);
}
END_TEST

/* ---- the engine's clock stamps the jobs ---- */

/* A job's submitted_at, and the end a cancelling shutdown gives its run, are read on the
 * engine's wall clock (this fake one: 2027-01-15T08:00:00Z at 0), not the machine's. */
START_TEST(jobs_are_stamped_on_the_engines_clock)
{
    world *w = world_new(answer_cancel_or_running);
    w->f.now = 1234;
    int64_t id = add_job(w, HEXRUN_STATE_RUNNING, P, RUN(1));
    ck_assert_str_eq(job_of(w, id)->submitted_at, "2027-01-15T08:00:01.234Z");
    w->f.now = 61005;
    pthread_mutex_lock(&w->jobs.mu);
    hexrun__job_note_cancelled(&w->jobs, job_of(w, id));
    pthread_mutex_unlock(&w->jobs.mu);
    ck_assert_str_eq(job_of(w, id)->end_time, "2027-01-15T08:01:01.005Z");
    world_free(w);
}
END_TEST

/* ---- pages of more runs than asked for ---- */

/* A page of project P's runs 1 to n, COMPLETED, in a buffer of its own (the fake's body
 * holds fewer runs than a page may). */
static const char *page_of_n_runs(int n)
{
    static char page[128 * 128];
    size_t len = (size_t)snprintf(page, sizeof page, "{\"runs\":[");
    for (int k = 1; k <= n && len < sizeof page; k++)
        len += (size_t)snprintf(page + len, sizeof page - len,
                                "%s{\"projectId\":\"" P "\",\"runId\":\"aaaaaaaa-bbbb-4ccc-"
                                "8ddd-%012d\",\"status\":\"COMPLETED\"}",
                                k > 1 ? "," : "", k);
    ck_assert_uint_lt(len, sizeof page - 32);
    strcat(page, "],\"nextPage\":null}");
    return page;
}

/* RunProject's answer is lost; every page of the project's runs holds 101 runs. */
static void answer_lost_then_packed(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)f;
    (void)i;
    if (strcmp(r->method, "POST") == 0) {
        resp->error = HEXRUN_E_TRANSPORT;
        resp->error_text = "connection reset";
        return;
    }
    resp->status = 200;
    resp->body = page_of_n_runs(101);
}

/* A lookup answered with more runs than its limit (100) is refused as an unreadable one:
 * it does not count toward SUBMIT_UNKNOWN, and the job's error names the counts. */
START_TEST(a_lookup_page_of_more_runs_than_asked_for_is_a_failed_lookup)
{
    world *w = world_new(answer_lost_then_packed);
    int64_t id = add_job(w, HEXRUN_STATE_QUEUED, P, "");
    queue(w, hexrun__engine_queue_submit, id);
    drive(w, 3600000);
    dump(w);
    ck_assert_int_eq(count(w, "POST"), 1);
    ck_assert_int_eq(count(w, "GET"), 12);
    const hexrun__job *job = job_of(w, id);
    ck_assert_int_eq(job->state, HEXRUN_STATE_SUBMIT_UNKNOWN);
    ck_assert_msg(strstr(job->last_error.message,
                         "the last lookup failed: GetProjectRuns: the page holds 101 runs, more "
                         "than the 100 asked for"),
                  "%s", job->last_error.message);
    world_free(w);
}
END_TEST

/* A coalesced poll's page of 101 runs (it asked for 100): the runs are polled alone. */
static void answer_packed_page(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)i;
    if (strcmp(run_of_path(r->path), "") == 0) {
        resp->status = 200;
        resp->body = page_of_n_runs(101);
        return;
    }
    run_json(f, P, run_of_path(r->path), "ERRORED");
    resp->status = 200;
    resp->body = f->body;
}

START_TEST(a_poll_page_of_more_runs_than_asked_for_is_not_read)
{
    world *w = world_new(answer_packed_page);
    int64_t ids[3];
    poll_three_runs(w, HEXRUN_STATE_RUNNING, ids);
    drive(w, 10000);
    dump(w);
    /* Runs 1 to 3 are on the page as COMPLETED, but the page is not read. */
    ck_assert_int_eq(w->f.n_sent, 4);
    ck_assert_str_eq(w->f.sent[0].query, "limit=100&offset=0");
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(job_of(w, ids[k])->state, HEXRUN_STATE_ERRORED);
    world_free(w);
}
END_TEST

/* ---- direct calls ---- */

static void answer_429_for_an_hour(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)f;
    (void)r;
    (void)i;
    resp->status = 429;
    resp->retry_after = "3600";
}

START_TEST(a_direct_call_is_not_retried_past_its_deadline)
{
    world *w = world_new(answer_429_for_an_hour);
    hexrun__direct d = {.endpoint = "ListProjects", .method = "GET", .path = "/v1/projects"};
    pthread_mutex_lock(&w->jobs.mu);
    ck_assert_int_eq(hexrun__engine_queue_direct(w->e, &d), HEXRUN_OK);
    pthread_mutex_unlock(&w->jobs.mu);
    for (int rounds = 0; !d.done; rounds++) {
        ck_assert_int_lt(rounds, 1000);
        hexrun__engine_round(w->e);
    }
    /* Hex asks for an hour; the call's deadline is (max_retries + 1) * timeout_ms +
     * max_retries * retry_max_ms: it fails at once, saying why, after one request. */
    ck_assert_int_eq(w->f.n_sent, 1);
    ck_assert_int_eq(d.code, HEXRUN_E_RATE_LIMITED);
    ck_assert_int_eq(d.status, 429);
    ck_assert_int_eq(d.attempts, 1);
    ck_assert_ptr_nonnull(strstr(d.message, "ListProjects: HTTP 429"));
    ck_assert_ptr_nonnull(strstr(d.message, "not retried: the wait Hex asks for (3600 s)"));
    free(d.response);
    world_free(w);
}
END_TEST

/* ---- out of memory ---- */

START_TEST(a_request_that_cannot_start_for_lack_of_memory_ends_its_job)
{
    world *w = world_new(answer_running);
    w->f.start_error = HEXRUN_E_NOMEM;
    int64_t submit = add_job(w, HEXRUN_STATE_QUEUED, P, "");
    int64_t poll = add_job(w, HEXRUN_STATE_RUNNING, Q, RUN(1));
    queue(w, hexrun__engine_queue_submit, submit);
    queue(w, hexrun__engine_queue_poll, poll);
    drive(w, 5000);
    ck_assert_int_eq(w->f.n_sent, 0);
    /* No RunProject left: nothing can have started a run. The poll's run goes on in Hex,
     * untracked: LOST, with its run id. Neither stays live waiting forever. */
    ck_assert_int_eq(job_of(w, submit)->state, HEXRUN_STATE_SUBMIT_FAILED);
    ck_assert_int_eq(job_of(w, submit)->last_error.code, HEXRUN_E_NOMEM);
    ck_assert_int_eq(job_of(w, poll)->state, HEXRUN_STATE_LOST);
    ck_assert_int_eq(job_of(w, poll)->last_error.code, HEXRUN_E_NOMEM);
    ck_assert_str_eq(job_of(w, poll)->run_id, RUN(1));
    world_free(w);
}
END_TEST

/* The first lookup for the run of a lost RunProject cannot start: nothing can tell whether
 * that RunProject made a run, so its job ends SUBMIT_UNKNOWN, and its project is free for
 * the next submit (it was held for the lookup, one RunProject of a project at a time). */
START_TEST(a_lookup_that_cannot_start_frees_its_project)
{
    world *w = world_new(answer_lost_then_found);
    w->f.start_error = HEXRUN_E_NOMEM;
    w->f.refuse_query = "limit=100&runTriggerFilter=API";
    int64_t first = add_job(w, HEXRUN_STATE_QUEUED, P, "");
    queue(w, hexrun__engine_queue_submit, first);
    drive(w, 1000);
    ck_assert_int_eq(count(w, "POST"), 1);
    ck_assert_int_eq(job_of(w, first)->state, HEXRUN_STATE_SUBMIT_UNKNOWN);
    ck_assert_int_eq(job_of(w, first)->last_error.code, HEXRUN_E_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(
        strstr(job_of(w, first)->last_error.message, "the request could not be started"));
    int64_t second = add_job(w, HEXRUN_STATE_QUEUED, P, "");
    queue(w, hexrun__engine_queue_submit, second);
    drive(w, 60000);
    dump(w);
    ck_assert_int_eq(count(w, "POST"), 2);
    ck_assert_int_ne(job_of(w, second)->state, HEXRUN_STATE_QUEUED);
    world_free(w);
}
END_TEST

/* ---- the submit journal ---- */

/* A directory of its own for a journal_path; removed with what the journal put in it. */
static void temp_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/check_engine_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void temp_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *ent; (ent = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (ent->d_name[0] != '.')
            unlink(path);
    }
    closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
}

static void answer_created(fake *f, const sent_req *r, int i, hexrun__http_resp *resp)
{
    (void)i;
    run_json(f, P, strcmp(r->method, "POST") == 0 ? RUN(5) : run_of_path(r->path), "RUNNING");
    resp->status = 200;
    resp->body = f->body;
}

/* A keyed submit whose RunProject the transport refuses never reached Hex: the journal
 * hears so ('F'), and the key is free at once for the next submit with it (it would wait
 * for its intent to go stale, minutes, and then look for a run that was never made). */
START_TEST(a_keyed_submit_that_cannot_start_frees_its_key)
{
    char dir[64], path[96];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/journal", dir);
    world *w = world_new_with(answer_created, "journal_path", path);
    w->f.start_error = HEXRUN_E_NOMEM;
    pthread_mutex_lock(&w->jobs.mu);
    int64_t first = hexrun__jobs_add(&w->jobs, HEXRUN_STATE_QUEUED, P, "", "{}", 0, "key-1")->id;
    pthread_mutex_unlock(&w->jobs.mu);
    queue(w, hexrun__engine_queue_submit, first);
    drive(w, 1000);
    ck_assert_int_eq(job_of(w, first)->state, HEXRUN_STATE_SUBMIT_FAILED);
    w->f.start_error = HEXRUN_OK;
    pthread_mutex_lock(&w->jobs.mu);
    int64_t second = hexrun__jobs_add(&w->jobs, HEXRUN_STATE_QUEUED, P, "", "{}", 0, "key-1")->id;
    pthread_mutex_unlock(&w->jobs.mu);
    queue(w, hexrun__engine_queue_submit, second);
    drive(w, 10000);
    dump(w);
    ck_assert_int_eq(count(w, "POST"), 1);
    ck_assert_str_eq(job_of(w, second)->run_id, RUN(5));
    world_free(w);
    temp_dir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("fake clock and transport");
    tcase_add_test(tc, a_lone_run_is_polled_once_a_sweep_period);
    tcase_add_test(tc, polls_of_one_project_share_one_page);
    tcase_add_test(tc, a_run_missing_from_the_page_is_polled_alone);
    tcase_add_test(tc, runs_missing_from_the_first_page_are_found_on_the_next);
    tcase_add_test(tc, answers_about_another_run_end_the_poll_lost);
    tcase_add_test(tc, a_cancel_goes_before_a_backlog_of_polls);
    tcase_add_test(tc, a_failed_cancel_backs_off_within_the_doubling_cap);
    tcase_add_test(tc, retry_after_is_waited_to_the_millisecond);
    tcase_add_test(tc, a_retry_after_date_is_read_on_the_engines_clock);
    tcase_add_test(tc, a_lost_runproject_answer_adopts_the_new_run_without_resending);
    tcase_add_test(tc, unreadable_lookups_do_not_count_toward_submit_unknown);
    tcase_add_test(tc, jobs_are_stamped_on_the_engines_clock);
    tcase_add_test(tc, a_lookup_page_of_more_runs_than_asked_for_is_a_failed_lookup);
    tcase_add_test(tc, a_poll_page_of_more_runs_than_asked_for_is_not_read);
    tcase_add_test(tc, a_direct_call_is_not_retried_past_its_deadline);
    tcase_add_test(tc, a_request_that_cannot_start_for_lack_of_memory_ends_its_job);
    tcase_add_test(tc, a_lookup_that_cannot_start_frees_its_project);
    tcase_add_test(tc, a_keyed_submit_that_cannot_start_frees_its_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ck_run(suite());
}
