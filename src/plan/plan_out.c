/* plan_out.c - the plan's results as JSON, CSV and a text table.
 *
 * Everything here is derived from the cells (one per run and period) by
 * allot_plan_cell_stat() and plan__totals(); nothing reads a clock, so the
 * same plan, seed and runs give the same bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "plan_out.h"

allot_plan_stat plan__stat_of(double *v, size_t n);

/* ---- totals over the horizon ------------------------------------------------------- */

static const char *const k_totals[PLAN_NTOTALS] = {"cost_total",
                                                   "cost_depreciation",
                                                   "cost_power",
                                                   "cost_datacentre",
                                                   "cost_leases",
                                                   "cost_per_useful_dh",
                                                   "device_hours",
                                                   "busy_device_hours",
                                                   "useful_device_hours",
                                                   "idle_device_hours",
                                                   "utilisation",
                                                   "energy_mwh",
                                                   "peak_mw",
                                                   "worst_wait_p95_h",
                                                   "min_slo",
                                                   "stranded_device_hours"};

const char *plan__total_name(int t) { return t >= 0 && t < PLAN_NTOTALS ? k_totals[t] : ""; }

void plan__run_totals(const allot_plan_result *r, const allot_plan_scenario_result *s, int run,
                      double *t)
{
    for (int i = 0; i < PLAN_NTOTALS; i++) t[i] = 0;
    t[PT_WORST_WAIT] = NAN;
    t[PT_MIN_SLO] = NAN;
    for (size_t k = 0; k < r->nperiods; k++) {
        const allot_plan_cell *c = &s->cell[(size_t)run * r->nperiods + k];
        t[PT_COST] += c->cost_total;
        t[PT_DEP] += c->cost_depreciation;
        t[PT_POWER] += c->cost_power;
        t[PT_DC] += c->cost_datacentre;
        t[PT_LEASES] += c->cost_leases;
        t[PT_DH] += c->device_hours;
        t[PT_BUSY] += c->busy_device_hours;
        t[PT_USEFUL] += c->useful_device_hours;
        t[PT_IDLE] += c->idle_device_hours;
        t[PT_ENERGY] += c->energy_mwh;
        if (c->peak_mw > t[PT_PEAK]) t[PT_PEAK] = c->peak_mw;
        if (!isnan(c->wait_p95_h) && !(c->wait_p95_h <= t[PT_WORST_WAIT]))
            t[PT_WORST_WAIT] = c->wait_p95_h;
        if (!isnan(c->slo) && !(c->slo >= t[PT_MIN_SLO])) t[PT_MIN_SLO] = c->slo;
        t[PT_STRANDED] += c->stranded_devices * r->hours[k];
    }
    t[PT_CPU] = t[PT_USEFUL] > 0 ? t[PT_COST] / t[PT_USEFUL] : NAN;
    t[PT_UTIL] = t[PT_DH] > 0 ? t[PT_BUSY] / t[PT_DH] : NAN;
}

