/* bench_sim.c - one client thread: its simulated physicians (login, tests, camera check,
 * start; answers paced or back to back, changes, a resume, submit; a camera lane posting
 * captures when the server says) and the bare-server driver. Each physician has one
 * answer-lane request and one timer, plus its camera lane. Runs on the thread's
 * event_base only; phases come from the main thread through bench_g (phase, group, seq). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"
#include "dom_status.h"
#include "dk_log.h"

#define PAPER DOM_PAPER_PRACTICE
#define TICK_MS 20
#define MAX_BACKOFFS 200 /* per request: beyond it the physician gives up (counted) */

enum {
    S_IDLE,
    S_LOGIN,
    S_TESTS,
    S_CAMERA,
    S_START,
    S_READY,
    S_ANSWER,
    S_RESUME,
    S_DEPARTURE,
    S_SUBMIT,
    S_RELEASE, /* the waiting room: the paper asked for at the opening */
    S_DONE,
    S_FAILED
};
enum { TA_NONE, TA_RESEND, TA_STEP, TA_ARRIVE, TA_RELEASE };

static void step(bench_phys *p);
static void cap_after(bench_phys *p, double ms);
static void on_resp(bench_req *r);
static void got_paper(bench_phys *p, json_t *j);
static void on_bare(bench_req *r);

/* ---- small helpers ------------------------------------------------------------------------- */

static void cap_stop(bench_phys *p)
{
    p->cap_on = 0;
    if (p->cap_timer) evtimer_del(p->cap_timer);
}

static void phys_done(bench_phys *p) /* leaves the current phase */
{
    if (!p->in_phase) return;
    p->in_phase = 0;
    p->t->nphys_active--;
}

static void phys_fail(bench_phys *p, const char *why)
{
    if (!p->failed) {
        p->failed = 1;
        atomic_fetch_add_explicit(&p->t->live.failed, 1, memory_order_relaxed);
        if (p->t->fail_logged++ < 5)
            DK_WARN("dkbench", "physician gave up account=%s state=%d why=%s", p->account, p->state,
                    why);
    }
    p->state = S_FAILED;
    cap_stop(p);
    phys_done(p);
}

static void after_ms(bench_phys *p, double ms, int action)
{
    p->timer_action = action;
    int64_t us = (int64_t)(ms * 1000.0);
    if (us < 0) us = 0;
    struct timeval tv = {us / 1000000, us % 1000000};
    p->req.due_us = bench_now_us() + us;
    p->due_set = 1; /* the request this timer sends was due then, not when it fired */
    evtimer_add(p->timer, &tv);
}

static void issue(bench_phys *p, const char *method, int route)
{
    bench_thread *t = p->t;
    if (!p->due_set) p->req.due_us = 0; /* due now */
    p->due_set = 0;
    p->req.method = method;
    p->req.route = route;
    p->req.phase = t->phase;
    p->req.cb = on_resp;
    p->req.arg = p;
    bench_send(t->exam, &p->req);
}

/* Every request of the answer lane reuses p->req: this sets what all of them share. */
static void prep(bench_phys *p, int state, const char *token, int fresh)
{
    p->state = state;
    p->req.token = token;
    p->req.fresh = fresh;
    p->req.blob = NULL;
    p->req.blob_len = 0;
    p->req.body_len = 0;
}

static void login_body(bench_phys *p)
{
    if (p->queue_ticket[0])
        p->req.body_len = (size_t)snprintf(
            p->req.body, sizeof p->req.body,
            "{\"account\":\"%s\",\"password\":\"%s\",\"queue_ticket\":\"%s\"}", p->account,
            BENCH_PASSWORD, p->queue_ticket);
    else
        p->req.body_len = (size_t)snprintf(p->req.body, sizeof p->req.body,
                                           "{\"account\":\"%s\",\"password\":\"%s\"}",
                                           p->account, BENCH_PASSWORD);
}

static void send_login(bench_phys *p)
{
    prep(p, S_LOGIN, NULL, 0);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/login");
    login_body(p);
    issue(p, "POST", R_LOGIN);
}

/* The waiting room's release: the session (new examd) or, for an examd without a waiting
 * room, the list of tests again at the opening. */
static void send_release(bench_phys *p)
{
    prep(p, S_RELEASE, p->token, 0);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/sessions/%s", p->sid);
    issue(p, "GET", R_RESUME);
}

