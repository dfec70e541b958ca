/* cmd_compare.c - `allot compare`: the named scheduling policies side by side
 * on one workload, replayed at its times. One table, JSON, CSV and an HTML
 * report with the utilisation over time and the JCT distribution.
 *
 * Each policy is one allot_sim_run (it clones the cluster; the workload is
 * read-only), so the runs go to worker threads; results are stored by the
 * policy's position in the list, so the output does not depend on which
 * thread ran what (only the wall times do).
 */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "allot/report.h"
#include "allot/sim.h"
#include "allot/spec.h"
#include "allot/trace.h"
#include "cli.h"

static const char compare_usage[] =
    "usage: allot compare [options]\n"
    "\n"
    "Replays one workload at its arrival times under each named scheduling policy\n"
    "and prints them side by side: job completion time (JCT), queueing delay,\n"
    "utilisation, preemptions, lost work, ETTR. Placement is the same for all.\n"
    "\n"
    "inputs:\n"
    "  --cluster PATH      cluster: a JSON spec (docs/cluster-spec.md), an openb node\n"
    "                      list, a PAI-2020 machine list, a spot-2026 node list,\n"
    "                      builtin:sample or builtin:philly (default: builtin:philly\n"
    "                      for a Philly workload, else builtin:sample)\n"
    "  --workload PATH     a workload with arrival times: a Philly table\n"
    "                      (philly.csv), an openb pod list with creation and\n"
    "                      deletion times, or a generator gen:NAME[:key=value,...]\n"
    "                      (default gen:llm, gang-heavy LLM training that queues on\n"
    "                      the sample fleet; gen:mixed barely loads it, so every\n"
    "                      policy scores the same there)\n"
    "\n"
    "policies and protocol:\n"
    "  --policies LIST     comma-separated scheduling policies (default: all six):\n"
    "                      fifo (strict order), fifo-backfill (EASY, Slurm-like),\n"
    "                      priority-preempt, las (least attained service, Tiresias-\n"
    "                      like), drf (tenants' fair share with quotas and reclaim),\n"
    "                      allot (ours: LAS, greedy backfill, preemption only near\n"
    "                      a checkpoint and of jobs at most 2x the preemptor)\n"
    "  --placement NAME    node choice for every policy: random, dotprod,\n"
    "                      gpuclustering, gpupacking, bestfit, fgd, fgd-la\n"
    "                      (default bestfit, fast with its index)\n"
    "  --seed N            random seed (default 42); same seed, same table\n"
    "  --time-scale X      divide trace times by X (default 1)\n"
    "  --checkpoint S      for a workload that says nothing about preemption (e.g.\n"
    "                      Philly), every job is preemptible and checkpoints every\n"
    "                      S seconds (default 1800; 0 = not preemptible)\n"
    "  --failures RATE     inject device failures at RATE per device-day ('llama3'\n"
    "                      = 4.7e-4; default 0 = none); the same failures (same\n"
    "                      seed) hit every policy\n"
    "  --repair-time S     mean repair time in seconds, exponential (default 14400)\n"
    "  --threads N         policies run in parallel on N threads (default: online\n"
    "                      CPUs)\n"
    "\n"
    "output:\n"
    "  --out DIR           write compare.csv (one row per policy), summary.json (as\n"
    "                      --json) and report.html (the table, device utilisation\n"
    "                      over time and the JCT CDF of every policy)\n"
    "  --json              print JSON instead of the table\n"
    "  --quiet             no progress line\n"
    "  -h, --help          this help\n"
    "\n"
    "columns: JCT = finish - submit of the jobs that finished (hours); wait = first\n"
    "start - submit (hours); util = time-averaged share of the fleet's devices\n"
    "allocated; lost dev-h = device-hours of work lost to preemption and failures\n"
    "(since each victim's last checkpoint); ETTR = device-weighted run time needed\n"
    "/ (end - first start), 1 = nothing lost. Then the speed-up of each policy's\n"
    "mean JCT over fifo and over fifo-backfill (baseline mean / policy mean).\n"
    "\n"
    "examples:\n"
    "  allot compare\n"
    "  allot compare --workload philly.csv --out out/philly   (on builtin:philly)\n"
    "  allot compare --workload gen:llm:n=500,seed=3 --policies fifo,las,allot --json\n"
    "  allot compare --workload philly.csv --failures llama3 --threads 2\n";

#define NPOL ALLOT_SP__COUNT

