/* Unit suite: JSON mapping of Hex requests and responses (runs, pages, both error
 * families, run options). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "budget.h"
#include "ck_run.h"
#include "hex.h"

#define P_OK "11111111-1111-4111-8111-111111111111"
#define RUN1 "aaaaaaaa-0000-4000-8000-000000000001"
#define RUN2 "aaaaaaaa-0000-4000-8000-000000000002"

static char err[512];

static int parse_run(const char *body, hexrun__hex_run *run)
{
    err[0] = '\0';
    return hexrun__hex_parse_run(body, strlen(body), run, err, sizeof err);
}

/* ----- runs ----- */

START_TEST(run_status_maps_every_field)
{
    hexrun__hex_run r;
    const char *body = "{\"projectId\":\"" P_OK "\",\"projectVersion\":3,\"runId\":\"" RUN1
                       "\",\"runUrl\":\"https://app.hex.tech/app/x/runs/1\",\"status\":"
                       "\"COMPLETED\",\"runTrigger\":\"API\",\"startTime\":\"2026-01-01T00:"
                       "00:00.000Z\",\"endTime\":\"2026-01-01T00:00:05.000Z\",\"elapsedTime\":"
                       "5000.4,\"traceId\":\"tr-1\",\"notifications\":[]}";
    ck_assert_int_eq(parse_run(body, &r), HEXRUN_OK);
    ck_assert_str_eq(r.run_id, RUN1);
    ck_assert_str_eq(r.project_id, P_OK);
    ck_assert_str_eq(r.run_url, "https://app.hex.tech/app/x/runs/1");
    ck_assert_str_eq(r.status, "COMPLETED");
    ck_assert_int_eq(r.state, HEXRUN_STATE_COMPLETED);
    ck_assert_str_eq(r.start_time, "2026-01-01T00:00:00.000Z");
    ck_assert_str_eq(r.end_time, "2026-01-01T00:00:05.000Z");
    ck_assert_int_eq(r.elapsed_ms, 5000);
    ck_assert_str_eq(r.trace_id, "tr-1");
    ck_assert_str_eq(r.project_version, "3");
    ck_assert_str_eq(r.run_trigger, "API");
}
END_TEST

START_TEST(nulls_and_string_project_version_are_accepted)
{
    hexrun__hex_run r;
    const char *body = "{\"projectId\":\"" P_OK "\",\"projectVersion\":\"12\",\"runId\":\"" RUN1
                       "\",\"status\":\"PENDING\",\"startTime\":null,\"endTime\":null,"
                       "\"elapsedTime\":null}";
    ck_assert_int_eq(parse_run(body, &r), HEXRUN_OK);
    ck_assert_str_eq(r.project_version, "12");
    ck_assert_str_eq(r.start_time, "");
    ck_assert_str_eq(r.end_time, "");
    ck_assert_int_eq(r.elapsed_ms, -1);
    ck_assert_int_eq(r.state, HEXRUN_STATE_PENDING);
}
END_TEST

START_TEST(unknown_status_is_unknown_not_success)
{
    hexrun__hex_run r;
    const char *body =
        "{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\",\"status\":\"QUANTUM_SUPERPOSITION\"}";
    ck_assert_int_eq(parse_run(body, &r), HEXRUN_OK);
    ck_assert_int_eq(r.state, HEXRUN_STATE_UNKNOWN);
    ck_assert_str_eq(r.status, "QUANTUM_SUPERPOSITION");
}
END_TEST

