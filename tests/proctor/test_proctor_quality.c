/* test_proctor_quality.c - the quality gate (issue 14 item 2) and the liveness challenge's
 * decision (item 3) on real photos: every identity photo of shared/data/faces, brought to
 * a webcam's 640 px, then copies made here in memory (never written anywhere): blurred,
 * darkened, overexposed, shrunk into a 640x480 frame, turned (re-rendered over a rough
 * depth model of a head), and tilted as a printed photo held at an angle (a plane
 * rotated about the vertical axis, in perspective). It prints every figure it measures
 * (the distributions proctor/README.md quotes) and checks:
 *   - every genuine 640 px copy passes the gate (no retake);
 *   - at least 85 % of each kind of degraded copy is asked to retake with its own reason
 *     (or shows no face, when the damage hides the face from the detector), and a retake
 *     never gets a similarity, so is never low_similarity, even against the photo's own
 *     reference;
 *   - a still photo sent as the three challenge frames fails, so does one moved a little
 *     between the frames and one tilted left and right in the hand; 90 % of the heads
 *     turned 35 degrees each way (rendered from the photo over a rough depth model) pass.
 * Exits 77 (skipped), naming the path, without the shared photos. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include <cmocka.h>

#include "dk_log.h"
#include "proctor.h"
#include "test_slurp.h"

#define MAX_PHOTOS 128

typedef struct img {
    unsigned char *p; /* BGR */
    int w, h;
} img;

static const char *faces_dir;
static char *paths[MAX_PHOTOS];
static int npaths;
static proctor_engine *engine;
static proctor_options opts;

/* ---- image operations on BGR buffers -------------------------------------------------- */

static img img_new(int w, int h)
{
    img m = {dk_calloc((size_t)w * h * 3, 1), w, h};
    return m;
}

static img decode(const unsigned char *jpeg, size_t len)
{
    tjhandle t = tjInitDecompress();
    int w, h, sub, cs;
    assert_int_equal(tjDecompressHeader3(t, jpeg, (unsigned long)len, &w, &h, &sub, &cs), 0);
    img m = img_new(w, h);
    assert_int_equal(tjDecompress2(t, jpeg, (unsigned long)len, m.p, w, 0, h, TJPF_BGR, 0), 0);
    tjDestroy(t);
    return m;
}

static unsigned char *encode(const img *m, size_t *len)
{
    tjhandle t = tjInitCompress();
    unsigned char *out = NULL;
    unsigned long n = 0;
    assert_int_equal(tjCompress2(t, m->p, m->w, 0, m->h, TJPF_BGR, &out, &n, TJSAMP_420, 85, 0), 0);
    tjDestroy(t);
    unsigned char *b = dk_malloc(n);
    memcpy(b, out, n);
    tjFree(out);
    *len = n;
    return b;
}

/* Area-average resize (downscaling) / nearest sample (never upscales here). */
static img resize(const img *s, int w, int h)
{
    img d = img_new(w, h);
    for (int y = 0; y < h; y++) {
        int y0 = (int)((long long)y * s->h / h), y1 = (int)((long long)(y + 1) * s->h / h);
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < w; x++) {
            int x0 = (int)((long long)x * s->w / w), x1 = (int)((long long)(x + 1) * s->w / w);
            if (x1 <= x0) x1 = x0 + 1;
            for (int c = 0; c < 3; c++) {
                long sum = 0;
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++)
                        sum += s->p[((size_t)yy * s->w + xx) * 3 + c];
                d.p[((size_t)y * w + x) * 3 + c] =
                    (unsigned char)(sum / ((long)(y1 - y0) * (x1 - x0)));
            }
        }
    }
    return d;
}

static double sample(const img *s, double x, double y, int c)
{
    if (x < 0 || y < 0 || x > s->w - 1 || y > s->h - 1) return 0;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < s->w ? x0 + 1 : x0, y1 = y0 + 1 < s->h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    double a = s->p[((size_t)y0 * s->w + x0) * 3 + c], b = s->p[((size_t)y0 * s->w + x1) * 3 + c];
    double e = s->p[((size_t)y1 * s->w + x0) * 3 + c], f = s->p[((size_t)y1 * s->w + x1) * 3 + c];
    return (a * (1 - fx) + b * fx) * (1 - fy) + (e * (1 - fx) + f * fx) * fy;
}

