/* admin_cme.c - continuing medical education 继续医学教育 (issue 15, seed [003]): projects
 * and their review. An organising unit (主办单位, an institution account) declares a project
 * at least cme_declare_lead_days (14) days before its first session; the city bureau (市卫生局,
 * a city-level authority above the organiser) does 初审, which a provincial-direct unit (its
 * authority is the province) skips; the provincial CME office (省继教办, a province account)
 * decides, and its result is fed back on the next batch day: Wednesdays and Fridays, a
 * holiday moving a batch to the next working day (table cme_calendar). Attendance, feedback
 * and grants are admin_cme_att.c; records, rules and statistics admin_cme_rec.c. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_internal.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

int admin_cme_text(admin_job *j, const char *key, const char *label, size_t max_chars,
                   int required, const char **out)
{
    json_t *v = json_is_object(j->body) ? json_object_get(j->body, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
        if (required) return dk_error_set(&j->err, DK_EINVAL, "缺少%s（%s）", label, key);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return dk_error_set(&j->err, DK_EINVAL, "%s（%s）应为文本", label, key);
    *out = json_string_value(v);
    return dk_text_max(&j->err, label, *out, max_chars);
}

/* The first segment of an authority path: the province id ("/1/5/" -> 1). */
long long admin_cme_province_of(const char *path)
{
    return path && path[0] == '/' ? strtoll(path + 1, NULL, 10) : 0;
}

int admin_cme_is_province(const admin_job *j)
{
    return j->actor.kind == 'a' && !strcmp(j->actor.level, "province");
}

/* The reply is the CSV in b (freed here), as an attachment named filename. */
void admin_cme_csv_reply(admin_job *j, struct evbuffer *b, const char *filename)
{
    j->bytes_len = evbuffer_get_length(b);
    j->bytes = dk_malloc(j->bytes_len + 1);
    evbuffer_remove(b, j->bytes, j->bytes_len);
    evbuffer_free(b);
    j->ctype = "text/csv; charset=utf-8";
    snprintf(j->filename, sizeof j->filename, "%s", filename);
}

/* ---- the calendar: days as numbers since 1970-01-01 (a Thursday) ----------------------------- */

long admin_cme_day(const char *ymd)
{
    struct tm tm = {0};
    tm.tm_year = atoi(ymd) - 1900;
    tm.tm_mon = atoi(ymd + 5) - 1;
    tm.tm_mday = atoi(ymd + 8);
    return (long)(timegm(&tm) / 86400);
}

void admin_cme_ymd(long day, char out[11])
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    /* bounded, so that the compiler can see 10 characters always fit */
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, m = (unsigned)(tm.tm_mon + 1) % 100u,
             d = (unsigned)tm.tm_mday % 100u;
    snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
}

static int weekday(long day) /* 0 Sunday ... 6 Saturday */
{
    return (int)(((day + 4) % 7 + 7) % 7);
}

/* kinds[i] for day first + i: 0 ordinary, 1 节假日, 2 调休工作日 */
static int working(long day, long first, const unsigned char *kinds, long n)
{
    int k = day >= first && day < first + n ? kinds[day - first] : 0;
    if (k == 1) return 0;
    if (k == 2) return 1;
    int w = weekday(day);
    return w >= 1 && w <= 5;
}

/* The batch day on which a result decided on day d is fed back: every Wednesday and Friday
 * is a batch day, one falling on a non-working day moves to the next working day; the
 * answer is the earliest (moved) batch day on or after d. Pure: the calendar is kinds. */
long admin_cme_release_day(long d, long first, const unsigned char *kinds, long n)
{
    long best = -1;
    for (long s = d - 31; s <= d + 31; s++) {
        int w = weekday(s);
        if (w != 3 && w != 5) continue;
        long r = s;
        while (!working(r, first, kinds, n) && r < s + 60) r++;
        if (r >= d && (best < 0 || r < best)) best = r;
    }
    return best;
}

#define CAL_SPAN 160 /* days of calendar read around a decision */

