/* tests/test_spec.c - JSON cluster specs, trace node lists, format detection
 * and the sample fleet. */
#include "testutil.h"

#include <zstd.h>

#include "allot/spec.h"

static allot_cluster *parse_ok(const char *text)
{
    allot_cluster *c = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_spec_parse(text, strlen(text), "t.json", &c, &d);
    if (rc != 0) {
        char b[800];
        allot_diag_format(&d, b, sizeof b);
        fail_msg("unexpected error %d: %s", rc, b);
    }
    assert_non_null(c);
    return c;
}

static const allot_domain *dom(const allot_cluster *c, uint32_t id)
{
    const allot_domain *d = allot_cluster_domain(c, id);
    assert_non_null(d);
    return d;
}

/* "zone/block/rack" of a node */
static void node_place(const allot_cluster *c, const char *name, char *out, size_t n)
{
    int id = allot_cluster_find_node(c, name);
    if (id < 0) fail_msg("no node '%s'", name);
    const allot_node *nd = allot_cluster_node(c, (uint32_t)id);
    const allot_domain *r = dom(c, nd->rack), *b = dom(c, r->parent), *z = dom(c, b->parent);
    snprintf(out, n, "%s/%s/%s", z->name, b->name, r->name);
}

static void assert_place(const allot_cluster *c, const char *node, const char *want)
{
    char got[256];
    node_place(c, node, got, sizeof got);
    assert_string_equal(got, want);
}

static void test_minimal(void **state)
{
    (void)state;
    allot_cluster *c = parse_ok("{\"name\": \"lab\", \"nodes\": [{\"name\": \"gpu\", \"count\": 3, "
                                "\"chip\": \"A10\", \"devices\": 2, \"cpu_milli\": 64000, "
                                "\"memory_mib\": 262144}]}");
    assert_string_equal(allot_cluster_name(c), "lab");
    assert_int_equal(allot_cluster_nnodes(c), 3);
    assert_int_equal(allot_cluster_ndevices(c), 6);
    assert_int_equal(allot_cluster_total_milli(c), 6000);
    for (int i = 0; i < 3; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "gpu-%d", i);
        assert_place(c, nm, "zone-0/block-0/rack-0");
        const allot_node *n = allot_cluster_node(c, (uint32_t)allot_cluster_find_node(c, nm));
        assert_int_equal(n->ndev, 2);
        assert_int_equal(n->cpu_cap, 64000);
        assert_int_equal(n->mem_cap, 262144);
        assert_string_equal(allot_cluster_chip(c, n->chip)->name, "A10");
    }
    /* attributes from the catalogue */
    const allot_chip_type *t = allot_cluster_chip(c, 0);
    assert_true(t->memory_gib == allot_catalog_find("A10")->memory_gib);
    char msg[256];
    assert_int_equal(allot_cluster_check(c, msg, sizeof msg), 0);
    allot_cluster_free(c);
}

