#include "listener.h"
#include "edge.h"
#include "rt/hmap.h"

#include "rt/err.h"
#include "rt/log.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HEAD_TIMEOUT_MS 10000

struct pending {
    uv_tcp_t tcp; /* first: libuv callbacks cast back */
    uv_timer_t timer;
    struct edge_listener *l; /* borrowed */
    struct pending *prev, *next;
    char *buf; /* owned */
    size_t len;
    int closing; /* handles still to close */
};

struct edge_listener {
    struct edge *e;       /* borrowed */
    struct lws_vhost *vh; /* borrowed */
    uv_tcp_t server;
    bool server_closed;
    int port;
    struct pending *pending; /* owned list */
    struct rt_hmap *tokens;  /* owned: "<fd>" -> owned token */
};

/* ---- the head rewrite (pure) ---- */

static char *find_line(char *head, size_t len, const char *name, char **line_end)
{
    size_t nl = strlen(name);
    char *p = memchr(head, '\n', len);
    char *end = head + len;
    while (p && p + 1 < end) {
        char *line = p + 1;
        char *e = memchr(line, '\n', (size_t)(end - line));
        if (!e)
            return NULL;
        if ((size_t)(e - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            *line_end = e + 1;
            return line;
        }
        p = e;
    }
    return NULL;
}

/* Joins the kept subprotocols with sep into out (room for every entry of val and its sep). */
static size_t join_kept(char *out, const char *const *kept, size_t n, const char *sep)
{
    size_t o = 0, sl = strlen(sep);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(kept[i]);
        if (i) {
            memcpy(out + o, sep, sl);
            o += sl;
        }
        memcpy(out + o, kept[i], kl);
        o += kl;
    }
    return o;
}

/* The rewritten line must never be longer than the original: the head is rewritten in place and
 * the client chooses its spelling (a header of compact "a,a,a,rt.bearer.x" entries, a short
 * token). The ", "-joined form is used when it fits, else the ","-joined form, which always does:
 * it drops at least the bearer entry ("rt.bearer." and more) and its separator, and adds at most
 * the "\r" of a bare "\n" line end. */
size_t edge_listener_strip_bearer(char *head, size_t len, char **token)
{
    static const char name[] = "Sec-WebSocket-Protocol:";
    char *line_end;
    *token = NULL;
    char *line = find_line(head, len, "sec-websocket-protocol", &line_end);
    if (!line)
        return len;
    char *v = line + strlen("sec-websocket-protocol:");
    size_t vlen = (size_t)(line_end - v);
    char *val = rt_xstrndup(v, vlen);
    const char **kept = rt_xcalloc(vlen / 2 + 1, sizeof(*kept)); /* entries are >= 1 byte + sep */
    size_t nk = 0;
    char *save = NULL;
    for (char *p = strtok_r(val, ",\r\n", &save); p; p = strtok_r(NULL, ",\r\n", &save)) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            p[--n] = '\0';
        if (!n)
            continue;
        if (strncmp(p, "rt.bearer.", 10) == 0) {
            if (!*token)
                *token = rt_xstrdup(p + 10);
            continue;
        }
        kept[nk++] = p;
    }
    size_t old = (size_t)(line_end - line), rl = 0;
    if (*token && nk) {
        char *repl = rt_xmalloc(sizeof(name) + 1 + 2 * vlen + 2);
        memcpy(repl, name, sizeof(name) - 1);
        rl = sizeof(name) - 1;
        repl[rl++] = ' ';
        rl += join_kept(repl + rl, kept, nk, ", ");
        if (rl + 2 > old) { /* the spaced form does not fit: the compact one does */
            rl = sizeof(name) - 1;
            rl += join_kept(repl + rl, kept, nk, ",");
        }
        repl[rl++] = '\r';
        repl[rl++] = '\n';
        RT_ASSERT(rl <= old); /* see above: the compact form is shorter than the original */
        memmove(line + rl, line_end, len - (size_t)(line_end - head));
        memcpy(line, repl, rl);
        free(repl);
    } else if (*token) { /* only the bearer entry: the header goes */
        memmove(line, line_end, len - (size_t)(line_end - head));
    }
    free(kept);
    free(val);
    return *token ? len - old + rl : len;
}

/* ---- connections ---- */

static void pending_unlink(struct pending *p)
{
    struct edge_listener *l = p->l;
    if (p->prev)
        p->prev->next = p->next;
    else if (l->pending == p)
        l->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct pending *p = h->data;
    if (--p->closing == 0) {
        free(p->buf);
        free(p);
    }
}

static void pending_close(struct pending *p)
{
    pending_unlink(p);
    p->closing = 2;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_handle_closed);
    uv_close((uv_handle_t *)&p->tcp, on_handle_closed);
}

