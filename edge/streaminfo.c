#include "streaminfo.h"

#include <stdio.h>
#include <string.h>

void edge_stream_info_parse(const redisReply *reply, struct edge_stream_info *p)
{
    memset(p, 0, sizeof(*p));
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING)
            continue;
        if (v->type == REDIS_REPLY_STRING && strcmp(k->str, "max-deleted-entry-id") == 0)
            snprintf(p->max_deleted, sizeof(p->max_deleted), "%s", v->str);
        else if (v->type == REDIS_REPLY_STRING && strcmp(k->str, "recorded-first-entry-id") == 0)
            snprintf(p->first_id, sizeof(p->first_id), "%s", v->str);
        else if (v->type == REDIS_REPLY_STRING && strcmp(k->str, "last-generated-id") == 0)
            snprintf(p->last_id, sizeof(p->last_id), "%s", v->str);
        else if (v->type == REDIS_REPLY_INTEGER && strcmp(k->str, "length") == 0)
            p->length = v->integer;
        else if (v->type == REDIS_REPLY_INTEGER && strcmp(k->str, "entries-added") == 0)
            p->added = v->integer;
    }
}

static bool valid_id(const char *id)
{
    return id[0] && rt_stream_id_valid(id);
}

bool edge_stream_info_lost(const struct edge_stream_info *p, const char *since)
{
    if (!since || !since[0])
        return false;
    bool zero = rt_stream_id_cmp(since, "0-0") == 0; /* "from the start": never lost by itself */
    /* a position the stream never reached (no stream: nothing reached): it was lost and made
     * again, e.g. by a Redis without persistence */
    if (!zero && rt_stream_id_cmp(since, valid_id(p->last_id) ? p->last_id : "0-0") > 0)
        return true;
    if (valid_id(p->max_deleted) && rt_stream_id_cmp(since, p->max_deleted) < 0)
        return true;
    if (p->added <= p->length) {
        /* nothing was ever removed, so every id the stream had is still in it: a position before
         * the first one was never in this stream (lost and made again) */
        return !zero && p->length > 0 && valid_id(p->first_id) &&
               rt_stream_id_cmp(since, p->first_id) < 0;
    }
    if (p->length == 0)
        return valid_id(p->last_id) && rt_stream_id_cmp(since, p->last_id) < 0;
    return valid_id(p->first_id) && rt_stream_id_cmp(since, p->first_id) < 0;
}
