/* cmd_mixed.c - the mixed fleet from the command line:
 *   allot sim --workload REQUEST_TRACE [--workload ...] --training JOBS
 *             --cluster SPEC --serve-pool POOL [--json] [--out DIR]
 * Inference services and a training workload share one fleet: the serving
 * pool's idle devices are lent to preemptible training and reclaimed when
 * the services need them (mixed.h). `allot sim` hands over here when
 * --training or --serve-pool is given. Every run is made twice, with and
 * without lending, so that what lending costs the services and gives the
 * training is in the same output. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allot/mixed.h"
#include "allot/report.h"
#include "allot/spec.h"
#include "allot/trace.h"
#include "cli.h"

#define MAX_SERVICES 16

static const char mixed_usage[] =
    "usage: allot sim --workload REQUEST_TRACE [--workload REQUEST_TRACE ...]\n"
    "                 --training JOBS --cluster SPEC --serve-pool POOL [options]\n"
    "\n"
    "The mixed fleet: inference services and a training workload share one\n"
    "fleet. The services' replicas run on a serving pool (a set of nodes); the\n"
    "pool devices serving does not hold are lent to preemptible one-task training\n"
    "jobs and taken back when a service needs them: the borrowers get a grace\n"
    "period, then the scheduler core stops those that lose the least work since\n"
    "their last checkpoint (they resume from it), and the replica's cold start\n"
    "begins. Training runs through the same scheduler core as `allot server`.\n"
    "Each run is made with and without lending, and once more without lending\n"
    "but with every replica's cold start lengthened by the grace (what the\n"
    "services would get if every scale-up waited for a reclaim).\n"
    "\n"
    "inputs:\n"
    "  --workload PATH     a request trace, once per service (an Azure LLM CSV, a\n"
    "                      ServeGen directory, the GenAI lora_request_trace.csv);\n"
    "                      each runs the documented default service of its kind\n"
    "  --training PATH     the training workload: a Philly table, an openb pod list\n"
    "                      with times, or gen:mixed|gen:llm[:key=value,...]\n"
    "  --cluster PATH      the fleet: a JSON spec or a node list (default\n"
    "                      builtin:sample); data/mixed-fleet.json is 32 H100 nodes\n"
    "                      with a 4-node serving block\n"
    "  --serve-pool POOL   the serving pool: N (the first N nodes with\n"
    "                      accelerators), zone:NAME, block:NAME, rack:NAME, or a\n"
    "                      comma-separated list of node names (required)\n"
    "\n"
    "serving (as allot sim on a request trace; docs/internals/serving.md):\n"
    "  --service-policy P  hpa, knative, predictive or allot (default allot), for\n"
    "                      every service\n"
    "  --chip T            the replicas' chip type (default: the first of the\n"
    "                      service's types that the pool has)\n"
    "  --slo S             latency SLO, s (default 10 for LLMs, 60 for images)\n"
    "  --slo-target F      share of requests to keep within it (default 0.99)\n"
    "  --max-replicas N    per service (default 64)\n"
    "  --dt S              serving step, whole seconds (default 1; 10 when a trace\n"
    "                      spans over a day)\n"
    "  --span S            use the first S seconds of each request trace; the horizon\n"
    "                      is the longest trace (a shorter one's service keeps its\n"
    "                      replicas, with no requests, to the end)\n"
    "  --rate-scale X      ServeGen: multiply the released rates (default 1)\n"
    "\n"
    "lending:\n"
    "  --grace S           seconds a borrower keeps its devices after a reclaim is\n"
    "                      announced (to checkpoint and stop), default 20; reclaim\n"
    "                      latency is at most S and a replica is ready at most S + dt\n"
    "                      later than without lending\n"
    "  --reserve N         spare replicas per service kept on the pool and not lent\n"
    "                      (default 0): a scale-up takes one at once instead of\n"
    "                      waiting for a reclaim; they count as idle, not lent\n"
    "  --warmup S          training runs alone S seconds before the request traces\n"
    "                      begin (default 0); the pool's figures cover the traces\n"
    "\n"
    "training (as allot sim --mode replay):\n"
    "  --policy NAME       fifo, fifo-backfill, priority-preempt (default), las or\n"
    "                      allot (drf is not supported: the core's tenants are\n"
    "                      serving and training)\n"
    "  --placement NAME    random, dotprod, gpuclustering, gpupacking, bestfit\n"
    "                      (default), fgd, fgd-la\n"
    "  --training-start S  the window starts at this submit time of the job trace\n"
    "                      (seconds from its first job; earlier jobs are left out)\n"
    "                      and becomes time 0; jobs arriving after the horizon are\n"
    "                      left out and the run stops at its end\n"
    "  --checkpoint S      a workload that says nothing about preemption (Philly) is\n"
    "                      preemptible with a checkpoint every S s (default 1800;\n"
    "                      0 = not preemptible: nothing borrows)\n"
    "  --time-scale X      divide training times by X (default 1)\n"
    "  --arrival-scale X   divide training arrival times only by X (default 1)\n"
    "  --seed N            tie-breaking and ServeGen draws (default 42)\n"
    "  --check             verify the core's invariants after every event (slow)\n"
    "\n"
    "output:\n"
    "  --json              print the summary as JSON\n"
    "  --out DIR           write DIR/summary.json and DIR/report.html (the pool over\n"
    "                      time: serving, lent, idle; reclaim latencies; services\n"
    "                      and training with and without lending)\n"
    "  --quiet             accepted (there is no progress bar)\n"
    "  -h, --help          this help\n"
    "\n"
    "JSON: lent_device_hours, idle_serving_device_hours, lent_share (lent / idle),\n"
    "serving_device_hours, pool_device_hours, reclaims, reclaim_p50_s,\n"
    "reclaim_p99_s, reclaim_max_s, reclaim_bound_s (grace + dt),\n"
    "reclaim_failures, reserve_device_hours; services[] (slo_attainment and\n"
    "device_hours with and without lending, slo_attainment_all_starts_delayed,\n"
    "reclaims, denied_replica_steps); training and training_without_lending\n"
    "(jobs, borrowers, finished, jct_mean_s, jct_p99_s, preemptions,\n"
    "reclaim_preemptions, lost_device_hours, ettr, device_hours). The method is\n"
    "in docs/internals/mixed.md.\n"
    "\n"
    "example (from the repository, without ../shared):\n"
    "  allot sim --workload tests/data/azure_small.csv \\\n"
    "            --training gen:llm:n=300,rate=60 --warmup 7200 \\\n"
    "            --cluster data/mixed-fleet.json --serve-pool block:serve\n";

int cli_wants_mixed(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--training") == 0 || strncmp(a, "--training=", 11) == 0 ||
            strcmp(a, "--serve-pool") == 0 || strncmp(a, "--serve-pool=", 13) == 0)
            return 1;
    }
    return 0;
}

typedef struct mixed_opts {
    const char *workloads[MAX_SERVICES];
    int nworkloads;
    const char *training, *cluster, *pool, *out, *chip;
    int svc_policy, json, check;
    double slo, slo_target, dt, span, rate_scale;
    long long max_replicas;
    allot_mixed_config cfg;
} mixed_opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "allot sim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot sim --training X --help' for the mixed fleet's options.\n");
    return CLI_EXIT_USAGE;
}

/* The pool from --serve-pool: per node 1/0. Returns 0, or an exit code after
 * printing why. */
