/* Registers this edge in Redis for rt-health: rt:instances:edge:<id> holds
 * {"id","address","connections","subscriptions","started","ts"} with a TTL, refreshed every
 * TTL/3; deleted on clean shutdown. */
#ifndef EDGE_LIVENESS_H
#define EDGE_LIVENESS_H

struct edge;
struct edge_liveness;

struct edge_liveness *edge_liveness_new(struct edge *e);
/* Deletes the key if Redis is up (best effort), stops the timer. Accepts NULL. */
void edge_liveness_free(struct edge_liveness *l);
/* Writes now (also called on every READY of the command connection). */
void edge_liveness_refresh(struct edge_liveness *l);

#endif