static int release_for(admin_job *j, MYSQL *db, const char *decided, char out[11])
{
    long d = admin_cme_day(decided), first = d - 40;
    unsigned char kinds[CAL_SPAN] = {0};
    char from[11], to[11];
    admin_cme_ymd(first, from);
    admin_cme_ymd(first + CAL_SPAN - 1, to);
    dk_param p[] = {DK_PSTR(from), DK_PSTR(to)};
    json_t *rows;
    int rc = admin_sql_rows(db, "SELECT day, kind = '节假日' AS holiday FROM cme_calendar "
                                "WHERE day BETWEEN ? AND ?",
                            p, 2, 0, &rows, &j->err);
    if (rc) return rc;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        long x = admin_cme_day(json_string_value(json_object_get(r, "day"))) - first;
        if (x >= 0 && x < CAL_SPAN)
            kinds[x] = json_is_true(json_object_get(r, "holiday")) ? 1 : 2;
    }
    json_decref(rows);
    long rel = admin_cme_release_day(d, first, kinds, CAL_SPAN);
    if (rel < 0) return dk_error_set(&j->err, DK_ECONFLICT, "无法确定反馈日期：节假日日历有误");
    admin_cme_ymd(rel, out);
    return 0;
}

int admin_cme_today(admin_job *j, MYSQL *db, char out[11])
{
    return admin_sql_str(db, "SELECT DATE(UTC_TIMESTAMP() + INTERVAL 8 HOUR)", NULL, 0, out, 11,
                         &j->err);
}

/* GET /api/v1/cme/batch-date?decided_on=YYYY-MM-DD (default today, Beijing) */
int admin_cme_batch_date(admin_job *j, MYSQL *db)
{
    char day[11], rel[11];
    const char *d = admin_q(j, "decided_on");
    int rc;
    if (d) {
        if (admin_parse_date(d))
            return dk_error_set(&j->err, DK_EINVAL, "decided_on 应为日期，例如 2026-10-01");
        snprintf(day, sizeof day, "%s", d);
    } else if ((rc = admin_cme_today(j, db, day))) {
        return rc;
    }
    if ((rc = release_for(j, db, day, rel))) return rc;
    static const char *const wd[] = {"星期日", "星期一", "星期二", "星期三",
                                     "星期四", "星期五", "星期六"};
    j->out = json_pack("{s:s,s:s,s:s}", "decided_on", day, "release_on", rel, "weekday",
                       wd[weekday(admin_cme_day(rel))]);
    return 0;
}

/* GET /api/v1/cme/calendar?year= */
int admin_cme_calendar_list(admin_job *j, MYSQL *db)
{
    long long year;
    int rc = admin_q_int(j, "year", 2000, 2200, 0, &year);
    if (rc) return rc;
    dk_param p[] = {DK_PINT(year), DK_PINT(year)};
    json_t *items;
    if ((rc = admin_sql_rows(db, "SELECT day, kind, name FROM cme_calendar WHERE ? = 0 OR "
                                 "YEAR(day) = ? ORDER BY day LIMIT 2000",
                             p, 2, 0, &items, &j->err)))
        return rc;
    j->out = json_pack("{s:o}", "items", items);
    return 0;
}

/* PUT /api/v1/cme/calendar/{day} {kind: 节假日|调休工作日, name} ; DELETE removes it */
int admin_cme_calendar_put(admin_job *j, MYSQL *db)
{
    const char *day = j->params[0], *kind, *name;
    static const char *const keys[] = {"kind", "name", NULL};
    int rc;
    if (!day || admin_parse_date(day))
        return dk_error_set(&j->err, DK_EINVAL, "日期应为 YYYY-MM-DD");
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "kind", "类别", 8, 1, &kind)) ||
        (rc = admin_cme_text(j, "name", "名称", 32, 1, &name)))
        return rc;
    if (strcmp(kind, "节假日") && strcmp(kind, "调休工作日"))
        return dk_error_set(&j->err, DK_EINVAL, "类别应为「节假日」或「调休工作日」");
    dk_param p[] = {DK_PSTR(day), DK_PSTR(kind), DK_PSTR(name)};
    json_t *d = json_pack("{s:s,s:s,s:s}", "day", day, "kind", kind, "name", name);
    if (!(rc = dk_mysql_begin(db, &j->err)) &&
        !(rc = admin_sql_exec(db,
                              "INSERT INTO cme_calendar (day, kind, name) VALUES (?, ?, ?) ON "
                              "DUPLICATE KEY UPDATE kind = VALUES(kind), name = VALUES(name)",
                              p, 3, NULL, &j->err)) &&
        !(rc = admin_audit(db, j, 0, "cme_calendar_set", "cme_calendar", 0, day, NULL, kind, NULL,
                           d, &j->err)))
        rc = dk_mysql_commit(db, &j->err);
    if (!rc) j->out = json_incref(d);
    json_decref(d);
    return rc;
}

