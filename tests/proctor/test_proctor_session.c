/* test_proctor_session.c - session decisions (proctor_session.h) on constructed sessions
 * that attack the rule: a genuine physician's blurred frame (similarity in the impostor
 * range) does not flag; a stand-in half way does, with the frames behind it; no face for
 * longer than the limit does, shorter does not; quality-gated ("retake") and bad frames are
 * neither low nor genuine evidence; the configuration keys reach the rule. No I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proctor.h"

#define MIN 60000LL

/* A session from a string, one character per capture, 5 minutes apart:
 *   G genuine (85 %), L low (20 %: someone else, or a blurred frame), N no face,
 *   M two faces, R "retake" (quality gating), B bad image, P pending (not scored yet).
 * Ids are 100 + position. */
static size_t build(const char *s, proctor_session_capture *caps)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        proctor_session_capture *c = &caps[i];
        memset(c, 0, sizeof *c);
        c->id = 100 + (long long)i;
        c->taken_ms = 1765000000000LL + (long long)i * 5 * MIN;
        c->faces = 1;
        switch (s[i]) {
        case 'G': c->has_similarity = 1, c->similarity = 85; break;
        case 'L': c->has_similarity = 1, c->similarity = 20, c->flag = "low_similarity"; break;
        case 'N': c->faces = 0, c->flag = "no_face"; break;
        case 'M': c->faces = 2, c->flag = "multiple_faces"; break;
        case 'R': c->has_similarity = 1, c->similarity = 12, c->flag = "retake"; break;
        case 'B': c->faces = -1, c->flag = "bad_image"; break;
        case 'P': c->faces = -1, c->pending = 1; break;
        default: fail_msg("bad session letter %c", s[i]);
        }
    }
    return n;
}

/* The decision as the worker makes it: after each capture; flagged if any prefix was.
 * Returns the reasons seen (bit per reason) and fills *last with the final decision. */
static int decide_online(const proctor_session_params *p, const char *s,
                         proctor_session_decision *last)
{
    proctor_session_capture caps[128];
    size_t n = build(s, caps);
    int reasons = 0;
    for (size_t k = 1; k <= n; k++) {
        proctor_session_decide(p, caps, k, last);
        for (int f = 0; f < last->nflags; f++)
            reasons |= 1 << last->flags[f].reason;
    }
    return reasons;
}

static const proctor_session_flag *find(const proctor_session_decision *d, proctor_session_reason r)
{
    for (int i = 0; i < d->nflags; i++)
        if (d->flags[i].reason == r) return &d->flags[i];
    return NULL;
}

static void test_genuine_with_bad_frames(void **state)
{
    (void)state;
    proctor_session_params p;
    proctor_session_params_default(&p);
    proctor_session_decision d;
    /* one blurred frame (scores like someone else) */
    assert_int_equal(decide_online(&p, "GGGGGLGGGGGG", &d), 0);
    /* the first frame blurred, when nothing else is known yet */
    assert_int_equal(decide_online(&p, "LGGGGGGGGGGG", &d), 0);
    /* three bad frames in a row (a dim room for a quarter of an hour) */
    assert_int_equal(decide_online(&p, "GGGLLLGGGGGG", &d), 0);
    /* scattered bad frames, a third of the session */
    assert_int_equal(decide_online(&p, "GLGGLGGLGGLG", &d), 0);
    assert_int_equal(d.low, 4);
    assert_int_equal(d.scored, 12);
    assert_int_equal(d.longest_run, 1);
    /* one frame without a face, two five minutes apart */
    assert_int_equal(decide_online(&p, "GGGNGGGGNNGG", &d), 0);
    assert_int_equal(d.longest_no_face_ms, 5 * MIN);
}

