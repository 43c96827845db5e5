/* dk_serve.c - the shared main() of the server programs, and their health and metrics
 * handlers. The health check answers once both probes have answered; each probe answers
 * exactly once (dk_aredis's deadline; MariaDB's timeouts on the database thread). Its
 * body says only which backend is up: the reason goes to the log, once per change. */
#include "dk_serve.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_auth.h"
#include "dk_log.h"
#include "dk_mysql.h"

static int hash_password(const char *name, const dk_config *cfg)
{
    char pw[DK_PASSWORD_MAX + 2];
    dk_error err = {0};
    dk_auth a;
    if (!fgets(pw, sizeof pw, stdin)) return 2;
    pw[strcspn(pw, "\r\n")] = '\0';
    char hash[DK_HASH_MAX];
    if (dk_auth_init(&a, cfg, &err) || dk_password_hash(&a, pw, strlen(pw), hash, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return 1;
    }
    puts(hash);
    return 0;
}

int dk_serve_main(int argc, char **argv, const char *name, dk_serve_start_fn start,
                  dk_serve_stop_fn stop)
{
    const char *path = NULL;
    int hash_mode = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--hash-password")) hash_mode = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--config FILE] [--hash-password < password]\n"
                    "  settings come from FILE (or $DK_CONFIG) and DK_<KEY> variables\n",
                    name);
            return 2;
        }
    }
    dk_error err = {0};
    dk_config *cfg;
    if (dk_config_load(&cfg, path, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return 2;
    }
    if (hash_mode) {
        int rc = hash_password(name, cfg);
        dk_config_free(cfg);
        return rc;
    }
    fprintf(stderr, "%s: effective configuration:\n", name);
    dk_config_print(cfg, stderr);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    void *s = start(cfg, &err);
    if (!s) {
        DK_ERROR(name, "cannot start: %s", err.msg);
        dk_config_free(cfg);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    DK_INFO(name, "stopping signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stop(s);
    dk_config_free(cfg);
    DK_INFO(name, "stopped");
    return 0;
}

/* ---- GET /healthz ---------------------------------------------------------------------- */

typedef struct health {
    dk_req *rq;
    int pending;
    int redis_ok, mysql_ok;
    char redis_err[256], mysql_err[256];
} health;

/* Logs a backend's failure when it starts failing (not at every probe: a load balancer
 * asks every few seconds), and its recovery. */
static void health_log(const char *name, _Atomic int *was_down, int ok, const char *err)
{
    if (atomic_exchange(was_down, !ok) == !ok) return;
    if (ok)
        DK_INFO("healthz", "%s reachable again", name);
    else
        DK_WARN("healthz", "%s unreachable err=\"%s\"", name, err);
}

static void health_done(health *h)
{
    static _Atomic int redis_down, mysql_down;
    if (--h->pending) return;
    health_log("redis", &redis_down, h->redis_ok, h->redis_err);
    health_log("mysql", &mysql_down, h->mysql_ok, h->mysql_err);
    json_t *v =
        json_pack("{s:s,s:b,s:b,s:I}", "status", h->redis_ok && h->mysql_ok ? "ok" : "degraded",
                  "redis", h->redis_ok, "mysql", h->mysql_ok, "time_ms", (json_int_t)dk_wall_ms());
    dk_http_reply_json(h->rq, h->redis_ok && h->mysql_ok ? 200 : 503, v); /* frees h */
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

void dk_serve_healthz(dk_req *rq, dk_workq *db)
{
    health *h = dk_calloc(1, sizeof *h);
    h->rq = rq;
    h->pending = 2;
    rq->state = h;
    rq->state_free = free;
    if (dk_workq_submit(db, rq->loop->mailbox, db_ping, db_ping_done, h) != 0) {
        snprintf(h->mysql_err, sizeof h->mysql_err, "database queue full");
        h->pending--;
    }
    dk_aredis_cmd(rq->loop->redis, 1000, on_ping, h, "PING");
}

void dk_serve_metrics(dk_req *rq)
{
    if (!dk_http_metrics_allowed(rq)) {
        dk_http_failf(rq, DK_EFORBIDDEN, "该地址不能读取 /metrics（metrics_allow）");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    dk_http_metrics_render(rq->loop->server, b);
    dk_http_reply_evbuf(rq, 200, "text/plain; version=0.0.4", b);
    evbuffer_free(b);
}

void dk_serve_pools(const dk_config *cfg, dk_workq **db, dk_workq **hash)
{
    *db = dk_workq_new("db", (int)dk_config_int(cfg, "db_workers"),
                       (size_t)dk_config_int(cfg, "db_queue"), dk_dbconn_thread_init,
                       dk_dbconn_thread_fini, (void *)cfg);
    *hash = dk_workq_new("hash", (int)dk_config_int(cfg, "hash_workers"),
                         (size_t)dk_config_int(cfg, "hash_queue"), dk_dbconn_thread_init,
                         dk_dbconn_thread_fini, (void *)cfg);
}

double dk_serve_queue_depth(dk_http_server *h, void *q)
{
    (void)h;
    return (double)dk_workq_depth(q);
}
