/* admin_invig.c - invigilation 监考管理: the list of sessions with their lowest capture
 * similarity (filter e.g. < 40%), mark state (标记状态) and view state (查看状态); one
 * session's captures beside the registered photo; the photo bytes, each view written to
 * the audit log (PIPL: photos are shown only to accounts in scope); mark / unmark /
 * determine / revoke through the workflow table; and the retention purge of capture
 * photos once a cycle's determinations are final. Database worker threads only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_internal.h"
#include "dom_session.h"

/* The session's scope: its institution, or an authority above it. */
static int session_scope(admin_job *j, MYSQL *db, const char *sid, long long *enrolment)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(sid)};
    int rc = dk_mysql_exec(db,
                           "SELECT e.id, e.institution_id, au.path FROM exam_session s "
                           "JOIN enrolment e ON e.id = s.enrolment_id JOIN institution i ON "
                           "i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "
                           "WHERE s.id = ?",
                           p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    int ok = 0;
    if (row) {
        if (enrolment) *enrolment = strtoll(row[0], NULL, 10);
        ok = (j->actor.kind == 'i' && strtoll(row[1], NULL, 10) == j->actor.institution_id) ||
             (j->actor.kind == 'a' && dom_path_covers(j->actor.path, row[2]));
    }
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这场测评");
    return ok ? 0 : dk_error_set(&j->err, DK_EFORBIDDEN, "不在本账号的管辖范围内");
}

/* ---- GET /api/v1/invigilation ---------------------------------------------------------------- */

