/* src/server/services_int.h - inference services in the control plane:
 * what svc_api.c (request codecs, the Prometheus text reader), scrape.c (the
 * scraper thread) and services.c (the services on the state thread) share.
 * Private to src/server; the tests reach the pure functions through it. */
#ifndef ALLOT_SERVICES_INT_H
#define ALLOT_SERVICES_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "allot/serve.h"

#define SVC_NAME_MAX    48   /* a service's name (its replicas are NAME-rK) */
#define SVC_REPLICA_MAX 4096 /* max_replicas */
#define SVC_URL_MAX     1024
#define SVC_METRIC_MAX  256
#define SVC_ENV_MAX     60 /* the replica adds ALLOT_SERVICE, ALLOT_REPLICA, ... */

/* Default request of the latency model when a service gives token rates
 * but no "request": 1000 prompt and 100 generated tokens (an assumption;
 * docs/API.md). */
#define SVC_DEFAULT_IN_TOKENS  1000
#define SVC_DEFAULT_OUT_TOKENS 100
#define SVC_DEFAULT_PRIORITY   1000

/* A validated service (POST /v1/services body, or a stored one). */
typedef struct svc_spec {
    json_t *doc;                       /* normalised body: every field, defaults filled in */
    json_t *job;                       /* the replica's job fields: command, env, workdir,
                                          devices, milli, cpu, mem (srv_spec_parse accepts it) */
    allot_service m;                   /* the serving model: name, devices, slots, bounds, SLO,
                                          drain, chips (capacity and cold start per chip) */
    int kind;                          /* ALLOT_REQ_LLM (token rates) or ALLOT_REQ_EXEC (rps) */
    double in_tok, out_tok;            /* LLM: the mean request */
    double rps[ALLOT_SERVE_MAX_CHIPS]; /* EXEC: requests/s per replica, per chip */
    char tenant[64];                   /* "" = the token's, else "default" */
    int policy;                        /* allot_autoscaler */
    int priority;                      /* the replicas' */
    int milli;
    int64_t cpu, mem; /* per replica */
    int scrape;       /* load source: 0 push, 1 scrape */
    char url[SVC_URL_MAX];
    char rps_metric[SVC_METRIC_MAX], queue_metric[SVC_METRIC_MAX];
    double interval_s;       /* scrape interval */
    double signal_timeout_s; /* 0 = the server's rule */
} svc_spec;

/* Parses and checks a service body; returns 0, or -1 with "field: what is
 * wrong" in err. On success out->doc and out->job are new references. The
 * checks here need no fleet (types, ranges, allot_service_check with the
 * SLO against the model's minimum latency); fit is checked on the state
 * thread. */
int svc_spec_parse(json_t *body, svc_spec *out, char *err, size_t errlen);
void svc_spec_free(svc_spec *s);
/* A request's own service time on chip k of the spec, s. */
double svc_spec_es(const svc_spec *s, size_t k);

/* PATCH body: min_replicas, max_replicas, policy (each optional). Fills the
 * given ones (-1 / -1 / -1 when absent); -1 with a message in err. */
int svc_patch_parse(json_t *body, int *min, int *max, int *policy, char *err, size_t errlen);

/* A load sample (POST /v1/services/NAME/load). */
typedef struct svc_load {
    double rps;   /* requests/s arriving */
    double queue; /* requests waiting for a slot */
    double es;    /* mean service time, s (0: the model's) */
    int nready;   /* -1: no "ready" list */
    int ready[64];
} svc_load;
int svc_load_parse(json_t *body, svc_load *out, char *err, size_t errlen);

/* ---- the Prometheus text format (0.0.4) ---- */

/* Is sel a valid selector: NAME or NAME{label="value",...}? */
int svc_prom_selector_ok(const char *sel);
/* Sums the samples of text whose name is the selector's and whose labels
 * include every label of the selector. *counter is 1 when the metric is a
 * counter (its # TYPE says so, or, without a TYPE line, its name ends in
 * _total). Returns 0, ALLOT_ENOENT when no sample matches, ALLOT_EPARSE
 * (line number in err) for a malformed line, ALLOT_EINVAL for a bad
 * selector. Comments, HELP and blank lines are skipped; NaN samples too. */
int svc_prom_read(const char *text, size_t len, const char *sel, double *sum, int *counter,
                  char *err, size_t errlen);

/* ---- the scraper thread (scrape.c) ---- */

typedef struct svc_scraped {
    char name[SVC_NAME_MAX + 1];
    double t; /* wall clock of the scrape */
    int ok;   /* 1: rps and queue are set; 0: err says why */
    double rps, queue;
    char err[200];
} svc_scraped;

typedef struct svc_scraper svc_scraper;
int svc_scraper_new(svc_scraper **out);
void svc_scraper_free(svc_scraper *sc); /* stops the thread; accepts NULL */
/* Adds or replaces the target of service name. */
void svc_scraper_set(svc_scraper *sc, const char *name, const char *url, const char *rps_metric,
                     const char *queue_metric, double interval_s);
void svc_scraper_remove(svc_scraper *sc, const char *name);
/* Takes the samples gathered since the last call (caller frees *v). */
size_t svc_scraper_take(svc_scraper *sc, svc_scraped **v);

#endif
