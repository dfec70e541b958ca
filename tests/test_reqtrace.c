/* tests/test_reqtrace.c - request traces (src/serve/reqtrace.c): format
 * detection, the Azure, GenAI SD and ServeGen readers on small synthetic
 * files, their errors, and the real traces when ../shared/traces is there. */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>
#include <time.h>

#include "allot/serve.h"

/* ---- helpers ---------------------------------------------------------------- */

static char *mkdir_tmp(void)
{
    char tmpl[] = "/tmp/allot-rt-XXXXXX";
    char *p = mkdtemp(tmpl);
    assert_non_null(p);
    return strdup(p);
}

/* Writes dir/name (creating dir/sub-dirs in name is the caller's job). */
static char *write_in(const char *dir, const char *name, const char *text)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
    return p;
}

static char *subdir(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    assert_int_equal(mkdir(p, 0700), 0);
    return p;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void load_ok(const char *path, const allot_reqtrace_opts *o, allot_reqtrace *t,
                    allot_diag *d)
{
    int rc = allot_reqtrace_load(path, o, t, d);
    if (rc != 0) {
        char b[900];
        allot_diag_format(d, b, sizeof b);
        fail_msg("unexpected error %d: %s", rc, b);
    }
}

/* Loads text as a file with the given name; expects err at line. */
static void expect_err(const char *name, const char *text, int err, int line, const char *needle)
{
    char *dir = mkdir_tmp();
    char *p = write_in(dir, name, text);
    allot_reqtrace t;
    allot_diag d;
    int rc = allot_reqtrace_load(p, NULL, &t, &d);
    char b[900];
    allot_diag_format(&d, b, sizeof b);
    if (rc != err || d.line != line || (needle && !strstr(b, needle)))
        fail_msg("%s: want %d at line %d ('%s'), got %d: %s", name, err, line, needle ? needle : "",
                 rc, b);
    assert_null(t.v);
    assert_int_equal(t.n, 0);
    assert_string_equal(d.file, p);
    free(p);
    rm_rf(dir);
    free(dir);
}

/* ---- Azure -------------------------------------------------------------------- */

#define AZ_HDR "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"

static void test_azure_basic(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *p = write_in(dir, "AzureLLMInferenceTrace_code.csv",
                       AZ_HDR "2023-11-16 18:17:03.9799600,4808,10\r\n"
                              "2023-11-16 18:17:04.0319600,3180,8\r\n"
                              "2023-11-16 18:18:00.5,0,0\r\n"
                              "2023-11-17 00:00:00,7,1\r\n");
    allot_reqtrace t;
    allot_diag d;
    load_ok(p, NULL, &t, &d);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.kind, ALLOT_REQ_LLM);
    assert_string_equal(t.name, "azure-code");
    assert_true(fabs(t.v[0].t) < 1e-12);
    assert_true(fabs(t.v[1].t - 0.052) < 1e-9);
    assert_true(fabs(t.v[2].t - (56.5 + 1 - 0.97996)) < 1e-9);
    /* across midnight: 18:17:03.97996 -> 24:00:00 */
    double want = 5 * 3600 + 42 * 60 + 56 + (1 - 0.97996);
    assert_true(fabs(t.v[3].t - want) < 1e-9);
    assert_true(fabs(t.span_s - want) < 1e-9);
    assert_int_equal(t.v[0].in_tok, 4808);
    assert_int_equal(t.v[0].out_tok, 10);
    assert_int_equal(t.v[1].in_tok, 3180);
    assert_int_equal(t.v[3].out_tok, 1);
    assert_true(t.v[0].exec_s == 0);
    allot_reqtrace_free(&t);
    assert_null(t.v);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.cap, 0);
    free(p);

    /* another name: the file stem; max_span_s cuts */
    p = write_in(dir, "mytrace.csv",
                 AZ_HDR "2023-11-16 18:00:00.0,1,1\n2023-11-16 18:00:10.0,2,2\n"
                        "2023-11-16 18:00:20.0,3,3\n");
    allot_reqtrace_opts o;
    allot_reqtrace_opts_init(&o);
    o.max_span_s = 15;
    load_ok(p, &o, &t, &d);
    assert_string_equal(t.name, "mytrace");
    assert_int_equal(t.n, 2);
    assert_true(fabs(t.span_s - 10) < 1e-12);
    allot_reqtrace_free(&t);
    /* max_requests */
    o.max_span_s = 0;
    o.max_requests = 2;
    assert_int_equal(allot_reqtrace_load(p, &o, &t, &d), ALLOT_ELIMIT);
    assert_null(t.v);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void test_azure_unsorted(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    /* out of order; two rows at the same instant keep their file order */
    char *p = write_in(dir, "x.csv",
                       AZ_HDR "2023-11-16 18:00:05,5,0\n"
                              "2023-11-16 18:00:02.25,2,0\n"
                              "2023-11-16 18:00:09,9,0\n"
                              "2023-11-16 18:00:02.25,3,0\n"
                              "2023-11-16 18:00:01,1,0\n");
    allot_reqtrace t;
    allot_diag d;
    load_ok(p, NULL, &t, &d);
    assert_int_equal(t.n, 5);
    static const int want_in[5] = {1, 2, 3, 5, 9};
    static const double want_t[5] = {0, 1.25, 1.25, 4, 8};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(t.v[i].in_tok, want_in[i]);
        assert_true(fabs(t.v[i].t - want_t[i]) < 1e-12);
    }
    assert_true(fabs(t.span_s - 8) < 1e-12);
    allot_reqtrace_free(&t);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void test_azure_errors(void **state)
{
    (void)state;
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05,5,0\n2023-11-16 18:00:06,-1,0\n", ALLOT_EPARSE,
               3, "ContextTokens");
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05,5,0\n2023-11-16 18:00:06,5\n", ALLOT_EPARSE, 3,
               NULL);
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05,5,x\n", ALLOT_EPARSE, 2, "GeneratedTokens");
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05,5,1\n2023-11-16T18:00:06,5,1\n", ALLOT_EPARSE,
               3, "TIMESTAMP");
    expect_err("a.csv", AZ_HDR "2023-02-29 18:00:05,5,1\n", ALLOT_EPARSE, 2, "no such day");
    expect_err("a.csv", AZ_HDR "2023-11-16 24:00:05,5,1\n", ALLOT_EPARSE, 2, "no such hour");
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05.,5,1\n", ALLOT_EPARSE, 2, "TIMESTAMP");
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05.1234567890,5,1\n", ALLOT_EPARSE, 2, NULL);
    expect_err("a.csv", AZ_HDR "2023-11-16 18:00:05,3000000000,1\n", ALLOT_EPARSE, 2, NULL);
    expect_err("a.csv", AZ_HDR, ALLOT_EPARSE, 0, "no requests");
}

