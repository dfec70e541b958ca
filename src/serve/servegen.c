/* servegen.c - ServeGen traces (allot/serve.h): reading the chunk files,
 * the random draws shared with the request-sampling reader (reqtrace.c),
 * and the window-rate demand: per-step arrivals and work drawn from each
 * 600-s window's fitted process, without drawing single requests
 * (docs/internals/serving.md, "The window-rate demand").
 *
 * A chunk file is one client: rows "window_start_s, rate, cv, pattern,
 * shape, scale" (docs/workloads.md). For a service made of clients
 * [first, first + count) at rate_scale x, window w of client i holds
 * n_i = round(rate_i x rate_scale x 600) requests, exactly as in the
 * request-sampling path, and the window's total N = sum n_i is kept exactly.
 * How they fall into the window's steps:
 *
 *  - each client's arrivals are a renewal process whose inter-arrival law
 *    is the fitted one (Gamma: CV^2 = 1/shape; Weibull k: CV^2 =
 *    G(1 + 2/k) / G(1 + 1/k)^2 - 1), so over a piece of length l its count
 *    has mean n_i l/600 and variance ~ n_i l/600 x CV_i^2 (the renewal
 *    central limit); the clients are independent, so the window's count
 *    over l has the variance of the pooled CV^2 = sum n_i CV_i^2 / N;
 *  - CV^2 >= 1: a Dirichlet-multinomial over the pieces (weights Gamma with
 *    shape K l/600, then N split multinomially along them), K = (N - CV^2)
 *    / (CV^2 - 1), which gives exactly that variance (Poisson at CV = 1:
 *    the multinomial alone);
 *  - CV^2 < 1 (more regular than Poisson): Gamma weights with K = N/CV^2 -
 *    1 and randomised systematic rounding (no multinomial noise);
 *  - the binomials of the multinomial are drawn by inversion for a mean
 *    below 20, else from the normal approximation (rounded, clamped).
 *
 * The work of a step with k arrivals is the sum of their service times: the
 * requests are drawn one by one as in the request-sampling path (log-normal
 * tokens of the model family) when k <= SG_EXACT_K, else from the Gamma law
 * with the exact mean and variance of that sum (the token log-normals are
 * rounded and clamped to [1, 32768]; their moments are summed numerically).
 * Two seeded streams (counts, work) consumed in window and step order: the
 * same seed gives the same demand.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "allot/csv.h"
#include "allot/serve.h"
#include "servegen_int.h"

#define SG_MAX_FILE      ((size_t)1 << 30) /* bytes per chunk file */
#define SG_MAX_START_S   1e10              /* ~317 years; rejects garbage */
#define SG_MAX_RATE      1e9               /* req/s */
#define SG_MAX_PARAM     1e300
#define SG_MAX_FILES     100000
#define SG_EXACT_K       8    /* steps with at most this many arrivals: exact draws */
#define SG_BINV_MEAN     20.0 /* binomial by inversion below this mean */
#define SG_WH_SHAPE      16.0 /* Gamma draws by Wilson-Hilferty from this shape */
#define SG_DM_MEAN       10.0 /* multinomial split below this many arrivals a step */
#define SG_WH_K          4096 /* work draws: constants kept for counts below this */
#define SG_K_MIN         1e-3 /* smallest Dirichlet concentration */
#define SG_M0            0.5  /* a step shows half its CV^2 at m = M0 + M1 CV^2 arrivals */
#define SG_M1            0.1
#define SG_MAX_STEPS     ((size_t)1 << 32)
#define SG_MEDIAN_N      2047              /* draws for the median request */
#define WORK_STREAM_SALT 0x776f726bull     /* "work" */
#define MEDIAN_SEED      0x6d656469616eull /* "median" */

/* ---- reading ---------------------------------------------------------------- */

int sg_is_chunk_name(const char *name)
{
    static const char pre[] = "chunk-", suf[] = "-trace.csv";
    size_t n = strlen(name), np = sizeof pre - 1, ns = sizeof suf - 1;
    return n > np + ns && strncmp(name, pre, np) == 0 && strcmp(name + n - ns, suf) == 0;
}

static int num(const allot_csv *r, int f, const char *col, double lo, double hi, double *out,
               allot_diag *d)
{
    int rc = allot_csv_f64(r, f, lo, hi, out, d);
    rc = allot_diag_prefix_column(d, rc, col);
    return rc == ALLOT_ERANGE ? ALLOT_EPARSE : rc;
}

static int rows_add(sg_rows *w, const sg_row *x)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 1024;
        sg_row *nv = realloc(w->v, nc * sizeof *nv);
        if (!nv) return ALLOT_ENOMEM;
        w->v = nv;
        w->cap = nc;
    }
    w->v[w->n++] = *x;
    return 0;
}

