/* dk_metrics.h - lock-free latency histograms and the Prometheus text rendering.
 * Observations may come from any thread (atomics); rendering reads without locks. */
#ifndef DK_METRICS_H
#define DK_METRICS_H

#include <event2/buffer.h>
#include <stdatomic.h>
#include <stddef.h>

#define DK_HIST_BUCKETS 14 /* upper bounds in dk_metrics.c, 0.5 ms .. 10 s, then +Inf */

typedef struct dk_hist {
    _Atomic unsigned long long bucket[DK_HIST_BUCKETS + 1];
    _Atomic unsigned long long count;
    _Atomic unsigned long long sum_us;
} dk_hist;

void dk_hist_observe(dk_hist *h, long long micros);
/* Appends name_bucket{labels,le=...}, name_sum and name_count lines. labels may be "". */
void dk_hist_render(struct evbuffer *out, const char *name, const char *labels, dk_hist *h);
/* The "le" label of bucket i (0..DK_HIST_BUCKETS) as rendered: "0.0005" .. "10", "+Inf". */
void dk_hist_le(int i, char *out, size_t n);
/* Value at quantile q (0..1) estimated from the buckets, in microseconds. */
double dk_hist_quantile(dk_hist *h, double q);

#endif
