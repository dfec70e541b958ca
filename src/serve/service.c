/* service.c - the default services, their checks and the autoscaler names.
 *
 * The default figures and where each comes from are in
 * docs/internals/serving.md ("Default services").
 */
#include "allot/serve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_chip(allot_serve_chip *c, const char *name, double prefill, double decode,
                     double exec_speed, double cold, double cost)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->prefill_tps = prefill;
    c->decode_tps = decode;
    c->exec_speed = exec_speed;
    c->cold_start_s = cold;
    c->cost_per_hour = cost;
}

/* Owned cost per device-hour, as in src/core/catalog.c (H100, A100-80G). */
#define COST_H100 2.50
#define COST_A100 1.30

void allot_service_default(allot_service *s, int kind)
{
    if (!s) return;
    memset(s, 0, sizeof *s);
    s->devices = 1;
    s->min_replicas = 1;
    s->max_replicas = 64;
    s->slo_target = 0.99;
    s->drain_s = 30;
    if (kind == ALLOT_REQ_EXEC) {
        snprintf(s->name, sizeof s->name, "sdxl");
        s->slots = 1;
        s->slo_s = 60;
        s->nchips = 2;
        set_chip(&s->chips[0], "H100", 0, 0, 1.6, 30, COST_H100);
        set_chip(&s->chips[1], "A100-80G", 0, 0, 1.0, 40, COST_A100);
    } else {
        snprintf(s->name, sizeof s->name, "llm-70b");
        s->slots = 16;
        s->slo_s = 10;
        s->nchips = 2;
        set_chip(&s->chips[0], "H100", 8000, 40, 0, 60, COST_H100);
        set_chip(&s->chips[1], "A100-80G", 4000, 25, 0, 75, COST_A100);
    }
}

/* A request's own service time on chip c (seconds of one slot). */
static double service_time(const allot_serve_chip *c, int kind, const allot_request *r)
{
    if (kind == ALLOT_REQ_EXEC) return (double)r->exec_s / c->exec_speed;
    return (double)r->in_tok / c->prefill_tps + (double)r->out_tok / c->decode_tps;
}

/* The k-th smallest of v[0..n) (0-based; v is reordered): quickselect
 * with a median-of-three pivot, O(n) on average. The value is the one a
 * sort would put at k. */
