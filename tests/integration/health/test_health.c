/* rt-health against a real redis-server (a private one per scenario, so scenarios never share
 * keys) and real rt-health processes. Thresholds are shortened through settings; nothing in the
 * process under test is faked. Usage: test_health <scenario>. */
#include "rt_test.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_KEY  "admin-key-for-tests"
#define JWT_SECRET "jwt-secret-for-tests-0123456789abcdef"
#define MAX_PROCS  8

static char g_dir[512];
static int g_rport;
static redisContext *g_r;
static struct rt_test_proc *g_procs[MAX_PROCS];
static const char *g_scenario;

static void cleanup(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (g_procs[i] && g_procs[i]->pid > 0)
            rt_test_proc_stop(g_procs[i], SIGKILL, 5000);
    if (g_r)
        redisFree(g_r);
    g_r = NULL;
    if (g_dir[0])
        rt_test_fixture("redis.sh", "stop", g_dir, NULL);
}

static void fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d [%s] ", file, line, g_scenario);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    for (int i = 0; i < MAX_PROCS; i++)
        if (g_procs[i] && g_procs[i]->log_path[0])
            fprintf(stderr, "  log of process %d: %s\n", i, g_procs[i]->log_path);
    cleanup();
    exit(1);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail(__FILE__, __LINE__, __VA_ARGS__);                                                 \
    } while (0)

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* Polls expr every 20 ms until true or timeout_ms. */
#define WAIT_UNTIL(expr, timeout_ms)                                                               \
    ({                                                                                             \
        uint64_t wu_end_ = wall_ms() + (timeout_ms);                                               \
        bool wu_ok_;                                                                               \
        while (!(wu_ok_ = (expr)) && wall_ms() < wu_end_)                                          \
            sleep_ms(20);                                                                          \
        wu_ok_;                                                                                    \
    })

static void iso(uint64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

/* ---- Redis ---- */

static void redis_start(void)
{
    const char *root = getenv("RT_TEST_STATE");
    char buf[32];
    snprintf(g_dir, sizeof(g_dir), "%s/health-%s", root ? root : "/tmp", g_scenario);
    CHECK(rt_test_fixture("redis.sh", "start", g_dir, "private") == 0, "redis start");
    char path[600];
    snprintf(path, sizeof(path), "%s/port", g_dir);
    FILE *f = fopen(path, "r");
    CHECK(f && fgets(buf, sizeof(buf), f), "redis port file");
    fclose(f);
    g_rport = atoi(buf);
    g_r = redisConnect("127.0.0.1", g_rport);
    CHECK(g_r && !g_r->err, "redis connect");
}

static redisReply *cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g_r, fmt, ap);
    va_end(ap);
    CHECK(r, "redis command failed: %s", g_r->errstr);
    return r;
}

static long long cmd_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g_r, fmt, ap);
    va_end(ap);
    CHECK(r, "redis command failed");
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -1;
    freeReplyObject(r);
    return v;
}

/* One field of the call record rt:{<tenant>}:h:c:<id> (fields joined by '|', in the order of
 * HEALTH_LUA_CALL) into out; false when the call is unknown or the field not known. */
static bool call_field(const char *tenant, const char *id, const char *field, char *out, size_t cap)
{
    static const char *const names[] = {"state", "rank",    "started",  "last",   "answered",
                                        "ended", "outcome", "provider", "tmo_min"};
    size_t want = sizeof(names) / sizeof(names[0]);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], field) == 0)
            want = i;
    redisReply *r = cmd("GET rt:{%s}:h:c:%s", tenant, id);
    bool ok = false;
    if (r->type == REDIS_REPLY_STRING && want < sizeof(names) / sizeof(names[0])) {
        const char *p = r->str;
        for (size_t i = 0; i < want && p; i++) {
            p = strchr(p, '|');
            p = p ? p + 1 : NULL;
        }
        if (p) {
            size_t n = strcspn(p, "|");
            snprintf(out, cap, "%.*s", (int)n, p);
            ok = true;
        }
    }
    freeReplyObject(r);
    return ok;
}

/* A field of a call's record as a string compare. */
static bool call_is(const char *tenant, const char *id, const char *field, const char *want)
{
    char v[256];
    return call_field(tenant, id, field, v, sizeof(v)) && strcmp(v, want) == 0;
}

static char *event_json(const char *tenant, const char *event, const char *call_id,
                        const char *state, const char *outcome, uint64_t ts_ms,
                        const char *provider, uint64_t received_ms)
{
    char ts[64], rcv[64];
    iso(ts_ms, ts, sizeof(ts));
    json_t *data = json_pack("{s:s,s:s}", "call_id", call_id, "state", state);
    if (outcome)
        json_object_set_new(data, "outcome", json_string(outcome));
    if (provider) {
        iso(received_ms, rcv, sizeof(rcv));
        json_object_set_new(data, "provider", json_string(provider));
        json_object_set_new(data, "received_at", json_string(rcv));
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "channel", "calls", "event", event, "tenant",
                          tenant, "ts", ts, "data", data);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void publish(const char *tenant, const char *event, const char *call_id, const char *state,
                    const char *outcome, uint64_t ts_ms, const char *provider, uint64_t received_ms)
{
    char *s = event_json(tenant, event, call_id, state, outcome, ts_ms, provider, received_ms);
    redisReply *r = cmd("XADD rt:calls:all * e %s", s);
    CHECK(r->type == REDIS_REPLY_STRING, "XADD failed");
    freeReplyObject(r);
    free(s);
}

/* Pending plus undelivered entries of the group (XINFO GROUPS); -1 before the group exists. */
static long long group_backlog(void)
{
    redisReply *r = redisCommand(g_r, "XINFO GROUPS rt:calls:all");
    long long out = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *g = r->element[0];
        long long pending = -1, lag = -1;
        for (size_t i = 0; i + 1 < g->elements; i += 2) {
            if (strcmp(g->element[i]->str, "pending") == 0)
                pending = g->element[i + 1]->integer;
            if (strcmp(g->element[i]->str, "lag") == 0 &&
                g->element[i + 1]->type == REDIS_REPLY_INTEGER)
                lag = g->element[i + 1]->integer;
        }
        if (pending >= 0 && lag >= 0)
            out = pending + lag;
    }
    if (r)
        freeReplyObject(r);
    return out;
}

static long long entries_read(void)
{
    redisReply *r = redisCommand(g_r, "XINFO GROUPS rt:calls:all");
    long long out = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *g = r->element[0];
        for (size_t i = 0; i + 1 < g->elements; i += 2)
            if (strcmp(g->element[i]->str, "entries-read") == 0 &&
                g->element[i + 1]->type == REDIS_REPLY_INTEGER)
                out = g->element[i + 1]->integer;
    }
    if (r)
        freeReplyObject(r);
    return out;
}

