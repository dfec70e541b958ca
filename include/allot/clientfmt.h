/* allot/clientfmt.h - what the client commands (allot submit, jobs, nodes,
 * tenants) compute and print without talking to the server: the time-limit
 * parser, duration formatting, --env parsing and the tables. In the library
 * (src/client/fmt.c) so that the unit tests can call it.
 */
#ifndef ALLOT_CLIENTFMT_H
#define ALLOT_CLIENTFMT_H

#include <stddef.h>

#include <jansson.h>

/* Longest time limit accepted: 365 days. */
#define ALLOT_FMT_MAX_DURATION (365LL * 86400)

/* Parses a time limit into whole seconds (1..ALLOT_FMT_MAX_DURATION):
 *   "90"          seconds (a bare number is seconds, unlike Slurm's minutes)
 *   "30s" "30m" "1h" "2d", combined largest unit first: "1h30m", "1d12h"
 *   "MM:SS"       e.g. "5:00" = 300
 *   "H:MM:SS"     e.g. "1:30:00" = 5400
 *   "D-HH[:MM[:SS]]"  Slurm's day form, e.g. "2-12" = 2.5 days, "1-00:30:00"
 * Minutes and seconds after a colon must be 0..59 (two digits). Returns 0, or
 * ALLOT_EINVAL (empty, junk, zero, negative, too long, out of range). */
int allot_fmt_parse_duration(const char *s, long long *secs);

/* Formats a duration like squeue: "0:05", "12:34", "1:02:03", "2-03:04:05".
 * Fractions are dropped; a negative or NaN value prints "-". Returns buf. */
const char *allot_fmt_duration(double secs, char *buf, size_t len);

/* Splits "KEY=VALUE" for --env. KEY must be [A-Za-z_][A-Za-z0-9_]* (at most
 * 255 bytes); VALUE may be empty and may contain '='. On success copies KEY
 * into key and points *value into kv; returns 0, else ALLOT_EINVAL. */
int allot_fmt_parse_env(const char *kv, char *key, size_t keylen, const char **value);

/* ---- tables ------------------------------------------------------------------ */

/* A text table: a header row, then rows of cells; columns are as wide as their
 * widest cell (counted in UTF-8 characters), separated by two spaces; 'L'
 * columns are left-aligned, 'R' right-aligned; the last column is not padded
 * and no line has trailing blanks. NULL cells print "-". */
typedef struct allot_table allot_table;

/* ncols headers; align is a string of ncols 'L'/'R' (NULL: all left).
 * Returns NULL on allocation failure. */
allot_table *allot_table_new(int ncols, const char *const *headers, const char *align);
/* Appends a row of ncols cells (copied). Returns 0 or ALLOT_ENOMEM. */
int allot_table_add(allot_table *t, const char *const *cells);
size_t allot_table_rows(const allot_table *t);
/* The whole table, each line ending in '\n' (caller frees); NULL on ENOMEM. */
char *allot_table_render(const allot_table *t);
void allot_table_free(allot_table *t); /* accepts NULL */

/* The tables of the client commands, from the server's JSON (docs/API.md).
 * now: the current time (seconds since the epoch) for the WAIT/TIME column.
 * wide: more columns and no truncation. Return a malloc'd string (NULL on
 * ENOMEM or when the input is not the expected JSON array). */

/* jobs: the "jobs" array. Columns ID NAME TENANT STATE DEVS CHIP WAIT/TIME
 * NODES REASON (wide adds PRIO LIMIT EXIT EPOCH COMMAND). WAIT/TIME is the time
 * waited so far for a pending job, the run time so far for a running one, the
 * run time for a finished one. */
char *allot_fmt_jobs_table(const json_t *jobs, double now, int wide);
/* nodes: the "nodes" array. Columns NAME STATE CHIP DEVS FREE CPU MEM JOBS
 * (wide adds ZONE BLOCK RACK HEARTBEAT JOB-IDS), then a blank line and one
 * summary line per chip type: "H100: 4 nodes (3 up), 32 devices, 20 free". */
char *allot_fmt_nodes_table(const json_t *nodes, double now, int wide);
/* tenants: the "tenants" array. Columns NAME WEIGHT QUOTA BORROW PENDING
 * RUNNING USED. */
char *allot_fmt_tenants_table(const json_t *tenants);
/* services: the "services" array (GET /v1/services). Columns NAME TENANT
 * POLICY REPLICAS (ready/wanted and the bounds: "2/3 (1-8)", with "+N
 * starting" and "-N draining" when there are some) RPS QUEUE SIGNAL (ok,
 * stale or none, with the sample's age: "ok 1s"; "deleting" for a service
 * being deleted). src/client/fmt_services.c. */
char *allot_fmt_services_table(const json_t *services);

#endif
