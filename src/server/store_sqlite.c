/* store_sqlite.c - allot/store.h on SQLite in WAL mode.
 *
 * Schema version 1 (PRAGMA user_version):
 *   jobs(id INTEGER PRIMARY KEY, tenant TEXT, state INTEGER, spec TEXT)
 *   tasks(job INTEGER, task INTEGER, node TEXT, devs INTEGER, PRIMARY KEY(job, task))
 *   nodes(name TEXT PRIMARY KEY, state INTEGER, spec TEXT)
 *   tenants(name TEXT PRIMARY KEY, spec TEXT)
 *   services(name TEXT PRIMARY KEY, spec TEXT)   (created when missing: additive)
 * journal_mode=WAL, synchronous=FULL: a commit that returned is on disk.
 * Statements are prepared once; a batch is one transaction (BEGIN
 * IMMEDIATE), so N writes cost one fsync of the WAL.
 */
#include "allot/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define SCHEMA_VERSION 1
#define SPEC_MAX       (1 << 20)

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_PUT_JOB,
    Q_SET_STATE,
    Q_PUT_TASK,
    Q_CLEAR_TASKS,
    Q_PUT_NODE,
    Q_PUT_TENANT,
    Q_MAX_ID,
    Q_DEL_JOB,
    Q_PUT_SERVICE,
    Q_DEL_SERVICE,
    Q__COUNT
};

static const char *const sql[Q__COUNT] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT OR REPLACE INTO jobs(id, tenant, state, spec) VALUES(?1, ?2, ?3, ?4)",
    "UPDATE jobs SET state = ?2 WHERE id = ?1",
    "INSERT OR REPLACE INTO tasks(job, task, node, devs) VALUES(?1, ?2, ?3, ?4)",
    "DELETE FROM tasks WHERE job = ?1",
    "INSERT OR REPLACE INTO nodes(name, state, spec) VALUES(?1, ?2, ?3)",
    "INSERT OR REPLACE INTO tenants(name, spec) VALUES(?1, ?2)",
    "SELECT max(id) FROM jobs",
    "DELETE FROM jobs WHERE id = ?1",
    "INSERT OR REPLACE INTO services(name, spec) VALUES(?1, ?2)",
    "DELETE FROM services WHERE name = ?1",
};

struct allot_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q__COUNT];
    int in_batch;
};

static int mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static int exec(sqlite3 *db, const char *s) { return sqlite3_exec(db, s, NULL, NULL, NULL); }

int allot_store_open(allot_store **out, const char *dir, allot_diag *d)
{
    if (!out || !dir || !*dir) return ALLOT_EINVAL;
    *out = NULL;
    if (mkdirs(dir) != 0)
        return allot_diag_set(d, ALLOT_EIO, dir, 0, 0, "cannot create the state directory: %s",
                              strerror(errno));
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/allot.db", dir) >= sizeof path)
        return allot_diag_set(d, ALLOT_EINVAL, dir, 0, 0, "state directory path too long");
    allot_store *st = calloc(1, sizeof *st);
    if (!st) return ALLOT_ENOMEM;
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) goto fail;
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_stmt *v = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK &&
        sqlite3_step(v) == SQLITE_ROW)
        version = sqlite3_column_int(v, 0);
    sqlite3_finalize(v);
    if (version < 0) goto fail;
    if (version > SCHEMA_VERSION) {
        int r = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0,
                               "state written by a newer allot (schema %d, this one reads %d)",
                               version, SCHEMA_VERSION);
        allot_store_close(st);
        return r;
    }
    if (exec(st->db, "PRAGMA journal_mode=WAL") != SQLITE_OK ||
        exec(st->db, "PRAGMA synchronous=FULL") != SQLITE_OK ||
        exec(st->db, "PRAGMA foreign_keys=OFF") != SQLITE_OK)
        goto fail;
    if (version == 0 &&
        exec(st->db, "BEGIN;"
                     "CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL,"
                     " state INTEGER NOT NULL, spec TEXT NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS tasks(job INTEGER NOT NULL, task INTEGER NOT NULL,"
                     " node TEXT NOT NULL, devs INTEGER NOT NULL, PRIMARY KEY(job, task));"
                     "CREATE TABLE IF NOT EXISTS nodes(name TEXT PRIMARY KEY, state INTEGER NOT"
                     " NULL, spec TEXT NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS tenants(name TEXT PRIMARY KEY, spec TEXT NOT"
                     " NULL);"
                     "PRAGMA user_version=1;"
                     "COMMIT;") != SQLITE_OK)
        goto fail;
    if (exec(st->db, "CREATE TABLE IF NOT EXISTS services(name TEXT PRIMARY KEY, spec TEXT NOT"
                     " NULL)") != SQLITE_OK)
        goto fail;
    for (int i = 0; i < Q__COUNT; i++)
        if (sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL) !=
            SQLITE_OK)
            goto fail;
    *out = st;
    return 0;
