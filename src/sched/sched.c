/* sched.c - the scheduler core: jobs, the queue, events in, decisions out.
 *
 * Worked example. Queue order FIFO, no-fit policy QUEUE, one node with one
 * GPU. submit(J1: 1 GPU) -> START J1 on the node. submit(J2: 1 GPU) -> no
 * decision, J2 pending. finish(J1) -> the capacity returns, the retry pass
 * tries the pending jobs in queue order -> START J2.
 *
 * A retry pass tries every pending job once, in queue order, without
 * head-of-line blocking (a job that does not fit does not stop smaller ones
 * behind it). Within a pass, a task shape that failed is not tried again:
 * nothing was freed in between, so it would fail again.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>

#include "internal.h"

#define MEMO_MAX_ENTRIES (8u << 20) /* cap on (shape, node) FGD memo cells */

static const char *const policy_names[ALLOT_POLICY__COUNT] = {
    "random", "dotprod", "gpuclustering", "gpupacking", "bestfit", "fgd", "fgd-la",
};

const char *allot_policy_name(allot_policy p)
{
    return (unsigned)p < ALLOT_POLICY__COUNT ? policy_names[p] : "unknown";
}

int allot_policy_parse(const char *name)
{
    if (!name) return ALLOT_EINVAL;
    static const struct {
        const char *alias;
        allot_policy p;
    } aliases[] = {
        {"dot-product", ALLOT_POLICY_DOTPROD},
        {"gpu-clustering", ALLOT_POLICY_GPUCLUSTER},
        {"gpu-packing", ALLOT_POLICY_GPUPACKING},
        {"best-fit", ALLOT_POLICY_BESTFIT},
        {"fgdla", ALLOT_POLICY_FGDLA},
    };
    for (int i = 0; i < ALLOT_POLICY__COUNT; i++)
        if (strcasecmp(name, policy_names[i]) == 0) return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0) return aliases[i].p;
    return ALLOT_EINVAL;
}

void allot_sched_config_init(allot_sched_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = ALLOT_POLICY_BESTFIT;
    cfg->order = ALLOT_ORDER_FIFO;
    cfg->nofit = ALLOT_NOFIT_QUEUE;
    cfg->seed = 1;
}

void allot_decisions_clear(allot_decisions *d) { d->n = 0; }

void allot_decisions_free(allot_decisions *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}

allot_decision *allot__dec_push(allot_decisions *d)
{
    if (d->n >= d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        allot_decision *v = realloc(d->v, cap * sizeof *v);
        if (!v) return NULL;
        d->v = v;
        d->cap = cap;
    }
    allot_decision *x = &d->v[d->n++];
    memset(x, 0, sizeof *x);
    return x;
}

/* ---- node bookkeeping ---------------------------------------------------------- */

static double node_frag_compute(const allot_sched *s, uint32_t node)
{
    const allot_node *n = allot_cluster_node(s->c, node);
    if (n->state != ALLOT_NODE_UP) return 0.0;
    return allot__fgd_frag(&s->fgd, n->chip, n->cpu_free, allot_cluster_dev_free(s->c) + n->dev0,
                           n->ndev);
}

void allot__node_changed(allot_sched *s, uint32_t node)
{
    if (s->bfidx) allot__bfidx_update(s, node);
    if (!s->have_fgd) return;
    double v = node_frag_compute(s, node);
    s->frag_sum += v - s->node_frag[node];
    s->node_frag[node] = v;
    s->node_frag_ver[node] = allot_cluster_node(s->c, node)->version + 1u;
}

double allot__node_frag(allot_sched *s, uint32_t node)
{
    const allot_node *n = allot_cluster_node(s->c, node);
    if (s->node_frag_ver[node] != n->version + 1u) allot__node_changed(s, node);
    return s->node_frag[node];
}

double allot_sched_frag_milli(allot_sched *s) { return s->have_fgd ? s->frag_sum : 0.0; }

/* ---- shapes ------------------------------------------------------------------------- */

static int shape_intern(allot_sched *s, const allot_shape *sh, uint32_t *id)
{
    uint64_t h = XXH3_64bits(sh, sizeof *sh);
    if ((s->nshapes + 1) * 2 > s->shape_index_cap) {
        uint32_t cap = s->shape_index_cap ? s->shape_index_cap * 2 : 256;
        uint32_t *idx = malloc((size_t)cap * sizeof *idx);
        if (!idx) return ALLOT_ENOMEM;
        for (uint32_t i = 0; i < cap; i++) idx[i] = UINT32_MAX;
        for (uint32_t k = 0; k < s->nshapes; k++) {
            uint32_t j = (uint32_t)s->shapes[k].hash & (cap - 1);
            while (idx[j] != UINT32_MAX) j = (j + 1) & (cap - 1);
            idx[j] = k;
        }
        free(s->shape_index);
        s->shape_index = idx;
        s->shape_index_cap = cap;
    }
    uint32_t mask = s->shape_index_cap - 1;
    uint32_t j = (uint32_t)h & mask;
    for (;; j = (j + 1) & mask) {
        uint32_t k = s->shape_index[j];
        if (k == UINT32_MAX) break;
        if (s->shapes[k].hash == h && memcmp(&s->shapes[k].shape, sh, sizeof *sh) == 0) {
            *id = k;
            return 0;
        }
    }
    if (s->nshapes >= s->shapes_cap) {
        uint32_t cap = s->shapes_cap ? s->shapes_cap * 2 : 64;
        allot__shape_rec *v = realloc(s->shapes, (size_t)cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        s->shapes = v;
        s->shapes_cap = cap;
    }
    allot__shape_rec *r = &s->shapes[s->nshapes];
    memset(r, 0, sizeof *r);
    r->shape = *sh;
    r->hash = h;
    r->never_fits = -1;
    s->shape_index[j] = s->nshapes;
    *id = s->nshapes++;
    return 0;
}

/* Tasks of this shape node i could hold if it were empty. */
static int64_t node_capacity(const allot_sched *s, uint32_t i, const allot_shape *sh)
{
    const allot_node *n = allot_cluster_node(s->c, i);
    if (!allot__fits_empty(s, n, sh)) return 0;
    int64_t k = INT32_MAX;
    if (sh->ndev > 0) {
        int64_t per = sh->milli >= ALLOT_MILLI ? n->ndev / sh->ndev
                                               : (int64_t)n->ndev * (ALLOT_MILLI / sh->milli);
        if (per < k) k = per;
    }
    if (sh->cpu > 0 && n->cpu_cap / sh->cpu < k) k = n->cpu_cap / sh->cpu;
    if (sh->mem > 0 && n->mem_cap / sh->mem < k) k = n->mem_cap / sh->mem;
    return k;
}

/* Tasks of this shape the fleet could hold if it were empty. */
static int64_t fleet_capacity(const allot_sched *s, const allot_shape *sh)
{
    int64_t total = 0;
    uint32_t nn = allot_cluster_nnodes(s->c);
    for (uint32_t i = 0; i < nn && total <= (int64_t)1 << 40; i++) total += node_capacity(s, i, sh);
    return total;
}

/* Whether a gang with a hard topology requirement (no wait) fits some
 * single domain of that level of the empty fleet. */
static int topo_possible(const allot_sched *s, const allot__job_rec *j)
{
    if (j->desc.topo == ALLOT_TOPO_ANY || j->desc.topo_wait > 0 || j->desc.ntasks < 2) return 1;
    const allot_shape *sh = &j->desc.shape;
    uint32_t nn = allot_cluster_nnodes(s->c);
    if (j->desc.topo == ALLOT_TOPO_NODE) {
        for (uint32_t i = 0; i < nn; i++)
            if (node_capacity(s, i, sh) >= j->desc.ntasks) return 1;
        return 0;
    }
    int level = j->desc.topo == ALLOT_TOPO_RACK    ? ALLOT_LEVEL_RACK
                : j->desc.topo == ALLOT_TOPO_BLOCK ? ALLOT_LEVEL_BLOCK
                                                   : ALLOT_LEVEL_ZONE;
    for (uint32_t d = 0; d < allot_cluster_ndomains(s->c); d++) {
        if ((int)allot_cluster_domain(s->c, d)->level != level) continue;
        int64_t cap = 0;
        for (uint32_t q = 0; q < s->dom_count[d] && cap < j->desc.ntasks; q++)
            cap += node_capacity(s, s->dom_nodes[s->dom_first[d] + q], sh);
        if (cap >= j->desc.ntasks) return 1;
    }
    return 0;
}

/* Whether the job fits within its tenant's quota plus borrowing limit on
 * some chip type it may use (a job needing more can never start). */
static int quota_possible(const allot_sched *s, const allot__job_rec *j)
{
    if (!s->ntenants || j->desc.tenant >= s->ntenants || j->desc.shape.ndev == 0) return 1;
    const allot_tenant *t = &s->tenants[j->desc.tenant];
    if (t->borrow_limit < 0) return 1;
    int64_t need = allot_job_milli(&j->desc);
    for (uint32_t k = 0; k < allot_cluster_nchips(s->c) && k < ALLOT_MAX_CHIP_TYPES; k++) {
        if (j->desc.shape.chips && !((j->desc.shape.chips >> k) & 1)) continue;
        if (need - t->quota[k] <= t->borrow_limit) return 1;
    }
    return 0;
}

/* ---- topology ----------------------------------------------------------------------------- */

/* Lists the nodes below every domain (rack, block, zone) in node-id order. */
static int build_domain_nodes(allot_sched *s)
{
    uint32_t nd = allot_cluster_ndomains(s->c), nn = allot_cluster_nnodes(s->c);
    s->dom_first = calloc(nd + 1, sizeof *s->dom_first);
    s->dom_count = calloc(nd + 1, sizeof *s->dom_count);
    s->dom_nodes = malloc(((size_t)nn * 3 + 1) * sizeof *s->dom_nodes);
    if (!s->dom_first || !s->dom_count || !s->dom_nodes) return ALLOT_ENOMEM;
    for (uint32_t i = 0; i < nn; i++)
        for (uint32_t d = allot_cluster_node(s->c, i)->rack; d != UINT32_MAX;
             d = allot_cluster_domain(s->c, d)->parent)
            s->dom_count[d]++;
    uint32_t acc = 0;
    for (uint32_t d = 0; d < nd; d++) {
        s->dom_first[d] = acc;
        acc += s->dom_count[d];
        s->dom_count[d] = 0;
    }
    for (uint32_t i = 0; i < nn; i++)
        for (uint32_t d = allot_cluster_node(s->c, i)->rack; d != UINT32_MAX;
             d = allot_cluster_domain(s->c, d)->parent)
            s->dom_nodes[s->dom_first[d] + s->dom_count[d]++] = i;
    return 0;
}

/* ---- tenants ------------------------------------------------------------------------------- */

static int64_t *tenant_row(const allot_sched *s, uint16_t t)
{
    return &s->t_use[(size_t)t * ALLOT_MAX_CHIP_TYPES];
}

/* Adds (sign +1) or removes (-1) a placed job's devices to its tenant. */
static void tenant_account(allot_sched *s, const allot__job_rec *j, int sign)
{
    if (!s->ntenants || j->desc.tenant >= s->ntenants || j->desc.shape.ndev == 0) return;
    const allot__task_alloc *a = allot__allocs(j);
    int64_t *row = tenant_row(s, j->desc.tenant);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        if (a[t].node == UINT32_MAX) continue;
        uint16_t chip = allot_cluster_node(s->c, a[t].node)->chip;
        if (chip < ALLOT_MAX_CHIP_TYPES)
            row[chip] += sign * (int64_t)j->desc.shape.ndev * j->desc.shape.milli;
    }
}

/* Device milli the tenant would borrow (use beyond quota) with `add` more. */
static int64_t tenant_borrowed(const allot_sched *s, uint16_t t, const int64_t *add)
{
    const int64_t *row = tenant_row(s, t);
    int64_t b = 0;
    for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++) {
        int64_t u = row[k] + (add ? add[k] : 0) - s->tenants[t].quota[k];
        if (u > 0) b += u;
    }
    return b;
}

int allot__tenant_borrowing(const allot_sched *s, uint16_t t)
{
    return s->ntenants && t < s->ntenants && tenant_borrowed(s, t, NULL) > 0;
}

uint64_t allot__tenant_borrow_mask(const allot_sched *s, uint16_t t)
{
    if (!s->ntenants || t >= s->ntenants) return 0;
    const int64_t *row = tenant_row(s, t);
    uint64_t m = 0;
    for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++)
        if (row[k] > s->tenants[t].quota[k]) m |= (uint64_t)1 << k;
    return m;
}

uint64_t allot__tenant_quota_mask(const allot_sched *s, const allot__job_rec *j)
{
    if (!s->ntenants || j->desc.tenant >= s->ntenants) return 0;
    const int64_t *row = tenant_row(s, j->desc.tenant);
    int64_t need = (int64_t)j->desc.ntasks * j->desc.shape.ndev * j->desc.shape.milli;
    uint64_t m = 0;
    for (uint32_t k = 0; k < allot_cluster_nchips(s->c) && k < ALLOT_MAX_CHIP_TYPES; k++) {
        if (j->chips0 && !((j->chips0 >> k) & 1)) continue;
        if (row[k] + need <= s->tenants[j->desc.tenant].quota[k]) m |= (uint64_t)1 << k;
    }
    return m;
}

