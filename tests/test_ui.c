/* tests/test_ui.c - the dashboard's C parts: the history ring, report names,
 * opening and listing reports (links, hidden files and ".." refused), the
 * embedded assets, and the dashboard's routes on an in-process server with
 * tokens (paging and sorting the queue, a tenant's view, lent devices, job
 * events, the history). */
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "../src/server/ui_int.h"
#include "allot/server.h"
#include "srvtest.h"

/* ---- the history ring ---- */

static void test_ring(void **state)
{
    (void)state;
    srv_hring h;
    assert_int_equal(srv_hring_init(&h, 0, 1), -1);
    assert_int_equal(srv_hring_init(&h, 3, 2), 0);
    assert_true(srv_hring_due(&h, 100));
    for (int t = 1; t <= 4; t++) {
        srv_hsample *s = srv_hring_push(&h, 100 + 2 * t);
        s->pending = (uint32_t)t;
        s->used[0] = t * 1500;
        s->total[0] = 8;
        s->demand_any = 250;
    }
    assert_int_equal(h.n, 3);
    /* the oldest went: 2, 3, 4 are left, in order */
    assert_int_equal(srv_hring_at(&h, 0)->pending, 2);
    assert_int_equal(srv_hring_at(&h, 2)->pending, 4);
    assert_null(srv_hring_at(&h, 3));
    assert_false(srv_hring_due(&h, 109));
    assert_true(srv_hring_due(&h, 110));
    assert_true(srv_hring_due(&h, 50)); /* the clock went back: sample again */
    const char chips[2][64] = {"H100", "A100"};
    json_t *j = srv_hring_json(&h, 105, 2, chips); /* after t = 105: 106, 108 */
    json_t *time = json_object_get(j, "time");
    assert_int_equal(json_array_size(time), 2);
    assert_true(json_real_value(json_array_get(time, 0)) == 106);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "pending"), 1)), 4);
    json_t *h100 = json_object_get(json_object_get(j, "chips"), "H100");
    assert_true(json_real_value(json_array_get(json_object_get(h100, "used"), 1)) == 6.0);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(h100, "total"), 0)), 8);
    assert_true(json_real_value(json_array_get(json_object_get(j, "demand_any"), 0)) == 0.25);
    assert_non_null(json_object_get(json_object_get(j, "chips"), "A100"));
    json_decref(j);
    j = srv_hring_json(&h, 1e9, 2, chips); /* nothing newer */
    assert_int_equal(json_array_size(json_object_get(j, "time")), 0);
    json_decref(j);
    srv_hring_fini(&h);
}

/* ---- reports ---- */

static void test_report_names(void **state)
{
    (void)state;
    const char *good[] = {"a.html", "run1/report.html", "R-2_x.v1.html", "0.html"};
    const char *bad[] = {"",
                         ".html",
                         "../x.html",
                         "run1/../x.html",
                         "/etc/x.html",
                         ".hidden.html",
                         "run1/.x.html",
                         "a/b/c.html",
                         "x.htm",
                         "x.html/",
                         "run1//x.html",
                         "a b.html",
                         "a%2f.html",
                         "-x.html",
                         "x.html\n"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(srv_report_name_ok(good[i]), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (srv_report_name_ok(bad[i])) fprintf(stderr, "accepted: '%s'\n", bad[i]);
        assert_int_equal(srv_report_name_ok(bad[i]), 0);
    }
    char longname[400];
    memset(longname, 'a', sizeof longname);
    strcpy(longname + 300, ".html");
    assert_int_equal(srv_report_name_ok(longname), 0);
}

static void write_file(const char *path, const char *text, time_t mtime)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_reports_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/allot-reports-XXXXXX", p[512], out[512];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/run1", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/run1/report.html", dir);
    write_file(p, "<html><head><title>sim &amp; more</title></head></html>", 2000000000);
    snprintf(p, sizeof p, "%s/old.html", dir);
    write_file(p, "<p>no title</p>", 1000000000);
    snprintf(p, sizeof p, "%s/.hidden.html", dir);
    write_file(p, "x", 1000000000);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    write_file(p, "x", 1000000000);
    snprintf(out, sizeof out, "%s.secret.html", dir);
    write_file(out, "SECRET", 1000000000);
    snprintf(p, sizeof p, "%s/link.html", dir);
    assert_int_equal(symlink(out, p), 0);
    snprintf(p, sizeof p, "%s/linkdir", dir);
    assert_int_equal(symlink("/tmp", p), 0);
    snprintf(p, sizeof p, "%s/fifo.html", dir);
    assert_int_equal(mkfifo(p, 0644), 0);

    json_t *l = srv_reports_list(dir);
    assert_non_null(l);
    json_t *a = json_object_get(l, "reports");
    assert_int_equal(json_array_size(a), 2); /* newest first */
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "name")),
                        "run1/report.html");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "title")),
                        "sim & more");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "name")),
                        "old.html");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "title")), "");
    json_decref(l);

    int64_t size = 0;
    int fd = srv_report_open(dir, "run1/report.html", &size);
    assert_true(fd >= 0);
    assert_int_equal(size, 55);
    close(fd);
    const char *refused[] = {"link.html", "linkdir/x.html", ".hidden.html", "fifo.html",
                             "../x.html", "notes.txt",      "missing.html"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(srv_report_open(dir, refused[i], &size), -1);
    assert_int_equal(srv_report_open("", "old.html", &size), -1);
    assert_null(srv_reports_list("/nonexistent-allot-dir"));

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, out);
    assert_int_equal(system(cmd), 0);
}

