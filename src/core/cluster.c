/* cluster.c - the cluster model (see allot/cluster.h).
 *
 * Layout: nodes, domains and chip types are dense arrays; device free
 * capacity is one int16_t array (node.dev0 + i); aggregates are a
 * [domain][ALLOT_MAX_CHIP_TYPES] array of allot_agg so that adding a chip
 * type later never moves them. Names are found through small open-addressing
 * hash tables keyed by (parent id, name).
 */
#include "allot/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define NAME_TABLE_MIN 64u
#define KEY_NODE       0xFFFFFFFEu /* parent key used for node names */

typedef struct name_slot {
    uint32_t id;     /* UINT32_MAX = empty */
    uint32_t parent; /* domain parent, KEY_NODE for nodes */
    uint64_t hash;
} name_slot;

struct allot_cluster {
    char name[ALLOT_NAME_MAX];
    allot_chip_type chips[ALLOT_MAX_CHIP_TYPES];
    uint32_t nchips;
    allot_domain *doms;
    uint32_t ndoms, doms_cap;
    allot_agg *agg; /* doms_cap * ALLOT_MAX_CHIP_TYPES */
    allot_node *nodes;
    uint32_t nnodes, nodes_cap;
    int16_t *dev_free;
    uint32_t ndevs, devs_cap;
    name_slot *names; /* domains and nodes */
    uint32_t names_cap, names_used;
    int finalized;
    int64_t total_milli, free_milli, total_cpu;
};

static uint64_t name_hash(uint32_t parent, const char *s)
{
    return XXH3_64bits_withSeed(s, strlen(s), parent);
}

static const char *slot_name(const allot_cluster *c, const name_slot *sl)
{
    return sl->parent == KEY_NODE ? c->nodes[sl->id].name : c->doms[sl->id].name;
}

static uint32_t names_find(const allot_cluster *c, uint32_t parent, const char *s)
{
    if (!c->names_cap) return UINT32_MAX;
    uint64_t h = name_hash(parent, s);
    uint32_t mask = c->names_cap - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        const name_slot *sl = &c->names[i];
        if (sl->id == UINT32_MAX) return UINT32_MAX;
        if (sl->hash == h && sl->parent == parent && strcmp(slot_name(c, sl), s) == 0)
            return sl->id;
    }
}

static void names_put_raw(name_slot *tab, uint32_t cap, name_slot v)
{
    uint32_t mask = cap - 1;
    for (uint32_t i = (uint32_t)v.hash & mask;; i = (i + 1) & mask) {
        if (tab[i].id == UINT32_MAX) {
            tab[i] = v;
            return;
        }
    }
}

static int names_put(allot_cluster *c, uint32_t parent, const char *s, uint32_t id)
{
    if ((c->names_used + 1) * 2 > c->names_cap) {
        uint32_t cap = c->names_cap ? c->names_cap * 2 : NAME_TABLE_MIN;
        if (cap < c->names_cap) return ALLOT_ELIMIT;
        name_slot *tab = malloc((size_t)cap * sizeof *tab);
        if (!tab) return ALLOT_ENOMEM;
        for (uint32_t i = 0; i < cap; i++) tab[i].id = UINT32_MAX;
        for (uint32_t i = 0; i < c->names_cap; i++)
            if (c->names[i].id != UINT32_MAX) names_put_raw(tab, cap, c->names[i]);
        free(c->names);
        c->names = tab;
        c->names_cap = cap;
    }
    name_slot v = {id, parent, name_hash(parent, s)};
    names_put_raw(c->names, c->names_cap, v);
    c->names_used++;
    return 0;
}

const char *allot_name_problem(const char *s, size_t len)
{
    if (len == 0) return "must not be empty";
    if (len >= ALLOT_NAME_MAX) return "is longer than 63 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch && strchr("-_.:/+@", ch))))
            return "may only hold letters, digits and -_.:/+@";
    }
    return NULL;
}

/* ---- building ------------------------------------------------------------ */

allot_cluster *allot_cluster_new(const char *name)
{
    allot_cluster *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->name, sizeof c->name, "%s", name ? name : "cluster");
    return c;
}

void allot_cluster_free(allot_cluster *c)
{
    if (!c) return;
    free(c->doms);
    free(c->agg);
    free(c->nodes);
    free(c->dev_free);
    free(c->names);
    free(c);
}

