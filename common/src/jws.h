/* Private to rtcommon: JWS signature checks on OpenSSL EVP (RFC 7518 3.2-3.4), used by jwt.c.
 * A public key is prepared once (rt_jws_key_new, when a JWKS is loaded) so a verification costs
 * one SHA-256 and one public-key operation, nothing parsed or fetched per token. */
#ifndef RT_JWS_H
#define RT_JWS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

enum rt_jws_alg {
    RT_JWS_RS256,
    RT_JWS_ES256,
};

#define RT_JWS_ES256_SIG 64 /* JOSE form: r || s, 32 bytes each (not DER) */

struct rt_jws_key;

/* Takes pkey (freed with the key, also on failure). pkey must be RSA for RS256 and EC P-256 for
 * ES256. Returns NULL when OpenSSL cannot set up the verification. */
struct rt_jws_key *rt_jws_key_new(EVP_PKEY *pkey, enum rt_jws_alg alg);
void rt_jws_key_free(struct rt_jws_key *k);

/* True when sig is a valid signature of input under k (with k's own algorithm only). */
bool rt_jws_verify(struct rt_jws_key *k, const void *input, size_t len, const unsigned char *sig,
                   size_t sig_len);

/* HS256: HMAC-SHA256 compared in constant time. */
bool rt_jws_verify_hs256(const void *secret, size_t secret_len, const void *input, size_t len,
                         const unsigned char *sig, size_t sig_len);

#endif
