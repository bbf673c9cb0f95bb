#include "session.h"
#include "users.h"
#include "auth.h"
#include "codec_native.h"
#include "edge.h"
#include "filter.h"
#include "rt/hmap.h"
#include "listener.h"
#include "subs.h"
#include "wsframe.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KILL_AFTER_CLOSE_S 5     /* a close frame not written by then: drop the TCP connection */
#define COALESCE_MAX       65536 /* bytes gathered into one write */

static unsigned char scratch[LWS_PRE + COALESCE_MAX];

static void dirty_add(struct edge_session *s);
static void resume_if_drained(struct edge_session *s);

static uint64_t now_ms(void)
{
    return rt_now_ms();
}

static const char *state_name(enum edge_session_state st)
{
    switch (st) {
    case EDGE_SESSION_AWAIT_AUTH:
        return "await_auth";
    case EDGE_SESSION_OPEN:
        return "open";
    case EDGE_SESSION_CLOSING:
        return "closing";
    }
    return "?";
}

static void set_state(struct edge_session *s, enum edge_session_state st)
{
    RT_DEBUG("ws.state", "session state", RT_LF_STR("session", s->sid),
             RT_LF_STR("from", state_name(s->state)), RT_LF_STR("to", state_name(st)));
    s->state = st;
}

/* ---- outbound queue ---- */

static struct rt_msg *q_pop(struct edge_session *s)
{
    struct rt_msg *m = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    s->qbytes -= m->len;
    return m;
}

static void q_clear(struct edge_session *s)
{
    while (s->qlen)
        rt_msg_unref(q_pop(s));
}

static void q_push(struct edge_session *s, struct rt_msg *m)
{
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 4;
        struct rt_msg **q = rt_xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < s->qlen; i++)
            q[i] = s->q[(s->qhead + i) % s->qcap];
        free(s->q);
        s->q = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = rt_msg_ref(m);
    s->qlen++;
    s->qbytes += m->len;
}

static void close_with(struct edge_session *s, int code, const char *reason, bool flush)
{
    if (s->state == EDGE_SESSION_CLOSING)
        return;
    rt_log(code == 1000 || code == 1001 ? RT_LOG_INFO : RT_LOG_WARN, "ws.closing",
           "closing connection", RT_LF_STR("session", s->sid), RT_LF_INT("code", code),
           RT_LF_STR("reason", reason), RT_LF_STR("tenant", s->tenant[0] ? s->tenant : NULL),
           RT_LF_STR("user", s->user[0] ? s->user : NULL));
    set_state(s, EDGE_SESSION_CLOSING);
    s->close_code = code;
    snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
    if (!flush)
        q_clear(s);
    lws_callback_on_writable(s->wsi);
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, KILL_AFTER_CLOSE_S);
}

void edge_session_close(struct edge_session *s, int code, const char *reason)
{
    close_with(s, code, reason, false);
}

void edge_session_send(struct edge_session *s, struct rt_msg *m)
{
    const struct edge_config *cfg = s->e->cfg;
    if (s->state == EDGE_SESSION_CLOSING)
        return;
    if (s->qlen + 1 > (size_t)cfg->queue_max_msgs ||
        s->qbytes + m->len > (size_t)cfg->queue_max_bytes) {
        rt_metric_inc(s->e->stats.slow_closes);
        RT_WARN("ws.slow_consumer", "outbound queue over its bound", RT_LF_STR("session", s->sid),
                RT_LF_UINT("queued", s->qlen), RT_LF_UINT("queued_bytes", s->qbytes));
        edge_session_close(s, 4008, "slow consumer");
        return;
    }
    q_push(s, m);
    dirty_add(s);
}

static void send_take(struct edge_session *s, struct rt_msg *m)
{
    edge_session_send(s, m);
    rt_msg_unref(m);
}

static void send_error(struct edge_session *s, const char *ref, const char *code, const char *msg)
{
    send_take(s, edge_native_error(ref && ref[0] ? ref : NULL, code, msg));
}

/* ---- the write path ---- */

static void account(struct edge_session *s, const struct rt_msg *m, uint64_t wall)
{
    if (!m->origin_ms)
        return;
    rt_metric_inc(s->e->stats.events_out);
    if (m->origin_ms > 1 && wall >= m->origin_ms)
        rt_metric_observe(s->e->stats.latency, (double)(wall - m->origin_ms) / 1000.0);
}

