/* Benchmark of rt-ingest's PostgreSQL source against a private PostgreSQL and redis-server.
 *   RT_TEST_BIN=<build> RT_TEST_SRC=<src> RT_TEST_STATE=<dir> bench_ingest_pg [rows] [singles]
 *       [latency_seconds] [big_rows]
 * Prints figures; asserts nothing about time. Phases:
 *   1. catch-up throughput, batched: <rows> rows in 1,000-row transactions committed while
 *      rt-ingest is stopped, then the time from its start to the last event in Redis;
 *   2. the same for <singles> single-row transactions;
 *   3. live single-row transactions (as fast as one client commits);
 *   4. commit-to-PUBLISH latency at 1,000 transactions/s for <latency_seconds> (a subscriber
 *      compares each event's commit_timestamp with its arrival; one host, one clock);
 *   5. resident memory of rt-ingest idle and during one <big_rows>-row transaction. */
#include "rt_test.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_state[512], g_pgdir[600], g_redisdir[600], g_conninfo[512], g_redis_url[128];
static int g_redis_port;
static struct rt_test_proc g_ingest;

static void die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    if (g_ingest.pid > 0)
        rt_test_proc_stop(&g_ingest, SIGKILL, 2000);
    rt_test_fixture("redis.sh", "stop", g_redisdir, NULL);
    rt_test_fixture("pg.sh", "stop", g_pgdir, NULL);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pg(PGconn *c, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        die("sql");
    }
    PQclear(r);
}

static long long xlen(redisContext *r, const char *key)
{
    redisReply *rep = redisCommand(r, "XLEN %s", key);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    return n;
}

static void wait_xlen(redisContext *r, const char *key, long long n, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (xlen(r, key) < n) {
        if (now_s() > end)
            die("timed out waiting for events");
        usleep(2000);
    }
}

/* utime + stime of a process, in seconds */
static double cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of rt-ingest, redis-server and the slot's WAL sender so far. */
struct cpu3 {
    double ingest, redis, wal;
};

static pid_t g_redis_pid;

static pid_t wal_sender_pid(PGconn *c)
{
    PGresult *r =
        PQexec(c, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_slot'");
    pid_t pid = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        pid = (pid_t)atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return pid;
}

static struct cpu3 cpu3(pid_t wal)
{
    return (struct cpu3){cpu_s(g_ingest.pid), cpu_s(g_redis_pid), wal ? cpu_s(wal) : 0};
}

static void print_cpu3(struct cpu3 a, struct cpu3 b, long events)
{
    double e = (double)events / 1e6;
    printf("    CPU per event: rt-ingest %.1f us, redis-server %.1f us, WAL sender %.1f us, "
           "sum %.1f us\n",
           (b.ingest - a.ingest) / e, (b.redis - a.redis) / e, (b.wal - a.wal) / e,
           (b.ingest - a.ingest + b.redis - a.redis + b.wal - a.wal) / e);
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void start_ingest(void)
{
    static char env[8][700];
    char bin[600];
    snprintf(bin, sizeof(bin), "%s/ingest/rt-ingest", getenv("RT_TEST_BIN"));
    char *argv[] = {bin, NULL};
    snprintf(env[0], sizeof(env[0]), "RT_REDIS_URL=%s", g_redis_url);
    snprintf(env[1], sizeof(env[1]), "RT_PG_CONNINFO=%s", g_conninfo);
    snprintf(env[2], sizeof(env[2]), "RT_PG_SLOT=bench_slot");
    snprintf(env[3], sizeof(env[3]), "RT_PG_PUBLICATION=p_bench");
    snprintf(env[4], sizeof(env[4]), "RT_INGEST_LISTEN=127.0.0.1:0");
    snprintf(env[5], sizeof(env[5]), "RT_STREAM_MAXLEN=5000000");
    snprintf(env[6], sizeof(env[6]), "RT_LOG_LEVEL=info");
    char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], env[6], NULL};
    if (rt_test_proc_start(&g_ingest, argv, envp) != 0 ||
        !rt_test_proc_wait_log(&g_ingest, "pg.streaming", 30000, NULL, 0))
        die("rt-ingest did not start streaming");
}

static void stop_ingest(void)
{
    if (rt_test_proc_stop(&g_ingest, SIGTERM, 10000) != 0)
        die("rt-ingest did not stop cleanly");
}

static void del(redisContext *r, const char *key)
{
    freeReplyObject(redisCommand(r, "DEL %s", key));
}

