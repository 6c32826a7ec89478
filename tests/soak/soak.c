/*
 * soak - N runs through one hexrun client against hexsim with its rate limits on and ~10%
 * injected faults on the run endpoints (issue 7, item 5).
 *
 *   soak N [--window W] [--scale K] [--faults P] [--after-work N]
 *
 * Rate limits: hexsim runs with --rate-limits (Hex's limits: RunProject 20/min and 60/h,
 * the rest 30/min and 1800/h, per token, in fixed windows of hexsim time) and its clock K
 * times faster (--time-scale K); the client's budget keys are Hex's numbers 5% under with
 * budget_time_scale=K, so both sides count the same (scaled) minute and hour. Hex's 60
 * runs an hour make 10,000 runs last 10,000 / 57 hexsim hours: about 11 min at K = 1000.
 * The budget keeps a margin of at least 250 ms of real time per window (budget.h), so a
 * request delayed by the scheduler of a loaded machine still lands inside hexsim's 60 ms
 * minute: 0 429s is asserted, not hoped for.
 *
 * --after-work N: hexsim's variant switch run_project_after_work, every N-th RunProject
 * that made a run answers 504 (a gateway after the work): the job must find its run.
 *
 * Keeps W jobs live at once (hexrun_wait_any over the window; a finished job is recorded,
 * released and replaced). Every 20th job goes to the long project and is cancelled once it
 * runs, so CancelRun is exercised too. At the end it checks, and exits 1 on any failure:
 *  - zero lost: every job reached a terminal state within 120 s of leaving the queue (and
 *    something finished at least every 120 s), none ended LOST;
 *  - zero duplicated, zero untracked: the tracked run ids are distinct, each exists in
 *    hexsim, and every run hexsim made is tracked by a job (hexrun alone on the token sends
 *    one RunProject of a project at a time, so a lost answer has one candidate run); a job
 *    ends SUBMIT_UNKNOWN only when no run appeared (each is explained by its RunProject
 *    failure in the output);
 *  - zero 429s in hexsim's counters (the soak injects no 429, so any is a real limit hit);
 *  - RSS (VmRSS) flat: end <= middle * 1.25 + 4 MiB (after the same work was released).
 * hexsim comes from $HEXSIM_BIN through tests/support/simproc, like the API suites, with
 * their scenario (hexsim/scenarios/test.json).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hexrun.h"
#include "simproc.h"

#define P_OK "11111111-1111-4111-8111-111111111111"
#define P_ERR "22222222-2222-4222-8222-222222222222"
#define P_KERNEL "33333333-3333-4333-8333-333333333333"
#define P_SLOW "44444444-4444-4444-8444-444444444444"
#define P_MIX "66666666-6666-4666-8666-666666666666"
#define TOKEN "hxtok_admin"
#define JOB_DEADLINE_MS 120000 /* a job still live this long after its submit is lost */

static const char *const projects[] = {P_OK, P_MIX, P_ERR, P_KERNEL};

struct options {
    long runs;
    int window;
    int scale;
    double faults;
    int after_work;
};

/* One live job of the window. */
struct slot {
    int64_t job; /* -1 = free */
    long index;  /* submit number */
    int64_t start_ms;
    int cancel_when_live;
};

/* Why a job ended SUBMIT_UNKNOWN: the RunProject failure its last_error names. */
enum unknown_cause { UC_500, UC_502, UC_504, UC_DROPPED, UC_TIMEOUT, UC_OTHER, UC_COUNT };
static const char *const unknown_causes[UC_COUNT] = {
    "HTTP 500", "HTTP 502", "HTTP 504", "connection closed, no answer", "timeout", "other"};

/* What the soak counts and keeps to check duplicates at the end. */
struct tally {
    long unknown_by_cause[UC_COUNT];
    long unknown_with_runs; /* SUBMIT_UNKNOWN although runs appeared (ambiguous) */
    long by_state[HEXRUN_STATE_SUBMIT_UNKNOWN + 1];
    long lost; /* not terminal by the deadline */
    long cancels_sent;
    char **run_ids;  /* per submit: the run the job tracked, or NULL */
    long rss_kib[3]; /* start, middle, end */
};

