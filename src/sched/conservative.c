/* conservative.c - conservative backfill at device granularity.
 *
 * Every job in the queue, in queue order, either starts now or gets a
 * reservation: a start time T and the exact devices (and the CPU and memory
 * on their nodes) it will get then. A reservation, once made, stays until
 * its job starts (it is never moved later); a job may start now only if it
 * does not touch another job's reserved devices before it is expected to end
 * (its remaining work at its chip's speed), and leaves on each node the CPU
 * and memory the reservations there need. So with right estimates no
 * reservation slips - unlike EASY, which protects the head of the queue
 * only. Jobs that overrun are not killed (no walltime): a reservation then
 * waits for them. A reservation on a node that fails is dropped and made
 * again.
 *
 * Each device carries, for a pass, free_at (when it is free of running jobs
 * and of the reservations made so far) and resv_at (when its first
 * reservation begins; the time before it is a "hole" short jobs may use). A
 * new reservation goes at the earliest time enough devices are free_at on
 * nodes of the allowed chip types; its devices' free_at moves to its
 * expected end. At most ALLOT_CONS_DEPTH jobs hold reservations (Slurm's
 * bf_max_job_test plays the same role); jobs further back may still start in
 * holes. Reservations ignore a gang's topology requirement; a fractional job
 * reserves a whole device.
 *
 * Worked example: one node of 4 devices. Running: A (4 devices) ends at 100.
 * Queue: B (2 devices, 100 s), C (4 devices, 50 s), D (2 devices, 30 s).
 * Pass at t=0: B cannot start; reserved at 100 on devices 0-1 (their free_at
 * becomes 200). C cannot start; its earliest time with 4 free devices is 200
 * (devices 0-1 at 200, 2-3 at 100): reserved at 200, all free_at 250. D
 * cannot start (nothing free now). At t=100 A ends: B starts on 0-1 (ends
 * 200); D may use devices 2-3 only if it ends by their reservation at 200:
 * 100 + 30 <= 200, so D starts and C still starts at 200. Under EASY only B
 * would be protected, and a long job could have delayed C.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One node's part of a reservation. */
typedef struct cons_part {
    uint32_t node, tasks;
    uint64_t devs;
    int64_t cpu, mem;
} cons_part;

typedef struct cons_resv {
    uint32_t job;
    int64_t t, end;
    uint32_t first, count; /* parts[first .. first + count) */
} cons_resv;

/* CPU and memory a running task holds on its node until its expected end. */
typedef struct held {
    int64_t end, cpu, mem;
} held;

typedef struct allot__cons {
    uint32_t *hfirst; /* per node: its held entries, hv[hfirst[i] .. hfirst[i + 1]) */
    held *hv;
    size_t hcap;
    held *xv; /* tasks started during this pass (not in hv) */
    uint32_t *xnode;
    size_t nx, xcap;
    int64_t *free_at;   /* per device */
    int64_t *resv_at;   /* per device: first reservation's start, INT64_MAX none */
    uint32_t *resv_job; /* per device: whose reservation that is */
    int16_t *hidden;    /* per device: capacity hidden during a placement */
    uint32_t *rdev;     /* devices with a reservation, and their nodes */
    uint32_t *rnode;
    uint32_t nrdev;
    cons_resv *resv; /* the reservations (sticky across passes) */
    size_t nresv, resv_cap;
    cons_part *parts;
    size_t nparts, parts_cap;
    int active; /* inside a retry pass: the reservations hold */
} allot__cons;

int allot__cons_alloc(allot_sched *s)
{
    uint32_t nd = allot_cluster_ndevices(s->c);
    allot__cons *c = calloc(1, sizeof *c);
    if (!c) return ALLOT_ENOMEM;
    s->cons = c;
    c->free_at = malloc((size_t)(nd ? nd : 1) * sizeof *c->free_at);
    c->resv_at = malloc((size_t)(nd ? nd : 1) * sizeof *c->resv_at);
    c->resv_job = malloc((size_t)(nd ? nd : 1) * sizeof *c->resv_job);
    c->hidden = calloc((size_t)(nd ? nd : 1), sizeof *c->hidden);
    c->rdev = malloc((size_t)(nd ? nd : 1) * sizeof *c->rdev);
    c->rnode = malloc((size_t)(nd ? nd : 1) * sizeof *c->rnode);
    c->hfirst = calloc((size_t)allot_cluster_nnodes(s->c) + 1, sizeof *c->hfirst);
    if (!c->free_at || !c->resv_at || !c->resv_job || !c->hidden || !c->rdev || !c->rnode ||
        !c->hfirst)
        return ALLOT_ENOMEM;
    for (uint32_t d = 0; d < nd; d++) c->resv_at[d] = INT64_MAX;
    return 0;
}

