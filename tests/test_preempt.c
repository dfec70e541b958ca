/* test_preempt.c - priority preemption: victims of lower priority only,
 * least lost work first and as few as possible, restart from the last
 * checkpoint, no preemption loops. */
#include "testutil.h"

#include "allot/rng.h"
#include "allot/sched.h"

static allot_cluster *nodes(int n)
{
    allot_cluster *c = allot_cluster_new("pe");
    int r = allot_cluster_rack(c, NULL, NULL, NULL);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(allot_cluster_add_node(c, name, "H800", 8, 128000, 1 << 20, (uint32_t)r),
                         i);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static allot_sched *sched_pe(allot_cluster *c)
{
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.order = ALLOT_ORDER_PRIORITY;
    cfg.preempt = 1;
    cfg.check_invariants = 1;
    allot_sched *s = NULL;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    return s;
}

static allot_job job(int ndev, int prio, uint32_t ckpt, int preemptible, int64_t dur)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = 1;
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 1000;
    j.shape.mem = 1024;
    j.priority = (int16_t)prio;
    j.ckpt = ckpt;
    j.flags = preemptible ? ALLOT_JOBF_PREEMPTIBLE : 0;
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

static int has(const allot_decisions *d, allot_decision_kind k, uint32_t id)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].kind == k && d->v[i].job == id) return 1;
    return 0;
}

