/* Channel subscriptions of one edge, reference-counted onto Redis: the first local subscriber of
 * rt:{tenant}:<channel> SUBSCRIBEs on a dedicated subscriber connection, the last one leaving
 * UNSUBSCRIBEs; every tab of a user shares user:<sub>. Fan-out: each Redis message is parsed
 * once, serialized once into an immutable rt_msg, and the same bytes are queued on every
 * receiving subscriber (a WebSocket session or a held long-poll request, through its sink).
 * Replay and recovery: a `since` replay, and the gap after the subscriber connection was lost,
 * are read from the stream in pages (XRANGE after the last id sent), each page only once the
 * receiver drained, while live events are held (boundedly) until the reading reaches the end. */
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
struct edge_sub;

enum edge_sub_state {
    EDGE_SUB_WAIT_CHAN,   /* waiting for Redis to confirm SUBSCRIBE */
    EDGE_SUB_WAIT_OFFSET, /* XREVRANGE in flight; live events are held */
    EDGE_SUB_LIVE,
    EDGE_SUB_FILL,     /* reading the stream after `since` page by page (a `since` replay past
                          its first page, or the gap after Redis was lost); live events are held
                          meanwhile */
    EDGE_SUB_DETACHED, /* removed; kept only while a Redis reply still refers to it */
};

struct edge_held {
    struct rt_msg *msg; /* shared */
    char id[RT_STREAM_ID_MAX + 1];
};

/* Where a subscription's frames go. Every callback may run from inside the fan-out loop: it must
 * not remove other subscriptions; failed and resync may remove `sub` itself (edge_subs_remove)
 * or leave that for later, when the subscription stops receiving only once it is removed. */
struct edge_sub_sink {
    /* one frame: `subscribed` (id NULL) or an event with its stream id */
    void (*send)(void *owner, struct edge_sub *sub, struct rt_msg *m, const char *id);
    void (*failed)(void *owner, struct edge_sub *sub, const char *code, const char *message);
    void (*resync)(void *owner, struct edge_sub *sub, const char *reason);
    /* Backpressure of a replay or gap fill, read from the stream page by page. fits: may a frame
     * of `len` bytes be queued now (below the owner's high mark)? A page is delivered up to the
     * first frame that does not fit; the rest is read again later. drained: may the next page be
     * read now (below the low mark)? When it said no, the owner calls edge_subs_resume() once it
     * has drained. */
    bool (*fits)(void *owner, size_t len);
    bool (*drained)(void *owner);
};

/* One client subscription. */
struct edge_sub {
    struct edge_chan *chan;           /* borrowed; NULL once detached */
    const struct edge_sub_sink *sink; /* static */
    void *owner;                      /* borrowed: the session or poll; NULL once detached */
    struct edge_sub *c_prev, *c_next; /* in the channel's list */
    struct edge_sub *s_next;          /* in the session's list (the session's business) */
    struct edge_filter *filter;       /* owned; NULL for none */
    enum edge_sub_state state;
    unsigned refs;          /* 1 while attached, +1 per Redis command in flight */
    char ref[65];           /* the client's ref of the subscribe, echoed in `subscribed` */
    struct edge_held *held; /* owned: live events that arrived while it was not live */
    size_t nheld, held_bytes;
    unsigned long req_seq;     /* the stream read (offset lookup) this subscription waits for */
    unsigned long dropped_seq; /* the newest read sent when its hold was last let go ("0": never):
                                  only a read sent after that covers the events let go */
    char since[RT_STREAM_ID_MAX + 1];      /* replay (or, in FILL, fill) from here ("" for none) */
    char offset[RT_STREAM_ID_MAX + 1];     /* newest id when the subscription became active */
    struct edge_stream_info info;          /* retention, to tell a gap from a replay */
    char live_after[RT_STREAM_ID_MAX + 1]; /* live events up to this id were already covered
                                              (replay or offset): their PUBLISH may still be on
                                              its way on the other connection; "" once past */
    bool failed;                           /* a step of the replay failed */
    bool stale;  /* its offset lookup started before the subscriber connection was lost: it goes
                    to FILL instead of live */
    bool replay; /* in FILL to continue a `since` replay, not a gap fill (not counted as one) */
};

struct edge_subs *edge_subs_new(struct edge *e);
/* Call after every session is gone and after the command connection is freed. */
void edge_subs_free(struct edge_subs *ss);
/* The command connection is ready (again): gap fills that could not be sent go now. */
void edge_subs_cmd_ready(struct edge_subs *ss);
/* False while the subscriber connection is not subscribed and healthy. */
bool edge_subs_ready(struct edge_subs *ss, char *reason, size_t cap);

/* Subscribes `owner` (through `sink`) to Redis key `key`, shown to the client as
 * `client_channel`. Takes the filter. The sink gets `subscribed` (or failed) later. With `since`,
 * every stored event after it is replayed (filtered) between `subscribed` and the live events,
 * without duplicates; if the stream no longer holds them all the sink gets resync instead.
 * Returns NULL (filter not taken) while Redis is unavailable. */
struct edge_sub *edge_subs_add(struct edge_subs *ss, const struct edge_sub_sink *sink, void *owner,
                               const char *key, const char *client_channel,
                               struct edge_filter *filter, const char *ref, const char *since);
/* The owner drained below its low mark after `drained` said no: the replay or fill goes on. */
void edge_subs_resume(struct edge_subs *ss, struct edge_sub *sub);
/* Detaches a subscription (unsubscribe, session closed). */
void edge_subs_remove(struct edge_subs *ss, struct edge_sub *sub);
const char *edge_sub_client_channel(const struct edge_sub *sub);
/* The last id delivered on the sub's channel ("" when none): the start of a later gap fill. */
const char *edge_sub_last_id(const struct edge_sub *sub);

#endif