allot_plan_stat plan__total_stat(const allot_plan_result *r, const allot_plan_scenario_result *s,
                                 int which)
{
    allot_plan_stat none = {NAN, NAN, NAN, NAN};
    double *v = malloc((size_t)r->runs * sizeof *v);
    if (!v) return none;
    double t[PLAN_NTOTALS];
    for (int i = 0; i < r->runs; i++) {
        plan__run_totals(r, s, i, t);
        v[i] = t[which];
    }
    allot_plan_stat st = plan__stat_of(v, (size_t)r->runs);
    free(v);
    return st;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *jstat(allot_plan_stat s)
{
    json_t *o = json_object();
    json_object_set_new(o, "mean", jnum(s.mean));
    json_object_set_new(o, "p10", jnum(s.p10));
    json_object_set_new(o, "p50", jnum(s.p50));
    json_object_set_new(o, "p90", jnum(s.p90));
    return o;
}

static int has_targets(const allot_plan_result *r) { return r->has_targets; }

static json_t *scenario_json(const allot_plan_result *r, const allot_plan_scenario_result *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "description", json_string(s->description));
    json_object_set_new(o, "weight", json_real(s->weight));
    if (has_targets(r)) json_object_set_new(o, "targets_met_fraction", jnum(s->met_fraction));
    json_t *tot = json_object();
    for (int t = 0; t < PLAN_NTOTALS; t++)
        json_object_set_new(tot, plan__total_name(t), jstat(plan__total_stat(r, s, t)));
    json_object_set_new(o, "totals", tot);
    json_t *per = json_array();
    for (size_t k = 0; k < r->nperiods; k++) {
        json_t *e = json_object();
        json_object_set_new(e, "period", json_string(r->period[k]));
        json_object_set_new(e, "hours", json_real(r->hours[k]));
        for (int m = 0; m < allot_plan_nmetrics(); m++)
            json_object_set_new(e, allot_plan_metric_name(m),
                                jstat(allot_plan_cell_stat(r, s, k, m)));
        json_array_append_new(per, e);
    }
    json_object_set_new(o, "periods", per);
    return o;
}

json_t *plan__result_json(const allot_plan_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "plan", json_string(r->plan));
    json_object_set_new(o, "currency", json_string(r->currency));
    json_object_set_new(o, "step", json_string(r->step));
    json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(o, "runs", json_integer(r->runs));
    json_t *per = json_array();
    for (size_t k = 0; k < r->nperiods; k++) json_array_append_new(per, json_string(r->period[k]));
    json_object_set_new(o, "periods", per);
    json_t *units = json_object();
    for (int m = 0; m < allot_plan_nmetrics(); m++)
        json_object_set_new(units, allot_plan_metric_name(m),
                            json_string(strcmp(allot_plan_metric_unit(m), "currency") == 0
                                            ? r->currency
                                            : allot_plan_metric_unit(m)));
    json_object_set_new(o, "units", units);
    json_t *sc = json_array();
    for (size_t i = 0; i < r->nscen; i++)
        if (r->scen[i].cell) json_array_append_new(sc, scenario_json(r, &r->scen[i]));
    json_object_set_new(o, "scenarios", sc);
    if (r->search.done) {
        const allot_plan_search_result *s = &r->search;
        json_t *so = json_object();
        json_t *tg = json_object();
        json_object_set_new(tg, "p95_wait_hours", jnum(s->p95_wait_h));
        json_object_set_new(tg, "slo", jnum(s->slo));
        json_object_set_new(tg, "min_fraction", jnum(s->min_fraction));
        json_object_set_new(tg, "from", json_string(s->from));
        json_object_set_new(so, "targets", tg);
        json_object_set_new(so, "found", json_boolean(s->found));
        json_object_set_new(so, "confirmed", json_boolean(s->confirmed));
        json_t *ch = json_array(), *cands = json_array();
        for (size_t i = 0; i < s->nchoices; i++) {
            json_t *c = json_object();
            json_object_set_new(c, "name", json_string(s->choices[i].name));
            json_object_set_new(c, "action", json_string(s->choices[i].what));
            json_object_set_new(c, "static_cost", jnum(s->choices[i].static_cost));
            json_object_set_new(c, "chosen", json_boolean(s->chosen >> i & 1));
            json_array_append(cands, c);
            if (s->chosen >> i & 1) json_array_append(ch, c);
            json_decref(c);
        }
        json_object_set_new(so, "recommended", ch);
        json_object_set_new(so, "candidates", cands);
        json_object_set_new(so, "expected_cost", jnum(s->expected_cost));
        json_object_set_new(so, "risk", jnum(s->risk));
        json_object_set_new(so, "baseline_cost", jnum(s->baseline_cost));
        json_object_set_new(so, "baseline_risk", jnum(s->baseline_risk));
        json_object_set_new(so, "evaluations", json_integer(s->evaluations));
        json_object_set_new(so, "search_runs", json_integer(s->runs));
        json_t *rs = json_array();
        for (size_t i = 0; i < r->nscen; i++)
            if (s->scen && s->scen[i].cell)
                json_array_append_new(rs, scenario_json(r, &s->scen[i]));
        json_object_set_new(so, "scenarios", rs);
        json_object_set_new(o, "search", so);
    }
    json_object_set_new(o, "simulations", json_integer((json_int_t)r->simulations));
    return o;
}

