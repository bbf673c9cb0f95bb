/* struct rt_loop on libevent (rt-ingest, rt-health). Lives in rtcommon_ev. */
#ifndef RT_LOOP_EVENT_H
#define RT_LOOP_EVENT_H

#include "rt/loop.h"

struct event_base;

void rt_loop_event_init(struct rt_loop *loop, struct event_base *base);

#endif
