/* exam_server.c - examd's route table, its pools, and start/stop.
 * Adding an endpoint is adding a row to exam_routes. */
#include <stdlib.h>

#include "dk_log.h"
#include "exam_internal.h"

static const dk_route exam_routes[] = {
    {"GET", "/healthz", exam_healthz, "healthz", 0},
    {"GET", "/metrics", exam_metrics, "metrics", 0},
};

static double gauge_db_queue(dk_http_server *s, void *arg)
{
    (void)s;
    return (double)dk_workq_depth(((exam_server *)arg)->db);
}

exam_server *exam_start(const dk_config *cfg, dk_error *err)
{
    exam_server *s = dk_calloc(1, sizeof *s);
    s->cfg = cfg;
    s->db = dk_workq_new("db", (int)dk_config_int(cfg, "db_workers"),
                         (size_t)dk_config_int(cfg, "db_queue"), dk_dbconn_thread_init,
                         dk_dbconn_thread_fini, (void *)cfg);
    dk_http_opts o = {
        .name = "examd",
        .port_key = "exam_port",
        .routes = exam_routes,
        .nroutes = sizeof exam_routes / sizeof exam_routes[0],
        .udata = s,
    };
    s->http = dk_http_start(cfg, &o, err);
    if (!s->http) {
        dk_workq_free(s->db);
        free(s);
        return NULL;
    }
    dk_http_add_gauge(s->http, "examd_db_queue_depth", "database jobs waiting or running",
                      gauge_db_queue, s);
    return s;
}

int exam_port(const exam_server *s) { return dk_http_port(s->http); }

void exam_stop(exam_server *s)
{
    if (!s) return;
    dk_http_stop(s->http, 5000);
    dk_workq_free(s->db);
    free(s);
}
