/* src/cli/cli.h - shared bits of the command-line front end. The CLI is thin:
 * it parses flags, calls library modules and prints. */
#ifndef ALLOT_CLI_H
#define ALLOT_CLI_H

#include <stdio.h>

#include "allot/err.h"

#define ALLOT_VERSION "0.1.0"

int allot_cmd_sim(int argc, char **argv);
int allot_cmd_cluster(int argc, char **argv);
int allot_cmd_compare(int argc, char **argv);

/* Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

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

#endif
