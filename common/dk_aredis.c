/* dk_aredis.c - an async Redis client on libevent with a deadline on every command.
 *
 * hiredis 0.14 has no command timeouts, so each command is tracked in a list in send
 * order; a timer fails commands whose deadline passed (DK_ETIMEOUT) and hiredis's late
 * reply is then dropped. If the oldest command stays unanswered well past its deadline
 * the connection is taken as wedged and dropped. Every callback runs exactly once, on
 * the loop's thread, never synchronously inside dk_aredis_cmd*. The client reconnects
 * with a back-off after any disconnect. One client belongs to one event loop.
 * Under Sentinel (dk_sentinel.h) the client connects to the primary the Sentinels name and
 * leaves a connection when the primary moves, when a reply says -READONLY (a demoted
 * primary) or when AUTH (redis_password) is refused.
 * Scripts go as EVALSHA; a NOSCRIPT reply sends the kept command again as EVAL (see
 * dk_aredis_evalsha below), under the first command's deadline. */
#include "dk_redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"
#include "dk_redis_internal.h"
#include "dk_sentinel.h"

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
    const dk_config *cfg;
    redisAsyncContext *ac;
    int connected;
    int freeing;
    int follow;   /* Sentinels name the primary */
    int stale;    /* this connection must go: -READONLY, AUTH refused */
    unsigned gen; /* of the primary the connection was made to */
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
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR && rep->str && strstr(rep->str, "READONLY") &&
        !r->stale) {
        DK_WARN("redis", "host=%s port=%d is a replica now; asking where the primary is",
                r->host, r->port);
        r->stale = 1;
        dk_redis_primary_suspect();
    }
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
        dk_redis_primary_suspect();
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
    if (status != REDIS_OK && !r->freeing) {
        DK_WARN("redis", "disconnected host=%s port=%d err=%s", r->host, r->port, ac->errstr);
        dk_redis_primary_suspect();
    }
    r->ac = NULL;
    r->connected = 0;
    schedule_reconnect(r);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    dk_aredis *r = privdata;
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        DK_ERROR("redis", "AUTH refused host=%s port=%d: %s", r->host, r->port, rep->str);
        r->stale = 1;
    }
}

static void do_connect(dk_aredis *r)
{
    dk_redis_addr at; /* the primary now (never waits once the process has asked once) */
    dk_redis_primary(r->cfg, &at);
    snprintf(r->host, sizeof r->host, "%s", at.host);
    r->port = at.port;
    r->gen = at.gen;
    r->stale = 0;
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
    const char *pw = dk_config_str(r->cfg, "redis_password");
    if (*pw) redisAsyncCommand(ac, on_auth, r, "AUTH %s", pw); /* first on the wire */
}

/* Leaves the connection now: every command in flight is answered with DK_EIO, and a new
 * connection follows after the back-off. (redisAsyncDisconnect would wait for replies
 * that a wedged or dead server never sends.) Not from inside a hiredis callback. */
static void drop(dk_aredis *r)
{
    redisAsyncContext *ac = r->ac;
    redisAsyncFree(ac); /* runs on_disconnect when it was connected */
    if (r->ac == ac) {
        r->ac = NULL;
        r->connected = 0;
        schedule_reconnect(r);
    }
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
        drop(r);
    } else if (r->ac && (r->stale || (r->follow && dk_redis_primary_gen() != r->gen))) {
        DK_WARN("redis", "leaving host=%s port=%d: %s", r->host, r->port,
                r->stale ? "not the primary, or AUTH refused" : "the primary moved");
        drop(r);
    }
}

