/* src/server/jobev.c - each job's recent events for the dashboard's job page
 * and GET /v1/jobs/{id}: started (with where), preempted, requeued and how
 * it ended, each with its time, epoch and the reason in words. "submitted"
 * is the job's submit_time and is not stored. A job keeps its last
 * JEV_MAX events (a job requeued a hundred times keeps the latest ones);
 * they are saved with the job's record, so they survive a restart.
 * State-thread code: nothing here is locked. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/sched.h"
#include "state_int.h"

#define JEV_MAX 16

enum { JEV_STARTED = 0, JEV_PREEMPTED, JEV_REQUEUED, JEV_SUCCEEDED, JEV_FAILED, JEV_CANCELLED };
static const char *jev_names[] = {"started",   "preempted", "requeued",
                                  "succeeded", "failed",    "cancelled"};
#define JEV_NTYPES ((int)(sizeof jev_names / sizeof jev_names[0]))

typedef struct srv_jev {
    double t;       /* wall clock, s */
    uint32_t epoch; /* the job's epoch when it happened */
    uint8_t type;   /* JEV_* */
    char *detail;   /* words (malloc'd), or NULL */
} srv_jev;

static void jev_add(srv_job *j, double t, int type, const char *detail)
{
    if (j->nev == JEV_MAX) { /* the oldest goes */
        free(j->ev[0].detail);
        memmove(j->ev, j->ev + 1, (JEV_MAX - 1) * sizeof *j->ev);
        j->nev--;
    }
    if (j->nev == j->cev) {
        uint8_t cap = j->cev ? (uint8_t)(j->cev * 2) : 2;
        if (cap > JEV_MAX) cap = JEV_MAX;
        srv_jev *v = realloc(j->ev, cap * sizeof *v);
        if (!v) return; /* out of memory: the event is not recorded */
        j->ev = v;
        j->cev = cap;
    }
    srv_jev *e = &j->ev[j->nev++];
    e->t = t;
    e->epoch = j->epoch;
    e->type = (uint8_t)type;
    e->detail = detail && *detail ? strdup(detail) : NULL;
}

void st_jev_state(srv_state *st, srv_job *j, int old)
{
    int now = j->state, type;
    if (old == ALLOT_JOB_PENDING && now == ALLOT_JOB_RUNNING)
        type = JEV_STARTED;
    else if (old == ALLOT_JOB_RUNNING && now == ALLOT_JOB_PENDING)
        type = j->reason && strncmp(j->reason, "preempted", 9) == 0 ? JEV_PREEMPTED : JEV_REQUEUED;
    else if (now == ALLOT_JOB_SUCCEEDED)
        type = JEV_SUCCEEDED;
    else if (now == ALLOT_JOB_FAILED)
        type = JEV_FAILED;
    else if (now == ALLOT_JOB_CANCELLED)
        type = JEV_CANCELLED;
    else
        return;
    jev_add(j, st->now, type, type == JEV_STARTED ? NULL : j->reason);
}

void st_jev_placed(srv_state *st, srv_job *j)
{
    if (!j->nev || !j->tasks) return;
    srv_jev *e = &j->ev[j->nev - 1];
    if (e->type != JEV_STARTED || e->epoch != j->epoch || e->detail) return;
    /* "on sim-1, sim-2 and 3 more" */
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof buf, "on ");
    int shown = 0, distinct = 0;
    for (int t = 0; t < j->gang; t++) {
        uint32_t nd = j->tasks[t].node;
        if (nd >= st->nnodes) continue;
        int seen = 0;
        for (int u = 0; u < t && !seen; u++) seen = j->tasks[u].node == nd;
        if (seen) continue;
        distinct++;
        if (shown < 3 && n < 180) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", shown ? ", " : "",
                                  st->nodes[nd].name);
            shown++;
        }
    }
    if (!distinct) return;
    if (distinct > shown)
        snprintf(buf + n, sizeof buf - n, " and %d more node%s", distinct - shown,
                 distinct - shown > 1 ? "s" : "");
    e->detail = strdup(buf);
}

static json_t *jev_one(double t, const char *type, uint32_t epoch, const char *detail)
{
    return json_pack("{s:f,s:s,s:I,s:s}", "time", t, "type", type, "epoch", (json_int_t)epoch,
                     "detail", detail ? detail : "");
}

json_t *st_jev_json(const srv_job *j)
{
    json_t *a = json_array();
    json_array_append_new(a, jev_one(j->submit_time, "submitted", 0, NULL));
    for (int k = 0; k < j->nev; k++)
        json_array_append_new(
            a, jev_one(j->ev[k].t, jev_names[j->ev[k].type], j->ev[k].epoch, j->ev[k].detail));
    return a;
}

json_t *st_jev_record(const srv_job *j)
{
    if (!j->nev) return NULL;
    json_t *a = json_array();
    for (int k = 0; k < j->nev; k++) {
        const srv_jev *e = &j->ev[k];
        json_t *o = json_pack("{s:f,s:s,s:I}", "t", e->t, "type", jev_names[e->type], "epoch",
                              (json_int_t)e->epoch);
        if (e->detail) json_object_set_new(o, "detail", json_string(e->detail));
        json_array_append_new(a, o);
    }
    return a;
}

void st_jev_load(srv_job *j, json_t *events)
{
    size_t k;
    json_t *o;
    if (!json_is_array(events)) return;
    json_array_foreach(events, k, o)
    {
        const char *type = json_string_value(json_object_get(o, "type"));
        int ty = -1;
        for (int x = 0; type && x < JEV_NTYPES; x++)
            if (strcmp(type, jev_names[x]) == 0) ty = x;
        json_t *t = json_object_get(o, "t"), *ep = json_object_get(o, "epoch");
        if (ty < 0 || !json_is_number(t) || !json_is_integer(ep)) continue; /* unreadable: skip */
        uint32_t keep = j->epoch;
        j->epoch = (uint32_t)json_integer_value(ep);
        jev_add(j, json_number_value(t), ty, json_string_value(json_object_get(o, "detail")));
        j->epoch = keep;
    }
}

void st_jev_free(srv_job *j)
{
    for (int k = 0; k < j->nev; k++) free(j->ev[k].detail);
    free(j->ev);
    j->ev = NULL;
    j->nev = j->cev = 0;
}
