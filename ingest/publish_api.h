/* POST /api/v1/publish: application backends publish their own events with a bearer API key.
 * Body: one event {"channel","event","data","user","idempotency_key","tenant"} or an array of up
 * to 1,000 of them; answers {"id":...} or {"ids":[...]} in order, only after Redis stored every
 * event. */
#ifndef INGEST_PUBLISH_API_H
#define INGEST_PUBLISH_API_H

#include "config.h"

#define INGEST_PUBLISH_BATCH_MAX   1000
#define INGEST_IDEMPOTENCY_KEY_MAX 200

struct rt_evproc;
struct ingest_apikeys;
struct ingest_publish_api;

/* Everything is borrowed and outlives the object. */
struct ingest_publish_api *ingest_publish_api_new(const struct ingest_config *cfg,
                                                  const struct ingest_apikeys *keys,
                                                  struct rt_evproc *proc);
/* Free after rt_evproc_deinit (requests in flight finish first). */
void ingest_publish_api_free(struct ingest_publish_api *api);
/* Call on every Redis READY: loads the batch script. */
void ingest_publish_api_on_ready(struct ingest_publish_api *api);

#endif
