/* tests/test_mixed.c - the mixed fleet (mixed.h): serving and training share
 * a fleet. Hand-computed lent and idle hours on a tiny fleet; a reclaim whose
 * victim resumes from its checkpoint; the reclaim bound and the pool's limits
 * on random workloads; with no training, the serving results are exactly
 * allot_serve_run's; determinism; bad input. */
#include "testutil.h"

#include <math.h>

#include "allot/mixed.h"
#include "allot/rng.h"
#include "allot/trace.h"

/* n nodes of ndev H100 each, named node-<i>; a pool mask for the first npool */
static allot_cluster *fleet(int n, int ndev, const char *chip)
{
    allot_cluster *c = allot_cluster_new("test");
    assert_non_null(c);
    int rack = allot_cluster_rack(c, "z", "b", "r");
    assert_true(rack >= 0);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "node-%d", i);
        assert_true(
            allot_cluster_add_node(c, name, chip, ndev, 64000, 512 * 1024, (uint32_t)rack) >= 0);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

/* Requests of `in` prompt and `out` generated tokens at rate(t) per second,
 * Poisson, over span seconds. */
static void make_trace(allot_reqtrace *t, double span, double (*rate)(double), int in, int out,
                       uint64_t seed)
{
    memset(t, 0, sizeof *t);
    allot_rng r;
    allot_rng_seed(&r, seed);
    t->cap = 1024;
    t->v = malloc(t->cap * sizeof *t->v);
    double now = 0;
    while (now < span) {
        double lam = rate(now);
        if (lam <= 0) {
            now += 1;
            continue;
        }
        now += -log(1 - allot_rng_double(&r)) / lam;
        if (now >= span) break;
        if (t->n == t->cap) t->v = realloc(t->v, (t->cap *= 2) * sizeof *t->v);
        t->v[t->n++] = (allot_request){now, in, out, 0};
    }
    t->span_s = span;
    t->kind = ALLOT_REQ_LLM;
    snprintf(t->name, sizeof t->name, "synthetic");
}

/* one request a second, exactly */
static void make_regular(allot_reqtrace *t, double span)
{
    memset(t, 0, sizeof *t);
    t->cap = (size_t)span + 1;
    t->v = calloc(t->cap, sizeof *t->v);
    for (double s = 0.5; s < span; s += 1) t->v[t->n++] = (allot_request){s, 500, 100, 0};
    t->span_s = span;
    t->kind = ALLOT_REQ_LLM;
    snprintf(t->name, sizeof t->name, "regular");
}

static void add_job(allot_workload *w, int64_t submit, int64_t dur, int ndev, uint32_t ckpt)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 1000;
    j.shape.mem = 1024;
    j.ntasks = 1;
    j.submit = submit;
    j.duration = dur;
    j.flags = ALLOT_JOBF_PREEMPTIBLE;
    j.ckpt = ckpt;
    assert_true(allot_workload_add(w, &j, NULL) >= 0);
    w->has_times = 1;
}

static int g_reserve; /* spare replicas for run_mixed */

static int run_mixed(const allot_cluster *c, const allot_workload *w, allot_mixed_service *sv,
                     size_t nsv, const uint8_t *pool, int lend, int64_t grace, double dt,
                     allot_mixed_result *r)
{
    allot_mixed_config cfg;
    allot_mixed_config_init(&cfg);
    cfg.reserve = g_reserve;
    cfg.pool = pool;
    cfg.lend = lend;
    cfg.grace_s = grace;
    cfg.dt = dt;
    cfg.check_invariants = 1;
    allot_diag d = {0};
    int rc = allot_mixed_run(c, w, sv, nsv, &cfg, r, &d);
    if (rc) fprintf(stderr, "allot_mixed_run: %s\n", d.msg);
    return rc;
}

#define H(s) ((s) / 3600.0)

