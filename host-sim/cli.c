/* cli.c - option parsing, plugin and client lifetime, errors and signals (see cli.h). */
#include "cli.h"
#include "out.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t cli_interrupted;
volatile sig_atomic_t cli_hangup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        cli_hangup = 1;
    else
        cli_interrupted++;
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { G_PLUGIN = -100, G_BASE_URL, G_TOKEN_FILE, G_LOG_LEVEL, G_CONFIG, G_JSON, G_QUIET, G_HELP };

static const opt_spec global_opts[] = {
    {"plugin", "PATH", G_PLUGIN,
     "the plugin to load (default: $HEXRUN_PLUGIN, then "
     "libhexrun.so.1 beside hexrun-host, then the system's)"},
    {"base-url", "URL", G_BASE_URL,
     "Hex base URL (default: $HEX_API_BASE_URL, then "
     "https://app.hex.tech)"},
    {"token-file", "FILE", G_TOKEN_FILE,
     "read the API token from FILE (default: "
     "$HEX_API_TOKEN)"},
    {"log-level", "LEVEL", G_LOG_LEVEL, "plugin log level on stderr: error, warn, info, debug"},
    {"config", "KEY=VALUE", G_CONFIG,
     "any plugin configuration key (docs/config.md), e.g. "
     "run_budget_per_min=600; repeatable"},
    {"json", NULL, G_JSON, "machine output: one JSON object per line"},
    {"quiet", NULL, G_QUIET, "print only results and errors (no progress)"},
    {"help", NULL, G_HELP, "show this help"},
    {NULL, NULL, 0, NULL},
};

static const opt_spec *find_opt(const opt_spec *specs, const char *name, size_t len)
{
    for (; specs && specs->name; specs++)
        if (strlen(specs->name) == len && strncmp(specs->name, name, len) == 0)
            return specs;
    return NULL;
}

static int apply_global(cli *c, int id, const char *arg)
{
    switch (id) {
    case G_CONFIG:
        if (!strchr(arg, '=') || arg[0] == '=')
            return cli_usage_error(c, "--config '%s': expected KEY=VALUE", arg);
        if (c->nconfig == CLI_MAX_CONFIG)
            return cli_usage_error(c, "too many --config options");
        c->config[c->nconfig++] = arg;
        break;
    case G_PLUGIN:
        c->plugin_path = arg;
        break;
    case G_BASE_URL:
        c->base_url = arg;
        break;
    case G_TOKEN_FILE:
        c->token_file = arg;
        break;
    case G_LOG_LEVEL:
        c->log_level = arg;
        break;
    case G_JSON:
        c->json = 1;
        break;
    case G_QUIET:
        c->quiet = 1;
        break;
    default:
        break;
    }
    return 0;
}

/* One "--name[=value]" at argv[*i]; may consume the next argument as the value. */
static int parse_long(cli *c, int argc, char **argv, int *i, parsed *out, int *help)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt_spec *o = find_opt(c->cmd->opts, name, len);
    if (!o)
        o = find_opt(global_opts, name, len);
    if (!o)
        return cli_usage_error(c, "unknown option '--%.*s'", (int)len, name);
    const char *arg = NULL;
    if (o->arg) {
        if (eq)
            arg = eq + 1;
        else if (*i + 1 < argc)
            arg = argv[++*i];
        else
            return cli_usage_error(c, "option '--%s' needs a value (%s)", o->name, o->arg);
    } else if (eq) {
        return cli_usage_error(c, "option '--%s' takes no value", o->name);
    }
    if (o->id == G_HELP)
        *help = 1;
    else if (o->id < 0)
        return apply_global(c, o->id, arg);
    else if (out->nopt == CLI_MAX_OPTS)
        return cli_usage_error(c, "too many options");
    else {
        out->opt[out->nopt].id = o->id;
        out->opt[out->nopt++].arg = arg;
    }
    return 0;
}

