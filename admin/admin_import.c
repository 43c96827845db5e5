/* admin_import.c - one driver for the all-or-nothing CSV imports of the authority pages
 * (institutions, conduct records, the 电子化注册 register): the header is matched against
 * the columns the caller names (a trailing * allowed, unknown or missing required columns
 * refused), the rows are counted against the limit before anything is written, then every
 * row goes to the caller's function inside one transaction. Any row in error: everything is
 * rolled back and the reply is 400 with errors:[{row, error}] (file line numbers, at most
 * 200). The caller writes its audit row and commits. Runs on a worker thread. */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define IMPORT_MAX_COLS 32
#define IMPORT_MAX_ERRORS 200

int admin_import_csv(admin_job *j, MYSQL *db, const admin_import_col *cols, int max_rows,
                     admin_import_row_fn fn, void *ctx, int *rows_out)
{
    const char *buf = (const char *)j->raw;
    size_t len = j->raw_len, pos = 0;
    int ncols = 0;
    while (cols[ncols].head)
        ncols++;
    if (!len) return dk_error_set(&j->err, DK_EINVAL, "请上传 CSV 文件（UTF-8，第一行为表头）");
    char *f[IMPORT_MAX_COLS];
    int map[IMPORT_MAX_COLS], seen[IMPORT_MAX_COLS] = {0}, rc = 0;
    int nh = admin_csv_record(buf, len, &pos, f, IMPORT_MAX_COLS);
    if (nh <= 0) return dk_error_set(&j->err, DK_EINVAL, "CSV 表头无法读取");
    for (int i = 0; i < nh && !rc; i++) {
        char h[64];
        snprintf(h, sizeof h, "%s", f[i]);
        char *star = strchr(h, '*');
        if (star) *star = '\0';
        map[i] = -1;
        for (int c = 0; c < ncols; c++)
            if (!strcmp(h, cols[c].head)) {
                if (seen[c]) rc = dk_error_set(&j->err, DK_EINVAL, "CSV 表头有重复的列「%s」", h);
                map[i] = c, seen[c] = 1;
            }
        if (map[i] < 0 && *f[i])
            rc = dk_error_set(&j->err, DK_EINVAL, "CSV 表头有未知的列「%.*s」",
                              dk_utf8_prefix(f[i], 20), f[i]);
    }
    admin_csv_free_fields(f, nh);
    if (rc) return rc;
    for (int c = 0; c < ncols; c++)
        if (cols[c].required && !seen[c])
            return dk_error_set(&j->err, DK_EINVAL, "CSV 缺少必需的列「%s」", cols[c].head);
    /* the row limit before any work: nothing is written for a file over it */
    int rows = 0;
    for (size_t p2 = pos;;) {
        int n = admin_csv_record(buf, len, &p2, f, IMPORT_MAX_COLS);
        if (n == -1) break;
        int empty = n == 1 && !*f[0];
        if (n > 0) admin_csv_free_fields(f, n);
        if (!empty && ++rows > max_rows)
            return dk_error_set(&j->err, DK_ETOOBIG, "一次最多导入 %d 行", max_rows);
    }
    if (!rows) return dk_error_set(&j->err, DK_EINVAL, "CSV 文件没有数据行");
    json_t *errors = json_array();
    int line = 1, nerr = 0, first = 0;
    if ((rc = dk_mysql_begin(db, &j->err))) goto out;
    for (;;) {
        int n = admin_csv_record(buf, len, &pos, f, IMPORT_MAX_COLS);
        if (n == -1) break;
        line++;
        char msg[256] = "";
        if (n == -2) {
            snprintf(msg, sizeof msg, "这一行的 CSV 格式不正确（引号或列数）");
        } else if (n == 1 && !*f[0]) {
            admin_csv_free_fields(f, n);
            continue;
        } else if (n != nh) {
            snprintf(msg, sizeof msg, "列数（%d）与表头（%d）不一致", n, nh);
        } else {
            const char *v[IMPORT_MAX_COLS] = {0};
            for (int i = 0; i < n; i++)
                if (map[i] >= 0 && *f[i]) v[map[i]] = f[i];
            for (int c = 0; c < ncols && !msg[0]; c++)
                if (cols[c].required && !v[c])
                    snprintf(msg, sizeof msg, "「%s」不能为空", cols[c].head);
            if (!msg[0]) {
                rc = fn(j, db, ctx, line, v, nerr > 0, msg, sizeof msg);
                if (rc == DK_EINVAL || rc == DK_ECONFLICT || rc == DK_EFORBIDDEN ||
                    rc == DK_ENOTFOUND) {
                    if (!msg[0] && !strncmp(j->err.msg, "mysql ", 6)) {
                        /* the server's text ("1062 Duplicate entry ...") is for the log */
                        DK_WARN("admin", "import line %d: %s", line, j->err.msg);
                        snprintf(msg, sizeof msg, "这一行无法写入（与已有数据重复或冲突）");
                    } else if (!msg[0]) {
                        snprintf(msg, sizeof msg, "%s", j->err.msg);
                    }
                    rc = 0;
                }
            }
        }
        if (n > 0) admin_csv_free_fields(f, n);
        if (rc) goto out;
        if (*msg) {
            /* the count, not the array, decides: a message jansson refuses (invalid UTF-8)
             * still fails the import, under a message of its own */
            if (!nerr++) first = line;
            dk_utf8_trim(msg);
            json_t *e = json_pack("{s:i,s:s}", "row", line, "error", msg);
            if (!e) {
                snprintf(msg, sizeof msg, "第 %d 行有错误", line);
                e = json_pack("{s:i,s:s}", "row", line, "error", msg);
            }
            json_array_append_new(errors, e);
        }
        if (nerr >= IMPORT_MAX_ERRORS) break;
    }
    if (nerr) {
        dk_mysql_rollback(db);
        rc = dk_error_set(&j->err, DK_EINVAL,
                          "导入文件有 %d 行错误（第 %d 行起），未导入任何一行", nerr, first);
        j->err_fields = json_pack("{s:O}", "errors", errors);
        goto out;
    }
    *rows_out = rows;
out:
    json_decref(errors);
    return rc;
}

void admin_id_lookups_add(admin_id_lookups *l, const char *id, int found)
{
    char m[32];
    dk_mask_id(id, m, sizeof m);
    if (!l->ids) l->ids = json_array();
    json_array_append_new(l->ids, json_string(m));
    l->found += !!found;
}

void admin_id_lookups_audit(admin_job *j, MYSQL *db, admin_id_lookups *l, const char *file,
                            int in_txn)
{
    if (!l->ids) return;
    if (!in_txn) dk_mysql_rollback(db); /* a failed or dry import: the row stands alone */
    json_t *d = json_pack("{s:s,s:I,s:i,s:o}", "file", file, "count",
                          (json_int_t)json_array_size(l->ids), "found", l->found, "id_numbers",
                          l->ids);
    l->ids = NULL;
    dk_error e = {0};
    if (admin_audit(db, j, 0, "id_lookup", "authority", j->actor.authority_id, NULL, NULL, NULL,
                    NULL, d, &e))
        DK_WARN("admin", "id_lookup audit of %s: %s", file, e.msg);
    json_decref(d);
}
