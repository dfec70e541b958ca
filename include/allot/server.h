/* allot/server.h - the control plane: REST API (libmicrohttpd), one state
 * thread that owns the scheduler core and all state, durable state in
 * SQLite (store.h), Prometheus metrics. The API is in docs/API.md.
 *
 * Threads: libmicrohttpd's threads parse and validate requests, then post
 * them to the state thread and suspend the connection; the state thread
 * applies a batch of requests to the core, commits the batch to the store
 * (group commit: one fsync for every request that arrived meanwhile), and
 * only then resumes the connections with their replies. Agents' long polls
 * stay suspended until there is work for their node.
 */
#ifndef ALLOT_SERVER_H
#define ALLOT_SERVER_H

#include <stdint.h>

#include "allot/err.h"

#define ALLOT_SERVER_MAX_TENANTS 256
#define ALLOT_SERVER_TOKEN_MAX   256

typedef struct allot_server_tenant {
    char name[64];
    char token[ALLOT_SERVER_TOKEN_MAX]; /* "" = none */
    double weight;                      /* > 0 */
    int nquota;
    char quota_chip[16][64];
    int quota_devices[16];
    int64_t borrow_limit; /* devices; < 0 = unlimited */
} allot_server_tenant;

typedef struct allot_server_config {
    char listen[256]; /* HOST:PORT; port 0 = any free port */
    char data[1024];  /* state directory */
    char policy[32];  /* named policy (allot sim --policy) */
    char placement[32];
    char admin_token[ALLOT_SERVER_TOKEN_MAX];
    char agent_token[ALLOT_SERVER_TOKEN_MAX];
    char tls_cert[1024], tls_key[1024]; /* PEM files; both or neither */
    double heartbeat_interval;          /* s the agents are told to poll at */
    double node_timeout;                /* s without a poll before a node is down */
    double job_retention;               /* s a finished job is kept (0 = for ever) */
    int http_threads;                   /* libmicrohttpd thread pool */
    int quiet;                          /* no per-event log lines */
    int ntenants;
    allot_server_tenant tenants[ALLOT_SERVER_MAX_TENANTS];
    int sim_nodes; /* --dev: simulated nodes (their tasks end on their own) */
    int sim_devices;
    char sim_chip[64];
    /* inference services (/v1/services) */
    double service_step;           /* s between autoscaling steps (default 2) */
    double service_signal_timeout; /* s: the least a load signal may be silent
                                      before it is stale (default 30) */
    double service_clock_scale;    /* the autoscalers' clock runs this many times
                                      faster than the wall clock (tests, demos;
                                      default 1) */
    char reports_dir[1024];        /* *.html served under /reports/ ("" = none) */
} allot_server_config;

void allot_server_config_init(allot_server_config *cfg);
/* Reads an INI file ([server] and [tenant.NAME] sections; see
 * `allot server --help`). Unknown keys and bad values are errors with the
 * file and line in d. */
int allot_server_config_ini(allot_server_config *cfg, const char *path, allot_diag *d);
/* Applies ALLOT_* environment variables (ALLOT_LISTEN, ALLOT_DATA,
 * ALLOT_POLICY, ALLOT_ADMIN_TOKEN, ALLOT_AGENT_TOKEN, ALLOT_NODE_TIMEOUT,
 * ALLOT_REPORTS_DIR). */
int allot_server_config_env(allot_server_config *cfg, allot_diag *d);
/* One "key=value" setting as in the [server] section (flags use it). */
int allot_server_config_set(allot_server_config *cfg, const char *key, const char *value,
                            allot_diag *d);
/* Checks the whole configuration (listen address, tenants, tokens). */
int allot_server_config_check(const allot_server_config *cfg, allot_diag *d);

typedef struct allot_server allot_server;

/* Opens the store, recovers, starts the state thread and the HTTP server.
 * Returns 0 or an error with a message in d. */
int allot_server_start(allot_server **out, const allot_server_config *cfg, allot_diag *d);
/* The port it listens on (useful with port 0). */
int allot_server_port(const allot_server *s);
/* Stops accepting, finishes the batch in progress, closes the store. */
void allot_server_stop(allot_server *s);

#endif
