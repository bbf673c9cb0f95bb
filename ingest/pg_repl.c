#include "pg_repl.h"

#include "pg_event.h"
#include "pg_publish.h"
#include "pgoutput.h"
#include "slot_lock.h"

#include "rt/backoff.h"
#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/log.h"
#include "rt/metrics.h"

#include <event2/event.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS   10000
#define QUERY_TIMEOUT_MS     10000
#define MSGS_PER_TURN        512 /* copy messages handled before yielding to the loop */
#define LAG_WARN_INTERVAL_MS 30000

enum pg_state {
    PG_WAIT_LOCK,
    PG_LOAD_CKPT,
    PG_CONNECTING,
    PG_CHECK_PUB,
    PG_CREATE_PUB,
    PG_CHECK_SLOT,
    PG_CREATE_SLOT,
    PG_STARTING,
    PG_STREAMING,
    PG_DRAINING,
    PG_BACKOFF,
    PG_STOPPED,
};

struct ingest_pg {
    struct ingest_pg_opts opts;    /* strings borrowed */
    struct rt_evproc *proc;        /* borrowed */
    struct ingest_pgpub *pub;      /* owned */
    struct ingest_pgo *dec;        /* owned */
    struct ingest_slot_lock *lock; /* owned */
    struct rt_timer *timer;        /* owned: connect/query timeout, status updates, backoff */
    struct event *ev;              /* owned: PQsocket watcher */
    struct event *wev;             /* owned: writable watcher while libpq holds unsent output */
    PGconn *conn;                  /* owned */
    PGresult *res;                 /* owned: first result of the current query */
    enum pg_state state;
    struct rt_backoff backoff;
    bool paused;  /* window full: not reading the socket */
    bool in_turn; /* inside on_sock (avoid re-entering from on_drain) */
    uint64_t write_lsn, flushed_lsn, sent_flush;
    uint64_t last_lag_warn_ms;
    char error[256];
    ingest_pg_fatal_fn on_fatal;
    void *arg; /* borrowed */
    struct rt_metric *m_lag_bytes, *m_lag_s, *m_connected, *m_reconnects;
};

static const char *state_name(enum pg_state st)
{
    switch (st) {
    case PG_WAIT_LOCK:
        return "wait_lock";
    case PG_LOAD_CKPT:
        return "load_checkpoint";
    case PG_CONNECTING:
        return "connecting";
    case PG_CHECK_PUB:
        return "check_publication";
    case PG_CREATE_PUB:
        return "create_publication";
    case PG_CHECK_SLOT:
        return "check_slot";
    case PG_CREATE_SLOT:
        return "create_slot";
    case PG_STARTING:
        return "starting";
    case PG_STREAMING:
        return "streaming";
    case PG_DRAINING:
        return "draining";
    case PG_BACKOFF:
        return "backoff";
    case PG_STOPPED:
        return "stopped";
    }
    return "?";
}

static void set_state(struct ingest_pg *s, enum pg_state st)
{
    RT_DEBUG("pg.state", "source state", RT_LF_STR("from", state_name(s->state)),
             RT_LF_STR("to", state_name(st)));
    s->state = st;
    rt_metric_set(s->m_connected, st == PG_STREAMING ? 1 : 0);
}

static void timer_start(struct ingest_pg *s, uint64_t ms)
{
    s->proc->loop.ops->timer_start(s->timer, ms);
}

static void load_checkpoint(struct ingest_pg *s);
static void on_sock(evutil_socket_t fd, short what, void *arg);

static void watch(struct ingest_pg *s, short flags)
{
    if (s->ev)
        event_free(s->ev);
    s->ev = event_new(s->proc->base, PQsocket(s->conn), flags, on_sock, s);
    RT_ASSERT(s->ev);
    event_add(s->ev, NULL);
}

static void close_conn(struct ingest_pg *s)
{
    if (s->ev)
        event_free(s->ev);
    s->ev = NULL;
    if (s->wev)
        event_free(s->wev);
    s->wev = NULL;
    PQclear(s->res);
    s->res = NULL;
    PQfinish(s->conn);
    s->conn = NULL;
    s->paused = false;
}

static void maybe_backoff(struct ingest_pg *s)
{
    if (s->state != PG_DRAINING || ingest_pgpub_inflight(s->pub) > 0)
        return;
    /* the publisher and the decoder are reset when the timer fires: this may run inside them */
    set_state(s, PG_BACKOFF);
    timer_start(s, rt_backoff_next(&s->backoff));
}