START_TEST(every_hex_status_has_its_state)
{
    ck_assert_int_eq(hexrun__hex_state_from_status("PENDING"), HEXRUN_STATE_PENDING);
    ck_assert_int_eq(hexrun__hex_state_from_status("RUNNING"), HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(hexrun__hex_state_from_status("COMPLETED"), HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(hexrun__hex_state_from_status("ERRORED"), HEXRUN_STATE_ERRORED);
    ck_assert_int_eq(hexrun__hex_state_from_status("KILLED"), HEXRUN_STATE_KILLED);
    ck_assert_int_eq(hexrun__hex_state_from_status("UNABLE_TO_ALLOCATE_KERNEL"),
                     HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL);
    ck_assert_int_eq(hexrun__hex_state_from_status("completed"), HEXRUN_STATE_UNKNOWN);
    ck_assert_int_eq(hexrun__hex_state_from_status(""), HEXRUN_STATE_UNKNOWN);
    ck_assert_int_eq(hexrun__hex_state_from_status(NULL), HEXRUN_STATE_UNKNOWN);
}
END_TEST

START_TEST(bad_run_bodies_name_the_problem)
{
    hexrun__hex_run r;
    ck_assert_int_eq(parse_run("{\"projectId\":\"" P_OK "\",\"status\":\"RUNNING\"}", &r),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "missing field 'runId'");
    ck_assert_int_eq(parse_run("{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\"}", &r),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "missing field 'status'");
    ck_assert_int_eq(
        parse_run("{\"projectId\":\"" P_OK "\",\"runId\":7,\"status\":\"RUNNING\"}", &r),
        HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'runId' is not a string");
    ck_assert_int_eq(parse_run("{\"projectId\":\"" P_OK "\",\"runId\":\"..\",\"status\":"
                               "\"RUNNING\"}",
                               &r),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'runId' is not a UUID: '..'");
    ck_assert_int_eq(parse_run("{\"projectId\":\"p/../x\",\"runId\":\"" RUN1 "\",\"status\":"
                               "\"RUNNING\"}",
                               &r),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'projectId' is not a UUID: 'p/../x'");
    ck_assert_int_eq(
        parse_run("{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\",\"status\":7}", &r),
        HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'status' is not a string");
    ck_assert_int_eq(
        parse_run("{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\",\"status\":\"\"}", &r),
        HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'status' is empty");
    ck_assert_int_eq(parse_run("[1,2]", &r), HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "expected a JSON object, got array");
    ck_assert_int_eq(parse_run("{\"runId\":", &r), HEXRUN_E_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(err, "invalid JSON at byte"));
    ck_assert_int_eq(parse_run("{} trailing", &r), HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(parse_run("", &r), HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "invalid JSON at byte 0: empty body");
    ck_assert_int_eq(parse_run("null", &r), HEXRUN_E_PROTOCOL);
}
END_TEST

START_TEST(odd_optional_fields_are_tolerated)
{
    /* Issue 12 point 3: only runId, projectId and status may fail a run. */
    char trace[71], url[1500], body[4096];
    memset(trace, 't', sizeof trace - 1);
    trace[sizeof trace - 1] = '\0';
    memset(url, 'u', sizeof url - 1);
    url[sizeof url - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\",\"status\":\"RUNNING\","
             "\"traceId\":\"%s\",\"elapsedTime\":-3,\"projectVersion\":3.0,\"runUrl\":"
             "\"https://%s\",\"startTime\":1732924800,\"endTime\":{\"at\":1},"
             "\"runTrigger\":[\"API\"],\"notifications\":\"none\"}",
             trace, url);
    hexrun__hex_run r;
    ck_assert_msg(parse_run(body, &r) == HEXRUN_OK, "%s", err);
    ck_assert_int_eq(r.state, HEXRUN_STATE_RUNNING);
    ck_assert_uint_eq(strlen(r.trace_id), sizeof r.trace_id - 1); /* truncated */
    ck_assert_int_eq(r.elapsed_ms, -1);                           /* ignored */
    ck_assert_str_eq(r.project_version, "3.0");                   /* kept as text */
    ck_assert_str_eq(r.run_url, "");                              /* dropped, not cut */
    ck_assert_str_eq(r.start_time, "1732924800");
    ck_assert_str_eq(r.end_time, "");
    ck_assert_str_eq(r.run_trigger, "");
    /* A status too long for any known one is kept (cut) and unknown, not an error. */
    char status[200];
    memset(status, 'S', sizeof status - 1);
    status[sizeof status - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1
             "\",\"status\":\"%s\",\"elapsedTime\":\"5\"}",
             status);
    ck_assert_int_eq(parse_run(body, &r), HEXRUN_OK);
    ck_assert_int_eq(r.state, HEXRUN_STATE_UNKNOWN);
    ck_assert_int_eq(r.elapsed_ms, -1);
    /* A cut never leaves half a UTF-8 character: 62 ASCII bytes, then "é" (2 bytes). */
    snprintf(body, sizeof body,
             "{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1
             "\",\"status\":\"RUNNING\",\"traceId\":\"%.62s\u00e9\"}",
             trace);
    ck_assert_int_eq(parse_run(body, &r), HEXRUN_OK);
    ck_assert_uint_eq(strlen(r.trace_id), 62);
}
END_TEST

START_TEST(overlong_ids_are_refused_not_truncated)
{
    char body[4096];
    char longid[200];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"projectId\":\"%s\",\"runId\":\"" RUN1 "\",\"status\":\"RUNNING\"}", longid);
    hexrun__hex_run r;
    ck_assert_int_eq(parse_run(body, &r), HEXRUN_E_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(err, "'projectId' is too long"));
}
END_TEST

START_TEST(body_length_is_respected_and_nul_refused)
{
    hexrun__hex_run r;
    const char body[] =
        "{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\",\"status\":\"RUNNING\"}GARBAGE";
    ck_assert_int_eq(hexrun__hex_parse_run(body, strlen(body) - 7, &r, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_parse_run(body, strlen(body), &r, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
    const char with_nul[] = "{\"a\":1}\0{}";
    ck_assert_int_eq(hexrun__hex_parse_run(with_nul, sizeof with_nul - 1, &r, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
}
END_TEST

START_TEST(run_created_needs_no_status)
{
    hexrun__hex_run r;
    const char *body = "{\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1
                       "\",\"runUrl\":\"u\",\"runStatusUrl\":\"s\",\"traceId\":\"t\","
                       "\"projectVersion\":1}";
    ck_assert_int_eq(hexrun__hex_parse_run_created(body, strlen(body), &r, err, sizeof err),
                     HEXRUN_OK);
    ck_assert_int_eq(r.state, HEXRUN_STATE_PENDING);
    ck_assert_str_eq(r.run_id, RUN1);
    ck_assert_str_eq(r.trace_id, "t");
    const char *bad = "{\"projectId\":\"" P_OK "\"}";
    ck_assert_int_eq(hexrun__hex_parse_run_created(bad, strlen(bad), &r, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
}
END_TEST

/* ----- the in-place reader (GetRunStatus, RunProject 201) against json-c's whole parse ----- */

#define HEAD "\"projectId\":\"" P_OK "\",\"runId\":\"" RUN1 "\",\"status\":\"RUNNING\""

/* Both readers on body (len bytes): the same fields, or the same error (both "invalid
 * JSON" when the body is not JSON). Returns hexrun__hex_parse_run's code; *out its run. */
static int agree_len(const char *body, size_t len, hexrun__hex_run *out)
{
    char whole_err[512];
    hexrun__hex_run whole;
    for (int need_status = 0; need_status <= 1; need_status++) {
        err[0] = whole_err[0] = '\0';
        int rc = need_status ? hexrun__hex_parse_run(body, len, out, err, sizeof err)
                             : hexrun__hex_parse_run_created(body, len, out, err, sizeof err);
        int whole_rc = hexrun__hex_parse_run_whole(body, len, need_status, &whole, whole_err,
                                                   sizeof whole_err);
        ck_assert_msg(rc == whole_rc, "%.80s: in place %d (%s), whole %d (%s)", body, rc, err,
                      whole_rc, whole_err);
        if (rc == HEXRUN_OK)
            ck_assert_msg(memcmp(out, &whole, sizeof whole) == 0, "%.80s: fields differ", body);
        else if (strncmp(err, "invalid JSON", 12) || strncmp(whole_err, "invalid JSON", 12))
            ck_assert_str_eq(err, whole_err);
    }
    return hexrun__hex_parse_run(body, len, out, err, sizeof err);
}

static int agree(const char *body, hexrun__hex_run *out)
{
    return agree_len(body, strlen(body), out);
}

/* A body of HEAD and then `rest` (a printf format). */
__attribute__((format(printf, 2, 3))) static int agree_with(hexrun__hex_run *out, const char *rest,
                                                            ...)
{
    static char body[65536];
    int n = snprintf(body, sizeof body, "{" HEAD);
    va_list ap;
    va_start(ap, rest);
    vsnprintf(body + n, sizeof body - (size_t)n, rest, ap);
    va_end(ap);
    return agree(body, out);
}

static char *repeat(const char *unit, int times)
{
    static char buf[4][32768];
    static int next;
    char *out = buf[next++ % 4];
    out[0] = '\0';
    for (int i = 0; i < times; i++)
        strcat(out, unit);
    return out;
}

START_TEST(keys_are_read_as_json_c_reads_them)
{
    hexrun__hex_run r;
    /* Escapes, single quotes, and a key cut at its first \u0000 (json-c keeps a C string). */
    ck_assert_int_eq(agree("{\"project\\u0049d\":\"" P_OK "\",'runId':\"" RUN1
                           "\",\"status\":\"RUNNING\",\"status\\u0000x\":\"KILLED\"}",
                           &r),
                     HEXRUN_OK);
    ck_assert_str_eq(r.project_id, P_OK);
    ck_assert_str_eq(r.run_id, RUN1);
    ck_assert_int_eq(r.state, HEXRUN_STATE_KILLED);
    /* Near misses are other keys. */
    ck_assert_int_eq(agree_with(&r, ",\"st\\u00e1tus\":1,\"Status\":2,\"status \":3,"
                                    "\"statusstatusstatusstatus\":4}"),
                     HEXRUN_OK);
    ck_assert_int_eq(r.state, HEXRUN_STATE_RUNNING);
    /* The last of duplicate keys wins, for better or worse. */
    ck_assert_int_eq(agree_with(&r, ",\"status\":\"COMPLETED\"}"), HEXRUN_OK);
    ck_assert_int_eq(r.state, HEXRUN_STATE_COMPLETED);
    ck_assert_int_eq(agree_with(&r, ",\"runId\":7}"), HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'runId' is not a string");
    ck_assert_int_eq(agree_with(&r, ",\"status\":null}"), HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "missing field 'status'");
    ck_assert_int_eq(agree_with(&r, ",'status\":1}"), HEXRUN_E_PROTOCOL); /* unclosed key */
}
END_TEST

START_TEST(skipped_values_are_checked_as_json_c_checks_them)
{
    hexrun__hex_run r;
    /* Accepted by json-c's strict mode, so accepted here. */
    ck_assert_int_eq(agree_with(&r, ",\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"
                                    "\\udc00\\ud800x\\ud800\\n\xc3\xa9\xf0\x9f\x98\x80\x01\t\","
                                    "\"n\":[0,-0,00,-01,1.,1.e5,-.5,0.5e-3,1E+9,NaN,Infinity,"
                                    "-Infinity,true,false,null,{},[],{\"a\":[{}]}]}"),
                     HEXRUN_OK);
    ck_assert_int_eq(agree_with(&r, " , \"a\" : { } , \"b\" :\t[ 1 ,\r\n2 ] }\n "), HEXRUN_OK);
    /* Refused by it, so refused here. */
    static const char *bad[] = {",\"s\":\"\\x\"}",
                                ",\"s\":\"\\u12\"}",
                                ",\"s\":\"\\u12G4\"}",
                                ",\"s\":\"\xff\"}",
                                ",\"s\":\"\xc3\"}",
                                ",\"s\":\"\xe2\x82\"}",
                                ",\"s\":\"\x80\"}",
                                ",\"s\":'x'}",
                                ",\"n\":-}",
                                ",\"n\":01}",
                                ",\"n\":.5}",
                                ",\"n\":1e}",
                                ",\"n\":1.-5}",
                                ",\"n\":-e5}",
                                ",\"n\":+1}",
                                ",\"n\":1.5.5}",
                                ",\"n\":0x10}",
                                ",\"n\":True}",
                                ",\"n\":nul}",
                                ",\"n\":NAN}",
                                ",\"n\":-infinity}",
                                ",\"n\":infinity}",
                                ",\"n\":[1,]}",
                                ",\"n\":[1 2]}",
                                ",}",
                                ",\"n\" 1}",
                                ",\"n\":1,}",
                                ",\"n\":{\"a\"}}",
                                ",\"n\":{1:2}}",
                                ",\"n\":[}",
                                "} x",
                                "}}",
                                "",
                                ",\"n\":1} \x01",
                                ",\"n\":[1]",
                                ",\"n\":\"abc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(agree_with(&r, "%s", bad[i]) == HEXRUN_E_PROTOCOL, "%s", bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "invalid JSON at byte "));
    }
    const char nul[] = "{" HEAD ",\"s\":\"a\0b\"}";
    ck_assert_int_eq(agree_len(nul, sizeof nul - 1, &r), HEXRUN_E_PROTOCOL);
}
END_TEST

START_TEST(nesting_stops_where_json_c_stops)
{
    hexrun__hex_run r;
    /* The document is depth 0; json-c allows values down to depth 31. */
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s%s}", repeat("[", 31), repeat("]", 31)), HEXRUN_OK);
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s%s}", repeat("[", 32), repeat("]", 32)),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(strstr(err, ": ") + 2, "nesting too deep");
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s1%s}", repeat("[", 30), repeat("]", 30)), HEXRUN_OK);
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s1%s}", repeat("[", 31), repeat("]", 31)),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s%s}", repeat("{\"a\":", 30), repeat("}", 30)),
                     HEXRUN_E_PROTOCOL); /* {"a": ... with no value at the bottom */
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s{}%s}", repeat("{\"a\":", 30), repeat("}", 30)),
                     HEXRUN_OK);
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s{}%s}", repeat("{\"a\":", 31), repeat("}", 31)),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(agree_with(&r, ",\"d\":%s%s}", repeat("[", 100000 / 4096), ""),
                     HEXRUN_E_PROTOCOL);
}
END_TEST

START_TEST(huge_values_of_used_fields_give_json_c_answers)
{
    hexrun__hex_run r;
    char zeros[100];
    memset(zeros, '0', sizeof zeros - 1);
    zeros[sizeof zeros - 1] = '\0';
    /* Numbers: saturated integers, leading zeros, doubles longer than what is kept. */
    ck_assert_int_eq(agree_with(&r,
                                ",\"projectVersion\":184467440737095516150000,\"startTime\":"
                                "-%s42,\"endTime\":-99999999999999999999999999,"
                                "\"elapsedTime\":%s1234.5%se0,\"traceId\":1.%s1}",
                                zeros, zeros, zeros, zeros),
                     HEXRUN_OK);
    ck_assert_str_eq(r.project_version, "18446744073709551615");
    ck_assert_str_eq(r.start_time, "-42");
    ck_assert_str_eq(r.end_time, "-9223372036854775808");
    ck_assert_int_eq(r.elapsed_ms, 1235);
    ck_assert_uint_eq(strlen(r.trace_id), sizeof r.trace_id - 1);
    ck_assert_int_eq(agree_with(&r, ",\"elapsedTime\":1e400,\"startTime\":-1e400}"), HEXRUN_OK);
    ck_assert_int_eq(r.elapsed_ms, -1);
    ck_assert_int_eq(agree_with(&r, ",\"elapsedTime\":99999999999999999999999}"), HEXRUN_OK);
    ck_assert_int_eq(r.elapsed_ms, -1);
    ck_assert_int_eq(agree_with(&r, ",\"elapsedTime\":%s7}", zeros), HEXRUN_E_PROTOCOL);
    /* Strings longer than what is kept, escapes and all. */
    ck_assert_int_eq(agree_with(&r,
                                ",\"status\":\"%s\",\"runUrl\":\"https:%s\",\"traceId\":\"%s\"}",
                                repeat("\\u00e9", 700), repeat("\\/", 1100), repeat("x", 3000)),
                     HEXRUN_OK);
    ck_assert_uint_eq(strlen(r.status), 62); /* 31 characters of 2 bytes */
    ck_assert_str_eq(r.run_url, "");
    ck_assert_uint_eq(strlen(r.trace_id), sizeof r.trace_id - 1);
    ck_assert_int_eq(agree_with(&r, ",\"status\":\"%s\\ud83d\\ude00\"}", repeat("\\u0001", 1023)),
                     HEXRUN_OK);
    ck_assert_int_eq(agree_with(&r, ",\"status\":\"%s\\ud800\\n\"}", repeat("\\u0001", 1023)),
                     HEXRUN_OK);
    /* The kept part ends inside escapes or a multi-byte character after plain bytes. */
    ck_assert_int_eq(agree_with(&r, ",\"traceId\":\"%s%s\",\"runUrl\":\"%s\xc3\xa9\xc3\xa9x\"}",
                                repeat("a", 1020), repeat("\\u00e9", 30), repeat("u", 1022)),
                     HEXRUN_OK);
    ck_assert_str_eq(r.run_url, "");
    ck_assert_int_eq(agree_with(&r, ",\"runId\":\"%s\"}", repeat("\\u0061", 2000)),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'runId' is too long or holds a NUL");
    ck_assert_int_eq(agree_with(&r, ",\"runId\":\"%s\\x\"}", repeat("a", 2000)),
                     HEXRUN_E_PROTOCOL); /* the end of a long value is checked too */
    ck_assert_int_eq(agree_with(&r, ",\"runId\":[%s]}", repeat("{\"a\":[1,2]},", 500)),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(agree_with(&r, ",\"runId\":[%s{}]}", repeat("{\"a\":[1,2]},", 500)),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'runId' is not a string");
}
END_TEST

START_TEST(documents_that_are_not_objects_are_named)
{
    hexrun__hex_run r;
    static const struct {
        const char *body, *type;
    } docs[] = {{"[1]", "array"},  {" \"s\" ", "string"},
                {"1.5", "double"}, {"-Infinity", "double"},
                {"NaN", "double"}, {"12", "int"},
                {"-12", "int"},    {"18446744073709551615", "int"},
                {"null", "null"},  {"true", "boolean"}};
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        ck_assert_int_eq(agree(docs[i].body, &r), HEXRUN_E_PROTOCOL);
        ck_assert_str_eq(strstr(err, "got ") + 4, docs[i].type);
    }
    static const char *bad[] = {" ", "1 2", "1x", "-", "01", "{", "\"s", "[1,]", "nulls"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(agree(bad[i], &r), HEXRUN_E_PROTOCOL);
        ck_assert_ptr_nonnull(strstr(err, "invalid JSON at byte "));
    }
}
END_TEST

/* ----- GetProjectRuns pages ----- */

#define RUN_JSON(id, st) "{\"projectId\":\"" P_OK "\",\"runId\":\"" id "\",\"status\":\"" st "\"}"

START_TEST(runs_page_gives_runs_and_next_offset)
{
    const char *body = "{\"runs\":[" RUN_JSON(RUN1, "RUNNING") "," RUN_JSON(
        RUN2, "KILLED") "],\"nextPage\":\"https://elsewhere.example/api/v1/projects/" P_OK
                        "/runs?limit=2&offset=52\",\"previousPage\":null,\"traceId\":\"t\"}";
    hexrun__hex_run *runs = NULL;
    size_t n = 0;
    hexrun__hex_next_page next;
    ck_assert_int_eq(hexrun__hex_parse_runs_page(body, strlen(body), SIZE_MAX, &runs, &n, &next,
                                                 err, sizeof err),
                     HEXRUN_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(runs[0].run_id, RUN1);
    ck_assert_int_eq(runs[0].state, HEXRUN_STATE_RUNNING);
    ck_assert_int_eq(runs[1].state, HEXRUN_STATE_KILLED);
    ck_assert_int_eq(next.present, 1);
    ck_assert_int_eq(next.offset, 52);
    ck_assert_str_eq(next.query, "limit=2&offset=52");
    free(runs);
    ck_assert_int_eq(hexrun__hex_runs_next(body, strlen(body), &next, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(next.offset, 52);
    ck_assert_uint_eq(next.runs, 2);
}
END_TEST

START_TEST(last_runs_page_has_no_next_offset)
{
    const char *body = "{\"runs\":[],\"nextPage\":null,\"previousPage\":null,\"traceId\":\"t\"}";
    hexrun__hex_run *runs = (hexrun__hex_run *)1;
    size_t n = 9;
    hexrun__hex_next_page next = {.present = 1};
    ck_assert_int_eq(hexrun__hex_parse_runs_page(body, strlen(body), SIZE_MAX, &runs, &n, &next,
                                                 err, sizeof err),
                     HEXRUN_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(runs);
    ck_assert_int_eq(next.present, 0);
    ck_assert_int_eq(next.offset, -1);
}
END_TEST

START_TEST(bad_runs_pages_are_refused)
{
    hexrun__hex_run *runs = NULL;
    size_t n = 0;
    hexrun__hex_next_page next;
    const char *no_runs = "{\"nextPage\":null}";
    ck_assert_int_eq(hexrun__hex_parse_runs_page(no_runs, strlen(no_runs), SIZE_MAX, &runs, &n,
                                                 &next, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'runs' is missing or not an array");
    const char *bad_item = "{\"runs\":[" RUN_JSON(RUN1, "RUNNING") ",{\"runId\":\"x\"}],"
                                                                   "\"nextPage\":null}";
    ck_assert_int_eq(hexrun__hex_parse_runs_page(bad_item, strlen(bad_item), SIZE_MAX, &runs, &n,
                                                 &next, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "runs[1]: field 'runId' is not a UUID: 'x'");
    ck_assert_ptr_null(runs);
    const char *bad_next = "{\"runs\":[],\"nextPage\":5}";
    ck_assert_int_eq(hexrun__hex_parse_runs_page(bad_next, strlen(bad_next), SIZE_MAX, &runs, &n,
                                                 &next, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'nextPage' is not a string or null");
}
END_TEST

/* Both page readers on body, asked for at most max_runs: the same runs, nextPage and
 * error. Returns the code. */
static int page_agrees_within(const char *body, size_t max_runs, hexrun__hex_next_page *next,
                              size_t *n)
{
    char whole_err[512] = "";
    hexrun__hex_run *runs = NULL, *whole = NULL;
    size_t whole_n = 0;
    hexrun__hex_next_page whole_next;
    memset(next, 0, sizeof *next);
    memset(&whole_next, 0, sizeof whole_next);
    int rc =
        hexrun__hex_parse_runs_page(body, strlen(body), max_runs, &runs, n, next, err, sizeof err);
    int whole_rc = hexrun__hex_parse_runs_page_whole(body, strlen(body), max_runs, &whole, &whole_n,
                                                     &whole_next, whole_err, sizeof whole_err);
    ck_assert_msg(rc == whole_rc, "%.80s: in place %d (%s), whole %d (%s)", body, rc, err, whole_rc,
                  whole_err);
    ck_assert_uint_eq(*n, whole_n);
    ck_assert(*n == 0 || memcmp(runs, whole, *n * sizeof *runs) == 0);
    ck_assert(memcmp(next, &whole_next, sizeof *next) == 0);
    if (rc != HEXRUN_OK &&
        (strncmp(err, "invalid JSON", 12) || strncmp(whole_err, "invalid JSON", 12)))
        ck_assert_str_eq(err, whole_err);
    free(runs);
    free(whole);
    hexrun__hex_next_page direct, whole_direct;
    char direct_err[512]; /* err keeps the page's error for the caller */
    ck_assert_int_eq(
        hexrun__hex_runs_next(body, strlen(body), &direct, direct_err, sizeof direct_err),
        hexrun__hex_runs_next_whole(body, strlen(body), &whole_direct, whole_err,
                                    sizeof whole_err));
    ck_assert(memcmp(&direct, &whole_direct, sizeof direct) == 0);
    return rc;
}

static int page_agrees(const char *body, hexrun__hex_next_page *next, size_t *n)
{
    return page_agrees_within(body, SIZE_MAX, next, n);
}

/* A page of count runs with only their required fields (malloc'd). */
static char *tiny_runs_page(size_t count)
{
    static const char item[] = RUN_JSON(RUN1, "RUNNING");
    size_t len = strlen("{\"runs\":[]}") + count * sizeof item + 1;
    char *body = malloc(len), *p = body;
    ck_assert_ptr_nonnull(body);
    p += sprintf(p, "{\"runs\":[");
    for (size_t i = 0; i < count; i++)
        p += sprintf(p, "%s%s", i ? "," : "", item);
    strcpy(p, "]}");
    return body;
}

/* A page of more runs than it was asked for is refused before a run of it is parsed (a
 * parsed run costs 13 times the JSON of a small one): the in-place reader and json-c's
 * agree, whatever the items hold. */
START_TEST(a_page_of_more_runs_than_asked_for_is_refused)
{
    hexrun__hex_next_page next;
    size_t n = 9;
    char *packed = tiny_runs_page(5000);
    ck_assert_int_eq(page_agrees_within(packed, 100, &next, &n), HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "GetProjectRuns: the page holds 5000 runs, more than the 100 asked for");
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(page_agrees_within(packed, 5000, &next, &n), HEXRUN_OK);
    ck_assert_uint_eq(n, 5000);
    free(packed);
    /* The count is checked before the items and nextPage: nothing of the page is kept. */
    ck_assert_int_eq(page_agrees_within("{\"runs\":[1,2,3],\"nextPage\":5}", 2, &next, &n),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "GetProjectRuns: the page holds 3 runs, more than the 2 asked for");
    ck_assert_int_eq(page_agrees_within("{\"runs\":[" RUN_JSON(RUN1, "RUNNING") "]}", 0, &next, &n),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(page_agrees_within("{\"runs\":[]}", 0, &next, &n), HEXRUN_OK);
    /* Exactly the limit passes; nested arrays are not counted. */
    ck_assert_int_eq(page_agrees_within("{\"runs\":[" RUN_JSON(RUN1, "RUNNING") "," RUN_JSON(
                                            RUN2, "KILLED") "],\"padding\":[[1,2,3]]}",
                                        2, &next, &n),
                     HEXRUN_OK);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(pages_are_read_in_place_as_json_c_reads_them)
{
    hexrun__hex_next_page next;
    size_t n = 0;
    char body[8192];
    /* The last "runs" wins; nextPage's query is read through escapes, up to '#'. */
    ck_assert_int_eq(page_agrees("{\"runs\":7,\"nextPage\":\"h\\u003fq=1\\u0026offset=7#f\","
                                 "\"runs\":[" RUN_JSON(RUN1, "RUNNING") "," RUN_JSON(
                                     RUN2, "KILLED") "],\"padding\":[\""
                                                     "\\u00e9\",{\"runs\":[]}]}",
                                 &next, &n),
                     HEXRUN_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(next.query, "q=1&offset=7");
    ck_assert_int_eq(next.offset, 7);
    /* A query after a NUL is not read; a query too long is dropped; a '?' anywhere counts. */
    ck_assert_int_eq(page_agrees("{\"runs\":[],\"nextPage\":\"x\\u0000?offset=5\"}", &next, &n),
                     HEXRUN_OK);
    ck_assert_int_eq(next.offset, -1);
    snprintf(body, sizeof body, "{\"runs\":[],\"nextPage\":\"%s?a=%s\"}", repeat("\\/", 1500),
             repeat("b", 1020));
    ck_assert_int_eq(page_agrees(body, &next, &n), HEXRUN_OK);
    ck_assert_str_eq(next.query + 1021, "b"); /* "a=" and 1020 of them */
    snprintf(body, sizeof body, "{\"runs\":[],\"nextPage\":\"?a=%s\"}", repeat("b", 1022));
    ck_assert_int_eq(page_agrees(body, &next, &n), HEXRUN_OK);
    ck_assert_str_eq(next.query, "");
    ck_assert_int_eq(next.present, 1);
    /* Bad items, bad pages. */
    ck_assert_int_eq(page_agrees("{\"runs\":[" RUN_JSON(RUN1, "RUNNING") ",null]}", &next, &n),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "runs[1]: a run is not a JSON object");
    ck_assert_int_eq(page_agrees("{\"runs\":[{\"runId\":\"" RUN1 "\"}]}", &next, &n),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(page_agrees("{\"runs\":null}", &next, &n), HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(page_agrees("{\"runs\":[],\"nextPage\":[\"?offset=1\"]}", &next, &n),
                     HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(page_agrees("{\"runs\":[],\"nextPage\":null,}", &next, &n), HEXRUN_E_PROTOCOL);
    ck_assert_int_eq(page_agrees("{\"runs\":[1,]}", &next, &n), HEXRUN_E_PROTOCOL);
}
END_TEST

START_TEST(next_page_without_offset_is_not_an_error)
{
    /* Issue 12 point 4: nextPage's format is not in the spec. */
    hexrun__hex_run *runs = NULL;
    size_t n = 0;
    hexrun__hex_next_page next;
    const char *opaque = "{\"runs\":[" RUN_JSON(
        RUN1, "RUNNING") "],\"nextPage\":"
                         "\"https://x/api/v1/projects/p/runs?cursor=Zm9v&limit=5#frag\"}";
    ck_assert_msg(hexrun__hex_parse_runs_page(opaque, strlen(opaque), SIZE_MAX, &runs, &n, &next,
                                              err, sizeof err) == HEXRUN_OK,
                  "%s", err);
    ck_assert_uint_eq(n, 1);
    free(runs);
    ck_assert_int_eq(next.present, 1);
    ck_assert_int_eq(next.offset, -1);
    ck_assert_str_eq(next.query, "cursor=Zm9v&limit=5");
    const char *bare = "{\"runs\":[],\"nextPage\":\"next-please\"}";
    ck_assert_int_eq(hexrun__hex_runs_next(bare, strlen(bare), &next, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(next.present, 1);
    ck_assert_str_eq(next.query, "");
    /* Where no next page is read, nextPage is not even looked at. */
    const char *odd = "{\"runs\":[" RUN_JSON(RUN1, "RUNNING") "],\"nextPage\":{\"a\":1}}";
    ck_assert_int_eq(
        hexrun__hex_parse_runs_page(odd, strlen(odd), SIZE_MAX, &runs, &n, NULL, err, sizeof err),
        HEXRUN_OK);
    ck_assert_uint_eq(n, 1);
    free(runs);
}
END_TEST

/* ----- error bodies ----- */

static int parse_error(const char *body, hexrun__hex_error *e)
{
    return hexrun__hex_parse_error(body, strlen(body), e);
}

START_TEST(reason_family_with_details_and_trace)
{
    hexrun__hex_error e;
    ck_assert_int_eq(parse_error("{\"reason\":\"Project is not published\",\"details\":"
                                 "\"publish it first\",\"traceId\":\"abc-123\"}",
                                 &e),
                     1);
    ck_assert_str_eq(e.message, "Project is not published; publish it first");
    ck_assert_str_eq(e.trace_id, "abc-123");
    ck_assert_str_eq(e.code, "");
}
END_TEST

START_TEST(message_family_with_issues)
{
    hexrun__hex_error e;
    ck_assert_int_eq(parse_error("{\"code\":\"BAD_REQUEST\",\"message\":\"Invalid input data\","
                                 "\"issues\":[{\"message\":\"limit too big\"},{\"message\":"
                                 "\"bad sortBy\"}]}",
                                 &e),
                     1);
    ck_assert_str_eq(e.message, "Invalid input data; limit too big; bad sortBy");
    ck_assert_str_eq(e.code, "BAD_REQUEST");
    ck_assert_str_eq(e.trace_id, "");
}
END_TEST

START_TEST(invalid_param_payload_names_parameters)
{
    hexrun__hex_error e;
    ck_assert_int_eq(parse_error("{\"traceId\":\"t9\",\"invalid\":[{\"paramName\":\"days\","
                                 "\"dataType\":\"number\",\"inputCellType\":\"slider\","
                                 "\"paramValue\":\"\\\"ten\\\"\"}],\"notFound\":[\"colour\"]}",
                                 &e),
                     1);
    ck_assert_str_eq(e.message, "invalid input parameter 'days' (expected number, got \"ten\"); "
                                "unknown input parameter 'colour'");
    ck_assert_str_eq(e.trace_id, "t9");
}
END_TEST

START_TEST(control_characters_in_parameter_names_are_flattened)
{
    hexrun__hex_error e;
    ck_assert_int_eq(parse_error("{\"invalid\":[{\"paramName\":\"a\\nb\",\"dataType\":"
                                 "\"num\\u0003r\",\"paramValue\":\"1\"}]}",
                                 &e),
                     1);
    ck_assert_str_eq(e.message, "invalid input parameter 'a b' (expected num r, got 1)");
}
END_TEST

START_TEST(non_json_error_body_gives_a_printable_excerpt)
{
    hexrun__hex_error e;
    ck_assert_int_eq(parse_error("<html>\n<b>502 Bad Gateway</b></html>", &e), 0);
    ck_assert_str_eq(e.message, "<html> <b>502 Bad Gateway</b></html>");
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(parse_error(big, &e), 0);
    ck_assert_uint_eq(strlen(e.message), 203);
    ck_assert_int_eq(parse_error("{\"unrelated\":true}", &e), 0);
    ck_assert_int_eq(hexrun__hex_parse_error("", 0, &e), 0);
    ck_assert_str_eq(e.message, "");
    ck_assert_int_eq(hexrun__hex_parse_error(NULL, 0, &e), 0);
}
END_TEST

/* ----- cursor lists and merged pages ----- */

START_TEST(cursor_after_reads_pagination)
{
    char *after = NULL;
    const char *mid = "{\"values\":[],\"pagination\":{\"after\":\"c2\",\"before\":null}}";
    ck_assert_int_eq(hexrun__hex_cursor_after(mid, strlen(mid), &after, err, sizeof err),
                     HEXRUN_OK);
    ck_assert_str_eq(after, "c2");
    free(after);
    const char *last = "{\"values\":[],\"pagination\":{\"after\":null,\"before\":\"c1\"}}";
    ck_assert_int_eq(hexrun__hex_cursor_after(last, strlen(last), &after, err, sizeof err),
                     HEXRUN_OK);
    ck_assert_ptr_null(after);
    const char *bad = "{\"values\":[]}";
    ck_assert_int_eq(hexrun__hex_cursor_after(bad, strlen(bad), &after, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'pagination' is missing or not an object");
    const char *badtype = "{\"pagination\":{\"after\":5}}";
    ck_assert_int_eq(hexrun__hex_cursor_after(badtype, strlen(badtype), &after, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
}
END_TEST

START_TEST(pages_merge_values_into_one_page)
{
    hexrun__hex_pages *p = hexrun__hex_pages_new("values");
    const char *p1 = "{\"values\":[{\"id\":1},{\"id\":2}],\"pagination\":{\"after\":\"c\","
                     "\"before\":null}}";
    const char *p2 = "{\"values\":[{\"id\":3}],\"pagination\":{\"after\":null,\"before\":\"c\"}}";
    ck_assert_int_eq(hexrun__hex_pages_add(p, p1, strlen(p1), err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_pages_add(p, p2, strlen(p2), err, sizeof err), HEXRUN_OK);
    char *doc = hexrun__hex_pages_render(p);
    ck_assert_str_eq(doc, "{\"values\":[{\"id\":1},{\"id\":2},{\"id\":3}],\"pagination\":"
                          "{\"after\":null,\"before\":null}}");
    free(doc);
    hexrun__hex_pages_free(p);
}
END_TEST

START_TEST(pages_merge_runs_and_clear_links)
{
    hexrun__hex_pages *p = hexrun__hex_pages_new("runs");
    const char *p1 = "{\"runs\":[{\"runId\":\"a\"}],\"nextPage\":\"https://x/?offset=1\","
                     "\"previousPage\":null,\"traceId\":\"t1\"}";
    const char *p2 = "{\"runs\":[{\"runId\":\"b\"}],\"nextPage\":null,\"previousPage\":"
                     "\"https://x/?offset=0\",\"traceId\":\"t2\"}";
    ck_assert_int_eq(hexrun__hex_pages_add(p, p1, strlen(p1), err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_pages_add(p, p2, strlen(p2), err, sizeof err), HEXRUN_OK);
    char *doc = hexrun__hex_pages_render(p);
    ck_assert_str_eq(doc, "{\"runs\":[{\"runId\":\"a\"},{\"runId\":\"b\"}],\"nextPage\":null,"
                          "\"previousPage\":null,\"traceId\":\"t1\"}");
    free(doc);
    hexrun__hex_pages_free(p);
}
END_TEST

START_TEST(pages_refuse_bad_pages_and_render_nothing_when_empty)
{
    hexrun__hex_pages *p = hexrun__hex_pages_new("values");
    ck_assert_ptr_null(hexrun__hex_pages_render(p));
    ck_assert_int_eq(hexrun__hex_pages_add(p, "{\"values\":{}}", 13, err, sizeof err),
                     HEXRUN_E_PROTOCOL);
    ck_assert_str_eq(err, "field 'values' is missing or not an array");
    ck_assert_int_eq(hexrun__hex_pages_add(p, "nope", 4, err, sizeof err), HEXRUN_E_PROTOCOL);
    hexrun__hex_pages_free(p);
    hexrun__hex_pages_free(NULL);
    ck_assert_ptr_null(hexrun__hex_pages_new("a_key_that_is_far_too_long"));
}
END_TEST

/* ----- RunProject options ----- */

static int options(const char *json, char **body, int *dry)
{
    err[0] = '\0';
    return hexrun__hex_run_options(json, body, dry, err, sizeof err);
}

START_TEST(no_options_give_an_empty_body)
{
    char *body = NULL;
    int dry = -1;
    ck_assert_int_eq(options(NULL, &body, &dry), HEXRUN_OK);
    ck_assert_str_eq(body, "{}");
    ck_assert_int_eq(dry, 0);
    free(body);
}
END_TEST

START_TEST(full_valid_options_pass_through)
{
    char *body = NULL;
    int dry = 0;
    const char *in = "{\"inputParams\":{\"region\":\"eu/west\",\"days\":3,\"full\":true},"
                     "\"dryRun\":true,\"useCachedSqlResults\":false,\"updateCache\":false,"
                     "\"updatePublishedResults\":false,\"notifications\":[{\"type\":\"FAILURE\","
                     "\"includeSuccessScreenshot\":false,\"screenshotFormat\":\"pdf\","
                     "\"slackChannelIds\":[\"C1\"],\"userIds\":[],\"groupIds\":[\"g\"],"
                     "\"subject\":\"s\",\"body\":\"b\"}]}";
    ck_assert_int_eq(options(in, &body, &dry), HEXRUN_OK);
    ck_assert_int_eq(dry, 1);
    ck_assert_str_eq(body, in);
    free(body);
}
END_TEST

START_TEST(unknown_option_names_the_key_and_the_allowed_ones)
{
    char *body = NULL;
    int dry = 0;
    ck_assert_int_eq(options("{\"dryrun\":true}", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_null(body);
    ck_assert_str_eq(err, "options: unknown key 'dryrun' (allowed: inputParams, dryRun, "
                          "updatePublishedResults, useCachedSqlResults, updateCache, viewId, "
                          "notifications)");
}
END_TEST

START_TEST(wrong_option_types_are_named)
{
    char *body = NULL;
    int dry = 0;
    ck_assert_int_eq(options("{\"dryRun\":\"yes\"}", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options: 'dryRun' must be a boolean");
    ck_assert_int_eq(options("{\"inputParams\":[1]}", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options: 'inputParams' must be an object");
    ck_assert_int_eq(options("{\"viewId\":5}", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options: 'viewId' must be a string");
    ck_assert_int_eq(options("[]", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options: expected a JSON object, got array");
    ck_assert_int_eq(options("{\"dryRun\":tru", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "options: invalid JSON"));
    ck_assert_int_eq(options("", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_null(body);
}
END_TEST

START_TEST(notification_shape_is_checked)
{
    char *body = NULL;
    int dry = 0;
    ck_assert_int_eq(options("{\"notifications\":{}}", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options.notifications: must be an array of notification objects");
    ck_assert_int_eq(options("{\"notifications\":[{\"type\":\"SOMETIMES\","
                             "\"includeSuccessScreenshot\":true}]}",
                             &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options.notifications[0]: 'type' must be one of \"SUCCESS\", "
                          "\"FAILURE\", \"ALL\"");
    ck_assert_int_eq(options("{\"notifications\":[{\"type\":\"ALL\"}]}", &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options.notifications[0]: 'type' and 'includeSuccessScreenshot' are "
                          "required");
    ck_assert_int_eq(options("{\"notifications\":[{\"type\":\"ALL\",\"includeSuccessScreenshot\":"
                             "true,\"userIds\":[1]}]}",
                             &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options.notifications[0]: 'userIds' must be an array of strings");
    ck_assert_int_eq(options("{\"notifications\":[{\"type\":\"ALL\",\"includeSuccessScreenshot\":"
                             "true,\"screenshotFormat\":\"gif\"}]}",
                             &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(options("{\"notifications\":[{\"type\":\"ALL\",\"includeSuccessScreenshot\":"
                             "true,\"cc\":\"x\"}]}",
                             &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "options.notifications[0]: unknown key 'cc'"));
    ck_assert_int_eq(options("{\"notifications\":[7]}", &body, &dry), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options.notifications[0]: must be an object");
    ck_assert_ptr_null(body);
}
END_TEST

START_TEST(forbidden_combinations_with_input_params)
{
    char *body = NULL;
    int dry = 0;
    ck_assert_int_eq(options("{\"inputParams\":{},\"viewId\":\"v\"}", &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "options: 'viewId' cannot be combined with 'inputParams'");
    ck_assert_int_eq(options("{\"inputParams\":{},\"updatePublishedResults\":true}", &body, &dry),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "'updatePublishedResults' cannot be true"));
    ck_assert_int_eq(options("{\"viewId\":\"v\",\"updatePublishedResults\":true}", &body, &dry),
                     HEXRUN_OK);
    free(body);
}
END_TEST

/* ----- validation helpers ----- */

START_TEST(validate_json_checks_documents)
{
    ck_assert_int_eq(hexrun__hex_validate_json("{\"name\":\"g\"}", 1, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_validate_json("[1]", 0, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_validate_json("null", 0, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_validate_json("42", 0, err, sizeof err), HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_validate_json("[1]", 1, err, sizeof err), HEXRUN_E_INVALID_ARG);
    ck_assert_str_eq(err, "expected a JSON object, got array");
    ck_assert_int_eq(hexrun__hex_validate_json("{\"a\":\"\xff\xfe\"}", 1, err, sizeof err),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__hex_validate_json("{\"a\":\"caf\xc3\xa9\"}", 1, err, sizeof err),
                     HEXRUN_OK);
    ck_assert_int_eq(hexrun__hex_validate_json("{} {}", 0, err, sizeof err), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__hex_validate_json("", 0, err, sizeof err), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__hex_validate_json(NULL, 0, err, sizeof err), HEXRUN_E_INVALID_ARG);
}
END_TEST

START_TEST(uuid_shape_is_checked)
{
    ck_assert_int_eq(hexrun__hex_is_uuid(P_OK), 1);
    ck_assert_int_eq(hexrun__hex_is_uuid("ABCDEF01-2345-6789-abcd-ef0123456789"), 1);
    ck_assert_int_eq(hexrun__hex_is_uuid("11111111-1111-4111-8111-11111111111"), 0);
    ck_assert_int_eq(hexrun__hex_is_uuid("11111111-1111-4111-8111-1111111111111"), 0);
    ck_assert_int_eq(hexrun__hex_is_uuid("11111111x1111-4111-8111-111111111111"), 0);
    ck_assert_int_eq(hexrun__hex_is_uuid("g1111111-1111-4111-8111-111111111111"), 0);
    ck_assert_int_eq(hexrun__hex_is_uuid("../../../../../../../../../../../../"), 0);
    ck_assert_int_eq(hexrun__hex_is_uuid(""), 0);
    ck_assert_int_eq(hexrun__hex_is_uuid(NULL), 0);
}
END_TEST

/* Hex's path template ("/v1/groups/{groupId}") as the catalogue writes it ("%s"). */
static void template_to_format(const char *t, char *out, size_t len)
{
    size_t n = 0;
    for (; *t && n + 3 < len; t++) {
        if (*t == '{') {
            out[n++] = '%';
            out[n++] = 's';
            while (*t && *t != '}')
                t++;
        } else {
            out[n++] = *t;
        }
    }
    out[n] = '\0';
}

/* The catalogue against Hex's own description (docs/hex-api/openapi.json): each entry's
 * operation id is there, with this method and path. */
START_TEST(endpoint_catalogue_matches_hex_openapi)
{
    json_object *spec = json_object_from_file("docs/hex-api/openapi.json"), *paths;
    ck_assert_msg(spec, "docs/hex-api/openapi.json does not parse");
    ck_assert(json_object_object_get_ex(spec, "paths", &paths));
    int runs = 0;
    for (int i = 0; i < HEXRUN__EP_COUNT; i++) {
        const hexrun__hex_endpoint *ep = hexrun__hex_endpoint_of((hexrun__hex_op)i);
        ck_assert_msg(ep->operation && ep->method && ep->path, "entry %d is empty", i);
        int found = 0;
        json_object_object_foreach(paths, tmpl, methods)
        {
            json_object_object_foreach(methods, method, operation)
            {
                json_object *id;
                if (!json_object_object_get_ex(operation, "operationId", &id) ||
                    strcmp(json_object_get_string(id), ep->operation) != 0)
                    continue;
                char want[256];
                template_to_format(tmpl, want, sizeof want);
                ck_assert_msg(strcasecmp(method, ep->method) == 0, "%s: %s in the spec, %s here",
                              ep->operation, method, ep->method);
                ck_assert_msg(strcmp(want, ep->path) == 0, "%s: %s in the spec, %s here",
                              ep->operation, want, ep->path);
                found = 1;
            }
        }
        ck_assert_msg(found, "%s is not in Hex's openapi.json", ep->operation);
        runs += ep->group == HEXRUN__BUDGET_RUN;
    }
    ck_assert_int_eq(runs, 1); /* only RunProject is paid from the run budget */
    ck_assert_int_eq(hexrun__hex_endpoint_of(HEXRUN__EP_RUN_PROJECT)->group, HEXRUN__BUDGET_RUN);
    json_object_put(spec);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hex");
    TCase *runs = tcase_create("runs");
    tcase_add_test(runs, run_status_maps_every_field);
    tcase_add_test(runs, nulls_and_string_project_version_are_accepted);
    tcase_add_test(runs, unknown_status_is_unknown_not_success);
    tcase_add_test(runs, every_hex_status_has_its_state);
    tcase_add_test(runs, bad_run_bodies_name_the_problem);
    tcase_add_test(runs, odd_optional_fields_are_tolerated);
    tcase_add_test(runs, overlong_ids_are_refused_not_truncated);
    tcase_add_test(runs, body_length_is_respected_and_nul_refused);
    tcase_add_test(runs, run_created_needs_no_status);
    tcase_add_test(runs, keys_are_read_as_json_c_reads_them);
    tcase_add_test(runs, skipped_values_are_checked_as_json_c_checks_them);
    tcase_add_test(runs, nesting_stops_where_json_c_stops);
    tcase_add_test(runs, huge_values_of_used_fields_give_json_c_answers);
    tcase_add_test(runs, documents_that_are_not_objects_are_named);
    tcase_add_test(runs, runs_page_gives_runs_and_next_offset);
    tcase_add_test(runs, last_runs_page_has_no_next_offset);
    tcase_add_test(runs, bad_runs_pages_are_refused);
    tcase_add_test(runs, pages_are_read_in_place_as_json_c_reads_them);
    tcase_add_test(runs, a_page_of_more_runs_than_asked_for_is_refused);
    suite_add_tcase(s, runs);
    TCase *errors = tcase_create("errors");
    tcase_add_test(errors, reason_family_with_details_and_trace);
    tcase_add_test(errors, message_family_with_issues);
    tcase_add_test(errors, invalid_param_payload_names_parameters);
    tcase_add_test(errors, control_characters_in_parameter_names_are_flattened);
    tcase_add_test(errors, non_json_error_body_gives_a_printable_excerpt);
    suite_add_tcase(s, errors);
    TCase *pages = tcase_create("pages");
    tcase_add_test(pages, cursor_after_reads_pagination);
    tcase_add_test(pages, next_page_without_offset_is_not_an_error);
    tcase_add_test(pages, pages_merge_values_into_one_page);
    tcase_add_test(pages, pages_merge_runs_and_clear_links);
    tcase_add_test(pages, pages_refuse_bad_pages_and_render_nothing_when_empty);
    suite_add_tcase(s, pages);
    TCase *opts = tcase_create("run_options");
    tcase_add_test(opts, no_options_give_an_empty_body);
    tcase_add_test(opts, full_valid_options_pass_through);
    tcase_add_test(opts, unknown_option_names_the_key_and_the_allowed_ones);
    tcase_add_test(opts, wrong_option_types_are_named);
    tcase_add_test(opts, notification_shape_is_checked);
    tcase_add_test(opts, forbidden_combinations_with_input_params);
    tcase_add_test(opts, validate_json_checks_documents);
    tcase_add_test(opts, uuid_shape_is_checked);
    tcase_add_test(opts, endpoint_catalogue_matches_hex_openapi);
    suite_add_tcase(s, opts);
    return ck_run(s);
}
