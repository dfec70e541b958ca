/* plan_report.c - the plan's HTML report: a summary a person can read in a
 * minute, then supply against demand, the utilisation fan (p10/p50/p90
 * across runs), queueing delay, SLO attainment, the cost breakdown, power
 * and energy, per-period tables and the recommendation. Self-contained (one
 * file, inline SVG, no scripts) and deterministic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/report.h"
#include "plan_out.h"

allot_plan_stat plan__stat_of(double *v, size_t n);

typedef double (*cell_fn)(const allot_plan_cell *c);

static double f_demand(const allot_plan_cell *c) { return c->train_demand + c->serve_demand; }
static double f_supply(const allot_plan_cell *c) { return c->supply_devices; }
static double f_util(const allot_plan_cell *c) { return c->utilisation * 100; }
static double f_wait95(const allot_plan_cell *c) { return c->wait_p95_h; }
static double f_slo(const allot_plan_cell *c) { return c->slo * 100; }
static double f_peak(const allot_plan_cell *c) { return c->peak_mw; }
static double f_mean_mw(const allot_plan_cell *c) { return c->mean_mw; }
static double f_energy(const allot_plan_cell *c) { return c->energy_mwh; }

/* p10, p50, p90 of fn over runs, per period. */
static int fan(const allot_plan_result *r, const allot_plan_scenario_result *s, cell_fn fn,
               double *lo, double *mid, double *hi, double *mean)
{
    double *v = malloc((size_t)r->runs * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    for (size_t k = 0; k < r->nperiods; k++) {
        for (int i = 0; i < r->runs; i++) v[i] = fn(&s->cell[(size_t)i * r->nperiods + k]);
        allot_plan_stat st = plan__stat_of(v, (size_t)r->runs);
        if (lo) lo[k] = st.p10;
        if (mid) mid[k] = st.p50;
        if (hi) hi[k] = st.p90;
        if (mean) mean[k] = st.mean;
    }
    free(v);
    return 0;
}

static size_t nscen_shown(const allot_plan_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nscen; i++) n += r->scen[i].cell != NULL;
    return n;
}

/* A fan chart of fn, one band per scenario (two per scenario with fn2). */
static int fan_chart(allot_report *rep, const allot_plan_result *r, const char *title,
                     const char *ylabel, cell_fn fn, const char *n1, cell_fn fn2, const char *n2,
                     double ymin)
{
    size_t np = r->nperiods, ns = 0;
    double *buf = calloc(np * 6 * r->nscen, sizeof *buf);
    allot_band_series se[16];
    char names[16][96];
    if (!buf) return ALLOT_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < r->nscen && ns + 2 <= 16 && !rc; i++) {
        const allot_plan_scenario_result *s = &r->scen[i];
        if (!s->cell) continue;
        for (int w = 0; w < (fn2 ? 2 : 1); w++) {
            double *lo = buf + (i * 6 + (size_t)w * 3) * np, *mid = lo + np, *hi = mid + np;
            rc = fan(r, s, w ? fn2 : fn, lo, mid, hi, NULL);
            const char *what = w ? n2 : n1;
            if (nscen_shown(r) > 1)
                snprintf(names[ns], sizeof names[ns], "%s: %s", s->name, what);
            else
                snprintf(names[ns], sizeof names[ns], "%s", what);
            se[ns] = (allot_band_series){names[ns], lo, mid, hi};
            ns++;
        }
    }
    const char *cats[ALLOT_PLAN_MAX_PERIODS];
    for (size_t k = 0; k < np; k++) cats[k] = r->period[k];
    allot_band_chart ch = {title, "period", ylabel, cats, np, se, ns, ymin, NAN};
    if (!rc) rc = allot_report_band_chart(rep, &ch);
    free(buf);
    return rc;
}

/* A floor for the SLO chart: below the lowest value by a fifth of its gap to
 * 100 % (at least half a point), so that 99.0 and 99.9 % look different. */
static double slo_floor(const allot_plan_result *r)
{
    double lo = 100;
    for (size_t i = 0; i < r->nscen; i++)
        if (r->scen[i].cell)
            for (size_t k = 0; k < r->nperiods * (size_t)r->runs; k++)
                if (!isnan(r->scen[i].cell[k].slo) && r->scen[i].cell[k].slo * 100 < lo)
                    lo = r->scen[i].cell[k].slo * 100;
    double gap = (100 - lo) * 0.2;
    double f = lo - (gap > 0.5 ? gap : 0.5);
    return f > 0 ? floor(f) : 0;
}

