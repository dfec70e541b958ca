/* cmd_services.c - `allot services`: the inference services of an allot
 * server (docs/API.md, "Services"): list, show, create, scale, delete, and
 * load (push a load sample). Requests go through cli_api_call (cmd_client.c),
 * so the exit codes are those of the other client commands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "allot/client.h"
#include "allot/clientfmt.h"
#include "allot/cluster.h"
#include "cli.h"

#define CONN_HELP                                                                                  \
    "  --server URL        the API server (default: $ALLOT_SERVER, else\n"                         \
    "                      http://127.0.0.1:8080); the token is read from\n"                       \
    "                      $ALLOT_TOKEN\n"

#define EXIT_HELP                                                                                  \
    "exit status:\n"                                                                               \
    "  0 ok; 1 the server refused the request (its message is printed);\n"                         \
    "  2 usage error; 3 the server cannot be reached; 4 not authorised (401/403);\n"               \
    "  5 not found (404)\n"

static const char services_usage[] =
    "usage: allot services [list] [-o table|json]\n"
    "       allot services show NAME\n"
    "       allot services create -f SPEC.json [options]\n"
    "       allot services create [options] NAME -- CMD [ARGS...]\n"
    "       allot services scale NAME [--min N] [--max M] [--policy P]\n"
    "       allot services delete NAME...\n"
    "       allot services load NAME --rps X [--queue N] [--es S]\n"
    "\n"
    "Inference services run as replicas (jobs) that the server scales between\n"
    "min and max replicas from a load signal: requests/s and queue depth pushed\n"
    "by the service (`allot services load`, POST /v1/services/NAME/load) or\n"
    "scraped from its Prometheus endpoint. A signal silent for its timeout is\n"
    "stale: replicas are held, never scaled down, until samples return; a service\n"
    "that never had a sample stays at min replicas. Run `allot services CMD\n"
    "--help` for each command; docs/API.md has the whole service object.\n"
    "\n"
    "list (the default) prints NAME TENANT POLICY REPLICAS (ready/wanted and\n"
    "(min-max), with the replicas starting or draining) RPS QUEUE SIGNAL (ok,\n"
    "stale or none, with the age of the last sample).\n"
    "\n"
    "options:\n"
    "  -o, --output FMT    table (default) or json (the server's reply)\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char show_usage[] =
    "usage: allot services show NAME\n"
    "\n"
    "Prints the service as the server has it (JSON): bounds, replicas by state\n"
    "and each replica's job and node, the last load sample and its age, the\n"
    "signal, the last scaling event, and the normalised spec.\n"
    "\n"
    "options:\n" CONN_HELP "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char create_usage[] =
    "usage: allot services create -f SPEC.json [options] [NAME]\n"
    "       allot services create [options] NAME -- CMD [ARGS...]\n"
    "\n"
    "Creates a service; prints its name. The spec is the JSON body of POST\n"
    "/v1/services (docs/API.md); -f - reads it from stdin. The options come\n"
    "before NAME (what follows NAME is the replicas' command) and set, or\n"
    "override, the spec's common fields:\n"
    "\n"
    "  -f, --file FILE     the spec (JSON)\n"
    "  --devices N         devices per replica (default 1)\n"
    "  --chip T            an allowed chip type, preferred first (repeatable;\n"
    "                      default H100 and A100-80G with their documented\n"
    "                      capacity)\n"
    "  --rps X             capacity: requests/s one replica serves, on every\n"
    "                      --chip (otherwise the chips' token rates apply)\n"
    "  --slots N           requests a replica serves at once (default 16 with\n"
    "                      token rates, 1 with --rps)\n"
    "  --min N, --max M    replica bounds (default 1 and 64)\n"
    "  --slo S             latency SLO in seconds (default 10; 60 with --rps)\n"
    "  --policy P          autoscaler: hpa, knative, predictive, allot (default)\n"
    "  --cold-start S      seconds from placement to serving, every chip\n"
    "  --drain S           seconds a replica scaled down gets between SIGTERM and\n"
    "                      SIGKILL (default 30)\n"
    "  --tenant X          the service's tenant (admin token; default: the\n"
    "                      token's tenant, else default)\n"
    "  --env K=V           environment of the replicas (repeatable)\n"
    "  --workdir DIR       directory the replicas start in (default: the current\n"
    "                      one, with NAME -- CMD)\n"
    "  --scrape URL        read the load from this Prometheus endpoint instead of\n"
    "                      pushed samples; with --rps-metric (a counter becomes a\n"
    "                      rate) and --queue-metric, e.g.\n"
    "                      --rps-metric 'http_requests_total{code=\"200\"}'\n"
    "  --interval S        seconds between scrapes (default 5)\n"
    "  --signal-timeout S  seconds without a sample before the signal is stale\n"
    "                      (default: 3x the sample interval, at least the server's\n"
    "                      30 s)\n" CONN_HELP "  -h, --help          this help\n"
    "\n" EXIT_HELP "\n"
    "examples:\n"
    "  allot services create --chip H100 --min 1 --max 8 --slo 10 chat -- \\\n"
    "      vllm serve meta-llama/Llama-3.1-70B-Instruct\n"
    "  allot services create -f chat.json --max 16\n";

static const char scale_usage[] =
    "usage: allot services scale NAME [--min N] [--max M] [--policy P]\n"
    "\n"
    "Changes a service's replica bounds and autoscaler (PATCH /v1/services/NAME).\n"
    "The bounds apply at once: a lower --max scales down now (even while the\n"
    "load signal is stale), a higher --min scales up. A --min the fleet cannot\n"
    "hold is refused.\n"
    "\n"
    "options:\n"
    "  --min N             fewest replicas (0..4096)\n"
    "  --max M             most replicas (1..4096)\n"
    "  --policy P          hpa, knative, predictive or allot\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char delete_usage[] =
    "usage: allot services delete NAME...\n"
    "\n"
    "Deletes each service: replicas not yet serving are cancelled, serving ones\n"
    "drain (SIGTERM, the service's drain time, SIGKILL); the service is gone\n"
    "once the last one ended. One line on stderr per service that could not be\n"
    "deleted.\n"
    "\n"
    "options:\n" CONN_HELP "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char load_usage[] =
    "usage: allot services load NAME --rps X [--queue N] [--es S]\n"
    "\n"
    "Pushes one load sample (POST /v1/services/NAME/load): what a service's\n"
    "router or a script reports every few seconds. Prints the replicas\n"
    "ready/wanted and the signal after it.\n"
    "\n"
    "options:\n"
    "  --rps X             requests/s arriving (>= 0)\n"
    "  --queue N           requests waiting for a slot (default 0)\n"
    "  --es S              mean service time of recent requests, s (default: the\n"
    "                      service's capacity model)\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

enum {
    O_SERVER = 256,
    O_DEVICES,
    O_CHIP,
    O_RPS,
    O_SLOTS,
    O_MIN,
    O_MAX,
    O_SLO,
    O_POLICY,
    O_COLD,
    O_DRAIN,
    O_TENANT,
    O_ENV,
    O_WORKDIR,
    O_SCRAPE,
    O_RPS_METRIC,
    O_QUEUE_METRIC,
    O_INTERVAL,
    O_SIGNAL_TIMEOUT,
    O_QUEUE,
    O_ES,
};

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "allot services %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot services %s --help' for the options.\n", cmd);
    return CLI_EXIT_USAGE;
}

static int print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) return CLI_EXIT_FAIL;
    puts(s);
    free(s);
    return 0;
}

static int name_ok(const char *cmd, const char *name)
{
    if (allot_name_problem(name, strlen(name)) || strlen(name) > 48)
        return usage_error(cmd, "'%s' is not a service name", name);
    return 0;
}

/* A number flag: cli_parse_double within [lo, hi]. */
static int num_flag(const char *cmd, const char *flag, const char *v, double lo, double hi,
                    double *out)
{
    if (cli_parse_double(v, lo, hi, out)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s '%%s': a number in %g..%g", flag, lo, hi);
        return usage_error(cmd, msg, v);
    }
    return 0;
}

