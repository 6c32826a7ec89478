/* cmd_info.c - which plugin was loaded and what it offers. */
#include "cmds.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

static int cmd_info(cli *c, const parsed *p)
{
    (void)p;
    int rc = cli_load(c);
    if (rc)
        return rc;
    char *text = NULL;
    json_object *info = NULL;
    if (c->api.plugin_info && c->api.plugin_info(&text) == HEXRUN_OK)
        info = json_tokener_parse(text);
    c->api.free(text);
    if (!info)
        info = json_object_new_object();
    json_object_object_add(info, "path", json_object_new_string(c->api.path));
    json_object_object_add(info, "host_version", json_object_new_string(HEXRUN_VERSION_STRING));
    if (c->json) {
        out_json_line(stdout, info);
    } else {
        printf("plugin   %s\nversion  %s\nabi      %u.%u\nhost     hexrun-host %s\n", c->api.path,
               c->api.version(), c->api.abi >> 16, c->api.abi & 0xffff, HEXRUN_VERSION_STRING);
        json_object *caps;
        if (json_object_object_get_ex(info, "capabilities", &caps))
            printf("offers   %s\n", json_object_to_json_string_ext(caps, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(info);
    return EXIT_OK;
}

static const opt_spec info_opts[] = {{NULL, NULL, 0, NULL}};

const cmd_def cmd_info_def = {
    "info", "",        "Show the loaded plugin: path, version, ABI and capabilities.",
    NULL,   info_opts, 0,
    0,      cmd_info,
};

/* --version: this program's version, then the plugin it would load (or why it cannot);
 * exit 0 either way, so a broken installation can still say what it is. */
static int cmd_version(cli *c, const parsed *p)
{
    (void)p;
    printf("hexrun-host %s\n", HEXRUN_VERSION_STRING);
    char err[4096 + 256];
    if (loader_open(&c->api, c->plugin_path, err, sizeof err) != 0) {
        printf("plugin   %s\n", err);
        return EXIT_OK;
    }
    printf("plugin   %s (libhexrun %s, ABI %u.%u)\n", c->api.path, c->api.version(),
           c->api.abi >> 16, c->api.abi & 0xffff);
    return EXIT_OK;
}

const cmd_def cmd_version_def = {
    "--version", "",          "Show the versions of hexrun-host and of the plugin it loads.",
    NULL,        info_opts,   0,
    0,           cmd_version,
};