static hexsim_proc sim;
static int failures;

static void fail(const char *what, long value)
{
    printf("FAIL: %s (%ld)\n", what, value);
    failures++;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* A /__sim/ call that must succeed; the parsed answer (put it) or NULL for an empty one. */
static json_object *sim_call(const char *method, const char *path, const char *body)
{
    char *out = NULL;
    int status = hexsim_proc_call(&sim, method, path, NULL, body, &out);
    if (status < 200 || status >= 300) {
        fprintf(stderr, "soak: %s %s: HTTP %d %s\n", method, path, status, out ? out : "");
        hexsim_proc_stop(&sim);
        exit(2);
    }
    json_object *o = out && out[0] ? json_tokener_parse(out) : NULL;
    free(out);
    return o;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.runs = 0, .window = 200, .scale = 1000, .faults = 0.10};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            o->window = atoi(argv[++i]);
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            o->scale = atoi(argv[++i]);
        else if (strcmp(argv[i], "--faults") == 0 && i + 1 < argc)
            o->faults = atof(argv[++i]);
        else if (strcmp(argv[i], "--after-work") == 0 && i + 1 < argc)
            o->after_work = atoi(argv[++i]);
        else if (o->runs == 0)
            o->runs = atol(argv[i]);
        else
            return -1;
    }
    return o->runs > 0 && o->window > 0 && o->scale > 0 && o->faults >= 0 && o->faults < 1 &&
                   o->after_work >= 0
               ? 0
               : -1;
}

/* ------------------------------------------------------------------------------------
 * Setup: faults spread over the run endpoints and kinds, and a client with the budget
 * of Hex's limits scaled to hexsim's clock.
 * ---------------------------------------------------------------------------------- */

/* No 429 among them: every 429 in the counters must then come from hexsim's limits. */
static const struct {
    const char *fields;
    int weight;
} soak_faults[] = {
    {"\"kind\":\"status\",\"status\":500", 3},
    {"\"kind\":\"status\",\"status\":502", 2},
    {"\"kind\":\"status\",\"status\":503", 3},
    /* hexsim sleeps before its rate check, so a delay moves the request's count later:
     * keep it small next to a scaled minute (60 ms at K = 1000). */
    {"\"kind\":\"delay\",\"delay_ms\":2", 1},
    {"\"kind\":\"drop_before\"", 2},
    {"\"kind\":\"drop_after\"", 2},
    {"\"kind\":\"truncate\"", 2},
    {"\"kind\":\"malformed\"", 2},
    {"\"kind\":\"slow_body\",\"delay_ms\":1", 1},
    {"\"kind\":\"oversize\",\"bytes\":1048576", 2},
};
#define N_SOAK_FAULTS (sizeof soak_faults / sizeof soak_faults[0])

static void arm_faults(double total)
{
    static const char *const endpoints[] = {"RunProject", "GetRunStatus", "GetProjectRuns",
                                            "CancelRun"};
    int weights = 0;
    for (size_t k = 0; k < N_SOAK_FAULTS; k++)
        weights += soak_faults[k].weight;
    char body[8192];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"faults\":[");
    for (size_t e = 0; e < 4; e++)
        for (size_t k = 0; k < N_SOAK_FAULTS; k++)
            n += (size_t)snprintf(body + n, sizeof body - n,
                                  "%s{\"endpoint\":\"%s\",%s,\"probability\":%.5f}",
                                  e + k ? "," : "", endpoints[e], soak_faults[k].fields,
                                  total * soak_faults[k].weight / weights);
    snprintf(body + n, sizeof body - n, "]}");
    json_object_put(sim_call("POST", "/__sim/faults", body));
}

/* Hex's numbers a bit under, so that jitter between our clock and hexsim's never tips a
 * window over. */