dk_aredis *dk_aredis_new(struct event_base *base, const dk_config *cfg)
{
    dk_aredis *r = dk_calloc(1, sizeof *r);
    r->base = base;
    r->cfg = cfg;
    r->follow = *dk_config_str(cfg, "redis_sentinels") != '\0';
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

static pending *new_pending_at(dk_aredis *r, long long deadline_ms, dk_aredis_cb cb, void *arg)
{
    pending *p = dk_calloc(1, sizeof *p);
    p->r = r;
    p->cb = cb;
    p->arg = arg;
    p->deadline_ms = deadline_ms;
    p->prev = r->tail;
    if (r->tail) r->tail->next = p;
    else r->head = p;
    r->tail = p;
    return p;
}

static pending *new_pending(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg)
{
    return new_pending_at(r, now_ms() + (timeout_ms > 0 ? timeout_ms : r->timeout_ms), cb, arg);
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

/* ---- scripts ------------------------------------------------------------------------ */

/* One script call: the EVALSHA command as sent (RESP), kept until the reply in case it
 * has to go again as EVAL; the arguments after the SHA-1 are the same in both. */
typedef struct script_call {
    dk_aredis *r;
    dk_script *s;
    dk_aredis_cb cb;
    void *arg;
    long long deadline_ms; /* of the first command; the EVAL gets no new one */
    int nargs;             /* of the whole command */
    int retried;
    char *cmd;
    size_t len, tail; /* cmd + tail: numkeys, keys, arguments */
} script_call;

#define BULK_OVERHEAD 25 /* "$" <20 digits> "\r\n" ... "\r\n" */

/* "$<n>\r\n<bytes>\r\n"; out has room for n + BULK_OVERHEAD bytes */
static size_t put_bulk(char *out, const char *b, size_t n)
{
    out[0] = '$';
    size_t h = 1 + dk_fmt_ll(out + 1, (long long)n);
    memcpy(out + h, "\r\n", 2);
    h += 2;
    memcpy(out + h, b, n);
    memcpy(out + h + n, "\r\n", 2);
    return h + n + 2;
}

/* "*<n>\r\n", the count of a command's arguments */
static size_t put_count(char *out, int n)
{
    out[0] = '*';
    size_t h = 1 + dk_fmt_ll(out + 1, n);
    memcpy(out + h, "\r\n", 2);
    return h + 2;
}

static void on_script_reply(redisReply *reply, const dk_error *e, void *arg);

/* Queues the command with the call's deadline; 0, or -1 when hiredis refuses it. cmd is
 * NUL-terminated past len: hiredis reads the verb with strchr. */
static int send_cmd(script_call *sc, const char *cmd, size_t len)
{
    dk_aredis *r = sc->r;
    if (!r->ac) return -1;
    pending *p = new_pending_at(r, sc->deadline_ms, on_script_reply, sc);
    if (redisAsyncFormattedCommand(r->ac, on_reply, p, cmd, len) != REDIS_OK) {
        unlink_pending(r, p);
        free(p);
        return -1;
    }
    return 0;
}

/* The same call as EVAL <text>: the kept command with its first two arguments replaced. */
static int send_as_eval(script_call *sc)
{
    size_t tlen = strlen(sc->s->text), rest = sc->len - sc->tail;
    char *cmd = dk_malloc(16 + 2 * BULK_OVERHEAD + 4 + tlen + rest + 1);
    size_t n = put_count(cmd, sc->nargs);
    n += put_bulk(cmd + n, "EVAL", 4);
    n += put_bulk(cmd + n, sc->s->text, tlen);
    memcpy(cmd + n, sc->cmd + sc->tail, rest);
    cmd[n + rest] = '\0';
    int rc = send_cmd(sc, cmd, n + rest); /* hiredis copies it */
    free(cmd);
    return rc;
}

static void script_done(script_call *sc, redisReply *reply, const dk_error *e)
{
    sc->cb(reply, e, sc->arg);
    free(sc->cmd);
    free(sc);
}

/* The reply to the EVALSHA, or to the EVAL sent after its NOSCRIPT (or the timer's or
 * the connection's error for either). Each command sent answers here once, and the EVAL
 * is sent at most once, only while the first command was unanswered: so the caller
 * hears exactly once. */
static void on_script_reply(redisReply *reply, const dk_error *e, void *arg)
{
    script_call *sc = arg;
    if (e->code || sc->retried || !dk_redis_noscript(reply, sc->s)) {
        script_done(sc, reply, e);
        return;
    }
    sc->retried = 1;
    dk_error fail = {0};
    if (now_ms() >= sc->deadline_ms) dk_error_set(&fail, DK_ETIMEOUT, "redis command timed out");
    else if (send_as_eval(sc) != 0) dk_error_set(&fail, DK_EIO, "redis connection lost");
    else return; /* on_script_reply runs again with the EVAL's reply */
    script_done(sc, NULL, &fail); /* inside hiredis's reply callback, not the caller's call */
}

void dk_aredis_evalsha(dk_aredis *r, int timeout_ms, dk_aredis_cb cb, void *arg, dk_script *s,
                       int argc, const char **argv, const size_t *argvlen)
{
    if (!r->ac) {
        fail_later(r, cb, arg, DK_EIO);
        return;
    }
    size_t size = 16 + 2 * BULK_OVERHEAD + 7 + DK_SHA1_HEX_LEN + 1;
    for (int i = 0; i < argc; i++)
        size += BULK_OVERHEAD + (argvlen ? argvlen[i] : strlen(argv[i]));
    script_call *sc = dk_malloc(sizeof *sc);
    *sc = (script_call){.r = r, .s = s, .cb = cb, .arg = arg, .nargs = argc + 2,
                        .deadline_ms = now_ms() + (timeout_ms > 0 ? timeout_ms : r->timeout_ms),
                        .cmd = dk_malloc(size)};
    size_t n = put_count(sc->cmd, sc->nargs);
    n += put_bulk(sc->cmd + n, "EVALSHA", 7);
    n += put_bulk(sc->cmd + n, dk_script_sha1(s), DK_SHA1_HEX_LEN - 1);
    sc->tail = n;
    for (int i = 0; i < argc; i++)
        n += put_bulk(sc->cmd + n, argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
    sc->cmd[n] = '\0';
    sc->len = n;
    if (send_cmd(sc, sc->cmd, sc->len) != 0) {
        free(sc->cmd);
        free(sc);
        fail_later(r, cb, arg, DK_EIO);
    }
}
