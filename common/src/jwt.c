/* JWT verification on OpenSSL EVP (jws.c); nothing here trusts the token's own `alg` header:
 *   1. the compact form is checked (three non-empty strict base64url parts, header and payload
 *      JSON objects without duplicate keys, no `crit`, `typ` absent or "JWT");
 *   2. `alg` is read from the header: `none` and anything outside the allowlist is refused; the
 *      key is chosen by algorithm (HS256: the secret; RS256/ES256: the JWK of that `kid` whose
 *      type is that algorithm's), so a key is only ever used with its own algorithm;
 *   3. the signature over "header.payload" is checked with that key only (jws.c);
 *   4. exp/nbf/iss/aud/sub/tenant are checked on the payload parsed in step 1.
 * Each JWK becomes a prepared key once, when the set is loaded: a verification parses no key. */
#include "rt/jwt.h"
#include "rt/err.h"

#include "jwks.h"
#include "jws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define JWKS_MAX_BYTES (1024 * 1024)
#define JWKS_MAX_KEYS  64  /* usable keys kept per set; the rest count as skipped */
#define KID_MAX        256 /* longer kid: token malformed, JWK skipped */

enum alg {
    ALG_RS256 = 1u << 0,
    ALG_ES256 = 1u << 1,
    ALG_HS256 = 1u << 2,
};

struct jwk {
    char *kid; /* owned; NULL when the JWK has none */
    enum alg alg;
    struct rt_jws_key *key; /* owned */
};

struct rt_jwt_verifier {
    unsigned algs; /* enum alg bits allowed */
    char *secret;  /* owned; NULL: HS256 off */
    size_t secret_len;
    char *issuer;       /* owned or NULL */
    char *audience;     /* owned or NULL */
    char *tenant_claim; /* owned */
    unsigned leeway_s;
    unsigned refresh_s;
    struct jwk *keys; /* owned array of nkeys */
    size_t nkeys;
    bool kid_missed; /* an unknown kid was seen since the last refresh request */
    bool refreshed;  /* last_refresh_s is meaningful */
    int64_t last_refresh_s;
};

static const struct {
    const char *name;
    enum alg alg;
} algs[] = {
    {"RS256", ALG_RS256},
    {"ES256", ALG_ES256},
    {"HS256", ALG_HS256},
};

static int alg_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static int parse_algs(const char *list, unsigned *out)
{
    const char *p = list;
    *out = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        size_t len = n;
        while (len && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        int i = alg_find(s, len);
        if (i < 0)
            return RT_EINVAL;
        *out |= algs[i].alg;
        p += n;
        if (*p == ',')
            p++;
    }
    return *out ? 0 : RT_EINVAL;
}

static char *dup_opt(const char *s)
{
    return s ? rt_xstrdup(s) : NULL;
}

int rt_jwt_verifier_open(struct rt_jwt_verifier **out, const struct rt_jwt_opts *opts)
{
    unsigned allowed = ALG_RS256 | ALG_ES256 | ALG_HS256;

    *out = NULL;
    if (opts->algs && parse_algs(opts->algs, &allowed) < 0)
        return RT_EINVAL;
    /* an empty secret would make every HS256 token with an empty MAC key valid */
    if (opts->hs256_secret && !*opts->hs256_secret)
        return RT_EINVAL;
    struct rt_jwt_verifier *v = rt_xcalloc(1, sizeof(*v));
    v->algs = allowed;
    v->secret = dup_opt(opts->hs256_secret);
    v->secret_len = v->secret ? strlen(v->secret) : 0;
    v->issuer = dup_opt(opts->issuer);
    v->audience = dup_opt(opts->audience);
    v->tenant_claim = rt_xstrdup(opts->tenant_claim ? opts->tenant_claim : "org_id");
    v->leeway_s = opts->leeway_s;
    v->refresh_s = opts->jwks_min_refresh_s ? opts->jwks_min_refresh_s : 60;
    *out = v;
    return 0;
}

static void keys_free(struct jwk *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(keys[i].kid);
        rt_jws_key_free(keys[i].key);
    }
    free(keys);
}

void rt_jwt_verifier_free(struct rt_jwt_verifier *v)
{
    if (!v)
        return;
    keys_free(v->keys, v->nkeys);
    if (v->secret)
        memset(v->secret, 0, v->secret_len);
    free(v->secret);
    free(v->issuer);
    free(v->audience);
    free(v->tenant_claim);
    free(v);
}

