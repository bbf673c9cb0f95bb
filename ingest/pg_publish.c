#include "pg_publish.h"

#include "pg_event.h"
#include "pgvalue.h"
#include "rt/err.h"
#include "rt/envelope.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/metrics.h"
#include "rt/naming.h"
#include "rt/publish.h"
#include "rt/rconn.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_KEY        "rt:admin:db" /* TRUNCATE events: no tenant can be derived from the WAL */
#define WARN_INTERVAL_MS 10000

/* One transaction from BEGIN until Redis acknowledged all its writes. */
struct commit {
    struct ingest_pgpub *p; /* borrowed: the owner */
    uint64_t final_lsn, end_lsn;
    int64_t commit_ts;
    unsigned outstanding; /* writes sent and not yet answered */
    unsigned nsent;       /* publishes sent (dedupe index) */
    bool closed;          /* COMMIT seen */
    bool skip;            /* at or before the loaded checkpoint */
    bool ckpt_sent;       /* the checkpoint write of this commit was sent */
    struct commit *next;  /* owned by the list */
};

struct ingest_pgpub {
    struct rt_publisher *pub;           /* borrowed */
    struct rt_rconn *rc;                /* borrowed */
    const struct ingest_routes *routes; /* borrowed */
    struct ingest_pgpub_opts opts;      /* slot borrowed */
    struct ingest_pgpub_hooks hooks;
    char ckpt_key[128];
    uint64_t checkpoint;
    struct commit *head, *tail; /* owned FIFO of commits not yet flushed */
    struct commit *open;        /* borrowed: the tail while a transaction is open */
    size_t inflight;
    bool failed;
    uint64_t last_warn_ms;
    unsigned long suppressed;
    struct rt_metric *m_events, *m_dup, *m_commits, *m_trunc, *m_big, *m_inflight;
    struct rt_metric *m_drop_tenant, *m_drop_bad, *m_user_skip;
};

struct ingest_pgpub *ingest_pgpub_new(struct rt_publisher *pub, struct rt_rconn *rc,
                                      struct rt_metrics *metrics,
                                      const struct ingest_routes *routes,
                                      const struct ingest_pgpub_opts *opts,
                                      const struct ingest_pgpub_hooks *hooks)
{
    struct ingest_pgpub *p = rt_xcalloc(1, sizeof(*p));
    p->pub = pub;
    p->rc = rc;
    p->routes = routes;
    p->opts = *opts;
    p->hooks = *hooks;
    snprintf(p->ckpt_key, sizeof(p->ckpt_key), "rt:pg:%s:checkpoint", opts->slot);
    p->m_events = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_events_total",
                                 "events published from PostgreSQL changes", NULL, NULL, 0);
    p->m_dup = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_duplicates_total",
                              "replayed events already stored (dedupe hits)", NULL, NULL, 0);
    p->m_commits = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_commits_total",
                                  "transactions fully stored in Redis", NULL, NULL, 0);
    p->m_trunc = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_truncates_total",
                                "TRUNCATE events published on the admin channel", NULL, NULL, 0);
    p->m_big = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_truncated_total",
                              "oversized rows published as key columns only", NULL, NULL, 0);
    p->m_inflight = rt_metrics_get(metrics, RT_METRIC_GAUGE, "rt_ingest_pg_inflight",
                                   "Redis writes in flight", NULL, NULL, 0);
    p->m_drop_tenant = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_dropped_total",
                                      "row changes not published", "reason=\"no_tenant\"", NULL, 0);
    p->m_drop_bad = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_dropped_total",
                                   "row changes not published", "reason=\"bad_name\"", NULL, 0);
    p->m_user_skip = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_user_skipped_total",
                                    "rows whose user column held no valid user id", NULL, NULL, 0);
    return p;
}

static void commits_free(struct ingest_pgpub *p)
{
    while (p->head) {
        struct commit *c = p->head;
        p->head = c->next;
        free(c);
    }
    p->tail = p->open = NULL;
}

void ingest_pgpub_free(struct ingest_pgpub *p)
{
    if (!p)
        return;
    RT_ASSERT(p->inflight == 0);
    commits_free(p);
    free(p);
}

void ingest_pgpub_reset(struct ingest_pgpub *p)
{
    RT_ASSERT(p->inflight == 0);
    commits_free(p);
    p->failed = false;
}

struct ckpt_req {
    ingest_pgpub_ckpt_fn cb;
    void *arg; /* borrowed */
};

static void on_ckpt_get(redisAsyncContext *ac, void *r, void *privdata)
{
    struct ckpt_req *q = privdata;
    redisReply *reply = r;
    (void)ac;
    int status = 0;
    uint64_t lsn = 0;
    if (!reply) {
        status = RT_ECLOSED;
    } else if (reply->type == REDIS_REPLY_STRING) {
        char *end;
        lsn = strtoull(reply->str, &end, 10);
        if (*end)
            status = RT_EPARSE;
    } else if (reply->type != REDIS_REPLY_NIL) {
        status = RT_EREDIS;
    }
    q->cb(q->arg, status, lsn);
    free(q);
}