int admin_cme_calendar_delete(admin_job *j, MYSQL *db)
{
    const char *day = j->params[0];
    if (!day || admin_parse_date(day))
        return dk_error_set(&j->err, DK_EINVAL, "日期应为 YYYY-MM-DD");
    dk_param p[] = {DK_PSTR(day)};
    uint64_t n = 0;
    int rc;
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_sql_exec(db, "DELETE FROM cme_calendar WHERE day = ?", p, 1, &n, &j->err)))
        return rc;
    if (!n) return dk_error_set(&j->err, DK_ENOTFOUND, "日历中没有 %s", day);
    if ((rc = admin_audit(db, j, 0, "cme_calendar_delete", "cme_calendar", 0, day, NULL, NULL,
                          NULL, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:s,s:b}", "day", day, "deleted", 1);
    return 0;
}

/* ---- projects ------------------------------------------------------------------------------- */

#define CME_MAX_SESSIONS 50

/* The state the caller may see: a province decision is fed back on its batch day. */
#define CME_RELEASED "(p.release_on IS NOT NULL AND p.release_on <= DATE(UTC_TIMESTAMP() + INTERVAL 8 HOUR))"
#define PROJECT_COLS                                                                               \
    "p.id, p.level, p.project_no, p.name, p.category, p.credits, p.organiser_id, "                 \
    "i.name AS organiser_name, p.province_id, p.city_id, p.city_id IS NULL AS provincial_direct, " \
    "p.start_at, p.end_at, p.status AS raw_status, p.declared_at, p.city_opinion, "                \
    "p.city_reviewed_at, p.province_opinion, p.province_reviewed_at, p.release_on, "               \
    CME_RELEASED " AS released, p.lock_version AS version, "                                       \
    "(SELECT f.status FROM cme_feedback f WHERE f.project_id = p.id) AS feedback_status, "         \
    "(SELECT f.granted_at FROM cme_feedback f WHERE f.project_id = p.id) AS granted_at"

/* Hides an unreleased province decision from everyone but the province. */
static void project_view(admin_job *j, json_t *o)
{
    const char *raw = json_string_value(json_object_get(o, "raw_status"));
    int released = json_is_true(json_object_get(o, "released"));
    int decided = raw && (!strcmp(raw, "审核通过") || !strcmp(raw, "审核不通过"));
    json_object_set_new(o, "status", json_string(decided && !released ? "待省级审核" : raw));
    if (!admin_cme_is_province(j)) {
        if (decided && !released) json_object_set_new(o, "province_opinion", json_null());
        json_object_del(o, "raw_status");
    }
}

/* The project's organiser authority path and checks of the caller's scope:
 * an organiser sees its own, an authority those of units in its region. */
int admin_cme_project_scope(admin_job *j, MYSQL *db, long long id, int lock, json_t **out)
{
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT " PROJECT_COLS ", au.path AS org_path FROM cme_project p JOIN institution i "
             "ON i.id = p.organiser_id JOIN authority au ON au.id = i.authority_id "
             "WHERE p.id = ?%s",
             lock ? " FOR UPDATE" : "");
    dk_param p[] = {DK_PINT(id)};
    json_t *o;
    int rc = admin_sql_row(db, sql, p, 1, 0, "没有这个继教项目", &o, &j->err);
    if (rc) return rc;
    const char *path = json_string_value(json_object_get(o, "org_path"));
    int ok = j->actor.kind == 'i'
                 ? json_integer_value(json_object_get(o, "organiser_id")) == j->actor.institution_id
                 : j->actor.kind == 'a' && dom_path_covers(j->actor.path, path);
    if (!ok) {
        json_decref(o);
        return dk_error_set(&j->err, DK_EFORBIDDEN, "该继教项目不在本账号的管理范围内");
    }
    *out = o;
    return 0;
}

static const char *const declare_keys[] = {"level",  "project_no", "name",     "credits",
                                           "notice", "sessions",   NULL};

static int valid_no(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_') return 0;
    return 1;
}

/* A declaration as the body gives it, checked: fields, sessions, the 2-week lead. */
typedef struct cme_decl {
    const char *level, *no, *name, *notice, *cat;
    char credits[16];
    size_t ns;
    char (*times)[2][32]; /* malloc'd: [session][start, end] UTC */
    const char *first, *last;
} cme_decl;