int allot_plan_write_json(const allot_plan_result *r, FILE *f)
{
    if (!r || !f) return ALLOT_EINVAL;
    json_t *o = plan__result_json(r);
    if (!o) return ALLOT_ENOMEM;
    int rc = json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (rc == 0 && fputc('\n', f) == EOF) rc = -1;
    return rc == 0 ? 0 : ALLOT_EIO;
}

/* ---- CSV ------------------------------------------------------------------------------- */

static void csv_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.10g", v);
}

/* Writes path atomically through a temp file beside it. */
static int write_atomic(const char *path, int (*fn)(FILE *, const allot_plan_result *),
                        const allot_plan_result *r, allot_diag *d)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
    int rc = fn(f, r);
    if (fflush(f) != 0 || ferror(f)) rc = ALLOT_EIO;
    if (fclose(f) != 0) rc = ALLOT_EIO;
    if (!rc && rename(tmp, path) != 0) rc = ALLOT_EIO;
    if (rc) {
        remove(tmp);
        return allot_diag_set(d, rc, path, 0, 0, "cannot write: %s", strerror(errno));
    }
    return 0;
}

static const char *unit_of(const allot_plan_result *r, int m)
{
    return strcmp(allot_plan_metric_unit(m), "currency") == 0 ? r->currency
                                                              : allot_plan_metric_unit(m);
}

static int periods_csv(FILE *f, const allot_plan_result *r)
{
    fprintf(f, "set,scenario,period,metric,unit,mean,p10,p50,p90\n");
    for (int set = 0; set < 2; set++) {
        const allot_plan_scenario_result *sv = set ? r->search.scen : r->scen;
        if (!sv) continue;
        for (size_t i = 0; i < r->nscen; i++) {
            const allot_plan_scenario_result *s = &sv[i];
            if (!s->cell) continue;
            for (size_t k = 0; k < r->nperiods; k++)
                for (int m = 0; m < allot_plan_nmetrics(); m++) {
                    allot_plan_stat st = allot_plan_cell_stat(r, s, k, m);
                    fprintf(f, "%s,%s,%s,%s,%s,", set ? "recommended" : "plan", s->name,
                            r->period[k], allot_plan_metric_name(m), unit_of(r, m));
                    csv_num(f, st.mean);
                    fputc(',', f);
                    csv_num(f, st.p10);
                    fputc(',', f);
                    csv_num(f, st.p50);
                    fputc(',', f);
                    csv_num(f, st.p90);
                    fputc('\n', f);
                }
        }
    }
    return 0;
}

static int runs_csv(FILE *f, const allot_plan_result *r)
{
    fprintf(f, "set,scenario,run,period");
    for (int m = 0; m < allot_plan_nmetrics(); m++) fprintf(f, ",%s", allot_plan_metric_name(m));
    fprintf(f, ",slice,window_jobs,targets_met\n");
    for (int set = 0; set < 2; set++) {
        const allot_plan_scenario_result *sv = set ? r->search.scen : r->scen;
        if (!sv) continue;
        for (size_t i = 0; i < r->nscen; i++) {
            const allot_plan_scenario_result *s = &sv[i];
            if (!s->cell) continue;
            for (int run = 0; run < r->runs; run++)
                for (size_t k = 0; k < r->nperiods; k++) {
                    const allot_plan_cell *c = &s->cell[(size_t)run * r->nperiods + k];
                    fprintf(f, "%s,%s,%d,%s", set ? "recommended" : "plan", s->name, run,
                            r->period[k]);
                    for (int m = 0; m < allot_plan_nmetrics(); m++) {
                        double v;
                        memcpy(&v, (const char *)c + plan__metric_offset(m), sizeof v);
                        fputc(',', f);
                        csv_num(f, v);
                    }
                    fprintf(f, ",%d,%u,%d\n", c->slice, c->window_jobs, s->met[run]);
                }
        }
    }
    return 0;
}

