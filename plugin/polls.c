/* polls.c - the poll lane's bookkeeping, coalesced project polls and the status board
 * (engine thread). */
#include "engine_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reading_find(const hexrun__engine *e, const char *project)
{
    for (size_t i = 0; i < e->n_reading; i++)
        if (strcmp(e->reading[i], project) == 0)
            return (int)i;
    return -1;
}

static void reading_add(hexrun__engine *e, const char *project)
{
    if (e->n_reading == e->cap_reading) {
        size_t cap = e->cap_reading ? 2 * e->cap_reading : 8;
        void *grown = realloc(e->reading, cap * sizeof *e->reading);
        if (!grown)
            return; /* only costs a second reader */
        e->reading = grown;
        e->cap_reading = cap;
    }
    snprintf(e->reading[e->n_reading++], HEXRUN__HEX_ID_MAX, "%s", project);
}

void reading_remove(hexrun__engine *e, const char *project)
{
    int i = reading_find(e, project);
    if (i >= 0)
        memcpy(e->reading[i], e->reading[--e->n_reading], HEXRUN__HEX_ID_MAX);
}

static poll_group *group_find(hexrun__engine *e, const char *project)
{
    for (size_t i = 0; i < e->n_groups; i++)
        if (strcmp(e->groups[i].project_id, project) == 0)
            return &e->groups[i];
    return NULL;
}

static poll_group *group_get(hexrun__engine *e, const char *project)
{
    poll_group *g = group_find(e, project);
    if (g)
        return g;
    if (e->n_groups == e->cap_groups) {
        size_t cap = e->cap_groups ? 2 * e->cap_groups : 8;
        void *grown = realloc(e->groups, cap * sizeof *e->groups);
        if (!grown)
            return NULL; /* only the sweep period undercounts this project */
        e->groups = grown;
        e->cap_groups = cap;
    }
    g = &e->groups[e->n_groups++];
    memset(g, 0, sizeof *g);
    snprintf(g->project_id, sizeof g->project_id, "%s", project);
    return g;
}

/* Count a poll op in (delta 1) or out (-1) of its group. */
void poll_track(hexrun__engine *e, const op *o, int delta)
{
    e->poll_ops += delta;
    if (o->poll.solo) {
        e->solo_polls += delta;
        return;
    }
    const char *project = o->poll.project_id;
    poll_group *g = delta > 0 ? group_get(e, project) : group_find(e, project);
    if (g && (g->polls += delta) <= 0)
        *g = e->groups[--e->n_groups];
}

/* A new OP_POLL: note its job's project and count it (table mutex held). */
void poll_track_new(hexrun__engine *e, op *o)
{
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    snprintf(o->poll.project_id, sizeof o->poll.project_id, "%s", job ? job->project_id : "");
    poll_track(e, o, 1);
}

/* From now on this poll goes alone (its run was not on the pages read). */
static void poll_set_solo(hexrun__engine *e, op *o)
{
    poll_track(e, o, -1);
    o->poll.solo = 1;
    poll_track(e, o, 1);
}

/* The poll requests one round over every live run takes: a page per 100 runs of each
 * project (or what its last coalesced poll read), one per run polled alone. */
int64_t poll_groups(const hexrun__engine *e)
{
    if (!e->cfg->coalesce)
        return e->poll_ops;
    int64_t n = e->solo_polls;
    for (size_t i = 0; i < e->n_groups; i++) {
        const poll_group *g = &e->groups[i];
        n += g->pages > 0 ? g->pages : (g->polls + PROJECT_POLL_LIMIT - 1) / PROJECT_POLL_LIMIT;
    }
    return n;
}

/* How often each run is polled: as often as the poll share of the api budget allows a
 * round over every group, never more often than poll_min_ms nor less than poll_max_ms. */
int64_t sweep_period_ms(const hexrun__engine *e)
{
    int64_t t = poll_groups(e) * hexrun__budget_poll_interval_ms(&e->budget[HEXRUN__BUDGET_API]);
    return t < e->cfg->poll_min_ms   ? e->cfg->poll_min_ms
           : t > e->cfg->poll_max_ms ? e->cfg->poll_max_ms
                                     : t;
}

