/* A cheap WebSocket load client for tests/bench/edge_bench.js (--client c): one process holds
 * thousands of connections on one epoll and measures the receipt latency of event frames, for a
 * few microseconds of CPU per frame where the Node `ws` client costs about fifteen, so the load
 * client leaves the two cores to rt-edge and Redis. Driven by lines on stdin, answers on stdout:
 *   connect <port> <token file>  one connection per token line (subprotocol route), each
 *                                subscribed to `tenant` and `user`; answers "connected <ms> <n>"
 *   reset                        forget counts and latencies; answers "reset"
 *   report                       answers "report <count> <latency ms>..." (at most 20,000 samples)
 *   close                        exits
 * Event frames must carry the publisher's wall-clock stamp as "t":<ms> (edge_bench.js does).
 * Loopback only; bench code, not shipped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { IDLE, CONNECTING, HANDSHAKE, OPEN, DONE };

struct conn {
    int fd;
    enum state st;
    int subs;
    char *token;
    unsigned char *buf; /* unparsed input */
    size_t len, cap;
};

static struct conn *conns;
static size_t nconns, next_conn, ready, failed, inflight;
static double *lat;
static size_t nlat, latcap, count;
static int ep;
static double t_connect;
static bool want_connected;

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false; /* a bench client: a full kernel buffer here means a broken run */
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* one masked text or pong frame (client frames must be masked; payload < 126 bytes here) */
static bool send_frame(struct conn *c, int opcode, const char *payload, size_t n)
{
    unsigned char f[256];
    if (n >= 126)
        return false;
    unsigned char mask[4] = {(unsigned char)rand(), (unsigned char)rand(), (unsigned char)rand(),
                             (unsigned char)rand()};
    f[0] = (unsigned char)(0x80 | opcode);
    f[1] = (unsigned char)(0x80 | n);
    memcpy(f + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (unsigned char)payload[i] ^ mask[i & 3];
    return send_all(c->fd, f, 6 + n);
}

static void conn_fail(struct conn *c, const char *why)
{
    if (c->st == DONE)
        return;
    if (c->subs < 2) {
        failed++;
        inflight--;
        fprintf(stderr, "edge_client: connection failed: %s\n", why);
    }
    c->st = DONE;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

static void start_next(int port)
{
    while (inflight < 100 && next_conn < nconns) {
        struct conn *c = &conns[next_conn++];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
            die("socket");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
            die("connect");
        c->st = CONNECTING;
        inflight++;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl");
    }
}

static void on_text(struct conn *c, const char *p, size_t n)
{
    if (n > 15 && memcmp(p, "{\"type\":\"event\"", 15) == 0) {
        const char *t = memmem(p, n, "\"t\":", 4);
        if (t) {
            double v = strtod(t + 4, NULL);
            if (nlat == latcap) {
                latcap = latcap ? 2 * latcap : 65536;
                lat = realloc(lat, latcap * sizeof(*lat));
                if (!lat)
                    die("realloc");
            }
            lat[nlat++] = wall_ms() - v;
        }
        count++;
        return;
    }
    if (memmem(p, n, "\"type\":\"connected\"", 18)) {
        static const char s1[] = "{\"type\":\"subscribe\",\"ref\":\"t\",\"channel\":\"tenant\"}";
        static const char s2[] = "{\"type\":\"subscribe\",\"ref\":\"u\",\"channel\":\"user\"}";
        if (!send_frame(c, 1, s1, sizeof(s1) - 1) || !send_frame(c, 1, s2, sizeof(s2) - 1))
            conn_fail(c, "send");
    } else if (memmem(p, n, "\"type\":\"subscribed\"", 19)) {
        if (++c->subs == 2) {
            ready++;
            inflight--;
        }
    } else if (memmem(p, n, "\"type\":\"error\"", 14)) {
        fprintf(stderr, "edge_client: %.*s\n", (int)(n > 300 ? 300 : n), p);
        conn_fail(c, "error frame");
    }
}

/* parses whole frames from p; returns the bytes consumed */
static size_t on_frames(struct conn *c, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (n - off >= 2 && c->st == OPEN) {
        const unsigned char *f = p + off;
        int opcode = f[0] & 0x0f;
        uint64_t len = f[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (n - off < 4)
                break;
            len = ((uint64_t)f[2] << 8) | f[3];
            h = 4;
        } else if (len == 127) {
            if (n - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | f[2 + i];
            h = 10;
        }
        if (n - off - h < len)
            break;
        const char *pl = (const char *)f + h;
        if (opcode == 1)
            on_text(c, pl, (size_t)len);
        else if (opcode == 9 && !send_frame(c, 10, pl, (size_t)len))
            conn_fail(c, "pong");
        else if (opcode == 8)
            conn_fail(c, "closed by the server");
        off += h + (size_t)len;
    }
    return off;
}

static void on_handshake(struct conn *c)
{
    unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return;
    if (c->len < 12 || memcmp(c->buf + 9, "101", 3) != 0) {
        conn_fail(c, "upgrade refused");
        return;
    }
    c->st = OPEN;
    size_t used = (size_t)(end + 4 - c->buf);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
}

static void on_readable(struct conn *c)
{
    unsigned char tmp[65536];
    for (;;) {
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            conn_fail(c, "connection lost");
            return;
        }
        const unsigned char *p = tmp;
        size_t n = (size_t)r;
        if (c->len || c->st == HANDSHAKE) { /* partial input kept: append and parse from it */
            if (c->len + n > c->cap) {
                c->cap = (c->len + n) * 2;
                c->buf = realloc(c->buf, c->cap);
                if (!c->buf)
                    die("realloc");
            }
            memcpy(c->buf + c->len, tmp, n);
            c->len += n;
            if (c->st == HANDSHAKE) {
                on_handshake(c);
                if (c->st != OPEN)
                    continue;
            }
            size_t used = on_frames(c, c->buf, c->len);
            if (c->st != OPEN)
                return;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            continue;
        }
        size_t used = on_frames(c, p, n);
        if (c->st != OPEN)
            return;
        if (used < n) {
            if (n - used > c->cap) {
                c->cap = (n - used) * 2;
                c->buf = realloc(c->buf, c->cap);
                if (!c->buf)
                    die("realloc");
            }
            memcpy(c->buf, p + used, n - used);
            c->len = n - used;
        }
    }
}

static void on_writable(struct conn *c)
{
    int err = 0;
    socklen_t l = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
        conn_fail(c, strerror(err));
        return;
    }
    char req[4096];
    int n =
        snprintf(req, sizeof(req),
                 "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rt.v1, rt.bearer.%s\r\n\r\n",
                 c->token);
    if (n <= 0 || (size_t)n >= sizeof(req) || !send_all(c->fd, req, (size_t)n)) {
        conn_fail(c, "handshake send");
        return;
    }
    c->st = HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void load_tokens(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n)
            continue;
        conns = realloc(conns, (nconns + 1) * sizeof(*conns));
        if (!conns)
            die("realloc");
        conns[nconns++] = (struct conn){.fd = -1, .st = IDLE, .token = strdup(line)};
    }
    free(line);
    fclose(f);
}