static void under(char *out, size_t len, long hex_number)
{
    snprintf(out, len, "%ld", (long)((double)hex_number * 0.95));
}

static hexrun_client *soak_client(int scale)
{
    char rpm[32], rph[32], apm[32], aph[32], ts[32];
    under(rpm, sizeof rpm, 20);
    under(rph, sizeof rph, 60);
    under(apm, sizeof apm, 30);
    under(aph, sizeof aph, 1800);
    snprintf(ts, sizeof ts, "%d", scale);
    const char *kv[] = {"base_url",
                        sim.base_url,
                        "token",
                        TOKEN,
                        "poll_min_ms",
                        "20",
                        "poll_max_ms",
                        "200",
                        "retry_base_ms",
                        "10",
                        "retry_max_ms",
                        "500",
                        "timeout_ms",
                        "2000",
                        "max_retries",
                        "6",
                        "max_response_bytes",
                        "262144",
                        "log_level",
                        "error",
                        "run_budget_per_min",
                        rpm,
                        "run_budget_per_hour",
                        rph,
                        "api_budget_per_min",
                        apm,
                        "api_budget_per_hour",
                        aph,
                        "budget_time_scale",
                        ts,
                        NULL};
    printf("client budget: run %s/min %s/h, api %s/min %s/h, budget_time_scale %s\n", rpm, rph, apm,
           aph, ts);
    hexrun_config *cfg = NULL;
    hexrun_client *c = NULL;
    if (hexrun_config_new(&cfg) != HEXRUN_OK)
        return NULL;
    for (const char *const *p = kv; *p; p += 2)
        if (hexrun_config_set(cfg, p[0], p[1]) != HEXRUN_OK) {
            fprintf(stderr, "soak: %s: %s\n", p[0], hexrun_last_error());
            hexrun_config_free(cfg);
            return NULL;
        }
    if (hexrun_init(cfg, &c) != HEXRUN_OK)
        fprintf(stderr, "soak: init: %s\n", hexrun_last_error());
    hexrun_config_free(cfg);
    return c;
}

/* ------------------------------------------------------------------------------------
 * The run: keep the window full, record and release what finishes.
 * ---------------------------------------------------------------------------------- */

static void submit_one(hexrun_client *c, long index, struct slot *s)
{
    char key[32];
    snprintf(key, sizeof key, "soak-%ld", index);
    int slow = index % 20 == 19; /* the long project: cancelled once it runs */
    const char *project = slow ? P_SLOW : projects[index % 4];
    if (hexrun_submit(c, project, NULL, key, &s->job) != HEXRUN_OK) {
        fprintf(stderr, "soak: submit %ld: %s\n", index, hexrun_last_error());
        exit(2);
    }
    s->index = index;
    s->start_ms = mono_ms();
    s->cancel_when_live = slow;
}

/* A SUBMIT_UNKNOWN job's story: what its RunProject got, and what the lookups found. The
 * only acceptable one with hexrun alone on the token: no run appeared. */
static void explain_unknown(const char *msg, long index, struct tally *t)
{
    enum unknown_cause cause = strstr(msg, "HTTP 500")      ? UC_500
                               : strstr(msg, "HTTP 502")    ? UC_502
                               : strstr(msg, "HTTP 504")    ? UC_504
                               : strstr(msg, "Empty reply") ? UC_DROPPED
                               : strstr(msg, "timed out")   ? UC_TIMEOUT
                                                            : UC_OTHER;
    t->unknown_by_cause[cause]++;
    if (!strstr(msg, ": 0 API run(s) of the project appeared")) {
        t->unknown_with_runs++;
        fprintf(stderr, "soak: submit %ld ended SUBMIT_UNKNOWN although runs appeared: %s\n", index,
                msg);
    }
}

