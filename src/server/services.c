/* src/server/services.c - inference services on the state thread: the
 * service table, /v1/services, load samples (pushed, or scraped by
 * scrape.c), the autoscaling step, replicas as jobs, persistence and
 * /metrics. docs/API.md ("Services") is the contract.
 *
 * A service is a replica shape (a job's command and devices), bounds, an
 * SLO and a capacity model (allot_service, serve.h). Its replicas are
 * ordinary jobs of the service's tenant, tagged with the service and their
 * index, not preemptible and of high priority (1000 by default), so the
 * core places them like any job and, under a policy with preemption, stops
 * preemptible training jobs of lower priority to make room: that is how
 * serving takes devices back from training. Agents launch them with
 * ALLOT_SERVICE and ALLOT_REPLICA in their environment.
 *
 * Every service_step seconds (2 s) each service's autoscaler (serve.h's
 * allot_scaler) sees an observation built from the latest load sample and
 * the replicas' states, and answers the replicas wanted:
 *   - ready: running for the chip's cold start (or reported ready);
 *     starting: placed but not ready yet, or pending (waiting for devices);
 *     draining: scaled down, finishing;
 *   - more wanted: new replica jobs at the smallest free indexes;
 *   - fewer: replicas not yet serving are cancelled at once (newest
 *     first), then ready ones drain, newest first: SIGTERM, drain_s seconds,
 *     SIGKILL (the agent's grace for that kill), their devices held until
 *     they end;
 *   - a replica that ends on its own is replaced (after 1, 2, 4 ... 60 s
 *     when replicas keep ending within a minute of their start).
 *
 * The load-signal rule. A sample older than the signal timeout (the
 * service's signal_timeout_s, else the larger of the server's
 * service_signal_timeout, 30 s, and 3 x the interval between samples) makes
 * the signal `stale`: the autoscaler is fed the last known load, never
 * zeros, and its answer is only taken upwards: replicas are held, never
 * scaled down, until samples return. A service that has never had a sample
 * (`none`) stays at min_replicas. After a restart a service that had
 * samples before is stale until the next one arrives (held at the count it
 * wanted). The bounds always apply: lowering max_replicas scales down even
 * while stale.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allot/serve.h"
#include "allot/store.h"
#include "services_int.h"
#include "state_int.h"

#define SVC_MAX          1024 /* services per server */
#define SVC_DRAIN_MARGIN 10.0 /* s after a drain before a silent replica is ended */
#define SVC_BACKOFF_MAX  60.0
#define SVC_FAST_FAIL    60.0 /* a replica ending within this of its start counts as a failure */
#define SVC_SIM_DURATION "315360000" /* simulated replicas run for 10 years */

enum { SIG_NONE = 0, SIG_OK, SIG_STALE };
static const char *const sig_names[] = {"none", "ok", "stale"};
enum { R_PENDING = 0, R_STARTING, R_READY, R_DRAINING, R_GONE };
static const char *const rep_names[] = {"pending", "starting", "ready", "draining", "gone"};

typedef struct svc_rep {
    uint32_t job;
    int index;
    int draining;     /* stopped by the service (scaled down, deleted): drains or has ended */
    double drain_end; /* wall s */
    int ready_reported;
} svc_rep;

typedef struct srv_service {
    svc_spec sp; /* sp.m is the model the scaler reads (it must not move) */
    char tenant[64];
    int deleting;
    int want;
    size_t chip; /* the chip of sp.m the autoscaler sizes replicas with */
    allot_scaler *scaler;
    double created, t0;
    /* load */
    int has_sample, had_sample;
    double last_t, rps, queue, es; /* the latest sample (es 0: the model's) */
    double interval;               /* between samples, EWMA, s */
    char load_err[200];
    int stale_said;
    /* replicas */
    svc_rep *reps;
    size_t nreps, creps;
    double restart_at;
    int fail_streak;
    char msg[300];
    uint64_t ups, downs, replaced;
    int dirty;
} srv_service;

struct srv_svcs {
    srv_service **v; /* by name */
    size_t n, cap;
    svc_scraper *scraper;
    double last_step;
    char (*gone)[SVC_NAME_MAX + 1]; /* deleted: to drop from the store */
    size_t ngone, cgone;
};

/* ---- the table --------------------------------------------------------------------------------
 */

static srv_service *svc_find(srv_state *st, const char *name)
{
    struct srv_svcs *S = st->svcs;
    for (size_t i = 0; S && i < S->n; i++)
        if (strcmp(S->v[i]->sp.m.name, name) == 0) return S->v[i];
    return NULL;
}

static void svc_free(srv_service *s)
{
    if (!s) return;
    allot_scaler_free(s->scaler);
    svc_spec_free(&s->sp);
    free(s->reps);
    free(s);
}

static int svc_insert(srv_state *st, srv_service *s)
{
    struct srv_svcs *S = st->svcs;
    if (st_grow((void **)&S->v, &S->cap, S->n + 1, sizeof *S->v)) return ALLOT_ENOMEM;
    size_t i = S->n;
    while (i > 0 && strcmp(S->v[i - 1]->sp.m.name, s->sp.m.name) > 0) {
        S->v[i] = S->v[i - 1];
        i--;
    }
    S->v[i] = s;
    S->n++;
    return 0;
}

static void svc_remove(srv_state *st, srv_service *s)
{
    struct srv_svcs *S = st->svcs;
    size_t i = 0;
    while (i < S->n && S->v[i] != s) i++;
    if (i == S->n) return;
    memmove(&S->v[i], &S->v[i + 1], (S->n - i - 1) * sizeof *S->v);
    S->n--;
    if (st_grow((void **)&S->gone, &S->cgone, S->ngone + 1, sizeof *S->gone) == 0) {
        snprintf(S->gone[S->ngone++], SVC_NAME_MAX + 1, "%.48s", s->sp.m.name);
        st->writes++;
    }
    svc_scraper_remove(S->scraper, s->sp.m.name);
    svc_free(s);
}

