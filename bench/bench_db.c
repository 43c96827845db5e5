/* bench_db.c - the benchmark's data steps, blocking, on the main thread only: setup (bench
 * physicians 140105H00001 + 5 digits from first_seq, one shared argon2id hash, enrolled in
 * cycle '01' for the 一般程序, multi-row and idempotent), reset (every trace of their
 * sittings in MariaDB, Redis and the photo folder) and the loss check (every acknowledged
 * answer must be in the submitted paper). Never touches an account below first_seq. */
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_redis.h"
#include "dom_session.h"
#include "dom_account.h"
#include "proctor.h"

#define BATCH 500

static void range(int first_seq, char lo[24], char hi[24])
{
    snprintf(lo, 24, "%s%05d", BENCH_INST, first_seq);
    snprintf(hi, 24, "%s%05d", BENCH_INST, 99999);
}

/* The demo cycle the bench physicians sit in, and the waiting room's (bench_opening). */
#define CYCLE_01 "(SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id " \
                 "WHERE a.code = '140000' AND c.code = '01')"
#define CYCLE_BW "(SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id " \
                 "WHERE a.code = '140000' AND c.code = 'BW')"

static int one_ll(MYSQL *db, const char *sql, const dk_param *p, size_t np, long long *out,
                  dk_error *err)
{
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, sql, p, np, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    *out = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    mysql_free_result(res);
    return 0;
}

/* The shared hash: reused when the first bench physician's hash matches the password
 * with the configured argon2 parameters, else made once. */
static int bench_hash(MYSQL *db, const dk_config *cfg, const char *first_account,
                      char out[DK_HASH_MAX], dk_error *err)
{
    unsigned long long ops = (unsigned long long)dk_config_int(cfg, "argon2_opslimit");
    size_t mem = (size_t)dk_config_int(cfg, "argon2_memlimit_kib") * 1024;
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(first_account)};
    int rc = dk_mysql_exec(db, "SELECT password_hash FROM physician WHERE account = ?", p, 1, &res,
                           NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    int reuse = row && row[0] && strlen(row[0]) < DK_HASH_MAX &&
                crypto_pwhash_str_verify(row[0], BENCH_PASSWORD, strlen(BENCH_PASSWORD)) == 0 &&
                crypto_pwhash_str_needs_rehash(row[0], ops, mem) == 0;
    if (reuse) snprintf(out, DK_HASH_MAX, "%s", row[0]);
    mysql_free_result(res);
    if (reuse) return 0;
    dk_auth a = {.opslimit = ops, .memlimit = mem};
    return dk_password_hash(&a, BENCH_PASSWORD, strlen(BENCH_PASSWORD), out, err);
}

/* The registered photo of every bench physician: the embedding of one photo, computed
 * once here with the configured recogniser (as registration would) and stored with its
 * path, so camera checks and captures compare faces as they would in production. */
static int register_photo(const dk_config *cfg, MYSQL *db, const char *photo, const char *lo,
                          const char *hi, dk_error *err)
{
    char abs[4096];
    if (!realpath(photo, abs)) return dk_error_set(err, DK_ENOTFOUND, "no photo %s", photo);
    FILE *f = fopen(abs, "rb");
    unsigned char *buf = dk_malloc(2u << 20);
    size_t len = f ? fread(buf, 1, 2u << 20, f) : 0;
    if (f) fclose(f);
    proctor_options o;
    proctor_engine *e = NULL;
    proctor_embedding emb;
    int rc = 0;
    if (!len) {
        rc = dk_error_set(err, DK_EIO, "cannot read %s", abs);
        goto out;
    }
    if ((rc = proctor_options_from_config(&o, cfg, err)) || (rc = proctor_engine_new(&e, &o, err)))
        goto out;
    if (proctor_engine_degraded(e)) {
        printf("dkbench setup: no face models (DK_PROCTOR_MODEL_DIR): photos not registered\n");
        goto out;
    }
    if ((rc = proctor_embed(e, buf, len, &emb, NULL, err))) goto out;
    unsigned char packed[PROCTOR_EMB_MAX * 4 + 64];
    size_t n = proctor_embedding_pack(&emb, packed, sizeof packed);
    dk_param p[] = {DK_PSTR(abs), DK_PSTRN((const char *)packed, n), DK_PSTR(emb.model),
                    DK_PSTR(lo), DK_PSTR(hi)};
    rc = dk_mysql_exec(db,
                       "UPDATE physician SET photo_path = ?, face_embedding = ?, face_model = ?, "
                       "photo_updated_at = NOW(3) WHERE account BETWEEN ? AND ?",
                       p, 5, NULL, NULL, err);
    if (!rc)
        printf("dkbench setup: registered photo %s (%s) for every bench physician\n", abs,
               emb.model);
out:
    proctor_engine_free(e);
    free(buf);
    return rc;
}

