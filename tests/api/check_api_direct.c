/* API suite: the direct calls (runs pagination, projects, users, groups, data connections,
 * collections, hexrun_request) and how Hex's errors reach the host. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_common.h"

static hexrun_client *c;

/* Takes &out: the call that fills it is an argument too, evaluated in no fixed order. */
static json_object *ok_json(int rc, char **out)
{
    ck_assert_msg(rc == HEXRUN_OK, "rc=%d %s", rc, hexrun_last_error());
    json_object *o = api_json(*out);
    hexrun_free(*out);
    *out = NULL;
    return o;
}

static size_t array_len(json_object *o, const char *key)
{
    json_object *a = api_get(o, key);
    ck_assert_msg(a && json_object_is_type(a, json_type_array), "no array '%s'", key);
    return json_object_array_length(a);
}

static void assert_invalid(int rc, const char *fn, const char *what)
{
    ck_assert_msg(rc == HEXRUN_E_INVALID_ARG, "%s: rc=%d", fn, rc);
    ck_assert_msg(strstr(hexrun_last_error(), fn) && strstr(hexrun_last_error(), what),
                  "%s: '%s' does not name %s", fn, hexrun_last_error(), what);
}

/* Every per-resource direct call checks its arguments the same way, before any request:
 * a NULL id is named as NULL, a GET needs out, create and edit need a JSON object. */
START_TEST(direct_calls_check_arguments_alike)
{
    char *out = NULL;
    assert_invalid(hexrun_project_get(c, NULL, &out), "hexrun_project_get", "project_id is NULL");
    assert_invalid(hexrun_user_deactivate(c, NULL, &out), "hexrun_user_deactivate",
                   "user_id is NULL");
    assert_invalid(hexrun_group_get(c, NULL, &out), "hexrun_group_get", "group_id is NULL");
    assert_invalid(hexrun_group_edit(c, NULL, "{}", &out), "hexrun_group_edit", "group_id is NULL");
    assert_invalid(hexrun_group_delete(c, NULL), "hexrun_group_delete", "group_id is NULL");
    assert_invalid(hexrun_connection_get(c, NULL, &out), "hexrun_connection_get",
                   "connection_id is NULL");
    assert_invalid(hexrun_connection_edit(c, NULL, "{}", &out), "hexrun_connection_edit",
                   "connection_id is NULL");
    assert_invalid(hexrun_collection_get(c, NULL, &out), "hexrun_collection_get",
                   "collection_id is NULL");
    assert_invalid(hexrun_group_get(c, "", &out), "hexrun_group_get", "must be 1 to");
    assert_invalid(hexrun_project_get(c, P_OK, NULL), "hexrun_project_get", "out is NULL");
    assert_invalid(hexrun_user_me(c, NULL), "hexrun_user_me", "out is NULL");
    assert_invalid(hexrun_collection_get(c, "x", NULL), "hexrun_collection_get", "out is NULL");
    assert_invalid(hexrun_groups_list(c, NULL, 0, NULL), "hexrun_groups_list", "out is NULL");
    assert_invalid(hexrun_group_create(c, NULL, &out), "hexrun_group_create", "body_json");
    assert_invalid(hexrun_group_edit(c, "g", "[]", &out), "hexrun_group_edit", "body_json");
    assert_invalid(hexrun_connection_create(c, "{", &out), "hexrun_connection_create", "body_json");
    assert_invalid(hexrun_connection_edit(c, "d", NULL, &out), "hexrun_connection_edit",
                   "body_json");
    ck_assert_ptr_null(out);
    ck_assert_int_eq(api_requests("GetGroup", "200") + api_requests("EditGroup", "200"), 0);
}
END_TEST

