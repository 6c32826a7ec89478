/*
 * check_oom - fail hexrun's i-th allocation, for every i, over a whole
 * config -> init -> submit two runs -> wait RUNNING -> cancel -> wait KILLED -> info ->
 * stats -> shutdown scenario against hexsim; then again with every allocation from the
 * i-th on failing (memory stays exhausted).
 *
 * Each i runs in a forked child built with AddressSanitizer: a crash, a leak
 * (LeakSanitizer at exit), a hang (alarm) or a call failing with anything but
 * HEXRUN_E_NOMEM fails that child, and the parent reports it. The loop ends at the first
 * i the scenario no longer reaches. Child exit codes are below.
 */
#include "hexrun.h"
#include "oom_wrap.h"
#include "simproc.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define P_SLOW "44444444-4444-4444-8444-444444444444"
#define TOKEN "hxtok_admin"
#define CHILD_ALARM_S 30
#define STATE_WAIT_MS 15000

enum child_exit {
    EXIT_NOMEM_SEEN = 0,   /* the failure surfaced as HEXRUN_E_NOMEM somewhere, cleanly */
    EXIT_ABSORBED = 10,    /* the failure was absorbed: every step still succeeded */
    EXIT_NOT_REACHED = 11, /* the scenario made fewer than i allocations */
    EXIT_BAD = 12,         /* a wrong result (message on stderr) */
    EXIT_HANG = 13         /* the alarm fired (stage on stderr) */
};

#define MAX_WORKERS 4

/* One hexsim per worker: a run that appears in a project is then always this child's own
 * (the adoption of a RunProject whose answer was lost must be able to tell). */
static hexsim_proc sims[MAX_WORKERS];
static const hexsim_proc *sim;      /* this child's */
static volatile sig_atomic_t stage; /* index into stage_names, for the hang report */
static const char *const stage_names[] = {"config",      "init", "submit", "wait-running", "cancel",
                                          "wait-killed", "info", "stats",  "shutdown",     "list"};
static int nomem_seen; /* a call returned HEXRUN_E_NOMEM or a job carried it */
static long armed;     /* this child's i, for messages */
static int persistent; /* every allocation from the i-th on fails, not just that one */

/* Enters a stage; with OOM_VERBOSE set, says when (to see where the time goes). */
static void set_stage(int s)
{
    stage = s;
    if (getenv("OOM_VERBOSE")) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        fprintf(stderr, "oom[%ld]: %ld.%03ld %s\n", armed, (long)t.tv_sec % 1000,
                t.tv_nsec / 1000000, stage_names[s]);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    char msg[96];
    int n = snprintf(msg, sizeof msg, "oom[%ld]: hang in stage %s\n", armed, stage_names[stage]);
    if (n > 0)
        (void)!write(2, msg, (size_t)n);
    _exit(EXIT_HANG);
}

/* Ends the child on a wrong result. LeakSanitizer does not run: the result is the bug. */
static void bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "oom[%ld] stage %s: ", armed, stage_names[stage]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    _exit(EXIT_BAD);
}

/*
 * A call's rc: OK, or NOMEM with a message that says so. Anything else is a bug.
 * Returns 1 for OK, 0 for NOMEM.
 */
static int ok_or_nomem(int rc, const char *what)
{
    if (rc == HEXRUN_OK)
        return 1;
    if (rc != HEXRUN_E_NOMEM)
        bad("%s returned %d (%s): %s", what, rc, hexrun_strerror(rc), hexrun_last_error());
    if (!strstr(hexrun_last_error(), "memory"))
        bad("%s gave NOMEM without an out-of-memory message: \"%s\"", what, hexrun_last_error());
    nomem_seen = 1;
    return 0;
}

/* The job's info JSON, asking again once if the first call is the one refused. NULL only
 * when memory stays exhausted. */
static char *job_info(hexrun_client *c, int64_t job)
{
    char *info = NULL;
    for (int attempt = 0; attempt < 2; attempt++)
        if (ok_or_nomem(hexrun_job_info(c, job, &info), "hexrun_job_info"))
            return info;
    if (!persistent)
        bad("hexrun_job_info failed twice with NOMEM, but only one allocation fails");
    return NULL;
}

/*
 * A job that ended other than by our cancel must say it ran out of memory: with
 * HEXRUN_E_NOMEM, or with HEXRUN_E_OUTCOME_UNKNOWN when the memory ran out after a
 * RunProject was sent (it may have started a run, so it is not sent again).
 */
