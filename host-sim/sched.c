/* sched.c - schedule file parsing, parameter templates and the state file (see sched.h). */
#include "sched.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Error messages nest (file: entry: field: reason); a long one is cut at the caller's
 * buffer on purpose, so truncation is not a bug here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

const char *sched_overlap_name(overlap_policy p)
{
    switch (p) {
    case OVERLAP_SKIP:
        return "skip";
    case OVERLAP_QUEUE:
        return "queue";
    case OVERLAP_ALLOW:
        return "allow";
    }
    return "?";
}

static int copy_string(json_object *obj, const char *key, char *dst, size_t size, int required,
                       char *err, size_t n)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v)) {
        if (required) {
            snprintf(err, n, "missing \"%s\"", key);
            return -1;
        }
        return 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(err, n, "\"%s\" must be a string", key);
        return -1;
    }
    const char *s = json_object_get_string(v);
    if (strlen(s) >= size || (required && !*s)) {
        snprintf(err, n, "\"%s\" must be 1-%zu characters", key, size - 1);
        return -1;
    }
    snprintf(dst, size, "%s", s);
    return 0;
}

static int parse_overlap(json_object *obj, overlap_policy *out, char *err, size_t n)
{
    char text[16] = "skip";
    if (copy_string(obj, "overlap", text, sizeof text, 0, err, n) != 0)
        return -1;
    for (int p = OVERLAP_SKIP; p <= OVERLAP_ALLOW; p++)
        if (strcmp(text, sched_overlap_name((overlap_policy)p)) == 0) {
            *out = (overlap_policy)p;
            return 0;
        }
    snprintf(err, n, "\"overlap\" must be skip, queue or allow, not \"%s\"", text);
    return -1;
}

static int parse_wait_timeout(json_object *obj, sched_entry *e, char *err, size_t n)
{
    json_object *v;
    e->wait = 1;
    if (json_object_object_get_ex(obj, "wait", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(err, n, "\"wait\" must be true or false");
            return -1;
        }
        e->wait = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(obj, "timeout", &v)) {
        if (!(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
            json_object_get_double(v) < 0) {
            snprintf(err, n, "\"timeout\" must be a number of seconds >= 0");
            return -1;
        }
        e->timeout_s = json_object_get_double(v);
    }
    return 0;
}

/* Expanding with a sample context finds unknown templates when the file loads. */
static int check_params(const sched_entry *e, char *err, size_t n)
{
    tmpl_ctx ctx = {.slot = 0, .fired = 0, .tz = e->cron.tz};
    char *opts = sched_entry_options(e, &ctx, err, n);
    free(opts);
    return opts ? 0 : -1;
}

static int parse_params(json_object *obj, sched_entry *e, char *err, size_t n)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, "params", &v))
        return 0;
    if (!json_object_is_type(v, json_type_object)) {
        snprintf(err, n, "\"params\" must be an object of input name -> value");
        return -1;
    }
    e->params_json = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    if (!e->params_json) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    return check_params(e, err, n);
}

static int parse_entry(json_object *obj, sched_entry *e, char *err, size_t n)
{
    char tz[CRON_TZ_MAX] = "UTC", why[200];
    if (!json_object_is_type(obj, json_type_object)) {
        snprintf(err, n, "must be an object");
        return -1;
    }
    if (copy_string(obj, "name", e->name, sizeof e->name, 1, err, n) != 0 ||
        copy_string(obj, "cron", e->cron_text, sizeof e->cron_text, 1, err, n) != 0 ||
        copy_string(obj, "project", e->project, sizeof e->project, 1, err, n) != 0 ||
        copy_string(obj, "timezone", tz, sizeof tz, 0, err, n) != 0)
        return -1;
    if (cron_parse(&e->cron, e->cron_text, tz, why, sizeof why) != 0) {
        snprintf(err, n, "cron \"%s\": %s", e->cron_text, why);
        return -1;
    }
    if (parse_overlap(obj, &e->overlap, err, n) != 0 || parse_wait_timeout(obj, e, err, n) != 0)
        return -1;
    return parse_params(obj, e, err, n);
}

