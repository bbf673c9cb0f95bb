/* The webhook routes: /webhooks/{twilio,telnyx,vonage,generic}/<tenant>. Common flow: find the
 * tenant's secrets (404), bound the body (413), verify (401/403), normalize (400), apply to the
 * call model in Redis, and answer 2xx only once Redis acknowledged (503 + Retry-After when it
 * cannot). */
#ifndef INGEST_WEBHOOK_H
#define INGEST_WEBHOOK_H

#include "config.h"

struct rt_evproc;
struct ingest_secrets;
struct ingest_webhooks;

/* Registers the routes on proc's HTTP server. cfg, secrets and proc are borrowed and outlive
 * the object. */
struct ingest_webhooks *ingest_webhooks_new(const struct ingest_config *cfg,
                                            const struct ingest_secrets *secrets,
                                            struct rt_evproc *proc);
/* Free after rt_evproc_deinit, so that requests waiting on Redis finish first. */
void ingest_webhooks_free(struct ingest_webhooks *w);
/* Call on every Redis READY: loads the call state script. */
void ingest_webhooks_on_ready(struct ingest_webhooks *w);

/* Unix seconds for signature windows: RT_INGEST_CLOCK_OVERRIDE when set (tests), else now. */
long long ingest_clock_now(const struct ingest_config *cfg);

#endif
