/*
 * api.c - the client and the library's own entry points: versions, plugin info, init,
 * shutdown, stats; see api_int.h. The job verbs are in api_jobs.c, the direct calls in
 * api_direct.c; everything that talks to Hex goes through the engine.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_int.h"
#include "buf.h"
#include "errors.h"
#include "hex.h"

uint32_t hexrun_abi_version(void)
{
    return HEXRUN_ABI_VERSION;
}

const char *hexrun_version(void)
{
    return HEXRUN_VERSION_STRING;
}

void hexrun_free(void *ptr)
{
    free(ptr);
}

int hexrun_plugin_info(char **out)
{
    hexrun__error_clear();
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_plugin_info: out is NULL");
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appendf(&b,
                        "{\"name\":\"hexrun\",\"version\":\"%s\",\"abi\":{\"major\":%d,"
                        "\"minor\":%d},\"capabilities\":[\"submit\",\"poll\",\"wait\","
                        "\"wait_any\",\"cancel\",\"attach\",\"submit_or_adopt\","
                        "\"job_info\",\"stats\","
                        "\"runs_list\",\"projects\",\"users\",\"groups\",\"connections\","
                        "\"collections\",\"request\"],\"config_keys\":[",
                        HEXRUN_VERSION_STRING, HEXRUN_ABI_MAJOR, HEXRUN_ABI_MINOR);
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        hexrun__buf_appends(&b, i ? "," : "");
        hexrun__buf_append_json_str(&b, hexrun__config_key_at(i)->name);
    }
    hexrun__buf_appends(&b, "]}");
    *out = hexrun__buf_steal(&b);
    return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

/* ---- client ---- */

int hexrun__api_client_check(const hexrun_client *client, const char *fn)
{
    hexrun__error_clear();
    if (!client)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: client is NULL", fn);
    if (client->pid != getpid())
        return hexrun__error_set(HEXRUN_E_FORKED,
                                 "%s: this client was created by process %ld; create a new "
                                 "client after fork()",
                                 fn, (long)client->pid);
    return HEXRUN_OK;
}

static void client_free(hexrun_client *c)
{
    hexrun__log_free(c->log);
    hexrun_config_free(c->cfg);
    free(c);
}

/* A token file that others can read leaks the token to every local user. */
static void warn_open_token_file(hexrun_client *c)
{
    struct stat st;
    const char *path = c->cfg->token_file;
    if (path && stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        hexrun__log_write(c->log, HEXRUN_LOG_WARN,
                          "event=token_file_permissions path=%s mode=%03o the token file is "
                          "readable by group or others; chmod 600 it",
                          path, (unsigned)(st.st_mode & 0777));
}

static int client_make(hexrun_client *c, const hexrun_config *cfg)
{
    char err[HEXRUN__ERR_MAX] = "";
    if (!(c->cfg = hexrun__config_copy(cfg)))
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_init: out of memory");
    int rc = hexrun__config_resolve(c->cfg, err, sizeof err);
    if (rc != HEXRUN_OK)
        return hexrun__error_set(rc, "hexrun_init: %s", err);
    const char *secrets[] = {c->cfg->token, NULL};
    if (!(c->log = hexrun__log_new((int)c->cfg->log_level, c->cfg->log_fn, c->cfg->log_user_data,
                                   secrets)))
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_init: out of memory");
    if (hexrun__jobs_init(&c->jobs))
        return hexrun__error_set(HEXRUN_E_INTERNAL, "hexrun_init: cannot create a mutex");
    c->jobs.log = c->log;
    rc = hexrun__engine_new(c->cfg, &c->jobs, c->log, &c->engine, err, sizeof err);
    if (rc != HEXRUN_OK) {
        hexrun__jobs_destroy(&c->jobs);
        return hexrun__error_set(rc, "hexrun_init: %s", err);
    }
    if (c->cfg->insecure_skip_verify)
        hexrun__log_write(c->log, HEXRUN_LOG_WARN,
                          "event=insecure_skip_verify TLS certificates are NOT verified");
    if (hexrun__config_cleartext_remote(c->cfg))
        hexrun__log_write(c->log, HEXRUN_LOG_WARN,
                          "event=cleartext base_url=%s the token travels unencrypted "
                          "(allow_cleartext=true)",
                          c->cfg->base_url);
    warn_open_token_file(c);
    return HEXRUN_OK;
}

int hexrun_init(const hexrun_config *cfg, hexrun_client **out)
{
    hexrun__error_clear();
    if (!cfg || !out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_init: cfg and out must not "
                                                       "be NULL");
    hexrun_client *c = calloc(1, sizeof *c);
    if (!c)
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_init: out of memory");
    c->pid = getpid();
    int rc = client_make(c, cfg);
    if (rc != HEXRUN_OK) {
        client_free(c);
        return rc;
    }
    *out = c;
    return HEXRUN_OK;
}

int hexrun_shutdown(hexrun_client *client, uint32_t flags)
{
    hexrun__error_clear();
    if (!client)
        return HEXRUN_OK;
    int rc = hexrun__api_client_check(client, "hexrun_shutdown");
    if (rc != HEXRUN_OK)
        return rc;
    if (flags & ~(uint32_t)(HEXRUN_SHUTDOWN_CANCEL_LIVE | HEXRUN_SHUTDOWN_DETACH))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_shutdown: unknown flags 0x%x",
                                 (unsigned)flags);
    int cancel = (flags & HEXRUN_SHUTDOWN_CANCEL_LIVE) ||
                 (client->cfg->cancel_on_free && !(flags & HEXRUN_SHUTDOWN_DETACH));
    pthread_mutex_lock(&client->jobs.mu);
    client->shutting_down = 1;
    pthread_cond_broadcast(&client->jobs.cv);
    pthread_mutex_unlock(&client->jobs.mu);
    /* The engine waits (at most timeout_ms) only for cancels still in flight. */
    char why[HEXRUN__MSG_MAX]; /* may quote a job's last error */
    rc = hexrun__engine_stop(client->engine, cancel,
                             (flags & HEXRUN_SHUTDOWN_DETACH) ? 0 : client->cfg->timeout_ms, why,
                             sizeof why);
    pthread_mutex_lock(&client->jobs.mu);
    while (client->waiters > 0)
        pthread_cond_wait(&client->jobs.cv, &client->jobs.mu);
    pthread_mutex_unlock(&client->jobs.mu);
    hexrun__jobs_destroy(&client->jobs);
    client_free(client);
    if (rc != HEXRUN_OK)
        hexrun__error_set(rc, "hexrun_shutdown: %s", why);
    return rc;
}

int hexrun_stats(hexrun_client *client, char **out)
{
    int rc = hexrun__api_client_check(client, "hexrun_stats");
    if (rc != HEXRUN_OK)
        return rc;
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_stats: out is NULL");
    pthread_mutex_lock(&client->jobs.mu);
    *out = hexrun__engine_stats_json(client->engine);
    pthread_mutex_unlock(&client->jobs.mu);
    return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

int hexrun__api_check_uuid(const char *fn, const char *what, const char *id)
{
    if (!id)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "%s: %s is NULL", fn, what);
    if (!hexrun__hex_is_uuid(id))
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "%s: %s '%.80s' is not a UUID "
                                 "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                                 fn, what, id);
    return HEXRUN_OK;
}
