#include "sigutil.h"

#include "rt/err.h"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <string.h>

static int b64_value(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long ingest_b64_decode(const char *in, size_t len, bool url, unsigned char *out, size_t cap)
{
    size_t pad = 0;
    if (!url) {
        if (len % 4)
            return -1;
        while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
            pad++;
    } else if (len % 4 == 1) {
        return -1;
    }
    size_t n = len - pad; /* significant characters */
    size_t outlen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (outlen > cap)
        return -1;
    unsigned long acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* the leftover bits (2 or 4) must be zero: one encoding per byte string */
    if (bits && (acc & ((1UL << bits) - 1)))
        return -1;
    if (!url && pad && n % 4 + pad != 4)
        return -1;
    return (long)o;
}

void ingest_b64_encode(const unsigned char *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

void ingest_hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool ingest_hex_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    if (len != 2 * cap)
        return false;
    for (size_t i = 0; i < cap; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

bool ingest_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

/* Fetching an algorithm (EVP_MAC_fetch, the digest behind "digest") costs more than the MAC of
 * a webhook. One HMAC context per digest, with the digest set, is made on first use and kept
 * for the life of the process; each MAC starts from a copy of it. */
#define MAC_DIGESTS 4 /* callers use "SHA1" and "SHA256" */

static EVP_MAC_CTX *mac_template(const char *md)
{
    static EVP_MAC *mac;
    static struct {
        const char *md; /* static string from the caller */
        EVP_MAC_CTX *ctx;
    } cache[MAC_DIGESTS];
    size_t i = 0;
    for (; i < MAC_DIGESTS && cache[i].md; i++)
        if (strcmp(cache[i].md, md) == 0)
            return cache[i].ctx;
    RT_ASSERT(i < MAC_DIGESTS);
    if (!mac)
        mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)md, 0),
                           OSSL_PARAM_construct_end()};
    if (!ctx || !EVP_MAC_CTX_set_params(ctx, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    cache[i].md = md;
    cache[i].ctx = ctx;
    return ctx;
}

int ingest_hmac(const char *md, const void *key, size_t keylen, const void *const *parts,
                const size_t *lens, size_t nparts, unsigned char out[32])
{
    int rc = -1;
    EVP_MAC_CTX *tpl = mac_template(md);
    EVP_MAC_CTX *ctx = tpl ? EVP_MAC_CTX_dup(tpl) : NULL;
    size_t outlen = 0;
    if (!ctx || !EVP_MAC_init(ctx, key, keylen, NULL))
        goto out;
    /* each update goes through several provider layers: many small pieces (a Twilio form has
     * two per parameter) are joined first and hashed in one */
    char joined[4096];
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += lens[i];
    if (total <= sizeof(joined)) {
        size_t at = 0;
        for (size_t i = 0; i < nparts; i++) {
            memcpy(joined + at, parts[i], lens[i]);
            at += lens[i];
        }
        if (!EVP_MAC_update(ctx, (const unsigned char *)joined, total))
            goto out;
    } else {
        for (size_t i = 0; i < nparts; i++)
            if (!EVP_MAC_update(ctx, parts[i], lens[i]))
                goto out;
    }
    if (!EVP_MAC_final(ctx, out, &outlen, 32))
        goto out;
    rc = (int)outlen;
out:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

void ingest_sha256(const void *data, size_t len, unsigned char out[32])
{
    /* SHA256() fetches the algorithm and makes a context on every call (OpenSSL 3): both are
     * made once and kept for the life of the process */
    static EVP_MD *md;
    static EVP_MD_CTX *ctx;
    if (!md)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!ctx)
        ctx = EVP_MD_CTX_new();
    int ok = md && ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, data, len) &&
             EVP_DigestFinal_ex(ctx, out, NULL);
    RT_ASSERT(ok);
}

bool ingest_parse_unix(const char *s, long long *out)
{
    long long v = 0;
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 12)
            return false;
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0)
        return false;
    *out = v;
    return true;
}

bool ingest_in_window(long long ts, long long now, long long window)
{
    /* no subtraction involving ts: it may come from a JSON integer anywhere in 64 bits */
    return ts >= now - window && ts <= now + window;
}
