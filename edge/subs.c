#include "subs.h"
#include "codec_native.h"
#include "edge.h"
#include "filter.h"
#include "rt/hmap.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/metrics.h"
#include "rt/rconn.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HB_INTERVAL_MS 1000
#define PAGE_MAX       500  /* entries per XRANGE of a replay or gap fill */
#define HB_DEAD_MS     6000 /* generous: a loaded loop must not flap the connection */

enum chan_rstate {
    CH_IDLE,          /* not subscribed in Redis */
    CH_SUBSCRIBING,   /* SUBSCRIBE sent */
    CH_SUBSCRIBED,    /* confirmed */
    CH_UNSUBSCRIBING, /* UNSUBSCRIBE sent; resubscribe on its reply if subscribers came back */
};

struct edge_chan {
    struct edge_subs *ss;  /* borrowed */
    char *key;             /* owned: rt:{tenant}:<channel> */
    char *client_name;     /* owned: what clients call it ("user", "db:public.calls") */
    struct edge_sub *subs; /* borrowed list */
    size_t nsubs;
    enum chan_rstate rstate;
    char last_id[RT_STREAM_ID_MAX + 1]; /* last id delivered; "" before the first */
    bool filling;                       /* a gap fill is in flight */
    unsigned long fill_gen;             /* the fill in flight; a reply of another is stale */
};

struct edge_subs {
    struct edge *e;         /* borrowed */
    struct rt_rconn *rc;    /* owned: the subscriber connection (no PING: see hb) */
    struct rt_hmap *chans;  /* owned map key -> owned struct edge_chan */
    struct rt_timer *timer; /* owned: heartbeat publish and check */
    char hb_channel[160];
    bool hb_subscribed;
    uint64_t last_hb_ms;
    size_t redis_subs;
    unsigned long req_seq;           /* stream reads sent (offset lookups, fill pages): orders them
                                        against holds let go; also the fills' generations */
    bool fill_retry;                 /* a fill failed: the timer tries again */
    size_t page;                     /* entries per page of a replay or fill */
    size_t hold_max, hold_max_bytes; /* a non-live subscription's hold: a quarter of the
                                        outbound queue bound, so it fits on top of a page */
};

/* A gap fill in flight: the channel is found again by key, and ignored unless its fill_gen is
 * still this one (it may have been freed, or the subscriber connection lost again). */
struct fill_req {
    struct edge_subs *ss; /* borrowed */
    char *key;            /* owned */
    unsigned long gen;
    char from[RT_STREAM_ID_MAX + 1];
    struct edge_stream_info info;
    bool info_failed;
    bool range_sent;
};

static uint64_t mono_ms(void)
{
    return rt_now_ms();
}

static void set_redis_count(struct edge_subs *ss, long delta)
{
    ss->redis_subs = (size_t)((long)ss->redis_subs + delta);
    rt_metric_set(ss->e->stats.subs_redis, (double)ss->redis_subs);
}

static void chan_free(struct edge_subs *ss, struct edge_chan *c)
{
    rt_hmap_del(ss->chans, c->key);
    free(c->key);
    free(c->client_name);
    free(c);
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata);

static void send_subscribe(struct edge_subs *ss, struct edge_chan *c)
{
    if (rt_rconn_cmd(ss->rc, on_sub_reply, ss, "SUBSCRIBE %s", c->key) == 0)
        c->rstate = CH_SUBSCRIBING;
    else
        c->rstate = CH_IDLE; /* READY will subscribe */
}

/* ---- offset lookup and the hand-over to live ---- */

static void held_clear(struct edge_sub *sub)
{
    for (size_t i = 0; i < sub->nheld; i++)
        rt_msg_unref(sub->held[i].msg);
    free(sub->held);
    sub->held = NULL;
    sub->nheld = sub->held_bytes = 0;
}

static void sub_unref(struct edge_sub *sub)
{
    RT_ASSERT(sub->refs > 0);
    if (--sub->refs)
        return;
    held_clear(sub);
    edge_filter_free(sub->filter);
    free(sub);
}

static void send_subscribed(struct edge_sub *sub, const char *offset)
{
    struct rt_msg *m =
        edge_native_subscribed(sub->ref[0] ? sub->ref : NULL, sub->chan->client_name, offset);
    sub->sink->send(sub->owner, sub, m, NULL);
    rt_msg_unref(m);
}

static void sub_failed(struct edge_sub *sub, const char *code, const char *message)
{
    sub->sink->failed(sub->owner, sub, code, message);
}