/* Consumers in the group. */
static long long consumers(void)
{
    redisReply *r = cmd("XINFO CONSUMERS rt:calls:all rt-health");
    long long n = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
    freeReplyObject(r);
    return n;
}

/* call_timeout events for a call on the tenant's calls stream. */
static int timeouts_emitted(const char *tenant, const char *call_id)
{
    char needle[200];
    int n = 0;
    snprintf(needle, sizeof(needle), "\"call_id\":\"%s\"", call_id);
    redisReply *r = cmd("XRANGE rt:{%s}:calls - +", tenant);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *e = r->element[i]->element[1]->element[1]->str;
        if (strstr(e, "\"event\":\"call_timeout\"") && strstr(e, needle))
            n++;
    }
    freeReplyObject(r);
    return n;
}

/* ---- rt-health ---- */

static int health_start(struct rt_test_proc *p, const char *const *extra)
{
    static char bin[600];
    char line[2048];
    char *env[32];
    int n = 0;
    const char *b = getenv("RT_TEST_BIN");
    snprintf(bin, sizeof(bin), "%s/broker/rt-health", b ? b : ".");
    char *argv[] = {bin, NULL};
    char url[128], listen[] = "RT_HEALTH_LISTEN=127.0.0.1:0";
    snprintf(url, sizeof(url), "RT_REDIS_URL=redis://127.0.0.1:%d/0", g_rport);
    env[n++] = url;
    env[n++] = listen;
    env[n++] = "RT_ADMIN_KEY=" ADMIN_KEY;
    env[n++] = "RT_JWT_SECRET=" JWT_SECRET;
    for (; extra && *extra && n < 30; extra++)
        env[n++] = (char *)*extra;
    env[n] = NULL;
    for (int i = 0; i < MAX_PROCS; i++)
        if (!g_procs[i] || g_procs[i] == p || g_procs[i]->pid <= 0) {
            g_procs[i] = p;
            break;
        }
    CHECK(rt_test_proc_start(p, argv, env) == 0, "start rt-health");
    CHECK(rt_test_proc_wait_log(p, "\"process.ready\"", 10000, line, sizeof(line)),
          "rt-health not ready");
    int port = rt_test_url_port(line);
    CHECK(port > 0, "no port in ready line");
    CHECK(rt_test_proc_wait_log(p, "\"health.consuming\"", 10000, NULL, 0), "not consuming");
    return port;
}

/* GET with an optional bearer; returns the parsed body (NULL if not JSON). */
static json_t *http_get(int port, const char *path, const char *bearer, int *status)
{
    char hdr[4096] = "", *body = NULL;
    if (bearer)
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", bearer);
    *status = rt_test_http(port, "GET", path, hdr, NULL, 0, &body);
    json_t *o = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return o;
}

static json_t *check_tenant(int port, const char *tenant)
{
    char path[256];
    int st;
    snprintf(path, sizeof(path), "/api/calls/health-check?tenant=%s", tenant);
    json_t *o = http_get(port, path, ADMIN_KEY, &st);
    CHECK(st == 200 && o, "health-check %s answered %d", tenant, st);
    return o;
}

