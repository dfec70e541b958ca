/* mixed.c - the mixed fleet simulator (mixed.h): inference services and a
 * training workload share one fleet through the scheduler core.
 *
 * Worked example (tests/test_mixed.c checks it). Two nodes of two H100: node
 * 0 is the serving pool, node 1 trains. One service holds one replica (min =
 * max = 1) for 100 s; three preemptible one-device training jobs arrive at 0
 * and run for an hour. With lending, the replica takes one pool device at 0
 * and one job borrows the other: over the horizon the pool has 2 x 100
 * device-seconds, serving holds 100, 100 idle, 100 lent: lent share 1.
 * Without lending the third job waits and nothing is lent.
 *
 * Time: the core's clock (integer seconds) starts at the training window's
 * start; the services' traces start warmup_s later, at W. Events at equal
 * times go: training ends, replica drain ends, reclaims due, serving steps,
 * training arrivals (capacity is freed first, and serving sees free devices
 * before arriving training jobs do).
 *
 * A serving step at T = W + (i + 1) dt runs step i of each service with
 * allot_serve_sim_step exactly as allot_serve_run drives it (the same
 * smoothed rate, the oracle's replicas at the start), then acts on what the
 * autoscaler wants: new replicas go to a free pool device at once, else a
 * reclaim is announced (due at T + grace); a scale-down first cancels
 * announced reclaims, then stops warming replicas (their devices are free at
 * once), then drains ready ones (free drain_s later). The driver keeps its
 * own list of replica jobs in step with the serving simulator's counts and
 * checks it after every step.
 */
#include "allot/mixed.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIAS_SUFFIX "@serve"
#define NO_ALIAS     0xFFFFu

enum { TEN_TRAIN = 0, TEN_SERVE = 1 };
enum { K_TEND = 0, K_DRAIN, K_RECLAIM, K_STEP, K_ARRIVE };

void allot_mixed_config_init(allot_mixed_config *c)
{
    memset(c, 0, sizeof *c);
    c->grace_s = 20;
    c->lend = 1;
    c->sched_policy = ALLOT_SP_PRIORITY_PREEMPT;
    c->placement = ALLOT_POLICY_BESTFIT;
    c->order = ALLOT_ORDER_PRIORITY;
    c->preempt = 1;
    c->assume_ckpt_s = 1800;
    c->time_scale = 1;
    c->arrival_scale = 1;
    c->seed = 42;
}

void allot_mixed_result_free(allot_mixed_result *r)
{
    if (!r) return;
    free(r->reclaimv);
    free(r->series);
    free(r->training.jobv);
    free(r->svc);
    r->reclaimv = NULL;
    r->series = NULL;
    r->training.jobv = NULL;
    r->svc = NULL;
    r->nreclaim = r->nseries = r->training.njobv = r->nsvc = 0;
}

/* ---- event heap (time, kind, sequence) ---------------------------------------------- */

typedef struct mev {
    int64_t time;
    uint64_t seq;
    uint32_t a, b; /* K_TEND: job, epoch; K_DRAIN: replica slot; K_RECLAIM:
                      service, pending index; K_STEP: step; K_ARRIVE: job */
    uint32_t kind;
} mev;

typedef struct mheap {
    mev *v;
    size_t n, cap;
} mheap;

static int mev_less(const mev *x, const mev *y)
{
    if (x->time != y->time) return x->time < y->time;
    if (x->kind != y->kind) return x->kind < y->kind;
    return x->seq < y->seq;
}

