/* admin_cme_att.c - CME cards, attendance, feedback and the grant (issue 15, seed [003]).
 *   cards: a unit administrator (institution account) registers its staff's 继教IC卡 number,
 *     or has one generated for staff without a card (province code + 10 random digits);
 *   attendance: the organiser's page takes what a keyboard-wedge reader types (the number
 *     and Enter) or a number typed by hand; one row per card and session however often it is
 *     swiped; outside a session's time (cme_swipe_early_min before its start to its end) a
 *     swipe is refused with the session's times; unknown cards are refused by number;
 *   paper attendees (other provinces, units not on the system) are imported from CSV, all
 *     or nothing, with line-numbered errors, and listed apart on the sign-in sheet;
 *   feedback 执行情况反馈: once, after the end; later than cme_feedback_days (14) is
 *     accepted and flagged; the office checks it (通过 / 退回: a returned one may be sent again);
 *   grant: after the check and the committee's approval (省继教委审核同意), the office grants
 *     the project's credits to every qualified card (present at cme_attendance_min_percent of
 *     the sessions, not listed as 考核不合格), once; later than cme_grant_days after the
 *     approval is flagged. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin_export.h"

/* ---- cards ------------------------------------------------------------------------------------- */

/* Normalises what a reader or a person typed: surrounding blanks and the Enter dropped,
 * letters upper-cased; 0 when it is a card number (6-20 of 0-9 A-Z). */
int admin_cme_card_norm(const char *in, char out[24])
{
    while (*in && isspace((unsigned char)*in)) in++;
    size_t n = strlen(in);
    while (n && isspace((unsigned char)in[n - 1])) n--;
    if (n < 6 || n > 20) return DK_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = (char)toupper((unsigned char)in[i]);
        if (!isdigit((unsigned char)c) && !(c >= 'A' && c <= 'Z')) return DK_EINVAL;
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

#define CARD_COLS                                                                                  \
    "c.id, c.card_no, c.name, c.id_number, c.physician_id, c.institution_id, "                     \
    "i.name AS institution_name, c.generated, c.enabled, c.created_at"

/* GET /api/v1/cme/cards: the unit's cards (an authority: its region's); name=, card_no= */
int admin_cme_card_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM cme_card c JOIN institution i ON i.id = c.institution_id JOIN "
                        "authority au ON au.id = i.authority_id WHERE ");
    if (j->actor.kind == 'i') {
        admin_sqlb_cat(&b, "c.institution_id = ?");
        admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    } else {
        admin_sqlb_cat(&b, "au.path LIKE CONCAT(?, '%')");
        admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    }
    char like[2 * 64 + 3], card[24];
    const char *name = admin_q(j, "name"), *no = admin_q(j, "card_no");
    if (name) {
        int rc = admin_like_any(j, "姓名", name, 64, like, sizeof like);
        if (rc) {
            admin_sqlb_free(&b);
            return rc;
        }
        admin_sqlb_cat(&b, " AND c.name LIKE ?");
        admin_sqlb_param(&b, DK_PSTR(like));
    }
    if (no) {
        if (admin_cme_card_norm(no, card)) {
            admin_sqlb_free(&b);
            return dk_error_set(&j->err, DK_EINVAL, "卡号应为 6 到 20 位数字或大写字母");
        }
        admin_sqlb_cat(&b, " AND c.card_no = ?");
        admin_sqlb_param(&b, DK_PSTR(card));
    }
    int rc = admin_list(j, db, CARD_COLS, &b, "c.id DESC", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* POST /api/v1/cme/cards {physician_id} or {name, id_number?}, card_no? (a card the person
 * holds; absent: a number is generated) */
int admin_cme_card_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"physician_id", "name", "id_number", "card_no", NULL};
    const char *name = NULL, *idn = NULL, *no = NULL;
    long long pid;
    char card[24], pname[200] = "", pidn[40] = "";
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "physician_id", 1, 1LL << 53, 0, &pid, &j->err)) < 0 ||
        (rc = admin_cme_text(j, "name", "姓名", 64, !pid, &name)) ||
        (rc = admin_cme_text(j, "id_number", "证件号码", 32, 0, &idn)) ||
        (rc = admin_cme_text(j, "card_no", "继教IC卡编号", 24, 0, &no)))
        return rc < 0 ? rc : 0;
    if (no && admin_cme_card_norm(no, card))
        return dk_error_set(&j->err, DK_EINVAL, "继教IC卡编号应为 6 到 20 位数字或大写字母");
    if (idn && !admin_id_valid(idn))
        return dk_error_set(&j->err, DK_EINVAL, "证件号码不是有效的居民身份证号码");
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    if (pid) {
        dk_param p[] = {DK_PINT(pid), DK_PINT(j->actor.institution_id)};
        json_t *ph;
        rc = admin_sql_row(db,
                           "SELECT name, id_number FROM physician WHERE id = ? AND "
                           "institution_id = ? AND deleted_at IS NULL",
                           p, 2, ADMIN_SQL_FULL_ID, "本单位没有这名医师", &ph, &j->err);
        if (rc) return rc;
        snprintf(pname, sizeof pname, "%s", json_string_value(json_object_get(ph, "name")));
        snprintf(pidn, sizeof pidn, "%s", json_string_value(json_object_get(ph, "id_number")));
        json_decref(ph);
        name = pname;
        idn = pidn;
        long long has = 0;
        dk_param q[] = {DK_PINT(pid)};
        if ((rc = admin_sql_ll(db, "SELECT COUNT(*) FROM cme_card WHERE physician_id = ?", q, 1,
                               &has, &j->err)))
            return rc;
        if (has) return dk_error_set(&j->err, DK_ECONFLICT, "该医师已有继教IC卡");
    }
    char prov[8] = "";
    dk_param pp[] = {DK_PINT(admin_cme_province_of(j->actor.path))};
    if ((rc = admin_sql_str(db, "SELECT code FROM authority WHERE id = ?", pp, 1, prov, sizeof prov,
                            &j->err)))
        return rc;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (!no) {
            unsigned char r[10];
            randombytes_buf(r, sizeof r);
            snprintf(card, sizeof card, "%s", prov);
            for (int i = 0; i < 10; i++) card[6 + i] = (char)('0' + r[i] % 10);
            card[16] = '\0';
        }
        dk_param p[] = {DK_PSTR(card),
                        DK_PINT(j->actor.institution_id),
                        pid ? DK_PINT(pid) : DK_PNULL,
                        DK_PSTR(name),
                        idn ? DK_PSTR(idn) : DK_PNULL,
                        DK_PINT(!no)};
        rc = admin_sql_exec(db,
                            "INSERT INTO cme_card (card_no, institution_id, physician_id, name, "
                            "id_number, generated) VALUES (?, ?, ?, ?, ?, ?)",
                            p, 6, NULL, &j->err);
        if (rc != DK_ECONFLICT || no) break;
    }
    if (rc == DK_ECONFLICT) return dk_error_set(&j->err, DK_ECONFLICT, "继教IC卡编号 %s 已登记", card);
    if (rc) return rc;
    long long id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:b}", "card_no", card, "generated", !no);
    rc = admin_audit(db, j, ADMIN_R_INST, "cme_card_create", "cme_card", id, NULL, NULL, NULL, NULL,
                     d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)id, "card_no", card, "name", name,
                       "generated", !no);
    return 0;
}

