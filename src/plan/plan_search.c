/* plan_search.c - the options search: the cheapest set of candidate actions
 * that keeps the targets in at least min_fraction of the runs of every
 * searched scenario.
 *
 * Worked example: candidates A (lease, static cost 2 M), B (buy, 5 M) and C
 * (buy, 6 M). Sets are visited in order of their static cost - capex
 * depreciation within the horizon plus lease charges, which is what mostly
 * separates them - by a best-first enumeration of subsets: {A} 2, {B} 5,
 * {C} 6, {A,B} 7, {A,C} 8, {B,C} 11, {A,B,C} 13. Each visited set is
 * simulated (the same runs, the same random numbers as every other set:
 * common random numbers, so differences between sets are the actions', not
 * the dice's). Suppose {A} misses the targets and {B} meets them at an
 * expected total cost of 41 M with the baseline at 37 M: {C} and every
 * later set costs at least 37 + 6 = 43 M > 41 M by the bound "baseline
 * total + static cost", so the search stops and recommends {B}. Two more
 * prunings: a superset of a set that met the targets is never cheaper, and
 * a subset of a set that missed them misses them too (more capacity never
 * hurts, assumed). First the set of all candidates is simulated: if even it
 * misses, nothing is recommended and the report says so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

typedef struct hnode {
    double cost;
    uint64_t mask; /* bits in sorted order */
    int last;      /* highest sorted index in mask */
} hnode;

typedef struct hheap {
    hnode *v;
    size_t n, cap;
} hheap;

static int hless(const hnode *a, const hnode *b)
{
    if (a->cost != b->cost) return a->cost < b->cost;
    return a->mask < b->mask;
}

