/* admin_bulk.c - an authority's bulk actions over a filtered list of thousands of rows,
 * each with a count preview (issue 16 item 8): the province confirms or refuses the
 * 待确认补考 makeups, an authority marks the absentees of a closed test window (seed [001]:
 * 未参加测评 is 不合格; the same rule the maintenance sweep applies, dom_flow_absentees).
 *
 * The page previews the set: GET .../preview with the filters answers the first page,
 * "count" and "digest" (SHA-256 over every row's id, version and status). The action
 * (POST with the same filters, count and digest) locks the set again and refuses it (409)
 * unless it is the very set previewed, then runs each row through the workflow table
 * (dom_flow, one audit row per enrolment) in ONE transaction, plus one summary audit row:
 * all or nothing. At most ADMIN_BULK_MAX rows at once. Database threads only. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define ADMIN_BULK_MAX 5000

/* the absentees of the region: waiting for a test after its window (DOM_ABSENTEE_SQL) */
#define ABSENT_SCOPE                                                                               \
    "au.path LIKE CONCAT(?, '%') AND EXISTS (SELECT 1 FROM cycle c WHERE c.id = e.cycle_id "       \
    "AND " DOM_ABSENTEE_SQL("e", "c") ")"
#define REGION_SCOPE "au.path LIKE CONCAT(?, '%')"

#define BULK_COLS                                                                                  \
    "e.id AS enrolment_id, e.lock_version AS version, e.status, e.procedure_type, "                \
    "e.institution_id, i.name AS institution_name, " ADMIN_PHYS_COLS

typedef struct bulk_set {
    long long *ids;
    char (*status)[48];
    size_t n;
    char digest[crypto_hash_sha256_BYTES * 2 + 1];
} bulk_set;

static void bulk_free(bulk_set *s)
{
    free(s->ids);
    free(s->status);
    memset(s, 0, sizeof *s);
}

/* The set of a bulk action: the enrolments of the actor's current cycle in its region that
 * the filters select; makeups: 待确认补考, absentees: DOM_ABSENTEE_SQL. */
static int bulk_where(admin_job *j, MYSQL *db, int absentees, admin_sqlb *b, admin_filter_bufs *fb,
                      long long *cycle)
{
    const char *status = admin_q(j, "status");
    if (status && (absentees || strcmp(status, DOM_ST_MAKEUP_CONFIRM))) {
        admin_sqlb_init(b, NULL);
        return dk_error_set(&j->err, DK_EINVAL, "批量处理的名单不能按 status 筛选");
    }
    return admin_enrol_queue_sql(j, db, b, fb, absentees ? ABSENT_SCOPE : REGION_SCOPE, 0,
                                 j->actor.path, absentees ? NULL : DOM_ST_MAKEUP_CONFIRM, NULL,
                                 cycle);
}

/* One row (id, lock_version, status) into the set and its digest. */
static void set_add(bulk_set *s, crypto_hash_sha256_state *h, MYSQL_ROW row)
{
    char item[96];
    int len = snprintf(item, sizeof item, "%s:%s:%s;", row[0], row[1], row[2]);
    crypto_hash_sha256_update(h, (const unsigned char *)item, (size_t)len);
    s->ids[s->n] = strtoll(row[0], NULL, 10);
    snprintf(s->status[s->n++], sizeof s->status[0], "%s", row[2]);
}

static void set_alloc(bulk_set *s, size_t rows)
{
    memset(s, 0, sizeof *s);
    s->ids = dk_malloc((rows ? rows : 1) * sizeof *s->ids);
    s->status = dk_malloc((rows ? rows : 1) * sizeof *s->status);
}

static void set_digest(bulk_set *s, crypto_hash_sha256_state *h)
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(h, d);
    sodium_bin2hex(s->digest, sizeof s->digest, d, sizeof d);
}

#define LOCK_CHUNK 500

/* Locks the enrolment rows of s and reads them again (ids ascending), in place of s: only
 * those rows. A FOR UPDATE on the filter's join would also hold the physician, institution
 * and authority rows for the whole run, and their logins and edits would wait on it. A row
 * gone or changed since the unlocked read changes the count or the digest (409). */
