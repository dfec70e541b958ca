/* src/server/svc_api.c - the request codecs of /v1/services (routing, the
 * service body, PATCH, load samples) and the Prometheus text reader the
 * scraper uses. Pure functions, run on the HTTP threads, the state thread
 * and the scraper; fuzzed (tests/fuzz/fuzz_services.c).
 *
 * A service body is checked field by field (types, ranges, unknown fields
 * refused), then as a serving model with allot_service_check: the SLO must
 * be at least the model's minimum latency, the service time of the
 * service's mean request on each allowed chip. Example: token rates of 8000
 * (prefill) and 40 (decode) tok/s and the default request of 1000 + 100
 * tokens give 1000/8000 + 100/40 = 2.625 s; an SLO of 2 s is refused.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allot/cluster.h"
#include "server_int.h"
#include "services_int.h"

/* ---- routing (HTTP threads) ---------------------------------------------------------------- */

int srv_route_services(srv_req *r, const char *method, const char *rest)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
        del = strcmp(method, "DELETE") == 0, patch = strcmp(method, "PATCH") == 0;
    if (r->role == ROLE_AGENT) {
        srv_reply_error(r, 403, "forbidden", "agent tokens cannot use the service routes");
        return -1;
    }
    if (rest[0] == 0 || (rest[0] == '/' && rest[1] == 0)) {
        if (get)
            r->kind = RQ_SVC_LIST;
        else if (post)
            r->kind = RQ_SVC_CREATE;
        else
            goto method;
        return 0;
    }
    const char *nm = rest + 1, *slash = strchr(nm, '/');
    size_t n = slash ? (size_t)(slash - nm) : strlen(nm);
    if (n == 0 || n > SVC_NAME_MAX || allot_name_problem(nm, n)) {
        srv_reply_error(r, 404, "not_found", "no service '%.*s'", (int)(n > 64 ? 64 : n), nm);
        return -1;
    }
    memcpy(r->name, nm, n);
    r->name[n] = 0;
    if (!slash) {
        if (get)
            r->kind = RQ_SVC_GET;
        else if (patch)
            r->kind = RQ_SVC_PATCH;
        else if (del)
            r->kind = RQ_SVC_DELETE;
        else
            goto method;
        return 0;
    }
    if (strcmp(slash, "/load") == 0) {
        if (!post) goto method;
        r->kind = RQ_SVC_LOAD;
        return 0;
    }
    srv_reply_error(r, 404, "not_found", "no route %s /v1/services%.200s", method, rest);
    return -1;
method:
    srv_reply_error(r, 405, "method_not_allowed", "%s is not allowed on /v1/services%.200s", method,
                    rest);
    return -1;
}

/* ---- helpers ------------------------------------------------------------------------------------
 */

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto fail;                                                                                 \
    } while (0)

static int known_fields(json_t *o, const char *const *known, size_t n, const char *where, char *err,
                        size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(known[i], key) != 0) i++;
        if (i == n) {
            snprintf(err, errlen, "%s%.64s: unknown field", where, key);
            return -1;
        }
    }
    return 0;
}

