/* src/serve/servesim.c - the serving simulator (serve.h): one service, one
 * request trace, one autoscaler, in steps of dt seconds.
 *
 * Each step: replicas whose cold start is over begin serving; the step's
 * arrivals bring their work (slot-seconds, from the latency model's service
 * times); the ready slots serve it, what they cannot carries over as a queue
 * (a fluid model); the fraction of the step's requests within the SLO comes
 * from the latency model at the queue's wait (allot_slo_fraction), and
 * arrivals that would wait past the timeout are dropped; then the autoscaler
 * sees the step and sets the replicas wanted. New replicas warm up for the
 * chip's cold start (holding their devices); replicas scaled down stop
 * taking requests and hold their devices for the drain time while they
 * finish what they have, so a scale-down drops nothing.
 *
 * The latency model is a steady-state one, so it is applied to the rate and
 * mean service time over the last SLO_WINDOW seconds (at least one step):
 * at 1 s steps the Poisson noise of single seconds would otherwise read as
 * overload. Bursts longer than that show as queue (the fluid backlog). The
 * oracle sees the same smoothed demand.
 *
 * Every policy starts warm: the replicas the oracle holds at t = 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

#define SLO_WINDOW                                                                                 \
    10.0 /* s over which the latency model reads the rate, at least                                \
            (4 mean service times when that is longer) */

/* The share of a step during which a wait going linearly from w0 to w1
 * stays at most lim. */
static double share_below(double w0, double w1, double lim)
{
    if (w0 <= lim && w1 <= lim) return 1;
    if (w0 > lim && w1 > lim) return 0;
    return w1 > w0                      ? (lim - w0) / (w1 - w0)
           : (w0 - lim) / (w0 - w1) < 1 ? 1 - (w0 - lim) / (w0 - w1)
                                        : 0;
}

/* llround for 0 <= x < 2^32 (half away from zero), without the call */
static uint32_t round_nonneg(double x)
{
    if (!(x >= 0 && x < 4294967295.0)) return (uint32_t)llround(x);
    uint32_t f = (uint32_t)x; /* the floor */
    return x - (double)f >= 0.5 ? f + 1 : f;
}

/* Trailing means over k steps of the demand (what the latency model and the
 * oracle read). */
static int smooth_demand(const allot_serve_demand *in, size_t k, allot_serve_demand *out)
{
    *out = *in;
    out->count = malloc((in->n ? in->n : 1) * sizeof *out->count);
    out->work = malloc((in->n ? in->n : 1) * sizeof *out->work);
    if (!out->count || !out->work) {
        free(out->count);
        free(out->work);
        out->count = NULL;
        out->work = NULL;
        return ALLOT_ENOMEM;
    }
    double c = 0, w = 0;
    for (size_t i = 0; i < in->n; i++) {
        c += in->count[i];
        w += in->work[i];
        if (i >= k) {
            c -= in->count[i - k];
            w -= in->work[i - k];
        }
        size_t m = i + 1 < k ? i + 1 : k;
        out->count[i] = round_nonneg(c / (double)m);
        out->work[i] = w / (double)m;
    }
    return 0;
}

int allot_serve_demand_smoothed(const allot_serve_demand *in, allot_serve_demand *out)
{
    /* the steady-state model needs windows long against the service time */
    double wsum = 0, csum = 0;
    for (size_t i = 0; i < in->n; i++) {
        wsum += in->work[i];
        csum += in->count[i];
    }
    double window = fmax(SLO_WINDOW, csum > 0 ? 4 * wsum / csum : 0);
    return smooth_demand(in, (size_t)fmax(1, round(window / in->dt)), out);
}

void allot_serve_config_init(allot_serve_config *c)
{
    memset(c, 0, sizeof *c);
    c->policy = ALLOT_AS_ALLOT;
    c->record_series = 1;
}

void allot_serve_result_free(allot_serve_result *r)
{
    if (!r) return;
    free(r->series);
    r->series = NULL;
    r->nseries = 0;
}

/* A FIFO of replicas warming up or draining, by the time they are done:
 * they all take the same time, so they end in the order they began, and
 * those of one scaling decision share one entry (time, count). */
typedef struct tq {
    double *v;
    int *c;
    size_t head, ne, cap; /* entries */
    size_t n;             /* replicas in all entries */
} tq;

