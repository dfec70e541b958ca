/* sim.c - the simulator: drives the scheduler core on a virtual clock.
 *
 * FGD protocol (ALLOT_SIM_FGD), after the authors' scripts: the workload is
 * shuffled with the seed; random copies of its jobs are appended until the
 * total device request would pass inflate x capacity (a workload already
 * above that is cut to the longest prefix within it); jobs arrive one at a
 * time and never leave; a job that does not fit fails. After every arrival a
 * sample (arrived, allocated, fragmentation) is taken. The discrete series
 * value at k % is the mean allocation of the samples whose arrived request,
 * as a percentage of capacity, rounds (half to even) to k; if there are none,
 * of those within k +- 1. That is exactly how the authors' analysis scripts
 * built analysis_allo_discrete.csv.
 *
 * Replay (ALLOT_SIM_REPLAY): arrivals at submit/time_scale, departures
 * duration/time_scale after the start; jobs that do not fit wait. The event
 * queue is a binary heap ordered by (time, sequence).
 */
#include "allot/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allot/rng.h"
#include "allot/trace.h"

void allot_sim_config_init(allot_sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = ALLOT_SIM_FGD;
    cfg->policy = ALLOT_POLICY_FGD;
    cfg->order = ALLOT_ORDER_FIFO;
    cfg->seed = 42;
    cfg->inflate = 1.3;
    cfg->coverage = 0.95;
    cfg->time_scale = 1.0;
    cfg->sched_policy = -1;
    cfg->assume_ckpt_s = 1800;
    cfg->repair_mean_s = 4 * 3600.0;
}

void allot_sim_result_free(allot_sim_result *r)
{
    if (!r) return;
    free(r->samples);
    free(r->jct);
    free(r->jobv);
    free(r->tenants);
    r->samples = NULL;
    r->jct = NULL;
    r->jobv = NULL;
    r->tenants = NULL;
    r->nsamples = r->njct = r->njobv = r->ntenants = 0;
}

