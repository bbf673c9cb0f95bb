/* rt-ingest webhooks and publish API end to end: a real redis-server (private, since the test
 * stops it), the real daemon, real HTTP requests over loopback. */
#include "rt_test.h"

#include "sigutil.h"
#include "webhook_generic.h"
#include "webhook_twilio.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC_URL "https://mycompany.com"
#define CLOCK      1700000000LL
#define ALL        "rt:calls:all"
#define ACME_CALLS "rt:{acme}:calls"

static int failures;
static int port;
static char dir[512];
static redisContext *rds;
static struct rt_test_proc proc;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

struct resp {
    int status;
    char head[4096];
    char *body; /* malloc'd */
};

/* Blocking request keeping the response headers (Retry-After). */
static int http(const char *method, const char *target, const char *headers, const char *body,
                size_t len, struct resp *r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    memset(r, 0, sizeof(*r));
    r->status = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        r->body = strdup("");
        return -1;
    }
    size_t hcap = 8192 + strlen(target);
    char *h = malloc(hcap);
    int hn = snprintf(h, hcap,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, target, port, headers ? headers : "", len);
    ssize_t w = write(fd, h, (size_t)hn);
    free(h);
    size_t off = 0;
    while (w > 0 && off < len) {
        ssize_t k = write(fd, body + off, len - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = read(fd, buf + n, cap - n - 1);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    sscanf(buf, "HTTP/1.%*d %d", &r->status);
    char *sep = strstr(buf, "\r\n\r\n");
    snprintf(r->head, sizeof(r->head), "%.*s", sep ? (int)(sep - buf) : (int)n, buf);
    r->body = strdup(sep ? sep + 4 : "");
    free(buf);
    return r->status;
}

static int req(const char *method, const char *target, const char *headers, const char *body,
               size_t len, char **out)
{
    struct resp r;
    http(method, target, headers, body, len, &r);
    if (out)
        *out = r.body;
    else
        free(r.body);
    return r.status;
}

static long long xlen(const char *key)
{
    redisReply *r = redisCommand(rds, "XLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

/* The newest event of a stream, parsed (caller json_decref). */
static json_t *last_event(const char *key)
{
    redisReply *r = redisCommand(rds, "XREVRANGE %s + - COUNT 1", key);
    json_t *o = NULL;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *fields = r->element[0]->element[1];
        o = json_loads(fields->element[1]->str, 0, NULL);
    }
    freeReplyObject(r);
    return o;
}

static const char *dget(json_t *ev, const char *k)
{
    return json_string_value(json_object_get(json_object_get(ev, "data"), k));
}

/* ---- signing, as the providers do ---- */

static int twilio(const char *method, const char *target, const char *body, const char *token,
                  int mutate_sig, char **out)
{
    char url[4096], sig[29], hdr[256];
    struct ingest_form f = {0};
    snprintf(url, sizeof(url), PUBLIC_URL "%s", target);
    bool get = strcmp(method, "GET") == 0 || ingest_twilio_has_body_hash(url);
    if (!get && ingest_form_parse(body, strlen(body), &f))
        f.n = 0;
    ingest_twilio_sign(token, url, get ? NULL : &f, sig);
    ingest_form_free(&f);
    if (mutate_sig)
        sig[3] ^= 1;
    snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
    return req(method, target, hdr, body, strlen(body), out);
}

static int generic(const char *body, const char *ts, const char *secret, char **out)
{
    char sig[68], hdr[256];
    ingest_generic_sign(secret, ts, body, strlen(body), sig);
    snprintf(hdr, sizeof(hdr), "X-RT-Timestamp: %s\r\nX-RT-Signature: %s\r\n", ts, sig);
    return req("POST", "/webhooks/generic/acme", hdr, body, strlen(body), out);
}

/* RFC 8032 section 7.1 test 1: the private half of the spec's Telnyx key */
static const char ed_priv_hex[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

static void telnyx_sign(const char *ts, const char *body, char *out)
{
    unsigned char priv[32], sig[64];
    size_t siglen = sizeof(sig);
    ingest_hex_decode(ed_priv_hex, 64, priv, 32);
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t mlen = strlen(ts) + 1 + strlen(body);
    char *msg = malloc(mlen + 1);
    snprintf(msg, mlen + 1, "%s|%s", ts, body);
    EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk);
    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)msg, mlen);
    ingest_b64_encode(sig, 64, out);
    free(msg);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
}

static int telnyx_raw(const char *ts, const char *sig, const char *body, char **out)
{
    char hdr[512] = "";
    size_t n = 0;
    if (ts)
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "telnyx-timestamp: %s\r\n", ts);
    if (sig)
        snprintf(hdr + n, sizeof(hdr) - n, "telnyx-signature-ed25519: %s\r\n", sig);
    return req("POST", "/webhooks/telnyx/acme", hdr, body, strlen(body), out);
}

static int telnyx(const char *ts, const char *body, char **out)
{
    char sig[100];
    telnyx_sign(ts, body, sig);
    return telnyx_raw(ts, sig, body, out);
}

static void b64url(const unsigned char *in, size_t len, char *out)
{
    ingest_b64_encode(in, len, out);
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p == '=' ? '\0' : *p;
}

static int vonage_raw(const char *auth, const char *body, char **out)
{
    char hdr[4200];
    snprintf(hdr, sizeof(hdr), "Authorization: %s\r\n", auth);
    return req("POST", "/webhooks/vonage/acme", auth ? hdr : NULL, body, strlen(body), out);
}

static const char *vonage_api_key = "a1b2c3d";

static int vonage(const char *body, long long iat, const char *jti, char **out)
{
    unsigned char h[32], mac[32];
    char hex[65], claims[512], hb[128], cb[800], sb[64], signing[1000], auth[1100];
    ingest_sha256(body, strlen(body), h);
    ingest_hex_encode(h, 32, hex);
    snprintf(claims, sizeof(claims),
             "{\"iat\":%lld,\"jti\":\"%s\",\"iss\":\"Vonage\",\"payload_hash\":\"%s\","
             "\"api_key\":\"%s\"}",
             iat, jti, hex, vonage_api_key);
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    b64url((const unsigned char *)hdr, strlen(hdr), hb);
    b64url((const unsigned char *)claims, strlen(claims), cb);
    snprintf(signing, sizeof(signing), "%s.%s", hb, cb);
    const void *parts[1] = {signing};
    size_t lens[1] = {strlen(signing)};
    const char *secret = "vonage-signature-secret-example-32b";
    ingest_hmac("SHA256", secret, strlen(secret), parts, lens, 1, mac);
    b64url(mac, 32, sb);
    snprintf(auth, sizeof(auth), "Bearer %s.%s", signing, sb);
    return vonage_raw(auth, body, out);
}

/* ---- daemon ---- */