static int parse_pool(const char *spec, const allot_cluster *c, uint8_t *pool)
{
    uint32_t nn = allot_cluster_nnodes(c), gpu_nodes = 0, picked = 0;
    for (uint32_t n = 0; n < nn; n++) gpu_nodes += allot_cluster_node(c, n)->ndev > 0;
    memset(pool, 0, nn ? nn : 1);
    unsigned long long k;
    if (cli_parse_u64(spec, 0, UINT32_MAX, &k) == 0) {
        if (k == 0 || k > gpu_nodes) {
            fprintf(stderr,
                    "allot sim: --serve-pool %s: the fleet has %u nodes with accelerators (the "
                    "pool takes the first N of them, 1 <= N <= %u)\n",
                    spec, gpu_nodes, gpu_nodes);
            return CLI_EXIT_FAIL;
        }
        for (uint32_t n = 0; n < nn && picked < k; n++)
            if (allot_cluster_node(c, n)->ndev > 0) pool[n] = 1, picked++;
        return 0;
    }
    int level = -1;
    const char *name = spec;
    if (strncmp(spec, "zone:", 5) == 0) level = ALLOT_LEVEL_ZONE, name = spec + 5;
    if (strncmp(spec, "block:", 6) == 0) level = ALLOT_LEVEL_BLOCK, name = spec + 6;
    if (strncmp(spec, "rack:", 5) == 0) level = ALLOT_LEVEL_RACK, name = spec + 5;
    if (level >= 0) {
        for (uint32_t n = 0; n < nn; n++) {
            uint32_t dom = allot_cluster_node(c, n)->rack;
            for (int l = ALLOT_LEVEL_RACK; l > level; l--)
                dom = allot_cluster_domain(c, dom)->parent;
            if (strcmp(allot_cluster_domain(c, dom)->name, name) == 0) pool[n] = 1, picked++;
        }
        if (!picked) {
            fprintf(stderr, "allot sim: --serve-pool %s: the fleet has no %s named '%s'\n", spec,
                    level == ALLOT_LEVEL_ZONE    ? "zone"
                    : level == ALLOT_LEVEL_BLOCK ? "block"
                                                 : "rack",
                    name);
            return CLI_EXIT_FAIL;
        }
        return 0;
    }
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char node[ALLOT_NAME_MAX];
        if (len == 0 || len >= sizeof node) {
            fprintf(stderr, "allot sim: --serve-pool %s: an empty or too long node name\n", spec);
            return CLI_EXIT_USAGE;
        }
        memcpy(node, p, len);
        node[len] = '\0';
        int id = allot_cluster_find_node(c, node);
        if (id < 0) {
            fprintf(stderr,
                    "allot sim: --serve-pool: the fleet has no node '%s' (POOL is N, zone:NAME, "
                    "block:NAME, rack:NAME or node names)\n",
                    node);
            return CLI_EXIT_FAIL;
        }
        pool[id] = 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(round(v * 1e6) / 1e6) : json_null();
}

