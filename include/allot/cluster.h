/* allot/cluster.h - the cluster model: chip catalogue, topology, nodes, devices.
 *
 * A cluster is built once (builder calls), then frozen with
 * allot_cluster_finalize(); after that only capacity changes (allocate,
 * release, node state) are allowed. Everything is stored in flat arrays
 * indexed by dense ids so that hot loops touch plain memory.
 *
 * Topology: zone > block > rack > node > device. Every domain (zone, block,
 * rack) keeps aggregated free capacity per chip type, so a placement can find
 * the smallest domain that fits without scanning nodes. The aggregates are
 * updated incrementally on every allocation and checked by
 * allot_cluster_check().
 *
 * Units: CPU in milli-cores, memory in MiB, device capacity in milli-devices
 * (1000 = one whole device), power in W, money per hour in the catalogue's
 * currency.
 */
#ifndef ALLOT_CLUSTER_H
#define ALLOT_CLUSTER_H

#include <stdint.h>
#include <stddef.h>

#include "allot/err.h"

#define ALLOT_MILLI             1000    /* milli-devices in one whole device */
#define ALLOT_MAX_DEVS_PER_NODE 64      /* hard cap on devices per node */
#define ALLOT_MAX_CHIP_TYPES    64      /* chip-type masks are uint64_t */
#define ALLOT_NAME_MAX          64      /* longest name, including the NUL */
#define ALLOT_NO_CHIP           0xFFFFu /* chip id of a CPU-only node */

typedef uint64_t allot_chip_mask; /* bit i = chip type i allowed; 0 = any */

typedef enum allot_channel {
    ALLOT_CHANNEL_OWNED = 0, /* bought: capex amortised + power */
    ALLOT_CHANNEL_LEASED,    /* rented by the hour */
    ALLOT_CHANNEL_CLOUD,     /* on-demand from a provider */
} allot_channel;

typedef struct allot_chip_type {
    char name[ALLOT_NAME_MAX];   /* model name, e.g. "H800" */
    double memory_gib;           /* device memory, GiB; 0 = unknown */
    double bf16_tflops;          /* dense bf16 TFLOP/s; 0 = unknown */
    double power_w;              /* board power, W; 0 = unknown */
    int32_t nvlink_domain;       /* devices per NVLink/HCCS domain; 0 = none */
    double cost_per_hour;        /* per device per hour; 0 = unknown */
    allot_channel channel;       /* supply channel */
    char region[ALLOT_NAME_MAX]; /* where it lives/leased from; "" = local */
} allot_chip_type;

/* Built-in catalogue of well-known accelerators (public figures). Returns
 * NULL if the name is unknown. Lookup is case-insensitive. */
const allot_chip_type *allot_catalog_find(const char *name);
size_t allot_catalog_count(void);
const allot_chip_type *allot_catalog_at(size_t i);

typedef enum allot_node_state {
    ALLOT_NODE_UP = 0,
    ALLOT_NODE_DRAINING, /* runs what it has, takes nothing new */
    ALLOT_NODE_DOWN,     /* lost; its allocations are gone */
} allot_node_state;

typedef enum allot_level {
    ALLOT_LEVEL_ZONE = 0,
    ALLOT_LEVEL_BLOCK = 1,
    ALLOT_LEVEL_RACK = 2,
} allot_level;

/* One topology domain (zone, block or rack). */
typedef struct allot_domain {
    char name[ALLOT_NAME_MAX];
    uint32_t parent; /* domain id of the parent; UINT32_MAX for zones */
    uint8_t level;   /* allot_level */
    uint32_t nnodes; /* nodes directly or indirectly below */
} allot_domain;

/* Per-domain, per-chip-type aggregate of free capacity (nodes UP only). */
typedef struct allot_agg {
    int64_t free_milli; /* sum of free milli over devices */
    int32_t free_whole; /* devices with all 1000 milli free */
    int32_t devices;    /* devices of this chip type below (UP nodes) */
} allot_agg;

typedef struct allot_node {
    char name[ALLOT_NAME_MAX];
    uint32_t rack;      /* domain id of the rack */
    uint16_t chip;      /* chip type id; ALLOT_NO_CHIP if CPU-only */
    uint8_t ndev;       /* devices on the node */
    uint8_t state;      /* allot_node_state */
    uint32_t dev0;      /* index of device 0 in allot_cluster.dev_free */
    int64_t cpu_cap;    /* milli-cores */
    int64_t cpu_free;   /* milli-cores */
    int64_t mem_cap;    /* MiB */
    int64_t mem_free;   /* MiB */
    int32_t milli_free; /* sum of free milli over the node's devices */
    int32_t whole_free; /* devices with 1000 milli free */
    uint32_t version;   /* bumped on every capacity change */
    uint32_t ntasks;    /* tasks currently placed here */
} allot_node;

typedef struct allot_cluster allot_cluster;

