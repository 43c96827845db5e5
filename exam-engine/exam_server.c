/* exam_server.c - examd's route table, its pools, the question bank it serves from, and
 * start/stop. Adding an endpoint is adding a row to exam_apis: who may call it (roles,
 * flags), which pool runs its blocking work, its handler and its body limit. One runner
 * checks the token against the row on the loop (HMAC, microseconds, then the loop's table
 * of revocations: domain/dom_token.h) before the handler runs, so no handler checks it
 * itself. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dk_log.h"
#include "dk_serve.h"
#include "exam_internal.h"
#include "proctor.h"

static void exam_healthz(dk_req *rq, const dk_claims *who)
{
    (void)who;
    dk_serve_healthz(rq, exam_pool(rq));
}

static void exam_metrics(dk_req *rq, const dk_claims *who)
{
    (void)who;
    dk_serve_metrics(rq);
}

/* What the exam page needs to know before login: where admind's API is (the physician's
 * registration, results and certificate) and the server's clock. */
static void exam_site(dk_req *rq, const dk_claims *who)
{
    (void)who;
    dk_http_reply_json(rq, 200,
                       json_pack("{s:s,s:I}", "admin_url",
                                 dk_config_str(exam_of(rq)->cfg, "admin_url"), "server_time",
                                 (json_int_t)exam_now_ms(exam_of(rq))));
}

/* One row of the route table: who may call (roles, flags), where its blocking work runs
 * (pool), its handler. The runner checks the caller before the handler runs. */
typedef struct exam_api {
    const char *method, *pattern;
    exam_handler fn;
    unsigned roles;    /* who may call (EXAM_R_*) */
    unsigned flags;    /* EXAM_F_* */
    exam_pool_id pool; /* exam_pool(rq) */
    const char *name;  /* metrics label */
    size_t max_body;   /* 0: http_max_body */
} exam_api;

#define R_P EXAM_R_PHYS
#define F_PUB EXAM_F_PUBLIC
#define F_MC EXAM_F_MUST_CHANGE
#define P_LOOP EXAM_POOL_LOOP
#define P_DB EXAM_POOL_DB
#define P_HASH EXAM_POOL_HASH
#define P_FACE EXAM_POOL_FACE
#define P_CAPTURE EXAM_POOL_CAPTURE

static const exam_api exam_apis[] = {
    /* method, pattern, handler, roles, flags, pool, name, max body */
    {"GET", "/healthz", exam_healthz, 0, F_PUB, P_DB, "healthz", 0},
    {"GET", "/metrics", exam_metrics, 0, F_PUB, P_LOOP, "metrics", 0},
    {"GET", "/api/v1/site", exam_site, 0, F_PUB, P_LOOP, "site", 0},
    /* the account lookup runs on the database pool, argon2id on this one */
    {"POST", "/api/v1/login", exam_login, 0, F_PUB, P_HASH, "login", 4096},
    {"POST", "/api/v1/password", exam_password, R_P, F_MC, P_HASH, "password", 4096},
    {"POST", "/api/v1/logout", exam_logout, R_P, F_MC, P_DB, "logout", 1024},
    {"GET", "/api/v1/tests", exam_tests, R_P, 0, P_DB, "tests", 0},
    {"POST", "/api/v1/sessions", exam_session_start, R_P, 0, P_DB, "session_start", 1024},
    /* Redis; the database only when the session is no longer live there */
    {"GET", "/api/v1/sessions/{}", exam_session_get, R_P, 0, P_DB, "session_get", 0},
    {"PUT", "/api/v1/sessions/{}/answers/{}", exam_answer_put, R_P, 0, P_LOOP, "answer", 1024},
    /* a departure from the page (切屏): Redis only, like an answer */
    {"PUT", "/api/v1/sessions/{}/departures/{}", exam_departure_put, R_P, 0, P_LOOP, "departure", 512},
    {"POST", "/api/v1/sessions/{}/submit", exam_submit, R_P, 0, P_DB, "submit", 1024},
    {"POST", "/api/v1/sessions/{}/captures", exam_capture_post, R_P, 0, P_CAPTURE, "capture", 4 << 20},
    {"GET", "/api/v1/sessions/{}/captures/{}", exam_capture_get, R_P, 0, P_LOOP, "capture_get", 0},
    {"POST", "/api/v1/camera-check", exam_camera_check, R_P, 0, P_FACE, "camera_check", 4 << 20},
    /* three frames (exam_camera.c): 3 x 4 bytes + the frames, each within the JPEG limits */
    {"POST", "/api/v1/camera-check/liveness", exam_camera_liveness, R_P, 0, P_FACE, "liveness",
     4 << 20},
    {"POST", "/api/v1/sessions/{}/liveness", exam_session_liveness, R_P, 0, P_FACE,
     "session_liveness", 4 << 20},
};