int sg_read_rows(const char *path, double max_span_s, sg_rows *w, allot_diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = allot_read_file(path, SG_MAX_FILE, &buf, &len, d);
    if (rc < 0) return rc;
    allot_csv *r = malloc(sizeof *r);
    if (!r) {
        free(buf);
        return allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
    }
    allot_csv_init(r, buf, len, path);
    while ((rc = allot_csv_next(r, d)) == 1) {
        double start, rate, cv, p1, p2;
        if ((rc = allot_csv_expect_fields(r, 6, d)) < 0) break;
        if ((rc = num(r, 0, "window_start_s", 0, SG_MAX_START_S, &start, d)) < 0) break;
        if (fmod(start, SG_WINDOW_S) != 0) {
            rc = allot_diag_set(d, ALLOT_EPARSE, path, r->line, r->col[0],
                                "column 'window_start_s': %.17g is not a multiple of 600", start);
            break;
        }
        if ((rc = num(r, 1, "rate", 0, SG_MAX_RATE, &rate, d)) < 0) break;
        if ((rc = num(r, 2, "cv", 0, SG_MAX_PARAM, &cv, d)) < 0) break;
        const char *pn = r->field[3];
        int pat = !*pn                         ? SG_PAT_NONE
                  : strcmp(pn, "Gamma") == 0   ? SG_PAT_GAMMA
                  : strcmp(pn, "Weibull") == 0 ? SG_PAT_WEIBULL
                                               : -1;
        if (pat < 0) {
            rc = allot_diag_set(d, ALLOT_EPARSE, path, r->line, r->col[3],
                                "column 'pattern': unknown pattern '%.40s' (expected Gamma, "
                                "Weibull or empty)",
                                pn);
            break;
        }
        double lo = pat == SG_PAT_NONE ? -SG_MAX_PARAM : 0;
        if ((rc = num(r, 4, "shape", lo, SG_MAX_PARAM, &p1, d)) < 0) break;
        if ((rc = num(r, 5, "scale", lo, SG_MAX_PARAM, &p2, d)) < 0) break;
        if (pat != SG_PAT_NONE && !(p1 > 0 && p2 > 0)) {
            int f = p1 > 0 ? 5 : 4;
            rc = allot_diag_set(d, ALLOT_EPARSE, path, r->line, r->col[f],
                                "column '%s': the %s of a %s law must be > 0, got %.17g",
                                f == 4 ? "shape" : "scale", f == 4 ? "shape" : "scale", pn,
                                f == 4 ? p1 : p2);
            break;
        }
        if (pat == SG_PAT_NONE && rate > 0) {
            rc = allot_diag_set(d, ALLOT_EPARSE, path, r->line, r->col[3],
                                "column 'pattern': rate %.17g > 0 but no inter-arrival pattern",
                                rate);
            break;
        }
        if (max_span_s > 0 && start >= max_span_s) continue;
        w->any_window = 1;
        if (start + SG_WINDOW_S > w->last_end) w->last_end = start + SG_WINDOW_S;
        if (!(rate > 0)) continue;
        sg_row x = {start, rate, cv, p1, p2, pat};
        if (rows_add(w, &x) < 0) {
            rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
            break;
        }
    }
    free(r);
    free(buf);
    return rc < 0 ? rc : 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void sg_free_list(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++) free(files[i]);
    free(files);
}

int sg_list(const char *path, int is_dir, char ***files_out, size_t *nfiles_out, char *dir,
            size_t dirlen, allot_diag *d)
{
    char **files = NULL;
    size_t nfiles = 0, capf = 0;
    int rc = 0;
    *files_out = NULL;
    *nfiles_out = 0;
    if (is_dir) {
        snprintf(dir, dirlen, "%s", path);
        DIR *dp = opendir(path);
        if (!dp)
            return allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot open directory: %s",
                                  strerror(errno));
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            if (!sg_is_chunk_name(e->d_name)) continue;
            if (nfiles == capf) {
                size_t nc = capf ? capf * 2 : 64;
                char **nv = nfiles < SG_MAX_FILES ? realloc(files, nc * sizeof *nv) : NULL;
                if (!nv) {
                    closedir(dp);
                    rc = allot_diag_set(d, nfiles < SG_MAX_FILES ? ALLOT_ENOMEM : ALLOT_ELIMIT,
                                        path, 0, 0, "too many chunk files (or out of memory)");
                    goto fail;
                }
                files = nv;
                capf = nc;
            }
            size_t n = strlen(path) + strlen(e->d_name) + 2;
            if (!(files[nfiles] = malloc(n))) {
                closedir(dp);
                rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
                goto fail;
            }
            snprintf(files[nfiles++], n, "%s/%s", path, e->d_name);
        }
        closedir(dp);
        if (nfiles == 0) {
            rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0,
                                "unknown request trace format (a directory must be a ServeGen "
                                "model directory holding chunk-*-trace.csv files)");
            goto fail;
        }
        qsort(files, nfiles, sizeof *files, cmp_name);
    } else {
        const char *b = base_name(path);
        if (b == path)
            snprintf(dir, dirlen, ".");
        else
            snprintf(dir, dirlen, "%.*s", (int)(b - path), path);
        files = malloc(sizeof *files);
        if (!files || !(files[0] = strdup(path))) {
            rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
            goto fail;
        }
        nfiles = 1;
    }
    *files_out = files;
    *nfiles_out = nfiles;
    return 0;
