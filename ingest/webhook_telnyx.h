/* Telnyx Call Control v2 webhooks: Ed25519 over "<timestamp>|<raw body>" with a timestamp
 * window, and normalization to the call model. */
#ifndef INGEST_WEBHOOK_TELNYX_H
#define INGEST_WEBHOOK_TELNYX_H

#include <stddef.h>

#include "callmodel.h"

/* A public key in base64: 32 raw bytes or the 44-byte SPKI DER form. Returns 0 or RT_EINVAL. */
int ingest_telnyx_key_parse(const char *b64, unsigned char out[32]);

/* Returns 0, RT_EINVAL (header missing or malformed: non-numeric timestamp, signature not 64
 * bytes of strict base64), RT_ETIMEDOUT (|now - timestamp| > window) or RT_EAUTH (no key
 * verifies the signature). */
int ingest_telnyx_verify(const unsigned char (*keys)[32], size_t nkeys, const char *timestamp,
                         const char *signature, const char *body, size_t len, long long now,
                         long long window);

/* Returns 0, RT_ENOENT (an event type that is not a call state change: accept, publish
 * nothing) or RT_EINVAL (malformed). */
int ingest_telnyx_normalize(const char *body, size_t len, struct ingest_call *c);

#endif
