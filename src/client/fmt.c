/* src/client/fmt.c - tables, durations and --env parsing for the client
 * commands; see allot/clientfmt.h. */
#include "allot/clientfmt.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/err.h"

/* ---- durations ---------------------------------------------------------------- */

/* Reads digits at *p into *v (at most 9 digits); returns the count, 0 if none. */
static int read_num(const char **p, long long *v)
{
    int n = 0;
    *v = 0;
    while (isdigit((unsigned char)**p)) {
        if (++n > 9) return -1;
        *v = *v * 10 + (**p - '0');
        (*p)++;
    }
    return n;
}

/* "MM:SS" / "H:MM:SS" / "HH" ... : up to `max` colon-separated fields where
 * every field after the first is two digits 00..59. */
static int parse_clock(const char *p, int max, long long *out, int *nfields)
{
    long long f[3];
    int n = 0;
    for (;;) {
        int k = read_num(&p, &f[n]);
        if (k <= 0) return ALLOT_EINVAL;
        if (n > 0 && (k != 2 || f[n] > 59)) return ALLOT_EINVAL;
        n++;
        if (*p == 0) break;
        if (*p != ':' || n == max) return ALLOT_EINVAL;
        p++;
    }
    *nfields = n;
    long long v = 0;
    for (int i = 0; i < n; i++) v = v * 60 + f[i];
    *out = v;
    return 0;
}

int allot_fmt_parse_duration(const char *s, long long *secs)
{
    if (!s || !*s) return ALLOT_EINVAL;
    long long v = 0;
    const char *dash = strchr(s, '-');
    if (dash) { /* D-HH[:MM[:SS]] */
        const char *p = s;
        long long days;
        if (read_num(&p, &days) <= 0 || p != dash) return ALLOT_EINVAL;
        p++;
        long long hms;
        int n;
        if (parse_clock(p, 3, &hms, &n)) return ALLOT_EINVAL;
        /* the first field is hours: 0..23, and shift to seconds */
        long long hours;
        const char *q = p;
        read_num(&q, &hours);
        if (hours > 23) return ALLOT_EINVAL;
        for (int i = n; i < 3; i++) hms *= 60;
        v = days * 86400 + hms;
    } else if (strchr(s, ':')) {
        int n;
        if (parse_clock(s, 3, &v, &n)) return ALLOT_EINVAL;
    } else {
        static const char units[] = "dhms";
        static const long long mult[] = {86400, 3600, 60, 1};
        const char *p = s;
        int last = -1; /* index of the last unit used: units must decrease */
        while (*p) {
            long long x;
            if (read_num(&p, &x) <= 0) return ALLOT_EINVAL;
            if (*p == 0) {
                if (last >= 0) return ALLOT_EINVAL; /* "1h30": ambiguous */
                v += x;
                break;
            }
            const char *u = strchr(units, *p);
            if (!u || !*u) return ALLOT_EINVAL;
            int k = (int)(u - units);
            if (k <= last) return ALLOT_EINVAL;
            last = k;
            v += x * mult[k];
            if (v > ALLOT_FMT_MAX_DURATION) return ALLOT_EINVAL;
            p++;
        }
    }
    if (v < 1 || v > ALLOT_FMT_MAX_DURATION) return ALLOT_EINVAL;
    *secs = v;
    return 0;
}

const char *allot_fmt_duration(double secs, char *buf, size_t len)
{
    if (!(secs >= 0) || secs > 1e12) {
        snprintf(buf, len, "-");
        return buf;
    }
    long long t = (long long)secs;
    long long d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, s = t % 60;
    if (d > 0)
        snprintf(buf, len, "%lld-%02lld:%02lld:%02lld", d, h, m, s);
    else if (h > 0)
        snprintf(buf, len, "%lld:%02lld:%02lld", h, m, s);
    else
        snprintf(buf, len, "%lld:%02lld", m, s);
    return buf;
}