fail:
    sg_free_list(files, nfiles);
    return rc;
}

/* The model family from the path's components. */
void sg_family(const char *dir, double *in_med, double *out_med)
{
    char buf[4096];
    const char *p = realpath(dir, buf) ? buf : dir;
    *in_med = 1000, *out_med = 250; /* language */
    for (const char *c = p; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 6 && strncmp(c, "reason", 6) == 0)
            *in_med = 600, *out_med = 2000;
        else if (n == 10 && strncmp(c, "multimodal", 10) == 0)
            *in_med = 1500, *out_med = 150;
        else if (n == 8 && strncmp(c, "language", 8) == 0)
            *in_med = 1000, *out_med = 250;
        c += n;
        while (*c == '/') c++;
    }
}

void sg_name(const char *dir, char *name, size_t len)
{
    char buf[4096];
    const char *p = realpath(dir, buf) ? buf : dir;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && p[b - 1] != '/') b--;
    snprintf(name, len, "servegen-%.*s", (int)(n - b > 54 ? 54 : n - b), p + b);
}

/* ---- draws ----------------------------------------------------------------- */

double sg_u01(allot_rng *g) { return ((double)(allot_rng_next(g) >> 11) + 0.5) * 0x1.0p-53; }

/* Marsaglia's polar method; the second of the pair is kept for the next call. */
double sg_norm(allot_rng *g, sg_normal *s)
{
    if (s->has) {
        s->has = 0;
        return s->spare;
    }
    double u, v, q;
    do {
        u = 2 * sg_u01(g) - 1;
        v = 2 * sg_u01(g) - 1;
        q = u * u + v * v;
    } while (q >= 1 || q == 0);
    double f = sqrt(-2.0 * log(q) / q);
    s->spare = v * f;
    s->has = 1;
    return u * f;
}

/* log of a Gamma(a, 1) variate: Marsaglia & Tsang (2000); a < 1 via
 * Gamma(a) = Gamma(a + 1) * U^(1/a). */
double sg_log_gamma(allot_rng *g, sg_normal *s, double a)
{
    double boost = 0;
    if (a < 1) {
        boost = log(sg_u01(g)) / a;
        a += 1;
    }
    double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double x = sg_norm(g, s), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = sg_u01(g), x2 = x * x;
        if (u < 1 - 0.0331 * x2 * x2 || /* the squeeze saves the logs */
            log(u) < 0.5 * x2 + dd - dd * v + dd * log(v))
            return log(dd * v) + boost;
    }
}

int32_t sg_lognormal_tok(allot_rng *g, sg_normal *s, double median)
{
    double v = round(median * exp(SG_TOK_SIGMA * sg_norm(g, s)));
    if (!(v >= SG_TOK_MIN)) v = SG_TOK_MIN;
    if (v > SG_TOK_MAX) v = SG_TOK_MAX;
    return (int32_t)v;
}

/* Mean and variance of sg_lognormal_tok(median): the log-normal rounded to
 * the nearest integer and clamped to [SG_TOK_MIN, SG_TOK_MAX], summed over
 * its values. */
static void tok_moments(double median, double *mean, double *var)
{
    double lm = log(median), s1 = 0, s2 = 0;
    double prev = 0; /* P(X < 0.5 + SG_TOK_MIN) ... */
    for (int v = SG_TOK_MIN; v <= SG_TOK_MAX; v++) {
        double hi =
            v == SG_TOK_MAX ? 1.0 : 0.5 * erfc(-(log(v + 0.5) - lm) / (SG_TOK_SIGMA * M_SQRT2));
        double p = hi - prev;
        prev = hi;
        s1 += p * v;
        s2 += p * (double)v * v;
    }
    *mean = s1;
    *var = s2 - s1 * s1;
}

/* ---- draws of the window-rate path -------------------------------------------- */

/* The ziggurat tables for the standard normal (Marsaglia & Tsang 2000, 128
 * layers), built with each model: about six times cheaper a draw than the
 * polar method, which the request-sampling path keeps. */
#define ZIG_N 128
#define ZIG_R 3.442619855899

typedef struct sg_zig {
    uint32_t k[ZIG_N];
    double w[ZIG_N], f[ZIG_N];
} sg_zig;

static void zig_init(sg_zig *z)
{
    const double m1 = 2147483648.0, vn = 9.91256303526217e-3;
    double dn = ZIG_R, tn = dn, q = vn / exp(-0.5 * dn * dn);
    z->k[0] = (uint32_t)((dn / q) * m1);
    z->k[1] = 0;
    z->w[0] = q / m1;
    z->w[ZIG_N - 1] = dn / m1;
    z->f[0] = 1.0;
    z->f[ZIG_N - 1] = exp(-0.5 * dn * dn);
    for (int i = ZIG_N - 2; i >= 1; i--) {
        dn = sqrt(-2 * log(vn / dn + exp(-0.5 * dn * dn)));
        z->k[i + 1] = (uint32_t)((dn / tn) * m1);
        tn = dn;
        z->f[i] = exp(-0.5 * dn * dn);
        z->w[i] = dn / m1;
    }
}

