/* job.c - workloads: growable job arrays with a name pool (see allot/job.h). */
#include "allot/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void allot_workload_init(allot_workload *w) { memset(w, 0, sizeof *w); }

void allot_workload_free(allot_workload *w)
{
    if (!w) return;
    free(w->jobs);
    free(w->pool);
    free(w->tenant_name);
    free(w->speed_rows);
    memset(w, 0, sizeof *w);
}

static int pool_add(allot_workload *w, const char *name, uint32_t *off)
{
    size_t n = strlen(name) + 1;
    if (n > 4096) n = 4096; /* names are informative; cap them */
    if (w->pool_len + n > UINT32_MAX) return ALLOT_ELIMIT;
    if (w->pool_len + n > w->pool_cap) {
        size_t cap = w->pool_cap ? w->pool_cap * 2 : 4096;
        while (cap < w->pool_len + n) cap *= 2;
        char *p = realloc(w->pool, cap);
        if (!p) return ALLOT_ENOMEM;
        w->pool = p;
        w->pool_cap = cap;
    }
    if (w->pool_len == 0) { /* offset 0 is the empty name */
        w->pool[0] = '\0';
        w->pool_len = 1;
    }
    *off = (uint32_t)w->pool_len;
    memcpy(w->pool + w->pool_len, name, n - 1);
    w->pool[w->pool_len + n - 1] = '\0';
    w->pool_len += n;
    return 0;
}

int allot_workload_add(allot_workload *w, const allot_job *j, const char *name)
{
    if (w->njobs >= w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        allot_job *p = realloc(w->jobs, cap * sizeof *p);
        if (!p) return ALLOT_ENOMEM;
        w->jobs = p;
        w->cap = cap;
    }
    allot_job *dst = &w->jobs[w->njobs];
    *dst = *j;
    dst->name = 0;
    if (name && name[0]) {
        int rc = pool_add(w, name, &dst->name);
        if (rc) return rc;
    }
    if (w->njobs > INT32_MAX) return ALLOT_ELIMIT;
    return (int)w->njobs++;
}

const char *allot_workload_name(const allot_workload *w, size_t i)
{
    if (i >= w->njobs || !w->pool || w->jobs[i].name == 0) return "";
    return w->pool + w->jobs[i].name;
}

int allot_workload_tenant(allot_workload *w, const char *name)
{
    if (!w || !name || !name[0]) return ALLOT_EINVAL;
    for (size_t i = 0; i < w->ntenants; i++)
        if (strcmp(w->pool + w->tenant_name[i], name) == 0) return (int)i;
    if (w->ntenants >= ALLOT_MAX_TENANTS) return ALLOT_ELIMIT;
    uint32_t *v = realloc(w->tenant_name, (w->ntenants + 1) * sizeof *v);
    if (!v) return ALLOT_ENOMEM;
    w->tenant_name = v;
    uint32_t off;
    int rc = pool_add(w, name, &off);
    if (rc) return rc;
    w->tenant_name[w->ntenants] = off;
    return (int)w->ntenants++;
}

const char *allot_workload_tenant_name(const allot_workload *w, uint16_t id)
{
    if (!w || id >= w->ntenants) return "default";
    return w->pool + w->tenant_name[id];
}

int allot_shape_check(const allot_shape *s, char *msg, size_t msglen)
{
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (msg && msglen) snprintf(msg, msglen, __VA_ARGS__);                                     \
        return ALLOT_EINVAL;                                                                       \
    } while (0)
    if (s->cpu < 0) FAIL("CPU request must be >= 0 milli-cores, got %lld", (long long)s->cpu);
    if (s->mem < 0) FAIL("memory request must be >= 0 MiB, got %lld", (long long)s->mem);
    if (s->ndev < 0 || s->ndev > ALLOT_MAX_DEVS_PER_NODE)
        FAIL("devices per task must be in 0..%d, got %d", ALLOT_MAX_DEVS_PER_NODE, s->ndev);
    if (s->ndev == 0 && s->milli != 0)
        FAIL("a CPU-only task (0 devices) cannot ask for %d milli-devices", s->milli);
    if (s->ndev > 0 && (s->milli < 1 || s->milli > ALLOT_MILLI))
        FAIL("milli per device must be in 1..%d, got %d", ALLOT_MILLI, s->milli);
    if (s->ndev > 1 && s->milli != ALLOT_MILLI)
        FAIL("a task with %d devices must take whole devices (1000 milli), got %d", s->ndev,
             s->milli);
#undef FAIL
    return 0;
}
