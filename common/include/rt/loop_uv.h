/* struct rt_loop on libuv (rt-edge). Lives in rtcommon_uv. */
#ifndef RT_LOOP_UV_H
#define RT_LOOP_UV_H

#include "rt/loop.h"

struct uv_loop_s;

void rt_loop_uv_init(struct rt_loop *loop, struct uv_loop_s *uvloop);

#endif
