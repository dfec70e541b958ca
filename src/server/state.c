/* src/server/state.c - the state thread: it owns the scheduler core, the
 * job table, the node registry, the tenants and the store. HTTP threads
 * post requests (srv_state_post); the thread takes everything queued,
 * applies it, commits one batch to SQLite (group commit), and only then
 * hands the replies back (srv_http_done). Decisions are thus durable before
 * an agent hears of them.
 *
 * The core's cluster is frozen once built, so a change of the node registry
 * (a new node, a changed inventory, new tenants) rebuilds the core: running
 * jobs are RESTOREd on their devices, pending ones submitted again in id
 * order. Restarts recover the same way from the store.
 *
 * Agents are told what to run by level: each poll reports the tasks an
 * agent runs; anything not wanted (cancelled, requeued, another epoch) is
 * killed, and assignments are delivered once per (job, task, epoch). A task
 * delivered but neither reported nor started within node_timeout is lost:
 * its job is requeued.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "allot/cluster.h"
#include "allot/sched.h"
#include "allot/store.h"
#include "state_int.h"

/* ---- housekeeping: heartbeats, time limits, lost tasks, simulated nodes, ticks ------------- */

/* A finished job past job_retention leaves memory, the store (at the next
 * commit) and the log directory. */
static void expire(srv_state *st, srv_job *j)
{
    if (st_grow((void **)&st->gone, &st->gone_cap, st->ngone + 1, sizeof *st->gone)) return;
    st->gone[st->ngone++] = j->id;
    st->writes++;
    char dir[1100], path[1400];
    snprintf(dir, sizeof dir, "%s/logs/%" PRIu32, st->cfg.data, j->id);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    rmdir(dir);
    st->count[j->state]--;
    st->jobs[j->id] = NULL;
    st->expired++;
    st_job_free(j);
}

static void housekeeping(srv_state *st)
{
    double now = st->now;
    int nodes_due = now - st->last_nodes >= 0.1;
    if (nodes_due) st->last_nodes = now;
    for (uint32_t i = 0; nodes_due && i < st->nnodes; i++) {
        srv_node *n = &st->nodes[i];
        if (n->poll && n->poll->deadline <= now) {
            srv_req *r = n->poll;
            n->poll = NULL;
            st_poll_reply(st, i, r);
        }
        if (n->up && !n->simulated && now - n->last_seen > st->cfg.node_timeout) {
            n->up = 0;
            n->dirty = 1;
            st->writes++;
            st_logf_(st, "node %s is down (no heartbeat for %.0f s): its jobs are requeued",
                     n->name, now - n->last_seen);
            snprintf(st->why_buf, sizeof st->why_buf, "requeued: node %s down", n->name);
            st->stop_why = st->why_buf;
            allot_event ev = {.kind = ALLOT_EV_NODE_DOWN, .node = i};
            if (st->s && !st->need_rebuild)
                st_core_event(st, &ev);
            else
                st->need_rebuild = 1;
            st->stop_why = NULL;
        }
    }
    if (now - st->last_house < 0.2) return;
    st->last_house = now;
    /* simulated tasks that are due */
    for (size_t k = 0; k < st->nsim;) {
        simtask s = st->sim[k];
        if (s.end > now) {
            k++;
            continue;
        }
        st->sim[k] = st->sim[--st->nsim];
        srv_job *j = st_job_get(st, s.job);
        if (j && j->state == ALLOT_JOB_RUNNING && j->epoch == s.epoch && j->tasks)
            st_task_exit(st, j, s.task, 0, 0, NULL, j->tasks[s.task].node);
    }
    int scan = now - st->last_scan >= 1;
    if (scan) st->last_scan = now;
    double keep = st->cfg.job_retention;
    for (uint32_t id = 1; scan && id < st->next_id; id++) {
        srv_job *j = st_job_get(st, id);
        if (j && j->state > ALLOT_JOB_RUNNING && keep > 0 && j->end_time > 0 &&
            now - j->end_time > keep && id + 1 < st->next_id) {
            expire(st, j); /* the newest job stays: its id keeps the numbering going */
            continue;
        }
        if (!j || j->state != ALLOT_JOB_RUNNING) continue;
        if (j->time_limit && now - j->start_time > (double)j->time_limit) {
            allot_event ev = {.kind = ALLOT_EV_CANCEL, .job = j->cid};
            st_core_event(st, &ev);
            st_job_reason(j, "time limit (%" PRId64 " s)", j->time_limit);
            st_job_end(st, j, ALLOT_JOB_FAILED, "time limit");
            st_logf_(st, "job %" PRIu32 " killed: time limit", id);
            continue;
        }
        int lost = -1;
        for (int t = 0; j->tasks && t < j->gang; t++)
            if (j->tasks[t].st == T_SENT && now - j->tasks[t].sent > st->cfg.node_timeout) lost = t;
        if (lost >= 0 && st->s && !st->need_rebuild) {
            snprintf(st->why_buf, sizeof st->why_buf, "requeued: task %d never started on %s", lost,
                     st->nodes[j->tasks[lost].node].name);
            st->stop_why = st->why_buf;
            allot_event ev = {.kind = ALLOT_EV_REQUEUE, .job = j->cid};
            st_core_event(st, &ev);
            st->stop_why = NULL;
        }
    }
    if (st->s && st->count[ALLOT_JOB_PENDING] && now - st->last_tick >= 1) {
        st->last_tick = now;
        allot_event ev = {.kind = ALLOT_EV_TICK};
        st_core_event(st, &ev);
    }
}