int allot__tenant_in_quota(const allot_sched *s, const allot__job_rec *j)
{
    if (!s->ntenants || j->desc.tenant >= s->ntenants) return 0;
    const int64_t *row = tenant_row(s, j->desc.tenant);
    int64_t need = (int64_t)j->desc.ntasks * j->desc.shape.ndev * j->desc.shape.milli;
    for (uint32_t k = 0; k < allot_cluster_nchips(s->c) && k < ALLOT_MAX_CHIP_TYPES; k++) {
        if (j->desc.shape.chips && !((j->desc.shape.chips >> k) & 1)) continue;
        if (row[k] + need <= s->tenants[j->desc.tenant].quota[k]) return 1;
    }
    return 0;
}

/* Whether the placed (not yet started) job keeps its tenant within quota
 * plus borrowing limit. */
static int tenant_admits(const allot_sched *s, const allot__job_rec *j)
{
    if (!s->ntenants || j->desc.tenant >= s->ntenants || j->desc.shape.ndev == 0) return 1;
    const allot_tenant *t = &s->tenants[j->desc.tenant];
    if (t->borrow_limit < 0) return 1;
    int64_t add[ALLOT_MAX_CHIP_TYPES] = {0};
    const allot__task_alloc *a = allot__allocs(j);
    for (uint32_t q = 0; q < j->desc.ntasks; q++) {
        uint16_t chip = allot_cluster_node(s->c, a[q].node)->chip;
        if (chip < ALLOT_MAX_CHIP_TYPES)
            add[chip] += (int64_t)j->desc.shape.ndev * j->desc.shape.milli;
    }
    return tenant_borrowed(s, j->desc.tenant, add) <= t->borrow_limit;
}

/* Weighted dominant share of a tenant: its largest share of any chip type. */
static double tenant_share(const allot_sched *s, uint16_t t)
{
    if (!s->ntenants || t >= s->ntenants) return 0;
    const int64_t *row = tenant_row(s, t);
    double d = 0;
    for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++)
        if (s->chip_cap[k] > 0 && (double)row[k] / (double)s->chip_cap[k] > d)
            d = (double)row[k] / (double)s->chip_cap[k];
    return d / (s->tenants[t].weight > 0 ? s->tenants[t].weight : 1.0);
}

typedef struct drf_key {
    double share;
    uint64_t seq;
    uint32_t id;
} drf_key;

static int drf_cmp(const void *x, const void *y)
{
    const drf_key *a = x, *b = y;
    if (a->share != b->share) return a->share < b->share ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

/* Orders the queue by tenants' weighted dominant shares, then submission.
 * The keys are a total order (seq is unique), so the result does not depend
 * on the order before: each tenant's share is computed once, and a queue
 * already in order (shares unchanged since the last pass) is not sorted. */
static int drf_sort(allot_sched *s)
{
    if (s->npending < 2) return 0;
    drf_key *k = malloc(s->npending * sizeof *k);
    double *share = malloc((s->ntenants + 1) * sizeof *share);
    if (!k || !share) {
        free(k);
        free(share);
        return ALLOT_ENOMEM;
    }
    for (uint32_t t = 0; t < s->ntenants; t++) share[t] = tenant_share(s, (uint16_t)t);
    share[s->ntenants] = 0; /* tenant_share of an unknown tenant */
    int sorted = 1;
    for (size_t i = 0; i < s->npending; i++) {
        const allot__job_rec *j = &s->jobs[s->pending[i]];
        uint32_t t = j->desc.tenant < s->ntenants ? j->desc.tenant : s->ntenants;
        k[i] = (drf_key){share[t], j->seq, s->pending[i]};
        if (i > 0 && drf_cmp(&k[i - 1], &k[i]) > 0) sorted = 0;
    }
    if (!sorted) {
        qsort(k, s->npending, sizeof *k, drf_cmp);
        for (size_t i = 0; i < s->npending; i++) {
            s->pending[i] = k[i].id;
            s->pshape[i] = s->jobs[k[i].id].shape_id0;
        }
        s->qepoch++; /* the queue's hints (below) no longer hold */
    }
    free(share);
    free(k);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int allot_sched_new(allot_sched **out, allot_cluster *c, const allot_sched_config *cfg)
{
    if (!out || !c || !cfg) return ALLOT_EINVAL;
    *out = NULL;
    if ((unsigned)cfg->policy >= ALLOT_POLICY__COUNT) return ALLOT_EINVAL;
    if ((unsigned)cfg->backfill > ALLOT_BACKFILL_CONSERVATIVE ||
        (unsigned)cfg->order > ALLOT_ORDER_DRF)
        return ALLOT_EINVAL;
    int fgd_policy = cfg->policy == ALLOT_POLICY_FGD || cfg->policy == ALLOT_POLICY_FGDLA;
    if (fgd_policy && (!cfg->typical || cfg->ntypical == 0)) return ALLOT_EINVAL;
    int rc = 0;
    allot_sched *s = calloc(1, sizeof *s);
    if (!s) return ALLOT_ENOMEM;
    s->c = c;
    s->cfg = *cfg;
#ifdef ALLOT_DEBUG
    s->cfg.check_invariants = 1; /* debug builds verify every decision */
#endif
    allot_rng_seed(&s->rng, cfg->seed);
    uint32_t nn = allot_cluster_nnodes(c);
    if (cfg->ntypical) {
        s->typical = malloc(cfg->ntypical * sizeof *s->typical);
        if (!s->typical) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        memcpy(s->typical, cfg->typical, cfg->ntypical * sizeof *s->typical);
        s->cfg.typical = s->typical;
        rc = allot__fgd_build(&s->fgd, s->typical, cfg->ntypical);
        if (rc) goto out;
        s->have_fgd = 1;
        s->node_frag = calloc(nn ? nn : 1, sizeof *s->node_frag);
        s->node_frag_ver = calloc(nn ? nn : 1, sizeof *s->node_frag_ver);
        if (!s->node_frag || !s->node_frag_ver) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        for (uint32_t i = 0; i < nn; i++) allot__node_changed(s, i);
    }
    if (fgd_policy && nn > 0) {
        uint32_t rows = MEMO_MAX_ENTRIES / nn;
        if (rows > 4096) rows = 4096;
        if (rows > 0) {
            s->score_memo = calloc((size_t)rows * nn, sizeof *s->score_memo);
            if (!s->score_memo) {
                rc = ALLOT_ENOMEM;
                goto out;
            }
            s->score_memo_shapes = rows;
        }
    }
    rc = build_domain_nodes(s);
    if (rc) goto out;
    if (cfg->ntenants) {
        if (cfg->ntenants > 65535 || !cfg->tenants) {
            rc = ALLOT_EINVAL;
            goto out;
        }
        s->tenants = malloc(cfg->ntenants * sizeof *s->tenants);
        s->t_use = calloc(cfg->ntenants * ALLOT_MAX_CHIP_TYPES, sizeof *s->t_use);
        if (!s->tenants || !s->t_use) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        memcpy(s->tenants, cfg->tenants, cfg->ntenants * sizeof *s->tenants);
        s->ntenants = (uint32_t)cfg->ntenants;
        s->cfg.tenants = s->tenants;
        for (uint32_t d = 0; d < allot_cluster_ndomains(c); d++) {
            if (allot_cluster_domain(c, d)->level != ALLOT_LEVEL_ZONE) continue;
            for (uint32_t k = 0; k < allot_cluster_nchips(c) && k < ALLOT_MAX_CHIP_TYPES; k++)
                s->chip_cap[k] += (int64_t)allot_cluster_agg(c, d, k)->devices * ALLOT_MILLI;
        }
    }
    if (cfg->speed) {
        if (cfg->nspeed_classes == 0 || cfg->nspeed_classes > 256) {
            rc = ALLOT_EINVAL;
            goto out;
        }
        size_t cells = cfg->nspeed_classes * ALLOT_MAX_CHIP_TYPES;
        for (size_t i = 0; i < cells; i++)
            if (!(cfg->speed[i] >= 0 && cfg->speed[i] < 1e6)) { /* 0 = speed 1; NaN fails */
                rc = ALLOT_EINVAL;
                goto out;
            }
        s->speed = malloc(cells * sizeof *s->speed);
        if (!s->speed) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        memcpy(s->speed, cfg->speed, cells * sizeof *s->speed);
        s->nspeed = (uint32_t)cfg->nspeed_classes;
        s->cfg.speed = s->speed;
    }
    for (uint32_t i = 0; i < nn; i++) /* capacity in use that no job of ours explains */
        if (allot_cluster_node(c, i)->ntasks > 0) s->raw_placements = 1;
    s->node_rank = malloc((size_t)(nn ? nn : 1) * sizeof *s->node_rank);
    if (!s->node_rank) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    { /* a seeded random permutation: rank[node] */
        allot_rng r;
        allot_rng_seed(&r, cfg->seed ^ 0x7a4b3c2d1e0fULL);
        for (uint32_t i = 0; i < nn; i++) s->node_rank[i] = i;
        for (uint32_t i = nn; i > 1; i--) {
            uint32_t j = (uint32_t)allot_rng_below(&r, i);
            uint32_t t = s->node_rank[i - 1];
            s->node_rank[i - 1] = s->node_rank[j];
            s->node_rank[j] = t;
        }
    }
    if (cfg->policy == ALLOT_POLICY_BESTFIT && cfg->tiebreak == ALLOT_TIE_RANK && !cfg->scan_only) {
        rc = allot__bfidx_build(s);
        if (rc) goto out;
    }
    if (cfg->backfill == ALLOT_BACKFILL_EASY || cfg->preempt || cfg->ntenants) {
        rc = allot__bf_alloc(s);
        if (rc) goto out;
    } else {
        allot__resv_clear(s);
    }
    if (cfg->backfill == ALLOT_BACKFILL_CONSERVATIVE) {
        rc = allot__cons_alloc(s);
        if (rc) goto out;
    }
    if (cfg->policy == ALLOT_POLICY_GPUCLUSTER) {
        s->tag_counts = calloc((size_t)(nn ? nn : 1) * 64, sizeof *s->tag_counts);
        s->node_tags = calloc(nn ? nn : 1, sizeof *s->node_tags);
        if (!s->tag_counts || !s->node_tags) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
    }
out:
    if (rc) {
        allot_sched_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void allot_sched_free(allot_sched *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->jobs_cap; i++) free(s->jobs[i].many);
    free(s->jobs);
    free(s->pending_base); /* s->pending points into it */
    free(s->pshape_base);
    free(s->qshapes);
    free(s->qlive);
    free(s->run);
    free(s->tenants);
    free(s->t_use);
    free(s->shapes);
    free(s->shape_index);
    free(s->typical);
    allot__fgd_free(&s->fgd);
    free(s->node_frag);
    free(s->node_frag_ver);
    free(s->score_memo);
    free(s->tag_counts);
    free(s->node_tags);
    free(s->node_rank);
    free(s->dom_first);
    free(s->dom_count);
    free(s->dom_nodes);
    allot__bf_free(s);
    allot__victims_free(s);
    allot__cons_free(s);
    for (size_t k = 0; k < s->nundo; k++) free(s->undo[k].many);
    free(s->undo);
    free(s->pre_dev);
    free(s->pre_cpu);
    free(s->pre_mem);
    free(s->speed);
    free(s->requeue);
    allot__bfidx_free(s->bfidx);
    free(s);
}

/* ---- the running set ---- */

static int run_add(allot_sched *s, uint32_t id)
{
    if (s->nrunning >= s->run_cap) {
        size_t cap = s->run_cap ? s->run_cap * 2 : 256;
        uint32_t *v = realloc(s->run, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        s->run = v;
        s->run_cap = cap;
    }
    s->jobs[id].run_pos = (uint32_t)s->nrunning;
    s->run[s->nrunning++] = id;
    int re = allot__ends_add(s, id);
    if (re) return re;
    if (allot__elastic(&s->jobs[id])) {
        s->nelastic++;
        s->nextra += s->jobs[id].desc.ntasks - s->jobs[id].ntasks_min;
    }
    allot__victims_added(s, id);
    return 0;
}

static void run_remove(allot_sched *s, uint32_t id)
{
    allot__victims_removed(s, id);
    allot__ends_remove(s, id);
    if (allot__elastic(&s->jobs[id])) {
        s->nelastic--;
        s->nextra -= s->jobs[id].desc.ntasks - s->jobs[id].ntasks_min;
    }
    uint32_t p = s->jobs[id].run_pos, last = s->run[--s->nrunning];
    s->run[p] = last;
    s->jobs[last].run_pos = p;
}

/* ---- capacity --------------------------------------------------------------------------- */

static int mask_to_devs(uint64_t m, uint8_t *devs)
{
    int k = 0;
    while (m) {
        devs[k++] = (uint8_t)__builtin_ctzll(m);
        m &= m - 1;
    }
    return k;
}

static int task_take(allot_sched *s, const allot_shape *sh, const allot__task_alloc *a)
{
    uint8_t devs[ALLOT_MAX_DEVS_PER_NODE];
    int nd = mask_to_devs(a->devs, devs);
    if (nd != sh->ndev) return ALLOT_EINVARIANT;
    int rc = allot_cluster_take(s->c, a->node, devs, nd, sh->milli, sh->cpu, sh->mem);
    if (rc) return rc;
    allot__node_changed(s, a->node);
    allot__cluster_tag_update(s, a->node, sh, +1);
    s->decisions++;
    return 0;
}

static int task_give(allot_sched *s, const allot_shape *sh, const allot__task_alloc *a)
{
    uint8_t devs[ALLOT_MAX_DEVS_PER_NODE];
    int nd = mask_to_devs(a->devs, devs);
    const allot_node *n = allot_cluster_node(s->c, a->node);
    if (n->state == ALLOT_NODE_DOWN) return 0; /* capacity already reset */
    int rc = allot_cluster_give(s->c, a->node, devs, nd, sh->milli, sh->cpu, sh->mem);
    if (rc) return rc;
    allot__node_changed(s, a->node);
    allot__cluster_tag_update(s, a->node, sh, -1);
    return 0;
}

static allot__task_alloc *job_allocs(allot__job_rec *j) { return allot__allocs(j); }

static int job_release(allot_sched *s, allot__job_rec *j)
{
    if (j->state == ALLOT_JOB_RUNNING) tenant_account(s, j, -1);
    allot__task_alloc *a = job_allocs(j);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        if (a[t].node == UINT32_MAX) continue;
        int rc = task_give(s, &j->desc.shape, &a[t]);
        if (rc) return rc;
        a[t].node = UINT32_MAX;
    }
    return 0;
}

/* Places every task of the job on the given nodes (NULL = any node), all or
 * nothing: on failure the tasks placed so far are given back. */
static int place_all(allot_sched *s, allot__job_rec *j, const uint32_t *subset, uint32_t nsub)
{
    allot__task_alloc *a = job_allocs(j);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) a[t].node = UINT32_MAX;
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        int rc = allot__place(s, j->shape_id, &j->desc.shape, subset, nsub, &a[t]);
        if (rc == 0) rc = task_take(s, &j->desc.shape, &a[t]);
        if (rc) {
            a[t].node = UINT32_MAX;
            s->decisions -= t; /* the rolled-back placements were not decisions */
            int rc2 = job_release(s, j);
            return rc2 ? rc2 : rc;
        }
    }
    return 0;
}

/* Free capacity of a domain for the job's device type: whole free devices
 * (whole-device tasks) or free milli (fractional), over the allowed chips. */
static int64_t domain_free(const allot_sched *s, uint32_t d, const allot_shape *sh)
{
    int64_t f = 0;
    for (uint32_t k = 0; k < allot_cluster_nchips(s->c); k++) {
        if (sh->chips && !((sh->chips >> k) & 1)) continue;
        const allot_agg *a = allot_cluster_agg(s->c, d, k);
        f += sh->milli >= ALLOT_MILLI ? a->free_whole : a->free_milli;
    }
    return f;
}

/* A candidate domain and its packing key: its own free capacity, then its
 * parent's, then its grandparent's (hierarchical best-fit: among equally
 * full racks prefer the one in the fuller block, keeping empty blocks whole
 * for large gangs). */
typedef struct dom_cand {
    int64_t key[3];
    uint32_t d;
} dom_cand;

static int cand_cmp(const void *x, const void *y)
{
    const dom_cand *a = x, *b = y;
    for (int i = 0; i < 3; i++)
        if (a->key[i] != b->key[i]) return a->key[i] < b->key[i] ? -1 : 1;
    return a->d < b->d ? -1 : (a->d > b->d);
}

static void cand_key(const allot_sched *s, uint32_t d, const allot_shape *sh, int64_t own,
                     int64_t key[3])
{
    key[0] = own;
    uint32_t p = allot_cluster_domain(s->c, d)->parent;
    for (int i = 1; i < 3; i++) {
        key[i] = p == UINT32_MAX ? 0 : (sh->ndev > 0 ? domain_free(s, p, sh) : 0);
        if (p != UINT32_MAX) p = allot_cluster_domain(s->c, p)->parent;
    }
}

#define GANG_TRIES_PER_LEVEL 4

/* Places a gang in the smallest domain that fits: one node, else a rack,
 * a block, a zone, else anywhere - as far as the job's topology requirement
 * allows (a requirement with a wait relaxes to "anywhere" once the job has
 * waited that long). Within a level the domain with the least free capacity
 * that passes the aggregate check is tried first (packing), then the next,
 * up to GANG_TRIES_PER_LEVEL. */
static int place_gang(allot_sched *s, allot__job_rec *j, int64_t now)
{
    const allot_shape *sh = &j->desc.shape;
    uint32_t n = j->desc.ntasks;
    int widest = 4;
    if (j->desc.topo != ALLOT_TOPO_ANY) {
        int relaxed = j->desc.topo_wait > 0 && j->submit_time != ALLOT_TIME_NONE &&
                      now - j->submit_time >= (int64_t)j->desc.topo_wait * 60;
        if (!relaxed) widest = j->desc.topo - 1; /* NODE 0, RACK 1, BLOCK 2, ZONE 3 */
    }
    int64_t need =
        sh->milli >= ALLOT_MILLI ? (int64_t)n * sh->ndev : (int64_t)n * sh->ndev * sh->milli;
    /* level 0: one node that holds every task */
    uint32_t nn = allot_cluster_nnodes(s->c), best = UINT32_MAX;
    const allot_node *nodes = allot_cluster_nodes(s->c);
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *x = &nodes[i];
        if (x->state != ALLOT_NODE_UP) continue;
        if (x->cpu_free < (int64_t)n * sh->cpu || x->mem_free < (int64_t)n * sh->mem) continue;
        if (sh->ndev > 0) {
            if (x->chip == ALLOT_NO_CHIP || (sh->chips && !((sh->chips >> x->chip) & 1))) continue;
            if ((sh->milli >= ALLOT_MILLI ? x->whole_free : x->milli_free) < need) continue;
        }
        /* least free node first; then the fuller rack and block; then rank */
        if (best == UINT32_MAX) {
            best = i;
            continue;
        }
        int64_t kx[3], kb[3];
        cand_key(s, x->rack, sh, x->milli_free, kx); /* node, rack's parent, ... */
        cand_key(s, nodes[best].rack, sh, nodes[best].milli_free, kb);
        /* key: the node's free milli, then its rack's free, then its block's */
        kx[2] = kx[1], kb[2] = kb[1];
        kx[1] = sh->ndev > 0 ? domain_free(s, x->rack, sh) : 0;
        kb[1] = sh->ndev > 0 ? domain_free(s, nodes[best].rack, sh) : 0;
        int cmp = 0;
        for (int q = 0; q < 3 && !cmp; q++) cmp = kx[q] < kb[q] ? -1 : kx[q] > kb[q];
        if (cmp < 0 || (cmp == 0 && s->node_rank[i] < s->node_rank[best])) best = i;
    }
    if (best != UINT32_MAX && place_all(s, j, &best, 1) == 0) return 0;
    if (widest == 0) return ALLOT_ENOFIT;
    /* levels 1..3: rack, block, zone */
    static const allot_level lv_of[4] = {0, ALLOT_LEVEL_RACK, ALLOT_LEVEL_BLOCK, ALLOT_LEVEL_ZONE};
    uint32_t nd = allot_cluster_ndomains(s->c);
    dom_cand *cand = malloc((size_t)(nd ? nd : 1) * sizeof *cand);
    if (!cand) return ALLOT_ENOMEM;
    int rc = ALLOT_ENOFIT;
    for (int L = 1; L <= widest && L <= 3 && rc == ALLOT_ENOFIT; L++) {
        uint32_t m = 0;
        for (uint32_t d = 0; d < nd; d++) {
            if (allot_cluster_domain(s->c, d)->level != lv_of[L]) continue;
            int64_t f = sh->ndev > 0 ? domain_free(s, d, sh) : INT64_MAX;
            if (f < need) continue;
            cand[m].d = d;
            cand_key(s, d, sh, f, cand[m].key);
            m++;
        }
        qsort(cand, m, sizeof *cand, cand_cmp);
        for (uint32_t k = 0; k < m && k < GANG_TRIES_PER_LEVEL; k++) {
            uint32_t d = cand[k].d;
            int r = place_all(s, j, &s->dom_nodes[s->dom_first[d]], s->dom_count[d]);
            if (r != ALLOT_ENOFIT) {
                rc = r;
                break;
            }
        }
    }
    free(cand);
    if (rc != ALLOT_ENOFIT || widest < 4) return rc;
    return place_all(s, j, NULL, 0); /* anywhere */
}

