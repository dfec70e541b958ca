/* src/server/routes.c - the state thread's answers to the API requests that
 * are not the agents': jobs, nodes, tenants, health and metrics. */
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

/* ---- requests ------------------------------------------------------------------------------- */

void st_finish(srv_state *st, srv_req *r)
{
    if (st_grow((void **)&st->done, &st->cdone, st->ndone + 1, sizeof *st->done)) {
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

int st_job_new(srv_state *st, srv_spec *sp, int ti, int chip, double t_in, srv_job **out, char *err,
               size_t errlen)
{
    if (st->next_id + 1 > st->jobs_cap) {
        size_t cap = st->jobs_cap ? st->jobs_cap : 16;
        while (cap < st->next_id + 1) cap *= 2;
        srv_job **v = realloc(st->jobs, cap * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return 503;
        }
        memset(v + st->jobs_cap, 0, (cap - st->jobs_cap) * sizeof *v);
        st->jobs = v;
        st->jobs_cap = (uint32_t)cap;
    }
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    uint32_t id = st->next_id++;
    j->id = id;
    j->tenant = (uint16_t)ti;
    st_job_take_spec(j, sp, chip);
    json_object_set_new(j->spec, "tenant", json_string(st->tenants[ti].name));
    j->submit_time = st->now;
    j->t_in = t_in;
    j->state = ALLOT_JOB_PENDING;
    j->cid = CID_NONE;
    st->count[ALLOT_JOB_PENDING]++;
    st->jobs[id] = j;
    *out = j;
    return 0;
}

int st_job_submit(srv_state *st, srv_job *j, char *err, size_t errlen)
{
    allot_job d;
    st_job_desc(st, j, &d);
    int rc = st_cid_take(st, j);
    allot_event ev = {.kind = ALLOT_EV_SUBMIT, .job = j->cid, .desc = &d};
    if (rc == 0) rc = st_core_event(st, &ev);
    if (rc || j->state == ALLOT_JOB_FAILED) {
        st->count[j->state]--;
        st->jobs[j->id] = NULL;
        if (j->dirty) j->dirty = 0; /* the dirty list skips missing jobs */
        st_cid_release(st, j);
        st_job_free(j);
        if (rc) {
            snprintf(err, errlen, "the scheduler refused the job: %s", allot_strerror(rc));
            return rc == ALLOT_EINVAL ? 400 : 500;
        }
        snprintf(err, errlen,
                 "the job can never run on this fleet (too many devices or tasks for any node "
                 "set, or beyond its tenant's quota and borrowing limit)");
        return 422;
    }
    st->submissions++;
    st_job_dirty(st, j);
    return 0;
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
        chip = st_chip_index(st, sp->chip);
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
    int ti = st_tenant_add(st, tname);
    if (ti < 0) {
        srv_reply_error(r, 400, "bad_request", "tenant: more than %d tenants",
                        ALLOT_SERVER_MAX_TENANTS);
        return;
    }
    if (st->tenants[ti].dirty && st->ctenants) st->need_rebuild = 1; /* a new tenant */
    srv_job *j = NULL;
    char err[300];
    int status = st_job_new(st, sp, ti, chip, r->t_in, &j, err, sizeof err);
    if (status == 0) status = st_job_submit(st, j, err, sizeof err);
    if (status) {
        srv_reply_error(r, status,
                        status == 422   ? "unschedulable"
                        : status == 400 ? "bad_request"
                        : status == 503 ? "unavailable"
                                        : "internal",
                        "%s", err);
        return;
    }
    snprintf(r->location, sizeof r->location, "/v1/jobs/%" PRIu32, j->id);
    srv_reply_json(r, 201, st_job_json(st, j));
}

static void do_jobs(srv_state *st, srv_req *r)
{
    json_t *arr = json_array();
    int want = -1;
    if (r->q_state[0]) {
        for (int k = 0; k < 5; k++)
            if (strcmp(r->q_state, st_state_name(k)) == 0) want = k;
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
        srv_job *j = st_job_get(st, id);
        if (!j || !may_see(r, st, j)) continue;
        if (want >= 0 ? j->state != want : (!r->q_all && j->state > ALLOT_JOB_RUNNING)) continue;
        if (r->q_tenant[0] && strcmp(st->tenants[j->tenant].name, r->q_tenant) != 0) continue;
        json_array_append_new(arr, st_job_json(st, j));
        n++;
    }
    srv_reply_json(r, 200, json_pack("{s:o}", "jobs", arr));
}

static srv_job *visible_job(srv_state *st, srv_req *r)
{
    srv_job *j = st_job_get(st, r->id);
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
                        j->state == ALLOT_JOB_SUCCEEDED ? "succeeded" : st_state_name(j->state));
        return;
    }
    allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = j->cid};
    int rc = st_core_event(st, &ev);
    if (rc && rc != ALLOT_ESTATE) {
        srv_reply_error(r, 500, "internal", "cancel: %s", allot_strerror(rc));
        return;
    }
    st_job_reason(j, "cancelled by %s", r->role == ROLE_TENANT ? req_tenant_name(st, r) : "admin");
    st_job_end(st, j, ALLOT_JOB_CANCELLED, "cancelled");
    st_logf_(st, "job %" PRIu32 " cancelled", j->id);
    srv_reply_json(r, 200, st_job_json(st, j));
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
        srv_job *j = st_job_get(st, id);
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

