/* dk_http_edge.c - the HTTP edge: each connection from accept to close, before evhttp
 * hands a request to dispatch(). It caps open connections per node, gives the request
 * line and headers, then the body, each a whole-request deadline (not per byte), and
 * refuses a Content-Length above the route's limit with the JSON 413 before the body
 * is read (a chunked body is cut by evhttp at the same limit, set per request here).
 *
 * libevent 2.1 has no hook before a request's headers are read (evhttp_set_newreqcb is
 * 2.2), so the edge watches from below: evhttp_set_bevcb lets it make each connection's
 * bufferevent, a callback on that bufferevent's input sees every byte before evhttp
 * parses it (a copy of the header block is kept, up to 2 x http_max_headers), and the
 * evhttp_connection is adopted (bufferevent_getcb, evhttp_connection_set_closecb) on the
 * loop right after accept. A refusal never runs inside evhttp's callbacks: it is a task
 * on the loop that takes the bufferevent over, writes the reply and frees the
 * connection. A connection whose request is with the app (dispatch() to the reply) has
 * no deadline here and is never freed here. Everything runs on the loop's thread. */
#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dk_http_internal.h"
#include "dk_log.h"

typedef enum {
    C_HEADERS,  /* waiting for a request line and headers (header deadline) */
    C_BODY,     /* headers read, the body is arriving (body deadline) */
    C_APP,      /* dispatched: the app answers; no deadline */
    C_REFUSING, /* writing a refusal, then closed */
} conn_phase;

typedef struct dk_conn {
    dk_edge *edge;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until adopted */
    struct evbuffer_cb_entry *watch;
    struct event *deadline, *task;
    struct dk_conn *prev, *next;
    int fd;
    int ref_held; /* our reference on bev, from accept until adopted */
    int full;     /* accepted beyond http_max_connections */
    conn_phase phase;
    int route; /* of the request being refused, for metrics */
    long long start_us;
    char *reply; /* the refusal, written by task */
    size_t reply_len;
    size_t hdr_len, scanned;
    char hdr[]; /* the request line and headers so far (s->max_headers * 2) */
} dk_conn;

struct dk_edge {
    dk_loop *loop;
    dk_conn *head;
    dk_conn **by_fd; /* adopted connections by socket, to find them in dispatch() */
    size_t nby_fd;
};

static size_t hdr_cap(const dk_http_server *s)
{
    return s->max_headers * 2;
}

static void arm(dk_conn *c, int secs)
{
    struct timeval tv = {secs > 0 ? secs : 1, 0};
    evtimer_add(c->deadline, &tv);
}

/* ---- life ------------------------------------------------------------------------------ */

static void conn_free(dk_conn *c)
{
    dk_edge *e = c->edge;
    if (c->fd >= 0 && (size_t)c->fd < e->nby_fd && e->by_fd[c->fd] == c) e->by_fd[c->fd] = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        e->head = c->next;
    if (c->next) c->next->prev = c->prev;
    event_free(c->deadline);
    event_free(c->task);
    free(c->reply);
    atomic_fetch_sub(&e->loop->server->conns_open, 1);
    free(c);
}

/* evhttp frees the connection (closecb runs first, with the bufferevent still there). */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    dk_conn *c = arg;
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
    conn_free(c);
}

/* ---- refusals ------------------------------------------------------------------------- */

static void refused_sent(struct bufferevent *bev, void *arg)
{
    (void)bev;
    dk_conn *c = arg;
    evhttp_connection_free(c->evcon); /* conn_closed frees c */
}

static void refused_error(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    refused_sent(bev, arg);
}

/* Answers status with dk_http_fail's JSON body and closes; the reply is written by the
 * task, outside evhttp's callbacks. origin: the request's Origin header, or NULL. */
static void refuse(dk_conn *c, int route, int code, const char *msg, const char *origin,
                   size_t originlen)
{
    dk_http_server *s = c->edge->loop->server;
    int status = dk_err_http_status(code);
    char *body = dk_http_error_json(code, msg);
    char cors[300] = "";
    if (origin && dk_http_cors_allowed(s, origin, originlen))
        snprintf(cors, sizeof cors, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n",
                 (int)originlen, origin);
    size_t blen = strlen(body), cap = blen + strlen(cors) + 512; /* 512: the fixed lines */
    c->reply = dk_malloc(cap);
    int n = snprintf(c->reply, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                     "Referrer-Policy: no-referrer\r\n%s%s\r\n%s",
                     status, dk_http_reason(status), blen, cors,
                     code == DK_EBUSY ? "Retry-After: 1\r\n" : "", body);
    c->reply_len = n > 0 && (size_t)n < cap ? (size_t)n : 0;
    free(body);
    c->route = route;
    c->phase = C_REFUSING;
    evtimer_del(c->deadline);
    event_active(c->task, 0, 0);
}

