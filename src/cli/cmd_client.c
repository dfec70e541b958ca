/* cmd_client.c - the client commands: allot submit, jobs, nodes, cancel, logs,
 * tenants. They talk to `allot server` over its REST API (docs/API.md)
 * through the shared client (allot/client.h); the tables and the time-limit
 * parser are in the library (allot/clientfmt.h) so the unit tests reach them. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "allot/client.h"
#include "allot/cluster.h"
#include "allot/clientfmt.h"
#include "cli.h"

/* ---- help texts ---------------------------------------------------------------- */

#define CONN_HELP                                                                                  \
    "  --server URL        the API server (default: $ALLOT_SERVER, else\n"                         \
    "                      http://127.0.0.1:8080); HOST:PORT gets http:// in front.\n"             \
    "                      The token is read from $ALLOT_TOKEN and never printed\n"

#define EXIT_HELP                                                                                  \
    "exit status:\n"                                                                               \
    "  0 ok; 1 the server refused the request (its message is printed);\n"                         \
    "  2 usage error; 3 the server cannot be reached; 4 not authorised (401/403);\n"               \
    "  5 not found (404)\n"

static const char submit_usage[] =
    "usage: allot submit [options] [--] CMD [ARGS...]\n"
    "\n"
    "Submits a job that runs CMD ARGS (no shell: use sh -c '...' for one) on every\n"
    "task, and prints the new job id alone on stdout, so that\n"
    "  id=$(allot submit --devices 2 -- python3 train.py)\n"
    "works. The job runs in the current directory unless --workdir says otherwise.\n"
    "\n"
    "resources:\n"
    "  --devices N         devices per task, 0..64 (default 1; 0: CPU only)\n"
    "  --milli M           share of the device in thousandths, 1..1000, only with\n"
    "                      --devices 1 (default 1000: the whole device)\n"
    "  --chip T            chip type: H100, A100, Ascend910B, ... (default: any)\n"
    "  --gang-size K       tasks started all at once or not at all, 1..4096 (default 1)\n"
    "  --cpu C             CPU cores per task: 4, 0.5, or milli-cores as 500m\n"
    "  --mem MIB           memory per task in MiB, or with a unit: 512M, 16G, 1T\n"
    "  --time LIMIT        time limit; the job fails when it runs longer. Seconds\n"
    "                      (90), a unit (30s, 30m, 1h, 2d, or 1h30m), MM:SS,\n"
    "                      H:MM:SS or Slurm's D-HH[:MM[:SS]]; at most 365 days.\n"
    "                      A bare number is seconds, unlike sbatch's minutes\n"
    "\n"
    "scheduling and identity:\n"
    "  --tenant X          submit as tenant X (default: the token's tenant, else\n"
    "                      default)\n"
    "  --priority P        -1000..1000, larger first (default 0)\n"
    "  --preemptible       the job may be stopped and requeued for higher-priority\n"
    "                      work\n"
    "  --name NAME         label, at most 63 bytes (default job-<id>)\n"
    "\n"
    "environment:\n"
    "  --env K=V           extra environment variable (repeatable, at most 64)\n"
    "  --workdir DIR       directory the tasks start in (default: the current one)\n"
    "\n"
    "other:\n"
    "  --wait              wait until the job ends and exit with its status: 0 when\n"
    "                      it succeeded, its exit code when it failed with one, 1\n"
    "                      when it failed otherwise or was cancelled (the job's id\n"
    "                      is still printed first)\n" CONN_HELP "  -h, --help          this help\n"
    "\n" EXIT_HELP "\n"
    "examples:\n"
    "  allot submit -- sleep 60\n"
    "  allot submit --devices 8 --gang-size 4 --chip H100 --time 12h -- torchrun train.py\n"
    "  allot submit --milli 250 --env WANDB_MODE=offline --wait -- python3 eval.py\n";

