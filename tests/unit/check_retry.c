/* Unit suite: the retry policy (which attempts may be repeated, Retry-After, backoff),
 * status mapping and path escaping. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ck_run.h"
#include "http.h"

static hexrun__http_resp status_resp(int status)
{
    hexrun__http_resp r = {.error = HEXRUN_OK, .sent = 1, .status = status, .body = ""};
    return r;
}

static hexrun__http_resp transport_resp(int error, int sent)
{
    hexrun__http_resp r = {.error = error, .sent = sent, .status = 0, .body = ""};
    return r;
}

START_TEST(methods_map_to_kinds)
{
    ck_assert_int_eq(hexrun__retry_kind_of("GET"), HEXRUN__RETRY_IDEMPOTENT);
    ck_assert_int_eq(hexrun__retry_kind_of("put"), HEXRUN__RETRY_IDEMPOTENT);
    ck_assert_int_eq(hexrun__retry_kind_of("DELETE"), HEXRUN__RETRY_IDEMPOTENT);
    ck_assert_int_eq(hexrun__retry_kind_of("POST"), HEXRUN__RETRY_NON_IDEMPOTENT);
    ck_assert_int_eq(hexrun__retry_kind_of("PATCH"), HEXRUN__RETRY_NON_IDEMPOTENT);
    ck_assert_int_eq(hexrun__retry_kind_of("BREW"), HEXRUN__RETRY_NON_IDEMPOTENT);
    ck_assert_int_eq(hexrun__retry_kind_of(NULL), HEXRUN__RETRY_NON_IDEMPOTENT);
}
END_TEST

START_TEST(idempotent_retries_transport_5xx_and_429_only)
{
    const hexrun__retry_kind k = HEXRUN__RETRY_IDEMPOTENT;
    hexrun__http_resp r;
    r = transport_resp(HEXRUN_E_TRANSPORT, 1);
    ck_assert_int_eq(hexrun__retry_should(k, &r), 1);
    r = transport_resp(HEXRUN_E_TRANSPORT, 0);
    ck_assert_int_eq(hexrun__retry_should(k, &r), 1);
    int retried[] = {500, 502, 503, 504, 429};
    for (size_t i = 0; i < sizeof retried / sizeof *retried; i++) {
        r = status_resp(retried[i]);
        ck_assert_msg(hexrun__retry_should(k, &r) == 1, "status %d", retried[i]);
    }
    int final[] = {200, 201, 204, 302, 400, 401, 403, 404, 409, 422};
    for (size_t i = 0; i < sizeof final / sizeof *final; i++) {
        r = status_resp(final[i]);
        ck_assert_msg(hexrun__retry_should(k, &r) == 0, "status %d", final[i]);
    }
    r = transport_resp(HEXRUN_E_TLS, 0);
    ck_assert_int_eq(hexrun__retry_should(k, &r), 0);
    r = transport_resp(HEXRUN_E_TOO_LARGE, 1);
    ck_assert_int_eq(hexrun__retry_should(k, &r), 0);
    ck_assert_int_eq(hexrun__retry_should(k, NULL), 0);
}
END_TEST

START_TEST(run_project_retried_only_when_certainly_not_processed)
{
    const hexrun__retry_kind k = HEXRUN__RETRY_RUN_PROJECT;
    hexrun__http_resp r = transport_resp(HEXRUN_E_TRANSPORT, 0); /* connect refused */
    ck_assert_int_eq(hexrun__retry_should(k, &r), 1);
    ck_assert_int_eq(hexrun__retry_outcome_unknown(k, &r), 0);

    r = transport_resp(HEXRUN_E_TRANSPORT, 1); /* timeout or drop once sent */
    ck_assert_int_eq(hexrun__retry_should(k, &r), 0);
    ck_assert_int_eq(hexrun__retry_outcome_unknown(k, &r), 1);

    r = status_resp(429);
    ck_assert_int_eq(hexrun__retry_should(k, &r), 1);
    r = status_resp(503);
    ck_assert_int_eq(hexrun__retry_should(k, &r), 1);
    ck_assert_int_eq(hexrun__retry_outcome_unknown(k, &r), 0); /* 503: not taken */
    int final[] = {201, 400, 401, 403, 404, 422};
    for (size_t i = 0; i < sizeof final / sizeof *final; i++) {
        r = status_resp(final[i]);
        ck_assert_msg(hexrun__retry_should(k, &r) == 0, "status %d", final[i]);
        ck_assert_int_eq(hexrun__retry_outcome_unknown(k, &r), 0);
    }
    /* A gateway may answer 500/502/504 after Hex made the run: never repeated, looked for. */
    int maybe_made[] = {500, 502, 504, 599};
    for (size_t i = 0; i < sizeof maybe_made / sizeof *maybe_made; i++) {
        r = status_resp(maybe_made[i]);
        ck_assert_msg(hexrun__retry_should(k, &r) == 0, "status %d", maybe_made[i]);
        ck_assert_msg(hexrun__retry_outcome_unknown(k, &r) == 1, "status %d", maybe_made[i]);
        ck_assert_int_eq(hexrun__retry_outcome_unknown(HEXRUN__RETRY_IDEMPOTENT, &r), 0);
    }
}
END_TEST