void allot__cons_free(allot_sched *s)
{
    allot__cons *c = s->cons;
    if (!c) return;
    free(c->free_at);
    free(c->resv_at);
    free(c->resv_job);
    free(c->hidden);
    free(c->rdev);
    free(c->rnode);
    free(c->resv);
    free(c->parts);
    free(c->hfirst);
    free(c->hv);
    free(c->xv);
    free(c->xnode);
    free(c);
    s->cons = NULL;
}

static void devs_set_free_at(allot_sched *s, const allot__job_rec *j, int64_t t)
{
    allot__cons *c = s->cons;
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t q = 0; q < j->desc.ntasks; q++) {
        if (a[q].node == UINT32_MAX) continue;
        uint32_t d0 = allot_cluster_node(s->c, a[q].node)->dev0;
        for (uint64_t m = a[q].devs; m; m &= m - 1) {
            uint32_t d = d0 + (uint32_t)__builtin_ctzll(m);
            if (t > c->free_at[d]) c->free_at[d] = t;
        }
    }
}

static int64_t expected_end(const allot_sched *s, const allot__job_rec *j, int64_t from)
{
    int64_t left = allot__job_run_left(s, j);
    return left == INT64_MAX || from > INT64_MAX - left ? INT64_MAX : from + left;
}

/* Marks a reservation's devices and node resources in the pass arrays. */
static void resv_apply(allot_sched *s, const cons_resv *r)
{
    allot__cons *c = s->cons;
    for (uint32_t p = r->first; p < r->first + r->count; p++) {
        const cons_part *pt = &c->parts[p];
        uint32_t d0 = allot_cluster_node(s->c, pt->node)->dev0;
        for (uint64_t m = pt->devs; m; m &= m - 1) {
            uint32_t d = d0 + (uint32_t)__builtin_ctzll(m);
            if (c->resv_at[d] == INT64_MAX) {
                c->rnode[c->nrdev] = pt->node;
                c->rdev[c->nrdev++] = d;
            }
            if (r->t < c->resv_at[d]) {
                c->resv_at[d] = r->t;
                c->resv_job[d] = r->job;
            }
            if (r->end > c->free_at[d]) c->free_at[d] = r->end;
        }
    }
}

