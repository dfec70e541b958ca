/* tests/test_trace.c - the openb pod list reader, the workload loader and
 * the generators. */
#include "testutil.h"

#include <math.h>

#include "allot/spec.h"
#include "allot/trace.h"

#define HDR11                                                                                      \
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"                          \
    "creation_time,deletion_time,scheduled_time\n"
#define HDR5 "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"

static void read_ok(const char *text, allot_cluster *c, allot_workload *w)
{
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_trace_read_openb(text, strlen(text), "pods.csv", c, w, &d);
    if (rc != 0) {
        char b[800];
        allot_diag_format(&d, b, sizeof b);
        fail_msg("unexpected error %d: %s", rc, b);
    }
}

static int read_errors; /* mismatches seen by expect_read_error */

static void expect_read_error(const char *text, int err, const char *want)
{
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_trace_read_openb(text, strlen(text), "pods.csv", c, &w, &d);
    char b[800];
    allot_diag_format(&d, b, sizeof b);
    if (rc != err || strcmp(b, want) != 0) {
        print_error("got %d '%s', want %d '%s'\n", rc, b, err, want);
        read_errors++;
    }
    assert_int_equal(w.njobs, 0); /* nothing half-read is left */
    allot_workload_free(&w);
    allot_cluster_free(c);
}

static void test_openb_full(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    read_ok(HDR11 "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n"
                  "openb-pod-0001,6000,12288,1,460,T4|P100,BE,Running,427061,"
                  "12902960,427061\n"
                  "openb-pod-0002,88000,327680,0,0,,Burstable,Failed,5,,\n"
                  "openb-pod-0003,64000,262144,8,1000,G2,Guaranteed,Pending,"
                  "10,20,\n"
                  "openb-pod-0004,1000,1024,0,500,,weird,Succeeded,11,11,11\r\n",
            c, &w);
    assert_int_equal(w.njobs, 5);
    assert_int_equal(w.has_times, 1);
    const allot_job *j = &w.jobs[0];
    assert_string_equal(allot_workload_name(&w, 0), "openb-pod-0000");
    assert_int_equal(j->ntasks, 1);
    assert_int_equal(j->shape.cpu, 12000);
    assert_int_equal(j->shape.mem, 16384);
    assert_int_equal(j->shape.ndev, 1);
    assert_int_equal(j->shape.milli, 1000);
    assert_true(j->shape.chips == 0);
    assert_int_equal(j->qos, 0);
    assert_true(j->submit == 0);
    assert_true(j->duration == 12537496);

    j = &w.jobs[1];
    assert_int_equal(j->shape.milli, 460);
    int t4 = allot_cluster_find_chip(c, "T4"), p100 = allot_cluster_find_chip(c, "P100");
    assert_true(t4 >= 0 && p100 >= 0);
    assert_true(j->shape.chips == (((allot_chip_mask)1 << t4) | ((allot_chip_mask)1 << p100)));
    assert_int_equal(j->qos, 1);
    assert_true(j->submit == 427061);
    assert_true(j->duration == 12902960 - 427061);

    j = &w.jobs[2]; /* CPU-only, no deletion time */
    assert_int_equal(j->shape.ndev, 0);
    assert_int_equal(j->shape.milli, 0);
    assert_int_equal(j->qos, 2);
    assert_true(j->duration == ALLOT_TIME_NONE);

    j = &w.jobs[3];
    assert_int_equal(j->shape.ndev, 8);
    assert_int_equal(j->qos, 3);
    assert_true(j->duration == 10);
    assert_true(allot_cluster_find_chip(c, "G2") >= 0);

    j = &w.jobs[4]; /* gpu_milli ignored without GPUs; unknown qos */
    assert_int_equal(j->shape.milli, 0);
    assert_int_equal(j->qos, 4);
    assert_true(j->duration == 0);

    char msg[200];
    for (size_t i = 0; i < w.njobs; i++)
        assert_int_equal(allot_shape_check(&w.jobs[i].shape, msg, sizeof msg), 0);
    allot_workload_free(&w);
    allot_cluster_free(c);
}

