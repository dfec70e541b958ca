/* test_property.c - randomized property tests of the scheduler core.
 *
 * 1. random_events: >= 100,000 random events (submit, finish, cancel, node
 *    down, node up, tick) over 42 configurations (queue order x backfill x
 *    preemption x tenants, placement policies in turn) on a small two-zone
 *    fleet with three chip types and a CPU-only node. The test keeps its own
 *    model of every job, device, node and tenant, built only from the
 *    decisions the core returns, and after every event compares it with the
 *    core (job states, counts, epochs, remaining work, free device milli,
 *    CPU and memory, tenants' use and borrowing limits), besides the core's
 *    own invariant checker (check_invariants = 1). Every START is checked
 *    against the node and the job's shape; every PREEMPT against the rules
 *    (preemptible and of strictly lower effective priority, or reclaimed from
 *    a borrowing tenant by an in-quota job of another tenant); every STOP
 *    against the node that went down; every FAIL must be a job that can never
 *    fit the fleet, and every such job must fail. No preemption loops: now
 *    and then time is frozen and the queue ticked until a tick changes
 *    nothing, which must happen within a few ticks.
 * 2. easy_reservation_never_slips: with EASY backfill, FIFO order, exact run
 *    times (finishes from an event heap on a virtual clock), no preemption and
 *    no failures, the head of the queue starts no later than the first T*
 *    its reservation announced, over 12,000 jobs.
 * 3. rejected_at_submission: jobs that can never fit (more devices than the
 *    fleet or any node has, a chip type the fleet lacks) fail at once.
 *
 * Former scheduler bugs (regression_* at the end reproduce each in a few
 * events): 1 a preemption whose preemptor then does not start, 2 reclaim
 * that was not chip-aware, 3 priority preemption and reclaim undoing each
 * other, 4 never-startable jobs that were queued. random_events recognises
 * their signatures and fails on them (ALLOT_PROP_LENIENT=1 only counts them,
 * for investigating a regression).
 *
 * Failures print the configuration, seed, event and its decisions: rerun
 * with the same seed to reproduce. ALLOT_PROP_SCALE=N multiplies the event
 * counts, ALLOT_PROP_VERBOSE=1 prints per-configuration counts.
 */
#include "testutil.h"

#include "allot/rng.h"
#include "allot/sched.h"

#define MAXT 4 /* most tasks per generated job */

struct world;
static const struct world *g_ctx; /* the run a failure message describes */
static void dump_event(const struct world *w);

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_message("property violated: %s\n  ", #cond);                                     \
            if (g_ctx)                                                                             \
                print_message("[%s] event %llu (time %lld)", g_ctx->name,                          \
                              (unsigned long long)g_ctx->ev_no, (long long)g_ctx->now);            \
            print_message(__VA_ARGS__);                                                            \
            print_message("\n");                                                                   \
            if (g_ctx) dump_event(g_ctx);                                                          \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- the fleet ----------------------------------------------------------------------------- */

/* Zone z0: block b0 = racks r0 (n0, n1) and r1 (n2, n3) of 8 H800 each;
 * block b1 = rack r2 (n4, n5: 4 A100-80G each) and rack r3 (n6: 2 L40S,
 * n7: CPU only). Zone z1: block b2 = rack r4 (n8, n9: 8 H800 each).
 * 58 devices: 48 H800, 8 A100, 2 L40S. */
static allot_cluster *fleet(void)
{
    static const struct {
        const char *zone, *block, *rack, *chip;
        int ndev;
    } spec[] = {
        {"z0", "b0", "r0", "H800", 8},     {"z0", "b0", "r0", "H800", 8},
        {"z0", "b0", "r1", "H800", 8},     {"z0", "b0", "r1", "H800", 8},
        {"z0", "b1", "r2", "A100-80G", 4}, {"z0", "b1", "r2", "A100-80G", 4},
        {"z0", "b1", "r3", "L40S", 2},     {"z0", "b1", "r3", NULL, 0},
        {"z1", "b2", "r4", "H800", 8},     {"z1", "b2", "r4", "H800", 8},
    };
    allot_cluster *c = allot_cluster_new("prop");
    assert_non_null(c);
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%zu", i);
        int r = allot_cluster_rack(c, spec[i].zone, spec[i].block, spec[i].rack);
        assert_true(r >= 0);
        assert_int_equal(allot_cluster_add_node(c, name, spec[i].chip, spec[i].ndev, 64000,
                                                256 * 1024, (uint32_t)r),
                         (int)i);
    }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

enum { CHIP_H800, CHIP_A100, CHIP_L40S, NCHIPS };

static int chip_ids[NCHIPS];

static void find_chips(const allot_cluster *c)
{
    static const char *names[NCHIPS] = {"H800", "A100-80G", "L40S"};
    for (int k = 0; k < NCHIPS; k++) {
        chip_ids[k] = allot_cluster_find_chip(c, names[k]);
        assert_true(chip_ids[k] >= 0 && chip_ids[k] < 63);
    }
}

/* Tasks of this shape the fleet could hold if empty with every node up:
 * the test's own statement of the rejection rule. */
static int64_t fleet_tasks(const allot_cluster *c, const allot_shape *sh)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < allot_cluster_nnodes(c); i++) {
        const allot_node *n = allot_cluster_node(c, i);
        if (n->cpu_cap < sh->cpu || n->mem_cap < sh->mem) continue;
        int64_t k = INT32_MAX;
        if (sh->cpu > 0) k = n->cpu_cap / sh->cpu;
        if (sh->mem > 0 && n->mem_cap / sh->mem < k) k = n->mem_cap / sh->mem;
        if (sh->ndev > 0) {
            if (n->chip == ALLOT_NO_CHIP || (sh->chips && !((sh->chips >> n->chip) & 1))) continue;
            if (n->ndev < sh->ndev) continue;
            int64_t per = sh->milli >= ALLOT_MILLI ? n->ndev / sh->ndev
                                                   : (int64_t)n->ndev * (ALLOT_MILLI / sh->milli);
            if (per < k) k = per;
        }
        total += k;
    }
    return total;
}

/* ---- the model ----------------------------------------------------------------------------- */

typedef struct mjob {
    allot_job desc;
    uint8_t state;    /* allot_job_state */
    uint8_t ntaken;   /* START decisions seen for the current start */
    uint8_t touched;  /* changed in the current event */
    uint8_t never;    /* can never fit: must fail at submission */
    int64_t start;    /* model start time while running */
    int64_t done;     /* work saved by checkpoints */
    double attained;  /* device-seconds of ended runs (LAS) */
    uint32_t epoch;   /* starts seen */
    uint32_t pos;     /* index in run[] or pend[] */
    uint32_t preempt; /* times preempted */
    uint32_t node[MAXT];
    uint64_t devs[MAXT];
} mjob;

typedef struct prop_cfg {
    allot_queue_order order;
    allot_backfill backfill;
    int preempt, tenants;
    allot_policy policy;
    uint64_t seed;
    uint32_t events;
} prop_cfg;

/* A run of consecutive PREEMPT decisions: the victims of one or more
 * preemption attempts (several when an attempt is wasted, former bug 1),
 * checked when the job after them is known. */
#define MAXV 64
typedef struct pbatch {
    uint32_t n;
    uint32_t id[MAXV];
    int prio[MAXV];                              /* effective priority when stopped */
    int64_t use0[3][ALLOT_MAX_CHIP_TYPES];       /* tenants' use when the run began */
    int64_t use1[MAXV][3][ALLOT_MAX_CHIP_TYPES]; /* ... just before each victim */
} pbatch;

typedef struct world {
    allot_cluster *c;
    allot_sched *s;
    prop_cfg cfg;
    char name[96];
    allot_rng r;
    uint32_t nn, ntenants;
    allot_tenant ten[3];
    mjob *jobs;
    uint32_t njobs, cap;
    uint32_t *run, *pend, *touched;
    uint32_t nrun, npend, ntouched;
    int32_t *dev_used; /* per device, milli */
    int64_t *cpu_used, *mem_used;
    uint8_t *down;
    int64_t t_use[3][ALLOT_MAX_CHIP_TYPES];
    pbatch *batch; /* scratch for apply() */
    int64_t now;
    uint64_t ev_no;
    allot_decisions d;
    /* counters */
    uint64_t n_events, n_submit, n_start, n_preempt, n_reclaim, n_stop, n_fail, n_quiet,
        n_quiet_ticks, n_quiet_preempt, max_quiet_ticks, n_gang, n_frac, n_wasted, n_cross,
        n_recl_borrow, n_prio_borrow, n_known_loops, max_job_preempt;
    /* preemption batches of the current event */
    uint32_t ev_batches, ev_sig;
    uint32_t preemptor;     /* a job that stopped another tenant's job, or UINT32_MAX */
    uint8_t preemptor_kind; /* 1 by reclaim, 2 by priority */
} world;

static const char *order_name[] = {"fifo", "priority", "las", "drf"};
static const char *bf_name[] = {"greedy", "none", "easy"};

static allot_tenant mk_tenant(const char *name, int64_t h800, int64_t a100, int64_t l40s,
                              int64_t borrow, double weight)
{
    allot_tenant t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.quota[chip_ids[CHIP_H800]] = h800 * 1000;
    t.quota[chip_ids[CHIP_A100]] = a100 * 1000;
    t.quota[chip_ids[CHIP_L40S]] = l40s * 1000;
    t.borrow_limit = borrow < 0 ? -1 : borrow * 1000;
    t.weight = weight;
    return t;
}

