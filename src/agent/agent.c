/* agent.c - the agent loop (agent.h). Two threads, each with its own client:
 *
 *   main    registers, long-polls for work (wait = cfg->poll_wait), starts
 *           the assigned tasks at once, asks the killed ones to stop, and
 *           registers again after the server was away (reconciliation);
 *   worker  every few ms reaps the tasks' leaders (waitpid on their pids),
 *           enforces the grace period, posts the queued events as soon as
 *           there are any (the main thread wakes it after a start), and
 *           uploads new log bytes.
 *
 * The task table and the event queue are shared under one mutex. Only the
 * main thread adds tasks; only the worker removes them (once their end is
 * acknowledged by the server and their logs are complete).
 */
#define _GNU_SOURCE
#include "allot/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "allot/client.h"

#define TICK_S         0.005 /* worker period */
#define LOG_PERIOD_S   0.2   /* log upload period */
#define CHUNK_MAX      (256 << 10)
#define REQ_RAW_MAX    (512 << 10) /* raw log bytes per request (JSON may be 6x) */
#define BACKOFF_MIN_S  0.2
#define BACKOFF_MAX_S  5.0
#define SHUTDOWN_EXTRA 5.0 /* seconds after the grace to flush at exit */
#define RECENT_KEYS    1024

enum { OUT = 0, ERR = 1 };

typedef struct akey {
    int64_t job;
    int task;
    int64_t epoch;
} akey;

typedef struct stream {
    off_t raw;  /* bytes of the file uploaded */
    int64_t up; /* bytes of text uploaded (the server's offset) */
    int eof;    /* eof sent */
    int broken; /* gave up on it (the server disagrees on offsets) */
} stream;

typedef struct task {
    akey k;
    allot_proc proc;
    int failed;      /* failed_to_start */
    int stopping;    /* kill received */
    double grace;    /* >= 0: this stop's grace (the kill's "grace"), else the agent's */
    int exit_queued; /* exited (or failed_to_start) event queued */
    int exit_acked;  /* ... and accepted by the server */
    stream log[2];
    char desc[64];
} task;

typedef struct agent {
    const allot_agent_config *cfg;
    pthread_mutex_t mu, log_mu;
    pthread_cond_t cv;
    task **tasks;
    size_t ntasks, cap;
    json_t *events; /* queued, not yet posted */
    int shutting;
    double shutdown_deadline; /* monotonic */
    akey recent[RECENT_KEYS]; /* finished keys, so a late re-assignment is ignored */
    size_t nrecent;
    char log_dir[4096];
    char base[512];  /* "/v1/nodes/NAME" */
    int server_lost; /* for the log lines */
} agent;

static void say(agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(agent *a, const char *fmt, ...)
{
    if (!a->cfg->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&a->log_mu);
    a->cfg->log(a->cfg->log_arg, line);
    pthread_mutex_unlock(&a->log_mu);
}

static int key_eq(akey x, akey y)
{
    return x.job == y.job && x.task == y.task && x.epoch == y.epoch;
}

static task *find_task(agent *a, akey k)
{
    for (size_t i = 0; i < a->ntasks; i++)
        if (key_eq(a->tasks[i]->k, k)) return a->tasks[i];
    return NULL;
}

static int recently_done(agent *a, akey k)
{
    size_t n = a->nrecent < RECENT_KEYS ? a->nrecent : RECENT_KEYS;
    for (size_t i = 0; i < n; i++)
        if (key_eq(a->recent[i], k)) return 1;
    return 0;
}

static json_t *key_json(akey k)
{
    return json_pack("{sI sI sI}", "job", (json_int_t)k.job, "task", (json_int_t)k.task, "epoch",
                     (json_int_t)k.epoch);
}

static int key_from_json(const json_t *o, akey *k)
{
    json_t *j = json_object_get(o, "job"), *t = json_object_get(o, "task"),
           *e = json_object_get(o, "epoch");
    if (!json_is_integer(j) || !json_is_integer(t)) return -1;
    k->job = json_integer_value(j);
    k->task = (int)json_integer_value(t);
    k->epoch = json_is_integer(e) ? json_integer_value(e) : -1; /* -1: any epoch */
    return 0;
}

/* Queues an event; the caller holds mu. */
static void queue_event(agent *a, akey k, const char *type, double t, json_t *extra)
{
    json_t *ev = key_json(k);
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "time", json_real(t));
    if (extra) json_object_update(ev, extra);
    json_decref(extra);
    json_array_append_new(a->events, ev);
    pthread_cond_signal(&a->cv);
}

