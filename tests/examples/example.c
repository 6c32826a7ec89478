/* Run a Hex project and wait for it, then start another and cancel it.
 * The token and base URL come from HEX_API_TOKEN and HEX_API_BASE_URL.
 * Usage: example <project-id> <project-id-to-cancel> */
#include <hexrun.h>
#include <stdio.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", what, hexrun_strerror(rc), hexrun_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    hexrun_config *cfg;
    hexrun_client *client;
    int64_t job;
    int32_t state;
    int rc;

    if (argc != 3 || (hexrun_abi_version() >> 16) != HEXRUN_ABI_MAJOR)
        return 2;
    hexrun_config_new(&cfg);
    hexrun_config_set(cfg, "poll_min_ms", "200");
    rc = hexrun_init(cfg, &client);
    hexrun_config_free(cfg);
    if (rc)
        return fail("init", rc);

    rc = hexrun_submit(client, argv[1], "{\"inputParams\":{\"region\":\"eu\"}}", NULL, &job);
    if (rc)
        return fail("submit", rc);
    rc = hexrun_wait(client, job, 60000, &state);
    if (rc)
        return fail("wait", rc);
    char *info;
    hexrun_job_info(client, job, &info);
    printf("%s: %s\n", hexrun_state_name(state), info);
    hexrun_free(info);

    rc = hexrun_submit(client, argv[2], NULL, NULL, &job);
    if (rc)
        return fail("submit", rc);
    rc = hexrun_cancel(client, job);
    if (rc)
        return fail("cancel", rc);
    hexrun_wait(client, job, 60000, &state);
    printf("cancelled: %s\n", hexrun_state_name(state));

    hexrun_shutdown(client, HEXRUN_SHUTDOWN_DEFAULT);
    return state == HEXRUN_STATE_KILLED ? 0 : 1;
}