/* The window-rate path's random source: a stream, the polar method's spare
 * (token draws, as the request path) and the model's ziggurat. */
typedef struct wdraw {
    allot_rng g;
    sg_normal pn;
    const sg_zig *z;
} wdraw;

/* A standard normal by the ziggurat: the layer from 7 bits, the value from
 * 32 others of one 64-bit draw. */
static double wnorm(wdraw *d)
{
    const sg_zig *z = d->z;
    for (;;) {
        uint64_t u = allot_rng_next(&d->g);
        int32_t hz = (int32_t)(uint32_t)(u >> 32);
        unsigned iz = (unsigned)(u & (ZIG_N - 1));
        uint32_t ahz = hz < 0 ? (uint32_t)(-(int64_t)hz) : (uint32_t)hz;
        double x = hz * z->w[iz];
        if (ahz < z->k[iz]) return x;
        if (iz == 0) { /* the tail beyond ZIG_R */
            double xt, yt;
            do {
                xt = -log(sg_u01(&d->g)) / ZIG_R;
                yt = -log(sg_u01(&d->g));
            } while (yt + yt < xt * xt);
            return hz > 0 ? ZIG_R + xt : -ZIG_R - xt;
        }
        if (z->f[iz] + sg_u01(&d->g) * (z->f[iz - 1] - z->f[iz]) < exp(-0.5 * x * x)) return x;
    }
}

/* Tokens as sg_lognormal_tok draws them (rounded, clamped log-normal), with
 * the ziggurat's normal. */
static double wtok(wdraw *d, double median)
{
    double v = round(median * exp(SG_TOK_SIGMA * wnorm(d)));
    if (!(v >= SG_TOK_MIN)) v = SG_TOK_MIN;
    return v > SG_TOK_MAX ? SG_TOK_MAX : v;
}

/* A Gamma(a, 1) variate for a >= 1: Marsaglia & Tsang (no final log); for
 * a >= SG_WH_SHAPE the Wilson-Hilferty transform of a normal, the value
 * Marsaglia & Tsang would propose, without its accept step. */
static double wgamma(wdraw *d, double a)
{
    if (a >= SG_WH_SHAPE) {
        double v = 1 - 1 / (9 * a) + wnorm(d) / (3 * sqrt(a));
        return v > 0 ? a * v * v * v : 0.0;
    }
    double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double x = wnorm(d), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = sg_u01(&d->g), x2 = x * x;
        if (u < 1 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + dd - dd * v + dd * log(v))
            return dd * v;
    }
}

/* ---- the model ----------------------------------------------------------------- */

typedef struct sg_crow {
    uint32_t win;    /* window_start_s / 600 */
    int pat;         /* SG_PAT_GAMMA or SG_PAT_WEIBULL */
    double rate;     /* released req/s */
    double shape;    /* of the inter-arrival law */
    double ln_shape; /* its log (the Weibull table's axis) */
} sg_crow;

/* The Weibull table: ln E[sample CV^2] over ln(shape) x ln(n) (see
 * sample_cv2), bilinear in between. */
#define WB_NK   96
#define WB_NN   48
#define WB_K0   0.01
#define WB_K1   100.0
#define WB_NMAX 1e10

struct allot_servegen {
    char name[64];
    double in_med, out_med;   /* token log-normal medians */
    double in_mean, in_var;   /* moments of the rounded, clamped draws */
    double out_mean, out_var; /* same for generated tokens */
    double span_s;            /* end of the last window */
    size_t nclients, nrows;
    size_t *off;   /* client i: rows[off[i] .. off[i + 1]) */
    double *cend;  /* client i: end of its last window (idle ones too) */
    sg_crow *rows; /* busy windows */
    sg_zig zig;    /* normal draws of the demand */
    float wb[WB_NK][WB_NN];
};

/* ln P(a, x), the regularized lower incomplete gamma function, by its
 * series (x here is at most ln(3 x WB_NMAX) ~ 24, a >= 1). */
static double log_inc_gamma(double a, double x)
{
    double sum = 1.0 / a, t = sum;
    for (int n = 1; n < 10000; n++) {
        t *= x / (a + n);
        sum += t;
        if (t < 1e-17 * sum) break;
    }
    return a * log(x) - x - lgamma(a) + log(sum);
}

/* E[sample CV^2] of the window's n normalised gaps, what sets the
 * burstiness of its arrivals: for a Gamma(k) law exactly (n - 1) / (n k + 1)
 * (the gaps over their sum are Dirichlet(k, ..., k)); for a Weibull(k) law,
 * whose heavy tail n draws do not reach (k = 0.3: CV^2 29 for the law, 14
 * on average for 100 draws), the CV^2 of the law cut at its 1 - 1/(3n)
 * quantile, times (n - 1) / n (within about 30 % of simulated values for
 * k = 0.2 ... 0.6, n = 10 ... 10,000; docs/internals/serving.md). */