/* ---- the thread -------------------------------------------------------------------------------
 */

static void *run(void *arg)
{
    srv_state *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        if (!st->qhead && !st->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&st->cv, &st->mu, &ts);
        }
        srv_req *q = st->qhead;
        st->qhead = st->qtail = NULL;
        int stopping = st->stopping;
        pthread_mutex_unlock(&st->mu);
        st->now = st_wall_now();
        size_t nreq = 0;
        for (srv_req *r = q; r;) {
            srv_req *next = r->next;
            r->next = NULL;
            nreq++;
            if (stopping) {
                srv_reply_error(r, 503, "unavailable", "the server is shutting down");
                st_finish(st, r);
            } else if (!st_handle(st, r)) {
                st_finish(st, r);
            }
            r = next;
        }
        if (!stopping) {
            housekeeping(st);
            st_svc_tick(st); /* inference services: load samples, autoscaling */
            st_dash_tick(st);
        }
        if (st->need_rebuild && (stopping || st_mono_now() >= st->rebuild_after)) {
            double t0 = st_mono_now();
            int rc = st_rebuild(st);
            if (rc)
                fprintf(stderr, "allot server: rebuilding the scheduler failed: %s\n",
                        allot_strerror(rc));
            double dt = st_mono_now() - t0;
            if (dt > 0.5) st_logf_(st, "scheduler rebuilt in %.2f s", dt);
            /* while nodes keep joining, rebuild at most every 4x what one costs */
            st->rebuild_after = st_mono_now() + 4 * dt;
        }
        for (size_t k = 0; k < st->nwake; k++) {
            st->nodes[st->wake[k]].woke = 0;
            st_node_wake(st, st->wake[k]);
        }
        st->nwake = 0;
        if (st->ndirty || st->writes) {
            double t0 = st_mono_now();
            int rc = allot_store_begin(st->store);
            if (rc == 0) rc = st_flush(st);
            if (rc == 0)
                rc = allot_store_commit(st->store);
            else
                allot_store_rollback(st->store);
            st->writes = 0;
            if (rc) {
                /* memory and disk disagree now: refuse, and stop so that a
                 * restart recovers from what is on disk */
                fprintf(stderr, "allot server: FATAL: cannot commit to the store: %s\n",
                        allot_strerror(rc));
                for (size_t k = 0; k < st->ndone; k++) {
                    srv_reply_error(st->done[k], 503, "unavailable", "the store failed: %s",
                                    allot_strerror(rc));
                    srv_http_done(st->done[k]);
                }
                _exit(70);
            }
            st->commits++;
            hist_add(&st->lat_commit, st_mono_now() - t0);
            hist_add(&st->batch, (double)nreq);
        }
        for (size_t k = 0; k < st->ndone; k++) srv_http_done(st->done[k]);
        st->ndone = 0;
        if (stopping) {
            for (uint32_t i = 0; i < st->nnodes; i++)
                if (st->nodes[i].poll) {
                    srv_req *r = st->nodes[i].poll;
                    st->nodes[i].poll = NULL;
                    srv_reply_error(r, 503, "unavailable", "the server is shutting down");
                    srv_http_done(r);
                }
            pthread_mutex_lock(&st->mu);
            int empty = st->qhead == NULL;
            pthread_mutex_unlock(&st->mu);
            if (empty) break;
        }
    }
    return NULL;
}

