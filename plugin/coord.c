/* coord.c - the coordination store's three backends behind one interface; see coord.h. */
#include "coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "coord_pg.h"
#include "hexrun.h"

struct hexrun__coord {
    hexrun__shared_budget *file_budget; /* budget_path */
    hexrun__journal *file_journal;      /* journal_path */
    hexrun__pg *pg;                     /* coord_url: budget and journal */
};

/* ---- SHA-256 (FIPS 180-4), for the token's name in the store ---- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha_k[i] + w[i];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += v[i];
}

void hexrun__coord_token_hash(const char *s, char out[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t len = strlen(s), i = 0;
    for (; len - i >= 64; i += 64)
        sha_block(h, (const unsigned char *)s + i);
    unsigned char tail[128] = {0};
    size_t rest = len - i, tail_len = rest < 56 ? 64 : 128;
    memcpy(tail, s + i, rest);
    tail[rest] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int b = 0; b < 8; b++)
        tail[tail_len - 1 - b] = (unsigned char)(bits >> (8 * b));
    for (size_t off = 0; off < tail_len; off += 64)
        sha_block(h, tail + off);
    for (int b = 0; b < 8; b++)
        snprintf(out + 8 * b, 9, "%08x", h[b]);
}

/* ---- opening ---- */

static int open_pg(const hexrun_config *cfg, int64_t now_ms, hexrun__log *log, hexrun__coord *c,
                   char *err, size_t errlen)
{
    if (cfg->budget_path || cfg->journal_path) {
        snprintf(err, errlen,
                 "config key 'coord_url' holds the budget and the journal: "
                 "leave budget_path and journal_path unset with it");
        return HEXRUN_E_CONFIG;
    }
    char hash[65];
    hexrun__coord_token_hash(cfg->token, hash);
    const int64_t settings[6] = {cfg->run_budget_per_min, cfg->run_budget_per_hour,
                                 cfg->api_budget_per_min, cfg->api_budget_per_hour,
                                 cfg->budget_time_scale,  cfg->api_reserve_percent};
    return hexrun__pg_open(cfg->coord_url, hash, settings, now_ms, log, &c->pg, err, errlen);
}

static int open_files(const hexrun_config *cfg, int64_t now_ms, hexrun__log *log, hexrun__coord *c,
                      char *err, size_t errlen)
{
    int rc = HEXRUN_OK;
    if (cfg->journal_path)
        rc = hexrun__journal_open(cfg->journal_path, &c->file_journal, err, errlen);
    const int64_t limits[4] = {cfg->run_budget_per_min, cfg->run_budget_per_hour,
                               cfg->api_budget_per_min, cfg->api_budget_per_hour};
    if (rc == HEXRUN_OK && cfg->budget_path)
        rc = hexrun__shared_budget_open(cfg->budget_path, cfg->token, limits,
                                        cfg->budget_time_scale, cfg->api_reserve_percent, now_ms,
                                        log, &c->file_budget, err, errlen);
    return rc;
}

int hexrun__coord_open(const hexrun_config *cfg, int64_t now_ms, hexrun__log *log,
                       hexrun__coord **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg->coord_url && !cfg->budget_path && !cfg->journal_path)
        return HEXRUN_OK;
    hexrun__coord *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    int rc = cfg->coord_url ? open_pg(cfg, now_ms, log, c, err, errlen)
                            : open_files(cfg, now_ms, log, c, err, errlen);
    if (rc != HEXRUN_OK) {
        hexrun__coord_close(c);
        return rc;
    }
    *out = c;
    return HEXRUN_OK;
}

void hexrun__coord_close(hexrun__coord *c)
{
    if (!c)
        return;
    hexrun__shared_budget_close(c->file_budget);
    hexrun__journal_close(c->file_journal);
    hexrun__pg_close(c->pg);
    free(c);
}

int hexrun__coord_has_budget(const hexrun__coord *c)
{
    return c && (c->pg || c->file_budget);
}

int hexrun__coord_has_journal(const hexrun__coord *c)
{
    return c && (c->pg || c->file_journal);
}

/* ---- the budget ---- */

