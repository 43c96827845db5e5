/* proctor.h - the whole public contract of the proctor module: webcam captures scored
 * against the physician's registered photo, and the capture/suspect queues in Redis. One
 * header per concern, each saying its threading and ownership:
 *   proctor_engine.h  options, JPEG check, face detection and embedding, one result
 *   proctor_pose.h    yaw from the 5 landmarks, the liveness challenge's verdict
 *   proctor_calib.h   cosine -> similarity %, flag names, result JSON, stored embeddings
 *   proctor_queue.h   the capture stream, missing captures, requeue, registered photos
 *   proctor_worker.h  the worker pool that consumes the stream
 *   proctor_session.h session decisions from all of a session's captures
 * Include the one you need; this header includes them all. */
#ifndef PROCTOR_H
#define PROCTOR_H

#include "proctor_calib.h"
#include "proctor_engine.h"
#include "proctor_pose.h"
#include "proctor_queue.h"
#include "proctor_session.h"
#include "proctor_worker.h"

#endif
