/* src/server/model.c - the state thread's model: the job table, tenants,
 * the agents' work lists, and the scheduler core driven from it (events in,
 * decisions applied, the core rebuilt when the registry changes: running
 * jobs RESTOREd on their devices, pending ones submitted again). */
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
#include "state_int.h"

double st_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double st_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *st_state_name(int st)
{
    static const char *n[] = {"pending", "running", "succeeded", "failed", "cancelled"};
    return st >= 0 && st < 5 ? n[st] : "unknown";
}

int st_grow(void **v, size_t *cap, size_t need, size_t el)
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

void st_logf_(srv_state *st, const char *fmt, ...)
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

srv_job *st_job_get(srv_state *st, uint32_t id) { return id < st->jobs_cap ? st->jobs[id] : NULL; }

void st_job_dirty(srv_state *st, srv_job *j)
{
    if (j->dirty) return;
    if (st_grow((void **)&st->dirty, &st->cdirty, st->ndirty + 1, sizeof *st->dirty)) return;
    j->dirty = 1;
    st->dirty[st->ndirty++] = j->id;
}

void st_job_set_state(srv_state *st, srv_job *j, int state)
{
    int old = j->state;
    st->count[j->state]--;
    j->state = (uint8_t)state;
    st->count[state]++;
    st_jev_state(st, j, old);
    st_job_dirty(st, j);
}

void st_job_reason(srv_job *j, const char *fmt, ...)
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
void st_job_take_spec(srv_job *j, srv_spec *sp, int chip)
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

void st_job_free(srv_job *j)
{
    if (!j) return;
    json_decref(j->spec);
    free(j->reason);
    free(j->tasks);
    free(j->service);
    st_jev_free(j);
    free(j);
}

int st_chip_index(srv_state *st, const char *name)
{
    for (int i = 0; i < st->nchips; i++)
        if (strcasecmp(st->chips[i], name) == 0) return i;
    return -1;
}

int st_tenant_index(srv_state *st, const char *name)
{
    for (int i = 0; i < st->ntenants; i++)
        if (strcmp(st->tenants[i].name, name) == 0) return i;
    return -1;
}

int st_tenant_add(srv_state *st, const char *name)
{
    int i = st_tenant_index(st, name);
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

void st_job_desc(srv_state *st, const srv_job *j, allot_job *d)
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
    if (j->chips) d->shape.chips = j->chips;
}

json_t *st_job_record(const srv_job *j)
{
    json_t *o = json_pack("{s:O,s:f,s:i}", "spec", j->spec, "submit_time", j->submit_time, "epoch",
                          (json_int_t)j->epoch);
    if (j->start_time > 0) json_object_set_new(o, "start_time", json_real(j->start_time));
    if (j->launch_time > 0) json_object_set_new(o, "launch_time", json_real(j->launch_time));
    if (j->end_time > 0) json_object_set_new(o, "end_time", json_real(j->end_time));
    if (j->has_exit) json_object_set_new(o, "exit_code", json_integer(j->exit_code));
    if (j->reason) json_object_set_new(o, "reason", json_string(j->reason));
    if (j->service) { /* a service's replica: recovery links it back */
        json_object_set_new(o, "service", json_string(j->service));
        json_object_set_new(o, "replica", json_integer(j->replica));
    }
    json_t *ev = st_jev_record(j);
    if (ev) json_object_set_new(o, "events", ev);
    return o;
}

json_t *st_time_or_null(double t) { return t > 0 ? json_real(t) : json_null(); }

json_t *st_job_json(srv_state *st, const srv_job *j)
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
    json_object_set_new(o, "state", json_string(st_state_name(j->state)));
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
    json_object_set_new(o, "start_time", st_time_or_null(j->start_time));
    json_object_set_new(o, "launch_time", st_time_or_null(j->launch_time));
    json_object_set_new(o, "end_time", st_time_or_null(j->end_time));
    json_object_set_new(o, "exit_code", j->has_exit ? json_integer(j->exit_code) : json_null());
    json_object_set_new(o, "reason", json_string(j->reason ? j->reason : ""));
    json_object_set_new(o, "epoch", json_integer(j->epoch));
    json_object_set_new(o, "service", j->service ? json_string(j->service) : json_null());
    json_object_set_new(o, "replica", j->service ? json_integer(j->replica) : json_null());
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
void st_job_drop_tasks(srv_state *st, srv_job *j)
{
    if (!j->tasks) return;
    for (int t = 0; t < j->gang; t++)
        if (j->tasks[t].node < st->nnodes && st->nodes[j->tasks[t].node].ntasks > 0)
            st->nodes[j->tasks[t].node].ntasks--;
    free(j->tasks);
    j->tasks = NULL;
}

