/* server_scale.c - the control plane at fleet scale, in one process: an
 * allot server (real HTTP on loopback, real SQLite with fsync) is started in
 * process; 10,000 nodes register, 100,000 jobs are submitted by 16
 * keep-alive clients, most of which stay pending; then it prints the
 * server's memory (RSS growth of the process: the clients' share is a few
 * MiB), the submission rate, the submit-to-start latency on an idle fleet
 * and the cost of a listing.
 *
 *   server_scale [--nodes N] [--jobs M] [--clients C] [--data DIR]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "allot/agent.h"
#include "allot/client.h"
#include "allot/server.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) v = atol(line + 6);
    if (f) fclose(f);
    return v;
}

typedef struct conn {
    int fd;
    char buf[1 << 16];
} conn;

static int conn_open(conn *c, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&a, sizeof a);
}

/* One request on a keep-alive connection; returns the status (body
 * discarded unless out). */
static int conn_req(conn *c, const char *method, const char *path, const char *body, char **out)
{
    char req[2048];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, bl, body ? body : "");
    if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    size_t len = 0;
    long clen = -1;
    char *hdr_end = NULL;
    char *big = NULL;
    size_t bigcap = 0;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + len, sizeof c->buf - len - 1, 0);
        if (r <= 0) return -1;
        len += (size_t)r;
        c->buf[len] = 0;
        hdr_end = strstr(c->buf, "\r\n\r\n");
        if (hdr_end) break;
        if (len >= sizeof c->buf - 1) return -1;
    }
    char *cl = NULL;
    for (char *q = c->buf; q < hdr_end && !cl; q++)
        if (strncasecmp(q, "\r\nContent-Length:", 17) == 0) cl = q + 2;
    if (cl && cl < hdr_end) clen = atol(cl + 15);
    int status = atoi(c->buf + 9);
    size_t have = len - (size_t)(hdr_end + 4 - c->buf);
    if (clen < 0) return -1;
    if (out) {
        bigcap = (size_t)clen + 1;
        big = malloc(bigcap);
        memcpy(big, hdr_end + 4, have);
    }
    while ((long)have < clen) {
        char tmp[1 << 16];
        size_t want = (size_t)clen - have;
        ssize_t r = recv(c->fd, tmp, want < sizeof tmp ? want : sizeof tmp, 0);
        if (r <= 0) {
            free(big);
            return -1;
        }
        if (big) memcpy(big + have, tmp, (size_t)r);
        have += (size_t)r;
    }
    if (out) {
        big[clen] = 0;
        *out = big;
    }
    return status;
}

typedef struct worker {
    int port, n, errors;
    const char *body;
    double *lat;
} worker;

static void *submit_loop(void *arg)
{
    worker *w = arg;
    conn *c = malloc(sizeof *c);
    if (conn_open(c, w->port)) {
        w->errors = w->n;
        free(c);
        return NULL;
    }
    for (int i = 0; i < w->n; i++) {
        double t0 = now();
        int st = conn_req(c, "POST", "/v1/jobs", w->body, NULL);
        w->lat[i] = now() - t0;
        if (st != 201) w->errors++;
    }
    close(c->fd);
    free(c);
    return NULL;
}

typedef struct agent_thread {
    allot_agent_config cfg;
    volatile int stop;
    pthread_t th;
} agent_thread;

static void *agent_main(void *arg)
{
    agent_thread *a = arg;
    allot_diag d = {0};
    if (allot_agent_run(&a->cfg, &a->stop, &d)) fprintf(stderr, "agent: %s\n", d.msg);
    return NULL;
}

