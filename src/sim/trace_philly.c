/* trace_philly.c - the Microsoft Philly job table as derived by the Pollux
 * authors (philly.csv, ../shared/traces/philly-pollux-derived/README.md).
 *
 * Example: the rows
 *     timestamp,duration,num_gpus,gpu_time,cluster
 *     2017-10-09 07:01:55,66.0,12,792.0,11cb48
 *     2017-10-09 06:13:03,2950.2,1,2950.2,6214e9
 * give two jobs. Submit times are rebased on the earliest timestamp of the
 * file, so the second row is submitted at 0 s and the first at 2932 s; file
 * order is kept (the simulator's event queue sorts by time). The first is a
 * gang of 3 tasks x 4 whole devices (12 is not a multiple of 8; 4 is the
 * largest power of two <= 8 dividing it), each task with 16 cores and
 * 128 GiB, running 66 s, tenant "11cb48" (id 0), named "philly-0". The second
 * is one task of 1 device, 4 cores, 32 GiB, running ceil(2950.2) = 2951 s,
 * tenant "6214e9" (id 1), named "philly-1".
 *
 * Mapping rules (docs/workloads.md says why):
 *  - one row, one job named "philly-<row>", row = 0-based data row in file
 *    order;
 *  - submit = timestamp - the earliest timestamp in the file, in s; the
 *    timestamps have no zone and need none once rebased;
 *  - duration = ceil(duration) s, at least 1 s;
 *  - tenant = the cluster column (the hashed virtual cluster), tenant ids in
 *    order of first appearance;
 *  - devices: num_gpus <= 8 is one task of num_gpus whole devices; more is a
 *    gang of num_gpus / k tasks of k devices, k the largest power of two
 *    <= 8 that divides num_gpus (16 -> 2 x 8, 12 -> 3 x 4, 24 -> 3 x 8,
 *    10 -> 5 x 2, 9 -> 9 x 1); any chip type;
 *  - per task, PHILLY_CPU_PER_GPU milli-cores and PHILLY_MIB_PER_GPU MiB per
 *    device (4 cores and 32 GiB: an 8-device task takes 32 cores and 256 GiB,
 *    within a DGX-1-class node, so devices bind before CPU or memory).
 *
 * Validation is strict: every column must parse completely and be in range,
 * and gpu_time must equal duration * num_gpus within 1e-6 relative (the
 * README checked the identity on every row; a file where it fails is not
 * this table). Errors are file:line:col with the column's name.
 */
#include "allot/trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/csv.h"

#define PHILLY_NODE_GPUS   8           /* largest task: one 8-GPU server */
#define PHILLY_CPU_PER_GPU 4000        /* milli-cores per device */
#define PHILLY_MIB_PER_GPU (32 * 1024) /* MiB per device */
#define MAX_DURATION_S     1e12        /* ~31,700 years; rejects garbage */
#define MAX_GPU_TIME       1e18        /* GPU-seconds */
#define GPU_TIME_REL_TOL   1e-6        /* gpu_time vs duration * num_gpus */
#define MAX_GPUS           65535       /* per job, so that ntasks <= 65535 */

static const char *fname(const char *file) { return file && *file ? file : "<input>"; }

enum { P_TIME, P_DUR, P_NGPU, P_GPUTIME, P_VC, P__N };
static const char *const col_names[P__N] = {"timestamp", "duration", "num_gpus", "gpu_time",
                                            "cluster"};

/* Tasks and devices per task for a request of ngpu devices. */
static void gang_shape(int64_t ngpu, int64_t *ntasks, int64_t *per_task)
{
    int64_t k = ngpu;
    if (ngpu > PHILLY_NODE_GPUS)
        for (k = PHILLY_NODE_GPUS; ngpu % k != 0; k /= 2) {
        }
    *per_task = k;
    *ntasks = ngpu / k;
}

