/* test_agent.c - the node agent: nvidia-smi parsing and discovery (with a fake
 * nvidia-smi), model -> chip type, the launcher (environment, process group,
 * exit codes, signals, grace, workdir, logs, start failures), and the agent
 * loop against a small in-test server (libmicrohttpd). */
#define _GNU_SOURCE
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "allot/agent.h"

/* ---- helpers ------------------------------------------------------------------------- */

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/allot-agent-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes an executable script at tmpdir/name; returns its path (static). */
static const char *script(const char *name, const char *body)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Polls the process until its leader ends (at most limit seconds). */
static void wait_end(allot_proc *p, double grace, double limit)
{
    double t0 = allot_mono_now();
    while (!p->exited && allot_mono_now() - t0 < limit) {
        allot_proc_poll(p);
        allot_proc_tick(p, allot_mono_now(), grace);
        usleep(2000);
    }
    assert_true(p->exited);
}

/* ---- nvidia-smi ---------------------------------------------------------------------- */

static const char smi_good[] = "0, GPU-5e3a0000-1111, NVIDIA H100 80GB HBM3, 81559\n"
                               "1, GPU-5e3a0000-2222, NVIDIA H100 80GB HBM3, 81559\n"
                               "\n"
                               "2, GPU-5e3a0000-3333 , NVIDIA H100 80GB HBM3 ,[N/A]\n";

static void test_parse_good(void **state)
{
    (void)state;
    allot_gpu_info g[8];
    size_t n = 0;
    allot_diag d = {0};
    assert_int_equal(allot_parse_nvidia_smi(smi_good, g, 8, &n, &d), 0);
    assert_int_equal(n, 3);
    assert_int_equal(g[1].index, 1);
    assert_string_equal(g[1].uuid, "GPU-5e3a0000-2222");
    assert_string_equal(g[2].uuid, "GPU-5e3a0000-3333");
    assert_string_equal(g[2].model, "NVIDIA H100 80GB HBM3");
    assert_int_equal(g[0].memory_mib, 81559);
    assert_int_equal(g[2].memory_mib, 0);
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "\n\n",
        "No devices were found\n",
        "0, GPU-1, NVIDIA H100\n",                     /* 3 fields */
        "x, GPU-1, NVIDIA H100, 80\n",                 /* bad index */
        "0, GPU-1, NVIDIA H100, lots\n",               /* bad memory */
        "0, GPU-1, NVIDIA H100, 80, 1\n",              /* 5 fields */
        "0, , NVIDIA H100, 80\n",                      /* no uuid */
        "0, GPU-1, NVIDIA H100, 80\n0, GPU-2, X, 1\n", /* index twice */
        "\x01\x02\xff garbage \x7f",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        allot_gpu_info g[4];
        size_t n = 99;
        allot_diag d = {0};
        int rc = allot_parse_nvidia_smi(bad[i], g, 4, &n, &d);
        assert_int_equal(rc, ALLOT_EPARSE);
        assert_true(d.msg[0] != '\0');
    }
    /* more GPUs than room */
    allot_gpu_info g[2];
    size_t n = 0;
    allot_diag d = {0};
    assert_int_equal(allot_parse_nvidia_smi(smi_good, g, 2, &n, &d), ALLOT_ELIMIT);
}