/* Keep the run id the job ended with (for the duplicate check), then forget the job. */
static void record(hexrun_client *c, struct slot *s, int32_t state, struct tally *t)
{
    char *info = NULL;
    if (hexrun_job_info(c, s->job, &info) == HEXRUN_OK) {
        json_object *o = json_tokener_parse(info);
        json_object *run = get(o, "run_id");
        if (run && json_object_is_type(run, json_type_string))
            t->run_ids[s->index] = strdup(json_object_get_string(run));
        json_object *msg = get(get(o, "last_error"), "message");
        if (state == HEXRUN_STATE_SUBMIT_UNKNOWN)
            explain_unknown(msg ? json_object_get_string(msg) : "", s->index, t);
        json_object_put(o);
    }
    hexrun_free(info);
    if (state >= 0 && state <= HEXRUN_STATE_SUBMIT_UNKNOWN)
        t->by_state[state]++;
    hexrun_job_release(c, s->job);
    s->job = -1;
}

/* Cancel long runs once they are live, and give up on jobs past their deadline (counted
 * after the budget let them go), or on every live job when nothing finished for that long
 * (stalled: even a queue that never drains is caught). */
static long sweep(hexrun_client *c, struct slot *slots, int window, int stalled, struct tally *t)
{
    long gone = 0;
    int64_t now = mono_ms();
    for (int i = 0; i < window; i++) {
        struct slot *s = &slots[i];
        int32_t state = -1;
        if (s->job < 0 || hexrun_poll(c, s->job, &state) != HEXRUN_OK)
            continue;
        if (s->cancel_when_live && state == HEXRUN_STATE_RUNNING) {
            if (hexrun_cancel(c, s->job) == HEXRUN_OK)
                t->cancels_sent++;
            s->cancel_when_live = 0;
        }
        if (state == HEXRUN_STATE_QUEUED) /* waiting for budget is not being stuck */
            s->start_ms = now;
        if (now - s->start_ms > JOB_DEADLINE_MS || stalled) {
            fprintf(stderr, "soak: job of submit %ld still %s after %d ms%s\n", s->index,
                    hexrun_state_name(state), JOB_DEADLINE_MS, stalled ? " (stalled)" : "");
            t->lost++;
            record(c, s, -1, t);
            gone++;
        }
    }
    return gone;
}

static void run_all(hexrun_client *c, const struct options *o, struct tally *t)
{
    struct slot *slots = calloc((size_t)o->window, sizeof *slots);
    int64_t *ids = calloc((size_t)o->window, sizeof *ids);
    int *where = calloc((size_t)o->window, sizeof *where);
    long next = 0, done = 0;
    for (int i = 0; i < o->window; i++) {
        slots[i].job = -1;
        if (next < o->runs)
            submit_one(c, next++, &slots[i]);
    }
    int64_t last_sweep = mono_ms(), last_done = mono_ms();
    while (done < o->runs) {
        uint32_t n = 0;
        for (int i = 0; i < o->window; i++) {
            if (slots[i].job < 0 && next < o->runs) /* refill what the sweep freed */
                submit_one(c, next++, &slots[i]);
            if (slots[i].job >= 0) {
                ids[n] = slots[i].job;
                where[n++] = i;
            }
        }
        int64_t job = -1;
        int32_t state = -1;
        if (n > 0 && hexrun_wait_any(c, ids, n, 20, &job, &state) == HEXRUN_OK) {
            for (uint32_t k = 0; k < n; k++)
                if (ids[k] == job) {
                    struct slot *s = &slots[where[k]];
                    record(c, s, state, t);
                    done++;
                    last_done = mono_ms();
                    if (next < o->runs)
                        submit_one(c, next++, s);
                    break;
                }
        }
        if (mono_ms() - last_sweep >= 10) {
            done += sweep(c, slots, o->window, mono_ms() - last_done > JOB_DEADLINE_MS, t);
            last_sweep = mono_ms();
        }
        if (t->rss_kib[1] == 0 && done >= o->runs / 2) {
            t->rss_kib[1] = rss_kib();
            printf("middle: %ld done, RSS %ld KiB\n", done, t->rss_kib[1]);
            fflush(stdout);
        }
    }
    free(slots);
    free(ids);
    free(where);
}

