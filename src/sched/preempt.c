/* preempt.c - priority preemption with checkpoint-aware victim choice.
 *
 * A pending job J that does not fit may stop running jobs of strictly lower
 * priority that are marked preemptible. Victims are chosen to lose the least
 * work - the time since each one's last checkpoint, times its devices - and
 * then to be as few as possible: candidates are taken in order of lost work
 * (then larger first) until J fits on the freed capacity, then every victim
 * that turns out unnecessary is given back. Victims return to the queue and
 * restart from their last checkpoint.
 *
 * Only strictly lower priorities can be preempted, so a job can never be
 * preempted by a job it could itself preempt; with tenants, priority
 * preemption stays within a tenant and only reclaim crosses tenants (from
 * borrowers of the contested chip type, for a job within its quota there);
 * and a preemption is undone unless its preemptor starts (sched.c,
 * preempt_and_start): there are no preemption loops.
 * Under LAS order the effective priority falls with attained service; a
 * preempted job's service stops growing while it waits, and the preemptor's
 * grows as it runs, so roles only swap after a job has received a whole level
 * (10x) more service - no thrashing at a boundary.
 *
 * Worked example. J (priority 5) needs 4 devices on a full 8-device node
 * running A (priority 1, 4 devices, checkpoints every 600 s, started 1000 s
 * ago: 400 s since its last checkpoint) and B (priority 1, 4 devices, no
 * checkpoints, started 100 s ago: 100 s of work lost). Lost work: A 4 x 400,
 * B 4 x 100. B is preempted; J starts on its devices; B waits and restarts
 * from zero.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct allot__victim {
    double lost;  /* device-seconds of work lost if stopped now */
    int64_t size; /* device milli it holds */
    uint32_t id;
    int used;
    int eff;         /* effective priority */
    uint16_t tenant; /* its tenant */
    uint8_t pre;     /* preemptible (and preemption on) */
    uint8_t borrow;  /* its tenant borrows on the chip type it runs on */
    uint16_t chip;   /* chip type of its first task's node */
} victim;

static int victim_cmp(const void *x, const void *y)
{
    const victim *a = x, *b = y;
    if (a->lost != b->lost) return a->lost < b->lost ? -1 : 1;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    return a->id < b->id ? -1 : (a->id > b->id);
}

/* Work since the last checkpoint, in seconds. */
int64_t allot__lost_work(const allot__job_rec *j, int64_t now)
{
    int64_t ran = now - j->start_time;
    if (ran < 0) ran = 0;
    if (j->desc.ckpt == 0) return ran;
    return ran % (int64_t)j->desc.ckpt;
}

/* Tasks of shape sh the whole scratch state holds (see
 * allot__scratch_task_cap); the job fits when this is >= its tasks. */
static int64_t scratch_total(const allot_sched *s, const allot_shape *sh)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < allot_cluster_nnodes(s->c); i++)
        total += allot__scratch_task_cap(s, i, sh);
    return total;
}

/* The same over the distinct nodes victim x has tasks on: releasing or
 * taking x changes the total by the change of this alone, so the victim
 * loops below cost O(tasks) per victim instead of O(nodes). */
static int64_t victim_nodes_cap(const allot_sched *s, const allot__job_rec *x,
                                const allot_shape *sh)
{
    const allot__task_alloc *a = allot__allocs(x);
    int64_t sum = 0;
    for (uint32_t t = 0; t < x->desc.ntasks; t++) {
        if (a[t].node == UINT32_MAX) continue;
        int seen = 0;
        for (uint32_t u = 0; u < t && !seen; u++) seen = a[u].node == a[t].node;
        if (!seen) sum += allot__scratch_task_cap(s, a[t].node, sh);
    }
    return sum;
}

/* Scratch state of one node: load it from the cluster, and release or take
 * back a victim's tasks on that node only. */
static void node_load(allot_sched *s, uint32_t n)
{
    const allot_node *x = allot_cluster_node(s->c, n);
    memcpy(&s->bf_dev[x->dev0], allot_cluster_dev_free(s->c) + x->dev0,
           (size_t)x->ndev * sizeof *s->bf_dev);
    s->bf_cpu[n] = x->cpu_free;
    s->bf_mem[n] = x->mem_free;
}