static void test_discover_fake_smi(void **state)
{
    (void)state;
    allot_gpu_info g[8];
    size_t n = 0;
    allot_diag d = {0};
    char body[1024];
    /* the script checks that it gets the query it expects */
    snprintf(body, sizeof body,
             "[ \"$1\" = --query-gpu=index,uuid,name,memory.total ] || exit 9\n"
             "[ \"$2\" = --format=csv,noheader,nounits ] || exit 9\n"
             "printf '%%s' '%s'\n",
             smi_good);
    setenv("ALLOT_NVIDIA_SMI", script("smi-good", body), 1);
    assert_int_equal(allot_discover_gpus(g, 8, &n, &d), 0);
    assert_int_equal(n, 3);

    allot_inventory inv;
    allot_inventory_flags fl = {-1, NULL, 4000, 2048};
    assert_int_equal(allot_inventory_discover(&inv, &fl, &d), 0);
    assert_int_equal(inv.devices, 3);
    assert_string_equal(inv.chip, "H100");
    assert_int_equal(inv.cpu, 4000);
    assert_int_equal(inv.mem, 2048);
    assert_int_equal(inv.ngpus, 3);

    /* flags win over the GPUs found */
    allot_inventory_flags fl2 = {2, "A100", -1, -1};
    assert_int_equal(allot_inventory_discover(&inv, &fl2, &d), 0);
    assert_int_equal(inv.devices, 2);
    assert_string_equal(inv.chip, "A100");
    assert_true(inv.cpu >= 1000);
    assert_true(inv.mem > 0);

    setenv("ALLOT_NVIDIA_SMI", script("smi-fail", "echo 'NVIDIA-SMI has failed'; exit 9\n"), 1);
    memset(&d, 0, sizeof d);
    assert_int_equal(allot_discover_gpus(g, 8, &n, &d), ALLOT_EIO);
    assert_non_null(strstr(d.msg, "exit code 9"));
    assert_int_equal(allot_inventory_discover(&inv, NULL, &d), ALLOT_EIO);

    setenv("ALLOT_NVIDIA_SMI", script("smi-junk", "echo 'this is not a csv'\n"), 1);
    assert_int_equal(allot_discover_gpus(g, 8, &n, &d), ALLOT_EPARSE);

    setenv("ALLOT_NVIDIA_SMI", script("smi-empty", "exit 0\n"), 1);
    assert_int_equal(allot_discover_gpus(g, 8, &n, &d), ALLOT_EPARSE);

    setenv("ALLOT_NVIDIA_SMI",
           script("smi-mixed", "echo '0, GPU-1, NVIDIA H100 80GB HBM3, 1'\n"
                               "echo '1, GPU-2, NVIDIA A100-SXM4-80GB, 1'\n"),
           1);
    assert_int_equal(allot_inventory_discover(&inv, NULL, &d), ALLOT_EINVAL);
    allot_inventory_flags fl3 = {-1, "H100", -1, -1};
    assert_int_equal(allot_inventory_discover(&inv, &fl3, &d), 0);
    assert_int_equal(inv.devices, 2);

    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-smi", tmpdir);
    setenv("ALLOT_NVIDIA_SMI", missing, 1);
    assert_int_equal(allot_discover_gpus(g, 8, &n, &d), ALLOT_ENOENT);
    unsetenv("ALLOT_NVIDIA_SMI");

    /* a declared CPU node */
    allot_inventory_flags fl4 = {0, NULL, -1, -1};
    assert_int_equal(allot_inventory_discover(&inv, &fl4, &d), 0);
    assert_int_equal(inv.devices, 0);
    assert_string_equal(inv.chip, "");
    allot_inventory_flags fl5 = {2, NULL, -1, -1};
    assert_int_equal(allot_inventory_discover(&inv, &fl5, &d), ALLOT_EINVAL);
}

