/* src/server/config.c - the server's configuration: defaults, an INI file
 * (inih), environment variables and flags, in increasing precedence (the
 * CLI applies them in that order). */
#include "allot/server.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "allot/cluster.h"

void allot_server_config_init(allot_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1:8080");
    snprintf(cfg->data, sizeof cfg->data, "allot-data");
    snprintf(cfg->policy, sizeof cfg->policy, "allot");
    snprintf(cfg->placement, sizeof cfg->placement, "bestfit");
    cfg->heartbeat_interval = 5;
    cfg->node_timeout = 30;
    cfg->job_retention = 7 * 86400;
    cfg->http_threads = 2;
    cfg->sim_devices = 8;
    snprintf(cfg->sim_chip, sizeof cfg->sim_chip, "H100");
    cfg->service_step = 2;
    cfg->service_signal_timeout = 30;
    cfg->service_clock_scale = 1;
}

static int copy_str(char *dst, size_t cap, const char *v, const char *key, allot_diag *d)
{
    size_t n = strlen(v);
    if (n >= cap)
        return allot_diag_set(d, ALLOT_ELIMIT, NULL, 0, 0, "%s: longer than %zu bytes", key,
                              cap - 1);
    memcpy(dst, v, n + 1);
    return 0;
}

static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x) || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static int token_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 16) return 0; /* guessable */
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)v[i])) return 0;
    return 1;
}

int allot_server_config_set(allot_server_config *cfg, const char *key, const char *v, allot_diag *d)
{
    double x;
    if (strcmp(key, "listen") == 0) return copy_str(cfg->listen, sizeof cfg->listen, v, key, d);
    if (strcmp(key, "data") == 0) return copy_str(cfg->data, sizeof cfg->data, v, key, d);
    if (strcmp(key, "policy") == 0) return copy_str(cfg->policy, sizeof cfg->policy, v, key, d);
    if (strcmp(key, "placement") == 0)
        return copy_str(cfg->placement, sizeof cfg->placement, v, key, d);
    if (strcmp(key, "admin_token") == 0 || strcmp(key, "agent_token") == 0) {
        if (*v && !token_ok(v))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "%s: at least 16 printable characters without spaces", key);
        char *dst = key[1] == 'd' ? cfg->admin_token : cfg->agent_token;
        return copy_str(dst, ALLOT_SERVER_TOKEN_MAX, v, key, d);
    }
    if (strcmp(key, "tls_cert") == 0)
        return copy_str(cfg->tls_cert, sizeof cfg->tls_cert, v, key, d);
    if (strcmp(key, "tls_key") == 0) return copy_str(cfg->tls_key, sizeof cfg->tls_key, v, key, d);
    if (strcmp(key, "reports_dir") == 0)
        return copy_str(cfg->reports_dir, sizeof cfg->reports_dir, v, key, d);
    if (strcmp(key, "heartbeat_interval") == 0 || strcmp(key, "node_timeout") == 0) {
        if (parse_num(v, 0.05, 86400, &x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "%s: seconds in 0.05..86400, not '%s'", key, v);
        if (key[0] == 'h')
            cfg->heartbeat_interval = x;
        else
            cfg->node_timeout = x;
        return 0;
    }
    if (strcmp(key, "job_retention") == 0) {
        if (parse_num(v, 0, 10 * 365 * 86400.0, &x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "%s: seconds (0 = keep for ever), not '%s'", key, v);
        cfg->job_retention = x;
        return 0;
    }
    if (strcmp(key, "http_threads") == 0) {
        if (parse_num(v, 1, 64, &x) || x != floor(x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "%s: an integer 1..64, not '%s'",
                                  key, v);
        cfg->http_threads = (int)x;
        return 0;
    }
    if (strcmp(key, "service_step") == 0 || strcmp(key, "service_signal_timeout") == 0) {
        if (parse_num(v, 0.05, 86400, &x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "%s: seconds in 0.05..86400, not '%s'", key, v);
        if (strcmp(key, "service_step") == 0)
            cfg->service_step = x;
        else
            cfg->service_signal_timeout = x;
        return 0;
    }
    if (strcmp(key, "service_clock_scale") == 0) {
        if (parse_num(v, 0.01, 10000, &x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "%s: a number in 0.01..10000, not '%s'", key, v);
        cfg->service_clock_scale = x;
        return 0;
    }
    return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "unknown setting '%s'", key);
}

static allot_server_tenant *tenant_get(allot_server_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->ntenants; i++)
        if (strcmp(cfg->tenants[i].name, name) == 0) return &cfg->tenants[i];
    if (cfg->ntenants >= ALLOT_SERVER_MAX_TENANTS) return NULL;
    allot_server_tenant *t = &cfg->tenants[cfg->ntenants++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->weight = 1;
    t->borrow_limit = -1;
    return t;
}

static int tenant_set(allot_server_config *cfg, const char *tname, const char *key, const char *v,
                      allot_diag *d)
{
    if (allot_name_problem(tname, strlen(tname)))
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "tenant name '%s': %s", tname,
                              allot_name_problem(tname, strlen(tname)));
    allot_server_tenant *t = tenant_get(cfg, tname);
    if (!t)
        return allot_diag_set(d, ALLOT_ELIMIT, NULL, 0, 0, "more than %d tenants",
                              ALLOT_SERVER_MAX_TENANTS);
    double x;
    if (strcmp(key, "token") == 0) {
        if (!token_ok(v))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "token: at least 16 printable characters without spaces");
        return copy_str(t->token, sizeof t->token, v, key, d);
    }
    if (strcmp(key, "weight") == 0) {
        if (parse_num(v, 1e-6, 1e6, &x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "weight: a number > 0, not '%s'", v);
        t->weight = x;
        return 0;
    }
    if (strcmp(key, "borrow_limit") == 0) {
        if (strcasecmp(v, "unlimited") == 0) {
            t->borrow_limit = -1;
            return 0;
        }
        if (parse_num(v, 0, 1e9, &x) || x != floor(x))
            return allot_diag_set(
                d, ALLOT_EINVAL, NULL, 0, 0,
                "borrow_limit: devices (an integer >= 0) or 'unlimited', not '%s'", v);
        t->borrow_limit = (int64_t)x;
        return 0;
    }
    if (strncmp(key, "quota.", 6) == 0) {
        const char *chip = key + 6;
        if (allot_name_problem(chip, strlen(chip)))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "%s: bad chip type name", key);
        if (parse_num(v, 0, 1e9, &x) || x != floor(x))
            return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                  "%s: devices (an integer >= 0), not '%s'", key, v);
        int i = 0;
        while (i < t->nquota && strcmp(t->quota_chip[i], chip) != 0) i++;
        if (i == t->nquota) {
            if (t->nquota >= 16)
                return allot_diag_set(d, ALLOT_ELIMIT, NULL, 0, 0, "more than 16 quotas");
            t->nquota++;
        }
        snprintf(t->quota_chip[i], sizeof t->quota_chip[i], "%s", chip);
        t->quota_devices[i] = (int)x;
        return 0;
    }
    return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "unknown tenant setting '%s'", key);
}

