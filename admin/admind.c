/* admind.c - the admin server's program: load the configuration, print it (without
 * secrets), serve until SIGTERM or SIGINT, then drain and exit 0.
 * Signals are blocked in every thread and taken here with sigwait. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "dk_auth.h"
#include "dk_log.h"

/* admind --hash-password: reads one password from stdin and prints its argon2id hash
 * with the configured parameters (for operators, fixtures and demo data). */
static int hash_password(const dk_config *cfg)
{
    char pw[DK_PASSWORD_MAX + 2];
    dk_error err = {0};
    dk_auth a;
    if (!fgets(pw, sizeof pw, stdin)) return 2;
    pw[strcspn(pw, "\r\n")] = '\0';
    char hash[DK_HASH_MAX];
    if (dk_auth_init(&a, cfg, &err) || dk_password_hash(&a, pw, strlen(pw), hash, &err)) {
        fprintf(stderr, "admind: %s\n", err.msg);
        return 1;
    }
    puts(hash);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int hash_mode = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--hash-password"))
            hash_mode = 1;
        else {
            fprintf(stderr, "usage: admind [--config FILE] [--hash-password < password]\n"
                            "  settings come from FILE (or $DK_CONFIG) and DK_<KEY> variables\n");
            return 2;
        }
    }
    dk_error err = {0};
    dk_config *cfg;
    if (dk_config_load(&cfg, path, &err)) {
        fprintf(stderr, "admind: %s\n", err.msg);
        return 2;
    }
    if (hash_mode) {
        int rc = hash_password(cfg);
        dk_config_free(cfg);
        return rc;
    }
    fprintf(stderr, "admind: effective configuration:\n");
    dk_config_print(cfg, stderr);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    admin_server *s = admin_start(cfg, &err);
    if (!s) {
        DK_ERROR("admind", "cannot start: %s", err.msg);
        dk_config_free(cfg);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    DK_INFO("admind", "stopping signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    admin_stop(s);
    dk_config_free(cfg);
    DK_INFO("admind", "stopped");
    return 0;
}
