/* bench_http.c - the generator's HTTP/1.1 client: a bounded pool of keep-alive connections
 * over bufferevents, a FIFO of requests waiting for one, a small response parser and a
 * deadline per request, on one client thread's event_base. The caller owns each bench_req.
 * A request that got no byte back on a reused connection (the server closed it as we
 * wrote) is resent once on a new one and counted as stale_retries, not as an error. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "bench_internal.h"
#include "dk_log.h"

#define IDLE_REOPEN_MS 10000
#define MAX_HEAD 65536
#define MAX_BODY (16u << 20)

enum { C_IDLE, C_BUSY };
enum { PS_HEAD, PS_BODY, PS_CHUNK_SIZE, PS_CHUNK_DATA, PS_CHUNK_CRLF, PS_TRAILER, PS_UNTIL_CLOSE };

typedef struct bench_conn {
    bench_client *cl;
    struct bufferevent *bev; /* NULL: not connected (opened on next use) */
    struct event *timer;
    int state, oneshot, connected, pending_terr;
    bench_req *req;
    int64_t last_used_us;
    uint64_t served; /* responses on the current TCP connection */
    /* the response being parsed */
    int ps, status, close, retry_after, chunked;
    int64_t clen;
    size_t got, chunk_left;
    struct evbuffer *body;
} bench_conn;

struct bench_client {
    bench_thread *t;
    struct event_base *base;
    struct sockaddr_in sa;
    int port, timeout_ms;
    bench_conn *conns;
    int nconns;
    bench_conn **idle; /* ring of free connections */
    int idle_head, idle_n;
    bench_req *wq_head, *wq_tail;
};

static void conn_read(struct bufferevent *bev, void *arg);
static void conn_event(struct bufferevent *bev, short what, void *arg);
static void conn_timer(evutil_socket_t fd, short what, void *arg);
static void send_on(bench_conn *c, bench_req *r);

static void conn_init(bench_conn *c, bench_client *cl)
{
    memset(c, 0, sizeof *c);
    c->cl = cl;
    c->timer = evtimer_new(cl->base, conn_timer, c);
    c->body = evbuffer_new();
}

static void conn_close(bench_conn *c)
{
    if (c->bev) bufferevent_free(c->bev);
    c->bev = NULL;
    c->connected = 0;
    c->served = 0;
}

static void conn_fini(bench_conn *c)
{
    conn_close(c);
    if (c->timer) event_free(c->timer);
    if (c->body) evbuffer_free(c->body);
}

static int conn_open(bench_conn *c)
{
    bench_client *cl = c->cl;
    c->bev = bufferevent_socket_new(cl->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->connected = 0;
    c->served = 0;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&cl->sa, sizeof cl->sa) < 0) {
        conn_close(c);
        return -1;
    }
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

bench_client *bench_client_new(bench_thread *t, struct event_base *base, int port, int nconns,
                               int timeout_ms)
{
    bench_client *cl = dk_calloc(1, sizeof *cl);
    cl->t = t;
    cl->base = base;
    cl->port = port;
    cl->timeout_ms = timeout_ms;
    cl->sa.sin_family = AF_INET;
    cl->sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &cl->sa.sin_addr); /* the only target, by design */
    cl->nconns = nconns;
    cl->conns = dk_calloc((size_t)nconns, sizeof *cl->conns);
    cl->idle = dk_calloc((size_t)nconns, sizeof *cl->idle);
    for (int i = 0; i < nconns; i++) {
        conn_init(&cl->conns[i], cl);
        cl->idle[cl->idle_n++] = &cl->conns[i];
    }
    return cl;
}

void bench_client_free(bench_client *cl)
{
    if (!cl) return;
    for (int i = 0; i < cl->nconns; i++)
        conn_fini(&cl->conns[i]);
    free(cl->conns);
    free(cl->idle);
    free(cl);
}

/* ---- requests --------------------------------------------------------------------------- */

static void write_request(bench_conn *c, bench_req *r)
{
    char head[640];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", r->method,
                     r->path, c->cl->port);
    if (r->token)
        n += snprintf(head + n, sizeof head - (size_t)n, "Authorization: Bearer %s\r\n", r->token);
    if (r->blob)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n", r->blob_len);
    else if (r->body_len || strcmp(r->method, "GET") != 0)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", r->body_len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, head, (size_t)n);
    if (r->blob)
        evbuffer_add_reference(out, r->blob, r->blob_len, NULL, NULL);
    else if (r->body_len)
        evbuffer_add(out, r->body, r->body_len);
}