static void test_standin(void **state)
{
    (void)state;
    proctor_session_params p;
    proctor_session_params_default(&p);
    proctor_session_decision d;
    /* a stand-in for the whole session: flagged, every frame behind it */
    int r = decide_online(&p, "LLLLLLLLLLLL", &d);
    assert_true(r & (1 << PROCTOR_SESSION_LOW_RUN));
    /* a stand-in half way: flagged, and the frames behind it are the stand-in's */
    r = decide_online(&p, "GGGGGGLLLLLL", &d);
    assert_true(r & (1 << PROCTOR_SESSION_LOW_RUN));
    const proctor_session_flag *f = find(&d, PROCTOR_SESSION_LOW_RUN);
    assert_non_null(f);
    assert_int_equal(f->nframes, 6);
    for (int k = 0; k < 6; k++) {
        assert_int_equal(f->index[k], 6 + k);
        assert_int_equal(f->id[k], 106 + k);
    }
    assert_true(f->score == 20);
    assert_string_equal(proctor_session_reason_name(f->reason), "low_similarity_run");
    /* half way, behind a no-face frame (it neither breaks nor extends the run) */
    r = decide_online(&p, "GGGGGGLLNLLG", &d);
    assert_true(r & (1 << PROCTOR_SESSION_LOW_RUN));
    f = find(&d, PROCTOR_SESSION_LOW_RUN);
    assert_int_equal(f->nframes, 4);
    assert_int_equal(f->id[2], 109);
    /* a stand-in who comes and goes: no run of 4, but half the frames low */
    r = decide_online(&p, "GLLGLLGLLGLL", &d);
    assert_false(r & (1 << PROCTOR_SESSION_LOW_RUN));
    assert_true(r & (1 << PROCTOR_SESSION_LOW_SHARE));
    f = find(&d, PROCTOR_SESSION_LOW_SHARE);
    assert_int_equal(f->nframes, 8);
}

static void test_no_face_time(void **state)
{
    (void)state;
    proctor_session_params p;
    proctor_session_params_default(&p); /* 10 minutes */
    proctor_session_decision d;
    /* away for three captures: 10 minutes between the first and the last */
    int r = decide_online(&p, "GGGNNNGGGGGG", &d);
    assert_true(r & (1 << PROCTOR_SESSION_NO_FACE_TIME));
    const proctor_session_flag *f = find(&d, PROCTOR_SESSION_NO_FACE_TIME);
    assert_non_null(f);
    assert_int_equal(f->nframes, 3);
    assert_int_equal(f->id[0], 103);
    assert_true(f->score == 600);
    /* two captures 5 minutes apart are not 10 minutes */
    assert_int_equal(decide_online(&p, "GGGNNGGGGGGG", &d), 0);
    /* a face in between ends the stretch */
    assert_int_equal(decide_online(&p, "GGGNNGNNGGGG", &d), 0);
    /* a retake in between neither ends nor extends it */
    r = decide_online(&p, "GGGNRNNGGGGG", &d);
    assert_true(r & (1 << PROCTOR_SESSION_NO_FACE_TIME));
    f = find(&d, PROCTOR_SESSION_NO_FACE_TIME);
    assert_int_equal(f->nframes, 3);
    assert_true(f->score == 900); /* seconds: from the 4th capture to the 7th */
    /* configured shorter: two captures 5 minutes apart do */
    p.no_face_ms = 5 * MIN;
    assert_true(decide_online(&p, "GGGNNGGGGGGG", &d) & (1 << PROCTOR_SESSION_NO_FACE_TIME));
    p.no_face_ms = 0; /* off */
    assert_int_equal(decide_online(&p, "NNNNNNNNNNNN", &d), 0);
}

static void test_retake_and_bad_are_skipped(void **state)
{
    (void)state;
    proctor_session_params p;
    proctor_session_params_default(&p);
    proctor_session_decision d;
    /* retakes carry low similarities (the quality gate refused them): never low */
    assert_int_equal(decide_online(&p, "GRRRRRRRRRRG", &d), 0);
    assert_int_equal(d.low, 0);
    assert_int_equal(d.scored, 2);
    assert_int_equal(d.skipped, 10);
    /* ...nor genuine evidence: a run of lows goes on through them */
    int r = decide_online(&p, "GGLLRRLLGGGG", &d);
    assert_true(r & (1 << PROCTOR_SESSION_LOW_RUN));
    assert_int_equal(find(&d, PROCTOR_SESSION_LOW_RUN)->nframes, 4);
    /* bad images too */
    assert_int_equal(decide_online(&p, "GBBBBBBBBBBG", &d), 0);
}

/* Workers score a session's captures out of order: a capture not scored yet must not let
 * the lows around it look consecutive, nor the lows look like a larger share. */