static void world_init(world *w, const prop_cfg *cfg)
{
    memset(w, 0, sizeof *w);
    g_ctx = w;
    w->cfg = *cfg;
    w->c = fleet();
    find_chips(w->c);
    w->nn = allot_cluster_nnodes(w->c);
    snprintf(w->name, sizeof w->name,
             "order=%s backfill=%s preempt=%d tenants=%d policy=%s seed=%llu",
             order_name[cfg->order], bf_name[cfg->backfill], cfg->preempt, cfg->tenants,
             allot_policy_name(cfg->policy), (unsigned long long)cfg->seed);
    /* quotas sum to less than the fleet: there is always something to borrow;
     * quota + borrowing limit >= 16 devices (the largest generated job) */
    w->ten[0] = mk_tenant("a", 20, 4, 1, -1, 1.0);
    w->ten[1] = mk_tenant("b", 12, 2, 1, 16, 2.0);
    w->ten[2] = mk_tenant("c", 8, 2, 0, 8, 1.0);
    w->ntenants = cfg->tenants ? 3 : 0;
    allot_sched_config sc;
    allot_sched_config_init(&sc);
    sc.policy = cfg->policy;
    sc.order = cfg->order;
    sc.backfill = cfg->backfill;
    sc.preempt = cfg->preempt;
    sc.seed = cfg->seed;
    sc.check_invariants = 1;
    if (w->ntenants) {
        sc.tenants = w->ten;
        sc.ntenants = w->ntenants;
    }
    assert_int_equal(allot_sched_new(&w->s, w->c, &sc), 0);
    allot_rng_seed(&w->r, cfg->seed * 0x9E3779B97F4A7C15ull + 17);
    w->cap = cfg->events + 16;
    w->jobs = calloc(w->cap, sizeof *w->jobs);
    w->run = calloc(w->cap, sizeof *w->run);
    w->pend = calloc(w->cap, sizeof *w->pend);
    w->touched = calloc(w->cap, sizeof *w->touched);
    w->dev_used = calloc(allot_cluster_ndevices(w->c) + 1, sizeof *w->dev_used);
    w->cpu_used = calloc(w->nn, sizeof *w->cpu_used);
    w->mem_used = calloc(w->nn, sizeof *w->mem_used);
    w->down = calloc(w->nn, 1);
    w->batch = calloc(1, sizeof *w->batch);
    assert_true(w->jobs && w->run && w->pend && w->touched && w->dev_used && w->cpu_used &&
                w->mem_used && w->down && w->batch);
}

static void world_free(world *w)
{
    g_ctx = NULL;
    allot_decisions_free(&w->d);
    allot_sched_free(w->s);
    allot_cluster_free(w->c);
    free(w->jobs);
    free(w->run);
    free(w->pend);
    free(w->touched);
    free(w->dev_used);
    free(w->cpu_used);
    free(w->mem_used);
    free(w->down);
    free(w->batch);
}

/* index lists: run[] and pend[] with mjob.pos */
static void list_add(uint32_t *v, uint32_t *n, mjob *jobs, uint32_t id)
{
    jobs[id].pos = *n;
    v[(*n)++] = id;
}

static void list_del(uint32_t *v, uint32_t *n, mjob *jobs, uint32_t id)
{
    uint32_t p = jobs[id].pos, last = v[--(*n)];
    v[p] = last;
    jobs[last].pos = p;
}

static void touch(world *w, uint32_t id)
{
    if (!w->jobs[id].touched) {
        w->jobs[id].touched = 1;
        w->touched[w->ntouched++] = id;
    }
}

static int64_t job_milli(const allot_job *j)
{
    return (int64_t)j->ntasks * j->shape.ndev * j->shape.milli;
}

/* The core's effective priority (sched.c allot__eff_prio), from the model. */
static int eff_prio(const world *w, const mjob *j)
{
    if (w->cfg.order != ALLOT_ORDER_LAS) return j->desc.priority;
    double att = j->attained;
    if (j->state == ALLOT_JOB_RUNNING && w->now > j->start)
        att += (double)(w->now - j->start) * (double)j->desc.ntasks * j->desc.shape.ndev *
               j->desc.shape.milli / 1000.0;
    int level = 0;
    for (double th = 3600.0; level < 5 && att >= th; th *= 10.0) level++;
    return -level * 65536 + j->desc.priority;
}

static int64_t borrowed(const int64_t use[ALLOT_MAX_CHIP_TYPES], const allot_tenant *t)
{
    int64_t b = 0;
    for (int k = 0; k < ALLOT_MAX_CHIP_TYPES; k++)
        if (use[k] > t->quota[k]) b += use[k] - t->quota[k];
    return b;
}

static int in_quota(const world *w, const int64_t use[ALLOT_MAX_CHIP_TYPES], const mjob *j)
{
    const allot_tenant *t = &w->ten[j->desc.tenant];
    for (uint32_t k = 0; k < allot_cluster_nchips(w->c); k++) {
        if (j->desc.shape.chips && !((j->desc.shape.chips >> k) & 1)) continue;
        if (use[k] + job_milli(&j->desc) <= t->quota[k]) return 1;
    }
    return 0;
}

static void tenant_add(world *w, const mjob *j, int sign)
{
    if (!w->ntenants || j->desc.shape.ndev == 0) return;
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        uint16_t chip = allot_cluster_node(w->c, j->node[t])->chip;
        w->t_use[j->desc.tenant][chip] += sign * (int64_t)j->desc.shape.ndev * j->desc.shape.milli;
    }
}

/* A running job's capacity returns to the model (end, stop or preemption). */
static void model_release(world *w, mjob *j)
{
    tenant_add(w, j, -1);
    j->ntaken = 0;
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        const allot_node *n = allot_cluster_node(w->c, j->node[t]);
        for (uint64_t m = j->devs[t]; m; m &= m - 1)
            w->dev_used[n->dev0 + (uint32_t)__builtin_ctzll(m)] -= j->desc.shape.milli;
        w->cpu_used[j->node[t]] -= j->desc.shape.cpu;
        w->mem_used[j->node[t]] -= j->desc.shape.mem;
    }
}

/* A preemption or node-down stop: the job keeps what its checkpoints saved. */
static void model_stop(world *w, uint32_t id)
{
    mjob *j = &w->jobs[id];
    model_release(w, j);
    int64_t ran = w->now - j->start;
    if (ran < 0) ran = 0;
    int64_t lost = j->desc.ckpt ? ran % (int64_t)j->desc.ckpt : ran;
    j->done += ran - lost;
    if (w->now > j->start)
        j->attained += (double)(w->now - j->start) * (double)j->desc.ntasks * j->desc.shape.ndev *
                       j->desc.shape.milli / 1000.0;
    j->state = ALLOT_JOB_PENDING;
    list_del(w->run, &w->nrun, w->jobs, id);
    list_add(w->pend, &w->npend, w->jobs, id);
    touch(w, id);
}

static void check_preemptor(world *w, const mjob *p);

/* One START decision (one task). */
static void on_start(world *w, const allot_decision *d)
{
    CHECK(d->job < w->njobs, " ");
    mjob *j = &w->jobs[d->job];
    if (d->task == 0) {
        CHECK(j->state == ALLOT_JOB_PENDING, ": START of job %u in state %d", d->job, j->state);
        CHECK(j->ntaken == 0, " ");
        j->state = ALLOT_JOB_RUNNING;
        j->start = w->now;
        j->epoch++;
        list_del(w->pend, &w->npend, w->jobs, d->job);
        list_add(w->run, &w->nrun, w->jobs, d->job);
        touch(w, d->job);
        w->n_start++;
    }
    CHECK(j->state == ALLOT_JOB_RUNNING && d->task == j->ntaken && d->task < j->desc.ntasks,
          ": job %u task %u out of order", d->job, d->task);
    j->ntaken++;
    /* the placement: an UP node of an allowed chip type, the job's shape */
    CHECK(d->node < w->nn, " ");
    const allot_node *n = allot_cluster_node(w->c, d->node);
    const allot_shape *sh = &j->desc.shape;
    CHECK(!w->down[d->node] && n->state == ALLOT_NODE_UP, ": job %u on down node %u", d->job,
          d->node);
    CHECK(d->ndev == sh->ndev && d->milli == sh->milli,
          ": job %u got %d devices of %d milli, asked %d of %d", d->job, d->ndev, d->milli,
          sh->ndev, sh->milli);
    if (sh->ndev > 0)
        CHECK(n->chip != ALLOT_NO_CHIP && (!sh->chips || ((sh->chips >> n->chip) & 1)),
              ": job %u on chip %u not in mask %llx", d->job, n->chip,
              (unsigned long long)sh->chips);
    uint64_t m = 0;
    for (int k = 0; k < d->ndev; k++) {
        CHECK(d->devs[k] < n->ndev, ": device %d of a %d-device node", d->devs[k], n->ndev);
        CHECK(!((m >> d->devs[k]) & 1), ": device %d twice", d->devs[k]);
        m |= (uint64_t)1 << d->devs[k];
        int32_t *u = &w->dev_used[n->dev0 + d->devs[k]];
        *u += sh->milli;
        CHECK(*u <= ALLOT_MILLI, ": device %u.%d over-committed (%d milli)", d->node, d->devs[k],
              *u);
    }
    w->cpu_used[d->node] += sh->cpu;
    w->mem_used[d->node] += sh->mem;
    CHECK(w->cpu_used[d->node] <= n->cpu_cap && w->mem_used[d->node] <= n->mem_cap, " ");
    j->node[d->task] = d->node;
    j->devs[d->task] = m;
    if (j->ntaken == j->desc.ntasks) {
        tenant_add(w, j, +1);
        if (d->job == w->preemptor) {
            check_preemptor(w, j);
            w->preemptor = UINT32_MAX;
        }
    }
}

