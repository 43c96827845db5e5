/* dk_serve.h - what every server program shares around its route table: main() (options,
 * configuration print, signals, start, drain, stop), GET /healthz and GET /metrics.
 * examd and admind are each a start/stop pair plus their routes. */
#ifndef DK_SERVE_H
#define DK_SERVE_H

#include "dk_config.h"
#include "dk_err.h"
#include "dk_http.h"
#include "dk_workq.h"

typedef void *(*dk_serve_start_fn)(const dk_config *cfg, dk_error *err);
typedef void (*dk_serve_stop_fn)(void *server);

/* The whole main() of a server: `NAME [--config FILE] [--hash-password < password]`.
 * Prints the effective configuration (secrets masked), blocks SIGTERM/SIGINT in every
 * thread and takes them here with sigwait, ignores SIGPIPE, starts, waits for a signal,
 * stops (the server drains), exits 0. --hash-password prints the argon2id hash of one
 * password read from stdin with the configured parameters, for operators and fixtures. */
int dk_serve_main(int argc, char **argv, const char *name, dk_serve_start_fn start,
                  dk_serve_stop_fn stop);

/* The pools both servers have: db (a MariaDB connection per thread; db_workers,
 * db_queue) and hash (argon2id; hash_workers, hash_queue). */
void dk_serve_pools(const dk_config *cfg, dk_workq **db, dk_workq **hash);
/* A dk_gauge fn: the depth (jobs waiting or running) of the dk_workq given as arg. */
double dk_serve_queue_depth(dk_http_server *h, void *q);

/* GET /healthz: Redis (PING on the loop's client, with a deadline) and MariaDB (ping on
 * a thread of db) -> 200 when both answer, 503 when one does not; the body has a flag
 * per backend and no error text (that is logged, once per change). */
void dk_serve_healthz(dk_req *rq, dk_workq *db);
/* GET /metrics: Prometheus text of the server's counters, histograms and gauges, for
 * the addresses of metrics_allow only (others get 403). */
void dk_serve_metrics(dk_req *rq);

#endif
