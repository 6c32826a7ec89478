/*
 * Host unit: `hexrun-host schedule` over many ticks does not pile up the plugin's job
 * failure lines it holds back (host-sim/cli.c). The real scheduler (cmd_schedule.c, its
 * tick and its clock) runs in this process on a stand-in plugin: a table of functions that
 * makes jobs and logs their failure lines the way the engine does, some while the job
 * lives, some just before its end is seen, some after the job was reported and released.
 * Held lines are let go at every tick, and a job the scheduler reported keeps its lines off
 * stderr (a ring of the last 256 reported jobs): at the end few lines are held, and every
 * line printed is one the scheduler did not print itself, each once.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ck_run.h"
#include "cli.h"
#include "cmds.h"

/* Slots fired (one job each), one every virtual minute, 500 of them a real second: a few
 * slots a tick (a tick sleeps at least 5 ms), some 250 ticks (260 counted once). */
#define JOBS 1200
#define TIME_SCALE "30000"
/* A job ends at its second poll. */
#define POLLS_TO_END 2

/* What the stand-in plugin logs for a job, by its id. */
enum { LIVES_THROUGH, FAILS_SEEN_AT_END, FAILS_LINE_AFTER_RELEASE, KINDS };

static int kind_of(int64_t job)
{
    return (int)(job % KINDS);
}

typedef struct fake_job {
    int polls;
    int32_t state;
    int released;
} fake_job;

static fake_job jobs[JOBS + 1];
static int64_t n_jobs;
static hexrun_log_fn log_fn;
static void *log_ud;
static int dummy;

static void log_failure(int64_t job, const char *why)
{
    char line[160];
    snprintf(line, sizeof line, "event=request_failed job=%lld %s", (long long)job, why);
    log_fn(HEXRUN_LOG_WARN, line, log_ud);
}

static int fake_config_new(hexrun_config **out)
{
    *out = (hexrun_config *)&dummy;
    return HEXRUN_OK;
}

static void fake_config_free(hexrun_config *cfg)
{
    (void)cfg;
}

static int fake_config_set(hexrun_config *cfg, const char *key, const char *value)
{
    (void)cfg;
    (void)key;
    (void)value;
    return HEXRUN_OK;
}

static int fake_config_set_log(hexrun_config *cfg, hexrun_log_fn fn, void *ud)
{
    (void)cfg;
    log_fn = fn;
    log_ud = ud;
    return HEXRUN_OK;
}

static int fake_init(const hexrun_config *cfg, hexrun_client **out)
{
    (void)cfg;
    *out = (hexrun_client *)&dummy;
    return HEXRUN_OK;
}

static int fake_submit(hexrun_client *c, const char *project, const char *options, const char *key,
                       int64_t *out)
{
    (void)c;
    (void)project;
    (void)options;
    (void)key;
    ck_assert_int_lt(n_jobs, JOBS);
    *out = ++n_jobs;
    jobs[*out].state = HEXRUN_STATE_PENDING;
    if (kind_of(*out) == LIVES_THROUGH)
        log_failure(*out, "RunProject: HTTP 503 after 1 attempt (retried)");
    return HEXRUN_OK;
}

static int fake_poll(hexrun_client *c, int64_t job, int32_t *state)
{
    (void)c;
    if (job < 1 || job > n_jobs || jobs[job].released)
        return HEXRUN_E_NO_SUCH_JOB;
    fake_job *j = &jobs[job];
    if (++j->polls == POLLS_TO_END) {
        int failed = kind_of(job) != LIVES_THROUGH;
        /* The engine logs the failure, then the state changes. */
        if (kind_of(job) == FAILS_SEEN_AT_END)
            log_failure(job, "GetRunStatus: HTTP 404");
        j->state = failed ? HEXRUN_STATE_ERRORED : HEXRUN_STATE_COMPLETED;
    }
    *state = j->state;
    return HEXRUN_OK;
}

static int fake_job_info(hexrun_client *c, int64_t job, char **out)
{
    (void)c;
    int failed = jobs[job].state == HEXRUN_STATE_ERRORED;
    *out = failed ? strdup("{\"run_id\":\"r\",\"last_error\":{\"message\":\"it failed\"}}")
                  : strdup("{\"run_id\":\"r\"}");
    return HEXRUN_OK;
}

static int fake_job_release(hexrun_client *c, int64_t job)
{
    (void)c;
    jobs[job].released = 1;
    /* The engine hands its lines over once it holds no lock: this one comes late. */
    if (kind_of(job) == FAILS_LINE_AFTER_RELEASE)
        log_failure(job, "GetRunStatus: HTTP 404");
    return HEXRUN_OK;
}

