/* lattable.c - the latency model, cached (serve.h, allot_latency_table;
 * docs/internals/serving.md, "Cached latency model").
 *
 * The SLO fraction at c = r x slots servers is
 *     f = 1 - C(c, a) exp(-z),   a = lambda E[S],   z = (c/E[S] - lambda)(slo - E[S])
 * Only C(c, a) costs anything (O(c) with the Erlang B recurrence), and it
 * depends on c and a alone: not on the SLO, the target or E[S]. So for each
 * replica count r the table keeps g(a) = ln C(r x slots, a) over the loads
 * where it matters, as piecewise Chebyshev interpolants in u = ln(a/c):
 *
 *  - below a_lo, C < e^-50 and the fraction is exactly 1.0 in double
 *    precision whatever z is (1 - x rounds to 1 for x < 2^-54);
 *  - between a_lo and c, np pieces of degree LT_DEG, the nodes computed with
 *    the same recurrence as allot_erlang_c (several loads in lockstep, which
 *    the compiler vectorises), checked against it at the LT_DEG + 2 extrema
 *    of each piece; np doubles until the largest error is below LT_TOL.
 *
 * Decisions (replicas_needed) are taken from the interpolant unless the
 * fraction is within LT_GUARD of the target, where the exact model decides:
 * the answers are those of allot_replicas_needed. Entries are built on first
 * use under one of the table's locks and published with release/acquire
 * atomics, so threads share a table without a lock on the read path.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

#define LT_DEG    9            /* Chebyshev degree per piece */
#define LT_N      (LT_DEG + 1) /* poly_eval is written for 10 */
#define LT_GMIN   (-50.0)      /* ln C below which the fraction is 1.0 */
#define LT_TOL    1e-12        /* largest |error| of ln C at the check points */
#define LT_GUARD  1e-9         /* decisions this close to the target: exact model */
#define LT_MAXNP  256          /* pieces; beyond, the entry uses the exact model */
#define LT_MAX_C  4194304      /* servers; beyond, the exact model */
#define LT_Z_ONE  40.0         /* z >= 40: exp(-z) < 2^-54, so f is 1.0 */
#define LT_NDELTA 30           /* candidates for the lower end of the domain */

typedef struct lt_entry {
    double a_lo;    /* C(c, a) <= e^-50 for a <= a_lo */
    double v_lo;    /* start of the domain: ln(a_lo / c), or a_lo */
    double inv_w;   /* pieces per unit of v */
    double c;       /* servers */
    int log_space;  /* v = ln(a / c) (small c, wide domains), else v = a */
    int np;         /* pieces; 0: use the exact model */
    double coef[1]; /* np x LT_N monomial coefficients in x in [-1, 1] (flexible) */
} lt_entry;

#define LT_LOCKS 16 /* entry r is built under lock r % LT_LOCKS */

struct allot_latency_table {
    int slots, max_r;
    int r_int;        /* INT_MAX / slots: the most replicas whose servers fit an int */
    double inv_slots; /* 1 / slots */
    pthread_mutex_t mu[LT_LOCKS];
    _Atomic(lt_entry *) *ent; /* [max_r + 1], NULL until built */
};

int allot_latency_table_new(allot_latency_table **out, int slots, int max_replicas)
{
    if (!out) return ALLOT_EINVAL;
    *out = NULL;
    if (slots < 1 || max_replicas < 1) return ALLOT_EINVAL;
    allot_latency_table *t = calloc(1, sizeof *t);
    if (!t) return ALLOT_ENOMEM;
    t->slots = slots;
    t->max_r = max_replicas;
    t->r_int = INT_MAX / slots;
    t->inv_slots = 1.0 / slots;
    t->ent = calloc((size_t)max_replicas + 1, sizeof *t->ent);
    int nmu = 0;
    while (t->ent && nmu < LT_LOCKS && pthread_mutex_init(&t->mu[nmu], NULL) == 0) nmu++;
    if (nmu < LT_LOCKS) {
        while (nmu > 0) pthread_mutex_destroy(&t->mu[--nmu]);
        free(t->ent);
        free(t);
        return ALLOT_ENOMEM;
    }
    for (int r = 0; r <= max_replicas; r++) atomic_init(&t->ent[r], NULL);
    *out = t;
    return 0;
}

