/* test_proctor_jpeg.c - bad images are clear errors, never a crash or a leak.
 *
 * The corpus is generated here from one small JPEG made with TurboJPEG: empty, not a
 * JPEG, truncated at several points, corrupt Huffman table and entropy data, 1x1, a
 * 30000x30000 header, a PNG, comment markers (a lying length, a file over the byte
 * limit, and one legitimate 64 KB comment that must still decode). Each goes through
 * the header check, the decoder and proctor_score (a degraded engine: no model needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include <cmocka.h>

#include "proctor_internal.h"

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
    };
    return cmocka_run_group_tests_name("proctor_jpeg", tests, setup, teardown);
}
