/* serve_bench.c - `make bench`, serving part: the issue-5 speed target
 * "14 days of ServeGen at 10 s resolution with 100 services in <= 2 s"
 * (docs/BENCHMARKS.md, "Issue 5: serving simulator speed").
 *
 *  1. 100 services drawn from the 14-day ServeGen models (language/m-large
 *     and language/m-small): each a contiguous group of clients of one
 *     model, its rate scaled to a mean drawn log-uniformly in [1, 100]
 *     req/s, its own seed; the default LLM service (16 slots, H100) with an
 *     SLO of 60 s (the family's mean request takes ~10.5 s) and up to 1,024
 *     replicas. Window-rate demand at dt = 10 s (120,960 steps a service),
 *     then the simulator with the allot autoscaler on 2 threads, then hpa.
 *     Prints wall times (reading the models, building the demand,
 *     simulating), service-steps/s and the ratio to the 2 s target; checks
 *     that 1 thread gives the same results.
 *  2. The request-sampling path on one service (m-large, every client at
 *     0.02 x, 14 days, ~4.7 M requests): drawing the requests, then allot
 *     with the exact latency model and with the cached one; and the
 *     window-rate path on the same service for comparison.
 *
 * Needs ../shared/traces (or ALLOT_TRACES); skipped with a message without.
 * ALLOT_BENCH_SERVE_N overrides the number of services (quick checks);
 * ALLOT_BENCH_SERVE_PART=1 or 2 runs that part alone.
 * Wall times on a shared 2-core machine are noisy: each figure is the best
 * of ALLOT_BENCH_REPS (default 2) repetitions.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allot/rng.h"
#include "allot/serve.h"

#define TARGET_S 2.0
#define THREADS  2
#define DT       10.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (every thread) */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *traces_dir(void)
{
    const char *env = getenv("ALLOT_TRACES");
    if (env && access(env, R_OK) == 0) return env;
    if (access("../shared/traces", R_OK) == 0) return "../shared/traces";
    return NULL;
}

typedef struct svc_spec {
    const allot_servegen *g;
    allot_servegen_opts o;
    double mean_rps;
} svc_spec;

typedef struct build_ctx {
    const svc_spec *spec;
    const allot_service *s;
    allot_serve_demand *dem;
    size_t n;
    atomic_size_t next;
    atomic_int rc;
} build_ctx;

static void *build_worker(void *p)
{
    build_ctx *c = p;
    for (;;) {
        size_t i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n) break;
        allot_diag d = {0};
        int rc =
            allot_serve_demand_windows(c->spec[i].g, c->s, 0, DT, &c->spec[i].o, &c->dem[i], &d);
        if (rc) {
            fprintf(stderr, "  service %zu: %s\n", i, d.msg);
            atomic_store(&c->rc, rc);
        }
    }
    return NULL;
}

/* builds the demands on THREADS threads (each takes the next service) */
static int build_all(const svc_spec *spec, const allot_service *s, allot_serve_demand *dem,
                     size_t n)
{
    build_ctx c = {spec, s, dem, n, 0, 0};
    pthread_t tid[THREADS];
    int started = 0;
    for (int t = 1; t < THREADS; t++)
        if (pthread_create(&tid[started], NULL, build_worker, &c) == 0) started++;
    build_worker(&c);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    return atomic_load(&c.rc);
}

static int run_all(allot_serve_job *jobs, const allot_service *s, allot_serve_demand *dem, size_t n,
                   int policy, int threads)
{
    for (size_t i = 0; i < n; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].service = s;
        jobs[i].demand = &dem[i];
        allot_serve_config_init(&jobs[i].cfg);
        jobs[i].cfg.policy = policy;
        jobs[i].cfg.record_series = 0;
    }
    return allot_serve_run_many(jobs, n, threads);
}

static void free_jobs(allot_serve_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) allot_serve_result_free(&jobs[i].result);
}

static void summary(const char *what, const allot_serve_job *jobs, size_t n)
{
    double req = 0, within = 0, dh = 0, odh = 0, worst = 1;
    for (size_t i = 0; i < n; i++) {
        const allot_serve_result *r = &jobs[i].result;
        req += (double)r->requests;
        within += r->slo_attainment * (double)r->requests;
        dh += r->device_hours;
        odh += r->oracle_device_hours;
        if (r->slo_attainment < worst) worst = r->slo_attainment;
    }
    printf("  %-6s %.3g requests, within SLO %.3f %% (worst service %.2f %%), "
           "%.0f device-h = %.3f x the oracle's %.0f\n",
           what, req, 100 * within / req, 100 * worst, dh, dh / odh, odh);
}

static int same_results(const allot_serve_job *a, const allot_serve_job *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].result.device_hours != b[i].result.device_hours ||
            a[i].result.slo_attainment != b[i].result.slo_attainment ||
            a[i].result.scale_ups != b[i].result.scale_ups)
            return 0;
    return 1;
}