typedef struct cmp_opts {
    const char *cluster, *workload, *out;
    int json, quiet;
    unsigned long long threads;
    allot_sched_policy pols[NPOL];
    size_t npols;
    allot_sim_config cfg;
} cmp_opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "allot compare: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot compare --help' for the options.\n");
    return CLI_EXIT_USAGE;
}

/* "fifo, fifo-backfill, ..., allot": every name allot_sched_policy_parse knows */
static void valid_policies(char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < NPOL; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", i ? ", " : "",
                 allot_sched_policy_name((allot_sched_policy)i));
    }
}

/* Parses "fifo,las" into o->pols. Returns 0 or a usage error (printed). */
static int parse_policies(cmp_opts *o, const char *list)
{
    char buf[512];
    if (strlen(list) >= sizeof buf) return usage_error("--policies list too long: '%s'", list);
    snprintf(buf, sizeof buf, "%s", list);
    o->npols = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (*p == '\0')
            return usage_error("--policies wants a comma-separated list of names, got '%s'", list);
        int sp = allot_sched_policy_parse(p);
        if (sp < 0) {
            char valid[256];
            valid_policies(valid, sizeof valid);
            fprintf(stderr,
                    "allot compare: unknown policy '%s' in --policies (valid: %s)\n"
                    "Run 'allot compare --help' for the options.\n",
                    p, valid);
            return CLI_EXIT_USAGE;
        }
        for (size_t i = 0; i < o->npols; i++)
            if (o->pols[i] == (allot_sched_policy)sp)
                return usage_error("policy '%s' is named twice in --policies", p);
        o->pols[o->npols++] = (allot_sched_policy)sp;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* ---- running the policies on worker threads ------------------------------------------------ */

typedef struct cmp_run {
    const allot_cluster *c;
    const allot_workload *w;
    const cmp_opts *o;
    allot_sim_result res[NPOL];
    int rc[NPOL];
    allot_diag diag[NPOL];
    double frac[NPOL]; /* progress of each run, under mu */
    size_t next, done;
    pthread_mutex_t mu;
    cli_progress pr;
    char label[64];
} cmp_run;

typedef struct cmp_slot {
    cmp_run *run;
    size_t i;
} cmp_slot;

/* Progress (under mu, on a worker thread): the bar shows the mean over all
 * runs, the label how many have finished ("comparing, 2/6 done"). */
static void report_progress(cmp_run *x)
{
    double f = 0;
    for (size_t k = 0; k < x->o->npols; k++) f += x->frac[k];
    snprintf(x->label, sizeof x->label, "comparing, %zu/%zu done", x->done, x->o->npols);
    cli_progress_cb(&x->pr, f / (double)x->o->npols);
}

static void run_progress(void *arg, double fraction)
{
    cmp_slot *s = arg;
    pthread_mutex_lock(&s->run->mu);
    s->run->frac[s->i] = fraction < 0.99 ? fraction : 0.99; /* 1 once it has returned */
    report_progress(s->run);
    pthread_mutex_unlock(&s->run->mu);
}

static void *worker(void *arg)
{
    cmp_run *x = arg;
    for (;;) {
        pthread_mutex_lock(&x->mu);
        size_t i = x->next++;
        pthread_mutex_unlock(&x->mu);
        if (i >= x->o->npols) break;
        cmp_slot slot = {x, i};
        allot_sim_config cfg = x->o->cfg;
        cfg.mode = ALLOT_SIM_REPLAY;
        cfg.sched_policy = (int)x->o->pols[i];
        cfg.record_samples = x->o->out != NULL;
        cfg.progress = run_progress;
        cfg.progress_arg = &slot;
        x->rc[i] = allot_sim_run(x->c, x->w, &cfg, &x->res[i], &x->diag[i]);
        pthread_mutex_lock(&x->mu);
        x->frac[i] = 1.0;
        x->done++;
        report_progress(x);
        pthread_mutex_unlock(&x->mu);
    }
    return NULL;
}

/* Runs every policy; returns 0 or the index + 1 of the first that failed. */
static size_t run_all(cmp_run *x, unsigned long long threads)
{
    size_t nt = threads < x->o->npols ? (size_t)threads : x->o->npols;
    pthread_t tid[NPOL];
    size_t started = 0;
    for (size_t t = 0; t < nt; t++) {
        if (pthread_create(&tid[t], NULL, worker, x) != 0) break;
        started++;
    }
    if (started == 0) worker(x); /* no thread could start: run them here */
    for (size_t t = 0; t < started; t++) pthread_join(tid[t], NULL);
    for (size_t i = 0; i < x->o->npols; i++)
        if (x->rc[i]) return i + 1;
    return 0;
}

/* ---- metrics -------------------------------------------------------------------------------- */

static double lost_h(const allot_sim_result *r)
{
    return r->lost_device_h + r->failure_lost_device_h;
}

/* baseline mean JCT / policy mean JCT; NaN when either is missing */
static double speedup(const allot_sim_result *base, const allot_sim_result *r)
{
    if (!(base->jct_mean_s > 0) || !(r->jct_mean_s > 0)) return NAN;
    return base->jct_mean_s / r->jct_mean_s;
}

static int find_policy(const cmp_opts *o, allot_sched_policy p)
{
    for (size_t i = 0; i < o->npols; i++)
        if (o->pols[i] == p) return (int)i;
    return -1;
}

/* Names of the policies that share the best value of a metric ("las and
 * allot"), compared at the precision the table shows (quantum q); sign +1 =
 * higher is better, -1 = lower is better. */
static void winners(const cmp_opts *o, const double *v, double q, int sign, char *buf, size_t len)
{
    double best = NAN;
    for (size_t i = 0; i < o->npols; i++)
        if (!isnan(v[i]) && (isnan(best) || sign * round(v[i] / q) > sign * best))
            best = round(v[i] / q);
    buf[0] = '\0';
    if (isnan(best)) {
        snprintf(buf, len, "none");
        return;
    }
    size_t n = 0, k = 0;
    for (size_t i = 0; i < o->npols; i++) n += !isnan(v[i]) && round(v[i] / q) == best;
    for (size_t i = 0; i < o->npols; i++) {
        if (isnan(v[i]) || round(v[i] / q) != best) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", k == 0 ? "" : (k + 1 == n ? " and " : ", "),
                 allot_sched_policy_name(o->pols[i]));
        k++;
    }
}