static json_t *training_json(const allot_mixed_training *t)
{
    json_t *j = json_object();
    json_object_set_new(j, "jobs", json_integer((json_int_t)t->jobs));
    json_object_set_new(j, "borrowers", json_integer((json_int_t)t->borrowers));
    json_object_set_new(j, "started", json_integer((json_int_t)t->started));
    json_object_set_new(j, "finished", json_integer((json_int_t)t->finished));
    json_object_set_new(j, "rejected", json_integer((json_int_t)t->rejected));
    json_object_set_new(j, "wait_mean_s", jnum(t->wait_mean_s));
    json_object_set_new(j, "wait_p99_s", jnum(t->wait_p99_s));
    json_object_set_new(j, "jct_mean_s", jnum(t->jct_mean_s));
    json_object_set_new(j, "jct_p50_s", jnum(t->jct_p50_s));
    json_object_set_new(j, "jct_p99_s", jnum(t->jct_p99_s));
    json_object_set_new(j, "preemptions", json_integer((json_int_t)t->preemptions));
    json_object_set_new(j, "reclaim_preemptions", json_integer((json_int_t)t->reclaim_preemptions));
    json_object_set_new(j, "lost_device_hours", jnum(t->lost_device_h));
    json_object_set_new(j, "ettr", jnum(t->ettr));
    json_object_set_new(j, "device_hours", jnum(t->device_h));
    json_object_set_new(j, "useful_device_hours", jnum(t->useful_device_h));
    return j;
}

static json_t *summary_json(const mixed_opts *o, const allot_cluster *c,
                            const allot_reqtrace *traces, const allot_mixed_service *sv,
                            const allot_mixed_result *r, const allot_mixed_result *b,
                            const allot_mixed_result *z)
{
    json_t *j = json_object();
    json_object_set_new(j, "mode", json_string("mixed"));
    json_t *jc = json_object();
    json_object_set_new(jc, "source", json_string(o->cluster));
    json_object_set_new(jc, "nodes", json_integer(allot_cluster_nnodes(c)));
    json_object_set_new(jc, "devices", json_integer(allot_cluster_ndevices(c)));
    json_object_set_new(j, "cluster", jc);
    json_t *jp = json_object();
    json_object_set_new(jp, "spec", json_string(o->pool));
    json_object_set_new(jp, "nodes", json_integer(r->pool_nodes));
    json_object_set_new(jp, "devices", json_integer(r->pool_devices));
    json_object_set_new(j, "serve_pool", jp);
    json_object_set_new(j, "dt_s", jnum(r->dt));
    json_object_set_new(j, "horizon_s", jnum(r->horizon_s));
    json_object_set_new(j, "warmup_s", json_integer(r->warmup_s));
    json_object_set_new(j, "reclaim_grace_s", json_integer(r->grace_s));
    json_object_set_new(j, "training_policy",
                        json_string(o->cfg.sched_policy >= 0
                                        ? allot_sched_policy_name(o->cfg.sched_policy)
                                        : "custom"));
    json_object_set_new(j, "placement", json_string(allot_policy_name(o->cfg.placement)));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->cfg.seed));
    json_object_set_new(j, "pool_device_hours", jnum(r->pool_device_h));
    json_object_set_new(j, "serving_device_hours", jnum(r->serving_device_h));
    json_object_set_new(j, "idle_serving_device_hours", jnum(r->idle_serving_device_h));
    json_object_set_new(j, "lent_device_hours", jnum(r->lent_device_h));
    json_object_set_new(j, "lent_share", jnum(r->lent_share));
    json_object_set_new(j, "serving_peak_devices", jnum(r->serving_peak_devices));
    json_object_set_new(j, "reclaims", json_integer((json_int_t)r->reclaims));
    json_object_set_new(j, "reclaim_failures", json_integer((json_int_t)r->reclaim_failures));
    json_object_set_new(j, "reclaim_p50_s", jnum(r->reclaim_p50_s));
    json_object_set_new(j, "reclaim_p99_s", jnum(r->reclaim_p99_s));
    json_object_set_new(j, "reclaim_max_s", jnum(r->reclaim_max_s));
    json_object_set_new(j, "reclaim_bound_s", jnum(r->reclaim_bound_s));
    double lost = 0;
    for (size_t i = 0; i < r->nreclaim; i++) lost += r->reclaimv[i].lost_device_s;
    json_object_set_new(j, "reclaim_lost_device_hours", jnum(lost / 3600));
    json_object_set_new(j, "reserve", json_integer(o->cfg.reserve));
    json_object_set_new(j, "reserve_device_hours", jnum(r->reserve_device_h));
    json_object_set_new(j, "reserve_refills", json_integer((json_int_t)r->reserve_refills));
    json_t *js = json_array();
    for (size_t k = 0; k < r->nsvc; k++) {
        const allot_serve_result *a = &r->svc[k].serve, *x = &b->svc[k].serve;
        json_t *e = json_object();
        json_object_set_new(e, "workload", json_string(traces[k].name));
        json_object_set_new(e, "service", json_string(sv[k].svc->name));
        json_object_set_new(e, "chip", json_string(sv[k].svc->chips[sv[k].chip].name));
        json_object_set_new(e, "autoscaler", json_string(allot_autoscaler_name(sv[k].policy)));
        json_object_set_new(e, "slo_s", jnum(sv[k].svc->slo_s));
        json_object_set_new(e, "requests", json_integer((json_int_t)a->requests));
        json_object_set_new(e, "slo_attainment", jnum(a->slo_attainment));
        json_object_set_new(e, "slo_attainment_without_lending", jnum(x->slo_attainment));
        json_object_set_new(e, "slo_attainment_all_starts_delayed",
                            jnum(z->svc[k].serve.slo_attainment));
        json_object_set_new(e, "dropped", json_integer((json_int_t)a->dropped));
        json_object_set_new(e, "device_hours", jnum(a->device_hours));
        json_object_set_new(e, "device_hours_without_lending", jnum(x->device_hours));
        json_object_set_new(e, "oracle_device_hours", jnum(a->oracle_device_hours));
        json_object_set_new(e, "peak_replicas", jnum(a->peak_replicas));
        json_object_set_new(e, "reclaims", json_integer((json_int_t)r->svc[k].reclaims));
        json_object_set_new(e, "denied_replica_steps", json_integer((json_int_t)r->svc[k].denied));
        json_object_set_new(e, "denied_replica_steps_without_lending",
                            json_integer((json_int_t)b->svc[k].denied));
        json_array_append_new(js, e);
    }
    json_object_set_new(j, "services", js);
    json_t *jt = training_json(&r->training);
    json_object_set_new(jt, "source", json_string(o->training ? o->training : "none"));
    json_object_set_new(j, "training", jt);
    json_object_set_new(j, "training_without_lending", training_json(&b->training));
    return j;
}

