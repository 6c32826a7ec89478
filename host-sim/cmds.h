/* cmds.h - the subcommands of hexrun-host, one cmd_def each. */
#ifndef HEXRUN_HOST_CMDS_H
#define HEXRUN_HOST_CMDS_H

#include "cli.h"

extern const cmd_def cmd_run_def, cmd_status_def, cmd_wait_def, cmd_cancel_def;
extern const cmd_def cmd_runs_def, cmd_projects_def, cmd_users_def, cmd_groups_def,
    cmd_connections_def, cmd_collections_def;
extern const cmd_def cmd_schedule_def, cmd_load_def, cmd_info_def;
/* Reached as `hexrun-host --version`, not listed among the commands. */
extern const cmd_def cmd_version_def;

#endif
