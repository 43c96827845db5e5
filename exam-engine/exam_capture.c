/* exam_capture.c - POST /api/v1/sessions/{id}/captures (image/jpeg body).
 *
 * The loop checks the JPEG header (size and pixel limits, microseconds) and that the
 * session is the caller's and live; a database thread stores the photo once under
 * data_dir/captures/<sid>/<capture id>.jpg and its proctor_capture row; back on the
 * loop the job is XADDed to the capture stream for the proctor workers, and the next
 * capture is scheduled at a random time the server picks (proctor:due). A capture earlier
 * than that time minus capture_early_slack_s is refused (429 naming the time), and a session
 * takes at most capture_max_per_session (409): one physician cannot fill the disk, the
 * capture rows or the proctor's stream. The physician
 * is never blocked by proctoring: a long stream only shows as lag in /metrics. A capture
 * stored but not queued (Redis down or slow) is queued later by the proctor's sweep. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dk_log.h"
#include "exam_internal.h"
#include "proctor.h"

typedef struct capture_job {
    exam_server *srv;
    dk_req *rq;
    char sid[33];
    long long pid, taken_ms, next_due_ms, capture_id;
    int width, height;
    char path[512];
    int rc;
    dk_error err;
} capture_job;

static int mkdirs(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes the whole of b to a new file at path and fsyncs it; on any failure the file is
 * removed (nothing half-written stays) and errno says why. */
static int write_file(const char *path, const unsigned char *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return -1;
    size_t off = 0;
    int rc = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            rc = -1;
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fsync(fd) != 0) rc = -1; /* the photo is evidence: on disk before the job exists */
    int saved = errno;
    if (close(fd) != 0 && !rc) {
        rc = -1;
        saved = errno;
    }
    if (rc) {
        unlink(path);
        errno = saved;
    }
    return rc;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The photo could not be stored: a full or failing disk is the server's, not the
 * physician's, and not the database connection's (no DK_EIO, which would drop it). */
static int storage_failed(capture_job *j, const char *what, const char *path)
{
    int e = errno;
    DK_ERROR("examd", "cannot store capture: %s path=%s errno=%d (%s)", what, path, e, strerror(e));
    j->err.retry_after = 30;
    return dk_error_set(&j->err, DK_EBUSY,
                        e == ENOSPC || e == EDQUOT ? "服务器存储空间不足，照片未保存，请稍后重试"
                                                   : "照片保存失败，请稍后重试");
}

/* The photo and its row, both or neither: the photo goes to a temporary name first (a
 * full disk fails there, before any row), then the row is inserted, the file renamed to
 * <capture id>.jpg and the row given its path in one transaction; a failure after the
 * file was written rolls the row back and removes the file. */
