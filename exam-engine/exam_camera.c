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
    j->rc = proctor_score(f->engine, j->rq->body, j->rq->body_len, use, &j->res, &j->err);
    free(ref);
}

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
    default:
        ok = r->faces == 1;
        msg = ok ? "人脸检测通过" : "未检测到人脸：请正对摄像头，保证光线充足、面部无遮挡";
    }
    /* pass or fail and why, never the similarity: a stand-in could tune a photo against it */
    json_t *v = json_pack("{s:b,s:i,s:s?,s:s,s:b}", "ok", ok, "faces", r->faces, "flag",
                          proctor_flag_name(r->flag), "message", msg, "degraded", r->degraded);
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

void exam_camera_check(dk_req *rq, const dk_claims *who)
{
    exam_server *srv = exam_of(rq);
    int w = 0, h = 0;
    if (exam_check_jpeg(rq, &w, &h)) return;
    check_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv;
    j->rq = rq;
    j->pid = who->id;
    rq->state = j;
    rq->state_free = free;
    dom_limit_hit(rq->loop->redis, &srv->camera_limit, who->id, on_limit, rq);
}
