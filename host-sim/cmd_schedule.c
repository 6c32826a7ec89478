/*
 * cmd_schedule.c - `schedule FILE`: fire Hex runs on cron expressions, and `schedule --next`.
 *
 * Each slot is recorded in the state file before its run is submitted, so a restart never
 * fires a slot twice (at the price of a slot lost if the process dies between the two).
 * Slots missed while the scheduler was down are not fired late; they are logged.
 * For tests the clock can start at a chosen time and run faster (--start-at, --time-scale).
 */
#include "cmds.h"
#include "out.h"
#include "sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- clock ---- */

typedef struct vclock {
    double start_v;    /* virtual unix seconds at start */
    double start_mono; /* real monotonic seconds at start */
    double scale;
} vclock;

static double vclock_now(const vclock *k)
{
    return k->start_v + (cli_now() - k->start_mono) * k->scale;
}

static int parse_iso_arg(const cli *c, const char *text, double *out)
{
    double ms = out_parse_iso_ms(text);
    if (ms < 0)
        return cli_usage_error(c,
                               "--start-at '%s': expected an ISO-8601 UTC time like "
                               "2026-01-01T00:00:00Z",
                               text);
    *out = ms / 1000.0;
    return 0;
}

/* ---------------------------------------------------------------- log ---- */

typedef struct scheduler scheduler;

/* One line per event: key=value for people, a JSON object with --json. */
static void log_event(const scheduler *s, const char *event, json_object *fields);

/* ---------------------------------------------------------------- state ---- */

typedef struct tracked {
    char entry[128];
    time_t slot;
    int64_t job;
    double fired_v;
    double timeout_s;
    int wait;
    int announced; /* the "submitted" line was logged */
    int cancelled;
} tracked;

typedef struct pending {
    char entry[128];
    time_t slot;
} pending;

struct scheduler {
    cli *c;
    const char *path;
    sched_file file;
    sched_state state;
    time_t *next; /* next slot of each entry, -1 when it never fires */
    tracked *jobs;
    size_t njobs;
    pending *queue;
    size_t nqueue;
    vclock clock;
    long slots, max_slots; /* slots handled (fired, queued or skipped) */
    double exit_after_s;
};

static void add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_time(json_object *o, const char *k, double t)
{
    char buf[32];
    tmpl_iso_utc((time_t)floor(t), buf, sizeof buf);
    add_str(o, k, buf);
}

static json_object *fields_for(const char *entry, time_t slot)
{
    json_object *f = json_object_new_object();
    add_str(f, "entry", entry);
    if (slot >= 0)
        add_time(f, "slot", (double)slot);
    return f;
}

static void print_kv(FILE *out, json_object *o)
{
    const char *sep = "";
    json_object_object_foreach(o, key, val)
    {
        const char *v = !val ? "null"
                        : json_object_is_type(val, json_type_object) ||
                                json_object_is_type(val, json_type_array)
                            ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN)
                            : json_object_get_string(val);
        if (strpbrk(v, " \t\"=") || !*v)
            fprintf(out, "%s%s='%s'", sep, key, v);
        else
            fprintf(out, "%s%s=%s", sep, key, v);
        sep = " ";
    }
}

static void log_event(const scheduler *s, const char *event, json_object *fields)
{
    json_object *o = json_object_new_object();
    add_time(o, "time", vclock_now(&s->clock));
    add_str(o, "event", event);
    json_object_object_foreach(fields, key, val)
    {
        json_object_object_add(o, key, json_object_get(val));
    }
    if (s->c->json) {
        out_json_line(stdout, o);
    } else {
        print_kv(stdout, o);
        fputc('\n', stdout);
        fflush(stdout);
    }
    json_object_put(o);
    json_object_put(fields);
}

static const sched_entry *find_entry(const scheduler *s, const char *name)
{
    for (size_t i = 0; i < s->file.n; i++)
        if (strcmp(s->file.entries[i].name, name) == 0)
            return &s->file.entries[i];
    return NULL;
}

