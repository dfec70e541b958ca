/* src/client/fmt_services.c - the table of `allot services` (clientfmt.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "allot/clientfmt.h"

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "-" for a missing number, else %.3g (12.5, 1.2e+03) */
static void fmt_g(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3g", v);
}

char *allot_fmt_services_table(const json_t *services)
{
    static const char *const head[] = {"NAME", "TENANT", "POLICY", "REPLICAS",
                                       "RPS",  "QUEUE",  "SIGNAL"};
    if (!json_is_array(services)) return NULL;
    allot_table *t = allot_table_new(7, head, "LLLLRRL");
    if (!t) return NULL;
    size_t i;
    const json_t *x;
    int ok = 1;
    json_array_foreach(services, i, x)
    {
        const json_t *rp = json_object_get(x, "replicas"), *ld = json_object_get(x, "load");
        char reps[96], rps[32], queue[32], sig[48];
        double rd = num(rp, "ready"), wa = num(rp, "wanted"), st = num(rp, "starting"),
               dr = num(rp, "draining");
        int n = snprintf(reps, sizeof reps, "%.0f/%.0f (%.0f-%.0f)", rd, wa, num(x, "min_replicas"),
                         num(x, "max_replicas"));
        if (st > 0 && n > 0 && (size_t)n < sizeof reps)
            n += snprintf(reps + n, sizeof reps - (size_t)n, " +%.0f starting", st);
        if (dr > 0 && n > 0 && (size_t)n < sizeof reps)
            snprintf(reps + n, sizeof reps - (size_t)n, " -%.0f draining", dr);
        fmt_g(rps, sizeof rps, num(ld, "rps"));
        fmt_g(queue, sizeof queue, num(ld, "queue"));
        const char *sg = json_string_value(json_object_get(x, "signal"));
        const char *state = json_string_value(json_object_get(x, "state"));
        double age = num(ld, "age_s");
        if (state && strcmp(state, "active") != 0)
            snprintf(sig, sizeof sig, "%s", state);
        else if (!isnan(age) && sg && strcmp(sg, "none") != 0)
            snprintf(sig, sizeof sig, "%s %.0fs", sg, age);
        else
            snprintf(sig, sizeof sig, "%s", sg ? sg : "-");
        const char *nm = json_string_value(json_object_get(x, "name"));
        const char *tn = json_string_value(json_object_get(x, "tenant"));
        const char *po = json_string_value(json_object_get(x, "policy"));
        const char *cells[7] = {nm ? nm : "?", tn ? tn : "-", po ? po : "-", reps, rps, queue, sig};
        if (isnan(rd) || isnan(wa) || allot_table_add(t, cells)) {
            ok = 0;
            break;
        }
    }
    char *s = ok ? allot_table_render(t) : NULL;
    allot_table_free(t);
    return s;
}
