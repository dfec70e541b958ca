/* allot/sched.h - the scheduler core.
 *
 * Deterministic; no I/O, no clock, no globals. It owns the queue and the
 * allocations on a cluster it is given (the caller owns the cluster and must
 * not change its capacity behind the scheduler's back).
 *
 * Driven by events (submit, finish, cancel, node down/up, tick); answers with
 * decisions appended to an allot_decisions buffer. The simulator feeds it
 * from a trace on a virtual clock; the server from its API on the wall clock.
 * Same events + same seed => same decisions, byte for byte.
 *
 * Placement policies (allot_policy) follow the exact semantics of the FGD
 * simulator (Weng et al., ATC '23) so that results compare with the paper:
 * integer node scores 0..100 and a uniformly random choice among the nodes
 * with the highest score; see docs/internals/placement.md.
 */
#ifndef ALLOT_SCHED_H
#define ALLOT_SCHED_H

#include <stdint.h>
#include <stddef.h>

#include "allot/cluster.h"
#include "allot/job.h"

typedef enum allot_policy {
    ALLOT_POLICY_RANDOM = 0, /* uniform over feasible nodes */
    ALLOT_POLICY_DOTPROD,    /* Tetris dot product, merged GPU dimension */
    ALLOT_POLICY_GPUCLUSTER, /* keep like GPU requests together */
    ALLOT_POLICY_GPUPACKING, /* shared GPUs first, then used nodes */
    ALLOT_POLICY_BESTFIT,    /* least CPU+GPU left after placement */
    ALLOT_POLICY_FGD,        /* fragmentation gradient descent */
    ALLOT_POLICY_FGDLA,      /* FGD with a look-ahead tie-break (ours) */
    ALLOT_POLICY__COUNT
} allot_policy;

/* "random", "dotprod", "gpuclustering", "gpupacking", "bestfit", "fgd",
 * "fgd-la". */
const char *allot_policy_name(allot_policy p);
/* Parses a name (case-insensitive; the FGD paper's names such as "DotProd",
 * "GpuPacking", "BestFit" are accepted). Returns the policy or EINVAL. */
int allot_policy_parse(const char *name);

typedef enum allot_queue_order {
    ALLOT_ORDER_FIFO = 0, /* submission order */
    ALLOT_ORDER_PRIORITY, /* priority (high first), then submission */
    ALLOT_ORDER_LAS,      /* least attained service (Tiresias-like): a job's
                             effective priority drops one level at 1, 10,
                             100, ... device-hours of service received; then
                             priority, then submission. With preemption on,
                             new jobs stop long-served ones. */
    ALLOT_ORDER_DRF,      /* dominant-resource fair share across tenants:
                             the tenant with the smallest weighted dominant
                             share (its largest share of any chip type's
                             devices) goes first; then submission */
} allot_queue_order;

/* How the queue is served when its head does not fit. */
typedef enum allot_backfill {
    ALLOT_BACKFILL_GREEDY = 0,   /* try every pending job in order; any that fits
                                    starts (Kubernetes-like; may starve large
                                    jobs) */
    ALLOT_BACKFILL_NONE,         /* strict order: nothing starts while the head
                                    waits (head-of-line blocking) */
    ALLOT_BACKFILL_EASY,         /* the head gets a device-level reservation at
                                    the earliest estimated time; others start
                                    only if they cannot delay it */
    ALLOT_BACKFILL_CONSERVATIVE, /* every queued job (up to 16 per pass) gets
                                    a device-level reservation; others start
                                    only in the holes before them, so no
                                    reservation slips (conservative.c) */
} allot_backfill;

/* What happens to a job that does not fit when it is tried. */
typedef enum allot_nofit {
    ALLOT_NOFIT_QUEUE = 0, /* stays pending; retried on capacity change */
    ALLOT_NOFIT_FAIL,      /* fails at once (the FGD protocol) */
} allot_nofit;

/* One entry of the target workload FGD measures fragmentation against. */
typedef struct allot_typical {
    allot_shape shape;
    double weight; /* share of the workload, sums to 1 */
} allot_typical;

/* How equal node scores are broken. */
typedef enum allot_tiebreak {
    ALLOT_TIE_RANK = 0, /* a fixed random order of the nodes, drawn from the
                           seed once per scheduler: the FGD authors'
                           simulator (nodes renamed with a seeded random
                           prefix, first in name order wins) */
    ALLOT_TIE_RANDOM,   /* uniform among the tied nodes at each decision
                           (stock Kubernetes selectHost) */
} allot_tiebreak;

