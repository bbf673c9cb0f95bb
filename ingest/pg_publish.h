/* Decoded row changes to events, published in commit order with a bounded in-flight window.
 *
 * Each row change becomes one event on rt:{tenant}:db:<schema>.<table> (plus the user's channel
 * and, for the calls table, the call channels). The events of a transaction are sent in script
 * calls of up to 128 (pg_script.h), pipelined, never holding a transaction in memory. Each
 * event's position is (commit LSN, index in the transaction); the script skips events at or
 * before the slot's progress marker (rt:pg:<slot>:progress) and advances it atomically with the
 * XADDs, so a transaction replayed after a crash is stored exactly once without a key per
 * event. The call that ends a transaction also stores the checkpoint (rt:pg:<slot>:checkpoint =
 * end LSN); when Redis has acknowledged every call of a commit and of every earlier one,
 * on_flush reports its end LSN, which the source then confirms to PostgreSQL. Transactions
 * before the checkpoint loaded at start are skipped without being sent. */
#ifndef INGEST_PG_PUBLISH_H
#define INGEST_PG_PUBLISH_H

#include "pgoutput.h"
#include "routes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_metrics;
struct rt_rconn;

struct ingest_pgpub_opts {
    const char *slot;       /* borrowed; names the checkpoint and progress keys */
    unsigned window;        /* events in flight before ingest_pgpub_full() */
    size_t max_row_bytes;   /* larger event data is reduced to key columns + "truncated" */
    unsigned long maxlen;   /* stream MAXLEN (0: RT_PUBLISH_DEFAULT_MAXLEN) */
    unsigned long maxage_s; /* streams' age limit (0: none) */
};

struct ingest_pgpub_hooks {
    void (*on_flush)(void *arg, uint64_t end_lsn); /* a commit and all before it are stored */
    void (*on_fail)(void *arg, int err); /* a publish failed: restart from the checkpoint */
    void (*on_drain)(void *arg);         /* the window has room again, or emptied */
    void *arg;                           /* borrowed */
};

struct ingest_pgpub;

/* Everything is borrowed and must outlive the object. */
struct ingest_pgpub *ingest_pgpub_new(struct rt_rconn *rc, struct rt_metrics *metrics,
                                      const struct ingest_routes *routes,
                                      const struct ingest_pgpub_opts *opts,
                                      const struct ingest_pgpub_hooks *hooks);
/* Call on every READY of the rconn: loads the script. */
void ingest_pgpub_on_ready(struct ingest_pgpub *p);
/* Free only once ingest_pgpub_inflight() is 0 (after the rconn was freed). Accepts NULL. */
void ingest_pgpub_free(struct ingest_pgpub *p);

/* GET of the checkpoint; cb gets 0 and the LSN (0 when none) or an error. Returns 0 or
 * RT_ENOTREADY (then cb does not run). */
typedef void (*ingest_pgpub_ckpt_fn)(void *arg, int status, uint64_t lsn);
int ingest_pgpub_load_checkpoint(struct ingest_pgpub *p, ingest_pgpub_ckpt_fn cb, void *arg);
void ingest_pgpub_set_checkpoint(struct ingest_pgpub *p, uint64_t lsn);
uint64_t ingest_pgpub_checkpoint(const struct ingest_pgpub *p);

/* Feed one decoded message (any kind; RELATION/TYPE/ORIGIN/MESSAGE are ignored). d is the
 * decoder, for TRUNCATE's relations. Returns 0 or RT_EPROTO (a row outside a transaction). */
int ingest_pgpub_feed(struct ingest_pgpub *p, const struct ingest_pgo *d,
                      const struct ingest_pgo_msg *m);

bool ingest_pgpub_full(const struct ingest_pgpub *p);
/* Events (and bare checkpoint writes) sent and waiting for Redis. */
size_t ingest_pgpub_inflight(const struct ingest_pgpub *p);
/* No transaction open and every commit flushed. */
bool ingest_pgpub_settled(const struct ingest_pgpub *p);
/* Commit timestamp (µs since 2000-01-01) of the oldest commit not yet flushed; 0 if none. */
int64_t ingest_pgpub_oldest_pending_ts(const struct ingest_pgpub *p);
/* Drops the session's open transaction and pending commits; only with nothing in flight. */
void ingest_pgpub_reset(struct ingest_pgpub *p);

#endif
