/* src/server/state.c - the state thread: it owns the scheduler core, the
 * job table, the node registry, the tenants and the store. HTTP threads
 * post requests (srv_state_post); the thread takes everything queued,
 * applies it, commits one batch to SQLite (group commit), and only then
 * hands the replies back (srv_http_done). Decisions are thus durable before
 * an agent hears of them.
 *
 * The core's cluster is frozen once built, so a change of the node registry
 * (a new node, a changed inventory, new tenants) rebuilds the core: running
 * jobs are RESTOREd on their devices, pending ones submitted again in id
 * order. Restarts recover the same way from the store.
 *
 * Agents are told what to run by level: each poll reports the tasks an
 * agent runs; anything not wanted (cancelled, requeued, another epoch) is
 * killed, and assignments are delivered once per (job, task, epoch). A task
 * delivered but neither reported nor started within node_timeout is lost:
 * its job is requeued.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "allot/cluster.h"
#include "allot/sched.h"
#include "allot/store.h"
#include "server_int.h"

enum { T_ASSIGNED = 0, T_SENT, T_STARTED, T_EXITED };

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
    json_t *spec;
    int devices, milli, gang, priority, preemptible, chip; /* chip index or -1 */
    int64_t cpu, mem, time_limit;
    double submit_time, start_time, launch_time, end_time, t_in;
    int has_exit, exit_code;
    char *reason;
    srv_task *tasks; /* gang entries while running */
} srv_job;

typedef struct srv_ref {
    uint32_t job, epoch;
    uint16_t task;
    const char *why;
} srv_ref;

typedef struct srv_node {
    char name[64], chip[64], zone[64], block[64], rack[64];
    int ndev, up, simulated, dirty, seen; /* seen: polled or registered since start */
    uint32_t ntasks;                      /* tasks of running jobs placed here */
    int woke;                             /* in the wake list */
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

static void hist_add(hist *h, double v)
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
    uint64_t submissions, decisions, commits, requeues;
    hist lat_sched, lat_commit, batch;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *state_name(int st)
{
    static const char *n[] = {"pending", "running", "succeeded", "failed", "cancelled"};
    return st >= 0 && st < 5 ? n[st] : "unknown";
}

static int grow(void **v, size_t *cap, size_t need, size_t el)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *p = realloc(*v, c * el);
    if (!p) return -1;
    *v = p;
    *cap = c;
    return 0;
}

static void logf_(srv_state *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void logf_(srv_state *st, const char *fmt, ...)
{
    if (st->cfg.quiet) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "allot server: %s\n", msg);
}

/* ---- jobs ----------------------------------------------------------------------------------- */

static srv_job *job_get(srv_state *st, uint32_t id)
{
    return id < st->jobs_cap ? st->jobs[id] : NULL;
}

static void job_dirty(srv_state *st, srv_job *j)
{
    if (j->dirty) return;
    if (grow((void **)&st->dirty, &st->cdirty, st->ndirty + 1, sizeof *st->dirty)) return;
    j->dirty = 1;
    st->dirty[st->ndirty++] = j->id;
}

static void job_set_state(srv_state *st, srv_job *j, int state)
{
    st->count[j->state]--;
    j->state = (uint8_t)state;
    st->count[state]++;
    job_dirty(st, j);
}

static void job_reason(srv_job *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void job_reason(srv_job *j, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(j->reason);
    j->reason = strdup(msg);
}

/* Takes a validated submission's fields (and its document) into j. */
static void job_take_spec(srv_job *j, srv_spec *sp, int chip)
{
    j->spec = sp->doc;
    sp->doc = NULL;
    j->devices = sp->devices;
    j->milli = sp->milli;
    j->gang = sp->gang;
    j->priority = sp->priority;
    j->preemptible = sp->preemptible;
    j->chip = chip;
    j->cpu = sp->cpu;
    j->mem = sp->mem;
    j->time_limit = sp->time_limit;
}

static void job_free(srv_job *j)
{
    if (!j) return;
    json_decref(j->spec);
    free(j->reason);
    free(j->tasks);
    free(j);
}

static int chip_index(srv_state *st, const char *name)
{
    for (int i = 0; i < st->nchips; i++)
        if (strcasecmp(st->chips[i], name) == 0) return i;
    return -1;
}

static int tenant_index(srv_state *st, const char *name)
{
    for (int i = 0; i < st->ntenants; i++)
        if (strcmp(st->tenants[i].name, name) == 0) return i;
    return -1;
}

static int tenant_add(srv_state *st, const char *name)
{
    int i = tenant_index(st, name);
    if (i >= 0) return i;
    if (st->ntenants >= ALLOT_SERVER_MAX_TENANTS) return -1;
    srv_tenant *t = &st->tenants[st->ntenants];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->weight = 1;
    t->borrow_limit = -1;
    t->dirty = 1;
    st->writes++;
    return st->ntenants++;
}

static void job_desc(srv_state *st, const srv_job *j, allot_job *d)
{
    memset(d, 0, sizeof *d);
    d->shape.cpu = j->cpu;
    d->shape.mem = j->mem;
    d->shape.ndev = j->devices;
    d->shape.milli = j->devices ? j->milli : 0;
    d->shape.chips = j->chip >= 0 ? (allot_chip_mask)1 << j->chip : 0;
    d->submit = (int64_t)j->submit_time;
    d->duration = j->time_limit ? j->time_limit : ALLOT_TIME_NONE;
    d->ntasks = (uint32_t)j->gang;
    d->tenant = st->ctenants ? j->tenant : 0;
    d->priority = (int16_t)j->priority;
    d->flags = j->preemptible ? ALLOT_JOBF_PREEMPTIBLE : 0;
}

static json_t *job_record(const srv_job *j)
{
    json_t *o = json_pack("{s:O,s:f,s:i}", "spec", j->spec, "submit_time", j->submit_time, "epoch",
                          (json_int_t)j->epoch);
    if (j->start_time > 0) json_object_set_new(o, "start_time", json_real(j->start_time));
    if (j->launch_time > 0) json_object_set_new(o, "launch_time", json_real(j->launch_time));
    if (j->end_time > 0) json_object_set_new(o, "end_time", json_real(j->end_time));
    if (j->has_exit) json_object_set_new(o, "exit_code", json_integer(j->exit_code));
    if (j->reason) json_object_set_new(o, "reason", json_string(j->reason));
    return o;
}

static json_t *time_or_null(double t) { return t > 0 ? json_real(t) : json_null(); }

static json_t *job_json(srv_state *st, const srv_job *j)
{
    json_t *o = json_object();
    char nm[32];
    const char *name = json_string_value(json_object_get(j->spec, "name"));
    if (!name) {
        snprintf(nm, sizeof nm, "job-%" PRIu32, j->id);
        name = nm;
    }
    json_object_set_new(o, "id", json_integer(j->id));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "tenant", json_string(st->tenants[j->tenant].name));
    json_object_set_new(o, "state", json_string(state_name(j->state)));
    json_object_set(o, "command", json_object_get(j->spec, "command"));
    json_object_set(o, "env", json_object_get(j->spec, "env"));
    json_t *wd = json_object_get(j->spec, "workdir");
    json_object_set_new(o, "workdir", wd ? json_incref(wd) : json_null());
    json_object_set_new(o, "devices", json_integer(j->devices));
    json_object_set_new(o, "milli", json_integer(j->milli));
    json_object_set_new(o, "chip", j->chip >= 0 ? json_string(st->chips[j->chip]) : json_null());
    json_object_set_new(o, "gang_size", json_integer(j->gang));
    json_object_set_new(o, "cpu", json_integer(j->cpu));
    json_object_set_new(o, "mem", json_integer(j->mem));
    json_object_set_new(o, "priority", json_integer(j->priority));
    json_object_set_new(o, "preemptible", json_boolean(j->preemptible));
    json_object_set_new(o, "time_limit", j->time_limit ? json_integer(j->time_limit) : json_null());
    json_object_set_new(o, "submit_time", json_real(j->submit_time));
    json_object_set_new(o, "start_time", time_or_null(j->start_time));
    json_object_set_new(o, "launch_time", time_or_null(j->launch_time));
    json_object_set_new(o, "end_time", time_or_null(j->end_time));
    json_object_set_new(o, "exit_code", j->has_exit ? json_integer(j->exit_code) : json_null());
    json_object_set_new(o, "reason", json_string(j->reason ? j->reason : ""));
    json_object_set_new(o, "epoch", json_integer(j->epoch));
    json_t *ts = json_array();
    if (j->tasks && j->state == ALLOT_JOB_RUNNING) {
        static const char *tn[] = {"assigned", "sent", "running", "exited"};
        for (int t = 0; t < j->gang; t++) {
            const srv_task *k = &j->tasks[t];
            json_t *dv = json_array();
            for (uint64_t m = k->devs; m; m &= m - 1)
                json_array_append_new(dv, json_integer(__builtin_ctzll(m)));
            json_array_append_new(
                ts, json_pack("{s:i,s:s,s:o,s:s,s:o}", "task", t, "node",
                              k->node < st->nnodes ? st->nodes[k->node].name : "?", "devices", dv,
                              "state", tn[k->st], "exit_code",
                              k->st == T_EXITED ? json_integer(k->code) : json_null()));
        }
    }
    json_object_set_new(o, "tasks", ts);
    return o;
}

/* Forgets a job's placement, keeping the per-node task counts right. */
static void job_drop_tasks(srv_state *st, srv_job *j)
{
    if (!j->tasks) return;
    for (int t = 0; t < j->gang; t++)
        if (j->tasks[t].node < st->nnodes && st->nodes[j->tasks[t].node].ntasks > 0)
            st->nodes[j->tasks[t].node].ntasks--;
    free(j->tasks);
    j->tasks = NULL;
}

/* ---- agents' work lists ---------------------------------------------------------------------- */

static void node_push(srv_state *st, uint32_t i, int kill, uint32_t job, uint16_t task,
                      uint32_t epoch, const char *why)
{
    srv_node *n = &st->nodes[i];
    srv_ref **v = kill ? &n->kill : &n->assign;
    size_t *cnt = kill ? &n->nkill : &n->nassign, *cap = kill ? &n->ckill : &n->cassign;
    if (grow((void **)v, cap, *cnt + 1, sizeof **v)) return;
    (*v)[(*cnt)++] = (srv_ref){job, epoch, task, why};
    if (!n->woke && grow((void **)&st->wake, &st->cwake, st->nwake + 1, sizeof *st->wake) == 0) {
        n->woke = 1;
        st->wake[st->nwake++] = i;
    }
}