/* The name rule for nodes, domains and chip types in specs and traces: 1..63
 * bytes of letters, digits and "-_.:/+@". Returns NULL if s[0..len) obeys
 * it, else what is wrong ("must not be empty", ...). */
const char *allot_name_problem(const char *s, size_t len);

/* ---- building ---------------------------------------------------------- */

allot_cluster *allot_cluster_new(const char *name);
void allot_cluster_free(allot_cluster *c); /* accepts NULL */

/* Adds a chip type (copied). If a type of that name exists it is replaced by
 * the new attributes. Allowed after finalize too (a new type then has no
 * devices). Returns the id (>= 0) or a negative error. */
int allot_cluster_add_chip(allot_cluster *c, const allot_chip_type *t);
/* Finds a chip type by name (case-sensitive) or, if absent and the name is in
 * the built-in catalogue, adds it from there; if unknown everywhere, adds a
 * type with unknown attributes. Returns the id or a negative error. */
int allot_cluster_chip_id(allot_cluster *c, const char *name);
/* Finds without adding; returns the id or ALLOT_ENOENT. */
int allot_cluster_find_chip(const allot_cluster *c, const char *name);

/* Returns the domain id for zone/block/rack names, creating missing levels.
 * NULL or "" names default to "zone-0", "block-0", "rack-0". */
int allot_cluster_rack(allot_cluster *c, const char *zone, const char *block, const char *rack);

/* Adds a node. chip may be NULL or "" for a CPU-only node (ndev must be 0).
 * Returns the node id or a negative error (EINVAL, ELIMIT, EEXIST for a
 * duplicate name). */
int allot_cluster_add_node(allot_cluster *c, const char *name, const char *chip, int ndev,
                           int64_t cpu_milli, int64_t mem_mib, uint32_t rack);

/* Freezes the shape: builds aggregates. Must be called once before use. */
int allot_cluster_finalize(allot_cluster *c);

/* ---- reading ------------------------------------------------------------ */

const char *allot_cluster_name(const allot_cluster *c);
uint32_t allot_cluster_nnodes(const allot_cluster *c);
uint32_t allot_cluster_ndomains(const allot_cluster *c);
uint32_t allot_cluster_nchips(const allot_cluster *c);
uint32_t allot_cluster_ndevices(const allot_cluster *c);
const allot_node *allot_cluster_node(const allot_cluster *c, uint32_t id);
allot_node *allot_cluster_nodes(allot_cluster *c); /* array of nnodes */
const allot_domain *allot_cluster_domain(const allot_cluster *c, uint32_t id);
const allot_chip_type *allot_cluster_chip(const allot_cluster *c, uint32_t id);
/* Free milli of every device, indexed by node.dev0 + i. */
const int16_t *allot_cluster_dev_free(const allot_cluster *c);
/* Aggregate of domain d for chip type k. */
const allot_agg *allot_cluster_agg(const allot_cluster *c, uint32_t d, uint32_t k);
/* Cluster-wide totals of UP nodes. */
int64_t allot_cluster_total_milli(const allot_cluster *c); /* capacity */
int64_t allot_cluster_free_milli(const allot_cluster *c);
int64_t allot_cluster_total_cpu(const allot_cluster *c);
/* Node id by name, or a negative error. O(1) average. */
int allot_cluster_find_node(const allot_cluster *c, const char *name);
/* Chip-type mask from a '|'-separated list of names ("" = any). Unknown names
 * are an error unless add_unknown (then they are added to the cluster). */
int allot_cluster_chip_mask(allot_cluster *c, const char *list, allot_chip_mask *out,
                            int add_unknown);

/* ---- changing capacity --------------------------------------------------- */

/* Takes capacity on one node: cpu, mem, and milli on each listed device.
 * devs holds ndevs device indexes local to the node. Fails with ENOFIT
 * without changing anything if any part does not fit. */
int allot_cluster_take(allot_cluster *c, uint32_t node, const uint8_t *devs, int ndevs,
                       int32_t milli, int64_t cpu, int64_t mem);
/* Gives back what allot_cluster_take took. */
int allot_cluster_give(allot_cluster *c, uint32_t node, const uint8_t *devs, int ndevs,
                       int32_t milli, int64_t cpu, int64_t mem);
/* Changes a node's state. Going DOWN resets its free capacity to full (the
 * caller, the scheduler, forgets the tasks that were on it). */
int allot_cluster_set_state(allot_cluster *c, uint32_t node, allot_node_state st);

/* Verifies every invariant: no device over-committed or negative, node sums
 * equal their devices, every aggregate equals the sum below it. Returns 0 or
 * EINVARIANT with a description in msg. O(nodes x chip types). */
int allot_cluster_check(const allot_cluster *c, char *msg, size_t msglen);

/* Deep copy of the whole cluster including current free capacity. */
allot_cluster *allot_cluster_clone(const allot_cluster *c);

#endif
