/* bench.c - `make bench`: prints the figures of docs/BENCHMARKS.md.
 *
 *  1. one FGD-protocol run on the openb default trace (10.8k jobs onto 1,213
 *     nodes) per policy: wall time, events/s, peak RSS
 *  2. the whole FGD experiment: 6 policies x seeds 42..51, 2 threads
 *  3. best-fit placement decisions/s on a generated 10,000-node, 80,000-device
 *     fleet in steady state (place one task, release one), indexed and, for
 *     comparison, the plain scan
 *  4. the queue at scale: 1,000,000 synthetic jobs through allot_sched_handle
 *     on the same 10,000-node fleet, on a virtual clock (jobs end at start +
 *     duration); placement decisions/s while hundreds of thousands wait, and
 *     memory per pending job. FIFO greedy (the default), EASY backfill, and
 *     LAS with preemption; each variant is capped at 30 s of wall time
 *     (ALLOT_BENCH_QUEUE_CAP_S) and reports the rate over what it did.
 *     ALLOT_BENCH_QUEUE_JOBS overrides the job count (quick checks);
 *     ALLOT_BENCH_QUEUE_ONLY=1 runs part 4 alone, ALLOT_BENCH_QUEUE_VARIANT=NAME
 *     only the variants whose name contains NAME.
 *
 * Parts 1 and 2 need the public traces (../shared/traces, or ALLOT_TRACES);
 * without them they are reported as skipped. Wall times on a shared 2-core
 * machine are noisy: each figure is the best of a few repetitions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "allot/rng.h"
#include "allot/sched.h"
#include "allot/sim.h"
#include "allot/spec.h"
#include "allot/trace.h"
#include "../src/sched/internal.h" /* sizeof(allot__job_rec) for part 4 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static const char *traces_dir(void)
{
    const char *env = getenv("ALLOT_TRACES");
    if (env && access(env, R_OK) == 0) return env;
    if (access("../shared/traces", R_OK) == 0) return "../shared/traces";
    return NULL;
}

static void bench_fgd(const char *tr)
{
    char nodes[1024], pods[1024];
    snprintf(nodes, sizeof nodes, "%s/alibaba-openb-gpu-2023/csv/openb_node_list_gpu_node.csv", tr);
    snprintf(pods, sizeof pods, "%s/alibaba-openb-gpu-2023/csv/openb_pod_list_default.csv", tr);
    allot_diag d = {0};
    allot_cluster *c = NULL;
    allot_workload w;
    allot_workload_init(&w);
    double t0 = now_s();
    if (allot_cluster_load(nodes, ALLOT_NODES_AUTO, &c, &d) ||
        allot_workload_load(pods, c, &w, &d)) {
        printf("  skipped: %s\n", d.msg);
        allot_cluster_free(c);
        allot_workload_free(&w);
        return;
    }
    double t_load = now_s() - t0;
    printf("  inputs: %u nodes, %u devices, %zu jobs; loading took %.3f s\n",
           allot_cluster_nnodes(c), allot_cluster_ndevices(c), w.njobs, t_load);
    printf("  %-14s %10s %12s %12s %14s\n", "policy", "wall (s)", "events/s", "unalloc@100",
           "decisions/s");
    for (int p = 0; p < ALLOT_POLICY__COUNT; p++) {
        double best = 1e9;
        allot_sim_result r;
        for (int rep = 0; rep < 3; rep++) {
            allot_sim_config cfg;
            allot_sim_config_init(&cfg);
            cfg.policy = (allot_policy)p;
            cfg.seed = 42;
            if (allot_sim_run(c, &w, &cfg, &r, &d) != 0) {
                printf("  %s failed: %s\n", allot_policy_name((allot_policy)p), d.msg);
                break;
            }
            if (r.wall_s < best) best = r.wall_s;
            if (rep < 2) allot_sim_result_free(&r);
        }
        printf("  %-14s %10.3f %12.0f %11.2f%% %14.0f\n", allot_policy_name((allot_policy)p), best,
               (double)r.events / best, allot_sim_unalloc_at_100(&r), (double)r.decisions / best);
        allot_sim_result_free(&r);
    }
    printf("  peak RSS so far: %.1f MiB\n", (double)peak_rss_kib() / 1024.0);

    allot_policy pols[6] = {ALLOT_POLICY_RANDOM,     ALLOT_POLICY_DOTPROD, ALLOT_POLICY_GPUCLUSTER,
                            ALLOT_POLICY_GPUPACKING, ALLOT_POLICY_BESTFIT, ALLOT_POLICY_FGD};
    allot_experiment_row rows[6];
    allot_sim_config base;
    allot_sim_config_init(&base);
    double best = 1e9;
    for (int rep = 0; rep < 2; rep++) {
        double t1 = now_s();
        if (allot_fgd_experiment(c, &w, pols, 6, 42, 10, 2, &base, rows, &d) != 0) {
            printf("  experiment failed: %s\n", d.msg);
            break;
        }
        double t = now_s() - t1;
        if (t < best) best = t;
    }
    printf("\n[2] FGD experiment, 6 policies x 10 seeds, 2 threads: %.2f s (target <= 30 s)\n",
           best);
    for (int i = 0; i < 6; i++)
        printf("  %-14s unallocated@100 %6.2f %%  alloc@130 %6.2f %%\n",
               allot_policy_name(rows[i].policy), rows[i].unalloc_at_100_mean,
               rows[i].alloc_at_130_mean);
    allot_cluster_free(c);
    allot_workload_free(&w);
}

/* ---- best-fit decisions/s ------------------------------------------------------ */

