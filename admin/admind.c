/* admind.c - the admin server's program: dk_serve_main does the rest (configuration,
 * signals, drain on SIGTERM, --hash-password for operators, fixtures and demo data). */
#include "admin.h"
#include "dk_serve.h"

static void *start(const dk_config *cfg, dk_error *err) { return admin_start(cfg, err); }
static void stop(void *s) { admin_stop(s); }

int main(int argc, char **argv) { return dk_serve_main(argc, argv, "admind", start, stop); }
