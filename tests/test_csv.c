/* tests/test_csv.c - the CSV tokenizer, field converters and file reader. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <zstd.h>

#include "allot/csv.h"

/* One reader per test on the heap: allot_csv holds a 64 KiB scratch. */
static allot_csv *csv_open(const char *text)
{
    allot_csv *r = malloc(sizeof *r);
    assert_non_null(r);
    allot_csv_init(r, text, strlen(text), "t.csv");
    return r;
}

static void expect_record(allot_csv *r, int line, int n, ...)
{
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_csv_next(r, &d);
    if (rc != 1) fail_msg("expected a record at line %d, got %d (%s)", line, rc, d.msg);
    assert_int_equal(r->line, line);
    assert_int_equal(r->nfields, n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) assert_string_equal(r->field[i], va_arg(ap, const char *));
    va_end(ap);
}

static void expect_end(allot_csv *r)
{
    allot_diag d;
    assert_int_equal(allot_csv_next(r, &d), 0);
}

/* Expects an error with the given code and position and message part. */
static void expect_error(const char *text, int err, int line, int col, const char *part)
{
    allot_csv *r = csv_open(text);
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc;
    while ((rc = allot_csv_next(r, &d)) == 1)
        ;
    assert_int_equal(rc, err);
    assert_string_equal(d.file, "t.csv");
    assert_int_equal(d.line, line);
    assert_int_equal(d.col, col);
    if (!strstr(d.msg, part)) fail_msg("message '%s' lacks '%s'", d.msg, part);
    /* the reader is finished after an error */
    assert_int_equal(allot_csv_next(r, &d), 0);
    free(r);
}

static void test_basic(void **state)
{
    (void)state;
    allot_csv *r = csv_open("name,gpu\nopenb-0,2\nopenb-1,8\n");
    expect_record(r, 1, 2, "name", "gpu");
    assert_int_equal(allot_csv_find(r, "gpu"), 1);
    assert_int_equal(allot_csv_find(r, "name"), 0);
    assert_int_equal(allot_csv_find(r, "cpu"), -1);
    expect_record(r, 2, 2, "openb-0", "2");
    assert_int_equal(r->col[0], 1);
    assert_int_equal(r->col[1], 9);
    expect_record(r, 3, 2, "openb-1", "8");
    expect_end(r);
    expect_end(r);
    free(r);
}

static void test_quotes(void **state)
{
    (void)state;
    allot_csv *r = csv_open("\"a,b\",\"x\"\"y\",\"\",plain\n\"\"\"\"\n");
    expect_record(r, 1, 4, "a,b", "x\"y", "", "plain");
    assert_int_equal(r->col[1], 7);
    assert_int_equal(r->col[2], 14);
    assert_int_equal(r->col[3], 17);
    expect_record(r, 2, 1, "\"");
    expect_end(r);
    free(r);
}

static void test_crlf_and_blank_lines(void **state)
{
    (void)state;
    allot_csv *r = csv_open("a,b\r\n\r\n\nc,d\r\n\"e\r\nf\",g\r\nh");
    expect_record(r, 1, 2, "a", "b");
    expect_record(r, 4, 2, "c", "d");
    expect_record(r, 5, 2, "e\r\nf", "g");
    assert_int_equal(r->col[1], 4); /* on line 6 */
    expect_record(r, 7, 1, "h");
    expect_end(r);
    free(r);
}

static void test_empty_fields(void **state)
{
    (void)state;
    allot_csv *r = csv_open(",,\na,\n,b\nlast,");
    expect_record(r, 1, 3, "", "", "");
    assert_int_equal(r->col[2], 3);
    expect_record(r, 2, 2, "a", "");
    expect_record(r, 3, 2, "", "b");
    expect_record(r, 4, 2, "last", "");
    expect_end(r);
    free(r);

    r = csv_open("");
    expect_end(r);
    free(r);
    r = csv_open("\n\r\n\n");
    expect_end(r);
    free(r);
}

static void test_bom(void **state)
{
    (void)state;
    allot_csv *r = csv_open("\xEF\xBB\xBFname,x\n1,2\n");
    expect_record(r, 1, 2, "name", "x");
    assert_int_equal(allot_csv_find(r, "name"), 0);
    expect_record(r, 2, 2, "1", "2");
    free(r);
}