static void node_move(allot_sched *s, const allot__job_rec *j, uint32_t n, int sign)
{
    const allot__task_alloc *a = allot__allocs(j);
    const allot_node *x = allot_cluster_node(s->c, n);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        if (a[t].node != n) continue;
        for (uint64_t m = a[t].devs; m; m &= m - 1)
            s->bf_dev[x->dev0 + (uint32_t)__builtin_ctzll(m)] +=
                (int16_t)(sign * j->desc.shape.milli);
        s->bf_cpu[n] += sign * j->desc.shape.cpu;
        s->bf_mem[n] += sign * j->desc.shape.mem;
    }
}

typedef struct node_victim {
    uint32_t node, k; /* k: index into the victims */
} node_victim;

static int nv_cmp(const void *x, const void *y)
{
    const node_victim *a = x, *b = y;
    if (a->node != b->node) return a->node < b->node ? -1 : 1;
    return a->k < b->k ? -1 : (a->k > b->k);
}

/* Single-task jobs: the cheapest victim set on each node (least lost work,
 * then fewest victims), and the node where it is cheapest. Sets v[k].used
 * for the chosen victims; returns 1 if some node works. Victims are grouped
 * by node first, so only nodes that hold a victim are examined. */
static int choose_per_node(allot_sched *s, const allot__job_rec *j, victim *v, size_t nv)
{
    size_t npairs = 0, cap = 0;
    for (size_t k = 0; k < nv; k++) cap += s->jobs[v[k].id].desc.ntasks;
    node_victim *pv = malloc((cap ? cap : 1) * sizeof *pv);
    uint8_t *cur = calloc(nv ? nv : 1, 1), *best = calloc(nv ? nv : 1, 1);
    int found = 0;
    double best_lost = 0;
    size_t best_count = 0;
    if (!pv || !cur || !best) goto out;
    for (size_t k = 0; k < nv; k++) {
        const allot__job_rec *x = &s->jobs[v[k].id];
        const allot__task_alloc *a = allot__allocs(x);
        for (uint32_t t = 0; t < x->desc.ntasks; t++) {
            if (a[t].node == UINT32_MAX) continue;
            int dup = 0; /* one entry per (node, victim) */
            for (uint32_t u = 0; u < t && !dup; u++) dup = a[u].node == a[t].node;
            if (!dup) pv[npairs++] = (node_victim){a[t].node, (uint32_t)k};
        }
    }
    /* by node, then victim order (least lost work first): nodes hold few
     * victims each, so an insertion sort suffices */
    qsort(pv, npairs, sizeof *pv, nv_cmp);
    for (size_t lo = 0, hi; lo < npairs; lo = hi) {
        for (hi = lo + 1; hi < npairs && pv[hi].node == pv[lo].node;) hi++;
        for (size_t a = lo + 1; a < hi; a++)
            for (size_t b = a; b > lo && victim_cmp(&v[pv[b].k], &v[pv[b - 1].k]) < 0; b--) {
                node_victim t = pv[b];
                pv[b] = pv[b - 1];
                pv[b - 1] = t;
            }
    }
    for (size_t lo = 0; lo < npairs;) {
        uint32_t n = pv[lo].node;
        size_t hi = lo;
        while (hi < npairs && pv[hi].node == n) hi++;
        const allot_node *x = allot_cluster_node(s->c, n);
        if (x->state != ALLOT_NODE_UP || !allot__fits_empty(s, x, &j->desc.shape)) {
            lo = hi;
            continue;
        }
        node_load(s, n);
        if (allot__scratch_task_cap(s, n, &j->desc.shape) > 0) { /* no victims needed */
            lo = hi;
            continue;
        }
        int fit = 0;
        size_t q = lo;
        for (; q < hi && !fit; q++) { /* least lost work first */
            node_move(s, &s->jobs[v[pv[q].k].id], n, +1);
            cur[pv[q].k] = 1;
            fit = allot__scratch_task_cap(s, n, &j->desc.shape) > 0;
        }
        if (fit) {
            double lost = 0;
            size_t count = 0;
            for (size_t r = q; r-- > lo;) { /* give back the ones not needed */
                uint32_t k = pv[r].k;
                node_move(s, &s->jobs[v[k].id], n, -1);
                if (allot__scratch_task_cap(s, n, &j->desc.shape) > 0) {
                    cur[k] = 0;
                } else {
                    node_move(s, &s->jobs[v[k].id], n, +1);
                    lost += v[k].lost;
                    count++;
                }
            }
            if (!found || lost < best_lost - 1e-9 ||
                (lost < best_lost + 1e-9 && count < best_count)) {
                found = 1;
                best_lost = lost;
                best_count = count;
                memcpy(best, cur, nv);
            }
        }
        for (size_t r = lo; r < hi; r++) cur[pv[r].k] = 0;
        lo = hi;
    }
    for (size_t k = 0; k < nv; k++) v[k].used = found && best[k];
out:
    free(pv);
    free(cur);
    free(best);
    return found;
}

