/* JWK -> EVP_PKEY for the JWT verifier (OpenSSL 3 only: EVP_PKEY_fromdata, no deprecated
 * RSA_ / EC_KEY_ calls). Each usable JWK of a JWKS becomes a key once, when the set is loaded,
 * never per token. */
#include "jwks.h"

#include "rt/err.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#define JWK_MAX_PART 1024 /* decoded n of RSA-8192 is 1024 bytes */
#define RSA_MIN_BITS 2048

static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int rt_jwks_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                          size_t *out_len)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;

    /* no padding: a length of 4k+1 characters cannot come from any byte string */
    if (len % 4 == 1)
        return RT_EINVAL;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_val((unsigned char)in[i]);
        if (v < 0)
            return RT_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return RT_E2BIG;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* the leftover bits must be zero, so that one byte string has exactly one encoding */
    if (acc != 0)
        return RT_EINVAL;
    *out_len = n;
    return 0;
}

/* Decodes a base64url JWK member into buf; RT_EINVAL when absent, empty or not base64url. */
static int member_bytes(json_t *jwk, const char *name, unsigned char *buf, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (!s || !*s)
        return RT_EINVAL;
    if (rt_jwks_b64url_decode(s, strlen(s), buf, JWK_MAX_PART, len) < 0 || *len == 0)
        return RT_EINVAL;
    return 0;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_key(json_t *jwk)
{
    unsigned char n[JWK_MAX_PART], e[JWK_MAX_PART];
    size_t nlen, elen;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (member_bytes(jwk, "n", n, &nlen) < 0 || member_bytes(jwk, "e", e, &elen) < 0)
        return NULL;
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn_n || !bn_e || !bld)
        goto out;
    /* a weak or absurd key is not usable: n of 2048 bits at least, e odd and > 1 */
    if (BN_num_bits(bn_n) < RSA_MIN_BITS || !BN_is_odd(bn_e) || BN_is_one(bn_e))
        goto out;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        goto out;
    pkey = from_params("RSA", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

static EVP_PKEY *ec_key(json_t *jwk)
{
    unsigned char x[JWK_MAX_PART], y[JWK_MAX_PART], pub[65];
    size_t xlen, ylen;
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    OSSL_PARAM_BLD *bld;
    EVP_PKEY *pkey = NULL;

    if (!crv || strcmp(crv, "P-256") != 0)
        return NULL;
    if (member_bytes(jwk, "x", x, &xlen) < 0 || member_bytes(jwk, "y", y, &ylen) < 0)
        return NULL;
    if (xlen != 32 || ylen != 32)
        return NULL;
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)))
        pkey = from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    if (pkey) {
        /* fromdata does not promise the point is on the curve: check it here */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(ctx);
    }
    return pkey;
}

int rt_jwks_key(json_t *jwk, enum rt_jws_alg *alg, EVP_PKEY **out)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    json_t *jalg = json_object_get(jwk, "alg");
    json_t *use = json_object_get(jwk, "use");
    EVP_PKEY *pkey = NULL;

    if (!kty)
        return RT_EINVAL;
    /* "use" other than "sig" (e.g. "enc") and a pinned alg we do not verify make it unusable */
    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
        return RT_EINVAL;
    if (jalg && !json_is_string(jalg))
        return RT_EINVAL;
    if (strcmp(kty, "RSA") == 0) {
        if (jalg && strcmp(json_string_value(jalg), "RS256") != 0)
            return RT_EINVAL;
        *alg = RT_JWS_RS256;
        pkey = rsa_key(jwk);
    } else if (strcmp(kty, "EC") == 0) {
        if (jalg && strcmp(json_string_value(jalg), "ES256") != 0)
            return RT_EINVAL;
        *alg = RT_JWS_ES256;
        pkey = ec_key(jwk);
    }
    /* "oct" and anything else: a symmetric key never comes from a JWKS here */
    if (!pkey)
        return RT_EINVAL;
    *out = pkey;
    return 0;
}