static void sub_resync(struct edge_sub *sub, const char *reason)
{
    sub->sink->resync(sub->owner, sub, reason);
}

static void start_fill(struct edge_subs *ss, struct edge_chan *c);

/* Reads the stream after `from` page by page (start_fill) before going live; live events are
 * still held meanwhile. */
static void enter_fill(struct edge_sub *sub, const char *from)
{
    sub->stale = false;
    sub->state = EDGE_SUB_FILL;
    if (from != sub->since)
        snprintf(sub->since, sizeof(sub->since), "%s", from);
    start_fill(sub->chan->ss, sub->chan);
}

/* The stream was read up to `cutoff` by read `seq`, and nothing was left after it: live from
 * here, the held events newer than cutoff first. Not when the lookup started before the
 * subscriber connection was lost (events after cutoff may have been missed), nor when held
 * events were let go after that read was sent (they may be newer than cutoff): then it reads
 * on from cutoff, holding again. */
static void go_live(struct edge_sub *sub, const char *cutoff, unsigned long seq)
{
    if (sub->stale || sub->dropped_seq >= seq) {
        if (sub->stale)
            sub->replay = false;
        enter_fill(sub, cutoff);
        return;
    }
    sub->state = EDGE_SUB_LIVE;
    sub->replay = false;
    /* live_after ends at the newest id sent here: a later gap fill starts after it */
    snprintf(sub->live_after, sizeof(sub->live_after), "%s", cutoff);
    for (size_t i = 0; i < sub->nheld; i++) {
        if (rt_stream_id_cmp(sub->held[i].id, sub->live_after) > 0) {
            sub->sink->send(sub->owner, sub, sub->held[i].msg, sub->held[i].id);
            memcpy(sub->live_after, sub->held[i].id, sizeof(sub->live_after));
        }
    }
    held_clear(sub);
}

static void on_offset(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_sub *sub = privdata;
    redisReply *reply = r;
    (void)ac;
    if (sub->state == EDGE_SUB_WAIT_OFFSET) {
        if (!reply || reply->type != REDIS_REPLY_ARRAY) {
            sub->failed = true;
        } else if (reply->elements == 0) {
            snprintf(sub->offset, sizeof(sub->offset), "0-0");
        } else {
            redisReply *entry = reply->element[0];
            if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1 &&
                entry->element[0]->type == REDIS_REPLY_STRING &&
                rt_stream_id_valid(entry->element[0]->str))
                snprintf(sub->offset, sizeof(sub->offset), "%s", entry->element[0]->str);
            else
                sub->failed = true;
        }
        if (!sub->since[0]) { /* no replay: done */
            if (sub->failed) {
                sub_failed(sub, "internal", "storage unavailable, retry");
            } else {
                send_subscribed(sub, sub->offset);
                go_live(sub, sub->offset, sub->req_seq);
            }
        }
    }
    sub_unref(sub);
}

static void on_since_info(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_sub *sub = privdata;
    (void)ac;
    if (sub->state == EDGE_SUB_WAIT_OFFSET) {
        if (!r)
            sub->failed = true;
        else
            edge_stream_info_parse(r, &sub->info); /* error reply: no stream yet */
    }
    sub_unref(sub);
}

/* One stored entry as an event frame for this subscriber, or NULL (filtered out, malformed). */
static struct rt_msg *replay_frame(struct edge_sub *sub, const redisReply *entry, const char **id)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    *id = entry->element[0]->str;
    const redisReply *f = entry->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING || strcmp(f->element[i]->str, "e") != 0 ||
            f->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        size_t n;
        char *full = rt_envelope_with_id(f->element[i + 1]->str, f->element[i + 1]->len, *id, &n);
        json_t *env = full ? json_loadb(full, n, 0, NULL) : NULL;
        free(full);
        struct rt_msg *m = NULL;
        const char *event = json_string_value(json_object_get(env, "event"));
        if (env &&
            (!sub->filter || edge_filter_match(sub->filter, json_object_get(env, "data"), event)))
            m = edge_native_event(sub->chan->client_name, env);
        json_decref(env);
        return m;
    }
    return NULL;
}

/* The first page of a `since` replay, after `subscribed`: as much of it as the receiver takes
 * now. At the end of the stream (a short page, all taken) it goes live; else it reads on in
 * FILL, page by page as the receiver drains. */
