/* src/report/report.c - self-contained HTML reports.
 *
 * Worked example:
 *
 *     allot_report *r = allot_report_new("openb, 1 000 nodes, fgd");
 *     allot_report_heading(r, "Allocation");
 *     allot_report_chart(r, &chart);          // rendered now into r's buffer
 *     allot_report_table(r, "Summary", 3, hdr, cells, 4);
 *     int err = allot_report_write(r, "out/report.html");
 *     allot_report_free(r);
 *
 * The document is one HTML file: inline CSS (light, prints well), inline SVG
 * charts, no scripts, no external assets, no timestamps (same input, same
 * bytes). Every operation either appends a whole element or nothing: on
 * failure the body is rolled back to where it was. The body is capped at
 * ALLOT__REPORT_MAX_BYTES (ALLOT_ELIMIT beyond).
 *
 * allot_report_write() writes "<dir>/.<name>.XXXXXX" beside the target,
 * fsyncs it and renames it over the target, so readers see the old file or
 * the new one, never a torn one.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_int.h"

/* ---- buffer ------------------------------------------------------------------ */

void allot__buf_free(allot__buf *b)
{
    if (!b) return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int buf_reserve(allot__buf *b, size_t extra)
{
    if (b->err) return b->err;
    size_t limit = b->limit ? b->limit : ALLOT__REPORT_MAX_BYTES;
    if (extra > limit || b->len > limit - extra) return b->err = ALLOT_ELIMIT;
    size_t need = b->len + extra + 1; /* keep room for a NUL */
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p) return b->err = ALLOT_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

void allot__buf_put(allot__buf *b, const char *s, size_t n)
{
    if (!b || n == 0 || buf_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void allot__buf_puts(allot__buf *b, const char *s)
{
    if (s) allot__buf_put(b, s, strlen(s));
}

void allot__buf_printf(allot__buf *b, const char *fmt, ...)
{
    if (!b || b->err) return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = ALLOT_EINVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        allot__buf_put(b, small, (size_t)n);
        return;
    }
    if (buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- UTF-8 and escaping ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
        if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        return 4;
    }
    return 0;
}

size_t allot__utf8_len(const char *s)
{
    size_t n = 0;
    if (!s) return 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t k = utf8_seq(p);
        p += k ? k : 1;
        n++;
    }
    return n;
}

static void esc_n(allot__buf *b, const char *s, size_t max_chars)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    if (!b || !s) return;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p; /* start of bytes to copy verbatim */
    size_t chars = 0;
    while (*p) {
        if (chars == max_chars) {
            allot__buf_put(b, (const char *)run, (size_t)(p - run));
            allot__buf_puts(b, "\xE2\x80\xA6"); /* ellipsis */
            return;
        }
        const char *rep = NULL;
        size_t adv = 1;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
                rep = fffd;
            } else {
                size_t k = utf8_seq(p);
                if (k == 0)
                    rep = fffd;
                else
                    adv = k;
            }
        }
        if (rep) {
            allot__buf_put(b, (const char *)run, (size_t)(p - run));
            allot__buf_puts(b, rep);
            p += adv;
            run = p;
        } else {
            p += adv;
        }
        chars++;
    }
    allot__buf_put(b, (const char *)run, (size_t)(p - run));
}

void allot__buf_esc(allot__buf *b, const char *s) { esc_n(b, s, SIZE_MAX); }

void allot__buf_esc_trunc(allot__buf *b, const char *s, size_t max_chars)
{
    if (max_chars > 0 && allot__utf8_len(s) > max_chars)
        esc_n(b, s, max_chars - 1);
    else
        esc_n(b, s, SIZE_MAX);
}

int allot__is_numeric(const char *s)
{
    if (!s || !*s) return 0;
    char *end = NULL;
    (void)strtod(s, &end);
    if (end == s) return 0;
    if (*end == '%') end++;
    return *end == '\0';
}

/* ---- report -------------------------------------------------------------------- */

struct allot_report {
    char *title;
    allot__buf body;
    size_t ncharts; /* for unique element ids */
};

#define REPORT_CHART_W 960 /* px */
#define REPORT_CHART_H 400 /* px */

