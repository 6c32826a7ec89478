/* oom_wrap.h - count hexrun's allocations and fail the i-th one (see oom_wrap.c). */
#ifndef HEXRUN_TEST_OOM_WRAP_H
#define HEXRUN_TEST_OOM_WRAP_H

/* Resets the counters; allocation number index (1-based) will fail, 0 for none; with
 * persistent, every later one fails too (memory stays exhausted). */
void oom_arm(long index, int persistent);
/* Allocations counted since oom_arm. */
long oom_count(void);
/* Allocations refused since oom_arm. */
long oom_failed(void);

#endif
