/*
 * loader.h - find and dlopen libhexrun.so.1, check its ABI, resolve its symbols by name.
 *
 * hexrun-host sees the plugin only through this table, built from include/hexrun.h's
 * declarations, so a plugin is swappable at run time like any orchestrator's would be.
 */
#ifndef HEXRUN_HOST_LOADER_H
#define HEXRUN_HOST_LOADER_H

#include "hexrun.h"

#include <stddef.h>

#define HR_FN(name) __typeof__(&hexrun_##name) name

typedef struct hexrun_api {
    void *handle;
    char path[4096];
    uint32_t abi;
    /* Required: loading fails without them. */
    HR_FN(abi_version);
    HR_FN(version);
    HR_FN(strerror);
    HR_FN(last_error);
    HR_FN(state_name);
    HR_FN(state_is_terminal);
    HR_FN(free);
    HR_FN(config_new);
    HR_FN(config_free);
    HR_FN(config_set);
    HR_FN(init);
    HR_FN(shutdown);
    HR_FN(submit);
    HR_FN(attach);
    HR_FN(poll);
    HR_FN(wait);
    HR_FN(cancel);
    HR_FN(job_info);
    HR_FN(job_release);
    /* Optional: NULL when the plugin lacks them; the commands that need them say so. */
    HR_FN(plugin_info);
    HR_FN(config_get);
    HR_FN(config_set_log);
    HR_FN(stats);
    HR_FN(wait_any);
    HR_FN(request);
    HR_FN(run_get);
    HR_FN(runs_list);
    HR_FN(projects_list);
    HR_FN(users_list);
    HR_FN(user_deactivate);
    HR_FN(groups_list);
    HR_FN(group_create);
    HR_FN(group_edit);
    HR_FN(group_delete);
    HR_FN(connections_list);
    HR_FN(collections_list);
} hexrun_api;

#undef HR_FN

/*
 * Load the plugin. `explicit_path` (from --plugin) wins, then $HEXRUN_PLUGIN, then
 * libhexrun.so.1 next to this executable, then the system loader's search.
 * Returns 0, or -1 with a message naming the file and the problem in err.
 */
int loader_open(hexrun_api *api, const char *explicit_path, char *err, size_t err_size);
void loader_close(hexrun_api *api);

#endif