/* ---- key set ---- */

static bool key_load(json_t *jwk, struct jwk *k)
{
    json_t *kid = json_object_get(jwk, "kid");
    enum rt_jws_alg alg;
    EVP_PKEY *pkey = NULL;

    if (!json_is_object(jwk) || (kid && !json_is_string(kid)))
        return false;
    if (kid && (json_string_length(kid) > KID_MAX ||
                strlen(json_string_value(kid)) != json_string_length(kid)))
        return false;
    if (rt_jwks_key(jwk, &alg, &pkey) < 0)
        return false;
    if (!(k->key = rt_jws_key_new(pkey, alg)))
        return false;
    k->alg = alg == RT_JWS_RS256 ? ALG_RS256 : ALG_ES256;
    k->kid = kid ? rt_xstrdup(json_string_value(kid)) : NULL;
    return true;
}

int rt_jwt_set_jwks(struct rt_jwt_verifier *v, const char *json, size_t len, size_t *skipped)
{
    json_t *root, *arr;
    struct jwk *keys;
    size_t n = 0, skip = 0;

    if (skipped)
        *skipped = 0;
    if (!json || len > JWKS_MAX_BYTES)
        return RT_EINVAL;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    arr = json_object_get(root, "keys");
    if (!json_is_array(arr)) {
        json_decref(root);
        return RT_EPARSE;
    }
    keys = rt_xcalloc(JWKS_MAX_KEYS, sizeof(*keys));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (n < JWKS_MAX_KEYS && key_load(json_array_get(arr, i), &keys[n]))
            n++;
        else
            skip++;
    }
    json_decref(root);
    if (skipped)
        *skipped = skip;
    if (n == 0) {
        free(keys);
        return RT_EINVAL;
    }
    keys_free(v->keys, v->nkeys);
    v->keys = keys;
    v->nkeys = n;
    return 0;
}

int rt_jwt_load_jwks_file(struct rt_jwt_verifier *v, const char *path)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > JWKS_MAX_BYTES) {
        close(fd);
        return RT_EINVAL;
    }
    buf = rt_xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    rc = got == (size_t)st.st_size ? rt_jwt_set_jwks(v, buf, got, NULL) : RT_EIO;
    free(buf);
    return rc;
}

/* ---- the token ---- */

/* Decodes one base64url part into a JSON object; NULL when it is not one. */
static json_t *part_json(const char *s, size_t len)
{
    unsigned char buf[RT_JWT_MAX_TOKEN];
    size_t n;

    if (rt_jwks_b64url_decode(s, len, buf, sizeof(buf), &n) < 0)
        return NULL;
    json_t *j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static bool b64url_chars(const char *s, size_t len)
{
    return len > 0 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >= len;
}

/* A token split and parsed: the payload is kept for the claim checks. */
struct parsed {
    int alg; /* index into algs[] */
    char kid[KID_MAX + 1];
    json_t *body;     /* owned */
    size_t input_len; /* "header.payload": the signing input */
    unsigned char sig[RT_JWT_MAX_TOKEN];
    size_t sig_len;
};

/* Checks the compact form and the header; fills p (p->body owned by the caller on any return). */
static enum rt_jwt_fail check_form(const char *token, size_t len, struct parsed *p)
{
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    enum rt_jwt_fail why = RT_JWT_MALFORMED;

    p->body = NULL;
    if (!d2 || !b64url_chars(token, (size_t)(d1 - token)) ||
        !b64url_chars(d1 + 1, (size_t)(d2 - d1 - 1)) ||
        !b64url_chars(d2 + 1, len - (size_t)(d2 + 1 - token)))
        return RT_JWT_MALFORMED; /* also a missing signature part and a fourth part */
    if (rt_jwks_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), p->sig, sizeof(p->sig),
                              &p->sig_len) < 0)
        return RT_JWT_MALFORMED;
    p->input_len = (size_t)(d2 - token);
    json_t *head = part_json(token, (size_t)(d1 - token));
    p->body = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    json_t *jalg = json_object_get(head, "alg");
    json_t *jkid = json_object_get(head, "kid");
    json_t *jtyp;
    if (!head || !p->body || !json_is_string(jalg) || (jkid && !json_is_string(jkid)))
        goto out;
    /* no extension is understood here, so a critical one cannot be honoured (RFC 7515 4.1.11) */
    if (json_object_get(head, "crit"))
        goto out;
    /* only JWTs: another typ (e.g. RFC 9068 "at+jwt") is a different kind of token */
    if ((jtyp = json_object_get(head, "typ")) &&
        (!json_is_string(jtyp) || strcasecmp(json_string_value(jtyp), "JWT") != 0))
        goto out;
    p->kid[0] = '\0';
    if (jkid) {
        if (json_string_length(jkid) > KID_MAX ||
            strlen(json_string_value(jkid)) != json_string_length(jkid))
            goto out;
        memcpy(p->kid, json_string_value(jkid), json_string_length(jkid) + 1);
    }
    p->alg = alg_find(json_string_value(jalg), json_string_length(jalg));
    why = p->alg < 0 ? RT_JWT_ALG_NOT_ALLOWED : RT_JWT_OK; /* "none" included */
