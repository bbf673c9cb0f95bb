/* Parsing of RT_REDIS_URL: redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]. */
#ifndef RT_REDISURL_H
#define RT_REDISURL_H

struct rt_redis_addr {
    char host[256]; /* empty for a unix socket */
    int port;
    char path[108]; /* unix socket path, empty for TCP */
    char password[256];
    int db;
};

/* Returns 0 or RT_EINVAL; never reads past the string. */
int rt_redis_url_parse(const char *url, struct rt_redis_addr *out);

#endif
