/* place.c - node and device choice for one task, per policy.
 *
 * Semantics follow the FGD authors' Kubernetes simulator (scheduler
 * framework v1beta1, one score plugin at a time, percentageOfNodesToScore
 * 100): filter the feasible nodes, give each an integer score in 0..100,
 * take the highest score and break ties uniformly at random. Then pick the
 * devices on that node.
 *
 * Worked example (best-fit). A task asks for 1 GPU and 8 cores. Node A has
 * 3 GPUs and 20 cores free, node B 1 GPU and 10 cores. Left after placing:
 * A: 0.5*(12000/128000) + 0.5*(2000/8000) = 0.172 -> score int(82.8) = 82;
 * B: 0.5*(2000/128000) + 0.5*(0/8000) = 0.008 -> score 99. B wins.
 *
 * Feasibility (filter) is the Kubernetes NodeResourcesFit check (CPU and
 * memory requests) plus the GPU-share filter: the node's chip type is
 * allowed, and enough devices have enough free milli.
 *
 * Device choice: whole-device tasks take the lowest-indexed fully free
 * devices; a fractional task goes to the device with the least free milli
 * that still fits ("best", used with dot-product, GPU clustering, GPU
 * packing and best-fit), a uniformly random fitting device (random), or the
 * device with the best FGD score (fgd).
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "internal.h"

#define MAX_SPEC_CPU 128000.0 /* FGD's normalisers: 128 cores, 8 GPUs */
#define MAX_SPEC_GPU 8000.0

/* ---- feasibility ------------------------------------------------------------ */

static inline int chip_ok(const allot_node *n, const allot_shape *sh)
{
    if (sh->ndev == 0) return 1;
    if (n->chip == ALLOT_NO_CHIP) return 0;
    return sh->chips == 0 || ((sh->chips >> n->chip) & 1);
}

static inline int feasible(const allot_node *n, const int16_t *df, const allot_shape *sh)
{
    if (n->state != ALLOT_NODE_UP) return 0;
    if (n->cpu_free < sh->cpu || n->mem_free < sh->mem) return 0;
    if (sh->ndev == 0) return 1;
    if (!chip_ok(n, sh)) return 0;
    if (sh->milli >= ALLOT_MILLI) return n->whole_free >= sh->ndev;
    if (n->milli_free < sh->milli) return 0;
    const int16_t *d = df + n->dev0;
    int count = 0;
    for (int i = 0; i < n->ndev; i++)
        if (d[i] >= sh->milli && ++count >= sh->ndev) return 1;
    return 0;
}

/* Down nodes count: they may be repaired, so a job that only they could run
 * waits (queue) instead of being rejected as impossible. */
int allot__fits_empty(const allot_sched *s, const allot_node *n, const allot_shape *sh)
{
    (void)s;
    if (n->cpu_cap < sh->cpu || n->mem_cap < sh->mem) return 0;
    if (sh->ndev == 0) return 1;
    if (!chip_ok(n, sh)) return 0;
    return n->ndev >= sh->ndev;
}

/* ---- device choice ------------------------------------------------------------ */

static uint64_t first_whole(const allot_node *n, const int16_t *d, int k)
{
    uint64_t m = 0;
    for (int i = 0; i < n->ndev && k > 0; i++) {
        if (d[i] == ALLOT_MILLI) {
            m |= (uint64_t)1 << i;
            k--;
        }
    }
    return m;
}

/* "best": least free milli that still fits; first index on ties. */
static uint64_t dev_best(const allot_node *n, const int16_t *d, const allot_shape *sh)
{
    if (sh->ndev == 0) return 0;
    if (sh->milli >= ALLOT_MILLI) return first_whole(n, d, sh->ndev);
    int best = -1;
    for (int i = 0; i < n->ndev; i++)
        if (d[i] >= sh->milli && (best < 0 || d[i] < d[best])) best = i;
    return best < 0 ? 0 : (uint64_t)1 << best;
}

static uint64_t dev_random(allot_sched *s, const allot_node *n, const int16_t *d,
                           const allot_shape *sh)
{
    if (sh->ndev == 0) return 0;
    if (sh->milli >= ALLOT_MILLI) return first_whole(n, d, sh->ndev);
    int pick = -1;
    uint64_t cnt = 0;
    for (int i = 0; i < n->ndev; i++) {
        if (d[i] >= sh->milli) {
            cnt++;
            if (allot_rng_below(&s->rng, cnt) == 0) pick = i;
        }
    }
    return pick < 0 ? 0 : (uint64_t)1 << pick;
}

