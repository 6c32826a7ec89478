/* Unit suite: the growable string buffer used to build JSON output. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ck_run.h"

START_TEST(appends_grow_and_stay_terminated)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(hexrun__buf_appendf(&b, "%d,", i % 10), 0);
    ck_assert_uint_eq(b.len, 2000);
    ck_assert_uint_eq(strlen(b.data), 2000);
    ck_assert_int_eq(hexrun__buf_append(&b, "xyz", 2), 0);
    ck_assert_str_eq(b.data + 2000, "xy");
    char *s = hexrun__buf_steal(&b);
    ck_assert_uint_eq(strlen(s), 2002);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    free(s);
}
END_TEST

START_TEST(steal_of_empty_buffer_is_empty_string)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    char *s = hexrun__buf_steal(&b);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(json_strings_are_escaped)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_append_json_str(&b, "a\"b\\c\nd\te\x01 caf\xc3\xa9");
    hexrun__buf_appends(&b, ",");
    hexrun__buf_append_json_str(&b, NULL);
    hexrun__buf_appends(&b, ",");
    hexrun__buf_append_json_str(&b, "");
    ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001 caf\xc3\xa9\",null,\"\"");
    hexrun__buf_free(&b);
}
END_TEST

START_TEST(json_strings_are_always_valid_utf8)
{
    /* Whole characters of 2, 3 and 4 bytes pass; a character cut by a truncation, a stray
     * continuation byte, an overlong form and a surrogate each become U+FFFD. */
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_append_json_str(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xe2\x82|\x80|"
                                    "\xc0\xaf|\xed\xa0\x80|z");
    ck_assert_str_eq(b.data, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\ufffd\\ufffd|\\ufffd|"
                             "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|z\"");
    hexrun__buf_free(&b);
}
END_TEST

START_TEST(failure_is_sticky_and_steal_gives_null)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appends(&b, "partial");
    ck_assert_int_eq(hexrun__buf_append(&b, "x", SIZE_MAX / 2), -1);
    ck_assert_int_eq(b.failed, 1);
    ck_assert_int_eq(hexrun__buf_appends(&b, "more"), -1);
    ck_assert_str_eq(b.data, "partial");
    ck_assert_ptr_null(hexrun__buf_steal(&b));
    ck_assert_int_eq(b.failed, 0);
    ck_assert_int_eq(hexrun__buf_appends(&b, "again"), 0);
    ck_assert_str_eq(b.data, "again");
    hexrun__buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, appends_grow_and_stay_terminated);
    tcase_add_test(tc, steal_of_empty_buffer_is_empty_string);
    tcase_add_test(tc, json_strings_are_escaped);
    tcase_add_test(tc, json_strings_are_always_valid_utf8);
    tcase_add_test(tc, failure_is_sticky_and_steal_gives_null);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
