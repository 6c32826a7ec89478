/* Unit suite: log sink and redaction of tokens and Authorization values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_run.h"
#include "log.h"

#define TOKEN "hxtok_s3cr3t/+= value"

static const char *const secrets[] = {TOKEN, NULL};

static char *redacted(const char *in)
{
    static char out[8192];
    hexrun__redact(in, secrets, out, sizeof out);
    return out;
}

START_TEST(plain_token_is_redacted_everywhere)
{
    ck_assert_str_eq(redacted("token=" TOKEN " end"), "token=<redacted> end");
    ck_assert_str_eq(redacted(TOKEN TOKEN), "<redacted><redacted>");
    ck_assert_str_eq(redacted("no secret here"), "no secret here");
}
END_TEST

START_TEST(percent_encoded_token_is_redacted)
{
    ck_assert_str_eq(redacted("url=/x?t=hxtok_s3cr3t%2F%2B%3D%20value&y=1"),
                     "url=/x?t=<redacted>&y=1");
    ck_assert_str_eq(redacted("q=hxtok_s3cr3t%2f%2b%3d+value"), "q=<redacted>");
}
END_TEST

START_TEST(json_escaped_token_is_redacted)
{
    ck_assert_str_eq(redacted("{\"t\":\"hxtok_s3cr3t\\/+= value\"}"), "{\"t\":\"<redacted>\"}");
    ck_assert_str_eq(redacted("{\"t\":\"hxtok_s3cr3t\\u002f\\u002B=\\u0020value\"}"),
                     "{\"t\":\"<redacted>\"}");
}
END_TEST

START_TEST(token_inside_echoed_server_body_is_redacted)
{
    const char *body = "Hex said 401: {\"reason\":\"bad token '" TOKEN "'\",\"traceId\":\"t1\"}";
    char *out = redacted(body);
    ck_assert_ptr_null(strstr(out, "s3cr3t"));
    ck_assert_ptr_nonnull(strstr(out, "'<redacted>'"));
    ck_assert_ptr_nonnull(strstr(out, "traceId"));
}
END_TEST

START_TEST(authorization_values_are_redacted_in_every_form)
{
    ck_assert_str_eq(redacted("Authorization: Bearer abc.def\r\nAccept: x"),
                     "Authorization: <redacted>\r\nAccept: x");
    ck_assert_str_eq(redacted("authorization=Basic Zm9vOmJhcg=="), "authorization=<redacted>");
    ck_assert_str_eq(redacted("{\"Authorization\": \"Bearer other-token\", \"a\": 1}"),
                     "{\"Authorization\": \"<redacted>\", \"a\": 1}");
    ck_assert_str_eq(redacted("sent bearer  xyz123== to host"), "sent bearer  <redacted> to host");
    ck_assert_str_eq(redacted("the Bearer of bad news"), "the Bearer <redacted> bad news");
    /* A word that is not followed by a value is left alone. */
    ck_assert_str_eq(redacted("Authorization header missing"), "Authorization header missing");
    ck_assert_str_eq(redacted("Bearer"), "Bearer");
}
END_TEST