/* ---- GenAI SD ------------------------------------------------------------------- */

#define SD_HDR                                                                                     \
    "gmt_create,predict_type,predict_status,exec_time_seconds,groupId,prompt_length,"              \
    "negative_prompt_length,num_images_per_prompt,num_inference_steps,"                            \
    "checkpoint_model_version_id,num_lora\n"

static void test_genai(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *p = write_in(dir, "lora_request_trace.csv",
                       SD_HDR "2024-11-15 16:57:50,TXT_2_IMG,FAILED,,G0,1,,1,30,M0,0\n"
                              "2024-11-15 16:57:52,TXT_2_IMG,SUCCEED,32.0,G0,63,26,1,30,M0,0\n"
                              "2024-11-15 16:58:00,IMG_2_IMG,PENDING,x,G1,1,,1,30,M0,0\n"
                              "2024-11-15 18:16:14,TXT_2_IMG,SUCCEED,43.5,G1,93,,1,40,M1,0\n"
                              "2024-11-15 18:16:15,TXT_2_IMG,SUCCEED,,G1,93,,1,40,M1,0\n"
                              "2024-11-16 00:00:00,INPAINTING,SUCCEED,0,G2,1,1,1,20,M1,1\n");
    allot_reqtrace t;
    allot_diag d;
    load_ok(p, NULL, &t, &d);
    assert_int_equal(t.kind, ALLOT_REQ_EXEC);
    assert_string_equal(t.name, "genai-sd");
    assert_int_equal(t.n, 3);
    assert_true(t.v[0].t == 0);
    assert_true(fabs(t.v[1].t - (78 * 60 + 22)) < 1e-9);
    assert_true(fabs(t.v[2].t - (7 * 3600 + 2 * 60 + 8)) < 1e-9);
    assert_true(t.v[0].exec_s == 32.0f);
    assert_true(t.v[1].exec_s == 43.5f);
    assert_true(t.v[2].exec_s == 0.0f);
    assert_int_equal(t.v[0].in_tok, 0);
    assert_int_equal(t.v[0].out_tok, 0);
    assert_true(fabs(t.span_s - t.v[2].t) < 1e-12);
    /* the note on what was skipped */
    assert_int_equal(d.line, 0);
    assert_non_null(strstr(d.msg, "skipped 2 rows"));
    assert_non_null(strstr(d.msg, "1 with an empty"));
    allot_reqtrace_free(&t);
    free(p);
    rm_rf(dir);
    free(dir);

    expect_err("sd.csv", SD_HDR "2024-11-15 16:57:52,TXT_2_IMG,SUCCEED,-3,G0,63,26,1,30,M0,0\n",
               ALLOT_EPARSE, 2, "exec_time_seconds");
    expect_err("sd.csv",
               SD_HDR "2024-11-15 16:57:52,TXT_2_IMG,SUCCEED,3,G0,63,26,1,30,M0,0\n"
                      "2024-11-15 16:57:52,TXT_2_IMG,SUCCEED,abc,G0,63,26,1,30,M0,0\n",
               ALLOT_EPARSE, 3, "exec_time_seconds");
    expect_err("sd.csv", SD_HDR "2024-11-15 16:57,TXT_2_IMG,SUCCEED,3,G0,63,26,1,30,M0,0\n",
               ALLOT_EPARSE, 2, "gmt_create");
    expect_err("sd.csv", SD_HDR "2024-11-15 16:57:52,TXT_2_IMG,SUCCEED,3\n", ALLOT_EPARSE, 2, NULL);
    expect_err("sd.csv", SD_HDR "2024-11-15 16:57:52,TXT_2_IMG,FAILED,3,G0,63,26,1,30,M0,0\n",
               ALLOT_EPARSE, 0, "no requests");
    /* gmt_create and exec_time_seconds but no predict_status */
    expect_err("sd.csv", "gmt_create,exec_time_seconds\n2024-11-15 16:57:52,3\n", ALLOT_EPARSE, 1,
               "predict_status");
}