void allot_latency_table_free(allot_latency_table *t)
{
    if (!t) return;
    for (int r = 0; r <= t->max_r; r++)
        free(atomic_load_explicit(&t->ent[r], memory_order_relaxed));
    free(t->ent);
    for (int k = 0; k < LT_LOCKS; k++) pthread_mutex_destroy(&t->mu[k]);
    free(t);
}

int allot_latency_table_slots(const allot_latency_table *t) { return t ? t->slots : 0; }

/* u = ln(a / c), accurate near a = c (where a - c is exact) and far below. */
static double u_of(double a, double c) { return a < 0.5 * c ? log(a / c) : log1p((a - c) / c); }

/* Two lanes of doubles (GCC and clang vector extensions: SSE2 divpd). */
typedef double v2d __attribute__((vector_size(16)));

#define LT_LANES 16 /* loads per block: 8 independent vectors of 2 */

/* ln C(c, a[j]) for m loads at once, by the Erlang B recurrence of
 * allot_erlang_c in blocks of LT_LANES independent chains that overlap
 * their divisions. The recurrence contracts relative errors by about k/a
 * a step while k < a, so it need not start at k = 0: from
 * k0 = a - 9 sqrt(a) - 16 (for the smallest a of the batch), with
 * B(k0) ~ 1 - k0/a, an error of any size has shrunk by exp(-40) by k = a,
 * and steps above a do not grow it. That costs c - k0 steps instead of c
 * (a sixth for c ~ 16,000); the values differ from allot_erlang_c's in the
 * last bits only. a and g have room for m rounded up to LT_LANES. */
static void lnc_batch(long c, double *a, double *g, size_t m)
{
    size_t mb = (m + LT_LANES - 1) / LT_LANES * LT_LANES;
    double amin = INFINITY;
    for (size_t j = 0; j < m; j++)
        if (a[j] > 0 && a[j] < amin) amin = a[j];
    double k0d = isfinite(amin) ? floor(amin - 9 * sqrt(amin) - 16) : 0;
    long k0 = k0d > 0 ? (long)k0d : 0;
    if (k0 > c) k0 = c;
    for (size_t j = m; j < mb; j++) a[j] = 0.0; /* padding: stays 0 */
    for (size_t j0 = 0; j0 < mb; j0 += LT_LANES) {
        v2d av[LT_LANES / 2], bv[LT_LANES / 2];
        for (int q = 0; q < LT_LANES / 2; q++) {
            double x0 = a[j0 + 2 * q], x1 = a[j0 + 2 * q + 1];
            av[q] = (v2d){x0, x1};
            bv[q] = (v2d){x0 > 0 ? fmax(1.0 - (double)k0 / x0, 1e-3) : 0.0,
                          x1 > 0 ? fmax(1.0 - (double)k0 / x1, 1e-3) : 0.0};
            if (k0 == 0) bv[q] = (v2d){1.0, 1.0};
        }
        for (long k = k0 + 1; k <= c; k++) {
            v2d kd = {(double)k, (double)k};
            for (int q = 0; q < LT_LANES / 2; q++) {
                v2d ab = av[q] * bv[q];
                bv[q] = ab / (kd + ab);
            }
            if ((k & 255) == 0) { /* all underflowed: they stay 0 */
                int any = 0;
                for (int q = 0; q < LT_LANES / 2; q++) any |= bv[q][0] > 0.0 || bv[q][1] > 0.0;
                if (!any) break;
            }
        }
        for (int q = 0; q < LT_LANES / 2; q++) {
            g[j0 + 2 * q] = bv[q][0];
            g[j0 + 2 * q + 1] = bv[q][1];
        }
    }
    for (size_t j = 0; j < m; j++) {
        double cc;
        if (!(a[j] > 0.0))
            cc = 0.0;
        else if (a[j] >= (double)c)
            cc = 1.0;
        else
            cc = allot__erlang_c_from_b(g[j], c, a[j]);
        g[j] = cc > 0.0 ? log(cc) : -INFINITY;
    }
}

