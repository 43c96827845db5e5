/* proctor_face.cpp - the OpenCV wrapper: face detection, alignment and embedding behind
 * the C functions of proctor.h (proctor_engine_*, proctor_score, proctor_embed).
 *
 * Pipeline (shared/models/PIPELINE-FACTS.md, reproduced to 1e-4 in cosine): decode
 * (proctor_jpeg.c) -> YuNet on a copy fitted inside 320x240 (round half to even,
 * INTER_AREA when shrinking) -> landmarks back to the decoded image -> least-squares
 * similarity transform (Umeyama, closed form; not RANSAC) onto the ArcFace 112x112
 * template -> warpAffine -> RGB, (x-127.5)/127.5 -> MobileFaceNet -> L2 normalise.
 * SFace goes through cv::FaceRecognizerSF instead. Model files are checked by sha256
 * before loading (proctor_models.c). Without model files, Haar/LBP cascades count faces
 * and nothing is flagged (degraded mode).
 * An engine belongs to one thread at a time. Every C++ exception stops at this border. */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" {
#include "dk_log.h"
#include "proctor_internal.h"
#include "proctor_pose.h"
}

namespace
{

const int DET_W = 320, DET_H = 240;
const float DET_SCORE = 0.9f, DET_NMS = 0.3f;
const int DET_TOPK = 5000;
const double ARCFACE_112[5][2] = {{38.2946, 51.6963},
                                  {73.5318, 51.5014},
                                  {56.0252, 71.7366},
                                  {41.5493, 92.3655},
                                  {70.7299, 92.2041}};
const char *const CASCADE_PATHS[] = {
    "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml",
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    "/usr/share/opencv/lbpcascades/lbpcascade_frontalface_improved.xml",
    "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
};

bool file_exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string join(const char *dir, const char *file)
{
    std::string p = dir ? dir : "";
    if (!p.empty() && p.back() != '/') p += '/';
    return p + (file ? file : "");
}

/* Least-squares similarity (rotation, uniform scale, translation) mapping src onto dst:
 * the closed form of Umeyama's method in 2-D (the same optimum as
 * skimage.transform.SimilarityTransform). All 5 points count; none is dropped. */
cv::Mat similarity_lsq(const double src[5][2], const double dst[5][2])
{
    double ms[2] = {0, 0}, md[2] = {0, 0};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 2; k++) {
            ms[k] += src[i][k] / 5;
            md[k] += dst[i][k] / 5;
        }
    double sxx = 0, a = 0, b = 0;
    for (int i = 0; i < 5; i++) {
        double x = src[i][0] - ms[0], y = src[i][1] - ms[1];
        double u = dst[i][0] - md[0], v = dst[i][1] - md[1];
        sxx += x * x + y * y;
        a += x * u + y * v;
        b += x * v - y * u;
    }
    if (sxx <= 0) sxx = 1e-12;
    a /= sxx;
    b /= sxx;
    cv::Mat m(2, 3, CV_64F);
    m.at<double>(0, 0) = a;
    m.at<double>(0, 1) = -b;
    m.at<double>(0, 2) = md[0] - (a * ms[0] - b * ms[1]);
    m.at<double>(1, 0) = b;
    m.at<double>(1, 1) = a;
    m.at<double>(1, 2) = md[1] - (b * ms[0] + a * ms[1]);
    return m;
}

} // namespace

struct proctor_engine {
    proctor_options opt{};
    std::string model_dir, detector, recognizer;
    bool degraded = true;
    proctor_kind kind = PROCTOR_KIND_MOBILEFACENET;
    cv::Ptr<cv::FaceDetectorYN> det;
    cv::dnn::Net net;
    cv::Ptr<cv::FaceRecognizerSF> sface;
    cv::CascadeClassifier cascade;
    std::string cascade_path;
    /* per-capture work buffers, kept between captures (an engine is one thread's) */
    cv::Size det_size;                   /* the detector's input size, set when it changes */
    cv::Mat small, faces, crop, blob;
};

