/* tests/test_philly.c - the Philly trace reader (trace_philly.c), its format
 * detection, the builtin:philly fleet and a replay of the real trace on it
 * (skipped without ../shared/traces). */
#include "testutil.h"

#include <math.h>
#include <time.h>

#include "allot/sim.h"
#include "allot/spec.h"
#include "allot/trace.h"

#define HDR "timestamp,duration,num_gpus,gpu_time,cluster\n"

/* The sanitizer build checks every invariant after every event (ALLOT_DEBUG),
 * which makes the full replay take minutes; there it replays a window. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void read_ok(const char *text, allot_workload *w)
{
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_trace_read_philly(text, strlen(text), "philly.csv", NULL, w, &d);
    if (rc != 0) {
        char b[800];
        allot_diag_format(&d, b, sizeof b);
        fail_msg("unexpected error %d: %s", rc, b);
    }
}

static int read_errors; /* mismatches seen by expect_error */

static void expect_error(const char *text, int err, const char *want)
{
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_trace_read_philly(text, strlen(text), "philly.csv", NULL, &w, &d);
    char b[800];
    allot_diag_format(&d, b, sizeof b);
    if (rc != err || strcmp(b, want) != 0) {
        print_error("got %d '%s'\n     want %d '%s'\n", rc, b, err, want);
        read_errors++;
    }
    assert_int_equal(w.njobs, 0); /* nothing half-read is left */
    assert_int_equal(w.ntenants, 0);
    allot_workload_free(&w);
}

/* ---- mapping ------------------------------------------------------------------- */

static void test_sample(void **state)
{
    (void)state;
    allot_workload w;
    allot_workload_init(&w);
    /* not sorted by time; the earliest row is the third */
    read_ok(HDR "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
                "2017-10-09 06:13:03,2950.2,2,5900.4,6214e9\n"
                "2017-10-09 06:00:00,0.5,4,2.0,11cb48\r\n"
                "2017-10-10 06:00:00,86400,8,691200,7f04ca\n"
                "2017-10-09 06:00:01,1,1,1,6214e9",
            &w);
    assert_int_equal(w.njobs, 5);
    assert_int_equal(w.has_times, 1);
    /* submits rebased on the earliest timestamp, file order kept */
    static const int64_t submit[5] = {3715, 783, 0, 86400, 1};
    static const int64_t duration[5] = {66, 2951, 1, 86400, 1};
    static const int ndev[5] = {1, 2, 4, 8, 1};
    static const int tenant[5] = {0, 1, 0, 2, 1};
    for (size_t i = 0; i < 5; i++) {
        const allot_job *j = &w.jobs[i];
        char name[32];
        snprintf(name, sizeof name, "philly-%zu", i);
        assert_string_equal(allot_workload_name(&w, i), name);
        assert_true(j->submit == submit[i]);
        assert_true(j->duration == duration[i]);
        assert_int_equal(j->ntasks, 1);
        assert_int_equal(j->shape.ndev, ndev[i]);
        assert_int_equal(j->shape.milli, 1000);
        assert_true(j->shape.chips == 0);
        assert_true(j->shape.cpu == 4000 * ndev[i]);
        assert_true(j->shape.mem == 32768 * ndev[i]);
        assert_int_equal(j->tenant, tenant[i]);
        assert_int_equal(j->qos, 4);
        char msg[200];
        assert_int_equal(allot_shape_check(&j->shape, msg, sizeof msg), 0);
    }
    /* tenants deduplicated in order of first appearance */
    assert_int_equal(w.ntenants, 3);
    assert_string_equal(allot_workload_tenant_name(&w, 0), "11cb48");
    assert_string_equal(allot_workload_tenant_name(&w, 1), "6214e9");
    assert_string_equal(allot_workload_tenant_name(&w, 2), "7f04ca");

    /* columns in another order, extra columns ignored, a month and a leap
     * day apart; header only adds nothing */
    allot_workload w2;
    allot_workload_init(&w2);
    read_ok("cluster,extra,num_gpus,gpu_time,duration,timestamp\n"
            "vc-b,x,1,10,10,2016-03-01 00:00:00\n"
            "vc-a,y,1,10,10,2016-02-28 23:59:59\n",
            &w2);
    assert_int_equal(w2.njobs, 2);
    assert_true(w2.jobs[0].submit == 86401); /* 2016 is a leap year */
    assert_true(w2.jobs[1].submit == 0);
    assert_string_equal(allot_workload_tenant_name(&w2, 0), "vc-b");
    read_ok(HDR, &w2);
    assert_int_equal(w2.njobs, 2);
    allot_workload_free(&w2);
    allot_workload_free(&w);
}

