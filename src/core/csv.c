/* csv.c - the strict RFC 4180 tokenizer, field converters and file reader.
 *
 * Example: the input
 *     name,gpu\r\n"a ""b""",2\n\nc,\n
 * yields three records: {name, gpu} on line 1, {a "b", 2} on line 2 and
 * {c, ""} on line 4 (the blank line 3 is skipped).
 *
 * Rules (anything else is an error with line and column):
 *  - a record ends at LF, CR LF or the end of input; a CR not followed by LF
 *    outside quotes is an error (old Mac line ends are not supported);
 *  - a field that starts with '"' is quoted: it may hold commas, line ends
 *    and doubled quotes, and must be followed by ',', a line end or the end
 *    of input; a '"' inside an unquoted field is an error;
 *  - NUL bytes are errors (fields are handed out as C strings);
 *  - a record is at most ALLOT_CSV_MAX_LINE bytes (line end excluded, line
 *    ends inside quotes included) and ALLOT_CSV_MAX_FIELDS fields;
 *  - a UTF-8 byte order mark at the very start is skipped.
 * Columns are 1-based byte offsets within their line.
 *
 * Line bookkeeping: allot_csv has no slot for "the line at pos", so the line
 * where the next record starts is derived from the current record: its start
 * line plus one plus the line feeds inside its (quoted) fields, which are
 * kept verbatim in the field text.
 */
#include "allot/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

void allot_csv_init(allot_csv *r, const char *buf, size_t len, const char *file)
{
    r->buf = buf ? buf : "";
    r->len = buf ? len : 0;
    r->pos = 0;
    r->line = 0; /* no record yet */
    r->nfields = 0;
    r->file = file;
    if (r->len >= 3 && (unsigned char)r->buf[0] == 0xEF && (unsigned char)r->buf[1] == 0xBB &&
        (unsigned char)r->buf[2] == 0xBF)
        r->pos = 3;
}

/* Line feeds inside fields [0, nf) of the current record. */
static int embedded_newlines(const allot_csv *r, int nf)
{
    int n = 0;
    for (int i = 0; i < nf; i++)
        for (const char *p = r->field[i]; *p; p++) n += *p == '\n';
    return n;
}

/* Marks the reader as finished after an error, so that a caller that keeps
 * calling gets end of input instead of garbage. */
static int fail(allot_csv *r, allot_diag *d, int err, int line, int col, const char *what)
{
    r->pos = r->len;
    r->nfields = 0;
    return allot_diag_set(d, err, r->file, line, col, "%s", what);
}