/* The tasks the server should count as ours: started and not yet known to
 * have ended. The caller holds mu. */
static json_t *running_json(agent *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->ntasks; i++) {
        task *t = a->tasks[i];
        if (!t->failed && !t->exit_acked) json_array_append_new(arr, key_json(t->k));
    }
    return arr;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sleeps up to s seconds, returning early when *stop is set. */
static void nap(volatile int *stop, double s)
{
    double end = allot_mono_now() + s;
    while (!*stop) {
        double left = end - allot_mono_now();
        if (left <= 0) break;
        sleep_s(left < 0.05 ? left : 0.05);
    }
}

/* ---- stopping ------------------------------------------------------------------------- */

static void stop_task(agent *a, task *t, const char *why)
{
    if (t->failed || t->proc.exited || t->stopping) return;
    t->stopping = 1;
    allot_proc_term(&t->proc, allot_mono_now());
    say(a, "task %s stopping (%s): SIGTERM to process group %d", t->desc, why, (int)t->proc.pid);
}

static void handle_kills(agent *a, const json_t *kills)
{
    size_t i;
    json_t *it;
    pthread_mutex_lock(&a->mu);
    json_array_foreach(kills, i, it)
    {
        akey k;
        if (key_from_json(it, &k)) continue;
        const char *why = json_string_value(json_object_get(it, "reason"));
        /* a service replica's drain: a longer grace than the agent's */
        const json_t *g = json_object_get(it, "grace");
        double grace =
            json_is_number(g) && json_number_value(g) >= 0 && json_number_value(g) <= 86400
                ? json_number_value(g)
                : -1;
        for (size_t j = 0; j < a->ntasks; j++) {
            task *t = a->tasks[j];
            if (t->k.job == k.job && t->k.task == k.task &&
                (k.epoch < 0 || t->k.epoch == k.epoch)) {
                if (!t->stopping) t->grace = grace;
                stop_task(a, t, why && *why ? why : "the server says so");
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- launching ------------------------------------------------------------------------ */

static void launch_one(agent *a, const json_t *as)
{
    akey k;
    if (key_from_json(as, &k) || k.epoch < 0) {
        say(a, "ignoring an assignment without job, task and epoch");
        return;
    }
    pthread_mutex_lock(&a->mu);
    int dup = find_task(a, k) != NULL || recently_done(a, k);
    pthread_mutex_unlock(&a->mu);
    if (dup) return; /* idempotent per (job, task, epoch) */

    task *t = calloc(1, sizeof *t);
    if (!t) return;
    t->k = k;
    t->grace = -1;
    snprintf(t->desc, sizeof t->desc, "%" PRId64 ".%d (epoch %" PRId64 ")", k.job, k.task, k.epoch);
    const json_t *cmd = json_object_get(as, "command"), *envo = json_object_get(as, "env"),
                 *devs = json_object_get(as, "devices");
    size_t ncmd = json_array_size(cmd), nenv = json_object_size(envo), ndev = json_array_size(devs);
    char **argv = calloc(ncmd + 1, sizeof *argv);
    char **env = calloc(nenv + 1, sizeof *env);
    int *dv = calloc(ndev + 1, sizeof *dv);
    allot_diag d = {0};
    int rc = argv && env && dv ? 0 : allot_diag_set(&d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; !rc && i < ncmd; i++) {
        const char *s = json_string_value(json_array_get(cmd, i));
        if (!s) rc = allot_diag_set(&d, ALLOT_EINVAL, NULL, 0, 0, "command: not strings");
        argv[i] = (char *)s;
    }
    if (!rc && ncmd == 0) rc = allot_diag_set(&d, ALLOT_EINVAL, NULL, 0, 0, "empty command");
    size_t ne = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)envo, key, val)
    {
        if (rc || !json_is_string(val) || !*key || strchr(key, '=')) continue;
        size_t n = strlen(key) + strlen(json_string_value(val)) + 2;
        env[ne] = malloc(n);
        if (env[ne]) snprintf(env[ne], n, "%s=%s", key, json_string_value(val));
        ne++;
    }
    for (size_t i = 0; !rc && i < ndev; i++) {
        const json_t *x = json_array_get(devs, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 1023)
            rc = allot_diag_set(&d, ALLOT_EINVAL, NULL, 0, 0, "devices: not device indexes");
        else
            dv[i] = (int)json_integer_value(x);
    }
    const json_t *gs = json_object_get(as, "gang_size");
    if (!rc) {
        allot_task_spec spec = {
            .job = k.job,
            .task = k.task,
            .epoch = k.epoch,
            .argv = argv,
            .env = env,
            .workdir = json_string_value(json_object_get(as, "workdir")),
            .devices = dv,
            .ndevices = ndev,
            .gang_size = json_is_integer(gs) ? (int)json_integer_value(gs) : 1,
            .node = a->cfg->name,
            .log_dir = a->log_dir,
        };
        rc = allot_proc_spawn(&spec, &t->proc, &d);
    }
    char dl[256] = "none";
    for (size_t i = 0, o = 0; !rc && i < ndev && o + 12 < sizeof dl; i++)
        o += (size_t)snprintf(dl + o, sizeof dl - o, "%s%d", i ? "," : "", dv[i]);
    for (size_t i = 0; i < ne; i++) free(env[i]);
    free(env);
    free(argv);
    free(dv);

    pthread_mutex_lock(&a->mu);
    if (a->ntasks == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        task **nt = realloc(a->tasks, cap * sizeof *nt);
        if (!nt) {
            pthread_mutex_unlock(&a->mu);
            if (!rc) allot_proc_term(&t->proc, allot_mono_now()); /* cannot track it */
            free(t);
            return;
        }
        a->tasks = nt;
        a->cap = cap;
    }
    a->tasks[a->ntasks++] = t;
    /* once the lock is released the worker may reap and free t: keep what
     * the log line needs */
    char desc[sizeof t->desc];
    memcpy(desc, t->desc, sizeof desc);
    int pid = (int)t->proc.pid;
    if (rc) {
        t->failed = 1;
        t->exit_queued = 1;
        t->log[OUT].eof = t->log[ERR].eof = 1;
        queue_event(a, k, "failed_to_start", allot_wall_now(), json_pack("{ss}", "message", d.msg));
    } else {
        queue_event(a, k, "started", t->proc.start_time, NULL);
    }
    pthread_mutex_unlock(&a->mu);
    if (rc)
        say(a, "task %s failed to start: %s", desc, d.msg);
    else
        say(a, "task %s started: pid %d, devices %s", desc, pid, dl);
}

/* ---- the worker: reaping, events, logs ---------------------------------------------------- */

typedef struct worker {
    agent *a;
    allot_client *c;
    double next_event_try, event_backoff;
    double next_log, log_backoff;
} worker;

/* The server's verdict: 0 done, 1 retry later (unreachable, 5xx, 404 while
 * the node re-registers), -1 refused for good (other 4xx). */
static int post(worker *w, const char *what, json_t *body, long *status, json_t **reply)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", w->a->base, what);
    allot_diag d = {0};
    *reply = NULL;
    int rc = allot_client_call(w->c, "POST", path, body, status, reply, &d);
    if (rc || *status >= 500 || *status == 404 || *status == 0 || *status == 401) return 1;
    if (*status >= 200 && *status < 300) return 0;
    return -1;
}

static void post_events(worker *w, double now)
{
    agent *a = w->a;
    pthread_mutex_lock(&a->mu);
    json_t *evs = NULL;
    if (json_array_size(a->events) > 0 && now >= w->next_event_try) {
        evs = a->events;
        a->events = json_array();
    }
    pthread_mutex_unlock(&a->mu);
    if (!evs) return;
    json_t *body = json_pack("{sO}", "events", evs), *reply = NULL;
    long status = 0;
    int v = post(w, "events", body, &status, &reply);
    json_decref(body);
    if (v == -1) {
        char buf[256];
        say(a, "the server refused %zu event(s): %s", json_array_size(evs),
            allot_client_error_text(status, reply, buf, sizeof buf));
    }
    json_decref(reply);
    pthread_mutex_lock(&a->mu);
    if (v == 1) { /* put them back in front, try again later */
        json_array_extend(evs, a->events);
        json_decref(a->events);
        a->events = evs;
        evs = NULL;
        w->event_backoff = w->event_backoff > 0 ? w->event_backoff * 2 : BACKOFF_MIN_S;
        if (w->event_backoff > BACKOFF_MAX_S) w->event_backoff = BACKOFF_MAX_S;
        w->next_event_try = now + w->event_backoff;
    } else { /* delivered (or refused for good: do not loop on it) */
        w->event_backoff = 0;
        w->next_event_try = 0;
        size_t i;
        json_t *ev;
        json_array_foreach(evs, i, ev)
        {
            const char *ty = json_string_value(json_object_get(ev, "type"));
            akey k;
            if (!ty || strcmp(ty, "started") == 0 || key_from_json(ev, &k)) continue;
            task *t = find_task(a, k);
            if (t) t->exit_acked = 1;
        }
    }
    pthread_mutex_unlock(&a->mu);
    json_decref(evs);
}

/* Copies in[0..n) as UTF-8 text, invalid bytes as U+FFFD; an incomplete
 * sequence at the end is left for the next chunk unless final. Returns the
 * bytes of in consumed; out needs 3n + 1 bytes. */
static size_t utf8_clean(const unsigned char *in, size_t n, int final, char *out, size_t *outn)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = in[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len > 0 && !(c >= 0xc0 && c <= 0xc1) && c <= 0xf4;
        if (ok && len > 1) {
            if (i + len > n) { /* runs past the end: maybe incomplete */
                int prefix = 1;
                for (size_t j = 1; i + j < n; j++)
                    if ((in[i + j] & 0xc0) != 0x80) prefix = 0;
                if (prefix && !final) break;
                ok = 0;
            } else {
                for (size_t j = 1; j < len; j++)
                    if ((in[i + j] & 0xc0) != 0x80) ok = 0;
                if (ok && c == 0xe0 && in[i + 1] < 0xa0) ok = 0;  /* overlong */
                if (ok && c == 0xed && in[i + 1] >= 0xa0) ok = 0; /* surrogate */
                if (ok && c == 0xf0 && in[i + 1] < 0x90) ok = 0;
                if (ok && c == 0xf4 && in[i + 1] >= 0x90) ok = 0;
            }
        }
        if (ok) {
            memcpy(out + o, in + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += 1;
        }
    }
    out[o] = '\0';
    *outn = o;
    return i;
}

typedef struct pending {
    task *t;
    int s;
    size_t raw, up;
    int eof;
    json_t *chunk;
} pending;

static const char *stream_name(int s) { return s == OUT ? "stdout" : "stderr"; }

/* Builds the next chunk of one stream, or none. */
static int make_chunk(task *t, int s, int final, size_t room, pending *p)
{
    stream *st = &t->log[s];
    if (st->eof || st->broken || room == 0) return 0;
    const char *path = s == OUT ? t->proc.out_path : t->proc.err_path;
    struct stat sb;
    off_t size = stat(path, &sb) == 0 ? sb.st_size : 0;
    if (size <= st->raw && !final) return 0;
    size_t want = size > st->raw ? (size_t)(size - st->raw) : 0;
    if (want > CHUNK_MAX) want = CHUNK_MAX;
    if (want > room) want = room;
    unsigned char *raw = malloc(want + 1);
    char *txt = malloc(3 * want + 1);
    int made = 0;
    if (raw && txt) {
        ssize_t r = 0;
        int fd = want ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
            r = pread(fd, raw, want, st->raw);
            close(fd);
        }
        if (r < 0) r = 0;
        int last = final && st->raw + r >= size; /* everything there is */
        size_t outn = 0, used = utf8_clean(raw, (size_t)r, last, txt, &outn);
        if (used > 0 || last) {
            p->t = t;
            p->s = s;
            p->raw = used;
            p->up = outn;
            p->eof = last && used == (size_t)r;
            p->chunk = json_pack("{sI sI sI ss sI ss% sb}", "job", (json_int_t)t->k.job, "task",
                                 (json_int_t)t->k.task, "epoch", (json_int_t)t->k.epoch, "stream",
                                 stream_name(s), "offset", (json_int_t)st->up, "data", txt, outn,
                                 "eof", p->eof);
            made = p->chunk != NULL;
        }
    }
    free(raw);
    free(txt);
    return made;
}