static double json_num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int nodes = 10000, jobs = 100000, clients = 16;
    const char *data = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--nodes") == 0)
            nodes = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--jobs") == 0)
            jobs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--clients") == 0)
            clients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else {
            fprintf(stderr,
                    "usage: server_scale [--nodes N] [--jobs M] [--clients C] [--data DIR]\n");
            return 2;
        }
    }
    char dir[] = "/var/tmp/allot-scale.XXXXXX";
    if (!data) {
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        data = dir;
    }
    long rss0 = rss_kib();
    allot_server_config cfg;
    allot_server_config_init(&cfg);
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:0");
    snprintf(cfg.data, sizeof cfg.data, "%s", data);
    cfg.quiet = 1;
    cfg.node_timeout = 3600; /* the nodes here register once and never poll */
    cfg.heartbeat_interval = 60;
    allot_server *srv;
    allot_diag d = {0};
    if (allot_server_start(&srv, &cfg, &d)) {
        fprintf(stderr, "server_scale: %s\n", d.msg);
        return 1;
    }
    int port = allot_server_port(srv);
    conn *c = malloc(sizeof *c);
    if (conn_open(c, port)) {
        perror("connect");
        return 1;
    }
    /* 0. submit-to-launch on an idle node run by a real agent (an agent thread
     * in this process: posix_spawn of the task, its "started" event) */
    static agent_thread ag;
    allot_agent_config_init(&ag.cfg);
    char url[64], wd[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(wd, sizeof wd, "%s/agent", data);
    mkdir(wd, 0755);
    allot_inventory_flags fl = {8, "H100", 8000, 65536};
    if (allot_inventory_discover(&ag.cfg.inv, &fl, &d)) {
        fprintf(stderr, "server_scale: %s\n", d.msg);
        return 1;
    }
    ag.cfg.server = url;
    ag.cfg.name = "real-0";
    ag.cfg.work_dir = wd;
    ag.cfg.poll_wait = 1;
    allot_client_free(allot_client_new(url, NULL)); /* libcurl set-up before threads */
    pthread_create(&ag.th, NULL, agent_main, &ag);
    int nl0 = 200;
    double *l0 = calloc((size_t)nl0, sizeof *l0);
    for (int tries = 0; tries < 100; tries++) { /* the agent registers */
        char *o = NULL;
        int st0 = conn_req(c, "GET", "/v1/nodes/real-0", NULL, &o);
        free(o);
        if (st0 == 200) break;
        usleep(20000);
    }
    for (int i = 0; i < nl0; i++) {
        char *o = NULL;
        if (conn_req(c, "POST", "/v1/jobs",
                     "{\"command\":[\"true\"],\"devices\":1,\"chip\":\"H100\"}", &o) != 201) {
            fprintf(stderr, "server_scale: submit failed: %s\n", o ? o : "");
            return 1;
        }
        json_t *j = json_loads(o, 0, NULL);
        free(o);
        char path[64];
        snprintf(path, sizeof path, "/v1/jobs/%lld",
                 (long long)json_integer_value(json_object_get(j, "id")));
        json_decref(j);
        for (;;) { /* until it ended: the fleet is idle again for the next one */
            o = NULL;
            conn_req(c, "GET", path, NULL, &o);
            j = json_loads(o ? o : "{}", 0, NULL);
            free(o);
            const char *stt = json_string_value(json_object_get(j, "state"));
            if (stt && strcmp(stt, "running") && strcmp(stt, "pending")) {
                l0[i] = json_num(j, "launch_time") - json_num(j, "submit_time");
                json_decref(j);
                break;
            }
            json_decref(j);
            usleep(2000);
        }
    }
    ag.stop = 1;
    pthread_join(ag.th, NULL);
    qsort(l0, (size_t)nl0, sizeof *l0, cmp_d);
    double l0_mean = 0;
    for (int i = 0; i < nl0; i++) l0_mean += l0[i] / nl0;
    printf("submit-to-launch on an idle node (real agent, posix_spawn, %d jobs one after another): "
           "mean %.1f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 <= 50 ms)\n",
           nl0, l0_mean * 1e3, l0[nl0 / 2] * 1e3, l0[nl0 * 99 / 100] * 1e3, l0[nl0 - 1] * 1e3);
    free(l0);
    /* 1. the fleet: nodes register one by one */
    double t0 = now();
    char body[512];
    for (int i = 0; i < nodes; i++) {
        snprintf(
            body, sizeof body,
            "{\"name\":\"n%05d\",\"chip\":\"H100\",\"devices\":8,\"cpu\":128000,\"mem\":1048576,"
            "\"zone\":\"z%d\",\"block\":\"b%d\",\"rack\":\"r%d\",\"simulated\":true}",
            i, i / 2000, i / 400, i / 20);
        if (conn_req(c, "POST", "/v1/nodes", body, NULL) != 200) {
            fprintf(stderr, "server_scale: node registration failed\n");
            return 1;
        }
    }
    double t_reg = now() - t0;
    /* 2. 16 clients fill the fleet and the queue: 8-device jobs, so that
     * `nodes` of them run and the rest wait */
    int per = jobs / clients;
    worker *w = calloc((size_t)clients, sizeof *w);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    double *lat = calloc((size_t)per * clients, sizeof *lat);
    const char *jb = "{\"command\":[\"sleep\",\"100000\"],\"devices\":8}";
    t0 = now();
    for (int i = 0; i < clients; i++) {
        w[i] = (worker){port, per, 0, jb, lat + (size_t)i * per};
        pthread_create(&th[i], NULL, submit_loop, &w[i]);
    }
    int errors = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        errors += w[i].errors;
    }
    double t_sub = now() - t0;
    qsort(lat, (size_t)per * clients, sizeof *lat, cmp_d);
    size_t nl = (size_t)per * clients;
    long rss1 = rss_kib();
    /* 3. listing cost */
    char *out = NULL;
    t0 = now();
    int st = conn_req(c, "GET", "/v1/jobs?state=pending&limit=100000", NULL, &out);
    double t_list = now() - t0;
    size_t list_bytes = out ? strlen(out) : 0;
    free(out);
    printf("server at scale (in-process server, loopback HTTP, SQLite WAL with fsync in %s):\n",
           data);
    printf("  %d nodes registered one by one in %.2f s (%.0f/s)\n", nodes, t_reg, nodes / t_reg);
    printf("  %zu submissions by %d keep-alive clients in %.2f s = %.0f durable submissions/s "
           "(p50 %.2f ms, p99 %.2f ms), %d errors\n",
           nl, clients, t_sub, nl / t_sub, lat[nl / 2] * 1e3, lat[nl * 99 / 100] * 1e3, errors);
    printf("  %d running (8 devices each), %zu pending\n", nodes < (int)nl ? nodes : (int)nl,
           nl > (size_t)nodes ? nl - (size_t)nodes : 0);
    printf("  memory: RSS %.1f MiB -> %.1f MiB (growth %.1f MiB, target <= 1024 MiB)\n",
           rss0 / 1024.0, rss1 / 1024.0, (rss1 - rss0) / 1024.0);
    printf("  GET /v1/jobs?state=pending (all pending jobs): HTTP %d, %.1f MiB in %.2f s\n", st,
           list_bytes / 1048576.0, t_list);
    close(c->fd);
    free(c);
    free(w);
    free(th);
    free(lat);
    allot_server_stop(srv);
    if (data == dir) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd)) return 1;
    }
    return errors ? 1 : 0;
}
