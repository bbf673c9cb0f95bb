/* Small pure helpers shared by the webhook verifiers: strict base64 / base64url, hex, HMAC,
 * SHA-256, constant-time comparison and strict decimal timestamps. */
#ifndef INGEST_SIGUTIL_H
#define INGEST_SIGUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Strict RFC 4648 base64 (url false: "+/" with exact "=" padding; url true: "-_" without
 * padding). Rejects whitespace, bad characters, bad padding and non-zero trailing bits.
 * Returns the decoded length, or -1 (malformed or longer than cap). */
long ingest_b64_decode(const char *in, size_t len, bool url, unsigned char *out, size_t cap);
/* Standard base64 with padding; out needs 4 * ceil(len / 3) + 1 bytes. */
void ingest_b64_encode(const unsigned char *in, size_t len, char *out);

/* Lower-case hex; out needs 2 * len + 1 bytes. */
void ingest_hex_encode(const unsigned char *in, size_t len, char *out);
/* Decodes exactly 2 * cap hex digits (either case); false if malformed or of another length. */
bool ingest_hex_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* Constant-time equality for equal lengths; false at once for different lengths. */
bool ingest_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* HMAC over the concatenation of up to 4 pieces (NULL pieces end the list). md is "SHA1" or
 * "SHA256". Returns the MAC length (20 or 32) or -1. */
int ingest_hmac(const char *md, const void *key, size_t keylen, const void *const *parts,
                const size_t *lens, size_t nparts, unsigned char out[32]);
void ingest_sha256(const void *data, size_t len, unsigned char out[32]);

/* Unix seconds: 1-12 decimal digits, nothing else (no sign, no space). */
bool ingest_parse_unix(const char *s, long long *out);
/* |now - ts| <= window. */
bool ingest_in_window(long long ts, long long now, long long window);

#endif
