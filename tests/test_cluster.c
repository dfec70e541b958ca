/* tests/test_cluster.c - the cluster model: building, the chip catalogue,
 * chip masks, capacity changes, aggregates, node states, the invariant
 * checker and cloning.
 *
 * Expected values are computed by hand from the contracts in
 * include/allot/cluster.h; the arithmetic is in the comments. */
#include "testutil.h"

#include "allot/cluster.h"
#include "allot/rng.h"

/* ---- helpers ------------------------------------------------------------ */

static const allot_agg *agg(const allot_cluster *c, int d, int k)
{
    assert_true(d >= 0);
    assert_true(k >= 0);
    const allot_agg *a = allot_cluster_agg(c, (uint32_t)d, (uint32_t)k);
    assert_non_null(a);
    return a;
}

static void assert_agg(const allot_cluster *c, int d, int k, int64_t free_milli, int32_t free_whole,
                       int32_t devices)
{
    const allot_agg *a = agg(c, d, k);
    assert_int_equal(a->free_milli, free_milli);
    assert_int_equal(a->free_whole, free_whole);
    assert_int_equal(a->devices, devices);
}

static void assert_check_ok(const allot_cluster *c)
{
    char msg[512] = "";
    int rc = allot_cluster_check(c, msg, sizeof msg);
    if (rc != 0) fail_msg("allot_cluster_check: %d: %s", rc, msg);
}

static const allot_node *node(const allot_cluster *c, int id)
{
    assert_true(id >= 0);
    const allot_node *n = allot_cluster_node(c, (uint32_t)id);
    assert_non_null(n);
    return n;
}

static int16_t dev(const allot_cluster *c, int nid, int i)
{
    return allot_cluster_dev_free(c)[node(c, nid)->dev0 + (uint32_t)i];
}

/* A full copy of everything observable: nodes, device free, aggregates and
 * totals, to show that a failed call changed nothing. */
typedef struct snap {
    allot_node *nodes;
    int16_t *devs;
    allot_agg *aggs;
    uint32_t nn, nd, ndom;
    int64_t total, freem, cpu;
} snap;

static snap snap_take(allot_cluster *c)
{
    snap s;
    s.nn = allot_cluster_nnodes(c);
    s.nd = allot_cluster_ndevices(c);
    s.ndom = allot_cluster_ndomains(c);
    s.nodes = malloc((s.nn + 1) * sizeof *s.nodes);
    s.devs = malloc((s.nd + 1) * sizeof *s.devs);
    s.aggs = malloc(((size_t)s.ndom * ALLOT_MAX_CHIP_TYPES + 1) * sizeof *s.aggs);
    assert_non_null(s.nodes);
    assert_non_null(s.devs);
    assert_non_null(s.aggs);
    if (s.nn) memcpy(s.nodes, allot_cluster_nodes(c), s.nn * sizeof *s.nodes);
    if (s.nd) memcpy(s.devs, allot_cluster_dev_free(c), s.nd * sizeof *s.devs);
    for (uint32_t d = 0; d < s.ndom; d++)
        for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++)
            s.aggs[d * ALLOT_MAX_CHIP_TYPES + k] = *allot_cluster_agg(c, d, k);
    s.total = allot_cluster_total_milli(c);
    s.freem = allot_cluster_free_milli(c);
    s.cpu = allot_cluster_total_cpu(c);
    return s;
}

static void snap_same(const snap *a, const snap *b)
{
    assert_int_equal(a->nn, b->nn);
    assert_int_equal(a->nd, b->nd);
    assert_int_equal(a->ndom, b->ndom);
    assert_memory_equal(a->nodes, b->nodes, a->nn * sizeof *a->nodes);
    assert_memory_equal(a->devs, b->devs, a->nd * sizeof *a->devs);
    assert_memory_equal(a->aggs, b->aggs, (size_t)a->ndom * ALLOT_MAX_CHIP_TYPES * sizeof *a->aggs);
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->freem, b->freem);
    assert_int_equal(a->cpu, b->cpu);
}

static void snap_free(snap *s)
{
    free(s->nodes);
    free(s->devs);
    free(s->aggs);
}

/* ---- building -------------------------------------------------------------- */

static void test_racks_created_on_demand(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("t");
    assert_non_null(c);
    assert_string_equal(allot_cluster_name(c), "t");
    assert_int_equal(allot_cluster_ndomains(c), 0);

    /* zone, block and rack all new: 3 domains */
    int r1 = allot_cluster_rack(c, "z1", "b1", "r1");
    assert_true(r1 >= 0);
    assert_int_equal(allot_cluster_ndomains(c), 3);
    /* same path: same id, nothing new */
    assert_int_equal(allot_cluster_rack(c, "z1", "b1", "r1"), r1);
    assert_int_equal(allot_cluster_ndomains(c), 3);
    /* new rack in the same block: 1 new domain */
    int r2 = allot_cluster_rack(c, "z1", "b1", "r2");
    assert_true(r2 >= 0 && r2 != r1);
    assert_int_equal(allot_cluster_ndomains(c), 4);
    /* same rack name under another block: block + rack new (2), distinct id */
    int r3 = allot_cluster_rack(c, "z1", "b2", "r1");
    assert_true(r3 >= 0 && r3 != r1 && r3 != r2);
    assert_int_equal(allot_cluster_ndomains(c), 6);
    /* defaults: zone-0/block-0/rack-0, all new (3) */
    int r4 = allot_cluster_rack(c, NULL, "", NULL);
    assert_int_equal(allot_cluster_ndomains(c), 9);
    assert_int_equal(allot_cluster_rack(c, "zone-0", "block-0", "rack-0"), r4);

    /* parents and levels */
    const allot_domain *d1 = allot_cluster_domain(c, (uint32_t)r1);
    assert_string_equal(d1->name, "r1");
    assert_int_equal(d1->level, ALLOT_LEVEL_RACK);
    const allot_domain *b1 = allot_cluster_domain(c, d1->parent);
    assert_string_equal(b1->name, "b1");
    assert_int_equal(b1->level, ALLOT_LEVEL_BLOCK);
    const allot_domain *z1 = allot_cluster_domain(c, b1->parent);
    assert_string_equal(z1->name, "z1");
    assert_int_equal(z1->level, ALLOT_LEVEL_ZONE);
    assert_int_equal(z1->parent, UINT32_MAX);
    assert_int_equal(allot_cluster_domain(c, (uint32_t)r2)->parent, d1->parent);
    const allot_domain *d3 = allot_cluster_domain(c, (uint32_t)r3);
    assert_string_equal(d3->name, "r1");
    assert_string_equal(allot_cluster_domain(c, d3->parent)->name, "b2");
    assert_int_equal(allot_cluster_domain(c, d3->parent)->parent, b1->parent);
    const allot_domain *d4 = allot_cluster_domain(c, (uint32_t)r4);
    assert_string_equal(d4->name, "rack-0");
    assert_string_equal(allot_cluster_domain(c, d4->parent)->name, "block-0");
    assert_null(allot_cluster_domain(c, 9));

    /* bad arguments */
    char longname[ALLOT_NAME_MAX + 1];
    memset(longname, 'x', sizeof longname - 1);
    longname[ALLOT_NAME_MAX] = '\0'; /* 64 chars: one too many */
    assert_int_equal(allot_cluster_rack(NULL, "z", "b", "r"), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_rack(c, longname, "b", "r"), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_rack(c, "z", "b", longname), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_ndomains(c), 9);

    /* nnodes per domain after finalize: r1 2 nodes, r2 1, r3 1 */
    assert_true(allot_cluster_add_node(c, "a", "A10", 1, 1000, 1000, (uint32_t)r1) >= 0);
    assert_true(allot_cluster_add_node(c, "b", "A10", 1, 1000, 1000, (uint32_t)r1) >= 0);
    assert_true(allot_cluster_add_node(c, "c", "A10", 1, 1000, 1000, (uint32_t)r2) >= 0);
    assert_true(allot_cluster_add_node(c, "d", "A10", 1, 1000, 1000, (uint32_t)r3) >= 0);
    assert_int_equal(allot_cluster_finalize(c), 0);
    assert_int_equal(allot_cluster_domain(c, (uint32_t)r1)->nnodes, 2);
    assert_int_equal(allot_cluster_domain(c, (uint32_t)r2)->nnodes, 1);
    assert_int_equal(allot_cluster_domain(c, (uint32_t)r3)->nnodes, 1);
    assert_int_equal(allot_cluster_domain(c, d1->parent)->nnodes, 3); /* b1: r1 + r2 */
    assert_int_equal(allot_cluster_domain(c, d3->parent)->nnodes, 1); /* b2 */
    assert_int_equal(allot_cluster_domain(c, b1->parent)->nnodes, 4); /* z1 */
    assert_int_equal(allot_cluster_domain(c, (uint32_t)r4)->nnodes, 0);
    assert_check_ok(c);
    allot_cluster_free(c);
    allot_cluster_free(NULL); /* accepts NULL */
}

