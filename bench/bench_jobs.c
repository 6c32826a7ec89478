/*
 * bench_jobs - the cost of hexrun_poll and hexrun_submit per call from C, and the memory
 * per tracked job. Prints a Markdown table. Needs a running hexsim (simproc starts one).
 *
 * Jobs are attached to runs created through hexsim's /__sim/runs (outside any token
 * budget), so the figures measure the plugin's bookkeeping, not Hex's rate limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hexrun.h"
#include "simproc.h"

#define P_SLOW "44444444-4444-4444-8444-444444444444"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static hexrun_client *client_for(const hexsim_proc *sim)
{
    hexrun_config *cfg;
    hexrun_client *c = NULL;
    hexrun_config_new(&cfg);
    hexrun_config_set(cfg, "base_url", sim->base_url);
    hexrun_config_set(cfg, "token", "hxtok_admin");
    /* Budgets off and slow polls: the bench measures bookkeeping, not the network. */
    hexrun_config_set(cfg, "run_budget_per_min", "0");
    hexrun_config_set(cfg, "run_budget_per_hour", "0");
    hexrun_config_set(cfg, "poll_min_ms", "600000");
    hexrun_config_set(cfg, "poll_max_ms", "600000");
    hexrun_config_set(cfg, "log_level", "error");
    if (hexrun_init(cfg, &c) != HEXRUN_OK) {
        fprintf(stderr, "bench_jobs: init: %s\n", hexrun_last_error());
        exit(1);
    }
    hexrun_config_free(cfg);
    return c;
}

/* Creates n runs in hexsim and returns their ids, one per 37-byte slot. */
static char *sim_runs(const hexsim_proc *sim, int n)
{
    char body[128], *out = NULL;
    snprintf(body, sizeof body, "{\"projectId\":\"%s\",\"count\":%d}", P_SLOW, n);
    if (hexsim_proc_call(sim, "POST", "/__sim/runs", NULL, body, &out) != 200) {
        fprintf(stderr, "bench_jobs: /__sim/runs failed\n");
        exit(1);
    }
    /* {"runIds":["<36 chars>",...]} */
    char *ids = calloc((size_t)n, 37), *p = strchr(out, '[');
    for (int i = 0; i < n && p && (p = strchr(p, '"')); i++, p += 38)
        memcpy(ids + (size_t)i * 37, p + 1, 36);
    free(out);
    return ids;
}

static void bench_memory(const hexsim_proc *sim, int n)
{
    hexrun_client *c = client_for(sim);
    char *ids = sim_runs(sim, n);
    long before = rss_kib();
    for (int i = 0; i < n; i++) {
        int64_t job;
        if (hexrun_attach(c, P_SLOW, ids + (size_t)i * 37, &job) != HEXRUN_OK) {
            fprintf(stderr, "bench_jobs: attach: %s\n", hexrun_last_error());
            exit(1);
        }
    }
    long after = rss_kib();
    printf("| memory per tracked job, %d jobs | %.0f bytes |\n", n,
           (double)(after - before) * 1024.0 / n);
    free(ids);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}

static void bench_poll(const hexsim_proc *sim)
{
    hexrun_client *c = client_for(sim);
    char *ids = sim_runs(sim, 1);
    int64_t job;
    int32_t state;
    hexrun_attach(c, P_SLOW, ids, &job);
    const int calls = 2000000;
    double t0 = now_s();
    for (int i = 0; i < calls; i++)
        hexrun_poll(c, job, &state);
    printf("| hexrun_poll from C | %.0f ns per call |\n", (now_s() - t0) * 1e9 / calls);
    free(ids);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}

static void bench_submit(const hexsim_proc *sim)
{
    hexrun_client *c = client_for(sim);
    const int calls = 2000;
    double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        int64_t job;
        if (hexrun_submit(c, P_SLOW, "{\"dryRun\":true}", NULL, &job) != HEXRUN_OK) {
            fprintf(stderr, "bench_jobs: submit: %s\n", hexrun_last_error());
            exit(1);
        }
    }
    printf("| hexrun_submit from C (returns before the POST) | %.1f us per call |\n",
           (now_s() - t0) * 1e6 / calls);
    hexrun_shutdown(c, HEXRUN_SHUTDOWN_DETACH);
}

int main(void)
{
    hexsim_proc sim;
    if (hexsim_proc_start(&sim, NULL) != 0)
        return 1;
    printf("| plugin figure | value |\n|---|---|\n");
    bench_poll(&sim);
    bench_submit(&sim);
    bench_memory(&sim, 10000);
    bench_memory(&sim, 100000);
    hexsim_proc_stop(&sim);
    return 0;
}
