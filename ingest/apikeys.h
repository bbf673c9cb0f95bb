/* RT_API_KEYS: publish-API keys stored as SHA-256 hex, per tenant, plus admin keys.
 * {"admin": ["sha256:<hex>"], "tenants": {"acme": ["sha256:<hex>", ...]}} */
#ifndef INGEST_APIKEYS_H
#define INGEST_APIKEYS_H

#include <stdbool.h>
#include <stddef.h>

struct ingest_apikeys;

int ingest_apikeys_parse(const char *text, size_t len, struct ingest_apikeys **out, char *err,
                         size_t cap);
int ingest_apikeys_load(const char *path, struct ingest_apikeys **out, char *err, size_t cap);
void ingest_apikeys_free(struct ingest_apikeys *k);

/* Looks a presented key up (hashing it; every stored hash is compared in constant time).
 * Returns true when known: *admin is set, and *tenant (borrowed) is the key's tenant or NULL
 * for an admin key. */
bool ingest_apikeys_find(const struct ingest_apikeys *k, const char *key, size_t len, bool *admin,
                         const char **tenant);
/* True when tenant has at least one key (known tenant). */
bool ingest_apikeys_has_tenant(const struct ingest_apikeys *k, const char *tenant);

#endif
