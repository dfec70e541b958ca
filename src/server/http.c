/* src/server/http.c - the HTTP side of allot server (libmicrohttpd): routes,
 * authentication, body limits, and the hand-off to the state thread.
 *
 * A request is read whole (bounded), checked (route, method, token, JSON),
 * then the connection is suspended and the request posted to the state
 * thread, which resumes it once the reply is ready (after the commit).
 * Log uploads and log reads touch only files and are served here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "allot/server.h"
#include "server_int.h"
#include "ui_http.h"

#define RT_LOG_UPLOAD RQ__COUNT
#define RT_OTHER      (RQ__COUNT + 1)
#define RT_STATIC     (RQ__COUNT + 2) /* the dashboard's files and reports */
#define RT__COUNT     (RQ__COUNT + 3)

static const char *route_names[RT__COUNT] = {"healthz",
                                             "metrics",
                                             "submit",
                                             "jobs",
                                             "job",
                                             "cancel",
                                             "job_logs",
                                             "nodes",
                                             "node",
                                             "register",
                                             "poll",
                                             "events",
                                             "tenants",
                                             "put_tenant",
                                             "drain",
                                             "services",
                                             "service_create",
                                             "service",
                                             "service_patch",
                                             "service_delete",
                                             "service_load",
                                             "ui",
                                             "log_upload",
                                             "other",
                                             "static"};

static _Atomic uint64_t http_count[RT__COUNT][6];

void srv_http_metrics(char **buf, size_t *len, size_t *cap)
{
    srv_buf b = {*buf, *len, *cap};
    srv_buf_printf(&b, "# HELP allot_http_requests_total HTTP requests by route and status class.\n"
                       "# TYPE allot_http_requests_total counter\n");
    for (int r = 0; r < RT__COUNT; r++)
        for (int c = 1; c < 6; c++) {
            uint64_t v = atomic_load(&http_count[r][c]);
            if (v)
                srv_buf_printf(
                    &b, "allot_http_requests_total{route=\"%s\",code=\"%dxx\"} %" PRIu64 "\n",
                    route_names[r], c, v);
        }
    *buf = b.p;
    *len = b.n;
    *cap = b.cap;
}

struct allot_server {
    allot_server_config cfg;
    srv_state *st;
    struct MHD_Daemon *d;
    int port;
    int auth_on;
    pthread_mutex_t log_mu;
};

typedef struct hctx {
    srv_req r;
    char *body;
    size_t n, cap, limit;
    int too_large, posted, immediate;
} hctx;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Constant-time equality of a presented token and a configured one: the
 * time depends only on the length of the presented token. */
static int token_eq(const char *given, size_t glen, const char *want)
{
    size_t wlen = strlen(want);
    unsigned char diff = (unsigned char)(glen != wlen) | (unsigned char)(wlen == 0);
    for (size_t i = 0; i < glen; i++) {
        unsigned char w = i < wlen ? (unsigned char)want[i] : 0;
        diff |= (unsigned char)given[i] ^ w;
    }
    return diff == 0;
}

static void authenticate(allot_server *s, struct MHD_Connection *c, srv_req *r)
{
    r->tenant = -1;
    if (!s->auth_on) {
        r->role = ROLE_ADMIN;
        return;
    }
    r->role = ROLE_NONE;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return;
    const char *tok = h + 7;
    size_t n = strnlen(tok, ALLOT_SERVER_TOKEN_MAX + 1);
    if (n == 0 || n > ALLOT_SERVER_TOKEN_MAX) return;
    /* check every token, whatever matches, so timing says nothing */
    int admin = token_eq(tok, n, s->cfg.admin_token);
    int agent = token_eq(tok, n, s->cfg.agent_token);
    int tenant = -1;
    for (int i = 0; i < s->cfg.ntenants; i++)
        if (token_eq(tok, n, s->cfg.tenants[i].token)) tenant = i;
    if (admin)
        r->role = ROLE_ADMIN;
    else if (agent)
        r->role = ROLE_AGENT;
    else if (tenant >= 0) {
        r->role = ROLE_TENANT;
        r->tenant = tenant;
    }
}

