/* rt-ingest's PostgreSQL source, end to end: real PostgreSQL with wal_level=logical, real
 * redis-server, the rt-ingest binary. One case per ctest test (argv[1]); each case uses its own
 * tables, publication, slot and tenants so that cases share the fixtures safely. */
#include "rt_test.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            cleanup();                                                                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static char g_conninfo[512];
static char g_redis_url[128];
static int g_redis_port;
static char g_state[512];
static struct rt_test_proc g_procs[2];
static char g_slot[64];
static const char *g_case; /* names the bulk table and its tenant */
static char g_priv_redis[600], g_priv_pg[600];

#define LOCK_TTL_MS 1500 /* RT_PG_LOCK_TTL_MS of every rt-ingest started here */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The "ts" of a JSON log line ("2026-01-02T03:04:05.678Z") in Unix ms, or -1. */
static long long log_ts_ms(const char *line)
{
    const char *p = strstr(line, "\"ts\":\"");
    struct tm tm = {0};
    int ms = 0;
    if (!p || sscanf(p + 6, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + ms;
}

static void drop_slot(void);

static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        if (g_procs[i].pid > 0) {
            fprintf(stderr, "log of rt-ingest #%d: %s\n", i, g_procs[i].log_path);
            rt_test_proc_stop(&g_procs[i], SIGKILL, 5000);
        }
    drop_slot();
    if (g_priv_redis[0])
        rt_test_fixture("redis.sh", "stop", g_priv_redis, NULL);
    if (g_priv_pg[0])
        rt_test_fixture("pg.sh", "stop", g_priv_pg, NULL);
}

/* ---- PostgreSQL ---- */

static PGconn *pg_open(void)
{
    PGconn *c = PQconnectdb(g_conninfo);
    CHECK(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

static bool pg_try(PGconn *c, const char *fmt, ...)
{
    char sql[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "sql failed: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

#define PG(c, ...) CHECK(pg_try(c, __VA_ARGS__), "sql")

static void drop_slot(void)
{
    if (!g_slot[0] || g_priv_pg[0])
        return;
    PGconn *c = PQconnectdb(g_conninfo);
    /* the WAL sender of a stopped rt-ingest may take a moment to let the slot go */
    for (int i = 0; i < 100 && PQstatus(c) == CONNECTION_OK; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                 "WHERE slot_name = '%s' AND NOT active",
                 g_slot);
        PQclear(PQexec(c, sql));
        snprintf(sql, sizeof(sql), "SELECT 1 FROM pg_replication_slots WHERE slot_name = '%s'",
                 g_slot);
        PGresult *r = PQexec(c, sql);
        bool gone = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0;
        PQclear(r);
        if (gone)
            break;
        usleep(20000);
    }
    PQfinish(c);
    g_slot[0] = '\0';
}

/* ---- Redis ---- */

static redisContext *redis_open(int port)
{
    redisContext *r = redisConnect("127.0.0.1", port);
    CHECK(r && !r->err, "redis connect");
    return r;
}

static long long xlen(redisContext *r, const char *key)
{
    redisReply *rep = redisCommand(r, "XLEN %s", key);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    return n;
}

/* Every event of a stream, in stream order, as parsed JSON (array; caller decrefs). */
static json_t *events(redisContext *r, const char *key)
{
    json_t *out = json_array();
    char start[64] = "-";
    for (;;) {
        redisReply *rep = redisCommand(r, "XRANGE %s %s + COUNT 1000", key, start);
        CHECK(rep && rep->type == REDIS_REPLY_ARRAY, "XRANGE %s", key);
        if (rep->elements == 0) {
            freeReplyObject(rep);
            break;
        }
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *e = rep->element[i];
            redisReply *f = e->element[1];
            json_error_t err;
            json_t *j = json_loads(f->element[1]->str, 0, &err);
            CHECK(j, "bad event json %s", f->element[1]->str);
            json_array_append_new(out, j);
            snprintf(start, sizeof(start), "(%s", e->element[0]->str);
        }
        freeReplyObject(rep);
    }
    return out;
}

struct xlen_wait {
    redisContext *r;
    const char *key;
    long long n;
};

static bool xlen_at_least(void *arg)
{
    struct xlen_wait *w = arg;
    return xlen(w->r, w->key) >= w->n;
}

static void wait_xlen(redisContext *r, const char *key, long long n, int ms)
{
    struct xlen_wait w = {r, key, n};
    CHECK(rt_test_wait(xlen_at_least, &w, ms), "%s has %lld events, want %lld", key, xlen(r, key),
          n);
}

/* ---- rt-ingest ---- */

static int start_ingest(int idx, const char *pub, const char *routes, const char *extra1,
                        const char *extra2, bool wait_streaming)
{
    static char env[10][1024];
    char bin[600], line[4096];
    snprintf(bin, sizeof(bin), "%s/ingest/rt-ingest", getenv("RT_TEST_BIN"));
    char *argv[] = {bin, NULL};
    int n = 0;
    snprintf(env[n++], sizeof(env[0]), "RT_REDIS_URL=%s", g_redis_url);
    snprintf(env[n++], sizeof(env[0]), "RT_PG_CONNINFO=%s", g_conninfo);
    snprintf(env[n++], sizeof(env[0]), "RT_PG_SLOT=%s", g_slot);
    snprintf(env[n++], sizeof(env[0]), "RT_PG_PUBLICATION=%s", pub);
    snprintf(env[n++], sizeof(env[0]), "RT_INGEST_LISTEN=127.0.0.1:0");
    snprintf(env[n++], sizeof(env[0]), "RT_PG_LOCK_TTL_MS=%d", LOCK_TTL_MS);
    snprintf(env[n++], sizeof(env[0]), "RT_INGEST_ROUTES=%s", routes ? routes : "");
    if (extra1)
        snprintf(env[n++], sizeof(env[0]), "%s", extra1);
    if (extra2)
        snprintf(env[n++], sizeof(env[0]), "%s", extra2);
    char *envp[11] = {0};
    for (int i = 0; i < n; i++)
        envp[i] = env[i];
    if (!routes) /* unset rather than empty */
        unsetenv("RT_INGEST_ROUTES"), envp[6] = "RT_LOG_LEVEL=info";
    CHECK(rt_test_proc_start(&g_procs[idx], argv, envp) == 0, "start rt-ingest");
    CHECK(rt_test_proc_wait_log(&g_procs[idx], "process.ready", 10000, line, sizeof(line)),
          "rt-ingest not ready (%s)", g_procs[idx].log_path);
    int port = rt_test_url_port(line);
    if (wait_streaming)
        CHECK(rt_test_proc_wait_log(&g_procs[idx], "pg.streaming", 20000, NULL, 0),
              "rt-ingest not streaming (%s)", g_procs[idx].log_path);
    return port;
}

static double metric(int port, const char *series)
{
    char *body = NULL;
    int st = rt_test_http(port, "GET", "/metrics", NULL, NULL, 0, &body);
    CHECK(st == 200 && body, "GET /metrics: %d", st);
    double v = -1;
    const char *p = body;
    size_t n = strlen(series);
    while ((p = strstr(p, series)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == ' ') {
            v = atof(p + n + 1);
            break;
        }
        p += n;
    }
    free(body);
    return v;
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static json_t *jget(json_t *ev, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(ev, "data"), a);
    return b ? json_object_get(v, b) : v;
}

static void json_is(json_t *v, const char *want, const char *what)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    CHECK(s && strcmp(s, want) == 0, "%s: got %s want %s", what, s ? s : "(null)", want);
    free(s);
}

/* ---- cases ---- */

static void case_types(void)
{
    PGconn *c = pg_open();
    PG(c, "CREATE SCHEMA s_types");
    PG(c, "CREATE TABLE s_types.typ (organization_id text, id int, user_id text, n numeric, "
          "big numeric, f8 float8, j jsonb, ts timestamptz, b bool, arr int[], i8 bigint, "
          "nul text, doc text, PRIMARY KEY (organization_id, id))");
    PG(c, "ALTER TABLE s_types.typ ALTER doc SET STORAGE EXTERNAL");
    PG(c, "CREATE PUBLICATION p_types FOR TABLE s_types.typ");
    start_ingest(0, "p_types", NULL, NULL, NULL, true);
    PG(c,
       "INSERT INTO s_types.typ VALUES ('t_types', 1, 'u1', 12.34, 12345678901234567890.123, 1.5, "
       "'{\"a\": [1, null, \"x\"]}', '2026-01-02 03:04:05.678+02', true, '{1,2}', "
       "9007199254740993, NULL, repeat('x', 5000))");
    PG(c, "UPDATE s_types.typ SET b = false, n = -0.5 WHERE id = 1");
    PG(c, "DELETE FROM s_types.typ WHERE id = 1");
    redisContext *r = redis_open(g_redis_port);
    const char *key = "rt:{t_types}:db:s_types.typ";
    wait_xlen(r, key, 3, 20000);
    json_t *ev = events(r, key);
    CHECK(json_array_size(ev) == 3, "3 events, got %zu", json_array_size(ev));
    json_t *ins = json_array_get(ev, 0), *upd = json_array_get(ev, 1), *del = json_array_get(ev, 2);
    CHECK(strcmp(jstr(ins, "event", NULL), "INSERT") == 0, "insert first");
    CHECK(strcmp(jstr(ins, "channel", NULL), "db:s_types.typ") == 0, "channel");
    CHECK(strcmp(jstr(ins, "tenant", NULL), "t_types") == 0, "tenant");
    CHECK(strcmp(jstr(ins, "data", "schema"), "s_types") == 0, "schema");
    CHECK(strcmp(jstr(ins, "data", "table"), "typ") == 0, "table");
    const char *cts = jstr(ins, "data", "commit_timestamp");
    CHECK(cts && strlen(cts) == 27 && cts[10] == 'T' && cts[26] == 'Z', "commit_timestamp %s",
          cts ? cts : "null");
    json_is(jget(ins, "record", "id"), "1", "int4");
    json_is(jget(ins, "record", "n"), "12.34", "numeric");
    json_is(jget(ins, "record", "big"), "\"12345678901234567890.123\"", "numeric precision");
    json_is(jget(ins, "record", "f8"), "1.5", "float8");
    json_is(jget(ins, "record", "j"), "{\"a\":[1,null,\"x\"]}", "jsonb");
    json_is(jget(ins, "record", "ts"), "\"2026-01-02T01:04:05.678Z\"", "timestamptz");
    json_is(jget(ins, "record", "b"), "true", "bool");
    json_is(jget(ins, "record", "arr"), "\"{1,2}\"", "array");
    json_is(jget(ins, "record", "i8"), "9007199254740993", "int8");
    json_is(jget(ins, "record", "nul"), "null", "NULL");
    CHECK(strlen(json_string_value(jget(ins, "record", "doc"))) == 5000, "toasted text inline");
    json_is(jget(ins, "old_record", NULL), "null", "insert old_record");

    CHECK(strcmp(jstr(upd, "event", NULL), "UPDATE") == 0, "update second");
    json_is(jget(upd, "record", "b"), "false", "updated bool");
    json_is(jget(upd, "record", "n"), "-0.5", "updated numeric");
    json_is(jget(upd, "record", "doc"), "{\"unchanged_toast\":true}", "unchanged TOAST");
    json_is(jget(upd, "old_record", NULL), "{\"organization_id\":\"t_types\",\"id\":1}",
            "update old_record: key columns");

    CHECK(strcmp(jstr(del, "event", NULL), "DELETE") == 0, "delete third");
    json_is(jget(del, "record", NULL), "null", "delete record");
    json_is(jget(del, "old_record", NULL), "{\"organization_id\":\"t_types\",\"id\":1}",
            "delete old_record");
    json_decref(ev);
    /* the user column is not routed by the built-in routing */
    CHECK(xlen(r, "rt:{t_types}:user:u1") == 0, "no user channel without routing");
    redisFree(r);
    PQfinish(c);
}

static void case_order(void)
{
    PGconn *a = pg_open(), *b = pg_open();
    PG(a, "CREATE SCHEMA s_order");
    PG(a, "CREATE TABLE s_order.ord (organization_id text, id serial PRIMARY KEY, label text)");
    PG(a, "CREATE PUBLICATION p_order FOR TABLE s_order.ord");
    start_ingest(0, "p_order", NULL, NULL, NULL, true);
    /* two concurrent transactions interleave their rows; B commits first */
    PG(a, "BEGIN");
    PG(a, "INSERT INTO s_order.ord (organization_id, label) VALUES ('t_ord', 'a1')");
    PG(b, "BEGIN");
    PG(b, "INSERT INTO s_order.ord (organization_id, label) VALUES ('t_ord', 'b1')");
    PG(a, "INSERT INTO s_order.ord (organization_id, label) VALUES ('t_ord', 'a2')");
    PG(b, "INSERT INTO s_order.ord (organization_id, label) VALUES ('t_ord', 'b2')");
    PG(b, "COMMIT");
    PG(a, "INSERT INTO s_order.ord (organization_id, label) VALUES ('t_ord', 'a3')");
    PG(a, "COMMIT");
    PG(b, "INSERT INTO s_order.ord (organization_id, label) SELECT 't_ord', 'c' || g FROM "
          "generate_series(1, 500) g");
    redisContext *r = redis_open(g_redis_port);
    const char *key = "rt:{t_ord}:db:s_order.ord";
    wait_xlen(r, key, 505, 20000);
    json_t *ev = events(r, key);
    CHECK(json_array_size(ev) == 505, "505 events, got %zu", json_array_size(ev));
    const char *want[] = {"b1", "b2", "a1", "a2", "a3"};
    for (int i = 0; i < 5; i++) {
        const char *l = json_string_value(jget(json_array_get(ev, (size_t)i), "record", "label"));
        CHECK(l && strcmp(l, want[i]) == 0, "event %d: %s, want %s", i, l ? l : "null", want[i]);
    }
    CHECK(strcmp(json_string_value(jget(json_array_get(ev, 0), "commit_timestamp", NULL)),
                 json_string_value(jget(json_array_get(ev, 1), "commit_timestamp", NULL))) == 0,
          "one transaction, one commit timestamp");
    for (int i = 0; i < 500; i++) {
        char w[16];
        snprintf(w, sizeof(w), "c%d", i + 1);
        const char *l =
            json_string_value(jget(json_array_get(ev, (size_t)i + 5), "record", "label"));
        CHECK(l && strcmp(l, w) == 0, "multi-row transaction order at %d: %s", i, l ? l : "null");
    }
    json_decref(ev);
    redisFree(r);
    PQfinish(a);
    PQfinish(b);
}

static void case_routing(void)
{
    PGconn *c = pg_open();
    char routes[700];
    PG(c, "CREATE SCHEMA s_routing");
    PG(c,
       "CREATE TABLE s_routing.rt_route (org text, id int PRIMARY KEY, owner text, payload text)");
    PG(c, "ALTER TABLE s_routing.rt_route REPLICA IDENTITY FULL");
    PG(c, "CREATE PUBLICATION p_routing FOR TABLE s_routing.rt_route");
    snprintf(routes, sizeof(routes), "%s/routes-routing.json", g_state);
    FILE *f = fopen(routes, "w");
    CHECK(f, "write routes");
    fputs("{\"tables\": {\"s_routing.rt_route\": {\"tenant_column\": \"org\", \"user_column\": "
          "\"owner\"}}}",
          f);
    fclose(f);
    int port = start_ingest(0, "p_routing", routes, "RT_PG_MAX_ROW_BYTES=1024", NULL, true);
    PG(c, "INSERT INTO s_routing.rt_route VALUES ('r_acme', 1, 'alice', 'p1')");
    PG(c, "INSERT INTO s_routing.rt_route VALUES (NULL, 2, 'bob', 'p2')");
    PG(c, "INSERT INTO s_routing.rt_route VALUES ('bad tenant', 3, NULL, 'p3')");
    PG(c, "INSERT INTO s_routing.rt_route VALUES ('r_globex', 4, 'bad user!', 'p4')");
    PG(c, "INSERT INTO s_routing.rt_route VALUES ('r_acme', 5, 'alice', repeat('y', 3000))");
    PG(c, "DELETE FROM s_routing.rt_route WHERE id = 1");
    /* a user value too long to read, right after a valid one in the same transaction: it must
     * not reach any user channel (it once reused the previous row's user id) */
    PG(c, "INSERT INTO s_routing.rt_route VALUES ('r_acme', 6, 'carol', 'p6'), "
          "('r_acme', 7, repeat('c', 300), 'p7'), ('r_acme', 8, 'dave', 'p8'), "
          "('r_acme', 9, repeat('d', 129), 'p9')");
    PG(c, "TRUNCATE s_routing.rt_route");
    redisContext *r = redis_open(g_redis_port);
    wait_xlen(r, "rt:{r_acme}:db:s_routing.rt_route", 7, 20000);
    wait_xlen(r, "rt:{r_globex}:db:s_routing.rt_route", 1, 5000);
    wait_xlen(r, "rt:{r_acme}:user:alice", 3, 5000);
    json_t *ev = events(r, "rt:{r_acme}:db:s_routing.rt_route");
    CHECK(json_array_size(ev) == 7, "acme events %zu", json_array_size(ev));
    json_t *big = json_array_get(ev, 1);
    json_is(jget(big, "truncated", NULL), "true", "oversized row truncated");
    json_is(jget(big, "record", NULL), "{\"org\":\"r_acme\",\"id\":5,\"owner\":\"alice\"}",
            "oversized row keeps key, tenant and user columns");
    json_t *del = json_array_get(ev, 2);
    json_is(jget(del, "old_record", NULL),
            "{\"org\":\"r_acme\",\"id\":1,\"owner\":\"alice\",\"payload\":\"p1\"}",
            "REPLICA IDENTITY FULL: whole old row");
    json_decref(ev);
    ev = events(r, "rt:{r_acme}:user:alice");
    CHECK(strcmp(jstr(json_array_get(ev, 0), "channel", NULL), "user:alice") == 0, "user channel");
    json_decref(ev);
    CHECK(xlen(r, "rt:{r_globex}:user:bad user!") <= 0, "invalid user id not routed");
    /* the TRUNCATE is the last change: wait for it rather than assume it is already there */
    bool found = false;
    for (int tries = 0; tries < 500 && !found; tries++) {
        ev = events(r, "rt:admin:db");
        for (size_t i = 0; i < json_array_size(ev); i++) {
            json_t *e = json_array_get(ev, i);
            if (strcmp(jstr(e, "event", NULL), "TRUNCATE") == 0 &&
                strcmp(jstr(e, "channel", NULL), "db:s_routing.rt_route") == 0)
                found = true;
        }
        json_decref(ev);
        if (!found)
            usleep(10000);
    }
    CHECK(found, "TRUNCATE on the admin channel");
    /* the TRUNCATE came after the rows: each user channel holds exactly its own row */
    CHECK(xlen(r, "rt:{r_acme}:user:carol") == 1, "carol: %lld events, want 1 (her own)",
          xlen(r, "rt:{r_acme}:user:carol"));
    CHECK(xlen(r, "rt:{r_acme}:user:dave") == 1, "dave: %lld events, want 1 (his own)",
          xlen(r, "rt:{r_acme}:user:dave"));
    CHECK(xlen(r, "rt:{r_acme}:user:alice") == 3, "alice: %lld events",
          xlen(r, "rt:{r_acme}:user:alice"));
    CHECK(metric(port, "rt_ingest_pg_rows_dropped_total{reason=\"no_tenant\"}") == 1,
          "no_tenant counted");
    CHECK(metric(port, "rt_ingest_pg_rows_dropped_total{reason=\"bad_tenant\"}") == 1,
          "bad tenant counted under the reason logged");
    CHECK(metric(port, "rt_ingest_pg_rows_dropped_total{reason=\"bad_channel\"}") == 0,
          "no bad channel");
    CHECK(metric(port, "rt_ingest_pg_user_skipped_total{reason=\"too_long\"}") == 1,
          "user value too long to read counted");
    CHECK(metric(port, "rt_ingest_pg_user_skipped_total{reason=\"bad_user\"}") == 2,
          "invalid user ids counted ('bad user!' and 129 characters)");
    CHECK(metric(port, "rt_ingest_pg_truncates_total") == 1, "truncate counted");
    CHECK(metric(port, "rt_ingest_pg_rows_truncated_total") == 1, "oversized counted");
    CHECK(rt_test_proc_wait_log(&g_procs[0], "pg.row_dropped", 1000, NULL, 0), "warning logged");
    CHECK(rt_test_http(port, "GET", "/readyz", NULL, NULL, 0, NULL) == 200, "ready");
    CHECK(rt_test_proc_stop(&g_procs[0], SIGTERM, 10000) == 0, "clean exit");
    redisFree(r);
    PQfinish(c);
}

/* A tiny window: rt-ingest stops reading the socket every few events and resumes; nothing may
 * be lost, repeated or reordered across the pauses, in a large transaction or in many small. */
static void case_window(void)
{
    PGconn *c = pg_open();
    PG(c, "CREATE SCHEMA s_window");
    PG(c, "CREATE TABLE s_window.w (organization_id text, id int PRIMARY KEY)");
    PG(c, "CREATE PUBLICATION p_window FOR TABLE s_window.w");
    setenv("RT_PG_STATUS_INTERVAL_MS", "50", 1); /* inherited by the child */
    int port = start_ingest(0, "p_window", NULL, "RT_PG_WINDOW=3", "RT_PG_LAG_WARN_BYTES=1", true);
    unsetenv("RT_PG_STATUS_INTERVAL_MS");
    PG(c, "INSERT INTO s_window.w SELECT 't_window', g FROM generate_series(1, 5000) g");
    for (int i = 5001; i <= 5300; i++)
        PG(c, "INSERT INTO s_window.w VALUES ('t_window', %d)", i);
    redisContext *r = redis_open(g_redis_port);
    const char *key = "rt:{t_window}:db:s_window.w";
    wait_xlen(r, key, 5300, 60000);
    json_t *ev = events(r, key);
    CHECK(json_array_size(ev) == 5300, "%zu events", json_array_size(ev));
    for (size_t i = 0; i < 5300; i++)
        CHECK(json_integer_value(jget(json_array_get(ev, i), "record", "id")) == (json_int_t)i + 1,
              "order at %zu", i);
    json_decref(ev);
    CHECK(metric(port, "rt_ingest_pg_streaming") == 1, "streaming gauge");
    CHECK(metric(port, "rt_ingest_pg_events_total") == 5300, "events counted");
    /* the 5,000-row transaction is unconfirmed while its events are published */
    CHECK(rt_test_proc_wait_log(&g_procs[0], "\"event\":\"pg.lag\"", 2000, NULL, 0),
          "lag warning above RT_PG_LAG_WARN_BYTES");
    CHECK(metric(port, "rt_ingest_pg_lag_bytes") >= 0, "lag metric exported");
    redisFree(r);
    PQfinish(c);
}

/* kill -9 in the middle of one large transaction: its events are partly stored and its commit
 * is not confirmed, so the restarted rt-ingest replays it from its first row. The progress
 * marker must skip exactly the stored part (counted as duplicates) and store the rest once. */
#define MID_ROWS 40000

static void case_crash_mid_txn(void)
{
    PGconn *c = pg_open();
    PG(c, "CREATE SCHEMA s_mid");
    PG(c, "CREATE TABLE s_mid.m (organization_id text, id int PRIMARY KEY)");
    PG(c, "CREATE PUBLICATION p_mid FOR TABLE s_mid.m");
    /* a small window slows the publishing down enough to kill it half-way */
    start_ingest(0, "p_mid", NULL, "RT_PG_WINDOW=64", "RT_STREAM_MAXLEN=1000000", true);
    PG(c, "INSERT INTO s_mid.m SELECT 't_mid', g FROM generate_series(1, %d) g", MID_ROWS);
    redisContext *r = redis_open(g_redis_port);
    const char *key = "rt:{t_mid}:db:s_mid.m";
    long long at_kill = 0;
    for (int i = 0; i < 30000 && (at_kill = xlen(r, key)) < 2000; i++)
        usleep(1000);
    CHECK(rt_test_proc_stop(&g_procs[0], SIGKILL, 5000) == 128 + SIGKILL, "kill -9");
    at_kill = xlen(r, key);
    fprintf(stderr, "killed with %lld of %d events stored\n", at_kill, MID_ROWS);
    CHECK(at_kill > 0 && at_kill < MID_ROWS, "killed inside the transaction (%lld stored)",
          at_kill);
    int port = start_ingest(0, "p_mid", NULL, "RT_PG_WINDOW=64", "RT_STREAM_MAXLEN=1000000", false);
    PG(c, "INSERT INTO s_mid.m VALUES ('t_mid', %d)", MID_ROWS + 1);
    wait_xlen(r, key, MID_ROWS + 1, 90000);
    json_t *ev = events(r, key);
    size_t n = json_array_size(ev);
    CHECK(n == MID_ROWS + 1, "%zu events for %d rows (duplicates or losses)", n, MID_ROWS + 1);
    for (size_t i = 0; i < n; i++)
        CHECK(json_integer_value(jget(json_array_get(ev, i), "record", "id")) == (json_int_t)i + 1,
              "order at %zu", i);
    json_decref(ev);
    double dup = metric(port, "rt_ingest_pg_duplicates_total");
    fprintf(stderr, "replayed events skipped by the progress marker: %.0f\n", dup);
    CHECK(dup >= (double)at_kill, "the stored part was replayed and skipped (%.0f < %lld)", dup,
          at_kill);
    redisFree(r);
    PQfinish(c);
}

static int run_expect_exit(const char *pub, const char *routes, const char *extra,
                           const char *needle)
{
    char bin[600];
    static char env[6][1024];
    snprintf(bin, sizeof(bin), "%s/ingest/rt-ingest", getenv("RT_TEST_BIN"));
    char *argv[] = {bin, NULL};
    snprintf(env[0], sizeof(env[0]), "RT_REDIS_URL=%s", g_redis_url);
    snprintf(env[1], sizeof(env[1]), "RT_PG_CONNINFO=%s", g_conninfo);
    snprintf(env[2], sizeof(env[2]), "RT_PG_SLOT=%s", g_slot);
    snprintf(env[3], sizeof(env[3]), "RT_PG_PUBLICATION=%s", pub);
    snprintf(env[4], sizeof(env[4]), "RT_INGEST_ROUTES=%s", routes);
    snprintf(env[5], sizeof(env[5]), "%s", extra ? extra : "RT_INGEST_LISTEN=127.0.0.1:0");
    char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], "RT_INGEST_LISTEN=127.0.0.1:0",
                    NULL};
    if (!routes[0])
        envp[4] = "RT_LOG_LEVEL=info";
    CHECK(rt_test_proc_start(&g_procs[0], argv, envp) == 0, "start");
    CHECK(rt_test_proc_wait_log(&g_procs[0], needle, 15000, NULL, 0), "no %s in %s", needle,
          g_procs[0].log_path);
    /* it exits by itself */
    for (int i = 0; i < 1000; i++) {
        int status;
        if (waitpid(g_procs[0].pid, &status, WNOHANG) == g_procs[0].pid) {
            g_procs[0].pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(10000);
    }
    return rt_test_proc_stop(&g_procs[0], SIGKILL, 1000);
}

static void case_config(void)
{
    char routes[700];
    snprintf(routes, sizeof(routes), "%s/routes-bad.json", g_state);
    FILE *f = fopen(routes, "w");
    CHECK(f, "write routes");
    fputs("{\"tables\": {\"public.calls\": {\"tenant_collumn\": \"org\"}}}", f);
    fclose(f);
    int st = run_expect_exit("rt_pub", routes, NULL, "tenant_collumn");
    CHECK(st == 2, "malformed routing file: exit %d, want 2", st);
    CHECK(rt_test_proc_wait_log(&g_procs[0], "config.invalid", 100, NULL, 0), "config.invalid");

    st = run_expect_exit("no_such_pub", "", NULL, "pg.publication_missing");
    CHECK(st == 2, "missing publication: exit %d, want 2", st);
    CHECK(rt_test_proc_wait_log(&g_procs[0], "publication \\\"no_such_pub\\\" does not exist", 100,
                                NULL, 0),
          "message names the publication");

    st = run_expect_exit("rt_pub", "", "RT_PG_CREATE_SLOT=false", "pg.slot_missing");
    CHECK(st == 2, "missing slot: exit %d, want 2", st);

    st = run_expect_exit("Bad-Name", "", NULL, "RT_PG_PUBLICATION");
    CHECK(st == 2, "invalid publication name: exit %d, want 2", st);
}

/* ---- 10,000 rows while something fails ---- */

enum fault { FAULT_KILL_INGEST, FAULT_REDIS_RESTART, FAULT_PG_RESTART, FAULT_STANDBY };

#define TXNS 20
#define ROWS 500

static bool txn_committed(PGconn *c, int lo, int hi)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM s_%s.bulk WHERE id BETWEEN %d AND %d", g_case,
             lo, hi);
    PGresult *r = PQexec(c, sql);
    bool yes = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) == hi - lo + 1;
    PQclear(r);
    return yes;
}

