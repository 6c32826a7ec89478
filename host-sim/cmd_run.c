/* cmd_run.c - run, status, wait and cancel: one Hex run at a time. */
#include "cmds.h"
#include "out.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---------------------------------------------------------------- following a job ---- */

typedef struct follow_opts {
    double timeout_s; /* 0: no limit */
    int cancel_on_timeout;
    int detach; /* Ctrl-C leaves the run alone */
    int show_progress;
} follow_opts;

#define CANCEL_WAIT_S 60.0
#define TICK_MS 200

static json_object *job_info(cli *c, int64_t job)
{
    char *text = NULL;
    if (c->api.job_info(c->client, job, &text) != HEXRUN_OK)
        return NULL;
    json_object *o = json_tokener_parse(text);
    c->api.free(text);
    return o;
}

/* Columns of the terminal on stderr: $COLUMNS when set, else the terminal's, else 80. */
static int terminal_columns(void)
{
    const char *env = getenv("COLUMNS");
    long n = env ? strtol(env, NULL, 10) : 0;
    if (n > 0 && n < 10000)
        return (int)n;
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static int is_dry_run(json_object *info)
{
    json_object *v;
    return info && json_object_object_get_ex(info, "dry_run", &v) && json_object_get_boolean(v);
}

/* Hex's run time of the job ("-" until Hex reports one). */
static void run_time(json_object *info, char *buf, size_t size)
{
    json_object *v = NULL;
    double ms = -1;
    if (info && json_object_object_get_ex(info, "elapsed_ms", &v) && v)
        ms = json_object_get_double(v);
    out_duration(ms, buf, size);
}

/* The live line: "| RUNNING  waited 12.0s  run time 10.1s", cut to the terminal's width
 * (a line that wraps cannot be redrawn in place). The run's URL is too long for it: it is
 * printed once, in full, on a line of its own above. */
static void progress_tty(cli *c, int32_t state, double waited, json_object *info, int *url_shown)
{
    const char *url = out_str(info, "run_url");
    if (url && !*url_shown && !is_dry_run(info)) {
        fprintf(stderr, "\r\033[Krun page: %s\n", url);
        *url_shown = 1;
    }
    static const char spin[] = "|/-\\";
    char wait_s[32], run_s[32], line[128], more[64] = "";
    out_duration(waited * 1000, wait_s, sizeof wait_s);
    run_time(info, run_s, sizeof run_s);
    int len = snprintf(line, sizeof line, "%c %-10s waited %s", spin[(int)(waited * 5) % 4],
                       c->api.state_name(state), wait_s);
    if (strcmp(run_s, "-") != 0)
        snprintf(more, sizeof more, "  run time %s", run_s);
    int width = terminal_columns() - 1;  /* the last column would wrap on some terminals */
    if (len + (int)strlen(more) > width) /* Hex's run time goes first, then the line is cut */
        more[0] = '\0';
    fprintf(stderr, "\r\033[K%.*s%s", width > 0 ? width : 0, line, more);
}

/* Off a terminal: one line per state change, every field named. */
static void progress_plain(cli *c, int32_t state, double waited, json_object *info)
{
    const char *url = is_dry_run(info) ? NULL : out_str(info, "run_url");
    char wait_s[32], run_s[32];
    out_duration(waited * 1000, wait_s, sizeof wait_s);
    run_time(info, run_s, sizeof run_s);
    fprintf(stderr, "state=%s waited=%s run_time=%s run_url=%s\n", c->api.state_name(state), wait_s,
            run_s, url ? url : "-");
}

typedef struct shown_progress {
    int32_t state; /* the last state shown, -1 before any */
    int url_shown; /* the run's URL was printed above the live line */
} shown_progress;

static void progress(cli *c, int64_t job, int32_t state, double waited, shown_progress *shown)
{
    int tty = isatty(STDERR_FILENO);
    if (!tty && state == shown->state)
        return;
    json_object *info = job_info(c, job);
    if (tty)
        progress_tty(c, state, waited, info, &shown->url_shown);
    else
        progress_plain(c, state, waited, info);
    fflush(stderr);
    shown->state = state;
    json_object_put(info);
}

static void end_progress(int shown_any)
{
    if (shown_any && isatty(STDERR_FILENO))
        fputc('\n', stderr);
}

/* Waits up to limit_s for the job to end; a new interrupt stops the wait early. */
static int32_t wait_terminal(cli *c, int64_t job, double limit_s)
{
    int32_t state = HEXRUN_STATE_UNKNOWN;
    sig_atomic_t seen = cli_interrupted;
    double until = cli_now() + limit_s;
    while (cli_now() < until && cli_interrupted == seen) {
        int rc = c->api.wait(c->client, job, TICK_MS, &state);
        if (rc == HEXRUN_OK)
            return state;
        if (rc != HEXRUN_E_TIMEOUT)
            break;
    }
    c->api.poll(c->client, job, &state);
    return state;
}

static int32_t cancel_and_wait(cli *c, int64_t job)
{
    int rc = c->api.cancel(c->client, job);
    if (rc != HEXRUN_OK && rc != HEXRUN_E_STATE)
        cli_api_error(c, "cancel", rc);
    return wait_terminal(c, job, CANCEL_WAIT_S);
}

static int exit_for_state(int32_t state)
{
    switch (state) {
    case HEXRUN_STATE_COMPLETED:
        return EXIT_OK;
    case HEXRUN_STATE_SUBMIT_FAILED:
    case HEXRUN_STATE_SUBMIT_UNKNOWN:
        return EXIT_API;
    default:
        return EXIT_RUN_FAILED;
    }
}

/* The final report: the job's JSON, or one line for people (with Hex's reason if any). */
static void report_job(cli *c, int64_t job, int32_t state)
{
    cli_release_held_log(c);
    json_object *info = job_info(c, job);
    if (c->json) {
        if (info)
            out_json_line(stdout, info);
    } else {
        char dur[32];
        run_time(info, dur, sizeof dur);
        const char *run_id = out_str(info, "run_id"), *url = out_str(info, "run_url");
        if (is_dry_run(info) && state == HEXRUN_STATE_COMPLETED)
            printf("%s  dry run: Hex accepted the request and started no run\n",
                   c->api.state_name(state));
        else if (run_id)
            printf("%s  run %s  run time %s%s%s\n", c->api.state_name(state), run_id, dur,
                   url ? "  " : "", url ? url : "");
        else
            printf("%s  (%s)\n", c->api.state_name(state),
                   state == HEXRUN_STATE_SUBMIT_UNKNOWN ? "Hex may have started a run"
                                                        : "no run was started");
        fflush(stdout);
    }
    const char *msg = out_str2(info, "last_error", "message");
    if (msg && state != HEXRUN_STATE_COMPLETED) {
        fprintf(stderr, "hexrun-host %s: %s\n", c->cmd->name, msg);
        cli_job_reported(job);
    }
    json_object_put(info);
}

static int on_interrupt(cli *c, int64_t job, const follow_opts *fo, int shown)
{
    end_progress(shown);
    if (fo->detach) {
        json_object *info = job_info(c, job);
        const char *url = out_str(info, "run_url");
        fprintf(stderr, "hexrun-host: detached; the run goes on: %s\n", url ? url : "(no run yet)");
        json_object_put(info);
        return EXIT_INTERRUPTED;
    }
    fprintf(stderr, "hexrun-host: interrupted; cancelling the run (Ctrl-C again to stop "
                    "waiting)\n");
    int32_t state = cancel_and_wait(c, job);
    report_job(c, job, state);
    return EXIT_INTERRUPTED;
}

static int on_timeout(cli *c, int64_t job, const follow_opts *fo, int shown)
{
    end_progress(shown);
    int32_t state;
    c->api.poll(c->client, job, &state);
    if (fo->cancel_on_timeout)
        state = cancel_and_wait(c, job);
    report_job(c, job, state);
    return cli_fail(c, EXIT_TIMEOUT, "timed out after %gs%s", fo->timeout_s,
                    fo->cancel_on_timeout ? "; the run was cancelled" : "; the run goes on");
}

/* Follows a job to its end. Returns the exit code. */
static int follow_job(cli *c, int64_t job, const follow_opts *fo)
{
    double start = cli_now();
    int32_t state = HEXRUN_STATE_QUEUED;
    shown_progress shown = {-1, 0};
    for (;;) {
        if (cli_interrupted)
            return on_interrupt(c, job, fo, shown.state >= 0);
        double elapsed = cli_now() - start;
        if (fo->timeout_s > 0 && elapsed >= fo->timeout_s)
            return on_timeout(c, job, fo, shown.state >= 0);
        int rc = c->api.wait(c->client, job, TICK_MS, &state);
        cli_release_held_log(c);
        if (fo->show_progress)
            progress(c, job, state, cli_now() - start, &shown);
        if (rc == HEXRUN_OK)
            break;
        if (rc != HEXRUN_E_TIMEOUT) {
            end_progress(shown.state >= 0);
            return cli_api_error(c, "wait", rc);
        }
    }
    end_progress(shown.state >= 0);
    report_job(c, job, state);
    return exit_for_state(state);
}

/* Waits until RunProject has an answer (the job left QUEUED and SUBMITTING). */
static int await_submission(cli *c, int64_t job, const follow_opts *fo, int32_t *state)
{
    for (;;) {
        if (cli_interrupted)
            return on_interrupt(c, job, fo, 0);
        int rc = c->api.wait(c->client, job, TICK_MS, state);
        cli_release_held_log(c);
        if (rc != HEXRUN_OK && rc != HEXRUN_E_TIMEOUT)
            return cli_api_error(c, "submit", rc);
        if (rc == HEXRUN_OK || (*state != HEXRUN_STATE_QUEUED && *state != HEXRUN_STATE_SUBMITTING))
            return 0;
    }
}

/* ---------------------------------------------------------------- run options ---- */

enum {
    O_PARAM = 1,
    O_PARAMS_JSON,
    O_DRY_RUN,
    O_NO_CACHE,
    O_UPDATE_PUBLISHED,
    O_VIEW,
    O_NOTIFY,
    O_WAIT,
    O_TIMEOUT,
    O_CANCEL_ON_TIMEOUT,
    O_IDEMPOTENCY_KEY,
    O_DETACH
};

/* "k=v" is a string input; "k:=JSON" is a typed one (number, boolean, list...). */
static int add_param(cli *c, json_object *params, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (eq == spec + 1 && spec[0] == ':'))
        return cli_usage_error(c, "--param '%s': expected NAME=VALUE or NAME:=JSON", spec);
    int typed = eq[-1] == ':';
    size_t klen = (size_t)(eq - spec) - (size_t)typed;
    char *key = strndup(spec, klen);
    json_object *val;
    if (typed) {
        enum json_tokener_error jerr;
        val = json_tokener_parse_verbose(eq + 1, &jerr);
        if (!val && strcmp(eq + 1, "null") != 0) {
            free(key);
            return cli_usage_error(c, "--param '%s': the value is not valid JSON (%s)", spec,
                                   json_tokener_error_desc(jerr));
        }
    } else {
        val = json_object_new_string(eq + 1);
    }
    json_object_object_add(params, key, val);
    free(key);
    return 0;
}