/* ---- output --------------------------------------------------------------------------------- */

static json_t *jnum(double v) { return isnan(v) ? json_null() : json_real(round(v * 1e4) / 1e4); }

static json_t *speedups_json(const cmp_opts *o, const cmp_run *x, allot_sched_policy base)
{
    int b = find_policy(o, base);
    if (b < 0) return json_null();
    json_t *j = json_object();
    for (size_t i = 0; i < o->npols; i++)
        json_object_set_new(j, allot_sched_policy_name(o->pols[i]),
                            jnum(speedup(&x->res[b], &x->res[i])));
    return j;
}

static json_t *summary_json(const cmp_opts *o, const allot_cluster *c, const allot_workload *w,
                            const cmp_run *x, int threads, double wall)
{
    json_t *j = json_object();
    json_object_set_new(j, "workload", json_string(o->workload));
    json_object_set_new(j, "cluster", json_string(o->cluster));
    json_object_set_new(j, "placement", json_string(allot_policy_name(o->cfg.policy)));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->cfg.seed));
    json_object_set_new(j, "time_scale", jnum(o->cfg.time_scale));
    json_object_set_new(j, "failure_rate_per_device_day", json_real(o->cfg.fail_rate));
    json_object_set_new(j, "jobs", json_integer((json_int_t)w->njobs));
    json_object_set_new(j, "nodes", json_integer(allot_cluster_nnodes(c)));
    json_object_set_new(j, "devices", json_integer(allot_cluster_ndevices(c)));
    json_object_set_new(j, "threads", json_integer(threads));
    json_object_set_new(j, "wall_s", jnum(wall));
    json_t *jp = json_object();
    for (size_t i = 0; i < o->npols; i++) {
        const allot_sim_result *r = &x->res[i];
        json_t *e = json_object();
        json_object_set_new(e, "jct_mean_s", jnum(r->jct_mean_s));
        json_object_set_new(e, "jct_p50_s", jnum(r->jct_p50_s));
        json_object_set_new(e, "jct_p99_s", jnum(r->jct_p99_s));
        json_object_set_new(e, "wait_mean_s", jnum(r->wait_mean_s));
        json_object_set_new(e, "wait_p99_s", jnum(r->wait_p99_s));
        json_object_set_new(e, "utilisation", jnum(r->alloc_time_avg_pct / 100.0));
        json_object_set_new(e, "preemptions", json_integer((json_int_t)r->preemptions));
        json_object_set_new(e, "lost_device_hours", jnum(r->lost_device_h));
        json_object_set_new(e, "node_failures", json_integer((json_int_t)r->node_failures));
        json_object_set_new(e, "failure_lost_device_hours", jnum(r->failure_lost_device_h));
        json_object_set_new(e, "ettr", jnum(r->ettr));
        json_object_set_new(e, "jobs_finished", json_integer((json_int_t)r->finished));
        json_object_set_new(e, "makespan_s", json_integer((json_int_t)r->makespan_s));
        json_object_set_new(e, "wall_s", jnum(r->wall_s));
        json_object_set_new(jp, allot_sched_policy_name(o->pols[i]), e);
    }
    json_object_set_new(j, "policies", jp);
    json_object_set_new(j, "speedup_vs_fifo", speedups_json(o, x, ALLOT_SP_FIFO));
    json_object_set_new(j, "speedup_vs_fifo_backfill", speedups_json(o, x, ALLOT_SP_FIFO_BACKFILL));
    return j;
}