int bench_setup(const dk_config *cfg, int n, int first_seq, const char *photo)
{
    dk_error err = {0};
    MYSQL *db = dk_mysql_connect(cfg, &err);
    char lo[24], hi[24], first[24];
    long long inst, dept, cycle, assessor, in_window;
    char *sql = NULL;
    dk_param *p = NULL;
    char(*ids)[24] = NULL, (*accts)[24] = NULL, (*names)[40] = NULL;
    if (!db) goto fail;
    range(first_seq, lo, hi);
    snprintf(first, sizeof first, "%s%05d", BENCH_INST, first_seq);
    if (one_ll(db, "SELECT id FROM institution WHERE code = '" BENCH_INST "'", NULL, 0, &inst,
               &err) ||
        one_ll(db, "SELECT id FROM institution WHERE code = '140100H00002'", NULL, 0, &assessor,
               &err) ||
        one_ll(db,
               "SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id "
               "WHERE a.code = '140000' AND c.code = '01'",
               NULL, 0, &cycle, &err))
        goto fail;
    if (inst < 0 || cycle < 0) {
        dk_error_set(&err, DK_ENOTFOUND,
                     "the demo institution %s or cycle '01' is missing: run "
                     "deploy/demo/load.sh first",
                     BENCH_INST);
        goto fail;
    }
    dk_param pi[] = {DK_PINT(inst)};
    dk_param pc[] = {DK_PINT(cycle)};
    if (one_ll(db, "SELECT id FROM department WHERE institution_id = ? AND name = '内科'", pi, 1,
               &dept, &err) ||
        one_ll(db,
               "SELECT test_start <= NOW(3) AND NOW(3) < test_end AND status = 'open' "
               "FROM cycle WHERE id = ?",
               pc, 1, &in_window, &err))
        goto fail;
    if (in_window != 1)
        DK_WARN("dkbench", "cycle '01' is not open for tests now: re-run deploy/demo/load.sh");

    char hash[DK_HASH_MAX];
    if (bench_hash(db, cfg, first, hash, &err)) goto fail;

    sql = dk_malloc(256 + BATCH * 160 + 512);
    p = dk_calloc(BATCH * 6, sizeof *p);
    ids = dk_calloc(BATCH, sizeof *ids);
    accts = dk_calloc(BATCH, sizeof *accts);
    names = dk_calloc(BATCH, sizeof *names);
    for (int base = 0; base < n; base += BATCH) {
        int m = n - base < BATCH ? n - base : BATCH;
        size_t o = (size_t)sprintf(
            sql,
            "INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash, "
            "must_change_password, institution_id, department_id, practice_level, "
            "practice_category, practice_scope, title, first_registration_date, source) VALUES ");
        for (int i = 0; i < m; i++) {
            int seq = first_seq + base + i;
            /* 18 digits in a block no real 居民身份证 uses (area code 99) */
            snprintf(ids[i], sizeof ids[i], "990000%012d", seq);
            snprintf(accts[i], sizeof accts[i], "%s%05d", BENCH_INST, seq);
            snprintf(names[i], sizeof names[i], "压测医师%05d", seq);
            o += (size_t)sprintf(sql + o,
                                 "%s(?, ?, '男', '1985-01-01', ?, ?, 0, ?, ?, '执业医师', "
                                 "'临床', '内科专业', '中级', '2010-07-01', '批量导入')",
                                 i ? "," : "");
            p[i * 6] = DK_PSTR(ids[i]);
            p[i * 6 + 1] = DK_PSTR(names[i]);
            p[i * 6 + 2] = DK_PSTR(accts[i]);
            p[i * 6 + 3] = DK_PSTR(hash);
            p[i * 6 + 4] = DK_PINT(inst);
            p[i * 6 + 5] = dept > 0 ? DK_PINT(dept) : DK_PNULL;
        }
        sprintf(sql + o,
                " ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash), "
                "must_change_password = 0, failed_logins = 0, locked_until = NULL, "
                "deleted_at = NULL, status = '在岗', practice_category = '临床', "
                "institution_id = VALUES(institution_id), department_id = VALUES(department_id)");
        int rc = dk_mysql_exec(db, sql, p, (size_t)m * 6, NULL, NULL, &err);
        if (rc) goto fail;
    }
    dk_param pe[] = {DK_PINT(cycle), DK_PINT(inst), assessor > 0 ? DK_PINT(assessor) : DK_PNULL,
                     DK_PSTR(lo), DK_PSTR(hi)};
    /* owners-check: fixture: the bench physicians' own enrolments, straight to the test */
    if (dk_mysql_exec(
            db,
            "INSERT INTO enrolment (cycle_id, physician_id, institution_id, assessor_id, "
            "status, procedure_type, submitted_at) "
            "SELECT ?, p.id, ?, ?, '待参加考核', '一般程序', NOW(3) FROM physician p "
            "WHERE p.account BETWEEN ? AND ? "
            "ON DUPLICATE KEY UPDATE status = '待参加考核', procedure_type = '一般程序', "
            "result = NULL, result_reason = NULL, completed_at = NULL, withdrawn_at = NULL",
            pe, 5, NULL, NULL, &err))
        goto fail;
    if (photo && register_photo(cfg, db, photo, lo, hi, &err)) goto fail;
    long long total;
    dk_param pr[] = {DK_PINT(cycle), DK_PSTR(lo), DK_PSTR(hi)};
    if (one_ll(db,
               "SELECT COUNT(*) FROM physician p JOIN enrolment e ON e.physician_id = p.id "
               "AND e.cycle_id = ? WHERE p.account BETWEEN ? AND ?",
               pr, 3, &total, &err))
        goto fail;
    printf("dkbench setup: %d physicians %s..%s%05d upserted; %lld bench physicians enrolled in "
           "cycle '01'\n",
           n, first, BENCH_INST, first_seq + n - 1, total);
    free(sql);
    free(p);
    free(ids);
    free(accts);
    free(names);
    dk_mysql_close(db);
    return bench_reset(cfg, first_seq, n);
fail:
    fprintf(stderr, "dkbench setup: %s\n", err.msg);
    free(sql);
    free(p);
    free(ids);
    free(accts);
    free(names);
    dk_mysql_close(db);
    return 1;
}

