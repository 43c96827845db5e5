/* dk_http.c - N libevent loops serving one port, route matching, the request context
 * and its single reply, static files and per-route metrics.
 *
 * Each loop thread has its own event_base, evhttp, Redis client and mailbox, and its
 * own SO_REUSEPORT socket, so the kernel spreads connections over the loops. The only
 * state shared between loops is atomics (metrics) and the immutable config. What happens
 * to a connection before its request is complete (limits, deadlines, the connection
 * cap) is dk_http_edge.c's. */
#include "dk_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dk_http_internal.h"
#include "dk_json.h"
#include "dk_log.h"

#define MAX_GAUGES DK_HTTP_MAX_GAUGES
#define MAX_ROUTES DK_HTTP_MAX_ROUTES

long long dk_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long dk_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- routing ---------------------------------------------------------------------- */

/* Matches path against pattern; "{}" matches one non-empty segment of [A-Za-z0-9_-]. */
static int match(const char *pattern, const char *path, size_t pathlen, dk_req *rq)
{
    const char *p = pattern, *s = path, *end = path + pathlen;
    size_t n = 0;
    while (*p && s < end) {
        if (p[0] == '{' && p[1] == '}') {
            const char *st = s;
            while (s < end && *s != '/') {
                char c = *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                    goto nomatch;
                s++;
            }
            if (s == st || s - st > 64 || n >= DK_HTTP_MAX_PARAMS) goto nomatch;
            if (rq) rq->params[n] = dk_strndup(st, (size_t)(s - st));
            n++;
            p += 2;
        } else if (*p++ != *s++) {
            goto nomatch;
        }
    }
    if (*p || s != end) goto nomatch;
    if (rq) rq->nparams = n;
    return 1;
nomatch:
    for (size_t i = 0; rq && i < n; i++) {
        free(rq->params[i]);
        rq->params[i] = NULL;
    }
    return 0;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

int dk_http_route_of(dk_http_server *s, const char *method, const char *path, size_t pathlen)
{
    for (size_t i = 0; i < s->opts.nroutes; i++)
        if (!strcmp(s->opts.routes[i].method, method) &&
            match(s->opts.routes[i].pattern, path, pathlen, NULL))
            return (int)i;
    return -1;
}

size_t dk_http_route_max_body(const dk_http_server *s, int route)
{
    return route >= 0 && s->opts.routes[route].max_body ? s->opts.routes[route].max_body
                                                        : s->max_body;
}

/* ---- the request context ------------------------------------------------------------ */

static void req_free(dk_req *rq)
{
    for (size_t i = 0; i < rq->nparams; i++) free(rq->params[i]);
    if (rq->state_free && rq->state) rq->state_free(rq->state);
    free((void *)rq->body);
    free(rq);
}

void dk_http_count(dk_http_server *s, int route, int status, long long start_us)
{
    route_stats *st = &s->routes[route >= 0 ? route : MAX_ROUTES];
    int cls = status / 100;
    if (cls < 1 || cls > 5) cls = 5;
    atomic_fetch_add_explicit(&st->by_class[cls], 1, memory_order_relaxed);
    dk_hist_observe(&st->latency, dk_now_us() - start_us);
}

static void finish(dk_req *rq, int status)
{
    dk_http_server *s = rq->loop->server;
    dk_http_count(s, rq->route, status, rq->start_us);
    atomic_fetch_sub(&s->inflight, 1);
    req_free(rq);
}

const char *dk_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Internal Server Error" : "OK";
    }
}

/* The Date header (RFC 7231 IMF-fixdate), formatted once a second per thread; English
 * names from tables, whatever the locale. */
static const char *http_date(void)
{
    static _Thread_local char buf[32];
    static _Thread_local time_t shown = -1;
    time_t now = time(NULL);
    if (now != shown) {
        static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        shown = now;
    }
    return buf;
}

void dk_http_reply_evbuf(dk_req *rq, int status, const char *content_type, struct evbuffer *b)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(rq->req);
    if (content_type) evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* every reply, API or page: not sniffed, not framed, no Referer from it */
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Date", http_date()); /* else evhttp formats one per reply */
    evhttp_send_reply(rq->req, status, dk_http_reason(status), b);
    finish(rq, status);
}

void dk_http_reply(dk_req *rq, int status, const char *content_type, const void *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (len) evbuffer_add(b, body, len);
    dk_http_reply_evbuf(rq, status, content_type, b);
    evbuffer_free(b);
}