static const char k_css[] =
    ":root{color-scheme:light}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:#fff;color:#1f2328;"
    "font:15px/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,\"Noto Sans\",\"Liberation Sans\",sans-serif}\n"
    "main{max-width:1008px;margin:0 auto;padding:32px 24px 40px}\n"
    "header{border-bottom:2px solid #1f2328;padding-bottom:10px;"
    "margin-bottom:8px}\n"
    "h1{font-size:26px;line-height:1.25;margin:0;font-weight:650;"
    "letter-spacing:-.01em}\n"
    "h2{font-size:19px;line-height:1.3;margin:32px 0 10px;font-weight:600;"
    "padding-bottom:4px;border-bottom:1px solid #d0d7de}\n"
    "p{margin:0 0 12px;max-width:78ch}\n"
    "figure.chart{margin:14px 0 22px;padding:0}\n"
    "figure.chart svg{display:block;width:100%;max-width:960px;height:auto}\n"
    ".table-wrap{overflow-x:auto;margin:14px 0 22px}\n"
    "table{border-collapse:collapse;font-size:14px;"
    "font-variant-numeric:tabular-nums}\n"
    "caption{caption-side:top;text-align:left;font-weight:600;"
    "padding:0 0 6px;color:#1f2328}\n"
    "th,td{padding:6px 14px 6px 0;border-bottom:1px solid #d8dee4;"
    "text-align:left;vertical-align:top}\n"
    "th:last-child,td:last-child{padding-right:0}\n"
    "thead th{border-bottom:2px solid #57606a;font-weight:600}\n"
    "td.num,th.num{text-align:right;white-space:nowrap;padding-left:14px}\n"
    "footer{margin-top:36px;padding-top:8px;border-top:1px solid #d8dee4;"
    "color:#6e7781;font-size:12px}\n"
    "@page{margin:14mm}\n"
    "@media print{body{font-size:10.5pt}main{max-width:none;padding:0}"
    "h2{break-after:avoid}figure.chart,.table-wrap{break-inside:avoid}"
    "figure.chart svg{max-width:100%}thead{display:table-header-group}"
    ".table-wrap{overflow:visible}}\n";

allot_report *allot_report_new(const char *title)
{
    allot_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    const char *t = title ? title : "Report";
    size_t n = strlen(t);
    r->title = malloc(n + 1);
    if (!r->title) {
        free(r);
        return NULL;
    }
    memcpy(r->title, t, n + 1);
    return r;
}

void allot_report_free(allot_report *r)
{
    if (!r) return;
    allot__buf_free(&r->body);
    free(r->title);
    free(r);
}

/* Ends an append started at len0: keeps it (0) or rolls it back (err). */
static int finish(allot_report *r, size_t len0)
{
    int err = r->body.err;
    if (err) {
        r->body.err = 0;
        r->body.len = len0;
        if (r->body.p) r->body.p[len0] = '\0';
    }
    return err;
}

static int text_elem(allot_report *r, const char *tag, const char *text)
{
    if (!r || !text) return ALLOT_EINVAL;
    size_t len0 = r->body.len;
    allot__buf_printf(&r->body, "<%s>", tag);
    allot__buf_esc(&r->body, text);
    allot__buf_printf(&r->body, "</%s>\n", tag);
    return finish(r, len0);
}

int allot_report_heading(allot_report *r, const char *text) { return text_elem(r, "h2", text); }

int allot_report_para(allot_report *r, const char *text) { return text_elem(r, "p", text); }

