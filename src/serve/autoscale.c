/* src/serve/autoscale.c - the autoscalers (serve.h). Each is a pure function
 * of what it has observed step by step (as_obs): no clock, no I/O.
 *
 *  hpa         Kubernetes HorizontalPodAutoscaler with its documented
 *              defaults: a sync every 15 s, desired = ceil(current x
 *              metric / target) on the per-replica concurrency against 70 %
 *              of the slots (HPA has no default target; 70 % is the usual
 *              choice), no change within the 0.1 tolerance, the highest
 *              recommendation of the last 300 s when scaling down
 *              (stabilisation), scale-up limited to max(100 %, 4 replicas)
 *              per period.
 *  knative     Knative KPA: target concurrency 70 % of the slots per
 *              replica, desired from the mean concurrency over a 60 s stable
 *              window, evaluated every 2 s; a 6 s panic window, entered when
 *              it asks for at least 2x the ready replicas, during which the
 *              service never scales down (for 60 s after the last panic
 *              signal); scale-down at most halves the replicas per tick.
 *  predictive  forecasts the arrival rate one cold start (+ a minute) ahead:
 *              the larger of Holt's linear trend on per-minute rates and the
 *              same minute yesterday scaled to today's level; replicas from
 *              the latency model (allot_replicas_needed) at the forecast;
 *              scale-down after 300 s of lower need.
 *  allot       the forecast above, raised to the last 10 s's rate when that
 *              is higher and by a margin learnt from its own recent errors
 *              (p90 of actual/forecast - 1, 5..100 %), turned into replicas
 *              by the latency model at the SLO target; a burst reserve:
 *              slots to absorb 1.5x the largest SLO-long burst of work of
 *              the last 5 minutes within the SLO; a queue the ready
 *              replicas will not have cleared one cold start from now is
 *              cleared within the SLO (and Knative's panic rule then
 *              applies); scale-down waits a cold start and goes down 10 % at
 *              a time.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

#define HPA_SYNC     15.0
#define HPA_TARGET   0.7
#define HPA_TOL      0.1
#define HPA_DOWN_WIN 300.0
#define KPA_TICK     2.0
#define KPA_TARGET   0.7
#define KPA_STABLE   60.0
#define KPA_PANIC    6.0
#define KPA_PANIC_X  2.0
#define PRED_DOWN    300.0
/* allot: the rate term reads the last ALLOT_PEAK_S seconds when they are
 * above the forecast; the burst reserve absorbs ALLOT_BURST_X times the
 * largest SLO-long burst of work of the last ALLOT_BURST_HORIZON seconds */
#define ALLOT_PEAK_S        10.0
#define ALLOT_BURST_X       1.5
#define ALLOT_BURST_HORIZON 300.0

int as_init(as_state *a, int policy, const allot_service *s, size_t chip, double dt)
{
    memset(a, 0, sizeof *a);
    a->policy = policy;
    a->svc = s;
    a->chip = chip;
    a->dt = dt;
    a->cold = s->chips[chip].cold_start_s;
    a->day = calloc(1440, sizeof *a->day);
    a->day_t = calloc(1440, sizeof *a->day_t);
    a->low_since = -1;
    a->minute_t0 = 0;
    /* the burst reserve: one SLO of work, over max(5 min, one SLO) */
    double kb = round(s->slo_s / dt), kh = ceil(ALLOT_BURST_HORIZON / dt);
    a->bw_k = kb > 1 ? (size_t)kb : 1;
    a->bw_h = kh > (double)a->bw_k ? (size_t)kh : a->bw_k;
    if (policy == ALLOT_AS_ALLOT) {
        a->bwq_i = malloc((a->bw_h + 1) * sizeof *a->bwq_i);
        a->bwq_v = malloc((a->bw_h + 1) * sizeof *a->bwq_v);
        if (!a->bwq_i || !a->bwq_v) {
            as_free(a);
            return ALLOT_ENOMEM;
        }
    }
    if (!a->day || !a->day_t) {
        as_free(a);
        return ALLOT_ENOMEM;
    }
    return 0;
}

