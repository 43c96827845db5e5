/* proctord.c - the capture-job workers as a process of their own (examd runs the same
 * pool in-process by default): proctor_workers threads consume proctor:captures until
 * SIGTERM or SIGINT, then each finishes the job in hand and the process exits 0.
 *   proctord [--config FILE]        (environment DK_<KEY> overrides, see dk_config.h)
 * Also runs the missing-capture check once a second. Signals are taken with sigwait on
 * the main thread, so no code runs in a signal handler. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dk_log.h"
#include "proctor.h"

int main(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
        } else {
            fprintf(stderr, "usage: proctord [--config FILE]\n");
            return 2;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the workers */
    signal(SIGPIPE, SIG_IGN);

    dk_error err = {0};
    dk_config *cfg = NULL;
    if (dk_config_load(&cfg, config, &err)) {
        DK_ERROR("proctord", "config: %s", err.msg);
        return 2;
    }
    dk_config_print(cfg, stderr);
    char host[64] = "host", name[96];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(name, sizeof name, "%s:%d", host, (int)getpid());
    proctor_pool *pool = NULL;
    if (proctor_pool_start(&pool, cfg, name, 1, &err)) {
        DK_ERROR("proctord", "cannot start workers: %s", err.msg);
        dk_config_free(cfg);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    DK_INFO("proctord", "signal %d: finishing the jobs in hand", sig);
    proctor_pool_stop(pool);
    dk_config_free(cfg);
    DK_INFO("proctord", "stopped");
    return 0;
}