/* A tenant (queue): what it is owed and how far it may borrow. */
typedef struct allot_tenant {
    char name[ALLOT_NAME_MAX];
    int64_t quota[ALLOT_MAX_CHIP_TYPES]; /* guaranteed device milli per chip type
                                            (index = chip id of the cluster) */
    int64_t borrow_limit;                /* device milli it may use beyond its
                                            quotas, summed over chip types;
                                            < 0 = no limit */
    double weight;                       /* fair-share weight, > 0 */
} allot_tenant;

typedef struct allot_sched_config {
    allot_policy policy;
    allot_tiebreak tiebreak;
    allot_queue_order order;
    allot_nofit nofit;
    allot_backfill backfill; /* estimated run time = the job's duration */
    /* Tenants, indexed by allot_job.tenant (copied). With tenants, a job
     * starts only if its tenant stays within quota + borrow_limit, and a job
     * that keeps its tenant within quota may reclaim devices from tenants
     * that are borrowing (their jobs are stopped, whatever their priority). */
    const allot_tenant *tenants;
    size_t ntenants;
    /* Heterogeneity. speed[r * ALLOT_MAX_CHIP_TYPES + k] is how fast a job of
     * speed class r runs on chip id k relative to speed 1 (a job's duration
     * is its run time at speed 1); a gang runs at its slowest task's speed.
     * NULL = speed 1 everywhere. Copied. allot_sched_speed_default() builds
     * row 0 from the catalogue. */
    const double *speed;
    size_t nspeed_classes;
    int speed_pick;          /* a job that allows several chip types starts on the
                                type that finishes it soonest among those it fits on
                                now (with a speed table) */
    double max_victim_ratio; /* priority preemption spares a job holding more
                                than this many times the preemptor's devices
                                (a small job does not stop a big gang); 0 =
                                no limit */
    int64_t max_lost_s;      /* priority preemption spares a job that would lose
                                more than this many seconds of work (time since
                                its last checkpoint): it waits for the next one
                                (0 = no limit; reclaim ignores it) */
    int preempt;             /* pending jobs may stop lower-priority
                                preemptible ones (ALLOT_JOBF_PREEMPTIBLE) */
    uint64_t seed;           /* tie-breaking randomness */
    int check_invariants;    /* verify every invariant after each event
                                (always on in ALLOT_DEBUG builds, e.g.
                                the sanitizer build) */
    int scan_only;           /* never use placement indexes (tests compare
                                the indexed and the scanning paths) */
    /* Target workload for FGD scores and the fragmentation metric. Copied.
     * FGD policies need it (allot_sched_new fails with EINVAL without). */
    const allot_typical *typical;
    size_t ntypical;
} allot_sched_config;

/* Named scheduling policies (src/sched/policy.c, a worked example each):
 * bundles of queue order, backfill and preemption. Placement is separate. */
typedef enum allot_sched_policy {
    ALLOT_SP_FIFO = 0,         /* strict FIFO, no backfill */
    ALLOT_SP_FIFO_BACKFILL,    /* FIFO + EASY backfill (Slurm-like) */
    ALLOT_SP_PRIORITY_PREEMPT, /* priority order + preemption */
    ALLOT_SP_LAS,              /* least attained service + preemption */
    ALLOT_SP_DRF,              /* tenants' fair share, quotas and reclaim */
    ALLOT_SP_ALLOT,            /* our best combination */
    ALLOT_SP__COUNT
} allot_sched_policy;

#define ALLOT_POLICY_MAX_LOST_S       300 /* allot: preempt within 5 min of a checkpoint */
#define ALLOT_POLICY_MAX_VICTIM_RATIO 2   /* allot: victims at most 2x the preemptor */

/* "fifo", "fifo-backfill", "priority-preempt", "las", "drf", "allot". */
const char *allot_sched_policy_name(allot_sched_policy p);
/* Parses a name (case-insensitive). Returns the policy or EINVAL. */
int allot_sched_policy_parse(const char *name);
/* Sets cfg's order, backfill and preempt for the policy. Returns 0 or EINVAL. */
int allot_sched_policy_apply(allot_sched_policy p, allot_sched_config *cfg);
/* Whether the policy needs tenants (quotas) configured to mean anything. */
int allot_sched_policy_wants_tenants(allot_sched_policy p);