namespace
{

int load(proctor_engine *e, dk_error *err)
{
    std::string det = join(e->model_dir.c_str(), e->detector.c_str());
    std::string rec = join(e->model_dir.c_str(), e->recognizer.c_str());
    bool have = !e->model_dir.empty() && file_exists(det) && file_exists(rec);
    if (have) {
        /* refuse a damaged file or another model before OpenCV parses it */
        int rc = proctor_model_verify(det.c_str(), PROCTOR_ROLE_DETECTOR, e->kind, err);
        if (!rc) rc = proctor_model_verify(rec.c_str(), PROCTOR_ROLE_RECOGNIZER, e->kind, err);
        if (rc) return rc;
        e->det = cv::FaceDetectorYN::create(det, "", cv::Size(DET_W, DET_H), DET_SCORE, DET_NMS,
                                            DET_TOPK);
        if (e->det.empty())
            return dk_error_set(err, DK_EINTERNAL, "cannot load detector %s", det.c_str());
        if (e->kind == PROCTOR_KIND_SFACE) {
            e->sface = cv::FaceRecognizerSF::create(rec, "");
            if (e->sface.empty())
                return dk_error_set(err, DK_EINTERNAL, "cannot load SFace %s", rec.c_str());
        } else {
            e->net = cv::dnn::readNetFromONNX(rec);
            if (e->net.empty())
                return dk_error_set(err, DK_EINTERNAL, "cannot load recogniser %s", rec.c_str());
            /* said, not left to the build: the plain CPU code, as the reference pipeline */
            e->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            e->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        }
        e->degraded = false;
        DK_INFO("proctor", "face models loaded detector=%s recognizer=%s kind=%s sha256=verified",
                det.c_str(), rec.c_str(),
                e->kind == PROCTOR_KIND_SFACE ? "sface" : "mobilefacenet");
        return 0;
    }
    for (const char *p : CASCADE_PATHS)
        if (file_exists(p) && e->cascade.load(p)) {
            e->cascade_path = p;
            break;
        }
    if (e->cascade.empty())
        return dk_error_set(err, DK_EINTERNAL,
                            "no face models in '%s' and no OpenCV cascade found "
                            "(install opencv-data)",
                            e->model_dir.c_str());
    DK_WARN("proctor", "################################################################");
    DK_WARN("proctor",
            "DEGRADED MODE: face model files not found model_dir='%s' detector=%s "
            "recognizer=%s",
            e->model_dir.c_str(), e->detector.c_str(), e->recognizer.c_str());
    DK_WARN("proctor",
            "DEGRADED MODE: cascade %s only counts faces; no similarity is "
            "computed and NO capture is flagged; every result says degraded",
            e->cascade_path.c_str());
    DK_WARN("proctor",
            "DEGRADED MODE: leave proctor_model_dir empty to use the models shipped in %s",
            proctor_shipped_model_dir());
    DK_WARN("proctor", "################################################################");
    return 0;
}

/* Fit inside 320x240 as the reference did: s = min(320/w, 240/h), sizes rounded half to
 * even (Python's round), INTER_AREA when shrinking, INTER_LINEAR when enlarging. */
void fit_for_detection(const cv::Mat &img, cv::Mat &small, double *scale)
{
    double s = std::min((double)DET_W / img.cols, (double)DET_H / img.rows);
    int w = std::max(1, (int)std::nearbyint(img.cols * s));
    int h = std::max(1, (int)std::nearbyint(img.rows * s));
    cv::resize(img, small, cv::Size(w, h), 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    *scale = s;
}

} // namespace

/* YuNet rows (x, y, w, h, 5 landmarks, score) on the fitted copy, best first, and the
 * fit scale s (kept in double: landmarks are divided by it as the reference does). */
struct det_out {
    std::vector<std::vector<float>> rows;
    double s = 1;
};

static det_out detect(proctor_engine *e, const cv::Mat &img)
{
    det_out d;
    fit_for_detection(img, e->small, &d.s);
    if (e->small.size() != e->det_size) { /* 4.6: the input must be the image's size */
        e->det->setInputSize(e->small.size());
        e->det_size = e->small.size();
    }
    cv::Mat &faces = e->faces;
    e->det->detect(e->small, faces);
    for (int i = 0; i < faces.rows; i++) {
        std::vector<float> row(15);
        for (int k = 0; k < 15; k++)
            row[k] = faces.at<float>(i, k);
        d.rows.push_back(row);
    }
    std::stable_sort(
        d.rows.begin(), d.rows.end(),
        [](const std::vector<float> &a, const std::vector<float> &b) { return a[14] > b[14]; });
    return d;
}

static int detect_cascade(proctor_engine *e, const cv::Mat &img, std::vector<cv::Rect> &out,
                          double *scale)
{
    double s = std::min(640.0 / img.cols, 480.0 / img.rows);
    if (s > 1) s = 1;
    cv::Mat small, grey;
    cv::resize(img, small,
               cv::Size(std::max(1, (int)std::lround(img.cols * s)),
                        std::max(1, (int)std::lround(img.rows * s))),
               0, 0, cv::INTER_AREA);
    cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
    cv::equalizeHist(grey, grey);
    e->cascade.detectMultiScale(grey, out, 1.1, 5, 0, cv::Size(30, 30));
    *scale = s;
    return (int)out.size();
}

static void embed_face(proctor_engine *e, const cv::Mat &img, const std::vector<float> &row,
                       double s, proctor_embedding *emb)
{
    cv::Mat feat;
    if (e->kind == PROCTOR_KIND_SFACE) {
        cv::Mat face(1, 15, CV_32F);
        for (int k = 0; k < 14; k++)
            face.at<float>(0, k) = (float)(row[k] / s);
        face.at<float>(0, 14) = row[14];
        cv::Mat aligned;
        e->sface->alignCrop(img, face, aligned);
        e->sface->feature(aligned, feat);
    } else {
        double lm[5][2];
        for (int i = 0; i < 5; i++) {
            lm[i][0] = (double)row[4 + 2 * i] / s;
            lm[i][1] = (double)row[5 + 2 * i] / s;
        }
        cv::Mat m = similarity_lsq(lm, ARCFACE_112);
        cv::warpAffine(img, e->crop, m, cv::Size(112, 112), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                       cv::Scalar(0, 0, 0));
        cv::dnn::blobFromImage(e->crop, e->blob, 1.0 / 127.5, cv::Size(112, 112),
                               cv::Scalar(127.5, 127.5, 127.5), true, false);
        e->net.setInput(e->blob);
        feat = e->net.forward();
    }
    feat = feat.reshape(1, 1);
    int n = std::min((int)feat.total(), PROCTOR_EMB_MAX);
    double norm = 0;
    std::vector<double> v(n);
    for (int i = 0; i < n; i++) {
        v[i] = (double)feat.at<float>(0, i);
        norm += v[i] * v[i];
    }
    norm = std::sqrt(norm);
    if (norm <= 0) norm = 1;
    memset(emb, 0, sizeof *emb);
    snprintf(emb->model, sizeof emb->model, "%s", e->recognizer.c_str());
    emb->dim = n;
    for (int i = 0; i < n; i++)
        emb->v[i] = (float)(v[i] / norm);
}

/* The quality measures of the one face (proctor_quality_limits): its landmarks in JPEG
 * pixels (back = decoded -> JPEG), the box's shorter side in decoded pixels, the yaw, and
 * on the aligned 112x112 crop (the embedding's own alignment) the mean grey level and the
 * variance of the Laplacian, both over the face area [24, 88) x [28, 104) of the template
 * (the crop's border repeats the image's edge pixels). */
static void measure_quality(const cv::Mat &img, const std::vector<float> &row, double s,
                            double back, proctor_result *res)
{
    double lm[5][2];
    for (int i = 0; i < 5; i++) {
        lm[i][0] = (double)row[4 + 2 * i] / s;
        lm[i][1] = (double)row[5 + 2 * i] / s;
        res->landmarks[2 * i] = (float)(lm[i][0] * back);
        res->landmarks[2 * i + 1] = (float)(lm[i][1] * back);
    }
    res->face_px = std::min(row[2], row[3]) / s;
    res->yaw = proctor_yaw_from_landmarks(res->landmarks);
    cv::Mat crop, grey, lap;
    /* edge pixels repeated, not the embedding's black border: a face cut by the frame's
     * edge (a webcam's top row through the forehead) would otherwise bring a sharp
     * artificial edge into the measure and pass a blurred face */
    cv::warpAffine(img, crop, similarity_lsq(lm, ARCFACE_112), cv::Size(112, 112), cv::INTER_LINEAR,
                   cv::BORDER_REPLICATE);
    cv::cvtColor(crop, grey, cv::COLOR_BGR2GRAY);
    cv::Mat face = grey(cv::Rect(24, 28, 64, 76));
    cv::Laplacian(face, lap, CV_64F);
    cv::Scalar mean, sd;
    cv::meanStdDev(lap, mean, sd);
    res->sharpness = sd[0] * sd[0];
    res->brightness = cv::mean(face)[0];
    res->has_quality = 1;
}

/* One pass over an image: decode, detect, embed the main face when there is exactly
 * one (and want_emb). With gate, a single face is measured first (measure_quality) and a
 * face the quality gate refuses is not embedded (res->retake says why). Fills res;
 * returns 0 or a dk_err. */
static int run(proctor_engine *e, const unsigned char *jpeg, size_t len, bool want_emb, bool gate,
               proctor_embedding *emb, bool *embedded, proctor_result *res, dk_error *err)
{
    *embedded = false;
    double t0 = proctor_now_ms();
    proctor_image img;
    int rc = proctor_jpeg_decode(jpeg, len, &e->opt, &img, err);
    res->ms_decode = proctor_now_ms() - t0;
    if (rc) {
        res->flag = PROCTOR_FLAG_BAD_IMAGE;
        snprintf(res->reason, sizeof res->reason, "%s", err ? err->msg : "bad image");
        return rc;
    }
    res->width = img.orig_w;
    res->height = img.orig_h;
    double back = (double)img.orig_w / img.w; /* decoded -> JPEG pixel coordinates */
    try {
        cv::Mat m(img.h, img.w, CV_8UC3, img.bgr);
        double t1 = proctor_now_ms();
        if (e->degraded) {
            std::vector<cv::Rect> faces;
            double s;
            res->faces = detect_cascade(e, m, faces, &s);
            if (!faces.empty()) {
                cv::Rect r = faces[0];
                for (auto &f : faces)
                    if (f.area() > r.area()) r = f;
                res->box[0] = (float)(r.x / s * back);
                res->box[1] = (float)(r.y / s * back);
                res->box[2] = (float)(r.width / s * back);
                res->box[3] = (float)(r.height / s * back);
            }
            res->degraded = 1;
            res->ms_detect = proctor_now_ms() - t1;
        } else {
            det_out d = detect(e, m);
            res->ms_detect = proctor_now_ms() - t1;
            res->faces = (int)d.rows.size();
            if (!d.rows.empty()) {
                const std::vector<float> &f = d.rows[0];
                res->det_score = f[14];
                for (int k = 0; k < 4; k++)
                    res->box[k] = (float)(f[k] / d.s * back);
            }
            if (gate && d.rows.size() == 1) {
                measure_quality(m, d.rows[0], d.s, back, res);
                snprintf(res->retake, sizeof res->retake, "%s",
                         proctor_quality_verdict(&e->opt.quality, res, 1));
            }
            if (want_emb && d.rows.size() == 1 && !res->retake[0]) {
                double t2 = proctor_now_ms();
                embed_face(e, m, d.rows[0], d.s, emb);
                res->ms_embed = proctor_now_ms() - t2;
                *embedded = true;
            }
        }
        rc = 0;
    } catch (const std::exception &ex) {
        rc = dk_error_set(err, DK_EINTERNAL, "opencv: %s", ex.what());
    } catch (...) {
        rc = dk_error_set(err, DK_EINTERNAL, "opencv: unknown exception");
    }
    proctor_image_free(&img);
    return rc;
}

extern "C" {

void proctor_set_cv_threads(int n)
{
    try {
        cv::setNumThreads(n);
    } catch (...) {
    }
}

int proctor_engine_new(proctor_engine **out, const proctor_options *o, dk_error *err)
{
    *out = nullptr;
    proctor_engine *e = new (std::nothrow) proctor_engine();
    if (!e) return dk_error_set(err, DK_EINTERNAL, "out of memory");
    int rc;
    try {
        e->opt = *o;
        e->model_dir = o->model_dir ? o->model_dir : "";
        e->detector = o->detector ? o->detector : "";
        e->recognizer = o->recognizer ? o->recognizer : "";
        e->opt.model_dir = e->model_dir.c_str();
        e->opt.detector = e->detector.c_str();
        e->opt.recognizer = e->recognizer.c_str();
        e->kind = o->kind;
        rc = load(e, err);
    } catch (const std::exception &ex) {
        rc = dk_error_set(err, DK_EINTERNAL, "loading face models: %s", ex.what());
    } catch (...) {
        rc = dk_error_set(err, DK_EINTERNAL, "loading face models: unknown exception");
    }
    if (rc) {
        delete e;
        return rc;
    }
    *out = e;
    return 0;
}

void proctor_engine_free(proctor_engine *e)
{
    try {
        delete e;
    } catch (...) {
    }
}

int proctor_engine_degraded(const proctor_engine *e)
{
    return e->degraded ? 1 : 0;
}

const char *proctor_engine_model(const proctor_engine *e)
{
    return e->degraded ? "" : e->recognizer.c_str();
}

int proctor_score(proctor_engine *e, const unsigned char *jpeg, size_t len,
                  const proctor_embedding *ref, proctor_result *res, dk_error *err)
{
    memset(res, 0, sizeof *res);
    if (ref && !e->degraded && strcmp(ref->model, e->recognizer.c_str()) != 0)
        return dk_error_set(err, DK_EINVAL, "reference embedding is of model '%s', not '%s'",
                            ref->model, e->recognizer.c_str());
    proctor_embedding emb;
    bool embedded;
    int rc = run(e, jpeg, len, ref != nullptr, true, &emb, &embedded, res, err);
    if (rc) return rc;
    if (res->degraded) {
        snprintf(res->reason, sizeof res->reason,
                 "degraded mode: cascade face count only, nothing flagged");
        return 0;
    }
    if (res->faces == 0) {
        res->flag = PROCTOR_FLAG_NO_FACE;
    } else if (res->faces > 1) {
        res->flag = PROCTOR_FLAG_MULTIPLE_FACES;
    } else if (res->retake[0]) {
        res->flag = PROCTOR_FLAG_RETAKE; /* not embedded: never low_similarity */
    } else if (embedded) {
        res->has_cosine = 1;
        res->cosine = proctor_cosine(&emb, ref);
        res->similarity = proctor_similarity(e->kind, res->cosine);
        if (res->similarity < e->opt.threshold) res->flag = PROCTOR_FLAG_LOW_SIMILARITY;
    }
    return 0;
}

int proctor_embed(proctor_engine *e, const unsigned char *jpeg, size_t len, proctor_embedding *emb,
                  proctor_result *res, dk_error *err)
{
    proctor_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (e->degraded) return dk_error_set(err, DK_EBUSY, "degraded mode: no face recogniser loaded");
    bool embedded;
    int rc = run(e, jpeg, len, true, false, emb, &embedded, res, err);
    if (rc) return rc;
    if (res->faces != 1) {
        res->flag = res->faces == 0 ? PROCTOR_FLAG_NO_FACE : PROCTOR_FLAG_MULTIPLE_FACES;
        return dk_error_set(err, DK_EUNPROCESSABLE, "photo shows %d faces, exactly one needed",
                            res->faces);
    }
    return 0;
}

} /* extern "C" */
