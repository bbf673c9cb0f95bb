/* Failure, unanswered and answer rates over sliding windows of per-minute outcome counters
 * (spec/webhooks.md "What rt-health counts"). Pure: the counters come from Redis. */
#ifndef HEALTH_RATES_H
#define HEALTH_RATES_H

#include <stddef.h>

/* Terminal outcomes; the order is the one of the counters returned by the report script. */
enum health_outcome {
    HEALTH_OUTCOME_COMPLETED,
    HEALTH_OUTCOME_BUSY,
    HEALTH_OUTCOME_NO_ANSWER,
    HEALTH_OUTCOME_CANCELED,
    HEALTH_OUTCOME_REJECTED,
    HEALTH_OUTCOME_FAILED,
    HEALTH_OUTCOME_TIMED_OUT,
    HEALTH_OUTCOME_COUNT,
};

#define HEALTH_RATE_MINUTES 60 /* longest window; buckets kept and read */
#define HEALTH_RATE_WINDOWS 3  /* 5, 15 and 60 minutes */

extern const unsigned health_rate_window_minutes[HEALTH_RATE_WINDOWS];

/* Wire name of an outcome ("no_answer"); NULL for out of range. */
const char *health_outcome_name(enum health_outcome o);
/* Parses a wire name; returns the outcome or -1. */
int health_outcome_parse(const char *name);

struct health_window {
    unsigned minutes;
    long long terminal, completed, unanswered, failed; /* failed includes timed_out */
    long long timed_out;
    double failure_rate, unanswered_rate, answer_rate; /* 0 when terminal is 0 */
};

/* buckets[i] holds the counts of the minute now_minute - i (i = 0 is the current, partial
 * minute). A window of n minutes sums buckets 0..n-1. */
void health_rates_window(const long long (*buckets)[HEALTH_OUTCOME_COUNT], size_t nbuckets,
                         unsigned minutes, struct health_window *out);

#endif
