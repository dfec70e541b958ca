/* src/client/client.c - the API client (libcurl + jansson); see client.h. */
#include "allot/client.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct allot_client {
    CURL *h;
    char *base; /* "http://host:port", no trailing slash */
    char *auth; /* "Authorization: Bearer ..." or NULL */
    double timeout;
};

typedef struct buf {
    char *p;
    size_t n, cap;
} rbuf;

typedef struct hdrs {
    const char *name[2];
    char **value[2];
} hdrs;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    rbuf *b = arg;
    size_t n = size * nmemb;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *arg)
{
    hdrs *h = arg;
    size_t n = size * nitems;
    for (int i = 0; i < 2; i++) {
        if (!h->name[i] || !h->value[i]) continue;
        size_t k = strlen(h->name[i]);
        if (n > k + 1 && strncasecmp(ptr, h->name[i], k) == 0 && ptr[k] == ':') {
            size_t a = k + 1, e = n;
            while (a < e && isspace((unsigned char)ptr[a])) a++;
            while (e > a && isspace((unsigned char)ptr[e - 1])) e--;
            free(*h->value[i]);
            *h->value[i] = strndup(ptr + a, e - a);
        }
    }
    return n;
}

static int curl_ready(void)
{
    static int done;
    if (!done) { /* the CLI and agent are single-threaded at this point */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
        done = 1;
    }
    return 0;
}

allot_client *allot_client_new(const char *server, const char *token)
{
    if (curl_ready()) return NULL;
    allot_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (!server || !*server) server = ALLOT_CLIENT_DEFAULT_SERVER;
    size_t n = strlen(server);
    while (n > 0 && server[n - 1] == '/') n--;
    int has_scheme = strstr(server, "://") != NULL;
    c->base = malloc(n + 8);
    if (c->base) snprintf(c->base, n + 8, "%s%.*s", has_scheme ? "" : "http://", (int)n, server);
    if (token && *token) {
        size_t k = strlen(token) + 32;
        c->auth = malloc(k);
        if (c->auth) snprintf(c->auth, k, "Authorization: Bearer %s", token);
    }
    c->h = curl_easy_init();
    c->timeout = 30;
    if (!c->base || !c->h || (token && *token && !c->auth)) {
        allot_client_free(c);
        return NULL;
    }
    return c;
}

void allot_client_free(allot_client *c)
{
    if (!c) return;
    if (c->h) curl_easy_cleanup(c->h);
    free(c->base);
    if (c->auth) { /* do not leave the token in freed memory */
        memset(c->auth, 0, strlen(c->auth));
        free(c->auth);
    }
    free(c);
}

void allot_client_set_timeout(allot_client *c, double seconds)
{
    if (c && seconds > 0) c->timeout = seconds;
}

static int do_call(allot_client *c, const char *method, const char *path, json_t *body,
                   long *status, rbuf *out, hdrs *h, allot_diag *d)
{
    char *url = malloc(strlen(c->base) + strlen(path) + 1);
    char *text = NULL;
    if (!url) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    strcpy(url, c->base);
    strcat(url, path);
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            free(url);
            return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "cannot encode the request");
        }
    }
    CURL *e = c->h;
    curl_easy_reset(e);
    struct curl_slist *hl = NULL;
    if (c->auth) hl = curl_slist_append(hl, c->auth);
    if (text) hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (text) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (strcmp(method, "GET") == 0) curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    if (h) {
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    const char *ca = getenv("ALLOT_CA_CERT"); /* a private CA for an https server */
    if (ca && *ca) curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(hl);
    free(text);
    int err = 0;
    if (rc != CURLE_OK) {
        err = allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "cannot reach the server at %s: %s", c->base,
                             curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    }
    free(url);
    return err;
}

int allot_client_call(allot_client *c, const char *method, const char *path, json_t *body,
                      long *status, json_t **reply, allot_diag *d)
{
    rbuf b = {0};
    *reply = NULL;
    *status = 0;
    int rc = do_call(c, method, path, body, status, &b, NULL, d);
    if (rc == 0 && b.n > 0) *reply = json_loadb(b.p, b.n, 0, NULL);
    free(b.p);
    return rc;
}

int allot_client_call_raw(allot_client *c, const char *method, const char *path, json_t *body,
                          long *status, char **out, size_t *out_len, const char *hdr_name,
                          char **hdr_value, const char *hdr2_name, char **hdr2_value, allot_diag *d)
{
    rbuf b = {0};
    hdrs h = {{hdr_name, hdr2_name}, {hdr_value, hdr2_value}};
    if (hdr_value) *hdr_value = NULL;
    if (hdr2_value) *hdr2_value = NULL;
    *status = 0;
    int rc = do_call(c, method, path, body, status, &b, &h, d);
    if (rc == 0 && !b.p) b.p = calloc(1, 1);
    if (rc == 0 && !b.p) rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    if (rc) {
        free(b.p);
        *out = NULL;
        *out_len = 0;
        return rc;
    }
    *out = b.p;
    *out_len = b.n;
    return 0;
}

const char *allot_client_error_text(long status, const json_t *reply, char *buf, size_t len)
{
    const json_t *e = json_object_get(reply, "error");
    const char *m = json_string_value(json_object_get(e, "message"));
    if (m)
        snprintf(buf, len, "%s", m);
    else
        snprintf(buf, len, "HTTP %ld from the server", status);
    return buf;
}

const char *allot_client_escape(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (len == 0) return buf;
    for (; *s && o + 1 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-_.~", ch)) {
            buf[o++] = (char)ch;
        } else {
            if (o + 4 > len) break;
            buf[o++] = '%';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        }
    }
    buf[o] = 0;
    return buf;
}