static void test_openb_multigpu_form(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    read_ok(HDR5 "openb-pod-0000,12000,16384,1,1000\n"
                 "openb-pod-0001,6000,12288,4,1000\n"
                 "openb-pod-0002,6000,12288,0,0",
            c, &w);
    assert_int_equal(w.njobs, 3);
    assert_int_equal(w.has_times, 0);
    for (size_t i = 0; i < w.njobs; i++) {
        assert_true(w.jobs[i].submit == ALLOT_TIME_NONE);
        assert_true(w.jobs[i].duration == ALLOT_TIME_NONE);
        assert_int_equal(w.jobs[i].qos, 4);
        assert_true(w.jobs[i].shape.chips == 0);
    }
    assert_int_equal(w.jobs[1].shape.ndev, 4);
    /* columns in another order, extra columns ignored */
    read_ok("gpu_milli,extra,num_gpu,memory_mib,cpu_milli,name\n"
            "300,x,1,100,200,p\n",
            c, &w);
    assert_int_equal(w.njobs, 4);
    assert_int_equal(w.jobs[3].shape.milli, 300);
    assert_int_equal(w.jobs[3].shape.cpu, 200);
    assert_string_equal(allot_workload_name(&w, 3), "p");
    allot_workload_free(&w);
    allot_cluster_free(c);
}

static void test_openb_bad_rows(void **state)
{
    (void)state;
    expect_read_error(HDR5 "a,1000,1024,1,1000\nb,1000,1024,2,500\n", ALLOT_EINVAL,
                      "pods.csv:3:15: column 'gpu_milli': must be 1000 when "
                      "num_gpu is 2 (only a single device can be shared), "
                      "got 500");
    expect_read_error(HDR5 "a,1000,1024,1,0\n", ALLOT_EINVAL,
                      "pods.csv:2:15: column 'gpu_milli': must be 1..1000 "
                      "when num_gpu is 1, got 0");
    expect_read_error(HDR5 "a,1000,1024,1,1001\n", ALLOT_ERANGE,
                      "pods.csv:2:15: column 'gpu_milli': integer out of "
                      "range: expected 0..1000, got '1001'");
    expect_read_error(HDR5 "a,10x0,1024,1,1000\n", ALLOT_EPARSE,
                      "pods.csv:2:3: column 'cpu_milli': expected an integer "
                      "in 0..100000000, got '10x0'");
    expect_read_error(HDR5 "a,1000,-1,1,1000\n", ALLOT_ERANGE,
                      "pods.csv:2:8: column 'memory_mib': integer out of "
                      "range: expected 0..1073741824, got '-1'");
    expect_read_error(HDR5 "a,1000,1024,65,1000\n", ALLOT_ERANGE,
                      "pods.csv:2:13: column 'num_gpu': integer out of range: "
                      "expected 0..64, got '65'");
    expect_read_error(HDR5 "a,1000,1024,1\n", ALLOT_EPARSE,
                      "pods.csv:2:14: expected 5 fields like the header, got "
                      "4");
    expect_read_error(HDR5 "a,1000,1024,1,1000,7\n", ALLOT_EPARSE,
                      "pods.csv:2:20: expected 5 fields like the header, got "
                      "6");
    expect_read_error(HDR5 ",1000,1024,1,1000\n", ALLOT_EPARSE,
                      "pods.csv:2:1: column 'name': must be 1..255 bytes");
    expect_read_error(HDR11 "a,1,1,1,1000,,LS,Running,100,50,\n", ALLOT_ERANGE,
                      "pods.csv:2:30: column 'deletion_time': 50 is before "
                      "creation_time 100");
    expect_read_error(HDR11 "a,1,1,1,1000,,LS,Running,,50,\n", ALLOT_EPARSE,
                      "pods.csv:2:26: column 'creation_time': expected an "
                      "integer in 0..1000000000000, got an empty field");
    expect_read_error(HDR11 "a,1,1,1,1000,T4||,LS,Running,1,2,\n"
                            "b,1,1,1,1000,T4|x y z,LS,Running,1,2,\n",
                      ALLOT_EINVAL,
                      "pods.csv:3:14: column 'gpu_spec': chip type 'x y z' "
                      "may only hold letters, digits and -_.:/+@");
    expect_read_error("name,cpu_milli,memory_mib,num_gpu\n", ALLOT_EPARSE,
                      "pods.csv:1:1: header lacks the column 'gpu_milli' (an "
                      "openb pod list needs name,cpu_milli,memory_mib,"
                      "num_gpu,gpu_milli)");
    expect_read_error("", ALLOT_EPARSE, "pods.csv:1:1: empty pod list (no header)");
    expect_read_error(HDR5 "a,1,1,1,\"1000\n", ALLOT_EPARSE,
                      "pods.csv:2:9: unterminated quoted field (missing "
                      "closing '\"')");

    assert_int_equal(read_errors, 0);

    /* an error leaves earlier jobs of w alone */
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    read_ok(HDR5 "keep,1,1,0,0\n", c, &w);
    const char *bad = HDR5 "x,1,1,0,0\ny,1,1,0,0\nz,1,1,2,1\n";
    allot_diag d;
    assert_int_equal(allot_trace_read_openb(bad, strlen(bad), "p.csv", c, &w, &d), ALLOT_EINVAL);
    assert_int_equal(w.njobs, 1);
    assert_string_equal(allot_workload_name(&w, 0), "keep");
    read_ok(HDR5 "next,1,1,0,0\n", c, &w);
    assert_string_equal(allot_workload_name(&w, 1), "next");
    allot_workload_free(&w);
    allot_cluster_free(c);
}

