#include "wsframe.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

static size_t header_len(size_t len)
{
    return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

struct rt_msg *edge_wsframe_text(const char *payload, size_t len)
{
    struct rt_msg *m = rt_msg_new_copy(LWS_PRE, payload, len);
    size_t h = header_len(len);
    unsigned char *p = m->buf + m->pre - h;
    p[0] = 0x81; /* FIN, text */
    if (h == 2) {
        p[1] = (unsigned char)len;
    } else if (h == 4) {
        p[1] = 126;
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)len;
    } else {
        p[1] = 127;
        for (int i = 0; i < 8; i++)
            p[2 + i] = (unsigned char)((unsigned long long)len >> (56 - 8 * i));
    }
    return m;
}

struct rt_msg *edge_wsframe_text_take(char *payload)
{
    struct rt_msg *m = edge_wsframe_text(payload, strlen(payload));
    free(payload);
    return m;
}

const unsigned char *edge_wsframe_bytes(const struct rt_msg *m, size_t *len)
{
    size_t h = header_len(m->len);
    *len = h + m->len;
    return m->buf + m->pre - h;
}
