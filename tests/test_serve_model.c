/* test_serve_model.c - the serving latency model (Erlang C, SLO fraction,
 * replicas needed), the default services and their checks, the per-interval
 * demand and the oracle (serve.h; docs/internals/serving.md). Every trace is
 * built in memory. */
#include "testutil.h"

#include <math.h>

#include "allot/serve.h"

/* |x - want| <= eps, with the values in the message (this cmocka has no
 * assert_double_equal) */
#define assert_near(x, want, eps)                                                                  \
    do {                                                                                           \
        double x_ = (x), w_ = (want);                                                              \
        if (!(fabs(x_ - w_) <= (eps)))                                                             \
            fail_msg("%s = %.17g, want %.17g +- %g", #x, x_, w_, (double)(eps));                   \
    } while (0)

/* ---- Erlang C ----------------------------------------------------------- */

static void erlang_c_known_values(void **state)
{
    (void)state;
    /* c = 1: M/M/1, P(wait) = rho */
    for (double a = 0.05; a < 1.0; a += 0.1) assert_near(allot_erlang_c(1, a), a, 1e-12);
    assert_near(allot_erlang_c(2, 1.0), 1.0 / 3.0, 1e-12);
    /* published tables (and the factorial form): C(10, 8) = 0.40918 */
    assert_near(allot_erlang_c(10, 8.0), 0.4091801507964435, 1e-9);
    assert_near(allot_erlang_c(8, 6.0), 0.3569810858786803, 1e-9);
    assert_near(allot_erlang_c(5, 4.0), 0.5541125541125541, 1e-9);
    assert_near(allot_erlang_c(100, 90.0), 0.2169404809063664, 1e-9);
    /* limits */
    assert_near(allot_erlang_c(4, 0.0), 0.0, 0);
    assert_near(allot_erlang_c(4, 4.0), 1.0, 0);
    assert_near(allot_erlang_c(4, 7.5), 1.0, 0);
    assert_near(allot_erlang_c(0, 0.5), 1.0, 0);
    /* decreasing in c at fixed a, increasing in a at fixed c */
    double prev = 1.0;
    for (int c = 9; c < 40; c++) {
        double x = allot_erlang_c(c, 8.0);
        assert_true(x < prev);
        prev = x;
    }
    prev = 0.0;
    for (double a = 0.5; a < 20; a += 0.5) {
        double x = allot_erlang_c(20, a);
        assert_true(x > prev);
        prev = x;
    }
}

static void erlang_c_stable_large(void **state)
{
    (void)state;
    double x = allot_erlang_c(50000, 49000.0);
    assert_true(isfinite(x));
    assert_true(x > 0.0 && x < 1.0);
    /* the stable recurrence in long double agrees: 3.5372e-6 */
    assert_near(x, 3.5372096889986165e-06, 1e-12);
    x = allot_erlang_c(100000, 99900.0); /* a within 0.1 % of c */
    assert_true(isfinite(x));
    assert_true(x > 0.5 && x < 1.0);
    x = allot_erlang_c(100000, 99999.999);
    assert_true(isfinite(x) && x > 0.99 && x <= 1.0);
    x = allot_erlang_c(100000, 10.0); /* B underflows long before c */
    assert_true(x == 0.0);
}

/* ---- the SLO fraction ------------------------------------------------------ */

static void slo_fraction_cases(void **state)
{
    (void)state;
    /* 1 - C(8, 6) exp(-(8/1.5 - 4)(3 - 1.5)) */
    assert_near(allot_slo_fraction(4.0, 8, 1.5, 3.0), 0.9516878636324952, 1e-12);
    assert_near(allot_slo_fraction(4.0, 8, 1.5, 3.0), 1.0 - allot_erlang_c(8, 6.0) * exp(-2.0),
                1e-15);
    /* es > slo: nobody makes it */
    assert_near(allot_slo_fraction(0.001, 100, 3.0, 2.0), 0.0, 0);
    /* overloaded (a >= c), including exactly at capacity */
    assert_near(allot_slo_fraction(10.0, 8, 1.0, 100.0), 0.0, 0);
    assert_near(allot_slo_fraction(8.0, 8, 1.0, 100.0), 0.0, 0);
    /* no arrivals: no wait */
    assert_near(allot_slo_fraction(0.0, 1, 2.0, 2.0), 1.0, 0);
    /* es == slo: only those that do not wait: 1 - C */
    assert_near(allot_slo_fraction(1.0, 2, 1.0, 1.0), 1.0 - 1.0 / 3.0, 1e-12);
    /* in [0, 1], increasing in c and in slo, decreasing in lambda */
    double prev = 0.0;
    for (int c = 7; c < 30; c++) {
        double f = allot_slo_fraction(4.0, c, 1.5, 3.0);
        assert_true(f >= prev && f <= 1.0);
        prev = f;
    }
    prev = 1.0;
    for (double l = 0.1; l < 5.3; l += 0.1) {
        double f = allot_slo_fraction(l, 8, 1.5, 3.0);
        assert_true(f <= prev && f >= 0.0);
        prev = f;
    }
    prev = 0.0;
    for (double slo = 1.5; slo < 10; slo += 0.25) {
        double f = allot_slo_fraction(4.0, 8, 1.5, slo);
        assert_true(f >= prev);
        prev = f;
    }
}

/* ---- replicas needed ----------------------------------------------------------- */

static int brute_needed(double lambda, int slots, double es, double slo, double target, int max)
{
    for (int r = 1; r <= max; r++)
        if (allot_slo_fraction(lambda, r * slots, es, slo) >= target) return r;
    return max + 1;
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}
static double unif(uint64_t *s) { return (double)lcg(s) / (double)(1ULL << 53); }

static void replicas_worked_examples(void **state)
{
    (void)state;
    /* the numbers in serving.md */
    assert_int_equal(allot_replicas_needed(20, 16, 2.0, 10, 0.99, 64), 3);
    assert_int_equal(allot_replicas_needed(3, 16, 8.0, 10, 0.99, 64), 3);
    assert_true(allot_slo_fraction(3, 32, 8.0, 10) < 0.99);
    assert_near(allot_slo_fraction(3, 32, 8.0, 10), 0.988782673945278, 1e-9);
    assert_int_equal(allot_replicas_needed(0.2, 1, 40.0, 60, 0.99, 64), 13);
    assert_near(allot_slo_fraction(0.2, 12, 40.0, 60), 0.9810744900777638, 1e-9);
    assert_near(allot_slo_fraction(0.2, 13, 40.0, 60), 0.9937616005092741, 1e-9);
    assert_int_equal(allot_replicas_needed(1, 1, 5.0, 60, 0.99, 64), 6);
    /* edges */
    assert_int_equal(allot_replicas_needed(0, 16, 2.0, 10, 0.99, 64), 1);
    assert_int_equal(allot_replicas_needed(5, 16, 12.0, 10, 0.99, 64), 65);   /* es > slo */
    assert_int_equal(allot_replicas_needed(1000, 16, 2.0, 10, 0.99, 64), 65); /* too much */
    assert_int_equal(allot_replicas_needed(20, 16, 2.0, 10, 0.99, 3), 3);
    assert_int_equal(allot_replicas_needed(20, 16, 2.0, 10, 0.99, 2), 3);
    assert_int_equal(allot_replicas_needed(20, 16, 2.0, 10, 0.0, 64), 1);
    assert_int_equal(allot_replicas_needed(20, 16, 2.0, 10, 1.5, 64), 65);
    assert_int_equal(allot_replicas_needed(20, 16, 2.0, 10, 0.99, 0), 1);
}

static void replicas_match_brute_force(void **state)
{
    (void)state;
    uint64_t s = 42;
    const int slots_opts[] = {1, 2, 4, 16, 32};
    const double targets[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
    for (int i = 0; i < 1500; i++) {
        int slots = slots_opts[lcg(&s) % 5];
        int max = 1 + (int)(lcg(&s) % 120);
        double es = 0.05 + 20.0 * unif(&s);
        double slo = es * (1.0 + 3.0 * unif(&s)) + (i % 7 == 0 ? -0.01 : 0.0);
        double target = targets[lcg(&s) % 5];
        /* up to a bit beyond what max replicas can carry */
        double lambda = (i % 11 == 0) ? 0.0 : unif(&s) * 1.2 * max * slots / es;
        int got = allot_replicas_needed(lambda, slots, es, slo, target, max);
        int want = brute_needed(lambda, slots, es, slo, target, max);
        if (got != want)
            fail_msg("case %d: lambda %g slots %d es %g slo %g target %g max %d: got %d, want %d",
                     i, lambda, slots, es, slo, target, max, got, want);
    }
}

static void replicas_monotone_in_lambda(void **state)
{
    (void)state;
    uint64_t s = 7;
    for (int k = 0; k < 20; k++) {
        int slots = 1 + (int)(lcg(&s) % 32);
        double es = 0.1 + 10 * unif(&s);
        double slo = es * (1.05 + 4 * unif(&s));
        int max = 100;
        int prev = 1;
        for (double lambda = 0; lambda < max * slots / es; lambda += 0.37 * slots / es) {
            int r = allot_replicas_needed(lambda, slots, es, slo, 0.99, max);
            assert_true(r >= prev);
            prev = r;
        }
        assert_true(prev >= max); /* reached the top */
    }
}

static void replicas_large_fleet(void **state)
{
    (void)state;
    /* ~80,000 slots busy: the answer is the boundary between fail and pass */
    double lambda = 40000, es = 2.0, slo = 10;
    int r = allot_replicas_needed(lambda, 16, es, slo, 0.99, 100000);
    assert_true(r > 5000 && r <= 100000);
    assert_true(allot_slo_fraction(lambda, r * 16, es, slo) >= 0.99);
    assert_true(allot_slo_fraction(lambda, (r - 1) * 16, es, slo) < 0.99);
    /* the queue at this size only needs the stability bound plus a little */
    assert_true(r <= 5000 + 10);
}

/* ---- services -------------------------------------------------------------------- */

static allot_request req(double t, int in, int out, float exec)
{
    allot_request r = {t, in, out, exec};
    return r;
}

static void service_defaults(void **state)
{
    (void)state;
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    assert_string_equal(s.name, "llm-70b");
    assert_int_equal(s.devices, 1);
    assert_int_equal(s.slots, 16);
    assert_int_equal(s.min_replicas, 1);
    assert_int_equal(s.max_replicas, 64);
    assert_near(s.slo_s, 10, 0);
    assert_near(s.slo_target, 0.99, 0);
    assert_near(s.drain_s, 30, 0);
    assert_int_equal(s.nchips, 2);
    assert_string_equal(s.chips[0].name, "H100");
    assert_near(s.chips[0].prefill_tps, 8000, 0);
    assert_near(s.chips[0].decode_tps, 40, 0);
    assert_near(s.chips[0].cold_start_s, 60, 0);
    assert_near(s.chips[0].cost_per_hour, 2.5, 0);
    assert_string_equal(s.chips[1].name, "A100-80G");
    assert_near(s.chips[1].prefill_tps, 4000, 0);
    assert_near(s.chips[1].decode_tps, 25, 0);
    assert_near(s.chips[1].cold_start_s, 75, 0);
    assert_int_equal(allot_service_check(&s, NULL, NULL), 0);

    allot_service_default(&s, ALLOT_REQ_EXEC);
    assert_string_equal(s.name, "sdxl");
    assert_int_equal(s.slots, 1);
    assert_near(s.slo_s, 60, 0);
    assert_near(s.chips[0].exec_speed, 1.6, 0);
    assert_near(s.chips[0].cold_start_s, 30, 0);
    assert_near(s.chips[1].exec_speed, 1.0, 0);
    assert_near(s.chips[1].cold_start_s, 40, 0);
    assert_int_equal(allot_service_check(&s, NULL, NULL), 0);
}

/* check s (with trace t) fails with a message containing want */
static void expect_bad(const allot_service *s, const allot_reqtrace *t, const char *want)
{
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_service_check(s, t, &d);
    if (rc != ALLOT_EINVAL) fail_msg("want EINVAL with \"%s\", got %d", want, rc);
    if (!strstr(d.msg, want)) fail_msg("message \"%s\" lacks \"%s\"", d.msg, want);
}

static void service_check_messages(void **state)
{
    (void)state;
    allot_service base, s;
    allot_service_default(&base, ALLOT_REQ_LLM);
#define CASE(stmt, want)                                                                           \
    do {                                                                                           \
        s = base;                                                                                  \
        stmt;                                                                                      \
        expect_bad(&s, NULL, want);                                                                \
    } while (0)
    CASE(s.name[0] = 0, "empty name");
    CASE(s.devices = 0, "devices 0 per replica");
    CASE(s.slots = 0, "slots 0 per replica");
    CASE(s.min_replicas = -1, "min_replicas -1 is negative");
    CASE((s.min_replicas = 5, s.max_replicas = 4), "max_replicas 4 is below min_replicas 5");
    CASE((s.min_replicas = 0, s.max_replicas = 0), "max_replicas 0, need at least 1");
    CASE(s.slo_s = 0, "SLO 0 s");
    CASE(s.slo_target = 1.0, "SLO target 1");
    CASE(s.slo_target = 0.0, "SLO target 0");
    CASE(s.nchips = 0, "no chip types");
    CASE(s.chips[1].decode_tps = -1, "chip A100-80G: negative rate");
    CASE(s.chips[0].prefill_tps = 0, "chip H100: non-positive rate");
#undef CASE

    /* with a trace: the median request's own service time against the SLO */
    allot_request v[3] = {req(0, 0, 480, 0), req(1, 0, 480, 0), req(2, 8000, 0, 0)};
    allot_reqtrace t;
    memset(&t, 0, sizeof t);
    t.v = v;
    t.n = t.cap = 3;
    t.span_s = 2;
    t.kind = ALLOT_REQ_LLM;
    expect_bad(&base, &t,
               "SLO 10 s is below the model's minimum latency 12 s for the median request");
    v[1].out_tok = 40; /* median is now 1 s: fine, even though one request takes 12 s */
    assert_int_equal(allot_service_check(&base, &t, NULL), 0);
    /* an LLM service cannot serve an EXEC trace */
    t.kind = ALLOT_REQ_EXEC;
    expect_bad(&base, &t, "non-positive rate");
    allot_service_default(&s, ALLOT_REQ_EXEC);
    v[0].exec_s = v[1].exec_s = v[2].exec_s = 160; /* 100 s on H100 */
    expect_bad(&s, &t,
               "SLO 60 s is below the model's minimum latency 100 s for the median request");
}

static void autoscaler_names(void **state)
{
    (void)state;
    assert_string_equal(allot_autoscaler_name(ALLOT_AS_HPA), "hpa");
    assert_string_equal(allot_autoscaler_name(ALLOT_AS_KNATIVE), "knative");
    assert_string_equal(allot_autoscaler_name(ALLOT_AS_PREDICTIVE), "predictive");
    assert_string_equal(allot_autoscaler_name(ALLOT_AS_ALLOT), "allot");
    for (int i = 0; i < ALLOT_AS__COUNT; i++)
        assert_int_equal(allot_autoscaler_parse(allot_autoscaler_name((allot_autoscaler)i)), i);
    assert_int_equal(allot_autoscaler_parse("KNative"), ALLOT_AS_KNATIVE);
    assert_int_equal(allot_autoscaler_parse("HPA"), ALLOT_AS_HPA);
    assert_int_equal(allot_autoscaler_parse("kpa"), -1);
    assert_int_equal(allot_autoscaler_parse(""), -1);
    assert_int_equal(allot_autoscaler_parse(NULL), -1);
}

/* ---- demand ---------------------------------------------------------------------- */

static void demand_build_llm(void **state)
{
    (void)state;
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM); /* H100: 8000 / 40 tok/s */
    allot_request v[4] = {
        req(0.5, 800, 40, 0),  /* 0.1 + 1 = 1.1 s */
        req(1.0, 1600, 80, 0), /* 2.2 s */
        req(2.9, 0, 4, 0),     /* 0.1 s */
        req(3.0, 8000, 0, 0),  /* 1 s, exactly at the end */
    };
    allot_reqtrace t;
    memset(&t, 0, sizeof t);
    t.v = v;
    t.n = t.cap = 4;
    t.span_s = 3.0;
    t.kind = ALLOT_REQ_LLM;
    allot_serve_demand d;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 1.0, &d), 0);
    assert_int_equal(d.n, 3);
    assert_near(d.dt, 1.0, 0);
    assert_int_equal(d.count[0], 1);
    assert_int_equal(d.count[1], 1);
    assert_int_equal(d.count[2], 2);
    assert_near(d.work[0], 1.1, 1e-12);
    assert_near(d.work[1], 2.2, 1e-12);
    assert_near(d.work[2], 1.1, 1e-12);
    assert_near(d.es_max, 2.2, 1e-12);
    allot_serve_demand_free(&d);
    assert_null(d.count);

    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 2.0, &d), 0); /* ceil(1.5) */
    assert_int_equal(d.n, 2);
    assert_int_equal(d.count[0], 2);
    assert_int_equal(d.count[1], 2);
    assert_near(d.work[0], 3.3, 1e-12);
    assert_near(d.work[1], 1.1, 1e-12);
    allot_serve_demand_free(&d);

    /* the second chip (A100: 4000 / 25 tok/s) */
    assert_int_equal(allot_serve_demand_build(&s, 1, &t, 10.0, &d), 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.count[0], 4);
    assert_near(d.work[0], 0.2 + 1.6 + 0.4 + 3.2 + 0.16 + 2.0, 1e-12);
    assert_near(d.es_max, 3.6, 1e-12);
    allot_serve_demand_free(&d);

    /* span_s shorter than the last arrival: the arrivals win */
    t.span_s = 1.0;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 1.0, &d), 0);
    assert_int_equal(d.n, 3);
    allot_serve_demand_free(&d);

    /* errors */
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 0.0, &d), ALLOT_EINVAL);
    assert_int_equal(allot_serve_demand_build(&s, 2, &t, 1.0, &d), ALLOT_EINVAL);
    v[2].in_tok = -1;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 1.0, &d), ALLOT_EINVAL);
    assert_null(d.count);
    v[2].in_tok = 0;
    t.kind = ALLOT_REQ_EXEC; /* the LLM chips have no exec speed */
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 1.0, &d), ALLOT_EINVAL);

    /* an empty trace is one empty interval */
    t.kind = ALLOT_REQ_LLM;
    t.n = 0;
    t.span_s = 0;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 1.0, &d), 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.count[0], 0);
    assert_near(d.work[0], 0, 0);
    allot_serve_demand_free(&d);
}