json_t *st_node_json(srv_state *st, uint32_t i, json_t *jobs)
{
    srv_node *n = &st->nodes[i];
    int free_dev = n->ndev;
    if (st->c && i < allot_cluster_nnodes(st->c))
        free_dev = allot_cluster_node(st->c, i)->whole_free;
    if (!jobs) jobs = json_array();
    return json_pack(
        "{s:s,s:s,s:s?,s:i,s:i,s:I,s:I,s:s,s:s,s:s,s:O?,s:o,s:b,s:o}", "name", n->name, "state",
        !n->up        ? "down"
        : n->draining ? "draining"
                      : "up",
        "chip", n->ndev ? n->chip : NULL, "devices", n->ndev, "devices_free", n->up ? free_dev : 0,
        "cpu", (json_int_t)n->cpu, "mem", (json_int_t)n->mem, "zone",
        n->zone[0] ? n->zone : "zone-0", "block", n->block[0] ? n->block : "block-0", "rack",
        n->rack[0] ? n->rack : "rack-0", "gpus", n->gpus, "last_heartbeat",
        st_time_or_null(n->last_seen), "simulated", n->simulated, "jobs", jobs);
}

int st_node_find(srv_state *st, const char *name)
{
    for (uint32_t i = 0; i < st->nnodes; i++)
        if (strcmp(st->nodes[i].name, name) == 0) return (int)i;
    return -1;
}

static void do_nodes(srv_state *st, srv_req *r)
{
    int one = r->kind == RQ_NODE ? st_node_find(st, r->name) : -1;
    if (r->kind == RQ_NODE && one < 0)
        return srv_reply_error(r, 404, "not_found", "no node %s", r->name);
    json_t **nj = node_jobs(st);
    if (!nj) return srv_reply_error(r, 503, "unavailable", "out of memory");
    if (one >= 0) {
        json_t *o = st_node_json(st, (uint32_t)one, nj[one]);
        nj[one] = NULL;
        for (uint32_t k = 0; k < st->nnodes; k++) json_decref(nj[k]);
        free(nj);
        return srv_reply_json(r, 200, o);
    }
    json_t *arr = json_array();
    for (uint32_t i = 0; i < st->nnodes; i++)
        json_array_append_new(arr, st_node_json(st, i, nj[i]));
    free(nj);
    srv_reply_json(r, 200, json_pack("{s:o}", "nodes", arr));
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
        srv_job *j = st_job_get(st, id);
        if (!j || j->tenant != i) continue;
        if (j->state == ALLOT_JOB_PENDING) pend++;
        if (j->state != ALLOT_JOB_RUNNING) continue;
        run++;
        int64_t m = (int64_t)j->gang * j->devices * j->milli;
        int chip = j->chip;
        if (chip < 0 && j->tasks && j->devices && j->tasks[0].node < st->nnodes)
            chip = st_chip_index(st, st->nodes[j->tasks[0].node].chip);
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
    int i = st_tenant_add(st, r->name);
    if (i < 0)
        return srv_reply_error(r, 400, "bad_request", "more than %d tenants",
                               ALLOT_SERVER_MAX_TENANTS);
    t.dirty = 1;
    st->tenants[i] = t;
    st->writes++;
    st->need_rebuild = 1;
    srv_reply_json(r, 200, tenant_json(st, i));
}