int admin_invig_list(admin_job *j, MYSQL *db)
{
    long long cycle, inst, viewed;
    double maxsim = -1;
    int rc = admin_cycle_for(j, db, j->actor.path, &cycle);
    if (rc || (rc = admin_q_int(j, "institution_id", 1, 1LL << 53, 0, &inst)) ||
        (rc = admin_q_int(j, "viewed", 0, 1, -1, &viewed)))
        return rc;
    const char *ms = admin_q(j, "max_similarity");
    if (ms) {
        char *end;
        maxsim = strtod(ms, &end);
        if (*end || maxsim < 0 || maxsim > 100)
            return dk_error_set(&j->err, DK_EINVAL, "max_similarity 应为 0 到 100 的数");
    }
    admin_sqlb b;
    admin_sqlb_init(
        &b,
        "FROM (SELECT s.id AS session_id, s.paper, IF(s.paper = '" DOM_PAPER_PUBLIC
        "', '人文医学', s.paper) "
        "AS paper_name, s.attempt, s.status AS session_status, s.started_at, s.submitted_at, "
        "e.id AS enrolment_id, e.procedure_type, p.id AS physician_id, p.name, "
        "TIMESTAMPDIFF(YEAR, p.birth_date, CURDATE()) AS age, p.id_number, "
        "i.id AS institution_id, i.name AS institution_name, au.name AS region, "
        "IFNULL(v.mark_status, '无') AS mark_status, IFNULL(v.lock_version, 0) AS version, "
        "v.first_viewed_at IS NOT NULL AS viewed, IFNULL(v.view_count, 0) AS view_count, "
        "(SELECT MIN(pc.similarity) FROM proctor_capture pc WHERE pc.session_id = s.id) "
        "AS min_similarity, (SELECT COUNT(*) FROM proctor_capture pc WHERE "
        "pc.session_id = s.id) AS captures, (SELECT GROUP_CONCAT(ps.reason) FROM "
        "proctor_suspect ps WHERE ps.session_id = s.id) AS suspect_reasons, "
        "(SELECT GROUP_CONCAT(CONCAT(ps.reason, ':', IFNULL(JSON_LENGTH(ps.frames), 0)) "
        "ORDER BY ps.id) FROM proctor_suspect ps WHERE ps.session_id = s.id) AS suspect_frames, "
        "s.departures, s.departure_ms, s.concurrent_devices, "
        "r.score, r.passed, r.cheating_confirmed, c.similarity_threshold "
        "FROM exam_session s JOIN enrolment e ON e.id = s.enrolment_id "
        "JOIN physician p ON p.id = s.physician_id JOIN cycle c ON c.id = s.cycle_id "
        "JOIN institution i ON i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "
        "LEFT JOIN invigilation v ON v.session_id = s.id "
        "LEFT JOIN exam_result r ON r.session_id = s.id WHERE s.cycle_id = ?");
    admin_sqlb_param(&b, DK_PINT(cycle));
    if (j->actor.kind == 'i') {
        admin_sqlb_cat(&b, " AND e.institution_id = ?");
        admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    } else {
        admin_sqlb_cat(&b, " AND au.path LIKE CONCAT(?, '%')");
        admin_sqlb_param(&b, DK_PSTR(j->actor.path));
        if (inst) {
            admin_sqlb_cat(&b, " AND e.institution_id = ?");
            admin_sqlb_param(&b, DK_PINT(inst));
        }
    }
    admin_filter_bufs fb;
    if ((rc = admin_phys_filters(j, &b, &fb))) goto out;
    const char *paper = admin_q(j, "paper");
    if (paper) {
        admin_sqlb_cat(&b, " AND s.paper = ?");
        admin_sqlb_param(&b, DK_PSTR(!strcmp(paper, "人文医学") ? DOM_PAPER_PUBLIC : paper));
    }
    admin_sqlb_cat(&b, ") x WHERE 1 = 1");
    char simbuf[32];
    if (maxsim >= 0) {
        snprintf(simbuf, sizeof simbuf, "%.3f", maxsim);
        admin_sqlb_cat(&b, " AND x.min_similarity < ?");
        admin_sqlb_param(&b, DK_PSTR(simbuf));
    }
    const char *mark = admin_q(j, "mark_status");
    if (mark) {
        admin_sqlb_cat(&b, " AND x.mark_status = ?");
        admin_sqlb_param(&b, DK_PSTR(mark));
    }
    if (viewed >= 0) {
        admin_sqlb_cat(&b, " AND x.viewed = ?");
        admin_sqlb_param(&b, DK_PINT(viewed));
    }
    /* 系统预警: any, the face flags, or one of the page's signals (issue 18) */
    const char *sus = admin_q(j, "suspect");
    if (sus && !strcmp(sus, "1"))
        admin_sqlb_cat(&b, " AND x.suspect_reasons IS NOT NULL");
    else if (sus && !strcmp(sus, "face"))
        admin_sqlb_cat(&b, " AND x.suspect_reasons REGEXP 'low_similarity|no_face|multiple_faces|"
                           "missing_captures'");
    else if (sus && !strcmp(sus, "departures"))
        admin_sqlb_cat(&b, " AND FIND_IN_SET('departures', x.suspect_reasons)");
    else if (sus && !strcmp(sus, "concurrent_devices"))
        admin_sqlb_cat(&b, " AND FIND_IN_SET('concurrent_devices', x.suspect_reasons)");
    else if (sus) {
        rc = dk_error_set(&j->err, DK_EINVAL,
                          "suspect 应为 1、face、departures 或 concurrent_devices");
        goto out;
    }
    rc =
        admin_list(j, db, "x.*", &b, "x.min_similarity IS NULL, x.min_similarity, x.session_id", 0);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* proctor_suspect.frames (the capture ids behind a session decision, JSON text in MariaDB)
 * as an array; [] for rows without (missing captures, rows from before session decisions). */
static void frames_as_arrays(json_t *suspects)
{
    size_t i;
    json_t *row;
    json_array_foreach(suspects, i, row) {
        const char *txt = json_string_value(json_object_get(row, "frames"));
        json_t *a = txt ? json_loads(txt, 0, NULL) : NULL;
        if (!json_is_array(a)) {
            json_decref(a);
            a = json_array();
        }
        json_object_set_new(row, "frames", a);
    }
}

/* ---- GET /api/v1/invigilation/{sid}
 * -------------------------------------------------------------------- */

int admin_invig_get(admin_job *j, MYSQL *db)
{
    const char *sid = j->params[0];
    if (!sid || !dom_sid_valid(sid, strlen(sid)))
        return dk_error_set(&j->err, DK_ENOTFOUND, "没有这场测评");
    int rc = session_scope(j, db, sid, NULL);
    if (rc) return rc;
    json_t *sess = NULL, *caps = NULL, *sus = NULL, *dets = NULL, *deps = NULL, *devs = NULL;
    dk_param p[] = {DK_PSTR(sid)};
    if ((rc = admin_sql_row(
             db,
             "SELECT s.id AS session_id, s.paper, IF(s.paper = '" DOM_PAPER_PUBLIC
             "', '人文医学', s.paper) AS "
             "paper_name, s.attempt, s.status, s.started_at, s.deadline, s.submitted_at, "
             "s.submitted_by, e.id AS enrolment_id, e.procedure_type, e.status AS "
             "enrolment_status, "
             "p.id AS physician_id, p.name, p.sex, p.id_number, p.practice_category, "
             "p.photo_path IS NOT NULL AS has_registered_photo, "
             "p.face_embedding IS NOT NULL AS has_embedding, i.name AS institution_name, "
             "r.score, r.total, r.passed, r.cheating_confirmed, r.final_passed, "
             "IFNULL(v.mark_status, '无') AS mark_status, IFNULL(v.lock_version, 0) AS version, "
             "v.marked_at, v.mark_note, v.decided_at, v.first_viewed_at, v.view_count, "
             "s.departures, s.departure_ms, s.concurrent_devices, "
             "c.similarity_threshold FROM exam_session s JOIN enrolment e ON e.id = s.enrolment_id "
             "JOIN physician p ON p.id = s.physician_id JOIN institution i ON i.id = "
             "e.institution_id "
             "JOIN cycle c ON c.id = s.cycle_id LEFT JOIN exam_result r ON r.session_id = s.id "
             "LEFT JOIN invigilation v ON v.session_id = s.id WHERE s.id = ?",
             p, 1, ADMIN_SQL_FULL_ID, NULL, &sess, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT id, purpose, taken_at, similarity, faces, flag, error, "
                             "photo_path IS NOT NULL AND photo_deleted_at IS NULL AS has_photo, "
                             "photo_deleted_at, scored_at "
                             "FROM proctor_capture WHERE session_id = ? ORDER BY taken_at",
                             p, 1, 0, &caps, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT reason, score, occurrences, status, created_at, capture_id, "
                             "frames FROM proctor_suspect WHERE session_id = ? ORDER BY id",
                             p, 1, 0, &sus, &j->err)) ||
        (rc =
             admin_sql_rows(db,
                            "SELECT d.decision, d.reason, d.created_at, acc.display_name AS "
                            "decided_by, au.name AS authority FROM cheating_determination d "
                            "JOIN authority_account acc ON acc.id = d.decided_by JOIN authority au "
                            "ON au.id = d.authority_id WHERE d.session_id = ? ORDER BY d.id",
                            p, 1, 0, &dets, &j->err)) ||
        /* the page's signals (issue 18): each departure, and the devices with their
         * addresses masked */
        (rc = admin_sql_rows(db,
                             "SELECT event_id, kind, started_at, duration_ms FROM exam_departure "
                             "WHERE session_id = ? ORDER BY started_at LIMIT 500",
                             p, 1, 0, &deps, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT device_id, user_agent, IF(address LIKE '%:%', "
                             "CONCAT(SUBSTRING_INDEX(address, ':', 2), ':*'), "
                             "CONCAT(SUBSTRING_INDEX(address, '.', 2), '.*.*')) AS address, "
                             "first_seen, last_seen FROM exam_device WHERE session_id = ? "
                             "ORDER BY first_seen LIMIT 20",
                             p, 1, 0, &devs, &j->err))) {
        json_decref(sess);
        json_decref(caps);
        json_decref(sus);
        json_decref(dets);
        json_decref(deps);
        return rc;
    }
    frames_as_arrays(sus);
    const char *mark = json_string_value(json_object_get(sess, "mark_status"));
    long long pid = (long long)json_integer_value(json_object_get(sess, "physician_id"));
    json_object_set_new(sess, "registered_photo_url",
                        json_sprintf("/api/v1/physicians/%lld/photo", pid));
    j->out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "session", sess, "captures", caps,
                       "suspects", sus, "determinations", dets, "departures", deps, "devices",
                       devs, "actions",
                       dom_flow_actions(&j->actor, DOM_E_INVIGILATION, mark ? mark : "无"));
    return admin_audit_id_view(db, j, 0, pid, &j->err);
}

int admin_invig_action(admin_job *j, MYSQL *db)
{
    const char *sid = j->params[0];
    if (!sid || !dom_sid_valid(sid, strlen(sid)))
        return dk_error_set(&j->err, DK_ENOTFOUND, "没有这场测评");
    return admin_flow_run(j, db, DOM_E_INVIGILATION, j->params[1], 0, sid, j->body, &j->out);
}

/* ---- photos: every view is in the audit log
 * -------------------------------------------------------- */

int admin_capture_photo(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id)};
    int rc =
        dk_mysql_exec(db,
                      "SELECT session_id, IFNULL(photo_path, ''), photo_deleted_at IS NOT NULL "
                      "FROM proctor_capture WHERE id = ?",
                      p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char sid[40] = "", path[512] = "";
    int deleted = 0;
    if (row) {
        snprintf(sid, sizeof sid, "%s", row[0]);
        snprintf(path, sizeof path, "%s", row[1]);
        deleted = atoi(row[2]);
    }
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这张监考照片");
    if ((rc = session_scope(j, db, sid, NULL))) return rc;
    if (deleted || !path[0]) return dk_error_set(&j->err, DK_ENOTFOUND, "照片已按保存期限删除");
    size_t len;
    if (admin_read_file(path, 16 << 20, &j->bytes, &len))
        return dk_error_set(&j->err, DK_ENOTFOUND, "照片文件已不存在");
    j->bytes_len = len;
    j->ctype = "image/jpeg";
    dk_param v[] = {DK_PSTR(sid)};
    json_t *d = json_pack("{s:s}", "session_id", sid);
    if ((rc = admin_sql_exec(
             db,
             "INSERT INTO invigilation (session_id, first_viewed_at, last_viewed_at, "
             "view_count) VALUES (?, NOW(3), NOW(3), 1) ON DUPLICATE KEY UPDATE "
             "first_viewed_at = IFNULL(first_viewed_at, NOW(3)), "
             "last_viewed_at = NOW(3), view_count = view_count + 1",
             v, 1, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "photo_view", "proctor_capture", id, NULL, NULL, NULL, NULL, d,
                          &j->err))) {
        json_decref(d);
        free(j->bytes);
        j->bytes = NULL;
        return rc;
    }
    json_decref(d);
    return 0;
}