static long long jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static double jrate(json_t *o, const char *k, const char *w)
{
    return json_real_value(json_object_get(json_object_get(o, k), w));
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long report_int(int port, const char *tenant, const char *k)
{
    json_t *o = check_tenant(port, tenant);
    long long v = jint(o, k);
    json_decref(o);
    return v;
}

/* ---- scenarios ---- */

/* A call with no events past its timeout is reported and emitted once (two instances run, so
 * "once" is tested against a real race); one inside ring timeout + grace is not; a late real
 * call_ended replaces the timeout. */
static void scenario_timeouts(void)
{
    static const char *const env[] = {"RT_HEALTH_RING_TIMEOUT_MS=500", "RT_HEALTH_GRACE_MS=4000",
                                      "RT_HEALTH_TICK_MS=50", "RT_HEALTH_INTERVAL_MS=500", NULL};
    struct rt_test_proc a, b;
    redis_start();
    uint64_t started = wall_ms();
    int port = health_start(&a, env);
    health_start(&b, env);
    uint64_t now = wall_ms();
    publish("tmo", "new_call", "old", "initiated", NULL, now - 10000, "twilio", now);
    publish("tmo", "new_call", "young", "initiated", NULL, now, "twilio", now);
    publish("tmo", "call_update", "young", "ringing", NULL, now + 1, "twilio", now);

    CHECK(WAIT_UNTIL(call_is("tmo", "old", "state", "timed_out"), 5000), "old call not timed out");
    /* a timed-out call's record has the ended-call TTL */
    CHECK(cmd_int("TTL rt:{tmo}:h:c:old") > 0, "timed-out call without TTL");
    /* several more scans of both instances: still one event */
    sleep_ms(500);
    CHECK(timeouts_emitted("tmo", "old") == 1, "old call: %d call_timeout events",
          timeouts_emitted("tmo", "old"));
    if (wall_ms() < now + 3500) {
        CHECK(call_is("tmo", "young", "state", "ringing"), "young call moved early");
        /* a live call's record has no TTL: the due index owns it */
        CHECK(cmd_int("TTL rt:{tmo}:h:c:young") == -1, "live call with a TTL");
        CHECK(timeouts_emitted("tmo", "young") == 0, "young call timed out inside grace");
        json_t *o = check_tenant(port, "tmo");
        CHECK(jint(o, "recent_timeouts") == 1, "recent_timeouts %lld", jint(o, "recent_timeouts"));
        CHECK(jint(o, "active_calls") == 1, "active %lld", jint(o, "active_calls"));
        json_decref(o);
    } else {
        fprintf(stderr, "note: machine too slow to observe the grace period window\n");
    }
    /* the young call times out, but never before its grace period ended */
    CHECK(WAIT_UNTIL(call_is("tmo", "young", "state", "timed_out"), 10000),
          "young call never timed out");
    /* the spec's deadline: ring timeout plus grace after the start (500 + 4000 ms) */
    char ended_s[32] = "";
    CHECK(call_field("tmo", "young", "ended", ended_s, sizeof(ended_s)), "young call unknown");
    long long ended = atoll(ended_s);
    CHECK(ended >= (long long)now + 4500, "young call timed out %lld ms after start",
          ended - (long long)now);
    CHECK(timeouts_emitted("tmo", "young") == 1, "young call emitted %d times",
          timeouts_emitted("tmo", "young"));

    /* a late real call_ended replaces the timeout of the old call; a late ringing changes
     * nothing on the young one */
    uint64_t later = wall_ms();
    publish("tmo", "call_ended", "old", "ended", "completed", later, "twilio", later);
    publish("tmo", "call_update", "young", "ringing", NULL, later, "twilio", later);
    CHECK(WAIT_UNTIL(call_is("tmo", "old", "state", "ended"), 5000), "timeout not replaced");
    CHECK(call_is("tmo", "old", "outcome", "completed"), "outcome not completed");
    CHECK(cmd_int("TTL rt:{tmo}:h:c:old") > 0, "ended call without TTL");
    CHECK(WAIT_UNTIL(group_backlog() == 0, 5000), "backlog");
    CHECK(call_is("tmo", "young", "state", "timed_out"), "late ringing moved state");
    json_t *o = check_tenant(port, "tmo");
    CHECK(jint(o, "recent_timeouts") == 1, "recent_timeouts %lld after replace",
          jint(o, "recent_timeouts"));
    CHECK(jint(o, "active_calls") == 0, "active %lld", jint(o, "active_calls"));
    CHECK(jint(json_object_get(o, "terminal_calls"), "5m") == 2, "terminal 5m");
    CHECK(jrate(o, "failure_rate", "5m") == 1.0 / 2.0, "failure 5m %.17g",
          jrate(o, "failure_rate", "5m"));
    CHECK(jrate(o, "answer_rate", "5m") == 1.0 / 2.0, "answer 5m");
    json_decref(o);
    sleep_ms(300);
    CHECK(timeouts_emitted("tmo", "old") == 1, "old call re-emitted after replace");
    /* snapshots every 500 ms from the leader only, not from both instances */
    long long snaps = 0, elapsed = (long long)(wall_ms() - started);
    redisReply *r = cmd("XRANGE rt:{tmo}:health - +");
    for (size_t i = 0; i < r->elements; i++)
        snaps += strstr(r->element[i]->element[1]->element[1]->str,
                        "\"event\":\"health_snapshot\"") != NULL;
    freeReplyObject(r);
    printf("%lld snapshots in %lld ms at a 500 ms interval, two instances\n", snaps, elapsed);
    CHECK(snaps >= 2 && snaps <= elapsed / 500 + 2, "%lld snapshots in %lld ms", snaps, elapsed);
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health a exit");
    CHECK(rt_test_proc_stop(&b, SIGTERM, 10000) == 0, "rt-health b exit");
}

/* A call_ended already in rt:calls:all but not applied yet wins over the timeout, however late
 * it came: rt-health is stopped while calls are live, their deadlines pass, their call_ended
 * events are added (one left pending by a consumer that died, one simply not read yet), then
 * rt-health starts: those calls end and no call_timeout is ever published for them. A live call
 * without an end event still times out while the dead consumer's entry waits to be claimed. */
static void scenario_backlog(void)
{
    static const char *const env[] = {"RT_HEALTH_RING_TIMEOUT_MS=300", "RT_HEALTH_GRACE_MS=1700",
                                      "RT_HEALTH_TICK_MS=20",          "RT_HEALTH_BLOCK_MS=200",
                                      "RT_HEALTH_CLAIM_IDLE_MS=2000",  NULL};
    struct rt_test_proc a;
    redis_start();
    health_start(&a, env);
    uint64_t t0 = wall_ms();
    publish("bl", "new_call", "claimed", "initiated", NULL, t0, "twilio", t0);
    publish("bl", "new_call", "unread", "initiated", NULL, t0, "twilio", t0);
    CHECK(WAIT_UNTIL(call_is("bl", "claimed", "state", "initiated") &&
                         call_is("bl", "unread", "state", "initiated"),
                     5000),
          "calls not applied");
    CHECK(wall_ms() < t0 + 1500, "machine too slow: the calls were due before rt-health stopped");
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
    CHECK(!call_is("bl", "claimed", "state", "timed_out"), "timed out before the stop");
    /* past every deadline (t0 + 300 + 1700): the ends come after it */
    while (wall_ms() < t0 + 2500)
        sleep_ms(50);
    uint64_t t1 = wall_ms();
    publish("bl", "call_ended", "claimed", "ended", "completed", t1, "twilio", t1);
    /* a consumer reads that entry and dies: it stays pending until claimed */
    freeReplyObject(cmd("XREADGROUP GROUP rt-health dead COUNT 1 STREAMS rt:calls:all >"));
    publish("bl", "new_call", "silent", "initiated", NULL, t1 - 5000, "twilio", t1);
    publish("bl", "call_ended", "unread", "ended", "busy", t1, "twilio", t1);
    int port = health_start(&a, env);
    /* the call without an end times out while the dead consumer's entries wait */
    CHECK(WAIT_UNTIL(call_is("bl", "silent", "state", "timed_out"), 5000),
          "silent call not timed out");
    CHECK(timeouts_emitted("bl", "silent") == 1, "silent call: %d call_timeout events",
          timeouts_emitted("bl", "silent"));
    CHECK(WAIT_UNTIL(call_is("bl", "unread", "state", "ended"), 5000),
          "unread call_ended not applied");
    bool claimed_early = call_is("bl", "claimed", "state", "ended");
    printf("silent call timed out %s the dead consumer's entries were claimed\n",
           claimed_early ? "after" : "before");
    CHECK(WAIT_UNTIL(call_is("bl", "claimed", "state", "ended"), 10000),
          "claimed call_ended not applied");
    CHECK(rt_test_proc_wait_log(&a, "\"health.claimed\"", 5000, NULL, 0), "nothing claimed");
    CHECK(WAIT_UNTIL(group_backlog() == 0, 5000), "backlog");
    sleep_ms(300); /* more scans */
    CHECK(timeouts_emitted("bl", "claimed") == 0, "call_timeout after a pending call_ended");
    CHECK(timeouts_emitted("bl", "unread") == 0, "call_timeout after an unread call_ended");
    CHECK(call_is("bl", "claimed", "outcome", "completed"), "claimed outcome");
    CHECK(call_is("bl", "unread", "outcome", "busy"), "unread outcome");
    CHECK(cmd_int("EXISTS rt:{bl}:h:tmo:claimed") == 0, "dedupe mark of a call never timed out");
    json_t *o = check_tenant(port, "bl");
    CHECK(jint(o, "active_calls") == 0, "active %lld", jint(o, "active_calls"));
    CHECK(jint(o, "recent_timeouts") == 1, "recent_timeouts %lld", jint(o, "recent_timeouts"));
    json_decref(o);
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
}

/* Staleness appears only while calls are active and clears on the next webhook. */
static void scenario_staleness(void)
{
    static const char *const env[] = {"RT_HEALTH_WEBHOOK_STALE_MS=3000", "RT_HEALTH_TICK_MS=50",
                                      NULL};
    struct rt_test_proc a;
    redis_start();
    int port = health_start(&a, env);
    uint64_t now = wall_ms();
    /* an old webhook, no call active: not stale */
    publish("st", "call_ended", "c0", "ended", "completed", now - 20000, "twilio", now - 20000);
    CHECK(WAIT_UNTIL(report_int(port, "st", "total_calls") == 1, 5000), "c0 not applied");
    json_t *o = check_tenant(port, "st");
    json_t *tw = json_object_get(json_object_get(o, "webhooks"), "twilio");
    CHECK(tw && json_is_false(json_object_get(tw, "stale")), "stale without active calls");
    CHECK(strcmp(jstr(o, "status"), "healthy") == 0, "status %s", jstr(o, "status"));
    json_decref(o);

    /* a call becomes active, the newest webhook is 20 s old: stale, degraded */
    publish("st", "new_call", "c1", "initiated", NULL, now - 20000, "twilio", now - 20000);
    CHECK(WAIT_UNTIL(report_int(port, "st", "active_calls") == 1, 5000), "c1 not active");
    o = check_tenant(port, "st");
    tw = json_object_get(json_object_get(o, "webhooks"), "twilio");
    CHECK(json_is_true(json_object_get(tw, "stale")), "not stale with an active call");
    CHECK(strcmp(jstr(o, "status"), "degraded") == 0, "status %s", jstr(o, "status"));
    CHECK(strcmp(jstr(o, "reason"), "webhook_stale") == 0, "reason %s", jstr(o, "reason"));
    json_decref(o);

    /* the next webhook clears it */
    uint64_t t2 = wall_ms();
    publish("st", "call_update", "c1", "ringing", NULL, t2, "twilio", t2);
    CHECK(WAIT_UNTIL(cmd_int("HGET rt:{st}:h:tenant twilio:at") == (long long)t2, 5000),
          "webhook time not stored");
    o = check_tenant(port, "st");
    tw = json_object_get(json_object_get(o, "webhooks"), "twilio");
    CHECK(wall_ms() - t2 < 3000, "machine too slow for this check");
    CHECK(json_is_false(json_object_get(tw, "stale")), "still stale after a webhook");
    CHECK(strcmp(jstr(o, "status"), "healthy") == 0, "status %s", jstr(o, "status"));
    json_decref(o);

    /* silence while the call is active: stale again once the bound passes */
    sleep_ms(3200);
    o = check_tenant(port, "st");
    tw = json_object_get(json_object_get(o, "webhooks"), "twilio");
    CHECK(json_is_true(json_object_get(tw, "stale")), "silence not detected");
    json_decref(o);
    /* the call ends (with an old receipt time): no active call, not stale */
    publish("st", "call_ended", "c1", "ended", "completed", t2 + 1, "twilio", t2 + 1);
    CHECK(WAIT_UNTIL(report_int(port, "st", "active_calls") == 0, 5000), "c1 still active");
    o = check_tenant(port, "st");
    tw = json_object_get(json_object_get(o, "webhooks"), "twilio");
    CHECK(json_is_false(json_object_get(tw, "stale")), "stale without active calls");
    json_decref(o);
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
}

/* Failure and unanswered rates over a scripted mix of outcomes equal hand-computed figures. */
static void scenario_rates(void)
{
    static const char *const env[] = {"RT_HEALTH_RING_TIMEOUT_MS=1000", "RT_HEALTH_GRACE_MS=0",
                                      "RT_HEALTH_TICK_MS=50", NULL};
    /* minutes ago, outcome, how many: offsets avoid window edges (4, 14, 59) so that a minute
     * boundary passing during the test shifts nothing across one */
    static const struct {
        int ago;
        const char *outcome;
        int n;
    } mix[] = {{1, "completed", 3},  {1, "failed", 1},  {1, "busy", 1},       {3, "no_answer", 2},
               {3, "canceled", 1},   {10, "failed", 2}, {10, "completed", 1}, {10, "rejected", 1},
               {30, "completed", 4}, {30, "busy", 1},   {70, "failed", 5}};
    struct rt_test_proc a;
    redis_start();
    int port = health_start(&a, env);
    uint64_t now = wall_ms();
    int id = 0;
    for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++)
        for (int k = 0; k < mix[i].n; k++) {
            char cid[32];
            snprintf(cid, sizeof(cid), "r%d", id++);
            /* terminal first: the call is created ended, so no timeout can race it */
            uint64_t ts = now - (uint64_t)mix[i].ago * 60000;
            publish("rt1", "call_ended", cid, "ended", mix[i].outcome, ts, NULL, 0);
        }
    /* one call that times out now (counted in the current minute) */
    publish("rt1", "new_call", "tmo", "initiated", NULL, now - 600000, NULL, 0);
    CHECK(WAIT_UNTIL(call_is("rt1", "tmo", "state", "timed_out"), 5000), "no timeout");
    CHECK(WAIT_UNTIL(group_backlog() == 0, 5000), "backlog");
    json_t *o = check_tenant(port, "rt1");
    CHECK(jint(o, "total_calls") == 23, "total %lld", jint(o, "total_calls"));
    /* 5m: completed 3, failed 1, busy 1, no_answer 2, canceled 1, timed_out 1 = 9 */
    CHECK(jint(json_object_get(o, "terminal_calls"), "5m") == 9, "terminal 5m");
    CHECK(jrate(o, "failure_rate", "5m") == 2.0 / 9.0, "failure 5m %.17g",
          jrate(o, "failure_rate", "5m"));
    CHECK(jrate(o, "unanswered_rate", "5m") == 4.0 / 9.0, "unanswered 5m");
    CHECK(jrate(o, "answer_rate", "5m") == 3.0 / 9.0, "answer 5m");
    /* 15m: + failed 2, completed 1, rejected 1 = 13 */
    CHECK(jint(json_object_get(o, "terminal_calls"), "15m") == 13, "terminal 15m");
    CHECK(jrate(o, "failure_rate", "15m") == 4.0 / 13.0, "failure 15m %.17g",
          jrate(o, "failure_rate", "15m"));
    CHECK(jrate(o, "unanswered_rate", "15m") == 5.0 / 13.0, "unanswered 15m");
    CHECK(jrate(o, "answer_rate", "15m") == 4.0 / 13.0, "answer 15m");
    /* 60m: + completed 4, busy 1 = 18; the 5 failures 70 min ago are outside */
    CHECK(jint(json_object_get(o, "terminal_calls"), "60m") == 18, "terminal 60m");
    CHECK(jrate(o, "failure_rate", "60m") == 4.0 / 18.0, "failure 60m %.17g",
          jrate(o, "failure_rate", "60m"));
    CHECK(jrate(o, "unanswered_rate", "60m") == 6.0 / 18.0, "unanswered 60m");
    CHECK(jrate(o, "answer_rate", "60m") == 8.0 / 18.0, "answer 60m");
    CHECK(jint(o, "recent_timeouts") == 1, "recent_timeouts");
    /* 2/9 = 22 % failures over 9 >= 5 calls: degraded (default thresholds 10 % / 30 %) */
    CHECK(strcmp(jstr(o, "status"), "degraded") == 0, "status %s", jstr(o, "status"));
    CHECK(strcmp(jstr(o, "reason"), "failure_rate") == 0, "reason %s", jstr(o, "reason"));
    json_decref(o);
    /* the change was published on the tenant's health channel */
    CHECK(WAIT_UNTIL(cmd_int("XLEN rt:{rt1}:health") >= 1, 5000), "no health event");
    redisReply *r = cmd("XREVRANGE rt:{rt1}:health + - COUNT 20");
    bool seen = false;
    for (size_t i = 0; i < r->elements; i++) {
        const char *e = r->element[i]->element[1]->element[1]->str;
        seen = seen ||
               (strstr(e, "\"event\":\"health_status\"") && strstr(e, "\"status\":\"degraded\""));
    }
    freeReplyObject(r);
    CHECK(seen, "no health_status degraded event");
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
}