static void chunk_done(pending *p)
{
    stream *st = &p->t->log[p->s];
    st->raw += (off_t)p->raw;
    st->up += (int64_t)p->up;
    if (p->eof) st->eof = 1;
}

/* After a 409: the expected offset is the last number in the message. */
static long long expected_offset(const json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    long long v = -1;
    for (const char *q = m; q && *q; q++)
        if (*q >= '0' && *q <= '9' && (q == m || q[-1] < '0' || q[-1] > '9'))
            v = strtoll(q, NULL, 10);
    return v;
}

static void upload_logs(worker *w, double now)
{
    agent *a = w->a;
    if (now < w->next_log) return;
    /* one snapshot of the tasks; only this thread frees them */
    pthread_mutex_lock(&a->mu);
    size_t n = a->ntasks;
    task **snap = malloc((n ? n : 1) * sizeof *snap);
    int *final = malloc((n ? n : 1) * sizeof *final);
    if (snap && final)
        for (size_t i = 0; i < n; i++) {
            snap[i] = a->tasks[i];
            final[i] = snap[i]->proc.exited && snap[i]->proc.group_gone;
        }
    pthread_mutex_unlock(&a->mu);
    if (!snap || !final) {
        free(snap);
        free(final);
        return;
    }
    pending *ps = calloc(2 * n + 1, sizeof *ps);
    size_t np = 0, room = REQ_RAW_MAX;
    for (size_t i = 0; ps && i < n && room > 0; i++)
        for (int s = 0; s < 2; s++)
            if (make_chunk(snap[i], s, final[i], room, &ps[np])) room -= ps[np++].raw;
    int again = room == 0;
    if (np > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < np; i++) json_array_append(arr, ps[i].chunk);
        json_t *body = json_pack("{so}", "chunks", arr), *reply = NULL;
        long status = 0;
        int v = post(w, "logs", body, &status, &reply);
        json_decref(body);
        json_decref(reply);
        if (v == 0) {
            for (size_t i = 0; i < np; i++) chunk_done(&ps[i]);
        } else if (v == 1) {
            w->log_backoff = w->log_backoff > 0 ? w->log_backoff * 2 : BACKOFF_MIN_S;
            if (w->log_backoff > BACKOFF_MAX_S) w->log_backoff = BACKOFF_MAX_S;
            w->next_log = now + w->log_backoff;
            again = 0;
        } else { /* a conflict somewhere: one chunk at a time */
            for (size_t i = 0; i < np; i++) {
                json_t *one = json_pack("{s[O]}", "chunks", ps[i].chunk);
                reply = NULL;
                v = post(w, "logs", one, &status, &reply);
                json_decref(one);
                if (v == 0) {
                    chunk_done(&ps[i]);
                } else if (v == -1) {
                    long long ex = status == 409 ? expected_offset(reply) : -1;
                    stream *st = &ps[i].t->log[ps[i].s];
                    if (ex >= 0 && ex == st->up + (long long)ps[i].up) {
                        chunk_done(&ps[i]); /* it had it already */
                    } else {
                        char buf[256];
                        st->broken = 1;
                        say(a, "task %s: the server refused its %s log (%s); not sending more",
                            ps[i].t->desc, stream_name(ps[i].s),
                            allot_client_error_text(status, reply, buf, sizeof buf));
                    }
                }
                json_decref(reply);
            }
        }
        if (v != 1) {
            w->log_backoff = 0;
            w->next_log = again ? now : now + LOG_PERIOD_S;
        }
    } else {
        w->next_log = now + LOG_PERIOD_S;
    }
    for (size_t i = 0; i < np; i++) json_decref(ps[i].chunk);
    free(ps);
    free(snap);
    free(final);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    agent *a = w->a;
    const double grace = a->cfg->grace;
    for (;;) {
        double now = allot_mono_now();
        int any_final = 0;
        pthread_mutex_lock(&a->mu);
        for (size_t i = 0; i < a->ntasks; i++) {
            task *t = a->tasks[i];
            if (t->failed) continue;
            if (allot_proc_poll(&t->proc)) {
                char buf[96];
                t->exit_queued = 1;
                json_t *x = t->proc.signal ? json_pack("{si}", "signal", t->proc.signal)
                                           : json_pack("{si}", "exit_code", t->proc.exit_code);
                queue_event(a, t->k, "exited", t->proc.end_time, x);
                say(a, "task %s ended: %s", t->desc,
                    allot_proc_describe(&t->proc, buf, sizeof buf));
                /* what is left of its group gets the same treatment as a stop */
                if (!t->stopping && kill(-t->proc.pid, 0) == 0) allot_proc_term(&t->proc, now);
            }
            allot_proc_tick(&t->proc, now, t->grace >= 0 ? t->grace : grace);
            if (t->proc.exited && t->proc.group_gone && !(t->log[OUT].eof && t->log[ERR].eof))
                any_final = 1;
        }
        pthread_mutex_unlock(&a->mu);

        post_events(w, now);
        if (any_final && w->log_backoff == 0) w->next_log = 0; /* the end of a log: now */
        upload_logs(w, now);

        /* forget the tasks that are over and known to be */
        pthread_mutex_lock(&a->mu);
        size_t o = 0;
        int all_exited = 1;
        for (size_t i = 0; i < a->ntasks; i++) {
            task *t = a->tasks[i];
            int logs_done =
                (t->log[OUT].eof || t->log[OUT].broken) && (t->log[ERR].eof || t->log[ERR].broken);
            if (!t->failed && !(t->proc.exited && t->proc.group_gone)) all_exited = 0;
            if (t->exit_acked && logs_done && (t->failed || t->proc.group_gone)) {
                a->recent[a->nrecent++ % RECENT_KEYS] = t->k;
                free(t);
            } else {
                a->tasks[o++] = t;
            }
        }
        a->ntasks = o;
        int done = a->shutting &&
                   (a->ntasks == 0 || (all_exited && allot_mono_now() >= a->shutdown_deadline));
        if (!done) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(TICK_S * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (json_array_size(a->events) == 0) pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        }
        size_t left = done ? json_array_size(a->events) + a->ntasks : 0;
        pthread_mutex_unlock(&a->mu);
        if (left) say(a, "the server is away: %zu event(s) or log(s) of tasks not reported", left);
        if (done) break;
    }
    return NULL;
}

