#include "callmodel.h"
#include "sigutil.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/publish.h"
#include "rt/script.h"
#include "rt/naming.h"
#include "rt/rconn.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ordering rules of the spec: apply only a higher rank (and, when the provider numbers its
 * callbacks, a higher sequence); terminal is absorbing except that a real terminal event
 * replaces rt-health's synthetic timed_out; a first event creates the call in its own state
 * (so a terminal event first creates an ended call). A refused event may still fill the
 * timestamp of its state and, after the end, duration and SIP code; it publishes nothing. */
const char ingest_callmodel_script[] =
    "-- KEYS[1]: per-call state hash; KEYS[2]: dedupe mark; KEYS[3]: rt:{tenant}:calls;\n"
    "-- KEYS[4]: rt:calls:all\n"
    "-- ARGV[1]: rank 1-4; ARGV[2]: sequence (-1 none); ARGV[3]: envelope JSON without id;\n"
    "-- ARGV[4]: envelope used instead when the call was never answered ('' none);\n"
    "-- ARGV[5]: MAXLEN ~; ARGV[6]: dedupe TTL s; ARGV[7]: state TTL s; ARGV[8]: state name;\n"
    "-- ARGV[9]: outcome ('' none); ARGV[10]: outcome of ARGV[4]; ARGV[11]: provider event time;\n"
    "-- ARGV[12]: duration (''); ARGV[13]: SIP code (''); ARGV[14]: MINID for the age limit of\n"
    "-- the tenant's stream ('0' none; rt:calls:all, read by rt-health's group, keeps MAXLEN "
    "only)\n"
    "-- Reply: {'published', tenant stream id, all-calls stream id} | {'duplicate', first id}\n"
    "--        | {'stale', stored state}\n"
    "local first = redis.call('GET', KEYS[2])\n"
    "if first then return {'duplicate', first} end\n"
    "local cur = redis.call('HMGET', KEYS[1], 'rank', 'seq', 'state')\n"
    "local rank = tonumber(cur[1]) or 0\n"
    "local seq = tonumber(cur[2]) or -1\n"
    "local nrank = tonumber(ARGV[1])\n"
    "local nseq = tonumber(ARGV[2])\n"
    "local apply\n"
    "if rank == 0 then apply = true\n"
    "elseif cur[3] == 'timed_out' then apply = (nrank == 4)\n"
    "elseif rank >= 4 then apply = false\n"
    "else apply = nrank > rank and (nseq < 0 or nseq > seq) end\n"
    "if ARGV[11] ~= '' then redis.call('HSETNX', KEYS[1], 't_' .. ARGV[8], ARGV[11]) end\n"
    "if not apply then\n"
    "  if rank >= 4 then\n"
    "    if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'duration', ARGV[12]) end\n"
    "    if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'sip_code', ARGV[13]) end\n"
    "  end\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
    "  redis.call('SET', KEYS[2], 'stale', 'NX', 'EX', ARGV[6])\n"
    "  return {'stale', cur[3] or ''}\n"
    "end\n"
    "local body, outcome = ARGV[3], ARGV[9]\n"
    "if ARGV[4] ~= '' and rank < 3 then body, outcome = ARGV[4], ARGV[10] end\n"
    "if nseq < seq then nseq = seq end\n"
    "redis.call('HSET', KEYS[1], 'rank', nrank, 'seq', nseq, 'state', ARGV[8], 'outcome', "
    "outcome)\n"
    "if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'duration', ARGV[12]) end\n"
    "if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'sip_code', ARGV[13]) end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
    "local rest = string.sub(body, 2)\n"
    "local id1 = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'e', body)\n"
    "redis.call('PUBLISH', KEYS[3], '{\"id\":\"' .. id1 .. '\",' .. rest)\n"
    "if ARGV[14] ~= '0' then redis.call('XTRIM', KEYS[3], 'MINID', '~', ARGV[14]) end\n"
    "local id2 = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'e', body)\n"
    "redis.call('PUBLISH', KEYS[4], '{\"id\":\"' .. id2 .. '\",' .. rest)\n"
    "redis.call('SET', KEYS[2], id1, 'NX', 'EX', ARGV[6])\n"
    "return {'published', id1, id2}\n";

