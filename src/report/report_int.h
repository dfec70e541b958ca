/* src/report/report_int.h - internals shared by report.c, svg.c and the
 * unit tests (tests/test_report.c includes this file directly).
 *
 * Nothing here is public API: names carry the allot__ prefix and may change.
 */
#ifndef ALLOT_REPORT_INT_H
#define ALLOT_REPORT_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/report.h"

/* ---- hard caps ------------------------------------------------------------ */
#define ALLOT__CHART_MAX_SERIES  64           /* series per chart */
#define ALLOT__CHART_MAX_POINTS  10000000u    /* points per chart, all series */
#define ALLOT__CHART_MAX_DRAWN   400          /* polyline points per series */
#define ALLOT__CHART_MAX_MARKERS 60           /* tooltip markers per series */
#define ALLOT__CHART_MIN_W       160          /* px */
#define ALLOT__CHART_MIN_H       120          /* px */
#define ALLOT__CHART_MAX_WH      20000        /* px, either dimension */
#define ALLOT__REPORT_MAX_BYTES  (256u << 20) /* whole document */
#define ALLOT__TABLE_MAX_COLS    1024
#define ALLOT__TABLE_MAX_ROWS    1000000
#define ALLOT__MAX_TICKS         64

/* Marker for a gap (pen up) in the index list produced by allot__thin(). */
#define ALLOT__GAP SIZE_MAX
/* Capacity the out array of allot__thin() must have. */
#define ALLOT__THIN_CAP (ALLOT__CHART_MAX_DRAWN * 3 / 2 + 8)

/* ---- growable byte buffer with a sticky error ------------------------------
 * Appends never fail loudly: the first failure (ENOMEM, or growing past cap)
 * is remembered in err and later appends are ignored. Check err once at the
 * end. */
typedef struct allot__buf {
    char *p;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* hard cap on len; 0 = ALLOT__REPORT_MAX_BYTES */
    int err;      /* 0 or ALLOT_ENOMEM / ALLOT_ELIMIT */
} allot__buf;

void allot__buf_free(allot__buf *b);
void allot__buf_put(allot__buf *b, const char *s, size_t n);
void allot__buf_puts(allot__buf *b, const char *s);
void allot__buf_printf(allot__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends s HTML/XML-escaped (& < > " '); invalid UTF-8 bytes and C0
 * control characters other than TAB/LF/CR become U+FFFD. NULL is "". */
void allot__buf_esc(allot__buf *b, const char *s);
/* Like allot__buf_esc but stops after max_chars code points, appending an
 * ellipsis when it cut. */
void allot__buf_esc_trunc(allot__buf *b, const char *s, size_t max_chars);

/* Number of code points in UTF-8 text s (invalid bytes count one each). */
size_t allot__utf8_len(const char *s);

/* ---- chart maths ------------------------------------------------------------ */

/* Nice tick step (1, 2 or 5 x 10^k) so that [lo, hi] holds about target
 * intervals. Returns 0 when lo/hi are not finite or hi <= lo. */
double allot__nice_step(double lo, double hi, int target);

/* Tick values: the multiples of a nice step inside [lo, hi] (with a small
 * tolerance at the ends). Writes at most cap values to out and returns how
 * many; *step_out (optional) receives the step. Returns 0 for bad input. */
size_t allot__ticks(double lo, double hi, int target, double *out, size_t cap, double *step_out);

/* Formats tick value v of an axis whose ticks are step apart and whose
 * largest |tick| is absmax: SI suffix (k, M, G, T) when absmax >= 1e4,
 * decimals just enough for step, no "-0". */
void allot__fmt_tick(char *buf, size_t len, double v, double step, double absmax);

/* Thins a series for drawing. Points whose x or y is not finite are gaps.
 * When n <= maxpts, out gets every index, with ALLOT__GAP for each run of
 * gaps. Otherwise indices are cut into maxpts/2 buckets and each bucket keeps
 * its min-y and max-y point (in index order), plus the series' first and last
 * drawable points and one ALLOT__GAP where the bucket held a gap. Leading and
 * trailing gaps are dropped and gap runs collapse to one. out must hold
 * ALLOT__THIN_CAP entries when maxpts == ALLOT__CHART_MAX_DRAWN (in general
 * maxpts*3/2 + 8). Returns the number of entries written. */
size_t allot__thin(const double *x, const double *y, size_t n, size_t maxpts, size_t *out,
                   size_t cap);

/* Non-zero when strtod() consumes all of s, optionally followed by one '%'. */
int allot__is_numeric(const char *s);

/* Renders chart ch into b as one <svg>; id_prefix makes element ids unique in
 * a document. Validates and enforces the caps; on error nothing useful is in
 * b (the caller rolls back). */
int allot__svg_render(allot__buf *b, const allot_chart *ch, int width, int height,
                      const char *id_prefix);
/* allot__svg_render with a chosen x-axis scale. */
int allot__svg_render_scaled(allot__buf *b, const allot_chart *ch, int width, int height,
                             const char *id_prefix, allot_scale xscale);

/* Appends one <figure class="chart"> whose content render() writes into b
 * (id is unique in the document, for clip paths); rolled back when render
 * returns an error or the buffer fails. Used by the chart kinds of
 * chart_cat.c. */
int allot__report_figure(allot_report *r,
                         int (*render)(allot__buf *b, const void *arg, const char *id),
                         const void *arg);

#endif
