/* src/report/svg.c - line charts as inline SVG, drawn in C.
 *
 * Worked example: two series of 100 000 points each at 960x400 px. The y
 * range comes from the data and is widened to nice ticks (0, 0.2 ... 1); the
 * x range is the data's, widened to a tick only when that costs <= 8 % of
 * the axis. Each series is thinned to <= 400 path points (min and max y per
 * index bucket, so spikes survive) and gets <= 60 invisible hover markers
 * carrying a <title> tooltip. NaN/Inf in x or y lifts the pen (gap). Output
 * is deterministic: same chart, same bytes.
 *
 * Layout, top to bottom: title, legend (wraps), plot, x tick labels, x label;
 * the y label runs vertically at the left. Text widths are estimated (0.6 em
 * per code point) because C has no font metrics; the margins leave slack.
 *
 * Coordinates are written with one decimal by integer arithmetic, so the SVG
 * does not depend on LC_NUMERIC. Tick labels use snprintf("%f") and assume
 * the C numeric locale, which the library never changes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

/* Okabe-Ito, yellow left out (too faint on white). Beyond 7 series the
 * colours repeat with a dash pattern, so all 64 series stay distinct in
 * colour, in grey print and for colour-blind readers. */
static const char *const k_colors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000"};
#define NCOLORS (sizeof k_colors / sizeof k_colors[0])
static const char *const k_dashes[] = {"",     "7 4", "2 3",         "9 3 2 3", "4 2",
                                       "12 4", "1 4", "9 3 2 3 2 3", "5 5",     "14 3 3 3"};
#define NDASHES (sizeof k_dashes / sizeof k_dashes[0])

#define FONT_STACK                                                                                 \
    "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"                            \
    "'Noto Sans','Liberation Sans',sans-serif"

#define C_TEXT   "#1f2328"
#define C_MUTED  "#57606a"
#define C_GRID   "#e4e7eb"
#define C_GRID_X "#eef0f2"
#define C_AXIS   "#8c959f"
#define C_ZERO   "#afb8c1"

#define FS_TITLE  15.0
#define FS_LABEL  12.5
#define FS_TICK   11.5
#define FS_LEGEND 12.0
#define PAD       12.0

/* ---- chart maths ---------------------------------------------------------- */

double allot__nice_step(double lo, double hi, int target)
{
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo)) return 0;
    if (target < 1) target = 1;
    double raw = hi / target - lo / target;
    if (!(raw > 0) || !isfinite(raw)) return 0;
    double mag = pow(10.0, floor(log10(raw)));
    double norm = raw / mag;
    double m;
    if (norm < 1.5)
        m = 1;
    else if (norm < 3)
        m = 2;
    else if (norm < 7)
        m = 5;
    else
        m = 10;
    return m * mag;
}

/* Multiples of step in [lo, hi] (tolerance 1e-9 of the span). */
static size_t ticks_with_step(double lo, double hi, double step, double *out, size_t cap)
{
    if (!(step > 0) || !isfinite(step) || !(hi > lo)) return 0;
    double eps = (hi - lo) * 1e-9;
    double k0 = ceil((lo - eps) / step);
    double k1 = floor((hi + eps) / step);
    if (!isfinite(k0) || !isfinite(k1) || k1 < k0) return 0;
    /* Precision exhausted (tiny span at huge magnitude): k0*step cannot
     * resolve the ticks; give the ends instead. */
    if (k1 - k0 > 1000 || lo + step == lo) {
        size_t n = 0;
        if (n < cap) out[n++] = lo;
        if (n < cap) out[n++] = hi;
        return n;
    }
    size_t n = 0;
    for (double k = k0; k <= k1 && n < cap; k += 1) {
        double v = k * step;
        if (fabs(v) < step * 1e-9) v = 0; /* no -0, no 1e-17 */
        out[n++] = v;
    }
    return n;
}

size_t allot__ticks(double lo, double hi, int target, double *out, size_t cap, double *step_out)
{
    double step = allot__nice_step(lo, hi, target);
    if (step_out) *step_out = step;
    if (!out || cap == 0) return 0;
    return ticks_with_step(lo, hi, step, out, cap);
}