static void send_on(bench_conn *c, bench_req *r)
{
    int64_t now = bench_now_us();
    if (c->bev && !c->oneshot && now - c->last_used_us > IDLE_REOPEN_MS * 1000LL) conn_close(c);
    c->state = C_BUSY;
    c->req = r;
    c->ps = PS_HEAD;
    c->got = 0;
    c->status = 0;
    c->close = 0;
    c->retry_after = -1;
    c->chunked = 0;
    c->clen = -1;
    c->pending_terr = T_NONE;
    evbuffer_drain(c->body, evbuffer_get_length(c->body));
    if (!r->attempts) r->first_sent_us = now;
    r->attempts++;
    r->sent_us = now;
    struct timeval tv = {c->cl->timeout_ms / 1000, (c->cl->timeout_ms % 1000) * 1000};
    if (!c->bev && conn_open(c) != 0) { /* reported from the loop, never re-entrantly */
        c->pending_terr = T_CONNECT;
        tv = (struct timeval){0, 0};
    } else {
        write_request(c, r);
    }
    evtimer_add(c->timer, &tv);
}

void bench_send(bench_client *cl, bench_req *r)
{
    r->status = 0;
    r->terr = T_NONE;
    r->retry_after = -1;
    r->resp = NULL;
    r->resp_len = 0;
    r->attempts = 0;
    r->next = NULL;
    if (!r->due_us) r->due_us = bench_now_us();
    atomic_fetch_add_explicit(&cl->t->live.inflight, 1, memory_order_relaxed);
    if (r->fresh) {
        bench_conn *c = dk_malloc(sizeof *c);
        conn_init(c, cl);
        c->oneshot = 1;
        send_on(c, r);
        return;
    }
    if (cl->idle_n) {
        bench_conn *c = cl->idle[cl->idle_head];
        cl->idle_head = (cl->idle_head + 1) % cl->nconns;
        cl->idle_n--;
        send_on(c, r);
        return;
    }
    if (cl->wq_tail)
        cl->wq_tail->next = r;
    else
        cl->wq_head = r;
    cl->wq_tail = r;
    atomic_fetch_add_explicit(&cl->t->live.waiting, 1, memory_order_relaxed);
}

static void record(bench_client *cl, bench_req *r, int64_t now)
{
    bench_thread *t = cl->t;
    bench_stats *st = &t->stats[r->phase];
    int64_t e2e = now - r->due_us, svc = now - r->sent_us;
    bench_hist_add(&st->e2e[r->route], (uint64_t)(e2e > 0 ? e2e : 0));
    bench_hist_add(&st->service[r->route], (uint64_t)(svc > 0 ? svc : 0));
    int64_t wait = r->first_sent_us - r->due_us;
    bench_hist_add(&st->wait[r->route], (uint64_t)(wait > 0 ? wait : 0));
    if (r->terr)
        st->terr[r->route][r->terr]++;
    else
        st->status[r->route][r->status < BENCH_MAX_STATUS ? r->status : 0]++;
    atomic_fetch_add_explicit(&t->live.done, 1, memory_order_relaxed);
    if (!r->terr && r->status >= 200 && r->status < 300)
        atomic_fetch_add_explicit(&t->live.ok, 1, memory_order_relaxed);
    else if (!r->terr && (r->status == 429 || r->status == 503) && r->retry_after >= 0)
        atomic_fetch_add_explicit(&t->live.backoffs, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&t->live.errors, 1, memory_order_relaxed);
}

/* The request on c is over (a response, or a transport failure): record it, free or
 * recycle the connection, then tell the caller. */