void dk_http_reply_json(dk_req *rq, int status, json_t *v)
{
    char *s = dk_json_dump(v);
    json_decref(v);
    dk_http_reply(rq, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
}

void dk_http_fail(dk_req *rq, const dk_error *e)
{
    int code = e && e->code ? e->code : DK_EINTERNAL;
    int status = dk_err_http_status(code);
    if (status >= 500 && code != DK_EBUSY)
        DK_WARN(rq->loop->server->opts.name, "request failed route=%d code=%s msg=\"%s\"",
                rq->route, dk_err_name(code), e ? e->msg : "");
    if ((code == DK_ERATELIMIT || code == DK_EBUSY) || (e && e->retry_after > 0)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", e && e->retry_after > 0 ? e->retry_after : 1);
        evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", ra);
    }
    const char *shown = e && e->msg[0] ? e->msg : NULL;
    /* A server-side failure whose message was written for the log (English: a driver's
     * "mysql query: 2013 Lost connection ...") is not shown: the page gets a plain
     * Chinese sentence, the log (above) keeps the detail. User-facing messages are
     * Chinese, so any non-ASCII byte marks one written for the page. */
    if (status >= 500 && shown) {
        int plain = 1;
        for (const unsigned char *c = (const unsigned char *)shown; *c && plain; c++)
            plain = *c < 0x80;
        if (plain) shown = code == DK_EBUSY ? "服务器繁忙，请稍后重试" : "服务器暂时无法处理，请稍后重试";
    }
    char *body = dk_http_error_json(code, shown);
    dk_http_reply(rq, status, "application/json; charset=utf-8", body, strlen(body));
    free(body);
}

char *dk_http_error_json(int code, const char *msg)
{
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", dk_err_name(code), "message",
                             msg && *msg ? msg : dk_err_name(code));
    if (!body)
        body = json_pack("{s:{s:s,s:s}}", "error", "code", dk_err_name(code), "message",
                                "invalid message encoding");
    char *s = dk_json_dump(body);
    json_decref(body);
    return s;
}

void dk_http_failf(dk_req *rq, int code, const char *fmt, ...)
{
    dk_error e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    dk_http_fail(rq, &e);
}

const char *dk_http_header(dk_req *rq, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(rq->req), name);
}

int dk_http_query(dk_req *rq, const char *key, char *out, size_t outsz)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->req));
    if (!q) return DK_ENOTFOUND;
    struct evkeyvalq kv;
    if (evhttp_parse_query_str(q, &kv) != 0) return DK_EINVAL;
    const char *v = evhttp_find_header(&kv, key);
    int rc = DK_ENOTFOUND;
    if (v) {
        snprintf(out, outsz, "%s", v);
        rc = strlen(v) < outsz ? 0 : DK_EINVAL;
    }
    evhttp_clear_headers(&kv);
    return rc;
}

int dk_http_body_json(dk_req *rq, json_t **out, dk_error *err)
{
    size_t max = rq->route >= 0 && rq->loop->server->opts.routes[rq->route].max_body
                     ? rq->loop->server->opts.routes[rq->route].max_body
                     : rq->loop->server->max_body;
    return dk_json_parse((const char *)rq->body, rq->body_len, max, out, err);
}

static const struct {
    const char *ext, *type;
} mime_table[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".json", "application/json"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
    {".svg", "image/svg+xml"}, {".ico", "image/x-icon"}, {".woff2", "font/woff2"},
};

void dk_http_serve_static(dk_req *rq, const char *root)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(rq->req));
    if (!root || !*root || !path || strstr(path, "..") || strlen(path) > 200) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这个页面");
        return;
    }
    char full[512];
    snprintf(full, sizeof full, "%s%s%s", root, path,
             path[strlen(path) - 1] == '/' ? "index.html" : "");
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
        if (fd >= 0) close(fd);
        dk_http_failf(rq, DK_ENOTFOUND, "没有这个页面");
        return;
    }
    const char *type = "application/octet-stream";
    const char *dot = strrchr(full, '.');
    for (size_t i = 0; dot && i < sizeof mime_table / sizeof mime_table[0]; i++)
        if (!strcmp(dot, mime_table[i].ext)) type = mime_table[i].type;
    /* the pages are ES modules and stylesheets from this origin, no inline script or
     * style; the exam page also calls admind (admin_url) and shows camera frames and
     * photos as blob: and data: images */
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Content-Security-Policy",
                      rq->loop->server->csp);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_file(b, fd, 0, st.st_size); /* takes the fd */
    dk_http_reply_evbuf(rq, 200, type, b);
    evbuffer_free(b);
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* Whether item is one of the comma-separated entries of list (exact match). */
static int listed(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        if (len && len == n && !strncmp(p, item, n)) return 1;
        p += len;
        p += strspn(p, ", ");
    }
    return 0;
}

