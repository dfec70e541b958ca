/* src/server/dash.c - the state thread's side of the dashboard: the history
 * rings it samples, and the JSON routes the page reads (docs/API.md,
 * "Dashboard routes"):
 *   GET /v1/fleet            every node in one compact array, a letter per device
 *   GET /v1/fleet/{node}     one node's devices and the jobs on each
 *   GET /v1/queue            one page of jobs, filtered and sorted here, with counts
 *   GET /v1/stats/history    the samples since a time, as columns
 * Built for 10,000 nodes and 100,000 jobs: the fleet is written as text in
 * one pass over the nodes (no JSON tree), the queue is one pass over the jobs
 * plus a sort of those that match, and only one page of it is encoded.
 *
 * "Lent" devices are those held by a tenant beyond its guaranteed quota for
 * that chip type (borrowed capacity the scheduler may reclaim): a tenant's
 * running jobs of a chip type count against its quota in the order they
 * started, and the devices of those that start beyond it are lent. Without
 * any quota configured nothing is lent. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allot/cluster.h"
#include "allot/sched.h"
#include "state_int.h"
#include "ui_int.h"

#define HIST_FINE_INTERVAL   2.0  /* s */
#define HIST_FINE_CAP        1800 /* one hour */
#define HIST_COARSE_INTERVAL 60.0 /* s */
#define HIST_COARSE_CAP      1440 /* one day */

typedef struct srv_dash {
    srv_hring fine, coarse;
    int failed; /* out of memory once: no history */
} srv_dash;

static srv_dash *dash_get(srv_state *st)
{
    if (st->dash || (st->dash = calloc(1, sizeof *st->dash)) == NULL) return st->dash;
    if (srv_hring_init(&st->dash->fine, HIST_FINE_CAP, HIST_FINE_INTERVAL) ||
        srv_hring_init(&st->dash->coarse, HIST_COARSE_CAP, HIST_COARSE_INTERVAL))
        st->dash->failed = 1;
    return st->dash;
}

void st_dash_free(srv_state *st)
{
    if (!st->dash) return;
    srv_hring_fini(&st->dash->fine);
    srv_hring_fini(&st->dash->coarse);
    free(st->dash);
    st->dash = NULL;
}

static void reply(srv_req *r, json_t *j)
{
    free(r->out);
    /* 13 significant digits: times to the millisecond, devices to the milli */
    r->out = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(13)) : NULL;
    r->out_len = r->out ? strlen(r->out) : 0;
    r->status = r->out ? 200 : 500;
    r->ctype = "application/json";
    json_decref(j);
}

/* The node's chip index in st->chips, or -1. */
static int node_chip(srv_state *st, const srv_node *n)
{
    return n->ndev ? st_chip_index(st, n->chip) : -1;
}

/* Free milli of node i's device d as the core sees it (1000 when the core
 * does not know the node yet). */
static int dev_free(srv_state *st, uint32_t i, int d)
{
    if (!st->c || i >= allot_cluster_nnodes(st->c)) return 1000;
    const allot_node *cn = allot_cluster_node(st->c, i);
    if (d >= cn->ndev) return 1000;
    return allot_cluster_dev_free(st->c)[cn->dev0 + (uint32_t)d];
}

/* ---- sampling ----------------------------------------------------------------------------------
 */

static void sample(srv_state *st, srv_hsample *s)
{
    s->pending = (uint32_t)st->count[ALLOT_JOB_PENDING];
    s->running = (uint32_t)st->count[ALLOT_JOB_RUNNING];
    for (uint32_t i = 0; i < st->nnodes; i++) {
        srv_node *n = &st->nodes[i];
        if (!n->up)
            s->nodes_down++;
        else if (n->draining)
            s->nodes_drain++;
        else
            s->nodes_up++;
        int k = node_chip(st, n);
        if (k < 0 || k >= SRV_HIST_CHIPS) continue;
        if (!n->up) {
            s->down[k] += n->ndev;
            continue;
        }
        s->total[k] += n->ndev;
        for (int d = 0; d < n->ndev; d++) s->used[k] += 1000 - dev_free(st, i, d);
    }
    if (!s->pending) return;
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (!j || j->state != ALLOT_JOB_PENDING) continue;
        int64_t m = (int64_t)j->gang * j->devices * (j->devices ? j->milli : 0);
        if (j->chip < 0)
            s->demand_any += m;
        else if (j->chip < SRV_HIST_CHIPS)
            s->demand[j->chip] += m;
    }
}

