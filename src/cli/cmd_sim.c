/* cmd_sim.c - `allot sim`: one simulation, or the FGD experiment. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "allot/report.h"
#include "allot/sim.h"
#include "allot/spec.h"
#include "allot/trace.h"
#include "cli.h"

static const char sim_usage[] =
    "usage: allot sim [options]\n"
    "\n"
    "Replays a workload against a cluster through the scheduler core and reports\n"
    "GPU allocation, fragmentation and queueing. The same core runs in the server.\n"
    "\n"
    "inputs:\n"
    "  --cluster PATH      cluster: a JSON spec (docs/cluster-spec.md), an openb node\n"
    "                      list, a PAI-2020 machine list, a spot-2026 node list,\n"
    "                      builtin:sample or builtin:philly (default: builtin:philly\n"
    "                      for a Philly workload, else builtin:sample)\n"
    "  --workload PATH     workload: an openb pod list (.csv or .csv.zst), a Philly\n"
    "                      table (philly.csv, docs/workloads.md), or a generator\n"
    "                      gen:NAME[:key=value,...] with NAME mixed or llm and keys\n"
    "                      n, seed, rate, mean_s, chips, elastic (llm only: share\n"
    "                      of elastic pretraining gangs) (default gen:mixed)\n"
    "\n"
    "policy and protocol:\n"
    "  --policy NAME       replay: the scheduling policy (src/sched/policy.c):\n"
    "                      fifo (strict order), fifo-backfill (EASY, Slurm-like),\n"
    "                      priority-preempt, las (least attained service, Tiresias-\n"
    "                      like), drf (tenants' fair share with quotas and reclaim)\n"
    "                      or allot (ours: LAS, greedy backfill, preemption only\n"
    "                      near a checkpoint and of jobs at most 2x the preemptor).\n"
    "                      Sets --order, --backfill, --preempt and --tenants. Without\n"
    "                      it: FIFO order, greedy backfill. A placement name here\n"
    "                      (bestfit, fgd, ...) means --placement, as before\n"
    "  --placement NAME    node choice: random, dotprod, gpuclustering, gpupacking,\n"
    "                      bestfit, fgd, fgd-la (default fgd)\n"
    "  --mode MODE         fgd: the FGD protocol - shuffled arrivals, no departures,\n"
    "                      inflated to --inflate x capacity (default);\n"
    "                      replay: arrivals and departures at the trace's times\n"
    "  --seed N            random seed (default 42); same seed, same output\n"
    "  --inflate X         fgd mode: add sampled copies (or cut the shuffled list) to\n"
    "                      X x capacity (default 1.3; 0 = use the workload as is)\n"
    "  --coverage X        share of jobs the FGD target workload covers (default 0.95)\n"
    "  --time-scale X      replay mode: divide trace times by X (default 1)\n"
    "  --arrival-scale X   replay mode: divide arrival times only by X (default 1):\n"
    "                      X times the arrival rate, same run times - a more loaded\n"
    "                      fleet (e.g. openb pod lists, whose fleet is mostly idle)\n"
    "  --order ORDER       queue order: fifo (default), priority, or las (least\n"
    "                      attained service: priority drops a level at 1, 10, 100...\n"
    "                      device-hours received; with --preempt, Tiresias-like), or\n"
    "                      drf (tenants with the smallest dominant share first)\n"
    "  --backfill MODE     replay: when the queue's head waits - greedy (try every\n"
    "                      job, default), none (strict order: nothing passes the\n"
    "                      head) or easy (the head reserves devices at its earliest\n"
    "                      estimated start; others run only if they cannot delay it)\n"
    "                      or conservative (every queued job, up to 64 a pass,\n"
    "                      reserves devices; others run only in the holes before\n"
    "                      them, so no reservation slips)\n"
    "  --tenants equal     replay: each of the workload's tenants owns an equal share\n"
    "                      of every chip type, may borrow idle devices, and gets them\n"
    "                      back by reclaim; use with --order drf for fair share\n"
    "  --preempt           replay: pending jobs may stop lower-priority preemptible\n"
    "                      jobs (they resume from their last checkpoint)\n"
    "  --tiebreak MODE     equal scores: rank (a seeded node order, as the FGD\n"
    "                      simulator; default) or random (uniform per decision)\n"
    "  --checkpoint S      replay: for a workload that says nothing about preemption\n"
    "                      (e.g. Philly), every job is preemptible and checkpoints\n"
    "                      every S seconds (default 1800; 0 = not preemptible)\n"
    "  --failures RATE     replay: inject device failures at RATE per device-day\n"
    "                      ('llama3' = 4.7e-4, Meta's Llama 3 figure; default 0 =\n"
    "                      none); a failed device takes its node down until repair,\n"
    "                      its jobs restart from their last checkpoint\n"
    "  --repair-time S     replay: mean repair time in seconds, exponential\n"
    "                      (default 14400)\n"
    "  --speeds MODE       replay: none (every chip runs every job at the recorded\n"
    "                      speed, default) or catalog (relative speeds from each chip\n"
    "                      type's bf16 TFLOP/s; a duration is the run time on the\n"
    "                      fleet's slowest type; a gang runs at its slowest chip)\n"
    "  --speed-pick        replay, with --speeds catalog: a job that allows several\n"
    "                      chip types starts on the fastest type that fits now\n"
    "  --check             verify every invariant after every event (slow)\n"
    "\n"
    "the FGD experiment:\n"
    "  --experiment fgd    run policies x seeds and print unallocated GPU % at\n"
    "                      arrived = 100 % and allocation % at 130 %\n"
    "  --policies LIST     comma-separated (default: the six policies of the paper)\n"
    "  --seeds A-B         seed range (default 42-51)\n"
    "  --threads N         worker threads (default: online CPUs)\n"
    "  --expected FILE     the authors' analysis_allo_discrete.csv, to print their\n"
    "                      10-seed means next to ours\n"
    "  --workload-name W   row name in FILE (default: the workload's file name\n"
    "                      without .csv, e.g. openb_pod_list_default)\n"
    "\n"
    "output:\n"
    "  --out DIR           write summary.json, series.csv (per arrived percent in\n"
    "                      fgd mode, per event in replay mode), samples.csv (fgd\n"
    "                      mode: per arrival), jobs.csv (replay: per job - wait,\n"
    "                      JCT, starts, domains spanned) and a self-contained\n"
    "                      report.html\n"
    "  --json              print the summary as JSON instead of a table\n"
    "  --quiet             no progress bar\n"
    "  -h, --help          this help\n"
    "\n"
    "examples:\n"
    "  allot sim\n"
    "  allot sim --cluster nodes.csv --workload openb_pod_list_default.csv --policy fgd\n"
    "  allot sim --mode replay --workload philly.csv   (on builtin:philly)\n"
    "  allot sim --mode replay --workload philly.csv --policy las --failures llama3\n"
    "  allot sim --experiment fgd --cluster nodes.csv --workload pods.csv \\\n"
    "            --expected analysis_allo_discrete.csv --json\n"
    "\n"
    "Inference services: with a request trace as --workload (an Azure LLM CSV, a\n"
    "ServeGen directory, the GenAI lora_request_trace.csv) or --service-policy,\n"
    "allot sim runs the serving simulator instead; see\n"
    "`allot sim --service-policy allot --help`.\n"
    "\n"
    "The mixed fleet: with --training JOBS and --serve-pool POOL as well, the\n"
    "services share the fleet with a training workload that borrows the idle\n"
    "serving devices; see `allot sim --training x --help`.\n";

typedef struct sim_opts {
    const char *cluster, *workload, *out, *expected, *workload_name, *policies;
    int json, quiet, experiment;
    unsigned long long seed0, seed1, threads;
    allot_sim_config cfg;
} sim_opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "allot sim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot sim --help' for the options.\n");
    return CLI_EXIT_USAGE;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* "openb_pod_list_default" from ".../openb_pod_list_default.csv[.zst]" */
