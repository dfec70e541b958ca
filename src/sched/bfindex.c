/* bfindex.c - an index that finds best-fit's choice without scanning every
 * node, and returns exactly what the linear scan in place.c returns.
 *
 * Best-fit's score (place.c) is a decreasing function of
 *     b(n) = 0.5 * cpu_free / 128000 + 0.5 * milli_free / 8000
 * for a given request, quantised to an integer, with ties broken by the
 * node's rank (ALLOT_TIE_RANK). So the winner is among the feasible nodes of
 * smallest b. Nodes are kept in classes by (chip type, capability level) and,
 * within a class, in buckets of b with a bitmap of non-empty buckets. A query
 * visits the classes whose level can serve the request, walks their buckets
 * in increasing b, scores the feasible nodes exactly as the scan does, and
 * stops a class as soon as a bucket's best possible score falls below the
 * best score found: nothing further can win or tie.
 *
 * Classes are (chip type, device level, CPU level). The CPU level is
 * floor(log2(free cores)), clamped to 0..7, so a request never walks nodes
 * with far too little CPU. The device level of a node is 40 + min(whole free
 * devices, 8) when it has a whole free device (levels 41..48), else
 * floor(largest device free / 25) (levels 0..39). A request for k whole
 * devices needs level >= 40 + min(k, 8); a fractional request of m milli
 * needs level >= floor(m / 25). The exact feasibility check still runs on
 * every candidate. Each bucket's list is kept in tie-break (rank) order, so a
 * bucket whose nodes all share one score stops at its first feasible node.
 *
 * Worked example: two H800 nodes, A with 1 whole device and 8 cores free
 * (b = 0.5*8000/128000 + 0.5*1000/8000 = 0.09375, device level 41), B with 3
 * whole devices and 40 cores (b = 0.15625 + 0.1875 = 0.34375, level 43). A
 * 1-device, 4-core request (its own share of b: c = 0.015625 + 0.0625 =
 * 0.078125) visits device levels 41..48 and finds A first: it is feasible and
 * scores int((1 - (0.09375 - c)) * 100) = 98. B's bucket can score at most
 * int((1 - (0.34375 - c)) * 100) = 73 < 98, so the walk stops without
 * touching B.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NLEVELS      49   /* device capability levels: 0..39 partial, 41..48 whole */
#define WHOLE0       40   /* level of a node with k whole free devices: WHOLE0 + min(k, 8) */
#define PSTEP        25   /* milli per partial level */
#define NCPUL        8    /* CPU capability levels: free cores < 2, 4, 8, ..., >= 128 */
#define NBUCKETS     1024 /* <= 64 words of 64 bits: one summary word */
#define NIL          UINT32_MAX
#define MAX_SPEC_CPU 128000.0
#define MAX_SPEC_GPU 8000.0

/* What a query needs of a node, packed so the walk stays in cache. */
struct bf_node {
    int64_t cpu_free; /* milli-cores */
    int64_t mem_free; /* MiB */
    int32_t milli_free;
    int16_t whole_free;
    int16_t maxfree;
};

struct allot__bfidx {
    uint32_t nslots;        /* chip types + 1 (CPU-only nodes) */
    uint32_t nclasses;      /* nslots * NLEVELS */
    double bmax;            /* b of the largest node, plus a margin */
    double scale;           /* NBUCKETS / bmax */
    uint32_t **head;        /* per class: NBUCKETS list heads, allocated on first use */
    uint32_t **root;        /* per class: NBUCKETS treap roots or NIL (see link_node) */
    uint32_t *stack;        /* per node: scratch for building a treap */
    uint64_t *bits;         /* nclasses * NBUCKETS/64 */
    uint64_t *summary;      /* per class: bit w = bits word w non-zero */
    uint8_t *cpumask;       /* per (slot, level): bit l = CPU level l non-empty */
    uint64_t *lvmask;       /* per slot: bit v = some class of level v non-empty */
    int broken;             /* an allocation failed: the index is incomplete */
    uint32_t *next, *prev;  /* per node */
    uint32_t *tl, *tr, *tp; /* per node: left, right, parent in its bucket's treap */
    uint32_t *cls, *bkt;    /* per node; cls NIL = not indexed */
    int16_t *maxfree;       /* per node: largest free milli of a device */
    struct bf_node *cn;     /* per node: compact copy of what a query reads */
};

