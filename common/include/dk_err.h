/* dk_err.h - the one error convention of dingkao.
 *
 * Functions return 0 on success or a negative dk_err code, and fill a caller-owned
 * dk_error with a human-readable message (English, for logs; user-facing text is
 * chosen by the HTTP layer from the code). The HTTP layer maps codes to statuses in
 * one table (dk_err.c). No allocation: dk_error is a plain struct on the stack. */
#ifndef DK_ERR_H
#define DK_ERR_H

#include <stddef.h>

typedef enum dk_err {
    DK_OK = 0,
    DK_EINVAL = -1,        /* bad input: 400 */
    DK_EAUTH = -2,         /* not authenticated: 401 */
    DK_EFORBIDDEN = -3,    /* authenticated but not allowed: 403 */
    DK_ENOTFOUND = -4,     /* 404 */
    DK_ECONFLICT = -5,     /* state conflict, e.g. after the deadline: 409 */
    DK_ETOOBIG = -6,       /* 413 */
    DK_EUNPROCESSABLE = -7,/* 422, e.g. an image that cannot be decoded */
    DK_ERATELIMIT = -8,    /* 429 with Retry-After */
    DK_EBUSY = -9,         /* overloaded: 503 with Retry-After */
    DK_EIO = -10,          /* a backend (Redis, MariaDB, file) failed: 503 */
    DK_ETIMEOUT = -11,     /* a backend did not answer in time: 504 */
    DK_EINTERNAL = -12,    /* a bug: 500 */
    DK_EPWCHANGE = -13,    /* a valid token that must change its initial password first: 403 */
    DK_ERR_COUNT_ = 14
} dk_err;

typedef struct dk_error {
    int code;           /* a dk_err value */
    int retry_after;    /* seconds, for DK_ERATELIMIT / DK_EBUSY; 0 if not set */
    char msg[256];
} dk_error;

/* Sets *e (if not NULL) and returns code, so callers can `return dk_error_set(...)`. */
int dk_error_set(dk_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dk_error_clear(dk_error *e);

const char *dk_err_name(int code);   /* stable machine code: "bad_request", "conflict", ... */
int dk_err_http_status(int code);    /* 400, 401, ... ; 500 for unknown codes */

#endif