static int add_params_file(cli *c, json_object *params, const char *path)
{
    json_object *file = json_object_from_file(path);
    if (!file || !json_object_is_type(file, json_type_object)) {
        json_object_put(file);
        return cli_usage_error(c, "--params-json %s: not a readable JSON object (%s)", path,
                               file ? "not an object" : json_util_get_last_err());
    }
    json_object_object_foreach(file, key, val)
    {
        json_object_object_add(params, key, json_object_get(val));
    }
    json_object_put(file);
    return 0;
}

static void add_id_list(json_object *n, const char *key, const char *id)
{
    json_object *arr;
    if (!json_object_object_get_ex(n, key, &arr)) {
        arr = json_object_new_array();
        json_object_object_add(n, key, arr);
    }
    json_object_array_add(arr, json_object_new_string(id));
}

static int notify_part(cli *c, json_object *n, const char *part, const char *spec)
{
    static const struct {
        const char *prefix, *key;
    } lists[] = {{"slack=", "slackChannelIds"}, {"user=", "userIds"}, {"group=", "groupIds"}};
    if (strcmp(part, "screenshot") == 0) {
        json_object_object_add(n, "includeSuccessScreenshot", json_object_new_boolean(1));
        return 0;
    }
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        size_t len = strlen(lists[i].prefix);
        if (strncmp(part, lists[i].prefix, len) == 0 && part[len]) {
            add_id_list(n, lists[i].key, part + len);
            return 0;
        }
    }
    return cli_usage_error(c,
                           "--notify '%s': unknown part '%s' (use slack=ID, user=ID, "
                           "group=ID or screenshot)",
                           spec, part);
}