/* The job's poll op, taken out of the poll lane or out of the group of a project poll
 * waiting there; NULL when it is in flight. */
op *poll_take_out(hexrun__engine *e, int64_t job)
{
    for (op **pp = &e->polls; *pp; pp = &(*pp)->next) {
        op *o = *pp;
        if (o->kind == OP_POLL && o->job == job) {
            *pp = o->next;
            return o;
        }
        if (o->kind != OP_PROJECT_POLL)
            continue;
        for (op **gp = &o->project.group; *gp; gp = &(*gp)->next) {
            op *m = *gp;
            if (m->job == job) {
                *gp = m->next;
                return m;
            }
        }
    }
    return NULL;
}

static const hexrun__hex_run *run_find(const hexrun__hex_run *runs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(runs[i].run_id, id) == 0)
            return &runs[i];
    return NULL;
}

/* ---- the status board (coord.h) ---- */

/* Board reads in a row without a poll's run before it is polled alone (its run is not on
 * the sweeper's pages, or no one sweeps): reads come once a period, and besides at each
 * announced change of the board (about once a sweep while runs move), and a new run appears
 * at the next sweep. A run the board saw more than BOARD_STALE_PERIODS ago counts as
 * missing. */
#define BOARD_MISSES_MAX 6

#define BOARD_STALE_PERIODS 3

/* Keep the runs of a page for the board (table mutex held); on NOMEM the board just
 * misses them until the next sweep. */
static void board_queue(hexrun__engine *e, const hexrun__hex_run *runs, size_t n)
{
    if (!hexrun__coord_has_board(e->coord) || n == 0)
        return;
    if (e->n_board_out + n > e->cap_board_out) {
        size_t cap = (e->n_board_out + n) * 2;
        hexrun__hex_run *grown = realloc(e->board_out, cap * sizeof *grown);
        if (!grown)
            return;
        e->board_out = grown;
        e->cap_board_out = cap;
    }
    memcpy(e->board_out + e->n_board_out, runs, n * sizeof *runs);
    e->n_board_out += n;
}

static size_t polls_of_project(const hexrun__engine *e, const char *project);
static const char *poll_project(const hexrun__engine *e, const op *o);

/* After a sweep of project (table mutex held): when this client has no run of it left to
 * poll, its lease is given up (board_flush), so that a reader takes over at its next read
 * instead of waiting for the lease to lapse. */
static void board_done(hexrun__engine *e, const char *project)
{
    if (!hexrun__coord_has_board(e->coord) || polls_of_project(e, project) > 0)
        return;
    if (e->n_board_done == e->cap_board_done) {
        size_t cap = e->cap_board_done ? 2 * e->cap_board_done : 4;
        char(*grown)[HEXRUN__HEX_ID_MAX] = realloc(e->board_done, cap * sizeof *grown);
        if (!grown)
            return; /* the lease lapses on its own */
        e->board_done = grown;
        e->cap_board_done = cap;
    }
    snprintf(e->board_done[e->n_board_done++], HEXRUN__HEX_ID_MAX, "%s", project);
}

/* Put the kept runs on the board and give up the leases of finished projects (engine
 * thread, without the table mutex). */
void board_flush(hexrun__engine *e)
{
    if (!hexrun__coord_has_board(e->coord))
        return;
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__hex_run *runs = e->board_out;
    size_t n = e->n_board_out, n_done = e->n_board_done;
    char(*done)[HEXRUN__HEX_ID_MAX] = e->board_done;
    e->board_out = NULL;
    e->n_board_out = e->cap_board_out = 0;
    e->board_done = NULL;
    e->n_board_done = e->cap_board_done = 0;
    pthread_mutex_unlock(&e->jobs->mu);
    hexrun__coord_board_put(e->coord, runs, n);
    for (size_t i = 0; i < n_done; i++)
        hexrun__coord_board_release(e->coord, done[i]);
    free(runs);
    free(done);
}