void allot__cons_begin(allot_sched *s, int64_t now)
{
    allot__cons *c = s->cons;
    uint32_t nn = allot_cluster_nnodes(s->c);
    for (uint32_t k = 0; k < c->nrdev; k++) c->resv_at[c->rdev[k]] = INT64_MAX;
    c->nrdev = 0;
    c->nx = 0;
    c->active = 1;
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *x = allot_cluster_node(s->c, i);
        int64_t t = x->state == ALLOT_NODE_UP ? now : INT64_MAX; /* down: until repaired */
        for (int k = 0; k < x->ndev; k++) c->free_at[x->dev0 + (uint32_t)k] = t;
    }
    size_t ntasks = 0;
    memset(c->hfirst, 0, ((size_t)nn + 1) * sizeof *c->hfirst);
    for (size_t r = 0; r < s->nrunning; r++) {
        const allot__job_rec *j = &s->jobs[s->run[r]];
        int64_t end = expected_end(s, j, j->start_time);
        devs_set_free_at(s, j, end > now ? end : now);
        const allot__task_alloc *a = allot__allocs(j);
        for (uint32_t q = 0; q < j->desc.ntasks; q++)
            if (a[q].node != UINT32_MAX) c->hfirst[a[q].node + 1]++;
        ntasks += j->desc.ntasks;
    }
    for (uint32_t i = 0; i < nn; i++) c->hfirst[i + 1] += c->hfirst[i];
    if (ntasks > c->hcap) { /* on failure, reservations see no CPU holders (rare) */
        held *v = realloc(c->hv, ntasks * 2 * sizeof *v);
        if (v) {
            c->hv = v;
            c->hcap = ntasks * 2;
        }
    }
    if (ntasks <= c->hcap) {
        for (size_t r = 0; r < s->nrunning; r++) {
            const allot__job_rec *j = &s->jobs[s->run[r]];
            int64_t end = expected_end(s, j, j->start_time);
            const allot__task_alloc *a = allot__allocs(j);
            for (uint32_t q = 0; q < j->desc.ntasks; q++) /* hfirst[i] is the fill cursor */
                if (a[q].node != UINT32_MAX)
                    c->hv[c->hfirst[a[q].node]++] =
                        (held){end, j->desc.shape.cpu, j->desc.shape.mem};
        }
        for (uint32_t i = nn; i > 0; i--) c->hfirst[i] = c->hfirst[i - 1];
        c->hfirst[0] = 0;
    } else {
        memset(c->hfirst, 0, ((size_t)nn + 1) * sizeof *c->hfirst);
    }
    /* keep the reservations of jobs still pending, not yet due (a job that
     * did not start at its time - an overrun, a failure, its topology - is
     * planned again), on nodes still up */
    size_t w = 0, wp = 0;
    for (size_t k = 0; k < c->nresv; k++) {
        cons_resv r = c->resv[k];
        int keep = r.t >= now && r.job < s->jobs_cap && s->jobs[r.job].state == ALLOT_JOB_PENDING;
        for (uint32_t p = r.first; keep && p < r.first + r.count; p++)
            keep = allot_cluster_node(s->c, c->parts[p].node)->state == ALLOT_NODE_UP;
        if (!keep) continue;
        memmove(&c->parts[wp], &c->parts[r.first], r.count * sizeof *c->parts);
        r.first = (uint32_t)wp;
        wp += r.count;
        c->resv[w++] = r;
    }
    c->nresv = w;
    c->nparts = wp;
    for (size_t k = 0; k < c->nresv; k++) resv_apply(s, &c->resv[k]);
}

void allot__cons_end(allot_sched *s)
{
    if (s->cons) s->cons->active = 0;
}

/* The job's own reservation, or NULL. */
static const cons_resv *own_resv(const allot__cons *c, uint32_t id)
{
    for (size_t k = 0; k < c->nresv; k++)
        if (c->resv[k].job == id) return &c->resv[k];
    return NULL;
}

void allot__cons_forget(allot_sched *s, uint32_t id)
{
    if (!s->cons) return;
    for (size_t k = 0; k < s->cons->nresv; k++) /* dropped at the next pass */
        if (s->cons->resv[k].job == id) s->cons->resv[k].job = UINT32_MAX;
}

int allot__cons_holds(const allot_sched *s, uint32_t id)
{
    return s->cons && own_resv(s->cons, id) != NULL;
}

int allot__cons_own_tasks(const allot_sched *s, uint32_t id, allot__task_alloc *a)
{
    const allot__cons *c = s->cons;
    const cons_resv *r = c ? own_resv(c, id) : NULL;
    if (!r) return ALLOT_ENOENT;
    const allot__job_rec *j = &s->jobs[id];
    int per = j->desc.shape.ndev;
    uint32_t t = 0;
    for (uint32_t p = r->first; p < r->first + r->count; p++) {
        uint64_t left = c->parts[p].devs;
        for (uint32_t k = 0; k < c->parts[p].tasks && t < j->desc.ntasks; k++, t++) {
            uint64_t m = 0;
            for (int q = 0; q < per && left; q++) {
                uint64_t bit = left & (~left + 1);
                m |= bit;
                left &= left - 1;
            }
            a[t] = (allot__task_alloc){c->parts[p].node, j->desc.shape.milli, m};
        }
    }
    return t == j->desc.ntasks ? 0 : ALLOT_ENOENT;
}