static void b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
    unsigned char buf[1024];
    int len = EVP_EncodeBlock(buf, in, (int)n);
    size_t j = 0;
    for (int i = 0; i < len && j + 1 < cap; i++) {
        char c = (char)buf[i];
        if (c == '=')
            break;
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = '\0';
}

/* An HS256 token of a tenant, minted here with OpenSSL. */
static void mint_jwt(const char *tenant, const char *secret, char *out, size_t cap)
{
    char head[128], body[512], signing[700], payload[256], sig[128];
    unsigned char mac[32];
    unsigned maclen = 0;
    const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-1\",\"org_id\":\"%s\",\"exp\":%llu}",
             tenant, (unsigned long long)(wall_ms() / 1000 + 600));
    b64url((const unsigned char *)h, strlen(h), head, sizeof(head));
    b64url((const unsigned char *)payload, strlen(payload), body, sizeof(body));
    snprintf(signing, sizeof(signing), "%s.%s", head, body);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing, strlen(signing),
         mac, &maclen);
    b64url(mac, maclen, sig, sizeof(sig));
    snprintf(out, cap, "%s.%s", signing, sig);
}

/* health-check authorization: other tenant's token 403, no token 401, admin key works, unknown
 * tenant answers an empty healthy report; summary: a tenant token 403, a bad one 401. */
