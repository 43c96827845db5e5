/* dk_redis.h - Redis through hiredis: a sync connection for tools and worker threads,
 * and an async client on libevent for servers.
 *
 * hiredis 0.14 has no command timeouts; dk_aredis adds them: every command has a
 * deadline and its callback runs exactly once, with the reply or with an error
 * (DK_ETIMEOUT, DK_EIO). The async client reconnects by itself; it belongs to the
 * event loop (thread) that created it. Connect to IP addresses, not host names. */
#ifndef DK_REDIS_H
#define DK_REDIS_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include "dk_config.h"
#include "dk_err.h"

/* Sync: redis_host / redis_port / redis_timeout_ms from cfg. */
redisContext *dk_redis_connect(const dk_config *cfg, dk_error *err);
/* Runs one command; returns the reply (freeReplyObject) or NULL with err set,
 * including for REDIS_REPLY_ERROR replies (message copied into err). */
redisReply *dk_redis_cmd(redisContext *c, dk_error *err, const char *fmt, ...);
redisReply *dk_redis_cmdargv(redisContext *c, int argc, const char **argv, const size_t *argvlen,
                             dk_error *err);

typedef struct dk_aredis dk_aredis;
/* reply is NULL when err->code != 0; it is freed by hiredis after the callback. A
 * Redis error reply is passed as reply->type == REDIS_REPLY_ERROR with code 0. */
typedef void (*dk_aredis_cb)(redisReply *reply, const dk_error *err, void *arg);

dk_aredis *dk_aredis_new(struct event_base *base, const dk_config *cfg);
void dk_aredis_free(dk_aredis *r); /* fails pending commands with DK_EIO; not from a callback */
int dk_aredis_connected(const dk_aredis *r);
/* Sends one command; cb runs exactly once (possibly before this returns, if the
 * client is not connected). timeout_ms <= 0 means the configured default. */
void dk_aredis_cmdargv(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg, int argc,
                       const char **argv, const size_t *argvlen);
void dk_aredis_cmd(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg, const char *fmt,
                   ...);

#endif
