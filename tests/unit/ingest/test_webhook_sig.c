/* Every vector of spec/webhooks.md, accepted; each with one byte of URL, body, parameter,
 * timestamp or signature changed, refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rt/err.h"
#include "sigutil.h"
#include "webhook_generic.h"
#include "webhook_telnyx.h"
#include "webhook_twilio.h"
#include "webhook_vonage.h"

#include <stdlib.h>
#include <string.h>

static const char *const token12345[] = {"12345"};

/* ---- Twilio ---- */

static const char *const P_names[] = {"CallSid", "Caller", "Digits", "From", "To"};

static void form_set(struct ingest_form *f, const char *const *names, const char *const *values,
                     size_t n)
{
    f->kv = calloc(n, sizeof(*f->kv));
    f->n = n;
    for (size_t i = 0; i < n; i++) {
        f->kv[i].name = strdup(names[i]);
        f->kv[i].value = strdup(values[i]);
    }
}

static void form_P(struct ingest_form *f, const char *caller)
{
    const char *v[] = {"CA1234567890ABCDE", caller, "1234", caller, "+18005551212"};
    form_set(f, P_names, v, 5);
}

struct tw_vector {
    const char *name, *url, *body, *sig;
    int params; /* 0 none, 1 P, 2 P with ...310, 3 T7's */
};

static const struct tw_vector tw[] = {
    {"T1", "https://mycompany.com/myapp.php?foo=1&bar=2", NULL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 1},
    {"T2", "https://example.com/myapp.php?foo=1&bar=2", NULL, "L/OH5YylLD5NRKLltdqwSvS0BnU=", 2},
    {"T3", "https://mycompany.com:443/myapp.php?foo=1&bar=2", NULL,
     "kvajT1Ptam85bY51eRf/AJRuM3w=", 1},
    {"T3b", "http://mycompany.com:80/myapp.php?foo=1&bar=2", NULL,
     "0ZXoZLH/DfblKGATFgpif+LLRf4=", 1},
    {"T3c", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", NULL,
     "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", 1},
    {"T4",
     "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
     "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
     "{\"property\": \"value\", \"boolean\": true}", "a9nBmqA0ju/hNViExpshrM61xv4=", 0},
    {"T5",
     "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
     "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
     "{}", "Ldidvp12m26NI7eqEvxnEpkd9Hc=", 0},
    {"T6",
     "https://mycompany.com/myapp.php?bodySHA256="
     "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
     "{\"property\": \"value\", \"boolean\": true}", "y77kIzt2vzLz71DgmJGsen2scGs=", 0},
    {"T7", "https://mycompany.com/myapp.php?foo=1&bar=2", NULL, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", 3},
    {"T8", "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing", NULL,
     "dsq4Ehbj6cs+KdTkpF5sSSplOWw=", 1},
};

static void tw_params(const struct tw_vector *v, struct ingest_form *f)
{
    memset(f, 0, sizeof(*f));
    if (v->params == 1)
        form_P(f, "+14158675309");
    else if (v->params == 2)
        form_P(f, "+14158675310");
    else if (v->params == 3) {
        const char *n[] = {"Sid", "SidAccount", "Digits", "Digits"};
        const char *val[] = {"CA123", "AC123", "5678", "1234"};
        form_set(f, n, val, 4);
    }
}

static int tw_check(const struct tw_vector *v, const char *url, const struct ingest_form *f,
                    const char *body, const char *sig)
{
    return ingest_twilio_verify(token12345, 1, url, v->params ? f : NULL, body ? body : "",
                                body ? strlen(body) : 0, sig);
}

static void test_twilio_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tw) / sizeof(tw[0]); i++) {
        const struct tw_vector *v = &tw[i];
        struct ingest_form f;
        tw_params(v, &f);
        print_message("%s\n", v->name);
        assert_int_equal(tw_check(v, v->url, &f, v->body, v->sig), 0);

        /* one byte of the URL */
        char *url = strdup(v->url);
        for (size_t k = 0; url[k]; k++) {
            url[k] ^= 1;
            assert_int_not_equal(tw_check(v, url, &f, v->body, v->sig), 0);
            url[k] ^= 1;
        }
        free(url);
        /* one byte of the body (JSON variants) */
        if (v->body) {
            char *b = strdup(v->body);
            for (size_t k = 0; b[k]; k++) {
                b[k] ^= 1;
                assert_int_not_equal(tw_check(v, v->url, &f, b, v->sig), 0);
                b[k] ^= 1;
            }
            free(b);
        }
        /* one byte of a parameter name or value */
        for (size_t p = 0; p < f.n; p++) {
            char *fields[2] = {f.kv[p].name, f.kv[p].value};
            for (int w = 0; w < 2; w++)
                for (size_t k = 0; fields[w][k]; k++) {
                    fields[w][k] ^= 1;
                    assert_int_not_equal(tw_check(v, v->url, &f, v->body, v->sig), 0);
                    fields[w][k] ^= 1;
                }
        }
        /* one byte of the signature */
        char *sig = strdup(v->sig);
        for (size_t k = 0; sig[k]; k++) {
            sig[k] ^= 1;
            assert_int_not_equal(tw_check(v, v->url, &f, v->body, sig), 0);
            sig[k] ^= 1;
        }
        free(sig);
        /* another token */
        const char *other[] = {"12346"};
        assert_int_equal(ingest_twilio_verify(other, 1, v->url, v->params ? &f : NULL,
                                              v->body ? v->body : "", v->body ? strlen(v->body) : 0,
                                              v->sig),
                         RT_EAUTH);
        /* rotation: the right token second */
        const char *two[] = {"next-token", "12345"};
        assert_int_equal(ingest_twilio_verify(two, 2, v->url, v->params ? &f : NULL,
                                              v->body ? v->body : "", v->body ? strlen(v->body) : 0,
                                              v->sig),
                         0);
        ingest_form_free(&f);
    }
}

