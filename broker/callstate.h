/* Call state in Redis: parsing call events, and the scripts that apply them, list and emit
 * timeouts, and read a tenant's figures. The state lives only in Redis (a standby or a restarted
 * process continues from it); this module holds the script hashes and builds the commands. */
#ifndef HEALTH_CALLSTATE_H
#define HEALTH_CALLSTATE_H

#include "config.h"
#include "rates.h"
#include "webhooks_seen.h"

#include "rt/envelope.h"
#include "rt/naming.h"
#include "rt/rconn.h"
#include "rt/script.h"

#include <stdbool.h>
#include <stdint.h>

#define HEALTH_CALL_ID_MAX 128
#define HEALTH_DUE_KEY     "rt:health:due"
#define HEALTH_TENANTS_KEY "rt:health:tenants"

enum health_script {
    HEALTH_SCRIPT_APPLY,
    HEALTH_SCRIPT_DUE,
    HEALTH_SCRIPT_TIMEOUT,
    HEALTH_SCRIPT_REPORT,
    HEALTH_SCRIPT_COUNT,
};

/* One call event of rt:calls:all, as the apply script needs it. */
struct health_event {
    char tenant[RT_TENANT_MAX + 1];
    char call_id[HEALTH_CALL_ID_MAX + 1];
    char state[16];                         /* initiated, ringing, answered, ended */
    int rank;                               /* 1-4 */
    int outcome;                            /* enum health_outcome when rank 4, else -1 */
    uint64_t ev_ms;                         /* envelope ts */
    char provider[HEALTH_PROVIDER_MAX + 1]; /* "" when not from a webhook */
    uint64_t received_ms;                   /* data.received_at, else ts */
    long long lag_ms;                       /* received minus data.occurred_at; -1 unknown */
};

/* Parses the stored envelope text (field "e" of a stream entry). Returns 0, RT_ENOENT (valid
 * envelope but not a call event rt-health applies, e.g. call_timeout) or RT_EINVAL/RT_EPARSE. */
int health_event_parse(const char *json, size_t len, struct health_event *ev);

/* "2026-11-23T16:00:00.123Z" (more or fewer fraction digits allowed) to Unix ms; 0 or
 * RT_EINVAL. */
int health_ts_parse_ms(const char *ts, uint64_t *out);
/* Unix ms to "2026-11-23T16:00:00.123Z" (cap at least 32). */
void health_ts_format_ms(uint64_t ms, char *buf, size_t cap);

struct health_callstate;

struct health_callstate *health_callstate_new(const struct health_config *cfg);
void health_callstate_free(struct health_callstate *cs);
/* SCRIPT LOAD of every script; call on every READY of each connection that runs them, before
 * the first EVALSHA (pipelined ahead of it). A flushed script cache is handled by rt_script. */
void health_callstate_load(struct health_callstate *cs, struct rt_rconn *rc);

#define HEALTH_APPLY_MAX 256 /* events per apply script call */

/* The events of one apply script call, in stream order. */
struct health_apply_item {
    char sid[RT_STREAM_ID_MAX + 1];
    struct health_event ev;
};

struct health_apply_batch {
    size_t n;
    struct health_apply_item items[HEALTH_APPLY_MAX];
};

/* Adds one event (n must be below HEALTH_APPLY_MAX). */
void health_apply_batch_add(struct health_apply_batch *b, const char *sid,
                            const struct health_event *ev);
/* Applies a batch as consumer `consumer` of the group (reply: an array with one integer per
 * event in batch order, see the apply script). The batch is copied into the command at once.
 * Returns 0 (cb will run) or RT_ENOTREADY. */
int health_callstate_apply(struct health_callstate *cs, struct rt_rconn *rc,
                           const struct health_apply_batch *b, const char *consumer,
                           rt_script_fn cb, void *arg);
/* Lists due calls that the consumer group has caught up with (reply: flat array of 6 strings
 * per call, see the due script). */
int health_callstate_due(struct health_callstate *cs, struct rt_rconn *rc, uint64_t now_ms,
                         unsigned limit, rt_script_fn cb, void *arg);
/* One call_timeout to emit, as the due scan saw the call (strings borrowed). */
struct health_timeout_req {
    const char *tenant, *call_id;
    const char *state;   /* the call's state at the scan; the script refuses if it changed */
    const char *started; /* the call's start (ms, as stored); likewise */
    const char *body;    /* the call_timeout envelope without id */
};

/* Times a call out in one script: re-checks it is live, due and that the group applied every
 * call event up to its deadline, then publishes the event (deduplicated) and marks the call.
 * Reply: {1, id, published}, {0} not due any more, {-1} not yet. */
int health_callstate_timeout(struct health_callstate *cs, struct rt_rconn *rc,
                             const struct health_timeout_req *q, uint64_t now_ms, rt_script_fn cb,
                             void *arg);

/* A tenant's figures as read by the report script, then completed by health_report_finish. */
struct health_report {
    char tenant[RT_TENANT_MAX + 1];
    uint64_t now_ms;
    long long active_calls, total_calls;
    long long buckets[HEALTH_RATE_MINUTES][HEALTH_OUTCOME_COUNT];
    struct health_webhook webhooks[HEALTH_MAX_PROVIDERS];
    size_t nwebhooks;
};

/* status: 0 with r filled (borrowed for the callback), RT_ECLOSED or RT_EREDIS with r NULL. */
typedef void (*health_report_fn)(int status, struct health_report *r, void *arg);

/* Reads one tenant's figures; cb runs exactly once when 0 is returned. */
int health_callstate_report(struct health_callstate *cs, struct rt_rconn *rc, const char *tenant,
                            uint64_t now_ms, health_report_fn cb, void *arg);

#endif