/* Gaussian blur of about sigma pixels: three box blurs (running sums, any radius at the
 * same cost) in each direction. */
static void box_pass(unsigned char *p, int n, int stride, int r, unsigned char *tmp)
{
    for (int c = 0; c < 3; c++) {
        long sum = 0;
        for (int i = -r - 1; i < r; i++)
            sum += p[(size_t)(i < 0 ? 0 : i >= n ? n - 1 : i) * stride + c];
        for (int i = 0; i < n; i++) {
            int add = i + r < n ? i + r : n - 1, sub = i - r - 1 < 0 ? 0 : i - r - 1;
            sum += p[(size_t)add * stride + c] - p[(size_t)sub * stride + c];
            tmp[i] = (unsigned char)(sum / (2 * r + 1));
        }
        for (int i = 0; i < n; i++)
            p[(size_t)i * stride + c] = tmp[i];
    }
}

static void blur(img *m, double sigma)
{
    int r = (int)lround((sqrt(12 * sigma * sigma / 3 + 1) - 1) / 2);
    if (r < 1) r = 1;
    unsigned char *tmp = dk_malloc((size_t)(m->w > m->h ? m->w : m->h));
    for (int k = 0; k < 3; k++) {
        for (int y = 0; y < m->h; y++)
            box_pass(m->p + (size_t)y * m->w * 3, m->w, 3, r, tmp);
        for (int x = 0; x < m->w; x++)
            box_pass(m->p + (size_t)x * 3, m->h, m->w * 3, r, tmp);
    }
    free(tmp);
}