static void test_gangs(void **state)
{
    (void)state;
    static const struct {
        int gpus, ntasks, ndev;
    } cases[] = {{1, 1, 1},    {3, 1, 3},  {8, 1, 8},      {9, 9, 1},        {10, 5, 2},
                 {12, 3, 4},   {16, 2, 8}, {24, 3, 8},     {32, 4, 8},       {64, 8, 8},
                 {128, 16, 8}, {20, 5, 4}, {1000, 125, 8}, {65535, 65535, 1}};
    size_t n = sizeof cases / sizeof cases[0];
    char *text = malloc(64 * n + 64);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, HDR);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "2017-10-09 07:01:55,2.5,%d,%.1f,vc\n", cases[i].gpus,
                               2.5 * cases[i].gpus);
    allot_workload w;
    allot_workload_init(&w);
    read_ok(text, &w);
    assert_int_equal(w.njobs, n);
    for (size_t i = 0; i < n; i++) {
        const allot_job *j = &w.jobs[i];
        if ((int)j->ntasks != cases[i].ntasks || j->shape.ndev != cases[i].ndev)
            fail_msg("%d GPUs: got %u x %d, want %d x %d", cases[i].gpus, j->ntasks, j->shape.ndev,
                     cases[i].ntasks, cases[i].ndev);
        assert_true(allot_job_milli(j) == 1000LL * cases[i].gpus);
        assert_true(j->shape.cpu == 4000LL * cases[i].ndev);
        assert_true(j->shape.mem == 32768LL * cases[i].ndev);
        assert_true(j->duration == 3);
    }
    allot_workload_free(&w);
    free(text);
}

/* ---- bad input ------------------------------------------------------------------ */