/* The run ids of a project poll's group (table mutex held); NULL on NOMEM. */
static char (*group_run_ids(hexrun__engine *e, const op *o, size_t *n))[HEXRUN__HEX_ID_MAX]
{
    size_t count = 0;
    for (const op *p = o->project.group; p; p = p->next)
        count++;
    char(*ids)[HEXRUN__HEX_ID_MAX] = calloc(count ? count : 1, sizeof *ids);
    *n = 0;
    for (const op *p = o->project.group; ids && p; p = p->next) {
        const hexrun__job *job = hexrun__jobs_find(e->jobs, p->job);
        if (job)
            snprintf(ids[(*n)++], sizeof ids[0], "%s", job->run_id);
    }
    return ids;
}

/* A reader's reads of the board come half a period away from the holder's sweeps. The
 * sweeper's changes are announced (board_listen), so a read only keeps the runs fresh and
 * notices a sweeper that is gone; one due when the next sweep's news is (a period after
 * the last) would put every reader's statement on the store in the moment the news is
 * written, and keep the reader in its round trip while the news waits. */
static int64_t board_read_offset(int64_t period)
{
    return period / 2;
}

/* Hand each poll of a served group the board's run (table mutex held). A run the board
 * lacks (or saw too long ago) is asked again at the next read, and polled alone after
 * BOARD_MISSES_MAX such reads. The next read is due a period and a half after the sweep
 * that put the youngest run (board_read_offset); when this client took the lease
 * (`took_lease`), its own sweep is due a period after it, as the holder's next would
 * have been. */
static void board_apply(hexrun__engine *e, op *o, const hexrun__hex_run *runs, const int64_t *ages,
                        size_t n, int64_t now, int took_lease)
{
    int64_t period = sweep_period_ms(e);
    int64_t youngest = -1;
    for (size_t i = 0; i < n; i++)
        if (ages[i] >= 0 && ages[i] < period && (youngest < 0 || ages[i] < youngest))
            youngest = ages[i];
    int64_t since =
        (youngest >= 0 ? now - youngest : now) + (took_lease ? 0 : board_read_offset(period));
    op *p = o->project.group;
    o->project.group = NULL;
    while (p) {
        op *next = p->next;
        hexrun__job *job = hexrun__jobs_find(e->jobs, p->job);
        const hexrun__hex_run *run = job ? run_find(runs, n, job->run_id) : NULL;
        if (run && ages[run - runs] > BOARD_STALE_PERIODS * period)
            run = NULL;
        p->poll.board_misses = run ? 0 : p->poll.board_misses + 1;
        p->sent_ms = since; /* poll_apply: due a period on */
        if (!job) {
            op_free(p);
        } else if (!run && p->poll.board_misses >= BOARD_MISSES_MAX) {
            poll_set_solo(e, p);
            reschedule(e, p, 0);
        } else if (poll_apply(e, p, job, run) == OP_FINISHED) {
            op_free(p);
        }
        p = next;
    }
}

/* 1 when the board had each of the n_ids runs asked for, seen within the period. */
static int board_fresh(const int64_t *ages, size_t n_runs, size_t n_ids, int64_t period)
{
    if (n_runs < n_ids)
        return 0;
    for (size_t i = 0; i < n_runs; i++)
        if (ages[i] > period)
            return 0;
    return 1;
}

/* A due project poll, first on the poll lane, while another client holds the project's
 * lease: answered from the board, without a request to Hex or budget (OP_FINISHED: o was
 * taken off the lane, before its group went back on it). OP_SEND: this client sweeps (or
 * there is no board): poll Hex as usual. */