void allot__fmt_tick(char *buf, size_t len, double v, double step, double absmax)
{
    if (!buf || len == 0) return;
    if (!isfinite(v)) {
        snprintf(buf, len, "%g", v);
        return;
    }
    static const struct {
        double scale;
        const char *suffix;
    } si[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    double scale = 1;
    const char *suffix = "";
    if (absmax >= 1e4) {
        for (size_t i = 0; i < sizeof si / sizeof si[0]; i++) {
            if (absmax >= si[i].scale || i + 1 == sizeof si / sizeof si[0]) {
                scale = si[i].scale;
                suffix = si[i].suffix;
                break;
            }
        }
    }
    double sv = v / scale, ss = step / scale;
    if (!(ss > 0) || !isfinite(ss)) {
        snprintf(buf, len, "%.4g%s", sv, suffix);
        return;
    }
    int dec = 0;
    if (ss < 1) dec = (int)ceil(-log10(ss) - 1e-9);
    if (dec > 9 || fabs(sv) >= 1e15) {
        snprintf(buf, len, "%.3g%s", sv, suffix);
        return;
    }
    if (fabs(sv) * pow(10.0, dec) < 0.5) { /* zero: "0", never "-0.0M" */
        snprintf(buf, len, "0");
        return;
    }
    snprintf(buf, len, "%.*f%s", dec, sv, suffix);
}

static int valid_pt(const double *x, const double *y, size_t i)
{
    return isfinite(x[i]) && isfinite(y[i]);
}

size_t allot__thin(const double *x, const double *y, size_t n, size_t maxpts, size_t *out,
                   size_t cap)
{
    size_t k = 0;
    int gap = 0; /* a gap is pending before the next point */
    if (!x || !y || !out) return 0;
#define EMIT(idx)                                                                                  \
    do {                                                                                           \
        if (gap && k > 0 && k < cap) out[k++] = ALLOT__GAP;                                        \
        gap = 0;                                                                                   \
        if (k < cap) out[k++] = (idx);                                                             \
    } while (0)

    if (n <= maxpts) {
        for (size_t i = 0; i < n; i++) {
            if (valid_pt(x, y, i))
                EMIT(i);
            else
                gap = 1;
        }
        return k;
    }
    size_t nb = maxpts / 2;
    if (nb < 1) nb = 1;
    size_t first = ALLOT__GAP, last = ALLOT__GAP;
    for (size_t i = 0; i < n; i++)
        if (valid_pt(x, y, i)) {
            first = i;
            break;
        }
    for (size_t i = n; i-- > 0;)
        if (valid_pt(x, y, i)) {
            last = i;
            break;
        }
    if (first == ALLOT__GAP) return 0;

    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * n / nb, hi = (b + 1) * n / nb;
        size_t imin = ALLOT__GAP, imax = ALLOT__GAP;
        size_t g0 = ALLOT__GAP, g1 = ALLOT__GAP;
        for (size_t i = lo; i < hi; i++) {
            if (valid_pt(x, y, i)) {
                if (imin == ALLOT__GAP || y[i] < y[imin]) imin = i;
                if (imax == ALLOT__GAP || y[i] > y[imax]) imax = i;
            } else {
                if (g0 == ALLOT__GAP) g0 = i;
                g1 = i;
            }
        }
        /* candidates: (index, is_gap), sorted by index */
        size_t ci[6];
        int cg[6];
        int nc = 0;
#define CAND(idx, isgap)                                                                           \
    do {                                                                                           \
        if ((idx) != ALLOT__GAP) {                                                                 \
            ci[nc] = (idx);                                                                        \
            cg[nc] = (isgap);                                                                      \
            nc++;                                                                                  \
        }                                                                                          \
    } while (0)
        if (first >= lo && first < hi) CAND(first, 0);
        CAND(imin, 0);
        CAND(imax, 0);
        if (last >= lo && last < hi) CAND(last, 0);
        CAND(g0, 1);
        if (g1 != g0) CAND(g1, 1);
#undef CAND
        for (int i = 1; i < nc; i++) { /* insertion sort, nc <= 6 */
            size_t vi = ci[i];
            int vg = cg[i];
            int j = i - 1;
            while (j >= 0 && ci[j] > vi) {
                ci[j + 1] = ci[j];
                cg[j + 1] = cg[j];
                j--;
            }
            ci[j + 1] = vi;
            cg[j + 1] = vg;
        }
        for (int i = 0; i < nc; i++) {
            if (i > 0 && ci[i] == ci[i - 1]) continue;
            if (cg[i])
                gap = 1;
            else
                EMIT(ci[i]);
        }
    }
#undef EMIT
    return k;
}

/* ---- output helpers ---------------------------------------------------------- */

/* One decimal, locale-independent, clamped so absurd data stays parseable. */
static void put_num(allot__buf *b, double v)
{
    if (!isfinite(v)) v = 0;
    if (v > 1e6) v = 1e6;
    if (v < -1e6) v = -1e6;
    long t = lround(v * 10);
    char tmp[32];
    int neg = t < 0;
    unsigned long a = neg ? (unsigned long)(-t) : (unsigned long)t;
    if (a % 10)
        snprintf(tmp, sizeof tmp, "%s%lu.%lu", neg ? "-" : "", a / 10, a % 10);
    else
        snprintf(tmp, sizeof tmp, "%s%lu", neg ? "-" : "", a / 10);
    allot__buf_puts(b, tmp);
}

/* Advance widths of ASCII 32..126 in Helvetica/Arial (1/1000 em). Used to
 * estimate text extents; real fonts (DejaVu Sans, Segoe UI, SF) run up to
 * ~10 % wider, hence the 1.08 below. */
static const unsigned short k_adv[95] = {
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333,  278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,  611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278,  556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,  500, 334, 260, 334, 584};

/* Width in 1/1000 em of the code point starting at *pp; advances *pp. */
static unsigned adv_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    unsigned c = *p;
    if (c < 0x80) {
        *pp = p + 1;
        return c >= 32 && c < 127 ? k_adv[c - 32] : 600;
    }
    /* skip continuation bytes; wide for CJK and emoji planes */
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < k; i++)
        if ((p[i] & 0xC0) != 0x80) {
            k = i;
            break;
        }
    *pp = p + k;
    if (k == 4) return 1000;
    if (k == 3 && (c > 0xE2 || (c == 0xE2 && p[1] >= 0xBA))) return 1000;
    return 600;
}

static double text_w(const char *s, double fs)
{
    if (!s) return 0;
    double w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) w += adv_next(&p);
    return w * fs * 1.08 / 1000.0;
}

/* Code points of s that fit in maxw px with an ellipsis, or SIZE_MAX when
 * all of s fits. */
static size_t fit_chars(const char *s, double fs, double maxw)
{
    if (!s || text_w(s, fs) <= maxw) return SIZE_MAX;
    double budget = maxw * 1000.0 / (fs * 1.08) - 1000; /* ellipsis */
    double w = 0;
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        w += adv_next(&p);
        if (w > budget) break;
        n++;
    }
    return n + 1; /* allot__buf_esc_trunc counts the ellipsis */
}

/* Escapes s, cut with an ellipsis to fit maxw px. */
static void put_fit(allot__buf *b, const char *s, double fs, double maxw)
{
    size_t n = fit_chars(s, fs, maxw);
    if (n == SIZE_MAX)
        allot__buf_esc(b, s);
    else
        allot__buf_esc_trunc(b, s, n < 2 ? 2 : n);
}

/* ---- chart ------------------------------------------------------------------ */

typedef struct map {
    double x0, x1, y0, y1; /* data range */
    double left, right;    /* px */
    double top, bottom;    /* px; bottom > top */
} map;

static double mx(const map *m, double x)
{
    return m->left + (x - m->x0) / (m->x1 - m->x0) * (m->right - m->left);
}
static double my(const map *m, double y)
{
    return m->bottom - (y - m->y0) / (m->y1 - m->y0) * (m->bottom - m->top);
}

