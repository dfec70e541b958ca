/* src/server/state_int.h - what the parts of the state thread share (model.c,
 * routes.c, agents.c, persist.c, state.c): its data and its functions. Only
 * the state thread runs this code, so nothing here is locked. Private to
 * src/server. */
#ifndef ALLOT_STATE_INT_H
#define ALLOT_STATE_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "allot/cluster.h"
#include "allot/sched.h"
#include "allot/store.h"
#include "server_int.h"

enum { T_ASSIGNED = 0, T_SENT, T_STARTED, T_EXITED };
#define CID_NONE UINT32_MAX

typedef struct srv_task {
    uint32_t node;
    uint8_t st;
    int32_t code; /* exit code, or 128 + signal */
    uint64_t devs;
    double sent, launch;
} srv_task;

typedef struct srv_job {
    uint32_t id;
    uint16_t tenant;
    uint8_t state; /* allot_job_state */
    uint8_t dirty;
    uint32_t epoch;
    uint32_t cid; /* the job's id in the core (reused after it ends); CID_NONE */
    json_t *spec;
    int devices, milli, gang, priority, preemptible, chip; /* chip index or -1 */
    int64_t cpu, mem, time_limit;
    double submit_time, start_time, launch_time, end_time, t_in;
    int has_exit, exit_code;
    char *reason;
    srv_task *tasks; /* gang entries while running */
    /* a replica of an inference service (services.c); NULL for other jobs */
    char *service;
    int replica;           /* the replica's index in its service */
    float kill_grace;      /* > 0: seconds the agent waits between SIGTERM and
                              SIGKILL when this job is stopped (a replica's drain) */
    allot_chip_mask chips; /* != 0: the chip types it may use (overrides chip) */
    struct srv_jev *ev;    /* its last events (jobev.c), NULL until one */
    uint8_t nev, cev;
} srv_job;

typedef struct srv_ref {
    uint32_t job, epoch;
    uint16_t task;
    const char *why;
    float grace; /* kills: > 0 overrides the agent's grace (s) */
} srv_ref;

typedef struct srv_node {
    char name[64], chip[64], zone[64], block[64], rack[64];
    int ndev, up, simulated, dirty;
    uint32_t ntasks; /* tasks of running jobs placed here */
    int woke;        /* in the wake list */
    int draining;    /* keeps its tasks, takes nothing new */
    int64_t cpu, mem;
    json_t *gpus;
    double last_seen;
    srv_req *poll;
    srv_ref *assign, *kill;
    size_t nassign, cassign, nkill, ckill;
} srv_node;

typedef struct srv_tenant {
    char name[64];
    double weight;
    int nquota;
    char quota_chip[16][64];
    int quota_devices[16];
    int64_t borrow_limit; /* devices, < 0 unlimited */
    int dirty;
} srv_tenant;

typedef struct simtask {
    uint32_t job, epoch;
    uint16_t task;
    double end;
} simtask;

#define NB_LAT 16
static const double lat_bounds[NB_LAT] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                                          0.2,    0.5,   1,     2,     5,    10,   30,   60};
typedef struct hist {
    uint64_t b[NB_LAT + 1];
    uint64_t n;
    double sum;
} hist;

static inline void hist_add(hist *h, double v)
{
    int i = 0;
    while (i < NB_LAT && v > lat_bounds[i]) i++;
    h->b[i]++;
    h->n++;
    h->sum += v;
}

struct srv_state {
    allot_server_config cfg;
    allot_store *store;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_req *qhead, *qtail;
    int stopping, started, stopped, joined;
    /* the core */
    allot_cluster *c;
    allot_sched *s;
    allot_decisions dec;
    allot_tenant *ctenants;
    int policy, placement;
    /* the model */
    srv_job **jobs;
    uint32_t jobs_cap, next_id;
    uint64_t count[5];
    srv_node *nodes;
    uint32_t nnodes, nodes_cap;
    char chips[ALLOT_MAX_CHIP_TYPES][64];
    int nchips;
    srv_tenant *tenants;
    int ntenants;
    int need_rebuild;
    const char *stop_why; /* reason for STOP decisions being applied */
    char why_buf[160];
    simtask *sim;
    size_t nsim, csim;
    /* the batch */
    uint32_t *dirty;
    size_t ndirty, cdirty;
    srv_req **done;
    size_t ndone, cdone;
    int writes;
    double now, last_house, last_tick, last_scan, last_nodes;
    double rebuild_after; /* monotonic: rebuilds wait while nodes keep registering */
    uint32_t *wake;       /* nodes with new work for their poll */
    size_t nwake, cwake;
    /* metrics */
    uint64_t submissions, decisions, commits, requeues, expired;
    /* core ids: live jobs only, so that the core's memory follows them */
    uint32_t *cid_job; /* core id -> job id (0: free) */
    uint32_t cid_cap, next_cid;
    uint32_t *cid_free;
    uint32_t *gone; /* expired jobs to delete from the store */
    size_t ngone, gone_cap;
    size_t ncid_free, cid_free_cap;
    hist lat_sched, lat_commit, batch;
    struct srv_svcs *svcs; /* inference services (services.c) */
    struct srv_dash *dash; /* the dashboard's history rings (dash.c) */
};