/* ---- attendance ------------------------------------------------------------------------------- */

/* The project as its organiser runs it: approved and fed back. */
static int organiser_project(admin_job *j, MYSQL *db, long long id, json_t **o)
{
    int rc = admin_cme_project_scope(j, db, id, 0, o);
    if (rc) return rc;
    const char *st = json_string_value(json_object_get(*o, "raw_status"));
    if (j->actor.kind != 'i') {
        rc = dk_error_set(&j->err, DK_EFORBIDDEN, "签到由主办单位管理员进行");
    } else if (strcmp(st, "审核通过") || !json_is_true(json_object_get(*o, "released"))) {
        rc = dk_error_set(&j->err, DK_ECONFLICT, "项目尚未通过省继教办审核，不能签到");
    }
    if (rc) json_decref(*o), *o = NULL;
    return rc;
}

/* POST /api/v1/cme/projects/{id}/swipes {card_no, session_id?, method?: 刷卡|手工录入} */
int admin_cme_swipe(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"card_no", "session_id", "method", NULL};
    long long id = admin_param_id(j, 0), sid;
    const char *raw, *method;
    char card[24];
    json_t *o = NULL;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "card_no", "继教IC卡编号", 40, 1, &raw)) ||
        (rc = admin_cme_text(j, "method", "签到方式", 8, 0, &method)) ||
        (rc = dk_json_int_opt(j->body, "session_id", 1, 1LL << 53, 0, &sid, &j->err)) < 0)
        return rc;
    if (!method) method = "刷卡";
    if (strcmp(method, "刷卡") && strcmp(method, "手工录入"))
        return dk_error_set(&j->err, DK_EINVAL, "签到方式应为「刷卡」或「手工录入」");
    if (admin_cme_card_norm(raw, card))
        return dk_error_set(&j->err, DK_EINVAL, "卡号「%.40s」格式不正确：应为 6 到 20 位数字或字母",
                            raw);
    if ((rc = organiser_project(j, db, id, &o))) return rc;
    json_decref(o);
    /* the session: the given one, or the one whose sign-in time is now */
    long long early = dk_config_int(j->srv->cfg, "cme_swipe_early_min");
    json_t *s = NULL;
    dk_param ps[] = {DK_PINT(early), DK_PINT(id), DK_PINT(sid), DK_PINT(sid)};
    rc = admin_sql_row(db,
                       "SELECT s.id, s.seq, s.title, UTC_TIMESTAMP(3) >= s.starts_at - INTERVAL ? "
                       "MINUTE AND UTC_TIMESTAMP(3) < s.ends_at AS open_now, "
                       "DATE_FORMAT(s.starts_at + INTERVAL 8 HOUR, '%Y-%m-%d %H:%i') AS st, "
                       "DATE_FORMAT(s.ends_at + INTERVAL 8 HOUR, '%Y-%m-%d %H:%i') AS en "
                       "FROM cme_session s WHERE s.project_id = ? AND (? = 0 OR s.id = ?) "
                       "ORDER BY open_now DESC, ABS(TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), "
                       "s.starts_at)) LIMIT 1",
                       ps, 4, 0, "该项目没有这个场次", &s, &j->err);
    if (rc) return rc;
    sid = json_integer_value(json_object_get(s, "id"));
    if (!json_is_true(json_object_get(s, "open_now"))) {
        rc = dk_error_set(&j->err, DK_ECONFLICT,
                          "现在不在签到时间内：第 %lld 场「%s」的签到时间为 %s 前 %lld 分钟至 %s"
                          "（北京时间）",
                          (long long)json_integer_value(json_object_get(s, "seq")),
                          json_string_value(json_object_get(s, "title")),
                          json_string_value(json_object_get(s, "st")), early,
                          json_string_value(json_object_get(s, "en")));
        json_decref(s);
        return rc;
    }
    json_t *c;
    dk_param pc[] = {DK_PSTR(card)};
    rc = admin_sql_row(db,
                       "SELECT c.id, c.name, c.enabled, i.name AS unit FROM cme_card c JOIN "
                       "institution i ON i.id = c.institution_id WHERE c.card_no = ?",
                       pc, 1, 0, NULL, &c, &j->err);
    if (rc == DK_ENOTFOUND || (!rc && !json_is_true(json_object_get(c, "enabled")))) {
        if (!rc) json_decref(c);
        json_decref(s);
        return dk_error_set(&j->err, DK_ENOTFOUND,
                            "卡号 %s 未登记（或已停用）：请学员所在单位管理员登记继教IC卡；"
                            "省外及未使用系统单位的学员列入纸质证书名单",
                            card);
    }
    if (rc) {
        json_decref(s);
        return rc;
    }
    long long cid = json_integer_value(json_object_get(c, "id"));
    uint64_t aff = 0;
    dk_param pa[] = {DK_PINT(id), DK_PINT(sid), DK_PINT(cid), DK_PSTR(method)};
    if (!(rc = dk_mysql_begin(db, &j->err)))
        rc = admin_sql_exec(db,
                            "INSERT INTO cme_attendance (project_id, session_id, card_id, method) "
                            "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE swipes = swipes + 1",
                            pa, 4, &aff, &j->err);
    int dup = aff != 1;
    json_t *d = json_pack("{s:s,s:I,s:s,s:b}", "card_no", card, "session_id", (json_int_t)sid,
                          "method", method, "duplicate", dup);
    if (!rc)
        rc = admin_audit(db, j, ADMIN_R_INST, dup ? "cme_swipe_repeat" : "cme_swipe",
                         "cme_project", id, NULL, NULL, NULL, NULL, d, &j->err);
    json_decref(d);
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc)
        j->out = json_pack(
            "{s:s,s:O,s:O,s:I,s:I,s:O,s:s,s:b,s:s}", "card_no", card, "name",
            json_object_get(c, "name"), "unit", json_object_get(c, "unit"), "session_id",
            (json_int_t)sid, "seq", (json_int_t)json_integer_value(json_object_get(s, "seq")),
            "session_title", json_object_get(s, "title"), "method", method, "duplicate", dup,
            "message", dup ? "已签到（重复刷卡只记一次）" : "签到成功");
    json_decref(c);
    json_decref(s);
    return rc;
}

