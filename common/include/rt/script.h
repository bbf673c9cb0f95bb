/* One Lua script called by EVALSHA: the hash is computed once, the script is loaded with
 * SCRIPT LOAD on every connect, and a call that meets NOSCRIPT (cache flushed by a restart or
 * SCRIPT FLUSH) loads it and is sent again, once. Every request pipelined behind a NOSCRIPT
 * fails the same way and is retried in the same order, so per-channel order holds. */
#ifndef RT_SCRIPT_H
#define RT_SCRIPT_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "rt/rconn.h"

struct rt_script {
    const char *name; /* static: for logs */
    const char *text; /* static */
    char sha[41];
};

/* A call being built: the keys and arguments that follow "EVALSHA <sha> <nkeys>". */
struct rt_script_call;

/* The reply is borrowed for the callback; NULL when the connection was lost first. Any error
 * reply other than a recovered NOSCRIPT is passed through. Runs exactly once per sent call. */
typedef void (*rt_script_fn)(const redisReply *reply, void *arg);

void rt_script_init(struct rt_script *s, const char *name, const char *text);
/* Call on every READY of the connection. */
void rt_script_load(const struct rt_script *s, struct rt_rconn *rc);

struct rt_script_call *rt_script_call_new(const struct rt_script *s, int nkeys);
/* Appends one key or argument (copied). */
void rt_script_arg(struct rt_script_call *c, const char *s, size_t len);
/* NULL appends "". */
void rt_script_arg_str(struct rt_script_call *c, const char *s);
void rt_script_arg_num(struct rt_script_call *c, long long v);
/* Sends the call and takes it over. Returns 0 (cb will run) or RT_ENOTREADY (cb will not run;
 * the call is freed). */
int rt_script_send(struct rt_script_call *c, struct rt_rconn *rc, rt_script_fn cb, void *arg);

#endif
