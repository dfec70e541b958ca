/* oracle.c - the fewest replicas that meet the SLO target in every interval
 * with perfect foresight, made feasible with cold starts
 * (docs/internals/serving.md, "The oracle").
 *
 * need_i is the latency model's answer for interval i alone. A replica that
 * serves interval j has to be started K = ceil(cold_start / dt) intervals
 * before and held from then on, so every interval i holds at least
 *     held_i = max { need_j : i <= j <= i + K }
 * replicas; the profile held_i itself is feasible (each replica a level of
 * it adds is started K or more intervals before the first interval that
 * needs it) and therefore minimal. Stopping is free and immediate; a
 * replica needed again within K intervals is simply kept by the max.
 * Replicas held at t = 0 are taken as ready (the trace starts in a steady
 * state; time before it is not charged).
 */
#include "allot/serve.h"
#include "serve_int.h"

#include <math.h>
#include <stdlib.h>

int allot_serve_oracle(const allot_service *s, size_t chip, const allot_serve_demand *dem,
                       int **replicas, double *device_hours)
{
    return allot_serve_oracle_table(s, chip, dem, NULL, replicas, device_hours);
}

int allot_serve_oracle_table(const allot_service *s, size_t chip, const allot_serve_demand *dem,
                             allot_latency_table *lt, int **replicas, double *device_hours)
{
    if (replicas) *replicas = NULL;
    if (device_hours) *device_hours = 0;
    if (!s || !dem || !replicas || !device_hours || chip >= s->nchips ||
        chip >= ALLOT_SERVE_MAX_CHIPS || !(dem->dt > 0) || dem->n == 0 || !dem->count ||
        !dem->work || s->slots < 1 || s->devices < 1 || s->max_replicas < 1 ||
        s->min_replicas < 0 || s->min_replicas > s->max_replicas ||
        (lt && allot_latency_table_slots(lt) != s->slots))
        return ALLOT_EINVAL;
    size_t n = dem->n;
    double dt = dem->dt;
    double cold = s->chips[chip].cold_start_s;
    double kd = cold > 0 ? ceil(cold / dt - 1e-9) : 0;
    size_t k = kd >= (double)n ? n : (size_t)kd;

    int *need = malloc(n * sizeof *need);
    int *held = malloc(n * sizeof *held);
    size_t *dq = malloc(n * sizeof *dq); /* window-max deque of indices */
    if (!need || !held || !dq) {
        free(need);
        free(held);
        free(dq);
        return ALLOT_ENOMEM;
    }
    allot__ltq q;
    allot__ltq_init(&q, lt, s->slo_s, s->slo_target, s->max_replicas);
    for (size_t i = 0; i < n; i++) {
        int r = s->min_replicas;
        if (dem->count[i] > 0) {
            double lambda = dem->count[i] / dt;
            double es = dem->work[i] / dem->count[i];
            r = lt ? allot__ltq_replicas(&q, lambda, es)
                   : allot_replicas_needed(lambda, s->slots, es, s->slo_s, s->slo_target,
                                           s->max_replicas);
        }
        if (r < s->min_replicas) r = s->min_replicas;
        if (r > s->max_replicas) r = s->max_replicas;
        need[i] = r;
    }
    /* held_i = max need_j over j in [i, i + k], right to left with a deque
     * of indices whose needs decrease from front to back */
    size_t head = 0, tail = 0; /* dq[head..tail) */
    double sum = 0;
    for (size_t i = n; i-- > 0;) {
        while (tail > head && need[dq[tail - 1]] <= need[i]) tail--;
        dq[tail++] = i;
        while (dq[head] > i + k) head++;
        held[i] = need[dq[head]];
        sum += held[i];
    }
    free(need);
    free(dq);
    *replicas = held;
    *device_hours = sum * s->devices * dt / 3600.0;
    return 0;
}
