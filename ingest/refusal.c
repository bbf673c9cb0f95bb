#include "refusal.h"

#include "rt/httpd_event.h"
#include "rt/metrics.h"

#include <event2/http.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void ingest_refuse(struct evhttp_request *req, struct rt_metrics *m, const char *source,
                   const char *provider, int status, const char *reason, const char *message,
                   unsigned retry_after)
{
    char labels[240], l1[64], l2[64], l3[96];
    rt_metrics_label(l1, sizeof(l1), "source", source);
    rt_metrics_label(l2, sizeof(l2), "provider", provider);
    rt_metrics_label(l3, sizeof(l3), "reason", reason);
    snprintf(labels, sizeof(labels), "%s,%s,%s", l1, l2, l3);
    rt_metric_inc(rt_metrics_get(m, RT_METRIC_COUNTER, "rt_ingest_rejects_total",
                                 "requests refused by rt-ingest, by route, provider and reason",
                                 labels, NULL, 0));
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (retry_after) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", retry_after);
        evhttp_add_header(h, "Retry-After", ra);
    }
    if (status == 401 && strcmp(source, "publish") == 0)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer");
    rt_httpd_reply_error(req, status, reason, message);
}

double ingest_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
