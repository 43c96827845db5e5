/* dk_mysql.c - blocking MariaDB helpers: connect from the configuration, and run one
 * statement with '?' parameters escaped client-side. For tools, tests and database
 * worker threads only; never call these on an event loop. */
#include "dk_mysql.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"

static int map_errno(unsigned int e)
{
    switch (e) {
    case ER_DUP_ENTRY:
    case ER_DUP_KEY:
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_ROW_IS_REFERENCED_2:
    case ER_NO_REFERENCED_ROW_2:
        return DK_ECONFLICT;
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
        return DK_EIO;
    default:
        return DK_EIO;
    }
}

static int fail(MYSQL *db, dk_error *err, const char *what)
{
    return dk_error_set(err, map_errno(mysql_errno(db)), "mysql %s: %u %s", what, mysql_errno(db),
                        mysql_error(db));
}

MYSQL *dk_mysql_connect(const dk_config *cfg, dk_error *err)
{
    MYSQL *db = mysql_init(NULL);
    if (!db) {
        dk_error_set(err, DK_EINTERNAL, "mysql_init failed");
        return NULL;
    }
    unsigned int t = (unsigned int)((dk_config_int(cfg, "mysql_timeout_ms") + 999) / 1000);
    mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* Every connection works in UTC, so DATETIME columns mean the same on every node. */
    mysql_optionsv(db, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (!mysql_real_connect(db, dk_config_str(cfg, "mysql_host"), dk_config_str(cfg, "mysql_user"),
                            dk_config_str(cfg, "mysql_password"), dk_config_str(cfg, "mysql_db"),
                            (unsigned int)dk_config_int(cfg, "mysql_port"), NULL, 0)) {
        fail(db, err, "connect");
        mysql_close(db);
        return NULL;
    }
    return db;
}

void dk_mysql_close(MYSQL *db)
{
    if (db) mysql_close(db);
}

/* Builds the statement text with every '?' replaced by an escaped literal. '?' inside
 * quoted SQL literals is not supported: write literals as parameters instead. */
static char *bind_params(MYSQL *db, const char *sql, const dk_param *params, size_t n,
                         size_t *outlen, dk_error *err)
{
    size_t cap = strlen(sql) + 1;
    for (size_t i = 0; i < n; i++) cap += params[i].type == DK_P_STR ? params[i].len * 2 + 3 : 24;
    char *out = dk_malloc(cap);
    size_t o = 0, used = 0;
    for (const char *s = sql; *s; s++) {
        if (*s != '?') {
            out[o++] = *s;
            continue;
        }
        if (used >= n) {
            free(out);
            dk_error_set(err, DK_EINTERNAL, "more placeholders than parameters in: %.80s", sql);
            return NULL;
        }
        const dk_param *p = &params[used++];
        switch (p->type) {
        case DK_P_NULL: o += (size_t)sprintf(out + o, "NULL"); break;
        case DK_P_INT: o += (size_t)sprintf(out + o, "%lld", p->i); break;
        case DK_P_STR:
            out[o++] = '\'';
            o += mysql_real_escape_string(db, out + o, p->s, p->len);
            out[o++] = '\'';
            break;
        }
    }
    if (used != n) {
        free(out);
        dk_error_set(err, DK_EINTERNAL, "fewer placeholders than parameters in: %.80s", sql);
        return NULL;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

int dk_mysql_exec(MYSQL *db, const char *sql, const dk_param *params, size_t nparams,
                  MYSQL_RES **res, uint64_t *affected, dk_error *err)
{
    if (res) *res = NULL;
    size_t len;
    char *q = bind_params(db, sql, params, nparams, &len, err);
    if (!q) return err ? err->code : DK_EINTERNAL;
    int rc = mysql_real_query(db, q, (unsigned long)len);
    free(q);
    if (rc) return fail(db, err, "query");
    MYSQL_RES *r = mysql_store_result(db);
    if (!r && mysql_field_count(db)) return fail(db, err, "store_result");
    if (affected) *affected = (uint64_t)mysql_affected_rows(db);
    if (res)
        *res = r;
    else if (r)
        mysql_free_result(r);
    return 0;
}

int dk_mysql_begin(MYSQL *db, dk_error *err)
{
    return dk_mysql_exec(db, "START TRANSACTION", NULL, 0, NULL, NULL, err);
}

int dk_mysql_commit(MYSQL *db, dk_error *err)
{
    if (mysql_commit(db)) return fail(db, err, "commit");
    return 0;
}

void dk_mysql_rollback(MYSQL *db) { (void)mysql_rollback(db); }

void *dk_dbconn_thread_init(void *cfg)
{
    mysql_thread_init();
    dk_dbconn *c = dk_calloc(1, sizeof *c);
    c->cfg = cfg;
    return c;
}

void dk_dbconn_thread_fini(void *conn)
{
    dk_dbconn *c = conn;
    dk_mysql_close(c->db);
    free(c);
    mysql_thread_end();
}

MYSQL *dk_dbconn_get(dk_dbconn *c, dk_error *err)
{
    if (!c->db) c->db = dk_mysql_connect(c->cfg, err);
    return c->db;
}

void dk_dbconn_drop(dk_dbconn *c)
{
    dk_mysql_close(c->db);
    c->db = NULL;
}

int dk_mysql_ll(MYSQL *db, const char *sql, const dk_param *p, size_t n, long long *out,
                dk_error *err)
{
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, sql, p, n, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    int found = row != NULL;
    if (row) *out = row[0] ? strtoll(row[0], NULL, 10) : 0;
    if (res) mysql_free_result(res);
    return found ? 0 : dk_error_set(err, DK_ENOTFOUND, "记录不存在");
}

int dk_mysql_str(MYSQL *db, const char *sql, const dk_param *p, size_t n, char *out,
                 size_t outsz, dk_error *err)
{
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, sql, p, n, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    int found = row != NULL;
    if (row) snprintf(out, outsz, "%s", row[0] ? row[0] : "");
    if (res) mysql_free_result(res);
    return found ? 0 : dk_error_set(err, DK_ENOTFOUND, "记录不存在");
}