static void on_replay(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_sub *sub = privdata;
    redisReply *reply = r;
    (void)ac;
    if (sub->state != EDGE_SUB_WAIT_OFFSET)
        goto out;
    if (sub->failed || !reply || reply->type != REDIS_REPLY_ARRAY) {
        sub_failed(sub, "internal", "storage unavailable, retry");
        goto out;
    }
    if (edge_stream_info_lost(&sub->info, sub->since)) {
        sub_resync(sub, "offset_expired");
        goto out;
    }
    send_subscribed(sub, sub->offset);
    size_t i = 0;
    for (; i < reply->elements; i++) {
        const char *id = NULL;
        struct rt_msg *m = replay_frame(sub, reply->element[i], &id);
        if (m && !sub->sink->fits(sub->owner, m->len)) {
            rt_msg_unref(m); /* read again with the next page */
            break;
        }
        if (m) {
            sub->sink->send(sub->owner, sub, m, id);
            rt_msg_unref(m);
        }
        if (id && rt_stream_id_valid(id))
            snprintf(sub->since, sizeof(sub->since), "%s", id); /* replayed up to here */
    }
    if (i == reply->elements && reply->elements < sub->chan->ss->page) {
        go_live(sub, sub->since, sub->req_seq);
    } else {
        sub->replay = true;
        enter_fill(sub, sub->since);
    }
out:
    sub_unref(sub);
}

/* ---- reading the stream page by page: gap fills and long replays ----
 * Every subscription in FILL holds live events (from the resubscription on, after a loss of the
 * subscriber connection); one XRANGE per channel and page, from the oldest position among those
 * that drained, brings the next entries. Each gets the entries after its own position
 * (filtered), as many as it takes; at the end of the stream (a short page) it goes live with
 * the held events after the page's end. */

struct fill_entry {
    const char *id;   /* borrowed from the reply */
    json_t *env;      /* owned */
    struct rt_msg *m; /* owned; NULL when the entry is not an event */
};

static void fill_parse(struct edge_chan *c, const redisReply *entry, struct fill_entry *fe)
{
    memset(fe, 0, sizeof(*fe));
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY || !rt_stream_id_valid(entry->element[0]->str))
        return;
    fe->id = entry->element[0]->str;
    const redisReply *f = entry->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING || strcmp(f->element[i]->str, "e") != 0 ||
            f->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        size_t n;
        char *full =
            rt_envelope_with_id(f->element[i + 1]->str, f->element[i + 1]->len, fe->id, &n);
        fe->env = full ? json_loadb(full, n, 0, NULL) : NULL;
        free(full);
        if (fe->env)
            fe->m = edge_native_event(c->client_name, fe->env);
        return;
    }
}

/* One page for one subscription in FILL: the entries after its position, as long as the
 * receiver takes them (its position follows); the last page, all taken, ends it. Returns the
 * events sent. */
static size_t fill_deliver(struct edge_sub *sub, const struct fill_entry *fe, size_t n,
                           const char *end, bool last, unsigned long seq)
{
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fe[i].id || rt_stream_id_cmp(fe[i].id, sub->since) <= 0)
            continue;
        const char *event = fe[i].m ? json_string_value(json_object_get(fe[i].env, "event")) : 0;
        if (fe[i].m &&
            (!sub->filter ||
             edge_filter_match(sub->filter, json_object_get(fe[i].env, "data"), event))) {
            if (!sub->sink->fits(sub->owner, fe[i].m->len))
                return sent; /* the rest is read again once it drained */
            sub->sink->send(sub->owner, sub, fe[i].m, fe[i].id);
            sent++;
        }
        snprintf(sub->since, sizeof(sub->since), "%s", fe[i].id);
    }
    if (end[0] && rt_stream_id_cmp(end, sub->since) > 0)
        snprintf(sub->since, sizeof(sub->since), "%s", end);
    if (last)
        go_live(sub, sub->since, seq);
    return sent;
}

static void fill_free(struct fill_req *fr)
{
    free(fr->key);
    free(fr);
}

static void on_fill_info(redisAsyncContext *ac, void *r, void *privdata)
{
    struct fill_req *fr = privdata;
    (void)ac;
    if (!fr->range_sent) {
        fill_free(fr); /* the XRANGE could not be sent: nobody else holds fr */
        return;
    }
    if (!r)
        fr->info_failed = true;
    else
        edge_stream_info_parse(r, &fr->info); /* error reply: no stream (nothing trimmed) */
}

/* Applies a fill to every subscription it covers; those in FILL from an older position (they
 * entered FILL after it was sent) get another fill. */
