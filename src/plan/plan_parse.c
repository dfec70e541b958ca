/* plan_parse.c - reads and checks a plan file (docs/plan-format.md).
 *
 * Worked example: a plan whose lease offer forgets its price
 *
 *     {"horizon": {"start": "2026-01", "periods": 12}, "fleet": "fleet.json",
 *      "leases": [{"name": "sg", "region": "sg", "chip": "H100"}], ...}
 *
 * is refused with
 *
 *     plan.json:3:14: leases[0].price_per_device_hour: missing
 *
 * Every error names the JSON path of the bad value and points at it (line
 * and column from allot_json_locate). Checks are strict: unknown keys
 * (with a "did you mean"), wrong types, negative costs, dates outside the
 * horizon, chip types nobody priced, leases below their offer's minimum
 * term or above its cap, shocks naming nothing.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "allot/csv.h"
#include "allot/serve.h"
#include "allot/spec.h"
#include "allot/trace.h"
#include "plan_int.h"

#define MAX_DEVICES   1e7  /* per delivery, lease or offer */
#define MAX_MONEY     1e13 /* any single price */
#define POOL_GEN_JOBS 20000
#define DEFAULT_RUNS  100
#define NODE_CPU      192000
#define NODE_MEM      2097152

typedef struct pctx {
    const char *text;
    size_t len;
    const char *file;
    const char *base_dir;
    allot_diag *d;
    allot_plan *p;
} pctx;

/* "path: what", pointing at the value at path (or the nearest enclosing one
 * that exists in the text). */
static int perr(pctx *x, int err, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int perr(pctx *x, int err, const char *path, const char *fmt, ...)
{
    char what[400], lp[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    snprintf(lp, sizeof lp, "%s", path);
    for (;;) {
        if (allot_json_locate(x->text, x->len, lp, &line, &col) == 0) break;
        char *dot = strrchr(lp, '.'), *br = strrchr(lp, '[');
        char *cut = dot > br ? dot : br;
        if (!cut) {
            if (!lp[0]) break;
            lp[0] = '\0';
        } else {
            *cut = '\0';
        }
    }
    const char *f = x->file && *x->file ? x->file : "<plan>";
    if (path[0]) return allot_diag_set(x->d, err, f, line, col, "%s: %s", path, what);
    return allot_diag_set(x->d, err, f, line, col, "%s", what);
}

static void kpath(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", key);
}

static int need_object(pctx *x, json_t *v, const char *path)
{
    if (!json_is_object(v)) return perr(x, ALLOT_EINVAL, path, "must be an object");
    return 0;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(pctx *x, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *best = NULL;
        if (allot_name_known(key, allowed, &best)) continue;
        char shown[64], kp[300];
        snprintf(shown, sizeof shown, "%.60s", key);
        for (char *s = shown; *s; s++)
            if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || strchr(".[]", *s))
                *s = '?';
        kpath(kp, sizeof kp, path, shown);
        if (best)
            return perr(x, ALLOT_EINVAL, kp, "unknown key '%s' (did you mean '%s'?)", shown, best);
        char list[400] = "";
        size_t ll = 0;
        for (size_t i = 0; allowed[i] && ll < sizeof list - 40; i++)
            ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "", allowed[i]);
        return perr(x, ALLOT_EINVAL, kp, "unknown key '%s' (expected one of: %s)", shown, list);
    }
    return 0;
}

/* A number member in lo..hi. Absent: *out = dflt, or an error if required. */
static int get_num(pctx *x, json_t *obj, const char *path, const char *key, int required, double lo,
                   double hi, double dflt, double *out)
{
    char kp[300];
    kpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) return perr(x, ALLOT_EINVAL, kp, "missing");
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v)) return perr(x, ALLOT_EINVAL, kp, "must be a number");
    double n = json_number_value(v);
    if (!isfinite(n)) return perr(x, ALLOT_EINVAL, kp, "must be a finite number");
    if (lo == 0 && n < 0) return perr(x, ALLOT_ERANGE, kp, "must be >= 0 (got %g)", n);
    if (n < lo || n > hi) return perr(x, ALLOT_ERANGE, kp, "must be in %g..%g (got %g)", lo, hi, n);
    *out = n;
    return 0;
}

static int get_int(pctx *x, json_t *obj, const char *path, const char *key, int required,
                   long long lo, long long hi, long long dflt, long long *out)
{
    char kp[300];
    kpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) return perr(x, ALLOT_EINVAL, kp, "missing");
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v)) return perr(x, ALLOT_EINVAL, kp, "must be an integer");
    long long n = json_integer_value(v);
    if (n < lo || n > hi)
        return perr(x, ALLOT_ERANGE, kp, "must be an integer in %lld..%lld (got %lld)", lo, hi, n);
    *out = n;
    return 0;
}

/* A string member (NULL when absent and not required). */
static int get_str(pctx *x, json_t *obj, const char *path, const char *key, int required,
                   const char **out)
{
    char kp[300];
    kpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required) return perr(x, ALLOT_EINVAL, kp, "missing");
        return 0;
    }
    if (!json_is_string(v)) return perr(x, ALLOT_EINVAL, kp, "must be a string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return perr(x, ALLOT_EINVAL, kp, "must not contain NUL bytes");
    *out = json_string_value(v);
    return 0;
}

/* A name member (the cluster name rule). */
static int get_name(pctx *x, json_t *obj, const char *path, const char *key, int required,
                    const char *dflt, char out[PLAN_NAME])
{
    const char *s;
    int rc = get_str(x, obj, path, key, required, &s);
    if (rc) return rc;
    if (!s) {
        snprintf(out, PLAN_NAME, "%s", dflt ? dflt : "");
        return 0;
    }
    const char *why = allot_name_problem(s, strlen(s));
    if (why) {
        char kp[300];
        kpath(kp, sizeof kp, path, key);
        return perr(x, ALLOT_EINVAL, kp, "%s", why);
    }
    snprintf(out, PLAN_NAME, "%s", s);
    return 0;
}

/* "YYYY-MM" -> months since year 0. */
static int parse_ym(const char *s, int *out)
{
    if (!s || strlen(s) != 7 || s[4] != '-') return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && !isdigit((unsigned char)s[i])) return -1;
    int y = atoi(s), m = atoi(s + 5);
    if (y < 1970 || y > 2200 || m < 1 || m > 12) return -1;
    *out = y * 12 + (m - 1);
    return 0;
}

/* A month member: the index from the horizon start. Before the horizon is an
 * error; after its end is allowed when allow_after. */
static int get_month(pctx *x, json_t *obj, const char *path, const char *key, int required,
                     int dflt, int allow_after, int *out)
{
    const char *s;
    char kp[300];
    kpath(kp, sizeof kp, path, key);
    int rc = get_str(x, obj, path, key, required, &s);
    if (rc) return rc;
    if (!s) {
        *out = dflt;
        return 0;
    }
    int ym;
    if (parse_ym(s, &ym) < 0)
        return perr(x, ALLOT_EINVAL, kp, "'%.20s' is not a month of the form YYYY-MM", s);
    const allot_plan *p = x->p;
    int start = p->start_year * 12 + p->start_month - 1;
    if (ym < start)
        return perr(x, ALLOT_ERANGE, kp, "%s is before the horizon's start %04d-%02d", s,
                    p->start_year, p->start_month);
    if (!allow_after && ym >= start + p->nmonths)
        return perr(x, ALLOT_ERANGE, kp, "%s is after the horizon's end (%d months from %04d-%02d)",
                    s, p->nmonths, p->start_year, p->start_month);
    *out = ym - start;
    return 0;
}

/* The plan chip index of a chip-type name (added from the catalogue when the
 * fleet does not have it). */
static int chip_lookup(pctx *x, const char *name, const char *kp, int *out)
{
    allot_plan *p = x->p;
    for (int i = 0; i < p->nchips; i++)
        if (strcmp(p->chips[i].t.name, name) == 0) {
            *out = i;
            return 0;
        }
    const allot_chip_type *cat = allot_catalog_find(name);
    if (!cat)
        return perr(x, ALLOT_EINVAL, kp,
                    "unknown chip type '%.60s' (not in the fleet spec's chip_types nor in the "
                    "built-in catalogue)",
                    name);
    for (int i = 0; i < p->nchips; i++) /* the catalogue's spelling */
        if (strcmp(p->chips[i].t.name, cat->name) == 0) {
            *out = i;
            return 0;
        }
    if (p->nchips >= ALLOT_MAX_CHIP_TYPES)
        return perr(x, ALLOT_ELIMIT, kp, "more than %d chip types", ALLOT_MAX_CHIP_TYPES);
    plan_chip *c = &p->chips[p->nchips];
    memset(c, 0, sizeof *c);
    c->t = *cat;
    c->capex = NAN;
    c->board_w = cat->power_w;
    c->dep_years = NAN;
    c->fail_rate = NAN;
    *out = p->nchips++;
    return 0;
}

static int get_chip(pctx *x, json_t *obj, const char *path, const char *key, int *out)
{
    const char *s;
    char kp[300];
    kpath(kp, sizeof kp, path, key);
    int rc = get_str(x, obj, path, key, 1, &s);
    if (rc) return rc;
    return chip_lookup(x, s, kp, out);
}

