/* tests/test_serve_speed.c - the fast serving paths (issue 5, speed): the
 * cached latency model against the exact one, the window-rate ServeGen
 * demand against the request-sampling path, allot_serve_run_demand against
 * allot_serve_run, and allot_serve_run_many's independence from the thread
 * count. Timings are in bench/serve_bench.c, not here. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sys/stat.h>

#include "allot/rng.h"
#include "allot/serve.h"

#define assert_near(x, want, eps)                                                                  \
    do {                                                                                           \
        double x_ = (x), w_ = (want);                                                              \
        if (!(fabs(x_ - w_) <= (eps)))                                                             \
            fail_msg("%s = %.17g, want %.17g +- %g", #x, x_, w_, (double)(eps));                   \
    } while (0)

/* ---- the cached latency model ------------------------------------------------ */

static void table_replicas_equal_exact(void **state)
{
    (void)state;
    const int slots_opts[] = {1, 2, 4, 16, 32};
    const double targets[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
    allot_rng r;
    allot_rng_seed(&r, 11);
    for (int si = 0; si < 5; si++) {
        int slots = slots_opts[si];
        allot_latency_table *t = NULL;
        assert_int_equal(allot_latency_table_new(&t, slots, 300), 0);
        assert_int_equal(allot_latency_table_slots(t), slots);
        for (int i = 0; i < 800; i++) {
            int max = 1 + (int)allot_rng_below(&r, 300);
            double es = 0.05 + 20 * allot_rng_double(&r);
            double slo = es * (1 + 3 * allot_rng_double(&r)) + (i % 7 == 0 ? -0.01 : 0);
            double target = targets[allot_rng_below(&r, 5)];
            double lambda = i % 13 == 0 ? 0 : allot_rng_double(&r) * 1.2 * max * slots / es;
            int want = allot_replicas_needed(lambda, slots, es, slo, target, max);
            int got = allot_latency_replicas_needed(t, lambda, es, slo, target, max);
            if (got != want)
                fail_msg("slots %d lambda %.17g es %.17g slo %.17g target %g max %d: %d, exact %d",
                         slots, lambda, es, slo, target, max, got, want);
            /* and right at a boundary: the load where the answer changes */
            if (want >= 2 && want <= max) {
                double lo = 0, hi = lambda;
                for (int k = 0; k < 60; k++) {
                    double mid = 0.5 * (lo + hi);
                    if (allot_replicas_needed(mid, slots, es, slo, target, max) >= want)
                        hi = mid;
                    else
                        lo = mid;
                }
                assert_int_equal(allot_latency_replicas_needed(t, hi, es, slo, target, max),
                                 allot_replicas_needed(hi, slots, es, slo, target, max));
                assert_int_equal(allot_latency_replicas_needed(t, lo, es, slo, target, max),
                                 allot_replicas_needed(lo, slots, es, slo, target, max));
            }
        }
        allot_latency_table_free(t);
    }
    /* the edge cases of the exact search */
    allot_latency_table *t = NULL;
    assert_int_equal(allot_latency_table_new(&t, 16, 64), 0);
    const double cases[][5] = {
        {1000, 2.0, 10, 0.99, 64}, {20, 2.0, 10, 0.99, 3},   {20, 2.0, 10, 0.99, 2},
        {20, 2.0, 10, 0.0, 64},    {20, 2.0, 10, 1.5, 64},   {20, 2.0, 10, 0.99, 0},
        {20, 2.0, 10, 1.0, 64},    {0, 2.0, 10, 0.99, 64},   {20, 0.0, 10, 0.99, 64},
        {20, 11.0, 10, 0.99, 64},  {NAN, 2.0, 10, 0.99, 64}, {20, 2.0, 10, NAN, 64}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const double *c = cases[i];
        assert_int_equal(allot_latency_replicas_needed(t, c[0], c[1], c[2], c[3], (int)c[4]),
                         allot_replicas_needed(c[0], 16, c[1], c[2], c[3], (int)c[4]));
    }
    /* more replicas than the table holds: the exact model */
    assert_int_equal(allot_latency_replicas_needed(t, 1000, 2.0, 10, 0.99, 1000),
                     allot_replicas_needed(1000, 16, 2.0, 10, 0.99, 1000));
    allot_latency_table_free(t);
    allot_latency_table_free(NULL);
    assert_int_equal(allot_latency_table_new(&t, 0, 10), ALLOT_EINVAL);
    assert_null(t);
    assert_int_equal(allot_latency_table_new(&t, 4, 0), ALLOT_EINVAL);
}

static void table_fraction_close_to_exact(void **state)
{
    (void)state;
    allot_rng r;
    allot_rng_seed(&r, 12);
    const int slots_opts[] = {1, 3, 16, 64};
    double worst = 0;
    for (int si = 0; si < 4; si++) {
        int slots = slots_opts[si];
        allot_latency_table *t = NULL;
        assert_int_equal(allot_latency_table_new(&t, slots, 200), 0);
        for (int i = 0; i < 1500; i++) {
            int rep = 1 + (int)allot_rng_below(&r, 200);
            double es = 0.1 + 30 * allot_rng_double(&r);
            double slo = es * (1 + 2 * allot_rng_double(&r));
            /* loads from far below to just under the slots */
            double a = rep * slots * (1 - pow(allot_rng_double(&r), 3));
            double lambda = a / es;
            double want = allot_slo_fraction(lambda, rep * slots, es, slo);
            double got = allot_latency_slo_fraction(t, lambda, rep, es, slo);
            if (!(fabs(got - want) <= 1e-11))
                fail_msg("slots %d r %d lambda %.17g es %g slo %g: %.17g, exact %.17g", slots, rep,
                         lambda, es, slo, got, want);
            if (fabs(got - want) > worst) worst = fabs(got - want);
        }
        /* the trivial cases are the exact model's */
        assert_true(allot_latency_slo_fraction(t, 5, 2, 11, 10) == 0.0);  /* es > slo */
        assert_true(allot_latency_slo_fraction(t, 0, 2, 1, 10) == 1.0);   /* no arrivals */
        assert_true(allot_latency_slo_fraction(t, 1e9, 2, 1, 10) == 0.0); /* overloaded */
        assert_true(allot_latency_slo_fraction(t, 5, 0, 1, 10) == 0.0);   /* no replica */
        assert_true(allot_latency_slo_fraction(t, NAN, 2, 1, 10) == 0.0);
        allot_latency_table_free(t);
    }
    print_message("largest |cached - exact| SLO fraction: %.3g\n", worst);
}

typedef struct share_arg {
    allot_latency_table *t;
    uint64_t seed;
    long sum;
} share_arg;

static void *share_worker(void *p)
{
    share_arg *a = p;
    allot_rng r;
    allot_rng_seed(&r, a->seed);
    for (int i = 0; i < 3000; i++) {
        double lambda = 400 * allot_rng_double(&r), es = 1 + 5 * allot_rng_double(&r);
        a->sum += allot_latency_replicas_needed(a->t, lambda, es, 12, 0.99, 400) * (i + 1);
    }
    return NULL;
}

/* Threads sharing a table build its entries concurrently and get the same
 * answers as a table of their own. */
static void table_shared_by_threads(void **state)
{
    (void)state;
    allot_latency_table *shared = NULL, *own = NULL;
    assert_int_equal(allot_latency_table_new(&shared, 8, 400), 0);
    share_arg a[4];
    pthread_t tid[4];
    for (int k = 0; k < 4; k++) {
        a[k] = (share_arg){shared, 100 + (uint64_t)(k % 2), 0};
        assert_int_equal(pthread_create(&tid[k], NULL, share_worker, &a[k]), 0);
    }
    for (int k = 0; k < 4; k++) pthread_join(tid[k], NULL);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(allot_latency_table_new(&own, 8, 400), 0);
        share_arg b = {own, 100 + (uint64_t)k, 0};
        share_worker(&b);
        assert_true(b.sum == a[k].sum && b.sum == a[k + 2].sum);
        allot_latency_table_free(own);
    }
    allot_latency_table_free(shared);
}

