/* One publish = one Lua script call: optional dedupe mark (SET NX EX), XADD MAXLEN ~, then PUBLISH
 * of the envelope carrying its stream id. Loaded once with SCRIPT LOAD, called with EVALSHA and
 * reloaded on NOSCRIPT. */
#ifndef RT_PUBLISH_H
#define RT_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "rt/rconn.h"

/* The script text (exposed for tests and for tools that want to call it by hand). */
extern const char rt_publish_script[];

#define RT_PUBLISH_DEFAULT_MAXLEN     10000
#define RT_PUBLISH_DEFAULT_DEDUPE_TTL 86400

struct rt_publisher;

struct rt_publish_req {
    const char *key;  /* "rt:{tenant}:<channel>" (or rt:calls:all): stream and channel */
    const char *body; /* envelope JSON without "id": rt_envelope_dumps(env, false, ...) */
    size_t body_len;
    const char *dedupe_key; /* NULL for none; a key of the same tenant */
    unsigned dedupe_ttl_s;  /* 0 means RT_PUBLISH_DEFAULT_DEDUPE_TTL */
    unsigned long maxlen;   /* 0 means the publisher's default */
};

/* status: 0 with the new stream id; RT_EDUPLICATE with the id first stored under the dedupe key;
 * RT_EREDIS (error reply), RT_ECLOSED (connection lost before the reply). id is borrowed for the
 * duration of the callback. Runs exactly once per accepted request. */
typedef void (*rt_publish_fn)(int status, const char *id, void *arg);

/* default_maxlen 0 means RT_PUBLISH_DEFAULT_MAXLEN. The rconn is borrowed. */
struct rt_publisher *rt_publisher_new(struct rt_rconn *rc, unsigned long default_maxlen);
/* Free the rconn before the publisher so that requests in flight finish first. */
void rt_publisher_free(struct rt_publisher *p);
/* Call on every READY of the rconn: loads the script once per connection. */
void rt_publisher_on_ready(struct rt_publisher *p);

/* Sends one publish (pipelined: does not wait for earlier replies). Returns 0 (cb will run),
 * RT_ENOTREADY (Redis down: cb will not run) or RT_EINVAL. */
int rt_publish(struct rt_publisher *p, const struct rt_publish_req *req, rt_publish_fn cb,
               void *arg);

/* Also trim every stream this publisher writes to events younger than maxage_s (approximately,
 * whole stream nodes, like MAXLEN ~); 0 (the default) keeps events of any age. */
void rt_publisher_set_maxage(struct rt_publisher *p, unsigned long maxage_s);

/* The MINID for an age limit: "<now - maxage_s in ms>-0" into buf (>= 24 bytes), or "0" when
 * maxage_s is 0 (the scripts then skip the XTRIM). */
void rt_stream_minid(unsigned long maxage_s, char *buf, size_t cap);

/* Publishes still waiting for their reply. */
size_t rt_publisher_inflight(const struct rt_publisher *p);

#endif