/* The worked example of mixed.c: 1 replica on a 2-device pool, 3 borrowers. */
static void test_hand_computed(void **state)
{
    (void)state;
    allot_cluster *c = fleet(2, 2, "H100");
    uint8_t pool[2] = {1, 0};
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.min_replicas = s.max_replicas = 1;
    allot_reqtrace t;
    make_regular(&t, 100);
    allot_workload w;
    allot_workload_init(&w);
    for (int i = 0; i < 3; i++) add_job(&w, 0, 3600, 1, 600);
    allot_mixed_service sv = {&s, &t, 0, ALLOT_AS_ALLOT};
    allot_mixed_result r;
    assert_int_equal(run_mixed(c, &w, &sv, 1, pool, 1, 20, 1, &r), 0);
    assert_int_equal(r.pool_devices, 2);
    assert_true(fabs(r.horizon_s - 100) < 1e-12);
    assert_true(fabs(r.pool_device_h - H(200)) < 1e-12);
    assert_true(fabs(r.serving_device_h - H(100)) < 1e-12);
    assert_true(fabs(r.idle_serving_device_h - H(100)) < 1e-12);
    assert_true(fabs(r.lent_device_h - H(100)) < 1e-12);
    assert_true(fabs(r.lent_share - 1.0) < 1e-12);
    assert_int_equal(r.reclaims, 0);
    assert_int_equal(r.training.started, 3);
    assert_int_equal(r.training.borrowers, 3);
    assert_true(fabs(r.svc[0].serve.device_hours - H(100)) < 1e-12);
    assert_int_equal(r.svc[0].serve.requests, 100);
    /* the series: one replica and one borrower the whole time */
    for (size_t i = 0; i < r.nseries; i++) {
        assert_true(fabs(r.series[i].serving - 1) < 1e-12);
        assert_true(fabs(r.series[i].lent - 1) < 1e-12);
        assert_true(fabs(r.series[i].idle) < 1e-12);
    }
    allot_mixed_result_free(&r);
    /* without lending: nothing lent, the third job waits */
    assert_int_equal(run_mixed(c, &w, &sv, 1, pool, 0, 20, 1, &r), 0);
    assert_true(fabs(r.lent_device_h) < 1e-12);
    assert_true(fabs(r.lent_share) < 1e-12);
    assert_true(fabs(r.idle_serving_device_h - H(100)) < 1e-12);
    assert_int_equal(r.training.started, 2);
    assert_int_equal(r.training.borrowers, 0);
    allot_mixed_result_free(&r);
    allot_workload_free(&w);
    allot_reqtrace_free(&t);
    allot_cluster_free(c);
}

/* 1 s requests: 2 req/s, then 20 req/s (two 16-slot replicas) from 100 to 400 s */
static double burst(double t) { return t >= 100 && t < 400 ? 20 : 2; }

/* A reclaim: the borrower on the pool is stopped at the end of the grace,
 * loses what it did since its last checkpoint, waits, and resumes from the
 * checkpoint when the training node frees up at 300 s. */
static void test_reclaim_resumes_from_checkpoint(void **state)
{
    (void)state;
    allot_cluster *c = fleet(2, 2, "H100");
    uint8_t pool[2] = {1, 0};
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.min_replicas = 1;
    s.max_replicas = 2;
    allot_reqtrace t;
    make_trace(&t, 1200, burst, 8000, 0, 11); /* 1 s each on an H100 */
    allot_workload w;
    allot_workload_init(&w);
    add_job(&w, 0, 300, 1, 50); /* two on the training node */
    add_job(&w, 0, 300, 1, 50);
    add_job(&w, 0, 300, 1, 50); /* and one borrower */
    allot_mixed_service sv = {&s, &t, 0, ALLOT_AS_ALLOT};
    allot_mixed_result r;
    assert_int_equal(run_mixed(c, &w, &sv, 1, pool, 1, 20, 1, &r), 0);
    assert_int_equal(r.reclaims, 1);
    assert_int_equal(r.reclaim_failures, 0);
    const allot_mixed_reclaim *rc = &r.reclaimv[0];
    assert_int_equal(rc->victims, 1);
    assert_true(rc->ask_s >= 100 && rc->ask_s < 200);
    assert_true(fabs(rc->free_s - rc->ask_s - 20) < 1e-12);
    assert_true(r.reclaim_max_s <= r.reclaim_bound_s);
    assert_true(fabs(r.reclaim_bound_s - 21) < 1e-12);
    double done = floor(rc->free_s / 50) * 50, lost = rc->free_s - done;
    assert_true(fabs(rc->lost_device_s - lost) < 1e-9);
    assert_true(fabs(r.training.lost_device_h - H(lost)) < 1e-12);
    assert_int_equal(r.training.preemptions, 1);
    assert_int_equal(r.training.reclaim_preemptions, 1);
    /* the victim restarted at 300 (a training device frees up) and ran the
     * work its checkpoint had not saved */
    int victims = 0;
    for (size_t i = 0; i < r.training.njobv; i++) {
        const allot_sim_job *j = &r.training.jobv[i];
        if (j->starts != 2) {
            assert_int_equal(j->end, 300);
            continue;
        }
        victims++;
        assert_int_equal(j->end, (int64_t)(300 + 300 - done));
    }
    assert_int_equal(victims, 1);
    assert_int_equal(r.training.finished, 3);
    /* device time: 600 s for the two, 300 s of work plus what was lost */
    assert_true(fabs(r.training.device_h - H(900 + lost)) < 1e-9);
    /* lent: the borrower held the pool device until it was freed */
    assert_true(fabs(r.lent_device_h - H(rc->free_s)) < 1e-12);
    assert_true(r.svc[0].reclaims == 1 && r.svc[0].peak_devices == 2);
    allot_mixed_result_free(&r);
    allot_workload_free(&w);
    allot_reqtrace_free(&t);
    allot_cluster_free(c);
}

