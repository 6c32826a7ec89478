/*
 * libFuzzer target: hexrun_config_set / hexrun_config_get (plugin/config.c) for every key.
 * Input: records of one byte choosing the key (past the last key: a fuzzed key name taken
 * from the value) and a value up to the next NUL. After each set: a refused value leaves
 * the key unchanged with an error message; an accepted one reads back in its canonical
 * form, and that form is accepted again unchanged. At the end a deep copy must read back
 * the same values. Leaks are caught by LeakSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "hexrun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t n_keys(void)
{
    size_t n = 0;
    while (hexrun__config_key_at(n))
        n++;
    return n;
}

static char *get(const hexrun_config *cfg, const char *key)
{
    char *v = NULL;
    if (hexrun_config_get(cfg, key, &v) != HEXRUN_OK || !v)
        abort(); /* every known key can be read */
    return v;
}

/* What get must return after set(key, value) succeeded. */
static void check_accepted(const hexrun_config *cfg, const char *key, const char *value)
{
    char *got = get(cfg, key);
    size_t len = strlen(value);
    /* No key takes control characters: they would reach headers, URLs and logs. */
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
    if (strcmp(key, "token") == 0) {
        if (strcmp(got, "<redacted>") != 0) /* the token never reads back */
            abort();
    } else if (strcmp(key, "base_url") == 0) {
        /* trailing slashes are dropped */
        size_t want = len;
        while (want > 0 && value[want - 1] == '/')
            want--;
        if (strlen(got) != want || strncmp(got, value, want) != 0)
            abort();
    } else if (cfg->token_file == NULL && strcmp(key, "token_file") == 0) {
        abort();
    }
    /* Setting the canonical form again is accepted and changes nothing. */
    if (strcmp(key, "token") != 0) {
        if (hexrun_config_set((hexrun_config *)cfg, key, got) != HEXRUN_OK)
            abort();
        char *again = get(cfg, key);
        if (strcmp(again, got) != 0)
            abort();
        free(again);
    }
    free(got);
}

static void set_one(hexrun_config *cfg, const char *key, const char *value)
{
    char *before = NULL;
    int known = 0;
    for (size_t i = 0; hexrun__config_key_at(i); i++)
        known |= strcmp(hexrun__config_key_at(i)->name, key) == 0;
    if (known)
        before = get(cfg, key);
    int rc = hexrun_config_set(cfg, key, value);
    if (rc == HEXRUN_OK) {
        if (!known)
            abort();
        check_accepted(cfg, key, value);
    } else {
        const char *msg = hexrun__error_get();
        if (rc != HEXRUN_E_CONFIG || !msg || !msg[0])
            abort();
        if (known) { /* a refused value changes nothing */
            char *after = get(cfg, key);
            if (strcmp(before, after) != 0)
                abort();
            free(after);
        }
    }
    free(before);
}

/* The deep copy reads back exactly like the original. */
static void check_copy(const hexrun_config *cfg)
{
    hexrun_config *copy = hexrun__config_copy(cfg);
    if (!copy)
        abort();
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        char *a = get(cfg, hexrun__config_key_at(i)->name);
        char *b = get(copy, hexrun__config_key_at(i)->name);
        if (strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
    }
    if ((cfg->token &&
         (!copy->token || strcmp(cfg->token, copy->token) || copy->token == cfg->token)))
        abort();
    hexrun_config_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    hexrun_config *cfg = NULL;
    if (hexrun_config_new(&cfg) != HEXRUN_OK)
        abort();
    size_t nk = n_keys();
    size_t pos = 0;
    while (pos < size) {
        unsigned pick = (unsigned char)text[pos++];
        const char *value = text + pos;
        pos += strlen(value) + 1;
        const char *key =
            pick % (nk + 1) < nk ? hexrun__config_key_at(pick % (nk + 1))->name : value;
        set_one(cfg, key, value);
    }
    check_copy(cfg);
    hexrun_config_free(cfg);
    free(text);
    return 0;
}