static double weibull_sample_cv2(double k, double n)
{
    if (n <= 1) return 0;
    double x = log(3 * n), a1 = 1 + 1 / k, a2 = 1 + 2 / k;
    double lm1 = lgamma(a1) + log_inc_gamma(a1, x), lm2 = lgamma(a2) + log_inc_gamma(a2, x);
    double lp = log1p(-exp(-x));
    double v = exp(lm2 + lp - 2 * lm1) - 1;
    if (!(v >= 0)) v = 0;
    return v * (n - 1) / n;
}

static void wb_init(allot_servegen *g)
{
    for (int i = 0; i < WB_NK; i++) {
        double k = exp(log(WB_K0) + (log(WB_K1) - log(WB_K0)) * i / (WB_NK - 1));
        for (int j = 0; j < WB_NN; j++) {
            double n = exp(log(WB_NMAX) * j / (WB_NN - 1));
            double v = weibull_sample_cv2(k, n);
            g->wb[i][j] = (float)log(v > 1e-30 ? v : 1e-30);
        }
    }
}

static double sample_cv2(const allot_servegen *g, const sg_crow *x, double n)
{
    if (n <= 1) return 0;
    if (x->pat == SG_PAT_GAMMA) return (n - 1) / (n * x->shape + 1);
    double u = (x->ln_shape - log(WB_K0)) / (log(WB_K1) - log(WB_K0)) * (WB_NK - 1);
    double v = log(n) / log(WB_NMAX) * (WB_NN - 1);
    if (u < 0) u = 0;
    if (u > WB_NK - 1) u = WB_NK - 1;
    if (v > WB_NN - 1) v = WB_NN - 1;
    int i = (int)u, j = (int)v;
    if (i >= WB_NK - 1) i = WB_NK - 2;
    if (j >= WB_NN - 1) j = WB_NN - 2;
    double fu = u - i, fv = v - j;
    double l = (1 - fu) * ((1 - fv) * g->wb[i][j] + fv * g->wb[i][j + 1]) +
               fu * ((1 - fv) * g->wb[i + 1][j] + fv * g->wb[i + 1][j + 1]);
    return exp(l);
}

void allot_servegen_free(allot_servegen *g)
{
    if (!g) return;
    free(g->off);
    free(g->cend);
    free(g->rows);
    free(g);
}

int allot_servegen_load(const char *path, allot_servegen **out, allot_diag *d)
{
    if (!out) return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "no output");
    *out = NULL;
    if (!path || !*path) return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "empty path");
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return allot_diag_set(d, e == ENOENT ? ALLOT_ENOENT : ALLOT_EIO, path, 0, 0,
                              "cannot open: %s", strerror(e));
    }
    int is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && !sg_is_chunk_name(base_name(path)))
        return allot_diag_set(d, ALLOT_EPARSE, path, 0, 0,
                              "not a ServeGen trace (a model directory of chunk-*-trace.csv "
                              "files, or one such file)");
    char **files = NULL, dir[4096];
    size_t nfiles = 0;
    int rc = sg_list(path, is_dir, &files, &nfiles, dir, sizeof dir, d);
    if (rc < 0) return rc;
    allot_servegen *g = calloc(1, sizeof *g);
    sg_rows w;
    memset(&w, 0, sizeof w);
    size_t cap = 0;
    if (!g || !(g->off = calloc(nfiles + 1, sizeof *g->off)) ||
        !(g->cend = calloc(nfiles, sizeof *g->cend))) {
        rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
        goto out;
    }
    g->nclients = nfiles;
    for (size_t i = 0; i < nfiles; i++) {
        w.n = 0;
        w.last_end = 0;
        if ((rc = sg_read_rows(files[i], 0, &w, d)) < 0) goto out;
        g->cend[i] = w.last_end;
        if (w.last_end > g->span_s) g->span_s = w.last_end;
        if (g->nrows + w.n > cap) {
            size_t nc = cap ? cap : 4096;
            while (nc < g->nrows + w.n) nc *= 2;
            sg_crow *nv = realloc(g->rows, nc * sizeof *nv);
            if (!nv) {
                rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
                goto out;
            }
            g->rows = nv;
            cap = nc;
        }
        for (size_t k = 0; k < w.n; k++) {
            const sg_row *x = &w.v[k];
            g->rows[g->nrows++] = (sg_crow){(uint32_t)(x->start / SG_WINDOW_S), x->pat, x->rate,
                                            x->shape, log(x->shape)};
        }
        g->off[i + 1] = g->nrows;
    }
    sg_family(dir, &g->in_med, &g->out_med);
    sg_name(dir, g->name, sizeof g->name);
    zig_init(&g->zig);
    wb_init(g);
    tok_moments(g->in_med, &g->in_mean, &g->in_var);
    tok_moments(g->out_med, &g->out_mean, &g->out_var);
    rc = 0;