static void test_workload_load(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d;
    char *path = tu_tmpfile(".csv", HDR11 "p0,1000,1024,1,500,,LS,Running,3,"
                                          "9,3\n");
    assert_int_equal(allot_workload_load(path, c, &w, &d), 0);
    assert_int_equal(w.njobs, 1);
    assert_true(w.jobs[0].duration == 6);
    unlink(path);
    free(path);

    path = tu_tmpfile(".csv", "a,b,c\n1,2,3\n");
    assert_int_equal(allot_workload_load(path, c, &w, &d), ALLOT_EPARSE);
    assert_string_equal(d.file, path);
    assert_int_equal(d.line, 1);
    assert_non_null(strstr(d.msg, "unrecognised workload format (expected an "
                                  "openb pod list"));
    unlink(path);
    free(path);

    assert_int_equal(allot_workload_load("/nonexistent/pods.csv", c, &w, &d), ALLOT_ENOENT);
    assert_int_equal(allot_workload_load("gen:mixed:n=10", c, &w, &d), 0);
    assert_int_equal(w.njobs, 11);
    assert_int_equal(allot_workload_load("gen:nope", c, &w, &d), ALLOT_EINVAL);
    allot_workload_free(&w);
    allot_cluster_free(c);
}

/* ---- generators ---------------------------------------------------------------- */

static void gen_ok(const char *spec, allot_cluster *c, allot_workload *w)
{
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_gen(spec, c, w, &d);
    if (rc != 0) fail_msg("%s: error %d: %s", spec, rc, d.msg);
}

static int same_workload(const allot_workload *a, const allot_workload *b)
{
    if (a->njobs != b->njobs) return 0;
    if (memcmp(a->jobs, b->jobs, a->njobs * sizeof a->jobs[0]) != 0) return 0;
    for (size_t i = 0; i < a->njobs; i++)
        if (strcmp(allot_workload_name(a, i), allot_workload_name(b, i))) return 0;
    return 1;
}

static void test_gen_determinism(void **state)
{
    (void)state;
    static const char *const specs[][3] = {
        {"gen:mixed:n=3000,seed=7", "gen:mixed:seed=7,n=3000", "gen:mixed:n=3000,seed=8"},
        {"gen:llm:n=500,seed=42", "gen:llm:seed=42,n=500", "gen:llm:n=500,seed=43"},
    };
    for (size_t k = 0; k < 2; k++) {
        allot_workload a, b, e;
        allot_workload_init(&a);
        allot_workload_init(&b);
        allot_workload_init(&e);
        gen_ok(specs[k][0], NULL, &a);
        gen_ok(specs[k][1], NULL, &b);
        gen_ok(specs[k][2], NULL, &e);
        assert_true(same_workload(&a, &b));
        assert_false(same_workload(&a, &e));
        allot_workload_free(&a);
        allot_workload_free(&b);
        allot_workload_free(&e);
    }
}