/* ------------------------------------------------------------------------------------
 * Checks against hexsim's own records.
 * ---------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int in_sorted(char **list, size_t n, const char *s)
{
    return bsearch(&s, list, n, sizeof *list, cmp_str) != NULL;
}

/* Every run hexsim made, sorted (strings owned by the caller's array). */
static size_t sim_runs(char ***out, long *created)
{
    size_t n = 0, cap = 1024;
    char **ids = malloc(cap * sizeof *ids);
    *created = 0;
    const char *all[] = {P_OK, P_MIX, P_ERR, P_KERNEL, P_SLOW};
    for (size_t p = 0; p < sizeof all / sizeof all[0]; p++) {
        char path[128];
        snprintf(path, sizeof path, "/__sim/runs?projectId=%s", all[p]);
        json_object *r = sim_call("GET", path, NULL);
        json_object *count = get(get(r, "created_per_project"), all[p]);
        *created += count ? json_object_get_int(count) : 0;
        json_object *list = get(r, "runs");
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
            if (n == cap)
                ids = realloc(ids, (cap *= 2) * sizeof *ids);
            json_object *id = get(json_object_array_get_idx(list, i), "runId");
            ids[n++] = strdup(json_object_get_string(id));
        }
        json_object_put(r);
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    *out = ids;
    return n;
}

static void check_duplicates(const struct options *o, struct tally *t)
{
    char **made = NULL;
    long created = 0;
    size_t n_made = sim_runs(&made, &created);
    char **tracked = malloc((size_t)o->runs * sizeof *tracked);
    size_t n_tracked = 0;
    for (long i = 0; i < o->runs; i++)
        if (t->run_ids[i])
            tracked[n_tracked++] = t->run_ids[i];
    qsort(tracked, n_tracked, sizeof *tracked, cmp_str);
    long repeated = 0, unknown_to_sim = 0;
    for (size_t i = 0; i < n_tracked; i++) {
        if (i > 0 && strcmp(tracked[i], tracked[i - 1]) == 0)
            repeated++;
        if (!in_sorted(made, n_made, tracked[i]))
            unknown_to_sim++;
    }
    long untracked = (long)n_made - ((long)n_tracked - repeated - unknown_to_sim);
    printf("runs: hexsim created %ld (listed %zu), jobs tracked %zu, untracked %ld, "
           "SUBMIT_UNKNOWN jobs %ld\n",
           created, n_made, n_tracked, untracked, t->by_state[HEXRUN_STATE_SUBMIT_UNKNOWN]);
    printf("untracked runs: %ld\n", untracked);
    printf("SUBMIT_UNKNOWN by RunProject failure (no run appeared in the lookups):");
    for (int k = 0; k < UC_COUNT; k++)
        if (t->unknown_by_cause[k])
            printf(" %s %ld;", unknown_causes[k], t->unknown_by_cause[k]);
    printf(" with runs that appeared %ld\n", t->unknown_with_runs);
    if (repeated)
        fail("two jobs tracked the same run", repeated);
    if (unknown_to_sim)
        fail("jobs tracked runs hexsim never made", unknown_to_sim);
    if ((size_t)created != n_made)
        fail("hexsim's created count differs from its run list", created);
    if (created > o->runs)
        fail("more runs than submits", created);
    /* hexrun alone on the token, one RunProject of a project at a time: every run hexsim
     * made is tracked by its job, and a job ends SUBMIT_UNKNOWN only when no run appeared. */
    if (untracked > 0)
        fail("runs no job tracks (untracked)", untracked);
    if (t->unknown_with_runs > 0)
        fail("SUBMIT_UNKNOWN although runs appeared (ambiguous adoption)", t->unknown_with_runs);
    for (size_t i = 0; i < n_made; i++)
        free(made[i]);
    free(made);
    free(tracked);
}

