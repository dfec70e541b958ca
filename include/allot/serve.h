/* allot/serve.h - inference services: request traces, the service model and
 * its latency model, autoscalers, the serving simulator and the oracle.
 *
 * Deterministic and free of I/O except the trace readers. Time is in
 * seconds from the trace start; the simulator steps in fixed intervals
 * (`dt`, 1 s by default, 10 s for multi-day traces).
 *
 * The latency model (docs/internals/serving.md). A replica has `slots`
 * concurrent request slots (continuous batching). A request of P prompt and
 * G generated tokens occupies a slot for
 *     S = P / prefill_tps + G / decode_tps          (seconds, on chip k)
 * where prefill_tps and decode_tps are per-slot rates on that chip. Within an
 * interval the service is an M/G/c queue with c = slots x ready replicas,
 * arrival rate lambda and mean service time E[S]; the probability that a
 * request waits is Erlang C, the wait beyond that is exponential with rate
 * c/E[S] - lambda (the M/M/c tail, a standard approximation for M/G/c), and
 * work that cannot be served in the interval stays queued for the next one.
 * A request meets the SLO when its wait plus its own service time is at most
 * `slo_s`; the model gives the fraction that do, per interval.
 */
#ifndef ALLOT_SERVE_H
#define ALLOT_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "allot/err.h"

/* ---- request traces ---------------------------------------------------- */

typedef struct allot_request {
    double t;        /* arrival, s from the trace start */
    int32_t in_tok;  /* prompt tokens (0 for non-LLM requests) */
    int32_t out_tok; /* generated tokens (0 for non-LLM requests) */
    float exec_s;    /* non-LLM (e.g. image generation): service time on the
                        reference chip; 0 for LLM requests */
} allot_request;

typedef enum allot_reqtrace_kind {
    ALLOT_REQ_LLM = 0, /* tokens */
    ALLOT_REQ_EXEC,    /* exec_s */
} allot_reqtrace_kind;

typedef struct allot_reqtrace {
    allot_request *v; /* sorted by t */
    size_t n, cap;
    double span_s; /* from 0 to the last arrival (or the last window's end) */
    int kind;      /* allot_reqtrace_kind */
    char name[64]; /* "azure-code", "servegen-m-large", ... */
} allot_reqtrace;

typedef struct allot_reqtrace_opts {
    uint64_t seed;       /* ServeGen arrivals and token draws */
    double rate_scale;   /* ServeGen: multiply the released rates (default 1) */
    double max_span_s;   /* keep arrivals before this (0 = all) */
    size_t max_requests; /* refuse traces larger than this (default 50 M) */
} allot_reqtrace_opts;

void allot_reqtrace_opts_init(allot_reqtrace_opts *o);

/* Reads a request trace, detecting the format:
 *  - Azure LLM inference 2023 CSV (TIMESTAMP,ContextTokens,GeneratedTokens);
 *  - a ServeGen model directory (chunk-*-trace.csv: 600-s windows per
 *    client with a fitted Gamma/Weibull inter-arrival law; arrivals are drawn
 *    from it, seeded) - tokens drawn from a documented log-normal per model
 *    family, as the per-window length data is not in the trace;
 *  - the Alibaba GenAI (Stable Diffusion) lora_request_trace.csv
 *    (gmt_create, exec_time_seconds, ...): EXEC requests.
 * Errors: EIO, EPARSE with file:line in d, ELIMIT. */
int allot_reqtrace_load(const char *path, const allot_reqtrace_opts *o, allot_reqtrace *out,
                        allot_diag *d);
void allot_reqtrace_free(allot_reqtrace *t);

/* ---- services ------------------------------------------------------------ */

#define ALLOT_SERVE_MAX_CHIPS 8

typedef struct allot_serve_chip {
    char name[64];        /* chip type */
    double prefill_tps;   /* per slot, tokens/s */
    double decode_tps;    /* per slot, tokens/s */
    double exec_speed;    /* EXEC traces: service time = exec_s / exec_speed */
    double cold_start_s;  /* from placement to serving (model load) */
    double cost_per_hour; /* per replica */
} allot_serve_chip;

