/* test_common_stack.c - the stack helpers against the real Redis and MariaDB of the
 * test stack (DK_REDIS_PORT, DK_MYSQL_PORT...): sync and async Redis, parameterised
 * MariaDB statements, error mapping, the first live node of mysql_hosts, the async
 * client's deadline against a server that never answers, and scripts by SHA-1: Redis's
 * own SHA-1, SCRIPT FLUSH (which only empties the script cache: every client of this
 * repository falls back to EVAL, so parallel tests do not notice), and a scripted fake
 * server for the NOSCRIPT paths that real Redis cannot be made to take on demand. Exits
 * 77 when the stack is not reachable. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dk_config.h"
#include "dk_http.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_redis.h"

static dk_config *cfg;

static void test_redis_sync(void **st)
{
    (void)st;
    dk_error err = {0};
    redisContext *c = dk_redis_connect(cfg, &err);
    assert_non_null(c);
    redisReply *r = dk_redis_cmd(c, &err, "SET %s %s", "dk:test:k", "值");
    assert_non_null(r);
    freeReplyObject(r);
    r = dk_redis_cmd(c, &err, "GET %s", "dk:test:k");
    assert_non_null(r);
    assert_string_equal(r->str, "值");
    freeReplyObject(r);
    /* an error reply becomes an error, with the server's message */
    r = dk_redis_cmd(c, &err, "INCR %s", "dk:test:k");
    assert_null(r);
    assert_int_equal(err.code, DK_EIO);
    assert_non_null(strstr(err.msg, "not an integer"));
    redisFree(c);
}

