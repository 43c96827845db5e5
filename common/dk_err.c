/* dk_err.c - the table that maps dk_err codes to names and HTTP statuses.
 * Adding a code is adding a row here and an enum value in dk_err.h. */
#include "dk_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
    int http;
} err_table[] = {
    {DK_OK, "ok", 200},
    {DK_EINVAL, "bad_request", 400},
    {DK_EAUTH, "unauthorized", 401},
    {DK_EFORBIDDEN, "forbidden", 403},
    {DK_ENOTFOUND, "not_found", 404},
    {DK_ECONFLICT, "conflict", 409},
    {DK_ETOOBIG, "too_large", 413},
    {DK_EUNPROCESSABLE, "unprocessable", 422},
    {DK_ERATELIMIT, "rate_limited", 429},
    {DK_EBUSY, "overloaded", 503},
    {DK_EIO, "backend_unavailable", 503},
    {DK_ETIMEOUT, "backend_timeout", 504},
    {DK_EINTERNAL, "internal", 500},
    {DK_EPWCHANGE, "password_change_required", 403},
};

static int find(int code)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == code) return (int)i;
    return -1;
}

const char *dk_err_name(int code)
{
    int i = find(code);
    return i < 0 ? "internal" : err_table[i].name;
}

int dk_err_http_status(int code)
{
    int i = find(code);
    return i < 0 ? 500 : err_table[i].http;
}

int dk_error_set(dk_error *e, int code, const char *fmt, ...)
{
    if (e) {
        e->code = code;
        e->retry_after = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void dk_error_clear(dk_error *e)
{
    if (e) memset(e, 0, sizeof *e);
}
