/* budget.c - sliding-window budgets per limit group, and their shared file; see budget.h. */
#include "budget.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "file.h"
#include "hexrun.h"

/* The window's length with the jitter margin: 1/20 more absorbs clock and network
 * jitter between our send times and Hex's arrival times (3 s of a minute). A window that
 * budget_time_scale shrinks to milliseconds still gets HEXRUN__BUDGET_MIN_MARGIN_MS of
 * real time: a loaded machine delays a thread by tens of ms, which would carry a request
 * across the edge of the simulator's equally short window. */
static int64_t span_ms(const hexrun__window *w)
{
    int64_t margin = w->len_ms / 20;
    return w->len_ms +
           (margin > HEXRUN__BUDGET_MIN_MARGIN_MS ? margin : HEXRUN__BUDGET_MIN_MARGIN_MS);
}

static int uses_log(const hexrun__window *w)
{
    return w->limit <= HEXRUN__BUDGET_LOG_MAX;
}

/* The bucket of a window without a log: half the limit, refilled at half the rate, so
 * that the bucket alone keeps to the limit. */
static double bucket_cap(const hexrun__window *w)
{
    double cap = (double)w->limit / 2.0;
    return cap < 1.0 ? 1.0 : cap;
}

static double bucket_rate(const hexrun__window *w)
{
    return (double)w->limit / 2.0 / (double)span_ms(w);
}

/* The poll lane's pace: its share of the window, evenly (the share, not the whole limit, is
 * what must last: with the margin it would fall short of the share). */
static double poll_rate(const hexrun__window *w)
{
    return (double)w->poll_share / (double)w->len_ms;
}

static void window_init(hexrun__window *w, int64_t limit, int64_t len_ms, int64_t reserve_percent,
                        int64_t now_ms)
{
    memset(w, 0, offsetof(hexrun__window, log));
    w->limit = limit;
    w->len_ms = len_ms > 0 ? len_ms : 1;
    w->poll_share = limit * (100 - reserve_percent) / 100;
    if (w->poll_share < 1)
        w->poll_share = 1;
    w->tokens = bucket_cap(w);
    w->last_ms = now_ms;
    w->poll_tokens = 1.0;
    w->poll_last_ms = now_ms;
}

void hexrun__budget_init(hexrun__budget *b, int64_t per_min, int64_t per_hour, int64_t time_scale,
                         int64_t reserve_percent, int64_t now_ms)
{
    int64_t scale = time_scale > 0 ? time_scale : 1;
    int64_t reserve = reserve_percent < 0 ? 0 : reserve_percent > 90 ? 90 : reserve_percent;
    window_init(&b->minute, per_min, 60000 / scale, reserve, now_ms);
    window_init(&b->hour, per_hour, 3600000 / scale, reserve, now_ms);
    b->paused_until_ms = 0;
}

/* Refill a bucket of capacity cap at rate per ms; returns the ms until it holds one. */
static int64_t bucket_wait(double *tokens, int64_t *last_ms, double cap, double rate,
                           int64_t now_ms)
{
    if (now_ms > *last_ms) {
        *tokens = fmin(cap, *tokens + (double)(now_ms - *last_ms) * rate);
        *last_ms = now_ms;
    }
    return *tokens >= 1.0 ? 0 : (int64_t)ceil((1.0 - *tokens) / rate);
}

/* ms until the log holds fewer than n sends younger than len (0: it does now). */
static int64_t log_wait(const hexrun__window *w, uint32_t n, int64_t len, int64_t now_ms)
{
    if (w->count < n)
        return 0;
    int64_t free_at = w->log[(w->head + w->count - n) % (uint32_t)w->limit] + len;
    return free_at > now_ms ? free_at - now_ms : 0;
}

/* ms until the window allows one more request of the interactive lane (0 when it does, or
 * when it is off). */
