/* dom_token.c - token revocation (see dom_token.h): the publish on database threads (the
 * column, then one Lua script on a short-lived sync Redis connection: revocations are
 * rare), and the per-loop table the route runners read (open addressing, owned by its
 * loop, no locks). */
#include "dom_token.h"

#include <stdlib.h>
#include <string.h>

#include "dk_clock.h"
#include "dk_http.h"
#include "dk_log.h"
#include "dom_account.h"
#include "dom_audit.h"

int dom_token_env_init(dom_token_env *e, const dk_config *cfg, const dk_auth *auth, dk_error *err)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->auth = auth;
    e->ttl_ms = auth->ttl_s * 1000;
    e->refresh_ms = dk_config_int(cfg, "token_revocation_refresh_ms");
    e->stale_ms = dk_config_int(cfg, "token_revocation_stale_s") * 1000;
    if (e->refresh_ms < 10 || e->stale_ms < 2 * e->refresh_ms)
        return dk_error_set(err, DK_EINVAL,
                            "token_revocation_refresh_ms must be >= 10 and "
                            "token_revocation_stale_s at least twice as long");
    return 0;
}

void dom_token_make(const dom_token_env *e, char kind, long long id, int must_change,
                    long long issued_ms, char out[DK_TOKEN_MAX], long long *expires_s)
{
    long long now = dk_clock_ms();
    dk_claims c = {.kind = kind,
                   .id = id,
                   .issued_ms = issued_ms ? issued_ms : now,
                   .expires = now / 1000 + e->auth->ttl_s,
                   .must_change = must_change};
    dk_token_make(e->auth, &c, out);
    if (expires_s) *expires_s = c.expires;
}

/* ---- the publish ----------------------------------------------------------------------------- */

/* KEYS: [1] DOM_TOKEN_KEY_REVOKED, [2] the account's DOM_TOKEN_KEY_ACCT key.
 * ARGV: [1] "<kind>:<id>", [2] valid_after_ms, [3] how long to keep it (ms).
 * Scores by the Redis clock; drops what is older than the keep time. Returns the score. */
static dk_script lua_revoke = DK_SCRIPT(
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. ARGV[2])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))\n"
    "local old = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if old < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end\n"
    "return now\n");

static int publish(const dom_token_env *e, char kind, long long id, long long va, dk_error *err)
{
    redisContext *r = dk_redis_connect(e->cfg, err);
    if (!r) return err->code ? err->code : DK_EIO;
    char member[48], acct[64], vas[24], keep[24];
    snprintf(member, sizeof member, "%c:%lld", kind, id);
    snprintf(acct, sizeof acct, DOM_TOKEN_KEY_ACCT "%s", member);
    snprintf(vas, sizeof vas, "%lld", va);
    snprintf(keep, sizeof keep, "%lld", e->ttl_ms + 60000);
    const char *argv[] = {"2", DOM_TOKEN_KEY_REVOKED, acct, member, vas, keep};
    redisReply *rep = dk_redis_evalsha(r, &lua_revoke, 6, argv, NULL, err);
    int rc = rep ? 0 : (err->code ? err->code : DK_EIO);
    if (rep) freeReplyObject(rep);
    redisFree(r);
    return rc;
}

int dom_token_revoke(MYSQL *db, const dom_token_env *e, char kind, long long id,
                     long long *valid_after_ms, dk_error *err)
{
    const char *table = dom_kind_table(kind);
    if (!table) return dk_error_set(err, DK_EINVAL, "未知的账号类型");
    char sql[160];
    /* never backwards: another node's clock may be ahead */
    snprintf(sql, sizeof sql,
             "UPDATE %s SET tokens_valid_after = GREATEST(tokens_valid_after, ?) WHERE id = ?",
             table);
    dk_param p[] = {DK_PINT(dk_clock_ms()), DK_PINT(id)};
    int rc = dk_mysql_exec(db, sql, p, 2, NULL, NULL, err);
    if (rc) return rc;
    long long va = 0;
    snprintf(sql, sizeof sql, "SELECT tokens_valid_after FROM %s WHERE id = ?", table);
    if ((rc = dk_mysql_ll(db, sql, p + 1, 1, &va, err))) return rc;
    if ((rc = publish(e, kind, id, va, err))) {
        DK_WARN("token", "revocation not published kind=%c id=%lld err=\"%s\"", kind, id, err->msg);
        return dk_error_set(err, DK_EIO, "服务暂时不可用，请稍后重试");
    }
    if (valid_after_ms) *valid_after_ms = va;
    return 0;
}

int dom_token_logout(MYSQL *db, const dom_token_env *e, char kind, long long id, const char *role,
                     const char *ip, dk_error *err)
{
    const char *table = dom_kind_table(kind);
    if (!table) return dk_error_set(err, DK_EINVAL, "未知的账号类型");
    dom_audit_row r = {.actor_type = dom_kind_actor(kind),
                       .actor_id = id,
                       .role = role,
                       .action = "logout",
                       .entity_type = table,
                       .entity_id = id,
                       .ip = ip};
    int rc;
    if ((rc = dk_mysql_begin(db, err)) || (rc = dom_token_revoke(db, e, kind, id, NULL, err)) ||
        (rc = dom_audit(db, &r, err)) || (rc = dk_mysql_commit(db, err))) {
        dk_mysql_rollback(db);
        return rc;
    }
    return 0;
}

/* ---- the per-loop table ---------------------------------------------------------------------- */

