/* allot/sim.h - the simulator: replays a workload against a cluster through
 * the scheduler core on a virtual clock, and measures.
 *
 * Two modes:
 *  - ALLOT_SIM_FGD: the FGD evaluation protocol (ATC '23). Jobs are shuffled
 *    with the seed, then sampled copies are appended until the total device
 *    request reaches `inflate` (1.3) x capacity; they arrive one at a time,
 *    never depart, and a job that does not fit fails. A sample is recorded
 *    after every arrival; the discrete series averages the samples whose
 *    arrived request rounds to each whole percent of capacity (0..130 %).
 *  - ALLOT_SIM_REPLAY: arrivals and departures at the trace's times (divided
 *    by `time_scale`), jobs that do not fit wait in the queue.
 *
 * The event queue orders by (time, sequence); replays are reproducible.
 */
#ifndef ALLOT_SIM_H
#define ALLOT_SIM_H

#include <stdint.h>
#include <stddef.h>

#include "allot/cluster.h"
#include "allot/job.h"
#include "allot/sched.h"

typedef enum allot_sim_mode {
    ALLOT_SIM_FGD = 0,
    ALLOT_SIM_REPLAY,
} allot_sim_mode;

#define ALLOT_FGD_MAX_PCT 130 /* the discrete series runs 0..130 % */

typedef struct allot_sim_config {
    allot_sim_mode mode;
    allot_policy policy;
    allot_queue_order order;
    allot_tiebreak tiebreak; /* default ALLOT_TIE_RANK (the FGD simulator) */
    allot_backfill backfill; /* replay: queue service when the head waits */
    int preempt;             /* replay: priority preemption (sched.h) */
    int tenants_equal;       /* replay: each workload tenant owns an equal
                                share of every chip type, may borrow without
                                limit, weight 1 (quotas, reclaim, DRF) */
    int sched_policy;        /* replay: an allot_sched_policy, which overrides
                                order, backfill, preempt and tenants_equal;
                                -1 (default) = use those fields as given */
    int64_t assume_ckpt_s;   /* replay: if no job of the workload says whether
                                it is preemptible or checkpoints (e.g.
                                Philly), treat every job as preemptible with a
                                checkpoint every this many s (default 1800;
                                0 = such jobs are not preemptible) */
    double fail_rate;        /* replay: device failures per device-day (0 =
                                none; ALLOT_FAIL_RATE_LLAMA3 = 4.7e-4). A
                                failed device takes its node down until it is
                                repaired; its jobs restart from checkpoint */
    int speeds;              /* replay: 0 = every chip runs every job at speed 1
                                (durations as recorded, default); 1 = relative
                                speeds from the catalogue's bf16 TFLOP/s (a
                                duration is the run time on the fleet's slowest
                                chip type) and the workload's speed rows */
    int speed_pick;          /* replay, with speeds: start a job that allows
                                several chip types on the fastest that fits */
    double repair_mean_s;    /* replay: mean repair time, exponential (default
                                4 h) */
    uint64_t seed;
    double inflate;       /* FGD: target request / capacity (1.3) */
    double coverage;      /* FGD: typical-shape coverage (0.95) */
    double time_scale;    /* REPLAY: divide trace times by this (>= 1) */
    double arrival_scale; /* REPLAY: divide submit times only by this (>= 1;
                             0 = 1): arrivals come that much faster, run
                             times are kept, so the fleet is more loaded */
    int check_invariants; /* run the invariant checker after decisions */
    int record_samples;   /* keep the per-event samples (CSV output) */
    /* Progress callback, called about every 1 % of events; may be NULL. */
    void (*progress)(void *arg, double fraction);
    void *progress_arg;
} allot_sim_config;

#define ALLOT_FAIL_RATE_LLAMA3                                                                     \
    4.7e-4 /* per device-day: 419 interruptions in 54                                              \
              days on 16,384 GPUs (Llama 3 report) */

void allot_sim_config_init(allot_sim_config *cfg);

/* Per-job outcome of a replay (allot_sim_result.jobv, one per workload job). */
typedef struct allot_sim_job {
    int64_t submit;      /* s, scaled */
    int64_t first_start; /* ALLOT_TIME_NONE if never started */
    int64_t end;         /* finish time; ALLOT_TIME_NONE if it did not finish */
    uint32_t starts;     /* times started (1 + restarts after preemption or
                            failure) */
    uint8_t span_level;  /* smallest domain holding its tasks at the first
                            start: 0 node, 1 rack, 2 block, 3 zone, 4 fleet */
    uint8_t failed;      /* rejected: can never fit the fleet */
    uint16_t span_racks; /* racks its tasks occupied */
} allot_sim_job;

/* Per-tenant outcome of a replay. */
typedef struct allot_sim_tenant {
    double share;       /* time-averaged share of the fleet's devices it held */
    double entitlement; /* its quota as a share of the fleet (tenants on);
                           else its share of the submitted device-seconds */
    double jct_mean_s;  /* mean JCT of its finished jobs */
    uint64_t jobs;      /* jobs submitted */
} allot_sim_tenant;

