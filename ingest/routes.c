#include "routes.h"

#include "rt/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENT_MAX 63

struct entry {
    char *name; /* owned: "schema.table" */
    struct ingest_route route;
};

struct ingest_routes {
    struct entry *tables; /* owned, n */
    size_t n;
    struct ingest_route def;
};

static void route_clear(struct ingest_route *r)
{
    free(r->tenant_column);
    free(r->user_column);
}

void ingest_routes_free(struct ingest_routes *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->tables[i].name);
        route_clear(&r->tables[i].route);
    }
    free(r->tables);
    route_clear(&r->def);
    free(r);
}

static bool ident_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= IDENT_MAX;
}

static int column(json_t *v, const char *where, const char *key, char **out, char *err, size_t cap)
{
    if (!json_is_string(v) || !ident_ok(json_string_value(v))) {
        snprintf(err, cap, "%s: \"%s\" must be a column name (1-%d characters)", where, key,
                 IDENT_MAX);
        return RT_EINVAL;
    }
    *out = rt_xstrdup(json_string_value(v));
    return 0;
}

static int parse_route(json_t *o, const char *where, bool allow_calls, struct ingest_route *r,
                       char *err, size_t cap)
{
    const char *key;
    json_t *v;
    if (!json_is_object(o)) {
        snprintf(err, cap, "%s: must be an object", where);
        return RT_EINVAL;
    }
    json_object_foreach(o, key, v)
    {
        int rc = 0;
        if (strcmp(key, "tenant_column") == 0) {
            rc = column(v, where, key, &r->tenant_column, err, cap);
        } else if (strcmp(key, "user_column") == 0) {
            rc = column(v, where, key, &r->user_column, err, cap);
        } else if (strcmp(key, "calls") == 0 && allow_calls) {
            if (!json_is_boolean(v)) {
                snprintf(err, cap, "%s: \"calls\" must be true or false", where);
                rc = RT_EINVAL;
            }
            r->calls = json_is_true(v);
        } else {
            snprintf(err, cap, "%s: unknown key \"%.64s\"", where, key);
            rc = RT_EINVAL;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_tables(struct ingest_routes *r, json_t *tables, char *err, size_t cap)
{
    const char *name;
    json_t *v;
    char where[160];
    if (!json_is_object(tables)) {
        snprintf(err, cap, "\"tables\" must be an object");
        return RT_EINVAL;
    }
    r->tables = rt_xcalloc(json_object_size(tables) + 1, sizeof(*r->tables));
    json_object_foreach(tables, name, v)
    {
        const char *dot = strchr(name, '.');
        snprintf(where, sizeof(where), "tables.%.100s", name);
        if (!dot || dot == name || !dot[1] || strchr(dot + 1, '.') ||
            (size_t)(dot - name) > IDENT_MAX || strlen(dot + 1) > IDENT_MAX) {
            snprintf(err, cap, "%s: table must be named \"schema.table\"", where);
            return RT_EINVAL;
        }
        struct entry *e = &r->tables[r->n++];
        e->name = rt_xstrdup(name);
        int rc = parse_route(v, where, true, &e->route, err, cap);
        if (rc)
            return rc;
        if (!e->route.tenant_column)
            e->route.tenant_column = rt_xstrdup(r->def.tenant_column);
        if (!e->route.user_column && r->def.user_column)
            e->route.user_column = rt_xstrdup(r->def.user_column);
    }
    return 0;
}

int ingest_routes_parse(struct ingest_routes **out, const char *text, size_t len, char *err,
                        size_t cap)
{
    json_error_t jerr;
    struct ingest_routes *r = rt_xcalloc(1, sizeof(*r));
    int rc = 0;
    *out = NULL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, cap, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        ingest_routes_free(r);
        return RT_EPARSE;
    }
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        snprintf(err, cap, "the routing document must be an object");
        rc = RT_EINVAL;
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "tables") != 0 && strcmp(key, "default") != 0) {
            snprintf(err, cap, "unknown key \"%.64s\"", key);
            rc = RT_EINVAL;
            goto out;
        }
    }
    v = json_object_get(root, "default");
    if (v && (rc = parse_route(v, "default", false, &r->def, err, cap)) != 0)
        goto out;
    if (!r->def.tenant_column)
        r->def.tenant_column = rt_xstrdup("organization_id");
    v = json_object_get(root, "tables");
    if (v && (rc = parse_tables(r, v, err, cap)) != 0)
        goto out;
out:
    json_decref(root);
    if (rc) {
        ingest_routes_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ingest_routes_load(struct ingest_routes **out, const char *path, char *err, size_t cap)
{
    static const char builtin[] = "{\"default\": {\"tenant_column\": \"organization_id\"}}";
    if (!path)
        return ingest_routes_parse(out, builtin, strlen(builtin), err, cap);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open: %s", strerror(errno));
        return RT_EIO;
    }
    char *buf = rt_xmalloc(INGEST_ROUTES_MAX_BYTES + 1);
    size_t n = fread(buf, 1, INGEST_ROUTES_MAX_BYTES + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    int rc;
    if (failed) {
        snprintf(err, cap, "cannot read");
        rc = RT_EIO;
    } else if (n > INGEST_ROUTES_MAX_BYTES) {
        snprintf(err, cap, "larger than %d bytes", INGEST_ROUTES_MAX_BYTES);
        rc = RT_E2BIG;
    } else {
        rc = ingest_routes_parse(out, buf, n, err, cap);
    }
    free(buf);
    return rc;
}

const struct ingest_route *ingest_routes_get(const struct ingest_routes *r, const char *schema,
                                             const char *table)
{
    size_t sl = strlen(schema);
    for (size_t i = 0; i < r->n; i++) {
        const char *n = r->tables[i].name;
        if (strncmp(n, schema, sl) == 0 && n[sl] == '.' && strcmp(n + sl + 1, table) == 0)
            return &r->tables[i].route;
    }
    return &r->def;
}
