/* journal.c - the submit journal: an append-only, checksummed, flock'ed file; see journal.h.
 *
 * One record per line, fields separated by one space:
 *   <crc32 of the rest, 8 hex digits> <type> <unix ms> <pid> <pid start> <project> <run> <key>
 * type: I (intent: RunProject about to be sent), R (its run), F (no run was made: the
 * key is free again), U (outcome unknown). run is "-" when there is none. The key is
 * percent-encoded (bytes <= 0x20, >= 0x7f and '%'). A line with a bad checksum is skipped;
 * a last line without its newline is what a crash mid-write leaves, and is cut off before
 * the next append. The newest record of a key wins.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "job.h"

/* Compaction drops runs recorded longer ago than this. */
#define RETENTION_MS (30LL * 24 * 3600 * 1000)
/* A file with fewer lines than this is never compacted on its own. */
#define COMPACT_MIN_LINES 1024

typedef struct entry {
    char type; /* 'I', 'R', 'F' or 'U' */
    int64_t t_ms;
    long pid;
    unsigned long long pstart;
    char project[HEXRUN__HEX_ID_MAX];
    char run_id[HEXRUN__HEX_ID_MAX]; /* "" when none */
    char *key;
} entry;

struct hexrun__journal {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t off; /* bytes of the file already read into the table */
    entry *items;
    size_t n, cap;
    size_t n_free; /* entries whose newest record is F (key free again) */
    size_t *slots; /* open addressing: index + 1 into items, 0 = empty */
    size_t n_slots;
    long pid;
    unsigned long long pstart; /* this process's start time: pid reuse cannot fool us */
    hexrun__journal_stats stats;
};

/* ---- small pieces: checksum, key encoding, hashing, process identity ---- */

static uint32_t crc32_of(const char *s, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static int key_byte_plain(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '%';
}

static void key_encode(hexrun__buf *b, const char *key)
{
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (key_byte_plain(*p))
            hexrun__buf_append(b, (const char *)p, 1);
        else
            hexrun__buf_appendf(b, "%%%02X", *p);
    }
}

static int hex_val(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode in place; returns 0, or -1 for a malformed or empty key. */
static int key_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = hex_val(r[1]), lo = hi < 0 ? -1 : hex_val(r[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *w++ = (char)(hi * 16 + lo);
        r += 2;
    }
    *w = '\0';
    return w == s ? -1 : 0;
}

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* A process's start time in clock ticks since boot (/proc/PID/stat field 22), 0 if
 * unknown. */
static unsigned long long proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long start = 0;
    if (p && sscanf(p + 2,
                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                    "%*d %*d %*d %llu",
                    &start) != 1)
        start = 0;
    return start;
}

static int owner_alive(long pid, unsigned long long pstart)
{
    if (pid <= 0)
        return 0;
    unsigned long long now = proc_start(pid);
    return now != 0 && (pstart == 0 || now == pstart);
}

/* ---- the table of keys ---- */

static entry *find(const hexrun__journal *j, const char *key)
{
    if (!j->n_slots)
        return NULL;
    for (size_t s = hash_key(key) & (j->n_slots - 1);; s = (s + 1) & (j->n_slots - 1)) {
        if (!j->slots[s])
            return NULL;
        entry *e = &j->items[j->slots[s] - 1];
        if (strcmp(e->key, key) == 0)
            return e;
    }
}

static void slot_insert(hexrun__journal *j, size_t index)
{
    size_t s = hash_key(j->items[index].key) & (j->n_slots - 1);
    while (j->slots[s])
        s = (s + 1) & (j->n_slots - 1);
    j->slots[s] = index + 1;
}

/* Keep the slots at most half full. */
static int grow(hexrun__journal *j)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        entry *items = realloc(j->items, cap * sizeof *items);
        if (!items)
            return HEXRUN_E_NOMEM;
        j->items = items;
        j->cap = cap;
    }
    if (2 * (j->n + 1) > j->n_slots) {
        size_t n_slots = j->n_slots ? j->n_slots * 2 : 128;
        size_t *slots = calloc(n_slots, sizeof *slots);
        if (!slots)
            return HEXRUN_E_NOMEM;
        free(j->slots);
        j->slots = slots;
        j->n_slots = n_slots;
        for (size_t i = 0; i < j->n; i++)
            slot_insert(j, i);
    }
    return HEXRUN_OK;
}

