/* replay_opts.c - options and input loading shared by `allot sim` and
 * `allot compare`: the same flags mean the same thing, with the same checks
 * and the same messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/spec.h"
#include "allot/trace.h"
#include "cli.h"

static int usage(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "allot %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot %s --help' for the options.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_replay_opt(const char *cmd, const char *name, const char *arg, allot_sim_config *cfg)
{
    unsigned long long u;
    double x;
    if (strcmp(name, "placement") == 0) {
        int p = allot_policy_parse(arg);
        if (p < 0)
            return usage(cmd,
                         "unknown placement '%s' (random, dotprod, gpuclustering, gpupacking, "
                         "bestfit, fgd, fgd-la)",
                         arg);
        cfg->policy = (allot_policy)p;
    } else if (strcmp(name, "seed") == 0) {
        if (cli_parse_u64(arg, 0, INT64_MAX, &u))
            return usage(cmd, "--seed wants an integer in 0..2^63-1, got '%s'", arg);
        cfg->seed = u;
    } else if (strcmp(name, "time-scale") == 0) {
        if (cli_parse_double(arg, 1.0, 1e9, &x))
            return usage(cmd, "--time-scale wants a number >= 1, got '%s'", arg);
        cfg->time_scale = x;
    } else if (strcmp(name, "checkpoint") == 0) {
        if (cli_parse_u64(arg, 0, UINT32_MAX, &u))
            return usage(cmd, "--checkpoint wants seconds in 0..4294967295, got '%s'", arg);
        cfg->assume_ckpt_s = (int64_t)u;
    } else if (strcmp(name, "failures") == 0) {
        if (strcmp(arg, "llama3") == 0)
            cfg->fail_rate = ALLOT_FAIL_RATE_LLAMA3;
        else if (cli_parse_double(arg, 0.0, 10.0, &x))
            return usage(
                cmd, "--failures wants a rate per device-day in 0..10 or 'llama3', got '%s'", arg);
        else
            cfg->fail_rate = x;
    } else if (strcmp(name, "repair-time") == 0) {
        if (cli_parse_double(arg, 1.0, 1e8, &x))
            return usage(cmd, "--repair-time wants seconds in 1..1e8, got '%s'", arg);
        cfg->repair_mean_s = x;
    } else {
        return -1;
    }
    return 0;
}

int cli_load_inputs(const char *cmd, const char **cluster, int cluster_given, const char *workload,
                    allot_cluster **c, allot_workload *w)
{
    allot_diag d = {0};
    allot_workload_format wf;
    *c = NULL;
    allot_workload_init(w);
    if (!cluster_given && allot_workload_detect(workload, &wf, NULL) == 0 &&
        wf == ALLOT_WORKLOAD_PHILLY)
        *cluster = "builtin:philly"; /* read errors are reported by the load below */
    int rc = allot_cluster_load(*cluster, ALLOT_NODES_AUTO, c, &d);
    if (rc) return cli_fail(rc, &d);
    rc = allot_workload_load(workload, *c, w, &d);
    if (rc == 0 && w->njobs == 0) {
        fprintf(stderr, "allot %s: the workload %s has no jobs\n", cmd, workload);
        rc = ALLOT_EINVAL;
    } else if (rc) {
        cli_fail(rc, &d);
    }
    if (rc) {
        allot_cluster_free(*c);
        allot_workload_free(w);
        *c = NULL;
        return CLI_EXIT_FAIL;
    }
    return 0;
}

int cli_write_json(json_t *j, const char *path)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!text) return ALLOT_ENOMEM;
    FILE *f = fopen(tmp, "w");
    int rc = 0;
    if (!f || fprintf(f, "%s\n", text) < 0) rc = ALLOT_EIO; /* same bytes as --json */
    if (f && fclose(f) != 0) rc = ALLOT_EIO;
    free(text);
    if (rc == 0 && rename(tmp, path) != 0) rc = ALLOT_EIO;
    if (rc) remove(tmp);
    return rc;
}