/* Behind a load balancer every client has the balancer's address: when the peer is one
 * of http_trusted_proxies (comma-separated IPs), its X-Real-IP names the client. The
 * header of anyone else is ignored, so a client cannot choose its own address. */
static void real_peer(dk_http_server *s, dk_req *rq)
{
    const char *trusted = s->trusted_proxies;
    if (!*trusted || !rq->peer[0] || !listed(trusted, rq->peer)) return;
    const char *real = dk_http_header(rq, "X-Real-IP");
    unsigned char buf[16];
    if (real && (inet_pton(AF_INET, real, buf) == 1 || inet_pton(AF_INET6, real, buf) == 1))
        snprintf(rq->peer, sizeof rq->peer, "%s", real);
}

/* CORS: a page from one of http_cors_origins (the exam page on examd's origin calling
 * admind's physician API) may read the replies. Tokens go in the Authorization header,
 * never in cookies, so credentials are not allowed. Returns whether the origin is allowed. */
int dk_http_cors_allowed(const dk_http_server *s, const char *origin, size_t len)
{
    char o[201];
    if (len > 200) return 0;
    memcpy(o, origin, len);
    o[len] = '\0';
    return listed(dk_config_str(s->cfg, "http_cors_origins"), o);
}

static int cors_headers(dk_http_server *s, dk_req *rq)
{
    const char *list = dk_config_str(s->cfg, "http_cors_origins");
    if (!*list) return 0;
    struct evkeyvalq *h = evhttp_request_get_output_headers(rq->req);
    evhttp_add_header(h, "Vary", "Origin");
    const char *origin = dk_http_header(rq, "Origin");
    if (!origin || !dk_http_cors_allowed(s, origin, strlen(origin))) return 0;
    evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
    evhttp_add_header(h, "Access-Control-Expose-Headers", "Retry-After, Content-Disposition");
    return 1;
}

/* A preflight (OPTIONS) of a cross-origin request: 204 with the methods the path takes,
 * 403 for an origin not allowed, 404 for a path no route takes. */
static void preflight(dk_http_server *s, dk_req *rq, const char *path, int allowed)
{
    char methods[64] = "";
    for (size_t i = 0; i < s->opts.nroutes; i++) {
        const dk_route *r = &s->opts.routes[i];
        int hit = match(r->pattern, path, strlen(path), rq);
        for (size_t k = 0; k < rq->nparams; k++) free(rq->params[k]);
        rq->nparams = 0;
        if (!hit || strstr(methods, r->method)) continue;
        size_t used = strlen(methods);
        snprintf(methods + used, sizeof methods - used, "%s%s", used ? ", " : "", r->method);
    }
    if (!*methods) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这个接口");
        return;
    }
    if (!allowed) {
        dk_http_failf(rq, DK_EFORBIDDEN, "不允许来自该网页的跨域请求");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(rq->req);
    evhttp_add_header(h, "Access-Control-Allow-Methods", methods);
    evhttp_add_header(h, "Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
    evhttp_add_header(h, "Access-Control-Max-Age", "600");
    dk_http_reply(rq, 204, NULL, NULL, 0);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    dk_loop *loop = arg;
    dk_http_server *s = loop->server;
    dk_edge_dispatched(loop, req);
    dk_req *rq = dk_calloc(1, sizeof *rq);
    rq->req = req;
    rq->loop = loop;
    rq->route = -1;
    rq->start_us = dk_now_us();
    atomic_fetch_add(&s->inflight, 1);

    struct evhttp_connection *con = evhttp_request_get_connection(req);
    if (con) {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(con, &addr, &port);
        size_t n = addr ? strnlen(addr, sizeof rq->peer - 1) : 0;
        memcpy(rq->peer, addr ? addr : "", n);
        rq->peer[n] = '\0';
    }
    real_peer(s, rq);

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    rq->body_len = evbuffer_get_length(in);
    if (rq->body_len) {
        unsigned char *b = dk_malloc(rq->body_len);
        evbuffer_remove(in, b, rq->body_len);
        rq->body = b;
    }

    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path) {
        dk_http_failf(rq, DK_EINVAL, "请求地址无效");
        return;
    }
    const char *method = method_name(evhttp_request_get_command(req));
    int cors = cors_headers(s, rq);
    if (!strcmp(method, "OPTIONS")) {
        preflight(s, rq, path, cors);
        return;
    }
    size_t pathlen = strlen(path);
    int path_matched = 0;
    for (size_t i = 0; i < s->opts.nroutes; i++) {
        const dk_route *r = &s->opts.routes[i];
        if (!match(r->pattern, path, pathlen, rq)) continue;
        if (strcmp(r->method, method) != 0) {
            path_matched = 1;
            for (size_t k = 0; k < rq->nparams; k++) free(rq->params[k]);
            rq->nparams = 0;
            continue;
        }
        rq->route = (int)i;
        size_t max = r->max_body ? r->max_body : s->max_body;
        if (rq->body_len > max) {
            dk_http_failf(rq, DK_ETOOBIG, "请求内容过大（上限 %zu 字节）", max);
            return;
        }
        r->fn(rq);
        return;
    }
    if (path_matched) {
        dk_http_failf(rq, DK_EINVAL, "不支持的请求方法 %s", method);
        return;
    }
    const char *root = dk_config_str(s->cfg, "web_root");
    if (!strcmp(method, "GET") && strncmp(path, "/api/", 5) != 0 && *root) {
        dk_http_serve_static(rq, root);
        return;
    }
    dk_http_failf(rq, DK_ENOTFOUND, "没有这个接口");
}

