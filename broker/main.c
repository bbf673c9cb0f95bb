/* rt-health: call state, timeouts, webhook staleness, failure rates, component liveness. */
#include "config.h"

#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/log.h"

#include <event2/event.h>
#include <stdlib.h>

struct health {
    const struct health_config *cfg; /* borrowed */
    struct rt_evproc proc;
};

int main(int argc, char **argv)
{
    struct health_config cfg = {0};
    struct health h = {.cfg = &cfg};
    int rc = health_config_load(&cfg, argc, argv);
    if (rc) {
        health_config_free(&cfg);
        return rc == RT_CFG_EXIT_OK ? 0 : 2;
    }
    rt_log_init("rt-health", cfg.common.log_level, cfg.common.log_format);

    h.proc.arg = &h;
    rc = rt_evproc_init(&h.proc, "rt-health", &cfg.common, cfg.listen, 64 * 1024);
    if (rc == 0)
        rc = rt_evproc_run(&h.proc);

    rt_evproc_deinit(&h.proc);
    health_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc));
    libevent_global_shutdown();
    return rc ? 1 : 0;
}