/* Apply one record: the newest record of a key replaces what was known. */
static int apply(hexrun__journal *j, const entry *rec)
{
    entry *e = find(j, rec->key);
    if (!e) {
        if (grow(j) != HEXRUN_OK)
            return HEXRUN_E_NOMEM;
        char *key = strdup(rec->key);
        if (!key)
            return HEXRUN_E_NOMEM;
        e = &j->items[j->n];
        *e = *rec;
        e->key = key;
        slot_insert(j, j->n++);
        j->n_free += rec->type == 'F';
        return HEXRUN_OK;
    }
    j->n_free += (rec->type == 'F') - (e->type == 'F');
    char *key = e->key;
    *e = *rec;
    e->key = key;
    return HEXRUN_OK;
}

static void clear_table(hexrun__journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->items[i].key);
    j->n = 0;
    j->n_free = 0;
    if (j->slots)
        memset(j->slots, 0, j->n_slots * sizeof *j->slots);
}

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", strcmp(src, "-") == 0 ? "" : src);
}

/* Parse one line (without its newline, NUL-terminated, modified). Returns 0 and fills
 * rec (rec->key points into line) or -1 when the line is not a valid record. */
static int parse_line(char *line, size_t len, entry *rec)
{
    unsigned crc = 0;
    int used = 0;
    if (len < 10 || sscanf(line, "%8x%n", &crc, &used) != 1 || used != 8 || line[8] != ' ' ||
        crc32_of(line + 9, len - 9) != crc)
        return -1;
    char type[2], project[HEXRUN__HEX_ID_MAX], run[HEXRUN__HEX_ID_MAX];
    long long t = 0;
    int key_at = 0;
    memset(rec, 0, sizeof *rec);
    if (sscanf(line + 9, "%1s %lld %ld %llu %63s %63s %n", type, &t, &rec->pid, &rec->pstart,
               project, run, &key_at) != 6 ||
        !key_at || !strchr("IRFU", type[0]) || t < 0)
        return -1; /* a time before 1970 is damage (and INT64_MIN would overflow ages) */
    rec->type = type[0];
    rec->t_ms = t;
    copy_field(rec->project, sizeof rec->project, project);
    copy_field(rec->run_id, sizeof rec->run_id, run);
    /* The ids go into request paths: a record whose ids are not UUIDs (a run id "..",
     * whoever wrote it) is not a valid record. */
    if ((rec->run_id[0] || rec->type == 'R') && !hexrun__hex_is_uuid(rec->run_id))
        return -1;
    if (rec->project[0] && !hexrun__hex_is_uuid(rec->project))
        return -1;
    rec->key = line + 9 + key_at;
    return strchr(rec->key, ' ') || key_decode(rec->key) != 0 ? -1 : 0;
}

/* Render one record as a line (with its newline) into b. */
static void render(hexrun__buf *b, const entry *rec)
{
    hexrun__buf body = HEXRUN__BUF_INIT;
    hexrun__buf_appendf(&body, "%c %lld %ld %llu %s %s ", rec->type, (long long)rec->t_ms, rec->pid,
                        rec->pstart, rec->project[0] ? rec->project : "-",
                        rec->run_id[0] ? rec->run_id : "-");
    key_encode(&body, rec->key);
    if (!body.failed && body.data)
        hexrun__buf_appendf(b, "%08x %s\n", (unsigned)crc32_of(body.data, body.len), body.data);
    else
        b->failed = 1;
    hexrun__buf_free(&body);
}

/* ---- the file ---- */

static int io_error(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "journal_path: cannot %s '%s': %s", what, path, strerror(errno));
    return HEXRUN_E_IO;
}

static int open_file(hexrun__journal *j, char *err, size_t errlen)
{
    int fd = hexrun__file_open_private("journal_path", j->path, O_RDWR | O_CREAT | O_APPEND, err,
                                       errlen);
    if (fd < 0)
        return HEXRUN_E_IO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return io_error(err, errlen, "stat", j->path);
    }
    j->fd = fd;
    j->dev = st.st_dev;
    j->ino = st.st_ino;
    j->off = 0;
    j->stats.lines = 0;
    clear_table(j);
    return HEXRUN_OK;
}

