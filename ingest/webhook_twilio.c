#include "webhook_twilio.h"
#include "eventtime.h"
#include "sigutil.h"
#include "webhook_json.h"

#include "rt/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one component into a new string; NULL when malformed. */
static char *form_decode(const char *s, size_t len)
{
    char *out = rt_xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            int h = hexv(s[i + 1]), l = hexv(s[i + 2]);
            if (h < 0 || l < 0) {
                free(out);
                return NULL;
            }
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

int ingest_form_parse(const char *body, size_t len, struct ingest_form *out)
{
    out->kv = NULL;
    out->n = 0;
    size_t cap = 0, i = 0;
    while (i < len) {
        const char *seg = body + i;
        const char *amp = memchr(seg, '&', len - i);
        size_t slen = amp ? (size_t)(amp - seg) : len - i;
        i += slen + 1;
        if (slen == 0)
            continue;
        if (out->n == INGEST_FORM_MAX_PARAMS) {
            ingest_form_free(out);
            return RT_E2BIG;
        }
        const char *eq = memchr(seg, '=', slen);
        size_t nlen = eq ? (size_t)(eq - seg) : slen;
        char *name = form_decode(seg, nlen);
        char *value = eq ? form_decode(eq + 1, slen - nlen - 1) : rt_xstrdup("");
        if (!name || !value) {
            free(name);
            free(value);
            ingest_form_free(out);
            return RT_EPARSE;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 16;
            out->kv = rt_xrealloc(out->kv, cap * sizeof(*out->kv));
        }
        out->kv[out->n++] = (struct ingest_kv){name, value};
    }
    return 0;
}

void ingest_form_free(struct ingest_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->kv[i].name);
        free(f->kv[i].value);
    }
    free(f->kv);
    f->kv = NULL;
    f->n = 0;
}

int ingest_twilio_json_params(const char *body, size_t len, struct ingest_form *out)
{
    out->kv = NULL;
    out->n = 0;
    json_t *o = ingest_json_object(body, len);
    if (!o)
        return RT_EPARSE;
    size_t cap = json_object_size(o);
    if (cap > INGEST_FORM_MAX_PARAMS) {
        json_decref(o);
        return RT_E2BIG;
    }
    out->kv = rt_xcalloc(cap ? cap : 1, sizeof(*out->kv));
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char num[40];
        const char *s = NULL;
        if (json_is_string(v)) {
            s = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = num;
        } else if (json_is_real(v)) {
            snprintf(num, sizeof(num), "%.17g", json_real_value(v));
            s = num;
        } else if (json_is_boolean(v)) {
            s = json_is_true(v) ? "true" : "false";
        }
        if (s) /* null, arrays and objects are no call parameters */
            out->kv[out->n++] = (struct ingest_kv){rt_xstrdup(k), rt_xstrdup(s)};
    }
    json_decref(o);
    return 0;
}

const char *ingest_form_get(const struct ingest_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->kv[i].name, name) == 0)
            return f->kv[i].value;
    return NULL;
}