static void check_valid(const allot_workload *w)
{
    char msg[200];
    int64_t prev = 0;
    assert_int_equal(w->has_times, 1);
    for (size_t i = 0; i < w->njobs; i++) {
        const allot_job *j = &w->jobs[i];
        if (allot_shape_check(&j->shape, msg, sizeof msg) != 0) fail_msg("job %zu: %s", i, msg);
        assert_true(j->ntasks >= 1 && j->ntasks <= 64);
        assert_true(j->submit >= prev);
        prev = j->submit;
        assert_true(j->duration >= 1);
        assert_true(j->shape.cpu >= 1000);
        assert_true(j->shape.mem >= 1024);
        /* zero-initialised: no topology requirement */
        assert_int_equal(j->topo, ALLOT_TOPO_ANY);
        assert_int_equal(j->topo_wait, 0);
        assert_int_equal(j->tenant, 0);
    }
}

static void test_gen_mixed(void **state)
{
    (void)state;
    allot_workload w;
    allot_workload_init(&w);
    gen_ok("gen:mixed:n=20000,seed=3,rate=100,mean_s=600", NULL, &w);
    assert_int_equal(w.njobs, 20000);
    check_valid(&w);
    assert_string_equal(allot_workload_name(&w, 0), "gen-0");
    assert_string_equal(allot_workload_name(&w, 19999), "gen-19999");
    size_t whole = 0, frac = 0, cpu = 0, multi = 0;
    double dur = 0;
    for (size_t i = 0; i < w.njobs; i++) {
        const allot_shape *s = &w.jobs[i].shape;
        assert_int_equal(w.jobs[i].ntasks, 1);
        assert_true(s->cpu <= 32000);
        assert_true(s->mem <= 128 * 1024 && s->mem >= 2 * 1024);
        if (s->ndev == 0)
            cpu++;
        else if (s->ndev > 1)
            multi++;
        else if (s->milli == 1000)
            whole++;
        else
            frac++;
        dur += (double)w.jobs[i].duration;
    }
    /* the openb default histogram: 48.0 / 37.8 / 13.3 / 0.9 % */
    assert_true(fabs(whole / 20000.0 - 0.480) < 0.02);
    assert_true(fabs(frac / 20000.0 - 0.378) < 0.02);
    assert_true(fabs(cpu / 20000.0 - 0.133) < 0.015);
    assert_true(multi > 100 && multi < 300);
    /* mean duration and arrival rate */
    assert_true(fabs(dur / 20000.0 / 600.0 - 1) < 0.1);
    double hours = (double)w.jobs[19999].submit / 3600.0;
    assert_true(fabs(20000.0 / hours / 100.0 - 1) < 0.05);
    allot_workload_free(&w);

    /* defaults: 2000 jobs */
    allot_workload_init(&w);
    gen_ok("gen:mixed", NULL, &w);
    assert_int_equal(w.njobs, 2000);
    check_valid(&w);
    allot_workload_free(&w);
}

static void test_gen_llm(void **state)
{
    (void)state;
    allot_workload w;
    allot_workload_init(&w);
    gen_ok("gen:llm:n=5000,seed=11", NULL, &w);
    check_valid(&w);
    size_t gangs = 0, big = 0;
    uint32_t maxt = 0;
    double dur = 0;
    for (size_t i = 0; i < w.njobs; i++) {
        const allot_job *j = &w.jobs[i];
        if (strncmp(allot_workload_name(&w, i), "llm-pretrain-", 13) == 0) {
            gangs++;
            assert_int_equal(j->shape.ndev, 8);
            assert_int_equal(j->shape.milli, 1000);
            big += j->ntasks >= 16;
        } else {
            assert_int_equal(j->ntasks, 1);
        }
        if (j->ntasks > maxt) maxt = j->ntasks;
        dur += (double)j->duration;
    }
    assert_true(fabs(gangs / 5000.0 - 0.35) < 0.03);
    assert_true(big > 0);
    assert_int_equal(maxt, 64);
    assert_true(fabs(dur / 5000.0 / 21600.0 - 1) < 0.1);
    allot_workload_free(&w);
}

