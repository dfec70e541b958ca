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
/* Writes the document to path (atomically: temp file + rename). */
int allot_report_write(const allot_report *r, const char *path);

#endif
