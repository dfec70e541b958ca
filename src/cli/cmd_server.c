/* cmd_server.c - `allot server`: the control plane (see allot/server.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "allot/agent.h"
#include "allot/client.h"
#include "allot/server.h"
#include "cli.h"

static const char server_usage[] =
    "usage: allot server [--config FILE] [--listen HOST:PORT] [--data DIR] [options]\n"
    "       allot server --dev [--sim-nodes N] [--listen HOST:PORT]\n"
    "\n"
    "Runs the control plane: the REST API under /v1 (docs/API.md), /healthz and\n"
    "/metrics (Prometheus), the web dashboard at / (open the URL it prints), the scheduler (the "
    "same core as `allot sim`) on the\n"
    "wall clock, and durable state in SQLite (WAL) under --data. A job is on disk\n"
    "before its submission is acknowledged; after a crash or restart the server\n"
    "recovers pending jobs, running assignments, tenants and the node registry.\n"
    "Node agents (`allot agent`) register, poll for work and report exits; a node\n"
    "silent for node_timeout seconds is marked down and its jobs are requeued.\n"
    "\n"
    "Settings come from, in increasing precedence: defaults, the --config INI file,\n"
    "ALLOT_* environment variables, flags.\n"
    "\n"
    "options:\n"
    "  --config FILE        INI file (see below)\n"
    "  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080; port 0 =\n"
    "                       any free port, printed at start)        [ALLOT_LISTEN]\n"
    "  --data DIR           state directory (default ./allot-data)   [ALLOT_DATA]\n"
    "  --policy NAME        fifo, fifo-backfill, priority-preempt, las, drf, allot\n"
    "                       (default allot; see `allot sim --help`) [ALLOT_POLICY]\n"
    "  --placement NAME     node choice: bestfit (default), fgd, dotprod, ...\n"
    "  --node-timeout S     seconds without a poll before a node is down (default 30)\n"
    "                                                             [ALLOT_NODE_TIMEOUT]\n"
    "  --heartbeat S        poll interval the agents are told (default 5)\n"
    "  --job-retention S    seconds a finished job stays listed (default 604800 = 7\n"
    "                       days; 0 = for ever); then it leaves memory, the store\n"
    "                       and the log directory\n"
    "  --http-threads N     HTTP worker threads (default 2)\n"
    "  --service-step S     seconds between the autoscaling steps of the inference\n"
    "                       services (/v1/services; default 2)\n"
    "  --service-signal-timeout S\n"
    "                       the least time without a load sample before a service's\n"
    "                       signal is stale (default 30; it is 3x the interval seen\n"
    "                       between samples when that is longer). A stale service\n"
    "                       is held: never scaled down until samples return\n"
    "  --service-clock-scale X\n"
    "                       run the autoscalers' clock X times faster than the wall\n"
    "                       clock (their 60-300 s windows pass in seconds: tests and\n"
    "                       demos; default 1)\n"
    "  --reports-dir DIR    the dashboard lists DIR's *.html reports (and those one\n"
    "                       directory down, e.g. DIR/run1/report.html from\n"
    "                       `allot sim --out DIR/run1`) and serves them read-only\n"
    "                       under /reports/ (admin token)           [ALLOT_REPORTS_DIR]\n"
    "  --quiet              no per-event log lines on stderr\n"
    "  --dev                the embedded default for trying allot: state in a fresh\n"
    "                       temporary directory, no tokens, one in-process agent\n"
    "                       running real local processes (node \"local\"), and\n"
    "                       --sim-nodes simulated nodes\n"
    "  --sim-nodes N        add N simulated nodes (sim-1..N) whose tasks end on their\n"
    "                       own: after ALLOT_SIM_DURATION seconds from the job's env,\n"
    "                       or N for a `sleep N` command, else 1 s\n"
    "  --sim-devices N      devices per simulated node (default 8)\n"
    "  --sim-chip T         their chip type (default H100)\n"
    "  --local-devices N    --dev: devices of the in-process agent (default: the\n"
    "                       NVIDIA GPUs found, else 2)\n"
    "  --local-chip T       --dev: their chip type when declared (default H100)\n"
    "  -h, --help           this help\n"
    "\n"
    "Configuration file (INI):\n"
    "  [server]\n"
    "  listen = 127.0.0.1:8080\n"
    "  data = /var/lib/allot\n"
    "  policy = allot\n"
    "  placement = bestfit\n"
    "  admin_token = <16+ characters>   ; [ALLOT_ADMIN_TOKEN] everything\n"
    "  agent_token = <16+ characters>   ; [ALLOT_AGENT_TOKEN] the agents' routes\n"
    "  node_timeout = 30\n"
    "  heartbeat_interval = 5\n"
    "  job_retention = 604800\n"
    "  http_threads = 2\n"
    "  service_step = 2\n"
    "  service_signal_timeout = 30\n"
    "  service_clock_scale = 1\n"
    "  reports_dir = /var/lib/allot/reports\n"
    "  tls_cert = /etc/allot/cert.pem   ; both set: HTTPS (GnuTLS)\n"
    "  tls_key = /etc/allot/key.pem\n"
    "  [tenant.vision]                  ; one section per tenant\n"
    "  token = <16+ characters>         ; submits, lists and cancels vision's jobs only\n"
    "  weight = 1                       ; fair-share weight\n"
    "  quota.H100 = 16                  ; guaranteed devices per chip type\n"
    "  borrow_limit = 8                 ; devices beyond quota (or unlimited)\n"
    "With no token configured, authentication is off (every request is admin).\n"
    "Tokens are never logged; keep the file readable by the server's user only.\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 if it cannot start, 2 usage error.\n";

typedef struct flag_kv {
    const char *key, *val;
} flag_kv;

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* ---- the in-process agent of --dev ---- */