static void send_tests(bench_phys *p)
{
    prep(p, S_TESTS, p->token, 0);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/tests");
    issue(p, "GET", R_TESTS);
}

/* The exam page's camera check before the start (a synchronous face check). */
static void send_camera(bench_phys *p)
{
    prep(p, S_CAMERA, p->token, 0);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/camera-check");
    p->req.blob = bench_g->jpeg;
    p->req.blob_len = bench_g->jpeg_len;
    issue(p, "POST", R_CAMERA);
}

/* Leaving the exam page (切屏): one departure of 2-30 s, reported as the page does. */
static void send_departure(bench_phys *p)
{
    prep(p, S_DEPARTURE, p->token, 0);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/sessions/%s/departures/bench-%d-%d-%u", p->sid,
             p->idx, p->deps_sent, bench_rand(&p->rng) % 100000u);
    int dur = 2000 + (int)(bench_rand(&p->rng) % 28000u);
    p->req.body_len = (size_t)snprintf(
        p->req.body, sizeof p->req.body,
        "{\"kind\":\"hidden\",\"started_at\":%lld,\"duration_ms\":%d}",
        bench_wall_ms() - dur, dur);
    issue(p, "PUT", R_DEPARTURE);
}

static void send_start(bench_phys *p, int resume)
{
    prep(p, resume ? S_RESUME : S_START, p->token, resume);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/sessions");
    p->req.body_len =
        (size_t)snprintf(p->req.body, sizeof p->req.body, "{\"paper\":\"%s\"}", PAPER);
    issue(p, "POST", resume ? R_RESUME : R_START);
}

static void send_answer(bench_phys *p, int q, const char *choice)
{
    prep(p, S_ANSWER, p->token, 0);
    p->cur_q = q;
    snprintf(p->sent, sizeof p->sent, "%s", choice);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/sessions/%s/answers/%d", p->sid, q);
    p->req.body_len =
        (size_t)snprintf(p->req.body, sizeof p->req.body, "{\"choice\":\"%s\"}", choice);
    issue(p, "PUT", R_ANSWER);
}

static void send_submit(bench_phys *p)
{
    prep(p, S_SUBMIT, p->token, 0);
    snprintf(p->req.path, sizeof p->req.path, "/api/v1/sessions/%s/submit", p->sid);
    issue(p, "POST", R_SUBMIT);
}

/* A valid choice for question q: one letter, or for X questions a non-empty set of at
 * most 7 letters, in canonical (sorted) order; different from avoid when possible. */
static void random_choice(bench_phys *p, int q, const char *avoid, char out[BENCH_CHOICE])
{
    int n = p->nopt[q] ? p->nopt[q] : 1;
    for (int tries = 0; tries < 16; tries++) {
        if (p->kind[q] != 'M') {
            out[0] = (char)('A' + bench_rand(&p->rng) % (uint32_t)n);
            out[1] = '\0';
        } else {
            unsigned mask;
            do
                mask = bench_rand(&p->rng) % ((1u << n) - 1) + 1;
            while (__builtin_popcount(mask) > BENCH_CHOICE - 1);
            int o = 0;
            for (int i = 0; i < n; i++)
                if (mask & (1u << i)) out[o++] = (char)('A' + i);
            out[o] = '\0';
        }
        if (!avoid || strcmp(out, avoid) != 0) return;
    }
}

static json_t *parse_json(bench_req *r)
{
    return r->resp ? json_loadb(r->resp, r->resp_len, 0, NULL) : NULL;
}

/* ---- responses ------------------------------------------------------------------------------ */

static int is_ok(const bench_req *r)
{
    return !r->terr && r->status >= 200 && r->status < 300;
}

/* 429/503 with Retry-After: wait it out with jitter (RA * [1, 2)) and send again. */
static int backoff(bench_phys *p, bench_req *r)
{
    if (r->terr || (r->status != 429 && r->status != 503) || r->retry_after < 0) return 0;
    if (++p->backoffs > MAX_BACKOFFS) return 0;
    double jitter = 1.0;
    if (p->state == S_LOGIN && r->status == 503) { /* the login queue: keep the place */
        json_t *j = r->resp ? json_loadb(r->resp, r->resp_len, 0, NULL) : NULL;
        const char *t = json_string_value(json_object_get(json_object_get(j, "error"), "queue_ticket"));
        if (t && strlen(t) < sizeof p->queue_ticket) {
            snprintf(p->queue_ticket, sizeof p->queue_ticket, "%s", t);
            login_body(p);
            jitter = 0.25; /* as the page: back at Retry-After, a little spread */
            p->t->stats[p->t->phase].queued++;
        }
        json_decref(j);
    }
    double ms = (r->retry_after > 0 ? r->retry_after : 1) * 1000.0 * (1.0 + jitter * bench_unif(&p->rng));
    bench_stats *st = &p->t->stats[p->t->phase];
    st->backoffs++;
    st->backoff_wait_ms += (uint64_t)ms;
    after_ms(p, ms, TA_RESEND);
    return 1;
}

