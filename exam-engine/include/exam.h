/* exam.h - the exam engine: examd's server as a library, so tests and benchmarks can
 * start it in-process. exam_start binds and serves on its own threads; exam_stop
 * drains requests in flight and frees everything. */
#ifndef EXAM_H
#define EXAM_H

#include "dk_config.h"
#include "dk_err.h"

typedef struct exam_server exam_server;

exam_server *exam_start(const dk_config *cfg, dk_error *err);
int exam_port(const exam_server *s);
void exam_stop(exam_server *s);

#endif
