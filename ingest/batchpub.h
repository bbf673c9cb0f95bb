/* The publish API's store: one EVALSHA per request stores all its events (up to 1,000) in order,
 * each with its optional dedupe mark, XADD MAXLEN ~ and PUBLISH, instead of one script call per
 * event (rt_publish). Same stored format and dedupe semantics as common/publish.c. */
#ifndef INGEST_BATCHPUB_H
#define INGEST_BATCHPUB_H

#include <stddef.h>

struct rt_rconn;
struct ingest_batchpub;

struct ingest_batchpub_item {
    const char *key;    /* rt:{tenant}:<channel> */
    const char *dedupe; /* NULL for none; a key of the same tenant */
    const char *body;   /* envelope JSON without "id" */
    size_t len;
};

extern const char ingest_batchpub_script[];

/* status 0 with n ids in order (borrowed for the callback; a duplicate's id is the one first
 * stored under its key), or RT_ECLOSED / RT_EREDIS / RT_EPROTO with ids NULL. Runs once. */
typedef void (*ingest_batchpub_fn)(int status, char *const *ids, size_t n, void *arg);

struct ingest_batchpub *ingest_batchpub_new(struct rt_rconn *rc, unsigned long maxlen,
                                            unsigned dedupe_ttl_s);
/* Free after the rconn, so that requests in flight finish first. */
/* Also trim the streams written to events younger than maxage_s; 0 (default): no age limit. */
void ingest_batchpub_set_maxage(struct ingest_batchpub *b, unsigned long maxage_s);
void ingest_batchpub_free(struct ingest_batchpub *b);
void ingest_batchpub_on_ready(struct ingest_batchpub *b);

/* Returns 0 (cb will run), RT_ENOTREADY (Redis down; cb will not run) or RT_EINVAL. */
int ingest_batchpub_send(struct ingest_batchpub *b, const struct ingest_batchpub_item *items,
                         size_t n, ingest_batchpub_fn cb, void *arg);

#endif
