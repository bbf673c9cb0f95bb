#include "secrets.h"
#include "webhook_telnyx.h"

#include "rt/err.h"
#include "rt/naming.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1024 * 1024)

struct tenant_secrets {
    char *tenant; /* owned */
    struct ingest_provider_secrets p[INGEST_PROVIDER_COUNT];
};

struct ingest_secrets {
    struct tenant_secrets *t; /* owned array */
    size_t n;
};

static const char *const provider_names[INGEST_PROVIDER_COUNT] = {"twilio", "telnyx", "vonage",
                                                                  "generic"};
/* the list of secrets and the optional allow-list, per provider */
static const char *const secret_keys[INGEST_PROVIDER_COUNT] = {"auth_tokens", "public_keys",
                                                               "signature_secrets", "secrets"};
static const char *const account_keys[INGEST_PROVIDER_COUNT] = {"account_sids", NULL, "api_keys",
                                                                NULL};

int ingest_provider_parse(const char *name)
{
    for (int i = 0; i < INGEST_PROVIDER_COUNT; i++)
        if (strcmp(name, provider_names[i]) == 0)
            return i;
    return -1;
}

const char *ingest_provider_name(enum ingest_provider p)
{
    return provider_names[p];
}

char *ingest_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = rt_xmalloc(max + 1);
    size_t n = fread(buf, 1, max + 1, f);
    bool err = ferror(f) || n > max;
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int string_list(json_t *arr, const char *where, size_t maxn, char **dst, size_t *n,
                       char *err, size_t cap)
{
    size_t i;
    json_t *v;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > maxn) {
        snprintf(err, cap, "%s: expected an array of 1 to %zu strings", where, maxn);
        return RT_EINVAL;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(err, cap, "%s[%zu]: expected a non-empty string", where, i);
            return RT_EINVAL;
        }
        dst[(*n)++] = rt_xstrdup(json_string_value(v));
    }
    return 0;
}

static int parse_provider(json_t *o, const char *tenant, enum ingest_provider p,
                          struct ingest_provider_secrets *ps, char *err, size_t cap)
{
    const char *key;
    json_t *v;
    char where[256];
    if (!json_is_object(o)) {
        snprintf(err, cap, "tenants.%s.%s: expected an object", tenant, provider_names[p]);
        return RT_EINVAL;
    }
    json_object_foreach(o, key, v)
    {
        snprintf(where, sizeof(where), "tenants.%s.%s.%s", tenant, provider_names[p], key);
        int rc;
        if (strcmp(key, secret_keys[p]) == 0)
            rc = string_list(v, where, INGEST_SECRETS_PER_PROVIDER, ps->secrets, &ps->n, err, cap);
        else if (account_keys[p] && strcmp(key, account_keys[p]) == 0)
            rc = string_list(v, where, INGEST_ACCOUNTS_MAX, ps->accounts, &ps->naccounts, err, cap);
        else {
            snprintf(err, cap, "%s: unknown key", where);
            rc = RT_EINVAL;
        }
        if (rc)
            return rc;
    }
    if (ps->n == 0) {
        snprintf(err, cap, "tenants.%s.%s.%s: required", tenant, provider_names[p], secret_keys[p]);
        return RT_EINVAL;
    }
    if (p == INGEST_PROVIDER_TELNYX) {
        for (size_t i = 0; i < ps->n; i++) {
            if (ingest_telnyx_key_parse(ps->secrets[i], ps->keys[i])) {
                snprintf(err, cap,
                         "tenants.%s.telnyx.public_keys[%zu]: expected base64 of a "
                         "32-byte Ed25519 key or its SPKI DER form",
                         tenant, i);
                return RT_EINVAL;
            }
        }
    }
    ps->configured = true;
    return 0;
}