/* ---- detection ---------------------------------------------------------------- */

static void test_unknown_format(void **state)
{
    (void)state;
    expect_err("jobs.csv", "timestamp,duration,num_gpus\n1,2,3\n", ALLOT_EPARSE, 0,
               "unknown request trace format");
    expect_err("jobs.csv", "TIMESTAMP,ContextTokens\n1,2\n", ALLOT_EPARSE, 0,
               "unknown request trace format");
    expect_err("empty.csv", "", ALLOT_EPARSE, 0, "unknown request trace format");
    char *dir = mkdir_tmp();
    allot_reqtrace t;
    allot_diag d;
    int rc = allot_reqtrace_load(dir, NULL, &t, &d);
    assert_int_equal(rc, ALLOT_EPARSE);
    assert_non_null(strstr(d.msg, "unknown request trace format"));
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.csv", dir);
    assert_int_equal(allot_reqtrace_load(missing, NULL, &t, &d), ALLOT_ENOENT);
    rm_rf(dir);
    free(dir);
}

/* ---- ServeGen ----------------------------------------------------------------- */

/* Client 0: Gamma and Weibull windows and idle ones; client 1: one window. */
#define SG0                                                                                        \
    "0,0,0,,0,0\r\n"                                                                               \
    "600,0.085,6.69,Gamma,0.02232167101916883,73.01783087211976\r\n"                               \
    "1200,0.39,0.91,Gamma,1.1977013397371243,2.074553310327594\r\n"                                \
    "1800,1.2345,1.1,Weibull,0.8,1.5\r\n"                                                          \
    "2400,0,0,,0,0\r\n"
#define SG1 "1200,2.5,1,Gamma,1,0.4\n3000,0.001,1,Weibull,2,3\n"

static size_t count_in(const allot_reqtrace *t, double lo, double hi)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) n += t->v[i].t >= lo && t->v[i].t < hi;
    return n;
}

