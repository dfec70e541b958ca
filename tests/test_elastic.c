/* test_elastic.c - elastic jobs: grow into idle devices while nobody waits,
 * shrink (only the extra part) for a waiting job, run faster with more
 * tasks, and restart at their minimum after a preemption. */
#include "testutil.h"

#include "allot/sched.h"

static allot_cluster *one_node(int ndev)
{
    allot_cluster *c = allot_cluster_new("el");
    int r = allot_cluster_rack(c, NULL, NULL, NULL);
    assert_int_equal(allot_cluster_add_node(c, "n0", "H800", ndev, 128000, 1 << 20, (uint32_t)r),
                     0);
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static allot_sched *sched_new(allot_cluster *c, int preempt)
{
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.order = ALLOT_ORDER_PRIORITY;
    cfg.preempt = preempt;
    cfg.check_invariants = 1;
    allot_sched *s = NULL;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    return s;
}

static allot_job job(uint32_t ntasks, uint16_t max, int ndev, int64_t dur)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = ntasks;
    j.ntasks_max = max;
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 1000;
    j.shape.mem = 1024;
    j.duration = dur;
    return j;
}

static void handle(allot_sched *s, allot_event_kind k, uint32_t id, const allot_job *j, int64_t t,
                   allot_decisions *d)
{
    allot_decisions_clear(d);
    allot_event ev = {.kind = k, .time = t, .job = id, .desc = j};
    assert_int_equal(allot_sched_handle(s, &ev, d), 0);
}

static size_t count(const allot_decisions *d, allot_decision_kind k, uint32_t id)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) n += d->v[i].kind == k && d->v[i].job == id;
    return n;
}

/* The worked example of sched.c: one node of 8, E elastic 2..8 one-device
 * tasks with 800 s of work at 2 devices; J (4 devices, 50 s) at t=100. */
static void grow_shrink_regrow(void **state)
{
    (void)state;
    allot_cluster *c = one_node(8);
    allot_sched *s = sched_new(c, 0);
    allot_decisions d = {0};
    allot_job e = job(2, 8, 1, 800), j = job(1, 0, 4, 50);
    handle(s, ALLOT_EV_SUBMIT, 1, &e, 0, &d);
    assert_int_equal(count(&d, ALLOT_DEC_START, 1), 2);
    assert_int_equal(count(&d, ALLOT_DEC_GROW, 1), 6); /* nobody waits: all 8 devices */
    assert_int_equal(allot_cluster_free_milli(c), 0);
    assert_int_equal(allot_sched_job_end(s, 1), 200); /* 800 s of work at 4x the speed */

    handle(s, ALLOT_EV_SUBMIT, 2, &j, 100, &d);
    assert_int_equal(count(&d, ALLOT_DEC_SHRINK, 1), 4); /* only the extra part */
    assert_int_equal(count(&d, ALLOT_DEC_START, 2), 1);
    assert_int_equal(count(&d, ALLOT_DEC_PREEMPT, 1), 0);
    assert_int_equal(d.v[0].kind, ALLOT_DEC_SHRINK); /* room first, then the start */
    assert_int_equal(d.v[d.n - 1].kind, ALLOT_DEC_START);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_RUNNING);
    /* 400 s of work done by t=100; 400 left at 2x: ends at 300 */
    assert_int_equal(allot_sched_job_end(s, 1), 300);

    handle(s, ALLOT_EV_FINISH, 2, NULL, 150, &d);
    assert_int_equal(count(&d, ALLOT_DEC_GROW, 1), 4); /* back to 8 */
    /* 400 + 50 x 2 = 500 done; 300 left at 4x: 75 s */
    assert_int_equal(allot_sched_job_end(s, 1), 225);
    handle(s, ALLOT_EV_FINISH, 1, NULL, 225, &d);
    assert_int_equal(allot_cluster_free_milli(c), 8000);
    allot_sched_stats st;
    allot_sched_get_stats(s, &st);
    assert_int_equal(st.grows, 10);
    assert_int_equal(st.shrinks, 4);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* A waiting job that would not fit even with every extra task back leaves
 * the elastic job as it was (no shrink for nothing). */
static void no_shrink_for_nothing(void **state)
{
    (void)state;
    allot_cluster *c = one_node(8);
    allot_sched *s = sched_new(c, 0);
    allot_decisions d = {0};
    allot_job e = job(6, 8, 1, 600), big = job(1, 0, 4, 50);
    handle(s, ALLOT_EV_SUBMIT, 1, &e, 0, &d);
    assert_int_equal(count(&d, ALLOT_DEC_GROW, 1), 2);
    int64_t end = allot_sched_job_end(s, 1);
    handle(s, ALLOT_EV_SUBMIT, 2, &big, 10, &d); /* 4 > the 2 extra devices */
    assert_int_equal(d.n, 0);
    assert_int_equal(allot_sched_job_state(s, 2), ALLOT_JOB_PENDING);
    assert_int_equal(allot_sched_job_end(s, 1), end);
    assert_int_equal(allot_cluster_free_milli(c), 0);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* Preempted by priority, an elastic job stops whole and restarts at its
 * minimum, then grows again when the room is back. */
static void preempted_restarts_at_minimum(void **state)
{
    (void)state;
    allot_cluster *c = one_node(8);
    allot_sched *s = sched_new(c, 1);
    allot_decisions d = {0};
    allot_job e = job(4, 8, 1, 1000), hi = job(1, 0, 8, 100);
    e.flags = ALLOT_JOBF_PREEMPTIBLE;
    e.ckpt = 100;
    hi.priority = 5;
    handle(s, ALLOT_EV_SUBMIT, 1, &e, 0, &d);
    assert_int_equal(count(&d, ALLOT_DEC_GROW, 1), 4);
    handle(s, ALLOT_EV_SUBMIT, 2, &hi, 150, &d);
    /* the 4 extra tasks are not enough for 8 devices: the whole job goes */
    assert_int_equal(count(&d, ALLOT_DEC_PREEMPT, 1), 1);
    assert_int_equal(count(&d, ALLOT_DEC_START, 2), 1);
    assert_int_equal(allot_sched_job_state(s, 1), ALLOT_JOB_PENDING);
    /* work saved at the checkpoint (t=100): 100 s at 2x = 200 s */
    assert_int_equal(allot_sched_job_remaining(s, 1), 800);
    handle(s, ALLOT_EV_FINISH, 2, NULL, 250, &d);
    assert_int_equal(count(&d, ALLOT_DEC_START, 1), 4); /* its minimum */
    assert_int_equal(count(&d, ALLOT_DEC_GROW, 1), 4);  /* then the idle rest */
    assert_int_equal(allot_sched_job_end(s, 1), 250 + 400);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grow_shrink_regrow),
        cmocka_unit_test(no_shrink_for_nothing),
        cmocka_unit_test(preempted_restarts_at_minimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