/* sum_j d[j] x^j by Estrin's scheme (LT_N = 10 coefficients). */
static double poly_eval(const double *d, double x)
{
    double x2 = x * x, x4 = x2 * x2;
    double p01 = d[0] + d[1] * x, p23 = d[2] + d[3] * x, p45 = d[4] + d[5] * x;
    double p67 = d[6] + d[7] * x, p89 = d[8] + d[9] * x;
    double q0 = p01 + p23 * x2, q1 = p45 + p67 * x2;
    return q0 + (q1 + p89 * x4) * x4;
}

/* ln C(c, a) from the entry, for a_lo < a < c. */
static double entry_g(const lt_entry *e, double a)
{
    double v = e->log_space ? u_of(a, e->c) : a;
    double p = (v - e->v_lo) * e->inv_w;
    int k = (int)p;
    if (k < 0) k = 0;
    if (k >= e->np) k = e->np - 1;
    double x = 2 * (p - k) - 1;
    if (x < -1) x = -1;
    if (x > 1) x = 1;
    return poly_eval(e->coef + (size_t)k * LT_N, x);
}

/* Chebyshev interpolation at the LT_N Chebyshev nodes (values gn), turned
 * into monomial coefficients d of x. */
static void fit_piece(const double *gn, double *d)
{
    double cf[LT_N], tp[LT_N], tc[LT_N], tn[LT_N];
    for (int i = 0; i < LT_N; i++) {
        double s = 0;
        for (int j = 0; j < LT_N; j++) s += gn[j] * cos(M_PI * i * (j + 0.5) / LT_N);
        cf[i] = s * (i == 0 ? 1.0 : 2.0) / LT_N;
    }
    /* T_0 = 1, T_1 = x, T_{i+1} = 2x T_i - T_{i-1}, in monomials */
    for (int j = 0; j < LT_N; j++) d[j] = tp[j] = tc[j] = 0;
    tp[0] = 1;
    tc[1] = 1;
    d[0] = cf[0];
    for (int j = 0; j < LT_N; j++) d[j] += cf[1] * tc[j];
    for (int i = 2; i < LT_N; i++) {
        for (int j = 0; j < LT_N; j++) tn[j] = (j > 0 ? 2 * tc[j - 1] : 0) - tp[j];
        for (int j = 0; j < LT_N; j++) {
            d[j] += cf[i] * tn[j];
            tp[j] = tc[j];
            tc[j] = tn[j];
        }
    }
}

/* Check points: the ends of each piece and its middle, the extrema of T_10
 * where the error of interpolation at Chebyshev nodes peaks. A piece's
 * right end is the next one's left end (one exact value, two checks). */
