/* tests/test_sched.c - the scheduler core: placement policies pinned on small
 * clusters (expected node and device worked out by hand from the semantics
 * documented in src/sched/place.c and src/sched/fgd.c), the FGD building
 * blocks, events and decisions, all-or-nothing multi-task jobs, and a long
 * randomised property test with the invariant checker on. */
#include "testutil.h"

#include <math.h>

#include "allot/cluster.h"
#include "allot/job.h"
#include "allot/rng.h"
#include "allot/sched.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- helpers -------------------------------------------------------------- */

typedef struct nspec {
    const char *name, *chip;
    int ndev;
    int64_t cpu, mem;
} nspec;

/* One rack; node i of v gets id i. Memory defaults to 1 TiB. */
static allot_cluster *mkc(const nspec *v, int n)
{
    allot_cluster *c = allot_cluster_new("t");
    assert_non_null(c);
    int r = allot_cluster_rack(c, NULL, NULL, NULL);
    assert_true(r >= 0);
    for (int i = 0; i < n; i++) {
        int id = allot_cluster_add_node(c, v[i].name, v[i].chip, v[i].ndev, v[i].cpu,
                                        v[i].mem ? v[i].mem : (int64_t)1 << 20, (uint32_t)r);
        assert_int_equal(id, i);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

/* Uses `milli` of device `d` on node `node` before a scheduler exists. */
static void pre(allot_cluster *c, uint32_t node, int d, int32_t milli)
{
    uint8_t dv = (uint8_t)d;
    assert_int_equal(allot_cluster_take(c, node, &dv, 1, milli, 0, 0), 0);
}

static void pre_cpu(allot_cluster *c, uint32_t node, int64_t cpu)
{
    assert_int_equal(allot_cluster_take(c, node, NULL, 0, 0, cpu, 0), 0);
}

static allot_shape shpc(int64_t cpu, int32_t milli, int32_t ndev, allot_chip_mask chips)
{
    allot_shape s;
    memset(&s, 0, sizeof s);
    s.cpu = cpu;
    s.milli = milli;
    s.ndev = ndev;
    s.chips = chips;
    return s;
}

static allot_shape shp(int64_t cpu, int32_t milli, int32_t ndev)
{
    return shpc(cpu, milli, ndev, 0);
}

static allot_typical typ(int64_t cpu, int32_t milli, int32_t ndev, allot_chip_mask chips, double w)
{
    allot_typical t;
    memset(&t, 0, sizeof t);
    t.shape = shpc(cpu, milli, ndev, chips);
    t.weight = w;
    return t;
}

static allot_job mkjob(int64_t cpu, int32_t milli, int32_t ndev, uint32_t ntasks)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.shape = shp(cpu, milli, ndev);
    j.ntasks = ntasks;
    j.submit = ALLOT_TIME_NONE;
    j.duration = ALLOT_TIME_NONE;
    return j;
}

/* The FGD worked example's target workload (src/sched/fgd.c): 50 % tasks of
 * one whole GPU and 4 cores, 50 % of half a GPU and 2 cores. */
static const allot_typical *fgd_example(size_t *n)
{
    static allot_typical t[2];
    t[0] = typ(4000, 1000, 1, 0, 0.5);
    t[1] = typ(2000, 500, 1, 0, 0.5);
    *n = 2;
    return t;
}

static allot_sched *mks_full(allot_cluster *c, allot_policy p, uint64_t seed, allot_tiebreak tb,
                             const allot_typical *t, size_t nt, allot_queue_order order,
                             allot_nofit nofit, int check)
{
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = p;
    cfg.seed = seed;
    cfg.tiebreak = tb;
    cfg.typical = t;
    cfg.ntypical = nt;
    cfg.order = order;
    cfg.nofit = nofit;
    cfg.check_invariants = check;
    allot_sched *s = NULL;
    int rc = allot_sched_new(&s, c, &cfg);
    if (rc != 0) fail_msg("allot_sched_new(%s): %d", allot_policy_name(p), rc);
    assert_non_null(s);
    return s;
}

/* For pinning: rank tie-break, no invariant checking (clusters may carry
 * allocations made before the scheduler existed). */
static allot_sched *mks(allot_cluster *c, allot_policy p, uint64_t seed, const allot_typical *t,
                        size_t nt)
{
    return mks_full(c, p, seed, ALLOT_TIE_RANK, t, nt, ALLOT_ORDER_FIFO, ALLOT_NOFIT_QUEUE, 0);
}

/* Pure placement (commit = 0); must succeed. */
static allot_decision placed(allot_sched *s, allot_shape sh)
{
    allot_decision d;
    memset(&d, 0xAB, sizeof d);
    int rc = allot_sched_place(s, &sh, &d, 0);
    if (rc != 0) fail_msg("allot_sched_place: %d", rc);
    assert_int_equal(d.kind, ALLOT_DEC_START);
    assert_int_equal(d.ndev, sh.ndev);
    assert_int_equal(d.milli, sh.milli);
    return d;
}

/* Places the shape on a fresh scheduler for each of seeds 1..nseeds and
 * asserts that the node (and first device, if any) is always the same. */
static void pin(allot_cluster *c, allot_policy p, const allot_typical *t, size_t nt, allot_shape sh,
                uint32_t want_node, int want_dev)
{
    for (uint64_t seed = 1; seed <= 12; seed++) {
        allot_sched *s = mks(c, p, seed, t, nt);
        allot_decision d = placed(s, sh);
        if (d.node != want_node)
            fail_msg("%s seed %llu: node %u, want %u", allot_policy_name(p),
                     (unsigned long long)seed, d.node, want_node);
        if (want_dev >= 0 && d.devs[0] != want_dev)
            fail_msg("%s seed %llu: device %u, want %d", allot_policy_name(p),
                     (unsigned long long)seed, d.devs[0], want_dev);
        allot_sched_free(s);
    }
}

static int submit(allot_sched *s, uint32_t id, const allot_job *j, allot_decisions *out)
{
    allot_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ALLOT_EV_SUBMIT;
    ev.job = id;
    ev.desc = j;
    allot_decisions_clear(out);
    return allot_sched_handle(s, &ev, out);
}

static int event(allot_sched *s, allot_event_kind k, uint32_t job, uint32_t node,
                 allot_decisions *out)
{
    allot_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = k;
    ev.job = job;
    ev.node = node;
    allot_decisions_clear(out);
    return allot_sched_handle(s, &ev, out);
}

static void assert_dec(const allot_decision *d, int kind, uint32_t job, uint32_t node)
{
    assert_int_equal(d->kind, kind);
    assert_int_equal(d->job, job);
    if (node != UINT32_MAX - 1) assert_int_equal(d->node, node);
}

#define ANY_NODE (UINT32_MAX - 1)

/* Capacity state of every node and device, without the version counters
 * (a rolled-back take bumps them and that is allowed). */
typedef struct cap_snap {
    uint32_t nn, nd;
    int64_t cpu[32], mem[32];
    int32_t milli[32], whole[32];
    uint32_t ntasks[32];
    int16_t dev[256];
    int64_t freem;
} cap_snap;

static cap_snap cap_take(const allot_cluster *c)
{
    cap_snap s;
    memset(&s, 0, sizeof s);
    s.nn = allot_cluster_nnodes(c);
    s.nd = allot_cluster_ndevices(c);
    assert_true(s.nn <= 32 && s.nd <= 256);
    for (uint32_t i = 0; i < s.nn; i++) {
        const allot_node *n = allot_cluster_node(c, i);
        s.cpu[i] = n->cpu_free;
        s.mem[i] = n->mem_free;
        s.milli[i] = n->milli_free;
        s.whole[i] = n->whole_free;
        s.ntasks[i] = n->ntasks;
    }
    memcpy(s.dev, allot_cluster_dev_free(c), s.nd * sizeof s.dev[0]);
    s.freem = allot_cluster_free_milli(c);
    return s;
}

static void cap_same(const cap_snap *a, const cap_snap *b) { assert_memory_equal(a, b, sizeof *a); }

/* ---- policy names ------------------------------------------------------------- */

static void test_policy_names(void **state)
{
    (void)state;
    static const char *names[] = {"random",  "dotprod", "gpuclustering", "gpupacking",
                                  "bestfit", "fgd",     "fgd-la"};
    for (int p = 0; p < ALLOT_POLICY__COUNT; p++) {
        assert_string_equal(allot_policy_name((allot_policy)p), names[p]);
        assert_int_equal(allot_policy_parse(names[p]), p);
    }
    assert_int_equal(allot_policy_parse("DotProd"), ALLOT_POLICY_DOTPROD);
    assert_int_equal(allot_policy_parse("GpuPacking"), ALLOT_POLICY_GPUPACKING);
    assert_int_equal(allot_policy_parse("GpuClustering"), ALLOT_POLICY_GPUCLUSTER);
    assert_int_equal(allot_policy_parse("BestFit"), ALLOT_POLICY_BESTFIT);
    assert_int_equal(allot_policy_parse("FGD"), ALLOT_POLICY_FGD);
    assert_int_equal(allot_policy_parse("Random"), ALLOT_POLICY_RANDOM);
    assert_int_equal(allot_policy_parse("best-fit"), ALLOT_POLICY_BESTFIT);
    assert_int_equal(allot_policy_parse("worstfit"), ALLOT_EINVAL);
    assert_int_equal(allot_policy_parse(NULL), ALLOT_EINVAL);
    assert_string_equal(allot_policy_name(ALLOT_POLICY__COUNT), "unknown");

    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    assert_int_equal(cfg.policy, ALLOT_POLICY_BESTFIT);
    assert_int_equal(cfg.order, ALLOT_ORDER_FIFO);
    assert_int_equal(cfg.nofit, ALLOT_NOFIT_QUEUE);
    assert_int_equal(cfg.tiebreak, ALLOT_TIE_RANK);
    assert_int_equal(cfg.seed, 1);

    /* creation errors: FGD without a target workload, bad policy, NULLs */
    nspec ns[] = {{"n0", "A10", 1, 8000, 0}};
    allot_cluster *c = mkc(ns, 1);
    allot_sched *s = (allot_sched *)1;
    cfg.policy = ALLOT_POLICY_FGD;
    assert_int_equal(allot_sched_new(&s, c, &cfg), ALLOT_EINVAL);
    assert_null(s);
    cfg.policy = ALLOT_POLICY_FGDLA;
    assert_int_equal(allot_sched_new(&s, c, &cfg), ALLOT_EINVAL);
    cfg.policy = ALLOT_POLICY__COUNT;
    assert_int_equal(allot_sched_new(&s, c, &cfg), ALLOT_EINVAL);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    assert_int_equal(allot_sched_new(NULL, c, &cfg), ALLOT_EINVAL);
    assert_int_equal(allot_sched_new(&s, NULL, &cfg), ALLOT_EINVAL);
    assert_int_equal(allot_sched_new(&s, c, NULL), ALLOT_EINVAL);
    allot_sched_free(NULL);
    allot_cluster_free(c);
}

/* ---- (1) policies pinned by hand ------------------------------------------------- */

static void test_bestfit_worked_example(void **state)
{
    (void)state;
    /* place.c: a task of 1 GPU and 8 cores. A has 3 GPUs and 20 cores free,
     * B 1 GPU and 10 cores. Left after placing:
     *   A: 0.5*(12000/128000) + 0.5*(2000/8000) = 0.171875 -> int(82.8125) = 82
     *   B: 0.5*(2000/128000)  + 0.5*(0/8000)    = 0.0078125 -> int(99.21875) = 99
     * B wins, on its only device. */
    nspec ab[] = {{"A", "A10", 3, 20000, 0}, {"B", "A10", 1, 10000, 0}};
    allot_cluster *c = mkc(ab, 2);
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(8000, 1000, 1), 1, 0);
    allot_cluster_free(c);
    /* the same with the nodes the other way round */
    nspec ba[] = {{"B", "A10", 1, 10000, 0}, {"A", "A10", 3, 20000, 0}};
    c = mkc(ba, 2);
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(8000, 1000, 1), 0, 0);
    allot_cluster_free(c);

    /* Partly used devices count: P {1000, 1000} and Q {1000, 400}, 16 cores
     * each; a task of 300 milli and 1 core:
     *   P: 0.5*15000/128000 + 0.5*1700/8000 = 0.16484375 -> int(83.5156) = 83
     *   Q: 0.5*15000/128000 + 0.5*1100/8000 = 0.12734375 -> int(87.2656) = 87
     * Q wins; its device is the one with the least free milli that still fits
     * (device 1, 400 free). */
    nspec pq[] = {{"P", "A10", 2, 16000, 0}, {"Q", "A10", 2, 16000, 0}};
    c = mkc(pq, 2);
    pre(c, 1, 1, 600);
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(1000, 300, 1), 1, 1);
    allot_cluster_free(c);

    /* nodes over 128 cores give negative scores; the best still wins.
     * Task 1 core, 1 GPU; both nodes have 8 GPUs:
     *   A (256 cores): 0.5*255000/128000 + 0.5*7000/8000 = 1.43359375 -> int(-43.36) = -43
     *   B (200 cores): 0.5*199000/128000 + 0.5*7000/8000 = 1.21484375 -> int(-21.48) = -21
     * B wins. */
    nspec big[] = {{"A", "A10", 8, 256000, 0}, {"B", "A10", 8, 200000, 0}};
    c = mkc(big, 2);
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(1000, 1000, 1), 1, 0);
    allot_cluster_free(c);

    /* device choice alone: free {1000, 300, 600, 250}, task 280 -> device 1
     * (300 is the least free that fits; 250 does not fit) */
    nspec one[] = {{"X", "A10", 4, 16000, 0}};
    c = mkc(one, 1);
    pre(c, 0, 1, 700);
    pre(c, 0, 2, 400);
    pre(c, 0, 3, 750);
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(1000, 280, 1), 0, 1);
    /* a whole-device task takes the lowest-indexed whole device: 0 */
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(1000, 1000, 1), 0, 0);
    allot_cluster_free(c);
}