static int64_t window_wait(hexrun__window *w, int64_t now_ms)
{
    if (w->limit <= 0)
        return 0;
    if (uses_log(w))
        return log_wait(w, (uint32_t)w->limit, span_ms(w), now_ms);
    return bucket_wait(&w->tokens, &w->last_ms, bucket_cap(w), bucket_rate(w), now_ms);
}

/* As window_wait, for the poll lane: the share counts every request of the window. */
static int64_t window_poll_wait(hexrun__window *w, int64_t now_ms)
{
    int64_t wait = window_wait(w, now_ms);
    if (w->limit <= 0)
        return wait;
    if (uses_log(w)) {
        int64_t share = log_wait(w, (uint32_t)w->poll_share, w->len_ms, now_ms);
        wait = share > wait ? share : wait;
    }
    int64_t pace = bucket_wait(&w->poll_tokens, &w->poll_last_ms, 1.0, poll_rate(w), now_ms);
    return pace > wait ? pace : wait;
}

static void window_record(hexrun__window *w, int64_t now_ms, int poll)
{
    if (w->limit <= 0)
        return;
    if (poll)
        w->poll_tokens -= 1.0;
    if (!uses_log(w)) {
        w->tokens -= 1.0;
        return;
    }
    uint32_t limit = (uint32_t)w->limit;
    if (w->count < limit) {
        w->log[(w->head + w->count) % limit] = now_ms;
        w->count++;
    } else {
        w->log[w->head] = now_ms;
        w->head = (w->head + 1) % limit;
    }
}

/* Forget the newest request (it was never sent). The log drops its newest entry; an
 * entry it overwrote had already left the window, or the request would have waited. */
static void window_unrecord(hexrun__window *w)
{
    if (w->limit <= 0)
        return;
    if (!uses_log(w))
        w->tokens = fmin(bucket_cap(w), w->tokens + 1.0);
    else if (w->count > 0)
        w->count--;
}

static int64_t budget_take_lane(hexrun__budget *b, int64_t now_ms, int poll)
{
    if (now_ms < b->paused_until_ms)
        return b->paused_until_ms - now_ms;
    int64_t wm = poll ? window_poll_wait(&b->minute, now_ms) : window_wait(&b->minute, now_ms);
    int64_t wh = poll ? window_poll_wait(&b->hour, now_ms) : window_wait(&b->hour, now_ms);
    int64_t wait = wm > wh ? wm : wh;
    if (wait > 0)
        return wait;
    window_record(&b->minute, now_ms, poll);
    window_record(&b->hour, now_ms, poll);
    return 0;
}

int64_t hexrun__budget_take(hexrun__budget *b, int64_t now_ms)
{
    return budget_take_lane(b, now_ms, 0);
}

int64_t hexrun__budget_take_poll(hexrun__budget *b, int64_t now_ms)
{
    return budget_take_lane(b, now_ms, 1);
}

static int64_t window_poll_interval(const hexrun__window *w)
{
    return w->limit > 0 ? (int64_t)ceil(1.0 / poll_rate(w)) : 0;
}

int64_t hexrun__budget_poll_interval_ms(const hexrun__budget *b)
{
    int64_t m = window_poll_interval(&b->minute), h = window_poll_interval(&b->hour);
    return m > h ? m : h;
}

int64_t hexrun__budget_paused_until(const hexrun__budget *b)
{
    return b->paused_until_ms;
}

void hexrun__budget_refund(hexrun__budget *b)
{
    window_unrecord(&b->minute);
    window_unrecord(&b->hour);
}

