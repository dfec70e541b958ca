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

/* Loads a workload by path, detecting the format from the header, or a
 * generator spec "gen:NAME[:key=value,...]" (see allot_gen). */
int allot_workload_load(const char *path, allot_cluster *c, allot_workload *w, allot_diag *d);

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