typedef struct allot_service {
    char name[64];
    int devices; /* per replica */
    int slots;   /* concurrent requests per replica */
    int min_replicas, max_replicas;
    double slo_s;      /* a request meets the SLO if done within this */
    double slo_target; /* fraction of requests the operator wants within SLO (0.99) */
    double drain_s;    /* a replica scaled down finishes its work for this long */
    size_t nchips;
    allot_serve_chip chips[ALLOT_SERVE_MAX_CHIPS]; /* allowed types, preferred first */
} allot_service;

/* The documented default service for a trace kind: a 70B-class LLM on one
 * H100-80G replica (prefill 8,000 tok/s, decode 40 tok/s per slot, 16 slots,
 * cold start 60 s, SLO 10 s) for LLM traces; an SDXL-class image model on one
 * device (1 slot, SLO 60 s; see serving.md) for EXEC traces. */
void allot_service_default(allot_service *s, int kind);

/* Checks a service; returns 0 or EINVAL with what is wrong in d (slots < 1,
 * min > max, SLO below the model's minimum latency, no chip type, ...). */
int allot_service_check(const allot_service *s, const allot_reqtrace *t, allot_diag *d);

/* ---- the latency model ---------------------------------------------------- */

/* Erlang C: probability that an arrival waits in M/M/c with c servers and
 * offered load a = lambda * E[S] (a < c; 1 when a >= c). */
double allot_erlang_c(int c, double a);

/* Fraction of requests whose latency is within slo_s, in steady state, for
 * arrival rate lambda (req/s), c slots, mean service time es (s) and service
 * time quantile profile: svc_q[i] is the fraction of requests whose own
 * service time is at most slo_s - w, for the wait grid used inside (see
 * serving.md). Simplified entry point: service times all equal to es. */
double allot_slo_fraction(double lambda, int c, double es, double slo_s);

/* Smallest number of replicas whose steady-state SLO fraction reaches
 * target at rate lambda (slots per replica, mean service time es); max+1 if
 * none up to max does. */
int allot_replicas_needed(double lambda, int slots, double es, double slo_s, double target,
                          int max);

/* The latency model, cached (docs/internals/serving.md, "Cached latency
 * model"). For one slots-per-replica value, the table holds ln C(r x slots, a)
 * as piecewise Chebyshev interpolants in ln a, one per replica count r up to
 * max_replicas, built on first use. It does not depend on the SLO, the target
 * or the service time, so one table serves every service with that many
 * slots. Answers:
 *  - allot_latency_replicas_needed: the same integer as allot_replicas_needed
 *    (decisions within 1e-9 of the target are made by the exact model);
 *  - allot_latency_slo_fraction: allot_slo_fraction(lambda, r x slots, ...)
 *    within 1e-11 (exactly 1.0 where the exact model gives 1.0 by a margin).
 * Counts above max_replicas fall back to the exact model. Thread-safe: several
 * threads may share one table (entries are built under a lock, then read
 * without one). No global state. */
typedef struct allot_latency_table allot_latency_table;

/* ENOMEM, EINVAL (slots < 1, max_replicas < 1). */
int allot_latency_table_new(allot_latency_table **out, int slots, int max_replicas);
void allot_latency_table_free(allot_latency_table *t); /* accepts NULL */
int allot_latency_table_slots(const allot_latency_table *t);
double allot_latency_slo_fraction(allot_latency_table *t, double lambda, int replicas, double es,
                                  double slo_s);
int allot_latency_replicas_needed(allot_latency_table *t, double lambda, double es, double slo_s,
                                  double target, int max);

/* ---- autoscalers ------------------------------------------------------------ */

typedef enum allot_autoscaler {
    ALLOT_AS_HPA = 0,    /* Kubernetes HPA: 15 s sync, target utilisation, 0.1
                            tolerance, 300 s scale-down stabilisation */
    ALLOT_AS_KNATIVE,    /* Knative KPA: 60 s stable window, 6 s panic window,
                            panic at 2x target */
    ALLOT_AS_PREDICTIVE, /* forecast (recent trend + daily seasonality),
                            provisions ahead of the cold start */
    ALLOT_AS_ALLOT,      /* ours: forecast + SLO headroom from the latency
                            model + fast reactive correction */
    ALLOT_AS__COUNT
} allot_autoscaler;

