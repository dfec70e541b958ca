/* src/sched/internal.h - shared internals of the scheduler core.
 * Not a public header: only src/sched/ *.c include it. */
#ifndef ALLOT_SCHED_INTERNAL_H
#define ALLOT_SCHED_INTERNAL_H

#include <stdint.h>

#include "allot/cluster.h"
#include "allot/job.h"
#include "allot/sched.h"
#include "allot/rng.h"

/* One placed task: node and the devices it holds (bit i = device i). */
typedef struct allot__task_alloc {
    uint32_t node;
    int32_t milli;
    uint64_t devs;
} allot__task_alloc;

typedef struct allot__job_rec {
    allot_job desc;          /* copy of the submitted job */
    uint64_t seq;            /* submission order */
    int64_t submit_time;     /* s */
    int64_t start_time;      /* s; ALLOT_TIME_NONE while pending */
    uint32_t shape_id;       /* interned shape */
    uint8_t state;           /* allot_job_state; 0xFF = slot unused */
    uint8_t span_level;      /* smallest domain holding all tasks: 0 node, 1 rack,
                                2 block, 3 zone, 4 fleet */
    uint16_t span_racks;     /* racks the tasks occupy */
    int64_t done;            /* s of work saved by checkpoints (preemptions) */
    double attained;         /* device-seconds of service received, ended starts */
    uint32_t epoch;          /* times started; the simulator tags ends with it */
    uint32_t run_pos;        /* index in allot_sched.run while running */
    uint32_t shape_id0;      /* shape as submitted (speed_pick narrows the
                                chips of a running job's shape) */
    allot_chip_mask chips0;  /* chip types as submitted */
    uint32_t ntasks_min;     /* tasks as submitted (an elastic job's
                                desc.ntasks is its current size) */
    int64_t end_key;         /* EASY: its expected end as kept in s->ends */
    int64_t planned;         /* conservative backfill: the first start time a
                                reservation promised (ALLOT_TIME_NONE none) */
    allot__task_alloc one;   /* the task when ntasks == 1 */
    allot__task_alloc *many; /* ntasks entries when ntasks > 1 */
} allot__job_rec;

#define ALLOT__JOB_UNUSED 0xFF

/* A job's task placements: `one` for a single-task job, else `many` (gangs,
 * and elastic jobs, which may grow; allocated when the job first starts). */
#define allot__allocs(j) ((j)->many ? (j)->many : &(j)->one)

/* Interned task shapes (dense ids) with per-shape scheduler memo. */
typedef struct allot__shape_rec {
    allot_shape shape;
    uint64_t hash;
    int8_t never_fits; /* -1 unknown, 0 fits some node, 1 never */
    int64_t fleet_cap; /* tasks of it the empty fleet holds (once never_fits >= 0) */
    /* in pass gf_pass a gang of gf_ntasks tasks of this shape, free to use
     * any domain, did not fit: no gang of at least as many tasks does */
    uint32_t gf_pass, gf_ntasks;
    uint32_t fail_pass; /* retry pass in which it last failed */
    /* the last preemption attempt for this shape that found no victims: a
     * job of the same shape in the same pass at the same time with no more
     * rights (lower or equal effective priority, at least as many tasks,
     * same tenant if reclaiming) finds none either */
    uint32_t pf_pass, pf_ntasks;
    int64_t pf_now;
    int pf_eff;
    int32_t pf_tenant; /* -1: not reclaiming */
    /* conservative backfill: in pass cb_pass a job of this shape running
     * cb_left s could not be placed around the reservations; a longer one
     * cannot either (reservations only grow within a pass) */
    uint32_t cb_pass;
    int64_t cb_left;
    /* queue bookkeeping (sched.c, retry_pass): */
    uint32_t npending;   /* jobs of this shape in the queue */
    uint32_t qpos;       /* while npending > 0: its index in allot_sched.qshapes */
    uint32_t seen_pass;  /* the last pass that visited one of them */
    uint32_t unvisited;  /* in that pass: those not visited yet */
    uint32_t kept_pass;  /* the last pass that kept (did not start) one of them */
    uint64_t hint;       /* no job of this shape is before pending_base + hint */
    uint64_t hint_epoch; /* hint holds while allot_sched.qepoch equals this */
    uint64_t gcap_gen;   /* gang_cannot_start: gcap bounds the tasks of this */
    int64_t gcap;        /* shape the nodes can take while cap_gen equals gcap_gen */
    /* passes with preemption or tenants (no EASY): a job of this shape, of
     * tenant qf_tenant at effective priority qf_prio, failed to start even
     * with preemption while the pass state was qgen == qf_gen */
    uint64_t qf_gen;
    int32_t qf_prio;
    uint16_t qf_tenant;
} allot__shape_rec;