op_fate board_serve(hexrun__engine *e, op *o, int64_t now)
{
    if (o->kind != OP_PROJECT_POLL || o->project.pages > 0 || !hexrun__coord_has_board(e->coord))
        return OP_SEND;
    size_t n_ids = 0, n_runs = 0;
    pthread_mutex_lock(&e->jobs->mu);
    char(*ids)[HEXRUN__HEX_ID_MAX] = group_run_ids(e, o, &n_ids);
    int64_t period = sweep_period_ms(e);
    pthread_mutex_unlock(&e->jobs->mu);
    if (!ids)
        return OP_SEND;
    hexrun__hex_run *runs;
    int64_t *ages;
    /* The lease outlives a period by another and a margin: the holder's sweeps come a
     * period apart plus its queueing and the store's round trips (and, on a loaded machine,
     * tens of ms of waiting for a core), and a lease that lapsed between two of them would
     * pass to a reader, which would sweep too. */
    hexrun__board_verdict v =
        hexrun__coord_board_step(e->coord, o->project.id, 2 * period + HEXRUN__BUDGET_MIN_MARGIN_MS,
                                 ids, n_ids, &runs, &ages, &n_runs);
    free(ids);
    /* A lease taken over with every run fresh on the board (its last holder has just
     * swept and given it up): the board answers now, and this client's sweeps follow a
     * period on, as the holder's would have. */
    if (v == HEXRUN__BOARD_LEASE && !board_fresh(ages, n_runs, n_ids, period))
        v = HEXRUN__BOARD_SWEEP;
    if (v != HEXRUN__BOARD_READ && v != HEXRUN__BOARD_LEASE) {
        free(runs);
        free(ages);
        return OP_SEND;
    }
    e->polls = o->next;
    pthread_mutex_lock(&e->jobs->mu);
    e->board_reads++;
    board_apply(e, o, runs, ages, n_runs, now, v == HEXRUN__BOARD_LEASE);
    /* A lease taken over for runs the board shows ended leaves this client nothing to
     * sweep: it gives the lease up at once, or the others would wait for it to lapse. */
    if (v == HEXRUN__BOARD_LEASE)
        board_done(e, o->project.id);
    pthread_mutex_unlock(&e->jobs->mu);
    free(runs);
    free(ages);
    return OP_FINISHED;
}

/* Move the polls of `group` whose run is among runs onto *got (table mutex held). */
static void board_news_take(hexrun__engine *e, op **group, const hexrun__hex_run *runs, size_t n,
                            op **got)
{
    for (op **pp = group; *pp;) {
        op *o = *pp;
        const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
        if (job && run_find(runs, n, job->run_id)) {
            *pp = o->next;
            o->next = *got;
            *got = o;
        } else {
            pp = &o->next;
        }
    }
}

/* Another client announced a change of project's runs on the board: each of this
 * client's polls on the lane whose run changed gets it now, as from a board read, alone
 * or from the group of a project poll waiting there (for budget, as a sweep); a project
 * poll left with no poll is dropped. */
static void board_news_apply(hexrun__engine *e, const hexrun__hex_run *runs, size_t n,
                             const char *project, int64_t now)
{
    op *got = NULL, *mine = NULL;
    for (op **pp = &e->polls; *pp;) {
        op *o = *pp;
        const char *p = poll_project(e, o);
        if (p && strcmp(p, project) == 0) {
            *pp = o->next; /* examined alone, below */
            o->next = mine;
            mine = o;
            continue;
        }
        if (o->kind == OP_PROJECT_POLL && strcmp(o->project.id, project) == 0) {
            board_news_take(e, &o->project.group, runs, n, &got);
            if (!o->project.group) {
                *pp = o->next;
                op_free(o);
                continue;
            }
        }
        pp = &o->next;
    }
    board_news_take(e, &mine, runs, n, &got);
    while (mine) { /* the polls whose run did not change go back as they were */
        op *o = mine;
        mine = o->next;
        lane_insert_chain(&e->polls, o, o, o->due_ms);
    }
    while (got) {
        op *o = got;
        got = o->next;
        hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
        o->poll.board_misses = 0;
        /* poll_apply: the next read is due a period and a half on (board_read_offset) */
        o->sent_ms = now + board_read_offset(sweep_period_ms(e));
        if (!job || poll_apply(e, o, job, run_find(runs, n, job->run_id)) == OP_FINISHED)
            op_free(o);
    }
}

/* The news of project without its runs (too many to announce): the project's first poll
 * on the lane not yet due is due now, which brings its polls to the board at once
 * (coalesce_polls groups them, board_serve reads). */
