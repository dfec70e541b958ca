/* src/server/server_int.h - what the HTTP layer (http.c), the state thread
 * (state.c) and the request codecs (api.c) share. Private to src/server. */
#ifndef ALLOT_SERVER_INT_H
#define ALLOT_SERVER_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "allot/server.h"

#define SRV_BODY_MAX     (1u << 20) /* request body limit */
#define SRV_LOG_BODY_MAX (4u << 20) /* log uploads */

typedef enum srv_role { ROLE_NONE = 0, ROLE_TENANT, ROLE_AGENT, ROLE_ADMIN } srv_role;

typedef enum srv_kind {
    RQ_HEALTH = 0,
    RQ_METRICS,
    RQ_SUBMIT,
    RQ_JOBS,
    RQ_JOB,
    RQ_CANCEL,
    RQ_JOB_LOGS,
    RQ_NODES,
    RQ_NODE,
    RQ_REGISTER,
    RQ_POLL,
    RQ_EVENTS,
    RQ_TENANTS,
    RQ_PUT_TENANT,
    RQ_DRAIN, /* q_all: 1 drain, 0 undrain */
    /* inference services (services.c); name = the service */
    RQ_SVC_LIST,
    RQ_SVC_CREATE,
    RQ_SVC_GET,
    RQ_SVC_PATCH,
    RQ_SVC_DELETE,
    RQ_SVC_LOAD,
    RQ_UI, /* the dashboard's JSON routes (dash.c); which one in ui */
    RQ__COUNT
} srv_kind;

/* A validated job submission. */
typedef struct srv_spec {
    json_t *doc; /* normalised body (command, env, workdir, name and every field) */
    char tenant[64];
    char chip[64];
    int devices, milli, gang, priority, preemptible;
    int64_t cpu, mem, time_limit; /* time_limit 0 = none */
} srv_spec;

/* Parses and checks a submission body; on error returns -1 with "field:
 * what is wrong" in err. doc is a new reference on success. */
int srv_spec_parse(json_t *body, srv_spec *out, char *err, size_t errlen);
void srv_spec_free(srv_spec *s);
/* Reads integer field k of o into *out (def when absent or null); -1 with
 * "k: must be an integer lo..hi" in err when it is not one in range. */
int srv_json_int(json_t *o, const char *k, long long lo, long long hi, long long def,
                 long long *out, char *err, size_t errlen);

/* One API request on its way from an HTTP thread to the state thread and
 * back. */
typedef struct srv_req {
    srv_kind kind;
    srv_role role;
    int tenant;  /* config tenant index for ROLE_TENANT, else -1 */
    void *conn;  /* struct MHD_Connection */
    double t_in; /* when it arrived (s, monotonic) */
    /* inputs */
    json_t *body;
    srv_spec spec;  /* RQ_SUBMIT */
    uint32_t id;    /* job id */
    char name[128]; /* node or tenant name */
    int q_all, q_limit, q_task, q_stderr;
    char q_state[16], q_tenant[64];
    double q_wait;
    int64_t q_offset, q_len;
    int ui;          /* RQ_UI: SRV_UI_FLEET, ... (ui_int.h) */
    int q_states;    /* RQ_UI queue: bit mask of job states */
    char q_sort[16]; /* RQ_UI queue: sort key */
    char q_text[64]; /* RQ_UI queue: search text */
    double q_since;  /* RQ_UI history: samples after this time */
    /* outputs */
    int status;
    char *out; /* malloc'd */
    size_t out_len;
    const char *ctype;
    char log_path[1200]; /* RQ_JOB_LOGS: file the HTTP thread reads */
    int log_done;
    char location[64];
    int done;
    /* the state thread's bookkeeping */
    struct srv_req *next;
    double deadline; /* long poll */
    int route;       /* metrics label */
} srv_req;

/* Sets an error reply {"error":{"code","message"}}. */
void srv_reply_error(srv_req *r, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Sets a JSON reply (steals j). */
void srv_reply_json(srv_req *r, int status, json_t *j);

/* ---- the state thread (state.c) ---- */
typedef struct srv_state srv_state;
int srv_state_start(srv_state **out, const allot_server_config *cfg, allot_diag *d);
void srv_state_stop(srv_state *st); /* ends the thread; later posts get 503 */
void srv_state_free(srv_state *st); /* stops if needed, then frees */
/* Posts a request; the state thread calls srv_http_done(r) when the reply
 * is ready. */
void srv_state_post(srv_state *st, srv_req *r);
/* The HTTP layer's hook: resumes the suspended connection. */
void srv_http_done(srv_req *r);
/* Counters the HTTP layer keeps (atomics), shown in /metrics. */
void srv_http_metrics(char **buf, size_t *len, size_t *cap);
const char *srv_state_data_dir(const srv_state *st);
/* The /v1/services routes (svc_api.c): fills r->kind and r->name from the
 * method and the path after "/v1/services"; on a bad request sets an error
 * reply and returns -1. */
int srv_route_services(srv_req *r, const char *method, const char *rest);

/* Small growable text buffer. */
typedef struct srv_buf {
    char *p;
    size_t n, cap;
} srv_buf;
void srv_buf_printf(srv_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