static void test_assets(void **state)
{
    (void)state;
    const srv_asset *a = srv_ui_asset("/");
    assert_non_null(a);
    assert_true(strncmp(a->ctype, "text/html", 9) == 0);
    assert_non_null(strstr((const char *)a->data, "/ui/app.js?v="));
    assert_null(strstr((const char *)a->data, "@VERSION@"));
    a = srv_ui_asset("/ui/app.js");
    assert_non_null(a);
    assert_true(strncmp(a->ctype, "text/javascript", 15) == 0);
    assert_true(a->len > 1000);
    assert_non_null(srv_ui_asset("/ui/app.css"));
    assert_non_null(srv_ui_asset("/ui/favicon.svg"));
    assert_null(srv_ui_asset("/ui/missing.js"));
    assert_null(srv_ui_asset("/ui/../ui/app.js"));
    assert_true(allot__web_version[0] != 0);
    /* uPlot is there exactly when the build found it */
    assert_int_equal(srv_ui_asset("/ui/uPlot.min.js") != NULL, allot__web_charts);
}

/* ---- the routes on a server ---- */

static int setup(void **state)
{
    fx *f = srvtest_new("ui");
    snprintf(f->cfg.data, sizeof f->cfg.data, "%s/data", f->dir);
    snprintf(f->cfg.reports_dir, sizeof f->cfg.reports_dir, "%s", f->dir);
    allot_server_tenant *a = &f->cfg.tenants[0];
    a->nquota = 1;
    snprintf(a->quota_chip[0], 64, "H100");
    a->quota_devices[0] = 2; /* a's third device is lent */
    srvtest_start(f);
    *state = f;
    return 0;
}

static json_t *get_json(fx *f, const char *path, const char *token, int want)
{
    return srvtest_json(f, "GET", path, token, NULL, want);
}