static void capture_work(void *ctx, void *arg)
{
    capture_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    if (!db) {
        j->rc = j->err.code;
        return;
    }
    const dk_req *rq = j->rq;
    unsigned char digest[32];
    char hex[65];
    crypto_hash_sha256(digest, rq->body, rq->body_len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    char dir[400], tmp[512];
    snprintf(dir, sizeof dir, "%s/captures/%s", j->srv->data_dir, j->sid);
    snprintf(tmp, sizeof tmp, "%s/.%lld-%08x.part", dir, j->taken_ms, randombytes_random());
    if (mkdirs(dir) != 0) {
        j->rc = storage_failed(j, "mkdir", dir);
        return;
    }
    if (write_file(tmp, rq->body, rq->body_len) != 0) {
        j->rc = storage_failed(j, "write", tmp);
        return;
    }
    dk_param p[] = {DK_PSTR(j->sid),          DK_PINT(j->pid),    DK_PINT(j->taken_ms),
                    DK_PSTR(hex),             DK_PINT(rq->body_len), DK_PINT(j->width),
                    DK_PINT(j->height)};
    int renamed = 0;
    j->rc = dk_mysql_begin(db, &j->err);
    if (!j->rc)
        j->rc = dk_mysql_exec(db,
                              "INSERT INTO proctor_capture (session_id, physician_id, taken_at, "
                              "photo_sha256, bytes, width, height) VALUES (?, ?, "
                              "FROM_UNIXTIME(? / 1000), ?, ?, ?, ?)",
                              p, 7, NULL, NULL, &j->err);
    if (!j->rc) {
        j->capture_id = (long long)mysql_insert_id(db);
        snprintf(j->path, sizeof j->path, "%s/%lld.jpg", dir, j->capture_id);
        if (rename(tmp, j->path) != 0 || fsync_dir(dir) != 0)
            j->rc = storage_failed(j, "rename", j->path);
        else
            renamed = 1;
    }
    if (!j->rc) {
        dk_param u[] = {DK_PSTR(j->path), DK_PINT(j->capture_id)};
        j->rc = dk_mysql_exec(db, "UPDATE proctor_capture SET photo_path = ? WHERE id = ?", u, 2,
                              NULL, NULL, &j->err);
    }
    if (!j->rc) j->rc = dk_mysql_commit(db, &j->err);
    if (j->rc) {
        dk_mysql_rollback(db);
        unlink(renamed ? j->path : tmp);
    }
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void on_queued(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    capture_job *j = rq->state;
    if (e->code || !r || r->type == REDIS_REPLY_ERROR) {
        /* the stored photo and its row stay (scored_at NULL): the proctor's sweep queues
         * them again minutes later (proctor_requeue_unqueued), so the capture is still
         * scored; the page sends a new capture meanwhile */
        DK_WARN("examd", "capture not queued capture_id=%lld err=%s", j->capture_id,
                e->code ? e->msg : r ? r->str : "no reply");
        exam_busy(rq, 3, "照片暂未提交成功，稍后自动重传");
        return;
    }
    dk_http_reply_json(rq, 202,
                       json_pack("{s:I,s:b,s:I,s:I}", "capture_id", (json_int_t)j->capture_id,
                                 "queued", 1, "next_capture_at", (json_int_t)j->next_due_ms,
                                 "server_time", (json_int_t)exam_now_ms(j->srv)));
}

static void on_scheduled(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)e;
    (void)arg; /* the schedule is best effort: the next capture resets it */
}

/* Nothing was stored: the capture does not count against capture_max_per_session. */
static void refund(dk_loop *loop, const char *sid)
{
    dom_key k = dom_key_sess(sid);
    const char *argv[] = {"1", k.s};
    dk_aredis_evalsha(loop->redis, 0, on_scheduled, NULL, &dom_lua_capture_refund, 2, argv, NULL);
}

static void capture_done(void *arg)
{
    capture_job *j = arg;
    dk_req *rq = j->rq;
    if (j->rc) {
        refund(rq->loop, j->sid);
        dk_http_fail(rq, &j->err);
        return;
    }
    /* the next capture: uniformly within [0.5, 1.5] x the configured interval */
    long long interval = j->srv->capture_interval_ms;
    j->next_due_ms = exam_now_ms(j->srv) + interval / 2 + (long long)randombytes_uniform(
                                                      (uint32_t)(interval > 0 ? interval : 1));
    char due[24];
    snprintf(due, sizeof due, "%lld", j->next_due_ms);
    const char *zargv[] = {"ZADD", DOM_KEY_DUE, due, j->sid};
    dk_aredis_cmdargv(rq->loop->redis, 0, on_scheduled, NULL, 4, zargv, NULL);
    dom_key k_sess = dom_key_sess(j->sid);
    const char *hargv[] = {"HSET", k_sess.s, DOM_F_CAP_NEXT_DUE, due};
    dk_aredis_cmdargv(rq->loop->redis, 0, on_scheduled, NULL, 4, hargv, NULL);

    proctor_job job = {.capture_id = j->capture_id, .session_id = j->sid,
                       .physician_id = j->pid, .path = j->path, .taken_at = j->taken_ms};
    const char *argv[PROCTOR_JOB_ARGC];
    size_t argvlen[PROCTOR_JOB_ARGC];
    char bufs[PROCTOR_JOB_NBUFS][32];
    size_t argc = proctor_job_argv(&job, argv, argvlen, bufs);
    dk_aredis_cmdargv(rq->loop->redis, 0, on_queued, rq, (int)argc, argv, argvlen);
}

/* 429 for a capture before its time: Retry-After and the due time itself (in the error
 * object, next_capture_at), so the page schedules the capture the server expects. */
static void reply_early(dk_req *rq, long long due_ms, long long now_ms, long long slack_ms)
{
    long long wait_s = (due_ms - slack_ms - now_ms + 999) / 1000;
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", wait_s > 0 ? wait_s : 1);
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", ra);
    dk_http_reply_json(rq, 429,
                       json_pack("{s:{s:s,s:s,s:I,s:I}}", "error", "code",
                                 dk_err_name(DK_ERATELIMIT), "message",
                                 "还未到拍照时间，页面将按服务器时间自动拍照", "next_capture_at",
                                 (json_int_t)due_ms, "server_time", (json_int_t)now_ms));
}

static void on_checked(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    capture_job *j = rq->state;
    if (e->code) {
        dk_http_fail(rq, e);
        return;
    }
    /* {verdict, next due, now} (dom_lua_capture_ok) */
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        dk_http_failf(rq, DK_EIO, "服务器繁忙，照片稍后重传");
        return;
    }
    const char *verdict = r->element[0]->str;
    if (!strcmp(verdict, "closed")) {
        dk_http_failf(rq, DK_ECONFLICT, "考试已结束，不再需要拍照");
        return;
    }
    if (!strcmp(verdict, "notopen")) {
        dk_http_failf(rq, DK_ECONFLICT, "考试尚未开始，开考后再拍照");
        return;
    }
    if (!strcmp(verdict, "early")) {
        reply_early(rq, r->element[1]->integer, r->element[2]->integer,
                    j->srv->capture_early_slack_ms);
        return;
    }
    if (!strcmp(verdict, "toomany")) {
        dk_http_failf(rq, DK_ECONFLICT, "本场考试的监考照片数量已达上限，不再拍照");
        return;
    }
    if (strcmp(verdict, "ok") != 0) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, capture_work, capture_done, j)) {
        refund(rq->loop, j->sid);
        exam_busy_pool(rq, exam_pool(rq), "服务器繁忙，照片稍后重传");
    }
}