/* GET /api/v1/physicians/{id}/photo: the registered photo, for the physician's institution,
 * an authority above it, and a 考核机构 that re-reviews one of the physician's enrolments
 * (enrolment.assessor_id, the scope of its review pages). Every view is audited, the
 * 考核机构's as 考核机构. */
int admin_registered_photo(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0);
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(j->actor.is_assessor ? j->actor.institution_id : 0), DK_PINT(pid)};
    int rc = dk_mysql_exec(db,
                           "SELECT p.institution_id, au.path, IFNULL(p.photo_path, ''), "
                           "EXISTS (SELECT 1 FROM enrolment e WHERE e.physician_id = p.id AND "
                           "e.assessor_id = ?) FROM physician p JOIN institution i ON "
                           "i.id = p.institution_id JOIN authority au ON au.id = i.authority_id "
                           "WHERE p.id = ?",
                           p, 2, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    int own = 0, assessor = 0, region = 0;
    char path[512] = "";
    if (row) {
        own = j->actor.kind == 'i' && strtoll(row[0], NULL, 10) == j->actor.institution_id;
        assessor = j->actor.kind == 'i' && j->actor.is_assessor && atoi(row[3]) == 1;
        region = j->actor.kind == 'a' && dom_path_covers(j->actor.path, row[1]);
        snprintf(path, sizeof path, "%s", row[2]);
    }
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这位医师");
    if (!own && !assessor && !region)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "不在本账号的管辖范围内");
    size_t len;
    if (!path[0] || admin_read_file(path, ADMIN_PHOTO_MAX, &j->bytes, &len))
        return dk_error_set(&j->err, DK_ENOTFOUND, "医师尚未上传本人照片");
    j->bytes_len = len;
    j->ctype = "image/jpeg";
    if ((rc = admin_audit(db, j, !own && assessor ? ADMIN_R_ASSESSOR : 0, "photo_view", "physician",
                          pid, NULL, NULL, NULL, NULL, NULL, &j->err))) {
        free(j->bytes);
        j->bytes = NULL;
    }
    return rc;
}