/* ---- settings read once at start --------------------------------------------------- */

/* metrics_allow: "IP" or "IP/BITS" entries, comma-separated. */
static int parse_nets(dk_http_server *s, const char *list, dk_error *err)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        if (len) {
            char item[64];
            if (len >= sizeof item || s->nmetrics_allow == DK_HTTP_MAX_NETS)
                return dk_error_set(err, DK_EINVAL, "metrics_allow: too long");
            memcpy(item, p, len);
            item[len] = '\0';
            dk_net *n = &s->metrics_allow[s->nmetrics_allow];
            char *slash = strchr(item, '/'), *end = NULL;
            if (slash) *slash = '\0';
            n->family = strchr(item, ':') ? AF_INET6 : AF_INET;
            int max = n->family == AF_INET ? 32 : 128;
            n->bits = slash ? (int)strtol(slash + 1, &end, 10) : max;
            if (inet_pton(n->family, item, n->addr) != 1 || n->bits < 0 || n->bits > max ||
                (slash && (end == slash + 1 || *end)))
                return dk_error_set(err, DK_EINVAL, "metrics_allow: not an IP or CIDR: '%.*s'",
                                    (int)len, p);
            s->nmetrics_allow++;
        }
        p += len;
        p += strspn(p, ", ");
    }
    return 0;
}

int dk_http_metrics_allowed(const dk_req *rq)
{
    const dk_http_server *s = rq->loop->server;
    unsigned char a[16];
    int family = strchr(rq->peer, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, rq->peer, a) != 1) return 0;
    for (int i = 0; i < s->nmetrics_allow; i++) {
        const dk_net *n = &s->metrics_allow[i];
        if (n->family != family) continue;
        int full = n->bits / 8, rest = n->bits % 8;
        if (memcmp(a, n->addr, (size_t)full) != 0) continue;
        if (rest && ((a[full] ^ n->addr[full]) & (0xff << (8 - rest)) & 0xff)) continue;
        return 1;
    }
    return 0;
}

/* The web root's Content-Security-Policy: everything from this origin only, plus
 * connect-src to admind's origin (admin_url) that the exam page calls. */
