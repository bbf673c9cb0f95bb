/* Private to rtcommon: JWK -> PEM conversion and strict base64url, used by jwt.c. */
#ifndef RT_JWKS_H
#define RT_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum rt_jwks_alg {
    RT_JWKS_RS256,
    RT_JWKS_ES256,
};

/* Strict base64url without padding: only [A-Za-z0-9_-], zero leftover bits. Returns 0,
 * RT_EINVAL or RT_E2BIG (more than cap bytes). */
int rt_jwks_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                          size_t *out_len);

/* Turns one JWK object into a public-key PEM (malloc'd, NUL-terminated) and the only algorithm
 * it may be used with: RSA (n, e; at least 2048 bits) -> RS256, EC P-256 (x, y) -> ES256.
 * Returns 0 or RT_EINVAL (unsupported or unusable key: other kty or crv, "use" not "sig", an
 * "alg" member other than the key's own algorithm, bad members). */
int rt_jwks_key_pem(json_t *jwk, enum rt_jwks_alg *alg, char **pem, size_t *pem_len);

#endif