static int declare_parse(admin_job *j, MYSQL *db, cme_decl *d)
{
    int rc;
    memset(d, 0, sizeof *d);
    if ((rc = dk_json_only_keys(j->body, declare_keys, &j->err)) ||
        (rc = admin_cme_text(j, "level", "项目级别", 8, 1, &d->level)) ||
        (rc = admin_cme_text(j, "project_no", "项目编号", 32, 1, &d->no)) ||
        (rc = admin_cme_text(j, "name", "项目名称", 128, 1, &d->name)) ||
        (rc = admin_cme_text(j, "notice", "办班通知", 5000, 1, &d->notice)))
        return rc;
    if (strcmp(d->level, "国家级") && strcmp(d->level, "省级") && strcmp(d->level, "市级"))
        return dk_error_set(&j->err, DK_EINVAL, "项目级别应为国家级、省级或市级");
    if (!valid_no(d->no))
        return dk_error_set(&j->err, DK_EINVAL, "项目编号只能包含字母、数字、- 和 _");
    d->cat = !strcmp(d->level, "市级") ? "II类" : "I类";
    json_t *cr = json_object_get(j->body, "credits");
    double credits = json_is_number(cr) ? json_number_value(cr) : -1;
    if (credits <= 0 || credits > 25 || (long)(credits * 2) != credits * 2)
        return dk_error_set(&j->err, DK_EINVAL, "学分应为 0.5 到 25 之间，以 0.5 为单位");
    snprintf(d->credits, sizeof d->credits, "%.1f", credits);
    json_t *ss = json_object_get(j->body, "sessions");
    d->ns = json_is_array(ss) ? json_array_size(ss) : 0;
    if (!d->ns || d->ns > CME_MAX_SESSIONS)
        return dk_error_set(&j->err, DK_EINVAL, "日程安排应有 1 到 %d 个场次", CME_MAX_SESSIONS);
    d->times = dk_malloc(d->ns * sizeof *d->times);
    for (size_t i = 0; i < d->ns; i++) {
        json_t *s = json_array_get(ss, i);
        static const char *const skeys[] = {"title", "venue", "starts_at", "ends_at", NULL};
        const char *t, *v;
        if (!json_is_object(s))
            return dk_error_set(&j->err, DK_EINVAL, "第 %zu 个场次格式不正确", i + 1);
        json_t *save = j->body;
        j->body = s;
        rc = dk_json_only_keys(s, skeys, &j->err);
        if (!rc) rc = admin_cme_text(j, "title", "场次名称", 128, 1, &t);
        if (!rc) rc = admin_cme_text(j, "venue", "地点", 128, 0, &v);
        j->body = save;
        if (rc) {
            char m[256];
            snprintf(m, sizeof m, "%s", j->err.msg);
            return dk_error_set(&j->err, DK_EINVAL, "第 %zu 个场次：%s", i + 1, m);
        }
        if (admin_parse_time(json_string_value(json_object_get(s, "starts_at")), d->times[i][0]) ||
            admin_parse_time(json_string_value(json_object_get(s, "ends_at")), d->times[i][1]))
            return dk_error_set(&j->err, DK_EINVAL,
                                "第 %zu 个场次的起止时间应带时区，例如 2026-05-10T08:30:00+08:00",
                                i + 1);
        if (strcmp(d->times[i][1], d->times[i][0]) <= 0)
            return dk_error_set(&j->err, DK_EINVAL, "第 %zu 个场次的结束时间应晚于开始时间",
                                i + 1);
        if (!d->first || strcmp(d->times[i][0], d->first) < 0) d->first = d->times[i][0];
        if (!d->last || strcmp(d->times[i][1], d->last) > 0) d->last = d->times[i][1];
    }
    /* at least cme_declare_lead_days before the first session (seed [003] 四(二)) */
    long long lead = dk_config_int(j->srv->cfg, "cme_declare_lead_days"), early = 0;
    char deadline[32] = "";
    dk_param pl[] = {DK_PSTR(d->first), DK_PINT(lead)};
    if ((rc = admin_sql_ll(db, "SELECT ? < UTC_TIMESTAMP(3) + INTERVAL ? DAY", pl, 2, &early,
                           &j->err)) ||
        (rc = admin_sql_str(db,
                            "SELECT DATE_FORMAT(? - INTERVAL ? DAY + INTERVAL 8 HOUR, "
                            "'%Y-%m-%d %H:%i')",
                            pl, 2, deadline, sizeof deadline, &j->err)))
        return rc;
    if (early)
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "项目须至少提前 %lld 天（2 周）申报：首场开始前的申报截止时间为 %s"
                            "（北京时间），已过",
                            lead, deadline);
    return 0;
}

