/* allot/store.h - durable state of the control plane (issue 4, first part).
 *
 * One SQLite database in WAL mode (DIR/allot.db) holds what the server must
 * find again after a crash: jobs (their spec as JSON and their state), the
 * running assignments (task -> node and devices), the node registry and the
 * tenants. Specs are opaque JSON text here: the server owns their schema.
 *
 * Writes happen inside a batch (allot_store_begin ... allot_store_commit):
 * the server's state thread gathers the requests that arrived while the
 * previous batch was being committed and commits them together (group
 * commit), then replies. A write is durable once allot_store_commit has
 * returned 0 (synchronous=FULL: it survives a killed process and a power
 * loss). Not thread-safe: one thread owns a store.
 */
#ifndef ALLOT_STORE_H
#define ALLOT_STORE_H

#include <stdint.h>
#include <stddef.h>

#include "allot/err.h"

typedef struct allot_store allot_store;

/* Opens (creating DIR and the database if needed) and checks the schema.
 * Errors: EIO (with a message in d) for an unusable directory or database,
 * EFORMAT for a database written by an incompatible version. */
int allot_store_open(allot_store **out, const char *dir, allot_diag *d);
void allot_store_close(allot_store *st); /* accepts NULL */

/* Batches. Every write below must be inside one; commit makes them all
 * durable at once, rollback drops them. */
int allot_store_begin(allot_store *st);
int allot_store_commit(allot_store *st);
int allot_store_rollback(allot_store *st);

/* Jobs: id chosen by the caller (the scheduler's job id), the tenant's
 * name, a state (allot_job_state) and the spec (JSON text, <= 1 MiB). */
int allot_store_put_job(allot_store *st, uint32_t id, const char *tenant, int state,
                        const char *spec_json);
int allot_store_set_job_state(allot_store *st, uint32_t id, int state); /* ENOENT if unknown */
/* One task's placement: node name and device mask; clear drops them all. */
int allot_store_put_task(allot_store *st, uint32_t job, uint32_t task, const char *node,
                         uint64_t devs);
int allot_store_clear_tasks(allot_store *st, uint32_t job);
/* Drops a job and its tasks (retention of finished jobs). */
int allot_store_delete_job(allot_store *st, uint32_t id);
/* Node registry and tenants: spec JSON by name (replaces). */
int allot_store_put_node(allot_store *st, const char *name, int state, const char *spec_json);
int allot_store_put_tenant(allot_store *st, const char *name, const char *spec_json);

/* Recovery: calls the callbacks (any may be NULL) for every record, jobs in
 * id order; a callback returning non-zero stops the walk with that value. */
typedef struct allot_store_visitor {
    void *arg;
    int (*job)(void *arg, uint32_t id, const char *tenant, int state, const char *spec_json);
    int (*task)(void *arg, uint32_t job, uint32_t task, const char *node, uint64_t devs);
    int (*node)(void *arg, const char *name, int state, const char *spec_json);
    int (*tenant)(void *arg, const char *name, const char *spec_json);
} allot_store_visitor;
int allot_store_load(allot_store *st, const allot_store_visitor *v);

/* Inference services (the server's /v1/services): spec JSON by name
 * (replaces); delete drops one. The table is created on open when missing,
 * so a database written before services existed opens unchanged. */
int allot_store_put_service(allot_store *st, const char *name, const char *spec_json);
int allot_store_delete_service(allot_store *st, const char *name);
/* Calls fn for every stored service, by name; a non-zero return stops the
 * walk with that value. */
int allot_store_load_services(allot_store *st,
                              int (*fn)(void *arg, const char *name, const char *spec_json),
                              void *arg);

/* The largest job id stored, or -1 if there is none. */
int64_t allot_store_max_job_id(allot_store *st);

#endif