static int heap_push(mheap *h, mev e)
{
    if (h->n >= h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        mev *v = realloc(h->v, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!mev_less(&e, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
    return 0;
}

static mev heap_pop(mheap *h)
{
    mev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && mev_less(&h->v[l], &last)) m = l;
        if (l + 1 < h->n && mev_less(&h->v[l + 1], m == i ? &last : &h->v[l])) m = l + 1;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

/* ---- small vectors ------------------------------------------------------------------ */

typedef struct u32v {
    uint32_t *v;
    size_t head, n, cap; /* live entries v[head .. n) */
} u32v;

static int u32v_push(u32v *q, uint32_t x)
{
    if (q->n == q->cap) {
        if (q->head > 0) { /* reuse the popped front */
            memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
            q->n -= q->head;
            q->head = 0;
        }
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 16;
            uint32_t *v = realloc(q->v, cap * sizeof *v);
            if (!v) return ALLOT_ENOMEM;
            q->v = v;
            q->cap = cap;
        }
    }
    q->v[q->n++] = x;
    return 0;
}

static size_t u32v_len(const u32v *q) { return q->n - q->head; }

/* ---- state ---------------------------------------------------------------------------- */

typedef struct rep { /* a replica job: id = ntrain + its slot */
    uint32_t svc;
    uint32_t node;   /* where it runs (UINT32_MAX: not placed) */
    double ready_at; /* services' clock: when its cold start ends */
    uint8_t used;    /* slot in use */
} rep;

typedef struct pend { /* a reclaim announced, not yet done */
    double ask;       /* services' clock */
    uint8_t live;
    uint8_t spare; /* for the reserve, not for a replica the service waits for */
} pend;

typedef struct msvc {
    const allot_mixed_service *in;
    const allot_service *s;
    const allot_serve_chip *ch;
    allot_serve_demand dem, sm;
    int *oracle;
    double oracle_dh;
    allot_serve_sim *m;
    allot_job rjob; /* the replica job */
    uint16_t alias; /* chip id of its pool alias */
    u32v warming;   /* replica slots warming up, in start order (the sim's FIFO) */
    u32v ready;     /* replica slots serving */
    u32v spare;     /* replica jobs held in reserve (not in the serving simulator) */
    pend *pv;
    size_t npv, cappv, pv_first; /* pv_first: no live entry before it */
    size_t live;                 /* live pending reclaims for replicas */
    size_t spare_live;           /* live pending reclaims for the reserve */
    double within, dropped, req, replica_steps, peak;
    uint64_t ups, downs, reclaims, denied;
} msvc;

typedef struct mx {
    const allot_mixed_config *cfg;
    allot_mixed_result *out;
    allot_diag *d;
    allot_cluster *c;
    allot_sched *s;
    allot_decisions dec;
    uint32_t nn;
    uint8_t *pool;
    int32_t *serving_n; /* devices replicas hold per node */
    uint16_t alias[ALLOT_MAX_CHIP_TYPES];
    uint32_t norig; /* chip types of the given fleet (ids kept) */
    double dt;
    int64_t W, Tend;
    size_t nsteps;
    /* training */
    allot_job *jobs;
    uint32_t ntrain;
    uint8_t *running;
    int64_t *cur_start, *cur_milli, *pool_milli;
    double *ran;
    double *waits, *jcts;
    size_t nwaits, njcts;
    double ran_sum, held_sum;
    allot_sim_job *jv;
    /* replicas */
    rep *rv;
    size_t nrv, caprv;
    uint32_t *freeid;
    size_t nfree;
    /* services */
    msvc *sv;
    size_t nsv;
    /* events */
    mheap h;
    uint64_t seq;
    /* pool accounting (milli) and integrals (milli-s) */
    int64_t serv_milli, lent_milli, train_milli, spare_milli;
    int64_t last;
    double serv_area, lent_area, train_area, spare_area, step_serv, step_lent, step_spare;
    /* reclaims */
    int in_reclaim;       /* a replica is being submitted for a reclaim */
    uint32_t rec_victims; /* its victims so far (before its start) */
    double rec_lost;      /* device-seconds they lost */
    allot_mixed_reclaim *recv;
    size_t nrec, caprec;
    /* series */
    size_t per;
} mx;

static double rel(const mx *x, int64_t t) { return (double)(t - x->W); }

/* The core's time for a services' time (whole seconds, rounded up). */
static int64_t abs_time(const mx *x, double t) { return x->W + (int64_t)ceil(t - 1e-9); }

static void advance(mx *x, int64_t t)
{
    if (t <= x->last) return;
    x->train_area += (double)x->train_milli * (double)(t - x->last);
    int64_t lo = x->last > x->W ? x->last : x->W, hi = t < x->Tend ? t : x->Tend;
    if (hi > lo) {
        double span = (double)(hi - lo);
        x->serv_area += (double)x->serv_milli * span;
        x->lent_area += (double)x->lent_milli * span;
        x->step_serv += (double)x->serv_milli * span;
        x->step_lent += (double)x->lent_milli * span;
        x->spare_area += (double)x->spare_milli * span;
        x->step_spare += (double)x->spare_milli * span;
    }
    x->last = t;
}

static int push(mx *x, int64_t t, uint32_t kind, uint32_t a, uint32_t b)
{
    return heap_push(&x->h, (mev){t, x->seq++, a, b, kind});
}

/* ---- decisions ---------------------------------------------------------------------- */

static int apply(mx *x, int64_t now)
{
    for (size_t k = 0; k < x->dec.n; k++) {
        const allot_decision *dc = &x->dec.v[k];
        uint32_t id = dc->job;
        if (id >= x->ntrain) { /* a replica */
            rep *r = &x->rv[id - x->ntrain];
            const msvc *sv = &x->sv[r->svc];
            if (dc->kind == ALLOT_DEC_FAIL) continue; /* the caller sees it is not placed */
            if (dc->kind != ALLOT_DEC_START || dc->node >= x->nn || !x->pool[dc->node])
                return allot_diag_set(x->d, ALLOT_EINVARIANT, NULL, 0, 0,
                                      "a replica of %s was %s (decision %u on node %u)",
                                      sv->s->name, "stopped or placed outside the pool", dc->kind,
                                      dc->node);
            r->node = dc->node;
            x->in_reclaim = 0; /* later stops are the training's own */
            x->serving_n[dc->node] += dc->ndev;
            x->serv_milli += (int64_t)dc->ndev * ALLOT_MILLI;
            double all = (double)x->serv_milli / ALLOT_MILLI;
            if (all > x->out->serving_peak_devices) x->out->serving_peak_devices = all;
            continue;
        }
        switch (dc->kind) {
        case ALLOT_DEC_FAIL:
            x->jv[id].failed = 1;
            x->out->training.rejected++;
            break;
        case ALLOT_DEC_PREEMPT:
        case ALLOT_DEC_STOP:
            if (x->in_reclaim && x->running[id]) { /* the core's allot__lost_work */
                int64_t ran = now - x->cur_start[id], ck = x->jobs[id].ckpt;
                x->rec_victims++;
                x->rec_lost += (double)(ck ? ran % ck : ran) *
                               (double)allot_job_milli(&x->jobs[id]) / ALLOT_MILLI;
            }
            if (x->running[id]) {
                x->running[id] = 0;
                x->ran[id] += (double)x->cur_milli[id] * (double)(now - x->cur_start[id]);
                x->train_milli -= x->cur_milli[id];
                x->lent_milli -= x->pool_milli[id];
                x->cur_milli[id] = x->pool_milli[id] = 0;
            }
            break;
        case ALLOT_DEC_START: {
            int64_t m = (int64_t)dc->ndev * dc->milli;
            if (dc->task == 0) {
                x->cur_milli[id] = x->pool_milli[id] = 0;
                x->running[id] = 1;
                x->cur_start[id] = now;
                uint32_t epoch = allot_sched_job_epoch(x->s, id);
                x->jv[id].starts = epoch;
                if (epoch == 1) {
                    x->out->training.started++;
                    x->waits[x->nwaits++] = (double)(now - x->jobs[id].submit);
                    x->jv[id].first_start = now;
                }
                int64_t end = allot_sched_job_end(x->s, id);
                if (end != ALLOT_TIME_NONE) {
                    int rc = push(x, end, K_TEND, id, epoch);
                    if (rc) return rc;
                }
            }
            x->cur_milli[id] += m;
            x->train_milli += m;
            if (dc->node < x->nn && x->pool[dc->node]) {
                x->pool_milli[id] += m;
                x->lent_milli += m;
            }
            break;
        }
        default: /* elastic jobs are made rigid before they are submitted */
            return allot_diag_set(x->d, ALLOT_EINVARIANT, NULL, 0, 0,
                                  "unexpected decision %u for training job %u", dc->kind, id);
        }
    }
    return 0;
}

static int handle(mx *x, const allot_event *ev)
{
    allot_decisions_clear(&x->dec);
    int rc = allot_sched_handle(x->s, ev, &x->dec);
    if (rc)
        return allot_diag_set(x->d, rc, NULL, 0, 0, "scheduler failed at t=%lld on job %u: %s",
                              (long long)ev->time, ev->job, allot_strerror(rc));
    return apply(x, ev->time);
}

/* ---- replicas --------------------------------------------------------------------- */

static int slot_new(mx *x, uint32_t svc, uint32_t *out)
{
    uint32_t r;
    if (x->nfree) {
        r = x->freeid[--x->nfree];
    } else {
        if (x->nrv == x->caprv) {
            size_t cap = x->caprv ? x->caprv * 2 : 64;
            rep *v = realloc(x->rv, cap * sizeof *v);
            uint32_t *f = realloc(x->freeid, cap * sizeof *f);
            if (v) x->rv = v;
            if (f) x->freeid = f;
            if (!v || !f) return ALLOT_ENOMEM;
            x->caprv = cap;
        }
        if (x->nrv >= (size_t)UINT32_MAX - x->ntrain) return ALLOT_ELIMIT;
        r = (uint32_t)x->nrv++;
    }
    x->rv[r] = (rep){svc, UINT32_MAX, 0, 1};
    *out = r;
    return 0;
}

static int slot_forget(mx *x, uint32_t r, int64_t now)
{
    allot_event ev = {.kind = ALLOT_EV_FORGET, .time = now, .job = x->ntrain + r};
    int rc = handle(x, &ev);
    if (rc) return rc;
    x->rv[r].used = 0;
    x->freeid[x->nfree++] = r;
    return 0;
}

/* Submits a replica of service k at now; *slot is its slot when it started,
 * UINT32_MAX when it did not (then it is withdrawn). */
static int replica_submit(mx *x, uint32_t k, int64_t now, uint32_t *slot)
{
    uint32_t r;
    int rc = slot_new(x, k, &r);
    if (rc) return rc;
    allot_event ev = {
        .kind = ALLOT_EV_SUBMIT, .time = now, .job = x->ntrain + r, .desc = &x->sv[k].rjob};
    rc = handle(x, &ev);
    if (rc) return rc;
    if (x->rv[r].node != UINT32_MAX) {
        *slot = r;
        return 0;
    }
    *slot = UINT32_MAX;
    if (allot_sched_job_state(x->s, ev.job) == ALLOT_JOB_PENDING) {
        allot_event cv = {.kind = ALLOT_EV_CANCEL, .time = now, .job = ev.job};
        rc = handle(x, &cv);
        if (rc) return rc;
    }
    return slot_forget(x, r, now);
}

/* A replica's devices are given back (stopped while warming, or drained). */
static int replica_end(mx *x, uint32_t r, int64_t now)
{
    rep *p = &x->rv[r];
    msvc *sv = &x->sv[p->svc];
    advance(x, now);
    x->serving_n[p->node] -= sv->s->devices;
    x->serv_milli -= (int64_t)sv->s->devices * ALLOT_MILLI;
    allot_event ev = {.kind = ALLOT_EV_FINISH, .time = now, .job = x->ntrain + r};
    int rc = handle(x, &ev);
    return rc ? rc : slot_forget(x, r, now);
}

/* Whether a replica of service k fits on free pool devices now. */
static int free_slot(const mx *x, const msvc *sv)
{
    for (uint32_t n = 0; n < x->nn; n++) {
        const allot_node *nd = allot_cluster_node(x->c, n);
        if (x->pool[n] && nd->chip == sv->alias && nd->state == ALLOT_NODE_UP &&
            nd->whole_free >= sv->s->devices)
            return 1;
    }
    return 0;
}

/* Whether the pool could hold one more replica of service k by reclaiming:
 * replicas that fit in the devices replicas do not hold, less those already
 * announced for services on the same chip type (exact for one device per
 * replica; for larger replicas an approximation, see mixed.md). */
static int reclaim_room(const mx *x, const msvc *sv)
{
    int64_t room = 0;
    int nd = sv->s->devices;
    for (uint32_t n = 0; n < x->nn; n++) {
        const allot_node *node = allot_cluster_node(x->c, n);
        if (x->pool[n] && node->chip == sv->alias && node->state == ALLOT_NODE_UP)
            room += (node->ndev - x->serving_n[n]) / nd;
    }
    for (size_t k = 0; k < x->nsv; k++)
        if (x->sv[k].alias == sv->alias)
            room -= (int64_t)(x->sv[k].live + x->sv[k].spare_live) *
                    ((x->sv[k].s->devices + nd - 1) / nd);
    return room > 0;
}

static int record_reclaim(mx *x, uint32_t k, double ask, double freed)
{
    if (x->nrec == x->caprec) {
        size_t cap = x->caprec ? x->caprec * 2 : 64;
        allot_mixed_reclaim *v = realloc(x->recv, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        x->recv = v;
        x->caprec = cap;
    }
    x->recv[x->nrec++] = (allot_mixed_reclaim){k, x->rec_victims, ask, freed, x->rec_lost};
    x->sv[k].reclaims++;
    return 0;
}

/* The reserve: replica jobs the serving tenant holds idle, so that a
 * scale-up starts at once instead of waiting for a reclaim. */
static int spare_add(mx *x, msvc *sv, uint32_t r)
{
    int rc = u32v_push(&sv->spare, r);
    if (rc == 0) x->spare_milli += (int64_t)sv->s->devices * ALLOT_MILLI;
    return rc;
}

/* Keeps a stopped replica's devices in the reserve when it is short;
 * returns 1 if it did. */
static int spare_keep(mx *x, msvc *sv, uint32_t r, int *rc)
{
    *rc = 0;
    if (u32v_len(&sv->spare) >= (size_t)x->cfg->reserve) return 0;
    if ((*rc = spare_add(x, sv, r))) return 0;
    for (size_t p = sv->npv; p-- > sv->pv_first && sv->spare_live &&
                             u32v_len(&sv->spare) + sv->spare_live > (size_t)x->cfg->reserve;)
        if (sv->pv[p].live && sv->pv[p].spare) { /* an announced refill is not needed */
            sv->pv[p].live = 0;
            sv->spare_live--;
        }
    return 1;
}

/* Starts the replica of pending reclaim p of service k now (due, or a pool
 * device freed up). */
static int reclaim_now(mx *x, uint32_t k, size_t p, int64_t now)
{
    msvc *sv = &x->sv[k];
    int spare = sv->pv[p].spare;
    sv->pv[p].live = 0;
    if (spare)
        sv->spare_live--;
    else
        sv->live--;
    x->in_reclaim = 1;
    x->rec_victims = 0;
    x->rec_lost = 0;
    uint32_t r;
    int rc = replica_submit(x, k, now, &r);
    x->in_reclaim = 0;
    if (rc) return rc;
    if (r == UINT32_MAX) { /* nothing to reclaim after all: it asks again */
        x->out->reclaim_failures++;
        return 0;
    }
    x->out->training.reclaim_preemptions += x->rec_victims;
    if (spare) {
        x->out->reserve_refills++;
        x->out->reserve_lost_device_s += x->rec_lost;
        return spare_add(x, sv, r);
    }
    rc = record_reclaim(x, k, sv->pv[p].ask, rel(x, now));
    if (rc) return rc;
    x->rv[r].ready_at = rel(x, now) + sv->ch->cold_start_s;
    rc = allot_serve_sim_start(sv->m, 1, x->rv[r].ready_at);
    return rc ? rc : u32v_push(&sv->warming, r);
}

static int pend_new(mx *x, uint32_t k, double ask, int spare, size_t *out)
{
    msvc *sv = &x->sv[k];
    if (sv->npv == sv->cappv) {
        size_t cap = sv->cappv ? sv->cappv * 2 : 16;
        pend *v = realloc(sv->pv, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        sv->pv = v;
        sv->cappv = cap;
    }
    sv->pv[sv->npv] = (pend){ask, 1, (uint8_t)(spare != 0)};
    if (spare)
        sv->spare_live++;
    else
        sv->live++;
    *out = sv->npv++;
    (void)x;
    return 0;
}

/* Announces a reclaim (due after the grace; at once without one). */
static int announce(mx *x, uint32_t k, int spare, int64_t T)
{
    size_t p;
    int rc = pend_new(x, k, rel(x, T), spare, &p);
    if (rc) return rc;
    if (x->cfg->grace_s <= 0) return reclaim_now(x, k, p, T);
    return push(x, T + x->cfg->grace_s, K_RECLAIM, k, (uint32_t)p);
}

/* Tops the reserve up: free pool devices first, else a reclaim. */
static int refill(mx *x, uint32_t k, int64_t T)
{
    msvc *sv = &x->sv[k];
    while (u32v_len(&sv->spare) + sv->spare_live < (size_t)x->cfg->reserve) {
        int rc = 0;
        if (free_slot(x, sv)) {
            uint32_t r;
            if ((rc = replica_submit(x, k, T, &r))) return rc;
            if (r != UINT32_MAX) {
                if ((rc = spare_add(x, sv, r))) return rc;
                continue;
            }
        }
        if (!x->cfg->lend || !reclaim_room(x, sv)) break;
        if ((rc = announce(x, k, 1, T))) return rc;
    }
    return 0;
}

/* A draining replica is done: its devices go to the reserve or back. */
static int drain_end(mx *x, uint32_t r, int64_t now)
{
    int rc;
    advance(x, now);
    if (spare_keep(x, &x->sv[x->rv[r].svc], r, &rc) || rc) return rc;
    return replica_end(x, r, now);
}

/* ---- one serving step ------------------------------------------------------------ */

static int service_step(mx *x, uint32_t k, size_t i, int64_t T)
{
    msvc *sv = &x->sv[k];
    const allot_service *s = sv->s;
    double dt = x->dt, t0 = (double)i * dt, t1 = t0 + dt;
    /* replicas whose cold start is over serve from t0 (the sim's own rule) */
    while (u32v_len(&sv->warming) && x->rv[sv->warming.v[sv->warming.head]].ready_at <= t0 + 1e-9)
        if (u32v_push(&sv->ready, sv->warming.v[sv->warming.head++])) return ALLOT_ENOMEM;
    allot_serve_tick tk = {0};
    if (i < sv->dem.n) {
        tk.count = sv->dem.count[i];
        tk.work = sv->dem.work[i];
        if (sv->sm.count[i] > 0) {
            tk.lam = sv->sm.count[i] / dt;
            tk.es = sv->sm.work[i] / sv->sm.count[i];
        }
    }
    allot_serve_sim_set_waiting(sv->m, (int)sv->live); /* the autoscaler counts them */
    int rc = allot_serve_sim_step(sv->m, t0, &tk);
    if (rc) return rc;
    int ready, starting, draining;
    allot_serve_sim_counts(sv->m, &ready, &starting, &draining);
    if ((size_t)ready != u32v_len(&sv->ready) || (size_t)starting != u32v_len(&sv->warming))
        return allot_diag_set(x->d, ALLOT_EINVARIANT, NULL, 0, 0,
                              "%s at %g s: the serving simulator has %d ready and %d starting "
                              "replicas, the fleet %zu and %zu",
                              s->name, t0, ready, starting, u32v_len(&sv->ready),
                              u32v_len(&sv->warming));
    sv->within += tk.within;
    sv->dropped += tk.dropped;
    sv->req += tk.count;
    /* announced reclaims that a freed pool device can serve now, oldest
     * first: the replicas the service waits for, then the reserve's */
    for (int spare = 0; spare <= 1; spare++)
        for (size_t p = sv->pv_first;
             p < sv->npv && (spare ? sv->spare_live : sv->live) && free_slot(x, sv); p++)
            if (sv->pv[p].live && sv->pv[p].spare == spare && (rc = reclaim_now(x, k, p, T)))
                return rc;
    while (sv->pv_first < sv->npv && !sv->pv[sv->pv_first].live) sv->pv_first++;
    allot_serve_sim_counts(sv->m, &ready, &starting, &draining);
    int have = ready + starting + (int)sv->live;
    if (tk.want > have) {
        sv->ups++;
        for (int q = have; q < tk.want; q++) {
            if (u32v_len(&sv->spare)) { /* the reserve: no waiting */
                uint32_t r = sv->spare.v[--sv->spare.n];
                x->spare_milli -= (int64_t)s->devices * ALLOT_MILLI;
                x->rv[r].ready_at = t1 + sv->ch->cold_start_s;
                rc = allot_serve_sim_start(sv->m, 1, x->rv[r].ready_at);
                if (rc == 0) rc = u32v_push(&sv->warming, r);
                if (rc) return rc;
                continue;
            }
            if (free_slot(x, sv)) {
                uint32_t r;
                rc = replica_submit(x, k, T, &r);
                if (rc) return rc;
                if (r != UINT32_MAX) {
                    x->rv[r].ready_at = t1 + sv->ch->cold_start_s;
                    rc = allot_serve_sim_start(sv->m, 1, x->rv[r].ready_at);
                    if (rc == 0) rc = u32v_push(&sv->warming, r);
                    if (rc) return rc;
                    continue;
                }
            }
            if (!x->cfg->lend || !reclaim_room(x, sv)) {
                sv->denied += (uint64_t)(tk.want - q);
                break;
            }
            if ((rc = announce(x, k, 0, T))) return rc;
        }
    } else if (tk.want < have) {
        sv->downs++;
        int stop = have - tk.want;
        for (size_t p = sv->npv; p-- > sv->pv_first && stop > 0 && sv->live;) /* newest first */
            if (sv->pv[p].live && !sv->pv[p].spare) {
                sv->pv[p].live = 0;
                sv->live--;
                stop--;
            }
        if (stop > 0) {
            int freed = allot_serve_sim_stop(sv->m, stop, t1);
            for (int q = 0; q < freed && u32v_len(&sv->warming); q++) {
                uint32_t r = sv->warming.v[--sv->warming.n]; /* newest first, as the sim */
                if (!spare_keep(x, sv, r, &rc) && rc == 0) rc = replica_end(x, r, T);
                if (rc) return rc;
            }
            int drain = stop - freed;
            int64_t end = abs_time(x, t1 + s->drain_s);
            for (; drain > 0 && u32v_len(&sv->ready); drain--) {
                uint32_t r = sv->ready.v[--sv->ready.n];
                if ((rc = push(x, end, K_DRAIN, r, 0))) return rc;
            }
        }
    }
    if (x->cfg->reserve > 0 && (rc = refill(x, k, T))) return rc;
    allot_serve_sim_counts(sv->m, &ready, &starting, &draining);
    double held = (double)ready + (double)starting + (double)draining;
    sv->replica_steps += held;
    if (held > sv->peak) sv->peak = held;
    return 0;
}

static int do_step(mx *x, size_t i, int64_t T)
{
    for (size_t k = 0; k < x->nsv; k++) {
        int rc = service_step(x, (uint32_t)k, i, T);
        if (rc) return rc;
    }
    if (x->out->series) {
        allot_mixed_point *p = &x->out->series[i / x->per];
        size_t in_b = x->nsteps - (i / x->per) * x->per;
        double wgt = 1.0 / (double)(in_b < x->per ? in_b : x->per);
        double pool = (double)x->out->pool_devices;
        double sp = x->step_spare / x->dt / ALLOT_MILLI;
        double sv = x->step_serv / x->dt / ALLOT_MILLI - sp,
               le = x->step_lent / x->dt / ALLOT_MILLI;
        p->t = (double)(i / x->per) * (double)x->per * x->dt;
        p->serving += sv * wgt;
        p->lent += le * wgt;
        p->reserve += sp * wgt;
        p->idle += (pool - sv - le) * wgt;
    }
    x->step_serv = x->step_lent = x->step_spare = 0;
    return 0;
}

/* ---- setup ---------------------------------------------------------------------- */

/* A copy of the fleet in which every pool node's chip type is an alias
 * "<type>@serve" with the same attributes; node ids and the original chip
 * ids are kept. */
static int build_fleet(mx *x, const allot_cluster *c0)
{
    allot_cluster *c = allot_cluster_new(allot_cluster_name(c0));
    if (!c) return ALLOT_ENOMEM;
    int rc = 0;
    x->norig = allot_cluster_nchips(c0);
    for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++) x->alias[k] = NO_ALIAS;
    for (uint32_t k = 0; k < x->norig && rc >= 0; k++)
        rc = allot_cluster_add_chip(c, allot_cluster_chip(c0, k));
    for (uint32_t n = 0; n < x->nn && rc >= 0; n++) {
        const allot_node *nd = allot_cluster_node(c0, n);
        if (!x->pool[n] || nd->chip == ALLOT_NO_CHIP || x->alias[nd->chip] != NO_ALIAS) continue;
        allot_chip_type t = *allot_cluster_chip(c0, nd->chip);
        char base[40]; /* room for the suffix and a number */
        snprintf(base, sizeof base, "%.39s", t.name);
        snprintf(t.name, sizeof t.name, "%s%s", base, ALIAS_SUFFIX);
        for (unsigned q = 2; allot_cluster_find_chip(c, t.name) >= 0 && q < 1000; q++)
            snprintf(t.name, sizeof t.name, "%s%s%u", base, ALIAS_SUFFIX, q % 1000u);
        rc = allot_cluster_add_chip(c, &t);
        if (rc >= 0) x->alias[nd->chip] = (uint16_t)rc;
    }
    for (uint32_t n = 0; n < x->nn && rc >= 0; n++) {
        const allot_node *nd = allot_cluster_node(c0, n);
        const allot_domain *rk = allot_cluster_domain(c0, nd->rack);
        const allot_domain *bk = allot_cluster_domain(c0, rk->parent);
        const allot_domain *zn = allot_cluster_domain(c0, bk->parent);
        int rack = allot_cluster_rack(c, zn->name, bk->name, rk->name);
        if (rack < 0) {
            rc = rack;
            break;
        }
        const char *chip = NULL;
        if (nd->chip != ALLOT_NO_CHIP)
            chip = allot_cluster_chip(c, x->pool[n] ? x->alias[nd->chip] : nd->chip)->name;
        rc = allot_cluster_add_node(c, nd->name, chip, nd->ndev, nd->cpu_cap, nd->mem_cap,
                                    (uint32_t)rack);
    }
    if (rc >= 0) rc = allot_cluster_finalize(c);
    if (rc < 0) {
        allot_cluster_free(c);
        return allot_diag_set(x->d, rc, NULL, 0, 0, "cannot copy the fleet with its pool: %s",
                              allot_strerror(rc));
    }
    x->c = c;
    return 0;
}

static int prep_service(mx *x, uint32_t k, const allot_mixed_service *in)
{
    msvc *sv = &x->sv[k];
    sv->in = in;
    sv->s = in->svc;
    allot_diag *d = x->d;
    if (!in->svc || !in->trace)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "service %u: no service or trace", k);
    int rc = allot_service_check(in->svc, in->trace, d);
    if (rc) return rc;
    const allot_service *s = in->svc;
    if (in->chip >= s->nchips)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "%s: chip %zu: it has %zu chip types",
                              s->name, in->chip, s->nchips);
    if (in->policy < 0 || in->policy >= ALLOT_AS__COUNT)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "%s: unknown autoscaler %d", s->name,
                              in->policy);
    sv->ch = &s->chips[in->chip];
    int orig = allot_cluster_find_chip(x->c, sv->ch->name);
    int maxdev = 0;
    if (orig >= 0 && (uint32_t)orig < x->norig && x->alias[orig] != NO_ALIAS) {
        sv->alias = x->alias[orig];
        for (uint32_t n = 0; n < x->nn; n++) {
            const allot_node *nd = allot_cluster_node(x->c, n);
            if (x->pool[n] && nd->chip == sv->alias && nd->ndev > maxdev) maxdev = nd->ndev;
        }
    }
    if (maxdev == 0) {
        char have[512] = "";
        size_t len = 0;
        for (uint32_t q = 0; q < x->norig && len + 70 < sizeof have; q++)
            if (x->alias[q] != NO_ALIAS)
                len += (size_t)snprintf(have + len, sizeof have - len, "%s%s", len ? ", " : "",
                                        allot_cluster_chip(x->c, q)->name);
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "service %s runs on %s, but no node of the serving pool has that "
                              "chip type (the pool has %s)",
                              s->name, sv->ch->name, len ? have : "no accelerators");
    }
    if (s->devices > maxdev)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "a replica of %s needs %d %s devices on one node; the largest pool "
                              "node of that type has %d",
                              s->name, s->devices, sv->ch->name, maxdev);
    memset(&sv->rjob, 0, sizeof sv->rjob);
    sv->rjob.shape.chips = (allot_chip_mask)1 << sv->alias;
    sv->rjob.shape.ndev = s->devices;
    sv->rjob.shape.milli = ALLOT_MILLI;
    sv->rjob.ntasks = 1;
    sv->rjob.duration = ALLOT_TIME_NONE;
    sv->rjob.submit = 0;
    sv->rjob.tenant = TEN_SERVE;
    sv->rjob.priority = INT16_MAX;
    rc = allot_serve_demand_build(s, in->chip, in->trace, x->dt, &sv->dem);
    if (rc)
        return allot_diag_set(d, rc, NULL, 0, 0, "%s: cannot cut the trace into steps", s->name);
    rc = allot_serve_demand_smoothed(&sv->dem, &sv->sm);
    if (rc == 0) rc = allot_serve_oracle(s, in->chip, &sv->sm, &sv->oracle, &sv->oracle_dh);
    if (rc) return allot_diag_set(d, rc, NULL, 0, 0, "%s: the oracle failed", s->name);
    return 0;
}