int allot_trace_read_philly(const char *buf, size_t len, const char *file, allot_cluster *c,
                            allot_workload *w, allot_diag *d)
{
    int rc = 0;
    allot_csv *r = malloc(sizeof *r);
    int col[P__N];
    size_t njobs0 = w->njobs, pool0 = w->pool_len, ntenants0 = w->ntenants;
    int64_t tmin = INT64_MAX;

    (void)c; /* jobs allow any chip type; nothing to resolve */
    file = fname(file);
    if (!r) return allot_diag_set(d, ALLOT_ENOMEM, file, 0, 0, "out of memory");
    allot_csv_init(r, buf, len, file);
    rc = allot_csv_next(r, d);
    if (rc < 0) goto out;
    if (rc == 0) {
        rc = allot_diag_set(d, ALLOT_EPARSE, file, 1, 1, "empty Philly trace (no header)");
        goto out;
    }
    int nf = r->nfields;
    rc = allot_csv_columns(r, col_names, P__N, P__N, "a Philly trace", col, d);
    if (rc < 0) goto out;

    for (size_t row = 0;; row++) {
        rc = allot_csv_next(r, d);
        if (rc < 0) goto out;
        if (rc == 0) break;
        if ((rc = allot_csv_expect_fields(r, nf, d)) < 0) goto out;
        if (w->njobs - njobs0 >= ALLOT_TRACE_MAX_JOBS) {
            rc = allot_diag_set(d, ALLOT_ELIMIT, file, r->line, 1, "more than %d jobs",
                                ALLOT_TRACE_MAX_JOBS);
            goto out;
        }

        int64_t t = 0, ngpu = 0;
        double dur = 0, gtime = 0;
        if ((rc = allot_csv_col_time(r, col[P_TIME], "timestamp", &t, NULL, d)) < 0) goto out;
        rc = allot_csv_f64(r, col[P_DUR], 0, MAX_DURATION_S, &dur, d);
        if ((rc = allot_diag_prefix_column(d, rc, "duration")) < 0) goto out;
        if ((rc = allot_csv_col_i64(r, col[P_NGPU], "num_gpus", 1, MAX_GPUS, &ngpu, d)) < 0)
            goto out;
        rc = allot_csv_f64(r, col[P_GPUTIME], 0, MAX_GPU_TIME, &gtime, d);
        if ((rc = allot_diag_prefix_column(d, rc, "gpu_time")) < 0) goto out;
        double want = dur * (double)ngpu;
        if (fabs(gtime - want) > GPU_TIME_REL_TOL * fmax(fabs(want), 1.0)) {
            rc = allot_diag_set(d, ALLOT_EINVAL, file, r->line, r->col[col[P_GPUTIME]],
                                "column 'gpu_time': %.17g is not duration x num_gpus = %.17g",
                                gtime, want);
            goto out;
        }
        const char *vc = r->field[col[P_VC]];
        const char *why = allot_name_problem(vc, strlen(vc));
        if (why) {
            rc = allot_diag_set(d, ALLOT_EINVAL, file, r->line, r->col[col[P_VC]],
                                "column 'cluster': virtual cluster '%.64s' %s", vc, why);
            goto out;
        }
        int tenant = allot_workload_tenant(w, vc);
        if (tenant < 0) {
            rc = allot_diag_set(d, tenant, file, r->line, r->col[col[P_VC]],
                                "column 'cluster': cannot add tenant '%s': %s%s", vc,
                                allot_strerror(tenant),
                                tenant == ALLOT_ELIMIT ? " (too many tenants)" : "");
            goto out;
        }

        allot_job j;
        memset(&j, 0, sizeof j); /* shapes are hashed as bytes */
        int64_t ntasks, per;
        gang_shape(ngpu, &ntasks, &per);
        j.shape.ndev = (int32_t)per;
        j.shape.milli = ALLOT_MILLI;
        j.shape.cpu = PHILLY_CPU_PER_GPU * per;
        j.shape.mem = (int64_t)PHILLY_MIB_PER_GPU * per;
        j.ntasks = (uint32_t)ntasks;
        j.submit = t; /* rebased below */
        j.duration = (int64_t)ceil(dur);
        if (j.duration < 1) j.duration = 1;
        j.tenant = (uint16_t)tenant;
        j.qos = 4; /* the trace has no QoS class */
        if (t < tmin) tmin = t;

        char name[32];
        snprintf(name, sizeof name, "philly-%zu", row);
        int arc = allot_workload_add(w, &j, name);
        if (arc < 0) {
            rc =
                allot_diag_set(d, arc, file, r->line, 1, "cannot add job: %s", allot_strerror(arc));
            goto out;
        }
    }
    for (size_t i = njobs0; i < w->njobs; i++) w->jobs[i].submit -= tmin;
    w->has_times = 1;
    rc = 0;
out:
    if (rc < 0) { /* leave w as it was */
        w->njobs = njobs0;
        w->ntenants = ntenants0;
        if (w->pool_len > pool0) w->pool_len = pool0;
    }
    free(r);
    return rc;
}
