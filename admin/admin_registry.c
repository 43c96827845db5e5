/* admin_registry.c - the province's link to the 医师电子化注册系统 (seed 002: 已对接医师电子化
 * 注册系统的省份，所有医师信息均来自注册系统，不允许手动新增医师). The province sets it; while
 * it is set, an institution's 新增医师 and 批量导入医师 answer 409 with the reason, and the
 * physicians arrive through the register file an authority imports here: each line is new
 * (a physician account is opened at the institution named), changed (the fields that differ
 * are updated and listed, from → to) or unchanged. All or nothing, line-numbered errors;
 * ?dry_run=1 shows the same answer and writes nothing. Audited per physician and per file.
 * Runs on the database threads. */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define REGISTRY_IMPORT_MAX_ROWS 5000

static int province_row(admin_job *j, MYSQL *db, const char *path, json_t **out)
{
    dk_param p[] = {DK_PINT(admin_cme_province_of(path))};
    return admin_sql_row(db,
                         "SELECT id AS province_id, name AS province_name, registry_linked AS "
                         "linked FROM authority WHERE id = ?",
                         p, 1, 0, "没有所属的省级卫生行政部门", out, &j->err);
}

int admin_registry_refuse_manual(admin_job *j, MYSQL *db, const char *path)
{
    long long linked = 0;
    dk_param p[] = {DK_PINT(admin_cme_province_of(path))};
    int rc = admin_sql_ll(db, "SELECT registry_linked FROM authority WHERE id = ?", p, 1, &linked,
                          &j->err);
    if (rc == DK_ENOTFOUND) return 0;
    if (rc) return rc;
    if (linked)
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "本省已对接医师电子化注册系统：医师信息均来自注册系统，不允许手动新增"
                            "或批量导入医师。新注册的医师由卫生行政部门导入注册系统数据后出现在"
                            "列表中；从其他机构调来的医师请使用「调入」");
    return 0;
}

/* GET /registry (I, A): whether the province of the caller is linked */
int admin_registry_get(admin_job *j, MYSQL *db)
{
    return province_row(j, db, j->actor.path, &j->out);
}

