/* Error codes shared by every module: 0 is success, failures are negative. */
#ifndef RT_ERR_H
#define RT_ERR_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* X(name, value, message). Values reuse -errno where one fits. */
#define RT_ERR_TABLE(X)                                                                            \
    X(RT_OK, 0, "success")                                                                         \
    X(RT_ENOMEM, -ENOMEM, "out of memory")                                                         \
    X(RT_EINVAL, -EINVAL, "invalid argument")                                                      \
    X(RT_ERANGE, -ERANGE, "value out of range")                                                    \
    X(RT_E2BIG, -E2BIG, "too large")                                                               \
    X(RT_ENOENT, -ENOENT, "not found")                                                             \
    X(RT_EIO, -EIO, "input/output error")                                                          \
    X(RT_EAGAIN, -EAGAIN, "try again")                                                             \
    X(RT_ETIMEDOUT, -ETIMEDOUT, "timed out")                                                       \
    X(RT_ECONNREFUSED, -ECONNREFUSED, "connection refused")                                        \
    X(RT_EACCES, -EACCES, "permission denied")                                                     \
    X(RT_EEXIST, -EEXIST, "already exists")                                                        \
    X(RT_ECLOSED, -1000, "closed")                                                                 \
    X(RT_EPROTO, -1001, "protocol error")                                                          \
    X(RT_EPARSE, -1002, "parse error")                                                             \
    X(RT_EREDIS, -1003, "redis error")                                                             \
    X(RT_EDUPLICATE, -1004, "duplicate")                                                           \
    X(RT_EAUTH, -1005, "unauthorized")                                                             \
    X(RT_EFORBIDDEN, -1006, "forbidden")                                                           \
    X(RT_ENOTREADY, -1007, "not ready")                                                            \
    X(RT_ECONFIG, -1008, "bad configuration")

enum rt_err {
#define RT_ERR_ENUM(name, value, msg) name = (value),
    RT_ERR_TABLE(RT_ERR_ENUM)
#undef RT_ERR_ENUM
};

/* Both return a static string, never NULL, also for unknown codes. */
const char *rt_strerror(int err);
const char *rt_errname(int err);

/* Invariant check that stays on in release builds; never for input validation. */
#define RT_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "assertion failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Out of memory is not recoverable here: allocation helpers abort instead of returning NULL. */
void *rt_xmalloc(size_t n);
void *rt_xcalloc(size_t n, size_t size);
void *rt_xrealloc(void *p, size_t n);
char *rt_xstrdup(const char *s);
char *rt_xstrndup(const char *s, size_t n);

#endif
