/* policy.c - the named scheduling policies: bundles of the core's mechanisms.
 *
 * A policy name picks the queue order, what happens when the head of the
 * queue does not fit (backfill), whether pending work may preempt running
 * work and whether tenants' quotas are enforced. Node choice (placement:
 * bestfit, fgd, ...) is independent of it. Each policy with a worked example
 * on one node of 8 devices, jobs given as name(devices, run time, submit):
 *
 * fifo - strict first-come first-served, no backfill: a job starts only
 *   when every job before it has started. A(6, 100 s, t=0) runs; B(4, 100 s,
 *   t=1) does not fit and waits for A; C(1, 10 s, t=2) would fit in the two
 *   free devices but waits behind B (head-of-line blocking); at t=100 A ends
 *   and B and C start. Simple and never starves a job; small jobs pay.
 *
 * fifo-backfill - FIFO with EASY backfill at device granularity (Slurm's
 *   default scheduler, but reserving devices rather than whole nodes). A(6,
 *   100 s, t=0) runs; B(4, 100 s, t=1) does not fit and reserves 4 devices
 *   at T* = 100 (when A ends); C(2, 50 s, t=2) fits in the 2 free devices
 *   and ends at 52 <= T*, so it starts now (backfill); D(2, 500 s, t=3) would
 *   still hold devices at T* that B needs, so it waits. B starts at 100: its
 *   reservation never slips. Utilisation is at least FIFO's.
 *
 * priority-preempt - priority order; a pending job may stop running
 *   preemptible jobs of strictly lower priority, losing the least work (time
 *   since each victim's last checkpoint) and then the fewest victims (see
 *   preempt.c). A(8, priority 0, preemptible, checkpoint 600 s) runs since
 *   t=0; at t=1000 B(4, priority 5) arrives: A is stopped (400 s lost), B
 *   starts; A waits and resumes from its checkpoint at 600 s when room comes.
 *
 * las - least attained service (Tiresias' discretised LAS): a job's
 *   effective priority drops a level at 1, 10, 100, ... device-hours of
 *   service; new and short jobs go first and may preempt long-served
 *   preemptible ones. A(8, 10 h, t=0) has received 8 device-hours at t=1 h;
 *   B(8, 5 min, t=1 h) has received none, is a level above and preempts A;
 *   B ends at 1 h 5 min, A resumes from its last checkpoint. Without knowing
 *   run times, short jobs finish early: mean JCT falls.
 *
 * drf - dominant-resource fair share across tenants: each tenant owns a
 *   quota per chip type (the simulator: an equal share of each), may borrow
 *   idle devices beyond it, and gets borrowed devices back by reclaim within
 *   one scheduling pass; the queue serves the tenant with the smallest
 *   weighted dominant share first. Tenants T1, T2 own 4 devices each; T1's
 *   A(8) runs, borrowing 4; T2 submits B(4): T1 is over quota, so A is
 *   reclaimed (stopped, requeued) and B starts at once.
 *
 * allot - our combination: LAS order (short work first without knowing run
 *   times), greedy backfill of everything that fits (no device idles while
 *   something fits), and gentler preemption: a running job is only stopped
 *   within ALLOT_POLICY_MAX_LOST_S (5 min) of its last checkpoint, so
 *   victims lose little work and a preemptor waits at most one checkpoint
 *   interval; and only by a job needing at least half its devices, so a
 *   stream of small jobs cannot keep stopping a big gang. A(8, checkpoint
 *   every 30 min) has run 2 h 20 min; B(8, new) arrives: under las, A is
 *   stopped at once and loses 20 min x 8 devices; under allot, B waits 10
 *   min until A's checkpoint at 2 h 30 and A loses nothing. C(1, new) never
 *   stops A under allot (8 > 2 x 1). On the Philly trace allot has the
 *   lowest mean and p99 JCT of the six, a higher ETTR than las and a
 *   quarter of its lost device-hours (docs/BENCHMARKS.md).
 */
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const names[ALLOT_SP__COUNT] = {
    "fifo", "fifo-backfill", "priority-preempt", "las", "drf", "allot",
};

const char *allot_sched_policy_name(allot_sched_policy p)
{
    return (unsigned)p < ALLOT_SP__COUNT ? names[p] : "unknown";
}

int allot_sched_policy_parse(const char *name)
{
    if (!name) return ALLOT_EINVAL;
    for (int i = 0; i < ALLOT_SP__COUNT; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return ALLOT_EINVAL;
}

/* What each policy sets; indexed by allot_sched_policy. */
static const struct {
    allot_queue_order order;
    allot_backfill backfill;
    int preempt;
    int64_t max_lost_s;
    double max_victim_ratio;
} bundles[ALLOT_SP__COUNT] = {
    [ALLOT_SP_FIFO] = {ALLOT_ORDER_FIFO, ALLOT_BACKFILL_NONE, 0, 0, 0},
    [ALLOT_SP_FIFO_BACKFILL] = {ALLOT_ORDER_FIFO, ALLOT_BACKFILL_EASY, 0, 0, 0},
    [ALLOT_SP_PRIORITY_PREEMPT] = {ALLOT_ORDER_PRIORITY, ALLOT_BACKFILL_GREEDY, 1, 0, 0},
    [ALLOT_SP_LAS] = {ALLOT_ORDER_LAS, ALLOT_BACKFILL_GREEDY, 1, 0, 0},
    [ALLOT_SP_DRF] = {ALLOT_ORDER_DRF, ALLOT_BACKFILL_GREEDY, 0, 0, 0},
    [ALLOT_SP_ALLOT] = {ALLOT_ORDER_LAS, ALLOT_BACKFILL_GREEDY, 1, ALLOT_POLICY_MAX_LOST_S,
                        ALLOT_POLICY_MAX_VICTIM_RATIO},
};

int allot_sched_policy_apply(allot_sched_policy p, allot_sched_config *cfg)
{
    if ((unsigned)p >= ALLOT_SP__COUNT) return ALLOT_EINVAL;
    cfg->order = bundles[p].order;
    cfg->backfill = bundles[p].backfill;
    cfg->preempt = bundles[p].preempt;
    cfg->max_lost_s = bundles[p].max_lost_s;
    cfg->max_victim_ratio = bundles[p].max_victim_ratio;
    return 0;
}

int allot_sched_policy_wants_tenants(allot_sched_policy p) { return p == ALLOT_SP_DRF; }