/* Tells the agents of a job's tasks to stop them (the job is no longer
 * running with this epoch). */
static void job_kill_tasks(srv_state *st, srv_job *j, const char *why)
{
    if (!j->tasks) return;
    for (int t = 0; t < j->gang; t++) {
        srv_task *k = &j->tasks[t];
        if (k->node >= st->nnodes || k->st == T_EXITED || k->st == T_ASSIGNED) continue;
        srv_node *n = &st->nodes[k->node];
        if (n->simulated) continue;
        node_push(st, k->node, 1, j->id, (uint16_t)t, j->epoch, why);
    }
}

static void job_end(srv_state *st, srv_job *j, int state, const char *why)
{
    job_kill_tasks(st, j, why);
    job_drop_tasks(st, j);
    j->end_time = st->now;
    job_set_state(st, j, state);
}

/* ---- the core ------------------------------------------------------------------------------ */

static void sim_add(srv_state *st, srv_job *j, int t)
{
    double dur = 1;
    const char *e =
        json_string_value(json_object_get(json_object_get(j->spec, "env"), "ALLOT_SIM_DURATION"));
    json_t *cmd = json_object_get(j->spec, "command");
    const char *c0 = json_string_value(json_array_get(cmd, 0));
    const char *c1 = json_string_value(json_array_get(cmd, 1));
    if (e)
        dur = atof(e);
    else if (c0 && c1 && (strcmp(c0, "sleep") == 0 || strcmp(c0, "/bin/sleep") == 0))
        dur = atof(c1);
    if (!(dur >= 0)) dur = 1;
    if (grow((void **)&st->sim, &st->csim, st->nsim + 1, sizeof *st->sim)) return;
    st->sim[st->nsim++] = (simtask){j->id, j->epoch, (uint16_t)t, st->now + dur};
    j->tasks[t].st = T_STARTED;
    j->tasks[t].launch = st->now;
}

static void job_started_all(srv_job *j)
{
    double last = 0;
    for (int t = 0; t < j->gang; t++) {
        if (j->tasks[t].st < T_STARTED) return;
        if (j->tasks[t].launch > last) last = j->tasks[t].launch;
    }
    if (j->launch_time <= 0) j->launch_time = last;
}

/* Applies the decisions in st->dec to the model. */
static void apply_decisions(srv_state *st)
{
    for (size_t i = 0; i < st->dec.n; i++) {
        const allot_decision *d = &st->dec.v[i];
        srv_job *j = job_get(st, d->job);
        if (!j) continue;
        switch (d->kind) {
        case ALLOT_DEC_START:
        case ALLOT_DEC_GROW:
            if (d->task == 0 || !j->tasks) {
                if (j->state != ALLOT_JOB_RUNNING) {
                    j->epoch++;
                    j->start_time = st->now;
                    j->launch_time = 0;
                    job_drop_tasks(st, j);
                    j->tasks = calloc((size_t)j->gang, sizeof *j->tasks);
                    for (int x = 0; j->tasks && x < j->gang; x++) j->tasks[x].node = UINT32_MAX;
                    job_set_state(st, j, ALLOT_JOB_RUNNING);
                    if (j->epoch == 1 && j->t_in > 0)
                        hist_add(&st->lat_sched, mono_now() - j->t_in);
                }
            }
            if (j->tasks && d->task < j->gang) {
                srv_task *k = &j->tasks[d->task];
                if (k->node < st->nnodes && st->nodes[k->node].ntasks > 0)
                    st->nodes[k->node].ntasks--;
                k->node = d->node;
                st->nodes[d->node].ntasks++;
                k->devs = 0;
                for (int x = 0; x < d->ndev; x++) k->devs |= 1ull << d->devs[x];
                k->st = T_ASSIGNED;
                srv_node *n = &st->nodes[d->node];
                if (n->simulated)
                    sim_add(st, j, d->task);
                else
                    node_push(st, d->node, 0, j->id, d->task, j->epoch, NULL);
                if (d->task == j->gang - 1 && n->simulated) job_started_all(j);
            }
            st->decisions++;
            break;
        case ALLOT_DEC_FAIL:
            if (j->state == ALLOT_JOB_PENDING) {
                job_reason(j, "can never run on this fleet");
                job_end(st, j, ALLOT_JOB_FAILED, "failed");
            }
            break;
        case ALLOT_DEC_STOP:
        case ALLOT_DEC_PREEMPT:
            if (j->state != ALLOT_JOB_RUNNING) break;
            if (d->kind == ALLOT_DEC_PREEMPT)
                job_reason(j, "preempted");
            else
                job_reason(j, "%s", st->stop_why ? st->stop_why : "stopped");
            job_kill_tasks(st, j, d->kind == ALLOT_DEC_PREEMPT ? "preempted" : "requeued");
            job_drop_tasks(st, j);
            st->requeues++;
            job_set_state(st, j, ALLOT_JOB_PENDING);
            break;
        default: break;
        }
    }
    allot_decisions_clear(&st->dec);
}

static int core_event(srv_state *st, allot_event *ev)
{
    ev->time = (int64_t)st->now;
    if (!st->s) return ALLOT_ESTATE;
    int rc = allot_sched_handle(st->s, ev, &st->dec);
    apply_decisions(st);
    return rc;
}

static void build_tenants(srv_state *st, allot_sched_config *cfg)
{
    int any = allot_sched_policy_wants_tenants((allot_sched_policy)st->policy);
    for (int i = 0; i < st->ntenants; i++)
        any |= st->tenants[i].nquota > 0 || st->tenants[i].borrow_limit >= 0;
    free(st->ctenants);
    st->ctenants = NULL;
    if (!any) return;
    st->ctenants = calloc((size_t)st->ntenants, sizeof *st->ctenants);
    if (!st->ctenants) return;
    for (int i = 0; i < st->ntenants; i++) {
        const srv_tenant *t = &st->tenants[i];
        allot_tenant *c = &st->ctenants[i];
        snprintf(c->name, sizeof c->name, "%s", t->name);
        c->weight = t->weight;
        for (int q = 0; q < t->nquota; q++) {
            int k = chip_index(st, t->quota_chip[q]);
            if (k >= 0) c->quota[k] = (int64_t)t->quota_devices[q] * 1000;
        }
        c->borrow_limit = t->borrow_limit < 0 ? INT64_MAX / 4 : t->borrow_limit * 1000;
    }
    cfg->tenants = st->ctenants;
    cfg->ntenants = (size_t)st->ntenants;
}

/* Builds the cluster and the core from the registry and puts every job back:
 * running ones on their devices, pending ones in the queue. */
static int rebuild(srv_state *st)
{
    st->need_rebuild = 0;
    allot_sched_free(st->s);
    allot_cluster_free(st->c);
    st->s = NULL;
    st->c = NULL;
    if (st->nnodes == 0) return 0;
    allot_cluster *c = allot_cluster_new("fleet");
    if (!c) return ALLOT_ENOMEM;
    for (int i = 0; i < st->nchips; i++) allot_cluster_chip_id(c, st->chips[i]);
    for (uint32_t i = 0; i < st->nnodes; i++) {
        srv_node *n = &st->nodes[i];
        int r = allot_cluster_rack(c, n->zone, n->block, n->rack);
        int id = r < 0 ? r
                       : allot_cluster_add_node(c, n->name, n->ndev ? n->chip : NULL, n->ndev,
                                                n->cpu, n->mem, (uint32_t)r);
        if (id != (int)i) {
            allot_cluster_free(c);
            return id < 0 ? id : ALLOT_EINVARIANT;
        }
    }
    int rc = allot_cluster_finalize(c);
    allot_sched_config cfg;
    allot_sched_config_init(&cfg);
    allot_sched_policy_apply((allot_sched_policy)st->policy, &cfg);
    cfg.policy = (allot_policy)st->placement;
    cfg.nofit = ALLOT_NOFIT_QUEUE;
    build_tenants(st, &cfg);
    if (rc == 0) rc = allot_sched_new(&st->s, c, &cfg);
    if (rc) {
        allot_cluster_free(c);
        return rc;
    }
    st->c = c;
    for (uint32_t i = 0; i < st->nnodes; i++)
        if (!st->nodes[i].up) {
            allot_event ev = {.kind = ALLOT_EV_NODE_DOWN, .node = i};
            core_event(st, &ev);
        }
    allot_decision *pl = NULL;
    size_t cpl = 0;
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = job_get(st, id);
        if (!j || j->state != ALLOT_JOB_RUNNING) continue;
        int ok = j->tasks != NULL && grow((void **)&pl, &cpl, (size_t)j->gang, sizeof *pl) == 0;
        for (int t = 0; ok && t < j->gang; t++) {
            memset(&pl[t], 0, sizeof pl[t]);
            pl[t].node = j->tasks[t].node;
            int nd = 0;
            for (uint64_t m = j->tasks[t].devs; m; m &= m - 1)
                pl[t].devs[nd++] = (uint8_t)__builtin_ctzll(m);
            pl[t].ndev = (uint8_t)nd;
            ok = pl[t].node < st->nnodes;
        }
        allot_job d;
        job_desc(st, j, &d);
        allot_event ev = {.kind = ALLOT_EV_RESTORE, .job = id, .desc = &d, .placed = pl};
        if (ok) {
            ev.time = (int64_t)(j->start_time > 0 ? j->start_time : st->now);
            ok = allot_sched_handle(st->s, &ev, &st->dec) == 0;
            apply_decisions(st);
        }
        if (!ok) { /* its devices are gone: it waits again */
            job_kill_tasks(st, j, "requeued");
            job_drop_tasks(st, j);
            job_reason(j, "requeued: its placement was lost");
            job_set_state(st, j, ALLOT_JOB_PENDING);
        }
    }
    free(pl);
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = job_get(st, id);
        if (!j || j->state != ALLOT_JOB_PENDING) continue;
        allot_job d;
        job_desc(st, j, &d);
        allot_event ev = {.kind = ALLOT_EV_SUBMIT, .job = id, .desc = &d};
        ev.time = (int64_t)j->submit_time;
        rc = allot_sched_handle(st->s, &ev, &st->dec);
        apply_decisions(st);
        if (rc) {
            job_reason(j, "cannot be queued: %s", allot_strerror(rc));
            job_end(st, j, ALLOT_JOB_FAILED, "failed");
        }
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------------------- */

