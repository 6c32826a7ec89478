/* config.c - validated string key/value configuration; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "url.h"

#define DEFAULT_BASE_URL "https://app.hex.tech"
#define TOKEN_FILE_MAX 4096
/* Longer values are mistakes (or attacks): they would fail later as a transport error
 * that is retried (curl refuses headers and URLs that large). */
#define TOKEN_MAX 4096
#define STRING_MAX 4096
/* A CA bundle shows a PEM certificate within its first 64 KiB (comments first, at most). */
#define CA_PROBE_BYTES 65536

typedef enum { KEY_STR, KEY_URL, KEY_TOKEN, KEY_INT, KEY_BOOL, KEY_LEVEL, KEY_PGURL } key_type;
static const char *const type_names[] = {"string", "url",   "token",         "int",
                                         "bool",   "level", "postgresql-url"};

/*
 * The configuration keys: this table is the only list (librdkafka's style). Its order is
 * the documentation order: hexrun_plugin_info's config_keys, the key list in
 * include/hexrun.h and the table of docs/config.md follow it, and `make check-docs` fails
 * when they disagree (tests/support/config_table.c prints this table for that check).
 * Numbers, booleans and the level start at def; strings start unset (NULL).
 */
/* clang-format 14 would spread a braced macro body over four lines */
/* clang-format off */
#define KEY(n, t, d, lo, hi, doc) {#n, t, offsetof(struct hexrun_config, n), d, lo, hi, doc}
/* clang-format on */
#define STR_KEY(n, t, doc) KEY(n, t, 0, 0, 0, doc)
#define BOOL_KEY(n, d, doc) KEY(n, KEY_BOOL, d, 0, 1, doc)

static const hexrun__config_key keys[] = {
    STR_KEY(base_url, KEY_URL, "the Hex host; /api and the /v1 paths are appended"),
    STR_KEY(token, KEY_TOKEN, "the API token, sent as Authorization: Bearer"),
    STR_KEY(token_file, KEY_STR, "a file holding the token, read by hexrun_init"),
    KEY(timeout_ms, KEY_INT, 30000, 1, 3600000, "the limit of one HTTP attempt"),
    KEY(connect_timeout_ms, KEY_INT, 10000, 1, 600000, "connect and TLS handshake"),
    KEY(max_retries, KEY_INT, 5, 0, 100, "retries after the first attempt"),
    KEY(retry_base_ms, KEY_INT, 500, 1, 600000, "the first backoff bound"),
    KEY(retry_max_ms, KEY_INT, 30000, 1, 3600000, "the backoff cap"),
    KEY(poll_min_ms, KEY_INT, 1000, 1, 3600000, "the shortest time between two polls"),
    KEY(poll_max_ms, KEY_INT, 30000, 1, 3600000, "the longest sweep period"),
    STR_KEY(ca_file, KEY_STR, "a CA bundle (PEM) for TLS"),
    BOOL_KEY(insecure_skip_verify, 0, "no certificate checks"),
    STR_KEY(proxy, KEY_STR, "the HTTP(S) proxy; empty for none"),
    STR_KEY(user_agent, KEY_STR, "the User-Agent header"),
    KEY(log_level, KEY_LEVEL, HEXRUN_LOG_WARN, HEXRUN_LOG_ERROR, HEXRUN_LOG_DEBUG,
        "lines below it are not formatted"),
    KEY(max_response_bytes, KEY_INT, 16 * 1024 * 1024, 1024, 1073741824,
        "larger bodies fail with HEXRUN_E_TOO_LARGE"),
    /* 0 turns a bucket off (e.g. when a proxy in front of Hex enforces the limits). */
    KEY(run_budget_per_min, KEY_INT, 20, 0, 1000000, "RunProjects a minute"),
    KEY(run_budget_per_hour, KEY_INT, 60, 0, 60000000, "RunProjects an hour"),
    KEY(api_budget_per_min, KEY_INT, 30, 0, 1000000, "other requests a minute"),
    KEY(api_budget_per_hour, KEY_INT, 1800, 0, 60000000, "other requests an hour"),
    /* Up to 90: polls always keep a share to spend. */
    KEY(api_reserve_percent, KEY_INT, 33, 0, 90, "the share of the api budget polls leave free"),
    KEY(budget_time_scale, KEY_INT, 1, 1, 100000,
        "budget windows last 1/N of their length (for a fast simulator)"),
    BOOL_KEY(cancel_on_free, 0, "hexrun_shutdown(client, 0) cancels live runs first"),
    BOOL_KEY(coalesce, 1, "one page of a project's runs refreshes all its live jobs"),
    STR_KEY(budget_path, KEY_STR, "a budget file shared by the host's processes"),
    STR_KEY(journal_path, KEY_STR, "the submit journal shared by the host's processes"),
    BOOL_KEY(allow_cleartext, 0, "allow http:// to a host that is not loopback"),
    STR_KEY(coord_url, KEY_PGURL, "the PostgreSQL coordination store of every machine"),
};
#define N_KEYS (sizeof keys / sizeof keys[0])

