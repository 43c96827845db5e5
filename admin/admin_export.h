/* admin_export.h - downloads of admind as spreadsheets (XLSX) and CSV, and the PDF
 * certificate with its public verification. One convention for every export: the list
 * route itself with ?format=xlsx (or ?format=csv), answered from a database thread.
 *
 *   admin_xlsx.c    the XLSX writer (libxlsxwriter): sheets of a title, a header and rows
 *   admin_export.c  the format-agnostic export: ?format=, sheets and rows streamed from a
 *                   query with a row cap, the reply and its audit row
 *   admin_cert.c    the certificate as a PDF (cairo + pango, Noto CJK, a QR code) and the
 *                   public verification of its code
 *
 * Threads: everything here runs on a pool thread (a route's work function); nothing on a
 * loop. Not a public contract: admind's own, beside admin_internal.h. */
#ifndef ADMIN_EXPORT_H
#define ADMIN_EXPORT_H

#include "admin_internal.h"

/* ---- columns ------------------------------------------------------------------------------ */

typedef enum admin_col_kind {
    ADMIN_COL_AUTO, /* by the JSON type: integer and real as numbers, true/false as 是/否 */
    ADMIN_COL_TIME, /* ISO 8601 UTC ("…T…Z", as admin_sql_rows writes DATETIME) shown as
                     * Beijing time "YYYY-MM-DD HH:MM" */
    ADMIN_COL_PERCENT, /* a number shown with one decimal (a rate in %) */
} admin_col_kind;

/* One column of a sheet: its header and the key of each row object; key NULL is the row's
 * number (序号). width: characters (0: a default from the header). */
typedef struct admin_col {
    const char *head, *key;
    admin_col_kind kind;
    int width;
} admin_col;

/* 1 when a spreadsheet could read s as a formula: it starts with = + - @, a TAB or CR,
 * or the full-width ＝＋－＠ (admin_csv.c). */
int admin_formula_start(const char *s);

/* ---- admin_xlsx.c ------------------------------------------------------------------------- */

/* A workbook being written to a temporary file (libxlsxwriter 1.1 writes files only), in
 * constant-memory mode: rows go to disk as they come. Every text cell is written as a
 * string, never as a formula; one that starts like a formula (admin_formula_start) is
 * also formatted as text (@), so that editing it in a spreadsheet keeps it text. */
typedef struct admin_xlsx admin_xlsx;

admin_xlsx *admin_xlsx_new(dk_error *err);
/* Starts a sheet (name ≤ 31 characters, made safe): an optional bold title row, then the
 * header row (frozen). */
int admin_xlsx_sheet(admin_xlsx *x, const char *name, const char *title, const admin_col *cols,
                     size_t ncols, dk_error *err);
/* Appends one row of the current sheet: the columns' keys of row (NULL values empty). */
int admin_xlsx_row(admin_xlsx *x, json_t *row, dk_error *err);
/* Closes the workbook and hands its bytes (malloc'd); x is freed, the file deleted. */
int admin_xlsx_finish(admin_xlsx *x, char **bytes, size_t *len, dk_error *err);
/* Frees an unfinished workbook and deletes its file. NULL is fine. */
void admin_xlsx_free(admin_xlsx *x);

/* ---- admin_export.c ----------------------------------------------------------------------- */

typedef enum admin_fmt { ADMIN_FMT_JSON, ADMIN_FMT_CSV, ADMIN_FMT_XLSX } admin_fmt;

#define ADMIN_FMT_ALLOW_CSV 0x1
#define ADMIN_FMT_ALLOW_XLSX 0x2

/* ?format= of the request: absent = JSON; csv / xlsx when allowed; 400 otherwise. */
int admin_export_fmt(admin_job *j, unsigned allowed, admin_fmt *out);

/* An export being written: sheets (XLSX) or sections (CSV: a title line, the header, the
 * rows, a blank line between sections), each row counted against export_max_rows. */
typedef struct admin_export admin_export;

admin_export *admin_export_begin(admin_job *j, admin_fmt fmt);
int admin_export_sheet(admin_export *e, const char *name, const char *title,
                       const admin_col *cols, size_t ncols);
int admin_export_row(admin_export *e, json_t *row);
/* Streams the rows of a query into the current sheet (ID numbers masked unless flags say
 * ADMIN_SQL_FULL_ID, which an export never does). 413 when the rows of the whole export
 * pass export_max_rows: the query asks for one row more than what is left. */
int admin_export_query(admin_export *e, MYSQL *db, const char *sql, const dk_param *p, size_t n);
/* Ends the export: j->bytes, the content type, the file name <base>.xlsx / .csv, and one
 * audit row (action, entity) with {format, rows, route} and the members of detail (may be
 * NULL; not stolen). e is freed on every path. */
int admin_export_end(admin_export *e, MYSQL *db, const char *base, const char *action,
                     const char *entity_type, long long entity_id, json_t *detail);
/* Frees an export that will not be ended (an error on the way). NULL is fine. */
void admin_export_free(admin_export *e);

/* A list page as an export: SELECT <cols> <from_where> ORDER BY <order> into one sheet,
 * then admin_export_end. The list route's filters built fw; the page parameters are not
 * used. */
int admin_export_list(admin_job *j, MYSQL *db, admin_fmt fmt, const char *sheet,
                       const char *title, const admin_col *cols, size_t ncols,
                       const char *sql_cols, admin_sqlb *fw, const char *order, const char *base,
                       const char *action, const char *entity_type, long long entity_id);

/* admin_sql.c: one row of a result as an object (as admin_sql_rows makes them) */
json_t *admin_sql_row_json(MYSQL_RES *res, MYSQL_ROW row, unsigned flags);

/* ---- admin_cert.c ------------------------------------------------------------------------- */

/* GET /api/v1/enrolments/{id}/certificate?format=pdf|png: the certificate as a PDF, or as
 * the picture seed [004]'s 下载证书 saves (png) */
int admin_certificate_render(admin_job *j, MYSQL *db, long long eid, json_t *cert, int png);
/* GET /api/v1/public/certificates/{code}: no login; genuine, revoked or unknown */
int admin_cert_verify(admin_job *j, MYSQL *db);

/* ---- export routes ------------------------------------------------------------------------ */

/* admin_stats.c: the 不合格 list (admin_failed_query) as a sheet, for GET /authority/failed */
int admin_failed_export(admin_job *j, MYSQL *db, admin_fmt fmt);

#endif
