/* allot/csv.h - a small, strict CSV tokenizer with positions and hard caps.
 *
 * RFC 4180 fields (quotes, doubled quotes, CR LF or LF line ends). Every
 * record is bounded (ALLOT_CSV_MAX_LINE bytes, ALLOT_CSV_MAX_FIELDS fields),
 * so corrupt input cannot balloon memory. Errors carry line and column.
 * Reads from a memory buffer (the caller maps or reads the file).
 */
#ifndef ALLOT_CSV_H
#define ALLOT_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "allot/err.h"

#define ALLOT_CSV_MAX_LINE   65536
#define ALLOT_CSV_MAX_FIELDS 256

typedef struct allot_csv {
    const char *buf; /* input, not owned */
    size_t len, pos;
    int line; /* line of the current record, 1-based */
    int nfields;
    const char *field[ALLOT_CSV_MAX_FIELDS]; /* NUL-terminated, in scratch */
    int col[ALLOT_CSV_MAX_FIELDS];           /* 1-based column of each field */
    char scratch[ALLOT_CSV_MAX_LINE + ALLOT_CSV_MAX_FIELDS];
    const char *file; /* for diagnostics */
} allot_csv;

void allot_csv_init(allot_csv *r, const char *buf, size_t len, const char *file);
/* Reads the next record. Returns 1 if a record was read, 0 at end of input,
 * or a negative error (EPARSE, ELIMIT) with d filled. Blank lines are
 * skipped. */
int allot_csv_next(allot_csv *r, allot_diag *d);
/* Index of a header field by name in the current record, or -1. */
int allot_csv_find(const allot_csv *r, const char *name);

/* Field converters: strict, the whole field must be consumed. On failure they
 * fill d with the field's line/column and return EPARSE or ERANGE. */
int allot_csv_i64(const allot_csv *r, int f, int64_t lo, int64_t hi, int64_t *out, allot_diag *d);
int allot_csv_f64(const allot_csv *r, int f, double lo, double hi, double *out, allot_diag *d);

/* The same, with the message prefixed by "column 'col': " so readers name
 * the field that is wrong. */
int allot_csv_col_i64(const allot_csv *r, int f, const char *col, int64_t lo, int64_t hi,
                      int64_t *out, allot_diag *d);
/* Field f as a timestamp "YYYY-MM-DD HH:MM:SS" into whole seconds since
 * 1970-01-01 00:00:00 (no zone; readers use differences), parsed by hand (no
 * locale, no time zone). With frac non-NULL a fraction ".f" of 1..9 digits
 * may follow and goes into *frac. EPARSE "column 'col': expected ..." for the
 * wrong shape, ERANGE "column 'col': no such day in '...'" for a date or time
 * that does not exist. */
int allot_csv_col_time(const allot_csv *r, int f, const char *col, int64_t *sec, double *frac,
                       allot_diag *d);
/* Finds the columns names[0..n) in the current record (the header): col[k]
 * gets the field index or -1. The first nrequired must be present; else
 * EPARSE "header lacks the column 'x' (<what> needs <the required list>)". */
int allot_csv_columns(const allot_csv *r, const char *const *names, int n, int nrequired,
                      const char *what, int *col, allot_diag *d);
/* Checks that the current record has nf fields, as the header did; else
 * EPARSE pointing at the first extra field or just past the last one. */
int allot_csv_expect_fields(const allot_csv *r, int nf, allot_diag *d);
/* Prefixes d->msg with "column 'col': " when rc < 0; returns rc. */
int allot_diag_prefix_column(allot_diag *d, int rc, const char *col);

/* Reads a whole file into memory (NUL-terminated, capped at maxbytes).
 * Transparently decompresses a .zst file. Caller frees *out. */
int allot_read_file(const char *path, size_t maxbytes, char **out, size_t *len, allot_diag *d);

#endif
