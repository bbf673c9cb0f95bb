/* Counts webhook signature failures per (tenant, provider) in Redis, where rt-health reads them
 * for its health-check (webhooks.<provider>.signature_failures). Fire and forget: a count is one
 * pipelined script call whose reply nobody waits for, so it never delays or changes the HTTP
 * answer; when Redis is not ready the count is dropped. */
#ifndef INGEST_SIGFAIL_H
#define INGEST_SIGFAIL_H

struct rt_rconn;
struct ingest_sigfail;

/* rc is borrowed and outlives the object. */
struct ingest_sigfail *ingest_sigfail_new(struct rt_rconn *rc);
void ingest_sigfail_free(struct ingest_sigfail *s);

/* Counts one refused webhook of a configured tenant when its status is 401 (signature missing,
 * malformed, stale or wrong); any other status is ignored. */
void ingest_sigfail_note(struct ingest_sigfail *s, const char *tenant, const char *provider,
                         int status);

#endif