/* ---- scores ------------------------------------------------------------------- */

static int score_dotprod(const allot_node *n, const allot_shape *sh)
{
    double nc = (double)n->cpu_free / MAX_SPEC_CPU, ng = (double)n->milli_free / MAX_SPEC_GPU;
    double pc = (double)sh->cpu / MAX_SPEC_CPU;
    double pg = (double)sh->milli * sh->ndev / MAX_SPEC_GPU;
    double dot = (nc * pc + ng * pg) / 2.0;
    return (int)(100.0 * (1.0 - dot));
}

static int score_bestfit(const allot_node *n, const allot_shape *sh)
{
    double left = 0.5 * (double)(n->cpu_free - sh->cpu) / MAX_SPEC_CPU +
                  0.5 * (double)(n->milli_free - (int64_t)sh->milli * sh->ndev) / MAX_SPEC_GPU;
    return (int)((1.0 - left) * 100.0);
}

/* Affinity tags of tasks on a node, as the GPU-clustering plugin sees them:
 * "share-gpu" or "<k>-gpu". Tracked by the scheduler per node. */
static int score_gpucluster(const allot_sched *s, uint32_t node, const allot_node *n,
                            const allot_shape *sh);

static int score_gpupacking(const allot_node *n, const int16_t *d, const allot_shape *sh)
{
    if (sh->ndev == 0 || sh->milli == 0) return 0;
    int full = n->whole_free;
    if (full == n->ndev) { /* case 3: an idle node */
        int score = 100 / 3 - full;
        return score > full ? score : full;
    }
    /* take devices least-free-first (stable), as getPackingScore does */
    int idx[ALLOT_MAX_DEVS_PER_NODE];
    for (int i = 0; i < n->ndev; i++) idx[i] = i;
    for (int i = 1; i < n->ndev; i++) { /* insertion sort, stable */
        int v = idx[i], j = i - 1;
        while (j >= 0 && d[idx[j]] > d[v]) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = v;
    }
    int need = sh->ndev, full_used = 0;
    int64_t free_ratio = 0;
    for (int k = 0; k < n->ndev && need > 0; k++) {
        int i = idx[k];
        if (sh->milli <= d[i]) {
            need--;
            if (d[i] == ALLOT_MILLI) full_used++;
            free_ratio += (int64_t)d[i] * 100 / ALLOT_MILLI;
        }
    }
    if (need != 0) return 0;
    if (full_used > 0) { /* case 2: fully free devices on a used node */
        int score = 100 / 2 - full_used;
        return score > 100 / 3 ? score : 100 / 3;
    }
    int score = 100 - (int)(free_ratio / 10); /* case 1: shared devices */
    return score > 100 / 2 ? score : 100 / 2;
}

/* ---- FGD ------------------------------------------------------------------------ */

static inline int fgd_score_of(double before, double after)
{
    double x = (before - after) / 1000.0;
    return (int)(1.0 / (1.0 + exp(-x)) * 100.0);
}

/* Best FGD score on node n for the shape, and the device that gets it. */
static int score_fgd(allot_sched *s, uint32_t node, const allot_node *n, const int16_t *d,
                     const allot_shape *sh, uint64_t *devs)
{
    double before = allot__node_frag(s, node);
    int16_t tmp[ALLOT_MAX_DEVS_PER_NODE];
    memcpy(tmp, d, (size_t)n->ndev * sizeof *tmp);
    int64_t cpu_after = n->cpu_free - sh->cpu;
    if (sh->ndev == 1 && sh->milli < ALLOT_MILLI) {
        int best = -1, best_score = 0;
        for (int i = 0; i < n->ndev; i++) {
            if (d[i] < sh->milli) continue;
            int seen = 0; /* same free value as an earlier device: same result */
            for (int j = 0; j < i; j++)
                if (d[j] == d[i]) {
                    seen = 1;
                    break;
                }
            if (seen) continue;
            tmp[i] = (int16_t)(d[i] - sh->milli);
            double after = allot__fgd_frag(&s->fgd, n->chip, cpu_after, tmp, n->ndev);
            tmp[i] = d[i];
            int sc = fgd_score_of(before, after);
            if (best < 0 || sc > best_score) {
                best = i;
                best_score = sc;
            }
        }
        *devs = best < 0 ? 0 : (uint64_t)1 << best;
        return best_score;
    }
    uint64_t m = sh->ndev ? first_whole(n, d, sh->ndev) : 0;
    for (int i = 0; i < n->ndev; i++)
        if ((m >> i) & 1) tmp[i] = 0;
    double after = allot__fgd_frag(&s->fgd, n->chip, cpu_after, tmp, n->ndev);
    *devs = m;
    return fgd_score_of(before, after);
}

