/* proctor_pose.h - head pose from the detector's 5 landmarks, and the liveness challenge
 * decision (issue 14 item 3). Pure functions, any thread (also an event loop). One yaw
 * estimate serves both the quality gate ("turned") and the challenge. */
#ifndef PROCTOR_POSE_H
#define PROCTOR_POSE_H

#include "proctor_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Yaw in degrees from YuNet's 5 landmarks (x, y pairs: eye, eye, nose tip, mouth corner,
 * mouth corner; the first eye is the one on the image's left). 0 = facing the camera;
 * positive = the nose points to the image's right, i.e. the person turned to THEIR left
 * in an unmirrored camera frame. The nose tip's offset from the face's midline (the
 * midpoint of the eyes and that of the mouth corners, measured along the eye axis so a
 * tilted head does not count) divided by the half-widths of the eyes and of the mouth,
 * mapped through atan: a rigid head whose nose tip stands half an eye distance in front
 * of the eyes and mouth corners gives exactly its yaw. An estimate, not a measurement:
 * noses differ; proctor/README.md has the figures on real photos. NaN for degenerate
 * landmarks (eyes or mouth corners on one point). */
double proctor_yaw_from_landmarks(const float lm[10]);

/* The camera check's liveness challenge: three frames taken at the page's prompts: facing
 * the camera, head turned left, head turned right (the physician's left and right). */
#define PROCTOR_LIVENESS_FRAMES 3
#define PROCTOR_LIVENESS_MIN_TURN 15.0 /* degrees each way from the front frame (README) */

/* The verdict on the three scored frames: "" (passed) or a code: "no_face" /
 * "multiple_faces" (a frame without exactly one face; also every frame degraded),
 * "not_left" (left frame's yaw - front's < min_turn), "not_right" (front's - right frame's
 * < min_turn). A still photo or a screen held still turns neither way. */
const char *proctor_liveness_verdict(const proctor_result frames[PROCTOR_LIVENESS_FRAMES],
                                     double min_turn_deg);

#ifdef __cplusplus
}
#endif

#endif