static int sessions_insert(admin_job *j, MYSQL *db, long long id, const cme_decl *d)
{
    json_t *ss = json_object_get(j->body, "sessions");
    int rc = 0;
    for (size_t i = 0; i < d->ns && !rc; i++) {
        json_t *s = json_array_get(ss, i);
        const char *v = json_string_value(json_object_get(s, "venue"));
        dk_param q[] = {DK_PINT(id),
                        DK_PINT(i + 1),
                        DK_PSTR(json_string_value(json_object_get(s, "title"))),
                        v && *v ? DK_PSTR(v) : DK_PNULL,
                        DK_PSTR(d->times[i][0]),
                        DK_PSTR(d->times[i][1])};
        rc = admin_sql_exec(db,
                            "INSERT INTO cme_session (project_id, seq, title, venue, starts_at, "
                            "ends_at) VALUES (?, ?, ?, ?, ?, ?)",
                            q, 6, NULL, &j->err);
    }
    return rc;
}

static json_t *decl_detail(const cme_decl *d)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I}", "level", d->level, "project_no", d->no, "name",
                     d->name, "credits", d->credits, "sessions", (json_int_t)d->ns);
}

static int project_reply(admin_job *j, MYSQL *db, long long id, int status)
{
    json_t *o;
    int rc = admin_cme_project_scope(j, db, id, 0, &o);
    if (rc) return rc;
    json_object_del(o, "org_path");
    project_view(j, o);
    j->out = o;
    j->status = status;
    return 0;
}

