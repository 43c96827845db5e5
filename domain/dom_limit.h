/* dom_limit.h - per-actor rate limits that hold across every node: a counter in Redis per
 * (limit, actor id), one fixed window each, keyed "limit:<name>:<id>" (built here and
 * nowhere else). examd counts camera checks per physician; admind counts registered-photo
 * uploads per physician and ID-number lookups per institution. A call is counted when it
 * arrives, refused or not, so a client hammering the route keeps its window full; only a
 * call the server refuses for its own lack of capacity is given back (dom_limit_refund).
 *
 * The limits come from configuration, read once at start (dom_limit_load). The check runs
 * on the event loop through the loop's async Redis client: its callback runs exactly once,
 * on the loop. A Redis that does not answer refuses the call (503): a limit that fails
 * open is no limit. */
#ifndef DOM_LIMIT_H
#define DOM_LIMIT_H

#include "dk_config.h"
#include "dk_redis.h"

typedef struct dom_limit {
    const char *name;   /* the key's middle part, e.g. "camera_check" */
    long long max;      /* calls per window; <= 0: no limit */
    long long window_s; /* the window, from the first call of it */
    const char *msg;    /* the refusal (Chinese), "%d" = minutes until the window ends */
} dom_limit;

/* Fills l from the configuration keys max_key and window_key (rows of dk_config.c). */
void dom_limit_load(dom_limit *l, const dk_config *cfg, const char *name, const char *max_key,
                    const char *window_key, const char *msg);

/* rc 0: allowed. rc DK_ERATELIMIT: err has the message and retry_after (s). Otherwise the
 * backend's error (DK_EIO, DK_ETIMEOUT) in err. */
typedef void (*dom_limit_cb)(int rc, const dk_error *err, void *arg);

/* Counts one call of actor id against l and calls cb once, on the loop of r. */
void dom_limit_hit(dk_aredis *r, const dom_limit *l, long long id, dom_limit_cb cb, void *arg);

/* Gives back one call counted by dom_limit_hit that the server itself then refused without
 * doing the work (a full pool, 503): a busy server does not use up the actor's budget.
 * Fire and forget, on the loop of r; never below zero. */
void dom_limit_refund(dk_aredis *r, const dom_limit *l, long long id);

/* The counter's key, for tests and operators: "limit:<name>:<id>". */
void dom_limit_key(const dom_limit *l, long long id, char *out, size_t outsz);

#endif
