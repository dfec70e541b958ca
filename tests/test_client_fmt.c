/* tests/test_client_fmt.c - the client commands' pure parts: time limits,
 * durations, --env, table alignment and the jobs/nodes/tenants tables. */
#include "testutil.h"

#include <math.h>

#include "allot/clientfmt.h"
#include "allot/err.h"

static long long dur(const char *s)
{
    long long v = -1;
    int rc = allot_fmt_parse_duration(s, &v);
    if (rc != 0) fail_msg("'%s' refused", s);
    return v;
}

static void test_duration_good(void **state)
{
    (void)state;
    assert_int_equal(dur("90"), 90);
    assert_int_equal(dur("1"), 1);
    assert_int_equal(dur("30s"), 30);
    assert_int_equal(dur("30m"), 1800);
    assert_int_equal(dur("1h"), 3600);
    assert_int_equal(dur("2d"), 172800);
    assert_int_equal(dur("1h30m"), 5400);
    assert_int_equal(dur("1d12h"), 129600);
    assert_int_equal(dur("1h0m5s"), 3605);
    assert_int_equal(dur("5:00"), 300);
    assert_int_equal(dur("0:30"), 30);
    assert_int_equal(dur("1:30:00"), 5400);
    assert_int_equal(dur("100:00:00"), 360000);
    assert_int_equal(dur("2-12"), 216000);
    assert_int_equal(dur("1-00:30"), 88200);
    assert_int_equal(dur("1-00:30:05"), 88205);
    assert_int_equal(dur("365d"), ALLOT_FMT_MAX_DURATION);
}

static void test_duration_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",           "0",    "0s",    "-5",      "+5",           "1.5",   "abc",
        "1x",         "h",    "1h30",  "30m1h",   "1h1h",         "1hh",   " 1",
        "1 ",         "1:60", "1:5",   "1:05:7",  "1:2:3:4",      ":30",   "30:",
        "1::00",      "1-",   "-1-00", "1-24",    "1-0:0",        "366d",  "8761h",
        "9999999999", "1e3",  "0:00",  "1-00:60", "12345678901s", "1d-2h", "d1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long long v = 4242;
        int rc = allot_fmt_parse_duration(bad[i], &v);
        if (rc != ALLOT_EINVAL) fail_msg("'%s' accepted as %lld", bad[i], v);
        assert_int_equal(v, 4242); /* untouched on error */
    }
    long long v;
    assert_int_equal(allot_fmt_parse_duration(NULL, &v), ALLOT_EINVAL);
}

static void test_duration_format(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(allot_fmt_duration(0, b, sizeof b), "0:00");
    assert_string_equal(allot_fmt_duration(5.9, b, sizeof b), "0:05");
    assert_string_equal(allot_fmt_duration(754, b, sizeof b), "12:34");
    assert_string_equal(allot_fmt_duration(3723, b, sizeof b), "1:02:03");
    assert_string_equal(allot_fmt_duration(86400 * 2 + 3 * 3600 + 4 * 60 + 5, b, sizeof b),
                        "2-03:04:05");
    assert_string_equal(allot_fmt_duration(-1, b, sizeof b), "-");
    assert_string_equal(allot_fmt_duration(NAN, b, sizeof b), "-");
    /* round trip through the parser for the H:MM:SS form */
    assert_int_equal(dur(allot_fmt_duration(5400, b, sizeof b)), 5400);
    assert_int_equal(dur(allot_fmt_duration(88205, b, sizeof b)), 88205);
}