static void test_twilio_sign_string(void **state)
{
    (void)state;
    struct ingest_form f;
    char sig[29];
    form_P(&f, "+14158675309");
    assert_int_equal(ingest_twilio_sign("12345", tw[0].url, &f, sig), 0);
    assert_string_equal(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    ingest_form_free(&f);
    /* T5 matches only in the :443 form, T3 (given with :443) also without it */
    assert_int_equal(
        ingest_twilio_sign("12345",
                           "https://mycompany.com:443/myapp.php?foo=1&bar=2&bodySHA256="
                           "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                           NULL, sig),
        0);
    assert_string_equal(sig, "Ldidvp12m26NI7eqEvxnEpkd9Hc=");
    /* GET: the URL alone */
    assert_int_equal(ingest_twilio_sign("12345", tw[0].url, NULL, sig), 0);
    assert_int_equal(ingest_twilio_verify(token12345, 1, tw[0].url, NULL, "", 0, sig), 0);
}

/* signed in one form, verified in the other: the default port is added or removed, never another */
static void test_twilio_port_forms(void **state)
{
    (void)state;
    const char *pairs[][2] = {
        {"https://h.example/p?q=1", "https://h.example:443/p?q=1"},
        {"http://h.example/p", "http://h.example:80/p"},
        {"https://user:pw@h.example/p", "https://user:pw@h.example:443/p"},
        {"https://[2001:db8::1]/p", "https://[2001:db8::1]:443/p"},
        {"https://h.example?x=1", "https://h.example:443?x=1"},
    };
    char sig[29];
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        for (int d = 0; d < 2; d++) {
            assert_int_equal(ingest_twilio_sign("12345", pairs[i][d], NULL, sig), 0);
            assert_int_equal(ingest_twilio_verify(token12345, 1, pairs[i][1 - d], NULL, "", 0, sig),
                             0);
        }
    }
    const char *no[][2] = {
        {"https://h.example/p", "https://h.example:8443/p"},
        {"https://h.example/p", "https://h.example:80/p"},
        {"http://h.example/p", "http://h.example:443/p"},
        {"https://h.example/p", "http://h.example/p"},
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_int_equal(ingest_twilio_sign("12345", no[i][0], NULL, sig), 0);
        assert_int_equal(ingest_twilio_verify(token12345, 1, no[i][1], NULL, "", 0, sig), RT_EAUTH);
    }
}

static void test_twilio_form_encoded(void **state)
{
    (void)state;
    const char *body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
                       "&From=%2B14158675309&To=%2B18005551212";
    struct ingest_form f;
    assert_int_equal(ingest_form_parse(body, strlen(body), &f), 0);
    assert_int_equal(f.n, 5);
    assert_string_equal(ingest_form_get(&f, "From"), "+14158675309");
    assert_int_equal(
        ingest_twilio_verify(token12345, 1, tw[0].url, &f, body, strlen(body), tw[0].sig), 0);
    ingest_form_free(&f);
    /* '+' is a space, so an unescaped plus changes the signed value */
    const char *plus = "CallSid=CA1234567890ABCDE&Caller=+14158675309&Digits=1234"
                       "&From=+14158675309&To=+18005551212";
    assert_int_equal(ingest_form_parse(plus, strlen(plus), &f), 0);
    assert_string_equal(ingest_form_get(&f, "To"), " 18005551212");
    assert_int_equal(
        ingest_twilio_verify(token12345, 1, tw[0].url, &f, plus, strlen(plus), tw[0].sig),
        RT_EAUTH);
    ingest_form_free(&f);
    /* malformed encodings */
    const char *bad[] = {"a=%", "a=%2", "a=%zz", "a=1&b=%4", "%00=1", "a=%00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ingest_form_parse(bad[i], strlen(bad[i]), &f), RT_EPARSE);
    assert_int_equal(ingest_form_parse("a&&b=", 5, &f), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(ingest_form_get(&f, "a"), "");
    ingest_form_free(&f);
}

static void test_twilio_body_hash_rules(void **state)
{
    (void)state;
    const char *body = "{\"property\": \"value\", \"boolean\": true}";
    /* bodySHA256 twice */
    const char *dup = "https://mycompany.com/myapp.php?bodySHA256="
                      "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620&bodySHA256="
                      "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    char sig[29];
    assert_int_equal(ingest_twilio_sign("12345", dup, NULL, sig), 0);
    assert_int_equal(ingest_twilio_verify(token12345, 1, dup, NULL, body, strlen(body), sig),
                     RT_EINVAL);
    /* not hex */
    const char *nothex = "https://mycompany.com/myapp.php?bodySHA256=xyz";
    assert_int_equal(ingest_twilio_sign("12345", nothex, NULL, sig), 0);
    assert_int_equal(ingest_twilio_verify(token12345, 1, nothex, NULL, body, strlen(body), sig),
                     RT_EINVAL);
    assert_true(ingest_twilio_has_body_hash(tw[5].url));
    assert_false(ingest_twilio_has_body_hash(tw[0].url));
    /* missing signature */
    assert_int_equal(ingest_twilio_verify(token12345, 1, tw[5].url, NULL, body, strlen(body), NULL),
                     RT_EAUTH);
}

/* JSON variant: top-level strings, numbers and booleans become parameters; the rest is left out;
 * a body that is not an object is refused. */
static void test_twilio_json_params(void **state)
{
    (void)state;
    const char *body = "{\"CallSid\":\"CA7\",\"AccountSid\":\"AC1\",\"CallStatus\":\"ringing\","
                       "\"SequenceNumber\":2,\"CallDuration\":0,\"Flag\":true,\"Ratio\":0.5,"
                       "\"Nothing\":null,\"List\":[1],\"Obj\":{\"a\":1}}";
    struct ingest_form f;
    struct ingest_call c;
    assert_int_equal(ingest_twilio_json_params(body, strlen(body), &f), 0);
    assert_int_equal(f.n, 7);
    assert_string_equal(ingest_form_get(&f, "SequenceNumber"), "2");
    assert_string_equal(ingest_form_get(&f, "Flag"), "true");
    assert_string_equal(ingest_form_get(&f, "Ratio"), "0.5");
    assert_null(ingest_form_get(&f, "Nothing"));
    assert_null(ingest_form_get(&f, "List"));
    assert_int_equal(ingest_twilio_normalize(&f, &c), 0);
    assert_int_equal(c.state, INGEST_CALL_RINGING);
    assert_int_equal(c.seq, 2);
    assert_string_equal(c.call_id, "CA7");
    ingest_call_clear(&c);
    ingest_form_free(&f);
    const char *bad[] = {"[1]", "\"CA1\"", "{", "", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ingest_twilio_json_params(bad[i], strlen(bad[i]), &f), RT_EPARSE);
        ingest_form_free(&f);
    }
    /* T4's body is an object without CallSid: parameters, but no call */
    const char *t4 = "{\"property\": \"value\", \"boolean\": true}";
    assert_int_equal(ingest_twilio_json_params(t4, strlen(t4), &f), 0);
    assert_int_equal(ingest_twilio_normalize(&f, &c), RT_EINVAL);
    ingest_form_free(&f);
}

static void test_twilio_normalize(void **state)
{
    (void)state;
    const char *body = "AccountSid=AC1&CallSid=CA9&CallStatus=no-answer&SequenceNumber=3"
                       "&CallDuration=0&From=%2B1555&To=%2B1666&Direction=outbound-api"
                       "&ParentCallSid=CA8&SipResponseCode=487&Timestamp=Tue%2C+14+Nov+2023";
    struct ingest_form f;
    struct ingest_call c;
    assert_int_equal(ingest_form_parse(body, strlen(body), &f), 0);
    assert_int_equal(ingest_twilio_normalize(&f, &c), 0);
    assert_int_equal(c.state, INGEST_CALL_ENDED);
    assert_string_equal(c.outcome, "no_answer");
    assert_int_equal(c.seq, 3);
    assert_int_equal(c.duration, 0);
    assert_string_equal(c.parent_id, "CA8");
    assert_string_equal(c.sip_code, "487");
    assert_string_equal(c.dedupe, "AC1|CA9|3");
    assert_string_equal(c.event_time, "Tue, 14 Nov 2023");
    ingest_call_clear(&c);
    ingest_form_free(&f);
    const char *bad[] = {"AccountSid=AC1&CallStatus=ringing", "AccountSid=AC1&CallSid=CA1",
                         "AccountSid=AC1&CallSid=CA1&CallStatus=dancing",
                         "AccountSid=AC1&CallSid=CA1&CallStatus=ringing&SequenceNumber=x1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ingest_form_parse(bad[i], strlen(bad[i]), &f), 0);
        assert_int_equal(ingest_twilio_normalize(&f, &c), RT_EINVAL);
        ingest_form_free(&f);
    }
}

/* ---- Telnyx ---- */

static const char telnyx_body[] =
    "{\"data\":{\"event_type\":\"call.hangup\",\"id\":\"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0\","
    "\"occurred_at\":\"2023-11-14T22:13:20.000000Z\",\"payload\":{\"call_control_id\":"
    "\"v3:example\",\"call_leg_id\":\"428c31b6-7af4-4bcb-b7f5-5013ef9657c1\",\"call_session_id\":"
    "\"428c31b6-abf3-3bc1-b7f4-5013ef9657c1\",\"hangup_cause\":\"normal_clearing\","
    "\"hangup_source\":\"caller\",\"sip_hangup_cause\":\"200\",\"state\":\"hangup\"},"
    "\"record_type\":\"event\"},\"meta\":{\"attempt\":1,\"delivered_to\":"
    "\"https://example.com/webhooks/telnyx\"}}";
static const char telnyx_sig[] =
    "VwjNHQBWkBn4hQxoHeuewTtD3aY8fRpahMJUF9AkOr+QIGgUvlzgrgE8R1D8ulj3G+PIOqUnEsMKtqQ9FNYLCQ==";
static const char telnyx_key[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static void test_telnyx_vector(void **state)
{
    (void)state;
    unsigned char keys[2][32];
    assert_int_equal(ingest_telnyx_key_parse(telnyx_key, keys[0]), 0);
    size_t blen = strlen(telnyx_body);
    long long now = 1700000000;
    assert_int_equal(
        ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, telnyx_body, blen, now, 300), 0);
    /* window with a pinned clock */
    assert_int_equal(
        ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, telnyx_body, blen, now + 300, 300),
        0);
    assert_int_equal(
        ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, telnyx_body, blen, now - 300, 300),
        0);
    assert_int_equal(
        ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, telnyx_body, blen, now + 301, 300),
        RT_ETIMEDOUT);
    assert_int_equal(
        ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, telnyx_body, blen, now - 301, 300),
        RT_ETIMEDOUT);
    /* one byte of the body */
    char *b = strdup(telnyx_body);
    for (size_t k = 0; k < blen; k++) {
        b[k] ^= 1;
        assert_int_equal(ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, b, blen, now, 300),
                         RT_EAUTH);
        b[k] ^= 1;
    }
    free(b);
    /* one byte of the timestamp (still numeric and inside the window, or not) */
    char ts[] = "1700000000";
    for (size_t k = 0; ts[k]; k++) {
        ts[k] ^= 1;
        assert_int_not_equal(
            ingest_telnyx_verify(keys, 1, ts, telnyx_sig, telnyx_body, blen, now, 1000000000), 0);
        ts[k] ^= 1;
    }
    /* one byte of the signature */
    char *s = strdup(telnyx_sig);
    for (size_t k = 0; s[k]; k++) {
        s[k] ^= 1;
        assert_int_not_equal(
            ingest_telnyx_verify(keys, 1, "1700000000", s, telnyx_body, blen, now, 300), 0);
        s[k] ^= 1;
    }
    free(s);
    /* non-numeric timestamps and missing headers */
    const char *badts[] = {"",    "17000000x0", " 1700000000", "-1700000000", "1700000000.0",
                           "1e9", "0x6553F100"};
    for (size_t i = 0; i < sizeof(badts) / sizeof(badts[0]); i++)
        assert_int_equal(
            ingest_telnyx_verify(keys, 1, badts[i], telnyx_sig, telnyx_body, blen, now, 300),
            RT_EINVAL);
    assert_int_equal(ingest_telnyx_verify(keys, 1, NULL, telnyx_sig, telnyx_body, blen, now, 300),
                     RT_EINVAL);
    assert_int_equal(ingest_telnyx_verify(keys, 1, "1700000000", NULL, telnyx_body, blen, now, 300),
                     RT_EINVAL);
    /* rotation: a wrong key first */
    memset(keys[0], 7, 32);
    assert_int_equal(ingest_telnyx_key_parse(telnyx_key, keys[1]), 0);
    assert_int_equal(
        ingest_telnyx_verify(keys, 2, "1700000000", telnyx_sig, telnyx_body, blen, now, 300), 0);
    assert_int_equal(
        ingest_telnyx_verify(keys, 1, "1700000000", telnyx_sig, telnyx_body, blen, now, 300),
        RT_EAUTH);
}

