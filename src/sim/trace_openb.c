/* trace_openb.c - the Alibaba openb pod list reader (FGD, ATC '23) and the
 * workload loader that picks a reader (openb here, Philly in trace_philly.c)
 * or a generator.
 *
 * Example: the rows
 *     name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
 *         creation_time,deletion_time,scheduled_time
 *     openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
 * give one single-task job: cpu 6000 milli-cores, 12288 MiB, one device at
 * 460 milli, any chip type, qos LS (0), submitted at 427061 s, running
 * 12475899 s.
 *
 * Column rules (see ../shared/traces/alibaba-openb-gpu-2023/README.md):
 *  - name, cpu_milli, memory_mib, num_gpu, gpu_milli are required (the four
 *    multigpu files have only these); extra columns are ignored;
 *  - gpu_milli is per device; it is ignored (taken as 0) when num_gpu is 0,
 *    must be 1..1000 for one device and exactly 1000 for several;
 *  - gpu_spec is a '|' list of chip types, unknown names are added to the
 *    cluster (allot_cluster_chip_mask with add_unknown);
 *  - qos LS/BE/Burstable/Guaranteed -> 0/1/2/3, anything else 4;
 *  - creation_time and deletion_time (s from the trace start) give submit
 *    and duration; an empty deletion_time means "runs forever".
 */
#include "allot/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/csv.h"

#define MAX_CPU_MILLI 100000000LL     /* 100,000 cores */
#define MAX_MEM_MIB   1073741824LL    /* 1 PiB */
#define MAX_TIME_S    1000000000000LL /* ~31,700 years; rejects garbage */
#define MAX_NAME      255             /* longest pod name kept */

static const char *fname(const char *file) { return file && *file ? file : "<input>"; }

/* Checks every name of a '|' list (empty entries are skipped). */
static int check_chip_list(const allot_csv *r, int f, allot_diag *d)
{
    const char *p = r->field[f];
    while (*p) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *why = n ? allot_name_problem(p, n) : NULL;
        if (why)
            return allot_diag_set(d, ALLOT_EINVAL, r->file, r->line, r->col[f],
                                  "column 'gpu_spec': chip type '%.*s' %s", (int)(n > 64 ? 64 : n),
                                  p, why);
        p += n + (e != NULL);
    }
    return 0;
}