static int valid_name(const char *s)
{
    if (!s || !s[0]) return 0;
    size_t n = strlen(s);
    return n < ALLOT_NAME_MAX;
}

int allot_cluster_add_chip(allot_cluster *c, const allot_chip_type *t)
{
    if (!c || !t || !valid_name(t->name)) return ALLOT_EINVAL;
    for (uint32_t i = 0; i < c->nchips; i++) {
        if (strcmp(c->chips[i].name, t->name) == 0) {
            c->chips[i] = *t;
            return (int)i;
        }
    }
    if (c->nchips >= ALLOT_MAX_CHIP_TYPES) return ALLOT_ELIMIT;
    c->chips[c->nchips] = *t;
    return (int)c->nchips++;
}

int allot_cluster_find_chip(const allot_cluster *c, const char *name)
{
    if (!c || !name) return ALLOT_EINVAL;
    for (uint32_t i = 0; i < c->nchips; i++)
        if (strcmp(c->chips[i].name, name) == 0) return (int)i;
    return ALLOT_ENOENT;
}

int allot_cluster_chip_id(allot_cluster *c, const char *name)
{
    if (!c || !valid_name(name)) return ALLOT_EINVAL;
    int id = allot_cluster_find_chip(c, name);
    if (id >= 0) return id;
    const allot_chip_type *cat = allot_catalog_find(name);
    allot_chip_type t;
    if (cat) {
        t = *cat;
    } else {
        memset(&t, 0, sizeof t);
    }
    snprintf(t.name, sizeof t.name, "%s", name); /* keep the caller's spelling */
    return allot_cluster_add_chip(c, &t);
}

static int add_domain(allot_cluster *c, const char *name, uint32_t parent, int level)
{
    if (c->ndoms >= c->doms_cap) {
        uint32_t cap = c->doms_cap ? c->doms_cap * 2 : 16;
        allot_domain *d = realloc(c->doms, (size_t)cap * sizeof *d);
        if (!d) return ALLOT_ENOMEM;
        c->doms = d;
        allot_agg *a = realloc(c->agg, (size_t)cap * ALLOT_MAX_CHIP_TYPES * sizeof *a);
        if (!a) return ALLOT_ENOMEM;
        c->agg = a;
        c->doms_cap = cap;
    }
    uint32_t id = c->ndoms;
    allot_domain *d = &c->doms[id];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->parent = parent;
    d->level = (uint8_t)level;
    memset(&c->agg[(size_t)id * ALLOT_MAX_CHIP_TYPES], 0, ALLOT_MAX_CHIP_TYPES * sizeof(allot_agg));
    int rc = names_put(c, parent, d->name, id);
    if (rc) return rc;
    c->ndoms++;
    return (int)id;
}

static int get_domain(allot_cluster *c, const char *name, uint32_t parent, int level)
{
    uint32_t id = names_find(c, parent, name);
    if (id != UINT32_MAX) return (int)id;
    return add_domain(c, name, parent, level);
}

int allot_cluster_rack(allot_cluster *c, const char *zone, const char *block, const char *rack)
{
    if (!c) return ALLOT_EINVAL;
    const char *z = zone && zone[0] ? zone : "zone-0";
    const char *b = block && block[0] ? block : "block-0";
    const char *r = rack && rack[0] ? rack : "rack-0";
    if (!valid_name(z) || !valid_name(b) || !valid_name(r)) return ALLOT_EINVAL;
    int zid = get_domain(c, z, UINT32_MAX, ALLOT_LEVEL_ZONE);
    if (zid < 0) return zid;
    int bid = get_domain(c, b, (uint32_t)zid, ALLOT_LEVEL_BLOCK);
    if (bid < 0) return bid;
    return get_domain(c, r, (uint32_t)bid, ALLOT_LEVEL_RACK);
}