/* base 4 req/s, spikes to 40 req/s for 3 minutes every 10 minutes */
static double spiky(double t) { return fmod(t, 600) >= 300 && fmod(t, 600) < 480 ? 40 : 4; }

static void check_bounds(const allot_mixed_result *r)
{
    assert_int_equal(r->reclaim_failures, 0);
    assert_true(r->serving_peak_devices <= r->pool_devices + 1e-9);
    assert_true(r->lent_device_h <= r->idle_serving_device_h + 1e-9);
    assert_true(r->reclaim_max_s <= r->reclaim_bound_s + 1e-9);
    for (size_t i = 0; i < r->nreclaim; i++) {
        double lat = r->reclaimv[i].free_s - r->reclaimv[i].ask_s;
        assert_true(lat >= 0 && lat <= (double)r->grace_s + 1e-9);
    }
    for (size_t i = 0; i < r->nseries; i++) {
        const allot_mixed_point *p = &r->series[i];
        assert_true(p->serving >= -1e-9 && p->lent >= -1e-9 && p->idle >= -1e-9);
        assert_true(p->serving + p->lent + p->reserve <= r->pool_devices + 1e-9);
        assert_true(p->reserve <= p->idle + 1e-9); /* the reserve is idle, not lent */
    }
}

/* Random training mixes against a spiky service: every reclaim within the
 * grace, serving within the pool, lent within idle. */
static void test_bounds_random(void **state)
{
    (void)state;
    allot_cluster *c = fleet(6, 4, "H100");
    uint8_t pool[6] = {1, 1, 0, 0, 0, 0};
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.max_replicas = 16; /* more than the pool's 8 devices at the spikes */
    allot_reqtrace t;
    make_trace(&t, 1800, spiky, 500, 100, 3);
    static const int64_t graces[] = {0, 7, 20};
    static const double dts[] = {1, 1, 10};
    int reclaimed = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        char spec[128];
        snprintf(spec, sizeof spec, "gen:mixed:n=300,seed=%llu,rate=2000,mean_s=600",
                 (unsigned long long)seed);
        allot_workload w;
        allot_workload_init(&w);
        allot_diag d = {0};
        assert_int_equal(allot_gen(spec, c, &w, &d), 0);
        for (size_t g = 0; g < 3; g++) {
            allot_mixed_service sv = {&s, &t, 0, (int)(seed % ALLOT_AS__COUNT)};
            allot_mixed_result r;
            g_reserve = (int)g % 2; /* with and without a spare replica */
            assert_int_equal(run_mixed(c, &w, &sv, 1, pool, 1, graces[g], dts[g], &r), 0);
            g_reserve = 0;
            check_bounds(&r);
            assert_true(r.lent_device_h > 0);
            assert_true(r.svc[0].denied > 0 || r.svc[0].peak_devices <= 8);
            reclaimed += r.reclaims > 0;
            allot_mixed_result_free(&r);
        }
        allot_workload_free(&w);
    }
    assert_true(reclaimed > 0); /* the test saw reclaims */
    allot_reqtrace_free(&t);
    allot_cluster_free(c);
}

/* The reserve: a spare replica takes the burst at once (no reclaim for the
 * service); topping the reserve up again reclaims a borrower, which nobody
 * waits for. The spare counts as idle, not lent. */