static void fill_apply(struct edge_subs *ss, struct edge_chan *c, struct fill_req *fr,
                       const redisReply *reply)
{
    size_t n = reply->elements, nsubs = 0, k = 0;
    bool last = n < ss->page; /* a short page: nothing after it (when it was read) */
    struct fill_entry *fe = rt_xcalloc(n + 1, sizeof(*fe));
    for (size_t i = 0; i < n; i++)
        fill_parse(c, reply->element[i], &fe[i]);
    const char *end = "";
    for (size_t i = n; i > 0; i--) {
        const redisReply *e = reply->element[i - 1];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
            e->element[0]->type == REDIS_REPLY_STRING && rt_stream_id_valid(e->element[0]->str)) {
            end = e->element[0]->str;
            break;
        }
    }
    for (struct edge_sub *sub = c->subs; sub; sub = sub->c_next)
        nsubs++;
    /* the sinks may remove their subscription: walk a referenced copy of the list */
    struct edge_sub **list = rt_xcalloc(nsubs + 1, sizeof(*list));
    for (struct edge_sub *sub = c->subs; sub; sub = sub->c_next) {
        if (sub->state == EDGE_SUB_FILL && rt_stream_id_cmp(sub->since, fr->from) >= 0) {
            sub->refs++;
            list[k++] = sub;
        }
    }
    size_t resyncs = 0, gaps = 0, sent = 0;
    for (size_t i = 0; i < k; i++) {
        struct edge_sub *sub = list[i];
        bool gap = !sub->replay; /* a gap fill, not a replay read on */
        if (sub->state != EDGE_SUB_FILL) {
            ; /* removed by an earlier callback */
        } else if (edge_stream_info_lost(&fr->info, sub->since)) {
            resyncs++;
            gaps += gap;
            sub_resync(sub, "offset_expired");
        } else {
            gaps += gap;
            size_t nsent = fill_deliver(sub, fe, n, end, last, fr->gen);
            sent += gap ? nsent : 0;
        }
        sub_unref(list[i]);
    }
    free(list);
    for (size_t i = 0; i < n; i++) {
        json_decref(fe[i].env);
        rt_msg_unref(fe[i].m);
    }
    free(fe);
    if (sent)
        rt_metric_add(ss->e->stats.fill_events, (double)sent);
    if (!gaps) {
        RT_DEBUG("subs.replay_page", "replay read on from the stream", RT_LF_STR("channel", c->key),
                 RT_LF_STR("from", fr->from), RT_LF_UINT("entries", n),
                 RT_LF_UINT("subscribers", k));
        return;
    }
    edge_stats_fill(&ss->e->stats, resyncs ? "resync" : "ok");
    RT_INFO("subs.gap_filled", "channel gap filled from the stream", RT_LF_STR("channel", c->key),
            RT_LF_STR("from", fr->from), RT_LF_UINT("entries", n), RT_LF_UINT("subscribers", k),
            RT_LF_UINT("resync", resyncs));
}

static void on_fill(redisAsyncContext *ac, void *r, void *privdata)
{
    struct fill_req *fr = privdata;
    struct edge_subs *ss = fr->ss;
    const redisReply *reply = r;
    (void)ac;
    struct edge_chan *c = rt_hmap_get(ss->chans, fr->key);
    if (!c || !c->filling || c->fill_gen != fr->gen) {
        fill_free(fr); /* the channel went away or the connection was lost again */
        return;
    }
    c->filling = false;
    if (fr->info_failed || !reply || reply->type != REDIS_REPLY_ARRAY) {
        edge_stats_fill(&ss->e->stats, "failed");
        RT_WARN("subs.gap_fill_failed", "gap fill failed; retrying", RT_LF_STR("channel", c->key));
        ss->fill_retry = true;
        fill_free(fr);
        return;
    }
    fill_apply(ss, c, fr, reply);
    /* subscriptions that entered FILL from an older position meanwhile need another one */
    c = rt_hmap_get(ss->chans, fr->key);
    if (c)
        start_fill(ss, c);
    fill_free(fr);
}

/* Sends the next page for the channel's FILL subscriptions whose receivers drained (the others
 * are resumed by edge_subs_resume), if there are any and no page is in flight. */