int64_t hexrun__coord_take(hexrun__coord *c, int group, int64_t now_ms)
{
    return c->pg ? hexrun__pg_take(c->pg, group, 0, now_ms)
                 : hexrun__shared_budget_take(c->file_budget, group, now_ms);
}

int64_t hexrun__coord_take_poll(hexrun__coord *c, int64_t now_ms)
{
    return c->pg ? hexrun__pg_take(c->pg, HEXRUN__BUDGET_API, 1, now_ms)
                 : hexrun__shared_budget_take_poll(c->file_budget, now_ms);
}

void hexrun__coord_refund(hexrun__coord *c, int group)
{
    if (c->pg)
        hexrun__pg_refund(c->pg, group);
    else
        hexrun__shared_budget_refund(c->file_budget, group);
}

void hexrun__coord_pause(hexrun__coord *c, int group, int64_t now_ms, int64_t ms)
{
    if (c->pg)
        hexrun__pg_pause(c->pg, group, now_ms, ms);
    else
        hexrun__shared_budget_pause(c->file_budget, group, now_ms, ms);
}

int64_t hexrun__coord_paused_until(hexrun__coord *c, int group, int64_t now_ms)
{
    return c->pg ? hexrun__pg_paused_until(c->pg, group, now_ms)
                 : hexrun__shared_budget_paused_until(c->file_budget, group, now_ms);
}

/* ---- the journal ---- */

int hexrun__coord_journal_begin(hexrun__coord *c, const char *key, const char *project,
                                int64_t now_ms, int64_t stale_ms, hexrun__journal_claim *claim,
                                char *err, size_t errlen)
{
    return c->pg
               ? hexrun__pg_journal_begin(c->pg, key, project, now_ms, stale_ms, claim, err, errlen)
               : hexrun__journal_begin(c->file_journal, key, project, now_ms, stale_ms, claim, err,
                                       errlen);
}

int hexrun__coord_journal_note(hexrun__coord *c, char type, const char *key, const char *project,
                               const char *run_id, int64_t t_ms, char *err, size_t errlen)
{
    if (c->pg)
        return hexrun__pg_journal_note(c->pg, type, key, project, run_id, t_ms, err, errlen);
    return type == 'R'
               ? hexrun__journal_run(c->file_journal, key, project, run_id, t_ms, err, errlen)
           : type == 'F'
               ? hexrun__journal_failed(c->file_journal, key, project, t_ms, err, errlen)
               : hexrun__journal_unknown(c->file_journal, key, project, t_ms, err, errlen);
}

int hexrun__coord_journal_knows_run(hexrun__coord *c, const char *run_id)
{
    return c->pg ? hexrun__pg_journal_knows_run(c->pg, run_id)
                 : hexrun__journal_knows_run(c->file_journal, run_id);
}

/* ---- the status board ---- */

int hexrun__coord_has_board(const hexrun__coord *c)
{
    return c && c->pg;
}

hexrun__board_verdict hexrun__coord_board_step(hexrun__coord *c, const char *project,
                                               int64_t lease_ms,
                                               const char (*run_ids)[HEXRUN__HEX_ID_MAX], size_t n,
                                               hexrun__hex_run **runs, int64_t **ages,
                                               size_t *n_runs)
{
    *runs = NULL;
    *ages = NULL;
    *n_runs = 0;
    if (!c || !c->pg)
        return HEXRUN__BOARD_OFF;
    return (hexrun__board_verdict)hexrun__pg_board_step(c->pg, project, lease_ms, run_ids, n, runs,
                                                        ages, n_runs);
}

void hexrun__coord_board_put(hexrun__coord *c, const hexrun__hex_run *runs, size_t n)
{
    if (c && c->pg && n)
        hexrun__pg_board_put(c->pg, runs, n);
}

void hexrun__coord_board_release(hexrun__coord *c, const char *project)
{
    if (c && c->pg)
        hexrun__pg_board_release(c->pg, project);
}

int hexrun__coord_board_fd(const hexrun__coord *c)
{
    return c && c->pg ? hexrun__pg_board_fd(c->pg) : -1;
}

size_t hexrun__coord_board_news(hexrun__coord *c, hexrun__board_news_fn news, void *ud)
{
    return c && c->pg ? hexrun__pg_board_news(c->pg, news, ud) : 0;
}