static void finish(srv_state *st, srv_req *r)
{
    if (grow((void **)&st->done, &st->cdone, st->ndone + 1, sizeof *st->done)) {
        srv_http_done(r); /* out of memory: reply before the commit rather than never */
        return;
    }
    st->done[st->ndone++] = r;
}

static int may_see(const srv_req *r, const srv_state *st, const srv_job *j)
{
    if (r->role != ROLE_TENANT) return 1;
    return strcmp(st->cfg.tenants[r->tenant].name, st->tenants[j->tenant].name) == 0;
}

static const char *req_tenant_name(const srv_state *st, const srv_req *r)
{
    return r->role == ROLE_TENANT ? st->cfg.tenants[r->tenant].name : NULL;
}

static void do_submit(srv_state *st, srv_req *r)
{
    srv_spec *sp = &r->spec;
    const char *own = req_tenant_name(st, r);
    if (own && sp->tenant[0] && strcmp(sp->tenant, own) != 0) {
        srv_reply_error(r, 403, "forbidden", "this token submits for tenant %s only", own);
        return;
    }
    const char *tname = own ? own : sp->tenant[0] ? sp->tenant : "default";
    int chip = -1;
    if (sp->chip[0]) {
        chip = chip_index(st, sp->chip);
        if (chip < 0) {
            srv_reply_error(r, 422, "unschedulable", "chip: no registered node has chip type %s",
                            sp->chip);
            return;
        }
    }
    if (!st->s) {
        srv_reply_error(r, 422, "unschedulable", "no node is registered yet");
        return;
    }
    int ti = tenant_add(st, tname);
    if (ti < 0) {
        srv_reply_error(r, 400, "bad_request", "tenant: more than %d tenants",
                        ALLOT_SERVER_MAX_TENANTS);
        return;
    }
    if (st->tenants[ti].dirty && st->ctenants) st->need_rebuild = 1; /* a new tenant */
    if (st->next_id + 1 > st->jobs_cap) {
        size_t cap = st->jobs_cap ? st->jobs_cap : 16;
        while (cap < st->next_id + 1) cap *= 2;
        srv_job **v = realloc(st->jobs, cap * sizeof *v);
        if (!v) {
            srv_reply_error(r, 503, "unavailable", "out of memory");
            return;
        }
        memset(v + st->jobs_cap, 0, (cap - st->jobs_cap) * sizeof *v);
        st->jobs = v;
        st->jobs_cap = (uint32_t)cap;
    }
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        srv_reply_error(r, 503, "unavailable", "out of memory");
        return;
    }
    uint32_t id = st->next_id++;
    j->id = id;
    j->tenant = (uint16_t)ti;
    job_take_spec(j, sp, chip);
    json_object_set_new(j->spec, "tenant", json_string(tname));
    j->submit_time = st->now;
    j->t_in = r->t_in;
    j->state = ALLOT_JOB_PENDING;
    st->count[ALLOT_JOB_PENDING]++;
    st->jobs[id] = j;
    allot_job d;
    job_desc(st, j, &d);
    allot_event ev = {.kind = ALLOT_EV_SUBMIT, .job = id, .desc = &d};
    int rc = core_event(st, &ev);
    if (rc || j->state == ALLOT_JOB_FAILED) {
        /* never accepted: not stored, the id is not reused */
        st->count[j->state]--;
        st->jobs[id] = NULL;
        if (j->dirty) j->dirty = 0; /* the dirty list skips missing jobs */
        job_free(j);
        if (rc)
            srv_reply_error(r, rc == ALLOT_EINVAL ? 400 : 500,
                            rc == ALLOT_EINVAL ? "bad_request" : "internal",
                            "the scheduler refused the job: %s", allot_strerror(rc));
        else
            srv_reply_error(r, 422, "unschedulable",
                            "the job can never run on this fleet (too many devices or tasks for "
                            "any node set, or beyond its tenant's quota and borrowing limit)");
        return;
    }
    st->submissions++;
    job_dirty(st, j);
    snprintf(r->location, sizeof r->location, "/v1/jobs/%" PRIu32, id);
    srv_reply_json(r, 201, job_json(st, j));
}

static void do_jobs(srv_state *st, srv_req *r)
{
    json_t *arr = json_array();
    int want = -1;
    if (r->q_state[0]) {
        for (int k = 0; k < 5; k++)
            if (strcmp(r->q_state, state_name(k)) == 0) want = k;
        if (want < 0) {
            json_decref(arr);
            srv_reply_error(r, 400, "bad_request",
                            "state: one of pending, running, succeeded, failed, cancelled");
            return;
        }
    }
    if (r->q_tenant[0] && r->role == ROLE_TENANT && strcmp(r->q_tenant, req_tenant_name(st, r)))
        return srv_reply_json(r, 200, json_pack("{s:o}", "jobs", arr));
    int n = 0;
    for (uint32_t id = 1; id < st->next_id && n < r->q_limit; id++) {
        srv_job *j = job_get(st, id);
        if (!j || !may_see(r, st, j)) continue;
        if (want >= 0 ? j->state != want : (!r->q_all && j->state > ALLOT_JOB_RUNNING)) continue;
        if (r->q_tenant[0] && strcmp(st->tenants[j->tenant].name, r->q_tenant) != 0) continue;
        json_array_append_new(arr, job_json(st, j));
        n++;
    }
    srv_reply_json(r, 200, json_pack("{s:o}", "jobs", arr));
}

static srv_job *visible_job(srv_state *st, srv_req *r)
{
    srv_job *j = job_get(st, r->id);
    if (!j || !may_see(r, st, j)) {
        srv_reply_error(r, 404, "not_found", "no job %" PRIu32, r->id);
        return NULL;
    }
    return j;
}

static void do_cancel(srv_state *st, srv_req *r)
{
    srv_job *j = visible_job(st, r);
    if (!j) return;
    if (j->state > ALLOT_JOB_RUNNING) {
        srv_reply_error(r, 409, "conflict", "job %" PRIu32 " has already %s", j->id,
                        j->state == ALLOT_JOB_SUCCEEDED ? "succeeded" : state_name(j->state));
        return;
    }
    allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = j->id};
    int rc = core_event(st, &ev);
    if (rc && rc != ALLOT_ESTATE) {
        srv_reply_error(r, 500, "internal", "cancel: %s", allot_strerror(rc));
        return;
    }
    job_reason(j, "cancelled by %s", r->role == ROLE_TENANT ? req_tenant_name(st, r) : "admin");
    job_end(st, j, ALLOT_JOB_CANCELLED, "cancelled");
    logf_(st, "job %" PRIu32 " cancelled", j->id);
    srv_reply_json(r, 200, job_json(st, j));
}

static void do_job_logs(srv_state *st, srv_req *r)
{
    srv_job *j = visible_job(st, r);
    if (!j) return;
    if (r->q_task < 0 || r->q_task >= j->gang) {
        srv_reply_error(r, 400, "bad_request", "task: job %" PRIu32 " has tasks 0..%d", j->id,
                        j->gang - 1);
        return;
    }
    snprintf(r->log_path, sizeof r->log_path, "%s/logs/%" PRIu32 "/%" PRIu32 ".%d.%s", st->cfg.data,
             j->id, j->epoch, r->q_task, r->q_stderr ? "stderr" : "stdout");
    int terminal = j->state > ALLOT_JOB_RUNNING;
    r->log_done = terminal && (j->epoch == 0 || st->now - j->end_time > 10);
    r->status = 200;
}

/* The ids of the running jobs with a task on each node: one pass. */
static json_t **node_jobs(srv_state *st)
{
    json_t **v = calloc(st->nnodes ? st->nnodes : 1, sizeof *v);
    if (!v) return NULL;
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = job_get(st, id);
        if (!j || j->state != ALLOT_JOB_RUNNING || !j->tasks) continue;
        for (int t = 0; t < j->gang; t++) {
            uint32_t nd = j->tasks[t].node;
            if (nd >= st->nnodes) continue;
            if (!v[nd]) v[nd] = json_array();
            size_t k = json_array_size(v[nd]);
            if (k && json_integer_value(json_array_get(v[nd], k - 1)) == id) continue;
            json_array_append_new(v[nd], json_integer(id));
        }
    }
    return v;
}

static json_t *node_json(srv_state *st, uint32_t i, json_t *jobs)
{
    srv_node *n = &st->nodes[i];
    int free_dev = n->ndev;
    if (st->c && i < allot_cluster_nnodes(st->c))
        free_dev = allot_cluster_node(st->c, i)->whole_free;
    if (!jobs) jobs = json_array();
    return json_pack("{s:s,s:s,s:s?,s:i,s:i,s:I,s:I,s:s,s:s,s:s,s:O?,s:o,s:b,s:o}", "name", n->name,
                     "state", n->up ? "up" : "down", "chip", n->ndev ? n->chip : NULL, "devices",
                     n->ndev, "devices_free", n->up ? free_dev : 0, "cpu", (json_int_t)n->cpu,
                     "mem", (json_int_t)n->mem, "zone", n->zone[0] ? n->zone : "zone-0", "block",
                     n->block[0] ? n->block : "block-0", "rack", n->rack[0] ? n->rack : "rack-0",
                     "gpus", n->gpus, "last_heartbeat", time_or_null(n->last_seen), "simulated",
                     n->simulated, "jobs", jobs);
}

static int node_find(srv_state *st, const char *name)
{
    for (uint32_t i = 0; i < st->nnodes; i++)
        if (strcmp(st->nodes[i].name, name) == 0) return (int)i;
    return -1;
}

static void do_nodes(srv_state *st, srv_req *r)
{
    if (r->kind == RQ_NODE) {
        int i = node_find(st, r->name);
        if (i < 0) return srv_reply_error(r, 404, "not_found", "no node %s", r->name);
    }
    json_t **nj = node_jobs(st);
    if (!nj) return srv_reply_error(r, 503, "unavailable", "out of memory");
    if (r->kind == RQ_NODE) {
        int i = node_find(st, r->name);
        json_t *one = node_json(st, (uint32_t)i, nj[i]);
        nj[i] = NULL;
        for (uint32_t k = 0; k < st->nnodes; k++) json_decref(nj[k]);
        free(nj);
        return srv_reply_json(r, 200, one);
    }
    json_t *arr = json_array();
    for (uint32_t i = 0; i < st->nnodes; i++) json_array_append_new(arr, node_json(st, i, nj[i]));
    free(nj);
    srv_reply_json(r, 200, json_pack("{s:o}", "nodes", arr));
}

