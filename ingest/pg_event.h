/* Pure builders of event data from decoded pgoutput rows (no I/O; unit-tested).
 * Row data: {"schema","table","commit_timestamp","record","old_record"} where
 *   record      INSERT/UPDATE: the new row; DELETE: null
 *   old_record  UPDATE/DELETE: the whole old row with REPLICA IDENTITY FULL, else the key
 *               columns (for an UPDATE without an old tuple: the key columns of the new row);
 *               INSERT: null
 * An unchanged TOASTed value (not sent by PostgreSQL) is {"unchanged_toast": true}, unless the
 * old row (REPLICA IDENTITY FULL) carries it, in which case that value is used.
 * With keys_only (oversized rows) record and old_record hold only the identity columns (for
 * REPLICA IDENTITY FULL: the "id" column), the tenant and user columns, and "truncated": true
 * is added to the data. */
#ifndef INGEST_PG_EVENT_H
#define INGEST_PG_EVENT_H

#include "pgoutput.h"
#include "routes.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_PG_EPOCH_UNIX 946684800LL /* 2000-01-01T00:00:00Z */

/* "2026-11-23T16:00:00.123456Z" from microseconds since 2000-01-01 (buf of at least 40). */
void ingest_pgevent_ts(int64_t pg_us, char *buf, size_t cap);

/* "INSERT", "UPDATE", "DELETE" for row kinds; NULL otherwise. */
const char *ingest_pgevent_name(enum ingest_pgo_kind kind);

/* Copies the text value of column col from the row's relevant tuple (new for INSERT/UPDATE,
 * old for DELETE) into buf. Returns 0, RT_ENOENT (no such column, NULL or unchanged) or
 * RT_E2BIG. */
int ingest_pgevent_column(const struct ingest_pgo_msg *m, const char *col, char *buf, size_t cap);

/* The row data object (new reference). */
json_t *ingest_pgevent_row(const struct ingest_pgo_msg *m, const char *commit_ts,
                           const struct ingest_route *route, bool keys_only);

/* For the calls table: the call event name (new_call, call_update, call_ended) and its data in
 * the normalized call model, or NULL (DELETE). data is the row data built above (borrowed). */
json_t *ingest_pgevent_call(const struct ingest_pgo_msg *m, json_t *row_data, const char **event);

#endif