/* Records how widely a started job's tasks spread. */
static void record_span(allot_sched *s, allot__job_rec *j)
{
    allot__task_alloc *a = job_allocs(j);
    uint32_t n0 = a[0].node, r0 = allot_cluster_node(s->c, n0)->rack;
    int level = 0, racks = 1;
    for (uint32_t t = 1; t < j->desc.ntasks; t++) {
        uint32_t r = allot_cluster_node(s->c, a[t].node)->rack;
        if (a[t].node != n0 && level < 1) level = 1;
        int seen = 0;
        for (uint32_t u = 0; u < t && !seen; u++)
            seen = allot_cluster_node(s->c, a[u].node)->rack == r;
        racks += !seen;
        /* lowest common ancestor of r and r0 */
        uint32_t x = r, y = r0;
        int l = 1;
        while (x != y && x != UINT32_MAX && y != UINT32_MAX) {
            x = allot_cluster_domain(s->c, x)->parent;
            y = allot_cluster_domain(s->c, y)->parent;
            l++;
        }
        if (x == UINT32_MAX || y == UINT32_MAX) l = 4;
        if (r != r0 && l > level) level = l;
    }
    j->span_level = (uint8_t)level;
    j->span_racks = (uint16_t)(racks > 65535 ? 65535 : racks);
}

#define JOB_BLOCKED 1 /* job_try_start: it fits but would delay the reservation */

/* ---- heterogeneity ------------------------------------------------------------------------ */

static double speed_of(const allot_sched *s, const allot__job_rec *j, uint16_t chip)
{
    if (!s->speed || chip >= ALLOT_MAX_CHIP_TYPES) return 1.0;
    uint32_t r = j->desc.speed_class < s->nspeed ? j->desc.speed_class : 0;
    double v = s->speed[(size_t)r * ALLOT_MAX_CHIP_TYPES + chip];
    return v > 0 ? v : 1.0;
}

double allot__job_rate(const allot_sched *s, const allot__job_rec *j)
{
    double scale = allot__elastic(j) && j->ntasks_min > 0
                       ? (double)j->desc.ntasks / (double)j->ntasks_min
                       : 1.0;
    if (!s->speed || j->desc.shape.ndev == 0) return scale;
    const allot__task_alloc *a = allot__allocs(j);
    double r = 0;
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        if (a[t].node == UINT32_MAX) continue;
        double v = speed_of(s, j, allot_cluster_node(s->c, a[t].node)->chip);
        if (r == 0 || v < r) r = v;
    }
    return (r > 0 ? r : 1.0) * scale;
}

int64_t allot__job_run_left(const allot_sched *s, const allot__job_rec *j)
{
    int64_t rem = allot__job_remaining(j);
    if (rem == ALLOT_TIME_NONE) return INT64_MAX;
    double r = allot__job_rate(s, j);
    return r == 1.0 ? rem : (int64_t)ceil((double)rem / r);
}

void allot__job_save_progress(allot_sched *s, allot__job_rec *j, int64_t now)
{
    int64_t ran = now - j->start_time, lost = allot__lost_work(j, now);
    if (ran - lost <= 0) return;
    double r = allot__job_rate(s, j);
    j->done += r == 1.0 ? ran - lost : (int64_t)floor((double)(ran - lost) * r);
}

void allot_sched_speed_default(const allot_cluster *c, double *row)
{
    double slow = 0;
    uint32_t nk = allot_cluster_nchips(c);
    for (uint32_t k = 0; k < nk && k < ALLOT_MAX_CHIP_TYPES; k++) {
        double t = allot_cluster_chip(c, k)->bf16_tflops;
        if (t > 0 && (slow == 0 || t < slow)) slow = t;
    }
    for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++) {
        double t = k < nk ? allot_cluster_chip(c, k)->bf16_tflops : 0;
        row[k] = t > 0 && slow > 0 ? t / slow : 1.0;
    }
}

/* Places the job's tasks (all or nothing) without starting it. */
static int job_place(allot_sched *s, allot__job_rec *j, int64_t now)
{
    return j->desc.ntasks > 1 ? place_gang(s, j, now) : place_all(s, j, NULL, 0);
}

typedef struct chip_speed {
    double v;
    uint32_t k;
} chip_speed;