int ingest_pgpub_load_checkpoint(struct ingest_pgpub *p, ingest_pgpub_ckpt_fn cb, void *arg)
{
    struct ckpt_req *q = rt_xcalloc(1, sizeof(*q));
    q->cb = cb;
    q->arg = arg;
    int rc = rt_rconn_cmd(p->rc, on_ckpt_get, q, "GET %s", p->ckpt_key);
    if (rc)
        free(q);
    return rc;
}

void ingest_pgpub_set_checkpoint(struct ingest_pgpub *p, uint64_t lsn)
{
    p->checkpoint = lsn;
}

uint64_t ingest_pgpub_checkpoint(const struct ingest_pgpub *p)
{
    return p->checkpoint;
}

bool ingest_pgpub_full(const struct ingest_pgpub *p)
{
    return p->inflight >= p->opts.window;
}

size_t ingest_pgpub_inflight(const struct ingest_pgpub *p)
{
    return p->inflight;
}

bool ingest_pgpub_settled(const struct ingest_pgpub *p)
{
    return p->head == NULL;
}

int64_t ingest_pgpub_oldest_pending_ts(const struct ingest_pgpub *p)
{
    return p->head ? p->head->commit_ts : 0;
}

static void fail(struct ingest_pgpub *p, int err)
{
    if (p->failed)
        return;
    p->failed = true;
    p->hooks.on_fail(p->hooks.arg, err);
}

/* Pops every leading commit that Redis has fully acknowledged. */
static void advance(struct ingest_pgpub *p)
{
    uint64_t flushed = 0;
    while (!p->failed && p->head && p->head->closed && p->head->outstanding == 0) {
        struct commit *c = p->head;
        flushed = c->end_lsn;
        if (!c->skip)
            rt_metric_inc(p->m_commits);
        p->head = c->next;
        if (!p->head)
            p->tail = NULL;
        free(c);
    }
    if (flushed)
        p->hooks.on_flush(p->hooks.arg, flushed);
}

static void write_checkpoint(struct ingest_pgpub *p, struct commit *c);

static void done_one(struct commit *c, int status)
{
    struct ingest_pgpub *p = c->p;
    p->inflight--;
    c->outstanding--;
    rt_metric_set(p->m_inflight, (double)p->inflight);
    if (status) {
        fail(p, status);
    } else {
        write_checkpoint(p, c);
        advance(p);
    }
    if (p->inflight == 0 || p->inflight + 1 == p->opts.window / 2)
        p->hooks.on_drain(p->hooks.arg);
}

static void on_published(int status, const char *id, void *arg)
{
    struct commit *c = arg;
    (void)id;
    if (status == RT_EDUPLICATE) {
        rt_metric_inc(c->p->m_dup);
        status = 0;
    } else if (status == 0) {
        rt_metric_inc(c->p->m_events);
    }
    done_one(c, status);
}

static void on_ckpt_set(redisAsyncContext *ac, void *r, void *privdata);

/* Once every event of a closed commit is acknowledged (and so stored, whatever came before),
 * record it as the checkpoint. Sent only then, not pipelined behind the events, so that an
 * event answered with an error can never be covered by a checkpoint. Commits complete in order
 * (replies come in order), so checkpoint writes are sent in commit order too. */
static void write_checkpoint(struct ingest_pgpub *p, struct commit *c)
{
    if (!c->closed || c->outstanding > 0 || c->ckpt_sent || c->skip || c->nsent == 0 || p->failed)
        return;
    c->ckpt_sent = true;
    if (rt_rconn_cmd(p->rc, on_ckpt_set, c, "SET %s %" PRIu64, p->ckpt_key, c->end_lsn) == 0) {
        p->inflight++;
        c->outstanding++;
        rt_metric_set(p->m_inflight, (double)p->inflight);
    } else {
        fail(p, RT_ENOTREADY);
    }
}

static void on_ckpt_set(redisAsyncContext *ac, void *r, void *privdata)
{
    struct commit *c = privdata;
    redisReply *reply = r;
    (void)ac;
    int status = !reply ? RT_ECLOSED : reply->type == REDIS_REPLY_ERROR ? RT_EREDIS : 0;
    if (status == 0 && c->end_lsn > c->p->checkpoint)
        c->p->checkpoint = c->end_lsn;
    done_one(c, status);
}

static void sent(struct ingest_pgpub *p, struct commit *c)
{
    p->inflight++;
    c->outstanding++;
    rt_metric_set(p->m_inflight, (double)p->inflight);
}