static bool insert_txn(PGconn *c, int t)
{
    int lo = t * ROWS + 1, hi = (t + 1) * ROWS;
    return pg_try(c,
                  "INSERT INTO s_%s.bulk (organization_id, id, v) SELECT 't_%s', g, md5(g::text) "
                  "FROM generate_series(%d, %d) g",
                  g_case, g_case, lo, hi);
}

static bool readyz_is(void *arg)
{
    int *want = arg;
    return rt_test_http(want[1], "GET", "/readyz", NULL, NULL, 0, NULL) == want[0];
}

static int streaming_proc(void)
{
    for (int i = 0; i < 2; i++) {
        if (g_procs[i].pid > 0 && rt_test_proc_wait_log(&g_procs[i], "pg.streaming", 0, NULL, 0))
            return i;
    }
    return -1;
}

static void case_bulk(enum fault fault)
{
    char dir[700];
    if (fault == FAULT_REDIS_RESTART) {
        snprintf(g_priv_redis, sizeof(g_priv_redis), "%s/redis-private-%d", g_state, (int)getpid());
        CHECK(rt_test_fixture("redis.sh", "start", g_priv_redis, "private") == 0, "private redis");
        snprintf(dir, sizeof(dir), "%s/port", g_priv_redis);
        FILE *f = fopen(dir, "r");
        CHECK(f && fscanf(f, "%d", &g_redis_port) == 1, "redis port");
        fclose(f);
        snprintf(g_redis_url, sizeof(g_redis_url), "redis://127.0.0.1:%d/0", g_redis_port);
    }
    if (fault == FAULT_PG_RESTART) {
        char sqldir[600];
        snprintf(g_priv_pg, sizeof(g_priv_pg), "%s/pg-private-%d", g_state, (int)getpid());
        snprintf(sqldir, sizeof(sqldir), "%s/deploy/sql private", getenv("RT_TEST_SRC"));
        CHECK(rt_test_fixture("pg.sh", "start", g_priv_pg, sqldir) == 0, "private pg");
        snprintf(dir, sizeof(dir), "%s/conninfo", g_priv_pg);
        FILE *f = fopen(dir, "r");
        CHECK(f && fgets(g_conninfo, sizeof(g_conninfo), f), "conninfo");
        fclose(f);
        g_conninfo[strcspn(g_conninfo, "\n")] = '\0';
    }
    PGconn *c = pg_open();
    char pub[80];
    snprintf(pub, sizeof(pub), "p_%s", g_slot);
    PG(c, "CREATE SCHEMA s_%s", g_case);
    PG(c, "CREATE TABLE s_%s.bulk (organization_id text, id int PRIMARY KEY, v text)", g_case);
    PG(c, "CREATE PUBLICATION %s FOR TABLE s_%s.bulk", pub, g_case);
    int port = start_ingest(0, pub, NULL, NULL, NULL, true);
    if (fault == FAULT_STANDBY) {
        int sport = start_ingest(1, pub, NULL, NULL, NULL, false);
        CHECK(rt_test_proc_wait_log(&g_procs[1], "\"port\"", 5000, NULL, 0), "standby up");
        int want[2] = {200, sport};
        CHECK(rt_test_wait(readyz_is, want, 5000), "a standby is ready");
        CHECK(!rt_test_proc_wait_log(&g_procs[1], "pg.streaming", 300, NULL, 0),
              "the standby does not stream while the lock is held");
    }
    redisContext *r = redis_open(g_redis_port);
    char key[200];
    snprintf(key, sizeof(key), "rt:{t_%s}:db:s_%s.bulk", g_case, g_case);
    bool faulted = false;
    long long t_back = 0, t_kill_wall = 0;
    for (int t = 0; t < TXNS; t++) {
        if (t == 4) /* 2,000 rows committed: inject the fault once 1,500 events are stored */
            wait_xlen(r, key, 1500, 30000);
        if (!faulted && xlen(r, key) >= 1500) {
            faulted = true;
            switch (fault) {
            case FAULT_KILL_INGEST:
                CHECK(rt_test_proc_stop(&g_procs[0], SIGKILL, 5000) == 128 + SIGKILL, "kill -9");
                break;
            case FAULT_STANDBY: {
                int active = streaming_proc();
                CHECK(active == 0, "first rt-ingest is the active one");
                t_kill_wall = wall_ms();
                CHECK(rt_test_proc_stop(&g_procs[0], SIGKILL, 5000) == 128 + SIGKILL, "kill -9");
                break;
            }
            case FAULT_REDIS_RESTART: {
                char cmd[200];
                snprintf(cmd, sizeof(cmd), "redis-cli -p %d shutdown save >/dev/null 2>&1",
                         g_redis_port);
                CHECK(system(cmd) != -1, "shutdown");
                redisFree(r);
                int want[2] = {503, port};
                CHECK(rt_test_wait(readyz_is, want, 5000), "readyz 503 while Redis is down");
                CHECK(rt_test_fixture("redis.sh", "restart", g_priv_redis, NULL) == 0, "restart");
                r = redis_open(g_redis_port);
                break;
            }
            case FAULT_PG_RESTART: {
                CHECK(rt_test_fixture("pg.sh", "kill", g_priv_pg, NULL) == 0, "pg kill");
                int want[2] = {503, port};
                CHECK(rt_test_wait(readyz_is, want, 10000), "readyz 503 while PostgreSQL is down");
                CHECK(rt_test_fixture("pg.sh", "restart", g_priv_pg, NULL) == 0, "pg restart");
                PQfinish(c);
                c = pg_open();
                break;
            }
            }
        }
        if (fault == FAULT_KILL_INGEST && faulted && !t_back && t >= TXNS * 6 / 10) {
            start_ingest(0, pub, NULL, NULL, NULL, false);
            t_back = now_ms();
        }
        if (!insert_txn(c, t)) {
            /* the connection broke (PostgreSQL restart): the transaction may or may not have
             * committed */
            PQfinish(c);
            c = pg_open();
            if (!txn_committed(c, t * ROWS + 1, (t + 1) * ROWS))
                CHECK(insert_txn(c, t), "retry transaction %d", t);
        }
    }
    CHECK(faulted, "the fault was injected");
    if (fault == FAULT_KILL_INGEST && !t_back)
        start_ingest(0, pub, NULL, NULL, NULL, false);
    /* a last row: events are published in commit order, so once it is in the stream every
     * earlier event (and any duplicate of one) is too */
    PG(c, "INSERT INTO s_%s.bulk VALUES ('t_%s', %d, 'sentinel')", g_case, g_case, TXNS * ROWS + 1);
    wait_xlen(r, key, TXNS * ROWS + 1, 90000);
    if (fault == FAULT_STANDBY) {
        char sline[4096];
        CHECK(rt_test_proc_wait_log(&g_procs[1], "pg.streaming", 100, sline, sizeof(sline)),
              "standby took over");
        /* the log line's own time, so the inserts meanwhile do not count: the lock expires at
         * most LOCK_TTL_MS after the kill, then the standby connects and starts streaming */
        long long took = log_ts_ms(sline) - t_kill_wall;
        fprintf(stderr, "standby streaming %lld ms after the kill (lock lifetime %d ms)\n", took,
                LOCK_TTL_MS);
        CHECK(took >= 0 && took <= LOCK_TTL_MS + 3000, "takeover took %lld ms, bound %d ms", took,
              LOCK_TTL_MS + 3000);
    }
    int idx = fault == FAULT_STANDBY ? 1 : 0;
    json_t *ev = events(r, key);
    size_t n = json_array_size(ev);
    CHECK(n == TXNS * ROWS + 1, "%zu events for %d rows (duplicates or losses)", n,
          TXNS * ROWS + 1);
    for (size_t i = 0; i < n; i++) {
        json_t *id = jget(json_array_get(ev, i), "record", "id");
        CHECK(json_integer_value(id) == (json_int_t)i + 1, "event %zu has id %lld", i,
              (long long)json_integer_value(id));
    }
    json_decref(ev);
    fprintf(stderr, "%zu events exactly once and in order\n", n);
    char line[4096];
    if (rt_test_proc_wait_log(&g_procs[idx], "process.ready", 100, line, sizeof(line)))
        fprintf(stderr, "replayed events dropped as duplicates: %.0f\n",
                metric(rt_test_url_port(line), "rt_ingest_pg_duplicates_total"));
    redisFree(r);
    PQfinish(c);
}