/* SPEC: SUCCESS|FAILURE|ALL[,slack=ID][,user=ID][,group=ID][,screenshot] */
static int add_notify(cli *c, json_object *list, const char *spec)
{
    char *copy = strdup(spec), *save = NULL;
    char *type = strtok_r(copy, ",", &save);
    if (!type ||
        (strcasecmp(type, "SUCCESS") && strcasecmp(type, "FAILURE") && strcasecmp(type, "ALL"))) {
        free(copy);
        return cli_usage_error(c, "--notify '%s': must start with SUCCESS, FAILURE or ALL", spec);
    }
    for (char *t = type; *t; t++)
        *t = (char)toupper((unsigned char)*t);
    json_object *n = json_object_new_object();
    json_object_object_add(n, "type", json_object_new_string(type));
    json_object_object_add(n, "includeSuccessScreenshot", json_object_new_boolean(0));
    int rc = 0;
    for (char *part = strtok_r(NULL, ",", &save); part && !rc; part = strtok_r(NULL, ",", &save))
        rc = notify_part(c, n, part, spec);
    free(copy);
    if (rc) {
        json_object_put(n);
        return rc;
    }
    json_object_array_add(list, n);
    return 0;
}

typedef struct run_args {
    json_object *opts, *params, *notify;
    const char *idem_key;
    int wait;
    follow_opts fo;
} run_args;