static void test_gen_chips(void **state)
{
    (void)state;
    allot_cluster *c = allot_cluster_new("t");
    assert_true(allot_cluster_chip_id(c, "T4") >= 0);
    assert_true(allot_cluster_chip_id(c, "A10") >= 0);
    allot_workload w;
    allot_workload_init(&w);
    gen_ok("gen:mixed:n=300,chips=A10|T4", c, &w);
    allot_chip_mask want = 3;
    for (size_t i = 0; i < w.njobs; i++) {
        const allot_shape *s = &w.jobs[i].shape;
        assert_true(s->chips == (s->ndev ? want : 0));
    }
    allot_workload_free(&w);
    allot_diag d;
    assert_int_equal(allot_gen("gen:mixed:chips=H100", c, &w, &d), ALLOT_EINVAL);
    assert_string_equal(d.msg, "'gen:mixed:chips=H100': chips: 'H100' names "
                               "a chip type the cluster does not have");
    assert_int_equal(allot_cluster_find_chip(c, "H100"), ALLOT_ENOENT);
    assert_int_equal(w.njobs, 0);
    allot_cluster_free(c);
}

static void test_gen_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *msg;
    } cases[] = {
        {"gen:", "'gen:': unknown generator '' (expected mixed or llm)"},
        {"gen:foo", "'gen:foo': unknown generator 'foo' (expected mixed or "
                    "llm)"},
        {"mixed", "generator spec must start with 'gen:', e.g. "
                  "gen:mixed:n=1000"},
        {"gen:mixed:", "'gen:mixed:': expected key=value, got ''"},
        {"gen:mixed:n", "'gen:mixed:n': expected key=value, got 'n'"},
        {"gen:mixed:=5", "'gen:mixed:=5': expected key=value, got '=5'"},
        {"gen:mixed:size=5", "'gen:mixed:size=5': unknown key 'size' "
                             "(expected n, seed, rate, mean_s, chips or elastic)"},
        {"gen:mixed:n=5,n=6", "'gen:mixed:n=5,n=6': key 'n' given twice"},
        {"gen:mixed:n=abc", "'gen:mixed:n=abc': n: expected an integer in "
                            "1..10000000, got 'abc'"},
        {"gen:mixed:n=0", "'gen:mixed:n=0': n: expected an integer in "
                          "1..10000000, got '0'"},
        {"gen:mixed:n=10000001", "'gen:mixed:n=10000001': n: expected an "
                                 "integer in 1..10000000, got '10000001'"},
        {"gen:mixed:n=-1", "'gen:mixed:n=-1': n: expected an integer in "
                           "1..10000000, got '-1'"},
        {"gen:mixed:seed=18446744073709551616",
         "'gen:mixed:seed=18446744073709551616': seed: expected an integer "
         "in 0..18446744073709551615, got '18446744073709551616'"},
        {"gen:mixed:rate=0", "'gen:mixed:rate=0': rate: expected arrivals "
                             "per hour, a number in (0, 1e7], got '0'"},
        {"gen:mixed:rate=fast", "'gen:mixed:rate=fast': rate: expected "
                                "arrivals per hour, a number in (0, 1e7], "
                                "got 'fast'"},
        {"gen:mixed:mean_s=0.5", "'gen:mixed:mean_s=0.5': mean_s: expected a "
                                 "mean duration in seconds, a number in "
                                 "1..1e8, got '0.5'"},
        {"gen:mixed:mean_s=nan", "'gen:mixed:mean_s=nan': mean_s: expected a "
                                 "mean duration in seconds, a number in "
                                 "1..1e8, got 'nan'"},
        {"gen:mixed:chips=", "'gen:mixed:chips=': chips: expected a '|' list "
                             "of chip types, got an empty value"},
        {"gen:mixed:chips=T4", "'gen:mixed:chips=T4': chips: needs a cluster "
                               "to resolve chip types"},
        {"gen:mixed:n=5,", "'gen:mixed:n=5,': expected key=value, got ''"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        allot_workload w;
        allot_workload_init(&w);
        allot_diag d;
        memset(&d, 0, sizeof d);
        int rc = allot_gen(cases[i].spec, NULL, &w, &d);
        if (rc != ALLOT_EINVAL || strcmp(d.msg, cases[i].msg) != 0)
            fail_msg("%s: got %d '%s', want '%s'", cases[i].spec, rc, d.msg, cases[i].msg);
        assert_int_equal(w.njobs, 0);
        allot_workload_free(&w);
    }
    /* a long spec is refused, not truncated */
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "gen:mixed:n=", 12);
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d;
    assert_int_equal(allot_gen(big, NULL, &w, &d), ALLOT_EINVAL);
    assert_non_null(strstr(d.msg, "longer than"));
}

