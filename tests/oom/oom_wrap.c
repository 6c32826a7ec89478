/*
 * oom_wrap.c - allocation counting and failure injection for check_oom.
 *
 * The test links the plugin's objects statically with -Wl,--wrap=malloc,... so only
 * hexrun's own calls (and the test's, which makes none in the scenario) come here;
 * libcurl's and json-c's internal allocations go straight to libc. The engine thread
 * allocates too, hence the atomics.
 */
#include "oom_wrap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);

static atomic_long alloc_count;
static atomic_long fail_at;   /* 0: never fail */
static atomic_long failed;    /* how many allocations were refused */
static atomic_int fail_after; /* 1: every allocation from fail_at on fails too */

void oom_arm(long index, int persistent)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&failed, 0);
    atomic_store(&fail_after, persistent);
    atomic_store(&fail_at, index);
}

long oom_count(void)
{
    return atomic_load(&alloc_count);
}

long oom_failed(void)
{
    return atomic_load(&failed);
}

/* Counts one allocation; true when this one is the armed index and must fail. */
static int must_fail(void)
{
    long n = atomic_fetch_add(&alloc_count, 1) + 1, at = atomic_load(&fail_at);
    if (at <= 0 || n < at || (n > at && !atomic_load(&fail_after)))
        return 0;
    atomic_fetch_add(&failed, 1);
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return must_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return must_fail() ? NULL : __real_calloc(n, size);
}

/* A failed realloc leaves the old block alone, as the real one does. */
void *__wrap_realloc(void *p, size_t n)
{
    return must_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return must_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return must_fail() ? NULL : __real_strndup(s, n);
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
    if (must_fail()) {
        *out = NULL;
        return -1;
    }
    return __real_vasprintf(out, fmt, ap);
}