/* An optional number in [lo, hi] (excl: lo itself refused). */
static int get_num(json_t *o, const char *k, double lo, double hi, int excl, double def,
                   double *out, const char *where, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(isfinite(x) && (excl ? x > lo : x >= lo) && x <= hi)) {
        snprintf(err, errlen, "%s%s: must be a number %s %g and <= %g", where, k,
                 excl ? ">" : ">=", lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* The default capacity of the chip types the serving model knows
 * (allot_service_default, docs/internals/serving.md); "A100" is what the
 * agents call an A100-80G. */
static int default_chip(const char *name, allot_serve_chip *out)
{
    allot_service d;
    allot_service_default(&d, ALLOT_REQ_LLM);
    for (size_t i = 0; i < d.nchips; i++) {
        int alias = strcasecmp(name, "A100") == 0 && strcmp(d.chips[i].name, "A100-80G") == 0;
        if (strcasecmp(name, d.chips[i].name) == 0 || alias) {
            *out = d.chips[i];
            snprintf(out->name, sizeof out->name, "%s", name);
            return 0;
        }
    }
    return -1;
}

double svc_spec_es(const svc_spec *s, size_t k)
{
    const allot_serve_chip *c = &s->m.chips[k];
    if (s->kind == ALLOT_REQ_EXEC) return c->exec_speed > 0 ? 1.0 / c->exec_speed : INFINITY;
    return s->in_tok / c->prefill_tps + s->out_tok / c->decode_tps;
}

/* ---- the service body --------------------------------------------------------------------------
 */

static int parse_chip(json_t *v, size_t i, allot_serve_chip *c, int *kind, double *cold_given,
                      char *err, size_t errlen)
{
    static const char *known[] = {"name", "prefill_tps", "decode_tps", "rps", "cold_start_s"};
    char where[32];
    snprintf(where, sizeof where, "chips[%zu].", i);
    memset(c, 0, sizeof *c);
    *cold_given = -1;
    if (json_is_string(v)) {
        const char *nm = json_string_value(v);
        const char *why = allot_name_problem(nm, strlen(nm));
        if (why) FAIL("chips[%zu]: %s", i, why);
        if (default_chip(nm, c))
            FAIL("chips[%zu]: no default capacity for chip type %s: give {\"name\": \"%s\", "
                 "\"prefill_tps\": ..., \"decode_tps\": ...} or {\"name\": \"%s\", \"rps\": ...}",
                 i, nm, nm, nm);
        *kind = ALLOT_REQ_LLM;
        return 0;
    }
    if (!json_is_object(v)) FAIL("chips[%zu]: a chip type name or an object", i);
    if (known_fields(v, known, sizeof known / sizeof known[0], where, err, errlen)) return -1;
    const char *nm = json_string_value(json_object_get(v, "name"));
    if (!nm) FAIL("chips[%zu].name: required (a chip type such as H100)", i);
    const char *why = allot_name_problem(nm, strlen(nm));
    if (why) FAIL("chips[%zu].name: %s", i, why);
    snprintf(c->name, sizeof c->name, "%s", nm);
    double pf, dc, rps;
    if (get_num(v, "prefill_tps", 0, 1e9, 1, 0, &pf, where, err, errlen) ||
        get_num(v, "decode_tps", 0, 1e9, 1, 0, &dc, where, err, errlen) ||
        get_num(v, "rps", 0, 1e9, 1, 0, &rps, where, err, errlen) ||
        get_num(v, "cold_start_s", 0, 86400, 0, -1, cold_given, where, err, errlen))
        return -1;
    int tok = pf > 0 || dc > 0;
    if (tok && rps > 0)
        FAIL("chips[%zu]: either token rates (prefill_tps, decode_tps) or rps, not both", i);
    if (tok && !(pf > 0 && dc > 0)) FAIL("chips[%zu]: prefill_tps and decode_tps go together", i);
    if (!tok && !(rps > 0)) {
        allot_serve_chip d;
        if (default_chip(nm, &d))
            FAIL("chips[%zu]: no capacity for %s: give prefill_tps and decode_tps (tokens/s per "
                 "slot) or rps (requests/s per replica)",
                 i, nm);
        *c = d; /* a known chip with only a cold start given */
        *kind = ALLOT_REQ_LLM;
        return 0;
    }
    c->cold_start_s = -1; /* the caller's default */
    if (tok) {
        c->prefill_tps = pf;
        c->decode_tps = dc;
        *kind = ALLOT_REQ_LLM;
    } else {
        c->exec_speed = rps; /* per replica: divided by the slots once known */
        *kind = ALLOT_REQ_EXEC;
    }
    return 0;
fail:
    return -1;
}

static int parse_load(json_t *v, svc_spec *s, char *err, size_t errlen)
{
    static const char *known[] = {"url", "rps_metric", "queue_metric", "interval_s"};
    if (!v || json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), "push") == 0))
        return 0;
    json_t *sc = json_is_object(v) ? json_object_get(v, "scrape") : NULL;
    if (!sc || json_object_size(v) != 1 || !json_is_object(sc))
        FAIL("load: \"push\" or {\"scrape\": {\"url\": ..., \"rps_metric\": ..., \"queue_metric\": "
             "...}}");
    if (known_fields(sc, known, sizeof known / sizeof known[0], "load.scrape.", err, errlen))
        return -1;
    const char *url = json_string_value(json_object_get(sc, "url"));
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
        strlen(url) >= SVC_URL_MAX || strlen(url) < 9)
        FAIL("load.scrape.url: an http:// or https:// URL of at most %d bytes", SVC_URL_MAX - 1);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            FAIL("load.scrape.url: no spaces or control characters");
    const char *rm = json_string_value(json_object_get(sc, "rps_metric"));
    json_t *qv = json_object_get(sc, "queue_metric");
    const char *qm = json_string_value(qv);
    if (!rm || !svc_prom_selector_ok(rm))
        FAIL("load.scrape.rps_metric: a metric name, optionally with labels: "
             "name{label=\"value\"} (a counter is turned into a rate)");
    if (qv && !json_is_null(qv) && (!qm || !svc_prom_selector_ok(qm)))
        FAIL("load.scrape.queue_metric: a metric name, optionally with labels");
    if (get_num(sc, "interval_s", 0.1, 3600, 0, 5, &s->interval_s, "load.scrape.", err, errlen))
        return -1;
    s->scrape = 1;
    snprintf(s->url, sizeof s->url, "%s", url);
    snprintf(s->rps_metric, sizeof s->rps_metric, "%s", rm);
    snprintf(s->queue_metric, sizeof s->queue_metric, "%s", qm ? qm : "");
    return 0;