static void test_bad_rows(void **state)
{
    (void)state;
    /* columns of a row "2017-10-09 07:01:55,66.0,1,66.0,11cb48": timestamp 1,
     * duration 21, num_gpus 26, gpu_time 28, cluster 33 */
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.0,a\n2017-10-9 07:01:55,66.0,1,66.0,a\n",
                 ALLOT_EPARSE,
                 "philly.csv:3:1: column 'timestamp': expected YYYY-MM-DD HH:MM:SS, got "
                 "'2017-10-9 07:01:55'");
    expect_error(HDR "2017-10-09T07:01:55,66.0,1,66.0,a\n", ALLOT_EPARSE,
                 "philly.csv:2:1: column 'timestamp': expected YYYY-MM-DD HH:MM:SS, got "
                 "'2017-10-09T07:01:55'");
    expect_error(HDR "1507532515,66.0,1,66.0,a\n", ALLOT_EPARSE,
                 "philly.csv:2:1: column 'timestamp': expected YYYY-MM-DD HH:MM:SS, got "
                 "'1507532515'");
    expect_error(HDR "2017-10-09 07:01:55 ,66.0,1,66.0,a\n", ALLOT_EPARSE,
                 "philly.csv:2:1: column 'timestamp': expected YYYY-MM-DD HH:MM:SS, got "
                 "'2017-10-09 07:01:55 '");
    expect_error(HDR "2017-02-29 07:01:55,66.0,1,66.0,a\n", ALLOT_ERANGE,
                 "philly.csv:2:1: column 'timestamp': no such day in '2017-02-29 07:01:55'");
    expect_error(HDR "2017-13-01 07:01:55,66.0,1,66.0,a\n", ALLOT_ERANGE,
                 "philly.csv:2:1: column 'timestamp': no such month in '2017-13-01 07:01:55'");
    expect_error(HDR "2017-10-09 24:00:00,66.0,1,66.0,a\n", ALLOT_ERANGE,
                 "philly.csv:2:1: column 'timestamp': no such hour in '2017-10-09 24:00:00'");
    expect_error(HDR "2017-10-09 07:01:60,66.0,1,66.0,a\n", ALLOT_ERANGE,
                 "philly.csv:2:1: column 'timestamp': no such second in '2017-10-09 07:01:60'");
    expect_error(HDR "2017-10-09 07:01:55,-5.0,1,-5.0,a\n", ALLOT_ERANGE,
                 "philly.csv:2:21: column 'duration': number out of range: expected 0..1e+12, "
                 "got '-5.0'");
    expect_error(HDR "2017-10-09 07:01:55,,1,66.0,a\n", ALLOT_EPARSE,
                 "philly.csv:2:21: column 'duration': expected a number in 0..1e+12, got an "
                 "empty field");
    expect_error(HDR "2017-10-09 07:01:55,nan,1,66.0,a\n", ALLOT_EPARSE,
                 "philly.csv:2:21: column 'duration': expected a number in 0..1e+12, got 'nan'");
    expect_error(HDR "2017-10-09 07:01:55,66.0,0,0.0,a\n", ALLOT_ERANGE,
                 "philly.csv:2:26: column 'num_gpus': integer out of range: expected 1..65535, "
                 "got '0'");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1.0,66.0,a\n", ALLOT_EPARSE,
                 "philly.csv:2:26: column 'num_gpus': expected an integer in 1..65535, got "
                 "'1.0'");
    expect_error(HDR "2017-10-09 07:01:55,66.0,2,66.0,a\n", ALLOT_EINVAL,
                 "philly.csv:2:28: column 'gpu_time': 66 is not duration x num_gpus = 132");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.001,a\n", ALLOT_EINVAL,
                 "philly.csv:2:28: column 'gpu_time': 66.001000000000005 is not duration x "
                 "num_gpus = 66");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,x,a\n", ALLOT_EPARSE,
                 "philly.csv:2:28: column 'gpu_time': expected a number in 0..1e+18, got 'x'");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.0,\n", ALLOT_EINVAL,
                 "philly.csv:2:33: column 'cluster': virtual cluster '' must not be empty");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.0,a b\n", ALLOT_EINVAL,
                 "philly.csv:2:33: column 'cluster': virtual cluster 'a b' may only hold "
                 "letters, digits and -_.:/+@");
    /* a missing or an extra field, a missing header column */
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.0\n", ALLOT_EPARSE,
                 "philly.csv:2:32: expected 5 fields like the header, got 4");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.0,a,b\n", ALLOT_EPARSE,
                 "philly.csv:2:35: expected 5 fields like the header, got 6");
    expect_error("timestamp,duration,num_gpus,cluster\n2017-10-09 07:01:55,66.0,1,a\n",
                 ALLOT_EPARSE,
                 "philly.csv:1:1: header lacks the column 'gpu_time' (a Philly trace needs "
                 "timestamp,duration,num_gpus,gpu_time,cluster)");
    expect_error("", ALLOT_EPARSE, "philly.csv:1:1: empty Philly trace (no header)");
    expect_error(HDR "2017-10-09 07:01:55,66.0,1,66.0,\"a\n", ALLOT_EPARSE,
                 "philly.csv:2:33: unterminated quoted field (missing closing '\"')");
    assert_int_equal(read_errors, 0);

    /* more virtual clusters than ALLOT_MAX_TENANTS */
    size_t n = ALLOT_MAX_TENANTS + 1;
    char *text = malloc(48 * n + 64);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, HDR);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "2017-10-09 07:01:55,1,1,1,vc%zu\n", i);
    char want[200];
    snprintf(want, sizeof want,
             "philly.csv:%zu:27: column 'cluster': cannot add tenant 'vc%zu': input exceeds a "
             "hard limit (too many tenants)",
             n + 1, n - 1);
    expect_error(text, ALLOT_ELIMIT, want);
    free(text);
    assert_int_equal(read_errors, 0);

    /* an error leaves earlier jobs and tenants of w alone */
    allot_workload w;
    allot_workload_init(&w);
    read_ok(HDR "2017-10-09 07:01:55,66.0,1,66.0,keep\n", &w);
    const char *bad = HDR "2017-10-09 07:01:55,1,1,1,new\n2017-10-09 07:01:55,1,2,1,new\n";
    allot_diag d;
    assert_int_equal(allot_trace_read_philly(bad, strlen(bad), "p.csv", NULL, &w, &d),
                     ALLOT_EINVAL);
    assert_int_equal(w.njobs, 1);
    assert_int_equal(w.ntenants, 1);
    assert_string_equal(allot_workload_name(&w, 0), "philly-0");
    assert_string_equal(allot_workload_tenant_name(&w, 0), "keep");
    read_ok(HDR "2017-10-09 07:01:55,66.0,1,66.0,other\n", &w);
    assert_int_equal(w.ntenants, 2);
    assert_string_equal(allot_workload_tenant_name(&w, 1), "other");
    allot_workload_free(&w);
}

/* ---- detection, the loader and the fleet ------------------------------------------ */

