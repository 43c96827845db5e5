/* dk_json.h - JSON helpers over jansson: bounded parsing and field-by-field validation.
 *
 * Every parser has a maximum: dk_json_parse refuses bodies over max_len bytes and
 * documents nested deeper than max_depth. Getters check type and length and say
 * which field is wrong in the dk_error. Returned strings are borrowed from the
 * json_t and live as long as it does. */
#ifndef DK_JSON_H
#define DK_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "dk_err.h"

#define DK_JSON_MAX_DEPTH 16

int dk_json_parse(const char *buf, size_t len, size_t max_len, json_t **out, dk_error *err);
/* Refuses any key of obj not in allowed (NULL-terminated list). */
int dk_json_only_keys(json_t *obj, const char *const *allowed, dk_error *err);
/* Required string field of length 1..max_len bytes (valid UTF-8 is guaranteed by jansson). */
int dk_json_str(json_t *obj, const char *key, size_t max_len, const char **out, dk_error *err);
/* Optional string: *out = NULL when absent or null. */
int dk_json_str_opt(json_t *obj, const char *key, size_t max_len, const char **out,
                    dk_error *err);
int dk_json_int(json_t *obj, const char *key, long long min, long long max, long long *out,
                dk_error *err);
int dk_json_int_opt(json_t *obj, const char *key, long long min, long long max, long long dflt,
                    long long *out, dk_error *err);
/* Serialises compactly; the caller frees the result with free(). Aborts on OOM. */
char *dk_json_dump(const json_t *v);

/* Text limits are characters, as the columns (VARCHAR(n) of utf8mb4) and the pages count
 * them, never bytes: dk_utf8_chars counts the code points of valid UTF-8 (jansson's strings
 * are), dk_text_max refuses more than max with DK_EINVAL "<label>不能超过 N 字（现有 M 字）"
 * (NULL s: 0 characters). */
size_t dk_utf8_chars(const char *s, size_t len);
int dk_text_max(dk_error *err, const char *label, const char *s, size_t max);
/* Cutting text by characters, never mid-character (a half character is invalid UTF-8, which
 * jansson refuses): dk_utf8_prefix is the byte length of s's first max characters, for
 * printf's "%.*s"; dk_utf8_trim drops a trailing incomplete sequence from s in place (what a
 * byte-counted cut such as snprintf's into a short buffer leaves). */
int dk_utf8_prefix(const char *s, size_t max);
void dk_utf8_trim(char *s);

#endif
