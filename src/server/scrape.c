/* src/server/scrape.c - the scraper: one thread, off the state thread, that
 * reads the Prometheus endpoints of the services whose load source is
 * `scrape` and hands samples to the state thread (which takes them at its
 * next loop, svc_scraper_take).
 *
 * Each target is fetched every interval_s with libcurl: connect within 2 s,
 * the whole transfer within min(interval, 5 s), at most 4 MiB, no
 * redirects. The request metric is read as a gauge (requests/s) or, when it
 * is a counter, turned into a rate between two scrapes:
 *     rate = (v1 - v0) / (t1 - t0)
 * so the first scrape of a counter gives no sample, and a counter that went
 * down (the process restarted) gives none either (the next one does). The
 * queue metric is a gauge (0 when none is named). A failed scrape posts its
 * reason instead of a sample; the state thread shows it and, after the
 * signal timeout, treats the signal as stale.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "allot/err.h"
#include "services_int.h"

#define SCRAPE_BODY_MAX (4u << 20)

typedef struct target {
    char name[SVC_NAME_MAX + 1];
    char url[SVC_URL_MAX], rps[SVC_METRIC_MAX], queue[SVC_METRIC_MAX];
    double interval, next; /* monotonic */
    unsigned gen;          /* bumped when replaced: a scrape in flight is dropped */
    int has_prev;
    double prev_v, prev_t;
} target;

struct svc_scraper {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
    target *t;
    size_t nt, ct;
    svc_scraped *out;
    size_t nout, cout;
    unsigned gen;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct body {
    char *p;
    size_t n, cap;
    int over;
} body;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    body *b = arg;
    size_t n = size * nmemb;
    if (b->n + n > SCRAPE_BODY_MAX) {
        b->over = 1;
        return 0;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
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

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    svc_scraper *sc = arg;
    return __atomic_load_n(&sc->stop, __ATOMIC_RELAXED) ? 1 : 0; /* abort at once on stop */
}

static void push(svc_scraper *sc, const svc_scraped *s)
{
    if (sc->nout + 1 > sc->cout) {
        size_t cap = sc->cout ? sc->cout * 2 : 16;
        svc_scraped *v = realloc(sc->out, cap * sizeof *v);
        if (!v) return;
        sc->out = v;
        sc->cout = cap;
    }
    sc->out[sc->nout++] = *s;
}

static target *find(svc_scraper *sc, const char *name)
{
    for (size_t i = 0; i < sc->nt; i++)
        if (strcmp(sc->t[i].name, name) == 0) return &sc->t[i];
    return NULL;
}

/* One scrape of a copy of the target; the result is merged under the lock. */
static void scrape_one(svc_scraper *sc, CURL *h, target *tg)
{
    svc_scraped s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", tg->name);
    body b = {0};
    double timeout = tg->interval < 5 ? tg->interval : 5;
    if (timeout < 0.5) timeout = 0.5;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, tg->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, sc);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "allot-scraper");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    s.t = wall();
    double rps = 0, queue = 0;
    int counter = 0, qc = 0, have_rps = 0;
    if (b.over) {
        snprintf(s.err, sizeof s.err, "%.100s: the reply is over %u bytes", tg->url,
                 SCRAPE_BODY_MAX);
    } else if (cc != CURLE_OK) {
        snprintf(s.err, sizeof s.err, "%.100s: %s", tg->url, curl_easy_strerror(cc));
    } else if (status != 200) {
        snprintf(s.err, sizeof s.err, "%.100s: HTTP %ld", tg->url, status);
    } else {
        char e[200];
        const char *txt = b.p ? b.p : "";
        int rc = svc_prom_read(txt, b.n, tg->rps, &rps, &counter, e, sizeof e);
        if (rc == 0 && tg->queue[0])
            rc = svc_prom_read(txt, b.n, tg->queue, &queue, &qc, e, sizeof e);
        if (rc)
            snprintf(s.err, sizeof s.err, "%.80s: %.110s", tg->url, e);
        else
            have_rps = 1;
    }
    free(b.p);
    pthread_mutex_lock(&sc->mu);
    target *live = find(sc, tg->name);
    if (live && live->gen == tg->gen) {
        if (have_rps && counter) {
            double v = rps;
            if (live->has_prev && v >= live->prev_v && s.t > live->prev_t) {
                s.rps = (v - live->prev_v) / (s.t - live->prev_t);
                s.queue = queue;
                s.ok = 1;
            }
            live->has_prev = 1;
            live->prev_v = v;
            live->prev_t = s.t;
        } else if (have_rps) {
            s.rps = rps;
            s.queue = queue;
            s.ok = 1;
        }
        if (s.ok || s.err[0]) push(sc, &s);
    }
    pthread_mutex_unlock(&sc->mu);
}