int allot_csv_next(allot_csv *r, allot_diag *d)
{
    const char *b = r->buf;
    size_t n = r->len, p = r->pos;
    int line;

    if (r->line == 0)
        line = 1;
    else
        line = r->line + 1 + embedded_newlines(r, r->nfields);
    r->nfields = 0;

    /* skip blank lines */
    for (;;) {
        if (p >= n) {
            r->pos = p;
            r->line = line;
            return 0;
        }
        if (b[p] == '\n') {
            p++, line++;
        } else if (b[p] == '\r' && p + 1 < n && b[p + 1] == '\n') {
            p += 2, line++;
        } else {
            break;
        }
    }

    r->line = line;
    size_t rec0 = p;  /* start of the record in buf */
    size_t line0 = p; /* start of the current physical line */
    int cur = line;   /* current physical line */
    char *out = r->scratch;
    char *const out_end = r->scratch + sizeof r->scratch;
    char msg[160];

    for (;;) { /* one field per iteration */
        if (r->nfields == ALLOT_CSV_MAX_FIELDS) {
            snprintf(msg, sizeof msg, "record has more than %d fields", ALLOT_CSV_MAX_FIELDS);
            return fail(r, d, ALLOT_ELIMIT, cur, (int)(p - line0 + 1), msg);
        }
        int fcol = (int)(p - line0 + 1);
        r->field[r->nfields] = out;
        r->col[r->nfields] = fcol;
        r->nfields++;
        int quoted = p < n && b[p] == '"';
        int qline = cur;
        int fend = 0; /* 1 = ',' follows, 2 = record ends */

        if (quoted) p++;
        for (;;) {
            /* at the cap only a line end (outside quotes) may follow */
            if (p - rec0 >= ALLOT_CSV_MAX_LINE && p < n &&
                (quoted || !(b[p] == '\n' || (b[p] == '\r' && p + 1 < n && b[p + 1] == '\n')))) {
                snprintf(msg, sizeof msg, "record longer than %d bytes", ALLOT_CSV_MAX_LINE);
                return fail(r, d, ALLOT_ELIMIT, cur, (int)(p - line0 + 1), msg);
            }
            if (p >= n) {
                if (quoted)
                    return fail(r, d, ALLOT_EPARSE, qline, fcol,
                                "unterminated quoted field (missing closing "
                                "'\"')");
                fend = 2;
                break;
            }
            char ch = b[p];
            if (ch == '\0')
                return fail(r, d, ALLOT_EPARSE, cur, (int)(p - line0 + 1), "NUL byte in input");
            if (quoted) {
                if (ch == '"') {
                    if (p + 1 < n && b[p + 1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++; /* closing quote */
                    if (p >= n) {
                        fend = 2;
                    } else if (b[p] == ',') {
                        p++;
                        fend = 1;
                    } else if (b[p] == '\n') {
                        p++;
                        fend = 2;
                    } else if (b[p] == '\r' && p + 1 < n && b[p + 1] == '\n') {
                        p += 2;
                        fend = 2;
                    } else {
                        unsigned char bad = (unsigned char)b[p];
                        if (bad >= 0x20 && bad < 0x7f)
                            snprintf(msg, sizeof msg,
                                     "unexpected '%c' after closing quote "
                                     "(expected ',' or end of line)",
                                     bad);
                        else
                            snprintf(msg, sizeof msg,
                                     "unexpected byte 0x%02x after closing "
                                     "quote (expected ',' or end of line)",
                                     bad);
                        return fail(r, d, ALLOT_EPARSE, cur, (int)(p - line0 + 1), msg);
                    }
                    break;
                }
                if (ch == '\n') {
                    cur++;
                    line0 = p + 1;
                }
                *out++ = ch;
                p++;
                continue;
            }
            /* unquoted */
            if (ch == ',') {
                p++;
                fend = 1;
                break;
            }
            if (ch == '\n') {
                p++;
                fend = 2;
                break;
            }
            if (ch == '\r') {
                if (p + 1 < n && b[p + 1] == '\n') {
                    p += 2;
                    fend = 2;
                    break;
                }
                return fail(r, d, ALLOT_EPARSE, cur, (int)(p - line0 + 1),
                            "carriage return not followed by a line feed");
            }
            if (ch == '"')
                return fail(r, d, ALLOT_EPARSE, cur, (int)(p - line0 + 1),
                            "'\"' inside an unquoted field (quote the whole "
                            "field and double the quote)");
            *out++ = ch;
            p++;
        }
        /* Field bytes never exceed record bytes (<= ALLOT_CSV_MAX_LINE), and
         * each field adds one NUL, so the scratch cannot overflow. */
        if (out >= out_end) return fail(r, d, ALLOT_EINVARIANT, cur, 1, "csv scratch overflow");
        *out++ = '\0';
        if (fend == 2) break;
        /* a ',' at the very end of input or line leaves one empty field,
         * which the next iteration produces */
    }
    r->pos = p;
    return 1;
}

int allot_csv_find(const allot_csv *r, const char *name)
{
    for (int i = 0; i < r->nfields; i++)
        if (strcmp(r->field[i], name) == 0) return i;
    return -1;
}

/* ---- converters --------------------------------------------------------- */

/* Line of field f (records with quoted line feeds span several lines). */
static int field_line(const allot_csv *r, int f) { return r->line + embedded_newlines(r, f); }

/* Copies field text into out for a message: at most 40 characters, other
 * than printable ASCII shown as '?', "..." when cut. */
static void quote_field(const char *s, char *out, size_t outlen)
{
    size_t i = 0, k = 0;
    for (; s[i] && k + 4 < outlen && i < 40; i++)
        out[k++] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
    if (s[i] && k + 4 <= outlen) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

static int bad_field(const allot_csv *r, int f, allot_diag *d)
{
    return allot_diag_set(d, ALLOT_EINVAL, r->file, r->line, 1,
                          "field %d is missing (record has %d fields)", f + 1, r->nfields);
}

int allot_csv_i64(const allot_csv *r, int f, int64_t lo, int64_t hi, int64_t *out, allot_diag *d)
{
    if (f < 0 || f >= r->nfields) return bad_field(r, f, d);
    const char *s = r->field[f];
    int line = field_line(r, f), col = r->col[f];
    char shown[48];
    quote_field(s, shown, sizeof shown);

    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    if (*p < '0' || *p > '9') {
        if (*s == '\0')
            return allot_diag_set(d, ALLOT_EPARSE, r->file, line, col,
                                  "expected an integer in %lld..%lld, got "
                                  "an empty field",
                                  (long long)lo, (long long)hi);
        return allot_diag_set(d, ALLOT_EPARSE, r->file, line, col,
                              "expected an integer in %lld..%lld, got '%s'", (long long)lo,
                              (long long)hi, shown);
    }
    /* accumulate as a negative number so INT64_MIN fits */
    int64_t v = 0;
    int overflow = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        int dgt = *p - '0';
        if (v < (INT64_MIN + dgt) / 10)
            overflow = 1;
        else
            v = v * 10 - dgt;
    }
    if (*p != '\0')
        return allot_diag_set(d, ALLOT_EPARSE, r->file, line, col,
                              "expected an integer in %lld..%lld, got '%s'", (long long)lo,
                              (long long)hi, shown);
    if (!neg) {
        if (v == INT64_MIN)
            overflow = 1;
        else
            v = -v;
    }
    if (overflow || v < lo || v > hi)
        return allot_diag_set(d, ALLOT_ERANGE, r->file, line, col,
                              "integer out of range: expected %lld..%lld, "
                              "got '%s'",
                              (long long)lo, (long long)hi, shown);
    *out = v;
    return 0;
}

/* Accepts [+-]digits[.digits][(e|E)[+-]digits] with at least one digit in
 * the mantissa; no spaces, hex, inf or nan. */
static int float_syntax_ok(const char *s)
{
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == '\0';
}

int allot_csv_f64(const allot_csv *r, int f, double lo, double hi, double *out, allot_diag *d)
{
    if (f < 0 || f >= r->nfields) return bad_field(r, f, d);
    const char *s = r->field[f];
    int line = field_line(r, f), col = r->col[f];
    char shown[48];
    quote_field(s, shown, sizeof shown);

    if (*s == '\0')
        return allot_diag_set(d, ALLOT_EPARSE, r->file, line, col,
                              "expected a number in %g..%g, got an empty "
                              "field",
                              lo, hi);
    if (!float_syntax_ok(s))
        return allot_diag_set(d, ALLOT_EPARSE, r->file, line, col,
                              "expected a number in %g..%g, got '%s'", lo, hi, shown);
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    /* strtod follows LC_NUMERIC; a locale with a decimal comma stops early */
    if (end == NULL || *end != '\0')
        return allot_diag_set(d, ALLOT_EPARSE, r->file, line, col,
                              "expected a number in %g..%g, got '%s'", lo, hi, shown);
    if (!isfinite(v) || !(v >= lo && v <= hi))
        return allot_diag_set(d, ALLOT_ERANGE, r->file, line, col,
                              "number out of range: expected %g..%g, got '%s'", lo, hi, shown);
    *out = v;
    return 0;
}

/* ---- reading files ------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Grows *buf (capacity *cap) to hold at least need bytes plus a NUL, never
 * beyond max + 1. Returns 0 or ENOMEM. */
static int grow(char **buf, size_t *cap, size_t need, size_t max)
{
    if (need + 1 <= *cap) return 0;
    size_t ncap = *cap ? *cap : 65536;
    while (ncap < need + 1) ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
    if (ncap > max + 1) ncap = max + 1;
    if (ncap < need + 1) return ALLOT_ENOMEM;
    char *nb = realloc(*buf, ncap);
    if (!nb) return ALLOT_ENOMEM;
    *buf = nb;
    *cap = ncap;
    return 0;
}

/* read() that retries on EINTR. */
static ssize_t read_some(int fd, void *buf, size_t n)
{
    ssize_t got;
    do got = read(fd, buf, n);
    while (got < 0 && errno == EINTR);
    return got;
}

int allot_read_file(const char *path, size_t maxbytes, char **out, size_t *len, allot_diag *d)
{
    int rc = 0, fd = -1;
    char *buf = NULL, *in = NULL;
    size_t cap = 0, n = 0;
    ZSTD_DStream *zs = NULL;

    *out = NULL;
    *len = 0;
    if (!path || !*path) return allot_diag_set(d, ALLOT_EINVAL, path, 0, 0, "empty file name");
    if (maxbytes >= SIZE_MAX - 1) maxbytes = SIZE_MAX - 2;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = allot_diag_set(d, e == ENOENT ? ALLOT_ENOENT : ALLOT_EIO, path, 0, 0,
                            "cannot open: %s", strerror(e));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot read: is a directory");
        goto out;
    }

    if (!ends_with(path, ".zst")) {
        if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > maxbytes) {
            rc = allot_diag_set(d, ALLOT_ELIMIT, path, 0, 0,
                                "file is %lld bytes, larger than the limit "
                                "of %zu bytes",
                                (long long)st.st_size, maxbytes);
            goto out;
        }
        /* the size is only a hint: the file may grow or be a pipe */
        if (S_ISREG(st.st_mode) && st.st_size > 0 &&
            (rc = grow(&buf, &cap, (size_t)st.st_size, maxbytes)) < 0)
            goto nomem;
        for (;;) {
            if (n == maxbytes) {
                /* full: one more byte means the file is too large */
                char probe;
                ssize_t got = read_some(fd, &probe, 1);
                if (got < 0) goto ioerr;
                if (got > 0) {
                    rc = allot_diag_set(d, ALLOT_ELIMIT, path, 0, 0,
                                        "file is larger than the limit of "
                                        "%zu bytes",
                                        maxbytes);
                    goto out;
                }
                break;
            }
            size_t target = maxbytes - n > 65536 ? n + 65536 : maxbytes;
            if ((rc = grow(&buf, &cap, target, maxbytes)) < 0) goto nomem;
            ssize_t got = read_some(fd, buf + n, cap - 1 - n);
            if (got < 0) goto ioerr;
            if (got == 0) break;
            n += (size_t)got;
        }
    } else {
        size_t inlen = ZSTD_DStreamInSize();
        size_t last = 0; /* last decompressStream result: 0 = frame done */
        int any = 0;
        in = malloc(inlen);
        zs = ZSTD_createDStream();
        if (!in || !zs) goto nomem;
        size_t zr = ZSTD_initDStream(zs);
        if (ZSTD_isError(zr)) {
            rc = allot_diag_set(d, ALLOT_EIO, path, 0, 0, "zstd: cannot initialise: %s",
                                ZSTD_getErrorName(zr));
            goto out;
        }
        for (;;) {
            ssize_t got = read_some(fd, in, inlen);
            if (got < 0) goto ioerr;
            if (got == 0) break;
            any = 1;
            ZSTD_inBuffer ib = {in, (size_t)got, 0};
            for (;;) {
                /* At the cap, decode into a 1-byte probe: any output then
                 * means the data is too large; frame epilogues give none. */
                char probe;
                ZSTD_outBuffer ob = {&probe, 1, 0};
                if (n < maxbytes) {
                    size_t target = maxbytes - n > 65536 ? n + 65536 : maxbytes;
                    if ((rc = grow(&buf, &cap, target, maxbytes)) < 0) goto nomem;
                    ob.dst = buf + n;
                    ob.size = cap - 1 - n;
                }
                last = ZSTD_decompressStream(zs, &ob, &ib);
                if (ZSTD_isError(last)) {
                    rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0, "corrupt zstd data: %s",
                                        ZSTD_getErrorName(last));
                    goto out;
                }
                if (ob.dst == &probe) {
                    if (ob.pos > 0) {
                        rc = allot_diag_set(d, ALLOT_ELIMIT, path, 0, 0,
                                            "decompressed data is larger "
                                            "than the limit of %zu bytes",
                                            maxbytes);
                        goto out;
                    }
                } else {
                    n += ob.pos;
                }
                /* done with this chunk once the input is used up and
                 * nothing is left to flush: a frame ended (0; calling again
                 * would start the next frame) or the output was not filled */
                if (ib.pos == ib.size && (last == 0 || ob.pos < ob.size)) break;
            }
        }
        if (!any) {
            rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0, "empty file is not zstd data");
            goto out;
        }
        if (last != 0) {
            rc = allot_diag_set(d, ALLOT_EPARSE, path, 0, 0,
                                "truncated zstd data (the last frame is "
                                "incomplete)");
            goto out;
        }
    }

    if ((rc = grow(&buf, &cap, n, maxbytes)) < 0) goto nomem;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
    goto out;

