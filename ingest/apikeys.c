#include "apikeys.h"
#include "secrets.h"
#include "sigutil.h"

#include "rt/err.h"
#include "rt/naming.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    unsigned char hash[32];
    char *tenant; /* owned; NULL for admin */
};

struct ingest_apikeys {
    struct entry *e; /* owned array */
    size_t n, cap;
};

static int add_list(struct ingest_apikeys *k, json_t *arr, const char *tenant, const char *where,
                    char *err, size_t cap)
{
    size_t i;
    json_t *v;
    if (!json_is_array(arr)) {
        snprintf(err, cap, "%s: expected an array of \"sha256:<hex>\" strings", where);
        return RT_EINVAL;
    }
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        struct entry e = {0};
        if (!s || strncmp(s, "sha256:", 7) != 0 ||
            !ingest_hex_decode(s + 7, strlen(s + 7), e.hash, sizeof(e.hash))) {
            snprintf(err, cap, "%s[%zu]: expected \"sha256:<64 hex digits>\"", where, i);
            return RT_EINVAL;
        }
        if (k->n == k->cap) {
            k->cap = k->cap ? 2 * k->cap : 8;
            k->e = rt_xrealloc(k->e, k->cap * sizeof(*k->e));
        }
        e.tenant = tenant ? rt_xstrdup(tenant) : NULL;
        k->e[k->n++] = e;
    }
    return 0;
}

static int parse_root(struct ingest_apikeys *k, json_t *root, char *err, size_t cap)
{
    const char *key, *tenant;
    json_t *v, *list;
    char where[128];
    if (!json_is_object(root)) {
        snprintf(err, cap, "expected a JSON object");
        return RT_EINVAL;
    }
    json_object_foreach(root, key, v)
    {
        int rc = 0;
        if (strcmp(key, "admin") == 0) {
            rc = add_list(k, v, NULL, "admin", err, cap);
        } else if (strcmp(key, "tenants") == 0) {
            if (!json_is_object(v)) {
                snprintf(err, cap, "tenants: expected an object");
                return RT_EINVAL;
            }
            json_object_foreach(v, tenant, list)
            {
                if (!rt_name_tenant_valid(tenant)) {
                    snprintf(err, cap, "tenants: invalid tenant id (1-64 of [A-Za-z0-9_-])");
                    return RT_EINVAL;
                }
                snprintf(where, sizeof(where), "tenants.%s", tenant);
                if ((rc = add_list(k, list, tenant, where, err, cap)))
                    return rc;
            }
        } else {
            snprintf(err, cap, "%s: unknown key", key);
            return RT_EINVAL;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int ingest_apikeys_parse(const char *text, size_t len, struct ingest_apikeys **out, char *err,
                         size_t cap)
{
    json_error_t jerr;
    *out = NULL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, cap, "not valid JSON (line %d: %s)", jerr.line, jerr.text);
        return RT_EPARSE;
    }
    struct ingest_apikeys *k = rt_xcalloc(1, sizeof(*k));
    int rc = parse_root(k, root, err, cap);
    json_decref(root);
    if (rc) {
        ingest_apikeys_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

int ingest_apikeys_load(const char *path, struct ingest_apikeys **out, char *err, size_t cap)
{
    size_t len;
    char *text = ingest_read_file(path, 1024 * 1024, &len);
    *out = NULL;
    if (!text) {
        snprintf(err, cap, "cannot read the file (or it is over 1 MiB)");
        return RT_EIO;
    }
    int rc = ingest_apikeys_parse(text, len, out, err, cap);
    free(text);
    return rc;
}

void ingest_apikeys_free(struct ingest_apikeys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->e[i].tenant);
    free(k->e);
    free(k);
}

bool ingest_apikeys_find(const struct ingest_apikeys *k, const char *key, size_t len, bool *admin,
                         const char **tenant)
{
    unsigned char h[32];
    const struct entry *found = NULL;
    if (!k || len == 0)
        return false;
    ingest_sha256(key, len, h);
    for (size_t i = 0; i < k->n; i++)
        if (ingest_ct_equal(h, 32, k->e[i].hash, 32))
            found = &k->e[i];
    if (!found)
        return false;
    *admin = found->tenant == NULL;
    *tenant = found->tenant;
    return true;
}

bool ingest_apikeys_has_tenant(const struct ingest_apikeys *k, const char *tenant)
{
    for (size_t i = 0; k && i < k->n; i++)
        if (k->e[i].tenant && strcmp(k->e[i].tenant, tenant) == 0)
            return true;
    return false;
}
