/* tests/test_server.c - allot server in-process, spoken to over loopback
 * with raw HTTP/1.1: bad requests are refused with the documented error body
 * and the server keeps serving; tokens and tenants are enforced; state comes
 * back after a restart; the config file is read strictly. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <jansson.h>

#include "allot/server.h"

#include "srvtest.h"

static int setup(void **state)
{
    fx *f = srvtest_new("srv");
    srvtest_start(f);
    *state = f;
    return 0;
}

static void test_bad_requests_refused_and_server_keeps_serving(void **state)
{
    fx *f = *state;
    const char *jobs = "/v1/jobs";
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"", 400, "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "[]", 400, "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{}", 400, "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":\"true\"}", 400, "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[1]}", 400, "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"devices\":\"2\"}", 400,
                  "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"devices\":-1}", 400,
                  "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"gang_size\":1e9}", 400,
                  "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"bogus\":1}", 400,
                  "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"env\":{\"A=B\":\"x\"}}", 400,
                  "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"workdir\":\"rel\"}", 400,
                  "bad_request");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"chip\":\"B200\"}", 422,
                  "unschedulable");
    srvtest_error(f, "POST", jobs, ADMIN, "{\"command\":[\"true\"],\"devices\":4,\"gang_size\":3}",
                  422, "unschedulable");
    srvtest_error(f, "GET", "/v1/jobs/abc", ADMIN, NULL, 404, "not_found");
    srvtest_error(f, "GET", "/v1/jobs/99999", ADMIN, NULL, 404, "not_found");
    srvtest_error(f, "GET", "/v1/nope", ADMIN, NULL, 404, "not_found");
    srvtest_error(f, "PATCH", jobs, ADMIN, NULL, 405, "method_not_allowed");
    srvtest_error(f, "GET", "/v1/jobs?limit=0", ADMIN, NULL, 400, "bad_request");
    srvtest_error(f, "GET", "/v1/jobs?state=weird", ADMIN, NULL, 400, "bad_request");
    /* a body over the limit: 413, and the connection is not left hanging */
    size_t big = (1u << 20) + 100;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = 0;
    srvtest_error(f, "POST", jobs, ADMIN, huge, 413, "too_large");
    free(huge);
    /* garbage that is not HTTP at all */
    char *out = NULL;
    int st = srvtest_http(f, NULL, NULL, NULL, NULL, "\x01\x02garbage\r\n\r\n", &out, NULL);
    assert_true(st == 0 || st == 400);
    free(out);
    /* still serving: a good submission works and is listed */
    json_t *j =
        srvtest_json(f, "POST", jobs, ADMIN, "{\"command\":[\"sleep\",\"30\"],\"devices\":1}", 201);
    assert_true(json_integer_value(json_object_get(j, "id")) >= 1); /* refused jobs leave gaps */
    json_decref(j);
    j = srvtest_json(f, "GET", "/healthz", NULL, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    /* metrics count the refusals */
    st = srvtest_http(f, "GET", "/metrics", NULL, NULL, NULL, &out, NULL);
    assert_int_equal(st, 200);
    assert_non_null(strstr(out, "allot_http_requests_total{route=\"submit\",code=\"4xx\"}"));
    assert_non_null(strstr(out, "allot_queue_depth 0"));
    assert_non_null(strstr(out, "allot_devices{chip=\"H100\",state=\"used\"} 1"));
    free(out);
}