static int cmp_ms(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Add n sends at at_ms to what the window holds (its own sends are kept: a second outage
 * must not forget the first one's); the log stays ordered and keeps its newest `limit`. */
static void window_seed(hexrun__window *w, int64_t n, int64_t at_ms)
{
    if (w->limit <= 0 || n <= 0)
        return;
    if (!uses_log(w)) {
        w->tokens = fmax(0.0, w->tokens - (double)n);
        return;
    }
    uint32_t limit = (uint32_t)w->limit, count = 0;
    int64_t all[2 * HEXRUN__BUDGET_LOG_MAX];
    for (uint32_t i = 0; i < w->count; i++)
        all[count++] = w->log[(w->head + i) % limit];
    for (int64_t i = 0; i < n && i < w->limit; i++)
        all[count++] = at_ms;
    qsort(all, count, sizeof all[0], cmp_ms);
    uint32_t keep = count < limit ? count : limit;
    memcpy(w->log, all + (count - keep), keep * sizeof all[0]);
    w->head = 0;
    w->count = keep;
}

void hexrun__budget_seed(hexrun__budget *b, int64_t minute_n, int64_t hour_n, int64_t at_ms)
{
    window_seed(&b->minute, minute_n, at_ms);
    window_seed(&b->hour, hour_n, at_ms);
}

size_t hexrun__budget_sent_since(const hexrun__budget *b, int64_t after_ms, int64_t now_ms,
                                 int64_t *ages, size_t max)
{
    const hexrun__window *w = b->hour.limit > 0 && uses_log(&b->hour) ? &b->hour : &b->minute;
    if (w->limit <= 0 || !uses_log(w))
        return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < w->count && n < max; i++) {
        int64_t t = w->log[(w->head + i) % (uint32_t)w->limit];
        if (t > after_ms && t > now_ms - span_ms(w))
            ages[n++] = now_ms - t;
    }
    return n;
}

void hexrun__budget_pause(hexrun__budget *b, int64_t now_ms, int64_t ms)
{
    if (now_ms + ms > b->paused_until_ms)
        b->paused_until_ms = now_ms + ms;
}

/* ---- the shared budget file ---- */

/* Version 2: flock and pread/pwrite instead of a mapping and a process-shared mutex. A
 * mapped file that someone truncates, or that cannot get its blocks on a full disk, kills
 * its process with SIGBUS on the next access; reads and writes only ever fail.
 * Version 3: the poll lane (its share and pace in each window, the reserve in the slot). */
#define SHARED_MAGIC 0x55425848u /* "HXBU" */
#define SHARED_VERSION 3u
#define SHARED_SLOTS 32

typedef struct shared_header {
    uint32_t magic, version;
    char boot_id[40];                  /* the boot whose monotonic clock the buckets use */
    uint64_t token_hash[SHARED_SLOTS]; /* 0 = free */
} shared_header;

typedef struct shared_slot {
    int64_t limits[6];       /* the four budget keys, budget_time_scale, api reserve */
    hexrun__budget group[2]; /* HEXRUN__BUDGET_RUN, HEXRUN__BUDGET_API */
} shared_slot;

#define SHARED_FILE_SIZE ((off_t)(sizeof(shared_header) + SHARED_SLOTS * sizeof(shared_slot)))

struct hexrun__shared_budget {
    int fd;
    char *path;
    int slot;      /* index of the token's slot */
    uint64_t hash; /* the token's hash */
    int64_t limits[6];
    hexrun__log *log;
    int64_t repairs; /* times the file was found damaged and rebuilt */
};

static uint64_t token_hash(const char *token)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = token; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ? h : 1;
}

static void read_boot_id(char out[40])
{
    memset(out, 0, 40);
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f) {
        if (!fgets(out, 40, f))
            out[0] = '\0';
        fclose(f);
    }
    out[strcspn(out, "\n")] = '\0';
}

static int budget_io_error(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "budget_path: cannot %s '%s': %s", what, path, strerror(errno));
    return HEXRUN_E_IO;
}

static off_t slot_offset(int slot)
{
    return (off_t)(sizeof(shared_header) + (size_t)slot * sizeof(shared_slot));
}

/* Whole-object reads and writes; a short read (a truncated file) is a failure. */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
    ssize_t got = pread(fd, buf, len, off);
    if (got >= 0 && (size_t)got != len)
        errno = EIO;
    return got == (ssize_t)len ? 0 : -1;
}

