/* admin_xlsx.c - the XLSX writer of admind's exports (libxlsxwriter): a workbook of sheets,
 * each a bold title row, a frozen header and rows of JSON objects (admin_col says which key
 * goes where and how it shows). Text is only ever written as a string cell, never as a
 * formula; text that starts like a formula is also given the text format (@), which a
 * spreadsheet keeps when the cell is edited. libxlsxwriter 1.1 writes files only: the
 * workbook is a temporary file, read back whole by admin_xlsx_finish and deleted.
 * Database worker threads (any thread: nothing here is shared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "admin_export.h"

#define XLSX_MAX (256 << 20) /* what a finished workbook may weigh (the row cap comes first) */
#define XLSX_CELL_MAX 32767  /* Excel's limit of a cell, in characters */

struct admin_xlsx {
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *title, *head, *text, *pct;
    const admin_col *cols;
    size_t ncols;
    lxw_row_t row;   /* the next row of the current sheet */
    lxw_row_t first; /* its first data row (序号 1) */
    unsigned sheets;
    char path[64];
};

admin_xlsx *admin_xlsx_new(dk_error *err)
{
    admin_xlsx *x = dk_calloc(1, sizeof *x);
    const char *dir = getenv("TMPDIR");
    snprintf(x->path, sizeof x->path, "%.40s/dk-xlsx-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(x->path);
    if (fd < 0) {
        free(x);
        dk_error_set(err, DK_EIO, "cannot create a temporary file for the workbook");
        return NULL;
    }
    close(fd);
    lxw_workbook_options o = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
    x->wb = workbook_new_opt(x->path, &o);
    if (!x->wb) {
        unlink(x->path);
        free(x);
        dk_error_set(err, DK_EIO, "cannot start the workbook");
        return NULL;
    }
    x->title = workbook_add_format(x->wb);
    format_set_bold(x->title);
    format_set_font_size(x->title, 14);
    x->head = workbook_add_format(x->wb);
    format_set_bold(x->head);
    format_set_bg_color(x->head, 0xDDEBF7);
    format_set_border(x->head, LXW_BORDER_THIN);
    x->text = workbook_add_format(x->wb);
    format_set_num_format(x->text, "@");
    x->pct = workbook_add_format(x->wb);
    format_set_num_format(x->pct, "0.0");
    return x;
}

void admin_xlsx_free(admin_xlsx *x)
{
    if (!x) return;
    if (x->wb) workbook_close(x->wb);
    unlink(x->path);
    free(x);
}

/* A sheet name as Excel takes it: at most 31 characters, none of []:*?/\ , unique. */
static void sheet_name(admin_xlsx *x, const char *name, char out[128])
{
    size_t o = 0, chars = 0;
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p && chars < 28;) {
        size_t n = *p < 0x80 ? 1 : *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
        if (strchr("[]:*?/\\", *p) || *p < 0x20) {
            out[o++] = '_', p++;
        } else {
            for (size_t k = 0; k < n && *p && o < 120; k++)
                out[o++] = (char)*p++;
        }
        chars++;
    }
    if (!o) out[o++] = 'S';
    out[o] = '\0';
    if (workbook_get_worksheet_by_name(x->wb, out)) /* never a duplicate */
        snprintf(out + o, 128 - o, "%u", x->sheets + 1);
}

/* Display width in columns: a CJK character takes two. */
static int text_width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w += *p >= 0xE0 ? 2 : 1;
    return w;
}

int admin_xlsx_sheet(admin_xlsx *x, const char *name, const char *title, const admin_col *cols,
                     size_t ncols, dk_error *err)
{
    char nm[128];
    sheet_name(x, name, nm);
    x->ws = workbook_add_worksheet(x->wb, nm);
    if (!x->ws) return dk_error_set(err, DK_EINTERNAL, "cannot add a worksheet");
    x->sheets++;
    x->cols = cols;
    x->ncols = ncols;
    x->row = 0;
    for (size_t c = 0; c < ncols; c++) {
        int w = cols[c].width ? cols[c].width : text_width(cols[c].head) + 4;
        if (cols[c].kind == ADMIN_COL_TIME && w < 18) w = 18;
        worksheet_set_column(x->ws, (lxw_col_t)c, (lxw_col_t)c, w, NULL);
    }
    if (title && *title) worksheet_write_string(x->ws, x->row++, 0, title, x->title);
    for (size_t c = 0; c < ncols; c++)
        worksheet_write_string(x->ws, x->row, (lxw_col_t)c, cols[c].head, x->head);
    x->row++;
    x->first = x->row;
    worksheet_freeze_panes(x->ws, x->row, 0);
    return 0;
}