int allot_cluster_add_node(allot_cluster *c, const char *name, const char *chip, int ndev,
                           int64_t cpu_milli, int64_t mem_mib, uint32_t rack)
{
    if (!c || c->finalized || !valid_name(name)) return ALLOT_EINVAL;
    if (ndev < 0 || ndev > ALLOT_MAX_DEVS_PER_NODE) return ALLOT_ERANGE;
    if (cpu_milli < 0 || mem_mib < 0) return ALLOT_ERANGE;
    if (rack >= c->ndoms || c->doms[rack].level != ALLOT_LEVEL_RACK) return ALLOT_EINVAL;
    int has_chip = chip && chip[0];
    if (!has_chip && ndev != 0) return ALLOT_EINVAL;
    if (names_find(c, KEY_NODE, name) != UINT32_MAX) return ALLOT_EEXIST;
    int chip_id = ALLOT_NO_CHIP;
    if (has_chip) {
        chip_id = allot_cluster_chip_id(c, chip);
        if (chip_id < 0) return chip_id;
    }
    if (c->nnodes >= UINT32_MAX - 2) return ALLOT_ELIMIT;
    if (c->nnodes >= c->nodes_cap) {
        uint32_t cap = c->nodes_cap ? c->nodes_cap * 2 : 64;
        allot_node *n = realloc(c->nodes, (size_t)cap * sizeof *n);
        if (!n) return ALLOT_ENOMEM;
        c->nodes = n;
        c->nodes_cap = cap;
    }
    if (c->ndevs + (uint32_t)ndev > c->devs_cap) {
        uint32_t cap = c->devs_cap ? c->devs_cap * 2 : 256;
        while (cap < c->ndevs + (uint32_t)ndev) cap *= 2;
        int16_t *d = realloc(c->dev_free, (size_t)cap * sizeof *d);
        if (!d) return ALLOT_ENOMEM;
        c->dev_free = d;
        c->devs_cap = cap;
    }
    uint32_t id = c->nnodes;
    allot_node *n = &c->nodes[id];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->rack = rack;
    n->chip = (uint16_t)chip_id;
    n->ndev = (uint8_t)ndev;
    n->state = ALLOT_NODE_UP;
    n->dev0 = c->ndevs;
    n->cpu_cap = n->cpu_free = cpu_milli;
    n->mem_cap = n->mem_free = mem_mib;
    n->milli_free = ndev * ALLOT_MILLI;
    n->whole_free = ndev;
    for (int i = 0; i < ndev; i++) c->dev_free[c->ndevs + (uint32_t)i] = ALLOT_MILLI;
    int rc = names_put(c, KEY_NODE, n->name, id);
    if (rc) return rc;
    c->ndevs += (uint32_t)ndev;
    c->nnodes++;
    return (int)id;
}

static allot_agg *agg_at(const allot_cluster *c, uint32_t d, uint32_t k)
{
    return &c->agg[(size_t)d * ALLOT_MAX_CHIP_TYPES + k];
}

/* Adds sign * (node's current free capacity) to every domain above it. */
static void agg_apply_node(allot_cluster *c, const allot_node *n, int sign)
{
    if (n->chip == ALLOT_NO_CHIP) return;
    for (uint32_t d = n->rack; d != UINT32_MAX; d = c->doms[d].parent) {
        allot_agg *a = agg_at(c, d, n->chip);
        a->free_milli += sign * (int64_t)n->milli_free;
        a->free_whole += sign * n->whole_free;
        a->devices += sign * (int32_t)n->ndev;
    }
}

static void totals_apply_node(allot_cluster *c, const allot_node *n, int sign)
{
    c->total_milli += sign * (int64_t)n->ndev * ALLOT_MILLI;
    c->free_milli += sign * (int64_t)n->milli_free;
    c->total_cpu += sign * n->cpu_cap;
}

int allot_cluster_finalize(allot_cluster *c)
{
    if (!c) return ALLOT_EINVAL;
    if (c->finalized) return ALLOT_ESTATE;
    for (uint32_t d = 0; d < c->ndoms; d++) {
        memset(agg_at(c, d, 0), 0, ALLOT_MAX_CHIP_TYPES * sizeof(allot_agg));
        c->doms[d].nnodes = 0;
    }
    c->total_milli = c->free_milli = c->total_cpu = 0;
    for (uint32_t i = 0; i < c->nnodes; i++) {
        allot_node *n = &c->nodes[i];
        for (uint32_t d = n->rack; d != UINT32_MAX; d = c->doms[d].parent) c->doms[d].nnodes++;
        if (n->state != ALLOT_NODE_UP) continue;
        agg_apply_node(c, n, +1);
        totals_apply_node(c, n, +1);
    }
    c->finalized = 1;
    return 0;
}