/* Any other failure of a step that must succeed: try again after ~1 s, a few times. */
static void retry_or_fail(bench_phys *p, const char *what)
{
    if (++p->tries < bench_g->o.max_tries)
        after_ms(p, 1000.0 * (1.0 + bench_unif(&p->rng)), TA_RESEND);
    else
        phys_fail(p, what);
}

/* A step's reply that is not a success: 401 (the token no longer valid, examd restarted?)
 * logs in again, anything else is tried again; both up to max_tries. 1 when handled. */
static int step_failed(bench_phys *p, bench_req *r, const char *what)
{
    if (r->status == 401) {
        if (++p->tries < bench_g->o.max_tries) {
            send_login(p);
        } else {
            char why[64];
            snprintf(why, sizeof why, "%s: 401", what);
            phys_fail(p, why);
        }
        return 1;
    }
    if (is_ok(r)) return 0;
    char why[64];
    snprintf(why, sizeof why, "%s failed", what);
    retry_or_fail(p, why);
    return 1;
}

static void release_login_slot(bench_phys *p)
{
    bench_thread *t = p->t;
    if (!p->slot) return;
    p->slot = 0;
    t->login_slots++;
    while (t->login_slots > 0 && t->login_wait_head < t->nlogin_wait) {
        bench_phys *n = t->login_wait[t->login_wait_head++];
        t->login_slots--;
        n->slot = 1;
        send_login(n);
    }
}

static void on_login(bench_phys *p, bench_req *r)
{
    if (r->status == 200) {
        json_t *j = parse_json(r);
        const char *tok = json_string_value(json_object_get(j, "token"));
        int must = json_is_true(json_object_get(j, "must_change_password"));
        if (tok && strlen(tok) < sizeof p->token && !must) {
            snprintf(p->token, sizeof p->token, "%s", tok);
            p->queue_ticket[0] = '\0';
            json_decref(j);
            atomic_fetch_add_explicit(&p->t->live.logged_in, 1, memory_order_relaxed);
            release_login_slot(p);
            p->tries = 0;
            p->backoffs = 0;
            send_tests(p);
            return;
        }
        json_decref(j);
        release_login_slot(p);
        phys_fail(p, must ? "must change password (run dkbench setup)" : "no token in reply");
        return;
    }
    if (++p->tries < bench_g->o.max_tries) {
        after_ms(p, 1000.0 * (1.0 + bench_unif(&p->rng)), TA_RESEND);
        return;
    }
    release_login_slot(p);
    phys_fail(p, "login failed");
}

static int offers_paper(json_t *tests)
{
    size_t i;
    json_t *v;
    json_array_foreach(tests, i, v)
    {
        const char *paper = json_string_value(json_object_get(v, "paper"));
        if (paper && !strcmp(paper, PAPER)) return 1;
    }
    return 0;
}

static void on_tests(bench_phys *p, bench_req *r)
{
    if (step_failed(p, r, "tests")) return;
    json_t *j = parse_json(r);
    int found = offers_paper(json_object_get(j, "tests"));
    json_decref(j);
    if (!found && bench_g->opening_wall_ms && bench_wall_ms() < bench_g->opening_wall_ms) {
        /* no waiting room (an older examd): the page shows 未到考试时间 and the physician
         * comes back at the opening, spread as the page spreads its release */
        p->tries = 0;
        after_ms(p, (double)(bench_g->opening_wall_ms - bench_wall_ms()) +
                        3000.0 * bench_unif(&p->rng), TA_RELEASE);
        return;
    }
    if (!found) {
        phys_fail(p, "业务水平 is not offered (run dkbench reset / setup)");
        return;
    }
    p->tries = 0;
    p->backoffs = 0;
    if (bench_g->jpeg && p->group == 0)
        send_camera(p);
    else
        send_start(p, 0);
}

