/* tests/testutil.h - common includes and helpers for the cmocka tests. */
#ifndef ALLOT_TESTUTIL_H
#define ALLOT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Path of the shared traces, or NULL when ../shared is not beside us.
 * Tests that need real traces skip when it is absent. */
static inline const char *tu_traces_dir(void)
{
    static const char *cands[] = {"../shared/traces", "../../shared/traces"};
    const char *env = getenv("ALLOT_TRACES");
    if (env && access(env, R_OK) == 0) return env;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (access(cands[i], R_OK) == 0) return cands[i];
    return NULL;
}

/* Writes text to a fresh temp file; returns its path (static buffer per
 * call site is not needed: caller frees). */
static inline char *tu_tmpfile(const char *suffix, const char *text)
{
    char tmpl[] = "/tmp/allot-test-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return NULL;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    close(fd);
    size_t n = strlen(tmpl) + strlen(suffix) + 1;
    char *path = malloc(n);
    if (!path) return NULL;
    snprintf(path, n, "%s%s", tmpl, suffix);
    if (rename(tmpl, path) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

#endif
