/* proctor_bench.c - proctorbench: how many captures per second the proctor scores.
 *
 *   proctorbench [--faces DIR] [--rounds N] [--repeat N] [--queue N]
 *                [--set all|photos|webcam] [--identity-only]
 *
 * 1. Pipeline alone (decode -> detect -> align -> embed -> cosine), on the real photos of
 *    DIR (default $PROCTOR_FACES_DIR or ../shared/data/faces) and on 640x480 q80 JPEGs
 *    made from them (webcam-sized), with 1 and 2 worker threads (one engine and one
 *    OpenCV thread each); per-stage medians from the one-thread run.
 * 2. Through the queue (needs the stack, DK_REDIS_PORT etc.): N webcam captures XADDed to
 *    proctor:captures, scored by a 2-worker pool, until every result is in Redis and in
 *    MariaDB; compared with the 2-thread pipeline figure of the same run.
 * Every figure is the median of --repeat runs (default 3), the queue runs interleaved
 * with the 2-worker webcam runs. --set limits the pipeline runs to one set (the queue
 * runs with webcam). --identity-only leaves out the folders starting with '_' (_no_face,
 * _multi_face): every capture then shows one face and is embedded, the same work mix as
 * the reference pipeline's webcam set (shared/anchors/facepipe). Prints what it measured and the machine. Never fails on a time
 * (exit 1 only when it cannot run at all). Models from DK_PROCTOR_MODEL_DIR / proctor_model_dir. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_redis.h"
#include "dom_session.h"
#include "proctor.h"

typedef struct blob {
    unsigned char *p;
    size_t n;
} blob;

typedef struct set {
    blob *items;
    int n;
} set;

static dk_config *cfg;
static proctor_options opts;
static proctor_embedding ref;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int read_blob(const char *path, blob *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b->p = dk_malloc((size_t)n + 1);
    b->n = fread(b->p, 1, (size_t)n, f);
    fclose(f);
    return 0;
}

static void add(set *s, blob b)
{
    s->items = dk_realloc(s->items, sizeof *s->items * (size_t)(s->n + 1));
    s->items[s->n++] = b;
}

/* Every .jpg one folder below dir (identity folders first, then _multi/_no_face); only
 * the identity folders when identity_only. */
static void load_photos(const char *dir, int identity_only, set *s)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (identity_only && de->d_name[0] == '_')) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        DIR *e = opendir(sub);
        if (!e) continue;
        struct dirent *fe;
        while ((fe = readdir(e))) {
            if (!strstr(fe->d_name, ".jpg")) continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", sub, fe->d_name);
            blob b;
            if (!read_blob(path, &b)) add(s, b);
        }
        closedir(e);
    }
    closedir(d);
}

/* A 640x480 q80 JPEG from a photo: crop to 4:3 (upper part of portraits, where the face
 * is), bilinear resample. */
static int webcam_jpeg(const blob *src, blob *out)
{
    tjhandle d = tjInitDecompress(), c = tjInitCompress();
    int w, h, ss, cs, rc = -1;
    unsigned char *px = NULL, *dst = NULL, *jpg = NULL;
    unsigned long jn = 0;
    if (tjDecompressHeader3(d, src->p, (unsigned long)src->n, &w, &h, &ss, &cs)) goto done;
    px = dk_malloc((size_t)w * h * 3);
    if (tjDecompress2(d, src->p, (unsigned long)src->n, px, w, w * 3, h, TJPF_BGR, 0)) goto done;
    int cw = w, ch = w * 3 / 4, x0 = 0, y0;
    if (ch > h) {
        ch = h;
        cw = h * 4 / 3;
        x0 = (w - cw) / 2;
    }
    y0 = (h - ch) / 4;
    const int W = 640, H = 480;
    dst = dk_malloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++) {
        double sy = y0 + (y + 0.5) * ch / H - 0.5;
        int iy = sy < 0 ? 0 : (int)sy;
        double fy = sy - iy;
        if (iy >= h - 1) iy = h - 2, fy = 1;
        for (int x = 0; x < W; x++) {
            double sx = x0 + (x + 0.5) * cw / W - 0.5;
            int ix = sx < 0 ? 0 : (int)sx;
            double fx = sx - ix;
            if (ix >= w - 1) ix = w - 2, fx = 1;
            for (int k = 0; k < 3; k++) {
                const unsigned char *p = px + ((size_t)iy * w + ix) * 3 + k;
                double v = (1 - fy) * ((1 - fx) * p[0] + fx * p[3]) +
                           fy * ((1 - fx) * p[(size_t)w * 3] + fx * p[(size_t)w * 3 + 3]);
                dst[((size_t)y * W + x) * 3 + k] = (unsigned char)(v + 0.5);
            }
        }
    }
    if (tjCompress2(c, dst, W, W * 3, H, TJPF_BGR, &jpg, &jn, TJSAMP_420, 80, 0)) goto done;
    out->p = dk_malloc(jn);
    memcpy(out->p, jpg, jn);
    out->n = jn;
    rc = 0;
