/* admin_export.c - every download of a list as a spreadsheet: ?format=xlsx (or csv) on the
 * list route itself. Sheets (CSV: sections) of a title, a header and rows, the rows
 * streamed from a query one at a time into the writer (XLSX: admin_xlsx.c; CSV: an
 * evbuffer through admin_csv_field), at most export_max_rows in one export (413 past it,
 * before the file is sent), ID numbers masked as in the lists, and one audit row per
 * export naming the route, the format, the row count and the query.
 * Database worker threads only: an export is a route's work function. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_export.h"

struct admin_export {
    admin_job *j;
    admin_fmt fmt;
    admin_xlsx *x;          /* XLSX */
    struct evbuffer *csv;   /* CSV */
    const admin_col *cols;  /* the current sheet's */
    size_t ncols;
    long long rows, in_sheet, max;
};

int admin_export_fmt(admin_job *j, unsigned allowed, admin_fmt *out)
{
    const char *f = admin_q(j, "format");
    *out = ADMIN_FMT_JSON;
    if (!f || !strcmp(f, "json")) return 0;
    if (!strcmp(f, "xlsx") && (allowed & ADMIN_FMT_ALLOW_XLSX)) return *out = ADMIN_FMT_XLSX, 0;
    if (!strcmp(f, "csv") && (allowed & ADMIN_FMT_ALLOW_CSV)) return *out = ADMIN_FMT_CSV, 0;
    return dk_error_set(&j->err, DK_EINVAL, "format 应为 %s",
                        (allowed & ADMIN_FMT_ALLOW_CSV) ? "xlsx 或 csv" : "xlsx");
}

admin_export *admin_export_begin(admin_job *j, admin_fmt fmt)
{
    admin_export *e = dk_calloc(1, sizeof *e);
    e->j = j;
    e->fmt = fmt;
    e->max = dk_config_int(j->srv->cfg, "export_max_rows");
    if (fmt == ADMIN_FMT_XLSX) {
        e->x = admin_xlsx_new(&j->err);
        if (!e->x) {
            free(e);
            return NULL;
        }
    } else {
        e->csv = evbuffer_new();
        evbuffer_add(e->csv, "\xEF\xBB\xBF", 3); /* spreadsheets then read UTF-8 */
    }
    return e;
}

void admin_export_free(admin_export *e)
{
    if (!e) return;
    admin_xlsx_free(e->x);
    if (e->csv) evbuffer_free(e->csv);
    free(e);
}

int admin_export_sheet(admin_export *e, const char *name, const char *title,
                       const admin_col *cols, size_t ncols)
{
    e->cols = cols;
    e->ncols = ncols;
    e->in_sheet = 0;
    if (e->x) return admin_xlsx_sheet(e->x, name, title, cols, ncols, &e->j->err);
    if (evbuffer_get_length(e->csv) > 3) evbuffer_add(e->csv, "\r\n", 2);
    if (title && *title) admin_csv_field(e->csv, title, 1);
    for (size_t c = 0; c < ncols; c++)
        admin_csv_field(e->csv, cols[c].head, c + 1 == ncols);
    return 0;
}

/* A CSV cell's text (the XLSX writer types its cells itself). */
static const char *csv_text(const admin_col *col, json_t *v, long long n, char buf[48])
{
    if (!col->key) return snprintf(buf, 48, "%lld", n), buf;
    if (json_is_integer(v)) return snprintf(buf, 48, "%lld", (long long)json_integer_value(v)), buf;
    if (json_is_real(v))
        return snprintf(buf, 48, col->kind == ADMIN_COL_PERCENT ? "%.1f" : "%.15g",
                        json_real_value(v)),
               buf;
    if (json_is_boolean(v)) return json_is_true(v) ? "是" : "否";
    if (!json_is_string(v)) return "";
    const char *s = json_string_value(v);
    struct tm tm = {0};
    if (col->kind == ADMIN_COL_TIME &&
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm) + 8 * 3600; /* Beijing, as the console shows times */
        gmtime_r(&t, &tm);
        strftime(buf, 48, "%Y-%m-%d %H:%M", &tm);
        return buf;
    }
    return s;
}

static int too_many(admin_export *e)
{
    return dk_error_set(&e->j->err, DK_ETOOBIG,
                        "导出行数超过上限（%lld 行），请缩小查询范围后分批导出", e->max);
}