fail : {
    int r = allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot open the state database: %s",
                           st->db ? sqlite3_errmsg(st->db) : "out of memory");
    allot_store_close(st);
    return r;
}
}

void allot_store_close(allot_store *st)
{
    if (!st) return;
    if (st->in_batch) allot_store_rollback(st);
    for (int i = 0; i < Q__COUNT; i++) sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    free(st);
}

/* Runs a prepared statement that returns no rows; resets it. */
static int run(allot_store *st, int q)
{
    int rc = sqlite3_step(st->q[q]);
    sqlite3_reset(st->q[q]);
    sqlite3_clear_bindings(st->q[q]);
    return rc == SQLITE_DONE ? 0 : ALLOT_EIO;
}

int allot_store_begin(allot_store *st)
{
    if (!st || st->in_batch) return ALLOT_ESTATE;
    int rc = run(st, Q_BEGIN);
    if (rc == 0) st->in_batch = 1;
    return rc;
}

int allot_store_commit(allot_store *st)
{
    if (!st || !st->in_batch) return ALLOT_ESTATE;
    int rc = run(st, Q_COMMIT);
    if (rc == 0) st->in_batch = 0;
    return rc;
}

int allot_store_rollback(allot_store *st)
{
    if (!st || !st->in_batch) return ALLOT_ESTATE;
    st->in_batch = 0;
    return run(st, Q_ROLLBACK);
}

static int text_ok(const char *s, size_t max) { return s && strlen(s) <= max; }

int allot_store_put_job(allot_store *st, uint32_t id, const char *tenant, int state,
                        const char *spec_json)
{
    if (!st || !text_ok(tenant, 256) || !text_ok(spec_json, SPEC_MAX)) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_stmt *q = st->q[Q_PUT_JOB];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, state);
    sqlite3_bind_text(q, 4, spec_json, -1, SQLITE_STATIC);
    return run(st, Q_PUT_JOB);
}

int allot_store_set_job_state(allot_store *st, uint32_t id, int state)
{
    if (!st) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_bind_int64(st->q[Q_SET_STATE], 1, id);
    sqlite3_bind_int(st->q[Q_SET_STATE], 2, state);
    int rc = run(st, Q_SET_STATE);
    if (rc == 0 && sqlite3_changes(st->db) == 0) rc = ALLOT_ENOENT;
    return rc;
}

int allot_store_put_task(allot_store *st, uint32_t job, uint32_t task, const char *node,
                         uint64_t devs)
{
    if (!st || !text_ok(node, 256)) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_stmt *q = st->q[Q_PUT_TASK];
    sqlite3_bind_int64(q, 1, job);
    sqlite3_bind_int64(q, 2, task);
    sqlite3_bind_text(q, 3, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)devs);
    return run(st, Q_PUT_TASK);
}

int allot_store_clear_tasks(allot_store *st, uint32_t job)
{
    if (!st) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_bind_int64(st->q[Q_CLEAR_TASKS], 1, job);
    return run(st, Q_CLEAR_TASKS);
}

int allot_store_delete_job(allot_store *st, uint32_t id)
{
    if (!st) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    int rc = allot_store_clear_tasks(st, id);
    if (rc) return rc;
    sqlite3_bind_int64(st->q[Q_DEL_JOB], 1, id);
    return run(st, Q_DEL_JOB);
}

