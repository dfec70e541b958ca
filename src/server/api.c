/* src/server/api.c - request codecs of the API: the submission body's
 * validation (every field typed and bounded; unknown fields refused) and
 * the reply helpers. Pure functions; fuzzed through srv_spec_parse. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/cluster.h"
#include "server_int.h"

void srv_buf_printf(srv_buf *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->cap - b->n;
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->p && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return;
        b->p = p;
        b->cap = cap;
    }
}

void srv_reply_json(srv_req *r, int status, json_t *j)
{
    free(r->out);
    r->out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    r->out_len = r->out ? strlen(r->out) : 0;
    r->status = r->out ? status : 500;
    r->ctype = "application/json";
    json_decref(j);
}

void srv_reply_error(srv_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto fail;                                                                                 \
    } while (0)

int srv_json_int(json_t *o, const char *k, long long lo, long long hi, long long def,
                 long long *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "%s: must be an integer %lld..%lld", k, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int str_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t') return 0;
    return 1;
}

int srv_spec_parse(json_t *body, srv_spec *out, char *err, size_t errlen)
{
    static const char *known[] = {"command",     "name",       "tenant", "devices", "milli",
                                  "chip",        "gang_size",  "cpu",    "mem",     "priority",
                                  "preemptible", "time_limit", "env",    "workdir"};
    memset(out, 0, sizeof *out);
    json_t *doc = NULL;
    if (!json_is_object(body)) FAIL("the body must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0) i++;
        if (i == sizeof known / sizeof known[0]) FAIL("%.64s: unknown field", key);
    }
    doc = json_object();
    json_t *cmd = json_object_get(body, "command");
    if (!json_is_array(cmd) || json_array_size(cmd) < 1 || json_array_size(cmd) > 256)
        FAIL("command: must be an array of 1..256 strings");
    size_t ci;
    json_array_foreach(cmd, ci, val)
    {
        if (!json_is_string(val) || !str_ok(json_string_value(val), 4096))
            FAIL("command[%zu]: must be a string of at most 4096 bytes without control characters",
                 ci);
    }
    if (ci > 0 && json_string_length(json_array_get(cmd, 0)) == 0)
        FAIL("command[0]: must not be empty");
    json_object_set(doc, "command", cmd);
    long long x;
    if (srv_json_int(body, "devices", 0, ALLOT_MAX_DEVS_PER_NODE, 1, &x, err, errlen)) goto fail;
    out->devices = (int)x;
    if (srv_json_int(body, "milli", 1, 1000, 1000, &x, err, errlen)) goto fail;
    out->milli = (int)x;
    if (out->milli < 1000 && out->devices != 1)
        FAIL("milli: a share of a device needs devices = 1");
    if (srv_json_int(body, "gang_size", 1, 4096, 1, &x, err, errlen)) goto fail;
    out->gang = (int)x;
    if (srv_json_int(body, "cpu", 0, 1000000000, 0, &x, err, errlen)) goto fail;
    out->cpu = x;
    if (srv_json_int(body, "mem", 0, 1000000000, 0, &x, err, errlen)) goto fail;
    out->mem = x;
    if (srv_json_int(body, "priority", -1000, 1000, 0, &x, err, errlen)) goto fail;
    out->priority = (int)x;
    if (srv_json_int(body, "time_limit", 1, 100LL * 365 * 86400, 0, &x, err, errlen)) goto fail;
    out->time_limit = x;
    if (out->devices == 0 && out->cpu == 0) out->cpu = 1000; /* a CPU-only task needs something */
    val = json_object_get(body, "preemptible");
    if (val && !json_is_boolean(val) && !json_is_null(val))
        FAIL("preemptible: must be true or false");
    out->preemptible = json_is_true(val);
    const char *sfield[] = {"name", "tenant", "chip"};
    char *sdst[] = {NULL, out->tenant, out->chip};
    char name[64] = "";
    sdst[0] = name;
    for (int i = 0; i < 3; i++) {
        val = json_object_get(body, sfield[i]);
        if (!val || json_is_null(val)) continue;
        if (!json_is_string(val)) FAIL("%s: must be a string", sfield[i]);
        const char *sv = json_string_value(val);
        const char *why = allot_name_problem(sv, strlen(sv));
        if (why) FAIL("%s: %s", sfield[i], why);
        snprintf(sdst[i], 64, "%s", sv);
    }
    if (out->chip[0] && out->devices == 0) FAIL("chip: a CPU-only job (devices = 0) has no chip");
    if (name[0]) json_object_set_new(doc, "name", json_string(name));
    val = json_object_get(body, "workdir");
    if (val && !json_is_null(val)) {
        if (!json_is_string(val) || !str_ok(json_string_value(val), 4096) ||
            json_string_value(val)[0] != '/')
            FAIL("workdir: must be an absolute path of at most 4096 bytes");
        json_object_set(doc, "workdir", val);
    }
    val = json_object_get(body, "env");
    json_t *env = json_object();
    json_object_set_new(doc, "env", env);
    if (val && !json_is_null(val)) {
        if (!json_is_object(val) || json_object_size(val) > 64)
            FAIL("env: must be an object of at most 64 string values");
        json_t *ev;
        json_object_foreach(val, key, ev)
        {
            size_t kl = strlen(key);
            int bad = kl == 0 || kl > 256 || strchr(key, '=') != NULL;
            for (size_t i = 0; i < kl && !bad; i++)
                bad = !(key[i] == '_' || (key[i] >= '0' && key[i] <= '9' && i > 0) ||
                        (key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= 'a' && key[i] <= 'z'));
            if (bad) FAIL("env: '%.64s' is not a variable name", key);
            if (!json_is_string(ev) || !str_ok(json_string_value(ev), 4096))
                FAIL("env.%.64s: must be a string of at most 4096 bytes", key);
            json_object_set(env, key, ev);
        }
    }
    json_object_set_new(doc, "devices", json_integer(out->devices));
    json_object_set_new(doc, "milli", json_integer(out->milli));
    json_object_set_new(doc, "gang_size", json_integer(out->gang));
    json_object_set_new(doc, "cpu", json_integer(out->cpu));
    json_object_set_new(doc, "mem", json_integer(out->mem));
    json_object_set_new(doc, "priority", json_integer(out->priority));
    json_object_set_new(doc, "preemptible", json_boolean(out->preemptible));
    if (out->time_limit) json_object_set_new(doc, "time_limit", json_integer(out->time_limit));
    if (out->chip[0]) json_object_set_new(doc, "chip", json_string(out->chip));
    if (out->tenant[0]) json_object_set_new(doc, "tenant", json_string(out->tenant));
    out->doc = doc;
    return 0;
fail:
    json_decref(doc);
    out->doc = NULL;
    return -1;
}

void srv_spec_free(srv_spec *s)
{
    if (!s) return;
    json_decref(s->doc);
    s->doc = NULL;
}