static int submit(fx *f, const char *token, const char *name, int devices, double dur)
{
    char body[300], *out = NULL;
    snprintf(body, sizeof body,
             "{\"command\":[\"sleep\",\"1\"],\"name\":\"%s\",\"devices\":%d,"
             "\"env\":{\"ALLOT_SIM_DURATION\":\"%g\"}}",
             name, devices, dur);
    int st = srvtest_http(f, "POST", "/v1/jobs", token, body, NULL, &out, NULL);
    if (st != 201) fprintf(stderr, "submit -> %d: %s\n", st, out);
    assert_int_equal(st, 201);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    int id = (int)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void test_pages(void **state)
{
    fx *f = *state;
    char *out = NULL, *hdr = NULL;
    assert_int_equal(srvtest_http(f, "GET", "/", NULL, NULL, NULL, &out, &hdr),
                     200); /* no token needed */
    assert_non_null(strstr(hdr, "Content-Type: text/html"));
    assert_non_null(strstr(hdr, "Content-Security-Policy:"));
    assert_non_null(strstr(out, "<main"));
    free(out);
    free(hdr);
    assert_int_equal(srvtest_http(f, "GET", "/ui/app.css", NULL, NULL, NULL, NULL, &hdr), 200);
    assert_non_null(strstr(hdr, "Content-Type: text/css"));
    assert_non_null(strstr(hdr, "ETag: \""));
    free(hdr);
    assert_int_equal(srvtest_http(f, "GET", "/ui/../etc/passwd", NULL, NULL, NULL, NULL, NULL),
                     404);
    assert_int_equal(srvtest_http(f, "DELETE", "/", NULL, NULL, NULL, NULL, NULL), 405);
    /* reports: a token, and the admin's */
    char p[200];
    snprintf(p, sizeof p, "%s/r.html", f->dir);
    write_file(p, "<title>R</title>", 1500000000);
    assert_int_equal(srvtest_http(f, "GET", "/reports/r.html", NULL, NULL, NULL, NULL, NULL), 401);
    assert_int_equal(srvtest_http(f, "GET", "/reports/r.html", TOK_A, NULL, NULL, NULL, NULL), 403);
    assert_int_equal(srvtest_http(f, "GET", "/reports/r.html", ADMIN, NULL, NULL, &out, &hdr), 200);
    assert_string_equal(out, "<title>R</title>");
    assert_non_null(strstr(hdr, "sandbox"));
    free(out);
    free(hdr);
    assert_int_equal(srvtest_http(f, "GET", "/reports/../r.html", ADMIN, NULL, NULL, NULL, NULL),
                     404);
    assert_int_equal(
        srvtest_http(f, "GET", "/reports/data/store.db", ADMIN, NULL, NULL, NULL, NULL), 404);
    json_t *j = get_json(f, "/v1/reports", ADMIN, 200);
    assert_int_equal(json_array_size(json_object_get(j, "reports")), 1);
    json_decref(j);
    json_decref(get_json(f, "/v1/reports", TOK_A, 403));
    j = get_json(f, "/v1/whoami", TOK_A, 200);
    assert_string_equal(json_string_value(json_object_get(j, "role")), "tenant");
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "a");
    json_decref(j);
    json_decref(get_json(f, "/v1/whoami", NULL, 401));
}