/* Range of valid points on one axis; for y, only points whose x lies in
 * [xlo, xhi] count (pass -INFINITY/INFINITY for all). */
static int data_range(const allot_chart *ch, int want_y, double xlo, double xhi, double *lo,
                      double *hi)
{
    int any = 0;
    double l = 0, h = 0;
    for (size_t s = 0; s < ch->nseries; s++) {
        const allot_series *se = &ch->series[s];
        for (size_t i = 0; i < se->n; i++) {
            if (!valid_pt(se->x, se->y, i)) continue;
            if (want_y && (se->x[i] < xlo || se->x[i] > xhi)) continue;
            double v = want_y ? se->y[i] : se->x[i];
            if (!any) {
                l = h = v;
                any = 1;
            } else {
                if (v < l) l = v;
                if (v > h) h = v;
            }
        }
    }
    *lo = l;
    *hi = h;
    return any;
}

/* Final [lo, hi] from explicit bounds (NaN = free) and the data. */
static void resolve(double elo, double ehi, int have, double dlo, double dhi, double *lo,
                    double *hi)
{
    int flo = isnan(elo), fhi = isnan(ehi);
    double l = flo ? (have ? dlo : 0) : elo;
    double h = fhi ? (have ? dhi : 1) : ehi;
    if (!(h > l)) {
        double base = flo ? h : l;
        double d = base == 0 ? 1 : fabs(base) * 0.1;
        if (flo && fhi) {
            if (l == 0) /* all zero: show [0, 1] rather than [-1, 1] */
                h = 1;
            else {
                l -= d;
                h += d;
            }
        } else if (flo) {
            l = h - d;
        } else {
            h = l + d;
        }
    }
    if (!isfinite(l) || !isfinite(h) || !isfinite(h - l) || !(h > l)) {
        /* absurd magnitudes: keep the chart drawable */
        l = isfinite(l) ? l : -1e300;
        h = isfinite(h) ? h : 1e300;
        if (!isfinite(h - l)) {
            l /= 2;
            h /= 2;
        }
        if (!(h > l)) {
            l = 0;
            h = 1;
        }
    }
    *lo = l;
    *hi = h;
}

/* Widens free ends of [*lo, *hi] to multiples of step; when max_frac < 1 a
 * free end moves only if that costs at most max_frac of the span. */
static void widen(double *lo, double *hi, int flo, int fhi, double step, double max_frac)
{
    if (!(step > 0)) return;
    double span = *hi - *lo;
    if (flo) {
        double c = floor(*lo / step) * step;
        if (isfinite(c) && (max_frac >= 1 || *lo - c <= max_frac * span)) *lo = c;
    }
    if (fhi) {
        double c = ceil(*hi / step) * step;
        if (isfinite(c) && (max_frac >= 1 || c - *hi <= max_frac * span)) *hi = c;
    }
}

static double abs_max(const double *t, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(t[i]) > m) m = fabs(t[i]);
    return m;
}

static int validate(const allot_chart *ch, int width, int height)
{
    if (!ch) return ALLOT_EINVAL;
    if (width < ALLOT__CHART_MIN_W || height < ALLOT__CHART_MIN_H || width > ALLOT__CHART_MAX_WH ||
        height > ALLOT__CHART_MAX_WH)
        return ALLOT_ERANGE;
    if (ch->nseries > ALLOT__CHART_MAX_SERIES) return ALLOT_ELIMIT;
    if (ch->nseries > 0 && !ch->series) return ALLOT_EINVAL;
    size_t total = 0;
    for (size_t s = 0; s < ch->nseries; s++) {
        const allot_series *se = &ch->series[s];
        if (se->n > ALLOT__CHART_MAX_POINTS || total + se->n > ALLOT__CHART_MAX_POINTS)
            return ALLOT_ELIMIT;
        total += se->n;
        if (se->n > 0 && (!se->x || !se->y)) return ALLOT_EINVAL;
    }
    const double lim[4] = {ch->xmin, ch->xmax, ch->ymin, ch->ymax};
    for (int i = 0; i < 4; i++)
        if (!isnan(lim[i]) && !isfinite(lim[i])) return ALLOT_EINVAL;
    if (!isnan(ch->xmin) && !isnan(ch->xmax) && !(ch->xmax > ch->xmin)) return ALLOT_EINVAL;
    if (!isnan(ch->ymin) && !isnan(ch->ymax) && !(ch->ymax > ch->ymin)) return ALLOT_EINVAL;
    return 0;
}

/* Index window [*lo, *hi) of a series worth drawing: all of it, or with an
 * explicit x range, from the point before the first one inside to the point
 * after the last one inside, so that a zoomed view of a long series is
 * thinned over what is visible. */
static void visible_window(const allot_chart *ch, const allot_series *se, const map *m, size_t *lo,
                           size_t *hi)
{
    *lo = 0;
    *hi = se->n;
    if (isnan(ch->xmin) && isnan(ch->xmax)) return;
    size_t first = SIZE_MAX, last = 0;
    for (size_t i = 0; i < se->n; i++) {
        double xv = se->x[i];
        if (xv >= m->x0 && xv <= m->x1) {
            if (first == SIZE_MAX) first = i;
            last = i;
        }
    }
    if (first == SIZE_MAX) {
        *hi = 0;
        return;
    }
    *lo = first > 0 ? first - 1 : 0;
    *hi = last + 2 < se->n ? last + 2 : se->n;
}

typedef struct legend_item {
    double x; /* px, left of swatch */
    int row;
} legend_item;

#define LEGEND_MAX_W 300.0 /* px of legend text per series */

static const char *series_name(const allot_chart *ch, size_t s, char *tmp, size_t len)
{
    const char *nm = ch->series[s].name;
    if (nm && *nm) return nm;
    snprintf(tmp, len, "series %zu", s + 1);
    return tmp;
}

static void put_stroke_style(allot__buf *b, size_t s)
{
    allot__buf_printf(b, " stroke=\"%s\"", k_colors[s % NCOLORS]);
    const char *dash = k_dashes[(s / NCOLORS) % NDASHES];
    if (*dash) allot__buf_printf(b, " stroke-dasharray=\"%s\"", dash);
}