static void make_csp(dk_http_server *s)
{
    const char *url = dk_config_str(s->cfg, "admin_url");
    char origin[200] = "";
    const char *host = strstr(url, "://");
    if (host) {
        size_t len = (size_t)(host + 3 - url) + strcspn(host + 3, "/?#");
        if (len < sizeof origin &&
            strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789.-:/[]") >= len)
            snprintf(origin, sizeof origin, " %.*s", (int)len, url);
        else
            DK_WARN(s->opts.name, "admin_url is not an origin the CSP can name url=\"%s\"", url);
    }
    snprintf(s->csp, sizeof s->csp,
             "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
             "media-src 'self' blob:; connect-src 'self'%s; font-src 'self'; object-src 'none'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
             origin);
}

/* http_max_connections, lowered to what the open-files limit leaves room for. */
static long long max_connections(const dk_http_server *s)
{
    long long cap = dk_config_int(s->cfg, "http_max_connections");
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long long room = (long long)rl.rlim_cur - 128; /* Redis, MariaDB, files, pipes */
        if (room < 16) room = 16;
        if (cap > room) {
            DK_WARN(s->opts.name,
                    "http_max_connections lowered to fit the open-files limit "
                    "configured=%lld nofile=%lld used=%lld",
                    cap, (long long)rl.rlim_cur, room);
            cap = room;
        }
    }
    return cap > 0 ? cap : 1;
}

/* ---- loops ------------------------------------------------------------------------- */

static int listen_socket(const char *host, int port, dk_error *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return dk_error_set(err, DK_EINVAL, "http_host must be an IPv4 address, got '%s'", host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return dk_error_set(err, DK_EIO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        close(fd);
        return dk_error_set(err, DK_EIO, "bind %s:%d: %s", host, port, strerror(e));
    }
    return fd;
}

/* The loop's tick: how late it runs is how long anything ready on this loop waited for
 * the thread (callbacks ahead of it, or no core free). */
#define LOOP_TICK_US 10000

typedef struct loop_tick {
    dk_http_server *s;
    struct event *ev;
    long long due_us;
} loop_tick;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    loop_tick *t = arg;
    long long now = dk_now_us();
    dk_hist_observe(&t->s->loop_lag, now > t->due_us ? now - t->due_us : 0);
    t->due_us = now + LOOP_TICK_US;
    struct timeval tv = {0, LOOP_TICK_US};
    evtimer_add(t->ev, &tv);
}

static void *loop_main(void *arg)
{
    dk_loop *loop = arg;
    dk_http_server *s = loop->server;
    if (s->opts.loop_init) s->opts.loop_init(loop, s->opts.udata);
    loop_tick tick = {.s = s, .due_us = dk_now_us() + LOOP_TICK_US};
    tick.ev = evtimer_new(loop->base, on_tick, &tick);
    struct timeval tv = {0, LOOP_TICK_US};
    evtimer_add(tick.ev, &tv);
    atomic_fetch_add(&s->started, 1);
    event_base_dispatch(loop->base);
    event_free(tick.ev);
    if (s->opts.loop_fini) s->opts.loop_fini(loop, s->opts.udata);
    return NULL;
}