long long bench_accounts(const dk_config *cfg, int first_seq, int last_seq)
{
    dk_error err = {0};
    char lo[24], hi[24];
    snprintf(lo, sizeof lo, "%s%05d", BENCH_INST, first_seq);
    snprintf(hi, sizeof hi, "%s%05d", BENCH_INST, last_seq);
    MYSQL *db = dk_mysql_connect(cfg, &err);
    long long n = -1;
    dk_param p[] = {DK_PSTR(lo), DK_PSTR(hi)};
    if (!db || one_ll(db,
                      "SELECT COUNT(*) FROM physician p JOIN enrolment e ON e.physician_id = p.id "
                      "JOIN cycle c ON c.id = e.cycle_id AND c.code = '01' "
                      "WHERE p.account BETWEEN ? AND ? AND p.must_change_password = 0",
                      p, 2, &n, &err))
        fprintf(stderr, "dkbench: %s\n", err.msg);
    dk_mysql_close(db);
    return n;
}

/* ---- reset -------------------------------------------------------------------------------- */

/* The photos examd stored for a session: data_dir/captures/<sid>/<capture id>.jpg. */
static void forget_photos(const dk_config *cfg, const char *sid)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/captures/%s", dk_config_str(cfg, "data_dir"), sid);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char f[900];
        snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
        unlink(f);
    }
    closedir(d);
    rmdir(dir);
}

