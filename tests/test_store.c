/* test_store.c - the control plane's durable state (allot/store.h): records
 * survive close and reopen; a batch is all or nothing; every commit that
 * returned survives a SIGKILL of the writing process. */
#include "testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allot/job.h"
#include "allot/store.h"

static char *temp_dir(void)
{
    char *d = strdup("/tmp/allot-store-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void remove_dir(const char *d)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

typedef struct seen {
    uint32_t jobs, tasks, nodes, tenants;
    uint32_t last_id;
    int last_state;
    char last_spec[64];
} seen;

static int on_job(void *arg, uint32_t id, const char *tenant, int state, const char *spec)
{
    seen *s = arg;
    (void)tenant;
    s->jobs++;
    s->last_id = id;
    s->last_state = state;
    snprintf(s->last_spec, sizeof s->last_spec, "%s", spec);
    return 0;
}

static int on_task(void *arg, uint32_t job, uint32_t task, const char *node, uint64_t devs)
{
    seen *s = arg;
    (void)job;
    (void)task;
    (void)node;
    assert_true(devs != 0);
    s->tasks++;
    return 0;
}

static int on_node(void *arg, const char *name, int state, const char *spec)
{
    seen *s = arg;
    (void)name;
    (void)state;
    (void)spec;
    s->nodes++;
    return 0;
}

static int on_tenant(void *arg, const char *name, const char *spec)
{
    seen *s = arg;
    (void)name;
    (void)spec;
    s->tenants++;
    return 0;
}

static seen load_all(allot_store *st)
{
    seen s;
    memset(&s, 0, sizeof s);
    allot_store_visitor v = {&s, on_job, on_task, on_node, on_tenant};
    assert_int_equal(allot_store_load(st, &v), 0);
    return s;
}

static void reopen_keeps_everything(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char sub[300];
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* created on demand */
    allot_store *st = NULL;
    allot_diag d = {0};
    assert_int_equal(allot_store_open(&st, sub, &d), 0);
    assert_int_equal(allot_store_max_job_id(st), -1);
    assert_int_equal(allot_store_put_job(st, 1, "a", 0, "{}"), ALLOT_ESTATE); /* outside a batch */
    assert_int_equal(allot_store_begin(st), 0);
    for (uint32_t i = 1; i <= 100; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "{\"devices\":%u}", i % 8 + 1);
        assert_int_equal(allot_store_put_job(st, i, i % 2 ? "a" : "b", ALLOT_JOB_PENDING, spec), 0);
    }
    assert_int_equal(allot_store_put_task(st, 7, 0, "n1", 0x3), 0);
    assert_int_equal(allot_store_put_task(st, 7, 1, "n2", 0xc), 0);
    assert_int_equal(allot_store_set_job_state(st, 7, ALLOT_JOB_RUNNING), 0);
    assert_int_equal(allot_store_set_job_state(st, 1000, ALLOT_JOB_RUNNING), ALLOT_ENOENT);
    assert_int_equal(allot_store_put_node(st, "n1", 1, "{\"devices\":8}"), 0);
    assert_int_equal(allot_store_put_node(st, "n2", 1, "{\"devices\":8}"), 0);
    assert_int_equal(allot_store_put_tenant(st, "a", "{\"quota\":{}}"), 0);
    assert_int_equal(allot_store_commit(st), 0);
    /* a rolled-back batch leaves nothing */
    assert_int_equal(allot_store_begin(st), 0);
    assert_int_equal(allot_store_put_job(st, 500, "a", 0, "{}"), 0);
    assert_int_equal(allot_store_rollback(st), 0);
    allot_store_close(st);

    assert_int_equal(allot_store_open(&st, sub, &d), 0);
    seen s = load_all(st);
    assert_int_equal(s.jobs, 100);
    assert_int_equal(s.last_id, 100);
    assert_string_equal(s.last_spec, "{\"devices\":5}");
    assert_int_equal(s.tasks, 2);
    assert_int_equal(s.nodes, 2);
    assert_int_equal(s.tenants, 1);
    assert_int_equal(allot_store_max_job_id(st), 100);
    assert_int_equal(allot_store_begin(st), 0);
    assert_int_equal(allot_store_clear_tasks(st, 7), 0);
    assert_int_equal(allot_store_commit(st), 0);
    s = load_all(st);
    assert_int_equal(s.tasks, 0);
    /* retention: a deleted job is gone after a reopen */
    assert_int_equal(allot_store_begin(st), 0);
    assert_int_equal(allot_store_delete_job(st, 3), 0);
    assert_int_equal(allot_store_commit(st), 0);
    assert_int_equal(allot_store_delete_job(st, 4), ALLOT_ESTATE); /* outside a batch */
    allot_store_close(st);
    assert_int_equal(allot_store_open(&st, sub, &d), 0);
    s = load_all(st);
    assert_int_equal(s.jobs, 99);
    allot_store_close(st);
    remove_dir(dir);
    free(dir);
}

static void bad_directory(void **state)
{
    (void)state;
    allot_store *st = NULL;
    allot_diag d = {0};
    assert_int_equal(allot_store_open(&st, "/proc/allot-cannot-be-here", &d), ALLOT_EIO);
    assert_null(st);
    assert_true(strstr(d.msg, "state directory") != NULL);
}

/* A child commits batches of jobs and reports each committed id on a pipe;
 * the parent kills it with SIGKILL at a random moment, several times, and
 * every reported id must be in the database afterwards. */
static void kill9_loses_nothing_acknowledged(void **state)
{
    (void)state;
    char *dir = temp_dir();
    uint32_t next = 1;
    srand(7);
    for (int round = 0; round < 5; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            allot_store *st = NULL;
            if (allot_store_open(&st, dir, NULL)) _exit(3);
            for (uint32_t id = next;; id += 4) {
                if (allot_store_begin(st)) _exit(4);
                for (uint32_t k = 0; k < 4; k++)
                    if (allot_store_put_job(st, id + k, "t", 0, "{\"cmd\":[\"true\"]}")) _exit(5);
                if (allot_store_commit(st)) _exit(6);
                uint32_t ack = id + 3; /* every id up to this one is durable */
                if (write(fds[1], &ack, sizeof ack) != (ssize_t)sizeof ack) _exit(7);
            }
        }
        close(fds[1]);
        uint32_t acked = 0, v;
        int want = 20 + rand() % 200; /* acknowledgements before the kill */
        for (int k = 0; k < want && read(fds[0], &v, sizeof v) == (ssize_t)sizeof v; k++) acked = v;
        kill(pid, SIGKILL);
        while (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v) acked = v; /* sent before death */
        close(fds[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_true(acked >= next);
        allot_store *st = NULL;
        assert_int_equal(allot_store_open(&st, dir, NULL), 0);
        seen s = load_all(st);
        int64_t max = allot_store_max_job_id(st);
        allot_store_close(st);
        assert_true(max >= (int64_t)acked);      /* nothing acknowledged was lost */
        assert_int_equal(s.jobs, (uint32_t)max); /* batches are whole: ids 1..max, no gaps */
        next = (uint32_t)max + 1;
    }
    remove_dir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reopen_keeps_everything),
        cmocka_unit_test(bad_directory),
        cmocka_unit_test(kill9_loses_nothing_acknowledged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
