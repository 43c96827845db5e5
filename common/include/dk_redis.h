/* dk_redis.h - Redis through hiredis: a sync connection for tools and worker threads,
 * and an async client on libevent for servers; both run Lua scripts by SHA-1.
 *
 * hiredis 0.14 has no command timeouts; dk_aredis adds them: every command has a
 * deadline and its callback runs exactly once, with the reply or with an error
 * (DK_ETIMEOUT, DK_EIO). The async client reconnects by itself; it belongs to the
 * event loop (thread) that created it. Connect to IP addresses, not host names. */
#ifndef DK_REDIS_H
#define DK_REDIS_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include "dk_config.h"
#include "dk_err.h"
#include "dk_sha1.h"

/* A Lua script, declared once and statically:
 *     static dk_script lua_x = DK_SCRIPT("return redis.call('GET', KEYS[1])");
 * Calls send EVALSHA <sha1>, so the text crosses the network only when Redis lacks it:
 * on a NOSCRIPT reply (Redis restarted, SCRIPT FLUSH, failover to a server that never
 * ran it) the same call goes once more as EVAL <text>, which also loads the script, and
 * the caller gets that second reply: one reply either way. The SHA-1 is computed on
 * first use, once, from any thread. */
typedef struct dk_script {
    const char *text;
    atomic_int ready;
    char sha1[DK_SHA1_HEX_LEN];
} dk_script;
#define DK_SCRIPT(lua) {.text = (lua)}

const char *dk_script_sha1(dk_script *s); /* lower-case hex, as SCRIPT LOAD returns it */
/* NOSCRIPT fallbacks since the start, sync and async together (for /metrics). */
unsigned long long dk_redis_script_reloads(void);

/* Sync: redis_host / redis_port / redis_timeout_ms from cfg. */
redisContext *dk_redis_connect(const dk_config *cfg, dk_error *err);
/* Runs one command; returns the reply (freeReplyObject) or NULL with err set,
 * including for REDIS_REPLY_ERROR replies (message copied into err). */
redisReply *dk_redis_cmd(redisContext *c, dk_error *err, const char *fmt, ...);
redisReply *dk_redis_cmdargv(redisContext *c, int argc, const char **argv, const size_t *argvlen,
                             dk_error *err);
/* Runs a script: argv is what follows the script in EVAL (numkeys, the keys, the
 * arguments); argvlen NULL means NUL-terminated strings. Errors as dk_redis_cmd. */
redisReply *dk_redis_evalsha(redisContext *c, dk_script *s, int argc, const char **argv,
                             const size_t *argvlen, dk_error *err);

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
/* Runs a script, argv as dk_redis_evalsha. The EVAL after a NOSCRIPT shares the first
 * command's deadline, and cb still runs exactly once. */
void dk_aredis_evalsha(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg, dk_script *s,
                       int argc, const char **argv, const size_t *argvlen);

#endif