int allot_fmt_parse_env(const char *kv, char *key, size_t keylen, const char **value)
{
    if (!kv) return ALLOT_EINVAL;
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return ALLOT_EINVAL;
    size_t n = (size_t)(eq - kv);
    if (n > 255 || n + 1 > keylen) return ALLOT_EINVAL;
    if (!(isalpha((unsigned char)kv[0]) || kv[0] == '_')) return ALLOT_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)kv[i]) || kv[i] == '_')) return ALLOT_EINVAL;
    memcpy(key, kv, n);
    key[n] = 0;
    *value = eq + 1;
    return 0;
}

/* ---- tables ----------------------------------------------------------------------- */

struct allot_table {
    int ncols;
    char **head;
    char *align;
    char **cell; /* rows * ncols */
    size_t rows, cap;
};

static char *dup_cell(const char *s) { return strdup(s ? s : "-"); }

allot_table *allot_table_new(int ncols, const char *const *headers, const char *align)
{
    if (ncols < 1) return NULL;
    allot_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ncols = ncols;
    t->head = calloc((size_t)ncols, sizeof *t->head);
    t->align = calloc((size_t)ncols + 1, 1);
    if (!t->head || !t->align) {
        allot_table_free(t);
        return NULL;
    }
    for (int i = 0; i < ncols; i++) {
        t->head[i] = dup_cell(headers[i]);
        t->align[i] = align && align[i] == 'R' ? 'R' : 'L';
        if (!t->head[i]) {
            allot_table_free(t);
            return NULL;
        }
    }
    return t;
}

int allot_table_add(allot_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cell, cap * (size_t)t->ncols * sizeof *c);
        if (!c) return ALLOT_ENOMEM;
        t->cell = c;
        t->cap = cap;
    }
    char **row = t->cell + t->rows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = dup_cell(cells[i]);
        if (!row[i]) {
            while (i-- > 0) free(row[i]);
            return ALLOT_ENOMEM;
        }
    }
    t->rows++;
    return 0;
}

size_t allot_table_rows(const allot_table *t) { return t ? t->rows : 0; }

/* Display width: UTF-8 characters (continuation bytes do not count). */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static void put_row(FILE *f, const allot_table *t, char *const *row, const size_t *w)
{
    /* the last non-empty position: no trailing blanks */
    for (int i = 0; i < t->ncols; i++) {
        size_t cw = width(row[i]);
        size_t pad = w[i] > cw ? w[i] - cw : 0;
        int last = i == t->ncols - 1;
        if (i > 0) fputs("  ", f);
        if (t->align[i] == 'R') fprintf(f, "%*s", (int)pad, "");
        fputs(row[i], f);
        if (t->align[i] == 'L' && !last) fprintf(f, "%*s", (int)pad, "");
    }
    fputc('\n', f);
}

char *allot_table_render(const allot_table *t)
{
    size_t *w = calloc((size_t)t->ncols, sizeof *w);
    if (!w) return NULL;
    for (int i = 0; i < t->ncols; i++) {
        w[i] = width(t->head[i]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t cw = width(t->cell[r * (size_t)t->ncols + (size_t)i]);
            if (cw > w[i]) w[i] = cw;
        }
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        free(w);
        return NULL;
    }
    put_row(f, t, t->head, w);
    for (size_t r = 0; r < t->rows; r++) put_row(f, t, t->cell + r * (size_t)t->ncols, w);
    free(w);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    /* a left-aligned last column after right-aligned padding can leave no
     * trailing blanks; a trailing blank could only come from an empty last
     * cell: strip per line */
    char *o = out;
    for (char *p = out; *p; p++) {
        if (*p == '\n')
            while (o > out && o[-1] == ' ') o--;
        *o++ = *p;
    }
    *o = 0;
    return out;
}