#define NAPIS (sizeof exam_apis / sizeof exam_apis[0])
static dk_route exam_routes[NAPIS];

dk_workq *exam_pool(dk_req *rq)
{
    exam_server *s = exam_of(rq);
    switch (exam_apis[rq->route].pool) {
    case EXAM_POOL_DB: return s->db;
    case EXAM_POOL_HASH: return s->hash;
    case EXAM_POOL_FACE: return s->face;
    case EXAM_POOL_CAPTURE: return s->capture;
    case EXAM_POOL_LOOP: break;
    }
    return NULL;
}

/* Checks the bearer token against the row; on failure replies (401/403) and returns
 * nonzero. */
static int check_caller(dk_req *rq, const exam_api *api, dk_claims *c)
{
    size_t len;
    const char *tok = dk_bearer(dk_http_header(rq, "Authorization"), &len);
    dk_error err = {0};
    if (!tok) {
        dk_http_failf(rq, DK_EAUTH, "请先登录");
        return -1;
    }
    if (dk_token_check(&exam_of(rq)->auth, tok, len, dk_clock_ms() / 1000, c, &err) ||
        dom_token_cache_check(((exam_loop *)rq->loop->app)->tokens, c, &err)) {
        dk_http_fail(rq, &err);
        return -1;
    }
    if (!((c->kind == 'p' ? EXAM_R_PHYS : 0) & api->roles)) {
        dk_http_failf(rq, DK_EFORBIDDEN, "此账号不是医师账号");
        return -1;
    }
    if (c->must_change && !(api->flags & EXAM_F_MUST_CHANGE)) {
        dk_http_failf(rq, DK_EPWCHANGE, "首次登录请先修改初始密码");
        return -1;
    }
    return 0;
}

/* Every route's dk_handler: the row's caller check, then its handler. */
static void api_run(dk_req *rq)
{
    const exam_api *api = &exam_apis[rq->route];
    if (api->flags & EXAM_F_PUBLIC) {
        api->fn(rq, NULL);
        return;
    }
    dk_claims who;
    if (check_caller(rq, api, &who)) return;
    api->fn(rq, &who);
}

#define GAUGE(fn, expr)                                                                         \
    static double fn(dk_http_server *h, void *arg)                                              \
    {                                                                                           \
        (void)h;                                                                                \
        exam_server *s = arg;                                                                   \
        return (double)(expr);                                                                  \
    }
GAUGE(g_live, atomic_load(&s->live_sessions))
GAUGE(g_lag, atomic_load(&s->sweeper_lag_ms) / 1000.0)
GAUGE(g_swept, atomic_load(&s->submitted_by_sweeper))
GAUGE(g_resumed, atomic_load(&s->resumes_from_redis))
GAUGE(g_flushed, atomic_load(&s->flushed_answers))
GAUGE(g_waits, atomic_load(&s->answer_waits))
GAUGE(g_clock, ((void)s, dk_clock_offset_ms()))
GAUGE(g_waited, atomic_load(&s->answer_waited))
GAUGE(g_cap_backlog, atomic_load(&s->capture_backlog))
GAUGE(g_cap_parked, atomic_load(&s->capture_parked))
GAUGE(g_logins_in, atomic_load(&s->logins_admitted))
GAUGE(g_queue_in, atomic_load(&s->queue_admitted))
GAUGE(g_queue_wait, atomic_load(&s->queue_refused))
GAUGE(g_queue_addr, atomic_load(&s->queue_addr_refused))

static double g_requeued(dk_http_server *h, void *arg)
{
    (void)h;
    exam_server *s = arg;
    proctor_stats st = {0};
    if (s->proctor) proctor_pool_stats(s->proctor, &st);
    return (double)st.requeued;
}

static double g_reloads(dk_http_server *h, void *arg)
{
    (void)h, (void)arg;
    return (double)dk_redis_script_reloads();
}

void exam_busy(dk_req *rq, int retry_after_s, const char *msg)
{
    dk_error e = {.code = DK_EBUSY, .retry_after = retry_after_s};
    snprintf(e.msg, sizeof e.msg, "%s", msg);
    dk_http_fail(rq, &e);
}

void exam_busy_pool(dk_req *rq, dk_workq *q, const char *msg)
{
    exam_busy(rq, dk_workq_retry_after(q, EXAM_RETRY_MAX_S), msg);
}