static void catch_up(PGconn *c, redisContext *r, const char *what, long rows, int per_txn)
{
    const char *key = "rt:{b}:db:bench.ev";
    del(r, key);
    stop_ingest();
    pg(c, "TRUNCATE bench.ev");
    double t0 = now_s();
    for (long i = 0; i < rows; i += per_txn)
        pg(c, "INSERT INTO bench.ev SELECT 'b', g, 'row ' || g FROM generate_series(%ld, %ld) g",
           i + 1, i + per_txn);
    double tins = now_s() - t0;
    /* the TRUNCATE goes to the admin key: not counted */
    start_ingest(); /* returns once it streams: the time below excludes process start */
    t0 = now_s();
    pid_t wal = wal_sender_pid(c);
    struct cpu3 k0 = cpu3(wal);
    double c0 = cpu_s(g_ingest.pid);
    wait_xlen(r, key, rows, 300);
    double dt = now_s() - t0, cpu = cpu_s(g_ingest.pid) - c0;
    struct cpu3 k1 = cpu3(wal);
    printf("%-34s %8ld rows  %7.2f s  %9.0f events/s  rt-ingest CPU %.2f s (%.1f us/event)"
           "  [PostgreSQL insert took %.2f s]\n",
           what, rows, dt, rows / dt, cpu, cpu * 1e6 / rows, tins);
    print_cpu3(k0, k1, rows);
}

#define CLIENTS 4

static void live_singles(PGconn *c, redisContext *r, long n)
{
    const char *key = "rt:{b}:db:bench.ev";
    pid_t kids[CLIENTS];
    del(r, key);
    pg(c, "TRUNCATE bench.ev");
    sleep(1);
    fflush(stdout);
    pid_t wal = wal_sender_pid(c);
    struct cpu3 k0 = cpu3(wal);
    double c0 = cpu_s(g_ingest.pid), t0 = now_s();
    for (int k = 0; k < CLIENTS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            PGconn *ck = PQconnectdb(g_conninfo);
            for (long i = k; i < n; i += CLIENTS) {
                char sql[128];
                snprintf(sql, sizeof(sql), "INSERT INTO bench.ev VALUES ('b', %ld, 'x')", i + 1);
                PQclear(PQexec(ck, sql));
            }
            PQfinish(ck);
            _exit(0);
        }
    }
    for (int k = 0; k < CLIENTS; k++)
        waitpid(kids[k], NULL, 0);
    double tins = now_s() - t0;
    wait_xlen(r, key, n, 120);
    double dt = now_s() - t0, cpu = cpu_s(g_ingest.pid) - c0;
    printf("%-34s %8ld txns  %7.2f s  %9.0f txns/s  rt-ingest CPU %.2f s (%.1f us/event)"
           "  [%d clients committed for %.2f s]\n",
           "live single-row transactions", n, dt, n / dt, cpu, cpu * 1e6 / n, CLIENTS, tins);
    print_cpu3(k0, cpu3(wal), n);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double commit_us(const char *ev)
{
    const char *p = strstr(ev, "\"commit_timestamp\":\"");
    struct tm tm = {0};
    int us = 0;
    if (!p || sscanf(p + 20, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) * 1e6 + us;
}

static void latency(PGconn *c, int seconds)
{
    int n = seconds * 1000;
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        redisContext *s = redisConnect("127.0.0.1", g_redis_port);
        double *lat = calloc((size_t)n, sizeof(double));
        int got = 0;
        freeReplyObject(redisCommand(s, "SUBSCRIBE rt:{b}:db:bench.lat"));
        if (write(fds[1], "s", 1) != 1)
            _exit(1);
        struct timeval tv = {5, 0};
        redisSetTimeout(s, tv);
        while (got < n) {
            redisReply *rep;
            if (redisGetReply(s, (void **)&rep) != REDIS_OK)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double now = (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3)
                lat[got++] = (now - commit_us(rep->element[2]->str)) / 1000.0;
            freeReplyObject(rep);
        }
        qsort(lat, (size_t)got, sizeof(double), cmp_dbl);
        if (got > 0)
            printf("%-34s %8d txns  at 1000/s    p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
                   "commit-to-PUBLISH latency", got, lat[got / 2], lat[got * 99 / 100],
                   lat[got - 1]);
        fflush(stdout);
        _exit(got == n ? 0 : 1);
    }
    char b;
    if (read(fds[0], &b, 1) != 1)
        die("subscriber");
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < n; i++) {
        pg(c, "INSERT INTO bench.lat VALUES ('b', %d)", i + 1);
        next.tv_nsec += 1000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    int st;
    waitpid(child, &st, 0);
    close(fds[0]);
    close(fds[1]);
}

