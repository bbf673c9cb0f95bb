#include "rt_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool rt_test_state(const char *fixture, const char *file, char *buf, size_t cap)
{
    const char *root = getenv("RT_TEST_STATE");
    char path[1024];
    if (!root)
        return false;
    snprintf(path, sizeof(path), "%s/%s/%s", root, fixture, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return n > 0;
}

int rt_test_redis_port(void)
{
    char buf[32];
    return rt_test_state("redis", "port", buf, sizeof(buf)) ? atoi(buf) : -1;
}

bool rt_test_redis_url(char *buf, size_t cap)
{
    int port = rt_test_redis_port();
    if (port <= 0)
        return false;
    snprintf(buf, cap, "redis://127.0.0.1:%d/0", port);
    return true;
}

bool rt_test_pg_conninfo(char *buf, size_t cap)
{
    return rt_test_state("pg", "conninfo", buf, cap);
}

bool rt_test_wait(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (cond(arg))
            return true;
        if (now_ms() >= deadline)
            return false;
        usleep(10000);
    }
}

int rt_test_http(int port, const char *method, const char *path, const char *headers,
                 const char *body, size_t body_len, char **resp_body)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (resp_body)
        *resp_body = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    char head[4096];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, port, headers ? headers : "", body_len);
    if (write(fd, head, (size_t)hn) != hn ||
        (body_len && write(fd, body, body_len) != (ssize_t)body_len)) {
        close(fd);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    char *sep = strstr(buf, "\r\n\r\n");
    if (resp_body) {
        const char *b = sep ? sep + 4 : "";
        /* chunked replies: good enough for our small JSON bodies, which come in one chunk */
        if (sep && strcasestr(buf, "transfer-encoding: chunked")) {
            char *end;
            unsigned long n = strtoul(b, &end, 16);
            if (end[0] == '\r')
                *resp_body = strndup(end + 2, n);
            else
                *resp_body = strdup(b);
        } else {
            *resp_body = strdup(b);
        }
    }
    free(buf);
    return status;
}

int rt_test_proc_start(struct rt_test_proc *p, char *const argv[], char *const env[])
{
    static int seq;
    const char *root = getenv("RT_TEST_STATE");
    snprintf(p->log_path, sizeof(p->log_path), "%s/proc-%d-%d.log", root ? root : "/tmp",
             (int)getpid(), seq++);
    int fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        dup2(fd, 2);
        for (char *const *e = env; e && *e; e++)
            putenv(*e);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    p->pid = pid;
    return 0;
}

bool rt_test_proc_wait_log(struct rt_test_proc *p, const char *needle, int timeout_ms, char *line,
                           size_t cap)
{
    long long deadline = now_ms() + timeout_ms;
    char buf[8192];
    do {
        FILE *f = fopen(p->log_path, "r");
        if (f) {
            while (fgets(buf, sizeof(buf), f)) {
                if (strstr(buf, needle)) {
                    if (line)
                        snprintf(line, cap, "%s", buf);
                    fclose(f);
                    return true;
                }
            }
            fclose(f);
        }
        usleep(10000);
    } while (now_ms() < deadline);
    return false;
}

int rt_test_proc_stop(struct rt_test_proc *p, int sig, int timeout_ms)
{
    int status;
    long long deadline = now_ms() + timeout_ms;
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        if (now_ms() >= deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = 0;
            return -1;
        }
        usleep(10000);
    }
}

int rt_test_url_port(const char *line)
{
    const char *u = strstr(line, "\"url\":\"");
    if (!u)
        return -1;
    const char *end = strchr(u + 7, '"');
    const char *colon = u + 7;
    const char *last = NULL;
    while ((colon = memchr(colon, ':', (size_t)(end - colon))) != NULL) {
        last = colon;
        colon++;
    }
    return last ? atoi(last + 1) : -1;
}

int rt_test_fixture(const char *script, const char *cmd, const char *dir, const char *extra)
{
    const char *src = getenv("RT_TEST_SRC");
    char command[2048];
    snprintf(command, sizeof(command), "bash %s/tests/fixtures/%s %s %s %s", src ? src : ".",
             script, cmd, dir, extra ? extra : "");
    int rc = system(command);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
