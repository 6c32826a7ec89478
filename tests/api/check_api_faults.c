/*
 * API suite: the fault matrix (issue 7, item 4). Every hexsim fault kind on every run
 * endpoint (RunProject, GetRunStatus, GetProjectRuns, CancelRun), plus a token revoked
 * mid-run and a refused connection. Each case drives one job (submit -> wait, and a cancel
 * for CancelRun) and checks: the final state is one the case allows, a failed job says why
 * (last_error), hexsim created no duplicate run, and no run is lost (a run that exists is
 * either tracked by the job or reported as SUBMIT_UNKNOWN with the evidence).
 *
 * Two more rows guard the bugs this suite found (fixed in a76a3f8): a RunProject dropped on
 * a reused keep-alive connection, which libcurl used to send again (two runs), and the
 * run budget against a fixed window, which used to let a second window's worth through.
 *
 * Each case prints one row of the matrix to stdout before its assertions, so the table
 * shows failing rows too: endpoint | fault | state | error | runs | attempts | verdict.
 * docs/faults.md has the table and what each row allows.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_common.h"

/* The client of every case: short attempts so "delay" outlives one, a response cap that
 * normal answers stay far under, fast polls and backoff. */
#define CASE_TIMEOUT_MS "500"
#define CASE_MAX_BYTES "16384"
#define WAIT_MS 15000
#define DELAY_MS "1200" /* past CASE_TIMEOUT_MS */

enum endpoint { EP_RUN, EP_STATUS, EP_LIST, EP_CANCEL, EP_COUNT };
static const char *const endpoint_names[EP_COUNT] = {"RunProject", "GetRunStatus", "GetProjectRuns",
                                                     "CancelRun"};

/* What a fault does to the request, as far as a client can know. */
enum effect {
    FX_REFUSED_RETRYABLE, /* 429/503: never processed, any method may retry */
    FX_REFUSED_5XX,       /* 500/502 (here before processing): a POST is not retried */
    FX_LATE,              /* delay past timeout_ms: processed, answer too late */
    FX_NOT_SENT_BACK,     /* drop_before: closed with no answer, not processed */
    FX_LOST_ANSWER, /* drop_after, truncate, malformed, oversize: processed, answer unusable */
    FX_SLOW_OK      /* slow_body within the timeout: a normal answer */
};

struct fault_kind {
    const char *name;   /* the matrix row label */
    const char *fields; /* the fault object's keys besides endpoint */
    enum effect effect;
    const char *fired; /* the status hexsim counts when it applies ("0" = dropped), or NULL */
};

