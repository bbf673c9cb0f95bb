/* The normalized call model (spec/webhooks.md): one struct per accepted webhook, its event JSON,
 * and the per-call state/ordering script that publishes it to the tenant's `calls` channel and
 * to rt:calls:all (dedupe mark, state check, XADD + PUBLISH, all in one EVALSHA). */
#ifndef INGEST_CALLMODEL_H
#define INGEST_CALLMODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rt_rconn;

enum ingest_call_state {
    INGEST_CALL_INITIATED = 1,
    INGEST_CALL_RINGING = 2,
    INGEST_CALL_ANSWERED = 3,
    INGEST_CALL_ENDED = 4,
};

#define INGEST_CALL_FIELD_MAX 256 /* longer provider strings are refused as malformed */

/* Every string is owned (NULL when the provider did not send it). */
struct ingest_call {
    const char *provider; /* static: "twilio", "telnyx", "vonage", "generic" */
    char *account;        /* AccountSid, api_key, ... */
    char *call_id;        /* the leg: CallSid, call_control_id, uuid, call_id */
    char *parent_id;      /* ParentCallSid, call_session_id, conversation_uuid */
    char *from, *to, *direction;
    enum ingest_call_state state;
    const char
        *outcome; /* static; only for ENDED: completed busy no_answer canceled rejected failed */
    long long duration; /* seconds, -1 unknown */
    long long seq;      /* Twilio SequenceNumber, -1 none */
    char *provider_status;
    char *hangup_cause;
    char *sip_code;
    char *event_time;        /* as the provider sent it */
    char *dedupe;            /* dedupe identity (provider-specific parts joined); required */
    const char *alt_outcome; /* Telnyx call.hangup: the outcome used when the stored call was
                              * never answered (outcome is then "completed"); NULL otherwise */
};

void ingest_call_clear(struct ingest_call *c);
/* Copies s (bounded) into *dst; false if longer than INGEST_CALL_FIELD_MAX. NULL s leaves NULL. */
bool ingest_call_set(char **dst, const char *s);

/* "new_call", "call_update" or "call_ended" for a state. */
const char *ingest_call_event_name(enum ingest_call_state st);
const char *ingest_call_state_name(enum ingest_call_state st);

/* The event's data object (new reference). received is ISO-8601 UTC. */
json_t *ingest_call_data(const struct ingest_call *c, const char *tenant, const char *received);

/* The script text, exposed for tests. */
extern const char ingest_callmodel_script[];

struct ingest_callmodel;

struct ingest_callmodel_opts {
    unsigned long maxlen;   /* stream MAXLEN ~ */
    unsigned long maxage_s; /* age limit of the tenant's stream; 0 none */
    unsigned dedupe_ttl_s;  /* dedupe mark lifetime */
    unsigned state_ttl_s;   /* per-call state hash lifetime (refreshed on every event) */
};

/* result: 0 published (ids of the tenant and the all-calls stream), RT_EDUPLICATE (already
 * stored), RT_EEXIST (stale: older or after terminal, nothing published), RT_ECLOSED/RT_EREDIS
 * (Redis lost or failed). ids are borrowed for the callback. Runs exactly once. */
typedef void (*ingest_callmodel_fn)(int status, const char *event, const char *id, void *arg);

struct ingest_callmodel *ingest_callmodel_new(struct rt_rconn *rc,
                                              const struct ingest_callmodel_opts *opts);
void ingest_callmodel_free(struct ingest_callmodel *m);
void ingest_callmodel_on_ready(struct ingest_callmodel *m);

/* Applies one normalized event. Returns 0 (cb will run), RT_ENOTREADY (Redis down) or
 * RT_EINVAL. */
int ingest_callmodel_apply(struct ingest_callmodel *m, const char *tenant,
                           const struct ingest_call *c, const char *received,
                           ingest_callmodel_fn cb, void *arg);

#endif