static void test_tokens_and_tenants(void **state)
{
    fx *f = *state;
    srvtest_error(f, "GET", "/v1/jobs", NULL, NULL, 401, "unauthorized");
    srvtest_error(f, "GET", "/v1/jobs", "wrong-token-0123456789", NULL, 401, "unauthorized");
    srvtest_error(f, "GET", "/v1/jobs", AGENT, NULL, 403, "forbidden");
    srvtest_error(f, "PUT", "/v1/tenants/c", TOK_A, "{}", 403, "forbidden");
    srvtest_error(f, "POST", "/v1/nodes", TOK_A, "{\"name\":\"x\",\"devices\":0}", 403,
                  "forbidden");
    /* a tenant submits for itself only */
    srvtest_error(f, "POST", "/v1/jobs", TOK_A, "{\"command\":[\"true\"],\"tenant\":\"b\"}", 403,
                  "forbidden");
    json_t *j = srvtest_json(f, "POST", "/v1/jobs", TOK_A, "{\"command\":[\"sleep\",\"60\"]}", 201);
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "a");
    json_decref(j);
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%lld", (long long)id);
    /* b can neither see, read the logs of, nor cancel a's job */
    srvtest_error(f, "GET", path, TOK_B, NULL, 404, "not_found");
    srvtest_error(f, "DELETE", path, TOK_B, NULL, 404, "not_found");
    char lp[80];
    snprintf(lp, sizeof lp, "%s/logs", path);
    srvtest_error(f, "GET", lp, TOK_B, NULL, 404, "not_found");
    j = srvtest_json(f, "GET", "/v1/jobs?all=1", TOK_B, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 0);
    json_decref(j);
    j = srvtest_json(f, "GET", "/v1/tenants", TOK_B, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "tenants")), 1);
    json_decref(j);
    /* a sees and cancels it; a second cancel conflicts */
    j = srvtest_json(f, "GET", "/v1/jobs", TOK_A, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
    json_decref(j);
    j = srvtest_json(f, "DELETE", path, TOK_A, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "cancelled");
    json_decref(j);
    srvtest_error(f, "DELETE", path, TOK_A, NULL, 409, "conflict");
    /* admin sees everything */
    j = srvtest_json(f, "GET", "/v1/jobs?all=1", ADMIN, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
    json_decref(j);
}

static void test_restart_recovers_jobs_nodes_tenants(void **state)
{
    fx *f = *state;
    /* 2 nodes x 4 devices: two 4-device jobs run, a third waits */
    const char *body = "{\"command\":[\"sleep\",\"600\"],\"devices\":4,\"name\":\"big\"}";
    for (int i = 0; i < 3; i++) json_decref(srvtest_json(f, "POST", "/v1/jobs", TOK_A, body, 201));
    json_decref(srvtest_json(f, "PUT", "/v1/tenants/research", ADMIN,
                             "{\"weight\":2,\"quota\":{\"H100\":4},\"borrow_limit\":2}", 200));
    json_decref(srvtest_json(f, "POST", "/v1/nodes", AGENT,
                             "{\"name\":\"gpu-9\",\"chip\":\"A100\",\"devices\":2,\"cpu\":8000,"
                             "\"mem\":64000,\"rack\":\"r9\"}",
                             200));
    json_t *j = srvtest_json(f, "GET", "/v1/jobs/1", ADMIN, NULL, 200);
    json_t *tasks1 = json_deep_copy(json_object_get(j, "tasks"));
    assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
    json_decref(j);
    allot_server_stop(f->srv);
    f->srv = NULL;
    srvtest_start(f);
    j = srvtest_json(f, "GET", "/v1/jobs?all=1", ADMIN, NULL, 200);
    json_t *jobs = json_object_get(j, "jobs");
    assert_int_equal(json_array_size(jobs), 3);
    int running = 0, pending = 0;
    size_t k;
    json_t *o;
    json_array_foreach(jobs, k, o)
    {
        const char *s = json_string_value(json_object_get(o, "state"));
        int is_run = strcmp(s, "running") == 0;
        running += is_run;
        pending += strcmp(s, "pending") == 0;
        assert_string_equal(json_string_value(json_object_get(o, "name")), "big");
        assert_string_equal(json_string_value(json_object_get(o, "tenant")), "a");
        assert_int_equal(json_integer_value(json_object_get(o, "epoch")), is_run ? 1 : 0);
    }
    assert_int_equal(running, 2);
    assert_int_equal(pending, 1);
    /* the running job kept its devices (no restart of the work) */
    assert_true(json_equal(json_object_get(json_array_get(jobs, 0), "tasks"), tasks1));
    json_decref(tasks1);
    json_decref(j);
    j = srvtest_json(f, "GET", "/v1/nodes/gpu-9", ADMIN, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "chip")), "A100");
    assert_int_equal(json_integer_value(json_object_get(j, "devices")), 2);
    json_decref(j);
    j = srvtest_json(f, "GET", "/v1/tenants", ADMIN, NULL, 200);
    int found = 0;
    json_array_foreach(json_object_get(j, "tenants"), k, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "name")), "research") == 0) {
            found = 1;
            assert_true(json_number_value(json_object_get(o, "weight")) == 2.0);
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(o, "quota"), "H100")), 4);
        }
    }
    assert_true(found);
    json_decref(j);
    /* ids continue after the largest stored one */
    j = srvtest_json(f, "POST", "/v1/jobs", ADMIN, "{\"command\":[\"true\"],\"devices\":0}", 201);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 4);
    json_decref(j);
}