static void test_reserve(void **state)
{
    (void)state;
    allot_cluster *c = fleet(2, 4, "H100");
    uint8_t pool[2] = {1, 0};
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.min_replicas = 1;
    s.max_replicas = 2;
    allot_reqtrace t;
    make_trace(&t, 1200, burst, 8000, 0, 11);
    allot_workload w;
    allot_workload_init(&w);
    for (int i = 0; i < 6; i++) add_job(&w, 0, 3000, 1, 50); /* 4 train, 2 borrow */
    allot_mixed_service sv = {&s, &t, 0, ALLOT_AS_ALLOT};
    allot_mixed_config cfg;
    allot_mixed_config_init(&cfg);
    cfg.pool = pool;
    cfg.reserve = 1;
    cfg.check_invariants = 1;
    allot_mixed_result r;
    allot_diag d = {0};
    assert_int_equal(allot_mixed_run(c, &w, &sv, 1, &cfg, &r, &d), 0);
    check_bounds(&r);
    assert_int_equal(r.reclaims, 0);        /* the service never waited */
    assert_int_equal(r.reserve_refills, 1); /* the reserve was topped up once */
    assert_int_equal(r.training.reclaim_preemptions, 1);
    assert_int_equal(r.svc[0].serve.scale_ups, 1);
    assert_true(r.reserve_device_h > 0);
    /* the spare is idle, not lent: 2 borrowers, then 1 */
    assert_true(r.lent_device_h < r.idle_serving_device_h - r.reserve_device_h + 1e-9);
    assert_true(r.series[0].reserve > 0.99 && r.series[0].lent > 1.99);
    allot_mixed_result_free(&r);
    allot_workload_free(&w);
    allot_reqtrace_free(&t);
    allot_cluster_free(c);
}

static double spike(double t) { return t >= 1200 && t < 1800 ? 150 : 15; }

/* Without training the fleet changes nothing: every field allot_serve_run
 * reports is the same, with and without lending, for every autoscaler. */
