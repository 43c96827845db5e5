/* facesim_sessions.c - facesim --eval-sessions: simulated sessions built from a folder of
 * face photos by identity (shared/data/faces), scored with the real engine and decided by
 * the session rule (proctor_session.h). It measures how often the rule flags
 *   genuine         12 captures of the registered person (other photos of that person),
 *   standin_whole   12 captures of someone else,
 *   standin_half    6 of the registered person, then 6 of someone else,
 * and prints the rates, counts and the rule's parameters as one JSON object, with the same
 * figures for a few candidate rules (the fit, proctor/README.md "Session decisions").
 *
 * Webcam frames are not studio photos: each capture is, with a fixed probability, a
 * degraded copy of its photo (blurred, dark and noisy, small, heavily compressed), made
 * here with TurboJPEG and plain C, then scored through the same JPEG decoder, detector and
 * recogniser as a real capture. Every (photo, degradation) is embedded once and cached.
 * The rule is applied after each capture, as the worker does, and a session counts as
 * flagged if any prefix of it was. Single-threaded; a fixed seed makes the run repeatable. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <turbojpeg.h>

#include "dk_json.h"
#include "dk_log.h"
#include "facesim.h"
#include "proctor_internal.h"
#include "proctor_session.h"

#define CAPS 12       /* captures per session (the sessions) */
#define GAP_MIN_S 150 /* time between captures: uniform in [GAP_MIN_S, GAP_MAX_S] */
#define GAP_MAX_S 450 /* (mean 300 s = proctor_capture_interval_s) */

/* Degradations of a capture: the photo itself, or one of these, equally likely. */
typedef enum variant {
    V_CLEAN,
    V_BLUR,
    V_BLUR_STRONG,
    V_DARK,
    V_SMALL,
    V_JPEG_LOW,
    NVARIANTS
} variant;
static const char *const variant_names[NVARIANTS] = {
    "clean",
    "blur (box blur x3, radius 4% of the face width)",
    "strong blur (radius 8% of the face width)",
    "dark (gamma 2.2, x0.5, noise +-16)",
    "small (face 28 px wide)",
    "JPEG quality 8"};

typedef struct photo {
    char *path;
    int identity;
    int faces[NVARIANTS];
    int ok[NVARIANTS]; /* embedded (exactly one face) */
    proctor_embedding emb[NVARIANTS];
} photo;

typedef struct identity {
    char *name;
    int first, n; /* photos[first .. first+n) */
} identity;

