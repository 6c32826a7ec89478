/* admin.c - projects, users, groups, data connections and collections (cursor pages). */
#include "hexsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cursor pagination ----------------------------------------------------------------
 * A cursor is the position in the (sorted) list as "p<N>": `after=p5` starts at item 5,
 * `before=p5` ends before item 5. Lists are short, so each page sorts a copy. */

typedef struct list_spec {
    long max_limit;
    const char *const *sort_keys; /* accepted sortBy values (NULL-terminated), or NULL */
    int has_direction;
    const char *default_sort; /* sortBy when absent (NULL = NAME) */
    int default_desc;         /* sortDirection when absent */
} list_spec;

static const char *sort_field(const char *sort_by)
{
    if (!sort_by || !strcmp(sort_by, "NAME"))
        return "name";
    if (!strcmp(sort_by, "EMAIL"))
        return "email";
    if (!strcmp(sort_by, "CREATED_AT"))
        return "createdAt";
    if (!strcmp(sort_by, "LAST_EDITED_AT"))
        return "lastEditedAt";
    return "lastPublishedAt";
}

static const char *g_sort_field; /* qsort has no context argument; used under hs_w.mu */
static int g_sort_desc;

/* An item and its place in the list: ties keep the list's order (reversed for DESC). */
typedef struct ranked {
    json_object *o;
    size_t pos;
} ranked;

static const char *field_of(json_object *o, const char *key)
{
    json_object *v;
    const char *s = json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
    if (!s && !strcmp(key, "name") && json_object_object_get_ex(o, "title", &v))
        s = json_object_get_string(v);
    return s ? s : "";
}

static int by_field(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int c = strcmp(field_of(x->o, g_sort_field), field_of(y->o, g_sort_field));
    if (c == 0)
        c = x->pos < y->pos ? -1 : x->pos > y->pos;
    return g_sort_desc ? -c : c;
}

/* Sorts items in place, stably, by g_sort_field and g_sort_desc. */
static int sort_items(json_object **items, size_t n)
{
    ranked *r = calloc(n ? n : 1, sizeof(*r));
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){items[i], i};
    qsort(r, n, sizeof(*r), by_field);
    for (size_t i = 0; i < n; i++)
        items[i] = r[i].o;
    free(r);
    return 0;
}

static int in_list(const char *v, const char *const *allowed)
{
    for (; allowed && *allowed; allowed++)
        if (!strcmp(v, *allowed))
            return 1;
    return 0;
}

static long parse_cursor(const char *c)
{
    char *end;
    if (!c || c[0] != 'p')
        return -1;
    long n = strtol(c + 1, &end, 10);
    return *end || n < 0 ? -1 : n;
}

static json_object *cursor_str(long pos)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "p%ld", pos);
    return json_object_new_string(buf);
}

typedef json_object *(*item_view)(json_object *item); /* a new reference to show */

static json_object *same_view(json_object *item)
{
    return json_object_get(item);
}

/* Answers one page of `items` (borrowed, under hs_w.mu); returns -1 after a 400. */
static int cursor_page(hs_req *q, hs_resp *r, json_object **items, size_t n, const list_spec *spec,
                       item_view view)
{
    long limit;
    const char *sort_by = hs_query(q, "sortBy"), *dir = hs_query(q, "sortDirection");
    const char *after = hs_query(q, "after"), *before = hs_query(q, "before");
    long a = after ? parse_cursor(after) : 0, b = before ? parse_cursor(before) : -1;
    const char *why = NULL;
    if (hs_query_int(q, r, "limit", 1, spec->max_limit, 25, &limit))
        return -1;
    if (sort_by && !in_list(sort_by, spec->sort_keys))
        why = "sortBy has an unknown value";
    else if (dir && (!spec->has_direction || (strcmp(dir, "ASC") && strcmp(dir, "DESC"))))
        why = "sortDirection must be ASC or DESC";
    else if ((after && a < 0) || (before && b < 0) || (after && before))
        why = "after and before take a cursor from a previous page, and not both";
    if (why) {
        hs_err_for(q, r, 400, why);
        return -1;
    }
    g_sort_field = sort_field(sort_by ? sort_by : spec->default_sort);
    g_sort_desc = dir ? !strcmp(dir, "DESC") : spec->default_desc;
    if (sort_items(items, n)) {
        hs_err_reason(r, 500, "out of memory", NULL);
        return -1;
    }
    long start = before ? (b - limit > 0 ? b - limit : 0) : a;
    long end = before ? (b < (long)n ? b : (long)n) : start + limit;
    if (end > (long)n)
        end = (long)n;
    json_object *values = json_object_new_array(), *pg = json_object_new_object();
    for (long i = start; i < end; i++)
        json_object_array_add(values, view(items[i]));
    json_object_object_add(pg, "after", end < (long)n ? cursor_str(end) : NULL);
    json_object_object_add(pg, "before", start > 0 ? cursor_str(start) : NULL);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "values", values);
    json_object_object_add(o, "pagination", pg);
    hs_resp_json(r, 200, o);
    return 0;
}