static int write_csv(const cmp_opts *o, const cmp_run *x, const char *dir)
{
    char path[4200], tmp[4400];
    snprintf(path, sizeof path, "%s/compare.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return ALLOT_EIO;
    fprintf(f, "policy,jct_mean_s,jct_p50_s,jct_p99_s,wait_mean_s,wait_p99_s,utilisation,"
               "preemptions,lost_device_hours,failure_lost_device_hours,ettr,jobs_finished,"
               "makespan_s,wall_s\n");
    for (size_t i = 0; i < o->npols; i++) {
        const allot_sim_result *r = &x->res[i];
        fprintf(f, "%s,%.1f,%.1f,%.1f,%.1f,%.1f,%.4f,%llu,%.2f,%.2f,%.4f,%llu,%lld,%.3f\n",
                allot_sched_policy_name(o->pols[i]), r->jct_mean_s, r->jct_p50_s, r->jct_p99_s,
                r->wait_mean_s, r->wait_p99_s, r->alloc_time_avg_pct / 100.0,
                (unsigned long long)r->preemptions, r->lost_device_h, r->failure_lost_device_h,
                r->ettr, (unsigned long long)r->finished, (long long)r->makespan_s, r->wall_s);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return ALLOT_EIO;
    }
    return 0;
}

/* One line "mean JCT vs BASE: p 1.23x, ..." (nothing if BASE did not run). */
static void print_speedups(const cmp_opts *o, const cmp_run *x, allot_sched_policy base)
{
    int b = find_policy(o, base);
    if (b < 0 || o->npols < 2) return;
    printf("  mean JCT vs %s:", allot_sched_policy_name(base));
    int k = 0;
    for (size_t i = 0; i < o->npols; i++) {
        if ((int)i == b) continue;
        double s = speedup(&x->res[b], &x->res[i]);
        if (isnan(s))
            printf("%s %s -", k ? "," : "", allot_sched_policy_name(o->pols[i]));
        else
            printf("%s %s %.2fx", k ? "," : "", allot_sched_policy_name(o->pols[i]), s);
        k++;
    }
    printf("\n");
}

static int same_result(const allot_sim_result *a, const allot_sim_result *b)
{
    return a->jct_mean_s == b->jct_mean_s && a->jct_p50_s == b->jct_p50_s &&
           a->jct_p99_s == b->jct_p99_s && a->wait_mean_s == b->wait_mean_s &&
           a->alloc_time_avg_pct == b->alloc_time_avg_pct && a->preemptions == b->preemptions &&
           a->finished == b->finished && a->makespan_s == b->makespan_s &&
           a->lost_device_h == b->lost_device_h && a->ettr == b->ettr;
}

/* "las = allot" for policies whose metrics all agree (their lines overlap
 * in the charts); "" if none do. */
static void identical_text(const cmp_opts *o, const cmp_run *x, char *buf, size_t len)
{
    buf[0] = '\0';
    int used[NPOL] = {0};
    for (size_t i = 0; i < o->npols; i++) {
        if (used[i]) continue;
        int group = 0;
        for (size_t k = i + 1; k < o->npols; k++) {
            if (used[k] || !same_result(&x->res[i], &x->res[k])) continue;
            size_t l = strlen(buf);
            if (!group)
                snprintf(buf + l, len - l, "%s%s", l ? ", " : "",
                         allot_sched_policy_name(o->pols[i]));
            l = strlen(buf);
            snprintf(buf + l, len - l, " = %s", allot_sched_policy_name(o->pols[k]));
            used[k] = group = 1;
        }
    }
}

static void summary_text(const cmp_opts *o, const cmp_run *x, char *buf, size_t len)
{
    double jct[NPOL], util[NPOL], p99[NPOL];
    for (size_t i = 0; i < o->npols; i++) {
        jct[i] = x->res[i].jct_mean_s;
        p99[i] = x->res[i].jct_p99_s;
        util[i] = x->res[i].alloc_time_avg_pct;
    }
    char wj[160], wu[160], wp[160];
    winners(o, jct, 36.0, -1, wj, sizeof wj); /* s; the table shows 0.01 h */
    winners(o, p99, 36.0, -1, wp, sizeof wp);
    winners(o, util, 0.01, +1, wu, sizeof wu); /* % */
    snprintf(buf, len, "lowest mean JCT: %s; lowest p99 JCT: %s; highest utilisation: %s", wj, wp,
             wu);
}

static void print_table(const cmp_opts *o, const allot_cluster *c, const allot_workload *w,
                        const cmp_run *x, int threads, double wall)
{
    printf("allot compare: replay, placement %s, seed %llu, %zu policies on %d thread%s, %.1f s\n",
           allot_policy_name(o->cfg.policy), (unsigned long long)o->cfg.seed, o->npols, threads,
           threads == 1 ? "" : "s", wall);
    printf("  cluster   %s: %u nodes, %u devices\n", o->cluster, allot_cluster_nnodes(c),
           allot_cluster_ndevices(c));
    printf("  workload  %s: %zu jobs%s\n\n", o->workload, w->njobs,
           o->cfg.fail_rate > 0 ? ", with failure injection" : "");
    printf("  %-16s %9s %9s %9s %9s %7s %8s %10s %6s %7s\n", "policy", "mean JCT", "p50 JCT",
           "p99 JCT", "mean wait", "util", "preempt", "lost", "ETTR", "wall");
    printf("  %-16s %9s %9s %9s %9s %7s %8s %10s %6s %7s\n", "", "(h)", "(h)", "(h)", "(h)", "(%)",
           "(jobs)", "(dev-h)", "", "(s)");
    printf("  %-16s %9s %9s %9s %9s %7s %8s %10s %6s %7s\n", "----------------", "---------",
           "---------", "---------", "---------", "-------", "--------", "----------", "------",
           "-------");
    uint64_t fmin = UINT64_MAX, fmax = 0;
    for (size_t i = 0; i < o->npols; i++) {
        const allot_sim_result *r = &x->res[i];
        printf("  %-16s %9.2f %9.2f %9.2f %9.2f %7.2f %8llu %10.1f %6.3f %7.2f\n",
               allot_sched_policy_name(o->pols[i]), r->jct_mean_s / 3600, r->jct_p50_s / 3600,
               r->jct_p99_s / 3600, r->wait_mean_s / 3600, r->alloc_time_avg_pct,
               (unsigned long long)r->preemptions, lost_h(r), r->ettr, r->wall_s);
        if (r->finished < fmin) fmin = r->finished;
        if (r->finished > fmax) fmax = r->finished;
    }
    printf("\n");
    print_speedups(o, x, ALLOT_SP_FIFO);
    print_speedups(o, x, ALLOT_SP_FIFO_BACKFILL);
    char buf[600];
    summary_text(o, x, buf, sizeof buf);
    printf("  %s\n", buf);
    if (fmin != fmax)
        printf("  note: the policies finished %llu to %llu jobs; JCTs are over finished jobs\n",
               (unsigned long long)fmin, (unsigned long long)fmax);
    identical_text(o, x, buf, sizeof buf);
    if (buf[0]) printf("  identical results: %s\n", buf);
}

#define UTIL_POINTS 600 /* per series, after time-bucket averaging */
#define CDF_POINTS  400

static int write_report(const cmp_opts *o, const allot_cluster *c, const allot_workload *w,
                        const cmp_run *x, const char *dir)
{
    char path[4200], buf[1400], sum[600];
    snprintf(path, sizeof path, "%s/report.html", dir);
    allot_report *rep = allot_report_new("allot compare: scheduling policies");
    if (!rep) return ALLOT_ENOMEM;
    int rc = 0;
    double *mem = NULL;
    allot_series su[NPOL], sc[NPOL];

    /* summary paragraph */
    char names[200] = "";
    for (size_t i = 0; i < o->npols; i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "",
                 allot_sched_policy_name(o->pols[i]));
    }
    summary_text(o, x, sum, sizeof sum);
    snprintf(buf, sizeof buf,
             "Workload %s (%zu jobs) replayed at its arrival times on cluster %s (%u nodes, %u "
             "devices) under %zu scheduling policies (%s), placement %s, seed %llu%s. %c%s.",
             o->workload, w->njobs, o->cluster, allot_cluster_nnodes(c), allot_cluster_ndevices(c),
             o->npols, names, allot_policy_name(o->cfg.policy), (unsigned long long)o->cfg.seed,
             o->cfg.fail_rate > 0 ? ", with device failures injected" : "",
             toupper((unsigned char)sum[0]), sum + 1);
    rc = allot_report_para(rep, buf);

    /* table */
    if (!rc) rc = allot_report_heading(rep, "Summary");
    enum { NCOL = 11 };
    static const char *hdr[NCOL] = {"policy",        "mean JCT (h)",      "p50 JCT (h)",
                                    "p99 JCT (h)",   "mean wait (h)",     "utilisation (%)",
                                    "preemptions",   "lost device-hours", "ETTR",
                                    "jobs finished", "wall time (s)"};
    char cells[NPOL][NCOL][48];
    const char *cellp[NPOL * NCOL];
    for (size_t i = 0; i < o->npols; i++) {
        const allot_sim_result *r = &x->res[i];
        snprintf(cells[i][0], 48, "%s", allot_sched_policy_name(o->pols[i]));
        snprintf(cells[i][1], 48, "%.2f", r->jct_mean_s / 3600);
        snprintf(cells[i][2], 48, "%.2f", r->jct_p50_s / 3600);
        snprintf(cells[i][3], 48, "%.2f", r->jct_p99_s / 3600);
        snprintf(cells[i][4], 48, "%.2f", r->wait_mean_s / 3600);
        snprintf(cells[i][5], 48, "%.2f", r->alloc_time_avg_pct);
        snprintf(cells[i][6], 48, "%llu", (unsigned long long)r->preemptions);
        snprintf(cells[i][7], 48, "%.1f", lost_h(r));
        snprintf(cells[i][8], 48, "%.3f", r->ettr);
        snprintf(cells[i][9], 48, "%llu", (unsigned long long)r->finished);
        snprintf(cells[i][10], 48, "%.2f", r->wall_s);
        for (int k = 0; k < NCOL; k++) cellp[i * NCOL + (size_t)k] = cells[i][k];
    }
    if (!rc) rc = allot_report_table(rep, NULL, NCOL, hdr, cellp, (int)o->npols);
    for (int bi = 0; bi < 2 && !rc; bi++) {
        allot_sched_policy base = bi == 0 ? ALLOT_SP_FIFO : ALLOT_SP_FIFO_BACKFILL;
        int b = find_policy(o, base);
        if (b < 0 || o->npols < 2) continue;
        int l = snprintf(buf, sizeof buf, "Mean JCT speed-up over %s (its mean / the policy's):",
                         allot_sched_policy_name(base));
        int k = 0;
        for (size_t i = 0; i < o->npols && l > 0 && (size_t)l < sizeof buf; i++) {
            if ((int)i == b) continue;
            double s = speedup(&x->res[b], &x->res[i]);
            l += snprintf(buf + l, sizeof buf - (size_t)l, isnan(s) ? "%s %s -" : "%s %s %.2fx",
                          k ? "," : "", allot_sched_policy_name(o->pols[i]), s);
            k++;
        }
        rc = allot_report_para(rep, buf);
    }
    identical_text(o, x, sum, sizeof sum);
    if (!rc && sum[0]) {
        snprintf(buf, sizeof buf,
                 "Identical results (every metric agrees; their lines overlap in the charts): "
                 "%s.",
                 sum);
        rc = allot_report_para(rep, buf);
    }
    if (!rc)
        rc = allot_report_para(
            rep, "JCT is finish minus submit time over the jobs that finished; wait is the first "
                 "start minus submit. Utilisation is the time-averaged share of the fleet's "
                 "devices allocated, including work that preemption or failures later threw away. "
                 "Lost device-hours count the work preemption and failures "
                 "threw away since each victim's last checkpoint. ETTR (effective training time "
                 "ratio) is the device-weighted run time jobs needed over the time from their "
                 "first start to their end; 1 means no time lost.");

    /* the series: per policy UTIL_POINTS + 1 and CDF_POINTS points, x and y */
    size_t per = 2 * (UTIL_POINTS + 1) + 2 * CDF_POINTS;
    size_t maxs = 0;
    for (size_t i = 0; i < o->npols; i++)
        if (x->res[i].nsamples > maxs) maxs = x->res[i].nsamples;
    mem = malloc((o->npols * per + 2 * maxs + 1) * sizeof *mem);
    if (!mem) {
        rc = rc ? rc : ALLOT_ENOMEM;
        goto out;
    }
    double *tmp_t = mem + o->npols * per, *tmp_v = tmp_t + maxs;
    for (size_t i = 0; i < o->npols; i++) {
        const allot_sim_result *r = &x->res[i];
        double *ux = mem + i * per, *uy = ux + UTIL_POINTS + 1;
        double *cx = uy + UTIL_POINTS + 1, *cy = cx + CDF_POINTS;
        double capm = r->capacity_milli > 0 ? (double)r->capacity_milli : 1.0;
        for (size_t k = 0; k < r->nsamples; k++) {
            tmp_t[k] = (double)r->samples[k].time / 3600.0;
            tmp_v[k] = (double)r->samples[k].alloc_milli / capm * 100.0;
        }
        size_t nu = r->nsamples
                        ? allot_series_bucket_mean(tmp_t, tmp_v, r->nsamples,
                                                   tmp_t[r->nsamples - 1], UTIL_POINTS, ux, uy)
                        : 0;
        size_t nc = allot_cdf_points(r->jct, r->njct, CDF_POINTS, 1.0 / 3600.0, cx, cy);
        su[i] = (allot_series){allot_sched_policy_name(o->pols[i]), ux, uy, nu};
        sc[i] = (allot_series){allot_sched_policy_name(o->pols[i]), cx, cy, nc};
    }
    allot_chart cu = {.title = "Device utilisation over time",
                      .xlabel = "time since the first arrival (hours)",
                      .ylabel = "allocated devices (% of capacity)",
                      .series = su,
                      .nseries = o->npols,
                      .ymin = 0,
                      .ymax = 100,
                      .xmin = NAN,
                      .xmax = NAN,
                      .step = 1};
    if (!rc) rc = allot_report_heading(rep, "Device utilisation over time");
    if (!rc)
        rc = allot_report_para(rep, "Allocated devices as a share of the fleet, averaged over "
                                    "equal time buckets (at most 600 per policy).");
    if (!rc) rc = allot_report_chart(rep, &cu);
    allot_chart cc = {.title = "JCT CDF",
                      .xlabel = "job completion time (hours, log scale)",
                      .ylabel = "fraction of finished jobs",
                      .series = sc,
                      .nseries = o->npols,
                      .ymin = 0,
                      .ymax = 1,
                      .xmin = NAN,
                      .xmax = NAN,
                      .step = 1};
    if (!rc) rc = allot_report_heading(rep, "Job completion times");
    if (!rc)
        rc = allot_report_para(rep, "Share of the finished jobs that completed within a given "
                                    "time of their submission (the empirical CDF, up to 400 "
                                    "points per policy); further left and higher is better.");
    if (!rc) rc = allot_report_chart_scaled(rep, &cc, ALLOT_SCALE_LOG10);
    if (!rc) rc = allot_report_write(rep, path);
out:
    free(mem);
    allot_report_free(rep);
    return rc;
}

