/* JWS signatures on OpenSSL 3 EVP. libjwt 1.10 took a PEM key per call and parsed it for every
 * token (about half of rt-edge's connection-setup CPU); here each key gets a verify context once,
 * initialised with its padding and digest, and every token reuses it. One thread per process:
 * the shared EVP_PKEY_CTX is never used concurrently. */
#include "jws.h"

#include "rt/err.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#define SHA256_LEN 32

struct rt_jws_key {
    enum rt_jws_alg alg;
    EVP_PKEY *pkey;     /* owned */
    EVP_PKEY_CTX *vctx; /* owned: verify operation, digest SHA-256 */
    size_t rsa_bytes;   /* RS256: modulus size, the only valid signature length */
};

static EVP_MD *sha256; /* fetched once: an implicit fetch per digest costs a lookup */

static const EVP_MD *md_sha256(void)
{
    if (!sha256)
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    return sha256;
}

struct rt_jws_key *rt_jws_key_new(EVP_PKEY *pkey, enum rt_jws_alg alg)
{
    struct rt_jws_key *k = rt_xcalloc(1, sizeof(*k));
    bool ok;

    k->alg = alg;
    k->pkey = pkey;
    ok = pkey && md_sha256();
    if (ok && alg == RT_JWS_RS256) {
        ok = EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_size(pkey) > 0;
        k->rsa_bytes = ok ? (size_t)EVP_PKEY_get_size(pkey) : 0;
    } else if (ok) {
        ok = EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_bits(pkey) == 256;
    }
    if (ok)
        k->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    ok = ok && k->vctx && EVP_PKEY_verify_init(k->vctx) == 1 &&
         EVP_PKEY_CTX_set_signature_md(k->vctx, md_sha256()) == 1;
    if (ok && alg == RT_JWS_RS256)
        ok = EVP_PKEY_CTX_set_rsa_padding(k->vctx, RSA_PKCS1_PADDING) == 1;
    if (!ok) {
        rt_jws_key_free(k);
        return NULL;
    }
    return k;
}

void rt_jws_key_free(struct rt_jws_key *k)
{
    if (!k)
        return;
    EVP_PKEY_CTX_free(k->vctx);
    EVP_PKEY_free(k->pkey);
    free(k);
}

/* r || s -> DER ECDSA-Sig-Value, which is what OpenSSL verifies. */
static int es256_der(const unsigned char *sig, unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    int n = -1;

    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        *der = NULL;
        n = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

bool rt_jws_verify(struct rt_jws_key *k, const void *input, size_t len, const unsigned char *sig,
                   size_t sig_len)
{
    unsigned char md[SHA256_LEN];
    unsigned int mdlen = 0;
    unsigned char *der = NULL;
    bool ok = false;
    int n;

    if (EVP_Digest(input, len, md, &mdlen, md_sha256(), NULL) != 1 || mdlen != SHA256_LEN)
        return false;
    switch (k->alg) {
    case RT_JWS_RS256:
        /* RFC 7518 3.3: the signature is exactly as long as the modulus */
        ok = sig_len == k->rsa_bytes && EVP_PKEY_verify(k->vctx, sig, sig_len, md, mdlen) == 1;
        break;
    case RT_JWS_ES256:
        /* RFC 7518 3.4: 64 bytes r || s; a DER signature is refused, as the spec requires */
        if (sig_len != RT_JWS_ES256_SIG || (n = es256_der(sig, &der)) <= 0)
            break;
        ok = EVP_PKEY_verify(k->vctx, der, (size_t)n, md, mdlen) == 1;
        OPENSSL_free(der);
        break;
    }
    return ok;
}

bool rt_jws_verify_hs256(const void *secret, size_t secret_len, const void *input, size_t len,
                         const unsigned char *sig, size_t sig_len)
{
    unsigned char mac[SHA256_LEN];
    unsigned int maclen = 0;

    if (sig_len != SHA256_LEN || secret_len > INT32_MAX)
        return false;
    if (!HMAC(md_sha256(), secret, (int)secret_len, input, len, mac, &maclen) ||
        maclen != SHA256_LEN)
        return false;
    return CRYPTO_memcmp(mac, sig, SHA256_LEN) == 0;
}
