/* src/server/agents.c - the agents' side of the state thread: registration
 * and reconciliation, long polls that deliver assignments once per (job,
 * task, epoch) and kills by level, task events (started, exited). */
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

/* Is (job, task, epoch) something node i should be running? */
static int wanted(srv_state *st, uint32_t i, uint32_t job, int task, uint32_t epoch)
{
    srv_job *j = st_job_get(st, job);
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
            srv_job *j = st_job_get(st, job);
            srv_task *t = &j->tasks[task];
            if (t->st < T_STARTED) {
                t->st = T_STARTED;
                t->launch = st->now;
                st_job_started_all(j);
            }
        } else {
            st_node_push(st, i, 1, job, (uint16_t)task, epoch, "not wanted");
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
void st_poll_reply(srv_state *st, uint32_t i, srv_req *r)
{
    srv_node *n = &st->nodes[i];
    json_t *as = json_array(), *ks = json_array();
    for (size_t k = 0; k < n->nassign; k++) {
        srv_ref *a = &n->assign[k];
        if (!wanted(st, i, a->job, a->task, a->epoch)) continue;
        srv_job *j = st_job_get(st, a->job);
        srv_task *t = &j->tasks[a->task];
        if (t->st != T_ASSIGNED) continue;
        t->st = T_SENT;
        t->sent = st->now;
        json_array_append_new(as, assign_json(st, j, a->task));
    }
    n->nassign = 0;
    for (size_t k = 0; k < n->nkill; k++) {
        srv_ref *a = &n->kill[k];
        json_t *o = json_pack("{s:I,s:i,s:I,s:s}", "job", (json_int_t)a->job, "task", a->task,
                              "epoch", (json_int_t)a->epoch, "reason", a->why ? a->why : "stop");
        if (a->grace > 0) json_object_set_new(o, "grace", json_real(a->grace));
        json_array_append_new(ks, o);
    }
    n->nkill = 0;
    srv_reply_json(r, 200,
                   json_pack("{s:o,s:o,s:f}", "assign", as, "kill", ks, "heartbeat_interval",
                             st->cfg.heartbeat_interval));
    st_finish(st, r);
}

void st_node_wake(srv_state *st, uint32_t i)
{
    srv_node *n = &st->nodes[i];
    if (n->poll && (n->nassign || n->nkill)) {
        srv_req *r = n->poll;
        n->poll = NULL;
        st_poll_reply(st, i, r);
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

void st_do_register(srv_state *st, srv_req *r)
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
    if (nn.ndev && st_chip_index(st, nn.chip) < 0 && st->nchips >= ALLOT_MAX_CHIP_TYPES)
        return srv_reply_error(r, 400, "bad_request", "chip: more than %d chip types",
                               ALLOT_MAX_CHIP_TYPES);
    int i = st_node_find(st, nn.name);
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
        st_logf_(st, "node %s joined: %d x %s", nn.name, nn.ndev, nn.ndev ? nn.chip : "cpu");
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
    if (n->ndev && st_chip_index(st, n->chip) < 0) {
        snprintf(st->chips[st->nchips++], 64, "%s", n->chip);
        st->need_rebuild = 1;
    }
    json_decref(n->gpus);
    n->gpus = gpus && json_is_array(gpus) ? json_incref(gpus) : NULL;
    n->last_seen = st->now;
    n->simulated = json_is_true(json_object_get(b, "simulated"));
    n->dirty = 1;
    st->writes++;
    if (!n->up) {
        n->up = 1;
        st_logf_(st, "node %s is up", n->name);
        if (!st->need_rebuild && st->s) {
            allot_event ev = {.kind = ALLOT_EV_NODE_UP, .node = (uint32_t)i};
            st_core_event(st, &ev);
            if (n->draining) {
                allot_event dr = {.kind = ALLOT_EV_NODE_DRAIN, .node = (uint32_t)i};
                st_core_event(st, &dr);
            }
        }
    }
    /* reconciliation: what it runs that is not wanted is killed; what it
     * should run (delivered before) but does not report is lost */
    json_t *running = json_object_get(b, "running");
    if (take_running(st, (uint32_t)i, running, err, sizeof err))
        return srv_reply_error(r, 400, "bad_request", "%s", err);
    for (uint32_t id = 1; n->ntasks > 0 && id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
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
            allot_event ev = {.kind = ALLOT_EV_REQUEUE, .job = j->cid};
            st_core_event(st, &ev);
            st->stop_why = NULL;
        } else if (lost) { /* the core is rebuilt at the end of the batch: requeue now */
            st_job_kill_tasks(st, j, "requeued");
            st_job_drop_tasks(st, j);
            st_job_reason(j, "requeued: its tasks on %s were lost", n->name);
            st_job_set_state(st, j, ALLOT_JOB_PENDING);
            st->need_rebuild = 1;
        }
    }
    json_t *ks = json_array();
    for (size_t k = 0; k < n->nkill; k++) {
        json_t *o = json_pack("{s:I,s:i,s:I,s:s}", "job", (json_int_t)n->kill[k].job, "task",
                              n->kill[k].task, "epoch", (json_int_t)n->kill[k].epoch, "reason",
                              n->kill[k].why ? n->kill[k].why : "stop");
        if (n->kill[k].grace > 0) json_object_set_new(o, "grace", json_real(n->kill[k].grace));
        json_array_append_new(ks, o);
    }
    n->nkill = 0;
    /* tasks assigned but never delivered stay queued for its next poll */
    json_t *reply = json_pack("{s:o,s:f,s:f,s:o}", "node", st_node_json(st, (uint32_t)i, NULL),
                              "heartbeat_interval", st->cfg.heartbeat_interval, "node_timeout",
                              st->cfg.node_timeout, "kill", ks);
    srv_reply_json(r, 200, reply);
}

static int node_for_agent(srv_state *st, srv_req *r)
{
    int i = st_node_find(st, r->name);
    if (i < 0) {
        srv_reply_error(r, 404, "not_found", "no node %s: register first", r->name);
        return -1;
    }
    if (!st->nodes[i].up) {
        srv_reply_error(r, 404, "not_found", "node %s is down: register again", r->name);
        return -1;
    }
    st->nodes[i].last_seen = st->now;
    return i;
}

/* returns 1 when r was kept (suspended long poll) */
int st_do_poll(srv_state *st, srv_req *r)
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
        st_finish(st, old);
    }
    if (n->nassign || n->nkill || r->q_wait <= 0) {
        st_poll_reply(st, (uint32_t)i, r);
        return 1; /* poll_reply queued it */
    }
    r->deadline = st->now + r->q_wait;
    n->poll = r;
    return 1;
}

