/* test_slurp.h - a whole file into memory, for the proctor tests (after <cmocka.h>).
 * slurp: NULL when the file cannot be opened; slurp_or_fail: the test fails instead. The
 * buffer is malloc'd with a spare byte; the caller frees it. */
#ifndef TEST_SLURP_H
#define TEST_SLURP_H

#include <stdio.h>
#include <stdlib.h>

static inline unsigned char *slurp(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n + 1 : 1);
    assert_non_null(b);
    *len = n > 0 ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    assert_int_equal(*len, n > 0 ? (size_t)n : 0);
    return b;
}

static inline unsigned char *slurp_or_fail(const char *path, size_t *len)
{
    unsigned char *b = slurp(path, len);
    if (!b) fail_msg("cannot read %s", path);
    return b;
}

#endif
