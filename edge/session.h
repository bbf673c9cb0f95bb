/* One WebSocket connection of the native protocol: authentication (subprotocol, query or first
 * frame; refresh; expiry), commands, limits, the bounded outbound queue and the write path
 * (several queued frames coalesced into one write, POLLOUT only while a backlog exists). */
#ifndef EDGE_SESSION_H
#define EDGE_SESSION_H

#include "auth.h"

#include "rt/msg.h"
#include "rt/naming.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

struct edge;
struct edge_sub;

enum edge_session_state {
    EDGE_SESSION_AWAIT_AUTH, /* no token yet: only {"type":"auth"} is accepted */
    EDGE_SESSION_OPEN,
    EDGE_SESSION_CLOSING, /* a close code is set; nothing more is queued */
};

/* The per-session struct lws allocates and zeroes. */
struct edge_session {
    struct lws *wsi;                  /* borrowed */
    struct edge *e;                   /* borrowed */
    struct edge_session *prev, *next; /* in e->sessions */
    enum edge_session_state state;
    bool linked, counted_user, ping_due, close_sent, peer_closed, dirty;
    bool wait_drain; /* a replay or fill of its subscriptions waits for the queue to drain */
    struct edge_session *dirty_prev, *dirty_next; /* in e->dirty: frames to flush */
    char sid[17];
    char user[RT_USER_MAX + 1];
    char tenant[RT_TENANT_MAX + 1];
    int64_t exp_s;
    uint64_t auth_deadline_ms, last_rx_ms, last_ping_ms;
    uint64_t rate_window_ms;
    unsigned rate_count;
    struct edge_sub *subs; /* owned list (s_next) */
    unsigned nsubs;
    struct rt_msg **q; /* owned ring of shared messages */
    size_t qhead, qlen, qcap, qbytes;
    unsigned char *rx; /* owned: a fragmented inbound message being assembled */
    size_t rxlen;
    int close_code;
    char close_reason[48];

    struct edge_auth_wait auth_wait; /* queued while a token waits for a JWKS fetch */
    char *held_token;                /* owned: that token; reading is paused meanwhile */
};

int edge_session_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len);

/* Queues a shared message (takes a reference). Over the queue bound the session is closed 4008.
 * Never frees anything synchronously. */
void edge_session_send(struct edge_session *s, struct rt_msg *m);
/* Closes with a code: drops the queue, sends the close frame when writable, kills the
 * connection if that does not happen within a few seconds. */
void edge_session_close(struct edge_session *s, int code, const char *reason);

/* Writes what sessions got during this loop iteration (called from a uv_check handle). */
void edge_sessions_flush(struct edge *e);
/* Periodic checks of every session (auth deadline, token expiry, heartbeat). */
void edge_sessions_sweep(struct edge *e, unsigned slices);
/* SIGTERM: tells every session to reconnect after a jittered delay, then closes it 1001. */
void edge_sessions_drain(struct edge *e);

#endif
