/* jws.c: signatures checked with OpenSSL EVP against keys prepared once. Signatures are made
 * here with OpenSSL directly (independently of the code under test); ES256 is converted to the
 * JOSE r || s form, and the DER form OpenSSL produces must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jws.h"

static const char input[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0";

static unsigned char *sign_der(EVP_PKEY *k, const char *in, size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, NULL, len, (const unsigned char *)in, strlen(in)), 1);
    unsigned char *sig = malloc(*len);
    assert_int_equal(EVP_DigestSign(ctx, sig, len, (const unsigned char *)in, strlen(in)), 1);
    EVP_MD_CTX_free(ctx);
    return sig;
}

/* DER ECDSA-Sig-Value -> r || s, each left-padded to 32 bytes */
static void der_to_jose(const unsigned char *der, size_t len, unsigned char out[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    assert_non_null(es);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), out, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 32, 32), 32);
    ECDSA_SIG_free(es);
}

static struct rt_jws_key *key_of(EVP_PKEY *priv, enum rt_jws_alg alg)
{
    /* a public-only copy, as a JWKS gives */
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(priv, &der);
    assert_true(n > 0);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(pub);
    return rt_jws_key_new(pub, alg);
}

static void test_es256_jose_form(void **state)
{
    (void)state;
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    struct rt_jws_key *k = key_of(ec, RT_JWS_ES256);
    assert_non_null(k);
    for (int i = 0; i < 20; i++) { /* r or s with leading zero bytes come up too */
        size_t dlen;
        unsigned char *der = sign_der(ec, input, &dlen);
        unsigned char jose[64];
        der_to_jose(der, dlen, jose);
        assert_true(rt_jws_verify(k, input, strlen(input), jose, 64));
        /* the DER form is not a JWS signature */
        assert_false(rt_jws_verify(k, input, strlen(input), der, dlen));
        /* one bit flipped in r, in s, or in the input */
        jose[3] ^= 1;
        assert_false(rt_jws_verify(k, input, strlen(input), jose, 64));
        jose[3] ^= 1;
        jose[40] ^= 0x80;
        assert_false(rt_jws_verify(k, input, strlen(input), jose, 64));
        jose[40] ^= 0x80;
        assert_false(rt_jws_verify(k, input, strlen(input) - 1, jose, 64));
        /* truncated, extended */
        assert_false(rt_jws_verify(k, input, strlen(input), jose, 63));
        free(der);
    }
    unsigned char zero[65] = {0};
    assert_false(rt_jws_verify(k, input, strlen(input), zero, 64));
    assert_false(rt_jws_verify(k, input, strlen(input), zero, 65));
    rt_jws_key_free(k);
    EVP_PKEY_free(ec);
}

static void test_rs256(void **state)
{
    (void)state;
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
    struct rt_jws_key *k = key_of(rsa, RT_JWS_RS256);
    assert_non_null(k);
    size_t len;
    unsigned char *sig = sign_der(rsa, input, &len);
    assert_int_equal(len, 256);
    assert_true(rt_jws_verify(k, input, strlen(input), sig, len));
    assert_true(rt_jws_verify(k, input, strlen(input), sig, len)); /* the context is reusable */
    assert_false(rt_jws_verify(k, input, strlen(input), sig, len - 1));
    sig[100] ^= 4;
    assert_false(rt_jws_verify(k, input, strlen(input), sig, len));
    free(sig);
    sig = sign_der(other, input, &len);
    assert_false(rt_jws_verify(k, input, strlen(input), sig, len));
    free(sig);
    rt_jws_key_free(k);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(other);
}

static void test_key_of_wrong_type_refused(void **state)
{
    (void)state;
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256"), *p384 = EVP_EC_gen("P-384");
    EVP_PKEY_up_ref(rsa);
    EVP_PKEY_up_ref(ec);
    EVP_PKEY_up_ref(p384);
    assert_null(rt_jws_key_new(rsa, RT_JWS_ES256)); /* consumes one reference */
    assert_null(rt_jws_key_new(ec, RT_JWS_RS256));
    assert_null(rt_jws_key_new(p384, RT_JWS_ES256));
    assert_null(rt_jws_key_new(NULL, RT_JWS_RS256));
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(p384);
}

static void test_hs256(void **state)
{
    (void)state;
    const char secret[] = "a-long-enough-shared-secret";
    unsigned char mac[32];
    unsigned int n = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input,
                         strlen(input), mac, &n));
    assert_int_equal(n, 32);
    assert_true(rt_jws_verify_hs256(secret, strlen(secret), input, strlen(input), mac, 32));
    assert_false(rt_jws_verify_hs256(secret, strlen(secret) - 1, input, strlen(input), mac, 32));
    assert_false(rt_jws_verify_hs256(secret, strlen(secret), input, strlen(input), mac, 31));
    assert_false(rt_jws_verify_hs256(secret, strlen(secret), input, strlen(input) - 1, mac, 32));
    mac[31] ^= 1;
    assert_false(rt_jws_verify_hs256(secret, strlen(secret), input, strlen(input), mac, 32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es256_jose_form),
        cmocka_unit_test(test_rs256),
        cmocka_unit_test(test_key_of_wrong_type_refused),
        cmocka_unit_test(test_hs256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
