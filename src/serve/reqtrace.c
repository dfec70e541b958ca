/* reqtrace.c - request traces for the serving simulator (allot/serve.h).
 *
 * Three formats, detected from the path:
 *
 *  - Azure LLM inference 2023 (Splitwise): a CSV with the header
 *    TIMESTAMP,ContextTokens,GeneratedTokens; one row, one LLM request.
 *    TIMESTAMP is "YYYY-MM-DD HH:MM:SS" with an optional fraction of 1 to 9
 *    digits ("2023-11-16 18:17:03.9799600"), parsed by hand (no locale, no
 *    time zone: only differences are used); t = seconds since the earliest
 *    row. Tokens are integers in 0..INT32_MAX. Rows out of time order are
 *    sorted (stable) and kept. Name "azure-<x>" for a file
 *    AzureLLMInferenceTrace_<x>.csv ("azure-code", "azure-conv"), else the
 *    file stem.
 *
 *  - Alibaba GenAI (Stable Diffusion) lora_request_trace.csv: a CSV whose
 *    header starts with gmt_create and has predict_status and
 *    exec_time_seconds. EXEC requests: t from gmt_create (seconds since the
 *    earliest kept row), exec_s = exec_time_seconds (>= 0). Rows whose
 *    predict_status is not SUCCEED, and rows with an empty exec time, are
 *    skipped, not errors; on success with skipped rows, d (if given) holds a
 *    note with the counts (d->line 0, return value 0). Name "genai-sd".
 *
 *  - ServeGen (Alibaba Bailian): a model directory of chunk-<client>-trace.csv
 *    files, or one such file (that one client only). No header; each row is
 *    one 600-s window of one client: "window_start_s, rate, cv, pattern,
 *    param1, param2", pattern Gamma or Weibull with shape param1 and scale
 *    param2, or empty when the client is idle (then rate must be 0).
 *    window_start_s must be a multiple of 600. Files are read in file-name
 *    order (byte order), each a client. For a window with rate > 0,
 *    n = round(rate x rate_scale x 600) inter-arrival gaps are drawn from the
 *    window's law (Gamma by Marsaglia-Tsang, with the U^(1/a) boost for
 *    shape < 1; Weibull by inversion; both in log space so that very small
 *    shapes do not underflow), then rescaled so that they sum to 600 s, as
 *    upstream ServeGen does: the window holds exactly n requests. The
 *    arrivals are the cumulative sums of the gaps, rotated by a uniform
 *    random phase modulo 600 s, so that they lie in [start, start + 600) and
 *    the clients' windows do not all begin with a request at the boundary
 *    (the gap sequence is kept, read cyclically). All clients' arrivals are
 *    merged and sorted by t (stable). Windows are taken in (start, file)
 *    order from one seeded stream, so a longer max_span_s does not change
 *    the arrivals of the earlier windows.
 *    Tokens: the per-window length distributions (chunk-*-dataset.json) are
 *    not in the trace, so in_tok and out_tok are drawn, in arrival order and
 *    from a second seeded stream, from log-normals with sigma 1.0 and these
 *    medians, by model family (the "language", "reason" or "multimodal"
 *    component of the path; "language" when there is none):
 *        language    in 1000, out 250
 *        reason      in  600, out 2000
 *        multimodal  in 1500, out 150
 *    rounded and clamped to [1, 32768]. Name "servegen-<model dir name>".
 *    The expected number of requests (the sum of n over the windows kept) is
 *    counted before anything is allocated; over max_requests is ELIMIT.
 *
 * Options: max_span_s > 0 keeps arrivals with t < max_span_s (ServeGen reads
 * only the windows starting before it); max_requests 0 means the default.
 * span_s is the last arrival's t (Azure, GenAI) or the end of the last
 * window read, capped at max_span_s (ServeGen).
 *
 * Errors: EIO/ENOENT (file), EPARSE with file:line:col for every malformed
 * row (missing fields, non-numbers, negative or out-of-range values, bad
 * timestamps, unknown pattern names, non-positive shape or scale), EPARSE
 * "no requests" for an empty result, ELIMIT, ENOMEM, EINVAL (bad options).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "allot/csv.h"
#include "allot/rng.h"
#include "allot/serve.h"
#include "servegen_int.h"

#define REQ_DEFAULT_MAX ((size_t)50 * 1000 * 1000)
#define REQ_MAX_FILE    ((size_t)1 << 30) /* bytes per trace file */
#define MAX_EXEC_S      1e9

