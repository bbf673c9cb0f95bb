/* The RT_INGEST_ROUTES file: which column of a table holds the tenant, which (optional) the
 * user, and which table is the calls table. Format (ARCHITECTURE.md, docs/INGEST.md):
 *   {"tables": {"public.calls": {"tenant_column": "organization_id", "user_column": "user_id",
 *                                "calls": true}},
 *    "default": {"tenant_column": "organization_id"}}
 * Unknown keys are an error naming the key. Without a file the built-in routing is
 * {"default": {"tenant_column": "organization_id"}}. */
#ifndef INGEST_ROUTES_H
#define INGEST_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#define INGEST_ROUTES_MAX_BYTES (1024 * 1024)

struct ingest_route {
    char *tenant_column; /* owned; never NULL */
    char *user_column;   /* owned; NULL: no user channel */
    bool calls;          /* rows also yield call events */
};

struct ingest_routes;

/* Parses a routing document; on error writes a message naming the key or position into err and
 * returns RT_EPARSE or RT_EINVAL. */
int ingest_routes_parse(struct ingest_routes **out, const char *text, size_t len, char *err,
                        size_t cap);
/* Reads and parses the file; path NULL gives the built-in routing. RT_EIO if unreadable. */
int ingest_routes_load(struct ingest_routes **out, const char *path, char *err, size_t cap);
void ingest_routes_free(struct ingest_routes *r);

/* The route of schema.table (its own entry, else the default); never NULL. Borrowed. */
const struct ingest_route *ingest_routes_get(const struct ingest_routes *r, const char *schema,
                                             const char *table);

#endif
