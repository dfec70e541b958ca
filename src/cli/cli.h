/* src/cli/cli.h - shared bits of the command-line front end. The CLI is thin:
 * it parses flags, calls library modules and prints. */
#ifndef ALLOT_CLI_H
#define ALLOT_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "allot/err.h"
#include "allot/sim.h"

#define ALLOT_VERSION "0.1.0"

int allot_cmd_sim(int argc, char **argv);
int allot_cmd_cluster(int argc, char **argv);
int allot_cmd_compare(int argc, char **argv);
int allot_cmd_plan(int argc, char **argv); /* cmd_plan.c: capacity planning */
int allot_cmd_server(int argc, char **argv);
int allot_cmd_agent(int argc, char **argv);
/* The client commands (cmd_client.c): they talk to `allot server`. */
int allot_cmd_submit(int argc, char **argv);
int allot_cmd_jobs(int argc, char **argv);
int allot_cmd_nodes(int argc, char **argv);
int allot_cmd_cancel(int argc, char **argv);
int allot_cmd_logs(int argc, char **argv);
int allot_cmd_tenants(int argc, char **argv);
int allot_cmd_drain(int argc, char **argv);
/* Inference services (cmd_serve.c): `allot sim` (compare = 0) and `allot
 * compare` (1) on a request trace. */
int allot_cmd_serve(int argc, char **argv, int compare);
/* Is path a request trace (Azure LLM CSV, ServeGen directory, GenAI SD)? */
int cli_is_request_trace(const char *path);
/* Does argv ask for the serving simulator (--service-policy, or a
 * --workload that is a request trace)? */
int cli_wants_serve(int argc, char **argv);
/* The mixed fleet (cmd_mixed.c): services and training on one fleet, when
 * `allot sim` gets --training or --serve-pool. */
int allot_cmd_mixed(int argc, char **argv);
int cli_wants_mixed(int argc, char **argv);
int allot_cmd_undrain(int argc, char **argv);
/* allot services (cmd_services.c): inference services on the server. */
int allot_cmd_services(int argc, char **argv);
/* One request of a client command (cmd_client.c): opens the connection to
 * server (NULL: $ALLOT_SERVER, else the default) with $ALLOT_TOKEN, and
 * returns 0 with *reply (the caller decrefs; may be NULL), or the exit
 * status (CLI_EXIT_*) after printing "allot CMD: [what: ]message". */
int cli_api_call(const char *cmd, const char *server, const char *what, const char *method,
                 const char *path, json_t *body, json_t **reply);

/* Exit codes: 0 ok, 1 runtime failure (for the client commands: the server
 * refused), 2 usage error; the client commands add 3 the server cannot be
 * reached, 4 not authorised (HTTP 401/403), 5 not found (404). */
#define CLI_EXIT_FAIL        1
#define CLI_EXIT_USAGE       2
#define CLI_EXIT_UNREACHABLE 3
#define CLI_EXIT_AUTH        4
#define CLI_EXIT_NOTFOUND    5

/* Prints "allot: <diag or strerror>" to stderr and returns CLI_EXIT_FAIL. */
int cli_fail(int err, const allot_diag *d);

/* Progress bar on stderr: shown only on a terminal, only after the work has
 * taken a second, redrawn at most 10 times a second. */
typedef struct cli_progress {
    const char *label;
    double t0, last;
    int enabled, shown;
} cli_progress;

void cli_progress_init(cli_progress *p, const char *label, int enabled);
void cli_progress_cb(void *arg, double fraction);
void cli_progress_done(cli_progress *p);

double cli_now(void);

/* Strict number parsing for flags: whole string, range-checked. */
int cli_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out);
int cli_parse_double(const char *s, double lo, double hi, double *out);

/* Creates a directory and its parents (like mkdir -p). */
int cli_mkdirs(const char *path);

/* Options `allot sim` and `allot compare` share (replay_opts.c): placement,
 * seed, time-scale, checkpoint, failures, repair-time, by long name. Returns
 * 0 when set, CLI_EXIT_USAGE after printing why the value is wrong, -1 for a
 * name it does not know. */
int cli_replay_opt(const char *cmd, const char *name, const char *arg, allot_sim_config *cfg);
/* Loads the cluster and the workload (a Philly table with no --cluster runs
 * on builtin:philly, and *cluster says so); an empty workload is an error.
 * Returns 0 or an exit code after printing the error. */
int cli_load_inputs(const char *cmd, const char **cluster, int cluster_given, const char *workload,
                    allot_cluster **c, allot_workload *w);
/* Writes j as --json prints it, atomically (temp file + rename). */
int cli_write_json(json_t *j, const char *path);

#endif
