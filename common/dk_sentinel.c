/* dk_sentinel.c - where the Redis primary is (see dk_sentinel.h).
 *
 * One watcher per process, started by the first dk_redis_primary() call that finds
 * redis_sentinels set; later calls with another configuration get the same watcher (a
 * process talks to one Redis). The watcher is a detached thread that lives as long as the
 * process: it holds no resource but a short-lived connection to one Sentinel at a time. */
#include "dk_sentinel.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"

#define MAX_SENTINELS 8

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int started;
    int suspect;
    int known;
    dk_redis_addr primary; /* guarded by mu */
    _Atomic unsigned gen;
    dk_redis_addr sentinels[MAX_SENTINELS];
    int nsentinels;
    char master[64];
    int poll_ms, timeout_ms;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static int valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int dk_sentinel_parse(const char *list, dk_redis_addr *out, int max)
{
    int n = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        if (len) {
            char item[96];
            if (len >= sizeof item || n >= max) return -1;
            memcpy(item, p, len);
            item[len] = '\0';
            char *colon = strrchr(item, ':');
            if (!colon) return -1;
            *colon = '\0';
            char *end;
            long port = strtol(colon + 1, &end, 10);
            if (*end || port < 1 || port > 65535 || !valid_ip(item) ||
                strlen(item) >= sizeof out[n].host)
                return -1;
            snprintf(out[n].host, sizeof out[n].host, "%s", item);
            out[n].port = (int)port;
            out[n].gen = 0;
            n++;
        }
        p += len;
        p += strspn(p, ", ");
    }
    return n;
}

/* Asks one Sentinel; 0 and the primary in out, or -1. */
static int ask(const dk_redis_addr *s, dk_redis_addr *out)
{
    struct timeval tv = {W.timeout_ms / 1000, (W.timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    int rc = -1;
    if (!c || c->err) {
        DK_DEBUG("redis", "sentinel unreachable host=%s port=%d", s->host, s->port);
        goto out;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", W.master);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        valid_ip(r->element[0]->str) && strlen(r->element[0]->str) < sizeof out->host) {
        long port = strtol(r->element[1]->str, NULL, 10);
        if (port > 0 && port < 65536) {
            snprintf(out->host, sizeof out->host, "%s", r->element[0]->str);
            out->port = (int)port;
            rc = 0;
        }
    } else {
        DK_WARN("redis", "sentinel host=%s port=%d does not name a primary for '%s' (%s)",
                s->host, s->port, W.master,
                r && r->type == REDIS_REPLY_ERROR ? r->str : "no address");
    }
    if (r) freeReplyObject(r);
out:
    if (c) redisFree(c);
    return rc;
}

/* Asks the Sentinels in turn until one answers; records a move. */
static void ask_all(void)
{
    dk_redis_addr got;
    for (int i = 0; i < W.nsentinels; i++) {
        if (ask(&W.sentinels[i], &got) != 0) continue;
        pthread_mutex_lock(&W.mu);
        if (!W.known || strcmp(got.host, W.primary.host) != 0 || got.port != W.primary.port) {
            got.gen = atomic_load(&W.gen) + 1;
            DK_INFO("redis", "primary %s host=%s port=%d gen=%u (sentinel %s:%d)",
                    W.known ? "moved" : "found", got.host, got.port, got.gen,
                    W.sentinels[i].host, W.sentinels[i].port);
            W.primary = got;
            W.known = 1;
            atomic_store(&W.gen, got.gen);
        }
        pthread_mutex_unlock(&W.mu);
        return;
    }
    DK_WARN("redis", "no sentinel named a primary (%d asked)", W.nsentinels);
}

static void *watch(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&W.mu);
        if (!W.suspect) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            long long ns = until.tv_nsec + (long long)W.poll_ms * 1000000;
            until.tv_sec += ns / 1000000000;
            until.tv_nsec = ns % 1000000000;
            while (!W.suspect && pthread_cond_timedwait(&W.wake, &W.mu, &until) == 0) {}
        }
        W.suspect = 0;
        pthread_mutex_unlock(&W.mu);
        ask_all();
        /* a storm of suspicions (every loop's client failing at once) asks at most
         * ten times a second */
        struct timespec pause = {0, 100 * 1000000L};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* Under W.mu: the first call with Sentinels asks synchronously, then starts the watcher. */
static void start(const dk_config *cfg, const char *list)
{
    W.started = 1;
    W.nsentinels = dk_sentinel_parse(list, W.sentinels, MAX_SENTINELS);
    if (W.nsentinels <= 0) {
        DK_ERROR("redis", "redis_sentinels must be ip:port entries (at most %d): '%s'",
                 MAX_SENTINELS, list);
        W.nsentinels = 0;
        return;
    }
    snprintf(W.master, sizeof W.master, "%s", dk_config_str(cfg, "redis_master_name"));
    W.poll_ms = (int)dk_config_int(cfg, "redis_sentinel_poll_ms");
    if (W.poll_ms < 50) W.poll_ms = 50;
    W.timeout_ms = (int)dk_config_int(cfg, "redis_timeout_ms");
    if (W.timeout_ms <= 0) W.timeout_ms = 1000;
    pthread_mutex_unlock(&W.mu);
    ask_all();
    pthread_mutex_lock(&W.mu);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, watch, NULL) != 0)
        DK_ERROR("redis", "cannot start the sentinel watcher; the primary will not be followed");
    pthread_attr_destroy(&a);
}

int dk_redis_primary(const dk_config *cfg, dk_redis_addr *out)
{
    const char *list = dk_config_str(cfg, "redis_sentinels");
    snprintf(out->host, sizeof out->host, "%s", dk_config_str(cfg, "redis_host"));
    out->port = (int)dk_config_int(cfg, "redis_port");
    out->gen = 0;
    if (!*list) return 0;
    pthread_mutex_lock(&W.mu);
    if (!W.started) start(cfg, list);
    int known = W.known;
    if (known) *out = W.primary;
    pthread_mutex_unlock(&W.mu);
    return known ? 0 : -1;
}

void dk_redis_primary_suspect(void)
{
    pthread_mutex_lock(&W.mu);
    if (W.nsentinels > 0) {
        W.suspect = 1;
        pthread_cond_signal(&W.wake);
    }
    pthread_mutex_unlock(&W.mu);
}

unsigned dk_redis_primary_gen(void) { return atomic_load(&W.gen); }