/* libwebsockets 4.1 sends no close frame when a WRITEABLE callback returns -1 (it takes that
 * for a dead socket), so the close frame is written here like any other frame; the peer's
 * answering close then ends the connection (WS_PEER_INITIATED_CLOSE), or the timeout does. */
static int write_close(struct edge_session *s)
{
    unsigned char *p = scratch + LWS_PRE;
    size_t rl = strlen(s->close_reason); /* < sizeof(close_reason) <= 123 */
    if (s->close_sent)
        return 0;
    p[0] = 0x88; /* FIN, close */
    p[1] = (unsigned char)(2 + rl);
    p[2] = (unsigned char)(s->close_code >> 8);
    p[3] = (unsigned char)s->close_code;
    memcpy(p + 4, s->close_reason, rl);
    s->close_sent = true;
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_ACK, KILL_AFTER_CLOSE_S);
    return lws_write(s->wsi, p, 4 + rl, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

/* Writes the ping (if due) and as many queued frames as fit, copied into one buffer; a lone
 * frame goes out from the shared message itself, without a copy. One lws_write. */
static int write_batch(struct edge_session *s)
{
    uint64_t wall = rt_wall_ms();
    size_t n = 0, flen;
    unsigned char *out = scratch + LWS_PRE;
    if (s->ping_due) {
        /* FIN, ping, payload "rt": lws 4.1 reports no empty pong to the protocol callback */
        out[n++] = 0x89;
        out[n++] = 0x02;
        out[n++] = 'r';
        out[n++] = 't';
        s->ping_due = false;
    }
    if (n == 0 && s->qlen) {
        const unsigned char *f = edge_wsframe_bytes(s->q[s->qhead], &flen);
        if (s->qlen == 1 || flen > COALESCE_MAX / 2) {
            struct rt_msg *m = q_pop(s);
            int w = lws_write(s->wsi, (unsigned char *)f, flen, LWS_WRITE_RAW);
            account(s, m, wall);
            rt_msg_unref(m);
            if (w < 0)
                return -1;
            rt_metric_add(s->e->stats.bytes_out, (double)flen);
            return 0;
        }
    }
    while (s->qlen) {
        const unsigned char *f = edge_wsframe_bytes(s->q[s->qhead], &flen);
        if (n + flen > COALESCE_MAX)
            break;
        memcpy(out + n, f, flen);
        n += flen;
        struct rt_msg *m = q_pop(s);
        account(s, m, wall);
        rt_msg_unref(m);
    }
    if (n) {
        if (lws_write(s->wsi, out, n, LWS_WRITE_RAW) < 0)
            return -1;
        rt_metric_add(s->e->stats.bytes_out, (double)n);
    }
    return 0;
}

static int on_writeable(struct edge_session *s)
{
    if (s->state == EDGE_SESSION_CLOSING && s->qlen == 0)
        return write_close(s);
    if (write_batch(s))
        return -1;
    if (s->wait_drain)
        resume_if_drained(s);
    if (s->qlen || s->state == EDGE_SESSION_CLOSING)
        lws_callback_on_writable(s->wsi);
    return 0;
}

/* ---- the flush at the end of each loop iteration ----
 * Deliberate exception to "write only in WRITEABLE": asking lws for WRITEABLE per delivery costs
 * two epoll_ctl (POLLOUT on, then off) around every send, which dominates fan-out cost. A session
 * that got frames during this loop iteration is written here directly, once, with everything
 * it got (coalesced), as long as lws holds no unsent bytes of its own for it
 * (lws_partial_buffered); a short write is kept by lws, which then asks for POLLOUT itself.
 * Only a real backlog goes through WRITEABLE. */

static void dirty_add(struct edge_session *s)
{
    struct edge *e = s->e;
    if (s->dirty)
        return;
    s->dirty = true;
    s->dirty_prev = NULL;
    s->dirty_next = e->dirty;
    if (e->dirty)
        e->dirty->dirty_prev = s;
    e->dirty = s;
}

static void dirty_remove(struct edge_session *s)
{
    if (!s->dirty)
        return;
    if (s->dirty_prev)
        s->dirty_prev->dirty_next = s->dirty_next;
    else
        s->e->dirty = s->dirty_next;
    if (s->dirty_next)
        s->dirty_next->dirty_prev = s->dirty_prev;
    s->dirty = false;
    s->dirty_prev = s->dirty_next = NULL;
}

void edge_sessions_flush(struct edge *e)
{
    struct edge_session *s;
    while ((s = e->dirty)) {
        dirty_remove(s);
        if (s->state == EDGE_SESSION_CLOSING || s->peer_closed || (!s->qlen && !s->ping_due))
            continue;
        if (lws_partial_buffered(s->wsi)) {
            lws_callback_on_writable(s->wsi);
            continue;
        }
        if (write_batch(s)) {
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            continue;
        }
        if (s->wait_drain)
            resume_if_drained(s);
        if (s->qlen)
            lws_callback_on_writable(s->wsi);
    }
}

/* ---- authentication ---- */

static bool user_admit(struct edge_session *s)
{
    char key[EDGE_USER_KEY_MAX];
    s->counted_user = edge_user_admit(s->e, s->tenant, s->user, key);
    return s->counted_user;
}

static void user_release(struct edge_session *s)
{
    char key[EDGE_USER_KEY_MAX];
    if (!s->counted_user)
        return;
    s->counted_user = false;
    edge_user_key(key, s->tenant, s->user);
    edge_user_release(s->e, key);
}

static void auth_failed(struct edge_session *s, const char *reason, const char *close_text)
{
    edge_stats_auth_fail(&s->e->stats, reason);
    RT_WARN("auth.failed", "authentication failed", RT_LF_STR("session", s->sid),
            RT_LF_STR("reason", reason));
    edge_session_close(s, 4001, close_text);
}

static void token_drop(struct edge_session *s)
{
    edge_auth_wait_cancel(&s->auth_wait);
    if (s->held_token) {
        memset(s->held_token, 0, strlen(s->held_token));
        free(s->held_token);
        s->held_token = NULL;
    }
}

static void authenticate(struct edge_session *s, const char *token, bool may_wait);

/* The JWKS fetch a token waited for ended: decide now, with whatever keys there are. */
static void on_auth_wait(struct edge_auth_wait *w)
{
    struct edge_session *s =
        (struct edge_session *)((char *)w - offsetof(struct edge_session, auth_wait));
    char *token = s->held_token;
    s->held_token = NULL;
    lws_rx_flow_control(s->wsi, 1);
    if (s->state != EDGE_SESSION_CLOSING)
        authenticate(s, token, false);
    memset(token, 0, strlen(token));
    free(token);
}

static void authenticate(struct edge_session *s, const char *token, bool may_wait)
{
    struct rt_jwt_claims c;
    enum rt_jwt_fail why = RT_JWT_OK;
    s->auth_wait.cb = on_auth_wait;
    int rc = edge_auth_verify_or_wait(s->e->auth, token, &c, &why, may_wait ? &s->auth_wait : NULL);
    if (rc == RT_EAGAIN) {
        /* unknown kid while the JWKS is being fetched (a key rotation): hold this token, and
         * the frames after it, until the fetch ends */
        s->held_token = rt_xstrdup(token);
        lws_rx_flow_control(s->wsi, 0);
        return;
    }
    if (rc) {
        auth_failed(s, rt_jwt_fail_name(why),
                    why == RT_JWT_EXPIRED ? "token expired" : "invalid token");
        return;
    }
    if (s->state == EDGE_SESSION_OPEN) {
        if (strcmp(c.sub, s->user) != 0 || strcmp(c.tenant, s->tenant) != 0) {
            auth_failed(s, "refresh_mismatch", "token names another user or tenant");
            return;
        }
    } else {
        snprintf(s->user, sizeof(s->user), "%s", c.sub);
        snprintf(s->tenant, sizeof(s->tenant), "%s", c.tenant);
        if (!user_admit(s)) {
            rt_metric_inc(s->e->stats.closes_limit);
            edge_session_close(s, 4009, "too many connections for this user");
            return;
        }
        set_state(s, EDGE_SESSION_OPEN);
        RT_INFO("ws.authenticated", "session authenticated", RT_LF_STR("session", s->sid),
                RT_LF_STR("tenant", s->tenant), RT_LF_STR("user", s->user),
                RT_LF_STR("alg", c.alg));
    }
    s->exp_s = c.exp;
    rt_metric_inc(s->e->stats.auth_ok);
    send_take(s,
              edge_native_connected(s->sid, s->user, s->tenant, (unsigned)s->e->cfg->heartbeat_ms));
}

/* "rt.v1, rt.bearer.<JWT>": the token entry, or NULL. */
static char *subprotocol_token(char *hdr)
{
    char *save = NULL;
    for (char *p = strtok_r(hdr, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            p[--n] = '\0';
        if (strncmp(p, "rt.bearer.", 10) == 0 && p[10])
            return p + 10;
    }
    return NULL;
}

static char *handshake_token(struct lws *wsi, char *buf, size_t cap)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 &&
        lws_hdr_copy(wsi, buf, (int)cap, WSI_TOKEN_PROTOCOL) > 0) {
        char *t = subprotocol_token(buf);
        if (t)
            return t;
    }
    const char *v = lws_get_urlarg_by_name(wsi, "access_token=", buf, (int)cap);
    return v && *v ? (char *)v : NULL;
}