int cli_parse(cli *c, const cmd_def *cmd, int argc, char **argv, parsed *out)
{
    memset(out, 0, sizeof *out);
    c->cmd = cmd;
    int help = 0, only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (!only_pos && strcmp(a, "--") == 0)
            only_pos = 1;
        else if (!only_pos && strcmp(a, "-h") == 0)
            help = 1;
        else if (!only_pos && strncmp(a, "--", 2) == 0)
            rc = parse_long(c, argc, argv, &i, out, &help);
        else if (!only_pos && a[0] == '-' && a[1] != '\0')
            rc = cli_usage_error(c, "unknown option '%s' (options are long: --name)", a);
        else if (out->npos == CLI_MAX_POS)
            rc = cli_usage_error(c, "too many arguments");
        else
            out->pos[out->npos++] = a;
        if (rc)
            return rc;
    }
    if (help) {
        cli_print_help(cmd);
        return -1;
    }
    if (out->npos < cmd->min_pos)
        return cli_usage_error(c, "missing argument: usage: hexrun-host %s %s", cmd->name,
                               cmd->usage);
    if (out->npos > cmd->max_pos)
        return cli_usage_error(c, "unexpected argument '%s'", out->pos[cmd->max_pos]);
    return 0;
}

static void print_opts(const opt_spec *o)
{
    for (; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-26s %s\n", left, o->help);
    }
}