static void test_groups_and_racks(void **state)
{
    (void)state;
    allot_cluster *c =
        parse_ok("{\"name\": \"big\", \"currency\": \"CNY\", \"description\": \"x\",\n"
                 " \"chip_types\": [\n"
                 "   {\"name\": \"h800\", \"cost_per_hour\": 1.75, \"channel\": "
                 "\"leased\", \"region\": \"cn-sh\"},\n"
                 "   {\"name\": \"MyNPU\", \"memory_gib\": 32, \"bf16_tflops\": 100.5,"
                 " \"power_w\": 300, \"nvlink_domain\": 16, \"channel\": \"cloud\"}\n"
                 " ],\n"
                 " \"nodes\": [\n"
                 "  {\"name\": \"h\", \"count\": 12, \"chip\": \"H800\", \"devices\": 8,"
                 " \"cpu_milli\": 192000, \"memory_mib\": 2097152, \"zone\": \"z1\","
                 " \"block\": \"b1\", \"rack\": \"r\", \"nodes_per_rack\": 5},\n"
                 "  {\"name\": \"npu\", \"count\": 101, \"chip\": \"MyNPU\", "
                 "\"devices\": 16, \"cpu_milli\": 1, \"memory_mib\": 1, \"zone\": "
                 "\"z2\"},\n"
                 "  {\"name\": \"cpu\", \"cpu_milli\": 0, \"memory_mib\": 0, "
                 "\"nodes_per_rack\": 1}\n"
                 " ]}\n");
    assert_int_equal(allot_cluster_nnodes(c), 12 + 101 + 1);
    assert_int_equal(allot_cluster_ndevices(c), 96 + 1616);
    /* zero-padded to the width of count-1 */
    assert_place(c, "h-00", "z1/b1/r-0");
    assert_place(c, "h-04", "z1/b1/r-0");
    assert_place(c, "h-05", "z1/b1/r-1");
    assert_place(c, "h-11", "z1/b1/r-2");
    assert_place(c, "npu-000", "z2/block-0/rack-0");
    assert_place(c, "npu-100", "z2/block-0/rack-0");
    /* nodes_per_rack without rack: racks "rack-<k>" */
    assert_place(c, "cpu", "zone-0/block-0/rack-0");
    assert_int_equal(allot_cluster_find_node(c, "h-5"), ALLOT_ENOENT);

    /* declared chip types: overrides keep the catalogue's other values and
     * its spelling; new types keep theirs */
    int h = allot_cluster_find_chip(c, "H800");
    assert_true(h >= 0);
    const allot_chip_type *t = allot_cluster_chip(c, (uint32_t)h);
    assert_true(t->cost_per_hour == 1.75);
    assert_true(t->memory_gib == allot_catalog_find("H800")->memory_gib);
    assert_int_equal(t->channel, ALLOT_CHANNEL_LEASED);
    assert_string_equal(t->region, "cn-sh");
    t = allot_cluster_chip(c, (uint32_t)allot_cluster_find_chip(c, "MyNPU"));
    assert_true(t->bf16_tflops == 100.5);
    assert_int_equal(t->nvlink_domain, 16);
    assert_int_equal(t->channel, ALLOT_CHANNEL_CLOUD);
    assert_true(t->cost_per_hour == 0);
    const allot_node *cpu = allot_cluster_node(c, (uint32_t)allot_cluster_find_node(c, "cpu"));
    assert_int_equal(cpu->chip, ALLOT_NO_CHIP);
    assert_int_equal(cpu->ndev, 0);
    allot_cluster_free(c);
}

/* Writes c to memory. Caller frees. */
static char *write_mem(const allot_cluster *c, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    assert_int_equal(allot_spec_write(c, f), 0);
    fclose(f);
    return buf;
}

static void assert_same_cluster(const allot_cluster *a, const allot_cluster *b)
{
    assert_string_equal(allot_cluster_name(a), allot_cluster_name(b));
    assert_int_equal(allot_cluster_nchips(a), allot_cluster_nchips(b));
    for (uint32_t i = 0; i < allot_cluster_nchips(a); i++) {
        const allot_chip_type *x = allot_cluster_chip(a, i), *y = allot_cluster_chip(b, i);
        assert_string_equal(x->name, y->name);
        assert_true(x->memory_gib == y->memory_gib);
        assert_true(x->bf16_tflops == y->bf16_tflops);
        assert_true(x->power_w == y->power_w);
        assert_true(x->cost_per_hour == y->cost_per_hour);
        assert_int_equal(x->nvlink_domain, y->nvlink_domain);
        assert_int_equal(x->channel, y->channel);
        assert_string_equal(x->region, y->region);
    }
    assert_int_equal(allot_cluster_nnodes(a), allot_cluster_nnodes(b));
    assert_int_equal(allot_cluster_ndomains(a), allot_cluster_ndomains(b));
    for (uint32_t i = 0; i < allot_cluster_nnodes(a); i++) {
        const allot_node *x = allot_cluster_node(a, i), *y = allot_cluster_node(b, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->chip, y->chip);
        assert_int_equal(x->ndev, y->ndev);
        assert_int_equal(x->cpu_cap, y->cpu_cap);
        assert_int_equal(x->mem_cap, y->mem_cap);
        char p1[256], p2[256];
        node_place(a, x->name, p1, sizeof p1);
        node_place(b, y->name, p2, sizeof p2);
        assert_string_equal(p1, p2);
    }
}