/* ---- reading --------------------------------------------------------------- */

const char *allot_cluster_name(const allot_cluster *c) { return c->name; }
uint32_t allot_cluster_nnodes(const allot_cluster *c) { return c->nnodes; }
uint32_t allot_cluster_ndomains(const allot_cluster *c) { return c->ndoms; }
uint32_t allot_cluster_nchips(const allot_cluster *c) { return c->nchips; }
uint32_t allot_cluster_ndevices(const allot_cluster *c) { return c->ndevs; }

const allot_node *allot_cluster_node(const allot_cluster *c, uint32_t id)
{
    return id < c->nnodes ? &c->nodes[id] : NULL;
}

allot_node *allot_cluster_nodes(allot_cluster *c) { return c->nodes; }

const allot_domain *allot_cluster_domain(const allot_cluster *c, uint32_t id)
{
    return id < c->ndoms ? &c->doms[id] : NULL;
}

const allot_chip_type *allot_cluster_chip(const allot_cluster *c, uint32_t id)
{
    return id < c->nchips ? &c->chips[id] : NULL;
}

const int16_t *allot_cluster_dev_free(const allot_cluster *c) { return c->dev_free; }

const allot_agg *allot_cluster_agg(const allot_cluster *c, uint32_t d, uint32_t k)
{
    if (d >= c->ndoms || k >= ALLOT_MAX_CHIP_TYPES) return NULL;
    return agg_at(c, d, k);
}

int64_t allot_cluster_total_milli(const allot_cluster *c) { return c->total_milli; }
int64_t allot_cluster_free_milli(const allot_cluster *c) { return c->free_milli; }
int64_t allot_cluster_total_cpu(const allot_cluster *c) { return c->total_cpu; }

int allot_cluster_find_node(const allot_cluster *c, const char *name)
{
    if (!c || !name) return ALLOT_EINVAL;
    uint32_t id = names_find(c, KEY_NODE, name);
    return id == UINT32_MAX ? ALLOT_ENOENT : (int)id;
}

int allot_cluster_chip_mask(allot_cluster *c, const char *list, allot_chip_mask *out,
                            int add_unknown)
{
    if (!c || !out) return ALLOT_EINVAL;
    *out = 0;
    if (!list) return 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        const char *e = p;
        while (*e && *e != '|') e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        size_t n = (size_t)(end - p);
        if (n > 0) {
            char name[ALLOT_NAME_MAX];
            if (n >= sizeof name) return ALLOT_EINVAL;
            memcpy(name, p, n);
            name[n] = '\0';
            int id =
                add_unknown ? allot_cluster_chip_id(c, name) : allot_cluster_find_chip(c, name);
            if (id < 0) return id;
            *out |= (allot_chip_mask)1 << id;
        }
        p = *e ? e + 1 : e;
    }
    return 0;
}

/* ---- changing capacity ------------------------------------------------------ */

static int devs_ok(const allot_node *n, const uint8_t *devs, int ndevs)
{
    if (ndevs < 0 || ndevs > n->ndev) return 0;
    for (int i = 0; i < ndevs; i++) {
        if (devs[i] >= n->ndev) return 0;
        for (int j = 0; j < i; j++)
            if (devs[j] == devs[i]) return 0;
    }
    return 1;
}

/* Moves `delta` milli (negative = take) on device i of node n, keeping node
 * sums and aggregates in step. */
static void dev_add(allot_cluster *c, allot_node *n, int i, int32_t delta)
{
    int16_t *f = &c->dev_free[n->dev0 + (uint32_t)i];
    int was_whole = *f == ALLOT_MILLI;
    *f = (int16_t)(*f + delta);
    int is_whole = *f == ALLOT_MILLI;
    n->milli_free += delta;
    n->whole_free += is_whole - was_whole;
    if (n->state == ALLOT_NODE_UP && n->chip != ALLOT_NO_CHIP) {
        for (uint32_t d = n->rack; d != UINT32_MAX; d = c->doms[d].parent) {
            allot_agg *a = agg_at(c, d, n->chip);
            a->free_milli += delta;
            a->free_whole += is_whole - was_whole;
        }
        c->free_milli += delta;
    }
}