static void bench_many(const char *tr, int reps)
{
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/alibaba-servegen-2025/language/m-large", tr);
    snprintf(p2, sizeof p2, "%s/alibaba-servegen-2025/language/m-small", tr);
    allot_diag d = {0};
    allot_servegen *g[2] = {NULL, NULL};
    double t0 = now_s();
    if (allot_servegen_load(p1, &g[0], &d) || allot_servegen_load(p2, &g[1], &d)) {
        printf("  skipped: %s\n", d.msg);
        allot_servegen_free(g[0]);
        return;
    }
    double t_load = now_s() - t0;
    size_t n = 100;
    const char *env = getenv("ALLOT_BENCH_SERVE_N");
    if (env && atoi(env) > 0) n = (size_t)atoi(env);

    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.slo_s = 60;
    s.max_replicas = 1024;
    svc_spec *spec = calloc(n, sizeof *spec);
    allot_serve_demand *dem = calloc(n, sizeof *dem);
    allot_serve_job *jobs = calloc(n, sizeof *jobs), *jobs1 = calloc(n, sizeof *jobs1);
    if (!spec || !dem || !jobs || !jobs1) {
        printf("  out of memory\n");
        goto out;
    }
    allot_rng r;
    allot_rng_seed(&r, 2025);
    for (size_t i = 0; i < n; i++) {
        const allot_servegen *m = g[i % 2];
        size_t nc = allot_servegen_clients(m);
        size_t cmax = nc < 40 ? nc : 40, cmin = i % 2 ? 4 : 8;
        size_t count = cmin + (size_t)allot_rng_below(&r, cmax - cmin + 1);
        size_t first = (size_t)allot_rng_below(&r, nc - count + 1);
        double want = exp(log(1.0) + (log(100.0) - log(1.0)) * allot_rng_double(&r));
        double base = allot_servegen_mean_rate(m, first, count);
        allot_servegen_opts_init(&spec[i].o);
        spec[i].g = m;
        spec[i].o.seed = 1000 + i;
        spec[i].o.client_first = first;
        spec[i].o.client_count = count;
        spec[i].o.rate_scale = base > 0 ? want / base : 1;
        spec[i].mean_rps = want;
    }
    printf("  %zu services (m-large and m-small client groups, mean 1-100 req/s each), "
           "SLO 60 s, 16 slots, H100, dt %g s\n",
           n, DT);
    printf("  reading the two models: %.3f s\n", t_load);

    double t_dem = 1e9, t_allot = 1e9, t_hpa = 1e9, c_dem = 1e9, c_allot = 1e9, c_hpa = 1e9;
    size_t steps = 0;
    for (int rep = 0; rep < reps; rep++) {
        for (size_t i = 0; i < n; i++) allot_serve_demand_free(&dem[i]);
        double a = now_s(), ca = cpu_s();
        if (build_all(spec, &s, dem, n)) {
            printf("  demand failed\n");
            goto out;
        }
        double b = now_s(), cb = cpu_s();
        t_dem = fmin(t_dem, b - a);
        c_dem = fmin(c_dem, cb - ca);
        free_jobs(jobs, n);
        if (run_all(jobs, &s, dem, n, ALLOT_AS_ALLOT, THREADS)) {
            printf("  run failed: %s\n", jobs[0].diag.msg);
            goto out;
        }
        t_allot = fmin(t_allot, now_s() - b);
        c_allot = fmin(c_allot, cpu_s() - cb);
    }
    steps = 0;
    for (size_t i = 0; i < n; i++) steps += dem[i].n;
    printf("  (wall time on %d threads; CPU time of both; \"ns/step\": CPU per service-step)\n",
           THREADS);
    printf("  demand (window-rate):  wall %.3f s, CPU %.3f s, %3.0f ns/step  (%.1f M steps)\n",
           t_dem, c_dem, c_dem / (double)steps * 1e9, (double)steps / 1e6);
    printf(
        "  simulate, allot:       wall %.3f s, CPU %.3f s, %3.0f ns/step  (%.2f M service-steps/s)"
        "\n",
        t_allot, c_allot, c_allot / (double)steps * 1e9, (double)steps / t_allot / 1e6);
    double tot = t_dem + t_allot, ctot = c_dem + c_allot;
    printf("  demand + simulate: wall %.3f s = %.2f x the %.0f s target (%s); CPU %.3f s (%.2f s "
           "on 2 free cores); with reading the models %.3f s\n",
           tot, tot / TARGET_S, TARGET_S, tot <= TARGET_S ? "met" : "NOT met", ctot, ctot / 2,
           tot + t_load);
    summary("allot", jobs, n);
    for (int rep = 0; rep < reps; rep++) {
        free_jobs(jobs1, n);
        double a = now_s(), ca = cpu_s();
        if (run_all(jobs1, &s, dem, n, ALLOT_AS_HPA, THREADS)) {
            printf("  run failed: %s\n", jobs1[0].diag.msg);
            goto out;
        }
        t_hpa = fmin(t_hpa, now_s() - a);
        c_hpa = fmin(c_hpa, cpu_s() - ca);
    }
    printf(
        "  simulate, hpa:         wall %.3f s, CPU %.3f s, %3.0f ns/step  (%.2f M service-steps/s)"
        "\n",
        t_hpa, c_hpa, c_hpa / (double)steps * 1e9, (double)steps / t_hpa / 1e6);
    summary("hpa", jobs1, n);
    free_jobs(jobs1, n);
    double a = now_s();
    if (run_all(jobs1, &s, dem, n, ALLOT_AS_ALLOT, 1) == 0)
        printf("  simulate, allot, 1 thread: wall %.3f s; results %s the %d-thread run's\n",
               now_s() - a, same_results(jobs, jobs1, n) ? "identical to" : "DIFFER from", THREADS);
out:
    if (jobs) free_jobs(jobs, n);
    if (jobs1) free_jobs(jobs1, n);
    for (size_t i = 0; dem && i < n; i++) allot_serve_demand_free(&dem[i]);
    free(spec);
    free(dem);
    free(jobs);
    free(jobs1);
    allot_servegen_free(g[0]);
    allot_servegen_free(g[1]);
}