static void test_write_round_trip(void **state)
{
    (void)state;
    allot_cluster *a = NULL, *b = NULL, *c = NULL;
    allot_diag d;
    assert_int_equal(allot_cluster_load("builtin:sample", ALLOT_NODES_AUTO, &a, &d), 0);
    size_t l1, l2;
    char *t1 = write_mem(a, &l1);
    assert_int_equal(allot_spec_parse(t1, l1, "w1.json", &b, &d), 0);
    assert_same_cluster(a, b);
    char *t2 = write_mem(b, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(t1, t2, l1);
    /* readable: one node per line, two-space indent */
    assert_non_null(strstr(t1, "\n  \"nodes\": [\n    {\"name\": "));

    /* a cluster with fractional and odd attributes and a name to escape */
    c = parse_ok("{\"name\": \"r\", \"chip_types\": [{\"name\": \"X1\", "
                 "\"memory_gib\": 0.1, \"bf16_tflops\": 1e-3, "
                 "\"cost_per_hour\": 123456.789}], \"nodes\": [{\"name\": "
                 "\"n\", \"chip\": \"X1\", \"devices\": 64, \"cpu_milli\": "
                 "100000000, \"memory_mib\": 1073741824}]}");
    char *t3 = write_mem(c, &l1);
    allot_cluster *e = NULL;
    assert_int_equal(allot_spec_parse(t3, l1, "w3.json", &e, &d), 0);
    assert_same_cluster(c, e);
    free(t1);
    free(t2);
    free(t3);
    allot_cluster_free(a);
    allot_cluster_free(b);
    allot_cluster_free(c);
    allot_cluster_free(e);
}

/* A semantic or syntax error case: text, code, line, col, message. */
typedef struct err_case {
    const char *text;
    int err;
    int line, col;
    const char *msg; /* exact */
} err_case;

#define NODE0 "{\"name\": \"n\", \"cpu_milli\": 1000, \"memory_mib\": 1024}"

static const err_case spec_errors[] = {
    /* syntax, from jansson */
    {"{\n  \"name\": \"x\",\n  \"nodes\": [}\n", ALLOT_EPARSE, 3, 13, "unexpected token near '}'"},
    {"{\"name\": \"x\", \"name\": \"y\"}", ALLOT_EPARSE, 1, 20,
     "duplicate object key near '\"name\"'"},
    {"", ALLOT_EPARSE, 1, 0, "'[' or '{' expected near end of file"},
    /* semantic */
    {"[1]", ALLOT_EINVAL, 1, 1, "a cluster spec must be a JSON object"},
    {"{\"name\": \"x\",\n \"nodez\": []}", ALLOT_EINVAL, 2, 2,
     "nodez: unknown key 'nodez' (did you mean 'nodes'?)"},
    {"{\"name\": \"x\", \"zzz\": 1, \"nodes\": [" NODE0 "]}", ALLOT_EINVAL, 1, 15,
     "zzz: unknown key 'zzz' (expected one of: name, description, currency, "
     "chip_types, nodes)"},
    {"{\"nodes\": [" NODE0 "]}", ALLOT_EINVAL, 1, 1, "missing required key 'name'"},
    {"{\"name\": \"a b\", \"nodes\": [" NODE0 "]}", ALLOT_EINVAL, 1, 10,
     "name: may only hold letters, digits and -_.:/+@"},
    {"{\"name\": \"x\"}", ALLOT_EINVAL, 1, 1, "missing required key 'nodes'"},
    {"{\"name\": \"x\", \"nodes\": []}", ALLOT_EINVAL, 1, 24,
     "nodes: must be a non-empty array of node groups"},
    {"{\"name\": \"x\", \"currency\": \"usd\", \"nodes\": [" NODE0 "]}", ALLOT_EINVAL, 1, 27,
     "currency: must be a currency code of 1..8 capital letters, e.g. "
     "\"USD\""},
    {"{\"name\": \"x\", \"nodes\": [\n  " NODE0 ",\n  {\"name\": \"m\", "
     "\"chip\": \"T4\", \"devices\": 65, \"cpu_milli\": 1, \"memory_mib\": "
     "1}]}",
     ALLOT_ERANGE, 3, 42, "nodes[1].devices: must be an integer in 0..64"},
    {"{\"name\": \"x\", \"nodes\": [\n {\"name\": \"m\", \"chip\": \"H80\", "
     "\"devices\": 8, \"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_ENOENT, 2, 24,
     "nodes[0].chip: unknown chip type 'H80' (declare it in chip_types or "
     "use a name from the built-in catalogue)"},
    {"{\"name\": \"x\", \"nodes\": [\n {\"name\": \"m\", \"devcies\": 8, "
     "\"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_EINVAL, 2, 16, "nodes[0].devcies: unknown key 'devcies' (did you mean 'devices'?)"},
    {"{\"name\": \"x\", \"nodes\": [\n " NODE0 ",\n " NODE0 "]}", ALLOT_EEXIST, 3, 11,
     "nodes[1].name: duplicate node name 'n' (already made by an earlier "
     "group)"},
    {"{\"name\": \"x\", \"nodes\": [\n {\"name\": \"a\", \"count\": 2, "
     "\"cpu_milli\": 1, \"memory_mib\": 1},\n {\"name\": \"a-1\", "
     "\"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_EEXIST, 3, 11,
     "nodes[1].name: duplicate node name 'a-1' (already made by an earlier "
     "group)"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"devices\": 2, "
     "\"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_EINVAL, 1, 50,
     "nodes[0].devices: must be 0 for a CPU-only group (set 'chip' to give "
     "the group devices)"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"chip\": \"T4\", "
     "\"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_EINVAL, 1, 25,
     "nodes[0]: missing required key 'devices' (a group with a chip needs "
     "1..64 devices)"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"count\": 0, "
     "\"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_ERANGE, 1, 48, "nodes[0].count: must be an integer in 1..1000000"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"cpu_milli\": \"8\", "
     "\"memory_mib\": 1}]}",
     ALLOT_EINVAL, 1, 52, "nodes[0].cpu_milli: must be an integer in 0..100000000"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"cpu_milli\": 1.5, "
     "\"memory_mib\": 1}]}",
     ALLOT_EINVAL, 1, 52, "nodes[0].cpu_milli: must be an integer in 0..100000000"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"cpu_milli\": 1}]}", ALLOT_EINVAL, 1, 25,
     "nodes[0]: missing required key 'memory_mib'"},
    {"{\"name\": \"x\", \"nodes\": [7]}", ALLOT_EINVAL, 1, 25, "nodes[0]: must be an object"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": "
     "\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghija\", "
     "\"count\": 100, \"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_EINVAL, 1, 34,
     "nodes[0].name: too long: "
     "'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghija-00' would "
     "exceed 63 bytes"},
    {"{\"name\": \"x\", \"chip_types\": [{\"name\": \"T4\", \"channel\": "
     "\"rented\"}], \"nodes\": [" NODE0 "]}",
     ALLOT_EINVAL, 1, 56, "chip_types[0].channel: must be \"owned\", \"leased\" or \"cloud\""},
    {"{\"name\": \"x\", \"chip_types\": [{\"name\": \"T4\"}, {\"name\": "
     "\"t4\"}], \"nodes\": [" NODE0 "]}",
     ALLOT_EEXIST, 1, 55, "chip_types[1].name: chip type 'T4' is declared twice"},
    {"{\"name\": \"x\", \"chip_types\": [{\"name\": \"T4\", \"power_w\": -1}],"
     " \"nodes\": [" NODE0 "]}",
     ALLOT_ERANGE, 1, 56, "chip_types[0].power_w: must be a number in 0..1e+07"},
    {"{\"name\": \"x\", \"chip_types\": {}, \"nodes\": [" NODE0 "]}", ALLOT_EINVAL, 1, 29,
     "chip_types: must be an array of chip types"},
    /* a key a path cannot spell is reported on its object */
    {"{\"name\": \"x\", \"nodes\": [{\"a.b\": 1}]}", ALLOT_EINVAL, 1, 25,
     "nodes[0]: unknown key 'a.b' (expected one of: name, count, chip, "
     "devices, cpu_milli, memory_mib, zone, block, rack, nodes_per_rack)"},
    {"{\"name\": \"x\", \"\\n\": 1}", ALLOT_EINVAL, 1, 1,
     "unknown key '?' (expected one of: name, description, currency, "
     "chip_types, nodes)"},
    /* columns count characters, not bytes, like jansson */
    {"{\"description\": \"h\xc3\xa9llo \xe2\x82\xac\", \"name\": 5, \"nodes\": "
     "[]}",
     ALLOT_EINVAL, 1, 36, "name: must be a string"},
    /* keys with escapes are found */
    {"{\"name\": \"x\", \"n\\u006fdes\": [{\"name\": \"m\", \"cpu_milli\": -1,"
     " \"memory_mib\": 1}]}",
     ALLOT_ERANGE, 1, 57,
     "nodes[0].cpu_milli: must be an integer in "
     "0..100000000"},
    {"{\"name\": \"x\", \"nodes\": [{\"name\": \"m\", \"nodes_per_rack\": 0, "
     "\"cpu_milli\": 1, \"memory_mib\": 1}]}",
     ALLOT_ERANGE, 1, 57, "nodes[0].nodes_per_rack: must be an integer in 1..1000000"},
};

static void test_spec_errors(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof spec_errors / sizeof spec_errors[0]; i++) {
        const err_case *e = &spec_errors[i];
        allot_cluster *c = NULL;
        allot_diag d;
        memset(&d, 0, sizeof d);
        int rc = allot_spec_parse(e->text, strlen(e->text), "t.json", &c, &d);
        if (rc != e->err || d.line != e->line || d.col != e->col || strcmp(d.msg, e->msg) != 0)
            print_error("case %zu: got %d %d:%d '%s', want %d %d:%d '%s'\n", i, rc, d.line, d.col,
                        d.msg, e->err, e->line, e->col, e->msg),
                bad++;
        assert_null(c);
        assert_string_equal(d.file, "t.json");
    }
    assert_int_equal(bad, 0);
}

static void test_diag_format(void **state)
{
    (void)state;
    const char *text = "{\"name\": \"x\", \"nodes\": [\n  {\"name\": \"m\", "
                       "\"chip\": \"T4\", \"devices\": 65, \"cpu_milli\": 1, "
                       "\"memory_mib\": 1}]}";
    allot_cluster *c = NULL;
    allot_diag d;
    assert_int_equal(allot_spec_parse(text, strlen(text), "fleet.json", &c, &d), ALLOT_ERANGE);
    char b[600];
    allot_diag_format(&d, b, sizeof b);
    assert_string_equal(b, "fleet.json:2:42: nodes[0].devices: must be an integer in 0..64");
}

static void test_json_locate(void **state)
{
    (void)state;
    const char *t = "{\"a\\\"b\": 1,\n \"x\": [ \"s]\\\"{\", {\"k\": [1, "
                    "{\"z\": true}]}, null ],\n \"nodes\": [{}, {\"devices\": "
                    "8}]}";
    size_t n = strlen(t);
    int line = 0, col = 0;
    assert_int_equal(allot_json_locate(t, n, "", &line, &col), 0);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    assert_int_equal(allot_json_locate(t, n, "x[1].k", &line, &col), 0);
    assert_int_equal(line, 2);
    assert_int_equal(col, 24);
    assert_int_equal(allot_json_locate(t, n, "x[1].k[1].z", &line, &col), 0);
    assert_int_equal(col, 34);
    assert_int_equal(allot_json_locate(t, n, "x[2]", &line, &col), 0);
    assert_int_equal(col, 43);
    assert_int_equal(allot_json_locate(t, n, "nodes[1].devices", &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 28);
    assert_int_equal(allot_json_locate(t, n, "nodes[1]", &line, &col), 0);
    assert_int_equal(col, 16);
    assert_int_equal(allot_json_locate(t, n, "nodes[2]", &line, &col), ALLOT_ENOENT);
    assert_int_equal(allot_json_locate(t, n, "nodes[0].devices", &line, &col), ALLOT_ENOENT);
    assert_int_equal(allot_json_locate(t, n, "x.k", &line, &col), ALLOT_ENOENT);
    assert_int_equal(allot_json_locate(t, n, "x[", &line, &col), ALLOT_ENOENT);
    assert_int_equal(allot_json_locate(t, n, "x[1", &line, &col), ALLOT_ENOENT);
    assert_int_equal(allot_json_locate(t, n, "zz", &line, &col), ALLOT_ENOENT);
    /* truncated or broken text never crashes */
    for (size_t k = 0; k < n; k++) (void)allot_json_locate(t, k, "nodes[1].devices", &line, &col);
    assert_int_equal(allot_json_locate("", 0, "", &line, &col), ALLOT_ENOENT);
    assert_int_equal(allot_json_locate("{\"a\": \"\\q\"}", 11, "b", &line, &col), ALLOT_ENOENT);
}

/* ---- trace node lists and detection ---------------------------------------- */

static allot_cluster *load_buf_ok(const char *text, allot_nodes_format fmt)
{
    allot_cluster *c = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_cluster_load_buf(text, strlen(text), "list.csv", fmt, &c, &d);
    if (rc != 0) {
        char b[800];
        allot_diag_format(&d, b, sizeof b);
        fail_msg("unexpected error %d: %s", rc, b);
    }
    return c;
}

static void expect_load_error(const char *text, allot_nodes_format fmt, int err,
                              const char *formatted)
{
    allot_cluster *c = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_cluster_load_buf(text, strlen(text), "list.csv", fmt, &c, &d);
    char b[800];
    allot_diag_format(&d, b, sizeof b);
    if (rc != err || strcmp(b, formatted) != 0)
        fail_msg("got %d '%s', want %d '%s'", rc, b, err, formatted);
    assert_null(c);
}

static void test_openb_nodes(void **state)
{
    (void)state;
    char text[4096] = "sn,cpu_milli,memory_mib,gpu,model\n";
    size_t n = strlen(text);
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "openb-node-%04d,96000,393216,%d,%s\n", i,
                              i == 16 ? 0 : 8, i == 16 ? "" : "G2");
    allot_cluster *c = load_buf_ok(text, ALLOT_NODES_AUTO);
    assert_string_equal(allot_cluster_name(c), "list");
    assert_int_equal(allot_cluster_nnodes(c), 17);
    assert_int_equal(allot_cluster_ndevices(c), 128);
    assert_place(c, "openb-node-0000", "zone-0/block-0/rack-0");
    assert_place(c, "openb-node-0015", "zone-0/block-0/rack-0");
    assert_place(c, "openb-node-0016", "zone-0/block-0/rack-1");
    const allot_node *cpu = allot_cluster_node(c, 16);
    assert_int_equal(cpu->chip, ALLOT_NO_CHIP);
    /* G2 is not in the catalogue: unknown attributes */
    const allot_chip_type *g2 = allot_cluster_chip(c, 0);
    assert_string_equal(g2->name, "G2");
    assert_true(g2->memory_gib == 0);
    allot_cluster_free(c);

    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\n"
                      "a,1000,1024,1,T4\nb,12x,1024,1,T4\n",
                      ALLOT_NODES_AUTO, ALLOT_EPARSE,
                      "list.csv:3:3: column 'cpu_milli': expected an integer "
                      "in 0..100000000, got '12x'");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1000,1024,2,\n", ALLOT_NODES_AUTO,
                      ALLOT_EINVAL,
                      "list.csv:2:15: column 'model': a node with 2 devices "
                      "needs a device model (got '')");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1000,1024,0,T4\n", ALLOT_NODES_AUTO,
                      ALLOT_EINVAL,
                      "list.csv:2:13: column 'gpu': model 'T4' given but the "
                      "node has 0 devices");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1000,1024,65,T4\n", ALLOT_NODES_AUTO,
                      ALLOT_ERANGE,
                      "list.csv:2:13: column 'gpu': integer out of range: "
                      "expected 0..64, got '65'");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1,1,1,T4\n"
                      "a,1,1,1,T4\n",
                      ALLOT_NODES_AUTO, ALLOT_EEXIST,
                      "list.csv:3:1: column 'sn': duplicate node name 'a'");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1,1,1\n", ALLOT_NODES_AUTO,
                      ALLOT_EPARSE,
                      "list.csv:2:8: expected 5 fields, got 4 (missing "
                      "field)");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1,1,1,T4,x\n", ALLOT_NODES_AUTO,
                      ALLOT_EPARSE, "list.csv:2:12: expected 5 fields, got 6 (extra field)");
    expect_load_error("sn,cpu_milli,memory_mib,gpu\na,1,1,1\n", ALLOT_NODES_OPENB, ALLOT_EPARSE,
                      "list.csv:1:1: header lacks the column 'model'");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\n", ALLOT_NODES_AUTO, ALLOT_EPARSE,
                      "list.csv:2:1: node list has no nodes");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\nbad name,1,1,0,\n", ALLOT_NODES_AUTO,
                      ALLOT_EINVAL,
                      "list.csv:2:1: column 'sn': a name may only hold "
                      "letters, digits and -_.:/+@");
    expect_load_error("sn,cpu_milli,memory_mib,gpu,model\na,1,1,1,\"T4\n", ALLOT_NODES_AUTO,
                      ALLOT_EPARSE,
                      "list.csv:2:9: unterminated quoted field (missing "
                      "closing '\"')");
}

