/* test_backfill.c - queue service: greedy, strict order (head-of-line
 * blocking) and EASY backfill with device-level reservations. */
#include "testutil.h"

#include "allot/rng.h"
#include "allot/sched.h"

static allot_cluster *one_node(int ndev)
{
    allot_cluster *c = allot_cluster_new("bf");
    int r = allot_cluster_rack(c, NULL, NULL, NULL);
    assert_int_equal(allot_cluster_add_node(c, "n0", "H800", ndev, 128000, 1 << 20, (uint32_t)r),
                     0);
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static allot_sched *sched_with(allot_cluster *c, allot_backfill bf)
{
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.backfill = bf;
    cfg.check_invariants = 1;
    allot_sched *s = NULL;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    return s;
}

static allot_job job(int ndev, int64_t dur)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = 1;
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 1000;
    j.shape.mem = 1024;
    j.duration = dur;
    return j;
}

static size_t submit(allot_sched *s, uint32_t id, const allot_job *j, int64_t t, allot_decisions *d)
{
    allot_decisions_clear(d);
    allot_event ev = {.kind = ALLOT_EV_SUBMIT, .time = t, .job = id, .desc = j};
    assert_int_equal(allot_sched_handle(s, &ev, d), 0);
    return d->n;
}

static int started(const allot_decisions *d, uint32_t id)
{
    for (size_t k = 0; k < d->n; k++)
        if (d->v[k].kind == ALLOT_DEC_START && d->v[k].job == id) return 1;
    return 0;
}

/* J1 holds 6 of 8 devices until t=100; H wants the whole node; a long and a
 * short job arrive behind H. (With H wanting only 4 devices, EASY would let
 * the long job use the 2 devices H does not reserve: see the next test.) */
static void modes_compared(void **state)
{
    (void)state;
    allot_job j1 = job(6, 100), h = job(8, 100), shortj = job(2, 50), longj = job(2, 500);
    for (int mode = 0; mode < 3; mode++) {
        allot_cluster *c = one_node(8);
        allot_sched *s = sched_with(c, (allot_backfill)mode);
        allot_decisions d = {0};
        assert_int_equal(submit(s, 1, &j1, 0, &d), 1);
        assert_int_equal(submit(s, 2, &h, 0, &d), 0); /* waits */
        submit(s, 3, &longj, 0, &d);
        int long_started = started(&d, 3);
        submit(s, 4, &shortj, 0, &d);
        int short_started = started(&d, 4);
        if (mode == ALLOT_BACKFILL_GREEDY) {
            assert_true(long_started);   /* any job that fits starts */
            assert_false(short_started); /* no room left after the long one */
        } else if (mode == ALLOT_BACKFILL_NONE) {
            assert_false(long_started); /* nothing passes the waiting head */
            assert_false(short_started);
        } else { /* EASY: the long one would hold devices H needs at 100 */
            uint32_t who;
            int64_t t;
            assert_int_equal(allot_sched_reservation(s, &who, &t), 0);
            assert_int_equal(who, 2);
            assert_int_equal(t, 100);
            assert_false(long_started);
            assert_true(short_started); /* ends at 50 <= 100 */
        }
        allot_decisions_free(&d);
        allot_sched_free(s);
        allot_cluster_free(c);
    }
}

/* Device granularity: J1 holds 4 devices until 100, H wants 6. H reserves
 * the 4 busy devices and 2 free ones, so 2 free devices stay usable for a
 * long job - a node-level reservation (Slurm) would refuse it. */
static void device_granularity(void **state)
{
    (void)state;
    allot_cluster *c = one_node(8);
    allot_sched *s = sched_with(c, ALLOT_BACKFILL_EASY);
    allot_decisions d = {0};
    allot_job j1 = job(4, 100), h = job(6, 100), one = job(1, 1000), two = job(2, 1000);
    assert_int_equal(submit(s, 1, &j1, 0, &d), 1);
    assert_int_equal(submit(s, 2, &h, 0, &d), 0);
    submit(s, 3, &two, 0, &d);
    assert_true(started(&d, 3)); /* two of the four free devices are not reserved */
    submit(s, 4, &one, 0, &d);
    assert_false(started(&d, 4)); /* the other two are H's */
    /* at t=100 J1 ends and H starts on time */
    allot_event fin = {.kind = ALLOT_EV_FINISH, .time = 100, .job = 1};
    allot_decisions_clear(&d);
    assert_int_equal(allot_sched_handle(s, &fin, &d), 0);
    assert_true(started(&d, 2));
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* Property: with exact estimates and FIFO order, the head starts no later
 * than its reservation's T*, through thousands of random jobs. */
typedef struct run {
    uint32_t id;
    int64_t end;
} run;

static void easy_never_slips(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("bf4");
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        int r = allot_cluster_rack(c, NULL, NULL, i < 2 ? "ra" : "rb");
        assert_true(allot_cluster_add_node(c, name, "H800", 8, 64000, 1 << 20, (uint32_t)r) >= 0);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    allot_sched *s = sched_with(c, ALLOT_BACKFILL_EASY);
    allot_decisions d = {0};
    allot_rng r;
    allot_rng_seed(&r, 11);
    enum { N = 1500 };
    static allot_job jobs[N];
    static int64_t tstar[N];
    static int64_t start[N];
    run *running = calloc(N, sizeof *running);
    size_t nrun = 0;
    for (int i = 0; i < N; i++) tstar[i] = start[i] = -1;
    int64_t t = 0;
    uint32_t next = 0;
    int checked = 0;
    while (next < N || nrun > 0) {
        /* next event: the earliest finish, or the next arrival every 7 s */
        int64_t t_arr = next < N ? t + 7 : INT64_MAX;
        size_t kmin = SIZE_MAX;
        for (size_t k = 0; k < nrun; k++)
            if (kmin == SIZE_MAX || running[k].end < running[kmin].end) kmin = k;
        allot_event ev;
        memset(&ev, 0, sizeof ev);
        if (kmin != SIZE_MAX && running[kmin].end <= t_arr) {
            t = running[kmin].end;
            ev.kind = ALLOT_EV_FINISH;
            ev.job = running[kmin].id;
            running[kmin] = running[--nrun];
        } else {
            t = t_arr;
            jobs[next] = job(1 << allot_rng_below(&r, 4), 10 + (int64_t)allot_rng_below(&r, 400));
            jobs[next].ntasks = 1 + (uint32_t)allot_rng_below(&r, 2);
            ev.kind = ALLOT_EV_SUBMIT;
            ev.job = next;
            ev.desc = &jobs[next];
            next++;
        }
        ev.time = t;
        allot_decisions_clear(&d);
        assert_int_equal(allot_sched_handle(s, &ev, &d), 0);
        for (size_t k = 0; k < d.n; k++) {
            if (d.v[k].kind != ALLOT_DEC_START || d.v[k].task != 0) continue;
            uint32_t id = d.v[k].job;
            start[id] = t;
            running[nrun++] = (run){id, t + jobs[id].duration};
            if (tstar[id] >= 0) {
                assert_true(t <= tstar[id]); /* the reservation held */
                checked++;
            }
        }
        uint32_t who;
        int64_t when;
        if (allot_sched_reservation(s, &who, &when) == 0 && tstar[who] < 0) tstar[who] = when;
    }
    for (int i = 0; i < N; i++) assert_true(start[i] >= 0); /* everyone ran */
    assert_true(checked > 20);                              /* the property was exercised */
    free(running);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(modes_compared),
        cmocka_unit_test(device_granularity),
        cmocka_unit_test(easy_never_slips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