/* PUT /registry (V) {linked: bool} */
int admin_registry_put(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"linked", NULL};
    int rc;
    json_t *v = json_object_get(j->body, "linked");
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    if (!json_is_boolean(v)) return dk_error_set(&j->err, DK_EINVAL, "linked 应为 true/false");
    int on = json_is_true(v);
    long long before = 0;
    dk_param p[] = {DK_PINT(j->actor.authority_id)};
    dk_param u[] = {DK_PINT(on), DK_PINT(j->actor.authority_id)};
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_sql_ll(db, "SELECT registry_linked FROM authority WHERE id = ? FOR UPDATE", p,
                           1, &before, &j->err)) ||
        (rc = admin_sql_exec(db, "UPDATE authority SET registry_linked = ? WHERE id = ?", u, 2,
                             NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "set_registry_link", "authority", j->actor.authority_id, NULL,
                          before ? "已对接" : "未对接", on ? "已对接" : "未对接", NULL, NULL,
                          &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    return province_row(j, db, j->actor.path, &j->out);
}

/* ---- the register file ------------------------------------------------------------------------
 */

static const admin_import_col reg_cols[] = {{"证件号码", 1},
                                            {"姓名", 1},
                                            {"机构编码", 1},
                                            {"医师级别", 1},
                                            {"执业类别", 1},
                                            {"执业范围", 0},
                                            {"首次注册时间", 0},
                                            {"执业证书编码", 0},
                                            {"执业证取得时间", 0},
                                            {"证件类型", 0},
                                            {"性别", 0},
                                            {"出生日期", 0},
                                            {NULL, 0}};

/* the register's fields compared with the physician on file: column index, physician column */
static const struct {
    int col;
    const char *column, *label;
} reg_fields[] = {
    {1, "name", "姓名"},
    {3, "practice_level", "医师级别"},
    {4, "practice_category", "执业类别"},
    {5, "practice_scope", "执业范围"},
    {6, "first_registration_date", "首次注册时间"},
    {7, "practice_cert_no", "执业证书编码"},
    {8, "practice_cert_date", "执业证取得时间"},
};
#define NREG (sizeof reg_fields / sizeof reg_fields[0])

typedef struct reg_import {
    json_t *lines;
    int added, changed, unchanged;
    admin_id_lookups look;
} reg_import;

static void masked(const char *id, char out[24])
{
    size_t n = strlen(id);
    if (n < 8)
        snprintf(out, 24, "****");
    else
        snprintf(out, 24, "%.4s*****%s", id, id + n - 2);
}

static int reg_row(admin_job *j, MYSQL *db, void *ctx, int line, const char *const *v, int skip,
                   char *msg, size_t msgsz)
{
    reg_import *im = ctx;
    char mid[24];
    masked(v[0], mid);
    /* the institution the register names, in the actor's area */
    long long inst = 0;
    dk_param pi[] = {DK_PSTR(v[2])};
    int rc = admin_sql_ll(db, "SELECT id FROM institution WHERE code = ?", pi, 1, &inst, &j->err);
    if (rc == DK_ENOTFOUND)
        return snprintf(msg, msgsz, "没有机构编码为「%.*s」的机构",
                        dk_utf8_prefix(v[2], 20), v[2]), DK_EINVAL;
    if (rc) return rc;
    if ((rc = admin_inst_in_region(j, db, inst, 0)))
        return snprintf(msg, msgsz, "机构「%.*s」不在本部门辖区内",
                        dk_utf8_prefix(v[2], 20), v[2]), rc;
    /* on file? (either form of the number) Only within the actor's province: a physician of
     * another province is "not on file", so a file of numbers reveals nothing elsewhere */
    char other[20] = "", province[64];
    if (strlen(v[0]) > 18) return snprintf(msg, msgsz, "证件号码过长"), DK_EINVAL;
    admin_id_other_form(v[0], other);
    admin_province_of(j->actor.path, province);
    MYSQL_RES *res;
    dk_param pp[] = {DK_PSTR(v[0]), DK_PSTR(other[0] ? other : v[0]), DK_PSTR(province)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT p.id, p.institution_id, p.name, p.practice_level, "
                            "p.practice_category, p.practice_scope, "
                            "DATE_FORMAT(p.first_registration_date, '%Y-%m-%d'), "
                            "p.practice_cert_no, DATE_FORMAT(p.practice_cert_date, '%Y-%m-%d'), "
                            "i.code, p.status FROM physician p JOIN institution i ON "
                            "i.id = p.institution_id JOIN authority au ON au.id = "
                            "i.authority_id WHERE p.id_number IN (?, ?) AND "
                            "p.deleted_at IS NULL AND au.path LIKE CONCAT(?, '%') FOR UPDATE",
                            pp, 3, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    admin_id_lookups_add(&im->look, v[0], row != NULL);
    if (!row) {
        mysql_free_result(res);
        admin_phys_in in = {.id_number = v[0],
                            .name = v[1],
                            .practice_level = v[3],
                            .practice_category = v[4],
                            .practice_scope = v[5],
                            .first_registration_date = v[6],
                            .practice_cert_no = v[7],
                            .practice_cert_date = v[8],
                            .id_type = v[9],
                            .sex = v[10],
                            .birth_date = v[11],
                            .institution_id = inst};
        if ((rc = admin_phys_validate(j, db, &in, msg, msgsz))) return rc;
        long long id = 0;
        char account[40] = "";
        if (!skip && (rc = admin_phys_insert(j, db, &in, "电子化注册", &id, account))) return rc;
        im->added++;
        json_array_append_new(im->lines, json_pack("{s:i,s:s,s:s,s:s,s:s,s:[]}", "row", line,
                                                   "id_number", mid, "name", v[1], "outcome",
                                                   "新增", "account", account, "changes"));
        return 0;
    }
    long long pid = strtoll(row[0], NULL, 10), pinst = strtoll(row[1], NULL, 10);
    char pcode[32];
    snprintf(pcode, sizeof pcode, "%s", row[9]);
    if (pinst != inst) {
        snprintf(msg, msgsz,
                 "该医师在系统中属于机构「%s」（%s），注册系统为「%.*s」：请先由原机构办理离岗，"
                 "再由新机构「调入」",
                 pcode, row[10], dk_utf8_prefix(v[2], 20), v[2]);
        rc = DK_ECONFLICT;
        mysql_free_result(res);
        return rc;
    }
    /* what differs: an empty register field leaves the value on file */
    json_t *changes = json_array();
    admin_sqlb b;
    admin_sqlb_init(&b, "UPDATE physician SET ");
    int n = 0;
    for (size_t f = 0; f < NREG; f++) {
        const char *nv = v[reg_fields[f].col], *ov = row[2 + f];
        if (!nv || (ov && !strcmp(nv, ov))) continue;
        json_array_append_new(changes,
                              json_pack("{s:s,s:s,s:s?,s:s}", "field", reg_fields[f].column,
                                        "label", reg_fields[f].label, "from", ov, "to", nv));
        admin_sqlb_cat(&b, n++ ? ", " : "");
        admin_sqlb_cat(&b, reg_fields[f].column);
        admin_sqlb_cat(&b, " = ?");
        admin_sqlb_param(&b, DK_PSTR(nv));
    }
    mysql_free_result(res);
    /* the new values pass the same checks as a new physician's */
    static const char *const levels[] = {"执业医师", "执业助理医师"};
    static const char *const cats[] = {"临床", "中医", "口腔", "公共卫生"};
    int lv = 0, ct = 0;
    for (int i = 0; i < 2; i++)
        lv |= !strcmp(v[3], levels[i]);
    for (int i = 0; i < 4; i++)
        ct |= !strcmp(v[4], cats[i]);
    dk_error e = {0};
    if (!lv)
        snprintf(msg, msgsz, "医师级别应为「执业医师」或「执业助理医师」");
    else if (!ct)
        snprintf(msg, msgsz, "执业类别应为 临床、中医、口腔、公共卫生 之一");
    else if ((v[6] && admin_parse_date(v[6])) || (v[8] && admin_parse_date(v[8])))
        snprintf(msg, msgsz, "日期应为 YYYY-MM-DD");
    else if (dk_text_max(&e, "姓名", v[1], 64) || (v[5] && dk_text_max(&e, "执业范围", v[5], 64)) ||
             (v[7] && dk_text_max(&e, "执业证书编码", v[7], 32)))
        snprintf(msg, msgsz, "%s", e.msg);
    if (msg[0]) rc = DK_EINVAL;
    if (!rc && n && !skip) {
        admin_sqlb_cat(&b, " WHERE id = ?");
        admin_sqlb_param(&b, DK_PINT(pid));
        json_t *d = json_pack("{s:O,s:s}", "changes", changes, "source", "电子化注册");
        if (!(rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err)))
            rc = admin_audit(db, j, 0, "registry_update", "physician", pid, NULL, NULL, NULL, NULL,
                             d, &j->err);
        json_decref(d);
    }
    admin_sqlb_free(&b);
    if (rc) {
        json_decref(changes);
        return rc;
    }
    if (n)
        im->changed++;
    else
        im->unchanged++;
    json_array_append_new(im->lines,
                          json_pack("{s:i,s:s,s:s,s:s,s:o}", "row", line, "id_number", mid, "name",
                                    v[1], "outcome", n ? "变更" : "无变化", "changes", changes));
    return 0;
}

/* POST /registry/import (A, CSV) [?dry_run=1] */
int admin_registry_import(admin_job *j, MYSQL *db)
{
    int dry = admin_q(j, "dry_run") && !strcmp(admin_q(j, "dry_run"), "1");
    reg_import im = {.lines = json_array()};
    int rows = 0;
    int rc = admin_import_csv(j, db, reg_cols, REGISTRY_IMPORT_MAX_ROWS, reg_row, &im, &rows);
    admin_id_lookups_audit(j, db, &im.look, "registry_import", !rc && !dry);
    if (!rc && !dry) {
        json_t *d = json_pack("{s:i,s:i,s:i}", "added", im.added, "changed", im.changed,
                              "unchanged", im.unchanged);
        rc = admin_audit(db, j, 0, "registry_import", "authority", j->actor.authority_id, NULL,
                         NULL, NULL, NULL, d, &j->err);
        json_decref(d);
        if (!rc) rc = dk_mysql_commit(db, &j->err);
    }
    if (rc) {
        json_decref(im.lines);
        return rc;
    }
    j->out = json_pack("{s:b,s:i,s:i,s:i,s:i,s:o}", "dry_run", dry, "rows", rows, "added", im.added,
                       "changed", im.changed, "unchanged", im.unchanged, "lines", im.lines);
    return 0;
}