int allot_cluster_take(allot_cluster *c, uint32_t node, const uint8_t *devs, int ndevs,
                       int32_t milli, int64_t cpu, int64_t mem)
{
    if (!c || node >= c->nnodes || milli < 0 || milli > ALLOT_MILLI || cpu < 0 || mem < 0)
        return ALLOT_EINVAL;
    allot_node *n = &c->nodes[node];
    if (!devs_ok(n, devs, ndevs)) return ALLOT_EINVAL;
    if (n->state != ALLOT_NODE_UP) return ALLOT_ENOFIT;
    if (n->cpu_free < cpu || n->mem_free < mem) return ALLOT_ENOFIT;
    for (int i = 0; i < ndevs; i++)
        if (c->dev_free[n->dev0 + devs[i]] < milli) return ALLOT_ENOFIT;
    for (int i = 0; i < ndevs; i++) dev_add(c, n, devs[i], -milli);
    n->cpu_free -= cpu;
    n->mem_free -= mem;
    n->version++;
    n->ntasks++;
    return 0;
}

int allot_cluster_give(allot_cluster *c, uint32_t node, const uint8_t *devs, int ndevs,
                       int32_t milli, int64_t cpu, int64_t mem)
{
    if (!c || node >= c->nnodes || milli < 0 || milli > ALLOT_MILLI || cpu < 0 || mem < 0)
        return ALLOT_EINVAL;
    allot_node *n = &c->nodes[node];
    if (!devs_ok(n, devs, ndevs)) return ALLOT_EINVAL;
    if (n->cpu_free + cpu > n->cpu_cap || n->mem_free + mem > n->mem_cap || n->ntasks == 0)
        return ALLOT_EINVARIANT;
    for (int i = 0; i < ndevs; i++)
        if (c->dev_free[n->dev0 + devs[i]] + milli > ALLOT_MILLI) return ALLOT_EINVARIANT;
    for (int i = 0; i < ndevs; i++) dev_add(c, n, devs[i], milli);
    n->cpu_free += cpu;
    n->mem_free += mem;
    n->version++;
    n->ntasks--;
    return 0;
}

int allot_cluster_set_state(allot_cluster *c, uint32_t node, allot_node_state st)
{
    if (!c || node >= c->nnodes || st > ALLOT_NODE_DOWN) return ALLOT_EINVAL;
    allot_node *n = &c->nodes[node];
    if (n->state == st) return 0;
    if (n->state == ALLOT_NODE_UP) {
        agg_apply_node(c, n, -1);
        totals_apply_node(c, n, -1);
    }
    if (st == ALLOT_NODE_DOWN) { /* its tasks are gone */
        for (int i = 0; i < n->ndev; i++) c->dev_free[n->dev0 + (uint32_t)i] = ALLOT_MILLI;
        n->milli_free = n->ndev * ALLOT_MILLI;
        n->whole_free = n->ndev;
        n->cpu_free = n->cpu_cap;
        n->mem_free = n->mem_cap;
        n->ntasks = 0;
    }
    n->state = (uint8_t)st;
    if (st == ALLOT_NODE_UP) {
        agg_apply_node(c, n, +1);
        totals_apply_node(c, n, +1);
    }
    n->version++;
    return 0;
}

/* ---- checking ---------------------------------------------------------------- */