static void test_no_training_equals_serve_run(void **state)
{
    (void)state;
    allot_cluster *c = fleet(8, 8, "H100");
    uint8_t pool[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    allot_reqtrace t;
    make_trace(&t, 3000, spike, 500, 100, 5);
    for (int p = 0; p < ALLOT_AS__COUNT; p++)
        for (int lend = 0; lend <= 1; lend++) {
            allot_serve_config sc;
            allot_serve_config_init(&sc);
            sc.policy = p;
            sc.record_series = 0;
            allot_serve_result a;
            allot_diag d = {0};
            assert_int_equal(allot_serve_run(&s, &t, &sc, &a, &d), 0);
            allot_mixed_service sv = {&s, &t, 0, p};
            allot_mixed_result r;
            allot_workload empty;
            allot_workload_init(&empty);
            assert_int_equal(run_mixed(c, lend ? &empty : NULL, &sv, 1, pool, lend, 20, 0, &r), 0);
            const allot_serve_result *b = &r.svc[0].serve;
            assert_int_equal(a.requests, b->requests);
            assert_int_equal(a.within_slo, b->within_slo);
            assert_int_equal(a.dropped, b->dropped);
            assert_int_equal(a.scale_ups, b->scale_ups);
            assert_int_equal(a.scale_downs, b->scale_downs);
            assert_true(a.slo_attainment == b->slo_attainment);
            assert_true(a.device_hours == b->device_hours);
            assert_true(a.oracle_device_hours == b->oracle_device_hours);
            assert_true(a.cost == b->cost);
            assert_true(a.mean_replicas == b->mean_replicas);
            assert_true(a.peak_replicas == b->peak_replicas);
            assert_true(r.lent_device_h == 0 && r.reclaims == 0 && r.svc[0].denied == 0);
            /* the pool's serving hours integrate the devices the core holds
             * over time; the service's count what is held after each step's
             * decision for the whole step, and a drained replica one step
             * more (allot_serve_run's convention): close, not equal */
            assert_true(fabs(r.serving_device_h - b->device_hours) <= 0.01 * b->device_hours);
            assert_true(r.svc[0].serve.scale_ups > 0);
            allot_mixed_result_free(&r);
            allot_serve_result_free(&a);
        }
    allot_reqtrace_free(&t);
    allot_cluster_free(c);
}

static void test_deterministic(void **state)
{
    (void)state;
    allot_cluster *c = fleet(6, 4, "H100");
    uint8_t pool[6] = {0, 0, 0, 0, 1, 1};
    allot_service s1, s2;
    allot_service_default(&s1, ALLOT_REQ_LLM);
    allot_service_default(&s2, ALLOT_REQ_LLM);
    snprintf(s2.name, sizeof s2.name, "second");
    allot_reqtrace t1, t2;
    make_trace(&t1, 1800, spiky, 500, 100, 8);
    make_trace(&t2, 900, burst, 8000, 0, 9);
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d = {0};
    assert_int_equal(allot_gen("gen:llm:n=200,seed=4,rate=400,mean_s=900", c, &w, &d), 0);
    allot_mixed_service sv[2] = {{&s1, &t1, 0, ALLOT_AS_ALLOT}, {&s2, &t2, 0, ALLOT_AS_HPA}};
    allot_mixed_result a, b;
    assert_int_equal(run_mixed(c, &w, sv, 2, pool, 1, 20, 1, &a), 0);
    assert_int_equal(run_mixed(c, &w, sv, 2, pool, 1, 20, 1, &b), 0);
    check_bounds(&a);
    assert_true(a.lent_device_h == b.lent_device_h && a.serving_device_h == b.serving_device_h);
    assert_int_equal(a.nreclaim, b.nreclaim);
    if (a.nreclaim) assert_memory_equal(a.reclaimv, b.reclaimv, a.nreclaim * sizeof *a.reclaimv);
    assert_int_equal(a.nseries, b.nseries);
    assert_memory_equal(a.series, b.series, a.nseries * sizeof *a.series);
    assert_int_equal(a.training.njobv, b.training.njobv);
    assert_memory_equal(a.training.jobv, b.training.jobv,
                        a.training.njobv * sizeof *a.training.jobv);
    for (int k = 0; k < 2; k++)
        assert_true(a.svc[k].serve.slo_attainment == b.svc[k].serve.slo_attainment &&
                    a.svc[k].serve.device_hours == b.svc[k].serve.device_hours);
    /* the shorter trace's service keeps running (no requests) to the horizon */
    assert_true(fabs(a.horizon_s - 1800) < 1e-12);
    allot_mixed_result_free(&a);
    allot_mixed_result_free(&b);
    allot_workload_free(&w);
    allot_reqtrace_free(&t1);
    allot_reqtrace_free(&t2);
    allot_cluster_free(c);
}

static void expect_error(const allot_cluster *c, allot_mixed_service *sv, const uint8_t *pool,
                         int sched_policy, double dt, const char *msg)
{
    allot_mixed_config cfg;
    allot_mixed_config_init(&cfg);
    cfg.pool = pool;
    cfg.dt = dt;
    if (sched_policy >= 0) cfg.sched_policy = sched_policy;
    allot_mixed_result r;
    allot_diag d = {0};
    assert_int_equal(allot_mixed_run(c, NULL, sv, 1, &cfg, &r, &d), ALLOT_EINVAL);
    if (!strstr(d.msg, msg)) fprintf(stderr, "message: %s\n", d.msg);
    assert_non_null(strstr(d.msg, msg));
}

static void test_bad_input(void **state)
{
    (void)state;
    allot_cluster *c = fleet(2, 2, "A100-80G");
    uint8_t pool[2] = {1, 0}, none[2] = {0, 0};
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM); /* H100 first */
    allot_reqtrace t;
    make_regular(&t, 50);
    allot_mixed_service sv = {&s, &t, 0, ALLOT_AS_ALLOT};
    expect_error(c, &sv, pool, -1, 0, "no node of the serving pool has that chip type");
    sv.chip = 1; /* A100-80G */
    s.devices = 4;
    expect_error(c, &sv, pool, -1, 0, "needs 4 A100-80G devices on one node");
    s.devices = 1;
    expect_error(c, &sv, none, -1, 0, "the serving pool has no nodes");
    expect_error(c, &sv, pool, ALLOT_SP_DRF, 0, "drf is not supported");
    expect_error(c, &sv, pool, -1, 2.5, "whole number of seconds");
    allot_reqtrace_free(&t);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_reclaim_resumes_from_checkpoint),
        cmocka_unit_test(test_bounds_random),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_no_training_equals_serve_run),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
