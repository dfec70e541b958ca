/* plan_search.c - the options search: the cheapest set of candidate actions
 * that keeps the targets in at least min_fraction of the runs of every
 * searched scenario.
 *
 * Every set is simulated with the same runs and the same random numbers as
 * every other set (common random numbers), so differences between sets are
 * the actions', not the dice's. A set "meets" when every searched scenario
 * has at least min_fraction of its runs within the targets in every checked
 * period; its cost is the weighted mean over scenarios of the mean run cost;
 * its risk the weighted share of runs missing the targets.
 *
 * Worked example: candidates A (lease, static cost 2 M), B (buy, 5 M), C
 * (buy, 6 M); the static cost is capex depreciation within the horizon plus
 * lease charges. The baseline (no candidate) misses the targets in 60 % of
 * runs, at 37 M.
 *  1. Greedy: simulate {A}, {B}, {C}; none meets; {A} cuts the risk to 40 %
 *     (10 points per M), {B} to 10 % (10 per M), {C} to 5 % (9.2 per M):
 *     ties go to the lower risk, so B is taken. Then {B,A} and {B,C}: {B,C}
 *     meets at 48 M, {B,A} at 44 M: the cheapest that meets, {A,B}, is
 *     kept. Dropping actions: {B} alone does not meet, {A} alone does not;
 *     the greedy answer is {A,B} at 44 M.
 *  2. Cheaper sets the greedy path missed: subsets in order of static cost
 *     ({A} 2, {B} 5, {C} 6, {A,B} 7, ...) while baseline + static cost <
 *     44 M (37 + 7 = 44 stops at {A,B}); sets already simulated, supersets
 *     of a set that met the targets (never cheaper) and subsets of one that
 *     missed them (more capacity is assumed never to hurt) are skipped.
 * The recommendation is then simulated with all runs. If the greedy path
 * stalls (nothing lowers the risk) the set of all candidates is tried; if
 * even it misses, nothing is recommended and the report says so. At most
 * max_evaluations sets are simulated.
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

/* Every set simulated, so that none is simulated twice. */
#define MEMO_MAX 512

typedef struct memo {
    const allot_plan *p;
    plan_eval *e;
    uint64_t *sims;
    allot_diag *d;
    uint64_t mask[MEMO_MAX];
    outcome out[MEMO_MAX];
    int n, max;
} memo;

static int memo_eval(memo *m, uint64_t mask, outcome *o)
{
    for (int i = 0; i < m->n; i++)
        if (m->mask[i] == mask) {
            *o = m->out[i];
            return 0;
        }
    int rc = evaluate(m->p, m->e, mask, o, m->sims, m->d);
    if (rc) return rc;
    if (m->n < MEMO_MAX) {
        m->mask[m->n] = mask;
        m->out[m->n++] = *o;
    }
    return 0;
}

/* A set need not be simulated: it holds a set that met the targets (it
 * costs more), or is held by one that missed them (more capacity is
 * assumed never to hurt). */
