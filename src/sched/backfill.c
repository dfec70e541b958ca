/* backfill.c - EASY backfill with reservations at device granularity.
 *
 * When the job at the head of the queue does not fit, it gets a reservation:
 * the earliest time T* at which it would fit if the running jobs ended at
 * their estimated times (start + duration), and the exact devices, CPU and
 * memory it would take then. Other pending jobs may start now ("backfill")
 * only if they cannot delay that: either they are expected to end by T*, or
 * they use none of the reserved devices and leave the reserved CPU and memory
 * free at T*. Slurm reserves whole nodes; we reserve devices, so a small job
 * can still use the other devices of a node the head will need.
 *
 * Worked example. One node, 8 devices. Running: J1 holds 6 devices until
 * t = 100. Head H wants 4 devices: it does not fit now (2 free); at t = 100
 * J1's 6 return, so T* = 100 and H reserves, say, devices 0..3. A pending J2
 * wanting 1 device for 500 s may start now only on device 6 or 7 (free now,
 * not reserved); a J3 wanting 2 devices for 50 s may start anywhere (it ends
 * at 50 <= 100).
 *
 * Estimates can be wrong: a job that overruns is treated as ending "now", so
 * T* moves later, as in Slurm; the scheduler never kills it (walltimes are
 * the caller's business).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct ending {
    int64_t t;
    uint32_t id;
} ending;

static int ending_cmp(const void *x, const void *y)
{
    const ending *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->id < b->id ? -1 : (a->id > b->id);
}

/* The running jobs' expected ends, kept sorted as jobs start and stop (an
 * EASY pass walks them in order instead of sorting them every time). Only
 * kept with EASY backfill. */
