/* plan_run.c - the Monte Carlo engine of `allot plan`.
 *
 * Worked example: a plan of 12 months, two scenarios and 100 runs is 200
 * units of work (scenario, run), shared by the worker threads through a
 * counter. Run r draws its delivery delays and shortfalls, shock occurrences
 * and demand factors from streams seeded by (plan seed, r, what, index), so
 * run r of every scenario and of every candidate set sees the same draws
 * (common random numbers) and no result depends on which thread ran it.
 * A run walks its periods in order, carrying the training backlog:
 *
 *   for each period k (its representative month m: the middle one):
 *     fleet(m)    owned batches delivered by m (export stops cancel later
 *                 arrivals), leased contracts active in m (a lost region's
 *                 leases give nothing), each data centre's power cap strands
 *                 the newest batches beyond it
 *     inference   per service, per hour of the day: rate x growth ->
 *                 replicas (allot_replicas_needed), sized at the peak on its
 *                 chip types in order; SLO per hour from allot_slo_fraction
 *     training    the rest of the fleet; a window through the scheduler core
 *                 (plan_window.c) at the period's demand, with the backlog
 *                 queued at its start; a fleet too large for max_jobs is
 *                 simulated as a 1/k slice (node groups / k, arrivals / k)
 *     accounting  each month of the period: allot_plan_account() over the
 *                 batches, with each chip type's busy share from above
 *
 * docs/internals/planning.md says what is simulated and what is extrapolated.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/rng.h"
#include "plan_int.h"

/* ---- random streams ------------------------------------------------------------ */

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
    return allot__splitmix64(&x);
}

static void stream(allot_rng *r, uint64_t seed, int run, uint64_t what, uint64_t idx)
{
    allot_rng_seed(r, mix(mix(mix(seed, (uint64_t)run), what), idx));
}