static int check_unique_names(const sched_file *f, char *err, size_t n)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++)
            if (strcmp(f->entries[i].name, f->entries[j].name) == 0) {
                snprintf(err, n, "entry name \"%s\" is used twice", f->entries[i].name);
                return -1;
            }
    return 0;
}

static int parse_entries(json_object *root, sched_file *f, char *err, size_t n)
{
    json_object *arr;
    if (!json_object_object_get_ex(root, "entries", &arr) ||
        !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) {
        snprintf(err, n, "\"entries\" must be a non-empty array");
        return -1;
    }
    size_t count = json_object_array_length(arr);
    f->entries = calloc(count, sizeof *f->entries);
    if (!f->entries) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        char why[300];
        f->n = i + 1;
        if (parse_entry(json_object_array_get_idx(arr, i), &f->entries[i], why, sizeof why)) {
            snprintf(err, n, "entry %zu: %s", i + 1, why);
            return -1;
        }
    }
    return check_unique_names(f, err, n);
}

static int parse_state_path(json_object *root, const char *path, sched_file *f, char *err, size_t n)
{
    char given[512] = "";
    if (copy_string(root, "state_file", given, sizeof given, 0, err, n) != 0)
        return -1;
    if (given[0])
        f->state_path = strdup(given);
    else if (asprintf(&f->state_path, "%s.state", path) < 0)
        f->state_path = NULL;
    if (!f->state_path) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    return 0;
}

/* Reads a whole JSON file, with an error that says what is wrong and where. */
static json_object *read_json(const char *path, char *err, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    json_object *root = NULL;
    enum json_tokener_error jerr = json_tokener_continue;
    char buf[4096];
    size_t got;
    while (tok && (got = fread(buf, 1, sizeof buf, fp)) > 0) {
        root = json_tokener_parse_ex(tok, buf, (int)got);
        if ((jerr = json_tokener_get_error(tok)) != json_tokener_continue)
            break;
    }
    if (jerr == json_tokener_continue && !root)
        snprintf(err, n, "%s: not valid JSON: the document ends too early", path);
    else if (jerr != json_tokener_success)
        snprintf(err, n, "%s: not valid JSON at byte %zu: %s", path,
                 tok ? json_tokener_get_parse_end(tok) : 0, json_tokener_error_desc(jerr));
    fclose(fp);
    json_tokener_free(tok);
    return root;
}

int sched_file_load(const char *path, sched_file *f, char *err, size_t n)
{
    memset(f, 0, sizeof *f);
    json_object *root = read_json(path, err, n);
    if (!root)
        return -1;
    char why[400];
    int rc = -1;
    if (!json_object_is_type(root, json_type_object))
        snprintf(why, sizeof why, "must be a JSON object with \"entries\"");
    else if (parse_entries(root, f, why, sizeof why) == 0 &&
             parse_state_path(root, path, f, why, sizeof why) == 0)
        rc = 0;
    json_object_put(root);
    if (rc != 0) {
        snprintf(err, n, "%s: %s", path, why);
        sched_file_free(f);
    }
    return rc;
}

void sched_file_free(sched_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->entries[i].params_json);
    free(f->entries);
    free(f->state_path);
    memset(f, 0, sizeof *f);
}

/* Replaces every string value of the tree with its expansion. */
static int expand_tree(json_object *v, const tmpl_ctx *ctx, char *err, size_t n)
{
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, child)
        {
            (void)key;
            if (expand_tree(child, ctx, err, n) != 0)
                return -1;
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (expand_tree(json_object_array_get_idx(v, i), ctx, err, n) != 0)
                return -1;
    } else if (json_object_is_type(v, json_type_string)) {
        char *s = tmpl_expand(json_object_get_string(v), ctx, err, n);
        if (!s)
            return -1;
        json_object_set_string(v, s);
        free(s);
    }
    return 0;
}

