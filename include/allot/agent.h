/* allot/agent.h - the node agent: inventory discovery, the task launcher and
 * the agent loop that talks to the server (docs/API.md, "Nodes").
 *
 * The same code runs as `allot agent` and inside `allot server --dev` (an
 * in-process agent in a thread), so nothing here forks, installs signal
 * handlers, waits for any child but its own, or prints: messages go to the
 * config's log callback.
 */
#ifndef ALLOT_AGENT_H
#define ALLOT_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "allot/err.h"

#define ALLOT_AGENT_MAX_GPUS 64

/* ---- inventory ------------------------------------------------------------------ */

typedef struct allot_gpu_info {
    int index;
    char uuid[96];
    char model[128];    /* as nvidia-smi names it, "NVIDIA H100 80GB HBM3" */
    int64_t memory_mib; /* 0 when unknown */
} allot_gpu_info;

typedef struct allot_inventory {
    char chip[64]; /* chip type ("H100"); "" for a node without devices */
    int devices;
    int64_t cpu; /* milli-cores */
    int64_t mem; /* MiB */
    size_t ngpus;
    allot_gpu_info gpus[ALLOT_AGENT_MAX_GPUS];
} allot_inventory;

/* Parses the output of `nvidia-smi --query-gpu=index,uuid,name,memory.total
 * --format=csv,noheader,nounits` (one GPU a line, blank lines skipped). At most
 * cap GPUs. ALLOT_EPARSE with the line in d for anything else. */
int allot_parse_nvidia_smi(const char *text, allot_gpu_info *out, size_t cap, size_t *n,
                           allot_diag *d);

/* Runs nvidia-smi ($ALLOT_NVIDIA_SMI, else "nvidia-smi" on the PATH) and
 * parses its output. ALLOT_ENOENT when there is no such program (no GPU
 * driver: not an error for a CPU node), ALLOT_EIO when it fails (non-zero
 * exit, killed, no output in 10 s), ALLOT_EPARSE for output it cannot read. */
int allot_discover_gpus(allot_gpu_info *out, size_t cap, size_t *n, allot_diag *d);

/* Chip type for a model name: the catalogue's name when the model is a known
 * part ("NVIDIA H100 80GB HBM3" -> "H100", "NVIDIA A100-SXM4-80GB" -> "A100",
 * "Tesla V100-SXM2-32GB" -> "V100"), else the model's short name without the
 * vendor ("NVIDIA GeForce RTX 4090" -> "RTX4090"). Returns buf. */
const char *allot_chip_from_model(const char *model, char *buf, size_t len);

/* Overrides from the command line; -1 / NULL / "" mean "not given". */
typedef struct allot_inventory_flags {
    int devices;
    const char *chip;
    int64_t cpu;
    int64_t mem;
} allot_inventory_flags;

/* Fills inv: GPUs from nvidia-smi unless --devices is given (flags win: a
 * declared inventory), CPU from sysconf (online CPUs x 1000), memory from
 * sysconf (physical pages, MiB), each overridable by its flag. Fails when
 * nvidia-smi exists but fails or says nonsense and no --devices is given, or
 * when the GPUs are of several models and no --chip says which. */
int allot_inventory_discover(allot_inventory *inv, const allot_inventory_flags *fl, allot_diag *d);

/* ---- launcher --------------------------------------------------------------------- */

typedef struct allot_task_spec {
    int64_t job;
    int task;
    int64_t epoch;
    char *const *argv;   /* NULL-terminated, argv[0] looked up on the PATH */
    char *const *env;    /* extra "KEY=VALUE" (NULL-terminated, may be NULL) */
    const char *workdir; /* NULL or "": the agent's working directory */
    const int *devices;  /* allotted device indexes */
    size_t ndevices;     /* 0: CPU-only (the visible-devices variables are "") */
    int gang_size;
    const char *node;    /* ALLOT_NODE */
    const char *log_dir; /* logs go to LOG_DIR/JOB.TASK.EPOCH.out|err */
} allot_task_spec;

typedef struct allot_proc {
    pid_t pid;                   /* also the process group id; 0 before a start */
    int exited;                  /* the leader was reaped */
    int exit_code;               /* when exited by exit() */
    int signal;                  /* when killed by a signal (then exit_code is -1) */
    double start_time, end_time; /* wall clock, seconds since the epoch */
    double term_time;            /* when SIGTERM went to the group; 0 = not yet */
    int killed;                  /* SIGKILL went to the group */
    int group_gone;              /* nothing of the group lives any more */
    char out_path[4096];
    char err_path[4096];
} allot_proc;

/* Starts the task in its own process group with stdin from /dev/null and
 * stdout/stderr appended to its log files (log_dir is created). The
 * environment is the agent's, then spec->env, then CUDA_VISIBLE_DEVICES,
 * ASCEND_RT_VISIBLE_DEVICES, ALLOT_JOB_ID, ALLOT_TASK_ID, ALLOT_GANG_SIZE and
 * ALLOT_NODE (later ones win). A program that cannot be started (not found,
 * not executable, bad workdir) fails here with ALLOT_ENOENT or ALLOT_EIO and a
 * message: the agent reports it as failed_to_start, never as exit 127. */
int allot_proc_spawn(const allot_task_spec *spec, allot_proc *p, allot_diag *d);

/* Reaps the leader if it ended (waitpid on its pid, WNOHANG). Returns 1 when
 * it ended just now, 0 otherwise. */
int allot_proc_poll(allot_proc *p);

/* SIGTERM to the process group (once; the first call sets term_time). */
void allot_proc_term(allot_proc *p, double now);

/* Enforces the grace period: SIGKILL to the group when term_time + grace has
 * passed and the group still lives; after the leader ended, sets group_gone
 * when no process of the group is left. Call every few milliseconds. */
void allot_proc_tick(allot_proc *p, double now, double grace);

/* "exit code 3" / "signal 9 (Killed)" into buf; returns buf. */
const char *allot_proc_describe(const allot_proc *p, char *buf, size_t len);

/* Seconds since the Unix epoch (CLOCK_REALTIME) / monotonic seconds. */
double allot_wall_now(void);
double allot_mono_now(void);

/* ---- the agent loop ----------------------------------------------------------------- */

typedef struct allot_agent_config {
    const char *server;              /* "http://host:port" */
    const char *token;               /* bearer token or NULL */
    const char *name;                /* node name */
    const char *zone, *block, *rack; /* NULL: not sent */
    const char *work_dir; /* logs go to WORK_DIR/logs; tasks start here without workdir */
    double grace;         /* seconds between SIGTERM and SIGKILL (default 10) */
    double poll_wait;     /* long-poll wait, seconds (default 2; sent rounded up to >= 1) */
    allot_inventory inv;  /* what the node offers */
    /* one line per notable thing (start, task start/stop, server lost/back);
     * may be NULL. Called from both agent threads, never concurrently. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
} allot_agent_config;

/* Sets the defaults (grace 10, poll 2, work_dir "."). */
void allot_agent_config_init(allot_agent_config *cfg);

/* Registers with the server and runs tasks until *stop becomes non-zero;
 * then stops the tasks (SIGTERM, grace, SIGKILL), reports their ends and
 * remaining logs (trying for a few seconds when the server is away) and
 * returns 0. Fails early only when the server refuses the node for good
 * (401/403/400 on register) or a thread cannot be started. Survives the
 * server going away: retries with backoff, keeps the tasks running and
 * registers again. */
int allot_agent_run(const allot_agent_config *cfg, volatile int *stop, allot_diag *d);

#endif