/* Ends the session after an error: wait for Redis writes in flight, then reconnect. */
static void fail(struct ingest_pg *s, const char *event, const char *what, int err)
{
    if (s->state == PG_STOPPED || s->state == PG_DRAINING || s->state == PG_BACKOFF ||
        s->state == PG_WAIT_LOCK)
        return;
    snprintf(s->error, sizeof(s->error), "%s", what);
    RT_WARN(event, "replication session ended", RT_LF_STR("error", what),
            RT_LF_STR("state", state_name(s->state)), RT_LF_ERR(err),
            RT_LF_STR("slot", s->opts.slot));
    close_conn(s);
    rt_metric_inc(s->m_reconnects);
    set_state(s, PG_DRAINING);
    s->proc->loop.ops->timer_stop(s->timer);
    maybe_backoff(s);
}

static void fatal(struct ingest_pg *s, const char *event, const char *msg)
{
    snprintf(s->error, sizeof(s->error), "%s", msg);
    RT_ERROR(event, "cannot stream: configuration does not match the database",
             RT_LF_STR("error", msg), RT_LF_STR("slot", s->opts.slot),
             RT_LF_STR("publication", s->opts.publication), RT_LF_ERR(RT_ECONFIG));
    close_conn(s);
    set_state(s, PG_STOPPED);
    s->proc->loop.ops->timer_stop(s->timer);
    ingest_slot_lock_release(s->lock);
    s->on_fatal(s->arg, 2);
}

static void on_writable(evutil_socket_t fd, short what, void *arg);

/* Sends what libpq buffers. In non-blocking mode PQflush may write part of it and return 1: the
 * rest then goes out when the socket is writable (on_writable), whatever the read side is doing
 * (paused or not). Returns false when the connection failed. */
static bool flush_out(struct ingest_pg *s)
{
    int rc = PQflush(s->conn);
    if (rc < 0)
        return false;
    if (rc == 1) {
        if (!s->wev)
            s->wev = event_new(s->proc->base, PQsocket(s->conn), EV_WRITE, on_writable, s);
        RT_ASSERT(s->wev);
        event_add(s->wev, NULL);
    }
    return true;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct ingest_pg *s = arg;
    (void)fd;
    (void)what;
    if (s->conn && !flush_out(s))
        fail(s, "pg.connection_lost", PQerrorMessage(s->conn), RT_EIO);
}

/* ---- standby status ---- */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (uint8_t)p[i];
    return v;
}

static int64_t pg_now_us(void)
{
    return (int64_t)rt_wall_ms() * 1000 - INGEST_PG_EPOCH_UNIX * 1000000LL;
}

static void send_status(struct ingest_pg *s, bool reply)
{
    uint8_t m[34];
    uint64_t write = s->write_lsn > s->flushed_lsn ? s->write_lsn : s->flushed_lsn;
    m[0] = 'r';
    put64(m + 1, write);
    put64(m + 9, s->flushed_lsn);
    put64(m + 17, s->flushed_lsn);
    put64(m + 25, (uint64_t)pg_now_us());
    m[33] = reply ? 1 : 0;
    if (PQputCopyData(s->conn, (const char *)m, sizeof(m)) != 1 || !flush_out(s)) {
        fail(s, "pg.connection_lost", "cannot send standby status", RT_EIO);
        return;
    }
    s->sent_flush = s->flushed_lsn;
}

static void update_lag(struct ingest_pg *s)
{
    uint64_t bytes = s->write_lsn > s->flushed_lsn ? s->write_lsn - s->flushed_lsn : 0;
    int64_t ts = ingest_pgpub_oldest_pending_ts(s->pub);
    double secs = ts ? (double)(pg_now_us() - ts) / 1e6 : 0;
    rt_metric_set(s->m_lag_bytes, (double)bytes);
    rt_metric_set(s->m_lag_s, secs < 0 ? 0 : secs);
    uint64_t now = rt_now_ms();
    if (bytes > s->opts.lag_warn_bytes && now - s->last_lag_warn_ms >= LAG_WARN_INTERVAL_MS) {
        s->last_lag_warn_ms = now;
        RT_WARN("pg.lag", "replication lag above RT_PG_LAG_WARN_BYTES", RT_LF_UINT("bytes", bytes),
                RT_LF_DBL("seconds", secs), RT_LF_STR("slot", s->opts.slot));
    }
}

/* ---- queries during setup ---- */