/* POST /api/v1/cme/projects: 申报 */
int admin_cme_project_create(admin_job *j, MYSQL *db)
{
    cme_decl d;
    int rc = declare_parse(j, db, &d);
    if (rc || (rc = dk_mysql_begin(db, &j->err))) goto out;
    /* the organiser's province and city: a unit directly under the province skips 初审 */
    long long prov = admin_cme_province_of(j->actor.path), city = 0;
    const char *seg = strchr(j->actor.path + 1, '/');
    if (seg && seg[1]) city = strtoll(seg + 1, NULL, 10);
    const char *st = city ? "待初审" : "待省级审核";
    dk_param p[] = {DK_PSTR(d.level),
                    DK_PSTR(d.no),
                    DK_PSTR(d.name),
                    DK_PSTR(d.cat),
                    DK_PSTR(d.credits),
                    DK_PSTR(d.notice),
                    DK_PINT(j->actor.institution_id),
                    DK_PINT(prov),
                    city ? DK_PINT(city) : DK_PNULL,
                    DK_PSTR(d.first),
                    DK_PSTR(d.last),
                    DK_PSTR(st)};
    rc = admin_sql_exec(db,
                        "INSERT INTO cme_project (level, project_no, name, category, credits, "
                        "notice, organiser_id, province_id, city_id, start_at, end_at, status) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        p, 12, NULL, &j->err);
    if (rc == DK_ECONFLICT) {
        rc = dk_error_set(&j->err, DK_ECONFLICT, "项目编号 %s 已申报过", d.no);
        goto out;
    }
    if (rc) goto out;
    long long id = (long long)mysql_insert_id(db);
    json_t *dt = decl_detail(&d);
    if (!(rc = sessions_insert(j, db, id, &d)))
        rc = admin_audit(db, j, ADMIN_R_INST, "cme_declare", "cme_project", id, NULL, NULL, st,
                         NULL, dt, &j->err);
    json_decref(dt);
    if (!rc && !(rc = dk_mysql_commit(db, &j->err))) rc = project_reply(j, db, id, 201);
out:
    free(d.times);
    return rc;
}

/* PUT /api/v1/cme/projects/{id} (+ version): the organiser declares a returned (初审退回) or
 * refused (审核不通过) project again, corrected; it goes back to 初审 (or to the province
 * for a provincial-direct unit), under the same 2-week rule. */
int admin_cme_project_redeclare(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    json_t *ver = json_incref(json_object_get(j->body, "version")), *o = NULL;
    /* the declaration's fields are read from a shallow copy without the version: the body
     * itself stays as sent, for the runner's retry after a deadlock */
    json_t *body = j->body, *fields = json_copy(body);
    json_object_del(fields, "version");
    j->body = fields;
    cme_decl d;
    int rc = declare_parse(j, db, &d);
    j->body = body;
    json_decref(fields); /* its values are shared with body, which keeps them alive */
    if (rc || (rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_cme_project_scope(j, db, id, 1, &o)))
        goto out;
    const char *was = json_string_value(json_object_get(o, "raw_status"));
    if (strcmp(was, "初审退回") && strcmp(was, "审核不通过")) {
        rc = dk_error_set(&j->err, DK_ECONFLICT,
                          "项目当前状态为「%s」，只有「初审退回」或「审核不通过」的项目可以修改后重新申报",
                          json_string_value(json_object_get(o, "status")));
        goto out;
    }
    if (!json_is_integer(ver) ||
        json_integer_value(ver) != json_integer_value(json_object_get(o, "version"))) {
        rc = dk_error_set(&j->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
        goto out;
    }
    const char *st = json_is_true(json_object_get(o, "provincial_direct")) ? "待省级审核" : "待初审";
    dk_param p[] = {DK_PSTR(d.level), DK_PSTR(d.no),    DK_PSTR(d.name),  DK_PSTR(d.cat),
                    DK_PSTR(d.credits), DK_PSTR(d.notice), DK_PSTR(d.first), DK_PSTR(d.last),
                    DK_PSTR(st),      DK_PINT(id)};
    dk_param pi[] = {DK_PINT(id)};
    rc = admin_sql_exec(db,
                        "UPDATE cme_project SET level = ?, project_no = ?, name = ?, category = ?, "
                        "credits = ?, notice = ?, start_at = ?, end_at = ?, status = ?, "
                        "declared_at = NOW(3), city_opinion = NULL, city_reviewed_at = NULL, "
                        "province_opinion = NULL, province_reviewed_at = NULL, release_on = NULL, "
                        "lock_version = lock_version + 1 WHERE id = ?",
                        p, 10, NULL, &j->err);
    if (rc == DK_ECONFLICT) rc = dk_error_set(&j->err, DK_ECONFLICT, "项目编号 %s 已申报过", d.no);
    json_t *dt = decl_detail(&d);
    if (!rc)
        rc = admin_sql_exec(db, "DELETE FROM cme_session WHERE project_id = ?", pi, 1, NULL,
                            &j->err);
    if (!rc) rc = sessions_insert(j, db, id, &d);
    if (!rc)
        rc = admin_audit(db, j, ADMIN_R_INST, "cme_redeclare", "cme_project", id, NULL, was, st,
                         NULL, dt, &j->err);
    json_decref(dt);
    if (!rc && !(rc = dk_mysql_commit(db, &j->err))) rc = project_reply(j, db, id, 200);
out:
    json_decref(ver);
    json_decref(o);
    free(d.times);
    return rc;
}

/* GET /api/v1/cme/projects: status=, level=, year=, q= (name or number) */
int admin_cme_project_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM cme_project p JOIN institution i ON i.id = p.organiser_id JOIN "
                        "authority au ON au.id = i.authority_id WHERE ");
    char like[2 * 128 + 3];
    int rc = 0;
    if (j->actor.kind == 'i') {
        admin_sqlb_cat(&b, "p.organiser_id = ?");
        admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    } else {
        admin_sqlb_cat(&b, "au.path LIKE CONCAT(?, '%')");
        admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    }
    const char *st = admin_q(j, "status"), *lv = admin_q(j, "level"), *q = admin_q(j, "q");
    if (st) {
        /* 待省级审核 includes decisions not fed back yet (except for the province) */
        if (!strcmp(st, "待省级审核") && !admin_cme_is_province(j))
            admin_sqlb_cat(&b, " AND (p.status = ? OR NOT " CME_RELEASED
                               " AND p.status IN ('审核通过','审核不通过'))");
        else if ((!strcmp(st, "审核通过") || !strcmp(st, "审核不通过")) &&
                 !admin_cme_is_province(j))
            admin_sqlb_cat(&b, " AND p.status = ? AND " CME_RELEASED);
        else
            admin_sqlb_cat(&b, " AND p.status = ?");
        admin_sqlb_param(&b, DK_PSTR(st));
    }
    if (lv) {
        admin_sqlb_cat(&b, " AND p.level = ?");
        admin_sqlb_param(&b, DK_PSTR(lv));
    }
    if (q && !(rc = admin_like_any(j, "搜索内容", q, 128, like, sizeof like))) {
        admin_sqlb_cat(&b, " AND (p.name LIKE ? OR p.project_no LIKE ?)");
        admin_sqlb_param(&b, DK_PSTR(like));
        admin_sqlb_param(&b, DK_PSTR(like));
    }
    long long year = 0;
    if (!rc) rc = admin_q_int(j, "year", 0, 2200, 0, &year);
    if (!rc && year) {
        admin_sqlb_cat(&b, " AND YEAR(p.start_at + INTERVAL 8 HOUR) = ?");
        admin_sqlb_param(&b, DK_PINT(year));
    }
    if (!rc) rc = admin_list(j, db, PROJECT_COLS, &b, "p.start_at DESC, p.id DESC", 0);
    admin_sqlb_free(&b);
    if (rc) return rc;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(j->out, "items"), i, o) project_view(j, o);
    return 0;
}