/* FGD target workload grouped for fast evaluation: typical shapes that share
 * the device side (milli, ndev, chips) form a group; within a group the CPU
 * thresholds are sorted so "how much weight needs more CPU than the node has"
 * is one binary search. */
typedef struct allot__fgd_group {
    int32_t milli, ndev;
    allot_chip_mask chips;
    uint32_t first, count; /* range in allot__fgd.cpu / .cum */
    double weight;         /* total weight of the group */
} allot__fgd_group;

typedef struct allot__fgd {
    allot__fgd_group *groups;
    uint32_t ngroups;
    int64_t *cpu;           /* CPU of each entry, ascending per group */
    double *wsuffix;        /* weight of entries [i, group end) */
    double cpu_only_weight; /* weight of CPU-only typical shapes */
} allot__fgd;

int allot__fgd_build(allot__fgd *f, const allot_typical *typ, size_t n);
void allot__fgd_free(allot__fgd *f);
double allot__fgd_frag(const allot__fgd *f, uint16_t chip, int64_t cpu_free,
                       const int16_t *dev_free, int ndev);

struct allot_sched {
    allot_cluster *c;
    allot_sched_config cfg;
    allot_typical *typical; /* owned copy */
    allot__fgd fgd;
    int have_fgd;
    allot_rng rng;

    allot__job_rec *jobs; /* indexed by job id */
    uint32_t jobs_cap;
    uint64_t next_seq;
    uint32_t *pending; /* job ids in queue order: pending_base + pending_off */
    size_t npending, pending_cap;
    uint32_t *pending_base; /* the allocation (pending_cap ids); a pass drops
                               the jobs it started from the front */
    size_t pending_off;
    uint32_t *pshape, *pshape_base; /* shape of each queued job, in step */
    uint32_t *qshapes;              /* the shapes with jobs in the queue */
    uint32_t nqshapes, qshapes_cap;
    uint32_t *qlive; /* in a pass: shapes that may still start jobs (qshapes_cap) */
    uint32_t nqlive;
    uint64_t qepoch;  /* bumped when queue positions move other than forward */
    uint64_t cap_gen; /* bumped at each pass and when one stops jobs */
    uint64_t qgen;    /* bumped at each pass and when one stops jobs or
                         starts one that qf_* depends on (see retry_pass) */
    size_t nrunning;
    uint32_t *run; /* ids of the running jobs (nrunning of them) */
    size_t run_cap;
    uint32_t pass; /* retry-pass counter */

    allot__shape_rec *shapes;
    uint32_t nshapes, shapes_cap;
    uint32_t *shape_index; /* open addressing: shape id or UINT32_MAX */
    uint32_t shape_index_cap;

    /* per-node FGD memo: fragmentation of the node's current state */
    double *node_frag;
    uint32_t *node_frag_ver; /* node version the value belongs to, +1 */
    double frag_sum;         /* sum of node_frag over UP nodes */
    /* per (shape, node) FGD score memo: version+1 << 32 | dev << 8 | score */
    uint64_t *score_memo;
    uint32_t score_memo_shapes; /* shapes with a memo row */

    /* GPU clustering: per node, tasks per affinity tag (0 = shared device,
     * k = k whole devices, capped at 63) and the set of tags present */
    uint16_t *tag_counts; /* nnodes * 64 */
    uint64_t *node_tags;

    uint32_t *node_rank;        /* ALLOT_TIE_RANK: node -> position */
    struct allot__bfidx *bfidx; /* best-fit index (bestfit + rank only) */

    /* topology: the nodes below each domain (CSR) */
    uint32_t *dom_first, *dom_count, *dom_nodes;

    /* EASY backfill (backfill.c): scratch capacity and the head's reservation */
    int16_t *bf_dev, *bf_hidden;
    int64_t *bf_cpu, *bf_mem, *bf_cap;
    uint32_t *requeue; /* jobs stopped during a pass, queued after it */
    size_t nrequeue, requeue_cap;
    allot_sched_stats stats;
    struct {
        int active;
        uint32_t job;       /* the head job holding it */
        int64_t t;          /* T*: when it starts at the latest */
        uint64_t *devs;     /* per node: reserved devices */
        int64_t *cpu, *mem; /* per node: reserved CPU and memory */
        uint32_t *nodes;    /* the nodes with a reservation */
        uint8_t *listed;    /* per node: in nodes[] */
        uint32_t nnodes;
    } resv;

    /* tenants (quotas, borrowing, DRF) */
    allot_tenant *tenants;
    uint32_t ntenants;
    int64_t *t_use;                         /* [tenant][ALLOT_MAX_CHIP_TYPES] milli */
    int64_t chip_cap[ALLOT_MAX_CHIP_TYPES]; /* device milli per chip type */