static void test_dotprod(void **state)
{
    (void)state;
    /* score = int(100 * (1 - (nc*pc + ng*pg) / 2)) with n = node free and
     * p = request, CPU over 128 cores and GPU over 8 GPUs. Task: 8 cores,
     * 1 GPU: pc = 0.0625, pg = 0.125.
     *   A (64 cores, 4 GPUs): nc .5,  ng .5   -> dot .046875  -> int(95.3125)  = 95
     *   B (32 cores, 8 GPUs): nc .25, ng 1    -> dot .0703125 -> int(92.96875) = 92
     *   C (128 cores, 1 GPU): nc 1,   ng .125 -> dot .0390625 -> int(96.09375) = 96
     * C wins; without C, A wins. */
    nspec abc[] = {
        {"A", "A10", 4, 64000, 0}, {"B", "A10", 8, 32000, 0}, {"C", "A10", 1, 128000, 0}};
    allot_cluster *c = mkc(abc, 3);
    pin(c, ALLOT_POLICY_DOTPROD, NULL, 0, shp(8000, 1000, 1), 2, 0);
    allot_cluster_free(c);
    c = mkc(abc, 2);
    pin(c, ALLOT_POLICY_DOTPROD, NULL, 0, shp(8000, 1000, 1), 0, 0);
    allot_cluster_free(c);

    /* the CPU and GPU terms weigh the same: task 16 cores, 1 GPU (pc = pg =
     * .125).
     *   X (32 cores, 4 GPUs): (.25*.125 + .5*.125)/2 = .046875  -> int(95.3125)  = 95
     *   Y (96 cores, 1 GPU):  (.75*.125 + .125*.125)/2 = .0546875 -> int(94.53125) = 94
     * X wins (a GPU-heavy weighting would pick Y). */
    nspec xy[] = {{"Y", "A10", 1, 96000, 0}, {"X", "A10", 4, 32000, 0}};
    c = mkc(xy, 2);
    pin(c, ALLOT_POLICY_DOTPROD, NULL, 0, shp(16000, 1000, 1), 1, 0);
    allot_cluster_free(c);
    /* and equal sums tie: A (64 cores, 2 GPUs) and B (32 cores, 4 GPUs) both
     * give (.5*.125 + .25*.125)/2 = .046875 -> 95: over seeds both win */
    nspec ab[] = {{"A", "A10", 2, 64000, 0}, {"B", "A10", 4, 32000, 0}};
    c = mkc(ab, 2);
    int seen[2] = {0, 0};
    for (uint64_t seed = 1; seed <= 40; seed++) {
        allot_sched *s = mks(c, ALLOT_POLICY_DOTPROD, seed, NULL, 0);
        seen[placed(s, shp(16000, 1000, 1)).node]++;
        allot_sched_free(s);
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    allot_cluster_free(c);
}

static void test_gpupacking(void **state)
{
    (void)state;
    /* getPackingScore (the FGD simulator):
     *  case 1, shared devices only: 100 - (sum of free% of the used devices)/10,
     *          at least 50;
     *  case 2, whole free devices on a used node: 50 - devices taken, >= 33;
     *  case 3, an idle node: max(33 - free devices, free devices).
     * Fractional task of 200 milli:
     *   P free {200, 1000, 1000, 500}: least-free first, 200 fits: case 1,
     *     100 - 20/10 = 98
     *   Q idle with 4 devices: case 3, 33 - 4 = 29
     *   R free {1000, 100}: 100 is too small, 1000 is whole: case 2, 50 - 1 = 49
     * P wins, on device 0 (200 free). */
    nspec pqr[] = {{"P", "A10", 4, 32000, 0}, {"Q", "A10", 4, 32000, 0}, {"R", "A10", 2, 32000, 0}};
    allot_cluster *c = mkc(pqr, 3);
    pre(c, 0, 0, 800);
    pre(c, 0, 3, 500);
    pre(c, 2, 1, 900);
    pin(c, ALLOT_POLICY_GPUPACKING, NULL, 0, shp(100, 200, 1), 0, 0);
    /* a task of 2 whole devices:
     *   P: devices 1 and 2 are whole: case 2, 50 - 2 = 48
     *   Q: case 3, 29;  R: only one whole device, infeasible.
     * P wins, on devices 1 and 2. */
    allot_sched *s = mks(c, ALLOT_POLICY_GPUPACKING, 1, NULL, 0);
    allot_decision d = placed(s, shp(100, 1000, 2));
    assert_int_equal(d.node, 0);
    assert_int_equal(d.devs[0], 1);
    assert_int_equal(d.devs[1], 2);
    allot_sched_free(s);
    allot_cluster_free(c);

    /* without P: R (case 2, 49) beats the idle Q (case 3, 29) */
    nspec qr[] = {{"Q", "A10", 4, 32000, 0}, {"R", "A10", 2, 32000, 0}};
    c = mkc(qr, 2);
    pre(c, 1, 1, 900);
    pin(c, ALLOT_POLICY_GPUPACKING, NULL, 0, shp(100, 200, 1), 1, 0);
    allot_cluster_free(c);

    /* case 1 between shared devices: task 250,
     *   S free {1000, 600}: 600 fits first: 100 - 60/10 = 94
     *   T free {1000, 300}: 300 fits first: 100 - 30/10 = 97  -> T, device 1 */
    nspec st[] = {{"S", "A10", 2, 32000, 0}, {"T", "A10", 2, 32000, 0}};
    c = mkc(st, 2);
    pre(c, 0, 1, 400);
    pre(c, 1, 1, 700);
    pin(c, ALLOT_POLICY_GPUPACKING, NULL, 0, shp(100, 250, 1), 1, 1);
    allot_cluster_free(c);

    /* case 1 is quantised: free 650 -> 65 % -> 100 - 65/10 = 94, free 600
     * -> 60 % -> 94 too: a tie, so over seeds both nodes win */
    c = mkc(st, 2);
    pre(c, 0, 1, 350);
    pre(c, 1, 1, 400);
    int seen[2] = {0, 0};
    for (uint64_t seed = 1; seed <= 40; seed++) {
        allot_sched *s2 = mks(c, ALLOT_POLICY_GPUPACKING, seed, NULL, 0);
        allot_decision d2 = placed(s2, shp(100, 250, 1));
        assert_int_equal(d2.devs[0], 1);
        seen[d2.node]++;
        allot_sched_free(s2);
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    allot_cluster_free(c);

    /* case 3 between idle nodes: 2 devices 33 - 2 = 31, 4 devices 29,
     * 8 devices 25 -> the 2-device node; without it the 4-device one */
    nspec idle[] = {
        {"I8", "A10", 8, 32000, 0}, {"I4", "A10", 4, 32000, 0}, {"I2", "A10", 2, 32000, 0}};
    c = mkc(idle, 3);
    pin(c, ALLOT_POLICY_GPUPACKING, NULL, 0, shp(100, 1000, 1), 2, 0);
    allot_cluster_free(c);
    c = mkc(idle, 2);
    pin(c, ALLOT_POLICY_GPUPACKING, NULL, 0, shp(100, 1000, 1), 1, 0);
    allot_cluster_free(c);
    /* case 2 beats case 3: I2 idle (33 - 2 = 31); U8 has one device in use
     * and a 1-device task takes a whole one: 50 - 1 = 49 -> U8, device 0 */
    nspec used[] = {{"I2", "A10", 2, 32000, 0}, {"U8", "A10", 8, 32000, 0}};
    c = mkc(used, 2);
    pre(c, 1, 7, 1000);
    pin(c, ALLOT_POLICY_GPUPACKING, NULL, 0, shp(100, 1000, 1), 1, 0);
    allot_cluster_free(c);
}

static void test_gpuclustering(void **state)
{
    (void)state;
    /* Four 8-device nodes of different chip types, so that setup jobs can be
     * pinned to a node with a chip mask. Tags: a whole-device task of k
     * devices is "k-gpu", a fractional one "share-gpu". Score (FGD
     * simulator): base = 25 * (8000 - free milli) / 8000 (integers), plus
     *   75 if the node runs only the task's tag, 50 if the tag among others,
     *   25 if the node runs no tagged task, 0 if only other tags. */
    nspec ns[] = {{"n0", "A10", 8, 128000, 0},
                  {"n1", "T4", 8, 128000, 0},
                  {"n2", "L20", 8, 128000, 0},
                  {"n3", "L40S", 8, 128000, 0}};
    allot_cluster *c = mkc(ns, 4);
    allot_sched *s = mks_full(c, ALLOT_POLICY_GPUCLUSTER, 3, ALLOT_TIE_RANK, NULL, 0,
                              ALLOT_ORDER_FIFO, ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job j1 = mkjob(1000, 1000, 1, 1), j2 = mkjob(1000, 500, 1, 1),
              j3 = mkjob(1000, 1000, 1, 1), j4 = mkjob(1000, 1000, 2, 1);
    j1.shape.chips = 1u << 0; /* A10 -> n0 */
    j2.shape.chips = 1u << 1; /* T4 -> n1 */
    j3.shape.chips = 1u << 1;
    j4.shape.chips = 1u << 3; /* L40S -> n3 */
    assert_int_equal(submit(s, 1, &j1, &out), 0);
    assert_dec(&out.v[0], ALLOT_DEC_START, 1, 0);
    assert_int_equal(submit(s, 2, &j2, &out), 0);
    assert_dec(&out.v[0], ALLOT_DEC_START, 2, 1);
    assert_int_equal(out.v[0].devs[0], 0);
    assert_int_equal(submit(s, 3, &j3, &out), 0);
    assert_dec(&out.v[0], ALLOT_DEC_START, 3, 1);
    assert_int_equal(out.v[0].devs[0], 1);
    assert_int_equal(submit(s, 4, &j4, &out), 0);
    assert_dec(&out.v[0], ALLOT_DEC_START, 4, 3);
    /* free: n0 7000, n1 6500, n2 8000, n3 6000
     * base: n0 25*1000/8000 = 3, n1 25*1500/8000 = 4, n2 0, n3 25*2000/8000 = 6
     * tags: n0 {1-gpu}, n1 {share, 1-gpu}, n2 {}, n3 {2-gpu} */

    /* 1-gpu: n0 3+75 = 78, n1 4+50 = 54, n2 0+25 = 25, n3 6 -> n0 */
    allot_decision d = placed(s, shp(1000, 1000, 1));
    assert_int_equal(d.node, 0);
    assert_int_equal(d.devs[0], 1); /* device 0 is taken by j1 */
    /* share: n0 3, n1 4+50 = 54, n2 25, n3 6 -> n1, on device 0 (500 free) */
    d = placed(s, shp(1000, 300, 1));
    assert_int_equal(d.node, 1);
    assert_int_equal(d.devs[0], 0);
    /* 2-gpu: n0 3, n1 4, n2 25, n3 6+75 = 81 -> n3, devices 2 and 3 */
    d = placed(s, shp(1000, 1000, 2));
    assert_int_equal(d.node, 3);
    assert_int_equal(d.devs[0], 2);
    assert_int_equal(d.devs[1], 3);
    /* 4-gpu: nobody has the tag: n2 (idle, 25) beats 3, 4 and 6 */
    d = placed(s, shp(1000, 1000, 4));
    assert_int_equal(d.node, 2);

    /* j1 ends: n0 has no tags left: 1-gpu now n0 0+25 = 25, n1 54 -> n1,
     * first whole device 2 */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 1, 0, &out), 0);
    d = placed(s, shp(1000, 1000, 1));
    assert_int_equal(d.node, 1);
    assert_int_equal(d.devs[0], 2);
    /* j3 ends: n1 runs only share tasks (free 7500, base 25*500/8000 = 1):
     * share task: n1 1+75 = 76 -> n1 */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 3, 0, &out), 0);
    d = placed(s, shp(1000, 100, 1));
    assert_int_equal(d.node, 1);
    assert_int_equal(d.devs[0], 0);
    /* and a 1-gpu task no longer counts n1 as its tag's node: n1 base 1
     * (other tags only), n3 6 (other tags), n0 and n2 idle 25 -> one of the
     * idle ones */
    d = placed(s, shp(1000, 1000, 1));
    assert_true(d.node == 0 || d.node == 2);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_fgd_device_choice(void **state)
{
    (void)state;
    size_t nt;
    const allot_typical *t = fgd_example(&nt);
    /* One node with 3 devices free {1000, 600, 550} and 32 cores; a task of
     * 100 milli and 1 core (CPU never binds here). frag(state) =
     *   0.5 * (all free if no device has 1000, else free on devices < 1000)
     * + 0.5 * (all free if no device has 500, else free on devices < 500)
     * before: 0.5*1150 + 0.5*0 = 575
     *   dev0 -> {900,600,550}: 0.5*2050 + 0     = 1025, d = -450 -> int(100*sig(-.45))  = 38
     *   dev1 -> {1000,500,550}: 0.5*1050 + 0    = 525,  d = +50  -> int(100*sig(.05))   = 51
     *   dev2 -> {1000,600,450}: 0.5*1050 + .5*450 = 750, d = -175 -> int(100*sig(-.175)) = 45
     * FGD takes device 1; best-fit's device rule would take device 2 (550). */
    nspec one[] = {{"N", "A10", 3, 32000, 0}};
    allot_cluster *c = mkc(one, 1);
    pre(c, 0, 1, 400);
    pre(c, 0, 2, 450);
    pin(c, ALLOT_POLICY_FGD, t, nt, shp(1000, 100, 1), 0, 1);
    pin(c, ALLOT_POLICY_FGDLA, t, nt, shp(1000, 100, 1), 0, 1);
    pin(c, ALLOT_POLICY_BESTFIT, NULL, 0, shp(1000, 100, 1), 0, 2);
    allot_cluster_free(c);
}