/* Label of a 1-2-5 tick at log10 value lv on a log axis, in data units:
 * "0.001", "20", "5e6". */
static void fmt_log_tick(char *buf, size_t len, double lv)
{
    int e = (int)floor(lv + 1e-9);
    double mant = pow(10.0, lv - e);
    int mi = (int)lround(mant);
    if (mi >= 10) {
        mi = 1;
        e++;
    }
    if (e >= -4 && e <= 5)
        snprintf(buf, len, "%.*f", e < 0 ? -e : 0, mi * pow(10.0, e));
    else
        snprintf(buf, len, "%de%d", mi, e);
}

/* Ticks of a log10 x axis over [*lo, *hi] (log10 of data values) on px
 * pixels. Spanning a decade or more, free ends widen to whole decades and
 * ticks fall on 1, 2 and 5 x 10^k, else on every k-th power of ten
 * (k = 1, 2, 5, 10, ...), the densest set whose labels do not collide.
 * Under a decade, ticks are nice linear steps in data units. Writes the
 * ticks' log10 values to xt and their labels to xlab; returns how many. */
static size_t log_ticks(double *lo, double *hi, int flo, int fhi, double px, double *xt,
                        char (*xlab)[32], size_t cap)
{
    size_t n = 0;
    if (*hi - *lo >= 1) {
        if (flo) *lo = floor(*lo + 1e-9);
        if (fhi) *hi = ceil(*hi - 1e-9);
        double ppd = px / (*hi - *lo); /* px per decade */
        double e0 = ceil(*lo - 1e-9), e1 = floor(*hi + 1e-9);
        static const double m125[3] = {0, 0.30102999566398120, 0.69897000433601886};
        for (int level = 0;; level++) {
            n = 0;
            double spacing;
            if (level == 0) { /* 1, 2, 5 per decade */
                spacing = m125[1] * ppd;
                if (e1 - e0 + 1 > (double)cap / 3) continue;
                for (double e = floor(*lo); e <= e1 && n < cap; e += 1)
                    for (int k = 0; k < 3 && n < cap; k++) {
                        double v = e + m125[k];
                        if (v >= *lo - 1e-9 && v <= *hi + 1e-9) xt[n++] = v;
                    }
            } else { /* every stride-th decade: 1, 2, 5, 10, 20, ... */
                static const double mul[3] = {1, 2, 5};
                double stride = mul[(level - 1) % 3] * pow(10.0, (level - 1) / 3);
                spacing = stride * ppd;
                if ((e1 - e0) / stride + 1 > (double)cap) continue;
                for (double e = ceil(e0 / stride) * stride; e <= e1 && n < cap; e += stride)
                    xt[n++] = e;
            }
            double maxw = 0;
            for (size_t i = 0; i < n; i++) {
                fmt_log_tick(xlab[i], sizeof xlab[i], xt[i]);
                double w = text_w(xlab[i], FS_TICK);
                if (w > maxw) maxw = w;
            }
            if (spacing >= maxw + 14 || n < 2 || level > 60) return n;
        }
    }
    /* under a decade: linear steps in data units */
    double a = pow(10.0, *lo), z = pow(10.0, *hi);
    int target = (int)(px / 90);
    if (target < 2) target = 2;
    if (target > 14) target = 14;
    for (; target >= 1; target--) {
        double vals[ALLOT__MAX_TICKS];
        double step = allot__nice_step(a, z, target);
        size_t nv = ticks_with_step(a, z, step, vals, ALLOT__MAX_TICKS);
        double absmax = abs_max(vals, nv), maxw = 0, minsp = INFINITY;
        n = 0;
        for (size_t i = 0; i < nv && n < cap; i++) {
            if (!(vals[i] > 0)) continue;
            xt[n] = log10(vals[i]);
            allot__fmt_tick(xlab[n], sizeof xlab[n], vals[i], step, absmax);
            double w = text_w(xlab[n], FS_TICK);
            if (w > maxw) maxw = w;
            if (n > 0 && (xt[n] - xt[n - 1]) * px / (*hi - *lo) < minsp)
                minsp = (xt[n] - xt[n - 1]) * px / (*hi - *lo);
            n++;
        }
        if (n < 2 || minsp >= maxw + 14) break;
    }
    return n;
}

/* x is in axis units: log10 of the data value on a log axis (xlog). */
static void put_tooltip(allot__buf *b, const allot_chart *ch, const char *nm, double x, double y,
                        int xlog)
{
    allot__buf_puts(b, "<title>");
    allot__buf_esc(b, nm);
    allot__buf_printf(b, "\n");
    allot__buf_esc(b, ch->xlabel && *ch->xlabel ? ch->xlabel : "x");
    allot__buf_printf(b, ": %.6g\n", xlog ? pow(10.0, x) : x);
    allot__buf_esc(b, ch->ylabel && *ch->ylabel ? ch->ylabel : "y");
    allot__buf_printf(b, ": %.6g</title>", y);
}

/* Renders ch; with xlog, its x values (and xmin/xmax) are already log10 of
 * the data and the axis is labelled in data units. */