static void finish(bench_conn *c, int terr)
{
    bench_client *cl = c->cl;
    bench_req *r = c->req;
    int64_t now = bench_now_us();
    evtimer_del(c->timer);
    c->req = NULL;
    c->last_used_us = now;
    uint64_t served_before = c->served;
    if (terr == T_NONE) c->served++;
    if (terr != T_NONE || c->close || c->oneshot) conn_close(c);

    if (terr == T_RESET && c->got == 0 && served_before > 0 && r->attempts == 1) {
        cl->t->stats[r->phase].stale_retries++;
        send_on(c, r); /* reopens: c->bev is NULL now */
        return;
    }
    r->terr = terr;
    if (terr == T_NONE) {
        r->status = c->status;
        r->retry_after = c->retry_after;
        size_t len = evbuffer_get_length(c->body);
        r->resp = dk_malloc(len + 1);
        evbuffer_remove(c->body, r->resp, len);
        r->resp[len] = '\0';
        r->resp_len = len;
    }
    atomic_fetch_sub_explicit(&cl->t->live.inflight, 1, memory_order_relaxed);
    record(cl, r, now);

    if (c->oneshot) {
        conn_fini(c);
        free(c);
    } else if (cl->wq_head) {
        bench_req *next = cl->wq_head;
        cl->wq_head = next->next;
        if (!cl->wq_head) cl->wq_tail = NULL;
        next->next = NULL;
        atomic_fetch_sub_explicit(&cl->t->live.waiting, 1, memory_order_relaxed);
        send_on(c, next);
    } else {
        c->state = C_IDLE;
        cl->idle[(cl->idle_head + cl->idle_n) % cl->nconns] = c;
        cl->idle_n++;
    }
    char *resp = r->resp;
    r->cb(r); /* may send r again: resp is ours to free */
    free(resp);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static int parse_head(bench_conn *c, const char *h, size_t n)
{
    const char *end = h + n, *eol = memchr(h, '\n', n);
    if (!eol || n < 12 || strncmp(h, "HTTP/1.", 7) != 0) return -1;
    c->status = atoi(h + 9);
    if (c->status < 100 || c->status > 599) return -1;
    c->close = h[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
    for (const char *l = eol + 1; l < end; l = eol + 1) {
        eol = memchr(l, '\n', (size_t)(end - l));
        if (!eol) break;
        size_t len = (size_t)(eol - l);
        if (len && l[len - 1] == '\r') len--;
        if (!len) break;
#define HDR(name) (len > sizeof(name) - 1 && !strncasecmp(l, name, sizeof(name) - 1))
#define VAL(name) (l + sizeof(name) - 1 + strspn(l + sizeof(name) - 1, " \t"))
        if (HDR("content-length:"))
            c->clen = strtoll(VAL("content-length:"), NULL, 10);
        else if (HDR("transfer-encoding:"))
            c->chunked = !strncasecmp(VAL("transfer-encoding:"), "chunked", 7);
        else if (HDR("connection:")) {
            const char *v = VAL("connection:");
            if (!strncasecmp(v, "close", 5))
                c->close = 1;
            else if (!strncasecmp(v, "keep-alive", 10))
                c->close = 0;
        } else if (HDR("retry-after:"))
            c->retry_after = atoi(VAL("retry-after:"));
#undef HDR
#undef VAL
    }
    if (c->clen > (int64_t)MAX_BODY) return -1;
    return 0;
}

/* Returns 1 when the response is complete, 0 when more bytes are needed, -1 on garbage. */
static int parse(bench_conn *c, struct evbuffer *in)
{
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        switch (c->ps) {
        case PS_HEAD: {
            struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (p.pos < 0) return avail > MAX_HEAD ? -1 : 0;
            size_t hl = (size_t)p.pos + 4;
            const char *h = (const char *)evbuffer_pullup(in, (ev_ssize_t)hl);
            if (parse_head(c, h, hl) != 0) return -1;
            evbuffer_drain(in, hl);
            if (c->status < 200) { /* 100 Continue and friends: the real head follows */
                c->clen = -1, c->chunked = 0;
                continue;
            }
            if (c->chunked)
                c->ps = PS_CHUNK_SIZE;
            else if (c->clen >= 0)
                c->ps = PS_BODY;
            else
                c->ps = PS_UNTIL_CLOSE;
            continue;
        }
        case PS_BODY: {
            size_t have = evbuffer_get_length(c->body), want = (size_t)c->clen - have;
            size_t n = avail < want ? avail : want;
            if (n) evbuffer_remove_buffer(in, c->body, n);
            return evbuffer_get_length(c->body) == (size_t)c->clen;
        }
        case PS_CHUNK_SIZE:
        case PS_CHUNK_CRLF:
        case PS_TRAILER: {
            size_t len;
            char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
            if (!line) return avail > MAX_HEAD ? -1 : 0;
            if (c->ps == PS_CHUNK_SIZE) {
                char *e;
                unsigned long sz = strtoul(line, &e, 16);
                free(line);
                if (e == line) return -1;
                if (!sz) {
                    c->ps = PS_TRAILER;
                    continue;
                }
                if (evbuffer_get_length(c->body) + sz > MAX_BODY) return -1;
                c->chunk_left = sz;
                c->ps = PS_CHUNK_DATA;
            } else if (c->ps == PS_CHUNK_CRLF) {
                free(line);
                c->ps = PS_CHUNK_SIZE;
            } else {
                free(line);
                if (!len) return 1;
            }
            continue;
        }
        case PS_CHUNK_DATA: {
            size_t n = avail < c->chunk_left ? avail : c->chunk_left;
            if (!n) return 0;
            evbuffer_remove_buffer(in, c->body, n);
            c->chunk_left -= n;
            if (!c->chunk_left) c->ps = PS_CHUNK_CRLF;
            continue;
        }
        case PS_UNTIL_CLOSE:
            if (avail) evbuffer_remove_buffer(in, c->body, avail);
            if (evbuffer_get_length(c->body) > MAX_BODY) return -1;
            return 0; /* complete at EOF */
        }
    }
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    bench_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!c->req) { /* bytes nobody asked for: drop the connection */
        conn_close(c);
        return;
    }
    c->got += evbuffer_get_length(in);
    int rc = parse(c, in);
    if (rc == 1)
        finish(c, T_NONE);
    else if (rc < 0)
        finish(c, T_BADRESP);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    bench_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
    if (!c->req) { /* an idle keep-alive connection closed by the server */
        conn_close(c);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->ps == PS_UNTIL_CLOSE) {
        c->close = 1;
        finish(c, T_NONE);
        return;
    }
    finish(c, c->connected ? T_RESET : T_CONNECT);
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bench_conn *c = arg;
    if (!c->req) return;
    finish(c, c->pending_terr ? c->pending_terr : T_TIMEOUT);
}