int allot__cons_allows(allot_sched *s, const allot__job_rec *j, int64_t now)
{
    allot__cons *c = s->cons;
    if (!c || !c->active || c->nrdev == 0) return 1;
    uint32_t id = (uint32_t)(j - s->jobs);
    int64_t end = expected_end(s, j, now);
    const cons_resv *own = own_resv(c, id);
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t q = 0; q < j->desc.ntasks; q++) {
        uint32_t n = a[q].node;
        const allot_node *x = allot_cluster_node(s->c, n);
        for (uint64_t m = a[q].devs; m; m &= m - 1) { /* another job's reserved devices */
            uint32_t d = x->dev0 + (uint32_t)__builtin_ctzll(m);
            if (c->resv_at[d] < end && c->resv_job[d] != id) return 0;
        }
        { /* leave the CPU and memory the reservations overlapping our run need -
             except those planned around our own reservation, when we run within it
             (start no later, end no later, no more tasks on this node) */
            uint32_t placed = 0, mine = 0;
            for (uint32_t u = 0; u < j->desc.ntasks; u++) placed += a[u].node == n;
            for (uint32_t p = own ? own->first : 0; own && p < own->first + own->count; p++)
                if (c->parts[p].node == n) mine = c->parts[p].tasks;
            int within = own && placed <= mine && now <= own->t;
            int64_t cpu = 0, mem = 0;
            for (size_t k = 0; k < c->nresv; k++) {
                const cons_resv *r = &c->resv[k];
                if (r->job == id || r->t >= end || r->end <= now) continue;
                if (within && r->t >= own->t) continue;
                for (uint32_t p = r->first; p < r->first + r->count; p++)
                    if (c->parts[p].node == n) {
                        cpu += c->parts[p].cpu;
                        mem += c->parts[p].mem;
                    }
            }
            if (x->cpu_free < cpu || x->mem_free < mem) return 0;
        }
    }
    return 1;
}

void allot__cons_hide(allot_sched *s, const allot__job_rec *j, int64_t now, int hide)
{
    allot__cons *c = s->cons;
    uint32_t id = (uint32_t)(j - s->jobs);
    int64_t end = expected_end(s, j, now);
    for (uint32_t k = 0; k < c->nrdev; k++) {
        uint32_t d = c->rdev[k];
        if (hide && (c->resv_at[d] >= end || c->resv_job[d] == id)) continue; /* usable */
        if (!hide && c->hidden[d] == 0) continue;
        uint32_t n = c->rnode[k];
        const allot_node *x = allot_cluster_node(s->c, n);
        uint8_t dk = (uint8_t)(d - x->dev0);
        if (hide) {
            int16_t f = allot_cluster_dev_free(s->c)[d];
            c->hidden[d] = f;
            if (f > 0) allot_cluster_take(s->c, n, &dk, 1, f, 0, 0);
        } else {
            allot_cluster_give(s->c, n, &dk, 1, c->hidden[d], 0, 0);
            c->hidden[d] = 0;
        }
        allot__node_changed(s, n);
    }
}

void allot__cons_started(allot_sched *s, const allot__job_rec *j, int64_t now)
{
    allot__cons *c = s->cons;
    if (!c || !c->active) return;
    int64_t end = expected_end(s, j, now);
    devs_set_free_at(s, j, end);
    if (c->nx + j->desc.ntasks > c->xcap) {
        size_t cap = (c->nx + j->desc.ntasks) * 2 + 16;
        held *v = realloc(c->xv, cap * sizeof *v);
        if (v) c->xv = v;
        uint32_t *n = realloc(c->xnode, cap * sizeof *n);
        if (n) c->xnode = n;
        if (!v || !n) return; /* reservations then miss its CPU (memory is short anyway) */
        c->xcap = cap;
    }
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t q = 0; q < j->desc.ntasks; q++) {
        c->xnode[c->nx] = a[q].node;
        c->xv[c->nx++] = (held){end, j->desc.shape.cpu, j->desc.shape.mem};
    }
}

typedef struct slot {
    int64_t t; /* when the node can hold its m-th task */
    uint32_t node, m;
} slot;

static int slot_cmp(const void *x, const void *y)
{
    const slot *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->node != b->node) return a->node < b->node ? -1 : 1;
    return a->m < b->m ? -1 : (a->m > b->m);
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need) n *= 2;
    void *p = realloc(*v, n * size);
    if (!p) return ALLOT_ENOMEM;
    *v = p;
    *cap = n;
    return 0;
}