static int summary_json(FILE *f, const allot_plan_result *r) { return allot_plan_write_json(r, f); }

int allot_plan_write_csv(const allot_plan_result *r, const char *dir, allot_diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/periods.csv", dir);
    int rc = write_atomic(path, periods_csv, r, d);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    rc = write_atomic(path, runs_csv, r, d);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    return write_atomic(path, summary_json, r, d);
}

/* ---- the text table ----------------------------------------------------------------------- */

/* 1234567 -> "1.23M", in the style of a compact money column. */
void plan__fmt_si(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else if (a >= 1e12)
        snprintf(buf, n, "%.2fT", v / 1e12);
    else if (a >= 1e9)
        snprintf(buf, n, "%.2fG", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else if (a >= 1e4)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else if (a >= 100)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.3g", v);
}

static void print_scenario(FILE *f, const allot_plan_result *r, const allot_plan_scenario_result *s)
{
    fprintf(f, "\nscenario %s", s->name);
    if (s->description[0]) fprintf(f, " - %s", s->description);
    fprintf(f, "\n");
    fprintf(f, "%-8s %8s %8s %8s %7s %15s %9s %9s %7s %9s %8s %7s %9s %8s\n", "period", "supply",
            "demand", "serving", "strand", "util p10-p50-p90", "wait p50", "wait p95", "SLO",
            "cost", "cost/udh", "peakMW", "MWh", "backlog");
    int mi[14];
    const char *names[] = {
        "supply_devices", "train_demand", "serve_devices", "stranded_devices", "utilisation",
        "wait_p50_h",     "wait_p95_h",   "slo",           "cost_total",       "cost_per_useful_dh",
        "peak_mw",        "energy_mwh",   "backlog_dh",    "serve_demand"};
    for (int i = 0; i < 14; i++) mi[i] = allot_plan_metric_index(names[i]);
    for (size_t k = 0; k < r->nperiods; k++) {
        allot_plan_stat st[14];
        for (int i = 0; i < 14; i++) st[i] = allot_plan_cell_stat(r, s, k, mi[i]);
        char sup[16], dem[16], srv[16], str[16], cost[16], cpu[16], mwh[16], bl[16], slo[16];
        plan__fmt_si(sup, sizeof sup, st[0].mean);
        plan__fmt_si(dem, sizeof dem, st[1].mean + st[13].mean);
        plan__fmt_si(srv, sizeof srv, st[2].mean);
        plan__fmt_si(str, sizeof str, st[3].mean);
        plan__fmt_si(cost, sizeof cost, st[8].mean);
        plan__fmt_si(cpu, sizeof cpu, st[9].mean);
        plan__fmt_si(mwh, sizeof mwh, st[11].mean);
        plan__fmt_si(bl, sizeof bl, st[12].mean);
        if (isnan(st[7].mean))
            snprintf(slo, sizeof slo, "-");
        else
            snprintf(slo, sizeof slo, "%.2f%%", st[7].mean * 100);
        char util[32];
        snprintf(util, sizeof util, "%.0f-%.0f-%.0f%%", st[4].p10 * 100, st[4].p50 * 100,
                 st[4].p90 * 100);
        fprintf(f, "%-8s %8s %8s %8s %7s %15s %8.2fh %8.2fh %7s %9s %8s %7.1f %9s %8s\n",
                r->period[k], sup, dem, srv, str, util, st[5].mean, st[6].mean, slo, cost, cpu,
                st[10].mean, mwh, bl);
    }
    allot_plan_stat c = plan__total_stat(r, s, PT_COST), u = plan__total_stat(r, s, PT_CPU),
                    ut = plan__total_stat(r, s, PT_UTIL), e = plan__total_stat(r, s, PT_ENERGY),
                    pk = plan__total_stat(r, s, PT_PEAK);
    char cm[16], c10[16], c90[16], em[16];
    plan__fmt_si(cm, sizeof cm, c.mean);
    plan__fmt_si(c10, sizeof c10, c.p10);
    plan__fmt_si(c90, sizeof c90, c.p90);
    plan__fmt_si(em, sizeof em, e.mean);
    fprintf(f,
            "total: cost %s %s (p10 %s, p90 %s), %.3f %s per useful device-hour, utilisation "
            "%.1f %%, energy %s MWh, peak %.1f MW",
            cm, r->currency, c10, c90, u.mean, r->currency, ut.mean * 100, em, pk.mean);
    if (has_targets(r)) fprintf(f, ", targets met in %.0f %% of runs", s->met_fraction * 100);
    fprintf(f, "\n");
}

int allot_plan_print(const allot_plan_result *r, FILE *f)
{
    if (!r || !f) return ALLOT_EINVAL;
    fprintf(f,
            "plan %s: %zu %ss from %s, %d runs per scenario, seed %llu (%s; devices are means "
            "over the period, wait and SLO means over runs)\n",
            r->plan, r->nperiods, r->step, r->period[0], r->runs, (unsigned long long)r->seed,
            r->currency);
    for (size_t i = 0; i < r->nscen; i++)
        if (r->scen[i].cell) print_scenario(f, r, &r->scen[i]);
    if (r->search.done) {
        const allot_plan_search_result *s = &r->search;
        char bc[16], ec[16];
        plan__fmt_si(bc, sizeof bc, s->baseline_cost);
        plan__fmt_si(ec, sizeof ec, s->expected_cost);
        fprintf(f, "\noptions search (targets from %s:", s->from);
        if (!isnan(s->p95_wait_h)) fprintf(f, " p95 wait <= %g h", s->p95_wait_h);
        if (!isnan(s->slo)) fprintf(f, " SLO >= %g %%", s->slo * 100);
        fprintf(f, " in >= %g %% of runs; %d sets simulated with %d runs each)\n",
                s->min_fraction * 100, s->evaluations, s->runs);
        fprintf(f, "  without candidates: expected cost %s %s, risk %.1f %%\n", bc, r->currency,
                s->baseline_risk * 100);
        if (!s->found) {
            fprintf(f,
                    "  no set of the candidates meets the targets; with none of them the "
                    "targets are missed in %.1f %% of runs\n",
                    s->risk * 100);
        } else if (s->chosen == 0) {
            fprintf(f, "  recommendation: nothing to add, the plan as given meets the targets\n");
        } else {
            fprintf(f, "  recommendation:\n");
            for (size_t i = 0; i < s->nchoices; i++)
                if (s->chosen >> i & 1) {
                    char sc[16];
                    plan__fmt_si(sc, sizeof sc, s->choices[i].static_cost);
                    fprintf(f, "    %-20s %s (%s %s within the horizon)\n", s->choices[i].name,
                            s->choices[i].what, sc, r->currency);
                }
        }
        if (s->found)
            fprintf(f, "  expected cost %s %s, risk %.1f %% (runs missing the targets, %d runs)\n",
                    ec, r->currency, s->risk * 100, r->runs);
        if (s->found && !s->confirmed)
            fprintf(f,
                    "  note: with all %d runs some scenario meets the targets in fewer than "
                    "%g %% of runs; the %d search runs were too few to tell (raise "
                    "search.runs)\n",
                    r->runs, s->min_fraction * 100, s->runs);
    }
    return ferror(f) ? ALLOT_EIO : 0;
}
