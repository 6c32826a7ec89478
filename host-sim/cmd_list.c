/* cmd_list.c - runs, projects, users, groups, connections, collections. */
#include "cmds.h"
#include "out.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*row_fn)(json_object *item, const char **cells, char scratch[][96]);

typedef struct list_view {
    const char *array_key; /* "values" or "runs" */
    size_t ncols;
    const char *const *headers;
    row_fn row;
} list_view;

/* Prints a list answer: one JSON line per item, or a table. */
static int print_list(cli *c, const char *text, const list_view *v)
{
    json_object *root = json_tokener_parse(text), *arr;
    if (!root || !json_object_object_get_ex(root, v->array_key, &arr) ||
        !json_object_is_type(arr, json_type_array)) {
        json_object_put(root);
        return cli_fail(c, EXIT_API, "the answer has no \"%s\" list", v->array_key);
    }
    table *t = c->json ? NULL : table_new(v->ncols, v->headers);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *item = json_object_array_get_idx(arr, i);
        if (c->json) {
            out_json_line(stdout, item);
            continue;
        }
        const char *cells[8] = {0};
        char scratch[8][96];
        v->row(item, cells, scratch);
        table_add(t, cells);
    }
    if (t) {
        if (!c->quiet || json_object_array_length(arr) > 0)
            table_print(t, stdout);
        table_free(t);
    }
    json_object_put(root);
    return EXIT_OK;
}

/* --limit N gives one page of N; without it every page is fetched. */
typedef struct page_args {
    char query[64];
    uint32_t flags;
} page_args;

enum {
    L_LIMIT = 1,
    L_ALL,
    L_STATUS,
    L_TRIGGER,
    L_OFFSET,
    L_NAME,
    L_MEMBER,
    L_ADD_MEMBER,
    L_REMOVE_MEMBER
};

static int page_args_from(cli *c, const parsed *p, long max_limit, page_args *pa)
{
    pa->query[0] = '\0';
    pa->flags = HEXRUN_LIST_ALL_PAGES;
    for (int i = 0; i < p->nopt; i++) {
        long limit;
        if (p->opt[i].id != L_LIMIT)
            continue;
        if (cli_int(c, "--limit", p->opt[i].arg, 1, max_limit, &limit))
            return EXIT_USAGE;
        snprintf(pa->query, sizeof pa->query, "limit=%ld", limit);
        pa->flags = HEXRUN_LIST_ONE_PAGE;
    }
    return 0;
}

typedef int (*cursor_list_fn)(hexrun_client *, const char *, uint32_t, char **);

/* fn_offset: where the list function sits in hexrun_api (known only once loaded). */
static int run_cursor_list(cli *c, const parsed *p, size_t fn_offset, const char *symbol,
                           long max_limit, const list_view *v)
{
    page_args pa;
    int rc = page_args_from(c, p, max_limit, &pa);
    if (rc || (rc = cli_connect(c)))
        return rc;
    cursor_list_fn fn;
    memcpy(&fn, (const char *)&c->api + fn_offset, sizeof fn);
    if (!fn)
        return cli_missing(c, symbol);
    char *text = NULL;
    if ((rc = fn(c->client, pa.query[0] ? pa.query : NULL, pa.flags, &text)) != HEXRUN_OK)
        return cli_api_error(c, symbol + strlen("hexrun_"), rc);
    rc = print_list(c, text, v);
    c->api.free(text);
    return rc;
}

/* ---------------------------------------------------------------- runs ---- */

static void run_row(json_object *run, const char **cells, char s[][96])
{
    json_object *v;
    double ms = -1;
    if (json_object_object_get_ex(run, "elapsedTime", &v) && v)
        ms = json_object_get_double(v);
    const char *end = out_str(run, "endTime");
    char a[32], b[32];
    out_time(out_str(run, "startTime"), a, sizeof a);
    out_time(end, b, sizeof b);
    snprintf(s[0], 96, "%s -> %s", a, end ? b : "running");
    out_duration(ms, s[1], 96);
    cells[0] = out_str(run, "runId");
    cells[1] = out_str(run, "status");
    cells[2] = out_str(run, "runTrigger");
    cells[3] = s[0];
    cells[4] = s[1];
}