void as_free(as_state *a)
{
    free(a->day);
    free(a->day_t);
    free(a->bwq_i);
    free(a->bwq_v);
    a->day = a->day_t = NULL;
    a->bwq_i = NULL;
    a->bwq_v = NULL;
}

/* mean of the last `span` seconds of a history ring */
static double hist_mean(const as_state *a, const double *v, double span)
{
    size_t k = (size_t)ceil(span / a->dt);
    if (k < 1) k = 1;
    if (k > a->nhist) k = a->nhist;
    if (k > AS_RING) k = AS_RING;
    double s = 0;
    for (size_t i = 0; i < k; i++) s += v[(a->nhist - 1 - i) % AS_RING];
    return k ? s / (double)k : 0;
}

static int clamp_r(const as_state *a, double r)
{
    if (!(r == r)) r = a->svc->min_replicas;
    if (r < a->svc->min_replicas) r = a->svc->min_replicas;
    if (r > a->svc->max_replicas) r = a->svc->max_replicas;
    return (int)r;
}

static int hpa(as_state *a, const as_obs *o)
{
    int cur = o->ready + o->starting;
    if (o->t + 1e-9 < a->next_sync) return cur;
    a->next_sync = o->t + HPA_SYNC;
    int slots = a->svc->slots;
    double per = o->ready > 0 ? hist_mean(a, a->conc, HPA_SYNC) / o->ready : 0;
    double ratio = per / (slots * HPA_TARGET);
    int desired = cur;
    if (o->ready == 0)
        desired = cur > 0 ? cur : 1;
    else if (fabs(ratio - 1) > HPA_TOL)
        desired = (int)ceil(o->ready * ratio);
    /* scale-up limit: max(100 %, 4 pods) per period */
    int up = cur + (cur > 4 ? cur : 4);
    if (desired > up) desired = up;
    /* scale-down stabilisation: the highest recommendation of the window */
    size_t w = a->nrec % AS_RING;
    a->rec_t[w] = o->t;
    a->rec_r[w] = desired;
    a->nrec++;
    if (desired < cur) {
        int best = desired;
        for (size_t i = 0; i < a->nrec && i < AS_RING; i++) {
            size_t k = (a->nrec - 1 - i) % AS_RING;
            if (o->t - a->rec_t[k] > HPA_DOWN_WIN) break;
            if (a->rec_r[k] > best) best = a->rec_r[k];
        }
        desired = best < cur ? best : cur;
    }
    return clamp_r(a, desired);
}

static int knative(as_state *a, const as_obs *o)
{
    int cur = o->ready + o->starting;
    if (o->t + 1e-9 < a->next_sync) return cur;
    a->next_sync = o->t + KPA_TICK;
    double target = a->svc->slots * KPA_TARGET;
    int stable = (int)ceil(hist_mean(a, a->conc, KPA_STABLE) / target);
    int panic = (int)ceil(hist_mean(a, a->conc, KPA_PANIC) / target);
    int ready = o->ready > 0 ? o->ready : 1;
    if ((double)panic / ready >= KPA_PANIC_X) {
        a->panic_until = o->t + KPA_STABLE;
    }
    int desired = stable;
    if (o->t < a->panic_until) {
        /* panic: follow the short window up, never go down */
        if (panic > desired) desired = panic;
        if (desired < cur) desired = cur;
    } else {
        if (desired < (cur + 1) / 2) desired = (cur + 1) / 2; /* max scale-down rate 2 */
    }
    return clamp_r(a, desired);
}

/* Records a forecast error in the ring err[] and in its sorted copy (the
 * oldest one leaves both once there are 64). */