void allot_reqtrace_opts_init(allot_reqtrace_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->rate_scale = 1.0;
    o->max_span_s = 0;
    o->max_requests = REQ_DEFAULT_MAX;
}

void allot_reqtrace_free(allot_reqtrace *t)
{
    if (!t) return;
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* ---- helpers --------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ERANGE from the converters becomes EPARSE: a value out of range is a
 * malformed row here. */
static int as_parse(int rc) { return rc == ALLOT_ERANGE ? ALLOT_EPARSE : rc; }

static int num(const allot_csv *r, int f, const char *col, double lo, double hi, double *out,
               allot_diag *d)
{
    int rc = allot_csv_f64(r, f, lo, hi, out, d);
    return as_parse(allot_diag_prefix_column(d, rc, col));
}

static int push(allot_reqtrace *t, const allot_request *q)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        allot_request *nv = realloc(t->v, nc * sizeof *nv);
        if (!nv) return ALLOT_ENOMEM;
        t->v = nv;
        t->cap = nc;
    }
    t->v[t->n++] = *q;
    return 0;
}

/* End of the non-decreasing run of a starting at lo. */
static size_t run_end(const allot_request *a, size_t lo, size_t n)
{
    size_t i = lo + 1;
    while (i < n && !(a[i].t < a[i - 1].t)) i++;
    return i;
}

/* Stable natural merge sort by t (adjacent runs merged pairwise until one
 * is left: a merge of k sorted runs takes log2 k passes); tmp holds n. */
static void sort_by_t(allot_request *v, size_t n, allot_request *tmp)
{
    allot_request *a = v, *b = tmp;
    for (;;) {
        size_t lo = 0, runs = 0;
        while (lo < n) {
            size_t mid = run_end(a, lo, n), hi = mid < n ? run_end(a, mid, n) : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) b[k++] = a[j].t < a[i].t ? a[j++] : a[i++];
            while (i < mid) b[k++] = a[i++];
            while (j < hi) b[k++] = a[j++];
            runs++;
            lo = hi;
        }
        allot_request *x = a;
        a = b;
        b = x;
        if (runs <= 1) break;
    }
    if (a != v) memcpy(v, a, n * sizeof *v);
}

static int is_sorted_by_t(const allot_request *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i].t < v[i - 1].t) return 0;
    return 1;
}

/* Sorts (stable) if needed, rebases on the earliest t, keeps t < max_span. */
static int finish_timed(allot_reqtrace *t, double max_span, const char *file, allot_diag *d)
{
    if (t->n == 0) return allot_diag_set(d, ALLOT_EPARSE, file, 0, 0, "no requests");
    if (!is_sorted_by_t(t->v, t->n)) {
        allot_request *tmp = malloc(t->n * sizeof *tmp);
        if (!tmp) return allot_diag_set(d, ALLOT_ENOMEM, file, 0, 0, "out of memory");
        sort_by_t(t->v, t->n, tmp);
        free(tmp);
    }
    double t0 = t->v[0].t;
    for (size_t i = 0; i < t->n; i++) t->v[i].t -= t0;
    if (max_span > 0)
        while (t->n > 0 && t->v[t->n - 1].t >= max_span) t->n--;
    if (t->n == 0) return allot_diag_set(d, ALLOT_EPARSE, file, 0, 0, "no requests");
    t->span_s = t->v[t->n - 1].t;
    return 0;
}

/* ---- Azure ------------------------------------------------------------------- */

enum { AZ_TIME, AZ_CTX, AZ_GEN, AZ__N };
static const char *const az_cols[AZ__N] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};

static int is_azure_header(const allot_csv *r)
{
    if (r->nfields != AZ__N) return 0;
    for (int k = 0; k < AZ__N; k++)
        if (strcmp(r->field[k], az_cols[k]) != 0) return 0;
    return 1;
}

static void azure_name(const char *path, char *name, size_t len)
{
    static const char pre[] = "AzureLLMInferenceTrace_";
    const char *b = base_name(path);
    size_t n = strlen(b);
    const char *dot = strrchr(b, '.');
    if (dot && dot != b) n = (size_t)(dot - b);
    if (n > sizeof pre - 1 && strncmp(b, pre, sizeof pre - 1) == 0)
        snprintf(name, len, "azure-%.*s", (int)(n - (sizeof pre - 1)), b + sizeof pre - 1);
    else
        snprintf(name, len, "%.*s", (int)n, b);
}

