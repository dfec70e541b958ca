/* bench/api_bench.c - load generator for POST /v1/jobs of `allot server`.
 *
 *   api_bench --server HOST:PORT [--clients 16] [--jobs N | --seconds S]
 *             [--token T] [--body JSON]
 *
 * One thread per client, each with its own keep-alive HTTP/1.1 connection
 * (raw sockets and a minimal response parser: status line, Content-Length,
 * chunked bodies), sending requests back to back. It measures the server, not
 * an HTTP library. Prints submissions/s (201 replies per second of wall time),
 * p50/p99/max latency and every non-201 reply, grouped by status, with the
 * first body of each. Exit status: 0 all 201; 1 some request failed; 2 usage;
 * 3 no connection could be made.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: api_bench --server HOST:PORT [options]\n"
    "\n"
    "Submits jobs (POST /v1/jobs) to an allot server as fast as it takes them, from\n"
    "several clients with one keep-alive connection each, and prints submissions/s,\n"
    "latency percentiles and errors (any reply but 201).\n"
    "\n"
    "options:\n"
    "  --server HOST:PORT  the server (an http:// prefix is accepted; no TLS)\n"
    "  --clients N         concurrent clients (threads, connections), 1..1024\n"
    "                      (default 16)\n"
    "  --jobs N            stop after N requests in all (default 10000)\n"
    "  --seconds S         stop after S seconds instead\n"
    "  --token T           bearer token (default: $ALLOT_TOKEN)\n"
    "  --body JSON         request body (default {\"command\":[\"true\"],\"devices\":0,\n"
    "                      \"name\":\"api-bench\"})\n"
    "  --path PATH         request path (default /v1/jobs)\n"
    "  -h, --help          this help\n"
    "\n"
    "The last line is machine-readable:\n"
    "  RESULT ok=N errors=N seconds=S rate=R p50_ms=X p99_ms=Y max_ms=Z\n"
    "exit status: 0 every reply was 201; 1 some were not (or a connection broke);\n"
    "2 usage error; 3 the server could not be reached at all.\n";

typedef struct cfg {
    char host[256], port[16];
    const char *token, *body, *path;
    int clients;
    long long jobs;
    double seconds;
} cfg;

#define MAX_STATUS 8

typedef struct worker {
    pthread_t th;
    const cfg *c;
    const char *req;
    size_t req_len;
    double *lat; /* seconds, one per 201 */
    size_t nlat, cap;
    long long ok, errors, conn_errors;
    int status[MAX_STATUS];
    long long status_n[MAX_STATUS];
    char first_body[MAX_STATUS][200];
    char conn_msg[512];
    int connected_once;
} worker;