/* Copies the array's items into a fresh pointer list (the array itself stays unsorted). */
static json_object **items_of(json_object *arr, size_t *n)
{
    *n = json_object_array_length(arr);
    json_object **items = calloc(*n ? *n : 1, sizeof(*items));
    for (size_t i = 0; items && i < *n; i++)
        items[i] = json_object_array_get_idx(arr, i);
    return items;
}

static void list_array(hs_req *q, hs_resp *r, json_object **arr, const list_spec *spec,
                       item_view view)
{
    size_t n;
    pthread_mutex_lock(&hs_w.mu);
    json_object **items = items_of(*arr, &n);
    if (items)
        cursor_page(q, r, items, n, spec, view);
    else
        hs_err_reason(r, 500, "out of memory", NULL);
    pthread_mutex_unlock(&hs_w.mu);
    free(items);
}

static json_object *find_by_id(json_object *arr, const char *id, size_t *idx)
{
    for (size_t i = 0; id && i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        if (!strcasecmp(field_of(o, "id"), id)) {
            if (idx)
                *idx = i;
            return o;
        }
    }
    return NULL;
}

/* ---- body checks ---- */

static int body_keys_ok(json_object *body, const char *const *allowed, hs_resp *r)
{
    if (!json_object_is_type(body, json_type_object)) {
        hs_err_reason(r, 400, "The request body must be a JSON object", NULL);
        return 0;
    }
    json_object_object_foreach(body, key, val)
    {
        (void)val;
        if (!in_list(key, allowed)) {
            char why[160];
            snprintf(why, sizeof(why), "Unknown key \"%s\" in the request body", key);
            hs_err_reason(r, 400, why, NULL);
            return 0;
        }
    }
    return 1;
}

static int string_field(json_object *body, const char *key, int required, hs_resp *r)
{
    json_object *v;
    int present = json_object_object_get_ex(body, key, &v);
    if ((!present && !required) ||
        (present && json_object_is_type(v, json_type_string) && json_object_get_string_len(v)))
        return 1;
    char why[160];
    snprintf(why, sizeof(why), "\"%s\" must be a non-empty string", key);
    hs_err_reason(r, 400, why, NULL);
    return 0;
}

static void now_iso(char ts[32])
{
    hs_iso8601(hs_sim_ms(), ts);
}

/* ---- projects ---- */

static const char *const PROJECT_SORTS[] = {"CREATED_AT", "LAST_EDITED_AT", "LAST_PUBLISHED_AT",
                                            NULL};

/* ListProjects' filters, parsed from the query (all optional). */
typedef struct project_filter {
    int archived, components, trashed, sharing; /* the include* flags */
    const char *statuses[16], *categories[16];
    int nstatuses, ncategories;
    const char *creator, *owner, *collection;
} project_filter;

/* A boolean query parameter: absent = 0, "true"/"false", anything else 400. */
static int query_bool(hs_req *q, hs_resp *r, const char *name, int *out)
{
    const char *v = hs_query(q, name);
    *out = v && !strcmp(v, "true");
    if (!v || !strcmp(v, "true") || !strcmp(v, "false"))
        return 0;
    char why[120];
    snprintf(why, sizeof(why), "%s must be true or false", name);
    hs_err_reason(r, 400, why, NULL);
    return -1;
}

static int project_filter_parse(hs_req *q, hs_resp *r, project_filter *f)
{
    memset(f, 0, sizeof(*f));
    if (query_bool(q, r, "includeArchived", &f->archived) ||
        query_bool(q, r, "includeComponents", &f->components) ||
        query_bool(q, r, "includeTrashed", &f->trashed) ||
        query_bool(q, r, "includeSharing", &f->sharing))
        return -1;
    f->nstatuses = hs_query_all(q, "statuses", f->statuses, 16);
    f->ncategories = hs_query_all(q, "categories", f->categories, 16);
    f->creator = hs_query(q, "creatorEmail");
    f->owner = hs_query(q, "ownerEmail");
    f->collection = hs_query(q, "collectionId");
    if (f->collection && !hs_is_uuid(f->collection)) {
        hs_err_reason(r, 400, "collectionId is not a valid id (a UUID)", NULL);
        return -1;
    }
    return 0;
}

static int any_of(const char *v, const char *const *list, int n)
{
    for (int i = 0; v && i < n; i++)
        if (!strcasecmp(v, list[i]))
            return 1;
    return 0;
}

