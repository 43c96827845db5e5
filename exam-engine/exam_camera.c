/* exam_camera.c - POST /api/v1/camera-check (JPEG body): the camera check before a test
 * starts. Unlike captures during the test (queued for the proctor workers), this one
 * answers at once: the page may start only when it shows exactly one face. It runs on a
 * small bounded pool of face-engine threads (each with its own proctor_engine and
 * MariaDB connection); a full pool answers 503 + Retry-After. Nothing is stored. A
 * physician gets camera_check_max checks per camera_check_window_s (dom_limit: 429 beyond),
 * so that one cannot keep the pool full, and the answer is pass or fail with the face count,
 * never the similarity. */
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "exam_internal.h"
#include "proctor.h"

typedef struct face_ctx {
    proctor_engine *engine; /* NULL if it could not be made */
    dk_dbconn db;
} face_ctx;

void *exam_face_thread_init(void *cfg)
{
    face_ctx *f = dk_calloc(1, sizeof *f);
    f->db.cfg = cfg;
    proctor_options o;
    dk_error err = {0};
    proctor_set_cv_threads(1);
    if (proctor_options_from_config(&o, cfg, &err) || proctor_engine_new(&f->engine, &o, &err))
        DK_ERROR("examd", "camera-check engine not available err=\"%s\"", err.msg);
    return f;
}

void exam_face_thread_fini(void *ctx)
{
    face_ctx *f = ctx;
    proctor_engine_free(f->engine);
    dk_mysql_close(f->db.db);
    free(f);
}

typedef struct check_job {
    exam_server *srv;
    dk_req *rq;
    long long pid;
    int rc;
    dk_error err;
    proctor_result res;
    /* the liveness challenge (POST /api/v1/camera-check/liveness): its frames in the body */
    int liveness, nframes;
    const unsigned char *frame[PROCTOR_LIVENESS_FRAMES];
    size_t frame_len[PROCTOR_LIVENESS_FRAMES];
    proctor_result fres[PROCTOR_LIVENESS_FRAMES];
    const char *verdict; /* proctor_liveness_verdict */
    char sid[33];        /* a challenge during the test: its session ("" at the camera check) */
} check_job;

/* The registered embedding of the physician, if any (0 = none, no error). */
static int load_reference(face_ctx *f, long long pid, proctor_embedding *emb, int *have,
                          dk_error *err)
{
    *have = 0;
    MYSQL *db = dk_dbconn_get(&f->db, err);
    if (!db) return err->code;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(pid)};
    int rc = dk_mysql_exec(db, "SELECT face_embedding, face_model FROM physician WHERE id = ?",
                           p, 1, &res, NULL, err);
    if (rc) {
        if (rc == DK_EIO) dk_dbconn_drop(&f->db);
        return rc;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long *len = mysql_fetch_lengths(res);
    if (row && row[0] && row[1] &&
        proctor_embedding_unpack((const unsigned char *)row[0], len[0], row[1], emb, err) == 0)
        *have = 1;
    mysql_free_result(res);
    return 0;
}

static void check_work(void *ctx, void *arg)
{
    face_ctx *f = ctx;
    check_job *j = arg;
    if (!f->engine) {
        j->rc = dk_error_set(&j->err, DK_EBUSY, "人脸识别服务暂不可用，请稍后重试");
        return;
    }
    proctor_embedding *ref = dk_calloc(1, sizeof *ref);
    int have = 0;
    dk_error ignore = {0};
    if (load_reference(f, j->pid, ref, &have, &ignore) != 0) have = 0;
    const proctor_embedding *use = have && !strcmp(ref->model, proctor_engine_model(f->engine))
                                       ? ref : NULL;
    if (!j->liveness) {
        j->rc = proctor_score(f->engine, j->rq->body, j->rq->body_len, use, &j->res, &j->err);
        free(ref);
        return;
    }
    /* the front frame is the camera check itself (gate and identity); the turned ones
     * only need one face each, and their yaw */
    j->rc = proctor_score(f->engine, j->frame[0], j->frame_len[0], use, &j->res, &j->err);
    j->fres[0] = j->res;
    for (int i = 1; !j->rc && i < PROCTOR_LIVENESS_FRAMES; i++) {
        j->rc = proctor_score(f->engine, j->frame[i], j->frame_len[i], NULL, &j->fres[i], &j->err);
        if (j->rc && j->fres[i].flag == PROCTOR_FLAG_BAD_IMAGE) j->res = j->fres[i];
    }
    j->verdict = j->rc ? "" : proctor_liveness_verdict(j->fres, PROCTOR_LIVENESS_MIN_TURN);
    free(ref);
}