static void print_table(const mixed_opts *o, const allot_cluster *c, const allot_reqtrace *traces,
                        const allot_mixed_service *sv, const allot_mixed_result *r,
                        const allot_mixed_result *b, const allot_mixed_result *z)
{
    printf("allot sim: mixed fleet, %s, pool %s (%u nodes, %u devices of %u), horizon %.0f s, "
           "step %g s, grace %lld s\n\n",
           o->cluster, o->pool, r->pool_nodes, r->pool_devices, allot_cluster_ndevices(c),
           r->horizon_s, r->dt, (long long)r->grace_s);
    printf("  serving pool                          device-hours\n");
    printf("    held by serving                     %12.2f\n", r->serving_device_h);
    printf("    idle serving                        %12.2f\n", r->idle_serving_device_h);
    printf("    lent to training                    %12.2f   (%.1f %% of idle)\n", r->lent_device_h,
           r->lent_share * 100);
    if (o->cfg.reserve)
        printf("    held in reserve (idle, not lent)    %12.2f   (%d per service)\n",
               r->reserve_device_h, o->cfg.reserve);
    printf("  reclaims %llu: latency p50 %.1f s, p99 %.1f s, max %.1f s (bound %.0f s)%s\n\n",
           (unsigned long long)r->reclaims, r->reclaim_p50_s, r->reclaim_p99_s, r->reclaim_max_s,
           r->reclaim_bound_s, r->reclaim_failures ? ", some failed" : "");
    printf("  %-18s %-10s %26s %17s %8s\n", "service", "autoscaler", "within SLO", "device-hours",
           "reclaims");
    printf("  %-18s %-10s %8s %8s %8s %8s %8s\n", "", "", "lending", "without", "delayed",
           "lending", "without");
    for (size_t k = 0; k < r->nsvc; k++)
        printf("  %-18.18s %-10s %7.3f%% %7.3f%% %7.3f%% %8.2f %8.2f %8llu\n", traces[k].name,
               allot_autoscaler_name(sv[k].policy), r->svc[k].serve.slo_attainment * 100,
               b->svc[k].serve.slo_attainment * 100, z->svc[k].serve.slo_attainment * 100,
               r->svc[k].serve.device_hours, b->svc[k].serve.device_hours,
               (unsigned long long)r->svc[k].reclaims);
    printf("  (delayed: without lending, every cold start lengthened by the grace)\n");
    const allot_mixed_training *t = &r->training, *u = &b->training;
    printf("\n  training (%s)                lending   without\n", o->training);
    printf("    jobs in the window              %9llu %9llu\n", (unsigned long long)t->jobs,
           (unsigned long long)u->jobs);
    printf("    finished                        %9llu %9llu\n", (unsigned long long)t->finished,
           (unsigned long long)u->finished);
    printf("    mean JCT of finished (s)        %9.0f %9.0f\n", t->jct_mean_s, u->jct_mean_s);
    printf("    p99 JCT of finished (s)         %9.0f %9.0f\n", t->jct_p99_s, u->jct_p99_s);
    printf("    preemptions (by reclaim)        %9llu %9llu   (%llu)\n",
           (unsigned long long)t->preemptions, (unsigned long long)u->preemptions,
           (unsigned long long)t->reclaim_preemptions);
    printf("    lost device-hours               %9.2f %9.2f\n", t->lost_device_h, u->lost_device_h);
    printf("    device-hours of training        %9.1f %9.1f\n", t->device_h, u->device_h);
    printf("    ETTR                            %9.3f %9.3f\n", t->ettr, u->ettr);
}