static void mark_owned(allot_plan *p, int chip, const char *path)
{
    if (chip < 0) return;
    if (!p->chips[chip].owned_use) snprintf(p->chips[chip].owned_path, 96, "%s", path);
    p->chips[chip].owned_use = 1;
}

static int dc_lookup(pctx *x, const char *name, const char *kp, int *out)
{
    for (int i = 0; i < x->p->ndcs; i++)
        if (strcmp(x->p->dcs[i].name, name) == 0) {
            *out = i;
            return 0;
        }
    return perr(x, ALLOT_EINVAL, kp, "unknown data centre '%.60s' (not in datacentres)", name);
}

/* A probability distribution over 0..n-1 months of delay. */
static int get_delay(pctx *x, json_t *obj, const char *path, double *p, int *n)
{
    char kp[300];
    kpath(kp, sizeof kp, path, "delay_months");
    json_t *v = json_object_get(obj, "delay_months");
    if (!v) return 0;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > PLAN_MAX_DELAY)
        return perr(x, ALLOT_EINVAL, kp,
                    "must be an array of 1..%d probabilities (of 0, 1, 2 ... months of delay)",
                    PLAN_MAX_DELAY);
    double sum = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        char ep[340];
        snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
        if (!json_is_number(e) || json_number_value(e) < 0 || json_number_value(e) > 1)
            return perr(x, ALLOT_ERANGE, ep, "must be a probability in 0..1");
        p[i] = json_number_value(e);
        sum += p[i];
    }
    if (fabs(sum - 1.0) > 1e-6)
        return perr(x, ALLOT_ERANGE, kp, "probabilities must add up to 1 (they add up to %g)", sum);
    *n = (int)json_array_size(v);
    return 0;
}

static int get_growth(pctx *x, json_t *obj, const char *path, plan_growth *g)
{
    char kp[300];
    kpath(kp, sizeof kp, path, "growth");
    memset(g, 0, sizeof *g);
    json_t *v = json_object_get(obj, "growth");
    if (!v) return 0;
    int rc = need_object(x, v, kp);
    if (rc) return rc;
    static const char *const keys[] = {"monthly", "per_period", "uncertainty", "noise", NULL};
    if ((rc = check_keys(x, v, kp, keys))) return rc;
    if ((rc = get_num(x, v, kp, "monthly", 0, -0.5, 10, 0, &g->monthly))) return rc;
    if ((rc = get_num(x, v, kp, "uncertainty", 0, 0, 3, 0, &g->uncertainty))) return rc;
    if ((rc = get_num(x, v, kp, "noise", 0, 0, 3, 0, &g->noise))) return rc;
    json_t *pp = json_object_get(v, "per_period");
    if (pp) {
        char pk[320];
        kpath(pk, sizeof pk, kp, "per_period");
        if (json_object_get(v, "monthly"))
            return perr(x, ALLOT_EINVAL, pk, "give either monthly or per_period, not both");
        if (!json_is_array(pp) || (int)json_array_size(pp) != x->p->nperiods)
            return perr(x, ALLOT_EINVAL, pk, "must be an array of %d factors, one per period",
                        x->p->nperiods);
        g->per_period = calloc((size_t)x->p->nperiods, sizeof *g->per_period);
        if (!g->per_period) return ALLOT_ENOMEM;
        for (int i = 0; i < x->p->nperiods; i++) {
            json_t *e = json_array_get(pp, (size_t)i);
            char ep[340];
            snprintf(ep, sizeof ep, "%s[%d]", pk, i);
            if (!json_is_number(e) || !(json_number_value(e) >= 0) || json_number_value(e) > 1e6)
                return perr(x, ALLOT_ERANGE, ep, "must be a factor in 0..1e6");
            g->per_period[i] = json_number_value(e);
        }
    }
    return 0;
}

/* ---- sections ------------------------------------------------------------------- */

static int parse_horizon(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *h = json_object_get(root, "horizon");
    if (!h) return perr(x, ALLOT_EINVAL, "horizon", "missing");
    int rc = need_object(x, h, "horizon");
    if (rc) return rc;
    static const char *const keys[] = {"start", "periods", "step", NULL};
    if ((rc = check_keys(x, h, "horizon", keys))) return rc;
    const char *s, *step;
    if ((rc = get_str(x, h, "horizon", "start", 1, &s))) return rc;
    int ym;
    if (parse_ym(s, &ym) < 0)
        return perr(x, ALLOT_EINVAL, "horizon.start", "'%.20s' is not a month of the form YYYY-MM",
                    s);
    p->start_year = ym / 12;
    p->start_month = ym % 12 + 1;
    if ((rc = get_str(x, h, "horizon", "step", 0, &step))) return rc;
    if (!step || strcmp(step, "month") == 0)
        p->step_months = 1;
    else if (strcmp(step, "quarter") == 0)
        p->step_months = 3;
    else
        return perr(x, ALLOT_EINVAL, "horizon.step", "must be \"month\" or \"quarter\"");
    if (p->step_months == 3 && (p->start_month - 1) % 3 != 0)
        return perr(x, ALLOT_EINVAL, "horizon.start",
                    "a quarterly horizon starts in January, April, July or October");
    long long n;
    if ((rc = get_int(x, h, "horizon", "periods", 1, 1, ALLOT_PLAN_MAX_PERIODS, 0, &n))) return rc;
    p->nperiods = (int)n;
    p->nmonths = p->nperiods * p->step_months;
    if (p->nmonths > PLAN_MAX_MONTHS)
        return perr(x, ALLOT_ERANGE, "horizon.periods", "the horizon may span at most %d months",
                    PLAN_MAX_MONTHS);
    return 0;
}

static int parse_costs(pctx *x, json_t *root, double *dep_years, double *pue, double *price,
                       double *dccost, double *fail)
{
    allot_plan *p = x->p;
    json_t *c = json_object_get(root, "costs");
    *dep_years = 4;
    *pue = 1.3;
    *price = 0;
    *dccost = 0;
    *fail = 0;
    p->idle_fraction = 0.3;
    p->overhead = 0;
    p->repair_h = 4;
    if (!c) return perr(x, ALLOT_EINVAL, "costs", "missing");
    int rc = need_object(x, c, "costs");
    if (rc) return rc;
    static const char *const keys[] = {"depreciation_years",
                                       "pue",
                                       "electricity_price",
                                       "dc_cost_per_mw_year",
                                       "idle_power_fraction",
                                       "server_overhead",
                                       "failure_rate",
                                       "repair_hours",
                                       "chips",
                                       NULL};
    if ((rc = check_keys(x, c, "costs", keys))) return rc;
    if ((rc = get_num(x, c, "costs", "depreciation_years", 0, 0.1, 100, 4, dep_years))) return rc;
    if ((rc = get_num(x, c, "costs", "pue", 0, 1, 5, 1.3, pue))) return rc;
    if ((rc = get_num(x, c, "costs", "electricity_price", 1, 0, MAX_MONEY, 0, price))) return rc;
    if ((rc = get_num(x, c, "costs", "dc_cost_per_mw_year", 0, 0, MAX_MONEY, 0, dccost))) return rc;
    if ((rc = get_num(x, c, "costs", "idle_power_fraction", 0, 0, 1, 0.3, &p->idle_fraction)))
        return rc;
    if ((rc = get_num(x, c, "costs", "server_overhead", 0, 0, 10, 0, &p->overhead))) return rc;
    if ((rc = get_num(x, c, "costs", "failure_rate", 0, 0, 1, 0, fail))) return rc;
    if ((rc = get_num(x, c, "costs", "repair_hours", 0, 0.01, 8760, 4, &p->repair_h))) return rc;
    return 0;
}

/* costs.chips after the defaults are known. */
static int parse_chip_costs(pctx *x, json_t *root, double dep_years, double fail)
{
    allot_plan *p = x->p;
    json_t *c = json_object_get(root, "costs");
    json_t *arr = c ? json_object_get(c, "chips") : NULL;
    if (arr) {
        if (!json_is_array(arr)) return perr(x, ALLOT_EINVAL, "costs.chips", "must be an array");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char path[64];
            snprintf(path, sizeof path, "costs.chips[%zu]", i);
            json_t *e = json_array_get(arr, i);
            int rc = need_object(x, e, path);
            if (rc) return rc;
            static const char *const keys[] = {"chip",    "capex",        "depreciation_years",
                                               "power_w", "failure_rate", NULL};
            if ((rc = check_keys(x, e, path, keys))) return rc;
            int k;
            if ((rc = get_chip(x, e, path, "chip", &k))) return rc;
            plan_chip *pc = &p->chips[k];
            if (!isnan(pc->capex) || !isnan(pc->dep_years))
                return perr(x, ALLOT_EINVAL, path, "chip type '%s' is priced twice", pc->t.name);
            if ((rc = get_num(x, e, path, "capex", 1, 0, MAX_MONEY, 0, &pc->capex))) return rc;
            if ((rc = get_num(x, e, path, "depreciation_years", 0, 0.1, 100, dep_years,
                              &pc->dep_years)))
                return rc;
            if ((rc = get_num(x, e, path, "power_w", 0, 0, 1e5, pc->t.power_w, &pc->board_w)))
                return rc;
            if ((rc = get_num(x, e, path, "failure_rate", 0, 0, 1, fail, &pc->fail_rate)))
                return rc;
        }
    }
    for (int k = 0; k < p->nchips; k++) {
        if (isnan(p->chips[k].dep_years)) p->chips[k].dep_years = dep_years;
        if (isnan(p->chips[k].fail_rate)) p->chips[k].fail_rate = fail;
    }
    return 0;
}

