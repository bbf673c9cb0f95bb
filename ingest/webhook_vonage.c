#include "webhook_vonage.h"
#include "eventtime.h"
#include "sigutil.h"
#include "webhook_json.h"

#include "rt/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decodes one base64url JWT segment into a JSON object; NULL when malformed. */
static json_t *segment_json(const char *s, size_t len)
{
    unsigned char buf[INGEST_JWT_MAX];
    long n = ingest_b64_decode(s, len, true, buf, sizeof(buf));
    return n < 0 ? NULL : ingest_json_object((const char *)buf, (size_t)n);
}

static void copy_claim(char *dst, size_t cap, const char *v)
{
    dst[0] = '\0';
    if (v && strlen(v) < cap)
        strcpy(dst, v);
}

static int check_claims(json_t *claims, const char *body, size_t len, long long now,
                        long long window, struct ingest_vonage_claims *out)
{
    unsigned char want[32], digest[32];
    json_t *iat = json_object_get(claims, "iat");
    const char *ph = ingest_json_str(claims, "payload_hash");
    if (!json_is_integer(iat) || !ph)
        return RT_EINVAL;
    if (!ingest_hex_decode(ph, strlen(ph), want, sizeof(want)))
        return RT_EINVAL;
    ingest_sha256(body, len, digest);
    if (!ingest_ct_equal(want, sizeof(want), digest, sizeof(digest)))
        return RT_EAUTH;
    out->iat = json_integer_value(iat);
    if (!ingest_in_window(out->iat, now, window))
        return RT_ETIMEDOUT;
    copy_claim(out->jti, sizeof(out->jti), ingest_json_str(claims, "jti"));
    copy_claim(out->api_key, sizeof(out->api_key), ingest_json_str(claims, "api_key"));
    return 0;
}

int ingest_vonage_verify(const char *const *secrets, size_t nsecrets, const char *authorization,
                         const char *body, size_t len, long long now, long long window,
                         struct ingest_vonage_claims *out)
{
    unsigned char sig[64], mac[32];
    memset(out, 0, sizeof(*out));
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return RT_EINVAL;
    const char *tok = authorization + 7;
    size_t tlen = strlen(tok);
    const char *d1 = memchr(tok, '.', tlen);
    const char *d2 = d1 ? memchr(d1 + 1, '.', tlen - (size_t)(d1 + 1 - tok)) : NULL;
    if (tlen > INGEST_JWT_MAX || !d2 || d1 == tok || d2 == d1 + 1 ||
        memchr(d2 + 1, '.', tlen - (size_t)(d2 + 1 - tok)))
        return RT_EINVAL;
    json_t *hdr = segment_json(tok, (size_t)(d1 - tok));
    const char *alg = ingest_json_str(hdr, "alg");
    /* pin the algorithm: "none", RS256 with the secret as a key, etc. are refused */
    int rc = !hdr ? RT_EINVAL : (!alg || strcmp(alg, "HS256") != 0) ? RT_EAUTH : 0;
    json_decref(hdr);
    if (rc)
        return rc;
    const char *sig_s = d2 + 1;
    if (ingest_b64_decode(sig_s, tlen - (size_t)(sig_s - tok), true, sig, sizeof(sig)) != 32)
        return RT_EAUTH;
    bool ok = false;
    const void *parts[1] = {tok};
    size_t lens[1] = {(size_t)(d2 - tok)};
    for (size_t i = 0; i < nsecrets; i++) {
        if (ingest_hmac("SHA256", secrets[i], strlen(secrets[i]), parts, lens, 1, mac) == 32 &&
            ingest_ct_equal(mac, 32, sig, 32))
            ok = true;
    }
    if (!ok)
        return RT_EAUTH;
    json_t *claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
    rc = claims ? check_claims(claims, body, len, now, window, out) : RT_EINVAL;
    json_decref(claims);
    return rc;
}

struct vonage_status {
    const char *status;
    enum ingest_call_state state;
    const char *outcome;
};

static const struct vonage_status vonage_statuses[] = {
    {"started", INGEST_CALL_INITIATED, NULL},     {"ringing", INGEST_CALL_RINGING, NULL},
    {"answered", INGEST_CALL_ANSWERED, NULL},     {"busy", INGEST_CALL_ENDED, "busy"},
    {"cancelled", INGEST_CALL_ENDED, "canceled"}, {"unanswered", INGEST_CALL_ENDED, "no_answer"},
    {"timeout", INGEST_CALL_ENDED, "no_answer"},  {"rejected", INGEST_CALL_ENDED, "rejected"},
    {"failed", INGEST_CALL_ENDED, "failed"},      {"completed", INGEST_CALL_ENDED, "completed"},
};

int ingest_vonage_normalize(const char *body, size_t len, const struct ingest_vonage_claims *cl,
                            struct ingest_call *c)
{
    memset(c, 0, sizeof(*c));
    c->provider = "vonage";
    c->duration = c->seq = -1;
    json_t *root = ingest_json_object(body, len);
    const char *status = ingest_json_str(root, "status");
    const char *uuid = ingest_json_str(root, "uuid");
    const char *ts = ingest_json_str(root, "timestamp");
    const struct vonage_status *m = NULL;
    int rc = RT_EINVAL;
    if (!root)
        goto out;
    for (size_t i = 0; status && i < sizeof(vonage_statuses) / sizeof(vonage_statuses[0]); i++)
        if (strcmp(status, vonage_statuses[i].status) == 0)
            m = &vonage_statuses[i];
    if (!m) {
        rc = status ? RT_ENOENT : RT_EINVAL; /* machine, human, input events: not call states */
        goto out;
    }
    if (!uuid || !*uuid)
        goto out;
    json_t *dur = json_object_get(root, "duration");
    if (json_is_string(dur) && !ingest_parse_unix(json_string_value(dur), &c->duration))
        goto out;
    if (json_is_integer(dur))
        c->duration = json_integer_value(dur);
    /* `completed` after busy/failed arrives at an ended call and changes nothing (the stored
     * outcome stays): terminal states are absorbing in the call state script */
    c->state = m->state;
    c->outcome = m->outcome;
    bool ok = ingest_call_set(&c->call_id, uuid) &&
              ingest_call_set(&c->account, cl && cl->api_key[0] ? cl->api_key : NULL) &&
              ingest_call_set(&c->parent_id, ingest_json_str(root, "conversation_uuid")) &&
              ingest_call_set(&c->from, ingest_json_str(root, "from")) &&
              ingest_call_set(&c->to, ingest_json_str(root, "to")) &&
              ingest_call_set(&c->direction, ingest_json_str(root, "direction")) &&
              ingest_call_set(&c->provider_status, status) &&
              ingest_call_set(&c->hangup_cause, ingest_json_str(root, "detail")) &&
              ingest_call_set(&c->sip_code, ingest_json_str(root, "sip_code")) &&
              ingest_call_set_time(&c->event_time, ts);
    if (!ok)
        goto out;
    if (cl && cl->jti[0]) {
        c->dedupe = rt_xstrdup(cl->jti);
    } else {
        size_t n = strlen(uuid) + strlen(status) + (ts ? strlen(ts) : 0) + 3;
        c->dedupe = rt_xmalloc(n);
        snprintf(c->dedupe, n, "%s|%s|%s", uuid, status, ts ? ts : "");
    }
    rc = 0;
out:
    if (rc)
        ingest_call_clear(c);
    json_decref(root);
    return rc;
}
