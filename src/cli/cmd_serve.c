/* cmd_serve.c - inference services from the command line:
 *   allot sim --workload REQUEST_TRACE --service-policy P [--json]
 *   allot compare --workload REQUEST_TRACE [--out DIR]   (all autoscalers)
 * `allot sim` and `allot compare` hand over here when the workload is a
 * request trace (cli_is_request_trace) or --service-policy is given. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "allot/report.h"
#include "allot/serve.h"
#include "cli.h"

static const char serve_usage[] =
    "usage: allot sim --workload REQUEST_TRACE [--service-policy P] [options]\n"
    "       allot compare --workload REQUEST_TRACE [options]\n"
    "\n"
    "Simulates one inference service over a request trace with an autoscaler\n"
    "(sim) or with every autoscaler side by side (compare), against the oracle:\n"
    "the fewest device-hours that meet the SLO with perfect foresight.\n"
    "\n"
    "A request trace is an Azure LLM inference CSV (TIMESTAMP,ContextTokens,\n"
    "GeneratedTokens), a ServeGen model directory (chunk-*-trace.csv), or the\n"
    "Alibaba GenAI lora_request_trace.csv (docs/workloads.md).\n"
    "\n"
    "options:\n"
    "  --service-policy P  hpa, knative, predictive or allot (default allot)\n"
    "  --chip T            the chip type of the replicas (default: the service's\n"
    "                      first, H100)\n"
    "  --slo S             latency SLO in seconds (default 10 for LLMs, 60 for images)\n"
    "  --slo-target F      share of requests to keep within it (default 0.99)\n"
    "  --max-replicas N    (default 64)\n"
    "  --dt S              simulation step (default 1 s; 10 s for traces over a day)\n"
    "  --rate-scale X      ServeGen: multiply the released rates (default 1)\n"
    "  --span S            use the first S seconds of the trace\n"
    "  --seed N            ServeGen arrival draws (default 42)\n"
    "  --per-request       ServeGen traces over a day: draw every request (the\n"
    "                      exact path) instead of the window-rate demand\n"
    "  --json              print the summary as JSON (sim: one object; compare: an\n"
    "                      array)\n"
    "  --out DIR           write DIR/report.html (demand vs replicas, SLO over time)\n"
    "                      and DIR/summary.json\n"
    "  --quiet             accepted as in allot sim (there is no progress bar)\n"
    "  -h, --help          this help\n"
    "\n"
    "ServeGen traces longer than a day (after --span) use the window-rate demand:\n"
    "each 600-s window's requests are split over the steps from its fitted\n"
    "arrival process and their work drawn per step, without drawing single\n"
    "requests (14 days of m-large in well under a second; docs/internals/\n"
    "serving.md, \"The window-rate demand\"). `allot compare` runs the\n"
    "autoscalers on 2 threads.\n"
    "\n"
    "The service model (replica capacity, latency model, cold start, drain) and\n"
    "the autoscalers' documented defaults are in docs/internals/serving.md.\n"
    "JSON fields: autoscaler, requests, slo_attainment, within_slo, dropped,\n"
    "device_hours, oracle_device_hours, oracle_ratio, cost, scale_ups,\n"
    "scale_downs, mean_replicas, peak_replicas, demand (per-request or\n"
    "window-rate).\n";

int cli_wants_serve(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--service-policy") == 0 ||
            strncmp(argv[i], "--service-policy=", 17) == 0)
            return 1;
        if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc && cli_is_request_trace(argv[i + 1]))
            return 1;
        if (strncmp(argv[i], "--workload=", 11) == 0 && cli_is_request_trace(argv[i] + 11))
            return 1;
    }
    return 0;
}

int cli_is_request_trace(const char *path)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0) return 0;
    if (S_ISDIR(sb.st_mode)) { /* a ServeGen model directory: chunk-*-trace.csv inside */
        DIR *dir = opendir(path);
        struct dirent *e;
        int found = 0;
        while (dir && !found && (e = readdir(dir))) {
            size_t n = strlen(e->d_name);
            found = strncmp(e->d_name, "chunk-", 6) == 0 && n > 10 &&
                    strcmp(e->d_name + n - 10, "-trace.csv") == 0;
        }
        if (dir) closedir(dir);
        return found;
    }
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256] = "";
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    return strncmp(line, "TIMESTAMP,ContextTokens", 23) == 0 ||
           strncmp(line, "gmt_create,", 11) == 0;
}

