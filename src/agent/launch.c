/* launch.c - starts one task in its own process group with posix_spawn (safe
 * in the multi-threaded server: no fork), stops it with SIGTERM then SIGKILL
 * to the group, reaps only its own pid. */
#define _GNU_SOURCE
#include "allot/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double allot_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double allot_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int mkdirs(const char *path)
{
    char buf[4096];
    if (!path || !*path || strlen(path) >= sizeof buf) return -1;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* The environment: a growable array of "K=V" with later keys replacing
 * earlier ones. */
typedef struct envv {
    char **v;
    size_t n, cap;
    int oom;
} envv;

static void env_put(envv *e, char *kv) /* takes kv (malloc'd) */
{
    if (!kv) {
        e->oom = 1;
        return;
    }
    const char *eq = strchr(kv, '=');
    size_t k = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], kv, k) == 0 && e->v[i][k] == '=') {
            free(e->v[i]);
            e->v[i] = kv;
            return;
        }
    if (e->n + 2 > e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        char **nv = realloc(e->v, cap * sizeof *nv);
        if (!nv) {
            free(kv);
            e->oom = 1;
            return;
        }
        e->v = nv;
        e->cap = cap;
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

static void env_set(envv *e, const char *key, const char *val)
{
    size_t n = strlen(key) + strlen(val) + 2;
    char *kv = malloc(n);
    if (kv) snprintf(kv, n, "%s=%s", key, val);
    env_put(e, kv);
}

static void env_free(envv *e)
{
    for (size_t i = 0; i < e->n; i++) free(e->v[i]);
    free(e->v);
}

int allot_proc_spawn(const allot_task_spec *s, allot_proc *p, allot_diag *d)
{
    memset(p, 0, sizeof *p);
    if (!s->argv || !s->argv[0] || !s->argv[0][0])
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "empty command");
    const char *ld = s->log_dir && *s->log_dir ? s->log_dir : "logs";
    if (mkdirs(ld) != 0)
        return allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "cannot create %s: %s", ld,
                              strerror(errno));
    snprintf(p->out_path, sizeof p->out_path, "%s/%" PRId64 ".%d.%" PRId64 ".out", ld, s->job,
             s->task, s->epoch);
    snprintf(p->err_path, sizeof p->err_path, "%s/%" PRId64 ".%d.%" PRId64 ".err", ld, s->job,
             s->task, s->epoch);
    int fo = open(p->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int fe = fo >= 0 ? open(p->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (fo < 0 || fe < 0) {
        int e = errno;
        if (fo >= 0) close(fo);
        return allot_diag_set(d, ALLOT_EIO, NULL, 0, 0, "cannot open the log %s: %s",
                              fo < 0 ? p->out_path : p->err_path, strerror(e));
    }

    envv e = {0};
    for (char **q = environ; q && *q; q++) env_put(&e, strdup(*q));
    for (char *const *q = s->env; q && *q; q++)
        if (strchr(*q, '=')) env_put(&e, strdup(*q));
    char devs[64 * 12] = "";
    size_t o = 0;
    for (size_t i = 0; i < s->ndevices && o + 12 < sizeof devs; i++)
        o += (size_t)snprintf(devs + o, sizeof devs - o, "%s%d", i ? "," : "", s->devices[i]);
    char num[32];
    env_set(&e, "CUDA_VISIBLE_DEVICES", devs);
    env_set(&e, "ASCEND_RT_VISIBLE_DEVICES", devs);
    snprintf(num, sizeof num, "%" PRId64, s->job);
    env_set(&e, "ALLOT_JOB_ID", num);
    snprintf(num, sizeof num, "%d", s->task);
    env_set(&e, "ALLOT_TASK_ID", num);
    snprintf(num, sizeof num, "%d", s->gang_size > 0 ? s->gang_size : 1);
    env_set(&e, "ALLOT_GANG_SIZE", num);
    env_set(&e, "ALLOT_NODE", s->node ? s->node : "");
    if (e.oom) {
        env_free(&e);
        close(fo);
        close(fe);
        return allot_diag_set(d, ALLOT_ENOMEM, NULL, 0, 0, "out of memory");
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    /* the server's sockets and the agent's files stay out of the task */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (s->workdir && *s->workdir) posix_spawn_file_actions_addchdir_np(&fa, s->workdir);
    sigset_t none, def;
    sigemptyset(&none);
    sigfillset(&def);
    sigdelset(&def, SIGKILL);
    sigdelset(&def, SIGSTOP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, s->argv[0], &fa, &at, s->argv, e.v);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    env_free(&e);
    close(fo);
    close(fe);
    if (rc != 0) {
        struct stat st;
        if (s->workdir && *s->workdir && (stat(s->workdir, &st) != 0 || !S_ISDIR(st.st_mode)))
            return allot_diag_set(d, ALLOT_ENOENT, NULL, 0, 0, "workdir %s: %s", s->workdir,
                                  stat(s->workdir, &st) != 0 ? strerror(errno) : "not a directory");
        return allot_diag_set(d, rc == ENOENT ? ALLOT_ENOENT : ALLOT_EIO, NULL, 0, 0,
                              "cannot start %s: %s", s->argv[0], strerror(rc));
    }
    p->pid = pid;
    p->start_time = allot_wall_now();
    return 0;
}

int allot_proc_poll(allot_proc *p)
{
    if (p->pid <= 0 || p->exited) return 0;
    int st = 0;
    pid_t r;
    do r = waitpid(p->pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) return 0;
    p->exited = 1;
    p->end_time = allot_wall_now();
    if (r < 0) { /* not ours any more (someone reaped it): unknown end */
        p->exit_code = -1;
        p->signal = 0;
    } else if (WIFSIGNALED(st)) {
        p->exit_code = -1;
        p->signal = WTERMSIG(st);
    } else {
        p->exit_code = WEXITSTATUS(st);
        p->signal = 0;
    }
    return 1;
}

void allot_proc_term(allot_proc *p, double now)
{
    if (p->pid <= 0 || p->term_time > 0 || p->group_gone) return;
    p->term_time = now > 0 ? now : 1e-9;
    kill(-p->pid, SIGTERM);
}

void allot_proc_tick(allot_proc *p, double now, double grace)
{
    if (p->pid <= 0 || p->group_gone) return;
    if (p->term_time > 0 && !p->killed && now >= p->term_time + grace) {
        /* still anything in the group? then the grace is over */
        if (kill(-p->pid, 0) == 0 || errno == EPERM) kill(-p->pid, SIGKILL);
        p->killed = 1;
    }
    /* after a SIGKILL to the group only zombies can be left, and whether they
     * are reaped is up to init (in a container, maybe never) */
    if (p->exited && (p->killed || (kill(-p->pid, 0) != 0 && errno == ESRCH))) p->group_gone = 1;
}

const char *allot_proc_describe(const allot_proc *p, char *buf, size_t len)
{
    if (!p->exited)
        snprintf(buf, len, "running");
    else if (p->signal)
        snprintf(buf, len, "signal %d (%s)", p->signal, strsignal(p->signal));
    else
        snprintf(buf, len, "exit code %d", p->exit_code);
    return buf;
}
