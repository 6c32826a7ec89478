/* budget.c - sliding-window budgets per limit group, and their shared file; see budget.h. */
#include "budget.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hexrun.h"

/* The window's length with the jitter margin: 1/20 more absorbs clock and network
 * jitter between our send times and Hex's arrival times. */
static int64_t span_ms(const hexrun__window *w)
{
    return w->len_ms + w->len_ms / 20;
}

static int uses_log(const hexrun__window *w)
{
    return w->limit <= HEXRUN__BUDGET_LOG_MAX;
}

/* The pacing bucket: a tenth of the limit as burst, refilled at the limit's rate over the
 * span; without a log, half the limit refilled at half the rate, so that the bucket alone
 * keeps to the limit. */
static double bucket_cap(const hexrun__window *w)
{
    double cap = (double)w->limit / (uses_log(w) ? 10.0 : 2.0);
    return cap < 1.0 ? 1.0 : cap;
}

static double bucket_rate(const hexrun__window *w)
{
    return (uses_log(w) ? (double)w->limit : (double)w->limit / 2.0) / (double)span_ms(w);
}

static void window_init(hexrun__window *w, int64_t limit, int64_t len_ms, int paced,
                        int64_t now_ms)
{
    memset(w, 0, offsetof(hexrun__window, log));
    w->limit = limit;
    w->len_ms = len_ms > 0 ? len_ms : 1;
    w->paced = paced || !uses_log(w);
    w->tokens = bucket_cap(w);
    w->last_ms = now_ms;
}

void hexrun__budget_init(hexrun__budget *b, int64_t per_min, int64_t per_hour,
                         int64_t time_scale, int paced, int64_t now_ms)
{
    int64_t scale = time_scale > 0 ? time_scale : 1;
    window_init(&b->minute, per_min, 60000 / scale, paced, now_ms);
    window_init(&b->hour, per_hour, 3600000 / scale, paced, now_ms);
    b->paused_until_ms = 0;
}

static void bucket_refill(hexrun__window *w, int64_t now_ms)
{
    if (now_ms > w->last_ms) {
        w->tokens = fmin(bucket_cap(w),
                         w->tokens + (double)(now_ms - w->last_ms) * bucket_rate(w));
        w->last_ms = now_ms;
    }
}

/* ms until the window allows one more request (0 when it does, or when it is off). */
static int64_t window_wait(hexrun__window *w, int64_t now_ms)
{
    if (w->limit <= 0)
        return 0;
    int64_t wait = 0;
    if (uses_log(w) && w->count >= (uint32_t)w->limit) {
        int64_t free_at = w->log[w->head] + span_ms(w);
        wait = free_at > now_ms ? free_at - now_ms : 0;
    }
    if (!w->paced)
        return wait;
    bucket_refill(w, now_ms);
    if (w->tokens < 1.0) {
        int64_t refill = (int64_t)ceil((1.0 - w->tokens) / bucket_rate(w));
        wait = refill > wait ? refill : wait;
    }
    return wait;
}

static void window_record(hexrun__window *w, int64_t now_ms)
{
    if (w->limit <= 0)
        return;
    w->tokens -= 1.0;
    if (!uses_log(w))
        return;
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
    w->tokens = fmin(bucket_cap(w), w->tokens + 1.0);
    if (uses_log(w) && w->count > 0)
        w->count--;
}

int64_t hexrun__budget_take(hexrun__budget *b, int64_t now_ms)
{
    if (now_ms < b->paused_until_ms)
        return b->paused_until_ms - now_ms;
    int64_t wm = window_wait(&b->minute, now_ms);
    int64_t wh = window_wait(&b->hour, now_ms);
    int64_t wait = wm > wh ? wm : wh;
    if (wait > 0)
        return wait;
    window_record(&b->minute, now_ms);
    window_record(&b->hour, now_ms);
    return 0;
}

void hexrun__budget_refund(hexrun__budget *b)
{
    window_unrecord(&b->minute);
    window_unrecord(&b->hour);
}

void hexrun__budget_pause(hexrun__budget *b, int64_t now_ms, int64_t ms)
{
    if (now_ms + ms > b->paused_until_ms)
        b->paused_until_ms = now_ms + ms;
}

/* ---- the shared budget file ---- */

#define SHARED_MAGIC 0x55425848u /* "HXBU" */
#define SHARED_VERSION 1u
#define SHARED_SLOTS 32

typedef struct shared_slot {
    uint64_t token_hash;          /* 0 = free */
    int64_t limits[5];            /* the four budget keys, then budget_time_scale */
    hexrun__budget group[2];      /* HEXRUN__BUDGET_RUN, HEXRUN__BUDGET_API */
} shared_slot;

typedef struct shared_file {
    uint32_t magic, version;
    char boot_id[40];             /* the boot whose monotonic clock the buckets use */
    pthread_mutex_t mu;           /* process-shared, robust */
    shared_slot slots[SHARED_SLOTS];
} shared_file;