static void query(struct ingest_pg *s, enum pg_state next, const char *sql)
{
    set_state(s, next);
    if (!PQsendQuery(s->conn, sql)) {
        fail(s, "pg.query_failed", PQerrorMessage(s->conn), RT_EIO);
        return;
    }
    if (!flush_out(s)) {
        fail(s, "pg.query_failed", PQerrorMessage(s->conn), RT_EIO);
        return;
    }
    timer_start(s, QUERY_TIMEOUT_MS);
    watch(s, EV_READ | EV_PERSIST);
}

static void start_replication(struct ingest_pg *s)
{
    char sql[512];
    uint64_t start = ingest_pgpub_checkpoint(s->pub);
    snprintf(sql, sizeof(sql),
             "START_REPLICATION SLOT \"%s\" LOGICAL %X/%X (proto_version '1', "
             "publication_names '\"%s\"')",
             s->opts.slot, (unsigned)(start >> 32), (unsigned)start, s->opts.publication);
    query(s, PG_STARTING, sql);
}

static void check_slot(struct ingest_pg *s)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT plugin, slot_type, database = current_database() FROM pg_replication_slots "
             "WHERE slot_name = '%s'",
             s->opts.slot);
    query(s, PG_CHECK_SLOT, sql);
}

static void on_result(struct ingest_pg *s, PGresult *r)
{
    char sql[512], msg[512];
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    if (!ok) {
        snprintf(msg, sizeof(msg), "%s failed: %s", state_name(s->state), PQresultErrorMessage(r));
        fail(s, "pg.query_failed", msg, RT_EIO);
        return;
    }
    switch (s->state) {
    case PG_CHECK_PUB:
        if (PQntuples(r) > 0) {
            check_slot(s);
        } else if (s->opts.create_publication) {
            snprintf(sql, sizeof(sql), "CREATE PUBLICATION \"%s\" FOR ALL TABLES",
                     s->opts.publication);
            query(s, PG_CREATE_PUB, sql);
        } else {
            snprintf(msg, sizeof(msg),
                     "publication \"%s\" does not exist: create it (CREATE PUBLICATION %s FOR "
                     "TABLE ...) or set RT_PG_CREATE_PUBLICATION=true",
                     s->opts.publication, s->opts.publication);
            fatal(s, "pg.publication_missing", msg);
        }
        break;
    case PG_CREATE_PUB:
        RT_INFO("pg.publication_created", "publication created for all tables",
                RT_LF_STR("publication", s->opts.publication));
        check_slot(s);
        break;
    case PG_CHECK_SLOT:
        if (PQntuples(r) == 0) {
            if (!s->opts.create_slot) {
                snprintf(msg, sizeof(msg),
                         "replication slot \"%s\" does not exist: create it with "
                         "pg_create_logical_replication_slot('%s', 'pgoutput') or set "
                         "RT_PG_CREATE_SLOT=true",
                         s->opts.slot, s->opts.slot);
                fatal(s, "pg.slot_missing", msg);
                break;
            }
            snprintf(sql, sizeof(sql),
                     "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput NOEXPORT_SNAPSHOT",
                     s->opts.slot);
            query(s, PG_CREATE_SLOT, sql);
        } else if (strcmp(PQgetvalue(r, 0, 0), "pgoutput") != 0 ||
                   strcmp(PQgetvalue(r, 0, 1), "logical") != 0 ||
                   strcmp(PQgetvalue(r, 0, 2), "t") != 0) {
            snprintf(msg, sizeof(msg),
                     "replication slot \"%s\" is not a pgoutput logical slot of this database",
                     s->opts.slot);
            fatal(s, "pg.slot_mismatch", msg);
        } else {
            start_replication(s);
        }
        break;
    case PG_CREATE_SLOT:
        RT_INFO("pg.slot_created", "logical replication slot created",
                RT_LF_STR("slot", s->opts.slot),
                RT_LF_STR("consistent_point", PQntuples(r) ? PQgetvalue(r, 0, 1) : ""));
        start_replication(s);
        break;
    case PG_WAIT_LOCK:
    case PG_LOAD_CKPT:
    case PG_CONNECTING:
    case PG_STARTING:
    case PG_STREAMING:
    case PG_DRAINING:
    case PG_BACKOFF:
    case PG_STOPPED:
        break;
    }
}

/* ---- streaming ---- */

