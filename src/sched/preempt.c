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
 * preempted by a job it could itself preempt: there are no preemption loops.
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
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct victim {
    double lost;  /* device-seconds of work lost if stopped now */
    int64_t size; /* device milli it holds */
    uint32_t id;
    int used;
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

/* Whether the job fits the scratch state (see allot__scratch_task_cap). */
static int fits_on_scratch(const allot_sched *s, const allot__job_rec *j)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < allot_cluster_nnodes(s->c) && total < j->desc.ntasks; i++)
        total += allot__scratch_task_cap(s, i, &j->desc.shape);
    return total >= (int64_t)j->desc.ntasks;
}

static int job_on_node(const allot__job_rec *x, uint32_t n)
{
    const allot__task_alloc *a = x->desc.ntasks == 1 ? &x->one : x->many;
    for (uint32_t t = 0; t < x->desc.ntasks; t++)
        if (a[t].node == n) return 1;
    return 0;
}

/* Single-task jobs: the cheapest victim set on each node (least lost work,
 * then fewest victims), and the node where it is cheapest. Sets v[k].used
 * for the chosen victims; returns 1 if some node works. */
static int choose_per_node(allot_sched *s, const allot__job_rec *j, victim *v, size_t nv)
{
    uint32_t nn = allot_cluster_nnodes(s->c);
    uint8_t *cur = calloc(nv ? nv : 1, 1), *best = calloc(nv ? nv : 1, 1);
    int found = 0;
    double best_lost = 0;
    size_t best_count = 0;
    if (!cur || !best) goto out;
    for (uint32_t n = 0; n < nn; n++) {
        if (!allot__fits_empty(s, allot_cluster_node(s->c, n), &j->desc.shape)) continue;
        allot__scratch_load(s);
        if (allot__scratch_task_cap(s, n, &j->desc.shape) > 0) continue; /* no victims needed */
        memset(cur, 0, nv);
        int fit = 0;
        for (size_t k = 0; k < nv && !fit; k++) { /* least lost work first */
            if (!job_on_node(&s->jobs[v[k].id], n)) continue;
            allot__scratch_release(s, &s->jobs[v[k].id]);
            cur[k] = 1;
            fit = allot__scratch_task_cap(s, n, &j->desc.shape) > 0;
        }
        if (!fit) continue;
        double lost = 0;
        size_t count = 0;
        for (size_t k = nv; k-- > 0;) { /* give back the ones not needed */
            if (!cur[k]) continue;
            allot__scratch_take(s, &s->jobs[v[k].id]);
            if (allot__scratch_task_cap(s, n, &j->desc.shape) > 0) {
                cur[k] = 0;
            } else {
                allot__scratch_release(s, &s->jobs[v[k].id]);
                lost += v[k].lost;
                count++;
            }
        }
        if (!found || lost < best_lost - 1e-9 || (lost < best_lost + 1e-9 && count < best_count)) {
            found = 1;
            best_lost = lost;
            best_count = count;
            memcpy(best, cur, nv);
        }
    }
    for (size_t k = 0; k < nv; k++) v[k].used = found && best[k];
out:
    free(cur);
    free(best);
    return found;
}

int allot__preempt_for(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    allot__job_rec *j = &s->jobs[id];
    victim *v = malloc((s->nrunning ? s->nrunning : 1) * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    int in_quota = allot__tenant_in_quota(s, j);
    size_t nv = 0;
    for (size_t q = 0; q < s->nrunning; q++) {
        uint32_t r = s->run[q];
        const allot__job_rec *x = &s->jobs[r];
        /* reclaim: a job within its tenant's quota may stop jobs of tenants
         * that borrow, whatever their priority; otherwise only preemptible
         * jobs of lower priority */
        int reclaim = x->desc.tenant != j->desc.tenant && in_quota &&
                      allot__tenant_borrowing(s, x->desc.tenant);
        int lower = s->cfg.preempt && (x->desc.flags & ALLOT_JOBF_PREEMPTIBLE) &&
                    allot__eff_prio(s, x, now) < allot__eff_prio(s, j, now);
        if (!reclaim && !lower) continue;
        int64_t size = (int64_t)x->desc.ntasks * x->desc.shape.ndev * x->desc.shape.milli;
        v[nv++] = (victim){
            (double)allot__lost_work(x, now) * (double)(size > 0 ? size : 1) / 1000.0, size, r, 0};
    }
    int rc = ALLOT_ENOFIT;
    if (nv == 0) goto out;
    qsort(v, nv, sizeof *v, victim_cmp);
    size_t k = 0;
    int fit = 0;
    if (j->desc.ntasks == 1) {
        if (!choose_per_node(s, j, v, nv)) goto out;
        k = nv;
        goto stop;
    }
    allot__scratch_load(s);
    for (; k < nv && !fit; k++) {
        allot__scratch_release(s, &s->jobs[v[k].id]);
        v[k].used = 1;
        fit = fits_on_scratch(s, j);
    }
    if (!fit) goto out;
    /* as few victims as possible: give back any that is not needed */
    for (size_t q = k; q-- > 0;) {
        allot__scratch_take(s, &s->jobs[v[q].id]);
        if (fits_on_scratch(s, j)) {
            v[q].used = 0;
        } else {
            allot__scratch_release(s, &s->jobs[v[q].id]);
        }
    }
stop:
    for (size_t q = 0; q < k; q++) {
        if (!v[q].used) continue;
        allot__job_rec *x = &s->jobs[v[q].id];
        int64_t ran = now - x->start_time, lost = allot__lost_work(x, now);
        rc = allot__job_stop(s, v[q].id, now);
        if (rc) goto out;
        x->done += ran - lost > 0 ? ran - lost : 0;
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
    return rc;
}
