/* admin_cme_rec.c - CME credit records (学分登记与管理), the annual verification 年度验证,
 * its rule per province and year, the statistics, and the join to the periodic assessment.
 *
 * The rule (cme_rule, else the national rule of the configuration: cme_rule_total_min 25,
 * cme_rule_i_min 5, cme_rule_i_max 10, cme_rule_ii_min 15, cme_rule_ii_max 20): I类 credits
 * count towards the year up to i_max, II类 up to ii_max; the year is 达标 when the counted
 * I类 reach i_min, the counted II类 ii_min and their sum total_min (so 30 I类 and no II类
 * is not 达标: one category does not stand in for the other).
 *
 * The assessment: the enrolment pages show the verification of every year of the cycle;
 * a province with cme_province_setting.require_verification refuses an institution's
 * 一般程序 evaluation 工作成绩 合格 (inst_pass) unless every year of the cycle that has
 * ended (Beijing) is 达标. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admin_export.h"

typedef struct cme_rule {
    double total_min, i_min, i_max, ii_min, ii_max;
    int custom; /* 1: the province's own row */
} cme_rule;

static int rule_get(admin_job *j, MYSQL *db, long long prov, long long year, cme_rule *r)
{
    const dk_config *cfg = j->srv->cfg;
    *r = (cme_rule){(double)dk_config_int(cfg, "cme_rule_total_min"),
                    (double)dk_config_int(cfg, "cme_rule_i_min"),
                    (double)dk_config_int(cfg, "cme_rule_i_max"),
                    (double)dk_config_int(cfg, "cme_rule_ii_min"),
                    (double)dk_config_int(cfg, "cme_rule_ii_max"), 0};
    dk_param p[] = {DK_PINT(prov), DK_PINT(year)};
    json_t *o;
    int rc = admin_sql_row(db,
                           "SELECT total_min, i_min, i_max, ii_min, ii_max FROM cme_rule WHERE "
                           "province_id = ? AND year = ?",
                           p, 2, 0, NULL, &o, &j->err);
    if (rc == DK_ENOTFOUND) {
        dk_error_clear(&j->err);
        return 0;
    }
    if (rc) return rc;
    r->total_min = json_real_value(json_object_get(o, "total_min"));
    r->i_min = json_real_value(json_object_get(o, "i_min"));
    r->i_max = json_real_value(json_object_get(o, "i_max"));
    r->ii_min = json_real_value(json_object_get(o, "ii_min"));
    r->ii_max = json_real_value(json_object_get(o, "ii_max"));
    r->custom = 1;
    json_decref(o);
    return 0;
}

static json_t *rule_json(const cme_rule *r, long long year)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:s}", "year", (json_int_t)year, "total_min",
                     r->total_min, "i_min", r->i_min, "i_max", r->i_max, "ii_min", r->ii_min,
                     "ii_max", r->ii_max, "source", r->custom ? "本省规定" : "全国规定");
}

/* One year's verification of credits i (I类) and ii (II类) under rule r. */
static json_t *verify(const cme_rule *r, long long year, double i, double ii)
{
    double ci = fmin(i, r->i_max), cii = fmin(ii, r->ii_max);
    int ok = ci >= r->i_min && cii >= r->ii_min && ci + cii >= r->total_min;
    char why[256] = "";
    size_t n = 0;
    if (ci < r->i_min)
        n += (size_t)snprintf(why + n, sizeof why - n, "I类差 %.1f 分；", r->i_min - ci);
    if (cii < r->ii_min && n < sizeof why)
        n += (size_t)snprintf(why + n, sizeof why - n, "II类差 %.1f 分；", r->ii_min - cii);
    if (ci + cii < r->total_min && n < sizeof why)
        snprintf(why + n, sizeof why - n, "计入的总学分差 %.1f 分；", r->total_min - ci - cii);
    json_t *o = json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:b,s:s,s:s,s:o}", "year", (json_int_t)year,
                          "i_credits", i, "ii_credits", ii, "total", i + ii, "counted_i", ci,
                          "counted_ii", cii, "passed", ok, "status", ok ? "达标" : "未达标",
                          "shortfall", why, "rule", rule_json(r, year));
    return o;
}