/* One publish of body (a complete envelope without id) to key, with its dedupe key. */
static void send(struct ingest_pgpub *p, struct commit *c, const char *tenant, const char *key,
                 const char *body, size_t len)
{
    char dkey[RT_KEY_MAX + 128];
    if (tenant)
        snprintf(dkey, sizeof(dkey), "rt:{%s}:pgdd:%s:%" PRIx64 ":%u", tenant, p->opts.slot,
                 c->final_lsn, c->nsent);
    else
        snprintf(dkey, sizeof(dkey), "rt:pgdd:%s:%" PRIx64 ":%u", p->opts.slot, c->final_lsn,
                 c->nsent);
    c->nsent++;
    if (p->failed)
        return;
    struct rt_publish_req req = {.key = key,
                                 .body = body,
                                 .body_len = len,
                                 .dedupe_key = dkey,
                                 .dedupe_ttl_s = p->opts.dedupe_ttl_s,
                                 .maxlen = p->opts.maxlen};
    int rc = rt_publish(p->pub, &req, on_published, c);
    if (rc) {
        fail(p, rc);
        return;
    }
    sent(p, c);
}

/* The envelope around already serialized data; names are validated, so need no escaping. */
static char *envelope(const char *channel, const char *event, const char *tenant, const char *data,
                      size_t *len)
{
    char ts[40], *out;
    rt_ts_now(ts, sizeof(ts));
    int n;
    if (tenant)
        n = asprintf(&out,
                     "{\"channel\":\"%s\",\"event\":\"%s\",\"tenant\":\"%s\",\"ts\":\"%s\","
                     "\"data\":%s}",
                     channel, event, tenant, ts, data);
    else
        n = asprintf(&out, "{\"channel\":\"%s\",\"event\":\"%s\",\"ts\":\"%s\",\"data\":%s}",
                     channel, event, ts, data);
    RT_ASSERT(n > 0);
    *len = (size_t)n;
    return out;
}

static void publish_json(struct ingest_pgpub *p, struct commit *c, const char *tenant,
                         const char *key, const char *channel, const char *event, json_t *data)
{
    size_t len;
    char *d = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(INGEST_PGVALUE_REAL_PRECISION));
    RT_ASSERT(d);
    char *body = envelope(channel, event, tenant, d, &len);
    send(p, c, tenant, key, body, len);
    free(body);
    free(d);
}

static void drop(struct ingest_pgpub *p, struct rt_metric *m, const char *reason,
                 const struct ingest_pgo_relation *rel)
{
    rt_metric_inc(m);
    uint64_t now = rt_now_ms();
    if (p->last_warn_ms && now - p->last_warn_ms < WARN_INTERVAL_MS) {
        p->suppressed++;
        return;
    }
    RT_WARN("pg.row_dropped", "row change not published", RT_LF_STR("reason", reason),
            RT_LF_STR("schema", rel->schema), RT_LF_STR("table", rel->table),
            RT_LF_UINT("suppressed", p->suppressed));
    p->last_warn_ms = now;
    p->suppressed = 0;
}

static void row(struct ingest_pgpub *p, struct commit *c, const struct ingest_pgo_msg *m)
{
    const struct ingest_pgo_relation *rel = m->rel;
    const struct ingest_route *route = ingest_routes_get(p->routes, rel->schema, rel->table);
    char tenant[RT_TENANT_MAX + 2], user[RT_USER_MAX + 2], channel[RT_CHANNEL_MAX + 8];
    char key[RT_KEY_MAX], ts[40];
    int rc = ingest_pgevent_column(m, route->tenant_column, tenant, sizeof(tenant));
    if (rc == RT_ENOENT) {
        drop(p, p->m_drop_tenant, "no_tenant", rel);
        return;
    }
    if (rc || !rt_name_tenant_valid(tenant)) {
        drop(p, p->m_drop_bad, "bad_tenant", rel);
        return;
    }
    snprintf(channel, sizeof(channel), "db:%s.%s", rel->schema, rel->table);
    if (strlen(rel->schema) + strlen(rel->table) + 4 >= sizeof(channel) ||
        rt_name_key(key, sizeof(key), tenant, channel) != 0) {
        drop(p, p->m_drop_bad, "bad_channel", rel);
        return;
    }
    ingest_pgevent_ts(c->commit_ts, ts, sizeof(ts));
    const char *event = ingest_pgevent_name(m->kind);
    json_t *data = ingest_pgevent_row(m, ts, route, false);
    char *d = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(INGEST_PGVALUE_REAL_PRECISION));
    RT_ASSERT(d);
    if (strlen(d) > p->opts.max_row_bytes) {
        free(d);
        json_decref(data);
        data = ingest_pgevent_row(m, ts, route, true);
        d = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                 JSON_REAL_PRECISION(INGEST_PGVALUE_REAL_PRECISION));
        RT_ASSERT(d);
        rt_metric_inc(p->m_big);
    }
    size_t len;
    char *body = envelope(channel, event, tenant, d, &len);
    send(p, c, tenant, key, body, len);
    free(body);

    if (route->user_column &&
        ingest_pgevent_column(m, route->user_column, user, sizeof(user)) != RT_ENOENT) {
        char uch[RT_CHANNEL_MAX + 8], ukey[RT_KEY_MAX];
        if (rt_name_user_valid(user) && rt_name_user_channel(uch, sizeof(uch), user) == 0 &&
            rt_name_key(ukey, sizeof(ukey), tenant, uch) == 0) {
            body = envelope(uch, event, tenant, d, &len);
            send(p, c, tenant, ukey, body, len);
            free(body);
        } else {
            rt_metric_inc(p->m_user_skip);
        }
    }
    free(d);

    const char *call_event;
    json_t *call = route->calls ? ingest_pgevent_call(m, data, &call_event) : NULL;
    if (call) {
        char ckey[RT_KEY_MAX];
        if (rt_name_key(ckey, sizeof(ckey), tenant, "calls") == 0) {
            publish_json(p, c, tenant, ckey, "calls", call_event, call);
            publish_json(p, c, tenant, RT_CALLS_ALL_KEY, "calls", call_event, call);
        }
        json_decref(call);
    }
    json_decref(data);
}