/* Whether pending job p could reclaim victim v with the tenants using `use`. */
static int reclaim_in(const world *w, int64_t use[3][ALLOT_MAX_CHIP_TYPES], const mjob *v,
                      const mjob *p)
{
    return w->ntenants && v->desc.tenant != p->desc.tenant && in_quota(w, use[p->desc.tenant], p) &&
           borrowed(use[v->desc.tenant], &w->ten[v->desc.tenant]) > 0;
}

/* Whether victim k may be stopped for pending job p: a preemptible job of
 * strictly lower effective priority (preemption on), or a job of another
 * tenant that borrows while p keeps its own tenant within quota (reclaim).
 * *by_reclaim: only reclaim allows it. */
static int victim_ok(world *w, pbatch *b, uint32_t k, const mjob *p, int *by_reclaim)
{
    const mjob *v = &w->jobs[b->id[k]];
    *by_reclaim = 0;
    if (v == p) return 0;
    if (w->cfg.preempt && (v->desc.flags & ALLOT_JOBF_PREEMPTIBLE) && b->prio[k] < eff_prio(w, p))
        return 1;
    *by_reclaim = reclaim_in(w, b->use0, v, p) || reclaim_in(w, b->use1[k], v, p);
    return *by_reclaim;
}

static int in_batch(const pbatch *b, uint32_t id)
{
    for (uint32_t k = 0; k < b->n; k++)
        if (b->id[k] == id) return 1;
    return 0;
}

/* The checks of former bugs fail the test unless ALLOT_PROP_LENIENT=1 asks
 * to count them only (for investigating a regression). */
static int strict(void)
{
    const char *e = getenv("ALLOT_PROP_LENIENT");
    return !(e && *e && *e != '0');
}

/* Former bug 2 (see regression_reclaim_cross_chip): a reclaim victim whose
 * tenant borrows only on chip types other than those the victim holds. */
static int cross_chip(const world *w, const pbatch *b, uint32_t k)
{
    const mjob *v = &w->jobs[b->id[k]];
    const allot_tenant *t = &w->ten[v->desc.tenant];
    for (uint32_t q = 0; q < v->desc.ntasks; q++) {
        uint16_t chip = allot_cluster_node(w->c, v->node[q])->chip;
        if (chip != ALLOT_NO_CHIP && b->use0[v->desc.tenant][chip] > t->quota[chip]) return 0;
    }
    return 1;
}

static void check_batch(world *w, pbatch *b, const allot_decision *next)
{
    if (b->n == 0) return;
    int started = next && next->kind == ALLOT_DEC_START && next->task == 0 &&
                  w->jobs[next->job].state == ALLOT_JOB_PENDING && !in_batch(b, next->job);
    const mjob *p = started ? &w->jobs[next->job] : NULL;
    int wasted = 0, sig = 0, reclaimer = 0;
    for (uint32_t k = 0; k < b->n; k++) {
        int by_reclaim = 0;
        if (started && victim_ok(w, b, k, p, &by_reclaim)) {
            /* the usual case: the job it was stopped for starts */
            if (by_reclaim)
                reclaimer |= 1;
            else if (w->ntenants && w->jobs[b->id[k]].desc.tenant != p->desc.tenant)
                reclaimer |= 2; /* priority preemption across tenants */
        } else {
            /* former bug 1 (see regression_wasted_preemption): the job this
             * victim was stopped for did not start (another may have started
             * in the room). Still, some pending job must have had the right. */
            int found = 0;
            for (uint32_t q = 0; q < w->npend && !found; q++) {
                uint32_t id = w->pend[q];
                if (!in_batch(b, id) && !(started && id == next->job))
                    found = victim_ok(w, b, k, &w->jobs[id], &by_reclaim);
            }
            CHECK(found,
                  ": job %u (prio %d, flags %d, tenant %u) preempted, but no pending job had "
                  "the right to",
                  b->id[k], b->prio[k], w->jobs[b->id[k]].desc.flags,
                  w->jobs[b->id[k]].desc.tenant);
            wasted = 1;
        }
        if (by_reclaim) {
            w->n_reclaim++;
            if (cross_chip(w, b, k)) {
                CHECK(!strict(), ": job %u reclaimed though its tenant borrows on other chips only",
                      b->id[k]);
                w->n_cross++;
                sig = 1;
            }
        }
    }
    if (wasted) {
        CHECK(!strict(),
              ": %u job(s) preempted (first %u) but the job they were stopped for did "
              "not start",
              b->n, b->id[0]);
        w->n_wasted++;
        sig = 1;
    }
    if (reclaimer) {
        w->preemptor = next->job;
        w->preemptor_kind = (uint8_t)reclaimer;
    }
    w->ev_batches++;
    w->ev_sig += sig;
    b->n = 0;
}

/* Former bugs 2b and 3: a job that stopped another tenant's job, by reclaim
 * (2b: it was within quota on some chip type, but was placed on another) or
 * by priority (3: priority preemption ignores quotas), now makes its own
 * tenant borrow - so the other tenant may reclaim the devices back. Called
 * when the preemptor's last task has started. */
static void check_preemptor(world *w, const mjob *p)
{
    const allot_tenant *t = &w->ten[p->desc.tenant];
    int over = 0;
    for (uint32_t q = 0; q < p->desc.ntasks; q++) {
        uint16_t chip = allot_cluster_node(w->c, p->node[q])->chip;
        over |= chip != ALLOT_NO_CHIP && w->t_use[p->desc.tenant][chip] > t->quota[chip];
    }
    if (over) {
        CHECK(!strict(), ": job %u stopped another tenant's job and now borrows",
              (uint32_t)(p - w->jobs));
        if (w->preemptor_kind & 1)
            w->n_recl_borrow++; /* former bug 2b */
        else
            w->n_prio_borrow++; /* former bug 3 */
        w->ev_sig++;
    }
}

/* Applies the decisions of one event to the model, checking each. */
static void apply(world *w, const allot_event *ev)
{
    pbatch *b = w->batch;
    b->n = 0;
    for (size_t i = 0; i < w->d.n; i++) {
        const allot_decision *d = &w->d.v[i];
        if (d->kind != ALLOT_DEC_PREEMPT) check_batch(w, b, d);
        switch (d->kind) {
        case ALLOT_DEC_START: on_start(w, d); break;
        case ALLOT_DEC_PREEMPT: {
            CHECK(d->job < w->njobs && w->jobs[d->job].state == ALLOT_JOB_RUNNING,
                  ": PREEMPT of job %u that is not running", d->job);
            CHECK(w->cfg.preempt || w->ntenants, ": PREEMPT with preemption off");
            if (b->n == 0) memcpy(b->use0, w->t_use, sizeof b->use0);
            CHECK(b->n < MAXV, " ");
            mjob *v = &w->jobs[d->job];
            b->id[b->n] = d->job;
            b->prio[b->n] = eff_prio(w, v);
            memcpy(b->use1[b->n], w->t_use, sizeof b->use1[0]);
            b->n++;
            v->preempt++;
            model_stop(w, d->job);
            w->n_preempt++;
            break;
        }
        case ALLOT_DEC_STOP: {
            CHECK(ev->kind == ALLOT_EV_NODE_DOWN && d->node == ev->node,
                  ": STOP of job %u outside a node-down event", d->job);
            CHECK(d->job < w->njobs && w->jobs[d->job].state == ALLOT_JOB_RUNNING, " ");
            const mjob *j = &w->jobs[d->job];
            int there = 0;
            for (uint32_t t = 0; t < j->desc.ntasks; t++) there |= j->node[t] == ev->node;
            CHECK(there, ": job %u stopped but has no task on node %u", d->job, ev->node);
            model_stop(w, d->job);
            w->n_stop++;
            break;
        }
        case ALLOT_DEC_FAIL: {
            CHECK(ev->kind == ALLOT_EV_SUBMIT && d->job == ev->job,
                  ": FAIL of job %u outside its submission", d->job);
            mjob *j = &w->jobs[d->job];
            CHECK(j->never, ": job %u failed though it fits the fleet", d->job);
            CHECK(j->state == ALLOT_JOB_PENDING, " ");
            j->state = ALLOT_JOB_FAILED;
            list_del(w->pend, &w->npend, w->jobs, d->job);
            w->n_fail++;
            break;
        }
        default: CHECK(0, ": unknown decision kind %d", d->kind);
        }
    }
    check_batch(w, b, NULL);
}

