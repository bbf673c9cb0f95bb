/* rt-ingest: PostgreSQL changes, telephony webhooks and the publish API become events. */
#include "config.h"

#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/log.h"
#include "rt/publish.h"

#include <event2/event.h>
#include <stdlib.h>

struct ingest {
    const struct ingest_config *cfg; /* borrowed */
    struct rt_evproc proc;
    struct rt_publisher *publisher; /* owned */
};

static void on_redis(void *arg, bool ready)
{
    struct ingest *in = arg;
    if (ready)
        rt_publisher_on_ready(in->publisher);
}

int main(int argc, char **argv)
{
    struct ingest_config cfg = {0};
    struct ingest in = {.cfg = &cfg};
    int rc = ingest_config_load(&cfg, argc, argv);
    if (rc) {
        ingest_config_free(&cfg);
        return rc == RT_CFG_EXIT_OK ? 0 : 2;
    }
    rt_log_init("rt-ingest", cfg.common.log_level, cfg.common.log_format);

    in.proc.on_redis = on_redis;
    in.proc.arg = &in;
    rc = rt_evproc_init(&in.proc, "rt-ingest", &cfg.common, cfg.listen, 1024 * 1024 + 4096);
    if (rc == 0) {
        in.publisher = rt_publisher_new(in.proc.redis, (unsigned long)cfg.stream_maxlen);
        rc = rt_evproc_run(&in.proc);
    }

    /* the rconn goes first so that publishes in flight finish while the publisher lives */
    rt_evproc_deinit(&in.proc);
    rt_publisher_free(in.publisher);
    ingest_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc));
    libevent_global_shutdown();
    return rc ? 1 : 0;
}