static void big_txn(PGconn *c, redisContext *r, long rows)
{
    const char *key = "rt:{b}:db:bench.ev";
    del(r, key);
    pg(c, "TRUNCATE bench.ev");
    sleep(1);
    long idle = rss_kb(g_ingest.pid), peak = idle;
    fflush(stdout);
    pid_t ins = fork();
    if (ins == 0) {
        PGconn *c2 = PQconnectdb(g_conninfo);
        PGresult *res = PQexec(c2, "INSERT INTO bench.ev SELECT 'b', g, 'row ' || g FROM "
                                   "generate_series(1, 1000000) g");
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        PQfinish(c2);
        _exit(ok ? 0 : 1);
    }
    (void)rows;
    double t0 = now_s(), c0 = cpu_s(g_ingest.pid);
    int st;
    double tcommit = 0;
    while (xlen(r, key) < 1000000) {
        long kb = rss_kb(g_ingest.pid);
        if (kb > peak)
            peak = kb;
        if (!tcommit && waitpid(ins, &st, WNOHANG) == ins)
            tcommit = now_s() - t0;
        if (now_s() - t0 > 600)
            die("big transaction timed out");
        usleep(20000);
    }
    if (!tcommit) {
        waitpid(ins, &st, 0);
        tcommit = now_s() - t0;
    }
    double dt = now_s() - t0, cpu = cpu_s(g_ingest.pid) - c0;
    printf("%-34s %8d rows  %7.2f s (committed after %.2f s)  rt-ingest RSS idle %ld KiB, "
           "peak %ld KiB  CPU %.2f s\n",
           "one 1,000,000-row transaction", 1000000, dt, tcommit, idle, peak, cpu);
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 100000;
    long singles = argc > 2 ? atol(argv[2]) : 20000;
    int lat_s = argc > 3 ? atoi(argv[3]) : 10;
    long big = argc > 4 ? atol(argv[4]) : 1000000;
    const char *st = getenv("RT_TEST_STATE");
    snprintf(g_state, sizeof(g_state), "%s", st ? st : "/tmp");
    snprintf(g_pgdir, sizeof(g_pgdir), "%s/bench-pg", g_state);
    snprintf(g_redisdir, sizeof(g_redisdir), "%s/bench-redis", g_state);
    char sqldir[700];
    snprintf(sqldir, sizeof(sqldir), "%s/deploy/sql private", getenv("RT_TEST_SRC"));
    if (rt_test_fixture("pg.sh", "start", g_pgdir, sqldir) != 0 ||
        rt_test_fixture("redis.sh", "start", g_redisdir, "private") != 0)
        die("fixtures");
    char path[700];
    FILE *f;
    snprintf(path, sizeof(path), "%s/conninfo", g_pgdir);
    if (!(f = fopen(path, "r")) || !fgets(g_conninfo, sizeof(g_conninfo), f))
        die("conninfo");
    fclose(f);
    g_conninfo[strcspn(g_conninfo, "\n")] = '\0';
    snprintf(path, sizeof(path), "%s/port", g_redisdir);
    if (!(f = fopen(path, "r")) || fscanf(f, "%d", &g_redis_port) != 1)
        die("redis port");
    fclose(f);
    snprintf(g_redis_url, sizeof(g_redis_url), "redis://127.0.0.1:%d/0", g_redis_port);
    snprintf(path, sizeof(path), "%s/pid", g_redisdir);
    f = fopen(path, "r");
    if (!f || fscanf(f, "%d", &g_redis_pid) != 1)
        die("redis pid");
    fclose(f);

    PGconn *c = PQconnectdb(g_conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die("pg connect");
    pg(c, "CREATE SCHEMA bench");
    pg(c, "CREATE TABLE bench.ev (organization_id text, id bigint PRIMARY KEY, v text)");
    pg(c, "CREATE TABLE bench.lat (organization_id text, id bigint PRIMARY KEY)");
    pg(c, "CREATE PUBLICATION p_bench FOR TABLE bench.ev, bench.lat");
    redisContext *r = redisConnect("127.0.0.1", g_redis_port);
    if (!r || r->err)
        die("redis connect");

    printf("machine: %ld CPUs; PostgreSQL 15 (fsync=off), redis-server and rt-ingest on one "
           "host, loopback\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    start_ingest(); /* creates the slot */
    catch_up(c, r, "catch-up, 1,000-row transactions", rows, 1000);
    catch_up(c, r, "catch-up, single-row transactions", singles, 1);
    live_singles(c, r, singles);
    if (lat_s > 0)
        latency(c, lat_s);
    if (big > 0)
        big_txn(c, r, big);
    stop_ingest();
    redisFree(r);
    PQfinish(c);
    rt_test_fixture("redis.sh", "stop", g_redisdir, NULL);
    rt_test_fixture("pg.sh", "stop", g_pgdir, NULL);
    return 0;
}