static const char *const run_headers[] = {"RUN ID", "STATUS", "TRIGGER", "START -> END", "ELAPSED"};
static const list_view runs_view = {"runs", 5, run_headers, run_row};

static int runs_filters(cli *c, const parsed *p, const char **status, const char **trigger,
                        long *limit, long *offset, uint32_t *flags)
{
    for (int i = 0; i < p->nopt; i++) {
        const char *a = p->opt[i].arg;
        switch (p->opt[i].id) {
        case L_STATUS:
            *status = a;
            break;
        case L_TRIGGER:
            *trigger = a;
            break;
        case L_ALL:
            *flags = HEXRUN_LIST_ALL_PAGES;
            break;
        case L_LIMIT:
            if (cli_int(c, "--limit", a, 1, 100, limit))
                return EXIT_USAGE;
            break;
        case L_OFFSET:
            if (cli_int(c, "--offset", a, 0, 1000000000, offset))
                return EXIT_USAGE;
            break;
        default:
            break;
        }
    }
    return 0;
}

static int cmd_runs(cli *c, const parsed *p)
{
    const char *status = NULL, *trigger = NULL;
    long limit = 0, offset = 0;
    uint32_t flags = HEXRUN_LIST_ONE_PAGE;
    int rc = runs_filters(c, p, &status, &trigger, &limit, &offset, &flags);
    if (rc || (rc = cli_connect(c)))
        return rc;
    if (!c->api.runs_list)
        return cli_missing(c, "hexrun_runs_list");
    char *text = NULL;
    rc = c->api.runs_list(c->client, p->pos[0], status, trigger, (int32_t)limit, (int32_t)offset,
                          flags, &text);
    if (rc != HEXRUN_OK)
        return cli_api_error(c, "runs", rc);
    rc = print_list(c, text, &runs_view);
    c->api.free(text);
    return rc;
}