/* one stdin command; returns false on close */
static bool command(char *line, int *port)
{
    char tokens[4096];
    if (sscanf(line, "connect %d %4095s", port, tokens) == 2) {
        load_tokens(tokens);
        t_connect = wall_ms();
        want_connected = true;
        start_next(*port);
    } else if (strncmp(line, "reset", 5) == 0) {
        nlat = count = 0;
        printf("reset\n");
    } else if (strncmp(line, "report", 6) == 0) {
        qsort(lat, nlat, sizeof(*lat), cmp_double);
        size_t step = nlat > 20000 ? (nlat + 19999) / 20000 : 1;
        printf("report %zu", count);
        for (size_t i = 0; i < nlat; i += step)
            printf(" %.3f", lat[i]);
        printf("\n");
    } else if (strncmp(line, "close", 5) == 0) {
        return false;
    }
    fflush(stdout);
    return true;
}

int main(void)
{
    ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
    char in[65536];
    size_t inlen = 0;
    int port = 0;
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                ssize_t r = read(0, in + inlen, sizeof(in) - 1 - inlen);
                if (r == 0)
                    return 0; /* the driver went away */
                if (r > 0)
                    inlen += (size_t)r;
                char *nl;
                while ((nl = memchr(in, '\n', inlen))) {
                    *nl = '\0';
                    if (!command(in, &port))
                        return 0;
                    size_t used = (size_t)(nl + 1 - in);
                    memmove(in, nl + 1, inlen - used);
                    inlen -= used;
                }
                continue;
            }
            if (c->st == CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                on_writable(c);
            else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(c);
        }
        if (next_conn)
            start_next(port);
        if (want_connected && ready + failed == nconns) {
            printf("connected %.0f %zu\n", wall_ms() - t_connect, ready);
            fflush(stdout);
            want_connected = false;
        }
    }
}
