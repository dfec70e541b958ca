/* tests/test_report.c - HTML reports and SVG charts (src/report). */
#include "testutil.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include "allot/report.h"
#include "../src/report/report_int.h"

/* ---- helpers ------------------------------------------------------------------ */

static char *slurp_file(FILE *f, size_t *len_out)
{
    if (fseek(f, 0, SEEK_END) != 0) return NULL;
    long n = ftell(f);
    if (n < 0) return NULL;
    rewind(f);
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    size_t got = fread(p, 1, (size_t)n, f);
    p[got] = '\0';
    if (len_out) *len_out = got;
    return p;
}

static char *slurp_path(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *p = slurp_file(f, NULL);
    fclose(f);
    return p;
}

/* Renders ch with allot_svg_chart; returns the SVG text (caller frees). */
static char *render_svg(const allot_chart *ch, int w, int h, int *err)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    *err = allot_svg_chart(f, ch, w, h);
    char *s = slurp_file(f, NULL);
    fclose(f);
    assert_non_null(s);
    return s;
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + k, needle)) n++;
    return n;
}

/* The d attribute of the i-th <path> (0-based); caller frees. */
static char *path_d(const char *svg, int i)
{
    const char *p = svg;
    for (int k = 0; k <= i; k++) {
        p = strstr(p, "<path");
        if (!p) return NULL;
        p += 5;
    }
    const char *d = strstr(p, " d=\"");
    if (!d) return NULL;
    d += 4;
    const char *e = strchr(d, '"');
    char *out = malloc((size_t)(e - d) + 1);
    memcpy(out, d, (size_t)(e - d));
    out[e - d] = '\0';
    return out;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

static allot_chart chart_of(const allot_series *s, size_t n)
{
    allot_chart ch = {.title = "t",
                      .xlabel = "x",
                      .ylabel = "y",
                      .series = s,
                      .nseries = n,
                      .ymin = NAN,
                      .ymax = NAN,
                      .xmin = NAN,
                      .xmax = NAN,
                      .step = 0};
    return ch;
}

static char *esc(const char *s)
{
    allot__buf b = {0};
    allot__buf_esc(&b, s);
    assert_int_equal(b.err, 0);
    if (!b.p) return strdup("");
    return b.p;
}

/* deterministic PRNG */
static uint64_t rng_state = 88172645463325252ull;
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* ---- escaping --------------------------------------------------------------------- */

static void test_escape(void **state)
{
    (void)state;
    char *s = esc("<script>alert(\"x\" & 'y')</script>");
    assert_string_equal(s, "&lt;script&gt;alert(&quot;x&quot; &amp; "
                           "&#39;y&#39;)&lt;/script&gt;");
    free(s);
    s = esc("plain text, ünïcødé ✓ 🚀");
    assert_string_equal(s, "plain text, ünïcødé ✓ 🚀");
    free(s);
    /* control characters and invalid UTF-8 become U+FFFD; TAB/LF stay */
    s = esc("a\x01"
            "b\tc\n\xff\xc0\xaf"
            "d\xed\xa0\x80");
    assert_string_equal(s, "a\xEF\xBF\xBD"
                           "b\tc\n\xEF\xBF\xBD\xEF\xBF\xBD"
                           "\xEF\xBF\xBD"
                           "d\xEF\xBF\xBD\xEF\xBF\xBD"
                           "\xEF\xBF\xBD");
    free(s);
    s = esc(NULL);
    assert_string_equal(s, "");
    free(s);

    allot__buf b = {0};
    allot__buf_esc_trunc(&b, "abcdef<h", 5);
    assert_string_equal(b.p, "abcd\xE2\x80\xA6");
    allot__buf_free(&b);
    allot__buf_esc_trunc(&b, "a<b", 5);
    assert_string_equal(b.p, "a&lt;b");
    allot__buf_free(&b);
    assert_int_equal(allot__utf8_len("ü✓🚀a"), 4);
}

static void test_escape_in_documents(void **state)
{
    (void)state;
    const char *evil = "<script>alert('&\"')</script>";
    double x[3] = {0, 1, 2}, y[3] = {1, 2, 3};
    allot_series s[2] = {{evil, x, y, 3}, {"b&b", x, y, 3}};
    allot_chart ch = chart_of(s, 2);
    ch.title = evil;
    ch.xlabel = evil;
    ch.ylabel = "\"quoted\"";

    int err;
    char *svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    assert_null(strstr(svg, "<script"));
    assert_non_null(strstr(svg, "&lt;script&gt;"));
    assert_non_null(strstr(svg, "b&amp;b"));
    assert_non_null(strstr(svg, "&quot;quoted&quot;"));
    free(svg);

    allot_report *r = allot_report_new(evil);
    assert_non_null(r);
    assert_int_equal(allot_report_heading(r, evil), 0);
    assert_int_equal(allot_report_para(r, evil), 0);
    const char *hdr[2] = {evil, "n"};
    const char *cells[2] = {evil, "1"};
    assert_int_equal(allot_report_table(r, evil, 2, hdr, cells, 1), 0);
    assert_int_equal(allot_report_chart(r, &ch), 0);
    char path[] = "/tmp/allot-report-XXXXXX";
    assert_non_null(mkdtemp(path));
    char file[64];
    snprintf(file, sizeof file, "%s/r.html", path);
    assert_int_equal(allot_report_write(r, file), 0);
    char *doc = slurp_path(file);
    assert_non_null(doc);
    /* no scripts, no external assets */
    for (char *p = doc; *p; p++) *p = (char)tolower((unsigned char)*p);
    assert_null(strstr(doc, "<script"));
    assert_null(strstr(doc, "<link"));
    assert_null(strstr(doc, "src="));
    assert_null(strstr(doc, "href="));
    assert_null(strstr(doc, "@import"));
    assert_null(strstr(doc, "url(http"));
    assert_null(strstr(doc, "https:"));
    /* the only http: is the SVG namespace */
    assert_int_equal(count_str(doc, "http:"),
                     count_str(doc, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_true(count_str(doc, "&lt;script&gt;") >= 5);
    free(doc);
    unlink(file);
    rmdir(path);
    allot_report_free(r);
}

/* ---- ticks ------------------------------------------------------------------------- */

static int is_nice(double step)
{
    double e = floor(log10(step));
    double m = step / pow(10, e);
    return fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9 || fabs(m - 10) < 1e-9;
}

static void test_ticks(void **state)
{
    (void)state;
    double t[ALLOT__MAX_TICKS], step;
    size_t n = allot__ticks(0, 1, 5, t, ALLOT__MAX_TICKS, &step);
    assert_int_equal(n, 6);
    assert_true(fabs(step - 0.2) < 1e-12);
    for (size_t i = 0; i < n; i++) assert_true(fabs(t[i] - 0.2 * i) < 1e-12);

    n = allot__ticks(0, 100, 5, t, ALLOT__MAX_TICKS, &step);
    assert_int_equal(n, 6);
    assert_true(step == 20);
    assert_true(t[5] == 100);

    n = allot__ticks(-3.7, 12.2, 5, t, ALLOT__MAX_TICKS, &step);
    assert_true(step == 5);
    assert_int_equal(n, 3);
    assert_true(t[0] == 0 && t[1] == 5 && t[2] == 10);
    assert_false(signbit(t[0])); /* no -0 */

    n = allot__ticks(0.001, 0.0013, 3, t, ALLOT__MAX_TICKS, &step);
    assert_true(n >= 2);
    assert_true(is_nice(step));

    /* bad input */
    assert_int_equal(allot__ticks(1, 1, 5, t, ALLOT__MAX_TICKS, NULL), 0);
    assert_int_equal(allot__ticks(2, 1, 5, t, ALLOT__MAX_TICKS, NULL), 0);
    assert_int_equal(allot__ticks(NAN, 1, 5, t, ALLOT__MAX_TICKS, NULL), 0);
    assert_int_equal(allot__ticks(0, INFINITY, 5, t, ALLOT__MAX_TICKS, NULL), 0);
    /* cap respected */
    assert_int_equal(allot__ticks(0, 1000, 100, t, 4, NULL), 4);

    /* property: random ranges give nice steps and sensible counts */
    for (int i = 0; i < 5000; i++) {
        double a = (rnd() - 0.5) * pow(10, (int)(rnd() * 16) - 8);
        double span = pow(10, rnd() * 14 - 7);
        double b = a + span;
        int target = 2 + (int)(rnd() * 10);
        n = allot__ticks(a, b, target, t, ALLOT__MAX_TICKS, &step);
        assert_true(is_nice(step));
        assert_true(n >= 1);
        assert_true(n <= (size_t)(2.5 * target) + 2);
        for (size_t k = 0; k < n; k++) {
            assert_true(t[k] >= a - span * 1e-6 && t[k] <= b + span * 1e-6);
            if (k) assert_true(t[k] > t[k - 1]);
        }
    }
}

static void test_tick_labels(void **state)
{
    (void)state;
    char buf[32];
    allot__fmt_tick(buf, sizeof buf, 0.4, 0.2, 1);
    assert_string_equal(buf, "0.4");
    allot__fmt_tick(buf, sizeof buf, 1, 0.2, 1);
    assert_string_equal(buf, "1.0");
    allot__fmt_tick(buf, sizeof buf, 3, 1, 10);
    assert_string_equal(buf, "3");
    allot__fmt_tick(buf, sizeof buf, 0.05, 0.05, 0.3);
    assert_string_equal(buf, "0.05");
    allot__fmt_tick(buf, sizeof buf, -1e-17, 0.1, 1);
    assert_string_equal(buf, "0");
    allot__fmt_tick(buf, sizeof buf, 0, 5e5, 4e6);
    assert_string_equal(buf, "0");
    allot__fmt_tick(buf, sizeof buf, 20000, 10000, 80000);
    assert_string_equal(buf, "20k");
    allot__fmt_tick(buf, sizeof buf, 1.5e6, 5e5, 3e6);
    assert_string_equal(buf, "1.5M");
    allot__fmt_tick(buf, sizeof buf, 4e9, 1e9, 8e9);
    assert_string_equal(buf, "4G");
    allot__fmt_tick(buf, sizeof buf, 5000, 1000, 9000);
    assert_string_equal(buf, "5000");
    allot__fmt_tick(buf, sizeof buf, -40, 20, 100);
    assert_string_equal(buf, "-40");
}

/* ---- NaN gaps and thinning ------------------------------------------------------------ */

static void test_nan_gaps(void **state)
{
    (void)state;
    double x[10], y[10];
    for (int i = 0; i < 10; i++) x[i] = i, y[i] = i * i;
    y[0] = NAN;      /* leading gap: dropped */
    y[4] = NAN;      /* gap */
    x[5] = NAN;      /* same gap, collapsed */
    y[7] = INFINITY; /* infinities are gaps too */
    y[9] = NAN;      /* trailing gap: dropped */
    size_t out[ALLOT__THIN_CAP];
    size_t k = allot__thin(x, y, 10, ALLOT__CHART_MAX_DRAWN, out, ALLOT__THIN_CAP);
    const size_t want[] = {1, 2, 3, ALLOT__GAP, 6, ALLOT__GAP, 8};
    assert_int_equal(k, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < k; i++) assert_true(out[i] == want[i]);

    /* In the SVG the gaps lift the pen: three subpaths, the last one a dot. */
    allot_series s = {"gappy", x, y, 10};
    allot_chart ch = chart_of(&s, 1);
    int err;
    char *svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    char *d = path_d(svg, 0);
    assert_non_null(d);
    assert_int_equal(count_char(d, 'M'), 3);
    assert_int_equal(count_char(d, 'L'), 2);
    assert_non_null(strstr(d, "h0")); /* lone point drawn as a dot */
    assert_null(strstr(d, "nan"));
    free(d);
    /* markers only at drawable points: 5 of them */
    assert_int_equal(count_str(svg, "<circle"), 5);
    free(svg);

    /* all-NaN series: no path, "no data" */
    double nx[3] = {NAN, NAN, NAN};
    allot_series s2 = {"none", nx, nx, 3};
    ch = chart_of(&s2, 1);
    svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    assert_null(strstr(svg, "<path"));
    assert_non_null(strstr(svg, "no data"));
    free(svg);
}

static void test_thin_keeps_extremes(void **state)
{
    (void)state;
    const size_t n = 100000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = sin((double)i / 5000.0) + 0.01 * rnd();
    }
    y[54321] = 1000; /* spike */
    y[777] = -1000;  /* dip */
    y[99998] = 500;  /* near the end */
    size_t out[ALLOT__THIN_CAP];
    size_t k = allot__thin(x, y, n, ALLOT__CHART_MAX_DRAWN, out, ALLOT__THIN_CAP);
    int seen_spike = 0, seen_dip = 0, seen_end = 0;
    size_t pts = 0;
    for (size_t i = 0; i < k; i++) {
        assert_true(out[i] != ALLOT__GAP); /* no NaN, no gaps */
        if (i) assert_true(out[i] > out[i - 1]);
        pts++;
        seen_spike |= out[i] == 54321;
        seen_dip |= out[i] == 777;
        seen_end |= out[i] == 99998;
    }
    assert_true(seen_spike && seen_dip && seen_end);
    assert_true(pts <= ALLOT__CHART_MAX_DRAWN + 2);
    assert_true(pts >= ALLOT__CHART_MAX_DRAWN / 2);
    assert_true(out[0] == 0);
    assert_true(out[k - 1] == n - 1);

    /* gaps survive thinning */
    for (size_t i = 30000; i < 31000; i++) y[i] = NAN;
    k = allot__thin(x, y, n, ALLOT__CHART_MAX_DRAWN, out, ALLOT__THIN_CAP);
    size_t gaps = 0;
    for (size_t i = 0; i < k; i++) {
        if (out[i] != ALLOT__GAP) continue;
        gaps++;
        assert_true(i > 0 && i + 1 < k);
        assert_true(out[i - 1] < 30000 && out[i + 1] >= 31000);
    }
    assert_int_equal(gaps, 1);

    /* end to end: a big series is drawn with <= ~400 points and <= 60
     * markers */
    allot_series s = {"big", x, y, n};
    allot_chart ch = chart_of(&s, 1);
    int err;
    char *svg = render_svg(&ch, 960, 400, &err);
    assert_int_equal(err, 0);
    char *d = path_d(svg, 0);
    assert_non_null(d);
    size_t drawn = count_char(d, 'M') + count_char(d, 'L');
    assert_true(drawn <= ALLOT__CHART_MAX_DRAWN + 2);
    assert_int_equal(count_char(d, 'M'), 2);
    free(d);
    size_t circles = count_str(svg, "<circle");
    assert_true(circles <= ALLOT__CHART_MAX_MARKERS);
    assert_true(circles >= ALLOT__CHART_MAX_MARKERS / 2);
    assert_true(count_str(svg, "<title>") >= circles);
    assert_true(strlen(svg) < 60000);
    free(svg);

    /* zoomed (explicit x range): thinning and markers cover what is
     * visible, not the whole series */
    ch.xmin = 50000;
    ch.xmax = 51000;
    svg = render_svg(&ch, 960, 400, &err);
    assert_int_equal(err, 0);
    d = path_d(svg, 0);
    drawn = count_char(d, 'M') + count_char(d, 'L');
    assert_true(drawn >= 300 && drawn <= ALLOT__CHART_MAX_DRAWN + 2);
    free(d);
    circles = count_str(svg, "<circle");
    assert_true(circles >= 50 && circles <= ALLOT__CHART_MAX_MARKERS);
    free(svg);
    free(x);
    free(y);
}

/* ---- chart features --------------------------------------------------------------------- */

static void test_chart_step_and_ranges(void **state)
{
    (void)state;
    double x[5] = {1, 2, 3, 4, 5}, y[5] = {0.1, 0.4, 0.5, 0.9, 1.0};
    allot_series s = {"cdf", x, y, 5};
    allot_chart ch = chart_of(&s, 1);
    ch.step = 1;
    int err;
    char *svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    char *d = path_d(svg, 0);
    assert_int_equal(count_char(d, 'H'), 4);
    assert_int_equal(count_char(d, 'V'), 4);
    assert_int_equal(count_char(d, 'L'), 0);
    free(d);
    /* y from data widens to nice ticks: 0 ... 1.0 */
    assert_non_null(strstr(svg, ">0</text>"));
    assert_non_null(strstr(svg, ">0.2</text>"));
    assert_non_null(strstr(svg, ">1.0</text>"));
    /* legend, axis labels, gridlines, clip path */
    assert_non_null(strstr(svg, "class=\"legend\""));
    assert_non_null(strstr(svg, "clip-path=\"url(#"));
    assert_non_null(strstr(svg, "class=\"grid\""));
    free(svg);

    /* explicit ranges: ticks stay inside, out-of-range points get no marker */
    ch.step = 0;
    ch.ymin = 0;
    ch.ymax = 0.6;
    ch.xmin = 0;
    ch.xmax = 10;
    svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    assert_null(strstr(svg, ">0.8</text>"));
    assert_non_null(strstr(svg, ">0.6</text>"));
    assert_non_null(strstr(svg, ">10</text>"));
    assert_int_equal(count_str(svg, "<circle"), 3);
    free(svg);

    /* deterministic: same chart, same bytes */
    char *a = render_svg(&ch, 640, 360, &err);
    char *b = render_svg(&ch, 640, 360, &err);
    assert_string_equal(a, b);
    free(a);
    free(b);

    /* constant and empty data still render */
    double c[3] = {2, 2, 2};
    allot_series sc = {"flat", c, c, 3};
    ch = chart_of(&sc, 1);
    svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    free(svg);
    ch = chart_of(NULL, 0);
    svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    assert_non_null(strstr(svg, "no data"));
    free(svg);

    /* a title too long for the chart is cut with an ellipsis; the full text
     * stays in the <title> tooltip */
    char longt[400];
    memset(longt, 'W', sizeof longt - 1);
    longt[sizeof longt - 1] = '\0';
    ch = chart_of(&s, 1);
    ch.title = longt;
    svg = render_svg(&ch, 640, 360, &err);
    assert_int_equal(err, 0);
    assert_non_null(strstr(svg, longt));
    assert_non_null(strstr(svg, "W\xE2\x80\xA6</text>"));
    free(svg);

    /* 64 series: all distinct styles, legend wraps */
    allot_series many[ALLOT__CHART_MAX_SERIES];
    char names[ALLOT__CHART_MAX_SERIES][16];
    for (int i = 0; i < ALLOT__CHART_MAX_SERIES; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        many[i] = (allot_series){names[i], x, y, 5};
    }
    ch = chart_of(many, ALLOT__CHART_MAX_SERIES);
    svg = render_svg(&ch, 960, 600, &err);
    assert_int_equal(err, 0);
    assert_int_equal(count_str(svg, "<path"), ALLOT__CHART_MAX_SERIES);
    free(svg);
}

/* ---- tables ------------------------------------------------------------------------------ */

static void test_numeric_cells(void **state)
{
    (void)state;
    assert_true(allot__is_numeric("12"));
    assert_true(allot__is_numeric("-3.5"));
    assert_true(allot__is_numeric("1e6"));
    assert_true(allot__is_numeric("87.5%"));
    assert_true(allot__is_numeric(" 7"));
    assert_false(allot__is_numeric(""));
    assert_false(allot__is_numeric(NULL));
    assert_false(allot__is_numeric("%"));
    assert_false(allot__is_numeric("12 GB"));
    assert_false(allot__is_numeric("12%%"));
    assert_false(allot__is_numeric("7 "));
    assert_false(allot__is_numeric("fgd"));
    assert_false(allot__is_numeric("1,234"));
}

static void test_table_alignment(void **state)
{
    (void)state;
    allot_report *r = allot_report_new("t");
    const char *hdr[3] = {"policy", "alloc", "note"};
    const char *cells[6] = {"fgd", "91.5%", "x<y", "best-fit", "88", "12 GB"};
    assert_int_equal(allot_report_table(r, "Summary & more", 3, hdr, cells, 2), 0);
    char dir[] = "/tmp/allot-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof file, "%s/t.html", dir);
    assert_int_equal(allot_report_write(r, file), 0);
    char *doc = slurp_path(file);
    assert_non_null(strstr(doc, "<caption>Summary &amp; more</caption>"));
    assert_non_null(strstr(doc, "<th scope=\"col\">policy</th>"
                                "<th scope=\"col\" class=\"num\">alloc</th>"
                                "<th scope=\"col\">note</th>"));
    assert_non_null(strstr(doc, "<tr><td>fgd</td><td class=\"num\">91.5%</td>"
                                "<td>x&lt;y</td></tr>"));
    assert_non_null(strstr(doc, "<tr><td>best-fit</td><td class=\"num\">88"
                                "</td><td>12 GB</td></tr>"));
    free(doc);
    unlink(file);
    rmdir(dir);
    allot_report_free(r);
}

/* ---- writing ------------------------------------------------------------------------------ */

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_atomic_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/allot-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof file, "%s/out.html", dir);

    allot_report *r = allot_report_new("first");
    assert_int_equal(allot_report_para(r, "one"), 0);
    assert_int_equal(allot_report_write(r, file), 0);
    char *doc = slurp_path(file);
    assert_non_null(doc);
    assert_true(strncmp(doc, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(doc, "<p>one</p>"));
    assert_non_null(strstr(doc, "</html>\n"));
    free(doc);
    assert_int_equal(dir_entries(dir), 1); /* no temp file left behind */
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* overwrite replaces the content */
    assert_int_equal(allot_report_para(r, "two"), 0);
    assert_int_equal(allot_report_write(r, file), 0);
    doc = slurp_path(file);
    assert_non_null(strstr(doc, "<p>two</p>"));
    free(doc);
    assert_int_equal(dir_entries(dir), 1);

    /* same report twice: same bytes */
    char file2[64];
    snprintf(file2, sizeof file2, "%s/out2.html", dir);
    assert_int_equal(allot_report_write(r, file2), 0);
    char *a = slurp_path(file), *b = slurp_path(file2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    unlink(file2);

    /* missing directory: EIO, nothing created */
    char bad[96];
    snprintf(bad, sizeof bad, "%s/missing/out.html", dir);
    assert_int_equal(allot_report_write(r, bad), ALLOT_EIO);

    /* rename fails (target is a non-empty directory): EIO, the temp file is
     * removed and the target is untouched */
    char sub[64], inner[96];
    snprintf(sub, sizeof sub, "%s/isdir.html", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(allot_report_write(r, sub), ALLOT_EIO);
    assert_int_equal(dir_entries(dir), 2); /* out.html and isdir.html */
    assert_int_equal(stat(inner, &st), 0);
    unlink(inner);
    rmdir(sub);

    /* a path naming a directory, or nothing */
    char slash[64];
    snprintf(slash, sizeof slash, "%s/", dir);
    assert_int_equal(allot_report_write(r, slash), ALLOT_EINVAL);
    assert_int_equal(allot_report_write(r, ""), ALLOT_EINVAL);
    assert_int_equal(allot_report_write(r, NULL), ALLOT_EINVAL);
    assert_int_equal(allot_report_write(NULL, file), ALLOT_EINVAL);

    unlink(file);
    assert_int_equal(rmdir(dir), 0);
    allot_report_free(r);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {0, 1, 2};
    allot_series s = {"s", x, y, 3};
    allot_chart ch = chart_of(&s, 1);
    FILE *f = tmpfile();
    assert_non_null(f);

    assert_int_equal(allot_svg_chart(NULL, &ch, 640, 360), ALLOT_EINVAL);
    assert_int_equal(allot_svg_chart(f, NULL, 640, 360), ALLOT_EINVAL);
    assert_int_equal(allot_svg_chart(f, &ch, 10, 360), ALLOT_ERANGE);
    assert_int_equal(allot_svg_chart(f, &ch, 640, 100000), ALLOT_ERANGE);

    /* caps */
    allot_series many[ALLOT__CHART_MAX_SERIES + 1];
    for (size_t i = 0; i < ALLOT__CHART_MAX_SERIES + 1; i++) many[i] = s;
    allot_chart cm = chart_of(many, ALLOT__CHART_MAX_SERIES + 1);
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_ELIMIT);
    /* point caps are checked before any data is read */
    allot_series huge = {"h", x, y, ALLOT__CHART_MAX_POINTS + 1};
    cm = chart_of(&huge, 1);
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_ELIMIT);
    allot_series two[2] = {{"a", x, y, ALLOT__CHART_MAX_POINTS / 2 + 1},
                           {"b", x, y, ALLOT__CHART_MAX_POINTS / 2 + 1}};
    cm = chart_of(two, 2);
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_ELIMIT);
    allot_series wrap[2] = {{"a", x, y, SIZE_MAX}, {"b", x, y, 2}};
    cm = chart_of(wrap, 2);
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_ELIMIT);

    /* bad series and ranges */
    allot_series nox = {"n", NULL, y, 3};
    cm = chart_of(&nox, 1);
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_EINVAL);
    cm = chart_of(NULL, 2);
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_EINVAL);
    cm = chart_of(&s, 1);
    cm.ymin = 1;
    cm.ymax = 1;
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_EINVAL);
    cm = chart_of(&s, 1);
    cm.xmax = INFINITY;
    assert_int_equal(allot_svg_chart(f, &cm, 640, 360), ALLOT_EINVAL);
    /* nothing was written by the failures */
    fflush(f);
    assert_int_equal(ftell(f), 0);
    fclose(f);

    /* a stream that cannot be written: EIO */
    f = fopen("/dev/null", "r");
    assert_non_null(f);
    assert_int_equal(allot_svg_chart(f, &ch, 640, 360), ALLOT_EIO);
    fclose(f);

    /* report operations */
    assert_int_equal(allot_report_heading(NULL, "x"), ALLOT_EINVAL);
    assert_int_equal(allot_report_chart(NULL, &ch), ALLOT_EINVAL);
    allot_report *r = allot_report_new(NULL);
    assert_non_null(r);
    assert_int_equal(allot_report_heading(r, NULL), ALLOT_EINVAL);
    assert_int_equal(allot_report_para(r, NULL), ALLOT_EINVAL);
    assert_int_equal(allot_report_chart(r, NULL), ALLOT_EINVAL);
    const char *hdr[1] = {"h"};
    assert_int_equal(allot_report_table(r, "c", 0, hdr, NULL, 0), ALLOT_EINVAL);
    assert_int_equal(allot_report_table(r, "c", 1, hdr, NULL, 1), ALLOT_EINVAL);
    assert_int_equal(allot_report_table(r, "c", 1, hdr, NULL, -1), ALLOT_EINVAL);
    assert_int_equal(allot_report_table(r, "c", 5000, NULL, NULL, 0), ALLOT_ELIMIT);
    /* header may be omitted, cells may be NULL strings */
    const char *cells[2] = {NULL, "2"};
    assert_int_equal(allot_report_table(r, NULL, 1, NULL, cells, 2), 0);

    /* a failed chart leaves the report as it was */
    char dir[] = "/tmp/allot-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, "%s/a.html", dir);
    snprintf(p2, sizeof p2, "%s/b.html", dir);
    assert_int_equal(allot_report_write(r, p1), 0);
    cm = chart_of(many, ALLOT__CHART_MAX_SERIES + 1);
    assert_int_equal(allot_report_chart(r, &cm), ALLOT_ELIMIT);
    assert_int_equal(allot_report_write(r, p2), 0);
    char *a = slurp_path(p1), *b = slurp_path(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    allot_report_free(r);
    allot_report_free(NULL);
}

