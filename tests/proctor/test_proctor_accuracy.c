/* test_proctor_accuracy.c - the pipeline on real photos (shared/data/faces) with the real
 * models (shared/models): face counts per folder, every pair's cosine within 0.001 of
 * reference_scores.tsv, and FAR <= 0.2%, FRR <= 1% at 40% over all 1,653 pairs.
 * Exits 77 (skipped), naming the path, when the photos or the models are absent.
 * Paths come from PROCTOR_FACES_DIR and DK_PROCTOR_MODEL_DIR (set by CTest). */
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

#include <cmocka.h>

#include "dk_log.h"
#include "proctor.h"
#include "test_slurp.h"

#define MAX_IMAGES 256

typedef struct image {
    char rel[128];
    char folder[64];
    int faces;
    int embedded;
    proctor_embedding emb;
} image;

static const char *faces_dir, *model_dir;
static image images[MAX_IMAGES];
static int nimages;
static proctor_engine *engine;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists dir's entries (sorted), names only; caller frees. */
static int list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    char **names = NULL;
    int n = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            names = dk_realloc(names, sizeof *names * (size_t)(n + 1));
            names[n++] = dk_strdup(de->d_name);
        }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static int load_images(void)
{
    char **folders;
    int nf = list_dir(faces_dir, &folders);
    if (nf < 0) return -1;
    for (int i = 0; i < nf; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", faces_dir, folders[i]);
        struct stat st;
        char **files;
        int n = (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ? list_dir(path, &files) : -1;
        for (int j = 0; j < n; j++) {
            if (strstr(files[j], ".jpg") && nimages < MAX_IMAGES) {
                image *im = &images[nimages++];
                snprintf(im->folder, sizeof im->folder, "%s", folders[i]);
                snprintf(im->rel, sizeof im->rel, "%s/%s", folders[i], files[j]);
                char full[1200];
                snprintf(full, sizeof full, "%s/%s", faces_dir, im->rel);
                size_t len = 0;
                unsigned char *jpeg = slurp(full, &len);
                proctor_result r;
                dk_error err = {0};
                if (!jpeg) fail_msg("cannot read %s", full);
                if (folders[i][0] == '_') {
                    if (proctor_score(engine, jpeg, len, NULL, &r, &err))
                        fail_msg("%s: %s", im->rel, err.msg);
                    im->faces = r.faces;
                } else {
                    int rc = proctor_embed(engine, jpeg, len, &im->emb, &r, &err);
                    im->faces = r.faces;
                    im->embedded = rc == 0;
                }
                free(jpeg);
            }
            free(files[j]);
        }
        if (n >= 0) free(files);
        free(folders[i]);
    }
    free(folders);
    return 0;
}

static const image *find(const char *rel)
{
    for (int i = 0; i < nimages; i++)
        if (!strcmp(images[i].rel, rel)) return &images[i];
    return NULL;
}

static void test_face_counts(void **state)
{
    (void)state;
    int identity = 0, none = 0, multi = 0, bad = 0;
    for (int i = 0; i < nimages; i++) {
        const image *im = &images[i];
        int ok;
        if (!strcmp(im->folder, "_no_face"))
            ok = im->faces == 0, none++;
        else if (!strcmp(im->folder, "_multi_face"))
            ok = im->faces >= 2, multi++;
        else
            ok = im->faces == 1 && im->embedded, identity++;
        if (!ok) {
            print_error("%s: %d faces\n", im->rel, im->faces);
            bad++;
        }
    }
    print_message("%d identity photos, %d no-face, %d multi-face\n", identity, none, multi);
    assert_int_equal(bad, 0);
    assert_int_equal(identity, 58);
    assert_int_equal(none, 5);
    assert_int_equal(multi, 6);
}

static void test_pairs(void **state)
{
    (void)state;
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/reference_scores.tsv", faces_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int gen = 0, imp = 0, fa = 0, fr = 0, n = 0, over = 0;
    double max_diff = 0, min_gen = 2, max_imp = -2;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char a[256], b[256];
        int same;
        double ref;
        if (sscanf(line, "%255s\t%255s\t%d\t%lf", a, b, &same, &ref) != 4) continue;
        const image *ia = find(a), *ib = find(b);
        if (!ia || !ib || !ia->embedded || !ib->embedded)
            fail_msg("pair %s %s: no embedding", a, b);
        double c = proctor_cosine(&ia->emb, &ib->emb);
        double d = fabs(c - ref);
        if (d > max_diff) max_diff = d;
        if (d > 0.001) {
            print_error("%s %s: cosine %.5f, reference %.4f\n", a, b, c, ref);
            over++;
        }
        int accept = proctor_similarity(PROCTOR_KIND_MOBILEFACENET, c) >= 40.0;
        if (same) {
            gen++;
            fr += !accept;
            if (c < min_gen) min_gen = c;
        } else {
            imp++;
            fa += accept;
            if (c > max_imp) max_imp = c;
        }
        n++;
    }
    fclose(f);
    double far = imp ? (double)fa / imp : 1, frr = gen ? (double)fr / gen : 1;
    print_message("%d pairs (%d genuine, %d impostor): max |cosine - reference| %.6f; at 40%%: "
                  "FAR %.4f%% (%d), FRR %.4f%% (%d); lowest genuine %.4f, highest impostor "
                  "%.4f\n",
                  n, gen, imp, max_diff, 100 * far, fa, 100 * frr, fr, min_gen, max_imp);
    assert_int_equal(n, 1653);
    assert_int_equal(over, 0);
    assert_true(far <= 0.002);
    assert_true(frr <= 0.01);
}

static int setup(void **state)
{
    (void)state;
    proctor_options o;
    proctor_options_default(&o);
    o.model_dir = model_dir;
    dk_error err = {0};
    if (proctor_engine_new(&engine, &o, &err) || proctor_engine_degraded(engine)) {
        print_error("engine: %s\n", err.msg);
        return -1;
    }
    proctor_set_cv_threads(1);
    return load_images();
}

static int teardown(void **state)
{
    (void)state;
    proctor_engine_free(engine);
    return 0;
}

int main(void)
{
    faces_dir = getenv("PROCTOR_FACES_DIR");
    model_dir = getenv("DK_PROCTOR_MODEL_DIR");
    char need[3][1024];
    if (!faces_dir || !model_dir) {
        fprintf(stderr, "SKIP proctor_accuracy: PROCTOR_FACES_DIR / DK_PROCTOR_MODEL_DIR unset\n");
        return 77;
    }
    snprintf(need[0], sizeof need[0], "%s/reference_scores.tsv", faces_dir);
    snprintf(need[1], sizeof need[1], "%s/yunet_120x160.onnx", model_dir);
    snprintf(need[2], sizeof need[2], "%s/MobileFaceNet.onnx", model_dir);
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (stat(need[i], &st) != 0) {
            fprintf(stderr, "SKIP proctor_accuracy: %s is missing\n", need[i]);
            return 77;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_face_counts),
        cmocka_unit_test(test_pairs),
    };
    return cmocka_run_group_tests_name("proctor_accuracy", tests, setup, teardown);
}