/* Is (job, task, epoch) something node i should be running? */
static int wanted(srv_state *st, uint32_t i, uint32_t job, int task, uint32_t epoch)
{
    srv_job *j = job_get(st, job);
    return j && j->state == ALLOT_JOB_RUNNING && j->epoch == epoch && j->tasks && task >= 0 &&
           task < j->gang && j->tasks[task].node == i;
}

static int parse_ref(json_t *o, uint32_t *job, int *task, uint32_t *epoch)
{
    json_t *a = json_object_get(o, "job"), *b = json_object_get(o, "task"),
           *c = json_object_get(o, "epoch");
    if (!json_is_integer(a) || !json_is_integer(b) || !json_is_integer(c)) return -1;
    if (json_integer_value(a) < 0 || json_integer_value(a) > UINT32_MAX ||
        json_integer_value(b) < 0 || json_integer_value(b) > 65535 || json_integer_value(c) < 0 ||
        json_integer_value(c) > UINT32_MAX)
        return -1;
    *job = (uint32_t)json_integer_value(a);
    *task = (int)json_integer_value(b);
    *epoch = (uint32_t)json_integer_value(c);
    return 0;
}

/* Reads the agent's "running" list: marks started tasks, queues kills for
 * unwanted ones. Returns -1 on a malformed list. mark: which reported tasks
 * to remember (for lost-task detection on registration). */
static int take_running(srv_state *st, uint32_t i, json_t *running, char *err, size_t errlen)
{
    if (!running || json_is_null(running)) return 0;
    if (!json_is_array(running) || json_array_size(running) > 65536) {
        snprintf(err, errlen, "running: must be an array of {job, task, epoch}");
        return -1;
    }
    size_t k;
    json_t *o;
    json_array_foreach(running, k, o)
    {
        uint32_t job, epoch;
        int task;
        if (parse_ref(o, &job, &task, &epoch)) {
            snprintf(err, errlen, "running[%zu]: needs integer job, task and epoch", k);
            return -1;
        }
        if (wanted(st, i, job, task, epoch)) {
            srv_job *j = job_get(st, job);
            srv_task *t = &j->tasks[task];
            if (t->st < T_STARTED) {
                t->st = T_STARTED;
                t->launch = st->now;
                job_started_all(j);
            }
        } else {
            node_push(st, i, 1, job, (uint16_t)task, epoch, "not wanted");
        }
    }
    return 0;
}

static json_t *assign_json(srv_state *st, srv_job *j, int t)
{
    json_t *dv = json_array();
    for (uint64_t m = j->tasks[t].devs; m; m &= m - 1)
        json_array_append_new(dv, json_integer(__builtin_ctzll(m)));
    json_t *o =
        json_pack("{s:I,s:i,s:I,s:O,s:O,s:o,s:i,s:i,s:s,s:s}", "job", (json_int_t)j->id, "task", t,
                  "epoch", (json_int_t)j->epoch, "command", json_object_get(j->spec, "command"),
                  "env", json_object_get(j->spec, "env"), "devices", dv, "milli", j->milli,
                  "gang_size", j->gang, "tenant", st->tenants[j->tenant].name, "name",
                  json_string_value(json_object_get(j->spec, "name"))
                      ? json_string_value(json_object_get(j->spec, "name"))
                      : "");
    json_t *wd = json_object_get(j->spec, "workdir");
    if (wd) json_object_set(o, "workdir", wd);
    if (j->chip >= 0) json_object_set_new(o, "chip", json_string(st->chips[j->chip]));
    return o;
}

/* Answers node i's suspended poll (or r) with its assignments and kills. */
static void poll_reply(srv_state *st, uint32_t i, srv_req *r)
{
    srv_node *n = &st->nodes[i];
    json_t *as = json_array(), *ks = json_array();
    for (size_t k = 0; k < n->nassign; k++) {
        srv_ref *a = &n->assign[k];
        if (!wanted(st, i, a->job, a->task, a->epoch)) continue;
        srv_job *j = job_get(st, a->job);
        srv_task *t = &j->tasks[a->task];
        if (t->st != T_ASSIGNED) continue;
        t->st = T_SENT;
        t->sent = st->now;
        json_array_append_new(as, assign_json(st, j, a->task));
    }
    n->nassign = 0;
    for (size_t k = 0; k < n->nkill; k++) {
        srv_ref *a = &n->kill[k];
        json_array_append_new(ks, json_pack("{s:I,s:i,s:I,s:s}", "job", (json_int_t)a->job, "task",
                                            a->task, "epoch", (json_int_t)a->epoch, "reason",
                                            a->why ? a->why : "stop"));
    }
    n->nkill = 0;
    srv_reply_json(r, 200,
                   json_pack("{s:o,s:o,s:f}", "assign", as, "kill", ks, "heartbeat_interval",
                             st->cfg.heartbeat_interval));
    finish(st, r);
}

static void node_wake(srv_state *st, uint32_t i)
{
    srv_node *n = &st->nodes[i];
    if (n->poll && (n->nassign || n->nkill)) {
        srv_req *r = n->poll;
        n->poll = NULL;
        poll_reply(st, i, r);
    }
}

static int json_str(json_t *o, const char *k, char *dst, size_t cap, int required, char *err,
                    size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        if (required) snprintf(err, errlen, "%s: required", k);
        return required ? -1 : 0;
    }
    const char *s = json_string_value(v);
    const char *why = s ? allot_name_problem(s, strlen(s)) : "must be a string";
    if (why) {
        snprintf(err, errlen, "%s: %s", k, why);
        return -1;
    }
    snprintf(dst, cap, "%s", s);
    return 0;
}

static void do_register(srv_state *st, srv_req *r)
{
    static const char *known[] = {"name",  "chip", "devices", "cpu",     "mem",      "zone",
                                  "block", "rack", "gpus",    "running", "simulated"};
    char err[300] = "";
    json_t *b = r->body;
    srv_node nn;
    memset(&nn, 0, sizeof nn);
    const char *key;
    json_t *val;
    if (!json_is_object(b))
        return srv_reply_error(r, 400, "bad_request", "the body must be an object");
    json_object_foreach(b, key, val)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key)) i++;
        if (i == sizeof known / sizeof known[0])
            return srv_reply_error(r, 400, "bad_request", "%.64s: unknown field", key);
    }
    if (json_str(b, "name", nn.name, sizeof nn.name, 1, err, sizeof err) ||
        json_str(b, "chip", nn.chip, sizeof nn.chip, 0, err, sizeof err) ||
        json_str(b, "zone", nn.zone, sizeof nn.zone, 0, err, sizeof err) ||
        json_str(b, "block", nn.block, sizeof nn.block, 0, err, sizeof err) ||
        json_str(b, "rack", nn.rack, sizeof nn.rack, 0, err, sizeof err))
        return srv_reply_error(r, 400, "bad_request", "%s", err);
    json_t *dv = json_object_get(b, "devices"), *cpu = json_object_get(b, "cpu"),
           *mem = json_object_get(b, "mem"), *gpus = json_object_get(b, "gpus");
    if (!json_is_integer(dv) || json_integer_value(dv) < 0 ||
        json_integer_value(dv) > ALLOT_MAX_DEVS_PER_NODE)
        return srv_reply_error(r, 400, "bad_request", "devices: an integer 0..%d",
                               ALLOT_MAX_DEVS_PER_NODE);
    nn.ndev = (int)json_integer_value(dv);
    if (nn.ndev > 0 && !nn.chip[0])
        return srv_reply_error(r, 400, "bad_request", "chip: required when devices > 0");
    if (nn.ndev == 0) nn.chip[0] = 0;
    if (cpu && (!json_is_integer(cpu) || json_integer_value(cpu) < 0 ||
                json_integer_value(cpu) > 100000000))
        return srv_reply_error(r, 400, "bad_request", "cpu: milli-cores, an integer >= 0");
    if (mem && (!json_is_integer(mem) || json_integer_value(mem) < 0 ||
                json_integer_value(mem) > (json_int_t)1 << 40))
        return srv_reply_error(r, 400, "bad_request", "mem: MiB, an integer >= 0");
    nn.cpu = cpu ? json_integer_value(cpu) : 64000;
    nn.mem = mem ? json_integer_value(mem) : 512 * 1024;
    if (gpus && !json_is_null(gpus) && (!json_is_array(gpus) || json_array_size(gpus) > 64))
        return srv_reply_error(r, 400, "bad_request", "gpus: an array of at most 64 objects");
    if (nn.ndev && chip_index(st, nn.chip) < 0 && st->nchips >= ALLOT_MAX_CHIP_TYPES)
        return srv_reply_error(r, 400, "bad_request", "chip: more than %d chip types",
                               ALLOT_MAX_CHIP_TYPES);
    int i = node_find(st, nn.name);
    if (i < 0) {
        if (st->nnodes + 1 > st->nodes_cap) {
            size_t cap = st->nodes_cap ? st->nodes_cap * 2 : 16;
            srv_node *v = realloc(st->nodes, cap * sizeof *v);
            if (!v) return srv_reply_error(r, 503, "unavailable", "out of memory");
            st->nodes = v;
            st->nodes_cap = (uint32_t)cap;
        }
        i = (int)st->nnodes++;
        st->nodes[i] = nn;
        st->need_rebuild = 1;
        logf_(st, "node %s joined: %d x %s", nn.name, nn.ndev, nn.ndev ? nn.chip : "cpu");
    } else {
        srv_node *n = &st->nodes[i];
        int changed = n->ndev != nn.ndev || strcmp(n->chip, nn.chip) || n->cpu != nn.cpu ||
                      n->mem != nn.mem || strcmp(n->zone, nn.zone) || strcmp(n->block, nn.block) ||
                      strcmp(n->rack, nn.rack);
        if (changed) {
            snprintf(n->chip, sizeof n->chip, "%s", nn.chip);
            snprintf(n->zone, sizeof n->zone, "%s", nn.zone);
            snprintf(n->block, sizeof n->block, "%s", nn.block);
            snprintf(n->rack, sizeof n->rack, "%s", nn.rack);
            n->ndev = nn.ndev;
            n->cpu = nn.cpu;
            n->mem = nn.mem;
            st->need_rebuild = 1;
        }
    }
    srv_node *n = &st->nodes[i];
    if (n->ndev && chip_index(st, n->chip) < 0) {
        snprintf(st->chips[st->nchips++], 64, "%s", n->chip);
        st->need_rebuild = 1;
    }
    json_decref(n->gpus);
    n->gpus = gpus && json_is_array(gpus) ? json_incref(gpus) : NULL;
    n->last_seen = st->now;
    n->seen = 1;
    n->simulated = json_is_true(json_object_get(b, "simulated"));
    n->dirty = 1;
    st->writes++;
    if (!n->up) {
        n->up = 1;
        logf_(st, "node %s is up", n->name);
        if (!st->need_rebuild && st->s) {
            allot_event ev = {.kind = ALLOT_EV_NODE_UP, .node = (uint32_t)i};
            core_event(st, &ev);
        }
    }
    /* reconciliation: what it runs that is not wanted is killed; what it
     * should run (delivered before) but does not report is lost */
    json_t *running = json_object_get(b, "running");
    if (take_running(st, (uint32_t)i, running, err, sizeof err))
        return srv_reply_error(r, 400, "bad_request", "%s", err);
    for (uint32_t id = 1; n->ntasks > 0 && id < st->next_id; id++) {
        srv_job *j = job_get(st, id);
        if (!j || j->state != ALLOT_JOB_RUNNING || !j->tasks) continue;
        int lost = 0;
        for (int t = 0; t < j->gang && !lost; t++) {
            srv_task *k = &j->tasks[t];
            if (k->node != (uint32_t)i || k->st == T_ASSIGNED || k->st == T_EXITED) continue;
            int reported = 0;
            size_t x;
            json_t *o;
            json_array_foreach(running, x, o)
            {
                uint32_t jb, ep;
                int tk;
                if (!parse_ref(o, &jb, &tk, &ep) && jb == id && tk == t && ep == j->epoch)
                    reported = 1;
            }
            if (!reported) lost = 1;
        }
        if (lost && st->s && !st->need_rebuild) {
            snprintf(st->why_buf, sizeof st->why_buf, "requeued: its tasks on %s were lost",
                     n->name);
            st->stop_why = st->why_buf;
            allot_event ev = {.kind = ALLOT_EV_REQUEUE, .job = id};
            core_event(st, &ev);
            st->stop_why = NULL;
        } else if (lost) { /* the core is rebuilt at the end of the batch: requeue now */
            job_kill_tasks(st, j, "requeued");
            job_drop_tasks(st, j);
            job_reason(j, "requeued: its tasks on %s were lost", n->name);
            job_set_state(st, j, ALLOT_JOB_PENDING);
            st->need_rebuild = 1;
        }
    }
    json_t *ks = json_array();
    for (size_t k = 0; k < n->nkill; k++)
        json_array_append_new(ks, json_pack("{s:I,s:i,s:I,s:s}", "job", (json_int_t)n->kill[k].job,
                                            "task", n->kill[k].task, "epoch",
                                            (json_int_t)n->kill[k].epoch, "reason",
                                            n->kill[k].why ? n->kill[k].why : "stop"));
    n->nkill = 0;
    /* tasks assigned but never delivered stay queued for its next poll */
    json_t *reply = json_pack("{s:o,s:f,s:f,s:o}", "node", node_json(st, (uint32_t)i, NULL),
                              "heartbeat_interval", st->cfg.heartbeat_interval, "node_timeout",
                              st->cfg.node_timeout, "kill", ks);
    srv_reply_json(r, 200, reply);
}

