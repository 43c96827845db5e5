/* dk_redis_internal.h - what dk_redis.c and dk_aredis.c share; not part of common's
 * contract (dk_redis.h is). */
#ifndef DK_REDIS_INTERNAL_H
#define DK_REDIS_INTERNAL_H

#include "dk_redis.h"

/* Whether r is Redis's NOSCRIPT error; if so counts the fallback to EVAL and logs it
 * (at most one line a second for the whole process). Any thread. */
int dk_redis_noscript(const redisReply *r, const dk_script *s);

#endif