const char *allot_autoscaler_name(allot_autoscaler a);
int allot_autoscaler_parse(const char *name); /* -1 if unknown */

/* An autoscaler on its own, for drivers other than allot_serve_run (the
 * server, the mixed fleet simulator). It sees one observation per step and
 * answers the replicas wanted (ready + starting), within the service's
 * bounds. Pure: no clock, no I/O. */
typedef struct allot_scaler_obs {
    double t;            /* end of the step, s */
    double dt;           /* step length, s */
    double rps;          /* arrivals per second during the step */
    double es;           /* mean service time of recent requests, s (0: none yet) */
    double concurrency;  /* requests in service or queued (mean over the step) */
    double backlog_s;    /* queued work at the end of the step, slot-seconds */
    double slo_frac;     /* fraction of the step's requests within SLO (1 if none) */
    int ready, starting; /* replicas serving, replicas warming up */
} allot_scaler_obs;

typedef struct allot_scaler allot_scaler;

/* s must outlive the scaler. ENOMEM, EINVAL (policy, chip). */
int allot_scaler_new(allot_scaler **out, int policy, const allot_service *s, size_t chip,
                     double dt);
int allot_scaler_decide(allot_scaler *a, const allot_scaler_obs *o);
void allot_scaler_free(allot_scaler *a); /* accepts NULL */
/* Optional: replicas from a cached latency table (same answers as the exact
 * model; slots must be the service's; it must outlive a). EINVAL. */
int allot_scaler_set_latency_table(allot_scaler *a, allot_latency_table *t);

/* ---- per-interval demand ------------------------------------------------------ */

/* The trace cut into intervals of dt seconds for one chip of the service:
 * arrivals and the service time they bring (seconds of one slot). */
typedef struct allot_serve_demand {
    double dt;
    size_t n;        /* intervals */
    uint32_t *count; /* requests arriving in interval i */
    double *work;    /* sum of their service times on the chip, s */
    double es_max;   /* the largest single service time, s (window-rate
                        path: the largest per-step mean) */
} allot_serve_demand;

/* Builds the demand of trace t for the service's chip `chip` (index into
 * s->chips). ENOMEM, EINVAL. */
int allot_serve_demand_build(const allot_service *s, size_t chip, const allot_reqtrace *t,
                             double dt, allot_serve_demand *out);
void allot_serve_demand_free(allot_serve_demand *d);

/* The demand the latency model and the oracle read: trailing means of d over
 * max(10 s, 4 mean service times), at least one step (docs/internals/
 * serving.md, "The simulator"). out is freed with allot_serve_demand_free.
 * ENOMEM. */
int allot_serve_demand_smoothed(const allot_serve_demand *d, allot_serve_demand *out);

/* ---- the window-rate demand (ServeGen) ---------------------------------------- */

/* A ServeGen model (a directory of chunk-*-trace.csv files, one per client,
 * or one such file) read once: each client's busy 600-s windows with their
 * rate and the squared CV of their fitted inter-arrival law. Read-only
 * after loading: threads may build demands from one model at once. */
typedef struct allot_servegen allot_servegen;

/* EIO/ENOENT, EPARSE (file:line:col, as allot_reqtrace_load), ENOMEM. */
int allot_servegen_load(const char *path, allot_servegen **out, allot_diag *d);
void allot_servegen_free(allot_servegen *g); /* accepts NULL */
size_t allot_servegen_clients(const allot_servegen *g);
double allot_servegen_span(const allot_servegen *g);      /* end of the last window, s */
const char *allot_servegen_name(const allot_servegen *g); /* "servegen-<dir>" */
/* Mean released rate (req/s, before rate_scale) of clients [first,
 * first + count) over the model's span; count 0 = to the last client. */
double allot_servegen_mean_rate(const allot_servegen *g, size_t first, size_t count);