static void test_agent_protocol(void **state)
{
    fx *f = *state;
    json_decref(srvtest_json(
        f, "POST", "/v1/nodes", AGENT,
        "{\"name\":\"n1\",\"chip\":\"H100\",\"devices\":8,\"cpu\":64000,\"mem\":512000}", 200));
    /* sim nodes have 4 devices: an 8-device job can only go to n1 */
    json_t *j = srvtest_json(f, "POST", "/v1/jobs", ADMIN,
                             "{\"command\":[\"x\"],\"devices\":8,\"env\":{\"K\":\"V\"}}", 201);
    json_decref(j);
    j = srvtest_json(f, "POST", "/v1/nodes/n1/poll?wait=0", AGENT, "{\"running\":[]}", 200);
    json_t *as = json_object_get(j, "assign");
    assert_int_equal(json_array_size(as), 1);
    json_t *a = json_array_get(as, 0);
    assert_int_equal(json_integer_value(json_object_get(a, "job")), 1);
    assert_int_equal(json_array_size(json_object_get(a, "devices")), 8);
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "env"), "K")), "V");
    json_decref(j);
    /* delivered once */
    j = srvtest_json(f, "POST", "/v1/nodes/n1/poll?wait=0", AGENT, "{}", 200);
    assert_int_equal(json_array_size(json_object_get(j, "assign")), 0);
    json_decref(j);
    json_decref(srvtest_json(
        f, "POST", "/v1/nodes/n1/events", AGENT,
        "{\"events\":[{\"job\":1,\"task\":0,\"epoch\":1,\"type\":\"started\"}]}", 200));
    /* an unknown task reported running is killed */
    j = srvtest_json(
        f, "POST", "/v1/nodes/n1/poll?wait=0", AGENT,
        "{\"running\":[{\"job\":1,\"task\":0,\"epoch\":1},{\"job\":77,\"task\":0,\"epoch\":1}]}",
        200);
    json_t *ks = json_object_get(j, "kill");
    assert_int_equal(json_array_size(ks), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ks, 0), "job")), 77);
    json_decref(j);
    /* the agent comes back without the task: it is lost, the job waits again */
    j = srvtest_json(
        f, "POST", "/v1/nodes", AGENT,
        "{\"name\":\"n1\",\"chip\":\"H100\",\"devices\":8,\"cpu\":64000,\"mem\":512000,"
        "\"running\":[]}",
        200);
    json_decref(j);
    j = srvtest_json(f, "GET", "/v1/jobs/1", ADMIN, NULL, 200);
    /* requeued and placed again on n1 at once (epoch 2) */
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
    json_decref(j);
    /* exit code 3 fails the job */
    json_decref(srvtest_json(
        f, "POST", "/v1/nodes/n1/events", AGENT,
        "{\"events\":[{\"job\":1,\"task\":0,\"epoch\":2,\"type\":\"exited\",\"exit_code\":3}]}",
        200));
    j = srvtest_json(f, "GET", "/v1/jobs/1", ADMIN, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 3);
    json_decref(j);
    /* logs: uploaded by offset, read back; a gap is refused */
    json_decref(srvtest_json(f, "POST", "/v1/nodes/n1/logs", AGENT,
                             "{\"chunks\":[{\"job\":1,\"task\":0,\"epoch\":2,\"stream\":\"stdout\","
                             "\"offset\":0,\"data\":\"hello\\n\",\"eof\":true}]}",
                             200));
    srvtest_error(f, "POST", "/v1/nodes/n1/logs", AGENT,
                  "{\"chunks\":[{\"job\":1,\"task\":0,\"epoch\":2,\"stream\":\"stdout\","
                  "\"offset\":50,\"data\":\"x\"}]}",
                  409, "conflict");
    char *out = NULL;
    assert_int_equal(srvtest_http(f, "GET", "/v1/jobs/1/logs", ADMIN, NULL, NULL, &out, NULL), 200);
    assert_string_equal(out, "hello\n");
    free(out);
    srvtest_error(f, "POST", "/v1/nodes/ghost/poll", AGENT, "{}", 404, "not_found");
    srvtest_error(f, "POST", "/v1/nodes", AGENT, "{\"name\":\"bad name\",\"devices\":1}", 400,
                  "bad_request");
}