static int parse_supply(pctx *x, json_t *root)
{
    json_t *arr = json_object_get(root, "supply");
    if (!arr) return 0;
    if (!json_is_array(arr)) return perr(x, ALLOT_EINVAL, "supply", "must be an array");
    unsigned char seen[ALLOT_MAX_CHIP_TYPES] = {0};
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "supply[%zu]", i);
        json_t *e = json_array_get(arr, i);
        int rc = need_object(x, e, path);
        if (rc) return rc;
        static const char *const keys[] = {"chip", "delay_months", "shortfall_prob",
                                           "shortfall_max", NULL};
        if ((rc = check_keys(x, e, path, keys))) return rc;
        int k;
        if ((rc = get_chip(x, e, path, "chip", &k))) return rc;
        if (seen[k]) return perr(x, ALLOT_EINVAL, path, "chip type listed twice in supply");
        seen[k] = 1;
        plan_chip *pc = &x->p->chips[k];
        if ((rc = get_delay(x, e, path, pc->delay_p, &pc->ndelay))) return rc;
        if ((rc = get_num(x, e, path, "shortfall_prob", 0, 0, 1, 0, &pc->shortfall_prob)))
            return rc;
        if ((rc = get_num(x, e, path, "shortfall_max", 0, 0, 1, 0, &pc->shortfall_max))) return rc;
    }
    return 0;
}

static int parse_dcs(pctx *x, json_t *root, double pue, double price, double dccost)
{
    allot_plan *p = x->p;
    json_t *arr = json_object_get(root, "datacentres");
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > 256)
        return perr(x, ALLOT_EINVAL, "datacentres", "must be an array of 1..256 data centres");
    p->dcs = calloc(json_array_size(arr), sizeof *p->dcs);
    if (!p->dcs) return ALLOT_ENOMEM;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "datacentres[%zu]", i);
        json_t *e = json_array_get(arr, i);
        int rc = need_object(x, e, path);
        if (rc) return rc;
        static const char *const keys[] = {
            "name", "power_mw", "pue", "electricity_price", "dc_cost_per_mw_year", NULL};
        if ((rc = check_keys(x, e, path, keys))) return rc;
        plan_dc *dc = &p->dcs[i];
        if ((rc = get_name(x, e, path, "name", 1, NULL, dc->name))) return rc;
        for (int j = 0; j < p->ndcs; j++)
            if (strcmp(p->dcs[j].name, dc->name) == 0) {
                char kp[80];
                snprintf(kp, sizeof kp, "%s.name", path);
                return perr(x, ALLOT_EINVAL, kp, "duplicate data centre '%s'", dc->name);
            }
        if ((rc = get_num(x, e, path, "power_mw", 0, 0, 1e6, 0, &dc->power_mw))) return rc;
        if ((rc = get_num(x, e, path, "pue", 0, 1, 5, pue, &dc->pue))) return rc;
        if ((rc = get_num(x, e, path, "electricity_price", 0, 0, MAX_MONEY, price, &dc->price_kwh)))
            return rc;
        if ((rc = get_num(x, e, path, "dc_cost_per_mw_year", 0, 0, MAX_MONEY, dccost,
                          &dc->dc_cost_mw_year)))
            return rc;
        p->ndcs++;
    }
    return 0;
}

static char *join_path(const char *dir, const char *rel)
{
    size_t n = (dir ? strlen(dir) : 0) + strlen(rel) + 2;
    char *s = malloc(n);
    if (!s) return NULL;
    if (rel[0] == '/' || !dir || !*dir || strncmp(rel, "builtin:", 8) == 0 ||
        strncmp(rel, "gen:", 4) == 0)
        snprintf(s, n, "%s", rel);
    else
        snprintf(s, n, "%s/%s", dir, rel);
    return s;
}

/* Moves a spec-parser message "path: what" under "fleet." and points at it. */
static int fleet_err(pctx *x, int rc, const allot_diag *sd, int inline_spec)
{
    if (!inline_spec) {
        char buf[900];
        allot_diag_format(sd, buf, sizeof buf);
        return perr(x, rc, "fleet", "%s", buf);
    }
    const char *m = sd->msg, *colon = strstr(m, ": ");
    char path[300];
    if (colon && (size_t)(colon - m) < 200 && !memchr(m, ' ', (size_t)(colon - m))) {
        snprintf(path, sizeof path, "fleet.%.*s", (int)(colon - m), m);
        return perr(x, rc, path, "%s", colon + 2);
    }
    return perr(x, rc, "fleet", "%s", m);
}

static int parse_fleet(pctx *x, json_t *root, double pue, double price, double dccost)
{
    allot_plan *p = x->p;
    json_t *f = json_object_get(root, "fleet");
    if (!f) return perr(x, ALLOT_EINVAL, "fleet", "missing");
    allot_cluster *c = NULL;
    allot_diag sd;
    memset(&sd, 0, sizeof sd);
    int rc;
    if (json_is_string(f)) {
        char *path = join_path(x->base_dir, json_string_value(f));
        if (!path) return ALLOT_ENOMEM;
        rc = allot_cluster_load(path, ALLOT_NODES_AUTO, &c, &sd);
        free(path);
        if (rc) return fleet_err(x, rc, &sd, 0);
    } else if (json_is_object(f)) {
        char *txt = json_dumps(f, JSON_PRESERVE_ORDER | JSON_COMPACT);
        if (!txt) return ALLOT_ENOMEM;
        rc = allot_spec_parse(txt, strlen(txt), "fleet", &c, &sd);
        free(txt);
        if (rc) return fleet_err(x, rc, &sd, 1);
    } else {
        return perr(x, ALLOT_EINVAL, "fleet",
                    "must be a cluster spec (an object) or the path of one (a string)");
    }
    /* chip types in the cluster's order */
    for (uint32_t k = 0; k < allot_cluster_nchips(c); k++) {
        plan_chip *pc = &p->chips[p->nchips++];
        memset(pc, 0, sizeof *pc);
        pc->t = *allot_cluster_chip(c, k);
        pc->capex = NAN;
        pc->dep_years = NAN;
        pc->fail_rate = NAN;
        pc->board_w = pc->t.power_w;
    }
    /* data centres from zones when the plan lists none */
    int listed = p->ndcs > 0;
    uint32_t nn = allot_cluster_nnodes(c);
    p->groups = calloc(nn ? nn : 1, sizeof *p->groups);
    if (!p->groups) {
        allot_cluster_free(c);
        return ALLOT_ENOMEM;
    }
    for (uint32_t i = 0; i < nn; i++) {
        const allot_node *n = allot_cluster_node(c, i);
        const allot_domain *rack = allot_cluster_domain(c, n->rack);
        const allot_domain *blk = allot_cluster_domain(c, rack->parent);
        const allot_domain *zone = allot_cluster_domain(c, blk->parent);
        int dc = -1;
        for (int j = 0; j < p->ndcs; j++)
            if (strcmp(p->dcs[j].name, zone->name) == 0) dc = j;
        if (dc < 0) {
            if (listed) {
                rc = perr(x, ALLOT_EINVAL, "fleet",
                          "node '%s' is in zone '%s', which is not one of datacentres[].name "
                          "(each zone of the fleet is a data centre)",
                          n->name, zone->name);
                allot_cluster_free(c);
                return rc;
            }
            plan_dc *nd = realloc(p->dcs, (size_t)(p->ndcs + 1) * sizeof *nd);
            if (!nd) {
                allot_cluster_free(c);
                return ALLOT_ENOMEM;
            }
            p->dcs = nd;
            dc = p->ndcs++;
            memset(&p->dcs[dc], 0, sizeof p->dcs[dc]);
            snprintf(p->dcs[dc].name, PLAN_NAME, "%s", zone->name);
            p->dcs[dc].pue = pue;
            p->dcs[dc].price_kwh = price;
            p->dcs[dc].dc_cost_mw_year = dccost;
        }
        int chip = n->chip == ALLOT_NO_CHIP ? -1 : (int)n->chip;
        int g = 0;
        for (; g < p->ngroups; g++) {
            plan_group *q = &p->groups[g];
            if (q->chip == chip && q->dc == dc && q->ndev == n->ndev && q->cpu == n->cpu_cap &&
                q->mem == n->mem_cap)
                break;
        }
        if (g == p->ngroups) {
            if (p->ngroups >= PLAN_MAX_GROUPS) {
                allot_cluster_free(c);
                return perr(x, ALLOT_ELIMIT, "fleet",
                            "more than %d distinct node shapes per data centre", PLAN_MAX_GROUPS);
            }
            plan_group *q = &p->groups[p->ngroups++];
            q->chip = chip;
            q->dc = dc;
            q->ndev = n->ndev;
            q->cpu = n->cpu_cap;
            q->mem = n->mem_cap;
        }
        p->groups[g].nodes++;
        if (chip >= 0) mark_owned(p, chip, "fleet");
    }
    allot_cluster_free(c);
    return 0;
}

