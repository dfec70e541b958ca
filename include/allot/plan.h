/* allot/plan.h - capacity planning: `allot plan PLAN.json`.
 *
 * A plan (docs/plan-format.md) states a horizon of months or quarters, the
 * fleet today (a cluster spec), deliveries with a delay/shortfall
 * distribution, lease offers and contracts, data centres with power caps,
 * costs, training and inference demand with growth, scenarios of shocks
 * (export stops, lost lease regions, power caps) and, optionally, candidate
 * actions to search over.
 *
 * allot_plan_run() runs a Monte Carlo over the random parts (delivery
 * delays and shortfalls, demand uncertainty, the jobs that arrive, device
 * failures), seeded: run i of every scenario and of every candidate set uses
 * the same random numbers (common random numbers), and results do not depend
 * on the thread count. Each run walks the periods in order; in each period a
 * representative window of training arrivals goes through the real
 * scheduler core on the fleet the period has (after deliveries, failures,
 * shocks, power caps, leases and the devices serving takes), inference is
 * sized by the latency model over the period's daily demand curve, and the
 * period's cost and power come from allot_plan_account(). The method, what
 * is simulated and what is extrapolated: docs/internals/planning.md.
 *
 * Units: time in hours unless named _s; money in the plan's currency; power
 * in MW (facility, PUE included) unless named _w or _kw; energy in MWh.
 */
#ifndef ALLOT_PLAN_H
#define ALLOT_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "allot/err.h"

#define ALLOT_PLAN_MAX_BYTES      (16u << 20) /* refuse larger plan files */
#define ALLOT_PLAN_MAX_PERIODS    120
#define ALLOT_PLAN_MAX_SCENARIOS  16
#define ALLOT_PLAN_MAX_CANDIDATES 24
#define ALLOT_PLAN_MAX_RUNS       100000

/* ---- cost and power accounting (a pure function) -------------------------- */

/* One batch of devices in one month. Owned batches depreciate straight-line
 * and draw power in a data centre; leased batches are billed by the hour
 * and their power is in the price. */
typedef struct allot_plan_acct_line {
    int leased;             /* 0 owned, 1 leased */
    double devices;         /* owned: installed (delivered, powered or not);
                               leased: devices usable this month */
    double powered;         /* owned: of those, devices with power (the rest
                               are stranded); ignored for leased */
    double busy;            /* fraction of the usable device-time in use, 0..1 */
    double capex;           /* owned: per device */
    double dep_years;       /* owned: straight-line life, years (> 0) */
    int depreciating;       /* owned: this month is within the life */
    double board_w;         /* owned: board power per device, W */
    double overhead;        /* owned: server power beyond the boards, as a
                               fraction of board power (CPUs, NICs, fans) */
    double idle_fraction;   /* owned: an idle device draws this fraction of
                               its busy power */
    double pue;             /* owned: facility power / IT power (>= 1) */
    double price_kwh;       /* owned: electricity, per kWh */
    double dc_cost_mw_year; /* owned: data-centre cost per MW of facility
                               capacity (at full load) per year */
    double lease_price;     /* leased: per device-hour */
    double billed_devices;  /* leased: devices billed this month (usable ones,
                               plus lost ones still within the minimum term) */
} allot_plan_acct_line;

typedef struct allot_plan_acct {
    double depreciation; /* sum of capex / (12 x life) over depreciating devices */
    double power;        /* energy x price */
    double datacentre;   /* facility MW at full load x cost per MW-year / 12 */
    double leases;       /* billed devices x price x hours */
    double total;        /* the four above */
    double energy_mwh;   /* facility energy of owned devices */
    double mean_mw;      /* facility power averaged over the month */
    double full_mw;      /* facility power if every powered device were busy */
    double device_hours; /* usable: (powered owned + usable leased) x hours */
    double busy_device_hours;
} allot_plan_acct;

/* Accounts one month of `hours` hours over n lines (adds nothing when n is
 * 0). For each owned line with P powered devices, board power B W, overhead
 * o, idle fraction i, PUE u and busy fraction b:
 *     IT kW         = P x B/1000 x (1 + o) x (i + (1 - i) x b)
 *     energy MWh    = IT kW x u x hours / 1000
 *     power cost    = energy MWh x 1000 x price_kwh
 *     datacentre    = P x B/1e6 x (1 + o) x u x dc_cost_mw_year / 12
 *     depreciation  = devices x capex / (12 x dep_years)   (if depreciating)
 * and for each leased line: leases = billed_devices x lease_price x hours.
 * Stranded devices (devices - powered) depreciate but draw nothing. */
void allot_plan_account(const allot_plan_acct_line *v, size_t n, double hours,
                        allot_plan_acct *out);