void cli_print_help(const cmd_def *cmd)
{
    printf("Usage: hexrun-host %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->details)
        printf("\n%s\n", cmd->details);
    if (cmd->opts && cmd->opts->name) {
        printf("\nOptions:\n");
        print_opts(cmd->opts);
    }
    printf("\nCommon options:\n");
    print_opts(global_opts);
}

static void vreport(const cli *c, const char *fmt, va_list ap)
{
    /* The message may quote Hex's words or an argument: print it with controls visible. */
    char msg[4096], clean[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    out_clean(msg, clean, sizeof clean);
    fprintf(stderr, "hexrun-host%s%s: %s\n", c->cmd ? " " : "", c->cmd ? c->cmd->name : "", clean);
}

int cli_usage_error(const cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    if (c->cmd)
        fprintf(stderr, "Try 'hexrun-host %s --help'.\n", c->cmd->name);
    else
        fprintf(stderr, "Try 'hexrun-host --help'.\n");
    return EXIT_USAGE;
}

int cli_fail(const cli *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    return code;
}

static int exit_code_for(int rc)
{
    switch (rc) {
    case HEXRUN_E_INVALID_ARG:
    case HEXRUN_E_CONFIG:
        return EXIT_USAGE;
    case HEXRUN_E_TIMEOUT:
        return EXIT_TIMEOUT;
    default:
        return EXIT_API;
    }
}

/* The plugin's messages may start with the C function they come from ("hexrun_init: ");
 * a user of the command line has no use for it. */
static const char *without_function_name(const char *msg)
{
    if (strncmp(msg, "hexrun_", 7) != 0)
        return msg;
    size_t len = strspn(msg + 7, "abcdefghijklmnopqrstuvwxyz_");
    return strncmp(msg + 7 + len, ": ", 2) == 0 ? msg + 7 + len + 2 : msg;
}

int cli_api_error(const cli *c, const char *what, int rc)
{
    const char *detail = c->api.last_error ? c->api.last_error() : NULL;
    detail = detail ? without_function_name(detail) : "";
    return cli_fail(c, exit_code_for(rc), "%s: %s%s%s", what, c->api.strerror(rc),
                    *detail ? ": " : "", detail);
}

int cli_load(cli *c)
{
    if (c->api.handle)
        return 0;
    char err[4096 + 256];
    if (loader_open(&c->api, c->plugin_path, err, sizeof err) != 0)
        return cli_fail(c, EXIT_PLUGIN, "%s", err);
    return 0;
}

/* A job failure the plugin logs and the command also reports (from hexrun_job_info). */
static int is_job_failure_event(const char *message)
{
    static const char *const events[] = {
        "event=request_failed job=", "event=submit_unknown job=", "event=out_of_memory job="};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (strncmp(message, events[i], strlen(events[i])) == 0)
            return 1;
    return 0;
}

/* Job failure lines held back from stderr until the command knows whether it reports
 * them itself (cli_next_held_log), oldest first. */
typedef struct held_line {
    int64_t job;
    char *text;
    struct held_line *next;
} held_line;
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static held_line *held_head, **held_tail = &held_head;

static void hold(int64_t job, char *text)
{
    held_line *h = malloc(sizeof *h);
    if (!h) {
        fputs(text, stderr); /* better twice than never */
        free(text);
        return;
    }
    *h = (held_line){job, text, NULL};
    pthread_mutex_lock(&held_mu);
    *held_tail = h;
    held_tail = &h->next;
    pthread_mutex_unlock(&held_mu);
}

/* The last jobs whose failure the command printed (cli_job_reported). The plugin hands its
 * engine's log lines over once it holds no lock, so a job's failure line may arrive after
 * its state was seen and reported: such a line is dropped, not printed a second time. It
 * arrives moments later, so a ring of the latest jobs is enough, however long the command
 * runs (a scheduler reports failures for days). */
#define REPORTED_MAX 256
static int64_t reported[REPORTED_MAX];
static size_t n_reported, reported_next;

void cli_job_reported(int64_t job)
{
    pthread_mutex_lock(&held_mu);
    reported[reported_next] = job;
    reported_next = (reported_next + 1) % REPORTED_MAX;
    if (n_reported < REPORTED_MAX)
        n_reported++;
    pthread_mutex_unlock(&held_mu);
}

static int job_was_reported(int64_t job)
{
    pthread_mutex_lock(&held_mu);
    int found = 0;
    for (size_t i = 0; i < n_reported && !found; i++)
        found = reported[i] == job;
    pthread_mutex_unlock(&held_mu);
    return found;
}

char *cli_next_held_log(int64_t *job)
{
    pthread_mutex_lock(&held_mu);
    held_line *h = held_head;
    if (h && !(held_head = h->next))
        held_tail = &held_head;
    pthread_mutex_unlock(&held_mu);
    if (!h)
        return NULL;
    char *text = h->text;
    *job = h->job;
    free(h);
    return text;
}

/* The job has ended, and not with COMPLETED: the command reports its last error. */
static int ended_in_failure(cli *c, int64_t job)
{
    int32_t state;
    return c->api.poll(c->client, job, &state) == HEXRUN_OK &&
           c->api.state_is_terminal(state) == 1 && state != HEXRUN_STATE_COMPLETED;
}

void cli_release_held_log(cli *c)
{
    enum { BATCH = 256 };
    int64_t jobs[BATCH];
    char *lines[BATCH];
    size_t n;
    do {
        n = 0;
        while (n < BATCH && (lines[n] = cli_next_held_log(&jobs[n])))
            n++;
        for (size_t i = 0; i < n; i++) {
            int later = 0;
            for (size_t k = i + 1; k < n; k++)
                later |= jobs[k] == jobs[i];
            if (!job_was_reported(jobs[i]) && (later || !ended_in_failure(c, jobs[i])))
                fputs(lines[i], stderr);
            free(lines[i]);
        }
    } while (n == BATCH);
}

/* The plugin's log on stderr, in the plugin's own format; a job's failure is held back
 * when the command reports job failures itself. Called from the plugin's threads: one
 * fprintf per line keeps lines whole. */
static void log_to_stderr(int32_t level, const char *message, void *user_data)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    const cli *c = user_data;
    const char *name = names[level >= 0 && level <= 3 ? level : 3];
    long long job;
    char *text = NULL;
    int failure = c->reports_job_errors && is_job_failure_event(message) &&
                  sscanf(strstr(message, " job=") + 5, "%lld", &job) == 1;
    if (failure && job_was_reported(job))
        return; /* printed already, by the command */
    if (failure && asprintf(&text, "hexrun level=%s %s\n", name, message) >= 0)
        hold(job, text);
    else
        fprintf(stderr, "hexrun level=%s %s\n", name, message);
}

/* --config KEY=VALUE: a key the plugin does not know is named as such (the plugin's own
 * message points C programmers at hexrun_plugin_info). */
static int set_config_option(cli *c, hexrun_config *cfg, const char *option)
{
    const char *eq = strchr(option, '=');
    char key[128], *value = NULL;
    snprintf(key, sizeof key, "%.*s", (int)(eq - option), option);
    if (c->api.config_get && c->api.config_get(cfg, key, &value) == HEXRUN_E_CONFIG)
        return cli_usage_error(c,
                               "--config: unknown configuration key '%s' (docs/config.md "
                               "lists the keys)",
                               key);
    c->api.free(value);
    /* Every local user can read a command line (ps, /proc) and shells keep it in history. */
    if (strcmp(key, "token") == 0)
        fprintf(stderr, "hexrun-host: warning: --config token=... puts the token on the "
                        "command line, where other users and the shell history can read it; "
                        "use HEX_API_TOKEN or --token-file instead\n");
    int rc = c->api.config_set(cfg, key, eq + 1);
    return rc == HEXRUN_OK ? 0 : cli_api_error(c, "--config", rc);
}

static int configure(cli *c, hexrun_config *cfg)
{
    const struct {
        const char *key, *value;
    } keys[] = {
        {"base_url", c->base_url},
        {"token_file", c->token_file},
        {"log_level", c->log_level},
        {"user_agent", "hexrun-host/" HEXRUN_VERSION_STRING},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!keys[i].value)
            continue;
        int rc = c->api.config_set(cfg, keys[i].key, keys[i].value);
        if (rc != HEXRUN_OK)
            return cli_api_error(c, "configuration", rc);
    }
    for (int i = 0; i < c->nconfig; i++) {
        int rc = set_config_option(c, cfg, c->config[i]);
        if (rc)
            return rc;
    }
    if (c->api.config_set_log)
        c->api.config_set_log(cfg, log_to_stderr, c);
    return 0;
}

