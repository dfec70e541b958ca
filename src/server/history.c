/* src/server/history.c - fixed-size rings of fleet samples (devices in use
 * per chip type, queue depth, demand, nodes), written by the state thread
 * every interval seconds and read as columns by GET /v1/stats/history, which
 * the dashboard's charts draw. A ring never grows: the oldest sample makes
 * room for the newest. Example: cap 3, samples at t = 1, 2, 3, 4 -> the ring
 * holds 2, 3, 4 and srv_hring_json(h, 2.5, ...) gives t = 3, 4. */
#include <stdlib.h>
#include <string.h>

#include "ui_int.h"

int srv_hring_init(srv_hring *h, size_t cap, double interval)
{
    memset(h, 0, sizeof *h);
    if (cap == 0 || !(interval > 0)) return -1;
    h->v = calloc(cap, sizeof *h->v);
    if (!h->v) return -1;
    h->cap = cap;
    h->interval = interval;
    return 0;
}

void srv_hring_fini(srv_hring *h)
{
    free(h->v);
    memset(h, 0, sizeof *h);
}

int srv_hring_due(const srv_hring *h, double now)
{
    /* a clock stepped back more than an interval restarts the cadence */
    return h->cap && (h->n == 0 || now - h->last >= h->interval || now < h->last - h->interval);
}

srv_hsample *srv_hring_push(srv_hring *h, double t)
{
    if (!h->cap) return NULL;
    srv_hsample *s = &h->v[h->head];
    memset(s, 0, sizeof *s);
    s->t = t;
    h->head = (h->head + 1) % h->cap;
    if (h->n < h->cap) h->n++;
    h->last = t;
    return s;
}

const srv_hsample *srv_hring_at(const srv_hring *h, size_t i)
{
    if (i >= h->n) return NULL;
    size_t first = (h->head + h->cap - h->n) % h->cap;
    return &h->v[(first + i) % h->cap];
}

static json_t *num(double x)
{
    /* devices with three decimals at most: milli / 1000 */
    return json_real(x);
}

json_t *srv_hring_json(const srv_hring *h, double since, int nchips, const char (*chips)[64])
{
    if (nchips > SRV_HIST_CHIPS) nchips = SRV_HIST_CHIPS;
    json_t *time = json_array(), *pend = json_array(), *run = json_array(), *nup = json_array(),
           *ndown = json_array(), *ndrain = json_array(), *dany = json_array(),
           *cobj = json_object();
    json_t *used[SRV_HIST_CHIPS], *total[SRV_HIST_CHIPS], *down[SRV_HIST_CHIPS],
        *dem[SRV_HIST_CHIPS];
    for (int k = 0; k < nchips; k++) {
        used[k] = json_array();
        total[k] = json_array();
        down[k] = json_array();
        dem[k] = json_array();
        json_object_set_new(cobj, chips[k],
                            json_pack("{s:o,s:o,s:o,s:o}", "used", used[k], "total", total[k],
                                      "down", down[k], "demand", dem[k]));
    }
    /* the samples are in time order: skip the old ones from the start */
    size_t i = 0;
    while (i < h->n && srv_hring_at(h, i)->t <= since) i++;
    for (; i < h->n; i++) {
        const srv_hsample *s = srv_hring_at(h, i);
        json_array_append_new(time, json_real(s->t));
        json_array_append_new(pend, json_integer(s->pending));
        json_array_append_new(run, json_integer(s->running));
        json_array_append_new(nup, json_integer(s->nodes_up));
        json_array_append_new(ndown, json_integer(s->nodes_down));
        json_array_append_new(ndrain, json_integer(s->nodes_drain));
        json_array_append_new(dany, num((double)s->demand_any / 1000.0));
        for (int k = 0; k < nchips; k++) {
            json_array_append_new(used[k], num(s->used[k] / 1000.0));
            json_array_append_new(total[k], json_integer(s->total[k]));
            json_array_append_new(down[k], json_integer(s->down[k]));
            json_array_append_new(dem[k], num((double)s->demand[k] / 1000.0));
        }
    }
    return json_pack("{s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "interval", h->interval, "time", time,
                     "pending", pend, "running", run, "nodes_up", nup, "nodes_down", ndown,
                     "nodes_draining", ndrain, "demand_any", dany, "chips", cobj);
}