static void truncate_rels(struct ingest_pgpub *p, struct commit *c, const struct ingest_pgo *d,
                          const struct ingest_pgo_msg *m)
{
    char ts[40], channel[RT_CHANNEL_MAX + 8];
    ingest_pgevent_ts(c->commit_ts, ts, sizeof(ts));
    for (uint32_t i = 0; i < m->nrelids; i++) {
        const struct ingest_pgo_relation *rel = ingest_pgo_relation(d, m->relids[i]);
        if (!rel)
            continue;
        snprintf(channel, sizeof(channel), "db:%s.%s", rel->schema, rel->table);
        if (rt_name_internal_channel(channel) != RT_CHANNEL_DB)
            continue;
        json_t *data = json_object();
        json_object_set_new(data, "schema", json_string(rel->schema));
        json_object_set_new(data, "table", json_string(rel->table));
        json_object_set_new(data, "commit_timestamp", json_string(ts));
        json_object_set_new(data, "cascade", json_boolean(m->flags & 1));
        json_object_set_new(data, "restart_identity", json_boolean(m->flags & 2));
        publish_json(p, c, NULL, ADMIN_KEY, channel, "TRUNCATE", data);
        json_decref(data);
        rt_metric_inc(p->m_trunc);
        RT_WARN("pg.truncate", "TRUNCATE published on the admin channel",
                RT_LF_STR("schema", rel->schema), RT_LF_STR("table", rel->table),
                RT_LF_STR("key", ADMIN_KEY));
    }
}

static void begin(struct ingest_pgpub *p, const struct ingest_pgo_msg *m)
{
    struct commit *c = rt_xcalloc(1, sizeof(*c));
    c->p = p;
    c->final_lsn = m->lsn;
    c->commit_ts = m->commit_ts;
    /* the checkpoint is the end of a commit record: a transaction whose commit record starts
     * before it was fully stored by an earlier session */
    c->skip = m->lsn < p->checkpoint;
    if (p->tail)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = p->open = c;
}

static void commit(struct ingest_pgpub *p, const struct ingest_pgo_msg *m)
{
    struct commit *c = p->open;
    p->open = NULL;
    c->end_lsn = m->end_lsn;
    c->closed = true;
    write_checkpoint(p, c);
    advance(p);
}

int ingest_pgpub_feed(struct ingest_pgpub *p, const struct ingest_pgo *d,
                      const struct ingest_pgo_msg *m)
{
    switch (m->kind) {
    case INGEST_PGO_BEGIN:
        if (p->open)
            return RT_EPROTO;
        begin(p, m);
        return 0;
    case INGEST_PGO_COMMIT:
        if (!p->open)
            return RT_EPROTO;
        commit(p, m);
        return 0;
    case INGEST_PGO_INSERT:
    case INGEST_PGO_UPDATE:
    case INGEST_PGO_DELETE:
        if (!p->open)
            return RT_EPROTO;
        if (!p->open->skip)
            row(p, p->open, m);
        return 0;
    case INGEST_PGO_TRUNCATE:
        if (!p->open)
            return RT_EPROTO;
        if (!p->open->skip)
            truncate_rels(p, p->open, d, m);
        return 0;
    case INGEST_PGO_RELATION:
    case INGEST_PGO_TYPE:
    case INGEST_PGO_ORIGIN:
    case INGEST_PGO_MESSAGE:
        return 0;
    }
    return RT_EPROTO;
}