int admin_export_row(admin_export *e, json_t *row)
{
    if (e->rows >= e->max) return too_many(e);
    e->rows++;
    e->in_sheet++;
    if (e->x) return admin_xlsx_row(e->x, row, &e->j->err);
    for (size_t c = 0; c < e->ncols; c++) {
        char buf[48];
        json_t *v = e->cols[c].key ? json_object_get(row, e->cols[c].key) : NULL;
        admin_csv_field(e->csv, csv_text(&e->cols[c], v, e->in_sheet, buf), c + 1 == e->ncols);
    }
    return 0;
}

int admin_export_query(admin_export *e, MYSQL *db, const char *sql, const dk_param *p, size_t n)
{
    long long left = e->max - e->rows;
    if (left < 0) left = 0;
    size_t len = strlen(sql) + 32;
    char *q = dk_malloc(len);
    snprintf(q, len, "%s LIMIT %lld", sql, left + 1); /* one more: the cap is then known */
    MYSQL_RES *res = NULL;
    int rc = dk_mysql_exec(db, q, p, n, &res, NULL, &e->j->err);
    free(q);
    if (rc) return rc;
    if (res && (long long)mysql_num_rows(res) > left) {
        mysql_free_result(res);
        return too_many(e);
    }
    MYSQL_ROW row;
    while (!rc && res && (row = mysql_fetch_row(res))) {
        json_t *o = admin_sql_row_json(res, row, 0); /* ID numbers masked */
        rc = admin_export_row(e, o);
        json_decref(o);
    }
    if (res) mysql_free_result(res);
    return rc;
}

int admin_export_end(admin_export *e, MYSQL *db, const char *base, const char *action,
                     const char *entity_type, long long entity_id, json_t *detail)
{
    admin_job *j = e->j;
    int rc = 0;
    if (e->x) {
        rc = admin_xlsx_finish(e->x, &j->bytes, &j->bytes_len, &j->err);
        e->x = NULL;
        j->ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    } else {
        j->bytes_len = evbuffer_get_length(e->csv);
        j->bytes = dk_malloc(j->bytes_len + 1);
        evbuffer_remove(e->csv, j->bytes, j->bytes_len);
        j->ctype = "text/csv; charset=utf-8";
    }
    const char *fmt = e->fmt == ADMIN_FMT_XLSX ? "xlsx" : "csv";
    long long rows = e->rows;
    admin_export_free(e);
    if (rc) return rc;
    snprintf(j->filename, sizeof j->filename, "%.80s.%s", base, fmt);
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(j->rq->req));
    json_t *d = json_pack("{s:s,s:I,s:s,s:s%}", "format", fmt, "rows", (json_int_t)rows, "route",
                          j->api->name, "query", q ? q : "", q ? strnlen(q, 500) : (size_t)0);
    if (detail) json_object_update(d, detail);
    rc = admin_audit(db, j, 0, action, entity_type, entity_id, NULL, NULL, NULL, NULL, d, &j->err);
    json_decref(d);
    if (rc) { /* not audited: not sent */
        free(j->bytes);
        j->bytes = NULL;
        j->bytes_len = 0;
    }
    return rc;
}

int admin_export_list(admin_job *j, MYSQL *db, admin_fmt fmt, const char *sheet,
                      const char *title, const admin_col *cols, size_t ncols,
                      const char *sql_cols, admin_sqlb *fw, const char *order, const char *base,
                      const char *action, const char *entity_type, long long entity_id)
{
    admin_export *e = admin_export_begin(j, fmt);
    if (!e) return j->err.code ? j->err.code : DK_EIO;
    admin_sqlb q;
    admin_sqlb_init(&q, "SELECT ");
    admin_sqlb_cat(&q, sql_cols);
    admin_sqlb_cat(&q, " ");
    admin_sqlb_cat(&q, fw->sql);
    admin_sqlb_cat(&q, " ORDER BY ");
    admin_sqlb_cat(&q, order);
    int rc = admin_export_sheet(e, sheet, title, cols, ncols);
    if (!rc) rc = admin_export_query(e, db, q.sql, fw->p, fw->np);
    admin_sqlb_free(&q);
    if (rc) {
        admin_export_free(e);
        return rc;
    }
    return admin_export_end(e, db, base, action, entity_type, entity_id, NULL);
}