static void test_pai_nodes(void **state)
{
    (void)state;
    allot_cluster *c = load_buf_ok("7399a758eb02bae1a3621236,CPU,96,512,0\n"
                                   "0123456789abcdef01234567,P100,64,512,2\n"
                                   "0123456789abcdef0123456a,MISC,96,512,8\n",
                                   ALLOT_NODES_AUTO);
    assert_int_equal(allot_cluster_nnodes(c), 3);
    assert_int_equal(allot_cluster_ndevices(c), 10);
    const allot_node *n = allot_cluster_node(c, 0);
    assert_string_equal(n->name, "7399a758eb02bae1a3621236");
    assert_int_equal(n->chip, ALLOT_NO_CHIP);
    assert_int_equal(n->cpu_cap, 96000);
    assert_int_equal(n->mem_cap, 512 * 1024);
    n = allot_cluster_node(c, 1);
    assert_string_equal(allot_cluster_chip(c, n->chip)->name, "P100");
    n = allot_cluster_node(c, 2);
    assert_string_equal(allot_cluster_chip(c, n->chip)->name, "MISC");
    allot_cluster_free(c);

    expect_load_error("7399a758eb02bae1a3621236,CPU,96,512,0\n"
                      "0123456789abcdef01234567,P100,64,5x2,2\n",
                      ALLOT_NODES_AUTO, ALLOT_EPARSE,
                      "list.csv:2:34: column 'cap_mem': expected an integer "
                      "in 0..1048576, got '5x2'");
    expect_load_error("7399a758eb02bae1a3621236,CPU,96,512,2\n", ALLOT_NODES_PAI2020, ALLOT_EINVAL,
                      "list.csv:1:26: column 'gpu_type': a node with 2 "
                      "devices needs a device model (got 'CPU')");
}