fail:
    return -1;
}

int svc_spec_parse(json_t *body, svc_spec *out, char *err, size_t errlen)
{
    static const char *known[] = {"name",         "tenant",          "command", "env",
                                  "workdir",      "devices",         "milli",   "cpu",
                                  "mem",          "chips",           "slots",   "request",
                                  "min_replicas", "max_replicas",    "slo_s",   "slo_target",
                                  "policy",       "cold_start_s",    "drain_s", "priority",
                                  "load",         "signal_timeout_s"};
    memset(out, 0, sizeof *out);
    json_t *job = NULL, *doc = NULL;
    srv_spec sp = {0};
    int rc = -1;
    if (!json_is_object(body)) FAIL("the body must be a JSON object");
    if (known_fields(body, known, sizeof known / sizeof known[0], "", err, errlen)) goto fail;
    /* name, tenant */
    json_t *v = json_object_get(body, "name");
    const char *nm = json_string_value(v);
    if (!nm) FAIL("name: required, a string");
    const char *why = allot_name_problem(nm, strlen(nm));
    if (why) FAIL("name: %s", why);
    if (strlen(nm) > SVC_NAME_MAX) FAIL("name: at most %d characters", SVC_NAME_MAX);
    snprintf(out->m.name, sizeof out->m.name, "%s", nm);
    v = json_object_get(body, "tenant");
    if (v && !json_is_null(v)) {
        const char *tn = json_string_value(v);
        if (!tn) FAIL("tenant: must be a string");
        if ((why = allot_name_problem(tn, strlen(tn)))) FAIL("tenant: %s", why);
        snprintf(out->tenant, sizeof out->tenant, "%s", tn);
    }
    /* the replica's job: the job codec checks command, env, workdir and the shape */
    job = json_object();
    static const char *jf[] = {"command", "env", "workdir", "devices", "milli", "cpu", "mem"};
    for (size_t i = 0; i < sizeof jf / sizeof jf[0]; i++)
        if ((v = json_object_get(body, jf[i]))) json_object_set(job, jf[i], v);
    if (!json_object_get(body, "command")) FAIL("command: required, an array of strings (argv)");
    v = json_object_get(body, "devices");
    if (v && json_is_integer(v) && json_integer_value(v) == 0)
        FAIL("devices: a replica needs at least 1 device");
    if (srv_spec_parse(job, &sp, err, errlen)) goto fail;
    json_decref(job);
    job = sp.doc;
    sp.doc = NULL;
    if (json_object_size(json_object_get(job, "env")) > SVC_ENV_MAX)
        FAIL("env: at most %d variables for a service", SVC_ENV_MAX);
    out->m.devices = sp.devices;
    out->milli = sp.milli;
    out->cpu = sp.cpu;
    out->mem = sp.mem;
    /* chips: capacity per chip type */
    double cold_all;
    if (get_num(body, "cold_start_s", 0, 86400, 0, -1, &cold_all, "", err, errlen)) goto fail;
    v = json_object_get(body, "chips");
    int kind = -1;
    if (!v || json_is_null(v)) {
        allot_service d;
        allot_service_default(&d, ALLOT_REQ_LLM);
        out->m.nchips = d.nchips;
        memcpy(out->m.chips, d.chips, sizeof d.chips);
        kind = ALLOT_REQ_LLM;
    } else {
        if (!json_is_array(v) || json_array_size(v) < 1 ||
            json_array_size(v) > ALLOT_SERVE_MAX_CHIPS)
            FAIL("chips: an array of 1..%d chip types (names, or objects with their capacity)",
                 ALLOT_SERVE_MAX_CHIPS);
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int k = -1;
            double cold;
            if (parse_chip(c, i, &out->m.chips[i], &k, &cold, err, errlen)) goto fail;
            /* cold start: the chip's own, else the service's, else the
             * default chip's, else 60 s */
            if (cold >= 0)
                out->m.chips[i].cold_start_s = cold;
            else if (cold_all >= 0)
                out->m.chips[i].cold_start_s = cold_all;
            else if (out->m.chips[i].cold_start_s < 0)
                out->m.chips[i].cold_start_s = 60;
            out->rps[i] = out->m.chips[i].exec_speed;
            if (kind >= 0 && k != kind)
                FAIL("chips[%zu]: every chip type gives the same kind of capacity (token rates, "
                     "or rps)",
                     i);
            kind = k;
            for (size_t p = 0; p < i; p++)
                if (strcasecmp(out->m.chips[p].name, out->m.chips[i].name) == 0)
                    FAIL("chips[%zu]: %s is listed twice", i, out->m.chips[i].name);
        }
        out->m.nchips = json_array_size(v);
    }
    if ((!v || json_is_null(v)) && cold_all >= 0)
        for (size_t i = 0; i < out->m.nchips; i++) out->m.chips[i].cold_start_s = cold_all;
    out->kind = kind;
    allot_service def;
    allot_service_default(&def, kind);
    long long x;
    if (srv_json_int(body, "slots", 1, 4096, kind == ALLOT_REQ_EXEC ? 1 : def.slots, &x, err,
                     errlen))
        goto fail;
    out->m.slots = (int)x;
    if (kind == ALLOT_REQ_EXEC) /* rps per replica -> speed of one slot: es = slots / rps */
        for (size_t i = 0; i < out->m.nchips; i++) out->m.chips[i].exec_speed /= out->m.slots;
    v = json_object_get(body, "request");
    out->in_tok = SVC_DEFAULT_IN_TOKENS;
    out->out_tok = SVC_DEFAULT_OUT_TOKENS;
    if (v && !json_is_null(v)) {
        static const char *rk[] = {"in_tokens", "out_tokens"};
        if (kind == ALLOT_REQ_EXEC)
            FAIL("request: only with token rates (prefill_tps, decode_tps); with rps the "
                 "capacity already says how long a request takes");
        if (!json_is_object(v)) FAIL("request: an object {\"in_tokens\": N, \"out_tokens\": M}");
        if (known_fields(v, rk, 2, "request.", err, errlen)) goto fail;
        long long it, ot;
        if (srv_json_int(v, "in_tokens", 0, 10000000, SVC_DEFAULT_IN_TOKENS, &it, err, errlen) ||
            srv_json_int(v, "out_tokens", 0, 10000000, SVC_DEFAULT_OUT_TOKENS, &ot, err, errlen))
            goto fail;
        out->in_tok = (double)it;
        out->out_tok = (double)ot;
        if (out->in_tok + out->out_tok <= 0) FAIL("request: a request has at least one token");
    }
    /* bounds, SLO, drain, policy, priority */
    if (srv_json_int(body, "min_replicas", 0, SVC_REPLICA_MAX, def.min_replicas, &x, err, errlen))
        goto fail;
    out->m.min_replicas = (int)x;
    if (srv_json_int(body, "max_replicas", 1, SVC_REPLICA_MAX,
                     def.max_replicas > out->m.min_replicas ? def.max_replicas
                                                            : out->m.min_replicas,
                     &x, err, errlen))
        goto fail;
    out->m.max_replicas = (int)x;
    if (out->m.min_replicas > out->m.max_replicas)
        FAIL("max_replicas: %d is below min_replicas %d", out->m.max_replicas, out->m.min_replicas);
    if (get_num(body, "slo_s", 0, 86400, 1, def.slo_s, &out->m.slo_s, "", err, errlen) ||
        get_num(body, "drain_s", 0, 86400, 0, def.drain_s, &out->m.drain_s, "", err, errlen) ||
        get_num(body, "signal_timeout_s", 0, 86400, 1, 0, &out->signal_timeout_s, "", err, errlen))
        goto fail;
    v = json_object_get(body, "slo_target");
    out->m.slo_target = def.slo_target;
    if (v && !json_is_null(v)) {
        double t = json_is_number(v) ? json_number_value(v) : NAN;
        if (!(t > 0 && t < 1)) FAIL("slo_target: a fraction strictly between 0 and 1 (0.99)");
        out->m.slo_target = t;
    }
    v = json_object_get(body, "policy");
    out->policy = ALLOT_AS_ALLOT;
    if (v && !json_is_null(v)) {
        int p = allot_autoscaler_parse(json_string_value(v));
        if (p < 0) FAIL("policy: one of hpa, knative, predictive, allot");
        out->policy = p;
    }
    if (srv_json_int(body, "priority", -1000, 1000, SVC_DEFAULT_PRIORITY, &x, err, errlen))
        goto fail;
    out->priority = (int)x;
    if (parse_load(json_object_get(body, "load"), out, err, errlen)) goto fail;
    /* the serving model's own checks, then the SLO against the minimum latency */
    allot_diag d = {0};
    if (allot_service_check(&out->m, NULL, &d)) FAIL("%s", d.msg);
    allot_request rq = {0, (int32_t)out->in_tok, (int32_t)out->out_tok, 1.0f};
    allot_reqtrace tr = {0};
    tr.v = &rq;
    tr.n = tr.cap = 1;
    tr.kind = kind;
    snprintf(tr.name, sizeof tr.name, "%s", "mean request");
    if (kind == ALLOT_REQ_EXEC)
        rq.in_tok = rq.out_tok = 0;
    else
        rq.exec_s = 0;
    if (allot_service_check(&out->m, &tr, &d)) {
        rc = -2;
        FAIL("slo_s: %s", d.msg);
    }
    for (size_t i = 1; i < out->m.nchips; i++) {
        double es = svc_spec_es(out, i);
        if (out->m.slo_s < es) {
            rc = -2;
            FAIL("slo_s: SLO %g s is below the model's minimum latency %g s on %s", out->m.slo_s,
                 es, out->m.chips[i].name);
        }
    }
    /* the normalised document: every field explicit */
    doc = json_object();
    json_object_set_new(doc, "name", json_string(out->m.name));
    if (out->tenant[0]) json_object_set_new(doc, "tenant", json_string(out->tenant));
    static const char *copy[] = {"command", "env", "workdir", "devices", "milli", "cpu", "mem"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
        if ((v = json_object_get(job, copy[i]))) json_object_set(doc, copy[i], v);
    json_t *chips = json_array();
    for (size_t i = 0; i < out->m.nchips; i++) {
        const allot_serve_chip *c = &out->m.chips[i];
        json_t *o = json_pack("{s:s,s:f}", "name", c->name, "cold_start_s", c->cold_start_s);
        if (kind == ALLOT_REQ_EXEC) {
            json_object_set_new(o, "rps", json_real(out->rps[i]));
        } else {
            json_object_set_new(o, "prefill_tps", json_real(c->prefill_tps));
            json_object_set_new(o, "decode_tps", json_real(c->decode_tps));
        }
        json_array_append_new(chips, o);
    }
    json_object_set_new(doc, "chips", chips);
    json_object_set_new(doc, "slots", json_integer(out->m.slots));
    if (kind == ALLOT_REQ_LLM)
        json_object_set_new(doc, "request",
                            json_pack("{s:I,s:I}", "in_tokens", (json_int_t)out->in_tok,
                                      "out_tokens", (json_int_t)out->out_tok));
    json_object_set_new(doc, "min_replicas", json_integer(out->m.min_replicas));
    json_object_set_new(doc, "max_replicas", json_integer(out->m.max_replicas));
    json_object_set_new(doc, "slo_s", json_real(out->m.slo_s));
    json_object_set_new(doc, "slo_target", json_real(out->m.slo_target));
    json_object_set_new(doc, "policy", json_string(allot_autoscaler_name(out->policy)));
    json_object_set_new(doc, "drain_s", json_real(out->m.drain_s));
    json_object_set_new(doc, "priority", json_integer(out->priority));
    if (out->scrape) {
        json_t *sc = json_pack("{s:s,s:s,s:f}", "url", out->url, "rps_metric", out->rps_metric,
                               "interval_s", out->interval_s);
        if (out->queue_metric[0])
            json_object_set_new(sc, "queue_metric", json_string(out->queue_metric));
        json_object_set_new(doc, "load", json_pack("{s:o}", "scrape", sc));
    } else {
        json_object_set_new(doc, "load", json_string("push"));
    }
    if (out->signal_timeout_s > 0)
        json_object_set_new(doc, "signal_timeout_s", json_real(out->signal_timeout_s));
    out->doc = doc;
    out->job = job;
    return 0;
fail:
    srv_spec_free(&sp);
    json_decref(job);
    json_decref(doc);
    out->doc = out->job = NULL;
    return rc;
}

