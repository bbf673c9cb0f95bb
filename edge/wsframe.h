/* Server-to-client WebSocket text frames built once, inside an rt_msg's LWS_PRE headroom, so the
 * same bytes go to every receiver as they are (server frames are unmasked; no extension is
 * negotiated) and several frames of one connection can go out in one write. */
#ifndef EDGE_WSFRAME_H
#define EDGE_WSFRAME_H

#include "rt/msg.h"

#include <stddef.h>

/* A text frame carrying a copy of payload; refs = 1. */
struct rt_msg *edge_wsframe_text(const char *payload, size_t len);
/* Takes a malloc'd payload (json_dumps) and frees it. */
struct rt_msg *edge_wsframe_text_take(char *payload);
/* The whole frame (header + payload) of a message built above. */
const unsigned char *edge_wsframe_bytes(const struct rt_msg *m, size_t *len);

#endif
