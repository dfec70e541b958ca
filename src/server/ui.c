/* src/server/ui.c - the dashboard on the HTTP threads: the page and its
 * assets (embedded in the binary at build time, scripts/embed_web.sh), the
 * reports directory served read-only, and the parsing of the dashboard's
 * /v1 routes that the state thread answers (dash.c).
 *
 *   GET /                   the page (no token needed: it holds no data)
 *   GET /ui/NAME            its scripts, styles and icons; with ?v=VERSION the
 *                           reply may be cached for a year (the page asks for
 *                           exactly the version it was built with)
 *   GET /reports/REL        a report under reports_dir (admin), served with a
 *                           sandboxing Content-Security-Policy
 *   GET /v1/reports         the reports (admin)
 *   GET /v1/whoami          the caller's role and tenant
 *
 * Report names are checked (srv_report_name_ok) and opened relative to the
 * directory without following symbolic links: "..", absolute paths, hidden
 * files, links and anything deeper than one subdirectory are refused. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server_int.h"
#include "ui_int.h"
#include "ui_http.h"

const srv_asset *srv_ui_asset(const char *path)
{
    for (size_t i = 0; i < allot__web_nassets; i++)
        if (strcmp(allot__web_assets[i].path, path) == 0) return &allot__web_assets[i];
    return NULL;
}

/* ---- reports ------------------------------------------------------------------------------------
 */

static int part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 127 || !isalnum((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') return 0;
    }
    return 1;
}

int srv_report_name_ok(const char *rel)
{
    size_t n = strnlen(rel, SRV_REPORT_NAME_MAX + 1);
    if (n == 0 || n > SRV_REPORT_NAME_MAX || n < 6 || strcmp(rel + n - 5, ".html") != 0) return 0;
    const char *slash = strchr(rel, '/');
    if (!slash) return part_ok(rel, n);
    if (strchr(slash + 1, '/')) return 0;
    return part_ok(rel, (size_t)(slash - rel)) && part_ok(slash + 1, strlen(slash + 1));
}

int srv_report_open(const char *dir, const char *rel, int64_t *size)
{
    if (!dir || !dir[0] || !srv_report_name_ok(rel)) {
        errno = ENOENT;
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    const char *slash = strchr(rel, '/'), *file = rel;
    if (slash) {
        char sub[128];
        memcpy(sub, rel, (size_t)(slash - rel));
        sub[slash - rel] = 0;
        int s = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        if (s < 0) return -1;
        dfd = s;
        file = slash + 1;
    }
    int fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0) {
        errno = e;
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > SRV_REPORT_SIZE_MAX) {
        e = S_ISREG(sb.st_mode) ? EFBIG : ENOENT;
        close(fd);
        errno = e;
        return -1;
    }
    *size = sb.st_size;
    return fd;
}

/* The text of <title>...</title> in the first 8 KiB, entities of our own
 * writer (&amp; &lt; &gt; &quot; &#39;) decoded; "" when none. */
static void report_title(int fd, char *out, size_t cap)
{
    char buf[8192];
    out[0] = 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    buf[n] = 0;
    char *a = strstr(buf, "<title>");
    char *b = a ? strstr(a, "</title>") : NULL;
    if (!b) return;
    size_t k = 0;
    static const char *ent[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
    for (char *p = a + 7; p < b && k + 1 < cap;) {
        int done = 0;
        for (size_t e = 0; e < sizeof ent / sizeof ent[0] && !done; e++) {
            size_t el = strlen(ent[e][0]);
            if (strncmp(p, ent[e][0], el) == 0) {
                out[k++] = ent[e][1][0];
                p += el;
                done = 1;
            }
        }
        if (!done) {
            unsigned char c = (unsigned char)*p++;
            out[k++] = c < 0x20 ? ' ' : (char)c;
        }
    }
    out[k] = 0;
}

typedef struct rep {
    char name[SRV_REPORT_NAME_MAX + 1];
    char title[200];
    int64_t size;
    double mtime;
} rep;

static int cmp_rep(const void *a, const void *b)
{
    const rep *x = a, *y = b;
    if (x->mtime != y->mtime) return x->mtime > y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void scan(int dfd, const char *prefix, int depth, rep **v, size_t *n, size_t *cap)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) && *n < SRV_REPORTS_MAX) {
        const char *nm = e->d_name;
        if (!part_ok(nm, strlen(nm))) continue;
        struct stat sb;
        if (fstatat(dirfd(d), nm, &sb, AT_SYMLINK_NOFOLLOW)) continue;
        if (S_ISDIR(sb.st_mode) && depth == 0) {
            int s = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s >= 0) scan(s, nm, 1, v, n, cap);
            continue;
        }
        char rel[SRV_REPORT_NAME_MAX + 2];
        int len = snprintf(rel, sizeof rel, "%s%s%s", prefix, prefix[0] ? "/" : "", nm);
        if (!S_ISREG(sb.st_mode) || len > SRV_REPORT_NAME_MAX || !srv_report_name_ok(rel)) continue;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 32;
            rep *w = realloc(*v, c * sizeof *w);
            if (!w) break;
            *v = w;
            *cap = c;
        }
        rep *r = &(*v)[(*n)++];
        memcpy(r->name, rel, (size_t)len + 1);
        r->size = sb.st_size;
        r->mtime = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9;
        r->title[0] = 0;
        int fd = openat(dirfd(d), nm, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            report_title(fd, r->title, sizeof r->title);
            close(fd);
        }
    }
    closedir(d);
}

