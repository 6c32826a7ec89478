/* API suite: 8 host threads submit, poll and wait on 200 jobs of one client at once (also
 * run under ThreadSanitizer by `make tsan`). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api_common.h"

#define THREADS 8
#define JOBS_PER_THREAD 25

static hexrun_client *c;

typedef struct {
    int completed;
    int failures;
} worker_result;

static void *worker(void *arg)
{
    worker_result *r = arg;
    int64_t jobs[JOBS_PER_THREAD];
    for (int i = 0; i < JOBS_PER_THREAD; i++)
        if (hexrun_submit(c, P_OK, "{\"inputParams\":{\"days\":1}}", NULL, &jobs[i]) != HEXRUN_OK)
            r->failures++;
    int32_t state;
    for (int i = 0; i < JOBS_PER_THREAD; i++) {
        if (hexrun_poll(c, jobs[i], &state) != HEXRUN_OK)
            r->failures++;
        char *info = NULL;
        if (hexrun_job_info(c, jobs[i], &info) != HEXRUN_OK)
            r->failures++;
        hexrun_free(info);
    }
    int64_t left[JOBS_PER_THREAD];
    memcpy(left, jobs, sizeof jobs);
    for (uint32_t n = JOBS_PER_THREAD; n > 0;) {
        int64_t done = -1;
        if (hexrun_wait_any(c, left, n, 60000, &done, &state) != HEXRUN_OK) {
            r->failures++;
            break;
        }
        r->completed += state == HEXRUN_STATE_COMPLETED;
        for (uint32_t i = 0; i < n; i++)
            if (left[i] == done) {
                left[i] = left[--n];
                break;
            }
        hexrun_job_release(c, done);
    }
    return NULL;
}

START_TEST(eight_threads_two_hundred_jobs)
{
    c = api_client(TOKEN_ADMIN, NULL);
    pthread_t threads[THREADS];
    worker_result results[THREADS];
    memset(results, 0, sizeof results);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker, &results[i]), 0);
    int completed = 0;
    for (int i = 0; i < THREADS; i++) {
        api_await(pthread_tryjoin_np(threads[i], NULL) == 0, 100000,
                  "worker thread %d to finish its jobs", i);
        ck_assert_int_eq(results[i].failures, 0);
        completed += results[i].completed;
    }
    ck_assert_int_eq(completed, THREADS * JOBS_PER_THREAD);
    ck_assert_int_eq(api_runs_created(P_OK), THREADS * JOBS_PER_THREAD);
    char *stats = NULL;
    ck_assert_int_eq(hexrun_stats(c, &stats), HEXRUN_OK);
    json_object *s = api_json(stats);
    ck_assert_int_eq(api_int(api_get(api_get(s, "requests"), "RunProject"), "201"),
                     THREADS * JOBS_PER_THREAD);
    json_object_put(s);
    hexrun_free(stats);
    ck_assert_int_eq(hexrun_shutdown(c, 0), HEXRUN_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_threads");
    TCase *tc = tcase_create("threads");
    tcase_add_unchecked_fixture(tc, api_sim_start, api_sim_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eight_threads_two_hundred_jobs);
    suite_add_tcase(s, tc);
    return api_run_suite(s);
}