void svc_spec_free(svc_spec *s)
{
    if (!s) return;
    json_decref(s->doc);
    json_decref(s->job);
    s->doc = s->job = NULL;
}

int svc_patch_parse(json_t *body, int *min, int *max, int *policy, char *err, size_t errlen)
{
    static const char *known[] = {"min_replicas", "max_replicas", "policy"};
    *min = *max = *policy = -1;
    if (!json_is_object(body) || json_object_size(body) == 0)
        FAIL("the body must be an object with min_replicas, max_replicas or policy");
    if (known_fields(body, known, 3, "", err, errlen)) return -1;
    long long x;
    if (srv_json_int(body, "min_replicas", 0, SVC_REPLICA_MAX, -1, &x, err, errlen)) return -1;
    *min = (int)x;
    if (srv_json_int(body, "max_replicas", 1, SVC_REPLICA_MAX, -1, &x, err, errlen)) return -1;
    *max = (int)x;
    json_t *v = json_object_get(body, "policy");
    if (v && !json_is_null(v)) {
        *policy = allot_autoscaler_parse(json_string_value(v));
        if (*policy < 0) FAIL("policy: one of hpa, knative, predictive, allot");
    }
    return 0;
fail:
    return -1;
}

int svc_load_parse(json_t *body, svc_load *out, char *err, size_t errlen)
{
    static const char *known[] = {"rps", "queue", "es", "ready"};
    memset(out, 0, sizeof *out);
    out->nready = -1;
    if (!json_is_object(body)) FAIL("the body must be an object {\"rps\": X, \"queue\": N}");
    if (known_fields(body, known, 4, "", err, errlen)) return -1;
    if (!json_object_get(body, "rps")) FAIL("rps: required, requests/s arriving (a number >= 0)");
    if (get_num(body, "rps", 0, 1e9, 0, 0, &out->rps, "", err, errlen) ||
        get_num(body, "queue", 0, 1e9, 0, 0, &out->queue, "", err, errlen) ||
        get_num(body, "es", 0, 86400, 1, 0, &out->es, "", err, errlen))
        return -1;
    json_t *v = json_object_get(body, "ready");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) > 64)
            FAIL("ready: an array of at most 64 replica indexes");
        size_t i;
        json_t *x;
        out->nready = 0;
        json_array_foreach(v, i, x)
        {
            if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                json_integer_value(x) >= SVC_REPLICA_MAX)
                FAIL("ready[%zu]: a replica index 0..%d", i, SVC_REPLICA_MAX - 1);
            out->ready[out->nready++] = (int)json_integer_value(x);
        }
    }
    return 0;