static void test_mysql(void **st)
{
    (void)st;
    dk_error err = {0};
    MYSQL *db = dk_mysql_connect(cfg, &err);
    assert_non_null(db);
    MYSQL_RES *res;
    assert_int_equal(dk_mysql_exec(db, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &res,
                                   NULL, &err),
                     0);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_true(atoi(row[0]) >= 1);
    mysql_free_result(res);

    const char *tricky = "O'Brien \\ 医师 \"; DROP TABLE x; --";
    dk_param p[] = {DK_PSTR(tricky), DK_PINT(-42), DK_PNULL};
    assert_int_equal(dk_mysql_exec(db, "SELECT ?, ?, ?", p, 3, &res, NULL, &err), 0);
    row = mysql_fetch_row(res);
    assert_string_equal(row[0], tricky);
    assert_string_equal(row[1], "-42");
    assert_null(row[2]);
    mysql_free_result(res);

    /* a placeholder without its parameter is a programming error, not a query */
    assert_int_equal(dk_mysql_exec(db, "SELECT ?, ?", p, 1, NULL, NULL, &err), DK_EINTERNAL);

    /* duplicate keys map to DK_ECONFLICT */
    assert_int_equal(dk_mysql_exec(db, "CREATE TEMPORARY TABLE t_dup (id INT PRIMARY KEY)", NULL,
                                   0, NULL, NULL, &err),
                     0);
    uint64_t n = 0;
    assert_int_equal(dk_mysql_exec(db, "INSERT INTO t_dup VALUES (1)", NULL, 0, NULL, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(dk_mysql_exec(db, "INSERT INTO t_dup VALUES (1)", NULL, 0, NULL, NULL, &err),
                     DK_ECONFLICT);
    dk_mysql_close(db);
}

/* mysql_hosts: the first live node of the list. Port 1 of loopback refuses connections, so
 * a list that starts with it ends on the stack's MariaDB; a link dropped after an error
 * is replaced by the next job; which errors are worth another try. */
static void test_mysql_hosts(void **st)
{
    (void)st;
    dk_error err = {0};
    char list[96];
    snprintf(list, sizeof list, "127.0.0.1:1, %s:%lld", dk_config_str(cfg, "mysql_host"),
             dk_config_int(cfg, "mysql_port"));
    setenv("DK_MYSQL_HOSTS", list, 1);
    dk_config *c = NULL;
    assert_int_equal(dk_config_load(&c, NULL, &err), 0);
    unsetenv("DK_MYSQL_HOSTS");

    dk_dbconn *conn = dk_dbconn_thread_init(c);
    MYSQL *db = dk_dbconn_get(conn, &err);
    assert_non_null(db);
    assert_int_equal(conn->node, 1); /* the second of the list */
    long long one = 0;
    assert_int_equal(dk_mysql_ll(db, "SELECT 1", NULL, 0, &one, &err), 0);
    assert_int_equal(one, 1);
    /* the link dies under a statement (killed from the server side): DK_EIO, retryable;
     * dropped, the next get connects again */
    long long id = 0;
    assert_int_equal(dk_mysql_ll(db, "SELECT CONNECTION_ID()", NULL, 0, &id, &err), 0);
    dk_error e2 = {0};
    MYSQL *killer = dk_mysql_connect(c, &e2);
    assert_non_null(killer);
    dk_param p[] = {DK_PINT(id)};
    assert_int_equal(dk_mysql_exec(killer, "KILL ?", p, 1, NULL, NULL, &e2), 0);
    dk_mysql_close(killer);
    int rc = dk_mysql_ll(db, "SELECT 2", NULL, 0, &one, &err);
    assert_int_equal(rc, DK_EIO);
    assert_true(dk_mysql_retryable(&err));
    dk_dbconn_drop(conn);
    dk_error_clear(&err);
    assert_non_null(db = dk_dbconn_get(conn, &err));
    assert_int_equal(dk_mysql_ll(db, "SELECT 3", NULL, 0, &one, &err), 0);
    assert_int_equal(one, 3);
    /* a duplicate key or a syntax error is not worth another try; a deadlock (also a
     * Galera certification conflict) and a node not ready are */
    assert_int_equal(dk_mysql_exec(db, "SELEC 1", NULL, 0, NULL, NULL, &err), DK_EIO);
    assert_false(dk_mysql_retryable(&err));
    dk_error_set(&err, DK_ECONFLICT, "mysql query: 1062 Duplicate entry '1' for key 'PRIMARY'");
    assert_false(dk_mysql_retryable(&err));
    dk_error_set(&err, DK_ECONFLICT, "mysql commit: 1213 Deadlock found when trying to get lock");
    assert_true(dk_mysql_retryable(&err));
    dk_error_set(&err, DK_EIO, "mysql query: 1047 WSREP has not yet prepared node");
    assert_true(dk_mysql_retryable(&err));
    dk_error_set(&err, DK_EIO, "题库尚未加载，请稍后再试");
    assert_false(dk_mysql_retryable(&err));
    dk_dbconn_thread_fini(conn);
    dk_config_free(c);

    /* a list that is not ip:port,... is refused, not guessed at */
    setenv("DK_MYSQL_HOSTS", "127.0.0.1", 1);
    assert_int_equal(dk_config_load(&c, NULL, &err), 0);
    unsetenv("DK_MYSQL_HOSTS");
    assert_null(dk_mysql_connect(c, &err));
    assert_int_equal(err.code, DK_EINVAL);
    dk_config_free(c);
}

/* ---- async ------------------------------------------------------------------------ */

typedef struct {
    int calls;
    int code;
    char str[64];
    struct event_base *base;
} cb_state;

static void on_reply(redisReply *r, const dk_error *e, void *arg)
{
    cb_state *s = arg;
    s->calls++;
    s->code = e->code;
    if (r && r->str) snprintf(s->str, sizeof s->str, "%s", r->str);
    event_base_loopexit(s->base, &(struct timeval){0, 300000}); /* catch a second call */
}

static void run_one(dk_config *c, const char *cmd, cb_state *s)
{
    struct event_base *base = event_base_new();
    s->base = base;
    dk_aredis *r = dk_aredis_new(base, c);
    dk_aredis_cmd(r, 0, on_reply, s, cmd);
    assert_int_equal(s->calls, 0); /* never answered inside the call */
    event_base_dispatch(base);
    dk_aredis_free(r);
    event_base_free(base);
}

static void test_aredis_ping(void **st)
{
    (void)st;
    cb_state s = {0};
    run_one(cfg, "PING", &s);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.code, 0);
    assert_string_equal(s.str, "PONG");
}

static dk_config *config_with(const char *key, const char *val)
{
    setenv(key, val, 1);
    dk_config *c;
    dk_error err;
    assert_int_equal(dk_config_load(&c, NULL, &err), 0);
    unsetenv(key);
    return c;
}

static void test_aredis_deadline(void **st)
{
    (void)st;
    /* a server that accepts (the kernel's backlog) but never answers */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(sa.sin_port));
    setenv("DK_REDIS_TIMEOUT_MS", "200", 1);
    dk_config *c = config_with("DK_REDIS_PORT", port);
    unsetenv("DK_REDIS_TIMEOUT_MS");
    cb_state s = {0};
    long long t0 = dk_now_us();
    run_one(c, "PING", &s);
    long long took = dk_now_us() - t0;
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.code, DK_ETIMEOUT);
    assert_true(took < 3000000);
    dk_config_free(c);
    close(fd);

    /* nothing listening: an error, still exactly once */
    c = config_with("DK_REDIS_PORT", "1");
    cb_state s2 = {0};
    run_one(c, "PING", &s2);
    assert_int_equal(s2.calls, 1);
    assert_true(s2.code == DK_EIO || s2.code == DK_ETIMEOUT);
    dk_config_free(c);
}

