/* dom_token.h - token revocation, the one rule both servers share: a token issued before
 * its account's "valid after" time is refused, on every node, within seconds.
 *
 * A password change (either server), a reset, 离岗, a transfer in, a deletion and a logout
 * call dom_token_revoke on a database thread, inside the change's transaction: it moves
 * the account's tokens_valid_after column (unix ms; durable) to now and publishes it to
 * Redis. Each event loop keeps a dom_token_cache, its own table of the revocations of the
 * last token_ttl_s, which a timer refreshes every token_revocation_refresh_ms with only
 * what is new (one ZRANGEBYSCORE per loop per second, not per request); the route runner
 * asks it (a hash lookup, no I/O) after the HMAC check. A loop that has not refreshed for
 * token_revocation_stale_s refuses every token with 503 (fail closed) until it does; a
 * loop starting up loads every revocation Redis keeps (token_ttl_s of them) first.
 *
 * Redis keys (owned here, nowhere else):
 *   DOM_TOKEN_KEY_REVOKED    sorted set, member "<kind>:<id>:<valid_after_ms>", score the
 *                            Redis clock (ms) when it was published: a reader asks for
 *                            scores from the last it saw, so no node's clock matters;
 *                            trimmed to token_ttl_s (+1 min) at each publish
 *   DOM_TOKEN_KEY_ACCT "<kind>:<id>"  the account's latest valid_after_ms (for operators
 *                            and tests; expires after token_ttl_s)
 *   DOM_TOKEN_KEY_SEEDED     present while Redis holds every revocation of the last
 *                            token_ttl_s. A Redis that lost its data (a restart without
 *                            persistence, a failover to an empty replica) lacks it: a loop
 *                            then refills the set from MariaDB's tokens_valid_after columns
 *                            on its database pool (dom_token_reseed, which sets it last),
 *                            and a loop that has not loaded yet refuses every token
 *                            (503) until that is done, so a process started after the loss
 *                            never accepts a token revoked before it. Loops already running
 *                            keep their tables.
 * Threads: the env is read-only after init (any thread); a cache belongs to its loop. */
#ifndef DOM_TOKEN_H
#define DOM_TOKEN_H

#include <event2/event.h>

#include "dk_auth.h"
#include "dk_mysql.h"
#include "dk_redis.h"
#include "dk_workq.h"

#define DOM_TOKEN_KEY_REVOKED "tok:revoked"
#define DOM_TOKEN_KEY_ACCT "tok:va:"
#define DOM_TOKEN_KEY_SEEDED "tok:seeded"

typedef struct dom_token_env {
    const dk_config *cfg; /* Redis address for dom_token_revoke's publish */
    const dk_auth *auth;
    long long ttl_ms;     /* token_ttl_s */
    long long refresh_ms; /* token_revocation_refresh_ms */
    long long stale_ms;   /* token_revocation_stale_s */
} dom_token_env;

int dom_token_env_init(dom_token_env *e, const dk_config *cfg, const dk_auth *auth, dk_error *err);

/* Makes the account's token, issued at issued_ms (0: now); *expires_s: its expiry. */
void dom_token_make(const dom_token_env *e, char kind, long long id, int must_change,
                    long long issued_ms, char out[DK_TOKEN_MAX], long long *expires_s);

/* Blocking (database threads), inside the caller's transaction: revokes every token of
 * the account issued before now. *valid_after_ms (may be NULL): the new time; a token
 * made with it as its issue time stays valid. DK_EIO when Redis cannot be written: roll
 * back (the revocation would not reach the other nodes). */
int dom_token_revoke(MYSQL *db, const dom_token_env *e, char kind, long long id,
                     long long *valid_after_ms, dk_error *err);

/* Blocking (database threads): publishes again the tokens_valid_after of every account
 * that changed within the token lifetime, then sets DOM_TOKEN_KEY_SEEDED. Idempotent;
 * *count (may be NULL): accounts published. */
int dom_token_reseed(MYSQL *db, const dom_token_env *e, int *count, dk_error *err);

/* Logout, blocking: one transaction with the revocation and the "logout" audit row
 * (role: as the pages name the actor, NULL: from the kind). */
int dom_token_logout(MYSQL *db, const dom_token_env *e, char kind, long long id, const char *role,
                     const char *ip, dk_error *err);

/* ---- the per-loop table ----------------------------------------------------------------- */

typedef struct dom_token_cache dom_token_cache;

/* On the loop's thread; starts loading at once (retrying every 20 ms until the first
 * load), then refreshes on the timer. db (threads whose context is a dk_dbconn) and mb
 * (the loop's mailbox) run dom_token_reseed when the loop finds the set lost (at most one
 * at a time per loop, at most every 5 s); NULL: never (an unloaded loop then waits for
 * another process to refill it). */
dom_token_cache *dom_token_cache_new(const dom_token_env *e, struct event_base *base,
                                     dk_aredis *redis, dk_workq *db, dk_mailbox *mb);
/* On the loop's thread (a fetch in flight frees it when it returns). */
void dom_token_cache_free(dom_token_cache *c);
/* After dk_token_check: 0, DK_EAUTH (revoked) or DK_EBUSY (503: this loop's table is
 * stale or not loaded yet). No I/O. */
int dom_token_cache_check(const dom_token_cache *c, const dk_claims *who, dk_error *err);

#endif