/* FGD score through the (shape, node) memo: valid while the node's version
 * is unchanged. */
static int score_fgd_memo(allot_sched *s, uint32_t shape_id, uint32_t node, const allot_node *n,
                          const int16_t *d, const allot_shape *sh, uint64_t *devs)
{
    uint64_t *slot = NULL;
    if (s->score_memo && shape_id < s->score_memo_shapes) {
        slot = &s->score_memo[(size_t)shape_id * allot_cluster_nnodes(s->c) + node];
        if ((uint32_t)(*slot >> 32) == n->version + 1u) {
            int dev = (int)((*slot >> 8) & 0xFF);
            if (sh->ndev == 1 && sh->milli < ALLOT_MILLI)
                *devs = (uint64_t)1 << dev;
            else
                *devs = sh->ndev ? first_whole(n, d, sh->ndev) : 0;
            return (int)(*slot & 0xFF);
        }
    }
    int sc = score_fgd(s, node, n, d, sh, devs);
    if (slot) {
        int dev = *devs ? __builtin_ctzll(*devs) : 0;
        *slot = ((uint64_t)(n->version + 1u) << 32) | ((uint64_t)dev << 8) | (uint64_t)sc;
    }
    return sc;
}

/* fgd-la secondary key among equal FGD scores: prefer nodes that already run
 * tasks (consolidate), so idle nodes stay whole for large tasks. */
static inline double fgdla_key(const allot_node *n) { return n->ntasks > 0 ? 1.0 : 0.0; }

/* ---- the scan ------------------------------------------------------------------- */