/* Read the records appended since the last read. A torn last line stays unread. */
static int read_new(hexrun__journal *j, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return io_error(err, errlen, "stat", j->path);
    if (st.st_size <= j->off)
        return HEXRUN_OK;
    size_t len = (size_t)(st.st_size - j->off);
    char *data = malloc(len + 1);
    if (!data)
        return HEXRUN_E_NOMEM;
    ssize_t got = pread(j->fd, data, len, j->off);
    if (got < 0) {
        free(data);
        return io_error(err, errlen, "read", j->path);
    }
    data[got] = '\0';
    int rc = HEXRUN_OK;
    char *line = data, *nl;
    while (rc == HEXRUN_OK && (nl = memchr(line, '\n', (size_t)(data + got - line)))) {
        *nl = '\0';
        entry rec;
        if (memchr(line, '\0', (size_t)(nl - line)) || parse_line(line, (size_t)(nl - line), &rec))
            j->stats.corrupt++;
        else
            rc = apply(j, &rec);
        j->stats.lines++;
        line = nl + 1;
    }
    j->off += line - data;
    free(data);
    return rc;
}

/* Take the lock on the file the path names now (a compaction elsewhere may have replaced
 * it), and bring the table up to date. */
static int lock_fresh(hexrun__journal *j, char *err, size_t errlen)
{
    for (;;) {
        if (flock(j->fd, LOCK_EX) != 0)
            return io_error(err, errlen, "lock", j->path);
        struct stat st; /* lstat: a symlink put in its place is a replacement too */
        if (lstat(j->path, &st) == 0 && st.st_dev == j->dev && st.st_ino == j->ino)
            break;
        close(j->fd); /* drops the lock on the replaced file */
        j->fd = -1;
        int rc = open_file(j, err, errlen);
        if (rc != HEXRUN_OK)
            return rc;
    }
    int rc = read_new(j, err, errlen);
    if (rc != HEXRUN_OK)
        flock(j->fd, LOCK_UN);
    return rc;
}

static void unlock(hexrun__journal *j)
{
    flock(j->fd, LOCK_UN);
}

/* Append one record durably (lock held). Cuts off a torn tail first. */
static int append(hexrun__journal *j, const entry *rec, char *err, size_t errlen)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    render(&b, rec);
    if (b.failed || !b.data) {
        hexrun__buf_free(&b);
        return HEXRUN_E_NOMEM;
    }
    int rc = HEXRUN_OK;
    struct stat st;
    if (fstat(j->fd, &st) != 0 || (st.st_size > j->off && ftruncate(j->fd, j->off) != 0))
        rc = io_error(err, errlen, "repair", j->path);
    else if (write(j->fd, b.data, b.len) != (ssize_t)b.len)
        rc = io_error(err, errlen, "append to", j->path);
    else if (fdatasync(j->fd) != 0)
        rc = io_error(err, errlen, "sync", j->path);
    if (rc == HEXRUN_OK) {
        j->off += (off_t)b.len;
        j->stats.lines++;
        rc = apply(j, rec);
    }
    hexrun__buf_free(&b);
    return rc;
}

static entry record(const hexrun__journal *j, char type, const char *key, const char *project,
                    const char *run_id, int64_t t_ms)
{
    entry rec;
    memset(&rec, 0, sizeof rec);
    rec.type = type;
    rec.t_ms = t_ms;
    rec.pid = j->pid;
    rec.pstart = j->pstart;
    snprintf(rec.project, sizeof rec.project, "%s", project ? project : "");
    snprintf(rec.run_id, sizeof rec.run_id, "%s", run_id ? run_id : "");
    rec.key = (char *)key;
    return rec;
}

/* ---- compaction ---- */

/* The compaction's new file: a fresh name (pid and a random part), created exclusively
 * and never through a symlink, so nothing planted beside the journal is written or moved
 * into its place. Returns the fd (tmp holds the name) or -1. */
static int create_temp(const hexrun__journal *j, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec;
    for (int tries = 0; tries < 8; tries++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(tmp, tmplen, "%s.compact.%ld.%08x", j->path, j->pid, (unsigned)(r >> 32));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            break;
    }
    io_error(err, errlen, "create", tmp);
    return -1;
}

/* Write b to the new file and put it in place of the journal, if the name still leads to
 * the file written (nobody swapped it in between). */