static void start_fill(struct edge_subs *ss, struct edge_chan *c)
{
    const char *from = NULL;
    if (c->filling || c->rstate != CH_SUBSCRIBED)
        return;
    for (struct edge_sub *sub = c->subs; sub; sub = sub->c_next) {
        if (sub->state == EDGE_SUB_FILL && sub->sink->drained(sub->owner) &&
            (!from || rt_stream_id_cmp(sub->since, from) < 0))
            from = sub->since;
    }
    if (!from)
        return;
    struct fill_req *fr = rt_xcalloc(1, sizeof(*fr));
    fr->ss = ss;
    fr->key = rt_xstrdup(c->key);
    fr->gen = ++ss->req_seq;
    snprintf(fr->from, sizeof(fr->from), "%s", from);
    struct rt_rconn *rc = ss->e->cmd;
    if (rt_rconn_cmd(rc, on_fill_info, fr, "XINFO STREAM %s", c->key)) {
        fill_free(fr);
        ss->fill_retry = true;
        return;
    }
    fr->range_sent = true;
    if (rt_rconn_cmd(rc, on_fill, fr, "XRANGE %s (%s + COUNT %d", c->key, fr->from,
                     (int)ss->page)) {
        fr->range_sent = false; /* on_fill_info frees fr */
        ss->fill_retry = true;
        return;
    }
    c->filling = true;
    c->fill_gen = fr->gen;
}

/* The channel is confirmed in Redis: every event published from now on reaches us, so the
 * newest id now is an honest offset. */
static void start_offset(struct edge_subs *ss, struct edge_sub *sub)
{
    struct rt_rconn *rc = ss->e->cmd;
    const char *key = sub->chan->key;
    sub->state = EDGE_SUB_WAIT_OFFSET;
    sub->req_seq = ++ss->req_seq;
    sub->refs++;
    if (rt_rconn_cmd(rc, on_offset, sub, "XREVRANGE %s + - COUNT 1", key)) {
        sub->refs--;
        sub_failed(sub, "internal", "storage unavailable, retry");
        return;
    }
    if (!sub->since[0])
        return;
    /* pipelined on the same connection, so the replies come in this order */
    sub->refs++;
    if (rt_rconn_cmd(rc, on_since_info, sub, "XINFO STREAM %s", key)) {
        sub->refs--;
        sub->failed = true; /* on_offset answers the error when it sees no replay */
        sub->since[0] = '\0';
        return;
    }
    sub->refs++;
    if (rt_rconn_cmd(rc, on_replay, sub, "XRANGE %s (%s + COUNT %d", key, sub->since,
                     (int)ss->page)) {
        sub->refs--;
        sub->failed = true;
        sub->since[0] = '\0';
    }
}

static void chan_confirmed(struct edge_subs *ss, struct edge_chan *c)
{
    c->rstate = CH_SUBSCRIBED;
    set_redis_count(ss, 1);
    /* the fill goes first on the command connection: its reply comes before the lookups */
    start_fill(ss, c);
    struct edge_sub *next;
    for (struct edge_sub *sub = c->subs; sub; sub = next) {
        next = sub->c_next;
        if (sub->state == EDGE_SUB_WAIT_CHAN)
            start_offset(ss, sub);
    }
}

/* ---- fan-out ---- */

