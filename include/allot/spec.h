/* allot/spec.h - cluster specs: the JSON format and readers of trace node
 * lists that turn public inventories into clusters.
 *
 * The JSON schema is documented in docs/cluster-spec.md. Errors point at the
 * offending element as file:line:column.
 */
#ifndef ALLOT_SPEC_H
#define ALLOT_SPEC_H

#include <stdio.h>

#include "allot/cluster.h"
#include "allot/err.h"

#define ALLOT_SPEC_MAX_BYTES (64u << 20) /* refuse larger spec files */
#define ALLOT_SPEC_MAX_NODES 1000000     /* refuse larger fleets */

/* Parses a JSON cluster spec held in buf (file names diagnostics). Returns a
 * finalized cluster in *out, or an error with d filled. */
int allot_spec_parse(const char *buf, size_t len, const char *file, allot_cluster **out,
                     allot_diag *d);

/* Writes a cluster as a JSON spec: every chip type, then every node
 * explicitly (count 1) in node-id order. Parsing it back gives the same
 * cluster. */
int allot_spec_write(const allot_cluster *c, FILE *f);

/* Node-list formats of public traces. */
typedef enum allot_nodes_format {
    ALLOT_NODES_AUTO = 0, /* guess from the header / content */
    ALLOT_NODES_JSON,     /* our spec */
    ALLOT_NODES_OPENB,    /* Alibaba openb node list (sn,cpu_milli,...) */
    ALLOT_NODES_PAI2020,  /* PAI 2020 machine spec, no header */
    ALLOT_NODES_SPOT2026, /* spot GPU node_info_df.csv */
} allot_nodes_format;

/* Loads a cluster from a file in any supported format. Built-in names:
 * "builtin:sample" is the bundled sample fleet; "builtin:philly" the fleet
 * sized for the Philly trace (docs/workloads.md). */
int allot_cluster_load(const char *path, allot_nodes_format fmt, allot_cluster **out,
                       allot_diag *d);

/* Same, from a buffer. */
int allot_cluster_load_buf(const char *buf, size_t len, const char *file, allot_nodes_format fmt,
                           allot_cluster **out, allot_diag *d);

/* The bundled sample fleet as JSON text (embedded at build time). */
const char *allot_sample_fleet_json(void);
/* The bundled Philly fleet (data/philly-fleet.json) as JSON text. */
const char *allot_philly_fleet_json(void);

/* Finds the byte position (1-based line and column) of the JSON value at a
 * path such as "nodes[3].devices" in text. Returns 0 and fills line/col, or
 * ENOENT. Used to point semantic errors at their source. */
int allot_json_locate(const char *text, size_t len, const char *path, int *line, int *col);

#endif
