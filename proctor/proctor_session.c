/* proctor_session.c - session decisions from all of a session's captures (see
 * proctor_session.h for which frames count and the rules). */
#include "proctor_session.h"

#include <stdlib.h>
#include <string.h>

static const char *const reason_names[PROCTOR_SESSION_NREASONS] = {
    "low_similarity_run", "low_similarity_share", "low_similarity_median", "no_face_time",
    "multiple_faces"};

const char *proctor_session_reason_name(proctor_session_reason r)
{
    return (unsigned)r < PROCTOR_SESSION_NREASONS ? reason_names[r] : "unknown";
}

/* The fitted values (proctor/README.md, "Session decisions"); keep equal to dk_config.c. */
void proctor_session_params_default(proctor_session_params *p)
{
    memset(p, 0, sizeof *p);
    p->low = 40;
    p->run_len = 4;
    p->share = 50;
    p->share_min = 6;
    p->median = 0;
    p->median_min = 4;
    p->no_face_ms = 600000;
    p->multi_min = 1;
}

int proctor_session_params_from_config(proctor_session_params *p, const dk_config *cfg,
                                       dk_error *err)
{
    proctor_session_params_default(p);
    p->low = dk_config_double(cfg, "proctor_threshold");
    long long run = dk_config_int(cfg, "proctor_session_low_run");
    p->share = dk_config_double(cfg, "proctor_session_low_share");
    long long share_min = dk_config_int(cfg, "proctor_session_low_share_min");
    p->median = dk_config_double(cfg, "proctor_session_median");
    long long median_min = dk_config_int(cfg, "proctor_session_median_min");
    long long no_face_s = dk_config_int(cfg, "proctor_session_no_face_s");
    long long multi = dk_config_int(cfg, "proctor_session_multiple_faces");
    if (run < 0 || run > 100 || share_min < 1 || share_min > 100 || median_min < 1 ||
        median_min > 100 || multi < 0 || multi > 100 || no_face_s < 0 || no_face_s > 86400)
        return dk_error_set(err, DK_EINVAL,
                            "proctor_session_*: counts must be 0..100 (share_min, median_min "
                            "1..100), no_face_s 0..86400");
    if (!(p->share >= 0 && p->share <= 100) || !(p->median >= 0 && p->median <= 100) ||
        !(p->low >= 0 && p->low <= 100))
        return dk_error_set(err, DK_EINVAL, "proctor_session_low_share / _median: 0..100");
    p->run_len = (int)run;
    p->share_min = (int)share_min;
    p->median_min = (int)median_min;
    p->no_face_ms = no_face_s * 1000;
    p->multi_min = (int)multi;
    return 0;
}

/* Frames that carry no evidence either way: refused by quality gating (h-quality's
 * "retake", compared by name) or unreadable. */
static int skipped(const proctor_session_capture *c)
{
    return c->flag && (!strcmp(c->flag, "retake") || !strcmp(c->flag, "bad_image"));
}

