/* proctor_pose.c - yaw from the 5 landmarks, the quality gate's verdict and the liveness
 * challenge's verdict (proctor_pose.h, proctor_engine.h). */
#include <math.h>
#include <string.h>

#include "proctor_pose.h"

double proctor_yaw_from_landmarks(const float lm[10])
{
    double ex = lm[2] - lm[0], ey = lm[3] - lm[1]; /* eye axis, image-left eye to the other */
    double eye = sqrt(ex * ex + ey * ey);
    double mx = lm[8] - lm[6], my = lm[9] - lm[7];
    double mouth = sqrt(mx * mx + my * my);
    if (!(eye > 1e-6) || !(mouth > 1e-6)) return NAN;
    double ux = ex / eye, uy = ey / eye;
    /* offsets of the nose tip from each midpoint, along the eye axis */
    double de = (lm[4] - (lm[0] + lm[2]) / 2) * ux + (lm[5] - (lm[1] + lm[3]) / 2) * uy;
    double dm = (lm[4] - (lm[6] + lm[8]) / 2) * ux + (lm[5] - (lm[7] + lm[9]) / 2) * uy;
    /* rigid model: nose tip depth D = eye / 2 in front of the eye and mouth lines; eyes at
     * +-E/2 project to +-E/2 cos(yaw), the tip to D sin(yaw): offset / (E/2) = tan(yaw) */
    double r = (de / (eye / 2) + dm / (mouth / 2)) / 2;
    return atan(r) * 180.0 / M_PI;
}

const char *proctor_quality_verdict(const proctor_quality_limits *q, const proctor_result *r,
                                    int check_yaw)
{
    if (!r->has_quality) return "";
    if (r->face_px < q->min_face_px) return PROCTOR_RETAKE_TOO_SMALL;
    if (r->brightness < q->min_brightness) return PROCTOR_RETAKE_TOO_DARK;
    if (r->brightness > q->max_brightness) return PROCTOR_RETAKE_TOO_BRIGHT;
    if (r->sharpness < q->min_sharpness) return PROCTOR_RETAKE_BLURRED;
    if (check_yaw && !(fabs(r->yaw) <= q->max_yaw)) return PROCTOR_RETAKE_TURNED;
    return "";
}

const char *proctor_liveness_verdict(const proctor_result f[PROCTOR_LIVENESS_FRAMES],
                                     double min_turn_deg)
{
    for (int i = 0; i < PROCTOR_LIVENESS_FRAMES; i++) {
        if (f[i].faces > 1) return "multiple_faces";
        if (f[i].faces != 1 || !f[i].has_quality || isnan(f[i].yaw)) return "no_face";
    }
    if (!(f[1].yaw - f[0].yaw >= min_turn_deg)) return "not_left";
    if (!(f[0].yaw - f[2].yaw >= min_turn_deg)) return "not_right";
    return "";
}
