/* allot/mixed.h - the mixed fleet: inference services and training share one
 * fleet. A serving pool (a set of nodes) hosts the services' replicas; the
 * pool devices serving does not hold are lent to preemptible training jobs,
 * and taken back (reclaimed) when a service needs them, within a stated
 * bound. docs/internals/mixed.md is the reference.
 *
 * Everything goes through the real scheduler core (sched.h), the same code
 * the server runs:
 *  - the pool is a set of chip-type aliases: a pool node of chip type "H100"
 *    gets the type "H100@serve" (same attributes) in a copy of the fleet, so
 *    a chip mask says who may run there, as a node label would;
 *  - serving and training are two tenants of the core: "serving" owns the
 *    pool (its quota is every pool device), "training" owns the rest and may
 *    borrow the pool without limit. Preemptible single-task training jobs
 *    may run on the pool (their masks include the aliases); other training
 *    jobs may not;
 *  - a replica is a job of the serving tenant (one task, the service's
 *    devices, whole, no CPU or memory asked, top priority, not preemptible)
 *    restricted to the pool aliases of its chip type. When it does not fit,
 *    the core's reclaim stops borrowers - those that lose the least work
 *    since their last checkpoint, then as few as possible - and they requeue
 *    and resume from their last checkpoint.
 *
 * The grace. A service that wants a replica when no pool device is free
 * announces a reclaim at the end of the step (time t); the borrowers keep
 * running for `grace_s` (to checkpoint and stop cleanly) and the replica is
 * submitted to the core at t + grace_s, when the core picks the victims and
 * stops them (their lost work is what their last checkpoint did not save at
 * that moment); the replica's cold start begins then. If a pool device
 * frees up meanwhile, the replica starts on it at the next step instead.
 * Reclaim latency (announcement to devices free) is at most grace_s, and a
 * replica is ready at most grace_s + dt later than it would be without
 * lending (the step rounding of its readiness).
 *
 * Deterministic: the same inputs and seed give the same result, bit for bit.
 * No I/O, no clock.
 */
#ifndef ALLOT_MIXED_H
#define ALLOT_MIXED_H

#include <stddef.h>
#include <stdint.h>

#include "allot/cluster.h"
#include "allot/err.h"
#include "allot/job.h"
#include "allot/sched.h"
#include "allot/serve.h"
#include "allot/sim.h"

/* One inference service of the mixed fleet. */
typedef struct allot_mixed_service {
    const allot_service *svc;    /* not owned; outlives the run */
    const allot_reqtrace *trace; /* its requests; not owned */
    size_t chip;                 /* index into svc->chips: its replicas' chip type,
                                    which must be a chip type of some pool node */
    int policy;                  /* allot_autoscaler */
} allot_mixed_service;

typedef struct allot_mixed_config {
    const uint8_t *pool; /* per node of the cluster (nnodes entries): 1 = in the
                            serving pool. Not owned; copied. */
    double dt;           /* serving step, s, a whole number >= 1 (0: 1 s, or 10 s
                            when the longest request trace spans over a day) */
    int64_t grace_s;     /* reclaim grace (default 20 s); 0 = reclaim at once */
    int lend;            /* 1: idle pool devices are lent to training (default);
                            0: training never runs on the pool (the baseline) */
    int reserve;         /* spare replicas per service kept on the pool, not lent
                            (default 0): a scale-up takes one at once instead of
                            waiting for a reclaim, and the reserve is topped up
                            from free devices or by a reclaim nobody waits for */
    int64_t warmup_s;    /* training runs alone this long before the services'
                            traces begin (their initial replicas are placed at
                            0); metrics of the pool cover the services' horizon */
    double horizon_s;    /* the services' horizon (0: the longest trace, in
                            whole steps) */
    /* training: the core's policy, as in allot_sim_config (REPLAY) */
    int sched_policy;        /* an allot_sched_policy or -1: use order, backfill,
                                preempt as given. drf is not supported here (the
                                tenants are serving and training) */
    allot_policy placement;  /* node choice (default bestfit) */
    allot_queue_order order; /* fifo or priority or las (FIFO is served as priority
                                order with every training job at priority 0, so
                                that replicas go first) */
    allot_backfill backfill;
    int preempt;
    int64_t assume_ckpt_s; /* as allot_sim_config.assume_ckpt_s (default 1800) */
    int64_t train_start_s; /* the training window starts at this submit time of
                              the workload (its jobs submitted earlier are left
                              out); it becomes time 0 */
    double time_scale;     /* divide training times by this (>= 1) */
    double arrival_scale;  /* divide training submit times only by this (>= 1) */
    uint64_t seed;         /* the core's tie-breaking */
    int check_invariants;  /* the core checks every invariant after each event */
    double bucket_s;       /* resolution of the series (0: about 300 points) */
} allot_mixed_config;