/* ---- scripts: EVALSHA with the NOSCRIPT fallback ----------------------------------------- */

static dk_script lua_echo = DK_SCRIPT("return {KEYS[1], ARGV[1], ARGV[2]}");
static dk_script lua_fails = DK_SCRIPT("return redis.error_reply('DKTEST no luck')");

static void test_script_sync(void **st)
{
    (void)st;
    dk_error err = {0};
    redisContext *c = dk_redis_connect(cfg, &err);
    assert_non_null(c);
    /* our SHA-1 is Redis's */
    redisReply *r = dk_redis_cmd(c, &err, "SCRIPT LOAD %s", lua_echo.text);
    assert_non_null(r);
    assert_string_equal(r->str, dk_script_sha1(&lua_echo));
    freeReplyObject(r);

    const char *argv[] = {"1", "k:{x}", "值", "b\0c"};
    const size_t lens[] = {1, 5, strlen("值"), 3};
    unsigned long long reloads = dk_redis_script_reloads();
    r = dk_redis_evalsha(c, &lua_echo, 4, argv, lens, &err);
    assert_non_null(r);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[1]->str, "值");
    assert_memory_equal(r->element[2]->str, "b\0c", 3); /* binary-safe */
    freeReplyObject(r);
    assert_int_equal(dk_redis_script_reloads(), reloads); /* it was there: no fallback */

    /* the cache emptied (as after a restart or a failover): the same call still works */
    freeReplyObject(dk_redis_cmd(c, &err, "SCRIPT FLUSH"));
    r = dk_redis_evalsha(c, &lua_echo, 4, argv, lens, &err);
    assert_non_null(r);
    assert_string_equal(r->element[0]->str, "k:{x}");
    freeReplyObject(r);
    assert_true(dk_redis_script_reloads() >= reloads + 1);
    r = dk_redis_cmd(c, &err, "SCRIPT EXISTS %s", dk_script_sha1(&lua_echo));
    assert_int_equal(r->element[0]->integer, 1); /* the EVAL loaded it */
    freeReplyObject(r);

    /* a script's own error is an error, with its message */
    r = dk_redis_evalsha(c, &lua_fails, 1, (const char *[]){"0"}, NULL, &err);
    assert_null(r);
    assert_int_equal(err.code, DK_EIO);
    assert_non_null(strstr(err.msg, "DKTEST no luck"));
    redisFree(c);
}

