/* dk_log.h - one-line logs to stderr: time, level, module, message, key=value pairs.
 *
 * Thread-safe (one fprintf per line). Never pass personal data: mask ID numbers
 * with dk_mask_id(), and never log passwords, tokens or photos. */
#ifndef DK_LOG_H
#define DK_LOG_H

#include <stddef.h>

typedef enum { DK_LOG_DEBUG = 0, DK_LOG_INFO, DK_LOG_WARN, DK_LOG_ERROR } dk_log_level;

void dk_log_set_level(dk_log_level lvl);
int dk_log_parse_level(const char *name, dk_log_level *out); /* "debug".."error"; 0 or DK_EINVAL */
void dk_log(dk_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define DK_DEBUG(mod, ...) dk_log(DK_LOG_DEBUG, mod, __VA_ARGS__)
#define DK_INFO(mod, ...) dk_log(DK_LOG_INFO, mod, __VA_ARGS__)
#define DK_WARN(mod, ...) dk_log(DK_LOG_WARN, mod, __VA_ARGS__)
#define DK_ERROR(mod, ...) dk_log(DK_LOG_ERROR, mod, __VA_ARGS__)

/* Masks an ID number for lists and logs: first 4 and last 2 characters kept
 * ("1402*****19" style). Writes at most outsz bytes, always NUL-terminated. */
void dk_mask_id(const char *id, char *out, size_t outsz);

/* Out of memory aborts with a message, as Redis does. */
void *dk_malloc(size_t n);
void *dk_calloc(size_t n, size_t size);
void *dk_realloc(void *p, size_t n);
char *dk_strdup(const char *s);
char *dk_strndup(const char *s, size_t n);

/* v in decimal into out (room for 21 bytes), NUL-terminated; returns the length. The
 * hot paths' replacement for snprintf("%lld"), whose format parsing costs more than the
 * rest of an answer save's argument building. */
size_t dk_fmt_ll(char *out, long long v);

#endif
