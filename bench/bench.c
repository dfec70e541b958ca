/* bench.c - `make bench`: prints the figures of docs/BENCHMARKS.md.
 *
 *  1. one FGD-protocol run on the openb default trace (10.8k jobs onto 1,213
 *     nodes) per policy: wall time, events/s, peak RSS
 *  2. the whole FGD experiment: 6 policies x seeds 42..51, 2 threads
 *  3. best-fit placement decisions/s on a generated 10,000-node, 80,000-device
 *     fleet in steady state (place one task, release one), indexed and, for
 *     comparison, the plain scan
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

int main(void)
{
    printf("allot benchmarks (%s)\n", __DATE__);
    const char *tr = traces_dir();
    printf("\n[1] FGD protocol on the openb default trace, seed 42, best of 3\n");
    if (tr)
        bench_fgd(tr);
    else
        printf("  skipped: no ../shared/traces (set ALLOT_TRACES)\n");
    printf("\n[3] best-fit placement on 10,000 nodes / 80,000 devices, steady state\n");
    bench_bestfit(0, 2000000);
    bench_bestfit(1, 20000);
    printf("\npeak RSS: %.1f MiB\n", (double)peak_rss_kib() / 1024.0);
    return 0;
}