static const struct fault_kind kinds[] = {
    {"status 500", "\"kind\":\"status\",\"status\":500,\"count\":2", FX_REFUSED_5XX, "500"},
    {"status 502", "\"kind\":\"status\",\"status\":502,\"count\":2", FX_REFUSED_5XX, "502"},
    {"status 503", "\"kind\":\"status\",\"status\":503,\"count\":2", FX_REFUSED_RETRYABLE, "503"},
    {"429", "\"kind\":\"status\",\"status\":429,\"count\":2", FX_REFUSED_RETRYABLE, "429"},
    {"429 Retry-After:1", "\"kind\":\"status\",\"status\":429,\"retry_after\":\"1\"",
     FX_REFUSED_RETRYABLE, "429"},
    {"delay " DELAY_MS "ms", "\"kind\":\"delay\",\"delay_ms\":" DELAY_MS, FX_LATE, NULL},
    {"drop_before", "\"kind\":\"drop_before\"", FX_NOT_SENT_BACK, "0"},
    {"drop_after", "\"kind\":\"drop_after\"", FX_LOST_ANSWER, "0"},
    {"truncate", "\"kind\":\"truncate\"", FX_LOST_ANSWER, NULL},
    {"malformed", "\"kind\":\"malformed\"", FX_LOST_ANSWER, NULL},
    {"slow_body 5ms/16B", "\"kind\":\"slow_body\",\"delay_ms\":5", FX_SLOW_OK, NULL},
    {"oversize 64KiB", "\"kind\":\"oversize\",\"bytes\":65536", FX_LOST_ANSWER, NULL},
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

/* What one case saw, gathered before any assertion so that the row always prints. */
struct outcome {
    int32_t state;
    int wait_rc;
    int error_code;      /* last_error.code, 0 when null */
    char error_msg[256]; /* last_error.message */
    char run_id[64];     /* the job's run_id, "" when null */
    char sim_run_id[64]; /* hexsim's run for the project when it made exactly one */
    char sim_status[32]; /* that run's status in hexsim */
    int runs_created;    /* hexsim's created count for the project */
    int attempts;        /* job_info.attempts */
    int faulted;         /* requests of the faulted endpoint hexsim saw */
    char verdict[256];   /* "ok" or what is wrong */
};

static hexrun_client *c;

static void setup(void)
{
    api_sim_reset();
    c = api_client(TOKEN_ADMIN,
                   (const char *[]){"timeout_ms", CASE_TIMEOUT_MS, "max_response_bytes",
                                    CASE_MAX_BYTES, "max_retries", "4", NULL});
}

static void teardown(void)
{
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}

static void add_fault(enum endpoint ep, const char *fields)
{
    char body[512];
    snprintf(body, sizeof body, "{\"faults\":[{\"endpoint\":\"%s\",%s}]}", endpoint_names[ep],
             fields);
    api_fault(body);
}

/* The sum of a {"status": count} object's counts (0 when it is NULL). */
static int sum_of_counts(json_object *by_status)
{
    int total = 0;
    if (by_status) {
        json_object_object_foreach(by_status, status, n)
        {
            (void)status;
            total += json_object_get_int(n);
        }
    }
    return total;
}

/* Every request hexsim saw for an endpoint, whatever the status (0 = dropped). hexsim
 * counts a request once it has done its work (after a delay fault's pause). */
static int requests_of(const char *endpoint)
{
    json_object *ctr = api_sim_call("GET", "/__sim/counters", NULL);
    int total = sum_of_counts(api_get(api_get(ctr, "requests"), endpoint));
    json_object_put(ctr);
    return total;
}

/* Every attempt the client has ended at an endpoint, answered or not (hexrun_stats). */
static int attempts_of(const char *endpoint)
{
    char *text = NULL;
    ck_assert_int_eq(hexrun_stats(c, &text), HEXRUN_OK);
    json_object *stats = api_json(text);
    hexrun_free(text);
    int total = sum_of_counts(api_get(api_get(stats, "requests"), endpoint));
    json_object_put(stats);
    return total;
}

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* Fill the job's side (state, error, run id, attempts) and hexsim's side of an outcome. */
static void observe(hexrun_client *client, int64_t job, const char *project, enum endpoint ep,
                    struct outcome *o)
{
    json_object *info = api_job_info(client, job);
    json_object *err = api_get(info, "last_error");
    o->error_code = err ? (int)api_int(err, "code") : 0;
    copy_str(o->error_msg, sizeof o->error_msg, err ? api_str(err, "message") : NULL);
    copy_str(o->run_id, sizeof o->run_id, api_str(info, "run_id"));
    o->attempts = (int)api_int(info, "attempts");
    json_object_put(info);

    char path[128];
    snprintf(path, sizeof path, "/__sim/runs?projectId=%s", project);
    json_object *runs = api_sim_call("GET", path, NULL);
    json_object *n = api_get(api_get(runs, "created_per_project"), project);
    o->runs_created = n ? json_object_get_int(n) : 0;
    json_object *list = api_get(runs, "runs");
    if (list && json_object_array_length(list) == 1) {
        json_object *r = json_object_array_get_idx(list, 0);
        copy_str(o->sim_run_id, sizeof o->sim_run_id, api_str(r, "runId"));
        copy_str(o->sim_status, sizeof o->sim_status, api_str(r, "status"));
    }
    json_object_put(runs);
    o->faulted = requests_of(endpoint_names[ep]);
}

/* ------------------------------------------------------------------------------------
 * Judging: the invariants every case shares, then the states each case allows.
 * ---------------------------------------------------------------------------------- */

#define BIT(s) (1u << (s))
#define OK_STATES (BIT(HEXRUN_STATE_COMPLETED))

struct expect {
    unsigned states; /* allowed final states (bits) */
    int error_code;  /* required last_error.code, 0 = any */
    int runs;        /* runs hexsim must have created: 0, 1, or -1 for "0 or 1" */
    int live_ok;     /* the job may still be live (it must then report its run id) */
};

/* Keep the first problem found: it is the one that explains the others. */
static void verdict(struct outcome *o, const char *fmt, ...)
{
    if (strcmp(o->verdict, "ok") != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->verdict, sizeof o->verdict, fmt, ap);
    va_end(ap);
}

static void judge(struct outcome *o, const struct expect *e)
{
    snprintf(o->verdict, sizeof o->verdict, "ok");
    int terminal = hexrun_state_is_terminal(o->state) == 1;
    if (!terminal && !(e->live_ok && o->run_id[0]))
        verdict(o, "job not terminal (%s) and no run id", hexrun_state_name(o->state));
    if (o->runs_created > 1)
        verdict(o, "DUPLICATE: %d runs created", o->runs_created);
    if (e->runs >= 0 && o->runs_created != e->runs)
        verdict(o, "%d run(s) created, expected %d", o->runs_created, e->runs);
    /* No lost run: a run hexsim made is the job's run, or the job says it may exist. */
    if (o->runs_created == 1 && strcmp(o->run_id, o->sim_run_id) != 0 &&
        !(o->state == HEXRUN_STATE_SUBMIT_UNKNOWN && o->error_code == HEXRUN_E_OUTCOME_UNKNOWN))
        verdict(o, "LOST: run %s exists; job tracks '%s' and is %s", o->sim_run_id, o->run_id,
                hexrun_state_name(o->state));
    if (o->runs_created == 0 && o->run_id[0])
        verdict(o, "job claims run %s that hexsim never made", o->run_id);
    if (!(e->states & BIT(o->state)) && !(e->live_ok && !terminal))
        verdict(o, "unexpected state %s", hexrun_state_name(o->state));
    if (!(OK_STATES & BIT(o->state)) && o->state != HEXRUN_STATE_KILLED &&
        (o->error_code == 0 || o->error_msg[0] == '\0'))
        verdict(o, "%s without a last_error", hexrun_state_name(o->state));
    if (e->error_code && o->error_code != e->error_code)
        verdict(o, "last_error %s, expected %s", hexrun_strerror(o->error_code),
                hexrun_strerror(e->error_code));
    if (o->faulted < 1)
        verdict(o, "the faulted endpoint was never called");
}

static void print_row(const char *ep, const char *fault, const struct outcome *o)
{
    const char *err = o->error_code ? hexrun_strerror(o->error_code) : "-";
    printf("| %-14s | %-18s | %-22s | %-28.28s | %4d | %3d | %s |\n", ep, fault,
           hexrun_state_name(o->state), err, o->runs_created, o->attempts, o->verdict);
    if (o->error_code)
        printf("|   last_error: %.200s\n", o->error_msg);
    fflush(stdout);
}

static void finish_case(const char *ep, const char *fault, struct outcome *o,
                        const struct expect *e)
{
    judge(o, e);
    print_row(ep, fault, o);
    ck_assert_msg(strcmp(o->verdict, "ok") == 0, "%s x %s: %s (state %s, last_error %s)", ep, fault,
                  o->verdict, hexrun_state_name(o->state), o->error_msg);
}

/* ------------------------------------------------------------------------------------
 * The matrix: what each (endpoint, fault) may end in, and how a case is driven.
 * ---------------------------------------------------------------------------------- */

static struct expect expect_for(enum endpoint ep, enum effect fx)
{
    const unsigned done = OK_STATES;
    const unsigned done_or_unknown = done | BIT(HEXRUN_STATE_SUBMIT_UNKNOWN);
    switch (ep) {
    case EP_RUN:
        switch (fx) {
        case FX_REFUSED_RETRYABLE:
        case FX_SLOW_OK:
            return (struct expect){done, 0, 1, 0};
        case FX_REFUSED_5XX: /* a gateway's 5xx may follow the work: looked for, not
                              * repeated; here nothing was made, so none is found */
            return (struct expect){BIT(HEXRUN_STATE_SUBMIT_UNKNOWN), HEXRUN_E_OUTCOME_UNKNOWN, 0,
                                   0};
        case FX_NOT_SENT_BACK: /* the client cannot know that nothing was made */
            return (struct expect){
                BIT(HEXRUN_STATE_SUBMIT_UNKNOWN) | BIT(HEXRUN_STATE_SUBMIT_FAILED), 0, 0, 0};
        case FX_LATE:
        case FX_LOST_ANSWER: /* a run was made: tracked (adopted) or reported unknown */
            return (struct expect){done_or_unknown, 0, 1, 0};
        }
        break;
    case EP_STATUS: /* GETs are retried: every fault ends with the run completed */
        return (struct expect){done, 0, 1, 0};
    case EP_LIST: /* the lookup after a lost RunProject answer: retried, then adopted */
        if (fx == FX_LOST_ANSWER)
            return (struct expect){done_or_unknown, 0, 1, 0};
        return (struct expect){done, 0, 1, 0};
    case EP_CANCEL: /* DELETE is retried; a cancel that landed already is still KILLED */
        return (struct expect){BIT(HEXRUN_STATE_KILLED), 0, 1, 0};
    default:
        break;
    }
    return (struct expect){0, 0, 1, 0};
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arm the fault, submit and wait (for CancelRun the fault is armed once the run is live,
 * then the job is cancelled). */
static int64_t drive(enum endpoint ep, const struct fault_kind *k, const char **project,
                     struct outcome *o)
{
    int64_t job = -1;
    *project = ep == EP_CANCEL ? P_SLOW : P_OK;
    if (ep == EP_LIST) /* lose RunProject's answer so that the engine has to look */
        add_fault(EP_RUN, "\"kind\":\"drop_after\"");
    if (ep != EP_CANCEL)
        add_fault(ep, k->fields);
    ck_assert_int_eq(hexrun_submit(c, *project, NULL, NULL, &job), HEXRUN_OK);
    if (ep == EP_CANCEL) {
        int32_t s = api_wait_state(c, job, HEXRUN_STATE_RUNNING, 5000);
        ck_assert_msg(s == HEXRUN_STATE_RUNNING, "run not live before the cancel: %s",
                      hexrun_state_name(s));
        add_fault(ep, k->fields);
        ck_assert_int_eq(hexrun_cancel(c, job), HEXRUN_OK);
    }
    o->wait_rc = hexrun_wait(c, job, WAIT_MS, &o->state);
    return job;
}

START_TEST(fault_matrix)
{
    enum endpoint ep = (enum endpoint)(_i / N_KINDS);
    const struct fault_kind *k = &kinds[_i % N_KINDS];
    struct outcome o;
    memset(&o, 0, sizeof o);
    const char *project = NULL;
    int64_t t0 = mono_ms();
    int64_t job = drive(ep, k, &project, &o);
    /* A late answer's work lands after hexsim's delay: look only once hexsim has counted
     * every attempt the client gave up on, so that the count is final (and the request
     * cannot leak into the next case's world). */
    if (k->effect == FX_LATE)
        api_await(requests_of(endpoint_names[ep]) >= attempts_of(endpoint_names[ep]), 15000,
                  "hexsim to finish the %d %s request(s) the client made (it counts %d)",
                  attempts_of(endpoint_names[ep]), endpoint_names[ep],
                  requests_of(endpoint_names[ep]));
    observe(c, job, project, ep, &o);
    if (k->fired) /* the fault itself showed in hexsim's counters */
        o.faulted = api_requests(endpoint_names[ep], k->fired);
    struct expect e = expect_for(ep, k->effect);
    if (ep == EP_CANCEL && strcmp(o.sim_status, "KILLED") != 0)
        snprintf(o.verdict, sizeof o.verdict, "hexsim run is %s, not KILLED", o.sim_status);
    if (k->effect == FX_REFUSED_RETRYABLE && strstr(k->fields, "retry_after") &&
        e.states == OK_STATES && mono_ms() - t0 < 950)
        snprintf(o.verdict, sizeof o.verdict, "Retry-After: 1 not honoured");
    if (o.verdict[0]) { /* a case-specific failure wins over judge()'s "ok" */
        print_row(endpoint_names[ep], k->name, &o);
        ck_abort_msg("%s x %s: %s", endpoint_names[ep], k->name, o.verdict);
    }
    finish_case(endpoint_names[ep], k->name, &o, &e);
    ck_assert_int_eq(hexrun_job_release(c, job), HEXRUN_OK);
}
END_TEST

/* The token is revoked while the run is live: polls get 401. The job must say AUTH and
 * keep its run id (the run goes on in Hex; it is not lost), and no second run appears. */
START_TEST(token_revoked_mid_run)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(c, P_SLOW, NULL, NULL, &job), HEXRUN_OK);
    int32_t s = api_wait_state(c, job, HEXRUN_STATE_RUNNING, 5000);
    ck_assert_int_eq(s, HEXRUN_STATE_RUNNING);
    json_object_put(
        api_sim_call("POST", "/__sim/tokens/revoke", "{\"token\":\"" TOKEN_ADMIN "\"}"));
    o.wait_rc = hexrun_wait(c, job, 3000, &o.state);
    observe(c, job, P_SLOW, EP_STATUS, &o);
    /* Terminal or still live, the job must name the 401 and still report its run. */
    struct expect e = {0, HEXRUN_E_AUTH, 1, 1};
    for (int32_t st = 0; st <= HEXRUN_STATE_SUBMIT_UNKNOWN; st++)
        if (st != HEXRUN_STATE_COMPLETED && st != HEXRUN_STATE_SUBMIT_FAILED)
            e.states |= BIT(st);
    finish_case("GetRunStatus", "token revoked", &o, &e);
    ck_assert_str_eq(o.run_id, o.sim_run_id);
    ck_assert_int_ge(api_requests("GetRunStatus", "401"), 1);
    /* A direct call says AUTH too, with the status in the message. */
    char *out = NULL;
    ck_assert_int_eq(hexrun_run_get(c, P_SLOW, o.run_id, &out), HEXRUN_E_AUTH);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "401"));
    hexrun_free(out);
}
END_TEST