static void refuse_now(dk_conn *c)
{
    dk_http_server *s = c->edge->loop->server;
    dk_http_count(s, c->route, c->full ? 503 : 413, c->start_us);
    struct bufferevent *bev = c->bev;
    if (!c->reply_len) {
        evhttp_connection_free(c->evcon); /* conn_closed frees c */
        return;
    }
    bufferevent_disable(bev, EV_READ);
    bufferevent_setcb(bev, NULL, refused_sent, refused_error, c);
    struct timeval tv = {5, 0};
    bufferevent_set_timeouts(bev, NULL, &tv);
    evbuffer_add(bufferevent_get_output(bev), c->reply, c->reply_len);
    bufferevent_enable(bev, EV_WRITE);
}

/* ---- the header block ------------------------------------------------------------------ */

/* The value of header name (case-insensitive) in the block [p, end), trimmed; NULL if absent. */
static const char *header_value(const char *p, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    p = memchr(p, '\n', (size_t)(end - p)); /* past the request line */
    while (p && ++p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) return NULL;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *len = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

/* The headers of a request have all arrived (hdr[0, end)): find its route and limit,
 * refuse a Content-Length above it, or start the body's deadline. */
static void headers_done(dk_conn *c, size_t end, struct evbuffer *in)
{
    dk_http_server *s = c->edge->loop->server;
    const char *p = c->hdr, *e = c->hdr + end;
    const char *eol = memchr(p, '\n', end);
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *target = sp1 ? sp1 + 1 : NULL;
    const char *sp2 = target ? memchr(target, ' ', (size_t)(eol - target)) : NULL;
    int route = -1;
    char method[8] = "";
    if (sp1 && sp2 && sp1 - p < (long)sizeof method && *target == '/') {
        memcpy(method, p, (size_t)(sp1 - p));
        size_t plen = strcspn(target, "?# ");
        if (target + plen > sp2) plen = (size_t)(sp2 - target);
        route = dk_http_route_of(s, method, target, plen);
    }
    /* a target we cannot read is limited by the largest route, as before */
    size_t limit = route >= 0 || *method ? dk_http_route_max_body(s, route) : s->biggest_body;
    evhttp_connection_set_max_body_size(c->evcon, (ev_ssize_t)limit); /* cuts chunked bodies */

    size_t cllen = 0, olen = 0, telen = 0;
    const char *cl = header_value(p, e, "Content-Length", &cllen);
    const char *origin = header_value(p, e, "Origin", &olen);
    int body = header_value(p, e, "Transfer-Encoding", &telen) != NULL ||
               (cl && cllen && !(cllen == 1 && *cl == '0'));
    if (cl && (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))) {
        unsigned long long n = 0;
        size_t i = 0;
        for (; i < cllen && cl[i] >= '0' && cl[i] <= '9'; i++)
            n = n > (1ULL << 50) ? n : n * 10 + (unsigned)(cl[i] - '0'); /* saturates */
        if (i == cllen && n > limit) {
            /* evhttp must not see the rest of these headers: drained, it waits for more,
             * and the task answers and closes before it reads again */
            evbuffer_drain(in, evbuffer_get_length(in));
            char msg[96];
            snprintf(msg, sizeof msg, "请求内容过大（上限 %zu 字节）", limit);
            refuse(c, route, DK_ETOOBIG, msg, origin, olen);
            return;
        }
    }
    c->phase = C_BODY;
    if (body) {
        evtimer_del(c->deadline);
        arm(c, s->body_timeout_s);
    }
}

/* Takes the last n bytes of in into the header block and looks for its end (an empty
 * line, "\n\n" or "\n\r\n", as evhttp reads lines). */
static void take(dk_conn *c, struct evbuffer *in, size_t n)
{
    dk_http_server *s = c->edge->loop->server;
    size_t have = evbuffer_get_length(in), room = hdr_cap(s) - c->hdr_len;
    if (n > have) n = have;
    if (n > room) n = room; /* too long: evhttp refuses it, the header deadline stays */
    if (!n) return;
    struct evbuffer_ptr at;
    evbuffer_ptr_set(in, &at, have - n, EVBUFFER_PTR_SET);
    evbuffer_copyout_from(in, &at, c->hdr + c->hdr_len, n);
    c->hdr_len += n;
    for (size_t i = c->scanned; i < c->hdr_len; i++) {
        if (c->hdr[i] != '\n') continue;
        size_t j = i + 1;
        if (j < c->hdr_len && c->hdr[j] == '\r') j++;
        if (j < c->hdr_len && c->hdr[j] == '\n' && i > 0) {
            headers_done(c, j + 1, in);
            return;
        }
    }
    c->scanned = c->hdr_len > 2 ? c->hdr_len - 2 : 0;
}

/* Every change of the connection's input; bytes added come from the socket and are
 * seen here before evhttp reads them. */
static void watch(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    dk_conn *c = arg;
    if (info->n_added && c->phase == C_HEADERS && c->evcon) take(c, in, info->n_added);
}