const hexrun__config_key *hexrun__config_key_at(size_t i)
{
    return i < N_KEYS ? &keys[i] : NULL;
}

const char *hexrun__config_type_name(const hexrun__config_key *k)
{
    return type_names[k->type];
}

static int is_string(key_type t)
{
    return t == KEY_STR || t == KEY_URL || t == KEY_TOKEN || t == KEY_PGURL;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static char **str_field(hexrun_config *cfg, const hexrun__config_key *k)
{
    return (char **)((char *)cfg + k->offset);
}

static int64_t *int_field(hexrun_config *cfg, const hexrun__config_key *k)
{
    return (int64_t *)((char *)cfg + k->offset);
}

static const hexrun__config_key *key_find(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

int hexrun_config_new(hexrun_config **out)
{
    hexrun__error_clear();
    if (!out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_config_new: out is NULL");
    hexrun_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return hexrun__error_set(HEXRUN_E_NOMEM, "hexrun_config_new: out of memory");
    for (size_t i = 0; i < N_KEYS; i++)
        if (!is_string(keys[i].type))
            *int_field(cfg, &keys[i]) = keys[i].def;
    *out = cfg;
    return HEXRUN_OK;
}

void hexrun_config_free(hexrun_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_KEYS; i++)
        if (is_string(keys[i].type))
            free(*str_field(cfg, &keys[i]));
    free(cfg);
}

static int parse_int(const char *value, int64_t *out)
{
    if (!value[0] || isspace((unsigned char)value[0]))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(value, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *value, int64_t *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0)
            return (*out = 1), 0;
        if (strcasecmp(value, no[i]) == 0)
            return (*out = 0), 0;
    }
    return -1;
}

static int parse_level(const char *value, int64_t *out)
{
    for (int64_t i = 0; i < 4; i++)
        if (strcasecmp(value, level_names[i]) == 0 || (value[0] == '0' + i && value[1] == '\0'))
            return (*out = i), 0;
    return -1;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int url_ok(const char *v)
{
    size_t scheme = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;
    char host[256];
    if (!scheme || !v[scheme] || v[scheme] == '/' || strlen(v) > STRING_MAX ||
        hexrun__url_host(v, host, sizeof host) != 0)
        return 0;
    /* Control characters would reach curl's URL parser and the logs (found by fuzzing). */
    for (const char *p = v; *p; p++)
        if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20 || *p == 0x7f || *p == '?' ||
            *p == '#')
            return 0;
    return 1;
}

static int token_ok(const char *v)
{
    if (!v[0] || strlen(v) > TOKEN_MAX)
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* A libpq connection URI (postgresql:// or postgres://): libpq parses the rest when the
 * client connects; here only what would reach it or the logs garbled is refused. */
static int pgurl_ok(const char *v)
{
    size_t scheme = strncmp(v, "postgresql://", 13) == 0 ? 13
                    : strncmp(v, "postgres://", 11) == 0 ? 11
                                                         : 0;
    if (!scheme || strlen(v) > STRING_MAX)
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* coord_url as hexrun_config_get shows it: a password in it becomes <redacted>. */
static char *pgurl_redacted(const char *v)
{
    const char *auth = strstr(v, "://") + 3;
    const char *at = strchr(auth, '@'), *colon = strchr(auth, ':');
    size_t len = strlen(v) + 16;
    char *out = malloc(len);
    if (!out)
        return NULL;
    if (at && colon && colon < at)
        snprintf(out, len, "%.*s<redacted>%s", (int)(colon + 1 - v), v, at);
    else
        snprintf(out, len, "%s", v);
    return out;
}

static int set_string(hexrun_config *cfg, const hexrun__config_key *k, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return hexrun__error_set(HEXRUN_E_NOMEM, "config key '%s': out of memory", k->name);
    /* A trailing slash is common in copied URLs; "/api" is appended later. All of them go,
     * so that setting the value read back changes nothing (url_ok keeps the host). */
    size_t len = strlen(copy);
    while (k->type == KEY_URL && len > 0 && copy[len - 1] == '/')
        copy[--len] = '\0';
    char **field = str_field(cfg, k);
    free(*field);
    *field = copy;
    return HEXRUN_OK;
}

static int set_checked_string(hexrun_config *cfg, const hexrun__config_key *k, const char *value)
{
    if (k->type == KEY_URL && !url_ok(value))
        return hexrun__error_set(HEXRUN_E_CONFIG,
                                 "config key 'base_url': expected an http:// or https:// URL "
                                 "with a host, no user@ part, no query, no spaces or control "
                                 "characters and at most %d bytes, e.g. https://app.hex.tech",
                                 STRING_MAX);
    /* Never echo the value: it may hold a password. */
    if (k->type == KEY_PGURL && !pgurl_ok(value))
        return hexrun__error_set(HEXRUN_E_CONFIG,
                                 "config key 'coord_url': expected a PostgreSQL URL "
                                 "(postgresql://user@host:port/dbname, options after ?) "
                                 "without spaces or control characters, of at most %d bytes",
                                 STRING_MAX);
    /* Never echo the value: it may be most of a token. */
    if (k->type == KEY_TOKEN && !token_ok(value))
        return hexrun__error_set(HEXRUN_E_CONFIG,
                                 "config key 'token': expected a non-empty token of at most %d "
                                 "bytes without spaces or control characters",
                                 TOKEN_MAX);
    if (k->type == KEY_STR && has_control(value))
        return hexrun__error_set(HEXRUN_E_CONFIG,
                                 "config key '%s': control characters are not allowed", k->name);
    if (k->type == KEY_STR && strlen(value) > STRING_MAX)
        return hexrun__error_set(HEXRUN_E_CONFIG, "config key '%s': longer than %d bytes", k->name,
                                 STRING_MAX);
    return set_string(cfg, k, value);
}

static int set_number(hexrun_config *cfg, const hexrun__config_key *k, const char *value)
{
    int64_t v;
    switch (k->type) {
    case KEY_BOOL:
        if (parse_bool(value, &v))
            return hexrun__error_set(HEXRUN_E_CONFIG,
                                     "config key '%s': '%.64s' is not a boolean; allowed: "
                                     "true, false, 1, 0, yes, no, on, off",
                                     k->name, value);
        break;
    case KEY_LEVEL:
        if (parse_level(value, &v))
            return hexrun__error_set(HEXRUN_E_CONFIG,
                                     "config key 'log_level': '%.64s' is not a level; "
                                     "allowed: error, warn, info, debug (or 0-3)",
                                     value);
        break;
    default:
        if (parse_int(value, &v) || v < k->min || v > k->max)
            return hexrun__error_set(HEXRUN_E_CONFIG,
                                     "config key '%s': '%.64s' is not allowed; expected an "
                                     "integer from %lld to %lld",
                                     k->name, value, (long long)k->min, (long long)k->max);
        break;
    }
    *int_field(cfg, k) = v;
    return HEXRUN_OK;
}

int hexrun_config_set(hexrun_config *cfg, const char *key, const char *value)
{
    hexrun__error_clear();
    if (!cfg || !key || !value)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "hexrun_config_set: cfg, key and value must not be NULL");
    const hexrun__config_key *k = key_find(key);
    if (!k)
        return hexrun__error_set(HEXRUN_E_CONFIG,
                                 "unknown config key '%.64s'; see hexrun_plugin_info() "
                                 "config_keys for the allowed keys",
                                 key);
    if (is_string(k->type))
        return set_checked_string(cfg, k, value);
    return set_number(cfg, k, value);
}

static int format_value(const hexrun_config *cfg, const hexrun__config_key *k, char **out)
{
    char num[32];
    const char *text = num;
    hexrun_config *c = (hexrun_config *)cfg; /* read only */
    switch (k->type) {
    case KEY_TOKEN:
        text = *str_field(c, k) ? "<redacted>" : "";
        break;
    case KEY_PGURL:
        if (!*str_field(c, k)) {
            text = "";
            break;
        }
        *out = pgurl_redacted(*str_field(c, k));
        return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
    case KEY_STR:
    case KEY_URL:
        text = *str_field(c, k) ? *str_field(c, k) : "";
        break;
    case KEY_BOOL:
        text = *int_field(c, k) ? "true" : "false";
        break;
    case KEY_LEVEL:
        text = level_names[*int_field(c, k)];
        break;
    case KEY_INT:
        snprintf(num, sizeof num, "%lld", (long long)*int_field(c, k));
        break;
    }
    *out = strdup(text);
    return *out ? HEXRUN_OK : hexrun__error_set(HEXRUN_E_NOMEM, "out of memory");
}

int hexrun_config_get(const hexrun_config *cfg, const char *key, char **out)
{
    hexrun__error_clear();
    if (!cfg || !key || !out)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG,
                                 "hexrun_config_get: cfg, key and out must not be NULL");
    const hexrun__config_key *k = key_find(key);
    if (!k)
        return hexrun__error_set(HEXRUN_E_CONFIG, "unknown config key '%.64s'", key);
    return format_value(cfg, k, out);
}

int hexrun_config_set_log(hexrun_config *cfg, hexrun_log_fn fn, void *user_data)
{
    hexrun__error_clear();
    if (!cfg)
        return hexrun__error_set(HEXRUN_E_INVALID_ARG, "hexrun_config_set_log: cfg is NULL");
    cfg->log_fn = fn;
    cfg->log_user_data = user_data;
    return HEXRUN_OK;
}

hexrun_config *hexrun__config_copy(const hexrun_config *cfg)
{
    hexrun_config *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *cfg;
    int failed = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!is_string(keys[i].type))
            continue;
        char **f = str_field(c, &keys[i]);
        if (*f && !failed && !(*f = strdup(*f)))
            failed = 1;
        else if (*f && failed)
            *f = NULL;
    }
    if (failed) {
        hexrun_config_free(c);
        return NULL;
    }
    return c;
}