/* The verification of card_id (0: none) for the years y0..y1 under the province's rules. */
static int years_of(admin_job *j, MYSQL *db, long long card_id, long long prov, long long y0,
                    long long y1, json_t **out)
{
    json_t *a = json_array(), *rows = NULL;
    dk_param p[] = {DK_PINT(card_id), DK_PINT(y0), DK_PINT(y1)};
    int rc = admin_sql_rows(db,
                            "SELECT year, SUM(IF(category = 'I类', credits, 0)) AS i, "
                            "SUM(IF(category = 'II类', credits, 0)) AS ii FROM cme_credit "
                            "WHERE card_id = ? AND year BETWEEN ? AND ? GROUP BY year",
                            p, 3, 0, &rows, &j->err);
    for (long long y = y0; !rc && y <= y1; y++) {
        double i = 0, ii = 0;
        size_t k;
        json_t *r;
        json_array_foreach(rows, k, r)
        {
            if (json_integer_value(json_object_get(r, "year")) != y) continue;
            i = json_real_value(json_object_get(r, "i"));
            ii = json_real_value(json_object_get(r, "ii"));
        }
        cme_rule rule;
        if (!(rc = rule_get(j, db, prov, y, &rule))) json_array_append_new(a, verify(&rule, y, i, ii));
    }
    json_decref(rows);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

static int current_year(admin_job *j, MYSQL *db, long long *y)
{
    return admin_sql_ll(db, "SELECT YEAR(UTC_TIMESTAMP() + INTERVAL 8 HOUR)", NULL, 0, y, &j->err);
}

/* A card's record: the card, its years (from..to) and its credits. */
static int card_record(admin_job *j, MYSQL *db, json_t *card, json_t **out)
{
    long long cid = json_integer_value(json_object_get(card, "id"));
    long long prov = json_integer_value(json_object_get(card, "province_id"));
    long long cur, y0, y1;
    int rc = current_year(j, db, &cur);
    if (rc || (rc = admin_q_int(j, "from_year", 2000, 2200, cur - 4, &y0)) ||
        (rc = admin_q_int(j, "to_year", 2000, 2200, cur, &y1)))
        return rc;
    if (y1 < y0 || y1 - y0 > 20) return dk_error_set(&j->err, DK_EINVAL, "年份范围应为 1 到 21 年");
    json_t *years, *credits;
    dk_param p[] = {DK_PINT(cid), DK_PINT(y0), DK_PINT(y1)};
    if ((rc = years_of(j, db, cid, prov, y0, y1, &years))) return rc;
    if ((rc = admin_sql_rows(db,
                             "SELECT cr.year, cr.category, cr.credits, cr.granted_at, p.id AS "
                             "project_id, p.project_no, p.name AS project_name, p.level FROM "
                             "cme_credit cr JOIN cme_project p ON p.id = cr.project_id WHERE "
                             "cr.card_id = ? AND cr.year BETWEEN ? AND ? ORDER BY cr.year DESC, "
                             "cr.granted_at DESC LIMIT 1000",
                             p, 3, 0, &credits, &j->err))) {
        json_decref(years);
        return rc;
    }
    json_object_del(card, "province_id");
    *out = json_pack("{s:O,s:o,s:o}", "card", card, "years", years, "credits", credits);
    return 0;
}

#define CARD_REC_COLS                                                                              \
    "c.id, c.card_no, c.name, c.id_number, c.physician_id, c.institution_id, i.name AS "           \
    "institution_name, au.path AS path, CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(au.path, '/', 2), "   \
    "'/', -1) AS UNSIGNED) AS province_id"

/* GET /api/v1/cme/records?card_no= | physician_id= (unit: its own staff; authority: region) */
int admin_cme_records(admin_job *j, MYSQL *db)
{
    long long pid;
    int rc = admin_q_int(j, "physician_id", 0, 1LL << 53, 0, &pid);
    if (rc) return rc;
    const char *no = admin_q(j, "card_no");
    char card[24] = "";
    if (!pid && (!no || admin_cme_card_norm(no, card)))
        return dk_error_set(&j->err, DK_EINVAL, "请输入有效的继教IC卡编号（card_no）或 physician_id");
    dk_param p[] = {DK_PINT(pid), DK_PSTR(card)};
    json_t *c, *out;
    rc = admin_sql_row(db,
                       "SELECT " CARD_REC_COLS " FROM cme_card c JOIN institution i ON i.id = "
                       "c.institution_id JOIN authority au ON au.id = i.authority_id WHERE "
                       "(? <> 0 AND c.physician_id = ?) OR c.card_no = ?",
                       (dk_param[]){p[0], p[0], p[1]}, 3, 0, "没有这张继教IC卡", &c, &j->err);
    if (rc) return rc;
    int ok = j->actor.kind == 'i'
                 ? json_integer_value(json_object_get(c, "institution_id")) == j->actor.institution_id
                 : dom_path_covers(j->actor.path, json_string_value(json_object_get(c, "path")));
    json_object_del(c, "path");
    if (!ok) {
        json_decref(c);
        return dk_error_set(&j->err, DK_EFORBIDDEN, "该学员不在本账号的管理范围内");
    }
    rc = card_record(j, db, c, &out);
    json_decref(c);
    if (!rc) j->out = out;
    return rc;
}

/* GET /api/v1/physician/cme: 我的学分 */
int admin_cme_mine(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PINT(j->actor.id)};
    json_t *c, *out;
    int rc = admin_sql_row(db,
                           "SELECT " CARD_REC_COLS " FROM cme_card c JOIN institution i ON i.id = "
                           "c.institution_id JOIN authority au ON au.id = i.authority_id WHERE "
                           "c.physician_id = ?",
                           p, 1, 0, NULL, &c, &j->err);
    if (rc == DK_ENOTFOUND) {
        dk_error_clear(&j->err);
        j->out = json_pack("{s:n,s:[],s:[],s:s}", "card", "years", "credits", "message",
                           "尚未登记继教IC卡：请联系本单位继教管理员登记或生成卡号");
        return 0;
    }
    if (rc) return rc;
    json_object_del(c, "path");
    rc = card_record(j, db, c, &out);
    json_decref(c);
    if (!rc) j->out = out;
    return rc;
}