dk_http_server *dk_http_start(const dk_config *cfg, const dk_http_opts *o, dk_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))evthread_use_pthreads);
    if (o->nroutes > MAX_ROUTES || o->ngauges > MAX_GAUGES || o->nhists > DK_HTTP_MAX_HISTS) {
        dk_error_set(err, DK_EINTERNAL, "too many routes, gauges or histograms");
        return NULL;
    }
    dk_http_server *s = dk_calloc(1, sizeof *s);
    s->cfg = cfg;
    s->opts = *o;
    for (size_t i = 0; i < o->ngauges; i++) s->gauges[s->ngauges++] = o->gauges[i];
    for (size_t i = 0; i < o->nhists; i++) s->hists[s->nhists++] = o->hists[i];
    s->opts.gauges = NULL; /* the caller's arrays need not outlive the call */
    s->opts.hists = NULL;
    s->max_body = (size_t)dk_config_int(cfg, "http_max_body");
    s->max_headers = (size_t)dk_config_int(cfg, "http_max_headers");
    s->timeout_s = (int)dk_config_int(cfg, "http_timeout_s");
    s->header_timeout_s = (int)dk_config_int(cfg, "http_header_timeout_s");
    s->body_timeout_s = (int)dk_config_int(cfg, "http_body_timeout_s");
    s->max_conns = max_connections(s);
    make_csp(s);
    s->trusted_proxies = dk_config_str(cfg, "http_trusted_proxies");
    if (parse_nets(s, dk_config_str(cfg, "metrics_allow"), err)) {
        free(s);
        return NULL;
    }
    s->nloops = (int)dk_config_int(cfg, "http_loops");
    if (s->nloops <= 0) s->nloops = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s->nloops <= 0) s->nloops = 1;
    s->port = (int)dk_config_int(cfg, o->port_key);
    const char *host = dk_config_str(cfg, "http_host");
    size_t biggest = s->max_body;
    for (size_t i = 0; i < o->nroutes; i++)
        if (o->routes[i].max_body > biggest) biggest = o->routes[i].max_body;
    s->biggest_body = biggest;

    s->loops = dk_calloc((size_t)s->nloops, sizeof *s->loops);
    s->threads = dk_calloc((size_t)s->nloops, sizeof *s->threads);
    s->bound = dk_calloc((size_t)s->nloops, sizeof *s->bound);
    s->edges = dk_calloc((size_t)s->nloops, sizeof *s->edges);
    for (int i = 0; i < s->nloops; i++) {
        int fd = listen_socket(host, s->port, err);
        if (fd < 0) goto fail;
        if (s->port == 0) { /* an ephemeral port: every further loop joins the same one */
            struct sockaddr_in sa;
            socklen_t sl = sizeof sa;
            getsockname(fd, (struct sockaddr *)&sa, &sl);
            s->port = ntohs(sa.sin_port);
        }
        dk_loop *l = &s->loops[i];
        l->index = i;
        l->server = s;
        l->base = event_base_new();
        l->http = evhttp_new(l->base);
        /* the edge sets each request's cap to its route's limit once its headers are in
         * (and answers a Content-Length above it with the JSON 413); this is the cap of
         * a request whose target it cannot read */
        evhttp_set_max_body_size(l->http, (ev_ssize_t)biggest);
        evhttp_set_max_headers_size(l->http, (ev_ssize_t)s->max_headers);
        evhttp_set_timeout(l->http, s->timeout_s);
        evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                                EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                                EVHTTP_REQ_OPTIONS);
        evhttp_set_gencb(l->http, dispatch, l);
        s->edges[i] = dk_edge_new(l);
        s->bound[i] = evhttp_accept_socket_with_handle(l->http, fd);
        if (!s->bound[i]) {
            close(fd);
            dk_error_set(err, DK_EIO, "evhttp_accept_socket failed");
            goto fail;
        }
        l->redis = dk_aredis_new(l->base, cfg);
        l->mailbox = dk_mailbox_new(l->base);
    }
    for (int i = 0; i < s->nloops; i++)
        if (pthread_create(&s->threads[i], NULL, loop_main, &s->loops[i]) != 0) {
            DK_ERROR(o->name, "pthread_create failed");
            abort();
        }
    while (atomic_load(&s->started) < s->nloops) usleep(1000);
    DK_INFO(o->name, "listening host=%s port=%d loops=%d", host, s->port, s->nloops);
    return s;
fail:
    for (int i = 0; i < s->nloops; i++) {
        dk_loop *l = &s->loops[i];
        if (l->redis) dk_aredis_free(l->redis);
        if (l->mailbox) dk_mailbox_free(l->mailbox);
        if (l->http) evhttp_free(l->http);
        dk_edge_free(s->edges[i]);
        if (l->base) event_base_free(l->base);
    }
    free(s->edges);
    free(s->loops);
    free(s->threads);
    free(s->bound);
    free(s);
    return NULL;
}

static void stop_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *l = arg;
    if (l->server->bound[l->index]) evhttp_del_accept_socket(l->http, l->server->bound[l->index]);
    l->server->bound[l->index] = NULL;
}

void dk_http_stop(dk_http_server *s, int grace_ms)
{
    if (!s) return;
    for (int i = 0; i < s->nloops; i++)
        event_base_once(s->loops[i].base, -1, EV_TIMEOUT, stop_accepting, &s->loops[i], NULL);
    long long until = dk_now_us() + (long long)grace_ms * 1000;
    while (atomic_load(&s->inflight) > 0 && dk_now_us() < until) usleep(10 * 1000);
    if (atomic_load(&s->inflight) > 0)
        DK_WARN(s->opts.name, "stopping with requests in flight count=%lld",
                (long long)atomic_load(&s->inflight));
    if (s->opts.quiesce) s->opts.quiesce(s, s->opts.udata);
    for (int i = 0; i < s->nloops; i++) event_base_loopexit(s->loops[i].base, NULL);
    for (int i = 0; i < s->nloops; i++) pthread_join(s->threads[i], NULL);
    for (int i = 0; i < s->nloops; i++) {
        dk_loop *l = &s->loops[i];
        dk_mailbox_free(l->mailbox); /* late completions run while Redis is still there */
        dk_aredis_free(l->redis);    /* answers what is pending with DK_EIO */
        evhttp_free(l->http);
        dk_edge_free(s->edges[i]); /* after evhttp_free: what it never adopted */
        event_base_free(l->base);
    }
    free(s->edges);
    free(s->loops);
    free(s->threads);
    free(s->bound);
    free(s);
}

