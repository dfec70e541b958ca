/* allot/job.h - jobs, tasks and workloads (lists of jobs).
 *
 * A job is ntasks identical tasks. A task asks for ndev devices of one node,
 * each with milli of its capacity (1000 = a whole device; < 1000 only with
 * ndev == 1, i.e. a fractional device), plus CPU and memory on that node, and
 * may restrict the chip types it runs on.
 *
 * A workload is an array of jobs plus a string pool for their names. Readers
 * (trace formats) and generators produce workloads; the simulator replays them.
 */
#ifndef ALLOT_JOB_H
#define ALLOT_JOB_H

#include <stdint.h>
#include <stddef.h>

#include "allot/cluster.h"
#include "allot/err.h"

#define ALLOT_TIME_NONE INT64_MIN /* "no time" for optional times */

/* What one task needs. 32 bytes; compared and hashed as plain bytes, so
 * always zero-initialise before filling. */
typedef struct allot_shape {
    int64_t cpu;           /* milli-cores */
    int64_t mem;           /* MiB */
    allot_chip_mask chips; /* allowed chip types; 0 = any */
    int32_t milli;         /* per device: 1..1000; 0 if ndev == 0 */
    int32_t ndev;          /* devices per task; 0 = CPU-only */
} allot_shape;

typedef enum allot_job_state {
    ALLOT_JOB_PENDING = 0,
    ALLOT_JOB_RUNNING,
    ALLOT_JOB_SUCCEEDED,
    ALLOT_JOB_FAILED, /* could not be placed (FGD protocol) or crashed */
    ALLOT_JOB_CANCELLED,
} allot_job_state;

/* Topology requirement of a multi-task job (gang): the smallest domain all
 * its tasks must share. ALLOT_TOPO_ANY lets the scheduler choose (it still
 * prefers the smallest domain that fits). */
typedef enum allot_topo {
    ALLOT_TOPO_ANY = 0,
    ALLOT_TOPO_NODE, /* all tasks on one node */
    ALLOT_TOPO_RACK,
    ALLOT_TOPO_BLOCK,
    ALLOT_TOPO_ZONE,
} allot_topo;

typedef struct allot_job {
    allot_shape shape;   /* per task */
    int64_t submit;      /* s from trace start; ALLOT_TIME_NONE if unknown */
    int64_t duration;    /* s of running; ALLOT_TIME_NONE = runs forever */
    uint32_t name;       /* offset of the name in the workload's pool */
    uint32_t ntasks;     /* >= 1 */
    uint16_t tenant;     /* tenant id: index into the workload's tenants */
    int16_t priority;    /* larger runs first under the priority order */
    uint8_t qos;         /* trace QoS class, informative */
    uint8_t topo;        /* allot_topo: the domain the gang must share */
    uint16_t topo_wait;  /* minutes to wait for topo before any domain will
                            do; 0 = the requirement is hard */
    uint32_t ckpt;       /* s between checkpoints; 0 = none (a preempted job
                            restarts from the beginning) */
    uint8_t flags;       /* ALLOT_JOBF_* */
    uint8_t speed_class; /* row of the speed table (sched.h): 0 = the default
                            (catalogue bf16 TFLOP/s), k = workload row k-1 */
    uint16_t ntasks_max; /* elastic: it may grow to this many tasks while
                            devices are idle (work scales linearly with
                            tasks; duration is at ntasks); 0 = fixed size */
} allot_job;

#define ALLOT_JOBF_PREEMPTIBLE 0x01 /* may be stopped for higher-priority work */

#define ALLOT_MAX_TENANTS 4096

typedef struct allot_workload {
    allot_job *jobs;
    size_t njobs, cap;
    char *pool; /* NUL-separated names */
    size_t pool_len, pool_cap;
    int has_times;         /* jobs carry submit/duration */
    uint32_t *tenant_name; /* pool offset of each tenant's name */
    size_t ntenants;       /* 0: every job is tenant 0, "default" */
    /* per-job speed classes beyond the default: row r (jobs with
     * speed_class r+1) holds a relative speed per chip id of the cluster the
     * workload was loaded for (ALLOT_MAX_CHIP_TYPES columns; 0 = use the
     * default row's value) */
    double *speed_rows;
    size_t nspeed_rows;
} allot_workload;

void allot_workload_init(allot_workload *w);
void allot_workload_free(allot_workload *w); /* frees members, not w */
/* Appends a job (copied); name may be NULL. Returns index or error. */
int allot_workload_add(allot_workload *w, const allot_job *j, const char *name);
const char *allot_workload_name(const allot_workload *w, size_t i);
/* Tenant id for a name, adding it if new (at most ALLOT_MAX_TENANTS).
 * Returns the id or a negative error. */
int allot_workload_tenant(allot_workload *w, const char *name);
/* Name of tenant id ("default" for id 0 of a workload without tenants). */
const char *allot_workload_tenant_name(const allot_workload *w, uint16_t id);

/* Sum of device milli requested by a job (ntasks * ndev * milli). */
static inline int64_t allot_job_milli(const allot_job *j)
{
    return (int64_t)j->ntasks * j->shape.ndev * j->shape.milli;
}

/* Validates a shape: ranges and the fractional rule. Returns 0 or EINVAL with
 * a message. */
int allot_shape_check(const allot_shape *s, char *msg, size_t msglen);

#endif