static int parse_node_shape(pctx *x, json_t *e, const char *path, int *ndev, int64_t *cpu,
                            int64_t *mem)
{
    long long v;
    int rc;
    if ((rc = get_int(x, e, path, "node_devices", 0, 1, ALLOT_MAX_DEVS_PER_NODE, 8, &v))) return rc;
    *ndev = (int)v;
    if ((rc = get_int(x, e, path, "node_cpu_milli", 0, 0, 100000000, NODE_CPU, &v))) return rc;
    *cpu = v;
    if ((rc = get_int(x, e, path, "node_memory_mib", 0, 0, 1073741824LL, NODE_MEM, &v))) return rc;
    *mem = v;
    return 0;
}

static int parse_delivery(pctx *x, json_t *e, const char *path, plan_delivery *dv)
{
    static const char *const keys[] = {"chip",
                                       "devices",
                                       "month",
                                       "datacentre",
                                       "delay_months",
                                       "shortfall_prob",
                                       "shortfall_max",
                                       "node_devices",
                                       "node_cpu_milli",
                                       "node_memory_mib",
                                       NULL};
    int rc = need_object(x, e, path);
    if (rc) return rc;
    if ((rc = check_keys(x, e, path, keys))) return rc;
    memset(dv, 0, sizeof *dv);
    if ((rc = get_chip(x, e, path, "chip", &dv->chip))) return rc;
    if ((rc = get_num(x, e, path, "devices", 1, 0, MAX_DEVICES, 0, &dv->devices))) return rc;
    if (dv->devices != floor(dv->devices)) {
        char kp[300];
        kpath(kp, sizeof kp, path, "devices");
        return perr(x, ALLOT_EINVAL, kp, "must be a whole number of devices");
    }
    if ((rc = get_month(x, e, path, "month", 1, 0, 1, &dv->month))) return rc;
    const char *dcname;
    if ((rc = get_str(x, e, path, "datacentre", 0, &dcname))) return rc;
    char kp[300];
    kpath(kp, sizeof kp, path, "datacentre");
    if (dcname) {
        if ((rc = dc_lookup(x, dcname, kp, &dv->dc))) return rc;
    } else if (x->p->ndcs == 1) {
        dv->dc = 0;
    } else {
        return perr(x, ALLOT_EINVAL, kp, "missing (the plan has %d data centres)", x->p->ndcs);
    }
    dv->ndelay = -1;
    if ((rc = get_delay(x, e, path, dv->delay_p, &dv->ndelay))) return rc;
    if ((rc = get_num(x, e, path, "shortfall_prob", 0, 0, 1, NAN, &dv->shortfall_prob))) return rc;
    if ((rc = get_num(x, e, path, "shortfall_max", 0, 0, 1, NAN, &dv->shortfall_max))) return rc;
    if ((rc = parse_node_shape(x, e, path, &dv->node_devices, &dv->cpu, &dv->mem))) return rc;
    mark_owned(x->p, dv->chip, path);
    return 0;
}

static int parse_deliveries(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *arr = json_object_get(root, "deliveries");
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 100000)
        return perr(x, ALLOT_EINVAL, "deliveries", "must be an array (at most 100000)");
    p->deliveries = calloc(json_array_size(arr) + 1, sizeof *p->deliveries);
    if (!p->deliveries) return ALLOT_ENOMEM;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "deliveries[%zu]", i);
        int rc = parse_delivery(x, json_array_get(arr, i), path, &p->deliveries[i]);
        if (rc) return rc;
        p->ndeliveries++;
    }
    return 0;
}

static int parse_offers(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *arr = json_object_get(root, "leases");
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 1000)
        return perr(x, ALLOT_EINVAL, "leases", "must be an array of lease offers (at most 1000)");
    p->offers = calloc(json_array_size(arr) + 1, sizeof *p->offers);
    if (!p->offers) return ALLOT_ENOMEM;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "leases[%zu]", i);
        json_t *e = json_array_get(arr, i);
        int rc = need_object(x, e, path);
        if (rc) return rc;
        static const char *const keys[] = {"name",
                                           "region",
                                           "chip",
                                           "price_per_device_hour",
                                           "lead_time_months",
                                           "min_term_months",
                                           "max_devices",
                                           "node_devices",
                                           "node_cpu_milli",
                                           "node_memory_mib",
                                           NULL};
        if ((rc = check_keys(x, e, path, keys))) return rc;
        plan_offer *o = &p->offers[i];
        if ((rc = get_name(x, e, path, "name", 1, NULL, o->name))) return rc;
        for (int j = 0; j < p->noffers; j++)
            if (strcmp(p->offers[j].name, o->name) == 0) {
                char kp[80];
                snprintf(kp, sizeof kp, "%s.name", path);
                return perr(x, ALLOT_EINVAL, kp, "duplicate lease offer '%s'", o->name);
            }
        if ((rc = get_name(x, e, path, "region", 1, NULL, o->region))) return rc;
        if ((rc = get_chip(x, e, path, "chip", &o->chip))) return rc;
        if ((rc = get_num(x, e, path, "price_per_device_hour", 1, 0, MAX_MONEY, 0, &o->price)))
            return rc;
        long long v;
        if ((rc = get_int(x, e, path, "lead_time_months", 0, 0, 120, 0, &v))) return rc;
        o->lead_months = (int)v;
        if ((rc = get_int(x, e, path, "min_term_months", 0, 1, 240, 1, &v))) return rc;
        o->min_term = (int)v;
        if ((rc = get_num(x, e, path, "max_devices", 0, 0, MAX_DEVICES, 0, &o->max_devices)))
            return rc;
        if ((rc = parse_node_shape(x, e, path, &o->node_devices, &o->cpu, &o->mem))) return rc;
        p->noffers++;
    }
    return 0;
}

static int parse_contract(pctx *x, json_t *e, const char *path, plan_contract *c)
{
    allot_plan *p = x->p;
    int rc = need_object(x, e, path);
    if (rc) return rc;
    static const char *const keys[] = {"offer", "devices", "start", "months", NULL};
    if ((rc = check_keys(x, e, path, keys))) return rc;
    const char *name;
    char kp[300];
    if ((rc = get_str(x, e, path, "offer", 1, &name))) return rc;
    c->offer = -1;
    for (int j = 0; j < p->noffers; j++)
        if (strcmp(p->offers[j].name, name) == 0) c->offer = j;
    kpath(kp, sizeof kp, path, "offer");
    if (c->offer < 0)
        return perr(x, ALLOT_EINVAL, kp, "unknown lease offer '%.60s' (not in leases[].name)",
                    name);
    const plan_offer *o = &p->offers[c->offer];
    if ((rc = get_num(x, e, path, "devices", 1, 1, MAX_DEVICES, 0, &c->devices))) return rc;
    kpath(kp, sizeof kp, path, "devices");
    if (c->devices != floor(c->devices))
        return perr(x, ALLOT_EINVAL, kp, "must be a whole number of devices");
    if (o->max_devices > 0 && c->devices > o->max_devices)
        return perr(x, ALLOT_ERANGE, kp, "%g devices exceed offer '%s''s cap of %g", c->devices,
                    o->name, o->max_devices);
    if ((rc = get_month(x, e, path, "start", 0, o->lead_months, 0, &c->start))) return rc;
    kpath(kp, sizeof kp, path, "start");
    if (c->start < o->lead_months)
        return perr(x, ALLOT_ERANGE, kp,
                    "offer '%s' has a lead time of %d months: the earliest start is month %d of "
                    "the horizon",
                    o->name, o->lead_months, o->lead_months + 1);
    long long v;
    if ((rc = get_int(x, e, path, "months", 1, 1, 600, 0, &v))) return rc;
    c->months = (int)v;
    kpath(kp, sizeof kp, path, "months");
    if (c->months < o->min_term)
        return perr(x, ALLOT_ERANGE, kp, "%d months is below offer '%s''s minimum term of %d",
                    c->months, o->name, o->min_term);
    return 0;
}

static int parse_contracts(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *arr = json_object_get(root, "lease_contracts");
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 10000)
        return perr(x, ALLOT_EINVAL, "lease_contracts", "must be an array (at most 10000)");
    p->contracts = calloc(json_array_size(arr) + 1, sizeof *p->contracts);
    if (!p->contracts) return ALLOT_ENOMEM;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "lease_contracts[%zu]", i);
        int rc = parse_contract(x, json_array_get(arr, i), path, &p->contracts[i]);
        if (rc) return rc;
        p->ncontracts++;
    }
    /* the offer's cap holds in every month */
    for (int o = 0; o < p->noffers; o++) {
        if (p->offers[o].max_devices <= 0) continue;
        for (int m = 0; m < p->nmonths; m++) {
            double sum = 0;
            for (int i = 0; i < p->ncontracts; i++) {
                const plan_contract *c = &p->contracts[i];
                if (c->offer == o && m >= c->start && m < c->start + c->months) sum += c->devices;
            }
            if (sum > p->offers[o].max_devices)
                return perr(x, ALLOT_ERANGE, "lease_contracts",
                            "contracts on offer '%s' hold %g devices in month %d, above its cap "
                            "of %g",
                            p->offers[o].name, sum, m + 1, p->offers[o].max_devices);
        }
    }
    return 0;
}

/* ---- demand ------------------------------------------------------------------------- */

/* A template cluster with the plan's chips, in plan order, so that chip masks
 * of the job pool are plan chip indexes. */