/* v' = clamp(a v + b): a dark room (a < 1) or an overexposed camera (large b). */
static void tone(img *m, double a, double b)
{
    for (size_t i = 0; i < (size_t)m->w * m->h * 3; i++) {
        double v = a * m->p[i] + b;
        m->p[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
    }
}

/* The photo shrunk by f and centred in a grey 640x480 frame: a physician far away. */
static img far_away(const img *s, double f)
{
    img small = resize(s, (int)lround(s->w * f), (int)lround(s->h * f));
    img d = img_new(640, 480);
    memset(d.p, 128, (size_t)640 * 480 * 3);
    int ox = (640 - small.w) / 2, oy = (480 - small.h) / 2;
    for (int y = 0; y < small.h; y++)
        if (y + oy >= 0 && y + oy < 480)
            for (int x = 0; x < small.w; x++)
                if (x + ox >= 0 && x + ox < 640)
                    memcpy(&d.p[((size_t)(y + oy) * 640 + x + ox) * 3],
                           &small.p[((size_t)y * small.w + x) * 3], 3);
    free(small.p);
    return d;
}

/* A head turned by deg degrees (positive: the person's left, the nose moving to the
 * image's right), rendered from a rough depth map of the photo: the head a vertical
 * cylinder of radius 1.2 eye distances through the nose tip, plus the nose, a bump 0.5 eye
 * distances high, 0.22 wide and 0.45 tall (Gaussian) on the tip; orthographic view
 * rotated about the vertical axis, each output column traced back by fixed-point
 * iteration. Occlusion is ignored. lm: landmarks of s. */
static double depth(const float lm[10], double eye, double x, double y)
{
    double R = 1.2 * eye, dx = x - lm[4];
    double z = dx * dx < R * R ? sqrt(R * R - dx * dx) : 0;
    double sx = 0.22 * eye, sy = 0.45 * eye, dy = y - lm[5];
    return z + 0.5 * eye * exp(-(dx * dx) / (2 * sx * sx) - (dy * dy) / (2 * sy * sy));
}

static img turned3d(const img *s, const float lm[10], double deg)
{
    double t = deg * M_PI / 180, eye = hypot(lm[2] - lm[0], lm[3] - lm[1]);
    img d = img_new(s->w, s->h);
    double *zbuf = dk_malloc(sizeof(double) * (size_t)s->w);
    for (int y = 0; y < d.h; y++) {
        for (int x = 0; x < d.w; x++)
            zbuf[x] = -INFINITY;
        /* forward: each source column (4 samples per pixel) to its rotated column; the
         * point nearest the camera wins */
        for (int q = 0; q < 4 * s->w; q++) {
            double xs = q / 4.0, xr = xs - lm[4], z = depth(lm, eye, xs, y);
            double xo = xr * cos(t) + z * sin(t) - 1.2 * eye * sin(t) + lm[4];
            double zo = -xr * sin(t) + z * cos(t);
            long c = lround(xo);
            if (c < 0 || c >= d.w || zo <= zbuf[c]) continue;
            zbuf[c] = zo;
            for (int k = 0; k < 3; k++)
                d.p[((size_t)y * d.w + c) * 3 + k] = (unsigned char)lround(sample(s, xs, y, k));
        }
        /* columns nothing landed on take their left neighbour (or the right one) */
        for (int x = 0; x < d.w; x++)
            if (zbuf[x] == -INFINITY) {
                int from = x > 0 ? x - 1 : -1;
                for (int r = x + 1; from < 0 && r < d.w; r++)
                    if (zbuf[r] != -INFINITY) from = r;
                if (from >= 0)
                    memcpy(&d.p[((size_t)y * d.w + x) * 3], &d.p[((size_t)y * d.w + from) * 3], 3);
                zbuf[x] = x > 0 ? zbuf[x - 1] : 0;
            }
    }
    free(zbuf);
    return d;
}

/* A printed photo held at deg degrees about the vertical axis, seen by a camera whose
 * focal length is the image width (a webcam's ~53 degrees of view). */
static img tilted(const img *s, double deg)
{
    double t = deg * M_PI / 180, f = s->w, cx = s->w / 2.0, cy = s->h / 2.0;
    img d = img_new(s->w, s->h);
    for (int y = 0; y < d.h; y++)
        for (int x = 0; x < d.w; x++) {
            double u = x - cx, v = y - cy;
            double X = u * f / (f * cos(t) - u * sin(t));
            double Y = v * (f + X * sin(t)) / f;
            for (int c = 0; c < 3; c++)
                d.p[((size_t)y * d.w + x) * 3 + c] =
                    (unsigned char)lround(sample(s, X + cx, Y + cy, c));
        }
    return d;
}

/* ---- scoring ---------------------------------------------------------------------------- */

static proctor_result score(const img *m, const proctor_embedding *ref)
{
    size_t len;
    unsigned char *jpeg = encode(m, &len);
    proctor_result r;
    dk_error err = {0};
    int rc = proctor_score(engine, jpeg, len, ref, &r, &err);
    free(jpeg);
    if (rc) fail_msg("proctor_score: %s", err.msg);
    return r;
}

static img load_640(const char *path)
{
    size_t len;
    unsigned char *b = slurp_or_fail(path, &len);
    img full = decode(b, len);
    free(b);
    img m = resize(&full, 640, (int)lround(full.h * 640.0 / full.w));
    free(full.p);
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_dist(const char *what, double *v, int n)
{
    if (n == 0) return;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-34s n=%2d min %7.1f  p5 %7.1f  median %7.1f  p95 %7.1f  max %7.1f\n", what, n, v[0],
           v[(int)ceil(0.05 * n) - 1], v[(n - 1) / 2], v[(int)ceil(0.95 * n) - 1], v[n - 1]);
}

typedef struct variant {
    const char *name;
    const char *expect;                               /* the retake reason */
    int n, retake, expected, noface, with_similarity; /* with_similarity: among retakes */
    int nm;                                           /* measures kept (copies with one face) */
    double measure[MAX_PHOTOS];
} variant;

static void count(variant *v, const proctor_result *r, double measure)
{
    v->n++;
    if (r->faces == 0) v->noface++;
    if (r->flag == PROCTOR_FLAG_RETAKE) v->retake++;
    if (r->flag == PROCTOR_FLAG_RETAKE && !strcmp(r->retake, v->expect)) v->expected++;
    if (r->flag == PROCTOR_FLAG_RETAKE && (r->has_cosine || r->similarity != 0))
        v->with_similarity++;
    if (r->has_quality) v->measure[v->nm++] = measure;
}

static img copy_of(const img *m)
{
    img c = img_new(m->w, m->h);
    memcpy(c.p, m->p, (size_t)m->w * m->h * 3);
    return c;
}

typedef enum { M_FACE, M_SHARP, M_BRIGHT, M_ABSYAW } measure_kind;

/* Scores a degraded copy against ref, counts it in v with the measure of its kind, frees it. */
static void try_copy(variant *v, img c, const proctor_embedding *ref, measure_kind k)
{
    proctor_result r = score(&c, ref);
    count(v, &r,
          k == M_FACE     ? r.face_px
          : k == M_SHARP  ? r.sharpness
          : k == M_BRIGHT ? r.brightness
                          : fabs(r.yaw));
    free(c.p);
}

/* ---- the tests -------------------------------------------------------------------------- */

static void test_gate_on_real_photos(void **state)
{
    (void)state;
    static variant blurred = {.name = "blurred (sigma = face_px / 25)", .expect = "blurred"};
    static variant dark = {.name = "dark (x 0.12)", .expect = "too_dark"};
    static variant bright = {.name = "overexposed (x 0.35 + 185)", .expect = "too_bright"};
    static variant small = {.name = "far away (face ~ 28 px)", .expect = "too_small"};
    static variant turn = {.name = "turned 50 deg (rendered)", .expect = "turned"};
    double base_face[MAX_PHOTOS], base_sharp[MAX_PHOTOS], base_bright[MAX_PHOTOS],
        base_yaw[MAX_PHOTOS], jitter[MAX_PHOTOS];
    int nb = 0, base_retake = 0;
    for (int i = 0; i < npaths; i++) {
        img m = load_640(paths[i]);
        proctor_result r = score(&m, NULL);
        if (r.faces != 1 || !r.has_quality) fail_msg("%s: %d faces at 640 px", paths[i], r.faces);
        if (r.retake[0]) {
            printf("genuine photo asked to retake: %s reason=%s face_px=%.1f sharpness=%.1f "
                   "brightness=%.1f yaw=%.1f\n",
                   paths[i], r.retake, r.face_px, r.sharpness, r.brightness, r.yaw);
            base_retake++;
        }
        base_face[nb] = r.face_px;
        base_sharp[nb] = r.sharpness;
        base_bright[nb] = r.brightness;
        base_yaw[nb] = fabs(r.yaw);
        /* the photo's own reference: a retake never gets a similarity */
        proctor_embedding ref;
        size_t len;
        unsigned char *jpeg = encode(&m, &len);
        dk_error err = {0};
        assert_int_equal(proctor_embed(engine, jpeg, len, &ref, NULL, &err), 0);
        free(jpeg);
        /* a still photo moved a little (2 % smaller, shifted): the yaw's jitter */
        img moved = far_away(&m, 0.98);
        proctor_result rm = score(&moved, NULL);
        if (rm.has_quality) jitter[nb] = fabs(rm.yaw - r.yaw);
        free(moved.p);
        nb++;

        img b = copy_of(&m), d = copy_of(&m), o = copy_of(&m);
        blur(&b, r.face_px / 25);
        try_copy(&blurred, b, &ref, M_SHARP);
        tone(&d, 0.12, 0);
        try_copy(&dark, d, &ref, M_BRIGHT);
        tone(&o, 0.35, 185);
        try_copy(&bright, o, &ref, M_BRIGHT);
        try_copy(&small, far_away(&m, 28.0 / r.face_px), &ref, M_FACE);
        try_copy(&turn, turned3d(&m, r.landmarks, r.yaw >= 0 ? 50 : -50), &ref, M_ABSYAW);
        free(m.p);
    }
    printf("limits: min_face_px %.0f, min_sharpness %.0f, brightness %.0f..%.0f, max |yaw| %.0f\n",
           opts.quality.min_face_px, opts.quality.min_sharpness, opts.quality.min_brightness,
           opts.quality.max_brightness, opts.quality.max_yaw);
    print_dist("genuine 640 px: face_px", base_face, nb);
    print_dist("genuine 640 px: sharpness", base_sharp, nb);
    print_dist("genuine 640 px: brightness", base_bright, nb);
    print_dist("genuine 640 px: |yaw|", base_yaw, nb);
    print_dist("still photo moved: |yaw change|", jitter, nb);
    variant *vs[] = {&blurred, &dark, &bright, &small, &turn};
    for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
        variant *v = vs[k];
        printf("%-34s n=%2d retake=%2d as %-10s=%2d no_face=%d with similarity=%d\n", v->name, v->n,
               v->retake, v->expect, v->expected, v->noface, v->with_similarity);
        char what[80];
        snprintf(what, sizeof what, "  its measure");
        print_dist(what, v->measure, v->nm);
    }
    assert_int_equal(base_retake, 0); /* genuine photos pass */
    for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
        variant *v = vs[k];
        assert_int_equal(v->with_similarity, 0); /* never low_similarity, never a score */
        /* at least 85 % of the copies the detector still sees are asked to retake for
         * their own reason, and 85 % of all are stopped (retake or no face) */
        if (v->expected * 100 < 85 * (v->n - v->noface) ||
            (v->expected + v->noface) * 100 < 85 * v->n)
            fail_msg("%s: %d of %d copies retake as %s, %d show no face", v->name, v->expected,
                     v->n, v->expect, v->noface);
    }
}

