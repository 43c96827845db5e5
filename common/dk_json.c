/* dk_json.c - bounded JSON parsing and typed field getters over jansson.
 * The depth check walks the parsed tree once; jansson's own limit is far deeper. */
#include "dk_json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"

static int depth_ok(json_t *v, size_t depth)
{
    if (depth > DK_JSON_MAX_DEPTH) return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) if (!depth_ok(c, depth + 1)) return 0;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) if (!depth_ok(c, depth + 1)) return 0;
    }
    return 1;
}

int dk_json_parse(const char *buf, size_t len, size_t max_len, json_t **out, dk_error *err)
{
    *out = NULL;
    if (len > max_len)
        return dk_error_set(err, DK_ETOOBIG, "JSON body of %zu bytes over the limit %zu", len,
                            max_len);
    if (len == 0) return dk_error_set(err, DK_EINVAL, "empty body, expected JSON");
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) return dk_error_set(err, DK_EINVAL, "malformed JSON at byte %d: %s", je.position, je.text);
    if (!depth_ok(v, 1)) {
        json_decref(v);
        return dk_error_set(err, DK_EINVAL, "JSON nested deeper than %d", DK_JSON_MAX_DEPTH);
    }
    *out = v;
    return 0;
}

int dk_json_only_keys(json_t *obj, const char *const *allowed, dk_error *err)
{
    if (!json_is_object(obj)) return dk_error_set(err, DK_EINVAL, "expected a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        (void)v;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, k)) ok = 1;
        if (!ok) return dk_error_set(err, DK_EINVAL, "unknown field '%.64s'", k);
    }
    return 0;
}

static int get_str(json_t *obj, const char *key, size_t max_len, const char **out, int required,
                   dk_error *err)
{
    *out = NULL;
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        if (required) return dk_error_set(err, DK_EINVAL, "missing field '%s'", key);
        return 0;
    }
    if (!json_is_string(v)) return dk_error_set(err, DK_EINVAL, "field '%s' must be a string", key);
    size_t n = json_string_length(v);
    if (n == 0 && required) return dk_error_set(err, DK_EINVAL, "field '%s' is empty", key);
    if (n > max_len)
        return dk_error_set(err, DK_EINVAL, "field '%s' longer than %zu bytes", key, max_len);
    if (strlen(json_string_value(v)) != n)
        return dk_error_set(err, DK_EINVAL, "field '%s' contains a NUL character", key);
    *out = json_string_value(v);
    return 0;
}

int dk_json_str(json_t *obj, const char *key, size_t max_len, const char **out, dk_error *err)
{
    return get_str(obj, key, max_len, out, 1, err);
}

int dk_json_str_opt(json_t *obj, const char *key, size_t max_len, const char **out, dk_error *err)
{
    return get_str(obj, key, max_len, out, 0, err);
}

static int get_int(json_t *obj, const char *key, long long min, long long max, long long *out,
                   int required, dk_error *err)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        if (required) return dk_error_set(err, DK_EINVAL, "missing field '%s'", key);
        return 1;
    }
    if (!json_is_integer(v))
        return dk_error_set(err, DK_EINVAL, "field '%s' must be an integer", key);
    long long i = json_integer_value(v);
    if (i < min || i > max)
        return dk_error_set(err, DK_EINVAL, "field '%s' must be between %lld and %lld", key, min,
                            max);
    *out = i;
    return 0;
}

int dk_json_int(json_t *obj, const char *key, long long min, long long max, long long *out,
                dk_error *err)
{
    return get_int(obj, key, min, max, out, 1, err);
}

int dk_json_int_opt(json_t *obj, const char *key, long long min, long long max, long long dflt,
                    long long *out, dk_error *err)
{
    int rc = get_int(obj, key, min, max, out, 0, err);
    if (rc == 1) {
        *out = dflt;
        return 0;
    }
    return rc;
}

char *dk_json_dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        fprintf(stderr, "dingkao: out of memory serialising JSON\n");
        abort();
    }
    return s;
}

size_t dk_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int dk_utf8_prefix(const char *s, size_t max)
{
    size_t i = 0, n = 0;
    if (!s) return 0;
    for (; s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == max) break;
    return (int)(i > INT_MAX ? INT_MAX : i);
}

void dk_utf8_trim(char *s)
{
    size_t len = strlen(s), i = len, cont = 0;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && cont < 3)
        i--, cont++;
    if (!i) return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
    if (lead >= 0x80 && need != cont) s[i - 1] = '\0';
}

int dk_text_max(dk_error *err, const char *label, const char *s, size_t max)
{
    size_t n = s ? dk_utf8_chars(s, strlen(s)) : 0;
    if (n <= max) return 0;
    return dk_error_set(err, DK_EINVAL, "%s不能超过 %zu 字（现有 %zu 字）", label, max, n);
}