static void err_push(as_state *a, double e)
{
    size_t n = a->nerr < 64 ? a->nerr : 64;
    double *v = a->err_sorted;
    if (a->nerr >= 64) { /* remove the value being overwritten (binary search) */
        double old = a->err[a->nerr % 64];
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (v[mid] < old)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n && v[lo] == old) {
            memmove(v + lo, v + lo + 1, (n - 1 - lo) * sizeof *v);
            n--;
        } else { /* cannot happen: the copy holds the ring's values */
            n--;
        }
    }
    size_t lo = 0, hi = n; /* insert after the values <= e */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] <= e)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(v + lo + 1, v + lo, (n - lo) * sizeof *v);
    v[lo] = e;
    a->err[a->nerr % 64] = e;
    a->nerr++;
}

/* fmod(floor(t / 60), 1440) as an index, by an integer modulo: the same
 * value for 0 <= t < 2.5e11 (t / 60 truncates to its floor there), without
 * fmod's and floor's cost */
static size_t minute_of_day(double t)
{
    if (t >= 0 && t < 2.5e11) return (uint32_t)(t / 60) % 1440u;
    return (size_t)fmod(floor(t / 60), 1440);
}

/* Updates the per-minute forecast state with this step's rate. */
static void forecast_observe(as_state *a, const as_obs *o)
{
    a->minute_sum += o->rps * o->dt;
    if (o->t - a->minute_t0 + 1e-9 < 60) return;
    double span = o->t - a->minute_t0;
    double rate = span > 0 ? a->minute_sum / span : 0;
    /* error of the forecast made for about now */
    if (a->last_forecast_t > 0 && fabs(a->last_forecast_t - o->t) < 120 && a->last_forecast > 0.5) {
        err_push(a, rate / a->last_forecast - 1);
    }
    if (!a->holt_ready) {
        a->level = rate;
        a->trend = 0;
        a->holt_ready = 1;
    } else {
        double prev = a->level;
        a->level = 0.5 * rate + 0.5 * (a->level + a->trend);
        a->trend = 0.3 * (a->level - prev) + 0.7 * a->trend;
    }
    size_t m = minute_of_day(o->t);
    a->day[m] = rate;
    a->day_t[m] = o->t;
    a->minute_sum = 0;
    a->minute_t0 = o->t;
}

/* The arrival rate expected `h` seconds from now. */
static double forecast(as_state *a, double now, double h)
{
    double f = a->level + a->trend * (h / 60.0);
    if (f < 0) f = 0;
    /* seasonality: the same minute yesterday, scaled by how today compares
     * with yesterday at this time */
    size_t m_then = minute_of_day(now + h);
    size_t m_now = minute_of_day(now);
    double ago = 86400 - h;
    if (a->day_t[m_then] > 0 && now - a->day_t[m_then] >= ago - 120 &&
        now - a->day_t[m_then] <= 86400 + 120 && a->day_t[m_now] > 0 && a->day[m_now] > 0) {
        double scale = a->level / a->day[m_now];
        if (scale > 0.2 && scale < 5) f = fmax(f, a->day[m_then] * scale);
    }
    return f;
}

/* The mean of the positive es of the last AS_ES_WIN steps, kept as a
 * running sum by es_window_push. */
static double recent_es(const as_state *a) { return a->es_cnt > 0 ? a->es_sum / a->es_cnt : 0; }

/* After a step's es joined the history: the running sum gains it and loses
 * the step that left the window; every AS_ES_WIN steps it is summed afresh
 * (newest first), so rounding does not drift. */
static void es_window_push(as_state *a)
{
    double e = a->es[(a->nhist - 1) % AS_RING];
    if (e > 0) a->es_sum += e, a->es_cnt++;
    if (a->nhist > AS_ES_WIN) {
        double old = a->es[(a->nhist - 1 - AS_ES_WIN) % AS_RING];
        if (old > 0) a->es_sum -= old, a->es_cnt--;
    }
    if (a->nhist % AS_ES_WIN == 0) {
        double s = 0;
        size_t n = 0;
        for (size_t i = 0; i < AS_ES_WIN; i++) {
            double x = a->es[(a->nhist - 1 - i) % AS_RING];
            if (x > 0) s += x, n++;
        }
        a->es_sum = s;
        a->es_cnt = n;
    }
}

