/* err.c - the error table and diagnostics (see allot/err.h). */
#include "allot/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct err_row {
    int code;
    int http;
    const char *name;
    const char *text;
} err_row;

static const err_row err_table[] = {
#define ALLOT__ERR_ROW(name, value, http, text) {value, http, #name, text},
    ALLOT_ERRORS(ALLOT__ERR_ROW)
#undef ALLOT__ERR_ROW
};

static const err_row *err_find(int err)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == err) return &err_table[i];
    return NULL;
}

const char *allot_strerror(int err)
{
    const err_row *r = err_find(err);
    return r ? r->text : "unknown error";
}

const char *allot_errname(int err)
{
    const err_row *r = err_find(err);
    return r ? r->name : "EUNKNOWN";
}

int allot_err_http_status(int err)
{
    const err_row *r = err_find(err);
    return r ? r->http : 500;
}

int allot_diag_set(allot_diag *d, int err, const char *file, int line, int col, const char *fmt,
                   ...)
{
    if (!d) return err;
    if (file) {
        snprintf(d->file, sizeof d->file, "%s", file);
    } else {
        d->file[0] = '\0';
    }
    d->line = line;
    d->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return err;
}

void allot_diag_format(const allot_diag *d, char *buf, size_t len)
{
    if (!buf || len == 0) return;
    buf[0] = '\0';
    if (!d) return;
    size_t n = 0;
    if (d->file[0]) {
        if (d->line > 0 && d->col > 0)
            n = (size_t)snprintf(buf, len, "%s:%d:%d: ", d->file, d->line, d->col);
        else if (d->line > 0)
            n = (size_t)snprintf(buf, len, "%s:%d: ", d->file, d->line);
        else
            n = (size_t)snprintf(buf, len, "%s: ", d->file);
    }
    if (n < len) snprintf(buf + n, len - n, "%s", d->msg);
}

/* Edit distance of short strings (longer ones are never suggested). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32) return 99;
    size_t row[33];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int allot_name_known(const char *key, const char *const *allowed, const char **suggest)
{
    const char *best = NULL;
    size_t bestd = 3; /* suggest only close matches */
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(key, allowed[i]) == 0) {
            if (suggest) *suggest = NULL;
            return 1;
        }
        size_t dist = edit_distance(key, allowed[i]);
        if (dist < bestd) {
            bestd = dist;
            best = allowed[i];
        }
    }
    if (suggest) *suggest = best;
    return 0;
}
