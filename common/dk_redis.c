/* dk_redis.c - the synchronous Redis connection, for tools, tests and worker threads,
 * and what both clients share about scripts (their SHA-1, the NOSCRIPT count). Servers
 * use dk_aredis.c on their event loops instead. */
#include "dk_redis.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"
#include "dk_redis_internal.h"
#include "dk_sentinel.h"

static struct timeval ms_tv(long long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

redisContext *dk_redis_connect(const dk_config *cfg, dk_error *err)
{
    struct timeval tv = ms_tv(dk_config_int(cfg, "redis_timeout_ms"));
    dk_redis_addr at;
    dk_redis_primary(cfg, &at);
    redisContext *c = redisConnectWithTimeout(at.host, at.port, tv);
    if (!c || c->err) {
        dk_error_set(err, DK_EIO, "redis connect %s:%d: %s", at.host, at.port,
                     c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        dk_redis_primary_suspect();
        return NULL;
    }
    redisSetTimeout(c, tv);
    const char *pw = dk_config_str(cfg, "redis_password");
    if (*pw) {
        redisReply *r = redisCommand(c, "AUTH %s", pw);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            dk_error_set(err, DK_EIO, "redis AUTH at %s:%d refused: %s", at.host, at.port,
                         r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        if (r) freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

static redisReply *check(redisContext *c, redisReply *r, dk_error *err)
{
    if (!r) {
        dk_error_set(err, DK_EIO, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        dk_error_set(err, DK_EIO, "redis: %.*s", (int)r->len, r->str);
        if (strstr(r->str, "READONLY")) {
            /* a demoted primary: mark the connection failed, so that its owner reconnects
             * (to the primary the Sentinels name now) as after a lost link */
            c->err = REDIS_ERR_OTHER;
            snprintf(c->errstr, sizeof c->errstr, "%s", "the server is a read-only replica");
            dk_redis_primary_suspect();
        }
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *dk_redis_cmd(redisContext *c, dk_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return check(c, r, err);
}

redisReply *dk_redis_cmdargv(redisContext *c, int argc, const char **argv, const size_t *argvlen,
                             dk_error *err)
{
    return check(c, redisCommandArgv(c, argc, argv, argvlen), err);
}

/* ---- scripts ------------------------------------------------------------------------ */

static pthread_mutex_t sha_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong reloads;

const char *dk_script_sha1(dk_script *s)
{
    if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
        pthread_mutex_lock(&sha_lock);
        if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
            dk_sha1_hex(s->text, strlen(s->text), s->sha1);
            atomic_store_explicit(&s->ready, 1, memory_order_release);
        }
        pthread_mutex_unlock(&sha_lock);
    }
    return s->sha1;
}

unsigned long long dk_redis_script_reloads(void) { return atomic_load(&reloads); }

int dk_redis_noscript(const redisReply *r, const dk_script *s)
{
    static atomic_llong logged_s;
    if (!r || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0) return 0;
    unsigned long long n = atomic_fetch_add(&reloads, 1) + 1;
    long long now_s = (long long)time(NULL), last = atomic_load(&logged_s);
    if (now_s > last && atomic_compare_exchange_strong(&logged_s, &last, now_s))
        DK_INFO("redis", "script not in Redis (restarted, flushed or failed over): sending it as "
                         "EVAL sha=%.12s reloads=%llu", s->sha1, n);
    return 1;
}

redisReply *dk_redis_evalsha(redisContext *c, dk_script *s, int argc, const char **argv,
                             const size_t *argvlen, dk_error *err)
{
    size_t n = (size_t)argc + 2;
    const char **v = dk_malloc(n * sizeof *v);
    size_t *l = dk_malloc(n * sizeof *l);
    v[0] = "EVALSHA", l[0] = 7;
    v[1] = dk_script_sha1(s), l[1] = DK_SHA1_HEX_LEN - 1;
    for (int i = 0; i < argc; i++) {
        v[i + 2] = argv[i];
        l[i + 2] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    redisReply *r = redisCommandArgv(c, (int)n, v, l);
    if (dk_redis_noscript(r, s)) {
        freeReplyObject(r);
        v[0] = "EVAL", l[0] = 4;
        v[1] = s->text, l[1] = strlen(s->text);
        r = redisCommandArgv(c, (int)n, v, l);
    }
    free(v);
    free(l);
    return check(c, r, err);
}
