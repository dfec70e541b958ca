/* test_bfindex.c - the best-fit index must choose exactly what the linear scan
 * chooses: same node, same devices, same failures, through placements,
 * releases and node failures, on random heterogeneous fleets, and on a
 * crowded one (identical nodes and requests: thousands of nodes share a
 * bucket, which then keeps a treap). */
#include "testutil.h"

#include "allot/rng.h"
#include "allot/sched.h"

typedef struct held {
    allot_shape sh;
    allot_decision d;
} held;

static allot_cluster *random_fleet(allot_rng *r, int nodes, int crowded)
{
    static const char *chips[] = {"H800", "A10", "T4"};
    static const int devs[] = {8, 2, 4};
    allot_cluster *c = allot_cluster_new("prop");
    for (int i = 0; i < nodes; i++) {
        char name[32], rack[32];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(rack, sizeof rack, "r%d", i / 16);
        int rk = allot_cluster_rack(c, i % 2 ? "za" : "zb", NULL, rack);
        assert_true(rk >= 0);
        int k = crowded ? 0 : (int)allot_rng_below(r, 4);
        /* CPU: some over FGD's 128 cores */
        int64_t cpu = crowded ? 128000 : (int64_t)(8 + allot_rng_below(r, 248)) * 1000;
        int64_t mem = crowded ? 1 << 20 : (int64_t)(32 + allot_rng_below(r, 992)) * 1024;
        int id = allot_cluster_add_node(c, name, k == 3 ? NULL : chips[k], k == 3 ? 0 : devs[k],
                                        cpu, mem, (uint32_t)rk);
        assert_true(id >= 0);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static allot_shape random_shape(allot_rng *r, int crowded)
{
    allot_shape sh;
    memset(&sh, 0, sizeof sh);
    if (crowded) { /* whole devices, 12 cores each: full nodes look alike */
        sh.ndev = 1 << allot_rng_below(r, 4);
        sh.milli = 1000;
        sh.cpu = 12000 * (int64_t)sh.ndev;
        sh.mem = 65536;
        return sh;
    }
    uint64_t t = allot_rng_below(r, 10);
    if (t < 3) {
        sh.ndev = 1;
        sh.milli = 25 + (int32_t)allot_rng_below(r, 950);
    } else if (t < 7) {
        sh.ndev = 1 << allot_rng_below(r, 4);
        sh.milli = 1000;
    } else if (t < 8) {
        sh.ndev = 0;
    } else {
        sh.ndev = 1;
        sh.milli = 1000;
        sh.chips = (allot_chip_mask)1 << allot_rng_below(r, 3);
    }
    sh.cpu = (int64_t)(allot_rng_below(r, 16)) * 1000;
    sh.mem = (int64_t)(1 + allot_rng_below(r, 64)) * 1024;
    return sh;
}

static void run_same_choice(int crowded, uint64_t trials, int nodes, int steps)
{
    for (uint64_t trial = 0; trial < trials; trial++) {
        allot_rng r;
        allot_rng_seed(&r, 1000 + trial);
        allot_cluster *ca = random_fleet(&r, nodes + (int)trial * 20, crowded);
        allot_cluster *cb = allot_cluster_clone(ca);
        assert_non_null(cb);
        allot_sched_config a, b;
        allot_sched_config_init(&a);
        a.policy = ALLOT_POLICY_BESTFIT;
        a.seed = trial;
        b = a;
        b.scan_only = 1;
        allot_sched *sa, *sb;
        assert_int_equal(allot_sched_new(&sa, ca, &a), 0);
        assert_int_equal(allot_sched_new(&sb, cb, &b), 0);
        held *h = calloc(5000, sizeof *h);
        size_t n = 0;
        uint32_t nn = allot_cluster_nnodes(ca);
        for (int step = 0; step < steps; step++) {
            uint64_t op = allot_rng_below(&r, 100);
            if (op < 30 && n > 0) { /* release a random held task from both */
                size_t k = (size_t)allot_rng_below(&r, n);
                assert_int_equal(allot_sched_unplace(sa, &h[k].sh, &h[k].d), 0);
                assert_int_equal(allot_sched_unplace(sb, &h[k].sh, &h[k].d), 0);
                h[k] = h[--n];
                continue;
            }
            if (op < 32) { /* a node fails and comes back empty; drop its tasks */
                uint32_t node = (uint32_t)allot_rng_below(&r, nn);
                allot_decisions da = {0}, db = {0};
                allot_event ev = {.kind = ALLOT_EV_NODE_DOWN, .node = node};
                assert_int_equal(allot_sched_handle(sa, &ev, &da), 0);
                assert_int_equal(allot_sched_handle(sb, &ev, &db), 0);
                ev.kind = ALLOT_EV_NODE_UP;
                assert_int_equal(allot_sched_handle(sa, &ev, &da), 0);
                assert_int_equal(allot_sched_handle(sb, &ev, &db), 0);
                allot_decisions_free(&da);
                allot_decisions_free(&db);
                for (size_t k = 0; k < n;)
                    if (h[k].d.node == node)
                        h[k] = h[--n];
                    else
                        k++;
                continue;
            }
            allot_shape sh = random_shape(&r, crowded);
            allot_decision da, db;
            int ra = allot_sched_place(sa, &sh, &da, 1);
            int rb = allot_sched_place(sb, &sh, &db, 1);
            assert_int_equal(ra, rb);
            if (ra != 0) continue;
            assert_int_equal(da.node, db.node);
            assert_int_equal(da.ndev, db.ndev);
            assert_memory_equal(da.devs, db.devs, da.ndev);
            if (n < 5000) {
                h[n].sh = sh;
                h[n].d = da;
                n++;
            }
        }
        char msg[256];
        assert_int_equal(allot_cluster_check(ca, msg, sizeof msg), 0);
        free(h);
        allot_sched_free(sa);
        allot_sched_free(sb);
        allot_cluster_free(ca);
        allot_cluster_free(cb);
    }
}

static void same_choice(void **state)
{
    (void)state;
    run_same_choice(0, 12, 150, 4000);
}

static void same_choice_crowded(void **state)
{
    (void)state;
    run_same_choice(1, 3, 1500, 12000);
}

/* the worked example at the top of src/sched/bfindex.c */
static void worked_example(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("ex");
    int rk = allot_cluster_rack(c, NULL, NULL, NULL);
    assert_int_equal(allot_cluster_add_node(c, "A", "H800", 8, 128000, 1 << 20, (uint32_t)rk), 0);
    assert_int_equal(allot_cluster_add_node(c, "B", "H800", 8, 128000, 1 << 20, (uint32_t)rk), 1);
    assert_int_equal(allot_cluster_finalize(c), 0);
    /* A: 1 whole device and 8 cores free; B: 3 whole devices and 40 cores */
    uint8_t a_devs[7] = {0, 1, 2, 3, 4, 5, 6}, b_devs[5] = {0, 1, 2, 3, 4};
    assert_int_equal(allot_cluster_take(c, 0, a_devs, 7, 1000, 120000, 0), 0);
    assert_int_equal(allot_cluster_take(c, 1, b_devs, 5, 1000, 88000, 0), 0);
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    allot_sched *s;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    allot_shape sh = {.cpu = 4000, .mem = 0, .chips = 0, .milli = 1000, .ndev = 1};
    allot_decision d;
    assert_int_equal(allot_sched_place(s, &sh, &d, 0), 0);
    assert_int_equal(d.node, 0); /* A scores 98, B at most 73 */
    assert_int_equal(d.ndev, 1);
    assert_int_equal(d.devs[0], 7);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worked_example),
        cmocka_unit_test(same_choice),
        cmocka_unit_test(same_choice_crowded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