#define LT_PER (LT_N + 2) /* per piece: the nodes, the left end, the middle */
/* Builds the entry for c servers; NULL when out of memory. */
static lt_entry *entry_build(long c)
{
    lt_entry *e = NULL;
    size_t cap = (size_t)LT_MAXNP * LT_PER + LT_NDELTA + 1 + 2 * LT_LANES;
    double *buf = malloc(3 * cap * sizeof *buf);
    if (!buf) return NULL;
    double *a = buf, *g = buf + cap, *vv = buf + 2 * cap;
    double cd = (double)c;

    /* the lower end: the first u = -delta where ln C <= LT_GMIN, on a
     * coarse grid (x 1.5), then a fine one (x 1.5^(1/8)) below it. For
     * large c, ln C ~ -h^2 / 2c at a = c - h: the grid starts at
     * h = 3 sqrt(c) (delta ~ 3 / sqrt(c)), so the recurrence can start
     * near c (lnc_batch) */
    double delta = cd >= 400 ? 3 / sqrt(cd) : 1e-3;
    int lo = -1;
    for (int pass = cd >= 400 ? 0 : 1; pass < 2 && lo < 0; pass++) {
        for (int i = 0; i < LT_NDELTA; i++, delta *= pass ? 1.5 : 1.05) {
            vv[i] = delta;
            a[i] = cd * exp(-delta);
        }
        lnc_batch(c, a, g, LT_NDELTA);
        for (int i = 0; i < LT_NDELTA && lo < 0; i++)
            if (g[i] <= LT_GMIN) lo = i;
        delta = 1e-3; /* not found (small c): the wide grid */
    }
    if (lo < 0) { /* cannot happen for c >= 1: use the exact model */
        free(buf);
        return calloc(1, sizeof *e);
    }
    double d_lo = vv[lo], a_lo = a[lo];
    if (lo > 0) {
        double d0 = vv[lo - 1], f = pow(vv[lo] / vv[lo - 1], 1.0 / 8);
        for (int i = 0; i < 7; i++) {
            d0 *= f;
            vv[i] = d0;
            a[i] = cd * exp(-d0);
        }
        lnc_batch(c, a, g, 7);
        for (int i = 0; i < 7; i++)
            if (g[i] <= LT_GMIN) {
                d_lo = vv[i];
                a_lo = a[i];
                break;
            }
    }
    int log_space = a_lo < 0.5 * cd;
    double v_lo = log_space ? -d_lo : a_lo, v_hi = log_space ? 0.0 : cd;

    for (int np = 16; np <= LT_MAXNP; np *= 2) {
        double w = (v_hi - v_lo) / np;
        size_t m = 0;
        for (int k = 0; k < np; k++) {
            double mid = v_lo + (k + 0.5) * w, half = 0.5 * w;
            for (int j = 0; j < LT_PER; j++) {
                double x = j < LT_N ? cos(M_PI * (j + 0.5) / LT_N) : j == LT_N ? -1.0 : 0.0;
                double v = mid + half * x;
                a[m++] = log_space ? cd * exp(v) : v;
            }
        }
        a[m++] = log_space ? cd : v_hi; /* the last right end */
        lnc_batch(c, a, g, m);
        free(e);
        e = malloc(sizeof *e + (size_t)np * LT_N * sizeof(double));
        if (!e) break;
        e->a_lo = a_lo;
        e->v_lo = v_lo;
        e->inv_w = 1.0 / w;
        e->c = cd;
        e->log_space = log_space;
        e->np = np;
        double err = 0;
        for (int k = 0; k < np && err <= LT_TOL; k++) {
            const double *gn = g + (size_t)k * LT_PER;
            double *d = e->coef + (size_t)k * LT_N;
            double right = k + 1 < np ? gn[LT_PER + LT_N] : g[m - 1];
            for (int j = 0; j < LT_PER; j++)
                if (!isfinite(gn[j])) err = INFINITY;
            if (!isfinite(right)) err = INFINITY;
            if (err > LT_TOL) break;
            fit_piece(gn, d);
            double dev[3] = {poly_eval(d, -1.0) - gn[LT_N], poly_eval(d, 0.0) - gn[LT_N + 1],
                             poly_eval(d, 1.0) - right};
            for (int j = 0; j < 3; j++)
                if (!(fabs(dev[j]) <= err)) err = fabs(dev[j]);
        }
        if (err <= LT_TOL) {
            free(buf);
            return e;
        }
    }
    free(buf);
    if (!e) return NULL;
    e->np = 0; /* never converged: the exact model answers for this count */
    return e;
}

/* The entry for r replicas, built on first use; NULL: use the exact model. */
static const lt_entry *entry_get(allot_latency_table *t, int r)
{
    if (r < 1 || r > t->max_r || (long)r * t->slots > LT_MAX_C) return NULL;
    lt_entry *e = atomic_load_explicit(&t->ent[r], memory_order_acquire);
    if (!e) {
        pthread_mutex_t *mu = &t->mu[r % LT_LOCKS];
        pthread_mutex_lock(mu);
        e = atomic_load_explicit(&t->ent[r], memory_order_relaxed);
        if (!e) {
            e = entry_build((long)r * t->slots);
            if (e) atomic_store_explicit(&t->ent[r], e, memory_order_release);
        }
        pthread_mutex_unlock(mu);
    }
    return e && e->np > 0 ? e : NULL;
}

static int c_of(const allot_latency_table *t, int r)
{
    return r > t->r_int ? INT_MAX : r * t->slots;
}

double allot_latency_slo_fraction(allot_latency_table *t, double lambda, int replicas, double es,
                                  double slo_s)
{
    if (!t) return 0.0;
    int c = replicas < 1 ? 0 : c_of(t, replicas);
    double f;
    if (allot__slo_trivial(lambda, c, es, slo_s, &f)) return f;
    double rate = (double)c / es - lambda;
    double z = rate * (slo_s - es);
    if (z >= LT_Z_ONE) return 1.0;
    const lt_entry *e = entry_get(t, replicas);
    if (!e) return allot_slo_fraction(lambda, c, es, slo_s);
    double a = lambda * es;
    if (a <= e->a_lo) return 1.0;
    f = 1.0 - exp(entry_g(e, a) - z);
    if (!(f >= 0.0)) return 0.0;
    return f > 1.0 ? 1.0 : f;
}

