/* An immutable, reference-counted payload shared by every connection it is sent to (fan-out).
 * The buffer has `pre` bytes of headroom before the payload, so a WebSocket (or other) frame
 * header can be written in front of it without copying the payload (LWS_PRE for lws_write).
 * Single-threaded: the count is a plain integer. */
#ifndef RT_MSG_H
#define RT_MSG_H

#include <stddef.h>
#include <stdint.h>

struct rt_msg {
    unsigned refs;
    size_t pre;          /* headroom before the payload */
    size_t len;          /* payload bytes */
    uint64_t origin_ms;  /* wall-clock ms when the event was created (0: unknown) */
    unsigned char buf[]; /* pre + len bytes */
};

/* Allocates with refs = 1 and uninitialised contents; never returns NULL. */
struct rt_msg *rt_msg_new(size_t pre, size_t len);
/* Copies len bytes of payload after pre bytes of headroom. */
struct rt_msg *rt_msg_new_copy(size_t pre, const void *payload, size_t len);
struct rt_msg *rt_msg_ref(struct rt_msg *m);
/* Drops one reference and frees at zero; accepts NULL. */
void rt_msg_unref(struct rt_msg *m);

static inline unsigned char *rt_msg_payload(struct rt_msg *m)
{
    return m->buf + m->pre;
}

#endif