static void demand_build_exec(void **state)
{
    (void)state;
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_EXEC);
    allot_request v[3] = {req(0, 0, 0, 4.0f), req(9.99, 0, 0, 8.0f), req(25, 0, 0, 2.0f)};
    allot_reqtrace t;
    memset(&t, 0, sizeof t);
    t.v = v;
    t.n = t.cap = 3;
    t.span_s = 30;
    t.kind = ALLOT_REQ_EXEC;
    allot_serve_demand d;
    assert_int_equal(allot_serve_demand_build(&s, 0, &t, 10.0, &d), 0);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.count[0], 2);
    assert_int_equal(d.count[1], 0);
    assert_int_equal(d.count[2], 1);
    assert_near(d.work[0], 2.5 + 5.0, 1e-12);
    assert_near(d.work[1], 0.0, 0);
    assert_near(d.work[2], 1.25, 1e-12);
    assert_near(d.es_max, 5.0, 1e-12);
    allot_serve_demand_free(&d);
}

/* ---- the oracle ------------------------------------------------------------------ */

/* A service of 1-slot replicas, SLO 10 s, target 0.99, whose need at dt 10 s
 * for `count` 1-s requests is: 0 -> min (1), 1..5 -> 1, 10 -> 2, 20 -> 3. */
static void oracle_service(allot_service *s, double cold, int devices)
{
    allot_service_default(s, ALLOT_REQ_EXEC);
    s->slots = 1;
    s->slo_s = 10;
    s->devices = devices;
    s->min_replicas = 1;
    s->max_replicas = 10;
    s->chips[0].cold_start_s = cold;
}