/* GET /api/v1/cme/projects/{id}/attendance?session_id= */
int admin_cme_attendance(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0), sid;
    json_t *o;
    int rc = admin_cme_project_scope(j, db, id, 0, &o);
    if (rc) return rc;
    json_decref(o);
    if ((rc = admin_q_int(j, "session_id", 0, 1LL << 53, 0, &sid))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM cme_attendance a JOIN cme_card c ON c.id = a.card_id JOIN "
                        "institution i ON i.id = c.institution_id JOIN cme_session s ON "
                        "s.id = a.session_id WHERE a.project_id = ? AND (? = 0 OR a.session_id = ?)");
    admin_sqlb_param(&b, DK_PINT(id));
    admin_sqlb_param(&b, DK_PINT(sid));
    admin_sqlb_param(&b, DK_PINT(sid));
    rc = admin_list(j, db,
                    "a.id, a.session_id, s.seq, c.card_no, c.name, i.name AS unit, a.method, "
                    "a.swiped_at, a.swipes",
                    &b, "a.id", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* POST /api/v1/cme/projects/{id}/paper-attendees: raw CSV 姓名*,单位*,类别*,证件号码 (at
 * most 5000 rows); nothing is imported unless every row is good */
#define PAPER_MAX_ROWS 5000
static const admin_import_col paper_cols[] = {
    {"姓名", 1}, {"单位", 1}, {"类别", 1}, {"证件号码", 0}, {NULL, 0}};

static int paper_row(admin_job *j, MYSQL *db, void *ctx, int line, const char *const *v, int skip,
                     char *msg, size_t msgsz)
{
    (void)line;
    long long id = *(const long long *)ctx;
    dk_error e = {0};
    if (dk_text_max(&e, "姓名", v[0], 64) || dk_text_max(&e, "单位", v[1], 128))
        return snprintf(msg, msgsz, "%s", e.msg), DK_EINVAL;
    if (strcmp(v[2], "省外人员") && strcmp(v[2], "单位未使用系统"))
        return snprintf(msg, msgsz, "类别应为「省外人员」或「单位未使用系统」"), DK_EINVAL;
    if (v[3] && strlen(v[3]) > 32) return snprintf(msg, msgsz, "证件号码过长"), DK_EINVAL;
    if (skip) return 0;
    dk_param p[] = {DK_PINT(id), DK_PSTR(v[0]), DK_PSTR(v[1]), DK_PSTR(v[2]),
                    v[3] ? DK_PSTR(v[3]) : DK_PNULL};
    return admin_sql_exec(db,
                          "INSERT INTO cme_paper_attendee (project_id, name, unit, reason, "
                          "id_number) VALUES (?, ?, ?, ?, ?)",
                          p, 5, NULL, &j->err);
}

/* all or nothing through admin_import_csv: line-numbered errors, the row limit first */
int admin_cme_paper_import(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    json_t *o;
    int rc = admin_cme_project_scope(j, db, id, 0, &o);
    if (rc) return rc;
    json_decref(o);
    if (j->actor.kind != 'i')
        return dk_error_set(&j->err, DK_EFORBIDDEN, "纸质证书名单由主办单位导入");
    int rows = 0;
    if ((rc = admin_import_csv(j, db, paper_cols, PAPER_MAX_ROWS, paper_row, &id, &rows)))
        return rc;
    json_t *d = json_pack("{s:i}", "imported", rows);
    rc = admin_audit(db, j, ADMIN_R_INST, "cme_paper_import", "cme_project", id, NULL, NULL, NULL,
                     NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->out = json_pack("{s:i,s:i}", "imported", rows, "failed", 0);
    return 0;
}

/* GET /api/v1/cme/projects/{id}/signin-sheet: CSV (the default) or ?format=xlsx, the
 * electronic and the paper attendees apart (two sections; two sheets of the workbook) */
int admin_cme_signin_sheet(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    json_t *o, *el = NULL, *pa = NULL;
    admin_fmt fmt;
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt);
    if (rc || (rc = admin_cme_project_scope(j, db, id, 0, &o))) return rc;
    dk_param p[] = {DK_PINT(id)};
    if ((rc = admin_sql_rows(db,
                             "SELECT c.card_no, c.name, i.name AS unit, COUNT(*) AS sessions, "
                             "GROUP_CONCAT(s.seq ORDER BY s.seq) AS seqs, "
                             "GROUP_CONCAT(DISTINCT a.method) AS methods FROM cme_attendance a "
                             "JOIN cme_card c ON c.id = a.card_id JOIN institution i ON i.id = "
                             "c.institution_id JOIN cme_session s ON s.id = a.session_id WHERE "
                             "a.project_id = ? GROUP BY c.id ORDER BY i.name, c.name LIMIT 200000",
                             p, 1, 0, &el, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT name, unit, reason, id_number FROM cme_paper_attendee WHERE "
                             "project_id = ? ORDER BY id LIMIT 200000",
                             p, 1, 0, &pa, &j->err)))
        goto out;
    static const admin_col ec[] = {{"序号", NULL, 0, 6},        {"继教IC卡编号", "card_no", 0, 18},
                                   {"姓名", "name", 0, 10},     {"单位", "unit", 0, 28},
                                   {"签到场次", "seqs", 0, 12}, {"签到方式", "methods", 0, 14}};
    static const admin_col pc[] = {{"序号", NULL, 0, 6},
                                   {"姓名", "name", 0, 10},
                                   {"单位", "unit", 0, 28},
                                   {"类别", "reason", 0, 16},
                                   {"证件号码", "id_number", 0, 22}};
    admin_export *e = admin_export_begin(j, fmt == ADMIN_FMT_JSON ? ADMIN_FMT_CSV : fmt);
    if (!e) {
        rc = j->err.code ? j->err.code : DK_EIO;
        goto out;
    }
    char title[512];
    snprintf(title, sizeof title, "学员签到簿 %s %s · 电子化授分学员（%zu 人）",
             json_string_value(json_object_get(o, "project_no")),
             json_string_value(json_object_get(o, "name")), json_array_size(el));
    size_t i;
    json_t *r;
    rc = admin_export_sheet(e, "电子化授分学员", title, ec, sizeof ec / sizeof ec[0]);
    json_array_foreach(el, i, r) if (!rc) rc = admin_export_row(e, r);
    snprintf(title, sizeof title, "纸质证书学员（%zu 人）", json_array_size(pa));
    if (!rc) rc = admin_export_sheet(e, "纸质证书学员", title, pc, sizeof pc / sizeof pc[0]);
    json_array_foreach(pa, i, r) if (!rc) rc = admin_export_row(e, r);
    if (rc) {
        admin_export_free(e);
        goto out;
    }
    char base[48];
    snprintf(base, sizeof base, "signin-%lld", id);
    rc = admin_export_end(e, db, base, "cme_export_signin", "cme_project", id, NULL);
out:
    json_decref(o);
    json_decref(el);
    json_decref(pa);
    return rc;
}

/* ---- feedback, check, grant ------------------------------------------------------------------ */

/* POST /api/v1/cme/projects/{id}/feedback {summary, signin_sheet_sent, failed_cards?[]} */
int admin_cme_feedback(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"summary", "signin_sheet_sent", "failed_cards", NULL};
    long long id = admin_param_id(j, 0);
    const char *summary;
    json_t *o = NULL, *fc = json_object_get(j->body, "failed_cards"), *sent;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "summary", "执行情况", 2000, 1, &summary)))
        return rc;
    sent = json_object_get(j->body, "signin_sheet_sent");
    if (!json_is_boolean(sent))
        return dk_error_set(&j->err, DK_EINVAL, "signin_sheet_sent（签到簿是否已报送）应为 true/false");
    if (fc && !json_is_null(fc) && (!json_is_array(fc) || json_array_size(fc) > 5000))
        return dk_error_set(&j->err, DK_EINVAL, "failed_cards（考核不合格卡号）应为最多 5000 个卡号");
    json_t *cards = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(fc, i, v)
    {
        char c[24];
        if (!json_is_string(v) || admin_cme_card_norm(json_string_value(v), c)) {
            json_decref(cards);
            return dk_error_set(&j->err, DK_EINVAL, "考核不合格卡号第 %zu 个格式不正确", i + 1);
        }
        json_array_append_new(cards, json_string(c));
    }
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = organiser_project(j, db, id, &o))) goto out;
    long long ended = 0, late = 0;
    long long days = dk_config_int(j->srv->cfg, "cme_feedback_days");
    dk_param pe[] = {DK_PINT(id)};
    char due[32] = "";
    if ((rc = admin_sql_ll(db, "SELECT end_at <= UTC_TIMESTAMP(3) FROM cme_project WHERE id = ?",
                           pe, 1, &ended, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT UTC_TIMESTAMP(3) > end_at + INTERVAL ? DAY FROM cme_project "
                           "WHERE id = ?",
                           (dk_param[]){DK_PINT(days), DK_PINT(id)}, 2, &late, &j->err)) ||
        (rc = admin_sql_str(db,
                            "SELECT DATE_FORMAT(end_at + INTERVAL ? DAY + INTERVAL 8 HOUR, "
                            "'%Y-%m-%d %H:%i') FROM cme_project WHERE id = ?",
                            (dk_param[]){DK_PINT(days), DK_PINT(id)}, 2, due, sizeof due,
                            &j->err)))
        goto out;
    if (!ended) {
        rc = dk_error_set(&j->err, DK_ECONFLICT, "项目尚未结束，结束后才能报送执行情况反馈");
        goto out;
    }
    char st[32] = "";
    dk_param pi[] = {DK_PINT(id)};
    rc = admin_sql_str(db, "SELECT status FROM cme_feedback WHERE project_id = ? FOR UPDATE", pi, 1,
                       st, sizeof st, &j->err);
    if (rc == DK_ENOTFOUND) rc = 0, dk_error_clear(&j->err);
    if (rc) goto out;
    if (*st && strcmp(st, "退回")) {
        rc = dk_error_set(&j->err, DK_ECONFLICT,
                          "已报送执行情况反馈（%s），不能重复报送；被退回后才能重新报送", st);
        goto out;
    }
    char *fcs = dk_json_dump(cards);
    dk_param p[] = {DK_PINT(id), DK_PSTR(summary), DK_PINT(json_is_true(sent)), DK_PSTR(fcs),
                    DK_PINT(late)};
    rc = admin_sql_exec(db,
                        "REPLACE INTO cme_feedback (project_id, summary, signin_sheet_sent, "
                        "failed_cards, late, status) VALUES (?, ?, ?, ?, ?, '待核查')",
                        p, 5, NULL, &j->err);
    free(fcs);
    json_t *d = json_pack("{s:b,s:b,s:I}", "late", (int)late, "signin_sheet_sent",
                          json_is_true(sent), "failed_cards", (json_int_t)json_array_size(cards));
    if (!rc)
        rc = admin_audit(db, j, ADMIN_R_INST, *st ? "cme_feedback_resubmit" : "cme_feedback",
                         "cme_project", id, NULL, *st ? st : NULL, "待核查", NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) goto out;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:b,s:s}", "project_id", (json_int_t)id, "status", "待核查",
                       "late", (int)late, "due", due);
    json_object_set_new(j->out, "message", json_string(late ? "逾期报送：应在项目结束后 2 周内报送，已标记为逾期" : "已报送"));