static int fake_cancel(hexrun_client *c, int64_t job)
{
    (void)c;
    (void)job;
    return HEXRUN_OK;
}

static const char *fake_state_name(int32_t state)
{
    return state == HEXRUN_STATE_COMPLETED ? "COMPLETED"
           : state == HEXRUN_STATE_ERRORED ? "ERRORED"
                                           : "PENDING";
}

static int32_t fake_state_is_terminal(int32_t state)
{
    return state == HEXRUN_STATE_COMPLETED || state == HEXRUN_STATE_ERRORED;
}

static const char *fake_text(int code)
{
    (void)code;
    return "";
}

static const char *fake_last_error(void)
{
    return "";
}

static cli fake_cli(void)
{
    cli c = {0};
    c.api.handle = &dummy; /* loaded: cli_load leaves it alone */
    c.api.strerror = fake_text;
    c.api.last_error = fake_last_error;
    c.api.state_name = fake_state_name;
    c.api.state_is_terminal = fake_state_is_terminal;
    c.api.free = free;
    c.api.config_new = fake_config_new;
    c.api.config_free = fake_config_free;
    c.api.config_set = fake_config_set;
    c.api.config_set_log = fake_config_set_log;
    c.api.init = fake_init;
    c.api.submit = fake_submit;
    c.api.poll = fake_poll;
    c.api.cancel = fake_cancel;
    c.api.job_info = fake_job_info;
    c.api.job_release = fake_job_release;
    return c;
}

/* A directory for the schedule and its state (tmpfs when there is one: a slot's state is
 * written with fsync). */
static void temp_dir(char *dir, size_t len)
{
    snprintf(dir, len, "%s/check_schedule_held_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void write_schedule(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"entries\":[{\"name\":\"every-minute\",\"cron\":\"* * * * *\",\"project\":"
               "\"11111111-1111-4111-8111-111111111111\",\"overlap\":\"allow\",\"wait\":true}]}");
    ck_assert_int_eq(fclose(f), 0);
}

/* Count the lines of file naming each job (a line per failure printed). */
static void count_lines(const char *path, int per_job[JOBS + 1], int *lines)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    *lines = 0;
    while (fgets(line, sizeof line, f)) {
        const char *at = strstr(line, " job=");
        long long job = 0;
        ck_assert_msg(at && sscanf(at + 5, "%lld", &job) == 1 && job >= 1 && job <= JOBS,
                      "not a job's failure line: %s", line);
        per_job[job]++;
        ++*lines;
    }
    fclose(f);
}

START_TEST(held_failure_lines_stay_bounded_over_many_ticks)
{
    char dir[128], file[192], state[192], err_path[192];
    temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/schedule.json", dir);
    snprintf(state, sizeof state, "%s/schedule.json.state", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    write_schedule(file);
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout)); /* the scheduler's events */
    ck_assert_ptr_nonnull(freopen(err_path, "w", stderr));    /* the lines it lets go */
    cli c = fake_cli();
    char max_fires[16];
    snprintf(max_fires, sizeof max_fires, "%d", JOBS);
    char *argv[] = {file,          "--start-at", "2026-01-01T00:00:00Z", "--time-scale", TIME_SCALE,
                    "--max-fires", max_fires};
    parsed p;
    ck_assert_int_eq(cli_parse(&c, &cmd_schedule_def, 7, argv, &p), 0);
    ck_assert_int_eq(cmd_schedule_def.run(&c, &p), EXIT_OK);
    ck_assert_int_eq(n_jobs, JOBS);
    /* Lines still held: only those logged after the last tick let the held ones go. */
    int held = 0;
    int64_t job;
    for (char *line; (line = cli_next_held_log(&job)); free(line))
        held++;
    ck_assert_msg(held <= 16, "%d failure lines held after %d jobs", held, JOBS);
    fflush(stderr);
    static int per_job[JOBS + 1];
    int lines = 0;
    count_lines(err_path, per_job, &lines);
    /* A job that lived through a failure has its line printed, once; a job whose failure the
     * scheduler printed on its `end` line has none. */
    for (int64_t k = 1; k <= JOBS; k++)
        ck_assert_msg(per_job[k] == (kind_of(k) == LIVES_THROUGH),
                      "job %lld (kind %d): %d lines printed", (long long)k, kind_of(k), per_job[k]);
    ck_assert_int_eq(lines, JOBS / KINDS);
    unlink(err_path);
    unlink(state);
    unlink(file);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schedule-held");
    TCase *tc = tcase_create("ticks");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, held_failure_lines_stay_bounded_over_many_ticks);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