typedef struct {
    int calls;
    int code;
    int type;
    char str[96];
    long long n;
    struct event_base *base;
    dk_aredis *r;
    int ping_after; /* issue a PING from the callback, stop at its reply */
} script_state;

static void on_ping_done(redisReply *r, const dk_error *e, void *arg)
{
    script_state *s = arg;
    s->n = e->code ? e->code : (r && r->type == REDIS_REPLY_STATUS);
    event_base_loopexit(s->base, &(struct timeval){0, 300000});
}

static void on_script(redisReply *r, const dk_error *e, void *arg)
{
    script_state *s = arg;
    s->calls++;
    s->code = e->code;
    s->type = r ? r->type : 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3)
        snprintf(s->str, sizeof s->str, "%s|%s|%s", r->element[0]->str, r->element[1]->str,
                 r->element[2]->str);
    else if (r && r->str)
        snprintf(s->str, sizeof s->str, "%s", r->str);
    else if (r && r->type == REDIS_REPLY_INTEGER)
        s->n = r->integer;
    if (s->ping_after && s->calls == 1)
        dk_aredis_cmd(s->r, 0, on_ping_done, s, "PING");
    else
        event_base_loopexit(s->base, &(struct timeval){0, 300000}); /* catch a second call */
}

/* One script call on a fresh client of c; returns after the loop is idle. */
static void run_script(dk_config *c, script_state *s, dk_script *script)
{
    struct event_base *base = event_base_new();
    s->base = base;
    s->r = dk_aredis_new(base, c);
    const char *argv[] = {"1", "k:{y}", "甲", "乙"};
    dk_aredis_evalsha(s->r, 0, on_script, s, script, 4, argv, NULL);
    assert_int_equal(s->calls, 0); /* never answered inside the call */
    event_base_dispatch(base);
    dk_aredis_free(s->r);
    event_base_free(base);
}

static void test_script_async(void **st)
{
    (void)st;
    dk_error err = {0};
    redisContext *c = dk_redis_connect(cfg, &err);
    assert_non_null(c);
    freeReplyObject(dk_redis_cmd(c, &err, "SCRIPT FLUSH"));
    unsigned long long reloads = dk_redis_script_reloads();
    script_state s = {0};
    run_script(cfg, &s, &lua_echo); /* NOSCRIPT, then EVAL */
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.code, 0);
    assert_string_equal(s.str, "k:{y}|甲|乙");
    assert_true(dk_redis_script_reloads() >= reloads + 1);
    redisReply *r = dk_redis_cmd(c, &err, "SCRIPT EXISTS %s", dk_script_sha1(&lua_echo));
    assert_int_equal(r->element[0]->integer, 1);
    freeReplyObject(r);

    script_state s2 = {0}; /* loaded now: EVALSHA alone */
    run_script(cfg, &s2, &lua_echo);
    assert_int_equal(s2.calls, 1);
    assert_string_equal(s2.str, "k:{y}|甲|乙");

    script_state s3 = {0}; /* a script's error is a reply of type error, code 0 */
    run_script(cfg, &s3, &lua_fails);
    assert_int_equal(s3.calls, 1);
    assert_int_equal(s3.code, 0);
    assert_int_equal(s3.type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(s3.str, "DKTEST no luck"));
    redisFree(c);
}

/* A fake Redis on loopback, one connection, answering by a plan:
 *   NOSCRIPT_THEN_OK      EVALSHA -> NOSCRIPT, EVAL -> :7
 *   NOSCRIPT_THEN_SILENT  EVALSHA -> NOSCRIPT, EVAL -> nothing (the deadline must answer)
 *   NOSCRIPT_TWICE        NOSCRIPT to both (no third try)
 *   LATE                  nothing until a PING comes; then NOSCRIPT (for the EVALSHA,
 *                         long timed out) and +PONG: the late NOSCRIPT must not send EVAL
 *   READONLY              every other command -> -READONLY (a demoted primary)
 * It records the commands it read ("VERB arg1 arg2 ..." with the script text as its
 * length) until the client disconnects. */
