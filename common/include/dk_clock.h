/* dk_clock.h - the deployment's clock: this node's wall clock corrected by its measured
 * offset to Redis's TIME. Every time that two nodes compare is read from it: session
 * start and deadline, token issue and revocation (a node whose clock is minutes ahead
 * would otherwise issue tokens that outlive a password change made on another node).
 * The offset is process-wide (an atomic); servers measure it at start (dk_clock_sync,
 * blocking, before serving) and then from their loop (dk_clock_probe, every few
 * seconds). Until the first measurement the offset is 0: the node's own clock. */
#ifndef DK_CLOCK_H
#define DK_CLOCK_H

#include <hiredis/hiredis.h>

#include "dk_config.h"
#include "dk_redis.h"

/* Unix ms on the deployment's clock. */
long long dk_clock_ms(void);
/* Redis's clock minus this node's, as last measured (ms). */
long long dk_clock_offset_ms(void);

/* Takes the offset from a TIME reply and this node's wall-clock times just before and
 * after the call. Returns 1 and sets *offset_ms (and the process's offset), 0 for a reply
 * that is not a TIME reply or a round trip over 50 ms (it says little about the offset). */
int dk_clock_from_time(const redisReply *r, long long before_ms, long long after_ms,
                       long long *offset_ms);

/* Blocking TIME on a connection of its own: at start only, never on a loop. */
void dk_clock_sync(const dk_config *cfg);

/* Asks TIME on the loop's connection; cb (may be NULL) gets the new offset when it was
 * taken (ok = 1). */
typedef void (*dk_clock_cb)(int ok, long long offset_ms, void *arg);
void dk_clock_probe(dk_aredis *r, dk_clock_cb cb, void *arg);

#endif