static uint64_t ts_ms(const char *ts)
{
    struct tm tm = {0};
    int ms = 0;
    if (!ts || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 1; /* an event without a usable ts: counted, no latency sample */
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? 1 : (uint64_t)t * 1000 + (uint64_t)ms;
}

/* Holds a live event for a subscription that is not live yet. Over the bound the hold is let
 * go, this event too: they are all in the stream, and the subscription goes live only after a
 * read sent from now on came back short (go_live), which brings them. */
static void hold(struct edge_subs *ss, struct edge_sub *sub, struct rt_msg *m, const char *id)
{
    if (sub->nheld >= ss->hold_max || sub->held_bytes + m->len > ss->hold_max_bytes) {
        RT_DEBUG("subs.hold_dropped", "live events held too long: read from the stream instead",
                 RT_LF_STR("channel", sub->chan->key), RT_LF_UINT("held", sub->nheld));
        held_clear(sub);
        sub->dropped_seq = ss->req_seq;
        return;
    }
    if ((sub->nheld & (sub->nheld - 1)) == 0) /* grows by doubling: 0, 1, 2, 4, ... */
        sub->held = rt_xrealloc(sub->held, (sub->nheld ? 2 * sub->nheld : 1) * sizeof(*sub->held));
    sub->held[sub->nheld].msg = rt_msg_ref(m);
    snprintf(sub->held[sub->nheld].id, sizeof(sub->held[0].id), "%s", id);
    sub->nheld++;
    sub->held_bytes += m->len;
}

static void fan_out(struct edge_subs *ss, const char *key, const char *payload, size_t len)
{
    struct edge_chan *c = rt_hmap_get(ss->chans, key);
    rt_metric_inc(ss->e->stats.events_in);
    if (!c || !c->subs)
        return;
    json_t *env = json_loadb(payload, len, 0, NULL);
    json_t *jid = json_object_get(env, "id");
    const char *id = json_string_value(jid);
    if (!id || !rt_stream_id_valid(id)) {
        RT_WARN("fanout.bad_event", "dropped a Redis message that is not an envelope",
                RT_LF_STR("channel", key), RT_LF_UINT("bytes", len));
        json_decref(env);
        return;
    }
    if (c->last_id[0] && rt_stream_id_cmp(id, c->last_id) <= 0) {
        json_decref(env); /* already delivered (a replayed publish) */
        return;
    }
    struct rt_msg *m = edge_native_event(c->client_name, env);
    if (!m) {
        json_decref(env);
        return;
    }
    const char *event = json_string_value(json_object_get(env, "event"));
    m->origin_ms = ts_ms(json_string_value(json_object_get(env, "ts")));
    const json_t *data = json_object_get(env, "data");
    for (struct edge_sub *sub = c->subs; sub; sub = sub->c_next) {
        if (sub->filter && !edge_filter_match(sub->filter, data, event))
            continue;
        if (sub->state != EDGE_SUB_LIVE) {
            hold(ss, sub, m, id);
            continue;
        }
        if (sub->live_after[0]) {
            if (rt_stream_id_cmp(id, sub->live_after) <= 0)
                continue; /* replayed already (the command reply overtook this PUBLISH) */
            sub->live_after[0] = '\0';
        }
        sub->sink->send(sub->owner, sub, m, id);
    }
    snprintf(c->last_id, sizeof(c->last_id), "%s", id);
    rt_msg_unref(m);
    json_decref(env);
}

/* ---- the subscriber connection ---- */

static void on_unsubscribed(struct edge_subs *ss, struct edge_chan *c)
{
    if (c->rstate == CH_SUBSCRIBED || c->rstate == CH_UNSUBSCRIBING)
        set_redis_count(ss, -1);
    c->rstate = CH_IDLE;
    if (c->nsubs)
        send_subscribe(ss, c); /* someone subscribed again while UNSUBSCRIBE was in flight */
    else
        chan_free(ss, c);
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_subs *ss = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str, *name = reply->element[1]->str;
    if (strcmp(name, ss->hb_channel) == 0) {
        if (strcmp(kind, "subscribe") == 0)
            ss->hb_subscribed = true;
        ss->last_hb_ms = mono_ms();
        return;
    }
    struct edge_chan *c = rt_hmap_get(ss->chans, name);
    if (strcmp(kind, "message") == 0) {
        redisReply *p = reply->element[2];
        if (p->type == REDIS_REPLY_STRING)
            fan_out(ss, name, p->str, p->len);
    } else if (strcmp(kind, "subscribe") == 0) {
        if (c && c->rstate == CH_SUBSCRIBING)
            chan_confirmed(ss, c);
    } else if (strcmp(kind, "unsubscribe") == 0) {
        if (c)
            on_unsubscribed(ss, c);
    }
}

static void resubscribe_one(const char *key, void *val, void *arg)
{
    struct edge_chan *c = val;
    (void)key;
    if (c->nsubs)
        send_subscribe(arg, c);
}

/* The subscriber connection is gone, and with it every event published until the channel is
 * subscribed again: live subscriptions start holding from the last id they got (the channel's
 * last id, or the cutoff of their replay if nothing newer passed since), lookups in flight will
 * need a fill too, and a fill in flight is void (its reply is ignored). */
static void mark_fill(struct edge_chan *c)
{
    c->filling = false;
    for (struct edge_sub *sub = c->subs; sub; sub = sub->c_next) {
        switch (sub->state) {
        case EDGE_SUB_LIVE: {
            const char *pos = sub->live_after[0] ? sub->live_after : c->last_id;
            sub->state = EDGE_SUB_FILL;
            snprintf(sub->since, sizeof(sub->since), "%s", pos[0] ? pos : "0-0");
            break;
        }
        case EDGE_SUB_WAIT_OFFSET:
            sub->stale = true;
            break;
        case EDGE_SUB_WAIT_CHAN: /* its lookup comes after the new SUBSCRIBE */
        case EDGE_SUB_FILL:
        case EDGE_SUB_DETACHED:
            break;
        }
    }
}

static void collect_idle(const char *key, void *val, void *arg)
{
    struct edge_chan *c = val, ***out = arg;
    (void)key;
    c->rstate = CH_IDLE;
    mark_fill(c);
    if (!c->nsubs)
        *(*out)++ = c;
}

static void retry_fill(const char *key, void *val, void *arg)
{
    (void)key;
    start_fill(arg, val);
}

static void on_state(struct rt_rconn *rc, enum rt_rconn_state st, void *arg)
{
    struct edge_subs *ss = arg;
    (void)rc;
    if (st == RT_RCONN_READY) {
        ss->last_hb_ms = mono_ms();
        ss->hb_subscribed = false;
        rt_rconn_cmd(ss->rc, on_sub_reply, ss, "SUBSCRIBE %s", ss->hb_channel);
        rt_hmap_each(ss->chans, resubscribe_one, ss);
        RT_INFO("subs.resubscribed", "subscriber connection ready",
                RT_LF_UINT("channels", rt_hmap_size(ss->chans)));
    } else if (st == RT_RCONN_BACKOFF) {
        /* the server forgot our subscriptions: every channel needs a new SUBSCRIBE */
        size_t n = rt_hmap_size(ss->chans);
        struct edge_chan **dead = rt_xcalloc(n + 1, sizeof(*dead)), **p = dead;
        rt_hmap_each(ss->chans, collect_idle, &p);
        for (struct edge_chan **q = dead; q < p; q++)
            chan_free(ss, *q);
        free(dead);
        ss->hb_subscribed = false;
        ss->redis_subs = 0;
        rt_metric_set(ss->e->stats.subs_redis, 0);
    }
}

static void on_hb_published(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)r;
    (void)privdata;
}

