/*
 * hexrun-host - the bundled host of libhexrun.so.1: a command-line tool for people and
 * crontabs (run, status, wait, cancel, lists), a cron scheduler and a load driver. It
 * dlopens the plugin like any orchestrator would and knows it only through hexrun.h.
 */
#include "cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_def *const commands[] = {
    &cmd_run_def,      &cmd_status_def, &cmd_wait_def,   &cmd_cancel_def,      &cmd_runs_def,
    &cmd_projects_def, &cmd_users_def,  &cmd_groups_def, &cmd_connections_def, &cmd_collections_def,
    &cmd_schedule_def, &cmd_load_def,   &cmd_info_def,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_main_help(FILE *f)
{
    fprintf(f, "Usage: hexrun-host [common options] COMMAND [args] [options]\n\n"
               "Trigger, watch and cancel Hex project runs through libhexrun.so.1.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\nCommon options (any command): --plugin PATH, --base-url URL, --token-file FILE,\n"
            "  --log-level LEVEL, --config KEY=VALUE, --json, --quiet, --help.\n"
            "  `hexrun-host COMMAND --help` shows a command's own options.\n"
            "\nEnvironment: HEX_API_TOKEN (the API token), HEX_API_BASE_URL (default\n"
            "  https://app.hex.tech), HEXRUN_PLUGIN (the plugin file).\n"
            "\nExit codes:\n"
            "  0    success (the run ended COMPLETED)\n"
            "  1    the run ended ERRORED, KILLED, UNABLE_TO_ALLOCATE_KERNEL or LOST\n"
            "  2    usage: bad arguments, input file or configuration (e.g. no token)\n"
            "  3    Hex refused the request, authentication failed, or the network failed\n"
            "  4    --timeout ran out before the run ended\n"
            "  5    the plugin is missing, broken, or has another ABI major\n"
            "  130  interrupted (Ctrl-C/SIGTERM): the run was cancelled, or left with --detach\n");
}

static const cmd_def *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

/* Common options that take a value when written without '=' (so the value is skipped). */
static int takes_value(const char *arg)
{
    static const char *const names[] = {"--plugin", "--base-url", "--token-file", "--log-level",
                                        "--config"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i]) == 0)
            return 1;
    return 0;
}

static int command_index(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-')
            return i;
        if (takes_value(argv[i]))
            i++;
    }
    return -1;
}

/* --version before any command: the whole command line is the version request. */
static int wants_version(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--version"))
            return 1;
    return 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "help"))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int ci = command_index(argc, argv);
    const cmd_def *cmd = NULL;
    if (ci < 0 && wants_version(argc, argv)) {
        cmd = &cmd_version_def; /* its common options (--plugin) apply */
        ci = argc;
    } else if (ci < 0) {
        if (wants_help(argc, argv)) {
            print_main_help(stdout);
            return EXIT_OK;
        }
        fprintf(stderr, "hexrun-host: missing command\n");
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    if (!cmd && strcmp(argv[ci], "help") == 0) {
        const cmd_def *topic = ci + 1 < argc ? find_command(argv[ci + 1]) : NULL;
        topic ? cli_print_help(topic) : print_main_help(stdout);
        return EXIT_OK;
    }
    if (!cmd)
        cmd = find_command(argv[ci]);
    if (!cmd) {
        fprintf(stderr, "hexrun-host: unknown command '%s'\nTry 'hexrun-host --help'.\n", argv[ci]);
        return EXIT_USAGE;
    }
    /* Common options may come before or after the command: parse them all together. */
    char **args = calloc((size_t)argc, sizeof *args);
    if (!args)
        return EXIT_USAGE;
    int n = 0;
    for (int i = 1; i < argc; i++)
        if (i != ci && (cmd != &cmd_version_def || strcmp(argv[i], "--version") != 0))
            args[n++] = argv[i];
    cli c = {0};
    parsed p;
    cli_install_signals();
    int rc = cli_parse(&c, cmd, n, args, &p);
    if (rc == 0)
        rc = cmd->run(&c, &p);
    else if (rc < 0)
        rc = EXIT_OK;
    cli_close(&c);
    free(args);
    return rc;
}