/* extra: NULL-terminated "NAME=value" settings added to the test's own (at most 6). */
static bool start_ingest_env(long long clock, const char *const *extra)
{
    static char env[16][600];
    char redis_port[32], line[1024];
    FILE *f = fopen(strcat(strcpy(line, dir), "/redis/port"), "r");
    if (!f || !fgets(redis_port, sizeof(redis_port), f))
        return false;
    fclose(f);
    redis_port[strcspn(redis_port, "\n")] = '\0';
    snprintf(env[0], sizeof(env[0]), "RT_REDIS_URL=redis://127.0.0.1:%s/0", redis_port);
    snprintf(env[1], sizeof(env[1]), "RT_INGEST_LISTEN=127.0.0.1:0");
    snprintf(env[2], sizeof(env[2]), "RT_WEBHOOK_SECRETS=%s/secrets.json", dir);
    snprintf(env[3], sizeof(env[3]), "RT_API_KEYS=%s/keys.json", dir);
    snprintf(env[4], sizeof(env[4]), "RT_PUBLIC_URL=" PUBLIC_URL);
    snprintf(env[5], sizeof(env[5]), "RT_INGEST_CLOCK_OVERRIDE=%lld", clock);
    snprintf(env[6], sizeof(env[6]), "RT_INGEST_RATE=1");
    snprintf(env[7], sizeof(env[7]), "RT_INGEST_RATE_BURST=1000");
    snprintf(env[8], sizeof(env[8]), "RT_INGEST_RETRY_AFTER=7");
    char *envp[16] = {env[0], env[1], env[2], env[3], env[4], env[5], env[6], env[7], env[8]};
    for (size_t i = 0; extra && extra[i] && i < 6; i++)
        envp[9 + i] = strcpy(env[9 + i], extra[i]);
    char bin[600];
    snprintf(bin, sizeof(bin), "%s/ingest/rt-ingest", getenv("RT_TEST_BIN"));
    char *argv[] = {bin, NULL};
    if (rt_test_proc_start(&proc, argv, envp))
        return false;
    if (!rt_test_proc_wait_log(&proc, "\"process.ready\"", 10000, line, sizeof(line)))
        return false;
    port = rt_test_url_port(line);
    return port > 0 && rt_test_proc_wait_log(&proc, "\"redis.connected\"", 10000, NULL, 0);
}

static bool start_ingest(long long clock)
{
    return start_ingest_env(clock, NULL);
}

static void stop_ingest(void)
{
    int rc = rt_test_proc_stop(&proc, SIGTERM, 10000);
    CHECK(rc == 0, "rt-ingest exit status %d (log %s)", rc, proc.log_path);
}

static bool readyz_is(int want)
{
    return req("GET", "/readyz", NULL, "", 0, NULL) == want;
}

static bool ready_cond(void *arg)
{
    (void)arg;
    return readyz_is(200);
}

static bool unready_cond(void *arg)
{
    (void)arg;
    return readyz_is(503);
}

/* ---- scenarios ---- */

static const char telnyx_vector_body[] =
    "{\"data\":{\"event_type\":\"call.hangup\",\"id\":\"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0\","
    "\"occurred_at\":\"2023-11-14T22:13:20.000000Z\",\"payload\":{\"call_control_id\":"
    "\"v3:example\",\"call_leg_id\":\"428c31b6-7af4-4bcb-b7f5-5013ef9657c1\",\"call_session_id\":"
    "\"428c31b6-abf3-3bc1-b7f4-5013ef9657c1\",\"hangup_cause\":\"normal_clearing\","
    "\"hangup_source\":\"caller\",\"sip_hangup_cause\":\"200\",\"state\":\"hangup\"},"
    "\"record_type\":\"event\"},\"meta\":{\"attempt\":1,\"delivered_to\":"
    "\"https://example.com/webhooks/telnyx\"}}";
static const char telnyx_vector_sig[] =
    "VwjNHQBWkBn4hQxoHeuewTtD3aY8fRpahMJUF9AkOr+QIGgUvlzgrgE8R1D8ulj3G+PIOqUnEsMKtqQ9FNYLCQ==";
static const char vonage_vector_body[] =
    "{\"from\":\"447700900000\",\"to\":\"447700900001\",\"uuid\":\"aaaaaaaa-bbbb-cccc-dddd-"
    "0123456789ab\",\"conversation_uuid\":\"CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab\",\"status\":"
    "\"answered\",\"direction\":\"outbound\",\"timestamp\":\"2023-11-14T22:13:20.000Z\"}";
static const char vonage_vector_jwt[] =
    "Bearer "
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImp0aSI6ImM1YmE4ZjI0LTFhMTQtNGMx"
    "MC1iZmRmLTNmYmU4Y2U1MTFiNSIsImlzcyI6IlZvbmFnZSIsInBheWxvYWRfaGFzaCI6IjBjNGM2Y2I1NGRmZTU3MWFh"
    "NzM5YmVkZWI2NTU4MDg1MTZhZDI0NzUwMGI4YzdlMmVjNzJhNjcxZDNlNTMyMWIiLCJhcGlfa2V5IjoiYTFiMmMzZCIs"
    "ImFwcGxpY2F0aW9uX2lkIjoiYWFhYWFhYWEtYmJiYi1jY2NjLWRkZGQtMDEyMzQ1Njc4OWFiIn0."
    "Kyq7jywRGrWczUwB65tMdIT3jBygpBz_c_uTEqxH9UI";

