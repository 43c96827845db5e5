/* dk_http_internal.h - what dk_http.c (requests) and dk_http_edge.c (connections) share;
 * not part of common's contract (dk_http.h is). Everything here runs on a loop's thread
 * except the atomics, which /metrics reads from any loop. */
#ifndef DK_HTTP_INTERNAL_H
#define DK_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "dk_http.h"

#define DK_HTTP_MAX_GAUGES 32
#define DK_HTTP_MAX_HISTS 16
#define DK_HTTP_MAX_ROUTES 256
#define DK_HTTP_MAX_NETS 16

typedef struct route_stats {
    _Atomic unsigned long long by_class[6]; /* 1xx..5xx by status/100 */
    dk_hist latency;
} route_stats;

typedef struct dk_net { /* an address block of metrics_allow */
    int family;         /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
} dk_net;

typedef struct dk_edge dk_edge; /* a loop's connections (dk_http_edge.c) */

struct dk_http_server {
    const dk_config *cfg;
    dk_http_opts opts;
    int port;
    int nloops;
    dk_loop *loops;
    dk_edge **edges; /* one per loop, by loop index */
    pthread_t *threads;
    struct evhttp_bound_socket **bound;
    /* limits, read once at start */
    size_t max_body, max_headers, biggest_body;
    int timeout_s, header_timeout_s, body_timeout_s;
    long long max_conns;
    dk_net metrics_allow[DK_HTTP_MAX_NETS];
    int nmetrics_allow;
    char csp[512]; /* Content-Security-Policy of the web root's files */
    const char *trusted_proxies; /* http_trusted_proxies (the configuration's string) */
    _Atomic long long inflight;
    _Atomic int started;
    /* the edge's counters */
    _Atomic long long conns_open;
    _Atomic unsigned long long conns_refused, timeouts_headers, timeouts_body;
    route_stats routes[DK_HTTP_MAX_ROUTES + 1]; /* last: unmatched */
    dk_hist loop_lag; /* how late each loop's 10 ms tick ran: the time a ready request waited */
    dk_gauge gauges[DK_HTTP_MAX_GAUGES];
    int ngauges;
    dk_named_hist hists[DK_HTTP_MAX_HISTS];
    int nhists;
};

/* dk_http.c */
const char *dk_http_reason(int status);
/* The route taking method and path (-1: none), without capturing its parameters. */
int dk_http_route_of(dk_http_server *s, const char *method, const char *path, size_t pathlen);
/* The largest body the route takes (route -1: http_max_body). */
size_t dk_http_route_max_body(const dk_http_server *s, int route);
/* Whether origin may read replies (http_cors_origins). */
int dk_http_cors_allowed(const dk_http_server *s, const char *origin, size_t len);
/* {"error":{"code","message"}} of dk_http_fail, malloc'd. */
char *dk_http_error_json(int code, const char *msg);
/* Counts a reply that no dk_req carried (a refusal at the edge) in route's stats. */
void dk_http_count(dk_http_server *s, int route, int status, long long start_us);

/* dk_http_edge.c: on the loop's thread, from loop setup to evhttp_free */
dk_edge *dk_edge_new(dk_loop *loop);
/* After evhttp_free(loop->http): frees what is left (connections never adopted). */
void dk_edge_free(dk_edge *e);
/* dispatch(): the request is complete and handed to the app; no deadline until replied. */
void dk_edge_dispatched(dk_loop *loop, struct evhttp_request *req);

#endif