out:
    json_decref(head);
    return why;
}

/* The key for this algorithm and kid (NULL for HS256, which uses the secret). RS256/ES256
 * without a kid use the set's only key of that type, if there is exactly one. */
static enum rt_jwt_fail pick_key(struct rt_jwt_verifier *v, enum alg alg, const char *kid,
                                 struct rt_jws_key **key)
{
    const struct jwk *found = NULL;
    bool kid_known = false;
    size_t typed = 0;

    *key = NULL;
    if (alg == ALG_HS256)
        return v->secret ? RT_JWT_OK : RT_JWT_ALG_NOT_ALLOWED;
    for (size_t i = 0; i < v->nkeys; i++) {
        const struct jwk *k = &v->keys[i];
        if (k->alg == alg)
            typed++;
        if (*kid && k->kid && strcmp(k->kid, kid) == 0) {
            kid_known = true;
            if (k->alg == alg && !found)
                found = k;
        } else if (!*kid && k->alg == alg) {
            found = k;
        }
    }
    if (!*kid && typed != 1)
        found = NULL;
    if (found) {
        *key = found->key;
        return RT_JWT_OK;
    }
    if (kid_known)
        return RT_JWT_ALG_NOT_ALLOWED; /* the kid names a key of another type */
    if (v->nkeys == 0 && !*kid)
        return RT_JWT_ALG_NOT_ALLOWED; /* no key material at all for this algorithm */
    v->kid_missed = true;
    return RT_JWT_UNKNOWN_KID;
}

/* NumericDate: an integer, or a finite real truncated toward minus infinity. */
static bool numeric_date(json_t *j, int64_t *out)
{
    if (json_is_integer(j)) {
        *out = (int64_t)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        double d = json_real_value(j);
        if (!(d > -9.2e18 && d < 9.2e18))
            return false;
        *out = (int64_t)d; /* toward zero; then down, without libm's floor() */
        if ((double)*out > d)
            (*out)--;
        return true;
    }
    return false;
}

static bool copy_name(json_t *j, char *buf, size_t cap, bool (*valid)(const char *))
{
    const char *s = json_string_value(j);
    if (!s || json_string_length(j) >= cap || strlen(s) != json_string_length(j) || !valid(s))
        return false;
    memcpy(buf, s, json_string_length(j) + 1);
    return true;
}

static bool aud_ok(json_t *aud, const char *want)
{
    size_t i;
    json_t *a;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, a)
    {
        if (json_is_string(a) && strcmp(json_string_value(a), want) == 0)
            return true;
    }
    return false;
}

static enum rt_jwt_fail check_claims(const struct rt_jwt_verifier *v, json_t *g, int64_t now,
                                     struct rt_jwt_claims *c)
{
    json_t *j;
    int64_t lee = (int64_t)v->leeway_s;