void srv_state_post(srv_state *st, srv_req *r)
{
    pthread_mutex_lock(&st->mu);
    if (st->stopped) { /* the thread is gone: refuse at once */
        pthread_mutex_unlock(&st->mu);
        srv_reply_error(r, 503, "unavailable", "the server is shutting down");
        srv_http_done(r);
        return;
    }
    r->next = NULL;
    if (st->qtail)
        st->qtail->next = r;
    else
        st->qhead = r;
    st->qtail = r;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

const char *srv_state_data_dir(const srv_state *st) { return st->cfg.data; }

int srv_state_start(srv_state **out, const allot_server_config *cfg, allot_diag *d)
{
    srv_state *st = calloc(1, sizeof *st);
    if (!st) return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    st->cfg = *cfg;
    st->tenants = calloc(ALLOT_SERVER_MAX_TENANTS, sizeof *st->tenants);
    st->next_id = 1;
    st->now = st_wall_now();
    int p = allot_sched_policy_parse(cfg->policy), pl = allot_policy_parse(cfg->placement);
    int rc = 0;
    if (p < 0)
        rc = allot_diag_set(
            d, ALLOT_EINVAL, NULL, 0, 0,
            "policy: '%s' is not one of fifo, fifo-backfill, priority-preempt, las, drf, allot",
            cfg->policy);
    else if (pl < 0)
        rc = allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "placement: unknown '%s'", cfg->placement);
    st->policy = p;
    st->placement = pl;
    if (!st->tenants && rc == 0) rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    if (rc == 0) rc = allot_store_open(&st->store, cfg->data, d);
    if (rc == 0) {
        allot_store_visitor v = {st, st_rec_job, st_rec_task, st_rec_node, st_rec_tenant};
        /* tenants and nodes first: jobs refer to them */
        allot_store_visitor v1 = {st, NULL, NULL, st_rec_node, st_rec_tenant};
        rc = allot_store_load(st->store, &v1);
        v.node = NULL;
        v.tenant = NULL;
        if (rc == 0) rc = allot_store_load(st->store, &v);
        if (rc)
            allot_diag_set(d, rc, cfg->data, 0, 0, "cannot recover the state: %s",
                           allot_strerror(rc));
        int64_t mx = allot_store_max_job_id(st->store);
        if (mx >= 0 && (uint32_t)mx + 1 > st->next_id) st->next_id = (uint32_t)mx + 1;
    }
    /* configured tenants override stored ones */
    for (int i = 0; rc == 0 && i < cfg->ntenants; i++) {
        const allot_server_tenant *ct = &cfg->tenants[i];
        int k = st_tenant_add(st, ct->name);
        if (k < 0) break;
        srv_tenant *t = &st->tenants[k];
        t->weight = ct->weight;
        t->borrow_limit = ct->borrow_limit;
        t->nquota = ct->nquota;
        for (int q = 0; q < ct->nquota; q++) {
            memcpy(t->quota_chip[q], ct->quota_chip[q], 64);
            t->quota_devices[q] = ct->quota_devices[q];
        }
        t->dirty = 1;
        st->writes++;
    }
    if (rc == 0 && st_tenant_index(st, "default") < 0) st_tenant_add(st, "default");
    /* simulated nodes of --dev */
    for (int i = 0; rc == 0 && i < cfg->sim_nodes; i++) {
        char name[64];
        snprintf(name, sizeof name, "sim-%d", i + 1);
        if (st_node_find(st, name) >= 0) continue;
        if (st->nnodes + 1 > st->nodes_cap) {
            size_t cap = st->nodes_cap ? st->nodes_cap * 2 : 16;
            srv_node *v = realloc(st->nodes, cap * sizeof *v);
            if (!v) break;
            st->nodes = v;
            st->nodes_cap = (uint32_t)cap;
        }
        srv_node *n = &st->nodes[st->nnodes++];
        memset(n, 0, sizeof *n);
        snprintf(n->name, 64, "%s", name);
        snprintf(n->chip, 64, "%s", cfg->sim_chip);
        snprintf(n->rack, 64, "sim-rack-%d", i / 8);
        n->ndev = cfg->sim_devices;
        n->cpu = 64000;
        n->mem = 512 * 1024;
        n->up = n->simulated = n->dirty = 1;
        st->writes++;
        if (st_chip_index(st, n->chip) < 0) snprintf(st->chips[st->nchips++], 64, "%s", n->chip);
    }
    if (rc == 0) rc = st_svc_start(st, d); /* services, linked to their replica jobs */
    if (rc == 0) {
        /* put everything back into a new core (RESTORE running, SUBMIT pending) */
        rc = st_rebuild(st);
        if (rc)
            allot_diag_set(d, rc, NULL, 0, 0, "cannot start the scheduler: %s", allot_strerror(rc));
    }
    if (rc == 0 && (st->ndirty || st->writes)) {
        rc = allot_store_begin(st->store);
        if (rc == 0) rc = st_flush(st);
        if (rc == 0) rc = allot_store_commit(st->store);
        st->writes = 0;
        if (rc)
            allot_diag_set(d, rc, cfg->data, 0, 0, "cannot write the store: %s",
                           allot_strerror(rc));
    }
    if (rc == 0) {
        pthread_mutex_init(&st->mu, NULL);
        pthread_cond_init(&st->cv, NULL);
        if (pthread_create(&st->th, NULL, run, st))
            rc = allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "cannot start a thread");
        else
            st->started = 1;
    }
    if (rc) {
        srv_state_free(st);
        return rc;
    }
    if (st->count[0] + st->count[1])
        st_logf_(st,
                 "recovered %" PRIu64 " pending and %" PRIu64 " running jobs, %" PRIu32 " nodes",
                 st->count[0], st->count[1], st->nnodes);
    *out = st;
    return 0;
}

