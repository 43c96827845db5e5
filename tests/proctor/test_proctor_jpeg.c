/* test_proctor_jpeg.c - bad images are clear errors, never a crash or a leak.
 *
 * The corpus is generated here from one small JPEG made with TurboJPEG: empty, not a
 * JPEG, truncated at several points, corrupt Huffman table and entropy data, 1x1, a
 * 30000x30000 header, a PNG, comment markers (a lying length, a file over the byte
 * limit, and one legitimate 64 KB comment that must still decode). Each goes through
 * the header check, the decoder and proctor_score (a degraded engine: no model needed).
 * CMYK and YCCK JPEGs (written here with libjpeg, Adobe-inverted as Photoshop stores them,
 * and plain CMYK without the Adobe marker) decode to the source's colours, a lossless JPEG
 * is refused as unsupported (not as corrupt), and a face converted to CMYK embeds as the
 * same person (the shipped models; tests/proctor/data's face, a ../shared one too when
 * there). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "proctor_internal.h"
#include "test_slurp.h"

static proctor_options opts;
static proctor_engine *engine;

typedef struct buf {
    unsigned char *p;
    size_t n;
} buf;

static buf make_jpeg(int w, int h, int quality)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *q = px + ((size_t)y * w + x) * 3;
            q[0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            q[1] = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
            q[2] = (unsigned char)((x ^ y) & 0xff);
        }
    tjhandle t = tjInitCompress();
    unsigned char *out = NULL;
    unsigned long n = 0;
    assert_int_equal(tjCompress2(t, px, w, w * 3, h, TJPF_BGR, &out, &n, TJSAMP_420, quality, 0),
                     0);
    tjDestroy(t);
    free(px);
    buf b = {malloc(n), n};
    memcpy(b.p, out, n);
    tjFree(out);
    return b;
}

static buf copy(const unsigned char *p, size_t n)
{
    buf b = {malloc(n ? n : 1), n};
    if (n) memcpy(b.p, p, n);
    return b;
}

/* Offset of the first marker m (0xFF m) after SOI, walking segments. */
static size_t find_marker(const buf *b, unsigned char m)
{
    size_t i = 2;
    while (i + 4 <= b->n && b->p[i] == 0xFF) {
        if (b->p[i + 1] == m) return i;
        if (b->p[i + 1] == 0xDA) break;
        i += 2 + ((size_t)b->p[i + 2] << 8 | b->p[i + 3]);
    }
    fail_msg("marker %02x not found", m);
    return 0;
}