enum fake_plan { NOSCRIPT_THEN_OK, NOSCRIPT_THEN_SILENT, NOSCRIPT_TWICE, LATE, READONLY };

typedef struct {
    int lfd;
    enum fake_plan plan;
    char seen[8][256];
    int nseen;
} fake_redis;

static const char noscript[] = "-NOSCRIPT No matching script. Please use EVAL.\r\n";

/* Parses one RESP command from buf[0..*len); returns 1 and consumes it, 0 if incomplete. */
static int fake_parse(char *buf, size_t *len, char *out, size_t outsz)
{
    char *p = buf, *end = buf + *len, *nl;
    if (!(nl = memchr(p, '\n', (size_t)(end - p))) || *p != '*') return 0;
    int argc = atoi(p + 1);
    p = nl + 1;
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (!(nl = memchr(p, '\n', (size_t)(end - p))) || *p != '$') return 0;
        size_t n = (size_t)atol(p + 1);
        p = nl + 1;
        if ((size_t)(end - p) < n + 2) return 0;
        if (i == 1 && n > 64) /* a script text: its length will do */
            o += (size_t)snprintf(out + o, outsz - o, "%s<%zu bytes>", o ? " " : "", n);
        else
            o += (size_t)snprintf(out + o, outsz - o, "%s%.*s", o ? " " : "", (int)n, p);
        if (o >= outsz) o = outsz - 1;
        p += n + 2;
    }
    *len = (size_t)(end - p);
    memmove(buf, p, *len);
    return 1;
}

static void *fake_serve(void *arg)
{
    fake_redis *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n <= 0) break;
        len += (size_t)n;
        char cmd[256];
        while (fake_parse(buf, &len, cmd, sizeof cmd)) {
            if (f->nseen < 8) snprintf(f->seen[f->nseen++], sizeof f->seen[0], "%s", cmd);
            const char *out = "";
            int evalsha = !strncmp(cmd, "EVALSHA ", 8), eval = !strncmp(cmd, "EVAL ", 5);
            if (!strncmp(cmd, "PING", 4))
                out = f->plan == LATE ? "-NOSCRIPT late\r\n+PONG\r\n" : "+PONG\r\n";
            else if (f->plan == LATE) out = "";
            else if (f->plan == READONLY)
                out = "-READONLY You can't write against a read only replica.\r\n";
            else if (evalsha) out = noscript;
            else if (eval && f->plan == NOSCRIPT_THEN_OK) out = ":7\r\n";
            else if (eval && f->plan == NOSCRIPT_TWICE) out = noscript;
            if (*out && write(fd, out, strlen(out)) < 0) break;
        }
    }
    close(fd);
    return NULL;
}

static dk_config *fake_start(fake_redis *f, pthread_t *t, const char *timeout_ms)
{
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    socklen_t sl = sizeof sa;
    getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(sa.sin_port));
    assert_int_equal(pthread_create(t, NULL, fake_serve, f), 0);
    setenv("DK_REDIS_TIMEOUT_MS", timeout_ms, 1);
    dk_config *c = config_with("DK_REDIS_PORT", port);
    unsetenv("DK_REDIS_TIMEOUT_MS");
    return c;
}

static void fake_run(enum fake_plan plan, const char *timeout_ms, script_state *s, fake_redis *f)
{
    *f = (fake_redis){.plan = plan};
    pthread_t t;
    dk_config *c = fake_start(f, &t, timeout_ms);
    run_script(c, s, &lua_echo); /* frees the client: the fake sees EOF and ends */
    pthread_join(t, NULL);
    close(f->lfd);
    dk_config_free(c);
}

/* A sync client that meets -READONLY (its server was demoted by a failover) is marked
 * failed, so that its owner reconnects to the primary, as after a lost link. */