/* A port that was free a moment ago: connect() is refused. RunProject certainly did not
 * reach Hex, so the job fails cleanly (SUBMIT_FAILED, TRANSPORT) and hexsim made nothing. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(connection_refused)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    hexrun_client *off =
        api_client(TOKEN_ADMIN, (const char *[]){"base_url", url, "max_retries", "2", NULL});
    struct outcome o;
    memset(&o, 0, sizeof o);
    int64_t job = -1;
    ck_assert_int_eq(hexrun_submit(off, P_OK, NULL, NULL, &job), HEXRUN_OK);
    o.wait_rc = hexrun_wait(off, job, WAIT_MS, &o.state);
    observe(off, job, P_OK, EP_RUN, &o);
    o.faulted = 1; /* hexsim is not involved: the refusal is the fault */
    struct expect e = {BIT(HEXRUN_STATE_SUBMIT_FAILED), HEXRUN_E_TRANSPORT, 0, 0};
    finish_case("RunProject", "connection refused", &o, &e);
    ck_assert_int_eq(o.attempts, 3);
    ck_assert_int_eq(requests_of("RunProject"), 0);
    char *out = NULL;
    ck_assert_int_eq(hexrun_run_get(off, P_OK, P_OK, &out), HEXRUN_E_TRANSPORT);
    hexrun_free(out);
    hexrun_shutdown(off, HEXRUN_SHUTDOWN_DETACH);
}
END_TEST