static void workload_stem(const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s", base_name(path));
    char *dot = strstr(out, ".csv");
    if (dot) *dot = '\0';
}

static double job_count_milli(const allot_workload *w)
{
    double t = 0;
    for (size_t i = 0; i < w->njobs; i++) t += (double)allot_job_milli(&w->jobs[i]);
    return t;
}

/* ---- single run output -------------------------------------------------------------- */

static json_t *jnum(double v) { return isnan(v) ? json_null() : json_real(round(v * 1e4) / 1e4); }

static const char *order_name(allot_queue_order o)
{
    static const char *n[] = {"fifo", "priority", "las", "drf"};
    return (unsigned)o < 4 ? n[o] : "?";
}

static const char *backfill_name(allot_backfill b)
{
    static const char *n[] = {"greedy", "none", "easy", "conservative"};
    return (unsigned)b < 4 ? n[b] : "?";
}

/* The replay's scheduling policy: its name, or "custom" for flags alone. */
static const char *sched_policy_label(const allot_sim_config *c)
{
    return c->sched_policy >= 0 ? allot_sched_policy_name((allot_sched_policy)c->sched_policy)
                                : "custom";
}

/* The effective order/backfill/preempt of a replay (after --policy). */
static void effective_sched(const allot_sim_config *c, allot_sched_config *sc, int *tenants)
{
    allot_sched_config_init(sc);
    sc->order = c->order;
    sc->backfill = c->backfill;
    sc->preempt = c->preempt;
    *tenants = c->tenants_equal;
    if (c->sched_policy >= 0) {
        allot_sched_policy_apply((allot_sched_policy)c->sched_policy, sc);
        *tenants = allot_sched_policy_wants_tenants((allot_sched_policy)c->sched_policy);
    }
}

static json_t *summary_json(const sim_opts *o, const allot_cluster *c, const allot_workload *w,
                            const allot_sim_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "mode", json_string(r->mode == ALLOT_SIM_FGD ? "fgd" : "replay"));
    if (r->mode == ALLOT_SIM_FGD)
        json_object_set_new(j, "policy", json_string(allot_policy_name(r->policy)));
    else
        json_object_set_new(j, "policy", json_string(sched_policy_label(&o->cfg)));
    json_object_set_new(j, "placement", json_string(allot_policy_name(r->policy)));
    json_object_set_new(j, "seed", json_integer((json_int_t)r->seed));
    json_t *jc = json_object();
    json_object_set_new(jc, "source", json_string(o->cluster));
    json_object_set_new(jc, "nodes", json_integer(allot_cluster_nnodes(c)));
    json_object_set_new(jc, "devices", json_integer(allot_cluster_ndevices(c)));
    json_object_set_new(jc, "chip_types", json_integer(allot_cluster_nchips(c)));
    json_object_set_new(j, "cluster", jc);
    json_t *jw = json_object();
    json_object_set_new(jw, "source", json_string(o->workload));
    json_object_set_new(jw, "jobs", json_integer((json_int_t)w->njobs));
    json_object_set_new(jw, "device_request", jnum(job_count_milli(w) / 1000.0));
    json_object_set_new(j, "workload", jw);
    json_object_set_new(j, "jobs_arrived", json_integer((json_int_t)r->jobs));
    json_object_set_new(j, "jobs_placed", json_integer((json_int_t)r->placed));
    json_object_set_new(j, "jobs_failed", json_integer((json_int_t)r->failed));
    json_object_set_new(j, "decisions", json_integer((json_int_t)r->decisions));
    if (r->mode == ALLOT_SIM_FGD) {
        json_object_set_new(j, "unallocated_pct_at_100", jnum(allot_sim_unalloc_at_100(r)));
        json_object_set_new(j, "alloc_pct_at_100", jnum(r->alloc_pct[100]));
        json_object_set_new(j, "alloc_pct_at_130", jnum(r->alloc_pct[ALLOT_FGD_MAX_PCT]));
        json_object_set_new(j, "frag_pct_at_100", jnum(r->frag_pct[100]));
        json_object_set_new(j, "frag_ratio_pct_at_100", jnum(r->frag_ratio_pct[100]));
    } else {
        allot_sched_config sc;
        int ten;
        effective_sched(&o->cfg, &sc, &ten);
        json_object_set_new(j, "order", json_string(order_name(sc.order)));
        json_object_set_new(j, "backfill", json_string(backfill_name(sc.backfill)));
        json_object_set_new(j, "preempt", json_boolean(sc.preempt));
        json_object_set_new(j, "tenant_quotas", json_boolean(ten));
        json_object_set_new(j, "jobs_finished", json_integer((json_int_t)r->finished));
        json_object_set_new(j, "utilisation", jnum(r->alloc_time_avg_pct / 100.0));
        json_object_set_new(j, "wait_mean_s", jnum(r->wait_mean_s));
        json_object_set_new(j, "wait_p99_s", jnum(r->wait_p99_s));
        json_object_set_new(j, "jct_mean_s", jnum(r->jct_mean_s));
        json_object_set_new(j, "jct_p50_s", jnum(r->jct_p50_s));
        json_object_set_new(j, "jct_p99_s", jnum(r->jct_p99_s));
        json_object_set_new(j, "preemptions", json_integer((json_int_t)r->preemptions));
        json_object_set_new(j, "lost_device_hours", jnum(r->lost_device_h));
        json_object_set_new(j, "elastic_grows", json_integer((json_int_t)r->grows));
        json_object_set_new(j, "elastic_shrinks", json_integer((json_int_t)r->shrinks));
        json_object_set_new(j, "node_failures", json_integer((json_int_t)r->node_failures));
        json_object_set_new(j, "failure_stops", json_integer((json_int_t)r->failure_stops));
        json_object_set_new(j, "failure_lost_device_hours", jnum(r->failure_lost_device_h));
        json_object_set_new(j, "ettr", jnum(r->ettr));
        if (r->ntenants > 0) {
            json_t *jt = json_array();
            for (size_t t = 0; t < r->ntenants; t++) {
                json_t *e = json_object();
                json_object_set_new(e, "name",
                                    json_string(allot_workload_tenant_name(w, (uint16_t)t)));
                json_object_set_new(e, "jobs", json_integer((json_int_t)r->tenants[t].jobs));
                json_object_set_new(e, "share", jnum(r->tenants[t].share));
                json_object_set_new(e, "entitlement", jnum(r->tenants[t].entitlement));
                json_object_set_new(e, "jct_mean_s", jnum(r->tenants[t].jct_mean_s));
                json_array_append_new(jt, e);
            }
            json_object_set_new(j, "tenants", jt);
        }
        json_object_set_new(j, "gangs", json_integer((json_int_t)r->gangs));
        if (r->gangs) {
            json_t *sp = json_object();
            static const char *lv[5] = {"node", "rack", "block", "zone", "fleet"};
            for (int k = 0; k < 5; k++)
                json_object_set_new(sp, lv[k], json_integer((json_int_t)r->gang_span[k]));
            json_object_set_new(j, "gang_span", sp);
            json_object_set_new(j, "gang_racks_mean", jnum(r->gang_racks_mean));
        }
        json_object_set_new(j, "makespan_s", json_integer((json_int_t)r->makespan_s));
    }
    return j;
}