json_t *srv_reports_list(const char *dir)
{
    if (!dir || !dir[0]) {
        errno = ENOENT;
        return NULL;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return NULL;
    rep *v = NULL;
    size_t n = 0, cap = 0;
    scan(dfd, "", 0, &v, &n, &cap);
    if (n) qsort(v, n, sizeof *v, cmp_rep);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_string(v[i].title);
        if (!t) t = json_string(""); /* not UTF-8 */
        json_array_append_new(a, json_pack("{s:s,s:o,s:I,s:f}", "name", v[i].name, "title", t,
                                           "size", (json_int_t)v[i].size, "mtime", v[i].mtime));
    }
    free(v);
    return json_pack("{s:o,s:b}", "reports", a, "truncated", n >= SRV_REPORTS_MAX);
}

/* ---- serving ------------------------------------------------------------------------------------
 */

int srv_ui_static_path(const char *url)
{
    return strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 ||
           strncmp(url, "/ui/", 4) == 0 || strcmp(url, "/favicon.ico") == 0 ||
           strncmp(url, "/reports/", 9) == 0 || strcmp(url, "/reports") == 0;
}

static void common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *body, int *out_status)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    common_headers(resp);
    *out_status = (int)status;
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *msg, int *out_status)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    enum MHD_Result rc = send_text(c, status, "application/json", txt ? txt : "{}", out_status);
    free(txt);
    return rc;
}

static enum MHD_Result serve_asset(struct MHD_Connection *c, const srv_asset *a, int head,
                                   int *out_status)
{
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s-%zu\"", allot__web_version, (size_t)(a - allot__web_assets));
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    int fresh = inm && strstr(inm, etag) != NULL;
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "v");
    int page = strcmp(a->path, "/") == 0;
    struct MHD_Response *resp;
    if (fresh)
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else if (head) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else
        resp = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", a->ctype);
    MHD_add_response_header(resp, "ETag", etag);
    /* the page is checked every time; an asset asked for by its version never changes */
    MHD_add_response_header(resp, "Cache-Control",
                            !page && v && strcmp(v, allot__web_version) == 0
                                ? "public, max-age=31536000, immutable"
                                : "no-cache");
    common_headers(resp);
    if (page) {
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self' "
                                "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                "frame-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'none'");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    }
    *out_status = fresh ? 304 : 200;
    enum MHD_Result rc = MHD_queue_response(c, fresh ? 304u : 200u, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result serve_report(struct MHD_Connection *c, const char *dir, const char *rel,
                                    int head, int *out_status)
{
    if (!dir || !dir[0])
        return send_error(c, 404, "not_found",
                          "no reports directory is configured (reports_dir, --reports-dir)",
                          out_status);
    if (!srv_report_name_ok(rel))
        return send_error(c, 404, "not_found", "no such report (names: NAME.html or DIR/NAME.html)",
                          out_status);
    int64_t size = 0;
    int fd = srv_report_open(dir, rel, &size);
    if (fd < 0) return send_error(c, 404, "not_found", "no such report", out_status);
    struct MHD_Response *resp;
    if (head) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_fd((size_t)size, fd); /* takes fd */
        if (!resp) close(fd);
    }
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    /* reports are documents: no scripts, nothing fetched, no forms */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                            "sandbox");
    common_headers(resp);
    *out_status = 200;
    enum MHD_Result rc = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result srv_ui_serve(struct MHD_Connection *c, const char *method, const char *url,
                             const char *reports_dir, int role, int *out_status)
{
    int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
    if (!get && !head) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.16s is not allowed on %.200s", method, url);
        return send_error(c, 405, "method_not_allowed", msg, out_status);
    }
    if (strncmp(url, "/reports", 8) == 0) {
        if (role == ROLE_NONE)
            return send_error(c, 401, "unauthorized", "a valid bearer token is required",
                              out_status);
        if (role != ROLE_ADMIN)
            return send_error(c, 403, "forbidden", "reports are for the admin token", out_status);
        return serve_report(c, reports_dir, url[8] == '/' ? url + 9 : "", head, out_status);
    }
    const srv_asset *a = srv_ui_asset(strcmp(url, "/index.html") == 0 ? "/" : url);
    if (!a) return send_error(c, 404, "not_found", "no such dashboard file", out_status);
    return serve_asset(c, a, head, out_status);
}

/* ---- the /v1 routes -----------------------------------------------------------------------------
 */