/* ---- rules and settings --------------------------------------------------------------------- */

/* GET /api/v1/cme/rules?year= : the rule in force for the caller's province */
int admin_cme_rule_get(admin_job *j, MYSQL *db)
{
    long long cur, year;
    int rc = current_year(j, db, &cur);
    if (rc || (rc = admin_q_int(j, "year", 2000, 2200, cur, &year))) return rc;
    cme_rule r;
    if ((rc = rule_get(j, db, admin_cme_province_of(j->actor.path), year, &r))) return rc;
    j->out = rule_json(&r, year);
    return 0;
}

/* PUT /api/v1/cme/rules/{year} {total_min, i_min, i_max, ii_min, ii_max} (province) */
int admin_cme_rule_put(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"total_min", "i_min", "i_max", "ii_min", "ii_max", NULL};
    const char *y = j->params[0];
    long long year = y ? strtoll(y, NULL, 10) : 0;
    if (year < 2000 || year > 2200) return dk_error_set(&j->err, DK_EINVAL, "年份应为 2000 到 2200");
    int rc = dk_json_only_keys(j->body, keys, &j->err);
    if (rc) return rc;
    double v[5];
    static const char *const labels[] = {"年度总学分下限", "I类下限", "I类上限", "II类下限",
                                         "II类上限"};
    for (int k = 0; k < 5; k++) {
        json_t *x = json_object_get(j->body, keys[k]);
        v[k] = json_is_number(x) ? json_number_value(x) : -1;
        if (v[k] < 0 || v[k] > 200 || v[k] * 2 != floor(v[k] * 2))
            return dk_error_set(&j->err, DK_EINVAL, "%s（%s）应为 0 到 200，以 0.5 为单位",
                                labels[k], keys[k]);
    }
    if (v[1] > v[2] || v[3] > v[4])
        return dk_error_set(&j->err, DK_EINVAL, "下限不能大于上限");
    if (v[2] + v[4] < v[0])
        return dk_error_set(&j->err, DK_EINVAL, "I类与II类上限之和小于年度总学分下限，无人能达标");
    char b[5][16];
    for (int k = 0; k < 5; k++) snprintf(b[k], sizeof b[k], "%.1f", v[k]);
    long long prov = admin_cme_province_of(j->actor.path);
    dk_param p[] = {DK_PINT(prov), DK_PINT(year), DK_PSTR(b[0]), DK_PSTR(b[1]),
                    DK_PSTR(b[2]), DK_PSTR(b[3]), DK_PSTR(b[4])};
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_sql_exec(db,
                             "REPLACE INTO cme_rule (province_id, year, total_min, i_min, i_max, "
                             "ii_min, ii_max) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             p, 7, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "cme_rule_set", "cme_rule", year, NULL, NULL, NULL, NULL,
                          j->body, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    cme_rule r = {v[0], v[1], v[2], v[3], v[4], 1};
    j->out = rule_json(&r, year);
    return 0;
}

