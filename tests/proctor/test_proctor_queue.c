/* test_proctor_queue.c - the capture queue against a real Redis and MariaDB, with the
 * real models and photos: every capture scored exactly once (also when a worker dies
 * mid-job and another claims it, and when proctord is killed with SIGKILL), SIGTERM
 * finishes the job in hand, suspects decided per session (one impostor or no-face frame is
 * not a suspect, a stand-in half way is, with the frames behind it; no face for 10 minutes;
 * two faces; missing captures), failing jobs parked after 3 attempts, registered photos
 * need one face,
 * captures stored but never queued queued again once (and scored once).
 *
 * Needs the stack (DK_REDIS_PORT, DK_MYSQL_PORT ... from the environment) and
 * shared/models + shared/data/faces; exits 77 naming what is missing. It adds its own
 * rows (physicians, sessions, captures; foreign-key checks off on its own connection)
 * and removes them at the end; it only looks at its own sessions in the shared streams.
 * PROCTORD is the proctord binary (set by CTest). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <cmocka.h>

#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_redis.h"
#include "dom_session.h"
#include "proctor.h"
#include "test_slurp.h"

static const char *faces_dir, *proctord_bin;
static char data_dir[256];
static dk_config *cfg;
static redisContext *rc;
static MYSQL *db;
static long long physicians[8];
static int nphysicians;
static char sessions[32][40];
static int nsessions;

/* ---- helpers ------------------------------------------------------------------------ */

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void reload_config(void)
{
    dk_config_free(cfg);
    cfg = NULL;
    dk_error err = {0};
    if (dk_config_load(&cfg, NULL, &err)) fail_msg("config: %s", err.msg);
}

static void sql(const char *q, const dk_param *p, size_t n, MYSQL_RES **res, uint64_t *id)
{
    dk_error err = {0};
    if (dk_mysql_exec(db, q, p, n, res, NULL, &err)) fail_msg("%s: %s", q, err.msg);
    if (id) *id = mysql_insert_id(db);
}

static long long sql_int(const char *q, const dk_param *p, size_t n)
{
    MYSQL_RES *res = NULL;
    sql(q, p, n, &res, NULL);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    long long v = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    if (res) mysql_free_result(res);
    return v;
}

static redisReply *cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    if (!r) fail_msg("redis: %s", rc->errstr);
    return r;
}

static long long cmd_int(const char *fmt, const char *a)
{
    redisReply *r = cmd(fmt, a);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
                                                  : -1;
    freeReplyObject(r);
    return v;
}

static long long new_physician(const char *photo_rel)
{
    char idn[24], acct[40];
    unsigned r = (unsigned)rand();
    snprintf(idn, sizeof idn, "9%08u%08u%01u", r % 100000000u, (unsigned)(wall_ms() % 100000000),
             (unsigned)(nphysicians % 10));
    snprintf(acct, sizeof acct, "T%u%02d%05d", r, nphysicians, nphysicians + 1);
    char photo[512];
    snprintf(photo, sizeof photo, "%s/%s", faces_dir, photo_rel);
    dk_param p[] = {DK_PSTR(idn), DK_PSTR(acct), DK_PSTR(photo)};
    uint64_t id = 0;
    sql("INSERT INTO physician (id_number, name, account, password_hash, institution_id, "
        "practice_level, practice_category, photo_path) VALUES (?, 'proctor test', ?, 'x', "
        "999999, '执业医师', '临床', ?)",
        p, 3, NULL, &id);
    physicians[nphysicians++] = (long long)id;
    return (long long)id;
}

static char *new_sid(void)
{
    char *sid = sessions[nsessions++];
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < DOM_SID_LEN; i++)
        sid[i] = hex[rand() % 16];
    sid[DOM_SID_LEN] = '\0';
    return sid;
}

/* The live session hash as examd writes it (dom_lua_restore), with the fields proctoring
 * reads: the physician is DOM_F_PID. */
static void write_live_session(const char *sid, long long physician_id)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%lld", physician_id);
    dom_key k = dom_key_sess(sid);
    freeReplyObject(cmd("HSET %s %s %s %s %s %s %s", k.s, DOM_F_SID, sid, DOM_F_PID, pid,
                        DOM_F_STATUS, DOM_SESS_LIVE));
    freeReplyObject(cmd("EXPIRE %s 3600", k.s));
}

static const char *new_session(long long physician_id)
{
    char *sid = new_sid();
    /* the cycle numbers this run's sessions too: two sessions of one physician started in the
     * same millisecond must not collide on uq_exam_session_attempt */
    long long cycle = (wall_ms() % 10000000) * 64 + nsessions;
    dk_param p[] = {DK_PSTR(sid), DK_PINT(physician_id), DK_PINT(cycle)};
    sql("INSERT INTO exam_session (id, physician_id, enrolment_id, cycle_id, paper, seed, "
        "bank_version, paper_json, started_at, deadline) VALUES (?, ?, 999999, ?, '公共知识', 1, "
        "1, '[]', NOW(3), NOW(3) + INTERVAL 1 HOUR)",
        p, 3, NULL, NULL);
    write_live_session(sid, physician_id);
    return sid;
}

/* Stores a capture as examd does (file, row with photo_path when with_path) and queues it
 * when queue. src: relative to faces_dir, absolute (a photo the test made), or NULL for a truncated
 * JPEG, or "missing" for a path that does not exist. */
