/* The rt_edge_* metrics; series pointers are looked up once and kept. */
#ifndef EDGE_STATS_H
#define EDGE_STATS_H

struct rt_metrics;
struct rt_metric;

struct edge_stats {
    struct rt_metrics *reg;          /* borrowed */
    struct rt_metric *connections;   /* gauge: open WebSocket connections */
    struct rt_metric *subs_local;    /* gauge: client subscriptions */
    struct rt_metric *subs_redis;    /* gauge: Redis channels subscribed */
    struct rt_metric *events_in;     /* counter: Redis messages received */
    struct rt_metric *events_out;    /* counter: event frames written to clients */
    struct rt_metric *bytes_out;     /* counter: bytes written to WebSocket clients */
    struct rt_metric *slow_closes;   /* counter: connections closed 4008 */
    struct rt_metric *latency;       /* histogram: envelope ts to write, seconds */
    struct rt_metric *auth_ok;       /* counter */
    struct rt_metric *closes_limit;  /* counter: 4009 and 4029 and 1008 closes */
    struct rt_metric *fill_events;   /* counter: events delivered by gap fills */
    struct rt_metric *poll_requests; /* counter: polling requests answered or held */
    struct rt_metric *poll_held;     /* gauge: long-poll requests held now */
    struct rt_metric *poll_refused;  /* counter: long polls refused 429 (over the bound) */
};

void edge_stats_init(struct edge_stats *st, struct rt_metrics *reg);
/* rt_edge_auth_failures_total{reason=...} */
void edge_stats_auth_fail(struct edge_stats *st, const char *reason);
/* rt_edge_gap_fills_total{result="ok"|"resync"|"failed"} */
void edge_stats_fill(struct edge_stats *st, const char *result);
/* rt_edge_poll_held_total{outcome="events"|"timeout"|"drain"|"closed"|"error"} */
void edge_stats_poll_end(struct edge_stats *st, const char *outcome);

#endif