static void test_spot_nodes(void **state)
{
    (void)state;
    allot_cluster *c = load_buf_ok("gpu_model,gpu_capacity_num,cpu_num,"
                                   "node_name\r\nGPU-series-1,4,192,0\r\n"
                                   "A10,1,128,2\r\n",
                                   ALLOT_NODES_AUTO);
    assert_int_equal(allot_cluster_nnodes(c), 2);
    assert_int_equal(allot_cluster_ndevices(c), 5);
    int id = allot_cluster_find_node(c, "spot-2");
    assert_true(id >= 0);
    const allot_node *n = allot_cluster_node(c, (uint32_t)id);
    assert_int_equal(n->cpu_cap, 128000);
    assert_int_equal(n->mem_cap, 128 * 8192); /* 8 GiB per vCPU */
    assert_string_equal(allot_cluster_chip(c, n->chip)->name, "A10");
    allot_cluster_free(c);
    expect_load_error("gpu_model,gpu_capacity_num,cpu_num,node_name\n"
                      "A10,1,-128,2\n",
                      ALLOT_NODES_AUTO, ALLOT_ERANGE,
                      "list.csv:2:7: column 'cpu_num': integer out of range: "
                      "expected 0..131072, got '-128'");
}

static void test_detect(void **state)
{
    (void)state;
    allot_cluster *c =
        load_buf_ok("\n  {\"name\": \"j\", \"nodes\": [" NODE0 "]}", ALLOT_NODES_AUTO);
    assert_string_equal(allot_cluster_name(c), "j");
    allot_cluster_free(c);
    expect_load_error("hello,world\n1,2\n", ALLOT_NODES_AUTO, ALLOT_EPARSE,
                      "list.csv:1:1: unrecognised cluster format: expected a "
                      "JSON spec (starting with '{'), an openb node list "
                      "(header 'sn,cpu_milli,memory_mib,gpu,model'), a PAI "
                      "2020 machine list (5 fields, no header) or a spot node "
                      "list (header 'gpu_model,gpu_capacity_num,cpu_num,"
                      "node_name')");
    expect_load_error("", ALLOT_NODES_AUTO, ALLOT_EPARSE,
                      "list.csv:1:1: unrecognised cluster format: expected a "
                      "JSON spec (starting with '{'), an openb node list "
                      "(header 'sn,cpu_milli,memory_mib,gpu,model'), a PAI "
                      "2020 machine list (5 fields, no header) or a spot node "
                      "list (header 'gpu_model,gpu_capacity_num,cpu_num,"
                      "node_name')");
    /* a PAI-looking line with 4 fields is not PAI */
    expect_load_error("7399a758eb02bae1a3621236,CPU,96,512\n", ALLOT_NODES_AUTO, ALLOT_EPARSE,
                      "list.csv:1:1: unrecognised cluster format: expected a "
                      "JSON spec (starting with '{'), an openb node list "
                      "(header 'sn,cpu_milli,memory_mib,gpu,model'), a PAI "
                      "2020 machine list (5 fields, no header) or a spot node "
                      "list (header 'gpu_model,gpu_capacity_num,cpu_num,"
                      "node_name')");
    /* an explicit format overrides detection */
    expect_load_error("name,x\n", ALLOT_NODES_OPENB, ALLOT_EPARSE,
                      "list.csv:1:1: header lacks the column 'sn'");
}

