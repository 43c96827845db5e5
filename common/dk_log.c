/* dk_log.c - one-line logs to stderr, and the allocation wrappers that abort on OOM.
 * A line is built in a local buffer and written with one fwrite, so lines from
 * several threads never interleave. */
#include "dk_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dk_err.h"

static _Atomic int log_level = DK_LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void dk_log_set_level(dk_log_level lvl) { log_level = (int)lvl; }

int dk_log_parse_level(const char *name, dk_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (dk_log_level)i;
            return 0;
        }
    return DK_EINVAL;
}

void dk_log(dk_log_level lvl, const char *module, const char *fmt, ...)
{
    if ((int)lvl < log_level) return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], module);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void dk_mask_id(const char *id, char *out, size_t outsz)
{
    if (!outsz) return;
    size_t n = id ? strlen(id) : 0;
    if (n <= 6) {
        snprintf(out, outsz, "%s", n ? "******" : "");
        return;
    }
    snprintf(out, outsz, "%.4s*****%s", id, id + n - 2);
}

static void oom(size_t n)
{
    fprintf(stderr, "dingkao: out of memory allocating %zu bytes\n", n);
    abort();
}

void *dk_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *dk_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *dk_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *dk_strdup(const char *s) { return dk_strndup(s, strlen(s)); }

char *dk_strndup(const char *s, size_t n)
{
    char *p = dk_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t dk_fmt_ll(char *out, long long v)
{
    char tmp[20];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    size_t n = 0, len = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}