static void on_established(struct lws *wsi, struct edge_session *s)
{
    struct edge *e = lws_get_vhost_user(lws_get_vhost(wsi));
    static char buf[RT_JWT_MAX_TOKEN + 256];
    unsigned char rnd[8];
    s->wsi = wsi;
    s->e = e;
    lws_get_random(lws_get_context(wsi), rnd, sizeof(rnd));
    for (int i = 0; i < 8; i++)
        snprintf(s->sid + 2 * i, 3, "%02x", rnd[i]);
    s->next = e->sessions;
    if (e->sessions)
        e->sessions->prev = s;
    e->sessions = s;
    s->linked = true;
    e->nsessions++;
    rt_metric_set(e->stats.connections, (double)e->nsessions);
    s->last_rx_ms = now_ms();
    /* The first ping comes at a random point of the first interval: connections opened in a
     * burst (a deploy, a reconnect storm) would otherwise be pinged in the same sweep every
     * interval, thousands of writes in one loop turn that delay every event behind them. */
    uint64_t hb = (uint64_t)e->cfg->heartbeat_ms;
    uint64_t jitter =
        hb ? ((uint64_t)rnd[0] | (uint64_t)rnd[1] << 8 | (uint64_t)rnd[2] << 16) % hb : 0;
    s->last_ping_ms = s->last_rx_ms > jitter ? s->last_rx_ms - jitter : 0;
    s->state = EDGE_SESSION_AWAIT_AUTH;
    s->auth_deadline_ms = s->last_rx_ms + (uint64_t)e->cfg->auth_timeout_ms;
    char *taken = edge_listener_take_token(e->listener, (int)lws_get_socket_fd(wsi));
    char *token = taken ? taken : handshake_token(wsi, buf, sizeof(buf));
    if (token)
        authenticate(s, token, true);
    if (taken) {
        memset(taken, 0, strlen(taken));
        free(taken);
    }
    memset(buf, 0, sizeof(buf)); /* no token left lying around */
}