/* The autoscalers answer the same with the table. */
static void scaler_same_with_table(void **state)
{
    (void)state;
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.max_replicas = 200;
    allot_latency_table *t = NULL, *wrong = NULL;
    assert_int_equal(allot_latency_table_new(&t, s.slots, s.max_replicas), 0);
    assert_int_equal(allot_latency_table_new(&wrong, s.slots + 1, 10), 0);
    for (int p = 0; p < ALLOT_AS__COUNT; p++) {
        allot_scaler *x = NULL, *y = NULL;
        assert_int_equal(allot_scaler_new(&x, p, &s, 0, 10), 0);
        assert_int_equal(allot_scaler_new(&y, p, &s, 0, 10), 0);
        assert_int_equal(allot_scaler_set_latency_table(y, wrong), ALLOT_EINVAL);
        assert_int_equal(allot_scaler_set_latency_table(y, t), 0);
        allot_rng r;
        allot_rng_seed(&r, 5);
        int ready = 4;
        for (int i = 0; i < 30000; i++) {
            double rps = 40 + 30 * sin(i / 500.0) + 10 * allot_rng_double(&r);
            allot_scaler_obs o = {.t = (i + 1) * 10.0,
                                  .dt = 10,
                                  .rps = rps,
                                  .es = 2 + allot_rng_double(&r),
                                  .concurrency = rps * 2.5,
                                  .backlog_s = i % 97 == 0 ? 300 : 0,
                                  .slo_frac = i % 89 == 0 ? 0.9 : 1,
                                  .ready = ready,
                                  .starting = 0};
            int a = allot_scaler_decide(x, &o), b = allot_scaler_decide(y, &o);
            if (a != b) fail_msg("policy %d step %d: %d without the table, %d with it", p, i, a, b);
            ready = a;
        }
        allot_scaler_free(x);
        allot_scaler_free(y);
    }
    allot_latency_table_free(t);
    allot_latency_table_free(wrong);
}