char *sched_entry_options(const sched_entry *e, const tmpl_ctx *ctx, char *err, size_t n)
{
    if (!e->params_json)
        return strdup("{}");
    json_object *params = json_tokener_parse(e->params_json);
    if (!params) {
        snprintf(err, n, "params are not valid JSON");
        return NULL;
    }
    char *out = NULL;
    if (expand_tree(params, ctx, err, n) == 0) {
        json_object *opts = json_object_new_object();
        json_object_object_add(opts, "inputParams", params);
        out = strdup(json_object_to_json_string_ext(opts, JSON_C_TO_STRING_PLAIN));
        json_object_put(opts);
        if (!out)
            snprintf(err, n, "out of memory");
    } else {
        json_object_put(params);
    }
    return out;
}

/* ---- state file ---- */

time_t sched_state_get(const sched_state *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->names[i], name) == 0)
            return st->last_slot[i];
    return -1;
}

int sched_state_set(sched_state *st, const char *name, time_t slot)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->names[i], name) == 0) {
            st->last_slot[i] = slot;
            return 0;
        }
    char **names = realloc(st->names, (st->n + 1) * sizeof *names);
    if (!names)
        return -1;
    st->names = names;
    time_t *slots = realloc(st->last_slot, (st->n + 1) * sizeof *slots);
    if (!slots)
        return -1;
    st->last_slot = slots;
    if (!(names[st->n] = strdup(name)))
        return -1;
    slots[st->n++] = slot;
    return 0;
}

void sched_state_free(sched_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->names[i]);
    free(st->names);
    free(st->last_slot);
    memset(st, 0, sizeof *st);
}

int sched_state_load(const char *path, sched_state *st, char *err, size_t n)
{
    memset(st, 0, sizeof *st);
    if (access(path, F_OK) != 0)
        return 0;
    json_object *root = json_object_from_file(path), *entries;
    if (!root || !json_object_object_get_ex(root, "last_slot", &entries) ||
        !json_object_is_type(entries, json_type_object)) {
        snprintf(err, n,
                 "state file %s is not a hexrun schedule state (remove it to start "
                 "afresh)",
                 path);
        json_object_put(root);
        return -1;
    }
    int rc = 0;
    json_object_object_foreach(entries, name, slot)
    {
        if (rc == 0 && sched_state_set(st, name, (time_t)json_object_get_int64(slot)) != 0)
            rc = -1;
    }
    json_object_put(root);
    if (rc != 0)
        snprintf(err, n, "out of memory");
    return rc;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The temporary state file: created afresh, never through a symlink, readable by its
 * owner only (it names the schedule's entries). A leftover of a crashed run, or anything
 * planted at the name, is removed (unlink does not follow links) and the create retried. */
static int create_private(const char *tmp)
{
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(tmp, flags, 0600);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, flags, 0600);
    return fd;
}

/* Whether the name still leads to the file written (nobody swapped it before the rename). */
static int still_named(int fd, const char *name)
{
    struct stat mine, named;
    if (fstat(fd, &mine) != 0 || lstat(name, &named) != 0)
        return 0;
    if (mine.st_dev == named.st_dev && mine.st_ino == named.st_ino)
        return 1;
    errno = EEXIST;
    return 0;
}

int sched_state_save(const char *path, const sched_state *st, char *err, size_t n)
{
    json_object *root = json_object_new_object(), *entries = json_object_new_object();
    json_object_object_add(root, "last_slot", entries);
    for (size_t i = 0; i < st->n; i++)
        json_object_object_add(entries, st->names[i], json_object_new_int64(st->last_slot[i]));
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = create_private(tmp);
    int rc = -1;
    if (fd >= 0) {
        rc = write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0 &&
                     fsync(fd) == 0 && still_named(fd, tmp)
                 ? 0
                 : -1;
        if (close(fd) != 0)
            rc = -1;
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -1;
        if (rc != 0)
            unlink(tmp);
    }
    if (rc != 0)
        snprintf(err, n, "cannot write state file %s: %s", path, strerror(errno));
    json_object_put(root);
    return rc;
}
