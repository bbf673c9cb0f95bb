/* CORS for the health API, so a dashboard served from another origin (rt-edge's port) can call
 * GET /api/calls/health-check with a bearer token. Only origins listed in
 * RT_HEALTH_CORS_ORIGINS get CORS headers; with the list empty (the default) no CORS header is
 * ever sent and a preflight is refused. */
#ifndef HEALTH_CORS_H
#define HEALTH_CORS_H

#include <stdbool.h>
#include <stddef.h>

struct evhttp_request;

/* The setting's check: a comma-separated list of origins, each scheme://host[:port] with
 * scheme http or https and no path (rt_cfg_check_fn). */
int health_cors_check(const char *value, char *expected, size_t cap);

/* True when origin is one of the list's entries (exact, case-sensitive match). */
bool health_cors_allowed(const char *list, const char *origin);

/* Adds the CORS headers to req's answer when its Origin is allowed. A preflight (OPTIONS) is
 * answered here: 204 with the allowed method and header for an allowed origin, 403 otherwise;
 * returns true when it answered. */
bool health_cors_handle(const char *list, struct evhttp_request *req);

#endif