START_TEST(truncated_reply_to_run_project_is_outcome_unknown)
{
    hexrun__http_resp r = {.error = HEXRUN_E_TRANSPORT, .sent = 1, .status = 201, .body = "{"};
    ck_assert_int_eq(hexrun__retry_should(HEXRUN__RETRY_RUN_PROJECT, &r), 0);
    ck_assert_int_eq(hexrun__retry_outcome_unknown(HEXRUN__RETRY_RUN_PROJECT, &r), 1);
    /* The same failure on a GET is simply retried. */
    ck_assert_int_eq(hexrun__retry_outcome_unknown(HEXRUN__RETRY_IDEMPOTENT, &r), 0);
    ck_assert_int_eq(hexrun__retry_should(HEXRUN__RETRY_IDEMPOTENT, &r), 1);
}
END_TEST

START_TEST(retry_after_seconds)
{
    ck_assert_int_eq(hexrun__retry_after_parse("0", 0), 0);
    ck_assert_int_eq(hexrun__retry_after_parse("2", 0), 2000);
    ck_assert_int_eq(hexrun__retry_after_parse("  120 ", 0), 120000);
    /* Issue 12 point 9: never more than an hour (Hex's longest window), not a day. */
    ck_assert_int_eq(hexrun__retry_after_parse("99999999999999999999", 0), 3600LL * 1000);
    ck_assert_int_eq(hexrun__retry_after_parse("86400", 0), 3600LL * 1000);
    ck_assert_int_eq(hexrun__retry_after_parse("3599", 0), 3599LL * 1000);
    ck_assert_int_eq(hexrun__retry_after_parse("-5", 0), -1);
    ck_assert_int_eq(hexrun__retry_after_parse("1.5", 0), -1);
    ck_assert_int_eq(hexrun__retry_after_parse("", 0), -1);
    ck_assert_int_eq(hexrun__retry_after_parse("soon", 0), -1);
    ck_assert_int_eq(hexrun__retry_after_parse(NULL, 0), -1);
}
END_TEST

