#include "webhook_generic.h"
#include "eventtime.h"
#include "sigutil.h"
#include "webhook_json.h"

#include "rt/err.h"

#include <stdio.h>
#include <string.h>

static int mac_of(const char *secret, const char *timestamp, const char *body, size_t len,
                  unsigned char mac[32])
{
    const void *parts[3] = {timestamp, ".", body};
    size_t lens[3] = {strlen(timestamp), 1, len};
    return ingest_hmac("SHA256", secret, strlen(secret), parts, lens, 3, mac);
}

int ingest_generic_sign(const char *secret, const char *timestamp, const char *body, size_t len,
                        char out[68])
{
    unsigned char mac[32];
    if (mac_of(secret, timestamp, body, len, mac) != 32)
        return RT_EINVAL;
    memcpy(out, "v1=", 3);
    ingest_hex_encode(mac, 32, out + 3);
    return 0;
}

int ingest_generic_verify(const char *const *secrets, size_t nsecrets, const char *timestamp,
                          const char *signature, const char *body, size_t len, long long now,
                          long long window)
{
    unsigned char want[32], mac[32];
    long long ts;
    if (!timestamp || !signature || !ingest_parse_unix(timestamp, &ts) ||
        strncmp(signature, "v1=", 3) != 0 ||
        !ingest_hex_decode(signature + 3, strlen(signature + 3), want, sizeof(want)))
        return RT_EINVAL;
    if (!ingest_in_window(ts, now, window))
        return RT_ETIMEDOUT;
    bool ok = false;
    for (size_t i = 0; i < nsecrets; i++)
        if (mac_of(secrets[i], timestamp, body, len, mac) == 32 &&
            ingest_ct_equal(mac, 32, want, 32))
            ok = true;
    return ok ? 0 : RT_EAUTH;
}

static const struct {
    const char *status;
    enum ingest_call_state state;
    const char *outcome;
} generic_statuses[] = {
    {"initiated", INGEST_CALL_INITIATED, NULL},  {"ringing", INGEST_CALL_RINGING, NULL},
    {"answered", INGEST_CALL_ANSWERED, NULL},    {"completed", INGEST_CALL_ENDED, "completed"},
    {"busy", INGEST_CALL_ENDED, "busy"},         {"no_answer", INGEST_CALL_ENDED, "no_answer"},
    {"canceled", INGEST_CALL_ENDED, "canceled"}, {"rejected", INGEST_CALL_ENDED, "rejected"},
    {"failed", INGEST_CALL_ENDED, "failed"},
};

int ingest_generic_normalize(const char *body, size_t len, struct ingest_call *c)
{
    memset(c, 0, sizeof(*c));
    c->provider = "generic";
    c->duration = c->seq = -1;
    json_t *root = ingest_json_object(body, len);
    const char *id = ingest_json_str(root, "id");
    const char *call = ingest_json_str(root, "call_id");
    const char *status = ingest_json_str(root, "status");
    json_t *dur = root ? json_object_get(root, "duration") : NULL;
    json_t *seq = root ? json_object_get(root, "sequence") : NULL;
    int rc = RT_EINVAL;
    if (!id || !*id || !call || !*call || !status)
        goto out;
    if ((dur && !json_is_integer(dur)) || (seq && !json_is_integer(seq)))
        goto out;
    c->duration = dur && json_integer_value(dur) >= 0 ? json_integer_value(dur) : -1;
    c->seq = seq && json_integer_value(seq) >= 0 ? json_integer_value(seq) : -1;
    for (size_t i = 0; i < sizeof(generic_statuses) / sizeof(generic_statuses[0]); i++) {
        if (strcmp(status, generic_statuses[i].status) == 0) {
            c->state = generic_statuses[i].state;
            c->outcome = generic_statuses[i].outcome;
        }
    }
    if (!c->state)
        goto out;
    bool ok = ingest_call_set(&c->call_id, call) && ingest_call_set(&c->dedupe, id) &&
              ingest_call_set(&c->account, ingest_json_str(root, "account")) &&
              ingest_call_set(&c->parent_id, ingest_json_str(root, "parent_id")) &&
              ingest_call_set(&c->from, ingest_json_str(root, "from")) &&
              ingest_call_set(&c->to, ingest_json_str(root, "to")) &&
              ingest_call_set(&c->direction, ingest_json_str(root, "direction")) &&
              ingest_call_set(&c->provider_status, status) &&
              ingest_call_set(&c->hangup_cause, ingest_json_str(root, "hangup_cause")) &&
              ingest_call_set(&c->sip_code, ingest_json_str(root, "sip_code")) &&
              ingest_call_set_time(&c->event_time, ingest_json_str(root, "timestamp"));
    rc = ok ? 0 : RT_EINVAL;
out:
    if (rc)
        ingest_call_clear(c);
    json_decref(root);
    return rc;
}