/* ---- retention
 * ------------------------------------------------------------------------------------- */

/* Capture photos of a cycle are deleted photo_retention_days (the cycle's setting) after
 * its last test window ends, once no session of the cycle still waits for a decision
 * (mark 疑似). The rows stay, with photo_deleted_at.
 *
 * In two steps, so that the record and the disk never disagree for good: per cycle, one
 * transaction marks its rows (photo_deleted_at) and writes the cycle's audit row with the
 * count it purged; after the commits the files of marked rows are deleted, and a row's
 * photo_path is cleared only once its file is gone. A file that cannot be deleted keeps
 * its path and is tried again by the next purge (purge_files). */

#define PURGE_CYCLE_RETENTION                                                                      \
    "NOW(3) > GREATEST(IFNULL(c.test_end, c.period_end), IFNULL(c.makeup_end, "                    \
    "IFNULL(c.test_end, c.period_end))) + INTERVAL c.photo_retention_days DAY AND NOT EXISTS "     \
    "(SELECT 1 FROM invigilation v JOIN exam_session s2 ON s2.id = v.session_id WHERE "            \
    "s2.cycle_id = c.id AND v.mark_status = '疑似')"

/* Marks the photos of one cycle as purged and audits the count, in one transaction. */
static int purge_cycle(MYSQL *db, long long cycle, int *marked, dk_error *err)
{
    uint64_t n = 0;
    dk_param p[] = {DK_PINT(cycle)};
    int rc = dk_mysql_begin(db, err);
    if (!rc)
        rc = dk_mysql_exec(db,
                           "UPDATE proctor_capture pc JOIN exam_session s ON s.id = pc.session_id "
                           "JOIN cycle c ON c.id = s.cycle_id SET pc.photo_deleted_at = NOW(3) "
                           "WHERE c.id = ? AND pc.photo_path IS NOT NULL AND "
                           "pc.photo_deleted_at IS NULL AND " PURGE_CYCLE_RETENTION,
                           p, 1, NULL, &n, err);
    if (!rc && n) {
        json_t *d = json_pack("{s:I}", "deleted", (json_int_t)n);
        rc = admin_audit(db, NULL, 0, "photo_purge", "cycle", cycle, NULL, NULL, NULL,
                         "保存期限届满", d, err);
        json_decref(d);
    }
    if (!rc) rc = dk_mysql_commit(db, err);
    if (rc) {
        dk_mysql_rollback(db);
        return rc;
    }
    *marked += (int)n;
    return 0;
}