static int parse_tenant(json_t *o, const char *tenant, struct tenant_secrets *ts, char *err,
                        size_t cap)
{
    const char *key;
    json_t *v;
    ts->tenant = rt_xstrdup(tenant);
    if (!rt_name_tenant_valid(tenant)) {
        snprintf(err, cap, "tenants: invalid tenant id (1-64 of [A-Za-z0-9_-])");
        return RT_EINVAL;
    }
    if (!json_is_object(o)) {
        snprintf(err, cap, "tenants.%s: expected an object", tenant);
        return RT_EINVAL;
    }
    json_object_foreach(o, key, v)
    {
        int p = ingest_provider_parse(key);
        if (p < 0) {
            snprintf(err, cap, "tenants.%s.%s: unknown key", tenant, key);
            return RT_EINVAL;
        }
        int rc = parse_provider(v, tenant, (enum ingest_provider)p, &ts->p[p], err, cap);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_root(json_t *root, struct ingest_secrets *s, char *err, size_t cap)
{
    const char *key;
    json_t *v, *tenants = NULL;
    if (!json_is_object(root)) {
        snprintf(err, cap, "expected a JSON object");
        return RT_EINVAL;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "tenants") != 0) {
            snprintf(err, cap, "%s: unknown key", key);
            return RT_EINVAL;
        }
        tenants = v;
    }
    if (!json_is_object(tenants)) {
        snprintf(err, cap, "tenants: expected an object");
        return RT_EINVAL;
    }
    s->t = rt_xcalloc(json_object_size(tenants) + 1, sizeof(*s->t));
    json_object_foreach(tenants, key, v)
    {
        int rc = parse_tenant(v, key, &s->t[s->n++], err, cap);
        if (rc)
            return rc;
    }
    return 0;
}

int ingest_secrets_parse(const char *text, size_t len, struct ingest_secrets **out, char *err,
                         size_t cap)
{
    json_error_t jerr;
    *out = NULL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, cap, "not valid JSON (line %d: %s)", jerr.line, jerr.text);
        return RT_EPARSE;
    }
    struct ingest_secrets *s = rt_xcalloc(1, sizeof(*s));
    int rc = parse_root(root, s, err, cap);
    json_decref(root);
    if (rc) {
        ingest_secrets_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int ingest_secrets_load(const char *path, struct ingest_secrets **out, char *err, size_t cap)
{
    size_t len;
    char *text = ingest_read_file(path, FILE_MAX, &len);
    *out = NULL;
    if (!text) {
        snprintf(err, cap, "cannot read the file (or it is over 1 MiB)");
        return RT_EIO;
    }
    int rc = ingest_secrets_parse(text, len, out, err, cap);
    OPENSSL_cleanse(text, len); /* the file holds secrets */
    free(text);
    return rc;
}

void ingest_secrets_free(struct ingest_secrets *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->t[i].tenant);
        for (int p = 0; p < INGEST_PROVIDER_COUNT; p++) {
            for (size_t k = 0; k < s->t[i].p[p].n; k++)
                free(s->t[i].p[p].secrets[k]);
            for (size_t k = 0; k < s->t[i].p[p].naccounts; k++)
                free(s->t[i].p[p].accounts[k]);
        }
    }
    free(s->t);
    free(s);
}

const struct ingest_provider_secrets *ingest_secrets_get(const struct ingest_secrets *s,
                                                         const char *tenant, enum ingest_provider p)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->t[i].tenant, tenant) == 0)
            return s->t[i].p[p].configured ? &s->t[i].p[p] : NULL;
    return NULL;
}

bool ingest_secrets_account_ok(const struct ingest_provider_secrets *ps, const char *account)
{
    if (ps->naccounts == 0)
        return true;
    for (size_t i = 0; account && i < ps->naccounts; i++)
        if (strcmp(ps->accounts[i], account) == 0)
            return true;
    return false;
}

bool ingest_secrets_uses(const struct ingest_secrets *s, enum ingest_provider p)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->t[i].p[p].configured)
            return true;
    return false;
}

size_t ingest_secrets_tenants(const struct ingest_secrets *s)
{
    return s ? s->n : 0;
}
