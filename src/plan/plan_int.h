/* src/plan/plan_int.h - the parsed plan and the engine's internals, shared
 * by plan_parse.c, plan_run.c, plan_window.c, plan_search.c, plan_out.c and
 * the unit tests. Not public API. */
#ifndef ALLOT_PLAN_INT_H
#define ALLOT_PLAN_INT_H

#include <stdint.h>

#include "allot/cluster.h"
#include "allot/job.h"
#include "allot/plan.h"
#include "allot/sched.h"
#include "allot/serve.h"

#define PLAN_MAX_MONTHS   (ALLOT_PLAN_MAX_PERIODS * 3)
#define PLAN_MAX_DELAY    13 /* delay distribution: 0..12 months */
#define PLAN_MAX_GROUPS   4096
#define PLAN_MAX_SERVICES 16
#define PLAN_NAME         64
#define PLAN_MAX_TRAIN    8

/* A chip type the plan uses (index = chip id of every cluster it builds). */
typedef struct plan_chip {
    allot_chip_type t;              /* attributes: fleet spec, else catalogue */
    double capex;                   /* per device; NaN = not given */
    double dep_years;               /* straight-line life */
    double board_w;                 /* W */
    double fail_rate;               /* per device-day */
    double delay_p[PLAN_MAX_DELAY]; /* supply: P(delay = i months) */
    int ndelay;                     /* 0 = always on time */
    double shortfall_prob;          /* P(a delivery comes short) */
    double shortfall_max;           /* then a uniform share in [0, max] is missing */
    int owned_use;                  /* some owned devices of this type exist or may */
    char owned_path[96];            /* the first plan element that needs it owned */
} plan_chip;

typedef struct plan_dc {
    char name[PLAN_NAME];
    double power_mw; /* facility cap; 0 = none */
    double pue;
    double price_kwh;
    double dc_cost_mw_year;
} plan_dc;

/* A group of identical nodes: the unit the engine counts, strands, slices. */
typedef struct plan_group {
    int chip;    /* plan chip index; -1 = CPU-only */
    int dc;      /* data centre index (owned); -1 = leased */
    int ndev;    /* devices per node */
    int64_t cpu; /* milli-cores per node */
    int64_t mem; /* MiB per node */
    int nodes;   /* in the base fleet */
} plan_group;

/* A delivery of owned devices (committed, or a buy candidate). */
typedef struct plan_delivery {
    int chip, dc;
    double devices;
    int month; /* month index from the horizon start */
    double delay_p[PLAN_MAX_DELAY];
    int ndelay;                           /* -1 = the chip's supply distribution */
    double shortfall_prob, shortfall_max; /* NaN = the chip's */
    int node_devices;
    int64_t cpu, mem;
} plan_delivery;

typedef struct plan_offer {
    char name[PLAN_NAME];
    char region[PLAN_NAME];
    int chip;
    double price; /* per device-hour */
    int lead_months;
    int min_term;       /* months */
    double max_devices; /* 0 = no cap */
    int node_devices;
    int64_t cpu, mem;
} plan_offer;

typedef struct plan_contract {
    int offer;
    double devices;
    int start; /* month index */
    int months;
} plan_contract;

enum { PLAN_SHOCK_EXPORT_STOP = 0, PLAN_SHOCK_LEASE_REGION, PLAN_SHOCK_POWER_CAP };

typedef struct plan_shock {
    int type;
    int chip;               /* export_stop */
    char region[PLAN_NAME]; /* lease_region_loss */
    int dc;                 /* power_cap */
    double mw;              /* power_cap */
    int from;               /* month index */
    double prob;            /* chance the shock happens in a run */
} plan_shock;

typedef struct plan_scenario {
    char name[PLAN_NAME];
    char description[256];
    double weight;
    double demand_scale; /* training and inference demand x this */
    plan_shock *shocks;
    size_t nshocks;
} plan_scenario;

