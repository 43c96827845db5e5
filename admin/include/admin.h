/* admin.h - the admin server (admind) as a library, so tests can start it in-process:
 * the registration and review workflow of the seed manuals over MariaDB, for
 * physicians, institutions, assessment institutions and health authorities.
 * admin_start binds and serves on its own threads; admin_stop drains and frees. */
#ifndef ADMIN_H
#define ADMIN_H

#include "dk_config.h"
#include "dk_err.h"

typedef struct admin_server admin_server;

admin_server *admin_start(const dk_config *cfg, dk_error *err);
int admin_port(const admin_server *s);
void admin_stop(admin_server *s);

#endif