out:
    json_decref(o);
    json_decref(cards);
    return rc;
}

/* POST /api/v1/cme/projects/{id}/feedback/check {decision: 通过|退回, opinion} (province) */
int admin_cme_feedback_check(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"decision", "opinion", NULL};
    long long id = admin_param_id(j, 0);
    const char *op;
    json_t *o;
    int pass, rc = admin_cme_decision(j, keys, "核查", "通过", "退回", &pass, &op);
    if (rc) return rc;
    if (!admin_cme_is_province(j)) return dk_error_set(&j->err, DK_EFORBIDDEN, "执行情况由省继教办核查");
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = admin_cme_project_scope(j, db, id, 1, &o)))
        return rc;
    json_decref(o);
    char st[32] = "";
    dk_param pi[] = {DK_PINT(id)};
    rc = admin_sql_str(db, "SELECT status FROM cme_feedback WHERE project_id = ? FOR UPDATE", pi, 1,
                       st, sizeof st, &j->err);
    if (rc == DK_ENOTFOUND) return dk_error_set(&j->err, DK_ECONFLICT, "主办单位尚未报送执行情况反馈");
    if (rc) return rc;
    if (strcmp(st, "待核查"))
        return dk_error_set(&j->err, DK_ECONFLICT, "执行情况反馈当前为「%s」，只有「待核查」可以核查",
                            st);
    const char *to = pass ? "核查通过" : "退回";
    dk_param p[] = {DK_PSTR(to), op ? DK_PSTR(op) : DK_PNULL, DK_PINT(id)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE cme_feedback SET status = ?, check_opinion = ?, checked_at = "
                             "NOW(3) WHERE project_id = ?",
                             p, 3, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "cme_feedback_check", "cme_project", id, NULL, st, to, op, NULL,
                          &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:s,s:s}", "project_id", (json_int_t)id, "from", st, "status", to);
    return 0;
}