typedef struct allot_servegen_opts {
    uint64_t seed;       /* the count and work draws (default 1) */
    double rate_scale;   /* multiply the released rates (default 1) */
    double max_span_s;   /* keep the first max_span_s seconds (0 = all) */
    size_t client_first; /* the service's clients: [first, first + count) in */
    size_t client_count; /* file-name order; count 0 = to the last client */
} allot_servegen_opts;

void allot_servegen_opts_init(allot_servegen_opts *o);

/* The per-step demand of a ServeGen service without drawing single requests
 * (docs/internals/serving.md, "The window-rate demand"): each window holds
 * the same round(rate x rate_scale x 600) requests per client as
 * allot_reqtrace_load would draw; they are split over the window's steps by
 * a Dirichlet-multinomial with the variance of the clients' renewal
 * processes (their fitted laws' CV), and each step's work is drawn exactly
 * for up to 8 arrivals, else from a Gamma law with the exact mean and
 * variance of the sum of their service times (the model family's token
 * log-normals on the chip). Seeded and deterministic. EINVAL (service,
 * chip, options), EPARSE ("no requests"), ENOMEM. */
int allot_serve_demand_windows(const allot_servegen *g, const allot_service *s, size_t chip,
                               double dt, const allot_servegen_opts *o, allot_serve_demand *out,
                               allot_diag *d);
/* The median request's service time on the chip (the model family's token
 * log-normals, 2,047 draws from a fixed stream): what allot_service_check
 * compares the SLO with on a request trace. 0 if the chip serves no LLM. */
double allot_servegen_median_service(const allot_servegen *g, const allot_service *s, size_t chip);
/* The same from a path (reads the model, builds, frees it). */
int allot_serve_demand_servegen(const char *path, const allot_service *s, size_t chip, double dt,
                                const allot_servegen_opts *o, allot_serve_demand *out,
                                allot_diag *d);

/* ---- the serving simulator ------------------------------------------------------ */

typedef struct allot_serve_config {
    int policy;       /* allot_autoscaler */
    double dt;        /* simulation step, s (0: 1 s, or 10 s for traces over a day) */
    size_t chip;      /* which of the service's chip types its replicas use */
    double timeout_s; /* a request that would wait longer is dropped (0: 10 x SLO) */
    double bucket_s;  /* reporting resolution of the series (0: about 300 points) */
    int record_series;
    /* optional: a cached latency model for the service's slots, shared
     * between runs (allot_serve_run_many makes one per slots value). NULL:
     * the run makes its own. */
    allot_latency_table *latency;
    int exact_latency; /* 1: the exact latency model everywhere (slow; checks) */
} allot_serve_config;

void allot_serve_config_init(allot_serve_config *c);

typedef struct allot_serve_point {
    double t;          /* bucket start, s */
    double demand_rps; /* arrivals / s */
    double replicas;   /* ready replicas (mean over the bucket) */
    double target;     /* replicas asked for (incl. starting ones) */
    double oracle;     /* the oracle's replicas */
    double slo_frac;   /* fraction of the bucket's requests within SLO */
    double wait_s;     /* mean wait in the queue */
} allot_serve_point;

typedef struct allot_serve_result {
    uint64_t requests, within_slo, dropped, scale_ups, scale_downs;
    double slo_attainment; /* within_slo / requests */
    double device_hours;   /* devices held by replicas (starting, ready, draining) */
    double oracle_device_hours;
    double oracle_ratio; /* device_hours / oracle_device_hours */
    double cost;         /* replica-hours x the chip's cost per hour */
    double mean_replicas, peak_replicas;
    allot_serve_point *series;
    size_t nseries;
} allot_serve_result;

/* Runs one service over a trace with one autoscaler: the service check
 * against the trace, allot_serve_demand_build, allot_serve_run_demand. */
int allot_serve_run(const allot_service *s, const allot_reqtrace *t, const allot_serve_config *cfg,
                    allot_serve_result *out, allot_diag *d);
/* Runs one service over a per-step demand (dem->dt is the step; cfg->dt is
 * ignored). EINVAL (service, chip, policy), ENOMEM. */
int allot_serve_run_demand(const allot_service *s, const allot_serve_demand *dem,
                           const allot_serve_config *cfg, allot_serve_result *out, allot_diag *d);
void allot_serve_result_free(allot_serve_result *r);

