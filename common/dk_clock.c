/* dk_clock.c - the deployment's clock (dk_clock.h). */
#include "dk_clock.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "dk_http.h"
#include "dk_log.h"

static _Atomic long long offset;

long long dk_clock_ms(void) { return dk_wall_ms() + atomic_load(&offset); }

long long dk_clock_offset_ms(void) { return atomic_load(&offset); }

int dk_clock_from_time(const redisReply *r, long long before_ms, long long after_ms,
                       long long *offset_ms)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        after_ms - before_ms > 50)
        return 0;
    long long o = strtoll(r->element[0]->str, NULL, 10) * 1000 +
                  strtoll(r->element[1]->str, NULL, 10) / 1000 - (before_ms + after_ms) / 2;
    atomic_store(&offset, o);
    if (offset_ms) *offset_ms = o;
    return 1;
}

void dk_clock_sync(const dk_config *cfg)
{
    dk_error err = {0};
    redisContext *c = dk_redis_connect(cfg, &err);
    if (!c) return;
    for (int i = 0; i < 3; i++) { /* a slow first round trip (a cold connection) is dropped */
        long long before = dk_wall_ms();
        redisReply *r = dk_redis_cmd(c, &err, "TIME");
        long long after = dk_wall_ms();
        int ok = dk_clock_from_time(r, before, after, NULL);
        if (r) freeReplyObject(r);
        if (ok || !r) break;
    }
    redisFree(c);
}

typedef struct probe {
    long long before_ms;
    dk_clock_cb cb;
    void *arg;
} probe;

static void on_time(redisReply *r, const dk_error *e, void *arg)
{
    probe *p = arg;
    long long o = 0;
    int ok = !e->code && dk_clock_from_time(r, p->before_ms, dk_wall_ms(), &o);
    if (p->cb) p->cb(ok, o, p->arg);
    free(p);
}

void dk_clock_probe(dk_aredis *r, dk_clock_cb cb, void *arg)
{
    probe *p = dk_malloc(sizeof *p);
    *p = (probe){dk_wall_ms(), cb, arg};
    dk_aredis_cmd(r, 0, on_time, p, "TIME");
}