static int chip_speed_cmp(const void *x, const void *y)
{
    const chip_speed *a = x, *b = y;
    if (a->v != b->v) return a->v > b->v ? -1 : 1;
    return a->k < b->k ? -1 : (a->k > b->k);
}

/* speed_pick: when the job may run on chip types of different speeds, tries
 * them fastest first (each the chips mask narrowed to one type) and keeps
 * the first that fits now - the soonest completion among the types free now.
 * Otherwise (or with one speed only) a plain placement. */
static int job_place_fastest(allot_sched *s, allot__job_rec *j, int64_t now)
{
    if (!s->speed || !s->cfg.speed_pick || j->desc.shape.ndev == 0) return job_place(s, j, now);
    chip_speed cs[ALLOT_MAX_CHIP_TYPES];
    uint32_t n = 0, nk = allot_cluster_nchips(s->c);
    int differ = 0;
    allot_chip_mask allow = j->desc.shape.chips; /* as submitted, or narrowed by reclaim */
    for (uint32_t k = 0; k < nk && k < ALLOT_MAX_CHIP_TYPES; k++) {
        if (allow && !((allow >> k) & 1)) continue;
        cs[n] = (chip_speed){speed_of(s, j, (uint16_t)k), k};
        if (n > 0 && cs[n].v != cs[0].v) differ = 1;
        n++;
    }
    if (!differ) return job_place(s, j, now);
    qsort(cs, n, sizeof *cs, chip_speed_cmp);
    for (uint32_t q = 0; q < n; q++) {
        j->desc.shape.chips = (allot_chip_mask)1 << cs[q].k;
        int rc = shape_intern(s, &j->desc.shape, &j->shape_id);
        if (rc == 0) rc = job_place(s, j, now);
        if (rc != ALLOT_ENOFIT) {
            if (rc) break;
            return 0; /* placed on the fastest type that fits */
        }
    }
    j->desc.shape.chips = j->chips0;
    j->shape_id = j->shape_id0;
    return ALLOT_ENOFIT;
}

static int job_try_start_(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out);

/* Conservative backfill: places the job exactly on the devices its own
 * reservation holds (all or nothing); ENOFIT if they are not free yet. */
static int place_on_reservation(allot_sched *s, allot__job_rec *j, uint32_t id)
{
    allot__task_alloc *a = job_allocs(j);
    allot__task_alloc *plan = malloc(j->desc.ntasks * sizeof *plan);
    if (!plan) return ALLOT_ENOMEM;
    int rc = allot__cons_own_tasks(s, id, plan) ? ALLOT_ENOFIT : 0;
    for (uint32_t t = 0; t < j->desc.ntasks; t++) a[t].node = UINT32_MAX;
    for (uint32_t t = 0; t < j->desc.ntasks && rc == 0; t++) {
        a[t] = plan[t];
        if (task_take(s, &j->desc.shape, &a[t])) { /* not free yet: give back what we took */
            a[t].node = UINT32_MAX;
            s->decisions -= t;
            rc = job_release(s, j);
            if (rc == 0) rc = ALLOT_ENOFIT;
        }
    }
    free(plan);
    return rc;
}

/* Places every task of job id (all or nothing) and starts it. Returns 0,
 * ENOFIT, or JOB_BLOCKED under EASY backfill. */
static int job_try_start(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    int rc = job_try_start_(s, id, now, out);
    if (rc) { /* not started: the job keeps the chip types it asked for */
        allot__job_rec *j = &s->jobs[id];
        j->desc.shape.chips = j->chips0;
        j->shape_id = j->shape_id0;
    }
    return rc;
}

static int job_try_start_(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    allot__job_rec *j = &s->jobs[id];
    if ((j->desc.ntasks > 1 || allot__elastic(j)) && !j->many) {
        uint32_t n = allot__elastic(j) ? j->desc.ntasks_max : j->desc.ntasks;
        j->many = calloc(n, sizeof *j->many);
        if (!j->many) return ALLOT_ENOMEM;
    }
    int rc = job_place_fastest(s, j, now);
    if (rc == ALLOT_ENOFIT && s->cons && allot__cons_holds(s, id))
        rc = place_on_reservation(s, j, id); /* placement may miss a gang's reserved devices */
    if (rc) return rc; /* no fit even ignoring the reservation: a real no-fit */
    if (s->resv.active && s->resv.job != id && !allot__resv_allows(s, j, now)) {
        /* it would delay the head: undo, and place it again around the
         * reserved devices (only jobs that run past T* get here) */
        s->decisions -= j->desc.ntasks;
        rc = job_release(s, j);
        if (rc) return rc;
        allot__shape_rec *sr = &s->shapes[j->shape_id];
        int64_t left = allot__job_run_left(s, j);
        if (sr->cb_pass == s->pass && left >= sr->cb_left) return JOB_BLOCKED; /* as a twin */
        allot__resv_hide(s, 1);
        rc = job_place(s, j, now);
        allot__resv_hide(s, 0);
        if (rc == ALLOT_ENOFIT) { /* a shorter twin may still fit; a longer one not */
            if (sr->cb_pass != s->pass || left < sr->cb_left) {
                sr->cb_left = left;
                sr->cb_pass = s->pass;
            }
            return JOB_BLOCKED;
        }
        if (rc) return rc;
        if (!allot__resv_allows(s, j, now)) { /* CPU or memory the head needs */
            s->decisions -= j->desc.ntasks;
            rc = job_release(s, j);
            return rc ? rc : JOB_BLOCKED;
        }
    }
    if (s->cons && !allot__cons_allows(s, j, now)) {
        /* it would overrun a reservation: place it again around the reserved
         * devices it would overrun (unless a shorter twin just failed to) */
        allot__shape_rec *sr = &s->shapes[j->shape_id];
        int64_t left = allot__job_run_left(s, j);
        s->decisions -= j->desc.ntasks;
        rc = job_release(s, j);
        if (rc) return rc;
        int holds = allot__cons_holds(s, id); /* its own reserved devices are usable */
        if (!holds && sr->cb_pass == s->pass && left >= sr->cb_left) return JOB_BLOCKED;
        allot__cons_hide(s, j, now, 1);
        rc = job_place(s, j, now);
        allot__cons_hide(s, j, now, 0);
        if (rc == 0 && holds && !allot__cons_allows(s, j, now)) { /* try its own devices */
            s->decisions -= j->desc.ntasks;
            rc = job_release(s, j);
            if (rc) return rc;
            rc = place_on_reservation(s, j, id);
        } else if (rc == ALLOT_ENOFIT && holds) {
            rc = place_on_reservation(s, j, id);
        }
        if (rc == ALLOT_ENOFIT) {
            if (!holds && (sr->cb_pass != s->pass || left < sr->cb_left)) {
                sr->cb_left = left;
                sr->cb_pass = s->pass;
            }
            return JOB_BLOCKED;
        }
        if (rc) return rc;
        if (!allot__cons_allows(s, j, now)) {
            s->decisions -= j->desc.ntasks;
            rc = job_release(s, j);
            return rc ? rc : JOB_BLOCKED;
        }
    }
    if (!tenant_admits(s, j)) { /* beyond quota + borrowing limit: wait */
        s->decisions -= j->desc.ntasks;
        rc = job_release(s, j);
        return rc ? rc : JOB_BLOCKED;
    }
    if (s->resv.active && s->resv.job != id) allot__resv_account(s, j, now);
    allot__task_alloc *a = job_allocs(j);
    record_span(s, j);
    j->state = ALLOT_JOB_RUNNING;
    tenant_account(s, j, +1);
    j->start_time = now;
    j->epoch++;
    rc = run_add(s, id);
    if (rc) return rc;
    allot__cons_started(s, j, now);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        allot_decision *d = allot__dec_push(out);
        if (!d) return ALLOT_ENOMEM;
        d->kind = ALLOT_DEC_START;
        d->job = id;
        d->task = (uint16_t)(t > 0xFFFF ? 0xFFFF : t);
        d->node = a[t].node;
        d->milli = j->desc.shape.milli;
        d->ndev = (uint8_t)mask_to_devs(a[t].devs, d->devs);
    }
    return 0;
}

static int push_fail(allot_decisions *out, uint32_t id)
{
    allot_decision *d = allot__dec_push(out);
    if (!d) return ALLOT_ENOMEM;
    d->kind = ALLOT_DEC_FAIL;
    d->job = id;
    d->node = UINT32_MAX;
    return 0;
}