/* ---- main ----------------------------------------------------------------------------------- */

enum {
    OPT_CLUSTER = 256,
    OPT_WORKLOAD,
    OPT_PLACEMENT,
    OPT_SEED,
    OPT_TIMESCALE,
    OPT_CKPT,
    OPT_FAILURES,
    OPT_REPAIR,
    OPT_POLICIES,
    OPT_THREADS,
    OPT_OUT,
    OPT_JSON,
    OPT_QUIET,
};

static const struct option long_opts[] = {
    {"cluster", required_argument, 0, OPT_CLUSTER},
    {"workload", required_argument, 0, OPT_WORKLOAD},
    {"placement", required_argument, 0, OPT_PLACEMENT},
    {"seed", required_argument, 0, OPT_SEED},
    {"time-scale", required_argument, 0, OPT_TIMESCALE},
    {"checkpoint", required_argument, 0, OPT_CKPT},
    {"failures", required_argument, 0, OPT_FAILURES},
    {"repair-time", required_argument, 0, OPT_REPAIR},
    {"policies", required_argument, 0, OPT_POLICIES},
    {"threads", required_argument, 0, OPT_THREADS},
    {"out", required_argument, 0, OPT_OUT},
    {"json", no_argument, 0, OPT_JSON},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int allot_cmd_compare(int argc, char **argv)
{
    if (cli_wants_serve(argc, argv)) return allot_cmd_serve(argc, argv, 1);
    cmp_opts o;
    memset(&o, 0, sizeof o);
    allot_sim_config_init(&o.cfg);
    o.cfg.mode = ALLOT_SIM_REPLAY;
    o.cfg.policy = ALLOT_POLICY_BESTFIT;
    o.cluster = "builtin:sample";
    o.workload = "gen:llm";
    for (int i = 0; i < NPOL; i++) o.pols[i] = (allot_sched_policy)i;
    o.npols = NPOL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = ncpu > 0 ? (unsigned long long)ncpu : 1;
    int cluster_given = 0; /* without --cluster a Philly table picks builtin:philly */
    optind = 1;
    opterr = 0;
    int ch;
    int li = 0;
    while ((ch = getopt_long(argc, argv, ":h", long_opts, &li)) != -1) {
        unsigned long long u;
        switch (ch) {
        case OPT_CLUSTER:
            o.cluster = optarg;
            cluster_given = 1;
            break;
        case OPT_WORKLOAD: o.workload = optarg; break;
        case OPT_PLACEMENT:
        case OPT_SEED:
        case OPT_TIMESCALE:
        case OPT_CKPT:
        case OPT_FAILURES:
        case OPT_REPAIR:
            if (cli_replay_opt("compare", long_opts[li].name, optarg, &o.cfg))
                return CLI_EXIT_USAGE;
            break;
        case OPT_POLICIES: {
            int rc = parse_policies(&o, optarg);
            if (rc) return rc;
            break;
        }
        case OPT_THREADS:
            if (cli_parse_u64(optarg, 1, 256, &u))
                return usage_error("--threads wants 1..256, got '%s'", optarg);
            o.threads = u;
            break;
        case OPT_OUT:
            if (optarg[0] == '-' || optarg[0] == '\0')
                return usage_error("--out wants a directory, got '%s' (an option?)", optarg);
            o.out = optarg;
            break;
        case OPT_JSON: o.json = 1; break;
        case OPT_QUIET: o.quiet = 1; break;
        case 'h': fputs(compare_usage, stdout); return 0;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);

    allot_cluster *c = NULL;
    allot_workload w;
    int ret = cli_load_inputs("compare", &o.cluster, cluster_given, o.workload, &c, &w);
    if (ret) return ret;
    if (!w.has_times) {
        fprintf(stderr,
                "allot compare: the workload %s has no arrival times; the comparison replays "
                "it at its times and needs them (an openb pod list needs creation_time and "
                "deletion_time columns; 'allot sim --mode fgd' runs untimed pod lists)\n",
                o.workload);
        ret = CLI_EXIT_FAIL;
        goto done;
    }

    cmp_run *x = calloc(1, sizeof *x);
    if (!x) {
        ret = cli_fail(ALLOT_ENOMEM, NULL);
        goto done;
    }
    x->c = c;
    x->w = &w;
    x->o = &o;
    pthread_mutex_init(&x->mu, NULL);
    snprintf(x->label, sizeof x->label, "comparing, 0/%zu done", o.npols);
    cli_progress_init(&x->pr, x->label, !o.quiet && !o.json);
    int threads = (int)(o.threads < o.npols ? o.threads : o.npols);
    double t0 = cli_now();
    size_t bad = run_all(x, o.threads);
    double wall = cli_now() - t0;
    cli_progress_done(&x->pr);
    if (bad) {
        fprintf(stderr, "allot compare: policy %s failed\n",
                allot_sched_policy_name(o.pols[bad - 1]));
        ret = cli_fail(x->rc[bad - 1], &x->diag[bad - 1]);
        goto free_run;
    }
    json_t *j = summary_json(&o, c, &w, x, threads, wall);
    if (o.json) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s) puts(s);
        free(s);
    } else {
        print_table(&o, c, &w, x, threads, wall);
    }
    if (o.out) {
        char path[4200];
        int rc = cli_mkdirs(o.out);
        snprintf(path, sizeof path, "%s/summary.json", o.out);
        if (rc == 0) rc = cli_write_json(j, path);
        if (rc == 0) rc = write_csv(&o, x, o.out);
        if (rc == 0) rc = write_report(&o, c, &w, x, o.out);
        if (rc) {
            fprintf(stderr, "allot compare: cannot write into %s: %s\n", o.out, allot_strerror(rc));
            ret = CLI_EXIT_FAIL;
        } else if (!o.json) {
            printf("\nwrote compare.csv, summary.json and report.html into %s\n", o.out);
        }
    }
    json_decref(j);
free_run:
    for (size_t i = 0; i < o.npols; i++) allot_sim_result_free(&x->res[i]);
    pthread_mutex_destroy(&x->mu);
    free(x);
done:
    allot_workload_free(&w);
    allot_cluster_free(c);
    return ret;
}
