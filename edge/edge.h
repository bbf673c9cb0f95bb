/* The rt-edge process object: built in main.c, borrowed by every module through the lws vhost
 * user pointer. Each module owns its own state; this only ties them together. */
#ifndef EDGE_EDGE_H
#define EDGE_EDGE_H

#include "config.h"
#include "stats.h"

#include "rt/loop.h"
#include "rt/probes.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct lws_context;
struct rt_rconn;
struct rt_metrics;
struct edge_subs;
struct edge_auth;
struct rt_hmap;
struct edge_session;
struct edge_liveness;
struct edge_listener;
struct edge_poll;

struct edge {
    const struct edge_config *cfg; /* borrowed */
    uv_loop_t loop;
    struct rt_loop rloop;
    struct lws_context *lws;        /* owned */
    struct rt_rconn *cmd;           /* owned: XREVRANGE/XRANGE, liveness, heartbeat PUBLISH */
    struct edge_subs *subs;         /* owned: channels and the subscriber connection */
    struct edge_auth *auth;         /* owned */
    struct edge_liveness *liveness; /* owned */
    struct edge_listener *listener; /* owned; NULL when lws listens itself (TLS) */
    struct rt_metrics *metrics;     /* owned */
    struct edge_stats stats;        /* series borrowed from metrics */
    struct rt_probes probes;
    struct edge_session *sessions;   /* borrowed (lws owns them): every WebSocket session */
    struct edge_session *sweep_next; /* where the next slice of the periodic checks starts */
    unsigned sweep_ticks;
    size_t nsessions;             /* authenticated or not */
    struct edge_session *dirty;   /* borrowed: sessions with frames to flush this turn */
    uv_check_t flush;             /* runs edge_sessions_flush after each poll */
    struct rt_hmap *users;        /* owned: "<tenant>/<sub>" -> open connection count */
    uv_timer_t sweep;             /* auth deadlines, token expiry, heartbeat */
    struct edge_poll *polls_held; /* borrowed (each request owns its poll): long polls held */
    struct edge_poll *polls_due;  /* borrowed: held polls to answer at the end of this turn */
    size_t npolls;                /* polling requests in progress (querying or held) */
    size_t npolls_held;
    uint64_t polls_checked_ms; /* last check of held polls for clients that left */
    size_t http_replying;      /* HTTP replies queued and not yet completely written */
    uv_timer_t drain_deadline;
    bool draining;
    char instance_id[128];
    char url[300];
};

/* Called by sessions when the last one leaves during a drain. */
void edge_drain_check(struct edge *e);

#endif