int allot__job_stop(allot_sched *s, uint32_t id, int64_t now)
{
    allot__job_rec *j = &s->jobs[id];
    if (j->state != ALLOT_JOB_RUNNING) return ALLOT_ESTATE;
    int rc = job_release(s, j);
    if (rc) return rc;
    run_remove(s, id);
    j->desc.shape.chips = j->chips0; /* speed_pick's narrowing ends with the run */
    j->shape_id = j->shape_id0;
    if (now > j->start_time)
        j->attained += (double)(now - j->start_time) * (double)j->desc.ntasks * j->desc.shape.ndev *
                       j->desc.shape.milli / 1000.0;
    j->desc.ntasks = j->ntasks_min; /* an elastic job restarts at its minimum */
    j->state = ALLOT_JOB_PENDING;
    j->start_time = ALLOT_TIME_NONE;
    if (s->nrequeue >= s->requeue_cap) {
        size_t cap = s->requeue_cap ? s->requeue_cap * 2 : 64;
        uint32_t *v = realloc(s->requeue, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        s->requeue = v;
        s->requeue_cap = cap;
    }
    s->requeue[s->nrequeue++] = id;
    return 0;
}

/* ---- queue ---------------------------------------------------------------------------------- */

#define LAS_LEVELS 6 /* attained-service levels: < 1, < 10, ... device-hours */

int allot__eff_prio(const allot_sched *s, const allot__job_rec *j, int64_t now)
{
    if (s->cfg.order != ALLOT_ORDER_LAS) return j->desc.priority;
    double att = j->attained;
    if (j->state == ALLOT_JOB_RUNNING && now > j->start_time)
        att += (double)(now - j->start_time) * (double)j->desc.ntasks * j->desc.shape.ndev *
               j->desc.shape.milli / 1000.0;
    int level = 0;
    for (double th = 3600.0; level < LAS_LEVELS - 1 && att >= th; th *= 10.0) level++;
    /* level dominates; the job's own priority breaks ties within a level */
    return -level * 65536 + j->desc.priority;
}

static int queue_before(const allot_sched *s, uint32_t a, uint32_t b)
{
    const allot__job_rec *x = &s->jobs[a], *y = &s->jobs[b];
    if (s->cfg.order == ALLOT_ORDER_LAS) { /* pending jobs' service does not change */
        int px = allot__eff_prio(s, x, 0), py = allot__eff_prio(s, y, 0);
        if (px != py) return px > py;
    } else if (s->cfg.order == ALLOT_ORDER_PRIORITY && x->desc.priority != y->desc.priority) {
        return x->desc.priority > y->desc.priority;
    }
    return x->seq < y->seq;
}

/* The queue is s->pending[0 .. npending), a window of the allocation
 * s->pending_base, and s->pshape[i] the shape of job s->pending[i] (a
 * parallel array: a pass passes over the jobs of failed shapes without
 * loading their records). A pass drops the jobs it started by moving the
 * kept ones before its last start towards it and the window's start forward,
 * so the rest of the queue is not touched (no O(queue) memmove per start).
 * Each shape counts its queued jobs (npending) and s->qshapes lists the
 * shapes that have some, so that a pass knows when every job left would be
 * skipped. Each shape also keeps a hint, an absolute position (from
 * pending_base) that none of its jobs is before, so that a pass can jump over
 * runs of jobs whose shapes failed: positions only move forward (a pass's
 * compaction), or every hint is dropped at once (s->qepoch). */

#define QUEUE_HOLE UINT32_MAX /* a started job's slot during a pass; never a job id */

/* Keeps the per-shape counts and the list of queued shapes in step with the
 * queue (delta +1 or -1). */
static int queue_count(allot_sched *s, uint32_t id, int delta)
{
    uint32_t k = s->jobs[id].shape_id0; /* as queued (a start may narrow shape_id) */
    allot__shape_rec *sr = &s->shapes[k];
    if (delta > 0 && sr->npending++ == 0) {
        if (s->nqshapes >= s->qshapes_cap) {
            uint32_t cap = s->qshapes_cap ? s->qshapes_cap * 2 : 64;
            uint32_t *v = realloc(s->qshapes, (size_t)cap * sizeof *v);
            uint32_t *l = v ? realloc(s->qlive, (size_t)cap * sizeof *l) : NULL;
            if (v) s->qshapes = v;
            if (!l) {
                sr->npending--;
                return ALLOT_ENOMEM;
            }
            s->qlive = l;
            s->qshapes_cap = cap;
        }
        sr->qpos = s->nqshapes;
        s->qshapes[s->nqshapes++] = k;
    }
    if (delta < 0 && --sr->npending == 0) { /* swap-remove from the list */
        uint32_t last = s->qshapes[--s->nqshapes];
        s->qshapes[sr->qpos] = last;
        s->shapes[last].qpos = sr->qpos;
    }
    return 0;
}

/* Moves n entries of both queue arrays between absolute positions. */
static void queue_move(allot_sched *s, size_t dst, size_t src, size_t n)
{
    if (n == 0 || dst == src) return;
    memmove(s->pending_base + dst, s->pending_base + src, n * sizeof *s->pending_base);
    memmove(s->pshape_base + dst, s->pshape_base + src, n * sizeof *s->pshape_base);
}

/* Sets the window's start (the arrays are allocated). */
static void queue_window(allot_sched *s, size_t off)
{
    s->pending_off = off;
    s->pending = s->pending_base + off;
    s->pshape = s->pshape_base + off;
}

/* Room for one more entry at the end of the window: slide the window back to
 * the start of the allocation when at least its length is free in front
 * (amortised over the jobs that left), else grow the allocation. */
static int queue_reserve(allot_sched *s)
{
    if (s->pending_off + s->npending < s->pending_cap) return 0;
    if (s->pending_off == 0 || s->pending_off < s->npending) {
        size_t cap = s->pending_cap ? s->pending_cap * 2 : 256;
        uint32_t *v = realloc(s->pending_base, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        s->pending_base = v;
        uint32_t *w = realloc(s->pshape_base, cap * sizeof *w);
        if (!w) {
            queue_window(s, s->pending_off); /* both still hold pending_cap */
            return ALLOT_ENOMEM;
        }
        s->pshape_base = w;
        s->pending_cap = cap;
    }
    queue_move(s, 0, s->pending_off, s->npending);
    queue_window(s, 0);
    s->qepoch++; /* every position moved back */
    return 0;
}

static int queue_push(allot_sched *s, uint32_t id)
{
    int rc = queue_reserve(s);
    if (rc == 0) rc = queue_count(s, id, +1);
    if (rc) return rc;
    size_t lo = s->npending, hi = s->npending;
    if (s->cfg.order != ALLOT_ORDER_FIFO || s->npending == 0 ||
        !queue_before(s, s->pending[s->npending - 1], id)) {
        lo = 0;
        while (lo < hi) { /* first position whose job comes after id */
            size_t mid = lo + (hi - lo) / 2;
            if (queue_before(s, s->pending[mid], id))
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    size_t off = s->pending_off;
    if (off > 0 && lo < s->npending / 2) { /* shift the shorter side */
        queue_move(s, off - 1, off, lo);
        queue_window(s, off - 1);
        s->qepoch++; /* the jobs before lo moved back */
    } else {
        queue_move(s, off + lo + 1, off + lo, s->npending - lo);
    }
    uint32_t k = s->jobs[id].shape_id0;
    s->pending[lo] = id;
    s->pshape[lo] = k;
    s->npending++;
    allot__shape_rec *sr = &s->shapes[k];
    if (sr->npending == 1 || (sr->hint_epoch == s->qepoch && s->pending_off + lo < sr->hint)) {
        sr->hint = s->pending_off + lo;
        sr->hint_epoch = s->qepoch;
    }
    return 0;
}

/* Queues the jobs stopped during the last step (after a pass, never
 * during one: the pass compacts the pending array in place). */
static int requeue_flush(allot_sched *s)
{
    int rc = 0;
    for (size_t k = 0; k < s->nrequeue && rc == 0; k++) rc = queue_push(s, s->requeue[k]);
    s->nrequeue = 0;
    return rc;
}

static void queue_remove(allot_sched *s, uint32_t id)
{
    for (size_t i = 0; i < s->npending; i++) {
        if (s->pending[i] == id) {
            size_t off = s->pending_off;
            if (i < s->npending / 2) { /* shift the shorter side */
                queue_move(s, off + 1, off, i);
                queue_window(s, off + 1);
            } else {
                queue_move(s, off + i, off + i + 1, s->npending - i - 1);
            }
            s->npending--;
            queue_count(s, id, -1);
            s->qepoch++; /* simpler than telling which way positions moved */
            return;
        }
    }
}

/* ---- elastic jobs -------------------------------------------------------------------------
 *
 * An elastic job (ntasks_max > ntasks) starts, all or nothing, with its
 * submitted tasks. While nobody waits it grows, one task at a time, into
 * devices that are idle (after every event, up to ntasks_max, within its
 * tenant's limits); when a pending job does not fit, tasks beyond the
 * minimum are taken back first (the shrink is a preemption of the extra part
 * only), and only if that is not enough are whole jobs preempted. Work is
 * linear in tasks: with k of n submitted tasks a job runs k/n times as fast.
 * A resize keeps all work done (elastic frameworks reshard at a checkpoint;
 * allot assumes the reshard is free) and restarts the checkpoint clock.
 *
 * Worked example: one node of 8 devices, E elastic 2..8 devices (one device
 * per task), 800 s of work at 2 devices. Alone, E grows to 8 at once and
 * ends after 200 s. At t=100 J (4 devices) arrives: E has done 100 x 4 =
 * 400 s of its 2-device work; it gives back 4 tasks (SHRINK x4), J starts,
 * and E runs on at 4 devices: the other 400 s take 200 s more. */

/* Banks the work done since the job's (re)start at its current size and
 * restarts the segment now: called before its size changes. */
static void elastic_segment(allot_sched *s, allot__job_rec *j, int64_t now)
{
    if (now > j->start_time) {
        double r = allot__job_rate(s, j);
        j->done += (int64_t)floor((double)(now - j->start_time) * r);
        j->attained += (double)(now - j->start_time) * (double)j->desc.ntasks * j->desc.shape.ndev *
                       j->desc.shape.milli / 1000.0;
    }
    j->start_time = now;
}

static int push_task_decision(allot_decisions *out, uint8_t kind, uint32_t id, uint32_t t,
                              const allot__task_alloc *a)
{
    allot_decision *d = allot__dec_push(out);
    if (!d) return ALLOT_ENOMEM;
    d->kind = kind;
    d->job = id;
    d->task = (uint16_t)(t > 0xFFFF ? 0xFFFF : t);
    d->node = a->node;
    d->milli = a->milli;
    d->ndev = (uint8_t)mask_to_devs(a->devs, d->devs);
    return 0;
}

/* While nobody waits: running elastic jobs take idle devices. */
static int elastic_grow(allot_sched *s, int64_t now, allot_decisions *out)
{
    for (size_t r = 0; r < s->nrunning; r++) {
        uint32_t id = s->run[r];
        allot__job_rec *j = &s->jobs[id];
        if (!allot__elastic(j) || j->desc.ntasks >= j->desc.ntasks_max) continue;
        int first = 1;
        while (j->desc.ntasks < j->desc.ntasks_max) {
            allot__task_alloc a;
            if (allot__place(s, j->shape_id, &j->desc.shape, NULL, 0, &a)) break;
            if (first) {
                allot__ends_remove(s, id); /* its end moves */
                elastic_segment(s, j, now);
                first = 0;
            }
            allot__victims_removed(s, id);
            tenant_account(s, j, -1);
            int rc = task_take(s, &j->desc.shape, &a);
            if (rc) return rc;
            j->many[j->desc.ntasks++] = a;
            if (!tenant_admits(s, j)) { /* its tenant's borrowing limit: stop here */
                j->desc.ntasks--;
                rc = task_give(s, &j->desc.shape, &a);
                s->decisions--;
                tenant_account(s, j, +1);
                allot__victims_added(s, id);
                if (rc) return rc;
                break;
            }
            tenant_account(s, j, +1);
            allot__victims_added(s, id);
            s->nextra++;
            s->stats.grows++;
            rc = push_task_decision(out, ALLOT_DEC_GROW, id, j->desc.ntasks - 1, &a);
            if (rc) return rc;
        }
        if (!first) {
            int rc = allot__ends_add(s, id);
            if (rc) return rc;
        }
    }
    return 0;
}

/* Takes back one extra task of elastic job id (its last). */
static int elastic_drop_one(allot_sched *s, uint32_t id, allot__task_alloc *gone)
{
    allot__job_rec *j = &s->jobs[id];
    allot__victims_removed(s, id);
    allot__ends_remove(s, id);
    tenant_account(s, j, -1);
    *gone = j->many[--j->desc.ntasks];
    int rc = task_give(s, &j->desc.shape, gone);
    tenant_account(s, j, +1);
    allot__victims_added(s, id);
    s->nextra--;
    int re = allot__ends_add(s, id);
    return rc ? rc : re;
}

typedef struct shrunk {
    uint32_t id, task;
    allot__task_alloc a;
} shrunk;

/* A pending job does not fit: takes back extra elastic tasks (the most
 * recently added first, from the jobs in running order) until it starts.
 * If it cannot start even with every extra task back, nothing changes. The
 * SHRINK decisions come before the START they made room for. */
static int elastic_shrink_for(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    shrunk *v = malloc((size_t)(s->nextra ? s->nextra : 1) * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    size_t nv = 0, n0 = out->n;
    int rc = ALLOT_ENOFIT;
    for (size_t r = 0; r < s->nrunning && rc == ALLOT_ENOFIT; r++) {
        uint32_t e = s->run[r];
        allot__job_rec *x = &s->jobs[e];
        while (rc == ALLOT_ENOFIT && allot__elastic(x) && x->desc.ntasks > x->ntasks_min) {
            v[nv].id = e;
            v[nv].task = x->desc.ntasks - 1;
            rc = elastic_drop_one(s, e, &v[nv].a);
            if (rc) break;
            nv++;
            rc = job_try_start(s, id, now, out);
            if (rc == JOB_BLOCKED) rc = ALLOT_ENOFIT;
        }
    }
    if (rc == 0) { /* commit: bank each shrunk job's work at its size before */
        for (size_t k = 0; k < nv; k++) {
            allot__job_rec *x = &s->jobs[v[k].id];
            if (x->start_time != now) {
                uint32_t cur = x->desc.ntasks, dropped = 0;
                for (size_t q = 0; q < nv; q++) dropped += v[q].id == v[k].id;
                allot__ends_remove(s, v[k].id);
                x->desc.ntasks = cur + dropped;
                elastic_segment(s, x, now);
                x->desc.ntasks = cur;
                int re = allot__ends_add(s, v[k].id);
                if (re) rc = re;
            }
            s->stats.shrinks++;
        }
        size_t nstart = out->n - n0;
        for (size_t k = 0; k < nv && rc == 0; k++)
            rc = push_task_decision(out, ALLOT_DEC_SHRINK, v[k].id, v[k].task, &v[k].a);
        if (rc == 0 && nstart > 0) { /* rotate the SHRINKs in front of the STARTs */
            allot_decision *tmp = malloc(nv * sizeof *tmp);
            if (!tmp) {
                rc = ALLOT_ENOMEM;
            } else {
                memcpy(tmp, &out->v[out->n - nv], nv * sizeof *tmp);
                memmove(&out->v[n0 + nv], &out->v[n0], nstart * sizeof *tmp);
                memcpy(&out->v[n0], tmp, nv * sizeof *tmp);
                free(tmp);
            }
        }
    } else if (rc == ALLOT_ENOFIT) { /* put every task back where it was */
        for (size_t k = nv; k-- > 0;) {
            allot__job_rec *x = &s->jobs[v[k].id];
            allot__victims_removed(s, v[k].id);
            allot__ends_remove(s, v[k].id);
            tenant_account(s, x, -1);
            int r2 = task_take(s, &x->desc.shape, &v[k].a);
            s->decisions--;
            x->many[x->desc.ntasks++] = v[k].a;
            tenant_account(s, x, +1);
            allot__victims_added(s, v[k].id);
            s->nextra++;
            if (r2 == 0) r2 = allot__ends_add(s, v[k].id);
            if (r2) {
                rc = r2;
                break;
            }
        }
    }
    free(v);
    return rc;
}

/* ---- all-or-nothing preemption ---------------------------------------------------------- */

int allot__undo_save(allot_sched *s, uint32_t id)
{
    if (s->nundo >= s->undo_cap) {
        size_t cap = s->undo_cap ? s->undo_cap * 2 : 16;
        allot__undo *v = realloc(s->undo, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        s->undo = v;
        s->undo_cap = cap;
    }
    allot__undo *u = &s->undo[s->nundo];
    const allot__job_rec *j = &s->jobs[id];
    u->id = id;
    u->rec = *j;
    u->many = NULL;
    if (j->many) {
        u->many = malloc(j->desc.ntasks * sizeof *u->many);
        if (!u->many) return ALLOT_ENOMEM;
        memcpy(u->many, j->many, j->desc.ntasks * sizeof *u->many);
    }
    s->nundo++;
    return 0;
}

static void undo_clear(allot_sched *s)
{
    for (size_t k = 0; k < s->nundo; k++) free(s->undo[k].many);
    s->nundo = 0;
}

/* Puts the saved victims back on exactly the devices they held. Nothing
 * else took those devices in between: the preemptor did not start. */
static int undo_preemption(allot_sched *s)
{
    for (size_t k = s->nundo; k-- > 0;) {
        allot__undo *u = &s->undo[k];
        allot__job_rec *x = &s->jobs[u->id];
        allot__task_alloc *many = x->many;
        *x = u->rec;
        x->many = many;
        if (u->many) memcpy(x->many, u->many, x->desc.ntasks * sizeof *x->many);
        allot__task_alloc *a = job_allocs(x);
        for (uint32_t t = 0; t < x->desc.ntasks; t++) {
            int rc = task_take(s, &x->desc.shape, &a[t]);
            if (rc) return rc;
            s->decisions--; /* a restoration, not a decision */
        }
        tenant_account(s, x, +1);
        int rc = run_add(s, u->id);
        if (rc) return rc;
    }
    undo_clear(s);
    return 0;
}

/* Stops victims for pending job id and starts it - or, if it still does not
 * start (its topology, the EASY reservation, its tenant's borrowing limit),
 * undoes the stops: no work is ever stopped for nothing, so a preemption can
 * never repeat on every event. Victims go to s->requeue on success. */
static int preempt_and_start(allot_sched *s, uint32_t id, int64_t now, allot_decisions *out)
{
    if (s->nextra > 0) { /* extra elastic tasks go first */
        int re = elastic_shrink_for(s, id, now, out);
        if (re != ALLOT_ENOFIT) return re;
    }
    if (!s->cfg.preempt && !s->ntenants) return ALLOT_ENOFIT;
    size_t n0 = out->n, rq0 = s->nrequeue;
    allot_sched_stats st0 = s->stats;
    undo_clear(s);
    int rc = allot__preempt_for(s, id, now, out);
    if (rc == 0 && s->reclaim_mask) { /* reclaimed: start where it is within quota */
        allot__job_rec *j = &s->jobs[id];
        j->desc.shape.chips = j->chips0 ? j->chips0 & s->reclaim_mask : s->reclaim_mask;
        rc = shape_intern(s, &j->desc.shape, &j->shape_id);
    }
    if (rc == 0) rc = job_try_start(s, id, now, out);
    if (rc == 0 || s->nundo == 0) {
        undo_clear(s);
        return rc;
    }
    if (rc != ALLOT_ENOFIT && rc != JOB_BLOCKED) return rc;
    s->nrequeue = rq0;
    out->n = n0;
    s->stats = st0;
    int ru = undo_preemption(s);
    return ru ? ru : rc;
}

#ifdef ALLOT_DEBUG
/* Debug builds: the parallel shapes, the per-shape counts and the list of
 * queued shapes match the queue. */
static int queue_check(const allot_sched *s)
{
    uint32_t *cnt = calloc(s->nshapes ? s->nshapes : 1, sizeof *cnt), nq = 0;
    if (!cnt) return ALLOT_ENOMEM;
    int rc =
        s->pending_off + s->npending <= s->pending_cap || s->npending == 0 ? 0 : ALLOT_EINVARIANT;
    for (size_t i = 0; i < s->npending && rc == 0; i++) {
        uint32_t id = s->pending[i];
        if (id >= s->jobs_cap || s->jobs[id].state != ALLOT_JOB_PENDING ||
            s->pshape[i] != s->jobs[id].shape_id0)
            rc = ALLOT_EINVARIANT;
        else
            cnt[s->jobs[id].shape_id0]++;
    }
    for (uint32_t k = 0; k < s->nshapes && rc == 0; k++) {
        nq += cnt[k] > 0;
        if (cnt[k] != s->shapes[k].npending) rc = ALLOT_EINVARIANT;
    }
    if (rc == 0 && nq != s->nqshapes) rc = ALLOT_EINVARIANT;
    for (uint32_t q = 0; q < s->nqshapes && rc == 0; q++)
        if (s->qshapes[q] >= s->nshapes || s->shapes[s->qshapes[q]].qpos != q ||
            s->shapes[s->qshapes[q]].npending == 0)
            rc = ALLOT_EINVARIANT;
    free(cnt);
    return rc;
}
#endif

/* Whether trying a placement (allot__place) to learn if a shape fits can
 * change nothing: a failed allot__place changes nothing, and a successful one
 * draws random numbers only for random tie-breaks or the random policy (its
 * other writes are caches). */
static int probe_safe(const allot_sched *s)
{
    return s->cfg.tiebreak == ALLOT_TIE_RANK && s->cfg.policy != ALLOT_POLICY_RANDOM;
}

/* At least the number of tasks of shape sh that node n can take now (tasks
 * of a job are identical, so these add up across nodes). */
static int64_t node_task_bound(const allot_sched *s, const allot_node *n, const allot_shape *sh)
{
    if (n->state != ALLOT_NODE_UP) return 0;
    int64_t k = INT64_MAX;
    if (sh->cpu > 0) k = n->cpu_free / sh->cpu;
    if (sh->mem > 0 && n->mem_free / sh->mem < k) k = n->mem_free / sh->mem;
    if (sh->ndev > 0) {
        if (n->chip == ALLOT_NO_CHIP || (sh->chips && !((sh->chips >> n->chip) & 1))) return 0;
        int64_t d = 0;
        if (sh->milli >= ALLOT_MILLI) {
            d = n->whole_free / sh->ndev;
        } else {
            const int16_t *f = allot_cluster_dev_free(s->c) + n->dev0;
            for (int q = 0; q < n->ndev; q++) d += f[q] / sh->milli;
        }
        if (d < k) k = d;
    }
    return k;
}

/* Whether gang j certainly fails to start now, found cheaply:
 *   2: not even one task of its shape fits any node (allot__place; skipped
 *      when the caller knows one does: fits_one);
 *   1: the nodes cannot hold all its tasks (node_task_bound summed over the
 *      racks whose free devices could hold one task).
 * Either way job_try_start would fail, and skipping it must change nothing:
 * both checks need probe_safe. In case 2 the try would place nothing at all;
 * in case 1 it could place some tasks and give them back, which leaves
 * everything as it was except the FGD fragmentation sum (floating-point
 * rounding), so case 1 also needs a scheduler without FGD's target workload. */
static int gang_cannot_start(allot_sched *s, const allot__job_rec *j, int fits_one)
{
    const allot_shape *sh = &j->desc.shape;
    if (j->desc.ntasks < 2 || !probe_safe(s)) return 0;
    allot__task_alloc a;
    if (!fits_one && allot__place(s, j->shape_id, sh, NULL, 0, &a) == ALLOT_ENOFIT) return 2;
    if (s->have_fgd) return 0;
    allot__shape_rec *sr = &s->shapes[j->shape_id];
    if (sr->gcap_gen == s->cap_gen) return sr->gcap < j->desc.ntasks; /* still a bound */
    int64_t total = 0, need = 65536; /* more than any job's tasks */
    uint32_t nd = allot_cluster_ndomains(s->c);
    for (uint32_t d = 0; d < nd && total < need; d++) {
        if (allot_cluster_domain(s->c, d)->level != ALLOT_LEVEL_RACK) continue;
        if (sh->ndev > 0 &&
            domain_free(s, d, sh) < (sh->milli >= ALLOT_MILLI ? sh->ndev : sh->milli))
            continue; /* no node of the rack has room for one task */
        const uint32_t *nodes = &s->dom_nodes[s->dom_first[d]];
        for (uint32_t k = 0; k < s->dom_count[d] && total < need; k++) {
            int64_t b = node_task_bound(s, allot_cluster_node(s->c, nodes[k]), sh);
            total = b >= need - total ? need : total + b;
        }
    }
    /* within a pass capacity only shrinks until jobs are stopped (cap_gen) */
    sr->gcap = total;
    sr->gcap_gen = s->cap_gen;
    return total < j->desc.ntasks;
}

/* Probing passes (see retry_pass): after a start, marks the live shapes (not
 * failed, jobs left to walk) that no longer fit any node as failed for the
 * rest of the pass, so that the pass does not walk on to their next jobs to
 * learn it. Returns how many it marked. */
static uint32_t queue_reprobe(allot_sched *s)
{
    uint32_t n = 0;
    for (uint32_t q = 0; q < s->nqlive; q++) {
        allot__shape_rec *sr = &s->shapes[s->qlive[q]];
        allot__task_alloc a;
        if (sr->fail_pass == s->pass || (sr->seen_pass == s->pass && sr->unvisited == 0)) continue;
        if (allot__place(s, s->qlive[q], &sr->shape, NULL, 0, &a) == ALLOT_ENOFIT) {
            sr->fail_pass = s->pass;
            n++;
        }
    }
    return n;
}

#define QUEUE_JUMP_SHAPES 64 /* a pass jumps only with at most this many live shapes */

/* The first position at or after `from` that may hold a job of a live shape
 * (not failed in this pass, jobs left to walk): every job before it belongs
 * to a failed shape. Drops the shapes no longer live from s->qlive. */
static size_t queue_next_live(allot_sched *s, size_t from)
{
    size_t next = s->npending;
    for (uint32_t q = 0; q < s->nqlive;) {
        allot__shape_rec *sr = &s->shapes[s->qlive[q]];
        if (sr->fail_pass == s->pass || (sr->seen_pass == s->pass && sr->unvisited == 0)) {
            s->qlive[q] = s->qlive[--s->nqlive];
            continue;
        }
        size_t h = sr->hint_epoch == s->qepoch && sr->hint > s->pending_off
                       ? (size_t)(sr->hint - s->pending_off)
                       : 0;
        if (h <= from) return from;
        if (h < next) next = h;
        q++;
    }
    return next;
}

/* Tries the pending jobs in queue order. GREEDY: each once. NONE: until the
 * first that does not fit. EASY: the first that does not fit becomes the
 * head and gets a reservation; the rest start only if they leave it whole.
 *
 * What a pass skips, and why the decisions are the same as trying them:
 *  - Without preemption or tenants, a shape a single task of which did not
 *    fit (fail_pass) fails for every later job of that shape in the pass:
 *    only starts happen in between, and they only take capacity. A failed
 *    try has no side effect, so skipping it changes nothing. When every shape
 *    with jobs left has failed (or a NONE pass is blocked, or an error
 *    stopped it), the rest of the queue would only be skipped: the pass stops
 *    there. It jumps over runs of jobs of failed shapes (the hints).
 *  - Greedy passes without preemption or tenants, under rank tie-breaks and
 *    a non-random policy (probe_safe), also probe: a shape that fits no node
 *    at the start of the pass, or after a start, has failed for the pass
 *    (its jobs would fail); so its jobs are not walked to.
 *  - With preemption or tenants (and no EASY reservation, whose scratch
 *    state a preemption search overwrites), a single-task job of tenant T at
 *    effective priority P that failed, preemption search included, makes
 *    every later job of its shape and tenant at priority <= P fail too until
 *    jobs are stopped, a job starts with tenants, or a preemptible job starts
 *    (qgen): the placement sees no more capacity, and such a job may stop
 *    only a subset of the same victims (lower priority than its own; reclaim
 *    needs it within quota, which a larger job is no more), each on no more
 *    capacity. Failed tries and searches change nothing.
 *  - A gang that certainly cannot fit is not tried (gang_cannot_start); if
 *    not even one task of its shape fits, and there is no preemption or
 *    tenant, its shape then fails for the pass as above. */
static int retry_pass(allot_sched *s, int64_t now, allot_decisions *out)
{
    allot__resv_clear(s);
    if (s->npending == 0) return 0;
#ifdef ALLOT_DEBUG
    {
        int qc = queue_check(s);
        if (qc) return qc;
    }
#endif
    if (s->cfg.order == ALLOT_ORDER_DRF) {
        int rs = drf_sort(s);
        if (rs) return rs;
    }
    s->pass++;
    if (s->cons) allot__cons_begin(s, now);
    s->qgen++;
    s->cap_gen++;
    /* fail_pass skips and the early stop: not with preemption or tenants
     * (priority and quotas matter), nor with elastic jobs (a shrink frees
     * capacity within a pass) */
    int memo = !s->cfg.preempt && !s->ntenants && !s->nelastic;
    int pmemo = !memo && !s->nelastic && s->cfg.backfill != ALLOT_BACKFILL_EASY; /* qf_* */
    int probe = memo && s->cfg.backfill == ALLOT_BACKFILL_GREEDY && probe_safe(s);
    int gmemo = memo && !s->cons && probe_safe(s); /* skip a larger twin of a failed gang */
    s->nqlive = 0;
    for (uint32_t q = 0; q < s->nqshapes; q++) {
        allot__shape_rec *sr = &s->shapes[s->qshapes[q]];
        allot__task_alloc a;
        if (probe && allot__place(s, s->qshapes[q], &sr->shape, NULL, 0, &a) == ALLOT_ENOFIT)
            sr->fail_pass = s->pass; /* fits no node now: fails for the whole pass */
        else
            s->qlive[s->nqlive++] = s->qshapes[q];
    }
    uint32_t live = s->nqlive; /* shapes with jobs left to walk, not failed */
    /* conservative backfill visits every job: each may need a reservation */
    int jump = memo && !s->cons && live <= QUEUE_JUMP_SHAPES;
    size_t i = 0, first = 0, last = 0, nstarted = 0; /* the starts: in [first, last] */
    int rc = 0, blocked = 0;
    for (; i < s->npending && rc == 0 && !blocked && !(memo && !s->cons && live == 0); i++) {
        if (jump) { /* to the next job of a live shape */
            i = queue_next_live(s, i);
            while (i < s->npending && s->shapes[s->pshape[i]].fail_pass == s->pass) i++;
            if (i >= s->npending) break;
        }
        uint32_t id = s->pending[i];
        allot__shape_rec *sr = &s->shapes[s->pshape[i]];
        if (memo && sr->fail_pass == s->pass) {                /* its shape failed: skipped */
            if (s->cons) rc = allot__cons_reserve(s, id, now); /* no room now: reserve */
            continue;
        }
        allot__job_rec *j = &s->jobs[id];
        if (sr->seen_pass != s->pass) {
            sr->seen_pass = s->pass;
            sr->unvisited = sr->npending;
        }
        sr->unvisited--;
        int started = 0;
        int skip = pmemo && sr->qf_gen == s->qgen && /* tenants matter only with quotas */
                   (!s->ntenants || sr->qf_tenant == j->desc.tenant) &&
                   allot__eff_prio(s, j, now) <= sr->qf_prio;
        if (!skip) {
            size_t nrq = s->nrequeue;
            /* in a probing pass with jumps a live shape fits one task */
            int cannot = gang_cannot_start(s, j, probe && jump), no_task = cannot == 2;
            /* a gang free to use any domain fits exactly when the per-node task
             * capacities add up to its size: a larger twin of one that did not
             * fit in this pass does not either (only starts happened since) */
            int gany = gmemo && j->desc.ntasks > 1 &&
                       (j->desc.topo == ALLOT_TOPO_ANY ||
                        (j->desc.topo_wait > 0 && j->submit_time != ALLOT_TIME_NONE &&
                         now - j->submit_time >= (int64_t)j->desc.topo_wait * 60));
            if (gany && sr->gf_pass == s->pass && j->desc.ntasks >= sr->gf_ntasks) cannot = 1;
            int r = cannot ? ALLOT_ENOFIT : job_try_start(s, id, now, out);
            if (r == ALLOT_ENOFIT && gany) {
                if (sr->gf_pass != s->pass || j->desc.ntasks < sr->gf_ntasks)
                    sr->gf_ntasks = j->desc.ntasks;
                sr->gf_pass = s->pass;
            }
            if (r == ALLOT_ENOFIT && (s->cfg.preempt || s->ntenants || s->nextra)) {
                r = preempt_and_start(s, id, now, out); /* 0: room made by preemption */
            }
            sr = &s->shapes[s->pshape[i]]; /* a try may intern shapes (realloc) */
            if (r == 0) {
                started = 1;
            } else if (r == ALLOT_ENOFIT) {
                if (memo) /* else priority, quotas or shrinks matter too */
                    sr->fail_pass = j->desc.ntasks == 1 || no_task ? s->pass : sr->fail_pass;
                if (pmemo && j->desc.ntasks == 1 && s->nrequeue == nrq) { /* nothing stopped */
                    sr->qf_gen = s->qgen;
                    sr->qf_tenant = j->desc.tenant;
                    sr->qf_prio = allot__eff_prio(s, j, now);
                }
                if (s->cfg.backfill == ALLOT_BACKFILL_NONE) {
                    blocked = 1; /* head-of-line blocking */
                } else if (s->cfg.backfill == ALLOT_BACKFILL_EASY && !s->resv.active &&
                           s->resv.job == UINT32_MAX) {
                    rc = allot__resv_compute(s, id, now);
                    s->resv.job = id;  /* the head, even without a reservation */
                    sr->fail_pass = 0; /* same-shape jobs behind may be shorter */
                } else if (s->cons) {
                    rc = allot__cons_reserve(s, id, now); /* jobs behind of the same
                                                             shape are not tried (no
                                                             room) but reserve too */
                }
            } else if (r == JOB_BLOCKED && s->cons) {
                rc = allot__cons_reserve(s, id, now);
            } else if (r != JOB_BLOCKED) {
                rc = r;
            }
            /* what pf_* assumed: victims stopped (capacity grew), tenants' use
             * changed, or a new running job that later jobs might preempt */
            if (s->nrequeue != nrq ||
                (started && (s->ntenants || (j->desc.flags & ALLOT_JOBF_PREEMPTIBLE))))
                s->qgen++;
            if (s->nrequeue != nrq) s->cap_gen++; /* capacity grew */
        } else if (s->cons && rc == 0) {
            rc = allot__cons_reserve(s, id, now); /* skipped as a twin that failed: reserve */
        }
        if (sr->kept_pass != s->pass) { /* every job of the shape before i has started */
            sr->hint = s->pending_off + i + (started ? 1 : 0);
            sr->hint_epoch = s->qepoch;
            if (!started) sr->kept_pass = s->pass;
        }
        if (started) {
            s->pending[i] = QUEUE_HOLE;
            if (nstarted++ == 0) first = i;
            last = i;
            queue_count(s, id, -1);
        }
        /* the shape leaves `live` once: when it fails or its last job is walked */
        if (sr->fail_pass == s->pass || sr->unvisited == 0) live--;
        if (started && probe && jump) live -= queue_reprobe(s); /* the start took capacity */
    }
    if (nstarted) { /* close the holes: what is before the last start moves towards it */
        size_t w = last + 1;
        for (size_t k = last + 1; k-- > first;)
            if (s->pending[k] != QUEUE_HOLE) {
                w--;
                s->pending[w] = s->pending[k];
                s->pshape[w] = s->pshape[k];
            }
        queue_move(s, s->pending_off + nstarted, s->pending_off, first);
        queue_window(s, s->pending_off + nstarted);
        s->npending -= nstarted;
    }
    allot__cons_end(s);
    int rq = requeue_flush(s);
    return rc ? rc : rq;
}

/* ---- checking ------------------------------------------------------------------------------- */

static int sched_check(allot_sched *s)
{
    char msg[256];
    int rc = allot_cluster_check(s->c, msg, sizeof msg);
    if (rc || s->raw_placements) return rc; /* job records cannot explain raw places */
    uint32_t nn = allot_cluster_nnodes(s->c);
    uint32_t nd = allot_cluster_ndevices(s->c);
    int32_t *used = calloc(nd ? nd : 1, sizeof *used);
    int64_t *cpu = calloc(nn ? nn : 1, sizeof *cpu);
    int64_t *mem = calloc(nn ? nn : 1, sizeof *mem);
    if (!used || !cpu || !mem) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    size_t running = 0;
    for (uint32_t id = 0; id < s->jobs_cap; id++) {
        allot__job_rec *j = &s->jobs[id];
        if (j->state != ALLOT_JOB_RUNNING) continue;
        running++;
        allot__task_alloc *a = job_allocs(j);
        for (uint32_t t = 0; t < j->desc.ntasks; t++) {
            if (a[t].node >= nn) {
                rc = ALLOT_EINVARIANT;
                goto out;
            }
            const allot_node *n = allot_cluster_node(s->c, a[t].node);
            if (n->state == ALLOT_NODE_DOWN) {
                rc = ALLOT_EINVARIANT; /* running task on a lost node */
                goto out;
            }
            cpu[a[t].node] += j->desc.shape.cpu;
            mem[a[t].node] += j->desc.shape.mem;
            for (uint64_t m = a[t].devs; m; m &= m - 1)
                used[n->dev0 + (uint32_t)__builtin_ctzll(m)] += j->desc.shape.milli;
        }
    }
    if (running != s->nrunning) {
        rc = ALLOT_EINVARIANT;
        goto out;
    }
    const int16_t *df = allot_cluster_dev_free(s->c);
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *n = allot_cluster_node(s->c, i);
        if (n->cpu_cap - n->cpu_free != cpu[i] || n->mem_cap - n->mem_free != mem[i]) {
            rc = ALLOT_EINVARIANT;
            goto out;
        }
        for (int k = 0; k < n->ndev; k++)
            if (ALLOT_MILLI - df[n->dev0 + (uint32_t)k] != used[n->dev0 + (uint32_t)k]) {
                rc = ALLOT_EINVARIANT;
                goto out;
            }
    }
out:
    free(used);
    free(cpu);
    free(mem);
    return rc;
}

/* ---- events ---------------------------------------------------------------------------------- */

static int ensure_job_slot(allot_sched *s, uint32_t id)
{
    if (id == UINT32_MAX) return ALLOT_EINVAL;
    if (id < s->jobs_cap) return 0;
    uint32_t cap = s->jobs_cap ? s->jobs_cap : 1024;
    while (cap <= id) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
    allot__job_rec *v = realloc(s->jobs, (size_t)cap * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    memset(&v[s->jobs_cap], 0, (size_t)(cap - s->jobs_cap) * sizeof *v);
    for (uint32_t i = s->jobs_cap; i < cap; i++) v[i].state = ALLOT__JOB_UNUSED;
    s->jobs = v;
    s->jobs_cap = cap;
    return 0;
}

/* The record of a new job (SUBMIT, RESTORE): checked, pending, its shape
 * interned. */
static int job_rec_new(allot_sched *s, const allot_event *ev, allot__job_rec **out)
{
    if (!ev->desc) return ALLOT_EINVAL;
    if (ev->desc->ntasks < 1 || ev->desc->ntasks > 65535) return ALLOT_EINVAL;
    if (allot_shape_check(&ev->desc->shape, NULL, 0)) return ALLOT_EINVAL;
    int rc = ensure_job_slot(s, ev->job);
    if (rc) return rc;
    allot__job_rec *j = &s->jobs[ev->job];
    if (j->state != ALLOT__JOB_UNUSED) return ALLOT_EEXIST;
    free(j->many);
    memset(j, 0, sizeof *j);
    j->desc = *ev->desc;
    j->seq = s->next_seq++;
    j->submit_time = ev->time;
    j->start_time = ALLOT_TIME_NONE;
    j->state = ALLOT_JOB_PENDING;
    rc = shape_intern(s, &j->desc.shape, &j->shape_id);
    if (rc) return rc;
    j->shape_id0 = j->shape_id;
    j->chips0 = j->desc.shape.chips;
    j->planned = ALLOT_TIME_NONE;
    j->ntasks_min = j->desc.ntasks;
    *out = j;
    return 0;
}

static int on_submit(allot_sched *s, const allot_event *ev, allot_decisions *out)
{
    allot__job_rec *j;
    int rc = job_rec_new(s, ev, &j);
    if (rc) return rc;
    if (j->desc.ntasks_max > 0 && j->desc.ntasks_max < j->desc.ntasks)
        j->desc.ntasks_max = (uint16_t)j->desc.ntasks; /* not elastic */
    allot__shape_rec *sr = &s->shapes[j->shape_id];
    if (sr->never_fits < 0) { /* the empty fleet does not change: once per shape */
        sr->fleet_cap = fleet_capacity(s, &sr->shape);
        sr->never_fits = sr->fleet_cap == 0;
    }
    if (sr->never_fits || (j->desc.ntasks > 1 && sr->fleet_cap < j->desc.ntasks) ||
        !topo_possible(s, j) || !quota_possible(s, j)) {
        j->state = ALLOT_JOB_FAILED; /* can never fit this fleet: reject now */
        return push_fail(out, ev->job);
    }
    if (s->cfg.backfill != ALLOT_BACKFILL_GREEDY && s->npending > 0) {
        /* jobs wait their turn: queue it, then serve the queue in order */
        if (s->cfg.nofit == ALLOT_NOFIT_FAIL) {
            rc = job_try_start(s, ev->job, ev->time, out);
            if (rc == 0) return 0;
            j->state = ALLOT_JOB_FAILED;
            return rc == ALLOT_ENOFIT || rc == JOB_BLOCKED ? push_fail(out, ev->job) : rc;
        }
        rc = queue_push(s, ev->job);
        return rc ? rc : retry_pass(s, ev->time, out);
    }
    rc = job_try_start(s, ev->job, ev->time, out);
    if (rc == 0) return 0;
    if (rc == ALLOT_ENOFIT && (s->cfg.preempt || s->ntenants || s->nextra)) {
        rc = preempt_and_start(s, ev->job, ev->time, out);
        int rq = requeue_flush(s);
        if (rc == 0 && rq == 0) return retry_pass(s, ev->time, out); /* victims may fit elsewhere */
        if (rq) return rq;
    }
    if (rc == JOB_BLOCKED) rc = ALLOT_ENOFIT; /* held back (quota): it waits like a no-fit */
    if (rc != ALLOT_ENOFIT) return rc;
    if (s->cfg.nofit == ALLOT_NOFIT_FAIL) {
        j->state = ALLOT_JOB_FAILED;
        return push_fail(out, ev->job);
    }
    return queue_push(s, ev->job);
}

static allot__job_rec *job_get(allot_sched *s, uint32_t id)
{
    if (id >= s->jobs_cap || s->jobs[id].state == ALLOT__JOB_UNUSED) return NULL;
    return &s->jobs[id];
}

static int on_end(allot_sched *s, const allot_event *ev, allot_job_state final,
                  allot_decisions *out)
{
    allot__job_rec *j = job_get(s, ev->job);
    if (!j) return ALLOT_EINVAL;
    if (j->state == ALLOT_JOB_PENDING) {
        if (final != ALLOT_JOB_CANCELLED) return ALLOT_ESTATE; /* cannot finish unstarted */
        queue_remove(s, ev->job);
        j->state = (uint8_t) final;
        return 0;
    }
    if (j->state != ALLOT_JOB_RUNNING) return ALLOT_ESTATE;
    int rc = job_release(s, j);
    if (rc) return rc;
    j->state = (uint8_t) final;
    run_remove(s, ev->job);
    free(j->many);
    j->many = NULL;
    return retry_pass(s, ev->time, out);
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int on_node_down(allot_sched *s, const allot_event *ev, allot_decisions *out)
{
    if (ev->node >= allot_cluster_nnodes(s->c)) return ALLOT_EINVAL;
    /* stop and requeue every job with a task on the node, in job-id order */
    uint32_t *hit = malloc((s->nrunning ? s->nrunning : 1) * sizeof *hit);
    if (!hit) return ALLOT_ENOMEM;
    size_t nhit = 0;
    for (size_t r = 0; r < s->nrunning; r++) {
        allot__job_rec *j = &s->jobs[s->run[r]];
        allot__task_alloc *a = job_allocs(j);
        for (uint32_t t = 0; t < j->desc.ntasks; t++)
            if (a[t].node == ev->node) {
                hit[nhit++] = s->run[r];
                break;
            }
    }
    qsort(hit, nhit, sizeof *hit, u32_cmp);
    for (size_t k = 0; k < nhit; k++) {
        uint32_t id = hit[k];
        allot__job_rec *j = &s->jobs[id];
        /* the job restarts from its last checkpoint */
        int64_t lost = allot__lost_work(j, ev->time);
        allot__job_save_progress(s, j, ev->time);
        s->stats.failure_stops++;
        s->stats.failure_lost_device_s += (double)lost * (double)allot_job_milli(&j->desc) / 1000.0;
        int rc = allot__job_stop(s, id, ev->time);
        allot_decision *d = rc ? NULL : allot__dec_push(out);
        if (rc || !d) {
            free(hit);
            return rc ? rc : ALLOT_ENOMEM;
        }
        d->kind = ALLOT_DEC_STOP;
        d->job = id;
        d->node = ev->node;
    }
    free(hit);
    {
        int rc = requeue_flush(s);
        if (rc) return rc;
    }
    int rc = allot_cluster_set_state(s->c, ev->node, ALLOT_NODE_DOWN);
    if (rc) return rc;
    allot__node_changed(s, ev->node);
    return retry_pass(s, ev->time, out);
}

/* RESTORE: the job as submitted, then started on exactly the given devices
 * (all or nothing). */
static int on_restore(allot_sched *s, const allot_event *ev)
{
    if (!ev->desc || !ev->placed) return ALLOT_EINVAL;
    uint32_t nn = allot_cluster_nnodes(s->c);
    for (uint32_t t = 0; t < ev->desc->ntasks; t++) {
        const allot_decision *p = &ev->placed[t];
        if (p->node >= nn || p->ndev != ev->desc->shape.ndev) return ALLOT_EINVAL;
        if (allot_cluster_node(s->c, p->node)->state == ALLOT_NODE_DOWN) return ALLOT_ESTATE;
    }
    allot__job_rec *j;
    int rc = job_rec_new(s, ev, &j);
    if (rc) return rc;
    j->desc.ntasks_max = 0; /* a restored job keeps its size */
    if (j->desc.ntasks > 1) {
        j->many = calloc(j->desc.ntasks, sizeof *j->many);
        if (!j->many) return ALLOT_ENOMEM;
    }
    allot__task_alloc *a = job_allocs(j);
    for (uint32_t t = 0; t < j->desc.ntasks; t++) a[t].node = UINT32_MAX;
    for (uint32_t t = 0; t < j->desc.ntasks; t++) {
        const allot_decision *p = &ev->placed[t];
        a[t].node = p->node;
        a[t].devs = 0;
        for (int k = 0; k < p->ndev; k++) a[t].devs |= 1ull << p->devs[k];
        rc = task_take(s, &j->desc.shape, &a[t]);
        if (rc) { /* not free: give back what was taken, forget the job */
            a[t].node = UINT32_MAX;
            s->decisions -= t;
            int r2 = job_release(s, j);
            free(j->many);
            memset(j, 0, sizeof *j);
            j->state = ALLOT__JOB_UNUSED;
            return r2 ? r2 : ALLOT_ENOFIT;
        }
    }
    record_span(s, j);
    j->state = ALLOT_JOB_RUNNING;
    tenant_account(s, j, +1);
    j->start_time = ev->time;
    j->epoch++;
    return run_add(s, ev->job);
}

/* REQUEUE: a running job stops (its work since the last checkpoint is lost)
 * and waits again. */
static int on_requeue(allot_sched *s, const allot_event *ev, allot_decisions *out)
{
    if (ev->job >= s->jobs_cap || s->jobs[ev->job].state == ALLOT__JOB_UNUSED) return ALLOT_EINVAL;
    allot__job_rec *j = &s->jobs[ev->job];
    if (j->state != ALLOT_JOB_RUNNING) return ALLOT_ESTATE;
    int64_t lost = allot__lost_work(j, ev->time);
    allot__job_save_progress(s, j, ev->time);
    s->stats.failure_stops++;
    s->stats.failure_lost_device_s += (double)lost * (double)allot_job_milli(&j->desc) / 1000.0;
    int rc = allot__job_stop(s, ev->job, ev->time);
    if (rc) return rc;
    allot_decision *d = allot__dec_push(out);
    if (!d) return ALLOT_ENOMEM;
    d->kind = ALLOT_DEC_STOP;
    d->job = ev->job;
    d->node = UINT32_MAX;
    rc = requeue_flush(s);
    return rc ? rc : retry_pass(s, ev->time, out);
}

int allot_sched_handle(allot_sched *s, const allot_event *ev, allot_decisions *out)
{
    if (!s || !ev || !out) return ALLOT_EINVAL;
    int rc;
    switch (ev->kind) {
    case ALLOT_EV_SUBMIT: rc = on_submit(s, ev, out); break;
    case ALLOT_EV_FINISH: rc = on_end(s, ev, ALLOT_JOB_SUCCEEDED, out); break;
    case ALLOT_EV_CANCEL: rc = on_end(s, ev, ALLOT_JOB_CANCELLED, out); break;
    case ALLOT_EV_NODE_DOWN: rc = on_node_down(s, ev, out); break;
    case ALLOT_EV_NODE_UP:
        if (ev->node >= allot_cluster_nnodes(s->c)) return ALLOT_EINVAL;
        rc = allot_cluster_set_state(s->c, ev->node, ALLOT_NODE_UP);
        if (rc == 0) {
            allot__node_changed(s, ev->node);
            rc = retry_pass(s, ev->time, out);
        }
        break;
    case ALLOT_EV_NODE_DRAIN:
        if (ev->node >= allot_cluster_nnodes(s->c)) return ALLOT_EINVAL;
        if (allot_cluster_node(s->c, ev->node)->state == ALLOT_NODE_DOWN) return ALLOT_ESTATE;
        rc = allot_cluster_set_state(s->c, ev->node, ALLOT_NODE_DRAINING);
        if (rc == 0) allot__node_changed(s, ev->node);
        break;
    case ALLOT_EV_TICK: rc = retry_pass(s, ev->time, out); break;
    case ALLOT_EV_RESTORE: rc = on_restore(s, ev); break;
    case ALLOT_EV_REQUEUE: rc = on_requeue(s, ev, out); break;
    case ALLOT_EV_FORGET: {
        allot__job_rec *j = job_get(s, ev->job);
        if (!j) return ALLOT_EINVAL;
        if (j->state == ALLOT_JOB_PENDING || j->state == ALLOT_JOB_RUNNING) return ALLOT_ESTATE;
        if (s->resv.job == ev->job) {
            s->resv.active = 0;
            s->resv.job = UINT32_MAX;
        }
        allot__cons_forget(s, ev->job);
        free(j->many);
        memset(j, 0, sizeof *j);
        j->state = ALLOT__JOB_UNUSED;
        rc = 0;
        break;
    }
    default: return ALLOT_EINVAL;
    }
    if (rc == 0 && s->nelastic > 0 && s->npending == 0) rc = elastic_grow(s, ev->time, out);
    if (rc == 0 && s->cfg.check_invariants) rc = sched_check(s);
    return rc;
}

int allot_sched_place(allot_sched *s, const allot_shape *shape, allot_decision *d, int commit)
{
    if (!s || !shape || !d) return ALLOT_EINVAL;
    /* only the FGD score memo is keyed by shape id; skip the hashing else */
    uint32_t sid = UINT32_MAX;
    int rc = 0;
    if (s->score_memo) {
        rc = shape_intern(s, shape, &sid);
        if (rc) return rc;
    }
    allot__task_alloc a;
    rc = allot__place(s, sid, shape, NULL, 0, &a);
    if (rc) return rc;
    if (commit) {
        rc = task_take(s, shape, &a);
        if (rc) return rc;
        s->raw_placements = 1;
    }
    memset(d, 0, sizeof *d);
    d->kind = ALLOT_DEC_START;
    d->node = a.node;
    d->milli = shape->milli;
    d->ndev = (uint8_t)mask_to_devs(a.devs, d->devs);
    return 0;
}

int allot_sched_unplace(allot_sched *s, const allot_shape *shape, const allot_decision *d)
{
    if (!s || !shape || !d || d->node >= allot_cluster_nnodes(s->c) ||
        d->ndev > ALLOT_MAX_DEVS_PER_NODE)
        return ALLOT_EINVAL;
    allot__task_alloc a = {d->node, shape->milli, 0};
    for (int i = 0; i < d->ndev; i++) {
        if (d->devs[i] >= 64) return ALLOT_EINVAL;
        a.devs |= (uint64_t)1 << d->devs[i];
    }
    return task_give(s, shape, &a);
}

size_t allot_sched_pending(const allot_sched *s) { return s->npending; }
size_t allot_sched_running(const allot_sched *s) { return s->nrunning; }
const allot_cluster *allot_sched_cluster(const allot_sched *s) { return s->c; }
uint64_t allot_sched_decisions(const allot_sched *s) { return s->decisions; }

void allot_sched_get_stats(const allot_sched *s, allot_sched_stats *out) { *out = s->stats; }

int64_t allot_sched_job_remaining(const allot_sched *s, uint32_t job)
{
    if (job >= s->jobs_cap || s->jobs[job].state == ALLOT__JOB_UNUSED) return ALLOT_TIME_NONE;
    return allot__job_remaining(&s->jobs[job]);
}

int64_t allot_sched_job_end(const allot_sched *s, uint32_t job)
{
    if (job >= s->jobs_cap || s->jobs[job].state != ALLOT_JOB_RUNNING) return ALLOT_TIME_NONE;
    int64_t left = allot__job_run_left(s, &s->jobs[job]);
    return left == INT64_MAX ? ALLOT_TIME_NONE : s->jobs[job].start_time + left;
}

uint32_t allot_sched_job_epoch(const allot_sched *s, uint32_t job)
{
    if (job >= s->jobs_cap || s->jobs[job].state == ALLOT__JOB_UNUSED) return 0;
    return s->jobs[job].epoch;
}

int64_t allot_sched_tenant_use(const allot_sched *s, uint16_t t, uint32_t k)
{
    if (!s->ntenants || t >= s->ntenants || k >= ALLOT_MAX_CHIP_TYPES) return 0;
    return tenant_row(s, t)[k];
}

int allot_sched_job_planned(const allot_sched *s, uint32_t job, int64_t *t)
{
    if (job >= s->jobs_cap || s->jobs[job].state == ALLOT__JOB_UNUSED ||
        s->jobs[job].planned == ALLOT_TIME_NONE)
        return ALLOT_ENOENT;
    if (t) *t = s->jobs[job].planned;
    return 0;
}

int allot_sched_reservation(const allot_sched *s, uint32_t *job, int64_t *t)
{
    if (!s->resv.active) return ALLOT_ENOENT;
    if (job) *job = s->resv.job;
    if (t) *t = s->resv.t;
    return 0;
}

int allot_sched_job_span(const allot_sched *s, uint32_t job, int *level, int *racks)
{
    if (job >= s->jobs_cap || s->jobs[job].state == ALLOT__JOB_UNUSED ||
        s->jobs[job].start_time == ALLOT_TIME_NONE)
        return ALLOT_ENOENT;
    if (level) *level = s->jobs[job].span_level;
    if (racks) *racks = s->jobs[job].span_racks;
    return 0;
}

allot_job_state allot_sched_job_state(const allot_sched *s, uint32_t job)
{
    if (job >= s->jobs_cap || s->jobs[job].state == ALLOT__JOB_UNUSED) return ALLOT_JOB_FAILED;
    return (allot_job_state)s->jobs[job].state;
}