int exam_db_and_bank(void *ctx, exam_server *s, MYSQL **db, qb_index **idx, dk_error *err)
{
    *idx = NULL;
    if (!(*db = dk_dbconn_get(ctx, err))) return err->code;
    if (!(*idx = qb_bank_current(s->bank)))
        return dk_error_set(err, DK_EIO, "题库尚未加载，请稍后再试");
    return 0;
}

int exam_check_jpeg(dk_req *rq, int *width, int *height)
{
    const exam_server *s = exam_of(rq);
    dk_error err = s->photo_err;
    if (!err.code &&
        proctor_jpeg_check(rq->body, rq->body_len, &s->photo, width, height, &err) == 0)
        return 0;
    dk_error shown = {.code = err.code == DK_EINVAL ? DK_EUNPROCESSABLE : err.code};
    snprintf(shown.msg, sizeof shown.msg, "照片无法使用（%.200s），请重新拍照", err.msg);
    dk_http_fail(rq, &shown);
    return -1;
}

/* Logs when this node's clock is off by a second or more (again only when that changes
 * by another second). */
void exam_clock_note(exam_server *s, long long offset)
{
    long long old = atomic_exchange(&s->clock_logged_ms, offset);
    long long d = offset - old;
    if ((offset >= 1000 || offset <= -1000) && (d >= 1000 || d <= -1000 || old == 0))
        DK_WARN("examd", "this node's clock is %lld ms %s Redis's: session times follow Redis",
                offset > 0 ? offset : -offset, offset > 0 ? "behind" : "ahead of");
    else
        atomic_store(&s->clock_logged_ms, old); /* log again only on a change of a second */
}

/* At start, before serving: Redis's clock against ours (0 if Redis is not there yet; the
 * sweeper measures it again every tick). */
static void sync_clock(exam_server *s)
{
    dk_clock_sync(s->cfg);
    exam_clock_note(s, dk_clock_offset_ms());
}

static void loop_init(dk_loop *loop, void *udata)
{
    (void)udata;
    exam_timers_start(loop);
}

static void loop_fini(dk_loop *loop, void *udata)
{
    (void)udata;
    exam_timers_stop(loop);
}

static void free_pools(exam_server *s)
{
    dk_workq_free(s->db);
    dk_workq_free(s->hash);
    dk_workq_free(s->face);
    dk_workq_free(s->capture);
    dk_workq_free(s->flush);
}

static void quiesce(dk_http_server *h, void *udata)
{
    (void)h;
    exam_server *s = udata;
    for (int i = 0; i < 500; i++) { /* at most 5 s */
        if (!dk_workq_depth(s->db) && !dk_workq_depth(s->hash) && !dk_workq_depth(s->face) &&
            !dk_workq_depth(s->capture) && !dk_workq_depth(s->flush) &&
            !atomic_load(&s->sweeps_inflight))
            return;
        usleep(10000);
    }
    DK_WARN("examd", "stopping with background work unfinished");
}

/* Loads the bank at start (blocking, before serving). A bank that cannot be read is not
 * fatal: examd serves /healthz and retries at the next start of a session. */
static void load_bank(exam_server *s)
{
    dk_error err = {0};
    MYSQL *db = dk_mysql_connect(s->cfg, &err);
    qb_index *idx = NULL;
    if (db && qb_index_load(db, &idx, &err) == 0) {
        DK_INFO("examd", "question bank loaded questions=%zu version=%llu bytes=%zu",
                qb_index_question_count(idx), (unsigned long long)qb_index_version(idx),
                qb_index_memory(idx));
    } else {
        DK_WARN("examd", "question bank not loaded err=\"%s\"", err.msg);
    }
    dk_mysql_close(db);
    s->bank = qb_bank_new(idx);
}