/* ---- a realistic report ------------------------------------------------------------------- */

/* Builds the sample report (two line charts, a CDF and a table). Written to
 * $ALLOT_REPORT_SAMPLE when set, so a person can open or screenshot it. */
static void test_sample_report(void **state)
{
    (void)state;
    enum { NW = 131, NT = 20161, NC = 2000 };
    static double wl[NW], fgd_a[NW], bf_a[NW], fgd_f[NW], bf_f[NW];
    for (int i = 0; i < NW; i++) {
        double w = i; /* arrived workload, % of cluster GPU capacity */
        wl[i] = w;
        double sat_f = 94.5, sat_b = 88.0;
        fgd_a[i] = w < 80 ? w : sat_f - (sat_f - 80) * exp(-(w - 80) / 9.0);
        bf_a[i] = w < 70 ? w : sat_b - (sat_b - 70) * exp(-(w - 70) / 10.0);
        if (fgd_a[i] > w) fgd_a[i] = w;
        if (bf_a[i] > w) bf_a[i] = w;
        fgd_f[i] = 100 * (1 - exp(-w / 55.0)) * 0.18 * (w / 130.0) + 0.4 * rnd();
        bf_f[i] = 100 * (1 - exp(-w / 45.0)) * 0.31 * (w / 130.0) + 0.5 * rnd();
    }
    allot_series s1[4] = {{"FGD: GPUs allocated", wl, fgd_a, NW},
                          {"Best-fit: GPUs allocated", wl, bf_a, NW},
                          {"FGD: fragmented", wl, fgd_f, NW},
                          {"Best-fit: fragmented", wl, bf_f, NW}};
    allot_chart c1 = {.title = "Allocation and fragmentation vs arrived "
                               "workload (openb, 1 523 nodes)",
                      .xlabel = "arrived workload (% of GPU capacity)",
                      .ylabel = "% of GPU capacity",
                      .series = s1,
                      .nseries = 4,
                      .ymin = 0,
                      .ymax = 100,
                      .xmin = NAN,
                      .xmax = NAN};

    /* one week at 30 s, with a telemetry outage */
    double *t = malloc(NT * sizeof *t), *ua = malloc(NT * sizeof *ua),
           *ub = malloc(NT * sizeof *ub), *ut = malloc(NT * sizeof *ut);
    assert_true(t && ua && ub && ut);
    for (int i = 0; i < NT; i++) {
        double h = i * 30.0 / 3600.0;
        t[i] = h;
        double day = sin((h - 8) / 24.0 * 6.283185307179586);
        ua[i] = 38 + 14 * day + 3 * (rnd() - 0.5);
        ub[i] = 27 + 6 * sin(h / 7.0) + 4 * (rnd() - 0.5);
        if (h > 100 && h < 101.5) ub[i] += 25; /* burst */
        ut[i] = ua[i] + ub[i];
        if (h > 60 && h < 66) ua[i] = ub[i] = ut[i] = NAN;
    }
    allot_series s2[3] = {
        {"total", t, ut, NT}, {"tenant research", t, ua, NT}, {"tenant inference", t, ub, NT}};
    allot_chart c2 = {.title = "GPU utilisation over time",
                      .xlabel = "time (hours)",
                      .ylabel = "utilisation (%)",
                      .series = s2,
                      .nseries = 3,
                      .ymin = 0,
                      .ymax = NAN,
                      .xmin = 0,
                      .xmax = 168};

    /* CDF of queueing delay, two policies */
    double *qa = malloc(NC * sizeof *qa), *qb = malloc(NC * sizeof *qb),
           *p = malloc(NC * sizeof *p);
    assert_true(qa && qb && p);
    for (int i = 0; i < NC; i++) {
        p[i] = (i + 1.0) / NC;
        qa[i] = -log(1 - p[i] * 0.999) * 180;
        qb[i] = -log(1 - p[i] * 0.999) * 420;
    }
    allot_series s3[2] = {{"fgd", qa, p, NC}, {"best-fit", qb, p, NC}};
    allot_chart c3 = {.title = "Queueing delay (CDF)",
                      .xlabel = "wait before start (s)",
                      .ylabel = "fraction of jobs",
                      .series = s3,
                      .nseries = 2,
                      .ymin = 0,
                      .ymax = 1,
                      .xmin = 0,
                      .xmax = 3000,
                      .step = 1};

    allot_report *r = allot_report_new("Simulation report: openb trace, fgd "
                                       "vs best-fit");
    assert_non_null(r);
    assert_int_equal(allot_report_para(r, "Cluster: 1 523 nodes, 6 212 GPUs "
                                          "(V100M16, V100M32, T4, A10, P100, "
                                          "G2, G3). Workload: openb default "
                                          "trace, 8 152 tasks, replayed "
                                          "until 130 % of GPU capacity has "
                                          "arrived. Seed 42."),
                     0);
    assert_int_equal(allot_report_heading(r, "Summary"), 0);
    const char *hdr[6] = {"policy",      "GPU alloc. at 100 %", "frag. at 100 %",
                          "jobs failed", "p99 wait (s)",        "notes"};
    const char *cells[] = {
        "fgd",      "92.1%", "6.2%",  "312",  "1204", "fragmentation-aware",
        "best-fit", "86.4%", "11.8%", "771",  "2870", "packs by free GPU",
        "random",   "79.9%", "17.5%", "1402", "4411", "baseline <& \"quoted\">",
    };
    assert_int_equal(allot_report_table(r,
                                        "Policies at 100 % arrived "
                                        "workload",
                                        6, hdr, cells, 3),
                     0);
    assert_int_equal(allot_report_heading(r, "Allocation"), 0);
    assert_int_equal(allot_report_chart(r, &c1), 0);
    assert_int_equal(allot_report_heading(r, "Utilisation"), 0);
    assert_int_equal(allot_report_para(r, "Telemetry was missing between "
                                          "hour 60 and 66; the gap is left "
                                          "blank."),
                     0);
    assert_int_equal(allot_report_chart(r, &c2), 0);
    assert_int_equal(allot_report_heading(r, "Queueing"), 0);
    assert_int_equal(allot_report_chart(r, &c3), 0);

    const char *out = getenv("ALLOT_REPORT_SAMPLE");
    char dir[] = "/tmp/allot-report-XXXXXX";
    char file[64];
    if (!out) {
        assert_non_null(mkdtemp(dir));
        snprintf(file, sizeof file, "%s/sample.html", dir);
    }
    assert_int_equal(allot_report_write(r, out ? out : file), 0);
    char *doc = slurp_path(out ? out : file);
    assert_non_null(doc);
    assert_int_equal(count_str(doc, "<svg"), 3);
    assert_int_equal(count_str(doc, "<table"), 1);
    /* unique clip ids */
    assert_non_null(strstr(doc, "id=\"allot-c1-clip\""));
    assert_non_null(strstr(doc, "id=\"allot-c3-clip\""));
    assert_true(strlen(doc) < 400000);
    free(doc);
    if (!out) {
        unlink(file);
        rmdir(dir);
    }
    allot_report_free(r);
    free(t);
    free(ua);
    free(ub);
    free(ut);
    free(qa);
    free(qb);
    free(p);
}

