/* plan_window.c - one period's representative window of training work,
 * through the real scheduler core.
 *
 * Worked example: a period whose training pool is 250 nodes of 8 devices and
 * whose demand is 1,600 devices of the gen:llm mix (mean 145 device-hours a
 * job) gets 11 arrivals an hour. With a 24-hour warm-up and a 24-hour
 * window, about 530 jobs are drawn from the job pool (bootstrap, seeded) with
 * Poisson arrival times in [-24 h, 24 h), plus the backlog carried from the
 * last period, queued at -24 h. They are submitted to allot_sched on a fresh
 * cluster of those 250 nodes; departures come at the core's expected end of
 * each start, node failures and repairs from the chips' failure rates. The
 * warm-up fills the fleet; what happens in [0, 24 h) is measured: busy and
 * usable device-seconds per chip type, the queueing delay of the jobs that
 * arrive then, work lost to preemption and failures, and the queued work at
 * the window's start and end. Nothing after 24 h is simulated: a job still
 * waiting then counts the wait so far plus the queued work submitted before
 * it divided by the busy devices (how long the queue ahead takes to drain at
 * the rate the fleet serves; an extrapolation, flagged in the docs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/rng.h"
#include "plan_int.h"

typedef struct wev {
    int64_t t;
    uint64_t seq;
    uint32_t id;    /* job or node */
    uint32_t epoch; /* departures: the start they end */
    uint8_t kind;   /* 0 departure, 1 repair (node up), 2 failure (node down) */
} wev;

typedef struct wheap {
    wev *v;
    size_t n, cap;
} wheap;

static int wev_less(const wev *a, const wev *b)
{
    if (a->t != b->t) return a->t < b->t;
    if (a->kind != b->kind) return a->kind < b->kind; /* capacity back first */
    return a->seq < b->seq;
}