static void test_multiline_field_positions(void **state)
{
    (void)state;
    allot_csv *r = csv_open("h1,h2\n\"two\nlines\",abc\nnext,1\n");
    expect_record(r, 1, 2, "h1", "h2");
    expect_record(r, 2, 2, "two\nlines", "abc");
    /* the converter reports the field's own line (3) and column (8) */
    allot_diag d;
    int64_t v;
    assert_int_equal(allot_csv_i64(r, 1, 0, 10, &v, &d), ALLOT_EPARSE);
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 8);
    expect_record(r, 4, 2, "next", "1");
    free(r);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("a,b\nc,\"unterminated\n\n", ALLOT_EPARSE, 2, 3, "unterminated quoted field");
    expect_error("x\n\"a\"b,c\n", ALLOT_EPARSE, 2, 4, "unexpected 'b' after closing quote");
    expect_error("ab\"c,d\n", ALLOT_EPARSE, 1, 3, "inside an unquoted field");
    expect_error("a\rb\n", ALLOT_EPARSE, 1, 2, "carriage return");
    expect_error("ok\n\"a\"\r\n\"b\"\rx", ALLOT_EPARSE, 3, 4, "after closing quote");
    static const char nul[] = "a,b\nc,d\0e\n";
    allot_csv *r = malloc(sizeof *r);
    allot_diag d;
    allot_csv_init(r, nul, sizeof nul - 1, "t.csv");
    assert_int_equal(allot_csv_next(r, &d), 1);
    assert_int_equal(allot_csv_next(r, &d), ALLOT_EPARSE);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 4);
    assert_string_equal(d.msg, "NUL byte in input");
    /* a NULL diag is allowed */
    allot_csv_init(r, nul, sizeof nul - 1, "t.csv");
    assert_int_equal(allot_csv_next(r, NULL), 1);
    assert_int_equal(allot_csv_next(r, NULL), ALLOT_EPARSE);
    free(r);
}

static void test_caps(void **state)
{
    (void)state;
    /* ALLOT_CSV_MAX_FIELDS fields are fine, one more is not */
    size_t cap = 2 * ALLOT_CSV_MAX_FIELDS + 8;
    char *buf = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < ALLOT_CSV_MAX_FIELDS; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? "," : "", i % 10);
    allot_csv *r = csv_open(buf);
    allot_diag d;
    assert_int_equal(allot_csv_next(r, &d), 1);
    assert_int_equal(r->nfields, ALLOT_CSV_MAX_FIELDS);
    free(r);
    snprintf(buf + n, cap - n, ",x\n");
    /* the extra field starts at column 2 * ALLOT_CSV_MAX_FIELDS + 1 */
    char want[64];
    snprintf(want, sizeof want, "more than %d fields", ALLOT_CSV_MAX_FIELDS);
    expect_error(buf, ALLOT_ELIMIT, 1, 2 * ALLOT_CSV_MAX_FIELDS + 1, want);
    free(buf);

    /* a record of exactly ALLOT_CSV_MAX_LINE bytes is fine, one more is not */
    size_t big = ALLOT_CSV_MAX_LINE + 16;
    char *text = malloc(big + 8);
    memset(text, 'x', ALLOT_CSV_MAX_LINE);
    memcpy(text + ALLOT_CSV_MAX_LINE, "\nok\n", 5);
    r = csv_open(text);
    assert_int_equal(allot_csv_next(r, &d), 1);
    assert_int_equal(strlen(r->field[0]), ALLOT_CSV_MAX_LINE);
    expect_record(r, 2, 1, "ok");
    free(r);
    memset(text, 'x', ALLOT_CSV_MAX_LINE + 1);
    memcpy(text + ALLOT_CSV_MAX_LINE + 1, "\n", 2);
    expect_error(text, ALLOT_ELIMIT, 1, ALLOT_CSV_MAX_LINE + 1, "record longer than");
    /* quoted multi-line records count as one record */
    text[0] = '"';
    memset(text + 1, '\n', ALLOT_CSV_MAX_LINE + 4);
    text[ALLOT_CSV_MAX_LINE + 5] = '\0';
    r = csv_open(text);
    assert_int_equal(allot_csv_next(r, &d), ALLOT_ELIMIT);
    free(r);
    free(text);
}