/* ---- log10 x axis and series preparation ------------------------------------- */

static char *render_svg_scaled(const allot_chart *ch, allot_scale sc, int *err)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    *err = allot_svg_chart_scaled(f, ch, 640, 360, sc);
    char *s = slurp_file(f, NULL);
    fclose(f);
    assert_non_null(s);
    return s;
}

static void test_log_axis(void **state)
{
    (void)state;
    /* six decades: ticks on powers of ten (or 1-2-5), labelled in data units */
    double x[7] = {0.001, 0.01, 0.1, 1, 10, 100, 1000}, y[7] = {0, 0.1, 0.2, 0.5, 0.7, 0.9, 1};
    allot_series s = {"jct", x, y, 7};
    allot_chart ch = chart_of(&s, 1);
    int err;
    char *svg = render_svg_scaled(&ch, ALLOT_SCALE_LOG10, &err);
    assert_int_equal(err, 0);
    assert_non_null(strstr(svg, ">0.001</text>"));
    assert_non_null(strstr(svg, ">1</text>"));
    assert_non_null(strstr(svg, ">1000</text>"));
    assert_null(strstr(svg, ">500</text>")); /* not a linear axis */
    /* points are evenly spaced on a log axis: x pixel steps are equal */
    double cx[7];
    const char *p = svg;
    for (int i = 0; i < 7; i++) {
        p = strstr(p, "<circle");
        assert_non_null(p);
        p = strstr(p, "cx=\"");
        cx[i] = strtod(p + 4, NULL);
    }
    for (int i = 2; i < 7; i++) assert_true(fabs((cx[i] - cx[i - 1]) - (cx[1] - cx[0])) < 0.25);
    /* tooltips give x in data units */
    assert_non_null(strstr(svg, ": 1000\n"));
    free(svg);

    /* the linear rendering of the same chart differs and has linear ticks */
    char *lin = render_svg_scaled(&ch, ALLOT_SCALE_LINEAR, &err);
    assert_int_equal(err, 0);
    char *lin2 = render_svg(&ch, 640, 360, &err);
    assert_string_equal(lin, lin2);
    assert_null(strstr(lin, ">0.001</text>"));
    free(lin);
    free(lin2);

    /* x <= 0 is a gap, not an error; two runs of points, two subpaths */
    double x2[5] = {1, 10, 0, 100, 1000}, y2[5] = {1, 2, 3, 4, 5};
    allot_series s2 = {"gap", x2, y2, 5};
    ch = chart_of(&s2, 1);
    svg = render_svg_scaled(&ch, ALLOT_SCALE_LOG10, &err);
    assert_int_equal(err, 0);
    char *d = path_d(svg, 0);
    assert_int_equal(count_char(d, 'M'), 2);
    free(d);
    free(svg);

    /* under a decade: linear steps in data units, still log-placed */
    double x3[3] = {2, 3, 4}, y3[3] = {1, 2, 3};
    allot_series s3 = {"narrow", x3, y3, 3};
    ch = chart_of(&s3, 1);
    svg = render_svg_scaled(&ch, ALLOT_SCALE_LOG10, &err);
    assert_int_equal(err, 0);
    assert_non_null(strstr(svg, ">3.0</text>"));
    free(svg);

    /* many decades: the labels thin out (every k-th power of ten) */
    double x4[2] = {1e-30, 1e30}, y4[2] = {0, 1};
    allot_series s4 = {"wide", x4, y4, 2};
    ch = chart_of(&s4, 1);
    svg = render_svg_scaled(&ch, ALLOT_SCALE_LOG10, &err);
    assert_int_equal(err, 0);
    assert_non_null(strstr(svg, ">1</text>"));
    assert_true(count_str(svg, "text-anchor=\"middle\">") < 20);
    free(svg);

    /* explicit bounds must be positive; unknown scales are refused */
    ch.xmin = 0;
    svg = render_svg_scaled(&ch, ALLOT_SCALE_LOG10, &err);
    assert_int_equal(err, ALLOT_EINVAL);
    free(svg);
    ch.xmin = NAN;
    svg = render_svg_scaled(&ch, (allot_scale)7, &err);
    assert_int_equal(err, ALLOT_EINVAL);
    free(svg);

    /* in a report */
    allot_report *r = allot_report_new("log");
    assert_non_null(r);
    ch = chart_of(&s, 1);
    assert_int_equal(allot_report_chart_scaled(r, &ch, ALLOT_SCALE_LOG10), 0);
    ch.xmin = -1;
    assert_int_equal(allot_report_chart_scaled(r, &ch, ALLOT_SCALE_LOG10), ALLOT_EINVAL);
    allot_report_free(r);
}

