/*
 * config.h - the validated string key/value configuration behind hexrun_config
 * (internal). Every key is checked when it is set, so hexrun_init only has to resolve the
 * environment fallbacks and the token file.
 */
#ifndef HEXRUN_CONFIG_H
#define HEXRUN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hexrun.h"

struct hexrun_config {
    char *base_url; /* NULL = HEX_API_BASE_URL, else https://app.hex.tech */
    char *token;    /* NULL = token_file, else HEX_API_TOKEN */
    char *token_file;
    char *ca_file;
    char *proxy;
    char *user_agent;
    char *budget_path;  /* the host-wide shared budget (budget.h); NULL = per client */
    char *journal_path; /* the submit journal (journal.h); NULL = none */
    char *coord_url;    /* the PostgreSQL coordination store (coord.h); NULL = none */
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    int64_t max_retries;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t poll_min_ms;
    int64_t poll_max_ms;
    int64_t max_response_bytes;
    int64_t run_budget_per_min;
    int64_t run_budget_per_hour;
    int64_t api_budget_per_min;
    int64_t api_budget_per_hour;
    int64_t api_reserve_percent; /* share of the api budget polls leave free */
    int64_t budget_time_scale;
    int64_t log_level;
    int64_t insecure_skip_verify;
    int64_t allow_cleartext; /* http:// to a host that is not loopback (security.md) */
    int64_t cancel_on_free;
    int64_t coalesce;
    hexrun_log_fn log_fn;
    void *log_user_data;
};

/* One configuration key: the table in config.c is the only list of them. */
typedef struct {
    const char *name;
    unsigned char type; /* config.c's key_type; hexrun__config_type_name names it */
    size_t offset;      /* of the field in struct hexrun_config */
    int64_t def;        /* the default of a number, boolean or level; strings start NULL */
    int64_t min, max;   /* the allowed range of a number */
    const char *doc;    /* one line; docs/config.md says the rest */
} hexrun__config_key;

/* The i-th key in documentation order, NULL past the last. */
const hexrun__config_key *hexrun__config_key_at(size_t i);

/* "string", "url", "token", "int", "bool" or "level". */
const char *hexrun__config_type_name(const hexrun__config_key *k);

/* A deep copy of cfg; NULL on NOMEM. */
hexrun_config *hexrun__config_copy(const hexrun_config *cfg);

/*
 * hexrun__config_resolve - fill what hexrun_init needs from the environment and files:
 * base_url from HEX_API_BASE_URL (then the default), the token from token_file or
 * HEX_API_TOKEN, and the cross-key checks (poll_min_ms <= poll_max_ms, ...).
 * Works on a copy made by hexrun__config_copy. Returns HEXRUN_OK, HEXRUN_E_CONFIG,
 * HEXRUN_E_IO or HEXRUN_E_NOMEM with a message in err.
 */
int hexrun__config_resolve(hexrun_config *cfg, char *err, size_t errlen);

/* 1 when the resolved base_url sends the token in cleartext to another machine (allowed
 * only with allow_cleartext; the client warns once). */
int hexrun__config_cleartext_remote(const hexrun_config *cfg);

#endif