int allot_report_table(allot_report *r, const char *caption, int ncols, const char *const *header,
                       const char *const *cells, int nrows)
{
    if (!r || ncols < 1 || nrows < 0 || (nrows > 0 && !cells)) return ALLOT_EINVAL;
    if (ncols > ALLOT__TABLE_MAX_COLS || nrows > ALLOT__TABLE_MAX_ROWS) return ALLOT_ELIMIT;
    /* A header cell is right-aligned when its column's non-empty cells are
     * all numeric (and there is at least one). */
    unsigned char colnum[ALLOT__TABLE_MAX_COLS];
    for (int c = 0; c < ncols; c++) {
        int any = 0, all = 1;
        for (int i = 0; i < nrows && all; i++) {
            const char *s = cells[(size_t)i * (size_t)ncols + (size_t)c];
            if (!s || !*s) continue;
            any = 1;
            all = allot__is_numeric(s);
        }
        colnum[c] = (unsigned char)(any && all);
    }
    size_t len0 = r->body.len;
    allot__buf *b = &r->body;
    allot__buf_puts(b, "<div class=\"table-wrap\"><table>\n");
    if (caption && *caption) {
        allot__buf_puts(b, "<caption>");
        allot__buf_esc(b, caption);
        allot__buf_puts(b, "</caption>\n");
    }
    if (header) {
        allot__buf_puts(b, "<thead><tr>");
        for (int c = 0; c < ncols; c++) {
            allot__buf_puts(b,
                            colnum[c] ? "<th scope=\"col\" class=\"num\">" : "<th scope=\"col\">");
            allot__buf_esc(b, header[c]);
            allot__buf_puts(b, "</th>");
        }
        allot__buf_puts(b, "</tr></thead>\n");
    }
    allot__buf_puts(b, "<tbody>\n");
    for (int i = 0; i < nrows && !b->err; i++) {
        allot__buf_puts(b, "<tr>");
        for (int c = 0; c < ncols; c++) {
            const char *s = cells[(size_t)i * (size_t)ncols + (size_t)c];
            allot__buf_puts(b, allot__is_numeric(s) ? "<td class=\"num\">" : "<td>");
            allot__buf_esc(b, s);
            allot__buf_puts(b, "</td>");
        }
        allot__buf_puts(b, "</tr>\n");
    }
    allot__buf_puts(b, "</tbody></table></div>\n");
    return finish(r, len0);
}

int allot_report_chart(allot_report *r, const allot_chart *ch)
{
    return allot_report_chart_scaled(r, ch, ALLOT_SCALE_LINEAR);
}

int allot_report_chart_scaled(allot_report *r, const allot_chart *ch, allot_scale xscale)
{
    if (!r || !ch) return ALLOT_EINVAL;
    size_t len0 = r->body.len;
    char id[32];
    snprintf(id, sizeof id, "allot-c%zu", r->ncharts + 1);
    allot__buf_puts(&r->body, "<figure class=\"chart\">\n");
    int err = allot__svg_render_scaled(&r->body, ch, REPORT_CHART_W, REPORT_CHART_H, id, xscale);
    allot__buf_puts(&r->body, "</figure>\n");
    if (err && !r->body.err) r->body.err = err;
    err = finish(r, len0);
    if (!err) r->ncharts++;
    return err;
}

int allot__report_figure(allot_report *r,
                         int (*render)(allot__buf *b, const void *arg, const char *id),
                         const void *arg)
{
    if (!r || !render) return ALLOT_EINVAL;
    size_t len0 = r->body.len;
    char id[32];
    snprintf(id, sizeof id, "allot-c%zu", r->ncharts + 1);
    allot__buf_puts(&r->body, "<figure class=\"chart\">\n");
    int err = render(&r->body, arg, id);
    allot__buf_puts(&r->body, "</figure>\n");
    if (err && !r->body.err) r->body.err = err;
    err = finish(r, len0);
    if (!err) r->ncharts++;
    return err;
}

/* ---- writing ------------------------------------------------------------------- */

static int put_all(FILE *f, const char *s, size_t n)
{
    return n == 0 || fwrite(s, 1, n, f) == n ? 0 : ALLOT_EIO;
}

static int write_doc(const allot_report *r, FILE *f)
{
    allot__buf head = {0};
    allot__buf_puts(&head, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                           "<meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, "
                           "initial-scale=1\">\n"
                           "<meta name=\"generator\" content=\"allot\">\n<title>");
    allot__buf_esc(&head, r->title);
    allot__buf_puts(&head, "</title>\n<style>\n");
    allot__buf_puts(&head, k_css);
    allot__buf_puts(&head, "</style>\n</head>\n<body>\n<main>\n<header><h1>");
    allot__buf_esc(&head, r->title);
    allot__buf_puts(&head, "</h1></header>\n");
    int err = head.err;
    if (!err) err = put_all(f, head.p, head.len);
    allot__buf_free(&head);
    if (!err) err = put_all(f, r->body.p, r->body.len);
    static const char tail[] = "<footer>Generated by allot.</footer>\n</main>\n</body>\n</html>\n";
    if (!err) err = put_all(f, tail, sizeof tail - 1);
    return err;
}

