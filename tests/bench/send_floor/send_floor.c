/* The floor under rt-edge's fan-out cost: what one small send() to a loopback TCP socket costs
 * the sending process here, with nothing else in the way (no WebSocket, no Redis, no event
 * library). A receiver process holds N connections on one epoll and discards what arrives; the
 * sender writes one frame of F bytes to B consecutive sockets per burst (a tenant event reaching
 * its B subscribers), bursts paced to a total of R sends per second, for S seconds, and prints
 * its own CPU (user + system, getrusage) per send and the receiver's.
 *   bench_send_floor [--conns 10000] [--rate 50000] [--burst 100] [--bytes 200] [--seconds 10]
 * On loopback the sender's send() also runs the receiver's TCP input and wakes it, so the
 * figure is what rt-edge's own per-delivery CPU is compared against (docs/BENCHMARKS.md).
 * Loopback only, bounded in count and time; bench code, not shipped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long arg(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return dflt;
}

/* The receiver: connects n sockets, then reads and discards until every peer has closed. */
static int receive(int port, long n)
{
    int ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            perror("receiver connect");
            return 1;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    long open = n;
    static char buf[65536];
    struct epoll_event evs[512];
    while (open > 0) {
        int k = epoll_wait(ep, evs, 512, 30000);
        if (k <= 0)
            return k < 0 && errno != EINTR ? 1 : 0;
        for (int i = 0; i < k; i++) {
            ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close(evs[i].data.fd);
                open--;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    long conns = arg(argc, argv, "--conns", 10000), rate = arg(argc, argv, "--rate", 50000);
    long burst = arg(argc, argv, "--burst", 100), bytes = arg(argc, argv, "--bytes", 200);
    long seconds = arg(argc, argv, "--seconds", 10);
    if (conns < 1 || conns > 18000 || rate < 1 || burst < 1 || burst > conns || bytes < 1 ||
        bytes > 4096 || seconds < 1 || seconds > 120) {
        fprintf(stderr, "bench_send_floor: out of range (conns <= 18000, bytes <= 4096, "
                        "seconds <= 120)\n");
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("listen");
        return 1;
    }
    pid_t child = fork();
    if (child == 0)
        _exit(receive(ntohs(sa.sin_port), conns));
    int *fds = calloc((size_t)conns, sizeof *fds);
    for (long i = 0; i < conns; i++) {
        fds[i] = accept(lfd, NULL, NULL);
        if (fds[i] < 0) {
            perror("accept");
            kill(child, SIGKILL);
            return 1;
        }
        /* as libwebsockets sets them on every accepted socket */
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    char *frame = malloc((size_t)bytes);
    memset(frame, 'x', (size_t)bytes);
    double per_burst = (double)burst / (double)rate, t0 = now_s(), next = t0;
    double c0 = cpu_s(RUSAGE_SELF);
    long sent = 0, failed = 0, at = 0;
    while (now_s() - t0 < (double)seconds) {
        for (long j = 0; j < burst; j++) {
            if (send(fds[at], frame, (size_t)bytes, MSG_NOSIGNAL) != bytes)
                failed++;
            sent++;
            at = (at + 1) % conns;
        }
        next += per_burst;
        double wait = next - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    double wall = now_s() - t0, cpu = cpu_s(RUSAGE_SELF) - c0;
    for (long i = 0; i < conns; i++)
        close(fds[i]);
    int status = 0;
    waitpid(child, &status, 0);
    double rcpu = cpu_s(RUSAGE_CHILDREN);
    printf("send_floor conns=%ld burst=%ld bytes=%ld: %ld sends in %.1f s (%.0f/s), %ld short\n",
           conns, burst, bytes, sent, wall, (double)sent / wall, failed);
    printf("sender CPU per send: %.2f us (%.0f %% of a core)\n", cpu * 1e6 / (double)sent,
           100.0 * cpu / wall);
    printf("receiver CPU per frame: %.2f us (connects included)\n", rcpu * 1e6 / (double)sent);
    free(frame);
    free(fds);
    return failed ? 1 : 0;
}
