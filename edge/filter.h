/* Row filters of the native protocol: "column=op.value" with op one of eq, neq, lt, lte, gt, gte,
 * or "column=in.(a,b,c)". Parsed once at subscribe time; matched against an event's record
 * (old_record for DELETE). Pure: no loop, no I/O. */
#ifndef EDGE_FILTER_H
#define EDGE_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define EDGE_FILTER_MAX    1024 /* bytes of filter text */
#define EDGE_FILTER_MAX_IN 100  /* values in in.(...) */

struct edge_filter;

/* Returns 0 with *out set, or RT_EINVAL (malformed, unknown operator) with *out NULL and a
 * static explanation in *why. */
int edge_filter_parse(const char *text, struct edge_filter **out, const char **why);
void edge_filter_free(struct edge_filter *f);

/* data is the envelope's data object; event its name ("DELETE" selects old_record). A record
 * without the column, or not an object, does not match. */
bool edge_filter_match(const struct edge_filter *f, const json_t *data, const char *event);

#endif