typedef struct slot {
    unsigned long long key; /* kind << 56 | id; 0: empty */
    long long va;
} slot;

struct dom_token_cache {
    const dom_token_env *env;
    dk_aredis *redis;
    struct event *timer;
    slot *slots;
    size_t cap, count;    /* cap: a power of two; count <= cap / 2 */
    long long since;      /* the highest score seen (Redis clock, ms) */
    long long ok_mono_ms; /* when the last refresh succeeded (monotonic) */
    long long pruned_ms;  /* when the table last dropped expired entries (monotonic) */
    int loaded, inflight, dead, failing;
};

static unsigned long long key_of(char kind, long long id)
{
    return ((unsigned long long)(unsigned char)kind << 56) |
           ((unsigned long long)id & ((1ULL << 56) - 1));
}

static size_t home(unsigned long long key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static slot *find(slot *slots, size_t cap, unsigned long long key)
{
    for (size_t i = home(key, cap);; i = (i + 1) & (cap - 1))
        if (slots[i].key == key || !slots[i].key) return &slots[i];
}

/* Moves every entry still able to refuse a token (va within the token lifetime) to a
 * table of cap slots. */
static void rehash(dom_token_cache *c, size_t cap)
{
    slot *old = c->slots;
    size_t oldcap = c->cap;
    long long cutoff = dk_clock_ms() - c->env->ttl_ms;
    c->slots = dk_calloc(cap, sizeof *c->slots);
    c->cap = cap;
    c->count = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key || old[i].va < cutoff) continue;
        *find(c->slots, cap, old[i].key) = old[i];
        c->count++;
    }
    free(old);
}

static void put(dom_token_cache *c, char kind, long long id, long long va)
{
    if ((c->count + 1) * 2 > c->cap) rehash(c, c->cap * 2);
    unsigned long long key = key_of(kind, id);
    slot *s = find(c->slots, c->cap, key);
    if (!s->key) {
        s->key = key;
        c->count++;
    }
    if (va > s->va) s->va = va;
}

static void schedule(dom_token_cache *c)
{
    long long ms = c->loaded ? c->env->refresh_ms : 20;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(c->timer, &tv);
}

static void fetched(redisReply *rep, const dk_error *err, void *arg)
{
    dom_token_cache *c = arg;
    c->inflight = 0;
    if (c->dead) {
        free(c->slots);
        free(c);
        return;
    }
    if (err->code || !rep || rep->type != REDIS_REPLY_ARRAY) {
        if (!c->failing)
            DK_WARN("token", "revocations not refreshed err=\"%s\"",
                    err->code         ? err->msg
                    : rep && rep->str ? rep->str
                                      : "unexpected reply");
        c->failing = 1;
        schedule(c);
        return;
    }
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *m = rep->element[i], *s = rep->element[i + 1];
        char kind;
        long long id, va;
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
            sscanf(m->str, "%c:%lld:%lld", &kind, &id, &va) != 3)
            continue;
        put(c, kind, id, va);
        long long score = (long long)strtod(s->str, NULL);
        if (score > c->since) c->since = score;
    }
    long long now = dk_now_us() / 1000;
    if (c->failing) DK_INFO("token", "revocations refreshed again entries=%zu", c->count);
    c->failing = 0;
    c->loaded = 1;
    c->ok_mono_ms = now;
    if (now - c->pruned_ms > 60000) {
        rehash(c, c->cap);
        c->pruned_ms = now;
    }
    schedule(c);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dom_token_cache *c = arg;
    /* from a second before the last score seen: a publish that Redis's clock put at the
     * same millisecond, or a clock step, is read again rather than missed */
    char min[32] = "-inf";
    if (c->loaded) snprintf(min, sizeof min, "%lld", c->since - 1000);
    const char *argv[] = {"ZRANGEBYSCORE", DOM_TOKEN_KEY_REVOKED, min, "+inf", "WITHSCORES"};
    c->inflight = 1;
    dk_aredis_cmdargv(c->redis, 0, fetched, c, 5, argv, NULL);
}

dom_token_cache *dom_token_cache_new(const dom_token_env *e, struct event_base *base,
                                     dk_aredis *redis)
{
    dom_token_cache *c = dk_calloc(1, sizeof *c);
    c->env = e;
    c->redis = redis;
    c->cap = 64;
    c->slots = dk_calloc(c->cap, sizeof *c->slots);
    c->pruned_ms = dk_now_us() / 1000;
    c->timer = event_new(base, -1, 0, tick, c);
    tick(-1, 0, c);
    return c;
}

void dom_token_cache_free(dom_token_cache *c)
{
    if (!c) return;
    event_free(c->timer);
    if (c->inflight) {
        c->dead = 1;
        return;
    }
    free(c->slots);
    free(c);
}

int dom_token_cache_check(const dom_token_cache *c, const dk_claims *who, dk_error *err)
{
    if (!c || !c->loaded || dk_now_us() / 1000 - c->ok_mono_ms > c->env->stale_ms) {
        err->code = DK_EBUSY;
        err->retry_after = 2;
        snprintf(err->msg, sizeof err->msg, "暂时无法核对登录状态，请稍后重试");
        return DK_EBUSY;
    }
    const slot *s = find(c->slots, c->cap, key_of(who->kind, who->id));
    if (s->key && who->issued_ms < s->va)
        return dk_error_set(err, DK_EAUTH,
                            "登录已失效（密码已修改、已退出或账号有变动），请重新登录");
    return 0;
}