/* Compares the model with the core after an event. */
static void compare(world *w, int full)
{
    CHECK(allot_sched_running(w->s) == w->nrun && allot_sched_pending(w->s) == w->npend,
          ": core has %zu running %zu pending, model %u %u", allot_sched_running(w->s),
          allot_sched_pending(w->s), w->nrun, w->npend);
    uint32_t n = full ? w->njobs : w->ntouched;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t id = full ? k : w->touched[k];
        mjob *j = &w->jobs[id];
        CHECK(allot_sched_job_state(w->s, id) == (allot_job_state)j->state,
              ": job %u is %d in the core, %d in the model", id, allot_sched_job_state(w->s, id),
              j->state);
        if (j->state == ALLOT_JOB_RUNNING)
            CHECK(j->ntaken == j->desc.ntasks, ": job %u started %u of %u tasks", id, j->ntaken,
                  j->desc.ntasks);
        CHECK(allot_sched_job_epoch(w->s, id) == j->epoch, ": job %u epoch", id);
        int64_t rem = j->desc.duration == ALLOT_TIME_NONE
                          ? ALLOT_TIME_NONE
                          : (j->desc.duration - j->done > 0 ? j->desc.duration - j->done : 0);
        CHECK(allot_sched_job_remaining(w->s, id) == rem, ": job %u remaining %lld vs %lld", id,
              (long long)allot_sched_job_remaining(w->s, id), (long long)rem);
    }
    for (uint32_t k = 0; k < w->ntouched; k++) w->jobs[w->touched[k]].touched = 0;
    w->ntouched = 0;
    /* capacity: what the decisions say is used is what the cluster has taken */
    const int16_t *df = allot_cluster_dev_free(w->c);
    for (uint32_t i = 0; i < w->nn; i++) {
        const allot_node *x = allot_cluster_node(w->c, i);
        CHECK((x->state == ALLOT_NODE_DOWN) == w->down[i], " ");
        for (int q = 0; q < x->ndev; q++) {
            int32_t used = w->dev_used[x->dev0 + (uint32_t)q];
            CHECK(df[x->dev0 + (uint32_t)q] == ALLOT_MILLI - used,
                  ": device %u.%d free %d, decisions use %d", i, q, df[x->dev0 + (uint32_t)q],
                  used);
            CHECK(!w->down[i] || used == 0, ": a running task on down node %u", i);
        }
        CHECK(x->cpu_free == x->cpu_cap - w->cpu_used[i] &&
                  x->mem_free == x->mem_cap - w->mem_used[i],
              ": node %u CPU/memory", i);
    }
    /* no running job has a task on a node that is down */
    for (uint32_t k = 0; k < w->nrun; k++) {
        const mjob *j = &w->jobs[w->run[k]];
        for (uint32_t t = 0; t < j->desc.ntasks; t++)
            CHECK(!w->down[j->node[t]] &&
                      allot_cluster_node(w->c, j->node[t])->state == ALLOT_NODE_UP,
                  ": running job %u has task %u on down node %u", w->run[k], t, j->node[t]);
        if (j->preempt > w->max_job_preempt) w->max_job_preempt = j->preempt;
    }
    /* tenants: use as the decisions say, never beyond quota + borrowing limit */
    for (uint32_t t = 0; t < w->ntenants; t++) {
        for (int k = 0; k < NCHIPS; k++)
            CHECK(allot_sched_tenant_use(w->s, (uint16_t)t, (uint32_t)chip_ids[k]) ==
                      w->t_use[t][chip_ids[k]],
                  ": tenant %u chip %d use", t, k);
        if (w->ten[t].borrow_limit >= 0)
            CHECK(borrowed(w->t_use[t], &w->ten[t]) <= w->ten[t].borrow_limit,
                  ": tenant %u borrows %lld > limit %lld", t,
                  (long long)borrowed(w->t_use[t], &w->ten[t]), (long long)w->ten[t].borrow_limit);
    }
}

static void handle(world *w, const allot_event *ev)
{
    allot_decisions_clear(&w->d);
    w->ev_no++;
    w->n_events++;
    w->ev_batches = w->ev_sig = 0;
    w->preemptor = UINT32_MAX;
    int rc = allot_sched_handle(w->s, ev, &w->d);
    CHECK(rc == 0, ": handle(kind %d, job %u, node %u) returned %d (%s)", ev->kind, ev->job,
          ev->node, rc, allot_strerror(rc));
    /* the node's state changes before the event's retry pass starts jobs */
    if (ev->kind == ALLOT_EV_NODE_DOWN) w->down[ev->node] = 1;
    if (ev->kind == ALLOT_EV_NODE_UP) w->down[ev->node] = 0;
    apply(w, ev);
    compare(w, (w->ev_no & 63) == 0);
}

static const char *dec_name[] = {"START", "FAIL", "STOP", "PREEMPT"};

/* Prints the last event's decisions and the jobs they name (on failure). */
static void dump_event(const world *w)
{
    print_message("  last event's decisions:\n");
    for (size_t i = 0; i < w->d.n && i < 48; i++) {
        const allot_decision *d = &w->d.v[i];
        const mjob *j = d->job < w->njobs ? &w->jobs[d->job] : NULL;
        print_message("    %-7s job %u task %u node %d", d->kind < 4 ? dec_name[d->kind] : "?",
                      d->job, d->task, d->node == UINT32_MAX ? -1 : (int)d->node);
        if (j)
            print_message("  (%u x %d dev x %d milli, chips %llx, prio %d, flags %d, tenant %u, "
                          "topo %u/%u min)",
                          j->desc.ntasks, j->desc.shape.ndev, j->desc.shape.milli,
                          (unsigned long long)j->desc.shape.chips, j->desc.priority, j->desc.flags,
                          j->desc.tenant, j->desc.topo, j->desc.topo_wait);
        print_message("\n");
    }
    print_message("  pending after it (model):\n");
    for (uint32_t k = 0; k < w->npend && k < 24; k++) {
        const mjob *j = &w->jobs[w->pend[k]];
        print_message(
            "    job %u: %u x %d dev x %d milli, chips %llx, prio %d, flags %d, tenant %u, "
            "topo %u/%u min, submitted %lld\n",
            w->pend[k], j->desc.ntasks, j->desc.shape.ndev, j->desc.shape.milli,
            (unsigned long long)j->desc.shape.chips, j->desc.priority, j->desc.flags,
            j->desc.tenant, j->desc.topo, j->desc.topo_wait, (long long)j->desc.submit);
    }
    for (uint32_t t = 0; t < w->ntenants; t++)
        print_message("  tenant %u use (model, after the event): H800 %lld A100 %lld L40S %lld\n",
                      t, (long long)w->t_use[t][chip_ids[CHIP_H800]],
                      (long long)w->t_use[t][chip_ids[CHIP_A100]],
                      (long long)w->t_use[t][chip_ids[CHIP_L40S]]);
}

/* ---- random jobs and events --------------------------------------------------------------- */

static uint64_t below(world *w, uint64_t n) { return allot_rng_below(&w->r, n); }

static void gen_job(world *w, allot_job *j, int *never)
{
    memset(j, 0, sizeof *j);
    j->ntasks = 1;
    j->shape.cpu = 1000 * (int64_t)(1 + below(w, 16));
    j->shape.mem = 1024 * (int64_t)(1 + below(w, 64));
    uint64_t kind = below(w, 100);
    if (kind < 4) { /* CPU only */
        j->shape.ndev = 0;
        j->shape.milli = 0;
    } else if (kind < 28) { /* a share of one device */
        j->shape.ndev = 1;
        j->shape.milli = 100 * (int32_t)(1 + below(w, 9));
    } else if (kind < 70) { /* whole devices, one task */
        static const int nd[] = {1, 1, 2, 4, 8};
        j->shape.ndev = nd[below(w, 5)];
        j->shape.milli = 1000;
    } else { /* a gang of 2..4 tasks, <= 16 devices */
        static const int nd[] = {1, 2, 4};
        j->ntasks = 2 + (uint32_t)below(w, 3);
        j->shape.ndev = nd[below(w, 3)];
        j->shape.milli = 1000;
        if (below(w, 5) == 0) {
            j->shape.ndev = 1;
            j->shape.milli = 250 * (int32_t)(1 + below(w, 3));
        }
        uint64_t topo = below(w, 4);
        if (topo) { /* a preference that relaxes after 1..10 minutes */
            j->topo = (uint8_t)topo;
            j->topo_wait = (uint16_t)(1 + below(w, 10));
        }
    }
    if (j->shape.ndev > 0 && below(w, 5) == 0) { /* one chip type only */
        uint64_t k = below(w, 10);
        int chip = k < 6 ? CHIP_H800 : k < 9 ? CHIP_A100 : CHIP_L40S;
        j->shape.chips = (allot_chip_mask)1 << chip_ids[chip];
        if (chip == CHIP_L40S && j->shape.ndev > 1) j->shape.ndev = 1;
        if (chip != CHIP_H800 && j->shape.ndev > 4) j->shape.ndev = 4;
    }
    uint64_t bad = below(w, 100);
    if (bad == 0 && j->shape.ndev > 0) { /* a chip type no node has */
        j->shape.chips = (allot_chip_mask)1 << 62;
    } else if (bad == 1) { /* more devices per task than any node */
        j->shape.ndev = 16;
        j->shape.milli = 1000;
    } else if (bad == 2) { /* a gang larger than the fleet */
        j->ntasks = 64;
        j->shape.ndev = 1;
        j->shape.milli = 1000;
    }
    j->priority = (int16_t)below(w, 4);
    if (below(w, 2)) j->flags |= ALLOT_JOBF_PREEMPTIBLE;
    if (below(w, 2)) j->ckpt = 60 * (uint32_t)(1 + below(w, 10));
    j->duration = below(w, 10) == 0 ? ALLOT_TIME_NONE : 60 + (int64_t)below(w, 7200);
    j->tenant = w->ntenants ? (uint16_t)below(w, w->ntenants) : 0;
    *never = fleet_tasks(w->c, &j->shape) < (int64_t)j->ntasks;
}

static void ev_submit(world *w)
{
    uint32_t id = w->njobs++;
    mjob *j = &w->jobs[id];
    memset(j, 0, sizeof *j);
    int never;
    gen_job(w, &j->desc, &never);
    j->never = (uint8_t)never;
    j->state = ALLOT_JOB_PENDING;
    j->start = ALLOT_TIME_NONE;
    j->desc.submit = w->now;
    list_add(w->pend, &w->npend, w->jobs, id);
    touch(w, id);
    w->n_submit++;
    w->n_gang += j->desc.ntasks > 1;
    w->n_frac += j->desc.shape.ndev == 1 && j->desc.shape.milli < 1000;
    allot_event ev = {.kind = ALLOT_EV_SUBMIT, .time = w->now, .job = id, .desc = &j->desc};
    handle(w, &ev);
    CHECK(!never || j->state == ALLOT_JOB_FAILED, ": job %u can never fit but was kept", id);
}