exam_server *exam_start(const dk_config *cfg, dk_error *err)
{
    exam_server *s = dk_calloc(1, sizeof *s);
    s->cfg = cfg;
    if (dk_auth_init(&s->auth, cfg, err)) {
        free(s);
        return NULL;
    }
    {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(s->node_name, sizeof s->node_name, "%s-%d", host, (int)getpid());
    }
    s->login_queue = dk_config_str(cfg, "login_queue");
    s->login_queue_max_per_addr = (int)dk_config_int(cfg, "login_queue_max_per_addr");
    s->departure_max = (int)dk_config_int(cfg, "departure_max_per_session");
    if (s->departure_max < 1 || s->departure_max > EXAM_DEP_MAX) s->departure_max = EXAM_DEP_MAX;
    s->concurrent_window_ms = dk_config_int(cfg, "concurrent_device_window_s") * 1000;
    size_t lq = strlen(s->login_queue);
    int lq_ok = lq > 0 && lq <= 32;
    for (size_t i = 0; lq_ok && i < lq; i++)
        lq_ok = (s->login_queue[i] >= 'a' && s->login_queue[i] <= 'z') ||
                (s->login_queue[i] >= '0' && s->login_queue[i] <= '9') || s->login_queue[i] == '_';
    if (!lq_ok) {
        dk_error_set(err, DK_EINVAL, "login_queue must be 1-32 characters of [a-z0-9_]");
        free(s);
        return NULL;
    }
    /* the configured duration applies when set in the file or environment; otherwise
     * each blueprint's own duration (60 minutes in the seeds) */
    if (strcmp(dk_config_source(cfg, "exam_duration_s"), "default") != 0)
        s->duration_ms = dk_config_int(cfg, "exam_duration_s") * 1000;
    /* the waiting room: at most a day ahead (a longer lead is a typo) */
    s->waiting_ms = dk_config_int(cfg, "exam_waiting_room_min");
    s->waiting_ms = (s->waiting_ms < 0 ? 0 : s->waiting_ms > 1440 ? 1440 : s->waiting_ms) * 60000;
    s->release_spread_ms = dk_config_int(cfg, "exam_release_spread_ms");
    if (s->release_spread_ms < 0) s->release_spread_ms = 0;
    if (s->release_spread_ms > 600000) s->release_spread_ms = 600000;
    s->redis_wait_replicas = dk_config_int(cfg, "redis_wait_replicas");
    s->redis_wait_ms = dk_config_int(cfg, "redis_wait_ms");
    s->session_ttl_s = dk_config_int(cfg, "session_ttl_s");
    s->capture_grace_ms = dk_config_int(cfg, "proctor_capture_grace_s") * 1000;
    s->capture_interval_ms = dk_config_int(cfg, "proctor_capture_interval_s") * 1000;
    s->capture_early_slack_ms = dk_config_int(cfg, "capture_early_slack_s") * 1000;
    s->capture_max_per_session = dk_config_int(cfg, "capture_max_per_session");
    dom_limit_load(&s->camera_limit, cfg, "camera_check", "camera_check_max",
                   "camera_check_window_s", "人脸检测次数过多，请约 %d 分钟后再试");
    s->camera_liveness = dk_config_bool(cfg, "camera_liveness");
    s->sweeper_period_ms = dk_config_int(cfg, "sweeper_period_ms");
    s->capture_sweep_period_s = dk_config_int(cfg, "capture_sweep_period_s");
    s->data_dir = dk_config_str(cfg, "data_dir");
    if (proctor_options_from_config(&s->photo, cfg, &s->photo_err))
        DK_ERROR("examd", "captures will be refused err=\"%s\"", s->photo_err.msg);
    load_bank(s);
    sync_clock(s);
    dk_serve_pools(cfg, &s->db, &s->hash);
    if (dom_login_env_init(&s->login, cfg, &s->auth, s->db, s->hash, 0, err) ||
        dom_token_env_init(&s->tokens, cfg, &s->auth, err)) {
        dk_workq_free(s->db);
        dk_workq_free(s->hash);
        qb_bank_free(s->bank);
        free(s);
        return NULL;
    }
    /* one per core: at the 09:00 wave the checks queue behind the logins' hashing, and
     * once the logins are done a single thread left the other core idle */
    int face_workers = (int)dk_config_int(cfg, "camera_check_workers");
    if (face_workers <= 0) face_workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (face_workers <= 0) face_workers = 1;
    s->face = dk_workq_new("face", face_workers,
                           (size_t)dk_config_int(cfg, "camera_check_queue"), exam_face_thread_init,
                           exam_face_thread_fini, (void *)cfg);
    /* captures have threads and connections of their own: each costs a file, a commit
     * and a rename with fsyncs, and 5,000 physicians' captures on the database threads
     * queued resumes and submits behind them */
    s->capture = dk_workq_new("capture", (int)dk_config_int(cfg, "capture_workers"),
                              (size_t)dk_config_int(cfg, "capture_queue"), dk_dbconn_thread_init,
                              dk_dbconn_thread_fini, (void *)cfg);
    /* the flush too: its transactions of 128 sessions held database threads that resumes
     * and submits were queued behind */
    s->flush = dk_workq_new("flush", (int)dk_config_int(cfg, "flush_workers"),
                            (size_t)dk_config_int(cfg, "flush_queue"), dk_dbconn_thread_init,
                            dk_dbconn_thread_fini, (void *)cfg);
    if (dk_config_bool(cfg, "proctor_inprocess")) { /* before serving: g_requeued reads it */
        char name[96], host[64] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(name, sizeof name, "examd-%s-%d", host, (int)getpid());
        dk_error perr = {0};
        if (proctor_pool_start(&s->proctor, cfg, name, 1, &perr) != 0)
            DK_ERROR("examd", "proctor workers not started err=\"%s\"", perr.msg);
    }
    const dk_gauge gauges[] = {
        {"examd_db_queue_depth", "database jobs waiting or running", dk_serve_queue_depth, s->db},
        {"examd_hash_queue_depth", "password hashes waiting or running", dk_serve_queue_depth,
         s->hash},
        {"examd_flush_queue_depth", "answer flush jobs waiting or running", dk_serve_queue_depth,
         s->flush},
        {"examd_capture_queue_depth", "captures being stored or waiting to be",
         dk_serve_queue_depth, s->capture},
        {"examd_live_sessions",
         "live sessions in Redis: a running clock, or drawn in the waiting room", g_live, s},
        {"examd_sweeper_lag_seconds",
         "how long the most overdue session has waited for its auto-submit", g_lag, s},
        {"examd_sweeper_submitted", "sessions this node auto-submitted", g_swept, s},
        {"examd_resumes_from_redis", "resumes of a live session answered from Redis alone", g_resumed, s},
        {"examd_answers_flushed", "answers this node flushed to MariaDB", g_flushed, s},
        {"examd_clock_offset_ms", "Redis's clock minus this node's (session times are Redis's)",
         g_clock, s},
        {"examd_answer_waits", "WAITs sent for answers (redis_wait_replicas > 0)", g_waits, s},
        {"examd_answers_replicated", "answers acknowledged on replicas by those WAITs", g_waited, s},
        {"examd_capture_backlog", "captures queued and not yet scored (the proctor's lag)",
         g_cap_backlog, s},
        {"examd_capture_parked", "capture jobs parked after failing", g_cap_parked, s},
        {"examd_logins_in_flight", "logins let in by the queue and not yet answered", g_logins_in,
         s},
        {"examd_login_queue_admitted", "logins let in from the queue with a ticket", g_queue_in,
         s},
        {"examd_login_queue_told_to_wait", "login requests told their place and to come back",
         g_queue_wait, s},
        {"examd_login_queue_addr_refused",
         "first arrivals refused a place: their address held login_queue_max_per_addr", g_queue_addr,
         s},
        {"examd_redis_script_reloads",
         "scripts sent again as EVAL after NOSCRIPT (Redis restarted, failed over)", g_reloads,
         NULL},
        {"examd_capture_requeued", "stored captures queued again by this node's proctor sweep",
         g_requeued, s},
    };
    const dk_named_hist hists[] = {
        {"examd_answer_redis_seconds", "the answer script's round trip to Redis", &s->answer_redis},
        {"examd_submit_wait_seconds", "a claimed submit waiting for a database thread",
         &s->submit_wait},
        {"examd_submit_db_seconds", "the submit's MariaDB transaction", &s->submit_db},
    };
    for (size_t i = 0; i < NAPIS; i++)
        exam_routes[i] = (dk_route){exam_apis[i].method, exam_apis[i].pattern, api_run,
                                    exam_apis[i].name, exam_apis[i].max_body};
    dk_http_opts o = {
        .name = "examd",
        .port_key = "exam_port",
        .routes = exam_routes,
        .nroutes = NAPIS,
        .loop_init = loop_init,
        .loop_fini = loop_fini,
        .quiesce = quiesce,
        .udata = s,
        .gauges = gauges,
        .ngauges = sizeof gauges / sizeof gauges[0],
        .hists = hists,
        .nhists = sizeof hists / sizeof hists[0],
    };
    s->http = dk_http_start(cfg, &o, err);
    if (!s->http) {
        if (s->proctor) proctor_pool_stop(s->proctor);
        free_pools(s);
        qb_bank_free(s->bank);
        free(s);
        return NULL;
    }
    return s;
}

int exam_port(const exam_server *s) { return dk_http_port(s->http); }

void exam_stop(exam_server *s)
{
    if (!s) return;
    dk_http_stop(s->http, 5000);
    if (s->proctor) proctor_pool_stop(s->proctor); /* each worker finishes its job in hand */
    free_pools(s);
    qb_bank_free(s->bank);
    free(s);
}