static int node_for_agent(srv_state *st, srv_req *r)
{
    int i = node_find(st, r->name);
    if (i < 0) {
        srv_reply_error(r, 404, "not_found", "no node %s: register first", r->name);
        return -1;
    }
    if (!st->nodes[i].up) {
        srv_reply_error(r, 404, "not_found", "node %s is down: register again", r->name);
        return -1;
    }
    st->nodes[i].last_seen = st->now;
    st->nodes[i].seen = 1;
    return i;
}

/* returns 1 when r was kept (suspended long poll) */
static int do_poll(srv_state *st, srv_req *r)
{
    int i = node_for_agent(st, r);
    if (i < 0) return 0;
    char err[200];
    json_t *running = json_is_object(r->body) ? json_object_get(r->body, "running") : NULL;
    if (r->body && !json_is_object(r->body)) {
        srv_reply_error(r, 400, "bad_request", "the body must be an object");
        return 0;
    }
    if (take_running(st, (uint32_t)i, running, err, sizeof err)) {
        srv_reply_error(r, 400, "bad_request", "%s", err);
        return 0;
    }
    srv_node *n = &st->nodes[i];
    if (n->poll) { /* an older poll of the same node: answer it empty */
        srv_req *old = n->poll;
        n->poll = NULL;
        srv_reply_json(old, 200,
                       json_pack("{s:[],s:[],s:f}", "assign", "kill", "heartbeat_interval",
                                 st->cfg.heartbeat_interval));
        finish(st, old);
    }
    if (n->nassign || n->nkill || r->q_wait <= 0) {
        poll_reply(st, (uint32_t)i, r);
        return 1; /* poll_reply queued it */
    }
    r->deadline = st->now + r->q_wait;
    n->poll = r;
    return 1;
}

static void task_exit(srv_state *st, srv_job *j, int t, int code, int sig, const char *msg,
                      uint32_t node)
{
    srv_task *k = &j->tasks[t];
    if (k->st == T_EXITED) return;
    k->st = T_EXITED;
    k->code = sig ? 128 + sig : code;
    if (!msg && code == 0 && sig == 0) {
        for (int x = 0; x < j->gang; x++)
            if (j->tasks[x].st != T_EXITED) return;
        allot_event ev = {.kind = ALLOT_EV_FINISH, .job = j->id};
        core_event(st, &ev);
        j->has_exit = 1;
        j->exit_code = 0;
        job_reason(j, "%s", "");
        free(j->reason);
        j->reason = NULL;
        job_end(st, j, ALLOT_JOB_SUCCEEDED, "finished");
        logf_(st, "job %" PRIu32 " succeeded", j->id);
        return;
    }
    allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = j->id};
    core_event(st, &ev);
    j->has_exit = 1;
    j->exit_code = k->code;
    const char *nn = node < st->nnodes ? st->nodes[node].name : "?";
    if (msg)
        job_reason(j, "task %d failed to start on %s: %.150s", t, nn, msg);
    else if (sig)
        job_reason(j, "task %d killed by signal %d on %s", t, sig, nn);
    else
        job_reason(j, "exit code %d on task %d (%s)", code, t, nn);
    job_end(st, j, ALLOT_JOB_FAILED, "another task failed");
    logf_(st, "job %" PRIu32 " failed: %s", j->id, j->reason);
}

static void do_events(srv_state *st, srv_req *r)
{
    int i = node_for_agent(st, r);
    if (i < 0) return;
    json_t *evs = json_object_get(r->body, "events");
    if (!json_is_array(evs) || json_array_size(evs) > 65536)
        return srv_reply_error(r, 400, "bad_request", "events: must be an array");
    size_t k;
    json_t *o;
    json_array_foreach(evs, k, o)
    {
        uint32_t job, epoch;
        int task;
        const char *type = json_string_value(json_object_get(o, "type"));
        json_t *tm = json_object_get(o, "time"), *code = json_object_get(o, "exit_code"),
               *sig = json_object_get(o, "signal");
        if (parse_ref(o, &job, &task, &epoch) || !type)
            return srv_reply_error(r, 400, "bad_request",
                                   "events[%zu]: needs integer job, task, epoch and a type", k);
        if ((tm && !json_is_number(tm)) ||
            (code && !json_is_integer(code) && !json_is_null(code)) ||
            (sig && !json_is_integer(sig) && !json_is_null(sig)))
            return srv_reply_error(r, 400, "bad_request",
                                   "events[%zu]: time is a number, exit_code and signal integers",
                                   k);
        int is_start = strcmp(type, "started") == 0, is_exit = strcmp(type, "exited") == 0,
            is_fail = strcmp(type, "failed_to_start") == 0;
        if (!is_start && !is_exit && !is_fail)
            return srv_reply_error(r, 400, "bad_request",
                                   "events[%zu].type: started, exited or failed_to_start", k);
        if (!wanted(st, (uint32_t)i, job, task, epoch)) continue; /* old epoch: ignore */
        srv_job *j = job_get(st, job);
        srv_task *t = &j->tasks[task];
        double when = tm ? json_number_value(tm) : st->now;
        if (!(when > 0) || fabs(when - st->now) > 3600) when = st->now; /* a skewed clock */
        if (is_start) {
            if (t->st < T_STARTED) {
                t->st = T_STARTED;
                t->launch = when;
                job_started_all(j);
                job_dirty(st, j);
            }
        } else {
            if (t->st < T_STARTED) t->launch = when;
            const char *msg = is_fail ? json_string_value(json_object_get(o, "message")) : NULL;
            if (is_fail && !msg) msg = "unknown error";
            task_exit(st, j, task, code ? (int)json_integer_value(code) : 0,
                      sig ? (int)json_integer_value(sig) : 0, msg, (uint32_t)i);
        }
    }
    srv_reply_json(r, 200, json_object());
}

