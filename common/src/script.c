#include "rt/script.h"
#include "rt/err.h"
#include "rt/log.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_script_call {
    const struct rt_script *s; /* borrowed: scripts are static */
    struct rt_rconn *rc;       /* borrowed */
    rt_script_fn cb;
    void *arg; /* borrowed */
    int argc, cap;
    char **argv; /* owned: "EVALSHA", sha, nkeys, then keys and arguments */
    size_t *argvlen;
    bool retried;
};

void rt_script_init(struct rt_script *s, const char *name, const char *text)
{
    unsigned char d[SHA_DIGEST_LENGTH];
    s->name = name;
    s->text = text;
    SHA1((const unsigned char *)text, strlen(text), d);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", d[i]);
}

static void on_load(redisAsyncContext *ac, void *r, void *privdata)
{
    const struct rt_script *s = privdata;
    redisReply *reply = r;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        RT_ERROR("script.load_failed", "SCRIPT LOAD failed", RT_LF_STR("script", s->name),
                 RT_LF_STR("reply", reply->str));
}

void rt_script_load(const struct rt_script *s, struct rt_rconn *rc)
{
    /* pipelined ahead of every EVALSHA sent after it, so those never see NOSCRIPT */
    rt_rconn_cmd(rc, on_load, (void *)s, "SCRIPT LOAD %s", s->text);
}

void rt_script_arg_own(struct rt_script_call *c, char *s, size_t len)
{
    if (c->argc == c->cap) {
        c->cap *= 2;
        c->argv = rt_xrealloc(c->argv, (size_t)c->cap * sizeof(*c->argv));
        c->argvlen = rt_xrealloc(c->argvlen, (size_t)c->cap * sizeof(*c->argvlen));
    }
    c->argv[c->argc] = s;
    c->argvlen[c->argc++] = len;
}

void rt_script_arg(struct rt_script_call *c, const char *s, size_t len)
{
    char *copy = rt_xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    rt_script_arg_own(c, copy, len);
}

void rt_script_arg_str(struct rt_script_call *c, const char *s)
{
    rt_script_arg(c, s ? s : "", s ? strlen(s) : 0);
}

void rt_script_arg_num(struct rt_script_call *c, long long v)
{
    char b[32];
    rt_script_arg(c, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

struct rt_script_call *rt_script_call_new(const struct rt_script *s, int nkeys)
{
    struct rt_script_call *c = rt_xcalloc(1, sizeof(*c));
    c->s = s;
    c->cap = 16;
    c->argv = rt_xmalloc((size_t)c->cap * sizeof(*c->argv));
    c->argvlen = rt_xmalloc((size_t)c->cap * sizeof(*c->argvlen));
    rt_script_arg_str(c, "EVALSHA");
    rt_script_arg_str(c, s->sha);
    rt_script_arg_num(c, nkeys);
    return c;
}

static void call_free(struct rt_script_call *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->argvlen);
    free(c);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

static int send_call(struct rt_script_call *c)
{
    return rt_rconn_cmdargv(c->rc, on_reply, c, c->argc, (const char **)c->argv, c->argvlen);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rt_script_call *c = privdata;
    redisReply *reply = r;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR && !c->retried &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        c->retried = true;
        rt_script_load(c->s, c->rc);
        if (send_call(c) == 0)
            return;
        reply = NULL; /* the connection went away meanwhile */
    }
    c->cb(reply, c->arg);
    call_free(c);
}

int rt_script_send(struct rt_script_call *c, struct rt_rconn *rc, rt_script_fn cb, void *arg)
{
    c->rc = rc;
    c->cb = cb;
    c->arg = arg;
    if (send_call(c)) {
        call_free(c);
        return RT_ENOTREADY;
    }
    return 0;
}
