/* dom_limit.c - the fixed-window counters of dom_limit.h: one Lua script (INCR, EXPIRE on
 * the first call of a window, the window's rest when over) and the reply turned into a
 * dk_error for the caller. */
#include "dom_limit.h"

#include <stdio.h>
#include <stdlib.h>

#include "dk_log.h"

/* KEYS: the counter. ARGV: max, window_s. -> {count, ttl_s} */
static dk_script lua_limit_hit = DK_SCRIPT("local n = redis.call('INCR', KEYS[1])\n"
                                           "local ttl = redis.call('TTL', KEYS[1])\n"
                                           "if n == 1 or ttl < 0 then\n"
                                           "  redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
                                           "  ttl = tonumber(ARGV[2])\n"
                                           "end\n"
                                           "return {n, ttl}\n");

void dom_limit_load(dom_limit *l, const dk_config *cfg, const char *name, const char *max_key,
                    const char *window_key, const char *msg)
{
    l->name = name;
    l->max = dk_config_int(cfg, max_key);
    l->window_s = dk_config_int(cfg, window_key);
    if (l->window_s < 1) l->window_s = 1;
    l->msg = msg;
}

void dom_limit_key(const dom_limit *l, long long id, char *out, size_t outsz)
{
    snprintf(out, outsz, "limit:%s:%lld", l->name, id);
}

typedef struct hit {
    const dom_limit *l;
    dom_limit_cb cb;
    void *arg;
} hit;

static void on_hit(redisReply *r, const dk_error *e, void *arg)
{
    hit *h = arg;
    dk_error err = {0};
    int rc = 0;
    if (e->code) {
        err = *e;
        rc = e->code;
    } else if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_INTEGER) {
        rc = dk_error_set(&err, DK_EIO, "rate limit %s: unexpected reply %s", h->l->name,
                          r && r->str ? r->str : "");
    } else if (r->element[0]->integer > h->l->max) {
        long long ttl = r->element[1]->integer > 0 ? r->element[1]->integer : 1;
        rc = dk_error_set(&err, DK_ERATELIMIT, h->l->msg, (int)((ttl + 59) / 60));
        err.retry_after = (int)ttl;
        DK_INFO("limit", "refused limit=%s count=%lld retry_after=%lld", h->l->name,
                r->element[0]->integer, ttl);
    }
    h->cb(rc, &err, h->arg);
    free(h);
}

void dom_limit_hit(dk_aredis *r, const dom_limit *l, long long id, dom_limit_cb cb, void *arg)
{
    if (l->max <= 0) {
        dk_error none = {0};
        cb(0, &none, arg);
        return;
    }
    hit *h = dk_malloc(sizeof *h);
    *h = (hit){l, cb, arg};
    char key[96], max[24], win[24];
    dom_limit_key(l, id, key, sizeof key);
    snprintf(max, sizeof max, "%lld", l->max);
    snprintf(win, sizeof win, "%lld", l->window_s);
    const char *argv[] = {"1", key, max, win};
    dk_aredis_evalsha(r, 0, on_hit, h, &lua_limit_hit, 4, argv, NULL);
}

/* KEYS: the counter. -> 1 */
static dk_script lua_limit_refund =
    DK_SCRIPT("local n = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
              "if n and n > 0 then redis.call('DECR', KEYS[1]) end\n"
              "return 1\n");

static void on_refund(redisReply *r, const dk_error *e, void *arg)
{
    (void)r;
    if (e->code)
        DK_WARN("limit", "refund of limit=%s not counted err=\"%s\"", (const char *)arg, e->msg);
}

void dom_limit_refund(dk_aredis *r, const dom_limit *l, long long id)
{
    if (l->max <= 0) return;
    char key[96];
    dom_limit_key(l, id, key, sizeof key);
    const char *argv[] = {"1", key};
    dk_aredis_evalsha(r, 0, on_refund, (void *)l->name, &lua_limit_refund, 2, argv, NULL);
}