/* Every way in: header check, decoder, scoring. All must agree on the error. */
static void expect_bad(const buf *b, int code, const char *needle)
{
    dk_error err = {0};
    proctor_image img;
    int rc = proctor_jpeg_decode(b->p, b->n, &opts, &img, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("decode: rc=%d (want %d) msg='%s' (want '%s')", rc, code, err.msg, needle);
    assert_null(img.bgr);
    proctor_result r;
    dk_error_clear(&err);
    rc = proctor_score(engine, b->p, b->n, NULL, &r, &err);
    assert_int_equal(rc, code);
    assert_int_equal(r.flag, PROCTOR_FLAG_BAD_IMAGE);
    assert_non_null(strstr(r.reason, needle));
    char *js = proctor_result_json(&r, "x.jpg");
    assert_non_null(strstr(js, "\"flag\":\"bad_image\""));
    free(js);
}

static void test_empty(void **state)
{
    (void)state;
    buf b = {NULL, 0};
    expect_bad(&b, DK_EUNPROCESSABLE, "empty");
    dk_error err = {0};
    assert_int_equal(proctor_jpeg_check((const unsigned char *)"", 0, &opts, NULL, NULL, &err),
                     DK_EUNPROCESSABLE);
}

static void test_not_jpeg(void **state)
{
    (void)state;
    const char *text = "GET / HTTP/1.1\r\nHost: x\r\n\r\nthis is not an image at all";
    buf b = copy((const unsigned char *)text, strlen(text));
    expect_bad(&b, DK_EUNPROCESSABLE, "not a JPEG");
    free(b.p);
    /* SOI followed by garbage: passes the first bytes, fails the header parse */
    unsigned char soi[64] = {0xFF, 0xD8, 0xFF, 0x00};
    for (size_t i = 4; i < sizeof soi; i++)
        soi[i] = (unsigned char)(i * 37);
    b = copy(soi, sizeof soi);
    expect_bad(&b, DK_EUNPROCESSABLE, "JPEG");
    free(b.p);
}

static void test_png(void **state)
{
    (void)state;
    static const unsigned char png[] = {
        0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0,    0,    13,   'I',  'H',
        'D',  'R',  0,    0,    0,    1,    0,    0,    0,    1,    8,    2,    0,    0,
        0,    0x90, 0x77, 0x53, 0xde, 0,    0,    0,    12,   'I',  'D',  'A',  'T',  0x08,
        0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0,    0,    0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d,
        0xb0, 0,    0,    0,    0,    'I',  'E',  'N',  'D',  0xae, 0x42, 0x60, 0x82};
    buf b = copy(png, sizeof png);
    expect_bad(&b, DK_EUNPROCESSABLE, "a PNG");
    free(b.p);
}

static void test_truncated(void **state)
{
    (void)state;
    buf good = make_jpeg(160, 120, 85);
    size_t sos = find_marker(&good, 0xDA);
    size_t cuts[] = {1, 2, 3, 10, 40, sos, sos + 20, good.n / 2, good.n - 40, good.n - 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        buf b = copy(good.p, cuts[i]);
        dk_error err = {0};
        proctor_image img;
        int rc = proctor_jpeg_decode(b.p, b.n, &opts, &img, &err);
        if (rc != DK_EUNPROCESSABLE) fail_msg("cut at %zu of %zu: rc=%d", cuts[i], good.n, rc);
        assert_true(strlen(err.msg) > 5);
        proctor_result r;
        assert_int_equal(proctor_score(engine, b.p, b.n, NULL, &r, &err), DK_EUNPROCESSABLE);
        assert_int_equal(r.flag, PROCTOR_FLAG_BAD_IMAGE);
        free(b.p);
    }
    free(good.p);
}

static void test_corrupt_huffman(void **state)
{
    (void)state;
    buf good = make_jpeg(160, 120, 85);
    /* a DHT whose code counts claim more codes than the table holds */
    buf b = copy(good.p, good.n);
    size_t dht = find_marker(&b, 0xC4);
    for (int i = 0; i < 16; i++)
        b.p[dht + 5 + i] = 0xFF;
    expect_bad(&b, DK_EUNPROCESSABLE, "");
    free(b.p);
    /* entropy-coded data overwritten with marker bytes */
    b = copy(good.p, good.n);
    size_t sos = find_marker(&b, 0xDA);
    size_t start = sos + 2 + ((size_t)b.p[sos + 2] << 8 | b.p[sos + 3]) + 16;
    for (size_t i = start; i < start + 64 && i < b.n - 2; i++)
        b.p[i] = 0xFF;
    expect_bad(&b, DK_EUNPROCESSABLE, "corrupt or truncated");
    free(b.p);
    /* scan data with random noise in the middle: libjpeg-turbo must say so or decode
     * it; it must never crash or leak, and the result is either a picture or an error */
    b = copy(good.p, good.n);
    srand(7);
    for (size_t i = start + 100; i < start + 400 && i < b.n - 2; i++)
        b.p[i] = (unsigned char)(rand() & 0xFE);
    proctor_result r;
    dk_error err = {0};
    int rc = proctor_score(engine, b.p, b.n, NULL, &r, &err);
    assert_true(rc == 0 || rc == DK_EUNPROCESSABLE);
    free(b.p);
    free(good.p);
}

static void test_tiny(void **state)
{
    (void)state;
    buf b = make_jpeg(1, 1, 90);
    expect_bad(&b, DK_EUNPROCESSABLE, "too small");
    free(b.p);
}

static void test_huge_header(void **state)
{
    (void)state;
    buf b = make_jpeg(64, 48, 80);
    size_t sof = find_marker(&b, 0xC0);
    /* SOF0: FF C0 len(2) precision(1) height(2) width(2) */
    b.p[sof + 5] = 30000 >> 8;
    b.p[sof + 6] = 30000 & 0xFF;
    b.p[sof + 7] = 30000 >> 8;
    b.p[sof + 8] = 30000 & 0xFF;
    expect_bad(&b, DK_ETOOBIG, "30000x30000");
    int w = 0, h = 0;
    dk_error err = {0};
    assert_int_equal(proctor_jpeg_check(b.p, b.n, &opts, &w, &h, &err), DK_ETOOBIG);
    /* width alone over the limit, pixels under */
    b.p[sof + 5] = 0;
    b.p[sof + 6] = 16;
    b.p[sof + 7] = 5000 >> 8;
    b.p[sof + 8] = 5000 & 0xFF;
    expect_bad(&b, DK_ETOOBIG, "5000x16");
    free(b.p);
}

static void test_over_byte_limit(void **state)
{
    (void)state;
    buf good = make_jpeg(64, 48, 80);
    buf b = {calloc(1, opts.max_bytes + 1), opts.max_bytes + 1};
    memcpy(b.p, good.p, good.n);
    expect_bad(&b, DK_ETOOBIG, "over the limit");
    free(b.p);
    free(good.p);
}

/* JPEG with COM segments inserted after SOI. */
static buf with_comments(const buf *good, int count, size_t each, int lie)
{
    size_t n = good->n + (size_t)count * (each + 4);
    buf b = {malloc(n), 0};
    memcpy(b.p, good->p, 2);
    b.n = 2;
    for (int i = 0; i < count; i++) {
        size_t seglen = each + 2;
        b.p[b.n++] = 0xFF;
        b.p[b.n++] = 0xFE;
        b.p[b.n++] = lie ? 0xFF : (unsigned char)(seglen >> 8);
        b.p[b.n++] = lie ? 0xFF : (unsigned char)(seglen & 0xFF);
        memset(b.p + b.n, 'c', each);
        b.n += each;
    }
    memcpy(b.p + b.n, good->p + 2, good->n - 2);
    b.n += good->n - 2;
    return b;
}

static void test_comments(void **state)
{
    (void)state;
    buf good = make_jpeg(64, 48, 80);
    /* one legitimate 64 KB comment: a valid JPEG, decodes */
    buf b = with_comments(&good, 1, 65533, 0);
    proctor_image img;
    dk_error err = {0};
    assert_int_equal(proctor_jpeg_decode(b.p, b.n, &opts, &img, &err), 0);
    assert_int_equal(img.w, 64);
    proctor_image_free(&img);
    free(b.p);
    /* a comment whose length runs past the end of the file */
    b = with_comments(&good, 1, 100, 1);
    b.n = 2 + 4 + 100;
    expect_bad(&b, DK_EUNPROCESSABLE, "");
    free(b.p);
    /* comments adding up to more than the byte limit */
    b = with_comments(&good, 40, 65533, 0);
    expect_bad(&b, DK_ETOOBIG, "over the limit");
    free(b.p);
    free(good.p);
}

static void test_large_photo_scaled(void **state)
{
    (void)state;
    buf b = make_jpeg(2600, 1800, 50);
    proctor_image img;
    dk_error err = {0};
    assert_int_equal(proctor_jpeg_decode(b.p, b.n, &opts, &img, &err), 0);
    assert_int_equal(img.orig_w, 2600);
    assert_true(img.w <= PROCTOR_DECODE_LONG_SIDE && img.w >= 640);
    assert_true(img.h < 1800);
    proctor_image_free(&img);
    proctor_result r;
    assert_int_equal(proctor_score(engine, b.p, b.n, NULL, &r, &err), 0);
    assert_int_equal(r.width, 2600);
    assert_int_equal(r.flag, PROCTOR_FLAG_NONE); /* degraded: never flags */
    assert_int_equal(r.degraded, 1);
    free(b.p);
}

static void test_good_jpeg(void **state)
{
    (void)state;
    buf b = make_jpeg(640, 480, 80);
    int w, h;
    dk_error err = {0};
    assert_int_equal(proctor_jpeg_check(b.p, b.n, &opts, &w, &h, &err), 0);
    assert_int_equal(w, 640);
    assert_int_equal(h, 480);
    proctor_result r;
    assert_int_equal(proctor_score(engine, b.p, b.n, NULL, &r, &err), 0);
    assert_int_equal(r.faces, 0);
    assert_int_equal(r.has_cosine, 0);
    char *js = proctor_result_json(&r, NULL);
    assert_non_null(strstr(js, "\"degraded\":true"));
    assert_non_null(strstr(js, "\"flag\":null"));
    free(js);
    free(b.p);
}

/* ---- CMYK ---------------------------------------------------------------------------- */

/* RGB to CMYK as libjpeg-turbo's cmyk.h and Photoshop store it: Adobe-inverted, 255 = no
 * ink. plain = 1 stores 0 = no ink instead. */
static void rgb_to_cmyk(const unsigned char *rgb, unsigned char *cmyk, size_t n, int plain)
{
    for (size_t i = 0; i < n; i++, rgb += 3, cmyk += 4) {
        double c = 1.0 - rgb[0] / 255.0, m = 1.0 - rgb[1] / 255.0, y = 1.0 - rgb[2] / 255.0;
        double k = fmin(c, fmin(m, y));
        if (k >= 1.0) {
            c = m = y = 0;
        } else {
            c = (c - k) / (1.0 - k);
            m = (m - k) / (1.0 - k);
            y = (y - k) / (1.0 - k);
        }
        double v[4] = {c, m, y, k};
        for (int j = 0; j < 4; j++)
            cmyk[j] = (unsigned char)(plain ? v[j] * 255.0 + 0.5 : 255.0 - v[j] * 255.0 + 0.5);
    }
}

/* A 4-component JPEG through libjpeg's API (TurboJPEG writes only YCCK): stored as
 * JCS_CMYK or JCS_YCCK, with or without the Adobe marker, 4:4:4. */
static buf libjpeg_4(const unsigned char *cmyk, int w, int h, J_COLOR_SPACE stored, int adobe,
                     int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, stored);
    c.write_Adobe_marker = adobe ? TRUE : FALSE;
    for (int i = 0; i < c.num_components; i++) /* YCCK defaults to 4:2:0 */
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(cmyk + (size_t)c.next_scanline * (size_t)w * 4);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    buf b = copy(out, n);
    free(out);
    return b;
}