static void on_camera(bench_phys *p, bench_req *r)
{
    if (step_failed(p, r, "camera check")) return;
    json_t *j = parse_json(r);
    /* the page starts only on ok; the bench photo shows one face, so not ok is counted
     * and the start goes ahead (the server does not require the check) */
    if (json_is_true(json_object_get(j, "ok")))
        p->t->camera_ok++;
    else
        p->t->camera_not_ok++;
    json_decref(j);
    p->tries = 0;
    p->backoffs = 0;
    send_start(p, 0);
}

/* Takes the paper's shape and the saved answers from a start/resume reply. Returns the
 * number of saved answers that differ from what we hold as acknowledged (resume check),
 * or -1 if the reply is unusable. */
static int take_session(bench_phys *p, json_t *j, int resume)
{
    const char *sid = json_string_value(json_object_get(j, "session_id"));
    if (!sid || strlen(sid) != 32) return -1;
    if (resume) {
        if (strcmp(sid, p->sid) != 0) {
            p->t->resume_sid_mismatch++;
            return -1;
        }
    } else {
        snprintf(p->sid, sizeof p->sid, "%s", sid);
        json_t *qs = json_object_get(json_object_get(j, "paper_detail"), "questions"), *q;
        size_t i;
        int nq = 0;
        json_array_foreach(qs, i, q)
        {
            int no = (int)json_integer_value(json_object_get(q, "no"));
            if (no < 1 || no > BENCH_MAXQ) continue;
            const char *type = json_string_value(json_object_get(q, "type"));
            size_t nopt = json_array_size(json_object_get(q, "options"));
            p->kind[no] = type && !strcmp(type, "X") ? 'M' : 'S';
            p->nopt[no] = (uint8_t)(nopt > 10 ? 10 : nopt);
            if (no > nq) nq = no;
        }
        if (!nq) return -1;
        p->nq = nq;
    }
    int diff = 0;
    json_t *ans = json_object_get(j, "answers");
    for (int q = 1; q <= p->nq; q++) {
        char key[12];
        snprintf(key, sizeof key, "%d", q);
        const char *v = json_string_value(json_object_get(ans, key));
        if (!resume) { /* a session we did not start (no reset): what the server has */
            if (v) snprintf(p->acked[q], sizeof p->acked[q], "%s", v);
            continue;
        }
        if (p->indet[q]) continue;
        if (strcmp(v ? v : "", p->acked[q]) != 0) diff++;
    }
    return diff;
}

static void on_start(bench_phys *p, bench_req *r)
{
    bench_thread *t = p->t;
    if (step_failed(p, r, "start")) return;
    json_t *j = parse_json(r);
    if (json_is_true(json_object_get(j, "waiting"))) { /* drawn, shown at the opening */
        const char *sid = json_string_value(json_object_get(j, "session_id"));
        long long opens = (long long)json_integer_value(json_object_get(j, "opens_at"));
        long long srv_now = (long long)json_integer_value(json_object_get(j, "server_time"));
        json_t *sp = json_object_get(j, "release_spread_ms");
        double spread = json_is_integer(sp) ? (double)json_integer_value(sp) : 3000.0;
        if (!sid || strlen(sid) != 32 || !opens) {
            json_decref(j);
            phys_fail(p, "unusable waiting-room reply");
            return;
        }
        snprintf(p->sid, sizeof p->sid, "%s", sid);
        json_decref(j);
        if (!p->waiting) t->waited++;
        p->waiting = 1;
        p->tries = 0;
        /* as the page: at the opening by the server's clock, spread as the server says */
        after_ms(p, (double)(opens - srv_now) + spread * bench_unif(&p->rng), TA_RELEASE);
        return;
    }
    got_paper(p, j);
}