typedef struct ini_ctx {
    allot_server_config *cfg;
    allot_diag *d;
    int err;
} ini_ctx;

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *x = user;
    if (x->err) return 0;
    int rc;
    if (strcmp(section, "server") == 0)
        rc = allot_server_config_set(x->cfg, name, value, x->d);
    else if (strncmp(section, "tenant.", 7) == 0)
        rc = tenant_set(x->cfg, section + 7, name, value, x->d);
    else
        rc = allot_diag_set(x->d, ALLOT_EINVAL, NULL, 0, 0,
                            "unknown section [%s] (sections: [server], [tenant.NAME])", section);
    if (rc) x->err = rc;
    return rc == 0;
}

int allot_server_config_ini(allot_server_config *cfg, const char *path, allot_diag *d)
{
    ini_ctx x = {cfg, d, 0};
    int line = ini_parse(path, on_ini, &x);
    if (line < 0)
        return allot_diag_set(d, ALLOT_EIO, path, 0, 0, "cannot read the configuration: %s",
                              strerror(errno));
    if (line > 0) {
        if (!x.err) return allot_diag_set(d, ALLOT_EPARSE, path, line, 0, "malformed line");
        if (d) { /* keep the message, add where */
            snprintf(d->file, sizeof d->file, "%s", path);
            d->line = line;
        }
        return x.err;
    }
    return 0;
}

int allot_server_config_env(allot_server_config *cfg, allot_diag *d)
{
    static const char *map[][2] = {
        {"ALLOT_LISTEN", "listen"},           {"ALLOT_DATA", "data"},
        {"ALLOT_POLICY", "policy"},           {"ALLOT_ADMIN_TOKEN", "admin_token"},
        {"ALLOT_AGENT_TOKEN", "agent_token"}, {"ALLOT_NODE_TIMEOUT", "node_timeout"},
        {"ALLOT_REPORTS_DIR", "reports_dir"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = getenv(map[i][0]);
        if (!v) continue;
        int rc = allot_server_config_set(cfg, map[i][1], v, d);
        if (rc) {
            if (d) {
                char m[sizeof d->msg];
                snprintf(m, sizeof m, "%s", d->msg);
                snprintf(d->msg, sizeof d->msg, "environment %s: %.400s", map[i][0], m);
            }
            return rc;
        }
    }
    return 0;
}

int allot_server_config_check(const allot_server_config *cfg, allot_diag *d)
{
    const char *colon = strrchr(cfg->listen, ':');
    double port;
    if (!colon || colon == cfg->listen || parse_num(colon + 1, 0, 65535, &port) ||
        port != floor(port))
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "listen: HOST:PORT (e.g. 127.0.0.1:8080), not '%s'", cfg->listen);
    if (!cfg->data[0]) return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "data: empty");
    if (!!cfg->tls_cert[0] != !!cfg->tls_key[0])
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0, "tls_cert and tls_key go together");
    if (cfg->node_timeout < cfg->heartbeat_interval * 2)
        return allot_diag_set(
            d, ALLOT_EINVAL, NULL, 0, 0,
            "node_timeout (%g s) must be at least twice heartbeat_interval (%g s)",
            cfg->node_timeout, cfg->heartbeat_interval);
    for (int i = 0; i < cfg->ntenants; i++)
        for (int k = 0; k < cfg->ntenants; k++)
            if (i != k && cfg->tenants[i].token[0] &&
                strcmp(cfg->tenants[i].token, cfg->tenants[k].token) == 0)
                return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                                      "tenants %s and %s have the same token", cfg->tenants[i].name,
                                      cfg->tenants[k].name);
    int any_token = cfg->admin_token[0] || cfg->agent_token[0];
    for (int i = 0; i < cfg->ntenants; i++) any_token |= cfg->tenants[i].token[0] != 0;
    if (any_token && !cfg->admin_token[0])
        return allot_diag_set(d, ALLOT_EINVAL, NULL, 0, 0,
                              "tokens are configured but admin_token is not: set it too");
    return 0;
}