void st_do_events(srv_state *st, srv_req *r);
int st_do_poll(srv_state *st, srv_req *r);
void st_do_register(srv_state *st, srv_req *r);
void st_node_wake(srv_state *st, uint32_t i);
void st_poll_reply(srv_state *st, uint32_t i, srv_req *r);
void st_task_exit(srv_state *st, srv_job *j, int t, int code, int sig, const char *msg,
                  uint32_t node);
int st_chip_index(srv_state *st, const char *name);
int st_core_event(srv_state *st, allot_event *ev);
int st_grow(void **v, size_t *cap, size_t need, size_t el);
void st_job_desc(srv_state *st, const srv_job *j, allot_job *d);
void st_job_dirty(srv_state *st, srv_job *j);
void st_job_drop_tasks(srv_state *st, srv_job *j);
void st_job_end(srv_state *st, srv_job *j, int state, const char *why);
void st_job_free(srv_job *j);
srv_job *st_job_get(srv_state *st, uint32_t id);
json_t *st_job_json(srv_state *st, const srv_job *j);
void st_job_kill_tasks(srv_state *st, srv_job *j, const char *why);
void st_job_reason(srv_job *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
json_t *st_job_record(const srv_job *j);
void st_job_set_state(srv_state *st, srv_job *j, int state);
void st_job_started_all(srv_job *j);
void st_job_take_spec(srv_job *j, srv_spec *sp, int chip);
void st_logf_(srv_state *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
double st_mono_now(void);
void st_node_push(srv_state *st, uint32_t i, int kill, uint32_t job, uint16_t task, uint32_t epoch,
                  const char *why);
int st_rebuild(srv_state *st);
void st_sim_add(srv_state *st, srv_job *j, int t);
const char *st_state_name(int st);
int st_tenant_add(srv_state *st, const char *name);
int st_tenant_index(srv_state *st, const char *name);
json_t *st_time_or_null(double t);
double st_wall_now(void);
int st_flush(srv_state *st);
int st_rec_job(void *arg, uint32_t id, const char *tenant, int state, const char *spec);
int st_rec_node(void *arg, const char *name, int state, const char *spec);
int st_rec_task(void *arg, uint32_t job, uint32_t task, const char *node, uint64_t devs);
int st_rec_tenant(void *arg, const char *name, const char *spec);
void st_finish(srv_state *st, srv_req *r);
int st_handle(srv_state *st, srv_req *r);
int st_node_find(srv_state *st, const char *name);
json_t *st_node_json(srv_state *st, uint32_t i, json_t *jobs);

/* A new pending job from a validated submission (takes its document) for
 * tenant ti (chip index or -1), in the job table but not yet in the core.
 * Returns 0 with *out, or an HTTP status with a message in err. */
int st_job_new(srv_state *st, srv_spec *sp, int ti, int chip, double t_in, srv_job **out, char *err,
               size_t errlen);
/* Queues a job made by st_job_new in the core. On a refusal the job is
 * dropped (freed, never stored) and the HTTP status returned (422: it can
 * never run on this fleet) with a message in err. */
int st_job_submit(srv_state *st, srv_job *j, char *err, size_t errlen);

/* ---- inference services (services.c) ---- */
/* Recovers the services from the store and starts the scraper (at start,
 * after the jobs are loaded). */
int st_svc_start(srv_state *st, allot_diag *d);
void st_svc_free(srv_state *st);
/* The /v1/services requests. */
void st_svc_handle(srv_state *st, srv_req *r);
/* Every loop of the state thread: scraped samples in, autoscaling steps. */
void st_svc_tick(srv_state *st);
/* Writes the changed services in the batch. */
int st_svc_flush(srv_state *st);
/* Per-service series for /metrics. */
void st_svc_metrics(srv_state *st, srv_buf *b);
/* A task of a replica ended: returns 1 when the service took care of it
 * (a drained replica ends as cancelled, not failed). */
int st_svc_task_exit(srv_state *st, srv_job *j, int code, int sig);
/* ---- the dashboard (dash.c, jobev.c) ---- */
/* Samples the fleet into the history rings when one is due. */
void st_dash_tick(srv_state *st);
void st_dash_free(srv_state *st);
void st_dash_handle(srv_state *st, srv_req *r);
/* Records a job's state change old -> j->state as an event (reason: j->reason). */
void st_jev_state(srv_state *st, srv_job *j, int old);
/* Records that every task of the job's current epoch is placed. */
void st_jev_placed(srv_state *st, srv_job *j);
json_t *st_jev_json(const srv_job *j);   /* submitted, then the recorded ones */
json_t *st_jev_record(const srv_job *j); /* for the store; NULL when none */
void st_jev_load(srv_job *j, json_t *events);
void st_jev_free(srv_job *j);

/* The job's core id, taken when it has none (0 on success). */
int st_cid_take(srv_state *st, srv_job *j);
/* Gives a finished job's core id back (FORGET in the core). */
void st_cid_release(srv_state *st, srv_job *j);
/* The job a core id stands for, or NULL. */
srv_job *st_job_by_cid(srv_state *st, uint32_t cid);

#endif
