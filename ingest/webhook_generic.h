/* Generic HMAC webhooks (app-owned or other providers): X-RT-Timestamp and
 * X-RT-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." raw body)>, window on the timestamp;
 * body {"id", "call_id", "status", ...} (docs/WEBHOOKS.md). */
#ifndef INGEST_WEBHOOK_GENERIC_H
#define INGEST_WEBHOOK_GENERIC_H

#include <stddef.h>

#include "callmodel.h"

/* Returns 0, RT_EINVAL (header missing or malformed), RT_ETIMEDOUT or RT_EAUTH. */
int ingest_generic_verify(const char *const *secrets, size_t nsecrets, const char *timestamp,
                          const char *signature, const char *body, size_t len, long long now,
                          long long window);
/* "v1=<hex>" for tests and clients; out needs 68 bytes. */
int ingest_generic_sign(const char *secret, const char *timestamp, const char *body, size_t len,
                        char out[68]);
/* Returns 0 or RT_EINVAL. */
int ingest_generic_normalize(const char *body, size_t len, struct ingest_call *c);

#endif