typedef struct placed {
    allot_shape sh;
    allot_decision d;
} placed;

static allot_cluster *gen_fleet(uint32_t nodes)
{
    allot_cluster *c = allot_cluster_new("bench-10k");
    for (uint32_t i = 0; i < nodes; i++) {
        char name[32], rack[32], block[32];
        snprintf(name, sizeof name, "node-%05u", i);
        snprintf(rack, sizeof rack, "rack-%u", i / 32);
        snprintf(block, sizeof block, "block-%u", i / 1024);
        int r = allot_cluster_rack(c, i < nodes / 2 ? "zone-a" : "zone-b", block, rack);
        const char *chip = i % 4 == 3 ? "A100-80G" : "H800";
        allot_cluster_add_node(c, name, chip, 8, 128000, 1024 * 1024, (uint32_t)r);
    }
    allot_cluster_finalize(c);
    return c;
}

static allot_shape rand_shape(allot_rng *r)
{
    allot_shape sh;
    memset(&sh, 0, sizeof sh);
    uint64_t t = allot_rng_below(r, 100);
    if (t < 40) {
        sh.ndev = 1;
        sh.milli = 1000;
    } else if (t < 75) {
        static const int m[] = {810, 470, 320, 650, 230, 460, 590, 160, 550, 220};
        sh.ndev = 1;
        sh.milli = m[allot_rng_below(r, 10)];
    } else if (t < 85) {
        sh.ndev = 0;
    } else if (t < 92) {
        sh.ndev = 2;
        sh.milli = 1000;
    } else if (t < 97) {
        sh.ndev = 4;
        sh.milli = 1000;
    } else {
        sh.ndev = 8;
        sh.milli = 1000;
    }
    sh.cpu = (int64_t)(1 + allot_rng_below(r, 12)) * 1000 * (sh.ndev ? sh.ndev : 1);
    sh.mem = (int64_t)(4 + allot_rng_below(r, 60)) * 1024;
    return sh;
}