static int parse_u32(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

static const char *qarg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static int qnum(struct MHD_Connection *c, const char *k, long long lo, long long hi, long long def,
                long long *out)
{
    const char *v = qarg(c, k);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* Fills r->kind from method and path; on a bad request sets an error reply
 * and returns -1. */
static int route(allot_server *s, struct MHD_Connection *c, const char *method, const char *url,
                 hctx *h)
{
    srv_req *r = &h->r;
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
        del = strcmp(method, "DELETE") == 0, put = strcmp(method, "PUT") == 0;
    r->route = RT_OTHER;
#define METHOD(ok)                                                                                 \
    do {                                                                                           \
        if (!(ok)) {                                                                               \
            srv_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s", method, url); \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
    if (strcmp(url, "/healthz") == 0) {
        METHOD(get);
        r->kind = RQ_HEALTH;
        r->route = RQ_HEALTH;
        return 0;
    }
    if (strcmp(url, "/metrics") == 0) {
        METHOD(get);
        r->kind = RQ_METRICS;
        r->route = RQ_METRICS;
        return 0;
    }
    if (strncmp(url, "/v1/", 4) != 0) goto notfound;
    authenticate(s, c, r);
    if (r->role == ROLE_NONE) {
        srv_reply_error(r, 401, "unauthorized", "a valid bearer token is required");
        return -1;
    }
    const char *p = url + 4;
    long long x;
    int ui = srv_ui_route(c, p, method, r, s->cfg.reports_dir,
                          r->role == ROLE_TENANT ? s->cfg.tenants[r->tenant].name : NULL);
    if (ui) return ui > 0 ? 0 : -1;
    if (strncmp(p, "jobs", 4) == 0 && (p[4] == 0 || p[4] == '/')) {
        if (r->role == ROLE_AGENT) {
            srv_reply_error(r, 403, "forbidden", "agent tokens cannot use the job routes");
            return -1;
        }
        if (p[4] == 0 || (p[4] == '/' && p[5] == 0)) {
            if (post) {
                r->kind = RQ_SUBMIT;
            } else {
                METHOD(get);
                r->kind = RQ_JOBS;
                const char *v;
                r->q_all = (v = qarg(c, "all")) && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
                if (qnum(c, "limit", 1, 100000, 1000, &x)) {
                    srv_reply_error(r, 400, "bad_request", "limit: an integer 1..100000");
                    return -1;
                }
                r->q_limit = (int)x;
                if ((v = qarg(c, "state"))) snprintf(r->q_state, sizeof r->q_state, "%s", v);
                if ((v = qarg(c, "tenant"))) snprintf(r->q_tenant, sizeof r->q_tenant, "%s", v);
            }
            r->route = r->kind;
            return 0;
        }
        const char *id = p + 5, *slash = strchr(id, '/');
        size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
        if (parse_u32(id, idlen, &r->id)) {
            srv_reply_error(r, 404, "not_found", "no job '%.*s'", (int)(idlen > 32 ? 32 : idlen),
                            id);
            return -1;
        }
        if (!slash) {
            if (del)
                r->kind = RQ_CANCEL;
            else {
                METHOD(get);
                r->kind = RQ_JOB;
            }
            r->route = r->kind;
            return 0;
        }
        if (strcmp(slash, "/logs") == 0) {
            METHOD(get);
            r->kind = RQ_JOB_LOGS;
            r->route = r->kind;
            const char *v = qarg(c, "stream");
            if (v && strcmp(v, "stdout") && strcmp(v, "stderr")) {
                srv_reply_error(r, 400, "bad_request", "stream: stdout or stderr");
                return -1;
            }
            r->q_stderr = v && strcmp(v, "stderr") == 0;
            if (qnum(c, "task", 0, 65535, 0, &x)) {
                srv_reply_error(r, 400, "bad_request", "task: an integer >= 0");
                return -1;
            }
            r->q_task = (int)x;
            if (qnum(c, "offset", 0, INT64_MAX / 2, 0, &x)) {
                srv_reply_error(r, 400, "bad_request", "offset: an integer >= 0");
                return -1;
            }
            r->q_offset = x;
            if (qnum(c, "limit", 1, 1 << 20, 1 << 20, &x)) {
                srv_reply_error(r, 400, "bad_request", "limit: an integer 1..1048576");
                return -1;
            }
            r->q_len = x;
            return 0;
        }
        goto notfound;
    }
    if (strncmp(p, "nodes", 5) == 0 && (p[5] == 0 || p[5] == '/')) {
        if (p[5] == 0) {
            if (post) {
                if (r->role != ROLE_AGENT && r->role != ROLE_ADMIN) goto forbidden;
                r->kind = RQ_REGISTER;
            } else {
                METHOD(get);
                r->kind = RQ_NODES;
            }
            r->route = r->kind;
            return 0;
        }
        const char *nm = p + 6, *slash = strchr(nm, '/');
        size_t nlen = slash ? (size_t)(slash - nm) : strlen(nm);
        if (nlen == 0 || nlen >= 64) goto notfound;
        memcpy(r->name, nm, nlen);
        r->name[nlen] = 0;
        if (!slash) {
            METHOD(get);
            r->kind = RQ_NODE;
            r->route = r->kind;
            return 0;
        }
        if (strcmp(slash, "/drain") == 0 || strcmp(slash, "/undrain") == 0) {
            METHOD(post);
            if (r->role != ROLE_ADMIN) goto forbidden;
            r->kind = RQ_DRAIN;
            r->q_all = slash[1] == 'd';
            r->route = r->kind;
            return 0;
        }
        if (r->role != ROLE_AGENT && r->role != ROLE_ADMIN) goto forbidden;
        METHOD(post);
        if (strcmp(slash, "/poll") == 0) {
            r->kind = RQ_POLL;
            if (qnum(c, "wait", 0, 30, 10, &x)) {
                srv_reply_error(r, 400, "bad_request", "wait: seconds 0..30");
                return -1;
            }
            r->q_wait = (double)x;
        } else if (strcmp(slash, "/events") == 0) {
            r->kind = RQ_EVENTS;
        } else if (strcmp(slash, "/logs") == 0) {
            r->route = RT_LOG_UPLOAD;
            h->immediate = 1;
            h->limit = SRV_LOG_BODY_MAX;
            return 0;
        } else {
            goto notfound;
        }
        r->route = r->kind;
        return 0;
    }
    if (strncmp(p, "tenants", 7) == 0 && (p[7] == 0 || p[7] == '/')) {
        if (p[7] == 0) {
            METHOD(get);
            r->kind = RQ_TENANTS;
        } else {
            const char *nm = p + 8;
            if (!*nm || strchr(nm, '/') || strlen(nm) >= 64) goto notfound;
            snprintf(r->name, sizeof r->name, "%s", nm);
            METHOD(put);
            if (r->role != ROLE_ADMIN) goto forbidden;
            r->kind = RQ_PUT_TENANT;
        }
        r->route = r->kind;
        return 0;
    }
    if (strncmp(p, "services", 8) == 0 && (p[8] == 0 || p[8] == '/')) {
        if (srv_route_services(r, method, p + 8)) return -1;
        r->route = r->kind;
        return 0;
    }
notfound:
    srv_reply_error(r, 404, "not_found", "no route %s %.200s", method, url);
    return -1;
forbidden:
    srv_reply_error(r, 403, "forbidden", "this token may not %s %.200s", method, url);
    return -1;
#undef METHOD
}

/* ---- logs ---- */

static int mkdirs(const char *path)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *q = tmp + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *q = '/';
        }
    if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
    return 0;
}

static void log_upload(allot_server *s, hctx *h)
{
    srv_req *r = &h->r;
    json_t *chunks = json_object_get(r->body, "chunks");
    if (!json_is_array(chunks) || json_array_size(chunks) > 4096)
        return srv_reply_error(r, 400, "bad_request", "chunks: must be an array");
    size_t k;
    json_t *o;
    pthread_mutex_lock(&s->log_mu);
    json_array_foreach(chunks, k, o)
    {
        json_t *jb = json_object_get(o, "job"), *tk = json_object_get(o, "task"),
               *ep = json_object_get(o, "epoch"), *off = json_object_get(o, "offset"),
               *data = json_object_get(o, "data");
        const char *stream = json_string_value(json_object_get(o, "stream"));
        if (!json_is_integer(jb) || !json_is_integer(tk) || !json_is_integer(ep) ||
            !json_is_integer(off) || (data && !json_is_string(data)) || !stream ||
            (strcmp(stream, "stdout") && strcmp(stream, "stderr")) || json_integer_value(jb) < 0 ||
            json_integer_value(jb) > UINT32_MAX || json_integer_value(tk) < 0 ||
            json_integer_value(tk) > 65535 || json_integer_value(ep) < 0 ||
            json_integer_value(ep) > UINT32_MAX || json_integer_value(off) < 0) {
            pthread_mutex_unlock(&s->log_mu);
            return srv_reply_error(r, 400, "bad_request",
                                   "chunks[%zu]: needs integer job, task, epoch, offset, a stream "
                                   "(stdout|stderr) and string data",
                                   k);
        }
        char dir[1100], path[1200];
        snprintf(dir, sizeof dir, "%s/logs/%" JSON_INTEGER_FORMAT, s->cfg.data,
                 json_integer_value(jb));
        snprintf(path, sizeof path, "%s/%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT ".%s", dir,
                 json_integer_value(ep), json_integer_value(tk), stream);
        if (mkdirs(dir)) {
            pthread_mutex_unlock(&s->log_mu);
            return srv_reply_error(r, 503, "unavailable", "cannot write logs: %s", strerror(errno));
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb)) {
            if (fd >= 0) close(fd);
            pthread_mutex_unlock(&s->log_mu);
            return srv_reply_error(r, 503, "unavailable", "cannot write logs: %s", strerror(errno));
        }
        size_t len = data ? json_string_length(data) : 0;
        int64_t o0 = json_integer_value(off);
        if (o0 + (int64_t)len <= sb.st_size && o0 <= sb.st_size) {
            /* a re-sent chunk we already have */
        } else if (o0 != sb.st_size) {
            close(fd);
            pthread_mutex_unlock(&s->log_mu);
            return srv_reply_error(r, 409, "conflict",
                                   "chunks[%zu]: offset %" PRId64 ", expected %lld", k, o0,
                                   (long long)sb.st_size);
        } else if (len && write(fd, json_string_value(data), len) != (ssize_t)len) {
            close(fd);
            pthread_mutex_unlock(&s->log_mu);
            return srv_reply_error(r, 503, "unavailable", "cannot write logs: %s", strerror(errno));
        }
        close(fd);
        if (json_is_true(json_object_get(o, "eof"))) {
            char eof[1210];
            snprintf(eof, sizeof eof, "%s.eof", path);
            int e = open(eof, O_WRONLY | O_CREAT, 0644);
            if (e >= 0) close(e);
        }
    }
    pthread_mutex_unlock(&s->log_mu);
    srv_reply_json(r, 200, json_object());
}

static struct MHD_Response *log_read(srv_req *r)
{
    char size_s[32], done_s[4];
    int fd = open(r->log_path, O_RDONLY);
    struct stat sb;
    int64_t size = 0;
    char *buf = NULL;
    size_t n = 0;
    if (fd >= 0 && fstat(fd, &sb) == 0) {
        size = sb.st_size;
        if (r->q_offset < size) {
            size_t want = (size_t)(size - r->q_offset);
            if ((int64_t)want > r->q_len) want = (size_t)r->q_len;
            buf = malloc(want ? want : 1);
            if (buf) {
                ssize_t got = pread(fd, buf, want, r->q_offset);
                n = got > 0 ? (size_t)got : 0;
            }
        }
    }
    if (fd >= 0) close(fd);
    char eof[1210];
    snprintf(eof, sizeof eof, "%s.eof", r->log_path);
    int done = r->log_done || access(eof, F_OK) == 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        n, buf ? buf : (void *)"", buf ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(buf);
        return NULL;
    }
    snprintf(size_s, sizeof size_s, "%" PRId64, size);
    snprintf(done_s, sizeof done_s, "%d", done);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "X-Allot-Log-Size", size_s);
    MHD_add_response_header(resp, "X-Allot-Log-Done", done_s);
    return resp;
}