static void ev_end(world *w, uint32_t id, allot_event_kind kind)
{
    mjob *j = &w->jobs[id];
    if (j->state == ALLOT_JOB_RUNNING) {
        model_release(w, j);
        list_del(w->run, &w->nrun, w->jobs, id);
    } else {
        list_del(w->pend, &w->npend, w->jobs, id);
    }
    j->state = kind == ALLOT_EV_FINISH ? ALLOT_JOB_SUCCEEDED : ALLOT_JOB_CANCELLED;
    touch(w, id);
    allot_event ev = {.kind = kind, .time = w->now, .job = id};
    handle(w, &ev);
}

static void ev_node(world *w, uint32_t node, allot_event_kind kind)
{
    allot_event ev = {.kind = kind, .time = w->now, .node = node};
    handle(w, &ev);
}

/* Frozen time, no arrivals: ticks must reach a state a tick does not change. */
static void quiesce(world *w)
{
    enum { MAX_TICKS = 6 };
    uint32_t sig[MAX_TICKS + 1] = {0};
    w->n_quiet++;
    for (int k = 1; k <= MAX_TICKS; k++) {
        uint64_t pre = w->n_preempt;
        allot_event ev = {.kind = ALLOT_EV_TICK, .time = w->now};
        handle(w, &ev);
        w->n_quiet_ticks++;
        w->n_quiet_preempt += w->n_preempt - pre;
        sig[k] = w->ev_sig;
        if (w->d.n == 0) {
            if ((uint64_t)k > w->max_quiet_ticks) w->max_quiet_ticks = (uint64_t)k;
            return;
        }
    }
    /* no fixed point: tolerated only for a loop of preemptions in which the
     * signature of a former bug (1, 2, 2b or 3) shows at least every other tick */
    int known = !strict();
    for (int k = 3; k <= MAX_TICKS; k++) known = known && sig[k] + sig[k - 1] > 0;
    CHECK(known,
          ": %d ticks at a frozen time still change the schedule (last: %zu decisions, %u "
          "preemption batches, %u of them former bugs)",
          MAX_TICKS, w->d.n, w->ev_batches, w->ev_sig);
    w->n_known_loops++;
}

static void run_config(const prop_cfg *cfg, world *w)
{
    world_init(w, cfg);
    while (w->n_events < cfg->events) {
        w->now += (int64_t)below(w, 40);
        uint64_t x = below(w, 1000);
        uint32_t ndown = 0;
        for (uint32_t i = 0; i < w->nn; i++) ndown += w->down[i];
        if (x < 380 && w->npend < 40 && w->njobs + 8 < w->cap) {
            ev_submit(w);
        } else if (x < 700 && w->nrun > 0) {
            ev_end(w, w->run[below(w, w->nrun)], ALLOT_EV_FINISH);
        } else if (x < 760 && w->nrun + w->npend > 0) {
            uint32_t k = (uint32_t)below(w, w->nrun + w->npend);
            ev_end(w, k < w->nrun ? w->run[k] : w->pend[k - w->nrun], ALLOT_EV_CANCEL);
        } else if (x < 790 && ndown < 2) {
            uint32_t n = (uint32_t)below(w, w->nn);
            if (!w->down[n]) ev_node(w, n, ALLOT_EV_NODE_DOWN);
        } else if (x < 820 && ndown > 0) {
            uint32_t n = (uint32_t)below(w, w->nn);
            while (!w->down[n]) n = (n + 1) % w->nn;
            ev_node(w, n, ALLOT_EV_NODE_UP);
        } else if (x < 990) {
            allot_event ev = {.kind = ALLOT_EV_TICK, .time = w->now};
            handle(w, &ev);
        } else {
            quiesce(w);
        }
    }
    compare(w, 1);
}

typedef struct totals {
    uint64_t events, configs, submit, start, preempt, reclaim, stop, fail, gang, frac, quiet,
        quiet_ticks, quiet_preempt, max_quiet_ticks, wasted, cross, recl_borrow, prio_borrow,
        known_loops, max_job_preempt;
} totals;

static void add_totals(totals *t, const world *w)
{
    t->configs++;
    t->events += w->n_events;
    t->submit += w->n_submit;
    t->start += w->n_start;
    t->preempt += w->n_preempt;
    t->reclaim += w->n_reclaim;
    t->stop += w->n_stop;
    t->fail += w->n_fail;
    t->gang += w->n_gang;
    t->frac += w->n_frac;
    t->wasted += w->n_wasted;
    t->cross += w->n_cross;
    t->recl_borrow += w->n_recl_borrow;
    t->prio_borrow += w->n_prio_borrow;
    t->known_loops += w->n_known_loops;
    t->quiet += w->n_quiet;
    t->quiet_ticks += w->n_quiet_ticks;
    t->quiet_preempt += w->n_quiet_preempt;
    if (w->max_quiet_ticks > t->max_quiet_ticks) t->max_quiet_ticks = w->max_quiet_ticks;
    if (w->max_job_preempt > t->max_job_preempt) t->max_job_preempt = w->max_job_preempt;
}

static uint32_t scale(void)
{
    const char *e = getenv("ALLOT_PROP_SCALE");
    long v = e ? strtol(e, NULL, 10) : 1;
    return v >= 1 && v <= 1000 ? (uint32_t)v : 1;
}

enum { EVENTS_PER_CONFIG = 2600 };

static void random_events(void **state)
{
    (void)state;
    static const allot_policy policies[] = {ALLOT_POLICY_BESTFIT, ALLOT_POLICY_GPUPACKING,
                                            ALLOT_POLICY_DOTPROD, ALLOT_POLICY_RANDOM};
    totals tot;
    memset(&tot, 0, sizeof tot);
    uint64_t seed = 1;
    for (int order = ALLOT_ORDER_FIFO; order <= ALLOT_ORDER_DRF; order++)
        for (int bf = ALLOT_BACKFILL_GREEDY; bf <= ALLOT_BACKFILL_EASY; bf++)
            for (int pre = 0; pre <= 1; pre++)
                for (int ten = 0; ten <= 1; ten++) {
                    if (order == ALLOT_ORDER_DRF && !ten) continue; /* DRF needs tenants */
                    prop_cfg cfg = {(allot_queue_order)order,
                                    (allot_backfill)bf,
                                    pre,
                                    ten,
                                    policies[seed % 4],
                                    seed,
                                    EVENTS_PER_CONFIG * scale()};
                    seed++;
                    world w;
                    run_config(&cfg, &w);
                    add_totals(&tot, &w);
                    if (getenv("ALLOT_PROP_VERBOSE"))
                        print_message("  %s: %llu preemptions; former bugs: %llu (1) %llu (2) %llu "
                                      "(2b) %llu (3), %llu loops; one job preempted %llu times\n",
                                      w.name, (unsigned long long)w.n_preempt,
                                      (unsigned long long)w.n_wasted, (unsigned long long)w.n_cross,
                                      (unsigned long long)w.n_recl_borrow,
                                      (unsigned long long)w.n_prio_borrow,
                                      (unsigned long long)w.n_known_loops,
                                      (unsigned long long)w.max_job_preempt);
                    world_free(&w);
                }
#define U(x) (unsigned long long)(x)
    print_message("random_events: %llu configurations, %llu events (%llu submits: %llu gangs, "
                  "%llu fractional), %llu starts, %llu preemptions (%llu reclaims), %llu stops, "
                  "%llu rejected; %llu quiescence checks, %llu ticks, %llu preemptions in them, "
                  "at most %llu ticks to a fixed point\n",
                  U(tot.configs), U(tot.events), U(tot.submit), U(tot.gang), U(tot.frac),
                  U(tot.start), U(tot.preempt), U(tot.reclaim), U(tot.stop), U(tot.fail),
                  U(tot.quiet), U(tot.quiet_ticks), U(tot.quiet_preempt), U(tot.max_quiet_ticks));
    print_message(
        "random_events: former bugs seen: %llu preemption batches after which nothing "
        "started (1), %llu cross-chip reclaims (2), %llu reclaimers left borrowing (2b), %llu "
        "cross-tenant priority preemptors left borrowing (3), "
        "%llu frozen-time loops made of them; at most %llu preemptions of one job\n",
        U(tot.wasted), U(tot.cross), U(tot.recl_borrow), U(tot.prio_borrow), U(tot.known_loops),
        U(tot.max_job_preempt));
#undef U
    assert_true(tot.events >= 100000);
    assert_true(tot.preempt > 0 && tot.reclaim > 0 && tot.stop > 0 && tot.fail > 0);
}

/* ---- EASY: the head's reservation never slips ------------------------------------------------ */

typedef struct fin {
    int64_t t;
    uint32_t id;
} fin;

static int fin_less(const fin *a, const fin *b)
{
    return a->t < b->t || (a->t == b->t && a->id < b->id);
}