static int bulk_lock(admin_job *j, MYSQL *db, bulk_set *s)
{
    bulk_set l;
    set_alloc(&l, s->n);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    int rc = 0;
    char *sql = dk_malloc(128 + LOCK_CHUNK * 2);
    dk_param *p = dk_malloc(LOCK_CHUNK * sizeof *p);
    for (size_t at = 0; !rc && at < s->n; at += LOCK_CHUNK) {
        size_t k = s->n - at < LOCK_CHUNK ? s->n - at : LOCK_CHUNK;
        char *w = sql + sprintf(sql, "SELECT id, lock_version, status FROM enrolment WHERE id IN (");
        for (size_t i = 0; i < k; i++) {
            w += sprintf(w, i ? ",?" : "?");
            p[i] = DK_PINT(s->ids[at + i]);
        }
        strcpy(w, ") ORDER BY id FOR UPDATE");
        MYSQL_RES *res;
        if ((rc = dk_mysql_exec(db, sql, p, k, &res, NULL, &j->err))) break;
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(res)) && l.n < s->n)
            set_add(&l, &h, row);
        mysql_free_result(res);
    }
    free(sql);
    free(p);
    set_digest(&l, &h);
    bulk_free(s);
    *s = l;
    return rc;
}

/* Reads the whole set (ids ascending); lock: then locks its enrolment rows (bulk_lock). 400
 * beyond ADMIN_BULK_MAX. */
static int bulk_read(admin_job *j, MYSQL *db, admin_sqlb *fw, int lock, bulk_set *s)
{
    memset(s, 0, sizeof *s);
    admin_sqlb q;
    admin_sqlb_init(&q, "SELECT e.id, e.lock_version, e.status ");
    admin_sqlb_cat(&q, fw->sql);
    char tail[64];
    snprintf(tail, sizeof tail, " ORDER BY e.id LIMIT %d", ADMIN_BULK_MAX + 1);
    admin_sqlb_cat(&q, tail);
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, q.sql, fw->p, fw->np, &res, NULL, &j->err);
    admin_sqlb_free(&q);
    if (rc) return rc;
    size_t rows = (size_t)mysql_num_rows(res);
    if (rows > ADMIN_BULK_MAX) {
        mysql_free_result(res);
        return dk_error_set(&j->err, DK_EINVAL,
                            "一次最多批量处理 %d 条，当前名单超过 %d 条，请按机构等条件缩小范围",
                            ADMIN_BULK_MAX, ADMIN_BULK_MAX);
    }
    set_alloc(s, rows);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        set_add(s, &h, row);
    mysql_free_result(res);
    set_digest(s, &h);
    return lock ? bulk_lock(j, db, s) : 0;
}

/* GET preview: the first page of the set, its count and digest. */
static int bulk_preview(admin_job *j, MYSQL *db, int absentees)
{
    admin_sqlb b;
    admin_filter_bufs fb;
    long long cycle = 0;
    bulk_set s = {0};
    int rc = bulk_where(j, db, absentees, &b, &fb, &cycle);
    if (!rc) rc = admin_list(j, db, BULK_COLS, &b, "e.id", 0);
    if (!rc) {
        json_t *total = json_object_get(j->out, "total");
        int fits = json_integer_value(total) <= ADMIN_BULK_MAX;
        if (fits && (rc = bulk_read(j, db, &b, 0, &s))) goto out;
        json_object_set_new(j->out, "count", json_incref(total));
        json_object_set_new(j->out, "digest", fits ? json_string(s.digest) : json_null());
        json_object_set_new(j->out, "max", json_integer(ADMIN_BULK_MAX));
        json_object_set_new(j->out, "cycle_id", json_integer(cycle));
    }
out:
    bulk_free(&s);
    admin_sqlb_free(&b);
    return rc;
}

int admin_bulk_makeup_preview(admin_job *j, MYSQL *db)
{
    return bulk_preview(j, db, 0);
}

int admin_bulk_absentee_preview(admin_job *j, MYSQL *db)
{
    return bulk_preview(j, db, 1);
}

/* The POST half: locks the set, checks it is the one previewed, runs fn on every row. */
typedef int (*bulk_row_fn)(admin_job *j, MYSQL *db, long long eid, const char *status,
                           const char *action, int *done);

