/* dk_mysql.c - blocking MariaDB helpers: connect from the configuration (one server, or
 * the first live node of an ordered list such as a Galera cluster), and run one statement
 * with '?' parameters escaped client-side. For tools, tests and database worker threads
 * only; never call these on an event loop. The list's "node down" marks are process-wide
 * (one mutex), so the threads of a process agree on which node they write to. */
#include "dk_mysql.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"

/* A node that refused a connection or was not ready is skipped this long by new
 * connections (unless every node is marked), and a connection on a later node of the
 * list moves back to an earlier one at most this often. */
#define NODE_DOWN_MS 3000
#define MAX_NODES 8
/* A connection idle this long is pinged before its next job. */
#define IDLE_PING_MS 2000
#define ER_WSREP_NOT_READY 1047 /* ER_UNKNOWN_COM_ERROR: "WSREP has not yet prepared node" */

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

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the node list ------------------------------------------------------------------- */

typedef struct node {
    char host[64];
    unsigned int port;
} node;

/* mysql_hosts ("ip:port,ip:port,...") or, when empty, mysql_host:mysql_port. */
static int parse_nodes(const dk_config *cfg, node *out, int *n, dk_error *err)
{
    const char *list = dk_config_str(cfg, "mysql_hosts");
    *n = 0;
    if (!list || !*list) {
        snprintf(out[0].host, sizeof out[0].host, "%s", dk_config_str(cfg, "mysql_host"));
        out[0].port = (unsigned int)dk_config_int(cfg, "mysql_port");
        *n = 1;
        return 0;
    }
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        while (end && end < p + len && *end == ' ') end++;
        if (*n >= MAX_NODES || !colon || colon == p || (size_t)(colon - p) >= sizeof out->host ||
            port < 1 || port > 65535 || end != p + len)
            return dk_error_set(err, DK_EINVAL,
                                "mysql_hosts: '%.*s' is not ip:port (at most %d, comma-separated)",
                                (int)len, p, MAX_NODES);
        snprintf(out[*n].host, sizeof out->host, "%.*s", (int)(colon - p), p);
        out[(*n)++].port = (unsigned int)port;
        p += len;
    }
    return *n ? 0 : dk_error_set(err, DK_EINVAL, "mysql_hosts has no node");
}

/* Process-wide: until when each node (by address) is skipped. */
static pthread_mutex_t marks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    node at;
    long long until_ms;
} marks[MAX_NODES * 2];

static int same(const node *a, const node *b) { return a->port == b->port && !strcmp(a->host, b->host); }

static long long down_until(const node *nd)
{
    long long t = 0;
    pthread_mutex_lock(&marks_mu);
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (marks[i].at.port && same(&marks[i].at, nd)) t = marks[i].until_ms;
    pthread_mutex_unlock(&marks_mu);
    return t;
}

static void mark(const node *nd, long long until_ms)
{
    pthread_mutex_lock(&marks_mu);
    size_t slot = 0, oldest = 0;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        if (marks[i].at.port && same(&marks[i].at, nd)) {
            slot = i;
            goto found;
        }
        if (marks[i].until_ms < marks[oldest].until_ms) oldest = i;
    }
    slot = oldest;
    marks[slot].at = *nd;
found:
    marks[slot].until_ms = until_ms;
    pthread_mutex_unlock(&marks_mu);
}

/* The Value column of a one-row SHOW; "" when there is no row. */
static int show_value(MYSQL *db, const char *sql, char *out, size_t outsz, dk_error *err)
{
    out[0] = '\0';
    if (mysql_query(db, sql)) return fail(db, err, "connect");
    MYSQL_RES *r = mysql_store_result(db);
    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
    if (row && row[1]) snprintf(out, outsz, "%s", row[1]);
    if (r) mysql_free_result(r);
    return 0;
}

/* A Galera node answers before it may be used (joining, donor, or in a minority after a
 * partition): wsrep_ready must be ON. A server without wsrep on is ready. SHOW only:
 * a node that is not ready refuses other statements. */
static int node_ready(MYSQL *db, dk_error *err)
{
    char on[16], ready[16];
    int rc = show_value(db, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'", on, sizeof on, err);
    if (rc || strcmp(on, "ON") != 0) return rc;
    if ((rc = show_value(db, "SHOW GLOBAL STATUS LIKE 'wsrep_ready'", ready, sizeof ready, err)))
        return rc;
    if (!strcmp(ready, "ON")) return 0;
    return dk_error_set(err, DK_EIO, "mysql connect: %u node not ready (wsrep_ready=%s)",
                        ER_WSREP_NOT_READY, ready[0] ? ready : "absent");
}

static MYSQL *connect_node(const dk_config *cfg, const node *nd, int check_ready, dk_error *err)
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
    if (!mysql_real_connect(db, nd->host, dk_config_str(cfg, "mysql_user"),
                            dk_config_str(cfg, "mysql_password"), dk_config_str(cfg, "mysql_db"),
                            nd->port, NULL, 0)) {
        fail(db, err, "connect");
        mysql_close(db);
        return NULL;
    }
    if (check_ready && node_ready(db, err)) {
        mysql_close(db);
        return NULL;
    }
    return db;
}

/* The first live node of the list: first those not marked down, in order, then (all
 * marked) the marked ones, in order. A node that fails is marked for NODE_DOWN_MS. */