static long long store_capture(const char *sid, long long physician_id, const char *src,
                               long long taken_at, int with_path, int queue)
{
    size_t len = 0;
    unsigned char *b = NULL;
    if (src && strcmp(src, "missing")) {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", src[0] == '/' ? "" : faces_dir,
                 src[0] == '/' ? "" : "/", src); /* absolute: a file the test made */
        b = slurp_or_fail(path, &len);
    } else if (!src) {
        char path[512];
        snprintf(path, sizeof path, "%s/fr_obama/5.jpg", faces_dir);
        b = slurp_or_fail(path, &len);
        len /= 2; /* truncated */
    }
    dk_param p[] = {DK_PSTR(sid), DK_PINT(physician_id), DK_PINT(taken_at / 1000),
                    DK_PINT((long long)len)};
    uint64_t id = 0;
    sql("INSERT INTO proctor_capture (session_id, physician_id, taken_at, bytes) VALUES "
        "(?, ?, FROM_UNIXTIME(?), ?)",
        p, 4, NULL, &id);
    char rel[256], dir[512], full[768];
    snprintf(rel, sizeof rel, "captures/%s/%llu.jpg", sid, (unsigned long long)id);
    snprintf(dir, sizeof dir, "%s/captures/%s", data_dir, sid);
    mkdir(dir, 0700);
    if (b) {
        snprintf(full, sizeof full, "%s/%s", data_dir, rel);
        FILE *f = fopen(full, "wb");
        assert_non_null(f);
        fwrite(b, 1, len, f);
        fclose(f);
        free(b);
    }
    if (with_path) {
        dk_param u[] = {DK_PSTR(rel), DK_PINT((long long)id)};
        sql("UPDATE proctor_capture SET photo_path = ? WHERE id = ?", u, 2, NULL, NULL);
    }
    proctor_job job = {.capture_id = (long long)id,
                       .session_id = sid,
                       .physician_id = physician_id,
                       .path = rel,
                       .taken_at = taken_at};
    dk_error err = {0};
    if (queue && proctor_enqueue(rc, &job, &err)) fail_msg("enqueue: %s", err.msg);
    return (long long)id;
}

static long long add_capture(const char *sid, long long physician_id, const char *src,
                             long long taken_at)
{
    return store_capture(sid, physician_id, src, taken_at, 0, 1);
}

/* Jobs in the capture stream for this capture (queued or in hand). */
static int jobs_of(long long capture_id)
{
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", capture_id);
    redisReply *r = cmd("XRANGE %s - +", PROCTOR_STREAM);
    int n = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            if (!strcmp(f->element[k]->str, "capture_id") && !strcmp(f->element[k + 1]->str, cap))
                n++;
    }
    freeReplyObject(r);
    return n;
}

static long long results(const char *sid)
{
    return cmd_int("HLEN %s", dom_key_cap(sid).s);
}

static int wait_results(const char *sid, long long want, int timeout_ms)
{
    long long t0 = wall_ms();
    while (wall_ms() - t0 < timeout_ms) {
        if (results(sid) >= want) return 1;
        sleep_ms(50);
    }
    return 0;
}

/* Suspect stream entries of a session with the given reason (NULL: any). */
static int suspects(const char *sid, const char *reason, long long capture_id)
{
    redisReply *r = cmd("XRANGE %s - +", PROCTOR_SUSPECTS);
    int n = 0;
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", capture_id);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *s = NULL, *why = NULL, *c = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (!strcmp(f->element[k]->str, "session_id")) s = f->element[k + 1]->str;
            if (!strcmp(f->element[k]->str, "reason")) why = f->element[k + 1]->str;
            if (!strcmp(f->element[k]->str, "capture_id")) c = f->element[k + 1]->str;
        }
        if (s && !strcmp(s, sid) && (!reason || (why && !strcmp(why, reason))) &&
            (capture_id <= 0 || (c && !strcmp(c, cap))))
            n++;
    }
    freeReplyObject(r);
    return n;
}

/* The k-th capture id in the frames of the session's proctor_suspect row for reason, -1 if
 * there is none. */
static long long frames_of(const char *sid, const char *reason, int k)
{
    char path[32];
    snprintf(path, sizeof path, "$[%d]", k);
    dk_param p[] = {DK_PSTR(path), DK_PSTR(sid), DK_PSTR(reason)};
    return sql_int("SELECT IFNULL(JSON_VALUE(frames, ?), -1) FROM proctor_suspect WHERE "
                   "session_id = ? AND reason = ?",
                   p, 3);
}

/* physician_id of the first suspect stream entry of a session, -1 if none. */
static long long suspect_physician(const char *sid)
{
    redisReply *r = cmd("XRANGE %s - +", PROCTOR_SUSPECTS);
    long long pid = -1;
    for (size_t i = 0; pid < 0 && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *s = NULL, *p = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (!strcmp(f->element[k]->str, "session_id")) s = f->element[k + 1]->str;
            if (!strcmp(f->element[k]->str, "physician_id")) p = f->element[k + 1]->str;
        }
        if (s && p && !strcmp(s, sid)) pid = strtoll(p, NULL, 10);
    }
    freeReplyObject(r);
    return pid;
}