int allot_store_put_node(allot_store *st, const char *name, int state, const char *spec_json)
{
    if (!st || !text_ok(name, 256) || !text_ok(spec_json, SPEC_MAX)) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_stmt *q = st->q[Q_PUT_NODE];
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, state);
    sqlite3_bind_text(q, 3, spec_json, -1, SQLITE_STATIC);
    return run(st, Q_PUT_NODE);
}

int allot_store_put_tenant(allot_store *st, const char *name, const char *spec_json)
{
    if (!st || !text_ok(name, 256) || !text_ok(spec_json, SPEC_MAX)) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_stmt *q = st->q[Q_PUT_TENANT];
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, spec_json, -1, SQLITE_STATIC);
    return run(st, Q_PUT_TENANT);
}

int allot_store_put_service(allot_store *st, const char *name, const char *spec_json)
{
    if (!st || !text_ok(name, 256) || !text_ok(spec_json, SPEC_MAX)) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_stmt *q = st->q[Q_PUT_SERVICE];
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, spec_json, -1, SQLITE_STATIC);
    return run(st, Q_PUT_SERVICE);
}

int allot_store_delete_service(allot_store *st, const char *name)
{
    if (!st || !text_ok(name, 256)) return ALLOT_EINVAL;
    if (!st->in_batch) return ALLOT_ESTATE;
    sqlite3_bind_text(st->q[Q_DEL_SERVICE], 1, name, -1, SQLITE_STATIC);
    return run(st, Q_DEL_SERVICE);
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

int allot_store_load(allot_store *st, const allot_store_visitor *v)
{
    if (!st || !v) return ALLOT_EINVAL;
    static const char *const walk[4] = {
        "SELECT id, tenant, state, spec FROM jobs ORDER BY id",
        "SELECT job, task, node, devs FROM tasks ORDER BY job, task",
        "SELECT name, state, spec FROM nodes ORDER BY name",
        "SELECT name, spec FROM tenants ORDER BY name",
    };
    for (int w = 0; w < 4; w++) {
        if ((w == 0 && !v->job) || (w == 1 && !v->task) || (w == 2 && !v->node) ||
            (w == 3 && !v->tenant))
            continue;
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(st->db, walk[w], -1, &q, NULL) != SQLITE_OK) return ALLOT_EIO;
        int rc = 0, s;
        while (rc == 0 && (s = sqlite3_step(q)) == SQLITE_ROW) {
            switch (w) {
            case 0:
                rc = v->job(v->arg, (uint32_t)sqlite3_column_int64(q, 0), col_text(q, 1),
                            sqlite3_column_int(q, 2), col_text(q, 3));
                break;
            case 1:
                rc = v->task(v->arg, (uint32_t)sqlite3_column_int64(q, 0),
                             (uint32_t)sqlite3_column_int64(q, 1), col_text(q, 2),
                             (uint64_t)sqlite3_column_int64(q, 3));
                break;
            case 2:
                rc = v->node(v->arg, col_text(q, 0), sqlite3_column_int(q, 1), col_text(q, 2));
                break;
            default: rc = v->tenant(v->arg, col_text(q, 0), col_text(q, 1)); break;
            }
        }
        if (rc == 0 && s != SQLITE_DONE) rc = ALLOT_EIO;
        sqlite3_finalize(q);
        if (rc) return rc;
    }
    return 0;
}

int allot_store_load_services(allot_store *st,
                              int (*fn)(void *arg, const char *name, const char *spec_json),
                              void *arg)
{
    if (!st || !fn) return ALLOT_EINVAL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT name, spec FROM services ORDER BY name", -1, &q, NULL) !=
        SQLITE_OK)
        return ALLOT_EIO;
    int rc = 0, s;
    while (rc == 0 && (s = sqlite3_step(q)) == SQLITE_ROW)
        rc = fn(arg, col_text(q, 0), col_text(q, 1));
    if (rc == 0 && s != SQLITE_DONE) rc = ALLOT_EIO;
    sqlite3_finalize(q);
    return rc;
}

int64_t allot_store_max_job_id(allot_store *st)
{
    if (!st) return -1;
    sqlite3_stmt *q = st->q[Q_MAX_ID];
    int64_t r = -1;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        r = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return r;
}