static void test_load_files(void **state)
{
    (void)state;
    allot_cluster *c = NULL;
    allot_diag d;
    char b[800];
    assert_int_equal(allot_cluster_load("/nonexistent/fleet.json", ALLOT_NODES_AUTO, &c, &d),
                     ALLOT_ENOENT);
    allot_diag_format(&d, b, sizeof b);
    assert_string_equal(b, "/nonexistent/fleet.json: cannot open: No such "
                           "file or directory");

    /* errors name the file */
    char *path = tu_tmpfile(".json", "{\"name\": \"x\",\n \"nodes\": 3}");
    assert_int_equal(allot_cluster_load(path, ALLOT_NODES_AUTO, &c, &d), ALLOT_EINVAL);
    assert_string_equal(d.file, path);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 11);
    unlink(path);
    free(path);

    /* .zst specs are decompressed */
    const char *spec = "{\"name\": \"z\", \"nodes\": [" NODE0 "]}";
    char zbuf[512];
    size_t zl = ZSTD_compress(zbuf, sizeof zbuf, spec, strlen(spec), 1);
    assert_false(ZSTD_isError(zl));
    char tmpl[] = "/tmp/allot-test-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, zbuf, zl), (ssize_t)zl);
    close(fd);
    char zpath[64];
    snprintf(zpath, sizeof zpath, "%s.json.zst", tmpl);
    assert_int_equal(rename(tmpl, zpath), 0);
    assert_int_equal(allot_cluster_load(zpath, ALLOT_NODES_AUTO, &c, &d), 0);
    assert_string_equal(allot_cluster_name(c), "z");
    allot_cluster_free(c);
    unlink(zpath);
}