static void test_fgd_node_choice(void **state)
{
    (void)state;
    size_t nt;
    const allot_typical *t = fgd_example(&nt);
    /* Task: 200 milli, 1.5 cores.
     * N0 {1000, 1000}, 32 cores: before 0.
     *   dev0 -> {800, 1000}: 0.5*800 + 0.5*0 = 400, d = -400 -> int(100*sig(-.4)) = 40
     *   (dev1 has the same free amount: same result)
     * N1 {1000, 300}, 32 cores: before 0.5*300 + 0.5*300 = 300.
     *   dev0 -> {800, 300}: 0.5*1100 + 0.5*300 = 700, d = -400 -> 40
     *   dev1 -> {1000, 100}: 0.5*100 + 0.5*100 = 100, d = +200 -> int(100*sig(.2)) = 54
     * N2 {1000, 300}, 3 cores: the fgd.c worked example, before = 800.
     *   after either device, 1.5 cores are left, less than either typical
     *   task needs: all 1100 free is fragment, d = -300 -> int(100*sig(-.3)) = 42
     * N1 wins, on device 1. */
    nspec ns[] = {
        {"N0", "A10", 2, 32000, 0}, {"N1", "A10", 2, 32000, 0}, {"N2", "A10", 2, 32000, 0}};
    allot_cluster *c = mkc(ns, 3);
    pre(c, 1, 1, 700);
    pre(c, 2, 1, 700);
    pre_cpu(c, 2, 29000);
    pin(c, ALLOT_POLICY_FGD, t, nt, shp(1500, 200, 1), 1, 1);

    /* the cluster's fragmentation: 0 + 300 + 800 = 1100; after committing
     * the placement: 0 + 100 + 800 = 900 */
    allot_sched *s = mks(c, ALLOT_POLICY_FGD, 7, t, nt);
    assert_true(fabs(allot_sched_frag_milli(s) - 1100.0) < 1e-9);
    allot_shape sh = shp(1500, 200, 1);
    allot_decision d;
    assert_int_equal(allot_sched_place(s, &sh, &d, 1), 0);
    assert_int_equal(d.node, 1);
    assert_int_equal(d.devs[0], 1);
    assert_int_equal(allot_cluster_dev_free(c)[allot_cluster_node(c, 1)->dev0 + 1], 100);
    assert_true(fabs(allot_sched_frag_milli(s) - 900.0) < 1e-9);
    assert_int_equal(allot_sched_decisions(s), 1);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_fgd_ties_and_lookahead(void **state)
{
    (void)state;
    /* Target: only whole 1-GPU tasks. N0 idle with 2 devices, N1 with 4
     * devices and one task on a whole device. A 1-GPU task leaves no
     * fragment anywhere (whole devices only): both score int(100*sig(0)) =
     * 50. FGD breaks the tie by the seeded rank, so both nodes win for some
     * seeds and the same seed always gives the same node; fgd-la prefers
     * the node that already runs a task (N1) whatever the seed. */
    allot_typical t[1] = {typ(1000, 1000, 1, 0, 1.0)};
    nspec ns[] = {{"N0", "A10", 2, 32000, 0}, {"N1", "A10", 4, 32000, 0}};
    allot_cluster *c = mkc(ns, 2);
    uint8_t d0 = 0;
    assert_int_equal(allot_cluster_take(c, 1, &d0, 1, 1000, 1000, 0), 0);
    int seen[2] = {0, 0};
    for (uint64_t seed = 1; seed <= 40; seed++) {
        allot_sched *s = mks(c, ALLOT_POLICY_FGD, seed, t, 1);
        allot_decision a = placed(s, shp(1000, 1000, 1));
        allot_decision b = placed(s, shp(1000, 1000, 1)); /* rank is fixed */
        assert_int_equal(a.node, b.node);
        seen[a.node]++;
        allot_sched *s2 = mks(c, ALLOT_POLICY_FGD, seed, t, 1);
        assert_int_equal(placed(s2, shp(1000, 1000, 1)).node, a.node);
        allot_sched_free(s2);
        allot_sched_free(s);
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    pin(c, ALLOT_POLICY_FGDLA, t, 1, shp(1000, 1000, 1), 1, 1);
    allot_cluster_free(c);
}

static void test_random_policy(void **state)
{
    (void)state;
    /* n2 has too little CPU for the task: never chosen; the other three
     * are chosen uniformly. */
    nspec ns[] = {{"n0", "A10", 2, 32000, 0},
                  {"n1", "A10", 4, 32000, 0},
                  {"n2", "A10", 8, 1000, 0},
                  {"n3", "T4", 1, 32000, 0}};
    allot_cluster *c = mkc(ns, 4);
    int count[4] = {0}, devc[4] = {0};
    const int N = 600;
    for (int tb = 0; tb < 2; tb++) {
        for (uint64_t seed = 1; seed <= (uint64_t)N / 2; seed++) {
            allot_sched *s = mks_full(c, ALLOT_POLICY_RANDOM, seed, (allot_tiebreak)tb, NULL, 0,
                                      ALLOT_ORDER_FIFO, ALLOT_NOFIT_QUEUE, 0);
            allot_decision d = placed(s, shp(4000, 500, 1));
            assert_true(d.node < 4);
            count[d.node]++;
            /* same seed, same choice */
            allot_sched *s2 = mks_full(c, ALLOT_POLICY_RANDOM, seed, (allot_tiebreak)tb, NULL, 0,
                                       ALLOT_ORDER_FIFO, ALLOT_NOFIT_QUEUE, 0);
            allot_decision d2 = placed(s2, shp(4000, 500, 1));
            assert_int_equal(d2.node, d.node);
            assert_int_equal(d2.devs[0], d.devs[0]);
            allot_sched_free(s2);
            allot_sched_free(s);
        }
    }
    assert_int_equal(count[2], 0);
    /* each of 3 nodes expects 200 of 600; allow a wide margin */
    for (int i = 0; i < 4; i++)
        if (i != 2 && (count[i] < 120 || count[i] > 280))
            fail_msg("node %d chosen %d times of %d", i, count[i], N);
    allot_cluster_free(c);

    /* device choice: uniform among the fitting devices. Free {1000, 600,
     * 500, 400}; a 500-milli task fits devices 0, 1, 2, never 3. */
    nspec one[] = {{"x", "A10", 4, 32000, 0}};
    c = mkc(one, 1);
    pre(c, 0, 1, 400);
    pre(c, 0, 2, 500);
    pre(c, 0, 3, 600);
    allot_sched *s = mks(c, ALLOT_POLICY_RANDOM, 99, NULL, 0);
    for (int i = 0; i < 600; i++) devc[placed(s, shp(1000, 500, 1)).devs[0]]++;
    assert_int_equal(devc[3], 0);
    for (int i = 0; i < 3; i++)
        if (devc[i] < 120 || devc[i] > 280) fail_msg("device %d chosen %d times", i, devc[i]);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_rank_tiebreak(void **state)
{
    (void)state;
    /* Four identical idle nodes: every non-random policy scores them
     * equally. With ALLOT_TIE_RANK the choice depends on the seed only: the
     * same seed picks the same node on a fresh scheduler and again on the
     * same one; across seeds every node wins sometimes. */
    nspec ns[] = {{"a", "A10", 4, 32000, 0},
                  {"b", "A10", 4, 32000, 0},
                  {"c", "A10", 4, 32000, 0},
                  {"d", "A10", 4, 32000, 0}};
    allot_cluster *c = mkc(ns, 4);
    size_t nt;
    const allot_typical *t = fgd_example(&nt);
    static const allot_policy pols[] = {ALLOT_POLICY_DOTPROD,    ALLOT_POLICY_GPUCLUSTER,
                                        ALLOT_POLICY_GPUPACKING, ALLOT_POLICY_BESTFIT,
                                        ALLOT_POLICY_FGD,        ALLOT_POLICY_FGDLA};
    for (size_t p = 0; p < sizeof pols / sizeof pols[0]; p++) {
        for (int tb = 0; tb < 2; tb++) {
            int seen[4] = {0};
            for (uint64_t seed = 1; seed <= 48; seed++) {
                allot_sched *s = mks_full(c, pols[p], seed, (allot_tiebreak)tb, t, nt,
                                          ALLOT_ORDER_FIFO, ALLOT_NOFIT_QUEUE, 0);
                allot_sched *s2 = mks_full(c, pols[p], seed, (allot_tiebreak)tb, t, nt,
                                           ALLOT_ORDER_FIFO, ALLOT_NOFIT_QUEUE, 0);
                uint32_t n1 = placed(s, shp(1000, 1000, 1)).node;
                assert_int_equal(placed(s2, shp(1000, 1000, 1)).node, n1);
                if (tb == ALLOT_TIE_RANK) /* a fixed order: same again */
                    assert_int_equal(placed(s, shp(1000, 1000, 1)).node, n1);
                /* ranks are per node, not per shape: another shape that also
                 * ties everywhere goes to the same node */
                if (tb == ALLOT_TIE_RANK) assert_int_equal(placed(s2, shp(2000, 1000, 2)).node, n1);
                seen[n1]++;
                allot_sched_free(s);
                allot_sched_free(s2);
            }
            for (int i = 0; i < 4; i++)
                if (seen[i] == 0)
                    fail_msg("%s tiebreak %d: node %d never chosen", allot_policy_name(pols[p]), tb,
                             i);
        }
    }
    allot_cluster_free(c);
}

/* ---- (2) FGD fragmentation of one node ------------------------------------------------- */

static void test_fgd_node_frag(void **state)
{
    (void)state;
    size_t nt;
    const allot_typical *t = fgd_example(&nt);
    int16_t ex[2] = {1000, 300};
    /* the worked example: 0.5*1300 + 0.5*300 = 800 */
    assert_true(allot_fgd_node_frag(t, nt, 0, 3000, ex, 2) == 800.0);
    /* with 4 cores both fit: 0.5*300 + 0.5*300 = 300 */
    assert_true(allot_fgd_node_frag(t, nt, 0, 4000, ex, 2) == 300.0);
    /* with 1 core neither: 1300 */
    assert_true(allot_fgd_node_frag(t, nt, 0, 1000, ex, 2) == 1300.0);
    /* nothing free: no fragment; no devices: none */
    int16_t none[2] = {0, 0};
    assert_true(allot_fgd_node_frag(t, nt, 0, 3000, none, 2) == 0.0);
    assert_true(allot_fgd_node_frag(t, nt, ALLOT_NO_CHIP, 3000, NULL, 0) == 0.0);

    /* CPU-only typical tasks: all free device milli is fragment */
    allot_typical cpu[1] = {typ(1000, 0, 0, 0, 1.0)};
    assert_true(allot_fgd_node_frag(cpu, 1, 0, 64000, ex, 2) == 1300.0);
    /* mixed: 0.25 CPU-only + 0.75 half-GPU (fits, 300 is fragment):
     * 0.25*1300 + 0.75*300 = 325 + 225 = 550 */
    allot_typical mix[2] = {typ(1000, 0, 0, 0, 0.25), typ(1000, 500, 1, 0, 0.75)};
    assert_true(allot_fgd_node_frag(mix, 2, 0, 64000, ex, 2) == 550.0);

    /* chip masks: a task allowed only on chip 1 sees a chip-0 node as no
     * access (all free is fragment), a chip-1 node normally */
    allot_typical only1[1] = {typ(1000, 500, 1, (allot_chip_mask)1 << 1, 1.0)};
    assert_true(allot_fgd_node_frag(only1, 1, 0, 64000, ex, 2) == 1300.0);
    assert_true(allot_fgd_node_frag(only1, 1, 1, 64000, ex, 2) == 300.0);
    assert_true(allot_fgd_node_frag(only1, 1, ALLOT_NO_CHIP, 64000, ex, 2) == 1300.0);

    /* multi-device tasks: 2 whole devices. {1000, 1000, 500}: fits, the 500
     * is fragment; {1000, 500, 500}: does not fit, all 2000 is. */
    allot_typical two[1] = {typ(1000, 1000, 2, 0, 1.0)};
    int16_t f1[3] = {1000, 1000, 500}, f2[3] = {1000, 500, 500};
    assert_true(allot_fgd_node_frag(two, 1, 0, 64000, f1, 3) == 500.0);
    assert_true(allot_fgd_node_frag(two, 1, 0, 64000, f2, 3) == 2000.0);

    /* the scheduler's incremental total uses the same measure: nodes in the
     * states above sum to 800 + 300 + 0 */
    nspec ns[] = {{"a", "A10", 2, 32000, 0}, {"b", "A10", 2, 32000, 0}, {"c", "A10", 2, 32000, 0}};
    allot_cluster *c = mkc(ns, 3);
    pre(c, 0, 1, 700);
    pre_cpu(c, 0, 29000);
    pre(c, 1, 1, 700);
    pre(c, 2, 0, 1000);
    pre(c, 2, 1, 1000);
    allot_sched *s = mks(c, ALLOT_POLICY_BESTFIT, 1, t, nt);
    assert_true(fabs(allot_sched_frag_milli(s) - 1100.0) < 1e-9);
    allot_sched_free(s);
    /* without typical shapes it is 0 */
    s = mks(c, ALLOT_POLICY_BESTFIT, 1, NULL, 0);
    assert_true(allot_sched_frag_milli(s) == 0.0);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* ---- (3) the target workload ---------------------------------------------------------- */

static void add_jobs(allot_workload *w, int n, int64_t cpu, int64_t mem, int32_t milli,
                     int32_t ndev, allot_chip_mask chips)
{
    for (int i = 0; i < n; i++) {
        allot_job j = mkjob(cpu, milli, ndev, 1);
        j.shape.mem = mem + i; /* memory is ignored */
        j.shape.chips = chips;
        assert_true(allot_workload_add(w, &j, NULL) >= 0);
    }
}

static void assert_typ(const allot_typical *t, int64_t cpu, int32_t milli, int32_t ndev,
                       allot_chip_mask chips, double w)
{
    assert_int_equal(t->shape.cpu, cpu);
    assert_int_equal(t->shape.milli, milli);
    assert_int_equal(t->shape.ndev, ndev);
    assert_int_equal(t->shape.chips, chips);
    assert_int_equal(t->shape.mem, 0);
    if (fabs(t->weight - w) > 1e-12) fail_msg("weight %.17g, want %.17g", t->weight, w);
}

static double wsum(const allot_typical *t, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += t[i].weight;
    return s;
}

static void test_typical_from_workload(void **state)
{
    (void)state;
    allot_workload w;
    allot_workload_init(&w);
    /* 10 jobs: 5 x (4 cores, 1 GPU), 3 x (2 cores, half GPU), 1 x CPU-only
     * 8 cores, 1 x (1 core, 2 GPUs) */
    add_jobs(&w, 3, 2000, 100, 500, 1, 0);
    add_jobs(&w, 1, 1000, 100, 1000, 2, 0);
    add_jobs(&w, 5, 4000, 100, 1000, 1, 0);
    add_jobs(&w, 1, 8000, 100, 0, 0, 0);
    allot_typical *t = NULL;

    /* full coverage: by count, ties (1 and 1) by larger CPU first */
    int n = allot_typical_from_workload(&w, 1.0, 1, &t);
    assert_int_equal(n, 4);
    assert_typ(&t[0], 4000, 1000, 1, 0, 0.5);
    assert_typ(&t[1], 2000, 500, 1, 0, 0.3);
    assert_typ(&t[2], 8000, 0, 0, 0, 0.1);
    assert_typ(&t[3], 1000, 1000, 2, 0, 0.1);
    assert_true(fabs(wsum(t, n) - 1.0) < 1e-12);
    free(t);

    /* coverage 0.75: keep until 7.5 of 10 jobs are covered: 5 (< 7.5),
     * then 5 + 3 = 8; renormalised: 5/8 and 3/8 */
    n = allot_typical_from_workload(&w, 0.75, 1, &t);
    assert_int_equal(n, 2);
    assert_typ(&t[0], 4000, 1000, 1, 0, 0.625);
    assert_typ(&t[1], 2000, 500, 1, 0, 0.375);
    assert_true(fabs(wsum(t, n) - 1.0) < 1e-12);
    free(t);

    /* coverage 0.5: the first shape covers exactly 5 of 10: weight 1 */
    n = allot_typical_from_workload(&w, 0.5, 1, &t);
    assert_int_equal(n, 1);
    assert_typ(&t[0], 4000, 1000, 1, 0, 1.0);
    free(t);

    /* without CPU-only jobs: 9 jobs, 5/9, 3/9, 1/9 */
    n = allot_typical_from_workload(&w, 1.0, 0, &t);
    assert_int_equal(n, 3);
    assert_typ(&t[0], 4000, 1000, 1, 0, 5.0 / 9.0);
    assert_typ(&t[1], 2000, 500, 1, 0, 3.0 / 9.0);
    assert_typ(&t[2], 1000, 1000, 2, 0, 1.0 / 9.0);
    assert_true(fabs(wsum(t, n) - 1.0) < 1e-12);
    free(t);

    /* tie-break beyond CPU: equal counts and CPU -> larger milli, then more
     * devices, then the larger chip mask */
    allot_workload w2;
    allot_workload_init(&w2);
    add_jobs(&w2, 2, 1000, 0, 300, 1, 0);
    add_jobs(&w2, 2, 1000, 0, 1000, 1, 0);
    add_jobs(&w2, 2, 1000, 0, 1000, 4, 0);
    add_jobs(&w2, 2, 1000, 0, 1000, 1, 0x2);
    add_jobs(&w2, 2, 1000, 0, 700, 1, 0);
    n = allot_typical_from_workload(&w2, 1.0, 1, &t);
    assert_int_equal(n, 5);
    assert_typ(&t[0], 1000, 1000, 4, 0, 0.2);
    assert_typ(&t[1], 1000, 1000, 1, 0x2, 0.2);
    assert_typ(&t[2], 1000, 1000, 1, 0, 0.2);
    assert_typ(&t[3], 1000, 700, 1, 0, 0.2);
    assert_typ(&t[4], 1000, 300, 1, 0, 0.2);
    free(t);
    allot_workload_free(&w2);

    /* bad arguments and the empty workload */
    t = (allot_typical *)&w;
    assert_int_equal(allot_typical_from_workload(&w, 0.0, 1, &t), ALLOT_EINVAL);
    assert_int_equal(allot_typical_from_workload(&w, 1.5, 1, &t), ALLOT_EINVAL);
    assert_int_equal(allot_typical_from_workload(&w, NAN, 1, &t), ALLOT_EINVAL);
    assert_int_equal(allot_typical_from_workload(NULL, 1.0, 1, &t), ALLOT_EINVAL);
    assert_int_equal(allot_typical_from_workload(&w, 1.0, 1, NULL), ALLOT_EINVAL);
    allot_workload e;
    allot_workload_init(&e);
    assert_int_equal(allot_typical_from_workload(&e, 1.0, 1, &t), 0);
    assert_null(t);
    /* only CPU-only jobs, excluded: empty too */
    add_jobs(&e, 3, 1000, 0, 0, 0, 0);
    assert_int_equal(allot_typical_from_workload(&e, 1.0, 0, &t), 0);
    assert_null(t);
    allot_workload_free(&e);
    allot_workload_free(&w);
}

/* ---- (4) events ----------------------------------------------------------------------- */

static void test_submit_queue_finish(void **state)
{
    (void)state;
    /* sched.c's worked example: one node with one GPU */
    nspec ns[] = {{"n0", "A10", 1, 16000, 65536}};
    allot_cluster *c = mkc(ns, 1);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job g = mkjob(1000, 1000, 1, 1), cpu = mkjob(2000, 0, 0, 1);

    assert_int_equal(submit(s, 1, &g, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 1, 0);
    assert_int_equal(out.v[0].task, 0);
    assert_int_equal(out.v[0].ndev, 1);
    assert_int_equal(out.v[0].devs[0], 0);
    assert_int_equal(out.v[0].milli, 1000);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_RUNNING);
    assert_int_equal(allot_sched_running(s), 1);
    assert_int_equal(allot_sched_pending(s), 0);
    assert_int_equal(allot_sched_decisions(s), 1);
    assert_int_equal(allot_cluster_node(c, 0)->milli_free, 0);
    assert_int_equal(allot_cluster_node(c, 0)->cpu_free, 15000);

    /* J2 waits */
    assert_int_equal(submit(s, 2, &g, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(allot_sched_job_state(s, 2), ALLOT_JOB_PENDING);
    assert_int_equal(allot_sched_pending(s), 1);
    /* a CPU-only job runs beside J1 */
    assert_int_equal(submit(s, 3, &cpu, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 3, 0);
    assert_int_equal(out.v[0].ndev, 0);
    assert_int_equal(allot_sched_running(s), 2);
    assert_int_equal(allot_cluster_node(c, 0)->cpu_free, 13000);

    /* a pending job cannot finish; unknown jobs are EINVAL */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 2, 0, &out), ALLOT_ESTATE);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 999, 0, &out), ALLOT_EINVAL);
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 999, 0, &out), ALLOT_EINVAL);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 4, 0, &out), ALLOT_EINVAL);
    /* duplicate submits */
    assert_int_equal(submit(s, 1, &g, &out), ALLOT_EEXIST);
    assert_int_equal(submit(s, 2, &g, &out), ALLOT_EEXIST);
    assert_int_equal(allot_sched_pending(s), 1);
    assert_int_equal(allot_sched_running(s), 2);

    /* J1 ends: the retry pass starts J2 */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 1, 0, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 2, 0);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_SUCCEEDED);
    assert_int_equal(allot_sched_job_state(s, 2), ALLOT_JOB_RUNNING);
    assert_int_equal(allot_sched_pending(s), 0);
    assert_int_equal(allot_sched_running(s), 2);
    assert_int_equal(allot_sched_decisions(s), 3);
    /* finished is final */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 1, 0, &out), ALLOT_ESTATE);
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 1, 0, &out), ALLOT_ESTATE);
    assert_int_equal(submit(s, 1, &g, &out), ALLOT_EEXIST);
    /* a tick with nothing pending does nothing */
    assert_int_equal(event(s, ALLOT_EV_TICK, 0, 0, &out), 0);
    assert_int_equal(out.n, 0);

    /* malformed submits */
    allot_job bad = mkjob(1000, 500, 2, 1); /* fractional over 2 devices */
    assert_int_equal(submit(s, 10, &bad, &out), ALLOT_EINVAL);
    bad = mkjob(1000, 1000, 1, 0); /* no tasks */
    assert_int_equal(submit(s, 11, &bad, &out), ALLOT_EINVAL);
    bad = mkjob(-1, 1000, 1, 1);
    assert_int_equal(submit(s, 12, &bad, &out), ALLOT_EINVAL);
    assert_int_equal(submit(s, 13, NULL, &out), ALLOT_EINVAL);
    assert_int_equal(submit(s, UINT32_MAX, &g, &out), ALLOT_EINVAL);
    /* the rejected ids stay free */
    assert_int_equal(submit(s, 10, &cpu, &out), 0);
    assert_dec(&out.v[0], ALLOT_DEC_START, 10, 0);
    /* other bad events */
    assert_int_equal(event(s, ALLOT_EV_NODE_DOWN, 0, 5, &out), ALLOT_EINVAL);
    assert_int_equal(event(s, ALLOT_EV_NODE_UP, 0, 5, &out), ALLOT_EINVAL);
    assert_int_equal(event(s, (allot_event_kind)42, 0, 0, &out), ALLOT_EINVAL);
    assert_int_equal(allot_sched_handle(NULL, NULL, &out), ALLOT_EINVAL);
    char msg[256];
    assert_int_equal(allot_cluster_check(c, msg, sizeof msg), 0);
    assert_ptr_equal(allot_sched_cluster(s), c);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* One 1-GPU node; J0 runs; J1..J4 wait with priorities 0, 5, 5, -1. The
 * order they start in as each finishes. */
