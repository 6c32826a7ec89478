/*
 * cli.h - what every hexrun-host subcommand shares: option parsing, the loaded plugin and
 * its client, exit codes, error messages and signal flags.
 */
#ifndef HEXRUN_HOST_CLI_H
#define HEXRUN_HOST_CLI_H

#include "loader.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes: documented in docs/hexrun-host.md and `hexrun-host --help`. */
enum {
    EXIT_OK = 0,           /* success (a run ended COMPLETED) */
    EXIT_RUN_FAILED = 1,   /* a run ended ERRORED, KILLED, UNABLE_TO_ALLOCATE_KERNEL or LOST */
    EXIT_USAGE = 2,        /* bad arguments, input file or configuration (e.g. no token) */
    EXIT_API = 3,          /* Hex refused the request, auth failed, or the network failed */
    EXIT_TIMEOUT = 4,      /* --timeout ran out before the run ended */
    EXIT_PLUGIN = 5,       /* the plugin is missing, broken or has another ABI major */
    EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM: the run was cancelled (or left, --detach) */
};

/* An option of a subcommand: arg is NULL for a flag, else the name of its value. */
typedef struct opt_spec {
    const char *name;
    const char *arg;
    int id;
    const char *help;
} opt_spec;

#define CLI_MAX_POS 16
#define CLI_MAX_OPTS 256

typedef struct parsed {
    const char *pos[CLI_MAX_POS];
    int npos;
    struct {
        int id;
        const char *arg;
    } opt[CLI_MAX_OPTS];
    int nopt;
} parsed;

typedef struct cli cli;

typedef struct cmd_def {
    const char *name;
    const char *usage;    /* after "hexrun-host NAME " */
    const char *summary;  /* one line for the command list */
    const char *details;  /* extra help text, or NULL */
    const opt_spec *opts; /* terminated by a {NULL} entry */
    int min_pos, max_pos;
    int (*run)(cli *c, const parsed *p);
} cmd_def;

#define CLI_MAX_CONFIG 32

struct cli {
    const cmd_def *cmd;
    const char *plugin_path, *base_url, *token_file, *log_level;
    const char *config[CLI_MAX_CONFIG]; /* "key=value" for hexrun_config_set */
    int nconfig;
    int json, quiet;
    /* The command prints each job's failure itself: the plugin's log line saying the
     * same is dropped (each error is printed once). */
    int reports_job_errors;
    hexrun_api api;
    hexrun_client *client;
};

extern volatile sig_atomic_t cli_interrupted; /* SIGINT or SIGTERM seen (count) */
extern volatile sig_atomic_t cli_hangup;      /* SIGHUP seen */
void cli_install_signals(void);

/* Returns 0, EXIT_USAGE after printing why, or -1 after printing --help. */
int cli_parse(cli *c, const cmd_def *cmd, int argc, char **argv, parsed *out);
void cli_print_help(const cmd_def *cmd);

/* Prints "hexrun-host CMD: message" and a --help hint; returns EXIT_USAGE. */
int cli_usage_error(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "hexrun-host CMD: message"; returns code. */
int cli_fail(const cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reports a failed plugin call (with hexrun_last_error, without the name of the C
 * function it comes from) and returns its exit code. */
int cli_api_error(const cli *c, const char *what, int rc);

/* With reports_job_errors: the next job failure line held back from the plugin's log
 * (its job in *job; the caller prints or drops it, and frees it), or NULL. cli_close
 * prints those left. */
char *cli_next_held_log(int64_t *job);

/* The command printed the job's failure itself: its failure lines arriving later are
 * dropped (each error is printed once). */
void cli_job_reported(int64_t job);

/* With reports_job_errors, called often (each wait slice, each scheduler tick, so held
 * lines never pile up): prints the held job failure lines, oldest first, but those the
 * command reports itself (each error is printed once): every line of a job it reported
 * (cli_job_reported), and the last line of a job that ended in failure, which it is about
 * to report. The others, failures a job lived through, are printed. */
void cli_release_held_log(cli *c);

/* Load the plugin (once). Returns 0 or EXIT_PLUGIN after printing why. */
int cli_load(cli *c);
/* Load the plugin and create the client (once). Returns 0 or an exit code. */
int cli_connect(cli *c);
/* Shut the client down (leaving live runs alone) and unload the plugin. */
void cli_close(cli *c);
/* An optional plugin symbol is missing: prints why and returns EXIT_PLUGIN. */
int cli_missing(const cli *c, const char *symbol);

int cli_int(const cli *c, const char *opt, const char *text, long min, long max, long *out);
int cli_seconds(const cli *c, const char *opt, const char *text, double *out);

/* Monotonic seconds. */
double cli_now(void);

#endif
