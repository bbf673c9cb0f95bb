/* The dashboard: static files served by rt-edge from one flat directory (RT_EDGE_DASHBOARD_DIR)
 * under /dashboard/, with no build step. */
#ifndef EDGE_STATIC_FILES_H
#define EDGE_STATIC_FILES_H

#include <stdbool.h>
#include <stddef.h>

#define EDGE_STATIC_MAX_BYTES (2 * 1024 * 1024) /* a larger file is not served */

struct edge_static_file {
    char *body; /* owned: free() */
    size_t len;
    const char *ctype; /* static */
};

/* Maps a request path under /dashboard to a file of dir and reads it. Returns 0, RT_ENOENT
 * (not a dashboard path, a name outside [A-Za-z0-9._-], a dotfile, missing, or too large) or
 * RT_EIO. "/dashboard" and "/dashboard/" serve index.html. */
int edge_static_read(const char *dir, const char *path, struct edge_static_file *out);

/* True for paths this module answers (/dashboard and below). */
bool edge_static_path(const char *path);

#endif
