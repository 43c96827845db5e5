/* exam_tests.c - GET /api/v1/tests: what the physician may sit now, read from the
 * enrolment on a database thread (exam_db_tests has the rules). */
#include <stdlib.h>
#include <string.h>

#include "exam_db.h"
#include "exam_internal.h"

typedef struct tests_job {
    exam_server *srv;
    dk_req *rq;
    long long pid, now_ms;
    exam_test t[EXAM_MAX_TESTS];
    int n, rc;
    dk_error err;
} tests_job;

static void tests_work(void *ctx, void *arg)
{
    tests_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    j->rc = db ? exam_db_tests(db, j->pid, j->now_ms, j->srv->waiting_ms, j->t, &j->n, &j->err) : j->err.code;
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void tests_done(void *arg)
{
    tests_job *j = arg;
    if (j->rc) {
        dk_http_fail(j->rq, &j->err);
        return;
    }
    qb_index *idx = qb_bank_current(j->srv->bank);
    json_t *list = json_array();
    for (int i = 0; i < j->n; i++) {
        exam_test *t = &j->t[i];
        long long dur = j->srv->duration_ms;
        const qb_blueprint *bp = idx ? qb_blueprint_find(idx, t->category, t->paper) : NULL;
        if (!dur) dur = (bp && bp->duration_min > 0 ? bp->duration_min : 60) * 60000LL;
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:I,s:i,s:s?,s:b,s:b}", "paper", t->paper,
                            "name", !strcmp(t->paper, DOM_PAPER_PUBLIC) ? "人文医学" : DOM_PAPER_PRACTICE,
                            "category", t->category, "attempt", t->attempt, "window_start",
                            (json_int_t)t->window_start_ms, "window_end",
                            (json_int_t)t->window_end_ms, "duration_ms", (json_int_t)dur,
                            "question_count", bp ? bp->question_count : 100, "live_session",
                            t->live_session[0] ? t->live_session : NULL, "submitted",
                            t->submitted, "waiting", j->now_ms < t->window_start_ms));
        json_t *rules = json_pack("{s:o,s:o,s:b}", "warn_at",
                                  t->warn_at > 0 ? json_integer(t->warn_at) : json_null(),
                                  "submit_at",
                                  t->submit_at > 0 ? json_integer(t->submit_at) : json_null(),
                                  "require_fullscreen", t->fullscreen);
        json_object_set_new(json_array_get(list, json_array_size(list) - 1), "integrity", rules);
    }
    qb_index_unref(idx);
    dk_http_reply_json(j->rq, 200,
                       json_pack("{s:o,s:I}", "tests", list, "server_time",
                                 (json_int_t)exam_now_ms(j->srv)));
}

void exam_tests(dk_req *rq, const dk_claims *who)
{
    tests_job *j = dk_calloc(1, sizeof *j);
    j->srv = exam_of(rq);
    j->rq = rq;
    j->pid = who->id;
    j->now_ms = exam_now_ms(j->srv);
    rq->state = j;
    rq->state_free = free;
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, tests_work, tests_done, j)) {
        exam_busy_pool(rq, exam_pool(rq), "考生较多，正在排队，请稍候");
    }
}