static void run_oracle(const allot_service *s, const uint32_t *count, size_t n, const int *want,
                       double want_dh)
{
    double work[32];
    for (size_t i = 0; i < n; i++) work[i] = count[i]; /* 1 s each */
    allot_serve_demand d = {10.0, n, (uint32_t *)count, work, 1.0};
    int *held = NULL;
    double dh = -1;
    assert_int_equal(allot_serve_oracle(s, 0, &d, &held, &dh), 0);
    assert_non_null(held);
    for (size_t i = 0; i < n; i++)
        if (held[i] != want[i]) fail_msg("interval %zu: held %d, want %d", i, held[i], want[i]);
    assert_near(dh, want_dh, 1e-12);
    free(held);
}

static void oracle_needs(void **state)
{
    (void)state;
    /* the need of one interval, from the latency model */
    assert_int_equal(allot_replicas_needed(0.5, 1, 1.0, 10, 0.99, 10), 1);
    assert_int_equal(allot_replicas_needed(1.0, 1, 1.0, 10, 0.99, 10), 2);
    assert_int_equal(allot_replicas_needed(2.0, 1, 1.0, 10, 0.99, 10), 3);
    assert_int_equal(allot_replicas_needed(100.0, 1, 1.0, 10, 0.99, 10), 11);
}