static void run_order(allot_queue_order order, const uint32_t want[4])
{
    nspec ns[] = {{"n0", "A10", 1, 16000, 0}};
    allot_cluster *c = mkc(ns, 1);
    allot_sched *s =
        mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, order, ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job j = mkjob(1000, 1000, 1, 1);
    assert_int_equal(submit(s, 0, &j, &out), 0);
    assert_int_equal(out.n, 1);
    static const int16_t prio[5] = {0, 0, 5, 5, -1};
    for (uint32_t id = 1; id <= 4; id++) {
        j.priority = prio[id];
        assert_int_equal(submit(s, id, &j, &out), 0);
        assert_int_equal(out.n, 0);
    }
    assert_int_equal(allot_sched_pending(s), 4);
    uint32_t running = 0;
    for (int k = 0; k < 4; k++) {
        assert_int_equal(event(s, ALLOT_EV_FINISH, running, 0, &out), 0);
        assert_int_equal(out.n, 1);
        assert_dec(&out.v[0], ALLOT_DEC_START, want[k], 0);
        running = want[k];
    }
    assert_int_equal(allot_sched_pending(s), 0);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_queue_order(void **state)
{
    (void)state;
    static const uint32_t fifo[4] = {1, 2, 3, 4};
    static const uint32_t prio[4] = {2, 3, 1, 4}; /* 5, 5 (by submission), 0, -1 */
    run_order(ALLOT_ORDER_FIFO, fifo);
    run_order(ALLOT_ORDER_PRIORITY, prio);
}

static void test_no_head_of_line_blocking(void **state)
{
    (void)state;
    /* 4 GPUs: J0, J1 take 2 each. J2 (4 GPUs), J3 and J4 (1 each) wait.
     * J0 ends: J2 still does not fit, J3 and J4 start behind it. */
    nspec ns[] = {{"n0", "A10", 4, 32000, 0}};
    allot_cluster *c = mkc(ns, 1);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job two = mkjob(1000, 1000, 2, 1), four = mkjob(1000, 1000, 4, 1),
              one = mkjob(1000, 1000, 1, 1);
    assert_int_equal(submit(s, 0, &two, &out), 0);
    assert_int_equal(out.v[0].devs[0], 0);
    assert_int_equal(out.v[0].devs[1], 1);
    assert_int_equal(submit(s, 1, &two, &out), 0);
    assert_int_equal(out.v[0].devs[0], 2);
    assert_int_equal(out.v[0].devs[1], 3);
    assert_int_equal(submit(s, 2, &four, &out), 0);
    assert_int_equal(submit(s, 3, &one, &out), 0);
    assert_int_equal(submit(s, 4, &one, &out), 0);
    assert_int_equal(allot_sched_pending(s), 3);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 0, 0, &out), 0);
    assert_int_equal(out.n, 2);
    assert_dec(&out.v[0], ALLOT_DEC_START, 3, 0);
    assert_int_equal(out.v[0].devs[0], 0);
    assert_dec(&out.v[1], ALLOT_DEC_START, 4, 0);
    assert_int_equal(out.v[1].devs[0], 1);
    assert_int_equal(allot_sched_job_state(s, 2), ALLOT_JOB_PENDING);
    /* J1, J3, J4 end: J2 starts on the last of them */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 1, 0, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 3, 0, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 4, 0, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 2, 0);
    assert_int_equal(out.v[0].ndev, 4);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_cancel(void **state)
{
    (void)state;
    nspec ns[] = {{"n0", "A10", 1, 16000, 0}};
    allot_cluster *c = mkc(ns, 1);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job j = mkjob(1000, 1000, 1, 1);
    for (uint32_t id = 0; id < 3; id++) assert_int_equal(submit(s, id, &j, &out), 0);
    assert_int_equal(allot_sched_running(s), 1);
    assert_int_equal(allot_sched_pending(s), 2);
    /* cancel a pending job: gone from the queue, no decision */
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 1, 0, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_CANCELLED);
    assert_int_equal(allot_sched_pending(s), 1);
    /* cancel the running one: its capacity goes to J2 (J1 is not retried) */
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 0, 0, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 2, 0);
    assert_int_equal(allot_sched_job_state(s, 0), ALLOT_JOB_CANCELLED);
    assert_int_equal(allot_sched_running(s), 1);
    assert_int_equal(allot_sched_pending(s), 0);
    /* final states stay final */
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 0, 0, &out), ALLOT_ESTATE);
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 1, 0, &out), ALLOT_ESTATE);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 1, 0, &out), ALLOT_ESTATE);
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 2, 0, &out), 0);
    assert_int_equal(allot_sched_running(s), 0);
    assert_int_equal(allot_cluster_node(c, 0)->milli_free, 1000);
    assert_int_equal(allot_cluster_node(c, 0)->cpu_free, 16000);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void assert_fail_now(allot_sched *s, uint32_t id, const allot_job *j, allot_decisions *out)
{
    assert_int_equal(submit(s, id, j, out), 0);
    if (out->n != 1) fail_msg("job %u: %zu decisions, want one FAIL", id, out->n);
    assert_dec(&out->v[0], ALLOT_DEC_FAIL, id, UINT32_MAX);
    assert_int_equal(allot_sched_job_state(s, id), ALLOT_JOB_FAILED);
}

