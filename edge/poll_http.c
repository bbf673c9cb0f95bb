#include "poll_http.h"
#include "users.h"
#include "auth.h"
#include "edge.h"
#include "http.h"
#include "streaminfo.h"
#include "subs.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/metrics.h"
#include "rt/naming.h"
#include "rt/rconn.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GONE_CHECK_MS 1000 /* how often held requests are checked for a client that left */

enum poll_state {
    POLL_QUERY, /* XINFO + XRANGE in flight; the replies own the poll */
    POLL_HELD,  /* waiting on a subscription; the HTTP session owns the poll */
};

struct edge_poll {
    struct edge *e;               /* borrowed */
    struct lws *wsi;              /* borrowed; NULL once the request went away */
    struct edge_http_session *hs; /* borrowed; NULL likewise */
    enum poll_state state;
    char key[RT_KEY_MAX + 8];
    char client_channel[RT_CHANNEL_MAX + 2]; /* sized like the parsed argument */
    char since[64]; /* "" when absent; validated, so at most RT_STREAM_ID_MAX */
    char tenant[RT_TENANT_MAX + 1], user[RT_USER_MAX + 1];
    char user_key[EDGE_USER_KEY_MAX]; /* counted against the user's bound while held */
    bool counted_user;
    long limit;
    long wait_s;
    bool no_hold; /* answer whatever the stream says (a second query, or draining) */
    /* POLL_QUERY */
    struct edge_stream_info info;
    bool info_failed, range_sent;
    /* POLL_HELD */
    struct edge_sub *sub;   /* attached while held; released with edge_subs_remove */
    struct rt_timer *timer; /* owned: the `wait` deadline */
    struct rt_msg **ev;     /* owned references: event frames to answer with */
    size_t nev;
    char next[64];       /* id of the last event in ev, or where the hold began */
    const char *outcome; /* static: why it is due */
    bool due, requery;
    struct edge_poll *h_prev, *h_next; /* in e->polls_held */
    struct edge_poll *due_next;        /* in e->polls_due */
};

static int reply_error(struct lws *wsi, struct edge_http_session *hs, int status, const char *code,
                       const char *message)
{
    json_t *o = json_pack("{s:s,s:s}", "error", code, "message", message);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = edge_http_reply(wsi, hs, status, "application/json", s, strlen(s));
    free(s);
    return rc;
}

static bool arg(struct lws *wsi, const char *name, char *buf, size_t cap)
{
    char tmp[512];
    const char *v = lws_get_urlarg_by_name(wsi, name, tmp, (int)sizeof(tmp));
    if (!v)
        return false;
    snprintf(buf, cap, "%s", v);
    return true;
}

static void poll_free(struct edge_poll *p)
{
    struct edge *e = p->e;
    if (p->counted_user) /* a hold that did not start */
        edge_user_release(e, p->user_key);
    if (p->hs && p->hs->poll == p)
        p->hs->poll = NULL;
    for (size_t i = 0; i < p->nev; i++)
        rt_msg_unref(p->ev[i]);
    free(p->ev);
    free(p);
    e->npolls--;
    if (e->draining)
        edge_drain_check(e);
}

static void hold(struct edge_poll *p);

/* ---- the query: XINFO STREAM + XRANGE ---- */

static void on_info(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_poll *p = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!p->range_sent) {
        poll_free(p); /* the XRANGE could not be sent: nobody else holds p */
        return;
    }
    if (!reply) {
        p->info_failed = true;
        return;
    }
    /* an error reply means "no such key": nothing trimmed yet */
    edge_stream_info_parse(reply, &p->info);
}

static json_t *entry_event(const char *client_channel, redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const char *id = entry->element[0]->str;
    redisReply *fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "e") != 0 ||
            v->type != REDIS_REPLY_STRING)
            continue;
        size_t n;
        char *full = rt_envelope_with_id(v->str, v->len, id, &n);
        json_t *env = full ? json_loadb(full, n, 0, NULL) : NULL;
        free(full);
        if (!json_is_object(env)) {
            json_decref(env);
            return NULL;
        }
        json_t *o =
            json_pack("{s:s,s:s,s:s}", "type", "event", "channel", client_channel, "id", id);
        const char *keep[] = {"event", "ts", "data"};
        for (size_t j = 0; j < 3; j++) {
            json_t *x = json_object_get(env, keep[j]);
            if (x)
                json_object_set(o, keep[j], x);
        }
        json_decref(env);
        return o;
    }
    return NULL;
}

