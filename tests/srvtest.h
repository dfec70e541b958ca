/* tests/srvtest.h - an allot server in-process for the tests, spoken to over
 * loopback with raw HTTP/1.1 (test_server, test_services, test_ui): the
 * fixture, a default configuration with an admin, an agent and two tenant
 * tokens, and one-request helpers. Include after testutil.h. */
#ifndef ALLOT_TESTS_SRVTEST_H
#define ALLOT_TESTS_SRVTEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <jansson.h>

#include "allot/server.h"

#define ADMIN "admin-token-0123456789"
#define AGENT "agent-token-0123456789"
#define TOK_A "tenant-a-token-0123456789"
#define TOK_B "tenant-b-token-0123456789"

typedef struct fx {
    char dir[64];
    allot_server *srv;
    int port;
    allot_server_config cfg;
} fx;

/* A new fixture: a fresh directory /tmp/allot-PREFIX-XXXXXX (the state
 * directory) and the default configuration: loopback on any port, the
 * tokens above, tenants a and b, two simulated nodes of 4 devices. */
static inline fx *srvtest_new(const char *prefix)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/allot-%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(f->dir));
    allot_server_config_init(&f->cfg);
    snprintf(f->cfg.listen, sizeof f->cfg.listen, "127.0.0.1:0");
    snprintf(f->cfg.data, sizeof f->cfg.data, "%s", f->dir);
    snprintf(f->cfg.admin_token, sizeof f->cfg.admin_token, ADMIN);
    snprintf(f->cfg.agent_token, sizeof f->cfg.agent_token, AGENT);
    f->cfg.quiet = 1;
    f->cfg.ntenants = 2;
    allot_server_tenant *a = &f->cfg.tenants[0], *b = &f->cfg.tenants[1];
    memset(a, 0, 2 * sizeof *a);
    snprintf(a->name, sizeof a->name, "a");
    snprintf(a->token, sizeof a->token, TOK_A);
    a->weight = 1;
    a->borrow_limit = -1;
    snprintf(b->name, sizeof b->name, "b");
    snprintf(b->token, sizeof b->token, TOK_B);
    b->weight = 1;
    b->borrow_limit = -1;
    f->cfg.sim_nodes = 2;
    f->cfg.sim_devices = 4;
    return f;
}

static inline void srvtest_start(fx *f)
{
    allot_diag d = {0};
    int rc = allot_server_start(&f->srv, &f->cfg, &d);
    if (rc) fprintf(stderr, "start: %s\n", d.msg);
    assert_int_equal(rc, 0);
    f->port = allot_server_port(f->srv);
    assert_true(f->port > 0);
}

/* cmocka teardown: stops the server, removes the directory. */
static inline int srvtest_teardown(void **state)
{
    fx *f = *state;
    allot_server_stop(f->srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* One request on a fresh connection; returns the status. raw: the whole
 * request when not NULL (method, path, token and body are then unused).
 * The body of the reply in *out, its headers in *hdr (malloc'd; either may
 * be NULL). */
static inline int srvtest_http(fx *f, const char *method, const char *path, const char *token,
                               const char *body, const char *raw, char **out, char **hdr)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct timeval tv = {10, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)f->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    char *req = NULL;
    if (raw) {
        req = strdup(raw);
    } else {
        size_t blen = body ? strlen(body) : 0;
        req = malloc(blen + 1024);
        char auth[300] = "";
        if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
        sprintf(req,
                "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Type: "
                "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                method, path, auth, blen, body ? body : "");
    }
    size_t n = strlen(req), off = 0;
    while (off < n) {
        ssize_t w = send(s, req + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    free(req);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = recv(s, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(s);
    buf[len] = 0;
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    if (out) *out = strdup(b ? b + 4 : "");
    if (hdr) {
        if (b) *b = 0;
        *hdr = strdup(buf);
    }
    free(buf);
    return status;
}

/* A request whose reply must have status want and a JSON body. */
static inline json_t *srvtest_json(fx *f, const char *method, const char *path, const char *token,
                                   const char *body, int want)
{
    char *out = NULL;
    int st = srvtest_http(f, method, path, token, body, NULL, &out, NULL);
    if (st != want) fprintf(stderr, "%s %s -> %d: %.300s\n", method, path, st, out);
    assert_int_equal(st, want);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}

/* Expects the documented error reply (status, code, a message); returns the
 * message (a static copy). */
static inline const char *srvtest_error(fx *f, const char *method, const char *path,
                                        const char *token, const char *body, int want,
                                        const char *code)
{
    static char msg[700];
    json_t *j = srvtest_json(f, method, path, token, body, want);
    json_t *e = json_object_get(j, "error");
    const char *c = json_string_value(json_object_get(e, "code"));
    assert_non_null(c);
    if (strcmp(c, code)) fprintf(stderr, "%s %s: code %s, not %s\n", method, path, c, code);
    assert_string_equal(c, code);
    const char *m = json_string_value(json_object_get(e, "message"));
    assert_non_null(m);
    snprintf(msg, sizeof msg, "%s", m);
    json_decref(j);
    return msg;
}

#endif