/* A colour picture with saturated patches (so that a wrong CMYK convention shows), RGB. */
static unsigned char *colour_picture(int w, int h)
{
    static const unsigned char patch[6][3] = {{230, 20, 20},  {20, 200, 40},   {30, 40, 220},
                                              {240, 220, 30}, {200, 180, 160}, {40, 40, 40}};
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *q = rgb + ((size_t)y * w + x) * 3;
            if (y < h / 2) { /* smooth gradients */
                q[0] = (unsigned char)(x * 255 / (w - 1));
                q[1] = (unsigned char)(y * 255 / (h / 2 - 1));
                q[2] = (unsigned char)(255 - x * 255 / (w - 1));
            } else {
                memcpy(q, patch[(x * 6) / w], 3);
            }
        }
    return rgb;
}

/* Mean and max absolute difference between a decoded BGR image and an RGB source. */
static void compare_bgr_rgb(const proctor_image *img, const unsigned char *rgb, double *mean,
                            int *max)
{
    double sum = 0;
    *max = 0;
    size_t n = (size_t)img->w * img->h;
    for (size_t i = 0; i < n; i++)
        for (int ch = 0; ch < 3; ch++) {
            int d = abs((int)img->bgr[i * 3 + 2 - ch] - (int)rgb[i * 3 + ch]);
            sum += d;
            if (d > *max) *max = d;
        }
    *mean = sum / (double)(n * 3);
}