/* Many independent runs on `threads` threads (pthreads; 0 or 1: this
 * thread). Each job's result is the same whatever the thread count: runs
 * share only cached latency tables (one per slots value, made here unless
 * the job's cfg has one), whose contents do not depend on who built them.
 * Returns 0, or the first failing job's code (every job's rc and diag are
 * filled). */
typedef struct allot_serve_job {
    const allot_service *service; /* in */
    const allot_serve_demand *demand;
    allot_serve_config cfg;
    allot_serve_result result; /* out (free with allot_serve_result_free) */
    int rc;
    allot_diag diag;
} allot_serve_job;

int allot_serve_run_many(allot_serve_job *jobs, size_t n, int threads);

/* The simulator one step at a time, for drivers that own the devices (the
 * mixed fleet simulator lends the devices serving does not need): the
 * driver feeds each step's arrivals, reads the replicas the autoscaler
 * wants, and starts or stops replicas when it has the devices. */
typedef struct allot_serve_sim allot_serve_sim;

typedef struct allot_serve_tick {
    /* in: the step's arrivals */
    double count; /* requests */
    double work;  /* their service time, slot-seconds on the chip */
    double lam;   /* arrival rate the latency model reads (smoothed), req/s; 0: count/dt */
    double es;    /* mean service time it reads, s; 0: work/count */
    /* out */
    double within;   /* requests within the SLO */
    double dropped;  /* requests dropped (waited past the timeout) */
    double slo_frac; /* within / count (1 without arrivals) */
    double wait_s;   /* mean queue wait over the step */
    int want;        /* replicas the autoscaler wants (ready + starting) */
} allot_serve_tick;

/* policy: allot_autoscaler; timeout_s 0 = 10 x SLO; ready: replicas serving
 * at t = 0. */
int allot_serve_sim_new(allot_serve_sim **out, const allot_service *s, size_t chip, int policy,
                        double dt, double timeout_s, int ready);
void allot_serve_sim_free(allot_serve_sim *m);
/* Optional: the step's SLO fraction and the autoscaler's latency model from
 * a cached table (its slots must be the service's; it must outlive m).
 * Without one, the exact model. EINVAL. */
int allot_serve_sim_set_latency_table(allot_serve_sim *m, allot_latency_table *t);
/* Runs the step [t0, t0 + dt): replicas due by t0 begin serving (or end
 * their drain), the arrivals are served, the autoscaler decides. */
int allot_serve_sim_step(allot_serve_sim *m, double t0, allot_serve_tick *io);
/* k new replicas, serving from ready_at (their devices are held from now). */
int allot_serve_sim_start(allot_serve_sim *m, int k, double ready_at);
/* Stops k replicas at time t: warming ones first (their devices free at
 * once: the count is returned), then ready ones, which drain until
 * t + drain_s. Returns the replicas whose devices are free now. */
int allot_serve_sim_stop(allot_serve_sim *m, int k, double t);
/* Replicas by state: serving, warming up, draining. */
void allot_serve_sim_counts(const allot_serve_sim *m, int *ready, int *starting, int *draining);
/* Replicas the driver has asked for but not started yet (waiting for their
 * devices, e.g. a reclaim from borrowers): the autoscaler counts them as
 * starting from the next step on. 0 by default (allot_serve_run). */
void allot_serve_sim_set_waiting(allot_serve_sim *m, int k);

/* The oracle: with perfect foresight, the fewest replicas in every interval
 * that keep each interval's requests within the SLO target under the latency
 * model (no queue carried over), each replica started cold_start_s ahead of
 * the interval that needs it and kept while a later interval needs it within
 * cold_start_s (cheaper than stopping and starting). Fills per-interval
 * replica counts (caller frees) and the device-hours. */
int allot_serve_oracle(const allot_service *s, size_t chip, const allot_serve_demand *dem,
                       int **replicas, double *device_hours);
/* The same with a cached latency table (the same replicas; NULL: exact). */
int allot_serve_oracle_table(const allot_service *s, size_t chip, const allot_serve_demand *dem,
                             allot_latency_table *lt, int **replicas, double *device_hours);

#endif