static void print_table(const sim_opts *o, const allot_cluster *c, const allot_workload *w,
                        const allot_sim_result *r)
{
    double cap = (double)r->capacity_milli / 1000.0;
    if (r->mode == ALLOT_SIM_FGD)
        printf("allot sim: FGD protocol, placement %s, seed %llu\n", allot_policy_name(r->policy),
               (unsigned long long)r->seed);
    else
        printf("allot sim: replay, policy %s, placement %s, seed %llu\n",
               sched_policy_label(&o->cfg), allot_policy_name(r->policy),
               (unsigned long long)r->seed);
    printf("  cluster   %s: %u nodes, %u devices, %u chip types\n", o->cluster,
           allot_cluster_nnodes(c), allot_cluster_ndevices(c), allot_cluster_nchips(c));
    printf("  workload  %s: %zu jobs, %.1f devices requested\n\n", o->workload, w->njobs,
           job_count_milli(w) / 1000.0);
    printf("  %-34s %12s\n", "metric", "value");
    printf("  %-34s %12s\n", "----------------------------------", "------------");
    if (r->mode == ALLOT_SIM_FGD) {
        double un = allot_sim_unalloc_at_100(r);
        printf("  %-34s %10.2f %%\n", "allocation at arrived = 100 %", r->alloc_pct[100]);
        printf("  %-34s %10.2f %%   (%.1f of %.0f devices)\n", "unallocated at arrived = 100 %", un,
               un / 100.0 * cap, cap);
        printf("  %-34s %10.2f %%\n", "allocation at arrived = 130 %",
               r->alloc_pct[ALLOT_FGD_MAX_PCT]);
        printf("  %-34s %10.2f %%\n", "fragmentation at 100 % (of capacity)", r->frag_pct[100]);
        printf("  %-34s %10.2f %%\n", "fragmentation at 100 % (of idle)", r->frag_ratio_pct[100]);
    } else {
        printf("  %-34s %10.2f %%\n", "time-averaged allocation", r->alloc_time_avg_pct);
        printf("  %-34s %12.1f\n", "mean queueing delay (s)", r->wait_mean_s);
        printf("  %-34s %12.1f\n", "p99 queueing delay (s)", r->wait_p99_s);
        printf("  %-34s %12.1f\n", "mean job completion time (s)", r->jct_mean_s);
        printf("  %-34s %12.1f\n", "p99 job completion time (s)", r->jct_p99_s);
        if (r->preemptions)
            printf("  %-34s %12llu  (%.1f device-hours lost)\n", "preemptions",
                   (unsigned long long)r->preemptions, r->lost_device_h);
        if (r->node_failures)
            printf("  %-34s %12llu  (%llu jobs stopped, %.1f device-hours lost)\n", "node failures",
                   (unsigned long long)r->node_failures, (unsigned long long)r->failure_stops,
                   r->failure_lost_device_h);
        if (r->grows || r->shrinks)
            printf("  %-34s %12llu  (%llu taken back for waiting jobs)\n", "elastic tasks added",
                   (unsigned long long)r->grows, (unsigned long long)r->shrinks);
        printf("  %-34s %12.4f\n", "ETTR (effective training time)", r->ettr);
        if (r->gangs)
            printf("  %-34s %12llu  (%.1f racks each on average)\n", "gangs (multi-task jobs)",
                   (unsigned long long)r->gangs, r->gang_racks_mean);
        printf("  %-34s %12lld\n", "makespan (s)", (long long)r->makespan_s);
        printf("  %-34s %12llu\n", "jobs finished", (unsigned long long)r->finished);
    }
    printf("  %-34s %12llu\n", "jobs arrived", (unsigned long long)r->jobs);
    printf("  %-34s %12llu\n", "jobs placed", (unsigned long long)r->placed);
    printf("  %-34s %12llu\n", "jobs failed or never placed",
           (unsigned long long)(r->jobs - r->placed));
    printf("  %-34s %12.3f\n", "wall time (s)", r->wall_s);
    if (r->mode == ALLOT_SIM_REPLAY && r->ntenants > 1) {
        printf("\n  %-20s %8s %10s %12s %14s\n", "tenant", "jobs", "share", "entitlement",
               "mean JCT (s)");
        for (size_t t = 0; t < r->ntenants; t++)
            printf("  %-20.20s %8llu %9.2f%% %11.2f%% %14.1f\n",
                   allot_workload_tenant_name(w, (uint16_t)t),
                   (unsigned long long)r->tenants[t].jobs, r->tenants[t].share * 100.0,
                   r->tenants[t].entitlement * 100.0, r->tenants[t].jct_mean_s);
        allot_sched_config sc;
        int ten;
        effective_sched(&o->cfg, &sc, &ten);
        printf("  (share: time-averaged share of the fleet's devices held; entitlement: %s)\n",
               ten ? "its quota" : "its share of the submitted device-time");
    }
    if (r->wall_s > 0)
        printf("  %-34s %12.0f\n", "events per second", (double)r->events / r->wall_s);
}