static const char *email_at(json_object *doc, const char *who)
{
    json_object *person, *v;
    return json_object_object_get_ex(doc, who, &person) &&
                   json_object_object_get_ex(person, "email", &v)
               ? json_object_get_string(v)
               : NULL;
}

static int has_category(json_object *doc, const project_filter *f)
{
    json_object *cats, *name;
    json_object_object_get_ex(doc, "categories", &cats);
    for (size_t i = 0; i < json_object_array_length(cats); i++)
        if (json_object_object_get_ex(json_object_array_get_idx(cats, i), "name", &name) &&
            any_of(json_object_get_string(name), f->categories, f->ncategories))
            return 1;
    return 0;
}

/* want (NULL = any) against the email of the project's creator or owner. */
static int email_is(json_object *doc, const char *who, const char *want)
{
    const char *have = email_at(doc, who);
    return !want || (have && !strcasecmp(want, have));
}

static int project_matches(const hs_project *p, const project_filter *f)
{
    json_object *doc = p->doc, *v;
    if ((!f->archived && json_object_object_get_ex(doc, "archivedAt", &v) && v) ||
        (!f->trashed && json_object_object_get_ex(doc, "trashedAt", &v) && v) ||
        (!f->components && !strcmp(field_of(doc, "type"), "COMPONENT")))
        return 0;
    if (f->nstatuses && !(json_object_object_get_ex(doc, "status", &v) && v &&
                          any_of(field_of(v, "name"), f->statuses, f->nstatuses)))
        return 0;
    if (f->ncategories && !has_category(doc, f))
        return 0;
    if (!email_is(doc, "creator", f->creator) || !email_is(doc, "owner", f->owner))
        return 0;
    if (f->collection) {
        for (size_t i = 0; i < json_object_array_length(p->collections); i++)
            if (!strcasecmp(json_object_get_string(json_object_array_get_idx(p->collections, i)),
                            f->collection))
                return 1;
        return 0;
    }
    return 1;
}

/* includeSharing: the project as stored plus the SharingResource the spec requires. */
static json_object *with_sharing(json_object *doc)
{
    json_object *o = json_object_new_object(), *sh = json_object_new_object(), *access;
    json_object_object_foreach(doc, key, val) json_object_object_add(o, key, json_object_get(val));
    const char *lists[] = {"users", "collections", "groups"},
               *levels[] = {"workspace", "publicWeb", "support"};
    for (size_t i = 0; i < 3; i++)
        json_object_object_add(sh, lists[i], json_object_new_array());
    for (size_t i = 0; i < 3; i++) {
        access = json_object_new_object();
        json_object_object_add(access, "access", json_object_new_string(i ? "NONE" : "CAN_VIEW"));
        json_object_object_add(sh, levels[i], access);
    }
    json_object_object_add(o, "sharing", sh);
    return o;
}

/* Newest first unless sortBy/sortDirection say otherwise (the spec: "sorted by most
 * recently created first"); archived, trashed and component projects only when asked. */
void hs_h_list_projects(hs_req *q, hs_resp *r, hs_token *t)
{
    static const list_spec spec = {100, PROJECT_SORTS, 1, "CREATED_AT", 1};
    project_filter f;
    if (project_filter_parse(q, r, &f))
        return;
    pthread_mutex_lock(&hs_w.mu);
    json_object **items = calloc(hs_w.nprojects + 1, sizeof(*items));
    size_t n = 0;
    for (size_t i = 0; items && i < hs_w.nprojects; i++)
        if (hs_token_sees(t, &hs_w.projects[i]) && project_matches(&hs_w.projects[i], &f))
            items[n++] = hs_w.projects[i].doc;
    if (items)
        cursor_page(q, r, items, n, &spec, f.sharing ? with_sharing : same_view);
    else
        hs_err_reason(r, 500, "out of memory", NULL);
    pthread_mutex_unlock(&hs_w.mu);
    free(items);
}

void hs_h_get_project(hs_req *q, hs_resp *r, hs_token *t)
{
    pthread_mutex_lock(&hs_w.mu);
    hs_project *p = hs_find_project(q->segs[2]);
    if (!p)
        hs_err_code(r, hs_unknown_object_status(q), "Project not found");
    else if (!hs_token_sees(t, p))
        hs_err_code(r, 403, "This token does not have access to the project");
    else
        hs_resp_json(r, 200, json_object_get(p->doc));
    pthread_mutex_unlock(&hs_w.mu);
}