void allot_mixed_config_init(allot_mixed_config *c);

/* One reclaim: a replica a service asked for when no pool device was free. */
typedef struct allot_mixed_reclaim {
    uint32_t service;
    uint32_t victims;     /* borrowers stopped for it */
    double ask_s;         /* when the service asked (a step end), s from the
                             services' start */
    double free_s;        /* when its devices were free (the replica placed) */
    double lost_device_s; /* work its victims lost (since their checkpoints) */
} allot_mixed_reclaim;

/* Per service: the serving result (as allot_serve_run reports it) and what
 * sharing did to it. */
typedef struct allot_mixed_service_result {
    allot_serve_result serve; /* series not recorded (NULL) */
    uint64_t reclaims;        /* replicas that waited for a reclaim */
    uint64_t denied;          /* replica-steps the pool could not hold at all (every
                                 pool device of its chip type serving): each step a
                                 replica is still wanted and not placed counts */
    double peak_devices;      /* most devices its replicas held at once */
} allot_mixed_service_result;

/* The training workload's outcome (the window of it that arrived before the
 * end of the horizon; the run stops there). Definitions as in sim.h. */
typedef struct allot_mixed_training {
    uint64_t jobs, started, finished, rejected;
    uint64_t borrowers; /* jobs allowed on the pool (preemptible, one task) */
    double wait_mean_s, wait_p99_s;
    double jct_mean_s, jct_p50_s, jct_p99_s; /* finished jobs */
    uint64_t preemptions;                    /* all (priority and reclaim) */
    uint64_t reclaim_preemptions;            /* of which for serving replicas */
    double lost_device_h;                    /* work lost to preemption */
    double ettr;
    double device_h;        /* device-time training held, whole run */
    double useful_device_h; /* device_h less the work lost */
    allot_sim_job *jobv;    /* per workload job in the window (njobv) */
    size_t njobv;
} allot_mixed_training;

/* The pool over time, per bucket of the horizon (means over the bucket). */
typedef struct allot_mixed_point {
    double t;       /* bucket start, s from the services' start */
    double serving; /* pool devices held by replicas (warming, ready, draining) */
    double lent;    /* pool devices held by training */
    double idle;    /* pool devices not held by replicas nor training (with
                       the reserve) */
    double reserve; /* of which held in reserve */
} allot_mixed_point;

typedef struct allot_mixed_result {
    double dt, horizon_s;
    int64_t grace_s, warmup_s;
    uint32_t pool_nodes, pool_devices;
    /* the pool over the horizon */
    double pool_device_h;         /* pool devices x horizon */
    double serving_device_h;      /* held by replicas (warming, serving, draining) */
    double reserve_device_h;      /* held in reserve: idle, and not lent */
    double idle_serving_device_h; /* pool_device_h - serving_device_h */
    double lent_device_h;         /* held by training */
    double lent_share;            /* lent / idle serving (1 if nothing idles) */
    double serving_peak_devices;  /* most pool devices replicas held at once */
    /* reclaims */
    uint64_t reclaims, reclaim_failures;
    uint64_t reserve_refills;     /* reclaims that topped up the reserve (not in
                                     the latencies: nobody waited for them) */
    double reserve_lost_device_s; /* work their victims lost */
    double reclaim_p50_s, reclaim_p99_s, reclaim_max_s; /* 0 without reclaims */
    double reclaim_bound_s;                             /* grace_s + dt */
    allot_mixed_reclaim *reclaimv;                      /* nreclaim, in order */
    size_t nreclaim;
    allot_mixed_service_result *svc; /* nsvc, in the order given */
    size_t nsvc;
    allot_mixed_training training;
    allot_mixed_point *series;
    size_t nseries;
} allot_mixed_result;

/* Runs the mixed fleet. c: the fleet (not changed; copied with the pool's
 * aliases). w: the training workload (may be NULL or empty: serving alone;
 * then, with lend or not, every service's result equals allot_serve_run's).
 * Errors (EINVAL with the reason in d): no pool node, a pool node without
 * devices, a service whose chip type no pool node has or whose replica needs
 * more devices than any such node holds, a non-integral step, drf. Initial
 * replicas that do not fit the pool are counted as denied. */
int allot_mixed_run(const allot_cluster *c, const allot_workload *w,
                    const allot_mixed_service *services, size_t nservices,
                    const allot_mixed_config *cfg, allot_mixed_result *out, allot_diag *d);
void allot_mixed_result_free(allot_mixed_result *r); /* frees members */

#endif