static MYSQL *connect_first_live(const dk_config *cfg, int *at, dk_error *err)
{
    node nodes[MAX_NODES];
    int n, rc;
    if ((rc = parse_nodes(cfg, nodes, &n, err))) return NULL;
    if (n == 1) {
        *at = 0;
        return connect_node(cfg, &nodes[0], 0, err);
    }
    long long now = now_ms();
    int marked[MAX_NODES];
    for (int i = 0; i < n; i++) marked[i] = down_until(&nodes[i]) > now;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            if (marked[i] != pass) continue;
            MYSQL *db = connect_node(cfg, &nodes[i], 1, err);
            if (db) {
                if (pass || i > 0)
                    DK_INFO("mysql", "connected to node %d of mysql_hosts (%s:%u)", i + 1,
                            nodes[i].host, nodes[i].port);
                if (marked[i]) mark(&nodes[i], 0);
                *at = i;
                return db;
            }
            DK_WARN("mysql", "node %d of mysql_hosts (%s:%u) is down: %s", i + 1, nodes[i].host,
                    nodes[i].port, err ? err->msg : "");
            mark(&nodes[i], now_ms() + NODE_DOWN_MS);
        }
    }
    return NULL;
}

MYSQL *dk_mysql_connect(const dk_config *cfg, dk_error *err)
{
    int at;
    return connect_first_live(cfg, &at, err);
}

/* Is a node before `at` of the list no longer marked down? Then a connection to `at`
 * should move back to it (all writers on one node). */
static int earlier_node_back(const dk_config *cfg, int at)
{
    node nodes[MAX_NODES];
    int n;
    if (parse_nodes(cfg, nodes, &n, NULL)) return 0;
    long long now = now_ms();
    for (int i = 0; i < at && i < n; i++)
        if (down_until(&nodes[i]) <= now) return 1;
    return 0;
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

/* Bumped by every connection dropped after an error: the other connections of the process
 * check theirs (a ping) before their next job, instead of failing it on a dead node. */
static atomic_uint lost_gen;

MYSQL *dk_dbconn_get(dk_dbconn *c, dk_error *err)
{
    long long now = now_ms();
    unsigned gen = atomic_load(&lost_gen);
    /* between jobs, so no transaction is open: a link another connection saw fail, or
     * one idle long enough for its node to have gone, is pinged (no reconnect: a
     * failed ping drops it and we connect to the first live node) */
    if (c->db && (gen != c->seen_gen || now - c->used_ms >= IDLE_PING_MS) && mysql_ping(c->db)) {
        DK_INFO("mysql", "dropping a dead connection to node %d: %s", c->node + 1,
                mysql_error(c->db));
        dk_mysql_close(c->db);
        c->db = NULL;
    }
    c->seen_gen = gen;
    if (c->db && c->node > 0 && now - c->checked_ms >= NODE_DOWN_MS) {
        c->checked_ms = now;
        if (earlier_node_back(c->cfg, c->node)) {
            DK_INFO("mysql", "leaving node %d of mysql_hosts for an earlier one", c->node + 1);
            dk_mysql_close(c->db);
            c->db = NULL;
        }
    }
    if (!c->db) {
        c->db = connect_first_live(c->cfg, &c->node, err);
        c->checked_ms = now_ms();
    }
    c->used_ms = now_ms();
    return c->db;
}

void dk_dbconn_drop(dk_dbconn *c)
{
    if (c->db) atomic_fetch_add(&lost_gen, 1);
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

/* The server's error number in a message made by fail() ("mysql WHAT: NUMBER text"). */
static unsigned int errno_of(const dk_error *e)
{
    if (strncmp(e->msg, "mysql ", 6) != 0) return 0;
    const char *colon = strstr(e->msg, ": ");
    return colon ? (unsigned int)strtoul(colon + 2, NULL, 10) : 0;
}

int dk_mysql_retryable(const dk_error *err)
{
    switch (errno_of(err)) {
    case ER_LOCK_DEADLOCK:      /* 1213: also a Galera certification conflict */
    case ER_LOCK_WAIT_TIMEOUT:  /* 1205 */
    case ER_WSREP_NOT_READY:    /* 1047: a Galera node outside the primary component */
    case ER_SERVER_SHUTDOWN:    /* 1053 */
    case ER_CONNECTION_KILLED:  /* 1927 */
    case CR_CONNECTION_ERROR:   /* 2002 */
    case CR_CONN_HOST_ERROR:    /* 2003 */
    case CR_SERVER_GONE_ERROR:  /* 2006 */
    case CR_SERVER_LOST:        /* 2013 */
        return 1;
    default:
        return 0;
    }
}

int dk_dbconn_run(dk_dbconn *c, int (*work)(MYSQL *db, void *arg, dk_error *err), void *arg,
                  dk_error *err)
{
    long long give_up = now_ms() + 2 * dk_config_int(c->cfg, "mysql_timeout_ms");
    int delay_ms = 100, rc;
    for (int attempt = 1;; attempt++) {
        MYSQL *db = dk_dbconn_get(c, err);
        rc = db ? work(db, arg, err) : (err && err->code ? err->code : DK_EIO);
        if (rc == DK_EIO) dk_dbconn_drop(c);
        if (!rc || !err || !dk_mysql_retryable(err) || attempt >= 5 || now_ms() >= give_up)
            return rc;
        DK_INFO("mysql", "retrying (attempt %d) after: %s", attempt + 1, err->msg);
        struct timespec ts = {0, (long)delay_ms * 1000000L};
        nanosleep(&ts, NULL);
        delay_ms *= 2;
        dk_error_clear(err);
    }
}