static void scenario_auth(void)
{
    struct rt_test_proc a;
    int st;
    redis_start();
    int port = health_start(&a, NULL);
    uint64_t now = wall_ms();
    publish("acme", "new_call", "a1", "initiated", NULL, now, "twilio", now);
    CHECK(WAIT_UNTIL(group_backlog() == 0, 5000), "backlog");

    json_t *o = http_get(port, "/api/calls/health-check?tenant=acme", NULL, &st);
    CHECK(st == 401, "no token: %d", st);
    json_decref(o);
    o = http_get(port, "/api/calls/health-check?tenant=acme", "not-the-key", &st);
    CHECK(st == 401, "wrong key: %d", st);
    json_decref(o);
    o = http_get(port, "/api/calls/health-check?tenant=acme", ADMIN_KEY, &st);
    CHECK(st == 200 && jint(o, "active_calls") == 1, "admin: %d", st);
    json_decref(o);
    o = http_get(port, "/api/calls/health-check", ADMIN_KEY, &st);
    CHECK(st == 400, "no tenant: %d", st);
    json_decref(o);
    o = http_get(port, "/api/calls/health-check?tenant=../x", ADMIN_KEY, &st);
    CHECK(st == 400, "bad tenant: %d", st);
    json_decref(o);

    /* unknown tenant: an empty healthy report */
    o = http_get(port, "/api/calls/health-check?tenant=nobody", ADMIN_KEY, &st);
    CHECK(st == 200 && o, "unknown tenant: %d", st);
    CHECK(strcmp(jstr(o, "status"), "healthy") == 0, "unknown tenant status %s", jstr(o, "status"));
    CHECK(jint(o, "active_calls") == 0 && jint(o, "total_calls") == 0, "unknown tenant figures");
    CHECK(json_object_size(json_object_get(o, "webhooks")) == 0, "unknown tenant webhooks");
    CHECK(jrate(o, "failure_rate", "5m") == 0.0, "unknown tenant rate");
    json_decref(o);

    /* summary: admin key only */
    o = http_get(port, "/api/v1/health/summary", NULL, &st);
    CHECK(st == 401, "summary without key: %d", st);
    json_decref(o);
    char tok[1024], bad[1024];
    mint_jwt("acme", JWT_SECRET, tok, sizeof(tok));
    o = http_get(port, "/api/calls/health-check?tenant=acme", tok, &st);
    CHECK(st == 200 && jint(o, "active_calls") == 1, "own tenant token: %d", st);
    json_decref(o);
    o = http_get(port, "/api/calls/health-check?tenant=other", tok, &st);
    CHECK(st == 403, "other tenant's token: %d", st);
    json_decref(o);
    /* a valid tenant token is authenticated but not admin: 403; a forged one stays 401 */
    o = http_get(port, "/api/v1/health/summary", tok, &st);
    CHECK(st == 403, "summary with a tenant token: %d", st);
    json_decref(o);
    mint_jwt("acme", "some-other-secret-0123456789abcdef", bad, sizeof(bad));
    o = http_get(port, "/api/calls/health-check?tenant=acme", bad, &st);
    CHECK(st == 401, "token with a bad signature: %d", st);
    json_decref(o);
    o = http_get(port, "/api/v1/health/summary", bad, &st);
    CHECK(st == 401, "summary with a badly signed token: %d", st);
    json_decref(o);
    o = http_get(port, "/api/v1/health/summary", ADMIN_KEY, &st);
    CHECK(st == 200 && o, "summary: %d", st);
    CHECK(json_object_get(json_object_get(o, "tenants"), "acme"), "summary lacks acme");
    CHECK(jint(json_object_get(o, "counts"), "healthy") == 1, "summary counts");
    json_t *comp = json_object_get(json_object_get(o, "components"), "rt-health");
    CHECK(comp, "summary lacks components");
    json_decref(o);
    /* liveness: the instance registered itself */
    CHECK(WAIT_UNTIL(cmd_int("ZCARD rt:instances") == 1, 5000), "not registered");
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");

    /* a JWKS URL: rt-health reads a file only, and says so instead of refusing every token */
    static char bin[600];
    const char *b = getenv("RT_TEST_BIN");
    snprintf(bin, sizeof(bin), "%s/broker/rt-health", b ? b : ".");
    char *argv[] = {bin, NULL};
    char *env[] = {"RT_HEALTH_LISTEN=127.0.0.1:0", "RT_JWT_JWKS=https://idp.example/jwks.json",
                   NULL};
    struct rt_test_proc u;
    CHECK(rt_test_proc_start(&u, argv, env) == 0, "start rt-health with a JWKS URL");
    CHECK(rt_test_proc_wait_log(&u, "RT_JWT_JWKS", 5000, NULL, 0), "no message naming the setting");
    /* signal 0: only wait, so the exit status is the process's own */
    CHECK(rt_test_proc_stop(&u, 0, 10000) == 2, "a JWKS URL must exit 2");
}