static void test_servegen_windows(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = subdir(dir, "m-test");
    char *f0 = write_in(model, "chunk-0-trace.csv", SG0);
    char *f1 = write_in(model, "chunk-1-trace.csv", SG1);
    free(write_in(model, "chunk-1-dataset.json", "{}")); /* ignored */
    allot_reqtrace_opts o;
    allot_reqtrace_opts_init(&o);
    o.seed = 7;
    allot_reqtrace t;
    allot_diag d;

    /* one client: each window holds round(rate * 600) arrivals, inside it */
    load_ok(f0, &o, &t, &d);
    assert_string_equal(t.name, "servegen-m-test");
    assert_int_equal(t.kind, ALLOT_REQ_LLM);
    assert_int_equal(t.n, 51 + 234 + 741);
    assert_int_equal(count_in(&t, 0, 600), 0);
    assert_int_equal(count_in(&t, 600, 1200), 51);
    assert_int_equal(count_in(&t, 1200, 1800), 234);
    assert_int_equal(count_in(&t, 1800, 2400), 741); /* 740.7 */
    assert_true(fabs(t.span_s - 3000) < 1e-12);
    allot_reqtrace_free(&t);

    /* the directory: both clients merged and sorted */
    load_ok(model, &o, &t, &d);
    assert_string_equal(t.name, "servegen-m-test");
    assert_int_equal(t.n, 51 + 234 + 741 + 1500 + 1);
    assert_int_equal(count_in(&t, 1200, 1800), 234 + 1500);
    assert_int_equal(count_in(&t, 3000, 3600), 1);
    assert_true(fabs(t.span_s - 3600) < 1e-12);
    for (size_t i = 0; i < t.n; i++) {
        if (i) assert_true(t.v[i].t >= t.v[i - 1].t);
        assert_true(t.v[i].in_tok >= 1 && t.v[i].in_tok <= 32768);
        assert_true(t.v[i].out_tok >= 1 && t.v[i].out_tok <= 32768);
        assert_true(t.v[i].exec_s == 0);
    }
    allot_reqtrace_free(&t);

    /* rate_scale and max_span_s */
    o.rate_scale = 2;
    o.max_span_s = 1800;
    load_ok(model, &o, &t, &d);
    assert_int_equal(t.n, 102 + 468 + 3000);
    assert_true(fabs(t.span_s - 1800) < 1e-12);
    assert_true(t.v[t.n - 1].t < 1800);
    allot_reqtrace_free(&t);

    /* max_requests: refused, with advice */
    allot_reqtrace_opts_init(&o);
    o.max_requests = 1000;
    assert_int_equal(allot_reqtrace_load(model, &o, &t, &d), ALLOT_ELIMIT);
    assert_non_null(strstr(d.msg, "rate_scale"));
    assert_non_null(strstr(d.msg, "max_span_s"));
    assert_null(t.v);
    /* bad options */
    allot_reqtrace_opts_init(&o);
    o.rate_scale = 0;
    assert_int_equal(allot_reqtrace_load(model, &o, &t, &d), ALLOT_EINVAL);

    free(f0);
    free(f1);
    free(model);
    rm_rf(dir);
    free(dir);
}

static void test_servegen_seed(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *model = subdir(dir, "m");
    free(write_in(model, "chunk-0-trace.csv", SG0));
    free(write_in(model, "chunk-1-trace.csv", SG1));
    allot_reqtrace_opts o;
    allot_reqtrace_opts_init(&o);
    allot_reqtrace a, b, c;
    allot_diag d;
    o.seed = 11;
    load_ok(model, &o, &a, &d);
    load_ok(model, &o, &b, &d);
    o.seed = 12;
    load_ok(model, &o, &c, &d);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.n, c.n);
    for (size_t i = 0; i < a.n; i++) { /* field by field: the padding is not set */
        assert_true(a.v[i].t == b.v[i].t);
        assert_int_equal(a.v[i].in_tok, b.v[i].in_tok);
        assert_int_equal(a.v[i].out_tok, b.v[i].out_tok);
        assert_true(a.v[i].exec_s == b.v[i].exec_s);
    }
    size_t tdiff = 0, kdiff = 0;
    for (size_t i = 0; i < a.n; i++) {
        tdiff += a.v[i].t != c.v[i].t;
        kdiff += a.v[i].in_tok != c.v[i].in_tok;
    }
    assert_true(tdiff > a.n / 2);
    assert_true(kdiff > a.n / 2);
    /* a longer span does not change the earlier windows */
    allot_reqtrace_free(&c);
    o.seed = 11;
    o.max_span_s = 1800;
    load_ok(model, &o, &c, &d);
    assert_int_equal(c.n, 51 + 234 + 1500);
    for (size_t i = 0; i < c.n; i++) assert_true(c.v[i].t == a.v[i].t);
    allot_reqtrace_free(&a);
    allot_reqtrace_free(&b);
    allot_reqtrace_free(&c);
    free(model);
    rm_rf(dir);
    free(dir);
}