static int tq_push(tq *q, double t, int k)
{
    if (k <= 0) return 0;
    if (q->ne) { /* the same decision's time: one more in its entry */
        size_t last = (q->head + q->ne - 1) % q->cap;
        if (q->v[last] == t) {
            q->c[last] += k;
            q->n += (size_t)k;
            return 0;
        }
    }
    if (q->ne == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        double *v = malloc(cap * sizeof *v);
        int *c = malloc(cap * sizeof *c);
        if (!v || !c) {
            free(v);
            free(c);
            return ALLOT_ENOMEM;
        }
        for (size_t i = 0; i < q->ne; i++) {
            v[i] = q->v[(q->head + i) % q->cap];
            c[i] = q->c[(q->head + i) % q->cap];
        }
        free(q->v);
        free(q->c);
        q->v = v;
        q->c = c;
        q->head = 0;
        q->cap = cap;
    }
    size_t at = (q->head + q->ne) % q->cap;
    q->v[at] = t;
    q->c[at] = k;
    q->ne++;
    q->n += (size_t)k;
    return 0;
}

/* pops the replicas due by t; returns how many */
static int tq_due(tq *q, double t)
{
    int k = 0;
    while (q->ne && q->v[q->head] <= t + 1e-9) {
        k += q->c[q->head];
        q->n -= (size_t)q->c[q->head];
        q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
        q->ne--;
    }
    return k;
}

/* drops up to k of the newest replicas (warming ones cancelled); returns
 * how many */
static int tq_pop_newest(tq *q, int k)
{
    int done = 0;
    while (done < k && q->ne) {
        size_t last = (q->head + q->ne - 1) % q->cap;
        int take = q->c[last] < k - done ? q->c[last] : k - done;
        q->c[last] -= take;
        q->n -= (size_t)take;
        done += take;
        if (q->c[last] == 0) q->ne--;
    }
    return done;
}

struct allot_serve_sim {
    const allot_service *svc;
    const allot_serve_chip *ch;
    as_state as;
    double dt, timeout;
    tq starting, draining;
    int ready;
    double backlog;          /* queued work, slot-seconds */
    double es_recent;        /* mean service time of the last step with arrivals */
    allot_latency_table *lt; /* cached latency model, or NULL (exact) */
    int waiting;             /* replicas the driver waits to place (set_waiting) */
};

int allot_serve_sim_set_latency_table(allot_serve_sim *m, allot_latency_table *t)
{
    if (!m || (t && allot_latency_table_slots(t) != m->svc->slots)) return ALLOT_EINVAL;
    m->lt = t;
    return allot_scaler_set_latency_table(&m->as, t);
}

int allot_serve_sim_new(allot_serve_sim **out, const allot_service *s, size_t chip, int policy,
                        double dt, double timeout_s, int ready)
{
    if (!out) return ALLOT_EINVAL;
    *out = NULL;
    if (!s || chip >= s->nchips || policy < 0 || policy >= ALLOT_AS__COUNT || !(dt > 0) ||
        ready < 0)
        return ALLOT_EINVAL;
    allot_serve_sim *m = calloc(1, sizeof *m);
    if (!m) return ALLOT_ENOMEM;
    int rc = as_init(&m->as, policy, s, chip, dt);
    if (rc) {
        free(m);
        return rc;
    }
    m->svc = s;
    m->ch = &s->chips[chip];
    m->dt = dt;
    m->timeout = timeout_s > 0 ? timeout_s : 10 * s->slo_s;
    m->ready = ready;
    *out = m;
    return 0;
}

void allot_serve_sim_free(allot_serve_sim *m)
{
    if (!m) return;
    as_free(&m->as);
    free(m->starting.v);
    free(m->starting.c);
    free(m->draining.v);
    free(m->draining.c);
    free(m);
}

void allot_serve_sim_set_waiting(allot_serve_sim *m, int k) { m->waiting = k > 0 ? k : 0; }

void allot_serve_sim_counts(const allot_serve_sim *m, int *ready, int *starting, int *draining)
{
    if (ready) *ready = m->ready;
    if (starting) *starting = (int)m->starting.n;
    if (draining) *draining = (int)m->draining.n;
}

int allot_serve_sim_start(allot_serve_sim *m, int k, double ready_at)
{
    return tq_push(&m->starting, ready_at, k);
}

int allot_serve_sim_stop(allot_serve_sim *m, int k, double t)
{
    int freed = k > 0 ? tq_pop_newest(&m->starting, k) : 0; /* not serving yet: at once */
    int drain = k - freed < m->ready ? k - freed : m->ready;
    if (drain > 0) {
        m->ready -= drain;
        if (tq_push(&m->draining, t + m->svc->drain_s, drain))
            freed += drain; /* no memory: stop at once */
    }
    return freed;
}