static void svc_dirty(srv_state *st, srv_service *s)
{
    s->dirty = 1;
    st->writes++;
}

static void svc_note(srv_service *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void svc_note(srv_service *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
}

/* The first of the service's chip types the fleet has (the autoscaler
 * sizes replicas with its capacity), else the first. */
static size_t pick_chip(srv_state *st, const svc_spec *sp)
{
    for (size_t k = 0; k < sp->m.nchips; k++)
        if (st_chip_index(st, sp->m.chips[k].name) >= 0) return k;
    return 0;
}

/* The fleet's chip ids the service may use. */
static allot_chip_mask chip_mask(srv_state *st, const svc_spec *sp)
{
    allot_chip_mask m = 0;
    for (size_t k = 0; k < sp->m.nchips; k++) {
        int c = st_chip_index(st, sp->m.chips[k].name);
        if (c >= 0 && c < 64) m |= (allot_chip_mask)1 << c;
    }
    return m;
}

static double step_dt(srv_state *st) { return st->cfg.service_step * st->cfg.service_clock_scale; }

static int svc_new_scaler(srv_state *st, srv_service *s)
{
    allot_scaler_free(s->scaler);
    s->scaler = NULL;
    s->chip = pick_chip(st, &s->sp);
    s->t0 = st->now;
    return allot_scaler_new(&s->scaler, s->sp.policy, &s->sp.m, s->chip, step_dt(st));
}

static void svc_watch(srv_state *st, srv_service *s)
{
    if (s->sp.scrape && !s->deleting)
        svc_scraper_set(st->svcs->scraper, s->sp.m.name, s->sp.url, s->sp.rps_metric,
                        s->sp.queue_metric, s->sp.interval_s);
    else
        svc_scraper_remove(st->svcs->scraper, s->sp.m.name);
}

/* ---- the signal -------------------------------------------------------------------------------
 */

static double svc_timeout(srv_state *st, const srv_service *s)
{
    if (s->sp.signal_timeout_s > 0) return s->sp.signal_timeout_s;
    double every = s->sp.scrape ? s->sp.interval_s : s->interval;
    double t = st->cfg.service_signal_timeout;
    return 3 * every > t ? 3 * every : t;
}

static int svc_signal(srv_state *st, const srv_service *s)
{
    if (!s->has_sample) return s->had_sample ? SIG_STALE : SIG_NONE;
    return st->now - s->last_t > svc_timeout(st, s) ? SIG_STALE : SIG_OK;
}

/* ---- replicas ---------------------------------------------------------------------------------
 */

static double rep_cold(srv_state *st, const srv_service *s, const srv_job *j)
{
    if (j->tasks && j->tasks[0].node < st->nnodes) {
        const char *chip = st->nodes[j->tasks[0].node].chip;
        for (size_t k = 0; k < s->sp.m.nchips; k++)
            if (strcasecmp(s->sp.m.chips[k].name, chip) == 0) return s->sp.m.chips[k].cold_start_s;
    }
    return s->sp.m.chips[s->chip].cold_start_s;
}

static int rep_state(srv_state *st, const srv_service *s, const svc_rep *r)
{
    srv_job *j = st_job_get(st, r->job);
    if (!j || j->state > ALLOT_JOB_RUNNING) return R_GONE;
    if (r->draining) return R_DRAINING;
    if (j->state == ALLOT_JOB_PENDING) return R_PENDING;
    if (r->ready_reported) return R_READY;
    if (j->launch_time <= 0) return R_STARTING;
    return st->now - j->launch_time >= rep_cold(st, s, j) ? R_READY : R_STARTING;
}

static void svc_counts(srv_state *st, const srv_service *s, int c[5])
{
    memset(c, 0, 5 * sizeof *c);
    for (size_t i = 0; i < s->nreps; i++) c[rep_state(st, s, &s->reps[i])]++;
}

static void rep_drop(srv_service *s, size_t i)
{
    memmove(&s->reps[i], &s->reps[i + 1], (s->nreps - i - 1) * sizeof *s->reps);
    s->nreps--;
}

/* Ends a replica's job now (cancelled, with why as its reason). */
static void rep_end(srv_state *st, srv_job *j, const char *why)
{
    if (j->state > ALLOT_JOB_RUNNING) return;
    if (j->cid != CID_NONE && st->s) {
        allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = j->cid};
        st_core_event(st, &ev);
    }
    st_job_reason(j, "%s", why);
    st_job_end(st, j, ALLOT_JOB_CANCELLED, "scaled down");
}

/* A new replica job at index idx. Returns 0, or an HTTP-like status with
 * why in err. */