static void hand_over(struct pending *p)
{
    struct edge_listener *l = p->l;
    uv_os_fd_t fd;
    char *token = NULL;
    size_t len = edge_listener_strip_bearer(p->buf, p->len, &token);
    if (uv_fileno((uv_handle_t *)&p->tcp, &fd) != 0) {
        free(token);
        pending_close(p);
        return;
    }
    int dupfd = dup(fd); /* libuv closes its own descriptor; lws gets the duplicate */
    uv_read_stop((uv_stream_t *)&p->tcp);
    if (dupfd < 0) {
        free(token);
        pending_close(p);
        return;
    }
    /* a token left by an earlier connection on this descriptor number must never be seen */
    edge_listener_forget(l, dupfd);
    if (token) {
        char key[16];
        snprintf(key, sizeof(key), "%d", dupfd);
        rt_hmap_put(l->tokens, key, token);
    }
    struct lws *wsi = lws_adopt_socket_vhost_readbuf(l->vh, dupfd, p->buf, len);
    if (!wsi)
        edge_listener_forget(l, dupfd); /* lws closed dupfd */
    memset(p->buf, 0, p->len);
    pending_close(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct pending *p = h->data;
    (void)suggested;
    size_t room = EDGE_LISTENER_MAX_HEAD - p->len;
    b->base = p->buf + p->len;
    b->len = room;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct pending *p = s->data;
    (void)b;
    if (n < 0) {
        pending_close(p);
        return;
    }
    p->len += (size_t)n;
    size_t scan = p->len;
    if (memmem(p->buf, scan, "\r\n\r\n", 4) || memmem(p->buf, scan, "\n\n", 2)) {
        hand_over(p);
        return;
    }
    if (p->len >= EDGE_LISTENER_MAX_HEAD) {
        static const char r[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                "Content-Length: 0\r\nConnection: close\r\n\r\n";
        uv_buf_t wb = uv_buf_init((char *)r, sizeof(r) - 1);
        uv_try_write(s, &wb, 1);
        pending_close(p);
    }
}

static void on_head_timeout(uv_timer_t *t)
{
    pending_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct edge_listener *l = server->data;
    if (status < 0)
        return;
    struct pending *p = rt_xcalloc(1, sizeof(*p));
    p->l = l;
    p->buf = rt_xmalloc(EDGE_LISTENER_MAX_HEAD);
    uv_tcp_init(&l->e->loop, &p->tcp);
    uv_timer_init(&l->e->loop, &p->timer);
    p->tcp.data = p->timer.data = p;
    p->next = l->pending;
    if (l->pending)
        l->pending->prev = p;
    l->pending = p;
    if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0) {
        pending_close(p);
        return;
    }
    uv_tcp_nodelay(&p->tcp, 1);
    uv_timer_start(&p->timer, on_head_timeout, HEAD_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

int edge_listener_open(struct edge_listener **out, struct edge *e, struct lws_vhost *vh,
                       const char *host, int port)
{
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    *out = NULL;
    struct edge_listener *l = rt_xcalloc(1, sizeof(*l));
    l->e = e;
    l->vh = vh;
    l->tokens = rt_hmap_new();
    uv_tcp_init(&e->loop, &l->server);
    l->server.data = l;
    int rc = uv_ip4_addr(host, port, &addr);
    if (rc == 0)
        rc = uv_tcp_bind(&l->server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->server, 1024, on_connection);
    if (rc == 0)
        rc = uv_tcp_getsockname(&l->server, (struct sockaddr *)&bound, &blen);
    if (rc) {
        RT_ERROR("ws.listen_failed", "cannot listen", RT_LF_STR("host", host),
                 RT_LF_INT("port", port), RT_LF_STR("error", uv_strerror(rc)));
        *out = l;
        return RT_EIO;
    }
    l->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = l;
    return 0;
}

int edge_listener_port(const struct edge_listener *l)
{
    return l->port;
}

void edge_listener_close(struct edge_listener *l)
{
    if (!l || l->server_closed)
        return;
    l->server_closed = true;
    uv_close((uv_handle_t *)&l->server, NULL);
    while (l->pending)
        pending_close(l->pending);
}

static void free_token(const char *key, void *val, void *arg)
{
    (void)key;
    (void)arg;
    free(val);
}

void edge_listener_free(struct edge_listener *l)
{
    if (!l)
        return;
    rt_hmap_each(l->tokens, free_token, NULL);
    rt_hmap_free(l->tokens);
    free(l);
}

char *edge_listener_take_token(struct edge_listener *l, int fd)
{
    char key[16];
    if (!l)
        return NULL;
    snprintf(key, sizeof(key), "%d", fd);
    return rt_hmap_del(l->tokens, key);
}

void edge_listener_forget(struct edge_listener *l, int fd)
{
    char *t = edge_listener_take_token(l, fd);
    if (t) {
        memset(t, 0, strlen(t));
        free(t);
    }
}