static inline double node_b(const allot_node *n)
{
    return 0.5 * (double)n->cpu_free / MAX_SPEC_CPU + 0.5 * (double)n->milli_free / MAX_SPEC_GPU;
}

static int node_level(const allot_node *n, const int16_t *d, int16_t *maxfree)
{
    int m = 0;
    for (int i = 0; i < n->ndev; i++)
        if (d[i] > m) m = d[i];
    *maxfree = (int16_t)m;
    if (n->whole_free > 0) return WHOLE0 + (n->whole_free > 8 ? 8 : n->whole_free);
    return m / PSTEP;
}

/* CPU level: floor(log2(free cores)), clamped to 0..NCPUL-1; a request of R
 * milli-cores can only be met at levels >= cpu_level(R). */
static inline int cpu_level(int64_t milli)
{
    int64_t cores = milli / 1000;
    int l = 0;
    while (cores >= 2 && l < NCPUL - 1) {
        cores >>= 1;
        l++;
    }
    return l;
}

static inline uint32_t slot_of(const allot__bfidx *x, const allot_node *n)
{
    return n->chip == ALLOT_NO_CHIP ? x->nslots - 1 : n->chip;
}

/* A bucket's list is in rank order, which queries walk. To find where a
 * node goes without walking a long list (thousands of nodes can share a
 * bucket: full nodes of one type look alike), once an insertion walks more
 * than TREAP_ON nodes the bucket also keeps its nodes in a treap, until it is
 * empty: a binary search tree by rank, heap-ordered by a hash of the node id,
 * so O(log n) deep whatever the order of insertions. */
#define TREAP_ON 64

static inline uint32_t tprio(uint32_t i)
{
    uint32_t h = i * 0x9E3779B1u;
    h ^= h >> 15;
    h *= 0x85EBCA77u;
    return h ^ (h >> 13);
}

/* Rotates node i above its parent. */
static void trot(allot__bfidx *x, uint32_t *root, uint32_t i)
{
    uint32_t p = x->tp[i], g = x->tp[p];
    if (x->tl[p] == i) {
        x->tl[p] = x->tr[i];
        if (x->tr[i] != NIL) x->tp[x->tr[i]] = p;
        x->tr[i] = p;
    } else {
        x->tr[p] = x->tl[i];
        if (x->tl[i] != NIL) x->tp[x->tl[i]] = p;
        x->tl[i] = p;
    }
    x->tp[p] = i;
    x->tp[i] = g;
    if (g == NIL)
        *root = i;
    else if (x->tl[g] == p)
        x->tl[g] = i;
    else
        x->tr[g] = i;
}

static void unlink_node(allot__bfidx *x, uint32_t i)
{
    uint32_t c = x->cls[i];
    if (c == NIL) return;
    uint32_t *head = x->head[c], *root = &x->root[c][x->bkt[i]];
    uint32_t b = x->bkt[i];
    if (x->prev[i] != NIL)
        x->next[x->prev[i]] = x->next[i];
    else
        head[b] = x->next[i];
    if (x->next[i] != NIL) x->prev[x->next[i]] = x->prev[i];
    if (*root != NIL) {
        while (x->tl[i] != NIL || x->tr[i] != NIL) { /* rotate it down to a leaf */
            uint32_t l = x->tl[i], r = x->tr[i];
            trot(x, root, l == NIL ? r : r == NIL ? l : tprio(l) > tprio(r) ? l : r);
        }
        if (x->tp[i] == NIL)
            *root = NIL;
        else if (x->tl[x->tp[i]] == i)
            x->tl[x->tp[i]] = NIL;
        else
            x->tr[x->tp[i]] = NIL;
    }
    if (head[b] == NIL) {
        uint64_t *word = &x->bits[(size_t)c * (NBUCKETS / 64) + b / 64];
        *word &= ~((uint64_t)1 << (b % 64));
        if (*word == 0) {
            x->summary[c] &= ~((uint64_t)1 << (b / 64));
            if (x->summary[c] == 0) {
                uint32_t sl = c / NCPUL; /* slot * NLEVELS + level */
                x->cpumask[sl] &= (uint8_t) ~(1u << (c % NCPUL));
                if (x->cpumask[sl] == 0)
                    x->lvmask[sl / NLEVELS] &= ~((uint64_t)1 << (sl % NLEVELS));
            }
        }
    }
    x->cls[i] = NIL;
}

