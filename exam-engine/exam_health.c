/* exam_health.c - GET /healthz (Redis and MariaDB reachability, each with a deadline)
 * and GET /metrics (Prometheus text). The health check answers once both probes
 * have answered; each probe answers exactly once (dk_aredis deadline, MariaDB
 * timeouts on the database thread). */
#include <string.h>

#include "dk_log.h"
#include "exam_internal.h"

typedef struct health {
    dk_req *rq;
    int pending;
    int redis_ok, mysql_ok;
    char redis_err[256], mysql_err[256];
} health;

static void health_done(health *h)
{
    if (--h->pending) return;
    dk_req *rq = h->rq;
    json_t *v = json_pack("{s:s,s:b,s:b,s:I}", "status",
                          h->redis_ok && h->mysql_ok ? "ok" : "degraded", "redis", h->redis_ok,
                          "mysql", h->mysql_ok, "time_ms", (json_int_t)dk_wall_ms());
    if (!h->redis_ok) json_object_set_new(v, "redis_error", json_string(h->redis_err));
    if (!h->mysql_ok) json_object_set_new(v, "mysql_error", json_string(h->mysql_err));
    dk_http_reply_json(rq, h->redis_ok && h->mysql_ok ? 200 : 503, v); /* frees h */
}

static void on_ping(redisReply *r, const dk_error *e, void *arg)
{
    health *h = arg;
    h->redis_ok = !e->code && r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
    if (!h->redis_ok)
        snprintf(h->redis_err, sizeof h->redis_err, "%s",
                 e->code ? e->msg : (r && r->str ? r->str : "unexpected reply"));
    health_done(h);
}

static void db_ping(void *ctx, void *arg)
{
    health *h = arg;
    dk_error e = {0};
    MYSQL *db = dk_dbconn_get(ctx, &e);
    if (db && mysql_ping(db) != 0) {
        dk_error_set(&e, DK_EIO, "ping: %s", mysql_error(db));
        dk_dbconn_drop(ctx);
        db = NULL;
    }
    h->mysql_ok = db != NULL;
    if (!db) snprintf(h->mysql_err, sizeof h->mysql_err, "%s", e.msg);
}

static void db_ping_done(void *arg) { health_done(arg); }

void exam_healthz(dk_req *rq)
{
    exam_server *s = dk_http_udata(rq->loop->server);
    health *h = dk_calloc(1, sizeof *h);
    h->rq = rq;
    h->pending = 2;
    rq->state = h;
    rq->state_free = free;
    if (dk_workq_submit(s->db, rq->loop->mailbox, db_ping, db_ping_done, h) != 0) {
        snprintf(h->mysql_err, sizeof h->mysql_err, "database queue full");
        h->pending--;
    }
    dk_aredis_cmd(rq->loop->redis, 1000, on_ping, h, "PING");
}

void exam_metrics(dk_req *rq)
{
    struct evbuffer *b = evbuffer_new();
    dk_http_metrics_render(rq->loop->server, b);
    dk_http_reply_evbuf(rq, 200, "text/plain; version=0.0.4", b);
    evbuffer_free(b);
}