static void test_chip_from_model(void **state)
{
    (void)state;
    static const char *cases[][2] = {
        {"NVIDIA H100 80GB HBM3", "H100"},
        {"NVIDIA H100 PCIe", "H100"},
        {"NVIDIA H200", "H200"},
        {"NVIDIA A100-SXM4-80GB", "A100"},
        {"NVIDIA A100-PCIE-40GB", "A100"},
        {"NVIDIA A800-SXM4-80GB", "A800"},
        {"Tesla V100-SXM2-32GB", "V100"},
        {"NVIDIA L40S", "L40S"},
        {"NVIDIA A10", "A10"},
        {"Tesla T4", "T4"},
        {"NVIDIA H20", "H20"},
        {"NVIDIA B200", "B200"},
        {"AMD Instinct MI300X", "MI300X"},
        {"NVIDIA GeForce RTX 4090", "RTX4090"},
        {"NVIDIA RTX A6000", "RTXA6000"},
        {"Foo9000 Ultra", "Foo9000"},
        {"", "unknown"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(allot_chip_from_model(cases[i][0], buf, sizeof buf), cases[i][1]);
}

/* ---- launcher ------------------------------------------------------------------------ */

static int spawn(allot_proc *p, char *const *argv, const int *devs, size_t ndev,
                 const char *workdir, allot_diag *d)
{
    char *env[] = {(char *)"ALLOT_TEST_VAR=hello world", (char *)"CUDA_VISIBLE_DEVICES=7", NULL};
    char logs[512];
    snprintf(logs, sizeof logs, "%s/logs", tmpdir);
    allot_task_spec s = {.job = 17,
                         .task = 2,
                         .epoch = 3,
                         .argv = argv,
                         .env = env,
                         .workdir = workdir,
                         .devices = devs,
                         .ndevices = ndev,
                         .gang_size = 4,
                         .node = "node-a",
                         .log_dir = logs};
    return allot_proc_spawn(&s, p, d);
}

static void test_launch_env_and_logs(void **state)
{
    (void)state;
    allot_proc p;
    allot_diag d = {0};
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)"env; echo to-stderr >&2; exit 3", NULL};
    int devs[] = {1, 3};
    assert_int_equal(spawn(&p, argv, devs, 2, NULL, &d), 0);
    wait_end(&p, 1, 2);
    assert_int_equal(p.exit_code, 3);
    assert_int_equal(p.signal, 0);
    char exp[512];
    snprintf(exp, sizeof exp, "%s/logs/17.2.3.out", tmpdir);
    assert_string_equal(p.out_path, exp);
    char *out = slurp(p.out_path), *err = slurp(p.err_path);
    assert_non_null(out);
    assert_non_null(err);
    /* exactly the allotted devices, whatever the job's env said */
    assert_non_null(strstr(out, "\nCUDA_VISIBLE_DEVICES=1,3\n"));
    assert_null(strstr(out, "CUDA_VISIBLE_DEVICES=7"));
    assert_non_null(strstr(out, "\nASCEND_RT_VISIBLE_DEVICES=1,3\n"));
    assert_non_null(strstr(out, "\nALLOT_JOB_ID=17\n"));
    assert_non_null(strstr(out, "\nALLOT_TASK_ID=2\n"));
    assert_non_null(strstr(out, "\nALLOT_GANG_SIZE=4\n"));
    assert_non_null(strstr(out, "\nALLOT_NODE=node-a\n"));
    assert_non_null(strstr(out, "\nALLOT_TEST_VAR=hello world\n"));
    assert_non_null(strstr(out, "\nPATH=")); /* the agent's own environment */
    assert_null(strstr(out, "to-stderr"));
    assert_string_equal(err, "to-stderr\n");
    free(out);
    free(err);
    char buf[64];
    assert_string_equal(allot_proc_describe(&p, buf, sizeof buf), "exit code 3");

    /* a CPU-only task sees empty device lists */
    char *argv2[] = {(char *)"sh", (char *)"-c",
                     (char *)"echo \"[$CUDA_VISIBLE_DEVICES][${ASCEND_RT_VISIBLE_DEVICES-unset}]\"",
                     NULL};
    unlink(p.out_path);
    assert_int_equal(spawn(&p, argv2, NULL, 0, NULL, &d), 0);
    wait_end(&p, 1, 2);
    assert_int_equal(p.exit_code, 0);
    out = slurp(p.out_path);
    assert_string_equal(out, "[][]\n");
    free(out);
}