fail:
    return -1;
}

/* ---- the Prometheus text format ----------------------------------------------------------------
 */

#define PROM_LABELS 16
#define PROM_VAL    256

typedef struct prom_sel {
    char name[SVC_METRIC_MAX];
    int n;
    char k[PROM_LABELS][64], v[PROM_LABELS][PROM_VAL];
} prom_sel;

static int name0(int c) { return isalpha(c) || c == '_' || c == ':'; }
static int name1(int c) { return isalnum(c) || c == '_' || c == ':'; }

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    return p;
}

/* Reads a metric name at p; returns the end or NULL. */
static const char *read_name(const char *p, const char *e, char *out, size_t cap, int label)
{
    const char *s = p;
    if (p >= e || !(label ? (isalpha((unsigned char)*p) || *p == '_') : name0((unsigned char)*p)))
        return NULL;
    while (p < e && (label ? (isalnum((unsigned char)*p) || *p == '_') : name1((unsigned char)*p)))
        p++;
    if ((size_t)(p - s) >= cap) return NULL;
    memcpy(out, s, (size_t)(p - s));
    out[p - s] = 0;
    return p;
}

/* {k="v",...}: at most PROM_LABELS pairs kept (more are read and dropped
 * when keep is 0). Returns the end (after '}') or NULL. */
