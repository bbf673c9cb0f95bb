/* Helpers shared by every integration test: fixture state, waiting on conditions with a
 * deadline (never a fixed sleep), a blocking HTTP client over loopback, and child processes. */
#ifndef RT_TEST_H
#define RT_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads <RT_TEST_STATE>/<fixture>/<file> (trailing newline stripped) into buf; false if absent. */
bool rt_test_state(const char *fixture, const char *file, char *buf, size_t cap);
/* "redis://127.0.0.1:<port>/0" of the shared redis fixture. */
bool rt_test_redis_url(char *buf, size_t cap);
int rt_test_redis_port(void);
/* libpq conninfo of the shared PostgreSQL fixture. */
bool rt_test_pg_conninfo(char *buf, size_t cap);

/* Polls cond(arg) every 10 ms until true or timeout_ms; returns its last value. */
bool rt_test_wait(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* Blocking HTTP/1.1 request to 127.0.0.1:port; body is malloc'd (free()). Extra headers are
 * "Name: value\r\n" lines or NULL. Returns the status code or -1 on connection failure. */
int rt_test_http(int port, const char *method, const char *path, const char *headers,
                 const char *body, size_t body_len, char **resp_body);

/* A child process with its stderr captured to a file (for log-line assertions). */
struct rt_test_proc {
    pid_t pid;
    char log_path[512];
};

/* Starts argv[0] with extra environment entries ("NAME=value", NULL-terminated, may be NULL).
 * Returns 0 or -1. */
int rt_test_proc_start(struct rt_test_proc *p, char *const argv[], char *const env[]);
/* Waits up to timeout_ms for a line of the captured log containing needle; copies that line. */
bool rt_test_proc_wait_log(struct rt_test_proc *p, const char *needle, int timeout_ms, char *line,
                           size_t cap);
/* Sends sig and waits up to timeout_ms for exit; returns the exit status (0-255), 128+signal if
 * killed, or -1 on timeout (the child is then killed). */
int rt_test_proc_stop(struct rt_test_proc *p, int sig, int timeout_ms);

/* Extracts the port from a "url":"http://host:port" field of a ready line; -1 if absent. */
int rt_test_url_port(const char *line);

/* Runs a fixture script command (tests/fixtures/<script> <cmd> <dir> ...) and returns its exit. */
int rt_test_fixture(const char *script, const char *cmd, const char *dir, const char *extra);

#endif
