/* test_tenants.c - tenants: quotas, borrowing limits, reclaim of borrowed
 * devices within one scheduling pass, and DRF queue order. */
#include "testutil.h"

#include "allot/sched.h"

/* two H800 nodes of 8 devices: 16 devices, chip id 0 */
static allot_cluster *fleet(void)
{
    allot_cluster *c = allot_cluster_new("ten");
    int r = allot_cluster_rack(c, NULL, NULL, NULL);
    assert_int_equal(allot_cluster_add_node(c, "n0", "H800", 8, 128000, 1 << 20, (uint32_t)r), 0);
    assert_int_equal(allot_cluster_add_node(c, "n1", "H800", 8, 128000, 1 << 20, (uint32_t)r), 1);
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

static allot_tenant tenant(const char *name, int64_t quota_devs, int64_t borrow_devs)
{
    allot_tenant t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.quota[0] = quota_devs * 1000;
    t.borrow_limit = borrow_devs < 0 ? -1 : borrow_devs * 1000;
    t.weight = 1.0;
    return t;
}

static allot_sched *sched_t(allot_cluster *c, const allot_tenant *t, size_t n, allot_queue_order o)
{
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.order = o;
    cfg.tenants = t;
    cfg.ntenants = n;
    cfg.check_invariants = 1;
    allot_sched *s = NULL;
    assert_int_equal(allot_sched_new(&s, c, &cfg), 0);
    return s;
}

static allot_job job(uint16_t tenant, int ndev, int64_t dur)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = 1;
    j.tenant = tenant;
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 1000;
    j.shape.mem = 1024;
    j.duration = dur;
    return j;
}

static size_t ev(allot_sched *s, allot_event_kind k, uint32_t id, const allot_job *j, int64_t t,
                 allot_decisions *d)
{
    allot_decisions_clear(d);
    allot_event e = {.kind = k, .time = t, .job = id, .desc = j};
    assert_int_equal(allot_sched_handle(s, &e, d), 0);
    return d->n;
}

static int has(const allot_decisions *d, allot_decision_kind k, uint32_t id)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].kind == k && d->v[i].job == id) return 1;
    return 0;
}

static void quota_and_borrow_limit(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_tenant t[2] = {tenant("a", 4, 2), tenant("b", 12, 0)};
    allot_sched *s = sched_t(c, t, 2, ALLOT_ORDER_FIFO);
    allot_decisions d = {0};
    allot_job a4 = job(0, 4, 100), a2 = job(0, 2, 100), a1 = job(0, 1, 100);
    assert_int_equal(ev(s, ALLOT_EV_SUBMIT, 1, &a4, 0, &d), 1); /* within quota */
    assert_int_equal(ev(s, ALLOT_EV_SUBMIT, 2, &a2, 0, &d), 1); /* borrows 2 = the limit */
    assert_int_equal(allot_sched_tenant_use(s, 0, 0), 6000);
    assert_int_equal(ev(s, ALLOT_EV_SUBMIT, 3, &a1, 0, &d), 0); /* would borrow 3 > 2: waits */
    assert_int_equal(allot_sched_job_state(s, 3), ALLOT_JOB_PENDING);
    /* A's first job ends: a1 fits the quota again and starts */
    ev(s, ALLOT_EV_FINISH, 1, NULL, 100, &d);
    assert_true(has(&d, ALLOT_DEC_START, 3));
    assert_int_equal(allot_sched_tenant_use(s, 0, 0), 3000);
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* B borrows the whole idle fleet; when A (owner of 8) submits, borrowed
 * devices come back within the same scheduling pass. */
static void reclaim_within_one_pass(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_tenant t[2] = {tenant("a", 8, -1), tenant("b", 8, -1)};
    allot_sched *s = sched_t(c, t, 2, ALLOT_ORDER_FIFO);
    allot_decisions d = {0};
    allot_job b8 = job(1, 8, 10000);
    assert_int_equal(ev(s, ALLOT_EV_SUBMIT, 1, &b8, 0, &d), 1);
    assert_int_equal(ev(s, ALLOT_EV_SUBMIT, 2, &b8, 0, &d), 1); /* B now borrows 8 */
    assert_int_equal(allot_sched_tenant_use(s, 1, 0), 16000);
    allot_job a4 = job(0, 4, 100);
    ev(s, ALLOT_EV_SUBMIT, 3, &a4, 10, &d);
    assert_true(has(&d, ALLOT_DEC_START, 3)); /* started in this very pass */
    size_t npre = 0;
    for (size_t i = 0; i < d.n; i++) npre += d.v[i].kind == ALLOT_DEC_PREEMPT;
    assert_int_equal(npre, 1); /* one of B's jobs gave its devices back */
    /* the borrower's job is stopped (and requeued) before A's job starts */
    size_t ipre = d.n, istart = d.n;
    for (size_t i = 0; i < d.n; i++) {
        if (d.v[i].kind == ALLOT_DEC_PREEMPT && ipre == d.n) ipre = i;
        if (d.v[i].kind == ALLOT_DEC_START && d.v[i].job == 3 && istart == d.n) istart = i;
    }
    assert_true(ipre < istart);
    assert_true(d.v[ipre].job == 1 || d.v[ipre].job == 2);
    assert_int_equal(allot_sched_job_state(s, d.v[ipre].job), ALLOT_JOB_PENDING);
    assert_int_equal(allot_sched_tenant_use(s, 1, 0), 8000); /* B back within quota */
    /* B within quota now: A's next in-quota job cannot reclaim from it */
    ev(s, ALLOT_EV_SUBMIT, 4, &a4, 20, &d);
    assert_true(has(&d, ALLOT_DEC_START, 4)); /* the other 4 free devices of that node */
    allot_job a1 = job(0, 1, 100);
    ev(s, ALLOT_EV_SUBMIT, 5, &a1, 30, &d);
    assert_false(has(&d, ALLOT_DEC_PREEMPT, 1));
    assert_false(has(&d, ALLOT_DEC_PREEMPT, 2));
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

/* DRF: with A using 12 devices and B none, B's waiting job goes first */
static void drf_order(void **state)
{
    (void)state;
    allot_cluster *c = fleet();
    allot_tenant t[2] = {tenant("a", 16, -1), tenant("b", 16, -1)};
    allot_sched *s = sched_t(c, t, 2, ALLOT_ORDER_DRF);
    allot_decisions d = {0};
    allot_job a8 = job(0, 8, 100), a4 = job(0, 4, 1000), a4b = job(0, 4, 1000),
              b4 = job(1, 4, 1000);
    ev(s, ALLOT_EV_SUBMIT, 1, &a8, 0, &d);
    ev(s, ALLOT_EV_SUBMIT, 2, &a4, 0, &d);
    ev(s, ALLOT_EV_SUBMIT, 3, &a4b, 0, &d);                         /* fleet full: 16 used by A */
    assert_int_equal(ev(s, ALLOT_EV_SUBMIT, 4, &a4, 1, &d) + 0, 0); /* A's 4th waits */
    ev(s, ALLOT_EV_SUBMIT, 5, &b4, 2, &d);                          /* B's job waits */
    /* 8 devices free up: B (share 0) goes before A's earlier job (share 0.5) */
    ev(s, ALLOT_EV_FINISH, 1, NULL, 100, &d);
    assert_true(has(&d, ALLOT_DEC_START, 5));
    allot_decisions_free(&d);
    allot_sched_free(s);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quota_and_borrow_limit),
        cmocka_unit_test(reclaim_within_one_pass),
        cmocka_unit_test(drf_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