/* ---- plans ---------------------------------------------------------------- */

typedef struct allot_plan allot_plan;

/* Parses a plan held in buf. file names diagnostics; relative paths in the
 * plan (fleet, training.workload, inference trace) are resolved against
 * base_dir (NULL = the current directory). Errors: EPARSE (JSON syntax, with
 * line and column), EINVAL/ERANGE with the JSON path of the problem in the
 * message ("leases[2].price_per_device_hour: missing") and its line and
 * column, EIO for files it names, ELIMIT. */
int allot_plan_parse(const char *buf, size_t len, const char *file, const char *base_dir,
                     allot_plan **out, allot_diag *d);
/* Reads and parses the plan at path (relative paths against its directory). */
int allot_plan_load(const char *path, allot_plan **out, allot_diag *d);
void allot_plan_free(allot_plan *p); /* accepts NULL */

const char *allot_plan_name(const allot_plan *p);
size_t allot_plan_nperiods(const allot_plan *p);
size_t allot_plan_nscenarios(const allot_plan *p);
size_t allot_plan_ncandidates(const allot_plan *p);
int allot_plan_default_runs(const allot_plan *p);

/* ---- running ------------------------------------------------------------- */

typedef struct allot_plan_opts {
    int runs;      /* Monte Carlo runs per scenario; 0 = the plan's (100) */
    uint64_t seed; /* used when seed_set; else the plan's (1) */
    int seed_set;
    int threads; /* worker threads; 0 = the online CPUs */
    int search;  /* 1: run the options search when the plan has candidates */
    /* Progress, fraction of the simulation work done (0..1), called from
     * one thread at a time; may be NULL. */
    void (*progress)(void *arg, double fraction, const char *stage);
    void *progress_arg;
} allot_plan_opts;

void allot_plan_opts_init(allot_plan_opts *o);

/* One run, one period. Devices are means over the period; hours, money,
 * energy are period totals (owned and leased together unless named). */
typedef struct allot_plan_cell {
    double owned_devices;          /* delivered owned devices (powered or not) */
    double leased_devices;         /* usable leased devices */
    double stranded_devices;       /* owned devices without power (a data centre's cap) */
    double supply_devices;         /* usable: powered owned + leased */
    double train_demand;           /* training demand: devices busy if served at once */
    double serve_demand;           /* inference: devices needed at the daily peak */
    double serve_devices;          /* devices given to inference (at most serve_demand) */
    double device_hours;           /* usable device-hours */
    double busy_device_hours;      /* training (incl. work later lost) + inference in use */
    double useful_device_hours;    /* busy, less training work lost to preemption
                                      and failures */
    double idle_device_hours;      /* usable - busy */
    double utilisation;            /* busy / usable device-hours */
    double wait_p50_h, wait_p95_h; /* queueing delay of the training jobs that
                                      arrive in the period */
    double slo;                    /* requests within SLO / requests, all services
                                      (NaN when the plan has no inference) */
    double backlog_dh;             /* training work waiting at the period's end, device-hours */
    double cost_depreciation, cost_power, cost_datacentre, cost_leases, cost_total;
    double cost_per_useful_dh; /* cost_total / useful_device_hours */
    double energy_mwh, mean_mw, peak_mw;
    int slice;            /* the window simulated 1/slice of the training fleet */
    uint32_t window_jobs; /* training jobs the window simulated (incl. warm-up) */
} allot_plan_cell;

/* The metrics of a cell by name, in this order (CSV columns, JSON keys,
 * summaries). */
#define ALLOT_PLAN_METRICS(X)                                                                      \
    X(supply_devices, "devices")                                                                   \
    X(owned_devices, "devices")                                                                    \
    X(leased_devices, "devices")                                                                   \
    X(stranded_devices, "devices")                                                                 \
    X(train_demand, "devices")                                                                     \
    X(serve_demand, "devices")                                                                     \
    X(serve_devices, "devices")                                                                    \
    X(utilisation, "fraction")                                                                     \
    X(device_hours, "device-h")                                                                    \
    X(busy_device_hours, "device-h")                                                               \
    X(useful_device_hours, "device-h")                                                             \
    X(idle_device_hours, "device-h")                                                               \
    X(wait_p50_h, "h")                                                                             \
    X(wait_p95_h, "h")                                                                             \
    X(slo, "fraction")                                                                             \
    X(backlog_dh, "device-h")                                                                      \
    X(cost_depreciation, "currency")                                                               \
    X(cost_power, "currency")                                                                      \
    X(cost_datacentre, "currency")                                                                 \
    X(cost_leases, "currency")                                                                     \
    X(cost_total, "currency")                                                                      \
    X(cost_per_useful_dh, "currency/device-h")                                                     \
    X(energy_mwh, "MWh")                                                                           \
    X(mean_mw, "MW")                                                                               \
    X(peak_mw, "MW")