void exam_capture_post(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0];
    if (!dom_sid_valid(sid, strlen(sid))) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    exam_server *srv = exam_of(rq);
    int w = 0, h = 0;
    if (exam_check_jpeg(rq, &w, &h)) return;
    capture_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv;
    j->rq = rq;
    j->pid = who->id;
    j->taken_ms = exam_now_ms(srv);
    j->width = w;
    j->height = h;
    snprintf(j->sid, sizeof j->sid, "%s", sid);
    rq->state = j;
    rq->state_free = free;
    dom_key k_sess = dom_key_sess(sid);
    char pid[24], slack[24], max[24];
    snprintf(pid, sizeof pid, "%lld", who->id);
    snprintf(slack, sizeof slack, "%lld", srv->capture_early_slack_ms);
    snprintf(max, sizeof max, "%lld", srv->capture_max_per_session);
    const char *argv[] = {"1", k_sess.s, pid, slack, max};
    dk_aredis_evalsha(rq->loop->redis, 0, on_checked, rq, &dom_lua_capture_ok, 5, argv, NULL);
}

/* ---- GET /api/v1/sessions/{sid}/captures/{id}: the proctor's word on one capture -------
 * The page asks a few seconds after a capture was accepted: {"capture_id", "scored",
 * "retake", "next_capture_at", "server_time"}. retake (a PROCTOR_RETAKE_* code, null
 * otherwise) means the quality gate refused the frame: the page shows why and sends a new
 * capture now (the worker brought DOM_F_CAP_NEXT_DUE forward). Never a similarity. Redis
 * only (the session's hash and its capture results), on the loop.
 * "challenge": true = the proctor asks for a liveness challenge (DOM_F_CAP_CHALLENGE): the
 * page prompts the turns and sends the frames to POST .../liveness (exam_camera.c).
 * KEYS: sess, cap. ARGV: pid, capture id.
 * -> {"nosession"} | {status, scored (0/1), retake ("" = none), next due, now, ask (0/1)} */
static dk_script capture_state_lua = DK_SCRIPT(
    "local s = redis.call('HMGET', KEYS[1], 'pid', 'status', 'cap_retake', 'cap_retake_id',\n"
    "                     'cap_next_due', 'cap_challenge')\n"
    "if not s[1] or s[1] ~= ARGV[1] then return {'nosession'} end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local scored = redis.call('HEXISTS', KEYS[2], ARGV[2])\n"
    "local retake = ''\n"
    "if s[4] == ARGV[2] then retake = s[3] or '' end\n"
    "local ask = 0\n"
    "if s[6] and s[6] ~= '' then ask = 1 end\n"
    "return {s[2] or '', scored, retake, tonumber(s[5] or '0') or 0, now, ask}\n");

static void on_state(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    if (e->code) {
        dk_http_fail(rq, e);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        dk_http_failf(rq, DK_EIO, "服务器繁忙，请稍后重试");
        return;
    }
    if (r->elements != 6) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    const char *retake = r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str : "";
    int live = !strcmp(r->element[0]->str, DOM_SESS_LIVE);
    json_t *v = json_pack("{s:s,s:b,s:b,s:I,s:I}", "capture_id", rq->params[1], "scored",
                          r->element[1]->integer == 1, "live", live, "next_capture_at",
                          (json_int_t)r->element[3]->integer, "server_time",
                          (json_int_t)r->element[4]->integer);
    json_object_set_new(v, "retake", retake[0] && live ? json_string(retake) : json_null());
    json_object_set_new(v, "challenge", json_boolean(live && r->element[5]->integer == 1));
    dk_http_reply_json(rq, 200, v);
}

void exam_capture_get(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0], *cid = rq->params[1];
    size_t n = strlen(cid);
    if (!dom_sid_valid(sid, strlen(sid)) || n == 0 || n > 19 || strspn(cid, "0123456789") != n) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这张照片");
        return;
    }
    dom_key k_sess = dom_key_sess(sid), k_cap = dom_key_cap(sid);
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", who->id);
    const char *argv[] = {"2", k_sess.s, k_cap.s, pid, cid};
    dk_aredis_evalsha(rq->loop->redis, 0, on_state, rq, &capture_state_lua, 5, argv, NULL);
}