/* The replicas the latency model gives (the cached table when there is one:
 * the same answers). */
static int as_replicas(const as_state *a, double lambda, double es)
{
    const allot_service *s = a->svc;
    if (a->ltq.t) return allot__ltq_replicas(&a->ltq, lambda, es);
    return allot_replicas_needed(lambda, s->slots, es, s->slo_s, s->slo_target, s->max_replicas);
}

/* p90 of the last (up to 64) forecast errors: the value a sort of them
 * puts at 0.9 (n - 1), read from the copy err_push keeps sorted */
static double err_p90(const as_state *a)
{
    size_t n = a->nerr < 64 ? a->nerr : 64;
    return a->err_sorted[(size_t)(0.9 * (double)(n - 1))];
}

static int predictive(as_state *a, const as_obs *o)
{
    int cur = o->ready + o->starting;
    double h = a->cold + 60;
    double es = recent_es(a);
    if (es <= 0) return clamp_r(a, cur);
    double f = a->holt_ready ? forecast(a, o->t, h) : o->rps;
    a->last_forecast = f;
    a->last_forecast_t = o->t + h;
    int want = as_replicas(a, f, es);
    if (want >= cur) {
        a->low_since = -1;
        return clamp_r(a, want);
    }
    /* lower need: wait, then step down */
    if (a->low_since < 0) a->low_since = o->t;
    if (o->t - a->low_since < PRED_DOWN) return cur;
    return clamp_r(a, want);
}

/* The p90 of the recent forecast errors (actual / forecast - 1), within
 * 5..100 %: how far above the forecast the rate has recently gone. */
static double learnt_margin(const as_state *a)
{
    double margin = a->nerr >= 8 ? err_p90(a) : 0.05;
    return margin < 0.05 ? 0.05 : margin > 1 ? 1 : margin;
}

/* Keeps the burst reserve's figures after each step: the work (slot-
 * seconds) that arrived in the last SLO, and the largest such sum of the
 * last ALLOT_BURST_HORIZON seconds, by a monotonic queue (amortised O(1)). */
static void burst_push(as_state *a)
{
    size_t now = a->nhist - 1, j = now % AS_RING;
    a->bw_sum += a->rps[j] * a->dt * a->es[j];
    if (a->nhist > a->bw_k) {
        size_t o = (now - a->bw_k) % AS_RING;
        a->bw_sum -= a->rps[o] * a->dt * a->es[o];
        if (a->bw_sum < 0) a->bw_sum = 0; /* rounding */
    }
    size_t cap = a->bw_h + 1, tail = a->bwq_head + a->bwq_n; /* one past the newest */
    if (tail >= cap) tail -= cap;
    while (a->bwq_n) { /* drop the sums the new one outlasts and exceeds */
        size_t last = tail ? tail - 1 : cap - 1;
        if (a->bwq_v[last] > a->bw_sum) break;
        tail = last;
        a->bwq_n--;
    }
    a->bwq_i[tail] = now;
    a->bwq_v[tail] = a->bw_sum;
    a->bwq_n++;
    /* sums whose window began more than bw_h steps ago are out */
    while (a->bwq_n && a->bwq_i[a->bwq_head] + a->bw_h < now + a->bw_k) {
        if (++a->bwq_head == cap) a->bwq_head = 0;
        a->bwq_n--;
    }
}

/* The largest burst of work (slot-seconds in one SLO) of the recent horizon. */
static double burst_work(const as_state *a) { return a->bwq_n ? a->bwq_v[a->bwq_head] : 0; }

/* ceil of a nonnegative value below INT_MAX, without the libm call */
static int ceil_pos(double x)
{
    int i = (int)x;
    return i + ((double)i < x);
}