static json_t *tenant_json(srv_state *st, int i)
{
    srv_tenant *t = &st->tenants[i];
    json_t *q = json_object(), *used = json_object();
    for (int k = 0; k < t->nquota; k++)
        json_object_set_new(q, t->quota_chip[k], json_integer(t->quota_devices[k]));
    int pend = 0, run = 0;
    int64_t use[ALLOT_MAX_CHIP_TYPES] = {0};
    int64_t other = 0;
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = job_get(st, id);
        if (!j || j->tenant != i) continue;
        if (j->state == ALLOT_JOB_PENDING) pend++;
        if (j->state != ALLOT_JOB_RUNNING) continue;
        run++;
        int64_t m = (int64_t)j->gang * j->devices * j->milli;
        int chip = j->chip;
        if (chip < 0 && j->tasks && j->devices && j->tasks[0].node < st->nnodes)
            chip = chip_index(st, st->nodes[j->tasks[0].node].chip);
        if (chip >= 0)
            use[chip] += m;
        else
            other += m;
    }
    for (int k = 0; k < st->nchips; k++)
        if (use[k]) json_object_set_new(used, st->chips[k], json_real(use[k] / 1000.0));
    (void)other;
    return json_pack("{s:s,s:f,s:o,s:o,s:i,s:i,s:o}", "name", t->name, "weight", t->weight, "quota",
                     q, "borrow_limit",
                     t->borrow_limit < 0 ? json_null() : json_integer(t->borrow_limit),
                     "jobs_pending", pend, "jobs_running", run, "devices_used", used);
}

static void do_tenants(srv_state *st, srv_req *r)
{
    json_t *arr = json_array();
    for (int i = 0; i < st->ntenants; i++) {
        if (r->role == ROLE_TENANT && strcmp(st->tenants[i].name, req_tenant_name(st, r))) continue;
        json_array_append_new(arr, tenant_json(st, i));
    }
    srv_reply_json(r, 200, json_pack("{s:o}", "tenants", arr));
}

static void do_put_tenant(srv_state *st, srv_req *r)
{
    json_t *b = r->body;
    if (!json_is_object(b))
        return srv_reply_error(r, 400, "bad_request", "the body must be an object");
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        if (strcmp(key, "weight") && strcmp(key, "quota") && strcmp(key, "borrow_limit"))
            return srv_reply_error(r, 400, "bad_request", "%.64s: unknown field", key);
    }
    srv_tenant t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%.63s", r->name);
    t.weight = 1;
    t.borrow_limit = -1;
    v = json_object_get(b, "weight");
    if (v) {
        if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e6)
            return srv_reply_error(r, 400, "bad_request", "weight: a number > 0");
        t.weight = json_number_value(v);
    }
    v = json_object_get(b, "borrow_limit");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
            return srv_reply_error(r, 400, "bad_request",
                                   "borrow_limit: devices, an integer >= 0 or null");
        t.borrow_limit = json_integer_value(v);
    }
    v = json_object_get(b, "quota");
    if (v) {
        json_t *q;
        if (!json_is_object(v) || json_object_size(v) > 16)
            return srv_reply_error(r, 400, "bad_request",
                                   "quota: an object of at most 16 chip: devices");
        json_object_foreach(v, key, q)
        {
            if (allot_name_problem(key, strlen(key)) || !json_is_integer(q) ||
                json_integer_value(q) < 0 || json_integer_value(q) > 1000000000)
                return srv_reply_error(r, 400, "bad_request",
                                       "quota.%.64s: devices, an integer >= 0", key);
            snprintf(t.quota_chip[t.nquota], 64, "%s", key);
            t.quota_devices[t.nquota++] = (int)json_integer_value(q);
        }
    }
    int i = tenant_add(st, r->name);
    if (i < 0)
        return srv_reply_error(r, 400, "bad_request", "more than %d tenants",
                               ALLOT_SERVER_MAX_TENANTS);
    t.dirty = 1;
    st->tenants[i] = t;
    st->writes++;
    st->need_rebuild = 1;
    srv_reply_json(r, 200, tenant_json(st, i));
}

static void hist_text(srv_buf *b, const char *name, const hist *h, const double *bounds, int nb)
{
    srv_buf_printf(b, "# TYPE %s histogram\n", name);
    uint64_t cum = 0;
    for (int i = 0; i < nb; i++) {
        cum += h->b[i];
        srv_buf_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i], cum);
    }
    srv_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n",
                   name, h->n, name, h->sum, name, h->n);
}

static void do_metrics(srv_state *st, srv_req *r)
{
    srv_buf b = {0};
    srv_buf_printf(&b, "# HELP allot_jobs Jobs by state.\n# TYPE allot_jobs gauge\n");
    for (int k = 0; k < 5; k++)
        srv_buf_printf(&b, "allot_jobs{state=\"%s\"} %" PRIu64 "\n", state_name(k), st->count[k]);
    srv_buf_printf(&b,
                   "# HELP allot_queue_depth Pending jobs.\n# TYPE allot_queue_depth gauge\n"
                   "allot_queue_depth %" PRIu64 "\n",
                   st->count[ALLOT_JOB_PENDING]);
    srv_buf_printf(
        &b, "# HELP allot_devices Devices by chip type and state.\n# TYPE allot_devices gauge\n");
    for (int k = 0; k < st->nchips; k++) {
        int64_t fr = 0, used = 0, down = 0;
        for (uint32_t i = 0; i < st->nnodes; i++) {
            srv_node *n = &st->nodes[i];
            if (!n->ndev || strcmp(n->chip, st->chips[k])) continue;
            if (!n->up) {
                down += n->ndev;
                continue;
            }
            int wf = st->c && i < allot_cluster_nnodes(st->c)
                         ? allot_cluster_node(st->c, i)->whole_free
                         : n->ndev;
            fr += wf;
            used += n->ndev - wf;
        }
        srv_buf_printf(&b,
                       "allot_devices{chip=\"%s\",state=\"free\"} %" PRId64 "\n"
                       "allot_devices{chip=\"%s\",state=\"used\"} %" PRId64 "\n"
                       "allot_devices{chip=\"%s\",state=\"down\"} %" PRId64 "\n",
                       st->chips[k], fr, st->chips[k], used, st->chips[k], down);
    }
    uint32_t up = 0;
    for (uint32_t i = 0; i < st->nnodes; i++) up += st->nodes[i].up != 0;
    srv_buf_printf(&b,
                   "# TYPE allot_nodes gauge\nallot_nodes{state=\"up\"} %" PRIu32
                   "\nallot_nodes{state=\"down\"} %" PRIu32 "\n",
                   up, st->nnodes - up);
    srv_buf_printf(
        &b,
        "# HELP allot_decisions_total Task placements made.\n# TYPE allot_decisions_total "
        "counter\nallot_decisions_total %" PRIu64 "\n"
        "# TYPE allot_submissions_total counter\nallot_submissions_total %" PRIu64 "\n"
        "# TYPE allot_requeues_total counter\nallot_requeues_total %" PRIu64 "\n"
        "# TYPE allot_commits_total counter\nallot_commits_total %" PRIu64 "\n",
        st->decisions, st->submissions, st->requeues, st->commits);
    hist_text(&b, "allot_scheduling_latency_seconds", &st->lat_sched, lat_bounds, NB_LAT);
    hist_text(&b, "allot_commit_seconds", &st->lat_commit, lat_bounds, NB_LAT);
    static const double bb[NB_LAT] = {1,   2,   4,    8,    16,   32,   64,    128,
                                      256, 512, 1024, 2048, 4096, 8192, 16384, 32768};
    hist_text(&b, "allot_commit_batch_size", &st->batch, bb, NB_LAT);
    srv_http_metrics(&b.p, &b.n, &b.cap);
    free(r->out);
    r->out = b.p;
    r->out_len = b.n;
    r->status = b.p ? 200 : 500;
    r->ctype = "text/plain; version=0.0.4";
}

/* returns 1 if the request stays with the state thread (long poll) */
static int handle(srv_state *st, srv_req *r)
{
    switch (r->kind) {
    case RQ_HEALTH:
        srv_reply_json(r, 200,
                       json_pack("{s:s,s:I,s:I,s:i}", "status", "ok", "jobs_pending",
                                 (json_int_t)st->count[0], "jobs_running", (json_int_t)st->count[1],
                                 "nodes_up", (int)st->nnodes));
        break;
    case RQ_METRICS: do_metrics(st, r); break;
    case RQ_SUBMIT: do_submit(st, r); break;
    case RQ_JOBS: do_jobs(st, r); break;
    case RQ_JOB: {
        srv_job *j = visible_job(st, r);
        if (j) srv_reply_json(r, 200, job_json(st, j));
        break;
    }
    case RQ_CANCEL: do_cancel(st, r); break;
    case RQ_JOB_LOGS: do_job_logs(st, r); break;
    case RQ_NODES:
    case RQ_NODE: do_nodes(st, r); break;
    case RQ_REGISTER: do_register(st, r); break;
    case RQ_POLL: return do_poll(st, r);
    case RQ_EVENTS: do_events(st, r); break;
    case RQ_TENANTS: do_tenants(st, r); break;
    case RQ_PUT_TENANT: do_put_tenant(st, r); break;
    default: srv_reply_error(r, 500, "internal", "unknown request"); break;
    }
    return 0;
}

/* ---- housekeeping: heartbeats, time limits, lost tasks, simulated nodes, ticks ------------- */

static void housekeeping(srv_state *st)
{
    double now = st->now;
    int nodes_due = now - st->last_nodes >= 0.1;
    if (nodes_due) st->last_nodes = now;
    for (uint32_t i = 0; nodes_due && i < st->nnodes; i++) {
        srv_node *n = &st->nodes[i];
        if (n->poll && n->poll->deadline <= now) {
            srv_req *r = n->poll;
            n->poll = NULL;
            poll_reply(st, i, r);
        }
        if (n->up && !n->simulated && now - n->last_seen > st->cfg.node_timeout) {
            n->up = 0;
            n->dirty = 1;
            st->writes++;
            logf_(st, "node %s is down (no heartbeat for %.0f s): its jobs are requeued", n->name,
                  now - n->last_seen);
            snprintf(st->why_buf, sizeof st->why_buf, "requeued: node %s down", n->name);
            st->stop_why = st->why_buf;
            allot_event ev = {.kind = ALLOT_EV_NODE_DOWN, .node = i};
            if (st->s && !st->need_rebuild)
                core_event(st, &ev);
            else
                st->need_rebuild = 1;
            st->stop_why = NULL;
        }
    }
    if (now - st->last_house < 0.2) return;
    st->last_house = now;
    /* simulated tasks that are due */
    for (size_t k = 0; k < st->nsim;) {
        simtask s = st->sim[k];
        if (s.end > now) {
            k++;
            continue;
        }
        st->sim[k] = st->sim[--st->nsim];
        srv_job *j = job_get(st, s.job);
        if (j && j->state == ALLOT_JOB_RUNNING && j->epoch == s.epoch && j->tasks)
            task_exit(st, j, s.task, 0, 0, NULL, j->tasks[s.task].node);
    }
    int scan = now - st->last_scan >= 1;
    if (scan) st->last_scan = now;
    for (uint32_t id = 1; scan && id < st->next_id; id++) {
        srv_job *j = job_get(st, id);
        if (!j || j->state != ALLOT_JOB_RUNNING) continue;
        if (j->time_limit && now - j->start_time > (double)j->time_limit) {
            allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = id};
            core_event(st, &ev);
            job_reason(j, "time limit (%" PRId64 " s)", j->time_limit);
            job_end(st, j, ALLOT_JOB_FAILED, "time limit");
            logf_(st, "job %" PRIu32 " killed: time limit", id);
            continue;
        }
        int lost = -1;
        for (int t = 0; j->tasks && t < j->gang; t++)
            if (j->tasks[t].st == T_SENT && now - j->tasks[t].sent > st->cfg.node_timeout) lost = t;
        if (lost >= 0 && st->s && !st->need_rebuild) {
            snprintf(st->why_buf, sizeof st->why_buf, "requeued: task %d never started on %s", lost,
                     st->nodes[j->tasks[lost].node].name);
            st->stop_why = st->why_buf;
            allot_event ev = {.kind = ALLOT_EV_REQUEUE, .job = id};
            core_event(st, &ev);
            st->stop_why = NULL;
        }
    }
    if (st->s && st->count[ALLOT_JOB_PENDING] && now - st->last_tick >= 1) {
        st->last_tick = now;
        allot_event ev = {.kind = ALLOT_EV_TICK};
        core_event(st, &ev);
    }
}