static void bench_bestfit(int scan_only, uint64_t ops)
{
    allot_cluster *c = gen_fleet(10000);
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.seed = 7;
    cfg.scan_only = scan_only;
    allot_sched *s = NULL;
    if (allot_sched_new(&s, c, &cfg) != 0) {
        printf("  cannot create scheduler\n");
        allot_cluster_free(c);
        return;
    }
    size_t cap = 200000, n = 0;
    placed *run = malloc(cap * sizeof *run);
    allot_rng r;
    allot_rng_seed(&r, 99);
    /* fill to about 85 % of device capacity */
    int64_t total = allot_cluster_total_milli(c);
    while (allot_cluster_free_milli(c) > total * 15 / 100 && n < cap) {
        allot_shape sh = rand_shape(&r);
        allot_decision d;
        if (allot_sched_place(s, &sh, &d, 1) == 0) {
            run[n].sh = sh;
            run[n].d = d;
            n++;
        }
    }
    double util0 = 100.0 - 100.0 * (double)allot_cluster_free_milli(c) / (double)total;
    uint64_t placed_ok = 0, tried = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < ops; i++) {
        /* steady state: release a random running task, place a random one */
        size_t k = (size_t)allot_rng_below(&r, n);
        allot_sched_unplace(s, &run[k].sh, &run[k].d);
        allot_decision d;
        allot_shape sh = rand_shape(&r);
        run[k] = run[--n];
        tried++;
        if (allot_sched_place(s, &sh, &d, 1) == 0) {
            run[n].sh = sh;
            run[n].d = d;
            n++;
            placed_ok++;
        }
    }
    double t = now_s() - t0;
    double util1 = 100.0 - 100.0 * (double)allot_cluster_free_milli(c) / (double)total;
    printf("  %-8s %10.0f decisions/s  (%llu tries, %llu placed, %.2f s, fleet %.1f%% -> %.1f%% "
           "allocated)\n",
           scan_only ? "scan" : "indexed", (double)tried / t, (unsigned long long)tried,
           (unsigned long long)placed_ok, t, util0, util1);
    free(run);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* ---- the queue at scale ------------------------------------------------------- */

/* Current resident set in bytes (Linux /proc/self/statm), 0 if unknown. */
static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

/* Job i of the synthetic workload, drawn from r in arrival order: mostly
 * single-task 1/2/4/8-device jobs (12 cores and 64 GiB per device), some
 * fractional (250 or 500 milli) and CPU-only ones, 2 % gangs of 2-4 8-device
 * tasks; a fifth of the device jobs want the A100 nodes; log-normal durations
 * (median 30 min). Under LAS a third are preemptible with 30-min checkpoints. */
static void queue_job(allot_rng *r, allot_chip_mask a100, int preemptible, allot_job *j)
{
    memset(j, 0, sizeof *j);
    j->ntasks = 1;
    uint64_t t = allot_rng_below(r, 1000);
    allot_shape *sh = &j->shape;
    if (t < 420) {
        sh->ndev = 1;
    } else if (t < 570) {
        sh->ndev = 2;
    } else if (t < 670) {
        sh->ndev = 4;
    } else if (t < 750) {
        sh->ndev = 8;
    } else if (t < 900) {
        sh->ndev = 1;
        sh->milli = allot_rng_below(r, 2) ? 500 : 250;
    } else if (t < 980) {
        sh->ndev = 0;
    } else {
        sh->ndev = 8;
        j->ntasks = 2 + (uint32_t)allot_rng_below(r, 3);
    }
    if (sh->ndev > 0 && sh->milli == 0) sh->milli = ALLOT_MILLI;
    sh->cpu = sh->ndev > 0 && sh->milli == ALLOT_MILLI ? 12000 * (int64_t)sh->ndev : 4000;
    sh->mem = sh->ndev > 0 && sh->milli == ALLOT_MILLI ? 65536 * (int64_t)sh->ndev : 16384;
    if (sh->ndev > 0 && allot_rng_below(r, 5) == 0) sh->chips = a100;
    /* log-normal: median 1800 s, sigma 1 (Box-Muller) */
    double u1 = allot_rng_double(r), u2 = allot_rng_double(r);
    double z = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
    j->duration = (int64_t)(1800.0 * exp(z)) + 1;
    if (preemptible && allot_rng_below(r, 3) == 0) {
        j->flags = ALLOT_JOBF_PREEMPTIBLE;
        j->ckpt = 1800;
    }
}

