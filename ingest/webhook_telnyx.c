#include "webhook_telnyx.h"
#include "eventtime.h"
#include "sigutil.h"
#include "webhook_json.h"

#include "rt/err.h"

#include <openssl/evp.h>
#include <string.h>

static const unsigned char spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                              0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

int ingest_telnyx_key_parse(const char *b64, unsigned char out[32])
{
    unsigned char buf[64];
    long n = b64 ? ingest_b64_decode(b64, strlen(b64), false, buf, sizeof(buf)) : -1;
    if (n == 32) {
        memcpy(out, buf, 32);
        return 0;
    }
    if (n == 44 && memcmp(buf, spki_prefix, sizeof(spki_prefix)) == 0) {
        memcpy(out, buf + 12, 32);
        return 0;
    }
    return RT_EINVAL;
}

static bool ed25519_ok(const unsigned char key[32], const unsigned char sig[64],
                       const unsigned char *msg, size_t len)
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
              EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

int ingest_telnyx_verify(const unsigned char (*keys)[32], size_t nkeys, const char *timestamp,
                         const char *signature, const char *body, size_t len, long long now,
                         long long window)
{
    unsigned char sig[64];
    long long ts;
    if (!timestamp || !signature || !ingest_parse_unix(timestamp, &ts) ||
        ingest_b64_decode(signature, strlen(signature), false, sig, sizeof(sig)) != 64)
        return RT_EINVAL;
    if (!ingest_in_window(ts, now, window))
        return RT_ETIMEDOUT;
    size_t tlen = strlen(timestamp);
    unsigned char *msg = rt_xmalloc(tlen + 1 + len + 1);
    memcpy(msg, timestamp, tlen);
    msg[tlen] = '|';
    memcpy(msg + tlen + 1, body, len);
    bool ok = false;
    for (size_t i = 0; i < nkeys && !ok; i++)
        ok = ed25519_ok(keys[i], sig, msg, tlen + 1 + len);
    free(msg);
    return ok ? 0 : RT_EAUTH;
}

static const char *cause_outcome(const char *cause)
{
    static const char *const map[][2] = {
        {"user_busy", "busy"},         {"no_answer", "no_answer"},
        {"timeout", "no_answer"},      {"originator_cancel", "canceled"},
        {"call_rejected", "rejected"},
    };
    for (size_t i = 0; cause && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(cause, map[i][0]) == 0)
            return map[i][1];
    return "failed";
}

int ingest_telnyx_normalize(const char *body, size_t len, struct ingest_call *c)
{
    memset(c, 0, sizeof(*c));
    c->provider = "telnyx";
    c->duration = c->seq = -1;
    json_t *root = ingest_json_object(body, len);
    json_t *data = root ? json_object_get(root, "data") : NULL;
    json_t *pl = data ? json_object_get(data, "payload") : NULL;
    const char *type = ingest_json_str(data, "event_type");
    const char *id = ingest_json_str(data, "id");
    int rc = RT_EINVAL;
    if (!json_is_object(data) || !type || !id || !*id)
        goto out;
    if (strcmp(type, "call.initiated") == 0) {
        c->state = INGEST_CALL_INITIATED;
    } else if (strcmp(type, "call.answered") == 0 || strcmp(type, "call.bridged") == 0) {
        c->state = INGEST_CALL_ANSWERED;
    } else if (strcmp(type, "call.hangup") == 0) {
        c->state = INGEST_CALL_ENDED;
        c->outcome = "completed"; /* when the stored call was answered; else by cause */
        c->alt_outcome = cause_outcome(ingest_json_str(pl, "hangup_cause"));
    } else {
        rc = RT_ENOENT;
        goto out;
    }
    if (!json_is_object(pl))
        goto out;
    const char *leg = ingest_json_str(pl, "call_control_id");
    if (!leg)
        leg = ingest_json_str(pl, "call_leg_id");
    if (!leg || !*leg)
        goto out;
    bool ok = ingest_call_set(&c->call_id, leg) &&
              ingest_call_set(&c->account, ingest_json_str(pl, "connection_id")) &&
              ingest_call_set(&c->parent_id, ingest_json_str(pl, "call_session_id")) &&
              ingest_call_set(&c->from, ingest_json_str(pl, "from")) &&
              ingest_call_set(&c->to, ingest_json_str(pl, "to")) &&
              ingest_call_set(&c->direction, ingest_json_str(pl, "direction")) &&
              ingest_call_set(&c->provider_status, type) &&
              ingest_call_set(&c->hangup_cause, ingest_json_str(pl, "hangup_cause")) &&
              ingest_call_set(&c->sip_code, ingest_json_str(pl, "sip_hangup_cause")) &&
              ingest_call_set_time(&c->event_time, ingest_json_str(data, "occurred_at")) &&
              ingest_call_set(&c->dedupe, id); /* data.id: meta.attempt changes on retries */
    rc = ok ? 0 : RT_EINVAL;
out:
    if (rc)
        ingest_call_clear(c);
    json_decref(root);
    return rc;
}