/* Pub/sub connections cannot PING in hiredis 0.14, so we publish to a channel of our own from
 * the command connection and expect to hear it back on the subscriber one. */
static void on_timer(void *arg)
{
    struct edge_subs *ss = arg;
    uint64_t now = mono_ms();
    if (rt_rconn_ready(ss->e->cmd))
        edge_subs_cmd_ready(ss);
    if (rt_rconn_ready(ss->rc) && rt_rconn_ready(ss->e->cmd)) {
        if (now - ss->last_hb_ms > HB_DEAD_MS) {
            RT_WARN("subs.heartbeat_lost", "subscriber connection silent; reconnecting",
                    RT_LF_UINT("silent_ms", now - ss->last_hb_ms));
            rt_rconn_reset(ss->rc);
        } else {
            rt_rconn_cmd(ss->e->cmd, on_hb_published, NULL, "PUBLISH %s 1", ss->hb_channel);
        }
    }
    ss->e->rloop.ops->timer_start(ss->timer, HB_INTERVAL_MS);
}

struct edge_subs *edge_subs_new(struct edge *e)
{
    struct edge_subs *ss = rt_xcalloc(1, sizeof(*ss));
    ss->e = e;
    ss->chans = rt_hmap_new();
    snprintf(ss->hb_channel, sizeof(ss->hb_channel), "rt:edge:hb:%s", e->instance_id);
    size_t qmax = (size_t)e->cfg->queue_max_msgs;
    ss->page = qmax / 2 > PAGE_MAX ? PAGE_MAX : qmax / 2 ? qmax / 2 : 1;
    ss->hold_max = qmax / 4 ? qmax / 4 : 1;
    ss->hold_max_bytes = (size_t)e->cfg->queue_max_bytes / 4;
    struct rt_rconn_opts ro = {.url = e->cfg->common.redis_url,
                               .client_name = "rt-edge-sub",
                               .connect_timeout_ms = 2000,
                               .ping_interval_ms = 0,
                               .backoff_min_ms = 100,
                               .backoff_max_ms = 3000,
                               .on_state = on_state,
                               .arg = ss};
    RT_ASSERT(rt_rconn_open(&ss->rc, &e->rloop, &ro) == 0); /* URL validated by config */
    ss->timer = e->rloop.ops->timer_new(e->rloop.impl, on_timer, ss);
    e->rloop.ops->timer_start(ss->timer, HB_INTERVAL_MS);
    return ss;
}

static void free_chan_cb(const char *key, void *val, void *arg)
{
    struct edge_chan *c = val;
    (void)key;
    (void)arg;
    free(c->key);
    free(c->client_name);
    free(c);
}