static void on_range(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_poll *p = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!p->wsi)
        goto done;
    if (!reply || p->info_failed || reply->type != REDIS_REPLY_ARRAY) {
        reply_error(p->wsi, p->hs, 503, "internal", "storage unavailable, retry");
        goto done;
    }
    bool resync = edge_stream_info_lost(&p->info, p->since);
    if (!resync && reply->elements == 0 && p->wait_s > 0 && !p->no_hold && !p->e->draining) {
        hold(p); /* nothing yet: wait for the next event */
        return;
    }
    json_t *events = json_array();
    const char *next = p->since[0] ? p->since : "0-0";
    for (size_t i = 0; !resync && i < reply->elements; i++) {
        json_t *ev = entry_event(p->client_channel, reply->element[i]);
        if (ev) {
            json_array_append_new(events, ev);
            next = reply->element[i]->element[0]->str;
        }
    }
    json_t *o =
        json_pack("{s:o,s:s,s:b}", "events", events, "next", next, "resync_required", resync);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    edge_http_reply(p->wsi, p->hs, 200, "application/json", s, strlen(s));
    free(s);
done:
    poll_free(p);
}

/* Sends the query; on failure answers 503 and frees p. */
static void start_query(struct edge_poll *p)
{
    struct edge *e = p->e;
    char start[sizeof(p->since) + 1];
    snprintf(start, sizeof(start), "%s%s", p->since[0] ? "(" : "-", p->since);
    p->state = POLL_QUERY;
    p->info_failed = p->range_sent = false;
    memset(&p->info, 0, sizeof(p->info));
    if (rt_rconn_cmd(e->cmd, on_info, p, "XINFO STREAM %s", p->key)) {
        reply_error(p->wsi, p->hs, 503, "internal", "storage unavailable, retry");
        poll_free(p);
        return;
    }
    p->range_sent = true;
    if (rt_rconn_cmd(e->cmd, on_range, p, "XRANGE %s %s + COUNT %ld", p->key, start, p->limit)) {
        p->range_sent = false; /* on_info frees p */
        reply_error(p->wsi, p->hs, 503, "internal", "storage unavailable, retry");
        p->wsi = NULL;
        if (p->hs)
            p->hs->poll = NULL;
        p->hs = NULL;
    }
}

/* ---- held requests ---- */

static void mark_due(struct edge_poll *p, const char *outcome)
{
    struct edge *e = p->e;
    if (p->due)
        return;
    p->due = true;
    p->outcome = outcome;
    p->due_next = e->polls_due;
    e->polls_due = p;
}

static void sink_send(void *owner, struct edge_sub *sub, struct rt_msg *m, const char *id)
{
    struct edge_poll *p = owner;
    (void)sub;
    if (!id || p->nev >= (size_t)p->limit)
        return; /* `subscribed`; or a full page: the client asks again from `next` */
    p->ev = rt_xrealloc(p->ev, (p->nev + 1) * sizeof(*p->ev));
    p->ev[p->nev++] = rt_msg_ref(m);
    snprintf(p->next, sizeof(p->next), "%s", id);
    mark_due(p, "events");
}

/* The subscription could not be set up, or its replay is not a plain continuation (trimmed):
 * the stream itself answers, without holding again. */
static void sink_failed(void *owner, struct edge_sub *sub, const char *code, const char *message)
{
    struct edge_poll *p = owner;
    (void)sub;
    (void)code;
    (void)message;
    p->requery = true;
    mark_due(p, "error");
}

static void sink_resync(void *owner, struct edge_sub *sub, const char *reason)
{
    struct edge_poll *p = owner;
    (void)sub;
    (void)reason;
    p->requery = true;
    mark_due(p, "events");
}

/* A held request takes events up to its `limit`; the rest comes from `next`. */
static bool sink_fits(void *owner, size_t len)
{
    struct edge_poll *p = owner;
    (void)len;
    return p->nev < (size_t)p->limit;
}

static bool sink_drained(void *owner)
{
    struct edge_poll *p = owner;
    return !p->due && p->nev < (size_t)p->limit; /* once due it is answered, not resumed */
}

static const struct edge_sub_sink poll_sink = {.send = sink_send,
                                               .failed = sink_failed,
                                               .resync = sink_resync,
                                               .fits = sink_fits,
                                               .drained = sink_drained};

static void on_wait_timeout(void *arg)
{
    mark_due(arg, "timeout");
}