/* A ServeGen model directory (chunk-*-trace.csv inside) or one chunk file. */
static int is_servegen(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    if (S_ISDIR(sb.st_mode)) return cli_is_request_trace(path);
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    return strncmp(b, "chunk-", 6) == 0 && n > 16 && strcmp(b + n - 10, "-trace.csv") == 0;
}

typedef struct serve_opts {
    const char *workload, *out, *chip;
    int policy, json, all, per_request;
    double slo, slo_target, dt, rate_scale, span;
    long long max_replicas;
    unsigned long long seed;
} serve_opts;

static json_t *result_json(int policy, const allot_serve_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "autoscaler", json_string(allot_autoscaler_name(policy)));
    json_object_set_new(j, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(j, "slo_attainment", json_real(r->slo_attainment));
    json_object_set_new(j, "within_slo", json_integer((json_int_t)r->within_slo));
    json_object_set_new(j, "dropped", json_integer((json_int_t)r->dropped));
    json_object_set_new(j, "device_hours", json_real(r->device_hours));
    json_object_set_new(j, "oracle_device_hours", json_real(r->oracle_device_hours));
    json_object_set_new(j, "oracle_ratio", json_real(r->oracle_ratio));
    json_object_set_new(j, "cost", json_real(r->cost));
    json_object_set_new(j, "scale_ups", json_integer((json_int_t)r->scale_ups));
    json_object_set_new(j, "scale_downs", json_integer((json_int_t)r->scale_downs));
    json_object_set_new(j, "mean_replicas", json_real(r->mean_replicas));
    json_object_set_new(j, "peak_replicas", json_real(r->peak_replicas));
    return j;
}

/* What the report says about the workload. */
typedef struct serve_wl {
    const char *name;
    double requests, span_s;
    int window_rate; /* the demand came from ServeGen windows */
} serve_wl;