double allot_sim_unalloc_at_100(const allot_sim_result *r) { return 100.0 - r->alloc_pct[100]; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- sample sinks ------------------------------------------------------------ */

typedef struct acc {
    double sum_alloc[ALLOT_FGD_MAX_PCT + 1];
    double sum_frag[ALLOT_FGD_MAX_PCT + 1];
    double sum_ratio[ALLOT_FGD_MAX_PCT + 1];
    double n[ALLOT_FGD_MAX_PCT + 1];
} acc;

typedef struct run {
    const allot_sim_config *cfg;
    allot_sim_result *res;
    allot_sched *s;
    allot_cluster *c;
    acc *a;
    allot_decisions dec;
    size_t samples_cap;
    int64_t cap_milli;
    int tenants_on; /* quotas configured (tenants share the fleet equally) */
} run;

static double round2(double x) { return nearbyint(x * 100.0) / 100.0; }

static int take_sample(run *r, int64_t t, int64_t arrived)
{
    int64_t freem = allot_cluster_free_milli(r->c);
    int64_t alloc = r->cap_milli - freem;
    double frag = allot_sched_frag_milli(r->s);
    if (r->a && r->cap_milli > 0) {
        double pct = (double)arrived / (double)r->cap_milli * 100.0;
        double k = nearbyint(pct); /* round half to even, as numpy does */
        if (k >= 0 && k <= ALLOT_FGD_MAX_PCT) {
            int i = (int)k;
            r->a->sum_alloc[i] += round2((double)alloc / (double)r->cap_milli * 100.0);
            r->a->sum_frag[i] += round2(frag / (double)r->cap_milli * 100.0);
            r->a->sum_ratio[i] += freem > 0 ? round2(frag / (double)freem * 100.0) : 0.0;
            r->a->n[i] += 1;
        }
    }
    if (r->cfg->record_samples) {
        allot_sim_result *res = r->res;
        if (res->nsamples >= r->samples_cap) {
            size_t cap = r->samples_cap ? r->samples_cap * 2 : 4096;
            allot_sample *v = realloc(res->samples, cap * sizeof *v);
            if (!v) return ALLOT_ENOMEM;
            res->samples = v;
            r->samples_cap = cap;
        }
        allot_sample *sm = &res->samples[res->nsamples++];
        sm->time = t;
        sm->arrived_milli = arrived;
        sm->alloc_milli = alloc;
        sm->frag_milli = frag;
        sm->pending = (uint32_t)allot_sched_pending(r->s);
        sm->running = (uint32_t)allot_sched_running(r->s);
    }
    return 0;
}

static void finish_discrete(const acc *a, allot_sim_result *res)
{
    for (int k = 0; k <= ALLOT_FGD_MAX_PCT; k++) {
        double sa = a->sum_alloc[k], sf = a->sum_frag[k], sr = a->sum_ratio[k], n = a->n[k];
        if (n == 0) { /* the authors' fallback: the neighbouring percents */
            for (int j = k - 1; j <= k + 1; j++) {
                if (j < 0 || j > ALLOT_FGD_MAX_PCT) continue;
                sa += a->sum_alloc[j];
                sf += a->sum_frag[j];
                sr += a->sum_ratio[j];
                n += a->n[j];
            }
        }
        res->alloc_pct[k] = n > 0 ? round2(sa / n) : NAN;
        res->frag_pct[k] = n > 0 ? round2(sf / n) : NAN;
        res->frag_ratio_pct[k] = n > 0 ? round2(sr / n) : NAN;
    }
}

/* ---- FGD protocol --------------------------------------------------------------- */

static int run_fgd(run *r, const allot_workload *w, allot_diag *d)
{
    const allot_sim_config *cfg = r->cfg;
    allot_sim_result *res = r->res;
    int rc = 0;
    size_t n = w->njobs;
    size_t cap = n + 16, len = n;
    uint32_t *seq = malloc(cap * sizeof *seq);
    if (!seq) return ALLOT_ENOMEM;
    for (size_t i = 0; i < n; i++) seq[i] = (uint32_t)i;
    allot_rng rng;
    allot_rng_seed(&rng, cfg->seed ^ 0x5eed5eed5eedull);
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)allot_rng_below(&rng, i);
        uint32_t t = seq[i - 1];
        seq[i - 1] = seq[j];
        seq[j] = t;
    }
    /* inflate with sampled copies up to inflate x capacity */
    double target = cfg->inflate * (double)r->cap_milli;
    double total = 0;
    for (size_t i = 0; i < n; i++) total += (double)allot_job_milli(&w->jobs[i]);
    if (cfg->inflate > 0 && total < target && n > 0 &&
        total > 0) { /* a CPU-only list never grows */
        for (;;) {
            uint32_t k = (uint32_t)allot_rng_below(&rng, n);
            double add = (double)allot_job_milli(&w->jobs[k]);
            if (total + add > target) break;
            if (len >= cap) {
                if (cap > (size_t)ALLOT_TRACE_MAX_JOBS) {
                    rc = allot_diag_set(d, ALLOT_ELIMIT, NULL, 0, 0,
                                        "inflation would exceed %u jobs",
                                        (unsigned)ALLOT_TRACE_MAX_JOBS);
                    goto out;
                }
                cap *= 2;
                uint32_t *v = realloc(seq, cap * sizeof *v);
                if (!v) {
                    rc = ALLOT_ENOMEM;
                    goto out;
                }
                seq = v;
            }
            seq[len++] = k;
            total += add;
        }
    }
    if (cfg->inflate > 0 && total > target) {
        /* more than the target: keep the longest prefix of the shuffled order
         * that stays within it (the authors remove random pods until the
         * total fits; a prefix of a uniform shuffle is the same in law) */
        double kept = 0;
        size_t keep = 0;
        while (keep < len && kept + (double)allot_job_milli(&w->jobs[seq[keep]]) <= target)
            kept += (double)allot_job_milli(&w->jobs[seq[keep++]]);
        len = keep;
    }
    int64_t arrived = 0;
    rc = take_sample(r, 0, 0);
    if (rc) goto out;
    size_t step = len / 100 + 1;
    for (size_t i = 0; i < len; i++) {
        const allot_job *j = &w->jobs[seq[i]];
        allot_event ev = {
            .kind = ALLOT_EV_SUBMIT, .time = (int64_t)i, .job = (uint32_t)i, .desc = j};
        allot_decisions_clear(&r->dec);
        rc = allot_sched_handle(r->s, &ev, &r->dec);
        if (rc) {
            allot_diag_set(d, rc, NULL, 0, 0, "scheduler failed on job %zu: %s", i,
                           allot_strerror(rc));
            goto out;
        }
        res->jobs++;
        res->events++;
        if (r->dec.n > 0 && r->dec.v[0].kind == ALLOT_DEC_START)
            res->placed++;
        else
            res->failed++;
        arrived += allot_job_milli(j);
        rc = take_sample(r, (int64_t)i + 1, arrived);
        if (rc) goto out;
        if (cfg->progress && i % step == 0)
            cfg->progress(cfg->progress_arg, (double)i / (double)len);
    }
