/*
 * adopt.h - finding the run that a RunProject with an unknown outcome created (internal).
 *
 * Hex has no idempotency key: when a POST was sent but no answer came back, re-sending it
 * could start a second run. Instead the engine lists the project's recent API runs and
 * adopts the one that appeared since the attempt, when it can tell which one that is.
 * The first part of adopt.c is the pure decision; the rest makes the engine's lookups
 * (engine_int.h).
 */
#ifndef HEXRUN_ADOPT_H
#define HEXRUN_ADOPT_H

#include <stddef.h>
#include <stdint.h>

#include "hex.h"

/* Clocks differ: a run whose startTime is up to this much before the attempt still
 * counts as possibly ours. */
#define HEXRUN__ADOPT_SKEW_MS 30000

/* ISO-8601 UTC ("2026-01-02T03:04:05.678Z", fraction and Z optional) -> unix ms, or -1
 * when s is empty or not such a time. */
int64_t hexrun__iso8601_ms(const char *s);

/* Returns 1 when run_id is already accounted for (another job tracks it, or a journal
 * records it for another key), else 0. */
typedef int (*hexrun__run_known_fn)(const char *run_id, void *ud);

/*
 * hexrun__adopt_candidates - the runs of a GetProjectRuns page (newest first) that may be
 * the result of an attempt sent at since_ms (unix ms): triggered by the API, not known,
 * and not started before since_ms - HEXRUN__ADOPT_SKEW_MS (a PENDING run has no start
 * time yet and qualifies). Writes up to max indexes into idx, oldest first, and returns
 * how many runs qualified (which may exceed max).
 */
size_t hexrun__adopt_candidates(const hexrun__hex_run *runs, size_t n, int64_t since_ms,
                                hexrun__run_known_fn known, void *ud, size_t *idx, size_t max);

#endif