/* A calls table routed with "calls": true: each row change also yields a call event in the
 * normalized call model on rt:{tenant}:calls and rt:calls:all. */
struct want_call {
    const char *id, *event, *state, *outcome, *provider_status;
};

static void calls_are(json_t *ev, const struct want_call *want, size_t n, const char *where)
{
    CHECK(json_array_size(ev) == n, "%s: %zu call events, want %zu", where, json_array_size(ev), n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ev, i);
        const char *outcome = jstr(e, "data", "outcome");
        CHECK(strcmp(jstr(e, "channel", NULL), "calls") == 0, "%s %zu: channel", where, i);
        CHECK(strcmp(jstr(e, "tenant", NULL), "c_calls") == 0, "%s %zu: tenant", where, i);
        CHECK(strcmp(jstr(e, "data", "call_id"), want[i].id) == 0, "%s %zu: call_id", where, i);
        CHECK(strcmp(jstr(e, "event", NULL), want[i].event) == 0, "%s %zu: event %s, want %s",
              where, i, jstr(e, "event", NULL), want[i].event);
        CHECK(strcmp(jstr(e, "data", "state"), want[i].state) == 0, "%s %zu: state %s, want %s",
              where, i, jstr(e, "data", "state"), want[i].state);
        CHECK(want[i].outcome ? outcome && strcmp(outcome, want[i].outcome) == 0
                              : json_is_null(jget(e, "outcome", NULL)),
              "%s %zu: outcome %s, want %s", where, i, outcome ? outcome : "null",
              want[i].outcome ? want[i].outcome : "null");
        CHECK(strcmp(jstr(e, "data", "provider_status"), want[i].provider_status) == 0,
              "%s %zu: provider_status", where, i);
        CHECK(strcmp(jstr(e, "data", "source"), "db") == 0, "%s %zu: source", where, i);
        CHECK(!jget(e, "provider", NULL), "%s %zu: no provider key", where, i);
    }
}