static char *cap_result(const char *sid, long long capture_id)
{
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", capture_id);
    redisReply *r = cmd("HGET %s %s", dom_key_cap(sid).s, cap);
    char *s = r->type == REDIS_REPLY_STRING ? dk_strdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

/* Entries of the stream still pending for a consumer (NULL: any consumer). */
static long long pending_for(const char *consumer)
{
    redisReply *r = consumer
                        ? cmd("XPENDING %s %s - + 100 %s", PROCTOR_STREAM, PROCTOR_GROUP, consumer)
                        : cmd("XPENDING %s %s - + 100", PROCTOR_STREAM, PROCTOR_GROUP);
    long long n = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
    freeReplyObject(r);
    return n;
}

static proctor_pool *start_pool(const char *name, int workers, int claim_idle_ms)
{
    char w[16], c[16];
    snprintf(w, sizeof w, "%d", workers);
    snprintf(c, sizeof c, "%d", claim_idle_ms);
    setenv("DK_PROCTOR_WORKERS", w, 1);
    setenv("DK_PROCTOR_CLAIM_IDLE_MS", c, 1);
    reload_config();
    proctor_pool *p = NULL;
    dk_error err = {0};
    if (proctor_pool_start(&p, cfg, name, 0, &err)) fail_msg("pool: %s", err.msg);
    return p;
}

static pid_t spawn_proctord(int claim_idle_ms)
{
    char c[16];
    snprintf(c, sizeof c, "%d", claim_idle_ms);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("DK_PROCTOR_WORKERS", "1", 1);
        setenv("DK_PROCTOR_CLAIM_IDLE_MS", c, 1);
        setenv("DK_LOG_LEVEL", "warn", 1);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 2);
        execl(proctord_bin, proctord_bin, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits until the child's consumer holds a job (it is mid-job); returns its name. */
static int wait_mid_job(pid_t pid, char *consumer, size_t n, int timeout_ms)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(consumer, n, "%s:%d-0", host, (int)pid);
    long long t0 = wall_ms();
    while (wall_ms() - t0 < timeout_ms) {
        if (pending_for(consumer) > 0) return 1;
        struct timespec ts = {0, 2000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_register_photo(void **state)
{
    (void)state;
    proctor_options o;
    dk_error err = {0};
    assert_int_equal(proctor_options_from_config(&o, cfg, &err), 0);
    proctor_engine *e = NULL;
    assert_int_equal(proctor_engine_new(&e, &o, &err), 0);
    long long pid = new_physician("deepface_img01/1.jpg");
    char path[512];
    size_t len;
    const char *bad[] = {"_multi_face/1.jpg", "_no_face/2.jpg"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", faces_dir, bad[i]);
        unsigned char *b = slurp_or_fail(path, &len);
        assert_int_equal(proctor_register_photo(e, db, pid, b, len, &err), DK_EUNPROCESSABLE);
        free(b);
    }
    dk_param p[] = {DK_PINT(pid)};
    assert_int_equal(sql_int("SELECT face_embedding IS NULL FROM physician WHERE id = ?", p, 1), 1);
    snprintf(path, sizeof path, "%s/deepface_img01/1.jpg", faces_dir);
    unsigned char *b = slurp_or_fail(path, &len);
    assert_int_equal(proctor_register_photo(e, db, pid, b, len, &err), 0);
    assert_int_equal(proctor_register_photo(e, db, 1LL << 60, b, len, &err), DK_ENOTFOUND);
    free(b);
    assert_int_equal(sql_int("SELECT LENGTH(face_embedding) FROM physician WHERE id = ?", p, 1),
                     512);
    MYSQL_RES *res = NULL;
    sql("SELECT face_model FROM physician WHERE id = ?", p, 1, &res, NULL);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_string_equal(row[0], "MobileFaceNet.onnx");
    mysql_free_result(res);
    proctor_engine_free(e);
}

static void test_scores_and_suspects(void **state)
{
    (void)state;
    long long a = physicians[0];                   /* registered above (embedding stored) */
    long long b = new_physician("fr_obama/1.jpg"); /* embedding computed by the worker */
    const char *s1 = new_session(a), *s2 = new_session(b);
    long long t = wall_ms();
    long long genuine = add_capture(s1, a, "deepface_img01/2.jpg", t);
    long long impostor = add_capture(s1, a, "fr_biden/1.jpg", t + 1);
    long long noface = add_capture(s1, a, "_no_face/1.jpg", t + 2);
    long long multi = add_capture(s1, a, "_multi_face/1.jpg", t + 3);
    long long bad = add_capture(s1, a, NULL, t + 4);
    long long obama = add_capture(s2, b, "fr_obama/2.jpg", t);
    proctor_pool *p = start_pool("qtest", 2, 5000);
    int ok = wait_results(s1, 5, 90000) && wait_results(s2, 1, 30000);
    proctor_stats st;
    proctor_pool_stats(p, &st);
    proctor_pool_stop(p);
    assert_true(ok);

    char *g = cap_result(s1, genuine), *i = cap_result(s1, impostor), *n = cap_result(s1, noface),
         *m = cap_result(s1, multi), *x = cap_result(s1, bad), *o = cap_result(s2, obama);
    print_message("genuine %s\nimpostor %s\nbad %s\nlazy %s\n", g, i, x, o);
    assert_non_null(strstr(g, "\"flag\":null"));
    assert_non_null(strstr(i, "\"flag\":\"low_similarity\""));
    assert_non_null(strstr(n, "\"flag\":\"no_face\""));
    assert_non_null(strstr(m, "\"flag\":\"multiple_faces\""));
    assert_non_null(strstr(x, "\"flag\":\"bad_image\""));
    assert_non_null(strstr(o, "\"flag\":null"));
    assert_null(strstr(o, "\"cosine\":null"));
    free(g), free(i), free(n), free(m), free(x), free(o);

    /* one low frame and one without a face are not a suspect session; two faces are */
    assert_int_equal(suspects(s1, "multiple_faces", multi), 1);
    assert_int_equal(suspects(s1, NULL, 0), 1);
    assert_int_equal(suspects(s2, NULL, 0), 0);

    dk_param ps1[] = {DK_PSTR(s1)};
    assert_int_equal(sql_int("SELECT COUNT(*) FROM proctor_capture WHERE session_id = ? AND "
                             "scored_at IS NOT NULL",
                             ps1, 1),
                     5);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM proctor_suspect WHERE session_id = ?", ps1, 1),
                     1);
    assert_int_equal(frames_of(s1, "multiple_faces", 0), multi);
    dk_param pc[] = {DK_PINT(impostor)};
    assert_true(sql_int("SELECT similarity < 40 FROM proctor_capture WHERE id = ?", pc, 1) == 1);
    dk_param pg[] = {DK_PINT(genuine)};
    assert_true(sql_int("SELECT similarity >= 40 FROM proctor_capture WHERE id = ?", pg, 1) == 1);
    dk_param pb[] = {DK_PINT(bad)};
    assert_true(sql_int("SELECT error IS NOT NULL AND flag = 'bad_image' FROM proctor_capture "
                        "WHERE id = ?",
                        pb, 1) == 1);
    dk_param pphys[] = {DK_PINT(b)};
    assert_int_equal(sql_int("SELECT LENGTH(face_embedding) FROM physician WHERE id = ?", pphys, 1),
                     512);
    /* the live session shows the latest capture */
    redisReply *r = cmd("HGET %s %s", dom_key_sess(s1).s, DOM_F_CAP_LAST_AT);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(strtoll(r->str, NULL, 10), t + 4);
    freeReplyObject(r);
}

/* Session decisions through the workers: a stand-in half way (3 genuine captures, then 4 of
 * someone else) makes one low_similarity_run suspect whose frames are the stand-in's; no
 * face for 10 minutes (three captures 5 minutes apart) makes a no_face_time suspect; both
 * once, in Redis and in MariaDB, however the two workers ordered the captures. */
static void test_session_decisions(void **state)
{
    (void)state;
    long long a = physicians[0]; /* deepface_img01 */
    const char *half = new_session(a), *away = new_session(a);
    long long t = wall_ms() - 3600000, caps[7], nf[3];
    const char *photos[] = {"deepface_img01/2.jpg", "deepface_img01/3.jpg",
                            "deepface_img01/4.jpg", "fr_biden/1.jpg",
                            "fr_biden/2.jpg",       "fr_obama/1.jpg",
                            "fr_obama/2.jpg"};
    for (int i = 0; i < 7; i++)
        caps[i] = add_capture(half, a, photos[i], t + i * 300000LL);
    add_capture(away, a, "deepface_img01/2.jpg", t);
    for (int i = 0; i < 3; i++)
        nf[i] = add_capture(away, a, "_no_face/1.jpg", t + (i + 1) * 300000LL);
    add_capture(away, a, "deepface_img01/3.jpg", t + 4 * 300000LL);
    proctor_pool *p = start_pool("qsession", 2, 5000);
    int ok = wait_results(half, 7, 120000) && wait_results(away, 5, 60000);
    sleep_ms(300);
    proctor_pool_stop(p);
    assert_true(ok);
    assert_int_equal(suspects(half, "low_similarity_run", 0), 1);
    assert_int_equal(suspects(half, NULL, 0), 1);
    dk_param ph[] = {DK_PSTR(half)}, pa[] = {DK_PSTR(away)};
    assert_int_equal(sql_int("SELECT COUNT(*) FROM proctor_suspect WHERE session_id = ?", ph, 1),
                     1);
    assert_int_equal(sql_int("SELECT JSON_LENGTH(frames) FROM proctor_suspect WHERE "
                             "session_id = ?",
                             ph, 1),
                     4);
    for (int k = 0; k < 4; k++)
        assert_int_equal(frames_of(half, "low_similarity_run", k), caps[3 + k]);
    /* the frame shown first is one of them, the lowest */
    assert_int_equal(sql_int("SELECT JSON_CONTAINS(frames, CAST(capture_id AS CHAR)) FROM "
                             "proctor_suspect WHERE session_id = ?",
                             ph, 1),
                     1);
    assert_int_equal(suspects(away, "no_face_time", 0), 1);
    assert_int_equal(suspects(away, NULL, 0), 1);
    for (int k = 0; k < 3; k++)
        assert_int_equal(frames_of(away, "no_face_time", k), nf[k]);
    assert_int_equal(sql_int("SELECT score FROM proctor_suspect WHERE session_id = ? AND "
                             "reason = 'no_face_time'",
                             pa, 1),
                     600);
}

/* A photo of faces_dir darkened to 12 % (a dark room), as a JPEG file in the test's data
 * folder (a temporary folder, removed at the end); its absolute path in out. */
static void dark_copy(const char *rel, char *out, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", faces_dir, rel);
    size_t len;
    unsigned char *b = slurp_or_fail(path, &len);
    tjhandle t = tjInitDecompress();
    int w, h, sub, cs;
    assert_int_equal(tjDecompressHeader3(t, b, (unsigned long)len, &w, &h, &sub, &cs), 0);
    unsigned char *px = malloc((size_t)w * h * 3);
    assert_int_equal(tjDecompress2(t, b, (unsigned long)len, px, w, 0, h, TJPF_BGR, 0), 0);
    tjDestroy(t);
    free(b);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        px[i] = (unsigned char)(px[i] * 0.12);
    t = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long jl = 0;
    assert_int_equal(tjCompress2(t, px, w, 0, h, TJPF_BGR, &jpeg, &jl, TJSAMP_420, 85, 0), 0);
    tjDestroy(t);
    free(px);
    snprintf(out, n, "%s/dark-%lld.jpg", data_dir, wall_ms());
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(jpeg, 1, jl, f), jl);
    fclose(f);
    tjFree(jpeg);
}

/* Issue 14 item 2: another person's face in a dark room is a retake, not low_similarity:
 * stored with flag retake and its reason, no similarity, no suspect entry; the live session
 * learns the reason and its next capture falls due now (the missing-capture deadline in
 * proctor:due stays). */
static void test_retake_not_suspect(void **state)
{
    (void)state;
    long long a = physicians[0]; /* registered: fr_biden would be low_similarity */
    const char *sid = new_session(a);
    long long later = wall_ms() + 600000;
    char due[32];
    snprintf(due, sizeof due, "%lld", later);
    freeReplyObject(cmd("HSET %s %s %s", dom_key_sess(sid).s, DOM_F_CAP_NEXT_DUE, due));
    freeReplyObject(cmd("ZADD %s %s %s", DOM_KEY_DUE, due, sid));
    char dark[600];
    dark_copy("fr_biden/1.jpg", dark, sizeof dark);
    long long id = add_capture(sid, a, dark, wall_ms());
    proctor_pool *p = start_pool("qretake", 1, 5000);
    int ok = wait_results(sid, 1, 60000);
    for (int i = 0; ok && i < 100; i++) { /* the session fields follow the result */
        redisReply *r = cmd("HGET %s %s", dom_key_sess(sid).s, DOM_F_CAP_RETAKE);
        int there = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        if (there) break;
        sleep_ms(50);
    }
    proctor_pool_stop(p);
    assert_true(ok);
    char *res = cap_result(sid, id);
    print_message("dark impostor %s\n", res);
    assert_non_null(strstr(res, "\"flag\":\"retake\""));
    assert_non_null(strstr(res, "\"retake\":\"too_dark\""));
    assert_non_null(strstr(res, "\"similarity\":null"));
    free(res);
    assert_int_equal(suspects(sid, NULL, 0), 0);
    dk_param ps[] = {DK_PSTR(sid)};
    assert_int_equal(sql_int("SELECT COUNT(*) FROM proctor_suspect WHERE session_id = ?", ps, 1),
                     0);
    dk_param pc[] = {DK_PINT(id)};
    assert_int_equal(sql_int("SELECT flag = 'retake' AND retake = 'too_dark' AND similarity IS "
                             "NULL AND scored_at IS NOT NULL FROM proctor_capture WHERE id = ?",
                             pc, 1),
                     1);
    redisReply *r = cmd("HMGET %s %s %s %s", dom_key_sess(sid).s, DOM_F_CAP_RETAKE,
                        DOM_F_CAP_RETAKE_ID, DOM_F_CAP_NEXT_DUE);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[0]->str, "too_dark");
    assert_int_equal(strtoll(r->element[1]->str, NULL, 10), id);
    assert_true(strtoll(r->element[2]->str, NULL, 10) <= wall_ms()); /* due now */
    freeReplyObject(r);
    r = cmd("ZSCORE %s %s", DOM_KEY_DUE, sid);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(strtoll(r->str, NULL, 10), later); /* the deadline is the old one */
    freeReplyObject(r);
    freeReplyObject(cmd("ZREM %s %s", DOM_KEY_DUE, sid));
    unlink(dark);
}

static void test_dead_consumer_claimed(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *s = new_session(a);
    long long c = add_capture(s, a, "fr_biden/2.jpg", wall_ms());
    /* a worker takes the job and dies without acknowledging it */
    redisReply *r = cmd("XREADGROUP GROUP %s dead-worker COUNT 100 STREAMS %s >", PROCTOR_GROUP,
                        PROCTOR_STREAM);
    freeReplyObject(r);
    assert_true(pending_for("dead-worker") >= 1);
    proctor_pool *p = start_pool("qclaim", 1, 800);
    int ok = wait_results(s, 1, 60000);
    sleep_ms(300);
    proctor_stats st;
    proctor_pool_stats(p, &st);
    proctor_pool_stop(p);
    assert_true(ok);
    assert_true(st.claimed >= 1);
    assert_int_equal(pending_for("dead-worker"), 0);
    char *res = cap_result(s, c);
    assert_non_null(res);
    assert_non_null(strstr(res, "\"flag\":\"low_similarity\""));
    free(res);
    assert_int_equal(suspects(s, NULL, 0), 0); /* one low frame: not a suspect session */
    freeReplyObject(cmd("XGROUP DELCONSUMER %s %s dead-worker", PROCTOR_STREAM, PROCTOR_GROUP));
}

static void test_kill_proctord_mid_job(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *s = new_session(a);
    const char *photos[] = {"deepface_img01/3.jpg", "fr_rose_leslie/1.jpg"};
    long long t = wall_ms();
    int n = 16, impostors = 0;
    long long caps[16];
    for (int i = 0; i < n; i++) {
        caps[i] = add_capture(s, a, photos[i % 2], t + i);
        impostors += i % 2;
    }
    pid_t pid = spawn_proctord(1500);
    char consumer[128];
    int mid = wait_mid_job(pid, consumer, sizeof consumer, 60000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(mid);
    long long left = pending_for(consumer);
    print_message("proctord killed with %lld job(s) in hand, %lld of %d scored\n", left, results(s),
                  n);
    assert_true(left >= 1);
    proctor_pool *p = start_pool("qafterkill", 2, 1500);
    int ok = wait_results(s, n, 120000);
    sleep_ms(500);
    proctor_stats st;
    proctor_pool_stats(p, &st);
    proctor_pool_stop(p);
    assert_true(ok);
    assert_true(st.claimed >= 1);
    assert_int_equal(pending_for(consumer), 0);
    /* a stand-in every other capture: half the frames low, never 4 in a row (also while
     * the captures were scored out of order); exactly once in Redis and in MariaDB, with
     * every impostor frame behind it */
    assert_int_equal(suspects(s, "low_similarity_share", 0), 1);
    assert_int_equal(suspects(s, NULL, 0), 1);
    dk_param ps[] = {DK_PSTR(s)};
    assert_int_equal(sql_int("SELECT occurrences FROM proctor_suspect WHERE session_id = ? AND "
                             "reason = 'low_similarity_share'",
                             ps, 1),
                     impostors);
    for (int i = 1; i < n; i += 2)
        assert_int_equal(frames_of(s, "low_similarity_share", i / 2), caps[i]);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM proctor_capture WHERE session_id = ? AND "
                             "scored_at IS NOT NULL",
                             ps, 1),
                     n);
    freeReplyObject(cmd("XGROUP DELCONSUMER %s %s %s", PROCTOR_STREAM, PROCTOR_GROUP, consumer));
}