static int setting_get(admin_job *j, MYSQL *db, long long prov, long long *req)
{
    dk_param p[] = {DK_PINT(prov)};
    int rc = admin_sql_ll(db,
                          "SELECT require_verification FROM cme_province_setting WHERE "
                          "province_id = ?",
                          p, 1, req, &j->err);
    if (rc == DK_ENOTFOUND) *req = 0, rc = 0, dk_error_clear(&j->err);
    return rc;
}

/* GET /api/v1/cme/settings ; PUT {require_verification: bool} (province) */
int admin_cme_settings_get(admin_job *j, MYSQL *db)
{
    long long req;
    int rc = setting_get(j, db, admin_cme_province_of(j->actor.path), &req);
    if (!rc) j->out = json_pack("{s:b}", "require_verification", (int)req);
    return rc;
}

int admin_cme_settings_put(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"require_verification", NULL};
    int rc = dk_json_only_keys(j->body, keys, &j->err);
    if (rc) return rc;
    json_t *v = json_object_get(j->body, "require_verification");
    if (!json_is_boolean(v))
        return dk_error_set(&j->err, DK_EINVAL, "require_verification 应为 true/false");
    long long prov = admin_cme_province_of(j->actor.path);
    dk_param p[] = {DK_PINT(prov), DK_PINT(json_is_true(v))};
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_sql_exec(db,
                             "REPLACE INTO cme_province_setting (province_id, "
                             "require_verification) VALUES (?, ?)",
                             p, 2, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "cme_setting_set", "authority", prov, NULL, NULL, NULL, NULL,
                          j->body, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:b}", "require_verification", json_is_true(v));
    return 0;
}

/* ---- the assessment ------------------------------------------------------------------------- */

/* {required, years:[…]} for a physician in a cycle: every year of the cycle */
int admin_cme_for_enrolment(admin_job *j, MYSQL *db, long long eid, json_t **out)
{
    dk_param p[] = {DK_PINT(eid)};
    json_t *e;
    int rc = admin_sql_row(
        db,
        "SELECT e.physician_id, YEAR(c.period_start + INTERVAL 8 HOUR) AS y0, "
        "YEAR(c.period_end + INTERVAL 8 HOUR) AS y1, CAST(SUBSTRING_INDEX(SUBSTRING_INDEX("
        "au.path, '/', 2), '/', -1) AS UNSIGNED) AS prov, (SELECT k.id FROM cme_card k WHERE "
        "k.physician_id = e.physician_id) AS card_id, (SELECT k.card_no FROM cme_card k WHERE "
        "k.physician_id = e.physician_id) AS card_no FROM enrolment e JOIN cycle c ON c.id = "
        "e.cycle_id JOIN authority au ON au.id = c.authority_id WHERE e.id = ?",
        p, 1, 0, "没有这条报名记录", &e, &j->err);
    if (rc) return rc;
    long long prov = json_integer_value(json_object_get(e, "prov")), req, cur;
    long long y0 = json_integer_value(json_object_get(e, "y0"));
    long long y1 = json_integer_value(json_object_get(e, "y1"));
    if (y1 - y0 > 10) y1 = y0 + 10;
    json_t *years = NULL;
    if (!(rc = setting_get(j, db, prov, &req)) && !(rc = current_year(j, db, &cur)) &&
        !(rc = years_of(j, db, json_integer_value(json_object_get(e, "card_id")), prov, y0, y1,
                        &years))) {
        size_t k;
        json_t *y;
        json_array_foreach(years, k, y)
            json_object_set_new(y, "ended", json_boolean(json_integer_value(json_object_get(y, "year")) < cur));
        *out = json_pack("{s:b,s:O,s:o}", "required", (int)req, "card_no",
                         json_object_get(e, "card_no"), "years", years);
    }
    json_decref(e);
    return rc;
}

/* Before inst_pass: a province that requires the verification refuses 工作成绩 合格 of a
 * 一般程序 enrolment unless every ended year of the cycle is 达标. 0 or DK_ECONFLICT. */
