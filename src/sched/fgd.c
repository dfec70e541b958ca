/* fgd.c - fragmentation measure of FGD (Weng et al., ATC '23).
 *
 * Worked example. Target workload: 50 % tasks of 1 whole GPU and 4 cores,
 * 50 % tasks of 0.5 GPU and 2 cores. A node has 2 GPUs with 1000 and 300
 * milli free and 3 cores free.
 *   - the whole-GPU task fits GPU-wise (one device has 1000 free) but needs 4
 *     cores > 3: every free milli is fragment for it: 1300.
 *   - the 0.5-GPU task fits (device 0, and 2 cores <= 3): only devices with
 *     less than 500 free are fragment for it: 300.
 *   frag = 0.5 * 1300 + 0.5 * 300 = 800 milli.
 * Placing a task changes the node's frag; FGD picks the node (and device)
 * where the frag grows least: score = sigmoid((before - after) / 1000) * 100,
 * truncated to an integer as the Kubernetes framework does.
 *
 * CPU-only typical tasks count all free device milli as fragment (they can
 * never use it), exactly as the authors' simulator does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "internal.h"

double allot_fgd_node_frag(const allot_typical *typ, size_t ntyp, uint16_t chip, int64_t cpu_free,
                           const int16_t *dev_free, int ndev)
{
    int64_t total = 0;
    for (int i = 0; i < ndev; i++) total += dev_free[i];
    if (total == 0) return 0.0;
    double frag = 0.0;
    for (size_t t = 0; t < ntyp; t++) {
        const allot_shape *sh = &typ[t].shape;
        double w = typ[t].weight;
        if (sh->ndev == 0 || sh->milli == 0) { /* CPU-only: all free is frag */
            frag += w * (double)total;
            continue;
        }
        if (sh->chips && (chip == ALLOT_NO_CHIP || !((sh->chips >> chip) & 1))) {
            frag += w * (double)total; /* no access */
            continue;
        }
        int count = 0;
        int64_t partial = 0;
        for (int i = 0; i < ndev; i++) {
            if (dev_free[i] >= sh->milli)
                count++;
            else
                partial += dev_free[i];
        }
        if (count >= sh->ndev && cpu_free >= sh->cpu)
            frag += w * (double)partial;
        else
            frag += w * (double)total;
    }
    return frag;
}

/* ---- grouped evaluation ---------------------------------------------------- */

typedef struct ent {
    int32_t milli, ndev;
    allot_chip_mask chips;
    int64_t cpu;
    double w;
} ent;

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->milli != y->milli) return x->milli < y->milli ? -1 : 1;
    if (x->ndev != y->ndev) return x->ndev < y->ndev ? -1 : 1;
    if (x->chips != y->chips) return x->chips < y->chips ? -1 : 1;
    if (x->cpu != y->cpu) return x->cpu < y->cpu ? -1 : 1;
    return 0;
}

void allot__fgd_free(allot__fgd *f)
{
    free(f->groups);
    free(f->cpu);
    free(f->wsuffix);
    memset(f, 0, sizeof *f);
}

int allot__fgd_build(allot__fgd *f, const allot_typical *typ, size_t n)
{
    memset(f, 0, sizeof *f);
    int rc = 0;
    ent *e = calloc(n ? n : 1, sizeof *e);
    f->groups = calloc(n ? n : 1, sizeof *f->groups);
    f->cpu = calloc(n ? n : 1, sizeof *f->cpu);
    f->wsuffix = calloc(n ? n : 1, sizeof *f->wsuffix);
    if (!e || !f->groups || !f->cpu || !f->wsuffix) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const allot_shape *sh = &typ[i].shape;
        if (sh->ndev == 0 || sh->milli == 0) {
            f->cpu_only_weight += typ[i].weight;
            continue;
        }
        e[m].milli = sh->milli;
        e[m].ndev = sh->ndev;
        e[m].chips = sh->chips;
        e[m].cpu = sh->cpu;
        e[m].w = typ[i].weight;
        m++;
    }
    qsort(e, m, sizeof *e, ent_cmp);
    for (size_t i = 0; i < m; i++) {
        allot__fgd_group *g = f->ngroups ? &f->groups[f->ngroups - 1] : NULL;
        if (!g || g->milli != e[i].milli || g->ndev != e[i].ndev || g->chips != e[i].chips) {
            g = &f->groups[f->ngroups++];
            g->milli = e[i].milli;
            g->ndev = e[i].ndev;
            g->chips = e[i].chips;
            g->first = (uint32_t)i;
            g->count = 0;
            g->weight = 0;
        }
        f->cpu[i] = e[i].cpu;
        g->count++;
        g->weight += e[i].w;
    }
    for (uint32_t gi = 0; gi < f->ngroups; gi++) {
        allot__fgd_group *g = &f->groups[gi];
        double acc = 0;
        for (uint32_t k = g->count; k-- > 0;) {
            acc += e[g->first + k].w;
            f->wsuffix[g->first + k] = acc;
        }
    }