out:
    sg_free_list(files, nfiles);
    free(w.v);
    if (rc < 0) {
        allot_servegen_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

size_t allot_servegen_clients(const allot_servegen *g) { return g ? g->nclients : 0; }
double allot_servegen_span(const allot_servegen *g) { return g ? g->span_s : 0; }
const char *allot_servegen_name(const allot_servegen *g) { return g ? g->name : ""; }

double allot_servegen_mean_rate(const allot_servegen *g, size_t first, size_t count)
{
    if (!g || first >= g->nclients || !(g->span_s > 0)) return 0;
    size_t last = count == 0 || count > g->nclients - first ? g->nclients : first + count;
    double s = 0;
    for (size_t k = g->off[first]; k < g->off[last]; k++) s += g->rows[k].rate * SG_WINDOW_S;
    return s / g->span_s;
}

void allot_servegen_opts_init(allot_servegen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->rate_scale = 1.0;
}

/* ---- the window-rate demand ------------------------------------------------------ */

/* Binomial(n, p): inversion below a mean of SG_BINV_MEAN, else the normal
 * approximation, rounded and clamped to [0, n]. */
static uint64_t binomial(wdraw *d, uint64_t n, double p)
{
    if (n == 0 || !(p > 0)) return 0;
    if (p >= 1) return n;
    int flip = p > 0.5;
    if (flip) p = 1 - p;
    double mean = (double)n * p;
    uint64_t x = 0;
    if (mean < SG_BINV_MEAN) {
        double q = 1 - p, s = p / q, a = ((double)n + 1) * s;
        double r = exp((double)n * log1p(-p)), u = sg_u01(&d->g);
        while (u > r && x < n) {
            u -= r;
            x++;
            r *= a / (double)x - s;
            if (!(r > 0)) break;
        }
    } else {
        double v = round(mean + sqrt(mean * (1 - p)) * wnorm(d));
        x = v <= 0 ? 0 : v >= (double)n ? n : (uint64_t)v;
    }
    return flip ? n - x : x;
}

typedef struct sg_scratch {
    double *len, *w, *suf;
    size_t *step;
    size_t cap;
} sg_scratch;

/* Splits the window's N arrivals (pooled CV^2 cv2) over its pieces: the
 * steps of dt it overlaps, cut at the span's end (arrivals past it are
 * dropped, as in the request-sampling path). */
static void window_counts(uint64_t N, double cv2, double ws, double span, double dt,
                          uint32_t *count, size_t nsteps, wdraw *d, sg_scratch *sc)
{
    double we = ws + SG_WINDOW_S, minlen = INFINITY;
    size_t J = 0;
    for (size_t k = (size_t)floor(ws / dt);; k++) {
        double k0 = (double)k * dt, k1 = (double)(k + 1) * dt;
        if (k0 >= we || J == sc->cap) break;
        double p0 = k0 > ws ? k0 : ws, p1 = k1 < we ? k1 : we;
        if (!(p1 > p0)) continue;
        sc->len[J] = p1 - p0;
        if (p1 - p0 < minlen) minlen = p1 - p0;
        sc->step[J] = p0 >= span ? SIZE_MAX : k < nsteps ? k : nsteps - 1;
        J++;
    }
    if (J == 0) return;
    /* few arrivals a step and CV >= 1: Dirichlet-multinomial; else Gamma
     * weights that carry the whole variance, and systematic rounding */
    int dm = cv2 >= 1 - 1e-12 && (double)N * dt / SG_WINDOW_S < SG_DM_MEAN;
    double K = INFINITY;
    if (dm) {
        if (cv2 > 1 + 1e-12) K = ((double)N - cv2) / (cv2 - 1);
    } else {
        K = (double)N / fmax(cv2, 1e-12) - 1;
    }
    if (!(K >= SG_K_MIN)) K = SG_K_MIN;
    /* the weights */
    if (!isfinite(K)) {
        for (size_t j = 0; j < J; j++) sc->w[j] = sc->len[j];
    } else {
        if (K * minlen / SG_WINDOW_S >= 1) {
            double last = -1, c1 = 0, c2 = 0;
            for (size_t j = 0; j < J; j++) {
                double a = K * sc->len[j] / SG_WINDOW_S;
                if (a < SG_WH_SHAPE) {
                    sc->w[j] = wgamma(d, a);
                    continue;
                }
                if (a != last) { /* the pieces are mostly of one length */
                    last = a;
                    c1 = 1 - 1 / (9 * a);
                    c2 = 1 / (3 * sqrt(a));
                }
                double v = c1 + wnorm(d) * c2; /* wgamma's Wilson-Hilferty step */
                sc->w[j] = v > 0 ? a * v * v * v : 0.0;
            }
        } else { /* small shapes: in logs, scaled by the largest */
            double m = -INFINITY;
            for (size_t j = 0; j < J; j++) {
                sc->w[j] = sg_log_gamma(&d->g, &d->pn, K * sc->len[j] / SG_WINDOW_S);
                if (sc->w[j] > m) m = sc->w[j];
            }
            for (size_t j = 0; j < J; j++) sc->w[j] = exp(sc->w[j] - m);
        }
    }
    double tot = 0;
    for (size_t j = J; j-- > 0;) {
        tot += sc->w[j];
        sc->suf[j] = tot;
    }
    uint64_t left = N;
    if (dm) {
        for (size_t j = 0; j < J && left > 0; j++) {
            uint64_t x = j + 1 == J ? left : binomial(d, left, sc->w[j] / sc->suf[j]);
            left -= x;
            if (sc->step[j] != SIZE_MAX) {
                uint64_t c = (uint64_t)count[sc->step[j]] + x;
                count[sc->step[j]] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
            }
        }
    } else {
        double u0 = sg_u01(&d->g), cum = 0, prev = 0, inv_tot = 1 / tot; /* floor(u0) = 0 */
        for (size_t j = 0; j < J; j++) {
            cum = j + 1 == J ? (double)N : (double)N * (1 - sc->suf[j + 1] * inv_tot);
            double f = (double)(uint64_t)(cum + u0); /* floor: cum + u0 >= 0 */
            uint64_t x = f > prev ? (uint64_t)(f - prev) : 0;
            prev = f > prev ? f : prev;
            if (sc->step[j] != SIZE_MAX && x > 0) {
                uint64_t c = (uint64_t)count[sc->step[j]] + x;
                count[sc->step[j]] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
            }
        }
    }
}

static int cmp_d(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

#define BAD(...) allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, __VA_ARGS__)

int allot_serve_demand_windows(const allot_servegen *g, const allot_service *s, size_t chip,
                               double dt, const allot_servegen_opts *opts, allot_serve_demand *out,
                               allot_diag *d)
{
    if (!out) return BAD("no output demand");
    memset(out, 0, sizeof *out);
    allot_servegen_opts o;
    allot_servegen_opts_init(&o);
    if (opts) o = *opts;
    if (!g || !s) return BAD("no ServeGen model or no service");
    if (chip >= s->nchips || chip >= ALLOT_SERVE_MAX_CHIPS)
        return BAD("chip %zu: the service has %zu chip types", chip, s->nchips);
    const allot_serve_chip *ch = &s->chips[chip];
    if (!(ch->prefill_tps > 0 && ch->decode_tps > 0))
        return BAD("chip %s cannot serve LLM requests (prefill %g, decode %g tok/s)", ch->name,
                   ch->prefill_tps, ch->decode_tps);
    if (!(dt > 0) || !isfinite(dt)) return BAD("step %g s, need a positive number", dt);
    if (!(o.rate_scale > 0) || !isfinite(o.rate_scale))
        return BAD("rate_scale must be > 0, got %g", o.rate_scale);
    if (!(o.max_span_s >= 0) || !isfinite(o.max_span_s))
        return BAD("max_span_s must be >= 0, got %g", o.max_span_s);
    if (o.client_first >= g->nclients)
        return BAD("client %zu: the model has %zu clients", o.client_first, g->nclients);
    size_t c1 = o.client_count == 0 || o.client_count > g->nclients - o.client_first
                    ? g->nclients
                    : o.client_first + o.client_count;

    double span = 0;
    for (size_t i = o.client_first; i < c1; i++) span = fmax(span, g->cend[i]);
    if (o.max_span_s > 0 && span > o.max_span_s) span = o.max_span_s;
    double nd = ceil(span / dt);
    if (nd > (double)SG_MAX_STEPS)
        return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "too many steps");
    size_t n = nd < 1 ? 1 : (size_t)nd;
    size_t nwin = (size_t)ceil(span / SG_WINDOW_S);
    if (nwin == 0) nwin = 1;
    size_t jcap = (size_t)ceil(SG_WINDOW_S / dt) + 2;

    uint64_t *wn = calloc(nwin, sizeof *wn);
    double *wv = calloc(nwin, sizeof *wv);
    uint32_t *count = calloc(n, sizeof *count);
    double *work = calloc(n, sizeof *work);
    sg_scratch sc = {malloc(jcap * sizeof(double)), malloc(jcap * sizeof(double)),
                     malloc(jcap * sizeof(double)), malloc(jcap * sizeof(size_t)), jcap};
    struct {
        double a, c1, c2;
    } *wh = malloc(SG_WH_K * sizeof *wh);
    int rc = 0;
    if (!wn || !wv || !count || !work || !sc.len || !sc.w || !sc.suf || !sc.step || !wh) {
        rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    /* the windows' totals and pooled variances */
    uint64_t total = 0;
    for (size_t k = g->off[o.client_first]; k < g->off[c1]; k++) {
        const sg_crow *x = &g->rows[k];
        double start = (double)x->win * SG_WINDOW_S;
        if (x->win >= nwin || (o.max_span_s > 0 && start >= o.max_span_s)) continue;
        double want = x->rate * o.rate_scale * SG_WINDOW_S;
        if (want > 1e15) want = 1e15;
        uint64_t ni = (uint64_t)llround(want);
        if (ni == 0) continue;
        /* the count variance of a step, per arrival: the sample CV^2,
         * approached from 1 over the first arrivals of a step */
        double m = (double)ni * dt / SG_WINDOW_S, cs = sample_cv2(g, x, (double)ni);
        double r = 1 + (cs - 1) * m / (m + SG_M0 + SG_M1 * cs);
        wn[x->win] += ni;
        wv[x->win] += (double)ni * r;
        total += ni;
    }
    if (total == 0) {
        rc = allot_diag_set(d, ALLOT_EPARSE, g->name, 0, 0, "no requests");
        goto out;
    }
    wdraw dc = {.pn = {0, 0}, .z = &g->zig}, dw = {.pn = {0, 0}, .z = &g->zig};
    allot_rng_seed(&dc.g, o.seed);
    allot_rng_seed(&dw.g, o.seed ^ WORK_STREAM_SALT);
    for (size_t w = 0; w < nwin; w++)
        if (wn[w] > 0)
            window_counts(wn[w], wv[w] / (double)wn[w], (double)w * SG_WINDOW_S, span, dt, count, n,
                          &dc, &sc);

    /* the work: service time S = in / prefill + out / decode per request */
    double mu = g->in_mean / ch->prefill_tps + g->out_mean / ch->decode_tps;
    double var = g->in_var / (ch->prefill_tps * ch->prefill_tps) +
                 g->out_var / (ch->decode_tps * ch->decode_tps);
    double es_max = 0;
    /* the work's Gamma shape k mu^2 / var and its Wilson-Hilferty constants,
     * by arrival count (wgamma's step, without a division and a root a step) */
    for (uint32_t k = SG_EXACT_K + 1; k < SG_WH_K; k++) {
        double a = (double)k * mu * mu / var;
        wh[k].a = a;
        wh[k].c1 = 1 - 1 / (9 * a);
        wh[k].c2 = 1 / (3 * sqrt(a));
        if (a < SG_WH_SHAPE) wh[k].a = -1; /* not used: Marsaglia-Tsang */
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t k = count[i];
        double wk = 0;
        if (k == 0) continue;
        if (k <= SG_EXACT_K) {
            for (uint32_t j = 0; j < k; j++) {
                double in = wtok(&dw, g->in_med), ot = wtok(&dw, g->out_med);
                wk += in / ch->prefill_tps + ot / ch->decode_tps;
            }
        } else if (k < SG_WH_K && wh[k].a > 0) { /* Wilson-Hilferty, the constants of k */
            double v = wh[k].c1 + wnorm(&dw) * wh[k].c2;
            wk = v > 0 ? wh[k].a * v * v * v * (var / mu) : 0.0;
        } else {
            wk = wgamma(&dw, (double)k * mu * mu / var) * (var / mu);
        }
        work[i] = wk;
        if (wk > es_max * k) es_max = wk / k;
    }
    out->dt = dt;
    out->n = n;
    out->count = count;
    out->work = work;
    out->es_max = es_max;
    count = NULL;
    work = NULL;
out:
    free(wn);
    free(wv);
    free(count);
    free(work);
    free(sc.len);
    free(sc.w);
    free(sc.suf);
    free(sc.step);
    free(wh);
    return rc;
}

double allot_servegen_median_service(const allot_servegen *g, const allot_service *s, size_t chip)
{
    if (!g || !s || chip >= s->nchips || chip >= ALLOT_SERVE_MAX_CHIPS) return 0;
    const allot_serve_chip *ch = &s->chips[chip];
    if (!(ch->prefill_tps > 0 && ch->decode_tps > 0)) return 0;
    double med[SG_MEDIAN_N];
    allot_rng gm;
    sg_normal nm = {0, 0};
    allot_rng_seed(&gm, MEDIAN_SEED);
    for (size_t j = 0; j < SG_MEDIAN_N; j++) {
        int32_t in = sg_lognormal_tok(&gm, &nm, g->in_med);
        int32_t ot = sg_lognormal_tok(&gm, &nm, g->out_med);
        med[j] = (double)in / ch->prefill_tps + (double)ot / ch->decode_tps;
    }
    qsort(med, SG_MEDIAN_N, sizeof *med, cmp_d);
    return med[SG_MEDIAN_N / 2];
}

int allot_serve_demand_servegen(const char *path, const allot_service *s, size_t chip, double dt,
                                const allot_servegen_opts *o, allot_serve_demand *out,
                                allot_diag *d)
{
    if (out) memset(out, 0, sizeof *out);
    allot_servegen *g = NULL;
    int rc = allot_servegen_load(path, &g, d);
    if (rc < 0) return rc;
    rc = allot_serve_demand_windows(g, s, chip, dt, o, out, d);
    allot_servegen_free(g);
    return rc;
}
