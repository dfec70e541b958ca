/* allot/err.h - the one error type of allot.
 *
 * Every fallible function returns int: 0 on success, a negative ALLOT_E*
 * code on failure. The table below is the single source of the codes, their
 * names, human text and the HTTP status the API maps them to.
 * Library code never prints and never exits; parsers additionally fill an
 * allot_diag with file, line, column and a message.
 */
#ifndef ALLOT_ERR_H
#define ALLOT_ERR_H

#include <stddef.h>

/* X(name, value, http_status, text) */
#define ALLOT_ERRORS(X)                                                                            \
    X(OK, 0, 200, "success")                                                                       \
    X(EINVAL, -1, 400, "invalid argument")                                                         \
    X(ENOMEM, -2, 500, "out of memory")                                                            \
    X(EIO, -3, 500, "input/output error")                                                          \
    X(EPARSE, -4, 400, "malformed input")                                                          \
    X(ENOENT, -5, 404, "not found")                                                                \
    X(EEXIST, -6, 409, "already exists")                                                           \
    X(ERANGE, -7, 400, "value out of range")                                                       \
    X(ELIMIT, -8, 413, "input exceeds a hard limit")                                               \
    X(ENOFIT, -9, 409, "request does not fit")                                                     \
    X(ESTATE, -10, 409, "invalid state for this operation")                                        \
    X(EINVARIANT, -11, 500, "internal invariant violated")                                         \
    X(EUNSUPPORTED, -12, 501, "not supported")

enum allot_err {
#define ALLOT__ERR_ENUM(name, value, http, text) ALLOT_##name = value,
    ALLOT_ERRORS(ALLOT__ERR_ENUM)
#undef ALLOT__ERR_ENUM
};

/* Human text for a code ("unknown error" for codes not in the table). */
const char *allot_strerror(int err);
/* Symbolic name without prefix, e.g. "EPARSE". */
const char *allot_errname(int err);
/* HTTP status the API answers with for this code. */
int allot_err_http_status(int err);

/* Diagnostic filled by parsers: where and what. line/col are 1-based; 0 means
 * unknown. */
typedef struct allot_diag {
    char file[256];
    int line;
    int col;
    char msg[512];
} allot_diag;

/* Sets d (if non-NULL) and returns err. printf-style message. */
int allot_diag_set(allot_diag *d, int err, const char *file, int line, int col, const char *fmt,
                   ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Formats "file:line:col: msg" (omitting unknown parts) into buf. */
void allot_diag_format(const allot_diag *d, char *buf, size_t len);

/* Whether key is one of the NULL-terminated names in allowed (1); if not (0),
 * *suggest is the closest name within an edit distance of 2, for a "did you
 * mean", or NULL. */
int allot_name_known(const char *key, const char *const *allowed, const char **suggest);

#endif