/* ---- the real openb pod lists (skipped without ../shared/traces) ------------ */

static int trace_path(const char *rel, char *out, size_t n)
{
    const char *dir = tu_traces_dir();
    if (!dir) return -1;
    snprintf(out, n, "%s/%s", dir, rel);
    return access(out, R_OK) == 0 ? 0 : -1;
}

static void test_real_default(void **state)
{
    (void)state;
    char path[1024];
    if (trace_path("alibaba-openb-gpu-2023/csv/openb_pod_list_default.csv", path, sizeof path) <
        0) {
        skip();
        return;
    }
    allot_cluster *c = allot_cluster_new("t");
    allot_workload w;
    allot_workload_init(&w);
    allot_diag d;
    int rc = allot_workload_load(path, c, &w, &d);
    if (rc != 0) fail_msg("%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    assert_int_equal(w.njobs, 8152);
    assert_int_equal(w.has_times, 1);
    /* the README's histogram and QoS counts */
    size_t whole = 0, frac = 0, cpu = 0, g8 = 0, ls = 0, be = 0;
    int64_t milli = 0;
    for (size_t i = 0; i < w.njobs; i++) {
        const allot_job *j = &w.jobs[i];
        whole += j->shape.ndev == 1 && j->shape.milli == 1000;
        frac += j->shape.ndev == 1 && j->shape.milli < 1000;
        cpu += j->shape.ndev == 0;
        g8 += j->shape.ndev == 8;
        ls += j->qos == 0;
        be += j->qos == 1;
        milli += allot_job_milli(j);
    }
    assert_int_equal(whole, 3911);
    assert_int_equal(frac, 3078);
    assert_int_equal(cpu, 1088);
    assert_int_equal(g8, 44);
    assert_int_equal(ls, 4647);
    assert_int_equal(be, 3398);
    assert_int_equal(milli, 6086800); /* 6086.8 GPUs */
    assert_true(w.jobs[0].submit == 0);
    allot_workload_free(&w);
    allot_cluster_free(c);
}

static void test_real_variants(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t rows;
        int has_times;
    } v[] = {
        {"openb_pod_list_multigpu50.csv", 9061, 0},
        {"openb_pod_list_gpuspec33.csv", 8152, 1},
        {"openb_pod_list_cpu300.csv", 10094, 1},
    };
    char path[1024];
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "alibaba-openb-gpu-2023/csv/%s", v[k].file);
        if (trace_path(rel, path, sizeof path) < 0) {
            skip();
            return;
        }
        /* resolve gpu_spec against the real node list's chip types */
        allot_cluster *c = NULL;
        allot_diag d;
        char npath[1024];
        if (trace_path("alibaba-openb-gpu-2023/csv/"
                       "openb_node_list_gpu_node.csv",
                       npath, sizeof npath) < 0) {
            skip();
            return;
        }
        assert_int_equal(allot_cluster_load(npath, ALLOT_NODES_AUTO, &c, &d), 0);
        uint32_t nchips = allot_cluster_nchips(c);
        allot_workload w;
        allot_workload_init(&w);
        int rc = allot_workload_load(path, c, &w, &d);
        if (rc != 0) fail_msg("%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
        assert_int_equal(w.njobs, v[k].rows);
        assert_int_equal(w.has_times, v[k].has_times);
        /* gpu_spec names only chip types the fleet has */
        assert_int_equal(allot_cluster_nchips(c), nchips);
        size_t spec = 0;
        for (size_t i = 0; i < w.njobs; i++) spec += w.jobs[i].shape.chips != 0;
        if (strstr(v[k].file, "gpuspec33"))
            assert_true(spec > 2000);
        else
            assert_int_equal(spec, 0);
        allot_workload_free(&w);
        allot_cluster_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openb_full),      cmocka_unit_test(test_openb_multigpu_form),
        cmocka_unit_test(test_openb_bad_rows),  cmocka_unit_test(test_workload_load),
        cmocka_unit_test(test_gen_determinism), cmocka_unit_test(test_gen_mixed),
        cmocka_unit_test(test_gen_llm),         cmocka_unit_test(test_gen_chips),
        cmocka_unit_test(test_gen_errors),      cmocka_unit_test(test_real_default),
        cmocka_unit_test(test_real_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