static const char *read_labels(const char *p, const char *e, prom_sel *ls, int keep)
{
    ls->n = 0;
    if (p >= e || *p != '{') return p;
    p = ws(p + 1, e);
    while (p < e && *p != '}') {
        char k[64], v[PROM_VAL];
        if (!(p = read_name(p, e, k, sizeof k, 1))) return NULL;
        p = ws(p, e);
        if (p >= e || *p != '=') return NULL;
        p = ws(p + 1, e);
        if (p >= e || *p != '"') return NULL;
        p++;
        size_t n = 0;
        while (p < e && *p != '"') {
            char c = *p++;
            if (c == '\\') {
                if (p >= e) return NULL;
                c = *p++;
                if (c == 'n')
                    c = '\n';
                else if (c != '\\' && c != '"')
                    return NULL;
            } else if (c == '\n') {
                return NULL;
            }
            if (n + 1 < sizeof v) v[n++] = c;
        }
        if (p >= e) return NULL;
        v[n] = 0;
        p = ws(p + 1, e);
        if (ls->n < PROM_LABELS) {
            snprintf(ls->k[ls->n], sizeof ls->k[0], "%s", k);
            snprintf(ls->v[ls->n], sizeof ls->v[0], "%s", v);
            ls->n++;
        } else if (keep) {
            return NULL; /* a selector with too many labels */
        }
        if (p < e && *p == ',')
            p = ws(p + 1, e);
        else if (p < e && *p != '}')
            return NULL;
    }
    if (p >= e) return NULL;
    return p + 1;
}