static void print_run(const char *what, double t, const allot_serve_result *r)
{
    printf("  %-44s %7.3f s   within SLO %.4f %%, %.1f device-h (%.3f x oracle)\n", what, t,
           100 * r->slo_attainment, r->device_hours, r->oracle_ratio);
}

static void bench_one(const char *tr, int reps)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/alibaba-servegen-2025/language/m-large", tr);
    /* every client at 0.02 x: ~4.7 M requests over 14 days */
    const double scale = 0.02;
    allot_service s;
    allot_service_default(&s, ALLOT_REQ_LLM);
    s.slo_s = 60;
    s.max_replicas = 1024;
    allot_reqtrace_opts ro;
    allot_reqtrace_opts_init(&ro);
    ro.seed = 42;
    ro.rate_scale = scale;
    allot_reqtrace t;
    allot_diag d = {0};
    double a = now_s();
    if (allot_reqtrace_load(p, &ro, &t, &d)) {
        printf("  skipped: %s\n", d.msg);
        return;
    }
    printf("  m-large, all 162 clients at %g x: %zu requests; drawing them: %.3f s\n", scale, t.n,
           now_s() - a);
    allot_serve_result r;
    for (int exact = 1; exact >= 0; exact--) {
        double best = 1e9;
        for (int rep = 0; rep < reps; rep++) {
            allot_serve_config c;
            allot_serve_config_init(&c);
            c.dt = DT;
            c.exact_latency = exact;
            a = now_s();
            if (allot_serve_run(&s, &t, &c, &r, &d)) {
                printf("  run failed: %s\n", d.msg);
                allot_reqtrace_free(&t);
                return;
            }
            best = fmin(best, now_s() - a);
            if (rep + 1 < reps) allot_serve_result_free(&r);
        }
        print_run(exact ? "allot, request path, exact latency model"
                        : "allot, request path, cached latency model",
                  best, &r);
        allot_serve_result_free(&r);
    }
    allot_reqtrace_free(&t);
    allot_servegen_opts so;
    allot_servegen_opts_init(&so);
    so.seed = 42;
    so.rate_scale = scale;
    allot_serve_demand dem;
    a = now_s();
    if (allot_serve_demand_servegen(p, &s, 0, DT, &so, &dem, &d)) {
        printf("  window-rate demand failed: %s\n", d.msg);
        return;
    }
    double tb = now_s() - a;
    allot_serve_config c;
    allot_serve_config_init(&c);
    a = now_s();
    if (allot_serve_run_demand(&s, &dem, &c, &r, &d) == 0) {
        double tr2 = now_s() - a;
        printf("  window-rate demand (reading the model included): %.3f s\n", tb);
        print_run("allot, window-rate demand, cached model", tr2, &r);
        allot_serve_result_free(&r);
    }
    allot_serve_demand_free(&dem);
}

int main(void)
{
    const char *tr = traces_dir();
    int reps = 2;
    const char *env = getenv("ALLOT_BENCH_REPS");
    if (env && atoi(env) > 0) reps = atoi(env);
    printf("\n[serving] 100 services x 14 days of ServeGen at 10 s (target <= %.0f s)\n", TARGET_S);
    if (!tr) {
        printf("  skipped: ../shared/traces not found (set ALLOT_TRACES)\n");
        return 0;
    }
    const char *part = getenv("ALLOT_BENCH_SERVE_PART");
    if (!part || strcmp(part, "2") != 0) bench_many(tr, reps);
    if (part && strcmp(part, "1") == 0) return 0;
    printf("\n[serving] the request-sampling path on one service, 14 days\n");
    bench_one(tr, reps);
    return 0;
}