/* The victim entry of running job r at the cached time; 0 if it can be
 * neither preempted nor reclaimed. */
static int make_cand(const allot_sched *s, uint32_t r, victim *out)
{
    const allot__job_rec *x = &s->jobs[r];
    const allot__task_alloc *a = allot__allocs(x);
    uint16_t chip = a[0].node != UINT32_MAX ? allot_cluster_node(s->c, a[0].node)->chip : 0;
    int pre = s->cfg.preempt && (x->desc.flags & ALLOT_JOBF_PREEMPTIBLE);
    if (pre && s->cfg.max_lost_s > 0 && allot__lost_work(x, s->vb.now) > s->cfg.max_lost_s)
        pre = 0; /* wait for its next checkpoint */
    int borrow = s->vb.borrowing && x->desc.tenant < s->ntenants && chip < ALLOT_MAX_CHIP_TYPES &&
                 ((s->vb.borrowing[x->desc.tenant] >> chip) & 1);
    if (!pre && !borrow) return 0;
    int64_t size = (int64_t)x->desc.ntasks * x->desc.shape.ndev * x->desc.shape.milli;
    *out = (victim){(double)allot__lost_work(x, s->vb.now) * (double)(size > 0 ? size : 1) / 1000.0,
                    size,
                    r,
                    0,
                    allot__eff_prio(s, x, s->vb.now),
                    x->desc.tenant,
                    (uint8_t)pre,
                    (uint8_t)borrow,
                    chip};
    return 1;
}

/* Who could be a victim at all, cached for one (time, running set): the
 * running jobs that are preemptible or whose tenant borrows, with their lost
 * work and effective priority, in victim order (least lost work first); the
 * lowest effective priority among the preemptible; the borrowing tenants. A
 * pass that tries many pending jobs asks it many times. */
static int victim_bounds(allot_sched *s, int64_t now)
{
    if (s->vb.valid && s->vb.now == now) return 0;
    if (s->vb.cap < s->nrunning + 1) {
        size_t cap = s->nrunning * 2 + 16;
        victim *c = realloc(s->vb.cand, cap * sizeof *c);
        if (!c) return ALLOT_ENOMEM;
        s->vb.cand = c;
        s->vb.cap = cap;
    }
    if (s->ntenants && !s->vb.borrowing) {
        s->vb.borrowing = calloc(s->ntenants, sizeof *s->vb.borrowing);
        if (!s->vb.borrowing) return ALLOT_ENOMEM;
    }
    s->vb.valid = 1;
    s->vb.now = now;
    s->vb.min_eff = INT_MAX;
    s->vb.nborrow = 0;
    for (uint32_t t = 0; t < s->ntenants; t++) {
        s->vb.borrowing[t] = allot__tenant_borrow_mask(s, (uint16_t)t);
        if (s->vb.borrowing[t]) {
            s->vb.nborrow++;
            s->vb.a_borrower = t;
        }
    }
    s->vb.ncand = 0;
    s->vb.built = 0;
    if (s->cfg.preempt)
        for (size_t q = 0; q < s->nrunning; q++) {
            const allot__job_rec *x = &s->jobs[s->run[q]];
            if (!(x->desc.flags & ALLOT_JOBF_PREEMPTIBLE)) continue;
            int e = allot__eff_prio(s, x, now);
            if (e < s->vb.min_eff) s->vb.min_eff = e;
        }
    return 0;
}

/* Builds the candidate list (when a pending job may have victims); its order
 * does not matter: callers sort what they filter from it. */
static void victims_build(allot_sched *s)
{
    if (s->vb.built) return;
    s->vb.ncand = 0;
    for (size_t q = 0; q < s->nrunning; q++) {
        victim x;
        if (make_cand(s, s->run[q], &x)) s->vb.cand[s->vb.ncand++] = x;
    }
    s->vb.built = 1;
}

/* Keeps the cached candidates in step with a job that just started (added)
 * or is about to leave the running set (removed); a change in some tenant's
 * borrowing drops the cache. */
static int tenant_flip(allot_sched *s, uint16_t t)
{
    return t < s->ntenants && s->vb.borrowing &&
           s->vb.borrowing[t] != allot__tenant_borrow_mask(s, t);
}