/* splitmix64: small, good enough, the same on every machine */
static unsigned long long rng_next(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int rng_below(unsigned long long *s, int n)
{
    return (int)(rng_next(s) % (unsigned long long)n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a folder (no dot files); NULL-terminated, caller frees. */
static char **list_dir(const char *dir, int *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) return NULL;
    char **v = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        v = dk_realloc(v, sizeof *v * (size_t)(*n + 2));
        v[(*n)++] = dk_strdup(de->d_name);
    }
    closedir(d);
    if (*n) qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v;
}

/* ---- degradations (RGB, in place or into a new buffer) ---------------------------- */

/* One box pass of radius r along a line of n samples step bytes apart (src -> dst). */
static void box_line(const unsigned char *src, unsigned char *dst, int n, size_t step, int r)
{
    long sum = 0;
    int cnt = 0;
    for (int i = 0; i <= r && i < n; i++)
        sum += src[(size_t)i * step], cnt++;
    for (int i = 0; i < n; i++) {
        dst[(size_t)i * step] = (unsigned char)(sum / cnt);
        int out = i - r, in = i + r + 1;
        if (out >= 0) sum -= src[(size_t)out * step], cnt--;
        if (in < n) sum += src[(size_t)in * step], cnt++;
    }
}

/* Three box passes each way (close to a Gaussian of sigma ~ r), RGB in place. */
static void box_blur(unsigned char *px, int w, int h, int r)
{
    if (r < 1) return;
    unsigned char *tmp = dk_malloc((size_t)w * h * 3);
    for (int pass = 0; pass < 3; pass++) {
        for (int y = 0; y < h; y++)
            for (int c = 0; c < 3; c++)
                box_line(px + (size_t)y * w * 3 + c, tmp + (size_t)y * w * 3 + c, w, 3, r);
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                box_line(tmp + (size_t)x * 3 + c, px + (size_t)x * 3 + c, h, (size_t)w * 3, r);
    }
    free(tmp);
}

static void darken(unsigned char *px, size_t n, unsigned long long seed)
{
    for (size_t i = 0; i < n; i++) {
        double v = pow(px[i] / 255.0, 2.2) * 0.5 * 255.0 + (double)rng_below(&seed, 33) - 16;
        px[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* Box-average downscale by an integer-free factor f < 1; returns the new buffer. */
static unsigned char *shrink(const unsigned char *px, int w, int h, double f, int *ow, int *oh)
{
    int nw = (int)(w * f), nh = (int)(h * f);
    if (nw < 40) nw = 40;
    if (nh < 40) nh = 40;
    unsigned char *o = dk_malloc((size_t)nw * nh * 3);
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            int x0 = x * w / nw, x1 = (x + 1) * w / nw, y0 = y * h / nh, y1 = (y + 1) * h / nh;
            if (x1 <= x0) x1 = x0 + 1;
            if (y1 <= y0) y1 = y0 + 1;
            for (int c = 0; c < 3; c++) {
                long sum = 0;
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++)
                        sum += px[((size_t)yy * w + xx) * 3 + c];
                o[((size_t)y * nw + x) * 3 + c] = (unsigned char)(sum / ((x1 - x0) * (y1 - y0)));
            }
        }
    *ow = nw;
    *oh = nh;
    return o;
}

/* A degraded JPEG of jpeg (caller frees with tjFree); face_w: the face's width in pixels. */
static int degrade(const unsigned char *jpeg, size_t len, variant v, double face_w,
                   unsigned long long seed, unsigned char **out, unsigned long *outlen,
                   dk_error *err)
{
    tjhandle d = tjInitDecompress(), c = tjInitCompress();
    unsigned char *px = NULL;
    int w, h, sub, cs, rc = 0;
    if (!d || !c) {
        rc = dk_error_set(err, DK_EINTERNAL, "TurboJPEG init failed");
        goto out;
    }
    if (tjDecompressHeader3(d, jpeg, (unsigned long)len, &w, &h, &sub, &cs) ||
        !(px = dk_malloc((size_t)w * h * 3)) ||
        tjDecompress2(d, jpeg, (unsigned long)len, px, w, 0, h, TJPF_RGB, 0)) {
        rc = dk_error_set(err, DK_EUNPROCESSABLE, "decode: %s", tjGetErrorStr2(d));
        goto out;
    }
    int quality = 90;
    switch (v) {
    case V_BLUR: box_blur(px, w, h, (int)lround(face_w * 0.04)); break;
    case V_BLUR_STRONG: box_blur(px, w, h, (int)lround(face_w * 0.08)); break;
    case V_DARK: darken(px, (size_t)w * h * 3, seed); break;
    case V_SMALL:
        if (face_w > 28) {
            int nw, nh;
            unsigned char *s = shrink(px, w, h, 28.0 / face_w, &nw, &nh);
            free(px);
            px = s;
            w = nw;
            h = nh;
        }
        break;
    case V_JPEG_LOW: quality = 8; break;
    default: break;
    }
    if (tjCompress2(c, px, w, 0, h, TJPF_RGB, out, outlen, TJSAMP_420, quality, 0))
        rc = dk_error_set(err, DK_EINTERNAL, "encode: %s", tjGetErrorStr2(c));
out:
    free(px);
    if (d) tjDestroy(d);
    if (c) tjDestroy(c);
    return rc;
}

/* Embeds every variant of one photo (variant 0 must show exactly one face). */
static int embed_variants(proctor_engine *e, const proctor_options *o, photo *ph, dk_error *err)
{
    unsigned char *buf;
    size_t len;
    int rc = facesim_read_file(ph->path, o->max_bytes, &buf, &len, err);
    if (rc) return rc;
    proctor_result res;
    rc = proctor_embed(e, buf, len, &ph->emb[V_CLEAN], &res, err);
    ph->faces[V_CLEAN] = res.faces;
    if (rc) goto out;
    ph->ok[V_CLEAN] = 1;
    double face_w = res.box[2];
    for (int v = 1; v < NVARIANTS; v++) {
        unsigned char *dj = NULL;
        unsigned long dl = 0;
        if ((rc = degrade(buf, len, (variant)v, face_w, 0x5eed + (unsigned long long)v, &dj, &dl,
                          err)))
            goto out;
        dk_error e2 = {0};
        int r2 = proctor_embed(e, dj, dl, &ph->emb[v], &res, &e2);
        tjFree(dj);
        ph->faces[v] = res.faces;
        ph->ok[v] = r2 == 0;
        if (r2 && r2 != DK_EUNPROCESSABLE) {
            rc = dk_error_set(err, r2, "variant %d: %s", v, e2.msg);
            goto out;
        }
    }
out:
    free(buf);
    return rc;
}

/* ---- sessions ---------------------------------------------------------------------- */

enum { K_GENUINE, K_WHOLE, K_HALF, NKINDS };
static const char *const kind_names[NKINDS] = {"genuine", "standin_whole", "standin_half"};

/* One simulated capture as the rule sees it. */
typedef struct sim_capture {
    int has_similarity, faces;
    double similarity;
    long long taken_ms;
    int impostor;
} sim_capture;

typedef struct candidate {
    const char *name;
    proctor_session_params p;
    int flagged[NKINDS];
    int before_standin; /* standin_half sessions flagged before the stand-in came */
    long long by_reason[NKINDS][PROCTOR_SESSION_NREASONS];
} candidate;

static void decide_session(candidate *c, int kind, const sim_capture *s)
{
    proctor_session_capture caps[CAPS];
    int flagged = 0, reasons = 0;
    for (int k = 0; k < CAPS; k++) {
        caps[k] = (proctor_session_capture){.id = k + 1,
                                            .taken_ms = s[k].taken_ms,
                                            .has_similarity = s[k].has_similarity,
                                            .similarity = s[k].similarity,
                                            .faces = s[k].faces,
                                            .flag = NULL};
        proctor_session_decision d;
        if (proctor_session_decide(&c->p, caps, (size_t)k + 1, &d)) { /* after each capture */
            if (!flagged && kind == K_HALF && k < CAPS / 2) c->before_standin++;
            flagged = 1;
            for (int f = 0; f < d.nflags; f++)
                reasons |= 1 << d.flags[f].reason;
        }
    }
    c->flagged[kind] += flagged;
    for (int r = 0; r < PROCTOR_SESSION_NREASONS; r++)
        if (reasons & (1 << r)) c->by_reason[kind][r]++;
}

static json_t *params_json(const proctor_session_params *p)
{
    return json_pack("{s:f,s:i,s:f,s:i,s:f,s:i,s:I,s:i}", "low", p->low, "low_run", p->run_len,
                     "low_share", p->share, "low_share_min", p->share_min, "median", p->median,
                     "median_min", p->median_min, "no_face_s", (json_int_t)(p->no_face_ms / 1000),
                     "multiple_faces", p->multi_min);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Similarities of every pair (registered = a clean photo, capture = a photo of the same
 * person (genuine) or another (impostor) in one variant): count, share below low, and
 * percentiles. The figures behind the rule's fit. */
static json_t *pair_stats(const photo *photos, int nphotos, const proctor_options *o, int v,
                          int same, double low)
{
    double *sims = dk_malloc(sizeof *sims * (size_t)nphotos * (size_t)nphotos + 1);
    size_t n = 0, noemb = 0, below = 0;
    for (int a = 0; a < nphotos; a++)
        for (int b = 0; b < nphotos; b++) {
            if (a == b || (photos[a].identity == photos[b].identity) != same) continue;
            if (!photos[b].ok[v]) {
                noemb++;
                continue;
            }
            sims[n] = proctor_similarity(
                o->kind, proctor_cosine(&photos[a].emb[V_CLEAN], &photos[b].emb[v]));
            below += sims[n] < low;
            n++;
        }
    qsort(sims, n, sizeof *sims, cmp_dbl);
#define PCT(q) (n ? round(10 * sims[(size_t)((q) * (double)(n - 1) + 0.5)]) / 10 : 0.0)
    json_t *j = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "pairs", (json_int_t)n,
                          "no_single_face", (json_int_t)noemb, "below_low",
                          n ? round(1e4 * (double)below / (double)n) / 1e4 : 0.0, "p01", PCT(0.01),
                          "p05", PCT(0.05), "p50", PCT(0.5), "p95", PCT(0.95), "p99", PCT(0.99));
#undef PCT
    free(sims);
    return j;
}

static double rate(int k, int n)
{
    return n ? round(1e6 * k / n) / 1e6 : 0;
}

static int meets(const candidate *c, int n)
{
    return c->flagged[K_GENUINE] * 100 < n && c->flagged[K_WHOLE] * 100 >= 99 * n &&
           c->flagged[K_HALF] * 100 >= 95 * n;
}

int facesim_eval_sessions(proctor_engine *e, const proctor_options *o,
                          const proctor_session_params *rule, const char *dir, int nsessions,
                          int clean_pct, unsigned long long seed)
{
    if (proctor_engine_degraded(e)) {
        fprintf(stderr, "facesim: --eval-sessions needs the face models (degraded mode)\n");
        return 2;
    }
    int nent = 0, nphotos = 0, nids = 0, failed = 0, status = 0;
    char **ent = list_dir(dir, &nent);
    if (!ent) {
        fprintf(stderr, "facesim: %s: cannot read the folder\n", dir);
        return 2;
    }
    photo *photos = NULL;
    identity *ids = NULL;
    for (int i = 0; i < nent; i++) { /* identity folders: not starting with '_' */
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, ent[i]);
        int nf = 0;
        char **files = ent[i][0] == '_' ? NULL : list_dir(sub, &nf);
        int first = nphotos;
        for (int k = 0; k < nf; k++) {
            size_t l = strlen(files[k]);
            if (l > 4 && !strcasecmp(files[k] + l - 4, ".jpg")) {
                photos = dk_realloc(photos, sizeof *photos * (size_t)(nphotos + 1));
                photo *ph = &photos[nphotos++];
                memset(ph, 0, sizeof *ph);
                size_t need = strlen(sub) + l + 2;
                ph->path = dk_malloc(need);
                snprintf(ph->path, need, "%s/%s", sub, files[k]);
                ph->identity = nids;
            }
            free(files[k]);
        }
        free(files);
        if (nphotos - first >= 2) { /* a registered photo and at least one other */
            ids = dk_realloc(ids, sizeof *ids * (size_t)(nids + 1));
            ids[nids++] = (identity){dk_strdup(ent[i]), first, nphotos - first};
        } else {
            for (int k = first; k < nphotos; k++)
                free(photos[k].path);
            nphotos = first;
        }
        free(ent[i]);
    }
    free(ent);
    if (nids < 2) {
        fprintf(stderr, "facesim: %s: need two identity folders with two photos or more\n", dir);
        status = 2;
        goto out;
    }
    /* embed every photo in every variant, once */
    long long frames[NVARIANTS] = {0}, no_embed[NVARIANTS] = {0};
    for (int i = 0; i < nphotos; i++) {
        dk_error err = {0};
        if (embed_variants(e, o, &photos[i], &err)) {
            fprintf(stderr, "facesim: %s: %s\n", photos[i].path, err.msg);
            failed++;
        }
        for (int v = 0; v < NVARIANTS; v++)
            no_embed[v] += !photos[i].ok[v];
    }
    if (failed) {
        status = 1;
        goto out;
    }
    /* the rule as configured, then the candidates of the fit */
    /* {run_len, share, share_min, median, median_min, no_face_s} at the configured low */
    static const struct {
        const char *name;
        int run;
        double share;
        int share_min;
        double median;
        int median_min;
        int no_face_s;
    } rules[] = {
        {"per_frame (before: any low frame)", 1, 0, 1, 0, 1, 0},
        {"run2", 2, 0, 1, 0, 1, 0},
        {"run3", 3, 0, 1, 0, 1, 0},
        {"run4", 4, 0, 1, 0, 1, 0},
        {"share25_min2", 0, 25, 2, 0, 1, 0},
        {"share50_min4", 0, 50, 4, 0, 1, 0},
        {"median40_min4", 0, 0, 1, 40, 4, 0},
        {"share50_min6", 0, 50, 6, 0, 1, 0},
        {"run3_or_share50_min6", 3, 50, 6, 0, 1, 0},
        {"run4_or_share50_min4", 4, 50, 4, 0, 1, 0},
        {"run4_or_share50_min6", 4, 50, 6, 0, 1, 0},
        {"run4_or_share50_min6 + no_face_300s", 4, 50, 6, 0, 1, 300},
        {"run4_or_share50_min6 + no_face_600s", 4, 50, 6, 0, 1, 600},
    };
    size_t ncand = 1 + sizeof rules / sizeof rules[0];
    candidate *cands = dk_calloc(ncand, sizeof *cands);
    cands[0].name = "configured";
    cands[0].p = *rule;
    for (size_t c = 1; c < ncand; c++) {
        proctor_session_params *p = &cands[c].p;
        cands[c].name = rules[c - 1].name;
        p->low = rule->low;
        p->run_len = rules[c - 1].run;
        p->share = rules[c - 1].share;
        p->share_min = rules[c - 1].share_min;
        p->median = rules[c - 1].median;
        p->median_min = rules[c - 1].median_min;
        p->no_face_ms = rules[c - 1].no_face_s * 1000LL;
    }
    long long cap_low[2] = {0}, cap_scored[2] = {0}, cap_noface[2] = {0}, cap_total[2] = {0};
    unsigned long long rs = seed;
    for (int kind = 0; kind < NKINDS; kind++)
        for (int s = 0; s < nsessions; s++) {
            const identity *reg = &ids[rng_below(&rs, nids)];
            int regphoto = reg->first + rng_below(&rs, reg->n);
            const identity *other = reg;
            while (other == reg)
                other = &ids[rng_below(&rs, nids)];
            sim_capture sc[CAPS];
            long long t = 0;
            for (int k = 0; k < CAPS; k++) {
                int imp = kind == K_WHOLE || (kind == K_HALF && k >= CAPS / 2);
                int ph;
                if (imp) {
                    ph = other->first + rng_below(&rs, other->n);
                } else { /* another photo of the registered person */
                    ph = reg->first + rng_below(&rs, reg->n - 1);
                    if (ph >= regphoto) ph++;
                }
                int v =
                    rng_below(&rs, 100) < clean_pct ? V_CLEAN : 1 + rng_below(&rs, NVARIANTS - 1);
                frames[v]++;
                const photo *p = &photos[ph];
                sc[k] = (sim_capture){.faces = p->faces[v], .taken_ms = t * 1000, .impostor = imp};
                if (p->ok[v]) {
                    sc[k].has_similarity = 1;
                    sc[k].similarity = proctor_similarity(
                        o->kind, proctor_cosine(&photos[regphoto].emb[V_CLEAN], &p->emb[v]));
                }
                cap_total[imp]++;
                cap_scored[imp] += sc[k].has_similarity;
                cap_low[imp] += sc[k].has_similarity && sc[k].similarity < rule->low;
                cap_noface[imp] += sc[k].faces == 0;
                t += GAP_MIN_S + rng_below(&rs, GAP_MAX_S - GAP_MIN_S + 1);
            }
            for (size_t c = 0; c < ncand; c++)
                decide_session(&cands[c], kind, sc);
        }

    json_t *out = json_object();
    json_object_set_new(out, "faces_dir", json_string(dir));
    json_object_set_new(out, "identities", json_integer(nids));
    json_object_set_new(out, "photos", json_integer(nphotos));
    json_object_set_new(out, "sessions_per_kind", json_integer(nsessions));
    json_object_set_new(out, "captures_per_session", json_integer(CAPS));
    json_object_set_new(out, "seed", json_integer((json_int_t)seed));
    json_object_set_new(out, "model", json_string(proctor_engine_model(e)));
    json_object_set_new(out, "rule", params_json(rule));
    for (int kind = 0; kind < NKINDS; kind++) {
        json_t *br = json_object();
        for (int r = 0; r < PROCTOR_SESSION_NREASONS; r++)
            if (cands[0].by_reason[kind][r])
                json_object_set_new(br, proctor_session_reason_name((proctor_session_reason)r),
                                    json_integer(cands[0].by_reason[kind][r]));
        json_t *k =
            json_pack("{s:i,s:i,s:f,s:o}", "sessions", nsessions, "flagged", cands[0].flagged[kind],
                      "rate", rate(cands[0].flagged[kind], nsessions), "by_reason", br);
        if (kind == K_HALF)
            json_object_set_new(k, "flagged_before_standin", json_integer(cands[0].before_standin));
        json_object_set_new(out, kind_names[kind], k);
    }
    json_object_set_new(out, "targets",
                        json_pack("{s:f,s:f,s:f}", "genuine_below", 0.01, "standin_whole_min", 0.99,
                                  "standin_half_min", 0.95));
    json_object_set_new(out, "met", json_boolean(meets(&cands[0], nsessions)));
    json_t *fr = json_object();
    for (int imp = 0; imp < 2; imp++)
        json_object_set_new(
            fr, imp ? "impostor" : "genuine",
            json_pack("{s:I,s:I,s:I,s:f}", "captures", (json_int_t)cap_total[imp], "scored",
                      (json_int_t)cap_scored[imp], "no_face", (json_int_t)cap_noface[imp],
                      "low_rate",
                      cap_scored[imp] ? round(1e6 * cap_low[imp] / cap_scored[imp]) / 1e6 : 0.0));
    json_object_set_new(out, "frames", fr);
    json_t *va = json_array();
    for (int v = 0; v < NVARIANTS; v++)
        json_array_append_new(
            va, json_pack("{s:s,s:I,s:I,s:o,s:o}", "variant", variant_names[v], "captures",
                          (json_int_t)frames[v], "photos_without_one_face", (json_int_t)no_embed[v],
                          "genuine_pairs", pair_stats(photos, nphotos, o, v, 1, rule->low),
                          "impostor_pairs", pair_stats(photos, nphotos, o, v, 0, rule->low)));
    json_object_set_new(out, "variants", va);
    json_object_set_new(out, "clean_share", json_real(clean_pct / 100.0));
    json_t *ca = json_array();
    for (size_t c = 1; c < ncand; c++)
        json_array_append_new(ca,
                              json_pack("{s:s,s:o,s:f,s:f,s:f,s:b}", "name", cands[c].name, "rule",
                                        params_json(&cands[c].p), "genuine",
                                        rate(cands[c].flagged[K_GENUINE], nsessions),
                                        "standin_whole", rate(cands[c].flagged[K_WHOLE], nsessions),
                                        "standin_half", rate(cands[c].flagged[K_HALF], nsessions),
                                        "met", meets(&cands[c], nsessions)));
    json_object_set_new(out, "candidates", ca);
    free(cands);
    char *js = proctor_json_dump(out);
    puts(js);
    free(js);
    json_decref(out);
out:
    for (int i = 0; i < nphotos; i++)
        free(photos[i].path);
    free(photos);
    for (int i = 0; i < nids; i++)
        free(ids[i].name);
    free(ids);
    return status;
}