int admin_cme_assessment_check(admin_job *j, MYSQL *db, long long eid)
{
    json_t *wr = json_object_get(j->body, "work_result");
    if (!json_is_string(wr) || strcmp(json_string_value(wr), "合格")) return 0;
    dk_param p[] = {DK_PINT(eid)};
    char proc[32] = "";
    int rc = admin_sql_str(db, "SELECT IFNULL(procedure_type, '') FROM enrolment WHERE id = ?", p,
                           1, proc, sizeof proc, &j->err);
    if (rc == DK_ENOTFOUND) return dk_error_clear(&j->err), 0; /* the table answers 404 */
    if (rc || strcmp(proc, "一般程序")) return rc;
    json_t *c;
    if ((rc = admin_cme_for_enrolment(j, db, eid, &c))) return rc;
    char miss[512] = "";
    size_t n = 0, k;
    json_t *y;
    if (json_is_true(json_object_get(c, "required")))
        json_array_foreach(json_object_get(c, "years"), k, y)
        {
            if (!json_is_true(json_object_get(y, "ended")) ||
                json_is_true(json_object_get(y, "passed")) || n >= sizeof miss - 80)
                continue;
            n += (size_t)snprintf(miss + n, sizeof miss - n, "%lld 年未达标（%s）",
                                  (long long)json_integer_value(json_object_get(y, "year")),
                                  json_string_value(json_object_get(y, "shortfall")));
        }
    json_decref(c);
    if (n)
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "本省要求继续医学教育年度验证达标后，一般程序工作成绩才能评为合格："
                            "%s",
                            miss);
    return 0;
}

/* ---- statistics ------------------------------------------------------------------------------ */

/* GET /api/v1/cme/stats?year=&by=unit|city|level[&format=csv] over the caller's region */
int admin_cme_stats(admin_job *j, MYSQL *db)
{
    long long cur, year;
    int rc = current_year(j, db, &cur);
    if (rc || (rc = admin_q_int(j, "year", 2000, 2200, cur, &year))) return rc;
    const char *by = admin_q(j, "by");
    if (!by) by = "unit";
    admin_fmt fmt;
    if ((rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt))) return rc;
    cme_rule r;
    if ((rc = rule_get(j, db, admin_cme_province_of(j->actor.path), year, &r))) return rc;
    char rb[5][16];
    snprintf(rb[0], 16, "%.1f", r.i_max);
    snprintf(rb[1], 16, "%.1f", r.ii_max);
    snprintf(rb[2], 16, "%.1f", r.i_min);
    snprintf(rb[3], 16, "%.1f", r.ii_min);
    snprintf(rb[4], 16, "%.1f", r.total_min);
    json_t *items;
    static const char *const person =
        "FROM (SELECT c.id, c.institution_id, LEAST(IFNULL(SUM(IF(cr.category = 'I类', "
        "cr.credits, 0)), 0), ?) AS ci, LEAST(IFNULL(SUM(IF(cr.category = 'II类', cr.credits, "
        "0)), 0), ?) AS cii FROM cme_card c JOIN institution i0 ON i0.id = c.institution_id "
        "JOIN authority a0 ON a0.id = i0.authority_id LEFT JOIN cme_credit cr ON cr.card_id = "
        "c.id AND cr.year = ? WHERE c.enabled = 1 AND a0.path LIKE CONCAT(?, '%') GROUP BY c.id) "
        "x JOIN institution i ON i.id = x.institution_id JOIN authority au ON au.id = "
        "i.authority_id ";
    dk_param pp[] = {DK_PSTR(rb[0]), DK_PSTR(rb[1]), DK_PINT(year), DK_PSTR(j->actor.path),
                     DK_PSTR(rb[2]), DK_PSTR(rb[3]), DK_PSTR(rb[4])};
    char sql[2400];