/* Sum of one status over every endpoint in hexsim's counters. */
static long sim_status_count(const char *status, long *total)
{
    json_object *c = sim_call("GET", "/__sim/counters", NULL);
    long sum = 0;
    json_object_object_foreach(get(c, "requests"), ep, by)
    {
        (void)ep;
        json_object *n = get(by, status);
        sum += n ? json_object_get_int(n) : 0;
    }
    *total = json_object_get_int64(get(c, "total"));
    json_object_put(c);
    return sum;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: soak N [--window W] [--scale K] [--faults P] [--after-work N]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char scale[16];
    snprintf(scale, sizeof scale, "%d", o.scale);
    const char *args[] = {"--time-scale", scale, "--rate-limits", "--seed", "7", NULL};
    if (hexsim_proc_start(&sim, args) != 0)
        return 2;
    arm_faults(o.faults);
    if (o.after_work > 0) {
        char variant[128];
        snprintf(variant, sizeof variant,
                 "{\"run_project_after_work\":{\"status\":504,\"every\":%d}}", o.after_work);
        json_object_put(sim_call("POST", "/__sim/variant", variant));
    }
    hexrun_client *c = soak_client(o.scale);
    if (!c) {
        hexsim_proc_stop(&sim);
        return 2;
    }
    struct tally t;
    memset(&t, 0, sizeof t);
    t.run_ids = calloc((size_t)o.runs, sizeof *t.run_ids);
    t.rss_kib[0] = rss_kib();
    printf("soak: %ld runs, window %d, hexsim clock x%d, faults %.0f%%, 504 after the work "
           "every %d RunProjects (0 = off); start RSS %ld KiB\n",
           o.runs, o.window, o.scale, o.faults * 100, o.after_work, t.rss_kib[0]);

    int64_t t0 = mono_ms();
    run_all(c, &o, &t);
    double secs = (double)(mono_ms() - t0) / 1000.0;
    t.rss_kib[2] = rss_kib();

    printf("done: %ld runs in %.1f s (%.1f runs/s), %ld cancels sent\n", o.runs, secs,
           (double)o.runs / secs, t.cancels_sent);
    for (int s = 0; s <= HEXRUN_STATE_SUBMIT_UNKNOWN; s++)
        if (t.by_state[s])
            printf("  %-26s %ld\n", hexrun_state_name(s), t.by_state[s]);
    printf("RSS KiB: start %ld, middle %ld, end %ld\n", t.rss_kib[0], t.rss_kib[1], t.rss_kib[2]);
    char *stats = NULL;
    if (hexrun_stats(c, &stats) == HEXRUN_OK)
        printf("client stats: %s\n", stats);
    hexrun_free(stats);

    if (t.lost)
        fail("jobs never reached a terminal state", t.lost);
    if (t.by_state[HEXRUN_STATE_LOST])
        fail("jobs ended LOST", t.by_state[HEXRUN_STATE_LOST]);
    check_duplicates(&o, &t);
    long total = 0, limited = sim_status_count("429", &total),
         dropped = sim_status_count("0", &total);
    printf("hexsim: %ld requests, %ld answered 429, %ld dropped on purpose\n", total, limited,
           dropped);
    json_object *ctr = sim_call("GET", "/__sim/counters", NULL);
    printf("hexsim RunProject answers: %s\n",
           json_object_to_json_string(get(get(ctr, "requests"), "RunProject")));
    json_object_put(ctr);
    if (limited)
        fail("hexsim answered 429 (rate limit hit)", limited);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's quarantine keeps freed memory on purpose: RSS says nothing about leaks there
     * (LeakSanitizer does, at exit). */
    printf("RSS not checked: built with AddressSanitizer\n");
#else
    if (t.rss_kib[2] > t.rss_kib[1] + t.rss_kib[1] / 4 + 4096)
        fail("RSS grew after the middle (KiB at end)", t.rss_kib[2]);
#endif

    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
    hexsim_proc_stop(&sim);
    for (long i = 0; i < o.runs; i++)
        free(t.run_ids[i]);
    free(t.run_ids);
    printf("%s\n", failures ? "SOAK FAILED" : "SOAK OK");
    return failures ? 1 : 0;
}
