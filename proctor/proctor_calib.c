/* proctor_calib.c - what a cosine means to an invigilator: the calibrated similarity %,
 * plus the small value helpers around a result (flag names, JSON, embedding text).
 *
 * The mapping is piecewise linear through knots, so it is monotone by construction and
 * invertible. MobileFaceNet knots were fitted on shared/data/faces (58 photos, 130
 * genuine / 1,523 impostor pairs, `facesim --eval pairs.tsv` reproduces the figures):
 *   cosine -1     ->   0 %
 *   cosine 0.036  ->  10 %   median impostor pair ("a typical other person")
 *   cosine 0.40   ->  40 %   operating point: FAR 0.13% (2/1523), FRR 0% (0/130);
 *                            any cosine in (0.3955, 0.4152] meets FAR <= 0.2%, FRR <= 1%
 *   cosine 0.713  ->  85 %   median genuine pair ("a typical photo of the same person")
 *   cosine 1      -> 100 %
 * SFace knots are NOT fitted here (the model is not in shared/): 40% sits at OpenCV
 * Zoo's published cosine threshold 0.363. Pure functions, any thread. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "proctor_internal.h"

typedef struct knot {
    double cosine, pct;
} knot;

static const knot mobilefacenet_knots[] = {
    {-1.0, 0.0}, {0.036, 10.0}, {0.40, 40.0}, {0.713, 85.0}, {1.0, 100.0},
};
static const knot sface_knots[] = {
    {-1.0, 0.0}, {0.0, 10.0}, {0.363, 40.0}, {0.70, 85.0}, {1.0, 100.0},
};

static const knot *knots_of(proctor_kind kind, size_t *n)
{
    if (kind == PROCTOR_KIND_SFACE) {
        *n = sizeof sface_knots / sizeof sface_knots[0];
        return sface_knots;
    }
    *n = sizeof mobilefacenet_knots / sizeof mobilefacenet_knots[0];
    return mobilefacenet_knots;
}

/* At a knot the result is the knot's value exactly, and a cosine below a knot maps below
 * the knot's value, so "similarity >= 40" and "cosine >= 0.40" agree to the last bit. */
double proctor_similarity(proctor_kind kind, double c)
{
    size_t n;
    const knot *k = knots_of(kind, &n);
    if (isnan(c)) return 0.0;
    if (c <= k[0].cosine) return k[0].pct;
    if (c >= k[n - 1].cosine) return k[n - 1].pct;
    for (size_t i = 0; i + 1 < n; i++)
        if (c < k[i + 1].cosine) {
            double s = k[i].pct + (c - k[i].cosine) / (k[i + 1].cosine - k[i].cosine) *
                                      (k[i + 1].pct - k[i].pct);
            /* below a knot stays below its value, even after rounding */
            double below = nextafter(k[i + 1].pct, -INFINITY);
            return s > below ? below : s;
        }
    return k[n - 1].pct;
}

double proctor_cosine_at(proctor_kind kind, double p)
{
    size_t n;
    const knot *k = knots_of(kind, &n);
    if (isnan(p) || p <= k[0].pct) return k[0].cosine;
    if (p >= k[n - 1].pct) return k[n - 1].cosine;
    for (size_t i = 0; i + 1 < n; i++)
        if (p < k[i + 1].pct)
            return k[i].cosine +
                   (p - k[i].pct) / (k[i + 1].pct - k[i].pct) * (k[i + 1].cosine - k[i].cosine);
    return k[n - 1].cosine;
}

static const char *const flag_names[] = {
    [PROCTOR_FLAG_NONE] = NULL,
    [PROCTOR_FLAG_LOW_SIMILARITY] = "low_similarity",
    [PROCTOR_FLAG_NO_FACE] = "no_face",
    [PROCTOR_FLAG_MULTIPLE_FACES] = "multiple_faces",
    [PROCTOR_FLAG_BAD_IMAGE] = "bad_image",
    [PROCTOR_FLAG_RETAKE] = "retake",
};

const char *proctor_flag_name(proctor_flag f)
{
    if ((int)f < 0 || (size_t)f >= sizeof flag_names / sizeof flag_names[0]) return NULL;
    return flag_names[f];
}

static json_t *round_real(double v, double unit)
{
    return json_real(round(v / unit) * unit);
}

char *proctor_result_json(const proctor_result *r, const char *file)
{
    json_t *o = json_object();
    if (file) json_object_set_new(o, "file", json_string(file));
    if (r->flag == PROCTOR_FLAG_BAD_IMAGE) {
        json_object_set_new(o, "faces", json_null());
    } else {
        json_object_set_new(o, "faces", json_integer(r->faces));
        json_object_set_new(o, "width", json_integer(r->width));
        json_object_set_new(o, "height", json_integer(r->height));
        if (r->faces > 0) {
            if (!r->degraded) json_object_set_new(o, "score", round_real(r->det_score, 1e-4));
            json_t *box = json_array();
            for (int i = 0; i < 4; i++)
                json_array_append_new(box, round_real(r->box[i], 0.1));
            json_object_set_new(o, "box", box);
        }
    }
    json_object_set_new(o, "cosine", r->has_cosine ? round_real(r->cosine, 1e-4) : json_null());
    json_object_set_new(o, "similarity",
                        r->has_cosine ? round_real(r->similarity, 0.1) : json_null());
    const char *flag = proctor_flag_name(r->flag);
    json_object_set_new(o, "flag", flag ? json_string(flag) : json_null());
    if (r->retake[0]) json_object_set_new(o, "retake", json_string(r->retake));
    if (r->has_quality)
        json_object_set_new(o, "quality",
                            json_pack("{s:o,s:o,s:o,s:o}", "face_px", round_real(r->face_px, 0.1),
                                      "sharpness", round_real(r->sharpness, 0.1), "brightness",
                                      round_real(r->brightness, 0.1), "yaw",
                                      isnan(r->yaw) ? json_null() : round_real(r->yaw, 0.1)));
    if (r->reason[0]) json_object_set_new(o, "reason", json_string(r->reason));
    if (r->degraded) json_object_set_new(o, "degraded", json_true());
    char *s = proctor_json_dump(o);
    json_decref(o);
    return s;
}