static int sid_cmp(const void *a, const void *b) { return strcmp(a, b); }

/* The capture jobs of the bench sessions still in the proctor's stream (a run's captures
 * outrun one scoring thread; left there, they would keep the next run's proctor busy on
 * sessions that no longer exist): acknowledged and deleted, in chunks of 500. */
static void forget_stream(redisContext *r, char (*sids)[DOM_SID_LEN + 1], size_t n)
{
    qsort(sids, n, sizeof *sids, sid_cmp);
    char from[48] = "-";
    size_t removed = 0;
    for (;;) {
        redisReply *rep = redisCommand(r, "XRANGE %s %s + COUNT 500", PROCTOR_STREAM, from);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
            if (rep) freeReplyObject(rep);
            break;
        }
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *e = rep->element[i], *f = e->element[1];
            snprintf(from, sizeof from, "(%s", e->element[0]->str);
            for (size_t k = 0; k + 1 < f->elements; k += 2) {
                if (strcmp(f->element[k]->str, "session_id") != 0) continue;
                if (!bsearch(f->element[k + 1]->str, sids, n, sizeof *sids, sid_cmp)) break;
                freeReplyObject(redisCommand(r, "XACK %s %s %s", PROCTOR_STREAM, PROCTOR_GROUP,
                                             e->element[0]->str));
                freeReplyObject(redisCommand(r, "XDEL %s %s", PROCTOR_STREAM, e->element[0]->str));
                removed++;
                break;
            }
        }
        freeReplyObject(rep);
    }
    if (removed) printf("dkbench reset: %zu capture jobs of bench sessions removed from %s\n",
                        removed, PROCTOR_STREAM);
}

/* examd's keys of the bench sessions (dom_session.h), their stored photos, their capture
 * jobs, and the login counters of this address and of the bench physicians. */
static int redis_forget(const dk_config *cfg, MYSQL *db, dk_error *err)
{
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, "SELECT id, physician_id, cycle_id, paper, attempt FROM bench_s",
                           NULL, 0, &res, NULL, err);
    if (rc) return rc;
    redisContext *r = dk_redis_connect(cfg, err);
    if (!r) {
        mysql_free_result(res);
        return err->code;
    }
    MYSQL_ROW row;
    long pending = 0;
    size_t nsids = 0;
    char(*sids)[DOM_SID_LEN + 1] = dk_calloc(mysql_num_rows(res) + 1, sizeof *sids);
    while ((row = mysql_fetch_row(res))) {
        if (!dom_sid_valid(row[0], strlen(row[0]))) continue;
        memcpy(sids[nsids++], row[0], DOM_SID_LEN);
        redisAppendCommand(r, "DEL %s %s %s %s " DOM_LOGIN_KEY_ACCT "p:%s", dom_key_sess(row[0]).s,
                           dom_key_ans(row[0]).s, dom_key_cap(row[0]).s, dom_key_missing(row[0]).s,
                           row[1]);
        forget_photos(cfg, row[0]);
        redisAppendCommand(r, "ZREM %s %s", DOM_KEY_DEADLINES, row[0]);
        redisAppendCommand(r, "SREM %s %s", DOM_KEY_DIRTY, row[0]);
        redisAppendCommand(r, "ZREM %s %s", DOM_KEY_DUE, row[0]);
        pending += 4;
    }
    redisAppendCommand(r, "DEL " DOM_LOGIN_KEY_IP "127.0.0.1");
    pending++;
    mysql_free_result(res);
    for (long i = 0; i < pending; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(r, (void **)&rep) != REDIS_OK) {
            dk_error_set(err, DK_EIO, "redis: %s", r->errstr);
            free(sids);
            redisFree(r);
            return err->code;
        }
        freeReplyObject(rep);
    }
    forget_stream(r, sids, nsids);
    free(sids);
    redisFree(r);
    return 0;
}