static int run_option(cli *c, run_args *ra, int id, const char *arg)
{
    switch (id) {
    case O_PARAM:
        return add_param(c, ra->params, arg);
    case O_PARAMS_JSON:
        return add_params_file(c, ra->params, arg);
    case O_NOTIFY:
        return add_notify(c, ra->notify, arg);
    case O_DRY_RUN:
        json_object_object_add(ra->opts, "dryRun", json_object_new_boolean(1));
        break;
    case O_NO_CACHE:
        json_object_object_add(ra->opts, "useCachedSqlResults", json_object_new_boolean(0));
        break;
    case O_UPDATE_PUBLISHED:
        json_object_object_add(ra->opts, "updatePublishedResults", json_object_new_boolean(1));
        break;
    case O_VIEW:
        json_object_object_add(ra->opts, "viewId", json_object_new_string(arg));
        break;
    case O_WAIT:
        ra->wait = 1;
        break;
    case O_TIMEOUT:
        return cli_seconds(c, "--timeout", arg, &ra->fo.timeout_s);
    case O_CANCEL_ON_TIMEOUT:
        ra->fo.cancel_on_timeout = 1;
        break;
    case O_IDEMPOTENCY_KEY:
        ra->idem_key = arg;
        break;
    case O_DETACH:
        ra->fo.detach = 1;
        break;
    default:
        break;
    }
    return 0;
}

static int build_run_args(cli *c, const parsed *p, run_args *ra)
{
    for (int i = 0; i < p->nopt; i++) {
        int rc = run_option(c, ra, p->opt[i].id, p->opt[i].arg);
        if (rc)
            return rc;
    }
    if (ra->fo.cancel_on_timeout && ra->fo.timeout_s <= 0)
        return cli_usage_error(c, "--cancel-on-timeout needs --timeout S");
    if ((ra->fo.timeout_s > 0 || ra->fo.detach) && !ra->wait)
        return cli_usage_error(c, "--timeout and --detach only make sense with --wait");
    if (json_object_object_length(ra->params) > 0)
        json_object_object_add(ra->opts, "inputParams", json_object_get(ra->params));
    if (json_object_array_length(ra->notify) > 0)
        json_object_object_add(ra->opts, "notifications", json_object_get(ra->notify));
    return 0;
}

static int submit_and_report(cli *c, const char *project, run_args *ra)
{
    const char *opts = json_object_to_json_string_ext(ra->opts, JSON_C_TO_STRING_PLAIN);
    int64_t job;
    int rc = c->api.submit(c->client, project, opts, ra->idem_key, &job);
    if (rc != HEXRUN_OK)
        return cli_api_error(c, "submit", rc);
    int32_t state;
    if ((rc = await_submission(c, job, &ra->fo, &state)) != 0)
        return rc;
    if (ra->wait && !c->api.state_is_terminal(state))
        return follow_job(c, job, &ra->fo);
    report_job(c, job, state);
    return state == HEXRUN_STATE_SUBMIT_FAILED || state == HEXRUN_STATE_SUBMIT_UNKNOWN
               ? EXIT_API
               : (c->api.state_is_terminal(state) ? exit_for_state(state) : EXIT_OK);
}

