/* dom_queue.h - a fair queue in front of a costly step (the login's argon2id), shared by
 * every node through Redis: first come, first served, with each one's place.
 *
 * While nobody waits and the node has room, a request goes straight in. Otherwise it gets
 * a ticket (32 random hex characters, unguessable: a place cannot be taken by guessing
 * another's) at the back of the queue, and is told how many are ahead and when to come
 * back (about the time the ones ahead need at the node's rate, 1..max_wait_s); it comes
 * back with its ticket and goes in once fewer are ahead of it than the node it reached
 * has room for. A holder not back within twice that time plus grace_ms has left: the
 * ticket is dropped, so the gone hold the others back only that long. The place is kept
 * whichever node the holder's next request reaches. Redis keys: queue:NAME:live (zset
 * ticket -> number), queue:NAME:seen (zset ticket -> when its holder must be back),
 * queue:NAME:seq (counter), queue:NAME:rates (hash node -> its rate), queue:NAME:owner
 * (hash ticket -> the address it was given to), queue:NAME:addrs (hash address -> places
 * held). */
#ifndef DOM_QUEUE_H
#define DOM_QUEUE_H

#include <stddef.h>

#include "dk_redis.h"

#define DOM_QUEUE_TICKET_LEN 32

/* 1 when s[0..n) is a ticket: DOM_QUEUE_TICKET_LEN characters of [0-9a-f]. */
int dom_queue_ticket_valid(const char *s, size_t n);

typedef struct dom_queue_verdict {
    int admitted;                          /* go in now */
    long long ahead;                       /* how many wait before this one */
    char ticket[DOM_QUEUE_TICKET_LEN + 1]; /* "" when admitted without queueing */
    int ok;                                /* 0: Redis failed (the caller lets it in) */
    long long retry_after_s;               /* waiting: when to come back */
    int addr_full;                         /* refused a place: the address holds too many */
} dom_queue_verdict;

typedef void (*dom_queue_cb)(const dom_queue_verdict *v, void *arg);

/* One request's question to the queue. */
typedef struct dom_queue_ask {
    const char *name;   /* the queue ("login") */
    const char *node;   /* this process's name (its rate is counted once) */
    const char *ticket; /* the one the client was given, or NULL/"" for a first arrival */
    const char *addr;   /* the client's address (dk_req.peer) */
    long long room;     /* how many more this node can take now (0: none) */
    double rate;        /* how many it lets through a second; the wait told is the ones
                         * ahead over the sum of the rates of the nodes that asked in the
                         * last 10 s */
    int max_wait_s;     /* the longest wait told (1..) */
    long long grace_ms; /* a place is kept for twice the wait told plus this */
    int max_per_addr;   /* places one address may hold at once (0: no cap): one client
                         * cannot fill the queue with tickets and push everyone back */
} dom_queue_ask;

/* Asks the queue whether this request may go in. Calls cb exactly once, on the loop of r.
 * A first arrival from an address that holds max_per_addr places already gets no place:
 * admitted = 0, ticket "", addr_full = 1. */
void dom_queue_admit(dk_aredis *r, const dom_queue_ask *q, dom_queue_cb cb, void *arg);

/* The script: KEYS: live, seen, seq, rates (hash node -> "rate@ms"), owner (hash ticket ->
 * address), addrs (hash address -> places held). ARGV: ticket or "", room, a fresh ticket
 * for a new arrival, rate, max_wait_s, grace_ms, node, address, max_per_addr.
 * -> {1 admitted | 0 told to wait | 2 the address holds too many places, ahead, ticket
 * ("" = went straight in, or none given), retry_after_s (0 when in)} */
extern dk_script dom_lua_queue_admit;

#endif