static allot_cluster *chip_template(const allot_plan *p)
{
    allot_cluster *c = allot_cluster_new("plan");
    if (!c) return NULL;
    for (int k = 0; k < p->nchips; k++)
        if (allot_cluster_add_chip(c, &p->chips[k].t) != k) {
            allot_cluster_free(c);
            return NULL;
        }
    return c;
}

/* Pool order: by device milli, then index (qsort is not stable). Parsing
 * is single-threaded per plan; the pointer is only read inside qsort. */
static _Thread_local const allot_workload *g_pool;

static int cmp_pool(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    int64_t x = allot_job_milli(&g_pool->jobs[i]), y = allot_job_milli(&g_pool->jobs[j]);
    if (x != y) return x < y ? -1 : 1;
    return (i > j) - (i < j);
}

/* One training workload at path (training or training[i]). */
static int parse_workload(pctx *x, json_t *t, const char *path, int idx, int many)
{
    allot_plan *p = x->p;
    plan_training *w = &p->train[idx];
    int rc = need_object(x, t, path);
    if (rc) return rc;
    static const char *const keys[] = {"name",  "workload",        "devices", "growth",
                                       "chips", "max_job_devices", NULL};
    if ((rc = check_keys(x, t, path, keys))) return rc;
    char dflt_name[PLAN_NAME];
    snprintf(dflt_name, sizeof dflt_name, many ? "training-%d" : "training", idx);
    if ((rc = get_name(x, t, path, "name", 0, dflt_name, w->name))) return rc;
    for (int i = 0; i < idx; i++)
        if (strcmp(p->train[i].name, w->name) == 0) {
            char kp[120];
            kpath(kp, sizeof kp, path, "name");
            return perr(x, ALLOT_EINVAL, kp, "duplicate workload name '%s'", w->name);
        }
    if ((rc = get_num(x, t, path, "devices", 1, 0, 1e8, 0, &w->devices))) return rc;
    if ((rc = get_growth(x, t, path, &w->growth))) return rc;
    json_t *ch = json_object_get(t, "chips");
    if (ch) {
        char kp[120];
        kpath(kp, sizeof kp, path, "chips");
        if (!json_is_array(ch) || json_array_size(ch) < 1)
            return perr(x, ALLOT_EINVAL, kp, "must be an array of chip type names");
        for (size_t i = 0; i < json_array_size(ch); i++) {
            json_t *e = json_array_get(ch, i);
            char ep[160];
            snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
            if (!json_is_string(e)) return perr(x, ALLOT_EINVAL, ep, "must be a chip type name");
            int k;
            if ((rc = chip_lookup(x, json_string_value(e), ep, &k))) return rc;
            w->chips |= (allot_chip_mask)1 << k;
        }
    }
    /* largest job: a quarter of the devices it may use today (at least 8) */
    double base = 0;
    for (int g = 0; g < p->ngroups; g++)
        if (p->groups[g].chip >= 0 && (!w->chips || (w->chips >> p->groups[g].chip & 1)))
            base += (double)p->groups[g].nodes * p->groups[g].ndev;
    double dflt = floor(base / 4);
    if (dflt < 8) dflt = 8;
    if ((rc = get_num(x, t, path, "max_job_devices", 0, 1, 1e8, dflt, &w->max_job_devices)))
        return rc;
    const char *wl;
    if ((rc = get_str(x, t, path, "workload", 0, &wl))) return rc;
    char spec[300], wp[120];
    kpath(wp, sizeof wp, path, "workload");
    if (!wl || strcmp(wl, "gen:llm") == 0 || strcmp(wl, "gen:mixed") == 0)
        snprintf(spec, sizeof spec, "%s:n=%d,seed=%d", wl ? wl : "gen:llm", POOL_GEN_JOBS, 1 + idx);
    else
        snprintf(spec, sizeof spec, "%.250s", wl);
    char *full = join_path(x->base_dir, spec);
    allot_cluster *c = chip_template(p);
    if (!full || !c) {
        free(full);
        allot_cluster_free(c);
        return ALLOT_ENOMEM;
    }
    allot_diag wd;
    memset(&wd, 0, sizeof wd);
    rc = allot_workload_load(full, c, &w->pool, &wd);
    free(full);
    int grew = (int)allot_cluster_nchips(c) != p->nchips;
    allot_cluster_free(c);
    if (rc) {
        char buf[900];
        allot_diag_format(&wd, buf, sizeof buf);
        return perr(x, rc, wp, "%s", buf);
    }
    if (grew) return perr(x, ALLOT_EINVAL, wp, "the workload names chip types the plan lacks");
    size_t n = w->pool.njobs;
    if (n == 0) return perr(x, ALLOT_EINVAL, wp, "no jobs");
    /* like allot sim: a workload that says nothing of preemption is taken as
     * preemptible with a checkpoint every 30 minutes */
    int says = 0;
    for (size_t i = 0; i < n; i++)
        if (w->pool.jobs[i].flags || w->pool.jobs[i].ckpt) says = 1;
    for (size_t i = 0; i < n; i++) {
        allot_job *j = &w->pool.jobs[i];
        if (!says) {
            j->flags |= ALLOT_JOBF_PREEMPTIBLE;
            j->ckpt = 1800;
        }
        j->ntasks_max = 0; /* no elastic growth in the planner */
        j->tenant = (uint16_t)idx;
        if (w->chips && j->shape.ndev > 0) j->shape.chips = w->chips;
        if (j->duration == ALLOT_TIME_NONE || j->duration <= 0) j->duration = 3600;
    }
    w->order = malloc(n * sizeof *w->order);
    w->milli = malloc(n * sizeof *w->milli);
    w->cum = malloc(n * sizeof *w->cum);
    w->cumdur = malloc(n * sizeof *w->cumdur);
    if (!w->order || !w->milli || !w->cum || !w->cumdur) return ALLOT_ENOMEM;
    for (size_t i = 0; i < n; i++) w->order[i] = (uint32_t)i;
    g_pool = &w->pool;
    qsort(w->order, n, sizeof *w->order, cmp_pool);
    double cum = 0, cumdur = 0;
    for (size_t i = 0; i < n; i++) {
        const allot_job *j = &w->pool.jobs[w->order[i]];
        w->milli[i] = allot_job_milli(j);
        cum += (double)allot_job_milli(j) / ALLOT_MILLI * (double)j->duration;
        cumdur += (double)j->duration;
        w->cum[i] = cum;
        w->cumdur[i] = cumdur;
    }
    if (!(cum > 0)) return perr(x, ALLOT_EINVAL, wp, "the jobs ask for no devices");
    if (w->devices > 0) p->has_training = 1;
    return 0;
}

static int parse_training(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *t = json_object_get(root, "training");
    if (!t) return 0;
    int rc;
    if (json_is_array(t)) {
        if (json_array_size(t) < 1 || json_array_size(t) > PLAN_MAX_TRAIN)
            return perr(x, ALLOT_EINVAL, "training", "must hold 1..%d workloads", PLAN_MAX_TRAIN);
        for (size_t i = 0; i < json_array_size(t); i++) {
            char path[32];
            snprintf(path, sizeof path, "training[%zu]", i);
            allot_workload_init(&p->train[i].pool);
            p->ntrain++;
            if ((rc = parse_workload(x, json_array_get(t, i), path, (int)i, 1))) return rc;
        }
    } else {
        allot_workload_init(&p->train[0].pool);
        p->ntrain = 1;
        if ((rc = parse_workload(x, t, "training", 0, 0))) return rc;
    }
    /* FGD's target shapes from the workloads together */
    allot_workload all;
    allot_workload_init(&all);
    for (int w = 0; w < p->ntrain && !rc; w++)
        for (size_t i = 0; i < p->train[w].pool.njobs && !rc; i++)
            if (allot_workload_add(&all, &p->train[w].pool.jobs[i], NULL) < 0) rc = ALLOT_ENOMEM;
    int nt = rc ? rc : allot_typical_from_workload(&all, 0.95, 1, &p->typical);
    allot_workload_free(&all);
    if (nt < 0) return perr(x, nt, "training", "cannot build the typical shapes");
    p->ntypical = nt;
    return 0;
}

static const double k_diurnal[24] = {0.55, 0.50, 0.47, 0.45, 0.45, 0.48, 0.55, 0.65,
                                     0.78, 0.88, 0.95, 0.98, 1.00, 1.00, 0.98, 0.96,
                                     0.93, 0.90, 0.86, 0.82, 0.78, 0.72, 0.66, 0.60};

