/* PostgreSQL text-format values (as pgoutput sends them) to JSON, by type OID.
 *   int2/int4/int8/oid           number
 *   numeric, float4, float8      number when it has at most 15 significant digits (so it
 *                                round-trips exactly through an IEEE double); otherwise, and for
 *                                NaN/Infinity, the PostgreSQL text as a string
 *   bool                         true/false
 *   json, jsonb                  the JSON value itself (invalid JSON: the text as a string)
 *   timestamp, timestamptz       ISO-8601 string ("2026-11-23T16:00:00.123Z" for UTC offsets,
 *                                "+05:30" otherwise; timestamp without zone has no suffix)
 *   everything else (text, uuid, arrays, date, ...)  the PostgreSQL text as a string
 * Callers dump the JSON with JSON_REAL_PRECISION(INGEST_PGVALUE_REAL_PRECISION). */
#ifndef INGEST_PGVALUE_H
#define INGEST_PGVALUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_PGVALUE_REAL_PRECISION 15

enum ingest_pg_oid {
    INGEST_OID_BOOL = 16,
    INGEST_OID_INT8 = 20,
    INGEST_OID_INT2 = 21,
    INGEST_OID_INT4 = 23,
    INGEST_OID_OID = 26,
    INGEST_OID_JSON = 114,
    INGEST_OID_FLOAT4 = 700,
    INGEST_OID_FLOAT8 = 701,
    INGEST_OID_TIMESTAMP = 1114,
    INGEST_OID_TIMESTAMPTZ = 1184,
    INGEST_OID_NUMERIC = 1700,
    INGEST_OID_JSONB = 3802,
};

/* Returns a new reference (never NULL). text need not be NUL-terminated. */
json_t *ingest_pgvalue_json(uint32_t oid, const char *text, size_t len);

/* Writes the ISO-8601 form of a PostgreSQL timestamp[tz] text ("2026-11-23 16:00:00.123+00")
 * into buf. Returns 0, or RT_EINVAL when the text is not of that shape (infinity, BC dates). */
int ingest_pgvalue_iso8601(const char *text, size_t len, char *buf, size_t cap);

#endif
