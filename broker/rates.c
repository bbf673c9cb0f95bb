#include "rates.h"

#include <string.h>

const unsigned health_rate_window_minutes[HEALTH_RATE_WINDOWS] = {5, 15, 60};

static const char *const names[HEALTH_OUTCOME_COUNT] = {
    "completed", "busy", "no_answer", "canceled", "rejected", "failed", "timed_out",
};

const char *health_outcome_name(enum health_outcome o)
{
    return (unsigned)o < HEALTH_OUTCOME_COUNT ? names[o] : NULL;
}

int health_outcome_parse(const char *name)
{
    for (int i = 0; i < HEALTH_OUTCOME_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void health_rates_window(const long long (*buckets)[HEALTH_OUTCOME_COUNT], size_t nbuckets,
                         unsigned minutes, struct health_window *out)
{
    long long sum[HEALTH_OUTCOME_COUNT] = {0};
    memset(out, 0, sizeof(*out));
    out->minutes = minutes;
    for (size_t i = 0; i < nbuckets && i < minutes; i++)
        for (int o = 0; o < HEALTH_OUTCOME_COUNT; o++)
            sum[o] += buckets[i][o];
    for (int o = 0; o < HEALTH_OUTCOME_COUNT; o++) {
        /* a replaced timeout decrements a bucket; never let a window go below zero */
        if (sum[o] < 0)
            sum[o] = 0;
        out->terminal += sum[o];
    }
    out->completed = sum[HEALTH_OUTCOME_COMPLETED];
    out->unanswered = sum[HEALTH_OUTCOME_BUSY] + sum[HEALTH_OUTCOME_NO_ANSWER] +
                      sum[HEALTH_OUTCOME_CANCELED] + sum[HEALTH_OUTCOME_REJECTED];
    out->timed_out = sum[HEALTH_OUTCOME_TIMED_OUT];
    out->failed = sum[HEALTH_OUTCOME_FAILED] + out->timed_out;
    if (out->terminal > 0) {
        out->failure_rate = (double)out->failed / (double)out->terminal;
        out->unanswered_rate = (double)out->unanswered / (double)out->terminal;
        out->answer_rate = (double)out->completed / (double)out->terminal;
    }
}