static int load_azure(allot_csv *r, const char *path, const allot_reqtrace_opts *o,
                      allot_reqtrace *out, allot_diag *d)
{
    int rc;
    int64_t sec0 = 0;
    int first = 1;
    out->kind = ALLOT_REQ_LLM;
    azure_name(path, out->name, sizeof out->name);
    while ((rc = allot_csv_next(r, d)) == 1) {
        if ((rc = allot_csv_expect_fields(r, AZ__N, d)) < 0) return rc;
        int64_t sec, in, gen;
        double frac;
        if ((rc = as_parse(allot_csv_col_time(r, AZ_TIME, "TIMESTAMP", &sec, &frac, d))) < 0)
            return rc;
        rc = allot_csv_col_i64(r, AZ_CTX, "ContextTokens", 0, INT32_MAX, &in, d);
        if ((rc = as_parse(rc)) < 0) return rc;
        rc = allot_csv_col_i64(r, AZ_GEN, "GeneratedTokens", 0, INT32_MAX, &gen, d);
        if ((rc = as_parse(rc)) < 0) return rc;
        if (out->n >= o->max_requests)
            return allot_diag_set(d, ALLOT_ELIMIT, path, r->line, 1,
                                  "more than max_requests = %zu requests", o->max_requests);
        if (first) sec0 = sec, first = 0;
        allot_request q = {(double)(sec - sec0) + frac, (int32_t)in, (int32_t)gen, 0.0f};
        if (push(out, &q) < 0) return allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
    }
    if (rc < 0) return rc;
    return finish_timed(out, o->max_span_s, path, d);
}

/* ---- GenAI SD ------------------------------------------------------------------ */

enum { SD_TIME, SD_STATUS, SD_EXEC, SD__N };
static const char *const sd_cols[SD__N] = {"gmt_create", "predict_status", "exec_time_seconds"};

static int is_genai_header(const allot_csv *r)
{
    return r->nfields >= 1 && strcmp(r->field[0], "gmt_create") == 0 &&
           allot_csv_find(r, "exec_time_seconds") >= 0;
}

static int load_genai(allot_csv *r, const char *path, const allot_reqtrace_opts *o,
                      allot_reqtrace *out, allot_diag *d)
{
    int col[SD__N], rc;
    int nf = r->nfields;
    int64_t sec0 = 0;
    int first = 1;
    size_t not_ok = 0, no_exec = 0;
    rc = allot_csv_columns(r, sd_cols, SD__N, SD__N, "a GenAI SD request trace", col, d);
    if (rc < 0) return rc;
    out->kind = ALLOT_REQ_EXEC;
    snprintf(out->name, sizeof out->name, "genai-sd");
    while ((rc = allot_csv_next(r, d)) == 1) {
        if ((rc = allot_csv_expect_fields(r, nf, d)) < 0) return rc;
        int64_t sec;
        double frac, ex;
        if ((rc = as_parse(allot_csv_col_time(r, col[SD_TIME], "gmt_create", &sec, &frac, d))) < 0)
            return rc;
        if (strcmp(r->field[col[SD_STATUS]], "SUCCEED") != 0) {
            not_ok++;
            continue;
        }
        if (r->field[col[SD_EXEC]][0] == '\0') {
            no_exec++;
            continue;
        }
        if ((rc = num(r, col[SD_EXEC], "exec_time_seconds", 0, MAX_EXEC_S, &ex, d)) < 0) return rc;
        if (out->n >= o->max_requests)
            return allot_diag_set(d, ALLOT_ELIMIT, path, r->line, 1,
                                  "more than max_requests = %zu requests", o->max_requests);
        if (first) sec0 = sec, first = 0;
        allot_request q = {(double)(sec - sec0) + frac, 0, 0, (float)ex};
        if (push(out, &q) < 0) return allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
    }
    if (rc < 0) return rc;
    if ((rc = finish_timed(out, o->max_span_s, path, d)) < 0) return rc;
    if (not_ok + no_exec > 0)
        allot_diag_set(d, 0, path, 0, 0,
                       "skipped %zu rows whose predict_status is not SUCCEED and %zu with an "
                       "empty exec_time_seconds",
                       not_ok, no_exec);
    return 0;
}

/* ---- ServeGen ------------------------------------------------------------------ */

typedef struct sg_win {
    double start, shape, scale;
    size_t n;   /* requests in the window */
    size_t seq; /* reading order: file, then row */
    int pat;
} sg_win;