static const char jobs_usage[] =
    "usage: allot jobs [--all] [--tenant X] [--state S] [-o table|wide|json]\n"
    "\n"
    "Lists the pending and running jobs, oldest first, like squeue: ID NAME TENANT\n"
    "STATE DEVS CHIP WAIT/TIME NODES REASON. DEVS is devices per task (0.25 for a\n"
    "quarter of one device), KxN for a gang of K tasks. WAIT/TIME is the wait so\n"
    "far for a pending job, the run time for a running or finished one.\n"
    "\n"
    "options:\n"
    "  --all               include finished jobs (succeeded, failed, cancelled)\n"
    "  --tenant X          only tenant X's jobs (admin token; a tenant token always\n"
    "                      sees its own)\n"
    "  --state S           only jobs in state S: pending, running, succeeded,\n"
    "                      failed, cancelled (implies --all for finished states)\n"
    "  -o, --output FMT    table (default), wide (adds PRIO LIMIT EXIT EPOCH\n"
    "                      COMMAND, nothing cut) or json (the server's reply)\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char nodes_usage[] =
    "usage: allot nodes [-o table|wide|json]\n"
    "\n"
    "Lists the nodes like sinfo: NAME STATE CHIP DEVS FREE CPU MEM JOBS (CPU in\n"
    "cores, JOBS the number of jobs on the node), then one summary line per chip\n"
    "type: nodes, nodes up, devices and free devices on nodes that are up.\n"
    "\n"
    "options:\n"
    "  -o, --output FMT    table (default), wide (adds ZONE BLOCK RACK HEARTBEAT\n"
    "                      JOB-IDS) or json (the server's reply)\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char tenants_usage[] =
    "usage: allot tenants [-o table|json]\n"
    "\n"
    "Lists the tenants: NAME WEIGHT QUOTA BORROW PENDING RUNNING USED (quotas,\n"
    "borrowing limit and devices in use per chip type, in devices).\n"
    "\n"
    "options:\n"
    "  -o, --output FMT    table (default) or json (the server's reply)\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char cancel_usage[] =
    "usage: allot cancel ID...\n"
    "\n"
    "Cancels each job: a pending one leaves the queue, a running one's tasks get\n"
    "SIGTERM, then SIGKILL after the agent's grace period. Prints nothing on\n"
    "success and one line on stderr per job that could not be cancelled (e.g. it\n"
    "had already finished).\n"
    "\n"
    "options:\n" CONN_HELP "  -h, --help          this help\n"
    "\n" EXIT_HELP "When several jobs fail, the exit status is that of the first failure;\n"
    "an unreachable server stops at once with 3.\n";

static const char drain_usage[] =
    "usage: allot drain NODE...\n"
    "       allot undrain NODE...\n"
    "\n"
    "drain: the nodes keep running what they run but take no new work (before\n"
    "maintenance); undrain: they take work again. Needs the admin token. The\n"
    "state survives a restart of the server; `allot nodes` shows 'draining'.\n"
    "\n"
    "options:\n" CONN_HELP "  -h, --help          this help\n"
    "\n" EXIT_HELP;

static const char logs_usage[] =
    "usage: allot logs ID [--task T] [--stderr] [-f]\n"
    "\n"
    "Prints what a task of job ID wrote on its standard output (or error) so far.\n"
    "\n"
    "options:\n"
    "  --task T            the task of a gang job, 0.. (default 0)\n"
    "  --stderr            standard error instead of standard output\n"
    "  -f, --follow        keep printing as the task writes, every 0.5 s, until it\n"
    "                      has ended and everything is printed\n" CONN_HELP
    "  -h, --help          this help\n"
    "\n" EXIT_HELP;

/* ---- shared -------------------------------------------------------------------- */

typedef struct conn {
    const char *cmd; /* "submit", ... for messages */
    const char *server;
    allot_client *c;
} conn;

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "allot %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'allot %s --help' for the options.\n", cmd);
    return CLI_EXIT_USAGE;
}

