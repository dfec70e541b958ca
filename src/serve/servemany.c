/* servemany.c - many serving runs on several threads (serve.h,
 * allot_serve_run_many).
 *
 * The jobs are independent: each runs allot_serve_run_demand on its own
 * service and demand. Threads take the next job from an atomic counter, so
 * which thread runs a job varies from run to run, but nothing a job computes
 * depends on it: the only shared state is the cached latency tables (one
 * per slots value), whose entries are a function of (slots, replicas) alone
 * and are built under the table's lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "allot/serve.h"

#define MANY_MAX_THREADS 256

typedef struct many_ctx {
    allot_serve_job *jobs;
    size_t n;
    atomic_size_t next;
    allot_latency_table **lt; /* per job: the shared table, or NULL */
} many_ctx;

static void *worker(void *p)
{
    many_ctx *c = p;
    for (;;) {
        size_t i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n) break;
        allot_serve_job *j = &c->jobs[i];
        allot_serve_config cfg = j->cfg;
        if (!cfg.latency && !cfg.exact_latency) cfg.latency = c->lt[i];
        memset(&j->diag, 0, sizeof j->diag);
        j->rc = allot_serve_run_demand(j->service, j->demand, &cfg, &j->result, &j->diag);
    }
    return NULL;
}

int allot_serve_run_many(allot_serve_job *jobs, size_t n, int threads)
{
    if (n == 0) return 0;
    if (!jobs) return ALLOT_EINVAL;
    many_ctx c;
    c.jobs = jobs;
    c.n = n;
    atomic_init(&c.next, 0);
    c.lt = calloc(n, sizeof *c.lt);
    allot_latency_table **tabs = calloc(n, sizeof *tabs);
    int *tslots = calloc(n, sizeof *tslots), *tmax = calloc(n, sizeof *tmax);
    int rc = 0;
    if (!c.lt || !tabs || !tslots || !tmax) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    /* one table per slots value, large enough for every service using it */
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const allot_service *s = jobs[i].service;
        if (!s || jobs[i].cfg.latency || jobs[i].cfg.exact_latency || s->slots < 1 ||
            s->max_replicas < 1)
            continue;
        size_t k = 0;
        while (k < nt && tslots[k] != s->slots) k++;
        if (k == nt) tslots[nt++] = s->slots;
        if (s->max_replicas > tmax[k]) tmax[k] = s->max_replicas;
    }
    for (size_t k = 0; k < nt; k++)
        if (allot_latency_table_new(&tabs[k], tslots[k], tmax[k]) != 0) tabs[k] = NULL;
    for (size_t i = 0; i < n; i++) {
        const allot_service *s = jobs[i].service;
        for (size_t k = 0; s && k < nt; k++)
            if (tslots[k] == s->slots) c.lt[i] = tabs[k];
    }
    if (threads < 1) threads = 1;
    if (threads > MANY_MAX_THREADS) threads = MANY_MAX_THREADS;
    if ((size_t)threads > n) threads = (int)n;
    pthread_t tid[MANY_MAX_THREADS];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, worker, &c) != 0) break;
        started++;
    }
    worker(&c);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    for (size_t i = 0; i < n && rc == 0; i++) rc = jobs[i].rc;
    for (size_t k = 0; k < nt; k++) allot_latency_table_free(tabs[k]);
out:
    free(c.lt);
    free(tabs);
    free(tslots);
    free(tmax);
    return rc;
}