static void test_add_node_and_errors(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new(NULL);
    assert_string_equal(allot_cluster_name(c), "cluster");
    int r = allot_cluster_rack(c, "z", "b", "r");
    assert_true(r >= 0);
    int n0 = allot_cluster_add_node(c, "n0", "A10", 4, 32000, 65536, (uint32_t)r);
    assert_int_equal(n0, 0);
    int cpu = allot_cluster_add_node(c, "cpu0", NULL, 0, 64000, 1024, (uint32_t)r);
    assert_int_equal(cpu, 1);
    int cpu2 = allot_cluster_add_node(c, "cpu1", "", 0, 1000, 1024, (uint32_t)r);
    assert_int_equal(cpu2, 2);

    /* duplicate name */
    assert_int_equal(allot_cluster_add_node(c, "n0", "T4", 1, 1, 1, (uint32_t)r), ALLOT_EEXIST);
    assert_int_equal(allot_cluster_add_node(c, "cpu0", NULL, 0, 1, 1, (uint32_t)r), ALLOT_EEXIST);
    /* bad names */
    assert_int_equal(allot_cluster_add_node(c, NULL, "A10", 1, 1, 1, (uint32_t)r), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_add_node(c, "", "A10", 1, 1, 1, (uint32_t)r), ALLOT_EINVAL);
    char name64[ALLOT_NAME_MAX + 1], name63[ALLOT_NAME_MAX];
    memset(name64, 'n', ALLOT_NAME_MAX);
    name64[ALLOT_NAME_MAX] = '\0';
    memset(name63, 'm', ALLOT_NAME_MAX - 1);
    name63[ALLOT_NAME_MAX - 1] = '\0';
    assert_int_equal(allot_cluster_add_node(c, name64, "A10", 1, 1, 1, (uint32_t)r), ALLOT_EINVAL);
    /* device count and capacities */
    assert_int_equal(allot_cluster_add_node(c, "x", "A10", -1, 1, 1, (uint32_t)r), ALLOT_ERANGE);
    assert_int_equal(
        allot_cluster_add_node(c, "x", "A10", ALLOT_MAX_DEVS_PER_NODE + 1, 1, 1, (uint32_t)r),
        ALLOT_ERANGE);
    assert_int_equal(allot_cluster_add_node(c, "x", "A10", 1, -1, 1, (uint32_t)r), ALLOT_ERANGE);
    assert_int_equal(allot_cluster_add_node(c, "x", "A10", 1, 1, -1, (uint32_t)r), ALLOT_ERANGE);
    /* devices without a chip */
    assert_int_equal(allot_cluster_add_node(c, "x", NULL, 2, 1, 1, (uint32_t)r), ALLOT_EINVAL);
    /* rack id that is not a rack (the zone is domain 0) or does not exist */
    int zone = (int)allot_cluster_domain(c, allot_cluster_domain(c, (uint32_t)r)->parent)->parent;
    assert_int_equal(allot_cluster_add_node(c, "x", "A10", 1, 1, 1, (uint32_t)zone), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_add_node(c, "x", "A10", 1, 1, 1, 99), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_add_node(NULL, "x", "A10", 1, 1, 1, (uint32_t)r), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_nnodes(c), 3);

    /* limits that are fine: 63-char name, 64 devices */
    int big = allot_cluster_add_node(c, name63, "H800", ALLOT_MAX_DEVS_PER_NODE, 1, 1, (uint32_t)r);
    assert_int_equal(big, 3);
    assert_int_equal(allot_cluster_find_node(c, name63), 3);
    assert_int_equal(allot_cluster_find_node(c, "cpu1"), 2);
    assert_int_equal(allot_cluster_find_node(c, "nope"), ALLOT_ENOENT);
    assert_int_equal(allot_cluster_find_node(c, NULL), ALLOT_EINVAL);

    assert_int_equal(allot_cluster_finalize(c), 0);
    assert_int_equal(allot_cluster_finalize(c), ALLOT_ESTATE);
    /* frozen shape */
    assert_int_equal(allot_cluster_add_node(c, "late", "A10", 1, 1, 1, (uint32_t)r), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_nnodes(c), 4);

    /* node fields */
    const allot_node *a = node(c, n0);
    assert_string_equal(a->name, "n0");
    assert_int_equal(a->rack, r);
    assert_int_equal(a->ndev, 4);
    assert_int_equal(a->state, ALLOT_NODE_UP);
    assert_int_equal(a->cpu_cap, 32000);
    assert_int_equal(a->cpu_free, 32000);
    assert_int_equal(a->mem_cap, 65536);
    assert_int_equal(a->mem_free, 65536);
    assert_int_equal(a->milli_free, 4000);
    assert_int_equal(a->whole_free, 4);
    assert_int_equal(a->ntasks, 0);
    assert_string_equal(allot_cluster_chip(c, a->chip)->name, "A10");
    for (int i = 0; i < 4; i++) assert_int_equal(dev(c, n0, i), 1000);
    const allot_node *cn = node(c, cpu);
    assert_int_equal(cn->chip, ALLOT_NO_CHIP);
    assert_int_equal(cn->ndev, 0);
    assert_int_equal(cn->milli_free, 0);
    assert_int_equal(node(c, cpu2)->chip, ALLOT_NO_CHIP);
    /* dev0 offsets are dense: n0 0..3, CPU nodes none, big 4..67 */
    assert_int_equal(node(c, big)->dev0, 4);
    assert_int_equal(allot_cluster_ndevices(c), 4 + 64);
    /* totals: 68 devices; CPU 32000 + 64000 + 1000 + 1 */
    assert_int_equal(allot_cluster_total_milli(c), 68000);
    assert_int_equal(allot_cluster_free_milli(c), 68000);
    assert_int_equal(allot_cluster_total_cpu(c), 97001);
    assert_int_equal(allot_cluster_nchips(c), 2);
    assert_null(allot_cluster_node(c, 4));
    assert_null(allot_cluster_chip(c, 2));
    assert_check_ok(c);
    allot_cluster_free(c);
}

