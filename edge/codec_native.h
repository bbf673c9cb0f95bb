/* The native protocol (spec/protocol.md): client frames to commands, server messages to frames.
 * Knows nothing of sessions, auth or subscriptions, so another protocol (Socket.IO, Supabase)
 * is a sibling codec feeding the same commands. */
#ifndef EDGE_CODEC_NATIVE_H
#define EDGE_CODEC_NATIVE_H

#include "rt/msg.h"

#include <jansson.h>
#include <stddef.h>

enum edge_cmd_type {
    EDGE_CMD_AUTH,
    EDGE_CMD_SUBSCRIBE,
    EDGE_CMD_UNSUBSCRIBE,
    EDGE_CMD_PING,      /* {"type":"ping"} */
    EDGE_CMD_PING_TEXT, /* the plain text frame "ping" */
};

#define EDGE_REF_MAX 64

struct edge_cmd {
    enum edge_cmd_type type;
    const char *ref;     /* borrowed from root; NULL when absent */
    const char *channel; /* subscribe, unsubscribe */
    const char *filter;  /* subscribe; NULL when absent */
    const char *since;   /* subscribe; NULL when absent */
    const char *token;   /* auth */
    json_t *root;        /* owned; NULL for PING_TEXT */
};

/* Decodes one text message. Returns 0 (release with edge_native_cmd_clear) or RT_EPARSE
 * (not JSON / not an object) or RT_EINVAL (unknown type, missing or mistyped field); then *why
 * is a static message and *ref the ref if one could be read (copied into refbuf). */
int edge_native_decode(const char *buf, size_t len, struct edge_cmd *cmd, const char **why,
                       char *refbuf, size_t refcap);
void edge_native_cmd_clear(struct edge_cmd *cmd);

/* Server messages, each a complete WebSocket text frame. ref may be NULL. */
struct rt_msg *edge_native_connected(const char *session, const char *user, const char *tenant,
                                     unsigned heartbeat_ms);
struct rt_msg *edge_native_subscribed(const char *ref, const char *channel, const char *offset);
struct rt_msg *edge_native_unsubscribed(const char *ref, const char *channel);
struct rt_msg *edge_native_error(const char *ref, const char *code, const char *message);
struct rt_msg *edge_native_pong(const char *ref);
struct rt_msg *edge_native_pong_text(void);
struct rt_msg *edge_native_reconnect(unsigned after_ms);
struct rt_msg *edge_native_resync(const char *channel, const char *reason);
/* An event for client channel name `channel` from a parsed envelope (id, event, ts, data are
 * read; tenant is left out). NULL if the envelope lacks id or data. */
struct rt_msg *edge_native_event(const char *channel, const json_t *env);

#endif