int bench_reset(const dk_config *cfg, int first_seq, int n)
{
    (void)n;
    dk_error err = {0};
    char lo[24], hi[24];
    range(first_seq, lo, hi);
    MYSQL *db = dk_mysql_connect(cfg, &err);
    if (!db) goto fail;
    dk_param pr[] = {DK_PSTR(lo), DK_PSTR(hi)};
    static const char *const temps[] = {
        "DROP TEMPORARY TABLE IF EXISTS bench_p, bench_s, bench_e",
        "CREATE TEMPORARY TABLE bench_p (PRIMARY KEY (id)) SELECT id FROM physician "
        "WHERE account BETWEEN ? AND ?",
        "CREATE TEMPORARY TABLE bench_s (PRIMARY KEY (id)) SELECT s.id, s.physician_id, "
        "s.cycle_id, s.paper, s.attempt FROM exam_session s JOIN bench_p p ON p.id = "
        "s.physician_id",
        "CREATE TEMPORARY TABLE bench_e (PRIMARY KEY (id)) SELECT e.id FROM enrolment e "
        "JOIN bench_p p ON p.id = e.physician_id",
    };
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++)
        if (dk_mysql_exec(db, temps[i], i == 1 ? pr : NULL, i == 1 ? 2 : 0, NULL, NULL, &err))
            goto fail;
    if (redis_forget(cfg, db, &err)) goto fail;
    /* A reset forgets the bench's own sittings, their audit rows among them (the product
     * never deletes audit rows; the bench physicians exist only for the bench). */
    static const char *const dels[] = {
        /* owners-check: fixture */
        "DELETE FROM audit_log WHERE actor_type = 'physician' AND actor_id IN (SELECT id FROM "
        "bench_p)",
        /* owners-check: fixture */
        "DELETE FROM audit_log WHERE entity_type = 'physician' AND entity_id IN "
        "(SELECT CAST(id AS CHAR) COLLATE utf8mb4_unicode_ci FROM bench_p)",
        /* owners-check: fixture */
        "DELETE FROM audit_log WHERE entity_type = 'exam_session' AND entity_id IN "
        "(SELECT id FROM bench_s)",
        /* owners-check: fixture */
        "DELETE FROM audit_log WHERE entity_type = 'enrolment' AND entity_id IN "
        "(SELECT CAST(id AS CHAR) COLLATE utf8mb4_unicode_ci FROM bench_e)",
        "DELETE FROM enrolment_test WHERE enrolment_id IN (SELECT id FROM bench_e)",
        "DELETE FROM proctor_suspect WHERE session_id IN (SELECT id FROM bench_s)",
        "DELETE FROM invigilation WHERE session_id IN (SELECT id FROM bench_s)",
        "DELETE FROM cheating_determination WHERE session_id IN (SELECT id FROM bench_s)",
        "DELETE FROM proctor_capture WHERE session_id IN (SELECT id FROM bench_s)",
        "DELETE FROM exam_result WHERE session_id IN (SELECT id FROM bench_s)",
        "DELETE FROM exam_answer WHERE session_id IN (SELECT id FROM bench_s)",
        "DELETE FROM exam_session WHERE id IN (SELECT id FROM bench_s)",
        /* owners-check: fixture */
        "UPDATE enrolment SET status = '待参加考核', procedure_type = '一般程序', result = NULL, "
        "result_reason = NULL, completed_at = NULL WHERE id IN (SELECT id FROM bench_e)",        /* back from the waiting room's cycle (bench_opening); a setup since then may have
         * enrolled the physician in '01' again: that one stays, the other goes */
        "DROP TEMPORARY TABLE IF EXISTS bench_dup",
        "CREATE TEMPORARY TABLE bench_dup (PRIMARY KEY (id)) SELECT e.id FROM enrolment e "
        "JOIN enrolment x ON x.physician_id = e.physician_id AND x.cycle_id = " CYCLE_01
        " WHERE e.cycle_id <=> " CYCLE_BW " AND e.id IN (SELECT id FROM bench_e)",
        /* owners-check: fixture */
        "DELETE FROM enrolment WHERE id IN (SELECT id FROM bench_dup)",
        "UPDATE enrolment SET cycle_id = " CYCLE_01 " WHERE id IN (SELECT id FROM bench_e) "
        "AND cycle_id <=> " CYCLE_BW,
    };
    if (dk_mysql_begin(db, &err)) goto fail;
    uint64_t sessions = 0;
    for (size_t i = 0; i < sizeof dels / sizeof dels[0]; i++) {
        uint64_t affected = 0;
        if (dk_mysql_exec(db, dels[i], NULL, 0, NULL, &affected, &err)) {
            dk_mysql_rollback(db);
            goto fail;
        }
        if (strstr(dels[i], "DELETE FROM exam_session")) sessions = affected;
    }
    if (dk_mysql_commit(db, &err)) goto fail;
    printf("dkbench reset: %llu bench sessions and their answers, results and audit rows removed\n",
           (unsigned long long)sessions);
    dk_mysql_close(db);
    return 0;