ioerr:
    rc = allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
    goto out;
nomem:
    rc = allot_diag_set(d, ALLOT_ENOMEM, path, 0, 0, "out of memory reading the file");
out:
    if (zs) ZSTD_freeDStream(zs);
    free(in);
    free(buf);
    if (fd >= 0) close(fd);
    return rc;
}

int allot_diag_prefix_column(allot_diag *d, int rc, const char *col)
{
    if (d && rc < 0) {
        char pre[96];
        int pl = snprintf(pre, sizeof pre, "column '%s': ", col);
        if (pl < 0) return rc;
        if ((size_t)pl >= sizeof pre) pl = (int)sizeof pre - 1;
        size_t ml = strnlen(d->msg, sizeof d->msg - 1);
        if ((size_t)pl + ml >= sizeof d->msg) ml = sizeof d->msg - 1 - (size_t)pl;
        memmove(d->msg + pl, d->msg, ml);
        memcpy(d->msg, pre, (size_t)pl);
        d->msg[(size_t)pl + ml] = '\0';
    }
    return rc;
}

int allot_csv_col_i64(const allot_csv *r, int f, const char *col, int64_t lo, int64_t hi,
                      int64_t *out, allot_diag *d)
{
    return allot_diag_prefix_column(d, allot_csv_i64(r, f, lo, hi, out, d), col);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t dd)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* Value of the n digits at s (checked to be digits by the caller). */