typedef struct qev {
    int64_t t;
    uint64_t seq;
    uint32_t job, epoch;
} qev;

typedef struct qheap {
    qev *v;
    size_t n, cap;
} qheap;

static int qev_less(const qev *a, const qev *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void qheap_push(qheap *h, qev e)
{
    if (h->n >= h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4096;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        if (!h->v) abort();
    }
    size_t i = h->n++;
    for (; i > 0 && qev_less(&e, &h->v[(i - 1) / 2]); i = (i - 1) / 2) h->v[i] = h->v[(i - 1) / 2];
    h->v[i] = e;
}

static qev qheap_pop(qheap *h)
{
    qev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && qev_less(&h->v[l], &last)) m = l;
        if (l + 1 < h->n && qev_less(&h->v[l + 1], m == i ? &last : &h->v[l])) m = l + 1;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

typedef struct qvariant {
    const char *name;
    allot_backfill backfill;
    allot_queue_order order;
    int preempt;
} qvariant;

static void bench_queue(const qvariant *v, uint32_t njobs, double cap_s)
{
    allot_cluster *c = gen_fleet(10000);
    allot_chip_mask a100 = 0;
    int a = allot_cluster_find_chip(c, "A100-80G");
    if (a >= 0) a100 = (allot_chip_mask)1 << a;
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.seed = 7;
    cfg.backfill = v->backfill;
    cfg.order = v->order;
    cfg.preempt = v->preempt;
    long rss0 = rss_bytes(), rss_max = 0;
    allot_sched *s = NULL;
    if (allot_sched_new(&s, c, &cfg) != 0) {
        printf("  %-14s cannot create scheduler\n", v->name);
        allot_cluster_free(c);
        return;
    }
    /* arrivals at 10x what the fleet can serve: the queue grows to most of
     * the jobs, then drains (mean ~2.3 devices x ~49 min per job) */
    double rate = 10.0 * 80000.0 / (2.3 * 2968.0);
    allot_rng r;
    allot_rng_seed(&r, 2026);
    qheap h = {0};
    allot_decisions dec = {0};
    allot_job job;
    uint32_t arrived = 0;
    double t_next = 0;
    uint64_t events = 0, seq = 0, digest = 1469598103934665603ull, done = 0;
    size_t peak_pending = 0;
    int capped = 0, err = 0;
    double t0 = now_s();
    while (arrived < njobs || h.n > 0) {
        allot_event ev = {0};
        if (arrived < njobs && (h.n == 0 || (int64_t)t_next < h.v[0].t)) {
            queue_job(&r, a100, v->preempt, &job);
            ev.kind = ALLOT_EV_SUBMIT;
            ev.time = (int64_t)t_next;
            ev.job = arrived++;
            ev.desc = &job;
            t_next += -log(1.0 - allot_rng_double(&r)) / rate;
        } else {
            qev e = qheap_pop(&h);
            if (allot_sched_job_state(s, e.job) != ALLOT_JOB_RUNNING ||
                allot_sched_job_epoch(s, e.job) != e.epoch)
                continue; /* the end of a preempted start */
            ev.kind = ALLOT_EV_FINISH;
            ev.time = e.t;
            ev.job = e.job;
            done++;
        }
        allot_decisions_clear(&dec);
        if ((err = allot_sched_handle(s, &ev, &dec)) != 0) break;
        events++;
        for (size_t k = 0; k < dec.n; k++) {
            const allot_decision *d = &dec.v[k];
            uint64_t x[3] = {(uint64_t)d->kind << 56 | (uint64_t)d->task << 32 | d->job,
                             (uint64_t)d->node << 32 | (uint32_t)d->milli, 0};
            memcpy(&x[2], d->devs, d->ndev < 8 ? d->ndev : 8);
            for (int q = 0; q < 3; q++) digest = (digest ^ x[q]) * 1099511628211ull;
            if (d->kind != ALLOT_DEC_START || d->task != 0) continue;
            qheap_push(&h, (qev){ev.time + allot_sched_job_remaining(s, d->job), seq++, d->job,
                                 allot_sched_job_epoch(s, d->job)});
        }
        if (allot_sched_pending(s) > peak_pending) peak_pending = allot_sched_pending(s);
        if ((events & 4095) == 0) {
            long g = rss_bytes() - rss0;
            if (g > rss_max) rss_max = g;
        }
        if (now_s() - t0 > cap_s) { /* every event: one may take long */
            capped = 1;
            break;
        }
    }
    double t = now_s() - t0;
    long g = rss_bytes() - rss0;
    if (g > rss_max) rss_max = g;
    uint64_t decisions = allot_sched_decisions(s);
    printf("  %-14s %10llu %8.2f %12.0f %9llu %9zu  %016llx  %s\n", v->name,
           (unsigned long long)decisions, t, (double)decisions / t, (unsigned long long)events,
           peak_pending, (unsigned long long)digest,
           err      ? allot_strerror(err)
           : capped ? "CAPPED: rate over the part done"
                    : "all jobs done");
    if (!capped && !err && v->backfill == ALLOT_BACKFILL_GREEDY && !v->preempt)
        printf("  %-14s memory: %.0f B per pending job by RSS (%.1f MiB growth / %zu peak "
               "pending; records of ended jobs included), %zu B structural\n",
               "", peak_pending ? (double)rss_max / (double)peak_pending : 0.0,
               (double)rss_max / 1048576.0, peak_pending,
               sizeof(allot__job_rec) + sizeof(uint32_t));
    (void)done;
    free(h.v);
    allot_decisions_free(&dec);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it is made */
    printf("allot benchmarks (%s)\n", __DATE__);
    const char *tr = traces_dir();
    if (getenv("ALLOT_BENCH_QUEUE_ONLY")) goto queue; /* part 4 alone */
    printf("\n[1] FGD protocol on the openb default trace, seed 42, best of 3\n");
    if (tr)
        bench_fgd(tr);
    else
        printf("  skipped: no ../shared/traces (set ALLOT_TRACES)\n");
    printf("\n[3] best-fit placement on 10,000 nodes / 80,000 devices, steady state\n");
    bench_bestfit(0, 2000000);
    bench_bestfit(1, 20000);
queue : {
    uint32_t njobs = 1000000;
    double cap_s = 30;
    const char *e = getenv("ALLOT_BENCH_QUEUE_JOBS");
    if (e && atol(e) > 0) njobs = (uint32_t)atol(e);
    e = getenv("ALLOT_BENCH_QUEUE_CAP_S");
    if (e && atof(e) > 0) cap_s = atof(e);
    static const qvariant vs[] = {
        {"fifo greedy", ALLOT_BACKFILL_GREEDY, ALLOT_ORDER_FIFO, 0},
        {"easy backfill", ALLOT_BACKFILL_EASY, ALLOT_ORDER_FIFO, 0},
        {"las + preempt", ALLOT_BACKFILL_GREEDY, ALLOT_ORDER_LAS, 1},
    };
    printf("\n[4] the queue at scale: %u jobs onto 10,000 nodes / 80,000 devices, bestfit, "
           "virtual clock, cap %.0f s each (target >= 100,000 decisions/s, <= 256 B per "
           "pending job)\n",
           njobs, cap_s);
    printf("  %-14s %10s %8s %12s %9s %9s  %-16s  %s\n", "variant", "decisions", "wall (s)",
           "decisions/s", "events", "peak pend", "digest", "");
    e = getenv("ALLOT_BENCH_QUEUE_VARIANT"); /* e.g. "greedy": only matching variants */
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        if (!e || strstr(vs[i].name, e)) bench_queue(&vs[i], njobs, cap_s);
}
    printf("\npeak RSS: %.1f MiB\n", (double)peak_rss_kib() / 1024.0);
    return 0;
}
