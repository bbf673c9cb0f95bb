#include "stats.h"

#include "rt/metrics.h"

#include <stdio.h>

void edge_stats_init(struct edge_stats *st, struct rt_metrics *m)
{
    st->reg = m;
    st->connections = rt_metrics_get(m, RT_METRIC_GAUGE, "rt_edge_connections",
                                     "open WebSocket connections", NULL, NULL, 0);
    st->subs_local =
        rt_metrics_get(m, RT_METRIC_GAUGE, "rt_edge_subscriptions",
                       "client subscriptions on this edge", "scope=\"local\"", NULL, 0);
    st->subs_redis =
        rt_metrics_get(m, RT_METRIC_GAUGE, "rt_edge_subscriptions",
                       "client subscriptions on this edge", "scope=\"redis\"", NULL, 0);
    st->events_in = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_events_in_total",
                                   "events received from Redis", NULL, NULL, 0);
    st->events_out = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_events_out_total",
                                    "event frames written to clients", NULL, NULL, 0);
    st->bytes_out = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_bytes_out_total",
                                   "bytes written to WebSocket clients", NULL, NULL, 0);
    st->slow_closes =
        rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_slow_consumer_closes_total",
                       "connections closed 4008 (outbound queue over its bound)", NULL, NULL, 0);
    st->latency = rt_metrics_get(m, RT_METRIC_HISTOGRAM, "rt_edge_publish_to_send_seconds",
                                 "from the event's ts to its write to a client", NULL,
                                 rt_metrics_latency_bounds, rt_metrics_latency_nbounds);
    st->auth_ok = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_auth_success_total",
                                 "successful authentications (incl. refresh)", NULL, NULL, 0);
    st->closes_limit =
        rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_limit_closes_total",
                       "connections closed for a limit (1008, 4009, 4029)", NULL, NULL, 0);
    st->fill_events = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_gap_fill_events_total",
                                     "events delivered from the stream by gap fills after a "
                                     "Redis outage",
                                     NULL, NULL, 0);
    st->poll_requests = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_poll_requests_total",
                                       "authorized polling requests", NULL, NULL, 0);
    st->poll_held = rt_metrics_get(m, RT_METRIC_GAUGE, "rt_edge_poll_held",
                                   "long-poll requests held now", NULL, NULL, 0);
    st->poll_refused =
        rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_poll_refused_total",
                       "long polls refused 429 (RT_EDGE_POLL_MAX_HELD reached)", NULL, NULL, 0);
}

void edge_stats_auth_fail(struct edge_stats *st, const char *reason)
{
    char labels[96];
    rt_metrics_label(labels, sizeof(labels), "reason", reason);
    rt_metric_inc(rt_metrics_get(st->reg, RT_METRIC_COUNTER, "rt_edge_auth_failures_total",
                                 "authentication failures by reason", labels, NULL, 0));
}

void edge_stats_fill(struct edge_stats *st, const char *result)
{
    char labels[96];
    rt_metrics_label(labels, sizeof(labels), "result", result);
    rt_metric_inc(rt_metrics_get(st->reg, RT_METRIC_COUNTER, "rt_edge_gap_fills_total",
                                 "gap fills of a channel after a Redis outage, by result", labels,
                                 NULL, 0));
}

void edge_stats_poll_end(struct edge_stats *st, const char *outcome)
{
    char labels[96];
    rt_metrics_label(labels, sizeof(labels), "outcome", outcome);
    rt_metric_inc(rt_metrics_get(st->reg, RT_METRIC_COUNTER, "rt_edge_poll_held_total",
                                 "held long-poll requests ended, by outcome", labels, NULL, 0));
}
