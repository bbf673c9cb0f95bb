/* Vonage voice events: "Authorization: Bearer <JWT>" signed HS256 with the signature secret,
 * payload_hash = SHA-256 of the raw body, a window on iat; normalization to the call model. */
#ifndef INGEST_WEBHOOK_VONAGE_H
#define INGEST_WEBHOOK_VONAGE_H

#include <stddef.h>

#include "callmodel.h"

#define INGEST_JWT_MAX 4096

struct ingest_vonage_claims {
    long long iat;
    char jti[129];     /* "" when absent */
    char api_key[129]; /* "" when absent */
};

/* Returns 0, RT_EINVAL (header missing, not "Bearer", malformed JWT or claims), RT_EAUTH
 * (alg is not HS256, no secret matches, payload_hash differs) or RT_ETIMEDOUT (iat outside
 * the window). Claims are read only after the signature verified. */
int ingest_vonage_verify(const char *const *secrets, size_t nsecrets, const char *authorization,
                         const char *body, size_t len, long long now, long long window,
                         struct ingest_vonage_claims *out);

/* Returns 0, RT_ENOENT (not a call status change) or RT_EINVAL. */
int ingest_vonage_normalize(const char *body, size_t len, const struct ingest_vonage_claims *cl,
                            struct ingest_call *c);

#endif