static void expect_nomem_end(hexrun_client *c, int64_t job, int32_t st)
{
    char *info = job_info(c, job);
    nomem_seen = 1;
    if (!info)
        return; /* memory stays exhausted: the info cannot be had, the job did end */
    /* With memory exhausted the message itself may be missing. */
    int unknown = strstr(info, "\"code\":-17") && (persistent || strstr(info, "out of memory"));
    if (!strstr(info, "\"code\":-2") && !unknown)
        bad("job ended %s without a NOMEM last_error: %s", hexrun_state_name(st), info);
    hexrun_free(info);
}

/*
 * Waits (bounded) until the job is terminal or, if want_running, RUNNING. A wait refused
 * with NOMEM is asked again: only one allocation fails. Returns the state.
 */
static int32_t wait_state(hexrun_client *c, int64_t job, int want_running)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int32_t st = -1;
        int rc = hexrun_wait(c, job, want_running ? 20 : 200, &st);
        if (rc != HEXRUN_E_TIMEOUT && ok_or_nomem(rc, "hexrun_wait") && st < 0)
            bad("hexrun_wait returned OK without a state");
        if (rc == HEXRUN_E_TIMEOUT || rc == HEXRUN_E_NOMEM)
            if (hexrun_poll(c, job, &st) != HEXRUN_OK)
                bad("hexrun_poll: %s", hexrun_last_error());
        if (hexrun_state_is_terminal(st) == 1 || (want_running && st == HEXRUN_STATE_RUNNING))
            return st;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > STATE_WAIT_MS)
            bad("job still %s after %d ms", hexrun_state_name(st), STATE_WAIT_MS);
    }
}

/* The configuration, or NULL after a clean NOMEM. */
static hexrun_config *make_config(void)
{
    hexrun_config *cfg = NULL;
    set_stage(0);
    if (!ok_or_nomem(hexrun_config_new(&cfg), "hexrun_config_new"))
        return NULL;
    const char *kv[] = {"base_url", sim->base_url, "token", TOKEN, "poll_min_ms", "10",
                        "poll_max_ms", "100", "retry_base_ms", "10", "retry_max_ms", "200",
                        "timeout_ms", "5000", "log_level", "debug",
                        /* no client-side budget: hexsim's limits are off, and pacing would
                         * only make each of the hundreds of iterations slower */
                        "run_budget_per_min", "0", "run_budget_per_hour", "0", "api_budget_per_min",
                        "0", "api_budget_per_hour", "0", NULL};
    for (const char *const *p = kv; *p; p += 2)
        if (!ok_or_nomem(hexrun_config_set(cfg, p[0], p[1]), "hexrun_config_set")) {
            hexrun_config_free(cfg);
            return NULL;
        }
    return cfg;
}

/* Log lines go nowhere: formatting them still allocates, which is what we want to fail. */
static void quiet_log(int32_t level, const char *message, void *user_data)
{
    (void)level, (void)message, (void)user_data;
}

/* Cancels (asking again after a refused call) and waits for the end. */
static void cancel_and_wait(hexrun_client *c, int64_t job)
{
    set_stage(4);
    int rc = hexrun_cancel(c, job);
    if (rc == HEXRUN_E_NOMEM) {
        ok_or_nomem(rc, "hexrun_cancel");
        rc = hexrun_cancel(c, job);
    }
    int32_t st = -1;
    if (rc == HEXRUN_E_STATE && hexrun_poll(c, job, &st) == HEXRUN_OK &&
        hexrun_state_is_terminal(st) == 1) {
        expect_nomem_end(c, job, st); /* it ended between our wait and the cancel */
        return;
    }
    ok_or_nomem(rc, "hexrun_cancel");
    if (rc != HEXRUN_OK && !persistent)
        bad("hexrun_cancel failed twice, but only one allocation fails");
    set_stage(5);
    st = wait_state(c, job, 0);
    if (st != HEXRUN_STATE_KILLED)
        expect_nomem_end(c, job, st);
}

/* Direct calls: one page of runs, then every page of the (few) PENDING ones. */
static void list_runs(hexrun_client *c)
{
    set_stage(9);
    for (uint32_t flags = 0; flags < 2; flags++) {
        char *out = NULL;
        int rc = hexrun_runs_list(c, P_SLOW, flags ? "PENDING" : NULL, "API", 2, 0,
                                  flags ? HEXRUN_LIST_ALL_PAGES : HEXRUN_LIST_ONE_PAGE, &out);
        if (ok_or_nomem(rc, "hexrun_runs_list") && !strstr(out, "\"runs\""))
            bad("hexrun_runs_list gave no runs: %s", out);
        hexrun_free(out);
    }
}

