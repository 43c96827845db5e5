/* facesim.c - the proctor's pipeline from the command line.
 *
 *   facesim [--config FILE] REGISTERED.jpg CAPTURE.jpg [...]
 *       one JSON line per capture: {"file":..,"faces":1,"cosine":0.71,"similarity":84.6,
 *       "flag":null}; exit 0 if every capture was scored, 1 if one was a bad image,
 *       2 on usage, configuration or registered-photo errors.
 *   facesim [--config FILE] --eval PAIRS.tsv
 *       scores every pair (absolute paths, or relative to the file; header line; columns path_a,
 *       path_b, same[, cosine]) and prints AUC, FAR and FRR at proctor_threshold as one
 *       JSON object (with max_ref_diff when a reference cosine column is present);
 *       exit 0 if every image embedded, 1 otherwise.
 *   facesim [--config FILE] --eval-sessions FACES_DIR [--sessions N] [--clean PCT] [--seed S]
 *       simulated sessions from the identity folders of FACES_DIR decided by the session
 *       rule (proctor_session_* keys): flag rates per kind as JSON (facesim_sessions.c).
 *   facesim [--config FILE] --quality PHOTO.jpg [...]
 *       the quality gate's measures (face size, sharpness, brightness, yaw) of each photo
 *       showing one face, one JSON line each, then their distributions (min, 1st, 5th,
 *       50th, 95th, 99th percentile, max) and how many photos the gate would ask to
 *       retake, as one JSON line: what the thresholds are fitted on (proctor/README.md).
 * Configuration through dk_config: DK_PROCTOR_MODEL_DIR etc. Single-threaded. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "facesim.h"
#include "proctor_internal.h"

int facesim_read_file(const char *path, size_t limit, unsigned char **buf, size_t *len,
                      dk_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return dk_error_set(err, DK_ENOTFOUND, "cannot open: %s", strerror(errno));
    size_t cap = 65536, n = 0;
    unsigned char *b = dk_malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = dk_realloc(b, cap);
        }
        size_t want = cap - n;
        if (n + want > limit + 1) want = limit + 1 - n;
        if (want == 0) break;
        size_t got = fread(b + n, 1, want, f);
        n += got;
        if (got < want) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return dk_error_set(err, DK_EIO, "read error");
    }
    *buf = b;
    *len = n;
    return 0;
}

static int embed_path(proctor_engine *e, const proctor_options *o, const char *path,
                      proctor_embedding *emb, proctor_result *res, dk_error *err)
{
    unsigned char *buf;
    size_t len;
    int rc = facesim_read_file(path, o->max_bytes, &buf, &len, err);
    if (rc) return rc;
    rc = proctor_embed(e, buf, len, emb, res, err);
    free(buf);
    return rc;
}

static int score_files(proctor_engine *e, const proctor_options *o, int argc, char **argv)
{
    dk_error err = {0};
    proctor_embedding ref;
    const proctor_embedding *refp = NULL;
    if (!proctor_engine_degraded(e)) {
        if (embed_path(e, o, argv[0], &ref, NULL, &err)) {
            fprintf(stderr, "facesim: registered photo %s: %s\n", argv[0], err.msg);
            return 2;
        }
        refp = &ref;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        proctor_result r;
        unsigned char *buf = NULL;
        size_t len = 0;
        dk_error_clear(&err);
        int rc = facesim_read_file(argv[i], o->max_bytes, &buf, &len, &err);
        if (rc) {
            memset(&r, 0, sizeof r);
            r.flag = PROCTOR_FLAG_BAD_IMAGE;
            snprintf(r.reason, sizeof r.reason, "%s", err.msg);
        } else {
            rc = proctor_score(e, buf, len, refp, &r, &err);
            free(buf);
            if (rc && r.flag != PROCTOR_FLAG_BAD_IMAGE) {
                r.flag = PROCTOR_FLAG_BAD_IMAGE;
                snprintf(r.reason, sizeof r.reason, "%s", err.msg);
            }
        }
        if (rc) status = 1;
        char *js = proctor_result_json(&r, argv[i]);
        puts(js);
        free(js);
    }
    return status;
}

/* One JSON line on stdout; takes out's reference. */
static void print_json(json_t *out)
{
    char *s = proctor_json_dump(out);
    puts(s);
    free(s);
    json_decref(out);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, int n, double p)
{
    int k = (int)ceil(p / 100.0 * n) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static int quality_files(proctor_engine *e, const proctor_options *o, int argc, char **argv)
{
    if (proctor_engine_degraded(e)) {
        fprintf(stderr, "facesim: --quality needs the face models (degraded mode)\n");
        return 2;
    }
    enum { FACE, SHARP, BRIGHT, YAW, ABSYAW, NM };
    static const char *const names[NM] = {"face_px", "sharpness", "brightness", "yaw", "abs_yaw"};
    double *v[NM];
    for (int k = 0; k < NM; k++)
        v[k] = dk_calloc((size_t)argc + 1, sizeof(double));
    int n = 0, skipped = 0, retake = 0, status = 0;
    for (int i = 0; i < argc; i++) {
        proctor_result r;
        unsigned char *buf = NULL;
        size_t len = 0;
        dk_error err = {0};
        int rc = facesim_read_file(argv[i], o->max_bytes, &buf, &len, &err);
        if (!rc) {
            rc = proctor_score(e, buf, len, NULL, &r, &err);
            free(buf);
        }
        if (rc) {
            fprintf(stderr, "facesim: %s: %s\n", argv[i], err.msg);
            status = 1;
            continue;
        }
        char *js = proctor_result_json(&r, argv[i]);
        puts(js);
        free(js);
        if (!r.has_quality || isnan(r.yaw)) {
            skipped++;
            continue;
        }
        retake += r.retake[0] != '\0';
        v[FACE][n] = r.face_px;
        v[SHARP][n] = r.sharpness;
        v[BRIGHT][n] = r.brightness;
        v[YAW][n] = r.yaw;
        v[ABSYAW][n] = fabs(r.yaw);
        n++;
    }
    json_t *out = json_object();
    json_object_set_new(out, "photos", json_integer(n));
    json_object_set_new(out, "skipped", json_integer(skipped));
    json_object_set_new(out, "retake", json_integer(retake));
    static const double ps[] = {0, 1, 5, 50, 95, 99, 100};
    static const char *const pn[] = {"min", "p1", "p5", "p50", "p95", "p99", "max"};
    for (int k = 0; k < NM && n > 0; k++) {
        qsort(v[k], (size_t)n, sizeof(double), cmp_double);
        json_t *d = json_object();
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++)
            json_object_set_new(d, pn[j], json_real(round(pct(v[k], n, ps[j]) * 10) / 10));
        json_object_set_new(out, names[k], d);
    }
    json_object_set_new(out, "limits",
                        json_pack("{s:f,s:f,s:f,s:f,s:f}", "min_face_px", o->quality.min_face_px,
                                  "min_sharpness", o->quality.min_sharpness, "min_brightness",
                                  o->quality.min_brightness, "max_brightness",
                                  o->quality.max_brightness, "max_yaw", o->quality.max_yaw));
    print_json(out);
    for (int k = 0; k < NM; k++)
        free(v[k]);
    return status;
}