/* ---- chip types ------------------------------------------------------------- */

static void test_catalog_lookup(void **state)
{
    (void)state;
    const allot_chip_type *h = allot_catalog_find("H100");
    assert_non_null(h);
    assert_string_equal(h->name, "H100");
    assert_true(h->memory_gib == 80);
    /* case-insensitive */
    assert_ptr_equal(allot_catalog_find("h100"), h);
    assert_ptr_equal(allot_catalog_find("a100-80g"), allot_catalog_find("A100-80G"));
    assert_non_null(allot_catalog_find("ascend-910b"));
    assert_null(allot_catalog_find("H100x"));
    assert_null(allot_catalog_find(""));
    assert_null(allot_catalog_find(NULL));
    size_t n = allot_catalog_count();
    assert_true(n >= 10);
    for (size_t i = 0; i < n; i++) {
        const allot_chip_type *t = allot_catalog_at(i);
        assert_non_null(t);
        assert_ptr_equal(allot_catalog_find(t->name), t); /* names unique */
    }
    assert_null(allot_catalog_at(n));

    allot_cluster *c = allot_cluster_new("c");
    /* from the catalogue, keeping the caller's spelling */
    int id = allot_cluster_chip_id(c, "h800");
    assert_int_equal(id, 0);
    const allot_chip_type *t = allot_cluster_chip(c, 0);
    assert_string_equal(t->name, "h800");
    assert_true(t->memory_gib == allot_catalog_find("H800")->memory_gib);
    assert_true(t->cost_per_hour == allot_catalog_find("H800")->cost_per_hour);
    assert_int_equal(allot_cluster_chip_id(c, "h800"), 0);
    /* the cluster's own lookup is case-sensitive */
    assert_int_equal(allot_cluster_find_chip(c, "h800"), 0);
    assert_int_equal(allot_cluster_find_chip(c, "H800"), ALLOT_ENOENT);
    assert_int_equal(allot_cluster_find_chip(c, NULL), ALLOT_EINVAL);
    /* unknown everywhere: added with unknown attributes */
    int g2 = allot_cluster_chip_id(c, "G2");
    assert_int_equal(g2, 1);
    t = allot_cluster_chip(c, 1);
    assert_string_equal(t->name, "G2");
    assert_true(t->memory_gib == 0 && t->bf16_tflops == 0 && t->power_w == 0);
    assert_int_equal(allot_cluster_nchips(c), 2);
    assert_int_equal(allot_cluster_chip_id(c, ""), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_chip_id(c, NULL), ALLOT_EINVAL);

    /* add_chip replaces attributes of an existing name */
    allot_chip_type nt;
    memset(&nt, 0, sizeof nt);
    snprintf(nt.name, sizeof nt.name, "G2");
    nt.memory_gib = 24;
    nt.channel = ALLOT_CHANNEL_LEASED;
    assert_int_equal(allot_cluster_add_chip(c, &nt), 1);
    assert_true(allot_cluster_chip(c, 1)->memory_gib == 24);
    assert_int_equal(allot_cluster_chip(c, 1)->channel, ALLOT_CHANNEL_LEASED);
    assert_int_equal(allot_cluster_nchips(c), 2);
    nt.name[0] = '\0';
    assert_int_equal(allot_cluster_add_chip(c, &nt), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_add_chip(c, NULL), ALLOT_EINVAL);

    /* 64 types at most */
    for (int i = 2; i < ALLOT_MAX_CHIP_TYPES; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "X%d", i);
        assert_int_equal(allot_cluster_chip_id(c, nm), i);
    }
    assert_int_equal(allot_cluster_chip_id(c, "one-too-many"), ALLOT_ELIMIT);
    assert_int_equal(allot_cluster_chip_id(c, "X63"), 63); /* existing still found */
    allot_cluster_free(c);
}

