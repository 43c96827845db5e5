/* dk_metrics.c - histogram buckets and their Prometheus rendering. */
#include "dk_metrics.h"

#include <stdio.h>

static const long long bounds_us[DK_HIST_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000};

void dk_hist_observe(dk_hist *h, long long us)
{
    int i = 0;
    while (i < DK_HIST_BUCKETS && us > bounds_us[i]) i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us > 0 ? (unsigned long long)us : 0,
                              memory_order_relaxed);
}

void dk_hist_le(int i, char *out, size_t n)
{
    if (i >= 0 && i < DK_HIST_BUCKETS) snprintf(out, n, "%g", (double)bounds_us[i] / 1e6);
    else snprintf(out, n, "+Inf");
}

void dk_hist_render(struct evbuffer *out, const char *name, const char *labels, dk_hist *h)
{
    unsigned long long cum = 0;
    const char *sep = labels && *labels ? "," : "";
    labels = labels ? labels : "";
    for (int i = 0; i <= DK_HIST_BUCKETS; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        char le[24];
        dk_hist_le(i, le, sizeof le);
        evbuffer_add_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, le, cum);
    }
    evbuffer_add_printf(out, "%s_sum{%s} %g\n", name, labels,
                        (double)atomic_load(&h->sum_us) / 1e6);
    evbuffer_add_printf(out, "%s_count{%s} %llu\n", name, labels, atomic_load(&h->count));
}

double dk_hist_quantile(dk_hist *h, double q)
{
    unsigned long long total = atomic_load(&h->count), cum = 0;
    if (!total) return 0;
    double target = q * (double)total;
    for (int i = 0; i <= DK_HIST_BUCKETS; i++) {
        unsigned long long b = atomic_load(&h->bucket[i]);
        if ((double)(cum + b) >= target) {
            double lo = i ? (double)bounds_us[i - 1] : 0;
            double hi = i < DK_HIST_BUCKETS ? (double)bounds_us[i] : lo * 2;
            return b ? lo + (hi - lo) * (target - (double)cum) / (double)b : hi;
        }
        cum += b;
    }
    return (double)bounds_us[DK_HIST_BUCKETS - 1];
}