static int qnum(struct MHD_Connection *c, const char *k, double lo, double hi, double def,
                double *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end || errno || !(x >= lo && x <= hi)) return -1;
    *out = x;
    return 0;
}

int srv_ui_route(struct MHD_Connection *c, const char *p, const char *method, srv_req *r,
                 const char *reports_dir, const char *tenant_name)
{
    int get = strcmp(method, "GET") == 0;
    int fleet = strncmp(p, "fleet", 5) == 0 && (p[5] == 0 || p[5] == '/');
    int queue = strcmp(p, "queue") == 0, hist = strcmp(p, "stats/history") == 0;
    int reports = strcmp(p, "reports") == 0, whoami = strcmp(p, "whoami") == 0;
    if (!fleet && !queue && !hist && !reports && !whoami) return 0;
    r->route = RQ_UI;
    if (!get) {
        srv_reply_error(r, 405, "method_not_allowed", "%s is not allowed on /v1/%.100s", method, p);
        return -1;
    }
    if (whoami) {
        static const char *roles[] = {"none", "tenant", "agent", "admin"};
        srv_reply_json(r, 200,
                       json_pack("{s:s,s:s?}", "role", roles[r->role], "tenant",
                                 r->role == ROLE_TENANT ? tenant_name : NULL));
        return -1; /* answered here */
    }
    if (r->role == ROLE_AGENT) {
        srv_reply_error(r, 403, "forbidden", "agent tokens cannot use the dashboard's routes");
        return -1;
    }
    if (reports) {
        if (r->role != ROLE_ADMIN) {
            srv_reply_error(r, 403, "forbidden", "reports are for the admin token");
            return -1;
        }
        if (!reports_dir || !reports_dir[0]) {
            srv_reply_json(r, 200,
                           json_pack("{s:[],s:b,s:b}", "reports", "truncated", 0, "configured", 0));
            return -1;
        }
        json_t *l = srv_reports_list(reports_dir);
        if (!l)
            srv_reply_error(r, 503, "unavailable", "cannot read the reports directory: %s",
                            strerror(errno));
        else {
            json_object_set_new(l, "configured", json_true());
            srv_reply_json(r, 200, l);
        }
        return -1;
    }
    r->kind = RQ_UI;
    double x;
    if (fleet) {
        r->ui = p[5] ? SRV_UI_NODE : SRV_UI_FLEET;
        if (p[5]) {
            size_t n = strlen(p + 6);
            if (n == 0 || n >= 64) {
                srv_reply_error(r, 404, "not_found", "no node '%.64s'", p + 6);
                return -1;
            }
            memcpy(r->name, p + 6, n + 1);
        }
        return 1;
    }
    if (hist) {
        r->ui = SRV_UI_HISTORY;
        const char *res = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "res");
        if (res && strcmp(res, "fine") && strcmp(res, "coarse")) {
            srv_reply_error(r, 400, "bad_request", "res: fine or coarse");
            return -1;
        }
        r->q_all = res && strcmp(res, "coarse") == 0;
        if (qnum(c, "since", 0, 1e12, 0, &r->q_since)) {
            srv_reply_error(r, 400, "bad_request", "since: seconds since the epoch, >= 0");
            return -1;
        }
        return 1;
    }
    /* queue */
    r->ui = SRV_UI_QUEUE;
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    r->q_states = 0;
    if (!v || !*v) {
        r->q_states = 3; /* pending and running */
    } else {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", v);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            static const char *names[] = {"pending", "running", "succeeded", "failed", "cancelled"};
            int k = 0;
            while (k < 5 && strcmp(t, names[k])) k++;
            if (k < 5)
                r->q_states |= 1 << k;
            else if (strcmp(t, "all") == 0)
                r->q_states |= 31;
            else if (strcmp(t, "finished") == 0)
                r->q_states |= 28;
            else {
                srv_reply_error(r, 400, "bad_request",
                                "state: comma-separated pending, running, succeeded, failed, "
                                "cancelled, finished, all");
                return -1;
            }
        }
    }
    if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tenant")))
        snprintf(r->q_tenant, sizeof r->q_tenant, "%s", v);
    if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q")))
        snprintf(r->q_text, sizeof r->q_text, "%s", v);
    v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sort");
    snprintf(r->q_sort, sizeof r->q_sort, "%s", v && *v ? v : "id");
    v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "order");
    if (v && strcmp(v, "asc") && strcmp(v, "desc")) {
        srv_reply_error(r, 400, "bad_request", "order: asc or desc");
        return -1;
    }
    r->q_all = v && strcmp(v, "desc") == 0;
    if (qnum(c, "offset", 0, 1e9, 0, &x) || x != (double)(int64_t)x) {
        srv_reply_error(r, 400, "bad_request", "offset: an integer >= 0");
        return -1;
    }
    r->q_offset = (int64_t)x;
    if (qnum(c, "limit", 1, 1000, 100, &x) || x != (double)(int)x) {
        srv_reply_error(r, 400, "bad_request", "limit: an integer 1..1000");
        return -1;
    }
    r->q_limit = (int)x;
    return 1;
}