#define PASS_EXPR "CAST(SUM(x.ci >= ? AND x.cii >= ? AND x.ci + x.cii >= ?) AS SIGNED)"
    if (!strcmp(by, "unit")) {
        snprintf(sql, sizeof sql,
                 "SELECT i.id AS institution_id, i.name, COUNT(*) AS persons, " PASS_EXPR
                 " AS achieved %s GROUP BY i.id ORDER BY i.name LIMIT 100000",
                 person);
        dk_param q[] = {pp[4], pp[5], pp[6], pp[0], pp[1], pp[2], pp[3]};
        rc = admin_sql_rows(db, sql, q, 7, 0, &items, &j->err);
    } else if (!strcmp(by, "city")) {
        snprintf(sql, sizeof sql,
                 "SELECT IFNULL(ci.name, '省直单位') AS name, ci.id AS city_id, COUNT(*) AS "
                 "persons, " PASS_EXPR " AS achieved %s LEFT JOIN authority ci ON ci.id = "
                 "NULLIF(SUBSTRING_INDEX(SUBSTRING_INDEX(au.path, '/', 3), '/', -1), '') "
                 "GROUP BY ci.id ORDER BY ci.id LIMIT 10000",
                 person);
        dk_param q[] = {pp[4], pp[5], pp[6], pp[0], pp[1], pp[2], pp[3]};
        rc = admin_sql_rows(db, sql, q, 7, 0, &items, &j->err);
    } else if (!strcmp(by, "level")) {
        dk_param q[] = {DK_PINT(year), DK_PSTR(j->actor.path)};
        rc = admin_sql_rows(
            db,
            "SELECT p.level AS name, COUNT(*) AS projects, CAST(SUM(p.status = '审核通过') AS "
            "SIGNED) AS approved, CAST(SUM((SELECT COUNT(DISTINCT a.card_id) FROM cme_attendance "
            "a WHERE a.project_id = p.id)) AS SIGNED) AS persons, CAST(SUM(IFNULL("
            "f.granted_count, 0)) AS SIGNED) AS achieved, SUM(IFNULL(f.granted_count, 0) * "
            "p.credits) AS credits FROM cme_project p LEFT JOIN cme_feedback f ON f.project_id = "
            "p.id JOIN institution i ON i.id = p.organiser_id JOIN authority au ON au.id = "
            "i.authority_id WHERE YEAR(p.end_at + INTERVAL 8 HOUR) = ? AND au.path LIKE "
            "CONCAT(?, '%') GROUP BY p.level ORDER BY FIELD(p.level, '国家级', '省级', '市级')",
            q, 2, 0, &items, &j->err);
    } else {
        return dk_error_set(&j->err, DK_EINVAL, "by 应为 unit（单位）、city（市）或 level（项目级别）");
    }
    if (rc) return rc;
    size_t k;
    json_t *o;
    double tp = 0, ta = 0;
    json_array_foreach(items, k, o)
    {
        double p = json_number_value(json_object_get(o, "persons"));
        double a = json_number_value(json_object_get(o, "achieved"));
        tp += p, ta += a;
        json_object_set_new(o, "rate", p > 0 ? json_real(round(a * 1000 / p) / 10) : json_null());
    }
    json_t *total = json_pack("{s:f,s:f,s:o}", "persons", tp, "achieved", ta, "rate",
                              tp > 0 ? json_real(round(ta * 1000 / tp) / 10) : json_null());
    if (fmt == ADMIN_FMT_JSON) {
        j->out = json_pack("{s:I,s:s,s:o,s:o,s:o}", "year", (json_int_t)year, "by", by, "rule",
                           rule_json(&r, year), "items", items, "total", total);
        return 0;
    }
    static const admin_col unit[] = {{"单位", "name", 0, 30},
                                     {"学员数", "persons", 0, 0},
                                     {"达标人数", "achieved", 0, 0},
                                     {"完成率(%)", "rate", ADMIN_COL_PERCENT, 0}};
    static const admin_col city[] = {{"市", "name", 0, 20},
                                     {"学员数", "persons", 0, 0},
                                     {"达标人数", "achieved", 0, 0},
                                     {"完成率(%)", "rate", ADMIN_COL_PERCENT, 0}};
    static const admin_col level[] = {{"项目级别", "name", 0, 10},
                                      {"项目数", "projects", 0, 0},
                                      {"签到人数", "persons", 0, 0},
                                      {"授分人数", "achieved", 0, 0},
                                      {"授分率(%)", "rate", ADMIN_COL_PERCENT, 0}};
    const admin_col *cols = !strcmp(by, "level") ? level : !strcmp(by, "city") ? city : unit;
    size_t ncols = cols == level ? sizeof level / sizeof level[0] : sizeof unit / sizeof unit[0];
    char title[96], base[64];
    snprintf(title, sizeof title, "%lld 年继续医学教育学分统计", year);
    snprintf(base, sizeof base, "cme-stats-%.16s-%lld", by, year);
    json_decref(total);
    admin_export *e = admin_export_begin(j, fmt);
    if (!e) {
        json_decref(items);
        return j->err.code ? j->err.code : DK_EIO;
    }
    rc = admin_export_sheet(e, "学分统计", fmt == ADMIN_FMT_XLSX ? title : NULL, cols, ncols);
    json_array_foreach(items, k, o) if (!rc) rc = admin_export_row(e, o);
    json_decref(items);
    if (rc) {
        admin_export_free(e);
        return rc;
    }
    return admin_export_end(e, db, base, "cme_export_stats", "authority", j->actor.authority_id,
                            NULL);
}
