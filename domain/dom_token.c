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

/* KEYS: [1] DOM_TOKEN_KEY_REVOKED, [2] DOM_TOKEN_KEY_SEEDED. ARGV: [1] "1" on the last
 * batch (then the marker is set), then members "<kind>:<id>:<valid_after_ms>", scored by
 * the Redis clock so that every loop's next refresh reads them. */
static dk_script lua_reseed = DK_SCRIPT(
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end\n"
    "if ARGV[1] == '1' then redis.call('SET', KEYS[2], now) end\n"
    "return now\n");

#define RESEED_BATCH 256

typedef struct reseed_batch {
    int n;
    char member[RESEED_BATCH][48];
} reseed_batch;

static int reseed_send(redisContext *r, reseed_batch *b, int last, dk_error *err)
{
    const char *argv[RESEED_BATCH + 4] = {"2", DOM_TOKEN_KEY_REVOKED, DOM_TOKEN_KEY_SEEDED,
                                          last ? "1" : "0"};
    for (int i = 0; i < b->n; i++) argv[4 + i] = b->member[i];
    redisReply *rep = dk_redis_evalsha(r, &lua_reseed, 4 + b->n, argv, NULL, err);
    if (!rep) return err->code ? err->code : DK_EIO;
    freeReplyObject(rep);
    b->n = 0;
    return 0;
}

int dom_token_reseed(MYSQL *db, const dom_token_env *e, int *count, dk_error *err)
{
    redisContext *r = dk_redis_connect(e->cfg, err);
    if (!r) return err->code ? err->code : DK_EIO;
    reseed_batch *b = dk_calloc(1, sizeof *b);
    dk_param p[] = {DK_PINT(dk_clock_ms() - e->ttl_ms - 60000)};
    int rc = 0, n = 0;
    char kind;
    for (size_t k = 0; !rc && (kind = dom_kind_at(k)); k++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT id, tokens_valid_after FROM %s WHERE tokens_valid_after > ?",
                 dom_kind_table(kind));
        MYSQL_RES *res;
        if ((rc = dk_mysql_exec(db, sql, p, 1, &res, NULL, err))) break;
        MYSQL_ROW row;
        while (!rc && (row = mysql_fetch_row(res))) {
            snprintf(b->member[b->n++], sizeof b->member[0], "%c:%s:%s", kind, row[0], row[1]);
            n++;
            if (b->n == RESEED_BATCH) rc = reseed_send(r, b, 0, err);
        }
        mysql_free_result(res);
    }
    if (!rc) rc = reseed_send(r, b, 1, err);
    free(b);
    redisFree(r);
    if (rc) return rc;
    DK_WARN("token", "revocations were lost from Redis and were published again from MariaDB "
            "accounts=%d", n);
    if (count) *count = n;
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
    dk_workq *db;         /* for dom_token_reseed, or NULL */
    dk_mailbox *mb;
    long long reseed_ms;  /* when the last reseed was queued (monotonic) */
    int reseeding;        /* a reseed job is out: its completion frees a dead cache */
    int seeded;           /* the last EXISTS of DOM_TOKEN_KEY_SEEDED: 1, 0, -1 unknown */
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

static void cache_release(dom_token_cache *c)
{
    free(c->slots);
    free(c);
}

typedef struct reseed_job {
    dom_token_cache *c;
    int rc, count;
    dk_error err;
} reseed_job;

static void reseed_work(void *ctx, void *arg)
{
    reseed_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    j->rc = db ? dom_token_reseed(db, j->c->env, &j->count, &j->err) : j->err.code;
    if (j->rc == DK_EIO && db) dk_dbconn_drop(ctx);
}

static void reseed_done(void *arg)
{
    reseed_job *j = arg;
    dom_token_cache *c = j->c;
    c->reseeding = 0;
    if (j->rc) DK_WARN("token", "revocations not published again err=\"%s\"", j->err.msg);
    free(j);
    if (c->dead && !c->inflight) cache_release(c);
}

/* The set was lost: refill it from MariaDB on the database pool (one at a time per loop,
 * at most every 5 s; the others' refills are idempotent). */
static void reseed(dom_token_cache *c)
{
    long long now = dk_now_us() / 1000;
    if (!c->db || c->reseeding || (c->reseed_ms && now - c->reseed_ms < 5000)) return;
    reseed_job *j = dk_calloc(1, sizeof *j);
    j->c = c;
    c->reseed_ms = now;
    if (dk_workq_submit(c->db, c->mb, reseed_work, reseed_done, j)) {
        free(j);
        return;
    }
    c->reseeding = 1;
}

static void fetched(redisReply *rep, const dk_error *err, void *arg)
{
    dom_token_cache *c = arg;
    c->inflight = 0;
    if (c->dead) {
        if (!c->reseeding) cache_release(c);
        return;
    }
    int seeded = c->seeded == 1; /* unknown (the EXISTS failed): as lost, fail closed */
    c->seeded = -1;
    if (!seeded && !err->code) {
        reseed(c);
        if (!c->loaded) { /* started after a loss: refuse every token until refilled */
            if (!c->failing)
                DK_WARN("token", "revocations lost from Redis: tokens refused until they are "
                        "published again from MariaDB");
            c->failing = 1;
            schedule(c);
            return;
        }
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

/* The EXISTS of DOM_TOKEN_KEY_SEEDED, sent just before the ZRANGEBYSCORE on the same
 * connection: its reply comes first (plain commands, no script: a Redis restart does not
 * make every loop send an EVAL). The cache lives until the ZRANGEBYSCORE's reply. */
static void seeded_read(redisReply *rep, const dk_error *err, void *arg)
{
    dom_token_cache *c = arg;
    c->seeded = !err->code && rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer != 0 : -1;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dom_token_cache *c = arg;
    /* from a second before the last score seen: a publish that Redis's clock put at the
     * same millisecond, or a clock step, is read again rather than missed */
    char min[32] = "-inf";
    if (c->loaded) snprintf(min, sizeof min, "%lld", c->since - 1000);
    const char *ex[] = {"EXISTS", DOM_TOKEN_KEY_SEEDED};
    const char *argv[] = {"ZRANGEBYSCORE", DOM_TOKEN_KEY_REVOKED, min, "+inf", "WITHSCORES"};
    c->inflight = 1;
    c->seeded = -1;
    dk_aredis_cmdargv(c->redis, 0, seeded_read, c, 2, ex, NULL);
    dk_aredis_cmdargv(c->redis, 0, fetched, c, 5, argv, NULL);
}

dom_token_cache *dom_token_cache_new(const dom_token_env *e, struct event_base *base,
                                     dk_aredis *redis, dk_workq *db, dk_mailbox *mb)
{
    dom_token_cache *c = dk_calloc(1, sizeof *c);
    c->env = e;
    c->redis = redis;
    c->db = db;
    c->mb = mb;
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
    if (c->inflight || c->reseeding) {
        c->dead = 1;
        return;
    }
    cache_release(c);
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