/* Compact, with reals at 7 significant digits (0.6776, not 0.67759999999999998). */
char *proctor_json_dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(7));
    if (!s) {
        DK_ERROR("proctor", "out of memory serialising JSON");
        abort();
    }
    return s;
}

size_t proctor_embedding_pack(const proctor_embedding *emb, unsigned char *out, size_t cap)
{
    size_t n = (size_t)emb->dim * 4;
    if (emb->dim <= 0 || n > cap) return 0;
    for (int i = 0; i < emb->dim; i++) {
        uint32_t u;
        memcpy(&u, &emb->v[i], 4);
        for (int k = 0; k < 4; k++)
            out[i * 4 + k] = (unsigned char)(u >> (8 * k));
    }
    return n;
}

int proctor_embedding_unpack(const unsigned char *b, size_t len, const char *model,
                             proctor_embedding *emb, dk_error *err)
{
    memset(emb, 0, sizeof *emb);
    if (!b || len == 0 || len % 4 || len / 4 > PROCTOR_EMB_MAX)
        return dk_error_set(err, DK_EINVAL, "stored embedding has %zu bytes", len);
    double norm = 0;
    emb->dim = (int)(len / 4);
    for (int i = 0; i < emb->dim; i++) {
        uint32_t u = 0;
        for (int k = 0; k < 4; k++)
            u |= (uint32_t)b[i * 4 + k] << (8 * k);
        memcpy(&emb->v[i], &u, 4);
        if (!isfinite(emb->v[i]))
            return dk_error_set(err, DK_EINVAL, "stored embedding is not finite");
        norm += (double)emb->v[i] * emb->v[i];
    }
    if (norm <= 0) return dk_error_set(err, DK_EINVAL, "stored embedding is zero");
    norm = sqrt(norm);
    for (int i = 0; i < emb->dim; i++)
        emb->v[i] = (float)(emb->v[i] / norm);
    snprintf(emb->model, sizeof emb->model, "%s", model ? model : "");
    return 0;
}

double proctor_cosine(const proctor_embedding *a, const proctor_embedding *b)
{
    int n = a->dim < b->dim ? a->dim : b->dim;
    double d = 0;
    for (int i = 0; i < n; i++)
        d += (double)a->v[i] * (double)b->v[i];
    return d;
}

void proctor_options_default(proctor_options *o)
{
    memset(o, 0, sizeof *o);
    o->model_dir = proctor_shipped_model_dir();
    o->detector = "yunet_120x160.onnx";
    o->recognizer = "MobileFaceNet.onnx";
    o->kind = PROCTOR_KIND_MOBILEFACENET;
    o->threshold = 40.0;
    o->max_bytes = 2u << 20;
    o->max_width = 4096;
    o->max_height = 4096;
    o->max_pixels = 16777216;
    /* fitted on shared/data/faces: proctor/README.md, "Quality gate" */
    o->quality.min_face_px = PROCTOR_Q_MIN_FACE_PX;
    o->quality.min_sharpness = PROCTOR_Q_MIN_SHARPNESS;
    o->quality.min_brightness = PROCTOR_Q_MIN_BRIGHTNESS;
    o->quality.max_brightness = PROCTOR_Q_MAX_BRIGHTNESS;
    o->quality.max_yaw = PROCTOR_Q_MAX_YAW;
}

int proctor_options_from_config(proctor_options *o, const dk_config *cfg, dk_error *err)
{
    proctor_options_default(o);
    /* "" = the shipped models; "none" = degraded on purpose (faceless test photos) */
    const char *dir = dk_config_str(cfg, "proctor_model_dir");
    o->model_dir = !dir[0] ? proctor_shipped_model_dir() : !strcmp(dir, "none") ? "" : dir;
    o->detector = dk_config_str(cfg, "proctor_detector");
    o->recognizer = dk_config_str(cfg, "proctor_recognizer");
    const char *kind = dk_config_str(cfg, "proctor_recognizer_kind");
    if (!strcmp(kind, "mobilefacenet"))
        o->kind = PROCTOR_KIND_MOBILEFACENET;
    else if (!strcmp(kind, "sface"))
        o->kind = PROCTOR_KIND_SFACE;
    else
        return dk_error_set(err, DK_EINVAL,
                            "proctor_recognizer_kind: '%s' is not mobilefacenet or sface", kind);
    o->threshold = dk_config_double(cfg, "proctor_threshold");
    long long mb = dk_config_int(cfg, "proctor_max_bytes");
    long long mw = dk_config_int(cfg, "proctor_max_width");
    long long mh = dk_config_int(cfg, "proctor_max_height");
    long long mp = dk_config_int(cfg, "proctor_max_pixels");
    if (mb <= 0 || mw <= 0 || mh <= 0 || mp <= 0 || mw > 65535 || mh > 65535)
        return dk_error_set(err, DK_EINVAL, "proctor_max_*: limits must be positive");
    if (o->threshold < 0 || o->threshold > 100)
        return dk_error_set(err, DK_EINVAL, "proctor_threshold: %g is not a percentage",
                            o->threshold);
    o->max_bytes = (size_t)mb;
    o->max_width = (int)mw;
    o->max_height = (int)mh;
    o->max_pixels = mp;
    return 0;
}