/* ---- the main thread: register and poll ---------------------------------------------- */

static json_t *register_body(agent *a)
{
    const allot_agent_config *c = a->cfg;
    const allot_inventory *inv = &c->inv;
    json_t *b = json_pack("{ss ss si sI sI}", "name", c->name, "chip", inv->chip, "devices",
                          inv->devices, "cpu", (json_int_t)inv->cpu, "mem", (json_int_t)inv->mem);
    if (c->zone && *c->zone) json_object_set_new(b, "zone", json_string(c->zone));
    if (c->block && *c->block) json_object_set_new(b, "block", json_string(c->block));
    if (c->rack && *c->rack) json_object_set_new(b, "rack", json_string(c->rack));
    if (inv->ngpus > 0) {
        json_t *g = json_array();
        for (size_t i = 0; i < inv->ngpus; i++)
            json_array_append_new(g, json_pack("{si ss ss sI}", "index", inv->gpus[i].index, "uuid",
                                               inv->gpus[i].uuid, "model", inv->gpus[i].model,
                                               "memory_mib", (json_int_t)inv->gpus[i].memory_mib));
        json_object_set_new(b, "gpus", g);
    }
    pthread_mutex_lock(&a->mu);
    json_object_set_new(b, "running", running_json(a));
    pthread_mutex_unlock(&a->mu);
    return b;
}