void st_dash_tick(srv_state *st)
{
    srv_dash *d = dash_get(st);
    if (!d || d->failed) return;
    int fine = srv_hring_due(&d->fine, st->now), coarse = srv_hring_due(&d->coarse, st->now);
    if (!fine && !coarse) return;
    srv_hsample s;
    memset(&s, 0, sizeof s);
    sample(st, &s);
    if (fine) {
        srv_hsample *x = srv_hring_push(&d->fine, st->now);
        s.t = st->now;
        *x = s;
    }
    if (coarse) {
        srv_hsample *x = srv_hring_push(&d->coarse, st->now);
        s.t = st->now;
        *x = s;
    }
}

static void do_history(srv_state *st, srv_req *r)
{
    srv_dash *d = dash_get(st);
    if (!d || d->failed) return srv_reply_error(r, 503, "unavailable", "no history: out of memory");
    const srv_hring *h = r->q_all ? &d->coarse : &d->fine;
    json_t *o = srv_hring_json(h, r->q_since, st->nchips, (const char(*)[64])st->chips);
    json_object_set_new(o, "now", json_real(st->now));
    json_object_set_new(o, "resolution", json_string(r->q_all ? "coarse" : "fine"));
    reply(r, o);
}

/* ---- lent devices ------------------------------------------------------------------------------
 */

typedef struct runref {
    double start;
    uint32_t id;
} runref;