void allot__victims_added(allot_sched *s, uint32_t id)
{
    if (!s->vb.valid) return;
    /* an unbuilt cache is built later from every running job: the array
     * must hold them all (nrunning already counts id) */
    if (tenant_flip(s, s->jobs[id].desc.tenant) || s->vb.ncand + 1 > s->vb.cap ||
        s->nrunning > s->vb.cap) {
        s->vb.valid = 0;
        return;
    }
    victim x;
    if (!make_cand(s, id, &x)) return;
    if (x.pre && x.eff < s->vb.min_eff) s->vb.min_eff = x.eff;
    if (!s->vb.built) return;
    s->vb.cand[s->vb.ncand++] = x;
}

void allot__victims_removed(allot_sched *s, uint32_t id)
{
    if (!s->vb.valid) return;
    if (tenant_flip(s, s->jobs[id].desc.tenant)) {
        s->vb.valid = 0;
        return;
    }
    for (size_t q = 0; q < s->vb.ncand; q++)
        if (s->vb.cand[q].id == id) {
            s->vb.cand[q] = s->vb.cand[--s->vb.ncand];
            break; /* min_eff stays a lower bound; the filter in preempt_for is exact */
        }
}

void allot__victims_free(allot_sched *s)
{
    free(s->vb.cand);
    free(s->vb.borrowing);
    s->vb.cand = NULL;
    s->vb.borrowing = NULL;
    s->vb.cap = s->vb.ncand = 0;
    s->vb.valid = 0;
}

/* While an EASY reservation is active its scratch state (what is free at
 * T*) must survive: preemption works on a scratch of its own. */
static int scratch_swap(allot_sched *s)
{
    if (!s->pre_dev) {
        uint32_t nn = allot_cluster_nnodes(s->c), nd = allot_cluster_ndevices(s->c);
        s->pre_dev = malloc((size_t)(nd ? nd : 1) * sizeof *s->pre_dev);
        s->pre_cpu = malloc((size_t)(nn ? nn : 1) * sizeof *s->pre_cpu);
        s->pre_mem = malloc((size_t)(nn ? nn : 1) * sizeof *s->pre_mem);
        if (!s->pre_dev || !s->pre_cpu || !s->pre_mem) return ALLOT_ENOMEM;
    }
    int16_t *d = s->bf_dev;
    int64_t *c = s->bf_cpu, *m = s->bf_mem;
    s->bf_dev = s->pre_dev;
    s->bf_cpu = s->pre_cpu;
    s->bf_mem = s->pre_mem;
    s->pre_dev = d;
    s->pre_cpu = c;
    s->pre_mem = m;
    return 0;
}

static int preempt_for(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out);

int allot__preempt_for(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    int swapped = s->resv.active;
    if (swapped) {
        int rc = scratch_swap(s);
        if (rc) return rc;
    }
    int rc = preempt_for(s, id, now, out);
    if (swapped) scratch_swap(s); /* allocated above: cannot fail */
    return rc;
}