static int readyz(int port, char *reason, size_t cap)
{
    int st;
    json_t *o = http_get(port, "/readyz", NULL, &st);
    if (reason)
        snprintf(reason, cap, "%s", jstr(o, "reason"));
    json_decref(o);
    return st;
}

/* /readyz 503 when Redis is stopped and when the consumer lags beyond the bound. */
static void scenario_readyz(void)
{
    static const char *const env[] = {"RT_HEALTH_MAX_LAG=20", "RT_HEALTH_TICK_MS=50",
                                      "RT_HEALTH_BLOCK_MS=200", NULL};
    struct rt_test_proc a;
    char reason[256] = "";
    redis_start();
    int port = health_start(&a, env);
    CHECK(WAIT_UNTIL(readyz(port, NULL, 0) == 200, 5000), "never ready");

    /* a real lag: the consumer's XREADGROUP is refused by an ACL while events keep coming */
    freeReplyObject(cmd("ACL SETUSER default -xreadgroup"));
    uint64_t now = wall_ms();
    for (int i = 0; i < 50; i++) {
        char cid[16];
        snprintf(cid, sizeof(cid), "l%d", i);
        publish("lag", "call_ended", cid, "ended", "completed", now, NULL, 0);
    }
    CHECK(WAIT_UNTIL(readyz(port, reason, sizeof(reason)) == 503, 5000), "lag not detected");
    CHECK(strstr(reason, "lag"), "reason: %s", reason);
    freeReplyObject(cmd("ACL SETUSER default +xreadgroup"));
    CHECK(WAIT_UNTIL(readyz(port, NULL, 0) == 200, 10000), "not ready after catching up");
    CHECK(report_int(port, "lag", "total_calls") == 50, "events lost while lagging");

    /* Redis stopped */
    redisFree(g_r);
    g_r = NULL;
    CHECK(rt_test_fixture("redis.sh", "stop", g_dir, NULL) == 0, "redis stop");
    CHECK(WAIT_UNTIL(readyz(port, reason, sizeof(reason)) == 503, 5000), "redis down: ready");
    CHECK(strstr(reason, "redis"), "reason: %s", reason);
    CHECK(rt_test_fixture("redis.sh", "restart", g_dir, NULL) == 0, "redis restart");
    g_r = redisConnect("127.0.0.1", g_rport);
    CHECK(g_r && !g_r->err, "redis reconnect");
    CHECK(WAIT_UNTIL(readyz(port, NULL, 0) == 200, 15000), "not ready after redis restart");
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
}

/* A metric's value from /metrics (-1 when absent). */
static double metric(int port, const char *name)
{
    char *body = NULL, needle[128];
    double v = -1;
    if (rt_test_http(port, "GET", "/metrics", NULL, NULL, 0, &body) == 200 && body) {
        snprintf(needle, sizeof(needle), "\n%s ", name);
        const char *at = strstr(body, needle);
        if (at)
            v = strtod(at + strlen(needle), NULL);
    }
    free(body);
    return v;
}

#define SCALE_TENANTS 2000

/* Tenants s<i> whose health stream holds an event of that name with a stream id after since_ms
 * (one pipelined XREVRANGE per tenant). */
static int tenants_with(const char *event, uint64_t since_ms)
{
    char needle[64];
    int n = 0;
    snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
    for (int t = 0; t < SCALE_TENANTS; t++)
        redisAppendCommand(g_r, "XREVRANGE rt:{s%d}:health + - COUNT 4", t);
    for (int t = 0; t < SCALE_TENANTS; t++) {
        redisReply *r;
        CHECK(redisGetReply(g_r, (void **)&r) == REDIS_OK, "pipelined XREVRANGE");
        bool seen = false;
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            const redisReply *e = r->element[i];
            seen = seen || (strtoull(e->element[0]->str, NULL, 10) > since_ms &&
                            strstr(e->element[1]->element[1]->str, needle));
        }
        n += seen;
        freeReplyObject(r);
    }
    return n;
}

/* 2,000 tenants touched in one tick: every one gets its status change (the dirty set has no
 * cap), and the periodic pass still snapshots all of them within the interval, in slices of at
 * most 64 tenants per timer turn (the largest slice and the pass duration come from /metrics). */