/* What the page shows for a retake (proctor_result.retake). */
static const char *retake_message(const char *why)
{
    if (!strcmp(why, PROCTOR_RETAKE_TOO_SMALL))
        return "人脸太小：请靠近摄像头，让面部完整地占据画面中央";
    if (!strcmp(why, PROCTOR_RETAKE_BLURRED)) return "画面模糊：请保持头部不动，擦拭镜头后重新拍照";
    if (!strcmp(why, PROCTOR_RETAKE_TOO_DARK))
        return "画面太暗：请打开照明或面向光源，让面部清晰可见";
    if (!strcmp(why, PROCTOR_RETAKE_TOO_BRIGHT))
        return "画面过亮：请避免强光直射镜头或背对窗户，然后重新拍照";
    if (!strcmp(why, PROCTOR_RETAKE_TURNED))
        return "请正对摄像头（头部不要偏向一侧），然后重新拍照";
    return "照片质量不足，请重新拍照";
}

static const char *liveness_message(const char *why)
{
    if (!strcmp(why, "not_left"))
        return "活体检测未通过：没有检测到向左转头，请按提示缓慢转头后重试";
    if (!strcmp(why, "not_right"))
        return "活体检测未通过：没有检测到向右转头，请按提示缓慢转头后重试";
    if (!strcmp(why, "multiple_faces")) return "活体检测未通过：画面中出现多张人脸";
    return "活体检测未通过：转头时画面中没有检测到人脸，请保持面部在画面内";
}

static void record_challenge(check_job *j, const char *verdict);

static void check_done(void *arg)
{
    check_job *j = arg;
    proctor_result *r = &j->res;
    if (j->rc && r->flag != PROCTOR_FLAG_BAD_IMAGE) {
        if (j->rc == DK_EBUSY) /* the node had no face engine: not the physician's check */
            dom_limit_refund(j->rq->loop->redis, &j->srv->camera_limit, j->pid);
        dk_http_fail(j->rq, &j->err);
        return;
    }
    const char *msg;
    int ok = 0;
    switch (r->flag) {
    case PROCTOR_FLAG_BAD_IMAGE: msg = "照片无法识别，请重新拍照"; break;
    case PROCTOR_FLAG_NO_FACE: msg = "未检测到人脸：请正对摄像头，保证光线充足、面部无遮挡"; break;
    case PROCTOR_FLAG_MULTIPLE_FACES: msg = "检测到多张人脸：考试时画面中只能有考生本人"; break;
    case PROCTOR_FLAG_LOW_SIMILARITY: msg = "与报名照片相似度过低，请本人正对摄像头后重试"; break;
    case PROCTOR_FLAG_RETAKE: msg = retake_message(r->retake); break;
    default:
        ok = r->faces == 1;
        msg = ok ? "人脸检测通过" : "未检测到人脸：请正对摄像头，保证光线充足、面部无遮挡";
    }
    /* the challenge, when the front frame passed; degraded mode has no landmarks: it
     * cannot judge and says so (the page's own check stands, as for the face check) */
    const char *live = NULL;
    if (j->liveness && ok && !r->degraded) {
        live = j->verdict ? j->verdict : "";
        DK_INFO("examd", "liveness challenge physician=%lld verdict=%s yaw=%.1f/%.1f/%.1f%s",
                j->pid, live[0] ? live : "passed", j->fres[0].yaw, j->fres[1].yaw, j->fres[2].yaw,
                j->srv->camera_liveness ? "" : " (camera_liveness=0: not applied)");
        if (live[0] && !j->srv->camera_liveness && !j->sid[0]) {
            live = "off";
        } else if (live[0]) {
            ok = 0;
            msg = liveness_message(live);
        }
    }
    if (j->sid[0]) /* during the test: the front frame's failure is the verdict too */
        record_challenge(j, live                             ? (live[0] ? live : "passed")
                            : r->degraded                    ? "degraded"
                            : r->flag == PROCTOR_FLAG_RETAKE ? r->retake
                            : proctor_flag_name(r->flag)     ? proctor_flag_name(r->flag)
                                                             : "no_face");
    /* pass or fail and why, never the similarity: a stand-in could tune a photo against it
     * (nor the yaw: only which turn was missing) */
    json_t *v = json_pack("{s:b,s:i,s:s?,s:s,s:b}", "ok", ok, "faces", r->faces, "flag",
                          proctor_flag_name(r->flag), "message", msg, "degraded", r->degraded);
    if (r->retake[0]) json_object_set_new(v, "retake", json_string(r->retake));
    if (live) json_object_set_new(v, "liveness", json_string(live[0] ? live : "passed"));
    dk_http_reply_json(j->rq, 200, v);
}

