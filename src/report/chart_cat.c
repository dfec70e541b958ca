/* src/report/chart_cat.c - charts over categories: fan charts (a shaded band
 * from p10 to p90 with the median as a line) and stacked bars.
 *
 * Worked example: a utilisation fan over 12 months for two scenarios. The x
 * axis holds 12 evenly spaced slots labelled "2026-01" ... "2026-12" (every
 * k-th label when they would collide); the y range is the data's, from 0
 * when every value is >= 0, widened to nice ticks (allot__ticks). Each
 * series draws a polygon from its lo values forward and its hi values back
 * (fill opacity 0.18) and a polyline through its mid values, with a dot per
 * category carrying a <title> tooltip "name / 2026-03 / 0.71 (0.64 - 0.78)".
 * Stacked bars put one bar per category, components bottom to top, each
 * segment with its own tooltip. Same input, same bytes; coordinates have
 * one decimal by integer arithmetic (locale-independent).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report_int.h"

#define CW         960
#define CH         400
#define MAX_CATS   1000
#define MAX_BANDS  16
#define MAX_STACKS 12
#define ML         72.0 /* left margin: y tick labels and the y label */
#define MR         16.0
#define FS_TITLE   15.0
#define FS_TICK    11.5
#define FS_LEGEND  12.0
#define FONT                                                                                       \
    "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,'Noto Sans',"                \
    "'Liberation Sans',sans-serif"

static const char *const k_col[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#999999"};
#define NCOL (sizeof k_col / sizeof k_col[0])

static void num(allot__buf *b, double v)
{
    if (!isfinite(v)) v = 0;
    if (v > 1e6) v = 1e6;
    if (v < -1e6) v = -1e6;
    long t = lround(v * 10);
    int neg = t < 0;
    unsigned long a = neg ? (unsigned long)(-t) : (unsigned long)t;
    if (a % 10)
        allot__buf_printf(b, "%s%lu.%lu", neg ? "-" : "", a / 10, a % 10);
    else
        allot__buf_printf(b, "%s%lu", neg ? "-" : "", a / 10);
}

typedef struct frame {
    double x0, x1, y0, y1; /* plot box, px (y0 top) */
    double lo, hi;         /* data range on y */
    size_t ncats;
} frame;

static double fx(const frame *f, size_t i)
{
    return f->x0 + (f->x1 - f->x0) * ((double)i + 0.5) / (double)f->ncats;
}

static double fy(const frame *f, double v)
{
    return f->y1 - (f->y1 - f->y0) * (v - f->lo) / (f->hi - f->lo);
}

/* Legend items laid out in rows from y; returns the height used. */
static double legend(allot__buf *b, const char *const *names, size_t n, int band, double y)
{
    double x = ML, row = 0;
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[i] ? names[i] : "";
        double w = 26 + 7.0 * (double)allot__utf8_len(nm);
        if (w > 300) w = 300;
        if (x > ML && x + w > CW - MR) {
            x = ML;
            row += 18;
        }
        const char *c = k_col[i % NCOL];
        allot__buf_puts(b, "<rect x=\"");
        num(b, x);
        allot__buf_puts(b, "\" y=\"");
        num(b, y + row - 9);
        allot__buf_printf(b, "\" width=\"16\" height=\"10\" fill=\"%s\"%s/>", c,
                          band ? " fill-opacity=\"0.35\"" : "");
        if (band) {
            allot__buf_puts(b, "<line x1=\"");
            num(b, x);
            allot__buf_puts(b, "\" x2=\"");
            num(b, x + 16);
            allot__buf_puts(b, "\" y1=\"");
            num(b, y + row - 4);
            allot__buf_puts(b, "\" y2=\"");
            num(b, y + row - 4);
            allot__buf_printf(b, "\" stroke=\"%s\" stroke-width=\"2\"/>", c);
        }
        allot__buf_puts(b, "<text x=\"");
        num(b, x + 21);
        allot__buf_puts(b, "\" y=\"");
        num(b, y + row);
        allot__buf_printf(b, "\" font-size=\"%g\" fill=\"#1f2328\">", FS_LEGEND);
        allot__buf_esc_trunc(b, nm, 40);
        allot__buf_puts(b, "</text>");
        x += w + 14;
    }
    return n ? row + 18 : 0;
}