/* ---- agents' work lists ---------------------------------------------------------------------- */

void st_node_push(srv_state *st, uint32_t i, int kill, uint32_t job, uint16_t task, uint32_t epoch,
                  const char *why)
{
    srv_node *n = &st->nodes[i];
    srv_ref **v = kill ? &n->kill : &n->assign;
    size_t *cnt = kill ? &n->nkill : &n->nassign, *cap = kill ? &n->ckill : &n->cassign;
    if (st_grow((void **)v, cap, *cnt + 1, sizeof **v)) return;
    (*v)[(*cnt)++] = (srv_ref){job, epoch, task, why, 0};
    if (!n->woke && st_grow((void **)&st->wake, &st->cwake, st->nwake + 1, sizeof *st->wake) == 0) {
        n->woke = 1;
        st->wake[st->nwake++] = i;
    }
}

/* Tells the agents of a job's tasks to stop them (the job is no longer
 * running with this epoch). */
void st_job_kill_tasks(srv_state *st, srv_job *j, const char *why)
{
    if (!j->tasks) return;
    for (int t = 0; t < j->gang; t++) {
        srv_task *k = &j->tasks[t];
        if (k->node >= st->nnodes || k->st == T_EXITED || k->st == T_ASSIGNED) continue;
        srv_node *n = &st->nodes[k->node];
        if (n->simulated) continue;
        st_node_push(st, k->node, 1, j->id, (uint16_t)t, j->epoch, why);
        if (j->kill_grace > 0 && n->nkill && n->kill[n->nkill - 1].job == j->id)
            n->kill[n->nkill - 1].grace = j->kill_grace;
    }
}

void st_job_end(srv_state *st, srv_job *j, int state, const char *why)
{
    st_job_kill_tasks(st, j, why);
    st_job_drop_tasks(st, j);
    j->end_time = st->now;
    st_job_set_state(st, j, state);
    st_cid_release(st, j);
}

int st_cid_take(srv_state *st, srv_job *j)
{
    if (j->cid != CID_NONE) return 0;
    uint32_t c;
    if (st->ncid_free)
        c = st->cid_free[--st->ncid_free];
    else
        c = st->next_cid++;
    if (c >= st->cid_cap) {
        uint32_t cap = st->cid_cap ? st->cid_cap * 2 : 1024;
        while (cap <= c) cap *= 2;
        uint32_t *v = realloc(st->cid_job, (size_t)cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        memset(v + st->cid_cap, 0, (size_t)(cap - st->cid_cap) * sizeof *v);
        st->cid_job = v;
        st->cid_cap = cap;
    }
    st->cid_job[c] = j->id;
    j->cid = c;
    return 0;
}

void st_cid_release(srv_state *st, srv_job *j)
{
    if (j->cid == CID_NONE) return;
    uint32_t c = j->cid;
    j->cid = CID_NONE;
    st->cid_job[c] = 0;
    int rc = ALLOT_EINVAL;
    if (st->s) { /* FORGET makes no decisions: no need to go through st_core_event */
        allot_decisions none = {0};
        allot_event ev = {.kind = ALLOT_EV_FORGET, .job = c, .time = (int64_t)st->now};
        rc = allot_sched_handle(st->s, &ev, &none);
        allot_decisions_free(&none);
    }
    /* reusable when the core forgot it or never knew it; else leave it */
    if ((rc == 0 || rc == ALLOT_EINVAL) && st_grow((void **)&st->cid_free, &st->cid_free_cap,
                                                   st->ncid_free + 1, sizeof *st->cid_free) == 0)
        st->cid_free[st->ncid_free++] = c;
}

srv_job *st_job_by_cid(srv_state *st, uint32_t cid)
{
    return cid < st->cid_cap && st->cid_job[cid] ? st_job_get(st, st->cid_job[cid]) : NULL;
}

/* ---- the core ------------------------------------------------------------------------------ */

void st_sim_add(srv_state *st, srv_job *j, int t)
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
    if (st_grow((void **)&st->sim, &st->csim, st->nsim + 1, sizeof *st->sim)) return;
    st->sim[st->nsim++] = (simtask){j->id, j->epoch, (uint16_t)t, st->now + dur};
    j->tasks[t].st = T_STARTED;
    j->tasks[t].launch = st->now;
}