/* ---- a synthetic ServeGen model ----------------------------------------------- */

static char *mkdir_tmp(void)
{
    char tmpl[] = "/tmp/allot-speed-XXXXXX";
    char *p = mkdtemp(tmpl);
    assert_non_null(p);
    return strdup(p);
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* dir/language/m-test with `clients` chunk files of `windows` 600-s rows:
 * a daily cycle, idle windows, Gamma and Weibull laws of several shapes.
 * Returns the model directory. */
static char *make_model(const char *dir, int clients, int windows, double rate)
{
    char *lang = path_in(dir, "language");
    assert_int_equal(mkdir(lang, 0700), 0);
    char *model = path_in(lang, "m-test");
    assert_int_equal(mkdir(model, 0700), 0);
    static const char *const pat[] = {"Gamma", "Weibull", "Gamma", "Weibull", "Gamma", "Gamma"};
    static const double shape[] = {0.3, 0.45, 1.0, 0.8, 2.5, 0.12};
    for (int c = 0; c < clients; c++) {
        char name[64];
        snprintf(name, sizeof name, "chunk-%d-trace.csv", c);
        char *f = path_in(model, name);
        FILE *fp = fopen(f, "w");
        assert_non_null(fp);
        for (int w = 0; w < windows; w++) {
            double day = 1 + 0.6 * sin(2 * M_PI * (w % 144) / 144.0 + c);
            double r = (w + c) % 17 == 0 ? 0 : rate * day * (1 + c % 3) / 3;
            if (r > 0)
                fprintf(fp, "%d,%.10g,%.4g,%s,%.6g,%.6g\n", w * 600, r, 1.0, pat[c % 6],
                        shape[c % 6], 1.0);
            else
                fprintf(fp, "%d,0,0,,0,0\n", w * 600);
        }
        fclose(fp);
        free(f);
    }
    free(lang);
    return model;
}

static void expect_ok(int rc, const allot_diag *d)
{
    if (rc != 0) fail_msg("unexpected error %d: %s", rc, d->msg);
}

static uint64_t total(const allot_serve_demand *d)
{
    uint64_t s = 0;
    for (size_t i = 0; i < d->n; i++) s += d->count[i];
    return s;
}

/* The window-rate demand has the request path's requests, window by window
 * (so per hour exactly), the mean service time, and a simulator that ends
 * within a few percent of it (docs/internals/serving.md states the
 * tolerances). */
static void window_demand_matches_request_path(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = make_model(dir, 6, 144, 2.0); /* one day, ~8 req/s */
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.slo_s = 60;
    s.max_replicas = 256;
    const double dt = 10;

    allot_reqtrace_opts ro;
    allot_reqtrace_opts_init(&ro);
    ro.seed = 3;
    allot_reqtrace t;
    allot_diag d = {0};
    expect_ok(allot_reqtrace_load(model, &ro, &t, &d), &d);
    allot_serve_demand a, b;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, dt, &a), 0);
    allot_servegen_opts so;
    allot_servegen_opts_init(&so);
    so.seed = 3;
    expect_ok(allot_serve_demand_servegen(model, &s, 0, dt, &so, &b, &d), &d);

    assert_int_equal(a.n, b.n);
    assert_int_equal(b.n, 8640);
    assert_true(b.dt == dt);
    assert_int_equal(total(&a), t.n);
    assert_int_equal(total(&b), t.n);
    /* every window's arrivals stay in it: the hours agree exactly */
    for (size_t h = 0; h < 24; h++) {
        uint64_t ca = 0, cb = 0;
        for (size_t i = h * 360; i < (h + 1) * 360; i++) ca += a.count[i], cb += b.count[i];
        assert_int_equal(ca, cb);
    }
    double wa = 0, wb = 0;
    for (size_t i = 0; i < a.n; i++) wa += a.work[i], wb += b.work[i];
    assert_near(wb / wa, 1.0, 0.01); /* the mean service time */
    /* the burstiness within windows: the step counts' variance around their
     * window's mean, within 35 % of the request path's */
    double va = 0, vb = 0;
    for (size_t w = 0; w < 144; w++) {
        double ma = 0, mb = 0;
        for (size_t i = w * 60; i < (w + 1) * 60; i++) ma += a.count[i], mb += b.count[i];
        ma /= 60, mb /= 60;
        for (size_t i = w * 60; i < (w + 1) * 60; i++)
            va += (a.count[i] - ma) * (a.count[i] - ma),
                vb += (b.count[i] - mb) * (b.count[i] - mb);
    }
    print_message("step-count variance within windows: request path %.1f, window path %.1f\n",
                  va / 8640, vb / 8640);
    assert_true(vb / va > 0.65 && vb / va < 1.35);

    for (int p = 0; p < ALLOT_AS__COUNT; p++) {
        allot_serve_config c;
        allot_serve_config_init(&c);
        c.policy = p;
        allot_serve_result ra, rb;
        expect_ok(allot_serve_run_demand(&s, &a, &c, &ra, &d), &d);
        expect_ok(allot_serve_run_demand(&s, &b, &c, &rb, &d), &d);
        print_message("%-10s request path: %.4f within SLO, %.1f device-h (oracle %.1f); "
                      "window-rate: %.4f, %.1f (%.1f)\n",
                      allot_autoscaler_name(p), ra.slo_attainment, ra.device_hours,
                      ra.oracle_device_hours, rb.slo_attainment, rb.device_hours,
                      rb.oracle_device_hours);
        assert_int_equal(ra.requests, rb.requests);
        assert_near(rb.slo_attainment, ra.slo_attainment, 0.01);
        assert_near(rb.device_hours / ra.device_hours, 1.0, 0.08);
        assert_near(rb.oracle_device_hours / ra.oracle_device_hours, 1.0, 0.03);
        allot_serve_result_free(&ra);
        allot_serve_result_free(&rb);
    }
    allot_serve_demand_free(&a);
    allot_serve_demand_free(&b);
    allot_reqtrace_free(&t);
    rm_rf(dir);
    free(dir);
    free(model);
}