static void on_limit(int rc, const dk_error *err, void *arg)
{
    dk_req *rq = arg;
    check_job *j = rq->state;
    if (rc) {
        dk_http_fail(rq, err);
        return;
    }
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, check_work, check_done, j)) {
        dom_limit_refund(rq->loop->redis, &j->srv->camera_limit, j->pid); /* we were busy */
        exam_busy_pool(rq, exam_pool(rq), "检测人数较多，请稍候自动重试");
    }
}

static check_job *new_job(dk_req *rq, const dk_claims *who)
{
    exam_server *srv = exam_of(rq);
    check_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv;
    j->rq = rq;
    j->pid = who->id;
    rq->state = j;
    rq->state_free = free;
    return j;
}

void exam_camera_check(dk_req *rq, const dk_claims *who)
{
    int w = 0, h = 0;
    if (exam_check_jpeg(rq, &w, &h)) return;
    new_job(rq, who);
    dom_limit_hit(rq->loop->redis, &exam_of(rq)->camera_limit, who->id, on_limit, rq);
}

/* The challenge's body: PROCTOR_LIVENESS_FRAMES JPEGs, each preceded by its length as 4
 * bytes big-endian, each through the capture's header check. Returns a job holding the
 * frames (pointers into the body), or NULL after answering 422. */
static check_job *liveness_job(dk_req *rq, const dk_claims *who)
{
    const unsigned char *b = rq->body;
    size_t left = rq->body_len;
    const unsigned char *frame[PROCTOR_LIVENESS_FRAMES];
    size_t len[PROCTOR_LIVENESS_FRAMES];
    const exam_server *srv = exam_of(rq);
    for (int i = 0; i < PROCTOR_LIVENESS_FRAMES; i++) {
        if (left < 4) goto bad;
        size_t n = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
        b += 4;
        left -= 4;
        if (n == 0 || n > left) goto bad;
        dk_error err = srv->photo_err;
        int w, h;
        if (err.code || proctor_jpeg_check(b, n, &srv->photo, &w, &h, &err) != 0) {
            dk_error shown = {.code = err.code == DK_EINVAL ? DK_EUNPROCESSABLE : err.code};
            snprintf(shown.msg, sizeof shown.msg, "第 %d 张照片无法使用（%.200s），请重新检测",
                     i + 1, err.msg);
            dk_http_fail(rq, &shown);
            return NULL;
        }
        frame[i] = b;
        len[i] = n;
        b += n;
        left -= n;
    }
    if (left != 0) goto bad;
    check_job *j = new_job(rq, who);
    j->liveness = 1;
    j->nframes = PROCTOR_LIVENESS_FRAMES;
    for (int i = 0; i < PROCTOR_LIVENESS_FRAMES; i++) {
        j->frame[i] = frame[i];
        j->frame_len[i] = len[i];
    }
    return j;
bad:
    dk_http_failf(rq, DK_EUNPROCESSABLE, "活体检测数据不完整（需要 %d 张照片），请重新检测",
                  PROCTOR_LIVENESS_FRAMES);
    return NULL;
}

