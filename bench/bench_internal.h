/* bench_internal.h - what the files of dkbench share: the histogram, the per-phase
 * statistics, the keep-alive HTTP client, the simulated physicians and the database
 * steps (setup, reset, loss check). Not a public contract: dkbench is a program.
 *
 * Threads: the main thread runs the phases and prints progress; each client thread owns an
 * event_base, its connections, its share of the physicians and its stats. While a phase
 * runs only atomics cross threads; the rest is read once the threads report it done. */
#ifndef BENCH_INTERNAL_H
#define BENCH_INTERNAL_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dk_auth.h"
#include "dk_config.h"

/* ---- histogram: log-linear, < 1.6% relative error, 1 us .. 2^40 us --------------------- */

#define BENCH_HIST_N 2368

typedef struct bench_hist {
    uint64_t count, sum_us, max_us;
    uint64_t b[BENCH_HIST_N];
} bench_hist;

void bench_hist_add(bench_hist *h, uint64_t us);
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* The upper bound of the bucket holding quantile q (0..1), in microseconds. */
uint64_t bench_hist_pct(const bench_hist *h, double q);

/* ---- what is measured ------------------------------------------------------------------ */

enum bench_route {
    R_LOGIN,
    R_TESTS,
    R_CAMERA,
    R_START,
    R_RESUME,
    R_ANSWER,
    R_CAPTURE,
    R_SUBMIT,
    R_DEPARTURE, /* leaving the exam page (切屏), issue 18 */
    R_BARE,
    R_NROUTES
};
enum bench_phase { P_SETUP, P_START, P_BARE, P_SATURATION, P_STEADY, P_FINISH, P_NPHASES };
/* transport failures (no HTTP status) */
enum bench_terr { T_NONE, T_CONNECT, T_TIMEOUT, T_RESET, T_BADRESP, T_NTERR };

extern const char *const bench_route_names[R_NROUTES];
extern const char *const bench_phase_names[P_NPHASES];
extern const char *const bench_terr_names[T_NTERR];

#define BENCH_MAX_STATUS 600

typedef struct bench_stats {       /* one phase, one thread (merged at the end) */
    bench_hist e2e[R_NROUTES];     /* from the time the request was due to the last byte */
    bench_hist service[R_NROUTES]; /* from the request's first write to the last byte */
    bench_hist wait[R_NROUTES];    /* client side: from due to the first write (timer
                                      lateness, a full pool) */
    bench_hist loop_lag;           /* how late the client thread's 20 ms tick ran */
    uint64_t status[R_NROUTES][BENCH_MAX_STATUS];
    uint64_t terr[R_NROUTES][T_NTERR];
    uint64_t stale_retries; /* request resent once on a new connection: the server had
                               closed the idle keep-alive one as we wrote (no byte back) */
    uint64_t backoffs;      /* 429/503 with Retry-After that the client waited out */
    uint64_t queued;        /* of those, login queue places (503 with a ticket) */
    uint64_t backoff_wait_ms;
} bench_stats;

/* Counters the main thread reads for progress lines (relaxed atomics). */
typedef struct bench_live {
    _Atomic uint64_t done, ok, errors, backoffs, inflight, waiting;
    _Atomic uint64_t answers_ok, logged_in, have_paper, submitted, failed;
} bench_live;

/* ---- the HTTP client --------------------------------------------------------------------- */

typedef struct bench_req bench_req;
typedef struct bench_client bench_client;
typedef void (*bench_req_cb)(bench_req *r);

struct bench_req {
    /* filled by the caller */
    const char *method;
    char path[128];
    const char *token; /* Bearer token or NULL; must live until the callback */
    char body[160]; /* the longest: a login with its queue ticket */
    size_t body_len;
    const void *blob; /* instead of body: an image/jpeg body, not copied, lives on */
    size_t blob_len;
    int route, phase;
    int fresh;      /* send on a new connection, closed after the reply */
    int64_t due_us; /* when the request was meant to go (latency counts from here) */
    bench_req_cb cb;
    void *arg;
    /* filled by the client before cb; resp is freed after cb returns */
    int status;      /* HTTP status, 0 on a transport failure */
    int terr;        /* enum bench_terr */
    int retry_after; /* seconds, -1 if absent */
    char *resp;      /* NUL-terminated body */
    size_t resp_len;
    /* the client's own */
    int64_t sent_us, first_sent_us;
    int attempts;
    bench_req *next;
};

typedef struct bench_thread bench_thread;

bench_client *bench_client_new(bench_thread *t, struct event_base *base, int port, int nconns,
                               int timeout_ms);
void bench_client_free(bench_client *cl);
/* Queues r: sent on the next free connection (or a new one if r->fresh). */
void bench_send(bench_client *cl, bench_req *r);

/* ---- the run ----------------------------------------------------------------------------- */

#define BENCH_MAXQ 128
#define BENCH_CHOICE 8