static void heap_push(fin *h, size_t *n, fin x)
{
    size_t i = (*n)++;
    while (i > 0 && fin_less(&x, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static fin heap_pop(fin *h, size_t *n)
{
    fin top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && fin_less(&h[c + 1], &h[c])) c++;
        if (!fin_less(&h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = x;
    return top;
}

static void easy_run(uint64_t seed, uint32_t njobs, allot_policy policy, allot_backfill bf,
                     uint64_t *checked_out)
{
    allot_cluster *c = fleet();
    find_chips(c);
    allot_sched_config sc;
    allot_sched_config_init(&sc);
    sc.policy = policy;
    sc.order = ALLOT_ORDER_FIFO;
    sc.backfill = bf;
    sc.seed = seed;
    sc.check_invariants = 1;
    allot_sched *s = NULL;
    assert_int_equal(allot_sched_new(&s, c, &sc), 0);
    allot_rng r;
    allot_rng_seed(&r, seed);
    allot_job *jobs = calloc(njobs, sizeof *jobs);
    int64_t *tstar = malloc(njobs * sizeof *tstar), *start = malloc(njobs * sizeof *start);
    fin *heap = malloc(njobs * sizeof *heap);
    assert_true(jobs && tstar && start && heap);
    for (uint32_t i = 0; i < njobs; i++) tstar[i] = start[i] = -1;
    allot_decisions d = {0};
    size_t nheap = 0;
    uint32_t next = 0;
    int64_t t = 0, t_arr = 0;
    uint64_t checked = 0, heads = 0;
    while (next < njobs || nheap > 0) {
        allot_event ev;
        memset(&ev, 0, sizeof ev);
        if (nheap > 0 && (next >= njobs || heap[0].t <= t_arr)) { /* departures first */
            fin f = heap_pop(heap, &nheap);
            t = f.t;
            ev.kind = ALLOT_EV_FINISH;
            ev.job = f.id;
        } else {
            t = t_arr;
            allot_job *j = &jobs[next];
            j->ntasks = 1;
            j->shape.cpu = 1000 * (int64_t)(1 + allot_rng_below(&r, 16));
            j->shape.mem = 1024;
            uint64_t kind = allot_rng_below(&r, 10);
            if (kind < 3) {
                j->shape.ndev = 1;
                j->shape.milli = 100 * (int32_t)(1 + allot_rng_below(&r, 9));
            } else {
                j->shape.ndev = 1 << allot_rng_below(&r, 4);
                j->shape.milli = 1000;
                if (kind >= 8) {
                    j->ntasks = 2 + (uint32_t)allot_rng_below(&r, 3);
                    if (j->shape.ndev > 4) j->shape.ndev = 4;
                }
            }
            if (allot_rng_below(&r, 6) == 0) { /* A100 only */
                j->shape.chips = (allot_chip_mask)1 << chip_ids[CHIP_A100];
                if (j->shape.ndev > 4) j->shape.ndev = 4;
                if (j->ntasks > 2) j->ntasks = 2;
            }
            j->duration = 10 + (int64_t)allot_rng_below(&r, 1000);
            ev.kind = ALLOT_EV_SUBMIT;
            ev.job = next;
            ev.desc = j;
            next++;
            t_arr = t + (int64_t)allot_rng_below(&r, 60);
        }
        ev.time = t;
        allot_decisions_clear(&d);
        int rc = allot_sched_handle(s, &ev, &d);
        if (rc)
            print_message("easy seed %llu: handle at t=%lld: %d\n", (unsigned long long)seed,
                          (long long)t, rc);
        assert_int_equal(rc, 0);
        for (size_t k = 0; k < d.n; k++) {
            assert_true(d.v[k].kind == ALLOT_DEC_START);
            if (d.v[k].task != 0) continue;
            uint32_t id = d.v[k].job;
            assert_true(start[id] < 0);
            start[id] = t;
            int64_t planned;
            if (bf == ALLOT_BACKFILL_CONSERVATIVE &&
                allot_sched_job_planned(s, id, &planned) == 0) { /* its first reservation */
                tstar[id] = planned;
                heads++;
            }
            heap_push(heap, &nheap, (fin){t + jobs[id].duration, id});
            if (tstar[id] >= 0) {
                if (t > tstar[id])
                    print_message("easy seed %llu: job %u (%u x %d x %d, chips %llx) started at "
                                  "%lld, reservation said %lld\n",
                                  (unsigned long long)seed, id, jobs[id].ntasks,
                                  jobs[id].shape.ndev, jobs[id].shape.milli,
                                  (unsigned long long)jobs[id].shape.chips, (long long)t,
                                  (long long)tstar[id]);
                assert_true(t <= tstar[id]); /* the reservation held */
                checked++;
            }
        }
        uint32_t who;
        int64_t when;
        if (bf == ALLOT_BACKFILL_EASY && allot_sched_reservation(s, &who, &when) == 0) {
            assert_true(who < next && start[who] < 0 && when >= t);
            if (tstar[who] < 0) {
                tstar[who] = when;
                heads++;
            }
        }
    }
    for (uint32_t i = 0; i < njobs; i++) assert_true(start[i] >= 0); /* everyone ran */
    assert_int_equal(allot_sched_running(s), 0);
    assert_int_equal(allot_sched_pending(s), 0);
    assert_true(checked == heads && checked > njobs / 20); /* the property was exercised */
    *checked_out += checked;
    allot_decisions_free(&d);
    free(jobs);
    free(tstar);
    free(start);
    free(heap);
    allot_sched_free(s);
    allot_cluster_free(c);
}

static void easy_reservation_never_slips(void **state)
{
    (void)state;
    uint64_t checked = 0;
    uint32_t n = 6000 * scale();
    easy_run(7, n, ALLOT_POLICY_BESTFIT, ALLOT_BACKFILL_EASY, &checked);
    easy_run(8, n, ALLOT_POLICY_GPUPACKING, ALLOT_BACKFILL_EASY, &checked);
    print_message("easy_reservation_never_slips: %u jobs, %llu heads started by their T*\n", 2 * n,
                  (unsigned long long)checked);
}

/* Conservative backfill: every job that got a reservation starts no later
 * than the first start time it was promised (exact run times). */
static void conservative_reservations_never_slip(void **state)
{
    (void)state;
    uint64_t checked = 0;
    uint32_t n = 4000 * scale();
    easy_run(9, n, ALLOT_POLICY_BESTFIT, ALLOT_BACKFILL_CONSERVATIVE, &checked);
    easy_run(10, n, ALLOT_POLICY_GPUPACKING, ALLOT_BACKFILL_CONSERVATIVE, &checked);
    print_message("conservative_reservations_never_slip: %u jobs, %llu reserved jobs started by "
                  "their first promised time\n",
                  2 * n, (unsigned long long)checked);
}

/* ---- rejected input ----------------------------------------------------------------------------
 */

static void expect_rejected(allot_sched *s, uint32_t id, const allot_job *j, allot_decisions *d)
{
    size_t pend = allot_sched_pending(s), run = allot_sched_running(s);
    allot_decisions_clear(d);
    allot_event ev = {.kind = ALLOT_EV_SUBMIT, .time = 5, .job = id, .desc = j};
    assert_int_equal(allot_sched_handle(s, &ev, d), 0);
    assert_int_equal(d->n, 1);
    assert_int_equal(d->v[0].kind, ALLOT_DEC_FAIL);
    assert_int_equal(d->v[0].job, id);
    assert_int_equal(allot_sched_job_state(s, id), ALLOT_JOB_FAILED);
    assert_int_equal(allot_sched_pending(s), pend); /* not queued */
    assert_int_equal(allot_sched_running(s), run);
}

static allot_job whole(uint32_t ntasks, int ndev)
{
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = ntasks;
    j.shape.ndev = ndev;
    j.shape.milli = 1000;
    j.shape.cpu = 1000;
    j.shape.mem = 1024;
    j.duration = 100;
    return j;
}

static void rejected_at_submission(void **state)
{
    (void)state;
    for (int bf = ALLOT_BACKFILL_GREEDY; bf <= ALLOT_BACKFILL_EASY; bf++) {
        allot_cluster *c = fleet();
        find_chips(c);
        /* a chip type the cluster knows but no node has */
        allot_chip_type tpu;
        memset(&tpu, 0, sizeof tpu);
        snprintf(tpu.name, sizeof tpu.name, "TPU-v5p");
        int tpu_id = allot_cluster_add_chip(c, &tpu);
        assert_true(tpu_id >= 0 && tpu_id < 63);
        allot_sched_config sc;
        allot_sched_config_init(&sc);
        sc.backfill = (allot_backfill)bf;
        sc.check_invariants = 1;
        allot_sched *s = NULL;
        assert_int_equal(allot_sched_new(&s, c, &sc), 0);
        allot_decisions d = {0};
        /* fill the fleet and queue a job so that rejection is not "the queue is empty" */
        allot_job all = whole(58, 1), one = whole(1, 1);
        allot_event ev = {.kind = ALLOT_EV_SUBMIT, .time = 0, .job = 1, .desc = &all};
        assert_int_equal(allot_sched_handle(s, &ev, &d), 0);
        ev.job = 2;
        ev.desc = &one;
        assert_int_equal(allot_sched_handle(s, &ev, &d), 0);
        assert_int_equal(allot_sched_running(s), 1);
        assert_int_equal(allot_sched_pending(s), 1);

        allot_job j = whole(1, 9); /* more devices than any node (8) */
        expect_rejected(s, 10, &j, &d);
        j = whole(1, 64);
        expect_rejected(s, 11, &j, &d);
        j = whole(59, 1); /* more devices than the fleet (58) */
        expect_rejected(s, 12, &j, &d);
        j = whole(7, 8); /* 56 <= 58 devices, but only 6 nodes have 8 */
        expect_rejected(s, 13, &j, &d);
        j = whole(3, 4); /* 3 x 4 A100: two nodes of 4 hold 2 tasks */
        j.shape.chips = (allot_chip_mask)1 << chip_ids[CHIP_A100];
        expect_rejected(s, 14, &j, &d);
        j = whole(1, 2); /* the one L40S node has 2 devices */
        j.shape.chips = (allot_chip_mask)1 << chip_ids[CHIP_L40S];
        j.shape.milli = 500;
        j.shape.ndev = 1;
        j.ntasks = 5; /* 2 devices x 2 halves = 4 shares < 5 */
        expect_rejected(s, 15, &j, &d);
        j = whole(1, 1); /* a chip type the fleet lacks */
        j.shape.chips = (allot_chip_mask)1 << tpu_id;
        expect_rejected(s, 16, &j, &d);
        j.shape.chips = (allot_chip_mask)1 << 40; /* an id the cluster never named */
        expect_rejected(s, 17, &j, &d);
        j.shape.ndev = 1;
        j.shape.milli = 300; /* fractional too */
        expect_rejected(s, 18, &j, &d);
        j = whole(1, 1);
        j.shape.cpu = 64001; /* more CPU than any node */
        expect_rejected(s, 19, &j, &d);

        /* what can fit is queued, not rejected: 8 x 1 device on nodes of 8 or
         * 4, 4 x 4 on A100 + H800, 2 x 4 A100, 4 shares of the 2 L40S */
        allot_job ok[4] = {whole(8, 1), whole(4, 4), whole(2, 4), whole(4, 1)};
        ok[2].shape.chips = (allot_chip_mask)1 << chip_ids[CHIP_A100];
        ok[3].shape.chips = (allot_chip_mask)1 << chip_ids[CHIP_L40S];
        ok[3].shape.milli = 500;
        for (uint32_t k = 0; k < 4; k++) {
            allot_decisions_clear(&d);
            ev.job = 20 + k;
            ev.desc = &ok[k];
            assert_int_equal(allot_sched_handle(s, &ev, &d), 0);
            for (size_t q = 0; q < d.n; q++) assert_int_not_equal(d.v[q].kind, ALLOT_DEC_FAIL);
            assert_int_not_equal(allot_sched_job_state(s, 20 + k), ALLOT_JOB_FAILED);
        }
        /* and a node being down does not make a job "never fits" */
        allot_event down = {.kind = ALLOT_EV_NODE_DOWN, .time = 6, .node = 4};
        assert_int_equal(allot_sched_handle(s, &down, &d), 0);
        down.node = 5;
        assert_int_equal(allot_sched_handle(s, &down, &d), 0);
        allot_job a100 = whole(1, 4);
        a100.shape.chips = (allot_chip_mask)1 << chip_ids[CHIP_A100];
        allot_decisions_clear(&d);
        ev.job = 30;
        ev.desc = &a100;
        assert_int_equal(allot_sched_handle(s, &ev, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(allot_sched_job_state(s, 30), ALLOT_JOB_PENDING);
        allot_decisions_free(&d);
        allot_sched_free(s);
        allot_cluster_free(c);
    }
}

/* ---- former bugs: regression tests ------------------------------------------------
 *
 * Each test states the behaviour the scheduler must have; each failed on an
 * earlier version of the core. */

typedef struct mini {
    allot_cluster *c;
    allot_sched *s;
    allot_decisions d;
    allot_job jobs[32];
} mini;

/* one rack of nodes given as (chip, devices); chip NULL = the same as before */
static void mini_init(mini *m, const char *const *chips, const int *ndev, int nnodes,
                      const allot_sched_config *cfg)
{
    memset(m, 0, sizeof *m);
    m->c = allot_cluster_new("kb");
    int r = allot_cluster_rack(m->c, NULL, NULL, NULL);
    for (int i = 0; i < nnodes; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(
            allot_cluster_add_node(m->c, name, chips[i], ndev[i], 64000, 1 << 20, (uint32_t)r), i);
    }
    assert_int_equal(allot_cluster_finalize(m->c), 0);
    assert_int_equal(allot_sched_new(&m->s, m->c, cfg), 0);
}

static void mini_free(mini *m)
{
    allot_decisions_free(&m->d);
    allot_sched_free(m->s);
    allot_cluster_free(m->c);
}

static allot_job *mjobdef(mini *m, uint32_t id, uint32_t ntasks, int ndev, int prio, int flags,
                          uint16_t tenant, allot_chip_mask chips, int64_t dur)
{
    allot_job *j = &m->jobs[id];
    *j = whole(ntasks, ndev);
    j->priority = (int16_t)prio;
    j->flags = (uint8_t)flags;
    j->tenant = tenant;
    j->shape.chips = chips;
    j->duration = dur;
    return j;
}

static void mini_ev(mini *m, allot_event_kind k, uint32_t id, int64_t t)
{
    allot_decisions_clear(&m->d);
    allot_event ev = {
        .kind = k, .time = t, .job = id, .desc = k == ALLOT_EV_SUBMIT ? &m->jobs[id] : NULL};
    assert_int_equal(allot_sched_handle(m->s, &ev, &m->d), 0);
}

static int mini_has(const mini *m, allot_decision_kind k, uint32_t id)
{
    for (size_t i = 0; i < m->d.n; i++)
        if (m->d.v[i].kind == k && m->d.v[i].job == id) return 1;
    return 0;
}

static size_t mini_count(const mini *m, allot_decision_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < m->d.n; i++) n += m->d.v[i].kind == k;
    return n;
}

/* Ticks at a frozen time must reach a fixed point (a tick with no decision). */
static void mini_settles(mini *m, int64_t t)
{
    for (int k = 0; k < 4; k++) {
        mini_ev(m, ALLOT_EV_TICK, 0, t);
        if (m->d.n == 0) return;
    }
    print_message("still changing after 4 ticks at t=%lld: %zu decisions, %zu preemptions\n",
                  (long long)t, m->d.n, mini_count(m, ALLOT_DEC_PREEMPT));
    fail();
}

/* Bug 1a: preempt_for() checks that the job fits after the victims go by
 * summing per-node task capacity, ignoring the gang's topology requirement.
 * Two nodes of 4; J1, J2 fill node 0, J3 half of node 1; G (3 x 1 device,
 * all on one node, priority 5) should preempt J3 and start on node 1.
 * Today J1 (the least lost work) is stopped, G cannot be placed on one node,
 * and J1 is requeued; on every later event J1 restarts and is stopped again. */
static void regression_wasted_preemption_topology(void **state)
{
    (void)state;
    static const char *chips[] = {"H800", "H800"};
    static const int nd[] = {4, 4};
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.preempt = 1;
    cfg.check_invariants = 1;
    mini m;
    mini_init(&m, chips, nd, 2, &cfg);
    for (uint32_t id = 1; id <= 3; id++) {
        mjobdef(&m, id, 1, 2, 0, ALLOT_JOBF_PREEMPTIBLE, 0, 0, 10000);
        mini_ev(&m, ALLOT_EV_SUBMIT, id, 0);
    }
    allot_job *g = mjobdef(&m, 4, 3, 1, 5, 0, 0, 0, 100);
    g->topo = ALLOT_TOPO_NODE; /* hard: topo_wait 0 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 4, 10);
    if (mini_count(&m, ALLOT_DEC_PREEMPT) > 0 && !mini_has(&m, ALLOT_DEC_START, 4))
        print_message("G's submission preempted %zu job(s) (J%u first) and G did not start\n",
                      mini_count(&m, ALLOT_DEC_PREEMPT), m.d.v[0].job);
    assert_true(mini_has(&m, ALLOT_DEC_START, 4) || mini_count(&m, ALLOT_DEC_PREEMPT) == 0);
    mini_settles(&m, 20);
    mini_free(&m);
}

/* Bug 1b: under EASY backfill, preempt_for() ignores the head's reservation.
 * One node of 8: L (4 devices, preemptible, until 1000) and R (2, until 100)
 * run; head H (6) reserves devices 0..5 from T* = 1000. P (4, priority 5,
 * long) arrives: L is preempted, then P's placement would delay H, so P is
 * held back (JOB_BLOCKED): L lost its run for nothing. At every later event
 * L restarts (it is first in FIFO order) and P stops it again. */
static void regression_wasted_preemption_easy(void **state)
{
    (void)state;
    static const char *chips[] = {"H800"};
    static const int nd[] = {8};
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.preempt = 1;
    cfg.backfill = ALLOT_BACKFILL_EASY;
    cfg.check_invariants = 1;
    mini m;
    mini_init(&m, chips, nd, 1, &cfg);
    mjobdef(&m, 1, 1, 4, 0, ALLOT_JOBF_PREEMPTIBLE, 0, 0, 1000); /* L */
    mini_ev(&m, ALLOT_EV_SUBMIT, 1, 0);
    mjobdef(&m, 2, 1, 2, 0, 0, 0, 0, 100); /* R */
    mini_ev(&m, ALLOT_EV_SUBMIT, 2, 0);
    mjobdef(&m, 3, 1, 6, 0, 0, 0, 0, 100); /* H */
    mini_ev(&m, ALLOT_EV_SUBMIT, 3, 1);
    mini_ev(&m, ALLOT_EV_TICK, 0, 1); /* a pass with H queued: its reservation */
    uint32_t who = 0;
    int64_t tstar = 0;
    assert_int_equal(allot_sched_reservation(m.s, &who, &tstar), 0);
    assert_int_equal(who, 3);
    mjobdef(&m, 4, 1, 4, 5, 0, 0, 0, 5000); /* P */
    mini_ev(&m, ALLOT_EV_SUBMIT, 4, 2);
    if (mini_has(&m, ALLOT_DEC_PREEMPT, 1) && !mini_has(&m, ALLOT_DEC_START, 4))
        print_message("L was preempted for P, and P did not start\n");
    assert_true(mini_has(&m, ALLOT_DEC_START, 4) || !mini_has(&m, ALLOT_DEC_PREEMPT, 1));
    mini_free(&m);
}

/* Bug 1c: preempt_for() ignores the preemptor's borrowing limit. Tenant A
 * (quota 4, may borrow nothing) submits an 8-device job of priority 5 on a
 * node of 8 that B's two preemptible 4-device jobs fill: both are stopped,
 * then tenant_admits() holds A's job back. On every later event B's jobs
 * restart and are stopped again; A's job can never start (and is never
 * rejected, see regression_never_fits_kept). */
static void regression_wasted_preemption_quota(void **state)
{
    (void)state;
    static const char *chips[] = {"H800"};
    static const int nd[] = {8};
    allot_tenant t[2];
    memset(t, 0, sizeof t);
    snprintf(t[0].name, sizeof t[0].name, "a");
    snprintf(t[1].name, sizeof t[1].name, "b");
    t[0].quota[0] = 4000;
    t[0].borrow_limit = 0;
    t[1].quota[0] = 4000;
    t[1].borrow_limit = -1;
    t[0].weight = t[1].weight = 1;
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.preempt = 1;
    cfg.tenants = t;
    cfg.ntenants = 2;
    cfg.check_invariants = 1;
    mini m;
    mini_init(&m, chips, nd, 1, &cfg);
    for (uint32_t id = 1; id <= 2; id++) {
        mjobdef(&m, id, 1, 4, 0, ALLOT_JOBF_PREEMPTIBLE, 1, 0, 10000);
        mini_ev(&m, ALLOT_EV_SUBMIT, id, 0);
    }
    mjobdef(&m, 3, 1, 8, 5, 0, 0, 0, 100);
    mini_ev(&m, ALLOT_EV_SUBMIT, 3, 10);
    if (mini_count(&m, ALLOT_DEC_PREEMPT) > 0 && !mini_has(&m, ALLOT_DEC_START, 3))
        print_message("%zu of B's jobs preempted for A's job, which did not start\n",
                      mini_count(&m, ALLOT_DEC_PREEMPT));
    assert_true(mini_has(&m, ALLOT_DEC_START, 3) || mini_count(&m, ALLOT_DEC_PREEMPT) == 0);
    mini_settles(&m, 20);
    mini_free(&m);
}

/* Bug 2: reclaim is not chip-aware. X: one node of 3 H800; Y: 1 A100; Z: 1
 * L40S. Quotas: A, B, C own one H800 each; C owns the A100 and the L40S.
 * A borrows the A100 (job ya), B the L40S (zb), C a second H800 (c1, c2).
 * A's a1 takes the last H800. B's b1 (one H800, B within quota) must take
 * the H800 back from C, the tenant that borrows H800s. Today the victim is
 * A's a1 (the least lost work; A "borrows" - on A100), and from then on a1
 * and b1 reclaim the device from each other at every event while C keeps
 * borrowing. */
static void regression_reclaim_cross_chip(void **state)
{
    (void)state;
    static const char *chips[] = {"H800", "A100-80G", "L40S"};
    static const int nd[] = {3, 1, 1};
    allot_tenant t[3];
    memset(t, 0, sizeof t);
    for (int k = 0; k < 3; k++) {
        snprintf(t[k].name, sizeof t[k].name, "t%d", k);
        t[k].quota[0] = 1000; /* one H800 each */
        t[k].borrow_limit = -1;
        t[k].weight = 1;
    }
    t[2].quota[1] = t[2].quota[2] = 1000; /* C owns the A100 and the L40S */
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.tenants = t;
    cfg.ntenants = 3;
    cfg.check_invariants = 1;
    mini m;
    mini_init(&m, chips, nd, 3, &cfg);
    const allot_chip_mask X = 1, Y = 2, Z = 4;
    mjobdef(&m, 1, 1, 1, 0, 0, 0, Y, 10000); /* ya */
    mini_ev(&m, ALLOT_EV_SUBMIT, 1, 0);
    mjobdef(&m, 2, 1, 1, 0, 0, 1, Z, 10000); /* zb */
    mini_ev(&m, ALLOT_EV_SUBMIT, 2, 0);
    mjobdef(&m, 3, 1, 1, 0, 0, 2, X, 10000); /* c1 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 3, 0);
    mjobdef(&m, 4, 1, 1, 0, 0, 2, X, 10000); /* c2 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 4, 0);
    mjobdef(&m, 5, 1, 1, 0, 0, 0, X, 10000); /* a1 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 5, 10);
    assert_true(mini_has(&m, ALLOT_DEC_START, 5));
    mjobdef(&m, 6, 1, 1, 0, 0, 1, X, 10000); /* b1 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 6, 20);
    assert_true(mini_has(&m, ALLOT_DEC_START, 6));
    if (mini_has(&m, ALLOT_DEC_PREEMPT, 5))
        print_message("A's a1 (A within its H800 quota) was reclaimed instead of C's c1/c2\n");
    assert_true(mini_has(&m, ALLOT_DEC_PREEMPT, 3) || mini_has(&m, ALLOT_DEC_PREEMPT, 4));
    mini_settles(&m, 20);
    mini_free(&m);
}

/* Bug 3: priority preemption ignores quotas and reclaim ignores priority,
 * so they undo each other. One node of 8; tenants A and B own 4 each. B's
 * b1 and A's a1 (4 devices each, priority 0, preemptible) run. A's a2
 * (priority 5) preempts b1 (the least lost work) and A now borrows 4; B's
 * b1 is within quota and reclaims from A: a2 (just started) is stopped; a2
 * preempts b1 again... at every event, for ever. */
static void regression_priority_vs_reclaim(void **state)
{
    (void)state;
    static const char *chips[] = {"H800"};
    static const int nd[] = {8};
    allot_tenant t[2];
    memset(t, 0, sizeof t);
    for (int k = 0; k < 2; k++) {
        snprintf(t[k].name, sizeof t[k].name, "t%d", k);
        t[k].quota[0] = 4000;
        t[k].borrow_limit = -1;
        t[k].weight = 1;
    }
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.preempt = 1;
    cfg.tenants = t;
    cfg.ntenants = 2;
    cfg.check_invariants = 1;
    mini m;
    mini_init(&m, chips, nd, 1, &cfg);
    mjobdef(&m, 1, 1, 4, 0, ALLOT_JOBF_PREEMPTIBLE, 0, 0, 10000); /* a1 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 1, 0);
    mjobdef(&m, 2, 1, 4, 0, ALLOT_JOBF_PREEMPTIBLE, 1, 0, 10000); /* b1 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 2, 5);
    mjobdef(&m, 3, 1, 4, 5, ALLOT_JOBF_PREEMPTIBLE, 0, 0, 10000); /* a2 */
    mini_ev(&m, ALLOT_EV_SUBMIT, 3, 10);
    assert_true(mini_has(&m, ALLOT_DEC_START, 3));
    mini_settles(&m, 20);
    mini_free(&m);
}

/* Bug 4: jobs that can never start are queued, not rejected: a gang whose
 * hard topology requirement no domain can meet, and a job larger than its
 * tenant's quota plus borrowing limit. Under strict order (backfill none)
 * the gang blocks the whole queue for ever. */
static void regression_never_fits_kept(void **state)
{
    (void)state;
    static const char *chips[] = {"H800", "H800"};
    static const int nd[] = {8, 8};
    allot_tenant t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "small");
    t.quota[0] = 4000;
    t.borrow_limit = 2000;
    t.weight = 1;
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    cfg.backfill = ALLOT_BACKFILL_NONE;
    cfg.tenants = &t;
    cfg.ntenants = 1;
    cfg.check_invariants = 1;
    mini m;
    mini_init(&m, chips, nd, 2, &cfg);
    mjobdef(&m, 1, 1, 8, 0, 0, 0, 0, 100); /* 8 > 4 + 2: can never start */
    mini_ev(&m, ALLOT_EV_SUBMIT, 1, 0);
    int quota_rejected = mini_has(&m, ALLOT_DEC_FAIL, 1);
    if (!quota_rejected) mini_ev(&m, ALLOT_EV_CANCEL, 1, 0);
    allot_job *g = mjobdef(&m, 2, 2, 4, 0, 0, 1, 0, 100); /* tenant 1: no quota rules */
    g->shape.ndev = 4;
    g->ntasks = 3; /* 12 devices on one node of 8 */
    g->topo = ALLOT_TOPO_NODE;
    mini_ev(&m, ALLOT_EV_SUBMIT, 2, 0);
    int topo_rejected = mini_has(&m, ALLOT_DEC_FAIL, 2);
    mjobdef(&m, 3, 1, 1, 0, 0, 1, 0, 100);
    mini_ev(&m, ALLOT_EV_SUBMIT, 3, 1);
    int small_started = mini_has(&m, ALLOT_DEC_START, 3);
    print_message("over-quota job rejected: %d; impossible-topology gang rejected: %d; a 1-device "
                  "job behind it started: %d\n",
                  quota_rejected, topo_rejected, small_started);
    assert_true(quota_rejected && topo_rejected && small_started);
    mini_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejected_at_submission),
        cmocka_unit_test(random_events),
        cmocka_unit_test(easy_reservation_never_slips),
        cmocka_unit_test(conservative_reservations_never_slip),
        cmocka_unit_test(regression_wasted_preemption_topology),
        cmocka_unit_test(regression_wasted_preemption_easy),
        cmocka_unit_test(regression_wasted_preemption_quota),
        cmocka_unit_test(regression_reclaim_cross_chip),
        cmocka_unit_test(regression_priority_vs_reclaim),
        cmocka_unit_test(regression_never_fits_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