static void test_i64(void **state)
{
    (void)state;
    allot_csv *r = csv_open("42,-7,abc,,12a, 1,+5,99999999999999999999,"
                            "-9223372036854775808,1001,9223372036854775807,-");
    allot_diag d;
    int64_t v = 0;
    assert_int_equal(allot_csv_next(r, &d), 1);
    assert_int_equal(allot_csv_i64(r, 0, 0, 1000, &v, &d), 0);
    assert_int_equal(v, 42);
    assert_int_equal(allot_csv_i64(r, 1, -10, 10, &v, &d), 0);
    assert_int_equal(v, -7);
    assert_int_equal(allot_csv_i64(r, 2, 0, 1000, &v, &d), ALLOT_EPARSE);
    assert_string_equal(d.msg, "expected an integer in 0..1000, got 'abc'");
    assert_int_equal(d.line, 1);
    assert_int_equal(d.col, 7);
    assert_string_equal(d.file, "t.csv");
    assert_int_equal(allot_csv_i64(r, 3, 0, 1000, &v, &d), ALLOT_EPARSE);
    assert_string_equal(d.msg, "expected an integer in 0..1000, got an empty field");
    assert_int_equal(allot_csv_i64(r, 4, 0, 1000, &v, &d), ALLOT_EPARSE);
    assert_int_equal(allot_csv_i64(r, 5, 0, 1000, &v, &d), ALLOT_EPARSE);
    assert_int_equal(allot_csv_i64(r, 6, 0, 1000, &v, &d), 0);
    assert_int_equal(v, 5);
    assert_int_equal(allot_csv_i64(r, 7, INT64_MIN, INT64_MAX, &v, &d), ALLOT_ERANGE);
    assert_int_equal(allot_csv_i64(r, 8, INT64_MIN, INT64_MAX, &v, &d), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(allot_csv_i64(r, 9, 0, 1000, &v, &d), ALLOT_ERANGE);
    assert_string_equal(d.msg, "integer out of range: expected 0..1000, got '1001'");
    assert_int_equal(allot_csv_i64(r, 10, INT64_MIN, INT64_MAX, &v, &d), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(allot_csv_i64(r, 11, -5, 5, &v, &d), ALLOT_EPARSE);
    /* missing field */
    assert_int_equal(allot_csv_i64(r, 12, 0, 1, &v, &d), ALLOT_EINVAL);
    assert_int_equal(allot_csv_i64(r, -1, 0, 1, &v, &d), ALLOT_EINVAL);
    free(r);

    /* long and binary values are shortened in messages */
    r = csv_open("123456789012345678901234567890123456789012345678901234567890x,"
                 "\"a\tb\"");
    assert_int_equal(allot_csv_next(r, &d), 1);
    assert_int_equal(allot_csv_i64(r, 0, 0, 1, &v, &d), ALLOT_EPARSE);
    assert_non_null(strstr(d.msg, "...'"));
    assert_int_equal(allot_csv_i64(r, 1, 0, 1, &v, &d), ALLOT_EPARSE);
    assert_non_null(strstr(d.msg, "got 'a?b'"));
    free(r);
}

static void test_f64(void **state)
{
    (void)state;
    allot_csv *r = csv_open("1.5,1e3,.5,5.,-2.5e-1,abc,nan,inf,0x10,1e400,"
                            "2.5,,1.,e5,1e");
    allot_diag d;
    double v = 0;
    assert_int_equal(allot_csv_next(r, &d), 1);
    assert_int_equal(allot_csv_f64(r, 0, 0, 10, &v, &d), 0);
    assert_true(v == 1.5);
    assert_int_equal(allot_csv_f64(r, 1, 0, 1e4, &v, &d), 0);
    assert_true(v == 1000);
    assert_int_equal(allot_csv_f64(r, 2, 0, 1, &v, &d), 0);
    assert_true(v == 0.5);
    assert_int_equal(allot_csv_f64(r, 3, 0, 10, &v, &d), 0);
    assert_true(v == 5);
    assert_int_equal(allot_csv_f64(r, 4, -1, 1, &v, &d), 0);
    assert_true(v == -0.25);
    for (int f = 5; f <= 8; f++)
        assert_int_equal(allot_csv_f64(r, f, -1e300, 1e300, &v, &d), ALLOT_EPARSE);
    assert_int_equal(allot_csv_f64(r, 5, 0, 1, &v, &d), ALLOT_EPARSE);
    assert_string_equal(d.msg, "expected a number in 0..1, got 'abc'");
    assert_int_equal(allot_csv_f64(r, 9, -1e300, 1e300, &v, &d), ALLOT_ERANGE);
    assert_int_equal(allot_csv_f64(r, 10, 0, 2, &v, &d), ALLOT_ERANGE);
    assert_string_equal(d.msg, "number out of range: expected 0..2, got '2.5'");
    assert_int_equal(allot_csv_f64(r, 11, 0, 2, &v, &d), ALLOT_EPARSE);
    assert_int_equal(allot_csv_f64(r, 12, 0, 2, &v, &d), 0);
    assert_int_equal(allot_csv_f64(r, 13, 0, 2, &v, &d), ALLOT_EPARSE);
    assert_int_equal(allot_csv_f64(r, 14, 0, 2, &v, &d), ALLOT_EPARSE);
    free(r);
}

/* Writes len bytes to a fresh temp file with the given suffix. */
static char *tmp_bytes(const char *suffix, const void *data, size_t len)
{
    char tmpl[] = "/tmp/allot-test-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    size_t n = strlen(tmpl) + strlen(suffix) + 1;
    char *path = malloc(n);
    snprintf(path, n, "%s%s", tmpl, suffix);
    assert_int_equal(rename(tmpl, path), 0);
    return path;
}

static void test_read_file(void **state)
{
    (void)state;
    allot_diag d;
    char *buf = NULL;
    size_t len = 0;
    char *path = tu_tmpfile(".csv", "a,b\n1,2\n");
    assert_int_equal(allot_read_file(path, 1 << 20, &buf, &len, &d), 0);
    assert_int_equal(len, 8);
    assert_string_equal(buf, "a,b\n1,2\n");
    free(buf);
    /* exactly at the cap is fine, one byte over is not */
    assert_int_equal(allot_read_file(path, 8, &buf, &len, &d), 0);
    free(buf);
    assert_int_equal(allot_read_file(path, 7, &buf, &len, &d), ALLOT_ELIMIT);
    assert_null(buf);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.msg, "limit of 7 bytes"));
    unlink(path);
    free(path);

    /* empty file */
    path = tu_tmpfile(".csv", "");
    assert_int_equal(allot_read_file(path, 100, &buf, &len, &d), 0);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    unlink(path);
    free(path);

    assert_int_equal(allot_read_file("/nonexistent/x.csv", 100, &buf, &len, &d), ALLOT_ENOENT);
    assert_string_equal(d.file, "/nonexistent/x.csv");
    assert_string_equal(d.msg, "cannot open: No such file or directory");
    assert_int_equal(allot_read_file("/tmp", 100, &buf, &len, &d), ALLOT_EIO);
    assert_non_null(strstr(d.msg, "directory"));
}