/* Profile, peak rate and mean tokens from an LLM request trace of a day or more. */
static int service_from_trace(pctx *x, const char *path, const char *kp, plan_service *s,
                              int have_peak)
{
    allot_reqtrace t;
    memset(&t, 0, sizeof t);
    allot_reqtrace_opts o;
    allot_reqtrace_opts_init(&o);
    allot_diag td;
    memset(&td, 0, sizeof td);
    char *full = join_path(x->base_dir, path);
    if (!full) return ALLOT_ENOMEM;
    int rc = allot_reqtrace_load(full, &o, &t, &td);
    free(full);
    if (rc) {
        char buf[900];
        allot_diag_format(&td, buf, sizeof buf);
        return perr(x, rc, kp, "%s", buf);
    }
    if (t.kind != ALLOT_REQ_LLM || t.n == 0 || t.span_s < 86400) {
        allot_reqtrace_free(&t);
        return perr(x, ALLOT_EINVAL, kp,
                    "needs an LLM request trace spanning at least a day (for the daily profile)");
    }
    double cnt[24] = {0}, in = 0, out = 0;
    int days = (int)(t.span_s / 86400);
    for (size_t i = 0; i < t.n; i++) {
        if (t.v[i].t >= days * 86400.0) break;
        cnt[(int)(t.v[i].t / 3600) % 24] += 1;
        in += t.v[i].in_tok;
        out += t.v[i].out_tok;
    }
    double mx = 0, tot = 0;
    for (int h = 0; h < 24; h++) {
        tot += cnt[h];
        if (cnt[h] > mx) mx = cnt[h];
    }
    allot_reqtrace_free(&t);
    if (!(mx > 0)) return perr(x, ALLOT_EINVAL, kp, "no requests in its whole days");
    for (int h = 0; h < 24; h++) s->profile[h] = cnt[h] / mx;
    if (!have_peak) s->peak_rps = mx / days / 3600.0;
    s->in_tok = in / tot;
    s->out_tok = out / tot;
    return 0;
}

static int parse_services(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *arr = json_object_get(root, "inference");
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) > PLAN_MAX_SERVICES)
        return perr(x, ALLOT_EINVAL, "inference", "must be an array of at most %d services",
                    PLAN_MAX_SERVICES);
    allot_service def;
    allot_service_default(&def, ALLOT_REQ_LLM);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64], kp[300];
        snprintf(path, sizeof path, "inference[%zu]", i);
        json_t *e = json_array_get(arr, i);
        int rc = need_object(x, e, path);
        if (rc) return rc;
        static const char *const keys[] = {"name",
                                           "peak_rps",
                                           "profile",
                                           "trace",
                                           "growth",
                                           "slots",
                                           "devices_per_replica",
                                           "slo_s",
                                           "slo_target",
                                           "in_tokens",
                                           "out_tokens",
                                           "chips",
                                           NULL};
        if ((rc = check_keys(x, e, path, keys))) return rc;
        plan_service *s = &p->services[p->nservices];
        memset(s, 0, sizeof *s);
        if ((rc = get_name(x, e, path, "name", 1, NULL, s->name))) return rc;
        memcpy(s->profile, k_diurnal, sizeof s->profile);
        s->in_tok = 1000;
        s->out_tok = 200;
        int have_peak = json_object_get(e, "peak_rps") != NULL;
        const char *trace;
        if ((rc = get_str(x, e, path, "trace", 0, &trace))) return rc;
        if (!trace && !have_peak) {
            kpath(kp, sizeof kp, path, "peak_rps");
            return perr(x, ALLOT_EINVAL, kp, "missing (give peak_rps or a trace)");
        }
        if (trace) {
            kpath(kp, sizeof kp, path, "trace");
            if ((rc = service_from_trace(x, trace, kp, s, have_peak))) return rc;
        }
        if ((rc = get_num(x, e, path, "peak_rps", 0, 0, 1e8, s->peak_rps, &s->peak_rps))) return rc;
        json_t *pr = json_object_get(e, "profile");
        if (pr) {
            kpath(kp, sizeof kp, path, "profile");
            if (!json_is_array(pr) || json_array_size(pr) != 24)
                return perr(x, ALLOT_EINVAL, kp,
                            "must be 24 hourly factors (rate / peak rate, 0..1)");
            double mx = 0;
            for (int h = 0; h < 24; h++) {
                json_t *v = json_array_get(pr, (size_t)h);
                char ep[320];
                snprintf(ep, sizeof ep, "%s[%d]", kp, h);
                if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
                    return perr(x, ALLOT_ERANGE, ep, "must be a factor in 0..1");
                s->profile[h] = json_number_value(v);
                if (s->profile[h] > mx) mx = s->profile[h];
            }
            if (mx != 1.0)
                return perr(x, ALLOT_ERANGE, kp, "the largest factor must be 1 (the peak)");
        }
        if ((rc = get_growth(x, e, path, &s->growth))) return rc;
        long long v;
        if ((rc = get_int(x, e, path, "slots", 0, 1, 4096, def.slots, &v))) return rc;
        s->slots = (int)v;
        if ((rc = get_int(x, e, path, "devices_per_replica", 0, 1, 64, 1, &v))) return rc;
        s->devices = (int)v;
        if ((rc = get_num(x, e, path, "slo_s", 0, 0.001, 1e6, def.slo_s, &s->slo_s))) return rc;
        if ((rc = get_num(x, e, path, "slo_target", 0, 0.5, 0.999999, def.slo_target,
                          &s->slo_target)))
            return rc;
        if ((rc = get_num(x, e, path, "in_tokens", 0, 0, 1e7, s->in_tok, &s->in_tok))) return rc;
        if ((rc = get_num(x, e, path, "out_tokens", 0, 0, 1e7, s->out_tok, &s->out_tok))) return rc;
        json_t *ch = json_object_get(e, "chips");
        kpath(kp, sizeof kp, path, "chips");
        if (ch && (!json_is_array(ch) || json_array_size(ch) < 1 ||
                   json_array_size(ch) > ALLOT_SERVE_MAX_CHIPS))
            return perr(x, ALLOT_EINVAL, kp, "must be an array of 1..%d chip types",
                        ALLOT_SERVE_MAX_CHIPS);
        size_t nch = ch ? json_array_size(ch) : 1;
        for (size_t c = 0; c < nch; c++) {
            double pre = def.chips[0].prefill_tps, dec = def.chips[0].decode_tps;
            int k;
            char cp[340];
            if (ch) {
                json_t *ce = json_array_get(ch, c);
                snprintf(cp, sizeof cp, "%s[%zu]", kp, c);
                if ((rc = need_object(x, ce, cp))) return rc;
                static const char *const ckeys[] = {"chip", "prefill_tps", "decode_tps", NULL};
                if ((rc = check_keys(x, ce, cp, ckeys))) return rc;
                if ((rc = get_chip(x, ce, cp, "chip", &k))) return rc;
                int known = -1;
                for (size_t q = 0; q < def.nchips; q++)
                    if (strcmp(def.chips[q].name, p->chips[k].t.name) == 0) known = (int)q;
                int req = known < 0;
                if (known >= 0)
                    pre = def.chips[known].prefill_tps, dec = def.chips[known].decode_tps;
                if ((rc = get_num(x, ce, cp, "prefill_tps", req, 0.001, 1e9, pre, &pre))) return rc;
                if ((rc = get_num(x, ce, cp, "decode_tps", req, 0.001, 1e9, dec, &dec))) return rc;
            } else {
                snprintf(cp, sizeof cp, "%s", path);
                if ((rc = chip_lookup(x, def.chips[0].name, path, &k))) return rc;
            }
            for (size_t q = 0; q < s->nchips; q++)
                if (s->chip[q] == k) return perr(x, ALLOT_EINVAL, cp, "chip type listed twice");
            s->chip[s->nchips] = k;
            s->es[s->nchips] = s->in_tok / pre + s->out_tok / dec;
            if (s->es[s->nchips] > s->slo_s)
                return perr(x, ALLOT_ERANGE, cp,
                            "a mean request takes %.3g s on %s, longer than the SLO of %g s",
                            s->es[s->nchips], p->chips[k].t.name, s->slo_s);
            s->nchips++;
        }
        for (int j = 0; j < p->nservices; j++)
            if (strcmp(p->services[j].name, s->name) == 0) {
                kpath(kp, sizeof kp, path, "name");
                return perr(x, ALLOT_EINVAL, kp, "duplicate service '%s'", s->name);
            }
        p->nservices++;
    }
    return 0;
}

static int parse_scheduler(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    allot_sched_config_init(&p->sched);
    p->sched.policy = ALLOT_POLICY_BESTFIT;
    p->sched_policy = ALLOT_SP_ALLOT;
    p->max_jobs = 1000;
    json_t *s = json_object_get(root, "scheduler");
    int rc = 0;
    const char *pol = NULL, *pl = NULL;
    if (s) {
        if ((rc = need_object(x, s, "scheduler"))) return rc;
        static const char *const keys[] = {"policy",      "placement", "window_days",
                                           "warmup_days", "max_jobs",  NULL};
        if ((rc = check_keys(x, s, "scheduler", keys))) return rc;
        if ((rc = get_str(x, s, "scheduler", "policy", 0, &pol))) return rc;
        if ((rc = get_str(x, s, "scheduler", "placement", 0, &pl))) return rc;
        double wd, ud;
        if ((rc = get_num(x, s, "scheduler", "window_days", 0, 0, 31, 0, &wd))) return rc;
        if ((rc = get_num(x, s, "scheduler", "warmup_days", 0, 0, 31, 0, &ud))) return rc;
        p->window_h = wd * 24;
        p->warmup_h = ud * 24;
        long long mj;
        if ((rc = get_int(x, s, "scheduler", "max_jobs", 0, 50, 1000000, 1000, &mj))) return rc;
        p->max_jobs = (int)mj;
    }
    if (pol) {
        int v = allot_sched_policy_parse(pol);
        if (v < 0)
            return perr(x, ALLOT_EINVAL, "scheduler.policy",
                        "unknown policy '%.40s' (fifo, fifo-backfill, priority-preempt, las, drf "
                        "or allot)",
                        pol);
        p->sched_policy = v;
    }
    if (pl) {
        int v = allot_policy_parse(pl);
        if (v < 0)
            return perr(x, ALLOT_EINVAL, "scheduler.placement",
                        "unknown placement '%.40s' (random, dotprod, gpuclustering, gpupacking, "
                        "bestfit, fgd or fgd-la)",
                        pl);
        p->sched.policy = (allot_policy)v;
    }
    allot_sched_policy_apply((allot_sched_policy)p->sched_policy, &p->sched);
    p->tenants_equal = allot_sched_policy_wants_tenants((allot_sched_policy)p->sched_policy);
    return 0;
}

