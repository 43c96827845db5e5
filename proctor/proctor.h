/* proctor.h - the whole public contract of the proctor module: webcam captures scored
 * against the physician's registered photo, and the capture/suspect queues in Redis.
 *
 * Plain C: no C++ type and no exception crosses this header (the OpenCV wrapper
 * inside catches everything and turns it into a dk_error). Every function returns 0
 * or a negative dk_err and fills the caller's dk_error.
 *
 * Threads: a proctor_engine belongs to one thread at a time (it owns OpenCV networks
 * that are not re-entrant); run one engine per worker thread. The queue functions
 * take a sync redisContext and a MYSQL handle that also belong to the calling thread.
 * Nothing here may run on an event loop except proctor_jpeg_check (header only, no
 * decoding) and proctor_job_argv (no I/O). */
#ifndef PROCTOR_H
#define PROCTOR_H

#include <hiredis/hiredis.h>
#include <mysql.h>
#include <stddef.h>

#include "dk_config.h"
#include "dk_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- options ----------------------------------------------------------------------- */

typedef enum proctor_kind {
    PROCTOR_KIND_MOBILEFACENET = 0, /* cv::dnn + least-squares 5-point alignment */
    PROCTOR_KIND_SFACE = 1          /* cv::FaceRecognizerSF (OpenCV Zoo SFace) */
} proctor_kind;

typedef struct proctor_options {
    const char *model_dir;  /* "" or NULL: degraded mode (cascades, no similarity) */
    const char *detector;   /* file name inside model_dir (YuNet 2022mar) */
    const char *recognizer; /* file name inside model_dir */
    proctor_kind kind;
    double threshold; /* similarity % below which a capture is low_similarity */
    size_t max_bytes; /* refuse larger JPEGs before reading the header */
    int max_width, max_height;
    long long max_pixels; /* refuse larger images before decoding */
} proctor_options;

/* Defaults of the configuration table, model_dir "" (degraded). */
void proctor_options_default(proctor_options *o);
/* Reads the proctor_* keys. Strings are borrowed from cfg (keep cfg alive).
 * DK_EINVAL for an unknown proctor_recognizer_kind. */
int proctor_options_from_config(proctor_options *o, const dk_config *cfg, dk_error *err);

/* ---- the engine -------------------------------------------------------------------- */

typedef struct proctor_engine proctor_engine;

#define PROCTOR_EMB_MAX 512

typedef struct proctor_embedding {
    char model[64]; /* recogniser file name: embeddings of different models never compare */
    int dim;
    float v[PROCTOR_EMB_MAX]; /* L2-normalised */
} proctor_embedding;

typedef enum proctor_flag {
    PROCTOR_FLAG_NONE = 0,
    PROCTOR_FLAG_LOW_SIMILARITY,
    PROCTOR_FLAG_NO_FACE,
    PROCTOR_FLAG_MULTIPLE_FACES,
    PROCTOR_FLAG_BAD_IMAGE
} proctor_flag;

typedef struct proctor_result {
    int width, height; /* of the JPEG as sent */
    int faces;         /* faces found */
    float det_score;   /* main (highest-scoring) face; 0 when none */
    float box[4];      /* main face x, y, w, h in the JPEG's pixel coordinates */
    int has_cosine;    /* 0: no reference, no single face, or degraded */
    double cosine;     /* of L2-normalised embeddings */
    double similarity; /* calibrated %, see proctor_similarity() */
    proctor_flag flag;
    int degraded;                          /* 1: cascades only, nothing is flagged */
    char reason[256];                      /* why the image is bad, or a note; "" otherwise */
    double ms_decode, ms_detect, ms_embed; /* stage times of this call */
} proctor_result;

/* Loads the detector and recogniser (one instance per engine). Missing model files are
 * not an error: the engine starts in degraded mode after a loud warning. A model file
 * that exists but does not load is an error. */