/* ---- persistence ------------------------------------------------------------------------------
 */

static int node_spec_put(srv_state *st, srv_node *n)
{
    json_t *o =
        json_pack("{s:s,s:i,s:I,s:I,s:s,s:s,s:s,s:b,s:O?}", "chip", n->chip, "devices", n->ndev,
                  "cpu", (json_int_t)n->cpu, "mem", (json_int_t)n->mem, "zone", n->zone, "block",
                  n->block, "rack", n->rack, "simulated", n->simulated, "gpus", n->gpus);
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = txt ? allot_store_put_node(st->store, n->name, n->up, txt) : ALLOT_ENOMEM;
    free(txt);
    return rc;
}

static int tenant_put(srv_state *st, srv_tenant *t)
{
    json_t *q = json_object();
    for (int k = 0; k < t->nquota; k++)
        json_object_set_new(q, t->quota_chip[k], json_integer(t->quota_devices[k]));
    json_t *o = json_pack("{s:f,s:o,s:I}", "weight", t->weight, "quota", q, "borrow_limit",
                          (json_int_t)t->borrow_limit);
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = txt ? allot_store_put_tenant(st->store, t->name, txt) : ALLOT_ENOMEM;
    free(txt);
    return rc;
}

static int flush(srv_state *st)
{
    int rc = 0;
    for (size_t k = 0; k < st->ndirty && rc == 0; k++) {
        srv_job *j = job_get(st, st->dirty[k]);
        if (!j || !j->dirty) continue;
        j->dirty = 0;
        json_t *rec = job_record(j);
        char *txt = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        if (!txt) return ALLOT_ENOMEM;
        rc = allot_store_put_job(st->store, j->id, st->tenants[j->tenant].name, j->state, txt);
        free(txt);
        if (rc == 0) rc = allot_store_clear_tasks(st->store, j->id);
        for (int t = 0; rc == 0 && j->tasks && j->state == ALLOT_JOB_RUNNING && t < j->gang; t++)
            rc = allot_store_put_task(st->store, j->id, (uint32_t)t,
                                      st->nodes[j->tasks[t].node].name, j->tasks[t].devs);
    }
    st->ndirty = 0;
    for (uint32_t i = 0; i < st->nnodes && rc == 0; i++)
        if (st->nodes[i].dirty) {
            st->nodes[i].dirty = 0;
            rc = node_spec_put(st, &st->nodes[i]);
        }
    for (int i = 0; i < st->ntenants && rc == 0; i++)
        if (st->tenants[i].dirty) {
            st->tenants[i].dirty = 0;
            rc = tenant_put(st, &st->tenants[i]);
        }
    return rc;
}

/* ---- recovery ---------------------------------------------------------------------------------
 */

static int rec_tenant(void *arg, const char *name, const char *spec)
{
    srv_state *st = arg;
    int i = tenant_add(st, name);
    if (i < 0) return 0;
    json_t *o = json_loads(spec, 0, NULL);
    srv_tenant *t = &st->tenants[i];
    json_t *w = json_object_get(o, "weight"), *bl = json_object_get(o, "borrow_limit"),
           *q = json_object_get(o, "quota");
    if (json_is_number(w) && json_number_value(w) > 0) t->weight = json_number_value(w);
    if (json_is_integer(bl)) t->borrow_limit = json_integer_value(bl);
    const char *k;
    json_t *v;
    t->nquota = 0;
    json_object_foreach(q, k, v)
    {
        if (t->nquota >= 16 || !json_is_integer(v)) continue;
        snprintf(t->quota_chip[t->nquota], 64, "%s", k);
        t->quota_devices[t->nquota++] = (int)json_integer_value(v);
    }
    t->dirty = 0;
    json_decref(o);
    return 0;
}

static int rec_node(void *arg, const char *name, int state, const char *spec)
{
    srv_state *st = arg;
    (void)state;
    json_t *o = json_loads(spec, 0, NULL);
    if (!o) return 0;
    if (st->nnodes + 1 > st->nodes_cap) {
        size_t cap = st->nodes_cap ? st->nodes_cap * 2 : 16;
        srv_node *v = realloc(st->nodes, cap * sizeof *v);
        if (!v) {
            json_decref(o);
            return ALLOT_ENOMEM;
        }
        st->nodes = v;
        st->nodes_cap = (uint32_t)cap;
    }
    srv_node *n = &st->nodes[st->nnodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    const char *s;
    if ((s = json_string_value(json_object_get(o, "chip")))) snprintf(n->chip, 64, "%s", s);
    if ((s = json_string_value(json_object_get(o, "zone")))) snprintf(n->zone, 64, "%s", s);
    if ((s = json_string_value(json_object_get(o, "block")))) snprintf(n->block, 64, "%s", s);
    if ((s = json_string_value(json_object_get(o, "rack")))) snprintf(n->rack, 64, "%s", s);
    n->ndev = (int)json_integer_value(json_object_get(o, "devices"));
    n->cpu = json_integer_value(json_object_get(o, "cpu"));
    n->mem = json_integer_value(json_object_get(o, "mem"));
    n->simulated = json_is_true(json_object_get(o, "simulated"));
    json_t *g = json_object_get(o, "gpus");
    n->gpus = json_is_array(g) ? json_incref(g) : NULL;
    /* up until proven otherwise: its agent has node_timeout to come back */
    n->up = 1;
    n->last_seen = st->now;
    if (n->ndev && chip_index(st, n->chip) < 0 && st->nchips < ALLOT_MAX_CHIP_TYPES)
        snprintf(st->chips[st->nchips++], 64, "%s", n->chip);
    json_decref(o);
    return 0;
}

static int rec_job(void *arg, uint32_t id, const char *tenant, int state, const char *spec)
{
    srv_state *st = arg;
    json_t *o = json_loads(spec, 0, NULL);
    json_t *doc = json_object_get(o, "spec");
    srv_spec sp;
    char err[200];
    if (!doc || srv_spec_parse(doc, &sp, err, sizeof err)) {
        fprintf(stderr, "allot server: job %" PRIu32 " in the store is unreadable (%s): skipped\n",
                id, doc ? err : "no spec");
        json_decref(o);
        return 0;
    }
    if (id >= st->jobs_cap) {
        size_t cap = st->jobs_cap ? st->jobs_cap : 1024;
        while (cap <= id) cap *= 2;
        srv_job **v = realloc(st->jobs, cap * sizeof *v);
        if (!v) {
            json_decref(o);
            srv_spec_free(&sp);
            return ALLOT_ENOMEM;
        }
        memset(v + st->jobs_cap, 0, (cap - st->jobs_cap) * sizeof *v);
        st->jobs = v;
        st->jobs_cap = (uint32_t)cap;
    }
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(o);
        srv_spec_free(&sp);
        return ALLOT_ENOMEM;
    }
    j->id = id;
    int ti = tenant_add(st, tenant);
    j->tenant = (uint16_t)(ti < 0 ? 0 : ti);
    job_take_spec(j, &sp, sp.chip[0] ? chip_index(st, sp.chip) : -1);
    j->submit_time = json_number_value(json_object_get(o, "submit_time"));
    j->start_time = json_number_value(json_object_get(o, "start_time"));
    j->launch_time = json_number_value(json_object_get(o, "launch_time"));
    j->end_time = json_number_value(json_object_get(o, "end_time"));
    j->epoch = (uint32_t)json_integer_value(json_object_get(o, "epoch"));
    json_t *ec = json_object_get(o, "exit_code");
    j->has_exit = json_is_integer(ec);
    j->exit_code = (int)json_integer_value(ec);
    const char *rs = json_string_value(json_object_get(o, "reason"));
    j->reason = rs ? strdup(rs) : NULL;
    j->state = (uint8_t)(state >= 0 && state < 5 ? state : ALLOT_JOB_FAILED);
    if (j->chip < 0 && sp.chip[0] && j->state <= ALLOT_JOB_RUNNING) { /* chip no longer known */
        j->state = ALLOT_JOB_FAILED;
        job_reason(j, "chip type %s is gone from the fleet", sp.chip);
        j->dirty = 0;
    }
    if (j->state == ALLOT_JOB_RUNNING) j->tasks = calloc((size_t)j->gang, sizeof *j->tasks);
    if (j->tasks)
        for (int t = 0; t < j->gang; t++) j->tasks[t].node = UINT32_MAX;
    st->count[j->state]++;
    st->jobs[id] = j;
    if (id >= st->next_id) st->next_id = id + 1;
    json_decref(o);
    return 0;
}