/* Deletes the files of purged rows that still name one (this run's and any an earlier run
 * could not delete), clearing photo_path once a file is gone. */
static int purge_files(MYSQL *db, const char *path, dk_error *err)
{
    long long after = 0;
    for (int batch = 0; batch < 100; batch++) {
        MYSQL_RES *res;
        dk_param pp[] = {DK_PSTR(path), DK_PINT(after)};
        int rc = dk_mysql_exec(
            db,
            "SELECT pc.id, pc.photo_path FROM proctor_capture pc JOIN exam_session s ON "
            "s.id = pc.session_id JOIN cycle c ON c.id = s.cycle_id JOIN authority au ON "
            "au.id = c.authority_id WHERE au.path LIKE CONCAT(?, '%') AND "
            "pc.photo_deleted_at IS NOT NULL AND pc.photo_path IS NOT NULL AND pc.id > ? "
            "ORDER BY pc.id LIMIT 500",
            pp, 2, &res, NULL, err);
        if (rc) return rc;
        int n = 0;
        long long gone[500];
        int ngone = 0;
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(res))) {
            n++;
            after = strtoll(row[0], NULL, 10);
            if (unlink(row[1]) == 0 || errno == ENOENT)
                gone[ngone++] = after;
            else
                DK_WARN("admind",
                        "cannot delete capture photo, retried next purge capture_id=%s "
                        "errno=%d",
                        row[0], errno);
        }
        mysql_free_result(res);
        for (int i = 0; i < ngone; i++) {
            dk_param p[] = {DK_PINT(gone[i])};
            if ((rc = dk_mysql_exec(db, "UPDATE proctor_capture SET photo_path = NULL WHERE id = ?",
                                    p, 1, NULL, NULL, err)))
                return rc;
        }
        if (n < 500) break;
    }
    return 0;
}