static int kv_cmp(const void *a, const void *b)
{
    const struct ingest_kv *x = *(const struct ingest_kv *const *)a;
    const struct ingest_kv *y = *(const struct ingest_kv *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* One MAC over url + sorted name/value pairs. Returns 20 or -1. */
static int twilio_mac(const char *token, const char *url, const struct ingest_form *params,
                      unsigned char mac[32])
{
    size_t n = params ? params->n : 0;
    const struct ingest_kv **sorted = rt_xcalloc(n + 1, sizeof(*sorted));
    const void **parts = rt_xcalloc(2 * n + 1, sizeof(*parts));
    size_t *lens = rt_xcalloc(2 * n + 1, sizeof(*lens));
    for (size_t i = 0; i < n; i++)
        sorted[i] = &params->kv[i];
    qsort(sorted, n, sizeof(*sorted), kv_cmp);
    parts[0] = url;
    lens[0] = strlen(url);
    for (size_t i = 0; i < n; i++) {
        parts[1 + 2 * i] = sorted[i]->name;
        lens[1 + 2 * i] = strlen(sorted[i]->name);
        parts[2 + 2 * i] = sorted[i]->value;
        lens[2 + 2 * i] = strlen(sorted[i]->value);
    }
    int rc = ingest_hmac("SHA1", token, strlen(token), parts, lens, 2 * n + 1, mac);
    free(sorted);
    free(parts);
    free(lens);
    return rc;
}

int ingest_twilio_sign(const char *token, const char *url, const struct ingest_form *params,
                       char out[29])
{
    unsigned char mac[32];
    if (twilio_mac(token, url, params, mac) != 20)
        return RT_EINVAL;
    ingest_b64_encode(mac, 20, out);
    return 0;
}

/* The URL with the scheme's default port removed (when present) or added (when absent);
 * false when the URL has another port or an unknown scheme. */
static bool alt_port_url(const char *url, char *buf, size_t cap)
{
    const char *dport;
    size_t slen;
    if (strncmp(url, "https://", 8) == 0) {
        dport = "443";
        slen = 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        dport = "80";
        slen = 7;
    } else {
        return false;
    }
    const char *auth = url + slen;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            host = p + 1;
    const char *end = auth + alen;
    const char *colon = NULL;
    for (const char *p = host; p < end; p++) {
        if (*p == ']')
            colon = NULL;
        else if (*p == ':')
            colon = p;
    }
    size_t ulen = strlen(url);
    if (colon) {
        if ((size_t)(end - colon - 1) != strlen(dport) || strncmp(colon + 1, dport, strlen(dport)))
            return false;
        size_t head = (size_t)(colon - url);
        if (ulen - (size_t)(end - colon) + 1 > cap)
            return false;
        memcpy(buf, url, head);
        strcpy(buf + head, end);
        return true;
    }
    size_t head = (size_t)(end - url);
    if (ulen + 1 + strlen(dport) + 1 > cap)
        return false;
    memcpy(buf, url, head);
    buf[head] = ':';
    strcpy(buf + head + 1, dport);
    strcat(buf, end);
    return true;
}

/* Finds bodySHA256 in the raw query: 0 none, 1 found (value in *v, *vlen), -1 repeated. */
static int find_body_hash(const char *url, const char **v, size_t *vlen)
{
    const char *q = strchr(url, '?');
    int found = 0;
    if (!q)
        return 0;
    q++;
    size_t qlen = strcspn(q, "#");
    const char *end = q + qlen;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *segend = amp ? amp : end;
        if ((size_t)(segend - q) >= 11 && strncmp(q, "bodySHA256=", 11) == 0) {
            if (found)
                return -1;
            found = 1;
            *v = q + 11;
            *vlen = (size_t)(segend - q - 11);
        }
        q = amp ? amp + 1 : end;
    }
    return found;
}

bool ingest_twilio_has_body_hash(const char *url)
{
    const char *v;
    size_t n;
    return find_body_hash(url, &v, &n) != 0;
}

int ingest_twilio_verify(const char *const *tokens, size_t ntokens, const char *url,
                         const struct ingest_form *params, const char *body, size_t body_len,
                         const char *signature)
{
    unsigned char want[20], mac[32], hash[32], digest[32];
    char alt[4096];
    const char *hv = NULL;
    size_t hvlen = 0;
    int bh = find_body_hash(url, &hv, &hvlen);
    if (bh < 0)
        return RT_EINVAL;
    if (bh) {
        if (!ingest_hex_decode(hv, hvlen, hash, sizeof(hash)))
            return RT_EINVAL;
        ingest_sha256(body, body_len, digest);
        if (!ingest_ct_equal(hash, sizeof(hash), digest, sizeof(digest)))
            return RT_EAUTH;
        params = NULL; /* the URL alone is signed */
    }
    if (!signature || ingest_b64_decode(signature, strlen(signature), false, want, sizeof(want)) !=
                          (long)sizeof(want))
        return RT_EAUTH;
    const char *urls[2] = {url, alt_port_url(url, alt, sizeof(alt)) ? alt : NULL};
    bool ok = false;
    /* every combination is computed, so timing does not tell which token or URL form matched */
    for (size_t u = 0; u < 2; u++) {
        if (!urls[u])
            continue;
        for (size_t t = 0; t < ntokens; t++) {
            if (twilio_mac(tokens[t], urls[u], params, mac) == 20 &&
                ingest_ct_equal(mac, 20, want, sizeof(want)))
                ok = true;
        }
    }
    return ok ? 0 : RT_EAUTH;
}

struct status_map {
    const char *status;
    enum ingest_call_state state;
    const char *outcome;
};

static const struct status_map twilio_statuses[] = {
    {"queued", INGEST_CALL_INITIATED, NULL},       {"initiated", INGEST_CALL_INITIATED, NULL},
    {"ringing", INGEST_CALL_RINGING, NULL},        {"in-progress", INGEST_CALL_ANSWERED, NULL},
    {"completed", INGEST_CALL_ENDED, "completed"}, {"busy", INGEST_CALL_ENDED, "busy"},
    {"no-answer", INGEST_CALL_ENDED, "no_answer"}, {"canceled", INGEST_CALL_ENDED, "canceled"},
    {"failed", INGEST_CALL_ENDED, "failed"},
};

static bool parse_count(const char *s, long long *out)
{
    return ingest_parse_unix(s, out);
}

int ingest_twilio_normalize(const struct ingest_form *f, struct ingest_call *c)
{
    const char *sid = ingest_form_get(f, "CallSid");
    const char *acct = ingest_form_get(f, "AccountSid");
    const char *status = ingest_form_get(f, "CallStatus");
    const char *seq = ingest_form_get(f, "SequenceNumber");
    const char *dur = ingest_form_get(f, "CallDuration");
    const struct status_map *m = NULL;
    memset(c, 0, sizeof(*c));
    c->provider = "twilio";
    c->duration = c->seq = -1;
    if (!sid || !*sid || !acct || !*acct || !status)
        return RT_EINVAL;
    for (size_t i = 0; i < sizeof(twilio_statuses) / sizeof(twilio_statuses[0]); i++)
        if (strcmp(status, twilio_statuses[i].status) == 0)
            m = &twilio_statuses[i];
    if (!m || (seq && !parse_count(seq, &c->seq)) || (dur && !parse_count(dur, &c->duration)))
        return RT_EINVAL;
    c->state = m->state;
    c->outcome = m->outcome;
    bool ok = ingest_call_set(&c->account, acct) && ingest_call_set(&c->call_id, sid) &&
              ingest_call_set(&c->parent_id, ingest_form_get(f, "ParentCallSid")) &&
              ingest_call_set(&c->from, ingest_form_get(f, "From")) &&
              ingest_call_set(&c->to, ingest_form_get(f, "To")) &&
              ingest_call_set(&c->direction, ingest_form_get(f, "Direction")) &&
              ingest_call_set(&c->provider_status, status) &&
              ingest_call_set(&c->sip_code, ingest_form_get(f, "SipResponseCode")) &&
              ingest_call_set_time(&c->event_time, ingest_form_get(f, "Timestamp"));
    if (!ok) {
        ingest_call_clear(c);
        return RT_EINVAL;
    }
    /* (AccountSid, CallSid, SequenceNumber); without a sequence number the status stands in */
    size_t n = strlen(acct) + strlen(sid) + 48;
    c->dedupe = rt_xmalloc(n);
    if (c->seq >= 0)
        snprintf(c->dedupe, n, "%s|%s|%lld", acct, sid, c->seq);
    else
        snprintf(c->dedupe, n, "%s|%s|s:%.20s", acct, sid, status);
    return 0;
}