out:
    free(e);
    if (rc) allot__fgd_free(f);
    return rc;
}

double allot__fgd_frag(const allot__fgd *f, uint16_t chip, int64_t cpu_free,
                       const int16_t *dev_free, int ndev)
{
    int64_t total = 0;
    for (int i = 0; i < ndev; i++) total += dev_free[i];
    if (total == 0) return 0.0;
    double dt = (double)total;
    double frag = f->cpu_only_weight * dt;
    for (uint32_t gi = 0; gi < f->ngroups; gi++) {
        const allot__fgd_group *g = &f->groups[gi];
        if (g->chips && (chip == ALLOT_NO_CHIP || !((g->chips >> chip) & 1))) {
            frag += g->weight * dt;
            continue;
        }
        int count = 0;
        int64_t partial = 0;
        for (int i = 0; i < ndev; i++) {
            if (dev_free[i] >= g->milli)
                count++;
            else
                partial += dev_free[i];
        }
        if (count < g->ndev) {
            frag += g->weight * dt;
            continue;
        }
        /* first entry whose CPU exceeds the node's free CPU */
        uint32_t lo = g->first, hi = g->first + g->count;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (f->cpu[mid] <= cpu_free)
                lo = mid + 1;
            else
                hi = mid;
        }
        double w_hi = lo < g->first + g->count ? f->wsuffix[lo] : 0.0;
        frag += w_hi * dt + (g->weight - w_hi) * (double)partial;
    }
    return frag;
}

/* ---- target workload from a trace -------------------------------------------- */

typedef struct tkey {
    int64_t cpu;
    allot_chip_mask chips;
    int32_t milli, ndev;
    double count;
    int used;
} tkey;

static int tkey_cmp_desc(const void *a, const void *b)
{
    const tkey *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->cpu != y->cpu) return x->cpu > y->cpu ? -1 : 1;
    if (x->milli != y->milli) return x->milli > y->milli ? -1 : 1;
    if (x->ndev != y->ndev) return x->ndev > y->ndev ? -1 : 1;
    if (x->chips != y->chips) return x->chips > y->chips ? -1 : 1;
    return 0;
}

int allot_typical_from_workload(const allot_workload *w, double coverage, int include_cpu_only,
                                allot_typical **out)
{
    if (!w || !out || !(coverage > 0.0 && coverage <= 1.0)) return ALLOT_EINVAL;
    *out = NULL;
    size_t cap = 64;
    while (cap < w->njobs * 2 + 2) cap *= 2;
    tkey *tab = calloc(cap, sizeof *tab);
    if (!tab) return ALLOT_ENOMEM;
    double total = 0;
    size_t distinct = 0;
    for (size_t i = 0; i < w->njobs; i++) {
        const allot_shape *sh = &w->jobs[i].shape;
        if (!include_cpu_only && sh->ndev == 0) continue;
        tkey k = {sh->cpu > 0 ? sh->cpu : 100,
                  sh->ndev ? sh->chips : 0,
                  sh->ndev ? sh->milli : 0,
                  sh->ndev,
                  0,
                  1};
        int64_t key[4] = {k.cpu, (int64_t)k.chips, k.milli, k.ndev};
        uint64_t h = XXH3_64bits(key, sizeof key);
        size_t j = (size_t)h & (cap - 1);
        while (tab[j].used && !(tab[j].cpu == k.cpu && tab[j].chips == k.chips &&
                                tab[j].milli == k.milli && tab[j].ndev == k.ndev))
            j = (j + 1) & (cap - 1);
        if (!tab[j].used) {
            tab[j] = k;
            distinct++;
        }
        tab[j].count += 1;
        total += 1;
    }
    if (distinct == 0) {
        free(tab);
        return 0;
    }
    size_t m = 0;
    for (size_t j = 0; j < cap; j++)
        if (tab[j].used) tab[m++] = tab[j];
    qsort(tab, m, sizeof *tab, tkey_cmp_desc);
    double want = coverage * total, cum = 0;
    size_t keep = 0;
    while (keep < m && cum < want) cum += tab[keep++].count;
    allot_typical *t = calloc(keep, sizeof *t);
    if (!t) {
        free(tab);
        return ALLOT_ENOMEM;
    }
    for (size_t i = 0; i < keep; i++) {
        memset(&t[i].shape, 0, sizeof t[i].shape);
        t[i].shape.cpu = tab[i].cpu;
        t[i].shape.chips = tab[i].chips;
        t[i].shape.milli = tab[i].milli;
        t[i].shape.ndev = tab[i].ndev;
        t[i].weight = tab[i].count / cum;
    }
    free(tab);
    *out = t;
    return (int)keep;
}