void st_task_exit(srv_state *st, srv_job *j, int t, int code, int sig, const char *msg,
                  uint32_t node)
{
    srv_task *k = &j->tasks[t];
    if (k->st == T_EXITED) return;
    k->st = T_EXITED;
    k->code = sig ? 128 + sig : code;
    if (j->service && st_svc_task_exit(st, j, code, sig)) return; /* a drained replica */
    if (!msg && code == 0 && sig == 0) {
        for (int x = 0; x < j->gang; x++)
            if (j->tasks[x].st != T_EXITED) return;
        allot_event ev = {.kind = ALLOT_EV_FINISH, .job = j->cid};
        st_core_event(st, &ev);
        j->has_exit = 1;
        j->exit_code = 0;
        st_job_reason(j, "%s", "");
        free(j->reason);
        j->reason = NULL;
        st_job_end(st, j, ALLOT_JOB_SUCCEEDED, "finished");
        st_logf_(st, "job %" PRIu32 " succeeded", j->id);
        return;
    }
    allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = j->cid};
    st_core_event(st, &ev);
    j->has_exit = 1;
    j->exit_code = k->code;
    const char *nn = node < st->nnodes ? st->nodes[node].name : "?";
    if (msg)
        st_job_reason(j, "task %d failed to start on %s: %.150s", t, nn, msg);
    else if (sig)
        st_job_reason(j, "task %d killed by signal %d on %s", t, sig, nn);
    else
        st_job_reason(j, "exit code %d on task %d (%s)", code, t, nn);
    st_job_end(st, j, ALLOT_JOB_FAILED, "another task failed");
    st_logf_(st, "job %" PRIu32 " failed: %s", j->id, j->reason);
}

void st_do_events(srv_state *st, srv_req *r)
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
        srv_job *j = st_job_get(st, job);
        srv_task *t = &j->tasks[task];
        double when = tm ? json_number_value(tm) : st->now;
        if (!(when > 0) || fabs(when - st->now) > 3600) when = st->now; /* a skewed clock */
        if (is_start) {
            if (t->st < T_STARTED) {
                t->st = T_STARTED;
                t->launch = when;
                st_job_started_all(j);
                st_job_dirty(st, j);
            }
        } else {
            if (t->st < T_STARTED) t->launch = when;
            const char *msg = is_fail ? json_string_value(json_object_get(o, "message")) : NULL;
            if (is_fail && !msg) msg = "unknown error";
            st_task_exit(st, j, task, code ? (int)json_integer_value(code) : 0,
                         sig ? (int)json_integer_value(sig) : 0, msg, (uint32_t)i);
        }
    }
    srv_reply_json(r, 200, json_object());
}