/* ---- commands ---- */

static struct edge_sub *find_sub(struct edge_session *s, const char *channel,
                                 struct edge_sub ***link)
{
    struct edge_sub **pp = &s->subs;
    for (; *pp; pp = &(*pp)->s_next) {
        if (strcmp(edge_sub_client_channel(*pp), channel) == 0)
            break;
    }
    if (link)
        *link = pp;
    return *pp;
}

static void unlink_sub(struct edge_session *s, struct edge_sub *sub)
{
    for (struct edge_sub **pp = &s->subs; *pp; pp = &(*pp)->s_next) {
        if (*pp == sub) {
            *pp = sub->s_next;
            s->nsubs--;
            return;
        }
    }
}

/* ---- the session as a subscription sink ---- */

static void sink_send(void *owner, struct edge_sub *sub, struct rt_msg *m, const char *id)
{
    (void)sub;
    (void)id;
    edge_session_send(owner, m);
}

/* A subscription could not be completed: answers an error and forgets it. */
static void sink_failed(void *owner, struct edge_sub *sub, const char *code, const char *message)
{
    struct edge_session *s = owner;
    send_error(s, sub->ref, code, message);
    unlink_sub(s, sub);
    edge_subs_remove(s->e->subs, sub);
}

/* The stream no longer holds what the subscription needs: resync_required, then forget it. */
static void sink_resync(void *owner, struct edge_sub *sub, const char *reason)
{
    struct edge_session *s = owner;
    send_take(s, edge_native_resync(edge_sub_client_channel(sub), reason));
    unlink_sub(s, sub);
    edge_subs_remove(s->e->subs, sub);
}