/* Opens the svg, draws title, legend, axes, ticks and category labels. */
static int open_frame(allot__buf *b, const char *title, const char *xlabel, const char *ylabel,
                      const char *const *cats, size_t ncats, const char *const *names,
                      size_t nnames, int band, double lo, double hi, frame *f)
{
    allot__buf_printf(b,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                      "width=\"%d\" height=\"%d\" role=\"img\" font-family=\"%s\">",
                      CW, CH, CW, CH, FONT);
    allot__buf_puts(b, "<title>");
    allot__buf_esc(b, title ? title : "");
    allot__buf_puts(b, "</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
    double y = 12;
    if (title && *title) {
        allot__buf_printf(b,
                          "<text x=\"%d\" y=\"28\" font-size=\"%g\" font-weight=\"600\" "
                          "fill=\"#1f2328\">",
                          (int)ML, FS_TITLE);
        allot__buf_esc_trunc(b, title, 110);
        allot__buf_puts(b, "</text>");
        y = 36;
    }
    y += 16;
    y += legend(b, names, nnames, band, y);
    f->x0 = ML;
    f->x1 = CW - MR;
    f->y0 = y + 4;
    f->y1 = CH - 30 - (xlabel && *xlabel ? 18 : 0);
    f->ncats = ncats;
    /* y range and ticks */
    if (!(hi > lo)) {
        hi = lo + (lo == 0 ? 1 : fabs(lo) * 0.2);
        if (lo != 0) lo -= fabs(lo) * 0.1;
    }
    double ticks[ALLOT__MAX_TICKS], step = 0;
    int target = (int)((f->y1 - f->y0) / 48);
    if (target < 2) target = 2;
    double st = allot__nice_step(lo, hi, target);
    if (st > 0) {
        lo = floor(lo / st + 1e-9) * st;
        hi = ceil(hi / st - 1e-9) * st;
    }
    size_t nt = allot__ticks(lo, hi, target, ticks, ALLOT__MAX_TICKS, &step);
    f->lo = lo;
    f->hi = hi;
    double absmax = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    for (size_t i = 0; i < nt; i++) {
        double py = fy(f, ticks[i]);
        allot__buf_puts(b, "<line x1=\"");
        num(b, f->x0);
        allot__buf_puts(b, "\" x2=\"");
        num(b, f->x1);
        allot__buf_puts(b, "\" y1=\"");
        num(b, py);
        allot__buf_puts(b, "\" y2=\"");
        num(b, py);
        allot__buf_printf(b, "\" stroke=\"%s\"/>", ticks[i] == 0 ? "#afb8c1" : "#e4e7eb");
        char lab[32];
        allot__fmt_tick(lab, sizeof lab, ticks[i], step, absmax);
        allot__buf_puts(b, "<text x=\"");
        num(b, f->x0 - 6);
        allot__buf_puts(b, "\" y=\"");
        num(b, py + 4);
        allot__buf_printf(b, "\" font-size=\"%g\" fill=\"#57606a\" text-anchor=\"end\">", FS_TICK);
        allot__buf_esc(b, lab);
        allot__buf_puts(b, "</text>");
    }
    /* axes */
    allot__buf_puts(b, "<line x1=\"");
    num(b, f->x0);
    allot__buf_puts(b, "\" x2=\"");
    num(b, f->x1);
    allot__buf_puts(b, "\" y1=\"");
    num(b, f->y1);
    allot__buf_puts(b, "\" y2=\"");
    num(b, f->y1);
    allot__buf_puts(b, "\" stroke=\"#8c959f\"/>");
    /* category labels, thinned so that they do not collide */
    size_t maxlen = 1;
    for (size_t i = 0; i < ncats; i++) {
        size_t l = allot__utf8_len(cats[i] ? cats[i] : "");
        if (l > maxlen) maxlen = l;
    }
    double slot = (f->x1 - f->x0) / (double)ncats, need = 7.0 * (double)maxlen + 10;
    size_t every = (size_t)ceil(need / slot);
    if (every < 1) every = 1;
    for (size_t i = 0; i < ncats; i += every) {
        allot__buf_puts(b, "<text x=\"");
        num(b, fx(f, i));
        allot__buf_puts(b, "\" y=\"");
        num(b, f->y1 + 18);
        allot__buf_printf(b, "\" font-size=\"%g\" fill=\"#57606a\" text-anchor=\"middle\">",
                          FS_TICK);
        allot__buf_esc_trunc(b, cats[i] ? cats[i] : "", 16);
        allot__buf_puts(b, "</text>");
    }
    if (xlabel && *xlabel) {
        allot__buf_puts(b, "<text x=\"");
        num(b, (f->x0 + f->x1) / 2);
        allot__buf_printf(b,
                          "\" y=\"%d\" font-size=\"12.5\" fill=\"#1f2328\" "
                          "text-anchor=\"middle\">",
                          CH - 10);
        allot__buf_esc_trunc(b, xlabel, 100);
        allot__buf_puts(b, "</text>");
    }
    if (ylabel && *ylabel) {
        double cy = (f->y0 + f->y1) / 2;
        allot__buf_puts(b, "<text x=\"14\" y=\"");
        num(b, cy);
        allot__buf_puts(b, "\" transform=\"rotate(-90 14 ");
        num(b, cy);
        allot__buf_puts(b, ")\" font-size=\"12.5\" fill=\"#1f2328\" text-anchor=\"middle\">");
        allot__buf_esc_trunc(b, ylabel, 50);
        allot__buf_puts(b, "</text>");
    }
    return b->err;
}

static void range_add(double v, double *lo, double *hi)
{
    if (!isfinite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

static void tip_num(allot__buf *b, double v) { allot__buf_printf(b, "%.4g", v); }

static int render_band(allot__buf *b, const void *arg, const char *id)
{
    const allot_band_chart *ch = arg;
    (void)id;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < ch->nseries; s++)
        for (size_t i = 0; i < ch->ncats; i++) {
            const allot_band_series *se = &ch->series[s];
            range_add(se->mid[i], &lo, &hi);
            if (se->lo) range_add(se->lo[i], &lo, &hi);
            if (se->hi) range_add(se->hi[i], &lo, &hi);
        }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (lo > 0) lo = 0;
    if (!isnan(ch->ymin)) lo = ch->ymin;
    if (!isnan(ch->ymax)) hi = ch->ymax;
    const char *names[MAX_BANDS];
    for (size_t s = 0; s < ch->nseries; s++) names[s] = ch->series[s].name;
    frame f;
    int err = open_frame(b, ch->title, ch->xlabel, ch->ylabel, ch->cats, ch->ncats, names,
                         ch->nseries, 1, lo, hi, &f);
    if (err) return err;
    for (size_t s = 0; s < ch->nseries; s++) {
        const allot_band_series *se = &ch->series[s];
        const char *c = k_col[s % NCOL];
        if (se->lo && se->hi) { /* the band, one polygon per run of finite values */
            size_t i = 0;
            while (i < ch->ncats) {
                while (i < ch->ncats && !(isfinite(se->lo[i]) && isfinite(se->hi[i]))) i++;
                size_t j = i;
                while (j < ch->ncats && isfinite(se->lo[j]) && isfinite(se->hi[j])) j++;
                if (j > i) {
                    allot__buf_printf(b, "<polygon fill=\"%s\" fill-opacity=\"0.18\" points=\"", c);
                    for (size_t k = i; k < j; k++) {
                        num(b, fx(&f, k));
                        allot__buf_puts(b, ",");
                        num(b, fy(&f, se->hi[k]));
                        allot__buf_puts(b, " ");
                    }
                    for (size_t k = j; k-- > i;) {
                        num(b, fx(&f, k));
                        allot__buf_puts(b, ",");
                        num(b, fy(&f, se->lo[k]));
                        allot__buf_puts(b, k > i ? " " : "");
                    }
                    allot__buf_puts(b, "\"/>");
                }
                i = j;
            }
        }
        int pen = 0;
        for (size_t i = 0; i < ch->ncats; i++) {
            if (!isfinite(se->mid[i])) {
                if (pen) allot__buf_puts(b, "\"/>");
                pen = 0;
                continue;
            }
            if (!pen)
                allot__buf_printf(b,
                                  "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                                  "points=\"",
                                  c);
            else
                allot__buf_puts(b, " ");
            num(b, fx(&f, i));
            allot__buf_puts(b, ",");
            num(b, fy(&f, se->mid[i]));
            pen = 1;
        }
        if (pen) allot__buf_puts(b, "\"/>");
        for (size_t i = 0; i < ch->ncats; i++) {
            if (!isfinite(se->mid[i])) continue;
            allot__buf_puts(b, "<circle cx=\"");
            num(b, fx(&f, i));
            allot__buf_puts(b, "\" cy=\"");
            num(b, fy(&f, se->mid[i]));
            allot__buf_printf(b, "\" r=\"%s\" fill=\"%s\"><title>", ch->ncats <= 60 ? "3" : "1.5",
                              c);
            allot__buf_esc(b, se->name ? se->name : "");
            allot__buf_puts(b, "\n");
            allot__buf_esc(b, ch->cats[i] ? ch->cats[i] : "");
            allot__buf_puts(b, ": ");
            tip_num(b, se->mid[i]);
            if (se->lo && se->hi && isfinite(se->lo[i]) && isfinite(se->hi[i])) {
                allot__buf_puts(b, " (");
                tip_num(b, se->lo[i]);
                allot__buf_puts(b, " - ");
                tip_num(b, se->hi[i]);
                allot__buf_puts(b, ")");
            }
            allot__buf_puts(b, "</title></circle>");
        }
    }
    allot__buf_puts(b, "</svg>\n");
    return b->err;
}

static int render_bars(allot__buf *b, const void *arg, const char *id)
{
    const allot_bar_chart *ch = arg;
    (void)id;
    double hi = 0;
    for (size_t i = 0; i < ch->ncats; i++) {
        double sum = 0;
        for (size_t s = 0; s < ch->nstacks; s++) {
            double v = ch->values[s * ch->ncats + i];
            if (isfinite(v) && v > 0) sum += v;
        }
        if (sum > hi) hi = sum;
    }
    frame f;
    int err = open_frame(b, ch->title, ch->xlabel, ch->ylabel, ch->cats, ch->ncats, ch->stacks,
                         ch->nstacks, 0, 0, hi, &f);
    if (err) return err;
    double slot = (f.x1 - f.x0) / (double)ch->ncats, w = slot * 0.7;
    for (size_t i = 0; i < ch->ncats; i++) {
        double base = 0;
        for (size_t s = 0; s < ch->nstacks; s++) {
            double v = ch->values[s * ch->ncats + i];
            if (!(isfinite(v) && v > 0)) continue;
            double ytop = fy(&f, base + v), ybot = fy(&f, base);
            allot__buf_puts(b, "<rect x=\"");
            num(b, fx(&f, i) - w / 2);
            allot__buf_puts(b, "\" y=\"");
            num(b, ytop);
            allot__buf_puts(b, "\" width=\"");
            num(b, w);
            allot__buf_puts(b, "\" height=\"");
            num(b, ybot - ytop);
            allot__buf_printf(b, "\" fill=\"%s\"><title>", k_col[s % NCOL]);
            allot__buf_esc(b, ch->stacks[s] ? ch->stacks[s] : "");
            allot__buf_puts(b, "\n");
            allot__buf_esc(b, ch->cats[i] ? ch->cats[i] : "");
            allot__buf_puts(b, ": ");
            tip_num(b, v);
            allot__buf_puts(b, "</title></rect>");
            base += v;
        }
    }
    allot__buf_puts(b, "</svg>\n");
    return b->err;
}

int allot_report_band_chart(allot_report *r, const allot_band_chart *ch)
{
    if (!r || !ch || !ch->cats || ch->ncats == 0 || (ch->nseries && !ch->series))
        return ALLOT_EINVAL;
    if (ch->ncats > MAX_CATS || ch->nseries > MAX_BANDS) return ALLOT_ELIMIT;
    for (size_t s = 0; s < ch->nseries; s++)
        if (!ch->series[s].mid || !ch->series[s].lo != !ch->series[s].hi) return ALLOT_EINVAL;
    return allot__report_figure(r, render_band, ch);
}

int allot_report_bar_chart(allot_report *r, const allot_bar_chart *ch)
{
    if (!r || !ch || !ch->cats || ch->ncats == 0 || (ch->nstacks && (!ch->values || !ch->stacks)))
        return ALLOT_EINVAL;
    if (ch->ncats > MAX_CATS || ch->nstacks > MAX_STACKS) return ALLOT_ELIMIT;
    return allot__report_figure(r, render_bars, ch);
}
