/* src/server/persist.c - the state thread's store glue: what a batch writes
 * (jobs, their placements, nodes, tenants) and the recovery visitors that
 * read it all back at start. */
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

/* ---- persistence ------------------------------------------------------------------------------
 */

static int node_spec_put(srv_state *st, srv_node *n)
{
    json_t *o = json_pack("{s:s,s:i,s:I,s:I,s:s,s:s,s:s,s:b,s:b,s:O?}", "chip", n->chip, "devices",
                          n->ndev, "cpu", (json_int_t)n->cpu, "mem", (json_int_t)n->mem, "zone",
                          n->zone, "block", n->block, "rack", n->rack, "simulated", n->simulated,
                          "draining", n->draining, "gpus", n->gpus);
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

int st_flush(srv_state *st)
{
    int rc = 0;
    for (size_t k = 0; k < st->ndirty && rc == 0; k++) {
        srv_job *j = st_job_get(st, st->dirty[k]);
        if (!j || !j->dirty) continue;
        j->dirty = 0;
        json_t *rec = st_job_record(j);
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
    for (size_t k = 0; k < st->ngone && rc == 0; k++)
        rc = allot_store_delete_job(st->store, st->gone[k]);
    st->ngone = 0;
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
    if (rc == 0) rc = st_svc_flush(st);
    return rc;
}

/* ---- recovery ---------------------------------------------------------------------------------
 */

int st_rec_tenant(void *arg, const char *name, const char *spec)
{
    srv_state *st = arg;
    int i = st_tenant_add(st, name);
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

int st_rec_node(void *arg, const char *name, int state, const char *spec)
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
    n->draining = json_is_true(json_object_get(o, "draining"));
    json_t *g = json_object_get(o, "gpus");
    n->gpus = json_is_array(g) ? json_incref(g) : NULL;
    /* up until proven otherwise: its agent has node_timeout to come back */
    n->up = 1;
    n->last_seen = st->now;
    if (n->ndev && st_chip_index(st, n->chip) < 0 && st->nchips < ALLOT_MAX_CHIP_TYPES)
        snprintf(st->chips[st->nchips++], 64, "%s", n->chip);
    json_decref(o);
    return 0;
}

int st_rec_job(void *arg, uint32_t id, const char *tenant, int state, const char *spec)
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
    j->cid = CID_NONE;
    int ti = st_tenant_add(st, tenant);
    j->tenant = (uint16_t)(ti < 0 ? 0 : ti);
    st_job_take_spec(j, &sp, sp.chip[0] ? st_chip_index(st, sp.chip) : -1);
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
    const char *sv = json_string_value(json_object_get(o, "service"));
    if (sv) { /* a service's replica: services.c links it back (st_svc_start) */
        j->service = strdup(sv);
        j->replica = (int)json_integer_value(json_object_get(o, "replica"));
    }
    st_jev_load(j, json_object_get(o, "events"));
    j->state = (uint8_t)(state >= 0 && state < 5 ? state : ALLOT_JOB_FAILED);
    if (j->chip < 0 && sp.chip[0] && j->state <= ALLOT_JOB_RUNNING) { /* chip no longer known */
        j->state = ALLOT_JOB_FAILED;
        st_job_reason(j, "chip type %s is gone from the fleet", sp.chip);
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

int st_rec_task(void *arg, uint32_t job, uint32_t task, const char *node, uint64_t devs)
{
    srv_state *st = arg;
    srv_job *j = st_job_get(st, job);
    if (!j || !j->tasks || task >= (uint32_t)j->gang) return 0;
    int i = st_node_find(st, node);
    j->tasks[task].node = i < 0 ? UINT32_MAX : (uint32_t)i;
    if (i >= 0) st->nodes[i].ntasks++;
    j->tasks[task].devs = devs;
    j->tasks[task].st = T_SENT; /* its agent confirms by reporting it */
    j->tasks[task].sent = st->now;
    if (i >= 0 && st->nodes[i].simulated) { /* a simulated task starts over */
        st_sim_add(st, j, (int)task);
        st_job_started_all(j);
    }
    return 0;
}