static void test_sigterm_finishes_job(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *s = new_session(a);
    long long t = wall_ms();
    for (int i = 0; i < 8; i++)
        add_capture(s, a, "deepface_img01/4.jpg", t + i);
    pid_t pid = spawn_proctord(30000);
    char consumer[128];
    int mid = wait_mid_job(pid, consumer, sizeof consumer, 60000);
    kill(pid, SIGTERM);
    int status = -1;
    waitpid(pid, &status, 0);
    assert_true(mid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    long long done = results(s);
    print_message("SIGTERM: proctord exited 0 after %lld of 8 jobs, none left in hand\n", done);
    assert_true(done >= 1);
    assert_int_equal(pending_for(consumer), 0); /* the job in hand was finished */
    proctor_pool *p = start_pool("qdrain", 2, 30000);
    int ok = wait_results(s, 8, 60000);
    proctor_pool_stop(p);
    assert_true(ok);
    freeReplyObject(cmd("XGROUP DELCONSUMER %s %s %s", PROCTOR_STREAM, PROCTOR_GROUP, consumer));
}

static void test_parked_after_three_failures(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *s = new_session(a);
    long long c = add_capture(s, a, "missing", wall_ms());
    /* a job without its fields is parked at once */
    redisReply *r = cmd("XADD %s * capture_id 0 note malformed-%s", PROCTOR_STREAM, s);
    freeReplyObject(r);
    setenv("DK_PROCTOR_MAX_ATTEMPTS", "3", 1);
    proctor_pool *p = start_pool("qpark", 1, 300);
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", c);
    int found = 0, malformed = 0;
    long long t0 = wall_ms();
    while (wall_ms() - t0 < 30000 && (!found || !malformed)) {
        sleep_ms(100);
        r = cmd("XRANGE %s - +", PROCTOR_PARKED);
        found = malformed = 0;
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *f = r->element[i]->element[1];
            const char *cid = NULL, *err = NULL, *att = NULL;
            for (size_t k = 0; k + 1 < f->elements; k += 2) {
                if (!strcmp(f->element[k]->str, "capture_id")) cid = f->element[k + 1]->str;
                if (!strcmp(f->element[k]->str, "error")) err = f->element[k + 1]->str;
                if (!strcmp(f->element[k]->str, "attempts")) att = f->element[k + 1]->str;
            }
            if (cid && !strcmp(cid, cap) && err && strstr(err, "cannot open photo") && att &&
                !strcmp(att, "3"))
                found = 1;
            if (err && strstr(err, "malformed")) malformed = 1;
        }
        freeReplyObject(r);
    }
    proctor_stats st;
    proctor_pool_stats(p, &st);
    proctor_pool_stop(p);
    assert_true(found);
    assert_true(malformed);
    assert_true(st.failed >= 3);
    assert_int_equal(results(s), 0);
    dk_param pc[] = {DK_PINT(c)};
    assert_int_equal(sql_int("SELECT error IS NOT NULL FROM proctor_capture WHERE id = ?", pc, 1),
                     1);
}