static int replace_with(hexrun__journal *j, const hexrun__buf *b, char *err, size_t errlen)
{
    char tmp[4200];
    int fd = create_temp(j, tmp, sizeof tmp, err, errlen);
    if (fd < 0)
        return HEXRUN_E_IO;
    int rc = HEXRUN_OK;
    struct stat mine, named;
    if ((b->len && write(fd, b->data, b->len) != (ssize_t)b->len) || fsync(fd) != 0)
        rc = io_error(err, errlen, "write", tmp);
    else if (fstat(fd, &mine) != 0 || lstat(tmp, &named) != 0 || mine.st_ino != named.st_ino ||
             mine.st_dev != named.st_dev) {
        snprintf(err, errlen, "journal_path: '%s' was replaced while it was written", tmp);
        rc = HEXRUN_E_IO;
    } else if (rename(tmp, j->path) != 0) {
        rc = io_error(err, errlen, "replace", j->path);
    }
    close(fd);
    if (rc != HEXRUN_OK)
        unlink(tmp);
    return rc;
}

/* fsync the directory holding path, so the rename survives a crash. */
static void sync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Lock held. Replace the file by one record per live key. */
static int rewrite(hexrun__journal *j, int64_t now_ms, char *err, size_t errlen)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    for (size_t i = 0; i < j->n; i++) {
        const entry *e = &j->items[i];
        if (e->type == 'F' || (e->type == 'R' && now_ms - e->t_ms > RETENTION_MS))
            continue;
        render(&b, e);
    }
    if (b.failed) {
        hexrun__buf_free(&b);
        return HEXRUN_E_NOMEM;
    }
    int rc = replace_with(j, &b, err, errlen);
    hexrun__buf_free(&b);
    if (rc != HEXRUN_OK)
        return rc;
    sync_dir(j->path);
    /* Others blocked on the old file's lock see it replaced and reopen (lock_fresh). */
    close(j->fd);
    j->fd = -1;
    j->stats.compactions++;
    if ((rc = open_file(j, err, errlen)) == HEXRUN_OK &&
        (rc = lock_fresh(j, err, errlen)) == HEXRUN_OK)
        unlock(j);
    return rc;
}

static int worth_compacting(const hexrun__journal *j)
{
    return j->stats.lines >= COMPACT_MIN_LINES && j->stats.lines > 2 * (j->n - j->n_free);
}

int hexrun__journal_compact(hexrun__journal *j, int force, char *err, size_t errlen)
{
    int rc = lock_fresh(j, err, errlen);
    if (rc != HEXRUN_OK)
        return rc;
    if (!force && !worth_compacting(j)) {
        unlock(j);
        return HEXRUN_OK;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = rewrite(j, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, err, errlen);
    if (j->fd >= 0 && rc != HEXRUN_OK)
        unlock(j);
    return rc;
}

/* ---- the public calls ---- */

int hexrun__journal_open(const char *path, hexrun__journal **out, char *err, size_t errlen)
{
    hexrun__journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        snprintf(err, errlen, "out of memory");
        return HEXRUN_E_NOMEM;
    }
    j->fd = -1;
    j->pid = (long)getpid();
    j->pstart = proc_start(j->pid);
    int rc = open_file(j, err, errlen);
    if (rc == HEXRUN_OK && (rc = lock_fresh(j, err, errlen)) == HEXRUN_OK)
        unlock(j);
    if (rc == HEXRUN_OK)
        rc = hexrun__journal_compact(j, 0, err, errlen);
    if (rc != HEXRUN_OK) {
        if (rc == HEXRUN_E_NOMEM)
            snprintf(err, errlen, "out of memory reading journal_path '%s'", path);
        hexrun__journal_close(j);
        return rc;
    }
    *out = j;
    return HEXRUN_OK;
}

void hexrun__journal_close(hexrun__journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    clear_table(j);
    free(j->items);
    free(j->slots);
    free(j->path);
    free(j);
}

