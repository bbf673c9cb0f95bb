/* SIGTERM: stop accepting WebSocket upgrades (/readyz answers 503 "draining"), tell every client
 * to reconnect after a jittered delay, close each with 1001, and stop the loop when no session
 * is left or RT_EDGE_DRAIN_TIMEOUT_MS has passed. */
#ifndef EDGE_DRAIN_H
#define EDGE_DRAIN_H

struct edge;

void edge_drain_start(struct edge *e);

#endif
