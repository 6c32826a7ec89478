/*
 * cmd_load.c - `load`: submit many runs through the plugin, wait for all, and report what
 * it cost (requests by endpoint from hexrun_stats, 429s, detection latency, CPU, memory).
 *
 * Detection latency here is the time from a run's end_time (Hex's clock) to the moment
 * hexrun_wait_any reported the job terminal (this host's clock): both clocks are the same
 * machine's when driving hexsim.
 */
#include "cmds.h"
#include "out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { LD_JOBS = 1, LD_PROJECTS, LD_CONCURRENCY, LD_PARAMS_JSON, LD_TIMEOUT };

typedef struct load_run {
    long jobs, concurrency;
    char *projects[64];
    int nprojects;
    const char *options; /* RunProject options JSON or NULL */
    double timeout_s;
    /* results */
    int64_t *live;
    uint32_t nlive;
    long submitted, done, by_state[16];
    double *latency_ms;
    long nlatency;
} load_run;

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int split_projects(cli *c, load_run *lr, char *list)
{
    char *save = NULL;
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (lr->nprojects == 64)
            return cli_usage_error(c, "--projects: at most 64 projects");
        lr->projects[lr->nprojects++] = p;
    }
    return lr->nprojects ? 0 : cli_usage_error(c, "--projects needs at least one project id");
}

static int load_options(cli *c, const parsed *p, load_run *lr, char **projects_copy,
                        json_object **opts)
{
    for (int i = 0; i < p->nopt; i++) {
        const char *a = p->opt[i].arg;
        int rc = 0;
        switch (p->opt[i].id) {
        case LD_JOBS:
            rc = cli_int(c, "--jobs", a, 1, 1000000, &lr->jobs);
            break;
        case LD_CONCURRENCY:
            rc = cli_int(c, "--concurrency", a, 1, 65536, &lr->concurrency);
            break;
        case LD_TIMEOUT:
            rc = cli_seconds(c, "--timeout", a, &lr->timeout_s);
            break;
        case LD_PROJECTS:
            free(*projects_copy);
            *projects_copy = strdup(a);
            break;
        case LD_PARAMS_JSON:
            json_object_put(*opts);
            *opts = json_object_from_file(a);
            if (!*opts || !json_object_is_type(*opts, json_type_object))
                rc = cli_usage_error(c, "--params-json %s: not a readable JSON object", a);
            break;
        default:
            break;
        }
        if (rc)
            return rc;
    }
    if (lr->jobs <= 0 || !*projects_copy)
        return cli_usage_error(c, "--jobs N and --projects P[,P...] are required");
    if (lr->concurrency <= 0 || lr->concurrency > lr->jobs)
        lr->concurrency = lr->jobs > 65536 ? 65536 : lr->jobs;
    return split_projects(c, lr, *projects_copy);
}

static int submit_one(cli *c, load_run *lr)
{
    const char *project = lr->projects[lr->submitted % lr->nprojects];
    int64_t job;
    int rc = c->api.submit(c->client, project, lr->options, NULL, &job);
    if (rc != HEXRUN_OK)
        return cli_api_error(c, "submit", rc);
    lr->live[lr->nlive++] = job;
    lr->submitted++;
    return 0;
}

static void record_end(cli *c, load_run *lr, int64_t job, int32_t state, double seen_ms)
{
    char *text = NULL;
    if (c->api.job_info(c->client, job, &text) == HEXRUN_OK) {
        json_object *info = json_tokener_parse(text);
        double end_ms = out_parse_iso_ms(out_str(info, "end_time"));
        if (end_ms > 0)
            lr->latency_ms[lr->nlatency++] = seen_ms - end_ms;
        json_object_put(info);
    }
    c->api.free(text);
    if (state >= 0 && state < 16)
        lr->by_state[state]++;
    lr->done++;
    c->api.job_release(c->client, job);
}

static void drop_live(load_run *lr, int64_t job)
{
    for (uint32_t i = 0; i < lr->nlive; i++)
        if (lr->live[i] == job) {
            lr->live[i] = lr->live[--lr->nlive];
            return;
        }
}