static hexrun__journal_verdict decide(const hexrun__journal *j, const entry *e, const char *project,
                                      int64_t now_ms, int64_t stale_ms,
                                      hexrun__journal_claim *claim)
{
    if (!e || e->type == 'F')
        return HEXRUN__JOURNAL_GO;
    if (strcmp(e->project, project) != 0) {
        snprintf(claim->run_id, sizeof claim->run_id, "%s", e->project);
        return HEXRUN__JOURNAL_CONFLICT;
    }
    if (e->type == 'R') {
        snprintf(claim->run_id, sizeof claim->run_id, "%s", e->run_id);
        return HEXRUN__JOURNAL_ATTACH;
    }
    int mine = e->pid == j->pid && e->pstart == j->pstart;
    /* A record dated after now cannot be trusted to be fresh (a clock stepped back, or a
     * damaged or forged line): it counts as stale, so the key is looked up (adopted, never
     * re-sent) instead of blocking for ever. Times are >= 0 (parse_line): no overflow. */
    int fresh = e->t_ms <= now_ms && now_ms - e->t_ms < stale_ms;
    if (e->type == 'I' && fresh && (mine || owner_alive(e->pid, e->pstart)))
        return HEXRUN__JOURNAL_WAIT;
    claim->since_ms = e->t_ms < now_ms ? e->t_ms : now_ms;
    return HEXRUN__JOURNAL_ADOPT;
}

/* 1 when another key's RunProject of the project is in flight: its intent is open (no
 * answer recorded), fresh, and its owner alive. Every process that shares the journal
 * then sends one RunProject of a project at a time, so a lost answer has one candidate
 * run (the runs recorded before are known to all of them). */
static int project_in_flight(const hexrun__journal *j, const char *key, const char *project,
                             int64_t now_ms, int64_t stale_ms)
{
    for (size_t i = 0; i < j->n; i++) {
        const entry *e = &j->items[i];
        if (e->type != 'I' || strcmp(e->project, project) != 0 || strcmp(e->key, key) == 0)
            continue;
        int mine = e->pid == j->pid && e->pstart == j->pstart;
        int fresh = e->t_ms <= now_ms && now_ms - e->t_ms < stale_ms;
        if (fresh && (mine || owner_alive(e->pid, e->pstart)))
            return 1;
    }
    return 0;
}

int hexrun__journal_begin(hexrun__journal *j, const char *key, const char *project, int64_t now_ms,
                          int64_t stale_ms, hexrun__journal_claim *claim, char *err, size_t errlen)
{
    memset(claim, 0, sizeof *claim);
    int rc = lock_fresh(j, err, errlen);
    if (rc != HEXRUN_OK)
        return rc;
    claim->verdict = decide(j, find(j, key), project, now_ms, stale_ms, claim);
    if (claim->verdict == HEXRUN__JOURNAL_GO &&
        project_in_flight(j, key, project, now_ms, stale_ms))
        claim->verdict = HEXRUN__JOURNAL_WAIT;
    if (claim->verdict == HEXRUN__JOURNAL_GO) {
        entry rec = record(j, 'I', key, project, NULL, now_ms);
        rc = append(j, &rec, err, errlen);
    }
    unlock(j);
    if (rc == HEXRUN_OK && worth_compacting(j))
        rc = hexrun__journal_compact(j, 0, err, errlen);
    return rc;
}

static int note(hexrun__journal *j, char type, const char *key, const char *project,
                const char *run_id, int64_t t_ms, char *err, size_t errlen)
{
    int rc = lock_fresh(j, err, errlen);
    if (rc != HEXRUN_OK)
        return rc;
    entry rec = record(j, type, key, project, run_id, t_ms);
    rc = append(j, &rec, err, errlen);
    unlock(j);
    return rc;
}

int hexrun__journal_run(hexrun__journal *j, const char *key, const char *project,
                        const char *run_id, int64_t now_ms, char *err, size_t errlen)
{
    return note(j, 'R', key, project, run_id, now_ms, err, errlen);
}

int hexrun__journal_failed(hexrun__journal *j, const char *key, const char *project, int64_t now_ms,
                           char *err, size_t errlen)
{
    return note(j, 'F', key, project, NULL, now_ms, err, errlen);
}

int hexrun__journal_unknown(hexrun__journal *j, const char *key, const char *project,
                            int64_t since_ms, char *err, size_t errlen)
{
    return note(j, 'U', key, project, NULL, since_ms, err, errlen);
}

int hexrun__journal_knows_run(const hexrun__journal *j, const char *run_id)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->items[i].type == 'R' && strcmp(j->items[i].run_id, run_id) == 0)
            return 1;
    return 0;
}

void hexrun__journal_get_stats(const hexrun__journal *j, hexrun__journal_stats *out)
{
    *out = j->stats;
    out->keys = j->n - j->n_free;
}