static int cost_chart(allot_report *rep, const allot_plan_result *r,
                      const allot_plan_scenario_result *s)
{
    size_t np = r->nperiods;
    double *v = calloc(np * 4, sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    const char *mn[4] = {"cost_depreciation", "cost_power", "cost_datacentre", "cost_leases"};
    for (int c = 0; c < 4; c++) {
        int m = allot_plan_metric_index(mn[c]);
        for (size_t k = 0; k < np; k++)
            v[(size_t)c * np + k] = allot_plan_cell_stat(r, s, k, m).mean;
    }
    const char *stacks[4] = {"capex depreciation", "power", "data centre", "leases"};
    const char *cats[ALLOT_PLAN_MAX_PERIODS];
    for (size_t k = 0; k < np; k++) cats[k] = r->period[k];
    char title[160], yl[64];
    snprintf(title, sizeof title, "Cost per period, mean over runs - %s", s->name);
    snprintf(yl, sizeof yl, "cost (%s)", r->currency);
    allot_bar_chart ch = {title, "period", yl, cats, np, stacks, 4, v};
    int rc = allot_report_bar_chart(rep, &ch);
    free(v);
    return rc;
}

static void fmt_money(char *b, size_t n, double v, const char *cur)
{
    char t[32];
    plan__fmt_si(t, sizeof t, v);
    snprintf(b, n, "%s %s", t, cur);
}

static int summary(allot_report *rep, const allot_plan_result *r)
{
    char p[2048];
    snprintf(p, sizeof p,
             "Plan %s over %zu %ss from %s to %s: %d Monte Carlo runs per scenario (seed %llu), "
             "each run a simulation of the fleet period by period with the configured "
             "scheduler. Money is in %s; devices are means over a period; bands in the charts "
             "span the 10th to the 90th percentile of the runs, lines are medians.",
             r->plan, r->nperiods, r->step, r->period[0], r->period[r->nperiods - 1], r->runs,
             (unsigned long long)r->seed, r->currency);
    int rc = allot_report_para(rep, p);
    for (size_t i = 0; i < r->nscen && !rc; i++) {
        const allot_plan_scenario_result *s = &r->scen[i];
        if (!s->cell) continue;
        allot_plan_stat c = plan__total_stat(r, s, PT_COST), u = plan__total_stat(r, s, PT_UTIL),
                        cpu = plan__total_stat(r, s, PT_CPU),
                        ww = plan__total_stat(r, s, PT_WORST_WAIT),
                        slo = plan__total_stat(r, s, PT_MIN_SLO),
                        pk = plan__total_stat(r, s, PT_PEAK),
                        en = plan__total_stat(r, s, PT_ENERGY),
                        st = plan__total_stat(r, s, PT_STRANDED);
        char cm[48], c10[48], c90[48], e[32], sd[32];
        fmt_money(cm, sizeof cm, c.mean, r->currency);
        fmt_money(c10, sizeof c10, c.p10, r->currency);
        fmt_money(c90, sizeof c90, c.p90, r->currency);
        plan__fmt_si(e, sizeof e, en.mean);
        plan__fmt_si(sd, sizeof sd, st.mean);
        char label[400];
        if (s->description[0])
            snprintf(label, sizeof label, "Scenario %s (%s)", s->name, s->description);
        else
            snprintf(label, sizeof label, "Scenario %s", s->name);
        size_t n = (size_t)snprintf(p, sizeof p,
                                    "%s: expected cost %s over the horizon (p10 %s, p90 %s), "
                                    "%.3g %s per useful device-hour, utilisation %.1f %%",
                                    label, cm, c10, c90, cpu.mean, r->currency, u.mean * 100);
        if (!isnan(ww.mean) && n < sizeof p)
            n += (size_t)snprintf(p + n, sizeof p - n,
                                  "; the worst period's p95 queueing delay is %.2f h on average "
                                  "(p90 of runs %.2f h)",
                                  ww.mean, ww.p90);
        if (!isnan(slo.mean) && n < sizeof p)
            n += (size_t)snprintf(p + n, sizeof p - n,
                                  "; the lowest period SLO attainment is %.2f %% on average",
                                  slo.mean * 100);
        if (n < sizeof p)
            n += (size_t)snprintf(p + n, sizeof p - n,
                                  "; peak facility power %.1f MW, energy %s MWh", pk.mean, e);
        if (st.mean > 0 && n < sizeof p)
            n += (size_t)snprintf(p + n, sizeof p - n, "; %s stranded device-hours (no power)", sd);
        if (r->has_targets && n < sizeof p)
            n += (size_t)snprintf(p + n, sizeof p - n, "; the targets hold in %.0f %% of runs",
                                  s->met_fraction * 100);
        if (n < sizeof p) snprintf(p + n, sizeof p - n, ".");
        rc = allot_report_para(rep, p);
    }
    if (!rc && r->search.done) {
        const allot_plan_search_result *s = &r->search;
        char ec[48], bc[48];
        fmt_money(ec, sizeof ec, s->expected_cost, r->currency);
        fmt_money(bc, sizeof bc, s->baseline_cost, r->currency);
        size_t n;
        if (!s->found) {
            n = (size_t)snprintf(p, sizeof p,
                                 "Recommendation: none of the %zu candidate sets tried meets the "
                                 "targets; without candidates the targets are missed in %.1f %% "
                                 "of runs (expected cost %s).",
                                 s->nchoices, s->baseline_risk * 100, bc);
        } else if (s->chosen == 0) {
            n = (size_t)snprintf(p, sizeof p,
                                 "Recommendation: add nothing - the plan as given meets the "
                                 "targets (expected cost %s, risk %.1f %%).",
                                 ec, s->risk * 100);
        } else {
            n = (size_t)snprintf(p, sizeof p, "Recommendation:");
            int first = 1;
            for (size_t i = 0; i < s->nchoices && n < sizeof p; i++)
                if (s->chosen >> i & 1) {
                    n += (size_t)snprintf(p + n, sizeof p - n, "%s %s (%s)", first ? "" : ";",
                                          s->choices[i].what, s->choices[i].name);
                    first = 0;
                }
            if (n < sizeof p)
                n += (size_t)snprintf(p + n, sizeof p - n,
                                      ". Expected cost %s against %s without the candidates; "
                                      "risk (runs missing the targets) %.1f %% against %.1f %%.",
                                      ec, bc, s->risk * 100, s->baseline_risk * 100);
            if (!s->confirmed && n < sizeof p)
                snprintf(p + n, sizeof p - n,
                         " With all %d runs some scenario meets the targets in fewer than %g %% "
                         "of runs: the %d search runs were too few to tell.",
                         r->runs, s->min_fraction * 100, s->runs);
        }
        (void)n;
        rc = allot_report_para(rep, p);
    }
    return rc;
}

static int period_table(allot_report *rep, const allot_plan_result *r,
                        const allot_plan_scenario_result *s, const char *caption)
{
    /* the columns a person reads; every metric is in periods.csv */
    enum { NC = 10 };
    static const struct {
        const char *metric, *head;
        char fmt; /* 'd' devices and other counts, 'p' a share, 'h' hours, 'm' money, 'w' MW */
    } col[NC - 1] = {
        {"supply_devices", "supply", 'd'},
        {"train_demand", "training", 'd'},
        {"serve_demand", "inference", 'd'},
        {"stranded_devices", "stranded", 'd'},
        {"utilisation", "util.", 'p'},
        {"wait_p95_h", "p95 wait h", 'h'},
        {"slo", "SLO", 'p'},
        {"cost_total", "cost", 'm'},
        {"cost_per_useful_dh", "cost/useful dh", 'c'},
    };
    const char *hdr[NC];
    hdr[0] = "period";
    for (int c = 0; c < NC - 1; c++) hdr[c + 1] = col[c].head;
    size_t np = r->nperiods;
    char *txt = calloc(np * NC, 32);
    const char **cells = calloc(np * NC, sizeof *cells);
    if (!txt || !cells) {
        free(txt);
        free(cells);
        return ALLOT_ENOMEM;
    }
    char(*lab)[24] = calloc(np, sizeof *lab);
    if (!lab) {
        free(txt);
        free(cells);
        return ALLOT_ENOMEM;
    }
    for (size_t k = 0; k < np; k++) {
        /* "2026-01" with a non-breaking hyphen (U+2011): a narrow column
         * must not break a period in two */
        const char *dash = strchr(r->period[k], '-');
        if (dash)
            snprintf(lab[k], sizeof lab[k], "%.*s\xE2\x80\x91%s", (int)(dash - r->period[k]),
                     r->period[k], dash + 1);
        else
            snprintf(lab[k], sizeof lab[k], "%s", r->period[k]);
        cells[k * NC] = lab[k];
        for (int c = 0; c < NC - 1; c++) {
            char *t = txt + (k * NC + (size_t)c + 1) * 32;
            double v = allot_plan_cell_stat(r, s, k, allot_plan_metric_index(col[c].metric)).mean;
            if (isnan(v))
                snprintf(t, 32, "-");
            else if (col[c].fmt == 'p')
                snprintf(t, 32, "%.2f%%", v * 100);
            else if (col[c].fmt == 'h')
                snprintf(t, 32, "%.2f", v);
            else if (col[c].fmt == 'm')
                snprintf(t, 32, "%.0f", v);
            else if (col[c].fmt == 'c')
                snprintf(t, 32, "%.2f", v);
            else if (col[c].fmt == 'w')
                snprintf(t, 32, "%.1f", v);
            else
                snprintf(t, 32, "%.0f", v);
            cells[k * NC + (size_t)c + 1] = t;
        }
    }
    int rc = allot_report_table(rep, caption, NC, hdr, cells, (int)np);
    free(lab);
    free(txt);
    free(cells);
    return rc;
}

static int search_section(allot_report *rep, const allot_plan_result *r)
{
    const allot_plan_search_result *s = &r->search;
    int rc = allot_report_heading(rep, "Options search");
    char p[1024];
    size_t n = (size_t)snprintf(p, sizeof p, "Targets from %s:", s->from);
    if (!isnan(s->p95_wait_h) && n < sizeof p)
        n += (size_t)snprintf(p + n, sizeof p - n, " p95 queueing delay at most %g h",
                              s->p95_wait_h);
    if (!isnan(s->slo) && n < sizeof p)
        n += (size_t)snprintf(p + n, sizeof p - n, "%s SLO attainment at least %g %%",
                              isnan(s->p95_wait_h) ? "" : " and", s->slo * 100);
    if (n < sizeof p)
        snprintf(p + n, sizeof p - n,
                 " in every period, in at least %g %% of the runs of every searched scenario. "
                 "Candidate sets were tried in order of their static cost (capex depreciation "
                 "within the horizon and lease charges), each simulated with the same %d runs "
                 "(common random numbers); %d sets were simulated. The chosen set was then run "
                 "with all %d runs.",
                 s->min_fraction * 100, s->runs, s->evaluations, r->runs);
    if (!rc) rc = allot_report_para(rep, p);
    char sc[ALLOT_PLAN_MAX_CANDIDATES][32];
    const char *cells[ALLOT_PLAN_MAX_CANDIDATES * 4];
    char costh[48];
    snprintf(costh, sizeof costh, "static cost (%s)", r->currency);
    const char *hdr[4] = {"candidate", "action", costh, "recommended"};
    for (size_t i = 0; i < s->nchoices; i++) {
        snprintf(sc[i], sizeof sc[i], "%.0f", s->choices[i].static_cost);
        cells[i * 4] = s->choices[i].name;
        cells[i * 4 + 1] = s->choices[i].what;
        cells[i * 4 + 2] = sc[i];
        cells[i * 4 + 3] = s->chosen >> i & 1 ? "yes" : "no";
    }
    if (!rc) rc = allot_report_table(rep, "Candidate actions", 4, hdr, cells, (int)s->nchoices);
    if (s->scen)
        for (size_t i = 0; i < r->nscen && !rc; i++) {
            if (!s->scen[i].cell) continue;
            char cap[160];
            snprintf(cap, sizeof cap,
                     "With the recommendation - %s (targets hold in %.0f %% of "
                     "runs)",
                     s->scen[i].name, s->scen[i].met_fraction * 100);
            rc = period_table(rep, r, &s->scen[i], cap);
        }
    return rc;
}

int allot_plan_write_report(const allot_plan_result *r, const char *path, allot_diag *d)
{
    char title[128];
    snprintf(title, sizeof title, "Capacity plan: %s", r->plan);
    allot_report *rep = allot_report_new(title);
    if (!rep) return ALLOT_ENOMEM;
    int rc = allot_report_heading(rep, "Summary");
    if (!rc) rc = summary(rep, r);
    int have_serve = 0, have_train = 0;
    for (size_t i = 0; i < r->nscen; i++)
        if (r->scen[i].cell)
            for (size_t k = 0; k < r->nperiods * (size_t)r->runs; k++) {
                have_serve |= !isnan(r->scen[i].cell[k].slo);
                have_train |= r->scen[i].cell[k].train_demand > 0;
            }
    if (!rc) rc = allot_report_heading(rep, "Supply and demand");
    if (!rc)
        rc = allot_report_para(rep, "Supply: usable devices (powered owned devices and usable "
                                    "leased ones). Demand: devices training would keep busy if "
                                    "served at once, plus the devices inference needs at its "
                                    "daily peak to meet its SLO.");
    if (!rc)
        rc = fan_chart(rep, r, "Supply and demand (devices, p10-p90 across runs)", "devices",
                       f_supply, "supply", f_demand, "demand", 0);
    if (!rc) rc = allot_report_heading(rep, "Utilisation");
    if (!rc)
        rc = fan_chart(rep, r, "Utilisation of usable devices (%, p10-p50-p90 across runs)",
                       "utilisation (%)", f_util, "utilisation", NULL, NULL, 0);
    if (!rc && have_train)
        rc = fan_chart(rep, r, "Training queueing delay, p95 of the jobs of each period (h)",
                       "p95 wait (h)", f_wait95, "p95 wait", NULL, NULL, 0);
    if (!rc && have_serve)
        rc = fan_chart(rep, r, "Inference SLO attainment (% of requests within SLO)",
                       "within SLO (%)", f_slo, "SLO attainment", NULL, NULL, slo_floor(r));
    if (!rc) rc = allot_report_heading(rep, "Cost");
    if (!rc)
        rc =
            allot_report_para(rep, "Capex is depreciated straight-line from each batch's delivery "
                                   "month; power is facility energy (IT power x PUE) at the data "
                                   "centre's electricity price, with idle devices drawing the idle "
                                   "fraction; the data-centre cost is charged per MW of facility "
                                   "capacity at full load; leases are billed per device-hour, "
                                   "through the minimum term even when the region is lost.");
    for (size_t i = 0; i < r->nscen && !rc; i++)
        if (r->scen[i].cell) rc = cost_chart(rep, r, &r->scen[i]);
    if (!rc) rc = allot_report_heading(rep, "Power and energy");
    if (!rc)
        rc = fan_chart(rep, r, "Facility power (MW): peak at full load and mean drawn", "MW",
                       f_peak, "peak (all powered devices busy)", f_mean_mw, "mean", 0);
    if (!rc)
        rc = fan_chart(rep, r, "Facility energy per period (MWh)", "MWh", f_energy, "energy", NULL,
                       NULL, 0);
    if (!rc) rc = allot_report_heading(rep, "Per period");
    if (!rc) {
        char p[512];
        snprintf(p, sizeof p,
                 "Means over the runs. Supply (usable devices), training (demand), inference "
                 "(devices needed at the daily peak) and stranded are devices, means over the "
                 "period; cost/useful dh is the cost per useful device-hour; money is in %s. "
                 "periods.csv has every metric with its p10, p50 and p90, runs.csv every run.",
                 r->currency);
        rc = allot_report_para(rep, p);
    }
    for (size_t i = 0; i < r->nscen && !rc; i++) {
        if (!r->scen[i].cell) continue;
        char cap[128];
        snprintf(cap, sizeof cap, "Scenario %s: means over %d runs", r->scen[i].name, r->runs);
        rc = period_table(rep, r, &r->scen[i], cap);
    }
    if (!rc && r->search.done) rc = search_section(rep, r);
    if (!rc) rc = allot_report_heading(rep, "Method");
    if (!rc)
        rc = allot_report_para(
            rep, "Each period's training is a representative window (a warm-up, then a measured "
                 "day or more) of job arrivals drawn from the plan's workload at the period's "
                 "demand, run through the allot scheduler core on the fleet the period has after "
                 "deliveries, shocks, power caps, leases and the devices inference takes; fleets "
                 "too large for the job cap are simulated as a slice (node groups and arrivals "
                 "divided alike). The window's busy share, waits and queue trend are extrapolated "
                 "to the period; the queue left at a period's end is carried into the next. "
                 "Inference is sized hour by hour over the daily demand curve with the serving "
                 "latency model. See docs/internals/planning.md.");
    if (!rc) rc = allot_report_write(rep, path);
    allot_report_free(rep);
    if (rc)
        return allot_diag_set(d, rc, path, 0, 0, "cannot write the report: %s", allot_strerror(rc));
    return 0;
}