static void scenario_scale(void)
{
    static const char *const env[] = {"RT_HEALTH_INTERVAL_MS=2000", "RT_HEALTH_TICK_MS=100",
                                      "RT_HEALTH_MIN_CALLS=1", NULL};
    struct rt_test_proc a;
    redis_start();
    int port = health_start(&a, env);
    uint64_t now = wall_ms();
    for (int t = 0; t < SCALE_TENANTS; t++) {
        char tenant[16];
        snprintf(tenant, sizeof(tenant), "s%d", t);
        char *e = event_json(tenant, "call_ended", "c1", "ended", "failed", now, NULL, 0);
        redisAppendCommand(g_r, "XADD rt:calls:all * e %s", e);
        free(e);
    }
    for (int t = 0; t < SCALE_TENANTS; t++) {
        redisReply *r;
        CHECK(redisGetReply(g_r, (void **)&r) == REDIS_OK, "pipelined XADD");
        freeReplyObject(r);
    }
    CHECK(WAIT_UNTIL(group_backlog() == 0, 20000), "backlog %lld", group_backlog());
    /* one failed call of one with a minimum of 1: each tenant turns unhealthy */
    CHECK(WAIT_UNTIL(tenants_with("health_status", 0) == SCALE_TENANTS, 10000),
          "%d of %d tenants got their health_status", tenants_with("health_status", 0),
          SCALE_TENANTS);
    printf("%d health_status events %llu ms after the events were published\n", SCALE_TENANTS,
           (unsigned long long)(wall_ms() - now));
    /* the next passes: every tenant snapshotted after t0, within about one interval */
    uint64_t t0 = wall_ms();
    CHECK(WAIT_UNTIL(tenants_with("health_snapshot", t0) == SCALE_TENANTS, 2 * 2000 + 2000),
          "%d of %d tenants snapshotted", tenants_with("health_snapshot", t0), SCALE_TENANTS);
    double slice = metric(port, "rt_health_check_slice_max"),
           pass = metric(port, "rt_health_snapshot_pass_ms"),
           skipped = metric(port, "rt_health_snapshot_passes_skipped_total");
    printf("%d tenants: all snapshotted %llu ms after t0; last pass %.0f ms at a 2000 ms "
           "interval; largest slice %.0f tenants; passes skipped %.0f\n",
           SCALE_TENANTS, (unsigned long long)(wall_ms() - t0), pass, slice, skipped);
    CHECK(slice >= 1 && slice <= 64, "largest slice %.0f tenants", slice);
    CHECK(pass >= 0 && pass < 2000, "a pass took %.0f ms, over the interval", pass);
    CHECK(skipped == 0, "%.0f passes skipped", skipped);
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
}

#define N_TENANTS 10
#define N_CALLS   2500 /* 4 events each: 10,000 events */

static const char *const call_states[4] = {"initiated", "ringing", "answered", "ended"};
static const char *const call_events[4] = {"new_call", "call_update", "call_update", "call_ended"};
static const char *const mix_outcomes[6] = {"completed", "busy",     "no_answer",
                                            "canceled",  "rejected", "failed"};

/* Publishes events [from, to) of the fixed 10,000-event script, pipelined. */
static void publish_script(uint64_t base, int from, int to)
{
    int sent = 0;
    for (int i = from; i < to; i++) {
        int call = i / 4, step = i % 4;
        char tenant[16], cid[16];
        snprintf(tenant, sizeof(tenant), "k%d", call % N_TENANTS);
        snprintf(cid, sizeof(cid), "c%d", call);
        /* calls that do not answer end from ringing: drop the answered step's state */
        const char *outcome = step == 3 ? mix_outcomes[call % 6] : NULL;
        char *s = event_json(tenant, call_events[step], cid, call_states[step], outcome,
                             base + (uint64_t)call * 10 + (uint64_t)step, "twilio",
                             base + (uint64_t)call * 10 + (uint64_t)step);
        redisAppendCommand(g_r, "XADD rt:calls:all * e %s", s);
        free(s);
        sent++;
    }
    for (int i = 0; i < sent; i++) {
        redisReply *r;
        CHECK(redisGetReply(g_r, (void **)&r) == REDIS_OK, "pipelined XADD");
        freeReplyObject(r);
    }
}

/* The live-call counter of tenant k<t>: a field never written means none (the report reads it
 * the same way). */
static long long active_calls(int t)
{
    long long v = cmd_int("HGET rt:{k%d}:h:tenant active", t);
    return v < 0 && cmd_int("HEXISTS rt:{k%d}:h:tenant active", t) == 0 ? 0 : v;
}

/* Every figure rt-health stores, read straight from Redis, as one comparable string. */
static void counts(char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int t = 0; t < N_TENANTS; t++) {
        long long sum[7] = {0};
        static const char *const f[7] = {"completed", "busy",   "no_answer", "canceled",
                                         "rejected",  "failed", "timed_out"};
        redisReply *keys = cmd("KEYS rt:{k%d}:h:m:*", t);
        for (size_t i = 0; i < keys->elements; i++)
            for (int k = 0; k < 7; k++) {
                long long v = cmd_int("HGET %s %s", keys->element[i]->str, f[k]);
                sum[k] += v > 0 ? v : 0;
            }
        freeReplyObject(keys);
        n += (size_t)snprintf(out + n, cap - n,
                              "k%d calls=%lld events=%lld active=%lld c=%lld b=%lld na=%lld "
                              "ca=%lld r=%lld f=%lld to=%lld; ",
                              t, cmd_int("HGET rt:{k%d}:h:tenant calls", t),
                              cmd_int("HGET rt:{k%d}:h:tenant events", t), active_calls(t), sum[0],
                              sum[1], sum[2], sum[3], sum[4], sum[5], sum[6]);
    }
    n += (size_t)snprintf(out + n, cap - n, "due=%lld", cmd_int("ZCARD rt:health:due"));
}

static void wait_drained(const char *what)
{
    CHECK(WAIT_UNTIL(group_backlog() == 0, 60000), "%s: backlog %lld", what, group_backlog());
}

/* kill -9 rt-health in the middle of 10,000 events and restart it: the counts equal those of
 * a run without the kill; two instances at once give the same counts as one. */
static void scenario_restart(void)
{
    /* no timeout may fire during the runs: they would depend on timing */
    static const char *const env[] = {"RT_HEALTH_RING_TIMEOUT_MS=3600000",
                                      "RT_HEALTH_CLAIM_IDLE_MS=500", "RT_HEALTH_BATCH=64",
                                      "RT_HEALTH_TICK_MS=100", NULL};
    static char ref[8192], got[8192];
    struct rt_test_proc a, b;
    redis_start();
    uint64_t base = wall_ms() - 120000;

    /* reference: one instance, no kill */
    health_start(&a, env);
    uint64_t t0 = wall_ms();
    publish_script(base, 0, 4 * N_CALLS);
    wait_drained("reference");
    printf("reference run: 10000 events applied in %llu ms (publish included)\n",
           (unsigned long long)(wall_ms() - t0));
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
    counts(ref, sizeof(ref));
    CHECK(strstr(ref, "k0 calls=250 events=1000 active=0"), "reference counts look wrong: %s", ref);
    printf("reference: %s\n", ref);

    /* kill -9 in the middle */
    freeReplyObject(cmd("FLUSHALL"));
    health_start(&a, env);
    publish_script(base, 0, 2 * N_CALLS);
    CHECK(WAIT_UNTIL(entries_read() >= 500, 20000), "nothing consumed");
    long long at_kill = entries_read();
    CHECK(rt_test_proc_stop(&a, SIGKILL, 5000) == 128 + SIGKILL, "kill -9");
    long long pending = cmd_int("XLEN rt:calls:all") - at_kill;
    printf("killed after %lld of %d entries were read (%lld not yet read)\n", at_kill, 4 * N_CALLS,
           pending);
    CHECK(at_kill < 4 * N_CALLS, "kill came too late");
    publish_script(base, 2 * N_CALLS, 4 * N_CALLS);
    redisReply *xp = cmd("XPENDING rt:calls:all rt-health");
    long long left_pending = xp->type == REDIS_REPLY_ARRAY ? xp->element[0]->integer : 0;
    freeReplyObject(xp);
    printf("entries left pending by the killed consumer: %lld\n", left_pending);
    health_start(&a, env);
    wait_drained("after restart");
    if (left_pending > 0)
        CHECK(rt_test_proc_wait_log(&a, "\"health.claimed\"", 5000, NULL, 0),
              "pending entries not claimed");
    /* the killed consumer (nothing pending once claimed) is removed from the group */
    CHECK(WAIT_UNTIL(consumers() == 1, 20000), "dead consumer not removed: %lld consumers",
          consumers());
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
    counts(got, sizeof(got));
    CHECK(strcmp(ref, got) == 0, "counts differ after kill -9:\n ref %s\n got %s", ref, got);

    /* two instances at once */
    freeReplyObject(cmd("FLUSHALL"));
    health_start(&a, env);
    health_start(&b, env);
    publish_script(base, 0, 4 * N_CALLS);
    wait_drained("two instances");
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health a exit");
    CHECK(rt_test_proc_stop(&b, SIGTERM, 10000) == 0, "rt-health b exit");
    counts(got, sizeof(got));
    CHECK(strcmp(ref, got) == 0, "counts differ with two instances:\n ref %s\n got %s", ref, got);
}

