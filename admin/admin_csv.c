/* admin_csv.c - the CSV of the physician import and export: RFC 4180 records (quoted
 * fields, doubled quotes, CRLF or LF, a UTF-8 BOM skipped), and fields written with a
 * guard against spreadsheet formula injection. Pure, bounded: fields are at most
 * 4 KiB, a record at most its max fields. */
#include <stdlib.h>
#include <string.h>

#include "admin_export.h"

#define FIELD_MAX 4096

int admin_csv_record(const char *buf, size_t len, size_t *pos, char **out, int max)
{
    size_t i = *pos;
    if (i == 0 && len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) i = 3;
    if (i >= len) return -1;
    int nf = 0;
    char *f = dk_malloc(FIELD_MAX + 1);
    for (;;) {
        size_t fl = 0;
        int quoted = 0, bad = 0;
        if (i < len && buf[i] == '"') {
            quoted = 1;
            i++;
            for (;;) {
                if (i >= len) {
                    bad = 1;
                    break;
                }
                if (buf[i] == '"') {
                    if (i + 1 < len && buf[i + 1] == '"') {
                        if (fl < FIELD_MAX) f[fl++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (fl < FIELD_MAX)
                    f[fl++] = buf[i];
                else
                    bad = 1;
                i++;
            }
        } else {
            while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
                if (buf[i] == '"') bad = 1;
                if (fl < FIELD_MAX)
                    f[fl++] = buf[i];
                else
                    bad = 1;
                i++;
            }
        }
        (void)quoted;
        if (bad || (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') || nf >= max) {
            /* skip to the end of the record so the caller can go on with the next */
            int inq = 0;
            while (i < len && (inq || (buf[i] != '\n'))) {
                if (buf[i] == '"') inq = !inq;
                i++;
            }
            if (i < len) i++;
            *pos = i;
            admin_csv_free_fields(out, nf);
            free(f);
            return -2;
        }
        f[fl] = '\0';
        /* trim blanks around unquoted values (spreadsheets add them) */
        char *s = f;
        if (!quoted) {
            while (*s == ' ' || *s == '\t')
                s++;
            size_t sl = strlen(s);
            while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
                s[--sl] = '\0';
        }
        out[nf++] = dk_strdup(s);
        if (i < len && buf[i] == ',') {
            i++;
            continue;
        }
        if (i < len && buf[i] == '\r') i++;
        if (i < len && buf[i] == '\n') i++;
        break;
    }
    free(f);
    *pos = i;
    return nf;
}

void admin_csv_free_fields(char **f, int n)
{
    for (int i = 0; i < n; i++) {
        free(f[i]);
        f[i] = NULL;
    }
}

/* 1 when a spreadsheet could read s as a formula: it starts with = + - @, a TAB or CR
 * (some spreadsheets skip them and read what follows), or the full-width ＝＋－＠ (which
 * some spreadsheets take as the ASCII ones). The XLSX writer asks the same (admin_xlsx.c). */
int admin_formula_start(const char *s)
{
    static const char *const wide[] = {"\xEF\xBC\x9D", "\xEF\xBC\x8B", "\xEF\xBC\x8D",
                                       "\xEF\xBC\xA0"}; /* ＝＋－＠ in UTF-8 */
    if (s[0] && strchr("=+-@\t\r", s[0])) return 1;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (!strncmp(s, wide[i], 3)) return 1;
    return 0;
}

void admin_csv_field(struct evbuffer *b, const char *s, int last)
{
    if (!s) s = "";
    int guard = admin_formula_start(s);
    if (guard || strpbrk(s, ",\"\r\n")) {
        evbuffer_add(b, "\"", 1);
        if (guard) evbuffer_add(b, "'", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"') evbuffer_add(b, "\"", 1);
            evbuffer_add(b, p, 1);
        }
        evbuffer_add(b, "\"", 1);
    } else {
        evbuffer_add(b, s, strlen(s));
    }
    evbuffer_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}