/* One line: newlines and other control characters of a server message become
 * spaces. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

static int exit_for_status(long status)
{
    if (status == 401 || status == 403) return CLI_EXIT_AUTH;
    if (status == 404) return CLI_EXIT_NOTFOUND;
    return CLI_EXIT_FAIL;
}

static int conn_open(conn *k, const char *cmd, const char *server)
{
    k->cmd = cmd;
    k->server = server && *server ? server : getenv("ALLOT_SERVER");
    if (!k->server || !*k->server) k->server = ALLOT_CLIENT_DEFAULT_SERVER;
    k->c = allot_client_new(k->server, getenv("ALLOT_TOKEN"));
    if (!k->c) {
        fprintf(stderr, "allot %s: cannot create the HTTP client (out of memory?)\n", cmd);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

/* Prints the reply's error as one line "allot CMD: [what: ]message" and
 * returns the exit status for it. */
static int report_status(const conn *k, const char *what, long status, const json_t *reply)
{
    char msg[1024];
    allot_client_error_text(status, reply, msg, sizeof msg);
    one_line(msg);
    if (status == 401 && !getenv("ALLOT_TOKEN"))
        fprintf(stderr, "allot %s: %s%s%s (set ALLOT_TOKEN)\n", k->cmd, what ? what : "",
                what ? ": " : "", msg);
    else
        fprintf(stderr, "allot %s: %s%s%s\n", k->cmd, what ? what : "", what ? ": " : "", msg);
    return exit_for_status(status);
}

static int report_unreachable(const conn *k, const allot_diag *d)
{
    char msg[sizeof d->msg];
    snprintf(msg, sizeof msg, "%s", d->msg);
    one_line(msg);
    fprintf(stderr, "allot %s: %s\n", k->cmd, msg[0] ? msg : "cannot reach the server");
    return CLI_EXIT_UNREACHABLE;
}

/* A request that must answer 2xx: 0 with *reply (maybe NULL), or the exit
 * status after printing why. what prefixes the message (e.g. "job 17"). */
static int call(const conn *k, const char *what, const char *method, const char *path, json_t *body,
                json_t **reply, long *status_out)
{
    allot_diag d;
    memset(&d, 0, sizeof d);
    long status = 0;
    *reply = NULL;
    if (allot_client_call(k->c, method, path, body, &status, reply, &d)) {
        return report_unreachable(k, &d);
    }
    if (status_out) *status_out = status;
    if (status < 200 || status > 299) {
        int rc = report_status(k, what, status, *reply);
        json_decref(*reply);
        *reply = NULL;
        return rc;
    }
    return 0;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) return CLI_EXIT_FAIL;
    puts(s);
    free(s);
    return 0;
}

/* -o table|wide|json -> 0, 1, 2; -1 when unknown */
static int output_mode(const char *s, int allow_wide)
{
    if (strcmp(s, "table") == 0) return 0;
    if (allow_wide && strcmp(s, "wide") == 0) return 1;
    if (strcmp(s, "json") == 0) return 2;
    return -1;
}

static int print_table(const conn *k, char *text)
{
    if (!text) {
        fprintf(stderr, "allot %s: the server's reply is not what docs/API.md describes\n", k->cmd);
        return CLI_EXIT_FAIL;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}

/* Signed integer in [lo, hi] */
static int parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !*s || *s == '+') return ALLOT_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return ALLOT_EINVAL;
    *out = v;
    return 0;
}

static int parse_job_id(const char *s, long long *id)
{
    unsigned long long v;
    if (cli_parse_u64(s, 1, (unsigned long long)LLONG_MAX, &v)) return ALLOT_EINVAL;
    *id = (long long)v;
    return 0;
}

/* --cpu: cores ("4", "0.5") or milli-cores ("500m") -> milli-cores */
static int parse_cpu(const char *s, long long *milli)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == 'm') {
        char buf[32];
        if (n >= sizeof buf) return ALLOT_EINVAL;
        memcpy(buf, s, n - 1);
        buf[n - 1] = 0;
        return parse_ll(buf, 0, 100000000, milli);
    }
    double c;
    if (cli_parse_double(s, 0, 100000, &c)) return ALLOT_EINVAL;
    *milli = (long long)llround(c * 1000);
    return 0;
}

