/* fuzz_csv.c - libFuzzer target for the CSV tokenizer, its converters, the
 * openb pod list reader and the Philly table reader.
 *
 * The first byte picks a mode: bit 0 prepends a full openb pod-list header
 * and bit 1 the Philly header, so that the row parsers are reached without
 * guessing the headers. Checks: no crash, leak or sanitizer report; fields
 * within the caps; every job the readers return passes allot_shape_check
 * (and, for Philly, has a rebased submit >= 0, a duration >= 1 and a known
 * tenant); a failed read leaves the workload empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allot/csv.h"
#include "allot/trace.h"

#define HDR                                                                                        \
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"                          \
    "creation_time,deletion_time,scheduled_time\n"
#define PHILLY_HDR "timestamp,duration,num_gpus,gpu_time,cluster\n"

static allot_csv reader; /* 64 KiB scratch: keep it off the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    int mode = data[0];
    data++, size--;

    /* tokenizer and converters */
    allot_diag d;
    allot_csv_init(&reader, (const char *)data, size, "fuzz.csv");
    int rc, records = 0, prev_line = 0;
    while ((rc = allot_csv_next(&reader, &d)) == 1) {
        if (reader.nfields < 1 || reader.nfields > ALLOT_CSV_MAX_FIELDS || reader.line <= prev_line)
            abort();
        prev_line = reader.line;
        for (int f = 0; f < reader.nfields; f++) {
            if (strlen(reader.field[f]) > ALLOT_CSV_MAX_LINE || reader.col[f] < 1) abort();
            int64_t i;
            double x;
            (void)allot_csv_i64(&reader, f, -1000000, 1000000, &i, &d);
            (void)allot_csv_f64(&reader, f, -1e9, 1e9, &x, &d);
        }
        (void)allot_csv_find(&reader, "name");
        records++;
    }
    if (rc != 0 && rc != ALLOT_EPARSE && rc != ALLOT_ELIMIT) abort();
    if (rc < 0 && (d.line < 1 || d.col < 1)) abort();

    /* the openb pod reader */
    char *buf = NULL;
    const char *in = (const char *)data;
    size_t len = size;
    if (mode & 1) {
        buf = malloc(sizeof HDR - 1 + size);
        if (!buf) return 0;
        memcpy(buf, HDR, sizeof HDR - 1);
        memcpy(buf + sizeof HDR - 1, data, size);
        in = buf;
        len = sizeof HDR - 1 + size;
    }
    allot_cluster *c = allot_cluster_new("fuzz");
    allot_workload w;
    allot_workload_init(&w);
    rc = allot_trace_read_openb(in, len, "fuzz.csv", c, &w, &d);
    if (rc == 0) {
        char msg[200];
        for (size_t k = 0; k < w.njobs; k++)
            if (allot_shape_check(&w.jobs[k].shape, msg, sizeof msg) != 0 || w.jobs[k].ntasks != 1)
                abort();
    } else if (w.njobs != 0) {
        abort(); /* a failed read leaves the workload as it was */
    }
    allot_workload_free(&w);
    free(buf);

    /* the Philly reader */
    buf = NULL;
    in = (const char *)data;
    len = size;
    if (mode & 2) {
        buf = malloc(sizeof PHILLY_HDR - 1 + size);
        if (!buf) {
            allot_cluster_free(c);
            return 0;
        }
        memcpy(buf, PHILLY_HDR, sizeof PHILLY_HDR - 1);
        memcpy(buf + sizeof PHILLY_HDR - 1, data, size);
        in = buf;
        len = sizeof PHILLY_HDR - 1 + size;
    }
    allot_workload_init(&w);
    rc = allot_trace_read_philly(in, len, "fuzz.csv", c, &w, &d);
    if (rc == 0) {
        char msg[200];
        for (size_t k = 0; k < w.njobs; k++) {
            const allot_job *j = &w.jobs[k];
            if (allot_shape_check(&j->shape, msg, sizeof msg) != 0 || j->ntasks < 1 ||
                j->shape.ndev < 1 || j->shape.ndev > 8 || j->submit < 0 || j->duration < 1 ||
                j->tenant >= w.ntenants)
                abort();
        }
    } else if (w.njobs != 0 || w.ntenants != 0 || d.line < 1) {
        abort();
    }
    allot_workload_free(&w);
    allot_cluster_free(c);
    free(buf);
    return 0;
}