static void test_routes(void **state)
{
    fx *f = *state;
    /* a: three one-device jobs (quota 2: the third is lent); b: two */
    int a1 = submit(f, TOK_A, "a-one", 1, 600);
    int a2 = submit(f, TOK_A, "a-two", 1, 600);
    int a3 = submit(f, TOK_A, "a-three", 1, 600);
    int b1 = submit(f, TOK_B, "b-one", 2, 600);
    int b2 = submit(f, TOK_B, "b-two", 4, 600); /* 1+1+1+2+4 = 9 > 8 devices: waits */
    (void)a1;
    (void)a2;

    json_t *j = get_json(f, "/v1/queue?state=all&sort=devices&order=desc&limit=2", ADMIN, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 5);
    json_t *rows = json_object_get(j, "jobs");
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), b2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "id")), b1);
    json_t *c = json_object_get(j, "counts");
    assert_int_equal(json_integer_value(json_object_get(c, "pending")), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "running")), 4);
    json_decref(j);
    /* page 2 of 2 by id */
    j = get_json(f, "/v1/queue?state=all&offset=4&limit=2", ADMIN, 200);
    rows = json_object_get(j, "jobs");
    assert_int_equal(json_array_size(rows), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), b2);
    json_decref(j);
    /* search */
    j = get_json(f, "/v1/queue?q=THREE", ADMIN, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    /* a tenant sees its own jobs only, even when it asks for another's */
    j = get_json(f, "/v1/queue?state=all", TOK_A, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    assert_int_equal(json_array_size(json_object_get(j, "tenants")), 1);
    json_decref(j);
    j = get_json(f, "/v1/queue?state=all&tenant=b", TOK_A, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    json_decref(get_json(f, "/v1/queue?sort=bogus", ADMIN, 400));
    json_decref(get_json(f, "/v1/queue?state=done", ADMIN, 400));
    json_decref(get_json(f, "/v1/queue?limit=0", ADMIN, 400));

    /* the fleet: 2 nodes of 4 devices, some of them lent */
    j = get_json(f, "/v1/fleet", ADMIN, 200);
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 2);
    int used = 0, lent = 0, fr = 0;
    size_t k;
    json_t *n;
    json_array_foreach(nodes, k, n)
    {
        const char *devs = json_string_value(json_array_get(n, 4));
        assert_int_equal(strlen(devs), 4);
        for (const char *d = devs; *d; d++) {
            used += *d == 'U';
            lent += *d == 'L';
            fr += *d == 'F';
        }
    }
    /* a-one and a-two are within a's quota; a-three is beyond it, and b has
     * no quota: b-one's two devices are lent too */
    assert_int_equal(used, 2);
    assert_int_equal(lent, 3);
    assert_int_equal(fr, 3);
    assert_int_equal(json_array_size(json_object_get(j, "racks")), 1);
    json_decref(j);

    /* one node: devices and jobs; a tenant does not see b's */
    char path[100];
    snprintf(path, sizeof path, "/v1/jobs/%d", b1);
    j = get_json(f, path, ADMIN, 200);
    const char *bnode =
        json_string_value(json_object_get(json_array_get(json_object_get(j, "tasks"), 0), "node"));
    char node[64];
    snprintf(node, sizeof node, "%s", bnode);
    json_t *ev = json_object_get(j, "events");
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "type")),
                        "submitted");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 1), "type")),
                        "started");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_array_get(ev, 1), "detail")), node));
    json_decref(j);
    snprintf(path, sizeof path, "/v1/fleet/%s", node);
    j = get_json(f, path, TOK_A, 200);
    char *txt = json_dumps(j, 0);
    assert_null(strstr(txt, "b-one"));
    free(txt);
    assert_true(json_integer_value(json_object_get(j, "other_jobs")) >= 1);
    assert_int_equal(json_array_size(json_object_get(j, "devices")), 4);
    json_decref(j);
    j = get_json(f, path, ADMIN, 200);
    txt = json_dumps(j, 0);
    assert_non_null(strstr(txt, "b-one"));
    free(txt);
    json_decref(j);
    json_decref(get_json(f, "/v1/fleet/nonode", ADMIN, 404));

    /* cancel the waiting job: its events end with cancelled */
    snprintf(path, sizeof path, "/v1/jobs/%d", b2);
    char *out = NULL;
    assert_int_equal(srvtest_http(f, "DELETE", path, ADMIN, NULL, NULL, &out, NULL), 200);
    free(out);
    j = get_json(f, path, ADMIN, 200);
    ev = json_object_get(j, "events");
    if (json_array_size(ev) != 2) {
        char *dbg = json_dumps(ev, 0);
        fprintf(stderr, "events: %s\n", dbg);
        free(dbg);
    }
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 1), "type")),
                        "cancelled");
    json_decref(j);
    (void)a3;

    /* the history: samples as columns, and only newer ones with since */
    j = get_json(f, "/v1/stats/history", TOK_A, 200);
    json_t *time = json_object_get(j, "time");
    assert_true(json_array_size(time) >= 1);
    double last = json_real_value(json_array_get(time, json_array_size(time) - 1));
    assert_non_null(json_object_get(json_object_get(j, "chips"), "H100"));
    json_decref(j);
    snprintf(path, sizeof path, "/v1/stats/history?since=%.3f", last + 1);
    j = get_json(f, path, ADMIN, 200);
    assert_int_equal(json_array_size(json_object_get(j, "time")), 0);
    json_decref(j);
    json_decref(get_json(f, "/v1/stats/history?res=weekly", ADMIN, 400));
    json_decref(get_json(f, "/v1/stats/history?res=coarse", ADMIN, 200));
    json_decref(get_json(f, "/v1/fleet", NULL, 401));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring),
        cmocka_unit_test(test_report_names),
        cmocka_unit_test(test_reports_dir),
        cmocka_unit_test(test_assets),
        cmocka_unit_test_setup_teardown(test_pages, setup, srvtest_teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, srvtest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