int allot_serve_sim_step(allot_serve_sim *m, double t0, allot_serve_tick *io)
{
    const allot_service *s = m->svc;
    double dt = m->dt, t1 = t0 + dt, timeout = m->timeout;
    m->ready += tq_due(&m->starting, t0);
    tq_due(&m->draining, t0);
    double n = io->count, work = io->work;
    double es = n > 0 ? work / n : 0;
    if (es > 0) m->es_recent = es;
    int ready = m->ready;
    double backlog = m->backlog;
    double cap = (double)ready * s->slots; /* slot-seconds per second */
    /* the queue's wait at the start and (fluid) at the end of the step */
    double w0 = cap > 0 ? backlog / cap : (backlog > 0 || n > 0 ? INFINITY : 0);
    double b1 = backlog + work - cap * dt;
    if (b1 < 0) b1 = 0;
    double w1 = cap > 0 ? b1 / cap : (b1 > 0 ? INFINITY : 0);
    /* arrivals meeting a wait past the timeout are dropped: the share of
     * the step during which the fluid wait exceeds it */
    double drop_frac = 0;
    if (n > 0) {
        if (w0 >= timeout && w1 >= timeout)
            drop_frac = 1;
        else if (w0 < timeout && w1 > timeout)
            drop_frac = (w1 - timeout) / (w1 - w0);
        else if (w0 > timeout && w1 < timeout)
            drop_frac = (w0 - timeout) / (w0 - w1);
    }
    double nd = n * drop_frac;
    if (nd > 0) { /* their work never joins the queue */
        b1 -= work * drop_frac;
        if (b1 < 0) b1 = 0;
        w1 = cap > 0 ? b1 / cap : 0;
    }
    /* within SLO: the kept arrivals whose wait (queue + the step's own
     * queueing) plus service fits */
    double frac = 1;
    if (n > 0) {
        double wavg = isfinite(w0) && isfinite(w1) ? (w0 + w1) / 2 : INFINITY;
        if (!isfinite(wavg) || ready == 0)
            frac = 0;
        else {
            double lam = io->lam > 0 ? io->lam : n / dt;
            double esm = io->es > 0 ? io->es : es;
            if (lam * esm < 0.98 * ready * s->slots) /* the model at the recent mean rate */
                frac = m->lt ? allot_latency_slo_fraction(m->lt, lam, ready, esm, s->slo_s - wavg)
                             : allot_slo_fraction(lam, ready * s->slots, esm, s->slo_s - wavg);
            else /* a burst beyond the slots: the fluid queue decides, a request
                  * makes it while its wait leaves room for its service */
                frac = share_below(w0, w1, s->slo_s - esm);
        }
        if (frac < 0) frac = 0;
    }
    m->backlog = b1;
    io->within = (n - nd) * frac;
    io->dropped = nd;
    io->slo_frac = n > 0 ? frac * (1 - drop_frac) : 1;
    io->wait_s = isfinite(w0) && isfinite(w1) ? (w0 + w1) / 2 : timeout;
    /* the autoscaler sees the step */
    double er = m->es_recent;
    as_obs o = {.t = t1,
                .dt = dt,
                .rps = n / dt,
                .es = er,
                .concurrency = (er > 0 ? (n / dt) * es + b1 / er : 0),
                .backlog_s = b1,
                .slo_frac = io->slo_frac,
                .ready = ready,
                .starting = (int)m->starting.n + m->waiting};
    io->want = as_decide(&m->as, &o);
    return 0;
}

int allot_serve_run(const allot_service *s, const allot_reqtrace *t, const allot_serve_config *cfg,
                    allot_serve_result *out, allot_diag *d)
{
    memset(out, 0, sizeof *out);
    int rc = allot_service_check(s, t, d);
    if (rc) return rc;
    if (cfg->chip >= s->nchips)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "chip %zu: the service has %zu chip types", cfg->chip, s->nchips);
    if (cfg->policy < 0 || cfg->policy >= ALLOT_AS__COUNT)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "unknown autoscaler %d", cfg->policy);
    double dt = cfg->dt > 0 ? cfg->dt : (t->span_s > 86400 ? 10 : 1);
    allot_serve_demand dem;
    rc = allot_serve_demand_build(s, cfg->chip, t, dt, &dem);
    if (rc) return allot_diag_set(d, rc, NULL, 0, 0, "cannot cut the trace into steps");
    rc = allot_serve_run_demand(s, &dem, cfg, out, d);
    allot_serve_demand_free(&dem);
    return rc;
}