void allot_table_free(allot_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++) free(t->cell[i]);
    free(t->cell);
    if (t->head)
        for (int i = 0; i < t->ncols; i++) free(t->head[i]);
    free(t->head);
    free(t->align);
    free(t);
}

/* ---- the client tables -------------------------------------------------------- */

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : dflt;
}

/* Cuts s to at most max characters (UTF-8 aware), ending in "..." when cut. */
static void clip(char *s, size_t max)
{
    if (max < 4 || width(s) <= max) return;
    size_t n = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && n++ == max - 3) {
            strcpy(p, "...");
            return;
        }
    }
}

static void fmt_int(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f", v);
}

/* MiB -> "512M", "1.5G", "500G", "2T" */
static void fmt_mib(char *buf, size_t len, double mib)
{
    if (isnan(mib))
        snprintf(buf, len, "-");
    else if (mib < 1024)
        snprintf(buf, len, "%.0fM", mib);
    else if (mib < 1024.0 * 1024)
        snprintf(buf, len, mib < 10 * 1024 ? "%.1fG" : "%.0fG", mib / 1024);
    else
        snprintf(buf, len, "%.1fT", mib / (1024.0 * 1024));
}

static char *finish(allot_table *t, int ok)
{
    char *s = ok ? allot_table_render(t) : NULL;
    allot_table_free(t);
    return s;
}

char *allot_fmt_jobs_table(const json_t *jobs, double now, int wide)
{
    static const char *const head[] = {"ID",    "NAME",      "TENANT", "STATE",  "DEVS",
                                       "CHIP",  "WAIT/TIME", "NODES",  "REASON", "PRIO",
                                       "LIMIT", "EXIT",      "EPOCH",  "COMMAND"};
    if (!json_is_array(jobs)) return NULL;
    int ncols = wide ? 14 : 9;
    allot_table *t = allot_table_new(ncols, head, "RLLLRLRLLRRRRL");
    if (!t) return NULL;
    size_t i;
    const json_t *j;
    int ok = 1;
    json_array_foreach(jobs, i, j)
    {
        char id[32], name[128], devs[32], wt[32], nodes[512], reason[512], prio[16], lim[32],
            ex[16], ep[16], cmd[1024];
        fmt_int(id, sizeof id, jnum(j, "id"));
        snprintf(name, sizeof name, "%s", jstr(j, "name", "-"));
        const char *state = jstr(j, "state", "?");
        double d = jnum(j, "devices"), m = jnum(j, "milli"), g = jnum(j, "gang_size");
        if (isnan(d)) d = 1;
        if (!isnan(m) && m < 1000 && d == 1)
            snprintf(devs, sizeof devs, "%.2f", m / 1000);
        else
            snprintf(devs, sizeof devs, "%.0f", d);
        if (!isnan(g) && g > 1) {
            char tmp[sizeof devs];
            memcpy(tmp, devs, sizeof tmp);
            snprintf(devs, sizeof devs, "%.0fx%.16s", g, tmp);
        }
        double sub = jnum(j, "submit_time"), st = jnum(j, "start_time"), en = jnum(j, "end_time");
        if (strcmp(state, "pending") == 0)
            allot_fmt_duration(now - sub, wt, sizeof wt);
        else if (strcmp(state, "running") == 0)
            allot_fmt_duration(now - st, wt, sizeof wt);
        else if (!isnan(st) && !isnan(en))
            allot_fmt_duration(en - st, wt, sizeof wt);
        else
            snprintf(wt, sizeof wt, "-");
        /* the distinct nodes of the tasks, in order */
        nodes[0] = 0;
        size_t k, nn = 0;
        const json_t *task;
        json_array_foreach(json_object_get(j, "tasks"), k, task)
        {
            const char *n = jstr(task, "node", NULL);
            if (!n) continue;
            int seen = 0;
            for (size_t q = 0; q < k && !seen; q++) {
                const char *o = jstr(json_array_get(json_object_get(j, "tasks"), q), "node", "");
                seen = strcmp(o, n) == 0;
            }
            if (seen) continue;
            size_t used = strlen(nodes);
            snprintf(nodes + used, sizeof nodes - used, "%s%s", nn ? "," : "", n);
            nn++;
        }
        if (nn == 0) snprintf(nodes, sizeof nodes, "-");
        if (!wide && nn > 1) { /* "gpu-01,+3" */
            char *comma = strchr(nodes, ',');
            snprintf(comma, sizeof nodes - (size_t)(comma - nodes), ",+%zu", nn - 1);
        }
        snprintf(reason, sizeof reason, "%s", jstr(j, "reason", "-"));
        if (!wide) {
            clip(name, 20);
            clip(reason, 40);
        }
        const char *cells[14] = {id,    name,  jstr(j, "tenant", "-"),
                                 state, devs,  jstr(j, "chip", "any"),
                                 wt,    nodes, reason};
        if (wide) {
            fmt_int(prio, sizeof prio, jnum(j, "priority"));
            double tl = jnum(j, "time_limit");
            if (isnan(tl))
                snprintf(lim, sizeof lim, "-");
            else
                allot_fmt_duration(tl, lim, sizeof lim);
            fmt_int(ex, sizeof ex, jnum(j, "exit_code"));
            fmt_int(ep, sizeof ep, jnum(j, "epoch"));
            cmd[0] = 0;
            size_t a;
            const json_t *arg;
            json_array_foreach(json_object_get(j, "command"), a, arg)
            {
                size_t used = strlen(cmd);
                const char *s = json_string_value(arg);
                snprintf(cmd + used, sizeof cmd - used, "%s%s", a ? " " : "", s ? s : "?");
            }
            cells[9] = prio;
            cells[10] = lim;
            cells[11] = ex;
            cells[12] = ep;
            cells[13] = cmd[0] ? cmd : "-";
        }
        if (allot_table_add(t, cells)) {
            ok = 0;
            break;
        }
    }
    return finish(t, ok);
}