static int setup_preempt(void **state)
{
    fx *f = srvtest_new("srv");
    snprintf(f->cfg.policy, sizeof f->cfg.policy, "priority-preempt");
    f->cfg.sim_nodes = 1;
    srvtest_start(f);
    *state = f;
    return 0;
}

static const char *job_state(fx *f, int id, json_t **keep)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%d", id);
    json_t *j = srvtest_json(f, "GET", path, ADMIN, NULL, 200);
    *keep = j;
    return json_string_value(json_object_get(j, "state"));
}

/* Preemption and time limits on the wall clock: a high-priority job stops a
 * preemptible one (which waits again), and a job past its time limit fails. */
static void test_preemption_and_time_limit(void **state)
{
    fx *f = *state;
    json_decref(srvtest_json(f, "POST", "/v1/jobs", ADMIN,
                             "{\"command\":[\"sleep\",\"600\"],\"devices\":4,\"preemptible\":true}",
                             201));
    json_t *j;
    assert_string_equal(job_state(f, 1, &j), "running");
    json_decref(j);
    json_decref(srvtest_json(f, "POST", "/v1/jobs", ADMIN,
                             "{\"command\":[\"sleep\",\"600\"],\"devices\":4,\"priority\":10,"
                             "\"time_limit\":1}",
                             201));
    assert_string_equal(job_state(f, 2, &j), "running");
    json_decref(j);
    assert_string_equal(job_state(f, 1, &j), "pending");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "preempted");
    json_decref(j);
    /* job 2 runs past its 1 s limit: failed; job 1 gets the devices back */
    int n = 0;
    const char *st;
    while (strcmp(st = job_state(f, 2, &j), "running") == 0 && n++ < 60) {
        json_decref(j);
        usleep(100000);
    }
    assert_string_equal(st, "failed");
    assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), "time limit"));
    json_decref(j);
    assert_string_equal(job_state(f, 1, &j), "running");
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 2);
    json_decref(j);
}

/* Draining: running work stays, nothing new lands; it survives a restart;
 * undraining lets the waiting job start there. */
static void test_drain(void **state)
{
    fx *f = *state;
    json_t *j;
    srvtest_error(f, "POST", "/v1/nodes/sim-1/drain", TOK_A, NULL, 403, "forbidden");
    srvtest_error(f, "POST", "/v1/nodes/nope/drain", ADMIN, NULL, 404, "not_found");
    j = srvtest_json(f, "POST", "/v1/nodes/sim-1/drain", ADMIN, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "draining");
    json_decref(j);
    const char *big = "{\"command\":[\"sleep\",\"600\"],\"devices\":4}";
    json_decref(srvtest_json(f, "POST", "/v1/jobs", ADMIN, big, 201));
    json_decref(srvtest_json(f, "POST", "/v1/jobs", ADMIN, big, 201));
    assert_string_equal(job_state(f, 1, &j), "running");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "tasks"), 0), "node")),
        "sim-2");
    json_decref(j);
    assert_string_equal(job_state(f, 2, &j), "pending");
    json_decref(j);
    allot_server_stop(f->srv);
    f->srv = NULL;
    srvtest_start(f);
    j = srvtest_json(f, "GET", "/v1/nodes/sim-1", ADMIN, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "draining");
    json_decref(j);
    assert_string_equal(job_state(f, 2, &j), "pending");
    json_decref(j);
    json_decref(srvtest_json(f, "POST", "/v1/nodes/sim-1/undrain", ADMIN, NULL, 200));
    assert_string_equal(job_state(f, 2, &j), "running");
    json_decref(j);
}

static int setup_retention(void **state)
{
    fx *f = srvtest_new("srv");
    f->cfg.job_retention = 1;
    srvtest_start(f);
    *state = f;
    return 0;
}