    /* preemption (preempt.c): bounds on who could be a victim, cached for
     * one (time, running set) */
    struct {
        int valid;
        int64_t now;
        uint64_t *borrowing;        /* per tenant: chip types it borrows on (as cached) */
        int built;                  /* cand holds every candidate (unordered) */
        struct allot__victim *cand; /* possible victims (built when needed) */
        size_t ncand, cap;
        int min_eff;         /* lowest effective priority of a preemptible running job */
        uint32_t nborrow;    /* tenants using more than their quotas */
        uint32_t a_borrower; /* one of them */
    } vb;

    uint64_t reclaim_mask;    /* the preemption reclaimed devices: the chip
                                 types where the preemptor is within quota */
    struct allot__undo *undo; /* victims of the current preemption */
    size_t nundo, undo_cap;
    /* preemption's own scratch capacity while an EASY reservation holds
     * the shared one (swapped in and out by preempt.c) */
    int16_t *pre_dev;
    int64_t *pre_cpu, *pre_mem;

    struct allot__cons *cons; /* conservative backfill state */
    struct ending *ends;      /* EASY: running jobs by expected end (backfill.c) */
    size_t nends, ends_cap;

    uint32_t nelastic; /* running elastic jobs */
    uint64_t nextra;   /* their tasks beyond the minimum */

    double *speed; /* owned copy of the speed table, or NULL */
    uint32_t nspeed;

    uint64_t decisions;
    int raw_placements; /* allot_sched_place committed capacity that
                           no job record accounts for */
};

/* Placement (place.c): chooses a node and devices for one task under the
 * configured policy without changing anything. Returns 0 or ENOFIT. */
int allot__place(allot_sched *s, uint32_t shape_id, const allot_shape *sh, const uint32_t *subset,
                 uint32_t nsubset, allot__task_alloc *out);
/* Best-fit index (bfindex.c): same choice as the scan, found faster. */
typedef struct allot__bfidx allot__bfidx;
int allot__bfidx_build(allot_sched *s);
void allot__bfidx_free(allot__bfidx *x);
void allot__bfidx_update(allot_sched *s, uint32_t node);
int allot__bfidx_place(allot_sched *s, const allot_shape *sh, uint32_t *node_out);

/* EASY backfill (backfill.c). */
int allot__bf_alloc(allot_sched *s);
void allot__bf_free(allot_sched *s);
void allot__resv_clear(allot_sched *s);
/* Keep s->ends in step: after a job started (or was resized), and before
 * it leaves the running set (or is resized). */
int allot__ends_add(allot_sched *s, uint32_t id);
void allot__ends_remove(allot_sched *s, uint32_t id);
/* Computes the reservation of pending job `head` (none if it can never fit
 * with the known end times). */
int allot__resv_compute(allot_sched *s, uint32_t head, int64_t now);
/* Whether a just-placed (not yet started) job leaves the reservation whole. */
int allot__resv_allows(allot_sched *s, const allot__job_rec *j, int64_t now);
/* Hides/restores the free capacity of reserved devices during a placement. */
void allot__resv_hide(allot_sched *s, int hide);
/* Books a started backfill job against the capacity left at T*. */
void allot__resv_account(allot_sched *s, const allot__job_rec *j, int64_t now);

/* Conservative backfill (conservative.c). */
#define ALLOT_CONS_DEPTH 16 /* reservations per pass */
int allot__cons_alloc(allot_sched *s);
void allot__cons_free(allot_sched *s);
/* Starts a pass: device free times from the running jobs; the
 * reservations made during the pass hold until allot__cons_end. */
void allot__cons_begin(allot_sched *s, int64_t now);
void allot__cons_end(allot_sched *s);
/* Whether a placed (not started) job ends before every reservation on its
 * devices. */
int allot__cons_allows(allot_sched *s, const allot__job_rec *j, int64_t now);
/* Fills a (ntasks entries) with the devices of job id's own reservation;
 * ENOENT if it holds none. */
int allot__cons_own_tasks(const allot_sched *s, uint32_t id, allot__task_alloc *a);
/* Whether pending job id holds a reservation. */
int allot__cons_holds(const allot_sched *s, uint32_t id);
/* The job's slot is being reused: its reservations, if any, go. */
void allot__cons_forget(allot_sched *s, uint32_t id);
/* Hides/restores the reserved devices the job would overrun. */
void allot__cons_hide(allot_sched *s, const allot__job_rec *j, int64_t now, int hide);
/* A job started now: its devices are busy until its expected end. */
void allot__cons_started(allot_sched *s, const allot__job_rec *j, int64_t now);
/* Reserves devices for a pending job that cannot start now. */
int allot__cons_reserve(allot_sched *s, uint32_t id, int64_t now);

