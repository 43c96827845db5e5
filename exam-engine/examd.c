/* examd.c - the exam engine's program: load the configuration, print it (without
 * secrets), serve until SIGTERM or SIGINT, then drain and exit 0.
 * Signals are blocked in every thread and taken here with sigwait. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dk_log.h"
#include "exam.h"

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) path = argv[++i];
        else {
            fprintf(stderr, "usage: examd [--config FILE]\n"
                            "  settings come from FILE (or $DK_CONFIG) and DK_<KEY> variables\n");
            return 2;
        }
    }
    dk_error err = {0};
    dk_config *cfg;
    if (dk_config_load(&cfg, path, &err)) {
        fprintf(stderr, "examd: %s\n", err.msg);
        return 2;
    }
    fprintf(stderr, "examd: effective configuration:\n");
    dk_config_print(cfg, stderr);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    exam_server *s = exam_start(cfg, &err);
    if (!s) {
        DK_ERROR("examd", "cannot start: %s", err.msg);
        dk_config_free(cfg);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    DK_INFO("examd", "stopping signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    exam_stop(s);
    dk_config_free(cfg);
    DK_INFO("examd", "stopped");
    return 0;
}