static void add_frame(proctor_session_flag *f, const proctor_session_capture *caps, size_t i)
{
    if (f->nframes >= PROCTOR_SESSION_MAX_FRAMES) return;
    f->index[f->nframes] = (int)i;
    f->id[f->nframes] = caps[i].id;
    f->nframes++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static proctor_session_flag *new_flag(proctor_session_decision *d, proctor_session_reason r)
{
    proctor_session_flag *f = &d->flags[d->nflags++];
    memset(f, 0, sizeof *f);
    f->reason = r;
    return f;
}

/* The lowest similarity among a flag's frames. */
static double lowest(const proctor_session_flag *f, const proctor_session_capture *caps)
{
    double m = 100;
    for (int k = 0; k < f->nframes; k++)
        if (caps[f->index[k]].similarity < m) m = caps[f->index[k]].similarity;
    return m;
}

int proctor_session_decide(const proctor_session_params *p, const proctor_session_capture *caps,
                           size_t n, proctor_session_decision *d)
{
    memset(d, 0, sizeof *d);
    double sims[PROCTOR_SESSION_MAX_FRAMES * 2]; /* the median looks at the first 256 */
    int nsims = 0;
    /* longest run of lows: start index of the best and of the current run (over frames with
     * a similarity); longest stretch without a face: first and last no-face frame */
    int run = 0, best_run = 0;
    size_t run_start = 0, best_start = 0, best_end = 0, last_low = 0;
    long long nf_first = -1, nf_last = -1, best_nf = -1;
    size_t nf_first_i = 0, nf_last_i = 0, best_nf_first = 0, best_nf_last = 0;
    for (size_t i = 0; i < n; i++) {
        const proctor_session_capture *c = &caps[i];
        if (skipped(c)) {
            d->skipped++;
            continue;
        }
        if (c->pending) {
            d->pending++;
            run = 0;
            nf_first = -1;
            continue;
        }
        if (c->faces == 0) {
            d->no_face++;
            if (nf_first < 0) nf_first = c->taken_ms, nf_first_i = i;
            nf_last = c->taken_ms;
            nf_last_i = i;
            if (nf_last - nf_first > best_nf) {
                best_nf = nf_last - nf_first;
                best_nf_first = nf_first_i;
                best_nf_last = nf_last_i;
            }
            continue;
        }
        if (c->faces > 0) nf_first = -1; /* a face (or several) ends a stretch */
        if (c->faces >= 2) d->multi++;
        if (!c->has_similarity) continue;
        d->scored++;
        if (nsims < (int)(sizeof sims / sizeof sims[0])) sims[nsims++] = c->similarity;
        if (c->similarity < p->low) {
            d->low++;
            if (run == 0) run_start = i;
            run++;
            last_low = i;
            if (run > best_run) {
                best_run = run;
                best_start = run_start;
                best_end = last_low;
            }
        } else {
            run = 0;
        }
    }
    d->longest_run = best_run;
    d->longest_no_face_ms = best_nf < 0 ? 0 : best_nf;
    if (nsims) {
        qsort(sims, (size_t)nsims, sizeof sims[0], cmp_double);
        d->median = nsims % 2 ? sims[nsims / 2] : (sims[nsims / 2 - 1] + sims[nsims / 2]) / 2;
    }

    if (p->run_len > 0 && best_run >= p->run_len) {
        proctor_session_flag *f = new_flag(d, PROCTOR_SESSION_LOW_RUN);
        for (size_t i = best_start; i <= best_end; i++)
            if (!skipped(&caps[i]) && caps[i].has_similarity && caps[i].similarity < p->low)
                add_frame(f, caps, i);
        f->score = lowest(f, caps);
    }
    if (p->share > 0 && d->low >= p->share_min &&
        100.0 * d->low / (d->scored + d->pending) >= p->share) {
        proctor_session_flag *f = new_flag(d, PROCTOR_SESSION_LOW_SHARE);
        for (size_t i = 0; i < n; i++)
            if (!skipped(&caps[i]) && caps[i].has_similarity && caps[i].similarity < p->low)
                add_frame(f, caps, i);
        f->score = lowest(f, caps);
    }
    if (p->median > 0 && d->scored >= p->median_min && d->median < p->median) {
        proctor_session_flag *f = new_flag(d, PROCTOR_SESSION_LOW_MEDIAN);
        for (size_t i = 0; i < n; i++)
            if (!skipped(&caps[i]) && caps[i].has_similarity && caps[i].similarity < p->median)
                add_frame(f, caps, i);
        f->score = d->median;
    }
    if (p->no_face_ms > 0 && best_nf >= p->no_face_ms) {
        proctor_session_flag *f = new_flag(d, PROCTOR_SESSION_NO_FACE_TIME);
        for (size_t i = best_nf_first; i <= best_nf_last; i++)
            if (!skipped(&caps[i]) && caps[i].faces == 0) add_frame(f, caps, i);
        f->score = (double)best_nf / 1000.0;
    }
    if (p->multi_min > 0 && d->multi >= p->multi_min) {
        proctor_session_flag *f = new_flag(d, PROCTOR_SESSION_MULTIPLE_FACES);
        for (size_t i = 0; i < n; i++)
            if (!skipped(&caps[i]) && caps[i].faces >= 2) add_frame(f, caps, i);
        f->score = d->multi;
    }
    return d->nflags;
}