static double normal(allot_rng *r)
{
    double u1 = 1.0 - allot_rng_double(r), u2 = allot_rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* A log-normal factor with mean 1 and log-sd sd (1 when sd is 0). */
static double lognormal1(allot_rng *r, double sd)
{
    double z = normal(r); /* drawn even when sd is 0: streams stay aligned */
    return sd > 0 ? exp(sd * z - sd * sd / 2) : 1.0;
}

/* ---- the latency model, memoised per worker ---------------------------------------- */

#define LCACHE    4096
#define POOL_LOAD 20000.0 /* busy slots of one serving pool at most */

typedef struct lentry {
    double lambda;
    int32_t r;
    int16_t svc, chip;
    int8_t kind; /* 0 replicas needed, 1 SLO fraction; -1 empty */
    double val;
} lentry;

typedef struct worker {
    lentry cache[LCACHE];
} worker;

static double lat_get(worker *w, int kind, const plan_service *s, int svc, int c, double lambda,
                      int r)
{
    uint64_t bits;
    memcpy(&bits, &lambda, sizeof bits);
    uint64_t h = mix(mix(bits, (uint64_t)r), (uint64_t)(kind * 1000003 + svc * 131 + c));
    lentry *e = &w->cache[h % LCACHE];
    if (e->kind == kind && e->lambda == lambda && e->r == r && e->svc == svc && e->chip == c)
        return e->val;
    /* a service whose load exceeds POOL_LOAD busy slots is k identical
     * independent pools of lambda / k (large deployments are split across
     * clusters; Erlang C costs O(load) per call) */
    double a = lambda * s->es[c];
    int64_t k = a > POOL_LOAD ? (int64_t)ceil(a / POOL_LOAD) : 1;
    double v;
    if (kind == 0) {
        v = (double)k * allot_replicas_needed(lambda / (double)k, s->slots, s->es[c], s->slo_s,
                                              s->slo_target, 10000000);
    } else {
        int64_t rlo = r / k, nhi = r - rlo * k; /* nhi pools get one replica more */
        double flo =
            allot_slo_fraction(lambda / (double)k, (int)(rlo * s->slots), s->es[c], s->slo_s);
        double fhi = nhi ? allot_slo_fraction(lambda / (double)k, (int)((rlo + 1) * s->slots),
                                              s->es[c], s->slo_s)
                         : 0;
        v = ((double)(k - nhi) * flo + (double)nhi * fhi) / (double)k;
    }
    e->kind = (int8_t)kind;
    e->lambda = lambda;
    e->r = r;
    e->svc = (int16_t)svc;
    e->chip = (int16_t)c;
    e->val = v;
    return v;
}

/* ---- growth ------------------------------------------------------------------------- */

static double growth_at(const plan_growth *g, int k, int month)
{
    if (g->per_period) return g->per_period[k];
    return pow(1.0 + g->monthly, (double)month);
}

/* ---- one run --------------------------------------------------------------------------- */

typedef struct batch {
    int xg;         /* its node group */
    int chip, dc;   /* dc < 0: leased */
    int arrive;     /* month it arrives (owned); -1 the fleet today */
    double devices; /* delivered (owned) */
    int offer;      /* leased: offer */
} batch;

typedef struct runctx {
    const plan_eval *e;
    const allot_plan *p;
    const plan_scenario *sc;
    int run;
    plan_xgroup *xg;
    int nxg;
    /* per-run draws */
    int *arrive; /* per delivery (committed, then every candidate) */
    double *delivered;
    uint8_t *shock_on;
    double train_factor[PLAN_MAX_TRAIN];
    double serve_factor[PLAN_MAX_SERVICES];
    worker *w;
    allot_diag *d;
} runctx;

/* The month's fleet: per group, devices installed, powered and usable. */
typedef struct fleet_m {
    double *installed;
    double *powered; /* owned: powered; leased: usable */
    double *billed;  /* leased: billed */
    int *depreciating;
} fleet_m;

static int n_deliveries(const allot_plan *p) { return p->ndeliveries + p->ncands; }

static const plan_delivery *delivery_at(const allot_plan *p, int i)
{
    return i < p->ndeliveries ? &p->deliveries[i] : &p->cands[i - p->ndeliveries].buy;
}

/* Whether delivery i is in this evaluation (committed, or a chosen buy). */
static int delivery_used(const plan_eval *e, int i)
{
    const allot_plan *p = e->p;
    if (i < p->ndeliveries) return 1;
    int c = i - p->ndeliveries;
    return p->cands[c].kind == 0 && (e->cand_mask >> c & 1);
}

static int export_stopped(const runctx *x, int chip, int month)
{
    for (size_t j = 0; j < x->sc->nshocks; j++) {
        const plan_shock *s = &x->sc->shocks[j];
        if (x->shock_on[j] && s->type == PLAN_SHOCK_EXPORT_STOP && s->chip == chip &&
            month >= s->from)
            return 1;
    }
    return 0;
}

static int region_lost(const runctx *x, const char *region, int month)
{
    for (size_t j = 0; j < x->sc->nshocks; j++) {
        const plan_shock *s = &x->sc->shocks[j];
        if (x->shock_on[j] && s->type == PLAN_SHOCK_LEASE_REGION &&
            strcmp(s->region, region) == 0 && month >= s->from)
            return 1;
    }
    return 0;
}

static double power_cap(const runctx *x, int dc, int month)
{
    double cap = x->p->dcs[dc].power_mw;
    int best = -1;
    for (size_t j = 0; j < x->sc->nshocks; j++) {
        const plan_shock *s = &x->sc->shocks[j];
        if (x->shock_on[j] && s->type == PLAN_SHOCK_POWER_CAP && s->dc == dc && month >= s->from &&
            s->from >= best) {
            best = s->from;
            cap = s->mw;
        }
    }
    return cap;
}

/* Full-load facility MW of one owned device of group g. */
static double dev_mw(const allot_plan *p, const plan_xgroup *g)
{
    const plan_chip *c = &p->chips[g->g.chip];
    return c->board_w * (1.0 + p->overhead) * p->dcs[g->g.dc].pue / 1e6;
}

/* Fills f for month m. */
static void fleet_month(const runctx *x, int m, fleet_m *f)
{
    const allot_plan *p = x->p;
    const plan_eval *e = x->e;
    for (int g = 0; g < x->nxg; g++) {
        const plan_xgroup *xg = &x->xg[g];
        double inst = 0, bill = 0, use = 0;
        int dep = 0;
        if (xg->kind == 0) {
            inst = xg->g.chip >= 0 ? (double)xg->g.nodes * xg->g.ndev : 0;
            dep = xg->g.chip >= 0 && m < p->chips[xg->g.chip].dep_years * 12;
        } else if (xg->kind == 1) {
            int i = xg->src;
            if (delivery_used(e, i) && x->arrive[i] <= m) {
                inst = x->delivered[i];
                dep = (double)(m - x->arrive[i]) < p->chips[xg->g.chip].dep_years * 12;
            }
        } else {
            const plan_offer *o = &p->offers[xg->src];
            int lost = region_lost(x, o->region, m);
            for (int i = 0; i < p->ncontracts + p->ncands; i++) {
                const plan_contract *c;
                if (i < p->ncontracts) {
                    c = &p->contracts[i];
                } else {
                    int ci = i - p->ncontracts;
                    if (p->cands[ci].kind != 1 || !(e->cand_mask >> ci & 1)) continue;
                    c = &p->cands[ci].lease;
                }
                if (c->offer != xg->src || m < c->start || m >= c->start + c->months) continue;
                if (!lost) {
                    use += c->devices;
                    bill += c->devices;
                } else if (m < c->start + o->min_term) {
                    bill += c->devices; /* take or pay through the minimum term */
                }
            }
        }
        f->installed[g] = xg->kind == 2 ? use : inst;
        f->powered[g] = xg->kind == 2 ? use : inst;
        f->billed[g] = bill;
        f->depreciating[g] = dep;
    }
    /* power caps: the newest batches of a data centre go dark first */
    for (int dc = 0; dc < p->ndcs; dc++) {
        double cap = power_cap(x, dc, m);
        if (!(cap > 0)) continue;
        double used = 0;
        /* order: the fleet today, then deliveries by arrival month, then index */
        for (int pass = 0; pass < 2; pass++)
            for (int mm = -1; mm <= PLAN_MAX_MONTHS; mm++) {
                if (pass == 0 && mm >= 0) break;
                if (pass == 1 && mm < 0) continue;
                for (int g = 0; g < x->nxg; g++) {
                    const plan_xgroup *xg = &x->xg[g];
                    if (xg->g.dc != dc || xg->g.chip < 0 || f->installed[g] <= 0) continue;
                    int arr = xg->kind == 0 ? -1 : x->arrive[xg->src];
                    if ((pass == 0) != (xg->kind == 0) || (pass == 1 && arr != mm)) continue;
                    double mw = dev_mw(p, xg);
                    double room = cap - used;
                    double fit = room > 0 ? floor(room / mw + 1e-9) : 0;
                    if (fit > f->installed[g]) fit = f->installed[g];
                    f->powered[g] = fit;
                    used += fit * mw;
                }
                if (pass == 0) break;
            }
    }
}

/* Serving: per chip, devices it takes (out) and busy device-hours per day. */
typedef struct serve_out {
    double alloc_dev[ALLOT_MAX_CHIP_TYPES];
    double busy_dh_day[ALLOT_MAX_CHIP_TYPES];
    double demand_dev;       /* devices needed at the peak, all services */
    double requests, within; /* per day */
} serve_out;

static void serve_period(runctx *x, int k, int month, double *free_dev, serve_out *so)
{
    const allot_plan *p = x->p;
    memset(so, 0, sizeof *so);
    allot_rng nr;
    for (int si = 0; si < p->nservices; si++) {
        const plan_service *s = &p->services[si];
        stream(&nr, x->e->seed, x->run, 0x5e7eull, (uint64_t)(si * 1000 + k));
        double noise = lognormal1(&nr, s->growth.noise);
        double factor = s->peak_rps * growth_at(&s->growth, k, month) * x->serve_factor[si] *
                        noise * x->sc->demand_scale;
        double lam[24], lpeak = 0;
        for (int h = 0; h < 24; h++) {
            lam[h] = factor * s->profile[h];
            if (lam[h] > lpeak) lpeak = lam[h];
        }
        if (!(lpeak > 0)) continue;
        /* peak need on the preferred chip */
        int rpeak0 = (int)lat_get(x->w, 0, s, si, 0, lpeak, 0);
        so->demand_dev += (double)rpeak0 * s->devices;
        /* allocate on the chips in order */
        double rem = 1.0; /* share of the traffic not yet placed */
        int alloc[ALLOT_SERVE_MAX_CHIPS] = {0};
        double share[ALLOT_SERVE_MAX_CHIPS] = {0};
        for (size_t c = 0; c < s->nchips && rem > 1e-12; c++) {
            int chip = s->chip[c];
            int need = (int)lat_get(x->w, 0, s, si, (int)c, lpeak * rem, 0);
            int avail = (int)floor(free_dev[chip] / s->devices + 1e-9);
            if (avail >= need) {
                alloc[c] = need;
                share[c] = rem;
                rem = 0;
            } else {
                alloc[c] = avail;
                share[c] = need > 0 ? rem * (double)avail / need : 0;
                rem -= share[c];
            }
            free_dev[chip] -= (double)alloc[c] * s->devices;
            so->alloc_dev[chip] += (double)alloc[c] * s->devices;
        }
        /* per hour: requests within SLO, replicas busy */
        for (int h = 0; h < 24; h++) {
            double req = lam[h] * 3600.0;
            so->requests += req;
            for (size_t c = 0; c < s->nchips; c++) {
                if (alloc[c] == 0 || share[c] <= 0) continue;
                double lc = lam[h] * share[c];
                double f = lat_get(x->w, 1, s, si, (int)c, lc, alloc[c]);
                so->within += req * share[c] * f;
                int need = (int)lat_get(x->w, 0, s, si, (int)c, lc, 0);
                double busy = need < alloc[c] ? need : alloc[c];
                so->busy_dh_day[s->chip[c]] += busy * s->devices;
            }
        }
    }
}

/* Jobs of workload w (a prefix of its order) whose devices fit dev devices
 * (and its max_job_devices). */
static size_t eligible(const plan_training *w, double dev)
{
    if (dev > w->max_job_devices) dev = w->max_job_devices;
    int64_t cap = (int64_t)floor(dev + 1e-9) * ALLOT_MILLI;
    size_t lo = 0, hi = w->pool.njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->milli[mid] <= cap)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Devices of the chip types workload w runs on, given devices per chip. */
static double devices_for(const allot_plan *p, const plan_training *w, const double *per_chip)
{
    double d = 0;
    for (int k = 0; k < p->nchips; k++)
        if (!w->chips || (w->chips >> k & 1)) d += per_chip[k];
    return d;
}

/* Stochastic rounding of v (keeps the mean). */
static int sround(allot_rng *r, double v)
{
    double f = floor(v);
    return (int)f + (allot_rng_double(r) < v - f);
}

static int run_one(runctx *x, allot_plan_cell *cells, uint64_t *sims, void (*tick)(void *, int),
                   void *tick_arg)
{
    const allot_plan *p = x->p;
    int nd = n_deliveries(p);
    allot_rng r;
    /* supply draws, for every delivery and every candidate buy */
    for (int i = 0; i < nd; i++) {
        const plan_delivery *dv = delivery_at(p, i);
        const plan_chip *pc = &p->chips[dv->chip];
        stream(&r, x->e->seed, x->run, 0xde1ull, (uint64_t)i);
        const double *dp = dv->ndelay >= 0 ? dv->delay_p : pc->delay_p;
        int ndp = dv->ndelay >= 0 ? dv->ndelay : pc->ndelay;
        double u = allot_rng_double(&r), acc = 0;
        int delay = 0;
        for (int j = 0; j < ndp; j++) {
            acc += dp[j];
            if (u < acc) {
                delay = j;
                break;
            }
            delay = j;
        }
        double sp = isnan(dv->shortfall_prob) ? pc->shortfall_prob : dv->shortfall_prob;
        double sm = isnan(dv->shortfall_max) ? pc->shortfall_max : dv->shortfall_max;
        double us = allot_rng_double(&r), frac = allot_rng_double(&r) * sm;
        double got = us < sp ? floor(dv->devices * (1.0 - frac) + 0.5) : dv->devices;
        x->arrive[i] = dv->month + delay;
        if (export_stopped(x, dv->chip, x->arrive[i])) got = 0;
        x->delivered[i] = got;
    }
    /* demand factors for the whole run */
    stream(&r, x->e->seed, x->run, 0xd0ull, 0);
    for (int w = 0; w < p->ntrain; w++) {
        stream(&r, x->e->seed, x->run, 0xd2ull, (uint64_t)w);
        x->train_factor[w] = lognormal1(&r, p->train[w].growth.uncertainty);
    }
    for (int si = 0; si < p->nservices; si++) {
        stream(&r, x->e->seed, x->run, 0xd1ull, (uint64_t)si);
        x->serve_factor[si] = lognormal1(&r, p->services[si].growth.uncertainty);
    }

    size_t ng = (size_t)(x->nxg ? x->nxg : 1);
    fleet_m fm = {calloc(ng, sizeof(double)), calloc(ng, sizeof(double)),
                  calloc(ng, sizeof(double)), calloc(ng, sizeof(int))};
    fleet_m *f = &fm;
    int *nodes = malloc(ng * sizeof *nodes);
    allot_plan_acct_line *lines = malloc(ng * sizeof *lines);
    if (!fm.installed || !fm.powered || !fm.billed || !fm.depreciating || !nodes || !lines) {
        free(fm.installed);
        free(fm.powered);
        free(fm.billed);
        free(fm.depreciating);
        free(nodes);
        free(lines);
        return ALLOT_ENOMEM;
    }
    double backlog[PLAN_MAX_TRAIN] = {0}; /* device-seconds per workload, full fleet */
    int rc = 0;
    for (int k = 0; k < p->nperiods && !rc; k++) {
        allot_plan_cell *cell = &cells[k];
        memset(cell, 0, sizeof *cell);
        int m0 = k * p->step_months, mrep = m0 + (p->step_months - 1) / 2;
        double hours = 0;
        for (int m = m0; m < m0 + p->step_months; m++) hours += 24.0 * plan__month_days(p, m);

        /* the representative month's fleet */
        fleet_month(x, mrep, f);
        double usable[ALLOT_MAX_CHIP_TYPES] = {0};
        for (int g = 0; g < x->nxg; g++)
            if (x->xg[g].g.chip >= 0) usable[x->xg[g].g.chip] += f->powered[g];
        double free_dev[ALLOT_MAX_CHIP_TYPES];
        memcpy(free_dev, usable, sizeof free_dev);

        /* inference first */
        serve_out so;
        serve_period(x, k, mrep, free_dev, &so);
        cell->serve_demand = so.demand_dev;
        double served_dev = 0;
        for (int c = 0; c < p->nchips; c++) served_dev += so.alloc_dev[c];
        cell->serve_devices = served_dev;
        cell->slo = p->nservices > 0 ? (so.requests > 0 ? so.within / so.requests : 1.0) : NAN;

        /* the training pool: whole nodes left after serving */
        double take[ALLOT_MAX_CHIP_TYPES];
        memcpy(take, so.alloc_dev, sizeof take);
        double pool_dev = 0, pool_chip[ALLOT_MAX_CHIP_TYPES] = {0};
        for (int g = 0; g < x->nxg; g++) {
            const plan_xgroup *xg = &x->xg[g];
            int nn = xg->g.chip >= 0 ? (int)floor(f->powered[g] / xg->g.ndev + 1e-9)
                                     : (xg->kind == 0 ? xg->g.nodes : 0);
            if (xg->g.chip >= 0 && take[xg->g.chip] > 0) {
                int drop = (int)ceil(take[xg->g.chip] / xg->g.ndev - 1e-9);
                if (drop > nn) drop = nn;
                nn -= drop;
                take[xg->g.chip] -= (double)drop * xg->g.ndev;
            }
            nodes[g] = nn;
            if (xg->g.chip >= 0) {
                pool_dev += (double)nn * xg->g.ndev;
                pool_chip[xg->g.chip] += (double)nn * xg->g.ndev;
            }
        }

        double tdemand[PLAN_MAX_TRAIN] = {0}, tsum = 0, bsum = 0;
        for (int w = 0; w < p->ntrain; w++) {
            const plan_training *tr = &p->train[w];
            stream(&r, x->e->seed, x->run, 0x7e0ull, (uint64_t)(k * PLAN_MAX_TRAIN + w));
            double noise = lognormal1(&r, tr->growth.noise);
            tdemand[w] = tr->devices * growth_at(&tr->growth, k, mrep) * x->train_factor[w] *
                         noise * x->sc->demand_scale;
            tsum += tdemand[w];
            bsum += backlog[w];
        }
        cell->train_demand = tsum;
        double train_busy_chip[ALLOT_MAX_CHIP_TYPES] = {0}; /* device-hours in the period */
        double lost_dh = 0;
        if (p->has_training && (tsum > 0 || bsum > 0) && pool_dev <= 0) {
            /* no device can train: everything waits the whole period */
            for (int w = 0; w < p->ntrain; w++) backlog[w] += tdemand[w] * hours * 3600;
            cell->wait_p50_h = cell->wait_p95_h = hours;
        } else if (p->has_training && (tsum > 0 || bsum > 0)) {
            /* per workload: the jobs that fit the devices it may use, and
             * the arrival rate that brings its demand */
            double rate[PLAN_MAX_TRAIN] = {0}, rsum = 0;
            size_t elig[PLAN_MAX_TRAIN] = {0};
            for (int w = 0; w < p->ntrain; w++) {
                const plan_training *tr = &p->train[w];
                elig[w] = eligible(tr, devices_for(p, tr, pool_chip));
                size_t el = elig[w] ? elig[w] : tr->pool.njobs;
                rate[w] = tdemand[w] / (tr->cum[el - 1] / (double)el); /* jobs/s, full fleet */
                rsum += rate[w];
            }
            double win = p->window_h > 0 ? p->window_h * 3600 : 86400;
            if (p->window_h <= 0 && rsum * win < 300) win = 300 / (rsum > 0 ? rsum : 1e-9);
            if (win > 7 * 86400.0 && p->window_h <= 0) win = 7 * 86400.0;
            if (win > hours * 3600) win = hours * 3600;
            /* the window starts from the steady state (plan_window.c): a
             * short warm-up lets the queue and the placement settle */
            double warm = p->warmup_h > 0 ? p->warmup_h * 3600 : 6 * 3600;
            double expect = rsum * (warm + win);
            int slice = expect > p->max_jobs ? (int)ceil(expect / p->max_jobs) : 1;
            stream(&r, x->e->seed, x->run, 0x511ull, (uint64_t)k);
            int *sn = nodes;
            int *tmp = NULL;
            double cap_s = pool_dev, slice_chip[ALLOT_MAX_CHIP_TYPES];
            memcpy(slice_chip, pool_chip, sizeof slice_chip);
            if (slice > 1) {
                tmp = malloc((size_t)x->nxg * sizeof *tmp);
                if (!tmp) {
                    rc = ALLOT_ENOMEM;
                    break;
                }
                cap_s = 0;
                memset(slice_chip, 0, sizeof slice_chip);
                for (int g = 0; g < x->nxg; g++) {
                    tmp[g] = sround(&r, (double)nodes[g] / slice);
                    if (x->xg[g].g.chip < 0) continue;
                    cap_s += (double)tmp[g] * x->xg[g].g.ndev;
                    slice_chip[x->xg[g].g.chip] += (double)tmp[g] * x->xg[g].g.ndev;
                }
                sn = tmp;
                /* a slice holds fewer devices: fewer jobs fit; keep the load */
                for (int w = 0; w < p->ntrain; w++) {
                    const plan_training *tr = &p->train[w];
                    elig[w] = eligible(tr, devices_for(p, tr, slice_chip));
                    size_t el = elig[w] ? elig[w] : tr->pool.njobs;
                    rate[w] = tdemand[w] / (tr->cum[el - 1] / (double)el);
                }
            }
            double scale = cap_s > 0 ? pool_dev / cap_s : 1; /* full / slice */
            plan_window_in in;
            memset(&in, 0, sizeof in);
            in.p = p;
            in.nodes = sn;
            in.groups = x->xg;
            in.ngroups = x->nxg;
            for (int w = 0; w < p->ntrain; w++) {
                in.eligible[w] = elig[w];
                in.rate_per_s[w] = rate[w] / scale;
                in.backlog_dev_s[w] = backlog[w] / scale;
            }
            in.cant_run_s = hours * 3600;
            in.warmup_s = warm;
            in.window_s = win;
            in.seed = mix(mix(mix(x->e->seed, (uint64_t)x->run), 0x3177ull), (uint64_t)k);
            plan_window_out wo;
            rc = plan__window_run(&in, &wo, x->d);
            (*sims)++;
            free(tmp);
            if (rc) break;
            /* window means (devices busy) x scale x hours = device-hours */
            for (int c = 0; c < p->nchips; c++)
                train_busy_chip[c] = wo.busy_dev_s[c] * scale / win * hours;
            lost_dh = wo.lost_dev_s * scale / win * hours;
            cell->wait_p50_h = wo.wait_p50_s / 3600.0;
            cell->wait_p95_h = wo.wait_p95_s / 3600.0;
            cell->slice = slice;
            cell->window_jobs = wo.jobs;
            /* the queue at the period's end: the window's end, then its
             * trend (shared out by each workload's part of the end queue) */
            double trend = (wo.pending1_total - wo.pending0_dev_s) * scale / win;
            double rest = hours * 3600 - warm - win;
            for (int w = 0; w < p->ntrain; w++) {
                double q1 = (wo.pending1_dev_s[w] + wo.backlog_left_dev_s[w]) * scale;
                double share = wo.pending1_total > 0 ? wo.pending1_dev_s[w] / wo.pending1_total
                                                     : 1.0 / p->ntrain;
                backlog[w] = q1 + (rest > 0 ? trend * rest * share : 0);
                if (backlog[w] < 0) backlog[w] = 0;
            }
        }
        bsum = 0;
        for (int w = 0; w < p->ntrain; w++) bsum += backlog[w];
        cell->backlog_dh = bsum / 3600.0;

        /* busy share per chip over the usable devices */
        double busy_frac[ALLOT_MAX_CHIP_TYPES] = {0};
        double days = hours / 24.0;
        for (int c = 0; c < p->nchips; c++) {
            double busy = train_busy_chip[c] + so.busy_dh_day[c] * days;
            double cap = usable[c] * hours;
            busy_frac[c] = cap > 0 ? busy / cap : 0;
            if (busy_frac[c] > 1) busy_frac[c] = 1;
        }

        /* accounting, month by month */
        for (int m = m0; m < m0 + p->step_months; m++) {
            fleet_month(x, m, f);
            size_t nl = 0;
            double mh = 24.0 * plan__month_days(p, m);
            for (int g = 0; g < x->nxg; g++) {
                const plan_xgroup *xg = &x->xg[g];
                if (xg->g.chip < 0) continue;
                const plan_chip *pc = &p->chips[xg->g.chip];
                allot_plan_acct_line *l = &lines[nl];
                memset(l, 0, sizeof *l);
                l->busy = busy_frac[xg->g.chip];
                if (xg->kind == 2) {
                    if (f->powered[g] <= 0 && f->billed[g] <= 0) continue;
                    l->leased = 1;
                    l->devices = f->powered[g];
                    l->billed_devices = f->billed[g];
                    l->lease_price = p->offers[xg->src].price;
                    cell->leased_devices += f->powered[g] * mh;
                } else {
                    if (f->installed[g] <= 0) continue;
                    const plan_dc *dc = &p->dcs[xg->g.dc];
                    l->devices = f->installed[g];
                    l->powered = f->powered[g];
                    l->capex = pc->capex;
                    l->dep_years = pc->dep_years;
                    l->depreciating = f->depreciating[g];
                    l->board_w = pc->board_w;
                    l->overhead = p->overhead;
                    l->idle_fraction = p->idle_fraction;
                    l->pue = dc->pue;
                    l->price_kwh = dc->price_kwh;
                    l->dc_cost_mw_year = dc->dc_cost_mw_year;
                    cell->owned_devices += f->installed[g] * mh;
                    cell->stranded_devices += (f->installed[g] - f->powered[g]) * mh;
                }
                nl++;
            }
            allot_plan_acct a;
            allot_plan_account(lines, nl, mh, &a);
            cell->cost_depreciation += a.depreciation;
            cell->cost_power += a.power;
            cell->cost_datacentre += a.datacentre;
            cell->cost_leases += a.leases;
            cell->cost_total += a.total;
            cell->energy_mwh += a.energy_mwh;
            cell->mean_mw += a.mean_mw * mh;
            if (a.full_mw > cell->peak_mw) cell->peak_mw = a.full_mw;
            cell->device_hours += a.device_hours;
            cell->busy_device_hours += a.busy_device_hours;
        }
        cell->owned_devices /= hours;
        cell->leased_devices /= hours;
        cell->stranded_devices /= hours;
        cell->mean_mw /= hours;
        cell->supply_devices = cell->device_hours / hours;
        cell->useful_device_hours = cell->busy_device_hours - lost_dh;
        if (cell->useful_device_hours < 0) cell->useful_device_hours = 0;
        cell->idle_device_hours = cell->device_hours - cell->busy_device_hours;
        cell->utilisation =
            cell->device_hours > 0 ? cell->busy_device_hours / cell->device_hours : 0;
        cell->cost_per_useful_dh =
            cell->useful_device_hours > 0 ? cell->cost_total / cell->useful_device_hours : NAN;
        if (tick) tick(tick_arg, 1);
    }
    free(fm.installed);
    free(fm.powered);
    free(fm.billed);
    free(fm.depreciating);
    free(nodes);
    free(lines);
    return rc;
}

/* ---- groups of an evaluation --------------------------------------------------------- */

static int build_groups(const plan_eval *e, plan_xgroup **out, int *n)
{
    const allot_plan *p = e->p;
    int nd = n_deliveries(p);
    int cap = p->ngroups + nd + p->noffers;
    plan_xgroup *g = calloc((size_t)(cap ? cap : 1), sizeof *g);
    if (!g) return ALLOT_ENOMEM;
    int k = 0;
    for (int i = 0; i < p->ngroups; i++, k++) {
        g[k].g = p->groups[i];
        g[k].kind = 0;
        g[k].src = i;
        snprintf(g[k].zone, PLAN_NAME, "%s", p->dcs[p->groups[i].dc].name);
    }
    for (int i = 0; i < nd; i++, k++) {
        const plan_delivery *dv = delivery_at(p, i);
        g[k].g.chip = dv->chip;
        g[k].g.dc = dv->dc;
        g[k].g.ndev = dv->node_devices;
        g[k].g.cpu = dv->cpu;
        g[k].g.mem = dv->mem;
        g[k].kind = 1;
        g[k].src = i;
        snprintf(g[k].zone, PLAN_NAME, "%s", p->dcs[dv->dc].name);
    }
    for (int i = 0; i < p->noffers; i++, k++) {
        const plan_offer *o = &p->offers[i];
        g[k].g.chip = o->chip;
        g[k].g.dc = -1;
        g[k].g.ndev = o->node_devices;
        g[k].g.cpu = o->cpu;
        g[k].g.mem = o->mem;
        g[k].kind = 2;
        g[k].src = i;
        snprintf(g[k].zone, PLAN_NAME, "lease-%.50s", o->region);
    }
    *out = g;
    *n = k;
    return 0;
}

/* ---- threads ----------------------------------------------------------------------------- */

typedef struct shared {
    const plan_eval *e;
    allot_plan_scenario_result *res;
    plan_xgroup *xg;
    int nxg;
    int units; /* scenarios x runs, in scen_mask order */
    int *unit_scen;
    int next;
    long done, total;
    uint64_t sims;
    int rc;
    allot_diag d;
    pthread_mutex_t mu;
} shared;

static void tick(void *arg, int n)
{
    shared *s = arg;
    pthread_mutex_lock(&s->mu);
    s->done += n;
    if (s->e->progress)
        s->e->progress(s->e->progress_arg,
                       s->e->progress_base +
                           s->e->progress_span * (double)s->done / (double)s->total,
                       s->e->stage);
    pthread_mutex_unlock(&s->mu);
}

static void *worker_main(void *arg)
{
    shared *s = arg;
    const allot_plan *p = s->e->p;
    worker *w = malloc(sizeof *w);
    int nd = n_deliveries(p);
    int *arrive = malloc((size_t)(nd + 1) * sizeof *arrive);
    double *delivered = malloc((size_t)(nd + 1) * sizeof *delivered);
    uint8_t *shock_on = malloc(65);
    if (!w || !arrive || !delivered || !shock_on) {
        pthread_mutex_lock(&s->mu);
        if (!s->rc) s->rc = ALLOT_ENOMEM;
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    for (int i = 0; i < LCACHE; i++) w->cache[i].kind = -1;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int u = s->rc ? s->units : s->next++;
        pthread_mutex_unlock(&s->mu);
        if (u >= s->units) break;
        int sc = s->unit_scen[u / s->e->runs], run = u % s->e->runs;
        const plan_scenario *scen = &p->scen[sc];
        for (size_t j = 0; j < scen->nshocks; j++) {
            allot_rng r;
            stream(&r, s->e->seed, run, 0x5c0ull, (uint64_t)j);
            shock_on[j] = allot_rng_double(&r) < scen->shocks[j].prob;
        }
        allot_diag d;
        memset(&d, 0, sizeof d);
        runctx x;
        memset(&x, 0, sizeof x);
        x.e = s->e;
        x.p = p;
        x.sc = scen;
        x.run = run;
        x.xg = s->xg;
        x.nxg = s->nxg;
        x.arrive = arrive;
        x.delivered = delivered;
        x.shock_on = shock_on;
        x.w = w;
        x.d = &d;
        uint64_t sims = 0;
        int rc = run_one(&x, &s->res[sc].cell[(size_t)run * (size_t)p->nperiods], &sims, tick, s);
        pthread_mutex_lock(&s->mu);
        s->sims += sims;
        if (rc && !s->rc) {
            s->rc = rc;
            s->d = d;
        }
        pthread_mutex_unlock(&s->mu);
    }
out:
    free(w);
    free(arrive);
    free(delivered);
    free(shock_on);
    return NULL;
}

void plan__scenario_free(allot_plan_scenario_result *s)
{
    if (!s) return;
    free(s->cell);
    free(s->met);
    free(s->run_cost);
    free(s->run_useful);
    s->cell = NULL;
    s->met = NULL;
    s->run_cost = s->run_useful = NULL;
}

int plan__run_meets(const allot_plan *p, const allot_plan_scenario_result *s, int r)
{
    for (int k = p->target_from; k < p->nperiods; k++) {
        const allot_plan_cell *c = &s->cell[(size_t)r * (size_t)p->nperiods + (size_t)k];
        if (!isnan(p->target_wait_h) && p->has_training && !(c->wait_p95_h <= p->target_wait_h))
            return 0;
        if (!isnan(p->target_slo) && p->nservices > 0 && !(c->slo >= p->target_slo)) return 0;
    }
    return 1;
}

int plan__evaluate(const plan_eval *e, allot_plan_scenario_result *res, uint64_t *sims,
                   allot_diag *d)
{
    const allot_plan *p = e->p;
    shared s;
    memset(&s, 0, sizeof s);
    s.e = e;
    s.res = res;
    int rc = build_groups(e, &s.xg, &s.nxg);
    if (rc) return allot_diag_set(d, rc, NULL, 0, 0, "too many node groups");
    s.unit_scen = calloc((size_t)p->nscen, sizeof *s.unit_scen);
    if (!s.unit_scen) {
        free(s.xg);
        return ALLOT_ENOMEM;
    }
    int nsc = 0;
    for (int i = 0; i < p->nscen; i++) {
        if (!(e->scen_mask >> i & 1)) continue;
        s.unit_scen[nsc++] = i;
        allot_plan_scenario_result *r = &res[i];
        snprintf(r->name, sizeof r->name, "%s", p->scen[i].name);
        snprintf(r->description, sizeof r->description, "%s", p->scen[i].description);
        r->weight = p->scen[i].weight;
        r->cell = calloc((size_t)e->runs * (size_t)p->nperiods, sizeof *r->cell);
        r->met = calloc((size_t)e->runs, 1);
        r->run_cost = calloc((size_t)e->runs, sizeof *r->run_cost);
        r->run_useful = calloc((size_t)e->runs, sizeof *r->run_useful);
        if (!r->cell || !r->met || !r->run_cost || !r->run_useful) rc = ALLOT_ENOMEM;
    }
    if (rc) goto out;
    s.units = nsc * e->runs;
    s.total = (long)s.units * p->nperiods;
    pthread_mutex_init(&s.mu, NULL);
    int nt = e->threads < 1 ? 1 : e->threads;
    if (nt > s.units) nt = s.units > 0 ? s.units : 1;
    pthread_t th[64];
    if (nt > 64) nt = 64;
    int started = 0;
    for (int i = 1; i < nt; i++) {
        if (pthread_create(&th[i], NULL, worker_main, &s) != 0) break;
        started = i;
    }
    worker_main(&s);
    for (int i = 1; i <= started; i++) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&s.mu);
    rc = s.rc;
    if (rc) {
        if (s.d.msg[0] && d)
            *d = s.d;
        else
            allot_diag_set(d, rc, NULL, 0, 0, "plan run failed: %s", allot_strerror(rc));
        goto out;
    }
    if (sims) *sims += s.sims;
    for (int i = 0; i < p->nscen; i++) {
        if (!(e->scen_mask >> i & 1)) continue;
        allot_plan_scenario_result *r = &res[i];
        int met = 0;
        for (int run = 0; run < e->runs; run++) {
            double cost = 0, useful = 0;
            for (int k = 0; k < p->nperiods; k++) {
                const allot_plan_cell *c = &r->cell[(size_t)run * (size_t)p->nperiods + (size_t)k];
                cost += c->cost_total;
                useful += c->useful_device_hours;
            }
            r->run_cost[run] = cost;
            r->run_useful[run] = useful;
            r->met[run] = (uint8_t)plan__run_meets(p, r, run);
            met += r->met[run];
        }
        r->met_fraction = (double)met / e->runs;
    }
out:
    free(s.xg);
    free(s.unit_scen);
    return rc;
}