static int workload_has_preempt_info(const allot_workload *w)
{
    for (size_t i = 0; i < w->njobs; i++)
        if ((w->jobs[i].flags & ALLOT_JOBF_PREEMPTIBLE) || w->jobs[i].ckpt) return 1;
    return 0;
}

/* The training window as the core sees it. */
static int prep_training(mx *x, const allot_workload *w, int flatten)
{
    const allot_mixed_config *cfg = x->cfg;
    size_t n = w ? w->njobs : 0;
    if (n && !w->has_times)
        return allot_diag_set(x->d, ALLOT_EINVAL, NULL, 0, 0,
                              "the training workload has no arrival times; the mixed fleet replays "
                              "it at its times");
    x->jobs = malloc((n ? n : 1) * sizeof *x->jobs);
    if (!x->jobs) return ALLOT_ENOMEM;
    double scale = cfg->time_scale >= 1 ? cfg->time_scale : 1;
    double ascale = cfg->arrival_scale >= 1 ? cfg->arrival_scale : 1;
    int assume = n && cfg->assume_ckpt_s > 0 && !workload_has_preempt_info(w);
    allot_chip_mask orig = 0, aliases = 0;
    for (uint32_t k = 0; k < x->norig; k++) orig |= (allot_chip_mask)1 << k;
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        allot_job j = w->jobs[i];
        int64_t sub = j.submit == ALLOT_TIME_NONE ? 0 : j.submit;
        if (sub < cfg->train_start_s) continue;
        j.submit = (int64_t)((double)(sub - cfg->train_start_s) / scale / ascale);
        if (j.submit >= x->Tend) continue; /* arrives after the end */
        if (j.duration != ALLOT_TIME_NONE) j.duration = (int64_t)ceil((double)j.duration / scale);
        if (assume) {
            j.flags |= ALLOT_JOBF_PREEMPTIBLE;
            j.ckpt = (uint32_t)(cfg->assume_ckpt_s > UINT32_MAX ? UINT32_MAX : cfg->assume_ckpt_s);
        }
        j.tenant = TEN_TRAIN;
        j.ntasks_max = 0; /* elastic growth onto lent devices is not modelled */
        j.speed_class = 0;
        if (flatten) j.priority = 0;
        if (j.shape.ndev > 0) {
            int borrower = cfg->lend && (j.flags & ALLOT_JOBF_PREEMPTIBLE) && j.ntasks == 1;
            allot_chip_mask cm = j.shape.chips ? j.shape.chips : orig; /* no alias yet */
            if (borrower) {
                aliases = 0;
                for (uint32_t k = 0; k < x->norig; k++)
                    if (((cm >> k) & 1) && x->alias[k] != NO_ALIAS)
                        aliases |= (allot_chip_mask)1 << x->alias[k];
                cm |= aliases;
                x->out->training.borrowers++;
            }
            j.shape.chips = cm;
        }
        x->jobs[m++] = j;
    }
    x->ntrain = m;
    x->out->training.jobs = m;
    size_t nj = m ? m : 1;
    x->running = calloc(nj, 1);
    x->cur_start = calloc(nj, sizeof *x->cur_start);
    x->cur_milli = calloc(nj, sizeof *x->cur_milli);
    x->pool_milli = calloc(nj, sizeof *x->pool_milli);
    x->ran = calloc(nj, sizeof *x->ran);
    x->waits = malloc(nj * sizeof *x->waits);
    x->jcts = malloc(nj * sizeof *x->jcts);
    x->jv = calloc(nj, sizeof *x->jv);
    if (!x->running || !x->cur_start || !x->cur_milli || !x->pool_milli || !x->ran || !x->waits ||
        !x->jcts || !x->jv)
        return ALLOT_ENOMEM;
    for (uint32_t i = 0; i < m; i++) {
        x->jv[i].submit = x->jobs[i].submit;
        x->jv[i].first_start = x->jv[i].end = ALLOT_TIME_NONE;
        int rc = push(x, x->jobs[i].submit, K_ARRIVE, i, 0);
        if (rc) return rc;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;
    return (p > q) - (p < q);
}

