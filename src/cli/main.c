/* main.c - the allot command: dispatches subcommands. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: allot <command> [options]\n"
    "\n"
    "allot is a resource manager for fleets of AI accelerators.\n"
    "\n"
    "commands:\n"
    "  sim       replay a workload against a cluster with a placement policy and\n"
    "            report allocation, fragmentation and queueing (also: the FGD\n"
    "            experiment, --experiment fgd)\n"
    "  compare   run the scheduling policies (fifo, fifo-backfill, priority-preempt,\n"
    "            las, drf, allot) on one workload and compare JCT, waiting,\n"
    "            utilisation and lost work in one table (and an HTML report)\n"
    "  plan      capacity planning: Monte Carlo over deliveries, leases, shocks\n"
    "            and demand growth through the simulator; cost, power,\n"
    "            utilisation, delays, SLOs, and the cheapest options that keep\n"
    "            the targets (allot plan PLAN.json)\n"
    "  cluster   inspect a cluster spec or convert a trace's node list to a spec\n"
    "  server    the control plane: REST API, scheduler, durable state, metrics\n"
    "            (--dev: a local playground with an in-process agent)\n"
    "  agent     run the node agent: register this machine with the server, run\n"
    "            the tasks placed on it and report them\n"
    "  submit    submit a job (-- CMD ARGS...) to an allot server; prints its id\n"
    "  jobs      list pending and running jobs (--all: finished ones too)\n"
    "  nodes     list the nodes, with a summary per chip type\n"
    "  cancel    cancel jobs by id\n"
    "  logs      print (-f: follow) what a job's task writes\n"
    "  tenants   list the tenants, their quotas and use\n"
    "  drain     stop placing work on nodes (undrain: take work again)\n"
    "  services  inference services: list, create, scale, delete, push load\n"
    "            (the client commands talk to the server at --server URL or\n"
    "            $ALLOT_SERVER, default http://127.0.0.1:8080, with the token\n"
    "            in $ALLOT_TOKEN; exit 3 unreachable, 4 not authorised, 5 not\n"
    "            found)\n"
    "  version   print the version\n"
    "  help      print this help, or 'allot help <command>' for a command's\n"
    "\n"
    "Run 'allot <command> --help' for the options of a command.\n"
    "With no options, 'allot sim' runs the bundled sample fleet on a generated\n"
    "workload and prints a summary.\n";

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_fail(int err, const allot_diag *d)
{
    char buf[1024];
    if (d && d->msg[0]) {
        allot_diag_format(d, buf, sizeof buf);
        fprintf(stderr, "allot: %s\n", buf);
    } else {
        fprintf(stderr, "allot: %s\n", allot_strerror(err));
    }
    return CLI_EXIT_FAIL;
}

void cli_progress_init(cli_progress *p, const char *label, int enabled)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->t0 = cli_now();
    p->enabled = enabled && isatty(STDERR_FILENO);
}

void cli_progress_cb(void *arg, double fraction)
{
    cli_progress *p = arg;
    if (!p || !p->enabled) return;
    double t = cli_now();
    if (t - p->t0 < 1.0 || (p->shown && t - p->last < 0.1 && fraction < 1.0)) return;
    p->last = t;
    p->shown = 1;
    if (fraction < 0) fraction = 0;
    if (fraction > 1) fraction = 1;
    int width = 30, fill = (int)(fraction * width + 0.5);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double el = t - p->t0;
    double eta = fraction > 0.01 ? el / fraction - el : NAN;
    if (isnan(eta))
        fprintf(stderr, "\r%s [%s] %3.0f%%  %.0fs", p->label, bar, fraction * 100, el);
    else
        fprintf(stderr, "\r%s [%s] %3.0f%%  %.0fs, eta %.0fs ", p->label, bar, fraction * 100, el,
                eta);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p && p->enabled && p->shown) {
        fprintf(stderr, "\r%*s\r", 78, "");
        fflush(stderr);
    }
}

int cli_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return ALLOT_EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return ALLOT_EINVAL;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s) return ALLOT_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi)) return ALLOT_EINVAL;
    *out = v;
    return 0;
}

int cli_mkdirs(const char *path)
{
    char buf[4096];
    if (!path || !*path || strlen(path) >= sizeof buf) return ALLOT_EINVAL;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return ALLOT_EIO;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return ALLOT_EIO;
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} client_cmds[] = {
    {"submit", allot_cmd_submit}, {"jobs", allot_cmd_jobs},       {"nodes", allot_cmd_nodes},
    {"cancel", allot_cmd_cancel}, {"logs", allot_cmd_logs},       {"tenants", allot_cmd_tenants},
    {"drain", allot_cmd_drain},   {"undrain", allot_cmd_undrain}, {"services", allot_cmd_services},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "sim") == 0) return allot_cmd_sim(argc - 1, argv + 1);
    if (strcmp(cmd, "cluster") == 0) return allot_cmd_cluster(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0) return allot_cmd_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "plan") == 0) return allot_cmd_plan(argc - 1, argv + 1);
    if (strcmp(cmd, "server") == 0) return allot_cmd_server(argc - 1, argv + 1);
    if (strcmp(cmd, "agent") == 0) return allot_cmd_agent(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof client_cmds / sizeof client_cmds[0]; i++)
        if (strcmp(cmd, client_cmds[i].name) == 0) return client_cmds[i].fn(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("allot %s\n", ALLOT_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc >= 3) {
            char *args[] = {argv[2], (char *)"--help", NULL};
            if (strcmp(argv[2], "sim") == 0) return allot_cmd_sim(2, args);
            if (strcmp(argv[2], "cluster") == 0) return allot_cmd_cluster(2, args);
            if (strcmp(argv[2], "compare") == 0) return allot_cmd_compare(2, args);
            if (strcmp(argv[2], "plan") == 0) return allot_cmd_plan(2, args);
            if (strcmp(argv[2], "server") == 0) return allot_cmd_server(2, args);
            if (strcmp(argv[2], "agent") == 0) return allot_cmd_agent(2, args);
            for (size_t i = 0; i < sizeof client_cmds / sizeof client_cmds[0]; i++)
                if (strcmp(argv[2], client_cmds[i].name) == 0) return client_cmds[i].fn(2, args);
            fprintf(stderr, "allot: unknown command '%s'\n\n%s", argv[2], usage);
            return CLI_EXIT_USAGE;
        }
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "allot: unknown command '%s'\n\n%s", cmd, usage);
    return CLI_EXIT_USAGE;
}