int allot__place(allot_sched *s, uint32_t shape_id, const allot_shape *sh, const uint32_t *subset,
                 uint32_t nsubset, allot__task_alloc *out)
{
    allot_cluster *c = s->c;
    const allot_node *nodes = allot_cluster_nodes(c);
    const int16_t *df = allot_cluster_dev_free(c);
    uint32_t nn = subset ? nsubset : allot_cluster_nnodes(c);
    allot_policy pol = s->cfg.policy;
    int best_score = INT_MIN; /* scores can be negative (best-fit on nodes over 128 cores) */
    uint32_t best = UINT32_MAX;
    uint64_t best_devs = 0, ties = 0;
    double best_key = -INFINITY;
    int gpu_task = sh->ndev > 0 && sh->milli > 0;
    /* the random policy draws its node uniformly whatever the tie-break (the
     * FGD simulator's RandomScore picks one feasible node in PreScore) */
    const uint32_t *rank =
        s->cfg.tiebreak == ALLOT_TIE_RANK && pol != ALLOT_POLICY_RANDOM ? s->node_rank : NULL;

    if (pol == ALLOT_POLICY_BESTFIT && s->bfidx && !subset) {
        if (allot__bfidx_place(s, sh, &best) != 0) return ALLOT_ENOFIT;
        nn = 0; /* skip the scan: the index found the scan's answer */
    }
    for (uint32_t k = 0; k < nn; k++) {
        uint32_t i = subset ? subset[k] : k;
        const allot_node *n = &nodes[i];
        if (!feasible(n, df, sh)) continue;
        int sc;
        uint64_t devs = 0;
        switch (pol) {
        case ALLOT_POLICY_RANDOM:
            sc = 0; /* every feasible node ties: uniform choice */
            break;
        case ALLOT_POLICY_DOTPROD: sc = score_dotprod(n, sh); break;
        case ALLOT_POLICY_GPUCLUSTER: sc = gpu_task ? score_gpucluster(s, i, n, sh) : 0; break;
        case ALLOT_POLICY_GPUPACKING: sc = score_gpupacking(n, df + n->dev0, sh); break;
        case ALLOT_POLICY_BESTFIT: sc = score_bestfit(n, sh); break;
        case ALLOT_POLICY_FGD:
            sc = score_fgd_memo(s, shape_id, i, n, df + n->dev0, sh, &devs);
            break;
        case ALLOT_POLICY_FGDLA:
        default: sc = score_fgd_memo(s, shape_id, i, n, df + n->dev0, sh, &devs); break;
        }
        if (pol == ALLOT_POLICY_FGDLA) {
            /* ours: FGD's integer score first; among equal scores a
             * secondary key (see fgdla_key), then the tie-break order. */
            double key = fgdla_key(n);
            int better = 0, tie = 0;
            if (sc > best_score) {
                better = 1;
            } else if (sc == best_score) {
                if (key > best_key + 1e-9)
                    better = 1;
                else if (key > best_key - 1e-9)
                    tie = 1;
            }
            if (better) {
                best_score = sc;
                best_key = key;
                best = i;
                best_devs = devs;
                ties = 1;
            } else if (tie) {
                ties++;
                if (rank ? rank[i] < rank[best] : allot_rng_below(&s->rng, ties) == 0) {
                    best = i;
                    best_devs = devs;
                }
            }
            continue;
        }
        if (sc > best_score) {
            best_score = sc;
            best = i;
            best_devs = devs;
            ties = 1;
        } else if (sc == best_score) {
            if (rank) {
                if (rank[i] < rank[best]) {
                    best = i;
                    best_devs = devs;
                }
            } else {
                ties++;
                if (allot_rng_below(&s->rng, ties) == 0) {
                    best = i;
                    best_devs = devs;
                }
            }
        }
    }
    if (best == UINT32_MAX) return ALLOT_ENOFIT;
    const allot_node *n = &nodes[best];
    const int16_t *d = df + n->dev0;
    switch (pol) {
    case ALLOT_POLICY_RANDOM: best_devs = dev_random(s, n, d, sh); break;
    case ALLOT_POLICY_FGD:
    case ALLOT_POLICY_FGDLA: break; /* chosen with the score */
    default: best_devs = dev_best(n, d, sh); break;
    }
    out->node = best;
    out->milli = sh->milli;
    out->devs = best_devs;
    return 0;
}

/* ---- GPU clustering ---------------------------------------------------------------- */

/* Tag of a shape: 0 share-gpu, k = k whole devices (1..64). */
static inline int cluster_tag(const allot_shape *sh)
{
    return sh->milli < ALLOT_MILLI ? 0 : (sh->ndev > 63 ? 63 : sh->ndev);
}

void allot__cluster_tag_update(allot_sched *s, uint32_t node, const allot_shape *sh, int delta)
{
    if (!s->tag_counts || sh->ndev == 0 || sh->milli == 0) return;
    int tag = cluster_tag(sh);
    uint16_t *cnt = &s->tag_counts[(size_t)node * 64 + (size_t)tag];
    *cnt = (uint16_t)(*cnt + delta);
    if (*cnt)
        s->node_tags[node] |= (uint64_t)1 << tag;
    else
        s->node_tags[node] &= ~((uint64_t)1 << tag);
}

static int score_gpucluster(const allot_sched *s, uint32_t node, const allot_node *n,
                            const allot_shape *sh)
{
    /* affinity counts live in the job records; the scheduler keeps a per-node
     * summary: bit t set = some task with tag t runs there */
    (void)n;
    uint64_t tags = s->node_tags ? s->node_tags[node] : 0;
    int tag = cluster_tag(sh);
    int ntags = __builtin_popcountll(tags);
    int64_t left = n->milli_free;
    int64_t base = (int64_t)(100 / 4) * ((int64_t)MAX_SPEC_GPU - left) / (int64_t)MAX_SPEC_GPU;
    if ((tags >> tag) & 1) {
        if (ntags == 1) return (int)(base + 100 * 3 / 4); /* (75, 100] only this tag */
        return (int)(base + 100 * 2 / 4);                 /* (50, 75] mixed */
    }
    if (ntags == 0) return (int)(base + 100 / 4); /* (25, 50] idle of tags */
    return (int)base;                             /* (0, 25] other tags */
}