static void *run(void *arg)
{
    svc_scraper *sc = arg;
    CURL *h = curl_easy_init();
    pthread_mutex_lock(&sc->mu);
    while (!sc->stop) {
        double now = mono(), due = now + 1;
        target *next = NULL;
        for (size_t i = 0; i < sc->nt; i++)
            if (sc->t[i].next < due) {
                due = sc->t[i].next;
                next = &sc->t[i];
            }
        if (!next || due > now) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait = (next ? due : now + 1) - now;
            if (wait > 1) wait = 1;
            long ns = ts.tv_nsec + (long)(wait * 1e9);
            ts.tv_sec += ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
            continue;
        }
        next->next = now + next->interval;
        target copy = *next;
        pthread_mutex_unlock(&sc->mu);
        if (h) scrape_one(sc, h, &copy);
        pthread_mutex_lock(&sc->mu);
    }
    pthread_mutex_unlock(&sc->mu);
    if (h) curl_easy_cleanup(h);
    return NULL;
}

int svc_scraper_new(svc_scraper **out)
{
    svc_scraper *sc = calloc(1, sizeof *sc);
    if (!sc) return ALLOT_ENOMEM;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(sc);
        return ALLOT_EIO;
    }
    pthread_mutex_init(&sc->mu, NULL);
    pthread_cond_init(&sc->cv, NULL);
    if (pthread_create(&sc->th, NULL, run, sc)) {
        pthread_mutex_destroy(&sc->mu);
        pthread_cond_destroy(&sc->cv);
        curl_global_cleanup();
        free(sc);
        return ALLOT_ENOMEM;
    }
    sc->started = 1;
    *out = sc;
    return 0;
}

void svc_scraper_free(svc_scraper *sc)
{
    if (!sc) return;
    pthread_mutex_lock(&sc->mu);
    __atomic_store_n(&sc->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
    if (sc->started) pthread_join(sc->th, NULL);
    pthread_mutex_destroy(&sc->mu);
    pthread_cond_destroy(&sc->cv);
    curl_global_cleanup();
    free(sc->t);
    free(sc->out);
    free(sc);
}

void svc_scraper_set(svc_scraper *sc, const char *name, const char *url, const char *rps_metric,
                     const char *queue_metric, double interval_s)
{
    if (!sc) return;
    pthread_mutex_lock(&sc->mu);
    target *t = find(sc, name);
    if (!t) {
        if (sc->nt + 1 > sc->ct) {
            size_t cap = sc->ct ? sc->ct * 2 : 8;
            target *v = realloc(sc->t, cap * sizeof *v);
            if (!v) {
                pthread_mutex_unlock(&sc->mu);
                return;
            }
            sc->t = v;
            sc->ct = cap;
        }
        t = &sc->t[sc->nt++];
    }
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->url, sizeof t->url, "%s", url);
    snprintf(t->rps, sizeof t->rps, "%s", rps_metric);
    snprintf(t->queue, sizeof t->queue, "%s", queue_metric ? queue_metric : "");
    t->interval = interval_s > 0 ? interval_s : 5;
    t->next = mono(); /* at once */
    t->gen = ++sc->gen;
    pthread_cond_signal(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
}

void svc_scraper_remove(svc_scraper *sc, const char *name)
{
    if (!sc) return;
    pthread_mutex_lock(&sc->mu);
    target *t = find(sc, name);
    if (t) *t = sc->t[--sc->nt];
    pthread_mutex_unlock(&sc->mu);
}

size_t svc_scraper_take(svc_scraper *sc, svc_scraped **v)
{
    *v = NULL;
    if (!sc) return 0;
    pthread_mutex_lock(&sc->mu);
    size_t n = sc->nout;
    *v = sc->out;
    sc->out = NULL;
    sc->nout = sc->cout = 0;
    pthread_mutex_unlock(&sc->mu);
    return n;
}
