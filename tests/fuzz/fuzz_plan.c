/* fuzz_plan.c - libFuzzer target for plan files (allot_plan_parse).
 *
 * Checks: no crash, leak or sanitizer report on any input; a refused plan
 * always says why (a message) and leaves no plan; an accepted one reports
 * its periods and scenarios within the documented limits. Relative paths
 * resolve against a directory that does not exist, so inputs cannot make
 * the parser read the files beside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    allot_plan *p = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_plan_parse((const char *)data, size, "fuzz", "/nonexistent-allot-fuzz", &p, &d);
    if (rc) {
        if (p || !d.msg[0]) abort();
        return 0;
    }
    if (!p) abort();
    size_t np = allot_plan_nperiods(p), ns = allot_plan_nscenarios(p);
    if (np < 1 || np > ALLOT_PLAN_MAX_PERIODS || ns < 1 || ns > ALLOT_PLAN_MAX_SCENARIOS) abort();
    if (allot_plan_ncandidates(p) > ALLOT_PLAN_MAX_CANDIDATES) abort();
    allot_plan_free(p);
    return 0;
}