/* --mem: MiB, or with a unit M/G/T (binary) -> MiB */
static int parse_mem(const char *s, long long *mib)
{
    size_t n = strlen(s);
    long long mult = 1;
    char buf[32];
    if (n == 0 || n >= sizeof buf) return ALLOT_EINVAL;
    memcpy(buf, s, n + 1);
    char u = buf[n - 1];
    if (u == 'M' || u == 'm' || u == 'G' || u == 'g' || u == 'T' || u == 't') {
        mult = (u == 'M' || u == 'm') ? 1 : (u == 'G' || u == 'g') ? 1024 : 1024 * 1024;
        buf[n - 1] = 0;
    }
    long long v;
    if (parse_ll(buf, 0, 1LL << 40, &v)) return ALLOT_EINVAL;
    if (v > (1LL << 40) / mult) return ALLOT_EINVAL;
    *mib = v * mult;
    return 0;
}

/* ---- submit -------------------------------------------------------------------- */

enum {
    O_SERVER = 256,
    O_DEVICES,
    O_MILLI,
    O_CHIP,
    O_TENANT,
    O_PRIORITY,
    O_TIME,
    O_GANG,
    O_CPU,
    O_MEM,
    O_NAME,
    O_PREEMPT,
    O_ENV,
    O_WORKDIR,
    O_WAIT,
    O_ALL,
    O_STATE,
    O_TASK,
    O_STDERR,
};

static int is_final(const char *state)
{
    return state && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
                     strcmp(state, "cancelled") == 0);
}

/* --wait: polls the job until it ends; returns the exit status for it. */
static int wait_job(const conn *k, long long id)
{
    char path[64], what[48];
    snprintf(path, sizeof path, "/v1/jobs/%lld", id);
    snprintf(what, sizeof what, "job %lld", id);
    double delay = 0.25;
    allot_client_set_timeout(k->c, 30);
    for (;;) {
        json_t *j;
        int rc = call(k, what, "GET", path, NULL, &j, NULL);
        if (rc) return rc;
        const char *state = json_string_value(json_object_get(j, "state"));
        if (is_final(state)) {
            int out = 0;
            if (strcmp(state, "succeeded") != 0) {
                const json_t *ec = json_object_get(j, "exit_code");
                const char *reason = json_string_value(json_object_get(j, "reason"));
                char r[512];
                snprintf(r, sizeof r, "%s", reason && *reason ? reason : "no reason given");
                one_line(r);
                fprintf(stderr, "allot submit: job %lld %s: %s\n", id, state, r);
                out = 1;
                if (strcmp(state, "failed") == 0 && json_is_integer(ec)) {
                    json_int_t v = json_integer_value(ec);
                    if (v > 0) out = v > 255 ? 255 : (int)v;
                }
            }
            json_decref(j);
            return out;
        }
        json_decref(j);
        sleep_s(delay);
        if (delay < 2) delay *= 1.5;
    }
}