/* ---- files no capture row names ---------------------------------------------------------
 * A kill -9 or a power cut between the photo's write and its row's commit leaves a file no
 * row names: a .part, or a <id>.jpg renamed inside a transaction that never committed. The
 * retention purge follows rows, so such a photo of a face would stay on the disk for ever.
 * The sweep removes them once older than CAPTURE_ORPHAN_AGE_S: no capture in flight is that
 * old (its transaction lives seconds, within mysql_timeout_ms). Ids are checked against
 * proctor_capture in batches; a file whose row exists is never touched, whatever its age
 * (the purge owns it). Folders are never removed: a capture may be creating its own. */
#define CAPTURE_ORPHAN_AGE_S 600
#define SWEEP_BATCH_IDS 200

typedef struct sweep_batch {
    int n;
    long long id[SWEEP_BATCH_IDS];
    char path[SWEEP_BATCH_IDS][512];
} sweep_batch;

/* Deletes the files of the batch whose id has no proctor_capture row. */
static int sweep_check(MYSQL *db, exam_capture_sweep *w, sweep_batch *b)
{
    if (!b->n) return 0;
    char sql[64 + SWEEP_BATCH_IDS * 3] = "SELECT id FROM proctor_capture WHERE id IN (";
    dk_param p[SWEEP_BATCH_IDS];
    for (int i = 0; i < b->n; i++) {
        strcat(sql, i ? ",?" : "?");
        p[i] = DK_PINT(b->id[i]);
    }
    strcat(sql, ")");
    MYSQL_RES *res;
    if (dk_mysql_exec(db, sql, p, (size_t)b->n, &res, NULL, &w->err)) return w->err.code;
    char known[SWEEP_BATCH_IDS] = {0};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        for (int i = 0; i < b->n; i++)
            if (row[0] && strtoll(row[0], NULL, 10) == b->id[i]) known[i] = 1;
    mysql_free_result(res);
    for (int i = 0; i < b->n; i++)
        if (!known[i] && unlink(b->path[i]) == 0) {
            DK_WARN("examd", "removed a capture photo no row names (a crash before its commit) "
                    "path=%s", b->path[i]);
            w->removed++;
        }
    w->checked += b->n;
    b->n = 0;
    return 0;
}

/* 1 when name is <digits>.jpg, with the id in *id. */
static int capture_file_id(const char *name, long long *id)
{
    char *end;
    if (name[0] < '1' || name[0] > '9') return 0;
    long long v = strtoll(name, &end, 10);
    if (strcmp(end, ".jpg") != 0 || v <= 0) return 0;
    *id = v;
    return 1;
}

static int sweep_session_dir(MYSQL *db, exam_capture_sweep *w, const char *dir, time_t old,
                             sweep_batch *b)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        char path[512];
        struct stat st;
        long long id;
        size_t len = strlen(e->d_name);
        int part = e->d_name[0] == '.' && len > 5 && strcmp(e->d_name + len - 5, ".part") == 0;
        int jpg = !part && capture_file_id(e->d_name, &id);
        if (!part && !jpg) continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime > old)
            continue;
        if (part) {
            if (unlink(path) == 0) {
                DK_WARN("examd", "removed a capture never stored (a crash before its row) "
                        "path=%s", path);
                w->removed++;
            }
            continue;
        }
        b->id[b->n] = id;
        memcpy(b->path[b->n++], path, sizeof path);
        if (b->n == SWEEP_BATCH_IDS) rc = sweep_check(db, w, b);
    }
    closedir(d);
    return rc;
}

void exam_capture_sweep_work(void *ctx, void *arg)
{
    exam_capture_sweep *w = arg;
    MYSQL *db = dk_dbconn_get(ctx, &w->err);
    if (!db) {
        w->rc = w->err.code;
        return;
    }
    char root[400];
    snprintf(root, sizeof root, "%s/captures", w->srv->data_dir);
    DIR *d = opendir(root);
    if (!d) return; /* no capture stored on this node yet */
    time_t old = time(NULL) - CAPTURE_ORPHAN_AGE_S;
    sweep_batch *b = dk_calloc(1, sizeof *b);
    struct dirent *e;
    while (!w->rc && (e = readdir(d))) {
        char dir[512];
        struct stat st;
        if (e->d_name[0] == '.' ||
            (size_t)snprintf(dir, sizeof dir, "%s/%s", root, e->d_name) >= sizeof dir ||
            lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_mtime < w->since)
            continue;
        w->rc = sweep_session_dir(db, w, dir, old, b);
    }
    closedir(d);
    if (!w->rc) w->rc = sweep_check(db, w, b);
    free(b);
    if (w->rc == DK_EIO) dk_dbconn_drop(ctx);
}
