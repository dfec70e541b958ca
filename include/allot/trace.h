/* allot/trace.h - workload readers (one per trace format) and generators.
 */
#ifndef ALLOT_TRACE_H
#define ALLOT_TRACE_H

#include "allot/cluster.h"
#include "allot/job.h"
#include "allot/err.h"

#define ALLOT_TRACE_MAX_BYTES (1u << 30) /* refuse larger trace files */
#define ALLOT_TRACE_MAX_JOBS  50000000

/* Reads an openb pod list (openb_pod_list_*.csv): one single-task job per
 * row. Columns name,cpu_milli,memory_mib,num_gpu,gpu_milli are required;
 * gpu_spec, qos, creation_time, deletion_time are used when present (then
 * w->has_times is set). gpu_spec names are resolved against c (unknown
 * chip types are added to c, so c must not be finalized... they are added
 * only if c is not yet finalized, else an error). */
int allot_trace_read_openb(const char *buf, size_t len, const char *file, allot_cluster *c,
                           allot_workload *w, allot_diag *d);

/* Reads the Philly job table derived by the Pollux authors (philly.csv:
 * timestamp,duration,num_gpus,gpu_time,cluster; columns in any order, extra
 * columns ignored). One job per row, in file order, named "philly-<row>"
 * (0-based data row): submit = timestamp ("YYYY-MM-DD HH:MM:SS") minus the
 * earliest timestamp of the file, s; duration = ceil(duration) s, >= 1;
 * tenant = the cluster column (the virtual cluster), ids in order of first
 * appearance. num_gpus (1..65535) <= 8 is one task of that many whole
 * devices; more is a gang of num_gpus / k tasks of k devices, k the largest
 * power of two <= 8 dividing num_gpus (12 -> 3 x 4, 24 -> 3 x 8). Each task
 * takes 4 cores and 32 GiB per device, any chip type. gpu_time must equal
 * duration * num_gpus within 1e-6 relative. Sets w->has_times. c is not
 * changed. On error w is left as it was. See docs/workloads.md. */
int allot_trace_read_philly(const char *buf, size_t len, const char *file, allot_cluster *c,
                            allot_workload *w, allot_diag *d);

/* Loads a workload by path, detecting the format from the header (an openb
 * pod list or a Philly table), or a generator spec "gen:NAME[:key=value,...]"
 * (see allot_gen). */
int allot_workload_load(const char *path, allot_cluster *c, allot_workload *w, allot_diag *d);

/* The workload formats allot_workload_load tells apart. */
typedef enum allot_workload_format {
    ALLOT_WORKLOAD_UNKNOWN = 0,
    ALLOT_WORKLOAD_GEN,    /* a generator spec "gen:..." */
    ALLOT_WORKLOAD_OPENB,  /* an openb pod list */
    ALLOT_WORKLOAD_PHILLY, /* a Philly table */
} allot_workload_format;

/* Detects the format of the workload at path as allot_workload_load would,
 * without parsing the rows (a file is read once more: callers use it to pick
 * defaults, e.g. builtin:philly for a Philly table). Returns 0 with *out set
 * (UNKNOWN for an unrecognised header) or a read error with d filled. */
int allot_workload_detect(const char *path, allot_workload_format *out, allot_diag *d);

/* Generators. NAME is one of:
 *   "mixed"   - an openb-like mix: whole GPUs, fractional GPUs at common
 *               shares, CPU-only tasks and a few 2/4/8-GPU tasks, Poisson
 *               arrivals and log-normal durations.
 *   "llm"     - gang-heavy LLM training mix (issue 3 extends it).
 * keys: n (jobs, default 2000), seed (default 1), rate (arrivals per hour,
 * default 60 for mixed, 4 for llm), mean_s (mean duration, default 3600 for
 * mixed, 21600 for llm), chips (a '|' list of
 * chip types the mix may restrict to, default any). */
int allot_gen(const char *spec, allot_cluster *c, allot_workload *w, allot_diag *d);

#endif
