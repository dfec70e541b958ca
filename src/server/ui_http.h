/* src/server/ui_http.h - what http.c calls in ui.c (libmicrohttpd types).
 * Private to src/server. */
#ifndef ALLOT_UI_HTTP_H
#define ALLOT_UI_HTTP_H

#include <microhttpd.h>

#include "server_int.h"

/* Is url one of the dashboard's files (/, /ui/..., /reports/...)? */
int srv_ui_static_path(const char *url);
/* Answers a dashboard file or report at once (role: the caller's, from its
 * token; ROLE_ADMIN when authentication is off). *status: the status sent. */
enum MHD_Result srv_ui_serve(struct MHD_Connection *c, const char *method, const char *url,
                             const char *reports_dir, int role, int *status);
/* The dashboard's /v1 routes (p: the path after "/v1/"): 0 not one of them;
 * 1 r is to be posted to the state thread (kind RQ_UI); -1 r holds its
 * reply (an error, or an answer made here: /v1/reports, /v1/whoami). */
int srv_ui_route(struct MHD_Connection *c, const char *p, const char *method, srv_req *r,
                 const char *reports_dir, const char *tenant_name);

#endif