static int handle_xlog(struct ingest_pg *s, const char *buf, int n)
{
    struct ingest_pgo_msg m;
    if (n < 25)
        return RT_EPROTO;
    uint64_t wal_end = get64(buf + 9);
    if (wal_end > s->write_lsn)
        s->write_lsn = wal_end;
    int rc = ingest_pgo_decode(s->dec, (const uint8_t *)buf + 25, (size_t)n - 25, &m);
    if (rc == 0)
        rc = ingest_pgpub_feed(s->pub, s->dec, &m);
    return rc;
}

static void handle_keepalive(struct ingest_pg *s, const char *buf, int n)
{
    if (n < 18)
        return;
    uint64_t wal_end = get64(buf + 1);
    if (wal_end > s->write_lsn)
        s->write_lsn = wal_end;
    /* nothing of ours is pending: everything before wal_end was sent to us and stored */
    if (ingest_pgpub_settled(s->pub) && ingest_pgpub_inflight(s->pub) == 0 &&
        wal_end > s->flushed_lsn)
        s->flushed_lsn = wal_end;
    if (buf[17])
        send_status(s, false);
}

/* Reads from the socket only once libpq's buffer holds no complete message, so that the
 * buffer stays about one read large however fast the server sends. */
static void read_copy(struct ingest_pg *s)
{
    bool consumed = false;
    for (int i = 0; i < MSGS_PER_TURN; i++) {
        if (ingest_pgpub_full(s->pub)) {
            s->paused = true;
            event_del(s->ev);
            return;
        }
        char *buf = NULL;
        int n = PQgetCopyData(s->conn, &buf, 1);
        if (n == 0) {
            if (consumed)
                return; /* wait for the socket */
            consumed = true;
            if (!PQconsumeInput(s->conn)) {
                fail(s, "pg.connection_lost", PQerrorMessage(s->conn), RT_EIO);
                return;
            }
            i--;
            continue;
        }
        if (n < 0) {
            if (n == -1) {
                PGresult *r = PQgetResult(s->conn);
                snprintf(s->error, sizeof(s->error), "%s",
                         r ? PQresultErrorMessage(r) : "replication stream ended");
                PQclear(r);
            }
            fail(s, "pg.connection_lost", n == -1 ? s->error : PQerrorMessage(s->conn), RT_EIO);
            return;
        }
        int rc = 0;
        if (buf[0] == 'w')
            rc = handle_xlog(s, buf, n);
        else if (buf[0] == 'k')
            handle_keepalive(s, buf, n);
        PQfreemem(buf);
        if (rc) {
            fail(s, "pg.protocol_error", "cannot decode a replication message", rc);
            return;
        }
        if (s->state != PG_STREAMING)
            return;
    }
    event_active(s->ev, EV_READ, 0); /* more may be buffered: continue on the next turn */
}

static void connect_poll(struct ingest_pg *s)
{
    switch (PQconnectPoll(s->conn)) {
    case PGRES_POLLING_READING:
        watch(s, EV_READ);
        return;
    case PGRES_POLLING_WRITING:
        watch(s, EV_WRITE);
        return;
    case PGRES_POLLING_FAILED:
        fail(s, "pg.connect_failed", PQerrorMessage(s->conn), RT_ECONNREFUSED);
        return;
    case PGRES_POLLING_OK:
        break;
    case PGRES_POLLING_ACTIVE:
        watch(s, EV_WRITE);
        return;
    }
    PQsetnonblocking(s->conn, 1);
    RT_INFO("pg.connected", "connected to PostgreSQL", RT_LF_STR("slot", s->opts.slot),
            RT_LF_INT("server_version", PQserverVersion(s->conn)));
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM pg_publication WHERE pubname = '%s'",
             s->opts.publication);
    query(s, PG_CHECK_PUB, sql);
}

static void on_query_readable(struct ingest_pg *s)
{
    if (!PQconsumeInput(s->conn)) {
        fail(s, "pg.connection_lost", PQerrorMessage(s->conn), RT_EIO);
        return;
    }
    while (!PQisBusy(s->conn)) {
        PGresult *r = PQgetResult(s->conn);
        if (r && PQresultStatus(r) == PGRES_COPY_BOTH) {
            PQclear(r);
            PQclear(s->res);
            s->res = NULL;
            set_state(s, PG_STREAMING);
            RT_INFO("pg.streaming", "replication started", RT_LF_STR("slot", s->opts.slot),
                    RT_LF_UINT("checkpoint", ingest_pgpub_checkpoint(s->pub)));
            timer_start(s, s->opts.status_interval_ms);
            read_copy(s);
            return;
        }
        if (!r) {
            PGresult *done = s->res;
            s->res = NULL;
            if (done)
                on_result(s, done);
            PQclear(done);
            return;
        }
        if (s->res)
            PQclear(r);
        else
            s->res = r;
    }
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
    struct ingest_pg *s = arg;
    (void)fd;
    (void)what;
    s->in_turn = true;
    switch (s->state) {
    case PG_CONNECTING:
        connect_poll(s);
        break;
    case PG_CHECK_PUB:
    case PG_CREATE_PUB:
    case PG_CHECK_SLOT:
    case PG_CREATE_SLOT:
    case PG_STARTING:
        on_query_readable(s);
        break;
    case PG_STREAMING:
        if (!s->paused)
            read_copy(s);
        break;
    case PG_WAIT_LOCK:
    case PG_LOAD_CKPT:
    case PG_DRAINING:
    case PG_BACKOFF:
    case PG_STOPPED:
        break;
    }
    s->in_turn = false;
}