typedef struct chip_sum {
    char chip[64];
    int nodes, up;
    double devs, free;
} chip_sum;

char *allot_fmt_nodes_table(const json_t *nodes, double now, int wide)
{
    static const char *const head[] = {"NAME", "STATE",     "CHIP",   "DEVS", "FREE",
                                       "CPU",  "MEM",       "JOBS",   "ZONE", "BLOCK",
                                       "RACK", "HEARTBEAT", "JOB-IDS"};
    if (!json_is_array(nodes)) return NULL;
    int ncols = wide ? 13 : 8;
    allot_table *t = allot_table_new(ncols, head, "LLLRRRRRLLLRL");
    if (!t) return NULL;
    size_t nsum = 0, cap = json_array_size(nodes) + 1;
    chip_sum *sum = calloc(cap, sizeof *sum);
    if (!sum) return finish(t, 0);
    size_t i;
    const json_t *n;
    int ok = 1;
    json_array_foreach(nodes, i, n)
    {
        char devs[32], fr[32], cpu[32], mem[32], nj[32], hb[32], ids[1024];
        const char *chip = jstr(n, "chip", "-"), *state = jstr(n, "state", "?");
        double d = jnum(n, "devices"), f = jnum(n, "devices_free"), c = jnum(n, "cpu");
        fmt_int(devs, sizeof devs, d);
        fmt_int(fr, sizeof fr, f);
        if (isnan(c))
            snprintf(cpu, sizeof cpu, "-");
        else if (fmod(c, 1000) == 0)
            snprintf(cpu, sizeof cpu, "%.0f", c / 1000);
        else
            snprintf(cpu, sizeof cpu, "%.1f", c / 1000);
        fmt_mib(mem, sizeof mem, jnum(n, "mem"));
        const json_t *jobs = json_object_get(n, "jobs");
        snprintf(nj, sizeof nj, "%zu", json_array_size(jobs));
        const char *cells[13] = {jstr(n, "name", "?"), state, chip, devs, fr, cpu, mem, nj};
        if (wide) {
            double h = jnum(n, "last_heartbeat");
            if (isnan(h))
                snprintf(hb, sizeof hb, "-");
            else
                snprintf(hb, sizeof hb, "%.0fs ago", now - h < 0 ? 0 : now - h);
            ids[0] = 0;
            size_t k;
            const json_t *id;
            json_array_foreach(jobs, k, id)
            {
                size_t used = strlen(ids);
                snprintf(ids + used, sizeof ids - used, "%s%.0f", k ? "," : "",
                         json_number_value(id));
            }
            cells[8] = jstr(n, "zone", "-");
            cells[9] = jstr(n, "block", "-");
            cells[10] = jstr(n, "rack", "-");
            cells[11] = hb;
            cells[12] = ids[0] ? ids : "-";
        }
        if (allot_table_add(t, cells)) {
            ok = 0;
            break;
        }
        size_t s = 0;
        while (s < nsum && strcmp(sum[s].chip, chip) != 0) s++;
        if (s == nsum) snprintf(sum[nsum++].chip, sizeof sum[0].chip, "%s", chip);
        sum[s].nodes++;
        if (strcmp(state, "up") == 0) sum[s].up++;
        if (!isnan(d)) sum[s].devs += d;
        if (!isnan(f) && strcmp(state, "up") == 0) sum[s].free += f;
    }
    char *tab = finish(t, ok);
    if (!tab) {
        free(sum);
        return NULL;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f) {
        fputs(tab, f);
        if (nsum) fputc('\n', f);
        for (size_t s = 0; s < nsum; s++)
            fprintf(f, "%s: %d node%s (%d up), %.0f devices, %.0f free\n", sum[s].chip,
                    sum[s].nodes, sum[s].nodes == 1 ? "" : "s", sum[s].up, sum[s].devs,
                    sum[s].free);
        if (fclose(f) != 0) {
            free(out);
            out = NULL;
        }
    }
    free(tab);
    free(sum);
    return out;
}