typedef struct sg_wins {
    sg_win *v;
    size_t n, cap;
    uint64_t total;     /* sum of n */
    double last_end;    /* end of the last window read */
    int any_window;     /* a window was read (even an idle one) */
    double total_exact; /* sum of rate x scale x 600, for messages */
} sg_wins;

static int sg_add(sg_wins *w, const sg_win *x)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 1024;
        sg_win *nv = realloc(w->v, nc * sizeof *nv);
        if (!nv) return ALLOT_ENOMEM;
        w->v = nv;
        w->cap = nc;
    }
    w->v[w->n++] = *x;
    return 0;
}

/* Reads one chunk file's windows (those starting before max_span_s) into
 * the windows to draw, rows holding the file's busy windows. */
static int sg_read_file(const char *path, const allot_reqtrace_opts *o, sg_wins *w, sg_rows *rows,
                        allot_diag *d)
{
    rows->n = 0;
    rows->last_end = 0;
    rows->any_window = 0;
    int rc = sg_read_rows(path, o->max_span_s, rows, d);
    if (rc < 0) return rc;
    if (rows->any_window) w->any_window = 1;
    if (rows->last_end > w->last_end) w->last_end = rows->last_end;
    for (size_t k = 0; k < rows->n; k++) {
        const sg_row *x = &rows->v[k];
        double want = x->rate * o->rate_scale * SG_WINDOW_S;
        w->total_exact += want;
        if (want > 1e18) want = 1e18; /* counted as over any limit below */
        uint64_t n = (uint64_t)llround(want);
        if (n == 0) continue;
        sg_win q = {x->start, x->shape, x->scale, (size_t)n, w->n, x->pat};
        if (n > SIZE_MAX / 2 || sg_add(w, &q) < 0)
            return allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
        w->total = w->total + n < w->total ? UINT64_MAX : w->total + n;
    }
    return 0;
}

static int cmp_win(const void *a, const void *b)
{
    const sg_win *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the window's n arrivals into q[0..n). */
static void sg_window(const sg_win *w, allot_rng *g, sg_normal *s, allot_request *q)
{
    double m = -INFINITY;
    for (size_t k = 0; k < w->n; k++) {
        double lg = w->pat == SG_PAT_GAMMA ? sg_log_gamma(g, s, w->shape) + log(w->scale)
                                           : log(w->scale) + log(-log(sg_u01(g))) / w->shape;
        q[k].t = lg;
        if (lg > m) m = lg;
    }
    double sum = 0;
    for (size_t k = 0; k < w->n; k++) {
        q[k].t = exp(q[k].t - m); /* the largest gap is 1: the sum is >= 1 */
        sum += q[k].t;
    }
    double f = SG_WINDOW_S / sum, phase = sg_u01(g) * SG_WINDOW_S, c = 0;
    for (size_t k = 0; k < w->n; k++) {
        c += q[k].t * f;
        double x = fmod(phase + c, SG_WINDOW_S);
        if (!(x < SG_WINDOW_S)) x = 0;
        q[k].t = w->start + x;
        q[k].in_tok = q[k].out_tok = 0;
        q[k].exec_s = 0;
    }
}

static int load_servegen(const char *path, int is_dir, const allot_reqtrace_opts *o,
                         allot_reqtrace *out, allot_diag *d)
{
    int rc = 0;
    char **files = NULL;
    size_t nfiles = 0;
    sg_wins w;
    sg_rows rows;
    allot_request *tmp = NULL;
    char dir[4096];
    memset(&w, 0, sizeof w);
    memset(&rows, 0, sizeof rows);

    if ((rc = sg_list(path, is_dir, &files, &nfiles, dir, sizeof dir, d)) < 0) return rc;

    for (size_t i = 0; i < nfiles; i++)
        if ((rc = sg_read_file(files[i], o, &w, &rows, d)) < 0) goto out;

    /* the refusal comes before any request is allocated */
    if (w.total > o->max_requests) {
        rc = allot_diag_set(d, ALLOT_ELIMIT, path, 0, 0,
                            "the trace would hold %.0f requests, more than max_requests = %zu; "
                            "lower rate_scale or set max_span_s (e.g. 86400 for one day)",
                            w.total_exact, o->max_requests);
        goto out;
    }
    if (w.total == 0) {
        rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0, "no requests");
        goto out;
    }

    qsort(w.v, w.n, sizeof *w.v, cmp_win);
    size_t maxgroup = 0;
    for (size_t i = 0; i < w.n;) {
        size_t j = i, g = 0;
        for (; j < w.n && w.v[j].start == w.v[i].start; j++) g += w.v[j].n;
        if (g > maxgroup) maxgroup = g;
        i = j;
    }
    out->v = malloc((size_t)w.total * sizeof *out->v);
    tmp = malloc(maxgroup * sizeof *tmp);
    if (!out->v || !tmp) {
        rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0,
                            "out of memory for %llu requests (lower rate_scale or max_span_s)",
                            (unsigned long long)w.total);
        goto out;
    }
    out->cap = (size_t)w.total;

    allot_rng g;
    sg_normal ns = {0, 0};
    allot_rng_seed(&g, o->seed);
    size_t n = 0;
    for (size_t i = 0; i < w.n;) {
        size_t base = n, j = i;
        for (; j < w.n && w.v[j].start == w.v[i].start; j++) {
            sg_window(&w.v[j], &g, &ns, out->v + n);
            n += w.v[j].n;
        }
        sort_by_t(out->v + base, n - base, tmp);
        i = j;
    }
    if (o->max_span_s > 0)
        while (n > 0 && out->v[n - 1].t >= o->max_span_s) n--;
    out->n = n;
    if (n == 0) {
        rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0, "no requests");
        goto out;
    }

    double in_med, out_med;
    sg_family(dir, &in_med, &out_med);
    allot_rng tg;
    sg_normal ts = {0, 0};
    allot_rng_seed(&tg, o->seed ^ TOKEN_STREAM_SALT);
    for (size_t k = 0; k < n; k++) {
        out->v[k].in_tok = sg_lognormal_tok(&tg, &ts, in_med);
        out->v[k].out_tok = sg_lognormal_tok(&tg, &ts, out_med);
    }
    out->kind = ALLOT_REQ_LLM;
    out->span_s = w.last_end;
    if (o->max_span_s > 0 && out->span_s > o->max_span_s) out->span_s = o->max_span_s;
    sg_name(dir, out->name, sizeof out->name);
    rc = 0;