/* ---- session start ---- */

static void connect_pg(struct ingest_pg *s)
{
    const char *keys[] = {"dbname", "replication", "application_name", "options", NULL};
    const char *vals[] = {s->opts.conninfo, "database", "rt-ingest",
                          "-c TimeZone=UTC -c DateStyle=ISO", NULL};
    set_state(s, PG_CONNECTING);
    s->conn = PQconnectStartParams(keys, vals, 1);
    if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
        fail(s, "pg.connect_failed", s->conn ? PQerrorMessage(s->conn) : "out of memory",
             RT_EINVAL);
        return;
    }
    timer_start(s, CONNECT_TIMEOUT_MS);
    watch(s, EV_WRITE);
}

static void on_checkpoint(void *arg, int status, uint64_t lsn)
{
    struct ingest_pg *s = arg;
    if (s->state != PG_LOAD_CKPT)
        return;
    if (status) {
        RT_WARN("pg.checkpoint_failed", "cannot read the checkpoint from Redis", RT_LF_ERR(status));
        set_state(s, PG_BACKOFF);
        timer_start(s, rt_backoff_next(&s->backoff));
        return;
    }
    ingest_pgpub_set_checkpoint(s->pub, lsn);
    if (lsn > s->flushed_lsn)
        s->flushed_lsn = lsn;
    connect_pg(s);
}

static void load_checkpoint(struct ingest_pg *s)
{
    if (!ingest_slot_lock_held(s->lock)) {
        set_state(s, PG_WAIT_LOCK);
        return;
    }
    set_state(s, PG_LOAD_CKPT);
    if (ingest_pgpub_load_checkpoint(s->pub, on_checkpoint, s) != 0) {
        set_state(s, PG_BACKOFF);
        timer_start(s, rt_backoff_next(&s->backoff));
    }
}

static void on_timer(void *arg)
{
    struct ingest_pg *s = arg;
    switch (s->state) {
    case PG_STREAMING:
        send_status(s, false);
        update_lag(s);
        if (s->state == PG_STREAMING)
            timer_start(s, s->opts.status_interval_ms);
        break;
    case PG_CONNECTING:
        fail(s, "pg.connect_failed", "connection timed out", RT_ETIMEDOUT);
        break;
    case PG_CHECK_PUB:
    case PG_CREATE_PUB:
    case PG_CHECK_SLOT:
    case PG_CREATE_SLOT:
    case PG_STARTING:
        fail(s, "pg.query_failed", "query timed out", RT_ETIMEDOUT);
        break;
    case PG_BACKOFF:
        ingest_pgpub_reset(s->pub);
        ingest_pgo_reset(s->dec);
        load_checkpoint(s);
        break;
    case PG_WAIT_LOCK:
    case PG_LOAD_CKPT:
    case PG_DRAINING:
    case PG_STOPPED:
        break;
    }
}

/* ---- hooks from the publisher and the lock ---- */

static void on_flush(void *arg, uint64_t end_lsn)
{
    struct ingest_pg *s = arg;
    if (end_lsn > s->flushed_lsn)
        s->flushed_lsn = end_lsn;
    rt_backoff_reset(&s->backoff); /* a session that stores commits is a healthy one */
}

static void on_pub_fail(void *arg, int err)
{
    struct ingest_pg *s = arg;
    fail(s, "pg.publish_failed", "a Redis write failed: restarting from the checkpoint", err);
}

static void on_drain(void *arg)
{
    struct ingest_pg *s = arg;
    if (s->state == PG_DRAINING) {
        maybe_backoff(s);
        return;
    }
    if (s->state == PG_STREAMING && s->paused && !ingest_pgpub_full(s->pub)) {
        s->paused = false;
        event_add(s->ev, NULL);
        event_active(s->ev, EV_READ, 0);
    }
}