static int parse_shock(pctx *x, json_t *e, const char *path, plan_shock *s)
{
    allot_plan *p = x->p;
    int rc = need_object(x, e, path);
    if (rc) return rc;
    static const char *const keys[] = {"type", "chip", "region",      "datacentre",
                                       "mw",   "from", "probability", NULL};
    if ((rc = check_keys(x, e, path, keys))) return rc;
    const char *type;
    char kp[300];
    if ((rc = get_str(x, e, path, "type", 1, &type))) return rc;
    memset(s, 0, sizeof *s);
    s->chip = s->dc = -1;
    if ((rc = get_month(x, e, path, "from", 1, 0, 0, &s->from))) return rc;
    if ((rc = get_num(x, e, path, "probability", 0, 0, 1, 1, &s->prob))) return rc;
    if (strcmp(type, "export_stop") == 0) {
        s->type = PLAN_SHOCK_EXPORT_STOP;
        if ((rc = get_chip(x, e, path, "chip", &s->chip))) return rc;
    } else if (strcmp(type, "lease_region_loss") == 0) {
        s->type = PLAN_SHOCK_LEASE_REGION;
        if ((rc = get_name(x, e, path, "region", 1, NULL, s->region))) return rc;
        int any = 0;
        for (int o = 0; o < p->noffers; o++) any |= strcmp(p->offers[o].region, s->region) == 0;
        kpath(kp, sizeof kp, path, "region");
        if (!any) return perr(x, ALLOT_EINVAL, kp, "no lease offer is in region '%s'", s->region);
    } else if (strcmp(type, "power_cap") == 0) {
        s->type = PLAN_SHOCK_POWER_CAP;
        const char *dc;
        if ((rc = get_str(x, e, path, "datacentre", 1, &dc))) return rc;
        kpath(kp, sizeof kp, path, "datacentre");
        if ((rc = dc_lookup(x, dc, kp, &s->dc))) return rc;
        if ((rc = get_num(x, e, path, "mw", 1, 0, 1e6, 0, &s->mw))) return rc;
    } else {
        kpath(kp, sizeof kp, path, "type");
        return perr(x, ALLOT_EINVAL, kp,
                    "unknown shock '%.40s' (export_stop, lease_region_loss or power_cap)", type);
    }
    /* keys that belong to another type are mistakes */
    static const char *const own[3][3] = {
        {"chip", NULL, NULL}, {"region", NULL, NULL}, {"datacentre", "mw", NULL}};
    static const char *const opt[] = {"chip", "region", "datacentre", "mw"};
    for (int i = 0; i < 4; i++) {
        if (!json_object_get(e, opt[i])) continue;
        int ok = 0;
        for (int j = 0; j < 3 && own[s->type][j]; j++) ok |= strcmp(own[s->type][j], opt[i]) == 0;
        if (!ok) {
            kpath(kp, sizeof kp, path, opt[i]);
            return perr(x, ALLOT_EINVAL, kp, "does not apply to a %s shock", type);
        }
    }
    return 0;
}

static int parse_scenarios(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    json_t *arr = json_object_get(root, "scenarios");
    size_t n = arr ? json_array_size(arr) : 1;
    if (arr && (!json_is_array(arr) || n < 1 || n > ALLOT_PLAN_MAX_SCENARIOS))
        return perr(x, ALLOT_EINVAL, "scenarios", "must be an array of 1..%d scenarios",
                    ALLOT_PLAN_MAX_SCENARIOS);
    p->scen = calloc(n, sizeof *p->scen);
    if (!p->scen) return ALLOT_ENOMEM;
    if (!arr) {
        snprintf(p->scen[0].name, PLAN_NAME, "base");
        p->scen[0].weight = 1;
        p->scen[0].demand_scale = 1;
        p->nscen = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "scenarios[%zu]", i);
        json_t *e = json_array_get(arr, i);
        int rc = need_object(x, e, path);
        if (rc) return rc;
        static const char *const keys[] = {"name",         "description", "weight",
                                           "demand_scale", "shocks",      NULL};
        if ((rc = check_keys(x, e, path, keys))) return rc;
        plan_scenario *s = &p->scen[i];
        if ((rc = get_name(x, e, path, "name", 1, NULL, s->name))) return rc;
        for (int j = 0; j < p->nscen; j++)
            if (strcmp(p->scen[j].name, s->name) == 0) {
                char kp[80];
                snprintf(kp, sizeof kp, "%s.name", path);
                return perr(x, ALLOT_EINVAL, kp, "duplicate scenario '%s'", s->name);
            }
        const char *desc;
        if ((rc = get_str(x, e, path, "description", 0, &desc))) return rc;
        snprintf(s->description, sizeof s->description, "%s", desc ? desc : "");
        if ((rc = get_num(x, e, path, "weight", 0, 0, 1e6, 1, &s->weight))) return rc;
        if ((rc = get_num(x, e, path, "demand_scale", 0, 0, 1e3, 1, &s->demand_scale))) return rc;
        p->nscen++; /* counted now: its shocks are freed with it */
        json_t *sh = json_object_get(e, "shocks");
        if (sh) {
            char kp[80];
            snprintf(kp, sizeof kp, "%s.shocks", path);
            if (!json_is_array(sh) || json_array_size(sh) > 64)
                return perr(x, ALLOT_EINVAL, kp, "must be an array of at most 64 shocks");
            s->shocks = calloc(json_array_size(sh) + 1, sizeof *s->shocks);
            if (!s->shocks) return ALLOT_ENOMEM;
            for (size_t j = 0; j < json_array_size(sh); j++) {
                char sp[128];
                snprintf(sp, sizeof sp, "%s[%zu]", kp, j);
                if ((rc = parse_shock(x, json_array_get(sh, j), sp, &s->shocks[j]))) return rc;
                s->nshocks++;
            }
        }
    }
    double w = 0;
    for (int i = 0; i < p->nscen; i++) w += p->scen[i].weight;
    if (!(w > 0)) return perr(x, ALLOT_ERANGE, "scenarios", "the weights add up to 0");
    return 0;
}

static int parse_search(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    p->target_wait_h = NAN;
    p->target_slo = NAN;
    p->min_fraction = 0.9;
    p->search_scen = (p->nscen >= 64 ? ~0ull : ((1ull << p->nscen) - 1));
    json_t *s = json_object_get(root, "search");
    if (!s) return 0;
    int rc = need_object(x, s, "search");
    if (rc) return rc;
    static const char *const keys[] = {"targets",         "min_fraction", "from",       "runs",
                                       "max_evaluations", "scenarios",    "candidates", NULL};
    if ((rc = check_keys(x, s, "search", keys))) return rc;
    json_t *t = json_object_get(s, "targets");
    if (!t) return perr(x, ALLOT_EINVAL, "search.targets", "missing");
    if ((rc = need_object(x, t, "search.targets"))) return rc;
    static const char *const tkeys[] = {"p95_wait_hours", "slo", NULL};
    if ((rc = check_keys(x, t, "search.targets", tkeys))) return rc;
    if ((rc = get_num(x, t, "search.targets", "p95_wait_hours", 0, 0, 1e6, NAN, &p->target_wait_h)))
        return rc;
    if ((rc = get_num(x, t, "search.targets", "slo", 0, 0, 1, NAN, &p->target_slo))) return rc;
    if (isnan(p->target_wait_h) && isnan(p->target_slo))
        return perr(x, ALLOT_EINVAL, "search.targets", "give p95_wait_hours, slo or both");
    if ((rc = get_num(x, s, "search", "min_fraction", 0, 0, 1, 0.9, &p->min_fraction))) return rc;
    if ((rc = get_month(x, s, "search", "from", 0, 0, 0, &p->target_from))) return rc;
    p->target_from /= p->step_months;
    long long v;
    if ((rc = get_int(x, s, "search", "runs", 0, 1, ALLOT_PLAN_MAX_RUNS, 0, &v))) return rc;
    p->search_runs = (int)v;
    if ((rc = get_int(x, s, "search", "max_evaluations", 0, 1, 100000, 64, &v))) return rc;
    p->search_max_evals = (int)v;
    json_t *sc = json_object_get(s, "scenarios");
    if (sc) {
        if (!json_is_array(sc) || json_array_size(sc) < 1)
            return perr(x, ALLOT_EINVAL, "search.scenarios", "must be an array of scenario names");
        p->search_scen = 0;
        for (size_t i = 0; i < json_array_size(sc); i++) {
            json_t *e = json_array_get(sc, i);
            char ep[64];
            snprintf(ep, sizeof ep, "search.scenarios[%zu]", i);
            int found = -1;
            if (json_is_string(e))
                for (int j = 0; j < p->nscen; j++)
                    if (strcmp(p->scen[j].name, json_string_value(e)) == 0) found = j;
            if (found < 0) return perr(x, ALLOT_EINVAL, ep, "not the name of a scenario");
            p->search_scen |= 1ull << found;
        }
    }
    json_t *arr = json_object_get(s, "candidates");
    if (!arr) return perr(x, ALLOT_EINVAL, "search.candidates", "missing");
    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > ALLOT_PLAN_MAX_CANDIDATES)
        return perr(x, ALLOT_EINVAL, "search.candidates", "must be an array of 1..%d actions",
                    ALLOT_PLAN_MAX_CANDIDATES);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64], kp[100];
        snprintf(path, sizeof path, "search.candidates[%zu]", i);
        json_t *e = json_array_get(arr, i);
        if ((rc = need_object(x, e, path))) return rc;
        static const char *const ckeys[] = {"name", "buy", "lease", NULL};
        if ((rc = check_keys(x, e, path, ckeys))) return rc;
        plan_candidate *c = &p->cands[i];
        memset(c, 0, sizeof *c);
        if ((rc = get_name(x, e, path, "name", 1, NULL, c->name))) return rc;
        for (int j = 0; j < p->ncands; j++)
            if (strcmp(p->cands[j].name, c->name) == 0) {
                snprintf(kp, sizeof kp, "%s.name", path);
                return perr(x, ALLOT_EINVAL, kp, "duplicate candidate '%s'", c->name);
            }
        json_t *buy = json_object_get(e, "buy"), *lease = json_object_get(e, "lease");
        if (!!buy == !!lease)
            return perr(x, ALLOT_EINVAL, path, "give exactly one of buy or lease");
        if (buy) {
            c->kind = 0;
            snprintf(kp, sizeof kp, "%s.buy", path);
            if ((rc = parse_delivery(x, buy, kp, &c->buy))) return rc;
        } else {
            c->kind = 1;
            snprintf(kp, sizeof kp, "%s.lease", path);
            if ((rc = parse_contract(x, lease, kp, &c->lease))) return rc;
        }
        p->ncands++;
    }
    return 0;
}