out:
    sg_free_list(files, nfiles);
    free(w.v);
    free(rows.v);
    free(tmp);
    return rc;
}

/* ---- entry point ------------------------------------------------------------------ */

static int load(const char *path, const allot_reqtrace_opts *o, allot_reqtrace *out, allot_diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return allot_diag_set(d, e == ENOENT ? ALLOT_ENOENT : ALLOT_EIO, path, 0, 0,
                              "cannot open: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) return load_servegen(path, 1, o, out, d);
    if (sg_is_chunk_name(base_name(path))) return load_servegen(path, 0, o, out, d);

    char *buf = NULL;
    size_t len = 0;
    int rc = allot_read_file(path, REQ_MAX_FILE, &buf, &len, d);
    if (rc < 0) return rc;
    allot_csv *r = malloc(sizeof *r);
    if (!r) {
        free(buf);
        return allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory");
    }
    allot_csv_init(r, buf, len, path);
    rc = allot_csv_next(r, d);
    if (rc == 1 && is_azure_header(r))
        rc = load_azure(r, path, o, out, d);
    else if (rc == 1 && is_genai_header(r))
        rc = load_genai(r, path, o, out, d);
    else if (rc >= 0)
        rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0,
                            "unknown request trace format (expected an Azure LLM CSV with "
                            "the header TIMESTAMP,ContextTokens,GeneratedTokens, a GenAI SD CSV "
                            "whose header starts with gmt_create and has exec_time_seconds, or "
                            "a ServeGen directory of chunk-*-trace.csv files)");
    free(r);
    free(buf);
    return rc;
}

int allot_reqtrace_load(const char *path, const allot_reqtrace_opts *o, allot_reqtrace *out,
                        allot_diag *d)
{
    allot_reqtrace_opts def;
    if (!out) return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "no output trace");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "empty path");
    allot_reqtrace_opts_init(&def);
    if (o) {
        def = *o;
        if (def.max_requests == 0) def.max_requests = REQ_DEFAULT_MAX;
    }
    if (!(def.rate_scale > 0) || !isfinite(def.rate_scale))
        return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "rate_scale must be > 0, got %g",
                              def.rate_scale);
    if (!(def.max_span_s >= 0) || !isfinite(def.max_span_s))
        return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "max_span_s must be >= 0, got %g",
                              def.max_span_s);
    if (d) memset(d, 0, sizeof *d);
    int rc = load(path, &def, out, d);
    if (rc < 0) allot_reqtrace_free(out);
    return rc;
}