static int rep_create(srv_state *st, srv_service *s, int idx, char *err, size_t errlen)
{
    if (!st->s) {
        snprintf(err, errlen, "no node is registered yet");
        return 422;
    }
    allot_chip_mask mask = chip_mask(st, &s->sp);
    if (!mask) {
        snprintf(err, errlen, "no registered node has any of its chip types");
        return 422;
    }
    json_t *doc = json_deep_copy(s->sp.job);
    char name[64], num[16];
    snprintf(name, sizeof name, "%.48s-r%d", s->sp.m.name, idx);
    snprintf(num, sizeof num, "%d", idx);
    json_object_set_new(doc, "name", json_string(name));
    json_object_set_new(doc, "tenant", json_string(s->tenant));
    json_object_set_new(doc, "priority", json_integer(s->sp.priority));
    json_object_set_new(doc, "preemptible", json_false());
    json_t *env = json_object_get(doc, "env");
    json_object_set_new(env, "ALLOT_SERVICE", json_string(s->sp.m.name));
    json_object_set_new(env, "ALLOT_REPLICA", json_string(num));
    if (!json_object_get(env, "ALLOT_SIM_DURATION")) /* simulated nodes: it runs until stopped */
        json_object_set_new(env, "ALLOT_SIM_DURATION", json_string(SVC_SIM_DURATION));
    if (__builtin_popcountll(mask) == 1)
        json_object_set_new(doc, "chip", json_string(st->chips[__builtin_ctzll(mask)]));
    srv_spec sp;
    int rc = srv_spec_parse(doc, &sp, err, errlen);
    json_decref(doc);
    if (rc) return 400;
    int ti = st_tenant_add(st, s->tenant);
    if (ti < 0) {
        srv_spec_free(&sp);
        snprintf(err, errlen, "more than %d tenants", ALLOT_SERVER_MAX_TENANTS);
        return 400;
    }
    if (st->tenants[ti].dirty && st->ctenants) st->need_rebuild = 1; /* a new tenant */
    srv_job *j = NULL;
    int chip = sp.chip[0] ? st_chip_index(st, sp.chip) : -1;
    rc = st_job_new(st, &sp, ti, chip, 0, &j, err, errlen);
    srv_spec_free(&sp);
    if (rc) return rc;
    j->service = strdup(s->sp.m.name);
    j->replica = idx;
    j->chips = mask;
    uint32_t id = j->id;
    if (!j->service) {
        st_job_reason(j, "out of memory");
        st_job_end(st, j, ALLOT_JOB_FAILED, "failed");
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    if ((rc = st_job_submit(st, j, err, errlen))) return rc;
    if (st_grow((void **)&s->reps, &s->creps, s->nreps + 1, sizeof *s->reps)) {
        srv_job *k = st_job_get(st, id);
        if (k) rep_end(st, k, "out of memory");
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    s->reps[s->nreps++] = (svc_rep){id, idx, 0, 0, 0};
    return 0;
}

static int free_index(const srv_service *s)
{
    for (int idx = 0;; idx++) {
        size_t i = 0;
        while (i < s->nreps && s->reps[i].index != idx) i++;
        if (i == s->nreps) return idx;
    }
}

/* Stops replica i: not yet serving -> cancelled now; serving -> drains. */
static void rep_stop(srv_state *st, srv_service *s, size_t i, int state)
{
    svc_rep *r = &s->reps[i];
    srv_job *j = st_job_get(st, r->job);
    if (!j) return;
    r->draining = 1; /* stopped by the service: no replacement */
    if (state != R_READY || s->sp.m.drain_s <= 0) {
        char why[160];
        snprintf(why, sizeof why, "%s (service %s)",
                 s->deleting ? "service deleted" : "scaled down", s->sp.m.name);
        rep_end(st, j, why);
        return; /* the reconcile pass drops it */
    }
    r->drain_end = st->now + s->sp.m.drain_s;
    j->kill_grace = (float)s->sp.m.drain_s;
    st_job_kill_tasks(st, j, s->deleting ? "service deleted: draining" : "scaled down: draining");
    st_logf_(st, "service %s: replica %d (job %" PRIu32 ") drains for %g s", s->sp.m.name, r->index,
             r->job, s->sp.m.drain_s);
}

int st_svc_task_exit(srv_state *st, srv_job *j, int code, int sig)
{
    srv_service *s = svc_find(st, j->service);
    if (!s) return 0;
    for (size_t i = 0; i < s->nreps; i++) {
        svc_rep *r = &s->reps[i];
        if (r->job != j->id || !r->draining) continue;
        j->has_exit = 1;
        j->exit_code = sig ? 128 + sig : code;
        char why[160];
        snprintf(why, sizeof why, "%s: drained (%s %d)",
                 s->deleting ? "service deleted" : "scaled down", sig ? "signal" : "exit code",
                 sig ? sig : code);
        rep_end(st, j, why);
        rep_drop(s, i);
        return 1;
    }
    return 0;
}

/* ---- the step ---------------------------------------------------------------------------------
 */

/* Drops replicas whose jobs ended; ends drains that are due. */
static void reconcile(srv_state *st, srv_service *s)
{
    for (size_t i = 0; i < s->nreps;) {
        svc_rep *r = &s->reps[i];
        srv_job *j = st_job_get(st, r->job);
        if (!j || j->state > ALLOT_JOB_RUNNING) {
            if (!r->draining && !s->deleting && j && j->state != ALLOT_JOB_CANCELLED) {
                /* it ended on its own: replaced, with a backoff if it keeps doing so */
                double ran = j->launch_time > 0 ? j->end_time - j->launch_time : 0;
                if (ran < SVC_FAST_FAIL) {
                    s->fail_streak++;
                    double wait = ldexp(1, s->fail_streak - 1);
                    s->restart_at = st->now + (wait < SVC_BACKOFF_MAX ? wait : SVC_BACKOFF_MAX);
                }
                svc_note(s, "replica %d (job %" PRIu32 ") %s: %.150s; replaced", r->index, r->job,
                         st_state_name(j->state), j->reason ? j->reason : "exited");
                st_logf_(st, "service %s: %s", s->sp.m.name, s->msg);
                s->replaced++;
            } else if (!r->draining && !s->deleting && j) {
                svc_note(s, "replica %d (job %" PRIu32 ") was cancelled; replaced", r->index,
                         r->job);
                s->replaced++;
            }
            rep_drop(s, i);
            continue;
        }
        if (r->draining) {
            int sim =
                j->tasks && j->tasks[0].node < st->nnodes && st->nodes[j->tasks[0].node].simulated;
            double end = r->drain_end + (sim ? 0 : SVC_DRAIN_MARGIN);
            if (j->state == ALLOT_JOB_PENDING || st->now >= end) {
                rep_end(st, j,
                        j->state == ALLOT_JOB_PENDING ? "scaled down while requeued"
                                                      : "scaled down: drained");
                rep_drop(s, i);
                continue;
            }
        } else if (s->fail_streak && rep_state(st, s, r) == R_READY &&
                   st->now - j->launch_time >= SVC_FAST_FAIL) {
            s->fail_streak = 0; /* one has served for a while: no more backoff */
        }
        i++;
    }
}

static allot_scaler_obs observe(srv_state *st, const srv_service *s, const int c[5])
{
    allot_scaler_obs o;
    memset(&o, 0, sizeof o);
    double es = s->es > 0 ? s->es : svc_spec_es(&s->sp, s->chip);
    int slots = c[R_READY] * s->sp.m.slots;
    o.t = (st->now - s->t0) * st->cfg.service_clock_scale;
    o.dt = step_dt(st);
    o.rps = s->rps;
    o.es = es;
    double busy = s->rps * es; /* in service: Little's law, at most every slot */
    if (busy > slots) busy = slots;
    o.concurrency = busy + s->queue;
    o.backlog_s = s->queue * es;
    if (s->rps <= 0 && s->queue <= 0)
        o.slo_frac = 1;
    else if (slots == 0)
        o.slo_frac = 0;
    else
        o.slo_frac = allot_slo_fraction(s->rps, slots, es, s->sp.m.slo_s - o.backlog_s / slots);
    o.ready = c[R_READY];
    o.starting = c[R_STARTING] + c[R_PENDING];
    return o;
}

/* One autoscaling step of one service; returns 1 when the service is gone
 * (deleted, and its last replica ended). */
static int svc_step(srv_state *st, srv_service *s, int decide)
{
    reconcile(st, s);
    if (s->deleting && s->nreps == 0) return 1;
    int c[5];
    svc_counts(st, s, c);
    int sig = svc_signal(st, s), want = s->want;
    const allot_service *m = &s->sp.m;
    if (s->deleting) {
        want = 0;
    } else if (sig == SIG_NONE) {
        want = m->min_replicas;
    } else if (decide && s->scaler) {
        allot_scaler_obs o = observe(st, s, c);
        int w = allot_scaler_decide(s->scaler, &o);
        want = sig == SIG_STALE && w < s->want ? s->want : w; /* stale: never down */
    }
    if (!s->deleting) {
        if (want < m->min_replicas) want = m->min_replicas;
        if (want > m->max_replicas) want = m->max_replicas;
    }
    if (sig == SIG_STALE && !s->stale_said && !s->deleting) {
        s->stale_said = 1;
        svc_note(s, "no load sample for %.0f s: the signal is stale, %d replicas held",
                 s->has_sample ? st->now - s->last_t : 0.0, want);
        st_logf_(st, "service %s: %s", m->name, s->msg);
    } else if (sig == SIG_OK) {
        s->stale_said = 0;
    }
    if (want != s->want) {
        if (!s->deleting) {
            if (want > s->want)
                s->ups++;
            else
                s->downs++;
            svc_note(s, "scaled %s from %d to %d replicas (load %.3g req/s, queue %.3g%s)",
                     want > s->want ? "up" : "down", s->want, want, s->rps, s->queue,
                     sig == SIG_STALE ? ", signal stale" : "");
            st_logf_(st, "service %s: %s", m->name, s->msg);
        }
        s->want = want;
        svc_dirty(st, s);
    }
    int live = c[R_PENDING] + c[R_STARTING] + c[R_READY];
    if (live < want && st->now >= s->restart_at) {
        for (int k = live; k < want; k++) {
            char err[300];
            int rc = rep_create(st, s, free_index(s), err, sizeof err);
            if (rc) {
                svc_note(s, "cannot start a replica: %.250s", err);
                break;
            }
        }
    }
    /* fewer: not yet serving first, then serving ones; newest (highest job
     * id) first within each */
    static const int order[] = {R_PENDING, R_STARTING, R_READY};
    for (int o = 0; o < 3 && live > want; o++) {
        for (;;) {
            if (live <= want) break;
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < s->nreps; i++)
                if (rep_state(st, s, &s->reps[i]) == order[o] &&
                    (best == SIZE_MAX || s->reps[i].job > s->reps[best].job))
                    best = i;
            if (best == SIZE_MAX) break;
            rep_stop(st, s, best, order[o]);
            live--;
        }
    }
    reconcile(st, s); /* drop the ones cancelled now */
    return s->deleting && s->nreps == 0;
}

void st_svc_tick(srv_state *st)
{
    struct srv_svcs *S = st->svcs;
    if (!S) return;
    svc_scraped *v = NULL;
    size_t n = svc_scraper_take(S->scraper, &v);
    for (size_t i = 0; i < n; i++) {
        srv_service *s = svc_find(st, v[i].name);
        if (!s || s->deleting) continue;
        if (!v[i].ok) {
            snprintf(s->load_err, sizeof s->load_err, "%s", v[i].err);
            continue;
        }
        s->load_err[0] = 0;
        if (s->has_sample && v[i].t > s->last_t) {
            double gap = v[i].t - s->last_t;
            s->interval = s->interval > 0 ? 0.7 * s->interval + 0.3 * gap : gap;
        }
        s->has_sample = 1;
        s->last_t = v[i].t;
        s->rps = v[i].rps;
        s->queue = v[i].queue;
        s->es = 0;
        if (!s->had_sample) {
            s->had_sample = 1;
            svc_dirty(st, s);
        }
    }
    free(v);
    if (st->now - S->last_step < st->cfg.service_step) return;
    S->last_step = st->now;
    for (size_t i = 0; i < S->n;) {
        srv_service *s = S->v[i];
        if (svc_step(st, s, 1)) {
            st_logf_(st, "service %s is deleted", s->sp.m.name);
            svc_remove(st, s);
            continue;
        }
        i++;
    }
}

/* ---- fit against the fleet ---------------------------------------------------------------- */

/* Can the fleet hold a replica at all, and min_replicas of them when empty?
 * 0, or 422 with the numbers in err. */
static int svc_fit(srv_state *st, const svc_spec *sp, int min, char *err, size_t errlen)
{
    const allot_service *m = &sp->m;
    char names[300] = "", largest[400] = "";
    int any = 0, big = 0, cpu_ok = 0, mem_ok = 0;
    int64_t total = 0, max_cpu = 0, max_mem = 0;
    int per_dev = m->devices == 1 && sp->milli < 1000 ? 1000 / sp->milli : 1;
    for (size_t k = 0; k < m->nchips; k++) {
        const char *cn = m->chips[k].name;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", k ? (k + 1 == m->nchips ? " or " : ", ") : "",
                 cn);
        int most = -1;
        for (uint32_t i = 0; i < st->nnodes; i++) {
            const srv_node *n = &st->nodes[i];
            if (!n->ndev || strcasecmp(n->chip, cn) != 0) continue;
            any = 1;
            if (n->ndev > most) most = n->ndev;
            if (n->ndev < m->devices) continue;
            big = 1;
            if (n->cpu > max_cpu) max_cpu = n->cpu;
            if (n->mem > max_mem) max_mem = n->mem;
            if (n->cpu < sp->cpu) continue;
            cpu_ok = 1;
            if (n->mem < sp->mem) continue;
            mem_ok = 1;
            int64_t r = (int64_t)(n->ndev / m->devices) * per_dev;
            if (sp->cpu > 0 && n->cpu / sp->cpu < r) r = n->cpu / sp->cpu;
            if (sp->mem > 0 && n->mem / sp->mem < r) r = n->mem / sp->mem;
            total += r;
        }
        if (most >= 0) {
            l = strlen(largest);
            snprintf(largest + l, sizeof largest - l, "%sthe largest %s node has %d", l ? ", " : "",
                     cn, most);
        }
    }
    if (!any) {
        char have[300] = "";
        for (int i = 0; i < st->nchips; i++) {
            size_t l = strlen(have);
            snprintf(have + l, sizeof have - l, "%s%s", i ? ", " : "", st->chips[i]);
        }
        snprintf(err, errlen, "chips: no registered node has chip type %s (%s%s)", names,
                 have[0] ? "the fleet has " : "no node is registered yet", have);
        return 422;
    }
    if (!big) {
        snprintf(err, errlen, "needs %d device%s of %s per replica; %s", m->devices,
                 m->devices == 1 ? "" : "s", names, largest);
        return 422;
    }
    if (!cpu_ok) {
        snprintf(err, errlen,
                 "cpu: needs %" PRId64 " milli-cores per replica; the largest %s node with %d "
                 "devices has %" PRId64,
                 sp->cpu, names, m->devices, max_cpu);
        return 422;
    }
    if (!mem_ok) {
        snprintf(err, errlen,
                 "mem: needs %" PRId64 " MiB per replica; the largest %s node with %d devices "
                 "has %" PRId64,
                 sp->mem, names, m->devices, max_mem);
        return 422;
    }
    if (total < min) {
        snprintf(err, errlen,
                 "min_replicas %d cannot fit: the fleet's %s nodes hold at most %" PRId64
                 " replica%s of %d device%s even when empty",
                 min, names, total, total == 1 ? "" : "s", m->devices, m->devices == 1 ? "" : "s");
        return 422;
    }
    return 0;
}