/* A replay or gap fill is read page by page into the outbound queue: a page is delivered up to
 * three quarters of the queue bound (the held live events, at most a quarter, fit on top), the
 * next one is read once the queue is down to a quarter; so a long replay never closes 4008. */
static bool sink_fits(void *owner, size_t len)
{
    struct edge_session *s = owner;
    const struct edge_config *cfg = s->e->cfg;
    if (s->state == EDGE_SESSION_CLOSING)
        return false;
    return s->qlen == 0 || ((s->qlen + 1) * 4 <= (size_t)cfg->queue_max_msgs * 3 &&
                            (s->qbytes + len) * 4 <= (size_t)cfg->queue_max_bytes * 3);
}

static bool below_low_mark(const struct edge_session *s)
{
    const struct edge_config *cfg = s->e->cfg;
    return s->qlen * 4 <= (size_t)cfg->queue_max_msgs &&
           s->qbytes * 4 <= (size_t)cfg->queue_max_bytes;
}

static bool sink_drained(void *owner)
{
    struct edge_session *s = owner;
    if (s->state == EDGE_SESSION_CLOSING)
        return false;
    if (below_low_mark(s))
        return true;
    s->wait_drain = true; /* the write path resumes its subscriptions */
    return false;
}

/* After writes: a replay or fill that waited for the queue to drain goes on. */
static void resume_if_drained(struct edge_session *s)
{
    if (!s->wait_drain || s->state == EDGE_SESSION_CLOSING || !below_low_mark(s))
        return;
    s->wait_drain = false;
    for (struct edge_sub *sub = s->subs; sub; sub = sub->s_next)
        edge_subs_resume(s->e->subs, sub);
}

static const struct edge_sub_sink session_sink = {.send = sink_send,
                                                  .failed = sink_failed,
                                                  .resync = sink_resync,
                                                  .fits = sink_fits,
                                                  .drained = sink_drained};

static void do_subscribe(struct edge_session *s, const struct edge_cmd *c)
{
    enum rt_channel_kind kind = rt_name_client_channel(c->channel);
    struct edge_filter *f = NULL;
    const char *why;
    char internal[RT_CHANNEL_MAX + 8], key[RT_KEY_MAX + 8];
    if (kind == RT_CHANNEL_INVALID) {
        send_error(s, c->ref, "bad_request", "unknown or malformed channel");
        return;
    }
    if (c->since && !rt_stream_id_valid(c->since)) {
        send_error(s, c->ref, "bad_request", "since must be a stream id");
        return;
    }
    if (c->filter && kind != RT_CHANNEL_DB) {
        send_error(s, c->ref, "bad_request", "filters apply to db: channels only");
        return;
    }
    if (c->filter && edge_filter_parse(c->filter, &f, &why)) {
        send_error(s, c->ref, "bad_request", why);
        return;
    }
    if (find_sub(s, c->channel, NULL)) {
        edge_filter_free(f);
        send_error(s, c->ref, "bad_request", "already subscribed to this channel");
        return;
    }
    if (s->nsubs >= (unsigned)s->e->cfg->max_subs) {
        edge_filter_free(f);
        send_error(s, c->ref, "rate_limited", "too many subscriptions on this connection");
        return;
    }
    int rc = kind == RT_CHANNEL_USER ? rt_name_user_channel(internal, sizeof(internal), s->user)
                                     : (snprintf(internal, sizeof(internal), "%s", c->channel), 0);
    if (rc == 0)
        rc = rt_name_key(key, sizeof(key), s->tenant, internal);
    if (rc) {
        edge_filter_free(f);
        send_error(s, c->ref, "bad_request", "channel name not allowed");
        return;
    }
    struct edge_sub *sub =
        edge_subs_add(s->e->subs, &session_sink, s, key, c->channel, f, c->ref, c->since);
    if (!sub) {
        edge_filter_free(f);
        send_error(s, c->ref, "internal", "storage unavailable, retry");
        return;
    }
    sub->s_next = s->subs;
    s->subs = sub;
    s->nsubs++;
}