/* RunProject's answer is dropped on a keep-alive connection the client already used.
 * libcurl, seeing a reused connection die before any answer, may send the request again
 * on a new one by itself: for RunProject that would start a second run behind the
 * engine's back. Exactly one run may exist. */
START_TEST(run_project_dropped_on_a_reused_connection)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    int64_t warm = -1, job = -1;
    int32_t s = -1;
    ck_assert_int_eq(hexrun_submit(c, P_OK, NULL, NULL, &warm), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(c, warm, WAIT_MS, &s), HEXRUN_OK);
    add_fault(EP_RUN, "\"kind\":\"drop_after\"");
    ck_assert_int_eq(hexrun_submit(c, P_ERR, NULL, NULL, &job), HEXRUN_OK);
    o.wait_rc = hexrun_wait(c, job, WAIT_MS, &o.state);
    observe(c, job, P_ERR, EP_RUN, &o);
    o.faulted = api_requests("RunProject", "0");
    struct expect e = {BIT(HEXRUN_STATE_ERRORED) | BIT(HEXRUN_STATE_SUBMIT_UNKNOWN), 0, 1, 0};
    finish_case("RunProject", "drop_after, reused", &o, &e);
}
END_TEST

/* The budget against Hex's fixed windows, in real time: hexsim allows 60 RunProjects a
 * minute and the client's budget says 60 a minute. 62 dry-run submits at once: 60 go,
 * the other two must wait for the next window, not be sent a second later into a 429.
 * The test waits for the 60th answer (an event, with a deadline well inside the minute),
 * not for a fixed time: RunProjects of one project go one at a time, so how long 60 take
 * depends on the machine's load. */