static void test_read_zst(void **state)
{
    (void)state;
    allot_diag d;
    char *buf = NULL;
    size_t len = 0;
    /* 300 KiB of text, compressed */
    size_t n = 300 * 1024;
    char *plain = malloc(n);
    for (size_t i = 0; i < n; i++) plain[i] = (char)('a' + (i * 7 + i / 13) % 26);
    size_t bound = ZSTD_compressBound(n);
    char *z = malloc(bound);
    size_t zl = ZSTD_compress(z, bound, plain, n, 3);
    assert_false(ZSTD_isError(zl));
    char *path = tmp_bytes(".csv.zst", z, zl);
    assert_int_equal(allot_read_file(path, n, &buf, &len, &d), 0);
    assert_int_equal(len, n);
    assert_memory_equal(buf, plain, n);
    assert_int_equal(buf[n], '\0');
    free(buf);
    assert_int_equal(allot_read_file(path, n - 1, &buf, &len, &d), ALLOT_ELIMIT);
    assert_non_null(strstr(d.msg, "decompressed data is larger"));
    unlink(path);
    free(path);

    /* two concatenated frames read as one stream */
    char *two = malloc(2 * zl);
    memcpy(two, z, zl);
    memcpy(two + zl, z, zl);
    path = tmp_bytes(".zst", two, 2 * zl);
    assert_int_equal(allot_read_file(path, 2 * n, &buf, &len, &d), 0);
    assert_int_equal(len, 2 * n);
    free(buf);
    unlink(path);
    free(path);
    free(two);

    /* truncated */
    path = tmp_bytes(".zst", z, zl / 2);
    assert_int_equal(allot_read_file(path, 2 * n, &buf, &len, &d), ALLOT_EPARSE);
    assert_non_null(strstr(d.msg, "truncated"));
    unlink(path);
    free(path);

    /* not zstd at all */
    path = tmp_bytes(".zst", "hello, world\n", 13);
    assert_int_equal(allot_read_file(path, 2 * n, &buf, &len, &d), ALLOT_EPARSE);
    assert_non_null(strstr(d.msg, "corrupt zstd data"));
    unlink(path);
    free(path);

    path = tmp_bytes(".zst", "", 0);
    assert_int_equal(allot_read_file(path, 2 * n, &buf, &len, &d), ALLOT_EPARSE);
    unlink(path);
    free(path);
    free(z);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_crlf_and_blank_lines),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_multiline_field_positions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_i64),
        cmocka_unit_test(test_f64),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_read_zst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
