/* JSON helpers shared by the JSON webhook normalizers. */
#ifndef INGEST_WEBHOOK_JSON_H
#define INGEST_WEBHOOK_JSON_H

#include <jansson.h>
#include <stdbool.h>

/* The string value of o[key], or NULL when absent or not a string (borrowed). */
const char *ingest_json_str(const json_t *o, const char *key);
/* Strict parse of a JSON object (duplicate keys refused); NULL when malformed. */
json_t *ingest_json_object(const char *buf, size_t len);

#endif
