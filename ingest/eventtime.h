/* Provider event times to one format: providers send RFC 2822 (Twilio's Timestamp) or ISO-8601
 * with any offset and precision (Telnyx occurred_at, Vonage timestamp); the call model carries
 * UTC ISO-8601 with milliseconds, so rt-health can compute delivery lag and clients can sort. */
#ifndef INGEST_EVENTTIME_H
#define INGEST_EVENTTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_EVENT_TIME_ISO_LEN 24 /* "2023-11-14T22:13:20.000Z" */

/* Parses an RFC 2822 or ISO-8601 time into Unix milliseconds; false when it is neither. */
bool ingest_event_time_parse(const char *s, int64_t *ms);

/* Writes `s` as UTC ISO-8601 with milliseconds into buf (cap > INGEST_EVENT_TIME_ISO_LEN). */
bool ingest_event_time_iso(const char *s, char *buf, size_t cap);

/* ingest_call_set() for a provider time: stores the normalized form when `raw` parses, else
 * `raw` unchanged (the provider's text is better than nothing). False when too long. */
bool ingest_call_set_time(char **dst, const char *raw);

#endif