static int write_report(const mixed_opts *o, const allot_reqtrace *traces,
                        const allot_mixed_service *sv, const allot_mixed_result *r,
                        const allot_mixed_result *b, const allot_mixed_result *z)
{
    allot_report *rep = allot_report_new("allot: serving and training on one fleet");
    if (!rep) return ALLOT_ENOMEM;
    char buf[1024];
    double worst = 0;
    for (size_t k = 0; k < r->nsvc; k++) {
        double dl = b->svc[k].serve.slo_attainment - r->svc[k].serve.slo_attainment;
        if (dl > worst) worst = dl;
    }
    snprintf(buf, sizeof buf,
             "Lent %.1f of the %.1f idle serving device-hours to training (%.1f %%, target 80 %%). "
             "%llu reclaims: latency p50 %.1f s, p99 %.1f s, max %.1f s (bound: grace %lld s + "
             "step %g s = %.0f s). Services within SLO: at most %.3f points lower than without "
             "lending. Training finished %llu jobs (%llu without lending), %llu preempted by "
             "reclaims, %.2f device-hours lost.",
             r->lent_device_h, r->idle_serving_device_h, r->lent_share * 100,
             (unsigned long long)r->reclaims, r->reclaim_p50_s, r->reclaim_p99_s, r->reclaim_max_s,
             (long long)r->grace_s, r->dt, r->reclaim_bound_s, worst * 100,
             (unsigned long long)r->training.finished, (unsigned long long)b->training.finished,
             (unsigned long long)r->training.reclaim_preemptions, r->training.lost_device_h);
    allot_report_para(rep, buf);
    snprintf(buf, sizeof buf,
             "Fleet %s, serving pool %s: %u nodes, %u devices. Horizon %.0f s in steps of %g s "
             "after a training warm-up of %lld s. Training %s, policy %s, placement %s, seed "
             "%llu.",
             o->cluster, o->pool, r->pool_nodes, r->pool_devices, r->horizon_s, r->dt,
             (long long)r->warmup_s, o->training,
             o->cfg.sched_policy >= 0 ? allot_sched_policy_name(o->cfg.sched_policy) : "custom",
             allot_policy_name(o->cfg.placement), (unsigned long long)o->cfg.seed);
    allot_report_para(rep, buf);
    /* services */
    const char *sh[] = {"service",           "autoscaler",       "within SLO %",
                        "without lending %", "delayed starts %", "device-hours",
                        "without lending",   "reclaims",         "replica-steps not placed"};
    size_t ns = r->nsvc;
    char(*cells)[48] = calloc(ns * 9 + 16 * 3, sizeof *cells);
    const char **cp = calloc(ns * 9 + 16 * 3, sizeof *cp);
    if (!cells || !cp) {
        free(cells);
        free(cp);
        allot_report_free(rep);
        return ALLOT_ENOMEM;
    }
    for (size_t k = 0; k < ns; k++) {
        char(*c)[48] = cells + k * 9;
        snprintf(c[0], 48, "%s", traces[k].name);
        snprintf(c[1], 48, "%s", allot_autoscaler_name(sv[k].policy));
        snprintf(c[2], 48, "%.3f", r->svc[k].serve.slo_attainment * 100);
        snprintf(c[3], 48, "%.3f", b->svc[k].serve.slo_attainment * 100);
        snprintf(c[4], 48, "%.3f", z->svc[k].serve.slo_attainment * 100);
        snprintf(c[5], 48, "%.2f", r->svc[k].serve.device_hours);
        snprintf(c[6], 48, "%.2f", b->svc[k].serve.device_hours);
        snprintf(c[7], 48, "%llu", (unsigned long long)r->svc[k].reclaims);
        snprintf(c[8], 48, "%llu", (unsigned long long)r->svc[k].denied);
        for (int q = 0; q < 9; q++) cp[k * 9 + (size_t)q] = c[q];
    }
    allot_report_table(rep, "Services, with and without lending", 9, sh, cp, (int)ns);
    allot_report_para(rep, "Delayed starts: without lending, every replica's cold start lengthened "
                           "by the grace - as if every scale-up had waited for a reclaim. A "
                           "reference, not a bound: an autoscaler's attainment need not fall "
                           "as its cold start grows. Replicas not placed: replica-steps the "
                           "autoscaler asked for while every pool device of the chip type was "
                           "serving (a replica still wanted at the next step counts again).");
    const char *th[] = {"training", "with lending", "without"};
    const allot_mixed_training *t = &r->training, *u = &b->training;
    char(*tc)[48] = cells + ns * 9;
    const char **tp = cp + ns * 9;
    const char *names[] = {"jobs in the window",
                           "finished",
                           "mean JCT of finished (s)",
                           "p99 JCT of finished (s)",
                           "preemptions",
                           "of which by reclaim",
                           "lost device-hours",
                           "device-hours of training",
                           "ETTR"};
    double tv[9][2] = {{(double)t->jobs, (double)u->jobs},
                       {(double)t->finished, (double)u->finished},
                       {t->jct_mean_s, u->jct_mean_s},
                       {t->jct_p99_s, u->jct_p99_s},
                       {(double)t->preemptions, (double)u->preemptions},
                       {(double)t->reclaim_preemptions, (double)u->reclaim_preemptions},
                       {t->lost_device_h, u->lost_device_h},
                       {t->device_h, u->device_h},
                       {t->ettr, u->ettr}};
    for (int i = 0; i < 9; i++) {
        snprintf(tc[i * 3], 48, "%s", names[i]);
        for (int q = 0; q < 2; q++)
            snprintf(tc[i * 3 + 1 + q], 48, i >= 6 ? "%.3f" : "%.0f", tv[i][q]);
        for (int q = 0; q < 3; q++) tp[i * 3 + q] = tc[i * 3 + q];
    }
    allot_report_table(rep, "Training, with and without the pool to borrow", 3, th, tp, 9);
    /* the pool over time, stacked: serving, serving + lent, the pool */
    size_t m = r->nseries;
    double *x = calloc(m ? m : 1, sizeof *x), *y = calloc(3 * (m ? m : 1), sizeof *y);
    if (x && y) {
        double unit = r->horizon_s > 7200 ? 3600.0 : 60.0;
        for (size_t i = 0; i < m; i++) {
            x[i] = r->series[i].t / unit;
            y[i] = r->series[i].serving;
            y[m + i] = r->series[i].serving + r->series[i].lent;
            y[2 * m + i] = r->series[i].serving + r->series[i].lent + r->series[i].idle;
        }
        allot_series ss[3] = {{"held by serving", x, y, m},
                              {"+ lent to training", x, y + m, m},
                              {"+ idle (the pool)", x, y + 2 * m, m}};
        allot_chart ch = {"Serving pool devices over time (stacked: each line adds a band)",
                          unit > 60 ? "time (h)" : "time (min)",
                          "devices",
                          ss,
                          3,
                          0,
                          NAN,
                          NAN,
                          NAN,
                          1};
        allot_report_heading(rep, "The serving pool");
        allot_report_chart(rep, &ch);
    }
    free(x);
    free(y);
    if (r->nreclaim) {
        double *lat = malloc(r->nreclaim * sizeof *lat);
        double *cx = malloc(400 * sizeof *cx), *cy = malloc(400 * sizeof *cy);
        if (lat && cx && cy) {
            for (size_t i = 0; i < r->nreclaim; i++)
                lat[i] = r->reclaimv[i].free_s - r->reclaimv[i].ask_s;
            for (size_t i = 1; i < r->nreclaim; i++) /* insertion sort: few, nearly sorted */
                for (size_t q = i; q > 0 && lat[q] < lat[q - 1]; q--) {
                    double tmp = lat[q];
                    lat[q] = lat[q - 1];
                    lat[q - 1] = tmp;
                }
            size_t nc = allot_cdf_points(lat, r->nreclaim, 400, 1.0, cx, cy);
            allot_series cs = {"reclaims", cx, cy, nc};
            allot_chart ch = {"Reclaim latency: announcement to devices free (CDF)",
                              "seconds",
                              "share of reclaims",
                              &cs,
                              1,
                              0,
                              1,
                              0,
                              r->reclaim_bound_s,
                              1};
            allot_report_heading(rep, "Reclaims");
            allot_report_chart(rep, &ch);
        }
        free(lat);
        free(cx);
        free(cy);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/report.html", o->out);
    int rc = allot_report_write(rep, path);
    allot_report_free(rep);
    free(cells);
    free(cp);
    return rc;
}

enum {
    M_WORKLOAD = 256,
    M_TRAINING,
    M_CLUSTER,
    M_POOL,
    M_SVCPOL,
    M_CHIP,
    M_SLO,
    M_SLOT,
    M_MAXREP,
    M_DT,
    M_SPAN,
    M_RATE,
    M_GRACE,
    M_WARMUP,
    M_RESERVE,
    M_POLICY,
    M_PLACEMENT,
    M_TSTART,
    M_CKPT,
    M_TSCALE,
    M_ASCALE,
    M_SEED,
    M_CHECK,
    M_JSON,
    M_OUT,
    M_QUIET,
};

static const struct option mixed_opts_tab[] = {
    {"workload", required_argument, 0, M_WORKLOAD},
    {"training", required_argument, 0, M_TRAINING},
    {"cluster", required_argument, 0, M_CLUSTER},
    {"serve-pool", required_argument, 0, M_POOL},
    {"service-policy", required_argument, 0, M_SVCPOL},
    {"chip", required_argument, 0, M_CHIP},
    {"slo", required_argument, 0, M_SLO},
    {"slo-target", required_argument, 0, M_SLOT},
    {"max-replicas", required_argument, 0, M_MAXREP},
    {"dt", required_argument, 0, M_DT},
    {"span", required_argument, 0, M_SPAN},
    {"rate-scale", required_argument, 0, M_RATE},
    {"grace", required_argument, 0, M_GRACE},
    {"warmup", required_argument, 0, M_WARMUP},
    {"reserve", required_argument, 0, M_RESERVE},
    {"policy", required_argument, 0, M_POLICY},
    {"placement", required_argument, 0, M_PLACEMENT},
    {"training-start", required_argument, 0, M_TSTART},
    {"checkpoint", required_argument, 0, M_CKPT},
    {"time-scale", required_argument, 0, M_TSCALE},
    {"arrival-scale", required_argument, 0, M_ASCALE},
    {"seed", required_argument, 0, M_SEED},
    {"check", no_argument, 0, M_CHECK},
    {"json", no_argument, 0, M_JSON},
    {"out", required_argument, 0, M_OUT},
    {"quiet", no_argument, 0, M_QUIET},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int parse_args(int argc, char **argv, mixed_opts *o)
{
    optind = 1;
    opterr = 0;
    int ch, li = 0;
    while ((ch = getopt_long(argc, argv, ":h", mixed_opts_tab, &li)) != -1) {
        unsigned long long u;
        double v;
        switch (ch) {
        case M_WORKLOAD:
            if (o->nworkloads >= MAX_SERVICES)
                return usage_error("at most 16 --workload request traces, not more ('%s')", optarg);
            o->workloads[o->nworkloads++] = optarg;
            break;
        case M_TRAINING: o->training = optarg; break;
        case M_CLUSTER: o->cluster = optarg; break;
        case M_POOL: o->pool = optarg; break;
        case M_SVCPOL:
            o->svc_policy = allot_autoscaler_parse(optarg);
            if (o->svc_policy < 0)
                return usage_error(
                    "--service-policy: '%s' is not hpa, knative, predictive or allot", optarg);
            break;
        case M_CHIP: o->chip = optarg; break;
        case M_SLO:
        case M_SLOT:
        case M_SPAN:
        case M_RATE: {
            double *dst = ch == M_SLO    ? &o->slo
                          : ch == M_SLOT ? &o->slo_target
                          : ch == M_SPAN ? &o->span
                                         : &o->rate_scale;
            double lo = ch == M_SLOT ? 0.01 : 1e-3, hi = ch == M_SLOT ? 0.999999 : 1e9;
            if (cli_parse_double(optarg, lo, hi, dst))
                return usage_error("not a valid number '%s'", optarg);
            break;
        }
        case M_DT:
            if (cli_parse_double(optarg, 1, 86400, &v) || v != floor(v))
                return usage_error("--dt wants whole seconds in 1..86400, got '%s'", optarg);
            o->dt = v;
            break;
        case M_MAXREP:
            if (cli_parse_u64(optarg, 1, 1000000, &u))
                return usage_error("--max-replicas: an integer 1..1000000, not '%s'", optarg);
            o->max_replicas = (long long)u;
            break;
        case M_GRACE:
        case M_WARMUP:
        case M_TSTART:
            if (cli_parse_u64(optarg, 0, (unsigned long long)1e10, &u))
                return usage_error("%s wants whole seconds >= 0", argv[optind - 1]);
            if (ch == M_GRACE) o->cfg.grace_s = (int64_t)u;
            if (ch == M_WARMUP) o->cfg.warmup_s = (int64_t)u;
            if (ch == M_TSTART) o->cfg.train_start_s = (int64_t)u;
            break;
        case M_POLICY: {
            int p = allot_sched_policy_parse(optarg);
            if (p < 0 || p == ALLOT_SP_DRF)
                return usage_error("--policy: '%s' is not fifo, fifo-backfill, priority-preempt, "
                                   "las or allot (drf is not supported in the mixed fleet)",
                                   optarg);
            o->cfg.sched_policy = p;
            break;
        }
        case M_PLACEMENT: {
            int p = allot_policy_parse(optarg);
            if (p < 0)
                return usage_error("unknown placement '%s' (random, dotprod, gpuclustering, "
                                   "gpupacking, bestfit, fgd, fgd-la)",
                                   optarg);
            o->cfg.placement = (allot_policy)p;
            break;
        }
        case M_RESERVE:
            if (cli_parse_u64(optarg, 0, 10000, &u))
                return usage_error("--reserve wants replicas in 0..10000, got '%s'", optarg);
            o->cfg.reserve = (int)u;
            break;
        case M_CKPT:
            if (cli_parse_u64(optarg, 0, UINT32_MAX, &u))
                return usage_error("--checkpoint wants seconds in 0..4294967295, got '%s'", optarg);
            o->cfg.assume_ckpt_s = (int64_t)u;
            break;
        case M_TSCALE:
        case M_ASCALE:
            if (cli_parse_double(optarg, 1.0, 1e9, &v))
                return usage_error("%s wants a number >= 1", argv[optind - 1]);
            if (ch == M_TSCALE) o->cfg.time_scale = v;
            if (ch == M_ASCALE) o->cfg.arrival_scale = v;
            break;
        case M_SEED:
            if (cli_parse_u64(optarg, 0, INT64_MAX, &u))
                return usage_error("--seed wants an integer in 0..2^63-1, got '%s'", optarg);
            o->cfg.seed = u;
            break;
        case M_CHECK: o->check = 1; break;
        case M_JSON: o->json = 1; break;
        case M_QUIET: break;
        case M_OUT:
            if (optarg[0] == '-' || optarg[0] == '\0')
                return usage_error("--out wants a directory, got '%s' (an option?)", optarg);
            o->out = optarg;
            break;
        case 'h': fputs(mixed_usage, stdout); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("'%s' is not an option of the mixed fleet", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->nworkloads == 0)
        return usage_error("%s", "the mixed fleet needs at least one --workload REQUEST_TRACE");
    if (!o->training)
        return usage_error("%s", "the mixed fleet needs --training JOBS (a job trace or gen:...)");
    if (!o->pool)
        return usage_error("%s", "the mixed fleet needs --serve-pool POOL (N, zone:NAME, "
                                 "block:NAME, rack:NAME or node names)");
    for (int i = 0; i < o->nworkloads; i++)
        if (!cli_is_request_trace(o->workloads[i]))
            return usage_error("--workload %s is not a request trace (an Azure LLM CSV, a "
                               "ServeGen directory or the GenAI lora_request_trace.csv)",
                               o->workloads[i]);
    return 0;
}

int allot_cmd_mixed(int argc, char **argv)
{
    mixed_opts o;
    memset(&o, 0, sizeof o);
    allot_mixed_config_init(&o.cfg);
    o.cluster = "builtin:sample";
    o.svc_policy = ALLOT_AS_ALLOT;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.cfg.check_invariants = o.check;
    o.cfg.dt = o.dt;
    allot_diag d = {0};
    allot_cluster *c = NULL;
    allot_workload w;
    allot_workload_init(&w);
    allot_reqtrace traces[MAX_SERVICES];
    allot_service svcs[MAX_SERVICES], slow[MAX_SERVICES];
    allot_mixed_service sv[MAX_SERVICES], sv_slow[MAX_SERVICES];
    allot_mixed_result r, b, z;
    memset(traces, 0, sizeof traces);
    memset(&r, 0, sizeof r);
    memset(&b, 0, sizeof b);
    memset(&z, 0, sizeof z);
    uint8_t *pool = NULL;
    int ret = 0, ntr = 0;
    json_t *j = NULL;
    if ((rc = allot_cluster_load(o.cluster, ALLOT_NODES_AUTO, &c, &d))) {
        ret = cli_fail(rc, &d);
        goto done;
    }
    if ((rc = allot_workload_load(o.training, c, &w, &d))) {
        ret = cli_fail(rc, &d);
        goto done;
    }
    pool = malloc(allot_cluster_nnodes(c) + 1);
    if (!pool) {
        ret = cli_fail(ALLOT_ENOMEM, NULL);
        goto done;
    }
    if ((ret = parse_pool(o.pool, c, pool))) goto done;
    o.cfg.pool = pool;
    for (; ntr < o.nworkloads; ntr++) {
        allot_reqtrace_opts ro;
        allot_reqtrace_opts_init(&ro);
        ro.seed = o.cfg.seed;
        if (o.rate_scale > 0) ro.rate_scale = o.rate_scale;
        if (o.span > 0) ro.max_span_s = o.span;
        if ((rc = allot_reqtrace_load(o.workloads[ntr], &ro, &traces[ntr], &d))) {
            ret = cli_fail(rc, &d);
            goto done;
        }
        allot_service *s = &svcs[ntr];
        allot_service_default(s, traces[ntr].kind);
        if (o.slo > 0) s->slo_s = o.slo;
        if (o.slo_target > 0) s->slo_target = o.slo_target;
        if (o.max_replicas > 0) s->max_replicas = (int)o.max_replicas;
        size_t chip = 0;
        if (o.chip) {
            while (chip < s->nchips && strcasecmp(s->chips[chip].name, o.chip) != 0) chip++;
            if (chip == s->nchips) {
                fprintf(stderr, "allot sim: --chip: the service %s runs on", s->name);
                for (size_t k = 0; k < s->nchips; k++) fprintf(stderr, " %s", s->chips[k].name);
                fprintf(stderr, ", not %s\n", o.chip);
                ret = CLI_EXIT_USAGE;
                ntr++;
                goto done;
            }
        } else { /* the first of its chip types that the pool has */
            for (size_t k = s->nchips; k-- > 0;) {
                int id = allot_cluster_find_chip(c, s->chips[k].name);
                for (uint32_t n = 0; id >= 0 && n < allot_cluster_nnodes(c); n++)
                    if (pool[n] && allot_cluster_node(c, n)->chip == (uint32_t)id) chip = k;
            }
        }
        sv[ntr] = (allot_mixed_service){s, &traces[ntr], chip, o.svc_policy};
    }
    /* with lending; without; without, every cold start lengthened by the grace */
    allot_mixed_config base = o.cfg;
    base.lend = 0;
    for (int i = 0; i < ntr; i++) {
        slow[i] = svcs[i];
        slow[i].chips[sv[i].chip].cold_start_s += (double)o.cfg.grace_s;
        sv_slow[i] = sv[i];
        sv_slow[i].svc = &slow[i];
    }
    if ((rc = allot_mixed_run(c, &w, sv, (size_t)ntr, &o.cfg, &r, &d)) ||
        (rc = allot_mixed_run(c, &w, sv, (size_t)ntr, &base, &b, &d)) ||
        (rc = allot_mixed_run(c, &w, sv_slow, (size_t)ntr, &base, &z, &d))) {
        ret = cli_fail(rc, &d);
        goto done;
    }
    j = summary_json(&o, c, traces, sv, &r, &b, &z);
    if (o.json) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s) puts(s);
        free(s);
    } else {
        print_table(&o, c, traces, sv, &r, &b, &z);
    }
    if (o.out) {
        char path[4200];
        rc = cli_mkdirs(o.out);
        snprintf(path, sizeof path, "%s/summary.json", o.out);
        if (rc == 0) rc = cli_write_json(j, path);
        if (rc == 0) rc = write_report(&o, traces, sv, &r, &b, &z);
        if (rc) {
            fprintf(stderr, "allot sim: cannot write into %s: %s\n", o.out, allot_strerror(rc));
            ret = CLI_EXIT_FAIL;
        } else if (!o.json) {
            printf("\nwrote summary.json and report.html into %s\n", o.out);
        }
    }
done:
    json_decref(j);
    allot_mixed_result_free(&r);
    allot_mixed_result_free(&b);
    allot_mixed_result_free(&z);
    for (int i = 0; i < ntr; i++) allot_reqtrace_free(&traces[i]);
    allot_workload_free(&w);
    allot_cluster_free(c);
    free(pool);
    return ret;
}