/* A start or release reply with the paper: the physician sits from now. */
static void got_paper(bench_phys *p, json_t *j)
{
    bench_thread *t = p->t;
    int rc = take_session(p, j, 0);
    json_decref(j);
    if (rc < 0) {
        phys_fail(p, "unusable session reply");
        return;
    }
    int64_t now = bench_now_us();
    if (bench_g->opening_wall_ms) {
        long long late = bench_wall_ms() - bench_g->opening_wall_ms;
        bench_hist_add(&t->open_to_paper, (uint64_t)(late > 0 ? late * 1000 : 0));
        if (late <= 10000) t->open_in10++;
    }
    p->have_paper = 1;
    p->t_paper_us = now;
    p->state = S_READY;
    atomic_fetch_add_explicit(&t->live.have_paper, 1, memory_order_relaxed);
    if (t->phase == P_START) {
        bench_hist_add(&t->start_to_paper, (uint64_t)(now - p->t_arrive_us));
        if (now > t->last_paper_us) t->last_paper_us = now;
    }
    /* the page starts its camera loop with the paper and keeps it until the submit; the
     * saturation group has no camera (it prices answer saves alone) */
    if (bench_g->jpeg && p->group == 0) {
        p->cap_on = 1;
        /* as the page: a release from the waiting room spreads the first photo over a
         * minute (everyone starts at once); any other start sends it at once */
        cap_after(p, p->waiting ? 3000.0 + bench_unif(&p->rng) * 57000.0
                                : bench_unif(&p->rng) * 2000.0);
    }
    phys_done(p);
}

static void on_release(bench_phys *p, bench_req *r)
{
    if (step_failed(p, r, "release")) return;
    json_t *j = parse_json(r);
    if (json_is_true(json_object_get(j, "waiting"))) { /* our clock ran ahead of Redis's */
        json_decref(j);
        after_ms(p, 250.0, TA_RELEASE);
        return;
    }
    got_paper(p, j);
}

static void on_departure(bench_phys *p, bench_req *r)
{
    if (is_ok(r)) p->t->departures_ok++;
    else p->t->departures_failed++; /* not retried: a page would, from its outbox */
    p->tries = 0;
    after_ms(p, bench_g->o.pace_ms * (0.5 + bench_unif(&p->rng)), TA_STEP);
}

static void on_resume(bench_phys *p, bench_req *r)
{
    bench_thread *t = p->t;
    if (!is_ok(r)) {
        if (++p->tries < bench_g->o.max_tries) {
            after_ms(p, 1000.0 * (1.0 + bench_unif(&p->rng)), TA_RESEND);
            return;
        }
        t->resume_failed++;
    } else {
        json_t *j = parse_json(r);
        int diff = take_session(p, j, 1);
        json_decref(j);
        if (diff < 0)
            t->resume_failed++;
        else {
            t->resume_ok++;
            t->resume_answer_mismatch += (uint64_t)diff;
        }
    }
    p->resumed = 1;
    p->tries = 0;
    after_ms(p, bench_g->o.pace_ms * (0.5 + bench_unif(&p->rng)), TA_STEP);
}

static void on_answer(bench_phys *p, bench_req *r)
{
    bench_thread *t = p->t;
    int q = p->cur_q;
    if (is_ok(r)) {
        json_t *j = parse_json(r);
        const char *c = json_string_value(json_object_get(j, "choice"));
        snprintf(p->acked[q], sizeof p->acked[q], "%s", c ? c : p->sent);
        json_decref(j);
        atomic_fetch_add_explicit(&t->live.answers_ok, 1, memory_order_relaxed);
        if (!t->stop_issuing) t->window_ok[t->phase]++;
    } else if (r->terr || r->status >= 500) {
        p->indet[q] = 1;           /* the server may or may not have it */
    } else if (r->status == 409) { /* closed: the deadline passed or it was submitted */
        phys_fail(p, "session closed (409)");
        return;
    }
    if (t->phase == P_SATURATION) {
        if (t->stop_issuing)
            phys_done(p);
        else
            step(p);
        return;
    }
    if (p->steps_new_q && (int)(bench_unif(&p->rng) * 100.0) < bench_g->o.change_pct)
        p->pending_change = 1;
    p->steps_new_q = 0;
    after_ms(p, bench_g->o.pace_ms * (0.5 + bench_unif(&p->rng)), TA_STEP);
}

static void on_submit(bench_phys *p, bench_req *r)
{
    if (is_ok(r)) {
        p->submitted = 1;
        p->state = S_DONE;
        atomic_fetch_add_explicit(&p->t->live.submitted, 1, memory_order_relaxed);
        phys_done(p);
        return;
    }
    if (r->status == 409 && p->tries < 30) { /* "正在交卷": another submit holds the claim */
        p->tries++;
        after_ms(p, 1000.0, TA_RESEND);
        return;
    }
    retry_or_fail(p, "submit failed");
}