/* Growth of a demand: factor for month m = (1 + rate)^m, or per period. */
typedef struct plan_growth {
    double monthly;     /* compound rate per month */
    double *per_period; /* NULL, or one factor per period */
    double uncertainty; /* sd of log of a per-run factor */
    double noise;       /* sd of log of a per-run, per-period factor */
} plan_growth;

typedef struct plan_service {
    char name[PLAN_NAME];
    double peak_rps;    /* at the horizon start, before growth */
    double profile[24]; /* hourly rate / peak rate, max 1 */
    plan_growth growth;
    int slots, devices; /* per replica */
    double slo_s, slo_target;
    double in_tok, out_tok; /* mean tokens per request (exec_s for EXEC) */
    size_t nchips;
    int chip[ALLOT_SERVE_MAX_CHIPS];  /* plan chip index, preferred first */
    double es[ALLOT_SERVE_MAX_CHIPS]; /* mean service time on each, s */
} plan_service;

/* A training workload: a job mix (the bootstrap source), its demand in
 * devices and growth, the chip types it runs on. Its jobs carry tenant =
 * its index (tenant-aware policies see one tenant per workload). */
typedef struct plan_training {
    char name[PLAN_NAME];
    allot_workload pool; /* the job mix */
    uint32_t *order;     /* pool jobs by device milli, ascending (stable) */
    int64_t *milli;      /* their device milli, in that order */
    double *cum;         /* cumulative device-seconds in that order */
    double *cumdur;      /* cumulative durations (s) in that order */
    double devices;      /* demand at the horizon start, devices */
    plan_growth growth;
    allot_chip_mask chips;  /* chip types it runs on (plan chip ids); 0 = any */
    double max_job_devices; /* jobs of the mix larger than this are left out */
} plan_training;

typedef struct plan_candidate {
    char name[PLAN_NAME];
    int kind; /* 0 buy (delivery), 1 lease (contract) */
    plan_delivery buy;
    plan_contract lease;
} plan_candidate;

struct allot_plan {
    char name[PLAN_NAME];
    char currency[16];
    int start_year, start_month; /* the horizon's first month */
    int step_months;             /* 1 or 3 */
    int nperiods;
    int nmonths; /* nperiods x step_months */
    int runs;
    uint64_t seed;
    /* chips and fleet */
    plan_chip chips[ALLOT_MAX_CHIP_TYPES];
    int nchips;
    plan_dc *dcs;
    int ndcs;
    plan_group *groups; /* the base fleet */
    int ngroups;
    int nodes_per_rack;
    /* supply */
    plan_delivery *deliveries;
    int ndeliveries;
    plan_offer *offers;
    int noffers;
    plan_contract *contracts;
    int ncontracts;
    /* costs */
    double idle_fraction, overhead, repair_h;
    /* demand */
    int has_training; /* some workload has demand */
    plan_training train[PLAN_MAX_TRAIN];
    int ntrain;
    allot_typical *typical; /* FGD target shapes of the workloads together */
    int ntypical;
    plan_service services[PLAN_MAX_SERVICES];
    int nservices;
    /* simulation */
    allot_sched_config sched; /* policy, placement, preemption (no tenants) */
    int sched_policy;
    int tenants_equal;
    double window_h; /* 0 = auto */
    double warmup_h; /* 0 = auto */
    int max_jobs;    /* per window, warm-up included */
    /* scenarios and search */
    plan_scenario *scen;
    int nscen;
    plan_candidate cands[ALLOT_PLAN_MAX_CANDIDATES];
    int ncands;
    double target_wait_h; /* NaN = no target */
    double target_slo;    /* NaN = no target */
    double min_fraction;
    int target_from; /* first period checked */
    int search_runs;
    int search_max_evals;
    uint64_t search_scen; /* bit s = scenario s is evaluated */
};

/* Days in month m (index from the horizon start). */
int plan__month_days(const allot_plan *p, int m);
/* Label of period k ("2026-03" or "2026-Q2"). */
void plan__period_label(const allot_plan *p, int k, char out[16]);