START_TEST(redact_follows_snprintf_rules)
{
    char small[8];
    size_t need = hexrun__redact("x " TOKEN, secrets, small, sizeof small);
    ck_assert_uint_eq(need, strlen("x <redacted>"));
    ck_assert_str_eq(small, "x <reda");
    ck_assert_uint_eq(hexrun__redact("abc", NULL, NULL, 0), 3);
    char out[16];
    hexrun__redact(NULL, NULL, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(empty_secrets_are_ignored)
{
    const char *const odd[] = {"", NULL};
    char out[32];
    hexrun__redact("keep me", odd, out, sizeof out);
    ck_assert_str_eq(out, "keep me");
}
END_TEST

typedef struct {
    int calls;
    int level;
    char line[8192];
} sink;

static void capture(int32_t level, const char *message, void *ud)
{
    sink *s = ud;
    s->calls++;
    s->level = level;
    snprintf(s->line, sizeof s->line, "%s", message);
}

START_TEST(log_lines_are_redacted_before_the_sink)
{
    sink s = {0};
    hexrun__log *log = hexrun__log_new(HEXRUN_LOG_DEBUG, capture, &s, secrets);
    ck_assert_ptr_nonnull(log);
    hexrun__log_write(log, HEXRUN_LOG_INFO, "event=submit token=%s header=%s", TOKEN,
                      "Authorization: Bearer " TOKEN);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.level, HEXRUN_LOG_INFO);
    ck_assert_ptr_null(strstr(s.line, "s3cr3t"));
    ck_assert_str_eq(s.line, "event=submit token=<redacted> header=Authorization: <redacted>");
    char out[64];
    hexrun__log_redact(log, "x=" TOKEN, out, sizeof out);
    ck_assert_str_eq(out, "x=<redacted>");
    hexrun__log_free(log);
}
END_TEST

START_TEST(one_event_is_one_line_whatever_the_text_holds)
{
    sink s = {0};
    hexrun__log *log = hexrun__log_new(HEXRUN_LOG_DEBUG, capture, &s, secrets);
    /* A status or trace id from Hex, or a caller's id, with CR/LF, ESC, DEL and C1 CSI. */
    hexrun__log_write(log, HEXRUN_LOG_WARN, "event=unknown_status status=%s",
                      "X\r\nhexrun level=error event=forged\t\x1b[2J\x7f\xc2\x9b"
                      "31m");
    ck_assert_str_eq(s.line, "event=unknown_status status=X\\r\\nhexrun level=error "
                             "event=forged\\t\\x1b[2J\\x7f\\u009b31m");
    /* UTF-8 text stays as it is. */
    hexrun__log_write(log, HEXRUN_LOG_WARN, "name=%s", "Zürich \xe2\x82\xac");
    ck_assert_str_eq(s.line, "name=Zürich \xe2\x82\xac");
    /* An escape is never cut in two at the end of the buffer. */
    char out[6];
    hexrun__escape_controls("ab\x1b", out, sizeof out);
    ck_assert_str_eq(out, "ab");
    hexrun__log_free(log);
}
END_TEST

START_TEST(log_level_filters_lines)
{
    sink s = {0};
    hexrun__log *log = hexrun__log_new(HEXRUN_LOG_WARN, capture, &s, NULL);
    ck_assert_int_eq(hexrun__log_enabled(log, HEXRUN_LOG_ERROR), 1);
    ck_assert_int_eq(hexrun__log_enabled(log, HEXRUN_LOG_DEBUG), 0);
    hexrun__log_write(log, HEXRUN_LOG_DEBUG, "event=noise");
    hexrun__log_write(log, HEXRUN_LOG_INFO, "event=noise");
    ck_assert_int_eq(s.calls, 0);
    hexrun__log_write(log, HEXRUN_LOG_WARN, "event=tls_insecure");
    ck_assert_int_eq(s.calls, 1);
    ck_assert_str_eq(s.line, "event=tls_insecure");
    hexrun__log_free(log);
    hexrun__log_write(NULL, HEXRUN_LOG_ERROR, "nothing happens");
    ck_assert_int_eq(hexrun__log_enabled(NULL, HEXRUN_LOG_ERROR), 0);
}
END_TEST

START_TEST(long_line_cut_never_leaves_part_of_a_token)
{
    sink s = {0};
    hexrun__log *log = hexrun__log_new(HEXRUN_LOG_DEBUG, capture, &s, secrets);
    /* Put the token across the 4 KiB limit at every offset around it. */
    for (int pad = 4070; pad < 4100; pad++) {
        hexrun__log_write(log, HEXRUN_LOG_ERROR, "%*s%s tail", pad, "", TOKEN);
        ck_assert_ptr_null(strstr(s.line, "hxtok"));
        ck_assert_uint_lt(strlen(s.line), 4096);
    }
    hexrun__log_free(log);
}
END_TEST

START_TEST(secrets_are_copied)
{
    char token[] = "temporary-token";
    const char *const list[] = {token, NULL};
    sink s = {0};
    hexrun__log *log = hexrun__log_new(HEXRUN_LOG_DEBUG, capture, &s, list);
    memset(token, 'x', sizeof token - 1);
    hexrun__log_write(log, HEXRUN_LOG_INFO, "t=temporary-token");
    ck_assert_str_eq(s.line, "t=<redacted>");
    hexrun__log_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("redaction");
    tcase_add_test(tc, plain_token_is_redacted_everywhere);
    tcase_add_test(tc, percent_encoded_token_is_redacted);
    tcase_add_test(tc, json_escaped_token_is_redacted);
    tcase_add_test(tc, token_inside_echoed_server_body_is_redacted);
    tcase_add_test(tc, authorization_values_are_redacted_in_every_form);
    tcase_add_test(tc, redact_follows_snprintf_rules);
    tcase_add_test(tc, empty_secrets_are_ignored);
    tcase_add_test(tc, log_lines_are_redacted_before_the_sink);
    tcase_add_test(tc, log_level_filters_lines);
    tcase_add_test(tc, one_event_is_one_line_whatever_the_text_holds);
    tcase_add_test(tc, long_line_cut_never_leaves_part_of_a_token);
    tcase_add_test(tc, secrets_are_copied);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
