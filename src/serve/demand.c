/* demand.c - a request trace cut into intervals: arrivals and the service
 * time they bring on one chip of a service (docs/internals/serving.md). */
#include "allot/serve.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* More intervals than this is a mistake (a dt far too small), not a trace. */
#define MAX_INTERVALS ((size_t)1 << 32)

int allot_serve_demand_build(const allot_service *s, size_t chip, const allot_reqtrace *t,
                             double dt, allot_serve_demand *out)
{
    if (!out) return ALLOT_EINVAL;
    memset(out, 0, sizeof *out);
    if (!s || !t || chip >= s->nchips || chip >= ALLOT_SERVE_MAX_CHIPS || !(dt > 0) ||
        !isfinite(dt) || (t->n > 0 && !t->v))
        return ALLOT_EINVAL;
    const allot_serve_chip *c = &s->chips[chip];
    int exec = t->kind == ALLOT_REQ_EXEC;
    if (exec ? !(c->exec_speed > 0) : !(c->prefill_tps > 0 && c->decode_tps > 0))
        return ALLOT_EINVAL;

    /* the span covers every arrival even if span_s says less */
    double span = isfinite(t->span_s) && t->span_s > 0 ? t->span_s : 0;
    for (size_t i = 0; i < t->n; i++) {
        double at = t->v[i].t;
        if (!isfinite(at) || at < 0) return ALLOT_EINVAL;
        if (at > span) span = at;
    }
    double nd = ceil(span / dt);
    if (nd > (double)MAX_INTERVALS) return ALLOT_ENOMEM;
    size_t n = nd < 1 ? 1 : (size_t)nd;

    uint32_t *count = calloc(n, sizeof *count);
    double *work = calloc(n, sizeof *work);
    if (!count || !work) {
        free(count);
        free(work);
        return ALLOT_ENOMEM;
    }
    double es_max = 0;
    for (size_t i = 0; i < t->n; i++) {
        const allot_request *r = &t->v[i];
        double st;
        if (exec) {
            if (!(r->exec_s >= 0) || !isfinite(r->exec_s)) goto invalid;
            st = (double)r->exec_s / c->exec_speed;
        } else {
            if (r->in_tok < 0 || r->out_tok < 0) goto invalid;
            st = (double)r->in_tok / c->prefill_tps + (double)r->out_tok / c->decode_tps;
        }
        size_t k = (size_t)(r->t / dt);
        if (k >= n) k = n - 1; /* an arrival exactly at the span's end */
        if (count[k] == UINT32_MAX) goto invalid;
        count[k]++;
        work[k] += st;
        if (st > es_max) es_max = st;
    }
    out->dt = dt;
    out->n = n;
    out->count = count;
    out->work = work;
    out->es_max = es_max;
    return 0;
invalid:
    free(count);
    free(work);
    return ALLOT_EINVAL;
}

void allot_serve_demand_free(allot_serve_demand *d)
{
    if (!d) return;
    free(d->count);
    free(d->work);
    memset(d, 0, sizeof *d);
}
