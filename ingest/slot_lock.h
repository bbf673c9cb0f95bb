/* One active consumer per replication slot: a Redis lock rt:pg:<slot>:lock holding this
 * process's id with a PX lifetime, taken with SET NX semantics and renewed every third of its
 * lifetime by a script that extends it only while it is still ours. A standby retries at the
 * same pace, so it takes over within about 1.3 lifetimes after the holder dies. */
#ifndef INGEST_SLOT_LOCK_H
#define INGEST_SLOT_LOCK_H

#include <stdbool.h>

struct rt_loop;
struct rt_rconn;

typedef void (*ingest_slot_lock_fn)(void *arg, bool held);

struct ingest_slot_lock;

/* rc and loop are borrowed; starts trying at once. on_change runs on every gain and loss. */
struct ingest_slot_lock *ingest_slot_lock_new(struct rt_rconn *rc, const struct rt_loop *loop,
                                              const char *slot, unsigned ttl_ms,
                                              ingest_slot_lock_fn on_change, void *arg);
/* Gives the lock up (DEL if still ours) so that a standby takes over at once; no more
 * callbacks afterwards. */
void ingest_slot_lock_release(struct ingest_slot_lock *l);
/* Free after the rconn (pending replies must have run). Accepts NULL. */
void ingest_slot_lock_free(struct ingest_slot_lock *l);
bool ingest_slot_lock_held(const struct ingest_slot_lock *l);

#endif
