#include "codec_native.h"
#include "wsframe.h"

#include "rt/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct rt_msg *frame(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    RT_ASSERT(s);
    return edge_wsframe_text_take(s);
}

static const char *opt_str(json_t *root, const char *key, bool *bad)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

static int read_ref(json_t *root, struct edge_cmd *cmd, const char **why)
{
    json_t *v = json_object_get(root, "ref");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > EDGE_REF_MAX) {
        *why = "ref must be a string of at most 64 bytes";
        return RT_EINVAL;
    }
    cmd->ref = json_string_value(v);
    return 0;
}

static int decode_fields(struct edge_cmd *cmd, const char *type, const char **why)
{
    bool bad = false;
    json_t *root = cmd->root;
    if (strcmp(type, "auth") == 0) {
        cmd->type = EDGE_CMD_AUTH;
        cmd->token = opt_str(root, "token", &bad);
        if (!cmd->token || bad) {
            *why = "auth needs a token string";
            return RT_EINVAL;
        }
        return 0;
    }
    if (strcmp(type, "subscribe") == 0 || strcmp(type, "unsubscribe") == 0) {
        cmd->type = type[0] == 's' ? EDGE_CMD_SUBSCRIBE : EDGE_CMD_UNSUBSCRIBE;
        cmd->channel = opt_str(root, "channel", &bad);
        if (cmd->type == EDGE_CMD_SUBSCRIBE) {
            cmd->filter = opt_str(root, "filter", &bad);
            cmd->since = opt_str(root, "since", &bad);
        }
        if (!cmd->channel || bad) {
            *why = "channel, filter and since must be strings; channel is required";
            return RT_EINVAL;
        }
        return 0;
    }
    if (strcmp(type, "ping") == 0) {
        cmd->type = EDGE_CMD_PING;
        return 0;
    }
    *why = "unknown message type";
    return RT_EINVAL;
}

int edge_native_decode(const char *buf, size_t len, struct edge_cmd *cmd, const char **why,
                       char *refbuf, size_t refcap)
{
    memset(cmd, 0, sizeof(*cmd));
    refbuf[0] = '\0';
    if (len == 4 && memcmp(buf, "ping", 4) == 0) {
        cmd->type = EDGE_CMD_PING_TEXT;
        return 0;
    }
    json_error_t jerr;
    cmd->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(cmd->root)) {
        *why = cmd->root ? "message must be a JSON object" : "malformed JSON";
        edge_native_cmd_clear(cmd);
        return RT_EPARSE;
    }
    int rc = read_ref(cmd->root, cmd, why);
    if (rc == 0) {
        if (cmd->ref)
            snprintf(refbuf, refcap, "%s", cmd->ref);
        json_t *t = json_object_get(cmd->root, "type");
        if (!json_is_string(t)) {
            *why = "type must be a string";
            rc = RT_EINVAL;
        } else {
            rc = decode_fields(cmd, json_string_value(t), why);
        }
    }
    if (rc)
        edge_native_cmd_clear(cmd);
    return rc;
}

void edge_native_cmd_clear(struct edge_cmd *cmd)
{
    json_decref(cmd->root);
    memset(cmd, 0, sizeof(*cmd));
}

static json_t *with_ref(const char *type, const char *ref)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    if (ref)
        json_object_set_new(o, "ref", json_string(ref));
    return o;
}

struct rt_msg *edge_native_connected(const char *session, const char *user, const char *tenant,
                                     unsigned heartbeat_ms)
{
    return frame(json_pack("{s:s,s:s,s:s,s:s,s:I,s:i}", "type", "connected", "session", session,
                           "user", user, "tenant", tenant, "heartbeat_ms", (json_int_t)heartbeat_ms,
                           "protocol", 1));
}

struct rt_msg *edge_native_subscribed(const char *ref, const char *channel, const char *offset)
{
    json_t *o = with_ref("subscribed", ref);
    json_object_set_new(o, "channel", json_string(channel));
    json_object_set_new(o, "offset", json_string(offset));
    return frame(o);
}

struct rt_msg *edge_native_unsubscribed(const char *ref, const char *channel)
{
    json_t *o = with_ref("unsubscribed", ref);
    json_object_set_new(o, "channel", json_string(channel));
    return frame(o);
}

struct rt_msg *edge_native_error(const char *ref, const char *code, const char *message)
{
    json_t *o = with_ref("error", ref);
    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "message", json_string(message));
    return frame(o);
}

struct rt_msg *edge_native_pong(const char *ref)
{
    return frame(with_ref("pong", ref));
}

struct rt_msg *edge_native_pong_text(void)
{
    return edge_wsframe_text("pong", 4);
}

struct rt_msg *edge_native_reconnect(unsigned after_ms)
{
    return frame(json_pack("{s:s,s:I}", "type", "reconnect", "after_ms", (json_int_t)after_ms));
}

struct rt_msg *edge_native_resync(const char *channel, const char *reason)
{
    return frame(json_pack("{s:s,s:s,s:s}", "type", "resync_required", "channel", channel, "reason",
                           reason));
}

struct rt_msg *edge_native_event(const char *channel, const json_t *env)
{
    json_t *id = json_object_get(env, "id"), *data = json_object_get(env, "data");
    if (!json_is_string(id) || !json_is_object(data))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("event"));
    json_object_set_new(o, "channel", json_string(channel));
    json_object_set(o, "id", id);
    json_t *ev = json_object_get(env, "event"), *ts = json_object_get(env, "ts");
    if (ev)
        json_object_set(o, "event", ev);
    if (ts)
        json_object_set(o, "ts", ts);
    json_object_set(o, "data", data);
    struct rt_msg *m = frame(o);
    /* an event (counted in rt_edge_events_out_total) whose creation time is not known yet: the
     * live path sets it from `ts`; replayed and gap-filled events keep 1, no latency sample */
    if (m)
        m->origin_ms = 1;
    return m;
}