int allot_cmd_submit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"devices", required_argument, NULL, O_DEVICES},
        {"milli", required_argument, NULL, O_MILLI},
        {"chip", required_argument, NULL, O_CHIP},
        {"tenant", required_argument, NULL, O_TENANT},
        {"priority", required_argument, NULL, O_PRIORITY},
        {"time", required_argument, NULL, O_TIME},
        {"gang-size", required_argument, NULL, O_GANG},
        {"cpu", required_argument, NULL, O_CPU},
        {"mem", required_argument, NULL, O_MEM},
        {"name", required_argument, NULL, O_NAME},
        {"preemptible", no_argument, NULL, O_PREEMPT},
        {"env", required_argument, NULL, O_ENV},
        {"workdir", required_argument, NULL, O_WORKDIR},
        {"wait", no_argument, NULL, O_WAIT},
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "submit", *server = NULL, *workdir = NULL;
    int wait = 0;
    long long v;
    json_t *body = json_object(), *env = json_object();
    int rc = 0;
    optind = 1;
    opterr = 0;
    int ch;
    /* "+": stop at the first non-option, which starts the job's command */
    while (rc == 0 && (ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (ch) {
        case O_DEVICES:
            if (parse_ll(optarg, 0, 64, &v))
                rc = usage_error(cmd, "--devices '%s': must be an integer 0..64", optarg);
            else
                json_object_set_new(body, "devices", json_integer(v));
            break;
        case O_MILLI:
            if (parse_ll(optarg, 1, 1000, &v))
                rc = usage_error(cmd, "--milli '%s': must be an integer 1..1000", optarg);
            else
                json_object_set_new(body, "milli", json_integer(v));
            break;
        case O_CHIP:
            if (!*optarg) rc = usage_error(cmd, "--chip '%s': empty chip type", optarg);
            json_object_set_new(body, "chip", json_string(optarg));
            break;
        case O_TENANT:
            if (!*optarg) rc = usage_error(cmd, "--tenant '%s': empty tenant name", optarg);
            json_object_set_new(body, "tenant", json_string(optarg));
            break;
        case O_PRIORITY:
            if (parse_ll(optarg, -1000, 1000, &v))
                rc = usage_error(cmd, "--priority '%s': must be an integer -1000..1000", optarg);
            else
                json_object_set_new(body, "priority", json_integer(v));
            break;
        case O_TIME:
            if (allot_fmt_parse_duration(optarg, &v))
                rc = usage_error(cmd,
                                 "--time '%s': not a time limit (90, 30m, 1h30m, 2d, 1:30:00, "
                                 "2-12:00:00; 1 s to 365 days)",
                                 optarg);
            else
                json_object_set_new(body, "time_limit", json_integer(v));
            break;
        case O_GANG:
            if (parse_ll(optarg, 1, 4096, &v))
                rc = usage_error(cmd, "--gang-size '%s': must be an integer 1..4096", optarg);
            else
                json_object_set_new(body, "gang_size", json_integer(v));
            break;
        case O_CPU:
            if (parse_cpu(optarg, &v))
                rc = usage_error(cmd, "--cpu '%s': not a CPU count (4, 0.5 or 500m)", optarg);
            else
                json_object_set_new(body, "cpu", json_integer(v));
            break;
        case O_MEM:
            if (parse_mem(optarg, &v))
                rc =
                    usage_error(cmd, "--mem '%s': not a size in MiB (4096, 512M, 16G, 1T)", optarg);
            else
                json_object_set_new(body, "mem", json_integer(v));
            break;
        case O_NAME:
            if (!*optarg || strlen(optarg) > 63)
                rc = usage_error(cmd, "--name '%s': must be 1 to 63 bytes", optarg);
            else
                json_object_set_new(body, "name", json_string(optarg));
            break;
        case O_PREEMPT: json_object_set_new(body, "preemptible", json_true()); break;
        case O_ENV: {
            char key[256];
            const char *val;
            if (allot_fmt_parse_env(optarg, key, sizeof key, &val))
                rc = usage_error(cmd, "--env '%s': must be KEY=VALUE with KEY a variable name",
                                 optarg);
            else if (json_object_size(env) >= 64 && !json_object_get(env, key))
                rc = usage_error(cmd, "--env '%s': more than 64 variables", optarg);
            else if (json_object_set_new(env, key, json_string(val)))
                rc = usage_error(cmd, "--env '%s': the value is not valid UTF-8", optarg);
            break;
        }
        case O_WORKDIR:
            if (!*optarg || strlen(optarg) > 4096)
                rc = usage_error(cmd, "--workdir '%s': must be 1 to 4096 bytes", optarg);
            workdir = optarg;
            break;
        case O_WAIT: wait = 1; break;
        case O_SERVER: server = optarg; break;
        case 'h':
            fputs(submit_usage, stdout);
            json_decref(body);
            json_decref(env);
            return 0;
        case ':': rc = usage_error(cmd, "option '%s' needs a value", argv[optind - 1]); break;
        default: rc = usage_error(cmd, "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (rc == 0 && optind >= argc)
        rc = usage_error(cmd, "no command to run%s: allot submit [options] -- CMD [ARGS...]", "");
    if (rc == 0 && argc - optind > 256)
        rc = usage_error(cmd, "the command has more than 256 arguments%s", "");
    const json_t *mj = json_object_get(body, "milli"), *dj = json_object_get(body, "devices");
    if (rc == 0 && mj && json_integer_value(mj) < 1000 && dj && json_integer_value(dj) != 1)
        rc = usage_error(cmd, "--milli below 1000 needs --devices 1%s", "");
    json_t *command = json_array();
    for (int i = optind; rc == 0 && i < argc; i++) {
        if (strlen(argv[i]) > 4096)
            rc = usage_error(cmd, "argument '%.40s...' is longer than 4096 bytes", argv[i]);
        else if (json_array_append_new(command, json_string(argv[i])))
            rc = usage_error(cmd, "argument '%s' is not valid UTF-8", argv[i]);
    }
    char cwd[4096];
    if (rc == 0 && !workdir) {
        if (getcwd(cwd, sizeof cwd))
            workdir = cwd;
        else
            fprintf(stderr,
                    "allot submit: cannot read the current directory (%s); the agent's "
                    "is used\n",
                    strerror(errno));
    }
    if (rc) {
        json_decref(body);
        json_decref(env);
        json_decref(command);
        return rc;
    }
    json_object_set_new(body, "command", command);
    if (json_object_size(env)) json_object_set(body, "env", env);
    json_decref(env);
    if (workdir) json_object_set_new(body, "workdir", json_string(workdir));

    conn k;
    if ((rc = conn_open(&k, cmd, server))) {
        json_decref(body);
        return rc;
    }
    json_t *reply;
    rc = call(&k, NULL, "POST", "/v1/jobs", body, &reply, NULL);
    json_decref(body);
    if (rc == 0) {
        const json_t *id = json_object_get(reply, "id");
        if (!json_is_integer(id)) {
            fprintf(stderr, "allot submit: the server accepted the job but sent no id\n");
            rc = CLI_EXIT_FAIL;
        } else {
            printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(id));
            fflush(stdout);
            if (wait) rc = wait_job(&k, (long long)json_integer_value(id));
        }
    }
    json_decref(reply);
    allot_client_free(k.c);
    return rc;
}

/* ---- jobs, nodes, tenants -------------------------------------------------------- */

int allot_cmd_jobs(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, O_ALL},
        {"tenant", required_argument, NULL, O_TENANT},
        {"state", required_argument, NULL, O_STATE},
        {"output", required_argument, NULL, 'o'},
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const states[] = {"pending", "running", "succeeded", "failed", "cancelled"};
    const char *cmd = "jobs", *server = NULL, *tenant = NULL, *state = NULL;
    int all = 0, mode = 0;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (ch) {
        case O_ALL: all = 1; break;
        case O_TENANT: tenant = optarg; break;
        case O_STATE: {
            int ok = 0;
            for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
                ok |= strcmp(optarg, states[i]) == 0;
            if (!ok)
                return usage_error(cmd,
                                   "--state '%s': one of pending, running, succeeded, failed, "
                                   "cancelled",
                                   optarg);
            state = optarg;
            break;
        }
        case 'o':
            if ((mode = output_mode(optarg, 1)) < 0)
                return usage_error(cmd, "-o '%s': one of table, wide, json", optarg);
            break;
        case O_SERVER: server = optarg; break;
        case 'h': fputs(jobs_usage, stdout); return 0;
        case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "running") != 0) all = 1;
    char path[1024], esc[512];
    snprintf(path, sizeof path, "/v1/jobs?limit=100000%s", all ? "&all=1" : "");
    if (tenant) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "&tenant=%s",
                 allot_client_escape(tenant, esc, sizeof esc));
    }
    if (state) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "&state=%s", state);
    }
    conn k;
    int rc = conn_open(&k, cmd, server);
    if (rc) return rc;
    json_t *reply;
    rc = call(&k, NULL, "GET", path, NULL, &reply, NULL);
    if (rc == 0) {
        if (mode == 2)
            rc = print_json(reply);
        else
            rc = print_table(
                &k, allot_fmt_jobs_table(json_object_get(reply, "jobs"), wall_now(), mode == 1));
    }
    json_decref(reply);
    allot_client_free(k.c);
    return rc;
}