static void test_sample_fleet(void **state)
{
    (void)state;
    allot_cluster *c = NULL;
    allot_diag d;
    const char *s = allot_sample_fleet_json();
    assert_non_null(s);
    assert_true(s[0] == '{');
    assert_int_equal(allot_cluster_load("builtin:sample", ALLOT_NODES_AUTO, &c, &d), 0);
    assert_int_equal(allot_cluster_nnodes(c), 88);
    assert_int_equal(allot_cluster_ndevices(c), 464);
    int zones = 0, blocks = 0, racks = 0;
    for (uint32_t i = 0; i < allot_cluster_ndomains(c); i++) {
        int lv = allot_cluster_domain(c, i)->level;
        zones += lv == ALLOT_LEVEL_ZONE;
        blocks += lv == ALLOT_LEVEL_BLOCK;
        racks += lv == ALLOT_LEVEL_RACK;
    }
    assert_int_equal(zones, 2);
    assert_int_equal(blocks, 3);
    assert_true(racks >= 8);
    /* every chip type is a known catalogue chip with attributes */
    for (uint32_t i = 0; i < allot_cluster_nchips(c); i++) {
        const allot_chip_type *t = allot_cluster_chip(c, i);
        assert_non_null(allot_catalog_find(t->name));
        assert_true(t->memory_gib > 0);
        assert_true(t->cost_per_hour > 0);
    }
    assert_true(allot_cluster_find_chip(c, "Ascend-910B") >= 0);
    char msg[256];
    assert_int_equal(allot_cluster_check(c, msg, sizeof msg), 0);
    allot_cluster_free(c);
}