void hs_h_create_project(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const keys[] = {"title", "description", NULL};
    (void)t;
    json_object *body = hs_body_json(q, r), *src;
    if (!body)
        return;
    if (!body_keys_ok(body, keys, r) || !string_field(body, "title", 1, r) ||
        !string_field(body, "description", 0, r)) {
        json_object_put(body);
        return;
    }
    pthread_mutex_lock(&hs_w.mu);
    char id[HS_ID_LEN];
    hs_new_id(id);
    hs_project *grown = realloc(hs_w.projects, (hs_w.nprojects + 1) * sizeof(hs_project));
    if (!grown) {
        pthread_mutex_unlock(&hs_w.mu);
        json_object_put(body);
        hs_err_reason(r, 500, "out of memory", NULL);
        return;
    }
    hs_w.projects = grown;
    hs_project *p = &hs_w.projects[hs_w.nprojects++];
    /* A new project has never been published, like in Hex. */
    src = json_object_get(body);
    json_object_object_add(src, "id", json_object_new_string(id));
    json_object_object_add(src, "published", json_object_new_boolean(0));
    char err[128];
    hs_project_from_json(p, src, err, sizeof(err));
    json_object_put(src);
    hs_resp_json(r, 201, json_object_get(p->doc));
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
}

/* ---- users ---- */

static json_object *user_view(json_object *u)
{
    json_object *o = json_object_new_object();
    const char *keys[] = {"id", "name", "email", "role", "lastLoginDate"};
    for (size_t i = 0; i < 5; i++) {
        json_object *v = NULL;
        json_object_object_get_ex(u, keys[i], &v);
        json_object_object_add(o, keys[i], json_object_get(v));
    }
    return o;
}

void hs_h_me(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)q;
    pthread_mutex_lock(&hs_w.mu);
    json_object *u = find_by_id(hs_w.users, t->user_id, NULL);
    json_object *o = u ? user_view(u) : json_object_new_object();
    json_object *org = json_object_new_object();
    json_object_object_add(org, "id", json_object_new_string(hs_w.org_id));
    json_object_object_add(o, "org", org);
    pthread_mutex_unlock(&hs_w.mu);
    hs_resp_json(r, 200, o);
}

/* The users array of a group's members (created empty when absent). */
static json_object *group_users(json_object *g)
{
    json_object *members, *users;
    if (!json_object_object_get_ex(g, "members", &members) ||
        !json_object_is_type(members, json_type_object)) {
        members = json_object_new_object();
        json_object_object_add(g, "members", members);
    }
    if (!json_object_object_get_ex(members, "users", &users) ||
        !json_object_is_type(users, json_type_array)) {
        users = json_object_new_array();
        json_object_object_add(members, "users", users);
    }
    return users;
}

/* The position of user id in a members array, or -1. */
static int member_index(json_object *users, const char *id)
{
    for (size_t i = 0; i < json_object_array_length(users); i++)
        if (!strcasecmp(field_of(json_object_array_get_idx(users, i), "id"), id))
            return (int)i;
    return -1;
}

/* userIds: a comma-separated list of UUIDs, each checked; NULL when absent. */
static int parse_user_ids(hs_req *q, hs_resp *r, char *buf, size_t cap, const char **ids, int *n)
{
    const char *v = hs_query(q, "userIds");
    *n = 0;
    if (!v)
        return 0;
    if (strlen(v) >= cap) {
        hs_err_code(r, 400, "userIds lists too many ids");
        return -1;
    }
    snprintf(buf, cap, "%s", v);
    char *rest = buf;
    /* strsep, unlike strtok, yields the empty items of "a,,b" and "a,": refused too. */
    for (char *id = strsep(&rest, ","); id; id = strsep(&rest, ",")) {
        if (!hs_is_uuid(id) || *n == 500) {
            hs_err_code(r, 400, "userIds must be a comma-separated list of user ids (UUIDs)");
            return -1;
        }
        ids[(*n)++] = id;
    }
    return 0;
}

void hs_h_list_users(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const sorts[] = {"NAME", "EMAIL", NULL};
    static const list_spec spec = {500, sorts, 1, "NAME", 0};
    static char ids_buf[500 * 37 + 1]; /* used under hs_w.mu */
    const char *group = hs_query(q, "groupId"), *ids[500];
    int nids;
    (void)t;
    if (group && !hs_is_uuid(group)) {
        hs_err_code(r, 400, "groupId is not a valid id (a UUID)");
        return;
    }
    pthread_mutex_lock(&hs_w.mu);
    if (parse_user_ids(q, r, ids_buf, sizeof(ids_buf), ids, &nids)) {
        pthread_mutex_unlock(&hs_w.mu);
        return;
    }
    size_t n = json_object_array_length(hs_w.users), k = 0;
    json_object **items = calloc(n + 1, sizeof(*items));
    json_object *g = group ? find_by_id(hs_w.groups, group, NULL) : NULL;
    json_object *members = g ? group_users(g) : NULL;
    for (size_t i = 0; items && i < n; i++) {
        json_object *u = json_object_array_get_idx(hs_w.users, i), *v;
        if (json_object_object_get_ex(u, "deactivated", &v) && json_object_get_boolean(v))
            continue;
        if (group && !(members && member_index(members, field_of(u, "id")) >= 0))
            continue;
        if (nids && !any_of(field_of(u, "id"), ids, nids))
            continue;
        items[k++] = u;
    }
    if (items)
        cursor_page(q, r, items, k, &spec, user_view);
    else
        hs_err_code(r, 500, "out of memory");
    pthread_mutex_unlock(&hs_w.mu);
    free(items);
}

