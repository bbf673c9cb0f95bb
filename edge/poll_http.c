#include "poll_http.h"
#include "auth.h"
#include "edge.h"
#include "http.h"
#include "streaminfo.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/naming.h"
#include "rt/rconn.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct edge_poll {
    struct lws *wsi;                         /* borrowed; NULL once the request went away */
    struct edge_http_session *hs;            /* borrowed; NULL likewise */
    char client_channel[RT_CHANNEL_MAX + 2]; /* sized like the parsed argument */
    char since[64]; /* "" when absent; validated, so at most RT_STREAM_ID_MAX */
    struct edge_stream_info info;
    bool info_failed, range_sent;
};

static int reply_error(struct lws *wsi, struct edge_http_session *hs, int status, const char *code,
                       const char *message)
{
    json_t *o = json_pack("{s:s,s:s}", "error", code, "message", message);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = edge_http_reply(wsi, hs, status, "application/json", s, strlen(s));
    free(s);
    return rc;
}

static bool arg(struct lws *wsi, const char *name, char *buf, size_t cap)
{
    char tmp[512];
    const char *v = lws_get_urlarg_by_name(wsi, name, tmp, (int)sizeof(tmp));
    if (!v)
        return false;
    snprintf(buf, cap, "%s", v);
    return true;
}

static void on_info(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_poll *p = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!p->range_sent) {
        free(p); /* the XRANGE could not be sent: nobody else holds p */
        return;
    }
    if (!reply) {
        p->info_failed = true;
        return;
    }
    /* an error reply means "no such key": nothing trimmed yet */
    edge_stream_info_parse(reply, &p->info);
}

static json_t *entry_event(const char *client_channel, redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const char *id = entry->element[0]->str;
    redisReply *fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "e") != 0 ||
            v->type != REDIS_REPLY_STRING)
            continue;
        size_t n;
        char *full = rt_envelope_with_id(v->str, v->len, id, &n);
        json_t *env = full ? json_loadb(full, n, 0, NULL) : NULL;
        free(full);
        if (!json_is_object(env)) {
            json_decref(env);
            return NULL;
        }
        json_t *o =
            json_pack("{s:s,s:s,s:s}", "type", "event", "channel", client_channel, "id", id);
        const char *keep[] = {"event", "ts", "data"};
        for (size_t j = 0; j < 3; j++) {
            json_t *x = json_object_get(env, keep[j]);
            if (x)
                json_object_set(o, keep[j], x);
        }
        json_decref(env);
        return o;
    }
    return NULL;
}

static void on_range(redisAsyncContext *ac, void *r, void *privdata)
{
    struct edge_poll *p = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!p->wsi)
        goto done;
    if (!reply || p->info_failed || reply->type != REDIS_REPLY_ARRAY) {
        reply_error(p->wsi, p->hs, 503, "internal", "storage unavailable, retry");
        goto done;
    }
    bool resync = edge_stream_info_lost(&p->info, p->since);
    json_t *events = json_array();
    const char *next = p->since[0] ? p->since : "0-0";
    for (size_t i = 0; !resync && i < reply->elements; i++) {
        json_t *ev = entry_event(p->client_channel, reply->element[i]);
        if (ev) {
            json_array_append_new(events, ev);
            next = reply->element[i]->element[0]->str;
        }
    }
    json_t *o =
        json_pack("{s:o,s:s,s:b}", "events", events, "next", next, "resync_required", resync);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    edge_http_reply(p->wsi, p->hs, 200, "application/json", s, strlen(s));
    free(s);
done:
    if (p->hs)
        p->hs->poll = NULL;
    free(p);
}