static void test_bucket_mean(void **state)
{
    (void)state;
    double x[8], y[8];
    /* n <= nb: the steps themselves, then the closing point */
    double t1[2] = {0, 10}, v1[2] = {1, 3};
    assert_int_equal(allot_series_bucket_mean(t1, v1, 2, 20, 5, x, y), 3);
    assert_true(x[0] == 0 && y[0] == 1 && x[1] == 10 && y[1] == 3 && x[2] == 20 && y[2] == 3);
    /* two buckets of 10 s */
    double t2[4] = {0, 5, 10, 15}, v2[4] = {0, 2, 4, 6};
    assert_int_equal(allot_series_bucket_mean(t2, v2, 4, 20, 2, x, y), 3);
    assert_true(x[0] == 0 && fabs(y[0] - 1) < 1e-12);
    assert_true(x[1] == 10 && fabs(y[1] - 5) < 1e-12);
    assert_true(x[2] == 20 && y[2] == 6);
    /* time-weighted: a 1 s spike of 100 in a 5 s bucket is 20 */
    double t3[3] = {0, 9, 10}, v3[3] = {0, 100, 0};
    assert_int_equal(allot_series_bucket_mean(t3, v3, 3, 10, 2, x, y), 3);
    assert_true(fabs(y[0]) < 1e-12 && fabs(y[1] - 20) < 1e-12 && y[2] == 0);
    /* zero-width steps (several events at one time) weigh nothing */
    double t4[3] = {0, 0, 5}, v4[3] = {7, 1, 3};
    assert_int_equal(allot_series_bucket_mean(t4, v4, 3, 10, 2, x, y), 3);
    assert_true(fabs(y[0] - 1) < 1e-12 && fabs(y[1] - 3) < 1e-12);
    /* bad input */
    double t5[3] = {0, 5, 4}, v5[3] = {1, 1, 1};
    assert_int_equal(allot_series_bucket_mean(t5, v5, 3, 10, 2, x, y), 0);
    assert_int_equal(allot_series_bucket_mean(t2, v2, 4, 12, 2, x, y), 0); /* t_end < t[n-1] */
    assert_int_equal(allot_series_bucket_mean(t2, v2, 0, 20, 2, x, y), 0);
    assert_int_equal(allot_series_bucket_mean(t2, v2, 4, 20, 0, x, y), 0);

    /* the time-weighted mean over the whole span is preserved */
    enum { N = 5000, NB = 37 };
    double *t = malloc(N * sizeof *t), *v = malloc(N * sizeof *v);
    double bx[NB + 1], by[NB + 1];
    assert_non_null(t);
    assert_non_null(v);
    uint64_t s = 12345;
    double now = 0, area = 0;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t[i] = now;
        v[i] = (double)(s >> 40) / (double)(1u << 24) * 100.0;
        double dt = (double)((s >> 20) & 7); /* 0..7 s, zeros included */
        now += dt;
    }
    double t_end = now + 3;
    for (int i = 0; i < N; i++) area += v[i] * ((i + 1 < N ? t[i + 1] : t_end) - t[i]);
    size_t k = allot_series_bucket_mean(t, v, N, t_end, NB, bx, by);
    assert_int_equal(k, NB + 1);
    double w = (t_end - t[0]) / NB, barea = 0;
    for (size_t i = 0; i + 1 < k; i++) {
        assert_true(fabs(bx[i] - (t[0] + w * (double)i)) < 1e-6);
        assert_true(by[i] >= 0 && by[i] <= 100);
        barea += by[i] * w;
    }
    assert_true(fabs(barea - area) <= 1e-9 * area);
    free(t);
    free(v);
}