static void do_unsubscribe(struct edge_session *s, const struct edge_cmd *c)
{
    struct edge_sub **link;
    struct edge_sub *sub = find_sub(s, c->channel, &link);
    if (!sub) {
        send_error(s, c->ref, "not_found", "not subscribed to this channel");
        return;
    }
    *link = sub->s_next;
    s->nsubs--;
    send_take(s, edge_native_unsubscribed(c->ref, c->channel));
    edge_subs_remove(s->e->subs, sub);
}

static void handle_message(struct edge_session *s, const char *buf, size_t len)
{
    struct edge_cmd c;
    const char *why = "";
    char ref[EDGE_REF_MAX + 1];
    int rc = edge_native_decode(buf, len, &c, &why, ref, sizeof(ref));
    if (s->state == EDGE_SESSION_AWAIT_AUTH && (rc || c.type != EDGE_CMD_AUTH)) {
        if (rc == 0)
            edge_native_cmd_clear(&c);
        auth_failed(s, "auth_required", "authentication required");
        return;
    }
    if (rc) {
        send_error(s, ref, "bad_request", why);
        return;
    }
    switch (c.type) {
    case EDGE_CMD_AUTH:
        authenticate(s, c.token, true);
        break;
    case EDGE_CMD_SUBSCRIBE:
        do_subscribe(s, &c);
        break;
    case EDGE_CMD_UNSUBSCRIBE:
        do_unsubscribe(s, &c);
        break;
    case EDGE_CMD_PING:
        send_take(s, edge_native_pong(c.ref));
        break;
    case EDGE_CMD_PING_TEXT:
        send_take(s, edge_native_pong_text());
        break;
    }
    edge_native_cmd_clear(&c);
}

static bool rate_ok(struct edge_session *s)
{
    uint64_t now = now_ms();
    if (now - s->rate_window_ms >= 1000) {
        s->rate_window_ms = now;
        s->rate_count = 0;
    }
    return ++s->rate_count <= (unsigned)s->e->cfg->max_msgs_per_s;
}

static void on_receive(struct lws *wsi, struct edge_session *s, const char *in, size_t len)
{
    size_t max = (size_t)s->e->cfg->max_msg_bytes;
    s->last_rx_ms = now_ms();
    if (s->state == EDGE_SESSION_CLOSING)
        return;
    if (lws_frame_is_binary(wsi)) {
        rt_metric_inc(s->e->stats.closes_limit);
        edge_session_close(s, 1008, "binary frames are not accepted");
        return;
    }
    bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (s->rxlen + len > max) {
        rt_metric_inc(s->e->stats.closes_limit);
        edge_session_close(s, 1008, "message too large");
        return;
    }
    const char *msg = in;
    size_t n = len;
    if (!final || s->rxlen) {
        s->rx = rt_xrealloc(s->rx, s->rxlen + len + 1);
        memcpy(s->rx + s->rxlen, in, len);
        s->rxlen += len;
        if (!final)
            return;
        msg = (const char *)s->rx;
        n = s->rxlen;
    }
    if (!rate_ok(s)) {
        rt_metric_inc(s->e->stats.closes_limit);
        edge_session_close(s, 4029, "rate limited");
    } else {
        handle_message(s, msg, n);
    }
    free(s->rx);
    s->rx = NULL;
    s->rxlen = 0;
}