/* ---- the real trace node lists (skipped without ../shared/traces) ---------- */

static void load_trace(const char *rel, allot_nodes_format fmt, uint32_t nodes, uint32_t devs)
{
    const char *dir = tu_traces_dir();
    if (!dir) {
        skip();
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (access(path, R_OK) != 0) {
        skip();
        return;
    }
    allot_cluster *c = NULL;
    allot_diag d;
    int rc = allot_cluster_load(path, fmt, &c, &d);
    if (rc != 0) {
        char b[800];
        allot_diag_format(&d, b, sizeof b);
        fail_msg("%s", b);
    }
    assert_int_equal(allot_cluster_nnodes(c), nodes);
    assert_int_equal(allot_cluster_ndevices(c), devs);
    char msg[256];
    assert_int_equal(allot_cluster_check(c, msg, sizeof msg), 0);
    /* the JSON form of a trace fleet reads back the same */
    size_t len;
    char *t = write_mem(c, &len);
    allot_cluster *b = NULL;
    assert_int_equal(allot_spec_parse(t, len, "rt.json", &b, &d), 0);
    assert_same_cluster(c, b);
    free(t);
    allot_cluster_free(b);
    allot_cluster_free(c);
}

static void test_trace_openb(void **state)
{
    (void)state;
    load_trace("alibaba-openb-gpu-2023/csv/openb_node_list_gpu_node.csv", ALLOT_NODES_AUTO, 1213,
               6212);
}

static void test_trace_openb_all(void **state)
{
    (void)state;
    load_trace("alibaba-openb-gpu-2023/csv/openb_node_list_all_node.csv", ALLOT_NODES_OPENB, 1523,
               6212);
}

static void test_trace_pai(void **state)
{
    (void)state;
    load_trace("alibaba-pai-gpu-2020/pai_machine_spec.csv", ALLOT_NODES_AUTO, 1897, 6742);
}

static void test_trace_spot(void **state)
{
    (void)state;
    load_trace("alibaba-spot-gpu-2026/node_info_df.csv", ALLOT_NODES_AUTO, 4278, 10412);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),          cmocka_unit_test(test_groups_and_racks),
        cmocka_unit_test(test_write_round_trip), cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_diag_format),      cmocka_unit_test(test_json_locate),
        cmocka_unit_test(test_openb_nodes),      cmocka_unit_test(test_pai_nodes),
        cmocka_unit_test(test_spot_nodes),       cmocka_unit_test(test_detect),
        cmocka_unit_test(test_load_files),       cmocka_unit_test(test_sample_fleet),
        cmocka_unit_test(test_trace_openb),      cmocka_unit_test(test_trace_openb_all),
        cmocka_unit_test(test_trace_pai),        cmocka_unit_test(test_trace_spot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