static void test_launch_pgroup_and_term(void **state)
{
    (void)state;
    allot_proc p;
    allot_diag d = {0};
    char *argv[] = {(char *)"sleep", (char *)"5", NULL};
    assert_int_equal(spawn(&p, argv, NULL, 0, NULL, &d), 0);
    assert_true(p.pid > 0);
    assert_int_equal(getpgid(p.pid), p.pid); /* its own process group */
    assert_int_not_equal(getpgid(p.pid), getpgrp());
    assert_int_equal(allot_proc_poll(&p), 0);
    double t0 = allot_mono_now();
    allot_proc_term(&p, t0);
    wait_end(&p, 5, 2);
    assert_int_equal(p.signal, SIGTERM);
    assert_int_equal(p.exit_code, -1);
    assert_int_equal(p.killed, 0);
    assert_true(allot_mono_now() - t0 < 1.0);
    for (int i = 0; i < 100 && !p.group_gone; i++) {
        allot_proc_tick(&p, allot_mono_now(), 5);
        usleep(2000);
    }
    assert_true(p.group_gone);
}

static void test_launch_term_ignored_gets_kill(void **state)
{
    (void)state;
    allot_proc p;
    allot_diag d = {0};
    /* the shell and its child ignore SIGTERM; the child is in the group too */
    char *argv[] = {(char *)"sh", (char *)"-c",
                    (char *)"trap '' TERM; echo ready; sleep 5 & wait; wait", NULL};
    assert_int_equal(spawn(&p, argv, NULL, 0, NULL, &d), 0);
    /* wait until the shell has set its trap */
    int ready = 0;
    for (int i = 0; i < 1000 && !ready; i++) {
        char *out = slurp(p.out_path);
        ready = out && strstr(out, "ready") != NULL;
        free(out);
        if (!ready) usleep(1000);
    }
    assert_true(ready);
    double t0 = allot_mono_now();
    allot_proc_term(&p, t0);
    wait_end(&p, 0.3, 2);
    double el = allot_mono_now() - t0;
    assert_int_equal(p.signal, SIGKILL);
    assert_int_equal(p.killed, 1);
    assert_true(el >= 0.3 && el < 1.5);
    for (int i = 0; i < 200 && !p.group_gone; i++) {
        allot_proc_tick(&p, allot_mono_now(), 0.3);
        usleep(2000);
    }
    assert_true(p.group_gone); /* the sleep went too */
}

static void test_launch_signal_and_workdir(void **state)
{
    (void)state;
    allot_proc p;
    allot_diag d = {0};
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)"pwd; kill -USR1 $$", NULL};
    char wd[512];
    snprintf(wd, sizeof wd, "%s/wd", tmpdir);
    assert_int_equal(mkdir(wd, 0755), 0);
    assert_int_equal(spawn(&p, argv, NULL, 0, wd, &d), 0);
    wait_end(&p, 1, 2);
    assert_int_equal(p.signal, SIGUSR1);
    char *out = slurp(p.out_path);
    char real[PATH_MAX], line[PATH_MAX + 2];
    assert_non_null(realpath(wd, real));
    snprintf(line, sizeof line, "%s\n", real);
    assert_string_equal(out, line);
    free(out);
    char buf[64];
    assert_non_null(strstr(allot_proc_describe(&p, buf, sizeof buf), "signal 10"));
}

