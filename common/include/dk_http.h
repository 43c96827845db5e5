/* dk_http.h - the HTTP servers' shared layer over evhttp: N event loops on one port
 * (SO_REUSEPORT), a route table, one request context per request, JSON replies and
 * errors, static files, and per-route metrics.
 *
 * A dk_req is created when a request arrives and freed in exactly one place: the
 * dk_http_reply* / dk_http_fail call that answers it. Handlers run on the loop's
 * thread and must never block; slow work goes to a dk_workq whose completion comes
 * back through loop->mailbox. Requests in flight are counted and shown in /metrics. */
#ifndef DK_HTTP_H
#define DK_HTTP_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stddef.h>

#include "dk_config.h"
#include "dk_err.h"
#include "dk_metrics.h"
#include "dk_redis.h"
#include "dk_workq.h"

#define DK_HTTP_MAX_PARAMS 4

typedef struct dk_http_server dk_http_server;

/* One per event-loop thread. The app may hang its per-loop state on app. */
typedef struct dk_loop {
    int index;
    struct event_base *base;
    struct evhttp *http;
    dk_aredis *redis;
    dk_mailbox *mailbox;
    dk_http_server *server;
    void *app;
} dk_loop;

typedef struct dk_req {
    struct evhttp_request *req;
    dk_loop *loop;
    int route;           /* index into the route table, -1 for static files / 404 */
    long long start_us;  /* monotonic */
    char *params[DK_HTTP_MAX_PARAMS]; /* the {} segments of the matched pattern */
    size_t nparams;
    const unsigned char *body; /* the whole request body (not NUL-terminated) */
    size_t body_len;
    char peer[48];       /* client address, for rate limits and audit */
    void *state;         /* the handler's state, released by state_free at reply time */
    void (*state_free)(void *state);
} dk_req;

typedef void (*dk_handler)(dk_req *rq);

typedef struct dk_route {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern; /* "/api/v1/sessions/{}/answers/{}" */
    dk_handler fn;
    const char *name;    /* metrics label */
    size_t max_body;     /* 0 = the configured http_max_body */
} dk_route;

typedef double (*dk_gauge_fn)(dk_http_server *s, void *arg);

/* A value shown in /metrics, read by fn(server, arg) on a loop thread when scraped. */
typedef struct dk_gauge {
    const char *name, *help;
    dk_gauge_fn fn;
    void *arg;
} dk_gauge;

/* A histogram shown in /metrics as "<name>_bucket{le=..}"; the caller owns h. */
typedef struct dk_named_hist {
    const char *name, *help;
    dk_hist *h;
} dk_named_hist;

typedef struct dk_http_opts {
    const char *name;           /* "examd" */
    const char *port_key;       /* config key of the port: "exam_port" */
    const dk_route *routes;
    size_t nroutes;
    void (*loop_init)(dk_loop *loop, void *udata); /* on the loop's thread, before serving */
    void (*loop_fini)(dk_loop *loop, void *udata); /* on the loop's thread, after it stops */
    /* At stop, after requests in flight are answered and while the loops still run:
     * wait (bounded) until background work that reports back to the loops is done. */
    void (*quiesce)(dk_http_server *s, void *udata);
    void *udata;
    /* /metrics gauges, copied before any loop serves (so never read while being added) */
    const dk_gauge *gauges;
    size_t ngauges;
    const dk_named_hist *hists; /* copied likewise; at most 16 */
    size_t nhists;
} dk_http_opts;

/* Binds, starts the loop threads and returns; each loop owns an evhttp, a dk_aredis
 * and a mailbox. Call evthread_use_pthreads() first (dk_http_start does it). */
dk_http_server *dk_http_start(const dk_config *cfg, const dk_http_opts *o, dk_error *err);
/* Stops accepting, lets requests in flight finish (up to grace_ms), stops the loops,
 * joins them and frees everything. */
void dk_http_stop(dk_http_server *s, int grace_ms);
int dk_http_port(const dk_http_server *s); /* the bound port (useful when configured 0) */
const dk_config *dk_http_config(const dk_http_server *s);
void *dk_http_udata(const dk_http_server *s);
long long dk_http_inflight(const dk_http_server *s);

/* Renders request counts, latency histograms per route, in-flight and the gauges. */
void dk_http_metrics_render(dk_http_server *s, struct evbuffer *out);
dk_hist *dk_http_route_hist(dk_http_server *s, const char *route_name);

/* Replies; each frees rq. */
void dk_http_reply(dk_req *rq, int status, const char *content_type, const void *body, size_t len);
void dk_http_reply_evbuf(dk_req *rq, int status, const char *content_type, struct evbuffer *b);
void dk_http_reply_json(dk_req *rq, int status, json_t *v); /* steals the reference */
/* {"error":{"code":..,"message":..}} with the status of e->code, Retry-After if set. */
void dk_http_fail(dk_req *rq, const dk_error *e);
void dk_http_failf(dk_req *rq, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

const char *dk_http_header(dk_req *rq, const char *name);
/* Whether the client (rq->peer) is in metrics_allow (IPs and CIDRs). */
int dk_http_metrics_allowed(const dk_req *rq);
/* A query-string parameter copied into out (URL-decoded); 0 or DK_ENOTFOUND. */
int dk_http_query(dk_req *rq, const char *key, char *out, size_t outsz);
/* Parses the body as JSON (bounded by the route's max_body). */
int dk_http_body_json(dk_req *rq, json_t **out, dk_error *err);
/* Serves GET requests for files under root (no "..", bounded size), or 404. */
void dk_http_serve_static(dk_req *rq, const char *root);

long long dk_now_us(void);   /* monotonic */
long long dk_wall_ms(void);  /* unix time in ms */

#endif
