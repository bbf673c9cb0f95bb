/* The PostgreSQL source of rt-ingest: one logical replication connection (libpq,
 * replication=database) driven by libevent on PQsocket, under the slot lock.
 *
 *   WAIT_LOCK -> LOAD_CKPT -> CONNECTING -> CHECK_PUB [-> CREATE_PUB] -> CHECK_SLOT
 *   [-> CREATE_SLOT] -> STARTING -> STREAMING; any failure -> DRAINING (until every Redis write
 *   in flight answered) -> BACKOFF -> LOAD_CKPT (or WAIT_LOCK when the lock was lost).
 *
 * A missing publication or slot that may not be created is a configuration error: on_fatal(2). */
#ifndef INGEST_PG_REPL_H
#define INGEST_PG_REPL_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct ingest_routes;
struct rt_evproc;

struct ingest_pg_opts {
    const char *conninfo;    /* borrowed */
    const char *slot;        /* borrowed */
    const char *publication; /* borrowed */
    bool create_slot, create_publication;
    unsigned window;
    size_t max_row_bytes;
    unsigned long maxlen;
    unsigned long maxage_s; /* streams age limit (0: none) */
    unsigned lock_ttl_ms;
    unsigned status_interval_ms;
    unsigned long long lag_warn_bytes;
};

typedef void (*ingest_pg_fatal_fn)(void *arg, int exit_code);

struct ingest_pg;

/* proc and routes are borrowed and outlive the source. Starts at once. */
struct ingest_pg *ingest_pg_new(struct rt_evproc *proc, const struct ingest_routes *routes,
                                const struct ingest_pg_opts *opts, ingest_pg_fatal_fn on_fatal,
                                void *arg);
/* Call on every READY of proc->redis: loads the publish script. */
void ingest_pg_on_redis_ready(struct ingest_pg *s);
/* SIGTERM: confirms what is stored, closes PostgreSQL and gives the slot lock up. */
void ingest_pg_stop(struct ingest_pg *s);
/* Free after rt_evproc_deinit (Redis replies in flight must have run). Accepts NULL. */
void ingest_pg_free(struct ingest_pg *s);
/* /readyz: streaming, or standing by for the lock. */
bool ingest_pg_ready(struct ingest_pg *s, char *reason, size_t cap);

#endif