static void test_load_and_detect(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d;
    allot_workload_format f;
    char *path = tu_tmpfile(".csv", HDR "2017-10-09 07:01:55,66.0,16,1056.0,vc\n");
    assert_non_null(path);
    assert_int_equal(allot_workload_detect(path, &f, &d), 0);
    assert_int_equal(f, ALLOT_WORKLOAD_PHILLY);
    assert_int_equal(allot_workload_load(path, c, &w, &d), 0);
    assert_int_equal(w.njobs, 1);
    assert_int_equal(w.jobs[0].ntasks, 2);
    assert_string_equal(allot_workload_tenant_name(&w, 0), "vc");
    unlink(path);
    free(path);

    /* errors name the file */
    path = tu_tmpfile(".csv", HDR "2017-10-09 07:01:55,66.0,16,1056.0,vc\nbad,1,1,1,vc\n");
    assert_non_null(path);
    assert_int_equal(allot_workload_load(path, c, &w, &d), ALLOT_EPARSE);
    assert_string_equal(d.file, path);
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 1);
    unlink(path);
    free(path);

    path = tu_tmpfile(".csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,1,1000\n");
    assert_non_null(path);
    assert_int_equal(allot_workload_detect(path, &f, &d), 0);
    assert_int_equal(f, ALLOT_WORKLOAD_OPENB);
    unlink(path);
    free(path);

    path = tu_tmpfile(".csv", "timestamp,duration,num_gpus,cluster\n");
    assert_non_null(path);
    assert_int_equal(allot_workload_detect(path, &f, &d), 0);
    assert_int_equal(f, ALLOT_WORKLOAD_UNKNOWN);
    assert_int_equal(allot_workload_load(path, c, &w, &d), ALLOT_EPARSE);
    assert_non_null(strstr(d.msg, "a Philly trace with the header columns "
                                  "timestamp,duration,num_gpus,gpu_time,cluster"));
    assert_non_null(strstr(d.msg, "an openb pod list"));
    unlink(path);
    free(path);

    assert_int_equal(allot_workload_detect("gen:mixed", &f, &d), 0);
    assert_int_equal(f, ALLOT_WORKLOAD_GEN);
    assert_int_equal(allot_workload_detect("/nonexistent/philly.csv", &f, &d), ALLOT_ENOENT);
    assert_int_equal(f, ALLOT_WORKLOAD_UNKNOWN);
    assert_int_equal(w.njobs, 1);
    allot_workload_free(&w);
    allot_cluster_free(c);
}

static void test_builtin_fleet(void **state)
{
    (void)state;
    allot_cluster *c = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_cluster_load("builtin:philly", ALLOT_NODES_AUTO, &c, &d);
    if (rc != 0) fail_msg("builtin:philly: %d: %s", rc, d.msg);
    assert_string_equal(allot_cluster_name(c), "philly");
    assert_int_equal(allot_cluster_nnodes(c), 80);
    assert_int_equal(allot_cluster_ndevices(c), 640);
    assert_int_equal(allot_cluster_nchips(c), 1);
    assert_string_equal(allot_cluster_chip(c, 0)->name, "V100");
    assert_true(allot_cluster_total_milli(c) == 640000);
    size_t zones = 0, blocks = 0, racks = 0;
    for (uint32_t i = 0; i < allot_cluster_ndomains(c); i++) {
        const allot_domain *dm = allot_cluster_domain(c, i);
        zones += dm->level == ALLOT_LEVEL_ZONE;
        blocks += dm->level == ALLOT_LEVEL_BLOCK;
        if (dm->level == ALLOT_LEVEL_RACK) {
            racks++;
            assert_int_equal(dm->nnodes, 8);
        }
        if (dm->level == ALLOT_LEVEL_BLOCK) assert_int_equal(dm->nnodes, 40);
    }
    assert_int_equal(zones, 1);
    assert_int_equal(blocks, 2);
    assert_int_equal(racks, 10);
    for (uint32_t i = 0; i < allot_cluster_nnodes(c); i++) {
        const allot_node *n = allot_cluster_node(c, i);
        assert_int_equal(n->ndev, 8);
        assert_true(n->cpu_cap == 80000);
        assert_true(n->mem_cap == 524288);
        /* a full 8-device Philly task fits a node on CPU and memory */
        assert_true(n->cpu_cap >= 8 * 4000 && n->mem_cap >= 8 * 32768);
    }
    char msg[256];
    assert_int_equal(allot_cluster_check(c, msg, sizeof msg), 0);
    allot_cluster_free(c);
    assert_non_null(strstr(allot_philly_fleet_json(), "\"philly\""));
    /* builtin:sample is still there */
    assert_int_equal(allot_cluster_load("builtin:sample", ALLOT_NODES_AUTO, &c, &d), 0);
    assert_int_equal(allot_cluster_nnodes(c), 88);
    allot_cluster_free(c);
}