static void on_resp(bench_req *r)
{
    bench_phys *p = r->arg;
    if (backoff(p, r)) return;
    switch (p->state) {
    case S_LOGIN: on_login(p, r); break;
    case S_TESTS: on_tests(p, r); break;
    case S_CAMERA: on_camera(p, r); break;
    case S_START: on_start(p, r); break;
    case S_RESUME: on_resume(p, r); break;
    case S_DEPARTURE: on_departure(p, r); break;
    case S_ANSWER: on_answer(p, r); break;
    case S_SUBMIT: on_submit(p, r); break;
    case S_RELEASE: on_release(p, r); break;
    default: break;
    }
}

/* ---- the camera lane ------------------------------------------------------------------------- */

static void on_capture(bench_req *r);

static void cap_after(bench_phys *p, double ms)
{
    int64_t us = (int64_t)(ms * 1000.0);
    if (us < 0) us = 0;
    struct timeval tv = {us / 1000000, us % 1000000};
    p->cap.due_us = bench_now_us() + us;
    evtimer_add(p->cap_timer, &tv);
}

static void cap_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bench_phys *p = arg;
    bench_thread *t = p->t;
    if (!p->cap_on || p->cap_busy) return;
    bench_req *r = &p->cap;
    r->method = "POST";
    snprintf(r->path, sizeof r->path, "/api/v1/sessions/%s/captures", p->sid);
    r->token = p->token;
    r->body_len = 0;
    r->blob = bench_g->jpeg;
    r->blob_len = bench_g->jpeg_len;
    r->fresh = 0;
    r->route = R_CAPTURE;
    r->phase = t->phase;
    r->cb = on_capture;
    r->arg = p;
    p->cap_busy = 1;
    t->cap_inflight++;
    bench_send(t->exam, r);
}

/* 202 {"next_capture_at","server_time"}: the next photo goes when the server said (in
 * its clock); 409/404: the session is over; 429/503: Retry-After with jitter; else the
 * page tries again in about 3 s. */
static void on_capture(bench_req *r)
{
    bench_phys *p = r->arg;
    bench_thread *t = p->t;
    p->cap_busy = 0;
    t->cap_inflight--;
    double ms;
    if (is_ok(r)) {
        t->captures_ok++;
        json_t *j = parse_json(r);
        json_int_t next = json_integer_value(json_object_get(j, "next_capture_at"));
        json_int_t now = json_integer_value(json_object_get(j, "server_time"));
        json_decref(j);
        ms = next && now ? (double)(next - now) : 300000.0;
    } else if (!r->terr && (r->status == 409 || r->status == 404)) {
        cap_stop(p);
        ms = -1;
    } else if (!r->terr && (r->status == 429 || r->status == 503) && r->retry_after >= 0) {
        ms = (r->retry_after > 0 ? r->retry_after : 1) * 1000.0 * (1.0 + bench_unif(&p->rng));
        t->stats[r->phase].backoffs++;
        t->stats[r->phase].backoff_wait_ms += (uint64_t)ms;
    } else {
        ms = 3000.0 * (1.0 + bench_unif(&p->rng));
    }
    if (p->submit_after_cap) { /* the submit waited for this photo */
        p->submit_after_cap = 0;
        p->tries = 0;
        send_submit(p);
        return;
    }
    if (ms < 0 || !p->cap_on || t->stop_issuing) return;
    if (ms < 500) ms = 500;
    if (ms > 7200000) ms = 7200000;
    cap_after(p, ms);
}

/* The page stops its camera before it submits, so no photo races the submit. */
static void begin_submit(bench_phys *p)
{
    cap_stop(p);
    if (p->cap_busy) {
        p->submit_after_cap = 1;
        return;
    }
    p->tries = 0;
    send_submit(p);
}

/* ---- the next step of an answering physician ------------------------------------------------- */

static void step(bench_phys *p)
{
    bench_thread *t = p->t;
    char c[BENCH_CHOICE];
    if (t->stop_issuing) { /* time is up for this phase */
        phys_done(p);
        return;
    }
    if (t->phase == P_SATURATION) {
        int q = 1 + (int)(bench_rand(&p->rng) % (uint32_t)p->nq);
        random_choice(p, q, p->acked[q], c);
        send_answer(p, q, c);
        return;
    }
    /* steady */
    if (p->pending_change && p->next_q > 1) {
        p->pending_change = 0;
        int q = 1 + (int)(bench_rand(&p->rng) % (uint32_t)(p->next_q - 1));
        random_choice(p, q, p->acked[q], c);
        t->changes++;
        send_answer(p, q, c);
        return;
    }
    if (!p->resumed && p->next_q > p->resume_at) {
        p->tries = 0;
        send_start(p, 1);
        return;
    }
    if (p->deps_sent < 2 && p->dep_at[p->deps_sent] && p->next_q > p->dep_at[p->deps_sent]) {
        p->deps_sent++;
        send_departure(p);
        return;
    }
    if (p->next_q <= p->nq) {
        int q = p->next_q++;
        random_choice(p, q, NULL, c);
        p->steps_new_q = 1;
        send_answer(p, q, c);
        return;
    }
    begin_submit(p);
}

