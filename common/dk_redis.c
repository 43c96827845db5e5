/* dk_redis.c - the synchronous Redis connection, for tools, tests and worker threads.
 * Servers use dk_aredis.c on their event loops instead. */
#include "dk_redis.h"

#include <stdarg.h>
#include <string.h>

static struct timeval ms_tv(long long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

redisContext *dk_redis_connect(const dk_config *cfg, dk_error *err)
{
    struct timeval tv = ms_tv(dk_config_int(cfg, "redis_timeout_ms"));
    redisContext *c = redisConnectWithTimeout(dk_config_str(cfg, "redis_host"),
                                              (int)dk_config_int(cfg, "redis_port"), tv);
    if (!c || c->err) {
        dk_error_set(err, DK_EIO, "redis connect %s:%lld: %s", dk_config_str(cfg, "redis_host"),
                     dk_config_int(cfg, "redis_port"), c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
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