static int write_at(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t put = pwrite(fd, buf, len, off);
    if (put >= 0 && (size_t)put != len)
        errno = ENOSPC;
    return put == (ssize_t)len ? 0 : -1;
}

/* Times in a valid file are monotonic milliseconds: far from overflow when added to. */
static int time_ok(int64_t t)
{
    return t >= 0 && t <= INT64_MAX / 4;
}

/* A window as read from the file is used only if it is one we could have written: log
 * indices inside the log, times that cannot overflow, finite buckets between 0 and their
 * capacity (a request takes a token only when there is a whole one, so no bucket goes
 * below 0; a deficit of 1e307 made the wait overflow int64_t, found by fuzz_budget_file).
 * A damaged file must not make us read or write out of bounds, or compute garbage. */
static int window_valid(const hexrun__window *w, const hexrun__window *fresh)
{
    if (w->limit != fresh->limit || w->len_ms != fresh->len_ms ||
        w->poll_share != fresh->poll_share || !time_ok(w->last_ms) || !time_ok(w->poll_last_ms) ||
        !isfinite(w->tokens) || w->tokens < 0 || w->tokens > bucket_cap(fresh) ||
        !isfinite(w->poll_tokens) || w->poll_tokens < 0 || w->poll_tokens > 1.0)
        return 0;
    if (!uses_log(w))
        return 1;
    if (w->limit <= 0)
        return w->head == 0 && w->count == 0;
    if (w->head >= (uint32_t)w->limit || w->count > (uint32_t)w->limit)
        return 0;
    for (uint32_t i = 0; i < w->count; i++)
        if (!time_ok(w->log[(w->head + i) % (uint32_t)w->limit]))
            return 0;
    return 1;
}

static int group_valid(const hexrun__budget *b, int64_t per_min, int64_t per_hour,
                       int64_t time_scale, int64_t reserve_percent)
{
    hexrun__budget fresh;
    hexrun__budget_init(&fresh, per_min, per_hour, time_scale, reserve_percent, 0);
    return window_valid(&b->minute, &fresh.minute) && window_valid(&b->hour, &fresh.hour) &&
           time_ok(b->paused_until_ms);
}

static int slot_valid(const shared_slot *s, const int64_t limits[6])
{
    return memcmp(s->limits, limits, sizeof s->limits) == 0 &&
           group_valid(&s->group[0], limits[0], limits[1], limits[4], 0) &&
           group_valid(&s->group[1], limits[2], limits[3], limits[4], limits[5]);
}

static void slot_init(shared_slot *s, const int64_t limits[6], int64_t now_ms)
{
    memcpy(s->limits, limits, sizeof s->limits);
    hexrun__budget_init(&s->group[0], limits[0], limits[1], limits[4], 0, now_ms);
    hexrun__budget_init(&s->group[1], limits[2], limits[3], limits[4], limits[5], now_ms);
}

/* Under flock: make the file a fresh, empty budget file if it is not a valid one of this
 * boot, with its blocks allocated (a full disk fails here, not at a later write). */
static int shared_prepare(int fd, const char *path, shared_header *h, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return budget_io_error(err, errlen, "stat", path);
    char boot[40];
    read_boot_id(boot);
    int valid = st.st_size == SHARED_FILE_SIZE && read_at(fd, h, sizeof *h, 0) == 0 &&
                h->magic == SHARED_MAGIC && h->version == SHARED_VERSION &&
                strncmp(h->boot_id, boot, sizeof boot) == 0;
    if (valid)
        return HEXRUN_OK;
    int e = posix_fallocate(fd, 0, SHARED_FILE_SIZE);
    if (e != 0) {
        errno = e;
        return budget_io_error(err, errlen, "allocate", path);
    }
    if (ftruncate(fd, SHARED_FILE_SIZE) != 0)
        return budget_io_error(err, errlen, "size", path);
    memset(h, 0, sizeof *h);
    memcpy(h->boot_id, boot, sizeof boot);
    h->version = SHARED_VERSION;
    h->magic = SHARED_MAGIC;
    if (write_at(fd, h, sizeof *h, 0) != 0)
        return budget_io_error(err, errlen, "write", path);
    return HEXRUN_OK;
}