done:
    tjFree(jpg);
    free(px);
    free(dst);
    tjDestroy(d);
    tjDestroy(c);
    return rc;
}

/* ---- pipeline alone ----------------------------------------------------------------- */

typedef struct run {
    const set *s;
    int total;
    atomic_int next;
    double *dec, *det, *emb; /* per capture, filled by index */
    atomic_int faces1;
} run;

typedef struct targ {
    run *r;
    proctor_engine *e;
} targ;

static void *bench_thread(void *arg)
{
    run *r = ((targ *)arg)->r;
    proctor_engine *e = ((targ *)arg)->e;
    dk_error err = {0};
    for (;;) {
        int i = atomic_fetch_add(&r->next, 1);
        if (i >= r->total) break;
        const blob *b = &r->s->items[i % r->s->n];
        proctor_result res;
        proctor_score(e, b->p, b->n, &ref, &res, &err);
        if (r->dec) {
            r->dec[i] = res.ms_decode;
            r->det[i] = res.ms_detect;
            r->emb[i] = res.ms_embed;
        }
        if (res.faces == 1) atomic_fetch_add(&r->faces1, 1);
    }
    return NULL;
}

static void run_threads(run *r, targ *ta, int threads)
{
    pthread_t th[8];
    for (int t = 0; t < threads; t++) {
        ta[t].r = r;
        pthread_create(&th[t], NULL, bench_thread, &ta[t]);
    }
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
}

/* Engines are loaded and warmed up (one pass over the set) before the clock starts. */
static double pipeline(const char *label, const set *s, int threads, int rounds, int print_stages)
{
    targ ta[8] = {{0}};
    dk_error err = {0};
    if (threads > 8) threads = 8;
    for (int t = 0; t < threads; t++)
        if (proctor_engine_new(&ta[t].e, &opts, &err)) {
            fprintf(stderr, "engine: %s\n", err.msg);
            return 0;
        }
    run warm = {.s = s, .total = s->n};
    run_threads(&warm, ta, threads);
    run r = {.s = s, .total = s->n * rounds};
    r.dec = dk_calloc((size_t)r.total, sizeof(double));
    r.det = dk_calloc((size_t)r.total, sizeof(double));
    r.emb = dk_calloc((size_t)r.total, sizeof(double));
    double t0 = now_ms();
    run_threads(&r, ta, threads);
    double ms = now_ms() - t0;
    for (int t = 0; t < threads; t++)
        proctor_engine_free(ta[t].e);
    double rate = r.total / (ms / 1000.0);
    (void)label;
    if (print_stages) {
        double sum = 0;
        for (int i = 0; i < r.total; i++)
            sum += r.dec[i] + r.det[i] + r.emb[i];
        double md = median(r.dec, r.total), mt = median(r.det, r.total);
        int k = 0; /* embed median over the captures that were embedded */
        for (int i = 0; i < r.total; i++)
            if (r.emb[i] > 0) r.emb[k++] = r.emb[i];
        double me = median(r.emb, k);
        printf("  %-20s stages (median ms, 1 thread): decode %.2f  detect %.2f  align+embed "
               "%.2f  mean total %.2f  (%d of %d with one face)\n",
               label, md, mt, me, sum / r.total, atomic_load(&r.faces1), r.total);
    }
    free(r.dec);
    free(r.det);
    free(r.emb);
    return rate;
}

/* ---- through the queue -------------------------------------------------------------- */

