/* allot/report.h - self-contained HTML reports with SVG charts, written in C.
 *
 * No scripts, no external assets: a report is one .html file that opens
 * anywhere. Text is HTML-escaped. Charts are line charts (several series over
 * a shared numeric x axis) drawn as inline SVG with axes, ticks, a legend and
 * <title> tooltips on points.
 */
#ifndef ALLOT_REPORT_H
#define ALLOT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "allot/err.h"

typedef struct allot_series {
    const char *name; /* legend label */
    const double *x;  /* n values; NaN points are skipped (gap) */
    const double *y;
    size_t n;
} allot_series;

typedef struct allot_chart {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    const allot_series *series;
    size_t nseries;
    double ymin, ymax; /* NaN = from data */
    double xmin, xmax; /* NaN = from data */
    int step;          /* non-zero: draw as steps (CDF-like) */
} allot_chart;

/* Writes one chart as an <svg> element of the given pixel size. */
int allot_svg_chart(FILE *f, const allot_chart *ch, int width, int height);

/* Scale of a chart's x axis (the *_scaled functions; the others are linear). */
typedef enum allot_scale {
    ALLOT_SCALE_LINEAR = 0,
    ALLOT_SCALE_LOG10, /* points with x <= 0 are gaps; xmin/xmax, if given,
                          must be > 0; ticks on 1, 2, 5 x 10^k or on powers of
                          ten, labelled in data units */
} allot_scale;

/* allot_svg_chart with a chosen x-axis scale. */
int allot_svg_chart_scaled(FILE *f, const allot_chart *ch, int width, int height,
                           allot_scale xscale);

typedef struct allot_report allot_report;

allot_report *allot_report_new(const char *title);
void allot_report_free(allot_report *r); /* accepts NULL */
/* Section heading (h2). */
int allot_report_heading(allot_report *r, const char *text);
/* Paragraph of plain text (escaped). */
int allot_report_para(allot_report *r, const char *text);
/* Table: header has ncols strings, cells has nrows*ncols strings (row-major).
 * Cells that parse entirely as numbers are right-aligned. */
int allot_report_table(allot_report *r, const char *caption, int ncols, const char *const *header,
                       const char *const *cells, int nrows);
/* Chart (rendered immediately into the report; data need not outlive it). */
int allot_report_chart(allot_report *r, const allot_chart *ch);
/* allot_report_chart with a chosen x-axis scale (e.g. a log10 time axis). */
int allot_report_chart_scaled(allot_report *r, const allot_chart *ch, allot_scale xscale);
/* Writes the document to path (atomically: temp file + rename). */
int allot_report_write(const allot_report *r, const char *path);

/* ---- category charts: bands (fan charts) and stacked bars --------------------
 * The x axis is a list of categories (e.g. periods "2026-01", "2026-02", ...)
 * drawn evenly; labels are thinned to fit. Rendered at 960x400 px like the
 * line charts, with a legend, y ticks and <title> tooltips on every point
 * and bar segment (src/report/chart_cat.c). */

typedef struct allot_band_series {
    const char *name;  /* legend label */
    const double *lo;  /* ncats values, or NULL (no band) */
    const double *mid; /* ncats values: the line (e.g. the median) */
    const double *hi;  /* ncats values, or NULL */
} allot_band_series;

typedef struct allot_band_chart {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    const char *const *cats; /* ncats category labels */
    size_t ncats;
    const allot_band_series *series; /* NaN values are gaps */
    size_t nseries;
    double ymin, ymax; /* NaN = from data (ymin 0 when all data >= 0) */
} allot_band_chart;

/* A fan chart: per series a shaded band from lo to hi and a line through mid.
 * EINVAL for NULL or mismatched input, ELIMIT beyond 1000 categories or 16
 * series. */
int allot_report_band_chart(allot_report *r, const allot_band_chart *ch);

typedef struct allot_bar_chart {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    const char *const *cats; /* ncats category labels */
    size_t ncats;
    const char *const *stacks; /* nstacks component names, bottom first */
    size_t nstacks;
    const double *values; /* nstacks x ncats, row-major by component; values
                             < 0 or NaN draw nothing */
} allot_bar_chart;

/* Stacked bars, one per category. Same errors as the band chart (at most 12
 * components). */
int allot_report_bar_chart(allot_report *r, const allot_bar_chart *ch);

/* ---- preparing series ------------------------------------------------------ */

/* Downsamples a step function for a chart by time-weighted averaging over
 * equal time buckets. The function is v[i] from t[i] until t[i+1] (the last
 * value until t_end); t is non-decreasing and t_end >= t[n-1]. Writes at
 * most nb + 1 points to x, y: with n <= nb the steps themselves, else one per
 * non-empty bucket of [t[0], t_end] (its start, and its time-weighted mean
 * of v); then a closing point (t_end, last value), so that a step chart
 * (allot_chart.step) draws the last step to t_end. Returns the number of
 * points (0 when n == 0 or nb == 0, or on a bad t). */
size_t allot_series_bucket_mean(const double *t, const double *v, size_t n, double t_end, size_t nb,
                                double *x, double *y);

/* Points of the empirical CDF of n values sorted ascending, for a step
 * chart: (sorted[i] * xscale, (i + 1) / n) for at most maxpts ranks i evenly
 * spread over 0..n-1, always the first and the last. maxpts >= 2. Returns
 * the number of points written to x, y. */
size_t allot_cdf_points(const double *sorted, size_t n, size_t maxpts, double xscale, double *x,
                        double *y);

#endif
