/*
 * libFuzzer target: the submit journal's file format (plugin/journal.c), read from a file
 * that a crash, another version or an attacker could have left at journal_path.
 * Input: byte 0 flags (bit 0: give every line a correct CRC-32, so that inputs reach the
 * field parser without having to find checksums), then the bytes of the file.
 * Whatever the file holds:
 *  - hexrun__journal_open reads it (a bad line is skipped and counted, never fatal);
 *  - a submit of a key the file does not hold records its intent and run after the damage,
 *    and a second handle attaches to that run;
 *  - a forced compaction writes a file that a fresh handle reads with no corrupt line, one
 *    line per key, no more keys than before, and the run recorded above still known.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hexrun.h"
#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "fuzz key %" /* a space and a '%': both are written percent-encoded */
#define PROJECT "11111111-1111-4111-8111-111111111111" /* ids are UUIDs (journal.c) */
#define RUN "22222222-2222-4222-8222-222222222222"

static char dir[64];
static char path[128];

/* CRC-32 (IEEE), written from the format's description, not shared with journal.c. */
static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1u ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

/* Overwrite the first 8 bytes of each line of 9 bytes or more with the CRC of the
 * bytes after its 9th. */
static void fix_checksums(uint8_t *text, size_t len)
{
    size_t start = 0;
    while (start < len) {
        uint8_t *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (end - start >= 9) {
            char hex[9];
            snprintf(hex, sizeof hex, "%08x", crc32_ieee(text + start + 9, end - start - 9));
            memcpy(text + start, hex, 8);
        }
        start = end + 1;
    }
}

static void write_file(const uint8_t *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && write(fd, bytes, len) != (ssize_t)len))
        abort();
    close(fd);
}

static hexrun__journal *open_or_die(void)
{
    hexrun__journal *j = NULL;
    char err[512] = "";
    if (hexrun__journal_open(path, &j, err, sizeof err) != HEXRUN_OK || !j)
        abort(); /* a damaged file is read past, never refused */
    return j;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Submit KEY through j; returns 1 when the file did not hold it and its run was recorded. */
static int submit(hexrun__journal *j)
{
    hexrun__journal_claim claim;
    char err[512] = "";
    if (hexrun__journal_begin(j, KEY, PROJECT, now_ms(), 60000, &claim, err, sizeof err) !=
        HEXRUN_OK)
        abort();
    if (memchr(claim.run_id, '\0', sizeof claim.run_id) == NULL)
        abort();
    if (claim.verdict != HEXRUN__JOURNAL_GO)
        return 0;
    if (hexrun__journal_run(j, KEY, PROJECT, RUN, now_ms(), err, sizeof err) != HEXRUN_OK)
        abort();
    return 1;
}

/* A second handle (another process, a retry) attaches to the run just recorded. */
static void expect_attach(void)
{
    hexrun__journal *j = open_or_die();
    hexrun__journal_claim claim;
    char err[512] = "";
    if (hexrun__journal_begin(j, KEY, PROJECT, now_ms(), 60000, &claim, err, sizeof err) !=
            HEXRUN_OK ||
        claim.verdict != HEXRUN__JOURNAL_ATTACH || strcmp(claim.run_id, RUN) != 0)
        abort();
    hexrun__journal_close(j);
}

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!dir[0]) {
        /* tmpfs when there is one: fsync is free there, so runs are many times faster */
        snprintf(dir, sizeof dir, "%s/fuzz_journal.XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/journal", dir);
        atexit(remove_dir);
    }
    uint8_t *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    if (data[0] & 1)
        fix_checksums(text, size - 1);
    write_file(text, size - 1);
    free(text);

    hexrun__journal *j = open_or_die();
    hexrun__journal_stats before;
    hexrun__journal_get_stats(j, &before);
    if (before.corrupt > before.lines || before.keys > before.lines)
        abort();
    int recorded = submit(j);
    if (recorded)
        expect_attach();
    char err[512] = "";
    if (hexrun__journal_compact(j, 1, err, sizeof err) != HEXRUN_OK)
        abort();
    hexrun__journal_close(j);

    hexrun__journal *c = open_or_die();
    hexrun__journal_stats after;
    hexrun__journal_get_stats(c, &after);
    if (after.corrupt != 0 || after.lines != after.keys || after.keys > before.keys + 1 ||
        (recorded && !hexrun__journal_knows_run(c, RUN)))
        abort();
    hexrun__journal_close(c);
    unlink(path);
    return 0;
}
