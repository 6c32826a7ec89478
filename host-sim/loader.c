/* loader.c - dlopen the plugin and resolve its symbols (see loader.h). */
#include "loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLUGIN_FILE "libhexrun.so." /* + the ABI major */

typedef struct symbol {
    const char *name;
    size_t offset;
    int required;
} symbol;

/* clang-format 14 would spread a braced macro body over four lines */
/* clang-format off */
#define REQ(n) {"hexrun_" #n, offsetof(hexrun_api, n), 1}
#define OPT(n) {"hexrun_" #n, offsetof(hexrun_api, n), 0}
/* clang-format on */
static const symbol symbols[] = {
    REQ(abi_version),
    REQ(version),
    REQ(strerror),
    REQ(last_error),
    REQ(state_name),
    REQ(state_is_terminal),
    REQ(free),
    REQ(config_new),
    REQ(config_free),
    REQ(config_set),
    REQ(init),
    REQ(shutdown),
    REQ(submit),
    REQ(attach),
    REQ(poll),
    REQ(wait),
    REQ(cancel),
    REQ(job_info),
    REQ(job_release),
    OPT(plugin_info),
    OPT(config_get),
    OPT(config_set_log),
    OPT(stats),
    OPT(wait_any),
    OPT(request),
    OPT(run_get),
    OPT(runs_list),
    OPT(projects_list),
    OPT(users_list),
    OPT(user_deactivate),
    OPT(groups_list),
    OPT(group_create),
    OPT(group_edit),
    OPT(group_delete),
    OPT(connections_list),
    OPT(collections_list),
};
#undef REQ
#undef OPT

/* libhexrun.so.N beside /proc/self/exe, if that file exists. */
static int path_beside_exe(char *out, size_t size)
{
    char exe[PATH_MAX - 64]; /* room for the file name in out */
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return -1;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(out, size, "%s/" PLUGIN_FILE "%d", exe, HEXRUN_ABI_MAJOR);
    return access(out, F_OK) == 0 ? 0 : -1;
}

static void choose_path(hexrun_api *api, const char *explicit_path)
{
    const char *env = getenv("HEXRUN_PLUGIN");
    if (explicit_path && *explicit_path)
        snprintf(api->path, sizeof api->path, "%s", explicit_path);
    else if (env && *env)
        snprintf(api->path, sizeof api->path, "%s", env);
    else if (path_beside_exe(api->path, sizeof api->path) != 0)
        snprintf(api->path, sizeof api->path, PLUGIN_FILE "%d", HEXRUN_ABI_MAJOR);
}

/* The ABI comes first: no other symbol is trusted before the major is known to match. */
static int check_abi(hexrun_api *api, char *err, size_t n)
{
    void *sym = dlsym(api->handle, "hexrun_abi_version");
    if (!sym) {
        snprintf(err, n, "%s is not a hexrun plugin (no hexrun_abi_version)", api->path);
        return -1;
    }
    api->abi_version = (__typeof__(api->abi_version))sym;
    api->abi = api->abi_version();
    if (api->abi >> 16 != HEXRUN_ABI_MAJOR) {
        snprintf(err, n,
                 "%s has ABI %u.%u; this hexrun-host needs ABI major %d "
                 "(libhexrun.so.%d)",
                 api->path, api->abi >> 16, api->abi & 0xffff, HEXRUN_ABI_MAJOR, HEXRUN_ABI_MAJOR);
        return -1;
    }
    return 0;
}

static int resolve_symbols(hexrun_api *api, char *err, size_t n)
{
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *sym = dlsym(api->handle, symbols[i].name);
        if (!sym && symbols[i].required) {
            snprintf(err, n, "%s lacks the required symbol %s", api->path, symbols[i].name);
            return -1;
        }
        /* POSIX guarantees data and function pointers convert through dlsym's void *. */
        memcpy((char *)api + symbols[i].offset, &sym, sizeof sym);
    }
    return 0;
}

int loader_open(hexrun_api *api, const char *explicit_path, char *err, size_t n)
{
    memset(api, 0, sizeof *api);
    choose_path(api, explicit_path);
    api->handle = dlopen(api->path, RTLD_NOW | RTLD_LOCAL);
    if (!api->handle) {
        snprintf(err, n, "cannot load plugin %s: %s (use --plugin PATH or HEXRUN_PLUGIN)",
                 api->path, dlerror());
        return -1;
    }
    if (check_abi(api, err, n) != 0 || resolve_symbols(api, err, n) != 0) {
        loader_close(api);
        return -1;
    }
    return 0;
}

void loader_close(hexrun_api *api)
{
    if (api->handle)
        dlclose(api->handle);
    api->handle = NULL;
}