/* ---- JSON ---------------------------------------------------------------------------------------
 */

static json_t *num_or_int(double x)
{
    return x == floor(x) && fabs(x) < 1e15 ? json_integer((json_int_t)x) : json_real(x);
}

static json_t *svc_json(srv_state *st, const srv_service *s)
{
    int c[5];
    svc_counts(st, s, c);
    int sig = svc_signal(st, s);
    json_t *load = json_object();
    int known = s->has_sample || s->had_sample;
    json_object_set_new(load, "rps", known ? json_real(s->rps) : json_null());
    json_object_set_new(load, "queue", known ? num_or_int(s->queue) : json_null());
    json_object_set_new(load, "es", json_real(s->es > 0 ? s->es : svc_spec_es(&s->sp, s->chip)));
    json_object_set_new(load, "age_s",
                        known && s->last_t > 0 ? json_real(st->now - s->last_t) : json_null());
    json_object_set_new(load, "source", json_string(s->sp.scrape ? "scrape" : "push"));
    if (s->sp.scrape) json_object_set_new(load, "url", json_string(s->sp.url));
    if (s->load_err[0]) json_object_set_new(load, "error", json_string(s->load_err));
    json_t *inst = json_array();
    for (size_t i = 0; i < s->nreps; i++) {
        const svc_rep *r = &s->reps[i];
        srv_job *j = st_job_get(st, r->job);
        const char *node =
            j && j->tasks && j->state == ALLOT_JOB_RUNNING && j->tasks[0].node < st->nnodes
                ? st->nodes[j->tasks[0].node].name
                : NULL;
        json_t *o = json_pack("{s:i,s:I,s:s,s:s?}", "replica", r->index, "job", (json_int_t)r->job,
                              "state", rep_names[rep_state(st, s, r)], "node", node);
        if (r->draining) json_object_set_new(o, "drain_until", json_real(r->drain_end));
        json_array_append_new(inst, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->sp.m.name));
    json_object_set_new(o, "tenant", json_string(s->tenant));
    json_object_set_new(o, "state", json_string(s->deleting ? "deleting" : "active"));
    json_object_set_new(o, "policy", json_string(allot_autoscaler_name(s->sp.policy)));
    json_object_set_new(o, "min_replicas", json_integer(s->sp.m.min_replicas));
    json_object_set_new(o, "max_replicas", json_integer(s->sp.m.max_replicas));
    json_object_set_new(o, "replicas",
                        json_pack("{s:i,s:i,s:i,s:i,s:i}", "ready", c[R_READY], "starting",
                                  c[R_STARTING] + c[R_PENDING], "pending", c[R_PENDING], "draining",
                                  c[R_DRAINING], "wanted", s->want));
    json_object_set_new(o, "load", load);
    json_object_set_new(o, "signal", json_string(sig_names[sig]));
    json_object_set_new(o, "signal_timeout_s", json_real(svc_timeout(st, s)));
    json_object_set_new(o, "slo_s", json_real(s->sp.m.slo_s));
    json_object_set_new(o, "slo_target", json_real(s->sp.m.slo_target));
    json_object_set_new(o, "devices", json_integer(s->sp.m.devices));
    json_object_set_new(o, "chip", json_string(s->sp.m.chips[s->chip].name));
    json_object_set_new(o, "created", json_real(s->created));
    json_object_set_new(o, "message", json_string(s->msg));
    json_object_set_new(o, "instances", inst);
    json_object_set(o, "spec", s->sp.doc);
    return o;
}