typedef struct pair {
    int a, b, same, has_ref;
    double ref;
} pair;

/* The index of a pairs-file path among those seen; an absolute path is taken as it is, a
 * relative one against the pairs file's folder (dir, "" or ending in '/'). */
static int image_index(char ***paths, int *n, const char *dir, const char *rel)
{
    if (rel[0] == '/') dir = "";
    size_t need = strlen(dir) + strlen(rel) + 2;
    char *full = dk_malloc(need);
    snprintf(full, need, "%s%s", dir, rel);
    for (int i = 0; i < *n; i++)
        if (!strcmp((*paths)[i], full)) {
            free(full);
            return i;
        }
    *paths = dk_realloc(*paths, sizeof(char *) * (size_t)(*n + 1));
    (*paths)[*n] = full;
    return (*n)++;
}

static int eval_pairs(proctor_engine *e, const proctor_options *o, const char *file)
{
    if (proctor_engine_degraded(e)) {
        fprintf(stderr, "facesim: --eval needs the face models (degraded mode)\n");
        return 2;
    }
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "facesim: %s: %s\n", file, strerror(errno));
        return 2;
    }
    char dir[4096] = "";
    const char *slash = strrchr(file, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s/", (int)(slash - file), file);
    char line[8192], **paths = NULL;
    int npaths = 0, npairs = 0, lineno = 0, bad = 0;
    pair *pairs = NULL;
    while (fgets(line, sizeof line, f)) {
        if (++lineno == 1) continue; /* header */
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        char *cols[4] = {0}, *save = NULL;
        int nc = 0;
        for (char *t = strtok_r(line, "\t", &save); t && nc < 4; t = strtok_r(NULL, "\t", &save))
            cols[nc++] = t;
        if (nc < 3) {
            fprintf(stderr, "facesim: %s:%d: expected path_a, path_b, same\n", file, lineno);
            bad = 1;
            break;
        }
        pairs = dk_realloc(pairs, sizeof *pairs * (size_t)(npairs + 1));
        pair *p = &pairs[npairs++];
        p->a = image_index(&paths, &npaths, dir, cols[0]);
        p->b = image_index(&paths, &npaths, dir, cols[1]);
        p->same = atoi(cols[2]) == 1;
        p->has_ref = nc == 4;
        p->ref = nc == 4 ? strtod(cols[3], NULL) : 0;
    }
    fclose(f);
    proctor_embedding *embs = dk_calloc((size_t)npaths + 1, sizeof *embs);
    char *ok = dk_calloc((size_t)npaths + 1, 1);
    int failed = 0;
    for (int i = 0; i < npaths && !bad; i++) {
        dk_error err = {0};
        if (embed_path(e, o, paths[i], &embs[i], NULL, &err)) {
            fprintf(stderr, "facesim: %s: %s\n", paths[i], err.msg);
            failed++;
        } else {
            ok[i] = 1;
        }
    }
    int gen = 0, imp = 0, fa = 0, fr = 0, skipped = 0, has_ref = 0;
    double max_diff = 0, thr_cos = proctor_cosine_at(o->kind, o->threshold);
    double *gc = dk_calloc((size_t)npairs + 1, sizeof(double));
    double *ic = dk_calloc((size_t)npairs + 1, sizeof(double));
    for (int i = 0; i < npairs && !bad; i++) {
        pair *p = &pairs[i];
        if (!ok[p->a] || !ok[p->b]) {
            skipped++;
            continue;
        }
        double c = proctor_cosine(&embs[p->a], &embs[p->b]);
        int accept = proctor_similarity(o->kind, c) >= o->threshold;
        if (p->has_ref) {
            has_ref = 1;
            if (fabs(c - p->ref) > max_diff) max_diff = fabs(c - p->ref);
        }
        if (p->same) {
            gc[gen++] = c;
            fr += !accept;
        } else {
            ic[imp++] = c;
            fa += accept;
        }
    }
    double auc = 0;
    for (int i = 0; i < gen; i++)
        for (int j = 0; j < imp; j++)
            auc += gc[i] > ic[j] ? 1.0 : gc[i] == ic[j] ? 0.5 : 0.0;
    auc = gen && imp ? auc / ((double)gen * imp) : NAN;
    if (!bad) {
        json_t *out = json_object();
        json_object_set_new(out, "pairs", json_integer(npairs));
        json_object_set_new(out, "images", json_integer(npaths));
        json_object_set_new(out, "failed_images", json_integer(failed));
        json_object_set_new(out, "skipped_pairs", json_integer(skipped));
        json_object_set_new(out, "genuine", json_integer(gen));
        json_object_set_new(out, "impostor", json_integer(imp));
        json_object_set_new(out, "threshold", json_real(o->threshold));
        json_object_set_new(out, "threshold_cosine", json_real(round(thr_cos * 1e6) / 1e6));
        json_object_set_new(out, "auc",
                            isnan(auc) ? json_null() : json_real(round(auc * 1e6) / 1e6));
        json_object_set_new(out, "far", imp ? json_real(round(1e6 * fa / imp) / 1e6) : json_null());
        json_object_set_new(out, "frr", gen ? json_real(round(1e6 * fr / gen) / 1e6) : json_null());
        json_object_set_new(out, "false_accepts", json_integer(fa));
        json_object_set_new(out, "false_rejects", json_integer(fr));
        if (has_ref)
            json_object_set_new(out, "max_ref_diff", json_real(round(max_diff * 1e6) / 1e6));
        json_object_set_new(out, "model", json_string(proctor_engine_model(e)));
        print_json(out);
    }
    for (int i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    free(pairs);
    free(embs);
    free(ok);
    free(gc);
    free(ic);
    return bad ? 2 : failed || skipped ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: facesim [--config FILE] REGISTERED.jpg CAPTURE.jpg [...]\n"
                    "       facesim [--config FILE] --eval PAIRS.tsv\n"
                    "       facesim [--config FILE] --eval-sessions FACES_DIR [--sessions N] "
                    "[--clean PCT] [--seed S]\n"
                    "       facesim [--config FILE] --quality PHOTO.jpg [...]\n"
                    "models: proctor_model_dir (DK_PROCTOR_MODEL_DIR), proctor_detector, "
                    "proctor_recognizer, proctor_recognizer_kind\n");
}