void hs_h_deactivate_user(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    pthread_mutex_lock(&hs_w.mu);
    json_object *u = find_by_id(hs_w.users, q->segs[2], NULL);
    if (!u) {
        hs_err_code(r, hs_unknown_object_status(q), "User not found");
    } else {
        json_object_object_add(u, "deactivated", json_object_new_boolean(1));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "user", user_view(u));
        hs_resp_json(r, 200, o);
    }
    pthread_mutex_unlock(&hs_w.mu);
}

/* ---- groups ---- */

static json_object *group_view(json_object *g)
{
    json_object *o = json_object_new_object(), *v;
    const char *keys[] = {"id", "name", "createdAt"};
    for (size_t i = 0; i < 3; i++)
        if (json_object_object_get_ex(g, keys[i], &v))
            json_object_object_add(o, keys[i], json_object_get(v));
    return o;
}

void hs_h_list_groups(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const sorts[] = {"CREATED_AT", "NAME", NULL};
    static const list_spec spec = {500, sorts, 1, "NAME", 0};
    (void)t;
    list_array(q, r, &hs_w.groups, &spec, group_view);
}

void hs_h_get_group(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    pthread_mutex_lock(&hs_w.mu);
    json_object *g = find_by_id(hs_w.groups, q->segs[2], NULL);
    if (g)
        hs_resp_json(r, 200, group_view(g));
    else
        hs_err_reason(r, hs_unknown_object_status(q), "Group not found", NULL);
    pthread_mutex_unlock(&hs_w.mu);
}

/* GroupMembers: {"users"?: [{"id": <uuid of a user>}, ...] (at most 100)}, no other key.
 * Under hs_w.mu (user ids are checked against the workspace's users). */
static const char *members_problem(json_object *m)
{
    json_object *users, *id;
    if (!json_object_is_type(m, json_type_object))
        return "members must be an object {\"users\": [{\"id\": ...}]}";
    json_object_object_foreach(m, key, val)
    {
        (void)val;
        if (strcmp(key, "users"))
            return "members takes only \"users\"";
    }
    if (!json_object_object_get_ex(m, "users", &users))
        return NULL;
    if (!json_object_is_type(users, json_type_array) || json_object_array_length(users) > 100)
        return "members.users must be an array of at most 100 {\"id\": ...} objects";
    for (size_t i = 0; i < json_object_array_length(users); i++) {
        json_object *u = json_object_array_get_idx(users, i);
        if (!json_object_is_type(u, json_type_object) || !json_object_object_get_ex(u, "id", &id) ||
            !json_object_is_type(id, json_type_string) || !hs_is_uuid(json_object_get_string(id)))
            return "members.users[] must be {\"id\": <user id (UUID)>}";
        if (!find_by_id(hs_w.users, json_object_get_string(id), NULL))
            return "members.users[] names a user that does not exist";
    }
    return NULL;
}

static int members_ok(json_object *m, hs_resp *r)
{
    const char *why = m ? members_problem(m) : NULL;
    if (why)
        hs_err_reason(r, 400, why, NULL);
    return !why;
}

/* EditGroup's members: {"add"?: GroupMembers, "remove"?: GroupMembers}, no other key. */
static int member_change_ok(json_object *change, json_object **add, json_object **rem, hs_resp *r)
{
    *add = *rem = NULL;
    if (!change)
        return 1;
    if (!json_object_is_type(change, json_type_object)) {
        hs_err_reason(r, 400, "members must be {\"add\": ..., \"remove\": ...}", NULL);
        return 0;
    }
    json_object_object_foreach(change, key, val)
    {
        (void)val;
        if (strcmp(key, "add") && strcmp(key, "remove")) {
            hs_err_reason(r, 400,
                          "members takes only \"add\" and \"remove\" (each "
                          "{\"users\": [{\"id\": ...}]})",
                          NULL);
            return 0;
        }
    }
    json_object_object_get_ex(change, "add", add);
    json_object_object_get_ex(change, "remove", rem);
    return members_ok(*add, r) && members_ok(*rem, r);
}