fail:
    fprintf(stderr, "dkbench reset: %s\n", err.msg);
    dk_mysql_close(db);
    return 1;
}

/* ---- the waiting room ------------------------------------------------------------------------ */

int bench_opening(const dk_config *cfg, int first_seq, long long opening_ms)
{
    dk_error err = {0};
    char lo[24], hi[24];
    range(first_seq, lo, hi);
    MYSQL *db = dk_mysql_connect(cfg, &err);
    if (!db) goto fail;
    dk_param po[] = {DK_PINT(opening_ms), DK_PINT(opening_ms)};
    dk_param pr[] = {DK_PSTR(lo), DK_PSTR(hi)};
    if (dk_mysql_exec(db,
                      "INSERT INTO cycle (authority_id, code, name, length_years, period_start, "
                      "period_end, test_start, test_end, status) SELECT authority_id, 'BW', "
                      "'压测候考周期', length_years, period_start, period_end, "
                      "FROM_UNIXTIME(? / 1000), FROM_UNIXTIME(? / 1000) + INTERVAL 4 HOUR, 'open' "
                      "FROM cycle WHERE id = " CYCLE_01 " ON DUPLICATE KEY UPDATE "
                      "test_start = VALUES(test_start), test_end = VALUES(test_end), status = 'open'",
                      po, 2, NULL, NULL, &err) ||
        dk_mysql_exec(db,
                      "UPDATE enrolment e JOIN physician p ON p.id = e.physician_id "
                      "SET e.cycle_id = " CYCLE_BW " WHERE p.account BETWEEN ? AND ? "
                      "AND e.cycle_id = " CYCLE_01,
                      pr, 2, NULL, NULL, &err))
        goto fail;
    dk_mysql_close(db);
    return 0;
fail:
    fprintf(stderr, "dkbench: the waiting room's cycle: %s\n", err.msg);
    dk_mysql_close(db);
    return 1;
}

/* ---- the loss check ------------------------------------------------------------------------ */

typedef struct sid_ix {
    const char *sid;
    int idx;
} sid_ix;

static int by_sid(const void *a, const void *b)
{
    return strcmp(((const sid_ix *)a)->sid, ((const sid_ix *)b)->sid);
}

static int find(const sid_ix *v, size_t n, const char *sid)
{
    sid_ix key = {sid, 0};
    const sid_ix *f = bsearch(&key, v, n, sizeof *v, by_sid);
    return f ? f->idx : -1;
}