static const opt_spec runs_opts[] = {
    {"status", "S", L_STATUS,
     "only runs in status S (PENDING, RUNNING, COMPLETED, ERRORED, "
     "KILLED, UNABLE_TO_ALLOCATE_KERNEL)"},
    {"trigger", "T", L_TRIGGER, "only runs started by T: API, SCHEDULED, APP_REFRESH or ALL"},
    {"limit", "N", L_LIMIT, "runs per page, 1-100 (default 25)"},
    {"offset", "N", L_OFFSET, "skip the N newest runs"},
    {"all", NULL, L_ALL, "every page, not just the first"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_runs_def = {
    "runs",
    "PROJECT_ID [--status S] [--trigger T] [--limit N] [--all]",
    "List a project's runs, newest first.",
    NULL,
    runs_opts,
    1,
    1,
    cmd_runs,
};

/* ---------------------------------------------------------------- projects ---- */

/* "HH:MM ZONE", prefixed by the weekday or the day of the month when there is one. */
static void schedule_when(json_object *detail, char *buf, size_t size)
{
    json_object *h = NULL, *m = NULL, *day = NULL;
    json_object_object_get_ex(detail, "hour", &h);
    json_object_object_get_ex(detail, "minute", &m);
    json_object_object_get_ex(detail, "day", &day);
    const char *dow = out_str(detail, "dayOfWeek"), *tz = out_str(detail, "timezone");
    char prefix[32] = "";
    if (dow)
        snprintf(prefix, sizeof prefix, "%s ", dow);
    else if (day)
        snprintf(prefix, sizeof prefix, "day %d ", json_object_get_int(day));
    snprintf(buf, size, " %s%02d:%02d %s", prefix, h ? json_object_get_int(h) : 0,
             m ? json_object_get_int(m) : 0, tz ? tz : "");
}

static void schedule_text(json_object *s, char *buf, size_t size)
{
    static const char *const kinds[] = {"hourly", "daily", "weekly", "monthly"};
    const char *cadence = out_str(s, "cadence");
    json_object *en = NULL, *detail = NULL, *v;
    int enabled = json_object_object_get_ex(s, "enabled", &en) && json_object_get_boolean(en);
    for (size_t i = 0; i < 4 && !detail; i++)
        if (json_object_object_get_ex(s, kinds[i], &v) && json_object_is_type(v, json_type_object))
            detail = v;
    char when[80] = "";
    if (detail)
        schedule_when(detail, when, sizeof when);
    snprintf(buf, size, "%s%s (%s)", cadence ? cadence : "?", when,
             enabled ? "enabled" : "disabled");
}

static void project_row(json_object *proj, const char **cells, char s[][96])
{
    json_object *scheds;
    s[0][0] = '\0';
    if (json_object_object_get_ex(proj, "schedules", &scheds) &&
        json_object_is_type(scheds, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(scheds); i++) {
            char one[96];
            schedule_text(json_object_array_get_idx(scheds, i), one, sizeof one);
            size_t len = strlen(s[0]);
            snprintf(s[0] + len, 96 - len, "%s%s", len ? "; " : "", one);
        }
    }
    cells[0] = out_str(proj, "id");
    cells[1] = out_str(proj, "title");
    cells[2] = out_str2(proj, "status", "name");
    cells[3] = out_str(proj, "lastPublishedAt") ? "yes" : "no";
    cells[4] = s[0][0] ? s[0] : "none";
}

static const char *const project_headers[] = {"ID", "TITLE", "STATUS", "PUBLISHED", "SCHEDULES"};
static const list_view projects_view = {"values", 5, project_headers, project_row};

static int cmd_projects(cli *c, const parsed *p)
{
    return run_cursor_list(c, p, offsetof(hexrun_api, projects_list), "hexrun_projects_list", 100,
                           &projects_view);
}

static const opt_spec page_opts[] = {
    {"limit", "N", L_LIMIT, "one page of N items (default: every page)"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_projects_def = {
    "projects", "[--limit N]", "List projects with their Hex-side schedules (cadence, enabled).",
    NULL,       page_opts,     0,
    0,          cmd_projects,
};

/* ---------------------------------------------------------------- users ---- */

static void user_row(json_object *u, const char **cells, char s[][96])
{
    out_time(out_str(u, "lastLoginDate"), s[0], 96);
    cells[0] = out_str(u, "id");
    cells[1] = out_str(u, "name");
    cells[2] = out_str(u, "email");
    cells[3] = out_str(u, "role");
    cells[4] = s[0];
}

static const char *const user_headers[] = {"ID", "NAME", "EMAIL", "ROLE", "LAST LOGIN"};
static const list_view users_view = {"values", 5, user_headers, user_row};

/* Prints the object a write call returned (JSON line, or "what: id name"). */
static int print_result(cli *c, const char *what, const char *text, const char *fallback_id)
{
    json_object *o = text && *text ? json_tokener_parse(text) : NULL, *inner;
    if (c->json) {
        if (!o) {
            o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_string(fallback_id));
        }
        out_json_line(stdout, o);
    } else {
        json_object *show = o && json_object_object_get_ex(o, "user", &inner) ? inner : o;
        const char *id = out_str(show, "id"), *name = out_str(show, "name");
        printf("%s: %s%s%s\n", what, id ? id : fallback_id, name ? " " : "", name ? name : "");
    }
    json_object_put(o);
    return EXIT_OK;
}

static int cmd_users(cli *c, const parsed *p)
{
    if (p->npos == 0 || strcmp(p->pos[0], "list") == 0)
        return run_cursor_list(c, p, offsetof(hexrun_api, users_list), "hexrun_users_list", 500,
                               &users_view);
    if (strcmp(p->pos[0], "deactivate") != 0)
        return cli_usage_error(c, "unknown action '%s' (use list or deactivate)", p->pos[0]);
    if (p->npos != 2)
        return cli_usage_error(c, "deactivate needs a USER_ID");
    int rc = cli_connect(c);
    if (rc)
        return rc;
    if (!c->api.user_deactivate)
        return cli_missing(c, "hexrun_user_deactivate");
    char *text = NULL;
    if ((rc = c->api.user_deactivate(c->client, p->pos[1], &text)) != HEXRUN_OK)
        return cli_api_error(c, "deactivate", rc);
    rc = print_result(c, "deactivated", text, p->pos[1]);
    c->api.free(text);
    return rc;
}

const cmd_def cmd_users_def = {
    "users",
    "[list [--limit N] | deactivate USER_ID]",
    "List users, or deactivate one.",
    NULL,
    page_opts,
    0,
    2,
    cmd_users,
};

/* ---------------------------------------------------------------- groups ---- */

static void group_row(json_object *g, const char **cells, char s[][96])
{
    out_time(out_str(g, "createdAt"), s[0], 96);
    cells[0] = out_str(g, "id");
    cells[1] = out_str(g, "name");
    cells[2] = s[0];
}

static const char *const group_headers[] = {"ID", "NAME", "CREATED"};
static const list_view groups_view = {"values", 3, group_headers, group_row};

static json_object *members(const parsed *p, int id)
{
    json_object *users = json_object_new_array();
    for (int i = 0; i < p->nopt; i++) {
        if (p->opt[i].id != id)
            continue;
        json_object *u = json_object_new_object();
        json_object_object_add(u, "id", json_object_new_string(p->opt[i].arg));
        json_object_array_add(users, u);
    }
    if (json_object_array_length(users) == 0) {
        json_object_put(users);
        return NULL;
    }
    json_object *m = json_object_new_object();
    json_object_object_add(m, "users", users);
    return m;
}

static const char *last_opt(const parsed *p, int id)
{
    const char *v = NULL;
    for (int i = 0; i < p->nopt; i++)
        if (p->opt[i].id == id)
            v = p->opt[i].arg;
    return v;
}

/* The CreateGroup or EditGroup body from the options. */
static json_object *group_body(const parsed *p, const char *name, int edit)
{
    json_object *body = json_object_new_object(), *m;
    if (name)
        json_object_object_add(body, "name", json_object_new_string(name));
    if (!edit) {
        if ((m = members(p, L_MEMBER)))
            json_object_object_add(body, "members", m);
        return body;
    }
    json_object *change = json_object_new_object();
    if ((m = members(p, L_ADD_MEMBER)))
        json_object_object_add(change, "add", m);
    if ((m = members(p, L_REMOVE_MEMBER)))
        json_object_object_add(change, "remove", m);
    if (json_object_object_length(change) > 0)
        json_object_object_add(body, "members", change);
    else
        json_object_put(change);
    return body;
}

static int group_call(cli *c, const parsed *p, const char *action, const char *body, char **text)
{
    if (strcmp(action, "delete") == 0)
        return c->api.group_delete ? c->api.group_delete(c->client, p->pos[1])
                                   : cli_missing(c, "hexrun_group_delete");
    if (strcmp(action, "edit") == 0)
        return c->api.group_edit ? c->api.group_edit(c->client, p->pos[1], body, text)
                                 : cli_missing(c, "hexrun_group_edit");
    return c->api.group_create ? c->api.group_create(c->client, body, text)
                               : cli_missing(c, "hexrun_group_create");
}

static int group_write(cli *c, const parsed *p, const char *action)
{
    int edit = strcmp(action, "edit") == 0, del = strcmp(action, "delete") == 0;
    json_object *body = del ? NULL : group_body(p, edit ? last_opt(p, L_NAME) : p->pos[1], edit);
    if (edit && json_object_object_length(body) == 0) {
        json_object_put(body);
        return cli_usage_error(c, "edit needs --name, --add-member or --remove-member");
    }
    int rc = cli_connect(c);
    if (rc) {
        json_object_put(body);
        return rc;
    }
    char *text = NULL;
    rc = group_call(c, p, action,
                    body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL,
                    &text);
    if (rc == HEXRUN_OK)
        rc = print_result(c, del ? "deleted" : edit ? "edited" : "created", text, p->pos[1]);
    else if (rc < 0)
        rc = cli_api_error(c, action, rc);
    c->api.free(text);
    json_object_put(body);
    return rc;
}

static int cmd_groups(cli *c, const parsed *p)
{
    const char *action = p->npos ? p->pos[0] : "list";
    if (strcmp(action, "list") == 0)
        return run_cursor_list(c, p, offsetof(hexrun_api, groups_list), "hexrun_groups_list", 500,
                               &groups_view);
    if (strcmp(action, "create") && strcmp(action, "edit") && strcmp(action, "delete"))
        return cli_usage_error(c, "unknown action '%s' (use list, create, edit or delete)", action);
    if (p->npos != 2)
        return cli_usage_error(c, "%s needs %s", action,
                               strcmp(action, "create") ? "a GROUP_ID" : "a NAME");
    return group_write(c, p, action);
}

static const opt_spec group_opts[] = {
    {"limit", "N", L_LIMIT, "list: one page of N groups (default: every page)"},
    {"member", "USER_ID", L_MEMBER, "create: a first member; repeatable"},
    {"name", "NAME", L_NAME, "edit: the new name"},
    {"add-member", "USER_ID", L_ADD_MEMBER, "edit: add a member; repeatable"},
    {"remove-member", "USER_ID", L_REMOVE_MEMBER, "edit: remove a member; repeatable"},
    {NULL, NULL, 0, NULL},
};

const cmd_def cmd_groups_def = {
    "groups",
    "[list | create NAME | edit GROUP_ID | delete GROUP_ID] [options]",
    "List, create, edit or delete groups.",
    NULL,
    group_opts,
    0,
    2,
    cmd_groups,
};

/* ---------------------------------------------------------------- connections ---- */

static void connection_row(json_object *d, const char **cells, char s[][96])
{
    (void)s;
    cells[0] = out_str(d, "id");
    cells[1] = out_str(d, "name");
    cells[2] = out_str(d, "type");
    cells[3] = out_str(d, "description");
}

static const char *const connection_headers[] = {"ID", "NAME", "TYPE", "DESCRIPTION"};
static const list_view connections_view = {"values", 4, connection_headers, connection_row};

static int cmd_connections(cli *c, const parsed *p)
{
    return run_cursor_list(c, p, offsetof(hexrun_api, connections_list), "hexrun_connections_list",
                           500, &connections_view);
}

const cmd_def cmd_connections_def = {
    "connections",
    "[--limit N]",
    "List data connections (secrets are never shown).",
    NULL,
    page_opts,
    0,
    0,
    cmd_connections,
};

/* ---------------------------------------------------------------- collections ---- */

static void collection_row(json_object *d, const char **cells, char s[][96])
{
    (void)s;
    cells[0] = out_str(d, "id");
    cells[1] = out_str(d, "name");
    cells[2] = out_str2(d, "creator", "email");
    cells[3] = out_str(d, "description");
}

static const char *const collection_headers[] = {"ID", "NAME", "CREATOR", "DESCRIPTION"};
static const list_view collections_view = {"values", 4, collection_headers, collection_row};

static int cmd_collections(cli *c, const parsed *p)
{
    return run_cursor_list(c, p, offsetof(hexrun_api, collections_list), "hexrun_collections_list",
                           500, &collections_view);
}

const cmd_def cmd_collections_def = {
    "collections", "[--limit N]", "List collections.", NULL, page_opts, 0, 0, cmd_collections,
};