/* Builds the treap of bucket (c, b) from its list (already in rank order):
 * the right spine on a stack, as for a Cartesian tree. */
static void treap_build(allot__bfidx *x, uint32_t c, uint32_t b)
{
    uint32_t n = 0;
    for (uint32_t v = x->head[c][b]; v != NIL; v = x->next[v]) {
        uint32_t last = NIL;
        while (n > 0 && tprio(x->stack[n - 1]) < tprio(v)) last = x->stack[--n];
        x->tl[v] = last;
        x->tr[v] = NIL;
        if (last != NIL) x->tp[last] = v;
        x->tp[v] = n > 0 ? x->stack[n - 1] : NIL;
        if (n > 0) x->tr[x->stack[n - 1]] = v;
        x->stack[n++] = v;
    }
    x->root[c][b] = n > 0 ? x->stack[0] : NIL;
}

/* Inserts node i into bucket (c, b), keeping the list in rank order (the
 * treap, if the bucket has one, gives its predecessor). */
static int link_node(allot__bfidx *x, const uint32_t *rank, uint32_t i, uint32_t c, uint32_t b)
{
    if (!x->head[c]) {
        uint32_t *h = malloc(NBUCKETS * sizeof *h), *r = malloc(NBUCKETS * sizeof *r);
        if (!h || !r) {
            free(h);
            free(r);
            return ALLOT_ENOMEM;
        }
        for (uint32_t q = 0; q < NBUCKETS; q++) h[q] = r[q] = NIL;
        x->head[c] = h;
        x->root[c] = r;
    }
    uint32_t *head = x->head[c], *root = &x->root[c][b];
    x->cls[i] = c;
    x->bkt[i] = b;
    uint32_t p = NIL, q, walked = 0; /* p: the last node of lower rank */
    if (*root != NIL) {
        uint32_t parent = NIL;
        for (q = *root; q != NIL;) {
            parent = q;
            if (rank[i] < rank[q]) {
                q = x->tl[q];
            } else {
                p = q;
                q = x->tr[q];
            }
        }
        x->tl[i] = x->tr[i] = NIL;
        x->tp[i] = parent;
        if (rank[i] < rank[parent])
            x->tl[parent] = i;
        else
            x->tr[parent] = i;
        while (x->tp[i] != NIL && tprio(i) > tprio(x->tp[i])) trot(x, root, i);
        q = p == NIL ? head[b] : x->next[p];
    } else {
        q = head[b];
        while (q != NIL && rank[q] < rank[i]) {
            p = q;
            q = x->next[q];
            walked++;
        }
    }
    x->prev[i] = p;
    x->next[i] = q;
    if (q != NIL) x->prev[q] = i;
    if (p != NIL)
        x->next[p] = i;
    else
        head[b] = i;
    if (walked > TREAP_ON) treap_build(x, c, b); /* a long list: keep a treap too */
    x->bits[(size_t)c * (NBUCKETS / 64) + b / 64] |= (uint64_t)1 << (b % 64);
    x->summary[c] |= (uint64_t)1 << (b / 64);
    uint32_t sl = c / NCPUL;
    x->cpumask[sl] |= (uint8_t)(1u << (c % NCPUL));
    x->lvmask[sl / NLEVELS] |= (uint64_t)1 << (sl % NLEVELS);
    return 0;
}

void allot__bfidx_update(allot_sched *s, uint32_t node)
{
    allot__bfidx *x = s->bfidx;
    if (!x) return;
    const allot_node *n = allot_cluster_node(s->c, node);
    if (n->state != ALLOT_NODE_UP) {
        unlink_node(x, node);
        return;
    }
    uint32_t c =
        (slot_of(x, n) * NLEVELS +
         (uint32_t)node_level(n, allot_cluster_dev_free(s->c) + n->dev0, &x->maxfree[node])) *
            NCPUL +
        (uint32_t)cpu_level(n->cpu_free);
    double bb = node_b(n) * x->scale;
    uint32_t b = bb >= NBUCKETS - 1 ? NBUCKETS - 1 : (bb <= 0 ? 0 : (uint32_t)bb);
    struct bf_node *cn = &x->cn[node];
    cn->cpu_free = n->cpu_free;
    cn->mem_free = n->mem_free;
    cn->milli_free = n->milli_free;
    cn->whole_free = (int16_t)n->whole_free;
    cn->maxfree = x->maxfree[node];
    if (x->cls[node] == c && x->bkt[node] == b) return;
    unlink_node(x, node);
    if (link_node(x, s->node_rank, node, c, b) != 0) x->broken = 1;
}