static int exec_sql(MYSQL *db, const char *q, const dk_param *p, size_t n, uint64_t *id)
{
    dk_error err = {0};
    if (dk_mysql_exec(db, q, p, n, NULL, NULL, &err)) {
        fprintf(stderr, "sql: %s\n", err.msg);
        return -1;
    }
    if (id) *id = mysql_insert_id(db);
    return 0;
}

static long long scalar(MYSQL *db, const char *q, const dk_param *p, size_t n)
{
    MYSQL_RES *res = NULL;
    dk_error err = {0};
    long long v = -1;
    if (!dk_mysql_exec(db, q, p, n, &res, NULL, &err) && res) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row && row[0]) v = strtoll(row[0], NULL, 10);
    }
    if (res) mysql_free_result(res);
    return v;
}

static double through_queue(const set *cams, const blob *registered, int n, double alone2)
{
    dk_error err = {0};
    char dir[] = "/tmp/proctorbench-XXXXXX";
    if (!mkdtemp(dir)) return 0;
    setenv("DK_DATA_DIR", dir, 1);
    setenv("DK_PROCTOR_WORKERS", "2", 1);
    /* The pipeline-alone threads run at nice 0; the pool's default proctor_nice (10) would
     * make this a figure of the machine's other load, not of the queue: on a shared, loaded
     * machine a nice-10 thread gets about a tenth of a nice-0 one's share. Same nice as
     * the pipeline, unless DK_PROCTOR_NICE says otherwise (printed with the figure). */
    setenv("DK_PROCTOR_NICE", "0", 0);
    setenv("DK_PROCTOR_SCHED_IDLE", "0", 0); /* likewise: SCHED_IDLE gets only idle time */
    dk_config *qcfg = NULL;
    if (dk_config_load(&qcfg, NULL, &err)) return 0;
    dk_log_set_level(DK_LOG_WARN);
    redisContext *rc = dk_redis_connect(qcfg, &err);
    MYSQL *db = rc ? dk_mysql_connect(qcfg, &err) : NULL;
    double rate = 0;
    uint64_t pid = 0;
    char sid[33], idn[24], acct[32];
    if (!rc || !db) {
        printf("queue: skipped, the stack is unreachable (%s)\n", err.msg);
        goto out;
    }
    srand((unsigned)getpid());
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++)
        sid[i] = hex[rand() % 16];
    sid[32] = '\0';
    snprintf(idn, sizeof idn, "8%08d%09lld", rand() % 100000000, wall_ms() % 1000000000);
    snprintf(acct, sizeof acct, "B%d%05d", rand(), 1);
    exec_sql(db, "SET FOREIGN_KEY_CHECKS = 0", NULL, 0, NULL);
    dk_param pp[] = {DK_PSTR(idn), DK_PSTR(acct)};
    if (exec_sql(db,
                 "INSERT INTO physician (id_number, name, account, password_hash, "
                 "institution_id, practice_level, practice_category) VALUES (?, 'bench', ?, 'x',"
                 " 999999, '执业医师', '临床')",
                 pp, 2, &pid))
        goto out;
    dk_param ps[] = {DK_PSTR(sid), DK_PINT((long long)pid)};
    exec_sql(db,
             "INSERT INTO exam_session (id, physician_id, enrolment_id, cycle_id, paper, seed, "
             "bank_version, paper_json, started_at, deadline) VALUES (?, ?, 999999, 999999, "
             "'公共知识', 1, 1, '[]', NOW(3), NOW(3) + INTERVAL 1 HOUR)",
             ps, 2, NULL);
    {
        proctor_engine *e = NULL;
        if (proctor_engine_new(&e, &opts, &err) ||
            proctor_register_photo(e, db, (long long)pid, registered->p, registered->n, &err)) {
            printf("queue: skipped, registering the photo failed: %s\n", err.msg);
            proctor_engine_free(e);
            goto out;
        }
        proctor_engine_free(e);
    }
    char sub[128];
    snprintf(sub, sizeof sub, "%s/captures", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/captures/%s", dir, sid);
    mkdir(sub, 0700);
    long long *ids = dk_calloc((size_t)n, sizeof *ids);
    for (int i = 0; i < n; i++) {
        const blob *b = &cams->items[i % cams->n];
        dk_param pc[] = {DK_PSTR(sid), DK_PINT((long long)pid), DK_PINT((long long)b->n)};
        uint64_t id = 0;
        exec_sql(db,
                 "INSERT INTO proctor_capture (session_id, physician_id, taken_at, bytes) "
                 "VALUES (?, ?, NOW(3), ?)",
                 pc, 3, &id);
        ids[i] = (long long)id;
        char path[256];
        snprintf(path, sizeof path, "%s/%llu.jpg", sub, (unsigned long long)id);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(b->p, 1, b->n, f);
            fclose(f);
        }
    }
    proctor_queue_init(rc, &err);
    proctor_pool *pool = NULL;
    if (proctor_pool_start(&pool, qcfg, "bench", 0, &err)) {
        printf("queue: skipped, workers: %s\n", err.msg);
        free(ids);
        goto out;
    }
    usleep(300000); /* let the workers load their models before the clock starts */
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "captures/%s/%lld.jpg", sid, ids[i]);
        proctor_job job = {.capture_id = ids[i],
                           .session_id = sid,
                           .physician_id = (long long)pid,
                           .path = rel,
                           .taken_at = wall_ms()};
        proctor_enqueue(rc, &job, &err);
    }
    long long done = 0, scored = 0;
    dk_param psid[] = {DK_PSTR(sid)};
    while (now_ms() - t0 < 300000) {
        redisReply *r = redisCommand(rc, "HLEN %s", dom_key_cap(sid).s);
        done = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        if (r) freeReplyObject(r);
        if (done >= n) {
            scored = scalar(db,
                            "SELECT COUNT(*) FROM proctor_capture WHERE session_id = ? AND "
                            "scored_at IS NOT NULL",
                            psid, 1);
            if (scored >= n) break;
        }
        usleep(2000);
    }
    double ms = now_ms() - t0;
    proctor_pool_stop(pool);
    rate = done / (ms / 1000.0);
    if (done < n || scored < n) {
        printf("queue: only %lld in Redis, %lld in MariaDB of %d after 300 s\n", done, scored, n);
        rate = 0;
    }
    (void)alone2;
    free(ids);
