/* test_proctor_models.c - the models shipped in proctor/models: SHA256SUMS agrees with the
 * engine's table and with the files; the default options and an empty proctor_model_dir
 * load them (not degraded) and score the face of tests/proctor/data; "none" is degraded on
 * purpose; a damaged or swapped model file is refused before loading, with a message that
 * names the file and the hash; a folder without the files is degraded (loud), not an error.
 * Needs no ../shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proctor_internal.h"
#include "test_slurp.h"

static const char *data_dir; /* tests/proctor/data */

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = slurp_or_fail(from, &n);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

static void path_in(char *out, size_t cap, const char *dir, const char *file)
{
    snprintf(out, cap, "%s/%s", dir, file);
}

static void test_sums_agree(void **state)
{
    (void)state;
    size_t n;
    const proctor_model_info *known = proctor_known_models(&n);
    char p[4096];
    path_in(p, sizeof p, proctor_shipped_model_dir(), "SHA256SUMS");
    FILE *f = fopen(p, "r");
    if (!f) fail_msg("cannot open %s", p);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        char hex[65], file[256];
        if (sscanf(line, "%64s %255s", hex, file) != 2)
            fail_msg("bad line in SHA256SUMS: %s", line);
        lines++;
        const proctor_model_info *row = NULL;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(known[i].file, file)) row = &known[i];
        if (!row) fail_msg("%s is in SHA256SUMS but not in proctor_models.c", file);
        assert_string_equal(row->sha256, hex);
        assert_true(row->shipped);
        /* and the file really has that hash */
        char got[65];
        dk_error err = {0};
        path_in(p, sizeof p, proctor_shipped_model_dir(), file);
        assert_int_equal(proctor_sha256_file(p, got, &err), 0);
        assert_string_equal(got, hex);
    }
    fclose(f);
    int shipped = 0;
    for (size_t i = 0; i < n; i++)
        shipped += known[i].shipped;
    assert_int_equal(lines, shipped);
    assert_int_equal(lines, 2);
}

/* An engine from the configuration, as the servers make it, with proctor_model_dir = dir. */
static int engine_from_config(const char *dir, proctor_engine **e, proctor_options *o,
                              dk_config **cfg, dk_error *err)
{
    setenv("DK_PROCTOR_MODEL_DIR", dir, 1);
    int rc = dk_config_load(cfg, NULL, err);
    if (!rc) rc = proctor_options_from_config(o, *cfg, err);
    if (!rc) rc = proctor_engine_new(e, o, err);
    return rc;
}

static void test_default_is_shipped_and_scores(void **state)
{
    (void)state;
    proctor_options o;
    proctor_options_default(&o);
    assert_string_equal(o.model_dir, proctor_shipped_model_dir());

    dk_config *cfg = NULL;
    proctor_engine *e = NULL;
    dk_error err = {0};
    if (engine_from_config("", &e, &o, &cfg, &err)) fail_msg("engine: %s", err.msg);
    assert_string_equal(o.model_dir, proctor_shipped_model_dir());
    assert_int_equal(proctor_engine_degraded(e), 0);
    assert_string_equal(proctor_engine_model(e), "MobileFaceNet.onnx");

    char p[4096];
    path_in(p, sizeof p, data_dir, "astronaut.jpg");
    size_t len;
    unsigned char *jpeg = slurp_or_fail(p, &len);
    proctor_embedding ref;
    proctor_result r;
    assert_int_equal(proctor_embed(e, jpeg, len, &ref, &r, &err), 0);
    assert_int_equal(ref.dim, 128);
    assert_int_equal(proctor_score(e, jpeg, len, &ref, &r, &err), 0);
    assert_int_equal(r.faces, 1);
    assert_int_equal(r.degraded, 0);
    assert_int_equal(r.has_cosine, 1);
    assert_true(r.cosine > 0.999);
    assert_int_equal(r.flag, PROCTOR_FLAG_NONE);
    free(jpeg);
    proctor_engine_free(e);
    dk_config_free(cfg);

    /* "none": degraded on purpose */
    cfg = NULL;
    e = NULL;
    if (engine_from_config("none", &e, &o, &cfg, &err)) fail_msg("engine: %s", err.msg);
    assert_string_equal(o.model_dir, "");
    assert_int_equal(proctor_engine_degraded(e), 1);
    proctor_engine_free(e);
    dk_config_free(cfg);
    unsetenv("DK_PROCTOR_MODEL_DIR");
}