static int preempt_for(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    allot__job_rec *j = &s->jobs[id];
    int rc = victim_bounds(s, now);
    if (rc) return rc;
    int may_reclaim =
        s->vb.nborrow > 1 || (s->vb.nborrow == 1 && s->vb.a_borrower != j->desc.tenant);
    int jeff = allot__eff_prio(s, j, now);
    int may_preempt = s->cfg.preempt && s->vb.min_eff < jeff;
    uint64_t inq = may_reclaim ? allot__tenant_quota_mask(s, j) : 0;
    s->reclaim_mask = 0;
    int in_quota = inq != 0;
    if (!may_preempt && !in_quota) return ALLOT_ENOFIT;
    allot__shape_rec *sr = &s->shapes[j->shape_id];
    if (sr->pf_pass == s->pass && sr->pf_now == now && j->desc.ntasks >= sr->pf_ntasks &&
        jeff <= sr->pf_eff && (in_quota ? sr->pf_tenant == j->desc.tenant : 1))
        return ALLOT_ENOFIT; /* a job with as many rights found no victims just now */
    victims_build(s);
    victim *v = malloc((s->vb.ncand ? s->vb.ncand : 1) * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    size_t nv = 0;
    for (size_t q = 0; q < s->vb.ncand; q++) {
        const victim *x = &s->vb.cand[q];
        /* reclaim: a job within its tenant's quota may stop jobs of tenants
         * that borrow, whatever their priority; otherwise only preemptible
         * jobs of lower priority */
        int reclaim = x->borrow && x->tenant != j->desc.tenant && ((inq >> x->chip) & 1);
        /* with tenants, priority preemption stays within the preemptor's own
         * tenant; across tenants only reclaim stops work (else the other
         * tenant could reclaim it back, and so on forever) */
        int lower =
            x->pre && x->eff < jeff && (!s->ntenants || x->tenant == j->desc.tenant) &&
            (s->cfg.max_victim_ratio <= 0 ||
             (double)x->size <= s->cfg.max_victim_ratio * (double)allot_job_milli(&j->desc));
        if (reclaim || lower) v[nv++] = *x;
    }
    if (j->desc.ntasks > 1) qsort(v, nv, sizeof *v, victim_cmp); /* victim order */
    rc = ALLOT_ENOFIT;
    if (nv == 0) goto out;
    size_t k = 0;
    int fit = 0;
    if (j->desc.ntasks == 1) {
        if (!choose_per_node(s, j, v, nv)) goto out;
        k = nv;
        goto stop;
    }
    { /* a bound first: the free milli of the chip types the gang may use
       * plus everything the candidates hold must reach its request, else
       * no set of victims can make room (the search below would release
       * them all and fail); with many waiting gangs on a full fleet this
       * spares a scan of every node per attempt */
        allot_chip_mask m = j->desc.shape.chips;
        int64_t have = 0;
        if (!m) {
            have = allot_cluster_free_milli(s->c);
        } else {
            for (uint32_t d = 0; d < allot_cluster_ndomains(s->c); d++) {
                if (allot_cluster_domain(s->c, d)->level != ALLOT_LEVEL_ZONE) continue;
                for (uint32_t c = 0; c < allot_cluster_nchips(s->c) && c < ALLOT_MAX_CHIP_TYPES;
                     c++)
                    if (m >> c & 1) have += allot_cluster_agg(s->c, d, c)->free_milli;
            }
        }
        for (size_t q = 0; q < nv; q++) {
            allot_chip_mask vm = s->jobs[v[q].id].desc.shape.chips;
            if (!m || !vm || (vm & m)) have += v[q].size;
        }
        if (have < allot_job_milli(&j->desc)) goto out;
    }
    allot__scratch_load(s);
    const allot_shape *sh = &j->desc.shape;
    int64_t need = (int64_t)j->desc.ntasks, total = scratch_total(s, sh);
    for (; k < nv && !fit; k++) {
        const allot__job_rec *x = &s->jobs[v[k].id];
        total -= victim_nodes_cap(s, x, sh);
        allot__scratch_release(s, x);
        total += victim_nodes_cap(s, x, sh);
        v[k].used = 1;
        fit = total >= need;
    }
    if (!fit) goto out;
    /* as few victims as possible: give back any that is not needed */
    for (size_t q = k; q-- > 0;) {
        const allot__job_rec *x = &s->jobs[v[q].id];
        int64_t before = victim_nodes_cap(s, x, sh);
        allot__scratch_take(s, x);
        int64_t after = victim_nodes_cap(s, x, sh);
        if (total - before + after >= need) {
            v[q].used = 0;
            total += after - before;
        } else {
            allot__scratch_release(s, x);
        }
    }
stop:
    for (size_t q = 0; q < k; q++) {
        if (!v[q].used) continue;
        allot__job_rec *x = &s->jobs[v[q].id];
        int64_t lost = allot__lost_work(x, now);
        rc = allot__undo_save(s, v[q].id);
        if (rc) goto out;
        if (x->desc.tenant != j->desc.tenant) s->reclaim_mask = inq; /* a reclaim */
        allot__job_save_progress(s, x, now);
        rc = allot__job_stop(s, v[q].id, now);
        if (rc) goto out;
        s->stats.preemptions++;
        s->stats.lost_device_s += (double)lost * (double)v[q].size / 1000.0;
        allot_decision *d = allot__dec_push(out);
        if (!d) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        d->kind = ALLOT_DEC_PREEMPT;
        d->job = v[q].id;
        d->node = UINT32_MAX;
    }
    rc = 0;
out:
    free(v);
    if (rc == ALLOT_ENOFIT) {
        sr->pf_pass = s->pass;
        sr->pf_now = now;
        sr->pf_ntasks = j->desc.ntasks;
        sr->pf_eff = jeff;
        sr->pf_tenant = in_quota ? (int32_t)j->desc.tenant : -1;
    }
    return rc;
}