typedef struct dev_agent {
    allot_agent_config cfg;
    char server[400], workdir[1200];
    volatile int stop;
    pthread_t th;
    int started;
} dev_agent;

static void dev_log(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "allot agent (local): %s\n", line);
}

static void *dev_agent_main(void *arg)
{
    dev_agent *a = arg;
    allot_diag d = {0};
    if (allot_agent_run(&a->cfg, &a->stop, &d))
        fprintf(stderr, "allot agent (local): stopped: %s\n", d.msg[0] ? d.msg : "error");
    return NULL;
}

static int dev_agent_start(dev_agent *a, const char *url, int devices, const char *chip,
                           const char *data)
{
    memset(a, 0, sizeof *a);
    allot_agent_config_init(&a->cfg);
    snprintf(a->server, sizeof a->server, "%s", url);
    snprintf(a->workdir, sizeof a->workdir, "%s/agent-local", data);
    if (cli_mkdirs(a->workdir)) return -1;
    allot_inventory_flags fl = {devices, devices >= 0 ? chip : NULL, -1, -1};
    allot_diag d = {0};
    int rc = allot_inventory_discover(&a->cfg.inv, &fl, &d);
    if (rc == 0 && devices < 0 && a->cfg.inv.devices == 0) { /* no GPU here: declare two */
        allot_inventory_flags f2 = {2, chip, -1, -1};
        rc = allot_inventory_discover(&a->cfg.inv, &f2, &d);
    }
    if (rc) {
        fprintf(stderr, "allot server: the local agent's inventory: %s\n", d.msg);
        return -1;
    }
    a->cfg.server = a->server;
    a->cfg.name = "local";
    a->cfg.work_dir = a->workdir;
    a->cfg.grace = 3;
    a->cfg.poll_wait = 1;
    a->cfg.log = dev_log;
    /* libcurl's global set-up must happen before threads use it */
    allot_client_free(allot_client_new(url, NULL));
    if (pthread_create(&a->th, NULL, dev_agent_main, a)) return -1;
    a->started = 1;
    fprintf(stderr, "allot server: local agent: node \"local\" with %d x %s, tasks run in %s\n",
            a->cfg.inv.devices, a->cfg.inv.devices ? a->cfg.inv.chip : "cpu", a->workdir);
    return 0;
}

static void dev_agent_stop(dev_agent *a)
{
    if (!a->started) return;
    a->stop = 1;
    pthread_join(a->th, NULL);
    a->started = 0;
}