static int render(allot__buf *b, const allot_chart *ch, int width, int height,
                  const char *id_prefix, int xlog)
{
    if (!id_prefix || !*id_prefix) id_prefix = "allot";
    const double W = width, H = height;
    char tmp[64];

    /* ---- ranges ---- */
    double dxlo, dxhi, dylo, dyhi;
    int have_x = data_range(ch, 0, -INFINITY, INFINITY, &dxlo, &dxhi);
    double x0, x1;
    resolve(ch->xmin, ch->xmax, have_x, dxlo, dxhi, &x0, &x1);
    int have_y = data_range(ch, 1, isnan(ch->xmin) ? -INFINITY : x0,
                            isnan(ch->xmax) ? INFINITY : x1, &dylo, &dyhi);
    double y0, y1;
    resolve(ch->ymin, ch->ymax, have_y, dylo, dyhi, &y0, &y1);

    /* ---- vertical layout ---- */
    int has_title = ch->title && *ch->title;
    double title_h = has_title ? 24 : 0;
    int show_legend =
        ch->nseries > 1 || (ch->nseries == 1 && ch->series[0].name && *ch->series[0].name);
    legend_item legend[ALLOT__CHART_MAX_SERIES];
    int legend_rows = 0;
    size_t legend_n = 0; /* items shown */
    double more_x = 0;   /* "+N more" position, if legend_n < n */
    int more_row = 0;
    double legend_tw = W - 2 * PAD - 22; /* px of text one item may take */
    if (legend_tw > LEGEND_MAX_W) legend_tw = LEGEND_MAX_W;
    if (legend_tw < 20) legend_tw = 20;
    if (show_legend) {
        /* The legend may take at most ~1/3 of the height; beyond that the
         * last row ends in "+N more" (the lines keep their own tooltips). */
        int max_rows = (int)((H * 0.34 - title_h) / 18);
        if (max_rows < 1) max_rows = 1;
        double x = PAD, maxx = W - PAD;
        int row = 0;
        double itemw[ALLOT__CHART_MAX_SERIES];
        for (size_t s = 0; s < ch->nseries; s++) {
            const char *nm = series_name(ch, s, tmp, sizeof tmp);
            double tw = text_w(nm, FS_LEGEND);
            if (tw > legend_tw) tw = legend_tw;
            double w = 22 + tw;
            if (x > PAD && x + w > maxx) {
                row++;
                x = PAD;
            }
            if (row >= max_rows) break;
            legend[s].x = x;
            legend[s].row = row;
            itemw[s] = w;
            legend_n = s + 1;
            x += w + 20;
        }
        if (legend_n < ch->nseries) {
            /* make room for "+N more" on the last row */
            for (;;) {
                char more[32];
                snprintf(more, sizeof more, "+%zu more", ch->nseries - legend_n);
                double mw = text_w(more, FS_LEGEND);
                more_row = legend_n ? legend[legend_n - 1].row : 0;
                more_x = legend_n ? legend[legend_n - 1].x + itemw[legend_n - 1] + 20 : PAD;
                if (legend_n == 0 || more_x + mw <= maxx) break;
                legend_n--;
            }
        }
        legend_rows = ch->nseries ? (legend_n ? legend[legend_n - 1].row : 0) + 1 : 0;
    }
    double legend_top = PAD + title_h;
    double legend_h = legend_rows ? legend_rows * 18.0 + 6 : 0;
    int has_xlabel = ch->xlabel && *ch->xlabel;
    int has_ylabel = ch->ylabel && *ch->ylabel;

    map m;
    m.top = legend_top + legend_h + 10;
    m.bottom = H - PAD - (has_xlabel ? 20 : 0) - 22;
    if (m.bottom - m.top < 40) m.bottom = m.top + 40; /* tiny: overflow */

    /* ---- y ticks ---- */
    double yt[ALLOT__MAX_TICKS], ystep;
    int ytarget = (int)((m.bottom - m.top) / 48);
    if (ytarget < 2) ytarget = 2;
    if (ytarget > 12) ytarget = 12;
    {
        /* Free ends widen to a tick. When that wastes much of the axis
         * (data to 5.3M, step 5M: axis to 10M) try a few more ticks, as
         * long as labels stay >= 26 px apart; keep the least wasteful. */
        int flo = isnan(ch->ymin), fhi = isnan(ch->ymax);
        int tmax = (int)((m.bottom - m.top) / 26);
        if (tmax < ytarget) tmax = ytarget;
        if (tmax > ytarget + 4) tmax = ytarget + 4;
        double best_waste = INFINITY, by0 = y0, by1 = y1;
        ystep = 0;
        for (int t = ytarget; t <= tmax; t++) {
            double st = allot__nice_step(y0, y1, t), a = y0, z = y1;
            if (!(st > 0)) break;
            widen(&a, &z, flo, fhi, st, 1.0);
            if ((z - a) / st > tmax + 0.5) break; /* too many ticks */
            double waste = 1 - (y1 - y0) / (z - a);
            if (waste < best_waste - 0.05) {
                best_waste = waste;
                ystep = st;
                by0 = a;
                by1 = z;
            }
            if (waste <= 0.2) break;
        }
        if (ystep > 0) {
            y0 = by0;
            y1 = by1;
        } else {
            ystep = allot__nice_step(y0, y1, ytarget);
            widen(&y0, &y1, flo, fhi, ystep, 1.0);
        }
    }
    size_t nyt = ticks_with_step(y0, y1, ystep, yt, ALLOT__MAX_TICKS);
    double yabs = abs_max(yt, nyt);
    char ylab[ALLOT__MAX_TICKS][32];
    double ylab_w = 0;
    for (size_t i = 0; i < nyt; i++) {
        allot__fmt_tick(ylab[i], sizeof ylab[i], yt[i], ystep, yabs);
        double w = text_w(ylab[i], FS_TICK);
        if (w > ylab_w) ylab_w = w;
    }
    m.y0 = y0;
    m.y1 = y1;

    /* ---- horizontal layout and x ticks ---- */
    m.left = PAD + (has_ylabel ? 22 : 0) + ylab_w + 8;
    m.right = W - PAD - 14;
    if (m.right - m.left < 40) m.right = m.left + 40;
    double xt[ALLOT__MAX_TICKS], xstep = 0;
    char xlab[ALLOT__MAX_TICKS][32];
    size_t nxt = 0;
    double xw0 = x0, xw1 = x1;
    int xtarget = (int)((m.right - m.left) / 90);
    if (xtarget < 2) xtarget = 2;
    if (xtarget > 14) xtarget = 14;
    if (xlog) {
        nxt = log_ticks(&xw0, &xw1, isnan(ch->xmin), isnan(ch->xmax), m.right - m.left, xt, xlab,
                        ALLOT__MAX_TICKS);
        xtarget = 0; /* skips the linear ticks below */
    }
    for (; xtarget >= 1; xtarget--) {
        xw0 = x0;
        xw1 = x1;
        xstep = allot__nice_step(xw0, xw1, xtarget);
        widen(&xw0, &xw1, isnan(ch->xmin), isnan(ch->xmax), xstep, 0.08);
        nxt = ticks_with_step(xw0, xw1, xstep, xt, ALLOT__MAX_TICKS);
        double xabs = abs_max(xt, nxt);
        double maxw = 0;
        for (size_t i = 0; i < nxt; i++) {
            allot__fmt_tick(xlab[i], sizeof xlab[i], xt[i], xstep, xabs);
            double w = text_w(xlab[i], FS_TICK);
            if (w > maxw) maxw = w;
        }
        double spacing = xstep / (xw1 - xw0) * (m.right - m.left);
        if (nxt < 2 || spacing >= maxw + 14) break;
    }
    m.x0 = xw0;
    m.x1 = xw1;

    /* ---- svg header ---- */
    allot__buf_printf(b,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "class=\"allot-chart\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
                      width, height, width, height);
    allot__buf_esc(b, has_title ? ch->title : "chart");
    allot__buf_puts(b, "\" font-family=\"" FONT_STACK "\">\n");
    if (has_title) {
        allot__buf_puts(b, "<title>");
        allot__buf_esc(b, ch->title);
        allot__buf_puts(b, "</title>\n");
    }
    allot__buf_puts(b, "<style>.allot-hit:hover{fill-opacity:1}</style>\n");
    allot__buf_printf(b, "<defs><clipPath id=\"%s-clip\"><rect x=\"", id_prefix);
    put_num(b, m.left - 3);
    allot__buf_puts(b, "\" y=\"");
    put_num(b, m.top - 3);
    allot__buf_puts(b, "\" width=\"");
    put_num(b, m.right - m.left + 6);
    allot__buf_puts(b, "\" height=\"");
    put_num(b, m.bottom - m.top + 6);
    allot__buf_puts(b, "\"/></clipPath></defs>\n");
    allot__buf_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", width, height);

    /* ---- title ---- */
    if (has_title) {
        allot__buf_puts(b, "<text x=\"");
        put_num(b, PAD);
        allot__buf_puts(b, "\" y=\"");
        put_num(b, PAD + 14);
        allot__buf_printf(b,
                          "\" font-size=\"%g\" font-weight=\"600\" "
                          "fill=\"" C_TEXT "\">",
                          FS_TITLE);
        put_fit(b, ch->title, FS_TITLE * 1.2, W - 2 * PAD); /* bold */
        allot__buf_puts(b, "</text>\n");
    }

    /* ---- grid ---- */
    allot__buf_puts(b, "<g class=\"grid\" stroke=\"" C_GRID_X
                       "\" stroke-width=\"1\" shape-rendering=\"crispEdges\">");
    for (size_t i = 0; i < nxt; i++) {
        double px = mx(&m, xt[i]);
        allot__buf_puts(b, "<line x1=\"");
        put_num(b, px);
        allot__buf_puts(b, "\" x2=\"");
        put_num(b, px);
        allot__buf_puts(b, "\" y1=\"");
        put_num(b, m.top);
        allot__buf_puts(b, "\" y2=\"");
        put_num(b, m.bottom);
        allot__buf_puts(b, "\"/>");
    }
    allot__buf_puts(b, "</g>\n<g class=\"grid\" stroke=\"" C_GRID
                       "\" stroke-width=\"1\" shape-rendering=\"crispEdges\">");
    for (size_t i = 0; i < nyt; i++) {
        double py = my(&m, yt[i]);
        allot__buf_puts(b, "<line x1=\"");
        put_num(b, m.left);
        allot__buf_puts(b, "\" x2=\"");
        put_num(b, m.right);
        allot__buf_puts(b, "\" y1=\"");
        put_num(b, py);
        allot__buf_puts(b, "\" y2=\"");
        put_num(b, py);
        allot__buf_puts(b, yt[i] == 0 && y0 < 0 ? "\" stroke=\"" C_ZERO "\"/>" : "\"/>");
    }
    allot__buf_puts(b, "</g>\n");

    /* ---- axes ---- */
    allot__buf_puts(b, "<g stroke=\"" C_AXIS "\" stroke-width=\"1\" "
                       "shape-rendering=\"crispEdges\"><line x1=\"");
    put_num(b, m.left);
    allot__buf_puts(b, "\" x2=\"");
    put_num(b, m.right);
    allot__buf_puts(b, "\" y1=\"");
    put_num(b, m.bottom);
    allot__buf_puts(b, "\" y2=\"");
    put_num(b, m.bottom);
    allot__buf_puts(b, "\"/><line x1=\"");
    put_num(b, m.left);
    allot__buf_puts(b, "\" x2=\"");
    put_num(b, m.left);
    allot__buf_puts(b, "\" y1=\"");
    put_num(b, m.top);
    allot__buf_puts(b, "\" y2=\"");
    put_num(b, m.bottom);
    allot__buf_puts(b, "\"/>");
    for (size_t i = 0; i < nxt; i++) {
        double px = mx(&m, xt[i]);
        allot__buf_puts(b, "<line x1=\"");
        put_num(b, px);
        allot__buf_puts(b, "\" x2=\"");
        put_num(b, px);
        allot__buf_puts(b, "\" y1=\"");
        put_num(b, m.bottom);
        allot__buf_puts(b, "\" y2=\"");
        put_num(b, m.bottom + 5);
        allot__buf_puts(b, "\"/>");
    }
    allot__buf_puts(b, "</g>\n");

    /* ---- tick labels ---- */
    allot__buf_printf(
        b, "<g font-size=\"%g\" fill=\"" C_MUTED "\" style=\"font-variant-numeric:tabular-nums\">",
        FS_TICK);
    for (size_t i = 0; i < nxt; i++) {
        double px = mx(&m, xt[i]);
        double w = text_w(xlab[i], FS_TICK);
        const char *anchor = "middle";
        if (px + w / 2 > W - 2) {
            anchor = "end";
            px = W - 2;
        }
        allot__buf_puts(b, "<text x=\"");
        put_num(b, px);
        allot__buf_puts(b, "\" y=\"");
        put_num(b, m.bottom + 19);
        allot__buf_printf(b, "\" text-anchor=\"%s\">", anchor);
        allot__buf_esc(b, xlab[i]);
        allot__buf_puts(b, "</text>");
    }
    for (size_t i = 0; i < nyt; i++) {
        allot__buf_puts(b, "<text x=\"");
        put_num(b, m.left - 7);
        allot__buf_puts(b, "\" y=\"");
        put_num(b, my(&m, yt[i]) + 4);
        allot__buf_puts(b, "\" text-anchor=\"end\">");
        allot__buf_esc(b, ylab[i]);
        allot__buf_puts(b, "</text>");
    }
    allot__buf_puts(b, "</g>\n");

    /* ---- axis labels ---- */
    if (has_xlabel) {
        allot__buf_puts(b, "<text x=\"");
        put_num(b, (m.left + m.right) / 2);
        allot__buf_puts(b, "\" y=\"");
        put_num(b, H - PAD - 2);
        allot__buf_printf(b,
                          "\" text-anchor=\"middle\" font-size=\"%g\" "
                          "fill=\"" C_TEXT "\">",
                          FS_LABEL);
        put_fit(b, ch->xlabel, FS_LABEL, m.right - m.left);
        allot__buf_puts(b, "</text>\n");
    }
    if (has_ylabel) {
        allot__buf_puts(b, "<text transform=\"translate(");
        put_num(b, PAD + 12);
        allot__buf_puts(b, ",");
        put_num(b, (m.top + m.bottom) / 2);
        allot__buf_printf(b,
                          ") rotate(-90)\" text-anchor=\"middle\" "
                          "font-size=\"%g\" fill=\"" C_TEXT "\">",
                          FS_LABEL);
        put_fit(b, ch->ylabel, FS_LABEL, m.bottom - m.top);
        allot__buf_puts(b, "</text>\n");
    }

    /* ---- series ---- */
    size_t idx[ALLOT__THIN_CAP];
    allot__buf_printf(b,
                      "<g clip-path=\"url(#%s-clip)\" fill=\"none\" "
                      "stroke-width=\"2\" stroke-linejoin=\"round\" "
                      "stroke-linecap=\"round\">\n",
                      id_prefix);
    for (size_t s = 0; s < ch->nseries; s++) {
        const allot_series *se = &ch->series[s];
        if (se->n == 0) continue;
        size_t wlo, whi;
        visible_window(ch, se, &m, &wlo, &whi);
        if (whi == wlo) continue;
        size_t k = allot__thin(se->x + wlo, se->y + wlo, whi - wlo, ALLOT__CHART_MAX_DRAWN, idx,
                               ALLOT__THIN_CAP);
        if (k == 0) continue;
        for (size_t j = 0; j < k; j++)
            if (idx[j] != ALLOT__GAP) idx[j] += wlo;
        allot__buf_puts(b, "<path");
        put_stroke_style(b, s);
        allot__buf_puts(b, " d=\"");
        int pen = 0, run = 0;
        for (size_t j = 0; j < k; j++) {
            if (idx[j] == ALLOT__GAP) {
                if (pen && run == 1) allot__buf_puts(b, "h0"); /* dot */
                pen = 0;
                continue;
            }
            double px = mx(&m, se->x[idx[j]]), py = my(&m, se->y[idx[j]]);
            if (!pen) {
                allot__buf_puts(b, "M");
                put_num(b, px);
                allot__buf_puts(b, " ");
                put_num(b, py);
                pen = 1;
                run = 1;
            } else if (ch->step) {
                allot__buf_puts(b, "H");
                put_num(b, px);
                allot__buf_puts(b, "V");
                put_num(b, py);
                run++;
            } else {
                allot__buf_puts(b, "L");
                put_num(b, px);
                allot__buf_puts(b, " ");
                put_num(b, py);
                run++;
            }
        }
        if (pen && run == 1) allot__buf_puts(b, "h0");
        allot__buf_puts(b, "\"><title>");
        allot__buf_esc(b, series_name(ch, s, tmp, sizeof tmp));
        allot__buf_puts(b, "</title></path>\n");
    }
    allot__buf_puts(b, "</g>\n");

    /* ---- markers with tooltips ---- */
    for (size_t s = 0; s < ch->nseries; s++) {
        const allot_series *se = &ch->series[s];
        size_t wlo, whi;
        visible_window(ch, se, &m, &wlo, &whi);
        size_t wn = whi - wlo;
        if (wn == 0) continue;
        const char *nm = series_name(ch, s, tmp, sizeof tmp);
        int all = wn <= ALLOT__CHART_MAX_MARKERS;
        /* Few, well-spaced points are shown as dots; otherwise the markers
         * are invisible hover targets. */
        int visible = all && ch->nseries <= 8 && (m.right - m.left) / (double)wn >= 10;
        size_t stride = all ? 1 : (wn + ALLOT__CHART_MAX_MARKERS - 1) / ALLOT__CHART_MAX_MARKERS;
        int opened = 0;
        for (size_t start = wlo; start < whi; start += stride) {
            size_t end = start + stride < whi ? start + stride : whi;
            size_t i = start;
            while (i < end && !valid_pt(se->x, se->y, i)) i++;
            if (i == end) continue;
            double xv = se->x[i], yv = se->y[i];
            if (xv < m.x0 || xv > m.x1 || yv < m.y0 || yv > m.y1) continue;
            if (!opened) {
                allot__buf_printf(b, "<g fill=\"%s\"%s>", k_colors[s % NCOLORS],
                                  visible ? " stroke=\"#fff\" stroke-width=\"1\""
                                          : " fill-opacity=\"0\"");
                opened = 1;
            }
            allot__buf_printf(b, "<circle%s cx=\"", visible ? "" : " class=\"allot-hit\"");
            put_num(b, mx(&m, xv));
            allot__buf_puts(b, "\" cy=\"");
            put_num(b, my(&m, yv));
            allot__buf_puts(b, visible ? "\" r=\"2.75\">" : "\" r=\"4.5\">");
            put_tooltip(b, ch, nm, xv, yv, xlog);
            allot__buf_puts(b, "</circle>");
        }
        if (opened) allot__buf_puts(b, "</g>\n");
    }

    if (!have_x || !have_y) {
        allot__buf_puts(b, "<text x=\"");
        put_num(b, (m.left + m.right) / 2);
        allot__buf_puts(b, "\" y=\"");
        put_num(b, (m.top + m.bottom) / 2);
        allot__buf_printf(b,
                          "\" text-anchor=\"middle\" font-size=\"%g\" "
                          "fill=\"" C_MUTED "\">no data</text>\n",
                          FS_LABEL);
    }

    /* ---- legend ---- */
    if (show_legend) {
        allot__buf_printf(b, "<g class=\"legend\" font-size=\"%g\" fill=\"" C_TEXT "\">",
                          FS_LEGEND);
        for (size_t s = 0; s < legend_n; s++) {
            const char *nm = series_name(ch, s, tmp, sizeof tmp);
            double lx = legend[s].x;
            double ly = legend_top + legend[s].row * 18.0 + 9;
            allot__buf_puts(b, "<g><title>");
            allot__buf_esc(b, nm);
            allot__buf_puts(b, "</title><line x1=\"");
            put_num(b, lx);
            allot__buf_puts(b, "\" x2=\"");
            put_num(b, lx + 16);
            allot__buf_puts(b, "\" y1=\"");
            put_num(b, ly);
            allot__buf_puts(b, "\" y2=\"");
            put_num(b, ly);
            allot__buf_puts(b, "\" stroke-width=\"2.5\" stroke-linecap=\"butt\"");
            put_stroke_style(b, s);
            allot__buf_puts(b, "/><text x=\"");
            put_num(b, lx + 22);
            allot__buf_puts(b, "\" y=\"");
            put_num(b, ly + 4);
            allot__buf_puts(b, "\">");
            put_fit(b, nm, FS_LEGEND, legend_tw);
            allot__buf_puts(b, "</text></g>");
        }
        if (legend_n < ch->nseries) {
            allot__buf_puts(b, "<text x=\"");
            put_num(b, more_x);
            allot__buf_puts(b, "\" y=\"");
            put_num(b, legend_top + more_row * 18.0 + 13);
            allot__buf_printf(b, "\" fill=\"" C_MUTED "\">+%zu more</text>",
                              ch->nseries - legend_n);
        }
        allot__buf_puts(b, "</g>\n");
    }
    allot__buf_puts(b, "</svg>\n");
    return b->err;
}