static void test_chip_masks(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("m");
    assert_int_equal(allot_cluster_chip_id(c, "A10"), 0);
    assert_int_equal(allot_cluster_chip_id(c, "T4"), 1);
    assert_int_equal(allot_cluster_chip_id(c, "V100M16"), 2);
    allot_chip_mask m = 99;
    assert_int_equal(allot_cluster_chip_mask(c, "A10|T4", &m, 0), 0);
    assert_int_equal(m, 0x3); /* bits 0 and 1 */
    assert_int_equal(allot_cluster_chip_mask(c, "V100M16", &m, 0), 0);
    assert_int_equal(m, 0x4);
    assert_int_equal(allot_cluster_chip_mask(c, " T4 |\tV100M16 ", &m, 0), 0);
    assert_int_equal(m, 0x6); /* blanks around names are trimmed */
    assert_int_equal(allot_cluster_chip_mask(c, "A10||T4|", &m, 0), 0);
    assert_int_equal(m, 0x3); /* empty items are skipped */
    assert_int_equal(allot_cluster_chip_mask(c, "T4|T4", &m, 0), 0);
    assert_int_equal(m, 0x2);
    m = 99;
    assert_int_equal(allot_cluster_chip_mask(c, "", &m, 0), 0);
    assert_int_equal(m, 0); /* "" = any */
    m = 99;
    assert_int_equal(allot_cluster_chip_mask(c, NULL, &m, 0), 0);
    assert_int_equal(m, 0);
    /* unknown names: an error without add_unknown, nothing added */
    assert_int_equal(allot_cluster_chip_mask(c, "A10|G3", &m, 0), ALLOT_ENOENT);
    assert_int_equal(allot_cluster_nchips(c), 3);
    /* names are matched case-sensitively by the cluster */
    assert_int_equal(allot_cluster_chip_mask(c, "t4", &m, 0), ALLOT_ENOENT);
    /* with add_unknown, G3 becomes type 3 */
    assert_int_equal(allot_cluster_chip_mask(c, "A10|G3", &m, 1), 0);
    assert_int_equal(m, 0x9); /* bits 0 and 3 */
    assert_int_equal(allot_cluster_nchips(c), 4);
    assert_int_equal(allot_cluster_find_chip(c, "G3"), 3);
    /* a name longer than a chip name can be */
    char longl[ALLOT_NAME_MAX + 8];
    memset(longl, 'q', sizeof longl - 1);
    longl[sizeof longl - 1] = '\0';
    assert_int_equal(allot_cluster_chip_mask(c, longl, &m, 1), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_chip_mask(c, "A10", NULL, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_chip_mask(NULL, "A10", &m, 0), ALLOT_EINVAL);
    allot_cluster_free(c);
}

/* ---- capacity ----------------------------------------------------------------- */

/* Two zones:
 *   z1/b1/r1: a (A10 x4, 32 cores, 64 GiB), b (A10 x2, 16 cores)
 *   z1/b1/r2: c (T4 x2, 8 cores)
 *   z2/b2/r3: d (A10 x8, 96 cores), e (CPU only, 64 cores)
 * Chip ids: A10 = 0, T4 = 1. */
typedef struct fleet {
    allot_cluster *c;
    int r1, r2, r3, b1, b2, z1, z2;
    int a, b, cc, d, e;
} fleet;

static fleet fleet_new(void)
{
    fleet f;
    f.c = allot_cluster_new("f");
    f.r1 = allot_cluster_rack(f.c, "z1", "b1", "r1");
    f.r2 = allot_cluster_rack(f.c, "z1", "b1", "r2");
    f.r3 = allot_cluster_rack(f.c, "z2", "b2", "r3");
    f.b1 = (int)allot_cluster_domain(f.c, (uint32_t)f.r1)->parent;
    f.z1 = (int)allot_cluster_domain(f.c, (uint32_t)f.b1)->parent;
    f.b2 = (int)allot_cluster_domain(f.c, (uint32_t)f.r3)->parent;
    f.z2 = (int)allot_cluster_domain(f.c, (uint32_t)f.b2)->parent;
    f.a = allot_cluster_add_node(f.c, "a", "A10", 4, 32000, 65536, (uint32_t)f.r1);
    f.b = allot_cluster_add_node(f.c, "b", "A10", 2, 16000, 32768, (uint32_t)f.r1);
    f.cc = allot_cluster_add_node(f.c, "c", "T4", 2, 8000, 16384, (uint32_t)f.r2);
    f.d = allot_cluster_add_node(f.c, "d", "A10", 8, 96000, 393216, (uint32_t)f.r3);
    f.e = allot_cluster_add_node(f.c, "e", NULL, 0, 64000, 262144, (uint32_t)f.r3);
    assert_true(f.a >= 0 && f.b >= 0 && f.cc >= 0 && f.d >= 0 && f.e >= 0);
    assert_int_equal(allot_cluster_finalize(f.c), 0);
    return f;
}

static void test_take_give_node_sums(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    uint32_t v0 = node(c, f.a)->version;
    uint8_t d0[] = {0};
    /* 500 milli of device 0, 4 cores, 8 GiB */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 500, 4000, 8192), 0);
    const allot_node *a = node(c, f.a);
    assert_int_equal(dev(c, f.a, 0), 500);
    assert_int_equal(a->milli_free, 3500); /* 4000 - 500 */
    assert_int_equal(a->whole_free, 3);
    assert_int_equal(a->cpu_free, 28000);
    assert_int_equal(a->mem_free, 57344); /* 65536 - 8192 */
    assert_int_equal(a->ntasks, 1);
    assert_true(a->version != v0);
    /* two whole devices 1 and 3 */
    uint8_t d13[] = {3, 1};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d13, 2, 1000, 1000, 0), 0);
    assert_int_equal(dev(c, f.a, 1), 0);
    assert_int_equal(dev(c, f.a, 2), 1000);
    assert_int_equal(dev(c, f.a, 3), 0);
    assert_int_equal(a->milli_free, 1500); /* 500 + 0 + 1000 + 0 */
    assert_int_equal(a->whole_free, 1);    /* only device 2 */
    assert_int_equal(a->cpu_free, 27000);
    assert_int_equal(a->ntasks, 2);
    /* another 500 on device 0 empties it */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 500, 0, 0), 0);
    assert_int_equal(dev(c, f.a, 0), 0);
    assert_int_equal(a->milli_free, 1000);
    assert_int_equal(a->whole_free, 1);
    /* CPU-only take on a GPU node and on a CPU node */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, NULL, 0, 0, 2000, 0), 0);
    assert_int_equal(a->cpu_free, 25000);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.e, NULL, 0, 0, 64000, 262144), 0);
    assert_int_equal(node(c, f.e)->cpu_free, 0);
    assert_int_equal(node(c, f.e)->mem_free, 0);
    assert_check_ok(c);
    /* total = (4 + 2 + 2 + 8) * 1000 = 16000; taken 500 + 2000 + 500 = 3000 */
    assert_int_equal(allot_cluster_total_milli(c), 16000);
    assert_int_equal(allot_cluster_free_milli(c), 13000);

    /* give back in another order */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d13, 2, 1000, 1000, 0), 0);
    assert_int_equal(a->milli_free, 3000);
    assert_int_equal(a->whole_free, 3); /* 1, 2, 3 */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 500, 0, 0), 0);
    assert_int_equal(dev(c, f.a, 0), 500);
    assert_int_equal(a->whole_free, 3);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 500, 4000, 8192), 0);
    assert_int_equal(a->whole_free, 4);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, NULL, 0, 0, 2000, 0), 0);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.e, NULL, 0, 0, 64000, 262144), 0);
    assert_int_equal(a->milli_free, 4000);
    assert_int_equal(a->cpu_free, 32000);
    assert_int_equal(a->mem_free, 65536);
    assert_int_equal(a->ntasks, 0);
    assert_int_equal(allot_cluster_free_milli(c), 16000);
    assert_check_ok(c);
    allot_cluster_free(c);
}