static int i64_cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The earliest time from t0 at which node i can hold m tasks of sh for dur
 * seconds: m x ndev devices free_at by then, and the CPU and memory left by
 * the running tasks still there and the reservations overlapping the run. */
static int64_t node_time(const allot_sched *s, uint32_t i, const allot_shape *sh, uint32_t m,
                         int64_t t0, int64_t dur)
{
    const allot__cons *c = s->cons;
    const allot_node *x = allot_cluster_node(s->c, i);
    int64_t cpu = (int64_t)m * sh->cpu, mem = (int64_t)m * sh->mem;
    if (cpu == 0 && mem == 0) return t0;
    size_t ncand = 0,
           cap = (size_t)x->ndev + (c->hfirst[i + 1] - c->hfirst[i]) + c->nparts + c->nx + 1;
    int64_t stackbuf[256], *cand = cap <= 256 ? stackbuf : malloc(cap * sizeof *cand);
    if (!cand) return INT64_MAX;
    cand[ncand++] = t0;
    for (int k = 0; k < x->ndev; k++)
        if (c->free_at[x->dev0 + (uint32_t)k] > t0)
            cand[ncand++] = c->free_at[x->dev0 + (uint32_t)k];
    for (uint32_t h = c->hfirst[i]; h < c->hfirst[i + 1]; h++)
        if (c->hv[h].end > t0) cand[ncand++] = c->hv[h].end;
    for (size_t h = 0; h < c->nx; h++)
        if (c->xnode[h] == i && c->xv[h].end > t0) cand[ncand++] = c->xv[h].end;
    for (size_t k = 0; k < c->nresv; k++)
        for (uint32_t p = c->resv[k].first; p < c->resv[k].first + c->resv[k].count; p++)
            if (c->parts[p].node == i && c->resv[k].end > t0) cand[ncand++] = c->resv[k].end;
    qsort(cand, ncand, sizeof *cand, i64_cmp);
    int64_t found = INT64_MAX;
    for (size_t q = 0; q < ncand && found == INT64_MAX; q++) {
        int64_t t = cand[q];
        if (q > 0 && t == cand[q - 1]) continue;
        if (t == INT64_MAX) break;
        int64_t end = dur == INT64_MAX || t > INT64_MAX - dur ? INT64_MAX : t + dur;
        int free = 0;
        for (int k = 0; k < x->ndev; k++) free += c->free_at[x->dev0 + (uint32_t)k] <= t;
        if (free < (int)(m * (uint32_t)sh->ndev)) continue;
        int64_t hc = 0, hm = 0;
        for (uint32_t h = c->hfirst[i]; h < c->hfirst[i + 1]; h++)
            if (c->hv[h].end > t) {
                hc += c->hv[h].cpu;
                hm += c->hv[h].mem;
            }
        for (size_t h = 0; h < c->nx; h++)
            if (c->xnode[h] == i && c->xv[h].end > t) {
                hc += c->xv[h].cpu;
                hm += c->xv[h].mem;
            }
        for (size_t k = 0; k < c->nresv; k++) {
            const cons_resv *r = &c->resv[k];
            if (r->t >= end || r->end <= t) continue;
            for (uint32_t p = r->first; p < r->first + r->count; p++)
                if (c->parts[p].node == i) {
                    hc += c->parts[p].cpu;
                    hm += c->parts[p].mem;
                }
        }
        if (x->cpu_cap - hc >= cpu && x->mem_cap - hm >= mem) found = t;
    }
    if (cand != stackbuf) free(cand);
    return found;
}

/* Reserves devices for pending job id at the earliest time they are all
 * free_at; nothing if it already holds one, the depth is reached, or it
 * never fits. */