int allot__svg_render(allot__buf *b, const allot_chart *ch, int width, int height,
                      const char *id_prefix)
{
    return allot__svg_render_scaled(b, ch, width, height, id_prefix, ALLOT_SCALE_LINEAR);
}

int allot__svg_render_scaled(allot__buf *b, const allot_chart *ch, int width, int height,
                             const char *id_prefix, allot_scale xscale)
{
    if (!b) return ALLOT_EINVAL;
    int err = validate(ch, width, height);
    if (err) return err;
    if (xscale == ALLOT_SCALE_LINEAR) return render(b, ch, width, height, id_prefix, 0);
    if (xscale != ALLOT_SCALE_LOG10) return ALLOT_EINVAL;
    if ((!isnan(ch->xmin) && !(ch->xmin > 0)) || (!isnan(ch->xmax) && !(ch->xmax > 0)))
        return ALLOT_EINVAL;
    /* the same chart over log10(x); x <= 0 becomes a gap */
    size_t total = 0;
    for (size_t s = 0; s < ch->nseries; s++) total += ch->series[s].n;
    double *lx = malloc((total ? total : 1) * sizeof *lx);
    allot_series ls[ALLOT__CHART_MAX_SERIES];
    if (!lx) return ALLOT_ENOMEM;
    size_t off = 0;
    for (size_t s = 0; s < ch->nseries; s++) {
        const allot_series *se = &ch->series[s];
        for (size_t i = 0; i < se->n; i++) lx[off + i] = se->x[i] > 0 ? log10(se->x[i]) : NAN;
        ls[s] = *se;
        ls[s].x = lx + off;
        off += se->n;
    }
    allot_chart lc = *ch;
    lc.series = ch->nseries ? ls : ch->series;
    lc.xmin = isnan(ch->xmin) ? NAN : log10(ch->xmin);
    lc.xmax = isnan(ch->xmax) ? NAN : log10(ch->xmax);
    err = render(b, &lc, width, height, id_prefix, 1);
    free(lx);
    return err;
}

