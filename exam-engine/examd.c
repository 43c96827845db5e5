/* examd.c - the exam engine's program: dk_serve_main does the rest (configuration,
 * signals, drain on SIGTERM, --hash-password). */
#include "dk_serve.h"
#include "exam.h"

static void *start(const dk_config *cfg, dk_error *err) { return exam_start(cfg, err); }
static void stop(void *s) { exam_stop(s); }

int main(int argc, char **argv) { return dk_serve_main(argc, argv, "examd", start, stop); }
