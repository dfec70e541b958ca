/* test_core.c - the small core modules: errors and diagnostics (err.h),
 * workloads and task shapes (job.h), and the random numbers (rng.h). */
#include "testutil.h"

#include <math.h>

#include "allot/err.h"
#include "allot/job.h"
#include "allot/rng.h"

static void err_table(void **state)
{
    (void)state;
    assert_string_equal(allot_strerror(ALLOT_OK), "success");
    assert_string_equal(allot_strerror(ALLOT_EPARSE), "malformed input");
    assert_string_equal(allot_errname(ALLOT_ENOFIT), "ENOFIT");
    assert_string_equal(allot_strerror(-999), "unknown error");
    assert_string_equal(allot_errname(-999), "EUNKNOWN");
    assert_int_equal(allot_err_http_status(ALLOT_ENOENT), 404);
    assert_int_equal(allot_err_http_status(ALLOT_EPARSE), 400);
    assert_int_equal(allot_err_http_status(ALLOT_OK), 200);
    assert_int_equal(allot_err_http_status(-999), 500);
}

static void diag_format(void **state)
{
    (void)state;
    allot_diag d;
    char buf[128];
    assert_int_equal(allot_diag_set(&d, ALLOT_EPARSE, "pods.csv", 3, 7, "bad %s", "cpu"),
                     ALLOT_EPARSE);
    allot_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "pods.csv:3:7: bad cpu");
    allot_diag_set(&d, ALLOT_EIO, "x.json", 0, 0, "cannot read");
    allot_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "x.json: cannot read");
    allot_diag_set(&d, ALLOT_EIO, "x.json", 4, 0, "line only");
    allot_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "x.json:4: line only");
    allot_diag_set(&d, ALLOT_EINVAL, NULL, 0, 0, "no file");
    allot_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "no file");
    /* truncation is safe */
    char small[8];
    allot_diag_set(&d, ALLOT_EPARSE, "a-long-file-name.csv", 1, 1, "message");
    allot_diag_format(&d, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    /* a NULL diag is allowed and the code still comes back */
    assert_int_equal(allot_diag_set(NULL, ALLOT_ERANGE, "f", 1, 1, "x"), ALLOT_ERANGE);
}

static void shapes(void **state)
{
    (void)state;
    char msg[128];
    allot_shape s;
    memset(&s, 0, sizeof s);
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), 0); /* CPU-only, nothing */
    s.ndev = 1;
    s.milli = 500;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), 0); /* half a device */
    s.ndev = 2;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), ALLOT_EINVAL);
    assert_non_null(strstr(msg, "whole devices"));
    s.milli = 1000;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), 0);
    s.milli = 1001;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), ALLOT_EINVAL);
    s.milli = 0;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), ALLOT_EINVAL);
    s.ndev = 0;
    s.milli = 10;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), ALLOT_EINVAL);
    s.milli = 0;
    s.ndev = ALLOT_MAX_DEVS_PER_NODE + 1;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), ALLOT_EINVAL);
    s.ndev = 0;
    s.cpu = -1;
    assert_int_equal(allot_shape_check(&s, msg, sizeof msg), ALLOT_EINVAL);
    s.cpu = 0;
    s.mem = -5;
    assert_int_equal(allot_shape_check(&s, NULL, 0), ALLOT_EINVAL);
}

static void workload_pool(void **state)
{
    (void)state;
    allot_workload w;
    allot_workload_init(&w);
    allot_job j;
    memset(&j, 0, sizeof j);
    j.ntasks = 2;
    j.shape.ndev = 4;
    j.shape.milli = 1000;
    char name[32];
    for (int i = 0; i < 5000; i++) { /* grows the arrays and the pool */
        snprintf(name, sizeof name, "job-%d", i);
        j.submit = i;
        assert_int_equal(allot_workload_add(&w, &j, i % 7 == 0 ? NULL : name), i);
    }
    assert_int_equal(w.njobs, 5000);
    assert_string_equal(allot_workload_name(&w, 1), "job-1");
    assert_string_equal(allot_workload_name(&w, 4999), "job-4999");
    assert_string_equal(allot_workload_name(&w, 0), "");    /* added without a name */
    assert_string_equal(allot_workload_name(&w, 5000), ""); /* out of range */
    assert_int_equal(w.jobs[1234].submit, 1234);
    assert_int_equal(allot_job_milli(&w.jobs[0]), 8000); /* 2 tasks x 4 devices x 1000 */
    allot_workload_free(&w);
    assert_null(w.jobs);
    assert_int_equal(w.njobs, 0);
    allot_workload_free(&w); /* twice is harmless */
}

static void rng_determinism_and_range(void **state)
{
    (void)state;
    allot_rng a, b, c;
    allot_rng_seed(&a, 42);
    allot_rng_seed(&b, 42);
    allot_rng_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = allot_rng_next(&a), y = allot_rng_next(&b), z = allot_rng_next(&c);
        assert_true(x == y);
        same_c += x == z;
    }
    assert_int_equal(same_c, 0);
    /* the first value of seed 0 is fixed forever: replays depend on it */
    allot_rng r;
    allot_rng_seed(&r, 0);
    uint64_t first = allot_rng_next(&r);
    allot_rng_seed(&r, 0);
    assert_true(allot_rng_next(&r) == first);
    /* below(n) stays in range and is roughly uniform (chi-square, 10 bins) */
    int bins[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = allot_rng_below(&r, 10);
        assert_true(v < 10);
        bins[v]++;
    }
    double chi = 0;
    for (int k = 0; k < 10; k++) chi += (bins[k] - 10000.0) * (bins[k] - 10000.0) / 10000.0;
    assert_true(chi < 40.0); /* 9 degrees of freedom: p < 1e-5 beyond 40 */
    assert_true(allot_rng_below(&r, 1) == 0);
    for (int i = 0; i < 1000; i++) {
        double d = allot_rng_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_table),
        cmocka_unit_test(diag_format),
        cmocka_unit_test(shapes),
        cmocka_unit_test(workload_pool),
        cmocka_unit_test(rng_determinism_and_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