static int rec_task(void *arg, uint32_t job, uint32_t task, const char *node, uint64_t devs)
{
    srv_state *st = arg;
    srv_job *j = job_get(st, job);
    if (!j || !j->tasks || task >= (uint32_t)j->gang) return 0;
    int i = node_find(st, node);
    j->tasks[task].node = i < 0 ? UINT32_MAX : (uint32_t)i;
    if (i >= 0) st->nodes[i].ntasks++;
    j->tasks[task].devs = devs;
    j->tasks[task].st = T_SENT; /* its agent confirms by reporting it */
    j->tasks[task].sent = st->now;
    if (i >= 0 && st->nodes[i].simulated) { /* a simulated task starts over */
        sim_add(st, j, (int)task);
        job_started_all(j);
    }
    return 0;
}

/* ---- the thread -------------------------------------------------------------------------------
 */

static void *run(void *arg)
{
    srv_state *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        if (!st->qhead && !st->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&st->cv, &st->mu, &ts);
        }
        srv_req *q = st->qhead;
        st->qhead = st->qtail = NULL;
        int stopping = st->stopping;
        pthread_mutex_unlock(&st->mu);
        st->now = wall_now();
        size_t nreq = 0;
        for (srv_req *r = q; r;) {
            srv_req *next = r->next;
            r->next = NULL;
            nreq++;
            if (stopping) {
                srv_reply_error(r, 503, "unavailable", "the server is shutting down");
                finish(st, r);
            } else if (!handle(st, r)) {
                finish(st, r);
            }
            r = next;
        }
        if (!stopping) housekeeping(st);
        if (st->need_rebuild && (stopping || mono_now() >= st->rebuild_after)) {
            double t0 = mono_now();
            int rc = rebuild(st);
            if (rc)
                fprintf(stderr, "allot server: rebuilding the scheduler failed: %s\n",
                        allot_strerror(rc));
            double dt = mono_now() - t0;
            if (dt > 0.5) logf_(st, "scheduler rebuilt in %.2f s", dt);
            /* while nodes keep joining, rebuild at most every 4x what one costs */
            st->rebuild_after = mono_now() + 4 * dt;
        }
        for (size_t k = 0; k < st->nwake; k++) {
            st->nodes[st->wake[k]].woke = 0;
            node_wake(st, st->wake[k]);
        }
        st->nwake = 0;
        if (st->ndirty || st->writes) {
            double t0 = mono_now();
            int rc = allot_store_begin(st->store);
            if (rc == 0) rc = flush(st);
            if (rc == 0)
                rc = allot_store_commit(st->store);
            else
                allot_store_rollback(st->store);
            st->writes = 0;
            if (rc) {
                /* memory and disk disagree now: refuse, and stop so that a
                 * restart recovers from what is on disk */
                fprintf(stderr, "allot server: FATAL: cannot commit to the store: %s\n",
                        allot_strerror(rc));
                for (size_t k = 0; k < st->ndone; k++) {
                    srv_reply_error(st->done[k], 503, "unavailable", "the store failed: %s",
                                    allot_strerror(rc));
                    srv_http_done(st->done[k]);
                }
                _exit(70);
            }
            st->commits++;
            hist_add(&st->lat_commit, mono_now() - t0);
            hist_add(&st->batch, (double)nreq);
        }
        for (size_t k = 0; k < st->ndone; k++) srv_http_done(st->done[k]);
        st->ndone = 0;
        if (stopping) {
            for (uint32_t i = 0; i < st->nnodes; i++)
                if (st->nodes[i].poll) {
                    srv_req *r = st->nodes[i].poll;
                    st->nodes[i].poll = NULL;
                    srv_reply_error(r, 503, "unavailable", "the server is shutting down");
                    srv_http_done(r);
                }
            pthread_mutex_lock(&st->mu);
            int empty = st->qhead == NULL;
            pthread_mutex_unlock(&st->mu);
            if (empty) break;
        }
    }
    return NULL;
}

void srv_state_post(srv_state *st, srv_req *r)
{
    pthread_mutex_lock(&st->mu);
    if (st->stopped) { /* the thread is gone: refuse at once */
        pthread_mutex_unlock(&st->mu);
        srv_reply_error(r, 503, "unavailable", "the server is shutting down");
        srv_http_done(r);
        return;
    }
    r->next = NULL;
    if (st->qtail)
        st->qtail->next = r;
    else
        st->qhead = r;
    st->qtail = r;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

const char *srv_state_data_dir(const srv_state *st) { return st->cfg.data; }

int srv_state_start(srv_state **out, const allot_server_config *cfg, allot_diag *d)
{
    srv_state *st = calloc(1, sizeof *st);
    if (!st) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    st->cfg = *cfg;
    st->tenants = calloc(ALLOT_SERVER_MAX_TENANTS, sizeof *st->tenants);
    st->next_id = 1;
    st->now = wall_now();
    int p = allot_sched_policy_parse(cfg->policy), pl = allot_policy_parse(cfg->placement);
    int rc = 0;
    if (p < 0)
        rc = allot_diag_set(
            d, ALLOT_EINVAL, NULL, 0, 0,
            "policy: '%s' is not one of fifo, fifo-backfill, priority-preempt, las, drf, allot",
            cfg->policy);
    else if (pl < 0)
        rc = allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "placement: unknown '%s'", cfg->placement);
    st->policy = p;
    st->placement = pl;
    if (!st->tenants && rc == 0) rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    if (rc == 0) rc = allot_store_open(&st->store, cfg->data, d);
    if (rc == 0) {
        allot_store_visitor v = {st, rec_job, rec_task, rec_node, rec_tenant};
        /* tenants and nodes first: jobs refer to them */
        allot_store_visitor v1 = {st, NULL, NULL, rec_node, rec_tenant};
        rc = allot_store_load(st->store, &v1);
        v.node = NULL;
        v.tenant = NULL;
        if (rc == 0) rc = allot_store_load(st->store, &v);
        if (rc)
            allot_diag_set(d, rc, cfg->data, 0, 0, "cannot recover the state: %s",
                           allot_strerror(rc));
        int64_t mx = allot_store_max_job_id(st->store);
        if (mx >= 0 && (uint32_t)mx + 1 > st->next_id) st->next_id = (uint32_t)mx + 1;
    }
    /* configured tenants override stored ones */
    for (int i = 0; rc == 0 && i < cfg->ntenants; i++) {
        const allot_server_tenant *ct = &cfg->tenants[i];
        int k = tenant_add(st, ct->name);
        if (k < 0) break;
        srv_tenant *t = &st->tenants[k];
        t->weight = ct->weight;
        t->borrow_limit = ct->borrow_limit;
        t->nquota = ct->nquota;
        for (int q = 0; q < ct->nquota; q++) {
            memcpy(t->quota_chip[q], ct->quota_chip[q], 64);
            t->quota_devices[q] = ct->quota_devices[q];
        }
        t->dirty = 1;
        st->writes++;
    }
    if (rc == 0 && tenant_index(st, "default") < 0) tenant_add(st, "default");
    /* simulated nodes of --dev */
    for (int i = 0; rc == 0 && i < cfg->sim_nodes; i++) {
        char name[64];
        snprintf(name, sizeof name, "sim-%d", i + 1);
        if (node_find(st, name) >= 0) continue;
        if (st->nnodes + 1 > st->nodes_cap) {
            size_t cap = st->nodes_cap ? st->nodes_cap * 2 : 16;
            srv_node *v = realloc(st->nodes, cap * sizeof *v);
            if (!v) break;
            st->nodes = v;
            st->nodes_cap = (uint32_t)cap;
        }
        srv_node *n = &st->nodes[st->nnodes++];
        memset(n, 0, sizeof *n);
        snprintf(n->name, 64, "%s", name);
        snprintf(n->chip, 64, "%s", cfg->sim_chip);
        snprintf(n->rack, 64, "sim-rack-%d", i / 8);
        n->ndev = cfg->sim_devices;
        n->cpu = 64000;
        n->mem = 512 * 1024;
        n->up = n->simulated = n->dirty = 1;
        st->writes++;
        if (chip_index(st, n->chip) < 0) snprintf(st->chips[st->nchips++], 64, "%s", n->chip);
    }
    if (rc == 0) {
        /* put everything back into a new core (RESTORE running, SUBMIT pending) */
        rc = rebuild(st);
        if (rc)
            allot_diag_set(d, rc, NULL, 0, 0, "cannot start the scheduler: %s", allot_strerror(rc));
    }
    if (rc == 0 && (st->ndirty || st->writes)) {
        rc = allot_store_begin(st->store);
        if (rc == 0) rc = flush(st);
        if (rc == 0) rc = allot_store_commit(st->store);
        st->writes = 0;
        if (rc)
            allot_diag_set(d, rc, cfg->data, 0, 0, "cannot write the store: %s",
                           allot_strerror(rc));
    }
    if (rc == 0) {
        pthread_mutex_init(&st->mu, NULL);
        pthread_cond_init(&st->cv, NULL);
        if (pthread_create(&st->th, NULL, run, st))
            rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "cannot start a thread");
        else
            st->started = 1;
    }
    if (rc) {
        srv_state_free(st);
        return rc;
    }
    if (st->count[0] + st->count[1])
        logf_(st, "recovered %" PRIu64 " pending and %" PRIu64 " running jobs, %" PRIu32 " nodes",
              st->count[0], st->count[1], st->nnodes);
    *out = st;
    return 0;
}

void srv_state_stop(srv_state *st)
{
    if (!st) return;
    if (st->started) {
        pthread_mutex_lock(&st->mu);
        st->stopping = 1;
        pthread_cond_signal(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->th, NULL);
        pthread_mutex_lock(&st->mu);
        st->stopped = 1;
        pthread_mutex_unlock(&st->mu);
        st->started = 0;
        st->joined = 1;
    }
}

void srv_state_free(srv_state *st)
{
    if (!st) return;
    srv_state_stop(st);
    if (st->joined) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
    }
    for (uint32_t id = 0; id < st->jobs_cap; id++) job_free(st->jobs[id]);
    free(st->jobs);
    for (uint32_t i = 0; i < st->nnodes; i++) {
        json_decref(st->nodes[i].gpus);
        free(st->nodes[i].assign);
        free(st->nodes[i].kill);
    }
    free(st->nodes);
    free(st->tenants);
    free(st->ctenants);
    free(st->dirty);
    free(st->done);
    free(st->sim);
    free(st->wake);
    allot_decisions_free(&st->dec);
    allot_sched_free(st->s);
    allot_cluster_free(st->c);
    allot_store_close(st->store);
    free(st);
}