static void oracle_profiles(void **state)
{
    (void)state;
    allot_service s;
    /* no cold start: held = need */
    oracle_service(&s, 0, 1);
    {
        uint32_t c[6] = {0, 5, 20, 0, 10, 1000};
        int want[6] = {1, 1, 3, 1, 2, 10}; /* 1000 requests: clamped to max */
        run_oracle(&s, c, 6, want, 18 * 10 / 3600.0);
    }
    /* a spike in interval 5, cold start 2 intervals: held from interval 3 */
    oracle_service(&s, 20, 2);
    {
        uint32_t c[10] = {0, 0, 0, 0, 0, 20, 0, 0, 10, 0};
        int want[10] = {1, 1, 1, 3, 3, 3, 2, 2, 2, 1};
        run_oracle(&s, c, 10, want, 19 * 2 * 10 / 3600.0);
    }
    /* a cold start of 2.5 intervals rounds up to 3 */
    oracle_service(&s, 25, 1);
    {
        uint32_t c[8] = {0, 0, 0, 0, 0, 20, 0, 0};
        int want[8] = {1, 1, 3, 3, 3, 3, 1, 1};
        run_oracle(&s, c, 8, want, 16 * 10 / 3600.0);
    }
    /* two spikes closer than the cold start: the replicas are kept between */
    oracle_service(&s, 10, 1);
    {
        uint32_t c[7] = {0, 0, 20, 0, 20, 0, 0};
        int want[7] = {1, 3, 3, 3, 3, 1, 1};
        run_oracle(&s, c, 7, want, 15 * 10 / 3600.0);
    }
    /* ... and further apart than it: stopped and started again */
    {
        uint32_t c[7] = {20, 0, 0, 20, 0, 0, 0};
        int want[7] = {3, 1, 3, 3, 1, 1, 1};
        run_oracle(&s, c, 7, want, 13 * 10 / 3600.0);
    }
    /* a spike at the very start: held from t = 0 (taken as ready) */
    oracle_service(&s, 60, 1);
    {
        uint32_t c[3] = {0, 10, 0};
        int want[3] = {2, 2, 1};
        run_oracle(&s, c, 3, want, 5 * 10 / 3600.0);
    }
    /* min replicas 0: idle intervals hold nothing */
    oracle_service(&s, 10, 1);
    s.min_replicas = 0;
    {
        uint32_t c[5] = {0, 0, 0, 1, 0};
        int want[5] = {0, 0, 1, 1, 0};
        run_oracle(&s, c, 5, want, 2 * 10 / 3600.0);
    }
}