static int64_t digits(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

int allot_csv_col_time(const allot_csv *r, int f, const char *col, int64_t *sec, double *frac,
                       allot_diag *d)
{
    static const char pattern[] = "dddd-dd-dd dd:dd:dd";
    const size_t np = sizeof pattern - 1;
    const char *s = r->field[f];
    size_t n = strlen(s);
    char shown[48]; /* printable, at most 40 bytes */
    size_t k = 0;
    for (; s[k] && k < 40; k++)
        shown[k] = (unsigned char)s[k] >= 0x20 && (unsigned char)s[k] < 0x7f ? s[k] : '?';
    snprintf(shown + k, sizeof shown - k, "%s", s[k] ? "..." : "");
    int ok = n >= np && (n == np || frac);
    for (size_t i = 0; ok && i < np; i++)
        ok = pattern[i] == 'd' ? s[i] >= '0' && s[i] <= '9' : s[i] == pattern[i];
    double fr = 0;
    if (ok && n > np) {
        size_t nd = n - np - 1;
        ok = s[np] == '.' && nd >= 1 && nd <= 9;
        double scale = 0.1;
        for (size_t i = np + 1; ok && i < n; i++, scale /= 10) {
            ok = s[i] >= '0' && s[i] <= '9';
            fr += (s[i] - '0') * scale;
        }
    }
    if (!ok)
        return allot_diag_set(d, ALLOT_EPARSE, r->file, r->line, r->col[f],
                              "column '%s': expected YYYY-MM-DD HH:MM:SS%s, got '%s'", col,
                              frac ? "[.fffffff]" : "", shown);
    int64_t y = digits(s, 4), mo = digits(s + 5, 2), dd = digits(s + 8, 2);
    int64_t hh = digits(s + 11, 2), mi = digits(s + 14, 2), ss = digits(s + 17, 2);
    const char *what = NULL;
    if (mo < 1 || mo > 12)
        what = "month";
    else if (dd < 1 || dd > days_in_month(y, mo))
        what = "day";
    else if (hh > 23)
        what = "hour";
    else if (mi > 59)
        what = "minute";
    else if (ss > 59)
        what = "second";
    if (what)
        return allot_diag_set(d, ALLOT_ERANGE, r->file, r->line, r->col[f],
                              "column '%s': no such %s in '%s'", col, what, shown);
    *sec = days_from_civil(y, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss;
    if (frac) *frac = fr;
    return 0;
}

int allot_csv_expect_fields(const allot_csv *r, int nf, allot_diag *d)
{
    if (r->nfields == nf) return 0;
    int last = r->nfields - 1;
    return allot_diag_set(d, ALLOT_EPARSE, r->file, r->line,
                          r->nfields > nf ? r->col[nf] : r->col[last] + (int)strlen(r->field[last]),
                          "expected %d fields like the header, got %d", nf, r->nfields);
}

int allot_csv_columns(const allot_csv *r, const char *const *names, int n, int nrequired,
                      const char *what, int *col, allot_diag *d)
{
    for (int k = 0; k < n; k++) col[k] = allot_csv_find(r, names[k]);
    for (int k = 0; k < nrequired && k < n; k++) {
        if (col[k] >= 0) continue;
        char need[512];
        size_t len = 0;
        need[0] = '\0';
        for (int q = 0; q < nrequired && q < n && len < sizeof need; q++)
            len += (size_t)snprintf(need + len, sizeof need - len, "%s%s", q ? "," : "", names[q]);
        return allot_diag_set(d, ALLOT_EPARSE, r->file, r->line, 1,
                              "header lacks the column '%s' (%s needs %s)", names[k], what, need);
    }
    return 0;
}
