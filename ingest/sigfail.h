/* Counts webhook signature failures per (tenant, provider) in Redis, where rt-health reads them
 * for its health-check (webhooks.<provider>.signature_failures). Failures are summed in memory
 * and written once a second per (tenant, provider, minute) by a pipelined script call whose reply
 * nobody waits for: a count never delays or changes the HTTP answer, and a flood of bad
 * signatures costs Redis a few commands a second. When Redis is not ready at the flush, or the
 * process stops before it, that second's counts are dropped. */
#ifndef INGEST_SIGFAIL_H
#define INGEST_SIGFAIL_H

struct rt_loop;
struct rt_rconn;
struct ingest_sigfail;

/* rc and loop are borrowed and outlive the object. */
struct ingest_sigfail *ingest_sigfail_new(struct rt_rconn *rc, const struct rt_loop *loop);
void ingest_sigfail_free(struct ingest_sigfail *s);

/* Counts one refused webhook of a configured tenant when its status is 401 (signature missing,
 * malformed, stale or wrong); any other status is ignored. */
void ingest_sigfail_note(struct ingest_sigfail *s, const char *tenant, const char *provider,
                         int status);

#endif
