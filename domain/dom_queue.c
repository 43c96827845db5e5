/* dom_queue.c - the fair queue of dom_queue.h: one script, its keys, the reply. */
#include "dom_queue.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"

int dom_queue_ticket_valid(const char *s, size_t n)
{
    if (!s || n != DOM_QUEUE_TICKET_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

dk_script dom_lua_queue_admit = DK_SCRIPT(
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    /* KEYS[2] scores each ticket with the time by which its holder must be back: the
     * ones who left drop out soon after the time they were given (a few per call) */
    /* a place leaves the queue, and its address's count */
    "local function drop(id)\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  local a = redis.call('HGET', KEYS[5], id)\n"
    "  if a then\n"
    "    redis.call('HDEL', KEYS[5], id)\n"
    "    if redis.call('HINCRBY', KEYS[6], a, -1) <= 0 then redis.call('HDEL', KEYS[6], a) end\n"
    "  end\n"
    "end\n"
    "local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 64)\n"
    "for _, id in ipairs(gone) do drop(id) end\n"
    "local room = tonumber(ARGV[2])\n"
    "local id = ARGV[1]\n"
    "local seq = false\n"
    "if id ~= '' then seq = redis.call('ZSCORE', KEYS[1], id) end\n"
    "if not seq then\n"
    "  if room > 0 and redis.call('ZCARD', KEYS[1]) == 0 then return {1, 0, '', 0} end\n"
    "  local cap = tonumber(ARGV[9])\n"
    "  if cap > 0 and tonumber(redis.call('HGET', KEYS[6], ARGV[8]) or '0') >= cap then\n"
    "    return {2, redis.call('ZCARD', KEYS[1]), '', tonumber(ARGV[5])}\n"
    "  end\n"
    "  id = ARGV[3]\n"
    "  seq = redis.call('INCR', KEYS[3])\n"
    "  redis.call('ZADD', KEYS[1], seq, id)\n"
    "  redis.call('HSET', KEYS[5], id, ARGV[8])\n"
    "  redis.call('HINCRBY', KEYS[6], ARGV[8], 1)\n"
    "end\n"
    "local ahead = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. seq)\n"
    "if ahead < room then\n"
    "  drop(id)\n"
    "  return {1, ahead, id, 0}\n"
    "end\n"
    /* back when about the ones ahead have gone through at the rate of every node that
     * asked in the last 10 s (each reports its own: KEYS[4], node -> "rate@ms"), 1..max s;
     * the place is kept for twice that plus the grace */
    "redis.call('HSET', KEYS[4], ARGV[7], ARGV[4] .. '@' .. now)\n"
    "redis.call('PEXPIRE', KEYS[4], 60000)\n"
    "local rates = redis.call('HGETALL', KEYS[4])\n"
    "local total = 0\n"
    "for i = 1, #rates, 2 do\n"
    "  local r, at = string.match(rates[i + 1], '^([%d.]+)@(%d+)$')\n"
    "  if r and now - tonumber(at) <= 10000 then total = total + tonumber(r)\n"
    "  else redis.call('HDEL', KEYS[4], rates[i]) end\n"
    "end\n"
    "local ra = math.floor(ahead / math.max(total, 1)) + 1\n"
    "ra = math.max(1, math.min(ra, tonumber(ARGV[5])))\n"
    "redis.call('ZADD', KEYS[2], now + (2 * ra) * 1000 + tonumber(ARGV[6]), id)\n"
    "return {0, ahead, id, ra}\n");

typedef struct admit_call {
    dom_queue_cb cb;
    void *arg;
} admit_call;

static void on_admit(redisReply *r, const dk_error *e, void *arg)
{
    admit_call *c = arg;
    dom_queue_verdict v = {.admitted = 1};
    if (!e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER &&
        r->element[2]->type == REDIS_REPLY_STRING && r->element[3]->type == REDIS_REPLY_INTEGER) {
        v.ok = 1;
        v.admitted = r->element[0]->integer == 1;
        v.addr_full = r->element[0]->integer == 2;
        v.ahead = r->element[1]->integer;
        snprintf(v.ticket, sizeof v.ticket, "%s", r->element[2]->str);
        v.retry_after_s = r->element[3]->integer;
    }
    c->cb(&v, c->arg);
    free(c);
}

void dom_queue_admit(dk_aredis *r, const dom_queue_ask *q, dom_queue_cb cb, void *arg)
{
    char live[64], seen[64], seq[64], rk[64], owner[64], addrs[64], rooms[24], rates[32],
        maxs[16], graces[24], caps[16];
    char fresh[DOM_QUEUE_TICKET_LEN + 1];
    snprintf(live, sizeof live, "queue:%s:live", q->name);
    snprintf(seen, sizeof seen, "queue:%s:seen", q->name);
    snprintf(seq, sizeof seq, "queue:%s:seq", q->name);
    snprintf(rk, sizeof rk, "queue:%s:rates", q->name);
    snprintf(owner, sizeof owner, "queue:%s:owner", q->name);
    snprintf(addrs, sizeof addrs, "queue:%s:addrs", q->name);
    snprintf(rooms, sizeof rooms, "%lld", q->room < 0 ? 0 : q->room);
    snprintf(rates, sizeof rates, "%.3f", q->rate > 0 ? q->rate : 1.0);
    snprintf(maxs, sizeof maxs, "%d", q->max_wait_s < 1 ? 1 : q->max_wait_s);
    snprintf(graces, sizeof graces, "%lld", q->grace_ms < 0 ? 0 : q->grace_ms);
    snprintf(caps, sizeof caps, "%d", q->max_per_addr < 0 ? 0 : q->max_per_addr);
    unsigned char rnd[DOM_QUEUE_TICKET_LEN / 2];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(fresh, sizeof fresh, rnd, sizeof rnd);
    admit_call *c = dk_calloc(1, sizeof *c);
    c->cb = cb;
    c->arg = arg;
    const char *argv[] = {"6",   live,  seen,   seq,  rk,   owner,
                          addrs, q->ticket ? q->ticket : "", rooms, fresh, rates, maxs,
                          graces, q->node, q->addr ? q->addr : "", caps};
    dk_aredis_evalsha(r, 0, on_admit, c, &dom_lua_queue_admit, 16, argv, NULL);
}
