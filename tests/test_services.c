/* tests/test_services.c - inference services in allot server, in-process
 * over loopback (raw HTTP/1.1, like test_server.c): validation (bad fields,
 * replicas that cannot fit, an SLO below the model's minimum latency),
 * scaling up on pushed load and down after the autoscaler's stabilisation,
 * the stale-signal rule, replacement of replicas that end, delete, PATCH,
 * restart recovery, preemption of training for replicas, the scraper
 * against a local Prometheus endpoint, and the Prometheus text reader.
 *
 * The servers here run the autoscaling step every 0.1 s and the
 * autoscalers' clock 30x faster than the wall clock, so that their 60 s
 * windows pass in 2 s. */
#include "testutil.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "../src/server/services_int.h"
#include "allot/clientfmt.h"
#include "allot/err.h"
#include "allot/server.h"

#include "srvtest.h"

/* the default fixture, with autoscaling steps of 0.1 s and the autoscalers'
 * clock 30x faster */
static fx *fx_new(void)
{
    fx *f = srvtest_new("svc");
    f->cfg.service_step = 0.1;
    f->cfg.service_clock_scale = 30;
    return f;
}

static int setup(void **state)
{
    fx *f = fx_new();
    srvtest_start(f);
    *state = f;
    return 0;
}

static int setup_preempt(void **state)
{
    fx *f = fx_new();
    snprintf(f->cfg.policy, sizeof f->cfg.policy, "priority-preempt");
    f->cfg.sim_nodes = 1;
    srvtest_start(f);
    *state = f;
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

static json_t *svc_get(fx *f, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/services/%s", name);
    return srvtest_json(f, "GET", path, ADMIN, NULL, 200);
}

static int replicas(const json_t *svc, const char *k)
{
    return (int)json_integer_value(json_object_get(json_object_get(svc, "replicas"), k));
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void push(fx *f, const char *name, double rps, double queue)
{
    char path[128], body[128];
    snprintf(path, sizeof path, "/v1/services/%s/load", name);
    snprintf(body, sizeof body, "{\"rps\":%g,\"queue\":%g}", rps, queue);
    json_decref(srvtest_json(f, "POST", path, ADMIN, body, 200));
}

/* Waits (up to secs) until the service's replicas[k] == want, pushing a
 * sample of rps every step when rps >= 0; returns the last value. */
static int wait_replicas(fx *f, const char *name, const char *k, int want, double rps, double secs)
{
    int v = -1;
    for (double t = 0; t < secs; t += 0.1) {
        if (rps >= 0) push(f, name, rps, 0);
        json_t *s = svc_get(f, name);
        v = replicas(s, k);
        json_decref(s);
        if (v == want) return v;
        sleep_s(0.1);
    }
    return v;
}

/* The service's live replica jobs (pending or running), from /v1/jobs. */
static int service_jobs(fx *f, const char *name, const char *state)
{
    json_t *j = srvtest_json(f, "GET", "/v1/jobs?all=1", ADMIN, NULL, 200);
    size_t i;
    json_t *o;
    int n = 0;
    json_array_foreach(json_object_get(j, "jobs"), i, o)
    {
        if (strcmp(str(o, "service"), name) != 0) continue;
        if (state ? strcmp(str(o, "state"), state) == 0
                  : strcmp(str(o, "state"), "pending") == 0 ||
                        strcmp(str(o, "state"), "running") == 0)
            n++;
    }
    json_decref(j);
    return n;
}

/* An H100 service of 1-device replicas that serve 2 requests/s each, one
 * at a time (mean service time 0.5 s), ready at once, drained in 0.2 s. */
static const char *web_spec(char *buf, size_t len, const char *name, int max, const char *extra)
{
    snprintf(buf, len,
             "{\"name\":\"%s\",\"command\":[\"serve\"],\"chips\":[{\"name\":\"H100\",\"rps\":2,"
             "\"cold_start_s\":0}],\"slots\":1,\"slo_s\":5,\"max_replicas\":%d,"
             "\"drain_s\":0.2%s%s}",
             name, max, extra && *extra ? "," : "", extra ? extra : "");
    return buf;
}

/* ---- validation ---------------------------------------------------------------------------- */

static void test_validation(void **state)
{
    fx *f = *state;
    const char *P = "/v1/services";
    const char *m;
    /* bad fields: 400 with the field in the message */
    m = srvtest_error(f, "POST", P, ADMIN, "{\"command\":[\"x\"]}", 400, "bad_request");
    assert_non_null(strstr(m, "name"));
    m = srvtest_error(f, "POST", P, ADMIN, "{\"name\":\"s\"}", 400, "bad_request");
    assert_non_null(strstr(m, "command"));
    m = srvtest_error(f, "POST", P, ADMIN, "{\"name\":\"s\",\"command\":[\"x\"],\"bogus\":1}", 400,
                      "bad_request");
    assert_non_null(strstr(m, "bogus: unknown field"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"policy\":\"magic\"}", 400,
                      "bad_request");
    assert_non_null(strstr(m, "policy"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"min_replicas\":5,\"max_replicas\":2}",
                      400, "bad_request");
    assert_non_null(strstr(m, "max_replicas"));
    m = srvtest_error(f, "POST", P, ADMIN, "{\"name\":\"s\",\"command\":[\"x\"],\"devices\":0}",
                      400, "bad_request");
    assert_non_null(strstr(m, "devices"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[{\"name\":\"L40S\"}]}", 400,
                      "bad_request");
    assert_non_null(strstr(m, "no capacity for L40S"));
    m = srvtest_error(
        f, "POST", P, ADMIN,
        "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[{\"name\":\"H100\",\"rps\":2},"
        "{\"name\":\"A100\",\"prefill_tps\":1,\"decode_tps\":1}]}",
        400, "bad_request");
    assert_non_null(strstr(m, "same kind"));
    m = srvtest_error(
        f, "POST", P, ADMIN,
        "{\"name\":\"s\",\"command\":[\"x\"],\"load\":{\"scrape\":{\"url\":\"ftp://x\","
        "\"rps_metric\":\"r\"}}}",
        400, "bad_request");
    assert_non_null(strstr(m, "load.scrape.url"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"load\":{\"scrape\":{\"url\":"
                      "\"http://127.0.0.1:1/metrics\",\"rps_metric\":\"bad name\"}}}",
                      400, "bad_request");
    assert_non_null(strstr(m, "rps_metric"));
    srvtest_error(f, "POST", P, ADMIN, "[1]", 400, "bad_request");
    srvtest_error(f, "POST", P, ADMIN, "{\"name\":\"bad name\",\"command\":[\"x\"]}", 400,
                  "bad_request");
    /* cannot fit: the numbers are in the message */
    m = srvtest_error(f, "POST", P, ADMIN, "{\"name\":\"s\",\"command\":[\"x\"],\"devices\":8}",
                      422, "unschedulable");
    assert_non_null(strstr(m, "needs 8 devices of H100 or A100-80G per replica; the largest H100 "
                              "node has 4"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[\"H100\"],\"min_replicas\":9,"
                      "\"max_replicas\":9}",
                      422, "unschedulable");
    assert_non_null(strstr(m, "min_replicas 9 cannot fit"));
    assert_non_null(strstr(m, "at most 8 replicas of 1 device"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[\"H100\"],\"devices\":2,"
                      "\"min_replicas\":5}",
                      422, "unschedulable");
    assert_non_null(strstr(m, "at most 4 replicas of 2 devices"));
    m = srvtest_error(
        f, "POST", P, ADMIN,
        "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[{\"name\":\"B200\",\"rps\":5}]}", 422,
        "unschedulable");
    assert_non_null(strstr(m, "no registered node has chip type B200 (the fleet has H100)"));
    /* an SLO below the model's minimum latency: 1000/8000 + 100/40 = 2.625 s */
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[\"H100\"],\"slo_s\":2}", 422,
                      "infeasible");
    assert_non_null(strstr(m, "below the model's minimum latency 2.625 s"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[\"H100\",\"A100\"],"
                      "\"slo_s\":3}",
                      422, "infeasible"); /* the A100: 1000/4000 + 100/25 = 4.25 s */
    assert_non_null(strstr(m, "4.25 s on A100"));
    m = srvtest_error(f, "POST", P, ADMIN,
                      "{\"name\":\"s\",\"command\":[\"x\"],\"chips\":[{\"name\":\"H100\",\"rps\":"
                      "0.5}],\"slo_s\":1}",
                      422, "infeasible");
    /* roles */
    char spec[600];
    srvtest_error(f, "POST", P, AGENT, web_spec(spec, sizeof spec, "w", 8, NULL), 403, "forbidden");
    srvtest_error(f, "POST", P, TOK_A, web_spec(spec, sizeof spec, "w", 8, "\"tenant\":\"b\""), 403,
                  "forbidden");
    json_t *j = srvtest_json(f, "POST", P, TOK_A, web_spec(spec, sizeof spec, "w", 8, NULL), 201);
    assert_string_equal(str(j, "tenant"), "a");
    assert_string_equal(str(j, "signal"), "none");
    json_decref(j);
    srvtest_error(f, "POST", P, ADMIN, web_spec(spec, sizeof spec, "w", 8, NULL), 409, "conflict");
    srvtest_error(f, "GET", "/v1/services/w", TOK_B, NULL, 404, "not_found");
    srvtest_error(f, "POST", "/v1/services/w/load", TOK_B, "{\"rps\":1}", 404, "not_found");
    j = srvtest_json(f, "GET", P, TOK_B, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "services")), 0);
    json_decref(j);
    j = srvtest_json(f, "GET", P, TOK_A, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "services")), 1);
    json_decref(j);
    /* load samples and PATCH bodies are checked too */
    srvtest_error(f, "POST", "/v1/services/w/load", TOK_A, "{\"queue\":1}", 400, "bad_request");
    srvtest_error(f, "POST", "/v1/services/w/load", TOK_A, "{\"rps\":-1}", 400, "bad_request");
    srvtest_error(f, "POST", "/v1/services/w/load", TOK_A, "{\"rps\":1,\"x\":1}", 400,
                  "bad_request");
    srvtest_error(f, "POST", "/v1/services/nope/load", ADMIN, "{\"rps\":1}", 404, "not_found");
    srvtest_error(f, "PATCH", "/v1/services/w", ADMIN, "{\"min_replicas\":3,\"max_replicas\":2}",
                  400, "bad_request");
    srvtest_error(f, "PATCH", "/v1/services/w", ADMIN, "{\"slo_s\":3}", 400, "bad_request");
    m = srvtest_error(f, "PATCH", "/v1/services/w", ADMIN,
                      "{\"min_replicas\":9,\"max_replicas\":9}", 422, "unschedulable");
    assert_non_null(strstr(m, "min_replicas 9 cannot fit"));
    srvtest_error(f, "PUT", "/v1/services/w", ADMIN, "{}", 405, "method_not_allowed");
    srvtest_error(f, "GET", "/v1/services/w/other", ADMIN, NULL, 404, "not_found");
}

/* ---- scaling -----------------------------------------------------------------------------------
 */

static void test_scale_up_then_down(void **state)
{
    fx *f = *state;
    char spec[600];
    json_t *j =
        srvtest_json(f, "POST", "/v1/services", ADMIN,
                     web_spec(spec, sizeof spec, "web", 8, "\"env\":{\"MODEL\":\"m\"}"), 201);
    assert_int_equal(replicas(j, "wanted"), 1);
    json_decref(j);
    /* 10 requests/s of 0.5 s on 1-slot replicas: about 6 replicas */
    int want = wait_replicas(f, "web", "wanted", 6, 10, 5);
    j = svc_get(f, "web");
    want = replicas(j, "wanted");
    assert_true(want >= 5 && want <= 8);
    assert_string_equal(str(j, "signal"), "ok");
    assert_true(json_number_value(json_object_get(json_object_get(j, "load"), "rps")) == 10);
    json_decref(j);
    /* the replicas are jobs, placed on the simulated nodes and ready at once */
    assert_int_equal(wait_replicas(f, "web", "ready", want, 10, 3), want);
    assert_int_equal(service_jobs(f, "web", "running"), want);
    j = srvtest_json(f, "GET", "/v1/jobs/2", ADMIN, NULL, 200);
    assert_string_equal(str(j, "service"), "web");
    assert_int_equal(json_integer_value(json_object_get(j, "replica")), 1);
    assert_string_equal(str(j, "name"), "web-r1");
    assert_int_equal(json_integer_value(json_object_get(j, "priority")), 1000);
    assert_false(json_is_true(json_object_get(j, "preemptible")));
    json_t *env = json_object_get(j, "env");
    assert_string_equal(str(env, "ALLOT_SERVICE"), "web");
    assert_string_equal(str(env, "ALLOT_REPLICA"), "1");
    assert_string_equal(str(env, "MODEL"), "m");
    json_decref(j);
    /* low load: after the stabilisation (a minute of the autoscaler's clock)
     * it comes down to one replica, the newest ones first */
    assert_int_equal(wait_replicas(f, "web", "wanted", 1, 0.2, 15), 1);
    assert_int_equal(wait_replicas(f, "web", "draining", 0, 0.2, 5), 0);
    assert_int_equal(service_jobs(f, "web", NULL), 1);
    j = svc_get(f, "web");
    json_t *inst = json_array_get(json_object_get(j, "instances"), 0);
    assert_int_equal(json_integer_value(json_object_get(inst, "replica")), 0);
    assert_int_equal(json_integer_value(json_object_get(inst, "job")), 1);
    assert_non_null(strstr(str(j, "message"), "scaled down"));
    json_decref(j);
    j = srvtest_json(f, "GET", "/v1/jobs/2", ADMIN, NULL, 200);
    assert_string_equal(str(j, "state"), "cancelled");
    assert_non_null(strstr(str(j, "reason"), "scaled down"));
    json_decref(j);
    /* metrics */
    char *out = NULL;
    assert_int_equal(srvtest_http(f, "GET", "/metrics", NULL, NULL, NULL, &out, NULL), 200);
    assert_non_null(strstr(out, "allot_service_replicas_wanted{service=\"web\"} 1\n"));
    assert_non_null(strstr(out, "allot_service_replicas{service=\"web\",state=\"ready\"} 1\n"));
    assert_non_null(strstr(out, "allot_service_signal_stale{service=\"web\"} 0\n"));
    const char *up =
        strstr(out, "allot_service_scale_events_total{service=\"web\",direction=\"up\"} ");
    assert_non_null(up);
    assert_true(atoi(strchr(up, '}') + 2) >= 1);
    free(out);
}

/* The load-signal rule: a silent signal never scales a service down. */
static void test_stale_signal_holds_replicas(void **state)
{
    fx *f = *state;
    char spec[600];
    json_decref(srvtest_json(f, "POST", "/v1/services", ADMIN,
                             web_spec(spec, sizeof spec, "held", 5, "\"signal_timeout_s\":0.5"),
                             201));
    /* a service that has never had a sample stays at min_replicas */
    json_decref(srvtest_json(f, "POST", "/v1/services", ADMIN,
                             web_spec(spec, sizeof spec, "quiet", 8, "\"min_replicas\":2"), 201));
    wait_replicas(f, "held", "wanted", 5, 10, 5);
    json_t *j = svc_get(f, "held");
    int want = replicas(j, "wanted");
    assert_int_equal(want, 5); /* its max_replicas */
    json_decref(j);
    /* no samples now: stale after 0.5 s, and held for 3 s (90 s of the
     * autoscaler's clock, past its 60 s stabilisation) */
    sleep_s(1);
    j = svc_get(f, "held");
    assert_string_equal(str(j, "signal"), "stale");
    json_decref(j);
    for (int i = 0; i < 30; i++) {
        j = svc_get(f, "held");
        assert_int_equal(replicas(j, "wanted"), want);
        assert_int_equal(replicas(j, "ready"), want);
        json_decref(j);
        sleep_s(0.1);
    }
    j = svc_get(f, "held");
    assert_non_null(strstr(str(j, "message"), "stale"));
    json_decref(j);
    char *out = NULL;
    assert_int_equal(srvtest_http(f, "GET", "/metrics", NULL, NULL, NULL, &out, NULL), 200);
    assert_non_null(strstr(out, "allot_service_signal_stale{service=\"held\"} 1\n"));
    free(out);
    j = svc_get(f, "quiet");
    assert_string_equal(str(j, "signal"), "none");
    assert_int_equal(replicas(j, "wanted"), 2);
    assert_int_equal(replicas(j, "ready"), 2);
    assert_true(json_is_null(json_object_get(json_object_get(j, "load"), "rps")));
    json_decref(j);
    /* samples return with a low load: it scales down again */
    assert_int_equal(wait_replicas(f, "held", "wanted", 1, 0.2, 15), 1);
    j = svc_get(f, "held");
    assert_string_equal(str(j, "signal"), "ok");
    json_decref(j);
}

/* A replica that ends on its own is replaced (with a growing delay while
 * replicas keep ending quickly). */
static void test_replica_replaced(void **state)
{
    fx *f = *state;
    char spec[600];
    json_decref(srvtest_json(
        f, "POST", "/v1/services", ADMIN,
        web_spec(spec, sizeof spec, "flaky", 8, "\"env\":{\"ALLOT_SIM_DURATION\":\"0.3\"}"), 201));
    int done = 0;
    for (int i = 0; i < 60 && done < 2; i++) {
        sleep_s(0.1);
        done = service_jobs(f, "flaky", "succeeded");
    }
    assert_true(done >= 2);
    json_t *j = svc_get(f, "flaky");
    assert_non_null(strstr(str(j, "message"), "replaced"));
    assert_true(replicas(j, "wanted") == 1);
    json_decref(j);
    char *out = NULL;
    assert_int_equal(srvtest_http(f, "GET", "/metrics", NULL, NULL, NULL, &out, NULL), 200);
    const char *p = strstr(out, "allot_service_replacements_total{service=\"flaky\"} ");
    assert_non_null(p);
    assert_true(atoi(p + strlen("allot_service_replacements_total{service=\"flaky\"} ")) >= 2);
    free(out);
}

static void test_patch_and_delete(void **state)
{
    fx *f = *state;
    char spec[600];
    json_decref(srvtest_json(f, "POST", "/v1/services", ADMIN,
                             web_spec(spec, sizeof spec, "api", 8, "\"min_replicas\":3"), 201));
    assert_int_equal(wait_replicas(f, "api", "ready", 3, -1, 3), 3);
    /* the bounds apply at once: 2..2 -> down to 2, the newest (job 3) drains */
    json_t *j = srvtest_json(f, "PATCH", "/v1/services/api", ADMIN,
                             "{\"min_replicas\":2,\"max_replicas\":2,\"policy\":\"hpa\"}", 200);
    assert_string_equal(str(j, "policy"), "hpa");
    assert_int_equal(json_integer_value(json_object_get(j, "max_replicas")), 2);
    assert_int_equal(replicas(j, "wanted"), 2);
    json_decref(j);
    assert_int_equal(wait_replicas(f, "api", "draining", 0, -1, 3), 0);
    assert_int_equal(service_jobs(f, "api", NULL), 2);
    /* delete: the replicas drain (0.2 s), then the service is gone */
    j = srvtest_json(f, "DELETE", "/v1/services/api", ADMIN, NULL, 200);
    assert_string_equal(str(j, "state"), "deleting");
    assert_int_equal(replicas(j, "draining"), 2);
    json_decref(j);
    srvtest_error(f, "POST", "/v1/services/api/load", ADMIN, "{\"rps\":1}", 409, "conflict");
    char *out = NULL;
    int st = 0;
    for (int i = 0; i < 50; i++) {
        st = srvtest_http(f, "GET", "/v1/services/api", ADMIN, NULL, NULL, &out, NULL);
        free(out);
        if (st == 404) break;
        sleep_s(0.1);
    }
    assert_int_equal(st, 404);
    assert_int_equal(service_jobs(f, "api", NULL), 0);
    assert_int_equal(service_jobs(f, "api", "cancelled"), 3);
    /* the name is free again */
    json_decref(srvtest_json(f, "POST", "/v1/services", ADMIN,
                             web_spec(spec, sizeof spec, "api", 8, NULL), 201));
}

static void test_restart_recovers_services(void **state)
{
    fx *f = *state;
    char spec[600];
    json_decref(srvtest_json(f, "POST", "/v1/services", TOK_A,
                             web_spec(spec, sizeof spec, "chat", 4, "\"policy\":\"knative\""),
                             201));
    wait_replicas(f, "chat", "wanted", 4, 6, 5);
    json_t *j = svc_get(f, "chat");
    int want = replicas(j, "wanted");
    assert_int_equal(want, 4); /* its max_replicas */
    json_t *jobs0 = json_deep_copy(json_object_get(j, "instances"));
    json_decref(j);
    assert_int_equal(wait_replicas(f, "chat", "ready", want, -1, 3), want);
    allot_server_stop(f->srv);
    f->srv = NULL;
    srvtest_start(f);
    j = svc_get(f, "chat");
    assert_string_equal(str(j, "tenant"), "a");
    assert_string_equal(str(j, "policy"), "knative");
    assert_int_equal(replicas(j, "wanted"), want);
    /* samples before the restart, none since: stale, held */
    assert_string_equal(str(j, "signal"), "stale");
    json_t *inst = json_object_get(j, "instances");
    assert_int_equal(json_array_size(inst), (size_t)want);
    size_t i;
    json_t *o;
    json_array_foreach(inst, i, o)
    {
        json_t *was = json_array_get(jobs0, i);
        assert_int_equal(json_integer_value(json_object_get(o, "job")),
                         json_integer_value(json_object_get(was, "job")));
    }
    json_decref(j);
    json_decref(jobs0);
    sleep_s(1); /* still held */
    j = svc_get(f, "chat");
    assert_int_equal(replicas(j, "wanted"), want);
    assert_int_equal(replicas(j, "ready"), want);
    json_decref(j);
    assert_int_equal(service_jobs(f, "chat", "running"), want);
    /* samples again: it follows the load */
    assert_int_equal(wait_replicas(f, "chat", "wanted", 1, 0.1, 15), 1);
}

/* Serving takes devices back from training: a replica preempts a
 * preemptible job of lower priority (policy priority-preempt). */
static void test_replicas_preempt_training(void **state)
{
    fx *f = *state;
    json_decref(srvtest_json(f, "POST", "/v1/jobs", ADMIN,
                             "{\"command\":[\"sleep\",\"600\"],\"devices\":4,\"preemptible\":true}",
                             201));
    char spec[600];
    json_decref(srvtest_json(f, "POST", "/v1/services", ADMIN,
                             web_spec(spec, sizeof spec, "srv", 8, "\"min_replicas\":2"), 201));
    assert_int_equal(wait_replicas(f, "srv", "ready", 2, -1, 3), 2);
    json_t *j = srvtest_json(f, "GET", "/v1/jobs/1", ADMIN, NULL, 200);
    assert_string_equal(str(j, "state"), "pending");
    assert_string_equal(str(j, "reason"), "preempted");
    json_decref(j);
}

/* ---- scraping -------------------------------------------------------------------------------- */

typedef struct prom_srv {
    int fd, port;
    volatile int stop;
    double t0;
    double rate; /* requests/s the counter grows at */
    int broken;  /* serve a text without the metric */
    pthread_t th;
} prom_srv;

static double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *prom_main(void *arg)
{
    prom_srv *p = arg;
    while (!p->stop) {
        int c = accept(p->fd, NULL, NULL);
        if (c < 0) continue;
        char req[2048];
        ssize_t n = recv(c, req, sizeof req - 1, 0);
        (void)n;
        char body[1024];
        double count = p->rate * (now_wall() - p->t0);
        snprintf(body, sizeof body,
                 "# HELP app_requests_total Requests served.\n"
                 "# TYPE app_requests_total counter\n"
                 "app_requests_total{model=\"m\",code=\"200\"} %.3f\n"
                 "app_requests_total{model=\"other\",code=\"200\"} 5\n"
                 "# TYPE app_queue gauge\n"
                 "app_queue{model=\"m\"} 3\n",
                 count);
        if (p->broken) snprintf(body, sizeof body, "other_metric 1\n");
        char resp[1400];
        int k = snprintf(resp, sizeof resp,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                         "%zu\r\nConnection: close\r\n\r\n%s",
                         strlen(body), body);
        if (send(c, resp, (size_t)k, MSG_NOSIGNAL) < 0) {
        }
        close(c);
    }
    return NULL;
}

static void prom_start(prom_srv *p, double rate)
{
    memset(p, 0, sizeof *p);
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(p->fd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    assert_int_equal(listen(p->fd, 16), 0);
    struct timeval tv = {0, 100000};
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    p->t0 = now_wall();
    p->rate = rate;
    assert_int_equal(pthread_create(&p->th, NULL, prom_main, p), 0);
}

static void prom_stop(prom_srv *p)
{
    p->stop = 1;
    pthread_join(p->th, NULL);
    close(p->fd);
}

static void test_scrape_counter_rate(void **state)
{
    fx *f = *state;
    prom_srv p;
    prom_start(&p, 12);
    char spec[900], extra[400];
    snprintf(extra, sizeof extra,
             "\"load\":{\"scrape\":{\"url\":\"http://127.0.0.1:%d/metrics\","
             "\"rps_metric\":\"app_requests_total{model=\\\"m\\\"}\","
             "\"queue_metric\":\"app_queue\",\"interval_s\":0.2}},\"signal_timeout_s\":1",
             p.port);
    json_decref(srvtest_json(f, "POST", "/v1/services", ADMIN,
                             web_spec(spec, sizeof spec, "scr", 8, extra), 201));
    double rps = 0;
    json_t *j = NULL;
    for (int i = 0; i < 50; i++) {
        sleep_s(0.1);
        json_decref(j);
        j = svc_get(f, "scr");
        rps = json_number_value(json_object_get(json_object_get(j, "load"), "rps"));
        if (strcmp(str(j, "signal"), "ok") == 0 && replicas(j, "wanted") >= 5) break;
    }
    /* a counter growing at 12/s is read as 12 requests/s; the queue gauge as 3 */
    assert_string_equal(str(j, "signal"), "ok");
    assert_true(fabs(rps - 12) < 2.5);
    json_t *load = json_object_get(j, "load");
    assert_int_equal(json_integer_value(json_object_get(load, "queue")), 3);
    assert_string_equal(str(load, "source"), "scrape");
    assert_true(replicas(j, "wanted") >= 5);
    int want = replicas(j, "wanted");
    json_decref(j);
    /* the endpoint loses the metric: the error is shown, the signal goes
     * stale and the replicas are held */
    p.broken = 1;
    sleep_s(2);
    j = svc_get(f, "scr");
    assert_string_equal(str(j, "signal"), "stale");
    assert_non_null(
        strstr(str(json_object_get(j, "load"), "error"), "no sample of app_requests_total"));
    assert_true(replicas(j, "wanted") >= want);
    json_decref(j);
    /* deleted while its endpoint is away: the scraper forgets it */
    prom_stop(&p);
    json_decref(srvtest_json(f, "DELETE", "/v1/services/scr", ADMIN, NULL, 200));
}

/* ---- pure parts ------------------------------------------------------------------------------ */

static void test_prometheus_text(void **state)
{
    (void)state;
    const char *txt =
        "# HELP http_requests_total The total number of HTTP requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
        "http_requests_total{method=\"get\",code=\"200\",} 10\n"
        "\n"
        "# a comment, then an escaped label value\n"
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot "
        "find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
        "# TYPE queue_depth gauge\n"
        "queue_depth 7\n"
        "queue_depth{pool=\"b\"} 2.5\n"
        "nan_metric NaN\n"
        "inf_metric +Inf\n"
        "# TYPE rpc_duration_seconds summary\n"
        "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
        "rpc_duration_seconds_sum 1.7560473e+07\n"
        "rpc_duration_seconds_count 2693\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        "vllm:num_requests_waiting{model_name=\"llama\"} 4\r\n"
        "untyped_total 9\n";
    double v;
    int counter;
    char err[200];
    size_t n = strlen(txt);
    assert_int_equal(svc_prom_read(txt, n, "http_requests_total", &v, &counter, err, sizeof err),
                     0);
    assert_true(v == 1040);
    assert_int_equal(counter, 1);
    assert_int_equal(
        svc_prom_read(txt, n, "http_requests_total{code=\"200\"}", &v, &counter, err, sizeof err),
        0);
    assert_true(v == 1037);
    assert_int_equal(svc_prom_read(txt, n, "http_requests_total{code=\"200\",method=\"post\"}", &v,
                                   &counter, err, sizeof err),
                     0);
    assert_true(v == 1027);
    assert_int_equal(svc_prom_read(txt, n, "queue_depth", &v, &counter, err, sizeof err), 0);
    assert_true(v == 9.5);
    assert_int_equal(counter, 0);
    assert_int_equal(svc_prom_read(txt, n,
                                   "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\"}",
                                   &v, &counter, err, sizeof err),
                     0);
    assert_true(v == 1.458255915e9);
    assert_int_equal(
        svc_prom_read(txt, n, "rpc_duration_seconds_count", &v, &counter, err, sizeof err), 0);
    assert_true(v == 2693);
    assert_int_equal(counter, 1); /* a summary's count is cumulative */
    assert_int_equal(svc_prom_read(txt, n, "vllm:num_requests_waiting{model_name=\"llama\"}", &v,
                                   &counter, err, sizeof err),
                     0);
    assert_true(v == 4);
    assert_int_equal(svc_prom_read(txt, n, "untyped_total", &v, &counter, err, sizeof err), 0);
    assert_int_equal(counter, 1); /* no TYPE line: _total means a counter */
    /* NaN and Inf samples are not summed: nothing usable */
    assert_int_equal(svc_prom_read(txt, n, "nan_metric", &v, &counter, err, sizeof err),
                     ALLOT_ENOENT);
    assert_int_equal(svc_prom_read(txt, n, "inf_metric", &v, &counter, err, sizeof err),
                     ALLOT_ENOENT);
    assert_int_equal(svc_prom_read(txt, n, "absent", &v, &counter, err, sizeof err), ALLOT_ENOENT);
    assert_non_null(strstr(err, "no sample of absent"));
    assert_int_equal(
        svc_prom_read(txt, n, "queue_depth{pool=\"c\"}", &v, &counter, err, sizeof err),
        ALLOT_ENOENT);
    /* malformed lines are errors with their number */
    const char *bad[] = {"ok 1\nbroken{a=\"x\" 1\n", "ok 1\nx{a=x} 1\n", "ok 1\nnovalue\n",
                         "ok 1\nx 12abc\n", "ok 1\n9bad 1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(svc_prom_read(bad[i], strlen(bad[i]), "ok", &v, &counter, err, sizeof err),
                         ALLOT_EPARSE);
        assert_non_null(strstr(err, "line 2"));
    }
    /* selectors */
    assert_true(svc_prom_selector_ok("a_b:c"));
    assert_true(svc_prom_selector_ok("a{b=\"c\",d=\"e\"}"));
    assert_false(svc_prom_selector_ok("a b"));
    assert_false(svc_prom_selector_ok("a{b=c}"));
    assert_false(svc_prom_selector_ok("1a"));
    assert_false(svc_prom_selector_ok("a{b=\"c\"}x"));
    assert_int_equal(svc_prom_read("a 1\n", 4, "a{", &v, &counter, err, sizeof err), ALLOT_EINVAL);
}

static void test_spec_defaults_and_round_trip(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"name\":\"llm\",\"command\":[\"vllm\",\"serve\"]}",
        "{\"name\":\"img\",\"command\":[\"x\"],\"chips\":[{\"name\":\"L40S\",\"rps\":0.5},"
        "{\"name\":\"H100\",\"rps\":1.5,\"cold_start_s\":20}],\"slots\":2,\"cold_start_s\":40,"
        "\"slo_s\":30,\"load\":{\"scrape\":{\"url\":\"http://h:9/"
        "metrics\",\"rps_metric\":\"r_total\"}}"
        ",\"signal_timeout_s\":12,\"tenant\":\"t\",\"env\":{\"A\":\"b\"},\"workdir\":\"/srv\"}",
        "{\"name\":\"x\",\"command\":[\"x\"],\"chips\":[\"A100\",{\"name\":\"H100\","
        "\"cold_start_s\":5}],\"request\":{\"in_tokens\":200,\"out_tokens\":20},\"milli\":500,"
        "\"min_replicas\":0,\"max_replicas\":3,\"policy\":\"predictive\",\"priority\":-5}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *b = json_loads(bodies[i], 0, NULL);
        assert_non_null(b);
        svc_spec s, again;
        char err[400] = "";
        int rc = svc_spec_parse(b, &s, err, sizeof err);
        if (rc) fprintf(stderr, "%s\n", err);
        assert_int_equal(rc, 0);
        assert_int_equal(svc_spec_parse(s.doc, &again, err, sizeof err), 0);
        assert_true(json_equal(s.doc, again.doc));
        assert_true(json_equal(s.job, again.job));
        if (i == 0) { /* the documented defaults */
            assert_int_equal(s.m.slots, 16);
            assert_int_equal(s.m.min_replicas, 1);
            assert_int_equal(s.m.max_replicas, 64);
            assert_true(s.m.slo_s == 10);
            assert_int_equal(s.policy, ALLOT_AS_ALLOT);
            assert_int_equal(s.priority, 1000);
            assert_int_equal((int)s.m.nchips, 2);
            assert_true(fabs(svc_spec_es(&s, 0) - 2.625) < 1e-12);
            assert_true(s.m.chips[0].cold_start_s == 60);
            assert_false(s.scrape);
        } else if (i == 1) { /* rps per replica: es = slots / rps */
            assert_true(fabs(svc_spec_es(&s, 0) - 4) < 1e-12);
            assert_true(fabs(svc_spec_es(&s, 1) - 2.0 / 1.5) < 1e-12);
            assert_true(s.m.chips[0].cold_start_s == 40 && s.m.chips[1].cold_start_s == 20);
            assert_true(s.scrape && s.interval_s == 5);
            assert_string_equal(s.tenant, "t");
        } else {
            assert_true(fabs(svc_spec_es(&s, 1) - (200.0 / 8000 + 20.0 / 40)) < 1e-12);
            assert_string_equal(s.m.chips[0].name, "A100");
            assert_true(s.m.chips[0].cold_start_s == 75);
            assert_int_equal(s.milli, 500);
        }
        svc_spec_free(&again);
        svc_spec_free(&s);
        json_decref(b);
    }
}

static void test_services_table(void **state)
{
    (void)state;
    json_t *v = json_loads(
        "[{\"name\":\"chat\",\"tenant\":\"a\",\"state\":\"active\",\"policy\":\"allot\","
        "\"min_replicas\":1,\"max_replicas\":8,\"replicas\":{\"ready\":2,\"starting\":1,"
        "\"pending\":0,\"draining\":1,\"wanted\":3},\"load\":{\"rps\":12.5,\"queue\":3,"
        "\"age_s\":1.2},\"signal\":\"ok\"},"
        "{\"name\":\"img\",\"tenant\":\"b\",\"state\":\"active\",\"policy\":\"hpa\","
        "\"min_replicas\":0,\"max_replicas\":2,\"replicas\":{\"ready\":0,\"starting\":0,"
        "\"pending\":0,\"draining\":0,\"wanted\":0},\"load\":{\"rps\":null,\"queue\":null,"
        "\"age_s\":null},\"signal\":\"none\"}]",
        0, NULL);
    char *t = allot_fmt_services_table(v);
    assert_non_null(t);
    assert_string_equal(t, "NAME  TENANT  POLICY  REPLICAS                            RPS  QUEUE  "
                           "SIGNAL\n"
                           "chat  a       allot   2/3 (1-8) +1 starting -1 draining  12.5      3  "
                           "ok 1s\n"
                           "img   b       hpa     0/0 (0-2)                             -      -  "
                           "none\n");
    free(t);
    json_decref(v);
    assert_null(allot_fmt_services_table(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_text),
        cmocka_unit_test(test_spec_defaults_and_round_trip),
        cmocka_unit_test(test_services_table),
        cmocka_unit_test_setup_teardown(test_validation, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_scale_up_then_down, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_stale_signal_holds_replicas, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_replica_replaced, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_patch_and_delete, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_restart_recovers_services, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_replicas_preempt_training, setup_preempt,
                                        srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_scrape_counter_rate, setup, srvtest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
