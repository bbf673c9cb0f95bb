#include "pg_publish.h"

#include "pg_event.h"
#include "pg_script.h"
#include "pgvalue.h"
#include "rt/err.h"
#include "rt/envelope.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/metrics.h"
#include "rt/naming.h"
#include "rt/publish.h"
#include "rt/rconn.h"
#include "rt/script.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_KEY        "rt:admin:db" /* TRUNCATE events: no tenant can be derived from the WAL */
#define WARN_INTERVAL_MS 10000
#define BATCH_EVENTS     128          /* events of one transaction per script call, at most */
#define BATCH_BYTES      (512 * 1024) /* and about this much envelope JSON */

/* One transaction from BEGIN until Redis acknowledged all its writes. */
struct commit {
    struct ingest_pgpub *p; /* borrowed: the owner */
    uint64_t final_lsn, end_lsn;
    int64_t commit_ts;
    unsigned outstanding; /* script calls sent and not yet answered */
    unsigned nsent;       /* events produced so far: the index of the next one */
    bool closed;          /* COMMIT seen */
    bool skip;            /* at or before the loaded checkpoint */
    struct commit *next;  /* owned by the list */
};

/* Events of the open transaction not yet sent: one script call once full or at COMMIT. */
struct batch {
    size_t n, bytes;
    char *keys[BATCH_EVENTS];   /* owned */
    char *bodies[BATCH_EVENTS]; /* owned: envelopes without id */
    size_t lens[BATCH_EVENTS];
};

/* One script call in flight. */
struct call {
    struct commit *c; /* borrowed: freed only once its calls are answered */
    size_t weight;    /* its share of the window: its events, or 1 */
    bool final;       /* carries the commit's checkpoint */
};

struct ingest_pgpub {
    struct rt_rconn *rc;                /* borrowed */
    const struct ingest_routes *routes; /* borrowed */
    struct ingest_pgpub_opts opts;      /* slot borrowed */
    struct ingest_pgpub_hooks hooks;
    struct rt_script script;
    char ckpt_key[128], progress_key[128];
    uint64_t checkpoint;
    struct commit *head, *tail; /* owned FIFO of commits not yet flushed */
    struct commit *open;        /* borrowed: the tail while a transaction is open */
    struct batch pend;
    size_t batch_max;
    size_t inflight; /* events (or bare checkpoint calls) sent and not yet answered */
    bool have_prev;  /* prev_*: position of the last event sent in this session */
    uint64_t prev_lsn;
    unsigned prev_idx;
    bool failed;
    uint64_t last_warn_ms;
    unsigned long suppressed;
    struct rt_metric *m_events, *m_dup, *m_commits, *m_trunc, *m_big, *m_inflight;
    struct rt_metric *m_drop_tenant, *m_drop_bad_tenant, *m_drop_bad_channel;
    struct rt_metric *m_user_bad, *m_user_long;
};

struct ingest_pgpub *ingest_pgpub_new(struct rt_rconn *rc, struct rt_metrics *metrics,
                                      const struct ingest_routes *routes,
                                      const struct ingest_pgpub_opts *opts,
                                      const struct ingest_pgpub_hooks *hooks)
{
    struct ingest_pgpub *p = rt_xcalloc(1, sizeof(*p));
    p->rc = rc;
    p->routes = routes;
    p->opts = *opts;
    p->hooks = *hooks;
    rt_script_init(&p->script, "pg_batch", ingest_pg_batch_script);
    snprintf(p->ckpt_key, sizeof(p->ckpt_key), "rt:pg:%s:checkpoint", opts->slot);
    snprintf(p->progress_key, sizeof(p->progress_key), "rt:pg:%s:progress", opts->slot);
    p->batch_max = opts->window / 4;
    if (p->batch_max > BATCH_EVENTS)
        p->batch_max = BATCH_EVENTS;
    if (p->batch_max == 0)
        p->batch_max = 1;
    p->m_events = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_events_total",
                                 "events published from PostgreSQL changes", NULL, NULL, 0);
    p->m_dup =
        rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_duplicates_total",
                       "replayed events skipped: already stored (progress marker)", NULL, NULL, 0);
    p->m_commits = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_commits_total",
                                  "transactions fully stored in Redis", NULL, NULL, 0);
    p->m_trunc = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_truncates_total",
                                "TRUNCATE events published on the admin channel", NULL, NULL, 0);
    p->m_big = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_truncated_total",
                              "oversized rows published as key columns only", NULL, NULL, 0);
    p->m_inflight = rt_metrics_get(metrics, RT_METRIC_GAUGE, "rt_ingest_pg_inflight",
                                   "events sent to Redis and not yet answered", NULL, NULL, 0);
    p->m_drop_tenant = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_dropped_total",
                                      "row changes not published", "reason=\"no_tenant\"", NULL, 0);
    p->m_drop_bad_tenant =
        rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_dropped_total",
                       "row changes not published", "reason=\"bad_tenant\"", NULL, 0);
    p->m_drop_bad_channel =
        rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_rows_dropped_total",
                       "row changes not published", "reason=\"bad_channel\"", NULL, 0);
    p->m_user_bad = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_user_skipped_total",
                                   "rows whose user column held no valid user id",
                                   "reason=\"bad_user\"", NULL, 0);
    p->m_user_long = rt_metrics_get(metrics, RT_METRIC_COUNTER, "rt_ingest_pg_user_skipped_total",
                                    "rows whose user column held no valid user id",
                                    "reason=\"too_long\"", NULL, 0);
    return p;
}