static void on_closed(struct edge_session *s)
{
    struct edge *e = s->e;
    if (!e)
        return;
    token_drop(s);
    dirty_remove(s);
    while (s->subs) {
        struct edge_sub *sub = s->subs;
        s->subs = sub->s_next;
        edge_subs_remove(e->subs, sub);
    }
    s->nsubs = 0;
    user_release(s);
    q_clear(s);
    free(s->q);
    s->q = NULL;
    free(s->rx);
    s->rx = NULL;
    if (s->linked) {
        if (e->sweep_next == s)
            e->sweep_next = s->next;
        if (s->prev)
            s->prev->next = s->next;
        else
            e->sessions = s->next;
        if (s->next)
            s->next->prev = s->prev;
        s->linked = false;
        e->nsessions--;
        rt_metric_set(e->stats.connections, (double)e->nsessions);
    }
    RT_DEBUG("ws.closed", "connection closed", RT_LF_STR("session", s->sid));
    s->e = NULL;
    if (e->draining)
        edge_drain_check(e);
}

static int filter_connection(struct lws *wsi)
{
    struct edge *e = lws_get_vhost_user(lws_get_vhost(wsi));
    char uri[64];
    if (e->draining)
        return 1;
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0) {
        RT_DEBUG("ws.refused", "WebSocket upgrade on another path", RT_LF_STR("path", uri));
        return 1;
    }
    return 0;
}

int edge_session_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    struct edge_session *s = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter_connection(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        on_established(wsi, s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        on_receive(wsi, s, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        s->peer_closed = true;
        return s->close_sent ? -1 : 0; /* the answer to our close: nothing to echo */
    case LWS_CALLBACK_RECEIVE_PONG:
        s->last_rx_ms = now_ms();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s->e ? on_writeable(s) : -1;
    case LWS_CALLBACK_CLOSED:
        on_closed(s);
        return 0;
    default:
        return 0;
    }
}

/* ---- periodic checks and drain ---- */

static void sweep_one(struct edge_session *s, uint64_t now, int64_t now_s, uint64_t hb)
{
    switch (s->state) {
    case EDGE_SESSION_AWAIT_AUTH:
        if (now >= s->auth_deadline_ms) {
            auth_failed(s, "timeout", "authentication timeout");
            return;
        }
        break;
    case EDGE_SESSION_OPEN:
        /* the same clock-skew allowance as at connect: a token accepted within it is not
         * closed a moment later */
        if (now_s >= s->exp_s + (int64_t)s->e->cfg->jwt.leeway_s) {
            auth_failed(s, "expired_live", "token expired");
            return;
        }
        break;
    case EDGE_SESSION_CLOSING:
        return;
    }
    if (now - s->last_rx_ms > 2 * hb) {
        /* 1008 (policy): the spec reserves 1001 for the drain */
        edge_session_close(s, 1008, "heartbeat timeout");
        return;
    }
    if (now - s->last_ping_ms >= hb) {
        s->last_ping_ms = now;
        s->ping_due = true;
        dirty_add(s); /* written by the flush at the end of this loop turn */
    }
}

void edge_sessions_sweep(struct edge *e, unsigned slices)
{
    uint64_t now = now_ms(), hb = (uint64_t)e->cfg->heartbeat_ms;
    int64_t now_s = (int64_t)time(NULL);
    size_t budget = slices ? e->nsessions / slices + 1 : e->nsessions;
    struct edge_session *s = e->sweep_next ? e->sweep_next : e->sessions;
    for (; s && budget; budget--) {
        struct edge_session *next = s->next; /* sweep_one may close s, not unlink it */
        sweep_one(s, now, now_s, hb);
        s = next;
    }
    e->sweep_next = s; /* NULL: the next slice starts again at the head */
}

void edge_sessions_drain(struct edge *e)
{
    const struct edge_config *cfg = e->cfg;
    for (struct edge_session *s = e->sessions; s; s = s->next) {
        if (s->state == EDGE_SESSION_OPEN) {
            unsigned span = (unsigned)(cfg->reconnect_max_ms > cfg->reconnect_min_ms
                                           ? cfg->reconnect_max_ms - cfg->reconnect_min_ms
                                           : 0);
            unsigned r = 0;
            lws_get_random(e->lws, &r, sizeof(r));
            unsigned after = (unsigned)cfg->reconnect_min_ms + (span ? r % (span + 1) : 0);
            send_take(s, edge_native_reconnect(after));
            close_with(s, 1001, "going away", true);
        } else {
            close_with(s, 1001, "going away", false);
        }
    }
}