/* nodes and tenants: one GET, a table or the JSON */
static int list_cmd(int argc, char **argv, const char *cmd, const char *usage, int allow_wide)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    int mode = 0;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            if ((mode = output_mode(optarg, allow_wide)) < 0)
                return usage_error(cmd,
                                   allow_wide ? "-o '%s': one of table, wide, json"
                                              : "-o '%s': one of table, json",
                                   optarg);
            break;
        case O_SERVER: server = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    conn k;
    int rc = conn_open(&k, cmd, server);
    if (rc) return rc;
    json_t *reply;
    int is_nodes = strcmp(cmd, "nodes") == 0;
    rc = call(&k, NULL, "GET", is_nodes ? "/v1/nodes" : "/v1/tenants", NULL, &reply, NULL);
    if (rc == 0) {
        if (mode == 2)
            rc = print_json(reply);
        else if (is_nodes)
            rc = print_table(
                &k, allot_fmt_nodes_table(json_object_get(reply, "nodes"), wall_now(), mode == 1));
        else
            rc = print_table(&k, allot_fmt_tenants_table(json_object_get(reply, "tenants")));
    }
    json_decref(reply);
    allot_client_free(k.c);
    return rc;
}

int allot_cmd_nodes(int argc, char **argv) { return list_cmd(argc, argv, "nodes", nodes_usage, 1); }