static void test_aggregates(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    const int A10 = 0, T4 = 1;
    /* fresh: r1 A10 = a(4) + b(2) = 6 devices; b1 A10 = r1 + r2 = 6, T4 = 2;
     * z1 same as b1; r3/b2/z2 A10 = d(8) */
    assert_agg(c, f.r1, A10, 6000, 6, 6);
    assert_agg(c, f.r1, T4, 0, 0, 0);
    assert_agg(c, f.r2, T4, 2000, 2, 2);
    assert_agg(c, f.r2, A10, 0, 0, 0);
    assert_agg(c, f.b1, A10, 6000, 6, 6);
    assert_agg(c, f.b1, T4, 2000, 2, 2);
    assert_agg(c, f.z1, A10, 6000, 6, 6);
    assert_agg(c, f.z1, T4, 2000, 2, 2);
    assert_agg(c, f.r3, A10, 8000, 8, 8);
    assert_agg(c, f.b2, A10, 8000, 8, 8);
    assert_agg(c, f.z2, A10, 8000, 8, 8);
    assert_agg(c, f.z2, T4, 0, 0, 0);
    assert_null(allot_cluster_agg(c, allot_cluster_ndomains(c), 0));
    assert_null(allot_cluster_agg(c, 0, ALLOT_MAX_CHIP_TYPES));
    /* totals: 16 devices; CPU 32+16+8+96+64 = 216 cores */
    assert_int_equal(allot_cluster_total_milli(c), 16000);
    assert_int_equal(allot_cluster_free_milli(c), 16000);
    assert_int_equal(allot_cluster_total_cpu(c), 216000);

    /* b: 300 milli of device 1; c: whole device 0; d: 3 whole devices */
    uint8_t one[] = {1}, zero[] = {0}, three[] = {2, 5, 7};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.b, one, 1, 300, 0, 0), 0);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.cc, zero, 1, 1000, 0, 0), 0);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.d, three, 3, 1000, 0, 0), 0);
    /* r1 A10: 6000 - 300 = 5700 free, whole 5 (b's device 1 is partial) */
    assert_agg(c, f.r1, A10, 5700, 5, 6);
    /* r2 T4: 2000 - 1000 = 1000, whole 1 */
    assert_agg(c, f.r2, T4, 1000, 1, 2);
    assert_agg(c, f.b1, A10, 5700, 5, 6);
    assert_agg(c, f.b1, T4, 1000, 1, 2);
    assert_agg(c, f.z1, A10, 5700, 5, 6);
    assert_agg(c, f.z1, T4, 1000, 1, 2);
    /* r3 A10: 8000 - 3000 = 5000, whole 5 */
    assert_agg(c, f.r3, A10, 5000, 5, 8);
    assert_agg(c, f.b2, A10, 5000, 5, 8);
    assert_agg(c, f.z2, A10, 5000, 5, 8);
    /* cluster free: 16000 - 300 - 1000 - 3000 = 11700 */
    assert_int_equal(allot_cluster_free_milli(c), 11700);
    assert_int_equal(allot_cluster_total_milli(c), 16000);
    assert_check_ok(c);

    /* give half back: d's three devices */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.d, three, 3, 1000, 0, 0), 0);
    assert_agg(c, f.z2, A10, 8000, 8, 8);
    assert_int_equal(allot_cluster_free_milli(c), 14700);
    assert_check_ok(c);
    allot_cluster_free(c);
}

static void test_enofit_leaves_state(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    uint8_t d01[] = {0, 1}, d0[] = {0}, d1[] = {1};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 600, 1000, 1024), 0);
    snap s0 = snap_take(c);

    /* device 0 has 400 left: 500 does not fit, even if device 1 does */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d01, 2, 500, 0, 0), ALLOT_ENOFIT);
    /* CPU: 31000 free */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d1, 1, 100, 31001, 0), ALLOT_ENOFIT);
    /* memory: 64512 free */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d1, 1, 100, 0, 64513), ALLOT_ENOFIT);
    /* exactly what is left fits (checked below on a copy) */
    /* CPU node e: 64 cores */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.e, NULL, 0, 0, 64001, 0), ALLOT_ENOFIT);
    /* bad arguments change nothing either */
    uint8_t dup[] = {1, 1}, oor[] = {4};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, dup, 2, 100, 0, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, oor, 1, 100, 0, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d1, 1, 1001, 0, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d1, 1, -1, 0, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d1, 1, 100, -1, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d1, 1, 100, 0, -1), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, 99, d1, 1, 100, 0, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.e, d0, 1, 100, 0, 0), ALLOT_EINVAL);
    uint8_t five[] = {0, 1, 2, 3, 0};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, five, 5, 100, 0, 0), ALLOT_EINVAL);
    snap s1 = snap_take(c);
    snap_same(&s0, &s1);
    snap_free(&s1);

    /* the exact remainder fits: 400 milli, 31000 cores, 64512 MiB */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 400, 31000, 64512), 0);
    assert_int_equal(dev(c, f.a, 0), 0);
    assert_int_equal(node(c, f.a)->cpu_free, 0);
    assert_int_equal(node(c, f.a)->mem_free, 0);
    assert_check_ok(c);
    snap_free(&s0);
    allot_cluster_free(c);
}

static void test_give_beyond_capacity(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    uint8_t d0[] = {0}, d1[] = {1};
    /* nothing placed: any give is an invariant violation */
    snap s0 = snap_take(c);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 100, 0, 0), ALLOT_EINVARIANT);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.e, NULL, 0, 0, 1, 0), ALLOT_EINVARIANT);
    snap s1 = snap_take(c);
    snap_same(&s0, &s1);
    snap_free(&s0);
    snap_free(&s1);

    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 300, 2000, 100), 0);
    s0 = snap_take(c);
    /* device 1 is whole: +1 would make it 1001 */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d1, 1, 1, 0, 0), ALLOT_EINVARIANT);
    /* device 0 has 700 free: +301 would make 1001 */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 301, 0, 0), ALLOT_EINVARIANT);
    /* more CPU or memory than was taken */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 300, 2001, 0), ALLOT_EINVARIANT);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 300, 0, 101), ALLOT_EINVARIANT);
    /* bad arguments */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 1001, 0, 0), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_give(c, 99, d0, 1, 1, 0, 0), ALLOT_EINVAL);
    s1 = snap_take(c);
    snap_same(&s0, &s1);
    snap_free(&s1);
    /* the exact give works */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 300, 2000, 100), 0);
    assert_int_equal(node(c, f.a)->milli_free, 4000);
    assert_check_ok(c);
    snap_free(&s0);
    allot_cluster_free(c);
}

