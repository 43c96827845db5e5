/* proctor_session.h - session decisions: a sitting is flagged from all of its captures
 * together, never from one frame alone (issue 14, item 4). Pure C, no I/O, no allocation:
 * any thread. The worker feeds it the session's scored captures after each capture
 * (proctor_worker.c); facesim --eval-sessions feeds it simulated sessions to fit and
 * measure the parameters (proctor/README.md, "Session decisions").
 *
 * Which frames count:
 *   - flag "retake" (quality gating: too small, blurred, dark, turned) and "bad_image":
 *     skipped entirely (neither low nor genuine evidence, do not break a run);
 *   - a frame with a similarity (exactly one face, a reference): "low" when
 *     similarity < low, otherwise genuine evidence;
 *   - faces == 0: part of a no-face stretch; faces >= 2: a multiple-faces frame;
 *   - pending (taken, not scored yet: another worker has it): unknown. It breaks runs and
 *     no-face stretches and counts in the share's denominator, so that captures scored out
 *     of order never show a run or share the complete session does not have (the last
 *     capture's decision sees them all).
 * Rules (each one a reason; a session may carry several):
 *   low_similarity_run    run_len consecutive low frames (counted over frames with a
 *                         similarity; frames without one neither extend nor break a run)
 *   low_similarity_share  at least share_min low frames and low / (scored + pending)
 *                         >= share %
 *   low_similarity_median at least median_min frames with a similarity and their median
 *                         < median (0 = rule off)
 *   no_face_time          no face from a no-face frame to the last no-face frame before a
 *                         face shows again, for at least no_face_ms (a lower bound of the
 *                         absence: the frames around it are minutes apart)
 *   multiple_faces        at least multi_min frames with two or more faces (0 = off)
 * Missing captures stay with proctor_check_missing (proctor_queue.c): they are about
 * frames that never came, which a list of captures cannot show. */
#ifndef PROCTOR_SESSION_H
#define PROCTOR_SESSION_H

#include <stddef.h>

#include "dk_config.h"
#include "dk_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One capture of the session, in the order taken. flag is the stored flag name
 * ("low_similarity", "no_face", "multiple_faces", "bad_image", "retake", ...; NULL or ""
 * for none); borrowed. */
typedef struct proctor_session_capture {
    long long id;       /* proctor_capture.id (reported back as evidence) */
    long long taken_ms; /* unix ms */
    int has_similarity;
    double similarity; /* calibrated %, when has_similarity */
    int faces;         /* -1: unknown (not scored / bad image) */
    const char *flag;
    int pending; /* not scored yet (see above) */
} proctor_session_capture;

typedef struct proctor_session_params {
    double low;           /* similarity % below which a frame is low (proctor_threshold) */
    int run_len;          /* low_similarity_run; 0 = off */
    double share;         /* low_similarity_share: % of frames with a similarity; 0 = off */
    int share_min;        /* ... and at least this many low frames */
    double median;        /* low_similarity_median: % ; 0 = off */
    int median_min;       /* ... over at least this many frames with a similarity */
    long long no_face_ms; /* no_face_time; 0 = off */
    int multi_min;        /* multiple_faces; 0 = off */
} proctor_session_params;

typedef enum proctor_session_reason {
    PROCTOR_SESSION_LOW_RUN = 0,
    PROCTOR_SESSION_LOW_SHARE,
    PROCTOR_SESSION_LOW_MEDIAN,
    PROCTOR_SESSION_NO_FACE_TIME,
    PROCTOR_SESSION_MULTIPLE_FACES,
    PROCTOR_SESSION_NREASONS
} proctor_session_reason;

#define PROCTOR_SESSION_MAX_FRAMES 128 /* evidence frames kept per flag (examd stores 100) */

typedef struct proctor_session_flag {
    proctor_session_reason reason;
    double score; /* low_*: the lowest similarity behind it (median: the median);
                   * no_face_time: seconds without a face; multiple_faces: frame count */
    int nframes;  /* frames behind the flag */
    int index[PROCTOR_SESSION_MAX_FRAMES];    /* their positions in the input */
    long long id[PROCTOR_SESSION_MAX_FRAMES]; /* their capture ids */
} proctor_session_flag;

typedef struct proctor_session_decision {
    int nflags; /* 0: not flagged */
    proctor_session_flag flags[PROCTOR_SESSION_NREASONS];
    /* what the rules looked at */
    int scored, low, no_face, multi, skipped, pending;
    double median; /* of the frames with a similarity; 0 when none */
    int longest_run;
    long long longest_no_face_ms;
} proctor_session_decision;

/* The fitted defaults (= the configuration table's). */
void proctor_session_params_default(proctor_session_params *p);
/* proctor_threshold and the proctor_session_* keys; DK_EINVAL for values out of range. */
int proctor_session_params_from_config(proctor_session_params *p, const dk_config *cfg,
                                       dk_error *err);
/* Decides over caps[0..n) (in the order taken). Always fills *d. Returns d->nflags. */
int proctor_session_decide(const proctor_session_params *p, const proctor_session_capture *caps,
                           size_t n, proctor_session_decision *d);
/* "low_similarity_run", ... (the proctor_suspect.reason value). */
const char *proctor_session_reason_name(proctor_session_reason r);

#ifdef __cplusplus
}
#endif

#endif