/* ---- the window simulation (plan_window.c) ----------------------------------- */

/* A group of nodes as the engine builds clusters from it: the base fleet's
 * groups, one per delivery, one per lease offer. */
typedef struct plan_xgroup {
    plan_group g;
    char zone[PLAN_NAME]; /* data centre, or "lease-<region>" */
    int kind;             /* 0 base fleet, 1 delivery, 2 lease offer */
    int src;              /* index of the delivery (committed, then candidates) or offer */
} plan_xgroup;

typedef struct plan_window_in {
    const allot_plan *p;
    const int *nodes; /* nodes per group of `groups` (after serving, stranding, slicing) */
    const plan_xgroup *groups;
    int ngroups;
    size_t eligible[PLAN_MAX_TRAIN];      /* per workload: draw from order[0 .. eligible) */
    double rate_per_s[PLAN_MAX_TRAIN];    /* arrivals per second into this (sliced) fleet */
    double backlog_dev_s[PLAN_MAX_TRAIN]; /* work queued at the start (sliced), device-s */
    double cant_run_s;                    /* the wait of a job no device here can run */
    double warmup_s, window_s;
    uint64_t seed;
} plan_window_in;

typedef struct plan_window_out {
    double busy_dev_s[ALLOT_MAX_CHIP_TYPES];  /* in the window, device-seconds */
    double avail_dev_s[ALLOT_MAX_CHIP_TYPES]; /* device-seconds of nodes up */
    double lost_dev_s;                     /* work lost to preemption and failures in the window */
    double offered_dev_s;                  /* work of the jobs arriving in the window */
    double pending0_dev_s;                 /* work queued at the window's start */
    double pending1_dev_s[PLAN_MAX_TRAIN]; /* per workload, queued at its end (work
                                              no device here can run included) */
    double pending1_total;
    double backlog_left_dev_s[PLAN_MAX_TRAIN]; /* backlog not injected (job cap) */
    double wait_p50_s, wait_p95_s;
    uint32_t jobs;     /* simulated: running at the start, backlog, arrivals */
    uint32_t prefill;  /* of those, running at the start (steady state) */
    uint32_t rejected; /* jobs that can never fit this fleet */
} plan_window_out;

int plan__window_run(const plan_window_in *in, plan_window_out *out, allot_diag *d);

/* ---- the engine (plan_run.c) ----------------------------------------------------- */

/* Which actions a run uses: committed ones plus the candidates in mask. */
typedef struct plan_eval {
    const allot_plan *p;
    uint64_t seed;
    uint64_t cand_mask;
    int runs;
    int threads;
    uint64_t scen_mask; /* scenarios to run */
    void (*progress)(void *arg, double fraction, const char *stage);
    void *progress_arg;
    const char *stage;
    double progress_base, progress_span;
    int nevals; /* the search's count, for the progress label */
} plan_eval;

/* Runs the scenarios in e->scen_mask; res has p->nscen entries (the others
 * are left empty). */
int plan__evaluate(const plan_eval *e, allot_plan_scenario_result *res, uint64_t *sims,
                   allot_diag *d);
void plan__scenario_free(allot_plan_scenario_result *s);
/* Targets met by run r of s (every checked period). */
int plan__run_meets(const allot_plan *p, const allot_plan_scenario_result *s, int r);
/* Static cost of candidate i: depreciation within the horizon of a buy
 * (arriving on time and in full), the billed months of a lease. */
double plan__candidate_static_cost(const allot_plan *p, int i);
void plan__candidate_describe(const allot_plan *p, int i, char *out, size_t len);

/* ---- the search (plan_search.c) --------------------------------------------------- */

int plan__search(const allot_plan *p, const allot_plan_opts *o, int threads,
                 allot_plan_search_result *out, uint64_t *sims, allot_diag *d);

#endif