int allot_report_write(const allot_report *r, const char *path)
{
    if (!r || !path || !*path) return ALLOT_EINVAL;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    if (!*base) return ALLOT_EINVAL; /* path names a directory */
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    char *dir = NULL;
    FILE *f = NULL;
    int fd = -1, err = 0, made = 0;
    if (!tmp) return ALLOT_ENOMEM;
    snprintf(tmp, n, "%.*s.%s.XXXXXX", (int)dirlen, path, base);

    fd = mkstemp(tmp);
    if (fd < 0) {
        err = ALLOT_EIO;
        goto out;
    }
    made = 1;
    if (fchmod(fd, 0644) != 0) { /* mkstemp makes 0600; a report is public */
        err = ALLOT_EIO;
        goto out;
    }
    f = fdopen(fd, "wb");
    if (!f) {
        err = ALLOT_EIO;
        goto out;
    }
    fd = -1; /* owned by f now */
    err = write_doc(r, f);
    if (!err && fflush(f) != 0) err = ALLOT_EIO;
    if (!err && fsync(fileno(f)) != 0) err = ALLOT_EIO;
    if (fclose(f) != 0 && !err) err = ALLOT_EIO;
    f = NULL;
    if (err) goto out;
    if (rename(tmp, path) != 0) {
        err = ALLOT_EIO;
        goto out;
    }
    made = 0;
    /* Make the rename durable; best effort (some filesystems refuse). */
    dir = malloc(dirlen + 2);
    if (dir) {
        if (dirlen)
            snprintf(dir, dirlen + 2, "%.*s", (int)dirlen, path);
        else
            snprintf(dir, 2, ".");
        int dfd = open(dir, O_RDONLY);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
out:
    if (f) fclose(f);
    if (fd >= 0) close(fd);
    if (made) unlink(tmp);
    free(tmp);
    free(dir);
    return err;
}

/* ---- preparing series ---------------------------------------------------------- */

size_t allot_series_bucket_mean(const double *t, const double *v, size_t n, double t_end, size_t nb,
                                double *x, double *y)
{
    if (!t || !v || !x || !y || n == 0 || nb == 0) return 0;
    if (!isfinite(t[0]) || !isfinite(t_end) || t_end < t[n - 1]) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(t[i] >= t[i - 1]) || !isfinite(t[i])) return 0;
    if (n <= nb || !(t_end > t[0])) {
        for (size_t i = 0; i < n; i++) {
            x[i] = t[i];
            y[i] = v[i];
        }
        x[n] = t_end;
        y[n] = v[n - 1];
        return n + 1;
    }
    double t0 = t[0], w = (t_end - t0) / (double)nb;
    size_t k = 0, i = 0;
    for (size_t bk = 0; bk < nb; bk++) {
        double lo = t0 + w * (double)bk, hi = bk + 1 == nb ? t_end : t0 + w * (double)(bk + 1);
        double area = 0, covered = 0;
        /* steps overlapping [lo, hi): step i spans [t[i], t[i+1]) */
        while (i + 1 < n && t[i + 1] <= lo) i++;
        for (size_t j = i; j < n; j++) {
            double a = t[j], z = j + 1 < n ? t[j + 1] : t_end;
            if (a >= hi) break;
            if (a < lo) a = lo;
            if (z > hi) z = hi;
            if (z > a) {
                area += v[j] * (z - a);
                covered += z - a;
            }
        }
        if (covered > 0) {
            x[k] = lo;
            y[k] = area / covered;
            k++;
        }
    }
    x[k] = t_end;
    y[k] = v[n - 1];
    return k + 1;
}

size_t allot_cdf_points(const double *sorted, size_t n, size_t maxpts, double xscale, double *x,
                        double *y)
{
    if (!sorted || !x || !y || n == 0 || maxpts < 2) return 0;
    size_t m = n < maxpts ? n : maxpts;
    for (size_t k = 0; k < m; k++) {
        /* ranks evenly over 0..n-1, k = 0 -> 0, k = m-1 -> n-1 */
        size_t i = m == 1 ? n - 1 : (size_t)((double)k * (double)(n - 1) / (double)(m - 1) + 0.5);
        if (i > n - 1) i = n - 1;
        x[k] = sorted[i] * xscale;
        y[k] = (double)(i + 1) / (double)n;
    }
    return m;
}