static int authorize(struct edge *e, struct lws *wsi, struct edge_http_session *hs,
                     struct rt_jwt_claims *c)
{
    static char hdr[RT_JWT_MAX_TOKEN + 64];
    enum rt_jwt_fail why = RT_JWT_OK;
    int n = lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
    int rc = -1;
    if (n <= 7 || strncasecmp(hdr, "Bearer ", 7) != 0) {
        edge_stats_auth_fail(&e->stats, "missing_token");
        reply_error(wsi, hs, 401, "unauthorized", "Authorization: Bearer <JWT> required");
    } else if (edge_auth_verify(e->auth, hdr + 7, c, &why)) {
        edge_stats_auth_fail(&e->stats, rt_jwt_fail_name(why));
        RT_WARN("auth.failed", "polling request refused",
                RT_LF_STR("reason", rt_jwt_fail_name(why)));
        reply_error(wsi, hs, 401, "unauthorized",
                    why == RT_JWT_EXPIRED ? "token expired" : "invalid token");
    } else {
        rc = 0;
    }
    memset(hdr, 0, sizeof(hdr));
    return rc;
}

int edge_poll_start(struct edge *e, struct lws *wsi, struct edge_http_session *hs)
{
    struct rt_jwt_claims c;
    char channel[RT_CHANNEL_MAX + 2] = "", since[64] = "", limit_s[16] = "", wait_s[16];
    char internal[RT_CHANNEL_MAX + 8], key[RT_KEY_MAX + 8];
    if (authorize(e, wsi, hs, &c))
        return 0;
    arg(wsi, "channel=", channel, sizeof(channel));
    enum rt_channel_kind kind = rt_name_client_channel(channel);
    if (kind == RT_CHANNEL_INVALID)
        return reply_error(wsi, hs, 400, "bad_request", "unknown or malformed channel");
    if (arg(wsi, "since=", since, sizeof(since)) && since[0] && !rt_stream_id_valid(since))
        return reply_error(wsi, hs, 400, "bad_request", "since must be a stream id");
    long limit = EDGE_POLL_DEFAULT_LIMIT;
    if (arg(wsi, "limit=", limit_s, sizeof(limit_s))) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (*end || limit < 1 || limit > EDGE_POLL_MAX_LIMIT)
            return reply_error(wsi, hs, 400, "bad_request", "limit must be 1-1000");
    }
    if (arg(wsi, "wait=", wait_s, sizeof(wait_s)))
        return reply_error(wsi, hs, 400, "bad_request", "wait (long poll) is not served yet");
    int rc = kind == RT_CHANNEL_USER ? rt_name_user_channel(internal, sizeof(internal), c.sub)
                                     : (snprintf(internal, sizeof(internal), "%s", channel), 0);
    if (rc == 0)
        rc = rt_name_key(key, sizeof(key), c.tenant, internal);
    if (rc)
        return reply_error(wsi, hs, 400, "bad_request", "channel name not allowed");
    struct edge_poll *p = rt_xcalloc(1, sizeof(*p));
    p->wsi = wsi;
    p->hs = hs;
    snprintf(p->client_channel, sizeof(p->client_channel), "%s", channel);
    snprintf(p->since, sizeof(p->since), "%s", since);
    char start[sizeof(since) + 1];
    snprintf(start, sizeof(start), "%s%s", since[0] ? "(" : "-", since);
    if (rt_rconn_cmd(e->cmd, on_info, p, "XINFO STREAM %s", key)) {
        free(p);
        return reply_error(wsi, hs, 503, "internal", "storage unavailable, retry");
    }
    p->range_sent = true;
    if (rt_rconn_cmd(e->cmd, on_range, p, "XRANGE %s %s + COUNT %ld", key, start, limit)) {
        p->range_sent = false; /* on_info frees p */
        return reply_error(wsi, hs, 503, "internal", "storage unavailable, retry");
    }
    hs->poll = p;
    return 0;
}

void edge_poll_detach(struct edge_http_session *hs)
{
    if (hs->poll) {
        hs->poll->wsi = NULL;
        hs->poll->hs = NULL;
        hs->poll = NULL;
    }
}