/* Whether the SLO fraction at r replicas reaches the target (the exact
 * model's answer); inv_es = 1 / es. z_pass: the z from which
 * 1 - exp(-z) >= target + guard,
 * so that the fraction passes whatever C is (C <= 1). */
static int meets(allot_latency_table *t, double lambda, int r, double es, double inv_es,
                 double slo_s, double target, double z_pass)
{
    int c = c_of(t, r);
    double f;
    if (allot__slo_trivial(lambda, c, es, slo_s, &f)) return f >= target;
    /* c / es - lambda, within an ulp: the screen and the interpolant have a
     * margin of 1e-9, and near it the exact model decides */
    double rate = (double)c * inv_es - lambda;
    double z = rate * (slo_s - es);
    if (z >= z_pass) return 1;
    const lt_entry *e = entry_get(t, r);
    if (e) {
        double a = lambda * es;
        double fa = a <= e->a_lo ? 1.0 : 1.0 - exp(entry_g(e, a) - z);
        if (fa >= target + LT_GUARD) return 1;
        if (fa <= target - LT_GUARD) return 0;
    }
    return allot_slo_fraction(lambda, c, es, slo_s) >= target;
}

/* The z from which 1 - exp(-z) >= target + 2 guard. */
static double z_pass_of(double target)
{
    return target + 2 * LT_GUARD < 1.0 ? -log1p(-(target + 2 * LT_GUARD)) : INFINITY;
}

void allot__ltq_init(allot__ltq *q, allot_latency_table *t, double slo_s, double target, int max)
{
    q->t = t;
    q->slo_s = slo_s;
    q->target = target;
    q->z_pass = z_pass_of(target);
    q->max = max;
}

/* allot_replicas_needed with the table: the same search (r = 1, then gallop
 * and bisect above the overloaded counts), each probe answered by meets(). */
static int replicas(allot_latency_table *t, double lambda, double es, double slo_s, double target,
                    double z_pass, int max)
{
    if (max < 1) return max < 0 ? 0 : max + 1;
    int none = max == INT_MAX ? INT_MAX : max + 1;
    if (!t || isnan(target)) return none;
    int slots = t->slots;
    if (target <= 0.0) return 1;
    if (max > t->r_int) max = t->r_int;
    double a = lambda * es, inv_es = 1 / es;
    /* r = 1 first, as the exact search; when one replica is overloaded
     * (a >= slots, with nothing trivial about the case) it fails */
    int r1_over = es > 0.0 && lambda > 0.0 && es <= slo_s && !isnan(slo_s) && a >= (double)slots;
    if (!r1_over && meets(t, lambda, 1, es, inv_es, slo_s, target, z_pass)) return 1;
    if (max == 1 || es > slo_s || !(lambda > 0.0) || !(es > 0.0)) return none;
    /* a hint (a > 0: truncation is floor): the loop below and the gallop
     * correct it */
    double lo_d = a * t->inv_slots;
    int lo = lo_d >= (double)max ? max : (int)lo_d;
    while (lo > 1 && !(a >= (double)((long)lo * slots))) lo--;
    if (lo < 1) lo = 1;
    if (lo >= max) return none;
    int hi = -1;
    for (long step = 1;; step *= 2) {
        int probe = (long)lo + step >= max ? max : (int)(lo + step);
        if (meets(t, lambda, probe, es, inv_es, slo_s, target, z_pass)) {
            hi = probe;
            break;
        }
        if (probe == max) return none;
        lo = probe;
    }
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (meets(t, lambda, mid, es, inv_es, slo_s, target, z_pass))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

int allot_latency_replicas_needed(allot_latency_table *t, double lambda, double es, double slo_s,
                                  double target, int max)
{
    return replicas(t, lambda, es, slo_s, target, z_pass_of(target), max);
}

int allot__ltq_replicas(const allot__ltq *q, double lambda, double es)
{
    return replicas(q->t, lambda, es, q->slo_s, q->target, q->z_pass, q->max);
}