/* ---- persistence -------------------------------------------------------------------------------
 */

static json_t *svc_record(const srv_service *s)
{
    json_t *o = json_pack("{s:O,s:s,s:i,s:b,s:b,s:f}", "spec", s->sp.doc, "tenant", s->tenant,
                          "want", s->want, "deleting", s->deleting, "had_sample", s->had_sample,
                          "created", s->created);
    if (s->had_sample)
        json_object_set_new(o, "last",
                            json_pack("{s:f,s:f,s:f,s:f}", "t", s->last_t, "rps", s->rps, "queue",
                                      s->queue, "es", s->es));
    return o;
}

int st_svc_flush(srv_state *st)
{
    struct srv_svcs *S = st->svcs;
    if (!S) return 0;
    int rc = 0;
    for (size_t k = 0; k < S->ngone && rc == 0; k++)
        if (!svc_find(st, S->gone[k])) rc = allot_store_delete_service(st->store, S->gone[k]);
    S->ngone = 0;
    for (size_t i = 0; i < S->n && rc == 0; i++) {
        srv_service *s = S->v[i];
        if (!s->dirty) continue;
        s->dirty = 0;
        json_t *rec = svc_record(s);
        char *txt = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        rc = txt ? allot_store_put_service(st->store, s->sp.m.name, txt) : ALLOT_ENOMEM;
        free(txt);
    }
    return rc;
}

