/* facesim.h - what facesim.c and facesim_sessions.c (the program facesim) share. Not part
 * of libproctor. Single-threaded. */
#ifndef FACESIM_H
#define FACESIM_H

#include <stddef.h>

#include "proctor_engine.h"
#include "proctor_session.h"

/* Reads a whole file, at most limit+1 bytes (an oversized file still reaches the byte-limit
 * check); *buf is the caller's to free(). */
int facesim_read_file(const char *path, size_t limit, unsigned char **buf, size_t *len,
                      dk_error *err);
/* facesim --eval-sessions DIR: nsessions simulated sessions per kind from DIR's identity
 * folders (clean_pct % of captures the photo as it is, the others degraded), scored with e,
 * decided by rule; prints one JSON object. 0 done, 1 a photo failed, 2 usage/folder. */
int facesim_eval_sessions(proctor_engine *e, const proctor_options *o,
                          const proctor_session_params *rule, const char *dir, int nsessions,
                          int clean_pct, unsigned long long seed);

#endif
