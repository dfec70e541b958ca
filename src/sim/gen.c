/* gen.c - synthetic workload generators: "gen:NAME[:key=value,...]".
 *
 * Example: "gen:mixed:n=500,seed=7,rate=120" makes 500 openb-like jobs that
 * arrive as a Poisson process at 120 per hour; the same spec always makes
 * the same jobs, byte for byte (allot_rng, no global state, no clock).
 *
 * Generators:
 *  - mixed: one task per job. 48 % one whole device, 37.8 % a fractional
 *    device (milli drawn from the openb default trace's common shares,
 *    weighted by their counts), 13.3 % CPU-only, 0.9 % 2/4/8 whole devices
 *    (8 most often) - the histogram of openb_pod_list_default.csv. CPU is
 *    1..32 cores and memory 2..128 GiB, both growing with the device request
 *    (median about 4 GiB per core). Durations are log-normal (sigma 1.2)
 *    with mean mean_s. Names "gen-<i>".
 *  - llm: an LLM training mix. 35 % pretraining gangs of 8-device tasks
 *    (ntasks 1..64, heavy-tailed: 1 30 %, 2 22 %, 4 18 %, 8 13 %, 16 9 %,
 *    32 5 %, 64 3 %), 40 % single-node fine-tunes on 1/2/4/8 devices, 25 %
 *    evaluation jobs on one device (30 % of them half a device). Gangs run
 *    20x longer than evaluations and 3.3x longer than fine-tunes; the
 *    overall mean is mean_s. Names "llm-pretrain-<i>", "llm-finetune-<i>",
 *    "llm-eval-<i>". Priorities: pretraining 0 (preemptible, checkpoint
 *    every 1800 s), fine-tunes 5 (preemptible, every 600 s), evaluations
 *    10 (not preemptible).
 * Keys (both): n (jobs, 1..10,000,000, default 2000), seed (0..2^64-1,
 * default 1), rate (arrivals per hour, default 60 for mixed and 4 for llm),
 * mean_s (mean duration in s, default 3600 for mixed and 21600 for llm),
 * chips (a '|' list of chip types every device job is restricted to; each
 * must already be known to the cluster; default any), elastic (llm: the
 * share of pretraining gangs that are elastic, growing to twice their tasks
 * while devices idle; 0..1, default 0).
 * Arrivals start at 0 s; times are whole seconds; durations >= 1 s.
 */
#include "allot/trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/rng.h"

#define GEN_MAX_JOBS 10000000
#define GEN_MAX_SPEC 1024

typedef enum gen_kind { GEN_MIXED, GEN_LLM } gen_kind;

typedef struct gen_params {
    gen_kind kind;
    int64_t n;
    uint64_t seed;
    double rate;    /* arrivals per hour */
    double mean_s;  /* mean duration, s */
    double elastic; /* llm: share of pretraining gangs that are elastic */
    allot_chip_mask chips;
} gen_params;

/* ---- random variates ------------------------------------------------------ */

static double uniform_open(allot_rng *r) /* (0, 1] */ { return 1.0 - allot_rng_double(r); }