int allot_cmd_tenants(int argc, char **argv)
{
    return list_cmd(argc, argv, "tenants", tenants_usage, 0);
}

/* ---- cancel, drain, undrain ------------------------------------------------------ */

/* One request per argument, for cancel (job ids) and drain/undrain (node
 * names): one line per failure, the status of the first failure, and a stop
 * at once when the server cannot be reached. */
static int each_arg(int argc, char **argv, const char *cmd, const char *usage, int nodes)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_SERVER: server = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        char need[96];
        snprintf(need, sizeof need, " (no %s): allot %s %s...", nodes ? "node" : "job id", cmd,
                 nodes ? "NODE" : "ID");
        return usage_error(cmd, "nothing given%s", need);
    }
    long long id = 0;
    for (int i = optind; i < argc; i++) {
        if (nodes && allot_name_problem(argv[i], strlen(argv[i])))
            return usage_error(cmd, "'%s' is not a node name", argv[i]);
        if (!nodes && parse_job_id(argv[i], &id))
            return usage_error(cmd, "'%s' is not a job id (a positive integer)", argv[i]);
    }
    conn k;
    int rc = conn_open(&k, cmd, server);
    if (rc) return rc;
    int first = 0;
    for (int i = optind; i < argc; i++) {
        char path[160], what[96];
        if (nodes) {
            snprintf(path, sizeof path, "/v1/nodes/%s/%s", argv[i], cmd);
            snprintf(what, sizeof what, "node %s", argv[i]);
        } else {
            parse_job_id(argv[i], &id);
            snprintf(path, sizeof path, "/v1/jobs/%lld", id);
            snprintf(what, sizeof what, "job %lld", id);
        }
        json_t *reply;
        rc = call(&k, what, nodes ? "POST" : "DELETE", path, NULL, &reply, NULL);
        json_decref(reply);
        if (rc && !first) first = rc;
        if (rc == CLI_EXIT_UNREACHABLE) break;
    }
    allot_client_free(k.c);
    return first;
}

int allot_cmd_cancel(int argc, char **argv)
{
    return each_arg(argc, argv, "cancel", cancel_usage, 0);
}
int allot_cmd_drain(int argc, char **argv) { return each_arg(argc, argv, "drain", drain_usage, 1); }
int allot_cmd_undrain(int argc, char **argv)
{
    return each_arg(argc, argv, "undrain", drain_usage, 1);
}

/* ---- logs ---------------------------------------------------------------------- */