/* 0 registered; 1 try again; an error code when refused for good. */
static int do_register(agent *a, allot_client *c, int first, allot_diag *d)
{
    json_t *body = register_body(a), *reply = NULL;
    long status = 0;
    allot_diag cd = {0};
    int rc = allot_client_call(c, "POST", "/v1/nodes", body, &status, &reply, &cd);
    json_decref(body);
    if (rc || status >= 500 || status == 0) {
        if (!a->server_lost)
            say(a, "cannot register: %s; retrying", rc ? cd.msg : "the server is unavailable");
        a->server_lost = 1;
        json_decref(reply);
        return 1;
    }
    if (status != 200) {
        char buf[300];
        allot_client_error_text(status, reply, buf, sizeof buf);
        json_decref(reply);
        if (first) /* a misconfiguration: say so and stop */
            return allot_diag_set(d, status == 401 || status == 403 ? ALLOT_EINVAL : ALLOT_ESTATE,
                                  NULL, 0, 0, "the server refused the node (HTTP %ld): %s", status,
                                  buf);
        say(a, "the server refused the node (HTTP %ld): %s; retrying", status, buf);
        return 1;
    }
    if (a->server_lost || first)
        say(a, "%s with the server", first ? "registered" : "registered again");
    a->server_lost = 0;
    handle_kills(a, json_object_get(reply, "kill"));
    json_decref(reply);
    return 0;
}