/* Upgrade from the call hashes (rt:{t}:h:call:<id>) to the call records: calls left by the old
 * rt-health, written here as it wrote them, are moved to records when next touched and never
 * counted twice; a live one that gets no more events still times out exactly once. */
static void scenario_upgrade(void)
{
    static const char *const env[] = {"RT_HEALTH_RING_TIMEOUT_MS=500", "RT_HEALTH_GRACE_MS=1000",
                                      "RT_HEALTH_TICK_MS=50", NULL};
    struct rt_test_proc a;
    redis_start();
    uint64_t t0 = wall_ms(), old = t0 - 10000;
    /* live1 ringing (its end comes after the upgrade), live2 initiated and overdue (no more
     * events), done ended (a provider retry of its end comes after the upgrade) */
    freeReplyObject(cmd("HSET rt:{up}:h:call:live1 rank 2 state ringing started %llu last %llu "
                        "provider twilio",
                        (unsigned long long)t0, (unsigned long long)t0));
    freeReplyObject(cmd("HSET rt:{up}:h:call:live2 rank 1 state initiated started %llu last %llu "
                        "provider twilio",
                        (unsigned long long)old, (unsigned long long)old));
    freeReplyObject(cmd("HSET rt:{up}:h:call:done rank 4 state ended started %llu last %llu "
                        "ended %llu outcome completed provider twilio",
                        (unsigned long long)old, (unsigned long long)old, (unsigned long long)old));
    freeReplyObject(cmd("EXPIRE rt:{up}:h:call:done 1000"));
    freeReplyObject(cmd("ZADD rt:health:due %llu up\nlive1 %llu up\nlive2",
                        (unsigned long long)t0 + 1500, (unsigned long long)old + 1500));
    freeReplyObject(cmd("HSET rt:{up}:h:tenant calls 3 events 5 active 2"));
    publish("up", "call_ended", "live1", "ended", "completed", t0 + 1, "twilio", t0 + 1);
    publish("up", "call_ended", "done", "ended", "completed", t0 + 1, "twilio", t0 + 1);
    int port = health_start(&a, env);

    CHECK(WAIT_UNTIL(call_is("up", "live2", "state", "timed_out"), 5000),
          "old live call not timed out");
    CHECK(WAIT_UNTIL(group_backlog() == 0, 5000), "backlog");
    CHECK(call_is("up", "live1", "state", "ended") &&
              call_is("up", "live1", "outcome", "completed"),
          "old live call not ended");
    CHECK(call_is("up", "live1", "provider", "twilio"), "old fields lost");
    char started[32];
    snprintf(started, sizeof(started), "%llu", (unsigned long long)old);
    CHECK(call_is("up", "done", "state", "ended") && call_is("up", "done", "started", started),
          "old ended call not moved");
    long long ttl = cmd_int("TTL rt:{up}:h:c:done");
    CHECK(ttl > 0 && ttl <= 1000, "moved ended call: TTL %lld, not the old hash's", ttl);
    CHECK(cmd_int("TTL rt:{up}:h:c:live1") > 0 && cmd_int("TTL rt:{up}:h:c:live2") > 0,
          "ended calls without TTL");
    CHECK(cmd_int("EXISTS rt:{up}:h:call:live1 rt:{up}:h:call:live2 rt:{up}:h:call:done") == 0,
          "old hashes left");
    sleep_ms(300); /* more scans */
    CHECK(timeouts_emitted("up", "live2") == 1, "live2: %d call_timeout events",
          timeouts_emitted("up", "live2"));
    CHECK(timeouts_emitted("up", "live1") == 0, "live1 timed out");
    CHECK(cmd_int("ZCARD rt:health:due") == 0, "due index not empty");
    json_t *o = check_tenant(port, "up");
    CHECK(jint(o, "total_calls") == 3, "total_calls %lld: a call counted twice",
          jint(o, "total_calls"));
    CHECK(jint(o, "active_calls") == 0, "active %lld", jint(o, "active_calls"));
    /* live1's end and live2's timeout; the retried end of done counts nothing */
    CHECK(jint(json_object_get(o, "terminal_calls"), "5m") == 2, "terminal 5m %lld",
          jint(json_object_get(o, "terminal_calls"), "5m"));
    json_decref(o);
    CHECK(rt_test_proc_stop(&a, SIGTERM, 10000) == 0, "rt-health exit");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } scenarios[] = {{"timeouts", scenario_timeouts},   {"backlog", scenario_backlog},
                     {"staleness", scenario_staleness}, {"rates", scenario_rates},
                     {"auth", scenario_auth},           {"readyz", scenario_readyz},
                     {"restart", scenario_restart},     {"scale", scenario_scale},
                     {"upgrade", scenario_upgrade}};
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: test_health <scenario>\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(argv[1], scenarios[i].name) == 0) {
            g_scenario = scenarios[i].name;
            scenarios[i].fn();
            cleanup();
            printf("ok %s\n", g_scenario);
            return 0;
        }
    fprintf(stderr, "unknown scenario %s\n", argv[1]);
    return 2;
}