static void test_telnyx_keys(void **state)
{
    (void)state;
    unsigned char k1[32], k2[32];
    /* SPKI DER form of the same key */
    const char spki[] = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    assert_int_equal(ingest_telnyx_key_parse(telnyx_key, k1), 0);
    assert_int_equal(ingest_telnyx_key_parse(spki, k2), 0);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(ingest_telnyx_key_parse("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", k1),
                     RT_EINVAL);
    assert_int_equal(ingest_telnyx_key_parse(" 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", k1),
                     RT_EINVAL);
}

static void test_telnyx_normalize(void **state)
{
    (void)state;
    struct ingest_call c;
    assert_int_equal(ingest_telnyx_normalize(telnyx_body, strlen(telnyx_body), &c), 0);
    assert_int_equal(c.state, INGEST_CALL_ENDED);
    assert_string_equal(c.outcome, "completed");
    assert_string_equal(c.alt_outcome, "failed"); /* normal_clearing before an answer */
    assert_string_equal(c.call_id, "v3:example");
    assert_string_equal(c.parent_id, "428c31b6-abf3-3bc1-b7f4-5013ef9657c1");
    assert_string_equal(c.dedupe, "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0");
    assert_string_equal(c.sip_code, "200");
    ingest_call_clear(&c);
    const char *busy = "{\"data\":{\"event_type\":\"call.hangup\",\"id\":\"e2\",\"payload\":"
                       "{\"call_control_id\":\"x\",\"hangup_cause\":\"user_busy\"}}}";
    assert_int_equal(ingest_telnyx_normalize(busy, strlen(busy), &c), 0);
    assert_string_equal(c.alt_outcome, "busy");
    ingest_call_clear(&c);
    const char *dtmf = "{\"data\":{\"event_type\":\"call.dtmf.received\",\"id\":\"e3\"}}";
    assert_int_equal(ingest_telnyx_normalize(dtmf, strlen(dtmf), &c), RT_ENOENT);
    const char *bad[] = {"{", "[]", "{\"data\":{\"event_type\":\"call.hangup\"}}",
                         "{\"data\":{\"event_type\":\"call.answered\",\"id\":\"e\"}}",
                         "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ingest_telnyx_normalize(bad[i], strlen(bad[i]), &c), RT_EINVAL);
}

/* ---- Vonage ---- */

static const char vonage_secret[] = "vonage-signature-secret-example-32b";
static const char vonage_body[] =
    "{\"from\":\"447700900000\",\"to\":\"447700900001\",\"uuid\":\"aaaaaaaa-bbbb-cccc-dddd-"
    "0123456789ab\",\"conversation_uuid\":\"CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab\",\"status\":"
    "\"answered\",\"direction\":\"outbound\",\"timestamp\":\"2023-11-14T22:13:20.000Z\"}";
static const char vonage_jwt[] =
    "Bearer "
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImp0aSI6ImM1YmE4ZjI0LTFhMTQtNGMx"
    "MC1iZmRmLTNmYmU4Y2U1MTFiNSIsImlzcyI6IlZvbmFnZSIsInBheWxvYWRfaGFzaCI6IjBjNGM2Y2I1NGRmZTU3MWFh"
    "NzM5YmVkZWI2NTU4MDg1MTZhZDI0NzUwMGI4YzdlMmVjNzJhNjcxZDNlNTMyMWIiLCJhcGlfa2V5IjoiYTFiMmMzZCIs"
    "ImFwcGxpY2F0aW9uX2lkIjoiYWFhYWFhYWEtYmJiYi1jY2NjLWRkZGQtMDEyMzQ1Njc4OWFiIn0."
    "Kyq7jywRGrWczUwB65tMdIT3jBygpBz_c_uTEqxH9UI";

static void b64url(const unsigned char *in, size_t len, char *out)
{
    ingest_b64_encode(in, len, out);
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
}

/* "Bearer " + a JWT with the given header and claims JSON, signed HS256 with secret. */
static char *make_jwt(const char *hdr, const char *claims, const char *secret)
{
    char h[512], c[2048], s[64];
    unsigned char mac[32];
    static char out[4096];
    b64url((const unsigned char *)hdr, strlen(hdr), h);
    b64url((const unsigned char *)claims, strlen(claims), c);
    char signing[3000];
    snprintf(signing, sizeof(signing), "%s.%s", h, c);
    const void *parts[1] = {signing};
    size_t lens[1] = {strlen(signing)};
    assert_int_equal(ingest_hmac("SHA256", secret, strlen(secret), parts, lens, 1, mac), 32);
    b64url(mac, 32, s);
    snprintf(out, sizeof(out), "Bearer %s.%s", signing, s);
    return out;
}

static void test_vonage_vector(void **state)
{
    (void)state;
    const char *secrets[] = {vonage_secret};
    struct ingest_vonage_claims cl;
    size_t blen = strlen(vonage_body);
    long long now = 1700000000;
    assert_int_equal(ingest_vonage_verify(secrets, 1, vonage_jwt, vonage_body, blen, now, 300, &cl),
                     0);
    assert_int_equal(cl.iat, 1700000000);
    assert_string_equal(cl.jti, "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5");
    assert_string_equal(cl.api_key, "a1b2c3d");
    /* iat window with a pinned clock */
    assert_int_equal(
        ingest_vonage_verify(secrets, 1, vonage_jwt, vonage_body, blen, now + 300, 300, &cl), 0);
    assert_int_equal(
        ingest_vonage_verify(secrets, 1, vonage_jwt, vonage_body, blen, now + 301, 300, &cl),
        RT_ETIMEDOUT);
    assert_int_equal(
        ingest_vonage_verify(secrets, 1, vonage_jwt, vonage_body, blen, now - 301, 300, &cl),
        RT_ETIMEDOUT);
    /* one byte of the body */
    char *b = strdup(vonage_body);
    for (size_t k = 0; k < blen; k++) {
        b[k] ^= 1;
        assert_int_equal(ingest_vonage_verify(secrets, 1, vonage_jwt, b, blen, now, 300, &cl),
                         RT_EAUTH);
        b[k] ^= 1;
    }
    free(b);
    /* one byte of the token (header, claims, signature) */
    char *j = strdup(vonage_jwt);
    for (size_t k = 7; j[k]; k++) {
        j[k] ^= 1;
        assert_int_not_equal(ingest_vonage_verify(secrets, 1, j, vonage_body, blen, now, 300, &cl),
                             0);
        j[k] ^= 1;
    }
    free(j);
    /* wrong secret; rotation */
    const char *wrong[] = {"vonage-signature-secret-example-32c"};
    assert_int_equal(ingest_vonage_verify(wrong, 1, vonage_jwt, vonage_body, blen, now, 300, &cl),
                     RT_EAUTH);
    const char *two[] = {"old", vonage_secret};
    assert_int_equal(ingest_vonage_verify(two, 2, vonage_jwt, vonage_body, blen, now, 300, &cl), 0);
    /* missing or malformed header */
    assert_int_equal(ingest_vonage_verify(secrets, 1, NULL, vonage_body, blen, now, 300, &cl),
                     RT_EINVAL);
    assert_int_equal(
        ingest_vonage_verify(secrets, 1, vonage_jwt + 7, vonage_body, blen, now, 300, &cl),
        RT_EINVAL);
    assert_int_equal(
        ingest_vonage_verify(secrets, 1, "Bearer a.b", vonage_body, blen, now, 300, &cl),
        RT_EINVAL);
}

static void test_vonage_alg_pinned(void **state)
{
    (void)state;
    const char *secrets[] = {vonage_secret};
    struct ingest_vonage_claims cl;
    const char *claims = "{\"iat\":1700000000,\"payload_hash\":"
                         "\"0c4c6cb54dfe571aa739bedeb655808516ad247500b8c7e2ec72a671d3e5321b\"}";
    size_t blen = strlen(vonage_body);
    /* a token we sign ourselves verifies; the same with another alg does not */
    assert_int_equal(ingest_vonage_verify(secrets, 1,
                                          make_jwt("{\"alg\":\"HS256\"}", claims, vonage_secret),
                                          vonage_body, blen, 1700000000, 300, &cl),
                     0);
    const char *algs[] = {"{\"alg\":\"none\"}", "{\"alg\":\"HS512\"}", "{\"alg\":\"hs256\"}",
                          "{\"typ\":\"JWT\"}", "{\"alg\":\"RS256\"}"};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        assert_int_equal(ingest_vonage_verify(secrets, 1, make_jwt(algs[i], claims, vonage_secret),
                                              vonage_body, blen, 1700000000, 300, &cl),
                         RT_EAUTH);
    /* iat at the ends of the 64-bit range: refused, no overflow */
    assert_int_equal(
        ingest_vonage_verify(secrets, 1,
                             make_jwt("{\"alg\":\"HS256\"}",
                                      "{\"iat\":-9223372036854775808,\"payload_hash\":"
                                      "\"0c4c6cb54dfe571aa739bedeb655808516ad247500b8c7e2ec72a671d3"
                                      "e5321b\"}",
                                      vonage_secret),
                             vonage_body, blen, 1700000000, 300, &cl),
        RT_ETIMEDOUT);
    assert_int_equal(
        ingest_vonage_verify(secrets, 1,
                             make_jwt("{\"alg\":\"HS256\"}",
                                      "{\"iat\":9223372036854775807,\"payload_hash\":"
                                      "\"0c4c6cb54dfe571aa739bedeb655808516ad247500b8c7e2ec72a671d3"
                                      "e5321b\"}",
                                      vonage_secret),
                             vonage_body, blen, 1700000000, 300, &cl),
        RT_ETIMEDOUT);
    /* alg none with an empty signature */
    assert_int_not_equal(ingest_vonage_verify(secrets, 1,
                                              "Bearer eyJhbGciOiJub25lIn0.eyJpYXQiOjF9.",
                                              vonage_body, blen, 1700000000, 300, &cl),
                         0);
    /* iat not a number; payload_hash missing */
    assert_int_equal(
        ingest_vonage_verify(secrets, 1,
                             make_jwt("{\"alg\":\"HS256\"}",
                                      "{\"iat\":\"1700000000\",\"payload_hash\":"
                                      "\"0c4c6cb54dfe571aa739bedeb655808516ad247500b8c7e2ec72a671d3"
                                      "e5321b\"}",
                                      vonage_secret),
                             vonage_body, blen, 1700000000, 300, &cl),
        RT_EINVAL);
    assert_int_equal(
        ingest_vonage_verify(secrets, 1,
                             make_jwt("{\"alg\":\"HS256\"}", "{\"iat\":1700000000}", vonage_secret),
                             vonage_body, blen, 1700000000, 300, &cl),
        RT_EINVAL);
}

static void test_vonage_normalize(void **state)
{
    (void)state;
    struct ingest_vonage_claims cl = {.iat = 1, .jti = "j1", .api_key = "k"};
    struct ingest_call c;
    assert_int_equal(ingest_vonage_normalize(vonage_body, strlen(vonage_body), &cl, &c), 0);
    assert_int_equal(c.state, INGEST_CALL_ANSWERED);
    assert_string_equal(c.dedupe, "j1");
    assert_string_equal(c.account, "k");
    assert_string_equal(c.parent_id, "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab");
    ingest_call_clear(&c);
    cl.jti[0] = '\0';
    assert_int_equal(ingest_vonage_normalize(vonage_body, strlen(vonage_body), &cl, &c), 0);
    assert_string_equal(c.dedupe,
                        "aaaaaaaa-bbbb-cccc-dddd-0123456789ab|answered|2023-11-14T22:13:20.000Z");
    ingest_call_clear(&c);
    const char *b = "{\"uuid\":\"u\",\"status\":\"unanswered\",\"duration\":\"12\"}";
    assert_int_equal(ingest_vonage_normalize(b, strlen(b), &cl, &c), 0);
    assert_string_equal(c.outcome, "no_answer");
    assert_int_equal(c.duration, 12);
    ingest_call_clear(&c);
    const char *m = "{\"uuid\":\"u\",\"status\":\"machine\"}";
    assert_int_equal(ingest_vonage_normalize(m, strlen(m), &cl, &c), RT_ENOENT);
    const char *bad = "{\"status\":\"ringing\"}";
    assert_int_equal(ingest_vonage_normalize(bad, strlen(bad), &cl, &c), RT_EINVAL);
}

/* ---- generic ---- */

static void test_generic(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"evt-1\",\"call_id\":\"c1\",\"status\":\"ringing\"}";
    const char *want = "v1=a08a9d734e5b160687b8005a579eaed260f6281cadb27e0f1b81156cb17ea1c3";
    const char *secrets[] = {"old-secret", "generic-secret"};
    size_t blen = strlen(body);
    char sig[68];
    assert_int_equal(ingest_generic_sign("generic-secret", "1700000000", body, blen, sig), 0);
    assert_string_equal(sig, want); /* computed with openssl dgst -hmac */
    assert_int_equal(
        ingest_generic_verify(secrets, 2, "1700000000", want, body, blen, 1700000000, 300), 0);
    assert_int_equal(
        ingest_generic_verify(secrets, 2, "1700000000", want, body, blen, 1700000301, 300),
        RT_ETIMEDOUT);
    char *b = strdup(body);
    for (size_t k = 0; k < blen; k++) {
        b[k] ^= 1;
        assert_int_equal(
            ingest_generic_verify(secrets, 2, "1700000000", want, b, blen, 1700000000, 300),
            RT_EAUTH);
        b[k] ^= 1;
    }
    free(b);
    char ts[] = "1700000000";
    for (size_t k = 0; ts[k]; k++) {
        ts[k] ^= 1;
        assert_int_not_equal(
            ingest_generic_verify(secrets, 2, ts, want, body, blen, 1700000000, 1000000000), 0);
        ts[k] ^= 1;
    }
    char *s = strdup(want);
    for (size_t k = 0; s[k]; k++) {
        s[k] ^= 1;
        assert_int_not_equal(
            ingest_generic_verify(secrets, 2, "1700000000", s, body, blen, 1700000000, 300), 0);
        s[k] ^= 1;
    }
    free(s);
    assert_int_equal(ingest_generic_verify(secrets, 2, "17e8", want, body, blen, 1700000000, 300),
                     RT_EINVAL);
    assert_int_equal(
        ingest_generic_verify(secrets, 2, "1700000000", NULL, body, blen, 1700000000, 300),
        RT_EINVAL);
    struct ingest_call c;
    assert_int_equal(ingest_generic_normalize(body, blen, &c), 0);
    assert_int_equal(c.state, INGEST_CALL_RINGING);
    assert_string_equal(c.dedupe, "evt-1");
    ingest_call_clear(&c);
    const char *noid = "{\"call_id\":\"c1\",\"status\":\"ringing\"}";
    assert_int_equal(ingest_generic_normalize(noid, strlen(noid), &c), RT_EINVAL);
}

/* ---- helpers ---- */

static void test_base64_strict(void **state)
{
    (void)state;
    unsigned char out[16];
    assert_int_equal(ingest_b64_decode("QQ==", 4, false, out, sizeof(out)), 1);
    assert_int_equal(ingest_b64_decode("QUI=", 4, false, out, sizeof(out)), 2);
    assert_int_equal(ingest_b64_decode("QQ", 2, false, out, sizeof(out)), -1);
    assert_int_equal(ingest_b64_decode("QR==", 4, false, out, sizeof(out)), -1); /* bits */
    assert_int_equal(ingest_b64_decode("Q Q=", 4, false, out, sizeof(out)), -1);
    assert_int_equal(ingest_b64_decode("Q===", 4, false, out, sizeof(out)), -1);
    assert_int_equal(ingest_b64_decode("QQ=A", 4, false, out, sizeof(out)), -1);
    assert_int_equal(ingest_b64_decode("QQ", 2, true, out, sizeof(out)), 1);
    assert_int_equal(ingest_b64_decode("QQ==", 4, true, out, sizeof(out)), -1);
    assert_int_equal(ingest_b64_decode("-_8", 3, true, out, sizeof(out)), 2);
    assert_int_equal(ingest_b64_decode("+/8", 3, true, out, sizeof(out)), -1);
    assert_int_equal(ingest_b64_decode("QUJD", 4, false, out, 2), -1); /* cap */
    long long v;
    assert_true(ingest_parse_unix("0", &v));
    assert_false(ingest_parse_unix("1234567890123", &v));
    assert_false(ingest_parse_unix("+1", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_vectors),
        cmocka_unit_test(test_twilio_port_forms),
        cmocka_unit_test(test_twilio_sign_string),
        cmocka_unit_test(test_twilio_form_encoded),
        cmocka_unit_test(test_twilio_body_hash_rules),
        cmocka_unit_test(test_twilio_json_params),
        cmocka_unit_test(test_twilio_normalize),
        cmocka_unit_test(test_telnyx_vector),
        cmocka_unit_test(test_telnyx_keys),
        cmocka_unit_test(test_telnyx_normalize),
        cmocka_unit_test(test_vonage_vector),
        cmocka_unit_test(test_vonage_alg_pinned),
        cmocka_unit_test(test_vonage_normalize),
        cmocka_unit_test(test_generic),
        cmocka_unit_test(test_base64_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