static int allot_policy(as_state *a, const as_obs *o)
{
    const allot_service *s = a->svc;
    int cur = o->ready + o->starting;
    double h = a->cold + 60;
    double es = recent_es(a);
    if (es <= 0) return clamp_r(a, cur);
    double f = a->holt_ready ? forecast(a, o->t, h) : o->rps;
    double margin = learnt_margin(a);
    /* the forecast, or the last 10 s if higher, with the learnt margin; plus
     * the work queued now, cleared over a cold start */
    double recent = a->dt >= ALLOT_PEAK_S ? o->rps : hist_mean(a, a->rps, ALLOT_PEAK_S);
    double lambda = (recent > f ? recent : f) * (1 + margin);
    a->last_forecast = f;
    a->last_forecast_t = o->t + h;
    /* the queue: what the ready replicas will not have cleared when new
     * ones could serve (one cold start from now) is cleared within the SLO */
    double left = o->backlog_s + (f * es - (double)o->ready * s->slots) * a->cold;
    if (left > 0) lambda += left / (es * (s->slo_s - es > es ? s->slo_s - es : es));
    int want = as_replicas(a, lambda, es);
    if (left > 0) { /* and, as Knative's panic mode, the last seconds' concurrency */
        int burst = ceil_pos(hist_mean(a, a->conc, KPA_PANIC) / (s->slots * KPA_TARGET));
        if (burst > want) want = burst;
    }
    /* burst reserve: enough slots to absorb the largest recent burst of work
     * within the SLO (it arrives over slo_s and may wait slo_s - es) */
    double bw = burst_work(a) * ALLOT_BURST_X;
    double room = (2 * s->slo_s - es > es ? 2 * s->slo_s - es : es) * s->slots;
    if (bw > want * room) { /* (a division only when the reserve decides) */
        int rb = ceil_pos(bw / room);
        if (rb > want) want = rb;
    }
    if (want >= cur) {
        a->low_since = -1;
        return clamp_r(a, want);
    }
    if (a->low_since < 0) a->low_since = o->t;
    double wait = a->cold > 60 ? a->cold : 60;
    if (o->t - a->low_since < wait) return cur;
    int step = ceil_pos(cur * 0.1);
    if (want < cur - step) want = cur - step;
    return clamp_r(a, want);
}

int as_decide(as_state *a, const as_obs *o)
{
    size_t w = a->nhist % AS_RING;
    a->rps[w] = o->rps;
    a->conc[w] = o->concurrency;
    a->es[w] = o->es;
    a->nhist++;
    es_window_push(a);
    if (a->policy == ALLOT_AS_ALLOT) burst_push(a);
    forecast_observe(a, o);
    switch (a->policy) {
    case ALLOT_AS_HPA: return hpa(a, o);
    case ALLOT_AS_KNATIVE: return knative(a, o);
    case ALLOT_AS_PREDICTIVE: return predictive(a, o);
    default: return allot_policy(a, o);
    }
}

int allot_scaler_new(allot_scaler **out, int policy, const allot_service *s, size_t chip, double dt)
{
    if (!out) return ALLOT_EINVAL;
    *out = NULL;
    if (!s || chip >= s->nchips || policy < 0 || policy >= ALLOT_AS__COUNT || !(dt > 0))
        return ALLOT_EINVAL;
    as_state *a = malloc(sizeof *a);
    if (!a) return ALLOT_ENOMEM;
    int rc = as_init(a, policy, s, chip, dt);
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int allot_scaler_decide(allot_scaler *a, const allot_scaler_obs *o) { return as_decide(a, o); }

int allot_scaler_set_latency_table(allot_scaler *a, allot_latency_table *t)
{
    if (!a || (t && allot_latency_table_slots(t) != a->svc->slots)) return ALLOT_EINVAL;
    allot__ltq_init(&a->ltq, t, a->svc->slo_s, a->svc->slo_target, a->svc->max_replicas);
    return 0;
}

void allot_scaler_free(allot_scaler *a)
{
    if (!a) return;
    as_free(a);
    free(a);
}
