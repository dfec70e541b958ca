/* fuzz_spec.c - libFuzzer target for cluster loading with format detection
 * (JSON specs, openb / PAI 2020 / spot node lists) and allot_json_locate.
 *
 * Checks: no crash, leak or sanitizer report; every cluster that loads
 * passes allot_cluster_check; a loaded cluster written as JSON reads back
 * with the same nodes (round trip), for fleets small enough to do quickly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/spec.h"

#define ROUND_TRIP_MAX_NODES 20000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    allot_cluster *c = NULL;
    allot_diag d;
    int rc = allot_cluster_load_buf(text, size, "fuzz", ALLOT_NODES_AUTO, &c, &d);
    if (rc == 0) {
        char msg[256];
        if (!c || allot_cluster_check(c, msg, sizeof msg) != 0) abort();
        if (allot_cluster_nnodes(c) <= ROUND_TRIP_MAX_NODES) {
            char *out = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&out, &len);
            if (!f) abort();
            if (allot_spec_write(c, f) != 0) abort();
            fclose(f);
            allot_cluster *b = NULL;
            if (allot_spec_parse(out, len, "rt.json", &b, &d) != 0) abort();
            if (allot_cluster_nnodes(b) != allot_cluster_nnodes(c) ||
                allot_cluster_ndevices(b) != allot_cluster_ndevices(c) ||
                allot_cluster_nchips(b) != allot_cluster_nchips(c))
                abort();
            allot_cluster_free(b);
            free(out);
        }
        allot_cluster_free(c);
    } else if (c) {
        abort();
    }

    static const char *const paths[] = {
        "", "nodes", "nodes[0]", "nodes[1].devices", "chip_types[0]", "a[2][3].b"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int line = 0, col = 0;
        if (allot_json_locate(text, size, paths[i], &line, &col) == 0 && (line < 1 || col < 1))
            abort();
    }
    return 0;
}