/* GET /api/v1/cme/projects/{id}: the project, its sessions with attendance counts, the
 * feedback, the paper attendees' count and the credits granted */
int admin_cme_project_get(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    json_t *o, *ss = NULL, *fb = NULL;
    int rc = admin_cme_project_scope(j, db, id, 0, &o);
    if (rc) return rc;
    json_object_del(o, "org_path");
    project_view(j, o);
    dk_param p[] = {DK_PINT(id)};
    long long paper = 0, granted = 0, persons = 0;
    if ((rc = admin_sql_rows(db,
                             "SELECT s.id, s.seq, s.title, s.venue, s.starts_at, s.ends_at, "
                             "(SELECT COUNT(*) FROM cme_attendance a WHERE a.session_id = s.id) "
                             "AS attendees FROM cme_session s WHERE s.project_id = ? ORDER BY "
                             "s.seq",
                             p, 1, 0, &ss, &j->err)) ||
        (rc = admin_sql_ll(db, "SELECT COUNT(*) FROM cme_paper_attendee WHERE project_id = ?", p,
                           1, &paper, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT COUNT(DISTINCT card_id) FROM cme_attendance WHERE "
                           "project_id = ?",
                           p, 1, &persons, &j->err)) ||
        (rc = admin_sql_ll(db, "SELECT COUNT(*) FROM cme_credit WHERE project_id = ?", p, 1,
                           &granted, &j->err)))
        goto fail;
    rc = admin_sql_row(db,
                       "SELECT summary, signin_sheet_sent, failed_cards, submitted_at, late, "
                       "status, check_opinion, checked_at, committee_ref, committee_approved_on, "
                       "grant_started_at, grant_total, grant_progress, granted_at, grant_late, granted_count "
                       "FROM cme_feedback WHERE "
                       "project_id = ?",
                       p, 1, 0, NULL, &fb, &j->err);
    if (rc == DK_ENOTFOUND) rc = 0, fb = json_null(), dk_error_clear(&j->err);
    if (rc) goto fail;
    json_object_set_new(o, "sessions", ss);
    json_object_set_new(o, "feedback", fb);
    json_object_set_new(o, "electronic_attendees", json_integer(persons));
    json_object_set_new(o, "paper_attendees", json_integer(paper));
    json_object_set_new(o, "credits_granted", json_integer(granted));
    json_t *notice;
    if (!admin_sql_row(db, "SELECT notice FROM cme_project WHERE id = ?", p, 1, 0, NULL, &notice,
                       &j->err)) {
        json_object_update(o, notice);
        json_decref(notice);
    }
    j->out = o;
    return 0;
fail:
    json_decref(o);
    json_decref(ss);
    return rc;
}

/* Checks the body's version against the project's; 409 when stale. */
static int check_version(admin_job *j, json_t *o)
{
    long long v;
    int rc = dk_json_int(j->body, "version", 0, 1LL << 31, &v, &j->err);
    if (rc) return dk_error_set(&j->err, DK_EINVAL, "缺少 version（页面读取时的版本）");
    if (v != json_integer_value(json_object_get(o, "version")))
        return dk_error_set(&j->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
    return 0;
}

/* The body of a review {decision: yes|no, opinion?, ...keys}: what names it in messages
 * (初审, 审核, 核查); the opinion is required with "no". *pass, *op. */
int admin_cme_decision(admin_job *j, const char *const *keys, const char *what, const char *yes,
                       const char *no, int *pass, const char **op)
{
    const char *dec;
    char l1[32], l2[32];
    snprintf(l1, sizeof l1, "%s结果", what);
    snprintf(l2, sizeof l2, "%s意见", what);
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "decision", l1, 4, 1, &dec)) ||
        (rc = admin_cme_text(j, "opinion", l2, 1000, 0, op)))
        return rc;
    *pass = !strcmp(dec, yes);
    if (!*pass && strcmp(dec, no))
        return dk_error_set(&j->err, DK_EINVAL, "%s应为「%s」或「%s」", l1, yes, no);
    if (!*pass && (!*op || !**op))
        return dk_error_set(&j->err, DK_EINVAL, "%s须填写%s", no, l2);
    return 0;
}