static void test_cmyk_colours(void **state)
{
    (void)state;
    const int w = 96, h = 64;
    unsigned char *rgb = colour_picture(w, h);
    unsigned char *adobe = malloc((size_t)w * h * 4), *plain = malloc((size_t)w * h * 4);
    rgb_to_cmyk(rgb, adobe, (size_t)w * h, 0);
    rgb_to_cmyk(rgb, plain, (size_t)w * h, 1);
    struct {
        const char *what;
        buf b;
    } cases[] = {
        {"CMYK, Adobe marker (Photoshop)", libjpeg_4(adobe, w, h, JCS_CMYK, 1, 95)},
        {"YCCK, Adobe marker", libjpeg_4(adobe, w, h, JCS_YCCK, 1, 95)},
        {"CMYK, no Adobe marker, plain values", libjpeg_4(plain, w, h, JCS_CMYK, 0, 95)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proctor_image img;
        dk_error err = {0};
        int rc = proctor_jpeg_decode(cases[i].b.p, cases[i].b.n, &opts, &img, &err);
        if (rc) fail_msg("%s: rc=%d %s", cases[i].what, rc, err.msg);
        assert_int_equal(img.w, w);
        assert_int_equal(img.h, h);
        double mean;
        int max;
        compare_bgr_rgb(&img, rgb, &mean, &max);
        print_message("%s: %zu bytes, mean |diff| %.2f, max %d\n", cases[i].what, cases[i].b.n,
                      mean, max);
        if (mean > 1.0 || max > 12)
            fail_msg("%s: colours off: mean |diff| %.2f, max %d", cases[i].what, mean, max);
        proctor_image_free(&img);
        /* and scoring takes it: no bad_image */
        proctor_result r;
        assert_int_equal(proctor_score(engine, cases[i].b.p, cases[i].b.n, NULL, &r, &err), 0);
        assert_int_not_equal(r.flag, PROCTOR_FLAG_BAD_IMAGE);
        /* truncated, it is refused as damaged */
        buf t = copy(cases[i].b.p, cases[i].b.n * 2 / 3);
        expect_bad(&t, DK_EUNPROCESSABLE, "corrupt or truncated");
        free(t.p);
        free(cases[i].b.p);
    }
    free(rgb);
    free(adobe);
    free(plain);
}

/* A valid JPEG that libjpeg-turbo cannot decode says so, not "corrupt". */
static void test_unsupported_named(void **state)
{
    (void)state;
    buf b = make_jpeg(64, 48, 80);
    size_t sof = find_marker(&b, 0xC0);
    b.p[sof + 1] = 0xC3; /* lossless (SOF3): not decodable by libjpeg-turbo 2.1 */
    expect_bad(&b, DK_EUNPROCESSABLE, "unsupported kind of JPEG");
    dk_error err = {0};
    proctor_image img;
    proctor_jpeg_decode(b.p, b.n, &opts, &img, &err);
    assert_null(strstr(err.msg, "corrupt"));
    free(b.p);
}

/* The face of a JPEG, re-encoded as CMYK and as YCCK, embeds as the same person. */
static void check_face_cmyk(proctor_engine *e, const char *path)
{
    size_t len = 0;
    unsigned char *jpeg = slurp(path, &len);
    if (!jpeg) fail_msg("cannot read %s", path);
    tjhandle t = tjInitDecompress();
    int w, h, ss, cs;
    assert_int_equal(tjDecompressHeader3(t, jpeg, (unsigned long)len, &w, &h, &ss, &cs), 0);
    unsigned char *rgb = malloc((size_t)w * h * 3), *cmyk = malloc((size_t)w * h * 4);
    assert_int_equal(tjDecompress2(t, jpeg, (unsigned long)len, rgb, w, w * 3, h, TJPF_RGB, 0), 0);
    tjDestroy(t);
    rgb_to_cmyk(rgb, cmyk, (size_t)w * h, 0);
    proctor_embedding ref, got;
    dk_error err = {0};
    if (proctor_embed(e, jpeg, len, &ref, NULL, &err)) fail_msg("%s: %s", path, err.msg);
    J_COLOR_SPACE spaces[2] = {JCS_CMYK, JCS_YCCK};
    for (int i = 0; i < 2; i++) {
        buf b = libjpeg_4(cmyk, w, h, spaces[i], 1, 90);
        if (proctor_embed(e, b.p, b.n, &got, NULL, &err))
            fail_msg("%s as %s: %s", path, i ? "YCCK" : "CMYK", err.msg);
        double c = proctor_cosine(&ref, &got);
        print_message("%s as %s: cosine to the original %.4f\n", path, i ? "YCCK" : "CMYK", c);
        if (c < 0.95)
            fail_msg("%s as %s: cosine %.4f to the original", path, i ? "YCCK" : "CMYK", c);
        free(b.p);
    }
    free(rgb);
    free(cmyk);
    free(jpeg);
}

static void test_cmyk_face_same_person(void **state)
{
    (void)state;
    const char *data = getenv("PROCTOR_DATA_DIR"), *faces = getenv("PROCTOR_FACES_DIR");
    if (!data) fail_msg("PROCTOR_DATA_DIR is unset (CTest sets it)");
    proctor_options o;
    proctor_options_default(&o); /* the shipped models */
    proctor_engine *e = NULL;
    dk_error err = {0};
    if (proctor_engine_new(&e, &o, &err)) fail_msg("engine: %s", err.msg);
    assert_int_equal(proctor_engine_degraded(e), 0);
    char p[4096];
    snprintf(p, sizeof p, "%s/astronaut.jpg", data);
    check_face_cmyk(e, p);
    snprintf(p, sizeof p, "%s/deepface_img01/1.jpg", faces ? faces : "");
    FILE *f = faces ? fopen(p, "rb") : NULL;
    if (f) {
        fclose(f);
        check_face_cmyk(e, p);
    } else {
        print_message("note: %s absent: the CMYK face check ran on the shipped face only\n", p);
    }
    proctor_engine_free(e);
}

static int setup(void **state)
{
    (void)state;
    proctor_options_default(&opts);
    opts.model_dir = ""; /* degraded: cascades, so this test needs no model files */
    dk_error err = {0};
    if (proctor_engine_new(&engine, &opts, &err)) {
        print_error("engine: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proctor_engine_free(engine);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_not_jpeg),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt_huffman),
        cmocka_unit_test(test_tiny),
        cmocka_unit_test(test_huge_header),
        cmocka_unit_test(test_over_byte_limit),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_large_photo_scaled),
        cmocka_unit_test(test_good_jpeg),
        cmocka_unit_test(test_cmyk_colours),
        cmocka_unit_test(test_unsupported_named),
        cmocka_unit_test(test_cmyk_face_same_person),
    };
    return cmocka_run_group_tests_name("proctor_jpeg", tests, setup, teardown);
}