void edge_subs_free(struct edge_subs *ss)
{
    if (!ss)
        return;
    rt_rconn_free(ss->rc); /* no callbacks run: privdata ss stays valid meanwhile */
    ss->e->rloop.ops->timer_free(ss->timer);
    rt_hmap_each(ss->chans, free_chan_cb, NULL);
    rt_hmap_free(ss->chans);
    free(ss);
}

void edge_subs_cmd_ready(struct edge_subs *ss)
{
    if (!ss->fill_retry)
        return;
    ss->fill_retry = false; /* start_fill sets it again if it cannot send */
    rt_hmap_each(ss->chans, retry_fill, ss);
}

bool edge_subs_ready(struct edge_subs *ss, char *reason, size_t cap)
{
    if (!rt_rconn_ready(ss->rc)) {
        const char *err = rt_rconn_last_error(ss->rc);
        snprintf(reason, cap, "redis subscriber: %s", err[0] ? err : "connecting");
        return false;
    }
    if (!ss->hb_subscribed) {
        snprintf(reason, cap, "redis subscriber: subscribing");
        return false;
    }
    return true;
}

struct edge_sub *edge_subs_add(struct edge_subs *ss, const struct edge_sub_sink *sink, void *owner,
                               const char *key, const char *client_channel,
                               struct edge_filter *filter, const char *ref, const char *since)
{
    if (!rt_rconn_ready(ss->rc) || !rt_rconn_ready(ss->e->cmd))
        return NULL; /* answered at once: waiting through an outage would hold the client */
    struct edge_chan *c = rt_hmap_get(ss->chans, key);
    if (!c) {
        c = rt_xcalloc(1, sizeof(*c));
        c->ss = ss;
        c->key = rt_xstrdup(key);
        c->client_name = rt_xstrdup(client_channel);
        c->rstate = CH_IDLE;
        rt_hmap_put(ss->chans, key, c);
    }
    struct edge_sub *sub = rt_xcalloc(1, sizeof(*sub));
    sub->chan = c;
    sub->sink = sink;
    sub->owner = owner;
    sub->filter = filter;
    sub->refs = 1;
    snprintf(sub->ref, sizeof(sub->ref), "%s", ref ? ref : "");
    snprintf(sub->since, sizeof(sub->since), "%s", since ? since : "");
    sub->c_next = c->subs;
    if (c->subs)
        c->subs->c_prev = sub;
    c->subs = sub;
    c->nsubs++;
    rt_metric_add(ss->e->stats.subs_local, 1);
    sub->state = EDGE_SUB_WAIT_CHAN;
    switch (c->rstate) {
    case CH_IDLE:
        send_subscribe(ss, c);
        break;
    case CH_SUBSCRIBED:
        start_offset(ss, sub);
        break;
    case CH_SUBSCRIBING:
    case CH_UNSUBSCRIBING:
        break; /* the SUBSCRIBE confirmation (or the resubscribe after UNSUBSCRIBE) moves it */
    }
    return sub;
}

void edge_subs_resume(struct edge_subs *ss, struct edge_sub *sub)
{
    if (sub->chan && sub->state == EDGE_SUB_FILL)
        start_fill(ss, sub->chan);
}

void edge_subs_remove(struct edge_subs *ss, struct edge_sub *sub)
{
    struct edge_chan *c = sub->chan;
    if (!c)
        return;
    if (sub->c_prev)
        sub->c_prev->c_next = sub->c_next;
    else
        c->subs = sub->c_next;
    if (sub->c_next)
        sub->c_next->c_prev = sub->c_prev;
    c->nsubs--;
    rt_metric_add(ss->e->stats.subs_local, -1);
    sub->chan = NULL;
    sub->owner = NULL;
    sub->state = EDGE_SUB_DETACHED;
    if (c->nsubs == 0) {
        switch (c->rstate) {
        case CH_IDLE:
            chan_free(ss, c);
            break;
        case CH_SUBSCRIBING:
        case CH_SUBSCRIBED:
            if (rt_rconn_cmd(ss->rc, on_sub_reply, ss, "UNSUBSCRIBE %s", c->key) == 0) {
                if (c->rstate == CH_SUBSCRIBING)
                    set_redis_count(ss, 1); /* its confirmation is still to come */
                c->rstate = CH_UNSUBSCRIBING;
            }
            break;
        case CH_UNSUBSCRIBING:
            break;
        }
    }
    sub_unref(sub);
}

const char *edge_sub_client_channel(const struct edge_sub *sub)
{
    return sub->chan ? sub->chan->client_name : "";
}

const char *edge_sub_last_id(const struct edge_sub *sub)
{
    return sub->chan ? sub->chan->last_id : "";
}