/* FNV-1a, for a deterministic id of a stand-alone chart. */
static uint32_t fnv(uint32_t h, const char *s)
{
    if (!s) return h;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h ^ 0xffu;
}

int allot_svg_chart(FILE *f, const allot_chart *ch, int width, int height)
{
    return allot_svg_chart_scaled(f, ch, width, height, ALLOT_SCALE_LINEAR);
}

int allot_svg_chart_scaled(FILE *f, const allot_chart *ch, int width, int height,
                           allot_scale xscale)
{
    if (!f) return ALLOT_EINVAL;
    int err = validate(ch, width, height);
    if (err) return err;
    uint32_t h = 2166136261u;
    h = fnv(h, ch->title);
    h = fnv(h, ch->xlabel);
    h = fnv(h, ch->ylabel);
    for (size_t s = 0; s < ch->nseries; s++) {
        char n[32];
        snprintf(n, sizeof n, "%zu", ch->series[s].n);
        h = fnv(h, ch->series[s].name);
        h = fnv(h, n);
    }
    char id[32];
    snprintf(id, sizeof id, "allot-%08x", (unsigned)h);

    allot__buf b = {0};
    err = allot__svg_render_scaled(&b, ch, width, height, id, xscale);
    if (!err && b.len && fwrite(b.p, 1, b.len, f) != b.len) err = ALLOT_EIO;
    if (!err && ferror(f)) err = ALLOT_EIO;
    allot__buf_free(&b);
    return err;
}