/*
 * The scenario after init: two runs of one project (so their polls are coalesced), one
 * with options and an idempotency key; each waited RUNNING, cancelled, waited KILLED;
 * a list of runs; then info, stats, release.
 */
#define N_JOBS 2
static void run_jobs(hexrun_client *c)
{
    static const char *const options[N_JOBS] = {NULL, "{\"useCachedSqlResults\":true}"};
    static const char *const keys[N_JOBS] = {NULL, "oom-idempotency-key"};
    int64_t jobs[N_JOBS];
    int n = 0;
    set_stage(2);
    for (int k = 0; k < N_JOBS; k++)
        if (ok_or_nomem(hexrun_submit(c, P_SLOW, options[k], keys[k], &jobs[n]), "hexrun_submit"))
            n++;
    for (int k = 0; k < n; k++) {
        set_stage(3);
        int32_t st = wait_state(c, jobs[k], 1);
        if (st == HEXRUN_STATE_RUNNING)
            cancel_and_wait(c, jobs[k]);
        else
            expect_nomem_end(c, jobs[k], st);
    }
    list_runs(c);
    for (int k = 0; k < n; k++) {
        set_stage(6);
        hexrun_free(job_info(c, jobs[k]));
        set_stage(7);
        char *stats = NULL;
        if (ok_or_nomem(hexrun_stats(c, &stats), "hexrun_stats")) {
            if (getenv("OOM_VERBOSE") && k == n - 1)
                fprintf(stderr, "oom[%ld]: stats %s\n", armed, stats);
            hexrun_free(stats);
        }
        if (hexrun_job_release(c, jobs[k]) != HEXRUN_OK)
            bad("hexrun_job_release: %s", hexrun_last_error());
    }
}

/* One child: allocation number i fails. Returns the exit code (LeakSanitizer runs after). */
static int child(long i)
{
    armed = i;
    signal(SIGALRM, on_alarm);
    alarm(CHILD_ALARM_S);
    oom_arm(i, persistent);
    hexrun_config *cfg = make_config();
    if (cfg) {
        if (hexrun_config_set_log(cfg, quiet_log, NULL) != HEXRUN_OK)
            bad("hexrun_config_set_log: %s", hexrun_last_error());
        set_stage(1);
        hexrun_client *c = NULL;
        int rc = hexrun_init(cfg, &c);
        hexrun_config_free(cfg);
        if (ok_or_nomem(rc, "hexrun_init")) {
            run_jobs(c);
            set_stage(8);
            rc = hexrun_shutdown(c, HEXRUN_SHUTDOWN_DEFAULT);
            if (rc != HEXRUN_OK)
                ok_or_nomem(rc, "hexrun_shutdown");
        }
    }
    alarm(0);
    if (getenv("OOM_VERBOSE"))
        fprintf(stderr, "oom[%ld]: %ld allocations\n", i, oom_count());
    if (oom_failed() == 0)
        return EXIT_NOT_REACHED;
    return nomem_seen ? EXIT_NOMEM_SEEN : EXIT_ABSORBED;
}

/* Parent side: what each child's end means. */
typedef struct tally {
    long exercised, nomem, absorbed, failed, not_reached;
    long first_not_reached, last_reached;
} tally;

/* The scenario's allocation count varies a little with timing (polls, retries), so the
 * loop goes on this far past the last i that was reached. */
#define TAIL 30

static void record(tally *t, long i, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == EXIT_NOT_REACHED) {
        t->not_reached++;
        if (!t->first_not_reached || i < t->first_not_reached)
            t->first_not_reached = i;
        return;
    }
    t->exercised++;
    if (i > t->last_reached)
        t->last_reached = i;
    if (code == EXIT_NOMEM_SEEN)
        t->nomem++;
    else if (code == EXIT_ABSORBED)
        t->absorbed++;
    else {
        t->failed++;
        if (WIFSIGNALED(status))
            fprintf(stderr, "oom[%ld]: FAIL: killed by signal %d\n", i, WTERMSIG(status));
        else
            fprintf(stderr, "oom[%ld]: FAIL: exit %d%s\n", i, code,
                    code == EXIT_BAD ? "" : " (see the sanitizer's report above)");
    }
}

typedef struct slot {
    pid_t pid;
    long i;
} slot;

static int leak_on_purpose; /* the self-check below */
void *volatile leaked_on_purpose;

static pid_t spawn(int worker, long i)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sim = &sims[worker];
        int code = child(i);
        if (leak_on_purpose) {
            leaked_on_purpose = malloc(64);
            leaked_on_purpose = NULL; /* the only pointer to it is gone */
        }
        exit(code);
    }
    return pid;
}

