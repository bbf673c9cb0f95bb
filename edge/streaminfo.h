/* What XINFO STREAM tells about a channel's retention, and whether events after a client's
 * `since` may have been trimmed (then the client must resync instead of getting a gap). */
#ifndef EDGE_STREAMINFO_H
#define EDGE_STREAMINFO_H

#include "rt/envelope.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>

struct edge_stream_info {
    char first_id[RT_STREAM_ID_MAX + 1];    /* recorded-first-entry-id */
    char last_id[RT_STREAM_ID_MAX + 1];     /* last-generated-id */
    char max_deleted[RT_STREAM_ID_MAX + 1]; /* max-deleted-entry-id */
    long long length, added;
};

/* Fills info from an XINFO STREAM reply; an error reply (no such key) leaves it empty. */
void edge_stream_info_parse(const redisReply *reply, struct edge_stream_info *info);
/* True when events after `since` may be gone. Trimming removes entries from the head and, in
 * Redis 7.0, leaves max-deleted-entry-id alone; so: entries were removed and `since` is older
 * than the first entry kept. A client exactly at the last trimmed id is told to resync too (a
 * needless refetch, never a silent gap). Also true when the stream was lost and made again
 * (Redis without persistence): `since` newer than its last generated id (or no stream at all),
 * or, nothing ever removed, older than its first entry. "0-0" is only lost to trimming. */
bool edge_stream_info_lost(const struct edge_stream_info *info, const char *since);

#endif
