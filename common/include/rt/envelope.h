/* The event envelope: {"id","channel","event","tenant","ts","data"} (ARCHITECTURE.md). */
#ifndef RT_ENVELOPE_H
#define RT_ENVELOPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RT_ENVELOPE_MAX   (1024 * 1024) /* bytes of JSON accepted by the parser */
#define RT_EVENT_NAME_MAX 64
#define RT_STREAM_ID_MAX  48

struct rt_envelope {
    char *id;      /* owned; NULL before the event is stored */
    char *channel; /* owned; internal channel name ("user:<id>", not "user") */
    char *event;   /* owned */
    char *tenant;  /* owned; NULL only for events outside a tenant (admin channel) */
    char *ts;      /* owned; ISO-8601 UTC with milliseconds */
    json_t *data;  /* owned reference; always a JSON object */
};

/* Event names: 1-64 of [A-Za-z0-9_.:-]. */
bool rt_event_name_valid(const char *event);
/* Stream ids: "<ms>-<seq>", both decimal without sign, each fitting in 64 bits. */
bool rt_stream_id_valid(const char *id);
/* Parses a stream id; returns 0 or RT_EINVAL. */
int rt_stream_id_parse(const char *id, unsigned long long *ms, unsigned long long *seq);
/* <0, 0, >0 like strcmp, by numeric value; both ids must be valid. */
int rt_stream_id_cmp(const char *a, const char *b);

/* Writes the current UTC time as "2026-11-23T16:00:00.123Z" (buf of at least 32). */
void rt_ts_now(char *buf, size_t cap);

/* Fills env from validated parts; copies strings and takes the data reference. Returns 0 or
 * RT_EINVAL (then data is released and env is left empty). ts NULL means now. */
int rt_envelope_init(struct rt_envelope *env, const char *channel, const char *event,
                     const char *tenant, const char *ts, json_t *data);
void rt_envelope_clear(struct rt_envelope *env);

/* Serializes compactly. With id omitted (include_id false) the text is what the publish script
 * stores, and it prepends the id. Returns a malloc'd string (free()), or NULL if data cannot be
 * encoded. */
char *rt_envelope_dumps(const struct rt_envelope *env, bool include_id, bool include_tenant);

/* Parses and validates an envelope; malformed input returns RT_EPARSE (bad JSON), RT_EINVAL
 * (bad field) or RT_E2BIG and leaves env empty. */
int rt_envelope_parse(const char *buf, size_t len, struct rt_envelope *env);

/* Given the stored text (no id) and the stream id, writes the full envelope text into a
 * malloc'd buffer: '{"id":"<id>",' + rest. Returns NULL if stored is not a non-empty object. */
char *rt_envelope_with_id(const char *stored, size_t len, const char *id, size_t *out_len);

#endif