static void test_node_states(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    const int A10 = 0;
    uint8_t d0[] = {0}, d12[] = {1, 2};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 250, 8000, 4096), 0);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d12, 2, 1000, 8000, 4096), 0);
    /* a: free 750 + 0 + 0 + 1000 = 1750, whole 1; r1 A10 = 1750 + b 2000 */
    assert_agg(c, f.r1, A10, 3750, 3, 6);
    assert_int_equal(allot_cluster_free_milli(c), 13750); /* 16000 - 2250 */

    /* DOWN: out of the aggregates and totals, capacity reset */
    uint32_t v = node(c, f.a)->version;
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.a, ALLOT_NODE_DOWN), 0);
    const allot_node *a = node(c, f.a);
    assert_int_equal(a->state, ALLOT_NODE_DOWN);
    assert_true(a->version != v);
    assert_int_equal(a->milli_free, 4000);
    assert_int_equal(a->whole_free, 4);
    assert_int_equal(a->cpu_free, 32000);
    assert_int_equal(a->mem_free, 65536);
    assert_int_equal(a->ntasks, 0);
    for (int i = 0; i < 4; i++) assert_int_equal(dev(c, f.a, i), 1000);
    assert_agg(c, f.r1, A10, 2000, 2, 2); /* only b */
    assert_agg(c, f.b1, A10, 2000, 2, 2);
    assert_agg(c, f.z1, A10, 2000, 2, 2);
    assert_int_equal(allot_cluster_total_milli(c), 12000); /* 16000 - 4000 */
    assert_int_equal(allot_cluster_free_milli(c), 12000);
    assert_int_equal(allot_cluster_total_cpu(c), 184000); /* 216000 - 32000 */
    assert_check_ok(c);
    /* nothing can be taken on a DOWN node; same state again is a no-op */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 1, 0, 0), ALLOT_ENOFIT);
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.a, ALLOT_NODE_DOWN), 0);
    assert_int_equal(allot_cluster_total_milli(c), 12000);

    /* UP: back with full capacity */
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.a, ALLOT_NODE_UP), 0);
    assert_agg(c, f.r1, A10, 6000, 6, 6);
    assert_int_equal(allot_cluster_total_milli(c), 16000);
    assert_int_equal(allot_cluster_free_milli(c), 16000);
    assert_int_equal(allot_cluster_total_cpu(c), 216000);
    assert_check_ok(c);

    /* DRAINING: keeps its allocations, leaves the aggregates, takes nothing
     * new, may give back */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.b, d0, 1, 400, 1000, 0), 0);
    assert_agg(c, f.r1, A10, 5600, 5, 6);
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.b, ALLOT_NODE_DRAINING), 0);
    assert_int_equal(node(c, f.b)->milli_free, 1600);
    assert_int_equal(node(c, f.b)->cpu_free, 15000);
    assert_agg(c, f.r1, A10, 4000, 4, 4); /* only a */
    assert_int_equal(allot_cluster_total_milli(c), 14000);
    assert_int_equal(allot_cluster_free_milli(c), 14000);
    assert_check_ok(c);
    uint8_t d1[] = {1};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.b, d1, 1, 1, 0, 0), ALLOT_ENOFIT);
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.b, d0, 1, 400, 1000, 0), 0);
    assert_int_equal(node(c, f.b)->milli_free, 2000);
    assert_agg(c, f.r1, A10, 4000, 4, 4); /* still out */
    assert_int_equal(allot_cluster_free_milli(c), 14000);
    assert_check_ok(c);
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.b, d0, 1, 1, 0, 0), ALLOT_ENOFIT);
    /* UP again: its current free capacity rejoins */
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.b, ALLOT_NODE_UP), 0);
    assert_agg(c, f.r1, A10, 6000, 6, 6);
    assert_int_equal(allot_cluster_free_milli(c), 16000);
    assert_check_ok(c);
    /* a draining node that goes down loses its tasks */
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.b, d0, 1, 700, 0, 0), 0);
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.b, ALLOT_NODE_DRAINING), 0);
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.b, ALLOT_NODE_DOWN), 0);
    assert_int_equal(node(c, f.b)->milli_free, 2000);
    assert_int_equal(node(c, f.b)->ntasks, 0);
    assert_int_equal(allot_cluster_total_milli(c), 14000);
    assert_check_ok(c);
    /* CPU-only node: only the CPU total moves */
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.e, ALLOT_NODE_DOWN), 0);
    assert_int_equal(allot_cluster_total_cpu(c), 216000 - 16000 - 64000);
    assert_check_ok(c);

    /* bad arguments */
    assert_int_equal(allot_cluster_set_state(c, 99, ALLOT_NODE_UP), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.a, (allot_node_state)3), ALLOT_EINVAL);
    assert_int_equal(allot_cluster_set_state(NULL, 0, ALLOT_NODE_UP), ALLOT_EINVAL);
    allot_cluster_free(c);
}

/* ---- the checker -------------------------------------------------------------- */

/* One allocation the property test's model remembers. */
typedef struct alloc {
    uint32_t node;
    uint8_t devs[ALLOT_MAX_DEVS_PER_NODE];
    int ndevs;
    int32_t milli;
    int64_t cpu, mem;
} alloc;

/* 3 zones x 2 blocks x 2 racks, 24 nodes of 3 chip types with 1..8 devices,
 * and some CPU-only nodes. */
static allot_cluster *random_fleet(void)
{
    allot_cluster *c = allot_cluster_new("prop");
    static const char *chips[] = {"A10", "T4", "H800", NULL};
    static const int ndevs[] = {1, 2, 4, 8};
    int k = 0;
    for (int z = 0; z < 3; z++)
        for (int b = 0; b < 2; b++)
            for (int r = 0; r < 2; r++) {
                char zn[16], bn[16], rn[16];
                snprintf(zn, sizeof zn, "z%d", z);
                snprintf(bn, sizeof bn, "b%d", b);
                snprintf(rn, sizeof rn, "r%d", r);
                int rack = allot_cluster_rack(c, zn, bn, rn);
                assert_true(rack >= 0);
                for (int i = 0; i < 2; i++, k++) {
                    char nm[16];
                    snprintf(nm, sizeof nm, "n%02d", k);
                    const char *chip = chips[k % 4];
                    int nd = chip ? ndevs[(k / 4) % 4] : 0;
                    int id = allot_cluster_add_node(c, nm, chip, nd, 16000 + 8000 * (k % 3), 65536,
                                                    (uint32_t)rack);
                    assert_int_equal(id, k);
                }
            }
    assert_int_equal(allot_cluster_finalize(c), 0);
    return c;
}

/* Independent recomputation of every aggregate and total from the model's
 * device state, compared with the cluster's. */
