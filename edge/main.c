/* rt-edge: libwebsockets on a foreign libuv loop, one thread. */
#include "auth.h"
#include "config.h"
#include "drain.h"
#include "edge.h"
#include "rt/hmap.h"
#include "http.h"
#include "listener.h"
#include "liveness.h"
#include "poll_http.h"
#include "session.h"
#include "subs.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop_uv.h"
#include "rt/metrics.h"
#include "rt/rconn.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The periodic checks run in slices: every SWEEP_MS a tenth of the sessions, so each session is
 * checked every 250 ms and no loop turn walks all of them (a 3 ms stall at 10,000 sessions). */
#define SWEEP_MS     25
#define SWEEP_SLICES 10

static uv_signal_t sigterm, sigint;

static bool is_ready(void *arg, char *reason, size_t cap)
{
    struct edge *e = arg;
    if (!rt_rconn_ready(e->cmd)) {
        const char *err = rt_rconn_last_error(e->cmd);
        snprintf(reason, cap, "redis: %s", err[0] ? err : "connecting");
        return false;
    }
    if (!edge_auth_ready(e->auth, reason, cap))
        return false;
    return edge_subs_ready(e->subs, reason, cap);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct edge *e = h->data;
    RT_INFO("process.stopping", "stop signal received", RT_LF_INT("signal", signum));
    if (e->draining)
        uv_stop(&e->loop); /* a second signal: stop now */
    else
        edge_drain_start(e);
}

static void on_sweep(uv_timer_t *t)
{
    struct edge *e = t->data;
    edge_sessions_sweep(e, SWEEP_SLICES);
    if (++e->sweep_ticks % SWEEP_SLICES == 0) {
        edge_poll_sweep(e);
        edge_auth_tick(e->auth);
    }
}

static void on_flush(uv_check_t *h)
{
    edge_poll_flush(h->data);
    edge_sessions_flush(h->data);
}

static void on_cmd_state(struct rt_rconn *rc, enum rt_rconn_state st, void *arg)
{
    struct edge *e = arg;
    (void)rc;
    if (st == RT_RCONN_READY && e->liveness)
        edge_liveness_refresh(e->liveness);
    if (st == RT_RCONN_READY && e->subs)
        edge_subs_cmd_ready(e->subs);
}

static void on_lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    char buf[512];
    /* lws 4.1 logs this at ERR level on every socket the listener hands over (a leftover debug
     * line): one bogus error and one write(2) per connection, about a tenth of the setup CPU */
    static const char noise[] = "adopt_socket_readbuf: calling service";
    if (strncmp(line, noise, sizeof(noise) - 1) == 0)
        return;
    snprintf(buf, sizeof(buf), "%.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    rt_log(level & LLL_ERR    ? RT_LOG_ERROR
           : level & LLL_WARN ? RT_LOG_WARN
                              : RT_LOG_DEBUG,
           "lws.log", buf);
}

static const struct lws_protocols protocols[] = {
    {"http", edge_http_callback, sizeof(struct edge_http_session), 0, 0, NULL, 0},
    {"rt.v1", edge_session_callback, sizeof(struct edge_session), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* a WebSocket upgrade without Sec-WebSocket-Protocol (access_token or first-frame auth) */
static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "rt.v1", ""};

/* No lws "validity" timers: with them every wsi sits in a time-sorted list that lws re-sorts
 * (O(connections)) on traffic; rt-edge runs its own heartbeat (session.c sweep). */
static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                           .secs_since_valid_hangup = 0};

