/* cmd_agent.c - `allot agent`: the node agent (src/agent, agent.h). */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allot/agent.h"
#include "allot/client.h"
#include "cli.h"

static const char agent_usage[] =
    "usage: allot agent [options]\n"
    "\n"
    "Runs the node agent: registers this machine with the server, takes the tasks\n"
    "the scheduler places on it, starts each in its own process group with\n"
    "CUDA_VISIBLE_DEVICES / ASCEND_RT_VISIBLE_DEVICES set to its devices, reports\n"
    "starts and exits, and uploads the tasks' output. It survives the server going\n"
    "away (tasks keep running; it registers again when the server is back). On\n"
    "SIGINT or SIGTERM it stops its tasks (SIGTERM, grace, SIGKILL) and exits.\n"
    "The token is read from the environment variable ALLOT_TOKEN.\n"
    "\n"
    "server and node:\n"
    "  --server URL      the server (default: $ALLOT_SERVER, else " ALLOT_CLIENT_DEFAULT_SERVER
    ")\n"
    "  --name NAME       the node's name (default: the host name)\n"
    "  --zone Z          topology: the zone, block and rack of the node (default:\n"
    "  --block B         none; the server places it)\n"
    "  --rack R\n"
    "\n"
    "inventory (default: the GPUs nvidia-smi lists, all CPUs, all memory; set\n"
    "ALLOT_NVIDIA_SMI to use another nvidia-smi):\n"
    "  --devices N       declare N devices instead of asking nvidia-smi (0..64;\n"
    "                    0 = a CPU-only node)\n"
    "  --chip T          the chip type of the devices (H100, A100, Ascend-910B, ...);\n"
    "                    required with --devices N > 0; overrides the detected type\n"
    "  --cpu MILLI       CPU to offer, in milli-cores (default: online CPUs x 1000)\n"
    "  --mem MIB         memory to offer, in MiB (default: physical memory)\n"
    "\n"
    "tasks:\n"
    "  --work-dir DIR    logs go to DIR/logs/JOB.TASK.EPOCH.out|err; tasks without a\n"
    "                    workdir start in DIR (default: the current directory)\n"
    "  --grace S         seconds between SIGTERM and SIGKILL when a task is stopped\n"
    "                    (default 10)\n"
    "  --poll S          long-poll wait in whole seconds, 1..30 (default 2): how soon\n"
    "                    the agent notices it should stop\n"
    "  -h, --help        this help\n"
    "\n"
    "examples:\n"
    "  allot agent --server http://head:8080\n"
    "  allot agent --name cpu-01 --devices 0 --cpu 32000 --mem 128000\n"
    "  ALLOT_TOKEN=... allot agent --devices 8 --chip H100 --zone z0 --rack r3\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "allot agent: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot agent --help' for the options.\n");
    return CLI_EXIT_USAGE;
}

static volatile int agent_stop;

static void on_signal(int sig)
{
    (void)sig;
    agent_stop = 1;
}

static void log_line(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "allot agent: %s\n", line);
    fflush(stderr);
}

int allot_cmd_agent(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, 0, 's'},  {"name", required_argument, 0, 'n'},
        {"devices", required_argument, 0, 'd'}, {"chip", required_argument, 0, 'c'},
        {"cpu", required_argument, 0, 'C'},     {"mem", required_argument, 0, 'm'},
        {"zone", required_argument, 0, 'z'},    {"block", required_argument, 0, 'b'},
        {"rack", required_argument, 0, 'r'},    {"work-dir", required_argument, 0, 'w'},
        {"grace", required_argument, 0, 'g'},   {"poll", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    allot_agent_config cfg;
    allot_agent_config_init(&cfg);
    allot_inventory_flags fl = {-1, NULL, -1, -1};
    const char *server = getenv("ALLOT_SERVER");
    const char *name = NULL;
    unsigned long long u;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 's': server = optarg; break;
        case 'n':
            if (!*optarg || strlen(optarg) > 63 || strchr(optarg, '/'))
                return usage_error("--name: 1..63 characters without '/', got '%s'", optarg);
            name = optarg;
            break;
        case 'd':
            if (cli_parse_u64(optarg, 0, ALLOT_AGENT_MAX_GPUS, &u))
                return usage_error("--devices: an integer 0..64 expected, got '%s'", optarg);
            fl.devices = (int)u;
            break;
        case 'c':
            if (!*optarg || strlen(optarg) >= sizeof cfg.inv.chip)
                return usage_error("--chip: a chip type name expected, got '%s'", optarg);
            fl.chip = optarg;
            break;
        case 'C':
            if (cli_parse_u64(optarg, 0, 100000000ULL, &u))
                return usage_error("--cpu: milli-cores (an integer >= 0) expected, got '%s'",
                                   optarg);
            fl.cpu = (int64_t)u;
            break;
        case 'm':
            if (cli_parse_u64(optarg, 0, 1ULL << 40, &u))
                return usage_error("--mem: MiB (an integer >= 0) expected, got '%s'", optarg);
            fl.mem = (int64_t)u;
            break;
        case 'z': cfg.zone = optarg; break;
        case 'b': cfg.block = optarg; break;
        case 'r': cfg.rack = optarg; break;
        case 'w': cfg.work_dir = optarg; break;
        case 'g':
            if (cli_parse_double(optarg, 0, 3600, &cfg.grace))
                return usage_error("--grace: seconds 0..3600 expected, got '%s'", optarg);
            break;
        case 'p':
            if (cli_parse_u64(optarg, 1, 30, &u))
                return usage_error("--poll: whole seconds 1..30 expected, got '%s'", optarg);
            cfg.poll_wait = (double)u;
            break;
        case 'h': fputs(agent_usage, stdout); return 0;
        case ':': return usage_error("%s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (fl.devices > 0 && !fl.chip) return usage_error("--devices %s needs --chip T", "N > 0");

    char host[256] = "";
    if (!name) {
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            return usage_error("%s", "cannot read the host name: give --name");
        char *dot = strchr(host, '.');
        if (dot) *dot = '\0';
        name = host;
    }
    if (cli_mkdirs(cfg.work_dir) != 0) {
        fprintf(stderr, "allot agent: cannot create the work directory %s\n", cfg.work_dir);
        return CLI_EXIT_FAIL;
    }

    allot_diag d = {0};
    int rc = allot_inventory_discover(&cfg.inv, &fl, &d);
    if (rc) {
        char buf[700];
        allot_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "allot agent: inventory: %s\n", buf);
        return CLI_EXIT_FAIL;
    }
    cfg.server = server && *server ? server : ALLOT_CLIENT_DEFAULT_SERVER;
    cfg.token = getenv("ALLOT_TOKEN");
    cfg.name = name;
    cfg.log = log_line;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    fprintf(stderr,
            "allot agent: node %s: %d x %s, %lld milli-cores, %lld MiB%s; server %s%s; work "
            "dir %s\n",
            cfg.name, cfg.inv.devices, cfg.inv.chip[0] ? cfg.inv.chip : "(no devices)",
            (long long)cfg.inv.cpu, (long long)cfg.inv.mem,
            cfg.inv.ngpus ? " (nvidia-smi)" : " (declared)", cfg.server,
            cfg.token && *cfg.token ? " (with token)" : "", cfg.work_dir);
    rc = allot_agent_run(&cfg, &agent_stop, &d);
    if (rc) {
        char buf[700];
        allot_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "allot agent: %s\n", buf);
        return CLI_EXIT_FAIL;
    }
    fprintf(stderr, "allot agent: stopped\n");
    return 0;
}