/* on_complete of a reply: the next request's deadline starts. */
static void replied(struct evhttp_request *req, void *arg)
{
    (void)req;
    dk_conn *c = arg;
    dk_http_server *s = c->edge->loop->server;
    c->phase = C_HEADERS;
    c->hdr_len = c->scanned = 0;
    c->start_us = dk_now_us();
    arm(c, s->header_timeout_s);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in)) take(c, in, evbuffer_get_length(in)); /* pipelined */
}

void dk_edge_dispatched(dk_loop *loop, struct evhttp_request *req)
{
    dk_edge *e = loop->server->edges[loop->index];
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    int fd = evcon ? bufferevent_getfd(evhttp_connection_get_bufferevent(evcon)) : -1;
    dk_conn *c = fd >= 0 && (size_t)fd < e->nby_fd ? e->by_fd[fd] : NULL;
    if (!c || c->evcon != evcon) return;
    c->phase = C_APP;
    evtimer_del(c->deadline);
    evhttp_request_set_on_complete_cb(req, replied, c);
}

/* ---- accept ------------------------------------------------------------------------------ */

static void deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_conn *c = arg;
    dk_http_server *s = c->edge->loop->server;
    if (c->phase != C_HEADERS && c->phase != C_BODY) return;
    atomic_fetch_add(c->phase == C_HEADERS ? &s->timeouts_headers : &s->timeouts_body, 1);
    DK_DEBUG(s->opts.name, "slow request closed phase=%s fd=%d",
             c->phase == C_HEADERS ? "headers" : "body", c->fd);
    evhttp_connection_free(c->evcon); /* conn_closed frees c */
}

/* Right after accept, on the loop: evhttp has set the bufferevent's callbacks with its
 * connection as their argument (or freed it already, leaving none). */
static void adopt(dk_conn *c)
{
    dk_edge *e = c->edge;
    dk_http_server *s = e->loop->server;
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *evcon = NULL;
    bufferevent_getcb(c->bev, &rd, &wr, &ev, &evcon);
    c->ref_held = 0;
    if (!evcon) {
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
        bufferevent_decref(c->bev);
        conn_free(c);
        return;
    }
    bufferevent_decref(c->bev); /* evhttp holds its own */
    c->evcon = evcon;
    c->fd = bufferevent_getfd(c->bev);
    evhttp_connection_set_closecb(c->evcon, conn_closed, c);
    if (c->fd >= 0) {
        if ((size_t)c->fd >= e->nby_fd) {
            size_t n = (size_t)c->fd * 2 + 64;
            e->by_fd = realloc(e->by_fd, n * sizeof *e->by_fd);
            if (!e->by_fd) abort();
            memset(e->by_fd + e->nby_fd, 0, (n - e->nby_fd) * sizeof *e->by_fd);
            e->nby_fd = n;
        }
        e->by_fd[c->fd] = c;
    }
    if (c->full) {
        atomic_fetch_add(&s->conns_refused, 1);
        refuse(c, -1, DK_EBUSY, "服务器繁忙，请稍后重试", NULL, 0);
        return;
    }
    arm(c, s->header_timeout_s);
}

static void task(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_conn *c = arg;
    if (c->ref_held) {
        adopt(c); /* may free c, or queue the task again to refuse */
        return;
    }
    if (c->phase == C_REFUSING) refuse_now(c);
}

/* evhttp's bevcb: a new connection was accepted on this loop. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
    dk_edge *e = arg;
    dk_http_server *s = e->loop->server;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        DK_ERROR(s->opts.name, "bufferevent_socket_new failed");
        abort();
    }
    dk_conn *c = dk_calloc(1, sizeof *c + hdr_cap(s));
    c->edge = e;
    c->bev = bev;
    c->fd = -1;
    c->route = -1;
    c->start_us = dk_now_us();
    bufferevent_incref(bev);
    c->ref_held = 1;
    c->watch = evbuffer_add_cb(bufferevent_get_input(bev), watch, c);
    c->deadline = evtimer_new(base, deadline, c);
    c->task = event_new(base, -1, 0, task, c);
    c->next = e->head;
    if (e->head) e->head->prev = c;
    e->head = c;
    c->full = atomic_fetch_add(&s->conns_open, 1) + 1 > s->max_conns;
    event_active(c->task, 0, 0);
    return bev;
}

dk_edge *dk_edge_new(dk_loop *loop)
{
    dk_edge *e = dk_calloc(1, sizeof *e);
    e->loop = loop;
    evhttp_set_bevcb(loop->http, conn_new, e);
    return e;
}

void dk_edge_free(dk_edge *e)
{
    if (!e) return;
    while (e->head) { /* accepted while stopping, never adopted */
        dk_conn *c = e->head;
        if (c->ref_held) {
            evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
            bufferevent_decref(c->bev);
        }
        conn_free(c);
    }
    free(e->by_fd);
    free(e);
}