/* Under flock: the token's slot (claimed and set up if new, or if its limits changed). */
static int slot_claim(int fd, shared_header *h, uint64_t hash, const int64_t limits[6],
                      int64_t now_ms, int *out)
{
    int found = -1;
    for (int i = 0; i < SHARED_SLOTS && found < 0; i++)
        if (h->token_hash[i] == hash)
            found = i;
    for (int i = 0; i < SHARED_SLOTS && found < 0; i++)
        if (!h->token_hash[i])
            found = i;
    if (found < 0)
        return 1;
    shared_slot s;
    if (h->token_hash[found] != hash || read_at(fd, &s, sizeof s, slot_offset(found)) != 0 ||
        !slot_valid(&s, limits)) {
        slot_init(&s, limits, now_ms);
        h->token_hash[found] = hash;
        if (write_at(fd, &s, sizeof s, slot_offset(found)) != 0 ||
            write_at(fd, h, sizeof *h, 0) != 0)
            return -1;
    }
    *out = found;
    return 0;
}

static int shared_lock(int fd)
{
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static int open_locked(hexrun__shared_budget *sb, const char *token, int64_t now_ms, char *err,
                       size_t errlen)
{
    shared_header h;
    int rc = shared_prepare(sb->fd, sb->path, &h, err, errlen);
    if (rc != HEXRUN_OK)
        return rc;
    sb->hash = token_hash(token);
    int claimed = slot_claim(sb->fd, &h, sb->hash, sb->limits, now_ms, &sb->slot);
    if (claimed < 0)
        return budget_io_error(err, errlen, "write", sb->path);
    if (claimed > 0) {
        snprintf(err, errlen, "budget_path: '%s' already holds the budgets of %d tokens", sb->path,
                 SHARED_SLOTS);
        return HEXRUN_E_IO;
    }
    return HEXRUN_OK;
}

int hexrun__shared_budget_open(const char *path, const char *token, const int64_t limits[4],
                               int64_t time_scale, int64_t reserve_percent, int64_t now_ms,
                               hexrun__log *log, hexrun__shared_budget **out, char *err,
                               size_t errlen)
{
    hexrun__shared_budget *sb = calloc(1, sizeof *sb);
    if (!sb || !(sb->path = strdup(path))) {
        free(sb);
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    const int64_t settings[6] = {limits[0], limits[1],  limits[2],
                                 limits[3], time_scale, reserve_percent};
    memcpy(sb->limits, settings, sizeof settings);
    sb->log = log;
    sb->fd = hexrun__file_open_private("budget_path", path, O_RDWR | O_CREAT, err, errlen);
    int rc = sb->fd < 0 ? HEXRUN_E_IO : HEXRUN_OK;
    if (rc == HEXRUN_OK && shared_lock(sb->fd) != 0)
        rc = budget_io_error(err, errlen, "lock", path);
    if (rc == HEXRUN_OK) {
        rc = open_locked(sb, token, now_ms, err, errlen);
        flock(sb->fd, LOCK_UN);
    }
    if (rc != HEXRUN_OK) {
        hexrun__shared_budget_close(sb);
        return rc;
    }
    *out = sb;
    return HEXRUN_OK;
}

void hexrun__shared_budget_close(hexrun__shared_budget *sb)
{
    if (!sb)
        return;
    if (sb->fd >= 0)
        close(sb->fd);
    free(sb->path);
    free(sb);
}

/* Under flock: the slot as the file holds it; a damaged, truncated or foreign slot is
 * rebuilt (its history is lost, its limits hold again from now). Returns 0, or -1 when the
 * file can be neither read nor repaired. */
static int slot_load(hexrun__shared_budget *sb, shared_slot *s, int64_t now_ms)
{
    if (read_at(sb->fd, s, sizeof *s, slot_offset(sb->slot)) == 0 && slot_valid(s, sb->limits))
        return 0;
    sb->repairs++;
    hexrun__log_write(sb->log, HEXRUN_LOG_WARN,
                      "event=budget_file_damaged path=%s the shared budget file was damaged "
                      "(truncated or overwritten); its state for this token starts afresh",
                      sb->path);
    char err[HEXRUN__ERR_MAX];
    shared_header h;
    int slot = sb->slot;
    if (shared_prepare(sb->fd, sb->path, &h, err, sizeof err) != HEXRUN_OK)
        return -1;
    h.token_hash[slot] = sb->hash;
    slot_init(s, sb->limits, now_ms);
    return write_at(sb->fd, &h, sizeof h, 0) == 0 ? 0 : -1;
}

/* One read-modify-write of the token's slot under the file lock. On a file that cannot
 * be read or repaired the request is allowed through (the per-client budget Hex enforces
 * still answers with 429s), with a warning: never a signal, never a stuck engine. */
static int64_t slot_update(hexrun__shared_budget *sb, int group, int64_t now_ms,
                           int64_t (*fn)(hexrun__budget *, int64_t, int64_t), int64_t arg)
{
    shared_slot s;
    int64_t result = 0;
    int ok = shared_lock(sb->fd) == 0 && slot_load(sb, &s, now_ms) == 0;
    if (ok) {
        result = fn(&s.group[group], now_ms, arg);
        ok = write_at(sb->fd, &s, sizeof s, slot_offset(sb->slot)) == 0;
    }
    if (!ok) {
        hexrun__log_write(sb->log, HEXRUN_LOG_WARN,
                          "event=budget_file_error path=%s error=\"%s\" the shared budget is "
                          "not applied to this request",
                          sb->path, strerror(errno));
        result = 0;
    }
    flock(sb->fd, LOCK_UN);
    return result;
}

static int64_t do_take(hexrun__budget *b, int64_t now_ms, int64_t unused)
{
    (void)unused;
    return hexrun__budget_take(b, now_ms);
}

static int64_t do_take_poll(hexrun__budget *b, int64_t now_ms, int64_t unused)
{
    (void)unused;
    return hexrun__budget_take_poll(b, now_ms);
}

static int64_t do_refund(hexrun__budget *b, int64_t now_ms, int64_t unused)
{
    (void)now_ms;
    (void)unused;
    hexrun__budget_refund(b);
    return 0;
}

static int64_t do_pause(hexrun__budget *b, int64_t now_ms, int64_t ms)
{
    hexrun__budget_pause(b, now_ms, ms);
    return 0;
}

int64_t hexrun__shared_budget_take(hexrun__shared_budget *sb, int group, int64_t now_ms)
{
    return slot_update(sb, group, now_ms, do_take, 0);
}

int64_t hexrun__shared_budget_take_poll(hexrun__shared_budget *sb, int64_t now_ms)
{
    return slot_update(sb, HEXRUN__BUDGET_API, now_ms, do_take_poll, 0);
}

void hexrun__shared_budget_refund(hexrun__shared_budget *sb, int group)
{
    slot_update(sb, group, 0, do_refund, 0);
}

static int64_t do_paused_until(hexrun__budget *b, int64_t now_ms, int64_t unused)
{
    (void)now_ms;
    (void)unused;
    return hexrun__budget_paused_until(b);
}

int64_t hexrun__shared_budget_paused_until(hexrun__shared_budget *sb, int group, int64_t now_ms)
{
    return slot_update(sb, group, now_ms, do_paused_until, 0);
}

void hexrun__shared_budget_pause(hexrun__shared_budget *sb, int group, int64_t now_ms, int64_t ms)
{
    slot_update(sb, group, now_ms, do_pause, ms);
}

int64_t hexrun__shared_budget_repairs(const hexrun__shared_budget *sb)
{
    return sb ? sb->repairs : 0;
}