static void oracle_errors(void **state)
{
    (void)state;
    allot_service s;
    oracle_service(&s, 10, 1);
    uint32_t c[2] = {1, 1};
    double w[2] = {1, 1};
    allot_serve_demand d = {10.0, 2, c, w, 1.0};
    int *held = (int *)&d; /* must be reset */
    double dh = 5;
    assert_int_equal(allot_serve_oracle(&s, 3, &d, &held, &dh), ALLOT_EINVAL);
    assert_null(held);
    assert_near(dh, 0, 0);
    d.dt = 0;
    assert_int_equal(allot_serve_oracle(&s, 0, &d, &held, &dh), ALLOT_EINVAL);
    d.dt = 10;
    s.max_replicas = 0;
    assert_int_equal(allot_serve_oracle(&s, 0, &d, &held, &dh), ALLOT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(erlang_c_known_values),
        cmocka_unit_test(erlang_c_stable_large),
        cmocka_unit_test(slo_fraction_cases),
        cmocka_unit_test(replicas_worked_examples),
        cmocka_unit_test(replicas_match_brute_force),
        cmocka_unit_test(replicas_monotone_in_lambda),
        cmocka_unit_test(replicas_large_fleet),
        cmocka_unit_test(service_defaults),
        cmocka_unit_test(service_check_messages),
        cmocka_unit_test(autoscaler_names),
        cmocka_unit_test(demand_build_llm),
        cmocka_unit_test(demand_build_exec),
        cmocka_unit_test(oracle_needs),
        cmocka_unit_test(oracle_profiles),
        cmocka_unit_test(oracle_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