int allot__cons_reserve(allot_sched *s, uint32_t id, int64_t now)
{
    allot__cons *c = s->cons;
    if (!c || !c->active || c->nresv >= ALLOT_CONS_DEPTH || own_resv(c, id)) return 0;
    const allot__job_rec *j = &s->jobs[id];
    const allot_shape *sh = &j->desc.shape;
    if (sh->ndev == 0) return 0; /* CPU-only work reserves nothing */
    uint32_t nn = allot_cluster_nnodes(s->c), per = (uint32_t)sh->ndev;
    size_t nslots = 0, cap = 0;
    int single = j->desc.ntasks == 1;
    int64_t left = allot__job_run_left(s, j), dur = left == INT64_MAX ? INT64_MAX : left;
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *x = allot_cluster_node(s->c, i);
        if (allot__fits_empty(s, x, sh)) cap += (size_t)x->ndev / per;
    }
    if (cap < j->desc.ntasks) return 0;
    slot *sl = malloc((single ? 1 : cap) * sizeof *sl);
    int64_t tv[ALLOT_MAX_DEVS_PER_NODE];
    if (!sl) return ALLOT_ENOMEM;
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *x = allot_cluster_node(s->c, i);
        if (x->state != ALLOT_NODE_UP || !allot__fits_empty(s, x, sh)) continue;
        int nd = x->ndev;
        for (int a = 0; a < nd; a++) { /* insertion sort: nodes have few devices */
            int64_t v = c->free_at[x->dev0 + (uint32_t)a];
            int b = a;
            for (; b > 0 && tv[b - 1] > v; b--) tv[b] = tv[b - 1];
            tv[b] = v;
        }
        if (single) { /* one task: the node where it can start first */
            slot one = {node_time(s, i, sh, 1, tv[per - 1], dur), i, 1};
            if (nslots == 0 || slot_cmp(&one, &sl[0]) < 0) sl[0] = one;
            nslots = 1;
            continue;
        }
        for (uint32_t m = 1; m * per <= (uint32_t)nd; m++) {
            int64_t t = node_time(s, i, sh, m, tv[m * per - 1], dur);
            if (m > 1 && t < sl[nslots - 1].t) t = sl[nslots - 1].t; /* m tasks: not before m-1 */
            sl[nslots++] = (slot){t, i, m};
        }
    }
    int rc = 0;
    if (nslots >= j->desc.ntasks) {
        if (!single) qsort(sl, nslots, sizeof *sl, slot_cmp);
        int64_t t = sl[j->desc.ntasks - 1].t;
        if (t != INT64_MAX) {
            if (t < now) t = now;
            int64_t end = expected_end(s, j, t);
            if (end <= t) end = t + 1;
            rc = grow((void **)&c->resv, &c->resv_cap, c->nresv + 1, sizeof *c->resv);
            if (rc == 0)
                rc = grow((void **)&c->parts, &c->parts_cap, c->nparts + j->desc.ntasks,
                          sizeof *c->parts);
            if (rc) {
                free(sl);
                return rc;
            }
            cons_resv r = {id, t, end, (uint32_t)c->nparts, 0};
            /* per node, the tasks it holds: its slots among the first ntasks */
            for (uint32_t q = 0; q < j->desc.ntasks; q++) {
                if (sl[q].m != 1) continue; /* each node once */
                uint32_t i = sl[q].node, tasks = 0;
                for (uint32_t u = 0; u < j->desc.ntasks; u++) tasks += sl[u].node == i;
                const allot_node *x = allot_cluster_node(s->c, i);
                cons_part pt = {i, tasks, 0, (int64_t)tasks * sh->cpu, (int64_t)tasks * sh->mem};
                for (uint32_t take = tasks * per; take > 0; take--) { /* earliest-free devices */
                    int best = -1;
                    for (int k = 0; k < x->ndev; k++) {
                        uint32_t d = x->dev0 + (uint32_t)k;
                        if (((pt.devs >> k) & 1) || c->free_at[d] > t) continue;
                        if (best < 0 || c->free_at[d] < c->free_at[x->dev0 + (uint32_t)best])
                            best = k;
                    }
                    if (best < 0) break;
                    pt.devs |= (uint64_t)1 << best;
                }
                c->parts[r.first + r.count++] = pt;
            }
            c->nparts += r.count;
            c->resv[c->nresv++] = r;
            resv_apply(s, &r);
            if (s->jobs[id].planned == ALLOT_TIME_NONE) s->jobs[id].planned = t;
        }
    }
    free(sl);
    return rc;
}