/* ---- the real trace (skipped without ../shared/traces) ------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_real_trace(void **state)
{
    (void)state;
    const char *dir = tu_traces_dir();
    char path[1024];
    if (dir) snprintf(path, sizeof path, "%s/philly-pollux-derived/philly.csv", dir);
    if (!dir || access(path, R_OK) != 0) {
        skip();
        return;
    }
    allot_cluster *c = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    assert_int_equal(allot_cluster_load("builtin:philly", ALLOT_NODES_AUTO, &c, &d), 0);
    allot_workload w;
    allot_workload_init(&w);
    double t0 = now_s();
    int rc = allot_workload_load(path, c, &w, &d);
    if (rc != 0) fail_msg("%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    double t_load = now_s() - t0;
    /* the README's counts */
    assert_int_equal(w.njobs, 82247);
    assert_int_equal(w.ntenants, 15);
    assert_int_equal(w.has_times, 1);
    double gpu_s = 0;
    int64_t first = INT64_MAX, last = INT64_MIN;
    size_t by_gpus[129] = {0}, gangs = 0;
    for (size_t i = 0; i < w.njobs; i++) {
        const allot_job *j = &w.jobs[i];
        int64_t g = allot_job_milli(j) / 1000;
        gpu_s += (double)j->duration * (double)g;
        if (j->submit < first) first = j->submit;
        if (j->submit > last) last = j->submit;
        assert_true(j->duration >= 1);
        if (g <= 128) by_gpus[g]++;
        gangs += j->ntasks > 1;
    }
    /* 978,078 GPU-hours; durations are whole seconds in this file, so the
     * rounding up adds nothing, but allow for it */
    double gpu_h = gpu_s / 3600.0;
    if (!(fabs(gpu_h - 978078.0) <= 1.0)) fail_msg("GPU-hours %.2f, want 978078 +- 1", gpu_h);
    /* 2017-09-04 10:30:41 .. 2017-12-22 08:02:11 */
    assert_true(first == 0);
    assert_true(last == 108 * 86400 + 21 * 3600 + 31 * 60 + 30);
    /* the README's histogram */
    static const int gpus[10] = {1, 2, 4, 8, 12, 16, 24, 32, 64, 128};
    static const size_t jobs[10] = {76627, 1818, 1870, 1643, 7, 199, 7, 67, 6, 3};
    for (int k = 0; k < 10; k++) assert_int_equal(by_gpus[gpus[k]], jobs[k]);
    assert_int_equal(gangs, 7 + 199 + 7 + 67 + 6 + 3);
    assert_string_equal(allot_workload_tenant_name(&w, 0), "11cb48");

    /* replay with best-fit on builtin:philly: every job starts and ends.
     * Under the sanitizers: the jobs submitted in the first 23 days (the
     * sparse start and the first busy days, gangs included). */
    allot_workload win, *rw = &w;
    allot_workload_init(&win);
    if (UNDER_ASAN) {
        for (size_t i = 0; i < w.njobs; i++)
            if (w.jobs[i].submit < 23 * 86400)
                assert_true(allot_workload_add(&win, &w.jobs[i], allot_workload_name(&w, i)) >= 0);
        win.has_times = 1;
        rw = &win;
    }
    size_t want = rw->njobs;
    allot_sim_config cfg;
    allot_sim_config_init(&cfg);
    cfg.mode = ALLOT_SIM_REPLAY;
    cfg.policy = ALLOT_POLICY_BESTFIT;
    cfg.seed = 42;
    allot_sim_result r;
    t0 = now_s();
    rc = allot_sim_run(c, rw, &cfg, &r, &d);
    double t_sim = now_s() - t0;
    if (rc != 0) fail_msg("allot_sim_run: %d: %s", rc, d.msg);
    assert_int_equal(r.jobs, want);
    assert_int_equal(r.placed, want);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.finished, want);
    assert_true(r.gangs > 0);
    assert_true(r.alloc_time_avg_pct > 0 && r.alloc_time_avg_pct <= 100);
    if (!UNDER_ASAN) assert_true(r.makespan_s >= last);
    print_message("philly on builtin:philly, bestfit replay of %zu jobs: load %.2f s, replay "
                  "%.2f s; utilisation %.2f %%, mean wait %.0f s, p99 wait %.0f s, mean JCT "
                  "%.0f s, makespan %lld s\n",
                  want, t_load, t_sim, r.alloc_time_avg_pct, r.wait_mean_s, r.wait_p99_s,
                  r.jct_mean_s, (long long)r.makespan_s);
    allot_sim_result_free(&r);
    allot_workload_free(&win);
    allot_workload_free(&w);
    allot_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),        cmocka_unit_test(test_gangs),
        cmocka_unit_test(test_bad_rows),      cmocka_unit_test(test_load_and_detect),
        cmocka_unit_test(test_builtin_fleet), cmocka_unit_test(test_real_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