/* Runs i = 1, 2, ... in `workers` parallel children until one no longer reaches i. */
static void run_all(tally *t, int workers, long max_i)
{
    slot slots[MAX_WORKERS] = {{0}};
    long next = 1;
    int running = 0, stop = 0;
    for (int k = 0; k < workers; k++) {
        slots[k] = (slot){spawn(k, next), next};
        next++, running++;
    }
    while (running > 0) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        for (int k = 0; k < workers; k++) {
            if (slots[k].pid != pid)
                continue;
            record(t, slots[k].i, status);
            if ((t->not_reached && next > t->last_reached + TAIL) || next > max_i)
                stop = 1;
            if (stop) {
                slots[k].pid = 0, running--;
            } else {
                slots[k] = (slot){spawn(k, next), next};
                next++;
            }
            if (slots[k].i % 100 == 0 && slots[k].pid)
                printf("oom: at allocation %ld\n", slots[k].i);
        }
    }
}

/* The harness can fail: a child that leaks 64 bytes must be caught. */
static int leak_is_caught(void)
{
    printf("oom: self-check: a child leaks 64 bytes on purpose; its LeakSanitizer report "
           "follows\n");
    leak_on_purpose = 1;
    int status;
    waitpid(spawn(0, 1), &status, 0);
    leak_on_purpose = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code <= 0 || code == EXIT_ABSORBED || code == EXIT_NOT_REACHED || code == EXIT_BAD ||
        code == EXIT_HANG) {
        fprintf(stderr, "oom: FAIL: a child that leaks was not caught (status %d)\n", status);
        return 0;
    }
    printf("oom: self-check passed: a child that leaks on purpose fails (exit %d)\n", code);
    return 1;
}

/* One pass over every i: only the i-th allocation fails (mode 0), or every allocation from
 * the i-th on (mode 1, memory stays exhausted). Returns 1 on any failure. */
static int run_mode(int mode, int workers, long max_i)
{
    persistent = mode;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tally t = {0};
    run_all(&t, workers, max_i);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("oom: %s: %ld allocation points exercised (the scenario makes ~%ld allocations) "
           "in %ld s: %ld clean HEXRUN_E_NOMEM, %ld absorbed (every step still succeeded), "
           "%ld FAILED\n",
           mode ? "every allocation from the i-th on fails" : "only the i-th allocation fails",
           t.exercised, t.last_reached, (long)(t1.tv_sec - t0.tv_sec), t.nomem, t.absorbed,
           t.failed);
    if (!t.not_reached) {
        fprintf(stderr, "oom: FAIL: OOM_MAX=%ld reached before the scenario's end\n", max_i);
        return 1;
    }
    return t.failed || t.exercised == 0 || t.nomem == 0;
}

/* Starts hexsim number k with its rate limits off. */
static int sim_start(int k)
{
    const char *args[] = {"--time-scale", "20", NULL};
    if (hexsim_proc_start(&sims[k], args) != 0)
        return -1;
    char *body = NULL;
    int status =
        hexsim_proc_call(&sims[k], "POST", "/__sim/limits", NULL, "{\"enabled\":false}", &body);
    free(body);
    if (status != 200)
        fprintf(stderr, "oom: cannot turn hexsim's rate limits off\n");
    return status == 200 ? 0 : -1;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *w = getenv("OOM_WORKERS"), *m = getenv("OOM_MAX");
    int workers = w ? atoi(w) : 2;
    long max_i = m ? atol(m) : 100000;
    if (workers < 1 || workers > MAX_WORKERS)
        workers = 2;
    int started = 0;
    while (started < workers && sim_start(started) == 0)
        started++;
    if (started < workers) {
        for (int k = 0; k <= started && k < workers; k++)
            hexsim_proc_stop(&sims[k]);
        return 2;
    }
    int failed = !leak_is_caught();
    const char *only = getenv("OOM_ONLY"), *pers = getenv("OOM_PERSISTENT");
    if (only) { /* to debug one allocation point */
        persistent = pers && atoi(pers);
        int status;
        waitpid(spawn(0, atol(only)), &status, 0);
        tally t = {0};
        record(&t, atol(only), status);
        failed |= t.failed > 0;
    } else {
        failed |= run_mode(0, workers, max_i);
        failed |= run_mode(1, workers, max_i);
    }
    for (int k = 0; k < workers; k++)
        hexsim_proc_stop(&sims[k]);
    return failed;
}