static void test_vectors_end_to_end(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    long long all = xlen(ALL);
    char *body;
    /* Telnyx: the spec's vector as sent; one byte of body, timestamp or signature refused */
    char *b = strdup(telnyx_vector_body);
    b[20] ^= 1;
    CHECK(telnyx_raw("1700000000", telnyx_vector_sig, b, NULL) == 401, "telnyx body byte");
    free(b);
    CHECK(telnyx_raw("1700000001", telnyx_vector_sig, telnyx_vector_body, NULL) == 401, "ts byte");
    char sig[] =
        "VwjNHQBWkBn4hQxoHeuewTtD3aY8fRpahMJUF9AkOr+QIGgUvlzgrgE8R1D8ulj3G+PIOqUnEsMKtqQ9FNYLCQ==";
    sig[10] ^= 1;
    CHECK(telnyx_raw("1700000000", sig, telnyx_vector_body, NULL) == 401, "telnyx sig byte");
    CHECK(xlen(ALL) == all, "refused telnyx published something");
    CHECK(telnyx_raw("1700000000", telnyx_vector_sig, telnyx_vector_body, &body) == 200, "%s",
          body);
    CHECK(strstr(body, "\"published\"") && strstr(body, "call_ended"), "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "telnyx vector not published once");
    json_t *ev = last_event(ACME_CALLS);
    CHECK(ev && strcmp(json_string_value(json_object_get(ev, "event")), "call_ended") == 0,
          "event name");
    CHECK(ev && strcmp(dget(ev, "provider"), "telnyx") == 0, "provider");
    CHECK(ev && strcmp(dget(ev, "state"), "ended") == 0, "state");
    CHECK(ev && strcmp(dget(ev, "outcome"), "failed") == 0, "normal_clearing unanswered");
    CHECK(ev && strcmp(dget(ev, "parent_id"), "428c31b6-abf3-3bc1-b7f4-5013ef9657c1") == 0, "p");
    CHECK(ev && strcmp(dget(ev, "sip_code"), "200") == 0, "sip");
    CHECK(ev && strcmp(dget(ev, "provider_event_time"), "2023-11-14T22:13:20.000Z") == 0, "t");
    CHECK(ev && dget(ev, "received_at") != NULL, "received_at");
    json_decref(ev);
    ev = last_event(ALL);
    CHECK(ev && strcmp(json_string_value(json_object_get(ev, "tenant")), "acme") == 0, "all");
    json_decref(ev);

    /* Vonage: the spec's vector as sent */
    all = xlen(ALL);
    char *j = strdup(vonage_vector_jwt);
    j[40] ^= 1;
    CHECK(vonage_raw(j, vonage_vector_body, NULL) == 401, "vonage jwt byte");
    free(j);
    b = strdup(vonage_vector_body);
    b[5] ^= 1;
    CHECK(vonage_raw(vonage_vector_jwt, b, NULL) == 401, "vonage body byte");
    free(b);
    CHECK(xlen(ALL) == all, "refused vonage published something");
    CHECK(vonage_raw(vonage_vector_jwt, vonage_vector_body, &body) == 200, "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "vonage vector not published");
    ev = last_event(ACME_CALLS);
    CHECK(ev && strcmp(json_string_value(json_object_get(ev, "event")), "call_update") == 0, "ev");
    CHECK(ev && strcmp(dget(ev, "state"), "answered") == 0, "vonage state");
    CHECK(ev && strcmp(dget(ev, "account"), "a1b2c3d") == 0, "vonage account");
    json_decref(ev);

    /* Twilio: the vectors sign other URLs, so the same parameters (T1's P, T7's repeated names,
     * T8's raw query) are signed for this route; verified but not a status callback: 400 */
    all = xlen(ALL);
    const char *p = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
                    "&From=%2B14158675309&To=%2B18005551212";
    CHECK(twilio("POST", "/webhooks/twilio/acme?foo=1&bar=2", p, "12345", 0, NULL) == 400, "P");
    CHECK(twilio("POST", "/webhooks/twilio/acme?foo=1&bar=2", p, "12345", 1, NULL) == 401, "sig");
    CHECK(twilio("POST", "/webhooks/twilio/acme?foo=1&bar=2", p, "wrong", 0, NULL) == 401, "tok");
    CHECK(twilio("POST", "/webhooks/twilio/acme?foo=1&bar=2&Body=It's+amazing", p, "12345", 0,
                 NULL) == 400,
          "T8 raw query");
    /* a signature over one URL does not verify another: one byte of the query changed */
    char url[256], sigb[29], hdr[128];
    struct ingest_form f;
    ingest_form_parse(p, strlen(p), &f);
    ingest_twilio_sign("12345", PUBLIC_URL "/webhooks/twilio/acme?foo=1&bar=2", &f, sigb);
    ingest_form_free(&f);
    snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sigb);
    snprintf(url, sizeof(url), "/webhooks/twilio/acme?foo=1&bar=3");
    CHECK(req("POST", url, hdr, p, strlen(p), NULL) == 401, "url byte");
    /* one byte of a parameter */
    char *pm = strdup(p);
    pm[10] ^= 1;
    CHECK(req("POST", "/webhooks/twilio/acme?foo=1&bar=2", hdr, pm, strlen(pm), NULL) == 401, "p");
    free(pm);
    /* the default-port form: signed over https://mycompany.com:443/... */
    ingest_form_parse(p, strlen(p), &f);
    ingest_twilio_sign("12345", "https://mycompany.com:443/webhooks/twilio/acme?foo=1&bar=2", &f,
                       sigb);
    ingest_form_free(&f);
    snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sigb);
    CHECK(req("POST", "/webhooks/twilio/acme?foo=1&bar=2", hdr, p, strlen(p), NULL) == 400, "443");
    /* bodySHA256 variant (T4's body) */
    const char *jb = "{\"property\": \"value\", \"boolean\": true}";
    const char *t4 = "/webhooks/twilio/acme?foo=1&bar=2&bodySHA256="
                     "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    CHECK(twilio("POST", t4, jb, "12345", 0, NULL) == 400, "T4 verified (no CallSid)");
    CHECK(twilio("POST", t4, "{\"property\": \"value\", \"boolean\": false}", "12345", 0, NULL) ==
              401,
          "T4 body changed");
    CHECK(xlen(ALL) == all, "twilio vectors published something");
}

static const char *tw_cb(char *buf, size_t cap, const char *sid, const char *status, int seq)
{
    snprintf(buf, cap,
             "AccountSid=AC1&CallSid=%s&CallStatus=%s&SequenceNumber=%d&From=%%2B15550001"
             "&To=%%2B15550002&Direction=outbound-api&Timestamp=Tue%%2C+14+Nov+2023+22%%3A13%%3A2%d"
             "+%%2B0000%s",
             sid, status, seq, seq, strcmp(status, "completed") == 0 ? "&CallDuration=42" : "");
    return buf;
}