static void test_missing_captures(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *late = new_session(a), *fine = new_session(a);
    long long now = wall_ms(), grace = 120000;
    freeReplyObject(cmd("ZADD %s %lld %s", DOM_KEY_DUE, now - grace - 5000, late));
    freeReplyObject(cmd("ZADD %s %lld %s", DOM_KEY_DUE, now - grace + 60000, fine));
    int flagged = 0;
    dk_error err = {0};
    assert_int_equal(proctor_check_missing(rc, db, now, grace, &flagged, &err), 0);
    assert_true(flagged >= 1);
    assert_int_equal(suspects(late, "missing_captures", 0), 1);
    assert_int_equal(suspects(fine, NULL, 0), 0);
    /* once: examd still lists it as overdue, a second check flags nothing new */
    freeReplyObject(cmd("ZADD %s %lld %s", DOM_KEY_DUE, now - grace - 4000, late));
    assert_int_equal(proctor_check_missing(rc, db, now + 1000, grace, &flagged, &err), 0);
    assert_int_equal(suspects(late, "missing_captures", 0), 1);
    dk_param pl[] = {DK_PSTR(late)};
    assert_int_equal(sql_int("SELECT occurrences FROM proctor_suspect WHERE session_id = ? AND "
                             "reason = 'missing_captures'",
                             pl, 1),
                     1);
    redisReply *r = cmd("HGET %s %s", dom_key_sess(late).s, DOM_F_CAP_MISSING);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    freeReplyObject(cmd("ZREM %s %s %s", DOM_KEY_DUE, late, fine));
}