/* Fills defaults: FIFO, queue on no-fit, policy bestfit, seed 1. */
void allot_sched_config_init(allot_sched_config *cfg);

/* ---- events in, decisions out ------------------------------------------- */

typedef enum allot_event_kind {
    ALLOT_EV_SUBMIT = 0, /* job arrived; job points at its description */
    ALLOT_EV_FINISH,     /* job's tasks ended (succeeded) */
    ALLOT_EV_CANCEL,     /* job withdrawn (pending or running) */
    ALLOT_EV_NODE_DOWN,
    ALLOT_EV_NODE_UP,
    ALLOT_EV_TICK,       /* time passed; retry pending work */
    ALLOT_EV_RESTORE,    /* a job already running on given devices (the server's
                            recovery): desc and placed[0..ntasks) (node, ndev,
                            devs of each task) are taken as they are, no
                            decision is made; EBUSY-like ENOFIT if the devices
                            are not free */
    ALLOT_EV_NODE_DRAIN, /* the node keeps what it runs and takes nothing new
                            (NODE_UP ends the drain) */
    ALLOT_EV_FORGET,     /* a finished job's record is dropped: its id may be
                            submitted again (a long-running server reuses ids
                            so that the core's memory follows the live jobs) */
    ALLOT_EV_REQUEUE,    /* a running job lost its processes (agent lost them):
                            it is stopped (DEC_STOP) and queued again, resuming
                            from its last checkpoint */
} allot_event_kind;

typedef struct allot_event {
    allot_event_kind kind;
    int64_t time;                        /* s; informative for the core's bookkeeping */
    uint32_t job;                        /* job id chosen by the caller (dense is best) */
    uint32_t node;                       /* node id for node events */
    const allot_job *desc;               /* SUBMIT and RESTORE: the job; copied */
    const struct allot_decision *placed; /* RESTORE: one per task */
} allot_event;

typedef enum allot_decision_kind {
    ALLOT_DEC_START = 0, /* job started: task placements follow */
    ALLOT_DEC_FAIL,      /* job cannot be placed and is dropped (nofit=FAIL)
                            or can never fit this fleet, even empty with
                            every node up */
    ALLOT_DEC_STOP,      /* job's tasks were stopped (node down) */
    ALLOT_DEC_PREEMPT,   /* stopped for higher-priority work; queued again, resumes
                            from its last checkpoint */
    ALLOT_DEC_GROW,      /* an elastic job got one more task (placement follows,
                            as for START); it runs faster from now */
    ALLOT_DEC_SHRINK,    /* an elastic job gave up one task beyond its minimum
                            (node and devices it frees) for a waiting job */
} allot_decision_kind;

/* One task placement (for START decisions there is one per task). */
typedef struct allot_decision {
    uint8_t kind;  /* allot_decision_kind */
    uint8_t ndev;  /* devices used by this task */
    uint16_t task; /* task index within the job */
    uint32_t job;
    uint32_t node;                         /* UINT32_MAX when not placed */
    int32_t milli;                         /* per device */
    uint8_t devs[ALLOT_MAX_DEVS_PER_NODE]; /* device indexes on the node */
} allot_decision;

typedef struct allot_decisions {
    allot_decision *v;
    size_t n, cap;
} allot_decisions;

void allot_decisions_clear(allot_decisions *d);
void allot_decisions_free(allot_decisions *d);

typedef struct allot_sched allot_sched;

/* Counters the scheduler keeps. */
typedef struct allot_sched_stats {
    uint64_t preemptions;         /* jobs stopped for higher-priority work */
    double lost_device_s;         /* device-seconds of work lost by them (since each
                                     victim's last checkpoint) */
    uint64_t grows, shrinks;      /* elastic tasks added and taken back */
    uint64_t failure_stops;       /* jobs stopped because a node went down */
    double failure_lost_device_s; /* device-seconds of work they lost */
} allot_sched_stats;

/* Creates a scheduler over cluster c (not owned; must be finalized). */
int allot_sched_new(allot_sched **out, allot_cluster *c, const allot_sched_config *cfg);
void allot_sched_free(allot_sched *s); /* accepts NULL */

/* Applies one event; appends the resulting decisions to out (which the
 * caller clears when it wants). Returns 0 or an error (EINVAL for an unknown
 * job id, EEXIST for a duplicate submit, EINVARIANT if checking is on and a
 * decision broke an invariant). */
