#include "static_files.h"

#include "rt/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "/dashboard"

static const struct {
    const char *ext;
    const char *ctype;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
};

bool edge_static_path(const char *path)
{
    size_t n = strlen(PREFIX);
    return strncmp(path, PREFIX, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* One flat directory: a name is [A-Za-z0-9._-]+ and never starts with '.', so neither "..",
 * a dotfile nor a subdirectory can be named. */
static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128 || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static const char *ctype_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    }
    return "application/octet-stream";
}

int edge_static_read(const char *dir, const char *path, struct edge_static_file *out)
{
    char file[4096];
    memset(out, 0, sizeof(*out));
    if (!dir || !edge_static_path(path))
        return RT_ENOENT;
    const char *name = path + strlen(PREFIX);
    if (*name == '/')
        name++;
    if (*name == '\0')
        name = "index.html";
    if (!name_valid(name))
        return RT_ENOENT;
    if (snprintf(file, sizeof(file), "%s/%s", dir, name) >= (int)sizeof(file))
        return RT_ENOENT;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return RT_ENOENT;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > EDGE_STATIC_MAX_BYTES) {
        close(fd);
        return RT_ENOENT;
    }
    out->body = rt_xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, out->body + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(out->body);
        out->body = NULL;
        return RT_EIO;
    }
    out->len = got;
    out->ctype = ctype_of(name);
    return 0;
}