out:
    free(seq);
    return rc;
}

/* ---- replay ------------------------------------------------------------------------ */

typedef struct sim_ev {
    int64_t time;
    uint64_t seq;
    uint32_t job;   /* node for kinds 2 and 3 */
    uint32_t kind;  /* 0 arrival, 1 departure, 2 node repaired, 3 node failed;
                       at equal times failures first, then repairs, then
                       departures (which free capacity), then arrivals */
    uint32_t epoch; /* departures: the start they end (a preempted start's
                       departure is stale and ignored) */
} sim_ev;

typedef struct heap {
    sim_ev *v;
    size_t n, cap;
} heap;

static int ev_less(const sim_ev *a, const sim_ev *b)
{
    if (a->time != b->time) return a->time < b->time;
    if (a->kind != b->kind) return a->kind > b->kind; /* departures free capacity first */
    return a->seq < b->seq;
}

static int heap_push(heap *h, sim_ev e)
{
    if (h->n >= h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        sim_ev *v = realloc(h->v, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&e, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
    return 0;
}

static sim_ev heap_pop(heap *h)
{
    sim_ev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && ev_less(&h->v[l], &last)) m = l;
        if (l + 1 < h->n && ev_less(&h->v[l + 1], m == i ? &last : &h->v[l])) m = l + 1;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* An exponential variate with the given mean. */
static double exp_draw(allot_rng *g, double mean)
{
    double u = allot_rng_double(g);
    return -mean * log1p(-u);
}

/* Whether the workload says anything about preemption or checkpoints. */
static int workload_has_preempt_info(const allot_workload *w)
{
    for (size_t i = 0; i < w->njobs; i++)
        if ((w->jobs[i].flags & ALLOT_JOBF_PREEMPTIBLE) || w->jobs[i].ckpt) return 1;
    return 0;
}

/* Per-tenant device-time integral, updated when the tenant's use changes. */
typedef struct tenant_acc {
    double area;    /* milli-seconds */
    int64_t alloc;  /* milli held now */
    int64_t last;   /* time of the last change */
    double jct_sum; /* finished jobs' JCT */
    uint64_t finished;
    double demand; /* submitted device-seconds (milli-s) */
} tenant_acc;

static void tenant_change(tenant_acc *t, int64_t now, int64_t delta)
{
    t->area += (double)t->alloc * (double)(now - t->last);
    t->last = now;
    t->alloc += delta;
}

static int run_replay(run *r, const allot_workload *w, allot_diag *d)
{
    const allot_sim_config *cfg = r->cfg;
    allot_sim_result *res = r->res;
    heap h = {0};
    int rc = 0;
    double *waits = NULL, *jcts = NULL;
    allot_job *jobs = NULL;
    allot_sim_job *jv = NULL;
    uint8_t *running = NULL;
    int64_t *cur_start = NULL; /* start of each job's current run */
    int64_t *cur_milli = NULL; /* device milli each running job holds */
    double *ran = NULL;        /* milli x s each job ran in its ended runs */
    tenant_acc *ta = NULL;
    size_t ntenants = w->ntenants ? w->ntenants : 1;
    size_t nwaits = 0, njcts = 0;
    double racks_sum = 0, ran_sum = 0, held_sum = 0; /* milli x s, finished jobs */
    uint64_t seq = 0;
    double scale = cfg->time_scale >= 1.0 ? cfg->time_scale : 1.0;
    double ascale = cfg->arrival_scale >= 1.0 ? cfg->arrival_scale : 1.0;
    allot_rng frng;
    allot_rng_seed(&frng, cfg->seed ^ 0xfa11fa11fa11ull);
    if (!w->has_times) {
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "the workload has no arrival times; replay needs them (use the "
                              "FGD protocol, --mode fgd, for untimed pod lists)");
    }
    size_t nj = w->njobs ? w->njobs : 1;
    waits = malloc(nj * sizeof *waits);
    jcts = malloc(nj * sizeof *jcts);
    jobs = malloc(nj * sizeof *jobs);
    jv = calloc(nj, sizeof *jv);
    running = calloc(nj, 1);
    cur_start = calloc(nj, sizeof *cur_start);
    cur_milli = calloc(nj, sizeof *cur_milli);
    ran = calloc(nj, sizeof *ran);
    ta = calloc(ntenants, sizeof *ta);
    if (!waits || !jcts || !jobs || !jv || !running || !ta || !cur_start || !cur_milli || !ran) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    /* the jobs as the scheduler sees them: times divided by the scale */
    int assume = cfg->assume_ckpt_s > 0 && !workload_has_preempt_info(w);
    for (size_t i = 0; i < w->njobs; i++) {
        jobs[i] = w->jobs[i];
        jobs[i].submit = w->jobs[i].submit == ALLOT_TIME_NONE
                             ? 0
                             : (int64_t)((double)w->jobs[i].submit / scale / ascale);
        if (w->jobs[i].duration != ALLOT_TIME_NONE)
            jobs[i].duration = (int64_t)ceil((double)w->jobs[i].duration / scale);
        if (assume) {
            jobs[i].flags |= ALLOT_JOBF_PREEMPTIBLE;
            jobs[i].ckpt =
                (uint32_t)(cfg->assume_ckpt_s > UINT32_MAX ? UINT32_MAX : cfg->assume_ckpt_s);
        }
        jv[i].submit = jobs[i].submit;
        jv[i].first_start = jv[i].end = ALLOT_TIME_NONE;
        rc = heap_push(&h, (sim_ev){jobs[i].submit, seq++, (uint32_t)i, 0, 0});
        if (rc) goto out;
    }
    int64_t arrived = 0, t0 = h.n ? h.v[0].time : 0, last_t = t0;
    for (size_t t = 0; t < ntenants; t++) ta[t].last = t0;
    size_t outstanding = w->njobs; /* jobs not yet finished or rejected */
    uint32_t nn = allot_cluster_nnodes(r->c);
    if (cfg->fail_rate > 0) { /* the first failure of every node with devices */
        for (uint32_t i = 0; i < nn; i++) {
            int ndev = allot_cluster_node(r->c, i)->ndev;
            if (ndev == 0) continue;
            double mean = 86400.0 / (cfg->fail_rate * ndev);
            rc = heap_push(&h, (sim_ev){t0 + (int64_t)exp_draw(&frng, mean), seq++, i, 3, 0});
            if (rc) goto out;
        }
    }
    double alloc_area = 0;
    rc = take_sample(r, t0, 0);
    if (rc) goto out;
    size_t total_events = w->njobs * 2, step = total_events / 100 + 1;
    while (h.n > 0) {
        sim_ev e = heap_pop(&h);
        if (e.kind >= 2 && outstanding == 0) continue; /* the work is done: stop failing */
        const allot_job *j = e.kind < 2 ? &jobs[e.job] : NULL;
        if (e.kind == 1 && (allot_sched_job_state(r->s, e.job) != ALLOT_JOB_RUNNING ||
                            allot_sched_job_epoch(r->s, e.job) != e.epoch ||
                            allot_sched_job_end(r->s, e.job) != e.time))
            continue; /* the end of a start that was preempted, stopped or resized */
        int64_t alloc_now = r->cap_milli - allot_cluster_free_milli(r->c);
        alloc_area += (double)alloc_now * (double)(e.time - last_t);
        last_t = e.time;
        allot_event ev = {.time = e.time, .job = e.job};
        if (e.kind == 0) {
            ev.kind = ALLOT_EV_SUBMIT;
            ev.desc = j;
            arrived += allot_job_milli(j);
            res->jobs++;
            uint16_t t = j->tenant < ntenants ? j->tenant : 0;
            ta[t].demand += (double)allot_job_milli(j) *
                            (double)(j->duration == ALLOT_TIME_NONE ? 0 : j->duration);
        } else if (e.kind == 1) {
            ev.kind = ALLOT_EV_FINISH;
            res->finished++;
            outstanding--;
            double jct = (double)(e.time - j->submit);
            jcts[njcts++] = jct;
            jv[e.job].end = e.time;
            uint16_t t = j->tenant < ntenants ? j->tenant : 0;
            ta[t].jct_sum += jct;
            ta[t].finished++;
            double wgt = (double)allot_job_milli(j);
            if (running[e.job]) {
                running[e.job] = 0;
                tenant_change(&ta[t], e.time, -cur_milli[e.job]);
                ran[e.job] += wgt * (double)(e.time - cur_start[e.job]);
            }
            ran_sum += ran[e.job];
            held_sum += wgt * (double)(e.time - jv[e.job].first_start);
        } else if (e.kind == 3) {
            ev.kind = ALLOT_EV_NODE_DOWN;
            ev.node = e.job;
            res->node_failures++;
            rc = heap_push(&h, (sim_ev){e.time + 1 + (int64_t)exp_draw(&frng, cfg->repair_mean_s),
                                        seq++, e.job, 2, 0});
            if (rc) goto out;
        } else {
            ev.kind = ALLOT_EV_NODE_UP;
            ev.node = e.job;
            int ndev = allot_cluster_node(r->c, e.job)->ndev;
            double mean = 86400.0 / (cfg->fail_rate * ndev);
            rc = heap_push(
                &h, (sim_ev){e.time + 1 + (int64_t)exp_draw(&frng, mean), seq++, e.job, 3, 0});
            if (rc) goto out;
        }
        allot_decisions_clear(&r->dec);
        rc = allot_sched_handle(r->s, &ev, &r->dec);
        if (rc) {
            allot_diag_set(d, rc, NULL, 0, 0, "scheduler failed at t=%lld on %s %u: %s",
                           (long long)e.time, e.kind < 2 ? "job" : "node", e.job,
                           allot_strerror(rc));
            goto out;
        }
        res->events++;
        for (size_t k = 0; k < r->dec.n; k++) {
            const allot_decision *dc = &r->dec.v[k];
            const allot_job *sj = &jobs[dc->job];
            uint16_t t = sj->tenant < ntenants ? sj->tenant : 0;
            if (dc->kind == ALLOT_DEC_FAIL) {
                res->failed++;
                outstanding--;
                jv[dc->job].failed = 1;
                continue;
            }
            if (dc->kind == ALLOT_DEC_GROW || dc->kind == ALLOT_DEC_SHRINK) { /* elastic */
                int64_t dm = (int64_t)dc->ndev * dc->milli;
                if (dc->kind == ALLOT_DEC_SHRINK) dm = -dm;
                cur_milli[dc->job] += dm;
                tenant_change(&ta[t], e.time, dm);
                int64_t end = allot_sched_job_end(r->s, dc->job);
                if (end != ALLOT_TIME_NONE) {
                    rc = heap_push(
                        &h, (sim_ev){end, seq++, dc->job, 1, allot_sched_job_epoch(r->s, dc->job)});
                    if (rc) goto out;
                }
                continue;
            }
            if (dc->kind == ALLOT_DEC_PREEMPT || dc->kind == ALLOT_DEC_STOP) {
                if (running[dc->job]) {
                    running[dc->job] = 0;
                    tenant_change(&ta[t], e.time, -cur_milli[dc->job]);
                    ran[dc->job] +=
                        (double)allot_job_milli(sj) * (double)(e.time - cur_start[dc->job]);
                }
                continue;
            }
            if (dc->kind != ALLOT_DEC_START || dc->task != 0) continue;
            uint32_t epoch = allot_sched_job_epoch(r->s, dc->job);
            running[dc->job] = 1;
            cur_start[dc->job] = e.time;
            cur_milli[dc->job] = allot_job_milli(sj);
            tenant_change(&ta[t], e.time, allot_job_milli(sj));
            jv[dc->job].starts = epoch;
            if (epoch == 1) { /* first start: placement, wait, gang span */
                res->placed++;
                waits[nwaits++] = (double)(e.time - sj->submit);
                jv[dc->job].first_start = e.time;
                int level = 0, racks = 1;
                if (allot_sched_job_span(r->s, dc->job, &level, &racks) == 0 && level >= 0 &&
                    level <= 4) {
                    jv[dc->job].span_level = (uint8_t)level;
                    jv[dc->job].span_racks = (uint16_t)racks;
                    if (sj->ntasks > 1) {
                        res->gangs++;
                        res->gang_span[level]++;
                        racks_sum += racks;
                    }
                }
            }
            int64_t end = allot_sched_job_end(r->s, dc->job);
            if (end != ALLOT_TIME_NONE) {
                rc = heap_push(&h, (sim_ev){end, seq++, dc->job, 1, epoch});
                if (rc) goto out;
            }
        }
        rc = take_sample(r, e.time, arrived);
        if (rc) goto out;
        if (cfg->progress && res->events % step == 0)
            cfg->progress(cfg->progress_arg, (double)res->events / (double)total_events);
    }
    {
        allot_sched_stats st;
        allot_sched_get_stats(r->s, &st);
        res->preemptions = st.preemptions;
        res->lost_device_h = st.lost_device_s / 3600.0;
        res->failure_stops = st.failure_stops;
        res->failure_lost_device_h = st.failure_lost_device_s / 3600.0;
        res->grows = st.grows;
        res->shrinks = st.shrinks;
    }
    res->makespan_s = last_t - t0;
    res->alloc_time_avg_pct =
        res->makespan_s > 0 && r->cap_milli > 0
            ? alloc_area / ((double)res->makespan_s * (double)r->cap_milli) * 100.0
            : 0.0;
    { /* ETTR: device-time running, less the work lost, over device-time held */
        double lost = (res->lost_device_h + res->failure_lost_device_h) * 3600.0 * 1000.0;
        res->ettr = held_sum > 0 ? (ran_sum - lost) / held_sum : 1.0;
        if (res->ettr < 0) res->ettr = 0;
    }
    if (nwaits) {
        double sum = 0;
        for (size_t i = 0; i < nwaits; i++) sum += waits[i];
        res->wait_mean_s = sum / (double)nwaits;
        qsort(waits, nwaits, sizeof *waits, cmp_double);
        size_t idx = (size_t)ceil(0.99 * (double)nwaits);
        res->wait_p99_s = waits[idx ? idx - 1 : 0];
    }
    if (njcts) {
        double sum = 0;
        for (size_t i = 0; i < njcts; i++) sum += jcts[i];
        res->jct_mean_s = sum / (double)njcts;
        qsort(jcts, njcts, sizeof *jcts, cmp_double);
        size_t i50 = (size_t)ceil(0.50 * (double)njcts), i99 = (size_t)ceil(0.99 * (double)njcts);
        res->jct_p50_s = jcts[i50 ? i50 - 1 : 0];
        res->jct_p99_s = jcts[i99 ? i99 - 1 : 0];
    }
    if (res->gangs) res->gang_racks_mean = racks_sum / (double)res->gangs;
    { /* tenants: time-averaged share of the fleet against entitlement */
        double span = (double)res->makespan_s, capm = (double)r->cap_milli, dem = 0;
        for (size_t t = 0; t < ntenants; t++) {
            tenant_change(&ta[t], last_t, 0);
            dem += ta[t].demand;
        }
        res->tenants = calloc(ntenants, sizeof *res->tenants);
        if (!res->tenants) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        res->ntenants = ntenants;
        for (size_t t = 0; t < ntenants; t++) {
            allot_sim_tenant *o = &res->tenants[t];
            o->share = span > 0 && capm > 0 ? ta[t].area / (span * capm) : 0;
            o->entitlement =
                r->tenants_on ? 1.0 / (double)ntenants : (dem > 0 ? ta[t].demand / dem : 0);
            o->jct_mean_s = ta[t].finished ? ta[t].jct_sum / (double)ta[t].finished : 0;
        }
        for (size_t i = 0; i < w->njobs; i++)
            res->tenants[jobs[i].tenant < ntenants ? jobs[i].tenant : 0].jobs++;
    }
    res->jct = jcts;
    res->njct = njcts;
    jcts = NULL;
    res->jobv = jv;
    res->njobv = w->njobs;
    jv = NULL;
out:
    free(h.v);
    free(waits);
    free(jcts);
    free(jobs);
    free(jv);
    free(running);
    free(cur_start);
    free(cur_milli);
    free(ran);
    free(ta);
    return rc;
}

/* ---- entry ---------------------------------------------------------------------------- */

int allot_sim_run(const allot_cluster *c0, const allot_workload *w, const allot_sim_config *cfg,
                  allot_sim_result *res, allot_diag *d)
{
    if (!c0 || !w || !cfg || !res) return ALLOT_EINVAL;
    memset(res, 0, sizeof *res);
    res->mode = cfg->mode;
    res->policy = cfg->policy;
    res->seed = cfg->seed;
    for (int k = 0; k <= ALLOT_FGD_MAX_PCT; k++)
        res->alloc_pct[k] = res->frag_pct[k] = res->frag_ratio_pct[k] = NAN;
    double t_start = now_s();
    int rc = 0;
    allot_typical *typ = NULL;
    allot_tenant *tenants = NULL;
    double *speed = NULL;
    acc *a = NULL;
    run r = {0};
    r.cfg = cfg;
    r.res = res;
    r.c = allot_cluster_clone(c0);
    if (!r.c) return ALLOT_ENOMEM;
    r.cap_milli = allot_cluster_total_milli(r.c);
    res->capacity_milli = r.cap_milli;
    double cov = cfg->coverage > 0 && cfg->coverage <= 1 ? cfg->coverage : 0.95;
    int ntyp = allot_typical_from_workload(w, cov, 1, &typ);
    if (ntyp < 0) {
        rc = ntyp;
        goto out;
    }
    allot_sched_config sc;
    allot_sched_config_init(&sc);
    sc.policy = cfg->policy;
    sc.order = cfg->order;
    sc.tiebreak = cfg->tiebreak;
    sc.backfill = cfg->mode == ALLOT_SIM_REPLAY ? cfg->backfill : ALLOT_BACKFILL_GREEDY;
    sc.preempt = cfg->mode == ALLOT_SIM_REPLAY ? cfg->preempt : 0;
    int tenants_equal = cfg->tenants_equal;
    if (cfg->mode == ALLOT_SIM_REPLAY && cfg->sched_policy >= 0) {
        if (allot_sched_policy_apply((allot_sched_policy)cfg->sched_policy, &sc)) {
            rc = allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "unknown scheduling policy %d",
                                cfg->sched_policy);
            goto out;
        }
        tenants_equal = allot_sched_policy_wants_tenants((allot_sched_policy)cfg->sched_policy);
    }
    if (cfg->mode == ALLOT_SIM_REPLAY && cfg->fail_rate < 0) {
        rc = allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "the failure rate must be >= 0");
        goto out;
    }
    sc.nofit = cfg->mode == ALLOT_SIM_FGD ? ALLOT_NOFIT_FAIL : ALLOT_NOFIT_QUEUE;
    sc.seed = cfg->seed;
    sc.check_invariants = cfg->check_invariants;
    sc.typical = typ;
    sc.ntypical = (size_t)ntyp;
    if (ntyp == 0 && (cfg->policy == ALLOT_POLICY_FGD || cfg->policy == ALLOT_POLICY_FGDLA)) {
        rc = allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                            "the workload is empty: FGD needs a target workload");
        goto out;
    }
    if (cfg->mode == ALLOT_SIM_REPLAY && tenants_equal && w->ntenants > 0) {
        r.tenants_on = 1;
        tenants = calloc(w->ntenants, sizeof *tenants);
        if (!tenants) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        int64_t cap[ALLOT_MAX_CHIP_TYPES] = {0};
        for (uint32_t d0 = 0; d0 < allot_cluster_ndomains(r.c); d0++) {
            if (allot_cluster_domain(r.c, d0)->level != ALLOT_LEVEL_ZONE) continue;
            for (uint32_t k = 0; k < allot_cluster_nchips(r.c) && k < ALLOT_MAX_CHIP_TYPES; k++)
                cap[k] += (int64_t)allot_cluster_agg(r.c, d0, k)->devices * ALLOT_MILLI;
        }
        for (size_t t = 0; t < w->ntenants; t++) {
            snprintf(tenants[t].name, sizeof tenants[t].name, "%s",
                     allot_workload_tenant_name(w, (uint16_t)t));
            for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++)
                tenants[t].quota[k] = cap[k] / (int64_t)w->ntenants;
            tenants[t].borrow_limit = -1;
            tenants[t].weight = 1.0;
        }
        sc.tenants = tenants;
        sc.ntenants = w->ntenants;
    }
    if (cfg->mode == ALLOT_SIM_REPLAY && cfg->speeds) {
        size_t rows = 1 + w->nspeed_rows;
        speed = calloc(rows * ALLOT_MAX_CHIP_TYPES, sizeof *speed);
        if (!speed) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        allot_sched_speed_default(r.c, speed);
        for (size_t q = 1; q < rows; q++)
            for (size_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++) {
                double v = w->speed_rows[(q - 1) * ALLOT_MAX_CHIP_TYPES + k];
                speed[q * ALLOT_MAX_CHIP_TYPES + k] = v > 0 ? v : speed[k];
            }
        sc.speed = speed;
        sc.nspeed_classes = rows;
        sc.speed_pick = cfg->speed_pick;
    }
    rc = allot_sched_new(&r.s, r.c, &sc);
    if (rc) {
        allot_diag_set(d, rc, NULL, 0, 0, "cannot create the scheduler: %s", allot_strerror(rc));
        goto out;
    }
    if (cfg->mode == ALLOT_SIM_FGD) {
        a = calloc(1, sizeof *a);
        if (!a) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        r.a = a;
        rc = run_fgd(&r, w, d);
        if (rc == 0) finish_discrete(a, res);
    } else {
        rc = run_replay(&r, w, d);
    }
    res->decisions = allot_sched_decisions(r.s);
    if (cfg->progress && rc == 0) cfg->progress(cfg->progress_arg, 1.0);
out:
    res->wall_s = now_s() - t_start;
    allot_decisions_free(&r.dec);
    allot_sched_free(r.s);
    allot_cluster_free(r.c);
    free(typ);
    free(tenants);
    free(speed);
    free(a);
    if (rc) allot_sim_result_free(res);
    return rc;
}