/* POST /api/v1/camera-check/liveness: the camera check with its liveness challenge. The
 * body (application/octet-stream, liveness_job) holds the frame facing the camera, then
 * the head turned left, then right (the physician's left and right, the page's prompts).
 * A body that is not exactly that is 422 before anything is decoded. One check of
 * camera_check_max, like the single-frame check; the reply is the same object plus
 * "liveness" ("passed" or why not: not_left, not_right, no_face, multiple_faces) when the
 * front frame passed. */
void exam_camera_liveness(dk_req *rq, const dk_claims *who)
{
    if (liveness_job(rq, who))
        dom_limit_hit(rq->loop->redis, &exam_of(rq)->camera_limit, who->id, on_limit, rq);
}

/* ---- the challenge at a random moment of the test (issue 14 item 3) ------------------
 * The proctor's worker asks for one in the live session (DOM_F_CAP_CHALLENGE); the page
 * learns it from GET .../captures/{id} and sends the three frames here. The ask is taken
 * when the frames arrive (one answer per ask: no retry fills the face pool), the verdict
 * is recorded in the session (DOM_F_CAP_CHALLENGE_RESULT, "<verdict>@<ms>") and logged.
 * KEYS: sess. ARGV: pid. -> {"ok", capture id} | {"nosession"} | {"closed"} | {"none"} */
static dk_script challenge_take_lua =
    DK_SCRIPT("local s = redis.call('HMGET', KEYS[1], 'pid', 'status', 'cap_challenge')\n"
              "if not s[1] or s[1] ~= ARGV[1] then return {'nosession'} end\n"
              "if s[2] ~= 'live' then return {'closed'} end\n"
              "if not s[3] or s[3] == '' then return {'none'} end\n"
              "redis.call('HSET', KEYS[1], 'cap_challenge', '')\n"
              "return {'ok', s[3]}\n");

static void ignore_reply(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)e, (void)arg;
}

static void on_challenge_taken(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    check_job *j = rq->state;
    if (e->code) {
        dk_http_fail(rq, e);
        return;
    }
    const char *v = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                            r->element[0]->type == REDIS_REPLY_STRING
                        ? r->element[0]->str
                        : "";
    if (!strcmp(v, "closed")) {
        dk_http_failf(rq, DK_ECONFLICT, "考试已结束，不需要活体检测");
        return;
    }
    if (!strcmp(v, "none")) {
        dk_http_failf(rq, DK_ECONFLICT, "当前没有待完成的活体检测");
        return;
    }
    if (strcmp(v, "ok") != 0) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, check_work, check_done, j)) {
        /* the node is busy, not the physician: the ask stands for a later answer */
        dom_key k = dom_key_sess(j->sid);
        const char *argv[] = {"HSET", k.s, DOM_F_CAP_CHALLENGE, r->element[1]->str};
        dk_aredis_cmdargv(rq->loop->redis, 0, ignore_reply, NULL, 4, argv, NULL);
        exam_busy_pool(rq, exam_pool(rq), "检测人数较多，请稍候自动重试");
    }
}

/* POST /api/v1/sessions/{id}/liveness: the frames of a challenge asked during the test
 * (same body as /camera-check/liveness). 409 when none is pending or the test is over,
 * 404 for another physician's session. */
void exam_session_liveness(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0];
    if (!dom_sid_valid(sid, strlen(sid))) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    check_job *j = liveness_job(rq, who);
    if (!j) return;
    snprintf(j->sid, sizeof j->sid, "%s", sid);
    dom_key k = dom_key_sess(sid);
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", who->id);
    const char *argv[] = {"1", k.s, pid};
    dk_aredis_evalsha(rq->loop->redis, 0, on_challenge_taken, rq, &challenge_take_lua, 3, argv,
                      NULL);
}

/* The outcome of a challenge during the test, in the live session and the log. */
static void record_challenge(check_job *j, const char *verdict)
{
    char val[64];
    snprintf(val, sizeof val, "%s@%lld", verdict, exam_now_ms(j->srv));
    dom_key k = dom_key_sess(j->sid);
    const char *argv[] = {"HSET", k.s, DOM_F_CAP_CHALLENGE_RESULT, val};
    dk_aredis_cmdargv(j->rq->loop->redis, 0, ignore_reply, NULL, 4, argv, NULL);
    DK_INFO("examd", "challenge during the test session=%.8s physician=%lld verdict=%s", j->sid,
            j->pid, verdict);
}
