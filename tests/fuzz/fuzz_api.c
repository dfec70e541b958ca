/* fuzz_api.c - libFuzzer target for the API's request codec: the job
 * submission body (srv_spec_parse), the part of the server that reads what
 * anyone on the network sends.
 *
 * Checks: no crash, leak or sanitizer report; an accepted spec has every
 * field within its documented bounds and a normalised document that parses
 * again to the same spec (recovery reads it back from the store); a refused
 * one comes with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body) return 0;
    srv_spec sp;
    char err[300] = "";
    if (srv_spec_parse(body, &sp, err, sizeof err)) {
        if (!err[0]) abort();
        json_decref(body);
        return 0;
    }
    if (sp.devices < 0 || sp.devices > 64 || sp.milli < 1 || sp.milli > 1000 || sp.gang < 1 ||
        sp.gang > 4096 || sp.priority < -1000 || sp.priority > 1000 || sp.cpu < 0 || sp.mem < 0 ||
        sp.time_limit < 0 || !sp.doc)
        abort();
    srv_spec again;
    if (srv_spec_parse(sp.doc, &again, err, sizeof err)) abort();
    if (again.devices != sp.devices || again.gang != sp.gang || again.cpu != sp.cpu ||
        strcmp(again.chip, sp.chip) || strcmp(again.tenant, sp.tenant) ||
        !json_equal(again.doc, sp.doc))
        abort();
    srv_spec_free(&again);
    srv_spec_free(&sp);
    json_decref(body);
    return 0;
}