int bench_loss_check(const dk_config *cfg, bench_phys *phys, int n, bench_loss *out)
{
    dk_error err = {0};
    memset(out, 0, sizeof *out);
    sid_ix *v = dk_calloc((size_t)n + 1, sizeof *v);
    size_t nv = 0;
    for (int i = 0; i < n; i++)
        if (phys[i].sid[0]) v[nv++] = (sid_ix){phys[i].sid, i};
    qsort(v, nv, sizeof *v, by_sid);
    out->sessions = (long long)nv;
    /* what MariaDB has: [idx][q] */
    char(*got)[BENCH_MAXQ + 1][BENCH_CHOICE] = dk_calloc((size_t)n, sizeof *got);
    uint8_t *db_submitted = dk_calloc((size_t)n, 1);
    char lo[24], hi[24];
    range(bench_g->o.first_seq, lo, hi);
    dk_param pr[] = {DK_PSTR(lo), DK_PSTR(hi)};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int rc = 1;
    MYSQL *db = dk_mysql_connect(cfg, &err);
    if (!db) goto out;
    if (dk_mysql_exec(db,
                      "SELECT s.id, s.status FROM exam_session s JOIN physician p ON "
                      "p.id = s.physician_id WHERE p.account BETWEEN ? AND ?",
                      pr, 2, &res, NULL, &err))
        goto out;
    while ((row = mysql_fetch_row(res))) {
        int i = find(v, nv, row[0]);
        if (i >= 0) db_submitted[i] = !strcmp(row[1], "submitted");
    }
    mysql_free_result(res);
    if (dk_mysql_exec(db,
                      "SELECT a.session_id, a.question_no, IFNULL(a.choice, '') FROM "
                      "exam_answer a JOIN exam_session s ON s.id = a.session_id JOIN physician p "
                      "ON p.id = s.physician_id WHERE p.account BETWEEN ? AND ?",
                      pr, 2, &res, NULL, &err))
        goto out;
    while ((row = mysql_fetch_row(res))) {
        int i = find(v, nv, row[0]), q = atoi(row[1]);
        if (i < 0 || q < 1 || q > BENCH_MAXQ) continue;
        snprintf(got[i][q], BENCH_CHOICE, "%s", row[2][0] ? row[2] : "");
    }
    mysql_free_result(res);
    int shown = 0;
    for (size_t k = 0; k < nv; k++) {
        int i = v[k].idx;
        bench_phys *p = &phys[i];
        if (!p->submitted) continue;
        out->submitted++;
        if (!db_submitted[i]) {
            out->not_submitted++;
            if (shown++ < 5)
                fprintf(stderr,
                        "dkbench loss: session %.8s… acknowledged as submitted but not "
                        "'submitted' in MariaDB\n",
                        p->sid);
        }
        for (int q = 1; q <= p->nq; q++) {
            if (p->indet[q]) {
                out->indeterminate++;
                continue;
            }
            if (!p->acked[q][0]) {
                if (got[i][q][0]) out->extra++;
                continue;
            }
            out->checked++;
            if (!got[i][q][0]) {
                out->lost++;
                if (shown++ < 10)
                    fprintf(stderr,
                            "dkbench loss: session %.8s… q%d acknowledged %s, MariaDB has "
                            "nothing\n",
                            p->sid, q, p->acked[q]);
            } else if (strcmp(got[i][q], p->acked[q]) != 0) {
                out->mismatched++;
                if (shown++ < 10)
                    fprintf(stderr,
                            "dkbench loss: session %.8s… q%d acknowledged %s, MariaDB has "
                            "%s\n",
                            p->sid, q, p->acked[q], got[i][q]);
            }
        }
    }
    rc = 0;
out:
    if (rc) fprintf(stderr, "dkbench loss check: %s\n", err.msg);
    dk_mysql_close(db);
    free(v);
    free(got);
    free(db_submitted);
    return rc;
}