static size_t ends_find(const allot_sched *s, const ending *e)
{
    size_t lo = 0, hi = s->nends;
    const ending *v = s->ends;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ending_cmp(&v[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int allot__ends_add(allot_sched *s, uint32_t id)
{
    if (s->cfg.backfill != ALLOT_BACKFILL_EASY) return 0;
    allot__job_rec *j = &s->jobs[id];
    int64_t left = allot__job_run_left(s, j);
    if (left == INT64_MAX) { /* no estimate: never frees */
        j->end_key = INT64_MAX;
        return 0;
    }
    if (s->nends >= s->ends_cap) {
        size_t cap = s->ends_cap ? s->ends_cap * 2 : 256;
        ending *v = realloc(s->ends, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        s->ends = v;
        s->ends_cap = cap;
    }
    ending e = {j->start_time + left, id};
    j->end_key = e.t;
    size_t at = ends_find(s, &e);
    ending *v = s->ends;
    memmove(&v[at + 1], &v[at], (s->nends - at) * sizeof *v);
    v[at] = e;
    s->nends++;
    return 0;
}

void allot__ends_remove(allot_sched *s, uint32_t id)
{
    if (s->cfg.backfill != ALLOT_BACKFILL_EASY) return;
    allot__job_rec *j = &s->jobs[id];
    if (j->end_key == INT64_MAX) return;
    ending e = {j->end_key, id};
    size_t at = ends_find(s, &e);
    ending *v = s->ends;
    if (at < s->nends && v[at].id == id) {
        memmove(&v[at], &v[at + 1], (s->nends - at - 1) * sizeof *v);
        s->nends--;
    }
}

void allot__resv_clear(allot_sched *s)
{
    if (s->resv.devs) /* forget the per-node amounts of the last reservation */
        for (uint32_t r = 0; r < s->resv.nnodes; r++) {
            uint32_t n = s->resv.nodes[r];
            s->resv.devs[n] = 0;
            s->resv.cpu[n] = s->resv.mem[n] = 0;
            s->resv.listed[n] = 0;
        }
    s->resv.active = 0;
    s->resv.job = UINT32_MAX;
    s->resv.nnodes = 0;
}

int allot__bf_alloc(allot_sched *s)
{
    uint32_t nn = allot_cluster_nnodes(s->c), nd = allot_cluster_ndevices(s->c);
    s->bf_dev = malloc((size_t)(nd ? nd : 1) * sizeof *s->bf_dev);
    s->bf_hidden = calloc((size_t)(nd ? nd : 1), sizeof *s->bf_hidden);
    s->bf_cap = malloc((size_t)(nn ? nn : 1) * sizeof *s->bf_cap);
    s->bf_cpu = malloc((size_t)(nn ? nn : 1) * sizeof *s->bf_cpu);
    s->bf_mem = malloc((size_t)(nn ? nn : 1) * sizeof *s->bf_mem);
    s->resv.devs = calloc((size_t)(nn ? nn : 1), sizeof *s->resv.devs);
    s->resv.cpu = calloc((size_t)(nn ? nn : 1), sizeof *s->resv.cpu);
    s->resv.mem = calloc((size_t)(nn ? nn : 1), sizeof *s->resv.mem);
    s->resv.nodes = malloc((size_t)(nn ? nn : 1) * sizeof *s->resv.nodes);
    s->resv.listed = calloc((size_t)(nn ? nn : 1), sizeof *s->resv.listed);
    if (!s->bf_dev || !s->bf_hidden || !s->bf_cap || !s->bf_cpu || !s->bf_mem || !s->resv.devs ||
        !s->resv.cpu || !s->resv.mem || !s->resv.nodes || !s->resv.listed)
        return ALLOT_ENOMEM;
    allot__resv_clear(s);
    return 0;
}

void allot__bf_free(allot_sched *s)
{
    free(s->bf_dev);
    free(s->bf_hidden);
    free(s->bf_cap);
    free(s->bf_cpu);
    free(s->bf_mem);
    free(s->resv.devs);
    free(s->resv.cpu);
    free(s->resv.mem);
    free(s->resv.nodes);
    free(s->resv.listed);
    free(s->ends);
}

/* Greedy fit of every task of shape sh (n tasks) on the scratch state:
 * for each task the feasible node with the fewest free device milli, its
 * least-free fitting devices. Fills the reservation arrays when it fits. */
static int scratch_fit(allot_sched *s, const allot_shape *sh, uint32_t n, int commit)
{
    uint32_t nn = allot_cluster_nnodes(s->c);
    const allot_node *nodes = allot_cluster_nodes(s->c);
    int16_t *dev = s->bf_dev;
    for (uint32_t t = 0; t < n; t++) {
        uint32_t best = UINT32_MAX;
        int64_t best_free = INT64_MAX;
        for (uint32_t i = 0; i < nn; i++) {
            const allot_node *x = &nodes[i];
            if (x->state != ALLOT_NODE_UP) continue;
            if (s->bf_cpu[i] < sh->cpu || s->bf_mem[i] < sh->mem) continue;
            int64_t fr = 0;
            int fit = 0;
            if (sh->ndev > 0) {
                if (x->chip == ALLOT_NO_CHIP || (sh->chips && !((sh->chips >> x->chip) & 1)))
                    continue;
                for (int k = 0; k < x->ndev; k++) {
                    fr += dev[x->dev0 + (uint32_t)k];
                    fit += dev[x->dev0 + (uint32_t)k] >= sh->milli;
                }
                if (fit < sh->ndev) continue;
            }
            if (fr < best_free) {
                best_free = fr;
                best = i;
            }
        }
        if (best == UINT32_MAX) return ALLOT_ENOFIT;
        const allot_node *x = &nodes[best];
        /* take the devices with the least free that fit */
        for (int k = 0; k < sh->ndev; k++) {
            int pick = -1;
            for (int q = 0; q < x->ndev; q++) {
                int16_t f = dev[x->dev0 + (uint32_t)q];
                if (f < sh->milli) continue;
                if (pick < 0 || f < dev[x->dev0 + (uint32_t)pick]) pick = q;
            }
            dev[x->dev0 + (uint32_t)pick] = (int16_t)(dev[x->dev0 + (uint32_t)pick] - sh->milli);
            if (commit) s->resv.devs[best] |= (uint64_t)1 << pick;
        }
        s->bf_cpu[best] -= sh->cpu;
        s->bf_mem[best] -= sh->mem;
        if (commit && !s->resv.listed[best]) {
            s->resv.listed[best] = 1;
            s->resv.nodes[s->resv.nnodes++] = best;
        }
        if (commit) {
            s->resv.cpu[best] += sh->cpu;
            s->resv.mem[best] += sh->mem;
        }
    }
    return 0;
}

void allot__scratch_load(allot_sched *s)
{
    uint32_t nn = allot_cluster_nnodes(s->c);
    memcpy(s->bf_dev, allot_cluster_dev_free(s->c),
           (size_t)allot_cluster_ndevices(s->c) * sizeof *s->bf_dev);
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *x = allot_cluster_node(s->c, i);
        s->bf_cpu[i] = x->cpu_free;
        s->bf_mem[i] = x->mem_free;
    }
}

void allot__scratch_release(allot_sched *s, const allot__job_rec *j)
{
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        if (a[t].node == UINT32_MAX) continue;
        const allot_node *x = allot_cluster_node(s->c, a[t].node);
        for (uint64_t m = a[t].devs; m; m &= m - 1)
            s->bf_dev[x->dev0 + (uint32_t)__builtin_ctzll(m)] += (int16_t)j->desc.shape.milli;
        s->bf_cpu[a[t].node] += j->desc.shape.cpu;
        s->bf_mem[a[t].node] += j->desc.shape.mem;
    }
}

int64_t allot__scratch_task_cap(const allot_sched *s, uint32_t i, const allot_shape *sh)
{
    const allot_node *x = allot_cluster_node(s->c, i);
    if (x->state != ALLOT_NODE_UP) return 0;
    int64_t k = INT32_MAX;
    if (sh->cpu > 0) k = s->bf_cpu[i] / sh->cpu;
    if (sh->mem > 0 && s->bf_mem[i] / sh->mem < k) k = s->bf_mem[i] / sh->mem;
    if (sh->ndev > 0) {
        if (x->chip == ALLOT_NO_CHIP || (sh->chips && !((sh->chips >> x->chip) & 1))) return 0;
        int64_t slots = 0; /* device slots: whole devices, or shares of one */
        for (int q = 0; q < x->ndev; q++) slots += s->bf_dev[x->dev0 + (uint32_t)q] / sh->milli;
        if (sh->milli >= ALLOT_MILLI) slots /= sh->ndev;
        if (slots < k) k = slots;
    }
    return k < 0 ? 0 : k;
}

int allot__resv_compute(allot_sched *s, uint32_t head, int64_t now)
{
    allot__resv_clear(s);
    uint32_t nn = allot_cluster_nnodes(s->c);
    const allot__job_rec *h = &s->jobs[head];
    const ending *e = s->ends; /* sorted; an overdue end counts as now */
    size_t ne = s->nends;
    allot__scratch_load(s);
    /* tasks are identical and nodes independent, so the head fits exactly
     * when the per-node task capacities add up to its task count; keep that
     * sum up to date as jobs end instead of re-fitting the whole fleet */
    const allot_shape *sh = &h->desc.shape;
    int64_t total = 0;
    for (uint32_t i = 0; i < nn; i++) {
        s->bf_cap[i] = allot__scratch_task_cap(s, i, sh);
        total += s->bf_cap[i];
    }
    int rc = ALLOT_ENOFIT;
    size_t k = 0;
    int64_t t = now;
    for (;;) {
        while (k < ne && (e[k].t > now ? e[k].t : now) <= t) { /* every release at that time */
            const allot__job_rec *x = &s->jobs[e[k++].id];
            const allot__task_alloc *a = allot__allocs(x);
            allot__scratch_release(s, x);
            for (uint32_t q = 0; q < x->desc.ntasks; q++) {
                uint32_t n = a[q].node;
                if (n == UINT32_MAX) continue;
                total -= s->bf_cap[n];
                s->bf_cap[n] = allot__scratch_task_cap(s, n, sh);
                total += s->bf_cap[n];
            }
        }
        if (total >= (int64_t)h->desc.ntasks) {
            /* commit the reservation; the scratch state stays "at T*" minus
             * the reserved amounts, i.e. what backfilled jobs may still use */
            rc = scratch_fit(s, sh, h->desc.ntasks, 1);
            if (rc == 0) {
                s->resv.active = 1;
                s->resv.job = head;
                s->resv.t = t;
            }
            break;
        }
        if (k >= ne) break; /* nothing more will end: no reservation */
        t = e[k].t > now ? e[k].t : now;
    }
    return rc == ALLOT_ENOFIT ? 0 : rc;
}

int allot__resv_allows(allot_sched *s, const allot__job_rec *j, int64_t now)
{
    if (!s->resv.active) return 1;
    int64_t left = allot__job_run_left(s, j), end = left == INT64_MAX ? INT64_MAX : now + left;
    if (end <= s->resv.t) return 1; /* gone before the head needs anything */
    const allot__task_alloc *a = allot__allocs(j);
    /* the scratch state holds what is free at T* beyond the reservation; a
     * gang's tasks on one node need their CPU and memory together */
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        uint32_t n = a[t].node, here = 0;
        if (a[t].devs & s->resv.devs[n]) return 0;
        for (uint32_t u = 0; u <= t; u++) here += a[u].node == n;
        if (s->bf_cpu[n] < (int64_t)here * j->desc.shape.cpu ||
            s->bf_mem[n] < (int64_t)here * j->desc.shape.mem)
            return 0;
    }
    return 1;
}

void allot__resv_account(allot_sched *s, const allot__job_rec *j, int64_t now)
{
    if (!s->resv.active) return;
    int64_t left = allot__job_run_left(s, j), end = left == INT64_MAX ? INT64_MAX : now + left;
    if (end <= s->resv.t) return;
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        s->bf_cpu[a[t].node] -= j->desc.shape.cpu;
        s->bf_mem[a[t].node] -= j->desc.shape.mem;
    }
}

