/* dk_mysql.h - MariaDB connections (Connector/C) and parameterised queries.
 *
 * These calls block: use them in tools, tests, and on database worker threads
 * (dk_workq), never on an event loop. A MYSQL* belongs to one thread at a time.
 * Parameters are escaped client-side into the text protocol ('?' placeholders),
 * so results are always strings (row[i], NULL for SQL NULL). */
#ifndef DK_MYSQL_H
#define DK_MYSQL_H

#include <mysql.h>
#include <stdint.h>
#include "dk_config.h"
#include "dk_err.h"

typedef enum { DK_P_NULL, DK_P_STR, DK_P_INT } dk_param_type;
typedef struct dk_param {
    dk_param_type type;
    const char *s;   /* DK_P_STR: bytes, need not be NUL-terminated */
    size_t len;      /* DK_P_STR: length of s */
    long long i;     /* DK_P_INT */
} dk_param;

#define DK_PSTR(str) ((dk_param){.type = DK_P_STR, .s = (str), .len = strlen(str)})
#define DK_PSTRN(str, n) ((dk_param){.type = DK_P_STR, .s = (str), .len = (n)})
#define DK_PINT(v) ((dk_param){.type = DK_P_INT, .i = (long long)(v)})
#define DK_PNULL ((dk_param){.type = DK_P_NULL})

/* Connects with mysql_host/mysql_port/mysql_user/mysql_password/mysql_db from cfg,
 * utf8mb4, time_zone UTC, connect/read/write timeouts from mysql_timeout_ms.
 * With mysql_hosts (an ordered list, e.g. the nodes of a Galera cluster) it connects to
 * the first node of the list that accepts and is ready (wsrep_ready ON), so that every
 * writer uses the same node; a node that fails is skipped for a few seconds by the whole
 * process. Each node tried may take up to mysql_timeout_ms. */
MYSQL *dk_mysql_connect(const dk_config *cfg, dk_error *err);
void dk_mysql_close(MYSQL *db);

/* Runs one statement with '?' placeholders filled from params.
 * res: if not NULL, receives the stored result set (free with mysql_free_result);
 * affected: if not NULL, receives mysql_affected_rows. Duplicate key errors map to
 * DK_ECONFLICT, lost connections to DK_EIO. */
int dk_mysql_exec(MYSQL *db, const char *sql, const dk_param *params, size_t nparams,
                  MYSQL_RES **res, uint64_t *affected, dk_error *err);
int dk_mysql_begin(MYSQL *db, dk_error *err);
int dk_mysql_commit(MYSQL *db, dk_error *err);
void dk_mysql_rollback(MYSQL *db);
/* The first column of the first row as an integer (NULL: 0) or a string (NULL: "");
 * DK_ENOTFOUND ("记录不存在") when there is no row. */
int dk_mysql_ll(MYSQL *db, const char *sql, const dk_param *p, size_t n, long long *out,
                dk_error *err);
int dk_mysql_str(MYSQL *db, const char *sql, const dk_param *p, size_t n, char *out,
                 size_t outsz, dk_error *err);



/* A database worker thread's connection (the thread context of a dk_workq): made
 * lazily, dropped after a connection error and made again by the next job. */
typedef struct dk_dbconn {
    const dk_config *cfg;
    MYSQL *db;
    int node;            /* index in mysql_hosts of the node db is connected to */
    long long checked_ms; /* when a move back to an earlier node was last considered */
    long long used_ms;    /* when a job last took it */
    unsigned seen_gen;    /* connections lost in the process, when last checked */
} dk_dbconn;

/* dk_workq init/fini for pools of database threads; udata is the dk_config. */
void *dk_dbconn_thread_init(void *cfg);
void dk_dbconn_thread_fini(void *conn);
/* The connection, connecting if needed; NULL with err set if MariaDB is unreachable.
 * Before a job: a link idle for 2 s, or any link once another of the process was lost,
 * is pinged and replaced if dead; a link to a later node of mysql_hosts is replaced once
 * an earlier node may be back, so the writers of the process come back together. */
MYSQL *dk_dbconn_get(dk_dbconn *c, dk_error *err);
/* After a DK_EIO from a statement: drop the link so the next job reconnects (and the
 * other connections of the process check theirs). */
void dk_dbconn_drop(dk_dbconn *c);

/* Could the same transaction succeed if run again, on this or another node? Lost or
 * refused connections, a Galera node that is not ready (1047), deadlocks and Galera
 * certification conflicts (1213), lock wait timeouts (1205). err from dk_mysql_*. */
int dk_mysql_retryable(const dk_error *err);
/* Runs work on the connection until it succeeds or fails for good: after a retryable
 * error the work is rolled back by the server (or the link is gone) and runs again on
 * the first live node, at most 5 times within 2 x mysql_timeout_ms (100, 200, 400 ms ...
 * between tries). For work that is idempotent even when a lost COMMIT did land (it must
 * find its own result and return it). Drops the connection after DK_EIO. */
int dk_dbconn_run(dk_dbconn *c, int (*work)(MYSQL *db, void *arg, dk_error *err), void *arg,
                  dk_error *err);

#endif
