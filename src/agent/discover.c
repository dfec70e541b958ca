/* discover.c - what a node offers: GPUs from nvidia-smi, CPU and memory from
 * sysconf, each overridable by a flag (agent.h). */
#define _GNU_SOURCE
#include "allot/agent.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allot/cluster.h"

extern char **environ;

#define SMI_TIMEOUT_S 10
#define SMI_MAX_OUT   (1 << 20)

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static int parse_int64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int allot_parse_nvidia_smi(const char *text, allot_gpu_info *out, size_t cap, size_t *n,
                           allot_diag *d)
{
    *n = 0;
    if (!text) return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", 0, 0, "no output");
    int line = 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        line++;
        char buf[1024];
        if (len >= sizeof buf)
            return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0, "line too long");
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = e ? e + 1 : p + len;
        char *s = trim(buf);
        if (!*s) continue;
        char *f[4];
        int nf = 0;
        for (char *q = s; nf < 4;) {
            f[nf++] = q;
            if (nf == 4) break; /* the rest, commas included, is the last field */
            char *c = strchr(q, ',');
            if (!c) break;
            *c = '\0';
            q = c + 1;
        }
        if (nf != 4 || strchr(f[3], ','))
            return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0,
                                  "expected 4 comma-separated fields (index, uuid, name, "
                                  "memory.total), got '%.200s'",
                                  s);
        for (int i = 0; i < 4; i++) f[i] = trim(f[i]);
        int64_t idx, mem = 0;
        if (parse_int64(f[0], 0, 1023, &idx))
            return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0, "bad GPU index '%.100s'",
                                  f[0]);
        if (!*f[1] || strlen(f[1]) >= sizeof out->uuid)
            return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0, "bad GPU uuid '%.100s'",
                                  f[1]);
        if (!*f[2] || strlen(f[2]) >= sizeof out->model)
            return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0, "bad GPU name '%.100s'",
                                  f[2]);
        if (f[3][0] != '[' && parse_int64(f[3], 0, INT64_C(1) << 40, &mem))
            return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0,
                                  "bad memory.total '%.100s' (MiB expected)", f[3]);
        for (size_t k = 0; k < *n; k++)
            if (out[k].index == (int)idx)
                return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", line, 0,
                                      "GPU index %d listed twice", (int)idx);
        if (*n >= cap)
            return allot_diag_set(d, ALLOT_ELIMIT, "nvidia-smi", line, 0, "more than %zu GPUs",
                                  cap);
        allot_gpu_info *g = &out[(*n)++];
        memset(g, 0, sizeof *g);
        g->index = (int)idx;
        snprintf(g->uuid, sizeof g->uuid, "%s", f[1]);
        snprintf(g->model, sizeof g->model, "%s", f[2]);
        g->memory_mib = mem;
    }
    if (*n == 0)
        return allot_diag_set(d, ALLOT_EPARSE, "nvidia-smi", 0, 0,
                              "no GPU listed (use --devices 0 for a node without GPUs)");
    return 0;
}

/* Runs smi with the query; its stdout (NUL-terminated, caller frees) in *out. */
static int run_smi(const char *smi, char **out, allot_diag *d)
{
    char *argv[] = {(char *)smi, (char *)"--query-gpu=index,uuid,name,memory.total",
                    (char *)"--format=csv,noheader,nounits", NULL};
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, smi, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return allot_diag_set(d, rc == ENOENT ? ALLOT_ENOENT : ALLOT_EIO, NULL, 0, 0,
                              "cannot run %s: %s", smi, strerror(rc));
    }
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    int err = buf ? 0 : ALLOT_ENOMEM;
    double t0 = allot_mono_now();
    while (!err) {
        int left = (int)((t0 + SMI_TIMEOUT_S - allot_mono_now()) * 1000);
        if (left <= 0) {
            err = allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "%s did not finish in %d s", smi,
                                 SMI_TIMEOUT_S);
            break;
        }
        struct pollfd pf = {pfd[0], POLLIN, 0};
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        if (n + 4096 + 1 > cap) {
            if (cap >= SMI_MAX_OUT) {
                err = allot_diag_set(d, ALLOT_ELIMIT, NULL, 0, 0, "%s: output too large", smi);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                err = ALLOT_ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(pfd[0], buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(pfd[0]);
    if (err) kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!err && WIFSIGNALED(st))
        err = allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "%s was killed by signal %d", smi,
                             WTERMSIG(st));
    else if (!err && WIFEXITED(st) && WEXITSTATUS(st) != 0)
        err = allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "%s failed with exit code %d", smi,
                             WEXITSTATUS(st));
    if (err == ALLOT_ENOMEM) allot_diag_set(d, err, NULL, 0, 0, "out of memory");
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int allot_discover_gpus(allot_gpu_info *out, size_t cap, size_t *n, allot_diag *d)
{
    *n = 0;
    const char *smi = getenv("ALLOT_NVIDIA_SMI");
    if (!smi || !*smi) smi = "nvidia-smi";
    char *text = NULL;
    int rc = run_smi(smi, &text, d);
    if (rc) return rc;
    rc = allot_parse_nvidia_smi(text, out, cap, n, d);
    free(text);
    return rc;
}

