/* test_proctor_calib.c - the similarity % invigilators see: monotone, on its stated
 * knots, and its inverse agrees; result JSON and embedding text round-trip. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proctor.h"

static void test_monotone(void **state)
{
    (void)state;
    proctor_kind kinds[] = {PROCTOR_KIND_MOBILEFACENET, PROCTOR_KIND_SFACE};
    for (size_t k = 0; k < 2; k++) {
        double prev = -1;
        for (int i = -1100; i <= 1100; i++) {
            double s = proctor_similarity(kinds[k], i / 1000.0);
            assert_true(s >= prev);
            assert_true(s >= 0 && s <= 100);
            if (i > -1000 && i < 1000) assert_true(s > prev); /* strictly inside [-1,1] */
            prev = s;
        }
        assert_true(proctor_similarity(kinds[k], NAN) == 0);
    }
}

static void test_stated_points(void **state)
{
    (void)state;
    const double pts[][2] = {{-1, 0}, {0.036, 10}, {0.40, 40}, {0.713, 85}, {1, 100}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        assert_true(proctor_similarity(PROCTOR_KIND_MOBILEFACENET, pts[i][0]) == pts[i][1]);
        assert_true(fabs(proctor_cosine_at(PROCTOR_KIND_MOBILEFACENET, pts[i][1]) - pts[i][0]) <
                    1e-12);
    }
    /* the threshold decides exactly at the operating cosine */
    assert_true(proctor_similarity(PROCTOR_KIND_MOBILEFACENET, 0.40) >= 40.0);
    assert_true(proctor_similarity(PROCTOR_KIND_MOBILEFACENET, nextafter(0.40, 0)) < 40.0);
    /* the data's hardest pairs land on the right side of 40% */
    assert_true(proctor_similarity(PROCTOR_KIND_MOBILEFACENET, 0.4025) >= 40.0); /* genuine */
    assert_true(proctor_similarity(PROCTOR_KIND_MOBILEFACENET, 0.3981) < 40.0);  /* impostor */
    assert_true(proctor_similarity(PROCTOR_KIND_SFACE, 0.363) == 40.0);
    for (int p = 0; p <= 100; p++) {
        double c = proctor_cosine_at(PROCTOR_KIND_MOBILEFACENET, p);
        assert_true(fabs(proctor_similarity(PROCTOR_KIND_MOBILEFACENET, c) - p) < 1e-9);
    }
}

static void test_json_and_text(void **state)
{
    (void)state;
    proctor_result r = {0};
    r.faces = 1;
    r.width = 640;
    r.height = 480;
    r.det_score = 0.98f;
    r.has_cosine = 1;
    r.cosine = 0.30;
    r.similarity = proctor_similarity(PROCTOR_KIND_MOBILEFACENET, 0.30);
    r.flag = PROCTOR_FLAG_LOW_SIMILARITY;
    char *js = proctor_result_json(&r, "a\"b.jpg");
    assert_non_null(strstr(js, "\"file\":\"a\\\"b.jpg\""));
    assert_non_null(strstr(js, "\"flag\":\"low_similarity\""));
    assert_non_null(strstr(js, "\"cosine\":0.3,"));
    free(js);
    assert_null(proctor_flag_name(PROCTOR_FLAG_NONE));
    assert_string_equal(proctor_flag_name(PROCTOR_FLAG_MULTIPLE_FACES), "multiple_faces");

    proctor_embedding e = {.model = "m.onnx", .dim = 128}, back;
    for (int i = 0; i < 128; i++)
        e.v[i] = (float)((i % 7) - 3) / 10.0f;
    unsigned char packed[PROCTOR_EMB_MAX * 4];
    size_t n = proctor_embedding_pack(&e, packed, sizeof packed);
    assert_int_equal(n, 512);
    assert_int_equal(proctor_embedding_pack(&e, packed, 100), 0);
    dk_error err = {0};
    assert_int_equal(proctor_embedding_unpack(packed, n, "m.onnx", &back, &err), 0);
    assert_int_equal(back.dim, 128);
    assert_string_equal(back.model, "m.onnx");
    assert_true(fabs(proctor_cosine(&back, &back) - 1.0) < 1e-6);
    assert_int_equal(proctor_embedding_unpack(packed, 7, "m", &back, &err), DK_EINVAL);
    memset(packed, 0, 8);
    assert_int_equal(proctor_embedding_unpack(packed, 8, "m", &back, &err), DK_EINVAL);
    assert_int_equal(proctor_embedding_unpack(NULL, 0, "m", &back, &err), DK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotone),
        cmocka_unit_test(test_stated_points),
        cmocka_unit_test(test_json_and_text),
    };
    return cmocka_run_group_tests_name("proctor_calib", tests, NULL, NULL);
}