/* The missing-capture check names the session's physician: from its exam_session row,
 * else (MariaDB unreachable, or no row) from the live session hash as examd writes it
 * (DOM_F_PID). It used to read a field examd never writes, so that fallback named
 * physician 0: a suspect entry without its physician and no proctor_suspect row. */
static void test_missing_physician_from_session(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *no_row = new_sid(), *no_db = new_session(a);
    write_live_session(no_row, a); /* in Redis only: its MariaDB row is not there */
    long long now = wall_ms(), grace = 120000;
    int flagged = 0;
    dk_error err = {0};
    freeReplyObject(cmd("ZADD %s %lld %s", DOM_KEY_DUE, now - grace - 5000, no_row));
    assert_int_equal(proctor_check_missing(rc, db, now, grace, &flagged, &err), 0);
    assert_int_equal(suspects(no_row, "missing_captures", 0), 1);
    assert_int_equal(suspect_physician(no_row), a);
    dk_param pr[] = {DK_PSTR(no_row)};
    assert_int_equal(sql_int("SELECT physician_id FROM proctor_suspect WHERE session_id = ? AND "
                             "reason = 'missing_captures'",
                             pr, 1),
                     a);
    /* no MariaDB connection at all: the session hash alone names the physician */
    freeReplyObject(cmd("ZADD %s %lld %s", DOM_KEY_DUE, now - grace - 5000, no_db));
    assert_int_equal(proctor_check_missing(rc, NULL, now, grace, &flagged, &err), 0);
    assert_int_equal(suspects(no_db, "missing_captures", 0), 1);
    assert_int_equal(suspect_physician(no_db), a);
}