/* ---- the handler ---- */

static enum MHD_Result reply(struct MHD_Connection *c, hctx *h)
{
    srv_req *r = &h->r;
    struct MHD_Response *resp;
    if (r->kind == RQ_JOB_LOGS && r->status == 200 && !r->out) {
        resp = log_read(r);
    } else {
        if (!r->out) srv_reply_error(r, 500, "internal", "no reply");
        resp = MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
        if (resp) {
            r->out = NULL;
            MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
            if (r->location[0] && r->status == 201)
                MHD_add_response_header(resp, "Location", r->location);
        }
    }
    if (!resp) return MHD_NO;
    int st = r->status ? r->status : 500;
    int cls = st / 100;
    if (cls >= 1 && cls <= 5) atomic_fetch_add(&http_count[r->route][cls], 1);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)st, resp);
    MHD_destroy_response(resp);
    return rc;
}

void srv_http_done(srv_req *r)
{
    atomic_thread_fence(memory_order_release);
    r->done = 1;
    MHD_resume_connection((struct MHD_Connection *)r->conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    allot_server *s = cls;
    hctx *h = *con_cls;
    if (!h && srv_ui_static_path(url)) { /* the dashboard: answered at once */
        srv_req who = {0};
        authenticate(s, c, &who);
        int st = 500;
        enum MHD_Result rc = srv_ui_serve(c, method, url, s->cfg.reports_dir, who.role, &st);
        if (st / 100 >= 1 && st / 100 <= 5) atomic_fetch_add(&http_count[RT_STATIC][st / 100], 1);
        return rc;
    }
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h) return MHD_NO;
        *con_cls = h;
        h->r.conn = c;
        h->r.t_in = mono();
        h->limit = SRV_BODY_MAX;
        h->r.q_limit = 1000;
        h->r.q_len = 1 << 20;
        route(s, c, method, url, h); /* an error reply is kept for the end */
        return MHD_YES;
    }
    if (*upload_size) {
        if (!h->too_large && !h->r.out) {
            if (h->n + *upload_size > h->limit) {
                h->too_large = 1;
            } else {
                if (h->n + *upload_size + 1 > h->cap) {
                    size_t cap = h->cap ? h->cap : 4096;
                    while (cap < h->n + *upload_size + 1) cap *= 2;
                    char *p = realloc(h->body, cap);
                    if (!p) return MHD_NO;
                    h->body = p;
                    h->cap = cap;
                }
                memcpy(h->body + h->n, upload, *upload_size);
                h->n += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (h->posted) {
        atomic_thread_fence(memory_order_acquire);
        if (!h->r.done) return MHD_YES; /* spurious: still waiting */
        return reply(c, h);
    }
    srv_req *r = &h->r;
    if (!r->out && h->too_large)
        srv_reply_error(r, 413, "too_large", "the body is over %zu bytes", h->limit);
    if (!r->out && h->n > 0) {
        json_error_t je;
        r->body = json_loadb(h->body, h->n, JSON_REJECT_DUPLICATES, &je);
        if (!r->body)
            srv_reply_error(r, 400, "bad_request", "malformed JSON: %s (at byte %d)", je.text,
                            je.position);
    }
    if (!r->out && r->kind == RQ_SUBMIT) {
        char err[300];
        if (srv_spec_parse(r->body, &r->spec, err, sizeof err))
            srv_reply_error(r, 400, "bad_request", "%s", err);
    }
    if (!r->out && (r->kind == RQ_REGISTER || r->kind == RQ_EVENTS || r->kind == RQ_PUT_TENANT) &&
        !json_is_object(r->body))
        srv_reply_error(r, 400, "bad_request", "the body must be a JSON object");
    if (!r->out && h->immediate) log_upload(s, h);
    if (r->out) return reply(c, h);
    h->posted = 1;
    MHD_suspend_connection(c);
    srv_state_post(s->st, r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    hctx *h = *con_cls;
    if (!h) return;
    json_decref(h->r.body);
    srv_spec_free(&h->r.spec);
    free(h->r.out);
    free(h->body);
    free(h);
    *con_cls = NULL;
}

static char *read_file(const char *path, allot_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = 0;
    return buf;
}

int allot_server_start(allot_server **out, const allot_server_config *cfg, allot_diag *d)
{
    int rc = allot_server_config_check(cfg, d);
    if (rc) return rc;
    allot_server *s = calloc(1, sizeof *s);
    if (!s) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    s->cfg = *cfg;
    pthread_mutex_init(&s->log_mu, NULL);
    s->auth_on = cfg->admin_token[0] != 0;
    /* the address */
    char host[256];
    snprintf(host, sizeof host, "%s", cfg->listen);
    char *colon = strrchr(host, ':');
    *colon = 0;
    int port = atoi(colon + 1);
    char *h = host;
    if (h[0] == '[') { /* [::1]:8080 */
        h++;
        char *e = strchr(h, ']');
        if (e) *e = 0;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gai = getaddrinfo(*h ? h : NULL, ps, &hints, &ai);
    if (gai) {
        rc = allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "listen: cannot resolve '%s': %s", h,
                            gai_strerror(gai));
        free(s);
        return rc;
    }
    rc = srv_state_start(&s->st, cfg, d);
    if (rc) {
        freeaddrinfo(ai);
        free(s);
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    char *key = NULL, *cert = NULL;
    if (cfg->tls_cert[0]) {
        key = read_file(cfg->tls_key, d);
        cert = key ? read_file(cfg->tls_cert, d) : NULL;
        if (!key || !cert) {
            free(key);
            free(cert);
            freeaddrinfo(ai);
            srv_state_free(s->st);
            free(s);
            return ALLOT_EIO;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_KEY, 0, key},
                                   {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
                                   {MHD_OPTION_END, 0, NULL}};
    struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
    s->d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)60000, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_ARRAY, key ? tls : none, MHD_OPTION_END);
    freeaddrinfo(ai);
    free(key);
    free(cert);
    if (!s->d) {
        rc = allot_diag_set(d, ALLOT_EIO, NULL, 0, 0,
                            "cannot listen on %s (in use, or not an address of this machine)",
                            cfg->listen);
        srv_state_free(s->st);
        free(s);
        return rc;
    }
    const union MHD_DaemonInfo *inf = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = inf ? inf->port : port;
    *out = s;
    return 0;
}

int allot_server_port(const allot_server *s) { return s->port; }

void allot_server_stop(allot_server *s)
{
    if (!s) return;
    /* stop accepting; the state thread answers what is queued with 503 */
    MHD_quiesce_daemon(s->d);
    srv_state_stop(s->st);
    MHD_stop_daemon(s->d);
    srv_state_free(s->st);
    pthread_mutex_destroy(&s->log_mu);
    free(s);
}