static int wheap_push(wheap *h, wev e)
{
    if (h->n >= h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        wev *v = realloc(h->v, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    for (; i > 0 && wev_less(&e, &h->v[(i - 1) / 2]); i = (i - 1) / 2) h->v[i] = h->v[(i - 1) / 2];
    h->v[i] = e;
    return 0;
}

static wev wheap_pop(wheap *h)
{
    wev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && wev_less(&h->v[l], &last)) m = l;
        if (l + 1 < h->n && wev_less(&h->v[l + 1], m == i ? &last : &h->v[l])) m = l + 1;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

static double exp_draw(allot_rng *r, double mean) { return -log(1.0 - allot_rng_double(r)) * mean; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of n sorted values. */
static double quantile(const double *v, size_t n, double q)
{
    if (n == 0) return 0;
    size_t k = (size_t)ceil(q * (double)n);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

static allot_cluster *build_cluster(const plan_window_in *in, int *nzones, uint32_t *zones)
{
    const allot_plan *p = in->p;
    allot_cluster *c = allot_cluster_new("window");
    if (!c) return NULL;
    for (int k = 0; k < p->nchips; k++)
        if (allot_cluster_add_chip(c, &p->chips[k].t) != k) goto fail;
    char name[64], blk[32], rack[32];
    for (int g = 0; g < in->ngroups; g++) {
        const plan_xgroup *xg = &in->groups[g];
        snprintf(blk, sizeof blk, "g%d", g);
        for (int i = 0; i < in->nodes[g]; i++) {
            snprintf(rack, sizeof rack, "g%d-r%d", g, i / p->nodes_per_rack);
            int rid = allot_cluster_rack(c, xg->zone, blk, rack);
            if (rid < 0) goto fail;
            snprintf(name, sizeof name, "g%d-%d", g, i);
            const char *chip = xg->g.chip >= 0 ? p->chips[xg->g.chip].t.name : NULL;
            if (allot_cluster_add_node(c, name, chip, xg->g.chip >= 0 ? xg->g.ndev : 0, xg->g.cpu,
                                       xg->g.mem, (uint32_t)rid) < 0)
                goto fail;
        }
    }
    if (allot_cluster_finalize(c) != 0) goto fail;
    *nzones = 0;
    for (uint32_t d = 0; d < allot_cluster_ndomains(c) && *nzones < 256; d++)
        if (allot_cluster_domain(c, d)->level == ALLOT_LEVEL_ZONE) zones[(*nzones)++] = d;
    return c;
fail:
    allot_cluster_free(c);
    return NULL;
}

/* Allocated and usable device milli per chip type, summed over zones. */
static void chip_use(const allot_cluster *c, const uint32_t *zones, int nz, int nchips,
                     double *busy, double *avail)
{
    for (int k = 0; k < nchips; k++) busy[k] = avail[k] = 0;
    for (int z = 0; z < nz; z++)
        for (int k = 0; k < nchips; k++) {
            const allot_agg *a = allot_cluster_agg(c, zones[z], (uint32_t)k);
            avail[k] += (double)a->devices * ALLOT_MILLI;
            busy[k] += (double)a->devices * ALLOT_MILLI - (double)a->free_milli;
        }
}

static double job_dev_s(const allot_job *j)
{
    return (double)allot_job_milli(j) / ALLOT_MILLI * (double)j->duration;
}

static int push_job(allot_job **v, size_t *cap, size_t *n, const allot_job *j)
{
    if (*n >= *cap) {
        size_t nc = *cap * 2;
        allot_job *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return ALLOT_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *j;
    return 0;
}

/* Arrival order: time, then workload (tenant), then the job's name in its
 * pool; two arrivals equal in all three are the same pool job, so their
 * order does not matter: the result is the same whatever qsort does. */
static int cmp_submit(const void *a, const void *b)
{
    const allot_job *x = a, *y = b;
    if (x->submit != y->submit) return x->submit < y->submit ? -1 : 1;
    if (x->tenant != y->tenant) return x->tenant < y->tenant ? -1 : 1;
    return (x->name > y->name) - (x->name < y->name);
}

/* Work (device-seconds) a queued job still has. */
static double pending_work(allot_sched *s, const allot_job *j, uint32_t id)
{
    int64_t rem = allot_sched_job_remaining(s, id);
    if (rem == ALLOT_TIME_NONE) rem = j->duration;
    return (double)allot_job_milli(j) / ALLOT_MILLI * (double)rem;
}

int plan__window_run(const plan_window_in *in, plan_window_out *out, allot_diag *d)
{
    const allot_plan *p = in->p;
    memset(out, 0, sizeof *out);
    int rc = 0, nz = 0;
    uint32_t zones[256];
    allot_cluster *c = NULL;
    allot_sched *s = NULL;
    allot_job *jobs = NULL;
    allot_tenant *tenants = NULL;
    double *waits = NULL;
    wheap h = {0};
    allot_decisions dec = {0};
    allot_rng rng;
    allot_rng_seed(&rng, in->seed);

    c = build_cluster(in, &nz, zones);
    if (!c) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "cannot build the window's fleet");
    int64_t W0 = (int64_t)llround(in->warmup_s), W = (int64_t)llround(in->window_s);
    int64_t T1 = W0 + W; /* the window is [W0, T1) */

    /* the jobs: the steady state and the backlog at 0, then Poisson
     * arrivals from 0 to T1, per workload; ids follow submission order */
    size_t cap = 1024, n = 0;
    jobs = malloc(cap * sizeof *jobs);
    if (!jobs) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    int ntr = p->ntrain;
    /* the fleet in its steady state: the jobs an unconstrained fleet would
     * be running at time 0 - a Poisson number with mean rate x E[duration],
     * each drawn length-biased (a job twice as long is twice as likely to
     * be running) with a uniform age, submitted at 0 with the work it has
     * left, oldest first, while the devices of its chip types last (more is
     * backlog, which the engine carries) */
    double left_k[ALLOT_MAX_CHIP_TYPES] = {0};
    for (int g = 0; g < in->ngroups; g++)
        if (in->groups[g].g.chip >= 0)
            left_k[in->groups[g].g.chip] += (double)in->nodes[g] * in->groups[g].g.ndev;
    double *age = NULL;
    size_t nage = 0;
    for (int w = 0; w < ntr; w++) {
        const plan_training *tr = &p->train[w];
        size_t el = in->eligible[w];
        if (!(in->rate_per_s[w] > 0) || el == 0) continue;
        double mean_n = in->rate_per_s[w] * tr->cumdur[el - 1] / (double)el;
        for (double acc = exp_draw(&rng, 1.0); acc < mean_n && n < (size_t)p->max_jobs;
             acc += exp_draw(&rng, 1.0)) {
            double u = allot_rng_double(&rng) * tr->cumdur[el - 1];
            size_t lo = 0, hi = el - 1;
            while (lo < hi) { /* the first k with cumdur[k] > u */
                size_t mid = lo + (hi - lo) / 2;
                if (tr->cumdur[mid] > u)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            allot_job jb = tr->pool.jobs[tr->order[lo]];
            double a = allot_rng_double(&rng) * (double)jb.duration;
            int64_t rest = jb.duration - (int64_t)a;
            jb.duration = rest < 1 ? 1 : rest;
            jb.submit = 0;
            if ((rc = push_job(&jobs, &cap, &n, &jb))) goto out;
            if (n > nage) {
                double *na = realloc(age, cap * sizeof *na);
                if (!na) {
                    rc = ALLOT_ENOMEM;
                    goto out;
                }
                age = na;
                nage = cap;
            }
            age[n - 1] = a;
        }
    }
    /* oldest first (a stable insertion sort), while devices last */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && age[k] > age[k - 1]; k--) {
            double ta = age[k];
            age[k] = age[k - 1];
            age[k - 1] = ta;
            allot_job tj = jobs[k];
            jobs[k] = jobs[k - 1];
            jobs[k - 1] = tj;
        }
    free(age);
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        double need = (double)allot_job_milli(&jobs[i]) / ALLOT_MILLI, room = 0;
        allot_chip_mask m = jobs[i].shape.chips;
        for (int k = 0; k < p->nchips; k++)
            if (!m || (m >> k & 1)) room += left_k[k];
        if (need > room) continue;
        for (int k = 0; k < p->nchips && need > 0; k++) {
            if (m && !(m >> k & 1)) continue;
            double take = need < left_k[k] ? need : left_k[k];
            left_k[k] -= take;
            need -= take;
        }
        jobs[keep++] = jobs[i];
    }
    n = keep;
    out->prefill = (uint32_t)n;
    /* the backlog, queued at 0 */
    for (int w = 0; w < ntr; w++) {
        const plan_training *tr = &p->train[w];
        double backlog = in->backlog_dev_s[w];
        size_t el = in->eligible[w] ? in->eligible[w] : tr->pool.njobs;
        size_t bl_cap = n + (size_t)p->max_jobs / 2;
        while (backlog > 0 && n < bl_cap) {
            allot_job jb = tr->pool.jobs[tr->order[allot_rng_below(&rng, el)]];
            jb.submit = 0;
            backlog -= job_dev_s(&jb);
            if ((rc = push_job(&jobs, &cap, &n, &jb))) goto out;
        }
        out->backlog_left_dev_s[w] = backlog > 0 ? backlog : 0;
    }
    /* arrivals, each workload its own Poisson stream, merged by time */
    size_t a0 = n;
    for (int w = 0; w < ntr; w++) {
        const plan_training *tr = &p->train[w];
        double rate = in->rate_per_s[w];
        if (!(rate > 0)) continue;
        /* a workload nothing here can run still arrives (its jobs are
         * rejected and count as waiting the whole period) */
        size_t el = in->eligible[w] ? in->eligible[w] : tr->pool.njobs;
        for (double t = exp_draw(&rng, 1.0 / rate); t < (double)T1;
             t += exp_draw(&rng, 1.0 / rate)) {
            allot_job jb = tr->pool.jobs[tr->order[allot_rng_below(&rng, el)]];
            jb.submit = (int64_t)t;
            if ((rc = push_job(&jobs, &cap, &n, &jb))) goto out;
        }
    }
    qsort(jobs + a0, n - a0, sizeof *jobs, cmp_submit);
    out->jobs = (uint32_t)n;

    allot_sched_config sc = p->sched;
    sc.seed = allot_rng_next(&rng);
    if (sc.policy == ALLOT_POLICY_FGD || sc.policy == ALLOT_POLICY_FGDLA) {
        sc.typical = p->typical; /* only FGD needs them (they cost upkeep) */
        sc.ntypical = (size_t)p->ntypical;
    }
    sc.nofit = ALLOT_NOFIT_QUEUE;
    if (p->tenants_equal && p->ntrain > 0) {
        tenants = calloc((size_t)p->ntrain, sizeof *tenants);
        if (!tenants) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        double cap_k[ALLOT_MAX_CHIP_TYPES], busy_k[ALLOT_MAX_CHIP_TYPES];
        chip_use(c, zones, nz, p->nchips, busy_k, cap_k);
        for (int t = 0; t < p->ntrain; t++) {
            snprintf(tenants[t].name, sizeof tenants[t].name, "%s", p->train[t].name);
            for (int k = 0; k < p->nchips; k++)
                tenants[t].quota[k] = (int64_t)cap_k[k] / (int64_t)p->ntrain;
            tenants[t].borrow_limit = -1;
            tenants[t].weight = 1.0;
        }
        sc.tenants = tenants;
        sc.ntenants = (size_t)p->ntrain;
    }
    rc = allot_sched_new(&s, c, &sc);
    if (rc) {
        allot_diag_set(d, rc, NULL, 0, 0, "cannot create the scheduler: %s", allot_strerror(rc));
        goto out;
    }

    uint64_t seq = 0;
    uint32_t nn = allot_cluster_nnodes(c);
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *nd = allot_cluster_node(c, i);
        if (nd->ndev == 0 || nd->chip == ALLOT_NO_CHIP) continue;
        double rate = p->chips[nd->chip].fail_rate;
        if (!(rate > 0)) continue;
        double t = exp_draw(&rng, 86400.0 / (rate * nd->ndev));
        if (t < (double)T1 && (rc = wheap_push(&h, (wev){(int64_t)t, seq++, i, 0, 2}))) goto out;
    }

    waits = malloc((n ? n : 1) * sizeof *waits);
    /* per job: when its current run started (NONE while queued), the time
     * it has run, when it finished (NONE if not yet) */
    int64_t *start = malloc((n ? n : 1) * 3 * sizeof *start);
    if (!waits || !start) {
        free(start);
        rc = ALLOT_ENOMEM;
        goto out;
    }
    int64_t *ran = start + n, *done = start + 2 * n;
    for (size_t i = 0; i < n; i++) {
        start[i] = done[i] = ALLOT_TIME_NONE;
        ran[i] = 0;
    }

    double busy_now[ALLOT_MAX_CHIP_TYPES], avail_now[ALLOT_MAX_CHIP_TYPES];
    chip_use(c, zones, nz, p->nchips, busy_now, avail_now);
    int64_t last_t = 0;
    size_t next = 0; /* next arrival */
    int crossed = 0;
    allot_sched_stats st0;
    memset(&st0, 0, sizeof st0);
    for (;;) {
        /* the next event: an arrival, or the heap's top */
        int64_t ta = next < n ? jobs[next].submit : INT64_MAX;
        int64_t th = h.n ? h.v[0].t : INT64_MAX;
        int64_t t = ta < th ? ta : th;
        if (!crossed && t >= W0) { /* the window opens */
            crossed = 1;
            allot_sched_get_stats(s, &st0);
            for (size_t i = 0; i < n && jobs[i].submit < W0; i++) {
                allot_job_state js = allot_sched_job_state(s, (uint32_t)i);
                if (js == ALLOT_JOB_PENDING)
                    out->pending0_dev_s += pending_work(s, &jobs[i], (uint32_t)i);
                else if (js == ALLOT_JOB_FAILED)
                    out->pending0_dev_s += job_dev_s(&jobs[i]);
            }
        }
        int64_t tc = t < T1 ? t : T1;
        if (tc > last_t) { /* integrate over [last_t, tc) within the window */
            int64_t a = last_t > W0 ? last_t : W0;
            if (tc > a)
                for (int k = 0; k < p->nchips; k++) {
                    out->busy_dev_s[k] += busy_now[k] / ALLOT_MILLI * (double)(tc - a);
                    out->avail_dev_s[k] += avail_now[k] / ALLOT_MILLI * (double)(tc - a);
                }
            last_t = tc;
        }
        if (t >= T1) break;
        allot_event ev = {.time = t};
        int departure = 0;
        if (ta <= th) {
            ev.kind = ALLOT_EV_SUBMIT;
            ev.job = (uint32_t)next;
            ev.desc = &jobs[next];
            if (jobs[next].submit >= W0) out->offered_dev_s += job_dev_s(&jobs[next]);
            next++;
        } else {
            wev e = wheap_pop(&h);
            if (e.kind == 0) {
                if (allot_sched_job_state(s, e.id) != ALLOT_JOB_RUNNING ||
                    allot_sched_job_epoch(s, e.id) != e.epoch ||
                    allot_sched_job_end(s, e.id) != e.t)
                    continue; /* the end of a start that was preempted or stopped */
                ev.kind = ALLOT_EV_FINISH;
                ev.job = e.id;
                departure = 1;
                ran[e.id] += e.t - start[e.id];
                start[e.id] = ALLOT_TIME_NONE;
                done[e.id] = e.t;
            } else if (e.kind == 2) {
                ev.kind = ALLOT_EV_NODE_DOWN;
                ev.node = e.id;
                double rep = exp_draw(&rng, p->repair_h * 3600.0);
                if ((rc = wheap_push(&h, (wev){e.t + 1 + (int64_t)rep, seq++, e.id, 0, 1})))
                    goto out_start;
            } else {
                ev.kind = ALLOT_EV_NODE_UP;
                ev.node = e.id;
                const allot_node *nd = allot_cluster_node(c, e.id);
                double mean = 86400.0 / (p->chips[nd->chip].fail_rate * nd->ndev);
                double tf = (double)e.t + 1 + exp_draw(&rng, mean);
                if (tf < (double)T1 && (rc = wheap_push(&h, (wev){(int64_t)tf, seq++, e.id, 0, 2})))
                    goto out_start;
            }
        }
        (void)departure;
        allot_decisions_clear(&dec);
        rc = allot_sched_handle(s, &ev, &dec);
        if (rc) {
            allot_diag_set(d, rc, NULL, 0, 0, "scheduler failed in the window at t=%lld: %s",
                           (long long)t, allot_strerror(rc));
            goto out_start;
        }
        for (size_t k = 0; k < dec.n; k++) {
            const allot_decision *dc = &dec.v[k];
            if (dc->kind == ALLOT_DEC_FAIL) {
                out->rejected++;
                continue;
            }
            if (dc->kind == ALLOT_DEC_PREEMPT || dc->kind == ALLOT_DEC_STOP) {
                if (start[dc->job] != ALLOT_TIME_NONE) { /* back to the queue */
                    ran[dc->job] += t - start[dc->job];
                    start[dc->job] = ALLOT_TIME_NONE;
                }
                continue;
            }
            if (dc->kind != ALLOT_DEC_START || dc->task != 0) continue;
            if (start[dc->job] == ALLOT_TIME_NONE) start[dc->job] = t;
            int64_t end = allot_sched_job_end(s, dc->job);
            if (end != ALLOT_TIME_NONE && end < T1 &&
                (rc = wheap_push(&h,
                                 (wev){end, seq++, dc->job, allot_sched_job_epoch(s, dc->job), 0})))
                goto out_start;
        }
        chip_use(c, zones, nz, p->nchips, busy_now, avail_now);
    }
    if (!crossed) allot_sched_get_stats(s, &st0);
    {
        allot_sched_stats st1;
        allot_sched_get_stats(s, &st1);
        out->lost_dev_s = (st1.lost_device_s - st0.lost_device_s) +
                          (st1.failure_lost_device_s - st0.failure_lost_device_s);
        if (out->lost_dev_s < 0) out->lost_dev_s = 0;
    }
    /* queueing delay of the window's arrivals: all the time each spent
     * queued (before its first start and after every preemption or
     * failure) up to its end or the window's; one still queued then adds
     * the queued work submitted before it over the busy devices (the time
     * that queue takes to drain at the rate the fleet serves) */
    double busy_dev = 0;
    for (int k = 0; k < p->nchips; k++) busy_dev += busy_now[k] / ALLOT_MILLI;
    double ahead = 0; /* queued work in submission order */
    for (int w = 0; w < p->ntrain; w++) ahead += out->backlog_left_dev_s[w];
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        allot_job_state js = allot_sched_job_state(s, (uint32_t)i);
        int pend = js == ALLOT_JOB_PENDING, never = js == ALLOT_JOB_FAILED;
        int w = jobs[i].tenant < PLAN_MAX_TRAIN ? jobs[i].tenant : 0;
        double work = pend ? pending_work(s, &jobs[i], (uint32_t)i) : 0;
        if (never) { /* no device here can run it: all its work waits */
            out->pending1_dev_s[w] += job_dev_s(&jobs[i]);
            out->pending1_total += job_dev_s(&jobs[i]);
        }
        if (pend) {
            out->pending1_dev_s[w] += work;
            out->pending1_total += work;
        }
        if (jobs[i].submit >= W0) {
            if (never) {
                waits[nw++] = in->cant_run_s;
            } else {
                int64_t until = done[i] != ALLOT_TIME_NONE ? done[i] : T1;
                int64_t r_i = ran[i] + (start[i] != ALLOT_TIME_NONE ? T1 - start[i] : 0);
                double wt = (double)(until - jobs[i].submit - r_i);
                if (pend) wt += busy_dev > 0 ? ahead / busy_dev : (double)W;
                waits[nw++] = wt > 0 ? wt : 0;
            }
        }
        ahead += work;
    }
    qsort(waits, nw, sizeof *waits, cmp_double);
    out->wait_p50_s = quantile(waits, nw, 0.50);
    out->wait_p95_s = quantile(waits, nw, 0.95);
out_start:
    free(start);
out:
    free(waits);
    free(h.v);
    allot_decisions_free(&dec);
    allot_sched_free(s);
    allot_cluster_free(c);
    free(jobs);
    free(tenants);
    return rc;
}