int allot_cluster_check(const allot_cluster *c, char *msg, size_t msglen)
{
#define BAD(...)                                                                                   \
    do {                                                                                           \
        if (msg && msglen) snprintf(msg, msglen, __VA_ARGS__);                                     \
        rc = ALLOT_EINVARIANT;                                                                     \
        goto out;                                                                                  \
    } while (0)
    int rc = 0;
    allot_agg *want = NULL;
    if (!c->finalized) BAD("cluster not finalized");
    int64_t total = 0, freem = 0, cpu = 0;
    want = calloc((size_t)c->ndoms * ALLOT_MAX_CHIP_TYPES + 1, sizeof *want);
    if (!want) return ALLOT_ENOMEM;
    for (uint32_t i = 0; i < c->nnodes; i++) {
        const allot_node *n = &c->nodes[i];
        int32_t sum = 0, whole = 0;
        for (int k = 0; k < n->ndev; k++) {
            int16_t f = c->dev_free[n->dev0 + (uint32_t)k];
            if (f < 0 || f > ALLOT_MILLI)
                BAD("node %s device %d: free %d milli outside 0..1000", n->name, k, f);
            sum += f;
            whole += f == ALLOT_MILLI;
        }
        if (sum != n->milli_free)
            BAD("node %s: milli_free %d != sum of devices %d", n->name, n->milli_free, sum);
        if (whole != n->whole_free)
            BAD("node %s: whole_free %d != whole devices %d", n->name, n->whole_free, whole);
        if (n->cpu_free < 0 || n->cpu_free > n->cpu_cap)
            BAD("node %s: cpu_free %lld outside 0..%lld", n->name, (long long)n->cpu_free,
                (long long)n->cpu_cap);
        if (n->mem_free < 0 || n->mem_free > n->mem_cap)
            BAD("node %s: mem_free %lld outside 0..%lld", n->name, (long long)n->mem_free,
                (long long)n->mem_cap);
        if (n->state != ALLOT_NODE_UP) continue;
        total += (int64_t)n->ndev * ALLOT_MILLI;
        freem += n->milli_free;
        cpu += n->cpu_cap;
        if (n->chip == ALLOT_NO_CHIP) continue;
        for (uint32_t d = n->rack; d != UINT32_MAX; d = c->doms[d].parent) {
            allot_agg *a = &want[(size_t)d * ALLOT_MAX_CHIP_TYPES + n->chip];
            a->free_milli += n->milli_free;
            a->free_whole += n->whole_free;
            a->devices += n->ndev;
        }
    }
    for (uint32_t d = 0; d < c->ndoms; d++) {
        for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++) {
            const allot_agg *a = agg_at(c, d, k), *w = &want[(size_t)d * ALLOT_MAX_CHIP_TYPES + k];
            if (a->free_milli != w->free_milli || a->free_whole != w->free_whole ||
                a->devices != w->devices)
                BAD("domain %s chip %u: aggregate (%lld milli, %d whole, %d devices) != sum "
                    "below (%lld, %d, %d)",
                    c->doms[d].name, k, (long long)a->free_milli, a->free_whole, a->devices,
                    (long long)w->free_milli, w->free_whole, w->devices);
        }
    }
    if (total != c->total_milli || freem != c->free_milli || cpu != c->total_cpu)
        BAD("cluster totals (%lld, %lld, %lld) != sums (%lld, %lld, %lld)",
            (long long)c->total_milli, (long long)c->free_milli, (long long)c->total_cpu,
            (long long)total, (long long)freem, (long long)cpu);
out:
    free(want);
    return rc;
#undef BAD
}

allot_cluster *allot_cluster_clone(const allot_cluster *c)
{
    allot_cluster *n = malloc(sizeof *n);
    if (!n) return NULL;
    *n = *c;
    n->doms = NULL;
    n->agg = NULL;
    n->nodes = NULL;
    n->dev_free = NULL;
    n->names = NULL;
    if (c->doms_cap) {
        n->doms = malloc((size_t)c->doms_cap * sizeof *n->doms);
        n->agg = malloc((size_t)c->doms_cap * ALLOT_MAX_CHIP_TYPES * sizeof *n->agg);
        if (!n->doms || !n->agg) goto fail;
        memcpy(n->doms, c->doms, (size_t)c->ndoms * sizeof *n->doms);
        memcpy(n->agg, c->agg, (size_t)c->ndoms * ALLOT_MAX_CHIP_TYPES * sizeof *n->agg);
    }
    if (c->nodes_cap) {
        n->nodes = malloc((size_t)c->nodes_cap * sizeof *n->nodes);
        if (!n->nodes) goto fail;
        memcpy(n->nodes, c->nodes, (size_t)c->nnodes * sizeof *n->nodes);
    }
    if (c->devs_cap) {
        n->dev_free = malloc((size_t)c->devs_cap * sizeof *n->dev_free);
        if (!n->dev_free) goto fail;
        memcpy(n->dev_free, c->dev_free, (size_t)c->ndevs * sizeof *n->dev_free);
    }
    if (c->names_cap) {
        n->names = malloc((size_t)c->names_cap * sizeof *n->names);
        if (!n->names) goto fail;
        memcpy(n->names, c->names, (size_t)c->names_cap * sizeof *n->names);
    }
    return n;
fail:
    allot_cluster_free(n);
    return NULL;
}