void srv_state_stop(srv_state *st)
{
    if (!st) return;
    if (st->started) {
        pthread_mutex_lock(&st->mu);
        st->stopping = 1;
        pthread_cond_signal(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->th, NULL);
        pthread_mutex_lock(&st->mu);
        st->stopped = 1;
        pthread_mutex_unlock(&st->mu);
        st->started = 0;
        st->joined = 1;
    }
}

void srv_state_free(srv_state *st)
{
    if (!st) return;
    srv_state_stop(st);
    if (st->joined) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
    }
    st_svc_free(st);
    for (uint32_t id = 0; id < st->jobs_cap; id++) st_job_free(st->jobs[id]);
    free(st->jobs);
    for (uint32_t i = 0; i < st->nnodes; i++) {
        json_decref(st->nodes[i].gpus);
        free(st->nodes[i].assign);
        free(st->nodes[i].kill);
    }
    free(st->nodes);
    free(st->tenants);
    free(st->ctenants);
    free(st->dirty);
    free(st->done);
    free(st->sim);
    free(st->wake);
    free(st->cid_job);
    free(st->cid_free);
    free(st->gone);
    allot_decisions_free(&st->dec);
    st_dash_free(st);
    allot_sched_free(st->s);
    allot_cluster_free(st->c);
    allot_store_close(st->store);
    free(st);
}