static int hpush(hheap *h, hnode e)
{
    if (h->n >= h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        hnode *v = realloc(h->v, cap * sizeof *v);
        if (!v) return ALLOT_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    for (; i > 0 && hless(&e, &h->v[(i - 1) / 2]); i = (i - 1) / 2) h->v[i] = h->v[(i - 1) / 2];
    h->v[i] = e;
    return 0;
}

static hnode hpop(hheap *h)
{
    hnode top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && hless(&h->v[l], &last)) m = l;
        if (l + 1 < h->n && hless(&h->v[l + 1], m == i ? &last : &h->v[l])) m = l + 1;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

/* Lease caps: the chosen lease candidates plus the contracts fit every offer
 * in every month. */
static int caps_ok(const allot_plan *p, uint64_t mask)
{
    for (int o = 0; o < p->noffers; o++) {
        if (p->offers[o].max_devices <= 0) continue;
        for (int m = 0; m < p->nmonths; m++) {
            double sum = 0;
            for (int i = 0; i < p->ncontracts; i++) {
                const plan_contract *c = &p->contracts[i];
                if (c->offer == o && m >= c->start && m < c->start + c->months) sum += c->devices;
            }
            for (int i = 0; i < p->ncands; i++) {
                if (!(mask >> i & 1) || p->cands[i].kind != 1) continue;
                const plan_contract *c = &p->cands[i].lease;
                if (c->offer == o && m >= c->start && m < c->start + c->months) sum += c->devices;
            }
            if (sum > p->offers[o].max_devices) return 0;
        }
    }
    return 1;
}

typedef struct outcome {
    double cost, risk;
    int feasible;
} outcome;

static int evaluate(const allot_plan *p, plan_eval *e, uint64_t mask, outcome *o, uint64_t *sims,
                    allot_diag *d)
{
    char stage[64];
    snprintf(stage, sizeof stage, "search, set %d", ++e->nevals);
    e->stage = stage;
    allot_plan_scenario_result *res = calloc((size_t)p->nscen, sizeof *res);
    if (!res) return ALLOT_ENOMEM;
    e->cand_mask = mask;
    int rc = plan__evaluate(e, res, sims, d);
    if (!rc) {
        double w = 0, cost = 0, miss = 0;
        o->feasible = 1;
        for (int i = 0; i < p->nscen; i++) {
            if (!(e->scen_mask >> i & 1)) continue;
            double c = 0;
            for (int r = 0; r < e->runs; r++) c += res[i].run_cost[r];
            c /= e->runs;
            w += p->scen[i].weight;
            cost += p->scen[i].weight * c;
            miss += p->scen[i].weight * (1.0 - res[i].met_fraction);
            if (res[i].met_fraction + 1e-12 < p->min_fraction) o->feasible = 0;
        }
        o->cost = w > 0 ? cost / w : 0;
        o->risk = w > 0 ? miss / w : 0;
    }
    for (int i = 0; i < p->nscen; i++) plan__scenario_free(&res[i]);
    free(res);
    e->stage = "search";
    return rc;
}

int plan__search(const allot_plan *p, const allot_plan_opts *o, int threads,
                 allot_plan_search_result *out, uint64_t *sims, allot_diag *d)
{
    memset(out, 0, sizeof *out);
    int n = p->ncands;
    if (n == 0) return 0;
    int full_runs = o->runs > 0 ? o->runs : p->runs;
    int runs = p->search_runs > 0 ? p->search_runs : (full_runs < 30 ? full_runs : 30);
    if (runs > full_runs) runs = full_runs;
    out->done = 1;
    out->runs = runs;
    out->nchoices = (size_t)n;
    out->p95_wait_h = p->target_wait_h;
    out->slo = p->target_slo;
    out->min_fraction = p->min_fraction;
    plan__period_label(p, p->target_from, out->from);
    double stat[ALLOT_PLAN_MAX_CANDIDATES];
    for (int i = 0; i < n; i++) {
        snprintf(out->choices[i].name, sizeof out->choices[i].name, "%s", p->cands[i].name);
        plan__candidate_describe(p, i, out->choices[i].what, sizeof out->choices[i].what);
        stat[i] = out->choices[i].static_cost = plan__candidate_static_cost(p, i);
    }
    /* sorted order of the candidates by static cost (stable) */
    int ord[ALLOT_PLAN_MAX_CANDIDATES];
    for (int i = 0; i < n; i++) ord[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && stat[ord[j]] < stat[ord[j - 1]]; j--) {
            int t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }

    plan_eval e = {p,           o->seed,         0,        runs, threads, p->search_scen,
                   o->progress, o->progress_arg, "search", 0,    1,       0};
    int max_evals = p->search_max_evals > 0 ? p->search_max_evals : 64;
    outcome base, all;
    int rc = evaluate(p, &e, 0, &base, sims, d);
    if (rc) return rc;
    out->evaluations = 1;
    out->baseline_cost = base.cost;
    out->baseline_risk = base.risk;
    uint64_t best = 0;
    double best_cost = INFINITY;
    int found = 0;
    if (base.feasible) {
        found = 1;
        best_cost = base.cost;
    } else {
        uint64_t full = n >= 64 ? ~0ull : (1ull << n) - 1;
        /* all candidates, or, when caps forbid that, skip the quick check */
        int check_all = caps_ok(p, full);
        if (check_all) {
            rc = evaluate(p, &e, full, &all, sims, d);
            if (rc) return rc;
            out->evaluations++;
        }
        if (!check_all || all.feasible) {
            if (check_all && all.feasible) {
                best = full;
                best_cost = all.cost;
                found = 1;
            }
            uint64_t feas[256], infeas[256];
            int nf = 0, ni = 0;
            if (found) feas[nf++] = full;
            hheap h = {0};
            rc = hpush(&h, (hnode){stat[ord[0]], 1, 0});
            while (!rc && h.n > 0 && out->evaluations < max_evals) {
                hnode cur = hpop(&h);
                if (cur.last + 1 < n) {
                    int j = cur.last, k = j + 1;
                    rc = hpush(&h, (hnode){cur.cost + stat[ord[k]], cur.mask | 1ull << k, k});
                    if (!rc)
                        rc = hpush(&h, (hnode){cur.cost - stat[ord[j]] + stat[ord[k]],
                                               (cur.mask & ~(1ull << j)) | 1ull << k, k});
                    if (rc) break;
                }
                if (found && base.cost + cur.cost >= best_cost) break; /* the bound */
                uint64_t mask = 0;
                for (int i = 0; i < n; i++)
                    if (cur.mask >> i & 1) mask |= 1ull << ord[i];
                if (!caps_ok(p, mask)) continue;
                int skip = 0;
                for (int i = 0; i < nf && !skip; i++) skip = (mask & feas[i]) == feas[i];
                for (int i = 0; i < ni && !skip; i++) skip = (mask & infeas[i]) == mask;
                if (skip) continue;
                outcome oc;
                rc = evaluate(p, &e, mask, &oc, sims, d);
                if (rc) break;
                out->evaluations++;
                if (oc.feasible) {
                    if (nf < 256) feas[nf++] = mask;
                    if (oc.cost < best_cost) {
                        best_cost = oc.cost;
                        best = mask;
                        found = 1;
                    }
                } else if (ni < 256) {
                    infeas[ni++] = mask;
                }
            }
            free(h.v);
            if (rc) return rc;
        }
    }
    out->found = found;
    out->chosen = found ? best : 0;
    /* the recommendation (or, with none, the plan as given) with the full runs */
    out->scen = calloc((size_t)p->nscen, sizeof *out->scen);
    if (!out->scen) return ALLOT_ENOMEM;
    plan_eval fe = e;
    fe.runs = full_runs;
    fe.stage = "recommendation, all runs";
    fe.cand_mask = out->chosen;
    rc = plan__evaluate(&fe, out->scen, sims, d);
    if (rc) return rc;
    double w = 0, cost = 0, miss = 0;
    for (int i = 0; i < p->nscen; i++) {
        if (!(fe.scen_mask >> i & 1)) continue;
        double c = 0;
        for (int r = 0; r < fe.runs; r++) c += out->scen[i].run_cost[r];
        w += p->scen[i].weight;
        cost += p->scen[i].weight * c / fe.runs;
        miss += p->scen[i].weight * (1.0 - out->scen[i].met_fraction);
    }
    out->expected_cost = w > 0 ? cost / w : 0;
    out->risk = w > 0 ? miss / w : 0;
    return 0;
}