static int int_flag(const char *cmd, const char *flag, const char *v, long long lo, long long hi,
                    json_int_t *out)
{
    unsigned long long x;
    if (cli_parse_u64(v, (unsigned long long)lo, (unsigned long long)hi, &x)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s '%%s': an integer %lld..%lld", flag, lo, hi);
        return usage_error(cmd, msg, v);
    }
    *out = (json_int_t)x;
    return 0;
}

static char *read_all(FILE *f, size_t max, size_t *n)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            if (cap >= max) break;
            char *p = realloc(buf, cap * 2);
            if (!p) break;
            buf = p;
            cap *= 2;
        }
        size_t k = fread(buf + len, 1, cap - len - 1, f);
        if (k == 0) {
            buf[len] = 0;
            *n = len;
            return buf;
        }
        len += k;
    }
    free(buf);
    return NULL;
}

static json_t *load_spec(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "allot services create: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t n = 0;
    char *text = read_all(f, 1u << 20, &n);
    if (f != stdin) fclose(f);
    if (!text) {
        fprintf(stderr, "allot services create: %s: unreadable or over 1 MiB\n", path);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &e);
    free(text);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "allot services create: %s:%d:%d: %s\n", path, j ? 1 : e.line,
                j ? 1 : e.column, j ? "the spec must be a JSON object" : e.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- list, show ---------------------------------------------------------------------- */

static int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    int json = 0, ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            if (strcmp(optarg, "json") == 0)
                json = 1;
            else if (strcmp(optarg, "table") == 0)
                json = 0;
            else
                return usage_error("list", "-o '%s': one of table, json", optarg);
            break;
        case O_SERVER: server = optarg; break;
        case 'h': fputs(services_usage, stdout); return 0;
        case ':': return usage_error("list", "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("list", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("list", "unexpected argument '%s'", argv[optind]);
    json_t *reply;
    int rc = cli_api_call("services", server, NULL, "GET", "/v1/services", NULL, &reply);
    if (rc) return rc;
    if (json)
        rc = print_json(reply);
    else {
        char *t = allot_fmt_services_table(json_object_get(reply, "services"));
        if (!t) {
            fprintf(stderr, "allot services: the server's reply is not what docs/API.md "
                            "describes\n");
            rc = CLI_EXIT_FAIL;
        } else {
            fputs(t, stdout);
            free(t);
        }
    }
    json_decref(reply);
    return rc;
}

/* show, delete: NAME... with --server */
static int cmd_names(int argc, char **argv, const char *cmd, const char *usage)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    int ch, del = strcmp(cmd, "delete") == 0;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_SERVER: server = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return usage_error(cmd, "no service named%s", "");
    if (!del && argc - optind > 1) return usage_error(cmd, "one service at a time%s", "");
    for (int i = optind; i < argc; i++)
        if (name_ok(cmd, argv[i])) return CLI_EXIT_USAGE;
    int first = 0;
    for (int i = optind; i < argc; i++) {
        char path[128], what[80];
        snprintf(path, sizeof path, "/v1/services/%s", argv[i]);
        snprintf(what, sizeof what, "service %s", argv[i]);
        json_t *reply;
        int rc = cli_api_call("services", server, what, del ? "DELETE" : "GET", path, NULL, &reply);
        if (rc == 0 && !del) rc = print_json(reply);
        json_decref(reply);
        if (rc && !first) first = rc;
        if (rc == CLI_EXIT_UNREACHABLE) break;
    }
    return first;
}