int proctor_engine_new(proctor_engine **out, const proctor_options *o, dk_error *err);
void proctor_engine_free(proctor_engine *e);
int proctor_engine_degraded(const proctor_engine *e);
const char *proctor_engine_model(const proctor_engine *e); /* recogniser name, "" if degraded */
/* OpenCV's thread count is process-wide: workers set 1 (one engine per thread). */
void proctor_set_cv_threads(int n);

/* Scores one capture against ref (NULL: count faces only). Returns 0 with *res filled
 * whenever the image could be read, whatever it shows. A bad image returns
 * DK_EUNPROCESSABLE or DK_ETOOBIG with res->flag = PROCTOR_FLAG_BAD_IMAGE and the reason
 * in res->reason and err; any other error (DK_EINTERNAL, DK_EINVAL for a ref of another
 * model) leaves res->flag = PROCTOR_FLAG_NONE. */
int proctor_score(proctor_engine *e, const unsigned char *jpeg, size_t len,
                  const proctor_embedding *ref, proctor_result *res, dk_error *err);

/* Embeds the one face of a photo (a registered photo). DK_EUNPROCESSABLE unless exactly
 * one face is found; DK_EBUSY in degraded mode (no recogniser). res may be NULL. */
int proctor_embed(proctor_engine *e, const unsigned char *jpeg, size_t len, proctor_embedding *emb,
                  proctor_result *res, dk_error *err);

/* Header-only check (no decoding, microseconds): SOI, size, dimension and pixel limits.
 * For examd to answer 413/422 on upload. */
int proctor_jpeg_check(const unsigned char *jpeg, size_t len, const proctor_options *o, int *width,
                       int *height, dk_error *err);

/* ---- calibration ------------------------------------------------------------------- */

/* cosine -> similarity %: monotone piecewise-linear through the knots in proctor_calib.c
 * (MobileFaceNet knots fitted on shared/data/faces; 40% at cosine 0.40). */
double proctor_similarity(proctor_kind kind, double cosine);
/* Inverse: the cosine where the mapping reaches pct (0..100). */
double proctor_cosine_at(proctor_kind kind, double pct);
const char *proctor_flag_name(proctor_flag f); /* NULL for PROCTOR_FLAG_NONE */

/* One capture's result as compact JSON: {"file":..,"faces":1,"score":..,"box":[..],
 * "cosine":..,"similarity":..,"flag":null,...}. file may be NULL (omitted). The caller
 * frees the string with free(). */
char *proctor_result_json(const proctor_result *r, const char *file);

/* Embedding <-> the physician.face_embedding column: little-endian float32, dim*4 bytes.
 * pack writes at most cap bytes and returns the byte count (0 if cap is too small). */
size_t proctor_embedding_pack(const proctor_embedding *emb, unsigned char *out, size_t cap);
int proctor_embedding_unpack(const unsigned char *b, size_t len, const char *model,
                             proctor_embedding *emb, dk_error *err);
double proctor_cosine(const proctor_embedding *a, const proctor_embedding *b);

/* ---- the queue (Redis streams) ----------------------------------------------------- */

#define PROCTOR_STREAM "proctor:captures"
#define PROCTOR_GROUP "proctor"
#define PROCTOR_PARKED "proctor:parked"
#define PROCTOR_SUSPECTS "proctor:suspects"
#define PROCTOR_DUE "proctor:due"
#define PROCTOR_ATTEMPTS "proctor:attempts"  /* hash: "<entry id>:err" = last failure */
#define PROCTOR_REQUEUED "proctor:requeued:" /* + capture id: queued again once (7 days) */

typedef struct proctor_job {
    long long capture_id;   /* proctor_capture.id */
    const char *session_id; /* exam_session.id (32 hex characters) */
    long long physician_id;
    const char *path;   /* the stored photo: absolute, or relative to data_dir */
    long long taken_at; /* unix ms */
} proctor_job;

#define PROCTOR_JOB_ARGC 13 /* XADD proctor:captures * + 5 field/value pairs */
#define PROCTOR_JOB_NBUFS 3 /* number buffers proctor_job_argv needs */

