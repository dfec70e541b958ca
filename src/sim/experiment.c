/* experiment.c - the FGD experiment: policies x seeds on one workload, run on
 * worker threads, plus the reader of the authors' recorded results.
 *
 * Each run clones the cluster and owns its scheduler, so runs share nothing
 * but the read-only inputs; results are placed by (policy, seed) index, so
 * the table does not depend on which thread ran what.
 */
#include "allot/sim.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "allot/csv.h"

typedef struct xjob {
    const allot_cluster *c;
    const allot_workload *w;
    const allot_sim_config *base;
    const allot_policy *policies;
    size_t npolicies;
    uint64_t seed0;
    int nseeds;
    allot_sim_result *res; /* npolicies * nseeds */
    int *rcs;
    allot_diag *diags;
    size_t next;
    pthread_mutex_t mu;
} xjob;

static void *worker(void *arg)
{
    xjob *x = arg;
    size_t total = x->npolicies * (size_t)x->nseeds;
    for (;;) {
        pthread_mutex_lock(&x->mu);
        size_t i = x->next++;
        pthread_mutex_unlock(&x->mu);
        if (i >= total) break;
        allot_sim_config cfg = *x->base;
        cfg.mode = ALLOT_SIM_FGD;
        cfg.policy = x->policies[i / (size_t)x->nseeds];
        cfg.seed = x->seed0 + i % (size_t)x->nseeds;
        cfg.record_samples = 0;
        cfg.progress = NULL;
        x->rcs[i] = allot_sim_run(x->c, x->w, &cfg, &x->res[i], &x->diags[i]);
        if (x->base->progress) { /* progress per finished run, serialised */
            pthread_mutex_lock(&x->mu);
            x->base->progress(x->base->progress_arg, (double)(i + 1) / (double)total);
            pthread_mutex_unlock(&x->mu);
        }
    }
    return NULL;
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(v[i])) continue;
        s += v[i];
        k++;
    }
    *mean = k ? s / k : NAN;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = k > 1 ? sqrt(ss / (k - 1)) : 0.0;
}

int allot_fgd_experiment(const allot_cluster *c, const allot_workload *w,
                         const allot_policy *policies, size_t npolicies, uint64_t seed0, int nseeds,
                         int threads, const allot_sim_config *base, allot_experiment_row *rows,
                         allot_diag *d)
{
    if (!c || !w || !policies || !npolicies || nseeds < 1 || nseeds > 10000 || !base || !rows)
        return ALLOT_EINVAL;
    size_t total = npolicies * (size_t)nseeds;
    int rc = 0;
    xjob x = {c,      w,    base, policies, npolicies, seed0,
              nseeds, NULL, NULL, NULL,     0,         PTHREAD_MUTEX_INITIALIZER};
    x.res = calloc(total, sizeof *x.res);
    x.rcs = calloc(total, sizeof *x.rcs);
    x.diags = calloc(total, sizeof *x.diags);
    double *tmp = calloc((size_t)nseeds, sizeof *tmp);
    pthread_t *th = NULL;
    if (threads < 1) threads = 1;
    if ((size_t)threads > total) threads = (int)total;
    th = calloc((size_t)threads, sizeof *th);
    if (!x.res || !x.rcs || !x.diags || !tmp || !th) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&th[t], NULL, worker, &x) != 0) break;
        started++;
    }
    worker(&x); /* this thread works too */
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    for (size_t i = 0; i < total; i++) {
        if (x.rcs[i]) {
            rc = x.rcs[i];
            if (d) *d = x.diags[i];
            goto out;
        }
    }
    for (size_t p = 0; p < npolicies; p++) {
        allot_experiment_row *row = &rows[p];
        memset(row, 0, sizeof *row);
        row->policy = policies[p];
        row->nseeds = nseeds;
        allot_sim_result *r = &x.res[p * (size_t)nseeds];
        for (int s = 0; s < nseeds; s++) {
            tmp[s] = allot_sim_unalloc_at_100(&r[s]);
            row->wall_s += r[s].wall_s;
        }
        mean_sd(tmp, nseeds, &row->unalloc_at_100_mean, &row->unalloc_at_100_sd);
        for (int s = 0; s < nseeds; s++) tmp[s] = r[s].alloc_pct[ALLOT_FGD_MAX_PCT];
        mean_sd(tmp, nseeds, &row->alloc_at_130_mean, &row->alloc_at_130_sd);
        for (int k = 0; k <= ALLOT_FGD_MAX_PCT; k++) {
            double sd;
            for (int s = 0; s < nseeds; s++) tmp[s] = r[s].alloc_pct[k];
            mean_sd(tmp, nseeds, &row->alloc_pct_mean[k], &sd);
            for (int s = 0; s < nseeds; s++) tmp[s] = r[s].frag_pct[k];
            mean_sd(tmp, nseeds, &row->frag_pct_mean[k], &sd);
        }
    }