/* ---- model -> chip type ---------------------------------------------------------------- */

static int has_prefix_ci(const char *s, const char *pre)
{
    return strncasecmp(s, pre, strlen(pre)) == 0;
}

/* A catalogue type named fam, or a family of them ("A100" for A100-80G). */
static const char *catalog_family(const char *fam)
{
    const allot_chip_type *t = allot_catalog_find(fam);
    if (t) return t->name;
    size_t k = strlen(fam);
    for (size_t i = 0; i < allot_catalog_count(); i++) {
        const char *nm = allot_catalog_at(i)->name;
        if (strncasecmp(nm, fam, k) == 0 && nm[k] == '-') return fam;
    }
    return NULL;
}

const char *allot_chip_from_model(const char *model, char *buf, size_t len)
{
    static const char *vendors[] = {"NVIDIA ", "Tesla ",    "GeForce ", "Quadro ",
                                    "AMD ",    "Instinct ", "Huawei "};
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", model ? model : "");
    char *s = trim(tmp);
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++)
            if (has_prefix_ci(s, vendors[i])) {
                s = trim(s + strlen(vendors[i]));
                again = 1;
            }
    }
    /* first token, then its family (before the first '-') */
    char tok[128], fam[128];
    size_t k = strcspn(s, " \t");
    snprintf(tok, sizeof tok, "%.*s", (int)(k < sizeof tok - 1 ? k : sizeof tok - 1), s);
    snprintf(fam, sizeof fam, "%.*s", (int)strcspn(tok, "-"), tok);
    const char *hit = *fam ? catalog_family(fam) : NULL;
    if (!hit && *tok) hit = catalog_family(tok);
    if (hit) {
        snprintf(buf, len, "%s", hit);
        return buf;
    }
    /* unknown: the short name, e.g. "RTX 4090" -> "RTX4090" */
    char shortn[128];
    size_t o = 0;
    int words = 0, digit = 0;
    for (const char *q = s; *q && o + 1 < sizeof shortn;) {
        if (isspace((unsigned char)*q)) {
            if (digit || ++words >= 2) break;
            while (isspace((unsigned char)*q)) q++;
            continue;
        }
        unsigned char ch = (unsigned char)*q++;
        if (isdigit(ch)) digit = 1;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.') shortn[o++] = (char)ch;
    }
    shortn[o] = '\0';
    snprintf(buf, len, "%s", o ? shortn : "unknown");
    return buf;
}

/* ---- the whole inventory --------------------------------------------------------------- */

int allot_inventory_discover(allot_inventory *inv, const allot_inventory_flags *fl, allot_diag *d)
{
    memset(inv, 0, sizeof *inv);
    allot_inventory_flags none = {-1, NULL, -1, -1};
    if (!fl) fl = &none;
    if (fl->devices >= 0) {
        inv->devices = fl->devices;
        if (fl->chip && *fl->chip) snprintf(inv->chip, sizeof inv->chip, "%s", fl->chip);
        if (inv->devices > ALLOT_AGENT_MAX_GPUS)
            return allot_diag_set(d, ALLOT_ERANGE, NULL, 0, 0, "--devices: at most %d",
                                  ALLOT_AGENT_MAX_GPUS);
        if (inv->devices > 0 && !inv->chip[0])
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "--devices %d needs --chip TYPE",
                                  inv->devices);
    } else {
        int rc = allot_discover_gpus(inv->gpus, ALLOT_AGENT_MAX_GPUS, &inv->ngpus, d);
        const char *env = getenv("ALLOT_NVIDIA_SMI");
        if (rc == ALLOT_ENOENT && !(env && *env)) {
            inv->ngpus = 0; /* no driver: a CPU node */
        } else if (rc) {
            return rc;
        }
        inv->devices = (int)inv->ngpus;
        if (fl->chip && *fl->chip) {
            snprintf(inv->chip, sizeof inv->chip, "%s", fl->chip);
        } else if (inv->ngpus > 0) {
            char c0[64], ci[64];
            allot_chip_from_model(inv->gpus[0].model, c0, sizeof c0);
            for (size_t i = 1; i < inv->ngpus; i++)
                if (strcmp(allot_chip_from_model(inv->gpus[i].model, ci, sizeof ci), c0) != 0)
                    return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                          "GPUs of several types (%s, %s): say which with "
                                          "--chip, or declare --devices N --chip T",
                                          c0, ci);
            snprintf(inv->chip, sizeof inv->chip, "%s", c0);
        }
    }
    if (fl->cpu >= 0) {
        inv->cpu = fl->cpu;
    } else {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        inv->cpu = ncpu > 0 ? (int64_t)ncpu * 1000 : 1000;
    }
    if (fl->mem >= 0) {
        inv->mem = fl->mem;
    } else {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        inv->mem = pages > 0 && psz > 0 ? (int64_t)pages * psz / (1024 * 1024) : 0;
    }
    return 0;
}