static void test_cdf_points(void **state)
{
    (void)state;
    double x[16], y[16];
    double a[5] = {10, 20, 30, 40, 50};
    assert_int_equal(allot_cdf_points(a, 5, 10, 0.1, x, y), 5);
    for (int i = 0; i < 5; i++) {
        assert_true(fabs(x[i] - a[i] * 0.1) < 1e-12);
        assert_true(fabs(y[i] - (i + 1) / 5.0) < 1e-12);
    }
    enum { N = 1000 };
    double *b = malloc(N * sizeof *b);
    assert_non_null(b);
    for (int i = 0; i < N; i++) b[i] = i * 3.0;
    size_t k = allot_cdf_points(b, N, 10, 1.0, x, y);
    assert_int_equal(k, 10);
    assert_true(x[0] == 0 && fabs(y[0] - 1.0 / N) < 1e-12);
    assert_true(x[9] == 3.0 * (N - 1) && y[9] == 1.0);
    for (size_t i = 1; i < k; i++) assert_true(x[i] > x[i - 1] && y[i] > y[i - 1]);
    free(b);
    assert_int_equal(allot_cdf_points(a, 0, 10, 1, x, y), 0);
    assert_int_equal(allot_cdf_points(a, 5, 1, 1, x, y), 0);
    assert_int_equal(allot_cdf_points(NULL, 5, 10, 1, x, y), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_in_documents),
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_tick_labels),
        cmocka_unit_test(test_nan_gaps),
        cmocka_unit_test(test_thin_keeps_extremes),
        cmocka_unit_test(test_chart_step_and_ranges),
        cmocka_unit_test(test_numeric_cells),
        cmocka_unit_test(test_table_alignment),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_sample_report),
        cmocka_unit_test(test_log_axis),
        cmocka_unit_test(test_bucket_mean),
        cmocka_unit_test(test_cdf_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