#define NT 5
static const double TURNS[NT] = {10, 12, 15, 18, 22};

/* Passes of a sequence at each candidate minimum turn. */
static void tally(int pass[NT], const proctor_result f[3])
{
    for (int k = 0; k < NT; k++)
        pass[k] += !proctor_liveness_verdict(f, TURNS[k])[0];
}

static void print_tally(const char *what, const int pass[NT], int n)
{
    printf("%-40s passes of %d at min turn", what, n);
    for (int k = 0; k < NT; k++)
        printf("  %.0f:%2d", TURNS[k], pass[k]);
    printf("\n");
}

static void test_liveness_on_real_photos(void **state)
{
    (void)state;
    int still[NT] = {0}, moved[NT] = {0}, tilt[NT] = {0}, turn[NT] = {0}, n = 0;
    int at = -1; /* PROCTOR_LIVENESS_MIN_TURN among TURNS */
    for (int k = 0; k < NT; k++)
        if (TURNS[k] == PROCTOR_LIVENESS_MIN_TURN) at = k;
    assert_true(at >= 0);
    double turn_change[2 * MAX_PHOTOS];
    int nturn = 0;
    for (int i = 0; i < npaths; i++) {
        img m = load_640(paths[i]);
        proctor_result f[3];
        f[0] = f[1] = f[2] = score(&m, NULL);
        /* a still photo (or a screen held still): the same frame three times */
        tally(still, f);
        /* ... moved a little between the frames (2 % and 4 % smaller, re-centred) */
        img m1 = far_away(&m, 0.98), m2 = far_away(&m, 0.96);
        proctor_result fm[3] = {f[0], score(&m1, NULL), score(&m2, NULL)};
        tally(moved, fm);
        /* the photo held in the hand and tilted 35 degrees each way, in the order that
         * suits the attacker best */
        img tl = tilted(&m, 35), tr = tilted(&m, -35);
        proctor_result a = score(&tl, NULL), b = score(&tr, NULL);
        proctor_result ft[3] = {f[0], a, b}, fr[3] = {f[0], b, a};
        int one[NT] = {0}, other[NT] = {0};
        tally(one, ft);
        tally(other, fr);
        for (int k = 0; k < NT; k++)
            tilt[k] += one[k] || other[k];
        /* the head turned 35 degrees left, then right (rendered from the photo) */
        img ml = turned3d(&m, f[0].landmarks, 35), mr = turned3d(&m, f[0].landmarks, -35);
        proctor_result fl[3] = {f[0], score(&ml, NULL), score(&mr, NULL)};
        tally(turn, fl);
        if (fl[1].has_quality) turn_change[nturn++] = fl[1].yaw - f[0].yaw;
        if (fl[2].has_quality) turn_change[nturn++] = f[0].yaw - fl[2].yaw;
        img *all[] = {&m, &m1, &m2, &tl, &tr, &ml, &mr};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            free(all[k]->p);
        n++;
    }
    print_tally("still photo, 3 identical frames", still, n);
    print_tally("still photo moved 2 % / 4 %", moved, n);
    print_tally("photo tilted 35 deg both ways", tilt, n);
    print_tally("head turned 35 deg (rendered)", turn, n);
    print_dist("turned 35 deg: yaw change asked way", turn_change, nturn);
    printf("min turn in use: %.0f deg\n", PROCTOR_LIVENESS_MIN_TURN);
    assert_int_equal(still[at], 0);
    assert_int_equal(moved[at], 0);
    assert_int_equal(tilt[at], 0);
    assert_true(turn[at] * 10 >= n * 9);
}