/* POST /api/v1/cme/projects/{id}/city-review {decision: 通过|退回, opinion, version} */
int admin_cme_city_review(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"decision", "opinion", "version", NULL};
    long long id = admin_param_id(j, 0);
    const char *op;
    json_t *o = NULL;
    int pass, rc = admin_cme_decision(j, keys, "初审", "通过", "退回", &pass, &op);
    if (rc) return rc;
    if (strcmp(j->actor.level, "city"))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "初审由主办单位所在市的卫生局进行");
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = admin_cme_project_scope(j, db, id, 1, &o)))
        return rc;
    const char *st = json_string_value(json_object_get(o, "raw_status"));
    if (json_is_true(json_object_get(o, "provincial_direct")))
        rc = dk_error_set(&j->err, DK_ECONFLICT, "省直单位的项目不经市级初审");
    else if (strcmp(st, "待初审"))
        rc = dk_error_set(&j->err, DK_ECONFLICT, "项目当前状态为「%s」，只有「待初审」可以初审",
                          st);
    else if (json_integer_value(json_object_get(o, "city_id")) != j->actor.authority_id)
        rc = dk_error_set(&j->err, DK_EFORBIDDEN, "初审由主办单位所在市的卫生局进行");
    if (!rc) rc = check_version(j, o);
    const char *to = pass ? "待省级审核" : "初审退回";
    dk_param p[] = {DK_PSTR(to), op ? DK_PSTR(op) : DK_PNULL, DK_PINT(id)};
    if (!rc)
        rc = admin_sql_exec(db,
                            "UPDATE cme_project SET status = ?, city_opinion = ?, "
                            "city_reviewed_at = NOW(3), lock_version = lock_version + 1 "
                            "WHERE id = ?",
                            p, 3, NULL, &j->err);
    if (!rc)
        rc = admin_audit(db, j, 0, "cme_city_review", "cme_project", id, NULL, st, to, op, NULL,
                         &j->err);
    json_decref(o);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->out = json_pack("{s:s,s:I,s:s,s:s}", "entity", "cme_project", "id", (json_int_t)id, "from",
                       "待初审", "status", to);
    return 0;
}

/* POST /api/v1/cme/projects/{id}/province-review {decision: 通过|不通过, opinion, version}:
 * the result waits for its batch day (release_on) */
int admin_cme_province_review(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"decision", "opinion", "version", NULL};
    long long id = admin_param_id(j, 0);
    const char *op;
    json_t *o = NULL;
    int pass, rc = admin_cme_decision(j, keys, "审核", "通过", "不通过", &pass, &op);
    if (rc) return rc;
    if (!admin_cme_is_province(j))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "继教项目由省继教办审核");
    char today[11], rel[11];
    if ((rc = admin_cme_today(j, db, today)) || (rc = release_for(j, db, today, rel)) ||
        (rc = dk_mysql_begin(db, &j->err)) || (rc = admin_cme_project_scope(j, db, id, 1, &o)))
        return rc;
    const char *st = json_string_value(json_object_get(o, "raw_status"));
    if (strcmp(st, "待省级审核"))
        rc = dk_error_set(&j->err, DK_ECONFLICT,
                          "项目当前状态为「%s」，只有「待省级审核」可以审核", st);
    if (!rc) rc = check_version(j, o);
    const char *to = pass ? "审核通过" : "审核不通过";
    dk_param p[] = {DK_PSTR(to), op ? DK_PSTR(op) : DK_PNULL, DK_PSTR(rel), DK_PINT(id)};
    if (!rc)
        rc = admin_sql_exec(db,
                            "UPDATE cme_project SET status = ?, province_opinion = ?, "
                            "province_reviewed_at = NOW(3), release_on = ?, lock_version = "
                            "lock_version + 1 WHERE id = ?",
                            p, 4, NULL, &j->err);
    json_t *d = json_pack("{s:s}", "release_on", rel);
    if (!rc)
        rc = admin_audit(db, j, 0, "cme_province_review", "cme_project", id, NULL, st, to, op, d,
                         &j->err);
    json_decref(d);
    json_decref(o);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->out = json_pack("{s:s,s:I,s:s,s:s,s:s}", "entity", "cme_project", "id", (json_int_t)id,
                       "from", "待省级审核", "status", to, "release_on", rel);
    return 0;
}
