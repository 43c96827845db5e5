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

typedef struct json_t json_t;
char *proctor_json_dump(const json_t *v); /* free(); reals at 7 significant digits */

/* UPDATE physician SET face_embedding, face_model (proctor_queue.c). */
int proctor_store_embedding(MYSQL *db, long long physician_id, const proctor_embedding *emb,
                            dk_error *err);

#ifdef __cplusplus
}
#endif

#endif