static void board_news_read(hexrun__engine *e, const char *project, int64_t now)
{
    for (op **pp = &e->polls; *pp; pp = &(*pp)->next) {
        op *o = *pp;
        const char *p = poll_project(e, o);
        if (!p || strcmp(p, project) != 0)
            continue;
        if (o->due_ms > now) {
            *pp = o->next;
            o->due_ms = now;
            lane_insert_chain(&e->polls, o, o, now);
            e->board_woken = 1;
        }
        return;
    }
}

static void board_news(void *ud, const char *project, const hexrun__hex_run *runs, size_t n)
{
    hexrun__engine *e = ud;
    int64_t now = now_ms(e);
    pthread_mutex_lock(&e->jobs->mu);
    hexrun__log_write(e->log, HEXRUN_LOG_DEBUG, "event=board_news project=%s runs=%zu", project, n);
    if (runs)
        board_news_apply(e, runs, n, project, now);
    else
        board_news_read(e, project, now);
    pthread_mutex_unlock(&e->jobs->mu);
}

/* Before the engine waits: take the board's news (board_news) and have the transport
 * wake on the store's socket when more arrive. Returns 1 when a poll was made due now. */
int board_listen(hexrun__engine *e)
{
    if (!hexrun__coord_has_board(e->coord))
        return 0;
    e->board_woken = 0;
    hexrun__coord_board_news(e->coord, board_news, e);
    if (e->io.watch_fd)
        e->io.watch_fd(e->io.ud, hexrun__coord_board_fd(e->coord));
    return e->board_woken;
}

/* ---- coalesced project polls ---- */

/* The runs and nextPage of a project poll's 2xx page (table mutex held); 0 (logged) when it
 * cannot be read or holds more runs than it asked for (hex.h: they would cost 13 times the
 * page). */
static int page_read(hexrun__engine *e, const op *o, const hexrun__http_resp *r,
                     hexrun__hex_run **runs, size_t *n, hexrun__hex_next_page *np)
{
    char err[HEXRUN__ERR_MAX];
    if (hexrun__hex_parse_runs_page(r->body, r->body_len, PROJECT_POLL_LIMIT, runs, n, np, err,
                                    sizeof err) == HEXRUN_OK)
        return 1;
    hexrun__log_write(e->log, HEXRUN_LOG_WARN,
                      "event=page_unreadable project=%s offset=%lld (its runs are polled alone) "
                      "%s",
                      o->project.id, (long long)o->project.page_offset, err);
    return 0;
}

/* Hand each grouped poll its run from the page. The runs not on it are looked for on the
 * next page while that is cheaper than polling them one by one; after that (or when the
 * page failed) each is polled alone from now on, so nothing depends on the pages.
 * OP_REQUEUED: o reads the next page. */
op_fate project_poll_result(hexrun__engine *e, op *o, const hexrun__http_resp *r, int code)
{
    hexrun__hex_run *runs = NULL;
    size_t n = 0, n_missing = 0;
    hexrun__hex_next_page np = {0};
    int ok = code == HEXRUN_OK && page_read(e, o, r, &runs, &n, &np);
    /* A nextPage without an offset: the next page starts after the runs of this one. */
    int64_t next_offset = !np.present      ? -1
                          : np.offset >= 0 ? np.offset
                                           : o->project.page_offset + (int64_t)n;
    op *p = o->project.group, *missing = NULL;
    o->project.group = NULL;
    /* With a board the sweep's question counts from when it was due: the store's
     * statements before it (lease, budget) then do not stretch the sweep period. */
    int64_t asked =
        hexrun__coord_has_board(e->coord) && o->due_ms < o->sent_ms ? o->due_ms : o->sent_ms;
    while (p) {
        op *next = p->next;
        p->sent_ms = asked;
        hexrun__job *job = hexrun__jobs_find(e->jobs, p->job);
        const hexrun__hex_run *run = ok && job ? run_find(runs, n, job->run_id) : NULL;
        if (!job) {
            op_free(p);
        } else if (run) {
            if (poll_apply(e, p, job, run) == OP_FINISHED)
                op_free(p);
        } else if (job->poll_soon) {
            /* A cancel's answer wants the run's status now, not after the next pages. */
            job->poll_soon = 0;
            p->poll.urgent = 1;
            reschedule(e, p, 0);
        } else {
            p->next = missing;
            missing = p;
            n_missing++;
        }
        p = next;
    }
    if (ok)
        board_queue(e, runs, n);
    if (!missing)
        board_done(e, o->project.id);
    free(runs);
    if (ok && n_missing >= 2 && next_offset > o->project.page_offset &&
        o->project.pages + 1 < PROJECT_POLL_PAGES) {
        o->project.group = missing;
        o->project.page_offset = next_offset;
        o->project.pages++;
        o->attempt = 0;
        reschedule(e, o, 0);
        return OP_REQUEUED;
    }
    poll_group *g = group_find(e, o->project.id);
    if (g)
        g->pages = o->project.pages + 1;
    for (p = missing; p; p = missing) {
        missing = p->next;
        poll_set_solo(e, p);
        reschedule(e, p, 0);
    }
    return OP_FINISHED;
}

