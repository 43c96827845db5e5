/* test_common_unit.c - unit tests of common/: the error table, configuration (file,
 * environment overrides, validation), bounded JSON parsing, ID masking, histograms,
 * the worker queue's bound and its delivery back to an event loop, and SHA-1 (the
 * names of Lua scripts). */
#include <event2/event.h>
#include <event2/thread.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dk_auth.h"
#include "dk_config.h"
#include "dk_json.h"
#include "dk_log.h"
#include "dk_metrics.h"
#include "dk_redis.h"
#include "dk_sentinel.h"
#include "dk_workq.h"

static void test_err_table(void **st)
{
    (void)st;
    assert_int_equal(dk_err_http_status(DK_EINVAL), 400);
    assert_int_equal(dk_err_http_status(DK_ECONFLICT), 409);
    assert_int_equal(dk_err_http_status(DK_EBUSY), 503);
    assert_int_equal(dk_err_http_status(DK_ERATELIMIT), 429);
    assert_int_equal(dk_err_http_status(-999), 500);
    assert_string_equal(dk_err_name(DK_ENOTFOUND), "not_found");
    /* a must-change token: still 403, but a code of its own that pages act on */
    assert_int_equal(dk_err_http_status(DK_EPWCHANGE), 403);
    assert_string_equal(dk_err_name(DK_EPWCHANGE), "password_change_required");
    dk_error e;
    assert_int_equal(dk_error_set(&e, DK_ETOOBIG, "n=%d", 5), DK_ETOOBIG);
    assert_string_equal(e.msg, "n=5");
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/dk-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_config_defaults_file_env(void **st)
{
    (void)st;
    /* deploy/test.sh exports the test stack's ports: they would beat the file */
    static const char *const vars[] = {"DK_CONFIG", "DK_REDIS_PORT", "DK_MYSQL_PORT",
                                       "DK_MYSQL_DB", "DK_EXAM_DURATION_S"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    char *path = write_tmp("# comment\nredis_port = 7001\n  mysql_db=other \n");
    dk_config *cfg;
    dk_error err = {0};
    assert_int_equal(dk_config_load(&cfg, path, &err), 0);
    assert_int_equal(dk_config_int(cfg, "redis_port"), 7001);
    assert_string_equal(dk_config_source(cfg, "redis_port"), "file");
    assert_string_equal(dk_config_str(cfg, "mysql_db"), "other");
    assert_int_equal(dk_config_int(cfg, "exam_duration_s"), 3600);
    assert_string_equal(dk_config_source(cfg, "exam_duration_s"), "default");
    dk_config_free(cfg);

    /* the environment beats the file */
    setenv("DK_REDIS_PORT", "7002", 1);
    setenv("DK_EXAM_DURATION_S", "30", 1);
    assert_int_equal(dk_config_load(&cfg, path, &err), 0);
    assert_int_equal(dk_config_int(cfg, "redis_port"), 7002);
    assert_string_equal(dk_config_source(cfg, "redis_port"), "env");
    assert_int_equal(dk_config_int(cfg, "exam_duration_s"), 30);

    /* secrets are not printed */
    char buf[8192] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    dk_config_print(cfg, f);
    fclose(f);
    assert_non_null(strstr(buf, "mysql_password"));
    assert_null(strstr(buf, "dingkao-dev"));
    dk_config_free(cfg);

    /* a bad value in the environment is refused, naming the key */
    setenv("DK_REDIS_PORT", "12x", 1);
    assert_int_equal(dk_config_load(&cfg, path, &err), DK_EINVAL);
    assert_non_null(strstr(err.msg, "redis_port"));
    unsetenv("DK_REDIS_PORT");
    unsetenv("DK_EXAM_DURATION_S");
    unlink(path);
    free(path);

    /* an unknown key in the file is an error, with its line */
    path = write_tmp("redis_port = 1\nno_such_key = 3\n");
    assert_int_equal(dk_config_load(&cfg, path, &err), DK_EINVAL);
    assert_non_null(strstr(err.msg, ":2: unknown key 'no_such_key'"));
    unlink(path);
    free(path);

    /* $DK_CONFIG names the file when no path is given */
    path = write_tmp("mysql_port = 4242\n");
    setenv("DK_CONFIG", path, 1);
    assert_int_equal(dk_config_load(&cfg, NULL, &err), 0);
    assert_int_equal(dk_config_int(cfg, "mysql_port"), 4242);
    dk_config_free(cfg);
    unsetenv("DK_CONFIG");
    unlink(path);
    free(path);
}

static void test_json_limits(void **st)
{
    (void)st;
    json_t *v;
    dk_error err = {0};
    const char *ok = "{\"paper\":\"业务水平\",\"n\":3}";
    assert_int_equal(dk_json_parse(ok, strlen(ok), 1024, &v, &err), 0);
    const char *s;
    long long n;
    assert_int_equal(dk_json_str(v, "paper", 32, &s, &err), 0);
    assert_string_equal(s, "业务水平");
    assert_int_equal(dk_json_int(v, "n", 1, 5, &n, &err), 0);
    assert_int_equal(dk_json_int(v, "n", 4, 5, &n, &err), DK_EINVAL);
    assert_int_equal(dk_json_str(v, "n", 32, &s, &err), DK_EINVAL);
    assert_int_equal(dk_json_str(v, "missing", 32, &s, &err), DK_EINVAL);
    const char *allowed[] = {"paper", NULL};
    assert_int_equal(dk_json_only_keys(v, allowed, &err), DK_EINVAL);
    assert_non_null(strstr(err.msg, "'n'"));
    json_decref(v);

    assert_int_equal(dk_json_parse(ok, strlen(ok), 10, &v, &err), DK_ETOOBIG);
    assert_int_equal(dk_json_parse("{\"a\":", 5, 100, &v, &err), DK_EINVAL);
    assert_int_equal(dk_json_parse("{\"a\":1,\"a\":2}", 13, 100, &v, &err), DK_EINVAL);
    char deep[200] = {0};
    for (int i = 0; i < 40; i++) deep[i] = '[';
    for (int i = 0; i < 40; i++) deep[40 + i] = ']';
    assert_int_equal(dk_json_parse(deep, 80, 1000, &v, &err), DK_EINVAL);
    assert_non_null(strstr(err.msg, "deeper"));
}

static void test_mask_id(void **st)
{
    (void)st;
    char out[32];
    dk_mask_id("140202199001011234", out, sizeof out);
    assert_string_equal(out, "1402*****34");
    dk_mask_id("123", out, sizeof out);
    assert_string_equal(out, "******");
}

static void test_hist(void **st)
{
    (void)st;
    dk_hist h = {0};
    for (int i = 0; i < 99; i++) dk_hist_observe(&h, 800);
    dk_hist_observe(&h, 2000000);
    assert_true(dk_hist_quantile(&h, 0.5) <= 1000);
    assert_true(dk_hist_quantile(&h, 0.999) > 1000000);
}

/* ---- workq: completions come back on the loop, a full queue says DK_EBUSY ---------- */

typedef struct {
    int worked, done;
    struct event_base *base;
    int expect;
} wq_state;

static void slow_work(void *ctx, void *arg)
{
    (void)ctx;
    usleep(200000); /* long enough that the pacing below holds whether or not one finished */
    __atomic_add_fetch(&((wq_state *)arg)->worked, 1, __ATOMIC_SEQ_CST);
}

static void quick_work(void *ctx, void *arg)
{
    (void)ctx;
    usleep(10000);
    __atomic_add_fetch(&((wq_state *)arg)->worked, 1, __ATOMIC_SEQ_CST);
}

static void on_done(void *arg)
{
    wq_state *s = arg;
    if (++s->done == s->expect) event_base_loopbreak(s->base);
}

static void guard_cb(evutil_socket_t fd, short what, void *base)
{
    (void)fd, (void)what;
    event_base_loopbreak(base);
}

static void test_workq(void **st)
{
    (void)st;
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    dk_mailbox *mb = dk_mailbox_new(base);
    dk_workq *q = dk_workq_new("t", 1, 2, NULL, NULL, NULL);
    wq_state s = {.base = base};
    int accepted = 0, busy = 0;
    for (int i = 0; i < 6; i++) {
        int rc = dk_workq_submit(q, mb, slow_work, on_done, &s);
        if (rc == 0) accepted++;
        else if (rc == DK_EBUSY) busy++;
    }
    assert_true(accepted >= 2 && accepted <= 3); /* 2 queued, maybe 1 already running */
    assert_int_equal(accepted + busy, 6);
    /* the refused are paced: the more were refused, the later they are told to come back
     * (no rate measured yet: 10 jobs/s for one thread), never beyond the cap */
    int first = dk_workq_retry_after(q, 30), last = first;
    for (int i = 0; i < 99; i++) last = dk_workq_retry_after(q, 30);
    assert_int_equal(first, 1);
    assert_true(last >= 5 && last <= 30); /* ~100 refused at 10/s */
    assert_int_equal(dk_workq_retry_after(q, 3), 3);
    s.expect = accepted;
    /* a loop with nothing registered would return at once: keep it alive (a server's
     * listener does this) and bound the wait */
    struct event *guard = evtimer_new(base, guard_cb, base);
    struct timeval ten = {10, 0};
    evtimer_add(guard, &ten);
    event_base_dispatch(base);
    event_free(guard);
    assert_int_equal(s.done, accepted);
    assert_int_equal(s.worked, accepted);
    dk_workq_free(q);
    dk_mailbox_free(mb);
    event_base_free(base);
}

/* The pacing follows what the pool can do (threads over the time a job takes), not only
 * what it finished lately: a pool that waiting clients left idle must not tell the next
 * ones to wait longer still. Two threads, 10 ms jobs: ~200 jobs/s, so 100 refused are
 * told to come back within about a second (the finished rate alone, none measured yet,
 * gave 20/s and 6 s). */
static void test_workq_capacity(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    dk_mailbox *mb = dk_mailbox_new(base);
    dk_workq *q = dk_workq_new("c", 2, 4, NULL, NULL, NULL);
    wq_state s = {.base = base, .expect = 4};
    for (int i = 0; i < 4; i++) assert_int_equal(dk_workq_submit(q, mb, quick_work, on_done, &s), 0);
    struct event *guard = evtimer_new(base, guard_cb, base);
    struct timeval ten = {10, 0};
    evtimer_add(guard, &ten);
    event_base_dispatch(base);
    event_free(guard);
    assert_int_equal(s.done, 4);
    int last = 0;
    for (int i = 0; i < 100; i++) last = dk_workq_retry_after(q, 30);
    assert_true(last >= 1 && last <= 3);
    dk_workq_free(q);
    dk_mailbox_free(mb);
    event_base_free(base);
}

static void test_fmt_ll(void **state)
{
    (void)state;
    static const long long v[] = {0, 7, -7, 10, 1765000000123LL, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char got[24], want[24];
        size_t n = dk_fmt_ll(got, v[i]);
        snprintf(want, sizeof want, "%lld", v[i]);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));
    }
}