static void test_call_model(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    char b[512], *body;
    const char *t = "/webhooks/twilio/acme";
    long long all = xlen(ALL);
    /* initiated, then a redelivery: published once */
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA100", "initiated", 0), "12345", 0, &body) == 200,
          "%s", body);
    CHECK(strstr(body, "new_call"), "%s", body);
    free(body);
    CHECK(twilio("POST", t, b, "12345", 0, &body) == 200, "redelivery");
    CHECK(strstr(body, "duplicate"), "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "redelivery published twice");
    /* the script cache flushed under rt-ingest: NOSCRIPT, reload, retry, published once */
    freeReplyObject(redisCommand(rds, "SCRIPT FLUSH"));
    all = xlen(ALL);
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA101", "initiated", 0), "12345", 0, &body) == 200,
          "after SCRIPT FLUSH: %s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "after SCRIPT FLUSH");
    freeReplyObject(redisCommand(rds, "SCRIPT FLUSH"));
    const char *one = "{\"channel\":\"tenant\",\"event\":\"flushed\"}";
    CHECK(req("POST", "/api/v1/publish", "Authorization: Bearer acme-key\r\n", one, strlen(one),
              NULL) == 200,
          "publish after SCRIPT FLUSH");
    /* rotation: the second token of the pair */
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA100", "ringing", 1), "next-token", 0, NULL) ==
              200,
          "second token");
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA100", "completed", 3), "12345", 0, NULL) == 200,
          "completed");
    json_t *ev = last_event(ACME_CALLS);
    CHECK(ev && strcmp(dget(ev, "outcome"), "completed") == 0, "outcome");
    CHECK(ev && json_integer_value(json_object_get(json_object_get(ev, "data"), "duration")) == 42,
          "duration");
    json_decref(ev);
    all = xlen(ALL);
    /* ringing (and in-progress) after completed changes nothing */
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA100", "in-progress", 2), "12345", 0, &body) ==
              200,
          "late answered");
    CHECK(strstr(body, "stale"), "%s", body);
    free(body);
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA100", "ringing", 4), "12345", 0, NULL) == 200,
          "ringing after completed");
    CHECK(xlen(ALL) == all, "an event after completed was published");
    /* a terminal event first creates an ended call */
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA200", "busy", 2), "12345", 0, NULL) == 200,
          "busy first");
    ev = last_event(ACME_CALLS);
    CHECK(ev && strcmp(json_string_value(json_object_get(ev, "event")), "call_ended") == 0, "ev");
    CHECK(ev && strcmp(dget(ev, "call_id"), "CA200") == 0 &&
              strcmp(dget(ev, "outcome"), "busy") == 0,
          "busy call");
    json_decref(ev);
    CHECK(twilio("POST", t, tw_cb(b, sizeof(b), "CA200", "initiated", 0), "12345", 0, NULL) == 200,
          "initiated after busy");
    CHECK(xlen(ALL) == all + 1, "events after an ended call published");
    /* Telnyx: answered, then hangup: completed (outcome decided by the stored state) */
    const char *ans = "{\"data\":{\"event_type\":\"call.answered\",\"id\":\"tx-1\",\"payload\":"
                      "{\"call_control_id\":\"v3:two\",\"call_session_id\":\"s2\"}}}";
    const char *hup = "{\"data\":{\"event_type\":\"call.hangup\",\"id\":\"tx-2\",\"payload\":"
                      "{\"call_control_id\":\"v3:two\",\"hangup_cause\":\"normal_clearing\"}}}";
    CHECK(telnyx("1700000000", ans, NULL) == 200, "telnyx answered");
    CHECK(telnyx("1700000000", hup, NULL) == 200, "telnyx hangup");
    ev = last_event(ACME_CALLS);
    CHECK(ev && strcmp(dget(ev, "outcome"), "completed") == 0, "telnyx answered -> completed");
    json_decref(ev);
    /* Vonage completed after busy keeps busy */
    const char *vb = "{\"uuid\":\"vu-1\",\"status\":\"busy\",\"timestamp\":\"t1\"}";
    const char *vc = "{\"uuid\":\"vu-1\",\"status\":\"completed\",\"timestamp\":\"t2\","
                     "\"duration\":\"0\"}";
    all = xlen(ALL);
    CHECK(vonage(vb, CLOCK, "j-busy", NULL) == 200, "vonage busy");
    CHECK(vonage(vc, CLOCK, "j-completed", &body) == 200, "vonage completed");
    CHECK(strstr(body, "stale"), "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "vonage completed after busy published");
    /* correctly signed, but an api_key the tenant's allow-list does not have */
    vonage_api_key = "other";
    CHECK(vonage("{\"uuid\":\"vu-2\",\"status\":\"ringing\"}", CLOCK, "j-other", NULL) == 403,
          "unknown account");
    vonage_api_key = "a1b2c3d";
    CHECK(xlen(ALL) == all + 1, "unknown account published");
    ev = last_event(ACME_CALLS);
    CHECK(ev && strcmp(dget(ev, "outcome"), "busy") == 0, "busy kept");
    json_decref(ev);
    /* a real end after rt-health's synthetic timeout replaces it (the state hash contract:
     * rt:{tenant}:call:<provider>:<first 32 hex of SHA-256(call id)>, state timed_out) */
    unsigned char h[32];
    char hex[65];
    ingest_sha256("gc-to", 5, h);
    ingest_hex_encode(h, 16, hex);
    redisReply *rr =
        redisCommand(rds, "HSET rt:{acme}:call:generic:%s rank 4 state timed_out", hex);
    freeReplyObject(rr);
    const char *late = "{\"id\":\"g-to-1\",\"call_id\":\"gc-to\",\"status\":\"ringing\"}";
    const char *end = "{\"id\":\"g-to-2\",\"call_id\":\"gc-to\",\"status\":\"no_answer\"}";
    CHECK(generic(late, "1700000000", "generic-secret", &body) == 200 && strstr(body, "stale"),
          "%s", body);
    free(body);
    CHECK(generic(end, "1700000000", "generic-secret", &body) == 200 && strstr(body, "call_ended"),
          "%s", body);
    free(body);
    rr = redisCommand(rds, "HGET rt:{acme}:call:generic:%s outcome", hex);
    CHECK(rr && rr->type == REDIS_REPLY_STRING && strcmp(rr->str, "no_answer") == 0, "outcome");
    freeReplyObject(rr);
    all = xlen(ALL);
    /* generic: id dedupe */
    const char *g = "{\"id\":\"g-1\",\"call_id\":\"gc-1\",\"status\":\"ringing\"}";
    CHECK(generic(g, "1700000000", "generic-secret", NULL) == 200, "generic");
    CHECK(generic(g, "1700000010", "generic-secret", &body) == 200, "generic again");
    CHECK(strstr(body, "duplicate"), "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "generic");
}

static void test_bad_requests(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    long long all = xlen(ALL);
    char *big = malloc(65538), *body;
    memset(big, 'a', 65537);
    big[65537] = '\0';
    CHECK(generic(big, "1700000000", "generic-secret", NULL) == 413, "body over 64 KiB");
    free(big);
    /* malformed form encoding (signed over what a lenient parser would see) */
    CHECK(twilio("POST", "/webhooks/twilio/acme", "AccountSid=AC1&CallSid=%zz", "12345", 0, NULL) ==
              400,
          "malformed form");
    CHECK(generic("{\"id\":", "1700000000", "generic-secret", &body) == 400, "malformed json");
    CHECK(strstr(body, "bad_body"), "%s", body);
    free(body);
    /* missing signature headers */
    const char *g = "{\"id\":\"g-9\",\"call_id\":\"gc-9\",\"status\":\"ringing\"}";
    CHECK(req("POST", "/webhooks/generic/acme", "X-RT-Timestamp: 1700000000\r\n", g, strlen(g),
              NULL) == 401,
          "generic no signature");
    CHECK(req("POST", "/webhooks/twilio/acme", NULL, "AccountSid=AC1", 14, NULL) == 401, "twilio");
    CHECK(telnyx_raw(NULL, telnyx_vector_sig, telnyx_vector_body, NULL) == 401, "no ts");
    CHECK(telnyx_raw("1700000000", NULL, telnyx_vector_body, NULL) == 401, "no sig");
    CHECK(vonage_raw(NULL, vonage_vector_body, NULL) == 401, "no jwt");
    /* non-numeric timestamps */
    CHECK(generic(g, "17e8", "generic-secret", NULL) == 401, "generic ts");
    CHECK(telnyx_raw("1700000000x", telnyx_vector_sig, telnyx_vector_body, NULL) == 401, "ts");
    /* duplicate bodySHA256 */
    const char *dup = "/webhooks/twilio/acme?bodySHA256="
                      "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a&bodySHA256="
                      "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    CHECK(twilio("POST", dup, "{}", "12345", 0, &body) == 400, "dup bodySHA256");
    CHECK(strstr(body, "bad_body_hash"), "%s", body);
    free(body);
    /* unknown tenant or provider; unconfigured provider for a tenant; wrong method */
    CHECK(generic(g, "1700000000", "wrong-secret", NULL) == 401, "wrong secret");
    CHECK(req("POST", "/webhooks/plivo/acme", NULL, "{}", 2, NULL) == 404, "provider");
    CHECK(req("POST", "/webhooks/generic/nobody", NULL, "{}", 2, NULL) == 404, "tenant");
    CHECK(req("POST", "/webhooks/twilio/beta", NULL, "{}", 2, NULL) == 404, "beta has no twilio");
    CHECK(req("POST", "/webhooks/generic/acme/x", NULL, "{}", 2, NULL) == 404, "extra segment");
    CHECK(req("GET", "/webhooks/generic/acme", NULL, "", 0, NULL) == 405, "GET generic");
    /* Twilio GET: the URL alone is signed, parameters come from the query */
    char b[512], target[700];
    tw_cb(b, sizeof(b), "CA300", "ringing", 1);
    snprintf(target, sizeof(target), "/webhooks/twilio/acme?%s", b);
    CHECK(twilio("GET", target, "", "12345", 0, &body) == 200, "twilio GET %s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "bad requests published something");
}

static char *batch_of(int n)
{
    size_t cap = (size_t)n * 64 + 16, off = 0;
    char *many = malloc(cap);
    off += (size_t)snprintf(many, cap, "[");
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(many + off, cap - off, "%s{\"channel\":\"tenant\",\"event\":\"b\"}",
                                i ? "," : "");
    snprintf(many + off, cap - off, "]");
    return many;
}

static void test_publish_api(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    char *body;
    const char *acme = "Authorization: Bearer acme-key\r\n";
    const char *ev = "{\"channel\":\"tenant\",\"event\":\"dashboard_schedule_updated\","
                     "\"data\":{\"n\":1}}";
    CHECK(req("POST", "/api/v1/publish", NULL, ev, strlen(ev), NULL) == 401, "no key");
    CHECK(req("POST", "/api/v1/publish", "Authorization: Bearer nope\r\n", ev, strlen(ev), NULL) ==
              401,
          "wrong key");
    CHECK(req("POST", "/api/v1/publish", "Authorization: Basic YWNtZS1rZXk=\r\n", ev, strlen(ev),
              NULL) == 401,
          "not bearer");
    long long n0 = xlen("rt:{acme}:tenant");
    CHECK(req("POST", "/api/v1/publish", acme, ev, strlen(ev), &body) == 200, "%s", body);
    json_t *o = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(o, "id"));
    CHECK(id && strchr(id, '-'), "%s", body);
    free(body);
    json_t *stored = last_event("rt:{acme}:tenant");
    CHECK(stored && id && strcmp(json_string_value(json_object_get(stored, "id")) ?: "", "") == 0,
          "stored text has no id");
    CHECK(xlen("rt:{acme}:tenant") == n0 + 1, "not stored");
    json_decref(stored);
    json_decref(o);
    /* another tenant: 403 for a tenant key, fine for the admin key (which must name one) */
    const char *beta = "{\"tenant\":\"beta\",\"channel\":\"tenant\",\"event\":\"x\"}";
    CHECK(req("POST", "/api/v1/publish", acme, beta, strlen(beta), NULL) == 403, "A names B");
    const char *gamma = "{\"tenant\":\"gamma\",\"channel\":\"tenant\",\"event\":\"x\"}";
    CHECK(req("POST", "/api/v1/publish", "Authorization: Bearer admin-key\r\n", gamma,
              strlen(gamma), NULL) == 200,
          "admin");
    CHECK(xlen("rt:{gamma}:tenant") == 1, "admin publish not stored");
    CHECK(req("POST", "/api/v1/publish", "Authorization: Bearer admin-key\r\n", ev, strlen(ev),
              NULL) == 400,
          "admin without tenant");
    /* bad requests */
    const char *bad[] = {"{",
                         "{\"channel\":\"db:public.calls\",\"event\":\"x\"}",
                         "{\"channel\":\"user\",\"event\":\"x\"}",
                         "{\"channel\":\"tenant\",\"event\":\"bad name\"}",
                         "{\"channel\":\"tenant\",\"event\":\"x\",\"extra\":1}",
                         "{\"channel\":\"tenant\",\"event\":\"x\",\"data\":[1]}",
                         "[]",
                         "42"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(req("POST", "/api/v1/publish", acme, bad[i], strlen(bad[i]), NULL) == 400, "%s",
              bad[i]);
    /* batch: ids in order */
    const char *batch = "[{\"channel\":\"app:imports\",\"event\":\"progress\",\"data\":{\"i\":0}},"
                        "{\"channel\":\"user\",\"user\":\"u1\",\"event\":\"progress\","
                        "\"data\":{\"i\":1}},"
                        "{\"channel\":\"app:imports\",\"event\":\"progress\",\"data\":{\"i\":2}},"
                        "{\"channel\":\"calls\",\"event\":\"note\",\"data\":{\"i\":3}}]";
    CHECK(req("POST", "/api/v1/publish", acme, batch, strlen(batch), &body) == 200, "%s", body);
    o = json_loads(body, 0, NULL);
    json_t *ids = json_object_get(o, "ids");
    CHECK(json_array_size(ids) == 4, "%s", body);
    free(body);
    redisReply *r = redisCommand(rds, "XRANGE rt:{acme}:app:imports - +");
    CHECK(r && r->elements >= 2, "imports stream");
    if (r && r->elements >= 2 && json_array_size(ids) == 4) {
        CHECK(strcmp(r->element[r->elements - 2]->element[0]->str,
                     json_string_value(json_array_get(ids, 0))) == 0,
              "first id");
        CHECK(strcmp(r->element[r->elements - 1]->element[0]->str,
                     json_string_value(json_array_get(ids, 2))) == 0,
              "third id");
    }
    freeReplyObject(r);
    r = redisCommand(rds, "XREVRANGE rt:{acme}:user:u1 + - COUNT 1");
    CHECK(r && r->elements == 1 && json_array_size(ids) == 4 &&
              strcmp(r->element[0]->element[0]->str, json_string_value(json_array_get(ids, 1))) ==
                  0,
          "user id");
    freeReplyObject(r);
    json_decref(o);
    /* idempotency: the same key answers the first id and stores nothing more */
    const char *idem = "{\"channel\":\"tenant\",\"event\":\"x\",\"idempotency_key\":\"k-1\"}";
    char *b1, *b2;
    long long n1 = xlen("rt:{acme}:tenant");
    CHECK(req("POST", "/api/v1/publish", acme, idem, strlen(idem), &b1) == 200, "%s", b1);
    CHECK(req("POST", "/api/v1/publish", acme, idem, strlen(idem), &b2) == 200, "%s", b2);
    CHECK(strcmp(b1, b2) == 0, "idempotent ids differ: %s %s", b1, b2);
    CHECK(xlen("rt:{acme}:tenant") == n1 + 1, "idempotency key stored twice");
    free(b1);
    free(b2);
    /* idempotency inside a batch and across requests */
    const char *ib = "[{\"channel\":\"tenant\",\"event\":\"x\",\"idempotency_key\":\"k-2\"},"
                     "{\"channel\":\"tenant\",\"event\":\"y\"},"
                     "{\"channel\":\"tenant\",\"event\":\"x\",\"idempotency_key\":\"k-2\"},"
                     "{\"channel\":\"tenant\",\"event\":\"x\",\"idempotency_key\":\"k-1\"}]";
    n1 = xlen("rt:{acme}:tenant");
    CHECK(req("POST", "/api/v1/publish", acme, ib, strlen(ib), &body) == 200, "%s", body);
    o = json_loads(body, 0, NULL);
    ids = json_object_get(o, "ids");
    CHECK(json_array_size(ids) == 4 &&
              strcmp(json_string_value(json_array_get(ids, 0)),
                     json_string_value(json_array_get(ids, 2))) == 0 &&
              strcmp(json_string_value(json_array_get(ids, 0)),
                     json_string_value(json_array_get(ids, 1))) != 0,
          "batch idempotency: %s", body);
    json_decref(o);
    free(body);
    CHECK(xlen("rt:{acme}:tenant") == n1 + 2, "batch with repeated keys stored %lld",
          xlen("rt:{acme}:tenant") - n1);
    /* batch size limits */
    char *many = batch_of(1001);
    const char *betah = "Authorization: Bearer beta-key\r\n";
    CHECK(req("POST", "/api/v1/publish", betah, many, strlen(many), NULL) == 400, "1001 events");
    free(many);
    /* 1000 events drain beta's bucket (burst 1000, 1/s): the next one gets 429 + Retry-After */
    many = batch_of(1000);
    CHECK(req("POST", "/api/v1/publish", betah, many, strlen(many), &body) == 200, "1000: %.300s",
          body);
    o = json_loads(body, 0, NULL);
    CHECK(json_array_size(json_object_get(o, "ids")) == 1000, "1000 ids");
    json_decref(o);
    free(body);
    free(many);
    struct resp rr;
    const char *one = "{\"channel\":\"tenant\",\"event\":\"b\"}";
    http("POST", "/api/v1/publish", betah, one, strlen(one), &rr);
    CHECK(rr.status == 429, "rate limit: %d", rr.status);
    CHECK(strstr(rr.head, "Retry-After: "), "no Retry-After");
    free(rr.body);
    /* over 1 MiB */
    size_t hl = 1024 * 1024 + 10;
    char *huge = malloc(hl);
    memset(huge, ' ', hl);
    CHECK(req("POST", "/api/v1/publish", acme, huge, hl, NULL) == 413, "1 MiB");
    free(huge);
}

static void test_redis_down(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    char b[512], *body;
    char rdir[600];
    snprintf(rdir, sizeof(rdir), "%s/redis", dir);
    long long all = xlen(ALL);
    redisFree(rds);
    rds = NULL;
    CHECK(rt_test_fixture("redis.sh", "stop", rdir, NULL) == 0, "stop redis");
    CHECK(rt_test_wait(unready_cond, NULL, 10000), "readyz stays 200 without redis");
    struct resp r;
    const char *t = "/webhooks/twilio/acme";
    char url[256], sig[29], hdr[256];
    struct ingest_form f;
    tw_cb(b, sizeof(b), "CA900", "initiated", 0);
    ingest_form_parse(b, strlen(b), &f);
    snprintf(url, sizeof(url), PUBLIC_URL "%s", t);
    ingest_twilio_sign("12345", url, &f, sig);
    ingest_form_free(&f);
    snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
    http("POST", t, hdr, b, strlen(b), &r);
    CHECK(r.status == 503, "redis down: %d %s", r.status, r.body);
    CHECK(strstr(r.head, "Retry-After: 7"), "Retry-After missing: %s", r.head);
    free(r.body);
    const char *ev = "{\"channel\":\"tenant\",\"event\":\"x\"}";
    http("POST", "/api/v1/publish", "Authorization: Bearer acme-key\r\n", ev, strlen(ev), &r);
    CHECK(r.status == 503 && strstr(r.head, "Retry-After: 7"), "publish down: %d", r.status);
    free(r.body);
    CHECK(rt_test_fixture("redis.sh", "restart", rdir, NULL) == 0, "restart redis");
    CHECK(rt_test_wait(ready_cond, NULL, 15000), "not ready after restart");
    char port_s[32], path[700];
    snprintf(path, sizeof(path), "%s/port", rdir);
    FILE *pf = fopen(path, "r");
    CHECK(pf && fgets(port_s, sizeof(port_s), pf), "port");
    if (pf)
        fclose(pf);
    rds = redisConnect("127.0.0.1", atoi(port_s));
    /* the restarted server is empty (no persistence): count from zero */
    all = xlen(ALL);
    CHECK(req("POST", t, hdr, b, strlen(b), &body) == 200, "retry after restart: %s", body);
    free(body);
    CHECK(req("POST", t, hdr, b, strlen(b), &body) == 200 && strstr(body, "duplicate"), "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1, "retried webhook not published exactly once");
}

static bool write_file(const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    fclose(f);
    return true;
}

static void sha_hex(const char *s, char *out)
{
    unsigned char h[32];
    ingest_sha256(s, strlen(s), h);
    ingest_hex_encode(h, 32, out);
}

static bool setup(void)
{
    const char *state = getenv("RT_TEST_STATE");
    char rdir[600], keys[1024], a[65], k1[65], k2[65];
    snprintf(dir, sizeof(dir), "%s/ingest-webhooks-%d", state ? state : "/tmp", (int)getpid());
    snprintf(rdir, sizeof(rdir), "%s/redis", dir);
    if (rt_test_fixture("redis.sh", "start", rdir, "private") != 0)
        return false;
    sha_hex("admin-key", a);
    sha_hex("acme-key", k1);
    sha_hex("beta-key", k2);
    snprintf(keys, sizeof(keys),
             "{\"admin\": [\"sha256:%s\"], \"tenants\": {\"acme\": [\"sha256:%s\"], "
             "\"beta\": [\"sha256:%s\"]}}",
             a, k1, k2);
    return write_file("keys.json", keys) &&
           write_file("secrets.json",
                      "{\"tenants\": {\"acme\": {"
                      "\"twilio\": {\"auth_tokens\": [\"12345\", \"next-token\"]},"
                      "\"telnyx\": {\"public_keys\": "
                      "[\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"]},"
                      "\"vonage\": {\"signature_secrets\": "
                      "[\"vonage-signature-secret-example-32b\"], \"api_keys\": [\"a1b2c3d\"]},"
                      "\"generic\": {\"secrets\": [\"generic-secret\"]}},"
                      "\"beta\": {\"generic\": {\"secrets\": [\"beta-secret\"]}}}}");
}

/* Twilio's JSON variant: the URL carries bodySHA256 and is signed alone; the call parameters
 * come from the JSON body. */
/* NULL-safe (a missing field fails the check instead of crashing the test) */
static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void test_twilio_json_variant(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    const char *jb = "{\"AccountSid\":\"AC1\",\"CallSid\":\"CAJ1\",\"CallStatus\":\"ringing\","
                     "\"SequenceNumber\":1,\"From\":\"+15550001\",\"To\":\"+15550002\","
                     "\"Direction\":\"outbound-api\",\"Extra\":[1,2],\"Answered\":false}";
    char hex[65], target[256], *body;
    sha_hex(jb, hex);
    snprintf(target, sizeof(target), "/webhooks/twilio/acme?x=1&bodySHA256=%s", hex);
    long long all = xlen(ALL), calls = xlen(ACME_CALLS);
    /* one byte of the body changed: the hash no longer matches, refused, nothing published */
    char *mb = strdup(jb);
    mb[strlen(mb) - 3] ^= 1;
    char url[512], sig[29], hdr[128];
    snprintf(url, sizeof(url), PUBLIC_URL "%s", target);
    ingest_twilio_sign("12345", url, NULL, sig);
    snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
    CHECK(req("POST", target, hdr, mb, strlen(mb), NULL) == 401, "json variant body byte");
    free(mb);
    CHECK(xlen(ALL) == all, "a body with the wrong hash was published");
    /* as sent: exactly one normalized event */
    CHECK(twilio("POST", target, jb, "12345", 0, &body) == 200, "json variant: %s", body);
    CHECK(strstr(body, "\"published\"") && strstr(body, "call_update"), "%s", body);
    free(body);
    CHECK(xlen(ALL) == all + 1 && xlen(ACME_CALLS) == calls + 1, "json variant not published once");
    json_t *ev = last_event(ACME_CALLS);
    json_t *d = json_object_get(ev, "data");
    CHECK(ev && streq(json_string_value(json_object_get(ev, "event")), "call_update"), "ev");
    CHECK(ev && streq(dget(ev, "provider"), "twilio") && streq(dget(ev, "call_id"), "CAJ1") &&
              streq(dget(ev, "account"), "AC1") && streq(dget(ev, "state"), "ringing") &&
              streq(dget(ev, "from"), "+15550001") &&
              streq(dget(ev, "provider_status"), "ringing") &&
              json_integer_value(json_object_get(d, "sequence")) == 1,
          "json variant normalized wrongly");
    json_decref(ev);
    /* a redelivery is a duplicate */
    CHECK(twilio("POST", target, jb, "12345", 0, &body) == 200 && strstr(body, "duplicate"), "%s",
          body);
    free(body);
    /* verified, but not an object, or no CallSid: 400 */
    const char *notobj = "[\"CallSid\",\"CAJ2\"]";
    const char *nosid = "{\"AccountSid\":\"AC1\",\"CallStatus\":\"ringing\"}";
    const char *bad[] = {notobj, nosid};
    for (size_t i = 0; i < 2; i++) {
        sha_hex(bad[i], hex);
        snprintf(target, sizeof(target), "/webhooks/twilio/acme?bodySHA256=%s", hex);
        CHECK(twilio("POST", target, bad[i], "12345", 0, NULL) == 400, "%s", bad[i]);
    }
    CHECK(xlen(ALL) == all + 1, "a refused json variant was published");
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int generic_beta(const char *body, const char *secret, struct resp *r)
{
    char sig[68], hdr[256];
    ingest_generic_sign(secret, "1700000000", body, strlen(body), sig);
    snprintf(hdr, sizeof(hdr), "X-RT-Timestamp: 1700000000\r\nX-RT-Signature: %s\r\n", sig);
    return http("POST", "/webhooks/generic/beta", hdr, body, strlen(body), r);
}

/* RT_INGEST_WEBHOOK_RATE=1, burst 3: the fourth verified webhook of a tenant within a second
 * gets 429 + Retry-After and publishes nothing; unsigned requests do not spend the budget;
 * another tenant has its own bucket. */
static void test_webhook_rate(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    struct resp r;
    char b[128];
    long long all = xlen(ALL);
    int ok = 0, limited = 0;
    /* refused before the limit: no tokens spent */
    for (int i = 0; i < 5; i++) {
        generic_beta("{\"id\":\"x\",\"call_id\":\"c\",\"status\":\"ringing\"}", "wrong", &r);
        CHECK(r.status == 401, "unsigned: %d", r.status);
        free(r.body);
    }
    double t0 = mono();
    for (int i = 0; i < 6; i++) {
        snprintf(b, sizeof(b), "{\"id\":\"rl-%d\",\"call_id\":\"rl%d\",\"status\":\"ringing\"}", i,
                 i);
        generic_beta(b, "beta-secret", &r);
        if (r.status == 200) {
            ok++;
        } else if (r.status == 429) {
            limited++;
            CHECK(strstr(r.head, "Retry-After: ") && strstr(r.body, "rate_limited"), "%s %s",
                  r.head, r.body);
        }
        CHECK(i >= 3 || r.status == 200, "within the burst %d: %d", i, r.status);
        free(r.body);
    }
    double elapsed = mono() - t0;
    CHECK(ok + limited == 6 && limited >= 1, "ok %d limited %d", ok, limited);
    CHECK(elapsed > 1 || ok == 3, "ok %d in %.2f s", ok, elapsed);
    CHECK(xlen(ALL) == all + ok, "published %lld for %d accepted", xlen(ALL) - all, ok);
    /* acme's bucket is its own */
    CHECK(generic("{\"id\":\"rl-acme\",\"call_id\":\"rla\",\"status\":\"ringing\"}", "1700000000",
                  "generic-secret", NULL) == 200,
          "another tenant limited");
}

/* An admin batch naming two tenants, refused because the second is over its limit, takes
 * nothing from the first (RT_INGEST_RATE=1, burst 1000). */
static void test_publish_refund(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    const char *admin = "Authorization: Bearer admin-key\r\n";
    size_t cap = 1001 * 80;
    char *many = malloc(cap);
    size_t off = (size_t)snprintf(many, cap, "[");
    for (int i = 0; i < 1000; i++)
        off += (size_t)snprintf(many + off, cap - off,
                                "%s{\"tenant\":\"zeta\",\"channel\":\"tenant\",\"event\":\"z\"}",
                                i ? "," : "");
    snprintf(many + off, cap - off, "]");
    CHECK(req("POST", "/api/v1/publish", admin, many, strlen(many), NULL) == 200, "drain zeta");
    /* [eta x1, zeta x500]: zeta is empty, so 429, eight times */
    off =
        (size_t)snprintf(many, cap, "[{\"tenant\":\"eta\",\"channel\":\"tenant\",\"event\":\"e\"}");
    for (int i = 0; i < 500; i++)
        off += (size_t)snprintf(many + off, cap - off,
                                ",{\"tenant\":\"zeta\",\"channel\":\"tenant\",\"event\":\"z\"}");
    snprintf(many + off, cap - off, "]");
    for (int i = 0; i < 8; i++)
        CHECK(req("POST", "/api/v1/publish", admin, many, strlen(many), NULL) == 429, "mixed %d",
              i);
    CHECK(xlen("rt:{eta}:tenant") <= 0, "a refused batch stored something");
    /* eta's bucket is still full: a whole batch of 1000 fits */
    off = (size_t)snprintf(many, cap, "[");
    for (int i = 0; i < 1000; i++)
        off += (size_t)snprintf(many + off, cap - off,
                                "%s{\"tenant\":\"eta\",\"channel\":\"tenant\",\"event\":\"e\"}",
                                i ? "," : "");
    snprintf(many + off, cap - off, "]");
    char *body;
    CHECK(req("POST", "/api/v1/publish", admin, many, strlen(many), &body) == 200,
          "refused batches took eta's tokens: %.200s", body);
    free(body);
    CHECK(xlen("rt:{eta}:tenant") == 1000, "eta stored %lld", xlen("rt:{eta}:tenant"));
    free(many);
}

/* RT_INGEST_REQUEST_TIMEOUT_S=2: a client that sends half a request and stalls is disconnected
 * after about 2 s; others are served meanwhile and after. */
static void test_request_timeout(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    const char *half[] = {"POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                          "\r\n{\"chan",
                          "POST /webhooks/generic/acme HTTP/1.1\r\nHost: x\r\nX-RT-Ti"};
    for (size_t i = 0; i < 2; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct timeval tv = {15, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
        double t0 = mono();
        CHECK(write(fd, half[i], strlen(half[i])) == (ssize_t)strlen(half[i]), "write");
        CHECK(req("GET", "/healthz", NULL, "", 0, NULL) == 200, "not served beside a stall");
        char buf[512];
        ssize_t k;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
            ;
        double el = mono() - t0;
        CHECK(k == 0 || (k < 0 && errno == ECONNRESET), "stalled client not disconnected: %zd %s",
              k, strerror(errno));
        CHECK(el > 1.5 && el < 6, "disconnected after %.2f s, not about 2", el);
        close(fd);
    }
    CHECK(req("GET", "/healthz", NULL, "", 0, NULL) == 200, "not serving after the timeouts");
}

static void test_limits(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    const char *extra[] = {"RT_INGEST_WEBHOOK_RATE=1", "RT_INGEST_WEBHOOK_BURST=3",
                           "RT_INGEST_REQUEST_TIMEOUT_S=2", NULL};
    CHECK(start_ingest_env(CLOCK, extra), "start with low limits");
    test_webhook_rate();
    test_publish_refund();
    test_request_timeout();
    char *metrics;
    CHECK(req("GET", "/metrics", NULL, "", 0, &metrics) == 200, "metrics");
    CHECK(strstr(metrics, "rt_ingest_rejects_total{source=\"webhook\",provider=\"generic\","
                          "reason=\"rate_limited\"}"),
          "no webhook rate_limited count");
    CHECK(strstr(metrics, "rt_ingest_rejects_total{source=\"publish\",provider=\"\","
                          "reason=\"rate_limited\"} 8"),
          "publish rate_limited count");
    free(metrics);
    /* the unknown key's name is in the reply, never in the log */
    const char *uk = "{\"channel\":\"tenant\",\"event\":\"x\",\"secretive_key_name\":1}";
    char *body;
    CHECK(req("POST", "/api/v1/publish", "Authorization: Bearer acme-key\r\n", uk, strlen(uk),
              &body) == 400,
          "unknown key");
    free(body);
    char line[2048];
    CHECK(rt_test_proc_wait_log(&proc, "\"key_len\":18", 5000, line, sizeof(line)) &&
              strstr(line, "publish.rejected"),
          "no publish.rejected with key_len: %s", line);
    CHECK(!rt_test_proc_wait_log(&proc, "secretive_key_name", 1, NULL, 0), "a body key in the log");
    stop_ingest();
}

static void test_windows(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    /* clock pinned 301 s after the vectors were signed: Telnyx and Vonage refuse */
    CHECK(start_ingest(CLOCK + 301), "start with a later clock");
    long long all = xlen(ALL);
    CHECK(telnyx_raw("1700000000", telnyx_vector_sig, telnyx_vector_body, NULL) == 401, "telnyx");
    CHECK(vonage_raw(vonage_vector_jwt, vonage_vector_body, NULL) == 401, "vonage");
    CHECK(generic("{\"id\":\"w-1\",\"call_id\":\"w\",\"status\":\"ringing\"}", "1700000000",
                  "generic-secret", NULL) == 401,
          "generic");
    CHECK(xlen(ALL) == all, "stale webhooks published");
    stop_ingest();
    /* 300 s: inside (already stored, so accepted as duplicates) */
    CHECK(start_ingest(CLOCK - 300), "start with an earlier clock");
    CHECK(telnyx_raw("1700000000", telnyx_vector_sig, telnyx_vector_body, NULL) == 200, "telnyx");
    CHECK(vonage_raw(vonage_vector_jwt, vonage_vector_body, NULL) == 200, "vonage");
    /* Redis restarted empty since the vectors were first stored: both are new again */
    CHECK(xlen(ALL) == all + 2, "vectors inside the window not published");
    stop_ingest();
}

/* A bad secrets file refuses to start (exit 2) naming the key; Twilio without RT_PUBLIC_URL
 * too; without the files the routes exist and refuse everything. */
static void test_config(void)
{
    fprintf(stderr, "-- %s\n", __func__);
    char bin[600], e1[700], line[2048];
    struct rt_test_proc p;
    snprintf(bin, sizeof(bin), "%s/ingest/rt-ingest", getenv("RT_TEST_BIN"));
    char *argv[] = {bin, NULL};
    write_file("bad.json", "{\"tenants\": {\"acme\": {\"twilio\": {\"auth_tokenz\": [\"x\"]}}}}");
    snprintf(e1, sizeof(e1), "RT_WEBHOOK_SECRETS=%s/bad.json", dir);
    char *env1[] = {e1, "RT_INGEST_LISTEN=127.0.0.1:0", NULL};
    CHECK(rt_test_proc_start(&p, argv, env1) == 0, "start");
    CHECK(rt_test_proc_wait_log(&p, "config.invalid", 10000, line, sizeof(line)) &&
              strstr(line, "tenants.acme.twilio.auth_tokenz: unknown key"),
          "no config error naming the key: %s", line);
    CHECK(rt_test_proc_stop(&p, 0, 10000) == 2, "bad secrets file: exit status not 2");
    snprintf(e1, sizeof(e1), "RT_WEBHOOK_SECRETS=%s/secrets.json", dir);
    CHECK(rt_test_proc_start(&p, argv, env1) == 0, "start");
    CHECK(rt_test_proc_wait_log(&p, "RT_PUBLIC_URL", 10000, NULL, 0), "twilio without public URL");
    CHECK(rt_test_proc_stop(&p, 0, 10000) == 2, "no RT_PUBLIC_URL: exit status not 2");
    char *env2[] = {"RT_INGEST_LISTEN=127.0.0.1:0", "RT_REDIS_URL=redis://127.0.0.1:1/0", NULL};
    CHECK(rt_test_proc_start(&p, argv, env2) == 0, "start");
    CHECK(rt_test_proc_wait_log(&p, "process.ready", 10000, line, sizeof(line)), "no files");
    int saved = port;
    port = rt_test_url_port(line);
    CHECK(req("POST", "/webhooks/generic/acme", NULL, "{}", 2, NULL) == 404, "no secrets: 404");
    CHECK(req("POST", "/api/v1/publish", "Authorization: Bearer acme-key\r\n", "{}", 2, NULL) ==
              401,
          "no keys: 401");
    port = saved;
    CHECK(rt_test_proc_stop(&p, SIGTERM, 10000) == 0, "exit");
}

int main(void)
{
    char rport[32], path[700];
    signal(SIGPIPE, SIG_IGN); /* the server may answer 413 and close before the body is sent */
    if (!setup()) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/redis/port", dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(rport, sizeof(rport), f))
        return 1;
    fclose(f);
    rds = redisConnect("127.0.0.1", atoi(rport));
    if (!rds || rds->err || !start_ingest(CLOCK)) {
        fprintf(stderr, "cannot start rt-ingest (log %s)\n", proc.log_path);
        return 1;
    }
    test_vectors_end_to_end();
    test_call_model();
    test_bad_requests();
    test_publish_api();
    test_twilio_json_variant();
    CHECK(!rt_test_proc_wait_log(&proc, "acme-key", 1, NULL, 0), "a key in the log");
    CHECK(!rt_test_proc_wait_log(&proc, telnyx_vector_sig, 1, NULL, 0), "a signature in the log");
    CHECK(!rt_test_proc_wait_log(&proc, "amazing", 1, NULL, 0), "a body in the log");
    char *metrics;
    CHECK(req("GET", "/metrics", NULL, "", 0, &metrics) == 200, "metrics");
    const char *want[] = {
        "rt_ingest_rejects_total{source=\"webhook\",provider=\"generic\",reason=\"bad_signature\"}",
        "rt_ingest_rejects_total{source=\"webhook\",provider=\"telnyx\",reason=\"missing_or_"
        "malformed_signature\"}",
        "rt_ingest_rejects_total{source=\"webhook\",provider=\"generic\",reason=\"body_too_"
        "large\"}",
        "rt_ingest_rejects_total{source=\"publish\",provider=\"\",reason=\"rate_limited\"} 1",
        "rt_ingest_rejects_total{source=\"publish\",provider=\"\",reason=\"forbidden_tenant\"} 1",
        "rt_ingest_webhooks_total{provider=\"twilio\",tenant=\"acme\",outcome=\"duplicate\"}",
        "rt_ingest_webhooks_total{provider=\"vonage\",tenant=\"acme\",outcome=\"stale\"} 1",
        "rt_ingest_webhook_latency_seconds_count",
        "rt_ingest_publish_latency_seconds_count"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECK(strstr(metrics, want[i]), "metrics lack %s", want[i]);
    free(metrics);
    test_redis_down();
    stop_ingest();
    test_windows();
    test_limits();
    test_config();
    redisFree(rds);
    char rdir[600];
    snprintf(rdir, sizeof(rdir), "%s/redis", dir);
    rt_test_fixture("redis.sh", "stop", rdir, NULL);
    fprintf(stderr, "%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
