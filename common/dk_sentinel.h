/* dk_sentinel.h - where the Redis primary is.
 *
 * Without redis_sentinels it is redis_host:redis_port, always. With redis_sentinels
 * ("ip:port,ip:port,…") and redis_master_name, a process-wide watcher thread asks the
 * Sentinels in turn (SENTINEL get-master-addr-by-name) every redis_sentinel_poll_ms, and
 * at once when a client reports trouble; the first Sentinel that answers is believed.
 * Only the first call in a process waits for an answer (bounded by redis_timeout_ms per
 * Sentinel, at start, before any loop serves); later calls return the last answer, so an
 * event loop may call dk_redis_primary at any time. The generation number changes when
 * the primary moves: a client connected to an older generation drops its connection. */
#ifndef DK_SENTINEL_H
#define DK_SENTINEL_H

#include "dk_config.h"

typedef struct dk_redis_addr {
    char host[64];
    int port;
    unsigned gen; /* 0 without Sentinels; otherwise changes with the address */
} dk_redis_addr;

/* The current primary. Returns 0, or -1 when Sentinels are configured but none has
 * named a primary yet (out then holds redis_host:redis_port as a last resort). */
int dk_redis_primary(const dk_config *cfg, dk_redis_addr *out);
/* A client lost its link or met -READONLY: ask the Sentinels now rather than at the next
 * poll. Cheap and safe from any thread; a no-op without Sentinels. */
void dk_redis_primary_suspect(void);
/* The generation of the last answer (0 without Sentinels); lock-free, for timers. */
unsigned dk_redis_primary_gen(void);

/* Parses "ip:port,ip:port" into at most max entries; returns the count or -1 (bad entry).
 * Exposed for the unit test. */
int dk_sentinel_parse(const char *list, dk_redis_addr *out, int max);

#endif