static int rec_service(void *arg, const char *name, const char *text)
{
    srv_state *st = arg;
    json_t *o = json_loads(text, 0, NULL);
    srv_service *s = calloc(1, sizeof *s);
    char err[300] = "";
    int rc = s ? svc_spec_parse(json_object_get(o, "spec"), &s->sp, err, sizeof err) : -1;
    if (rc || strcmp(s->sp.m.name, name) != 0) {
        fprintf(stderr, "allot server: service %s in the store is unreadable (%s): skipped\n", name,
                err[0] ? err : "out of memory");
        json_decref(o);
        svc_free(s);
        return 0;
    }
    const char *tn = json_string_value(json_object_get(o, "tenant"));
    snprintf(s->tenant, sizeof s->tenant, "%s", tn ? tn : "default");
    s->want = (int)json_integer_value(json_object_get(o, "want"));
    s->deleting = json_is_true(json_object_get(o, "deleting"));
    s->had_sample = json_is_true(json_object_get(o, "had_sample"));
    s->created = json_number_value(json_object_get(o, "created"));
    json_t *last = json_object_get(o, "last");
    if (last) {
        s->last_t = json_number_value(json_object_get(last, "t"));
        s->rps = json_number_value(json_object_get(last, "rps"));
        s->queue = json_number_value(json_object_get(last, "queue"));
        s->es = json_number_value(json_object_get(last, "es"));
    }
    json_decref(o);
    if (s->had_sample) svc_note(s, "recovered: the signal is stale until a load sample arrives");
    if (svc_insert(st, s)) {
        svc_free(s);
        return ALLOT_ENOMEM;
    }
    return 0;
}

int st_svc_start(srv_state *st, allot_diag *d)
{
    struct srv_svcs *S = calloc(1, sizeof *S);
    if (!S) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    st->svcs = S;
    int rc = svc_scraper_new(&S->scraper);
    if (rc) return allot_diag_set(d, rc, NULL, 0, 0, "cannot start the scraper thread");
    rc = allot_store_load_services(st->store, rec_service, st);
    if (rc)
        return allot_diag_set(d, rc, st->cfg.data, 0, 0, "cannot recover the services: %s",
                              allot_strerror(rc));
    /* link the replica jobs back to their services */
    for (uint32_t id = 1; id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (!j || !j->service || j->state > ALLOT_JOB_RUNNING) continue;
        srv_service *s = svc_find(st, j->service);
        allot_chip_mask mask = s ? chip_mask(st, &s->sp) : 0;
        if (!s || !mask || st_grow((void **)&s->reps, &s->creps, s->nreps + 1, sizeof *s->reps)) {
            st_job_reason(j, "%s",
                          s ? "no registered node has its chip types" : "its service is gone");
            st_job_end(st, j, ALLOT_JOB_CANCELLED, "cancelled");
            continue;
        }
        j->chips = mask;
        s->reps[s->nreps++] = (svc_rep){id, j->replica, 0, 0, 0};
    }
    for (size_t i = 0; i < S->n; i++) {
        srv_service *s = S->v[i];
        if ((rc = svc_new_scaler(st, s)))
            return allot_diag_set(d, rc, NULL, 0, 0, "service %s: cannot start its autoscaler",
                                  s->sp.m.name);
        svc_watch(st, s);
    }
    if (S->n) st_logf_(st, "recovered %zu service%s", S->n, S->n == 1 ? "" : "s");
    return 0;
}

void st_svc_free(srv_state *st)
{
    struct srv_svcs *S = st->svcs;
    if (!S) return;
    svc_scraper_free(S->scraper);
    for (size_t i = 0; i < S->n; i++) svc_free(S->v[i]);
    free(S->v);
    free(S->gone);
    free(S);
    st->svcs = NULL;
}

/* ---- requests
 * ------------------------------------------------------------------------------------ */