/* One measurement, taken after an event. */
typedef struct allot_sample {
    int64_t time;          /* s (REPLAY) or event index (FGD) */
    int64_t arrived_milli; /* device milli requested so far */
    int64_t alloc_milli;   /* device milli allocated now */
    double frag_milli;     /* FGD fragmentation amount, milli */
    uint32_t pending;      /* jobs waiting */
    uint32_t running;      /* jobs running */
} allot_sample;

typedef struct allot_sim_result {
    /* identity */
    allot_sim_mode mode;
    allot_policy policy;
    uint64_t seed;
    /* totals */
    int64_t capacity_milli; /* device capacity of the fleet */
    uint64_t jobs;          /* jobs that arrived (incl. inflation copies) */
    uint64_t placed;        /* jobs started */
    uint64_t failed;        /* jobs that could not be placed */
    uint64_t finished;      /* REPLAY: jobs that ran to their end */
    uint64_t events;        /* events processed */
    uint64_t decisions;     /* task placements made */
    double wall_s;          /* wall time of the run (not part of output
                               compared for determinism) */
    /* FGD discrete series, indexed by arrived % (0..130); NaN = no data. */
    double alloc_pct[ALLOT_FGD_MAX_PCT + 1];
    double frag_pct[ALLOT_FGD_MAX_PCT + 1];       /* frag / capacity, % */
    double frag_ratio_pct[ALLOT_FGD_MAX_PCT + 1]; /* frag / idle, % */
    /* REPLAY summary */
    double alloc_time_avg_pct; /* time-weighted allocation, % */
    double wait_mean_s;        /* mean queueing delay of started jobs */
    double wait_p99_s;
    double jct_mean_s; /* job completion time (finish - submit), finished jobs */
    double jct_p50_s;
    double jct_p99_s;
    int64_t makespan_s;
    uint64_t gangs;               /* started jobs with more than one task */
    uint64_t gang_span[5];        /* gangs by smallest shared domain: node, rack,
                                     block, zone, fleet */
    double gang_racks_mean;       /* racks a gang occupies, mean */
    uint64_t preemptions;         /* jobs stopped for higher-priority work */
    double lost_device_h;         /* device-hours of work lost to preemption */
    uint64_t grows, shrinks;      /* elastic tasks added while devices idled, and taken back */
    uint64_t node_failures;       /* nodes that went down (failure injection) */
    uint64_t failure_stops;       /* jobs stopped by them */
    double failure_lost_device_h; /* device-hours of work they lost */
    double ettr;                  /* effective training time ratio: over finished jobs, device-
                                     time spent running minus the work lost (since the last
                                     checkpoint at each preemption or failure), over device-
                                     time from first start to end; 1 = nothing lost and no
                                     waiting again after a restart */
    double *jct;                  /* REPLAY: JCTs of the finished jobs, ascending (njct) */
    size_t njct;
    allot_sim_job *jobv; /* REPLAY: per workload job (njobv) */
    size_t njobv;
    allot_sim_tenant *tenants; /* REPLAY: per workload tenant (ntenants) */
    size_t ntenants;
    /* per-event samples (if record_samples) */
    allot_sample *samples;
    size_t nsamples;
} allot_sim_result;

/* Runs one simulation. c is cloned internally, so it is left unchanged and
 * several runs may share it from different threads. w is read-only. */
int allot_sim_run(const allot_cluster *c, const allot_workload *w, const allot_sim_config *cfg,
                  allot_sim_result *res, allot_diag *d);
void allot_sim_result_free(allot_sim_result *r); /* frees members */

/* Unallocated GPU % at arrived = 100 % (100 - alloc_pct[100]). */
double allot_sim_unalloc_at_100(const allot_sim_result *r);

/* ---- the FGD experiment: policies x seeds on one workload ----------------- */

typedef struct allot_fgd_expected {
    /* authors' 10-seed means, NaN where absent */
    double unalloc_at_100[ALLOT_POLICY__COUNT];
    double alloc_at_130[ALLOT_POLICY__COUNT];
} allot_fgd_expected;

/* Reads the authors' analysis_allo_discrete.csv and averages the rows of
 * the given workload name (e.g. "openb_pod_list_default") over seeds. */
int allot_fgd_expected_read(const char *path, const char *workload, allot_fgd_expected *out,
                            allot_diag *d);

typedef struct allot_experiment_row {
    allot_policy policy;
    int nseeds;
    double unalloc_at_100_mean, unalloc_at_100_sd;
    double alloc_at_130_mean, alloc_at_130_sd;
    double alloc_pct_mean[ALLOT_FGD_MAX_PCT + 1]; /* mean curve over seeds */
    double frag_pct_mean[ALLOT_FGD_MAX_PCT + 1];
    double wall_s; /* sum over seeds */
} allot_experiment_row;

/* Runs every policy in `policies` for seeds seed0..seed0+nseeds-1, using up
 * to `threads` worker threads. rows must hold npolicies entries. */
int allot_fgd_experiment(const allot_cluster *c, const allot_workload *w,
                         const allot_policy *policies, size_t npolicies, uint64_t seed0, int nseeds,
                         int threads, const allot_sim_config *base, allot_experiment_row *rows,
                         allot_diag *d);

#endif