static int memo_pruned(const memo *m, uint64_t mask)
{
    for (int i = 0; i < m->n; i++) {
        if (m->mask[i] == mask) return 1;
        if (m->out[i].feasible && (mask & m->mask[i]) == m->mask[i]) return 1;
        if (!m->out[i].feasible && (mask & m->mask[i]) == mask) return 1;
    }
    return 0;
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
    memo m = {0};
    m.p = p;
    m.e = &e;
    m.sims = sims;
    m.d = d;
    m.max = p->search_max_evals > 0 ? p->search_max_evals : 64;
    outcome base;
    int rc = memo_eval(&m, 0, &base);
    if (rc) return rc;
    out->baseline_cost = base.cost;
    out->baseline_risk = base.risk;
    uint64_t best = 0;
    double best_cost = INFINITY;
    int found = base.feasible;
    if (found) best_cost = base.cost;
    uint64_t full = n >= 64 ? ~0ull : (1ull << n) - 1;
    /* 1. greedy: add the candidate that lowers the risk most per unit of
     * static cost, until the targets hold; then drop what is not needed */
    uint64_t cur = 0;
    outcome co = base;
    while (!found && !rc && m.n < m.max) {
        int pick = -1, feas = -1;
        double score = -INFINITY, feas_cost = INFINITY, pick_risk = co.risk;
        for (int i = 0; i < n && !rc && m.n < m.max; i++) {
            uint64_t t = cur | 1ull << i;
            if (t == cur || !caps_ok(p, t)) continue;
            outcome oc;
            if ((rc = memo_eval(&m, t, &oc))) break;
            if (oc.feasible && oc.cost < feas_cost) feas = i, feas_cost = oc.cost;
            double gain = co.risk - oc.risk;
            double sc = stat[i] > 0 ? gain / stat[i] : (gain > 0 ? INFINITY : gain);
            if (gain > 1e-12 && (sc > score || (sc == score && oc.risk < pick_risk)))
                pick = i, score = sc, pick_risk = oc.risk;
        }
        if (rc) break;
        if (feas >= 0) {
            cur |= 1ull << feas;
            memo_eval(&m, cur, &co);
            found = 1;
        } else if (pick >= 0) {
            cur |= 1ull << pick;
            memo_eval(&m, cur, &co);
        } else {
            break; /* nothing lowers the risk further */
        }
    }
    if (!rc && !found && m.n < m.max && cur != full && caps_ok(p, full)) {
        /* greedy stalled: the whole set, as a last resort */
        if ((rc = memo_eval(&m, full, &co))) return rc;
        if (co.feasible) cur = full, found = 1;
    }
    if (!rc && found && cur) {
        /* drop the dearest actions the targets do not need */
        for (int pass = 0; pass < n && !rc; pass++) {
            int drop = -1;
            for (int i = 0; i < n && !rc; i++) {
                if (!(cur >> i & 1) || m.n >= m.max) continue;
                outcome oc;
                if ((rc = memo_eval(&m, cur & ~(1ull << i), &oc))) break;
                if (oc.feasible && (drop < 0 || stat[i] > stat[drop])) drop = i;
            }
            if (drop < 0) break;
            cur &= ~(1ull << drop);
        }
        memo_eval(&m, cur, &co);
        best = cur;
        best_cost = co.cost;
    }
    if (rc) return rc;
    /* 2. cheaper sets the greedy path missed: best-first by static cost,
     * bounded by the best found (baseline total + static cost must stay
     * below it); supersets of a set that met the targets and subsets of one
     * that missed them are skipped */
    if (found && n > 0) {
        hheap h = {0};
        rc = hpush(&h, (hnode){stat[ord[0]], 1, 0});
        while (!rc && h.n > 0 && m.n < m.max) {
            hnode c = hpop(&h);
            if (c.last + 1 < n) {
                int a = c.last, b = c.last + 1;
                rc = hpush(&h, (hnode){c.cost + stat[ord[b]], c.mask | 1ull << b, b});
                if (!rc)
                    rc = hpush(&h, (hnode){c.cost - stat[ord[a]] + stat[ord[b]],
                                           (c.mask & ~(1ull << a)) | 1ull << b, b});
                if (rc) break;
            }
            if (base.cost + c.cost >= best_cost) break; /* the bound */
            uint64_t mask = 0;
            for (int i = 0; i < n; i++)
                if (c.mask >> i & 1) mask |= 1ull << ord[i];
            if (!caps_ok(p, mask) || memo_pruned(&m, mask)) continue;
            outcome oc;
            if ((rc = memo_eval(&m, mask, &oc))) break;
            if (oc.feasible && oc.cost < best_cost) best_cost = oc.cost, best = mask;
        }
        free(h.v);
        if (rc) return rc;
    }
    out->evaluations = m.n;
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
    int confirmed = 1;
    for (int i = 0; i < p->nscen; i++) {
        if (!(fe.scen_mask >> i & 1)) continue;
        double c = 0;
        for (int r = 0; r < fe.runs; r++) c += out->scen[i].run_cost[r];
        w += p->scen[i].weight;
        cost += p->scen[i].weight * c / fe.runs;
        miss += p->scen[i].weight * (1.0 - out->scen[i].met_fraction);
        if (out->scen[i].met_fraction + 1e-12 < p->min_fraction) confirmed = 0;
    }
    out->confirmed = found && confirmed;
    out->expected_cost = w > 0 ? cost / w : 0;
    out->risk = w > 0 ? miss / w : 0;
    return 0;
}