out:
    if (x.res)
        for (size_t i = 0; i < total; i++) allot_sim_result_free(&x.res[i]);
    free(x.res);
    free(x.rcs);
    free(x.diags);
    free(tmp);
    free(th);
    pthread_mutex_destroy(&x.mu);
    return rc;
}

/* ---- the authors' recorded results ------------------------------------------------ */

int allot_fgd_expected_read(const char *path, const char *workload, allot_fgd_expected *out,
                            allot_diag *d)
{
    if (!path || !workload || !out) return ALLOT_EINVAL;
    double sum100[ALLOT_POLICY__COUNT] = {0}, sum130[ALLOT_POLICY__COUNT] = {0};
    int n100[ALLOT_POLICY__COUNT] = {0}, n130[ALLOT_POLICY__COUNT] = {0};
    char *buf = NULL;
    size_t len = 0;
    allot_csv *r = NULL;
    int rc = allot_read_file(path, 64u << 20, &buf, &len, d);
    if (rc) return rc;
    r = malloc(sizeof *r);
    if (!r) {
        rc = ALLOT_ENOMEM;
        goto out;
    }
    allot_csv_init(r, buf, len, path);
    rc = allot_csv_next(r, d);
    if (rc <= 0) {
        if (rc == 0) rc = allot_diag_set(d, ALLOT_EPARSE, path, 1, 1, "empty file");
        goto out;
    }
    int f_wl = allot_csv_find(r, "workload"), f_pol = allot_csv_find(r, "sc_policy");
    int f100 = allot_csv_find(r, "100"), f130 = allot_csv_find(r, "130");
    if (f_wl < 0 || f_pol < 0 || f100 < 0 || f130 < 0) {
        rc = allot_diag_set(d, ALLOT_EPARSE, path, 1, 1,
                            "expected columns workload, sc_policy, 100 and 130 (the FGD "
                            "authors' analysis_allo_discrete.csv)");
        goto out;
    }
    while ((rc = allot_csv_next(r, d)) > 0) {
        if (r->nfields <= f130 || r->nfields <= f100) continue;
        if (strcmp(r->field[f_wl], workload) != 0) continue;
        const char *pol = strchr(r->field[f_pol], '-');
        pol = pol ? pol + 1 : r->field[f_pol];
        int p = allot_policy_parse(pol);
        if (p < 0) continue;
        double v;
        if (r->field[f100][0] && allot_csv_f64(r, f100, 0, 1000, &v, NULL) == 0) {
            sum100[p] += 100.0 - v;
            n100[p]++;
        }
        if (r->field[f130][0] && allot_csv_f64(r, f130, 0, 1000, &v, NULL) == 0) {
            sum130[p] += v;
            n130[p]++;
        }
    }
    if (rc < 0) goto out;
    rc = 0;
    int any = 0;
    for (int p = 0; p < ALLOT_POLICY__COUNT; p++) {
        out->unalloc_at_100[p] = n100[p] ? sum100[p] / n100[p] : NAN;
        out->alloc_at_130[p] = n130[p] ? sum130[p] / n130[p] : NAN;
        any |= n100[p] > 0;
    }
    if (!any)
        rc = allot_diag_set(d, ALLOT_ENOENT, path, 0, 0, "no rows for workload '%s'", workload);
out:
    free(r);
    free(buf);
    return rc;
}