static void test_env(void **state)
{
    (void)state;
    char k[256];
    const char *v = NULL;
    assert_int_equal(allot_fmt_parse_env("WANDB_MODE=offline", k, sizeof k, &v), 0);
    assert_string_equal(k, "WANDB_MODE");
    assert_string_equal(v, "offline");
    assert_int_equal(allot_fmt_parse_env("_X1=a=b", k, sizeof k, &v), 0);
    assert_string_equal(k, "_X1");
    assert_string_equal(v, "a=b");
    assert_int_equal(allot_fmt_parse_env("EMPTY=", k, sizeof k, &v), 0);
    assert_string_equal(v, "");
    static const char *bad[] = {"NOEQUALS", "=v", "1A=v", "A-B=v", "A B=v", "", "Ä=v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (allot_fmt_parse_env(bad[i], k, sizeof k, &v) != ALLOT_EINVAL)
            fail_msg("--env '%s' accepted", bad[i]);
    char small[4];
    assert_int_equal(allot_fmt_parse_env("LONGKEY=v", small, sizeof small, &v), ALLOT_EINVAL);
}

static void test_table_alignment(void **state)
{
    (void)state;
    const char *head[] = {"ID", "NAME", "N"};
    allot_table *t = allot_table_new(3, head, "RLR");
    assert_non_null(t);
    const char *r1[] = {"7", "a", "100"};
    const char *r2[] = {"1234", "longer-name", "5"};
    const char *r3[] = {"9", NULL, "é"}; /* NULL prints "-"; é is one character */
    assert_int_equal(allot_table_add(t, r1), 0);
    assert_int_equal(allot_table_add(t, r2), 0);
    assert_int_equal(allot_table_add(t, r3), 0);
    assert_int_equal(allot_table_rows(t), 3);
    char *s = allot_table_render(t);
    assert_non_null(s);
    assert_string_equal(s, "  ID  NAME           N\n"
                           "   7  a            100\n"
                           "1234  longer-name    5\n"
                           "   9  -              é\n");
    free(s);
    allot_table_free(t);

    /* a left-aligned last column is not padded: no trailing blanks */
    const char *h2[] = {"A", "B"};
    t = allot_table_new(2, h2, NULL);
    const char *x1[] = {"xx", "long value"};
    const char *x2[] = {"y", ""};
    allot_table_add(t, x1);
    allot_table_add(t, x2);
    s = allot_table_render(t);
    assert_string_equal(s, "A   B\nxx  long value\ny\n");
    free(s);
    allot_table_free(t);
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("bad test JSON: %s", e.text);
    return j;
}

/* the column where `word` starts on the line that contains `key` */
static int col_of(const char *table, const char *key, const char *word)
{
    const char *line = strstr(table, key);
    if (!line) fail_msg("no '%s' in\n%s", key, table);
    while (line > table && line[-1] != '\n') line--;
    const char *end = strchr(line, '\n');
    const char *w = strstr(line, word);
    if (!w || w > end) fail_msg("no '%s' on the line of '%s' in\n%s", word, key, table);
    return (int)(w - line);
}

static void test_jobs_table(void **state)
{
    (void)state;
    json_t *jobs = parse(
        "[{\"id\":17,\"name\":\"train-a\",\"tenant\":\"vision\",\"state\":\"running\","
        "\"devices\":2,\"milli\":1000,\"chip\":\"H100\",\"gang_size\":2,\"submit_time\":1000,"
        "\"start_time\":1010,\"end_time\":null,\"reason\":\"\",\"command\":[\"python3\",\"t.py\"],"
        "\"tasks\":[{\"task\":0,\"node\":\"gpu-01\"},{\"task\":1,\"node\":\"gpu-02\"}]},"
        "{\"id\":1234,\"name\":\"x\",\"tenant\":\"default\",\"state\":\"pending\",\"devices\":1,"
        "\"milli\":250,\"chip\":null,\"gang_size\":1,\"submit_time\":900,\"start_time\":null,"
        "\"reason\":\"waiting for 1 H100\",\"tasks\":[]},"
        "{\"id\":3,\"name\":\"done\",\"tenant\":\"nlp\",\"state\":\"succeeded\",\"devices\":8,"
        "\"submit_time\":0,\"start_time\":100,\"end_time\":3823,\"exit_code\":0,"
        "\"tasks\":[{\"node\":\"n1\"},{\"node\":\"n1\"}]}]");
    char *s = allot_fmt_jobs_table(jobs, 4000, 0);
    assert_non_null(s);
    /* header and every row: IDs right-aligned, the other columns line up */
    assert_int_equal(strncmp(s, "  ID  NAME", 10), 0);
    assert_int_equal(col_of(s, "train-a", "running"), col_of(s, "WAIT", "STATE"));
    assert_int_equal(col_of(s, "1234", "pending"), col_of(s, "WAIT", "STATE"));
    assert_non_null(strstr(s, "  17  train-a"));
    assert_non_null(strstr(s, "2x2")); /* gang 2 x 2 devices */
    assert_non_null(strstr(s, "0.25"));
    assert_non_null(strstr(s, "any"));
    assert_non_null(strstr(s, "49:50"));   /* running since 1010, now 4000 */
    assert_non_null(strstr(s, "51:40"));   /* pending since 900 */
    assert_non_null(strstr(s, "1:02:03")); /* ran 100..3823 */
    assert_non_null(strstr(s, "gpu-01,+1"));
    assert_null(strstr(s, "n1,n1")); /* a node once */
    assert_non_null(strstr(s, "waiting for 1 H100"));
    assert_null(strstr(s, "COMMAND"));
    assert_null(strstr(s, " \n"));
    free(s);
    s = allot_fmt_jobs_table(jobs, 4000, 1);
    assert_non_null(strstr(s, "COMMAND"));
    assert_non_null(strstr(s, "python3 t.py"));
    assert_non_null(strstr(s, "gpu-01,gpu-02"));
    free(s);
    json_decref(jobs);
    assert_null(allot_fmt_jobs_table(NULL, 0, 0));
    json_t *empty = json_array();
    s = allot_fmt_jobs_table(empty, 0, 0);
    assert_non_null(s);
    assert_int_equal(strncmp(s, "ID  NAME", 8), 0); /* header only */
    free(s);
    json_decref(empty);
}

static void test_nodes_and_tenants(void **state)
{
    (void)state;
    json_t *nodes = parse(
        "[{\"name\":\"gpu-01\",\"state\":\"up\",\"chip\":\"H100\",\"devices\":8,\"devices_free\":6,"
        "\"cpu\":64000,\"mem\":512000,\"jobs\":[17,18],\"last_heartbeat\":990},"
        "{\"name\":\"gpu-02\",\"state\":\"down\",\"chip\":\"H100\",\"devices\":8,\"devices_free\":"
        "8,"
        "\"cpu\":64000,\"mem\":512000,\"jobs\":[]},"
        "{\"name\":\"npu-1\",\"state\":\"up\",\"chip\":\"Ascend910B\",\"devices\":16,"
        "\"devices_free\":16,\"cpu\":1500,\"mem\":512,\"jobs\":[]}]");
    char *s = allot_fmt_nodes_table(nodes, 1000, 0);
    assert_non_null(s);
    assert_non_null(strstr(s, "500G"));
    assert_non_null(strstr(s, "512M"));
    assert_non_null(strstr(s, "1.5"));
    assert_non_null(strstr(s, "\nH100: 2 nodes (1 up), 16 devices, 6 free\n"));
    assert_non_null(strstr(s, "\nAscend910B: 1 node (1 up), 16 devices, 16 free\n"));
    assert_int_equal(col_of(s, "npu-1", "up"), col_of(s, "NAME", "STATE"));
    free(s);
    s = allot_fmt_nodes_table(nodes, 1000, 1);
    assert_non_null(strstr(s, "10s ago"));
    assert_non_null(strstr(s, "17,18"));
    free(s);
    json_decref(nodes);

    json_t *ten = parse("[{\"name\":\"vision\",\"weight\":1.5,\"quota\":{\"H100\":16},"
                        "\"borrow_limit\":8,\"jobs_pending\":3,\"jobs_running\":2,"
                        "\"devices_used\":{\"H100\":6}},{\"name\":\"b\",\"quota\":{}}]");
    s = allot_fmt_tenants_table(ten);
    assert_non_null(s);
    assert_non_null(strstr(s, "H100=16"));
    assert_non_null(strstr(s, "H100=6"));
    assert_non_null(strstr(s, "1.5"));
    assert_int_equal(col_of(s, "vision", "H100=16"), col_of(s, "NAME", "QUOTA"));
    free(s);
    json_decref(ten);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_good),     cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_duration_format),   cmocka_unit_test(test_env),
        cmocka_unit_test(test_table_alignment),   cmocka_unit_test(test_jobs_table),
        cmocka_unit_test(test_nodes_and_tenants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
