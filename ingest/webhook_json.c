#include "webhook_json.h"

const char *ingest_json_str(const json_t *o, const char *key)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *ingest_json_object(const char *buf, size_t len)
{
    json_error_t err;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}
