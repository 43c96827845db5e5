/* proctor_internal.h - what the proctor's own files share and nobody else includes:
 * the decoded image, the JPEG decoder, the clock. The C++ wrapper includes this too,
 * so everything here is plain C. */
#ifndef PROCTOR_INTERNAL_H
#define PROCTOR_INTERNAL_H

#include "proctor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PROCTOR_DECODE_LONG_SIDE 1280 /* larger photos are decoded at a TurboJPEG scale */
#define PROCTOR_MIN_SIDE 32           /* smaller images cannot show a usable face */

/* A decoded image: 8-bit BGR, rows of w*3 bytes, owned (free with proctor_image_free). */
typedef struct proctor_image {
    unsigned char *bgr;
    int w, h;           /* decoded size */
    int orig_w, orig_h; /* size in the JPEG header */
} proctor_image;

/* Checks the header (before any decoding), then decodes at the largest TurboJPEG scale
 * that keeps the long side <= PROCTOR_DECODE_LONG_SIDE. Warnings (truncated data,
 * corrupt entropy code) are errors. DK_ETOOBIG / DK_EUNPROCESSABLE with the reason. */
int proctor_jpeg_decode(const unsigned char *jpeg, size_t len, const proctor_options *o,
                        proctor_image *out, dk_error *err);
void proctor_image_free(proctor_image *img);

double proctor_now_ms(void); /* CLOCK_MONOTONIC */

/* ---- model files (proctor_models.c) ------------------------------------------------- */

typedef enum proctor_model_role {
    PROCTOR_ROLE_DETECTOR,
    PROCTOR_ROLE_RECOGNIZER
} proctor_model_role;

/* A model the engine accepts: its file name as shipped or published, sha256 (lowercase hex),
 * size, a one-line description (source, licence), and whether proctor/models ships it. */
typedef struct proctor_model_info {
    proctor_model_role role;
    int kind; /* proctor_kind of a recogniser; -1 for the detector */
    const char *file;
    const char *sha256;
    long long bytes;
    const char *what;
    int shipped;
} proctor_model_info;

const proctor_model_info *proctor_known_models(size_t *n);
/* proctor/models of the source tree the binaries were built from (absolute). */
const char *proctor_shipped_model_dir(void);
/* sha256 of a file as 64 lowercase hex digits + NUL. DK_EIO when it cannot be read. */
int proctor_sha256_file(const char *path, char hex[65], dk_error *err);
/* 0 when the file's sha256 is the known one for this role (and kind); DK_EINVAL naming the
 * file and both hashes when not; DK_EIO when it cannot be read. */
int proctor_model_verify(const char *path, proctor_model_role role, proctor_kind kind,
                         dk_error *err);

typedef struct json_t json_t;
char *proctor_json_dump(const json_t *v); /* free(); reals at 7 significant digits */

/* UPDATE physician SET face_embedding, face_model (proctor_queue.c). */
int proctor_store_embedding(MYSQL *db, long long physician_id, const proctor_embedding *emb,
                            dk_error *err);

#ifdef __cplusplus
}
#endif

#endif