/* Adds the users of `add` that are not members yet, then drops those of `remove`. */
static void apply_member_change(json_object *g, json_object *add, json_object *rem)
{
    json_object *members = group_users(g), *list;
    if (add && json_object_object_get_ex(add, "users", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            const char *id = field_of(json_object_array_get_idx(list, i), "id");
            if (member_index(members, id) < 0) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "id", json_object_new_string(id));
                json_object_array_add(members, m);
            }
        }
    if (rem && json_object_object_get_ex(rem, "users", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            int at = member_index(members, field_of(json_object_array_get_idx(list, i), "id"));
            if (at >= 0)
                json_object_array_del_idx(members, (size_t)at, 1);
        }
}

void hs_h_create_group(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const keys[] = {"name", "members", NULL};
    (void)t;
    json_object *body = hs_body_json(q, r), *members = NULL;
    if (!body)
        return;
    json_object_object_get_ex(body, "members", &members);
    pthread_mutex_lock(&hs_w.mu);
    if (body_keys_ok(body, keys, r) && string_field(body, "name", 1, r) && members_ok(members, r)) {
        char id[HS_ID_LEN], ts[32];
        now_iso(ts);
        json_object *g = json_object_new_object();
        hs_new_id(id);
        json_object_object_add(g, "id", json_object_new_string(id));
        json_object_object_add(g, "name", json_object_new_string(field_of(body, "name")));
        json_object_object_add(g, "createdAt", json_object_new_string(ts));
        json_object_object_add(g, "members",
                               members ? json_object_get(members) : json_object_new_object());
        json_object_array_add(hs_w.groups, g);
        json_object *o = json_object_new_object(), *m;
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "name", json_object_new_string(field_of(body, "name")));
        group_users(g);
        json_object_object_get_ex(g, "members", &m);
        json_object_object_add(o, "members", json_object_get(m));
        hs_resp_json(r, 201, o);
    }
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
}

void hs_h_edit_group(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const keys[] = {"name", "members", NULL};
    (void)t;
    json_object *body = hs_body_json(q, r), *members = NULL, *add, *rem;
    if (!body)
        return;
    json_object_object_get_ex(body, "members", &members);
    pthread_mutex_lock(&hs_w.mu);
    if (body_keys_ok(body, keys, r) && string_field(body, "name", 0, r) &&
        member_change_ok(members, &add, &rem, r)) {
        json_object *g = find_by_id(hs_w.groups, q->segs[2], NULL), *v;
        if (!g) {
            hs_err_reason(r, hs_unknown_object_status(q), "Group not found", NULL);
        } else {
            if (json_object_object_get_ex(body, "name", &v))
                json_object_object_add(g, "name", json_object_get(v));
            apply_member_change(g, add, rem);
            hs_resp_json(r, 200, group_view(g));
        }
    }
    pthread_mutex_unlock(&hs_w.mu);
    json_object_put(body);
}

void hs_h_delete_group(hs_req *q, hs_resp *r, hs_token *t)
{
    size_t idx;
    (void)t;
    pthread_mutex_lock(&hs_w.mu);
    if (find_by_id(hs_w.groups, q->segs[2], &idx)) {
        json_object_array_del_idx(hs_w.groups, idx, 1);
        hs_resp_text(r, 204, NULL);
    } else {
        hs_err_reason(r, hs_unknown_object_status(q), "Group not found", NULL);
    }
    pthread_mutex_unlock(&hs_w.mu);
}

/* ---- data connections (secrets accepted, stored nowhere, never returned) ---- */

static const char *const CONN_TYPES[] = {"athena",     "bigquery", "clickhouse",
                                         "databricks", "postgres", "redshift",
                                         "snowflake",  "trino",    NULL};

/* The fields of ReadableConnectionDetails per connection type (the spec): everything else
 * a client sends (password, privateKey, accessToken, and any key the spec does not list,
 * whatever its name) is write-only and never stored or returned. */
static const struct readable {
    const char *type;
    const char *const fields[7];
} READABLE[] = {
    {"athena", {"accessKeyId", "workgroup", "catalog", "s3OutputPath", "port", "hostname"}},
    {"bigquery", {"enableStorageApi", "enableDriveAccess", "projectId"}},
    {"clickhouse", {"username", "port", "hostname"}},
    {"databricks", {"jdbcUrl"}},
    {"postgres", {"username", "database", "port", "hostname"}},
    {"redshift", {"username", "database", "port", "host"}},
    {"snowflake", {"accountName", "warehouse", "database", "schema", "role", "username"}},
    {"trino", {"username", "hostname", "port", "catalog", "schema", "sessionProperties"}},
};

static const char *const *readable_fields(const char *type)
{
    for (size_t i = 0; i < sizeof(READABLE) / sizeof(READABLE[0]); i++)
        if (!strcmp(type, READABLE[i].type))
            return READABLE[i].fields;
    return NULL;
}