/* the worked example at the top of src/sched/preempt.c */
static void least_lost_work(void **state)
{
    (void)state;
    allot_cluster *c = nodes(1);
    allot_sched *s = sched_pe(c);
    allot_decisions d = {0};
    allot_job a = job(4, 1, 600, 1, 100000), b = job(4, 1, 0, 1, 100000), jj = job(4, 5, 0, 0, 50);
    handle(s, ALLOT_EV_SUBMIT, 1, &a, 0, &d);     /* A starts at 0 */
    handle(s, ALLOT_EV_SUBMIT, 2, &b, 900, &d);   /* B starts at 900 */
    handle(s, ALLOT_EV_SUBMIT, 3, &jj, 1000, &d); /* J at 1000: A lost 400, B 100 */
    assert_true(has(&d, ALLOT_DEC_PREEMPT, 2));
    assert_false(has(&d, ALLOT_DEC_PREEMPT, 1));
    assert_true(has(&d, ALLOT_DEC_START, 3));
    assert_int_equal(allot_sched_job_state(s, 2), ALLOT_JOB_PENDING);
    assert_int_equal(allot_sched_job_remaining(s, 2), 100000); /* no checkpoint: from zero */
    allot_sched_stats st;
    allot_sched_get_stats(s, &st);
    assert_int_equal(st.preemptions, 1);
    assert_true(st.lost_device_s > 399.0 && st.lost_device_s < 401.0); /* 100 s x 4 devices */
    /* J ends: B restarts */
    handle(s, ALLOT_EV_FINISH, 3, NULL, 1050, &d);
    assert_true(has(&d, ALLOT_DEC_START, 2));
    assert_int_equal(allot_sched_job_epoch(s, 2), 2);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void checkpoint_saves_work(void **state)
{
    (void)state;
    allot_cluster *c = nodes(1);
    allot_sched *s = sched_pe(c);
    allot_decisions d = {0};
    allot_job a = job(8, 0, 600, 1, 5000), hi = job(8, 9, 0, 0, 10);
    handle(s, ALLOT_EV_SUBMIT, 1, &a, 0, &d);
    handle(s, ALLOT_EV_SUBMIT, 2, &hi, 1500, &d); /* A ran 1500: 1200 saved, 300 lost */
    assert_true(has(&d, ALLOT_DEC_PREEMPT, 1));
    assert_int_equal(allot_sched_job_remaining(s, 1), 5000 - 1200);
    /* not preemptible, or not lower priority: never a victim */
    allot_job np = job(8, 0, 0, 0, 100), same = job(8, 9, 0, 1, 100);
    handle(s, ALLOT_EV_FINISH, 2, NULL, 1510, &d); /* A resumes */
    assert_true(has(&d, ALLOT_DEC_START, 1));
    handle(s, ALLOT_EV_SUBMIT, 3, &np, 1600, &d); /* priority 0 cannot preempt A (0) */
    assert_int_equal(d.n, 0);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
    (void)same;
}

static void fewest_victims(void **state)
{
    (void)state;
    allot_cluster *c = nodes(2);
    allot_sched *s = sched_pe(c);
    allot_decisions d = {0};
    /* node A: four 2-device jobs; node B: one 8-device job; all lose the
     * same work. A 8-device job needs one whole node: the single 8-device
     * victim beats four small ones. */
    allot_job small = job(2, 0, 0, 1, 100000), big = job(8, 0, 0, 1, 100000);
    handle(s, ALLOT_EV_SUBMIT, 1, &big, 0, &d);
    for (uint32_t i = 2; i <= 5; i++) handle(s, ALLOT_EV_SUBMIT, i, &small, 0, &d);
    allot_job hi = job(8, 5, 0, 0, 10);
    handle(s, ALLOT_EV_SUBMIT, 9, &hi, 100, &d);
    assert_true(has(&d, ALLOT_DEC_START, 9));
    size_t npre = 0;
    for (size_t i = 0; i < d.n; i++) npre += d.v[i].kind == ALLOT_DEC_PREEMPT;
    assert_int_equal(npre, 1);
    assert_true(has(&d, ALLOT_DEC_PREEMPT, 1));
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* Random priorities, everything preemptible: the run ends, every job
 * finishes, every invariant holds after every event, and each victim had a
 * lower priority than the job that started with it. */
static void no_loops(void **state)
{
    (void)state;
    allot_cluster *c = nodes(3);
    allot_sched *s = sched_pe(c);
    allot_decisions d = {0};
    allot_rng r;
    allot_rng_seed(&r, 3);
    enum { N = 600 };
    static allot_job jobs[N];
    int64_t end[N];
    int finished = 0;
    for (int i = 0; i < N; i++) end[i] = -1;
    int64_t t = 0;
    int next = 0;
    long events = 0;
    while (finished < N) {
        assert_true(++events < 1000000); /* terminates */
        int64_t ta = next < N ? t + 5 : INT64_MAX;
        int k = -1;
        for (int i = 0; i < N; i++)
            if (end[i] >= 0 && (k < 0 || end[i] < end[k])) k = i;
        if (k >= 0 && end[k] <= ta) {
            t = end[k];
            end[k] = -1;
            handle(s, ALLOT_EV_FINISH, (uint32_t)k, NULL, t, &d);
            finished++;
        } else {
            t = ta;
            jobs[next] = job(1 << allot_rng_below(&r, 4), (int)allot_rng_below(&r, 4),
                             (uint32_t)(allot_rng_below(&r, 3) * 30), 1,
                             5 + (int64_t)allot_rng_below(&r, 200));
            handle(s, ALLOT_EV_SUBMIT, (uint32_t)next, &jobs[next], t, &d);
            next++;
        }
        int16_t max_started = INT16_MIN;
        for (size_t q = 0; q < d.n; q++)
            if (d.v[q].kind == ALLOT_DEC_START && jobs[d.v[q].job].priority > max_started)
                max_started = jobs[d.v[q].job].priority;
        for (size_t q = 0; q < d.n; q++) {
            uint32_t id = d.v[q].job;
            if (d.v[q].kind == ALLOT_DEC_PREEMPT) {
                end[id] = -1; /* its end is void */
                assert_true(jobs[id].priority < max_started);
            } else if (d.v[q].kind == ALLOT_DEC_START && d.v[q].task == 0) {
                end[id] = t + allot_sched_job_remaining(s, id);
            }
        }
    }
    allot_sched_stats st;
    allot_sched_get_stats(s, &st);
    assert_true(st.preemptions > 0); /* the property was exercised */
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* LAS: after a device-hour of service a job drops below newcomers, which
 * may then preempt it; under plain priority order they may not. */
static void las_preempts_long_served(void **state)
{
    (void)state;
    for (int las = 0; las <= 1; las++) {
        allot_cluster *c = nodes(1);
        allot_sched_config cfg;
        allot_sched_config_init(&cfg);
        cfg.policy = ALLOT_POLICY_BESTFIT;
        cfg.order = las ? ALLOT_ORDER_LAS : ALLOT_ORDER_PRIORITY;
        cfg.preempt = 1;
        cfg.check_invariants = 1;
        allot_sched *s = NULL;
        assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
        allot_decisions d = {0};
        allot_job a = job(8, 0, 60, 1, 100000), b = job(8, 0, 0, 1, 100);
        handle(s, ALLOT_EV_SUBMIT, 1, &a, 0, &d);
        /* t=400: A has 8 x 400 = 3200 device-s < 3600: still level 0 */
        handle(s, ALLOT_EV_SUBMIT, 2, &b, 400, &d);
        assert_false(has(&d, ALLOT_DEC_PREEMPT, 1));
        /* t=500: 4000 device-s >= one device-hour: level 1 under LAS */
        handle(s, ALLOT_EV_TICK, 0, NULL, 500, &d);
        assert_int_equal(has(&d, ALLOT_DEC_PREEMPT, 1), las);
        assert_int_equal(has(&d, ALLOT_DEC_START, 2), las);
        allot_decisions_free(&d);
        allot_sched_free(s);
        allot_cluster_free(c);
    }
}

/* Regression: the victim cache of one instant was sized for the running set
 * when first asked for (a job waiting without victims), then more jobs
 * started at the same instant, then a job with victims built the candidate
 * list from every running job past the array's end (a heap overflow the
 * sanitizer build catches; found by allot plan under LAS). */
static void victim_cache_outgrown(void **state)
{
    (void)state;
    allot_cluster *c = nodes(8);
    allot_sched *s = sched_pe(c);
    allot_decisions d = {0};
    allot_job first = job(1, 0, 0, 1, 100000);
    handle(s, ALLOT_EV_SUBMIT, 1, &first, 0, &d);
    assert_true(has(&d, ALLOT_DEC_START, 1));
    /* the whole fleet, same priority: waits, with no victim (cache sized) */
    allot_job wide = job(8, 0, 0, 0, 100);
    wide.ntasks = 8;
    handle(s, ALLOT_EV_SUBMIT, 2, &wide, 0, &d);
    assert_false(has(&d, ALLOT_DEC_START, 2));
    /* 40 small ones of higher priority start at the same instant */
    allot_job small = job(1, 1, 0, 1, 100000);
    for (uint32_t id = 3; id < 43; id++) {
        handle(s, ALLOT_EV_SUBMIT, id, &small, 0, &d);
        assert_true(has(&d, ALLOT_DEC_START, id));
    }
    /* a high-priority gang needs victims among all 41 running */
    allot_job urgent = job(8, 9, 0, 0, 100);
    urgent.ntasks = 4;
    handle(s, ALLOT_EV_SUBMIT, 43, &urgent, 0, &d);
    assert_true(has(&d, ALLOT_DEC_START, 43));
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_lost_work),          cmocka_unit_test(checkpoint_saves_work),
        cmocka_unit_test(fewest_victims),           cmocka_unit_test(no_loops),
        cmocka_unit_test(las_preempts_long_served), cmocka_unit_test(victim_cache_outgrown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