/* The project of a poll op that may join a group, or NULL (table mutex held). */
static const char *poll_project(const hexrun__engine *e, const op *o)
{
    if (o->kind != OP_POLL || o->poll.solo)
        return NULL;
    const hexrun__job *job = hexrun__jobs_find(e->jobs, o->job);
    return job && job->run_id[0] && hexrun_state_is_terminal(job->state) == 0 ? job->project_id
                                                                              : NULL;
}

static size_t polls_of_project(const hexrun__engine *e, const char *project)
{
    size_t n = 0;
    for (const op *o = e->polls; o; o = o->next) {
        const char *p = poll_project(e, o);
        n += p && strcmp(p, project) == 0;
    }
    return n;
}

/* Move every groupable poll of `project` (due or not: riding along is free) into one
 * OP_PROJECT_POLL due now. */
static int group_project(hexrun__engine *e, const char *project, int64_t now)
{
    op *g = op_new(e, OP_PROJECT_POLL, 0);
    if (!g)
        return -1; /* the runs are polled one by one instead */
    snprintf(g->project.id, sizeof g->project.id, "%s", project);
    reading_add(e, g->project.id);
    op **pp = &e->polls;
    while (*pp) {
        op *o = *pp;
        const char *p = poll_project(e, o);
        if (p && strcmp(p, g->project.id) == 0) {
            *pp = o->next;
            o->next = g->project.group;
            g->project.group = o;
        } else {
            pp = &o->next;
        }
    }
    lane_add(e, g, now);
    return 0;
}

/* Polls of a project worth one page: two, or one with a status board (its page serves the
 * other clients' runs of the project too). */
static size_t group_min(const hexrun__engine *e)
{
    return hexrun__coord_has_board(e->coord) ? 1 : 2;
}

/* Group the due polls of every project that has group_min(e) or more runs to poll. */
void coalesce_polls(hexrun__engine *e, int64_t now)
{
    pthread_mutex_lock(&e->jobs->mu);
    op **pp = &e->polls, *later = NULL, **later_end = &later, *later_last = NULL;
    while (*pp && (*pp)->due_ms <= now) {
        op *o = *pp;
        const char *p = poll_project(e, o);
        if (p && reading_find(e, p) >= 0) {
            /* The project's pages are being read: this run waits for the next round. */
            *pp = o->next;
            o->next = NULL;
            *later_end = later_last = o;
            later_end = &o->next;
        } else if (p && polls_of_project(e, p) >= group_min(e) && group_project(e, p, now) == 0) {
            pp = &e->polls; /* the list changed; grouped ops are gone from it */
        } else {
            pp = &o->next;
        }
    }
    /* Their project's next round picks them up; until then they need no look. */
    int64_t period = sweep_period_ms(e);
    for (op *o = later; o; o = o->next)
        o->due_ms = now + period;
    lane_insert_chain(&e->polls, later, later_last, now + period);
    pthread_mutex_unlock(&e->jobs->mu);
}