static int is_readable(const char *const *fields, const char *key)
{
    for (size_t i = 0; i < 7 && fields[i]; i++)
        if (!strcmp(fields[i], key))
            return 1;
    return 0;
}

/* connectionDetails {"<type>": {...}} reduced to the readable fields of known types. */
static json_object *readable_details(json_object *details)
{
    if (!json_object_is_type(details, json_type_object))
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_foreach(details, type, fields)
    {
        const char *const *allowed = readable_fields(type);
        if (!allowed || !json_object_is_type(fields, json_type_object))
            continue;
        json_object *kept = json_object_new_object();
        json_object_object_foreach(fields, key, val)
        {
            if (is_readable(allowed, key))
                json_object_object_add(kept, key, json_object_get(val));
        }
        json_object_object_add(o, type, kept);
    }
    return o;
}

/* A connection as the API shows it: connectionDetails scrubbed again on the way out, so
 * that a scenario's secrets are never returned either. */
static json_object *connection_view(json_object *c)
{
    json_object *o = json_object_new_object();
    json_object_object_foreach(c, key, val)
    {
        if (!strcmp(key, "connectionDetails"))
            json_object_object_add(o, key, readable_details(val));
        else
            json_object_object_add(o, key, json_object_get(val));
    }
    return o;
}

static json_object *connection_summary(json_object *c)
{
    json_object *o = json_object_new_object(), *v;
    const char *keys[] = {"id", "name", "type", "description"};
    for (size_t i = 0; i < 4; i++)
        if (json_object_object_get_ex(c, keys[i], &v))
            json_object_object_add(o, keys[i], json_object_get(v));
    return o;
}

void hs_h_list_connections(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const sorts[] = {"CREATED_AT", "NAME", NULL};
    static const list_spec spec = {100, sorts, 1, "NAME", 0};
    (void)t;
    list_array(q, r, &hs_w.connections, &spec, connection_summary);
}

void hs_h_get_connection(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    pthread_mutex_lock(&hs_w.mu);
    json_object *c = find_by_id(hs_w.connections, q->segs[2], NULL);
    if (c)
        hs_resp_json(r, 200, connection_view(c));
    else
        hs_err_reason(r, hs_unknown_object_status(q), "Data connection not found", NULL);
    pthread_mutex_unlock(&hs_w.mu);
}

static const char *const CONN_KEYS[] = {"name",
                                        "type",
                                        "description",
                                        "connectionDetails",
                                        "connectViaSsh",
                                        "includeMagic",
                                        "allowWritebackCells",
                                        "schemaFilters",
                                        "schemaRefreshSchedule",
                                        "schemaRefreshAccess",
                                        "sharing",
                                        NULL};

/* Copies the accepted fields of body into conn, keeping secrets out. */
static void connection_apply(json_object *conn, json_object *body)
{
    json_object_object_foreach(body, key, val)
    {
        if (!strcmp(key, "connectionDetails"))
            json_object_object_add(conn, key, readable_details(val));
        else
            json_object_object_add(conn, key, json_object_get(val));
    }
}

static int connection_body_ok(json_object *body, int create, hs_resp *r)
{
    json_object *v;
    /* EditDataConnection's body has no "type": a connection keeps its type. */
    if (!create && json_object_object_get_ex(body, "type", &v)) {
        hs_err_reason(r, 400, "The type of a data connection cannot be changed", NULL);
        return 0;
    }
    if (!body_keys_ok(body, CONN_KEYS, r) || !string_field(body, "name", create, r) ||
        !string_field(body, "type", create, r) || !string_field(body, "description", 0, r))
        return 0;
    if (json_object_object_get_ex(body, "type", &v) &&
        !in_list(json_object_get_string(v), CONN_TYPES)) {
        hs_err_reason(r, 400,
                      "type must be one of athena, bigquery, clickhouse, databricks, "
                      "postgres, redshift, snowflake, trino",
                      NULL);
        return 0;
    }
    int has_details = json_object_object_get_ex(body, "connectionDetails", &v);
    if ((create && !has_details) || (has_details && !json_object_is_type(v, json_type_object))) {
        hs_err_reason(r, 400, "connectionDetails must be an object", NULL);
        return 0;
    }
    return 1;
}