static int same_demand(const allot_serve_demand *a, const allot_serve_demand *b)
{
    return a->n == b->n && memcmp(a->count, b->count, a->n * sizeof *a->count) == 0 &&
           memcmp(a->work, b->work, a->n * sizeof *a->work) == 0;
}

/* Seeds, options, client subsets, odd steps and errors of the window path. */
static void window_demand_options(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = make_model(dir, 4, 48, 3.0); /* 8 h */
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    allot_servegen *g = NULL;
    allot_diag d = {0};
    expect_ok(allot_servegen_load(model, &g, &d), &d);
    assert_int_equal(allot_servegen_clients(g), 4);
    assert_near(allot_servegen_span(g), 48 * 600.0, 0);
    assert_string_equal(allot_servegen_name(g), "servegen-m-test");
    assert_true(allot_servegen_mean_rate(g, 0, 0) > 0);
    double med = allot_servegen_median_service(g, &s, 0);
    assert_true(med > 1 && med < 20); /* ~1000 + 250 tokens: 0.125 + 6.25 s */

    allot_servegen_opts o;
    allot_servegen_opts_init(&o);
    o.seed = 9;
    allot_serve_demand x, y;
    expect_ok(allot_serve_demand_windows(g, &s, 0, 10, &o, &x, &d), &d);
    expect_ok(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), &d);
    assert_true(same_demand(&x, &y)); /* deterministic */
    allot_serve_demand_free(&y);
    o.seed = 10;
    expect_ok(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), &d);
    assert_false(same_demand(&x, &y));
    assert_int_equal(total(&x), total(&y)); /* the windows' totals do not depend on it */
    allot_serve_demand_free(&y);

    /* the path's convenience wrapper is the same */
    o.seed = 9;
    expect_ok(allot_serve_demand_servegen(model, &s, 0, 10, &o, &y, &d), &d);
    assert_true(same_demand(&x, &y));
    allot_serve_demand_free(&y);

    /* a client subset is the request path over those clients' files */
    allot_reqtrace_opts ro;
    allot_reqtrace_opts_init(&ro);
    char *f1 = path_in(model, "chunk-1-trace.csv");
    allot_reqtrace t;
    expect_ok(allot_reqtrace_load(f1, &ro, &t, &d), &d);
    o.client_first = 1;
    o.client_count = 1;
    expect_ok(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), &d);
    assert_int_equal(total(&y), t.n);
    allot_serve_demand_free(&y);
    allot_reqtrace_free(&t);
    free(f1);

    /* rate_scale, max_span_s (a cut inside a window), a step that does not
     * divide 600 s: the request path's totals */
    allot_servegen_opts_init(&o);
    o.rate_scale = 0.7;
    o.max_span_s = 3 * 3600 + 250;
    allot_reqtrace_opts_init(&ro);
    ro.rate_scale = 0.7;
    ro.max_span_s = o.max_span_s;
    expect_ok(allot_reqtrace_load(model, &ro, &t, &d), &d);
    for (int k = 0; k < 2; k++) {
        double dt = k ? 7 : 10;
        expect_ok(allot_serve_demand_windows(g, &s, 0, dt, &o, &y, &d), &d);
        assert_int_equal(y.n, (size_t)ceil(o.max_span_s / dt));
        /* the cut window keeps its arrivals before the cut only */
        uint64_t diff = total(&y) > t.n ? total(&y) - t.n : t.n - total(&y);
        assert_true((double)diff < 0.02 * (double)t.n);
        uint64_t before = 0, before_t = 0; /* windows wholly before the cut: exact */
        for (size_t i = 0; i < y.n && (i + 1) * dt <= 3 * 3600; i++) before += y.count[i];
        for (size_t i = 0; i < t.n; i++) before_t += t.v[i].t < floor(3 * 3600 / dt) * dt;
        if (k == 0) assert_int_equal(before, before_t);
        allot_serve_demand_free(&y);
    }
    allot_reqtrace_free(&t);

    /* errors */
    allot_servegen_opts_init(&o);
    assert_int_equal(allot_serve_demand_windows(g, &s, 0, 0, &o, &y, &d), ALLOT_EINVAL);
    assert_int_equal(allot_serve_demand_windows(g, &s, 5, 10, &o, &y, &d), ALLOT_EINVAL);
    o.rate_scale = -1;
    assert_int_equal(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), ALLOT_EINVAL);
    allot_servegen_opts_init(&o);
    o.client_first = 4;
    assert_int_equal(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), ALLOT_EINVAL);
    assert_non_null(strstr(d.msg, "4 clients"));
    allot_servegen_opts_init(&o);
    o.rate_scale = 1e-9; /* every window rounds to 0 requests */
    assert_int_equal(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), ALLOT_EPARSE);
    allot_service img;
    allot_service_default(&img, ALLOT_REQ_EXEC);
    allot_servegen_opts_init(&o);
    assert_int_equal(allot_serve_demand_windows(g, &img, 0, 10, &o, &y, &d), ALLOT_EINVAL);
    assert_null(y.count);
    allot_servegen *g2 = NULL;
    assert_int_equal(allot_servegen_load(dir, &g2, &d), ALLOT_EPARSE); /* not a model directory */
    assert_null(g2);
    allot_serve_demand_free(&x);
    allot_servegen_free(g);
    rm_rf(dir);
    free(dir);
    free(model);
}

