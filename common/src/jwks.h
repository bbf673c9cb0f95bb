/* Private to rtcommon: JWK -> EVP_PKEY conversion and strict base64url, used by jwt.c. */
#ifndef RT_JWKS_H
#define RT_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jws.h"

/* Strict base64url without padding: only [A-Za-z0-9_-], zero leftover bits. Returns 0,
 * RT_EINVAL or RT_E2BIG (more than cap bytes). */
int rt_jwks_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                          size_t *out_len);

/* Turns one JWK object into a public key (*out, owned by the caller) and the only algorithm it
 * may be used with: RSA (n, e; at least 2048 bits) -> RS256, EC P-256 (x, y) -> ES256.
 * Returns 0 or RT_EINVAL (unsupported or unusable key: other kty or crv, "use" not "sig", an
 * "alg" member other than the key's own algorithm, bad members). */
int rt_jwks_key(json_t *jwk, enum rt_jws_alg *alg, EVP_PKEY **out);

#endif