struct ingest_callmodel {
    struct rt_rconn *rc; /* borrowed */
    struct ingest_callmodel_opts opts;
    struct rt_script script;
};

struct pending {
    ingest_callmodel_fn cb;
    void *arg;         /* borrowed */
    const char *event; /* static */
};

void ingest_call_clear(struct ingest_call *c)
{
    char **s[] = {&c->account,  &c->call_id,    &c->parent_id,       &c->from,
                  &c->to,       &c->direction,  &c->provider_status, &c->hangup_cause,
                  &c->sip_code, &c->event_time, &c->dedupe};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

bool ingest_call_set(char **dst, const char *s)
{
    if (!s)
        return true;
    size_t n = strlen(s);
    if (n > INGEST_CALL_FIELD_MAX)
        return false;
    free(*dst);
    *dst = rt_xstrndup(s, n);
    return true;
}

const char *ingest_call_event_name(enum ingest_call_state st)
{
    switch (st) {
    case INGEST_CALL_INITIATED:
        return "new_call";
    case INGEST_CALL_RINGING:
    case INGEST_CALL_ANSWERED:
        return "call_update";
    case INGEST_CALL_ENDED:
        return "call_ended";
    }
    return "call_update";
}

const char *ingest_call_state_name(enum ingest_call_state st)
{
    switch (st) {
    case INGEST_CALL_INITIATED:
        return "initiated";
    case INGEST_CALL_RINGING:
        return "ringing";
    case INGEST_CALL_ANSWERED:
        return "answered";
    case INGEST_CALL_ENDED:
        return "ended";
    }
    return "initiated";
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *ingest_call_data(const struct ingest_call *c, const char *tenant, const char *received)
{
    json_t *o = json_object();
    json_object_set_new(o, "tenant", json_string(tenant));
    json_object_set_new(o, "provider", json_string(c->provider));
    json_object_set_new(o, "account", str_or_null(c->account));
    json_object_set_new(o, "call_id", str_or_null(c->call_id));
    json_object_set_new(o, "parent_id", str_or_null(c->parent_id));
    json_object_set_new(o, "state", json_string(ingest_call_state_name(c->state)));
    json_object_set_new(o, "outcome", str_or_null(c->outcome));
    json_object_set_new(o, "from", str_or_null(c->from));
    json_object_set_new(o, "to", str_or_null(c->to));
    json_object_set_new(o, "direction", str_or_null(c->direction));
    json_object_set_new(o, "duration", c->duration >= 0 ? json_integer(c->duration) : json_null());
    json_object_set_new(o, "sequence", c->seq >= 0 ? json_integer(c->seq) : json_null());
    json_object_set_new(o, "provider_status", str_or_null(c->provider_status));
    json_object_set_new(o, "hangup_cause", str_or_null(c->hangup_cause));
    json_object_set_new(o, "sip_code", str_or_null(c->sip_code));
    json_object_set_new(o, "provider_event_time", str_or_null(c->event_time));
    json_object_set_new(o, "received_at", json_string(received));
    return o;
}

static char *envelope_text(const struct ingest_call *c, const char *tenant, const char *received,
                           const char *outcome)
{
    struct ingest_call copy = *c;
    struct rt_envelope env = {0};
    copy.outcome = outcome;
    if (rt_envelope_init(&env, "calls", ingest_call_event_name(c->state), tenant, received,
                         ingest_call_data(&copy, tenant, received)))
        return NULL;
    char *s = rt_envelope_dumps(&env, false, true);
    rt_envelope_clear(&env);
    return s;
}

static void on_reply(const redisReply *reply, void *arg)
{
    struct pending *q = arg;
    int status;
    const char *id = NULL;
    if (!reply) {
        status = RT_ECLOSED;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        RT_WARN("calls.script_error", "call state script failed", RT_LF_STR("reply", reply->str));
        status = RT_EREDIS;
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
               reply->element[0]->type != REDIS_REPLY_STRING ||
               reply->element[1]->type != REDIS_REPLY_STRING) {
        status = RT_EPROTO;
    } else {
        const char *kind = reply->element[0]->str;
        id = reply->element[1]->str;
        status = strcmp(kind, "published") == 0   ? 0
                 : strcmp(kind, "duplicate") == 0 ? RT_EDUPLICATE
                                                  : RT_EEXIST;
    }
    q->cb(status, q->event, id, q->arg);
    free(q);
}

struct ingest_callmodel *ingest_callmodel_new(struct rt_rconn *rc,
                                              const struct ingest_callmodel_opts *opts)
{
    struct ingest_callmodel *m = rt_xcalloc(1, sizeof(*m));
    m->rc = rc;
    m->opts = *opts;
    rt_script_init(&m->script, "callmodel", ingest_callmodel_script);
    return m;
}

void ingest_callmodel_free(struct ingest_callmodel *m)
{
    free(m);
}

void ingest_callmodel_on_ready(struct ingest_callmodel *m)
{
    rt_script_load(&m->script, m->rc);
}

/* "<prefix>:<provider>:<first 32 hex of SHA-256(parts)>": bounded whatever the provider sent. */
static int hashed_key(char *buf, size_t cap, const char *tenant, const char *prefix,
                      const char *provider, const char *what)
{
    unsigned char d[32];
    char hex[65], ch[RT_CHANNEL_MAX];
    ingest_sha256(what, strlen(what), d);
    ingest_hex_encode(d, 16, hex);
    snprintf(ch, sizeof(ch), "%s:%s:%s", prefix, provider, hex);
    /* rt_name_key validates channel names; these internal keys are built directly */
    int n = snprintf(buf, cap, "rt:{%s}:%s", tenant, ch);
    return n > 0 && (size_t)n < cap ? 0 : RT_E2BIG;
}

int ingest_callmodel_apply(struct ingest_callmodel *m, const char *tenant,
                           const struct ingest_call *c, const char *received,
                           ingest_callmodel_fn cb, void *arg)
{
    char kstate[RT_KEY_MAX], kdedupe[RT_KEY_MAX], kcalls[RT_KEY_MAX], dur[32] = "";
    if (!rt_name_tenant_valid(tenant) || !c->call_id || !c->dedupe || !cb)
        return RT_EINVAL;
    if (!rt_rconn_ready(m->rc))
        return RT_ENOTREADY;
    if (hashed_key(kstate, sizeof(kstate), tenant, "call", c->provider, c->call_id) ||
        hashed_key(kdedupe, sizeof(kdedupe), tenant, "dedupe:wh", c->provider, c->dedupe) ||
        rt_name_key(kcalls, sizeof(kcalls), tenant, "calls"))
        return RT_EINVAL;
    char *body = envelope_text(c, tenant, received, c->outcome);
    char *alt = c->alt_outcome ? envelope_text(c, tenant, received, c->alt_outcome) : NULL;
    if (!body || (c->alt_outcome && !alt)) {
        free(body);
        free(alt);
        return RT_EINVAL;
    }
    if (c->duration >= 0)
        snprintf(dur, sizeof(dur), "%lld", c->duration);

    struct rt_script_call *q = rt_script_call_new(&m->script, 4);
    rt_script_arg_str(q, kstate);
    rt_script_arg_str(q, kdedupe);
    rt_script_arg_str(q, kcalls);
    rt_script_arg_str(q, RT_CALLS_ALL_KEY);
    rt_script_arg_num(q, c->state);
    rt_script_arg_num(q, c->seq);
    rt_script_arg_str(q, body);
    rt_script_arg_str(q, alt);
    rt_script_arg_num(q, (long long)m->opts.maxlen);
    rt_script_arg_num(q, m->opts.dedupe_ttl_s);
    rt_script_arg_num(q, m->opts.state_ttl_s);
    rt_script_arg_str(q, ingest_call_state_name(c->state));
    rt_script_arg_str(q, c->outcome);
    rt_script_arg_str(q, c->alt_outcome);
    rt_script_arg_str(q, c->event_time);
    rt_script_arg_str(q, dur);
    rt_script_arg_str(q, c->sip_code);
    char minid[32];
    rt_stream_minid(m->opts.maxage_s, minid, sizeof(minid));
    rt_script_arg_str(q, minid);
    free(body);
    free(alt);
    struct pending *p = rt_xcalloc(1, sizeof(*p));
    *p = (struct pending){.cb = cb, .arg = arg, .event = ingest_call_event_name(c->state)};
    if (rt_script_send(q, m->rc, on_reply, p)) {
        free(p);
        return RT_ENOTREADY;
    }
    return 0;
}