/* series.csv: FGD mode, one row per arrived percent (the authors' discrete
 * series); replay mode, one row per event. FGD mode also writes samples.csv,
 * one row per arrival (the per-step series the discrete one is made from). */
static int write_samples(const allot_sim_result *r, const char *path)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return ALLOT_EIO;
    if (r->mode == ALLOT_SIM_FGD)
        fprintf(f, "arrival,arrived_milli,alloc_milli,frag_milli\n");
    else
        fprintf(f, "time_s,arrived_milli,alloc_milli,frag_milli,pending,running\n");
    for (size_t i = 0; i < r->nsamples; i++) {
        const allot_sample *s = &r->samples[i];
        if (r->mode == ALLOT_SIM_FGD)
            fprintf(f, "%lld,%lld,%lld,%.1f\n", (long long)s->time, (long long)s->arrived_milli,
                    (long long)s->alloc_milli, s->frag_milli);
        else
            fprintf(f, "%lld,%lld,%lld,%.1f,%u,%u\n", (long long)s->time,
                    (long long)s->arrived_milli, (long long)s->alloc_milli, s->frag_milli,
                    s->pending, s->running);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return ALLOT_EIO;
    }
    return 0;
}

/* jobs.csv (replay): one row per workload job. */
static int write_jobs(const allot_workload *w, const allot_sim_result *r, const char *dir)
{
    char path[4200], tmp[4400];
    snprintf(path, sizeof path, "%s/jobs.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return ALLOT_EIO;
    static const char *lv[5] = {"node", "rack", "block", "zone", "fleet"};
    fprintf(f, "job,name,tenant,tasks,devices,submit_s,start_s,end_s,wait_s,jct_s,starts,span,"
               "racks,state\n");
    for (size_t i = 0; i < r->njobv && i < w->njobs; i++) {
        const allot_sim_job *x = &r->jobv[i];
        const allot_job *j = &w->jobs[i];
        const char *name = allot_workload_name(w, i);
        fprintf(f, "%zu,", i);
        for (const char *c = name ? name : ""; *c; c++) /* names are plain; keep CSV plain */
            fputc(*c == ',' || *c == '"' || *c == '\n' ? '_' : *c, f);
        fprintf(f, ",%s,%u,%.3f,%lld,", allot_workload_tenant_name(w, j->tenant), j->ntasks,
                (double)allot_job_milli(j) / 1000.0, (long long)x->submit);
        if (x->first_start != ALLOT_TIME_NONE)
            fprintf(f, "%lld,", (long long)x->first_start);
        else
            fprintf(f, ",");
        if (x->end != ALLOT_TIME_NONE)
            fprintf(f, "%lld,", (long long)x->end);
        else
            fprintf(f, ",");
        if (x->first_start != ALLOT_TIME_NONE)
            fprintf(f, "%lld,", (long long)(x->first_start - x->submit));
        else
            fprintf(f, ",");
        if (x->end != ALLOT_TIME_NONE)
            fprintf(f, "%lld,", (long long)(x->end - x->submit));
        else
            fprintf(f, ",");
        fprintf(f, "%u,%s,%u,%s\n", x->starts,
                x->first_start != ALLOT_TIME_NONE && x->span_level < 5 ? lv[x->span_level] : "",
                x->first_start != ALLOT_TIME_NONE ? x->span_racks : 0,
                x->failed ? "rejected"
                          : (x->end != ALLOT_TIME_NONE
                                 ? "finished"
                                 : (x->first_start != ALLOT_TIME_NONE ? "running" : "pending")));
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return ALLOT_EIO;
    }
    return 0;
}

static int write_series(const allot_sim_result *r, const char *dir)
{
    char path[4200], tmp[4400];
    snprintf(path, sizeof path, "%s/series.csv", dir);
    if (r->mode != ALLOT_SIM_FGD) return write_samples(r, path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return ALLOT_EIO;
    fprintf(f, "arrived_pct,alloc_pct,frag_pct,frag_ratio_pct\n");
    for (int k = 0; k <= ALLOT_FGD_MAX_PCT; k++)
        fprintf(f, "%d,%.2f,%.2f,%.2f\n", k, r->alloc_pct[k], r->frag_pct[k], r->frag_ratio_pct[k]);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return ALLOT_EIO;
    }
    snprintf(path, sizeof path, "%s/samples.csv", dir);
    return write_samples(r, path);
}

static int write_report(const sim_opts *o, const allot_cluster *c, const allot_workload *w,
                        const allot_sim_result *r, const char *dir)
{
    char path[4200], buf[512];
    snprintf(path, sizeof path, "%s/report.html", dir);
    int rc = 0;
    allot_report *rep = allot_report_new("allot sim report");
    double *x = NULL, *y1 = NULL, *y2 = NULL;
    if (!rep) return ALLOT_ENOMEM;
    snprintf(buf, sizeof buf,
             "Policy %s, seed %llu, %s. Cluster %s: %u nodes, %u devices. Workload %s: %zu jobs%s"
             "%llu arrivals.",
             allot_policy_name(r->policy), (unsigned long long)r->seed,
             r->mode == ALLOT_SIM_FGD ? "FGD protocol (shuffled arrivals, no departures)"
                                      : "replay of the trace's times",
             o->cluster, allot_cluster_nnodes(c), allot_cluster_ndevices(c), o->workload, w->njobs,
             r->mode == ALLOT_SIM_FGD ? ", inflated with copies or cut to the target request: "
                                      : ", ",
             (unsigned long long)r->jobs);
    allot_report_para(rep, buf);
    allot_report_heading(rep, "Summary");
    char cells[16][2][64];
    const char *cellp[32];
    int nrows = 0;
#define ROW(name, ...)                                                                             \
    do {                                                                                           \
        snprintf(cells[nrows][0], 64, "%s", name);                                                 \
        snprintf(cells[nrows][1], 64, __VA_ARGS__);                                                \
        nrows++;                                                                                   \
    } while (0)
    if (r->mode == ALLOT_SIM_FGD) {
        ROW("allocation at arrived = 100 %", "%.2f %%", r->alloc_pct[100]);
        ROW("unallocated at arrived = 100 %", "%.2f %%", allot_sim_unalloc_at_100(r));
        ROW("allocation at arrived = 130 %", "%.2f %%", r->alloc_pct[ALLOT_FGD_MAX_PCT]);
        ROW("fragmentation at 100 % (of capacity)", "%.2f %%", r->frag_pct[100]);
    } else {
        ROW("time-averaged allocation", "%.2f %%", r->alloc_time_avg_pct);
        ROW("mean queueing delay", "%.1f s", r->wait_mean_s);
        ROW("p99 queueing delay", "%.1f s", r->wait_p99_s);
        ROW("mean job completion time", "%.1f s", r->jct_mean_s);
        ROW("p99 job completion time", "%.1f s", r->jct_p99_s);
        ROW("preemptions", "%llu (%.1f device-hours lost)", (unsigned long long)r->preemptions,
            r->lost_device_h);
        ROW("node failures", "%llu (%.1f device-hours lost)", (unsigned long long)r->node_failures,
            r->failure_lost_device_h);
        ROW("ETTR", "%.4f", r->ettr);
        ROW("makespan", "%lld s", (long long)r->makespan_s);
    }
    ROW("jobs arrived", "%llu", (unsigned long long)r->jobs);
    ROW("jobs placed", "%llu", (unsigned long long)r->placed);
#undef ROW
    for (int i = 0; i < nrows; i++) {
        cellp[2 * i] = cells[i][0];
        cellp[2 * i + 1] = cells[i][1];
    }
    const char *hdr[2] = {"metric", "value"};
    allot_report_table(rep, NULL, 2, hdr, cellp, nrows);
    if (r->mode == ALLOT_SIM_FGD) {
        int n = ALLOT_FGD_MAX_PCT + 1;
        x = malloc((size_t)n * sizeof *x);
        y1 = malloc((size_t)n * sizeof *y1);
        y2 = malloc((size_t)n * sizeof *y2);
        if (!x || !y1 || !y2) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        for (int k = 0; k < n; k++) {
            x[k] = k;
            y1[k] = r->alloc_pct[k];
            y2[k] = r->frag_pct[k];
        }
        allot_series s1 = {"GPU allocation", x, y1, (size_t)n};
        allot_series ideal_s = {"arrived (ideal)", x, x, (size_t)101};
        allot_series sa[2] = {s1, ideal_s};
        allot_chart ch = {"GPU allocation vs arrived workload",
                          "arrived GPU request (% of capacity)",
                          "allocated (% of capacity)",
                          sa,
                          2,
                          0,
                          NAN,
                          0,
                          NAN,
                          0};
        allot_report_heading(rep, "Allocation");
        allot_report_chart(rep, &ch);
        allot_series s2 = {"fragmented GPUs", x, y2, (size_t)n};
        allot_chart ch2 = {"GPU fragmentation vs arrived workload",
                           "arrived GPU request (% of capacity)",
                           "fragmented (% of capacity)",
                           &s2,
                           1,
                           0,
                           NAN,
                           0,
                           NAN,
                           0};
        allot_report_heading(rep, "Fragmentation");
        allot_report_chart(rep, &ch2);
    } else if (r->nsamples > 0) {
        size_t n = r->nsamples;
        x = malloc(n * sizeof *x);
        y1 = malloc(n * sizeof *y1);
        y2 = malloc(n * sizeof *y2);
        if (!x || !y1 || !y2) {
            rc = ALLOT_ENOMEM;
            goto out;
        }
        double capm = r->capacity_milli > 0 ? (double)r->capacity_milli : 1.0;
        for (size_t i = 0; i < n; i++) {
            x[i] = (double)(r->samples[i].time - r->samples[0].time) / 3600.0;
            y1[i] = (double)r->samples[i].alloc_milli / capm * 100.0;
            y2[i] = (double)r->samples[i].pending;
        }
        allot_series s1 = {"allocated devices", x, y1, n};
        allot_chart ch = {"Device allocation over time",
                          "time (hours)",
                          "allocated (% of capacity)",
                          &s1,
                          1,
                          0,
                          100,
                          NAN,
                          NAN,
                          1};
        allot_report_heading(rep, "Allocation over time");
        allot_report_chart(rep, &ch);
        allot_series s2 = {"pending jobs", x, y2, n};
        allot_chart ch2 = {
            "Queue length over time", "time (hours)", "pending jobs", &s2, 1, 0, NAN, NAN, NAN, 1};
        allot_report_heading(rep, "Queue");
        allot_report_chart(rep, &ch2);
        if (r->njct > 0) {
            double *cx = malloc(400 * sizeof *cx), *cy = malloc(400 * sizeof *cy);
            if (cx && cy) {
                size_t m = allot_cdf_points(r->jct, r->njct, 400, 1.0 / 3600.0, cx, cy);
                allot_series s3 = {"finished jobs", cx, cy, m};
                allot_chart ch3 = {"Job completion time, CDF",
                                   "job completion time (hours, log scale)",
                                   "fraction of finished jobs",
                                   &s3,
                                   1,
                                   0,
                                   1,
                                   NAN,
                                   NAN,
                                   1};
                allot_report_heading(rep, "Job completion time");
                allot_report_chart_scaled(rep, &ch3, ALLOT_SCALE_LOG10);
            }
            free(cx);
            free(cy);
        }
        if (r->ntenants > 1) {
            size_t nt = r->ntenants;
            char(*tc)[5][48] = calloc(nt, sizeof *tc);
            const char **tp = calloc(nt * 5, sizeof *tp);
            if (tc && tp) {
                for (size_t t = 0; t < nt; t++) {
                    snprintf(tc[t][0], 48, "%s", allot_workload_tenant_name(w, (uint16_t)t));
                    snprintf(tc[t][1], 48, "%llu", (unsigned long long)r->tenants[t].jobs);
                    snprintf(tc[t][2], 48, "%.2f %%", r->tenants[t].share * 100.0);
                    snprintf(tc[t][3], 48, "%.2f %%", r->tenants[t].entitlement * 100.0);
                    snprintf(tc[t][4], 48, "%.1f", r->tenants[t].jct_mean_s);
                    for (int k = 0; k < 5; k++) tp[t * 5 + (size_t)k] = tc[t][k];
                }
                const char *th[5] = {"tenant", "jobs", "share of the fleet", "entitlement",
                                     "mean JCT (s)"};
                allot_report_heading(rep, "Tenants: share against entitlement");
                allot_report_table(rep, NULL, 5, th, tp, (int)nt);
            }
            free(tc);
            free(tp);
        }
    }
    rc = allot_report_write(rep, path);
out:
    free(x);
    free(y1);
    free(y2);
    allot_report_free(rep);
    return rc;
}

/* ---- experiment output -------------------------------------------------------------- */

static int run_experiment(sim_opts *o, const allot_cluster *c, const allot_workload *w)
{
    allot_policy pols[ALLOT_POLICY__COUNT];
    size_t np = 0;
    char list[512];
    snprintf(list, sizeof list, "%s",
             o->policies ? o->policies : "random,dotprod,gpuclustering,gpupacking,bestfit,fgd");
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int p = allot_policy_parse(tok);
        if (p < 0) return usage_error("unknown policy '%s' in --policies", tok);
        if (np >= ALLOT_POLICY__COUNT) return usage_error("too many policies in '%s'", o->policies);
        pols[np++] = (allot_policy)p;
    }
    allot_fgd_expected exp;
    int have_exp = 0;
    allot_diag d = {0};
    char stem[256];
    if (o->workload_name)
        snprintf(stem, sizeof stem, "%s", o->workload_name);
    else
        workload_stem(o->workload, stem, sizeof stem);
    if (o->expected) {
        int rc = allot_fgd_expected_read(o->expected, stem, &exp, &d);
        if (rc) return cli_fail(rc, &d);
        have_exp = 1;
    }
    allot_experiment_row rows[ALLOT_POLICY__COUNT];
    int nseeds = (int)(o->seed1 - o->seed0 + 1);
    cli_progress pr;
    cli_progress_init(&pr, "experiment", !o->quiet && !o->json);
    allot_sim_config base = o->cfg;
    base.progress = cli_progress_cb;
    base.progress_arg = &pr;
    double t0 = cli_now();
    int rc =
        allot_fgd_experiment(c, w, pols, np, o->seed0, nseeds, (int)o->threads, &base, rows, &d);
    double wall = cli_now() - t0;
    cli_progress_done(&pr);
    if (rc) return cli_fail(rc, &d);
    if (o->json) {
        json_t *j = json_object(), *jp = json_object();
        json_object_set_new(j, "workload", json_string(stem));
        json_object_set_new(j, "seeds", json_integer(nseeds));
        json_object_set_new(j, "seed_first", json_integer((json_int_t)o->seed0));
        for (size_t i = 0; i < np; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "unallocated_pct_at_100", jnum(rows[i].unalloc_at_100_mean));
            json_object_set_new(e, "alloc_pct_at_130", jnum(rows[i].alloc_at_130_mean));
            json_object_set_new(e, "unallocated_pct_at_100_sd", jnum(rows[i].unalloc_at_100_sd));
            json_object_set_new(e, "alloc_pct_at_130_sd", jnum(rows[i].alloc_at_130_sd));
            if (have_exp) {
                json_object_set_new(e, "expected_unallocated_pct_at_100",
                                    jnum(exp.unalloc_at_100[pols[i]]));
                json_object_set_new(e, "expected_alloc_pct_at_130",
                                    jnum(exp.alloc_at_130[pols[i]]));
            }
            json_object_set_new(jp, allot_policy_name(pols[i]), e);
        }
        json_object_set_new(j, "policies", jp);
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s) puts(s);
        free(s);
        json_decref(j);
    } else {
        printf("FGD experiment: %s on %s, %zu policies x %d seeds (%llu..%llu), %.1f s\n\n", stem,
               o->cluster, np, nseeds, (unsigned long long)o->seed0, (unsigned long long)o->seed1,
               wall);
        printf("  %-14s %22s %9s %7s   %20s %9s %7s\n", "policy", "unallocated@100 (%)",
               have_exp ? "authors" : "", have_exp ? "diff" : "", "allocation@130 (%)",
               have_exp ? "authors" : "", have_exp ? "diff" : "");
        for (size_t i = 0; i < np; i++) {
            const allot_experiment_row *r = &rows[i];
            printf("  %-14s %14.2f +- %5.2f", allot_policy_name(r->policy), r->unalloc_at_100_mean,
                   r->unalloc_at_100_sd);
            if (have_exp && !isnan(exp.unalloc_at_100[r->policy]))
                printf(" %9.2f %+7.2f", exp.unalloc_at_100[r->policy],
                       r->unalloc_at_100_mean - exp.unalloc_at_100[r->policy]);
            else
                printf(" %9s %7s", "", "");
            printf("   %12.2f +- %5.2f", r->alloc_at_130_mean, r->alloc_at_130_sd);
            if (have_exp && !isnan(exp.alloc_at_130[r->policy]))
                printf(" %9.2f %+7.2f", exp.alloc_at_130[r->policy],
                       r->alloc_at_130_mean - exp.alloc_at_130[r->policy]);
            printf("\n");
        }
    }
    if (o->out) {
        rc = cli_mkdirs(o->out);
        if (rc) return cli_fail(rc, NULL);
        char path[4200];
        snprintf(path, sizeof path, "%s/experiment.csv", o->out);
        FILE *f = fopen(path, "w");
        if (!f) return cli_fail(ALLOT_EIO, NULL);
        fprintf(f, "policy,unallocated_pct_at_100,sd,alloc_pct_at_130,sd,expected_unallocated_pct_"
                   "at_100,expected_alloc_pct_at_130\n");
        for (size_t i = 0; i < np; i++)
            fprintf(f, "%s,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", allot_policy_name(rows[i].policy),
                    rows[i].unalloc_at_100_mean, rows[i].unalloc_at_100_sd,
                    rows[i].alloc_at_130_mean, rows[i].alloc_at_130_sd,
                    have_exp ? exp.unalloc_at_100[rows[i].policy] : NAN,
                    have_exp ? exp.alloc_at_130[rows[i].policy] : NAN);
        fclose(f);
        allot_report *rep = allot_report_new("allot FGD experiment");
        if (!rep) return cli_fail(ALLOT_ENOMEM, NULL);
        char buf[512];
        snprintf(buf, sizeof buf, "Workload %s on cluster %s; %d seeds from %llu; FGD protocol.",
                 stem, o->cluster, nseeds, (unsigned long long)o->seed0);
        allot_report_para(rep, buf);
        static double xs[ALLOT_FGD_MAX_PCT + 1];
        for (int k = 0; k <= ALLOT_FGD_MAX_PCT; k++) xs[k] = k;
        allot_series ss[ALLOT_POLICY__COUNT], sf[ALLOT_POLICY__COUNT];
        for (size_t i = 0; i < np; i++) {
            ss[i] = (allot_series){allot_policy_name(rows[i].policy), xs, rows[i].alloc_pct_mean,
                                   ALLOT_FGD_MAX_PCT + 1};
            sf[i] = (allot_series){allot_policy_name(rows[i].policy), xs, rows[i].frag_pct_mean,
                                   ALLOT_FGD_MAX_PCT + 1};
        }
        allot_chart ch = {"Mean GPU allocation vs arrived workload",
                          "arrived GPU request (% of capacity)",
                          "allocated (% of capacity)",
                          ss,
                          np,
                          NAN,
                          NAN,
                          0,
                          NAN,
                          0};
        allot_report_heading(rep, "Allocation");
        allot_report_chart(rep, &ch);
        allot_chart ch2 = {"Mean GPU fragmentation vs arrived workload",
                           "arrived GPU request (% of capacity)",
                           "fragmented (% of capacity)",
                           sf,
                           np,
                           0,
                           NAN,
                           0,
                           NAN,
                           0};
        allot_report_heading(rep, "Fragmentation");
        allot_report_chart(rep, &ch2);
        snprintf(path, sizeof path, "%s/report.html", o->out);
        rc = allot_report_write(rep, path);
        allot_report_free(rep);
        if (rc) return cli_fail(rc, NULL);
    }
    return 0;
}