static void test_sync_readonly(void **st)
{
    (void)st;
    fake_redis f = {.plan = READONLY};
    pthread_t t;
    dk_config *cfg = fake_start(&f, &t, "2000");
    dk_error err = {0};
    redisContext *c = dk_redis_connect(cfg, &err);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    assert_null(dk_redis_cmd(c, &err, "SET %s %s", "k", "v"));
    assert_non_null(strstr(err.msg, "READONLY"));
    assert_int_not_equal(c->err, 0);
    redisFree(c);
    pthread_join(t, NULL);
    close(f.lfd);
    dk_config_free(cfg);
}

static void test_script_noscript_paths(void **st)
{
    (void)st;
    char want_sha[128];
    snprintf(want_sha, sizeof want_sha, "EVALSHA %s 1 k:{y} 甲 乙", dk_script_sha1(&lua_echo));

    /* NOSCRIPT, then the same call as EVAL: the caller gets the EVAL's reply, once */
    fake_redis f;
    script_state s = {0};
    fake_run(NOSCRIPT_THEN_OK, "5000", &s, &f);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.code, 0);
    assert_int_equal(s.n, 7);
    assert_int_equal(f.nseen, 2);
    assert_string_equal(f.seen[0], want_sha);
    char want_eval[128];
    snprintf(want_eval, sizeof want_eval, "EVAL <%zu bytes> 1 k:{y} 甲 乙", strlen(lua_echo.text));
    if (strlen(lua_echo.text) <= 64) /* short texts are recorded as they are */
        snprintf(want_eval, sizeof want_eval, "EVAL %s 1 k:{y} 甲 乙", lua_echo.text);
    assert_string_equal(f.seen[1], want_eval);

    /* the EVAL is never answered: the first command's deadline answers, once */
    script_state s2 = {0};
    fake_run(NOSCRIPT_THEN_SILENT, "300", &s2, &f);
    assert_int_equal(s2.calls, 1);
    assert_int_equal(s2.code, DK_ETIMEOUT);
    assert_int_equal(f.nseen, 2);

    /* NOSCRIPT to the EVAL too (not real Redis, but no loop): that error is the reply */
    script_state s3 = {0};
    fake_run(NOSCRIPT_TWICE, "5000", &s3, &f);
    assert_int_equal(s3.calls, 1);
    assert_int_equal(s3.code, 0);
    assert_int_equal(s3.type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(s3.str, "NOSCRIPT"));
    assert_int_equal(f.nseen, 2);

    /* timed out first; the NOSCRIPT that comes after must not send anything (the caller
     * has had its answer): the fake reads the EVALSHA and the PING, nothing else */
    script_state s4 = {.ping_after = 1};
    fake_run(LATE, "1000", &s4, &f);
    assert_int_equal(s4.calls, 1);
    assert_int_equal(s4.code, DK_ETIMEOUT);
    assert_int_equal(s4.n, 1); /* the PING was answered: the late NOSCRIPT was read before */
    assert_int_equal(f.nseen, 2);
    assert_string_equal(f.seen[0], want_sha);
    assert_string_equal(f.seen[1], "PING");
}

int main(void)
{
    dk_error err = {0};
    if (dk_config_load(&cfg, NULL, &err)) {
        fprintf(stderr, "config: %s\n", err.msg);
        return 1;
    }
    redisContext *c = dk_redis_connect(cfg, &err);
    MYSQL *db = c ? dk_mysql_connect(cfg, &err) : NULL;
    if (!c || !db) {
        fprintf(stderr, "SKIP: the test stack is not reachable (%s); start it with deploy/stack.sh up\n",
                err.msg);
        if (c) redisFree(c);
        dk_config_free(cfg);
        return 77;
    }
    redisFree(c);
    dk_mysql_close(db);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_sync),
        cmocka_unit_test(test_mysql),
        cmocka_unit_test(test_mysql_hosts),
        cmocka_unit_test(test_aredis_ping),
        cmocka_unit_test(test_aredis_deadline),
        cmocka_unit_test(test_script_sync),
        cmocka_unit_test(test_script_async),
        cmocka_unit_test(test_script_noscript_paths),
        cmocka_unit_test(test_sync_readonly),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dk_config_free(cfg);
    return rc;
}