static double kth_smallest(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* Sample size above which the median is taken over an even stride of the
 * trace rather than over every request (bounded memory for 50 M requests). */
#define MEDIAN_SAMPLE ((size_t)1 << 20)

static int median_service(const allot_serve_chip *c, const allot_reqtrace *t, double *out)
{
    size_t stride = t->n > MEDIAN_SAMPLE ? (t->n + MEDIAN_SAMPLE - 1) / MEDIAN_SAMPLE : 1;
    size_t m = (t->n + stride - 1) / stride;
    double *v = malloc(m * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    for (size_t i = 0; i < m; i++) v[i] = service_time(c, t->kind, &t->v[i * stride]);
    double hi = kth_smallest(v, m, m / 2);
    if (m % 2) {
        *out = hi;
    } else { /* the largest of the lower half, which quickselect left below m / 2 */
        double lo = v[0];
        for (size_t i = 1; i < m / 2; i++)
            if (v[i] > lo) lo = v[i];
        *out = 0.5 * (lo + hi);
    }
    free(v);
    return 0;
}

#define BAD(...) allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, __VA_ARGS__)

/* A rate must be a finite number >= 0 (> 0 when `need`). */
static int rate_ok(double x, int need) { return isfinite(x) && (need ? x > 0 : x >= 0); }

int allot_service_check(const allot_service *s, const allot_reqtrace *t, allot_diag *d)
{
    if (!s) return BAD("no service");
    if (s->name[0] == '\0' || !memchr(s->name, '\0', sizeof s->name))
        return BAD("service: empty name");
    if (s->devices < 1)
        return BAD("service %s: devices %d per replica, need at least 1", s->name, s->devices);
    if (s->slots < 1)
        return BAD("service %s: slots %d per replica, need at least 1", s->name, s->slots);
    if (s->min_replicas < 0)
        return BAD("service %s: min_replicas %d is negative", s->name, s->min_replicas);
    if (s->max_replicas < 1)
        return BAD("service %s: max_replicas %d, need at least 1", s->name, s->max_replicas);
    if (s->max_replicas < s->min_replicas)
        return BAD("service %s: max_replicas %d is below min_replicas %d", s->name, s->max_replicas,
                   s->min_replicas);
    if (!(s->slo_s > 0) || !isfinite(s->slo_s))
        return BAD("service %s: SLO %g s, need a positive number of seconds", s->name, s->slo_s);
    if (!(s->slo_target > 0 && s->slo_target < 1))
        return BAD("service %s: SLO target %g, need a fraction strictly between 0 and 1", s->name,
                   s->slo_target);
    if (!(s->drain_s >= 0) || !isfinite(s->drain_s))
        return BAD("service %s: drain %g s is negative", s->name, s->drain_s);
    if (s->nchips == 0) return BAD("service %s: no chip types", s->name);
    if (s->nchips > ALLOT_SERVE_MAX_CHIPS)
        return BAD("service %s: %zu chip types, at most %d", s->name, s->nchips,
                   ALLOT_SERVE_MAX_CHIPS);
    int llm = !t || t->kind != ALLOT_REQ_EXEC;
    int exec = !t || t->kind == ALLOT_REQ_EXEC;
    for (size_t i = 0; i < s->nchips; i++) {
        const allot_serve_chip *c = &s->chips[i];
        const char *cn = c->name[0] ? c->name : "(unnamed)";
        if (!rate_ok(c->prefill_tps, 0) || !rate_ok(c->decode_tps, 0) || !rate_ok(c->exec_speed, 0))
            return BAD("service %s: chip %s: negative rate (prefill %g, decode %g, exec speed %g)",
                       s->name, cn, c->prefill_tps, c->decode_tps, c->exec_speed);
        int has_llm = c->prefill_tps > 0 && c->decode_tps > 0;
        int has_exec = c->exec_speed > 0;
        /* without a trace a chip must serve one kind; with one, that kind */
        if ((!t && !has_llm && !has_exec) || (t && llm && !has_llm) || (t && exec && !has_exec))
            return BAD("service %s: chip %s: non-positive rate (prefill %g, decode %g tok/s, "
                       "exec speed %g) for %s requests",
                       s->name, cn, c->prefill_tps, c->decode_tps, c->exec_speed,
                       !t ? "any" : (exec ? "EXEC" : "LLM"));
        if (!rate_ok(c->cold_start_s, 0))
            return BAD("service %s: chip %s: cold start %g s is negative", s->name, cn,
                       c->cold_start_s);
        if (!rate_ok(c->cost_per_hour, 0))
            return BAD("service %s: chip %s: cost %g per hour is negative", s->name, cn,
                       c->cost_per_hour);
    }
    if (t && t->n > 0) {
        if (!t->v) return BAD("service %s: trace %s has no requests", s->name, t->name);
        double med;
        int rc = median_service(&s->chips[0], t, &med);
        if (rc) return allot_diag_set(d, rc, NULL, 0, 0, "service %s: out of memory", s->name);
        if (s->slo_s < med)
            return BAD("SLO %g s is below the model's minimum latency %g s for the median request",
                       s->slo_s, med);
    }
    return 0;
}

static const char *const as_names[ALLOT_AS__COUNT] = {"hpa", "knative", "predictive", "allot"};

const char *allot_autoscaler_name(allot_autoscaler a)
{
    if ((int)a < 0 || (int)a >= ALLOT_AS__COUNT) return "unknown";
    return as_names[a];
}

int allot_autoscaler_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < ALLOT_AS__COUNT; i++)
        if (strcasecmp(name, as_names[i]) == 0) return i;
    return -1;
}