static void test_never_fits(void **state)
{
    (void)state;
    /* two nodes of 4 A10 and 32 cores; T4 is a known type without nodes */
    nspec ns[] = {{"n0", "A10", 4, 32000, 65536}, {"n1", "A10", 4, 32000, 65536}};
    allot_cluster *c = mkc(ns, 2);
    int t4 = allot_cluster_chip_id(c, "T4");
    assert_int_equal(t4, 1);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job j = mkjob(1000, 1000, 8, 1); /* more devices than any node */
    assert_fail_now(s, 1, &j, &out);
    j = mkjob(1000, 1000, 1, 1);
    j.shape.chips = (allot_chip_mask)1 << t4; /* a chip no node has */
    assert_fail_now(s, 2, &j, &out);
    j.shape.chips = (allot_chip_mask)1 << 40; /* a chip that is not even known */
    assert_fail_now(s, 3, &j, &out);
    j = mkjob(64000, 1000, 1, 1); /* more CPU than any node */
    assert_fail_now(s, 4, &j, &out);
    j = mkjob(1000, 1000, 1, 1);
    j.shape.mem = 65537; /* more memory than any node */
    assert_fail_now(s, 5, &j, &out);
    j = mkjob(1000, 1000, 4, 3); /* 3 tasks of 4 GPUs: the fleet holds 2 */
    assert_fail_now(s, 6, &j, &out);
    j = mkjob(20000, 250, 1, 3); /* 3 tasks of 20 cores: 1 per node */
    assert_fail_now(s, 7, &j, &out);
    assert_int_equal(allot_sched_pending(s), 0);
    assert_int_equal(allot_sched_running(s), 0);
    assert_int_equal(allot_cluster_free_milli(c), 8000);

    /* 2 tasks of 4 GPUs fit exactly: both nodes, all devices */
    j = mkjob(1000, 1000, 4, 2);
    assert_int_equal(submit(s, 8, &j, &out), 0);
    assert_int_equal(out.n, 2);
    assert_dec(&out.v[0], ALLOT_DEC_START, 8, ANY_NODE);
    assert_dec(&out.v[1], ALLOT_DEC_START, 8, ANY_NODE);
    assert_int_equal(out.v[0].task, 0);
    assert_int_equal(out.v[1].task, 1);
    assert_true(out.v[0].node != out.v[1].node);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(out.v[k].ndev, 4);
        for (int i = 0; i < 4; i++) assert_int_equal(out.v[k].devs[i], i);
    }
    /* a job that fits the fleet but not now waits (no FAIL) */
    j = mkjob(1000, 1000, 1, 1);
    assert_int_equal(submit(s, 9, &j, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(allot_sched_job_state(s, 9), ALLOT_JOB_PENDING);
    /* the never-fitting shape again: still FAIL */
    j = mkjob(1000, 1000, 8, 1);
    assert_fail_now(s, 10, &j, &out);
    assert_int_equal(event(s, ALLOT_EV_FINISH, 8, 0, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 9, ANY_NODE);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_nofit_fail(void **state)
{
    (void)state;
    nspec ns[] = {{"n0", "A10", 1, 16000, 0}};
    allot_cluster *c = mkc(ns, 1);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_FAIL, 1);
    allot_decisions out = {0};
    allot_job j = mkjob(1000, 1000, 1, 1);
    assert_int_equal(submit(s, 0, &j, &out), 0);
    assert_dec(&out.v[0], ALLOT_DEC_START, 0, 0);
    assert_fail_now(s, 1, &j, &out);
    assert_int_equal(allot_sched_pending(s), 0);
    /* capacity returns: the dropped job is not retried */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 0, 0, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_FAILED);
    assert_int_equal(submit(s, 1, &j, &out), ALLOT_EEXIST);
    assert_int_equal(allot_cluster_node(c, 0)->milli_free, 1000);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_node_down_up(void **state)
{
    (void)state;
    nspec ns[] = {{"n0", "A10", 2, 16000, 0}, {"n1", "A10", 2, 16000, 0}};
    allot_cluster *c = mkc(ns, 2);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job one = mkjob(1000, 1000, 1, 1), two = mkjob(1000, 1000, 2, 1);
    assert_int_equal(submit(s, 1, &one, &out), 0);
    uint32_t X = out.v[0].node, Y = 1 - X;

    /* X goes down: J1 stops there and restarts on Y at once */
    assert_int_equal(event(s, ALLOT_EV_NODE_DOWN, 0, X, &out), 0);
    assert_int_equal(out.n, 2);
    assert_dec(&out.v[0], ALLOT_DEC_STOP, 1, X);
    assert_dec(&out.v[1], ALLOT_DEC_START, 1, Y);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_RUNNING);
    assert_int_equal(allot_sched_running(s), 1);
    assert_int_equal(allot_sched_pending(s), 0);
    const allot_node *nx = allot_cluster_node(c, X);
    assert_int_equal(nx->state, ALLOT_NODE_DOWN);
    assert_int_equal(nx->milli_free, 2000);
    assert_int_equal(nx->ntasks, 0);
    assert_int_equal(allot_cluster_total_milli(c), 2000);
    assert_int_equal(allot_cluster_free_milli(c), 1000);

    /* J2 (2 GPUs) fits the fleet (Y when empty) but not now: waits */
    assert_int_equal(submit(s, 2, &two, &out), 0);
    assert_int_equal(out.n, 0);
    /* J3 takes Y's other device */
    assert_int_equal(submit(s, 3, &one, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 3, Y);
    assert_int_equal(allot_cluster_node(c, Y)->milli_free, 0);

    /* X comes back: J2 starts there */
    assert_int_equal(event(s, ALLOT_EV_NODE_UP, 0, X, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 2, X);
    assert_int_equal(out.v[0].ndev, 2);
    assert_int_equal(allot_cluster_total_milli(c), 4000);

    /* Y goes down: J1 and J3 stop (by job id); X is full, both wait */
    assert_int_equal(event(s, ALLOT_EV_NODE_DOWN, 0, Y, &out), 0);
    assert_int_equal(out.n, 2);
    assert_dec(&out.v[0], ALLOT_DEC_STOP, 1, Y);
    assert_dec(&out.v[1], ALLOT_DEC_STOP, 3, Y);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_PENDING);
    assert_int_equal(allot_sched_job_state(s, 3), ALLOT_JOB_PENDING);
    assert_int_equal(allot_sched_pending(s), 2);
    assert_int_equal(allot_sched_running(s), 1);
    /* down again: nothing more happens */
    assert_int_equal(event(s, ALLOT_EV_NODE_DOWN, 0, Y, &out), 0);
    assert_int_equal(out.n, 0);
    /* J4 (2 GPUs) waits behind them */
    assert_int_equal(submit(s, 4, &two, &out), 0);
    assert_int_equal(out.n, 0);
    /* Y back: the requeued jobs start in their original order, J4 waits */
    assert_int_equal(event(s, ALLOT_EV_NODE_UP, 0, Y, &out), 0);
    assert_int_equal(out.n, 2);
    assert_dec(&out.v[0], ALLOT_DEC_START, 1, Y);
    assert_dec(&out.v[1], ALLOT_DEC_START, 3, Y);
    assert_int_equal(allot_sched_pending(s), 1);
    /* J2 ends: J4 takes X */
    assert_int_equal(event(s, ALLOT_EV_FINISH, 2, 0, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_START, 4, X);
    /* J4 stopped by X going down; Y is full: pending; cancelled while so */
    assert_int_equal(event(s, ALLOT_EV_NODE_DOWN, 0, X, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_STOP, 4, X);
    assert_int_equal(event(s, ALLOT_EV_CANCEL, 4, 0, &out), 0);
    assert_int_equal(allot_sched_job_state(s, 4), ALLOT_JOB_CANCELLED);
    assert_int_equal(allot_sched_pending(s), 0);
    /* an UP node coming up again is harmless */
    assert_int_equal(event(s, ALLOT_EV_NODE_UP, 0, Y, &out), 0);
    assert_int_equal(out.n, 0);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void test_node_down_multitask(void **state)
{
    (void)state;
    /* a job with a task on each node: one node down stops the whole job
     * and frees its task on the other node too */
    nspec ns[] = {{"n0", "A10", 2, 16000, 0}, {"n1", "A10", 2, 16000, 0}};
    allot_cluster *c = mkc(ns, 2);
    allot_sched *s = mks_full(c, ALLOT_POLICY_BESTFIT, 1, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                              ALLOT_NOFIT_QUEUE, 1);
    allot_decisions out = {0};
    allot_job j = mkjob(1000, 1000, 2, 2);
    assert_int_equal(submit(s, 7, &j, &out), 0);
    assert_int_equal(out.n, 2);
    uint32_t A = out.v[0].node, B = out.v[1].node;
    assert_true(A != B);
    assert_int_equal(event(s, ALLOT_EV_NODE_DOWN, 0, A, &out), 0);
    assert_int_equal(out.n, 1);
    assert_dec(&out.v[0], ALLOT_DEC_STOP, 7, A);
    assert_int_equal(allot_sched_job_state(s, 7), ALLOT_JOB_PENDING);
    assert_int_equal(allot_cluster_node(c, B)->milli_free, 2000);
    assert_int_equal(allot_cluster_node(c, B)->cpu_free, 16000);
    assert_int_equal(allot_cluster_node(c, B)->ntasks, 0);
    assert_int_equal(event(s, ALLOT_EV_NODE_UP, 0, A, &out), 0);
    assert_int_equal(out.n, 2);
    assert_dec(&out.v[0], ALLOT_DEC_START, 7, ANY_NODE);
    assert_dec(&out.v[1], ALLOT_DEC_START, 7, ANY_NODE);
    assert_true(out.v[0].node != out.v[1].node);
    assert_int_equal(allot_cluster_free_milli(c), 0);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* ---- (5) multi-task jobs are all or nothing --------------------------------------------- */

static void test_multitask_rollback(void **state)
{
    (void)state;
    size_t nt;
    const allot_typical *t = fgd_example(&nt);
    for (int p = 0; p < ALLOT_POLICY__COUNT; p++) {
        for (int nofit = 0; nofit < 2; nofit++) {
            /* two nodes of 2 GPUs; J0 holds one GPU on one of them. J1 is 2
             * tasks of 2 GPUs: the fleet holds 2 such tasks, so it is tried;
             * task 0 fits on the idle node, task 1 nowhere: roll back. */
            nspec ns[] = {{"n0", "A10", 2, 16000, 0}, {"n1", "A10", 2, 16000, 0}};
            allot_cluster *c = mkc(ns, 2);
            allot_sched *s = mks_full(c, (allot_policy)p, 5, ALLOT_TIE_RANK, t, nt,
                                      ALLOT_ORDER_FIFO, (allot_nofit)nofit, 1);
            allot_decisions out = {0};
            allot_job j0 = mkjob(1000, 1000, 1, 1), j1 = mkjob(2000, 1000, 2, 2);
            assert_int_equal(submit(s, 0, &j0, &out), 0);
            assert_int_equal(out.n, 1);
            cap_snap before = cap_take(c);
            double frag = allot_sched_frag_milli(s);
            assert_int_equal(submit(s, 1, &j1, &out), 0);
            cap_snap after = cap_take(c);
            cap_same(&before, &after);
            assert_true(fabs(allot_sched_frag_milli(s) - frag) < 1e-9);
            char msg[256];
            assert_int_equal(allot_cluster_check(c, msg, sizeof msg), 0);
            if (nofit == ALLOT_NOFIT_FAIL) {
                assert_int_equal(out.n, 1);
                assert_dec(&out.v[0], ALLOT_DEC_FAIL, 1, UINT32_MAX);
                assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_FAILED);
            } else {
                assert_int_equal(out.n, 0);
                assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_PENDING);
                /* J0 ends: both tasks start, one per node */
                assert_int_equal(event(s, ALLOT_EV_FINISH, 0, 0, &out), 0);
                assert_int_equal(out.n, 2);
                for (int k = 0; k < 2; k++) {
                    assert_dec(&out.v[k], ALLOT_DEC_START, 1, ANY_NODE);
                    assert_int_equal(out.v[k].task, k);
                    assert_int_equal(out.v[k].ndev, 2);
                }
                assert_true(out.v[0].node != out.v[1].node);
                assert_int_equal(allot_cluster_free_milli(c), 0);
                assert_int_equal(allot_cluster_node(c, 0)->cpu_free, 14000);
                assert_int_equal(allot_cluster_node(c, 1)->cpu_free, 14000);
                /* and it ends as one */
                assert_int_equal(event(s, ALLOT_EV_FINISH, 1, 0, &out), 0);
                assert_int_equal(allot_cluster_free_milli(c), 4000);
                assert_int_equal(allot_sched_running(s), 0);
            }
            allot_decisions_free(&out);
            allot_sched_free(s);
            allot_cluster_free(c);
        }
    }
}

/* Fixture for tests that are expected to fail while a library bug stands:
 * the teardown frees what the test built even when an assertion jumps out. */
typedef struct fx {
    allot_cluster *c;
    allot_sched *s;
    allot_decisions out;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    allot_decisions_free(&f->out);
    allot_sched_free(f->s);
    allot_cluster_free(f->c);
    free(f);
    return 0;
}

static void test_decisions_count_excludes_rollbacks(void **state)
{
    /* allot_sched_decisions counts placement decisions made (per task);
     * the simulator reports it as "task placements made". A multi-task job
     * that is rolled back made no placement. Same setup as above: J0 holds
     * one GPU, J1 (2 tasks of 2 GPUs) places task 0, fails task 1, rolls
     * back. */
    fx *f = *state;
    nspec ns[] = {{"n0", "A10", 2, 16000, 0}, {"n1", "A10", 2, 16000, 0}};
    f->c = mkc(ns, 2);
    f->s = mks_full(f->c, ALLOT_POLICY_BESTFIT, 5, ALLOT_TIE_RANK, NULL, 0, ALLOT_ORDER_FIFO,
                    ALLOT_NOFIT_QUEUE, 1);
    allot_job j0 = mkjob(1000, 1000, 1, 1), j1 = mkjob(2000, 1000, 2, 2);
    assert_int_equal(submit(f->s, 0, &j0, &f->out), 0);
    assert_int_equal(allot_sched_decisions(f->s), 1);
    assert_int_equal(submit(f->s, 1, &j1, &f->out), 0);
    assert_int_equal(f->out.n, 0);
    assert_int_equal(allot_sched_decisions(f->s), 1); /* nothing placed */
    assert_int_equal(event(f->s, ALLOT_EV_FINISH, 0, 0, &f->out), 0);
    assert_int_equal(f->out.n, 2);
    assert_int_equal(allot_sched_decisions(f->s), 3); /* J0 + J1's two tasks */
}

/* ---- (7) pure placement ---------------------------------------------------------------- */

static void test_place_commit0_is_pure(void **state)
{
    (void)state;
    size_t nt;
    const allot_typical *t = fgd_example(&nt);
    const allot_shape shapes[] = {shp(1000, 1000, 1), shp(500, 300, 1),   shp(2000, 1000, 2),
                                  shp(1000, 0, 0),    shp(1000, 1000, 3), shp(8000, 900, 1)};
    for (int p = 0; p < ALLOT_POLICY__COUNT; p++) {
        nspec ns[] = {
            {"g4", "A10", 4, 32000, 0}, {"t2", "T4", 2, 16000, 0}, {"cpu", NULL, 0, 32000, 0}};
        allot_cluster *c = mkc(ns, 3);
        pre(c, 0, 1, 300);
        pre(c, 1, 0, 800);
        allot_sched *s = mks(c, (allot_policy)p, 11, t, nt);
        size_t nn = allot_cluster_nnodes(c), nd = allot_cluster_ndevices(c);
        allot_node nodes0[3];
        int16_t dev0[6];
        memcpy(nodes0, allot_cluster_nodes(c), nn * sizeof nodes0[0]);
        memcpy(dev0, allot_cluster_dev_free(c), nd * sizeof dev0[0]);
        int64_t free0 = allot_cluster_free_milli(c);
        double frag0 = allot_sched_frag_milli(s);
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            allot_decision a = placed(s, shapes[k]);
            if (p != ALLOT_POLICY_RANDOM) { /* the same again: nothing moved */
                allot_decision b = placed(s, shapes[k]);
                assert_int_equal(a.node, b.node);
                assert_memory_equal(a.devs, b.devs, a.ndev);
            }
            assert_memory_equal(allot_cluster_nodes(c), nodes0, nn * sizeof nodes0[0]);
            assert_memory_equal(allot_cluster_dev_free(c), dev0, nd * sizeof dev0[0]);
        }
        /* nothing fits 8 devices: ENOFIT, nothing moved */
        allot_shape big = shp(1000, 1000, 8);
        allot_decision d;
        assert_int_equal(allot_sched_place(s, &big, &d, 0), ALLOT_ENOFIT);
        assert_int_equal(allot_sched_place(s, &big, &d, 1), ALLOT_ENOFIT);
        assert_memory_equal(allot_cluster_nodes(c), nodes0, nn * sizeof nodes0[0]);
        assert_memory_equal(allot_cluster_dev_free(c), dev0, nd * sizeof dev0[0]);
        assert_int_equal(allot_cluster_free_milli(c), free0);
        assert_true(allot_sched_frag_milli(s) == frag0);
        assert_int_equal(allot_sched_decisions(s), 0);
        assert_int_equal(allot_sched_place(NULL, &big, &d, 0), ALLOT_EINVAL);
        assert_int_equal(allot_sched_place(s, NULL, &d, 0), ALLOT_EINVAL);
        assert_int_equal(allot_sched_place(s, &big, NULL, 0), ALLOT_EINVAL);

        /* commit = 1 takes exactly what the decision says */
        allot_shape sh = shp(500, 300, 1);
        assert_int_equal(allot_sched_place(s, &sh, &d, 1), 0);
        assert_int_equal(allot_sched_decisions(s), 1);
        assert_true(d.node < 2);
        assert_int_equal(d.ndev, 1);
        const allot_node *n = allot_cluster_node(c, d.node);
        for (uint32_t i = 0; i < nn; i++) {
            const allot_node *m = allot_cluster_node(c, i);
            if (i != d.node) {
                assert_memory_equal(m, &nodes0[i], sizeof *m);
                continue;
            }
            assert_int_equal(m->cpu_free, nodes0[i].cpu_free - 500);
            assert_int_equal(m->milli_free, nodes0[i].milli_free - 300);
            assert_int_equal(m->ntasks, nodes0[i].ntasks + 1);
        }
        for (int k = 0; k < n->ndev; k++) {
            int16_t want = dev0[n->dev0 + (uint32_t)k] - (k == d.devs[0] ? 300 : 0);
            assert_int_equal(allot_cluster_dev_free(c)[n->dev0 + (uint32_t)k], want);
        }
        assert_int_equal(allot_cluster_free_milli(c), free0 - 300);
        allot_sched_free(s);
        allot_cluster_free(c);
    }
}

/* ---- (6) property test ---------------------------------------------------------------- */

#define PT_MAXJOBS  4096
#define PT_MAXTASKS 4

enum { MJ_UNUSED = 0, MJ_PENDING, MJ_RUNNING, MJ_DONE };

typedef struct mjob {
    allot_job desc;
    int st;                /* MJ_* */
    allot_job_state final; /* when MJ_DONE */
    uint32_t node[PT_MAXTASKS];
    uint8_t devs[PT_MAXTASKS][8];
} mjob;

typedef struct idset {
    uint32_t v[PT_MAXJOBS];
    uint32_t pos[PT_MAXJOBS]; /* index + 1; 0 = absent */
    size_t n;
} idset;

static void set_add(idset *s, uint32_t id)
{
    assert_int_equal(s->pos[id], 0);
    s->v[s->n] = id;
    s->pos[id] = (uint32_t)++s->n;
}

static void set_del(idset *s, uint32_t id)
{
    assert_true(s->pos[id] != 0);
    size_t i = s->pos[id] - 1;
    uint32_t last = s->v[--s->n];
    s->v[i] = last;
    s->pos[last] = (uint32_t)i + 1;
    s->pos[id] = 0;
}

/* 20 nodes in 2 zones. Chip ids: A10 0, T4 1, V100M16 2, H800 3 (no nodes). */
static allot_cluster *prop_cluster(void)
{
    allot_cluster *c = allot_cluster_new("prop");
    assert_int_equal(allot_cluster_chip_id(c, "A10"), 0);
    assert_int_equal(allot_cluster_chip_id(c, "T4"), 1);
    assert_int_equal(allot_cluster_chip_id(c, "V100M16"), 2);
    assert_int_equal(allot_cluster_chip_id(c, "H800"), 3);
    for (int k = 0; k < 20; k++) {
        char zn[16], rn[16], nm[16];
        snprintf(zn, sizeof zn, "z%d", k % 2);
        snprintf(rn, sizeof rn, "r%d", k % 4);
        snprintf(nm, sizeof nm, "node%02d", k);
        int r = allot_cluster_rack(c, zn, "b", rn);
        const char *chip;
        int nd;
        int64_t cpu, mem;
        if (k < 6)
            chip = "A10", nd = 8, cpu = 96000, mem = 393216;
        else if (k < 12)
            chip = "T4", nd = 2, cpu = 32000, mem = 131072;
        else if (k < 16)
            chip = "V100M16", nd = 4, cpu = 48000, mem = 196608;
        else if (k < 18)
            chip = NULL, nd = 0, cpu = 64000, mem = 262144;
        else
            chip = "A10", nd = 1, cpu = 16000, mem = 65536;
        assert_int_equal(allot_cluster_add_node(c, nm, chip, nd, cpu, mem, (uint32_t)r), k);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static const allot_typical *prop_typical(size_t *n)
{
    static allot_typical t[7];
    t[0] = typ(4000, 1000, 1, 0, 0.35);
    t[1] = typ(2000, 500, 1, 0, 0.20);
    t[2] = typ(1000, 250, 1, 0, 0.10);
    t[3] = typ(8000, 1000, 2, 0, 0.05);
    t[4] = typ(16000, 1000, 8, 0, 0.05);
    t[5] = typ(4000, 0, 0, 0, 0.15);
    t[6] = typ(2000, 810, 1, 1u << 0, 0.10);
    *n = 7;
    return t;
}

static allot_job rand_job(allot_rng *r)
{
    static const int32_t common[] = {100, 250, 300, 470, 500, 810, 999};
    allot_job j = mkjob(0, 0, 0, 1);
    uint64_t u = allot_rng_below(r, 100);
    if (u < 15) {
        /* CPU only */
    } else if (u < 50) {
        j.shape.ndev = 1;
        j.shape.milli = allot_rng_below(r, 2) ? common[allot_rng_below(r, 7)]
                                              : 1 + (int32_t)allot_rng_below(r, 999);
    } else if (u < 85) {
        j.shape.ndev = 1;
        j.shape.milli = 1000;
    } else if (u < 96) {
        j.shape.ndev = allot_rng_below(r, 2) ? 2 : 4;
        j.shape.milli = 1000;
    } else if (u < 99) {
        j.shape.ndev = 8;
        j.shape.milli = 1000;
    } else {
        j.shape.ndev = 16; /* more than any node */
        j.shape.milli = 1000;
    }
    j.shape.cpu = (int64_t)allot_rng_below(r, 17) * 1000;
    j.shape.mem = (int64_t)allot_rng_below(r, 9) * 8192;
    if (j.shape.ndev > 0) {
        uint64_t v = allot_rng_below(r, 100);
        if (v < 80)
            j.shape.chips = 0;
        else if (v < 93)
            j.shape.chips = (allot_chip_mask)1 << allot_rng_below(r, 3);
        else if (v < 99)
            j.shape.chips = 0x7 & ~((allot_chip_mask)1 << allot_rng_below(r, 3));
        else
            j.shape.chips = (allot_chip_mask)1 << 3; /* H800: no nodes */
    }
    j.ntasks = allot_rng_below(r, 100) < 88 ? 1 : 2 + (uint32_t)allot_rng_below(r, 3);
    j.priority = (int16_t)((int)allot_rng_below(r, 5) - 2);
    return j;
}

static int chip_ok(const allot_node *n, const allot_shape *sh)
{
    if (sh->ndev == 0) return 1;
    if (n->chip == ALLOT_NO_CHIP) return 0;
    return sh->chips == 0 || ((sh->chips >> n->chip) & 1);
}

/* How many tasks of this shape the whole fleet holds when empty, down nodes
 * included (they may be repaired). Tasks are identical and nodes independent,
 * so this is exact. */
static int64_t fleet_cap(const allot_cluster *c, const allot_shape *sh)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < allot_cluster_nnodes(c); i++) {
        const allot_node *n = allot_cluster_node(c, i);
        if (!chip_ok(n, sh)) continue;
        if (n->cpu_cap < sh->cpu || n->mem_cap < sh->mem || n->ndev < sh->ndev) continue;
        int64_t k = INT32_MAX; /* "unbounded" for a task that asks nothing */
        if (sh->ndev > 0) k = sh->milli == 1000 ? n->ndev / sh->ndev : n->ndev * (1000 / sh->milli);
        if (sh->cpu > 0 && n->cpu_cap / sh->cpu < k) k = n->cpu_cap / sh->cpu;
        if (sh->mem > 0 && n->mem_cap / sh->mem < k) k = n->mem_cap / sh->mem;
        total += k;
    }
    return total;
}

/* Whether one task of the shape fits some UP node now. */
static int fits_now(const allot_cluster *c, const allot_shape *sh)
{
    const int16_t *df = allot_cluster_dev_free(c);
    for (uint32_t i = 0; i < allot_cluster_nnodes(c); i++) {
        const allot_node *n = allot_cluster_node(c, i);
        if (n->state != ALLOT_NODE_UP || !chip_ok(n, sh)) continue;
        if (n->cpu_free < sh->cpu || n->mem_free < sh->mem) continue;
        int cnt = 0;
        for (int k = 0; k < n->ndev; k++) cnt += df[n->dev0 + (uint32_t)k] >= sh->milli;
        if (cnt >= sh->ndev) return 1;
    }
    return 0;
}

typedef struct prop_stats {
    long starts, stops, fails, finishes, cancels, downs, ups, errors, pending_max;
} prop_stats;

static void model_release(const allot_cluster *c, mjob *m, int32_t *used, int64_t *cpu_used,
                          int64_t *mem_used)
{
    for (uint32_t t = 0; t < m->desc.ntasks; t++) {
        const allot_node *n = allot_cluster_node(c, m->node[t]);
        for (int k = 0; k < m->desc.shape.ndev; k++)
            used[n->dev0 + m->devs[t][k]] -= m->desc.shape.milli;
        cpu_used[m->node[t]] -= m->desc.shape.cpu;
        mem_used[m->node[t]] -= m->desc.shape.mem;
    }
}

static void property_run(allot_policy pol, uint64_t seed, int nevents, int episode_len,
                         prop_stats *st)
{
    size_t nt;
    const allot_typical *typl = prop_typical(&nt);
    allot_cluster *base = prop_cluster();
    uint32_t nn = allot_cluster_nnodes(base), nd = allot_cluster_ndevices(base);
    mjob *jobs = calloc(PT_MAXJOBS, sizeof *jobs);
    idset *pend = calloc(1, sizeof *pend), *run = calloc(1, sizeof *run);
    int32_t *used = calloc(nd, sizeof *used);
    int64_t *cpu_used = calloc(nn, sizeof *cpu_used), *mem_used = calloc(nn, sizeof *mem_used);
    int16_t *devsnap = calloc(nd, sizeof *devsnap);
    assert_true(jobs && pend && run && used && cpu_used && mem_used && devsnap);
    allot_rng rng;
    allot_rng_seed(&rng, seed);
    allot_decisions dec = {0};
    int done = 0;
    for (int ep = 0; done < nevents; ep++) {
        allot_cluster *c = allot_cluster_clone(base);
        allot_tiebreak tb = (allot_tiebreak)(ep % 2);
        allot_queue_order order = (allot_queue_order)((ep / 2) % 2);
        allot_nofit nofit = ep % 5 == 4 ? ALLOT_NOFIT_FAIL : ALLOT_NOFIT_QUEUE;
        allot_sched *s =
            mks_full(c, pol, seed * 1000 + (uint64_t)ep, tb, typl, nt, order, nofit, 1);
        memset(jobs, 0, PT_MAXJOBS * sizeof *jobs);
        memset(pend, 0, sizeof *pend);
        memset(run, 0, sizeof *run);
        memset(used, 0, nd * sizeof *used);
        memset(cpu_used, 0, nn * sizeof *cpu_used);
        memset(mem_used, 0, nn * sizeof *mem_used);
        uint32_t next_id = 0;
        int len = episode_len < nevents - done ? episode_len : nevents - done;
        for (int e = 0; e < len; e++, done++) {
            allot_event ev;
            memset(&ev, 0, sizeof ev);
            ev.time = e;
            ev.kind = ALLOT_EV_TICK;
            int want_rc = 0, expect_fail = -1, fit_before = -1;
            allot_job dup;
            uint64_t u = allot_rng_below(&rng, 100);
            if (u < 38 && next_id < PT_MAXJOBS) {
                uint32_t id = next_id++;
                jobs[id].desc = rand_job(&rng);
                ev.kind = ALLOT_EV_SUBMIT;
                ev.job = id;
                ev.desc = &jobs[id].desc;
                const allot_shape *sh = &jobs[id].desc.shape;
                if (nofit == ALLOT_NOFIT_QUEUE || fleet_cap(c, sh) < jobs[id].desc.ntasks)
                    expect_fail = fleet_cap(c, sh) < jobs[id].desc.ntasks;
                if (jobs[id].desc.ntasks == 1) fit_before = fits_now(c, sh);
                jobs[id].st = MJ_PENDING;
                set_add(pend, id);
            } else if (u < 66) {
                if (run->n) {
                    ev.kind = ALLOT_EV_FINISH;
                    ev.job = run->v[allot_rng_below(&rng, run->n)];
                }
            } else if (u < 76) {
                idset *from = allot_rng_below(&rng, 2) ? pend : run;
                if (from->n) {
                    ev.kind = ALLOT_EV_CANCEL;
                    ev.job = from->v[allot_rng_below(&rng, from->n)];
                }
            } else if (u < 80) {
                ev.kind = ALLOT_EV_NODE_DOWN;
                ev.node = (uint32_t)allot_rng_below(&rng, nn);
            } else if (u < 86) {
                ev.kind = ALLOT_EV_NODE_UP;
                ev.node = (uint32_t)allot_rng_below(&rng, nn);
            } else if (u < 91) {
                /* tick */
            } else if (u < 93) {
                if (next_id) { /* duplicate submit */
                    dup = rand_job(&rng);
                    ev.kind = ALLOT_EV_SUBMIT;
                    ev.job = (uint32_t)allot_rng_below(&rng, next_id);
                    ev.desc = &dup;
                    want_rc = ALLOT_EEXIST;
                }
            } else if (u < 95) { /* unknown job */
                ev.kind = allot_rng_below(&rng, 2) ? ALLOT_EV_FINISH : ALLOT_EV_CANCEL;
                ev.job = next_id + (uint32_t)allot_rng_below(&rng, 100);
                want_rc = ALLOT_EINVAL;
            } else if (u < 97) { /* finishing a job that has not started */
                if (pend->n) {
                    ev.kind = ALLOT_EV_FINISH;
                    ev.job = pend->v[allot_rng_below(&rng, pend->n)];
                    want_rc = ALLOT_ESTATE;
                }
            } else { /* ending a job that already ended */
                for (int tries = 0; tries < 4 && next_id; tries++) {
                    uint32_t id = (uint32_t)allot_rng_below(&rng, next_id);
                    if (jobs[id].st == MJ_DONE) {
                        ev.kind = allot_rng_below(&rng, 2) ? ALLOT_EV_FINISH : ALLOT_EV_CANCEL;
                        ev.job = id;
                        want_rc = ALLOT_ESTATE;
                        break;
                    }
                }
            }
            int do_snap = e % 61 == 0;
            if (do_snap) { /* a pure placement must change nothing */
                memcpy(devsnap, allot_cluster_dev_free(c), nd * sizeof *devsnap);
                allot_shape probe = rand_job(&rng).shape;
                allot_decision pd;
                int prc = allot_sched_place(s, &probe, &pd, 0);
                assert_true(prc == 0 || prc == ALLOT_ENOFIT);
                assert_int_equal(prc == 0, fits_now(c, &probe));
                assert_memory_equal(devsnap, allot_cluster_dev_free(c), nd * sizeof *devsnap);
            }

            int rc = allot_sched_handle(s, &ev, (allot_decisions_clear(&dec), &dec));
            if (rc != want_rc)
                fail_msg("%s seed %llu episode %d event %d (kind %d job %u node %u): rc %d (%s), "
                         "want %d",
                         allot_policy_name(pol), (unsigned long long)seed, ep, e, ev.kind, ev.job,
                         ev.node, rc, allot_errname(rc), want_rc);
            if (rc != 0) {
                st->errors++;
                assert_int_equal(dec.n, 0);
            } else if (ev.kind == ALLOT_EV_FINISH || ev.kind == ALLOT_EV_CANCEL) {
                mjob *m = &jobs[ev.job];
                if (m->st == MJ_RUNNING) {
                    model_release(c, m, used, cpu_used, mem_used);
                    set_del(run, ev.job);
                } else {
                    assert_int_equal(ev.kind, ALLOT_EV_CANCEL);
                    assert_int_equal(m->st, MJ_PENDING);
                    set_del(pend, ev.job);
                }
                m->st = MJ_DONE;
                m->final = ev.kind == ALLOT_EV_FINISH ? ALLOT_JOB_SUCCEEDED : ALLOT_JOB_CANCELLED;
                if (ev.kind == ALLOT_EV_FINISH)
                    st->finishes++;
                else
                    st->cancels++;
            } else if (ev.kind == ALLOT_EV_NODE_DOWN) {
                st->downs++;
            } else if (ev.kind == ALLOT_EV_NODE_UP) {
                st->ups++;
            }

            /* the decisions, checked against the model */
            for (size_t k = 0; k < dec.n;) {
                const allot_decision *d = &dec.v[k];
                assert_true(d->job < next_id);
                mjob *m = &jobs[d->job];
                if (d->kind == ALLOT_DEC_START) {
                    assert_int_equal(m->st, MJ_PENDING);
                    uint32_t ntk = m->desc.ntasks;
                    assert_true(k + ntk <= dec.n);
                    for (uint32_t t = 0; t < ntk; t++) {
                        const allot_decision *x = &dec.v[k + t];
                        assert_int_equal(x->kind, ALLOT_DEC_START);
                        assert_int_equal(x->job, d->job);
                        assert_int_equal(x->task, t);
                        assert_true(x->node < nn);
                        const allot_node *n = allot_cluster_node(c, x->node);
                        assert_int_equal(n->state, ALLOT_NODE_UP);
                        assert_true(chip_ok(n, &m->desc.shape));
                        assert_int_equal(x->ndev, m->desc.shape.ndev);
                        assert_int_equal(x->milli, m->desc.shape.milli);
                        uint64_t seen = 0;
                        for (int i = 0; i < x->ndev; i++) {
                            assert_true(x->devs[i] < n->ndev);
                            assert_false((seen >> x->devs[i]) & 1);
                            seen |= (uint64_t)1 << x->devs[i];
                            m->devs[t][i] = x->devs[i];
                            used[n->dev0 + x->devs[i]] += x->milli;
                        }
                        m->node[t] = x->node;
                        cpu_used[x->node] += m->desc.shape.cpu;
                        mem_used[x->node] += m->desc.shape.mem;
                    }
                    set_del(pend, d->job);
                    set_add(run, d->job);
                    m->st = MJ_RUNNING;
                    st->starts++;
                    k += ntk;
                } else if (d->kind == ALLOT_DEC_STOP) {
                    assert_int_equal(ev.kind, ALLOT_EV_NODE_DOWN);
                    assert_int_equal(m->st, MJ_RUNNING);
                    assert_int_equal(d->node, ev.node);
                    int hit = 0;
                    for (uint32_t t = 0; t < m->desc.ntasks; t++) hit |= m->node[t] == ev.node;
                    assert_true(hit);
                    model_release(c, m, used, cpu_used, mem_used);
                    set_del(run, d->job);
                    set_add(pend, d->job);
                    m->st = MJ_PENDING;
                    st->stops++;
                    k++;
                } else {
                    assert_int_equal(d->kind, ALLOT_DEC_FAIL);
                    assert_int_equal(ev.kind, ALLOT_EV_SUBMIT);
                    assert_int_equal(d->job, ev.job);
                    assert_int_equal(d->node, UINT32_MAX);
                    assert_int_equal(m->st, MJ_PENDING);
                    set_del(pend, d->job);
                    m->st = MJ_DONE;
                    m->final = ALLOT_JOB_FAILED;
                    st->fails++;
                    k++;
                }
            }
            /* submits: FAIL exactly when the fleet can never hold the job
             * (or, with nofit FAIL, when it does not fit now); a single task
             * that fitted somewhere must have started */
            if (rc == 0 && ev.kind == ALLOT_EV_SUBMIT) {
                const mjob *m = &jobs[ev.job];
                if (expect_fail >= 0 && expect_fail != (m->st == MJ_DONE))
                    fail_msg("%s episode %d event %d: job %u %s (fleet holds %lld of %u tasks)",
                             allot_policy_name(pol), ep, e, ev.job,
                             m->st == MJ_DONE ? "failed" : "was accepted",
                             (long long)fleet_cap(c, &m->desc.shape), m->desc.ntasks);
                if (fit_before == 1 && m->st != MJ_RUNNING)
                    fail_msg("%s episode %d event %d: job %u fitted but did not start",
                             allot_policy_name(pol), ep, e, ev.job);
                if (fit_before == 0) assert_true(m->st != MJ_RUNNING);
            }

            /* counts and states */
            assert_int_equal(allot_sched_pending(s), pend->n);
            assert_int_equal(allot_sched_running(s), run->n);
            if (ev.job < next_id) {
                const mjob *m = &jobs[ev.job];
                allot_job_state want = m->st == MJ_PENDING   ? ALLOT_JOB_PENDING
                                       : m->st == MJ_RUNNING ? ALLOT_JOB_RUNNING
                                                             : m->final;
                assert_int_equal(allot_sched_job_state(s, ev.job), want);
            }
            for (size_t k = 0; k < dec.n; k++) {
                const mjob *m = &jobs[dec.v[k].job];
                allot_job_state want = m->st == MJ_PENDING   ? ALLOT_JOB_PENDING
                                       : m->st == MJ_RUNNING ? ALLOT_JOB_RUNNING
                                                             : m->final;
                assert_int_equal(allot_sched_job_state(s, dec.v[k].job), want);
            }
            /* capacity: the cluster holds exactly what the decisions say */
            const int16_t *df = allot_cluster_dev_free(c);
            for (uint32_t i = 0; i < nn; i++) {
                const allot_node *n = allot_cluster_node(c, i);
                if (n->state == ALLOT_NODE_DOWN) {
                    assert_int_equal(cpu_used[i], 0);
                    assert_int_equal(n->cpu_free, n->cpu_cap);
                }
                for (int k = 0; k < n->ndev; k++) {
                    if (df[n->dev0 + (uint32_t)k] != ALLOT_MILLI - used[n->dev0 + (uint32_t)k])
                        fail_msg("%s episode %d event %d: node %u device %d free %d, model %d",
                                 allot_policy_name(pol), ep, e, i, k, df[n->dev0 + (uint32_t)k],
                                 ALLOT_MILLI - used[n->dev0 + (uint32_t)k]);
                }
                assert_int_equal(n->cpu_free, n->cpu_cap - cpu_used[i]);
                assert_int_equal(n->mem_free, n->mem_cap - mem_used[i]);
            }
            /* the incremental fragmentation total equals a recomputation */
            double frag = 0;
            for (uint32_t i = 0; i < nn; i++) {
                const allot_node *n = allot_cluster_node(c, i);
                if (n->state != ALLOT_NODE_UP) continue;
                frag += allot_fgd_node_frag(typl, nt, n->chip, n->cpu_free, df + n->dev0, n->ndev);
            }
            double got = allot_sched_frag_milli(s);
            if (fabs(got - frag) > 1e-6 + 1e-9 * fabs(frag))
                fail_msg("%s episode %d event %d: frag %.9f, recomputed %.9f",
                         allot_policy_name(pol), ep, e, got, frag);
            /* no pending single-task job fits anywhere: every event that
             * frees capacity retries the whole queue */
            if (nofit == ALLOT_NOFIT_QUEUE) {
                for (size_t k = 0; k < pend->n; k++) {
                    const mjob *m = &jobs[pend->v[k]];
                    if (m->desc.ntasks == 1 && fits_now(c, &m->desc.shape))
                        fail_msg("%s episode %d event %d (kind %d): pending job %u fits now",
                                 allot_policy_name(pol), ep, e, ev.kind, pend->v[k]);
                }
            }
            if ((long)pend->n > st->pending_max) st->pending_max = (long)pend->n;
        }
        allot_sched_free(s);
        allot_cluster_free(c);
    }
    allot_decisions_free(&dec);
    free(jobs);
    free(pend);
    free(run);
    free(used);
    free(cpu_used);
    free(mem_used);
    free(devsnap);
    allot_cluster_free(base);
}

static void test_property_random_events(void **state)
{
    (void)state;
    /* 100,000 events per policy in the plain build; fewer under ASan */
    const int N = UNDER_ASAN ? 50000 : 100000;
    for (int p = 0; p < ALLOT_POLICY__COUNT; p++) {
        prop_stats st;
        memset(&st, 0, sizeof st);
        property_run((allot_policy)p, 1000 + (uint64_t)p, N, 2500, &st);
        /* the run exercised every kind of event and decision */
        assert_true(st.starts > N / 20);
        assert_true(st.stops > 0);
        assert_true(st.fails > 0);
        assert_true(st.finishes > N / 20);
        assert_true(st.cancels > 0);
        assert_true(st.downs > 0 && st.ups > 0);
        assert_true(st.errors > 0);
        assert_true(st.pending_max > 0);
    }
}

/* The server's recovery: RESTORE takes exactly the given devices without a
 * decision; a second RESTORE on the same devices is refused and leaves no
 * trace; REQUEUE stops the job (DEC_STOP) and places it again. */
static void test_restore_and_requeue(void **state)
{
    (void)state;
    nspec v[] = {{"a", "V100", 4, 64000, 0}, {"b", "V100", 4, 64000, 0}};
    allot_cluster *c = mkc(v, 2);
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.check_invariants = 1;
    allot_sched *s;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    allot_decisions out = {0};
    allot_job j = mkjob(1000, 1000, 2, 2);
    allot_decision placed[2] = {{.node = 1, .ndev = 2, .devs = {1, 3}},
                                {.node = 0, .ndev = 2, .devs = {0, 1}}};
    allot_event ev = {.kind = ALLOT_EV_RESTORE, .time = 5, .job = 7, .desc = &j, .placed = placed};
    assert_int_equal(allot_sched_handle(s, &ev, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(allot_sched_job_state(s, 7), ALLOT_JOB_RUNNING);
    assert_int_equal(allot_cluster_node(c, 1)->whole_free, 2);
    assert_int_equal(allot_cluster_dev_free(c)[allot_cluster_node(c, 1)->dev0 + 1], 0);
    assert_int_equal(allot_cluster_dev_free(c)[allot_cluster_node(c, 1)->dev0 + 2], 1000);
    /* the same devices again: refused, nothing taken */
    ev.job = 8;
    assert_int_equal(allot_sched_handle(s, &ev, &out), ALLOT_ENOFIT);
    assert_int_equal(allot_cluster_node(c, 0)->whole_free, 2);
    /* the slot is free again: a plain submit with that id works */
    allot_job one = mkjob(0, 1000, 1, 1);
    allot_event sub = {.kind = ALLOT_EV_SUBMIT, .time = 6, .job = 8, .desc = &one};
    assert_int_equal(allot_sched_handle(s, &sub, &out), 0);
    assert_int_equal(allot_sched_job_state(s, 8), ALLOT_JOB_RUNNING);
    /* requeue 7: stop then start again (4 devices still free) */
    allot_decisions_clear(&out);
    allot_event rq = {.kind = ALLOT_EV_REQUEUE, .time = 10, .job = 7};
    assert_int_equal(allot_sched_handle(s, &rq, &out), 0);
    assert_true(out.n >= 3);
    assert_int_equal(out.v[0].kind, ALLOT_DEC_STOP);
    assert_int_equal(out.v[0].job, 7);
    assert_int_equal(out.v[1].kind, ALLOT_DEC_START);
    assert_int_equal(allot_sched_job_state(s, 7), ALLOT_JOB_RUNNING);
    assert_int_equal(allot_sched_job_epoch(s, 7), 2);
    rq.job = 99;
    assert_int_equal(allot_sched_handle(s, &rq, &out), ALLOT_EINVAL);
    /* a finished job is forgotten and its id used again; a live one is not */
    allot_event fg = {.kind = ALLOT_EV_FORGET, .time = 10, .job = 7};
    assert_int_equal(allot_sched_handle(s, &fg, &out), ALLOT_ESTATE);
    allot_event cn = {.kind = ALLOT_EV_CANCEL, .time = 10, .job = 8};
    assert_int_equal(allot_sched_handle(s, &cn, &out), 0);
    fg.job = 8;
    assert_int_equal(allot_sched_handle(s, &fg, &out), 0);
    assert_int_equal(allot_sched_handle(s, &fg, &out), ALLOT_EINVAL);
    allot_event again = {.kind = ALLOT_EV_SUBMIT, .time = 10, .job = 8, .desc = &one};
    assert_int_equal(allot_sched_handle(s, &again, &out), 0);
    assert_int_equal(allot_sched_job_state(s, 8), ALLOT_JOB_RUNNING);
    /* drain node 0: what runs there stays, nothing new lands there */
    allot_event dr = {.kind = ALLOT_EV_NODE_DRAIN, .time = 11, .node = 0};
    assert_int_equal(allot_sched_handle(s, &dr, &out), 0);
    int on0 = allot_cluster_node(c, 0)->ntasks;
    for (uint32_t id = 20; id < 26; id++) {
        allot_event sub2 = {.kind = ALLOT_EV_SUBMIT, .time = 12, .job = id, .desc = &one};
        assert_int_equal(allot_sched_handle(s, &sub2, &out), 0);
    }
    assert_int_equal((int)allot_cluster_node(c, 0)->ntasks, on0);
    /* undrained: the waiting ones may use it */
    allot_event up = {.kind = ALLOT_EV_NODE_UP, .time = 13, .node = 0};
    assert_int_equal(allot_sched_handle(s, &up, &out), 0);
    assert_true((int)allot_cluster_node(c, 0)->ntasks > on0);
    allot_decisions_free(&out);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_bestfit_worked_example),
        cmocka_unit_test(test_dotprod),
        cmocka_unit_test(test_gpupacking),
        cmocka_unit_test(test_gpuclustering),
        cmocka_unit_test(test_fgd_device_choice),
        cmocka_unit_test(test_fgd_node_choice),
        cmocka_unit_test(test_fgd_ties_and_lookahead),
        cmocka_unit_test(test_random_policy),
        cmocka_unit_test(test_rank_tiebreak),
        cmocka_unit_test(test_fgd_node_frag),
        cmocka_unit_test(test_typical_from_workload),
        cmocka_unit_test(test_submit_queue_finish),
        cmocka_unit_test(test_queue_order),
        cmocka_unit_test(test_no_head_of_line_blocking),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_never_fits),
        cmocka_unit_test(test_nofit_fail),
        cmocka_unit_test(test_node_down_up),
        cmocka_unit_test(test_node_down_multitask),
        cmocka_unit_test(test_multitask_rollback),
        cmocka_unit_test_setup_teardown(test_decisions_count_excludes_rollbacks, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(test_place_commit0_is_pure),
        cmocka_unit_test(test_property_random_events),
        cmocka_unit_test(test_restore_and_requeue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
