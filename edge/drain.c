#include "drain.h"
#include "edge.h"
#include "listener.h"
#include "poll_http.h"
#include "session.h"

#include "rt/log.h"

static void stop(struct edge *e, const char *why)
{
    uv_timer_stop(&e->drain_deadline);
    RT_INFO("process.drained", "drain finished", RT_LF_STR("why", why),
            RT_LF_UINT("connections_left", e->nsessions),
            RT_LF_UINT("http_left", e->npolls + e->http_replying));
    uv_stop(&e->loop);
}

static void on_deadline(uv_timer_t *t)
{
    stop(t->data, "deadline");
}

void edge_drain_check(struct edge *e)
{
    /* polling requests and HTTP replies still being written count as clients too */
    if (e->draining && e->nsessions == 0 && e->npolls == 0 && e->http_replying == 0)
        stop(e, "empty");
}

void edge_drain_start(struct edge *e)
{
    if (e->draining)
        return;
    e->draining = true;
    e->probes.draining = true;
    RT_INFO("process.draining", "draining: clients told to reconnect",
            RT_LF_UINT("connections", e->nsessions),
            RT_LF_INT("deadline_ms", e->cfg->drain_timeout_ms));
    edge_listener_close(e->listener); /* stop accepting */
    edge_sessions_drain(e);
    edge_poll_drain(e); /* held long polls are answered now */
    e->drain_deadline.data = e;
    uv_timer_start(&e->drain_deadline, on_deadline, (uint64_t)e->cfg->drain_timeout_ms, 0);
    edge_drain_check(e);
}
