/* proctor_models.c - which model files the engine accepts, and where the shipped ones are.
 *
 * A model is accepted by its sha256 only: the detector settings and the cosine calibration
 * are fitted to these exact weights, so a damaged file or another model is refused before
 * OpenCV reads it (proctor_face.cpp calls proctor_model_verify first). The shipped folder
 * is proctor/models (its SHA256SUMS must agree with the table below; test_proctor_models
 * checks it). Plain C, no state: callable from any thread. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "dk_log.h"
#include "proctor_internal.h"

#ifndef PROCTOR_SHIPPED_MODEL_DIR
#error "PROCTOR_SHIPPED_MODEL_DIR is set by proctor/CMakeLists.txt"
#endif

/* One row per model file the engine loads; kind -1 = any recogniser kind (the detector). */
static const proctor_model_info KNOWN[] = {
    {PROCTOR_ROLE_DETECTOR, -1, "yunet_120x160.onnx",
     "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7", 345478,
     "YuNet 2022mar (libfacedetection.train, MIT)", 1},
    {PROCTOR_ROLE_RECOGNIZER, PROCTOR_KIND_MOBILEFACENET, "MobileFaceNet.onnx",
     "93fac2c9747e612f4f491c7842563a515ee2b6c237d9fee05e96291b07ac6019", 3976111,
     "MobileFaceNet (face_matching_mvp, MIT)", 1},
    {PROCTOR_ROLE_RECOGNIZER, PROCTOR_KIND_SFACE, "face_recognition_sface_2021dec.onnx",
     "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79", 38696353,
     "SFace 2021dec (OpenCV Zoo, Apache-2.0)", 0},
};

const proctor_model_info *proctor_known_models(size_t *n)
{
    *n = sizeof KNOWN / sizeof KNOWN[0];
    return KNOWN;
}

const char *proctor_shipped_model_dir(void)
{
    return PROCTOR_SHIPPED_MODEL_DIR;
}

int proctor_sha256_file(const char *path, char hex[65], dk_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return dk_error_set(err, DK_EIO, "cannot open %s: %s", path, strerror(errno));
    if (sodium_init() < 0) {
        fclose(f);
        return dk_error_set(err, DK_EINTERNAL, "sodium_init failed");
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_hash_sha256_update(&st, buf, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) return dk_error_set(err, DK_EIO, "read error on %s", path);
    unsigned char md[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, md);
    sodium_bin2hex(hex, 65, md, sizeof md);
    return 0;
}

int proctor_model_verify(const char *path, proctor_model_role role, proctor_kind kind,
                         dk_error *err)
{
    const char *what = role == PROCTOR_ROLE_DETECTOR ? "detector" : "recogniser";
    const proctor_model_info *want = NULL;
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (KNOWN[i].role == role && (KNOWN[i].kind < 0 || KNOWN[i].kind == (int)kind))
            want = &KNOWN[i];
    if (!want) return dk_error_set(err, DK_EINTERNAL, "no known %s for this kind", what);
    char hex[65];
    int rc = proctor_sha256_file(path, hex, err);
    if (rc) return rc;
    if (strcmp(hex, want->sha256) != 0) {
        DK_ERROR("proctor",
                 "model refused: sha256 mismatch role=%s path=%s sha256=%s expected=%s (%s)", what,
                 path, hex, want->sha256, want->what);
        return dk_error_set(err, DK_EINVAL,
                            "%s %s: sha256 %.12s... differs from the expected %.12s... of %s: "
                            "the file is damaged or another model; refusing to load it",
                            what, path, hex, want->sha256, want->what);
    }
    return 0;
}