/* "2024-06-03T11:39:05.000Z" -> "2024-06-03 19:39" (Beijing); anything else as it is. */
static void beijing(const char *iso, char out[32])
{
    struct tm tm = {0};
    if (strlen(iso) < 19 || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        snprintf(out, 32, "%.31s", iso);
        return;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm) + 8 * 3600;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

/* Writes text as a string cell: control characters (which XML cannot carry) as blanks, cut
 * at Excel's cell limit; one that starts like a formula in the text format. */
static lxw_error write_text(admin_xlsx *x, lxw_col_t c, const char *s)
{
    size_t n = strlen(s), o = 0, chars = 0;
    char *b = dk_malloc(n + 1);
    for (size_t i = 0; i < n && chars < XLSX_CELL_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch & 0xC0) != 0x80) chars++;
        b[o++] = ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' ? ' ' : (char)ch;
    }
    while (o < n && o > 0 && ((unsigned char)s[o] & 0xC0) == 0x80) /* cut: no half character */
        o--;
    b[o] = '\0';
    lxw_error e =
        worksheet_write_string(x->ws, x->row, c, b, admin_formula_start(b) ? x->text : NULL);
    free(b);
    return e;
}

int admin_xlsx_row(admin_xlsx *x, json_t *row, dk_error *err)
{
    if (!x->ws) return dk_error_set(err, DK_EINTERNAL, "a row before any sheet");
    if (x->row >= LXW_ROW_MAX - 1) return dk_error_set(err, DK_ETOOBIG, "工作表行数超过上限");
    for (size_t c = 0; c < x->ncols; c++) {
        const admin_col *col = &x->cols[c];
        lxw_col_t k = (lxw_col_t)c;
        lxw_error e = LXW_NO_ERROR;
        json_t *v = col->key ? json_object_get(row, col->key) : NULL;
        if (!col->key) {
            e = worksheet_write_number(x->ws, x->row, k, (double)(x->row - x->first + 1), NULL);
        } else if (!v || json_is_null(v)) {
            continue;
        } else if (json_is_integer(v) || json_is_real(v)) {
            e = worksheet_write_number(x->ws, x->row, k, json_number_value(v),
                                       col->kind == ADMIN_COL_PERCENT ? x->pct : NULL);
        } else if (json_is_boolean(v)) {
            e = worksheet_write_string(x->ws, x->row, k, json_is_true(v) ? "是" : "否", NULL);
        } else if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (col->kind == ADMIN_COL_TIME) {
                char t[32];
                beijing(s, t);
                e = write_text(x, k, t);
            } else {
                e = write_text(x, k, s);
            }
        }
        if (e != LXW_NO_ERROR)
            return dk_error_set(err, DK_EINTERNAL, "xlsx: %s", lxw_strerror(e));
    }
    x->row++;
    return 0;
}

int admin_xlsx_finish(admin_xlsx *x, char **bytes, size_t *len, dk_error *err)
{
    *bytes = NULL;
    *len = 0;
    lxw_error e = workbook_close(x->wb);
    x->wb = NULL;
    int rc = 0;
    if (e != LXW_NO_ERROR)
        rc = dk_error_set(err, DK_EIO, "xlsx: %s", lxw_strerror(e));
    else if (admin_read_file(x->path, XLSX_MAX, bytes, len) != 0)
        rc = dk_error_set(err, DK_EIO, "cannot read the finished workbook back");
    admin_xlsx_free(x);
    return rc;
}
