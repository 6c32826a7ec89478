/*
 * variant.c - the switches of hexsim's variant profile: answers Hex's spec allows that the
 * default profile never gives (docs/hexsim.md, "The variant profile"). Each switch is set
 * on its own from the scenario's "variant" object or POST /__sim/variant; the profile
 * `spec-variant` (--profile, or the scenario's "profile") turns them all on.
 */
#include "hexsim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The spec-variant preset: every switch on, the periodic ones often enough that a short
 * suite meets each of them, never on every request (a client must still make progress). */
static void preset_spec_variant(hs_variant *v)
{
    v->unknown_object_status = HS_UNKNOWN_AS_SPEC;
    v->run_after = (hs_after_work){504, 3};
    v->cancel_after = (hs_after_work){502, 3};
    v->odd_fields = 1;
    v->extra_fields = 1;
    v->opaque_next_page = 1;
    v->async_cancel_ms = 2000;
    v->cancel_race_every = 4;
    snprintf(v->unknown_status, sizeof(v->unknown_status), "QUEUED_FOR_KERNEL");
    v->retry_after_date = 1;
}

int hs_variant_profile(hs_variant *v, const char *name, char *err, size_t errlen)
{
    memset(v, 0, sizeof(*v));
    if (!strcmp(name, "default"))
        return 0;
    if (!strcmp(name, "spec-variant")) {
        preset_spec_variant(v);
        return 0;
    }
    snprintf(err, errlen, "unknown profile \"%s\" (default, spec-variant)", name);
    return -1;
}

static int set_bool(json_object *val, int *out)
{
    if (!json_object_is_type(val, json_type_boolean))
        return -1;
    *out = json_object_get_boolean(val);
    return 0;
}

