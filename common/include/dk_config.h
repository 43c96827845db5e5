/* dk_config.h - configuration: one file format with defaults, overridable by environment.
 *
 * The file is "key = value" lines ('#' comments). Every key is a row of the table in
 * dk_config.c (name, default, secret flag, help); an unknown key in the file is an
 * error. The environment overrides the file: key "redis_port" is DK_REDIS_PORT.
 * The file path is the argument, else $DK_CONFIG, else defaults only.
 * A loaded dk_config is immutable and may be read from any thread. */
#ifndef DK_CONFIG_H
#define DK_CONFIG_H

#include <stdio.h>
#include "dk_err.h"

typedef struct dk_config dk_config;

int dk_config_load(dk_config **out, const char *path, dk_error *err);
void dk_config_free(dk_config *cfg);

/* Lookups of keys that are not in the table abort (a programming error). */
const char *dk_config_str(const dk_config *cfg, const char *key);
long long dk_config_int(const dk_config *cfg, const char *key);
double dk_config_double(const dk_config *cfg, const char *key);
int dk_config_bool(const dk_config *cfg, const char *key);
/* Where a key's value came from: "default", "file" or "env". */
const char *dk_config_source(const dk_config *cfg, const char *key);

/* Prints the effective configuration, one "key = value (source)" per line, with
 * secrets shown as "***". Servers call it at start. */
void dk_config_print(const dk_config *cfg, FILE *out);

#endif