/* {"H100":16,"A100":8} -> "A100=8,H100=16" in the object's order; "-" if empty */
static void fmt_map(char *buf, size_t len, const json_t *m)
{
    buf[0] = 0;
    const char *k;
    const json_t *v;
    size_t used = 0;
    json_object_foreach((json_t *)m, k, v)
    {
        used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s=%g", used ? "," : "", k, json_number_value(v));
    }
    if (!buf[0]) snprintf(buf, len, "-");
}

char *allot_fmt_tenants_table(const json_t *tenants)
{
    static const char *const head[] = {"NAME",    "WEIGHT",  "QUOTA", "BORROW",
                                       "PENDING", "RUNNING", "USED"};
    if (!json_is_array(tenants)) return NULL;
    allot_table *t = allot_table_new(7, head, "LRLRRRL");
    if (!t) return NULL;
    size_t i;
    const json_t *x;
    int ok = 1;
    json_array_foreach(tenants, i, x)
    {
        char w[32], q[512], b[32], p[32], r[32], u[512];
        double wt = jnum(x, "weight");
        if (isnan(wt))
            snprintf(w, sizeof w, "-");
        else
            snprintf(w, sizeof w, "%g", wt);
        fmt_map(q, sizeof q, json_object_get(x, "quota"));
        fmt_int(b, sizeof b, jnum(x, "borrow_limit"));
        fmt_int(p, sizeof p, jnum(x, "jobs_pending"));
        fmt_int(r, sizeof r, jnum(x, "jobs_running"));
        fmt_map(u, sizeof u, json_object_get(x, "devices_used"));
        const char *cells[7] = {jstr(x, "name", "?"), w, q, b, p, r, u};
        if (allot_table_add(t, cells)) {
            ok = 0;
            break;
        }
    }
    return finish(t, ok);
}