/* ---- main --------------------------------------------------------------------------- */

enum {
    OPT_CLUSTER = 256,
    OPT_WORKLOAD,
    OPT_POLICY,
    OPT_PLACEMENT,
    OPT_CKPT,
    OPT_FAILURES,
    OPT_REPAIR,
    OPT_SPEEDS,
    OPT_SPEEDPICK,
    OPT_MODE,
    OPT_SEED,
    OPT_INFLATE,
    OPT_COVERAGE,
    OPT_TIMESCALE,
    OPT_ARRSCALE,
    OPT_ORDER,
    OPT_BACKFILL,
    OPT_PREEMPT,
    OPT_TENANTS,
    OPT_TIEBREAK,
    OPT_CHECK,
    OPT_EXPERIMENT,
    OPT_POLICIES,
    OPT_SEEDS,
    OPT_THREADS,
    OPT_EXPECTED,
    OPT_WLNAME,
    OPT_OUT,
    OPT_JSON,
    OPT_QUIET,
};

static const struct option long_opts[] = {
    {"cluster", required_argument, 0, OPT_CLUSTER},
    {"workload", required_argument, 0, OPT_WORKLOAD},
    {"policy", required_argument, 0, OPT_POLICY},
    {"placement", required_argument, 0, OPT_PLACEMENT},
    {"checkpoint", required_argument, 0, OPT_CKPT},
    {"failures", required_argument, 0, OPT_FAILURES},
    {"repair-time", required_argument, 0, OPT_REPAIR},
    {"speeds", required_argument, 0, OPT_SPEEDS},
    {"speed-pick", no_argument, 0, OPT_SPEEDPICK},
    {"mode", required_argument, 0, OPT_MODE},
    {"seed", required_argument, 0, OPT_SEED},
    {"inflate", required_argument, 0, OPT_INFLATE},
    {"coverage", required_argument, 0, OPT_COVERAGE},
    {"time-scale", required_argument, 0, OPT_TIMESCALE},
    {"arrival-scale", required_argument, 0, OPT_ARRSCALE},
    {"order", required_argument, 0, OPT_ORDER},
    {"backfill", required_argument, 0, OPT_BACKFILL},
    {"preempt", no_argument, 0, OPT_PREEMPT},
    {"tenants", required_argument, 0, OPT_TENANTS},
    {"tiebreak", required_argument, 0, OPT_TIEBREAK},
    {"check", no_argument, 0, OPT_CHECK},
    {"experiment", required_argument, 0, OPT_EXPERIMENT},
    {"policies", required_argument, 0, OPT_POLICIES},
    {"seeds", required_argument, 0, OPT_SEEDS},
    {"threads", required_argument, 0, OPT_THREADS},
    {"expected", required_argument, 0, OPT_EXPECTED},
    {"workload-name", required_argument, 0, OPT_WLNAME},
    {"out", required_argument, 0, OPT_OUT},
    {"json", no_argument, 0, OPT_JSON},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int allot_cmd_sim(int argc, char **argv)
{
    if (cli_wants_mixed(argc, argv)) return allot_cmd_mixed(argc, argv);
    if (cli_wants_serve(argc, argv)) return allot_cmd_serve(argc, argv, 0);
    sim_opts o;
    memset(&o, 0, sizeof o);
    allot_sim_config_init(&o.cfg);
    o.cluster = "builtin:sample";
    o.workload = "gen:mixed";
    o.seed0 = 42;
    o.seed1 = 51;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = ncpu > 0 ? (unsigned long long)ncpu : 1;
    int seed_given = 0, mode_given = 0;
    int cluster_given = 0; /* without --cluster a Philly table picks builtin:philly */
    optind = 1;
    opterr = 0;
    int ch;
    int li = 0;
    while ((ch = getopt_long(argc, argv, ":h", long_opts, &li)) != -1) {
        unsigned long long u;
        double x;
        switch (ch) {
        case OPT_CLUSTER:
            o.cluster = optarg;
            cluster_given = 1;
            break;
        case OPT_WORKLOAD: o.workload = optarg; break;
        case OPT_POLICY: {
            int p = allot_sched_policy_parse(optarg);
            if (p >= 0) {
                o.cfg.sched_policy = p;
                break;
            }
            p = allot_policy_parse(optarg);
            if (p < 0)
                return usage_error("unknown policy '%s' (fifo, fifo-backfill, priority-preempt, "
                                   "las, drf, allot; or a placement: random, dotprod, "
                                   "gpuclustering, gpupacking, bestfit, fgd, fgd-la)",
                                   optarg);
            o.cfg.policy = (allot_policy)p;
            break;
        }
        case OPT_SPEEDS:
            if (strcmp(optarg, "none") == 0)
                o.cfg.speeds = 0;
            else if (strcmp(optarg, "catalog") == 0)
                o.cfg.speeds = 1;
            else
                return usage_error("unknown speeds '%s' (none or catalog)", optarg);
            break;
        case OPT_SPEEDPICK: o.cfg.speed_pick = 1; break;
        case OPT_MODE:
            mode_given = 1;
            if (strcmp(optarg, "fgd") == 0)
                o.cfg.mode = ALLOT_SIM_FGD;
            else if (strcmp(optarg, "replay") == 0)
                o.cfg.mode = ALLOT_SIM_REPLAY;
            else
                return usage_error("unknown mode '%s' (fgd or replay)", optarg);
            break;
        case OPT_SEED:
            seed_given = 1;
            /* fall through */
        case OPT_PLACEMENT:
        case OPT_TIMESCALE:
        case OPT_CKPT:
        case OPT_FAILURES:
        case OPT_REPAIR:
            if (cli_replay_opt("sim", long_opts[li].name, optarg, &o.cfg)) return CLI_EXIT_USAGE;
            break;
        case OPT_INFLATE:
            if (cli_parse_double(optarg, 0.0, 100.0, &x))
                return usage_error("--inflate wants a number in 0..100, got '%s'", optarg);
            o.cfg.inflate = x;
            break;
        case OPT_COVERAGE:
            if (cli_parse_double(optarg, 0.01, 1.0, &x))
                return usage_error("--coverage wants a number in 0.01..1, got '%s'", optarg);
            o.cfg.coverage = x;
            break;
        case OPT_ARRSCALE:
            if (cli_parse_double(optarg, 1.0, 1e9, &x))
                return usage_error("--arrival-scale wants a number >= 1, got '%s'", optarg);
            o.cfg.arrival_scale = x;
            break;
        case OPT_ORDER:
            if (strcmp(optarg, "fifo") == 0)
                o.cfg.order = ALLOT_ORDER_FIFO;
            else if (strcmp(optarg, "priority") == 0)
                o.cfg.order = ALLOT_ORDER_PRIORITY;
            else if (strcmp(optarg, "las") == 0)
                o.cfg.order = ALLOT_ORDER_LAS;
            else if (strcmp(optarg, "drf") == 0)
                o.cfg.order = ALLOT_ORDER_DRF;
            else
                return usage_error("unknown queue order '%s' (fifo, priority, las or drf)", optarg);
            break;
        case OPT_PREEMPT: o.cfg.preempt = 1; break;
        case OPT_TENANTS:
            if (strcmp(optarg, "equal") != 0)
                return usage_error("unknown tenant setting '%s' (equal)", optarg);
            o.cfg.tenants_equal = 1;
            break;
        case OPT_BACKFILL:
            if (strcmp(optarg, "greedy") == 0)
                o.cfg.backfill = ALLOT_BACKFILL_GREEDY;
            else if (strcmp(optarg, "none") == 0)
                o.cfg.backfill = ALLOT_BACKFILL_NONE;
            else if (strcmp(optarg, "easy") == 0)
                o.cfg.backfill = ALLOT_BACKFILL_EASY;
            else if (strcmp(optarg, "conservative") == 0)
                o.cfg.backfill = ALLOT_BACKFILL_CONSERVATIVE;
            else
                return usage_error(
                    "unknown backfill mode '%s' (greedy, none, easy or conservative)", optarg);
            break;
        case OPT_TIEBREAK:
            if (strcmp(optarg, "rank") == 0)
                o.cfg.tiebreak = ALLOT_TIE_RANK;
            else if (strcmp(optarg, "random") == 0)
                o.cfg.tiebreak = ALLOT_TIE_RANDOM;
            else
                return usage_error("unknown tie-break '%s' (rank or random)", optarg);
            break;
        case OPT_CHECK: o.cfg.check_invariants = 1; break;
        case OPT_EXPERIMENT:
            if (strcmp(optarg, "fgd") != 0)
                return usage_error("unknown experiment '%s' (fgd)", optarg);
            o.experiment = 1;
            break;
        case OPT_POLICIES: o.policies = optarg; break;
        case OPT_SEEDS: {
            const char *dash = strchr(optarg, '-');
            unsigned long long s0, s1;
            char first[32];
            size_t flen = dash ? (size_t)(dash - optarg) : strlen(optarg);
            if (flen == 0 || flen >= sizeof first)
                return usage_error("--seeds wants A-B or N, got '%s'", optarg);
            memcpy(first, optarg, flen);
            first[flen] = '\0';
            if (cli_parse_u64(first, 0, INT64_MAX, &s0))
                return usage_error("--seeds wants A-B or N, got '%s'", optarg);
            if (dash) {
                if (cli_parse_u64(dash + 1, 0, INT64_MAX, &s1) || s1 < s0 || s1 - s0 >= 1000)
                    return usage_error(
                        "--seeds wants A-B with A <= B and at most 1000 seeds, got '%s'", optarg);
            } else {
                s1 = s0;
            }
            o.seed0 = s0;
            o.seed1 = s1;
            break;
        }
        case OPT_THREADS:
            if (cli_parse_u64(optarg, 1, 256, &u))
                return usage_error("--threads wants 1..256, got '%s'", optarg);
            o.threads = u;
            break;
        case OPT_EXPECTED: o.expected = optarg; break;
        case OPT_WLNAME: o.workload_name = optarg; break;
        case OPT_OUT:
            if (optarg[0] == '-' || optarg[0] == '\0')
                return usage_error("--out wants a directory, got '%s' (an option?)", optarg);
            o.out = optarg;
            break;
        case OPT_JSON: o.json = 1; break;
        case OPT_QUIET: o.quiet = 1; break;
        case 'h': fputs(sim_usage, stdout); return 0;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (o.cfg.speed_pick && !o.cfg.speeds)
        return usage_error("%s", "--speed-pick needs --speeds catalog (a speed per chip type)");
    int replay_opts = o.cfg.sched_policy >= 0 || o.cfg.fail_rate > 0 || o.cfg.speeds;
    if (replay_opts && !mode_given && !o.experiment) o.cfg.mode = ALLOT_SIM_REPLAY;
    if (replay_opts && o.cfg.mode == ALLOT_SIM_FGD)
        return usage_error("%s", "--policy fifo|fifo-backfill|priority-preempt|las|drf|allot, "
                                 "--failures and --speeds need a queue: use --mode replay (the "
                                 "FGD protocol has no departures)");
    if (o.experiment && o.cfg.mode != ALLOT_SIM_FGD)
        return usage_error("%s", "--experiment fgd runs the FGD protocol; drop --mode replay");
    if (o.experiment && seed_given)
        return usage_error("%s", "--experiment takes --seeds A-B, not --seed");

    allot_diag d = {0};
    allot_cluster *c = NULL;
    allot_workload w;
    int rc = cli_load_inputs("sim", &o.cluster, cluster_given, o.workload, &c, &w);
    if (rc) return rc;
    int ret = 0;
    if (o.experiment) {
        ret = run_experiment(&o, c, &w);
        goto done;
    }
    cli_progress pr;
    cli_progress_init(&pr, "simulating", !o.quiet && !o.json);
    o.cfg.progress = cli_progress_cb;
    o.cfg.progress_arg = &pr;
    o.cfg.record_samples = o.out != NULL;
    allot_sim_result r;
    rc = allot_sim_run(c, &w, &o.cfg, &r, &d);
    cli_progress_done(&pr);
    if (rc) {
        ret = cli_fail(rc, &d);
        goto done;
    }
    json_t *j = summary_json(&o, c, &w, &r);
    if (o.json) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s) puts(s);
        free(s);
    } else {
        print_table(&o, c, &w, &r);
    }
    if (o.out) {
        char path[4200];
        rc = cli_mkdirs(o.out);
        snprintf(path, sizeof path, "%s/summary.json", o.out);
        if (rc == 0) rc = cli_write_json(j, path);
        if (rc == 0) rc = write_series(&r, o.out);
        if (rc == 0 && r.mode == ALLOT_SIM_REPLAY) rc = write_jobs(&w, &r, o.out);
        if (rc == 0) rc = write_report(&o, c, &w, &r, o.out);
        if (rc) {
            fprintf(stderr, "allot sim: cannot write into %s: %s\n", o.out, allot_strerror(rc));
            ret = CLI_EXIT_FAIL;
        } else if (!o.json) {
            printf("\nwrote summary.json, series.csv%s and report.html into %s\n",
                   r.mode == ALLOT_SIM_FGD ? ", samples.csv" : ", jobs.csv", o.out);
        }
    }
    json_decref(j);
    allot_sim_result_free(&r);
done:
    allot_workload_free(&w);
    allot_cluster_free(c);
    return ret;
}