static void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->keys[i]);
        free(b->bodies[i]);
    }
    b->n = b->bytes = 0;
}

static void commits_free(struct ingest_pgpub *p)
{
    batch_clear(&p->pend);
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
    p->have_prev = false;
}

void ingest_pgpub_on_ready(struct ingest_pgpub *p)
{
    rt_script_load(&p->script, p->rc);
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
    return p->inflight + p->pend.n >= p->opts.window;
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

static void on_batch(const redisReply *reply, void *arg)
{
    struct call *q = arg;
    struct commit *c = q->c;
    struct ingest_pgpub *p = c->p;
    int status = 0;
    if (!reply) {
        status = RT_ECLOSED;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        if (!p->failed)
            RT_WARN("pg.publish_error", "publish script failed", RT_LF_STR("reply", reply->str));
        status = RT_EREDIS;
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
               reply->element[0]->type != REDIS_REPLY_INTEGER ||
               reply->element[1]->type != REDIS_REPLY_INTEGER) {
        status = RT_EPROTO;
    } else {
        rt_metric_add(p->m_events, (double)reply->element[0]->integer);
        rt_metric_add(p->m_dup, (double)reply->element[1]->integer);
    }
    size_t before = p->inflight;
    p->inflight -= q->weight;
    c->outstanding--;
    rt_metric_set(p->m_inflight, (double)p->inflight);
    if (status) {
        fail(p, status);
    } else {
        if (q->final && c->end_lsn > p->checkpoint)
            p->checkpoint = c->end_lsn;
        advance(p);
    }
    free(q);
    size_t half = p->opts.window / 2;
    if (p->inflight == 0 || (before > half && p->inflight <= half))
        p->hooks.on_drain(p->hooks.arg);
}

/* Sends the pending events of c in one script call; final adds c's checkpoint. Events sent in
 * one session are chained (ARGV[5]) so that a batch after one that failed stores nothing. */
static void flush(struct ingest_pgpub *p, struct commit *c, bool final)
{
    struct batch *b = &p->pend;
    if (p->failed) {
        batch_clear(b);
        return;
    }
    if (b->n == 0 && !(final && c->nsent > 0))
        return;
    char prev[64] = "", ckpt[32] = "";
    unsigned first = c->nsent - (unsigned)b->n;
    if (p->have_prev)
        snprintf(prev, sizeof(prev), "%" PRIu32 " %" PRIu32 " %u", (uint32_t)(p->prev_lsn >> 32),
                 (uint32_t)p->prev_lsn, p->prev_idx);
    if (final)
        snprintf(ckpt, sizeof(ckpt), "%" PRIu64, c->end_lsn);
    struct rt_script_call *sc = rt_script_call_new(&p->script, (int)(2 + b->n));
    rt_script_arg_str(sc, p->ckpt_key);
    rt_script_arg_str(sc, p->progress_key);
    for (size_t i = 0; i < b->n; i++)
        rt_script_arg_str(sc, b->keys[i]);
    rt_script_arg_num(sc, (long long)(p->opts.maxlen ? p->opts.maxlen : RT_PUBLISH_DEFAULT_MAXLEN));
    rt_script_arg_num(sc, (long long)(c->final_lsn >> 32));
    rt_script_arg_num(sc, (long long)(uint32_t)c->final_lsn);
    rt_script_arg_num(sc, first);
    rt_script_arg_str(sc, prev);
    rt_script_arg_str(sc, ckpt);
    for (size_t i = 0; i < b->n; i++) {
        rt_script_arg(sc, b->bodies[i], b->lens[i]);
        free(b->bodies[i]);
    }
    char minid[32];
    rt_stream_minid(p->opts.maxage_s, minid, sizeof(minid));
    rt_script_arg_str(sc, minid);
    struct call *q = rt_xcalloc(1, sizeof(*q));
    *q = (struct call){.c = c, .weight = b->n ? b->n : 1, .final = final};
    if (b->n) {
        p->have_prev = true;
        p->prev_lsn = c->final_lsn;
        p->prev_idx = c->nsent - 1;
    }
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
    b->n = b->bytes = 0;
    if (rt_script_send(sc, p->rc, on_batch, q)) {
        free(q);
        fail(p, RT_ENOTREADY);
        return;
    }
    p->inflight += q->weight;
    c->outstanding++;
    rt_metric_set(p->m_inflight, (double)p->inflight);
}

/* Queues one event (body: a complete envelope without id, taken over) for key. Its index in
 * the transaction (c->nsent) is its position for the progress marker. */
static void send(struct ingest_pgpub *p, struct commit *c, const char *key, char *body, size_t len)
{
    c->nsent++;
    if (p->failed) {
        free(body);
        return;
    }
    struct batch *b = &p->pend;
    b->keys[b->n] = rt_xstrdup(key);
    b->bodies[b->n] = body;
    b->lens[b->n++] = len;
    b->bytes += len;
    if (b->n >= p->batch_max || b->bytes >= BATCH_BYTES)
        flush(p, c, false);
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
    send(p, c, key, body, len);
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

/* The user copy's channel and key: 0, or no copy (RT_ENOENT: no user value; otherwise counted
 * by reason). Only a value read in full is looked at: a value too long for the buffer leaves it
 * unwritten, and a guess from it could name another user. Depends on the row alone, so a replay
 * yields the same events (the progress marker counts them). */
static int user_channel(struct ingest_pgpub *p, const struct ingest_pgo_msg *m,
                        const struct ingest_route *route, const char *tenant, char *uch, char *ukey)
{
    char user[RT_USER_MAX + 2];
    if (!route->user_column)
        return RT_ENOENT;
    int rc = ingest_pgevent_column(m, route->user_column, user, sizeof(user));
    if (rc == RT_ENOENT)
        return rc;
    if (rc != 0) {
        rt_metric_inc(p->m_user_long);
        return rc;
    }
    if (!rt_name_user_valid(user) || rt_name_user_channel(uch, RT_CHANNEL_MAX + 8, user) != 0 ||
        rt_name_key(ukey, RT_KEY_MAX, tenant, uch) != 0) {
        rt_metric_inc(p->m_user_bad);
        return RT_EINVAL;
    }
    return 0;
}

static void row(struct ingest_pgpub *p, struct commit *c, const struct ingest_pgo_msg *m)
{
    const struct ingest_pgo_relation *rel = m->rel;
    const struct ingest_route *route = ingest_routes_get(p->routes, rel->schema, rel->table);
    char tenant[RT_TENANT_MAX + 2], channel[RT_CHANNEL_MAX + 8];
    char key[RT_KEY_MAX], ts[40];
    int rc = ingest_pgevent_column(m, route->tenant_column, tenant, sizeof(tenant));
    if (rc == RT_ENOENT) {
        drop(p, p->m_drop_tenant, "no_tenant", rel);
        return;
    }
    if (rc || !rt_name_tenant_valid(tenant)) {
        drop(p, p->m_drop_bad_tenant, "bad_tenant", rel);
        return;
    }
    snprintf(channel, sizeof(channel), "db:%s.%s", rel->schema, rel->table);
    if (strlen(rel->schema) + strlen(rel->table) + 4 >= sizeof(channel) ||
        rt_name_key(key, sizeof(key), tenant, channel) != 0) {
        drop(p, p->m_drop_bad_channel, "bad_channel", rel);
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
    send(p, c, key, body, len);

    char uch[RT_CHANNEL_MAX + 8], ukey[RT_KEY_MAX];
    if (user_channel(p, m, route, tenant, uch, ukey) == 0) {
        body = envelope(uch, event, tenant, d, &len);
        send(p, c, ukey, body, len);
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
    if (!c->skip)
        flush(p, c, true);
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