/* Coefficient of variation of the gaps between sorted arrivals. */
static double gap_cv(const allot_reqtrace *t)
{
    double s = 0, s2 = 0;
    size_t n = t->n - 1;
    for (size_t i = 0; i < n; i++) {
        double g = t->v[i + 1].t - t->v[i].t;
        s += g;
        s2 += g * g;
    }
    double m = s / (double)n;
    return sqrt(s2 / (double)n - m * m) / m;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void test_servegen_laws(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char *fam = subdir(dir, "reason");
    char *model = subdir(fam, "r1");
    allot_reqtrace_opts o;
    allot_reqtrace_opts_init(&o);
    allot_reqtrace t;
    allot_diag d;
    /* 30,000 gaps per window: the CV is that of the law (the rescaling keeps
     * it): Gamma(k) 1/sqrt(k); Weibull(0.5) sqrt(Gamma(5)/Gamma(3)^2 - 1) */
    static const struct {
        const char *row;
        double cv;
    } laws[] = {
        {"0,50,2,Gamma,0.25,8\n", 2.0},       {"0,50,1,Gamma,1,0.02\n", 1.0},
        {"0,50,0.5,Gamma,4,0.005\n", 0.5},    {"0,50,2.2,Weibull,0.5,0.01\n", 2.2360679774997896},
        {"0,50,0.36,Weibull,3,1\n", 0.36340},
    };
    for (size_t k = 0; k < sizeof laws / sizeof laws[0]; k++) {
        char *f = write_in(model, "chunk-0-trace.csv", laws[k].row);
        load_ok(f, &o, &t, &d);
        assert_int_equal(t.n, 30000);
        double cv = gap_cv(&t);
        if (fabs(cv - laws[k].cv) > 0.1 * laws[k].cv)
            fail_msg("%s: gap CV %.3f, want %.3f", laws[k].row, cv, laws[k].cv);
        allot_reqtrace_free(&t);
        free(f);
    }
    /* tokens: the reason family's medians (in 600, out 2000) */
    free(write_in(model, "chunk-0-trace.csv", "0,50,1,Gamma,1,1\n600,50,1,Gamma,1,1\n"));
    load_ok(model, &o, &t, &d);
    assert_string_equal(t.name, "servegen-r1");
    int32_t *x = malloc(t.n * sizeof *x), *y = malloc(t.n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < t.n; i++) x[i] = t.v[i].in_tok, y[i] = t.v[i].out_tok;
    qsort(x, t.n, sizeof *x, cmp_i32);
    qsort(y, t.n, sizeof *y, cmp_i32);
    assert_true(fabs(x[t.n / 2] - 600.0) < 30);
    assert_true(fabs(y[t.n / 2] - 2000.0) < 100);
    assert_int_equal(y[t.n - 1], 32768); /* e^(1 sigma x 3.4) x 2000 > 32768: clamped */
    free(x);
    free(y);
    allot_reqtrace_free(&t);
    free(model);
    free(fam);
    rm_rf(dir);
    free(dir);
}

static void test_servegen_errors(void **state)
{
    (void)state;
    expect_err("chunk-3-trace.csv", "0,0,0,,0,0\n600,1,1,Lognormal,1,1\n", ALLOT_EPARSE, 2,
               "unknown pattern 'Lognormal'");
    expect_err("chunk-3-trace.csv", "0,1,1,Gamma,0,1\n", ALLOT_EPARSE, 1, "shape");
    expect_err("chunk-3-trace.csv", "0,1,1,Gamma,1,1\n600,1,1,Weibull,2,-1\n", ALLOT_EPARSE, 2,
               "scale");
    expect_err("chunk-3-trace.csv", "0,1,1,Gamma,1,1\n600,1,1,Gamma,1\n", ALLOT_EPARSE, 2, NULL);
    expect_err("chunk-3-trace.csv", "0,x,1,Gamma,1,1\n", ALLOT_EPARSE, 1, "rate");
    expect_err("chunk-3-trace.csv", "0,-1,1,Gamma,1,1\n", ALLOT_EPARSE, 1, "rate");
    expect_err("chunk-3-trace.csv", "0,1,1,Gamma,1,1\n610,1,1,Gamma,1,1\n", ALLOT_EPARSE, 2,
               "multiple of 600");
    expect_err("chunk-3-trace.csv", "0,2,1,,0,0\n", ALLOT_EPARSE, 1, "no inter-arrival pattern");
    expect_err("chunk-3-trace.csv", "0,0,0,,0,0\n600,0,0,,0,0\n", ALLOT_EPARSE, 0, "no requests");
}

/* ---- the real traces ---------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int real_path(char *buf, size_t len, const char *rel)
{
    const char *root = tu_traces_dir();
    if (!root) return 0;
    snprintf(buf, len, "%s/%s", root, rel);
    return access(buf, R_OK) == 0;
}

static void test_real_azure(void **state)
{
    (void)state;
    char p[600];
    if (!real_path(p, sizeof p, "azure-llm-inference-2023/AzureLLMInferenceTrace_code.csv")) {
        skip();
        return;
    }
    allot_reqtrace t;
    allot_diag d;
    double t0 = now_s();
    load_ok(p, NULL, &t, &d);
    print_message("azure-code: %zu requests in %.3f s\n", t.n, now_s() - t0);
    assert_string_equal(t.name, "azure-code");
    assert_int_equal(t.n, 8819);
    assert_true(fabs(t.span_s - 3436) < 1.0);
    double s = 0;
    for (size_t i = 0; i < t.n; i++) s += t.v[i].in_tok;
    assert_true(fabs(s / (double)t.n - 2048) < 1.0);
    allot_reqtrace_free(&t);

    assert_true(real_path(p, sizeof p, "azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv"));
    load_ok(p, NULL, &t, &d);
    assert_string_equal(t.name, "azure-conv");
    assert_int_equal(t.n, 19366);
    assert_true(fabs(t.span_s - 3502) < 1.0);
    allot_reqtrace_free(&t);
}

static void test_real_genai(void **state)
{
    (void)state;
    char p[600];
    if (!real_path(p, sizeof p, "alibaba-genai-sd-2026/lora_request_trace.csv")) {
        skip();
        return;
    }
    allot_reqtrace t;
    allot_diag d;
    double t0 = now_s();
    load_ok(p, NULL, &t, &d);
    print_message("genai-sd: %zu requests in %.3f s\n", t.n, now_s() - t0);
    /* README: SUCCEED 26,392; none of them has an empty exec_time_seconds */
    assert_int_equal(t.n, 26392);
    assert_int_equal(t.kind, ALLOT_REQ_EXEC);
    assert_non_null(strstr(d.msg, "skipped 431 rows"));
    /* 2024-11-15 16:57:50 .. 2024-12-08 17:33:45 (the last SUCCEED row) */
    assert_true(fabs(t.span_s - (23 * 86400 + 35 * 60 + 55)) < 1e-6);
    allot_reqtrace_free(&t);
}