/* Open a file the configuration names for reading: O_NONBLOCK so a FIFO (or a device)
 * cannot hang hexrun_init, and only a regular file is accepted. Returns the fd or -1. */
static int open_regular(const char *key, const char *path, char *err, size_t errlen, int *rc)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        snprintf(err, errlen, "config key '%s': cannot open '%s': %s", key, path, strerror(errno));
        *rc = HEXRUN_E_IO;
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "config key '%s': '%s' is not a regular file", key, path);
        close(fd);
        *rc = HEXRUN_E_CONFIG;
        return -1;
    }
    return fd;
}

/* Read up to max bytes (a short file is fine); -1 on a read error. */
static ssize_t read_some(int fd, char *buf, size_t max)
{
    size_t n = 0;
    while (n < max) {
        ssize_t got = read(fd, buf + n, max - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        n += (size_t)got;
    }
    return (ssize_t)n;
}

static int read_token_file(hexrun_config *cfg, char *err, size_t errlen)
{
    int rc = HEXRUN_OK;
    int fd = open_regular("token_file", cfg->token_file, err, errlen, &rc);
    if (fd < 0)
        return rc;
    char buf[TOKEN_FILE_MAX + 1];
    ssize_t got = read_some(fd, buf, TOKEN_FILE_MAX + 1);
    close(fd);
    if (got < 0) {
        snprintf(err, errlen, "config key 'token_file': cannot read '%s': %s", cfg->token_file,
                 strerror(errno));
        return HEXRUN_E_IO;
    }
    size_t n = (size_t)got;
    if (n > TOKEN_FILE_MAX) {
        snprintf(err, errlen, "config key 'token_file': '%s' is larger than %d bytes",
                 cfg->token_file, TOKEN_FILE_MAX);
        return HEXRUN_E_CONFIG;
    }
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    if (!token_ok(buf)) {
        snprintf(err, errlen,
                 "config key 'token_file': '%s' does not hold one token (empty, or spaces "
                 "or control characters inside)",
                 cfg->token_file);
        return HEXRUN_E_CONFIG;
    }
    if (!(cfg->token = strdup(buf)))
        return HEXRUN_E_NOMEM;
    return HEXRUN_OK;
}

static int resolve_token(hexrun_config *cfg, char *err, size_t errlen)
{
    if (cfg->token)
        return HEXRUN_OK;
    if (cfg->token_file)
        return read_token_file(cfg, err, errlen);
    const char *env = getenv("HEX_API_TOKEN");
    if (!env || !env[0]) {
        snprintf(err, errlen,
                 "no token: set config key 'token' or 'token_file', or the "
                 "HEX_API_TOKEN environment variable");
        return HEXRUN_E_CONFIG;
    }
    if (!token_ok(env)) {
        snprintf(err, errlen,
                 "HEX_API_TOKEN holds spaces or control characters, or is "
                 "longer than %d bytes",
                 TOKEN_MAX);
        return HEXRUN_E_CONFIG;
    }
    return (cfg->token = strdup(env)) ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

static int resolve_base_url(hexrun_config *cfg, char *err, size_t errlen)
{
    if (cfg->base_url)
        return HEXRUN_OK;
    const char *env = getenv("HEX_API_BASE_URL");
    if (env && env[0]) {
        if (!url_ok(env)) {
            snprintf(err, errlen,
                     "HEX_API_BASE_URL: expected an http:// or https:// URL "
                     "with a host, no user@ part and no query");
            return HEXRUN_E_CONFIG;
        }
        return set_string(cfg, &keys[0], env) == HEXRUN_OK ? HEXRUN_OK : HEXRUN_E_NOMEM;
    }
    return (cfg->base_url = strdup(DEFAULT_BASE_URL)) ? HEXRUN_OK : HEXRUN_E_NOMEM;
}

int hexrun__config_cleartext_remote(const hexrun_config *cfg)
{
    char host[256];
    return hexrun__url_is_cleartext(cfg->base_url) &&
           !(hexrun__url_host(cfg->base_url, host, sizeof host) == 0 &&
             hexrun__host_is_loopback(host));
}

/* The bearer token goes with every request: over http:// anyone on the way (a proxy, the
 * network) reads it. Loopback (hexsim, a local tunnel) stays easy. */
static int check_cleartext(const hexrun_config *cfg, char *err, size_t errlen)
{
    if (!hexrun__config_cleartext_remote(cfg) || cfg->allow_cleartext)
        return HEXRUN_OK;
    snprintf(err, errlen,
             "config key 'base_url': '%s' is http:// to a host that is not this machine, so "
             "the token would travel in cleartext; use https://, or set allow_cleartext=true "
             "if the network path is trusted",
             cfg->base_url);
    return HEXRUN_E_CONFIG;
}

/* A wrong ca_file must fail hexrun_init, not the first request minutes later. */
static int check_ca_file(const hexrun_config *cfg, char *err, size_t errlen)
{
    if (!cfg->ca_file)
        return HEXRUN_OK;
    int rc = HEXRUN_OK;
    int fd = open_regular("ca_file", cfg->ca_file, err, errlen, &rc);
    if (fd < 0)
        return rc;
    char *buf = malloc(CA_PROBE_BYTES + 1);
    ssize_t got = buf ? read_some(fd, buf, CA_PROBE_BYTES) : -1;
    int saved = errno;
    close(fd);
    if (!buf)
        return HEXRUN_E_NOMEM;
    if (got < 0) {
        free(buf);
        snprintf(err, errlen, "config key 'ca_file': cannot read '%s': %s", cfg->ca_file,
                 strerror(saved));
        return HEXRUN_E_IO;
    }
    buf[got] = '\0';
    int pem = strstr(buf, "-----BEGIN CERTIFICATE-----") != NULL;
    free(buf);
    if (pem)
        return HEXRUN_OK;
    snprintf(err, errlen,
             "config key 'ca_file': '%s' holds no PEM certificate "
             "(-----BEGIN CERTIFICATE-----)",
             cfg->ca_file);
    return HEXRUN_E_CONFIG;
}

int hexrun__config_resolve(hexrun_config *cfg, char *err, size_t errlen)
{
    if (cfg->poll_min_ms > cfg->poll_max_ms) {
        snprintf(err, errlen,
                 "config keys 'poll_min_ms' (%lld) and 'poll_max_ms' (%lld): "
                 "poll_min_ms must not exceed poll_max_ms",
                 (long long)cfg->poll_min_ms, (long long)cfg->poll_max_ms);
        return HEXRUN_E_CONFIG;
    }
    if (cfg->retry_base_ms > cfg->retry_max_ms) {
        snprintf(err, errlen,
                 "config keys 'retry_base_ms' (%lld) and 'retry_max_ms' (%lld): "
                 "retry_base_ms must not exceed retry_max_ms",
                 (long long)cfg->retry_base_ms, (long long)cfg->retry_max_ms);
        return HEXRUN_E_CONFIG;
    }
    int rc = resolve_base_url(cfg, err, errlen);
    if (rc == HEXRUN_OK)
        rc = check_cleartext(cfg, err, errlen);
    if (rc == HEXRUN_OK)
        rc = check_ca_file(cfg, err, errlen);
    if (rc == HEXRUN_OK)
        rc = resolve_token(cfg, err, errlen);
    if (rc == HEXRUN_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}