static void test_auth(void **st)
{
    (void)st;
    setenv("DK_TOKEN_SECRET", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    setenv("DK_ARGON2_MEMLIMIT_KIB", "8192", 1);
    setenv("DK_ARGON2_OPSLIMIT", "1", 1);
    dk_config *cfg;
    dk_error err = {0};
    assert_int_equal(dk_config_load(&cfg, NULL, &err), 0);
    dk_auth a;
    assert_int_equal(dk_auth_init(&a, cfg, &err), 0);
    dk_claims c = {.kind = 'p',
                   .id = 1234,
                   .issued_ms = 1765000000123LL,
                   .expires = 2000,
                   .must_change = 1},
              got;
    char tok[DK_TOKEN_MAX];
    dk_token_make(&a, &c, tok);
    assert_int_equal(dk_token_check(&a, tok, strlen(tok), 1999, &got, &err), 0);
    assert_int_equal(got.id, 1234);
    assert_int_equal(got.kind, 'p');
    assert_int_equal(got.must_change, 1);
    assert_true(got.issued_ms == 1765000000123LL);
    /* expired */
    assert_int_equal(dk_token_check(&a, tok, strlen(tok), 2000, &got, &err), DK_EAUTH);
    /* forged: another id with the old mac, and a flipped mac character */
    char forged[DK_TOKEN_MAX];
    snprintf(forged, sizeof forged, "%s", tok);
    forged[5] = '9';
    assert_int_equal(dk_token_check(&a, forged, strlen(forged), 1000, &got, &err), DK_EAUTH);
    snprintf(forged, sizeof forged, "%s", tok);
    forged[strlen(forged) - 1] ^= 1;
    assert_int_equal(dk_token_check(&a, forged, strlen(forged), 1000, &got, &err), DK_EAUTH);
    assert_int_equal(dk_token_check(&a, "v1.p.1", 6, 1000, &got, &err), DK_EAUTH);
    /* another key does not accept it */
    /* signed by the key but not the v2 layout: refused by the parser, not only the MAC */
    static const char *const odd[] = {"v2.p.12x.1.9999.n", "v2.p..1.9999.n", "v2.p.1.1.9999.",
                                      "v2.p.1.1.9999.nn", "v2.pp.1.1.9999.n", "v3.p.1.1.9999.n",
                                      "v2.p.1.1.99999999999999999999.n", "v2.p.-1.1.9999.n"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(mac, (const unsigned char *)odd[i], strlen(odd[i]), a.key);
        char t[DK_TOKEN_MAX];
        size_t l = (size_t)snprintf(t, sizeof t, "%s.", odd[i]);
        sodium_bin2base64(t + l, sizeof t - l, mac, sizeof mac,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_int_equal(dk_token_check(&a, t, strlen(t), 1000, &got, &err), DK_EAUTH);
    }
    /* and the same way, a well-formed one is accepted: the MAC above is computed right */
    {
        const char *ok = "v2.p.77.1.9999.n";
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(mac, (const unsigned char *)ok, strlen(ok), a.key);
        char t[DK_TOKEN_MAX];
        size_t l = (size_t)snprintf(t, sizeof t, "%s.", ok);
        sodium_bin2base64(t + l, sizeof t - l, mac, sizeof mac,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_int_equal(dk_token_check(&a, t, strlen(t), 1000, &got, &err), 0);
        assert_int_equal(got.id, 77);
        assert_int_equal(got.must_change, 0);
    }
    dk_auth b = a;
    b.key[0] ^= 1;
    dk_auth_rekey(&b);
    assert_int_equal(dk_token_check(&b, tok, strlen(tok), 1000, &got, &err), DK_EAUTH);
    size_t n;
    assert_non_null(dk_bearer("Bearer abc", &n));
    assert_int_equal(n, 3);
    assert_null(dk_bearer("Basic abc", &n));

    assert_int_equal(dk_password_policy("666666", 6, &err), DK_EINVAL);
    assert_int_equal(dk_password_policy("abcdefgh1", 9, &err), DK_EINVAL); /* two classes */
    assert_int_equal(dk_password_policy("Abcdefgh1", 9, &err), 0);
    assert_int_equal(dk_password_policy("abcdefg1!", 9, &err), 0);
    char hash[DK_HASH_MAX];
    assert_int_equal(dk_password_hash(&a, "Abcdefgh1", 9, hash, &err), 0);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_int_equal(dk_password_verify(hash, "Abcdefgh1", 9), 0);
    assert_int_equal(dk_password_verify(hash, "Abcdefgh2", 9), DK_EAUTH);
    dk_config_free(cfg);
    unsetenv("DK_TOKEN_SECRET");
    unsetenv("DK_ARGON2_MEMLIMIT_KIB");
    unsetenv("DK_ARGON2_OPSLIMIT");
}

static void test_sentinel_parse(void **st)
{
    (void)st;
    dk_redis_addr a[3];
    assert_int_equal(dk_sentinel_parse("10.0.1.12:26379, 10.0.1.13:26380,::1:5000", a, 3), 3);
    assert_string_equal(a[0].host, "10.0.1.12");
    assert_int_equal(a[0].port, 26379);
    assert_int_equal(a[1].port, 26380);
    assert_string_equal(a[2].host, "::1");
    assert_int_equal(dk_sentinel_parse("", a, 3), 0);
    assert_int_equal(dk_sentinel_parse("10.0.0.1", a, 3), -1);                /* no port */
    assert_int_equal(dk_sentinel_parse("10.0.0.1:0", a, 3), -1);              /* port 0 */
    assert_int_equal(dk_sentinel_parse("10.0.0.1:65536", a, 3), -1);
    assert_int_equal(dk_sentinel_parse("10.0.0.1:26379x", a, 3), -1);
    assert_int_equal(dk_sentinel_parse("redis.example:26379", a, 3), -1);     /* names: no */
    assert_int_equal(dk_sentinel_parse("1.1.1.1:1,2.2.2.2:2,3.3.3.3:3,4.4.4.4:4", a, 3), -1);
    /* without Sentinels the primary is redis_host:redis_port, generation 0 */
    dk_config *cfg = NULL;
    dk_error err = {0};
    setenv("DK_REDIS_PORT", "6390", 1);
    assert_int_equal(dk_config_load(&cfg, NULL, &err), 0);
    unsetenv("DK_REDIS_PORT");
    dk_redis_addr p;
    assert_int_equal(dk_redis_primary(cfg, &p), 0);
    assert_int_equal(p.port, 6390);
    assert_int_equal(p.gen, 0);
    dk_config_free(cfg);
}

/* SHA-1: the examples of FIPS 180-2 appendix A, a million bytes, every tail length around
 * the padding boundaries (55/56 and 63/64 bytes: one or two final blocks), checked
 * against digests from coreutils' sha1sum. */
static void test_sha1(void **st)
{
    (void)st;
    char h[DK_SHA1_HEX_LEN];
    dk_sha1_hex("", 0, h);
    assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    dk_sha1_hex("abc", 3, h);
    assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    dk_sha1_hex(two, strlen(two), h);
    assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    dk_sha1_hex(million, 1000000, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
    /* "0123456789" repeated, cut at n bytes:
     *     printf '0123456789%.0s' {1..13} | head -c n | sha1sum */
    static const struct {
        size_t n;
        const char *hex;
    } cuts[] = {
        {55, "9f3a4ce7f66b1b74c34da2c5d732c39f81e0f8df"},
        {56, "0a40b8fbdaafb7c29651618ac15d27e772287130"},
        {63, "984b0f2f6d78c24020f5a79d409f67ab99302891"},
        {64, "cf0800f7644ace3cb4c3fa33388d3ba0ea3c8b6e"},
        {65, "92de3a8444fe6d15268f0ba810aa43bc8b3a4ffe"},
        {119, "d1ba16c5f745875597b6d0b9061f30b5a5c89092"},
        {120, "deb4cf0a6f315d8403e5eff0923a8c5c52f21ac8"},
    };
    char digits[130];
    for (size_t i = 0; i < sizeof digits; i++) digits[i] = (char)('0' + i % 10);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        dk_sha1_hex(digits, cuts[i].n, h);
        assert_string_equal(h, cuts[i].hex);
    }
}

/* A script's SHA-1 is computed once, whichever thread asks first (TSan: no race). */
static dk_script lua_probe = DK_SCRIPT("return redis.call('GET', KEYS[1])");

static void *sha_of_probe(void *arg)
{
    (void)arg;
    return (void *)dk_script_sha1(&lua_probe);
}

static void test_script_sha1_once(void **st)
{
    (void)st;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sha_of_probe, NULL), 0);
    const char *mine = dk_script_sha1(&lua_probe);
    for (int i = 0; i < 4; i++) {
        void *theirs;
        pthread_join(t[i], &theirs);
        assert_ptr_equal(theirs, mine); /* the one stored copy */
    }
    char want[DK_SHA1_HEX_LEN];
    dk_sha1_hex(lua_probe.text, strlen(lua_probe.text), want);
    assert_string_equal(mine, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),   cmocka_unit_test(test_config_defaults_file_env),
        cmocka_unit_test(test_json_limits), cmocka_unit_test(test_mask_id),
        cmocka_unit_test(test_hist),        cmocka_unit_test(test_workq), cmocka_unit_test(test_workq_capacity),
        cmocka_unit_test(test_auth), cmocka_unit_test(test_fmt_ll),
        cmocka_unit_test(test_sentinel_parse),
        cmocka_unit_test(test_sha1),        cmocka_unit_test(test_script_sha1_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
