/* coord_pg.c - the PostgreSQL coordination store through libpq loaded at run time; see
 * coord_pg.h. */
#include "coord_pg.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "budget.h"
#include "buf.h"
#include "coord_sql.h"
#include "errors.h"
#include "hexrun.h"

/* ---- the part of libpq hexrun uses, as libpq-fe.h declares it ---- */

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
typedef unsigned int Oid;
typedef void (*PQnoticeProcessor)(void *arg, const char *message);
typedef struct pgNotify {
    char *relname; /* the channel */
    int be_pid;
    char *extra; /* the payload */
    struct pgNotify *next;
} PGnotify;
enum { CONNECTION_OK = 0 };
enum { PGRES_COMMAND_OK = 1, PGRES_TUPLES_OK = 2 };

typedef struct pq_api {
    PGconn *(*connectdbParams)(const char *const *keywords, const char *const *values,
                               int expand_dbname);
    int (*status)(const PGconn *conn);
    char *(*errorMessage)(const PGconn *conn);
    void (*finish)(PGconn *conn);
    PQnoticeProcessor (*setNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
    PGresult *(*exec)(PGconn *conn, const char *command);
    PGresult *(*prepare)(PGconn *conn, const char *stmtName, const char *query, int nParams,
                         const Oid *paramTypes);
    PGresult *(*execPrepared)(PGconn *conn, const char *stmtName, int nParams,
                              const char *const *paramValues, const int *paramLengths,
                              const int *paramFormats, int resultFormat);
    int (*resultStatus)(const PGresult *res);
    char *(*resultErrorMessage)(const PGresult *res);
    int (*ntuples)(const PGresult *res);
    int (*getisnull)(const PGresult *res, int row, int column);
    char *(*getvalue)(const PGresult *res, int row, int column);
    void (*clear)(PGresult *res);
    int (*socket)(const PGconn *conn);
    int (*consumeInput)(PGconn *conn);
    PGnotify *(*notifies)(PGconn *conn);
    void (*freemem)(void *ptr);
} pq_api;

static pthread_mutex_t pq_mu = PTHREAD_MUTEX_INITIALIZER;
static pq_api pq;
static int pq_loaded;

/* The library's name: libpq.so.5, or $HEXRUN_LIBPQ (another path; tests name a missing
 * one). The library stays loaded for the life of the process. */
static const char *pq_name(void)
{
    const char *name = getenv("HEXRUN_LIBPQ");
    return name && name[0] ? name : "libpq.so.5";
}

#define PQ_SYM(field, name)                                                                        \
    do {                                                                                           \
        *(void **)&api.field = dlsym(h, name);                                                     \
        if (!api.field)                                                                            \
            missing = name;                                                                        \
    } while (0)

static int pq_load(char *err, size_t errlen)
{
    pthread_mutex_lock(&pq_mu);
    int ok = pq_loaded;
    if (!ok) {
        void *h = dlopen(pq_name(), RTLD_NOW | RTLD_LOCAL);
        pq_api api;
        const char *missing = NULL;
        if (h) {
            PQ_SYM(connectdbParams, "PQconnectdbParams");
            PQ_SYM(status, "PQstatus");
            PQ_SYM(errorMessage, "PQerrorMessage");
            PQ_SYM(finish, "PQfinish");
            PQ_SYM(setNoticeProcessor, "PQsetNoticeProcessor");
            PQ_SYM(exec, "PQexec");
            PQ_SYM(prepare, "PQprepare");
            PQ_SYM(execPrepared, "PQexecPrepared");
            PQ_SYM(resultStatus, "PQresultStatus");
            PQ_SYM(resultErrorMessage, "PQresultErrorMessage");
            PQ_SYM(ntuples, "PQntuples");
            PQ_SYM(getisnull, "PQgetisnull");
            PQ_SYM(getvalue, "PQgetvalue");
            PQ_SYM(clear, "PQclear");
            PQ_SYM(socket, "PQsocket");
            PQ_SYM(consumeInput, "PQconsumeInput");
            PQ_SYM(notifies, "PQnotifies");
            PQ_SYM(freemem, "PQfreemem");
        }
        if (!h)
            snprintf(err, errlen,
                     "config key 'coord_url': cannot load PostgreSQL's client "
                     "library %s (install libpq5, e.g. apt-get install libpq5): %s",
                     pq_name(), dlerror());
        else if (missing) {
            snprintf(err, errlen,
                     "config key 'coord_url': %s lacks %s (libpq 10 or newer "
                     "is needed)",
                     pq_name(), missing);
            dlclose(h);
        } else {
            pq = api;
            pq_loaded = ok = 1;
        }
    }
    pthread_mutex_unlock(&pq_mu);
    return ok ? HEXRUN_OK : HEXRUN_E_CONFIG;
}

/* ---- the handle ---- */

typedef struct kept_note {
    char type;
    char *key, *project, *run_id;
    int64_t t_ms;
    struct kept_note *next;
} kept_note;

/* A run this client last put on the board, as hashes of its JSON and of its status: a
 * sweep writes the runs whose status changed with the news, and the others after it. */
typedef struct board_memo {
    char run_id[HEXRUN__HEX_ID_MAX];
    char project_id[HEXRUN__HEX_ID_MAX];
    uint64_t sig, status_sig;
} board_memo;

/* A project whose board lease this client holds, until (monotonic ms, its own estimate:
 * the server's expiry comes later) `until_ms`. A holder's sweeps renew it with their put,
 * so its next sweep goes without a board_step statement before its request. */
typedef struct board_hold {
    char project[HEXRUN__HEX_ID_MAX];
    int64_t lease_ms, until_ms;
} board_hold;

/* Room for every HEXRUN__COORD_SQL_* statement with parameters (14 of them). */
#define HEXRUN__PG_PREPARED_MAX 24
#define PREPARED_NAME_MAX 24 /* "hexrun_" and an int */

struct hexrun__pg {
    char *url;
    char token_hash[65];
    char channel[64];     /* the token's board channel (LISTEN/NOTIFY) */
    char settings[2][96]; /* each group's settings as a SQL array literal */
    int64_t limits[6];
    hexrun__log *log;
    PGconn *conn; /* NULL while offline */
    /* The statements prepared on conn (hexrun_<index>), by their text: PostgreSQL parses
     * and plans each once per connection, not at every call (2-3 ms of a board put). */
    const char *prepared[HEXRUN__PG_PREPARED_MAX];
    int n_prepared;
    int32_t owner;        /* this client's session lock id (journal intents name it) */
    int64_t peers;        /* hexrun clients the store counted last (>= 1) */
    int64_t peers_next;   /* monotonic ms of the next count */
    int64_t peers_counts; /* counts made */
    int64_t retry_at;     /* offline: monotonic ms of the next connection attempt */
    int64_t retry_ms;     /* offline: the wait after a failed attempt (doubles) */
    hexrun__budget fallback[2];
    int fallback_took[2]; /* the last take of the group came from the fallback */
    /* What each group's shared windows held at its last take: sends in the minute and
     * the hour window, and when (monotonic ms) the newest was sent. */
    struct {
        int64_t minute_n, hour_n, newest_ms;
    } seen[2];
    int64_t offline_ms; /* monotonic ms the store was lost at (fallback sends come after) */
    kept_note *kept, **kept_tail; /* journal notes written when the store is back */
    board_memo *memo;             /* what this client's puts wrote last, by run id */
    size_t n_memo;
    board_hold *holds; /* the leases this client holds */
    size_t n_holds, cap_holds;
    hexrun__pg_stats stats;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notice_ignore(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "schema already exists, skipping" and the like: not for the host */
}

/* libpq's messages span lines ("...\n\tThis probably means..."): one line for the log. */
static void trim_newline(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

/* r's outcome: r when it succeeded, else NULL with err filled (r is freed). */
static PGresult *result_ok(hexrun__pg *pg, PGresult *r, char *err, size_t errlen)
{
    int st = r ? pq.resultStatus(r) : -1;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    snprintf(err, errlen, "%s", r ? pq.resultErrorMessage(r) : pq.errorMessage(pg->conn));
    trim_newline(err);
    if (r)
        pq.clear(r);
    return NULL;
}

/* The name sql is prepared under on this connection (hexrun_<index>), preparing it the
 * first time; 0 with err filled when it could not be prepared. The statements are the
 * HEXRUN__COORD_SQL_* literals, so their address names them. */
static int prepared_name(hexrun__pg *pg, const char *sql, int n, char name[PREPARED_NAME_MAX],
                         char *err, size_t errlen)
{
    int i = 0;
    while (i < pg->n_prepared && pg->prepared[i] != sql)
        i++;
    snprintf(name, PREPARED_NAME_MAX, "hexrun_%d", i);
    if (i < pg->n_prepared)
        return 1;
    if (i == HEXRUN__PG_PREPARED_MAX) {
        snprintf(err, errlen, "internal error: more than %d statements to prepare",
                 HEXRUN__PG_PREPARED_MAX);
        return 0;
    }
    PGresult *r = result_ok(pg, pq.prepare(pg->conn, name, sql, n, NULL), err, errlen);
    if (!r)
        return 0;
    pq.clear(r);
    pg->prepared[pg->n_prepared++] = sql;
    return 1;
}

/* One statement, with parameters as a prepared statement; NULL (with err filled) when it
 * failed. */
static PGresult *run(hexrun__pg *pg, const char *sql, int n, const char *const *params, char *err,
                     size_t errlen)
{
    pg->stats.queries++;
    if (n == 0)
        return result_ok(pg, pq.exec(pg->conn, sql), err, errlen);
    char name[PREPARED_NAME_MAX];
    if (!prepared_name(pg, sql, n, name, err, errlen))
        return NULL;
    return result_ok(pg, pq.execPrepared(pg->conn, name, n, params, NULL, NULL, 0), err, errlen);
}

/* One statement whose first value is an integer; -1 with err filled when it failed. */
static int run_int(hexrun__pg *pg, const char *sql, int n, const char *const *params, int64_t *out,
                   char *err, size_t errlen)
{
    PGresult *r = run(pg, sql, n, params, err, errlen);
    if (!r)
        return -1;
    int ok = pq.ntuples(r) == 1 && !pq.getisnull(r, 0, 0);
    if (ok)
        *out = strtoll(pq.getvalue(r, 0, 0), NULL, 10);
    else
        snprintf(err, errlen, "unexpected answer from the store");
    pq.clear(r);
    return ok ? 0 : -1;
}

/* Take a session lock of class HEXRUN__COORD_LOCK_CLASS that no other client holds. */
static int take_owner_lock(hexrun__pg *pg, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        if (!pg->owner || attempt > 0) {
            uint32_t r = 0;
            if (getrandom(&r, sizeof r, 0) != sizeof r)
                r = (uint32_t)mono_ms() * 2654435761u;
            pg->owner = (int32_t)(r & 0x7fffffff) | 1;
        }
        char id[16];
        snprintf(id, sizeof id, "%" PRId32, pg->owner);
        const char *params[] = {id};
        int64_t got = 0;
        if (run_int(pg, HEXRUN__COORD_SQL_LOCK, 1, params, &got, err, errlen) != 0)
            return -1;
        if (got == 1)
            return 0;
    }
    snprintf(err, errlen, "no free client lock id");
    return -1;
}

static void fallback_init(hexrun__pg *pg, int64_t now_ms)
{
    const int64_t *l = pg->limits;
    int64_t n = pg->peers > 0 ? pg->peers : 1;
    /* Each of n clients keeps to 1/n of every limit (at least 1): together, Hex's limits. */
#define SHARE(x) ((x) > 0 ? ((x) / n > 0 ? (x) / n : 1) : 0)
    hexrun__budget_init(&pg->fallback[HEXRUN__BUDGET_RUN], SHARE(l[0]), SHARE(l[1]), l[4], 0,
                        now_ms);
    hexrun__budget_init(&pg->fallback[HEXRUN__BUDGET_API], SHARE(l[2]), SHARE(l[3]), l[4], l[5],
                        now_ms);
#undef SHARE
}

static void count_peers(hexrun__pg *pg, int64_t now_ms)
{
    char err[HEXRUN__ERR_MAX];
    int64_t n = 0;
    /* Clients that start together count each other a second later (at its own start each
     * saw only those before it); then every 30 s. */
    pg->peers_next = mono_ms() + (pg->peers_counts++ ? 30000 : 1000);
    if (run_int(pg, HEXRUN__COORD_SQL_PEERS, 0, NULL, &n, err, sizeof err) == 0 && n >= 1 &&
        n != pg->peers) {
        pg->peers = n;
        fallback_init(pg, now_ms);
    }
}

/* Hear the board news of the token's other clients (hexrun__pg_board_news): the channel
 * is named after the token's hash, which is hex, so it needs no quoting. */
static int listen_board(hexrun__pg *pg, char *err, size_t errlen)
{
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN %s", pg->channel);
    PGresult *r = run(pg, sql, 0, NULL, err, errlen);
    if (r)
        pq.clear(r);
    return r ? 0 : -1;
}

/* A session setting that a server may refuse (the session works without it). */
static void session_set(hexrun__pg *pg, const char *sql)
{
    PGresult *r = pq.exec(pg->conn, sql);
    if (r)
        pq.clear(r);
}

/* Connect, install or check the schema, take the session lock. HEXRUN_OK or an error. */
static int pg_connect(hexrun__pg *pg, char *err, size_t errlen)
{
    /* connect_timeout before dbname: a value in the URL wins over it. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "hexrun", pg->url, NULL};
    pg->conn = pq.connectdbParams(keys, vals, 1);
    pg->n_prepared = 0; /* a new session has none */
    if (!pg->conn) {
        snprintf(err, errlen, "coord_url: out of memory");
        return HEXRUN_E_NOMEM;
    }
    int rc = HEXRUN_OK;
    char msg[HEXRUN__ERR_MAX] = "";
    if (pq.status(pg->conn) != CONNECTION_OK) {
        snprintf(msg, sizeof msg, "%s", pq.errorMessage(pg->conn));
        trim_newline(msg);
        snprintf(err, errlen, "coord_url: cannot connect to the PostgreSQL store: %s", msg);
        rc = HEXRUN_E_IO;
    } else {
        pq.setNoticeProcessor(pg->conn, notice_ignore, NULL);
        /* Each prepared statement's plan made once (PostgreSQL 12+; an older server
         * refuses the setting and plans each call, as before). */
        session_set(pg, "SET plan_cache_mode = force_generic_plan");
        /* No wait for the WAL flush at each budget or board statement: it would put a disk
         * flush before every request to Hex and between a sweep and its news. The
         * journal's statements wait for it (HEXRUN__COORD_SQL_DURABLE says why). */
        session_set(pg, "SET synchronous_commit = off");
        PGresult *r = run(pg, HEXRUN__COORD_SQL_INSTALL, 0, NULL, msg, sizeof msg);
        if (r)
            pq.clear(r);
        if (!r) {
            snprintf(err, errlen, "coord_url: cannot install or check the schema hexrun: %s", msg);
            rc = strstr(msg, "newer than this hexrun") ? HEXRUN_E_CONFIG : HEXRUN_E_IO;
        } else if (take_owner_lock(pg, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "coord_url: cannot take a client lock: %s", msg);
            rc = HEXRUN_E_IO;
        } else if (listen_board(pg, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "coord_url: cannot listen for the status board: %s", msg);
            rc = HEXRUN_E_IO;
        } else if ((r = run(pg, HEXRUN__COORD_SQL_RETENTION, 0, NULL, msg, sizeof msg))) {
            pq.clear(r);
        }
    }
    if (rc != HEXRUN_OK) {
        pq.finish(pg->conn);
        pg->conn = NULL;
    }
    return rc;
}

int hexrun__pg_open(const char *url, const char *token_hash, const int64_t settings[6],
                    int64_t now_ms, hexrun__log *log, hexrun__pg **out, char *err, size_t errlen)
{
    int rc = pq_load(err, errlen);
    if (rc != HEXRUN_OK)
        return rc;
    hexrun__pg *pg = calloc(1, sizeof *pg);
    if (!pg || !(pg->url = strdup(url))) {
        free(pg);
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    snprintf(pg->token_hash, sizeof pg->token_hash, "%s", token_hash);
    snprintf(pg->channel, sizeof pg->channel, "hexrun_board_%.48s", token_hash);
    memcpy(pg->limits, settings, sizeof pg->limits);
    snprintf(pg->settings[0], sizeof pg->settings[0], "{%lld,%lld,%lld,0}", (long long)settings[0],
             (long long)settings[1], (long long)settings[4]);
    snprintf(pg->settings[1], sizeof pg->settings[1], "{%lld,%lld,%lld,%lld}",
             (long long)settings[2], (long long)settings[3], (long long)settings[4],
             (long long)settings[5]);
    pg->log = log;
    pg->peers = 1;
    pg->kept_tail = &pg->kept;
    fallback_init(pg, now_ms);
    rc = pg_connect(pg, err, errlen);
    if (rc != HEXRUN_OK) {
        hexrun__pg_close(pg);
        return rc;
    }
    count_peers(pg, now_ms);
    *out = pg;
    return HEXRUN_OK;
}

static void kept_free(kept_note *n)
{
    free(n->key);
    free(n->project);
    free(n->run_id);
    free(n);
}

void hexrun__pg_close(hexrun__pg *pg)
{
    if (!pg)
        return;
    if (pg->conn)
        pq.finish(pg->conn);
    for (kept_note *n = pg->kept, *next; n; n = next) {
        next = n->next;
        kept_free(n);
    }
    free(pg->memo);
    free(pg->holds);
    free(pg->url);
    free(pg);
}

/* ---- outages ---- */

/* The fallback windows start with this client's share of what the shared windows last
 * held (rounded up), all at the newest send's time: N clients that lose the store
 * together then send no more in any window than the store would have allowed. */
static void fallback_seed(hexrun__pg *pg)
{
    int64_t n = pg->peers > 0 ? pg->peers : 1;
    for (int g = 0; g < 2; g++)
        hexrun__budget_seed(&pg->fallback[g], (pg->seen[g].minute_n + n - 1) / n,
                            (pg->seen[g].hour_n + n - 1) / n, pg->seen[g].newest_ms);
}

static void memo_forget(hexrun__pg *pg, const char *project);

static void go_offline(hexrun__pg *pg, const char *why)
{
    if (pg->conn) {
        pq.finish(pg->conn);
        pg->conn = NULL;
        memo_forget(pg, NULL); /* the store may come back without what was put */
        pg->n_holds = 0;       /* and the leases lapse */
        pg->stats.outages++;
        pg->offline_ms = mono_ms();
        fallback_seed(pg);
        hexrun__log_write(pg->log, HEXRUN_LOG_WARN,
                          "event=coord_offline error=\"%s\" the PostgreSQL store cannot be "
                          "reached: this client keeps to 1/%lld of each limit, holds keyed "
                          "submits and keeps journal records until it returns",
                          why, (long long)pg->peers);
    }
    pg->retry_ms = HEXRUN__PG_RETRY_MS;
    pg->retry_at = mono_ms() + pg->retry_ms;
}

static int write_note(hexrun__pg *pg, const kept_note *n, char *err, size_t errlen);

/* Write the journal records kept while offline, oldest first; 0 when all went. */
static int flush_kept(hexrun__pg *pg)
{
    char err[HEXRUN__ERR_MAX];
    while (pg->kept) {
        kept_note *n = pg->kept;
        if (write_note(pg, n, err, sizeof err) != 0) {
            go_offline(pg, err);
            return -1;
        }
        pg->kept = n->next;
        kept_free(n);
    }
    pg->kept_tail = &pg->kept;
    return 0;
}

/* Hand the requests sent on the fallback budgets to the shared windows; 0 when done. */
static int fallback_merge(hexrun__pg *pg)
{
    int64_t ages[HEXRUN__BUDGET_LOG_MAX];
    for (int g = 0; g < 2; g++) {
        size_t n = hexrun__budget_sent_since(&pg->fallback[g], pg->offline_ms, mono_ms(), ages,
                                             HEXRUN__BUDGET_LOG_MAX);
        hexrun__buf list = HEXRUN__BUF_INIT;
        hexrun__buf_appends(&list, "{");
        for (size_t i = 0; i < n; i++)
            hexrun__buf_appendf(&list, "%s%lld", i ? "," : "", (long long)ages[i]);
        hexrun__buf_appends(&list, "}");
        char grp[4], err[HEXRUN__ERR_MAX];
        snprintf(grp, sizeof grp, "%d", g);
        const char *params[] = {pg->token_hash, grp, list.data};
        PGresult *r = list.failed
                          ? NULL
                          : run(pg, HEXRUN__COORD_SQL_BUDGET_MERGE, 3, params, err, sizeof err);
        if (list.failed)
            snprintf(err, sizeof err, "out of memory");
        hexrun__buf_free(&list);
        if (!r) {
            go_offline(pg, err);
            return -1;
        }
        pq.clear(r);
    }
    return 0;
}

/* 1 when connected (reconnecting if an attempt is due), else 0. */
static int online(hexrun__pg *pg)
{
    if (pg->conn)
        return 1;
    pg->stats.offline++;
    if (mono_ms() < pg->retry_at)
        return 0;
    char err[HEXRUN__ERR_MAX];
    if (pg_connect(pg, err, sizeof err) != HEXRUN_OK) {
        /* An unreachable host holds the engine thread for connect_timeout (5 s unless the
         * URL says otherwise) per attempt: attempts thin out, up to one in 30 s. */
        pg->retry_ms =
            pg->retry_ms * 2 > HEXRUN__PG_RETRY_MAX_MS ? HEXRUN__PG_RETRY_MAX_MS : pg->retry_ms * 2;
        pg->retry_at = mono_ms() + pg->retry_ms;
        return 0;
    }
    if (flush_kept(pg) != 0 || fallback_merge(pg) != 0)
        return 0;
    hexrun__log_write(pg->log, HEXRUN_LOG_WARN,
                      "event=coord_online the PostgreSQL store is back: this client draws "
                      "from the shared budget and journal again");
    return 1;
}

/* ---- the budget ---- */

/* One call of hexrun.budget_op; -1 when the store failed (then offline). */
static int64_t budget_call(hexrun__pg *pg, int group, const char *op, int64_t ms)
{
    char arg[24], grp[4], err[HEXRUN__ERR_MAX];
    snprintf(arg, sizeof arg, "%lld", (long long)ms);
    snprintf(grp, sizeof grp, "%d", group);
    const char *params[] = {pg->token_hash, grp, op, pg->settings[group], arg};
    int64_t v = 0;
    if (run_int(pg, HEXRUN__COORD_SQL_BUDGET, 5, params, &v, err, sizeof err) != 0) {
        go_offline(pg, err);
        return -1;
    }
    return v < 0 ? 0 : v;
}

/* A take or poll of the shared budget, noting what its windows held (pg->seen); -1 when
 * the store failed (then offline). */
static int64_t budget_take_call(hexrun__pg *pg, int group, const char *op)
{
    char grp[4], err[HEXRUN__ERR_MAX];
    snprintf(grp, sizeof grp, "%d", group);
    const char *params[] = {pg->token_hash, grp, op, pg->settings[group], "0"};
    PGresult *r = run(pg, HEXRUN__COORD_SQL_BUDGET_TAKE, 5, params, err, sizeof err);
    if (!r || pq.ntuples(r) != 1 || pq.getisnull(r, 0, 0)) {
        if (r)
            pq.clear(r);
        go_offline(pg, r ? "unexpected answer from the store" : err);
        return -1;
    }
    int64_t wait = strtoll(pq.getvalue(r, 0, 0), NULL, 10), took = wait <= 0;
    pg->seen[group].minute_n = strtoll(pq.getvalue(r, 0, 1), NULL, 10) + took;
    pg->seen[group].hour_n = strtoll(pq.getvalue(r, 0, 2), NULL, 10) + took;
    pg->seen[group].newest_ms = mono_ms() - (took ? 0 : strtoll(pq.getvalue(r, 0, 3), NULL, 10));
    pq.clear(r);
    return wait < 0 ? 0 : wait;
}

int64_t hexrun__pg_take(hexrun__pg *pg, int group, int poll, int64_t now_ms)
{
    if (online(pg) && mono_ms() >= pg->peers_next)
        count_peers(pg, now_ms);
    int64_t wait = pg->conn ? budget_take_call(pg, group, poll ? "poll" : "take") : -1;
    pg->fallback_took[group] = wait < 0;
    if (wait >= 0)
        return wait;
    return poll ? hexrun__budget_take_poll(&pg->fallback[group], now_ms)
                : hexrun__budget_take(&pg->fallback[group], now_ms);
}

void hexrun__pg_refund(hexrun__pg *pg, int group)
{
    if (pg->fallback_took[group])
        hexrun__budget_refund(&pg->fallback[group]);
    else if (online(pg))
        budget_call(pg, group, "refund", 0);
}

void hexrun__pg_pause(hexrun__pg *pg, int group, int64_t now_ms, int64_t ms)
{
    hexrun__budget_pause(&pg->fallback[group], now_ms, ms); /* kept if the store goes */
    if (online(pg))
        budget_call(pg, group, "pause", ms);
}

int64_t hexrun__pg_paused_until(hexrun__pg *pg, int group, int64_t now_ms)
{
    int64_t left = online(pg) ? budget_call(pg, group, "paused", 0) : -1;
    if (left < 0)
        return hexrun__budget_paused_until(&pg->fallback[group]);
    return left > 0 ? now_ms + left : 0;
}

/* ---- the journal ---- */

static void copy_value(PGresult *r, int col, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", pq.getisnull(r, 0, col) ? "" : pq.getvalue(r, 0, col));
}

int hexrun__pg_journal_begin(hexrun__pg *pg, const char *key, const char *project, int64_t now_ms,
                             int64_t stale_ms, hexrun__journal_claim *claim, char *err,
                             size_t errlen)
{
    memset(claim, 0, sizeof *claim);
    claim->verdict = HEXRUN__JOURNAL_WAIT; /* offline: the key waits for the store */
    if (!online(pg))
        return HEXRUN_OK;
    char now[24], stale[24], owner[16], msg[HEXRUN__ERR_MAX];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(stale, sizeof stale, "%lld", (long long)stale_ms);
    snprintf(owner, sizeof owner, "%" PRId32, pg->owner);
    const char *params[] = {key, project, now, stale, owner};
    PGresult *r = run(pg, HEXRUN__COORD_SQL_BEGIN, 5, params, msg, sizeof msg);
    if (!r || pq.ntuples(r) != 1) {
        if (r)
            pq.clear(r);
        go_offline(pg, r ? "unexpected answer from the store" : msg);
        return HEXRUN_OK;
    }
    char verdict[16], since[24];
    copy_value(r, 0, verdict, sizeof verdict);
    copy_value(r, 1, claim->run_id, sizeof claim->run_id);
    copy_value(r, 2, since, sizeof since);
    pq.clear(r);
    claim->since_ms = strtoll(since, NULL, 10);
    claim->verdict = strcmp(verdict, "go") == 0         ? HEXRUN__JOURNAL_GO
                     : strcmp(verdict, "attach") == 0   ? HEXRUN__JOURNAL_ATTACH
                     : strcmp(verdict, "adopt") == 0    ? HEXRUN__JOURNAL_ADOPT
                     : strcmp(verdict, "conflict") == 0 ? HEXRUN__JOURNAL_CONFLICT
                                                        : HEXRUN__JOURNAL_WAIT;
    (void)err;
    (void)errlen;
    return HEXRUN_OK;
}

static int write_note(hexrun__pg *pg, const kept_note *n, char *err, size_t errlen)
{
    char t[24], type[2] = {n->type, '\0'};
    snprintf(t, sizeof t, "%lld", (long long)n->t_ms);
    PGresult *r;
    if (n->type == 'F') {
        const char *params[] = {n->key, n->project};
        r = run(pg, HEXRUN__COORD_SQL_FREE, 2, params, err, errlen);
    } else {
        const char *params[] = {n->key, n->project, type, n->run_id, t};
        r = run(pg, HEXRUN__COORD_SQL_NOTE, 5, params, err, errlen);
    }
    if (r)
        pq.clear(r);
    return r ? 0 : -1;
}

int hexrun__pg_journal_note(hexrun__pg *pg, char type, const char *key, const char *project,
                            const char *run_id, int64_t t_ms, char *err, size_t errlen)
{
    kept_note *n = calloc(1, sizeof *n);
    if (!n || !(n->key = strdup(key)) || !(n->project = strdup(project)) ||
        (type == 'R' && !(n->run_id = strdup(run_id)))) {
        if (n)
            kept_free(n);
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    n->type = type;
    n->t_ms = t_ms;
    char msg[HEXRUN__ERR_MAX] = "";
    if (online(pg) && !pg->kept && write_note(pg, n, msg, sizeof msg) == 0) {
        kept_free(n);
        return HEXRUN_OK;
    }
    if (pg->conn)
        go_offline(pg, msg);
    *pg->kept_tail = n; /* written, in order, when the store is back */
    pg->kept_tail = &n->next;
    return HEXRUN_OK;
}

int hexrun__pg_journal_knows_run(hexrun__pg *pg, const char *run_id)
{
    for (const kept_note *n = pg->kept; n; n = n->next)
        if (n->type == 'R' && strcmp(n->run_id, run_id) == 0)
            return 1;
    if (!online(pg))
        return 0;
    char msg[HEXRUN__ERR_MAX];
    const char *params[] = {run_id};
    PGresult *r = run(pg, HEXRUN__COORD_SQL_KNOWS, 1, params, msg, sizeof msg);
    if (!r) {
        go_offline(pg, msg);
        return 0;
    }
    int known = pq.ntuples(r) > 0;
    pq.clear(r);
    return known;
}

void hexrun__pg_get_stats(const hexrun__pg *pg, hexrun__pg_stats *out)
{
    *out = pg->stats;
}

/* ---- the status board ---- */

/* The run ids as a SQL array literal ({id,id}); UUIDs need no quoting, others are left
 * out (they were never accepted from Hex). NULL on NOMEM. */
static char *id_array(const char (*ids)[HEXRUN__HEX_ID_MAX], size_t n)
{
    hexrun__buf b = {0};
    hexrun__buf_appends(&b, "{");
    for (size_t i = 0, k = 0; i < n; i++)
        if (hexrun__hex_is_uuid(ids[i]))
            hexrun__buf_appendf(&b, "%s%s", k++ ? "," : "", ids[i]);
    hexrun__buf_appends(&b, "}");
    return hexrun__buf_steal(&b);
}

/* The runs of a board answer (from row `first` on: (kind, run, age) rows), parsed as
 * Hex's run objects. */
static int board_rows(PGresult *r, int first, hexrun__hex_run **runs, int64_t **ages,
                      size_t *n_runs)
{
    int rows = pq.ntuples(r);
    *runs = calloc((size_t)(rows > 1 ? rows : 1), sizeof **runs);
    *ages = calloc((size_t)(rows > 1 ? rows : 1), sizeof **ages);
    if (!*runs || !*ages)
        return -1;
    char err[HEXRUN__ERR_MAX];
    for (int i = first; i < rows; i++) {
        const char *json = pq.getvalue(r, i, 1);
        if (hexrun__hex_parse_run(json, strlen(json), &(*runs)[*n_runs], err, sizeof err) ==
            HEXRUN_OK)
            (*ages)[(*n_runs)++] = strtoll(pq.getvalue(r, i, 2), NULL, 10);
    }
    return 0;
}

/* ---- the leases this client holds (board_hold) ---- */

static board_hold *hold_find(hexrun__pg *pg, const char *project)
{
    for (size_t i = 0; i < pg->n_holds; i++)
        if (strcmp(pg->holds[i].project, project) == 0)
            return &pg->holds[i];
    return NULL;
}

/* This client holds project's lease from since_ms (monotonic, taken before the statement
 * that took or renewed it: the server's swept_at is later). On NOMEM it is not kept: the
 * next sweep asks the store, as without it. */
static void hold_set(hexrun__pg *pg, const char *project, int64_t lease_ms, int64_t since_ms)
{
    board_hold *h = hold_find(pg, project);
    if (!h && pg->n_holds == pg->cap_holds) {
        size_t cap = pg->cap_holds ? 2 * pg->cap_holds : 4;
        board_hold *grown = realloc(pg->holds, cap * sizeof *grown);
        if (!grown)
            return;
        pg->holds = grown;
        pg->cap_holds = cap;
    }
    if (!h) {
        h = &pg->holds[pg->n_holds++];
        snprintf(h->project, sizeof h->project, "%s", project);
    }
    h->lease_ms = lease_ms;
    h->until_ms = since_ms + lease_ms;
}

static void hold_drop(hexrun__pg *pg, const char *project)
{
    board_hold *h = hold_find(pg, project);
    if (h)
        *h = pg->holds[--pg->n_holds];
}

/* 1 when this client's lease of project outlasts half of lease_ms from now: its sweep
 * renews it (board_put) long before it lapses, so no statement is needed to sweep. */
static int hold_fresh(hexrun__pg *pg, const char *project, int64_t lease_ms)
{
    const board_hold *h = hold_find(pg, project);
    return h && mono_ms() + lease_ms / 2 < h->until_ms;
}

static int board_step_call(hexrun__pg *pg, const char *project, int64_t lease_ms, const char *ids,
                           hexrun__hex_run **runs, int64_t **ages, size_t *n_runs);

int hexrun__pg_board_step(hexrun__pg *pg, const char *project, int64_t lease_ms,
                          const char (*run_ids)[HEXRUN__HEX_ID_MAX], size_t n,
                          hexrun__hex_run **runs, int64_t **ages, size_t *n_runs)
{
    *runs = NULL;
    *ages = NULL;
    *n_runs = 0;
    if (!online(pg))
        return 2;
    if (hold_fresh(pg, project, lease_ms))
        return 0;
    char *ids = id_array(run_ids, n);
    if (!ids)
        return 2;
    int64_t asked = mono_ms();
    int verdict = board_step_call(pg, project, lease_ms, ids, runs, ages, n_runs);
    free(ids);
    if (verdict == 0 || verdict == 3)
        hold_set(pg, project, lease_ms, asked);
    else
        hold_drop(pg, project);
    if (verdict != 1 && verdict != 3) {
        free(*runs);
        free(*ages);
        *runs = NULL;
        *ages = NULL;
        *n_runs = 0;
    }
    return verdict;
}

/* A lease this client just took: the board's rows of its runs come along (the holder
 * that gave it up has just swept, so they are likely fresh). Without them, a sweep. */
static int board_lease_rows(hexrun__pg *pg, const char *ids, hexrun__hex_run **runs, int64_t **ages,
                            size_t *n_runs)
{
    char msg[HEXRUN__ERR_MAX];
    const char *params[] = {pg->token_hash, ids};
    PGresult *r = run(pg, HEXRUN__COORD_SQL_BOARD_READ, 2, params, msg, sizeof msg);
    if (!r) {
        go_offline(pg, msg);
        return 0;
    }
    int verdict = board_rows(r, 0, runs, ages, n_runs) == 0 ? 3 : 0;
    pq.clear(r);
    return verdict;
}

static int board_step_call(hexrun__pg *pg, const char *project, int64_t lease_ms, const char *ids,
                           hexrun__hex_run **runs, int64_t **ages, size_t *n_runs)
{
    char owner[16], period[24], msg[HEXRUN__ERR_MAX];
    snprintf(owner, sizeof owner, "%" PRId32, pg->owner);
    snprintf(period, sizeof period, "%lld", (long long)lease_ms);
    const char *params[] = {pg->token_hash, project, owner, period, ids};
    PGresult *r = run(pg, HEXRUN__COORD_SQL_BOARD_STEP, 5, params, msg, sizeof msg);
    if (!r) {
        go_offline(pg, msg);
        return 2;
    }
    int verdict = 2;
    const char *kind = pq.ntuples(r) >= 1 ? pq.getvalue(r, 0, 0) : "";
    if (strcmp(kind, "sweep") == 0)
        verdict = 0;
    else if (strcmp(kind, "read") == 0)
        verdict = board_rows(r, 1, runs, ages, n_runs) == 0 ? 1 : 2;
    int lease = strcmp(kind, "lease") == 0;
    pq.clear(r);
    if (lease) {
        hexrun__log_write(pg->log, HEXRUN_LOG_INFO,
                          "event=board_lease project=%s this client polls the project for "
                          "every client of the store",
                          project);
        verdict = board_lease_rows(pg, ids, runs, ages, n_runs);
    }
    return verdict;
}

/* ---- what a put wrote (board_memo) ---- */

static uint64_t json_sig(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static int memo_cmp(const void *a, const void *b)
{
    return strcmp(((const board_memo *)a)->run_id, ((const board_memo *)b)->run_id);
}

/* What the last put wrote of run_id, or NULL. */
static const board_memo *memo_find(const hexrun__pg *pg, const char *run_id)
{
    board_memo key;
    snprintf(key.run_id, sizeof key.run_id, "%s", run_id);
    return pg->n_memo ? bsearch(&key, pg->memo, pg->n_memo, sizeof *pg->memo, memo_cmp) : NULL;
}

/* Forget what was put of project (all projects when NULL). */
static void memo_forget(hexrun__pg *pg, const char *project)
{
    size_t kept = 0;
    for (size_t i = 0; project && i < pg->n_memo; i++)
        if (strcmp(pg->memo[i].project_id, project) != 0)
            pg->memo[kept++] = pg->memo[i];
    pg->n_memo = kept;
}

/* The memo after a put of `fresh` (n entries, malloc'ed; taken over): those, and the
 * older entries of the projects the put did not cover. On NOMEM everything is forgotten
 * (the next put writes every run). */
static void memo_replace(hexrun__pg *pg, board_memo *fresh, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < pg->n_memo; i++) {
        int covered = 0;
        for (size_t k = 0; k < n && !covered; k++)
            covered = strcmp(pg->memo[i].project_id, fresh[k].project_id) == 0;
        if (!covered)
            pg->memo[keep++] = pg->memo[i];
    }
    board_memo *all = realloc(fresh, (n + keep) * sizeof *all);
    if (!all) {
        free(fresh);
        memo_forget(pg, NULL);
        return;
    }
    if (keep)
        memcpy(all + n, pg->memo, keep * sizeof *all);
    free(pg->memo);
    qsort(all, n + keep, sizeof *all, memo_cmp);
    pg->memo = all;
    pg->n_memo = n + keep;
}

/* One board statement; 1 when it went through (else the store is gone). */
static int board_write(hexrun__pg *pg, const char *sql, int n, const char *const *params)
{
    char msg[HEXRUN__ERR_MAX];
    PGresult *r = run(pg, sql, n, params, msg, sizeof msg);
    if (!r) {
        go_offline(pg, msg);
        return 0;
    }
    pq.clear(r);
    return 1;
}

/* A sweep's runs by what this client put of them last (board_put). */
typedef struct board_lists {
    hexrun__buf news;    /* JSON array: new to this client, or their status changed */
    hexrun__buf changed; /* JSON array: the same status, other fields changed */
    hexrun__buf seen;    /* text[] literal: the ids of the runs put as they are */
    size_t n_news, n_changed, n_seen;
} board_lists;

/* Add run (its JSON in one) to the list its memo entry puts it in. */
static void board_list_add(const hexrun__pg *pg, const hexrun__hex_run *run, const hexrun__buf *one,
                           const board_memo *now, board_lists *l)
{
    const board_memo *last = memo_find(pg, run->run_id);
    /* an id that is not a UUID goes whole: the text[] literal takes no quoting */
    if (!last || !hexrun__hex_is_uuid(run->run_id) || last->status_sig != now->status_sig)
        hexrun__buf_appendf(&l->news, "%s%s", l->n_news++ ? "," : "", one->data);
    else if (last->sig != now->sig)
        hexrun__buf_appendf(&l->changed, "%s%s", l->n_changed++ ? "," : "", one->data);
    else
        hexrun__buf_appendf(&l->seen, "%s%s", l->n_seen++ ? "," : "", run->run_id);
}

/* Sort the runs of a sweep into l; fresh gets what each one is now. 0 on NOMEM. */
static int board_sort(const hexrun__pg *pg, const hexrun__hex_run *runs, size_t n,
                      board_memo *fresh, board_lists *l)
{
    hexrun__buf one = {0};
    int ok = 1;
    hexrun__buf_appends(&l->news, "[");
    hexrun__buf_appends(&l->changed, "[");
    hexrun__buf_appends(&l->seen, "{");
    for (size_t i = 0; i < n && ok; i++) {
        one.len = 0;
        ok = hexrun__hex_run_json(&runs[i], &one) == HEXRUN_OK && !one.failed;
        if (!ok)
            break;
        snprintf(fresh[i].run_id, sizeof fresh[i].run_id, "%s", runs[i].run_id);
        snprintf(fresh[i].project_id, sizeof fresh[i].project_id, "%s", runs[i].project_id);
        fresh[i].sig = json_sig(one.data, one.len);
        fresh[i].status_sig = json_sig(runs[i].status, strlen(runs[i].status));
        board_list_add(pg, &runs[i], &one, &fresh[i], l);
    }
    hexrun__buf_appends(&l->news, "]");
    hexrun__buf_appends(&l->changed, "]");
    hexrun__buf_appends(&l->seen, "}");
    hexrun__buf_free(&one);
    return ok && !l->news.failed && !l->changed.failed && !l->seen.failed;
}

/* 1 when a put of the n runs renews the held project's lease: one of them is the
 * project's (an id that is not a UUID is not renewed: the text[] literal takes no
 * quoting, and its sweeps ask the store). */
static int hold_swept(const board_hold *h, const hexrun__hex_run *runs, size_t n)
{
    if (!hexrun__hex_is_uuid(h->project))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(runs[i].project_id, h->project) == 0)
            return 1;
    return 0;
}

/* The held projects the n runs renew, as a text[] literal (malloc'ed; NULL on NOMEM). */
static char *held_projects(const hexrun__pg *pg, const hexrun__hex_run *runs, size_t n)
{
    hexrun__buf b = {0};
    hexrun__buf_appends(&b, "{");
    for (size_t h = 0, k = 0; h < pg->n_holds; h++)
        if (hold_swept(&pg->holds[h], runs, n))
            hexrun__buf_appendf(&b, "%s%s", k++ ? "," : "", pg->holds[h].project);
    hexrun__buf_appends(&b, "}");
    return hexrun__buf_steal(&b);
}

/* The sweep's runs put without news (l), and the leases of its held projects renewed: a
 * held project the answer lacks is no longer this client's. 1 when it went through. */
static int board_put_rest(hexrun__pg *pg, const board_lists *l, const hexrun__hex_run *runs,
                          size_t n, const char *owner)
{
    char *projects = held_projects(pg, runs, n);
    if (!projects)
        return 0;
    char msg[HEXRUN__ERR_MAX];
    const char *params[] = {pg->token_hash, l->seen.data, l->changed.data, projects, owner};
    int64_t asked = mono_ms();
    PGresult *r = run(pg, HEXRUN__COORD_SQL_BOARD_SEEN, 5, params, msg, sizeof msg);
    if (!r) {
        free(projects);
        go_offline(pg, msg);
        return 0;
    }
    for (size_t h = 0; h < pg->n_holds;) {
        board_hold *held = &pg->holds[h];
        int swept = hold_swept(held, runs, n), renewed = 0;
        for (int i = 0; swept && i < pq.ntuples(r) && !renewed; i++)
            renewed = strcmp(pq.getvalue(r, i, 0), held->project) == 0;
        if (renewed)
            held->until_ms = asked + held->lease_ms;
        if (swept && !renewed)
            hold_drop(pg, held->project); /* the last hold moved here: look at h again */
        else
            h++;
    }
    pq.clear(r);
    free(projects);
    return 1;
}

/* Two statements: the runs whose status changed (or that are new to this client) first,
 * with the news, which the readers wait on; then, after it is out, the rest of the sweep
 * (runs whose other fields changed, such as a running run's elapsed time, and the ids of
 * those put as they are). */
void hexrun__pg_board_put(hexrun__pg *pg, const hexrun__hex_run *runs, size_t n)
{
    if (!online(pg) || n == 0)
        return; /* offline: the next sweep puts them */
    board_memo *fresh = calloc(n, sizeof *fresh);
    board_lists l = {0};
    int ok = fresh && board_sort(pg, runs, n, fresh, &l);
    char owner[16];
    snprintf(owner, sizeof owner, "%" PRId32, pg->owner);
    if (ok && l.n_news) {
        const char *params[] = {pg->token_hash, l.news.data, pg->channel, owner};
        ok = board_write(pg, HEXRUN__COORD_SQL_BOARD_PUT, 4, params);
    }
    if (ok)
        ok = board_put_rest(pg, &l, runs, n, owner);
    if (ok) {
        memo_replace(pg, fresh, n);
    } else {
        free(fresh);
        memo_forget(pg, NULL);
    }
    hexrun__buf_free(&l.news);
    hexrun__buf_free(&l.changed);
    hexrun__buf_free(&l.seen);
}

void hexrun__pg_board_release(hexrun__pg *pg, const char *project)
{
    if (!pg->conn)
        return; /* offline: the lease lapses on its own */
    char owner[16], msg[HEXRUN__ERR_MAX];
    snprintf(owner, sizeof owner, "%" PRId32, pg->owner);
    const char *params[] = {pg->token_hash, project, owner, pg->channel};
    memo_forget(pg, project); /* whoever sweeps next writes what it sees */
    hold_drop(pg, project);
    PGresult *r = run(pg, HEXRUN__COORD_SQL_BOARD_RELEASE, 4, params, msg, sizeof msg);
    if (r)
        pq.clear(r);
    else
        go_offline(pg, msg);
}

int hexrun__pg_board_fd(const hexrun__pg *pg)
{
    return pg->conn ? pq.socket(pg->conn) : -1;
}

/* One announcement, "<owner> <project>[ {"runs":[...]}]", handed to news unless it is
 * this client's own (or not hexrun's). */
static int board_note(hexrun__pg *pg, const PGnotify *note, hexrun__pg_news_fn news, void *ud)
{
    char project[HEXRUN__HEX_ID_MAX], mine[16];
    snprintf(mine, sizeof mine, "%" PRId32 " ", pg->owner);
    const char *p = note->extra ? strchr(note->extra, ' ') : NULL;
    if (!p || strcmp(note->relname, pg->channel) != 0 ||
        strncmp(note->extra, mine, strlen(mine)) == 0)
        return 0;
    size_t len = strcspn(++p, " ");
    if (len == 0 || len >= sizeof project)
        return 0;
    memcpy(project, p, len);
    project[len] = '\0';
    const char *page = p[len] == ' ' ? p + len + 1 : NULL;
    hexrun__hex_run *runs = NULL;
    size_t n = 0;
    char err[HEXRUN__ERR_MAX];
    /* No limit on the count: a notification holds less than 8000 bytes (PostgreSQL's). */
    if (page && hexrun__hex_parse_runs_page(page, strlen(page), SIZE_MAX, &runs, &n, NULL, err,
                                            sizeof err) != HEXRUN_OK)
        runs = NULL, n = 0; /* the reader reads the board instead */
    news(ud, project, runs, n);
    free(runs);
    return 1;
}

size_t hexrun__pg_board_news(hexrun__pg *pg, hexrun__pg_news_fn news, void *ud)
{
    if (!pg->conn)
        return 0;
    if (!pq.consumeInput(pg->conn)) {
        char msg[HEXRUN__ERR_MAX];
        snprintf(msg, sizeof msg, "%s", pq.errorMessage(pg->conn));
        trim_newline(msg);
        go_offline(pg, msg);
        return 0;
    }
    size_t n = 0;
    for (PGnotify *note; (note = pq.notifies(pg->conn)) != NULL; pq.freemem(note))
        n += (size_t)board_note(pg, note, news, ud);
    return n;
}
