/*
 * libFuzzer target: the shared budget file (plugin/budget.c) as a crash, another version
 * or an attacker could have left it at budget_path. The target includes budget.c to know
 * the file's layout (its types are private to that file).
 * Input: byte 0 the mode, then bytes.
 *   mode 0: the bytes are the whole file (any size);
 *   mode 1: a valid file (made by a first opener) whose slot table and slots are
 *           overwritten by the bytes, so the slots of other tokens hold anything;
 *   mode 2: as 1, but slot 0 is the fuzzer's own token with its own limits, and the bytes
 *           are its budget state (each window's fields, the pauses, then the minute log of
 *           the run group), which the next opener reads.
 * Whatever the file holds: hexrun__shared_budget_open succeeds or fails with HEXRUN_E_IO
 * and a message; takes, refunds and pauses on both groups over two simulated hours never
 * crash, and a take returns 0 or a wait of at least 1 ms; and what they leave in the file
 * is a valid state: a second opener's takes find nothing to repair.
 */
#include "budget.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "fuzz-token"
/* run per min, run per hour, api per min, api per hour (Hex's: 20, 60, 60, 1000) */
static const int64_t LIMITS[4] = {20, 60, 60, 1000};
/* A monotonic clock 11 days after boot (the file's clock is CLOCK_MONOTONIC). */
#define NOW_MS 1000000000LL
#define END_MS (NOW_MS + 121 * 60000LL) /* after exercise() */

static char dir[64];
static char path[128];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

static void put_bytes(off_t off, const void *bytes, size_t len, int truncate)
{
    int fd = open(path, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0) | O_CLOEXEC, 0600);
    if (fd < 0 || (len && pwrite(fd, bytes, len, off) != (ssize_t)len))
        abort();
    close(fd);
}

static hexrun__shared_budget *open_budget(const char *token)
{
    hexrun__shared_budget *sb = NULL;
    char err[512] = "";
    int rc =
        hexrun__shared_budget_open(path, token, LIMITS, 1, 33, NOW_MS, NULL, &sb, err, sizeof err);
    if (rc == HEXRUN_OK && sb)
        return sb;
    if (rc != HEXRUN_E_IO || !err[0] || sb)
        abort(); /* damage is an error with a message, nothing else */
    return NULL;
}

/* Copy as much of *bytes as fits into dst (the rest of dst keeps its zeros). */
static void take_bytes(void *dst, size_t len, const uint8_t **bytes, size_t *left)
{
    size_t n = len < *left ? len : *left;
    memcpy(dst, *bytes, n);
    *bytes += n;
    *left -= n;
}

/* Slot 0's state as the bytes give it, with TOKEN's limits. */
static void own_slot(shared_slot *s, const uint8_t *bytes, size_t left)
{
    memset(s, 0, sizeof *s);
    memcpy(s->limits, LIMITS, sizeof LIMITS);
    s->limits[4] = 1;  /* budget_time_scale */
    s->limits[5] = 33; /* api_reserve_percent */
    for (int g = 0; g < 2; g++) {
        take_bytes(&s->group[g].minute, offsetof(hexrun__window, log), &bytes, &left);
        take_bytes(&s->group[g].hour, offsetof(hexrun__window, log), &bytes, &left);
    }
    for (int g = 0; g < 2; g++)
        take_bytes(&s->group[g].paused_until_ms, sizeof(int64_t), &bytes, &left);
    take_bytes(s->group[0].minute.log, sizeof s->group[0].minute.log, &bytes, &left);
}

static void prepare(int mode, const uint8_t *bytes, size_t len)
{
    if (mode == 0) {
        put_bytes(0, bytes, len, 1);
        return;
    }
    put_bytes(0, NULL, 0, 1);
    hexrun__shared_budget_close(open_budget("first opener")); /* a valid file */
    if (mode == 1) {
        off_t at = (off_t)offsetof(shared_header, token_hash);
        size_t room = (size_t)(SHARED_FILE_SIZE - at);
        put_bytes(at, bytes, len < room ? len : room, 0);
        return;
    }
    uint64_t hash = token_hash(TOKEN);
    put_bytes((off_t)offsetof(shared_header, token_hash), &hash, sizeof hash, 0);
    shared_slot *slot = malloc(sizeof *slot);
    if (!slot)
        abort();
    own_slot(slot, bytes, len);
    put_bytes(slot_offset(0), slot, sizeof *slot, 0);
    free(slot);
}

static void check_wait(int64_t wait)
{
    if (wait < 0)
        abort();
}

/* Demand over two simulated hours: a burst, refunds, a pause, then a take every five
 * minutes and two polls (both windows fill, slide and empty). */
static void exercise(hexrun__shared_budget *sb)
{
    int64_t t = NOW_MS;
    for (int g = 0; g < 2; g++) {
        for (int i = 0; i < 25; i++)
            check_wait(hexrun__shared_budget_take(sb, g, t));
        hexrun__shared_budget_refund(sb, g);
        hexrun__shared_budget_pause(sb, g, t, 30000);
        check_wait(hexrun__shared_budget_take(sb, g, t + 1));
    }
    for (int step = 1; step <= 24; step++) {
        t += 5 * 60000;
        for (int g = 0; g < 2; g++)
            check_wait(hexrun__shared_budget_take(sb, g, t));
        check_wait(hexrun__shared_budget_take_poll(sb, t));
        check_wait(hexrun__shared_budget_take_poll(sb, t + 1));
    }
}

/* What hexrun wrote is a state it accepts again without repair. */
static void check_left_valid(const char *token)
{
    hexrun__shared_budget *again = open_budget(token);
    if (!again)
        abort();
    for (int g = 0; g < 2; g++)
        check_wait(hexrun__shared_budget_take(again, g, END_MS));
    if (hexrun__shared_budget_repairs(again) != 0)
        abort();
    hexrun__shared_budget_close(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!dir[0]) {
        /* tmpfs when there is one: fsync is free there, so runs are many times faster */
        snprintf(dir, sizeof dir, "%s/fuzz_budget_file.XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/budget", dir);
        atexit(remove_dir);
    }
    prepare(data[0] % 3, data + 1, size - 1);
    hexrun__shared_budget *sb = open_budget(TOKEN);
    if (sb) {
        exercise(sb);
        hexrun__shared_budget_close(sb);
        check_left_valid(TOKEN);
        /* A second process with another token shares the file. */
        hexrun__shared_budget *other = open_budget("another token");
        if (other) {
            exercise(other);
            hexrun__shared_budget_close(other);
        }
    }
    unlink(path);
    return 0;
}