static void on_lock(void *arg, bool held)
{
    struct ingest_pg *s = arg;
    if (held) {
        if (s->state == PG_WAIT_LOCK)
            load_checkpoint(s);
        return;
    }
    if (s->state == PG_WAIT_LOCK || s->state == PG_STOPPED)
        return;
    fail(s, "pg.lock_lost", "slot lock lost: stopping replication", RT_EACCES);
}

void ingest_pg_on_redis_ready(struct ingest_pg *s)
{
    ingest_pgpub_on_ready(s->pub);
}

struct ingest_pg *ingest_pg_new(struct rt_evproc *proc, const struct ingest_routes *routes,
                                const struct ingest_pg_opts *opts, ingest_pg_fatal_fn on_fatal,
                                void *arg)
{
    struct ingest_pg *s = rt_xcalloc(1, sizeof(*s));
    s->opts = *opts;
    s->proc = proc;
    s->on_fatal = on_fatal;
    s->arg = arg;
    s->dec = ingest_pgo_new();
    rt_backoff_init(&s->backoff, 200, 5000, 30);
    struct ingest_pgpub_opts po = {.slot = opts->slot,
                                   .window = opts->window,
                                   .max_row_bytes = opts->max_row_bytes,
                                   .maxlen = opts->maxlen,
                                   .maxage_s = opts->maxage_s};
    struct ingest_pgpub_hooks hooks = {
        .on_flush = on_flush, .on_fail = on_pub_fail, .on_drain = on_drain, .arg = s};
    s->pub = ingest_pgpub_new(proc->redis, proc->metrics, routes, &po, &hooks);
    s->m_lag_bytes = rt_metrics_get(proc->metrics, RT_METRIC_GAUGE, "rt_ingest_pg_lag_bytes",
                                    "WAL received but not yet confirmed (bytes)", NULL, NULL, 0);
    s->m_lag_s = rt_metrics_get(proc->metrics, RT_METRIC_GAUGE, "rt_ingest_pg_lag_seconds",
                                "age of the oldest commit not yet stored in Redis", NULL, NULL, 0);
    s->m_connected = rt_metrics_get(proc->metrics, RT_METRIC_GAUGE, "rt_ingest_pg_streaming",
                                    "1 while replication is streaming", NULL, NULL, 0);
    s->m_reconnects =
        rt_metrics_get(proc->metrics, RT_METRIC_COUNTER, "rt_ingest_pg_session_failures_total",
                       "replication sessions ended by an error", NULL, NULL, 0);
    s->timer = proc->loop.ops->timer_new(proc->loop.impl, on_timer, s);
    set_state(s, PG_WAIT_LOCK);
    s->lock =
        ingest_slot_lock_new(proc->redis, &proc->loop, opts->slot, opts->lock_ttl_ms, on_lock, s);
    return s;
}

void ingest_pg_stop(struct ingest_pg *s)
{
    if (!s || s->state == PG_STOPPED)
        return;
    if (s->state == PG_STREAMING)
        send_status(s, false);
    close_conn(s);
    set_state(s, PG_STOPPED);
    s->proc->loop.ops->timer_stop(s->timer);
    ingest_slot_lock_release(s->lock);
}

void ingest_pg_free(struct ingest_pg *s)
{
    if (!s)
        return;
    close_conn(s);
    ingest_slot_lock_free(s->lock);
    ingest_pgpub_free(s->pub);
    ingest_pgo_free(s->dec);
    s->proc->loop.ops->timer_free(s->timer);
    free(s);
}

bool ingest_pg_ready(struct ingest_pg *s, char *reason, size_t cap)
{
    switch (s->state) {
    case PG_STREAMING:
        return true;
    case PG_WAIT_LOCK:
        /* a standby is healthy: it takes over when the active consumer goes */
        return true;
    case PG_LOAD_CKPT:
    case PG_CONNECTING:
    case PG_CHECK_PUB:
    case PG_CREATE_PUB:
    case PG_CHECK_SLOT:
    case PG_CREATE_SLOT:
    case PG_STARTING:
    case PG_DRAINING:
    case PG_BACKOFF:
    case PG_STOPPED:
        break;
    }
    snprintf(reason, cap, "postgres: %s (%s)", s->error[0] ? s->error : "connecting",
             state_name(s->state));
    return false;
}