int allot_cmd_logs(int argc, char **argv)
{
    static const struct option opts[] = {
        {"task", required_argument, NULL, O_TASK}, {"stderr", no_argument, NULL, O_STDERR},
        {"follow", no_argument, NULL, 'f'},        {"server", required_argument, NULL, O_SERVER},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *cmd = "logs", *server = NULL, *stream = "stdout";
    long long task = 0, id = 0;
    int follow = 0;
    optind = 1;
    opterr = 0;
    int ch;
    const char *id_arg = NULL;
    /* the ID may come before or after the options (getopt moves it last) */
    while ((ch = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
        switch (ch) {
        case O_TASK:
            if (parse_ll(optarg, 0, 4095, &task))
                return usage_error(cmd, "--task '%s': must be an integer 0..4095", optarg);
            break;
        case O_STDERR: stream = "stderr"; break;
        case 'f': follow = 1; break;
        case O_SERVER: server = optarg; break;
        case 'h': fputs(logs_usage, stdout); return 0;
        case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) id_arg = argv[optind++];
    if (optind < argc) return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!id_arg) return usage_error(cmd, "no job id given%s: allot logs ID", "");
    if (parse_job_id(id_arg, &id))
        return usage_error(cmd, "'%s' is not a job id (a positive integer)", id_arg);
    conn k;
    int rc = conn_open(&k, cmd, server);
    if (rc) return rc;
    char what[48], jpath[64];
    snprintf(what, sizeof what, "job %lld", id);
    snprintf(jpath, sizeof jpath, "/v1/jobs/%lld", id);
    unsigned long long offset = 0;
    for (;;) {
        char path[160];
        snprintf(path, sizeof path, "/v1/jobs/%lld/logs?task=%lld&stream=%s&offset=%llu", id, task,
                 stream, offset);
        allot_diag d;
        memset(&d, 0, sizeof d);
        long status = 0;
        char *body = NULL, *size_h = NULL, *done_h = NULL;
        size_t len = 0;
        if (allot_client_call_raw(k.c, "GET", path, NULL, &status, &body, &len, "X-Allot-Log-Size",
                                  &size_h, "X-Allot-Log-Done", &done_h, &d)) {
            rc = report_unreachable(&k, &d);
            break;
        }
        int done = done_h && strcmp(done_h, "1") == 0;
        unsigned long long size = size_h ? strtoull(size_h, NULL, 10) : 0;
        free(size_h);
        free(done_h);
        if (status == 404 && follow) {
            /* no log yet (a pending job) or no such job: ask for the job */
            free(body);
            json_t *j;
            if ((rc = call(&k, what, "GET", jpath, NULL, &j, NULL))) break;
            int final = is_final(json_string_value(json_object_get(j, "state")));
            json_decref(j);
            if (final) {
                fprintf(stderr, "allot logs: job %lld ended without a log for task %lld\n", id,
                        task);
                rc = CLI_EXIT_NOTFOUND;
                break;
            }
            sleep_s(0.5);
            continue;
        }
        if (status < 200 || status > 299) {
            json_t *e = json_loadb(body, len, 0, NULL);
            rc = report_status(&k, what, status, e);
            json_decref(e);
            free(body);
            break;
        }
        if (len > 0 && fwrite(body, 1, len, stdout) != len) {
            free(body);
            rc = CLI_EXIT_FAIL; /* stdout closed (e.g. a pipe to head) */
            break;
        }
        free(body);
        fflush(stdout);
        offset += len;
        if (len > 0 && (size == 0 || offset < size)) continue; /* more pages now */
        if (!follow) break;
        if (done && offset >= size) {
            /* the task ended and all is printed; the job too? (a requeued job
             * starts the task again) */
            json_t *j;
            if ((rc = call(&k, what, "GET", jpath, NULL, &j, NULL))) break;
            int final = is_final(json_string_value(json_object_get(j, "state")));
            json_decref(j);
            if (final) break;
        }
        sleep_s(0.5);
    }
    allot_client_free(k.c);
    return rc;
}

/* ---- for the client commands in other files (cmd_services.c) --------------------- */

int cli_api_call(const char *cmd, const char *server, const char *what, const char *method,
                 const char *path, json_t *body, json_t **reply)
{
    conn k;
    *reply = NULL;
    int rc = conn_open(&k, cmd, server);
    if (rc) return rc;
    rc = call(&k, what, method, path, body, reply, NULL);
    allot_client_free(k.c);
    return rc;
}