static int entry_busy(const scheduler *s, const char *name)
{
    for (size_t i = 0; i < s->njobs; i++)
        if (s->jobs[i].wait && strcmp(s->jobs[i].entry, name) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- firing ---- */

static int track(scheduler *s, const sched_entry *e, time_t slot, int64_t job)
{
    tracked *p = realloc(s->jobs, (s->njobs + 1) * sizeof *p);
    if (!p)
        return -1;
    s->jobs = p;
    tracked *t = &p[s->njobs++];
    memset(t, 0, sizeof *t);
    snprintf(t->entry, sizeof t->entry, "%s", e->name);
    t->slot = slot;
    t->job = job;
    t->fired_v = vclock_now(&s->clock);
    t->timeout_s = e->timeout_s;
    t->wait = e->wait;
    return 0;
}

static void fire(scheduler *s, const sched_entry *e, time_t slot)
{
    cli *c = s->c;
    char err[300], key[256];
    tmpl_ctx ctx = {.slot = slot, .fired = (time_t)vclock_now(&s->clock), .tz = e->cron.tz};
    char *opts = sched_entry_options(e, &ctx, err, sizeof err);
    json_object *f = fields_for(e->name, slot);
    if (!opts) {
        add_str(f, "error", err);
        log_event(s, "error", f);
        return;
    }
    snprintf(key, sizeof key, "hexrun-host:schedule:%s:%lld", e->name, (long long)slot);
    int64_t job;
    int rc = c->api.submit(c->client, e->project, opts, key, &job);
    add_str(f, "project", e->project);
    json_object_object_add(f, "params", json_tokener_parse(opts));
    free(opts);
    if (rc != HEXRUN_OK) {
        add_str(f, "error", c->api.strerror(rc));
        add_str(f, "detail", c->api.last_error());
        log_event(s, "error", f);
        return;
    }
    json_object_object_add(f, "job", json_object_new_int64(job));
    log_event(s, "fire", f);
    if (track(s, e, slot, job) != 0)
        c->api.job_release(c->client, job);
}

static int enqueue(scheduler *s, const sched_entry *e, time_t slot)
{
    pending *p = realloc(s->queue, (s->nqueue + 1) * sizeof *p);
    if (!p)
        return -1;
    s->queue = p;
    snprintf(p[s->nqueue].entry, sizeof p[s->nqueue].entry, "%s", e->name);
    p[s->nqueue++].slot = slot;
    return 0;
}

static void record_slot(scheduler *s, const sched_entry *e, time_t slot)
{
    char err[600];
    if (sched_state_set(&s->state, e->name, slot) != 0 ||
        sched_state_save(s->file.state_path, &s->state, err, sizeof err) != 0) {
        json_object *f = fields_for(e->name, slot);
        add_str(f, "error", "cannot record the slot in the state file");
        log_event(s, "error", f);
    }
}

/* A slot is due: fire it, or skip or queue it when the entry's last run is still live. */
static void handle_slot(scheduler *s, const sched_entry *e, time_t slot)
{
    record_slot(s, e, slot);
    s->slots++;
    if (!entry_busy(s, e->name) || e->overlap == OVERLAP_ALLOW) {
        fire(s, e, slot);
        return;
    }
    json_object *f = fields_for(e->name, slot);
    add_str(f, "reason", "the previous run is still live");
    if (e->overlap == OVERLAP_QUEUE && enqueue(s, e, slot) == 0) {
        log_event(s, "queued", f);
    } else {
        log_event(s, "skip", f);
    }
}

static void fire_queued(scheduler *s)
{
    for (size_t i = 0; i < s->nqueue;) {
        const sched_entry *e = find_entry(s, s->queue[i].entry);
        if (e && entry_busy(s, e->name)) {
            i++;
            continue;
        }
        pending p = s->queue[i];
        memmove(&s->queue[i], &s->queue[i + 1], (s->nqueue - i - 1) * sizeof *s->queue);
        s->nqueue--;
        if (e)
            fire(s, e, p.slot);
    }
}

/* ---------------------------------------------------------------- tracking ---- */

/* Logs an event about the job, with its last error if it has one; returns 1 when it did. */
static int log_job(scheduler *s, const tracked *t, const char *event, int32_t state)
{
    cli *c = s->c;
    json_object *f = fields_for(t->entry, t->slot), *info = NULL;
    char *text = NULL;
    if (c->api.job_info(c->client, t->job, &text) == HEXRUN_OK)
        info = json_tokener_parse(text);
    c->api.free(text);
    add_str(f, "state", c->api.state_name(state));
    add_str(f, "run_id", out_str(info, "run_id"));
    add_str(f, "run_url", out_str(info, "run_url"));
    const char *msg = out_str2(info, "last_error", "message");
    if (msg)
        add_str(f, "error", msg);
    log_event(s, event, f);
    json_object_put(info);
    return msg != NULL;
}

/* Returns 1 when the job is done with (and released). */
static int check_job(scheduler *s, tracked *t)
{
    cli *c = s->c;
    int32_t state;
    if (c->api.poll(c->client, t->job, &state) != HEXRUN_OK)
        return 1;
    int submitted = state != HEXRUN_STATE_QUEUED && state != HEXRUN_STATE_SUBMITTING;
    if (submitted && !t->announced && !c->api.state_is_terminal(state)) {
        log_job(s, t, "submitted", state);
        t->announced = 1;
    }
    if (c->api.state_is_terminal(state) == 1) {
        if (log_job(s, t, "end", state))
            cli_job_reported(t->job); /* the plugin's line saying the same is dropped */
        c->api.job_release(c->client, t->job);
        return 1;
    }
    if (!t->wait && submitted) { /* fire and forget: the run id is all this entry wanted */
        c->api.job_release(c->client, t->job);
        return 1;
    }
    if (t->timeout_s > 0 && !t->cancelled && vclock_now(&s->clock) - t->fired_v >= t->timeout_s) {
        log_job(s, t, "timeout", state);
        c->api.cancel(c->client, t->job);
        t->cancelled = 1;
    }
    return 0;
}

static void check_jobs(scheduler *s)
{
    for (size_t i = 0; i < s->njobs;) {
        if (check_job(s, &s->jobs[i])) {
            memmove(&s->jobs[i], &s->jobs[i + 1], (s->njobs - i - 1) * sizeof *s->jobs);
            s->njobs--;
        } else {
            i++;
        }
    }
}

/* ---------------------------------------------------------------- planning ---- */

/* Next slots from now, or from the last recorded slot if that is later; logs misses. */
static void plan(scheduler *s)
{
    double now = vclock_now(&s->clock);
    free(s->next);
    s->next = calloc(s->file.n ? s->file.n : 1, sizeof *s->next);
    for (size_t i = 0; s->next && i < s->file.n; i++) {
        const sched_entry *e = &s->file.entries[i];
        time_t last = sched_state_get(&s->state, e->name), from = (time_t)floor(now), missed;
        if (last >= 0 && cron_next(&e->cron, last, &missed) == 0 && missed < from) {
            json_object *f = fields_for(e->name, missed);
            add_str(f, "reason", "the scheduler was not running; missed slots are not fired");
            log_event(s, "missed", f);
        }
        if (last > from)
            from = last;
        if (cron_next(&e->cron, from, &s->next[i]) != 0)
            s->next[i] = -1;
    }
}

static int load_file(scheduler *s, const char *event)
{
    sched_file f;
    char err[1024];
    if (sched_file_load(s->path, &f, err, sizeof err) != 0) {
        json_object *o = json_object_new_object();
        add_str(o, "error", err);
        if (s->file.n)
            add_str(o, "kept", "the schedule loaded before");
        log_event(s, "error", o);
        return -1;
    }
    sched_file_free(&s->file);
    s->file = f;
    plan(s);
    json_object *o = json_object_new_object();
    add_str(o, "file", s->path);
    add_str(o, "state_file", f.state_path);
    json_object_object_add(o, "entries", json_object_new_int64((int64_t)f.n));
    log_event(s, event, o);
    return 0;
}

static double seconds_to_next(const scheduler *s)
{
    double now = vclock_now(&s->clock), best = 0.2;
    for (size_t i = 0; i < s->file.n; i++)
        if (s->next[i] >= 0 && ((double)s->next[i] - now) / s->clock.scale < best)
            best = ((double)s->next[i] - now) / s->clock.scale;
    return best < 0.005 ? 0.005 : best;
}

static void tick(scheduler *s)
{
    double now = vclock_now(&s->clock);
    for (size_t i = 0; i < s->file.n; i++) {
        const sched_entry *e = &s->file.entries[i];
        while (s->next[i] >= 0 && (double)s->next[i] <= now &&
               (s->max_slots <= 0 || s->slots < s->max_slots)) {
            time_t slot = s->next[i];
            handle_slot(s, e, slot);
            if (cron_next(&e->cron, slot, &s->next[i]) != 0)
                s->next[i] = -1;
        }
    }
    cli_release_held_log(s->c); /* before check_jobs: see cli.h */
    check_jobs(s);
    fire_queued(s);
}

static int finished(const scheduler *s, double real_start)
{
    if (s->exit_after_s > 0 && cli_now() - real_start >= s->exit_after_s)
        return 1;
    return s->max_slots > 0 && s->slots >= s->max_slots && s->njobs == 0 && s->nqueue == 0;
}

static int run_loop(scheduler *s)
{
    double real_start = cli_now();
    while (!cli_interrupted && !finished(s, real_start)) {
        if (cli_hangup) {
            cli_hangup = 0;
            load_file(s, "reload");
        }
        tick(s);
        usleep((useconds_t)(seconds_to_next(s) * 1e6));
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "slots", json_object_new_int64(s->slots));
    json_object_object_add(o, "live_runs", json_object_new_int64((int64_t)s->njobs));
    log_event(s, "stop", o);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- --next ---- */

static int print_next(cli *c, const sched_file *f, double from, long count)
{
    for (size_t i = 0; i < f->n; i++) {
        const sched_entry *e = &f->entries[i];
        json_object *list = json_object_new_array();
        time_t t = (time_t)floor(from);
        for (long k = 0; k < count && cron_next(&e->cron, t, &t) == 0; k++) {
            char utc[32], local[48];
            tmpl_iso_utc(t, utc, sizeof utc);
            tmpl_ctx ctx = {.slot = t, .fired = t, .tz = e->cron.tz};
            char err[64], *ts = tmpl_expand("{{ts}}", &ctx, err, sizeof err);
            snprintf(local, sizeof local, "%s", ts ? ts : utc);
            free(ts);
            json_object_array_add(list, json_object_new_string(utc));
            if (!c->json)
                printf("%-20s %-26s %s  (%s)\n", e->name, local, utc, e->cron.tz);
        }
        if (c->json) {
            json_object *o = json_object_new_object();
            add_str(o, "entry", e->name);
            add_str(o, "cron", e->cron_text);
            add_str(o, "timezone", e->cron.tz);
            json_object_object_add(o, "next", list);
            out_json_line(stdout, o);
            json_object_put(o);
        } else {
            json_object_put(list);
        }
    }
    return EXIT_OK;
}

/* ---------------------------------------------------------------- command ---- */

enum { S_NEXT = 1, S_START_AT, S_TIME_SCALE, S_MAX_FIRES, S_EXIT_AFTER };

static int schedule_options(scheduler *s, const parsed *p, int *next_mode)
{
    cli *c = s->c;
    for (int i = 0; i < p->nopt; i++) {
        const char *a = p->opt[i].arg;
        int rc = 0;
        switch (p->opt[i].id) {
        case S_NEXT:
            *next_mode = 1;
            break;
        case S_START_AT:
            rc = parse_iso_arg(c, a, &s->clock.start_v);
            break;
        case S_TIME_SCALE:
            rc = cli_seconds(c, "--time-scale", a, &s->clock.scale);
            if (!rc && s->clock.scale < 0.001)
                rc = cli_usage_error(c, "--time-scale must be > 0");
            break;
        case S_MAX_FIRES:
            rc = cli_int(c, "--max-fires", a, 1, 1000000, &s->max_slots);
            break;
        case S_EXIT_AFTER:
            rc = cli_seconds(c, "--exit-after", a, &s->exit_after_s);
            break;
        default:
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static void scheduler_free(scheduler *s)
{
    sched_file_free(&s->file);
    sched_state_free(&s->state);
    free(s->next);
    free(s->jobs);
    free(s->queue);
}

static int start_scheduler(scheduler *s)
{
    char err[1024];
    if (sched_state_load(s->file.state_path, &s->state, err, sizeof err) != 0)
        return cli_fail(s->c, EXIT_USAGE, "%s", err);
    s->c->reports_job_errors = 1; /* a failed run's error is on its `end` line */
    int rc = cli_connect(s->c);
    if (rc)
        return rc;
    plan(s);
    json_object *o = json_object_new_object();
    add_str(o, "file", s->path);
    add_str(o, "state_file", s->file.state_path);
    json_object_object_add(o, "entries", json_object_new_int64((int64_t)s->file.n));
    log_event(s, "start", o);
    return run_loop(s);
}

static int cmd_schedule(cli *c, const parsed *p)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    scheduler s = {.c = c, .path = p->pos[0]};
    s.clock = (vclock){
        .start_v = (double)now.tv_sec + now.tv_nsec / 1e9, .start_mono = cli_now(), .scale = 1};
    int next_mode = 0, rc = schedule_options(&s, p, &next_mode);
    if (rc)
        return rc;
    long count = 5;
    if (!next_mode && p->npos > 1)
        return cli_usage_error(c, "unexpected argument '%s'", p->pos[1]);
    if (next_mode && p->npos > 1 && cli_int(c, "N", p->pos[1], 1, 10000, &count))
        return EXIT_USAGE;
    char err[1024];
    if (sched_file_load(s.path, &s.file, err, sizeof err) != 0)
        return cli_fail(c, EXIT_USAGE, "%s", err);
    s.clock.start_mono = cli_now();
    rc = next_mode ? print_next(c, &s.file, s.clock.start_v, count) : start_scheduler(&s);
    scheduler_free(&s);
    return rc;
}

static const opt_spec schedule_opts[] = {
    {"next", NULL, S_NEXT, "print the next N (default 5) fire times of each entry and exit"},
    {"start-at", "TIME", S_START_AT, "start the clock at this UTC time (tests, dry planning)"},
    {"time-scale", "X", S_TIME_SCALE, "run the clock X times faster than real time (tests)"},
    {"max-fires", "N", S_MAX_FIRES, "exit once N slots were handled and their runs ended"},
    {"exit-after", "S", S_EXIT_AFTER, "exit after S real seconds"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_schedule_def = {
    "schedule",
    "FILE | --next FILE [N]",
    "Run Hex projects on cron schedules (a long-running scheduler).",
    "FILE is JSON: {\"state_file\": \"...\" (default FILE.state), \"entries\": [{\"name\": ...,\n"
    "\"cron\": \"0 6 * * 1-5\" or @daily..., \"timezone\": \"Europe/Paris\", \"project\": ...,\n"
    "\"params\": {\"day\": \"{{ds}}\"}, \"overlap\": \"skip\"|\"queue\"|\"allow\", \"wait\": "
    "true,\n"
    "\"timeout\": 3600}]}. Templates: {{ds}} {{ts}} {{logical_date}} {{date}}.\n"
    "Logs one line per event (start, fire, submitted, end, skip, queued, timeout, missed,\n"
    "error, reload, stop). SIGHUP reloads FILE; SIGINT/SIGTERM stop (runs go on).\n"
    "The state file records each fired slot, so a restart never fires a slot twice.",
    schedule_opts,
    1,
    2,
    cmd_schedule,
};