int allot_serve_run_demand(const allot_service *s, const allot_serve_demand *dem,
                           const allot_serve_config *cfg, allot_serve_result *out, allot_diag *d)
{
    memset(out, 0, sizeof *out);
    int rc = allot_service_check(s, NULL, d);
    if (rc) return rc;
    if (cfg->chip >= s->nchips)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "chip %zu: the service has %zu chip types", cfg->chip, s->nchips);
    if (cfg->policy < 0 || cfg->policy >= ALLOT_AS__COUNT)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "unknown autoscaler %d", cfg->policy);
    if (!dem || dem->n == 0 || !dem->count || !dem->work || !(dem->dt > 0))
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "empty demand");
    if (cfg->latency && allot_latency_table_slots(cfg->latency) != s->slots)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "the latency table is for %d slots, the service has %d",
                              allot_latency_table_slots(cfg->latency), s->slots);
    allot_latency_table *lt = NULL, *own = NULL;
    if (!cfg->exact_latency) {
        lt = cfg->latency;
        if (!lt && allot_latency_table_new(&own, s->slots, s->max_replicas) == 0) lt = own;
    }
    double dt = dem->dt;
    const allot_serve_chip *ch = &s->chips[cfg->chip];
    allot_serve_demand sm;
    rc = allot_serve_demand_smoothed(dem, &sm);
    if (rc) {
        allot_latency_table_free(own);
        return allot_diag_set(d, rc, NULL, 0, 0, "out of memory");
    }
    int *oracle = NULL;
    double oracle_dh = 0;
    rc = allot_serve_oracle_table(s, cfg->chip, &sm, lt, &oracle, &oracle_dh);
    if (rc) {
        allot_serve_demand_free(&sm);
        allot_latency_table_free(own);
        return allot_diag_set(d, rc, NULL, 0, 0, "the oracle failed");
    }
    /* every policy starts warm: the replicas the oracle holds at t = 0 */
    allot_serve_sim *m = NULL;
    rc = allot_serve_sim_new(&m, s, cfg->chip, cfg->policy, dt, cfg->timeout_s,
                             oracle[0] > s->min_replicas ? oracle[0] : s->min_replicas);
    if (rc == 0 && lt) rc = allot_serve_sim_set_latency_table(m, lt);
    size_t nb = 0, per = 1;
    if (rc == 0 && cfg->record_series) {
        double bucket = cfg->bucket_s > 0 ? cfg->bucket_s : dt * ceil((double)dem->n / 300.0);
        per = (size_t)fmax(1, round(bucket / dt));
        nb = (dem->n + per - 1) / per;
        out->series = calloc(nb ? nb : 1, sizeof *out->series);
        if (!out->series) rc = ALLOT_ENOMEM;
        out->nseries = nb;
    }
    double replica_steps = 0; /* replicas held x steps */
    double within = 0, dropped = 0, req_total = 0, peak = 0;
    for (size_t i = 0; i < dem->n && rc == 0; i++) {
        double t0 = (double)i * dt, t1 = t0 + dt;
        allot_serve_tick tk = {.count = dem->count[i], .work = dem->work[i]};
        if (sm.count[i] > 0) {
            tk.lam = sm.count[i] / dt;
            tk.es = sm.work[i] / sm.count[i];
        }
        allot_serve_sim_step(m, t0, &tk);
        int ready, starting, draining;
        ready = m->ready, starting = (int)m->starting.n, draining = (int)m->draining.n;
        within += tk.within;
        dropped += tk.dropped;
        req_total += tk.count;
        int have = ready + starting;
        if (tk.want > have) {
            out->scale_ups++;
            rc = allot_serve_sim_start(m, tk.want - have, t1 + ch->cold_start_s);
        } else if (tk.want < have) {
            out->scale_downs++;
            allot_serve_sim_stop(m, have - tk.want, t1);
        }
        int served = ready; /* serving during the step */
        ready = m->ready, starting = (int)m->starting.n, draining = (int)m->draining.n;
        double held = (double)ready + (double)starting + (double)draining;
        replica_steps += held;
        if (held > peak) peak = held;
        if (cfg->record_series && nb) {
            allot_serve_point *p = &out->series[i / per];
            size_t in_b = dem->n - (i / per) * per; /* steps in this bucket */
            double wgt = 1.0 / (double)(in_b < per ? in_b : per);
            p->t = (double)(i / per) * per * dt;
            p->demand_rps += tk.count / dt * wgt;
            p->replicas += served * wgt;
            p->target += (double)tk.want * wgt;
            p->oracle += oracle[i] * wgt;
            p->slo_frac += tk.slo_frac * wgt;
            p->wait_s += tk.wait_s * wgt;
        }
    }
    out->requests = (uint64_t)llround(req_total);
    out->dropped = (uint64_t)llround(dropped);
    out->within_slo = (uint64_t)llround(within);
    out->slo_attainment = req_total > 0 ? within / req_total : 1;
    out->device_hours = replica_steps * s->devices * dt / 3600.0;
    out->oracle_device_hours = oracle_dh;
    out->oracle_ratio = oracle_dh > 0 ? out->device_hours / oracle_dh : 0;
    out->cost = replica_steps * dt / 3600.0 * ch->cost_per_hour;
    out->mean_replicas = dem->n ? replica_steps / (double)dem->n : 0;
    out->peak_replicas = peak;
    allot_serve_sim_free(m);
    free(oracle);
    allot_serve_demand_free(&sm);
    allot_latency_table_free(own);
    if (rc) {
        allot_serve_result_free(out);
        return allot_diag_set(d, rc, NULL, 0, 0, "out of memory");
    }
    return 0;
}