static int cmd_run(cli *c, const parsed *p)
{
    run_args ra = {.opts = json_object_new_object(),
                   .params = json_object_new_object(),
                   .notify = json_object_new_array()};
    ra.fo.show_progress = !c->quiet && !c->json;
    c->reports_job_errors = 1;
    int rc = build_run_args(c, p, &ra);
    if (!rc && !(rc = cli_connect(c)))
        rc = submit_and_report(c, p->pos[0], &ra);
    json_object_put(ra.opts);
    json_object_put(ra.params);
    json_object_put(ra.notify);
    return rc;
}

static const opt_spec run_opts[] = {
    {"param", "NAME=VALUE", O_PARAM,
     "an input parameter (string); NAME:=JSON for a typed "
     "value (number, boolean, list); repeatable"},
    {"params-json", "FILE", O_PARAMS_JSON, "input parameters from a JSON object file"},
    {"dry-run", NULL, O_DRY_RUN, "validate only; Hex starts no run"},
    {"no-cache", NULL, O_NO_CACHE, "do not use cached SQL results"},
    {"update-published", NULL, O_UPDATE_PUBLISHED,
     "update the published results "
     "(not with --param)"},
    {"view", "ID", O_VIEW, "run a saved view (not with --param)"},
    {"notify", "SPEC", O_NOTIFY,
     "SUCCESS|FAILURE|ALL[,slack=ID][,user=ID][,group=ID]"
     "[,screenshot]; repeatable"},
    {"wait", NULL, O_WAIT, "wait for the run to end, showing its progress"},
    {"timeout", "S", O_TIMEOUT, "with --wait: give up after S seconds (exit 4)"},
    {"cancel-on-timeout", NULL, O_CANCEL_ON_TIMEOUT, "with --timeout: cancel the run then"},
    {"idempotency-key", "KEY", O_IDEMPOTENCY_KEY,
     "name this submit: a repeat with the same "
     "key does not start a second run"},
    {"detach", NULL, O_DETACH,
     "with --wait: Ctrl-C leaves the run going instead of "
     "cancelling it"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_run_def = {
    "run",
    "PROJECT_ID [options]",
    "Start a run of a published Hex project.",
    "Without --wait, prints the run id and URL once Hex accepted the run. With --wait, shows\n"
    "a live progress line on a terminal (plain lines otherwise) and exits with the run's\n"
    "outcome; Ctrl-C cancels the Hex run and waits for KILLED (unless --detach).",
    run_opts,
    1,
    1,
    cmd_run,
};

/* ---------------------------------------------------------------- wait ---- */

enum { W_TIMEOUT = 1, W_CANCEL_ON_TIMEOUT, W_DETACH };

static int cmd_wait(cli *c, const parsed *p)
{
    follow_opts fo = {.show_progress = !c->quiet && !c->json, .detach = 1};
    for (int i = 0; i < p->nopt; i++) {
        if (p->opt[i].id == W_TIMEOUT && cli_seconds(c, "--timeout", p->opt[i].arg, &fo.timeout_s))
            return EXIT_USAGE;
        if (p->opt[i].id == W_CANCEL_ON_TIMEOUT)
            fo.cancel_on_timeout = 1;
    }
    if (fo.cancel_on_timeout && fo.timeout_s <= 0)
        return cli_usage_error(c, "--cancel-on-timeout needs --timeout S");
    c->reports_job_errors = 1;
    int rc = cli_connect(c);
    if (rc)
        return rc;
    int64_t job;
    if ((rc = c->api.attach(c->client, p->pos[0], p->pos[1], &job)) != HEXRUN_OK)
        return cli_api_error(c, "attach", rc);
    return follow_job(c, job, &fo);
}

static const opt_spec wait_opts[] = {
    {"timeout", "S", W_TIMEOUT, "give up after S seconds (exit 4)"},
    {"cancel-on-timeout", NULL, W_CANCEL_ON_TIMEOUT, "with --timeout: cancel the run then"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_wait_def = {
    "wait",
    "PROJECT_ID RUN_ID [--timeout S] [--cancel-on-timeout]",
    "Wait for a run started elsewhere to end; exit with its outcome.",
    "Ctrl-C stops waiting and leaves the run alone (use `cancel` to stop it).",
    wait_opts,
    2,
    2,
    cmd_wait,
};

/* ---------------------------------------------------------------- status ---- */

static void print_run_fields(json_object *run)
{
    json_object *v;
    double ms = -1;
    if (json_object_object_get_ex(run, "elapsedTime", &v) && v)
        ms = json_object_get_double(v);
    char start[32], end[32], dur[32];
    out_time(out_str(run, "startTime"), start, sizeof start);
    out_time(out_str(run, "endTime"), end, sizeof end);
    out_duration(ms, dur, sizeof dur);
    const char *keys[][2] = {
        {"run", out_str(run, "runId")},
        {"project", out_str(run, "projectId")},
        {"status", out_str(run, "status")},
        {"trigger", out_str(run, "runTrigger")},
        {"start", start},
        {"end", end},
        {"elapsed", dur},
        {"url", out_str(run, "runUrl")},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        printf("%-8s %s\n", keys[i][0], keys[i][1] ? keys[i][1] : "-");
}

static int cmd_status(cli *c, const parsed *p)
{
    int rc = cli_connect(c);
    if (rc)
        return rc;
    if (!c->api.run_get)
        return cli_missing(c, "hexrun_run_get");
    char *text = NULL;
    if ((rc = c->api.run_get(c->client, p->pos[0], p->pos[1], &text)) != HEXRUN_OK)
        return cli_api_error(c, "status", rc);
    json_object *run = json_tokener_parse(text);
    c->api.free(text);
    if (!run)
        return cli_fail(c, EXIT_API, "status: the plugin returned invalid JSON");
    if (c->json)
        out_json_line(stdout, run);
    else
        print_run_fields(run);
    json_object_put(run);
    return EXIT_OK;
}

static const opt_spec no_opts[] = {{NULL, NULL, 0, NULL}};

const cmd_def cmd_status_def = {
    "status", "PROJECT_ID RUN_ID", "Show one run's status, times and URL.", NULL, no_opts, 2,
    2,        cmd_status,
};

/* ---------------------------------------------------------------- cancel ---- */

static int valid_id(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

/* Polls GetRunStatus until the run shows a terminal status or the time is up. */
static json_object *await_killed(cli *c, const char *project, const char *run, double limit_s)
{
    double until = cli_now() + limit_s;
    json_object *last = NULL;
    while (c->api.run_get) {
        char *text = NULL;
        if (c->api.run_get(c->client, project, run, &text) != HEXRUN_OK)
            break;
        json_object_put(last);
        last = json_tokener_parse(text);
        c->api.free(text);
        const char *st = out_str(last, "status");
        if ((st && strcmp(st, "PENDING") && strcmp(st, "RUNNING")) || cli_now() >= until ||
            cli_interrupted)
            break;
        usleep(250 * 1000);
    }
    return last;
}

enum { C_TIMEOUT = 1 };

static int cmd_cancel(cli *c, const parsed *p)
{
    double timeout_s = 30;
    for (int i = 0; i < p->nopt; i++)
        if (p->opt[i].id == C_TIMEOUT && cli_seconds(c, "--timeout", p->opt[i].arg, &timeout_s))
            return EXIT_USAGE;
    if (!valid_id(p->pos[0]) || !valid_id(p->pos[1]))
        return cli_usage_error(c, "'%s' is not a valid id",
                               valid_id(p->pos[0]) ? p->pos[1] : p->pos[0]);
    int rc = cli_connect(c);
    if (rc)
        return rc;
    if (!c->api.request)
        return cli_missing(c, "hexrun_request");
    char path[256], *body = NULL;
    snprintf(path, sizeof path, "/v1/projects/%s/runs/%s", p->pos[0], p->pos[1]);
    rc = c->api.request(c->client, "DELETE", path, NULL, NULL, &body);
    c->api.free(body);
    if (rc != HEXRUN_OK)
        return cli_api_error(c, "cancel", rc);
    json_object *run = await_killed(c, p->pos[0], p->pos[1], timeout_s);
    const char *st = out_str(run, "status");
    if (c->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "runId", json_object_new_string(p->pos[1]));
        json_object_object_add(o, "cancelled", json_object_new_boolean(1));
        json_object_object_add(o, "status", st ? json_object_new_string(st) : NULL);
        out_json_line(stdout, o);
        json_object_put(o);
    } else {
        printf("cancelled run %s: %s\n", p->pos[1], st ? st : "cancel requested");
    }
    json_object_put(run);
    return EXIT_OK;
}

static const opt_spec cancel_opts[] = {
    {"timeout", "S", C_TIMEOUT, "wait up to S seconds for Hex to report KILLED (default 30)"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_cancel_def = {
    "cancel", "PROJECT_ID RUN_ID", "Cancel a run and wait until Hex reports it KILLED.",
    NULL,     cancel_opts,         2,
    2,        cmd_cancel,
};