/* Drain (no new work, running tasks stay) or undrain a node. */
static void do_drain(srv_state *st, srv_req *r)
{
    int i = st_node_find(st, r->name);
    if (i < 0) return srv_reply_error(r, 404, "not_found", "no node %s", r->name);
    srv_node *n = &st->nodes[i];
    if (n->draining != r->q_all) {
        n->draining = r->q_all;
        n->dirty = 1;
        st->writes++;
        if (n->up && st->s && !st->need_rebuild && (uint32_t)i < allot_cluster_nnodes(st->c)) {
            allot_event ev = {.kind = r->q_all ? ALLOT_EV_NODE_DRAIN : ALLOT_EV_NODE_UP,
                              .node = (uint32_t)i};
            st_core_event(st, &ev);
        }
        st_logf_(st, "node %s %s", n->name, r->q_all ? "drains" : "takes work again");
    }
    srv_reply_json(r, 200, st_node_json(st, (uint32_t)i, NULL));
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
        srv_buf_printf(&b, "allot_jobs{state=\"%s\"} %" PRIu64 "\n", st_state_name(k),
                       st->count[k]);
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
        "# TYPE allot_commits_total counter\nallot_commits_total %" PRIu64 "\n"
        "# HELP allot_jobs_expired_total Finished jobs dropped after job_retention.\n"
        "# TYPE allot_jobs_expired_total counter\nallot_jobs_expired_total %" PRIu64 "\n"
        "# HELP allot_core_job_slots Job records the scheduler core holds (live jobs; reused).\n"
        "# TYPE allot_core_job_slots gauge\nallot_core_job_slots %" PRIu32 "\n",
        st->decisions, st->submissions, st->requeues, st->commits, st->expired, st->next_cid);
    hist_text(&b, "allot_scheduling_latency_seconds", &st->lat_sched, lat_bounds, NB_LAT);
    hist_text(&b, "allot_commit_seconds", &st->lat_commit, lat_bounds, NB_LAT);
    static const double bb[NB_LAT] = {1,   2,   4,    8,    16,   32,   64,    128,
                                      256, 512, 1024, 2048, 4096, 8192, 16384, 32768};
    hist_text(&b, "allot_commit_batch_size", &st->batch, bb, NB_LAT);
    st_svc_metrics(st, &b);
    srv_http_metrics(&b.p, &b.n, &b.cap);
    free(r->out);
    r->out = b.p;
    r->out_len = b.n;
    r->status = b.p ? 200 : 500;
    r->ctype = "text/plain; version=0.0.4";
}

/* returns 1 if the request stays with the state thread (long poll) */
int st_handle(srv_state *st, srv_req *r)
{
    switch (r->kind) {
    case RQ_HEALTH: {
        int up = 0;
        for (uint32_t i = 0; i < st->nnodes; i++) up += st->nodes[i].up != 0;
        srv_reply_json(r, 200,
                       json_pack("{s:s,s:I,s:I,s:i}", "status", "ok", "jobs_pending",
                                 (json_int_t)st->count[0], "jobs_running", (json_int_t)st->count[1],
                                 "nodes_up", up));
        break;
    }
    case RQ_METRICS: do_metrics(st, r); break;
    case RQ_SUBMIT: do_submit(st, r); break;
    case RQ_JOBS: do_jobs(st, r); break;
    case RQ_JOB: {
        srv_job *j = visible_job(st, r);
        if (j) {
            json_t *o = st_job_json(st, j);
            json_object_set_new(o, "events", st_jev_json(j));
            srv_reply_json(r, 200, o);
        }
        break;
    }
    case RQ_CANCEL: do_cancel(st, r); break;
    case RQ_JOB_LOGS: do_job_logs(st, r); break;
    case RQ_NODES:
    case RQ_NODE: do_nodes(st, r); break;
    case RQ_REGISTER: st_do_register(st, r); break;
    case RQ_POLL: return st_do_poll(st, r);
    case RQ_EVENTS: st_do_events(st, r); break;
    case RQ_TENANTS: do_tenants(st, r); break;
    case RQ_PUT_TENANT: do_put_tenant(st, r); break;
    case RQ_DRAIN: do_drain(st, r); break;
    case RQ_SVC_LIST:
    case RQ_SVC_CREATE:
    case RQ_SVC_GET:
    case RQ_SVC_PATCH:
    case RQ_SVC_DELETE:
    case RQ_SVC_LOAD: st_svc_handle(st, r); break;
    case RQ_UI: st_dash_handle(st, r); break;
    default: srv_reply_error(r, 500, "internal", "unknown request"); break;
    }
    return 0;
}
