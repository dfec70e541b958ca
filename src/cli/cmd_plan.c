/* cmd_plan.c - `allot plan PLAN.json`: capacity planning (include/allot/plan.h,
 * docs/plan-format.md, docs/internals/planning.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allot/plan.h"
#include "cli.h"

static const char plan_usage[] =
    "usage: allot plan PLAN.json [options]\n"
    "\n"
    "Capacity planning. Runs the plan's scenarios (deliveries with delays and\n"
    "shortfalls, lease offers and contracts, shocks such as an export stop, a\n"
    "lost lease region or a data centre's power cap, training and inference\n"
    "demand with growth) as a seeded Monte Carlo: every run simulates the\n"
    "fleet period by period, training through the configured scheduler and\n"
    "inference through the serving latency model. Prints per scenario and per\n"
    "period: supply and demand in devices, utilisation (p10-p50-p90 across\n"
    "runs), queueing delay p50/p95, SLO attainment, cost (capex depreciation,\n"
    "power, data centre, leases), cost per useful device-hour, peak power (MW),\n"
    "energy (MWh), stranded devices and the training backlog. With candidate\n"
    "actions in the plan's \"search\" section it recommends the cheapest set\n"
    "that keeps the targets in enough runs, with its expected cost and risk.\n"
    "\n"
    "The plan format is in docs/plan-format.md; examples/plan-small.json is a\n"
    "minute's read.\n"
    "\n"
    "options:\n"
    "  --runs N        Monte Carlo runs per scenario (default: the plan's \"runs\",\n"
    "                  else 100)\n"
    "  --seed S        the seed (default: the plan's \"seed\", else 1); the same\n"
    "                  plan, seed and runs give the same results, byte for byte,\n"
    "                  whatever the thread count\n"
    "  --threads N     worker threads (default: the online CPUs)\n"
    "  --json          print the results as JSON instead of the table\n"
    "  --out DIR       write DIR/report.html (self-contained: summary, supply vs\n"
    "                  demand, utilisation fan, delay, SLO, cost breakdown, power),\n"
    "                  DIR/periods.csv (scenario x period x metric: mean, p10,\n"
    "                  p50, p90), DIR/runs.csv (every run and period) and\n"
    "                  DIR/summary.json (as --json)\n"
    "  --no-search     skip the options search even if the plan has candidates\n"
    "  --quiet         no progress on stderr\n"
    "  -h, --help      this help\n"
    "\n"
    "Progress goes to stderr: a bar on a terminal, otherwise a line every 10 s.\n"
    "Exit status: 0 ok, 1 the plan is invalid (the message names the JSON path\n"
    "of the problem, e.g. \"plan.json:12:7: leases[2].price_per_device_hour:\n"
    "missing\") or the run failed, 2 usage error.\n"
    "\n"
    "example:\n"
    "  allot plan examples/plan-small.json --out out/plan\n";

typedef struct progress_state {
    cli_progress bar;
    int tty, quiet;
    double t0, last;
    const char *stage;
} progress_state;

static void on_progress(void *arg, double fraction, const char *stage)
{
    progress_state *ps = arg;
    if (ps->quiet) return;
    if (ps->tty) {
        if (!ps->stage || strcmp(ps->stage, stage) != 0) {
            cli_progress_done(&ps->bar);
            cli_progress_init(&ps->bar, stage, 1);
            ps->stage = stage;
        }
        cli_progress_cb(&ps->bar, fraction);
        return;
    }
    double t = cli_now();
    if (t - ps->last >= 10.0) {
        ps->last = t;
        fprintf(stderr, "allot plan: %s %.0f%% (%.0f s)\n", stage, fraction * 100, t - ps->t0);
    }
}

int allot_cmd_plan(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    int json = 0, quiet = 0;
    allot_plan_opts o;
    allot_plan_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long u;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(plan_usage, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--no-search") == 0) {
            o.search = 0;
        } else if (strcmp(a, "--runs") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--threads") == 0 || strcmp(a, "--out") == 0) {
            if (!val) {
                fprintf(stderr, "allot plan: %s needs a value\n", a);
                return CLI_EXIT_USAGE;
            }
            i++;
            if (strcmp(a, "--out") == 0) {
                out = val;
            } else if (strcmp(a, "--runs") == 0) {
                if (cli_parse_u64(val, 1, ALLOT_PLAN_MAX_RUNS, &u)) {
                    fprintf(stderr, "allot plan: --runs: expected an integer in 1..%d, got '%s'\n",
                            ALLOT_PLAN_MAX_RUNS, val);
                    return CLI_EXIT_USAGE;
                }
                o.runs = (int)u;
            } else if (strcmp(a, "--seed") == 0) {
                if (cli_parse_u64(val, 0, UINT64_MAX, &u)) {
                    fprintf(stderr, "allot plan: --seed: expected an integer >= 0, got '%s'\n",
                            val);
                    return CLI_EXIT_USAGE;
                }
                o.seed = u;
                o.seed_set = 1;
            } else {
                if (cli_parse_u64(val, 1, 64, &u)) {
                    fprintf(stderr,
                            "allot plan: --threads: expected an integer in 1..64, got "
                            "'%s'\n",
                            val);
                    return CLI_EXIT_USAGE;
                }
                o.threads = (int)u;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "allot plan: unknown option '%s' (see allot plan --help)\n", a);
            return CLI_EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "allot plan: one plan file at a time ('%s' and '%s')\n", path, a);
            return CLI_EXIT_USAGE;
        }
    }
    if (!path) {
        fputs(plan_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    allot_diag d;
    memset(&d, 0, sizeof d);
    allot_plan *p = NULL;
    int rc = allot_plan_load(path, &p, &d);
    if (rc) return cli_fail(rc, &d);
    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.tty = isatty(STDERR_FILENO);
    ps.quiet = quiet;
    ps.t0 = ps.last = cli_now();
    o.progress = on_progress;
    o.progress_arg = &ps;
    allot_plan_result *r = NULL;
    rc = allot_plan_run(p, &o, &r, &d);
    if (ps.tty) cli_progress_done(&ps.bar);
    allot_plan_free(p);
    if (rc) return cli_fail(rc, &d);
    int ret = 0;
    if (out) {
        if (cli_mkdirs(out) != 0) {
            fprintf(stderr, "allot plan: cannot create directory '%s'\n", out);
            ret = CLI_EXIT_FAIL;
        } else {
            char rp[4200];
            snprintf(rp, sizeof rp, "%s/report.html", out);
            if ((rc = allot_plan_write_report(r, rp, &d)) != 0 ||
                (rc = allot_plan_write_csv(r, out, &d)) != 0)
                ret = cli_fail(rc, &d);
        }
    }
    if (json)
        rc = allot_plan_write_json(r, stdout);
    else
        rc = allot_plan_print(r, stdout);
    if (rc && !ret) ret = cli_fail(rc, NULL);
    if (out && !ret && !json)
        printf("\nwrote report.html, periods.csv, runs.csv and summary.json into %s\n", out);
    if (!quiet && !json)
        fprintf(stderr, "allot plan: %llu window simulations in %.1f s on %d threads\n",
                (unsigned long long)r->simulations, r->wall_s, r->threads);
    allot_plan_result_free(r);
    return ret;
}
