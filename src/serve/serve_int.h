/* src/serve/serve_int.h - what the serving simulator and the autoscalers
 * share. Private to src/serve. */
#ifndef ALLOT_SERVE_INT_H
#define ALLOT_SERVE_INT_H

#include <math.h>
#include <stddef.h>

#include "allot/serve.h"

typedef allot_scaler_obs as_obs;

/* latency.c, shared with the cached model (lattable.c) */
double allot__erlang_c_from_b(double b, long c, double a);

/* The SLO fraction's cases that do not need Erlang C: returns 1 and sets *f
 * if one applies. */
static inline int allot__slo_trivial(double lambda, long c, double es, double slo_s, double *f)
{
    if (isnan(lambda) || isnan(es) || isnan(slo_s) || c < 1) {
        *f = 0.0;
        return 1;
    }
    if (es > slo_s) { /* every request's own service already misses */
        *f = 0.0;
        return 1;
    }
    if (es <= 0.0 || lambda <= 0.0) { /* no work, or no queue: nobody waits */
        *f = 1.0;
        return 1;
    }
    if (lambda * es >= (double)c) { /* overloaded: the queue grows without bound */
        *f = 0.0;
        return 1;
    }
    return 0;
}

/* lattable.c: allot_latency_replicas_needed for one service's SLO, target
 * and max replicas, with what depends on them alone computed once */
typedef struct allot__ltq {
    allot_latency_table *t; /* NULL: not set */
    double slo_s, target, z_pass;
    int max;
} allot__ltq;

void allot__ltq_init(allot__ltq *q, allot_latency_table *t, double slo_s, double target, int max);
int allot__ltq_replicas(const allot__ltq *q, double lambda, double es);

#define AS_RING 4096 /* steps of history kept (at 1 s: over an hour) */

typedef struct allot_scaler {
    int policy;
    const allot_service *svc;
    size_t chip;
    double dt, cold, next_sync;
    /* history, one entry per step */
    double rps[AS_RING], conc[AS_RING], es[AS_RING];
    size_t nhist;
    /* HPA: recommendations of the last 300 s (time, replicas) */
    double rec_t[AS_RING];
    int rec_r[AS_RING];
    size_t nrec;
    /* Knative */
    double panic_until;
    /* forecasting: Holt's level and trend on the per-minute rate, the
     * per-minute rates of the last day (seasonality) and the forecast errors */
    double level, trend, minute_sum, minute_t0;
    int holt_ready;
    double *day;   /* per-minute rate, 1440 entries, ring by minute of day */
    double *day_t; /* when each entry was written */
    double err[64];
    size_t nerr;
    double last_forecast, last_forecast_t;
    /* scale-down stabilisation for predictive/allot */
    double low_since;
    /* cached lookups (speed only): the latency table (NULL: exact model),
     * the running sum of the positive es of the last AS_ES_WIN steps, the
     * p90 of the forecast errors for the nerr it was taken at */
    allot__ltq ltq;
    double es_sum;
    size_t es_cnt;
    double err_sorted[64]; /* err[] in increasing order (min(nerr, 64) of them) */
    /* allot's burst reserve: the work of the last bw_k steps (one SLO) summed,
     * and the largest such sum of the last bw_h steps (a monotonic queue of
     * step numbers and sums, decreasing sums) */
    size_t bw_k, bw_h;
    double bw_sum;
    size_t *bwq_i;
    double *bwq_v;
    size_t bwq_head, bwq_n;
} as_state; /* = allot_scaler */

#define AS_ES_WIN 600 /* steps recent_es averages over */

int as_init(as_state *a, int policy, const allot_service *s, size_t chip, double dt);
void as_free(as_state *a);
/* The replicas wanted (serving + warming up) after this step. */
int as_decide(as_state *a, const as_obs *o);

#endif
