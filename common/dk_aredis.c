/* dk_aredis.c - an async Redis client on libevent with a deadline on every command.
 *
 * hiredis 0.14 has no command timeouts, so each command is tracked in a list in send
 * order; a timer fails commands whose deadline passed (DK_ETIMEOUT) and hiredis's late
 * reply is then dropped. If the oldest command stays unanswered well past its deadline
 * the connection is taken as wedged and dropped. Every callback runs exactly once, on
 * the loop's thread, never synchronously inside dk_aredis_cmd*. The client reconnects
 * with a back-off after any disconnect. One client belongs to one event loop. */
#include "dk_redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"

typedef struct pending {
    struct pending *prev, *next;
    dk_aredis *r;
    dk_aredis_cb cb;
    void *arg;
    long long deadline_ms;
    int done; /* the user's callback already ran (timeout) */
} pending;

struct dk_aredis {
    struct event_base *base;
    redisAsyncContext *ac;
    int connected;
    int freeing;
    char host[64];
    int port;
    int timeout_ms;
    int backoff_ms;
    pending *head, *tail;
    struct event *timer;
    struct event *reconnect;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlink_pending(dk_aredis *r, pending *p)
{
    if (p->prev) p->prev->next = p->next;
    else r->head = p->next;
    if (p->next) p->next->prev = p->prev;
    else r->tail = p->prev;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    pending *p = privdata;
    dk_aredis *r = p->r;
    unlink_pending(r, p);
    if (!p->done) {
        p->done = 1;
        dk_error e = {0};
        if (!reply) dk_error_set(&e, DK_EIO, "redis connection lost");
        p->cb(reply, &e, p->arg);
    }
    free(p);
}

/* A failure delivered later from the loop, so that callbacks never run inside the
 * call that issued the command. */
typedef struct {
    dk_aredis_cb cb;
    void *arg;
    int code;
} deferred;

static void run_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    deferred *d = arg;
    dk_error e;
    dk_error_set(&e, d->code, d->code == DK_EIO ? "redis not connected" : "redis command failed");
    d->cb(NULL, &e, d->arg);
    free(d);
}

static void fail_later(dk_aredis *r, dk_aredis_cb cb, void *arg, int code)
{
    deferred *d = dk_malloc(sizeof *d);
    *d = (deferred){cb, arg, code};
    if (event_base_once(r->base, -1, EV_TIMEOUT, run_deferred, d, NULL) != 0) {
        DK_ERROR("redis", "event_base_once failed; answering inline");
        run_deferred(-1, 0, d);
    }
}

static void schedule_reconnect(dk_aredis *r)
{
    if (r->freeing) return;
    struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
    evtimer_add(r->reconnect, &tv);
    r->backoff_ms = r->backoff_ms * 2 > 2000 ? 2000 : r->backoff_ms * 2;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    dk_aredis *r = ac->data;
    if (status != REDIS_OK) {
        DK_WARN("redis", "connect failed host=%s port=%d err=%s", r->host, r->port, ac->errstr);
        r->ac = NULL; /* hiredis frees it */
        r->connected = 0;
        schedule_reconnect(r);
        return;
    }
    r->connected = 1;
    r->backoff_ms = 100;
    DK_DEBUG("redis", "connected host=%s port=%d", r->host, r->port);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    dk_aredis *r = ac->data;
    if (status != REDIS_OK && !r->freeing)
        DK_WARN("redis", "disconnected host=%s port=%d err=%s", r->host, r->port, ac->errstr);
    r->ac = NULL;
    r->connected = 0;
    schedule_reconnect(r);
}

static void do_connect(dk_aredis *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        DK_WARN("redis", "connect failed host=%s port=%d err=%s", r->host, r->port,
                ac ? ac->errstr : "oom");
        if (ac) redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_aredis *r = arg;
    if (!r->ac) do_connect(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_aredis *r = arg;
    long long now = now_ms();
    for (pending *p = r->head; p; p = p->next) {
        if (p->done || p->deadline_ms > now) continue;
        p->done = 1;
        dk_error e;
        dk_error_set(&e, DK_ETIMEOUT, "redis command timed out");
        p->cb(NULL, &e, p->arg);
    }
    /* The oldest command unanswered for a whole extra timeout: the link is wedged. */
    if (r->head && r->head->done && r->ac && now > r->head->deadline_ms + r->timeout_ms) {
        DK_WARN("redis", "connection wedged, dropping it host=%s port=%d", r->host, r->port);
        redisAsyncDisconnect(r->ac);
    }
}

dk_aredis *dk_aredis_new(struct event_base *base, const dk_config *cfg)
{
    dk_aredis *r = dk_calloc(1, sizeof *r);
    r->base = base;
    snprintf(r->host, sizeof r->host, "%s", dk_config_str(cfg, "redis_host"));
    r->port = (int)dk_config_int(cfg, "redis_port");
    r->timeout_ms = (int)dk_config_int(cfg, "redis_timeout_ms");
    if (r->timeout_ms <= 0) r->timeout_ms = 1000;
    r->backoff_ms = 100;
    r->timer = event_new(base, -1, EV_PERSIST, on_timer, r);
    r->reconnect = evtimer_new(base, on_reconnect, r);
    struct timeval tick = {0, 25 * 1000};
    evtimer_add(r->timer, &tick);
    do_connect(r);
    return r;
}

void dk_aredis_free(dk_aredis *r)
{
    if (!r) return;
    r->freeing = 1;
    if (r->ac) redisAsyncFree(r->ac); /* answers every pending command with DK_EIO */
    r->ac = NULL;
    event_free(r->timer);
    event_free(r->reconnect);
    free(r);
}

int dk_aredis_connected(const dk_aredis *r) { return r->connected; }

static pending *new_pending(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg)
{
    pending *p = dk_calloc(1, sizeof *p);
    p->r = r;
    p->cb = cb;
    p->arg = arg;
    p->deadline_ms = now_ms() + (timeout_ms > 0 ? timeout_ms : r->timeout_ms);
    p->prev = r->tail;
    if (r->tail) r->tail->next = p;
    else r->head = p;
    r->tail = p;
    return p;
}

void dk_aredis_cmdargv(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg, int argc,
                       const char **argv, const size_t *argvlen)
{
    if (!r->ac) {
        fail_later(r, cb, arg, DK_EIO);
        return;
    }
    pending *p = new_pending(r, timeout_ms, cb, arg);
    if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
        unlink_pending(r, p);
        free(p);
        fail_later(r, cb, arg, DK_EIO);
    }
}

void dk_aredis_cmd(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg, const char *fmt,
                   ...)
{
    if (!r->ac) {
        fail_later(r, cb, arg, DK_EIO);
        return;
    }
    pending *p = new_pending(r, timeout_ms, cb, arg);
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, on_reply, p, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        unlink_pending(r, p);
        free(p);
        fail_later(r, cb, arg, DK_EIO);
    }
}