static double rank(const double *v, size_t n, double q) /* nearest rank, sorted v */
{
    if (!n) return 0;
    size_t i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

/* ---- the run ------------------------------------------------------------------------ */

static int training_end(mx *x, const mev *e)
{
    uint32_t id = e->a;
    if (allot_sched_job_state(x->s, id) != ALLOT_JOB_RUNNING ||
        allot_sched_job_epoch(x->s, id) != e->b || allot_sched_job_end(x->s, id) != e->time)
        return 0; /* the end of a start that was preempted */
    const allot_job *j = &x->jobs[id];
    x->out->training.finished++;
    double jct = (double)(e->time - j->submit);
    x->jcts[x->njcts++] = jct;
    x->jv[id].end = e->time;
    x->running[id] = 0;
    x->ran[id] += (double)x->cur_milli[id] * (double)(e->time - x->cur_start[id]);
    x->train_milli -= x->cur_milli[id];
    x->lent_milli -= x->pool_milli[id];
    x->cur_milli[id] = x->pool_milli[id] = 0;
    x->ran_sum += x->ran[id];
    x->held_sum += (double)allot_job_milli(j) * (double)(e->time - x->jv[id].first_start);
    allot_event ev = {.kind = ALLOT_EV_FINISH, .time = e->time, .job = id};
    return handle(x, &ev);
}

static int run_loop(mx *x)
{
    int rc = 0;
    if (x->nsteps) rc = push(x, x->W + (int64_t)x->dt, K_STEP, 0, 0);
    while (rc == 0 && x->h.n > 0) {
        mev e = heap_pop(&x->h);
        if (e.time > x->Tend) break;
        advance(x, e.time);
        switch (e.kind) {
        case K_TEND: rc = training_end(x, &e); break;
        case K_DRAIN: rc = drain_end(x, e.a, e.time); break;
        case K_RECLAIM:
            if (x->sv[e.a].pv[e.b].live) rc = reclaim_now(x, e.a, e.b, e.time);
            break;
        case K_STEP:
            rc = do_step(x, e.b, e.time);
            if (rc == 0 && (size_t)e.b + 1 < x->nsteps)
                rc = push(x, e.time + (int64_t)x->dt, K_STEP, 0, e.b + 1);
            break;
        case K_ARRIVE: {
            allot_event ev = {
                .kind = ALLOT_EV_SUBMIT, .time = e.time, .job = e.a, .desc = &x->jobs[e.a]};
            rc = handle(x, &ev);
            break;
        }
        }
    }
    if (rc == 0) advance(x, x->Tend);
    return rc;
}

static void finish(mx *x)
{
    allot_mixed_result *o = x->out;
    double H = (double)x->nsteps * x->dt;
    o->pool_device_h = (double)o->pool_devices * H / 3600.0;
    o->serving_device_h = (x->serv_area - x->spare_area) / ALLOT_MILLI / 3600.0;
    o->reserve_device_h = x->spare_area / ALLOT_MILLI / 3600.0;
    o->idle_serving_device_h = o->pool_device_h - o->serving_device_h;
    if (o->idle_serving_device_h < 0) o->idle_serving_device_h = 0;
    o->lent_device_h = x->lent_area / ALLOT_MILLI / 3600.0;
    o->lent_share =
        o->idle_serving_device_h > 1e-12 ? o->lent_device_h / o->idle_serving_device_h : 1.0;
    o->reclaims = x->nrec;
    o->reclaim_bound_s = (double)x->cfg->grace_s + x->dt;
    if (x->nrec) {
        double *lat = malloc(x->nrec * sizeof *lat);
        if (lat) {
            for (size_t i = 0; i < x->nrec; i++) lat[i] = x->recv[i].free_s - x->recv[i].ask_s;
            qsort(lat, x->nrec, sizeof *lat, cmp_double);
            o->reclaim_p50_s = rank(lat, x->nrec, 0.50);
            o->reclaim_p99_s = rank(lat, x->nrec, 0.99);
            o->reclaim_max_s = lat[x->nrec - 1];
            free(lat);
        }
    }
    o->reclaimv = x->recv;
    o->nreclaim = x->nrec;
    x->recv = NULL;
    for (size_t k = 0; k < x->nsv; k++) {
        msvc *sv = &x->sv[k];
        allot_mixed_service_result *r = &o->svc[k];
        allot_serve_result *s = &r->serve;
        s->requests = (uint64_t)llround(sv->req);
        s->dropped = (uint64_t)llround(sv->dropped);
        s->within_slo = (uint64_t)llround(sv->within);
        s->slo_attainment = sv->req > 0 ? sv->within / sv->req : 1;
        s->device_hours = sv->replica_steps * sv->s->devices * x->dt / 3600.0;
        s->oracle_device_hours = sv->oracle_dh;
        s->oracle_ratio = sv->oracle_dh > 0 ? s->device_hours / sv->oracle_dh : 0;
        s->cost = sv->replica_steps * x->dt / 3600.0 * sv->ch->cost_per_hour;
        s->mean_replicas = x->nsteps ? sv->replica_steps / (double)x->nsteps : 0;
        s->peak_replicas = sv->peak;
        s->scale_ups = sv->ups;
        s->scale_downs = sv->downs;
        r->reclaims = sv->reclaims;
        r->denied = sv->denied;
        r->peak_devices = sv->peak * sv->s->devices;
    }
    allot_mixed_training *t = &o->training;
    allot_sched_stats st;
    allot_sched_get_stats(x->s, &st);
    t->preemptions = st.preemptions;
    t->lost_device_h = st.lost_device_s / 3600.0;
    t->device_h = x->train_area / ALLOT_MILLI / 3600.0;
    t->useful_device_h = t->device_h - t->lost_device_h;
    double lost = st.lost_device_s * ALLOT_MILLI;
    t->ettr = x->held_sum > 0 ? (x->ran_sum - lost) / x->held_sum : 1.0;
    if (t->ettr < 0) t->ettr = 0;
    if (x->nwaits) {
        double sum = 0;
        for (size_t i = 0; i < x->nwaits; i++) sum += x->waits[i];
        t->wait_mean_s = sum / (double)x->nwaits;
        qsort(x->waits, x->nwaits, sizeof *x->waits, cmp_double);
        t->wait_p99_s = rank(x->waits, x->nwaits, 0.99);
    }
    if (x->njcts) {
        double sum = 0;
        for (size_t i = 0; i < x->njcts; i++) sum += x->jcts[i];
        t->jct_mean_s = sum / (double)x->njcts;
        qsort(x->jcts, x->njcts, sizeof *x->jcts, cmp_double);
        t->jct_p50_s = rank(x->jcts, x->njcts, 0.50);
        t->jct_p99_s = rank(x->jcts, x->njcts, 0.99);
    }
    t->jobv = x->jv;
    t->njobv = x->ntrain;
    x->jv = NULL;
}

static int setup(mx *x, const allot_cluster *c0, const allot_workload *w,
                 const allot_mixed_service *services, size_t nsv)
{
    const allot_mixed_config *cfg = x->cfg;
    allot_diag *d = x->d;
    allot_mixed_result *o = x->out;
    x->nn = allot_cluster_nnodes(c0);
    if (!cfg->pool) return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "no serving pool given");
    x->pool = malloc(x->nn ? x->nn : 1);
    x->serving_n = calloc(x->nn ? x->nn : 1, sizeof *x->serving_n);
    if (!x->pool || !x->serving_n) return ALLOT_ENOMEM;
    for (uint32_t n = 0; n < x->nn; n++) {
        x->pool[n] = cfg->pool[n] ? 1 : 0;
        if (!x->pool[n]) continue;
        const allot_node *nd = allot_cluster_node(c0, n);
        if (nd->ndev == 0)
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "pool node %s has no accelerators: a serving pool holds replicas",
                                  nd->name);
        o->pool_nodes++;
        o->pool_devices += nd->ndev;
    }
    if (o->pool_nodes == 0)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "the serving pool has no nodes");
    if (nsv == 0) return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "no service to run");
    int rc = build_fleet(x, c0);
    if (rc) return rc;
    double span = 0;
    for (size_t k = 0; k < nsv; k++)
        if (services[k].trace && services[k].trace->span_s > span) span = services[k].trace->span_s;
    x->dt = cfg->dt > 0 ? cfg->dt : (span > 86400 ? 10 : 1);
    if (x->dt < 1 || fabs(x->dt - round(x->dt)) > 1e-9)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "the serving step must be a whole number of seconds >= 1, not %g",
                              x->dt);
    if (cfg->grace_s < 0 || cfg->warmup_s < 0 || cfg->train_start_s < 0 || cfg->reserve < 0)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "grace, warm-up and training start must be >= 0");
    x->sv = calloc(nsv, sizeof *x->sv);
    o->svc = calloc(nsv, sizeof *o->svc);
    if (!x->sv || !o->svc) return ALLOT_ENOMEM;
    x->nsv = o->nsvc = nsv;
    for (size_t k = 0; k < nsv; k++) {
        rc = prep_service(x, (uint32_t)k, &services[k]);
        if (rc) return rc;
        if (x->sv[k].dem.n > x->nsteps) x->nsteps = x->sv[k].dem.n;
    }
    if (cfg->horizon_s > 0) x->nsteps = (size_t)ceil(cfg->horizon_s / x->dt - 1e-9);
    x->W = cfg->warmup_s;
    x->Tend = x->W + (int64_t)((double)x->nsteps * x->dt);
    o->dt = x->dt;
    o->horizon_s = (double)x->nsteps * x->dt;
    o->grace_s = cfg->grace_s;
    o->warmup_s = cfg->warmup_s;
    /* the core */
    allot_sched_config sc;
    allot_sched_config_init(&sc);
    sc.policy = cfg->placement;
    sc.order = cfg->order;
    sc.backfill = cfg->backfill;
    sc.preempt = cfg->preempt;
    if (cfg->sched_policy >= 0) {
        if (allot_sched_policy_apply((allot_sched_policy)cfg->sched_policy, &sc))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "unknown scheduling policy %d",
                                  cfg->sched_policy);
        if (allot_sched_policy_wants_tenants((allot_sched_policy)cfg->sched_policy))
            sc.order = ALLOT_ORDER_DRF;
    }
    if (sc.order == ALLOT_ORDER_DRF)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "drf is not supported in the mixed fleet (its tenants are serving "
                              "and training); use fifo, fifo-backfill, priority-preempt, las or "
                              "allot");
    int flatten = sc.order == ALLOT_ORDER_FIFO;
    if (flatten) sc.order = ALLOT_ORDER_PRIORITY; /* FIFO among training, replicas first */
    rc = prep_training(x, w, flatten);
    if (rc) return rc;
    allot_workload tw;
    allot_workload_init(&tw);
    tw.jobs = x->jobs;
    tw.njobs = x->ntrain;
    allot_typical *typ = NULL;
    int ntyp = allot_typical_from_workload(&tw, 0.95, 1, &typ);
    if (ntyp < 0) return ntyp;
    if (ntyp == 0) { /* no training: the replicas are the target workload */
        free(typ);
        typ = calloc(nsv, sizeof *typ);
        if (!typ) return ALLOT_ENOMEM;
        for (size_t k = 0; k < nsv; k++)
            typ[k] = (allot_typical){x->sv[k].rjob.shape, 1.0 / (double)nsv};
        ntyp = (int)nsv;
    }
    allot_tenant ten[2];
    memset(ten, 0, sizeof ten);
    snprintf(ten[TEN_TRAIN].name, sizeof ten[0].name, "training");
    snprintf(ten[TEN_SERVE].name, sizeof ten[1].name, "serving");
    ten[TEN_TRAIN].borrow_limit = -1;
    ten[TEN_SERVE].borrow_limit = 0;
    ten[TEN_TRAIN].weight = ten[TEN_SERVE].weight = 1;
    for (uint32_t n = 0; n < x->nn; n++) {
        const allot_node *nd = allot_cluster_node(x->c, n);
        if (nd->chip == ALLOT_NO_CHIP || nd->chip >= ALLOT_MAX_CHIP_TYPES) continue;
        ten[x->pool[n] ? TEN_SERVE : TEN_TRAIN].quota[nd->chip] += (int64_t)nd->ndev * ALLOT_MILLI;
    }
    sc.tenants = ten;
    sc.ntenants = 2;
    sc.nofit = ALLOT_NOFIT_QUEUE;
    sc.seed = cfg->seed;
    sc.check_invariants = cfg->check_invariants;
    sc.typical = typ;
    sc.ntypical = (size_t)ntyp;
    rc = allot_sched_new(&x->s, x->c, &sc);
    free(typ);
    if (rc)
        return allot_diag_set(d, rc, NULL, 0, 0, "cannot create the scheduler: %s",
                              allot_strerror(rc));
    /* series */
    if (x->nsteps) {
        double bucket = cfg->bucket_s > 0 ? cfg->bucket_s : x->dt * ceil((double)x->nsteps / 300.0);
        x->per = (size_t)fmax(1, round(bucket / x->dt));
        o->nseries = (x->nsteps + x->per - 1) / x->per;
        o->series = calloc(o->nseries, sizeof *o->series);
        if (!o->series) return ALLOT_ENOMEM;
    }
    /* every service starts warm with the oracle's replicas, placed at 0 */
    for (size_t k = 0; k < nsv; k++) {
        msvc *sv = &x->sv[k];
        int r0 = sv->oracle[0] > sv->s->min_replicas ? sv->oracle[0] : sv->s->min_replicas,
            placed = 0;
        for (int q = 0; q < r0; q++) {
            uint32_t r = UINT32_MAX;
            if (free_slot(x, sv) && (rc = replica_submit(x, (uint32_t)k, 0, &r))) return rc;
            if (r == UINT32_MAX) {
                sv->denied += (uint64_t)(r0 - q);
                break;
            }
            if ((rc = u32v_push(&sv->ready, r))) return rc;
            placed++;
        }
        rc = allot_serve_sim_new(&sv->m, sv->s, sv->in->chip, sv->in->policy, x->dt, 0, placed);
        if (rc)
            return allot_diag_set(d, rc, NULL, 0, 0, "%s: cannot start its simulator", sv->s->name);
        if (cfg->reserve > 0 && (rc = refill(x, (uint32_t)k, 0))) return rc;
    }
    return 0;
}