START_TEST(runs_one_page_and_all_pages)
{
    json_object_put(
        api_sim_call("POST", "/__sim/runs", "{\"projectId\":\"" P_OK "\",\"count\":7}"));
    char *out = NULL;
    json_object *page =
        ok_json(hexrun_runs_list(c, P_OK, NULL, "ALL", 3, 0, HEXRUN_LIST_ONE_PAGE, &out), &out);
    ck_assert_uint_eq(array_len(page, "runs"), 3);
    ck_assert_ptr_nonnull(api_str(page, "nextPage"));
    json_object_put(page);
    json_object *all =
        ok_json(hexrun_runs_list(c, P_OK, NULL, NULL, 3, 0, HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_uint_eq(array_len(all, "runs"), 7);
    ck_assert_ptr_null(api_str(all, "nextPage"));
    json_object_put(all);
    ck_assert_int_eq(api_requests("GetProjectRuns", "200"), 4);
    json_object *rest =
        ok_json(hexrun_runs_list(c, P_OK, NULL, NULL, 3, 5, HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_uint_eq(array_len(rest, "runs"), 2);
    json_object_put(rest);
}
END_TEST

START_TEST(runs_filters_are_checked_and_applied)
{
    char *out = NULL;
    ck_assert_int_eq(hexrun_runs_list(c, P_OK, "DONE", NULL, 0, 0, 0, &out), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "status 'DONE'"));
    ck_assert_int_eq(hexrun_runs_list(c, P_OK, NULL, "CRON", 0, 0, 0, &out), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_runs_list(c, P_OK, NULL, NULL, 101, 0, 0, &out), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_runs_list(c, "x", NULL, NULL, 0, 0, 0, &out), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_null(out);
    int64_t job = -1;
    int32_t state;
    ck_assert_int_eq(hexrun_submit(c, P_ERR, NULL, NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(c, job, 20000, &state), HEXRUN_OK);
    json_object *errored = ok_json(
        hexrun_runs_list(c, P_ERR, "ERRORED", "API", 0, 0, HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_uint_eq(array_len(errored, "runs"), 1);
    json_object_put(errored);
    json_object *running =
        ok_json(hexrun_runs_list(c, P_ERR, "RUNNING", NULL, 0, 0, 0, &out), &out);
    ck_assert_uint_eq(array_len(running, "runs"), 0);
    json_object_put(running);
}
END_TEST

START_TEST(run_get_returns_hex_json)
{
    json_object *made =
        api_sim_call("POST", "/__sim/runs", "{\"projectId\":\"" P_OK "\",\"count\":1}");
    const char *run_id =
        json_object_get_string(json_object_array_get_idx(api_get(made, "runIds"), 0));
    char *out = NULL;
    json_object *run = ok_json(hexrun_run_get(c, P_OK, run_id, &out), &out);
    ck_assert_str_eq(api_str(run, "runId"), run_id);
    ck_assert_ptr_nonnull(api_str(run, "status"));
    json_object_put(run);
    json_object_put(made);
}
END_TEST

START_TEST(projects_list_all_pages_and_get)
{
    char *out = NULL;
    json_object *all =
        ok_json(hexrun_projects_list(c, "limit=2", HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_uint_ge(array_len(all, "values"), 6);
    ck_assert(json_object_is_type(api_get(api_get(all, "pagination"), "after"), json_type_null));
    json_object_put(all);
    json_object *one = ok_json(hexrun_projects_list(c, "limit=2", 0, &out), &out);
    ck_assert_uint_eq(array_len(one, "values"), 2);
    json_object_put(one);
    json_object *p = ok_json(hexrun_project_get(c, P_OK, &out), &out);
    ck_assert_ptr_nonnull(strstr(json_object_to_json_string(p), P_OK));
    json_object_put(p);
    ck_assert_int_eq(hexrun_projects_list(c, "limit=2 x", 0, &out), HEXRUN_E_INVALID_ARG);
}
END_TEST

START_TEST(users_me_list_and_deactivate)
{
    char *out = NULL;
    json_object *me = ok_json(hexrun_user_me(c, &out), &out);
    ck_assert_ptr_nonnull(api_str(me, "email"));
    json_object *users =
        ok_json(hexrun_users_list(c, "limit=1", HEXRUN_LIST_ALL_PAGES, &out), &out);
    size_t n = array_len(users, "values");
    ck_assert_uint_ge(n, 3);
    /* Deactivate someone other than the token's own user. */
    char id[128] = "";
    for (size_t i = 0; i < n && !id[0]; i++) {
        const char *uid = api_str(json_object_array_get_idx(api_get(users, "values"), i), "id");
        if (uid && (!api_str(me, "id") || strcmp(uid, api_str(me, "id")) != 0))
            snprintf(id, sizeof id, "%s", uid);
    }
    json_object_put(users);
    json_object_put(me);
    ck_assert_msg(hexrun_user_deactivate(c, id, &out) == HEXRUN_OK, "%s", hexrun_last_error());
    hexrun_free(out);
    ck_assert_int_eq(api_requests("DeactivateUser", "200"), 1);
    ck_assert_int_eq(hexrun_user_deactivate(c, "99999999-9999-4999-8999-999999999999", NULL),
                     HEXRUN_E_NOT_FOUND);
}
END_TEST

START_TEST(groups_round_trip)
{
    char *out = NULL;
    json_object *made = ok_json(hexrun_group_create(c, "{\"name\":\"hexrun-test\"}", &out), &out);
    char id[128];
    snprintf(id, sizeof id, "%s", api_str(made, "id"));
    json_object_put(made);
    json_object *got = ok_json(hexrun_group_get(c, id, &out), &out);
    ck_assert_str_eq(api_str(got, "name"), "hexrun-test");
    json_object_put(got);
    json_object *edited = ok_json(hexrun_group_edit(c, id, "{\"name\":\"renamed\"}", &out), &out);
    json_object_put(edited);
    got = ok_json(hexrun_group_get(c, id, &out), &out);
    ck_assert_str_eq(api_str(got, "name"), "renamed");
    json_object_put(got);
    json_object *all = ok_json(hexrun_groups_list(c, NULL, HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_ptr_nonnull(strstr(json_object_to_json_string(all), id));
    ck_assert_uint_ge(array_len(all, "values"), 3);
    json_object_put(all);
    ck_assert_int_eq(hexrun_group_delete(c, id), HEXRUN_OK);
    ck_assert_int_eq(hexrun_group_get(c, id, &out), HEXRUN_E_NOT_FOUND);
    ck_assert_int_eq(hexrun_group_create(c, "{\"name\":", &out), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "body_json"));
    ck_assert_int_eq(hexrun_group_create(c, "[]", &out), HEXRUN_E_INVALID_ARG);
}
END_TEST

START_TEST(connections_round_trip)
{
    char *out = NULL;
    json_object *all = ok_json(hexrun_connections_list(c, NULL, HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_uint_ge(array_len(all, "values"), 2);
    json_object_put(all);
    json_object *made =
        ok_json(hexrun_connection_create(c,
                                         "{\"name\":\"warehouse\",\"type\":\"postgres\","
                                         "\"connectionDetails\":{\"postgres\":{\"hostname\":\"db\","
                                         "\"port\":5432,\"database\":\"d\",\"username\":\"u\","
                                         "\"password\":\"pw-secret\"}}}",
                                         &out),
                &out);
    char id[128];
    snprintf(id, sizeof id, "%s", api_str(made, "id"));
    ck_assert_ptr_null(strstr(json_object_to_json_string(made), "pw-secret"));
    json_object_put(made);
    json_object_put(
        ok_json(hexrun_connection_edit(c, id, "{\"description\":\"nightly\"}", &out), &out));
    json_object *got = ok_json(hexrun_connection_get(c, id, &out), &out);
    ck_assert_str_eq(api_str(got, "name"), "warehouse");
    ck_assert_str_eq(api_str(got, "description"), "nightly");
    ck_assert_int_eq(hexrun_connection_create(c, "{\"name\":\"x\"}", &out),
                     HEXRUN_E_INVALID_REQUEST);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HTTP 400"));
    json_object_put(got);
}
END_TEST

START_TEST(collections_list_and_get)
{
    char *out = NULL;
    json_object *all =
        ok_json(hexrun_collections_list(c, "limit=1", HEXRUN_LIST_ALL_PAGES, &out), &out);
    ck_assert_uint_ge(array_len(all, "values"), 2);
    char id[128];
    snprintf(id, sizeof id, "%s",
             api_str(json_object_array_get_idx(api_get(all, "values"), 0), "id"));
    json_object_put(all);
    json_object *got = ok_json(hexrun_collection_get(c, id, &out), &out);
    ck_assert_str_eq(api_str(got, "id"), id);
    json_object_put(got);
}
END_TEST

START_TEST(errors_carry_status_reason_and_trace_id)
{
    char *out = NULL;
    hexrun_client *unknown = api_client("hxtok_nobody", NULL);
    ck_assert_int_eq(hexrun_user_me(unknown, &out), HEXRUN_E_AUTH);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HTTP 401"));
    ck_assert_ptr_null(strstr(hexrun_last_error(), "hxtok_nobody"));
    hexrun_shutdown(unknown, 0);
    hexrun_client *limited = api_client(TOKEN_LIMITED, NULL);
    ck_assert_int_eq(hexrun_project_get(limited, P_SLOW, &out), HEXRUN_E_FORBIDDEN);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HTTP 403"));
    hexrun_shutdown(limited, 0);
    ck_assert_int_eq(hexrun_project_get(c, "99999999-9999-4999-8999-999999999999", &out),
                     HEXRUN_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HTTP 404 after 1 attempt"));
    ck_assert_ptr_null(out);
    int32_t status = 0;
    ck_assert_int_eq(
        hexrun_request(c, "POST", "/v1/projects/" P_UNPUB "/runs", "{}", &status, &out),
        HEXRUN_E_INVALID_REQUEST);
    ck_assert_int_eq(status, 422);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HTTP 422"));
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "trace id "));
    ck_assert_ptr_nonnull(out);
    hexrun_free(out);
}
END_TEST

START_TEST(generic_request)
{
    int32_t status = 0;
    char *out = NULL;
    ck_assert_int_eq(hexrun_request(c, "GET", "/v1/users/me", NULL, &status, &out), HEXRUN_OK);
    ck_assert_int_eq(status, 200);
    json_object_put(api_json(out));
    hexrun_free(out);
    ck_assert_int_eq(hexrun_request(c, "GET", "/v1/projects?limit=1", NULL, &status, &out),
                     HEXRUN_OK);
    hexrun_free(out);
    ck_assert_int_eq(hexrun_request(c, "TRACE", "/v1/users/me", NULL, &status, &out),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_request(c, "GET", "/api/v1/users/me", NULL, &status, &out),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_request(c, "POST", "/v1/groups", "{oops", &status, &out),
                     HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_request(c, "GET", "/v1/users/me", NULL, NULL, NULL), HEXRUN_OK);
}
END_TEST

static void collect(int32_t level, const char *message, void *user_data)
{
    (void)level;
    FILE *f = user_data;
    fprintf(f, "%s\n", message);
}

START_TEST(logs_and_errors_never_hold_the_token)
{
    char *lines = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&lines, &len);
    hexrun_config *cfg = NULL;
    hexrun_config_new(&cfg);
    hexrun_config_set(cfg, "base_url", api_sim.base_url);
    hexrun_config_set(cfg, "token", TOKEN_ADMIN);
    hexrun_config_set(cfg, "log_level", "debug");
    hexrun_config_set(cfg, "poll_min_ms", "10");
    hexrun_config_set_log(cfg, collect, f);
    hexrun_client *logged = NULL;
    ck_assert_int_eq(hexrun_init(cfg, &logged), HEXRUN_OK);
    hexrun_config_free(cfg);
    int64_t job = -1;
    int32_t state;
    ck_assert_int_eq(hexrun_submit(logged, P_OK, NULL, NULL, &job), HEXRUN_OK);
    ck_assert_int_eq(hexrun_wait(logged, job, 20000, &state), HEXRUN_OK);
    /* An error body that echoes the token must come back redacted. */
    char *out = NULL;
    ck_assert_int_ne(hexrun_request(logged, "GET", "/v1/projects/" TOKEN_ADMIN, NULL, NULL, &out),
                     HEXRUN_OK);
    ck_assert_ptr_null(strstr(hexrun_last_error(), TOKEN_ADMIN));
    hexrun_free(out);
    hexrun_shutdown(logged, 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(lines, "event=submitted"));
    ck_assert_ptr_null(strstr(lines, TOKEN_ADMIN));
    free(lines);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_direct");
    TCase *tc = api_tcase("direct", 60, &c);
    tcase_add_test(tc, direct_calls_check_arguments_alike);
    tcase_add_test(tc, runs_one_page_and_all_pages);
    tcase_add_test(tc, runs_filters_are_checked_and_applied);
    tcase_add_test(tc, run_get_returns_hex_json);
    tcase_add_test(tc, projects_list_all_pages_and_get);
    tcase_add_test(tc, users_me_list_and_deactivate);
    tcase_add_test(tc, groups_round_trip);
    tcase_add_test(tc, connections_round_trip);
    tcase_add_test(tc, collections_list_and_get);
    tcase_add_test(tc, errors_carry_status_reason_and_trace_id);
    tcase_add_test(tc, generic_request);
    tcase_add_test(tc, logs_and_errors_never_hold_the_token);
    suite_add_tcase(s, tc);
    return api_run_suite(s);
}