void st_job_started_all(srv_job *j)
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
        srv_job *j = st_job_by_cid(st, d->job);
        if (!j) continue;
        switch (d->kind) {
        case ALLOT_DEC_START:
        case ALLOT_DEC_GROW:
            if (d->task == 0 || !j->tasks) {
                if (j->state != ALLOT_JOB_RUNNING) {
                    j->epoch++;
                    j->start_time = st->now;
                    j->launch_time = 0;
                    st_job_drop_tasks(st, j);
                    j->tasks = calloc((size_t)j->gang, sizeof *j->tasks);
                    for (int x = 0; j->tasks && x < j->gang; x++) j->tasks[x].node = UINT32_MAX;
                    st_job_set_state(st, j, ALLOT_JOB_RUNNING);
                    if (j->epoch == 1 && j->t_in > 0)
                        hist_add(&st->lat_sched, st_mono_now() - j->t_in);
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
                    st_sim_add(st, j, d->task);
                else
                    st_node_push(st, d->node, 0, j->id, d->task, j->epoch, NULL);
                if (d->task == j->gang - 1 && n->simulated) st_job_started_all(j);
                if (d->task == j->gang - 1) st_jev_placed(st, j);
            }
            st->decisions++;
            break;
        case ALLOT_DEC_FAIL:
            if (j->state == ALLOT_JOB_PENDING) {
                st_job_reason(j, "can never run on this fleet");
                st_job_end(st, j, ALLOT_JOB_FAILED, "failed");
            }
            break;
        case ALLOT_DEC_STOP:
        case ALLOT_DEC_PREEMPT:
            if (j->state != ALLOT_JOB_RUNNING) break;
            if (d->kind == ALLOT_DEC_PREEMPT)
                st_job_reason(j, "preempted");
            else
                st_job_reason(j, "%s", st->stop_why ? st->stop_why : "stopped");
            st_job_kill_tasks(st, j, d->kind == ALLOT_DEC_PREEMPT ? "preempted" : "requeued");
            st_job_drop_tasks(st, j);
            st->requeues++;
            st_job_set_state(st, j, ALLOT_JOB_PENDING);
            break;
        default: break;
        }
    }
    allot_decisions_clear(&st->dec);
}

int st_core_event(srv_state *st, allot_event *ev)
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
            int k = st_chip_index(st, t->quota_chip[q]);
            if (k >= 0) c->quota[k] = (int64_t)t->quota_devices[q] * 1000;
        }
        c->borrow_limit = t->borrow_limit < 0 ? INT64_MAX / 4 : t->borrow_limit * 1000;
    }
    cfg->tenants = st->ctenants;
    cfg->ntenants = (size_t)st->ntenants;
}

/* Builds the cluster and the core from the registry and puts every job back:
 * running ones on their devices, pending ones in the queue. */
int st_rebuild(srv_state *st)
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
            st_core_event(st, &ev);
        }
    allot_decision *pl = NULL;
    size_t cpl = 0;
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (!j || j->state != ALLOT_JOB_RUNNING) continue;
        int ok = j->tasks != NULL && st_grow((void **)&pl, &cpl, (size_t)j->gang, sizeof *pl) == 0;
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
        st_job_desc(st, j, &d);
        if (st_cid_take(st, j)) ok = 0;
        allot_event ev = {.kind = ALLOT_EV_RESTORE, .job = j->cid, .desc = &d, .placed = pl};
        if (ok) {
            ev.time = (int64_t)(j->start_time > 0 ? j->start_time : st->now);
            ok = allot_sched_handle(st->s, &ev, &st->dec) == 0;
            apply_decisions(st);
        }
        if (!ok) { /* its devices are gone: it waits again */
            st_job_kill_tasks(st, j, "requeued");
            st_job_drop_tasks(st, j);
            st_job_reason(j, "requeued: its placement was lost");
            st_job_set_state(st, j, ALLOT_JOB_PENDING);
        }
    }
    free(pl);
    /* drained nodes keep what was restored on them, and take nothing new */
    for (uint32_t i = 0; i < st->nnodes; i++)
        if (st->nodes[i].up && st->nodes[i].draining) {
            allot_event ev = {.kind = ALLOT_EV_NODE_DRAIN, .node = i};
            st_core_event(st, &ev);
        }
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (!j || j->state != ALLOT_JOB_PENDING) continue;
        allot_job d;
        st_job_desc(st, j, &d);
        if (st_cid_take(st, j)) {
            st_job_reason(j, "cannot be queued: out of memory");
            st_job_end(st, j, ALLOT_JOB_FAILED, "failed");
            continue;
        }
        allot_event ev = {.kind = ALLOT_EV_SUBMIT, .job = j->cid, .desc = &d};
        ev.time = (int64_t)j->submit_time;
        rc = allot_sched_handle(st->s, &ev, &st->dec);
        apply_decisions(st);
        if (rc) {
            st_job_reason(j, "cannot be queued: %s", allot_strerror(rc));
            st_job_end(st, j, ALLOT_JOB_FAILED, "failed");
        }
    }
    return 0;
}
