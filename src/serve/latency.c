/* latency.c - the serving latency model: Erlang C, the fraction of requests
 * within the SLO, and the replicas a rate needs (docs/internals/serving.md).
 *
 * Erlang C comes from the Erlang B recurrence
 *     B(0) = 1,  B(k) = a B(k-1) / (k + a B(k-1)),
 *     C(c, a) = B(c) / (1 - (a/c) (1 - B(c)))
 * which uses no factorials or powers, stays in [0, 1] at every step and is
 * stable for any c (100,000 and more) and any a < c. It costs O(c), so the
 * replica search below carries the recurrence forward between the replica
 * counts it probes instead of starting it again at k = 0.
 */
#include "allot/serve.h"
#include "serve_int.h"

#include <limits.h>
#include <math.h>

/* The recurrence's state: B(k) for the k reached so far. */
typedef struct erlang_b {
    long k;
    double b;
} erlang_b;

/* Advances st to B(c) for offered load a (c >= st->k). Once B underflows to
 * 0 it stays 0, so the loop stops there. */
static void erlang_b_advance(erlang_b *st, long c, double a)
{
    double b = st->b;
    long k = st->k;
    while (k < c && b > 0.0) {
        k++;
        double ab = a * b;
        b = ab / ((double)k + ab);
    }
    st->k = c;
    st->b = b;
}

/* Erlang C from B(c); the caller has checked 0 < a < c. */
static double erlang_c_from_b(double b, long c, double a)
{
    double den = 1.0 - (a / (double)c) * (1.0 - b);
    double r = b / den;
    if (!(r >= 0.0)) return 1.0; /* NaN: cannot happen for 0 < a < c */
    return r > 1.0 ? 1.0 : r;
}

double allot_erlang_c(int c, double a)
{
    if (isnan(a) || c < 1) return 1.0;
    if (a <= 0.0) return 0.0;
    if (a >= (double)c) return 1.0;
    erlang_b st = {0, 1.0};
    erlang_b_advance(&st, c, a);
    return erlang_c_from_b(st.b, c, a);
}

/* 1 - C exp(-(c/es - lambda)(slo - es)), clamped to [0, 1]; the caller has
 * checked es > 0, es <= slo and lambda * es < c. Shared by
 * allot_slo_fraction and the search so both give bit-identical values. */
static double fraction_from_c(double cw, long c, double lambda, double es, double slo_s)
{
    double rate = (double)c / es - lambda;
    double f = 1.0 - cw * exp(-rate * (slo_s - es));
    if (!(f >= 0.0)) return 0.0;
    return f > 1.0 ? 1.0 : f;
}

double allot__erlang_c_from_b(double b, long c, double a) { return erlang_c_from_b(b, c, a); }

double allot_slo_fraction(double lambda, int c, double es, double slo_s)
{
    double f;
    if (allot__slo_trivial(lambda, c, es, slo_s, &f)) return f;
    double a = lambda * es;
    return fraction_from_c(allot_erlang_c(c, a), c, lambda, es, slo_s);
}

/* The SLO fraction at r replicas, carrying the Erlang B recurrence in st
 * (st->k <= r * slots on entry, = r * slots on return). */
static double fraction_at(erlang_b *st, int r, int slots, double lambda, double es, double slo_s)
{
    long c = (long)r * slots;
    double f;
    if (allot__slo_trivial(lambda, c, es, slo_s, &f)) return f;
    double a = lambda * es;
    erlang_b_advance(st, c, a);
    return fraction_from_c(erlang_c_from_b(st->b, c, a), c, lambda, es, slo_s);
}

int allot_replicas_needed(double lambda, int slots, double es, double slo_s, double target, int max)
{
    if (max < 1) return max < 0 ? 0 : max + 1;
    int none = max == INT_MAX ? INT_MAX : max + 1;
    if (slots < 1 || isnan(target)) return none;
    if (target <= 0.0) return 1;
    if (max > INT_MAX / slots) max = INT_MAX / slots; /* c must fit an int */
    /* the first probe answers the trivial cases (no load, es > slo, NaNs) */
    double f1 = allot_slo_fraction(lambda, slots, es, slo_s);
    if (f1 >= target) return 1;
    if (max == 1 || es > slo_s || !(lambda > 0.0) || !(es > 0.0)) return none;

    /* Every r with r * slots <= a is overloaded (fraction 0 < target): start
     * the search above them, with the recurrence advanced to lo * slots. */
    double a = lambda * es;
    double lo_d = floor(a / slots);
    int lo = lo_d >= (double)max ? max : (int)lo_d;
    while (lo > 1 && !(a >= (double)((long)lo * slots))) lo--;
    if (lo < 1) lo = 1; /* r = 1 was probed above and failed */
    if (lo >= max) return none;
    erlang_b at_lo = {0, 1.0};
    erlang_b_advance(&at_lo, (long)lo * slots, a);

    /* gallop: lo fails; probe lo + 1, lo + 2, lo + 4, ... up to max */
    int hi = -1;
    for (long step = 1;; step *= 2) {
        int probe = (long)lo + step >= max ? max : (int)(lo + step);
        erlang_b st = at_lo;
        if (fraction_at(&st, probe, slots, lambda, es, slo_s) >= target) {
            hi = probe;
            break;
        }
        if (probe == max) return none;
        lo = probe;
        at_lo = st;
    }
    /* binary search in (lo, hi]: lo fails, hi meets the target */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        erlang_b st = at_lo;
        if (fraction_at(&st, mid, slots, lambda, es, slo_s) >= target) {
            hi = mid;
        } else {
            lo = mid;
            at_lo = st;
        }
    }
    return hi;
}