/* The step counts of one Poisson client (Gamma shape 1) and of a bursty one
 * have the variance the construction promises. */
static void window_demand_variance(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = path_in(dir, "m-var");
    assert_int_equal(mkdir(model, 0700), 0);
    const double shapes[] = {1.0, 0.25};
    for (int c = 0; c < 2; c++) {
        char name[64];
        snprintf(name, sizeof name, "chunk-%d-trace.csv", c);
        char *f = path_in(model, name);
        FILE *fp = fopen(f, "w");
        assert_non_null(fp);
        for (int w = 0; w < 400; w++) fprintf(fp, "%d,2,1,Gamma,%g,1\n", w * 600, shapes[c]);
        fclose(fp);
        free(f);
    }
    allot_servegen *g = NULL;
    allot_diag d = {0};
    expect_ok(allot_servegen_load(model, &g, &d), &d);
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    for (int c = 0; c < 2; c++) {
        allot_servegen_opts o;
        allot_servegen_opts_init(&o);
        o.client_first = (size_t)c;
        o.client_count = 1;
        allot_serve_demand y;
        expect_ok(allot_serve_demand_windows(g, &s, 0, 10, &o, &y, &d), &d);
        double v = 0;
        for (size_t i = 0; i < y.n; i++) v += (y.count[i] - 20.0) * (y.count[i] - 20.0);
        v /= (double)y.n;
        /* n = 1200 a window, m = 20 a step: Poisson 20 (x 59/60 for the
         * window's fixed total); Gamma 0.25: sample CV^2 (n - 1)/(n k + 1)
         * = 3.98, 1 + 2.98 x 20 / (20 + 0.5 + 0.398) */
        double want = c == 0 ? 20 * 59 / 60.0 : 20 * (1 + 2.98 * 20 / 20.9) * 59 / 60.0;
        print_message("shape %g: step variance %.2f, want about %.2f\n", shapes[c], v, want);
        assert_near(v / want, 1.0, 0.1);
        allot_serve_demand_free(&y);
    }
    allot_servegen_free(g);
    rm_rf(dir);
    free(dir);
    free(model);
}