int admin_purge_photos(MYSQL *db, const char *path, int *deleted, dk_error *err)
{
    *deleted = 0;
    if (!path) path = "/";
    MYSQL_RES *res;
    dk_param pp[] = {DK_PSTR(path)};
    int rc = dk_mysql_exec(
        db,
        "SELECT c.id FROM cycle c JOIN authority au ON au.id = c.authority_id WHERE "
        "au.path LIKE CONCAT(?, '%') AND " PURGE_CYCLE_RETENTION " AND EXISTS (SELECT 1 FROM "
        "exam_session s JOIN proctor_capture pc ON pc.session_id = s.id WHERE s.cycle_id = c.id "
        "AND pc.photo_path IS NOT NULL AND pc.photo_deleted_at IS NULL) ORDER BY c.id LIMIT 1000",
        pp, 1, &res, NULL, err);
    if (rc) return rc;
    size_t n = (size_t)mysql_num_rows(res), k = 0;
    long long *cycles = dk_calloc(n ? n : 1, sizeof *cycles);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && k < n)
        cycles[k++] = strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    for (size_t i = 0; i < k && !rc; i++)
        rc = purge_cycle(db, cycles[i], deleted, err);
    free(cycles);
    /* the files of what is committed, even when a later cycle failed */
    dk_error ferr = {0};
    int frc = purge_files(db, path, rc ? &ferr : err);
    if (rc) return rc;
    if (*deleted) DK_INFO("admind", "capture photos deleted after retention count=%d", *deleted);
    return frc;
}

int admin_maintenance(admin_job *j, MYSQL *db)
{
    int purged = 0, moved = 0;
    int rc = admin_purge_photos(db, j->actor.path, &purged, &j->err);
    if (!rc) rc = dom_flow_absentees(db, j->actor.path, &moved, &j->err);
    if (rc) return rc;
    atomic_fetch_add(&j->srv->photos_purged, purged);
    atomic_fetch_add(&j->srv->absentees, moved);
    j->out = json_pack("{s:i,s:i}", "photos_deleted", purged, "absentees_moved", moved);
    return 0;
}
