/* One place for every refusal of the webhook and publish routes: counts it in
 * rt_ingest_rejects_total{source,provider,reason} and answers {"error":reason,"message":...}. */
#ifndef INGEST_REFUSAL_H
#define INGEST_REFUSAL_H

struct evhttp_request;
struct rt_metrics;

/* retry_after > 0 adds a Retry-After header (429, 503). status 401 adds WWW-Authenticate when
 * source is "publish". */
/* provider is "" when unknown or not a webhook. */
void ingest_refuse(struct evhttp_request *req, struct rt_metrics *m, const char *source,
                   const char *provider, int status, const char *reason, const char *message,
                   unsigned retry_after);

/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
double ingest_mono_now(void);

#endif