void allot__bfidx_free(allot__bfidx *x)
{
    if (!x) return;
    if (x->head)
        for (uint32_t c = 0; c < x->nclasses; c++) free(x->head[c]);
    if (x->root)
        for (uint32_t c = 0; c < x->nclasses; c++) free(x->root[c]);
    free(x->head);
    free(x->root);
    free(x->stack);
    free(x->lvmask);
    free(x->bits);
    free(x->summary);
    free(x->cpumask);
    free(x->next);
    free(x->prev);
    free(x->tl);
    free(x->tr);
    free(x->tp);
    free(x->cls);
    free(x->bkt);
    free(x->maxfree);
    free(x->cn);
    free(x);
}

int allot__bfidx_build(allot_sched *s)
{
    uint32_t nn = allot_cluster_nnodes(s->c);
    allot__bfidx *x = calloc(1, sizeof *x);
    if (!x) return ALLOT_ENOMEM;
    x->nslots = allot_cluster_nchips(s->c) + 1;
    x->nclasses = x->nslots * NLEVELS * NCPUL;
    double bmax = 0;
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *n = allot_cluster_node(s->c, i);
        double b = 0.5 * (double)n->cpu_cap / MAX_SPEC_CPU +
                   0.5 * (double)n->ndev * ALLOT_MILLI / MAX_SPEC_GPU;
        if (b > bmax) bmax = b;
    }
    x->bmax = bmax * 1.0001 + 1e-6;
    x->scale = NBUCKETS / x->bmax;
    x->head = calloc(x->nclasses, sizeof *x->head);
    x->root = calloc(x->nclasses, sizeof *x->root);
    x->stack = malloc((size_t)(nn ? nn : 1) * sizeof *x->stack);
    x->lvmask = calloc(x->nslots, sizeof *x->lvmask);
    x->bits = calloc((size_t)x->nclasses * (NBUCKETS / 64), sizeof *x->bits);
    x->summary = calloc(x->nclasses, sizeof *x->summary);
    x->cpumask = calloc(x->nclasses / NCPUL, sizeof *x->cpumask);
    x->next = malloc((size_t)(nn ? nn : 1) * sizeof *x->next);
    x->prev = malloc((size_t)(nn ? nn : 1) * sizeof *x->prev);
    x->tl = malloc((size_t)(nn ? nn : 1) * sizeof *x->tl);
    x->tr = malloc((size_t)(nn ? nn : 1) * sizeof *x->tr);
    x->tp = malloc((size_t)(nn ? nn : 1) * sizeof *x->tp);
    x->cls = malloc((size_t)(nn ? nn : 1) * sizeof *x->cls);
    x->bkt = malloc((size_t)(nn ? nn : 1) * sizeof *x->bkt);
    x->maxfree = calloc((size_t)(nn ? nn : 1), sizeof *x->maxfree);
    x->cn = calloc((size_t)(nn ? nn : 1), sizeof *x->cn);
    if (!x->head || !x->lvmask || !x->bits || !x->summary || !x->cpumask || !x->maxfree || !x->cn ||
        !x->next || !x->prev || !x->tl || !x->tr || !x->tp || !x->root || !x->stack || !x->cls ||
        !x->bkt) {
        allot__bfidx_free(x);
        return ALLOT_ENOMEM;
    }
    for (uint32_t i = 0; i < nn; i++) x->cls[i] = NIL;
    s->bfidx = x;
    for (uint32_t i = 0; i < nn; i++) allot__bfidx_update(s, i);
    if (x->broken) {
        allot__bfidx_free(x);
        s->bfidx = NULL;
        return ALLOT_ENOMEM;
    }
    return 0;
}

/* The same feasibility as place.c's scan (fractional tasks use one device, so
 * "some device has enough free" is the node's largest free device). */