typedef struct bench_phys {
    bench_thread *t;
    int idx;
    char account[24];
    char token[DK_TOKEN_MAX];
    char sid[33];
    int nq;
    char kind[BENCH_MAXQ + 1]; /* per question (1-based): 'S' one letter, 'M' several */
    uint8_t nopt[BENCH_MAXQ + 1];
    char acked[BENCH_MAXQ + 1][BENCH_CHOICE]; /* last acknowledged choice, "" none */
    char sent[BENCH_CHOICE];                  /* choice of the answer in flight */
    uint8_t indet[BENCH_MAXQ + 1];            /* an answer's fate is unknown (timeout, 5xx) */
    int group; /* 0: start and steady; 1: saturation (one per connection, no camera) */
    int state, tries, next_q, resume_at, resumed;
    int dep_at[2], deps_sent; /* steady: the questions after which it leaves the page (0: never) */
    int timer_action, due_set, cur_q, pending_change, steps_new_q, backoffs, slot;
    int have_paper, submitted, failed, in_phase;
    int waiting; /* in the waiting room: the paper is drawn, released at the opening */
    int64_t t_arrive_us, t_paper_us;
    char queue_ticket[40]; /* the login queue's ticket, "" none */
    uint32_t rng;
    struct event *timer;
    bench_req req;
    /* the camera lane: captures at the times the server picks, next to the answers */
    bench_req cap;
    struct event *cap_timer;
    int cap_on, cap_busy, submit_after_cap;
} bench_phys;

typedef struct bench_opts {
    int physicians, connections, threads, port, bare_port, bare_loops;
    int pace_ms, change_pct, sat_s, bare_s, rounds, start_window_s, timeout_ms, progress_s;
    int departure_pct; /* steady: % of physicians who leave the page twice (切屏) */
    int steady_max_s, setup_logins, max_tries, reset, first_seq;
    int opening_in_s; /* start: the window opens this long after the phase (the waiting
                       * room); 0 = open already (cold arrivals) */
    const char *scenario, *json_out, *capture_jpeg, *photo;
} bench_opts;

struct bench_thread {
    int index;
    pthread_t tid;
    struct event_base *base;
    bench_client *exam, *bare;
    struct event *tick;
    bench_phys **phys; /* this thread's physicians */
    int nphys;
    int phase, group, phase_seq, phase_done, stop_issuing;
    int64_t phase_t0_us, last_tick_us;
    int login_slots; /* setup: logins allowed in flight */
    bench_phys **login_wait;
    int nlogin_wait, login_wait_head;
    int bare_inflight;
    bench_req *bare_reqs;
    bench_stats *stats; /* [P_NPHASES] */
    bench_live live;
    int nphys_active; /* physicians still busy in the current phase */
    int fail_logged;
    uint64_t window_ok[P_NPHASES]; /* 2xx answers/bare replies inside the timed window */
    int64_t window_us[P_NPHASES];  /* summed over the rounds of a phase */
    uint64_t changes, resume_ok, resume_failed, resume_sid_mismatch, resume_answer_mismatch;
    uint64_t departures_ok, departures_failed;
    uint64_t camera_ok, camera_not_ok, captures_ok;
    int cap_inflight;
    char fake_token[128];
    bench_hist start_to_paper;          /* synchronized start: arrival -> paper, per physician */
    bench_hist open_to_paper;           /* waiting room: the opening -> paper, per physician */
    uint64_t waited;                    /* physicians who were in the waiting room */
    uint64_t open_in10;                 /* papers within 10 s of the opening */
    int64_t start_t0_us, last_paper_us; /* synchronized start: window opened, last paper */
    uint32_t rng;
};

typedef struct bench_run {
    bench_opts o;
    const dk_config *cfg;
    bench_thread *threads;
    bench_phys *phys;
    int nphys;
    unsigned char *jpeg; /* --capture-jpeg, read once; NULL: no camera check, no captures */
    size_t jpeg_len;
    _Atomic int phase, group, phase_seq, threads_done, quit;
    int64_t phase_t0_us;
    int64_t opening_wall_ms; /* the waiting room's opening (unix ms), 0 = none */
} bench_run;

extern bench_run *bench_g;

int64_t bench_now_us(void);
long long bench_wall_ms(void); /* unix ms (the waiting room's opening is a wall time) */
uint32_t bench_rand(uint32_t *s);
/* Uniform in [0, 1). */
double bench_unif(uint32_t *s);

/* bench_sim.c: a client thread's body and the phase handlers. */
void *bench_thread_main(void *arg);

/* bench_db.c */
#define BENCH_PASSWORD "Bench#2026-dingkao"
#define BENCH_INST "140105H00001"
/* photo: a JPEG registered (path + embedding) for every bench physician, or NULL. */
int bench_setup(const dk_config *cfg, int n, int first_seq, const char *photo);
int bench_reset(const dk_config *cfg, int first_seq, int n);
/* The waiting room: the bench physicians' enrolments move to the bench cycle 'BW' whose
 * window opens at opening_ms (unix ms); bench_reset moves them back to '01'. */
int bench_opening(const dk_config *cfg, int first_seq, long long opening_ms);
/* Bench physicians enrolled in cycle '01' with accounts from first_seq to last_seq; -1 on error. */
long long bench_accounts(const dk_config *cfg, int first_seq, int last_seq);
typedef struct bench_loss {
    long long sessions, submitted, not_submitted, checked, lost, mismatched, indeterminate, extra;
} bench_loss;
int bench_loss_check(const dk_config *cfg, bench_phys *phys, int n, bench_loss *out);

/* bench_bare.c: the ceiling server (a separate process: dkbench bare). */
int bench_bare_main(int port, int loops);

#endif