/* examd stored a capture (file + row) but its XADD failed: the sweep queues it again, once;
 * a capture whose job is in the stream, one whose photo was deleted (retention) and one
 * that was parked (error) are left alone; two jobs of one capture make one suspect. */
static void test_requeue_unqueued(void **state)
{
    (void)state;
    long long a = physicians[0];
    const char *s = new_session(a);
    long long now = wall_ms(), old = now - 400LL * 86400 * 1000, after = 300000;
    long long lost = store_capture(s, a, "_multi_face/2.jpg", old, 1, 0);
    long long queued = store_capture(s, a, "deepface_img01/5.jpg", now, 1, 1);
    long long deleted = store_capture(s, a, "deepface_img01/6.jpg", old, 1, 0);
    long long purged = store_capture(s, a, "deepface_img01/6.jpg", old, 1, 0);
    long long parked = store_capture(s, a, "deepface_img01/6.jpg", old, 1, 0);
    dk_param pd[] = {DK_PINT(deleted)}, pp[] = {DK_PINT(purged)}, pk[] = {DK_PINT(parked)};
    sql("UPDATE proctor_capture SET photo_deleted_at = NOW(3) WHERE id = ?", pd, 1, NULL, NULL);
    sql("UPDATE proctor_capture SET photo_path = NULL, photo_deleted_at = NOW(3) WHERE id = ?", pp,
        1, NULL, NULL);
    sql("UPDATE proctor_capture SET error = 'cannot open photo' WHERE id = ?", pk, 1, NULL, NULL);

    /* an hour from now every row is old enough: the queued one is spared because the stream
     * still holds its job (it was taken after the oldest entry minus the grace) */
    long long backlog = cmd_int("XLEN %s", PROCTOR_STREAM);
    int n = 0;
    dk_error err = {0};
    assert_int_equal(proctor_requeue_unqueued(rc, db, now + 3600000, after, backlog + 50, &n, &err),
                     0);
    print_message("requeue sweep queued %d job(s) (backlog %lld)\n", n, backlog);
    assert_true(n >= 1);
    assert_int_equal(jobs_of(lost), 1);
    assert_int_equal(jobs_of(queued), 1);
    assert_int_equal(jobs_of(deleted), 0);
    assert_int_equal(jobs_of(purged), 0);
    assert_int_equal(jobs_of(parked), 0);
    /* a second sweep (another node, the next tick) queues nothing twice */
    assert_int_equal(proctor_requeue_unqueued(rc, db, now + 3600000, after, backlog + 50, &n, &err),
                     0);
    assert_int_equal(jobs_of(lost), 1);
    assert_int_equal(jobs_of(queued), 1);
    /* no room: the workers are behind, nothing is added */
    assert_int_equal(proctor_requeue_unqueued(rc, db, now + 3600000, after, 0, &n, &err), 0);
    assert_int_equal(n, 0);

    /* the XADD whose reply was lost did reach Redis: two jobs of one capture */
    char rel[256];
    snprintf(rel, sizeof rel, "captures/%s/%lld.jpg", s, lost);
    proctor_job again = {
        .capture_id = lost, .session_id = s, .physician_id = a, .path = rel, .taken_at = old};
    if (proctor_enqueue(rc, &again, &err)) fail_msg("enqueue: %s", err.msg);
    assert_int_equal(jobs_of(lost), 2);

    proctor_pool *p = start_pool("qrequeue", 1, 5000);
    int ok = wait_results(s, 2, 90000);
    long long t0 = wall_ms();
    while (ok && (jobs_of(lost) || jobs_of(queued)) && wall_ms() - t0 < 60000)
        sleep_ms(100);
    proctor_stats st;
    proctor_pool_stats(p, &st);
    proctor_pool_stop(p);
    assert_true(ok);
    assert_int_equal(jobs_of(lost), 0);
    assert_int_equal(jobs_of(queued), 0);

    dk_param pl[] = {DK_PINT(lost)}, ps[] = {DK_PSTR(s)};
    assert_int_equal(sql_int("SELECT scored_at IS NOT NULL AND faces >= 2 FROM "
                             "proctor_capture WHERE id = ?",
                             pl, 1),
                     1);
    char *res = cap_result(s, lost);
    assert_non_null(res);
    assert_non_null(strstr(res, "\"flag\":\"multiple_faces\""));
    free(res);
    /* scored twice, recorded once: one suspect entry in Redis, one frame in MariaDB */
    assert_int_equal(suspects(s, "multiple_faces", lost), 1);
    assert_int_equal(suspects(s, NULL, 0), 1);
    assert_int_equal(sql_int("SELECT occurrences FROM proctor_suspect WHERE session_id = ? AND "
                             "reason = 'multiple_faces'",
                             ps, 1),
                     1);
    assert_int_equal(frames_of(s, "multiple_faces", 0), lost);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM proctor_capture WHERE session_id = ? AND "
                             "scored_at IS NOT NULL",
                             ps, 1),
                     2);
    /* scored now: a later sweep leaves it alone */
    assert_int_equal(proctor_requeue_unqueued(rc, db, now + 3600000, after, backlog + 50, &n, &err),
                     0);
    assert_int_equal(jobs_of(lost), 0);
    freeReplyObject(cmd("DEL %s%lld %s%lld %s%lld %s%lld", PROCTOR_REQUEUED, lost, PROCTOR_REQUEUED,
                        deleted, PROCTOR_REQUEUED, purged, PROCTOR_REQUEUED, parked));
}