static void hold(struct edge_poll *p)
{
    struct edge *e = p->e;
    if (e->npolls_held >= (size_t)e->cfg->poll_max_held) {
        rt_metric_inc(e->stats.poll_refused);
        RT_WARN("poll.over_limit", "long poll refused: too many held requests",
                RT_LF_UINT("held", e->npolls_held));
        reply_error(p->wsi, p->hs, 429, "rate_limited",
                    "too many long polls held on this edge; retry later or without wait");
        poll_free(p);
        return;
    }
    /* a held poll is one of the user's connections (same bound as WebSocket sessions) */
    if (!edge_user_admit(e, p->tenant, p->user, p->user_key)) {
        rt_metric_inc(e->stats.poll_refused);
        RT_WARN("poll.over_user_limit", "long poll refused: too many connections for this user",
                RT_LF_STR("tenant", p->tenant));
        reply_error(p->wsi, p->hs, 429, "rate_limited",
                    "too many connections for this user; retry later or without wait");
        poll_free(p);
        return;
    }
    p->counted_user = true;
    /* without since, "nothing yet" means nothing after the newest id the stream ever had */
    const char *from = p->since[0]                           ? p->since
                       : rt_stream_id_valid(p->info.last_id) ? p->info.last_id
                                                             : "0-0";
    snprintf(p->next, sizeof(p->next), "%s", from);
    p->sub = edge_subs_add(e->subs, &poll_sink, p, p->key, p->client_channel, NULL, "", from);
    if (!p->sub) {
        reply_error(p->wsi, p->hs, 503, "internal", "storage unavailable, retry");
        poll_free(p);
        return;
    }
    p->state = POLL_HELD;
    p->hs->poll = p;
    p->timer = e->rloop.ops->timer_new(e->rloop.impl, on_wait_timeout, p);
    e->rloop.ops->timer_start(p->timer, (uint64_t)p->wait_s * 1000);
    /* our timer bounds the request, not the lws idle timeout */
    lws_set_timeout(p->wsi, NO_PENDING_TIMEOUT, 0);
    p->h_prev = NULL;
    p->h_next = e->polls_held;
    if (e->polls_held)
        e->polls_held->h_prev = p;
    e->polls_held = p;
    e->npolls_held++;
    rt_metric_set(e->stats.poll_held, (double)e->npolls_held);
}

/* Ends the held phase: the subscription (and with it, maybe, the Redis SUBSCRIBE) is released. */
static void release(struct edge_poll *p)
{
    struct edge *e = p->e;
    if (p->state != POLL_HELD)
        return;
    edge_subs_remove(e->subs, p->sub);
    p->sub = NULL;
    e->rloop.ops->timer_free(p->timer);
    p->timer = NULL;
    if (p->h_prev)
        p->h_prev->h_next = p->h_next;
    else
        e->polls_held = p->h_next;
    if (p->h_next)
        p->h_next->h_prev = p->h_prev;
    e->npolls_held--;
    rt_metric_set(e->stats.poll_held, (double)e->npolls_held);
    if (p->counted_user) {
        edge_user_release(e, p->user_key);
        p->counted_user = false;
    }
    edge_stats_poll_end(&e->stats, p->wsi ? p->outcome : "closed");
}

static void answer_held(struct edge_poll *p)
{
    size_t cap = 64 + sizeof(p->next);
    for (size_t i = 0; i < p->nev; i++)
        cap += p->ev[i]->len + 1;
    char *body = rt_xmalloc(cap), *w = body;
    w += sprintf(w, "{\"events\":[");
    for (size_t i = 0; i < p->nev; i++) {
        if (i)
            *w++ = ',';
        memcpy(w, rt_msg_payload(p->ev[i]), p->ev[i]->len); /* the event frame's JSON */
        w += p->ev[i]->len;
    }
    w += sprintf(w, "],\"next\":\"%s\",\"resync_required\":false}", p->next);
    edge_http_reply(p->wsi, p->hs, 200, "application/json", body, (size_t)(w - body));
    free(body);
}

void edge_poll_flush(struct edge *e)
{
    struct edge_poll *p;
    while ((p = e->polls_due)) {
        e->polls_due = p->due_next;
        p->due = false;
        release(p);
        if (!p->wsi) {
            poll_free(p);
        } else if (strcmp(p->outcome, "closed") == 0) {
            /* lws closes the connection on its next service; CLOSED_HTTP finds no poll */
            lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            poll_free(p);
        } else if (p->requery && !e->draining) {
            for (size_t i = 0; i < p->nev; i++)
                rt_msg_unref(p->ev[i]); /* the query from `since` brings them again */
            p->nev = 0;
            p->no_hold = true;
            start_query(p);
        } else {
            answer_held(p);
            poll_free(p);
        }
    }
}

/* libwebsockets 4.1 does not read a connection while its HTTP transaction is in progress, so it
 * never sees a client that leaves during a long poll (upstream issue 2455). A peek tells: 0 is
 * the client's FIN. Once a second per held request. */