static void case_calls(void)
{
    PGconn *c = pg_open();
    char routes[700];
    PG(c, "CREATE SCHEMA s_calls");
    PG(c, "CREATE TABLE s_calls.calls (id text PRIMARY KEY, organization_id text, user_id text, "
          "status text, outcome text, direction text, from_number text, to_number text, "
          "provider text, answer_time timestamptz, end_time timestamptz, duration_seconds int)");
    PG(c, "ALTER TABLE s_calls.calls REPLICA IDENTITY FULL");
    PG(c, "CREATE PUBLICATION p_calls FOR TABLE s_calls.calls");
    snprintf(routes, sizeof(routes), "%s/routes-calls-%d.json", g_state, (int)getpid());
    FILE *f = fopen(routes, "w");
    CHECK(f, "write routes");
    fputs("{\"tables\": {\"s_calls.calls\": {\"tenant_column\": \"organization_id\", "
          "\"user_column\": \"user_id\", \"calls\": true}}}",
          f);
    fclose(f);
    start_ingest(0, "p_calls", routes, NULL, NULL, true);
    PG(c, "INSERT INTO s_calls.calls VALUES ('c1', 'c_calls', 'u7', 'initiated', NULL, "
          "'outbound', '+15550001', '+15550002', 'app', NULL, NULL, NULL)");
    PG(c, "UPDATE s_calls.calls SET status = 'ringing' WHERE id = 'c1'");
    PG(c, "UPDATE s_calls.calls SET status = 'in-progress', answer_time = now() WHERE id = 'c1'");
    PG(c, "UPDATE s_calls.calls SET status = 'ended', outcome = 'completed', end_time = now(), "
          "duration_seconds = 42 WHERE id = 'c1'");
    /* an unknown status is not copied into state; a terminal status ends the call */
    PG(c, "INSERT INTO s_calls.calls VALUES ('c2', 'c_calls', NULL, 'on_hold', NULL, 'inbound', "
          "'+15550003', '+15550004', 'twilio', NULL, NULL, NULL)");
    PG(c, "UPDATE s_calls.calls SET status = 'busy' WHERE id = 'c2'");
    const struct want_call want[] = {
        {"c1", "new_call", "initiated", NULL, "initiated"},
        {"c1", "call_update", "ringing", NULL, "ringing"},
        {"c1", "call_update", "answered", NULL, "in-progress"},
        {"c1", "call_ended", "ended", "completed", "ended"},
        {"c2", "new_call", "initiated", NULL, "on_hold"},
        {"c2", "call_ended", "ended", "busy", "busy"},
    };
    size_t n = sizeof(want) / sizeof(want[0]);
    redisContext *r = redis_open(g_redis_port);
    wait_xlen(r, "rt:{c_calls}:calls", (long long)n, 20000);
    wait_xlen(r, "rt:{c_calls}:db:s_calls.calls", (long long)n, 5000);
    json_t *ev = events(r, "rt:{c_calls}:calls");
    calls_are(ev, want, n, "rt:{c_calls}:calls");
    json_t *ended = json_array_get(ev, 3);
    json_is(jget(ended, "duration", NULL), "42", "duration");
    json_is(jget(ended, "from", NULL), "\"+15550001\"", "from");
    json_is(jget(ended, "to", NULL), "\"+15550002\"", "to");
    json_is(jget(ended, "direction", NULL), "\"outbound\"", "direction");
    json_is(jget(ended, "call_provider", NULL), "\"app\"", "call_provider");
    json_is(jget(ended, "user_id", NULL), "\"u7\"", "user_id");
    CHECK(jstr(ended, "data", "end_time") && jstr(ended, "data", "answer_time"), "times");
    json_decref(ev);
    /* rt:calls:all is shared with other tests: this tenant's events, in the same order */
    json_t *all = events(r, "rt:calls:all"), *mine = json_array();
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *e = json_array_get(all, i);
        const char *t = jstr(e, "tenant", NULL);
        if (t && strcmp(t, "c_calls") == 0)
            json_array_append(mine, e);
    }
    calls_are(mine, want, n, "rt:calls:all");
    json_decref(mine);
    json_decref(all);
    redisFree(r);
    PQfinish(c);
}