static inline int feasible(const struct bf_node *n, const allot_shape *sh)
{
    if (n->cpu_free < sh->cpu || n->mem_free < sh->mem) return 0;
    if (sh->ndev == 0) return 1;
    if (sh->milli >= ALLOT_MILLI) return n->whole_free >= sh->ndev;
    return n->maxfree >= sh->milli;
}

int allot__bfidx_place(allot_sched *s, const allot_shape *sh, uint32_t *node_out)
{
    const allot__bfidx *x = s->bfidx;
    const uint32_t *rank = s->node_rank;
    int lvl0;
    if (sh->ndev == 0)
        lvl0 = 0;
    else if (sh->milli >= ALLOT_MILLI)
        lvl0 = WHOLE0 + (sh->ndev > 8 ? 8 : sh->ndev);
    else
        lvl0 = sh->milli / PSTEP;
    /* the request's share of b: score = int((1 - (b - creq)) * 100) */
    double creq =
        0.5 * (double)sh->cpu / MAX_SPEC_CPU + 0.5 * (double)sh->milli * sh->ndev / MAX_SPEC_GPU;
    int cl0 = cpu_level(sh->cpu);
    int best_score = INT_MIN; /* scores go negative on nodes over 128 cores */
    uint32_t best = NIL;
    double bw = x->bmax / NBUCKETS;
    for (uint32_t slot = 0; slot < x->nslots; slot++) {
        int cpu_slot = slot == x->nslots - 1;
        if (sh->ndev > 0) {
            if (cpu_slot) continue;
            if (sh->chips && !((sh->chips >> slot) & 1)) continue;
        }
        for (uint64_t lm = x->lvmask[slot] & (~(uint64_t)0 << lvl0); lm; lm &= lm - 1)
            for (int lv = __builtin_ctzll(lm), once = 1; once; once = 0)
                for (unsigned cm =
                         x->cpumask[slot * NLEVELS + (uint32_t)lv] & (0xFFu << cl0) & 0xFFu;
                     cm; cm &= cm - 1) {
                    uint32_t c =
                        (slot * NLEVELS + (uint32_t)lv) * NCPUL + (uint32_t)__builtin_ctz(cm);
                    const uint64_t *bits = &x->bits[(size_t)c * (NBUCKETS / 64)];
                    for (uint64_t sum = x->summary[c]; sum; sum &= sum - 1) {
                        uint32_t w = (uint32_t)__builtin_ctzll(sum);
                        uint64_t word = bits[w];
                        int stop = 0;
                        while (word) {
                            uint32_t b = w * 64 + (uint32_t)__builtin_ctzll(word);
                            word &= word - 1;
                            /* scores any node of this bucket can have: [lo, hi] */
                            double blo = (double)b * bw - 1e-9, bhi = (double)(b + 1) * bw + 1e-9;
                            int hi = (int)((1.0 - (blo - creq)) * 100.0);
                            int lo = (int)((1.0 - (bhi - creq)) * 100.0);
                            if (best != NIL && hi < best_score) {
                                stop = 1; /* buckets further on have larger b: lower scores */
                                break;
                            }
                            /* the list is in rank order: once no node here can beat the
                             * best on score, only a smaller rank could still win */
                            for (uint32_t i = x->head[c][b]; i != NIL; i = x->next[i]) {
                                if (best != NIL && hi <= best_score && rank[i] > rank[best]) break;
                                const struct bf_node *n = &x->cn[i];
                                if (!feasible(n, sh)) continue;
                                double left =
                                    0.5 * (double)(n->cpu_free - sh->cpu) / MAX_SPEC_CPU +
                                    0.5 * (double)(n->milli_free - (int64_t)sh->milli * sh->ndev) /
                                        MAX_SPEC_GPU;
                                int sc = (int)((1.0 - left) * 100.0);
                                if (best == NIL || sc > best_score ||
                                    (sc == best_score && rank[i] < rank[best])) {
                                    best_score = sc;
                                    best = i;
                                }
                                if (lo == hi) break; /* one score here: later nodes rank after */
                            }
                        }
                        if (stop) break;
                    }
                }
    }
    if (best == NIL) return ALLOT_ENOFIT;
    *node_out = best;
    return 0;
}