static void test_pending_frames(void **state)
{
    (void)state;
    proctor_session_params p;
    proctor_session_params_default(&p);
    proctor_session_decision d;
    /* the middle one may be genuine: no run of 4 yet */
    assert_int_equal(decide_online(&p, "GGLLPLLGGGGG", &d), 0);
    assert_int_equal(d.longest_run, 2);
    assert_int_equal(d.pending, 1);
    /* scored low: now it is one */
    assert_true(decide_online(&p, "GGLLLLLGGGGG", &d) & (1 << PROCTOR_SESSION_LOW_RUN));
    /* 6 lows scored, 6 pending: 50 % at most so far, flagged only at 50 % */
    p.share = 60;
    assert_int_equal(decide_online(&p, "LPLPLPLPLPLP", &d), 0);
    assert_true(decide_online(&p, "LGLGLLLGLGLL", &d) & (1 << PROCTOR_SESSION_LOW_SHARE));
    /* a pending frame ends a no-face stretch */
    proctor_session_params_default(&p);
    assert_int_equal(decide_online(&p, "GNNPNNGGGGGG", &d), 0);
}

static void test_multiple_faces_and_median(void **state)
{
    (void)state;
    proctor_session_params p;
    proctor_session_params_default(&p);
    proctor_session_decision d;
    int r = decide_online(&p, "GGGGMGGGGGGG", &d);
    assert_int_equal(r, 1 << PROCTOR_SESSION_MULTIPLE_FACES);
    assert_int_equal(find(&d, PROCTOR_SESSION_MULTIPLE_FACES)->id[0], 104);
    p.multi_min = 2;
    assert_int_equal(decide_online(&p, "GGGGMGGGGGGG", &d), 0);
    /* the median rule, when configured */
    proctor_session_params_default(&p);
    p.run_len = 0;
    p.share = 0;
    p.median = 40;
    p.median_min = 4;
    /* 2 lows of 3 frames: too few to judge; then the median is genuine */
    assert_int_equal(decide_online(&p, "LLGGGGGGGGGG", &d), 0);
    r = decide_online(&p, "GLLLLLLGGGGG", &d);
    assert_true(r & (1 << PROCTOR_SESSION_LOW_MEDIAN));
    assert_true(d.median == 52.5); /* over all 12: (20 + 85) / 2 */
}

static void test_config(void **state)
{
    (void)state;
    dk_config *cfg = NULL;
    dk_error err = {0};
    assert_int_equal(dk_config_load(&cfg, NULL, &err), 0);
    proctor_session_params p, def;
    assert_int_equal(proctor_session_params_from_config(&p, cfg, &err), 0);
    proctor_session_params_default(&def);
    /* the configuration table's defaults are the fitted values */
    assert_int_equal(p.run_len, def.run_len);
    assert_true(p.share == def.share);
    assert_int_equal(p.share_min, def.share_min);
    assert_true(p.median == def.median);
    assert_int_equal(p.median_min, def.median_min);
    assert_int_equal(p.no_face_ms, def.no_face_ms);
    assert_int_equal(p.multi_min, def.multi_min);
    assert_true(p.low == 40);
    dk_config_free(cfg);
    setenv("DK_PROCTOR_SESSION_LOW_RUN", "3", 1);
    setenv("DK_PROCTOR_SESSION_NO_FACE_S", "120", 1);
    assert_int_equal(dk_config_load(&cfg, NULL, &err), 0);
    assert_int_equal(proctor_session_params_from_config(&p, cfg, &err), 0);
    assert_int_equal(p.run_len, 3);
    assert_int_equal(p.no_face_ms, 120000);
    dk_config_free(cfg);
    setenv("DK_PROCTOR_SESSION_LOW_SHARE_MIN", "0", 1);
    assert_int_equal(dk_config_load(&cfg, NULL, &err), 0);
    assert_int_equal(proctor_session_params_from_config(&p, cfg, &err), DK_EINVAL);
    dk_config_free(cfg);
    unsetenv("DK_PROCTOR_SESSION_LOW_RUN");
    unsetenv("DK_PROCTOR_SESSION_NO_FACE_S");
    unsetenv("DK_PROCTOR_SESSION_LOW_SHARE_MIN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_with_bad_frames),
        cmocka_unit_test(test_standin),
        cmocka_unit_test(test_no_face_time),
        cmocka_unit_test(test_retake_and_bad_are_skipped),
        cmocka_unit_test(test_pending_frames),
        cmocka_unit_test(test_multiple_faces_and_median),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