/* A folder of copies of the shipped models, for damaging. */
static void copies(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/proctor-models-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char from[4096], to[4096];
    const char *files[] = {"yunet_120x160.onnx", "MobileFaceNet.onnx"};
    for (int i = 0; i < 2; i++) {
        path_in(from, sizeof from, proctor_shipped_model_dir(), files[i]);
        path_in(to, sizeof to, dir, files[i]);
        copy_file(from, to);
    }
}

static void remove_copies(const char *dir)
{
    char p[4096];
    const char *files[] = {"yunet_120x160.onnx", "MobileFaceNet.onnx"};
    for (int i = 0; i < 2; i++) {
        path_in(p, sizeof p, dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void expect_refused(const char *dir, const char *role, const char *file)
{
    proctor_options o;
    proctor_options_default(&o);
    o.model_dir = dir;
    proctor_engine *e = NULL;
    dk_error err = {0};
    int rc = proctor_engine_new(&e, &o, &err);
    if (rc != DK_EINVAL) fail_msg("engine_new rc=%d (want DK_EINVAL) msg='%s'", rc, err.msg);
    assert_null(e);
    char p[4096];
    path_in(p, sizeof p, dir, file);
    if (!strstr(err.msg, role) || !strstr(err.msg, p) || !strstr(err.msg, "sha256") ||
        !strstr(err.msg, "refusing to load"))
        fail_msg("the refusal does not say what and why: '%s'", err.msg);
}

static void test_damaged_refused(void **state)
{
    (void)state;
    char dir[64], p[4096];
    copies(dir, sizeof dir);
    /* the copies load */
    proctor_options o;
    proctor_options_default(&o);
    o.model_dir = dir;
    proctor_engine *e = NULL;
    dk_error err = {0};
    if (proctor_engine_new(&e, &o, &err)) fail_msg("copies: %s", err.msg);
    assert_int_equal(proctor_engine_degraded(e), 0);
    proctor_engine_free(e);

    /* one byte changed in the recogniser */
    path_in(p, sizeof p, dir, "MobileFaceNet.onnx");
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 100000, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 100000, SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
    expect_refused(dir, "recogniser", "MobileFaceNet.onnx");

    /* another model under the detector's name */
    char from[4096];
    path_in(from, sizeof from, proctor_shipped_model_dir(), "MobileFaceNet.onnx");
    path_in(p, sizeof p, dir, "yunet_120x160.onnx");
    copy_file(from, p);
    expect_refused(dir, "detector", "yunet_120x160.onnx");
    remove_copies(dir);
}

static void test_missing_is_degraded(void **state)
{
    (void)state;
    char dir[64], p[4096];
    copies(dir, sizeof dir);
    path_in(p, sizeof p, dir, "MobileFaceNet.onnx");
    unlink(p);
    proctor_options o;
    proctor_options_default(&o);
    o.model_dir = dir;
    proctor_engine *e = NULL;
    dk_error err = {0};
    if (proctor_engine_new(&e, &o, &err)) fail_msg("engine: %s", err.msg);
    assert_int_equal(proctor_engine_degraded(e), 1);
    proctor_engine_free(e);
    remove_copies(dir);
}

int main(void)
{
    data_dir = getenv("PROCTOR_DATA_DIR");
    if (!data_dir) {
        fprintf(stderr, "proctor_models: PROCTOR_DATA_DIR is unset (CTest sets it)\n");
        return 1;
    }
    unsetenv("DK_CONFIG");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_agree),
        cmocka_unit_test(test_default_is_shipped_and_scores),
        cmocka_unit_test(test_damaged_refused),
        cmocka_unit_test(test_missing_is_degraded),
    };
    return cmocka_run_group_tests_name("proctor_models", tests, NULL, NULL);
}