void edge_poll_sweep(struct edge *e)
{
    uint64_t now = rt_now_ms();
    if (now - e->polls_checked_ms < GONE_CHECK_MS)
        return;
    e->polls_checked_ms = now;
    for (struct edge_poll *p = e->polls_held; p; p = p->h_next) {
        char c;
        if (p->due || !p->wsi)
            continue;
        ssize_t n = recv((int)lws_get_socket_fd(p->wsi), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            mark_due(p, "closed");
    }
}

void edge_poll_drain(struct edge *e)
{
    for (struct edge_poll *p = e->polls_held; p; p = p->h_next)
        mark_due(p, "drain");
    edge_poll_flush(e);
}

/* ---- the request ---- */

static int authorize(struct edge *e, struct lws *wsi, struct edge_http_session *hs,
                     struct rt_jwt_claims *c)
{
    static char hdr[RT_JWT_MAX_TOKEN + 64];
    enum rt_jwt_fail why = RT_JWT_OK;
    int n = lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
    int rc = -1;
    if (n <= 7 || strncasecmp(hdr, "Bearer ", 7) != 0) {
        edge_stats_auth_fail(&e->stats, "missing_token");
        reply_error(wsi, hs, 401, "unauthorized", "Authorization: Bearer <JWT> required");
    } else if (edge_auth_verify(e->auth, hdr + 7, c, &why)) {
        edge_stats_auth_fail(&e->stats, rt_jwt_fail_name(why));
        RT_WARN("auth.failed", "polling request refused",
                RT_LF_STR("reason", rt_jwt_fail_name(why)));
        reply_error(wsi, hs, 401, "unauthorized",
                    why == RT_JWT_EXPIRED ? "token expired" : "invalid token");
    } else {
        rc = 0;
    }
    memset(hdr, 0, sizeof(hdr));
    return rc;
}

/* A whole number lo..hi, or -1. */
static long number(const char *s, long lo, long hi)
{
    char *end;
    if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -1;
    long v = strtol(s, &end, 10);
    return *end || v < lo || v > hi ? -1 : v;
}

int edge_poll_start(struct edge *e, struct lws *wsi, struct edge_http_session *hs)
{
    struct rt_jwt_claims c;
    char channel[RT_CHANNEL_MAX + 2] = "", since[64] = "", limit_s[16] = "", wait_s[16] = "";
    char internal[RT_CHANNEL_MAX + 8], key[RT_KEY_MAX + 8];
    if (authorize(e, wsi, hs, &c))
        return 0;
    arg(wsi, "channel=", channel, sizeof(channel));
    enum rt_channel_kind kind = rt_name_client_channel(channel);
    if (kind == RT_CHANNEL_INVALID)
        return reply_error(wsi, hs, 400, "bad_request", "unknown or malformed channel");
    if (arg(wsi, "since=", since, sizeof(since)) && since[0] && !rt_stream_id_valid(since))
        return reply_error(wsi, hs, 400, "bad_request", "since must be a stream id");
    long limit = EDGE_POLL_DEFAULT_LIMIT, wait = 0;
    if (arg(wsi, "limit=", limit_s, sizeof(limit_s)) &&
        (limit = number(limit_s, 1, EDGE_POLL_MAX_LIMIT)) < 0)
        return reply_error(wsi, hs, 400, "bad_request", "limit must be 1-1000");
    if (arg(wsi, "wait=", wait_s, sizeof(wait_s)) &&
        (wait = number(wait_s, 0, EDGE_POLL_MAX_WAIT_S)) < 0)
        return reply_error(wsi, hs, 400, "bad_request", "wait must be 0-30 (seconds)");
    int rc = kind == RT_CHANNEL_USER ? rt_name_user_channel(internal, sizeof(internal), c.sub)
                                     : (snprintf(internal, sizeof(internal), "%s", channel), 0);
    if (rc == 0)
        rc = rt_name_key(key, sizeof(key), c.tenant, internal);
    if (rc)
        return reply_error(wsi, hs, 400, "bad_request", "channel name not allowed");
    rt_metric_inc(e->stats.poll_requests);
    struct edge_poll *p = rt_xcalloc(1, sizeof(*p));
    p->e = e;
    p->wsi = wsi;
    p->hs = hs;
    p->limit = limit;
    p->wait_s = wait;
    snprintf(p->key, sizeof(p->key), "%s", key);
    snprintf(p->client_channel, sizeof(p->client_channel), "%s", channel);
    snprintf(p->since, sizeof(p->since), "%s", since);
    snprintf(p->tenant, sizeof(p->tenant), "%s", c.tenant);
    snprintf(p->user, sizeof(p->user), "%s", c.sub);
    e->npolls++;
    hs->poll = p;
    start_query(p);
    return 0;
}

void edge_poll_detach(struct edge_http_session *hs)
{
    struct edge_poll *p = hs->poll;
    if (!p)
        return;
    hs->poll = NULL;
    p->wsi = NULL;
    p->hs = NULL;
    if (p->state == POLL_HELD && !p->due) {
        release(p);
        poll_free(p);
    } /* else the Redis reply, or the flush of this turn, frees it */
}