static int write_report(const serve_opts *o, const allot_service *s, const serve_wl *t,
                        const int *pol, const allot_serve_result *res, int n)
{
    if (cli_mkdirs(o->out)) {
        fprintf(stderr, "allot: cannot create %s: %s\n", o->out, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    char title[256], buf[512];
    snprintf(title, sizeof title, "allot: %s autoscaling on %s", s->name, t->name);
    allot_report *rep = allot_report_new(title);
    if (!rep) return CLI_EXIT_FAIL;
    snprintf(buf, sizeof buf,
             "%.0f requests over %.1f h%s; service %s: %d device(s) per replica, %d slots, SLO %g "
             "s for %.1f %% of requests, replicas %d..%d, chip %s (cold start %g s).",
             t->requests, t->span_s / 3600, t->window_rate ? " (window-rate demand)" : "", s->name,
             s->devices, s->slots, s->slo_s, s->slo_target * 100, s->min_replicas, s->max_replicas,
             s->chips[0].name, s->chips[0].cold_start_s);
    allot_report_para(rep, buf);
    const char *hdr[] = {"autoscaler", "SLO attainment %", "device-hours", "x oracle",
                         "cost",       "scale events",     "dropped"};
    char cells[8][7][48];
    const char *cp[8 * 7];
    for (int i = 0; i < n; i++) {
        snprintf(cells[i][0], 48, "%s", allot_autoscaler_name(pol[i]));
        snprintf(cells[i][1], 48, "%.3f", res[i].slo_attainment * 100);
        snprintf(cells[i][2], 48, "%.1f", res[i].device_hours);
        snprintf(cells[i][3], 48, "%.3f", res[i].oracle_ratio);
        snprintf(cells[i][4], 48, "%.1f", res[i].cost);
        snprintf(cells[i][5], 48, "%llu",
                 (unsigned long long)(res[i].scale_ups + res[i].scale_downs));
        snprintf(cells[i][6], 48, "%llu", (unsigned long long)res[i].dropped);
        for (int k = 0; k < 7; k++) cp[i * 7 + k] = cells[i][k];
    }
    allot_report_table(rep, "Autoscalers against the oracle", 7, hdr, cp, n);
    /* demand vs replicas */
    size_t m = res[0].nseries;
    double *x = calloc(m ? m : 1, sizeof *x), *dem = calloc(m ? m : 1, sizeof *dem);
    double *ys = calloc((size_t)(n + 1) * (m ? m : 1), sizeof *ys);
    if (!x || !dem || !ys) {
        free(x);
        free(dem);
        free(ys);
        allot_report_free(rep);
        return CLI_EXIT_FAIL;
    }
    allot_series sr[9], sl[8];
    double es = 0;
    for (size_t k = 0; k < m; k++) {
        x[k] = res[0].series[k].t / 3600.0;
        dem[k] = res[0].series[k].demand_rps;
        ys[k] = res[0].series[k].oracle;
    }
    (void)es;
    sr[0] = (allot_series){"oracle", x, ys, m};
    for (int i = 0; i < n; i++) {
        double *y = ys + (size_t)(i + 1) * m;
        for (size_t k = 0; k < m && k < res[i].nseries; k++) y[k] = res[i].series[k].replicas;
        sr[i + 1] = (allot_series){allot_autoscaler_name(pol[i]), x, y, m};
    }
    allot_series ds = {"arrivals (req/s)", x, dem, m};
    allot_chart c0 = {"Demand", "time (h)", "requests/s", &ds, 1, 0, NAN, NAN, NAN, 0};
    allot_report_chart(rep, &c0);
    allot_chart c1 = {"Ready replicas vs the oracle",
                      "time (h)",
                      "replicas",
                      sr,
                      (size_t)n + 1,
                      0,
                      NAN,
                      NAN,
                      NAN,
                      1};
    allot_report_chart(rep, &c1);
    double *fr = calloc((size_t)n * (m ? m : 1), sizeof *fr);
    for (int i = 0; fr && i < n; i++) {
        double *y = fr + (size_t)i * m;
        for (size_t k = 0; k < m && k < res[i].nseries; k++) y[k] = res[i].series[k].slo_frac * 100;
        sl[i] = (allot_series){allot_autoscaler_name(pol[i]), x, y, m};
    }
    if (fr) {
        allot_chart c2 = {"Requests within the SLO",
                          "time (h)",
                          "% within SLO",
                          sl,
                          (size_t)n,
                          0,
                          100,
                          NAN,
                          NAN,
                          0};
        allot_report_chart(rep, &c2);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/report.html", o->out);
    int rc = allot_report_write(rep, path);
    allot_report_free(rep);
    free(x);
    free(dem);
    free(ys);
    free(fr);
    if (rc) {
        fprintf(stderr, "allot: cannot write %s\n", path);
        return CLI_EXIT_FAIL;
    }
    if (!o->json) fprintf(stderr, "allot: wrote %s\n", path);
    return 0;
}

int allot_cmd_serve(int argc, char **argv, int compare)
{
    static const struct option opts[] = {
        {"workload", required_argument, 0, 'w'},
        {"service-policy", required_argument, 0, 'p'},
        {"chip", required_argument, 0, 'c'},
        {"slo", required_argument, 0, 's'},
        {"slo-target", required_argument, 0, 'T'},
        {"max-replicas", required_argument, 0, 'M'},
        {"dt", required_argument, 0, 'd'},
        {"rate-scale", required_argument, 0, 'r'},
        {"span", required_argument, 0, 'S'},
        {"seed", required_argument, 0, 'e'},
        {"json", no_argument, 0, 'j'},
        {"per-request", no_argument, 0, 'R'},
        {"out", required_argument, 0, 'o'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *cmd = compare ? "compare" : "sim";
    serve_opts o;
    memset(&o, 0, sizeof o);
    o.policy = ALLOT_AS_ALLOT;
    o.seed = 42;
    unsigned long long u;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (ch) {
        case 'w': o.workload = optarg; break;
        case 'p':
            o.policy = allot_autoscaler_parse(optarg);
            if (o.policy < 0) {
                fprintf(
                    stderr,
                    "allot %s: --service-policy: '%s' is not hpa, knative, predictive or allot\n",
                    cmd, optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'c': o.chip = optarg; break;
        case 's':
        case 'T':
        case 'd':
        case 'r':
        case 'S': {
            double *dst = ch == 's'   ? &o.slo
                          : ch == 'T' ? &o.slo_target
                          : ch == 'd' ? &o.dt
                          : ch == 'r' ? &o.rate_scale
                                      : &o.span;
            double hi = ch == 'T' ? 0.999999 : 1e9;
            if (cli_parse_double(optarg, ch == 'T' ? 0.01 : 1e-3, hi, dst)) {
                fprintf(stderr, "allot %s: %s: not a valid number '%s'\n", cmd, argv[optind - 1],
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case 'M':
            if (cli_parse_u64(optarg, 1, 1000000, &u)) {
                fprintf(stderr, "allot %s: --max-replicas: an integer 1..1000000, not '%s'\n", cmd,
                        optarg);
                return CLI_EXIT_USAGE;
            }
            o.max_replicas = (long long)u;
            break;
        case 'e':
            if (cli_parse_u64(optarg, 0, UINT64_MAX, &o.seed)) {
                fprintf(stderr, "allot %s: --seed: not an integer '%s'\n", cmd, optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'j': o.json = 1; break;
        case 'R': o.per_request = 1; break;
        case 'q': break; /* no progress bar to hide */
        case 'o': o.out = optarg; break;
        case 'h': fputs(serve_usage, stdout); return 0;
        case ':':
            fprintf(stderr, "allot %s: %s needs a value\n", cmd, argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default:
            fprintf(stderr,
                    "allot %s: '%s' is not an option for a request trace (see "
                    "docs/internals/serving.md)\n",
                    cmd, argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (!o.workload) {
        fprintf(stderr, "allot %s: --service-policy needs --workload REQUEST_TRACE\n", cmd);
        return CLI_EXIT_USAGE;
    }
    allot_diag d = {0};
    allot_reqtrace t;
    memset(&t, 0, sizeof t);
    allot_servegen *sg = NULL;
    allot_serve_demand dem;
    memset(&dem, 0, sizeof dem);
    serve_wl wl = {0};
    /* ServeGen over a day: the window-rate demand, unless --per-request */
    if (!o.per_request && is_servegen(o.workload)) {
        if (allot_servegen_load(o.workload, &sg, &d)) return cli_fail(ALLOT_EPARSE, &d);
        double span = allot_servegen_span(sg);
        if (o.span > 0 && o.span < span) span = o.span;
        if (span <= 86400) {
            allot_servegen_free(sg);
            sg = NULL;
        }
    }
    allot_service s;
    allot_service_default(&s, sg ? ALLOT_REQ_LLM : 0);
    if (!sg) {
        allot_reqtrace_opts ro;
        allot_reqtrace_opts_init(&ro);
        ro.seed = o.seed;
        if (o.rate_scale > 0) ro.rate_scale = o.rate_scale;
        if (o.span > 0) ro.max_span_s = o.span;
        if (allot_reqtrace_load(o.workload, &ro, &t, &d)) return cli_fail(ALLOT_EPARSE, &d);
        allot_service_default(&s, t.kind);
    }
    if (o.slo > 0) s.slo_s = o.slo;
    if (o.slo_target > 0) s.slo_target = o.slo_target;
    if (o.max_replicas > 0) s.max_replicas = (int)o.max_replicas;
    size_t chip = 0;
    if (o.chip) {
        while (chip < s.nchips && strcasecmp(s.chips[chip].name, o.chip) != 0) chip++;
        if (chip == s.nchips) {
            fprintf(stderr, "allot %s: --chip: the service runs on", cmd);
            for (size_t k = 0; k < s.nchips; k++) fprintf(stderr, " %s", s.chips[k].name);
            fprintf(stderr, ", not %s\n", o.chip);
            allot_reqtrace_free(&t);
            allot_servegen_free(sg);
            return CLI_EXIT_USAGE;
        }
    }
    int rc = 0;
    if (sg) {
        /* the checks allot_serve_run makes against a request trace */
        double med = allot_servegen_median_service(sg, &s, 0);
        if ((rc = allot_service_check(&s, NULL, &d)) == 0 && s.slo_s < med)
            rc = allot_diag_set(&d, ALLOT_EINVAL, NULL, 0, 0,
                                "SLO %g s is below the model's minimum latency %g s for the median "
                                "request",
                                s.slo_s, med);
        allot_servegen_opts so;
        allot_servegen_opts_init(&so);
        so.seed = o.seed;
        if (o.rate_scale > 0) so.rate_scale = o.rate_scale;
        if (o.span > 0) so.max_span_s = o.span;
        if (rc == 0)
            rc = allot_serve_demand_windows(sg, &s, chip, o.dt > 0 ? o.dt : 10, &so, &dem, &d);
        if (rc) {
            allot_servegen_free(sg);
            return cli_fail(rc, &d);
        }
        wl.name = allot_servegen_name(sg);
        wl.span_s = (double)dem.n * dem.dt;
        if (o.span > 0 && o.span < wl.span_s) wl.span_s = o.span;
        for (size_t i = 0; i < dem.n; i++) wl.requests += dem.count[i];
        wl.window_rate = 1;
    } else {
        wl.name = t.name;
        wl.requests = (double)t.n;
        wl.span_s = t.span_s;
    }
    int pol[ALLOT_AS__COUNT], n = 0;
    if (compare)
        for (int p = 0; p < ALLOT_AS__COUNT; p++) pol[n++] = p;
    else
        pol[n++] = o.policy;
    allot_serve_result res[ALLOT_AS__COUNT];
    memset(res, 0, sizeof res);
    if (sg) {
        allot_serve_job jobs[ALLOT_AS__COUNT];
        memset(jobs, 0, sizeof jobs);
        for (int i = 0; i < n; i++) {
            jobs[i].service = &s;
            jobs[i].demand = &dem;
            allot_serve_config_init(&jobs[i].cfg);
            jobs[i].cfg.policy = pol[i];
            jobs[i].cfg.chip = chip;
        }
        rc = allot_serve_run_many(jobs, (size_t)n, 2);
        for (int i = 0; i < n; i++) {
            res[i] = jobs[i].result;
            if (rc && jobs[i].rc && !d.msg[0]) d = jobs[i].diag;
        }
    } else {
        for (int i = 0; i < n && rc == 0; i++) {
            allot_serve_config cfg;
            allot_serve_config_init(&cfg);
            cfg.policy = pol[i];
            cfg.dt = o.dt;
            cfg.chip = chip;
            rc = allot_serve_run(&s, &t, &cfg, &res[i], &d);
        }
    }
    if (rc) {
        for (int i = 0; i < n; i++) allot_serve_result_free(&res[i]);
        allot_reqtrace_free(&t);
        allot_serve_demand_free(&dem);
        allot_servegen_free(sg);
        return cli_fail(rc, &d);
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *j = result_json(pol[i], &res[i]);
        json_object_set_new(j, "workload", json_string(wl.name));
        json_object_set_new(j, "demand", json_string(sg ? "window-rate" : "per-request"));
        json_object_set_new(j, "service", json_string(s.name));
        json_object_set_new(j, "chip", json_string(s.chips[chip].name));
        json_object_set_new(j, "slo_s", json_real(s.slo_s));
        json_array_append_new(arr, j);
    }
    if (o.json) {
        json_t *outj = compare ? arr : json_array_get(arr, 0);
        char *txt = json_dumps(outj, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        if (txt) puts(txt);
        free(txt);
    } else {
        printf("allot %s: %s on %s (%.0f requests, %.1f h%s), SLO %g s for %.1f %%, chip %s\n\n",
               cmd, s.name, wl.name, wl.requests, wl.span_s / 3600,
               sg ? ", window-rate demand" : "", s.slo_s, s.slo_target * 100, s.chips[chip].name);
        printf("  %-11s %12s %13s %9s %10s %8s %8s\n", "autoscaler", "within SLO", "device-hours",
               "x oracle", "cost", "events", "dropped");
        for (int i = 0; i < n; i++)
            printf("  %-11s %11.3f%% %13.1f %9.3f %10.1f %8llu %8llu\n",
                   allot_autoscaler_name(pol[i]), res[i].slo_attainment * 100, res[i].device_hours,
                   res[i].oracle_ratio, res[i].cost,
                   (unsigned long long)(res[i].scale_ups + res[i].scale_downs),
                   (unsigned long long)res[i].dropped);
        printf("  %-11s %12s %13.1f %9.3f\n", "oracle", "", res[0].oracle_device_hours, 1.0);
    }
    if (o.out) {
        rc = write_report(&o, &s, &wl, pol, res, n);
        if (rc == 0) {
            char p2[4200];
            snprintf(p2, sizeof p2, "%s/summary.json", o.out);
            if (cli_write_json(arr, p2)) rc = CLI_EXIT_FAIL;
        }
    }
    json_decref(arr);
    for (int i = 0; i < n; i++) allot_serve_result_free(&res[i]);
    allot_reqtrace_free(&t);
    allot_serve_demand_free(&dem);
    allot_servegen_free(sg);
    return rc;
}
