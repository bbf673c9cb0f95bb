/* RT_WEBHOOK_SECRETS: per-tenant, per-provider webhook secrets, two at a time for rotation.
 * {"tenants": {"acme": {"twilio": {"auth_tokens": [...], "account_sids": [...]},
 *                       "telnyx": {"public_keys": [...]},
 *                       "vonage": {"signature_secrets": [...], "api_keys": [...]},
 *                       "generic": {"secrets": [...]}}}}
 * account_sids and api_keys are optional: when given, other accounts are refused (403). */
#ifndef INGEST_SECRETS_H
#define INGEST_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#define INGEST_SECRETS_PER_PROVIDER 2
#define INGEST_ACCOUNTS_MAX         16

enum ingest_provider {
    INGEST_PROVIDER_TWILIO,
    INGEST_PROVIDER_TELNYX,
    INGEST_PROVIDER_VONAGE,
    INGEST_PROVIDER_GENERIC,
    INGEST_PROVIDER_COUNT,
};

struct ingest_provider_secrets {
    bool configured;
    char *secrets[INGEST_SECRETS_PER_PROVIDER];          /* owned; tokens, secrets (not Telnyx) */
    unsigned char keys[INGEST_SECRETS_PER_PROVIDER][32]; /* Telnyx Ed25519 public keys */
    size_t n;
    char *accounts[INGEST_ACCOUNTS_MAX]; /* owned; optional allow-list */
    size_t naccounts;
};

struct ingest_secrets;

/* "twilio" ... "generic"; -1 for an unknown name. */
int ingest_provider_parse(const char *name);
const char *ingest_provider_name(enum ingest_provider p);

/* Parses the file's text. On failure returns RT_EPARSE or RT_EINVAL and writes a message naming
 * the offending key into err (never a secret value). */
int ingest_secrets_parse(const char *text, size_t len, struct ingest_secrets **out, char *err,
                         size_t cap);
int ingest_secrets_load(const char *path, struct ingest_secrets **out, char *err, size_t cap);
void ingest_secrets_free(struct ingest_secrets *s);

/* The secrets of (tenant, provider), or NULL when not configured (borrowed). */
const struct ingest_provider_secrets *
ingest_secrets_get(const struct ingest_secrets *s, const char *tenant, enum ingest_provider p);
/* True when no allow-list is configured or account is on it. */
bool ingest_secrets_account_ok(const struct ingest_provider_secrets *ps, const char *account);
/* True when some tenant has that provider configured. */
bool ingest_secrets_uses(const struct ingest_secrets *s, enum ingest_provider p);
size_t ingest_secrets_tenants(const struct ingest_secrets *s);

/* Reads a whole small file (at most max bytes) into a NUL-terminated malloc'd buffer. */
char *ingest_read_file(const char *path, size_t max, size_t *len);

#endif