int main(int argc, char **argv)
{
    const char *config = NULL, *eval = NULL, *sessions_dir = NULL;
    long nsessions = 2000, clean_pct = 70;
    unsigned long long seed = 14;
    int quality = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(argv[i], "--eval") && i + 1 < argc) {
            eval = argv[++i];
        } else if (!strcmp(argv[i], "--eval-sessions") && i + 1 < argc) {
            sessions_dir = argv[++i];
        } else if (!strcmp(argv[i], "--sessions") && i + 1 < argc) {
            nsessions = strtol(argv[++i], NULL, 10);
            if (nsessions < 1 || nsessions > 1000000) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[i], "--clean") && i + 1 < argc) {
            clean_pct = strtol(argv[++i], NULL, 10);
            if (clean_pct < 0 || clean_pct > 100) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--quality")) {
            quality = 1;
        } else if (!strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if ((eval != NULL) + (sessions_dir != NULL) + quality > 1) {
        usage();
        return 2;
    }
    if ((!eval && !sessions_dir && argc - i < (quality ? 1 : 2)) ||
        ((eval || sessions_dir) && argc - i != 0)) {
        usage();
        return 2;
    }
    dk_error err = {0};
    dk_config *cfg = NULL;
    proctor_options o;
    proctor_engine *e = NULL;
    int status = 2;
    if (dk_config_load(&cfg, config, &err) || proctor_options_from_config(&o, cfg, &err) ||
        proctor_engine_new(&e, &o, &err)) {
        fprintf(stderr, "facesim: %s\n", err.msg);
        goto out;
    }
    if (sessions_dir) {
        proctor_session_params rule;
        if (proctor_session_params_from_config(&rule, cfg, &err)) {
            fprintf(stderr, "facesim: %s\n", err.msg);
            goto out;
        }
        status = facesim_eval_sessions(e, &o, &rule, sessions_dir, (int)nsessions,
                                       (int)clean_pct, seed);
    } else {
        status = eval      ? eval_pairs(e, &o, eval)
                 : quality ? quality_files(e, &o, argc - i, argv + i)
                           : score_files(e, &o, argc - i, argv + i);
    }
out:
    proctor_engine_free(e);
    dk_config_free(cfg);
    return status;
}
