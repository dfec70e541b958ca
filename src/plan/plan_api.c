/* plan_api.c - allot_plan_run(), results and their statistics. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plan_int.h"
#include "plan_out.h"

void allot_plan_opts_init(allot_plan_opts *o)
{
    memset(o, 0, sizeof *o);
    o->search = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int allot_plan_run(const allot_plan *p, const allot_plan_opts *o, allot_plan_result **out,
                   allot_diag *d)
{
    *out = NULL;
    if (!p || !o) return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "no plan");
    double t0 = now_s();
    allot_plan_result *r = calloc(1, sizeof *r);
    if (!r) return ALLOT_ENOMEM;
    /* the seed and the runs are the plan's unless the options say */
    uint64_t seed = o->seed_set ? o->seed : p->seed;
    int runs = o->runs > 0 ? o->runs : p->runs;
    int threads = o->threads;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)nc : 1;
    }
    if (threads > 64) threads = 64;
    snprintf(r->plan, sizeof r->plan, "%s", p->name);
    snprintf(r->currency, sizeof r->currency, "%s", p->currency);
    snprintf(r->step, sizeof r->step, "%s", p->step_months == 3 ? "quarter" : "month");
    r->seed = seed;
    r->runs = runs;
    r->threads = threads;
    r->has_targets = !isnan(p->target_wait_h) || !isnan(p->target_slo);
    r->target_wait_h = p->target_wait_h;
    r->target_slo = p->target_slo;
    r->min_fraction = p->min_fraction;
    r->nperiods = (size_t)p->nperiods;
    r->nscen = (size_t)p->nscen;
    r->period = calloc(r->nperiods, sizeof *r->period);
    r->hours = calloc(r->nperiods, sizeof *r->hours);
    r->scen = calloc(r->nscen, sizeof *r->scen);
    int rc = 0;
    if (!r->period || !r->hours || !r->scen) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    for (int k = 0; k < p->nperiods; k++) {
        plan__period_label(p, k, r->period[k]);
        for (int m = k * p->step_months; m < (k + 1) * p->step_months; m++)
            r->hours[k] += 24.0 * plan__month_days(p, m);
    }
    plan_eval e = {p,
                   seed,
                   0,
                   runs,
                   threads,
                   p->nscen >= 64 ? ~0ull : (1ull << p->nscen) - 1,
                   o->progress,
                   o->progress_arg,
                   "simulating",
                   0,
                   1,
                   0};
    rc = plan__evaluate(&e, r->scen, &r->simulations, d);
    if (rc) goto out;
    if (o->search && p->ncands > 0) {
        allot_plan_opts so = *o;
        so.runs = runs;
        so.seed = seed;
        rc = plan__search(p, &so, threads, &r->search, &r->simulations, d);
        if (rc) goto out;
    }
out:
    if (rc) {
        allot_plan_result_free(r);
        return rc;
    }
    r->wall_s = now_s() - t0;
    *out = r;
    return 0;
}

void allot_plan_result_free(allot_plan_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nscen; i++) {
        if (r->scen) plan__scenario_free(&r->scen[i]);
        if (r->search.scen) plan__scenario_free(&r->search.scen[i]);
    }
    free(r->scen);
    free(r->search.scen);
    free(r->period);
    free(r->hours);
    free(r);
}

/* ---- metrics ----------------------------------------------------------------------- */

static const struct {
    const char *name, *unit;
    size_t off;
} k_metrics[] = {
#define X(name, unit) {#name, unit, offsetof(allot_plan_cell, name)},
    ALLOT_PLAN_METRICS(X)
#undef X
};

size_t plan__metric_offset(int m) { return k_metrics[m].off; }

int allot_plan_nmetrics(void) { return (int)(sizeof k_metrics / sizeof k_metrics[0]); }

const char *allot_plan_metric_name(int m)
{
    return m >= 0 && m < allot_plan_nmetrics() ? k_metrics[m].name : "";
}

const char *allot_plan_metric_unit(int m)
{
    return m >= 0 && m < allot_plan_nmetrics() ? k_metrics[m].unit : "";
}

int allot_plan_metric_index(const char *name)
{
    for (int m = 0; m < allot_plan_nmetrics(); m++)
        if (strcmp(k_metrics[m].name, name) == 0) return m;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double qlin(const double *v, size_t n, double q)
{
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n) return v[n - 1];
    double f = pos - (double)i;
    return v[i] + (v[i + 1] - v[i]) * f;
}

/* Statistics of n values (NaNs left out); v is sorted in place. */
allot_plan_stat plan__stat_of(double *v, size_t n);
allot_plan_stat plan__stat_of(double *v, size_t n)
{
    allot_plan_stat s = {NAN, NAN, NAN, NAN};
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) v[k++] = v[i];
    if (k == 0) return s;
    qsort(v, k, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < k; i++) sum += v[i];
    s.mean = sum / (double)k;
    s.p10 = qlin(v, k, 0.10);
    s.p50 = qlin(v, k, 0.50);
    s.p90 = qlin(v, k, 0.90);
    return s;
}

allot_plan_stat allot_plan_cell_stat(const allot_plan_result *r,
                                     const allot_plan_scenario_result *s, size_t period, int m)
{
    allot_plan_stat none = {NAN, NAN, NAN, NAN};
    if (!r || !s || !s->cell || period >= r->nperiods || m < 0 || m >= allot_plan_nmetrics())
        return none;
    double *v = malloc((size_t)r->runs * sizeof *v);
    if (!v) return none;
    for (int i = 0; i < r->runs; i++) {
        const allot_plan_cell *c = &s->cell[(size_t)i * r->nperiods + period];
        memcpy(&v[i], (const char *)c + k_metrics[m].off, sizeof(double));
    }
    allot_plan_stat st = plan__stat_of(v, (size_t)r->runs);
    free(v);
    return st;
}