static void model_compare(allot_cluster *c, const int32_t *used, const int64_t *cpu_used,
                          const int64_t *mem_used)
{
    uint32_t nn = allot_cluster_nnodes(c), ndom = allot_cluster_ndomains(c);
    allot_agg *want = calloc((size_t)ndom * ALLOT_MAX_CHIP_TYPES, sizeof *want);
    assert_non_null(want);
    int64_t total = 0, freem = 0, cpu = 0;
    const int16_t *df = allot_cluster_dev_free(c);
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *n = allot_cluster_node(c, i);
        int32_t sum = 0, whole = 0;
        for (int k = 0; k < n->ndev; k++) {
            int32_t f = ALLOT_MILLI - used[n->dev0 + (uint32_t)k];
            assert_int_equal(df[n->dev0 + (uint32_t)k], f);
            sum += f;
            whole += f == ALLOT_MILLI;
        }
        assert_int_equal(n->milli_free, sum);
        assert_int_equal(n->whole_free, whole);
        assert_int_equal(n->cpu_free, n->cpu_cap - cpu_used[i]);
        assert_int_equal(n->mem_free, n->mem_cap - mem_used[i]);
        if (n->state != ALLOT_NODE_UP) continue;
        total += n->ndev * ALLOT_MILLI;
        freem += sum;
        cpu += n->cpu_cap;
        if (n->chip == ALLOT_NO_CHIP) continue;
        for (uint32_t d = n->rack; d != UINT32_MAX; d = allot_cluster_domain(c, d)->parent) {
            allot_agg *a = &want[(size_t)d * ALLOT_MAX_CHIP_TYPES + n->chip];
            a->free_milli += sum;
            a->free_whole += whole;
            a->devices += n->ndev;
        }
    }
    for (uint32_t d = 0; d < ndom; d++)
        for (uint32_t k = 0; k < ALLOT_MAX_CHIP_TYPES; k++) {
            const allot_agg *a = allot_cluster_agg(c, d, k);
            const allot_agg *w = &want[(size_t)d * ALLOT_MAX_CHIP_TYPES + k];
            assert_int_equal(a->free_milli, w->free_milli);
            assert_int_equal(a->free_whole, w->free_whole);
            assert_int_equal(a->devices, w->devices);
        }
    assert_int_equal(allot_cluster_total_milli(c), total);
    assert_int_equal(allot_cluster_free_milli(c), freem);
    assert_int_equal(allot_cluster_total_cpu(c), cpu);
    free(want);
}

static void test_check_property(void **state)
{
    (void)state;
    allot_cluster *c = random_fleet();
    uint32_t nn = allot_cluster_nnodes(c), nd = allot_cluster_ndevices(c);
    int32_t *used = calloc(nd, sizeof *used);
    int64_t *cpu_used = calloc(nn, sizeof *cpu_used), *mem_used = calloc(nn, sizeof *mem_used);
    size_t cap = 4096, na = 0;
    alloc *as = malloc(cap * sizeof *as);
    assert_non_null(used);
    assert_non_null(cpu_used);
    assert_non_null(mem_used);
    assert_non_null(as);
    allot_rng rng;
    allot_rng_seed(&rng, 20240607);
    int ok_takes = 0, nofit = 0, gives = 0, downs = 0;
    const int OPS = 6000;
    for (int op = 0; op < OPS; op++) {
        uint64_t what = allot_rng_below(&rng, 100);
        if (what < 55) { /* take */
            alloc x;
            memset(&x, 0, sizeof x);
            x.node = (uint32_t)allot_rng_below(&rng, nn);
            const allot_node *n = allot_cluster_node(c, x.node);
            if (n->ndev > 0) {
                x.ndevs = (int)allot_rng_below(&rng, (uint64_t)(n->ndev < 4 ? n->ndev : 4) + 1);
                /* distinct devices: a random subset */
                uint8_t perm[ALLOT_MAX_DEVS_PER_NODE];
                for (int i = 0; i < n->ndev; i++) perm[i] = (uint8_t)i;
                for (int i = n->ndev; i > 1; i--) {
                    int j = (int)allot_rng_below(&rng, (uint64_t)i);
                    uint8_t t = perm[i - 1];
                    perm[i - 1] = perm[j];
                    perm[j] = t;
                }
                memcpy(x.devs, perm, (size_t)x.ndevs);
                x.milli =
                    allot_rng_below(&rng, 2) ? 1000 : 1 + (int32_t)allot_rng_below(&rng, 1000);
                if (x.ndevs == 0) x.milli = 0;
            }
            x.cpu = (int64_t)allot_rng_below(&rng, 9) * 1000;
            x.mem = (int64_t)allot_rng_below(&rng, 5) * 8192;
            /* what the model says */
            int fits = n->state == ALLOT_NODE_UP && cpu_used[x.node] + x.cpu <= n->cpu_cap &&
                       mem_used[x.node] + x.mem <= n->mem_cap;
            for (int i = 0; i < x.ndevs; i++)
                if (used[n->dev0 + x.devs[i]] + x.milli > ALLOT_MILLI) fits = 0;
            int rc = allot_cluster_take(c, x.node, x.devs, x.ndevs, x.milli, x.cpu, x.mem);
            assert_int_equal(rc, fits ? 0 : ALLOT_ENOFIT);
            if (rc == 0) {
                for (int i = 0; i < x.ndevs; i++) used[n->dev0 + x.devs[i]] += x.milli;
                cpu_used[x.node] += x.cpu;
                mem_used[x.node] += x.mem;
                if (na == cap) {
                    cap *= 2;
                    as = realloc(as, cap * sizeof *as);
                    assert_non_null(as);
                }
                as[na++] = x;
                ok_takes++;
            } else {
                nofit++;
            }
        } else if (what < 93) { /* give a random live allocation */
            if (na == 0) continue;
            size_t k = (size_t)allot_rng_below(&rng, na);
            alloc x = as[k];
            as[k] = as[--na];
            const allot_node *n = allot_cluster_node(c, x.node);
            assert_int_equal(allot_cluster_give(c, x.node, x.devs, x.ndevs, x.milli, x.cpu, x.mem),
                             0);
            for (int i = 0; i < x.ndevs; i++) used[n->dev0 + x.devs[i]] -= x.milli;
            cpu_used[x.node] -= x.cpu;
            mem_used[x.node] -= x.mem;
            gives++;
        } else { /* state change */
            uint32_t id = (uint32_t)allot_rng_below(&rng, nn);
            allot_node_state st = (allot_node_state)allot_rng_below(&rng, 3);
            const allot_node *n = allot_cluster_node(c, id);
            assert_int_equal(allot_cluster_set_state(c, id, st), 0);
            if (st == ALLOT_NODE_DOWN) { /* the model forgets its allocations */
                downs++;
                for (size_t k = 0; k < na;) {
                    if (as[k].node == id)
                        as[k] = as[--na];
                    else
                        k++;
                }
                for (int i = 0; i < n->ndev; i++) used[n->dev0 + (uint32_t)i] = 0;
                cpu_used[id] = mem_used[id] = 0;
            }
        }
        char msg[512] = "";
        int rc = allot_cluster_check(c, msg, sizeof msg);
        if (rc != 0) fail_msg("op %d: check failed: %s", op, msg);
        model_compare(c, used, cpu_used, mem_used);
    }
    /* the sequence exercised every branch */
    assert_true(ok_takes > 500);
    assert_true(nofit > 100);
    assert_true(gives > 500);
    assert_true(downs > 20);
    /* everything back: the cluster is as new */
    while (na > 0) {
        alloc x = as[--na];
        assert_int_equal(allot_cluster_give(c, x.node, x.devs, x.ndevs, x.milli, x.cpu, x.mem), 0);
    }
    for (uint32_t i = 0; i < nn; i++)
        assert_int_equal(allot_cluster_set_state(c, i, ALLOT_NODE_UP), 0);
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *n = allot_cluster_node(c, i);
        assert_int_equal(n->milli_free, n->ndev * 1000);
        assert_int_equal(n->cpu_free, n->cpu_cap);
        assert_int_equal(n->ntasks, 0);
    }
    assert_int_equal(allot_cluster_free_milli(c), allot_cluster_total_milli(c));
    assert_check_ok(c);
    free(used);
    free(cpu_used);
    free(mem_used);
    free(as);
    allot_cluster_free(c);
}