void allot_agent_config_init(allot_agent_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->grace = 10;
    cfg->poll_wait = 2;
    cfg->work_dir = ".";
}

int allot_agent_run(const allot_agent_config *cfg, volatile int *stop, allot_diag *d)
{
    if (!cfg->name || !*cfg->name)
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "the node needs a name");
    agent *a = calloc(1, sizeof *a);
    if (!a) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    a->cfg = cfg;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->log_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    a->events = json_array();
    snprintf(a->log_dir, sizeof a->log_dir, "%s/logs",
             cfg->work_dir && *cfg->work_dir ? cfg->work_dir : ".");
    char esc[256];
    snprintf(a->base, sizeof a->base, "/v1/nodes/%s",
             allot_client_escape(cfg->name, esc, sizeof esc));
    double wait = cfg->poll_wait > 0 ? cfg->poll_wait : 2;
    if (wait > 30) wait = 30;

    allot_client *mc = allot_client_new(cfg->server, cfg->token);
    worker w = {.a = a, .c = allot_client_new(cfg->server, cfg->token)};
    int rc = 0;
    pthread_t th;
    int started = 0;
    if (!mc || !w.c || !a->events) {
        rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    allot_client_set_timeout(mc, wait + 15);
    allot_client_set_timeout(w.c, 15);

    /* register (the first refusal for good ends it) */
    double backoff = BACKOFF_MIN_S;
    for (;;) {
        if (*stop) goto out;
        int r = do_register(a, mc, 1, d);
        if (r == 0) break;
        if (r < 0) {
            rc = r;
            goto out;
        }
        nap(stop, backoff);
        backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
    }
    if (pthread_create(&th, NULL, worker_main, &w) != 0) {
        rc = allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "cannot start the agent's worker thread");
        goto out;
    }
    started = 1;

    char path[700];
    /* whole seconds on the wire (the API's S), at least 1: never a busy loop */
    snprintf(path, sizeof path, "%s/poll?wait=%d", a->base, (int)ceil(wait));
    int need_register = 0;
    backoff = BACKOFF_MIN_S;
    while (!*stop) {
        if (need_register) {
            int r = do_register(a, mc, 0, d);
            if (r) {
                nap(stop, backoff);
                backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
                continue;
            }
            need_register = 0;
            backoff = BACKOFF_MIN_S;
        }
        pthread_mutex_lock(&a->mu);
        json_t *body = json_pack("{so}", "running", running_json(a));
        pthread_mutex_unlock(&a->mu);
        json_t *reply = NULL;
        long status = 0;
        allot_diag cd = {0};
        int r = allot_client_call(mc, "POST", path, body, &status, &reply, &cd);
        json_decref(body);
        if (r || status >= 500 || status == 0 || status == 404) {
            if (!a->server_lost)
                say(a, "lost the server: %s; retrying (tasks keep running)",
                    r               ? cd.msg
                    : status == 404 ? "it does not know this node"
                                    : "unavailable");
            a->server_lost = 1;
            need_register = 1;
            json_decref(reply);
            nap(stop, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
            continue;
        }
        if (status != 200) {
            char buf[300];
            say(a, "poll refused (HTTP %ld): %s", status,
                allot_client_error_text(status, reply, buf, sizeof buf));
            json_decref(reply);
            nap(stop, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
            continue;
        }
        backoff = BACKOFF_MIN_S;
        handle_kills(a, json_object_get(reply, "kill"));
        size_t i;
        json_t *as;
        json_array_foreach(json_object_get(reply, "assign"), i, as) launch_one(a, as);
        json_decref(reply);
    }

    /* stop: every task gets SIGTERM, the worker the rest */
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->ntasks; i++) stop_task(a, a->tasks[i], "the agent is stopping");
    a->shutting = 1;
    a->shutdown_deadline = allot_mono_now() + cfg->grace + SHUTDOWN_EXTRA;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);

out:
    if (started) pthread_join(th, NULL);
    for (size_t i = 0; i < a->ntasks; i++) free(a->tasks[i]);
    free(a->tasks);
    json_decref(a->events);
    allot_client_free(mc);
    allot_client_free(w.c);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->log_mu);
    free(a);
    return rc;
}