static void test_real_servegen(void **state)
{
    (void)state;
    char p[600];
    if (!real_path(p, sizeof p, "alibaba-servegen-2025/reason/deepseek-r1")) {
        skip();
        return;
    }
    allot_reqtrace_opts o;
    allot_reqtrace_opts_init(&o);
    o.max_span_s = 86400;
    allot_reqtrace t;
    allot_diag d;
    double t0 = now_s();
    load_ok(p, &o, &t, &d);
    print_message("servegen-deepseek-r1 (1 day): %zu requests in %.3f s\n", t.n, now_s() - t0);
    assert_string_equal(t.name, "servegen-deepseek-r1");
    double rate = (double)t.n / t.span_s;
    assert_true(fabs(t.span_s - 86400) < 1e-9);
    if (fabs(rate - 16.0) > 0.05 * 16.0) fail_msg("mean rate %.3f, want 16.0 +- 5 %%", rate);
    allot_reqtrace_free(&t);

    /* m-large, 14 days at rate_scale 1: refused before allocating */
    if (real_path(p, sizeof p, "alibaba-servegen-2025/language/m-large")) {
        allot_reqtrace_opts_init(&o);
        t0 = now_s();
        assert_int_equal(allot_reqtrace_load(p, &o, &t, &d), ALLOT_ELIMIT);
        print_message("servegen-m-large (14 days): refused in %.3f s: %s\n", now_s() - t0, d.msg);
        assert_null(t.v);
        /* one hour loads */
        o.max_span_s = 3600;
        load_ok(p, &o, &t, &d);
        assert_string_equal(t.name, "servegen-m-large");
        assert_true(t.n > 100000);
        allot_reqtrace_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_azure_basic),     cmocka_unit_test(test_azure_unsorted),
        cmocka_unit_test(test_azure_errors),    cmocka_unit_test(test_genai),
        cmocka_unit_test(test_unknown_format),  cmocka_unit_test(test_servegen_windows),
        cmocka_unit_test(test_servegen_seed),   cmocka_unit_test(test_servegen_laws),
        cmocka_unit_test(test_servegen_errors), cmocka_unit_test(test_real_azure),
        cmocka_unit_test(test_real_genai),      cmocka_unit_test(test_real_servegen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