/* ---- candidates ------------------------------------------------------------------------ */

double plan__candidate_static_cost(const allot_plan *p, int i)
{
    const plan_candidate *c = &p->cands[i];
    double cost = 0;
    if (c->kind == 0) {
        const plan_chip *pc = &p->chips[c->buy.chip];
        for (int m = c->buy.month; m < p->nmonths; m++)
            if ((double)(m - c->buy.month) < pc->dep_years * 12)
                cost += c->buy.devices * pc->capex / (12.0 * pc->dep_years);
    } else {
        const plan_offer *o = &p->offers[c->lease.offer];
        for (int m = c->lease.start; m < c->lease.start + c->lease.months && m < p->nmonths; m++)
            cost += c->lease.devices * o->price * 24.0 * plan__month_days(p, m);
    }
    return cost;
}

static void month_label(const allot_plan *p, int m, char out[16])
{
    int ym = p->start_year * 12 + p->start_month - 1 + m;
    snprintf(out, 16, "%04d-%02d", ym / 12, ym % 12 + 1);
}

void plan__candidate_describe(const allot_plan *p, int i, char *out, size_t len)
{
    const plan_candidate *c = &p->cands[i];
    char ml[16];
    if (c->kind == 0) {
        month_label(p, c->buy.month, ml);
        snprintf(out, len, "buy %.0f %s in %s, due %s", c->buy.devices,
                 p->chips[c->buy.chip].t.name, p->dcs[c->buy.dc].name, ml);
    } else {
        const plan_offer *o = &p->offers[c->lease.offer];
        month_label(p, c->lease.start, ml);
        snprintf(out, len, "lease %.0f %s in %s (%s) from %s for %d months", c->lease.devices,
                 p->chips[o->chip].t.name, o->region, o->name, ml, c->lease.months);
    }
}