static int start_lws(struct edge *e)
{
    struct lws_context_creation_info info;
    char host[256];
    int port;
    void *foreign[1] = {&e->loop};

    rt_listen_parse(e->cfg->listen, host, sizeof(host), &port);
    bool tls = e->cfg->tls_cert && e->cfg->tls_key;
    memset(&info, 0, sizeof(info));
    /* without TLS our own listener reads the request head first (see listener.h) */
    info.port = tls ? port : CONTEXT_PORT_NO_LISTEN_SERVER;
    info.iface = host;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.vhost_name = "rt-edge";
    info.user = e;
    info.pcontext = &e->lws; /* lws NULLs it when the context is completely destroyed */
    info.foreign_loops = foreign;
    info.options =
        LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    /* also for an https JWKS (jwks_http.c); not always: it costs ~1.5 MiB of RSS */
    if (tls || (e->cfg->jwt.jwks && strncmp(e->cfg->jwt.jwks, "https://", 8) == 0))
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.count_threads = 1;
    info.max_http_header_data = RT_JWT_MAX_TOKEN + 2048; /* tokens ride in headers */
    info.timeout_secs = 10;
    info.retry_and_idle_policy = &no_validity;
    if (tls) {
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
    int bound = port;
    if (tls) {
        bound = lws_get_vhost_listen_port(vh);
    } else {
        int rc = edge_listener_open(&e->listener, e, vh, host, port);
        if (rc)
            return rc;
        bound = edge_listener_port(e->listener);
    }
    snprintf(e->url, sizeof(e->url), "%s://%s:%d", info.ssl_cert_filepath ? "https" : "http", host,
             bound);
    return 0;
}

static int build(struct edge *e)
{
    int rc = edge_auth_open(&e->auth, e->cfg, e->metrics);
    if (rc)
        return rc;
    rc = start_lws(e);
    if (rc)
        return rc;
    edge_auth_start(e->auth, e->lws);
    struct rt_rconn_opts ro = {.url = e->cfg->common.redis_url,
                               .client_name = "rt-edge",
                               .connect_timeout_ms = 2000,
                               .ping_interval_ms = 3000,
                               .backoff_min_ms = 100,
                               .backoff_max_ms = 3000,
                               .on_state = on_cmd_state,
                               .arg = e};
    rc = rt_rconn_open(&e->cmd, &e->rloop, &ro);
    if (rc)
        return rc;
    e->subs = edge_subs_new(e);
    e->liveness = edge_liveness_new(e);
    return 0;
}

int main(int argc, char **argv)
{
    struct edge_config cfg = {0};
    static struct edge e;
    e.cfg = &cfg;
    int rc = edge_config_load(&cfg, argc, argv);
    if (rc) {
        edge_config_free(&cfg);
        return rc == RT_CFG_EXIT_OK ? 0 : 2;
    }
    rt_log_init("rt-edge", cfg.common.log_level, cfg.common.log_format);
    lws_set_log_level(LLL_ERR | LLL_WARN |
                          (cfg.common.log_level == RT_LOG_DEBUG ? LLL_NOTICE | LLL_INFO : 0),
                      on_lws_log);
    signal(SIGPIPE, SIG_IGN);
    if (cfg.instance_id) {
        snprintf(e.instance_id, sizeof(e.instance_id), "%s", cfg.instance_id);
    } else {
        char host[64] = "edge";
        gethostname(host, sizeof(host) - 1);
        snprintf(e.instance_id, sizeof(e.instance_id), "%s-%d", host, (int)getpid());
    }

    uv_loop_init(&e.loop);
    rt_loop_uv_init(&e.rloop, &e.loop);
    e.metrics = rt_metrics_new();
    edge_stats_init(&e.stats, e.metrics);
    e.users = rt_hmap_new();
    e.probes = (struct rt_probes){
        .component = "rt-edge", .ready = is_ready, .arg = &e, .metrics = e.metrics};
    uv_signal_init(&e.loop, &sigterm);
    uv_signal_init(&e.loop, &sigint);
    sigterm.data = sigint.data = &e;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_timer_init(&e.loop, &e.sweep);
    uv_timer_init(&e.loop, &e.drain_deadline);
    e.sweep.data = &e;
    uv_timer_start(&e.sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_check_init(&e.loop, &e.flush);
    e.flush.data = &e;
    uv_check_start(&e.flush, on_flush);

    rc = build(&e);
    if (rc == 0) {
        RT_INFO("process.ready", "ready", RT_LF_STR("url", e.url), RT_LF_STR("ws", "/ws"),
                RT_LF_STR("instance", e.instance_id), RT_LF_STR("healthz", "/healthz"),
                RT_LF_STR("readyz", "/readyz"), RT_LF_STR("metrics", "/metrics"));
        uv_run(&e.loop, UV_RUN_DEFAULT);
    }

    /* tear down in reverse: sessions first (they release subscriptions), then Redis (pending
     * callbacks run with NULL replies), then the channel registry; libuv handles close on the
     * last loop run */
    edge_liveness_free(e.liveness);
    edge_listener_close(e.listener);
    if (e.lws)
        lws_context_destroy(e.lws);
    rt_rconn_free(e.cmd);
    edge_subs_free(e.subs);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&e.sweep, NULL);
    uv_close((uv_handle_t *)&e.flush, NULL);
    uv_close((uv_handle_t *)&e.drain_deadline, NULL);
    for (int i = 0; i < 100 && uv_run(&e.loop, UV_RUN_DEFAULT); i++)
        ; /* a uv_stop left from the drain ends a run early */
    if (e.lws) {
        lws_context_destroy(e.lws); /* on a foreign loop lws finishes with a second call */
        uv_run(&e.loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&e.loop))
        RT_WARN("process.loop_busy", "event loop still had handles at exit");
    edge_listener_free(e.listener);
    edge_auth_free(e.auth);
    rt_hmap_free(e.users);
    rt_metrics_free(e.metrics);
    edge_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc));
    return rc == RT_ECONFIG ? 2 : rc ? 1 : 0;
}
