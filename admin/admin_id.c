/* admin_id.c - 居民身份证 numbers: validation (GB 11643 check digit), the 15 <-> 18
 * digit forms for searching (seed [004]: "注意 15 位和 18 位身份证号码"), and the birth
 * date and sex they encode. Pure functions, no I/O. Masking for lists is dk_mask_id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static char check_digit(const char *id17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id17[i] - '0') * w[i];
    return "10X98765432"[sum % 11];
}

int admin_id_birth(const char *id, char out[11])
{
    size_t n = id ? strlen(id) : 0;
    char y[5], m[3], d[3];
    if (n == 18 && all_digits(id, 17)) {
        memcpy(y, id + 6, 4);
        memcpy(m, id + 10, 2);
        memcpy(d, id + 12, 2);
    } else if (n == 15 && all_digits(id, 15)) {
        y[0] = '1', y[1] = '9';
        memcpy(y + 2, id + 6, 2);
        memcpy(m, id + 8, 2);
        memcpy(d, id + 10, 2);
    } else {
        return DK_EINVAL;
    }
    y[4] = m[2] = d[2] = '\0';
    snprintf(out, 11, "%s-%s-%s", y, m, d);
    return admin_parse_date(out);
}

const char *admin_id_sex(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 18 && all_digits(id, 17)) return (id[16] - '0') % 2 ? "男" : "女";
    if (n == 15 && all_digits(id, 15)) return (id[14] - '0') % 2 ? "男" : "女";
    return NULL;
}

int admin_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    char birth[11];
    if (n == 15) return all_digits(id, 15) && admin_id_birth(id, birth) == 0;
    if (n != 18 || !all_digits(id, 17) || !((id[17] >= '0' && id[17] <= '9') || id[17] == 'X'))
        return 0;
    return check_digit(id) == id[17] && admin_id_birth(id, birth) == 0;
}

void admin_id_other_form(const char *id, char out[20])
{
    out[0] = '\0';
    size_t n = id ? strlen(id) : 0;
    if (n == 15 && all_digits(id, 15)) {
        char x[19];
        memcpy(x, id, 6);
        x[6] = '1', x[7] = '9';
        memcpy(x + 8, id + 6, 9);
        x[17] = check_digit(x);
        x[18] = '\0';
        memcpy(out, x, 19);
    } else if (n == 18 && all_digits(id, 17) && id[6] == '1' && id[7] == '9') {
        memcpy(out, id, 6);
        memcpy(out + 6, id + 8, 9);
        out[15] = '\0';
    }
}