/* POST /api/v1/cme/projects/{id}/grant {committee_ref, committee_approved_on} (province).
 * The grant runs over the project's attendees in batches of cme_grant_batch cards, each
 * batch its own transaction, with cme_feedback.grant_progress / grant_total updated as it
 * goes (GET /cme/projects/{id} shows them); INSERT IGNORE on (project, card) makes a grant
 * cut short (a timeout, a restart) resumable by calling it again. */
int admin_cme_grant(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"committee_ref", "committee_approved_on", NULL};
    long long id = admin_param_id(j, 0);
    const char *ref, *on;
    json_t *o, *fb;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "committee_ref", "省继教委审核文号", 64, 1, &ref)) ||
        (rc = admin_cme_text(j, "committee_approved_on", "省继教委审核同意日期", 10, 1, &on)))
        return rc;
    if (admin_parse_date(on))
        return dk_error_set(&j->err, DK_EINVAL, "省继教委审核同意日期应为 YYYY-MM-DD");
    if (!admin_cme_is_province(j)) return dk_error_set(&j->err, DK_EFORBIDDEN, "学分由省继教办授予");
    char today[11];
    if ((rc = admin_cme_today(j, db, today))) return rc;
    if (strcmp(on, today) > 0)
        return dk_error_set(&j->err, DK_EINVAL, "省继教委审核同意日期不能晚于今天（%s）", today);
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = admin_cme_project_scope(j, db, id, 1, &o)))
        return rc;
    json_decref(o);
    dk_param pi[] = {DK_PINT(id)};
    rc = admin_sql_row(db,
                       "SELECT status, granted_at IS NOT NULL AS granted, failed_cards, "
                       "grant_started_at IS NOT NULL AS started FROM cme_feedback WHERE "
                       "project_id = ? FOR UPDATE",
                       pi, 1, 0, NULL, &fb, &j->err);
    if (rc == DK_ENOTFOUND)
        return dk_error_set(&j->err, DK_ECONFLICT, "该项目尚未报送执行情况反馈，不能授予学分");
    if (rc) return rc;
    const char *st = json_string_value(json_object_get(fb, "status"));
    if (json_is_true(json_object_get(fb, "granted")))
        rc = dk_error_set(&j->err, DK_ECONFLICT, "该项目的学分已授予，不能重复授予");
    else if (strcmp(st, "核查通过"))
        rc = dk_error_set(&j->err, DK_ECONFLICT,
                          "执行情况反馈当前为「%s」，核查通过后才能授予学分", st);
    char *failed = NULL;
    if (!rc) {
        const char *f = json_string_value(json_object_get(fb, "failed_cards"));
        failed = dk_strdup(f ? f : "[]");
    }
    int resumed = json_is_true(json_object_get(fb, "started"));
    json_decref(fb);
    if (rc) return rc;
    /* the range of cards to go over, and its size for the progress */
    long long lo = 0, hi = -1, total = 0;
    json_t *rg;
    if ((rc = admin_sql_row(db,
                            "SELECT CAST(IFNULL(MIN(card_id), 0) AS SIGNED) AS lo, "
                            "CAST(IFNULL(MAX(card_id), -1) AS SIGNED) AS hi, COUNT(DISTINCT "
                            "card_id) AS n FROM cme_attendance WHERE project_id = ?",
                            pi, 1, 0, NULL, &rg, &j->err)))
        goto out;
    lo = json_integer_value(json_object_get(rg, "lo"));
    hi = json_integer_value(json_object_get(rg, "hi"));
    total = json_integer_value(json_object_get(rg, "n"));
    json_decref(rg);
    dk_param ps[] = {DK_PSTR(ref), DK_PSTR(on), DK_PINT(total), DK_PINT(id)};
    json_t *d0 = json_pack("{s:s,s:s,s:I,s:b}", "committee_ref", ref, "committee_approved_on", on,
                           "attendees", (json_int_t)total, "resumed", resumed);
    if (!(rc = admin_sql_exec(db,
                              "UPDATE cme_feedback SET committee_ref = ?, committee_approved_on = "
                              "?, grant_started_at = IFNULL(grant_started_at, NOW(3)), "
                              "grant_total = ?, grant_progress = 0 WHERE project_id = ?",
                              ps, 4, NULL, &j->err)))
        rc = admin_audit(db, j, 0, "cme_grant_start", "cme_project", id, NULL, NULL, NULL, NULL,
                         d0, &j->err);
    json_decref(d0);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) goto out;
    /* qualified: present at cme_attendance_min_percent of the sessions, not 考核不合格 */
    long long pct = dk_config_int(j->srv->cfg, "cme_attendance_min_percent"), done = 0;
    long long batch = dk_config_int(j->srv->cfg, "cme_grant_batch");
    if (batch < 1) batch = 1;
    for (long long from = lo; from <= hi;) {
        /* the next batch of attendees' cards (not of card ids: cards far apart are not
         * stepped over one empty range after another) */
        long long to = -1, seen = 0;
        dk_param pn[] = {DK_PINT(id), DK_PINT(from), DK_PINT(batch)};
        if ((rc = admin_sql_ll(db,
                               "SELECT CAST(IFNULL(MAX(card_id), -1) AS SIGNED) FROM (SELECT "
                               "DISTINCT card_id FROM cme_attendance WHERE project_id = ? AND "
                               "card_id >= ? ORDER BY card_id LIMIT ?) t",
                               pn, 3, &to, &j->err)))
            goto out;
        if (to < from) break;
        dk_param pg[] = {DK_PINT(id), DK_PINT(from), DK_PINT(to), DK_PINT(pct), DK_PSTR(failed)};
        dk_param pc[] = {DK_PINT(id), DK_PINT(from), DK_PINT(to)};
        if ((rc = dk_mysql_begin(db, &j->err)) ||
            (rc = admin_sql_exec(
                 db,
                 "INSERT IGNORE INTO cme_credit (card_id, project_id, year, category, credits) "
                 "SELECT a.card_id, p.id, YEAR(p.end_at + INTERVAL 8 HOUR), p.category, p.credits "
                 "FROM cme_attendance a JOIN cme_project p ON p.id = a.project_id JOIN cme_card c "
                 "ON c.id = a.card_id WHERE a.project_id = ? AND a.card_id BETWEEN ? AND ? AND "
                 "c.enabled = 1 GROUP BY a.card_id HAVING COUNT(*) * 100 >= ? * (SELECT COUNT(*) "
                 "FROM cme_session s WHERE s.project_id = p.id) AND NOT JSON_CONTAINS(?, "
                 "JSON_QUOTE(MAX(c.card_no)))",
                 pg, 5, NULL, &j->err)) ||
            (rc = admin_sql_ll(db,
                               "SELECT COUNT(DISTINCT card_id) FROM cme_attendance WHERE "
                               "project_id = ? AND card_id BETWEEN ? AND ?",
                               pc, 3, &seen, &j->err)))
            goto out;
        done += seen;
        dk_param pp[] = {DK_PINT(done), DK_PINT(id)};
        if ((rc = admin_sql_exec(db, "UPDATE cme_feedback SET grant_progress = ? WHERE project_id = ?",
                                 pp, 2, NULL, &j->err)) ||
            (rc = dk_mysql_commit(db, &j->err)))
            goto out;
        from = to + 1;
    }
    /* done: the count is what the project holds (a resumed grant counts the earlier rows) */
    long long days = dk_config_int(j->srv->cfg, "cme_grant_days"), late = 0, granted = 0;
    dk_param pl[] = {DK_PSTR(today), DK_PSTR(on), DK_PINT(days)};
    if ((rc = admin_sql_ll(db, "SELECT ? > DATE(?) + INTERVAL ? DAY", pl, 3, &late, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_sql_ll(db, "SELECT COUNT(*) FROM cme_credit WHERE project_id = ?", pi, 1,
                           &granted, &j->err)))
        goto out;
    dk_param pu[] = {DK_PINT(late), DK_PINT(granted), DK_PINT(id)};
    json_t *d = json_pack("{s:I,s:I,s:s,s:s,s:b}", "granted", (json_int_t)granted, "attendees",
                          (json_int_t)total, "committee_ref", ref, "committee_approved_on", on,
                          "late", (int)late);
    uint64_t claimed = 0;
    if (!(rc = admin_sql_exec(db,
                              "UPDATE cme_feedback SET granted_at = NOW(3), grant_late = ?, "
                              "granted_count = ? WHERE project_id = ? AND granted_at IS NULL",
                              pu, 3, &claimed, &j->err)) &&
        !claimed) /* a grant running at the same time finished first: one of them reports it */
        rc = dk_error_set(&j->err, DK_ECONFLICT, "该项目的学分已授予，不能重复授予");
    if (!rc)
        rc = admin_audit(db, j, 0, "cme_grant", "cme_project", id, NULL, NULL, NULL, NULL, d,
                         &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) goto out;
    j->out = json_pack("{s:I,s:I,s:I,s:b,s:s}", "project_id", (json_int_t)id, "granted",
                       (json_int_t)granted, "attendees", (json_int_t)total, "late", (int)late,
                       "message",
                       late ? "已授予；晚于省继教委审核同意后 2 周，已标记为逾期" : "已授予");
out:
    free(failed);
    return rc;
}