/* Results of one scenario. */
typedef struct allot_plan_scenario_result {
    char name[64];
    char description[256];
    double weight;         /* in expected cost and risk across scenarios */
    allot_plan_cell *cell; /* [run * nperiods + period] */
    uint8_t *met;          /* per run: 1 when every checked period met the targets */
    double *run_cost;      /* per run: cost over the horizon */
    double *run_useful;    /* per run: useful device-hours over the horizon */
    double met_fraction;   /* runs that met the targets */
} allot_plan_scenario_result;

/* One candidate action (for the recommendation). */
typedef struct allot_plan_choice {
    char name[64];
    char what[160];     /* "buy 1024 H20 in dc-north, 2026-04" */
    double static_cost; /* capex depreciation within the horizon and lease
                           charges, excluding power */
} allot_plan_choice;

typedef struct allot_plan_search_result {
    int done;        /* the search ran */
    int found;       /* a set met the targets */
    uint64_t chosen; /* bit i = candidate i */
    size_t nchoices;
    allot_plan_choice choices[ALLOT_PLAN_MAX_CANDIDATES]; /* every candidate */
    double expected_cost; /* weighted mean over scenarios of the mean run cost */
    double risk;          /* weighted share of runs missing the targets */
    int confirmed;        /* with all runs every searched scenario still meets
                             min_fraction (0: too few search runs to tell) */
    double baseline_cost; /* the same for the plan without candidates */
    double baseline_risk;
    int evaluations;                      /* candidate sets simulated */
    int runs;                             /* runs per scenario in the search */
    double p95_wait_h, slo, min_fraction; /* the targets */
    char from[16];                        /* first period checked */
    allot_plan_scenario_result *scen;     /* the chosen set, full runs (nscen) */
} allot_plan_search_result;

typedef struct allot_plan_result {
    char plan[64];
    char currency[16];
    char step[16]; /* "month" or "quarter" */
    uint64_t seed;
    int runs;
    int threads;
    int has_targets;                                /* the plan states targets (search.targets) */
    double target_wait_h, target_slo, min_fraction; /* NaN = none */
    size_t nperiods;
    char (*period)[16]; /* labels: "2026-01" or "2026-Q1" */
    double *hours;      /* hours in each period */
    size_t nscen;
    allot_plan_scenario_result *scen; /* the plan as given (no candidates) */
    allot_plan_search_result search;
    double wall_s;        /* not part of any output compared for determinism */
    uint64_t simulations; /* windows simulated */
} allot_plan_result;

/* Runs the plan: every scenario with the plan's own actions and, with
 * o->search and candidates, the options search. */
int allot_plan_run(const allot_plan *p, const allot_plan_opts *o, allot_plan_result **out,
                   allot_diag *d);
void allot_plan_result_free(allot_plan_result *r); /* accepts NULL */

/* ---- summaries and output -------------------------------------------------- */

/* Mean and quantiles over runs of one metric in one period (NaN values are
 * left out; all NaN gives NaN). Quantiles by linear interpolation. */
typedef struct allot_plan_stat {
    double mean, p10, p50, p90;
} allot_plan_stat;

/* The stat of metric index m (order of ALLOT_PLAN_METRICS) in period k. */
allot_plan_stat allot_plan_cell_stat(const allot_plan_result *r,
                                     const allot_plan_scenario_result *s, size_t period, int m);
/* Number of metrics and the name and unit of metric m. */
int allot_plan_nmetrics(void);
const char *allot_plan_metric_name(int m);
const char *allot_plan_metric_unit(int m);
/* Index of a metric by name, or -1. */
int allot_plan_metric_index(const char *name);

/* The summary as JSON (docs/plan-format.md, "Output"). Deterministic: the
 * same plan, seed and runs give the same bytes (wall time is left out). */
int allot_plan_write_json(const allot_plan_result *r, FILE *f);
/* periods.csv (one row per scenario x period x metric statistic), runs.csv
 * (one row per scenario x run x period) into dir, atomically. */
int allot_plan_write_csv(const allot_plan_result *r, const char *dir, allot_diag *d);
/* report.html: summary, supply vs demand, utilisation fan, cost breakdown,
 * power, the recommendation; self-contained. */
int allot_plan_write_report(const allot_plan_result *r, const char *path, allot_diag *d);
/* The table printed by `allot plan`. */
int allot_plan_print(const allot_plan_result *r, FILE *f);

#endif
