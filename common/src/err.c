#include "rt/err.h"

#include <string.h>
#include <unistd.h>

const char *rt_strerror(int err)
{
    switch (err) {
#define RT_ERR_MSG(name, value, msg)                                                               \
    case value:                                                                                    \
        return msg;
        RT_ERR_TABLE(RT_ERR_MSG)
#undef RT_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *rt_errname(int err)
{
    switch (err) {
#define RT_ERR_NAME(name, value, msg)                                                              \
    case value:                                                                                    \
        return #name + 3;
        RT_ERR_TABLE(RT_ERR_NAME)
#undef RT_ERR_NAME
    default:
        return "EUNKNOWN";
    }
}

static void *check(void *p)
{
    if (!p) {
        static const char msg[] = "{\"level\":\"fatal\",\"event\":\"oom\"}\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        abort();
    }
    return p;
}

void *rt_xmalloc(size_t n)
{
    return check(malloc(n ? n : 1));
}

void *rt_xcalloc(size_t n, size_t size)
{
    return check(calloc(n ? n : 1, size ? size : 1));
}

void *rt_xrealloc(void *p, size_t n)
{
    return check(realloc(p, n ? n : 1));
}

char *rt_xstrdup(const char *s)
{
    return check(strdup(s));
}

char *rt_xstrndup(const char *s, size_t n)
{
    return check(strndup(s, n));
}
