/* proctor_calib.h - what a cosine means: the calibrated similarity %, the flag names, a
 * result as JSON, and the embedding as stored in the physician row. Pure functions, any
 * thread (also an event loop); the only allocation is the JSON string the caller frees. */
#ifndef PROCTOR_CALIB_H
#define PROCTOR_CALIB_H

#include <stddef.h>

#include "proctor_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif
