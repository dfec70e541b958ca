/* src/serve/serve_int.h - what the serving simulator and the autoscalers
 * share. Private to src/serve. */
#ifndef ALLOT_SERVE_INT_H
#define ALLOT_SERVE_INT_H

#include <stddef.h>

#include "allot/serve.h"

typedef allot_scaler_obs as_obs;

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
} as_state; /* = allot_scaler */

int as_init(as_state *a, int policy, const allot_service *s, size_t chip, double dt);
void as_free(as_state *a);
/* The replicas wanted (serving + warming up) after this step. */
int as_decide(as_state *a, const as_obs *o);

#endif