int allot_sched_handle(allot_sched *s, const allot_event *ev, allot_decisions *out);

/* Scores and places one task shape without recording a job: the pure
 * placement step, for benchmarks and tests. On success fills *d (node, devs)
 * and takes the capacity when commit is non-zero. Returns 0, ENOFIT. */
int allot_sched_place(allot_sched *s, const allot_shape *shape, allot_decision *d, int commit);

/* Gives back what a committed allot_sched_place took (d as it returned). */
int allot_sched_unplace(allot_sched *s, const allot_shape *shape, const allot_decision *d);

/* ---- introspection ------------------------------------------------------ */

size_t allot_sched_pending(const allot_sched *s);
size_t allot_sched_running(const allot_sched *s);
allot_job_state allot_sched_job_state(const allot_sched *s, uint32_t job);
const allot_cluster *allot_sched_cluster(const allot_sched *s);
void allot_sched_get_stats(const allot_sched *s, allot_sched_stats *out);
/* Work a job still has to do, in s at speed 1: its duration minus what
 * checkpoints saved across preemptions. ALLOT_TIME_NONE if it has no
 * duration. */
int64_t allot_sched_job_remaining(const allot_sched *s, uint32_t job);
/* When a running job is expected to end: its start plus its remaining work
 * at the speed of the chips it got. ALLOT_TIME_NONE if it has no duration
 * or is not running. */
int64_t allot_sched_job_end(const allot_sched *s, uint32_t job);
/* Fills row (ALLOT_MAX_CHIP_TYPES entries) with each chip type's relative
 * speed from the catalogue: bf16 TFLOP/s over the slowest known type of the
 * cluster (1 where unknown). */
void allot_sched_speed_default(const allot_cluster *c, double *row);
/* Times a job has been started (1 for a job that ran once). */
uint32_t allot_sched_job_epoch(const allot_sched *s, uint32_t job);
/* Device milli tenant t uses now on chip type k (0 without tenants). */
int64_t allot_sched_tenant_use(const allot_sched *s, uint16_t t, uint32_t k);
/* Conservative backfill: the start time first promised to a job by a
 * reservation. ENOENT if it never had one. */
int allot_sched_job_planned(const allot_sched *s, uint32_t job, int64_t *t);
/* The current EASY reservation: which pending job holds it and the latest
 * time it will start (T*). ENOENT if there is none. */
int allot_sched_reservation(const allot_sched *s, uint32_t *job, int64_t *t);
/* Where a started job's tasks landed: *level is the smallest domain holding
 * all of them (0 node, 1 rack, 2 block, 3 zone, 4 the whole fleet) and
 * *racks the number of racks they occupy. ENOENT if the job never started. */
int allot_sched_job_span(const allot_sched *s, uint32_t job, int *level, int *racks);
/* Fragmented milli of the whole cluster under the FGD definition (expected
 * free milli that the target workload cannot use). Maintained incrementally.
 * Requires typical shapes; returns 0 without them. */
double allot_sched_frag_milli(allot_sched *s);
/* Placement decisions made since creation (counted per task). */
uint64_t allot_sched_decisions(const allot_sched *s);

/* ---- FGD building blocks (exposed for tests and tools) ------------------- */

/* Fragmentation of one node state against the typical shapes: the expected
 * number of free milli-devices a random typical task could not use.
 * dev_free holds ndev device free amounts. chip is the node's chip id or
 * ALLOT_NO_CHIP. */
double allot_fgd_node_frag(const allot_typical *typ, size_t ntyp, uint16_t chip, int64_t cpu_free,
                           const int16_t *dev_free, int ndev);

/* Builds FGD's target workload from a workload: counts distinct task shapes
 * (memory ignored, as FGD does; a CPU request of 0 counts as 100 milli-cores,
 * Kubernetes' non-zero default the authors' typical pods use), sorts by count
 * (ties broken by larger CPU,
 * then milli, ndev, chip mask), keeps the most frequent until they cover
 * `coverage` (0..1] of the jobs, and renormalises. include_cpu_only: whether
 * CPU-only jobs are part of the target (FGD: yes). Allocates *out (free with
 * free()). Returns the count or an error. */
int allot_typical_from_workload(const allot_workload *w, double coverage, int include_cpu_only,
                                allot_typical **out);

#endif