/* How many requests of an endpoint got a status, once there are want of them or when
 * deadline_ms of real time have passed, whichever comes first. */
static int wait_for_requests(const char *endpoint, const char *status, int want,
                             int64_t deadline_ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t end = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 + deadline_ms;
    int n = api_requests(endpoint, status);
    while (n < want) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 >= end)
            break;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        n = api_requests(endpoint, status);
    }
    return n;
}

START_TEST(run_budget_stays_inside_a_fixed_window)
{
    json_object_put(api_sim_call("POST", "/__sim/time_scale", "{\"scale\":1}"));
    json_object_put(api_sim_call("POST", "/__sim/limits",
                                 "{\"enabled\":true,\"run_per_min\":60,\"run_per_hour\":100000,"
                                 "\"api_per_min\":100000,\"api_per_hour\":1000000}"));
    hexrun_client *b =
        api_client(TOKEN_ADMIN, (const char *[]){"run_budget_per_min", "60", "run_budget_per_hour",
                                                 "0", "max_retries", "0", NULL});
    int64_t jobs[62];
    for (int i = 0; i < 62; i++)
        ck_assert_int_eq(hexrun_submit(b, P_OK, "{\"dryRun\":true}", NULL, &jobs[i]), HEXRUN_OK);
    int sent = wait_for_requests("RunProject", "201", 60, 25000);
    /* Then one of the last two must say it waits for the run budget: had the budget let
     * it go, hexsim would have answered it 429. */
    int held = 0;
    for (int tries = 0; !held && tries < 1000; tries++) {
        for (int i = 60; i < 62 && !held; i++) {
            json_object *info = api_job_info(b, jobs[i]);
            const char *why = api_str(info, "waiting_for");
            held = why && strstr(why, "the run budget") != NULL;
            json_object_put(info);
        }
        if (!held)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    sent = api_requests("RunProject", "201");
    int limited = api_requests("RunProject", "429");
    printf("| %-14s | %-18s | 201: %d, 429: %d in the window (Hex allows 60/min) | %s |\n",
           "RunProject", "budget 60/min", sent, limited, limited ? "FAIL" : "ok");
    fflush(stdout);
    hexrun_shutdown(b, HEXRUN_SHUTDOWN_DETACH);
    ck_assert_msg(limited == 0, "the budget sent %d RunProject(s) past the window's 60 (429)",
                  limited);
    ck_assert_int_eq(sent, 60);
    ck_assert_msg(held, "neither of the last two submits says it waits for the run budget");
}
END_TEST

int main(void)
{
    printf("| %-14s | %-18s | %-22s | %-28s | runs | att | verdict |\n", "endpoint", "fault",
           "final state", "last_error");
    printf("|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    Suite *s = suite_create("api_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_unchecked_fixture(tc, api_sim_start, api_sim_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, fault_matrix, 0, EP_COUNT * N_KINDS);
    tcase_add_test(tc, token_revoked_mid_run);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, run_project_dropped_on_a_reused_connection);
    tcase_add_test(tc, run_budget_stays_inside_a_fixed_window);
    suite_add_tcase(s, tc);
    return api_run_suite(s);
}
