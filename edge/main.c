/* rt-edge: libwebsockets on a foreign libuv loop, one thread. */
#include "config.h"
#include "http.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop_uv.h"
#include "rt/metrics.h"
#include "rt/probes.h"
#include "rt/rconn.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

struct edge {
    const struct edge_config *cfg; /* borrowed */
    uv_loop_t loop;
    struct rt_loop rloop;
    uv_signal_t sigterm, sigint;
    struct lws_context *lws; /* owned */
    struct rt_rconn *redis;  /* owned */
    struct rt_metrics *metrics; /* owned */
    struct rt_probes probes;
    char url[300];
};

static bool is_ready(void *arg, char *reason, size_t cap)
{
    struct edge *e = arg;
    if (!rt_rconn_ready(e->redis)) {
        const char *err = rt_rconn_last_error(e->redis);
        snprintf(reason, cap, "redis: %s", err[0] ? err : "connecting");
        return false;
    }
    return true;
}

/* Starts the shutdown while the loop runs: lws and hiredis close their libuv handles
 * asynchronously, and uv_run returns once the last one is closed. */
static void shutdown_start(struct edge *e)
{
    rt_rconn_free(e->redis);
    e->redis = NULL;
    if (e->lws)
        lws_context_destroy(e->lws); /* first stage; info.pcontext NULLs e->lws when done */
    if (!uv_is_closing((uv_handle_t *)&e->sigterm)) {
        uv_close((uv_handle_t *)&e->sigterm, NULL);
        uv_close((uv_handle_t *)&e->sigint, NULL);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct edge *e = h->data;
    if (e->probes.draining)
        return;
    e->probes.draining = true;
    RT_INFO("process.stopping", "stop signal received", RT_LF_INT("signal", signum));
    shutdown_start(e);
}

static void on_lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    char buf[512];
    snprintf(buf, sizeof(buf), "%.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    rt_log(level & LLL_ERR ? RT_LOG_ERROR : RT_LOG_WARN, "lws.log", buf);
}

static const struct lws_protocols protocols[] = {
    {"http", edge_http_callback, sizeof(struct edge_http_session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int start_lws(struct edge *e)
{
    struct lws_context_creation_info info;
    char host[256];
    int port;
    void *foreign[1] = {&e->loop};

    rt_listen_parse(e->cfg->listen, host, sizeof(host), &port);
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.vhost_name = "rt-edge";
    info.user = &e->probes;
    info.pcontext = &e->lws;
    info.foreign_loops = foreign;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.count_threads = 1;
    if (e->cfg->tls_cert && e->cfg->tls_key) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = e->cfg->tls_cert;
        info.ssl_private_key_filepath = e->cfg->tls_key;
    }
    e->lws = lws_create_context(&info);
    if (!e->lws) {
        RT_ERROR("ws.listen_failed", "cannot start the WebSocket server",
                 RT_LF_STR("listen", e->cfg->listen));
        return RT_EIO;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(e->lws, "rt-edge");
    int bound = vh ? lws_get_vhost_listen_port(vh) : port;
    snprintf(e->url, sizeof(e->url), "%s://%s:%d", info.ssl_cert_filepath ? "https" : "http", host,
             bound);
    return 0;
}

int main(int argc, char **argv)
{
    struct edge_config cfg = {0};
    struct edge e = {.cfg = &cfg};
    int rc = edge_config_load(&cfg, argc, argv);
    if (rc) {
        edge_config_free(&cfg);
        return rc == RT_CFG_EXIT_OK ? 0 : 2;
    }
    rt_log_init("rt-edge", cfg.common.log_level, cfg.common.log_format);
    lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_init(&e.loop);
    rt_loop_uv_init(&e.rloop, &e.loop);
    e.metrics = rt_metrics_new();
    e.probes = (struct rt_probes){
        .component = "rt-edge", .ready = is_ready, .arg = &e, .metrics = e.metrics};
    uv_signal_init(&e.loop, &e.sigterm);
    uv_signal_init(&e.loop, &e.sigint);
    e.sigterm.data = e.sigint.data = &e;
    uv_signal_start(&e.sigterm, on_signal, SIGTERM);
    uv_signal_start(&e.sigint, on_signal, SIGINT);

    rc = start_lws(&e);
    if (rc == 0) {
        struct rt_rconn_opts ro = {.url = cfg.common.redis_url, .client_name = "rt-edge",
                                   .connect_timeout_ms = 2000, .ping_interval_ms = 1000,
                                   .backoff_min_ms = 100, .backoff_max_ms = 3000};
        rc = rt_rconn_open(&e.redis, &e.rloop, &ro);
    }
    if (rc == 0) {
        RT_INFO("process.ready", "ready", RT_LF_STR("url", e.url), RT_LF_STR("ws", "/ws"),
                RT_LF_STR("healthz", "/healthz"), RT_LF_STR("readyz", "/readyz"),
                RT_LF_STR("metrics", "/metrics"));
        uv_run(&e.loop, UV_RUN_DEFAULT);
    }

    /* a failed start never ran the loop: tear down the same way, then let the closes finish;
     * lws needs a second destroy call once its handles are closed */
    if (!e.probes.draining)
        shutdown_start(&e);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    if (e.lws)
        lws_context_destroy(e.lws);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&e.loop))
        RT_WARN("process.loop_busy", "event loop still had handles at exit");
    rt_metrics_free(e.metrics);
    edge_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc));
    return rc ? 1 : 0;
}