static const char *own_tenant(const srv_state *st, const srv_req *r)
{
    return r->role == ROLE_TENANT ? st->cfg.tenants[r->tenant].name : NULL;
}

/* The service r names, if this token may see it; else a 404 reply. */
static srv_service *visible(srv_state *st, srv_req *r)
{
    srv_service *s = svc_find(st, r->name);
    const char *own = own_tenant(st, r);
    if (!s || (own && strcmp(own, s->tenant) != 0)) {
        srv_reply_error(r, 404, "not_found", "no service %s", r->name);
        return NULL;
    }
    return s;
}

static void do_list(srv_state *st, srv_req *r)
{
    json_t *arr = json_array();
    const char *own = own_tenant(st, r);
    struct srv_svcs *S = st->svcs;
    for (size_t i = 0; i < S->n; i++)
        if (!own || strcmp(own, S->v[i]->tenant) == 0)
            json_array_append_new(arr, svc_json(st, S->v[i]));
    srv_reply_json(r, 200, json_pack("{s:o}", "services", arr));
}

static void do_create(srv_state *st, srv_req *r)
{
    char err[400];
    srv_service *s = calloc(1, sizeof *s);
    if (!s) return srv_reply_error(r, 503, "unavailable", "out of memory");
    int rc = svc_spec_parse(r->body, &s->sp, err, sizeof err);
    if (rc) {
        svc_free(s);
        return srv_reply_error(r, rc == -2 ? 422 : 400, rc == -2 ? "infeasible" : "bad_request",
                               "%s", err);
    }
    const char *own = own_tenant(st, r);
    if (own && s->sp.tenant[0] && strcmp(s->sp.tenant, own) != 0) {
        svc_free(s);
        return srv_reply_error(r, 403, "forbidden",
                               "this token creates services for tenant %s only", own);
    }
    snprintf(s->tenant, sizeof s->tenant, "%s",
             own               ? own
             : s->sp.tenant[0] ? s->sp.tenant
                               : "default");
    json_object_set_new(s->sp.doc, "tenant", json_string(s->tenant));
    srv_service *old = svc_find(st, s->sp.m.name);
    if (old) {
        const char *nm = old->deleting ? "is being deleted (try again when it is gone)"
                                       : "exists (PATCH changes its bounds and policy)";
        srv_reply_error(r, 409, "conflict", "service %s %s", s->sp.m.name, nm);
        svc_free(s);
        return;
    }
    if (st->svcs->n >= SVC_MAX) {
        svc_free(s);
        return srv_reply_error(r, 400, "bad_request", "more than %d services", SVC_MAX);
    }
    if ((rc = svc_fit(st, &s->sp, s->sp.m.min_replicas, err, sizeof err))) {
        svc_free(s);
        return srv_reply_error(r, rc, "unschedulable", "%s", err);
    }
    if (st_tenant_add(st, s->tenant) < 0) {
        svc_free(s);
        return srv_reply_error(r, 400, "bad_request", "tenant: more than %d tenants",
                               ALLOT_SERVER_MAX_TENANTS);
    }
    s->created = st->now;
    s->want = s->sp.m.min_replicas;
    if (svc_new_scaler(st, s) || svc_insert(st, s)) {
        svc_free(s);
        return srv_reply_error(r, 503, "unavailable", "out of memory");
    }
    svc_note(s, "created: %d replica%s at first (min_replicas), until load samples arrive", s->want,
             s->want == 1 ? "" : "s");
    svc_watch(st, s);
    svc_dirty(st, s);
    svc_step(st, s, 0);
    st_logf_(st, "service %s created (tenant %s, %d..%d replicas, policy %s)", s->sp.m.name,
             s->tenant, s->sp.m.min_replicas, s->sp.m.max_replicas,
             allot_autoscaler_name(s->sp.policy));
    snprintf(r->location, sizeof r->location, "/v1/services/%.48s", s->sp.m.name);
    srv_reply_json(r, 201, svc_json(st, s));
}

static void do_patch(srv_state *st, srv_req *r, srv_service *s)
{
    char err[400];
    int mn, mx, pol;
    if (svc_patch_parse(r->body, &mn, &mx, &pol, err, sizeof err))
        return srv_reply_error(r, 400, "bad_request", "%s", err);
    if (s->deleting)
        return srv_reply_error(r, 409, "conflict", "service %s is being deleted", r->name);
    if (mn < 0) mn = s->sp.m.min_replicas;
    if (mx < 0) mx = s->sp.m.max_replicas;
    if (mx < mn)
        return srv_reply_error(r, 400, "bad_request", "max_replicas %d is below min_replicas %d",
                               mx, mn);
    int rc = svc_fit(st, &s->sp, mn, err, sizeof err);
    if (rc) return srv_reply_error(r, rc, "unschedulable", "%s", err);
    s->sp.m.min_replicas = mn;
    s->sp.m.max_replicas = mx;
    json_object_set_new(s->sp.doc, "min_replicas", json_integer(mn));
    json_object_set_new(s->sp.doc, "max_replicas", json_integer(mx));
    if (pol >= 0 && pol != s->sp.policy) {
        s->sp.policy = pol;
        json_object_set_new(s->sp.doc, "policy", json_string(allot_autoscaler_name(pol)));
        if (svc_new_scaler(st, s))
            return srv_reply_error(r, 503, "unavailable", "cannot start the autoscaler");
    }
    svc_note(s, "bounds %d..%d, policy %s", mn, mx, allot_autoscaler_name(s->sp.policy));
    st_logf_(st, "service %s: %s", s->sp.m.name, s->msg);
    svc_dirty(st, s);
    svc_step(st, s, 0);
    srv_reply_json(r, 200, svc_json(st, s));
}