out:
    if (db && pid) {
        dk_param pd[] = {DK_PSTR(sid)};
        exec_sql(db, "DELETE FROM proctor_suspect WHERE session_id = ?", pd, 1, NULL);
        exec_sql(db, "DELETE FROM proctor_capture WHERE session_id = ?", pd, 1, NULL);
        exec_sql(db, "DELETE FROM exam_session WHERE id = ?", pd, 1, NULL);
        dk_param pq[] = {DK_PINT((long long)pid)};
        exec_sql(db, "DELETE FROM physician WHERE id = ?", pq, 1, NULL);
        redisReply *r = redisCommand(rc, "DEL %s %s", dom_key_cap(sid).s, dom_key_sess(sid).s);
        if (r) freeReplyObject(r);
    }
    if (rc) redisFree(rc);
    dk_mysql_close(db);
    dk_config_free(qcfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return rate;
}

static void machine(void)
{
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) snprintf(model, sizeof model, "%s", c + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f) fclose(f);
    printf("machine: nproc=%ld cpu=\"%s\" libjpeg-turbo TurboJPEG, OpenCV cv::dnn, 1 OpenCV "
           "thread per worker\n",
           sysconf(_SC_NPROCESSORS_ONLN), model);
}

int main(int argc, char **argv)
{
    const char *faces = getenv("PROCTOR_FACES_DIR");
    int rounds = 2, qn = 300, repeat = 3, identity_only = 0;
    const char *which = "all";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--faces") && i + 1 < argc)
            faces = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--queue") && i + 1 < argc)
            qn = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--set") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "all") || !strcmp(argv[i + 1], "photos") ||
                  !strcmp(argv[i + 1], "webcam")))
            which = argv[++i];
        else if (!strcmp(argv[i], "--identity-only"))
            identity_only = 1;
        else {
            fprintf(stderr, "usage: proctorbench [--faces DIR] [--rounds N] [--repeat N] [--queue N] "
                            "[--set all|photos|webcam] [--identity-only]\n");
            return 1;
        }
    }
    if (!faces) faces = "../shared/data/faces";
    if (rounds < 1) rounds = 1;
    if (repeat < 1) repeat = 1;
    if (repeat > 16) repeat = 16;
    dk_error err = {0};
    if (dk_config_load(&cfg, NULL, &err) || proctor_options_from_config(&opts, cfg, &err)) {
        fprintf(stderr, "proctorbench: %s\n", err.msg);
        return 1;
    }
    dk_log_set_level(DK_LOG_WARN);
    set photos = {0}, cams = {0};
    load_photos(faces, identity_only, &photos);
    if (photos.n == 0) {
        fprintf(stderr, "proctorbench: no photos in %s\n", faces);
        return 1;
    }
    for (int i = 0; i < photos.n; i++) {
        blob b;
        if (!webcam_jpeg(&photos.items[i], &b)) add(&cams, b);
    }
    proctor_engine *e = NULL;
    if (proctor_engine_new(&e, &opts, &err)) {
        fprintf(stderr, "proctorbench: %s\n", err.msg);
        return 1;
    }
    int regi = -1;
    for (int i = 0; i < photos.n && regi < 0; i++)
        if (!proctor_embed(e, photos.items[i].p, photos.items[i].n, &ref, NULL, &err)) regi = i;
    int degraded = proctor_engine_degraded(e);
    proctor_engine_free(e);
    machine();
    printf("models: %s%s; photos: %d from %s%s; webcam JPEGs: %d (640x480 q80)\n",
           opts.model_dir[0] ? opts.model_dir : "(none)", degraded ? " DEGRADED" : "", photos.n,
           faces, identity_only ? " (identity folders only)" : "", cams.n);
    proctor_set_cv_threads(1);
    printf("each figure: median of %d runs (all runs in brackets), %d passes over the set per "
           "run\n",
           repeat, rounds);
    const set *sets[2] = {&photos, &cams};
    const char *names[2] = {"photos (<=1280 px)", "webcam 640x480 q80"};
    double alone[2][2][16], queue[16];
    int queued = 0, run_set[2] = {strcmp(which, "webcam") != 0, strcmp(which, "photos") != 0};
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < repeat && run_set[k]; r++) {
            alone[k][0][r] = pipeline(names[k], sets[k], 1, rounds, r == 0);
            alone[k][1][r] = pipeline(names[k], sets[k], 2, rounds, 0);
            /* the queue runs interleave with the webcam pipeline runs: same conditions */
            if (k == 1 && qn > 0 && regi >= 0) {
                queue[r] = through_queue(&cams, &photos.items[regi], qn, 0);
                queued = queue[r] > 0;
            }
        }
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2 && run_set[k]; t++) {
            char runs[256] = "";
            for (int r = 0; r < repeat; r++)
                snprintf(runs + strlen(runs), sizeof runs - strlen(runs), "%s%.1f", r ? " " : "",
                         alone[k][t][r]);
            double v[16];
            memcpy(v, alone[k][t], sizeof v);
            printf("pipeline %-20s workers=%d  %6.1f captures/s  [%s]\n", names[k], t + 1,
                   median(v, repeat), runs);
        }
    if (queued) {
        char runs[256] = "";
        for (int r = 0; r < repeat; r++)
            snprintf(runs + strlen(runs), sizeof runs - strlen(runs), "%s%.1f", r ? " " : "",
                     queue[r]);
        double v[16], a[16];
        memcpy(v, queue, sizeof v);
        memcpy(a, alone[1][1], sizeof a);
        double mq = median(v, repeat), ma = median(a, repeat);
        printf("queue    %-20s workers=2  %6.1f captures/s  [%s]  (%d captures per run, XADD "
               "to result in Redis and MariaDB, proctor_nice %s) = %.0f%% of pipeline alone\n",
               names[1], mq, runs, qn, getenv("DK_PROCTOR_NICE"), ma > 0 ? 100 * mq / ma : 0);
    }
    for (int i = 0; i < photos.n; i++)
        free(photos.items[i].p);
    for (int i = 0; i < cams.n; i++)
        free(cams.items[i].p);
    free(photos.items);
    free(cams.items);
    dk_config_free(cfg);
    return 0;
}