static void test_launch_failures(void **state)
{
    (void)state;
    allot_proc p;
    allot_diag d = {0};
    /* a missing program fails the spawn itself: reported as failed_to_start */
    char *argv[] = {(char *)"/nonexistent/allot-no-such-program", NULL};
    assert_int_equal(spawn(&p, argv, NULL, 0, NULL, &d), ALLOT_ENOENT);
    assert_non_null(strstr(d.msg, "allot-no-such-program"));
    assert_int_equal(p.pid, 0);
    char *argv2[] = {(char *)"allot-no-such-program-on-path", NULL};
    assert_int_equal(spawn(&p, argv2, NULL, 0, NULL, &d), ALLOT_ENOENT);
    /* a missing workdir too */
    char *argv3[] = {(char *)"true", NULL};
    memset(&d, 0, sizeof d);
    assert_int_equal(spawn(&p, argv3, NULL, 0, "/nonexistent/dir", &d), ALLOT_ENOENT);
    assert_non_null(strstr(d.msg, "workdir"));
    /* not executable */
    char path[512];
    snprintf(path, sizeof path, "%s/noexec", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("echo hi\n", f);
    fclose(f);
    char *argv4[] = {path, NULL};
    assert_int_equal(spawn(&p, argv4, NULL, 0, NULL, &d), ALLOT_EIO);
    char *argv5[] = {NULL};
    assert_int_equal(spawn(&p, argv5, NULL, 0, NULL, &d), ALLOT_EINVAL);
}

/* ---- the agent loop against a fake server ------------------------------------------------ */

typedef struct fake {
    pthread_mutex_t mu;
    json_t *assign, *kill, *reg_kill; /* handed out once */
    json_t *events;                   /* received */
    json_t *logs;                     /* "job.task.stream" -> text received */
    json_t *eofs;                     /* "job.task.stream" -> true */
    json_t *last_register;
    int registers, polls, conflicts;
    double assign_sent; /* monotonic time the last assignment went out */
} fake;

static fake F;

typedef struct conbuf {
    char *p;
    size_t n;
} conbuf;

static enum MHD_Result reply(struct MHD_Connection *con, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(con, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    conbuf *b = *con_cls;
    if (!b) {
        *con_cls = calloc(1, sizeof *b);
        return MHD_YES;
    }
    if (*upload_size) {
        b->p = realloc(b->p, b->n + *upload_size + 1);
        memcpy(b->p + b->n, upload, *upload_size);
        b->n += *upload_size;
        b->p[b->n] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    json_t *body = b->n ? json_loadb(b->p, b->n, 0, NULL) : json_object();
    if (strcmp(method, "POST") != 0 || !body) {
        json_decref(body);
        return reply(con, 400,
                     json_pack("{s{ssss}}", "error", "code", "bad_request", "message", "x"));
    }
    if (strcmp(url, "/v1/nodes") == 0 &&
        strcmp(json_string_value(json_object_get(body, "name")), "refuse-me") == 0) {
        json_decref(body);
        return reply(con, 400,
                     json_pack("{s{ssss}}", "error", "code", "bad_request", "message",
                               "devices: inventory may not change"));
    }
    if (strcmp(url, "/v1/nodes") == 0) {
        pthread_mutex_lock(&F.mu);
        F.registers++;
        json_decref(F.last_register);
        F.last_register = json_incref(body);
        json_t *k = F.reg_kill;
        F.reg_kill = json_array();
        pthread_mutex_unlock(&F.mu);
        json_decref(body);
        return reply(con, 200,
                     json_pack("{s{} si si so}", "node", "heartbeat_interval", 5, "node_timeout",
                               30, "kill", k));
    }
    if (strcmp(url, "/v1/nodes/node-t/poll") == 0) {
        json_decref(body);
        for (int i = 0; i < 50; i++) {
            pthread_mutex_lock(&F.mu);
            if (i == 0) F.polls++;
            if (json_array_size(F.assign) || json_array_size(F.kill)) {
                json_t *a = F.assign, *k = F.kill;
                F.assign = json_array();
                F.kill = json_array();
                if (json_array_size(a)) F.assign_sent = allot_mono_now();
                pthread_mutex_unlock(&F.mu);
                return reply(con, 200, json_pack("{so so}", "assign", a, "kill", k));
            }
            pthread_mutex_unlock(&F.mu);
            usleep(2000);
        }
        return reply(con, 200, json_pack("{s[] s[]}", "assign", "kill"));
    }
    if (strcmp(url, "/v1/nodes/node-t/events") == 0) {
        pthread_mutex_lock(&F.mu);
        json_array_extend(F.events, json_object_get(body, "events"));
        pthread_mutex_unlock(&F.mu);
        json_decref(body);
        return reply(con, 200, json_object());
    }
    if (strcmp(url, "/v1/nodes/node-t/logs") == 0) {
        size_t i;
        json_t *c;
        int status = 200;
        char msg[128] = "";
        pthread_mutex_lock(&F.mu);
        json_array_foreach(json_object_get(body, "chunks"), i, c)
        {
            char key[96];
            snprintf(key, sizeof key, "%lld.%lld.%s",
                     (long long)json_integer_value(json_object_get(c, "job")),
                     (long long)json_integer_value(json_object_get(c, "task")),
                     json_string_value(json_object_get(c, "stream")));
            json_t *have = json_object_get(F.logs, key);
            size_t len = have ? json_string_length(have) : 0;
            if ((size_t)json_integer_value(json_object_get(c, "offset")) != len) {
                status = 409;
                F.conflicts++;
                snprintf(msg, sizeof msg, "offset: expected %zu", len);
                continue;
            }
            json_t *d = json_object_get(c, "data");
            size_t dn = json_string_length(d);
            char *all = malloc(len + dn + 1);
            memcpy(all, have ? json_string_value(have) : "", len);
            memcpy(all + len, json_string_value(d), dn);
            json_object_set_new(F.logs, key, json_stringn(all, len + dn));
            free(all);
            if (json_is_true(json_object_get(c, "eof")))
                json_object_set_new(F.eofs, key, json_true());
        }
        pthread_mutex_unlock(&F.mu);
        json_decref(body);
        if (status != 200)
            return reply(con, status,
                         json_pack("{s{ssss}}", "error", "code", "conflict", "message", msg));
        return reply(con, 200, json_object());
    }
    json_decref(body);
    return reply(con, 404, json_pack("{s{ssss}}", "error", "code", "not_found", "message", url));
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    conbuf *b = *con_cls;
    if (b) free(b->p);
    free(b);
    *con_cls = NULL;
}

typedef struct runner {
    allot_agent_config cfg;
    volatile int stop;
    int rc;
    allot_diag d;
} runner;

static void *run_agent(void *arg)
{
    runner *r = arg;
    r->rc = allot_agent_run(&r->cfg, &r->stop, &r->d);
    return NULL;
}

/* The event of type ty for job j, or NULL. */
static json_t *find_event(long long j, const char *ty)
{
    size_t i;
    json_t *e;
    json_array_foreach(F.events, i, e)
    {
        if (json_integer_value(json_object_get(e, "job")) == j &&
            strcmp(json_string_value(json_object_get(e, "type")), ty) == 0)
            return e;
    }
    return NULL;
}

/* Waits (at most 3 s) for the event; returns it. */
static json_t *wait_event(long long j, const char *ty)
{
    for (int i = 0; i < 1500; i++) {
        pthread_mutex_lock(&F.mu);
        json_t *e = find_event(j, ty);
        pthread_mutex_unlock(&F.mu);
        if (e) return e;
        usleep(2000);
    }
    return NULL;
}

static void quiet(void *arg, const char *line)
{
    (void)arg;
    (void)line;
}

static void agent_cfg(runner *r, const char *url)
{
    allot_agent_config_init(&r->cfg);
    r->cfg.server = url;
    r->cfg.name = "node-t";
    r->cfg.work_dir = tmpdir;
    r->cfg.grace = 0.5;
    r->cfg.poll_wait = 0.1;
    r->cfg.log = quiet;
    r->cfg.inv.devices = 2;
    snprintf(r->cfg.inv.chip, sizeof r->cfg.inv.chip, "H100");
    r->cfg.inv.cpu = 4000;
    r->cfg.inv.mem = 1024;
}

static void fake_init(void)
{
    memset(&F, 0, sizeof F);
    pthread_mutex_init(&F.mu, NULL);
    F.assign = json_array();
    F.kill = json_array();
    F.reg_kill = json_array();
    F.events = json_array();
    F.logs = json_object();
    F.eofs = json_object();
}

static void fake_free(void)
{
    json_decref(F.assign);
    json_decref(F.kill);
    json_decref(F.reg_kill);
    json_decref(F.events);
    json_decref(F.logs);
    json_decref(F.eofs);
    json_decref(F.last_register);
    pthread_mutex_destroy(&F.mu);
}

static struct MHD_Daemon *fake_start(unsigned port)
{
    struct MHD_Daemon *mhd = NULL;
    for (int i = 0; i < 50 && !mhd; i++) {
        mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                               (uint16_t)port, NULL, NULL, handler, NULL,
                               MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                               MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
        if (!mhd) usleep(20000);
    }
    assert_non_null(mhd);
    return mhd;
}

static void test_agent_loop(void **state)
{
    (void)state;
    fake_init();
    struct MHD_Daemon *mhd = fake_start(0);
    unsigned port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", port);

    runner *r = calloc(1, sizeof *r);
    agent_cfg(r, url);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_agent, r), 0);

    /* job 1 runs and ends, job 2 runs until killed, job 3 cannot start; job 1
     * twice (an assignment is idempotent) */
    json_t *as = json_loads(
        "[{\"job\":1,\"task\":0,\"epoch\":1,\"command\":[\"sh\",\"-c\",\"echo "
        "out-$ALLOT_JOB_ID-$CUDA_VISIBLE_DEVICES; printf 'caf\\\\303\\\\251 \\\\377\\\\n' >&2\"],"
        "\"env\":{},\"devices\":[1],\"gang_size\":1},"
        "{\"job\":1,\"task\":0,\"epoch\":1,\"command\":[\"sh\",\"-c\",\"echo "
        "dup\"],\"devices\":[1]},"
        "{\"job\":2,\"task\":0,\"epoch\":1,\"command\":[\"sleep\",\"30\"],\"devices\":[0]},"
        "{\"job\":3,\"task\":0,\"epoch\":1,\"command\":[\"/nonexistent/prog\"],\"devices\":[]}]",
        0, NULL);
    assert_non_null(as);
    pthread_mutex_lock(&F.mu);
    json_array_extend(F.assign, as);
    pthread_mutex_unlock(&F.mu);
    json_decref(as);

    json_t *e = wait_event(1, "started");
    assert_non_null(e);
    pthread_mutex_lock(&F.mu);
    double latency = allot_mono_now() - F.assign_sent;
    pthread_mutex_unlock(&F.mu);
    assert_true(json_is_number(json_object_get(e, "time")));
    e = wait_event(1, "exited");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "exit_code")), 0);
    assert_non_null(wait_event(2, "started"));
    e = wait_event(3, "failed_to_start");
    assert_non_null(e);
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "/nonexistent/prog"));

    /* the logs arrive complete, invalid UTF-8 replaced */
    int ok = 0;
    for (int i = 0; i < 1500 && !ok; i++) {
        pthread_mutex_lock(&F.mu);
        ok = json_is_true(json_object_get(F.eofs, "1.0.stdout")) &&
             json_is_true(json_object_get(F.eofs, "1.0.stderr"));
        pthread_mutex_unlock(&F.mu);
        if (!ok) usleep(2000);
    }
    assert_true(ok);
    assert_string_equal(json_string_value(json_object_get(F.logs, "1.0.stdout")), "out-1-1\n");
    assert_string_equal(json_string_value(json_object_get(F.logs, "1.0.stderr")),
                        "caf\xc3\xa9 \xef\xbf\xbd\n");
    assert_int_equal(F.conflicts, 0);

    /* the server kills job 2 */
    pthread_mutex_lock(&F.mu);
    json_array_append_new(
        F.kill, json_pack("{si si si ss}", "job", 2, "task", 0, "epoch", 1, "reason", "cancelled"));
    pthread_mutex_unlock(&F.mu);
    e = wait_event(2, "exited");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "signal")), SIGTERM);

    /* exactly one start per assignment */
    pthread_mutex_lock(&F.mu);
    size_t i, starts = 0;
    json_array_foreach(F.events, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "type")), "started") == 0) starts++;
    }
    assert_int_equal(starts, 2);
    assert_int_equal(F.registers, 1);
    assert_string_equal(json_string_value(json_object_get(F.last_register, "chip")), "H100");
    assert_int_equal(json_integer_value(json_object_get(F.last_register, "devices")), 2);
    pthread_mutex_unlock(&F.mu);

    /* a stop with a task running: it is stopped and reported */
    pthread_mutex_lock(&F.mu);
    json_array_append_new(F.assign, json_loads("{\"job\":4,\"task\":0,\"epoch\":1,\"command\":["
                                               "\"sleep\",\"30\"],\"devices\":[]}",
                                               0, NULL));
    pthread_mutex_unlock(&F.mu);
    assert_non_null(wait_event(4, "started"));
    double t0 = allot_mono_now();
    r->stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(r->rc, 0);
    assert_true(allot_mono_now() - t0 < 1.5);
    pthread_mutex_lock(&F.mu);
    e = find_event(4, "exited");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "signal")), SIGTERM);
    pthread_mutex_unlock(&F.mu);
    fprintf(stderr, "assignment to started event: %.1f ms\n", latency * 1e3);

    free(r);
    MHD_stop_daemon(mhd);
    fake_free();
}