/* ---- create ---------------------------------------------------------------------------- */

static int cmd_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"devices", required_argument, NULL, O_DEVICES},
        {"chip", required_argument, NULL, O_CHIP},
        {"rps", required_argument, NULL, O_RPS},
        {"slots", required_argument, NULL, O_SLOTS},
        {"min", required_argument, NULL, O_MIN},
        {"max", required_argument, NULL, O_MAX},
        {"slo", required_argument, NULL, O_SLO},
        {"policy", required_argument, NULL, O_POLICY},
        {"cold-start", required_argument, NULL, O_COLD},
        {"drain", required_argument, NULL, O_DRAIN},
        {"tenant", required_argument, NULL, O_TENANT},
        {"env", required_argument, NULL, O_ENV},
        {"workdir", required_argument, NULL, O_WORKDIR},
        {"scrape", required_argument, NULL, O_SCRAPE},
        {"rps-metric", required_argument, NULL, O_RPS_METRIC},
        {"queue-metric", required_argument, NULL, O_QUEUE_METRIC},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"signal-timeout", required_argument, NULL, O_SIGNAL_TIMEOUT},
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "create", *server = NULL, *file = NULL, *workdir = NULL;
    const char *scrape = NULL, *rps_metric = NULL, *queue_metric = NULL;
    json_t *over = json_object(), *chips = json_array(), *env = json_object();
    double rps = -1, interval = -1, x;
    json_int_t n;
    int rc = 0, ch;
    optind = 1;
    opterr = 0;
    /* "+": stop at the first non-option (NAME), so CMD's own options stay its own */
    while (rc == 0 && (ch = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': file = optarg; break;
        case O_DEVICES:
            if (!(rc = int_flag(cmd, "--devices", optarg, 1, 64, &n)))
                json_object_set_new(over, "devices", json_integer(n));
            break;
        case O_CHIP:
            if (allot_name_problem(optarg, strlen(optarg)))
                rc = usage_error(cmd, "--chip '%s': not a chip type name", optarg);
            else
                json_array_append_new(chips, json_string(optarg));
            break;
        case O_RPS: rc = num_flag(cmd, "--rps", optarg, 1e-9, 1e9, &rps); break;
        case O_SLOTS:
            if (!(rc = int_flag(cmd, "--slots", optarg, 1, 4096, &n)))
                json_object_set_new(over, "slots", json_integer(n));
            break;
        case O_MIN:
        case O_MAX:
            if (!(rc = int_flag(cmd, ch == O_MIN ? "--min" : "--max", optarg, ch == O_MIN ? 0 : 1,
                                4096, &n)))
                json_object_set_new(over, ch == O_MIN ? "min_replicas" : "max_replicas",
                                    json_integer(n));
            break;
        case O_SLO:
            if (!(rc = num_flag(cmd, "--slo", optarg, 1e-3, 86400, &x)))
                json_object_set_new(over, "slo_s", json_real(x));
            break;
        case O_POLICY: json_object_set_new(over, "policy", json_string(optarg)); break;
        case O_COLD:
            if (!(rc = num_flag(cmd, "--cold-start", optarg, 0, 86400, &x)))
                json_object_set_new(over, "cold_start_s", json_real(x));
            break;
        case O_DRAIN:
            if (!(rc = num_flag(cmd, "--drain", optarg, 0, 86400, &x)))
                json_object_set_new(over, "drain_s", json_real(x));
            break;
        case O_TENANT: json_object_set_new(over, "tenant", json_string(optarg)); break;
        case O_ENV: {
            char key[256];
            const char *val;
            if (allot_fmt_parse_env(optarg, key, sizeof key, &val))
                rc = usage_error(cmd, "--env '%s': KEY=VALUE with KEY a variable name", optarg);
            else
                json_object_set_new(env, key, json_string(val));
            break;
        }
        case O_WORKDIR: workdir = optarg; break;
        case O_SCRAPE: scrape = optarg; break;
        case O_RPS_METRIC: rps_metric = optarg; break;
        case O_QUEUE_METRIC: queue_metric = optarg; break;
        case O_INTERVAL: rc = num_flag(cmd, "--interval", optarg, 0.1, 3600, &interval); break;
        case O_SIGNAL_TIMEOUT:
            if (!(rc = num_flag(cmd, "--signal-timeout", optarg, 1e-3, 86400, &x)))
                json_object_set_new(over, "signal_timeout_s", json_real(x));
            break;
        case O_SERVER: server = optarg; break;
        case 'h':
            fputs(create_usage, stdout);
            json_decref(over);
            json_decref(chips);
            json_decref(env);
            return 0;
        case ':': rc = usage_error(cmd, "option '%s' needs a value", argv[optind - 1]); break;
        default: rc = usage_error(cmd, "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    json_t *body = NULL;
    if (rc == 0 && file && !(body = load_spec(file))) rc = CLI_EXIT_USAGE;
    if (rc == 0 && !body) body = json_object();
    /* NAME [--] CMD ARGS... */
    if (rc == 0 && optind < argc && strcmp(argv[optind], "--") != 0) {
        if (name_ok(cmd, argv[optind]))
            rc = CLI_EXIT_USAGE;
        else
            json_object_set_new(body, "name", json_string(argv[optind++]));
    }
    if (rc == 0 && optind < argc && strcmp(argv[optind], "--") == 0) optind++;
    if (rc == 0 && optind < argc) {
        json_t *command = json_array();
        for (int i = optind; i < argc; i++) json_array_append_new(command, json_string(argv[i]));
        json_object_set_new(body, "command", command);
        char cwd[4096];
        if (!workdir && !json_object_get(body, "workdir") && getcwd(cwd, sizeof cwd))
            json_object_set_new(body, "workdir", json_string(cwd));
    }
    if (rc == 0 && !json_object_get(body, "name"))
        rc = usage_error(
            cmd, "no service name%s: allot services create [options] NAME -- CMD, or -f SPEC", "");
    if (rc == 0 && !json_object_get(body, "command"))
        rc = usage_error(cmd, "no command%s: allot services create [options] NAME -- CMD [ARGS...]",
                         "");
    if (rc == 0 && (rps_metric || queue_metric || interval > 0) && !scrape)
        rc = usage_error(cmd, "--rps-metric, --queue-metric and --interval go with --scrape%s", "");
    if (rc == 0 && scrape && !rps_metric)
        rc = usage_error(cmd, "--scrape needs --rps-metric%s", "");
    if (rc == 0) {
        json_object_update(body, over);
        if (workdir) json_object_set_new(body, "workdir", json_string(workdir));
        if (json_object_size(env)) {
            json_t *e = json_object_get(body, "env");
            if (json_is_object(e))
                json_object_update(e, env);
            else
                json_object_set(body, "env", env);
        }
        if (json_array_size(chips) || rps > 0) {
            if (!json_array_size(chips)) { /* --rps alone: on the chips of the spec, or H100 */
                json_t *given = json_object_get(body, "chips");
                size_t i;
                json_t *c;
                json_array_foreach(given, i, c)
                {
                    const char *nm = json_is_string(c)
                                         ? json_string_value(c)
                                         : json_string_value(json_object_get(c, "name"));
                    if (nm) json_array_append_new(chips, json_string(nm));
                }
                if (!json_array_size(chips)) json_array_append_new(chips, json_string("H100"));
            }
            if (rps > 0) {
                json_t *objs = json_array();
                size_t i;
                json_t *c;
                json_array_foreach(chips, i, c)
                {
                    json_array_append_new(objs, json_pack("{s:O,s:f}", "name", c, "rps", rps));
                }
                json_decref(chips);
                chips = objs;
            }
            json_object_set(body, "chips", chips);
        }
        if (scrape) {
            json_t *s = json_pack("{s:s,s:s}", "url", scrape, "rps_metric", rps_metric);
            if (queue_metric) json_object_set_new(s, "queue_metric", json_string(queue_metric));
            if (interval > 0) json_object_set_new(s, "interval_s", json_real(interval));
            json_object_set_new(body, "load", json_pack("{s:o}", "scrape", s));
        }
    }
    json_decref(over);
    json_decref(chips);
    json_decref(env);
    if (rc) {
        json_decref(body);
        return rc;
    }
    json_t *reply;
    rc = cli_api_call("services", server, "create", "POST", "/v1/services", body, &reply);
    json_decref(body);
    if (rc == 0) printf("%s\n", json_string_value(json_object_get(reply, "name")));
    json_decref(reply);
    return rc;
}

/* ---- scale, load ------------------------------------------------------------------------- */

static int cmd_scale(int argc, char **argv)
{
    static const struct option opts[] = {
        {"min", required_argument, NULL, O_MIN},
        {"max", required_argument, NULL, O_MAX},
        {"policy", required_argument, NULL, O_POLICY},
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "scale", *server = NULL, *name = NULL;
    json_t *body = json_object();
    json_int_t n;
    int rc = 0, ch;
    optind = 1;
    opterr = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_MIN:
        case O_MAX:
            if (!(rc = int_flag(cmd, ch == O_MIN ? "--min" : "--max", optarg, ch == O_MIN ? 0 : 1,
                                4096, &n)))
                json_object_set_new(body, ch == O_MIN ? "min_replicas" : "max_replicas",
                                    json_integer(n));
            break;
        case O_POLICY: json_object_set_new(body, "policy", json_string(optarg)); break;
        case O_SERVER: server = optarg; break;
        case 'h':
            fputs(scale_usage, stdout);
            json_decref(body);
            return 0;
        case ':': rc = usage_error(cmd, "option '%s' needs a value", argv[optind - 1]); break;
        default: rc = usage_error(cmd, "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (rc == 0 && optind < argc) name = argv[optind++];
    if (rc == 0 && optind < argc) rc = usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (rc == 0 && !name) rc = usage_error(cmd, "no service named%s", "");
    if (rc == 0) rc = name_ok(cmd, name);
    if (rc == 0 && json_object_size(body) == 0)
        rc = usage_error(cmd, "nothing to change%s: give --min, --max or --policy", "");
    if (rc) {
        json_decref(body);
        return rc;
    }
    char path[128], what[80];
    snprintf(path, sizeof path, "/v1/services/%s", name);
    snprintf(what, sizeof what, "service %s", name);
    json_t *reply;
    rc = cli_api_call("services", server, what, "PATCH", path, body, &reply);
    json_decref(body);
    if (rc == 0) {
        json_t *r = json_object_get(reply, "replicas");
        printf("%s: %" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT
               " replicas, %" JSON_INTEGER_FORMAT " wanted, policy %s\n",
               name, json_integer_value(json_object_get(reply, "min_replicas")),
               json_integer_value(json_object_get(reply, "max_replicas")),
               json_integer_value(json_object_get(r, "wanted")),
               json_string_value(json_object_get(reply, "policy")));
    }
    json_decref(reply);
    return rc;
}

static int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rps", required_argument, NULL, O_RPS}, {"queue", required_argument, NULL, O_QUEUE},
        {"es", required_argument, NULL, O_ES},   {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *cmd = "load", *server = NULL, *name = NULL;
    double rps = -1, queue = 0, es = 0;
    int rc = 0, ch;
    optind = 1;
    opterr = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_RPS: rc = num_flag(cmd, "--rps", optarg, 0, 1e9, &rps); break;
        case O_QUEUE: rc = num_flag(cmd, "--queue", optarg, 0, 1e9, &queue); break;
        case O_ES: rc = num_flag(cmd, "--es", optarg, 1e-6, 86400, &es); break;
        case O_SERVER: server = optarg; break;
        case 'h': fputs(load_usage, stdout); return 0;
        case ':': rc = usage_error(cmd, "option '%s' needs a value", argv[optind - 1]); break;
        default: rc = usage_error(cmd, "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (rc) return rc;
    if (optind < argc) name = argv[optind++];
    if (optind < argc) return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!name) return usage_error(cmd, "no service named%s", "");
    if ((rc = name_ok(cmd, name))) return rc;
    if (rps < 0) return usage_error(cmd, "--rps is required%s", "");
    json_t *body = json_pack("{s:f,s:f}", "rps", rps, "queue", queue);
    if (es > 0) json_object_set_new(body, "es", json_real(es));
    char path[128], what[80];
    snprintf(path, sizeof path, "/v1/services/%s/load", name);
    snprintf(what, sizeof what, "service %s", name);
    json_t *reply;
    rc = cli_api_call("services", server, what, "POST", path, body, &reply);
    json_decref(body);
    if (rc == 0) {
        json_t *r = json_object_get(reply, "replicas");
        printf("%s: %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " replicas ready, signal %s\n",
               name, json_integer_value(json_object_get(r, "ready")),
               json_integer_value(json_object_get(r, "wanted")),
               json_string_value(json_object_get(reply, "signal")));
    }
    json_decref(reply);
    return rc;
}

int allot_cmd_services(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') return cmd_list(argc, argv);
    const char *sub = argv[1];
    if (strcmp(sub, "list") == 0) return cmd_list(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0) return cmd_names(argc - 1, argv + 1, "show", show_usage);
    if (strcmp(sub, "delete") == 0) return cmd_names(argc - 1, argv + 1, "delete", delete_usage);
    if (strcmp(sub, "create") == 0) return cmd_create(argc - 1, argv + 1);
    if (strcmp(sub, "scale") == 0) return cmd_scale(argc - 1, argv + 1);
    if (strcmp(sub, "load") == 0) return cmd_load(argc - 1, argv + 1);
    fprintf(stderr,
            "allot services: unknown command '%s' (list, show, create, scale, delete, load)\n"
            "Run 'allot services --help' for the options.\n",
            sub);
    return CLI_EXIT_USAGE;
}