/* With wal_sender_timeout 1 s and standby status updates only every 60 s, only rt-ingest's
 * replies to the server's keepalive requests keep the replication connection alive. */
static int walsender_pid(PGconn *c, const char *role)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT pid FROM pg_stat_replication WHERE usename = '%s'", role);
    PGresult *r = PQexec(c, sql);
    int pid =
        PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return pid;
}

static void case_keepalive(void)
{
    PGconn *c = pg_open();
    char role[64], saved[sizeof(g_conninfo)], repl[700];
    snprintf(role, sizeof(role), "ka_%d", (int)getpid());
    PG(c, "CREATE ROLE %s LOGIN REPLICATION", role);
    PG(c, "ALTER ROLE %s SET wal_sender_timeout = '1s'", role);
    PG(c, "CREATE SCHEMA s_ka");
    PG(c, "CREATE TABLE s_ka.k (organization_id text, id int PRIMARY KEY)");
    PG(c, "GRANT USAGE ON SCHEMA s_ka TO %s", role);
    PG(c, "GRANT SELECT ON s_ka.k TO %s", role);
    PG(c, "CREATE PUBLICATION p_ka FOR TABLE s_ka.k");
    snprintf(saved, sizeof(saved), "%s", g_conninfo);
    int len = snprintf(g_conninfo, sizeof(g_conninfo), "%s user=%s", saved, role);
    CHECK(len > 0 && (size_t)len < sizeof(g_conninfo), "conninfo too long");
    /* the role's setting applies to its replication sessions (else this test proves nothing) */
    snprintf(repl, sizeof(repl), "%s replication=database", g_conninfo);
    PGconn *rc = PQconnectdb(repl);
    CHECK(PQstatus(rc) == CONNECTION_OK, "%s", PQerrorMessage(rc));
    PGresult *res = PQexec(rc, "SHOW wal_sender_timeout");
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "1s") == 0,
          "wal_sender_timeout of a replication session: %s",
          PQresultStatus(res) == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    PQfinish(rc);
    setenv("RT_PG_STATUS_INTERVAL_MS", "60000", 1); /* inherited by the child */
    int port = start_ingest(0, "p_ka", NULL, NULL, NULL, true);
    unsetenv("RT_PG_STATUS_INTERVAL_MS");
    snprintf(g_conninfo, sizeof(g_conninfo), "%s", saved);
    redisContext *r = redis_open(g_redis_port);
    const char *key = "rt:{t_ka}:db:s_ka.k";
    PG(c, "INSERT INTO s_ka.k VALUES ('t_ka', 1)");
    wait_xlen(r, key, 1, 20000);
    int wpid = walsender_pid(c, role);
    CHECK(wpid > 0, "one walsender for rt-ingest");
    /* idle for four times the timeout: a missed reply ends the session after 1 s */
    CHECK(!rt_test_proc_wait_log(&g_procs[0], "pg.connection_lost", 4000, NULL, 0),
          "replication connection lost while idle (%s)", g_procs[0].log_path);
    CHECK(walsender_pid(c, role) == wpid, "the same walsender after idling (no reconnect)");
    CHECK(metric(port, "rt_ingest_pg_session_failures_total") == 0, "no session failure");
    long long t0 = now_ms();
    PG(c, "INSERT INTO s_ka.k VALUES ('t_ka', 2)");
    wait_xlen(r, key, 2, 5000);
    fprintf(stderr, "insert after idling arrived in %lld ms\n", now_ms() - t0);
    CHECK(walsender_pid(c, role) == wpid, "still the same walsender");
    CHECK(rt_test_proc_stop(&g_procs[0], SIGTERM, 10000) == 0, "clean exit");
    drop_slot();
    pg_try(c, "DROP ROLE %s", role);
    redisFree(r);
    PQfinish(c);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *st = getenv("RT_TEST_STATE");
    snprintf(g_state, sizeof(g_state), "%s", st ? st : "/tmp");
    CHECK(rt_test_pg_conninfo(g_conninfo, sizeof(g_conninfo)), "pg fixture");
    CHECK(rt_test_redis_url(g_redis_url, sizeof(g_redis_url)), "redis fixture");
    g_redis_port = rt_test_redis_port();
    snprintf(g_slot, sizeof(g_slot), "s_%s_%d", argv[1], (int)getpid());
    const char *c = argv[1];
    g_case = c;
    if (strcmp(c, "types") == 0)
        case_types();
    else if (strcmp(c, "order") == 0)
        case_order();
    else if (strcmp(c, "routing") == 0)
        case_routing();
    else if (strcmp(c, "calls") == 0)
        case_calls();
    else if (strcmp(c, "keepalive") == 0)
        case_keepalive();
    else if (strcmp(c, "config") == 0)
        case_config();
    else if (strcmp(c, "window") == 0)
        case_window();
    else if (strcmp(c, "crash_mid_txn") == 0)
        case_crash_mid_txn();
    else if (strcmp(c, "crash") == 0)
        case_bulk(FAULT_KILL_INGEST);
    else if (strcmp(c, "redis_restart") == 0)
        case_bulk(FAULT_REDIS_RESTART);
    else if (strcmp(c, "pg_restart") == 0)
        case_bulk(FAULT_PG_RESTART);
    else if (strcmp(c, "standby") == 0)
        case_bulk(FAULT_STANDBY);
    else
        return 2;
    for (int i = 0; i < 2; i++)
        if (g_procs[i].pid > 0) {
            int rc = rt_test_proc_stop(&g_procs[i], SIGTERM, 10000);
            CHECK(rc == 0, "rt-ingest #%d exit %d on SIGTERM (%s)", i, rc, g_procs[i].log_path);
        }
    drop_slot();
    if (g_priv_redis[0])
        rt_test_fixture("redis.sh", "stop", g_priv_redis, NULL);
    if (g_priv_pg[0])
        rt_test_fixture("pg.sh", "stop", g_priv_pg, NULL);
    printf("ok %s\n", c);
    return 0;
}
