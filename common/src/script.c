#include "rt/script.h"
#include "rt/err.h"
#include "rt/log.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command is built in Redis's wire format (RESP) as arguments are added, in one buffer:
 * hiredis then sends it as it is, instead of copying each argument and formatting it again. */
#define HEAD_ROOM 24 /* room before the arguments for "*<argc>\r\n" */

struct rt_script_call {
    const struct rt_script *s; /* borrowed: scripts are static */
    struct rt_rconn *rc;       /* borrowed */
    rt_script_fn cb;
    void *arg; /* borrowed */
    int argc;
    char *buf; /* owned: HEAD_ROOM bytes, then the arguments as RESP bulk strings */
    size_t len, cap;
    size_t head; /* offset of the command in buf, once rt_script_send wrote its header */
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

/* Writes the decimal digits of v backwards so that they end just before end; returns where they
 * start (at most 20 digits). snprintf cost more than all the rest of adding an argument. */
static char *digits(char *end, unsigned long long v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void append(struct rt_script_call *c, const void *p, size_t n)
{
    if (c->len + n > c->cap) {
        while (c->cap < c->len + n)
            c->cap *= 2;
        c->buf = rt_xrealloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
}

void rt_script_arg(struct rt_script_call *c, const char *s, size_t len)
{
    char num[32], *end = num + sizeof(num) - 2, *d = digits(end, len);
    end[0] = '\r';
    end[1] = '\n';
    *--d = '$';
    append(c, d, (size_t)(num + sizeof(num) - d));
    append(c, s, len);
    append(c, "\r\n", 2);
    c->argc++;
}

void rt_script_arg_str(struct rt_script_call *c, const char *s)
{
    rt_script_arg(c, s ? s : "", s ? strlen(s) : 0);
}

void rt_script_arg_num(struct rt_script_call *c, long long v)
{
    char num[32], *d = digits(num + sizeof(num),
                              v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    if (v < 0)
        *--d = '-';
    rt_script_arg(c, d, (size_t)(num + sizeof(num) - d));
}

struct rt_script_call *rt_script_call_new(const struct rt_script *s, int nkeys)
{
    struct rt_script_call *c = rt_xcalloc(1, sizeof(*c));
    c->s = s;
    c->cap = 512;
    c->buf = rt_xmalloc(c->cap);
    c->len = HEAD_ROOM;
    rt_script_arg_str(c, "EVALSHA");
    rt_script_arg_str(c, s->sha);
    rt_script_arg_num(c, nkeys);
    return c;
}

static void call_free(struct rt_script_call *c)
{
    free(c->buf);
    free(c);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

static int send_call(struct rt_script_call *c)
{
    return rt_rconn_cmd_resp(c->rc, on_reply, c, c->buf + c->head, c->len - c->head);
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
    char hdr[HEAD_ROOM];
    int h = snprintf(hdr, sizeof(hdr), "*%d\r\n", c->argc);
    RT_ASSERT(h > 0 && h <= HEAD_ROOM);
    c->head = HEAD_ROOM - (size_t)h;
    memcpy(c->buf + c->head, hdr, (size_t)h);
    if (send_call(c)) {
        call_free(c);
        return RT_ENOTREADY;
    }
    return 0;
}