/* The server goes away and comes back: the task keeps running, the agent
 * registers again reporting it, and stops it when the server says so. */
static void test_agent_reconnect(void **state)
{
    (void)state;
    fake_init();
    struct MHD_Daemon *mhd = fake_start(0);
    unsigned port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", port);
    runner *r = calloc(1, sizeof *r);
    agent_cfg(r, url);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_agent, r), 0);
    pthread_mutex_lock(&F.mu);
    json_array_append_new(F.assign, json_loads("{\"job\":5,\"task\":1,\"epoch\":2,\"command\":["
                                               "\"sleep\",\"30\"],\"devices\":[0]}",
                                               0, NULL));
    pthread_mutex_unlock(&F.mu);
    assert_non_null(wait_event(5, "started"));

    MHD_stop_daemon(mhd); /* the server is gone */
    usleep(300000);
    pthread_mutex_lock(&F.mu);
    F.registers = 0;
    json_array_append_new(F.reg_kill, json_pack("{si si si}", "job", 5, "task", 1, "epoch", 2));
    pthread_mutex_unlock(&F.mu);
    mhd = fake_start(port); /* and back */
    json_t *e = wait_event(5, "exited");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "signal")), SIGTERM);
    pthread_mutex_lock(&F.mu);
    assert_int_equal(F.registers, 1);
    json_t *run = json_object_get(F.last_register, "running");
    assert_int_equal(json_array_size(run), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(run, 0), "job")), 5);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(run, 0), "epoch")), 2);
    pthread_mutex_unlock(&F.mu);
    r->stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(r->rc, 0);
    free(r);
    MHD_stop_daemon(mhd);
    fake_free();
}

/* A refusal for good on the first registration ends the agent with a message. */
static void test_agent_refused(void **state)
{
    (void)state;
    fake_init();
    struct MHD_Daemon *mhd = fake_start(0);
    unsigned port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", port);
    runner *r = calloc(1, sizeof *r);
    agent_cfg(r, url);
    r->cfg.name = "refuse-me";
    run_agent(r);
    assert_int_equal(r->rc, ALLOT_ESTATE);
    assert_non_null(strstr(r->d.msg, "refused"));
    free(r);
    MHD_stop_daemon(mhd);
    fake_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_chip_from_model),
        cmocka_unit_test_setup_teardown(test_discover_fake_smi, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_launch_env_and_logs, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_launch_pgroup_and_term, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_launch_term_ignored_gets_kill, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_launch_signal_and_workdir, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_launch_failures, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_agent_loop, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_agent_reconnect, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_agent_refused, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
