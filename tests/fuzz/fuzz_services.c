/* fuzz_services.c - libFuzzer target for what allot server reads about
 * inference services from the network: the service body (svc_spec_parse),
 * load samples and PATCH bodies, and the Prometheus text the scraper
 * fetches (svc_prom_read).
 *
 * The first byte picks the reader. Checks: no crash, leak or sanitizer
 * report; an accepted spec is within its documented bounds and its
 * normalised document parses again to the same document (recovery reads it
 * back from the store); a refusal comes with a message; the Prometheus
 * reader returns one of its documented codes and a finite sum.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/services_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void spec(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body) return;
    svc_spec s, again;
    char err[400] = "";
    int rc = svc_spec_parse(body, &s, err, sizeof err);
    if (rc) {
        if (!err[0] || (rc != -1 && rc != -2) || s.doc || s.job) abort();
    } else {
        const allot_service *m = &s.m;
        if (m->devices < 1 || m->devices > 64 || m->slots < 1 || m->min_replicas < 0 ||
            m->max_replicas < m->min_replicas || m->max_replicas > SVC_REPLICA_MAX ||
            !(m->slo_s > 0) || m->nchips < 1 || m->nchips > ALLOT_SERVE_MAX_CHIPS || !s.doc ||
            !s.job || s.policy < 0 || s.policy >= ALLOT_AS__COUNT)
            abort();
        for (size_t k = 0; k < m->nchips; k++)
            if (!(svc_spec_es(&s, k) <= m->slo_s)) abort(); /* the SLO check held */
        if (svc_spec_parse(s.doc, &again, err, sizeof err)) abort();
        if (!json_equal(again.doc, s.doc) || !json_equal(again.job, s.job)) abort();
        svc_spec_free(&again);
        svc_spec_free(&s);
    }
    svc_load l;
    if (svc_load_parse(body, &l, err, sizeof err) == 0 &&
        (!(l.rps >= 0) || !(l.queue >= 0) || l.es < 0 || l.nready > 64))
        abort();
    int mn, mx, pol;
    if (svc_patch_parse(body, &mn, &mx, &pol, err, sizeof err) == 0 &&
        (mn < -1 || mx < -1 || mx > SVC_REPLICA_MAX || pol >= ALLOT_AS__COUNT))
        abort();
    json_decref(body);
}

static void prom(const uint8_t *data, size_t size)
{
    /* the selector is the first line (at most 255 bytes), the text the rest */
    const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
    if (!nl) return;
    char sel[256];
    memcpy(sel, data, (size_t)(nl - data));
    sel[nl - data] = 0;
    const char *text = (const char *)nl + 1;
    size_t len = size - (size_t)(nl - data) - 1;
    double sum = 0;
    int counter = -1;
    char err[200] = "";
    int rc = svc_prom_read(text, len, sel, &sum, &counter, err, sizeof err);
    if (rc != 0 && rc != ALLOT_ENOENT && rc != ALLOT_EPARSE && rc != ALLOT_EINVAL) abort();
    if (rc && !err[0]) abort();
    if (rc == 0 && (isnan(sum) || (counter != 0 && counter != 1))) abort();
    if (rc == ALLOT_EINVAL && svc_prom_selector_ok(sel)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1)
        prom(data + 1, size - 1);
    else
        spec(data + 1, size - 1);
    return 0;
}