/* Scratch capacity shared by backfill and preemption (backfill.c). */
void allot__scratch_load(allot_sched *s);
void allot__scratch_release(allot_sched *s, const allot__job_rec *j);
void allot__scratch_take(allot_sched *s, const allot__job_rec *j);
/* How many tasks of sh node i can take on the scratch state. Tasks of a job
 * are identical and nodes independent, so a job of n tasks fits exactly when
 * these add up to n. */
int64_t allot__scratch_task_cap(const allot_sched *s, uint32_t i, const allot_shape *sh);

/* Preemption (preempt.c): frees room for pending job id by stopping
 * lower-priority preemptible jobs; they go to s->requeue. */
int allot__preempt_for(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out);
int64_t allot__lost_work(const allot__job_rec *j, int64_t now);
void allot__victims_free(allot_sched *s);
/* Keep preemption's cached candidates in step with the running set: call
 * after a job started (and was accounted), before it leaves. */
void allot__victims_added(allot_sched *s, uint32_t id);
void allot__victims_removed(allot_sched *s, uint32_t id);

/* Effective priority: the job's priority, or under LAS minus its level of
 * attained service (counting the current run up to now). */
int allot__eff_prio(const allot_sched *s, const allot__job_rec *j, int64_t now);

/* Tenants (sched.c): whether job j's tenant stays within its quota if the
 * job gets its request; whether tenant t uses more than its quotas. */
int allot__tenant_in_quota(const allot_sched *s, const allot__job_rec *j);
int allot__tenant_borrowing(const allot_sched *s, uint16_t t);
/* The chip types on which tenant t uses more than its quota (bit k). */
uint64_t allot__tenant_borrow_mask(const allot_sched *s, uint16_t t);
/* The chip types job j may use on which its tenant stays within quota with
 * the whole job there (bit k); 0 without tenants. */
uint64_t allot__tenant_quota_mask(const allot_sched *s, const allot__job_rec *j);

/* Preemption is all or nothing: preempt.c saves each victim before stopping
 * it (allot__undo_save); if the preemptor then does not start, sched.c puts
 * every victim back exactly as it was. */
typedef struct allot__undo {
    uint32_t id;
    allot__job_rec rec;      /* the victim's record before the stop */
    allot__task_alloc *many; /* copy of its task placements (gangs) */
} allot__undo;
int allot__undo_save(allot_sched *s, uint32_t id);

/* sched.c helpers shared with preempt.c */
allot_decision *allot__dec_push(allot_decisions *d);
/* Stops a running job: gives its capacity back, marks it pending and puts it
 * on s->requeue (the caller queues it). */
int allot__job_stop(allot_sched *s, uint32_t id, int64_t now);
/* Before a running job is stopped: adds the work its checkpoints saved
 * since it started (time run minus the time since its last checkpoint, at
 * its speed) to done. */
void allot__job_save_progress(allot_sched *s, allot__job_rec *j, int64_t now);
/* Whether a job is elastic (may grow beyond its submitted size). */
#define allot__elastic(j) ((j)->desc.ntasks_max > (j)->ntasks_min)
/* Speed of a placed job: the slowest of its tasks' chips (1 without a speed
 * table), times its size over its submitted size for an elastic job. */
double allot__job_rate(const allot_sched *s, const allot__job_rec *j);
/* Wall time a placed job needs to finish its remaining work at its rate
 * (INT64_MAX without a duration). */
int64_t allot__job_run_left(const allot_sched *s, const allot__job_rec *j);
/* Work left: duration minus what checkpoints saved (ALLOT_TIME_NONE if the
 * job has no duration). */
static inline int64_t allot__job_remaining(const allot__job_rec *j)
{
    if (j->desc.duration == ALLOT_TIME_NONE) return ALLOT_TIME_NONE;
    int64_t r = j->desc.duration - j->done;
    return r > 0 ? r : 0;
}

/* Keeps the GPU-clustering tag counts in step with placements (delta +-1). */
void allot__cluster_tag_update(allot_sched *s, uint32_t node, const allot_shape *sh, int delta);
/* Whether a node could hold the shape when empty (capacity check). */
int allot__fits_empty(const allot_sched *s, const allot_node *n, const allot_shape *sh);
/* Brings node_frag[node] up to date and returns it. */
double allot__node_frag(allot_sched *s, uint32_t node);
/* Called after a node's capacity changed: refreshes the frag sum. */
void allot__node_changed(allot_sched *s, uint32_t node);

#endif