/* ---- runs ----------------------------------------------------------------------- */

static void run_equals_run_demand(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = make_model(dir, 3, 36, 2.0);
    allot_reqtrace_opts ro;
    allot_reqtrace_opts_init(&ro);
    allot_reqtrace t;
    allot_diag d = {0};
    expect_ok(allot_reqtrace_load(model, &ro, &t, &d), &d);
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.slo_s = 30;
    for (int p = 0; p < ALLOT_AS__COUNT; p++) {
        allot_serve_config c;
        allot_serve_config_init(&c);
        c.policy = p;
        c.dt = 1;
        allot_serve_result r1, r2, r3;
        expect_ok(allot_serve_run(&s, &t, &c, &r1, &d), &d);
        allot_serve_demand dem;
        assert_int_equal(allot_serve_demand_build(&s, 0, &t, 1, &dem), 0);
        expect_ok(allot_serve_run_demand(&s, &dem, &c, &r2, &d), &d);
        assert_true(r1.device_hours == r2.device_hours);
        assert_true(r1.slo_attainment == r2.slo_attainment);
        assert_int_equal(r1.nseries, r2.nseries);
        assert_true(memcmp(r1.series, r2.series, r1.nseries * sizeof *r1.series) == 0);
        /* the exact latency model: the same replicas, fractions within 1e-9 */
        c.exact_latency = 1;
        expect_ok(allot_serve_run_demand(&s, &dem, &c, &r3, &d), &d);
        assert_true(r3.device_hours == r2.device_hours);
        assert_true(r3.oracle_device_hours == r2.oracle_device_hours);
        assert_true(r3.scale_ups == r2.scale_ups && r3.scale_downs == r2.scale_downs);
        assert_near(r3.slo_attainment, r2.slo_attainment, 1e-9);
        allot_serve_result_free(&r1);
        allot_serve_result_free(&r2);
        allot_serve_result_free(&r3);
        allot_serve_demand_free(&dem);
    }
    /* a demand and a service that do not fit */
    allot_serve_config c;
    allot_serve_config_init(&c);
    allot_serve_demand empty;
    memset(&empty, 0, sizeof empty);
    allot_serve_result r;
    assert_int_equal(allot_serve_run_demand(&s, &empty, &c, &r, &d), ALLOT_EINVAL);
    allot_latency_table *lt = NULL;
    assert_int_equal(allot_latency_table_new(&lt, s.slots + 1, 10), 0);
    allot_serve_demand dem;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 10, &dem), 0);
    c.latency = lt;
    assert_int_equal(allot_serve_run_demand(&s, &dem, &c, &r, &d), ALLOT_EINVAL);
    assert_non_null(strstr(d.msg, "slots"));
    allot_latency_table_free(lt);
    allot_serve_demand_free(&dem);
    allot_reqtrace_free(&t);
    rm_rf(dir);
    free(dir);
    free(model);
}

