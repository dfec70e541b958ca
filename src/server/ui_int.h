/* src/server/ui_int.h - the dashboard's parts of allot server: the embedded
 * assets and the reports directory (ui.c, on the HTTP threads), the history
 * rings (history.c) and the JSON routes the page reads (dash.c, on the state
 * thread). Private to src/server; tests/test_ui.c reaches the pure parts. */
#ifndef ALLOT_UI_INT_H
#define ALLOT_UI_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- embedded assets (build/gen/webassets.c, written by scripts/embed_web.sh) ---- */

typedef struct srv_asset {
    const char *path;  /* URL path: "/" or "/ui/app.js" */
    const char *ctype; /* Content-Type */
    const unsigned char *data;
    size_t len;
} srv_asset;

extern const srv_asset allot__web_assets[];
extern const size_t allot__web_nassets;
extern const char allot__web_version[]; /* checksum of every asset: the cache key */
extern const int allot__web_charts;     /* 1 when uPlot is embedded */

/* The asset at a URL path (no query), or NULL. */
const srv_asset *srv_ui_asset(const char *path);

/* ---- reports (allot sim --out, allot compare --out, ...) ---- */

#define SRV_REPORTS_MAX     2000       /* listed at most */
#define SRV_REPORT_SIZE_MAX (64 << 20) /* served at most */
#define SRV_REPORT_NAME_MAX 255

/* Is rel a report name we serve: "NAME.html" or "DIR/NAME.html", each part
 * 1..127 bytes of letters, digits, '.', '_' and '-' starting with a letter
 * or digit (so no "..", no hidden files, no absolute path)? 1 yes, 0 no. */
int srv_report_name_ok(const char *rel);
/* Opens dir/rel for reading without following symbolic links; only a
 * regular file. Returns an fd (size in *size) or -1 with errno set. */
int srv_report_open(const char *dir, const char *rel, int64_t *size);
/* {"reports":[{"name","title","size","mtime"}...]} newest first: the *.html
 * files of dir and of its subdirectories one level down. NULL and errno
 * when dir cannot be read. */
json_t *srv_reports_list(const char *dir);

/* ---- history (history.c): what the fleet did, sampled by the state thread ---- */

#define SRV_HIST_CHIPS 16 /* chip types recorded per sample (the first 16 the server saw) */

typedef struct srv_hsample {
    double t;                  /* wall clock, s */
    uint32_t pending, running; /* jobs */
    uint32_t nodes_up, nodes_down, nodes_drain;
    int32_t used[SRV_HIST_CHIPS];   /* device milli in use, per chip type */
    int32_t total[SRV_HIST_CHIPS];  /* devices on nodes up or draining */
    int32_t down[SRV_HIST_CHIPS];   /* devices on nodes down */
    int64_t demand[SRV_HIST_CHIPS]; /* device milli asked for by pending jobs of that type */
    int64_t demand_any;             /* ... by pending jobs that take any type */
} srv_hsample;

typedef struct srv_hring {
    srv_hsample *v;
    size_t cap, n, head; /* head: where the next sample goes */
    double interval;     /* s between samples */
    double last;         /* time of the newest sample (0: none) */
} srv_hring;

int srv_hring_init(srv_hring *h, size_t cap, double interval); /* 0 or -1 */
void srv_hring_fini(srv_hring *h);
int srv_hring_due(const srv_hring *h, double now);
/* A zeroed slot for a sample at time t (the oldest is overwritten when full). */
srv_hsample *srv_hring_push(srv_hring *h, double t);
/* i-th sample, 0 = oldest. */
const srv_hsample *srv_hring_at(const srv_hring *h, size_t i);
/* Columns for the samples newer than since: {"interval","time":[...],
 * "pending":[...],"running":[...],"nodes_up":[...],"nodes_down":[...],
 * "nodes_draining":[...],"demand_any":[...],"chips":{NAME:{"used","total",
 * "down","demand"}}}, devices as numbers (milli / 1000). */
json_t *srv_hring_json(const srv_hring *h, double since, int nchips, const char (*chips)[64]);

/* ---- the JSON routes (dash.c) ---- */

enum { SRV_UI_FLEET = 1, SRV_UI_NODE, SRV_UI_QUEUE, SRV_UI_HISTORY };

#endif
