/* test_common_stack.c - the stack helpers against the real Redis and MariaDB of the
 * test stack (DK_REDIS_PORT, DK_MYSQL_PORT...): sync and async Redis, parameterised
 * MariaDB statements, error mapping, and the async client's deadline against a server
 * that never answers. Exits 77 when the stack is not reachable. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
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
        cmocka_unit_test(test_aredis_ping),
        cmocka_unit_test(test_aredis_deadline),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dk_config_free(cfg);
    return rc;
}