static int metric(fx *f, const char *name)
{
    char *out = NULL;
    assert_int_equal(srvtest_http(f, "GET", "/metrics", NULL, NULL, NULL, &out, NULL), 200);
    char key[200];
    snprintf(key, sizeof key, "\n%s ", name); /* the sample, not its # HELP line */
    const char *p = strstr(out, key);
    assert_non_null(p);
    int v = atoi(p + strlen(key));
    free(out);
    return v;
}

/* Finished jobs leave after job_retention (memory, store, logs; the newest
 * stays so that ids keep counting); the core reuses the records of finished
 * jobs, so it holds the live ones only. */
static void test_retention_and_core_slots(void **state)
{
    fx *f = *state;
    json_t *j;
    int n = 0;
    for (int wave = 1; wave <= 5; wave++) { /* 5 waves of 8 jobs on 8 devices */
        for (int i = 0; i < 8; i++)
            json_decref(srvtest_json(f, "POST", "/v1/jobs", ADMIN,
                                     "{\"command\":[\"sleep\",\"0\"],\"devices\":1}", 201));
        n = 0;
        while ((metric(f, "allot_jobs{state=\"running\"}") || metric(f, "allot_queue_depth")) &&
               n++ < 50)
            usleep(50000);
    }
    assert_int_equal(metric(f, "allot_submissions_total"), 40);
    assert_int_equal(metric(f, "allot_jobs{state=\"running\"}"), 0);
    /* 40 jobs, at most 8 alive at a time: the core reused their records */
    int slots = metric(f, "allot_core_job_slots");
    assert_true(slots >= 1 && slots <= 8);
    n = 0;
    while (metric(f, "allot_jobs_expired_total") < 39 && n++ < 60) usleep(100000);
    assert_int_equal(metric(f, "allot_jobs_expired_total"), 39);
    srvtest_error(f, "GET", "/v1/jobs/1", ADMIN, NULL, 404, "not_found");
    assert_string_equal(job_state(f, 40, &j), "succeeded");
    json_decref(j);
    allot_server_stop(f->srv);
    f->srv = NULL;
    srvtest_start(f);
    j = srvtest_json(f, "GET", "/v1/jobs?all=1", ADMIN, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
    json_decref(j);
    j = srvtest_json(f, "POST", "/v1/jobs", ADMIN, "{\"command\":[\"true\"],\"devices\":0}", 201);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 41);
    json_decref(j);
}

static void test_config_file(void **state)
{
    (void)state;
    allot_server_config cfg;
    allot_server_config_init(&cfg);
    char *p = tu_tmpfile(".ini", "[server]\nlisten = 127.0.0.1:9999\nadmin_token = " ADMIN
                                 "\nnode_timeout = 12\n[tenant.vision]\ntoken = " TOK_A
                                 "\nquota.H100 = 16\nborrow_limit = 4\nweight = 2\n");
    allot_diag d = {0};
    assert_int_equal(allot_server_config_ini(&cfg, p, &d), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:9999");
    assert_true(cfg.node_timeout == 12);
    assert_int_equal(cfg.ntenants, 1);
    assert_int_equal(cfg.tenants[0].quota_devices[0], 16);
    assert_int_equal(cfg.tenants[0].borrow_limit, 4);
    assert_int_equal(allot_server_config_check(&cfg, &d), 0);
    unlink(p);
    free(p);
    const char *bad[] = {"[server]\nlisten = x\n",
                         "[server]\nbogus = 1\n",
                         "[nope]\na = b\n",
                         "[server]\nadmin_token = short\n",
                         "[tenant.v]\nweight = -1\n",
                         "[server]\nnode_timeout = abc\n",
                         "[tenant.v]\ntoken = " TOK_A "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        allot_server_config_init(&cfg);
        p = tu_tmpfile(".ini", bad[i]);
        memset(&d, 0, sizeof d);
        int rc = allot_server_config_ini(&cfg, p, &d);
        if (rc == 0) rc = allot_server_config_check(&cfg, &d); /* listen, missing admin */
        assert_int_not_equal(rc, 0);
        assert_true(d.msg[0] != 0);
        unlink(p);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_requests_refused_and_server_keeps_serving, setup,
                                        srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_tokens_and_tenants, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_restart_recovers_jobs_nodes_tenants, setup,
                                        srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_agent_protocol, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_preemption_and_time_limit, setup_preempt,
                                        srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_retention_and_core_slots, setup_retention,
                                        srvtest_teardown),
        cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