int allot_mixed_run(const allot_cluster *c0, const allot_workload *w,
                    const allot_mixed_service *services, size_t nservices,
                    const allot_mixed_config *cfg, allot_mixed_result *out, allot_diag *d)
{
    if (!c0 || !cfg || !out || (nservices && !services)) return ALLOT_EINVAL;
    memset(out, 0, sizeof *out);
    mx x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.out = out;
    x.d = d;
    int rc = setup(&x, c0, w, services, nservices);
    if (rc == 0) rc = run_loop(&x);
    if (rc == 0) finish(&x);
    if (rc == ALLOT_ENOMEM && (!d || !d->msg[0]))
        allot_diag_set(d, rc, NULL, 0, 0, "out of memory");
    for (size_t k = 0; k < x.nsv; k++) {
        msvc *sv = &x.sv[k];
        allot_serve_sim_free(sv->m);
        allot_serve_demand_free(&sv->dem);
        free(sv->sm.count);
        free(sv->sm.work);
        free(sv->oracle);
        free(sv->warming.v);
        free(sv->ready.v);
        free(sv->spare.v);
        free(sv->pv);
    }
    free(x.sv);
    allot_decisions_free(&x.dec);
    allot_sched_free(x.s);
    allot_cluster_free(x.c);
    free(x.pool);
    free(x.serving_n);
    free(x.jobs);
    free(x.running);
    free(x.cur_start);
    free(x.cur_milli);
    free(x.pool_milli);
    free(x.ran);
    free(x.waits);
    free(x.jcts);
    free(x.jv);
    free(x.rv);
    free(x.freeid);
    free(x.h.v);
    free(x.recv);
    if (rc) allot_mixed_result_free(out);
    return rc;
}