static void run_many_thread_independent(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = make_model(dir, 6, 72, 2.0);
    allot_servegen *g = NULL;
    allot_diag d = {0};
    expect_ok(allot_servegen_load(model, &g, &d), &d);
    enum { N = 9 };
    allot_service s[3];
    for (int k = 0; k < 3; k++) {
        allot_service_default(&s[k], ALLOT_REQ_LLM);
        s[k].slo_s = 30 + 15 * k;
        s[k].slots = k == 2 ? 8 : 16; /* two table sizes */
        s[k].max_replicas = 100 + 50 * k;
    }
    allot_serve_demand dem[N];
    for (int i = 0; i < N; i++) {
        allot_servegen_opts o;
        allot_servegen_opts_init(&o);
        o.seed = 50 + (uint64_t)i;
        o.client_first = (size_t)(i % 4);
        o.client_count = 2;
        o.rate_scale = 0.5 + i;
        expect_ok(allot_serve_demand_windows(g, &s[i % 3], 0, 10, &o, &dem[i], &d), &d);
    }
    allot_serve_job ref[N], jobs[N];
    for (int threads = 1; threads <= 4; threads++) {
        allot_serve_job *j = threads == 1 ? ref : jobs;
        for (int i = 0; i < N; i++) {
            memset(&j[i], 0, sizeof j[i]);
            j[i].service = &s[i % 3];
            j[i].demand = &dem[i];
            allot_serve_config_init(&j[i].cfg);
            j[i].cfg.policy = i % ALLOT_AS__COUNT;
        }
        assert_int_equal(allot_serve_run_many(j, N, threads), 0);
        for (int i = 0; i < N; i++) {
            assert_int_equal(j[i].rc, 0);
            if (threads == 1) {
                /* the same as one run on its own */
                allot_serve_result r;
                expect_ok(allot_serve_run_demand(&s[i % 3], &dem[i], &j[i].cfg, &r, &d), &d);
                assert_true(r.device_hours == j[i].result.device_hours);
                assert_true(r.slo_attainment == j[i].result.slo_attainment);
                allot_serve_result_free(&r);
                continue;
            }
            assert_true(j[i].result.device_hours == ref[i].result.device_hours);
            assert_true(j[i].result.slo_attainment == ref[i].result.slo_attainment);
            assert_true(j[i].result.oracle_device_hours == ref[i].result.oracle_device_hours);
            assert_int_equal(j[i].result.scale_ups, ref[i].result.scale_ups);
            assert_int_equal(j[i].result.nseries, ref[i].result.nseries);
            assert_true(memcmp(j[i].result.series, ref[i].result.series,
                               j[i].result.nseries * sizeof *j[i].result.series) == 0);
            allot_serve_result_free(&j[i].result);
        }
    }
    /* a failing job: its code and message, the others still run */
    ref[0].cfg.policy = 99;
    for (int i = 0; i < N; i++) allot_serve_result_free(&ref[i].result);
    assert_int_equal(allot_serve_run_many(ref, N, 2), ALLOT_EINVAL);
    assert_int_equal(ref[0].rc, ALLOT_EINVAL);
    assert_non_null(strstr(ref[0].diag.msg, "autoscaler"));
    assert_int_equal(ref[1].rc, 0);
    for (int i = 0; i < N; i++) allot_serve_result_free(&ref[i].result);
    assert_int_equal(allot_serve_run_many(NULL, 0, 2), 0);
    for (int i = 0; i < N; i++) allot_serve_demand_free(&dem[i]);
    allot_servegen_free(g);
    rm_rf(dir);
    free(dir);
    free(model);
}