static void phys_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bench_phys *p = arg;
    int a = p->timer_action;
    p->timer_action = TA_NONE;
    switch (a) {
    case TA_RESEND:
        p->due_set = 0;
        p->req.phase = p->t->phase;
        bench_send(p->t->exam, &p->req);
        break;
    case TA_STEP: step(p); break;
    case TA_RELEASE:
        if (p->sid[0])
            send_release(p);
        else
            send_tests(p);
        break;
    case TA_ARRIVE:
        p->t_arrive_us = p->req.due_us;
        p->tries = 0;
        send_login(p);
        break;
    default: break;
    }
}

/* ---- the bare server ------------------------------------------------------------------------- */

static void send_bare(bench_thread *t, bench_req *r)
{
    r->phase = t->phase;
    r->due_us = bench_now_us();
    t->bare_inflight++;
    bench_send(t->bare, r);
}

static void on_bare(bench_req *r)
{
    bench_thread *t = r->arg;
    t->bare_inflight--;
    if (is_ok(r) && !t->stop_issuing) t->window_ok[t->phase]++;
    if (!t->stop_issuing) send_bare(t, r);
}

/* ---- phases -----------------------------------------------------------------------------------
 */

static void join(bench_phys *p)
{
    p->in_phase = 1;
    p->t->nphys_active++;
    p->backoffs = 0;
    p->tries = 0;
    p->req.due_us = 0;
}

static int can_answer(const bench_thread *t, const bench_phys *p)
{
    return p->group == t->group && p->have_paper && !p->submitted && !p->failed;
}