static int cmp_run(const void *a, const void *b)
{
    const runref *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The chip index a running job uses: its own, else its first task's node's. */
static int job_chip(srv_state *st, const srv_job *j)
{
    if (j->chip >= 0) return j->chip;
    if (j->tasks && j->devices && j->tasks[0].node < st->nnodes)
        return node_chip(st, &st->nodes[j->tasks[0].node]);
    return -1;
}

/* Marks the running jobs that use borrowed devices: returns a bitmap of job
 * ids (calloc'd; NULL when no tenant has a quota or out of memory). */
static uint8_t *borrowed_jobs(srv_state *st)
{
    int any = 0;
    for (int t = 0; t < st->ntenants; t++) any |= st->tenants[t].nquota > 0;
    if (!any || !st->count[ALLOT_JOB_RUNNING]) return NULL;
    runref *v = malloc(st->count[ALLOT_JOB_RUNNING] * sizeof *v);
    uint8_t *bits = calloc(st->next_id / 8 + 1, 1);
    int64_t *use = calloc((size_t)st->ntenants * ALLOT_MAX_CHIP_TYPES, sizeof *use);
    int64_t *quota = calloc((size_t)st->ntenants * ALLOT_MAX_CHIP_TYPES, sizeof *quota);
    size_t n = 0;
    if (!v || !bits || !use || !quota) {
        free(v);
        free(bits);
        free(use);
        free(quota);
        return NULL;
    }
    for (int t = 0; t < st->ntenants; t++)
        for (int q = 0; q < st->tenants[t].nquota; q++) {
            int k = st_chip_index(st, st->tenants[t].quota_chip[q]);
            if (k >= 0)
                quota[(size_t)t * ALLOT_MAX_CHIP_TYPES + (size_t)k] =
                    (int64_t)st->tenants[t].quota_devices[q] * 1000;
        }
    for (uint32_t id = 1; id < st->next_id && n < st->count[ALLOT_JOB_RUNNING]; id++) {
        srv_job *j = st_job_get(st, id);
        if (j && j->state == ALLOT_JOB_RUNNING && j->devices) v[n++] = (runref){j->start_time, id};
    }
    qsort(v, n, sizeof *v, cmp_run);
    for (size_t x = 0; x < n; x++) {
        srv_job *j = st_job_get(st, v[x].id);
        int k = job_chip(st, j);
        if (k < 0) continue;
        size_t slot = (size_t)j->tenant * ALLOT_MAX_CHIP_TYPES + (size_t)k;
        use[slot] += (int64_t)j->gang * j->devices * j->milli;
        if (use[slot] > quota[slot]) bits[j->id / 8] |= (uint8_t)(1u << (j->id % 8));
    }
    free(v);
    free(use);
    free(quota);
    return bits;
}

static int is_borrowed(const uint8_t *bits, uint32_t id)
{
    return bits && (bits[id / 8] >> (id % 8)) & 1;
}

/* ---- GET /v1/fleet -----------------------------------------------------------------------------
 */

/* Racks are named by zone/block/rack; the fleet lists each once. */
typedef struct rackmap {
    uint32_t *slot; /* hash -> rack index + 1 */
    size_t cap;
    uint32_t *first; /* rack index -> a node of it */
    uint32_t n, ncap;
} rackmap;

static uint64_t rack_hash(const srv_node *n)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[3] = {n->zone, n->block, n->rack};
    for (int p = 0; p < 3; p++) {
        for (const char *c = parts[p]; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static int same_rack(const srv_node *a, const srv_node *b)
{
    return strcmp(a->rack, b->rack) == 0 && strcmp(a->block, b->block) == 0 &&
           strcmp(a->zone, b->zone) == 0;
}

/* The rack index of node i (new racks numbered in order of appearance);
 * -1 when out of memory. */
static int64_t rack_of(srv_state *st, rackmap *m, uint32_t i)
{
    const srv_node *n = &st->nodes[i];
    if (m->n * 2 + 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        uint32_t *s = calloc(cap, sizeof *s);
        if (!s) return -1;
        for (uint32_t r = 0; r < m->n; r++) {
            size_t p = rack_hash(&st->nodes[m->first[r]]) & (cap - 1);
            while (s[p]) p = (p + 1) & (cap - 1);
            s[p] = r + 1;
        }
        free(m->slot);
        m->slot = s;
        m->cap = cap;
    }
    size_t p = rack_hash(n) & (m->cap - 1);
    while (m->slot[p]) {
        uint32_t r = m->slot[p] - 1;
        if (same_rack(&st->nodes[m->first[r]], n)) return r;
        p = (p + 1) & (m->cap - 1);
    }
    if (m->n == m->ncap) {
        uint32_t c = m->ncap ? m->ncap * 2 : 64;
        uint32_t *f = realloc(m->first, c * sizeof *f);
        if (!f) return -1;
        m->first = f;
        m->ncap = c;
    }
    m->first[m->n] = i;
    m->slot[p] = m->n + 1;
    return m->n++;
}

#define ZDEF(s, d) ((s)[0] ? (s) : (d))

static void do_fleet(srv_state *st, srv_req *r)
{
    uint8_t *lent = borrowed_jobs(st);
    /* devices held by lent jobs: one bit per (node, device) */
    uint64_t *lentdev = NULL;
    if (lent) {
        lentdev = calloc(st->nnodes ? st->nnodes : 1, sizeof *lentdev);
        for (uint32_t id = 1; lentdev && id < st->next_id; id++) {
            srv_job *j = st_job_get(st, id);
            if (!j || j->state != ALLOT_JOB_RUNNING || !j->tasks || !is_borrowed(lent, id))
                continue;
            for (int t = 0; t < j->gang; t++)
                if (j->tasks[t].node < st->nnodes) lentdev[j->tasks[t].node] |= j->tasks[t].devs;
        }
    }
    rackmap m = {0};
    int32_t *rk = malloc((st->nnodes ? st->nnodes : 1) * sizeof *rk);
    srv_buf b = {0};
    int ok = rk != NULL;
    for (uint32_t i = 0; ok && i < st->nnodes; i++) {
        int64_t x = rack_of(st, &m, i);
        ok = x >= 0;
        if (ok) rk[i] = (int32_t)x;
    }
    if (!ok) {
        free(rk);
        free(m.slot);
        free(m.first);
        free(lent);
        free(lentdev);
        return srv_reply_error(r, 503, "unavailable", "out of memory");
    }
    srv_buf_printf(&b, "{\"time\":%.3f,\"chips\":[", st->now);
    for (int k = 0; k < st->nchips; k++) srv_buf_printf(&b, "%s\"%s\"", k ? "," : "", st->chips[k]);
    srv_buf_printf(&b, "],\"racks\":[");
    for (uint32_t x = 0; x < m.n; x++) {
        const srv_node *n = &st->nodes[m.first[x]];
        srv_buf_printf(&b, "%s[\"%s\",\"%s\",\"%s\"]", x ? "," : "", ZDEF(n->zone, "zone-0"),
                       ZDEF(n->block, "block-0"), ZDEF(n->rack, "rack-0"));
    }
    srv_buf_printf(&b, "],\"nodes\":[");
    char devs[ALLOT_MAX_DEVS_PER_NODE + 1];
    for (uint32_t i = 0; i < st->nnodes; i++) {
        const srv_node *n = &st->nodes[i];
        const char *state = !n->up ? "down" : n->draining ? "draining" : "up";
        int nd = n->ndev > ALLOT_MAX_DEVS_PER_NODE ? ALLOT_MAX_DEVS_PER_NODE : n->ndev;
        for (int d = 0; d < nd; d++) {
            int f = dev_free(st, i, d);
            char c;
            if (!n->up)
                c = 'D';
            else if (lentdev && f < 1000 && (lentdev[i] >> d & 1))
                c = 'L';
            else if (f >= 1000)
                c = n->draining ? 'R' : 'F';
            else if (f <= 0)
                c = 'U';
            else
                c = 'P';
            devs[d] = c;
        }
        devs[nd] = 0;
        /* names obey allot_name_problem(): nothing to escape */
        srv_buf_printf(&b, "%s[\"%s\",%" PRId32 ",%d,\"%s\",\"%s\",%" PRIu32 "]", i ? "," : "",
                       n->name, rk[i], node_chip(st, n), state, devs, n->ntasks);
    }
    srv_buf_printf(&b, "]}");
    free(rk);
    free(m.slot);
    free(m.first);
    free(lent);
    free(lentdev);
    if (!b.p) return srv_reply_error(r, 503, "unavailable", "out of memory");
    free(r->out);
    r->out = b.p;
    r->out_len = b.n;
    r->status = 200;
    r->ctype = "application/json";
}

/* ---- GET /v1/fleet/{node}
 * ------------------------------------------------------------------------ */

static int may_see(const srv_req *r, const srv_state *st, const srv_job *j)
{
    if (r->role != ROLE_TENANT) return 1;
    return strcmp(st->cfg.tenants[r->tenant].name, st->tenants[j->tenant].name) == 0;
}

static void do_node(srv_state *st, srv_req *r)
{
    int i = st_node_find(st, r->name);
    if (i < 0) return srv_reply_error(r, 404, "not_found", "no node %s", r->name);
    srv_node *n = &st->nodes[i];
    uint8_t *lent = borrowed_jobs(st);
    json_t *devs = json_array(), *jobs = json_array();
    for (int d = 0; d < n->ndev; d++) {
        int f = dev_free(st, (uint32_t)i, d);
        json_array_append_new(devs, json_pack("{s:i,s:i,s:o}", "index", d, "free_milli",
                                              n->up ? f : 0, "jobs", json_array()));
    }
    int others = 0;
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (!j || j->state != ALLOT_JOB_RUNNING || !j->tasks) continue;
        uint64_t mine = 0;
        int tasks = 0;
        for (int t = 0; t < j->gang; t++)
            if (j->tasks[t].node == (uint32_t)i) {
                mine |= j->tasks[t].devs;
                tasks++;
            }
        if (!tasks) continue;
        int visible = may_see(r, st, j);
        json_t *ref;
        if (visible) {
            const char *nm = json_string_value(json_object_get(j->spec, "name"));
            char buf[32];
            if (!nm) {
                snprintf(buf, sizeof buf, "job-%" PRIu32, j->id);
                nm = buf;
            }
            ref = json_pack("{s:I,s:s,s:s,s:i,s:i,s:b}", "id", (json_int_t)j->id, "name", nm,
                            "tenant", st->tenants[j->tenant].name, "milli", j->milli, "tasks",
                            tasks, "lent", is_borrowed(lent, id));
            json_array_append(jobs, ref);
        } else {
            others++;
            ref = json_pack("{s:n,s:n,s:n,s:i,s:i,s:b}", "id", "name", "tenant", "milli", j->milli,
                            "tasks", tasks, "lent", is_borrowed(lent, id));
        }
        for (uint64_t mm = mine; mm; mm &= mm - 1) {
            int d = __builtin_ctzll(mm);
            if (d < n->ndev)
                json_array_append(json_object_get(json_array_get(devs, (size_t)d), "jobs"), ref);
        }
        json_decref(ref);
    }
    free(lent);
    json_t *node = st_node_json(st, (uint32_t)i, NULL);
    int64_t cpu_free = n->cpu, mem_free = n->mem;
    if (st->c && (uint32_t)i < allot_cluster_nnodes(st->c)) {
        cpu_free = allot_cluster_node(st->c, (uint32_t)i)->cpu_free;
        mem_free = allot_cluster_node(st->c, (uint32_t)i)->mem_free;
    }
    json_object_set_new(node, "jobs", jobs);
    reply(r, json_pack("{s:o,s:o,s:i,s:I,s:I}", "node", node, "devices", devs, "other_jobs", others,
                       "cpu_free", (json_int_t)cpu_free, "mem_free", (json_int_t)mem_free));
}

/* ---- GET /v1/queue -----------------------------------------------------------------------------
 */

enum { SORT_ID = 0, SORT_WAIT, SORT_PRIORITY, SORT_DEVICES, SORT_SUBMIT, SORT_TENANT, SORT_STATE };

/* A row to sort: ascending by (key, tie). Descending orders store -key and
 * ~id, so that ties go by id in the same direction as the key. */
typedef struct qrow {
    double key;
    uint32_t tie, id;
} qrow;

static int cmp_q(const void *a, const void *b)
{
    const qrow *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Seconds the job waited (pending: so far; else until its latest start). */
static double job_wait(const srv_state *st, const srv_job *j)
{
    if (j->state == ALLOT_JOB_PENDING) return st->now - j->submit_time;
    if (j->start_time > 0) return j->start_time - j->submit_time;
    return j->end_time > 0 ? j->end_time - j->submit_time : 0;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

static int text_match(srv_state *st, const srv_job *j, const char *q)
{
    if (!q[0]) return 1;
    char idb[16];
    snprintf(idb, sizeof idb, "%" PRIu32, j->id);
    if (strcmp(idb, q) == 0) return 1;
    const char *nm = json_string_value(json_object_get(j->spec, "name"));
    if (nm && contains_ci(nm, q)) return 1;
    return contains_ci(st->tenants[j->tenant].name, q);
}

static json_t *queue_row(srv_state *st, const srv_job *j)
{
    char nm[32], nodes[160] = "";
    const char *name = json_string_value(json_object_get(j->spec, "name"));
    if (!name) {
        snprintf(nm, sizeof nm, "job-%" PRIu32, j->id);
        name = nm;
    }
    if (j->state == ALLOT_JOB_RUNNING && j->tasks) {
        size_t n = 0;
        int shown = 0, distinct = 0;
        for (int t = 0; t < j->gang; t++) {
            uint32_t nd = j->tasks[t].node;
            if (nd >= st->nnodes) continue;
            int seen = 0;
            for (int u = 0; u < t && !seen && u < 64; u++) seen = j->tasks[u].node == nd;
            if (seen) continue;
            distinct++;
            if (shown < 2 && n < 100) {
                n += (size_t)snprintf(nodes + n, sizeof nodes - n, "%s%s", shown ? "," : "",
                                      st->nodes[nd].name);
                shown++;
            }
        }
        if (distinct > shown && n < sizeof nodes)
            snprintf(nodes + n, sizeof nodes - n, " +%d", distinct - shown);
    }
    json_t *o =
        json_pack("{s:I,s:s,s:s,s:s,s:i,s:i,s:i,s:o,s:i,s:b,s:f,s:o,s:o,s:f,s:s,s:s,s:I}", "id",
                  (json_int_t)j->id, "name", name, "tenant", st->tenants[j->tenant].name, "state",
                  st_state_name(j->state), "devices", j->devices, "milli", j->milli, "gang_size",
                  j->gang, "chip", j->chip >= 0 ? json_string(st->chips[j->chip]) : json_null(),
                  "priority", j->priority, "preemptible", j->preemptible, "submit_time",
                  j->submit_time, "start_time", st_time_or_null(j->start_time), "end_time",
                  st_time_or_null(j->end_time), "wait", job_wait(st, j), "nodes", nodes, "reason",
                  j->reason ? j->reason : "", "epoch", (json_int_t)j->epoch);
    return o;
}

static void do_queue(srv_state *st, srv_req *r)
{
    static const char *sorts[] = {"id", "wait", "priority", "devices", "submit", "tenant", "state"};
    int sort = -1;
    for (int k = 0; k < (int)(sizeof sorts / sizeof sorts[0]); k++)
        if (strcmp(r->q_sort, sorts[k]) == 0) sort = k;
    if (sort < 0)
        return srv_reply_error(r, 400, "bad_request",
                               "sort: one of id, wait, priority, devices, submit, tenant, state");
    const char *own = r->role == ROLE_TENANT ? st->cfg.tenants[r->tenant].name : NULL;
    int tfilter = -2; /* -2: every tenant; -1: one that has no job */
    if (own || r->q_tenant[0]) {
        if (own && r->q_tenant[0] && strcmp(own, r->q_tenant) != 0)
            tfilter = -1;
        else
            tfilter = st_tenant_index(st, own ? own : r->q_tenant);
    }
    uint64_t counts[5] = {0};
    size_t cap = 0, n = 0;
    qrow *v = NULL;
    int desc = r->q_all;
    /* tenants by name: their rank is the key of a sort by tenant */
    int rank[ALLOT_SERVER_MAX_TENANTS];
    if (sort == SORT_TENANT) {
        const char *names[ALLOT_SERVER_MAX_TENANTS];
        for (int t = 0; t < st->ntenants; t++) names[t] = st->tenants[t].name;
        qsort(names, (size_t)st->ntenants, sizeof *names, cmp_name);
        for (int t = 0; t < st->ntenants; t++) rank[st_tenant_index(st, names[t])] = t;
    }
    for (uint32_t id = 1; tfilter != -1 && id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (!j || (tfilter >= 0 && j->tenant != tfilter) || !text_match(st, j, r->q_text)) continue;
        counts[j->state]++;
        if (!(r->q_states >> j->state & 1)) continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 1024;
            qrow *w = realloc(v, c * sizeof *w);
            if (!w) {
                free(v);
                return srv_reply_error(r, 503, "unavailable", "out of memory");
            }
            v = w;
            cap = c;
        }
        double key = id;
        switch (sort) {
        case SORT_WAIT: key = job_wait(st, j); break;
        case SORT_PRIORITY: key = j->priority; break;
        case SORT_DEVICES:
            key = (double)j->gang * j->devices * (j->devices ? j->milli : 0) / 1000.0;
            break;
        case SORT_SUBMIT: key = j->submit_time; break;
        case SORT_TENANT: key = rank[j->tenant]; break;
        case SORT_STATE: key = j->state; break;
        default: break;
        }
        v[n++] = desc ? (qrow){-key, ~id, id} : (qrow){key, id, id};
    }
    if ((sort != SORT_ID || desc) && n) qsort(v, n, sizeof *v, cmp_q);
    json_t *rows = json_array();
    size_t off = (size_t)r->q_offset;
    for (size_t k = off; k < n && k < off + (size_t)r->q_limit; k++)
        json_array_append_new(rows, queue_row(st, st_job_get(st, v[k].id)));
    free(v);
    json_t *cnt = json_object(), *tn = json_array();
    for (int k = 0; k < 5; k++)
        json_object_set_new(cnt, st_state_name(k), json_integer((json_int_t)counts[k]));
    for (int t = 0; t < st->ntenants; t++)
        if (!own || strcmp(own, st->tenants[t].name) == 0)
            json_array_append_new(tn, json_string(st->tenants[t].name));
    reply(r, json_pack("{s:f,s:I,s:I,s:I,s:o,s:o,s:o}", "now", st->now, "total", (json_int_t)n,
                       "offset", (json_int_t)off, "limit", (json_int_t)r->q_limit, "counts", cnt,
                       "tenants", tn, "jobs", rows));
}

void st_dash_handle(srv_state *st, srv_req *r)
{
    switch (r->ui) {
    case SRV_UI_FLEET: do_fleet(st, r); break;
    case SRV_UI_NODE: do_node(st, r); break;
    case SRV_UI_QUEUE: do_queue(st, r); break;
    case SRV_UI_HISTORY: do_history(st, r); break;
    default: srv_reply_error(r, 500, "internal", "unknown dashboard route"); break;
    }
}