static void test_job_argv_and_lag(void **state)
{
    (void)state;
    const char *argv[PROCTOR_JOB_ARGC];
    size_t lens[PROCTOR_JOB_ARGC];
    char bufs[PROCTOR_JOB_NBUFS][32];
    proctor_job j = {.capture_id = 7,
                     .session_id = "abc",
                     .physician_id = 9,
                     .path = "p.jpg",
                     .taken_at = 1700000000123LL};
    assert_int_equal(proctor_job_argv(&j, argv, lens, bufs), PROCTOR_JOB_ARGC);
    assert_string_equal(argv[0], "XADD");
    assert_string_equal(argv[1], PROCTOR_STREAM);
    assert_string_equal(argv[4], "7");
    assert_string_equal(argv[12], "1700000000123");
    j.path = NULL;
    assert_int_equal(proctor_job_argv(&j, argv, lens, bufs), 0);
    proctor_lag lag;
    dk_error err = {0};
    assert_int_equal(proctor_queue_lag(rc, wall_ms(), &lag, &err), 0);
    assert_true(lag.length >= 0 && lag.parked >= 1);
}

/* ---- fixture ------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    srand((unsigned)(getpid() ^ wall_ms()));
    dk_error err = {0};
    sql("SET FOREIGN_KEY_CHECKS = 0", NULL, 0, NULL, NULL);
    return proctor_queue_init(rc, &err);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nsessions; i++) {
        dk_param p[] = {DK_PSTR(sessions[i])};
        sql("DELETE FROM proctor_suspect WHERE session_id = ?", p, 1, NULL, NULL);
        sql("DELETE FROM proctor_capture WHERE session_id = ?", p, 1, NULL, NULL);
        sql("DELETE FROM exam_session WHERE id = ?", p, 1, NULL, NULL);
        freeReplyObject(cmd("DEL %s %s %s", dom_key_sess(sessions[i]).s, dom_key_cap(sessions[i]).s,
                            dom_key_missing(sessions[i]).s));
        for (int r = 0; r < PROCTOR_SESSION_NREASONS; r++)
            freeReplyObject(cmd("DEL %s%s:%s", PROCTOR_FLAGGED, sessions[i],
                                proctor_session_reason_name((proctor_session_reason)r)));
    }
    for (int i = 0; i < nphysicians; i++) {
        dk_param p[] = {DK_PINT(physicians[i])};
        sql("DELETE FROM physician WHERE id = ?", p, 1, NULL, NULL);
    }
    char cmdline[600];
    snprintf(cmdline, sizeof cmdline, "rm -rf '%s'", data_dir);
    if (system(cmdline) != 0) print_error("could not remove %s\n", data_dir);
    return 0;
}

int main(void)
{
    faces_dir = getenv("PROCTOR_FACES_DIR");
    const char *models = getenv("DK_PROCTOR_MODEL_DIR");
    proctord_bin = getenv("PROCTORD");
    char need[2][1024];
    snprintf(need[0], sizeof need[0], "%s/fr_obama/1.jpg", faces_dir ? faces_dir : "(unset)");
    snprintf(need[1], sizeof need[1], "%s/MobileFaceNet.onnx", models ? models : "(unset)");
    for (int i = 0; i < 2; i++)
        if (access(need[i], R_OK)) {
            fprintf(stderr, "SKIP proctor_queue: %s is missing\n", need[i]);
            return 77;
        }
    if (!proctord_bin || access(proctord_bin, X_OK)) {
        fprintf(stderr, "SKIP proctor_queue: PROCTORD (the proctord binary) is not set\n");
        return 77;
    }
    snprintf(data_dir, sizeof data_dir, "/tmp/proctor-qtest-XXXXXX");
    if (!mkdtemp(data_dir)) return 1;
    char capdir[300];
    snprintf(capdir, sizeof capdir, "%s/captures", data_dir);
    mkdir(capdir, 0700);
    setenv("DK_DATA_DIR", data_dir, 1);
    setenv("DK_PROCTOR_CAPTURE_GRACE_S", "120", 1);
    reload_config();
    dk_error err = {0};
    rc = dk_redis_connect(cfg, &err);
    if (rc) db = dk_mysql_connect(cfg, &err);
    if (!rc || !db) {
        fprintf(stderr, "SKIP proctor_queue: the stack is unreachable (%s)\n", err.msg);
        if (rc) redisFree(rc);
        rmdir(capdir);
        rmdir(data_dir);
        dk_config_free(cfg);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_photo),
        cmocka_unit_test(test_scores_and_suspects),
        cmocka_unit_test(test_session_decisions),
        cmocka_unit_test(test_retake_not_suspect),
        cmocka_unit_test(test_dead_consumer_claimed),
        cmocka_unit_test(test_kill_proctord_mid_job),
        cmocka_unit_test(test_sigterm_finishes_job),
        cmocka_unit_test(test_parked_after_three_failures),
        cmocka_unit_test(test_missing_captures),
        cmocka_unit_test(test_missing_physician_from_session),
        cmocka_unit_test(test_requeue_unqueued),
        cmocka_unit_test(test_job_argv_and_lag),
    };
    int failed = cmocka_run_group_tests_name("proctor_queue", tests, setup, teardown);
    redisFree(rc);
    dk_mysql_close(db);
    dk_config_free(cfg);
    return failed;
}