/* Fills argv/argvlen (PROCTOR_JOB_ARGC entries) with the XADD of a job, for an async
 * client; numbers are written into bufs, path is borrowed. No allocation, no I/O.
 * Returns the argument count, 0 if a field is missing. No MAXLEN: a job is never trimmed away;
 * workers XDEL what they acknowledged, so XLEN of the stream is the backlog. */
size_t proctor_job_argv(const proctor_job *job, const char **argv, size_t *argvlen,
                        char bufs[][32]);
/* XADD with a sync connection. */
int proctor_enqueue(redisContext *c, const proctor_job *job, dk_error *err);
/* Creates the consumer group (MKSTREAM) unless it exists. */
int proctor_queue_init(redisContext *c, dk_error *err);

typedef struct proctor_lag {
    long long length;    /* XLEN: jobs not yet acknowledged (queued + in hand) */
    long long pending;   /* delivered, not yet acknowledged */
    long long parked;    /* XLEN proctor:parked */
    long long oldest_ms; /* age of the oldest entry, 0 if empty */
} proctor_lag;
/* For /metrics. */
int proctor_queue_lag(redisContext *c, long long now_ms, proctor_lag *out, dk_error *err);

/* Flags each session of proctor:due overdue by more than grace_ms, once per session
 * (SET NX proctor:missing:{sid}): suspect entry, proctor_suspect row (db may be NULL),
 * cap_missing in sess:{sid}. *flagged = sessions flagged by this call. */
int proctor_check_missing(redisContext *c, MYSQL *db, long long now_ms, long long grace_ms,
                          int *flagged, dk_error *err);

/* Captures stored but never queued (examd's XADD failed after the row and file were
 * written: Redis down or slow) are queued again. A proctor_capture row is queued when it
 * is unscored (scored_at and error NULL), still has its photo (photo_path set,
 * photo_deleted_at NULL), was taken before now_ms - after_ms, and cannot be in the
 * stream: taken more than after_ms before the oldest entry still there (entries are
 * XDELed when acknowledged, so the oldest remaining one bounds what is still queued).
 * Each is queued once (SET NX proctor:requeued:<capture id>, 7 days, in the same Lua
 * script as the XADD, which re-checks the oldest entry). At most max_backlog - XLEN jobs
 * per call, oldest first (the stream is topped up, never flooded). *queued = jobs added.
 * A job queued twice all the same is scored once (the worker's guarded UPDATE). */
int proctor_requeue_unqueued(redisContext *c, MYSQL *db, long long now_ms, long long after_ms,
                             long long max_backlog, int *queued, dk_error *err);

/* Computes the embedding of a registered photo (exactly one face) and stores it with
 * the model name in the physician row. */
int proctor_register_photo(proctor_engine *e, MYSQL *db, long long physician_id,
                           const unsigned char *jpeg, size_t len, dk_error *err);

/* ---- workers ----------------------------------------------------------------------- */

typedef struct proctor_pool proctor_pool;

typedef struct proctor_stats {
    long long scored, failed, parked, claimed, suspects;
    long long requeued; /* unqueued captures queued again by proctor_requeue_unqueued */
} proctor_stats;

/* Starts proctor_workers threads, each with its own engine, Redis and MariaDB
 * connection, consuming PROCTOR_STREAM as consumers "<name>-<i>". name should be
 * unique per process (host:pid). Also runs proctor_check_missing (every second) and
 * proctor_requeue_unqueued (every 10 s) when check_missing is non-zero. */
int proctor_pool_start(proctor_pool **out, const dk_config *cfg, const char *name,
                       int check_missing, dk_error *err);
/* Asks the workers to stop; each finishes the job in hand. Only sets an atomic flag:
 * safe from any thread and from a signal handler. */
void proctor_pool_request_stop(proctor_pool *p);
/* Stops (if not yet), joins and frees. */
void proctor_pool_stop(proctor_pool *p);
void proctor_pool_stats(const proctor_pool *p, proctor_stats *out);

#ifdef __cplusplus
}
#endif

#endif