START_TEST(retry_after_http_dates)
{
    /* 1994-11-06 08:49:37 UTC */
    const time_t t = 784111777;
    ck_assert_int_eq(hexrun__retry_after_parse("Sun, 06 Nov 1994 08:49:47 GMT", t), 10000);
    ck_assert_int_eq(hexrun__retry_after_parse("Sunday, 06-Nov-94 08:50:37 GMT", t), 60000);
    ck_assert_int_eq(hexrun__retry_after_parse("Sun Nov  6 08:49:40 1994", t), 3000);
    /* A date in the past means "now". */
    ck_assert_int_eq(hexrun__retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", t), 0);
    ck_assert_int_eq(hexrun__retry_after_parse("Sun, 99 Foo 1994 99:99:99 GMT", t), -1);
    ck_assert_int_eq(hexrun__retry_after_parse("tomorrow at noon please", t), -1);
    /* Found by fuzz_retry_after: a far-future year must not overflow. */
    ck_assert_int_eq(hexrun__retry_after_parse("Sun Nov  6 08:37 444444444", t), 3600LL * 1000);
}
END_TEST

START_TEST(retry_after_wins_over_backoff)
{
    uint64_t rng = 1;
    ck_assert_int_eq(hexrun__retry_backoff_ms(1, 100, 1000, 7000, &rng), 7000);
    ck_assert_int_eq(hexrun__retry_backoff_ms(5, 100, 1000, 0, &rng), 0);
}
END_TEST

START_TEST(backoff_is_full_jitter_within_exponential_cap)
{
    uint64_t rng = 42;
    for (int attempt = 1; attempt <= 12; attempt++) {
        int64_t cap = 100LL << (attempt - 1);
        if (cap > 5000)
            cap = 5000;
        int64_t lo = cap, hi = 0;
        for (int i = 0; i < 2000; i++) {
            int64_t d = hexrun__retry_backoff_ms(attempt, 100, 5000, -1, &rng);
            ck_assert_int_ge(d, 0);
            ck_assert_int_le(d, cap);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* Full jitter spreads over the whole range, not around the cap. */
        ck_assert_int_le(lo, cap / 10);
        ck_assert_int_ge(hi, cap - cap / 10);
    }
}
END_TEST

START_TEST(backoff_survives_huge_attempts_and_bad_bases)
{
    uint64_t rng = 0;
    int64_t d = hexrun__retry_backoff_ms(1000000, 1000, INT64_MAX / 2, -1, &rng);
    ck_assert_int_ge(d, 0);
    ck_assert_int_le(d, INT64_MAX / 2);
    ck_assert_int_eq(hexrun__retry_backoff_ms(3, 0, 1000, -1, &rng), 0);
    ck_assert_int_eq(hexrun__retry_backoff_ms(3, 100, 0, -1, &rng), 0);
}
END_TEST

START_TEST(backoff_is_reproducible_from_the_seed)
{
    uint64_t a = 7, b = 7;
    for (int i = 1; i < 20; i++)
        ck_assert_int_eq(hexrun__retry_backoff_ms(i, 50, 10000, -1, &a),
                         hexrun__retry_backoff_ms(i, 50, 10000, -1, &b));
}
END_TEST

START_TEST(statuses_map_to_error_codes)
{
    ck_assert_int_eq(hexrun__http_error_from_status(200), HEXRUN_OK);
    ck_assert_int_eq(hexrun__http_error_from_status(204), HEXRUN_OK);
    ck_assert_int_eq(hexrun__http_error_from_status(400), HEXRUN_E_INVALID_REQUEST);
    ck_assert_int_eq(hexrun__http_error_from_status(422), HEXRUN_E_INVALID_REQUEST);
    ck_assert_int_eq(hexrun__http_error_from_status(401), HEXRUN_E_AUTH);
    ck_assert_int_eq(hexrun__http_error_from_status(403), HEXRUN_E_FORBIDDEN);
    ck_assert_int_eq(hexrun__http_error_from_status(404), HEXRUN_E_NOT_FOUND);
    ck_assert_int_eq(hexrun__http_error_from_status(429), HEXRUN_E_RATE_LIMITED);
    ck_assert_int_eq(hexrun__http_error_from_status(500), HEXRUN_E_UNAVAILABLE);
    ck_assert_int_eq(hexrun__http_error_from_status(503), HEXRUN_E_UNAVAILABLE);
    ck_assert_int_eq(hexrun__http_error_from_status(302), HEXRUN_E_HTTP);
    ck_assert_int_eq(hexrun__http_error_from_status(409), HEXRUN_E_HTTP);
    ck_assert_int_eq(hexrun__http_error_from_status(0), HEXRUN_E_HTTP);
}
END_TEST

START_TEST(path_segments_are_percent_encoded)
{
    char out[64];
    ck_assert_int_eq(hexrun__http_escape("11111111-1111-4111-8111-111111111111", out, sizeof out),
                     36);
    ck_assert_str_eq(out, "11111111-1111-4111-8111-111111111111");
    ck_assert_int_eq(hexrun__http_escape("a/b c?d#%", out, sizeof out), 19);
    ck_assert_str_eq(out, "a%2Fb%20c%3Fd%23%25");
    ck_assert_int_eq(hexrun__http_escape("../x", out, sizeof out), 6);
    ck_assert_str_eq(out, "..%2Fx");
    ck_assert_int_eq(hexrun__http_escape("\xc3\xa9", out, sizeof out), 6);
    ck_assert_str_eq(out, "%C3%A9");
    ck_assert_int_eq(hexrun__http_escape("abc", out, 3), -1);
    ck_assert_int_eq(hexrun__http_escape("abc", out, 4), 3);
    ck_assert_int_eq(hexrun__http_escape("/", out, 3), -1);
    ck_assert_int_eq(hexrun__http_escape(NULL, out, sizeof out), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, methods_map_to_kinds);
    tcase_add_test(tc, idempotent_retries_transport_5xx_and_429_only);
    tcase_add_test(tc, run_project_retried_only_when_certainly_not_processed);
    tcase_add_test(tc, truncated_reply_to_run_project_is_outcome_unknown);
    tcase_add_test(tc, retry_after_seconds);
    tcase_add_test(tc, retry_after_http_dates);
    tcase_add_test(tc, retry_after_wins_over_backoff);
    tcase_add_test(tc, backoff_is_full_jitter_within_exponential_cap);
    tcase_add_test(tc, backoff_survives_huge_attempts_and_bad_bases);
    tcase_add_test(tc, backoff_is_reproducible_from_the_seed);
    tcase_add_test(tc, statuses_map_to_error_codes);
    tcase_add_test(tc, path_segments_are_percent_encoded);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