/* The verdict itself, on made-up results: the order of the checks. */
static void test_liveness_verdict_rules(void **state)
{
    (void)state;
    proctor_result f[3];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 3; i++) {
        f[i].faces = 1;
        f[i].has_quality = 1;
    }
    f[0].yaw = 2, f[1].yaw = 20, f[2].yaw = -15;
    assert_string_equal(proctor_liveness_verdict(f, 12), "");
    f[1].yaw = 13; /* 11 degrees: not enough */
    assert_string_equal(proctor_liveness_verdict(f, 12), "not_left");
    f[1].yaw = 20, f[2].yaw = -9;
    assert_string_equal(proctor_liveness_verdict(f, 12), "not_right");
    f[2].faces = 2;
    assert_string_equal(proctor_liveness_verdict(f, 12), "multiple_faces");
    f[2].faces = 0, f[2].has_quality = 0;
    assert_string_equal(proctor_liveness_verdict(f, 12), "no_face");
    /* the yaw of mirrored landmarks is the opposite */
    float lm[10] = {100, 100, 160, 100, 140, 130, 110, 160, 150, 160};
    float mir[10];
    for (int i = 0; i < 5; i++) { /* mirror x, and swap the left/right points */
        int j = i == 0 ? 1 : i == 1 ? 0 : i == 3 ? 4 : i == 4 ? 3 : 2;
        mir[2 * j] = 300 - lm[2 * i];
        mir[2 * j + 1] = lm[2 * i + 1];
    }
    double y = proctor_yaw_from_landmarks(lm);
    assert_true(y > 10);
    assert_true(fabs(proctor_yaw_from_landmarks(mir) + y) < 1e-9);
    float flat[10] = {0};
    assert_true(isnan(proctor_yaw_from_landmarks(flat)));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    dk_log_set_level(DK_LOG_WARN);
    faces_dir = getenv("PROCTOR_FACES_DIR");
    struct stat st;
    if (!faces_dir || stat(faces_dir, &st) != 0) {
        printf("SKIP: no shared photos at %s\n",
               faces_dir ? faces_dir : "(PROCTOR_FACES_DIR unset)");
        return 77;
    }
    DIR *d = opendir(faces_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || de->d_name[0] == '_') continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", faces_dir, de->d_name);
        DIR *s = opendir(sub);
        struct dirent *fe;
        while (s && (fe = readdir(s)))
            if (strstr(fe->d_name, ".jpg") && npaths < MAX_PHOTOS) {
                char full[2048];
                snprintf(full, sizeof full, "%s/%s", sub, fe->d_name);
                paths[npaths++] = dk_strdup(full);
            }
        if (s) closedir(s);
    }
    if (d) closedir(d);
    qsort(paths, (size_t)npaths, sizeof *paths, cmp_str);
    if (npaths == 0) {
        printf("SKIP: no identity photos in %s\n", faces_dir);
        return 77;
    }
    proctor_options_default(&opts);
    const char *md = getenv("DK_PROCTOR_MODEL_DIR");
    if (md && md[0]) opts.model_dir = md;
    dk_error err = {0};
    if (proctor_engine_new(&engine, &opts, &err) || proctor_engine_degraded(engine)) {
        printf("face models not available: %s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveness_verdict_rules),
        cmocka_unit_test(test_gate_on_real_photos),
        cmocka_unit_test(test_liveness_on_real_photos),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    proctor_engine_free(engine);
    for (int i = 0; i < npaths; i++)
        free(paths[i]);
    return rc;
}
