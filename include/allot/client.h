/* allot/client.h - the API client the CLI and the agent share (libcurl +
 * jansson). One allot_client holds one keep-alive connection; it is not
 * thread-safe (use one per thread).
 *
 * The server address comes from the caller (the CLI reads --server or
 * ALLOT_SERVER, default http://127.0.0.1:8080); a bare "HOST:PORT" gets
 * "http://" in front. The token (ALLOT_TOKEN) is sent as a bearer token and
 * never printed. For an https server with a private certificate authority,
 * ALLOT_CA_CERT names its PEM file.
 */
#ifndef ALLOT_CLIENT_H
#define ALLOT_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "allot/err.h"

typedef struct allot_client allot_client;

/* Default address when neither a flag nor ALLOT_SERVER gives one. */
#define ALLOT_CLIENT_DEFAULT_SERVER "http://127.0.0.1:8080"

/* server: "http(s)://host:port" or "host:port"; token may be NULL. Returns
 * NULL on allocation failure. */
allot_client *allot_client_new(const char *server, const char *token);
void allot_client_free(allot_client *c); /* accepts NULL */

/* Seconds before a request gives up (default 30; long polls add their wait). */
void allot_client_set_timeout(allot_client *c, double seconds);

/* One request. method "GET", "POST", "PUT", "DELETE"; path starts with "/"
 * (query string included); body may be NULL. On a reply (any HTTP status)
 * returns 0 with *status set and *reply the parsed JSON body (NULL when the
 * body is empty or not JSON; the caller decrefs). Returns ALLOT_EIO with a
 * message in d when the server cannot be reached or the transfer fails. */
int allot_client_call(allot_client *c, const char *method, const char *path, json_t *body,
                      long *status, json_t **reply, allot_diag *d);

/* Like allot_client_call but returns the raw body (NUL-terminated, caller
 * frees) and the value of one response header (hdr_name, case-insensitive;
 * *hdr_value NULL when absent; caller frees) - for logs. */
int allot_client_call_raw(allot_client *c, const char *method, const char *path, json_t *body,
                          long *status, char **out, size_t *out_len, const char *hdr_name,
                          char **hdr_value, const char *hdr2_name, char **hdr2_value,
                          allot_diag *d);

/* The message of an error reply {"error":{"code","message"}} or a generic
 * "HTTP <status>" into buf; returns buf. */
const char *allot_client_error_text(long status, const json_t *reply, char *buf, size_t len);

/* Percent-encodes s into buf for a URL path or query; returns buf (truncated
 * to len - 1). */
const char *allot_client_escape(const char *s, char *buf, size_t len);

#endif
