/* test_gang.c - gangs (multi-task jobs): all or nothing, in the smallest
 * topology domain that fits, topology requirements with a maximum wait. */
#include "testutil.h"

#include "allot/rng.h"
#include "allot/sched.h"

/* 1 zone, 2 blocks x 2 racks x 2 nodes, each node 8 H800 and 128 cores:
 * node ids 0..7, racks of two consecutive nodes, blocks of four. */
static allot_cluster *fleet(void)
{
    allot_cluster *c = allot_cluster_new("gang");
    for (int i = 0; i < 8; i++) {
        char name[16], rack[16], block[16];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(rack, sizeof rack, "r%d", i / 2);
        snprintf(block, sizeof block, "b%d", i / 4);
        int r = allot_cluster_rack(c, "z", block, rack);
        assert_true(r >= 0);
        assert_int_equal(allot_cluster_add_node(c, name, "H800", 8, 128000, 1 << 20, (uint32_t)r),
                         i);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static allot_sched *sched_on(allot_cluster *c)
{
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.check_invariants = 1;
    allot_sched *s = NULL;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    return s;
}

static allot_job gang(uint32_t ntasks, int ndev, allot_topo topo, uint16_t wait_min)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = ntasks;
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 8000;
    j.shape.mem = 1024;
    j.topo = (uint8_t)topo;
    j.topo_wait = wait_min;
    j.submit = 0;
    j.duration = ALLOT_TIME_NONE;
    return j;
}

static int submit(allot_sched *s, uint32_t id, const allot_job *j, int64_t t, allot_decisions *d)
{
    allot_event ev = {.kind = ALLOT_EV_SUBMIT, .time = t, .job = id, .desc = j};
    return allot_sched_handle(s, &ev, d);
}

static void smallest_domain(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_sched *s = sched_on(c);
    allot_decisions d = {0};
    int level, racks;

    /* 2 x 4 devices fit one node */
    allot_job a = gang(2, 4, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 1, &a, 0, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.v[0].node, d.v[1].node);
    assert_int_equal(allot_sched_job_span(s, 1, &level, &racks), 0);
    assert_int_equal(level, 0);
    assert_int_equal(racks, 1);

    /* 2 x 8: no node has 16 free, a rack has (two empty nodes): level 1 */
    allot_decisions_clear(&d);
    allot_job b = gang(2, 8, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 2, &b, 0, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(allot_sched_job_span(s, 2, &level, &racks), 0);
    assert_int_equal(level, 1);
    assert_int_equal(racks, 1);
    assert_int_equal(d.v[0].node / 2, d.v[1].node / 2); /* same rack */

    /* 4 x 8 = 32 devices: no rack has 32 free; block b1 (or b0's free part)
     * does: level 2, two racks */
    allot_decisions_clear(&d);
    allot_job g = gang(4, 8, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 3, &g, 0, &d), 0);
    assert_int_equal(d.n, 4);
    assert_int_equal(allot_sched_job_span(s, 3, &level, &racks), 0);
    assert_int_equal(level, 2);
    assert_int_equal(racks, 2);
    for (size_t k = 1; k < d.n; k++) assert_int_equal(d.v[k].node / 4, d.v[0].node / 4);

    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void packs_into_fullest_rack(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_sched *s = sched_on(c);
    allot_decisions d = {0};
    /* take 4 devices on node 2 (rack r1): r1 has 12 free, the others 16 */
    uint8_t devs[4] = {0, 1, 2, 3};
    assert_int_equal(allot_cluster_take(c, 2, devs, 4, 1000, 1000, 0), 0);
    allot_sched_free(s); /* a scheduler over capacity already in use */
    s = sched_on(c);
    /* 3 x 4 = 12 devices: no node holds 12 (node 3 has 8 free, node 2 has 4);
     * rack r1 (12 free) is the fullest rack that fits and must be chosen over
     * the empty racks (16 free each) */
    allot_job g = gang(3, 4, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 1, &g, 0, &d), 0);
    assert_int_equal(d.n, 3);
    for (size_t k = 0; k < d.n; k++) assert_int_equal(d.v[k].node / 2, 1);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void hard_requirement_and_wait(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_sched *s = sched_on(c);
    allot_decisions d = {0};
    /* 3 x 8 = 24 devices cannot share a rack (16 per rack) */
    allot_job hard = gang(3, 8, ALLOT_TOPO_RACK, 0);
    assert_int_equal(submit(s, 1, &hard, 0, &d), 0);
    /* the requirement is hard and no rack could ever hold it: rejected at
     * submission rather than queued for ever */
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].kind, ALLOT_DEC_FAIL);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_FAILED);
    assert_int_equal(allot_sched_pending(s), 0);
    allot_event tick = {.kind = ALLOT_EV_TICK, .time = 100000};
    allot_decisions_clear(&d);
    assert_int_equal(allot_sched_handle(s, &tick, &d), 0);
    assert_int_equal(d.n, 0);

    /* the same with a 10-minute wait: placed across racks after 600 s */
    allot_job soft = gang(3, 8, ALLOT_TOPO_RACK, 10);
    soft.submit = 0;
    assert_int_equal(submit(s, 2, &soft, 0, &d), 0);
    assert_int_equal(d.n, 0);
    tick.time = 599;
    allot_decisions_clear(&d);
    assert_int_equal(allot_sched_handle(s, &tick, &d), 0);
    assert_int_equal(d.n, 0);
    tick.time = 600;
    assert_int_equal(allot_sched_handle(s, &tick, &d), 0);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.v[0].job, 2);
    int level, racks;
    assert_int_equal(allot_sched_job_span(s, 2, &level, &racks), 0);
    assert_int_equal(level, 2); /* a block: the smallest domain that fits */
    assert_int_equal(racks, 2);
    /* NODE requirement: 2 x 4 on one node */
    allot_job node = gang(2, 4, ALLOT_TOPO_NODE, 0);
    allot_decisions_clear(&d);
    assert_int_equal(submit(s, 3, &node, 700, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.v[0].node, d.v[1].node);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void all_or_nothing(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_sched *s = sched_on(c);
    allot_decisions d = {0};
    /* 9 x 8 = 72 devices > 64 in the fleet: never fits, rejected */
    allot_job big = gang(9, 8, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 1, &big, 0, &d), 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].kind, ALLOT_DEC_FAIL);
    /* fill 7 nodes, then 2 x 8 cannot start and leaves nothing behind */
    allot_decisions_clear(&d);
    allot_job seven = gang(7, 8, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 2, &seven, 0, &d), 0);
    assert_int_equal(d.n, 7);
    int64_t free_before = allot_cluster_free_milli(c);
    allot_decisions_clear(&d);
    allot_job two = gang(2, 8, ALLOT_TOPO_ANY, 0);
    assert_int_equal(submit(s, 3, &two, 0, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(allot_cluster_free_milli(c), free_before);
    /* the 7-node job finishes: the pending gang starts */
    allot_event fin = {.kind = ALLOT_EV_FINISH, .time = 10, .job = 2};
    assert_int_equal(allot_sched_handle(s, &fin, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.v[0].job, 3);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* random gangs and finishes with every invariant checked after each event */
static void random_gangs(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_sched *s = sched_on(c);
    allot_decisions d = {0};
    allot_rng r;
    allot_rng_seed(&r, 5);
    allot_job jobs[3000];
    int running[3000] = {0};
    int64_t t = 0;
    for (uint32_t id = 0; id < 3000; id++) {
        t += 10;
        jobs[id] = gang(1 + (uint32_t)allot_rng_below(&r, 6), 1 << allot_rng_below(&r, 4),
                        (allot_topo)allot_rng_below(&r, 5), (uint16_t)allot_rng_below(&r, 3));
        allot_decisions_clear(&d);
        assert_int_equal(submit(s, id, &jobs[id], t, &d), 0);
        for (size_t k = 0; k < d.n; k++)
            if (d.v[k].kind == ALLOT_DEC_START) running[d.v[k].job] = 1;
        /* finish a random running job now and then */
        if (allot_rng_below(&r, 2) == 0) {
            uint32_t x = (uint32_t)allot_rng_below(&r, id + 1);
            if (running[x]) {
                allot_event fin = {.kind = ALLOT_EV_FINISH, .time = t, .job = x};
                allot_decisions_clear(&d);
                assert_int_equal(allot_sched_handle(s, &fin, &d), 0);
                running[x] = 0;
                for (size_t k = 0; k < d.n; k++)
                    if (d.v[k].kind == ALLOT_DEC_START) running[d.v[k].job] = 1;
            }
        }
        if (id % 50 == 0) {
            allot_event tick = {.kind = ALLOT_EV_TICK, .time = t};
            allot_decisions_clear(&d);
            assert_int_equal(allot_sched_handle(s, &tick, &d), 0);
            for (size_t k = 0; k < d.n; k++)
                if (d.v[k].kind == ALLOT_DEC_START) running[d.v[k].job] = 1;
        }
    }
    /* every started job respects a hard topology requirement */
    for (uint32_t id = 0; id < 3000; id++) {
        int level, racks;
        if (allot_sched_job_span(s, id, &level, &racks) != 0) continue;
        if (jobs[id].topo != ALLOT_TOPO_ANY && jobs[id].topo_wait == 0)
            assert_true(level <= jobs[id].topo - 1);
        assert_true(racks >= 1 && racks <= 4);
    }
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smallest_domain),
        cmocka_unit_test(packs_into_fullest_rack),
        cmocka_unit_test(hard_requirement_and_wait),
        cmocka_unit_test(all_or_nothing),
        cmocka_unit_test(random_gangs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