/* The next terminal job, by hexrun_wait_any or, without it, by polling. */
static int next_terminal(cli *c, load_run *lr, int64_t *job, int32_t *state)
{
    if (c->api.wait_any)
        return c->api.wait_any(c->client, lr->live, lr->nlive, 250, job, state);
    for (uint32_t i = 0; i < lr->nlive; i++)
        if (c->api.poll(c->client, lr->live[i], state) == HEXRUN_OK &&
            c->api.state_is_terminal(*state) == 1) {
            *job = lr->live[i];
            return HEXRUN_OK;
        }
    usleep(20 * 1000);
    return HEXRUN_E_TIMEOUT;
}

static int drive(cli *c, load_run *lr)
{
    double deadline = lr->timeout_s > 0 ? cli_now() + lr->timeout_s : 0;
    while (lr->done < lr->jobs) {
        while (lr->submitted < lr->jobs && lr->nlive < lr->concurrency) {
            int rc = submit_one(c, lr);
            if (rc)
                return rc;
        }
        if (cli_interrupted)
            return cli_fail(c, EXIT_INTERRUPTED, "interrupted with %u runs live", lr->nlive);
        if (deadline && cli_now() > deadline)
            return cli_fail(c, EXIT_TIMEOUT, "timed out with %u runs live", lr->nlive);
        int64_t job;
        int32_t state;
        int rc = next_terminal(c, lr, &job, &state);
        if (rc == HEXRUN_OK) {
            record_end(c, lr, job, state, wall_ms());
            drop_live(lr, job);
        } else if (rc != HEXRUN_E_TIMEOUT) {
            return cli_api_error(c, "wait", rc);
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, long n, double p)
{
    if (n == 0)
        return -1;
    long i = (long)ceil(p / 100.0 * (double)n) - 1;
    return sorted[i < 0 ? 0 : i];
}

static json_object *latency(const load_run *lr, double p)
{
    return lr->nlatency ? json_object_new_double(percentile(lr->latency_ms, lr->nlatency, p))
                        : NULL;
}

/* Sums every count under a "429" key anywhere in the stats (their shape may grow). */
static long count_429(json_object *o)
{
    long n = 0;
    if (!json_object_is_type(o, json_type_object))
        return 0;
    json_object_object_foreach(o, key, val)
    {
        if (strcmp(key, "429") == 0 && json_object_is_type(val, json_type_int))
            n += json_object_get_int64(val);
        else
            n += count_429(val);
    }
    return n;
}

static json_object *build_report(cli *c, load_run *lr, double wall_s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_object *r = json_object_new_object(), *states = json_object_new_object(), *stats = NULL;
    for (int s = 0; s < 16; s++)
        if (lr->by_state[s])
            json_object_object_add(states, c->api.state_name(s),
                                   json_object_new_int64(lr->by_state[s]));
    char *text = NULL;
    if (c->api.stats && c->api.stats(c->client, &text) == HEXRUN_OK)
        stats = json_tokener_parse(text);
    c->api.free(text);
    qsort(lr->latency_ms, (size_t)lr->nlatency, sizeof *lr->latency_ms, cmp_double);
    /* A negative latency means Hex's clock is not this host's (hexsim with --time-scale):
     * the figure would be meaningless, so none is reported. */
    if (lr->nlatency > 0 && lr->latency_ms[0] < -1000)
        lr->nlatency = 0;
    json_object_object_add(r, "jobs", json_object_new_int64(lr->jobs));
    json_object_object_add(r, "concurrency", json_object_new_int64(lr->concurrency));
    json_object_object_add(r, "end_states", states);
    json_object_object_add(r, "rate_limited_429", json_object_new_int64(count_429(stats)));
    json_object_object_add(r, "detect_latency_p50_ms", latency(lr, 50));
    json_object_object_add(r, "detect_latency_p95_ms", latency(lr, 95));
    /* Every run's, sorted: a benchmark of several processes pools them. */
    json_object *all = json_object_new_array();
    for (long i = 0; i < lr->nlatency; i++)
        json_object_array_add(all, json_object_new_double(lr->latency_ms[i]));
    json_object_object_add(r, "detect_latencies_ms", all);
    json_object_object_add(r, "wall_s", json_object_new_double(wall_s));
    json_object_object_add(
        r, "cpu_s",
        json_object_new_double((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6));
    json_object_object_add(r, "peak_rss_kb", json_object_new_int64(ru.ru_maxrss));
    json_object_object_add(r, "stats", stats);
    return r;
}

static void print_requests(json_object *stats)
{
    json_object *req;
    if (!stats || !json_object_object_get_ex(stats, "requests", &req))
        return;
    printf("API requests by endpoint:\n");
    json_object_object_foreach(req, endpoint, codes)
    {
        printf("  %-22s %s\n", endpoint,
               json_object_to_json_string_ext(codes, JSON_C_TO_STRING_PLAIN));
    }
}

static void print_report(json_object *r)
{
    json_object *v;
    printf("runs:          %lld (concurrency %lld)\n",
           (long long)json_object_get_int64(json_object_object_get(r, "jobs")),
           (long long)json_object_get_int64(json_object_object_get(r, "concurrency")));
    printf("end states:    %s\n",
           json_object_to_json_string_ext(json_object_object_get(r, "end_states"),
                                          JSON_C_TO_STRING_PLAIN));
    json_object_object_get_ex(r, "stats", &v);
    print_requests(v);
    printf("429 answers:   %lld\n",
           (long long)json_object_get_int64(json_object_object_get(r, "rate_limited_429")));
    json_object *p50 = json_object_object_get(r, "detect_latency_p50_ms");
    if (p50)
        printf("detection:     p50 %.0f ms, p95 %.0f ms (end_time -> seen terminal)\n",
               json_object_get_double(p50),
               json_object_get_double(json_object_object_get(r, "detect_latency_p95_ms")));
    else
        printf("detection:     n/a (the server's clock is not this host's, e.g. a time-scaled "
               "hexsim)\n");
    printf("wall time:     %.2f s\ncpu time:      %.2f s\npeak rss:      %lld kB\n",
           json_object_get_double(json_object_object_get(r, "wall_s")),
           json_object_get_double(json_object_object_get(r, "cpu_s")),
           (long long)json_object_get_int64(json_object_object_get(r, "peak_rss_kb")));
}

static int cmd_load(cli *c, const parsed *p)
{
    load_run lr = {0};
    char *projects = NULL;
    json_object *opts = NULL;
    int rc = load_options(c, p, &lr, &projects, &opts);
    lr.options = opts ? json_object_to_json_string_ext(opts, JSON_C_TO_STRING_PLAIN) : NULL;
    if (!rc)
        rc = cli_connect(c);
    if (!rc) {
        lr.live = calloc((size_t)lr.concurrency, sizeof *lr.live);
        lr.latency_ms = calloc((size_t)lr.jobs, sizeof *lr.latency_ms);
        if (!lr.live || !lr.latency_ms)
            rc = cli_fail(c, EXIT_USAGE, "out of memory for %ld jobs", lr.jobs);
    }
    double start = cli_now();
    if (!rc)
        rc = drive(c, &lr);
    if (!rc) {
        json_object *report = build_report(c, &lr, cli_now() - start);
        c->json ? out_json_line(stdout, report) : print_report(report);
        json_object_put(report);
        rc = lr.by_state[HEXRUN_STATE_COMPLETED] == lr.jobs ? EXIT_OK : EXIT_RUN_FAILED;
    }
    free(lr.live);
    free(lr.latency_ms);
    free(projects);
    json_object_put(opts);
    return rc;
}

static const opt_spec load_opts[] = {
    {"jobs", "N", LD_JOBS, "how many runs to submit (required)"},
    {"projects", "P[,P...]", LD_PROJECTS, "project ids, used round-robin (required)"},
    {"concurrency", "C", LD_CONCURRENCY, "at most C runs live at once (default: all)"},
    {"params-json", "FILE", LD_PARAMS_JSON, "RunProject options for every run (JSON object)"},
    {"timeout", "S", LD_TIMEOUT, "give up after S seconds (exit 4)"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_load_def = {
    "load",
    "--jobs N --projects P[,P...] [--concurrency C]",
    "Load driver: submit N runs, wait for all, report requests, latency and cost.",
    "Exit 0 when every run COMPLETED, 1 when some did not. --json prints the report as one\n"
    "JSON object (for the benchmark scripts).",
    load_opts,
    0,
    0,
    cmd_load,
};