/* hexrun_init failed for want of a token (and not for another configuration problem). */
static int no_token(const cli *c, int rc)
{
    const char *msg = c->api.last_error ? c->api.last_error() : NULL;
    return rc == HEXRUN_E_CONFIG && msg && strstr(msg, "no token");
}

int cli_connect(cli *c)
{
    if (c->client)
        return 0;
    int rc = cli_load(c);
    if (rc)
        return rc;
    hexrun_config *cfg = NULL;
    if ((rc = c->api.config_new(&cfg)) != HEXRUN_OK)
        return cli_api_error(c, "configuration", rc);
    int code = configure(c, cfg);
    if (!code && (rc = c->api.init(cfg, &c->client)) != HEXRUN_OK)
        code = cli_api_error(c,
                             no_token(c, rc) ? "cannot start the client (set HEX_API_TOKEN "
                                               "or --token-file)"
                                             : "cannot start the client",
                             rc);
    c->api.config_free(cfg);
    return code;
}

void cli_close(cli *c)
{
    /* First the shutdown: the engine's last lines reach the log before it returns. */
    if (c->client)
        c->api.shutdown(c->client, HEXRUN_SHUTDOWN_DETACH);
    c->client = NULL;
    int64_t job;
    for (char *line; (line = cli_next_held_log(&job)); free(line))
        if (!job_was_reported(job))
            fputs(line, stderr);
    loader_close(&c->api);
}

int cli_missing(const cli *c, const char *symbol)
{
    return cli_fail(c, EXIT_PLUGIN, "the plugin %s does not provide %s (too old?)", c->api.path,
                    symbol);
}

int cli_int(const cli *c, const char *opt, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return cli_usage_error(c, "%s must be an integer from %ld to %ld, not '%s'", opt, min, max,
                               text);
    *out = v;
    return 0;
}

int cli_seconds(const cli *c, const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0 || v > 1e7)
        return cli_usage_error(c, "%s must be a number of seconds >= 0, not '%s'", opt, text);
    *out = v;
    return 0;
}