    if (!numeric_date(json_object_get(g, "exp"), &c->exp))
        return RT_JWT_MISSING_CLAIM;
    /* exp is the first instant the token is no longer valid (RFC 7519 4.1.4) */
    if (now - lee >= c->exp)
        return RT_JWT_EXPIRED;
    if ((j = json_object_get(g, "nbf")) && !numeric_date(j, &c->nbf))
        return RT_JWT_MALFORMED;
    if (j && now + lee < c->nbf)
        return RT_JWT_NOT_YET_VALID;
    if ((j = json_object_get(g, "iat")) && !numeric_date(j, &c->iat))
        return RT_JWT_MALFORMED;
    if (v->issuer) {
        const char *iss = json_string_value(json_object_get(g, "iss"));
        if (!iss || strcmp(iss, v->issuer) != 0)
            return RT_JWT_BAD_ISSUER;
    }
    if (v->audience && !aud_ok(json_object_get(g, "aud"), v->audience))
        return RT_JWT_BAD_AUDIENCE;
    if (!copy_name(json_object_get(g, "sub"), c->sub, sizeof(c->sub), rt_name_user_valid))
        return RT_JWT_MISSING_CLAIM;
    if (!copy_name(json_object_get(g, v->tenant_claim), c->tenant, sizeof(c->tenant),
                   rt_name_tenant_valid))
        return RT_JWT_MISSING_CLAIM;
    return RT_JWT_OK;
}

/* The signature with exactly this key (HS256: the secret), then the claims. */
static enum rt_jwt_fail verify_signed(const struct rt_jwt_verifier *v, const char *token,
                                      struct parsed *p, struct rt_jws_key *key, int64_t now,
                                      struct rt_jwt_claims *c)
{
    bool ok =
        algs[p->alg].alg == ALG_HS256
            ? rt_jws_verify_hs256(v->secret, v->secret_len, token, p->input_len, p->sig, p->sig_len)
            : rt_jws_verify(key, token, p->input_len, p->sig, p->sig_len);
    return ok ? check_claims(v, p->body, now, c) : RT_JWT_BAD_SIGNATURE;
}

int rt_jwt_verify(struct rt_jwt_verifier *v, const char *token, int64_t now_s,
                  struct rt_jwt_claims *out, enum rt_jwt_fail *why)
{
    struct parsed p;
    struct rt_jws_key *key = NULL;
    size_t len;
    enum rt_jwt_fail w;

    memset(out, 0, sizeof(*out));
    p.body = NULL;
    len = token ? strnlen(token, RT_JWT_MAX_TOKEN + 1) : 0;
    if (len == 0 || len > RT_JWT_MAX_TOKEN) {
        w = RT_JWT_MALFORMED;
        goto done;
    }
    if ((w = check_form(token, len, &p)) != RT_JWT_OK)
        goto done;
    if (!(v->algs & algs[p.alg].alg)) {
        w = RT_JWT_ALG_NOT_ALLOWED;
        goto done;
    }
    if ((w = pick_key(v, algs[p.alg].alg, p.kid, &key)) != RT_JWT_OK)
        goto done;
    if ((w = verify_signed(v, token, &p, key, now_s, out)) != RT_JWT_OK)
        goto done;
    snprintf(out->alg, sizeof(out->alg), "%s", algs[p.alg].name);
done:
    json_decref(p.body);
    *why = w;
    if (w != RT_JWT_OK) {
        memset(out, 0, sizeof(*out));
        return RT_EAUTH;
    }
    return 0;
}

bool rt_jwt_jwks_wanted(struct rt_jwt_verifier *v, int64_t now_s)
{
    if (!v->kid_missed)
        return false;
    if (v->refreshed && now_s - v->last_refresh_s < (int64_t)v->refresh_s)
        return false;
    v->kid_missed = false;
    v->refreshed = true;
    v->last_refresh_s = now_s;
    return true;
}

const char *rt_jwt_fail_name(enum rt_jwt_fail why)
{
    switch (why) {
    case RT_JWT_OK:
        return "ok";
    case RT_JWT_MALFORMED:
        return "malformed";
    case RT_JWT_ALG_NOT_ALLOWED:
        return "alg_not_allowed";
    case RT_JWT_UNKNOWN_KID:
        return "unknown_kid";
    case RT_JWT_BAD_SIGNATURE:
        return "bad_signature";
    case RT_JWT_EXPIRED:
        return "expired";
    case RT_JWT_NOT_YET_VALID:
        return "not_yet_valid";
    case RT_JWT_BAD_ISSUER:
        return "bad_issuer";
    case RT_JWT_BAD_AUDIENCE:
        return "bad_audience";
    case RT_JWT_MISSING_CLAIM:
        return "missing_claim";
    }
    return "unknown";
}
