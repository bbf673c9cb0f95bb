/* Channel subscriptions of one edge, reference-counted onto Redis: the first local subscriber of
 * rt:{tenant}:<channel> SUBSCRIBEs on a dedicated subscriber connection, the last one leaving
 * UNSUBSCRIBEs; every tab of a user shares user:<sub>. Fan-out: each Redis message is parsed
 * once, serialized once into an immutable rt_msg, and the same bytes are queued on every
 * receiving session. */
#ifndef EDGE_SUBS_H
#define EDGE_SUBS_H

#include "rt/envelope.h"
#include "rt/msg.h"
#include "streaminfo.h"

#include <stdbool.h>
#include <stddef.h>

struct edge;
struct edge_session;
struct edge_filter;
struct edge_chan;
struct edge_subs;

enum edge_sub_state {
    EDGE_SUB_WAIT_CHAN,   /* waiting for Redis to confirm SUBSCRIBE */
    EDGE_SUB_WAIT_OFFSET, /* XREVRANGE in flight; live events are held */
    EDGE_SUB_LIVE,
    EDGE_SUB_DETACHED, /* removed; kept only while a Redis reply still refers to it */
};

struct edge_held {
    struct rt_msg *msg; /* shared */
    char id[RT_STREAM_ID_MAX + 1];
};

/* One client subscription. */
struct edge_sub {
    struct edge_chan *chan;           /* borrowed; NULL once detached */
    struct edge_session *sess;        /* borrowed; NULL once detached */
    struct edge_sub *c_prev, *c_next; /* in the channel's list */
    struct edge_sub *s_next;          /* in the session's list (the session's business) */
    struct edge_filter *filter;       /* owned; NULL for none */
    enum edge_sub_state state;
    unsigned refs;          /* 1 while attached, +1 per Redis command in flight */
    char ref[65];           /* the client's ref of the subscribe, echoed in `subscribed` */
    struct edge_held *held; /* owned: events that arrived before `subscribed` went out */
    size_t nheld;
    char since[RT_STREAM_ID_MAX + 1];      /* replay from here ("" for none) */
    char offset[RT_STREAM_ID_MAX + 1];     /* newest id when the subscription became active */
    struct edge_stream_info info;          /* retention, to tell a gap from a replay */
    char live_after[RT_STREAM_ID_MAX + 1]; /* live events up to this id were already covered
                                              (replay or offset): their PUBLISH may still be on
                                              its way on the other connection; "" once past */
    bool failed;                           /* a step of the replay failed */
};

struct edge_subs *edge_subs_new(struct edge *e);
/* Call after every session is gone and after the command connection is freed. */
void edge_subs_free(struct edge_subs *ss);
/* False while the subscriber connection is not subscribed and healthy. */
bool edge_subs_ready(struct edge_subs *ss, char *reason, size_t cap);

/* Subscribes session s to Redis key `key`, shown to the client as `client_channel`. Takes the
 * filter. The session receives `subscribed` (or an error, then edge_session_sub_failed) later.
 * With `since`, every stored event after it is replayed (filtered) between `subscribed` and the
 * live events, without duplicates; if the stream no longer holds them all the session gets
 * `resync_required` instead (edge_session_sub_resync). Returns NULL (filter not taken) while
 * Redis is unavailable. */
struct edge_sub *edge_subs_add(struct edge_subs *ss, struct edge_session *s, const char *key,
                               const char *client_channel, struct edge_filter *filter,
                               const char *ref, const char *since);
/* Detaches a subscription (unsubscribe, session closed). */
void edge_subs_remove(struct edge_subs *ss, struct edge_sub *sub);
const char *edge_sub_client_channel(const struct edge_sub *sub);
/* The last id delivered on the sub's channel ("" when none): the start of a later gap fill. */
const char *edge_sub_last_id(const struct edge_sub *sub);

#endif