static void do_delete(srv_state *st, srv_req *r, srv_service *s)
{
    if (!s->deleting) {
        s->deleting = 1;
        svc_note(s, "deleting: replicas drain for %g s, then the service is gone", s->sp.m.drain_s);
        st_logf_(st, "service %s: %s", s->sp.m.name, s->msg);
        svc_watch(st, s);
        svc_dirty(st, s);
    }
    int gone = svc_step(st, s, 0);
    json_t *o = svc_json(st, s);
    if (gone) {
        json_object_set_new(o, "state", json_string("deleted"));
        svc_remove(st, s);
    }
    srv_reply_json(r, 200, o);
}

static void do_load(srv_state *st, srv_req *r, srv_service *s)
{
    char err[300];
    svc_load l;
    if (svc_load_parse(r->body, &l, err, sizeof err))
        return srv_reply_error(r, 400, "bad_request", "%s", err);
    if (s->deleting)
        return srv_reply_error(r, 409, "conflict", "service %s is being deleted", r->name);
    if (s->has_sample && st->now > s->last_t) {
        double gap = st->now - s->last_t;
        s->interval = s->interval > 0 ? 0.7 * s->interval + 0.3 * gap : gap;
    }
    s->has_sample = 1;
    s->last_t = st->now;
    s->rps = l.rps;
    s->queue = l.queue;
    s->es = l.es;
    for (int k = 0; k < l.nready; k++)
        for (size_t i = 0; i < s->nreps; i++)
            if (s->reps[i].index == l.ready[k]) s->reps[i].ready_reported = 1;
    if (!s->had_sample) {
        s->had_sample = 1;
        svc_dirty(st, s);
    }
    srv_reply_json(r, 200, svc_json(st, s));
}

void st_svc_handle(srv_state *st, srv_req *r)
{
    if (!st->svcs) return srv_reply_error(r, 503, "unavailable", "services are not running");
    if ((r->kind == RQ_SVC_CREATE || r->kind == RQ_SVC_PATCH || r->kind == RQ_SVC_LOAD) &&
        !json_is_object(r->body))
        return srv_reply_error(r, 400, "bad_request", "the body must be a JSON object");
    if (r->kind == RQ_SVC_LIST) return do_list(st, r);
    if (r->kind == RQ_SVC_CREATE) return do_create(st, r);
    srv_service *s = visible(st, r);
    if (!s) return;
    switch (r->kind) {
    case RQ_SVC_GET: srv_reply_json(r, 200, svc_json(st, s)); break;
    case RQ_SVC_PATCH: do_patch(st, r, s); break;
    case RQ_SVC_DELETE: do_delete(st, r, s); break;
    case RQ_SVC_LOAD: do_load(st, r, s); break;
    default: srv_reply_error(r, 500, "internal", "unknown service request"); break;
    }
}

/* ---- metrics
 * -------------------------------------------------------------------------------------- */

void st_svc_metrics(srv_state *st, srv_buf *b)
{
    struct srv_svcs *S = st->svcs;
    if (!S || S->n == 0) return;
    srv_buf_printf(b, "# HELP allot_service_replicas Replicas of each service by state.\n"
                      "# TYPE allot_service_replicas gauge\n");
    for (size_t i = 0; i < S->n; i++) {
        int c[5];
        svc_counts(st, S->v[i], c);
        for (int k = 0; k < R_GONE; k++)
            srv_buf_printf(b, "allot_service_replicas{service=\"%s\",state=\"%s\"} %d\n",
                           S->v[i]->sp.m.name, rep_names[k], c[k]);
    }
    srv_buf_printf(b, "# HELP allot_service_replicas_wanted Replicas the autoscaler wants.\n"
                      "# TYPE allot_service_replicas_wanted gauge\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b, "allot_service_replicas_wanted{service=\"%s\"} %d\n", S->v[i]->sp.m.name,
                       S->v[i]->want);
    srv_buf_printf(b, "# HELP allot_service_load_rps Requests/s of the latest load sample.\n"
                      "# TYPE allot_service_load_rps gauge\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b, "allot_service_load_rps{service=\"%s\"} %.6g\n", S->v[i]->sp.m.name,
                       S->v[i]->rps);
    srv_buf_printf(b, "# HELP allot_service_load_queue Queued requests of the latest sample.\n"
                      "# TYPE allot_service_load_queue gauge\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b, "allot_service_load_queue{service=\"%s\"} %.6g\n", S->v[i]->sp.m.name,
                       S->v[i]->queue);
    srv_buf_printf(b, "# HELP allot_service_signal_age_seconds Age of the latest load sample "
                      "(-1: none since the server started).\n"
                      "# TYPE allot_service_signal_age_seconds gauge\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b, "allot_service_signal_age_seconds{service=\"%s\"} %.3f\n",
                       S->v[i]->sp.m.name, S->v[i]->has_sample ? st->now - S->v[i]->last_t : -1.0);
    srv_buf_printf(b, "# HELP allot_service_signal_stale 1 while the load signal is stale "
                      "(replicas held).\n# TYPE allot_service_signal_stale gauge\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b, "allot_service_signal_stale{service=\"%s\"} %d\n", S->v[i]->sp.m.name,
                       svc_signal(st, S->v[i]) == SIG_STALE);
    srv_buf_printf(b, "# HELP allot_service_scale_events_total Changes of the replicas wanted.\n"
                      "# TYPE allot_service_scale_events_total counter\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b,
                       "allot_service_scale_events_total{service=\"%s\",direction=\"up\"} %" PRIu64
                       "\nallot_service_scale_events_total{service=\"%s\",direction=\"down\"} "
                       "%" PRIu64 "\n",
                       S->v[i]->sp.m.name, S->v[i]->ups, S->v[i]->sp.m.name, S->v[i]->downs);
    srv_buf_printf(b, "# HELP allot_service_replacements_total Replicas replaced after they "
                      "ended on their own.\n# TYPE allot_service_replacements_total counter\n");
    for (size_t i = 0; i < S->n; i++)
        srv_buf_printf(b, "allot_service_replacements_total{service=\"%s\"} %" PRIu64 "\n",
                       S->v[i]->sp.m.name, S->v[i]->replaced);
}