static int set_int(json_object *val, int lo, int hi, int *out)
{
    if (!json_object_is_type(val, json_type_int))
        return -1;
    int64_t n = json_object_get_int64(val);
    if (n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

/* null (off), or {"status": 500..599, "every": N >= 1}. */
static int set_after_work(json_object *val, hs_after_work *out)
{
    json_object *s, *e;
    hs_after_work w = {0, 1};
    if (!val) {
        *out = w;
        return 0;
    }
    if (!json_object_is_type(val, json_type_object) ||
        !json_object_object_get_ex(val, "status", &s) || set_int(s, 500, 599, &w.status) ||
        (json_object_object_get_ex(val, "every", &e) && set_int(e, 1, 1000000, &w.every)) ||
        json_object_object_length(val) > 1 + json_object_object_get_ex(val, "every", &e))
        return -1;
    *out = w;
    return 0;
}

/* 404 (the default), 400, 422, or "spec": 422 where the operation declares it, else 400. */
static int set_unknown_object(json_object *val, int *out)
{
    if (json_object_is_type(val, json_type_string) &&
        !strcmp(json_object_get_string(val), "spec")) {
        *out = HS_UNKNOWN_AS_SPEC;
        return 0;
    }
    int n;
    if (set_int(val, 400, 422, &n) || (n != 400 && n != 404 && n != 422))
        return -1;
    *out = n == 404 ? 0 : n;
    return 0;
}

/* null (off), or a status name of letters and underscores that Hex does not use. */
static int set_unknown_status(json_object *val, char *out, size_t cap)
{
    static const char *const known[] = {"PENDING", "RUNNING", "COMPLETED",
                                        "ERRORED", "KILLED",  "UNABLE_TO_ALLOCATE_KERNEL"};
    if (!val) {
        out[0] = '\0';
        return 0;
    }
    const char *s = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
    size_t len = strlen(s);
    if (len == 0 || len >= cap || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != len)
        return -1;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(s, known[i]))
            return -1;
    snprintf(out, cap, "%s", s);
    return 0;
}

static int set_one(hs_variant *v, const char *key, json_object *val)
{
    if (!strcmp(key, "unknown_object_status"))
        return set_unknown_object(val, &v->unknown_object_status);
    if (!strcmp(key, "run_project_after_work"))
        return set_after_work(val, &v->run_after);
    if (!strcmp(key, "cancel_after_work"))
        return set_after_work(val, &v->cancel_after);
    if (!strcmp(key, "odd_fields"))
        return set_bool(val, &v->odd_fields);
    if (!strcmp(key, "extra_fields"))
        return set_bool(val, &v->extra_fields);
    if (!strcmp(key, "opaque_next_page"))
        return set_bool(val, &v->opaque_next_page);
    if (!strcmp(key, "async_cancel_ms"))
        return set_int(val, 0, 3600000, &v->async_cancel_ms);
    if (!strcmp(key, "cancel_race_every"))
        return set_int(val, 0, 1000000, &v->cancel_race_every);
    if (!strcmp(key, "unknown_status"))
        return set_unknown_status(val, v->unknown_status, sizeof(v->unknown_status));
    if (!strcmp(key, "retry_after_date"))
        return set_bool(val, &v->retry_after_date);
    return -2;
}

int hs_variant_apply(hs_variant *v, json_object *src, char *err, size_t errlen)
{
    json_object *profile;
    if (!json_object_is_type(src, json_type_object)) {
        snprintf(err, errlen, "the variant must be a JSON object of switches");
        return -1;
    }
    hs_variant out = *v;
    /* A profile first, so that switches beside it adjust the preset. */
    if (json_object_object_get_ex(src, "profile", &profile) &&
        hs_variant_profile(&out, json_object_get_string(profile), err, errlen))
        return -1;
    json_object_object_foreach(src, key, val)
    {
        if (!strcmp(key, "profile"))
            continue;
        int rc = set_one(&out, key, val);
        if (rc == -2) {
            snprintf(err, errlen, "unknown variant switch \"%s\" (see docs/hexsim.md)", key);
            return -1;
        }
        if (rc) {
            snprintf(err, errlen,
                     "variant switch \"%s\" has a value it does not take "
                     "(see docs/hexsim.md)",
                     key);
            return -1;
        }
    }
    out.run_after_n = out.cancel_after_n = out.cancel_n = 0;
    *v = out;
    return 0;
}

static json_object *after_work_json(const hs_after_work *w)
{
    if (!w->status)
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int(w->status));
    json_object_object_add(o, "every", json_object_new_int(w->every));
    return o;
}

json_object *hs_variant_json(const hs_variant *v)
{
    json_object *o = json_object_new_object();
    int u = v->unknown_object_status;
    json_object_object_add(o, "unknown_object_status",
                           u == HS_UNKNOWN_AS_SPEC ? json_object_new_string("spec")
                                                   : json_object_new_int(u ? u : 404));
    json_object_object_add(o, "run_project_after_work", after_work_json(&v->run_after));
    json_object_object_add(o, "cancel_after_work", after_work_json(&v->cancel_after));
    json_object_object_add(o, "odd_fields", json_object_new_boolean(v->odd_fields));
    json_object_object_add(o, "extra_fields", json_object_new_boolean(v->extra_fields));
    json_object_object_add(o, "opaque_next_page", json_object_new_boolean(v->opaque_next_page));
    json_object_object_add(o, "async_cancel_ms", json_object_new_int(v->async_cancel_ms));
    json_object_object_add(o, "cancel_race_every", json_object_new_int(v->cancel_race_every));
    json_object_object_add(o, "unknown_status",
                           v->unknown_status[0] ? json_object_new_string(v->unknown_status) : NULL);
    json_object_object_add(o, "retry_after_date", json_object_new_boolean(v->retry_after_date));
    return o;
}

int hs_unknown_object_status(const hs_req *q)
{
    int u = hs_w.variant.unknown_object_status;
    if (u == HS_UNKNOWN_AS_SPEC)
        return q->declares_422 ? 422 : 400;
    return u ? u : 404;
}

int hs_after_work_due(hs_after_work *w, uint64_t *n)
{
    return w->status && ++*n % (uint64_t)w->every == 0;
}
