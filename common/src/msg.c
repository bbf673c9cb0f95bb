#include "rt/msg.h"
#include "rt/err.h"

#include <string.h>

struct rt_msg *rt_msg_new(size_t pre, size_t len)
{
    RT_ASSERT(pre + len >= len);
    struct rt_msg *m = rt_xmalloc(sizeof(*m) + pre + len);
    m->refs = 1;
    m->pre = pre;
    m->len = len;
    m->origin_ms = 0;
    return m;
}

struct rt_msg *rt_msg_new_copy(size_t pre, const void *payload, size_t len)
{
    struct rt_msg *m = rt_msg_new(pre, len);
    if (len)
        memcpy(m->buf + pre, payload, len);
    return m;
}

struct rt_msg *rt_msg_ref(struct rt_msg *m)
{
    RT_ASSERT(m->refs > 0);
    m->refs++;
    return m;
}

void rt_msg_unref(struct rt_msg *m)
{
    if (!m)
        return;
    RT_ASSERT(m->refs > 0);
    if (--m->refs == 0)
        free(m);
}