static int qos_code(const char *s)
{
    static const char *const names[] = {"LS", "BE", "Burstable", "Guaranteed"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return 4;
}

enum { C_NAME, C_CPU, C_MEM, C_NGPU, C_MILLI, C_SPEC, C_QOS, C_CREATE, C_DELETE, C__N };
static const char *const col_names[C__N] = {"name",    "cpu_milli",     "memory_mib",
                                            "num_gpu", "gpu_milli",     "gpu_spec",
                                            "qos",     "creation_time", "deletion_time"};

int allot_trace_read_openb(const char *buf, size_t len, const char *file, allot_cluster *c,
                           allot_workload *w, allot_diag *d)
{
    int rc = 0;
    allot_csv *r = malloc(sizeof *r);
    int col[C__N];
    size_t njobs0 = w->njobs, pool0 = w->pool_len;

    file = fname(file);
    if (!r) return allot_diag_set(d, ALLOT_ENOMEM, file, 0, 0, "out of memory");
    allot_csv_init(r, buf, len, file);
    rc = allot_csv_next(r, d);
    if (rc < 0) goto out;
    if (rc == 0) {
        rc = allot_diag_set(d, ALLOT_EPARSE, file, 1, 1, "empty pod list (no header)");
        goto out;
    }
    int nf = r->nfields;
    rc = allot_csv_columns(r, col_names, C__N, C_MILLI + 1, "an openb pod list", col, d);
    if (rc < 0) goto out;
    int has_times = col[C_CREATE] >= 0 && col[C_DELETE] >= 0;

    for (;;) {
        rc = allot_csv_next(r, d);
        if (rc < 0) goto out;
        if (rc == 0) break;
        if ((rc = allot_csv_expect_fields(r, nf, d)) < 0) goto out;
        if (w->njobs - njobs0 >= ALLOT_TRACE_MAX_JOBS) {
            rc = allot_diag_set(d, ALLOT_ELIMIT, file, r->line, 1, "more than %d jobs",
                                ALLOT_TRACE_MAX_JOBS);
            goto out;
        }

        allot_job j;
        memset(&j, 0, sizeof j); /* shapes are hashed as bytes */
        const char *name = r->field[col[C_NAME]];
        if (name[0] == '\0' || strlen(name) > MAX_NAME) {
            rc = allot_diag_set(d, ALLOT_EPARSE, file, r->line, r->col[col[C_NAME]],
                                "column 'name': must be 1..%d bytes", MAX_NAME);
            goto out;
        }
        int64_t cpu, mem, ngpu, milli;
        if ((rc = allot_csv_col_i64(r, col[C_CPU], "cpu_milli", 0, MAX_CPU_MILLI, &cpu, d)) < 0 ||
            (rc = allot_csv_col_i64(r, col[C_MEM], "memory_mib", 0, MAX_MEM_MIB, &mem, d)) < 0 ||
            (rc = allot_csv_col_i64(r, col[C_NGPU], "num_gpu", 0, ALLOT_MAX_DEVS_PER_NODE, &ngpu,
                                    d)) < 0 ||
            (rc = allot_csv_col_i64(r, col[C_MILLI], "gpu_milli", 0, ALLOT_MILLI, &milli, d)) < 0)
            goto out;
        if (ngpu == 0) {
            milli = 0;
        } else if (milli == 0) {
            rc = allot_diag_set(d, ALLOT_EINVAL, file, r->line, r->col[col[C_MILLI]],
                                "column 'gpu_milli': must be 1..1000 when "
                                "num_gpu is %d, got 0",
                                (int)ngpu);
            goto out;
        } else if (ngpu > 1 && milli != ALLOT_MILLI) {
            rc = allot_diag_set(d, ALLOT_EINVAL, file, r->line, r->col[col[C_MILLI]],
                                "column 'gpu_milli': must be 1000 when "
                                "num_gpu is %d (only a single device can be "
                                "shared), got %d",
                                (int)ngpu, (int)milli);
            goto out;
        }
        j.shape.cpu = cpu;
        j.shape.mem = mem;
        j.shape.ndev = (int32_t)ngpu;
        j.shape.milli = (int32_t)milli;

        if (col[C_SPEC] >= 0 && r->field[col[C_SPEC]][0]) {
            const char *spec = r->field[col[C_SPEC]];
            if ((rc = check_chip_list(r, col[C_SPEC], d)) < 0) goto out;
            int mrc = allot_cluster_chip_mask(c, spec, &j.shape.chips, 1);
            if (mrc < 0) {
                rc = allot_diag_set(d, mrc, file, r->line, r->col[col[C_SPEC]],
                                    "column 'gpu_spec': cannot use the chip "
                                    "list '%.80s': %s",
                                    spec, allot_strerror(mrc));
                goto out;
            }
        }
        j.qos = col[C_QOS] >= 0 ? (uint8_t)qos_code(r->field[col[C_QOS]]) : 4;

        j.submit = ALLOT_TIME_NONE;
        j.duration = ALLOT_TIME_NONE;
        if (has_times) {
            int64_t t0, t1;
            if ((rc = allot_csv_col_i64(r, col[C_CREATE], "creation_time", 0, MAX_TIME_S, &t0, d)) <
                0)
                goto out;
            j.submit = t0;
            if (r->field[col[C_DELETE]][0]) {
                if ((rc = allot_csv_col_i64(r, col[C_DELETE], "deletion_time", 0, MAX_TIME_S, &t1,
                                            d)) < 0)
                    goto out;
                if (t1 < t0) {
                    rc = allot_diag_set(d, ALLOT_ERANGE, file, r->line, r->col[col[C_DELETE]],
                                        "column 'deletion_time': %lld is before "
                                        "creation_time %lld",
                                        (long long)t1, (long long)t0);
                    goto out;
                }
                j.duration = t1 - t0;
            }
        }
        j.ntasks = 1;

        char why[200];
        if (allot_shape_check(&j.shape, why, sizeof why) < 0) {
            rc = allot_diag_set(d, ALLOT_EINVAL, file, r->line, r->col[col[C_NGPU]],
                                "invalid request: %s", why);
            goto out;
        }
        int arc = allot_workload_add(w, &j, name);
        if (arc < 0) {
            rc =
                allot_diag_set(d, arc, file, r->line, 1, "cannot add job: %s", allot_strerror(arc));
            goto out;
        }
    }
    w->has_times = has_times;
    rc = 0;
out:
    if (rc < 0) { /* leave w as it was */
        w->njobs = njobs0;
        if (w->pool_len > pool0) w->pool_len = pool0;
    }
    free(r);
    return rc;
}

/* True if the first record of buf has all of the n columns in names. */
static int header_has(const char *buf, size_t len, const char *const *names, int n)
{
    allot_csv *r = malloc(sizeof *r);
    int yes = 0;
    if (!r) return 0;
    allot_csv_init(r, buf, len, NULL);
    if (allot_csv_next(r, NULL) == 1) {
        yes = 1;
        for (int k = 0; k < n; k++)
            if (allot_csv_find(r, names[k]) < 0) yes = 0;
    }
    free(r);
    return yes;
}

/* The columns of a Philly table (trace_philly.c). */
static const char *const philly_cols[] = {"timestamp", "duration", "num_gpus", "gpu_time",
                                          "cluster"};

static allot_workload_format detect_buf(const char *buf, size_t len)
{
    if (header_has(buf, len, col_names, C_MILLI + 1)) return ALLOT_WORKLOAD_OPENB;
    if (header_has(buf, len, philly_cols, 5)) return ALLOT_WORKLOAD_PHILLY;
    return ALLOT_WORKLOAD_UNKNOWN;
}

int allot_workload_detect(const char *path, allot_workload_format *out, allot_diag *d)
{
    *out = ALLOT_WORKLOAD_UNKNOWN;
    if (!path || !*path) return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "no workload given");
    if (strncmp(path, "gen:", 4) == 0) {
        *out = ALLOT_WORKLOAD_GEN;
        return 0;
    }
    char *buf = NULL;
    size_t len = 0;
    int rc = allot_read_file(path, ALLOT_TRACE_MAX_BYTES, &buf, &len, d);
    if (rc < 0) return rc;
    *out = detect_buf(buf, len);
    free(buf);
    return 0;
}

int allot_workload_load(const char *path, allot_cluster *c, allot_workload *w, allot_diag *d)
{
    if (!path || !*path) return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "no workload given");
    if (strncmp(path, "gen:", 4) == 0) return allot_gen(path, c, w, d);

    char *buf = NULL;
    size_t len = 0;
    int rc = allot_read_file(path, ALLOT_TRACE_MAX_BYTES, &buf, &len, d);
    if (rc < 0) return rc;
    switch (detect_buf(buf, len)) {
    case ALLOT_WORKLOAD_OPENB: rc = allot_trace_read_openb(buf, len, path, c, w, d); break;
    case ALLOT_WORKLOAD_PHILLY: rc = allot_trace_read_philly(buf, len, path, c, w, d); break;
    default:
        rc = allot_diag_set(d, ALLOT_EPARSE, path, 1, 1,
                            "unrecognised workload format (expected an openb "
                            "pod list with the header columns name,cpu_milli,"
                            "memory_mib,num_gpu,gpu_milli, a Philly trace with "
                            "the header columns timestamp,duration,num_gpus,"
                            "gpu_time,cluster, or a generator such as gen:mixed)");
    }
    free(buf);
    return rc;
}