static atomic_llong g_issued;
static double g_deadline;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dial(const cfg *c, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "%s:%s: %s", c->host, c->port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        snprintf(err, errlen, "%s:%s: %s", c->host, c->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval tv = {30, 0}; /* a stuck server is an error, not a hang */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A connection's receive buffer: bytes past one response stay for the next. */
typedef struct rbuf {
    char *p;
    size_t n, cap;
} rbuf;

static int fill(int fd, rbuf *b)
{
    if (b->n + 4096 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16384;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    ssize_t k;
    do k = recv(fd, b->p + b->n, b->cap - b->n - 1, 0);
    while (k < 0 && errno == EINTR);
    if (k <= 0) return -1;
    b->n += (size_t)k;
    b->p[b->n] = 0;
    return 0;
}

static void consume(rbuf *b, size_t n)
{
    memmove(b->p, b->p + n, b->n - n);
    b->n -= n;
    if (b->p) b->p[b->n] = 0;
}

/* Finds "\r\n\r\n" in b from 0; returns the header length, 0 if not yet. */
static size_t header_end(const rbuf *b)
{
    for (size_t i = 0; i + 3 < b->n; i++)
        if (memcmp(b->p + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

/* Value of header `name` inside the header block [p, p+n), or NULL. */
static const char *header(const char *p, size_t n, const char *name, size_t *vlen)
{
    size_t k = strlen(name);
    const char *end = p + n;
    const char *line = memchr(p, '\n', n); /* skip the status line */
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > k && strncasecmp(line, name, k) == 0 && line[k] == ':') {
            const char *v = line + k + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *e = eol;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ')) e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

/* Reads one response; returns the status (>0) with the body copied (cut) into
 * body, and *close_after when the server closes the connection; -1 on a
 * broken connection or a malformed reply. */
static int read_response(int fd, rbuf *b, char *body, size_t bodylen, int *close_after)
{
    size_t hl;
    while ((hl = header_end(b)) == 0) {
        if (b->n > 65536 || fill(fd, b)) return -1;
    }
    int status = 0;
    if (b->n < 12 || strncmp(b->p, "HTTP/1.", 7) != 0 || sscanf(b->p + 9, "%3d", &status) != 1 ||
        status < 100)
        return -1;
    size_t vl;
    const char *v = header(b->p, hl, "Connection", &vl);
    *close_after = v && vl == 5 && strncasecmp(v, "close", 5) == 0;
    const char *te = header(b->p, hl, "Transfer-Encoding", &vl);
    int chunked = te && vl >= 7 && strncasecmp(te, "chunked", 7) == 0;
    size_t clen = 0;
    const char *cl = header(b->p, hl, "Content-Length", &vl);
    if (cl) clen = strtoull(cl, NULL, 10);
    body[0] = 0;
    if (!chunked) {
        if (!cl && *close_after) return -1; /* read-to-close bodies: not supported */
        while (b->n < hl + clen)
            if (fill(fd, b)) return -1;
        size_t c = clen < bodylen - 1 ? clen : bodylen - 1;
        memcpy(body, b->p + hl, c);
        body[c] = 0;
        consume(b, hl + clen);
        return status;
    }
    consume(b, hl);
    size_t got = 0;
    for (;;) { /* size CRLF data CRLF ... 0 CRLF CRLF */
        char *eol;
        while (!(eol = memchr(b->p, '\n', b->n)))
            if (b->n > 65536 || fill(fd, b)) return -1;
        size_t sz = strtoull(b->p, NULL, 16);
        size_t line = (size_t)(eol - b->p) + 1;
        while (b->n < line + sz + 2)
            if (fill(fd, b)) return -1;
        if (sz > 0 && got + 1 < bodylen) {
            size_t c = sz < bodylen - 1 - got ? sz : bodylen - 1 - got;
            memcpy(body + got, b->p + line, c);
            got += c;
            body[got] = 0;
        }
        consume(b, line + sz + 2);
        if (sz == 0) return status; /* (trailers are not expected) */
    }
}

static int next_request(const cfg *c)
{
    if (c->seconds > 0) return now_s() < g_deadline;
    return atomic_fetch_add(&g_issued, 1) < c->jobs;
}

static void count_status(worker *w, int status, const char *body)
{
    int i = 0;
    while (i < MAX_STATUS && w->status[i] && w->status[i] != status) i++;
    if (i == MAX_STATUS) i = MAX_STATUS - 1; /* lumped in the last slot */
    if (!w->status[i]) {
        w->status[i] = status;
        snprintf(w->first_body[i], sizeof w->first_body[i], "%s", body);
    }
    w->status_n[i]++;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    const cfg *c = w->c;
    rbuf b = {0};
    char body[4096];
    int fd = -1, failures_in_row = 0;
    while (next_request(c)) {
        if (fd < 0) {
            fd = dial(c, w->conn_msg, sizeof w->conn_msg);
            if (fd < 0) {
                w->conn_errors++;
                w->errors++;
                if (++failures_in_row >= 3 && !w->connected_once) break;
                usleep(100000);
                continue;
            }
            w->connected_once = 1;
            b.n = 0;
        }
        double t0 = now_s();
        int close_after = 0;
        int status = -1;
        errno = 0;
        if (send_all(fd, w->req, w->req_len) == 0)
            status = read_response(fd, &b, body, sizeof body, &close_after);
        double dt = now_s() - t0;
        if (status < 0) {
            snprintf(w->conn_msg, sizeof w->conn_msg, "connection broken: %s",
                     errno ? strerror(errno) : "malformed reply");
            w->conn_errors++;
            w->errors++;
            close(fd);
            fd = -1;
            if (++failures_in_row >= 100) break;
            continue;
        }
        failures_in_row = 0;
        if (status == 201) {
            w->ok++;
            if (w->nlat == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 4096;
                double *p = realloc(w->lat, cap * sizeof *p);
                if (!p) break;
                w->lat = p;
                w->cap = cap;
            }
            w->lat[w->nlat++] = dt;
        } else {
            w->errors++;
            count_status(w, status, body);
        }
        if (close_after) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0) close(fd);
    free(b.p);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
    if (n == 0) return NAN;
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    if (i > 0) i--;
    if (i >= n) i = n - 1;
    return v[i];
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "api_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'api_bench --help' for the options.\n");
    return 2;
}

static int parse_server(const char *s, cfg *c)
{
    if (strncmp(s, "http://", 7) == 0) s += 7;
    if (strncmp(s, "https://", 8) == 0) return -1;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1]) return -1;
    size_t hl = (size_t)(colon - s);
    const char *port = colon + 1;
    size_t pl = strcspn(port, "/");
    if (hl >= sizeof c->host || pl == 0 || pl >= sizeof c->port) return -1;
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') { /* [::1]:8080 */
        memcpy(c->host, s + 1, hl - 2);
        c->host[hl - 2] = 0;
    } else {
        memcpy(c->host, s, hl);
        c->host[hl] = 0;
    }
    memcpy(c->port, port, pl);
    c->port[pl] = 0;
    for (size_t i = 0; i < pl; i++)
        if (c->port[i] < '0' || c->port[i] > '9') return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},
        {"clients", required_argument, NULL, 'c'},
        {"jobs", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 't'},
        {"token", required_argument, NULL, 'k'},
        {"body", required_argument, NULL, 'b'},
        {"path", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cfg c = {.clients = 16, .jobs = 10000, .path = "/v1/jobs"};
    c.body = "{\"command\":[\"true\"],\"devices\":0,\"name\":\"api-bench\"}";
    c.token = getenv("ALLOT_TOKEN");
    int have_server = 0, have_jobs = 0;
    opterr = 0;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (parse_server(optarg, &c))
                return usage_error("--server '%s': want HOST:PORT", optarg);
            have_server = 1;
            break;
        case 'c':
            c.clients = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || c.clients < 1 || c.clients > 1024)
                return usage_error("--clients '%s': must be 1..1024", optarg);
            break;
        case 'n':
            c.jobs = strtoll(optarg, &end, 10);
            if (*end || end == optarg || c.jobs < 1)
                return usage_error("--jobs '%s': must be a positive integer", optarg);
            have_jobs = 1;
            break;
        case 't':
            c.seconds = strtod(optarg, &end);
            if (*end || end == optarg || !(c.seconds > 0 && c.seconds <= 86400))
                return usage_error("--seconds '%s': must be in (0, 86400]", optarg);
            break;
        case 'k': c.token = optarg; break;
        case 'b': c.body = optarg; break;
        case 'p':
            if (optarg[0] != '/') return usage_error("--path '%s': must start with /", optarg);
            c.path = optarg;
            break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (!have_server) return usage_error("--server HOST:PORT is required%s", "");
    if (have_jobs && c.seconds > 0) return usage_error("--jobs and --seconds: choose one%s", "");
    signal(SIGPIPE, SIG_IGN);

    /* the request, the same bytes for every client */
    char auth[1024] = "";
    if (c.token && *c.token) {
        if (strlen(c.token) > 900) return usage_error("--token: longer than 900 bytes%s", "");
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", c.token);
    }
    size_t blen = strlen(c.body);
    size_t cap = blen + strlen(auth) + strlen(c.path) + sizeof c.host + 256;
    char *req = malloc(cap);
    if (!req) return 1;
    int rl = snprintf(req, cap,
                      "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: api_bench\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
                      c.path, c.host, c.port, blen, auth, c.body);

    worker *w = calloc((size_t)c.clients, sizeof *w);
    if (!w) return 1;
    double t0 = now_s();
    g_deadline = t0 + c.seconds;
    for (int i = 0; i < c.clients; i++) {
        w[i].c = &c;
        w[i].req = req;
        w[i].req_len = (size_t)rl;
        if (pthread_create(&w[i].th, NULL, run_worker, &w[i])) {
            fprintf(stderr, "api_bench: cannot start thread %d\n", i);
            return 1;
        }
    }
    for (int i = 0; i < c.clients; i++) pthread_join(w[i].th, NULL);
    double wall = now_s() - t0;
    memset(auth, 0, sizeof auth);

    long long ok = 0, errors = 0, conn_errors = 0;
    size_t n = 0;
    int any_connected = 0;
    for (int i = 0; i < c.clients; i++) {
        ok += w[i].ok;
        errors += w[i].errors;
        conn_errors += w[i].conn_errors;
        n += w[i].nlat;
        any_connected |= w[i].connected_once;
    }
    double *lat = malloc((n ? n : 1) * sizeof *lat);
    if (!lat) return 1;
    size_t k = 0;
    for (int i = 0; i < c.clients; i++) {
        memcpy(lat + k, w[i].lat, w[i].nlat * sizeof *lat);
        k += w[i].nlat;
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += lat[i];
    double rate = ok / (wall > 0 ? wall : 1e-9);
    printf("api_bench: POST %s to %s:%s, %d clients, %lld requests in %.3f s\n", c.path, c.host,
           c.port, c.clients, ok + errors, wall);
    printf("submissions/s  %.1f (201 replies per second)\n", rate);
    if (n)
        printf("latency        p50 %.3f ms  p99 %.3f ms  mean %.3f ms  max %.3f ms\n",
               1e3 * pct(lat, n, 50), 1e3 * pct(lat, n, 99), 1e3 * sum / (double)n,
               1e3 * lat[n - 1]);
    printf("errors         %lld\n", errors);
    /* merge the per-thread status counts */
    for (int i = 0; i < c.clients; i++)
        for (int s = 0; s < MAX_STATUS && w[i].status[s]; s++) {
            int st = w[i].status[s];
            long long cnt = 0;
            int first = 1;
            for (int j = 0; j < c.clients; j++)
                for (int q = 0; q < MAX_STATUS && w[j].status[q]; q++)
                    if (w[j].status[q] == st) {
                        if (j < i || (j == i && q < s)) first = 0;
                        cnt += w[j].status_n[q];
                    }
            if (first)
                printf("  HTTP %d: %lld (first reply: %s)\n", st, cnt,
                       w[i].first_body[s][0] ? w[i].first_body[s] : "(empty)");
        }
    if (conn_errors) {
        for (int i = 0; i < c.clients; i++)
            if (w[i].conn_msg[0]) {
                printf("  connection errors: %lld (e.g. %s)\n", conn_errors, w[i].conn_msg);
                break;
            }
    }
    printf("RESULT ok=%lld errors=%lld seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f\n",
           ok, errors, wall, rate, n ? 1e3 * pct(lat, n, 50) : NAN, n ? 1e3 * pct(lat, n, 99) : NAN,
           n ? 1e3 * lat[n - 1] : NAN);
    for (int i = 0; i < c.clients; i++) free(w[i].lat);
    free(w);
    free(lat);
    free(req);
    if (!any_connected) {
        fprintf(stderr, "api_bench: cannot connect to %s:%s\n", c.host, c.port);
        return 3;
    }
    return errors ? 1 : 0;
}