void hs_h_create_connection(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    json_object *body = hs_body_json(q, r);
    if (!body)
        return;
    if (connection_body_ok(body, 1, r)) {
        char id[HS_ID_LEN];
        json_object *c = json_object_new_object(), *sharing = json_object_new_object();
        pthread_mutex_lock(&hs_w.mu);
        hs_new_id(id);
        json_object_object_add(c, "id", json_object_new_string(id));
        json_object_object_add(c, "connectViaSsh", json_object_new_boolean(0));
        json_object_object_add(c, "includeMagic", json_object_new_boolean(1));
        json_object_object_add(c, "allowWritebackCells", json_object_new_boolean(0));
        json_object_object_add(c, "schemaRefreshAccess", json_object_new_string("ADMINS"));
        json_object_object_add(c, "sharing", sharing);
        connection_apply(c, body);
        json_object_array_add(hs_w.connections, c);
        hs_resp_json(r, 201, connection_view(c));
        pthread_mutex_unlock(&hs_w.mu);
    }
    json_object_put(body);
}

void hs_h_edit_connection(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    json_object *body = hs_body_json(q, r);
    if (!body)
        return;
    if (connection_body_ok(body, 0, r)) {
        pthread_mutex_lock(&hs_w.mu);
        json_object *c = find_by_id(hs_w.connections, q->segs[2], NULL);
        if (c) {
            connection_apply(c, body);
            /* Hex answers an edit with 201, as its spec says. */
            hs_resp_json(r, 201, connection_view(c));
        } else {
            hs_err_reason(r, hs_unknown_object_status(q), "Data connection not found", NULL);
        }
        pthread_mutex_unlock(&hs_w.mu);
    }
    json_object_put(body);
}

/* ---- collections ---- */

void hs_h_list_collections(hs_req *q, hs_resp *r, hs_token *t)
{
    static const char *const sorts[] = {"NAME", NULL};
    static const list_spec spec = {100, sorts, 0, "NAME", 0};
    (void)t;
    list_array(q, r, &hs_w.collections, &spec, same_view);
}

void hs_h_get_collection(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    pthread_mutex_lock(&hs_w.mu);
    json_object *c = find_by_id(hs_w.collections, q->segs[2], NULL);
    if (c)
        hs_resp_json(r, 200, json_object_get(c));
    else
        hs_err_reason(r, hs_unknown_object_status(q), "Collection not found", NULL);
    pthread_mutex_unlock(&hs_w.mu);
}

static const char *const COLLECTION_KEYS[] = {"name", "description", "sharing", NULL};

static int collection_body_ok(json_object *body, int create, hs_resp *r)
{
    json_object *v;
    if (!body_keys_ok(body, COLLECTION_KEYS, r) || !string_field(body, "name", create, r) ||
        !string_field(body, "description", 0, r))
        return 0;
    if (json_object_object_get_ex(body, "sharing", &v) &&
        !json_object_is_type(v, json_type_object)) {
        hs_err_reason(r, 400, "sharing must be an object", NULL);
        return 0;
    }
    return 1;
}

void hs_h_create_collection(hs_req *q, hs_resp *r, hs_token *t)
{
    json_object *body = hs_body_json(q, r), *v;
    if (!body)
        return;
    if (collection_body_ok(body, 1, r)) {
        char id[HS_ID_LEN];
        json_object *c = json_object_new_object(), *creator = json_object_new_object();
        pthread_mutex_lock(&hs_w.mu);
        hs_new_id(id);
        json_object *u = find_by_id(hs_w.users, t->user_id, NULL);
        json_object_object_add(c, "id", json_object_new_string(id));
        json_object_object_add(
            creator, "email", json_object_new_string(u ? field_of(u, "email") : "api@example.com"));
        json_object_object_add(creator, "id", json_object_new_string(u ? field_of(u, "id") : id));
        json_object_object_add(c, "creator", creator);
        json_object_object_add(c, "sharing",
                               json_object_object_get_ex(body, "sharing", &v)
                                   ? json_object_get(v)
                                   : json_object_new_object());
        json_object_object_add(c, "name", json_object_new_string(field_of(body, "name")));
        if (json_object_object_get_ex(body, "description", &v))
            json_object_object_add(c, "description", json_object_get(v));
        json_object_array_add(hs_w.collections, c);
        hs_resp_json(r, 201, json_object_get(c));
        pthread_mutex_unlock(&hs_w.mu);
    }
    json_object_put(body);
}

void hs_h_edit_collection(hs_req *q, hs_resp *r, hs_token *t)
{
    (void)t;
    json_object *body = hs_body_json(q, r);
    if (!body)
        return;
    if (collection_body_ok(body, 0, r)) {
        pthread_mutex_lock(&hs_w.mu);
        json_object *c = find_by_id(hs_w.collections, q->segs[2], NULL);
        if (c) {
            json_object_object_foreach(body, key, val)
                json_object_object_add(c, key, json_object_get(val));
            hs_resp_json(r, 200, json_object_get(c));
        } else {
            hs_err_reason(r, hs_unknown_object_status(q), "Collection not found", NULL);
        }
        pthread_mutex_unlock(&hs_w.mu);
    }
    json_object_put(body);
}
