/* proctor_engine.h - the scoring engine: its options, JPEG limits (header check), face
 * detection and embedding, and the result of one capture. Plain C: no C++ type and no
 * exception crosses this header (the OpenCV wrapper catches everything and turns it into
 * a dk_error). Every function returns 0 or a negative dk_err and fills the caller's
 * dk_error.
 * Threads: a proctor_engine belongs to one thread at a time (it owns OpenCV networks that
 * are not re-entrant); run one engine per worker thread. Nothing here may run on an event
 * loop except proctor_jpeg_check (header only, no decoding). Option strings are borrowed
 * from the configuration. */
#ifndef PROCTOR_ENGINE_H
#define PROCTOR_ENGINE_H

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

/* The quality gate (issue 14 item 2): a capture showing one face that fails one of these
 * is not scored but answered "retake" with the reason (proctor_result.retake). Fitted on
 * shared/data/faces (proctor/README.md, "Quality gate"; facesim --quality). */
#define PROCTOR_Q_MIN_FACE_PX 40.0
#define PROCTOR_Q_MIN_SHARPNESS 50.0
#define PROCTOR_Q_MIN_BRIGHTNESS 40.0
#define PROCTOR_Q_MAX_BRIGHTNESS 220.0
#define PROCTOR_Q_MAX_YAW 30.0
typedef struct proctor_quality_limits {
    double min_face_px;    /* shorter side of the face box in decoded pixels */
    double min_sharpness;  /* variance of the Laplacian on the aligned 112x112 crop */
    double min_brightness; /* mean grey level (0..255) of the aligned crop's face area */
    double max_brightness;
    double max_yaw; /* |yaw| in degrees, proctor_yaw_from_landmarks */
} proctor_quality_limits;

typedef struct proctor_options {
    const char *model_dir;  /* folder of the models; "" or NULL: degraded mode (cascades,
                             * no similarity). The configuration maps proctor_model_dir ""
                             * to the shipped proctor/models and "none" to "". */
    const char *detector;   /* file name inside model_dir (YuNet 2022mar) */
    const char *recognizer; /* file name inside model_dir */
    proctor_kind kind;
    double threshold; /* similarity % below which a capture is low_similarity */
    size_t max_bytes; /* refuse larger JPEGs before reading the header */
    int max_width, max_height;
    long long max_pixels; /* refuse larger images before decoding */
    proctor_quality_limits quality;
} proctor_options;

/* Defaults of the configuration table: model_dir = the shipped proctor/models. */
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
    PROCTOR_FLAG_BAD_IMAGE,
    PROCTOR_FLAG_RETAKE /* one face, but too small, blurred, dark, bright or turned: the
                         * page asks for a new capture; never a suspect by itself and never
                         * low_similarity (proctor_result.retake says why) */
} proctor_flag;

/* Retake reason codes (proctor_result.retake). */
#define PROCTOR_RETAKE_TOO_SMALL "too_small"
#define PROCTOR_RETAKE_BLURRED "blurred"
#define PROCTOR_RETAKE_TOO_DARK "too_dark"
#define PROCTOR_RETAKE_TOO_BRIGHT "too_bright"
#define PROCTOR_RETAKE_TURNED "turned"

typedef struct proctor_result {
    int width, height; /* of the JPEG as sent */
    int faces;         /* faces found */
    float det_score;   /* main (highest-scoring) face; 0 when none */
    float box[4];      /* main face x, y, w, h in the JPEG's pixel coordinates */
    int has_cosine;    /* 0: no reference, no single face, or degraded */
    double cosine;     /* of L2-normalised embeddings */
    double similarity; /* calibrated %, see proctor_similarity() */
    proctor_flag flag;
    /* the main face's 5 landmarks (eye, eye, nose tip, mouth corner, mouth corner as YuNet
     * gives them: x, y pairs in the JPEG's pixel coordinates) and its quality measures;
     * has_quality = 0 when there is not exactly one face or in degraded mode */
    int has_quality;
    float landmarks[10];
    double face_px, sharpness, brightness, yaw; /* see proctor_quality_limits */
    char retake[24];                            /* PROCTOR_RETAKE_* or "" */
    int degraded;                          /* 1: cascades only, nothing is flagged */
    char reason[256];                      /* why the image is bad, or a note; "" otherwise */
    double ms_decode, ms_detect, ms_embed; /* stage times of this call */
} proctor_result;

/* Loads the detector and recogniser (one instance per engine). Missing model files are
 * not an error: the engine starts in degraded mode after a loud warning. A model file
 * whose sha256 is not the expected one (proctor/models/SHA256SUMS) is refused before it is
 * loaded (DK_EINVAL naming the file and both hashes), and one that does not load is an
 * error (DK_EINTERNAL). */
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

/* The verdict of the quality gate on a result with has_quality: "" (passes) or a
 * PROCTOR_RETAKE_* code, checked in this order: too_small, too_dark, too_bright, blurred,
 * turned (check_yaw = 0 leaves the turn out: the liveness frames are turned on purpose). */
const char *proctor_quality_verdict(const proctor_quality_limits *q, const proctor_result *r,
                                    int check_yaw);

/* Header-only check (no decoding, microseconds): SOI, size, dimension and pixel limits.
 * For examd to answer 413/422 on upload. */
int proctor_jpeg_check(const unsigned char *jpeg, size_t len, const proctor_options *o, int *width,
                       int *height, dk_error *err);

#ifdef __cplusplus
}
#endif

#endif
