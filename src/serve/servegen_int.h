/* src/serve/servegen_int.h - ServeGen trace reading and the random draws,
 * shared by the request-sampling reader (reqtrace.c) and the window-rate
 * demand (servegen.c). Private to src/serve. */
#ifndef ALLOT_SERVEGEN_INT_H
#define ALLOT_SERVEGEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "allot/err.h"
#include "allot/rng.h"

#define SG_WINDOW_S       600.0
#define SG_TOK_MIN        1
#define SG_TOK_MAX        32768
#define SG_TOK_SIGMA      1.0
#define TOKEN_STREAM_SALT 0x746f6b656e73ull /* "tokens" */

enum { SG_PAT_NONE = 0, SG_PAT_GAMMA, SG_PAT_WEIBULL };

/* One busy window of one client (rate > 0). */
typedef struct sg_row {
    double start, rate, cv, shape, scale;
    int pat;
} sg_row;

typedef struct sg_rows {
    sg_row *v;
    size_t n, cap;
    double last_end; /* end of the last window read, idle ones included */
    int any_window;  /* a window was read (even an idle one) */
} sg_rows;

/* Appends the busy windows of one chunk file that start before max_span_s
 * (0: all); idle windows only move last_end. EIO, EPARSE (file:line:col). */
int sg_read_rows(const char *path, double max_span_s, sg_rows *w, allot_diag *d);

/* The chunk files of a ServeGen path in file-name (byte) order: a model
 * directory's chunk-*-trace.csv, or the one file; dir gets the directory.
 * Free with sg_free_list. EIO, EPARSE (no chunk file), ELIMIT, ENOMEM. */
int sg_list(const char *path, int is_dir, char ***files, size_t *nfiles, char *dir, size_t dirlen,
            allot_diag *d);
void sg_free_list(char **files, size_t n);
int sg_is_chunk_name(const char *name);

/* The token log-normal medians of the model family named in the path. */
void sg_family(const char *dir, double *in_med, double *out_med);
/* "servegen-<model dir name>" */
void sg_name(const char *dir, char *name, size_t len);

/* ---- draws ---------------------------------------------------------------- */

typedef struct sg_normal {
    int has;
    double spare;
} sg_normal;

double sg_u01(allot_rng *g);                               /* uniform in (0, 1) */
double sg_norm(allot_rng *g, sg_normal *s);                /* standard normal (polar) */
double sg_log_gamma(allot_rng *g, sg_normal *s, double a); /* ln Gamma(a, 1) */
int32_t sg_lognormal_tok(allot_rng *g, sg_normal *s, double median);

#endif
