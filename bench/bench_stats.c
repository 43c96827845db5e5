/* bench_stats.c - the latency histogram, the names of routes, phases and transport
 * failures, the clock and the per-thread random numbers. The histogram is log-linear
 * (HDR-like): exact below 128 us, then 64 buckets per power of two, so a percentile is
 * within 1.6% of the true value. Not thread-safe: one per thread, merged afterwards. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "bench_internal.h"

const char *const bench_route_names[R_NROUTES] = {"login",         "tests",  "camera_check",
                                                  "session_start", "resume", "answer",
                                                  "capture",       "submit", "departure",
                                                  "bare"};
const char *const bench_phase_names[P_NPHASES] = {"setup",      "start",  "bare",
                                                  "saturation", "steady", "finish"};
const char *const bench_terr_names[T_NTERR] = {"none", "connect", "timeout", "reset",
                                               "bad_response"};

static int bucket_of(uint64_t v)
{
    if (v < 128) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 6;
    int i = shift * 64 + (int)(v >> shift);
    return i < BENCH_HIST_N ? i : BENCH_HIST_N - 1;
}

static uint64_t bucket_top(int i)
{
    if (i < 128) return (uint64_t)i;
    int shift = i / 64 - 1;
    uint64_t m = (uint64_t)(i - shift * 64);
    return ((m + 1) << shift) - 1;
}

void bench_hist_add(bench_hist *h, uint64_t us)
{
    h->b[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us) h->max_us = us;
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
    for (int i = 0; i < BENCH_HIST_N; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us) dst->max_us = src->max_us;
}

uint64_t bench_hist_pct(const bench_hist *h, double q)
{
    if (!h->count) return 0;
    uint64_t target = (uint64_t)(q * (double)h->count + 0.999999);
    if (target < 1) target = 1;
    uint64_t cum = 0;
    for (int i = 0; i < BENCH_HIST_N; i++) {
        cum += h->b[i];
        if (cum >= target) {
            uint64_t top = bucket_top(i);
            return top < h->max_us ? top : h->max_us;
        }
    }
    return h->max_us;
}

long long bench_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint32_t bench_rand(uint32_t *s) /* xorshift32 */
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

double bench_unif(uint32_t *s)
{
    return (double)(bench_rand(s) >> 8) / (double)(1u << 24);
}