/* The median the SLO check compares with (quickselect, odd and even sizes). */
static void service_check_median(void **state)
{
    (void)state;
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    for (int n = 1; n <= 9; n++) {
        allot_reqtrace t;
        memset(&t, 0, sizeof t);
        t.kind = ALLOT_REQ_LLM;
        t.v = calloc((size_t)n, sizeof *t.v);
        t.n = t.cap = (size_t)n;
        double st[9];
        for (int i = 0; i < n; i++) {
            int out = 40 * ((i * 7) % 9 + 1); /* 1..9 s of decode, shuffled */
            t.v[i] = (allot_request){i, 0, out, 0};
            st[i] = out / 40.0;
        }
        /* sorted median */
        for (int i = 1; i < n; i++)
            for (int k = i; k > 0 && st[k] < st[k - 1]; k--) {
                double x = st[k];
                st[k] = st[k - 1];
                st[k - 1] = x;
            }
        double med = n % 2 ? st[n / 2] : 0.5 * (st[n / 2 - 1] + st[n / 2]);
        allot_diag d = {0};
        s.slo_s = med;
        assert_int_equal(allot_service_check(&s, &t, &d), 0);
        s.slo_s = med - 0.01;
        assert_int_equal(allot_service_check(&s, &t, &d), ALLOT_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "latency %g s", med);
        assert_non_null(strstr(d.msg, want));
        free(t.v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_replicas_equal_exact),
        cmocka_unit_test(table_fraction_close_to_exact),
        cmocka_unit_test(table_shared_by_threads),
        cmocka_unit_test(scaler_same_with_table),
        cmocka_unit_test(window_demand_matches_request_path),
        cmocka_unit_test(window_demand_options),
        cmocka_unit_test(window_demand_variance),
        cmocka_unit_test(run_equals_run_demand),
        cmocka_unit_test(run_many_thread_independent),
        cmocka_unit_test(service_check_median),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