static void expect_invariant(const allot_cluster *c, const char *needle)
{
    char msg[512] = "";
    assert_int_equal(allot_cluster_check(c, msg, sizeof msg), ALLOT_EINVARIANT);
    assert_true(msg[0] != '\0');
    if (needle && !strstr(msg, needle)) fail_msg("message '%s' lacks '%s'", msg, needle);
    /* msg may be NULL */
    assert_int_equal(allot_cluster_check(c, NULL, 0), ALLOT_EINVARIANT);
}

static void test_check_detects_corruption(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    uint8_t d0[] = {0};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 300, 1000, 100), 0);
    assert_check_ok(c);
    allot_node *nodes = allot_cluster_nodes(c);
    allot_node *a = &nodes[f.a];

    /* node sum disagrees with its devices */
    a->milli_free += 1;
    expect_invariant(c, "milli_free");
    a->milli_free -= 1;
    assert_check_ok(c);
    /* whole count disagrees */
    a->whole_free -= 1;
    expect_invariant(c, "whole_free");
    a->whole_free += 1;
    /* CPU beyond capacity, and negative */
    a->cpu_free = a->cpu_cap + 1;
    expect_invariant(c, "cpu_free");
    a->cpu_free = -1;
    expect_invariant(c, "cpu_free");
    a->cpu_free = a->cpu_cap - 1000;
    a->mem_free = a->mem_cap + 5;
    expect_invariant(c, "mem_free");
    a->mem_free = a->mem_cap - 100;
    assert_check_ok(c);
    /* a consistent node change the aggregates did not see: node and device
     * agree (both lower by 100) but the rack/zone sums do not */
    int16_t *df = (int16_t *)allot_cluster_dev_free(c);
    df[a->dev0 + 1] -= 100;
    a->milli_free -= 100;
    a->whole_free -= 1;
    expect_invariant(c, "aggregate");
    df[a->dev0 + 1] += 100;
    a->milli_free += 100;
    a->whole_free += 1;
    assert_check_ok(c);
    /* a device outside 0..1000 */
    df[a->dev0 + 2] = 1001;
    a->milli_free += 1;
    expect_invariant(c, "outside");
    df[a->dev0 + 2] = 1000;
    a->milli_free -= 1;
    assert_check_ok(c);
    /* the state flag flipped behind the cluster's back: totals disagree */
    a->state = ALLOT_NODE_DRAINING;
    expect_invariant(c, NULL);
    a->state = ALLOT_NODE_UP;
    assert_check_ok(c);

    /* unfinalized clusters fail the check */
    allot_cluster *u = allot_cluster_new("u");
    expect_invariant(u, "finalized");
    allot_cluster_free(u);
    allot_cluster_free(c);
}

static void test_clone_is_deep(void **state)
{
    (void)state;
    fleet f = fleet_new();
    allot_cluster *c = f.c;
    uint8_t d0[] = {0}, d1[] = {1};
    assert_int_equal(allot_cluster_take(c, (uint32_t)f.a, d0, 1, 300, 1000, 100), 0);
    assert_int_equal(allot_cluster_set_state(c, (uint32_t)f.cc, ALLOT_NODE_DOWN), 0);
    allot_cluster *k = allot_cluster_clone(c);
    assert_non_null(k);
    snap sc = snap_take(c), sk = snap_take(k);
    snap_same(&sc, &sk);
    assert_string_equal(allot_cluster_name(k), "f");
    assert_int_equal(allot_cluster_nchips(k), allot_cluster_nchips(c));
    assert_string_equal(allot_cluster_chip(k, 1)->name, "T4");
    assert_int_equal(allot_cluster_find_node(k, "d"), f.d);
    assert_int_equal(allot_cluster_rack(k, "z2", "b2", "r3"), f.r3); /* names copied */
    assert_check_ok(k);
    /* pointers are not shared */
    assert_true(allot_cluster_nodes(k) != allot_cluster_nodes(c));
    assert_true(allot_cluster_dev_free(k) != allot_cluster_dev_free(c));

    /* changing the clone leaves the original alone, and back */
    assert_int_equal(allot_cluster_take(k, (uint32_t)f.a, d1, 1, 1000, 2000, 0), 0);
    assert_int_equal(allot_cluster_set_state(k, (uint32_t)f.cc, ALLOT_NODE_UP), 0);
    assert_int_equal(allot_cluster_chip_id(k, "NewChip"), 2);
    snap sc2 = snap_take(c);
    snap_same(&sc, &sc2);
    assert_int_equal(allot_cluster_nchips(c), 2);
    assert_int_equal(allot_cluster_free_milli(k), 16000 - 300 - 1000);
    assert_int_equal(allot_cluster_free_milli(c), 16000 - 2000 - 300); /* c down */
    assert_int_equal(allot_cluster_give(c, (uint32_t)f.a, d0, 1, 300, 1000, 100), 0);
    assert_int_equal(dev(k, f.a, 0), 700);
    assert_check_ok(c);
    assert_check_ok(k);
    /* the clone outlives the original */
    allot_cluster_free(c);
    assert_int_equal(allot_cluster_find_node(k, "a"), f.a);
    assert_int_equal(allot_cluster_give(k, (uint32_t)f.a, d1, 1, 1000, 2000, 0), 0);
    assert_check_ok(k);
    /* a clone of an empty, unfinalized cluster works too */
    allot_cluster *e = allot_cluster_new("e");
    allot_cluster *ek = allot_cluster_clone(e);
    assert_non_null(ek);
    assert_int_equal(allot_cluster_nnodes(ek), 0);
    allot_cluster_free(e);
    allot_cluster_free(ek);
    snap_free(&sc);
    snap_free(&sk);
    snap_free(&sc2);
    allot_cluster_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_racks_created_on_demand),
        cmocka_unit_test(test_add_node_and_errors),
        cmocka_unit_test(test_catalog_lookup),
        cmocka_unit_test(test_chip_masks),
        cmocka_unit_test(test_take_give_node_sums),
        cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_enofit_leaves_state),
        cmocka_unit_test(test_give_beyond_capacity),
        cmocka_unit_test(test_node_states),
        cmocka_unit_test(test_check_property),
        cmocka_unit_test(test_check_detects_corruption),
        cmocka_unit_test(test_clone_is_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