/* Hides (hide = 1) or restores (hide = 0) the capacity of reserved devices
 * that are free now, so that a long backfill job is placed around them. */
void allot__resv_hide(allot_sched *s, int hide)
{
    for (uint32_t r = 0; r < s->resv.nnodes; r++) {
        uint32_t n = s->resv.nodes[r];
        uint64_t m = s->resv.devs[n];
        if (!m) continue;
        const allot_node *x = allot_cluster_node(s->c, n);
        for (; m; m &= m - 1) {
            uint8_t k = (uint8_t)__builtin_ctzll(m);
            if (hide) {
                int16_t f = allot_cluster_dev_free(s->c)[x->dev0 + k];
                s->bf_hidden[x->dev0 + k] = f;
                if (f > 0) allot_cluster_take(s->c, n, &k, 1, f, 0, 0);
            } else {
                int16_t f = s->bf_hidden[x->dev0 + k];
                if (f > 0) allot_cluster_give(s->c, n, &k, 1, f, 0, 0);
                s->bf_hidden[x->dev0 + k] = 0;
            }
        }
        allot__node_changed(s, n);
    }
}

void allot__scratch_take(allot_sched *s, const allot__job_rec *j)
{
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        if (a[t].node == UINT32_MAX) continue;
        const allot_node *x = allot_cluster_node(s->c, a[t].node);
        for (uint64_t m = a[t].devs; m; m &= m - 1)
            s->bf_dev[x->dev0 + (uint32_t)__builtin_ctzll(m)] -= (int16_t)j->desc.shape.milli;
        s->bf_cpu[a[t].node] -= j->desc.shape.cpu;
        s->bf_mem[a[t].node] -= j->desc.shape.mem;
    }
}