/* Every owned chip type needs a capex and a board power. */
static int check_owned(pctx *x)
{
    allot_plan *p = x->p;
    for (int k = 0; k < p->nchips; k++) {
        plan_chip *c = &p->chips[k];
        if (!c->owned_use) continue;
        char kp[120];
        snprintf(kp, sizeof kp, "%s", c->owned_path);
        if (strncmp(kp, "fleet", 5) != 0) snprintf(kp, sizeof kp, "%s.chip", c->owned_path);
        if (isnan(c->capex))
            return perr(x, ALLOT_EINVAL, kp,
                        "chip type '%s' has no capex (add {\"chip\": \"%s\", \"capex\": ...} to "
                        "costs.chips)",
                        c->t.name, c->t.name);
        if (!(c->board_w > 0))
            return perr(x, ALLOT_EINVAL, kp,
                        "chip type '%s' has no board power (the catalogue does not know it: give "
                        "power_w in costs.chips)",
                        c->t.name);
    }
    return 0;
}

static int parse_root(pctx *x, json_t *root)
{
    allot_plan *p = x->p;
    if (!json_is_object(root)) return perr(x, ALLOT_EINVAL, "", "a plan must be a JSON object");
    static const char *const keys[] = {
        "name",     "description", "notes",      "sources",   "currency",
        "horizon",  "runs",        "seed",       "fleet",     "datacentres",
        "costs",    "supply",      "deliveries", "leases",    "lease_contracts",
        "training", "inference",   "scheduler",  "scenarios", "search",
        NULL};
    int rc = check_keys(x, root, "", keys);
    if (rc) return rc;
    if ((rc = get_name(x, root, "", "name", 0, "plan", p->name))) return rc;
    const char *cur;
    if ((rc = get_str(x, root, "", "currency", 0, &cur))) return rc;
    snprintf(p->currency, sizeof p->currency, "%s", cur ? cur : "USD");
    for (const char *c = p->currency; *c; c++)
        if (*c < 'A' || *c > 'Z' || strlen(p->currency) > 8)
            return perr(x, ALLOT_EINVAL, "currency", "must be 1..8 capital letters, e.g. \"CNY\"");
    if (!p->currency[0]) return perr(x, ALLOT_EINVAL, "currency", "must not be empty");
    long long v;
    if ((rc = get_int(x, root, "", "runs", 0, 1, ALLOT_PLAN_MAX_RUNS, DEFAULT_RUNS, &v))) return rc;
    p->runs = (int)v;
    json_t *sd = json_object_get(root, "seed");
    p->seed = 1;
    if (sd) {
        if (!json_is_integer(sd) || json_integer_value(sd) < 0)
            return perr(x, ALLOT_EINVAL, "seed", "must be an integer >= 0");
        p->seed = (uint64_t)json_integer_value(sd);
    }
    if ((rc = parse_horizon(x, root))) return rc;
    double dep, pue, price, dccost, fail;
    if ((rc = parse_costs(x, root, &dep, &pue, &price, &dccost, &fail))) return rc;
    if ((rc = parse_dcs(x, root, pue, price, dccost))) return rc;
    if ((rc = parse_fleet(x, root, pue, price, dccost))) return rc;
    if ((rc = parse_supply(x, root))) return rc;
    if ((rc = parse_deliveries(x, root))) return rc;
    if ((rc = parse_offers(x, root))) return rc;
    if ((rc = parse_contracts(x, root))) return rc;
    if ((rc = parse_training(x, root))) return rc;
    if ((rc = parse_services(x, root))) return rc;
    if ((rc = parse_scheduler(x, root))) return rc;
    if ((rc = parse_scenarios(x, root))) return rc;
    if ((rc = parse_search(x, root))) return rc;
    if ((rc = parse_chip_costs(x, root, dep, fail))) return rc;
    if ((rc = check_owned(x))) return rc;
    if (!p->has_training && p->nservices == 0)
        return perr(x, ALLOT_EINVAL, "",
                    "the plan has no demand: give training (with devices > 0) or inference");
    p->nodes_per_rack = 4;
    return 0;
}

int allot_plan_parse(const char *buf, size_t len, const char *file, const char *base_dir,
                     allot_plan **out, allot_diag *d)
{
    *out = NULL;
    if (!buf) return allot_diag_set(d, ALLOT_EINVAL, file, 0, 0, "no plan text");
    if (len > ALLOT_PLAN_MAX_BYTES)
        return allot_diag_set(d, ALLOT_ELIMIT, file, 0, 0, "a plan is at most %u bytes",
                              ALLOT_PLAN_MAX_BYTES);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return allot_diag_set(d, ALLOT_EPARSE, file && *file ? file : "<plan>", je.line, je.column,
                              "%s", je.text);
    allot_plan *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(root);
        return ALLOT_ENOMEM;
    }
    pctx x = {buf, len, file, base_dir, d, p};
    int rc = parse_root(&x, root);
    json_decref(root);
    if (rc) {
        if (rc == ALLOT_ENOMEM && d && !d->msg[0])
            allot_diag_set(d, rc, file, 0, 0, "out of memory");
        allot_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int allot_plan_load(const char *path, allot_plan **out, allot_diag *d)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = allot_read_file(path, ALLOT_PLAN_MAX_BYTES, &buf, &len, d);
    if (rc < 0) return rc;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    rc = allot_plan_parse(buf, len, path, dir[0] ? dir : NULL, out, d);
    free(buf);
    return rc;
}

void allot_plan_free(allot_plan *p)
{
    if (!p) return;
    free(p->dcs);
    free(p->groups);
    free(p->deliveries);
    free(p->offers);
    free(p->contracts);
    for (int w = 0; w < p->ntrain; w++) {
        plan_training *t = &p->train[w];
        allot_workload_free(&t->pool);
        free(t->order);
        free(t->milli);
        free(t->cum);
        free(t->cumdur);
        free(t->growth.per_period);
    }
    free(p->typical);
    for (int i = 0; i < p->nservices; i++) free(p->services[i].growth.per_period);
    for (int i = 0; i < p->nscen; i++) free(p->scen[i].shocks);
    free(p->scen);
    free(p);
}

const char *allot_plan_name(const allot_plan *p) { return p ? p->name : ""; }
size_t allot_plan_nperiods(const allot_plan *p) { return p ? (size_t)p->nperiods : 0; }
size_t allot_plan_nscenarios(const allot_plan *p) { return p ? (size_t)p->nscen : 0; }
size_t allot_plan_ncandidates(const allot_plan *p) { return p ? (size_t)p->ncands : 0; }
int allot_plan_default_runs(const allot_plan *p) { return p ? p->runs : 0; }

int plan__month_days(const allot_plan *p, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int ym = p->start_year * 12 + p->start_month - 1 + m;
    int y = ym / 12, mo = ym % 12;
    if (mo == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[mo];
}

void plan__period_label(const allot_plan *p, int k, char out[16])
{
    int ym = p->start_year * 12 + p->start_month - 1 + k * p->step_months;
    if (p->step_months == 3)
        snprintf(out, 16, "%04d-Q%d", ym / 12, ym % 12 / 3 + 1);
    else
        snprintf(out, 16, "%04d-%02d", ym / 12, ym % 12 + 1);
}