int dk_http_port(const dk_http_server *s) { return s->port; }
const dk_config *dk_http_config(const dk_http_server *s) { return s->cfg; }
void *dk_http_udata(const dk_http_server *s) { return s->opts.udata; }
long long dk_http_inflight(const dk_http_server *s) { return atomic_load(&s->inflight); }

dk_hist *dk_http_route_hist(dk_http_server *s, const char *route_name)
{
    for (size_t i = 0; i < s->opts.nroutes; i++)
        if (!strcmp(s->opts.routes[i].name, route_name)) return &s->routes[i].latency;
    return NULL;
}

void dk_http_metrics_render(dk_http_server *s, struct evbuffer *out)
{
    const char *n = s->opts.name;
    evbuffer_add_printf(out, "# TYPE %s_requests_total counter\n", n);
    for (size_t i = 0; i <= s->opts.nroutes; i++) {
        route_stats *st = &s->routes[i == s->opts.nroutes ? MAX_ROUTES : i];
        const char *rn = i == s->opts.nroutes ? "other" : s->opts.routes[i].name;
        for (int c = 1; c <= 5; c++) {
            unsigned long long v = atomic_load(&st->by_class[c]);
            if (v) evbuffer_add_printf(out, "%s_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                                       n, rn, c, v);
        }
    }
    evbuffer_add_printf(out, "# TYPE %s_request_seconds histogram\n", n);
    for (size_t i = 0; i <= s->opts.nroutes; i++) {
        route_stats *st = &s->routes[i == s->opts.nroutes ? MAX_ROUTES : i];
        if (!atomic_load(&st->latency.count)) continue;
        char labels[96];
        snprintf(labels, sizeof labels, "route=\"%s\"",
                 i == s->opts.nroutes ? "other" : s->opts.routes[i].name);
        char name[64];
        snprintf(name, sizeof name, "%s_request_seconds", n);
        dk_hist_render(out, name, labels, &st->latency);
    }
    char lag[64];
    snprintf(lag, sizeof lag, "%s_loop_lag_seconds", n);
    evbuffer_add_printf(out, "# HELP %s how late the event loops' 10 ms tick ran\n# TYPE %s histogram\n",
                        lag, lag);
    dk_hist_render(out, lag, "", &s->loop_lag);
    evbuffer_add_printf(out, "# TYPE %s_requests_in_flight gauge\n%s_requests_in_flight %lld\n", n,
                        n, (long long)atomic_load(&s->inflight));
    evbuffer_add_printf(
        out,
        "# HELP %s_connections_open open client connections (http_max_connections)\n"
        "# TYPE %s_connections_open gauge\n%s_connections_open %lld\n"
        "# HELP %s_connections_refused_total connections beyond the cap, answered 503\n"
        "# TYPE %s_connections_refused_total counter\n%s_connections_refused_total %llu\n"
        "# HELP %s_request_timeouts_total requests closed at a whole-request deadline\n"
        "# TYPE %s_request_timeouts_total counter\n"
        "%s_request_timeouts_total{phase=\"headers\"} %llu\n"
        "%s_request_timeouts_total{phase=\"body\"} %llu\n",
        n, n, n, (long long)atomic_load(&s->conns_open), n, n, n,
        (unsigned long long)atomic_load(&s->conns_refused), n, n, n,
        (unsigned long long)atomic_load(&s->timeouts_headers), n,
        (unsigned long long)atomic_load(&s->timeouts_body));
    for (int i = 0; i < s->ngauges; i++)
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", s->gauges[i].name,
                            s->gauges[i].help, s->gauges[i].name, s->gauges[i].name,
                            s->gauges[i].fn(s, s->gauges[i].arg));
    for (int i = 0; i < s->nhists; i++) {
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", s->hists[i].name,
                            s->hists[i].help, s->hists[i].name);
        dk_hist_render(out, s->hists[i].name, "", s->hists[i].h);
    }
}