static double normal(allot_rng *r) /* standard normal, Box-Muller */
{
    double u1 = uniform_open(r), u2 = allot_rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* Log-normal with the given mean and shape sigma. */
static double lognormal_mean(allot_rng *r, double mean, double sigma)
{
    double mu = log(mean) - sigma * sigma / 2.0;
    return exp(mu + sigma * normal(r));
}

/* Index drawn with probability proportional to w[i]. */
static size_t pick(allot_rng *r, const int *w, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    int64_t x = (int64_t)allot_rng_below(r, (uint64_t)total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static int64_t duration(allot_rng *r, double mean, double sigma)
{
    double v = lognormal_mean(r, mean, sigma);
    if (!(v < 1e9)) v = 1e9;
    return clamp64(llround(v), 1, 1000000000);
}

/* ---- spec parsing ----------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned dg = (unsigned)(*s - '0');
        if (v > (max - dg) / 10) return -1;
        v = v * 10 + dg;
    }
    *out = v;
    return 0;
}

static int parse_f64(const char *s, double lo, double hi, double *out)
{
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

#define GEN_ERR(...) allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, __VA_ARGS__)

static int parse_spec(const char *spec, allot_cluster *c, gen_params *g, allot_diag *d)
{
    char buf[GEN_MAX_SPEC];
    size_t sl = strlen(spec);
    if (strncmp(spec, "gen:", 4) != 0)
        return GEN_ERR("generator spec must start with 'gen:', e.g. "
                       "gen:mixed:n=1000");
    if (sl >= sizeof buf)
        return GEN_ERR("generator spec is longer than %d bytes", GEN_MAX_SPEC - 1);
    memcpy(buf, spec + 4, sl - 3);

    char *name = buf, *params = strchr(buf, ':');
    if (params) *params++ = '\0';
    if (strcmp(name, "mixed") == 0) {
        g->kind = GEN_MIXED;
        g->rate = 60;
        g->mean_s = 3600;
    } else if (strcmp(name, "llm") == 0) {
        g->kind = GEN_LLM;
        g->rate = 4;
        g->mean_s = 21600;
    } else {
        return GEN_ERR("'%s': unknown generator '%.40s' (expected mixed or "
                       "llm)",
                       spec, name);
    }
    g->n = 2000;
    g->seed = 1;
    g->chips = 0;
    if (!params) return 0;

    unsigned seen = 0;
    char *p = params;
    for (;;) {
        char *item = p, *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        char *eq = strchr(item, '=');
        if (!eq || eq == item) return GEN_ERR("'%s': expected key=value, got '%.40s'", spec, item);
        *eq = '\0';
        const char *key = item, *val = eq + 1;
        static const char *const keys[] = {"n", "seed", "rate", "mean_s", "chips", "elastic"};
        int k = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(key, keys[i]) == 0) k = i;
        if (k < 0)
            return GEN_ERR("'%s': unknown key '%.40s' (expected n, seed, "
                           "rate, mean_s, chips or elastic)",
                           spec, key);
        if (seen & (1u << k)) return GEN_ERR("'%s': key '%s' given twice", spec, key);
        seen |= 1u << k;
        uint64_t u;
        switch (k) {
        case 0:
            if (parse_u64(val, GEN_MAX_JOBS, &u) < 0 || u < 1)
                return GEN_ERR("'%s': n: expected an integer in 1..%d, got "
                               "'%.40s'",
                               spec, GEN_MAX_JOBS, val);
            g->n = (int64_t)u;
            break;
        case 1:
            if (parse_u64(val, UINT64_MAX, &u) < 0)
                return GEN_ERR("'%s': seed: expected an integer in "
                               "0..18446744073709551615, got '%.40s'",
                               spec, val);
            g->seed = u;
            break;
        case 2:
            if (parse_f64(val, 1e-6, 1e7, &g->rate) < 0 || g->rate <= 0)
                return GEN_ERR("'%s': rate: expected arrivals per hour, a "
                               "number in (0, 1e7], got '%.40s'",
                               spec, val);
            break;
        case 3:
            if (parse_f64(val, 1, 1e8, &g->mean_s) < 0)
                return GEN_ERR("'%s': mean_s: expected a mean duration in "
                               "seconds, a number in 1..1e8, got '%.40s'",
                               spec, val);
            break;
        case 4: {
            if (!*val)
                return GEN_ERR("'%s': chips: expected a '|' list of chip "
                               "types, got an empty value",
                               spec);
            if (!c)
                return GEN_ERR("'%s': chips: needs a cluster to resolve "
                               "chip types",
                               spec);
            int rc = allot_cluster_chip_mask(c, val, &g->chips, 0);
            if (rc < 0)
                return GEN_ERR("'%s': chips: '%.80s' names a chip type the "
                               "cluster does not have",
                               spec, val);
            break;
        }
        case 5:
            if (parse_f64(val, 0, 1, &g->elastic) < 0)
                return GEN_ERR("'%s': elastic: expected a share in 0..1, got '%.40s'", spec, val);
            if (g->kind != GEN_LLM && g->elastic > 0)
                return GEN_ERR("'%s': elastic applies to gen:llm only", spec);
            break;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* ---- generators ---------------------------------------------------------------- */

/* Common openb shares of one device, with their counts in the default list
 * (the first six as counted; the rest in the README's order, estimated). */
static const int frac_milli[] = {810, 470, 320, 650, 230, 460, 590,
                                 160, 550, 220, 370, 110, 480, 50};
static const int frac_weight[] = {1078, 750, 328, 253, 140, 128, 100, 90, 80, 70, 60, 50, 40, 30};

static void gen_mixed_job(allot_rng *r, const gen_params *g, allot_job *j)
{
    static const int multi_ndev[] = {8, 2, 4};
    static const int multi_w[] = {44, 16, 15};
    double u = allot_rng_double(r);
    int ndev = 0, milli = 0;
    if (u < 0.480) {
        ndev = 1, milli = ALLOT_MILLI;
    } else if (u < 0.858) {
        ndev = 1;
        milli = frac_milli[pick(r, frac_weight, 14)];
    } else if (u < 0.991) {
        ndev = 0, milli = 0;
    } else {
        ndev = multi_ndev[pick(r, multi_w, 3)];
        milli = ALLOT_MILLI;
    }
    /* CPU and memory grow with the device request g (in devices) */
    double gdev = ndev * milli / 1000.0;
    double base = ndev ? 2000.0 + 4000.0 * gdev : 4000.0;
    int64_t cpu = clamp64(1000 * llround(base * lognormal_mean(r, 1, 0.5) / 1000.0), 1000, 32000);
    int64_t gib = clamp64(llround((double)cpu / 1000.0 * 4.0 * lognormal_mean(r, 1, 0.4)), 2, 128);
    j->shape.cpu = cpu;
    j->shape.mem = gib * 1024;
    j->shape.ndev = ndev;
    j->shape.milli = milli;
    j->shape.chips = ndev ? g->chips : 0;
    j->ntasks = 1;
    j->qos = allot_rng_double(r) < 0.57 ? 0 : 1; /* LS : BE as in openb */
    j->duration = duration(r, g->mean_s, 1.2);
}

/* Returns the kind name of the job made. */
static const char *gen_llm_job(allot_rng *r, const gen_params *g, allot_job *j)
{
    static const int gang_tasks[] = {1, 2, 4, 8, 16, 32, 64};
    static const int gang_w[] = {30, 22, 18, 13, 9, 5, 3};
    static const int ft_ndev[] = {1, 2, 4, 8};
    static const int ft_w[] = {20, 30, 20, 30};
    /* relative mean durations; E = .35*2 + .40*.6 + .25*.1 = 0.965 */
    const double norm = 0.965;
    double u = allot_rng_double(r);
    const char *kind;
    j->shape.milli = ALLOT_MILLI;
    j->ntasks = 1;
    if (u < 0.35) {
        kind = "pretrain";
        j->ntasks = (uint32_t)gang_tasks[pick(r, gang_w, 7)];
        j->shape.ndev = 8;
        j->shape.cpu = 48000 + 8000 * (int64_t)allot_rng_below(r, 3);
        j->shape.mem = (256 + 64 * (int64_t)allot_rng_below(r, 3)) * 1024;
        j->qos = 3;
        j->priority = 0; /* long, checkpointed, preemptible */
        j->flags = ALLOT_JOBF_PREEMPTIBLE;
        j->ckpt = 1800;
        j->duration = duration(r, g->mean_s * 2.0 / norm, 1.0);
        if (g->elastic > 0 && allot_rng_double(r) < g->elastic) /* grows to 2x while idle */
            j->ntasks_max = (uint16_t)(2 * j->ntasks);
    } else if (u < 0.75) {
        kind = "finetune";
        int ndev = ft_ndev[pick(r, ft_w, 4)];
        j->shape.ndev = ndev;
        j->shape.cpu = clamp64(8000 * (int64_t)ndev + 4000, 1000, 64000);
        j->shape.mem = clamp64(32 * (int64_t)ndev, 32, 256) * 1024;
        j->qos = 2;
        j->priority = 5;
        j->flags = ALLOT_JOBF_PREEMPTIBLE;
        j->ckpt = 600;
        j->duration = duration(r, g->mean_s * 0.6 / norm, 1.0);
    } else {
        kind = "eval";
        j->shape.ndev = 1;
        j->shape.milli = allot_rng_double(r) < 0.3 ? 500 : ALLOT_MILLI;
        j->shape.cpu = 4000 * (1 + (int64_t)allot_rng_below(r, 4));
        j->shape.mem = (16 * (1 + (int64_t)allot_rng_below(r, 4))) * 1024;
        j->qos = 1;
        j->priority = 10; /* short, interactive: never preempted */
        j->duration = duration(r, g->mean_s * 0.1 / norm, 1.0);
    }
    j->shape.chips = g->chips;
    return kind;
}

int allot_gen(const char *spec, allot_cluster *c, allot_workload *w, allot_diag *d)
{
    gen_params g;
    if (!spec || !w) return GEN_ERR("no generator spec");
    memset(&g, 0, sizeof g);
    int rc = parse_spec(spec, c, &g, d);
    if (rc < 0) return rc;

    size_t njobs0 = w->njobs, pool0 = w->pool_len;
    allot_rng r;
    allot_rng_seed(&r, g.seed);
    double t = 0, per_s = g.rate / 3600.0;
    for (int64_t i = 0; i < g.n; i++) {
        allot_job j;
        memset(&j, 0, sizeof j); /* shapes are hashed as bytes */
        char name[48];
        if (g.kind == GEN_MIXED) {
            gen_mixed_job(&r, &g, &j);
            snprintf(name, sizeof name, "gen-%lld", (long long)i);
        } else {
            const char *kind = gen_llm_job(&r, &g, &j);
            snprintf(name, sizeof name, "llm-%s-%lld", kind, (long long)i);
        }
        j.submit = (int64_t)floor(t);
        t += -log(uniform_open(&r)) / per_s; /* exponential gaps */
        int arc = allot_workload_add(w, &j, name);
        if (arc < 0) {
            w->njobs = njobs0;
            w->pool_len = pool0 < w->pool_len ? pool0 : w->pool_len;
            return allot_diag_set(d, arc, NULL, 0, 0, "'%s': cannot add job %lld: %s", spec,
                                  (long long)i, allot_strerror(arc));
        }
    }
    w->has_times = 1;
    return 0;
}