int allot_cmd_server(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"listen", required_argument, 0, 'l'},
        {"data", required_argument, 0, 'd'},
        {"policy", required_argument, 0, 'p'},
        {"placement", required_argument, 0, 'P'},
        {"node-timeout", required_argument, 0, 't'},
        {"heartbeat", required_argument, 0, 'b'},
        {"job-retention", required_argument, 0, 'R'},
        {"http-threads", required_argument, 0, 'T'},
        {"service-step", required_argument, 0, 'S'},
        {"service-signal-timeout", required_argument, 0, 'G'},
        {"service-clock-scale", required_argument, 0, 'X'},
        {"reports-dir", required_argument, 0, 'r'},
        {"quiet", no_argument, 0, 'q'},
        {"dev", no_argument, 0, 'D'},
        {"sim-nodes", required_argument, 0, 'n'},
        {"sim-devices", required_argument, 0, 'v'},
        {"sim-chip", required_argument, 0, 'C'},
        {"local-devices", required_argument, 0, 'L'},
        {"local-chip", required_argument, 0, 'K'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *config = NULL;
    flag_kv flags[32];
    int nflags = 0, dev = 0, local_devices = -1;
    unsigned long long n;
    allot_server_config cfg;
    allot_server_config_init(&cfg);
    const char *local_chip = "H100";
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (nflags == (int)(sizeof flags / sizeof flags[0])) {
            fprintf(stderr, "allot server: too many options\n");
            return CLI_EXIT_USAGE;
        }
        switch (ch) {
        case 'c': config = optarg; break;
        case 'l': flags[nflags++] = (flag_kv){"listen", optarg}; break;
        case 'd': flags[nflags++] = (flag_kv){"data", optarg}; break;
        case 'p': flags[nflags++] = (flag_kv){"policy", optarg}; break;
        case 'P': flags[nflags++] = (flag_kv){"placement", optarg}; break;
        case 't': flags[nflags++] = (flag_kv){"node_timeout", optarg}; break;
        case 'b': flags[nflags++] = (flag_kv){"heartbeat_interval", optarg}; break;
        case 'R': flags[nflags++] = (flag_kv){"job_retention", optarg}; break;
        case 'T': flags[nflags++] = (flag_kv){"http_threads", optarg}; break;
        case 'S': flags[nflags++] = (flag_kv){"service_step", optarg}; break;
        case 'G': flags[nflags++] = (flag_kv){"service_signal_timeout", optarg}; break;
        case 'X': flags[nflags++] = (flag_kv){"service_clock_scale", optarg}; break;
        case 'r': flags[nflags++] = (flag_kv){"reports_dir", optarg}; break;
        case 'q': cfg.quiet = 1; break;
        case 'D': dev = 1; break;
        case 'n':
        case 'v':
        case 'L':
            if (cli_parse_u64(optarg, 0, ch == 'n' ? 100000 : 64, &n)) {
                fprintf(stderr, "allot server: --%s: an integer %s, not '%s'\n",
                        ch == 'n'   ? "sim-nodes"
                        : ch == 'v' ? "sim-devices"
                                    : "local-devices",
                        ch == 'n' ? "0..100000" : "0..64", optarg);
                return CLI_EXIT_USAGE;
            }
            if (ch == 'n') cfg.sim_nodes = (int)n;
            if (ch == 'v') cfg.sim_devices = (int)n;
            if (ch == 'L') local_devices = (int)n;
            break;
        case 'C': snprintf(cfg.sim_chip, sizeof cfg.sim_chip, "%s", optarg); break;
        case 'K': local_chip = optarg; break;
        case 'h': fputs(server_usage, stdout); return 0;
        case ':':
            fprintf(stderr, "allot server: %s needs a value\n", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default:
            fprintf(stderr, "allot server: unknown option '%s' (see allot server --help)\n",
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "allot server: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    allot_diag d = {0};
    if (config && allot_server_config_ini(&cfg, config, &d)) return cli_fail(ALLOT_EINVAL, &d);
    if (allot_server_config_env(&cfg, &d)) return cli_fail(ALLOT_EINVAL, &d);
    for (int i = 0; i < nflags; i++)
        if (allot_server_config_set(&cfg, flags[i].key, flags[i].val, &d)) {
            fprintf(stderr, "allot server: --%s: %s\n", flags[i].key, d.msg);
            return CLI_EXIT_USAGE;
        }
    char tmpdir[] = "/tmp/allot-dev.XXXXXX";
    if (dev) {
        int data_given = 0;
        for (int i = 0; i < nflags; i++) data_given |= strcmp(flags[i].key, "data") == 0;
        if (!data_given) {
            if (!mkdtemp(tmpdir)) {
                fprintf(stderr, "allot server: cannot create a temporary directory: %s\n",
                        strerror(errno));
                return CLI_EXIT_FAIL;
            }
            snprintf(cfg.data, sizeof cfg.data, "%s", tmpdir);
        }
        if (cfg.heartbeat_interval > 1) cfg.heartbeat_interval = 1;
        if (cfg.node_timeout > 10) cfg.node_timeout = 10;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    static dev_agent agent;
    allot_server *srv = NULL;
    if (allot_server_start(&srv, &cfg, &d)) return cli_fail(ALLOT_EIO, &d);
    int port = allot_server_port(srv);
    char host[256];
    snprintf(host, sizeof host, "%s", cfg.listen);
    *strrchr(host, ':') = 0;
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) snprintf(host, sizeof host, "127.0.0.1");
    const char *scheme = cfg.tls_cert[0] ? "https" : "http";
    char url[400];
    snprintf(url, sizeof url, "%s://%s:%d", scheme, host, port);
    fprintf(
        stderr,
        "allot server: listening on %s (dashboard %s/, API %s/v1, metrics %s/metrics), state in "
        "%s, policy %s%s\n",
        url, url, url, url, cfg.data, cfg.policy, cfg.admin_token[0] ? "" : ", authentication OFF");
    if (dev) {
        fprintf(stderr,
                "allot server: dev mode: try\n"
                "  export ALLOT_SERVER=%s\n"
                "  allot submit --devices 1 -- sh -c 'echo hello from $CUDA_VISIBLE_DEVICES'\n"
                "  allot jobs --all; allot nodes; allot logs 1\n",
                url);
        if (dev_agent_start(&agent, url, local_devices, local_chip, cfg.data))
            fprintf(stderr, "allot server: the in-process agent did not start\n");
    }
    printf("%s\n", url);
    fflush(stdout);
    while (!stop_flag) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "allot server: stopping\n");
    dev_agent_stop(&agent); /* its tasks end and are reported first */
    allot_server_stop(srv);
    return 0;
}