struct hexrun__shared_budget {
    shared_file *f;
    shared_slot *slot;
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

/* Under flock: make the file a fresh, empty budget file if it is not a valid one of this
 * boot. */
static int shared_prepare(int fd, const char *path, shared_file **out, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return budget_io_error(err, errlen, "stat", path);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "budget_path: '%s' is not a regular file", path);
        return HEXRUN_E_IO;
    }
    if (st.st_size != (off_t)sizeof(shared_file) && ftruncate(fd, sizeof(shared_file)) != 0)
        return budget_io_error(err, errlen, "size", path);
    shared_file *f = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (f == MAP_FAILED)
        return budget_io_error(err, errlen, "map", path);
    char boot[40];
    read_boot_id(boot);
    if (f->magic != SHARED_MAGIC || f->version != SHARED_VERSION ||
        strncmp(f->boot_id, boot, sizeof boot) != 0) {
        memset(f, 0, sizeof *f);
        memcpy(f->boot_id, boot, sizeof boot);
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&f->mu, &a);
        pthread_mutexattr_destroy(&a);
        f->version = SHARED_VERSION;
        f->magic = SHARED_MAGIC;
    }
    *out = f;
    return HEXRUN_OK;
}

static void shared_lock(shared_file *f)
{
    /* The holder died: its update was a few assignments; take the state as it is. */
    if (pthread_mutex_lock(&f->mu) == EOWNERDEAD)
        pthread_mutex_consistent(&f->mu);
}

/* The token's slot, claimed (and its buckets set up) if new (mutex held). */
static shared_slot *slot_for(shared_file *f, uint64_t hash, const int64_t limits[5],
                             int64_t now_ms)
{
    shared_slot *free_slot = NULL;
    for (int i = 0; i < SHARED_SLOTS; i++) {
        shared_slot *s = &f->slots[i];
        if (s->token_hash == hash) {
            free_slot = s;
            break;
        }
        if (!s->token_hash && !free_slot)
            free_slot = s;
    }
    if (!free_slot)
        return NULL;
    if (free_slot->token_hash != hash ||
        memcmp(free_slot->limits, limits, sizeof free_slot->limits) != 0) {
        free_slot->token_hash = hash;
        memcpy(free_slot->limits, limits, sizeof free_slot->limits);
        hexrun__budget_init(&free_slot->group[0], limits[0], limits[1], limits[4], 0, now_ms);
        hexrun__budget_init(&free_slot->group[1], limits[2], limits[3], limits[4], 1, now_ms);
    }
    return free_slot;
}

int hexrun__shared_budget_open(const char *path, const char *token, const int64_t limits[4],
                               int64_t time_scale, int64_t now_ms, hexrun__shared_budget **out,
                               char *err, size_t errlen)
{
    const int64_t settings[5] = {limits[0], limits[1], limits[2], limits[3], time_scale};
    hexrun__shared_budget *sb = calloc(1, sizeof *sb);
    if (!sb) {
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = fd < 0 ? budget_io_error(err, errlen, "open", path) : HEXRUN_OK;
    if (rc == HEXRUN_OK && flock(fd, LOCK_EX) != 0)
        rc = budget_io_error(err, errlen, "lock", path);
    if (rc == HEXRUN_OK)
        rc = shared_prepare(fd, path, &sb->f, err, errlen);
    if (fd >= 0) {
        /* The mapping keeps the open file (and so a flock) alive: unlock explicitly. */
        flock(fd, LOCK_UN);
        close(fd);
    }
    if (rc == HEXRUN_OK) {
        shared_lock(sb->f);
        sb->slot = slot_for(sb->f, token_hash(token), settings, now_ms);
        pthread_mutex_unlock(&sb->f->mu);
        if (!sb->slot) {
            snprintf(err, errlen, "budget_path: '%s' already holds the budgets of %d tokens",
                     path, SHARED_SLOTS);
            rc = HEXRUN_E_IO;
        }
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
    if (sb->f)
        munmap(sb->f, sizeof *sb->f);
    free(sb);
}

int64_t hexrun__shared_budget_take(hexrun__shared_budget *sb, int group, int64_t now_ms)
{
    shared_lock(sb->f);
    int64_t wait = hexrun__budget_take(&sb->slot->group[group], now_ms);
    pthread_mutex_unlock(&sb->f->mu);
    return wait;
}

void hexrun__shared_budget_refund(hexrun__shared_budget *sb, int group)
{
    shared_lock(sb->f);
    hexrun__budget_refund(&sb->slot->group[group]);
    pthread_mutex_unlock(&sb->f->mu);
}

void hexrun__shared_budget_pause(hexrun__shared_budget *sb, int group, int64_t now_ms,
                                 int64_t ms)
{
    shared_lock(sb->f);
    hexrun__budget_pause(&sb->slot->group[group], now_ms, ms);
    pthread_mutex_unlock(&sb->f->mu);
}