static void begin_phase(bench_thread *t)
{
    bench_opts *o = &bench_g->o;
    t->stop_issuing = 0;
    t->phase_t0_us = bench_now_us();
    switch (t->phase) {
    case P_SETUP:
        t->login_slots = o->setup_logins / o->threads > 0 ? o->setup_logins / o->threads : 1;
        t->nlogin_wait = t->login_wait_head = 0;
        for (int i = 0; i < t->nphys; i++) {
            bench_phys *p = t->phys[i];
            if (p->group != t->group || p->have_paper || p->failed) continue;
            join(p);
            if (t->login_slots > 0) {
                t->login_slots--;
                p->slot = 1;
                send_login(p);
            } else {
                t->login_wait[t->nlogin_wait++] = p;
            }
        }
        break;
    case P_START:
        t->start_t0_us = t->phase_t0_us;
        for (int i = 0; i < t->nphys; i++) {
            bench_phys *p = t->phys[i];
            if (p->group != t->group || p->have_paper || p->failed) continue;
            join(p);
            after_ms(p, bench_unif(&p->rng) * o->start_window_s * 1000.0, TA_ARRIVE);
        }
        break;
    case P_BARE: {
        int n = o->connections / o->threads;
        for (int i = 0; i < n; i++) {
            bench_req *r = &t->bare_reqs[i];
            memset(r, 0, sizeof *r);
            r->method = "PUT";
            /* the same shape as an answer save: path, token, body */
            snprintf(r->path, sizeof r->path, "/api/v1/sessions/%032x/answers/%d", i + 1,
                     1 + i % 100);
            r->token = t->fake_token;
            r->body_len = (size_t)snprintf(r->body, sizeof r->body, "{\"choice\":\"B\"}");
            r->route = R_BARE;
            r->cb = on_bare;
            r->arg = t;
            send_bare(t, r);
        }
        break;
    }
    case P_SATURATION: {
        int cap = o->connections / o->threads, n = 0;
        for (int i = 0; i < t->nphys && n < cap; i++) {
            bench_phys *p = t->phys[i];
            if (!can_answer(t, p)) continue;
            join(p);
            n++;
            step(p);
        }
        break;
    }
    case P_STEADY:
        for (int i = 0; i < t->nphys; i++) {
            bench_phys *p = t->phys[i];
            if (!can_answer(t, p)) continue;
            join(p);
            p->next_q = 1;
            p->resumed = 0;
            p->resume_at = p->nq / 2;
            p->pending_change = 0;
            p->deps_sent = 0;
            p->dep_at[0] = p->dep_at[1] = 0;
            if ((int)(bench_unif(&p->rng) * 100.0) < o->departure_pct) { /* twice a paper */
                p->dep_at[0] = 1 + (int)(bench_rand(&p->rng) % (uint32_t)(p->nq / 2));
                p->dep_at[1] = p->nq / 2 + 1 + (int)(bench_rand(&p->rng) % (uint32_t)(p->nq / 2));
            }
            after_ms(p, bench_unif(&p->rng) * o->pace_ms, TA_STEP);
        }
        break;
    case P_FINISH:
        for (int i = 0; i < t->nphys; i++) {
            bench_phys *p = t->phys[i];
            if (!can_answer(t, p)) continue;
            join(p);
            begin_submit(p);
        }
        break;
    }
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bench_thread *t = arg;
    int64_t now_tick = bench_now_us();
    if (t->last_tick_us && !t->phase_done) {
        int64_t lag = now_tick - t->last_tick_us - TICK_MS * 1000;
        bench_hist_add(&t->stats[t->phase].loop_lag, (uint64_t)(lag > 0 ? lag : 0));
    }
    t->last_tick_us = now_tick;
    if (atomic_load(&bench_g->quit)) {
        event_base_loopexit(t->base, NULL);
        return;
    }
    int seq = atomic_load(&bench_g->phase_seq);
    if (seq != t->phase_seq) {
        t->phase_seq = seq;
        t->phase = atomic_load(&bench_g->phase);
        t->group = atomic_load(&bench_g->group);
        t->phase_done = 0;
        begin_phase(t);
    }
    if (t->phase_done) return;
    int64_t now = bench_now_us(), el = now - t->phase_t0_us;
    bench_opts *o = &bench_g->o;
    if (!t->stop_issuing) {
        int64_t limit = 0;
        if (t->phase == P_BARE)
            limit = o->bare_s;
        else if (t->phase == P_SATURATION)
            limit = o->sat_s;
        else if (t->phase == P_STEADY)
            limit = o->steady_max_s;
        if (limit && el >= limit * 1000000LL) {
            t->stop_issuing = 1;
            t->window_us[t->phase] += el;
        }
    }
    if (t->nphys_active == 0 && t->bare_inflight == 0) {
        if (!t->stop_issuing) t->window_us[t->phase] += el;
        t->stop_issuing = 1;
        t->phase_done = 1;
        atomic_fetch_add(&bench_g->threads_done, 1);
    }
}

void *bench_thread_main(void *arg)
{
    bench_thread *t = arg;
    bench_opts *o = &bench_g->o;
    /* precise timers: libevent 2.1 otherwise uses CLOCK_MONOTONIC_COARSE, and a think
     * time would end up to a kernel tick late, which is the generator's lateness, not
     * the server's */
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    t->base = event_base_new_with_config(ec);
    event_config_free(ec);
    int share = o->connections / o->threads;
    t->exam = bench_client_new(t, t->base, o->port, share, o->timeout_ms);
    if (o->bare_port) t->bare = bench_client_new(t, t->base, o->bare_port, share, o->timeout_ms);
    t->bare_reqs = dk_calloc((size_t)share, sizeof *t->bare_reqs);
    t->login_wait = dk_calloc((size_t)t->nphys + 1, sizeof *t->login_wait);
    /* a token of the real length for the bare server's requests */
    memset(t->fake_token, 'x', 66);
    t->fake_token[66] = '\0';
    for (int i = 0; i < t->nphys; i++) {
        t->phys[i]->timer = evtimer_new(t->base, phys_timer, t->phys[i]);
        t->phys[i]->cap_timer = evtimer_new(t->base, cap_fire, t->phys[i]);
    }
    t->tick = event_new(t->base, -1, EV_PERSIST, tick, t);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(t->tick, &tv);
    event_base_dispatch(t->base);
    for (int i = 0; i < t->nphys; i++) {
        event_free(t->phys[i]->timer);
        event_free(t->phys[i]->cap_timer);
    }
    event_free(t->tick);
    bench_client_free(t->exam);
    bench_client_free(t->bare);
    free(t->bare_reqs);
    free(t->login_wait);
    event_base_free(t->base);
    return NULL;
}