static int bulk_run(admin_job *j, MYSQL *db, int absentees, const char *action, bulk_row_fn fn,
                    const char *audit_action)
{
    long long count;
    const char *digest;
    int rc;
    if ((rc = dk_json_int(j->body, "count", 0, ADMIN_BULK_MAX, &count, &j->err)) ||
        (rc = dk_json_str(j->body, "digest", 64, &digest, &j->err)))
        return rc;
    admin_sqlb b;
    admin_filter_bufs fb;
    long long cycle = 0;
    bulk_set s = {0};
    size_t done = 0;
    if ((rc = bulk_where(j, db, absentees, &b, &fb, &cycle)) ||
        (rc = dk_mysql_begin(db, &j->err)) || (rc = bulk_read(j, db, &b, 1, &s)))
        goto out;
    if ((long long)s.n != count || strcmp(s.digest, digest)) {
        rc = dk_error_set(&j->err, DK_ECONFLICT,
                          (long long)s.n != count
                              ? "待处理名单已变化：预览时 %lld 条，现在 %zu 条。请重新预览后再操作"
                              : "待处理名单已变化：预览时 %lld 条，现在 %zu 条，其中有记录已被他人"
                                "处理或修改。请重新预览后再操作",
                          count, s.n);
        goto out;
    }
    if (!s.n) {
        rc = dk_error_set(&j->err, DK_ECONFLICT, "没有需要处理的记录");
        goto out;
    }
    snprintf(j->actor.ip, sizeof j->actor.ip, "%s", j->ip);
    for (size_t i = 0; i < s.n; i++) {
        int one = 0;
        if ((rc = fn(j, db, s.ids[i], s.status[i], action, &one))) {
            char why[sizeof j->err.msg];
            snprintf(why, sizeof why, "%s", j->err.msg);
            dk_error_set(&j->err, rc, "第 %zu 条（报名 %lld）未能处理，全部未执行：%s", i + 1,
                         s.ids[i], why);
            goto out;
        }
        done += (size_t)one;
    }
    json_t *d = json_pack("{s:I,s:I,s:s,s:s?}", "count", (json_int_t)s.n, "processed",
                          (json_int_t)done, "digest", s.digest, "reason",
                          json_string_value(json_object_get(j->body, "reason")));
    rc = admin_audit(db, j, 0, audit_action, "cycle", cycle, NULL, NULL, NULL, NULL, d, &j->err);
    json_decref(d);
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc)
        j->out = json_pack("{s:s,s:I,s:I,s:I}", "action", action, "cycle_id", (json_int_t)cycle,
                           "count", (json_int_t)s.n, "processed", (json_int_t)done);
out:
    if (rc) dk_mysql_rollback(db);
    bulk_free(&s);
    admin_sqlb_free(&b);
    return rc;
}

/* one makeup decision through the workflow table, at the version read under the lock */
static int makeup_row(admin_job *j, MYSQL *db, long long eid, const char *status,
                      const char *action, int *done)
{
    (void)status;
    long long v = 0;
    dk_param p[] = {DK_PINT(eid)};
    int rc = admin_sql_ll(db, "SELECT lock_version FROM enrolment WHERE id = ?", p, 1, &v, &j->err);
    if (rc) return rc;
    json_t *body = json_pack("{s:I}", "version", (json_int_t)v);
    json_t *reason = json_object_get(j->body, "reason");
    if (json_is_string(reason)) json_object_set(body, "reason", reason);
    dom_flow_target t = {.entity = DOM_E_ENROLMENT, .action = action, .key = eid};
    rc = dom_flow_run_locked(db, &j->actor, &t, body, 0, NULL, &j->err);
    json_decref(body);
    if (!rc) *done = 1;
    return rc;
}

/* POST /authority/makeups/bulk?filters {action: makeup_confirm|makeup_refuse, count, digest,
 * reason (不予补考: required)} */
int admin_bulk_makeup(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"action", "count", "digest", "reason", NULL};
    const char *action;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "action", 32, &action, &j->err)))
        return rc;
    if (strcmp(action, "makeup_confirm") && strcmp(action, "makeup_refuse"))
        return dk_error_set(&j->err, DK_EINVAL, "action 应为 makeup_confirm 或 makeup_refuse");
    const char *reason = json_string_value(json_object_get(j->body, "reason"));
    if (!strcmp(action, "makeup_refuse") && (!reason || !*reason))
        return dk_error_set(&j->err, DK_EINVAL, "不予补考请填写理由（reason）");
    return bulk_run(j, db, 0, action, makeup_row,
                    !strcmp(action, "makeup_confirm") ? "bulk_makeup_confirm"
                                                      : "bulk_makeup_refuse");
}

static int absentee_row(admin_job *j, MYSQL *db, long long eid, const char *status,
                        const char *action, int *done)
{
    (void)action;
    return dom_flow_absentee_locked(db, eid, status, done, &j->err);
}

/* POST /authority/absentees/mark?filters {count, digest} */
int admin_bulk_absentees(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"count", "digest", NULL};
    int rc = dk_json_only_keys(j->body, keys, &j->err);
    if (rc) return rc;
    return bulk_run(j, db, 1, "mark_absentees", absentee_row, "bulk_mark_absentees");
}