static int sel_parse(const char *s, prom_sel *out)
{
    const char *e = s + strlen(s);
    memset(out, 0, sizeof *out);
    const char *p = read_name(s, e, out->name, sizeof out->name, 0);
    if (!p) return -1;
    if (p < e && *p == '{') {
        if (!(p = read_labels(p, e, out, 1))) return -1;
    }
    return p == e ? 0 : -1;
}

int svc_prom_selector_ok(const char *sel)
{
    prom_sel s;
    return sel && strlen(sel) < SVC_METRIC_MAX && sel_parse(sel, &s) == 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n > k && strcmp(s + n - k, suf) == 0;
}

int svc_prom_read(const char *text, size_t len, const char *sel, double *sum, int *counter,
                  char *err, size_t errlen)
{
    prom_sel want;
    *sum = 0;
    *counter = 0;
    if (!sel || strlen(sel) >= SVC_METRIC_MAX || sel_parse(sel, &want)) {
        snprintf(err, errlen, "'%.100s' is not a metric selector", sel ? sel : "");
        return ALLOT_EINVAL;
    }
    /* the base name a # TYPE line may use for it: x for x_total (counters,
     * OpenMetrics), x_count and x_sum (histograms, summaries) */
    char base[SVC_METRIC_MAX] = "";
    static const char *suffix[] = {"_total", "_count", "_sum"};
    for (size_t i = 0; i < 3; i++)
        if (ends_with(want.name, suffix[i])) {
            snprintf(base, sizeof base, "%.*s", (int)(strlen(want.name) - strlen(suffix[i])),
                     want.name);
        }
    int type_exact = -1, type_base = -1; /* 0 gauge/other, 1 counter, 2 histogram/summary */
    size_t found = 0;
    const char *p = text, *end = text + len;
    int line = 0;
    prom_sel got;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        line++;
        const char *q = ws(p, e);
        if (q < e && *q == '#') {
            q = ws(q + 1, e);
            if (e - q > 5 && strncmp(q, "TYPE", 4) == 0 && (q[4] == ' ' || q[4] == '\t')) {
                char nm[SVC_METRIC_MAX], ty[32];
                const char *r = read_name(ws(q + 4, e), e, nm, sizeof nm, 0);
                if (r) {
                    r = ws(r, e);
                    size_t tl = (size_t)(e - r);
                    while (tl && (r[tl - 1] == ' ' || r[tl - 1] == '\t' || r[tl - 1] == '\r')) tl--;
                    snprintf(ty, sizeof ty, "%.*s", (int)(tl < 31 ? tl : 31), r);
                    int t = strcmp(ty, "counter") == 0                                   ? 1
                            : strcmp(ty, "histogram") == 0 || strcmp(ty, "summary") == 0 ? 2
                                                                                         : 0;
                    if (strcmp(nm, want.name) == 0) type_exact = t;
                    if (base[0] && strcmp(nm, base) == 0) type_base = t;
                }
            }
        } else if (q < e && *q != '\r') {
            const char *r = read_name(q, e, got.name, sizeof got.name, 0);
            if (r) r = read_labels(r, e, &got, 0);
            const char *vs = r ? ws(r, e) : NULL;
            char num[64];
            size_t vl = 0;
            while (vs && vs + vl < e && vs[vl] != ' ' && vs[vl] != '\t' && vs[vl] != '\r') vl++;
            if (!r || vs == r || vl == 0 || vl >= sizeof num) {
                snprintf(err, errlen, "line %d: not a sample (name{labels} value [timestamp])",
                         line);
                return ALLOT_EPARSE;
            }
            memcpy(num, vs, vl);
            num[vl] = 0;
            char *ne;
            double x = strtod(num, &ne);
            if (*ne) {
                snprintf(err, errlen, "line %d: '%s' is not a number", line, num);
                return ALLOT_EPARSE;
            }
            int match = strcmp(got.name, want.name) == 0;
            for (int i = 0; match && i < want.n; i++) {
                int hit = 0;
                for (int k = 0; k < got.n && !hit; k++)
                    hit = strcmp(got.k[k], want.k[i]) == 0 && strcmp(got.v[k], want.v[i]) == 0;
                match = hit;
            }
            if (match && isfinite(x)) {
                *sum += x;
                found++;
            }
        }
        p = e < end ? e + 1 : end;
    }
    if (type_exact >= 0)
        *counter = type_exact == 1;
    else if (type_base >= 0)
        *counter = type_base == 1 || (type_base == 2 && !ends_with(want.name, "_total"));
    else
        *counter = ends_with(want.name, "_total");
    if (!found) {
        snprintf(err, errlen, "no sample of %.200s", sel);
        return ALLOT_ENOENT;
    }
    return 0;
}
