/* dkbench.c - the load benchmark of examd (issue 5): N simulated physicians end to end
 * over keep-alive HTTP, the ceiling of this machine (a bare libevent server driven by
 * the same client), a check against MariaDB that no acknowledged answer was lost, and
 * a report (text, then one DKBENCH_JSON line).
 *
 *   dkbench setup [--physicians N]      bench physicians + enrolments (then a reset)
 *   dkbench reset                       forget every sitting of the bench physicians
 *   dkbench run [options]               the scenarios (dkbench run --help)
 *   dkbench bare --port P [--loops L]   the bare server alone
 *
 * Database and Redis settings come from the DK_* environment (dk_config), like examd.
 * The main thread runs the phases and prints progress; client threads do the work
 * (bench_sim.c). A benchmark never fails on a time: it prints what it measured and the
 * machine. The exit status is 0, 3 when acknowledged answers were lost, 1 when the run
 * could not be made, 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "dk_log.h"
#include "dk_metrics.h"
#include "dk_redis.h"
#include "dom_session.h"

bench_run *bench_g;

/* ---- options: one row per option ------------------------------------------------------------ */

typedef struct opt {
    const char *name;
    int *ival;         /* an integer option, or */
    const char **sval; /* a string option, or neither: a flag that sets *ival to 0 */
    int flag_value;
    const char *help;
} opt;

static bench_opts O = {
    .physicians = 5000,
    .connections = 500,
    .threads = 2,
    .port = 0,
    .bare_port = 0,
    .bare_loops = 0,
    .pace_ms = 3000,
    .change_pct = 10,
    .sat_s = 10,
    .bare_s = 10,
    .rounds = 4,
    .start_window_s = 60,
    .timeout_ms = 30000,
    .progress_s = 5,
    .steady_max_s = 1800,
    .setup_logins = 32,
    .max_tries = 5,
    .reset = 1,
    .first_seq = 50000,
    .scenario = "all",
};

static const opt run_opts[] = {
    {"--scenario", NULL, &O.scenario, 0, "steady | saturation | start | all (default all)"},
    {"--physicians", &O.physicians, NULL, 0, "simulated physicians (default 5000)"},
    {"--connections", &O.connections, NULL, 0,
     "keep-alive connections to examd, and to the bare server (500)"},
    {"--threads", &O.threads, NULL, 0, "client threads, each with its share of connections (2)"},
    {"--port", &O.port, NULL, 0, "examd port on 127.0.0.1 (default: DK_EXAM_PORT)"},
    {"--bare-port", &O.bare_port, NULL, 0,
     "port of the bare server started by this run (0: any free)"},
    {"--bare-loops", &O.bare_loops, NULL, 0,
     "event loops of the bare server (default: DK_HTTP_LOOPS, 0 = one per core)"},
    {"--pace-ms", &O.pace_ms, NULL, 0,
     "steady: mean think time between answers, uniform 0.5x..1.5x (3000)"},
    {"--change-pct", &O.change_pct, NULL, 0,
     "steady: %% of answers followed by a change of an earlier one (10)"},
    {"--departure-pct", &O.departure_pct, NULL, 0,
     "steady: %% of physicians who leave the exam page twice per paper (切屏; 0)"},
    {"--rounds", &O.rounds, NULL, 0,
     "saturation: rounds of bare, saturation (then a last bare) (4)"},
    {"--sat-seconds", &O.sat_s, NULL, 0, "saturation: seconds of one saturation round (10)"},
    {"--bare-seconds", &O.bare_s, NULL, 0, "bare server: seconds of one bare round (10)"},
    {"--start-window-s", &O.start_window_s, NULL, 0,
     "start: arrivals uniform over this many seconds (60)"},
    {"--opening-in-s", &O.opening_in_s, NULL, 0,
     "start: the window opens this many seconds after the phase begins, physicians arriving "
     "before it wait in the waiting room (0: open already, cold arrivals)"},
    {"--timeout-ms", &O.timeout_ms, NULL, 0, "client deadline of one request (30000)"},
    {"--progress-s", &O.progress_s, NULL, 0, "seconds between progress lines (5)"},
    {"--steady-max-s", &O.steady_max_s, NULL, 0, "steady: stop issuing after this long (1800)"},
    {"--setup-logins", &O.setup_logins, NULL, 0,
     "setup (unmeasured): logins in flight at once (32)"},
    {"--max-tries", &O.max_tries, NULL, 0, "tries of a step after errors other than 429/503 (5)"},
    {"--first", &O.first_seq, NULL, 0, "first 5-digit sequence of the bench accounts (50000)"},
    {"--capture-jpeg", NULL, &O.capture_jpeg, 0,
     "a JPEG photo: camera check before the start and captures during steady (none: neither)"},
    {"--json", NULL, &O.json_out, 0, "also write the JSON report to this file"},
    {"--photo", NULL, &O.photo, 0, "setup: register this JPEG (path + embedding) for them all"},
    {"--no-reset", &O.reset, NULL, 0, "do not forget earlier sittings before the run"},
};
#define NOPTS (sizeof run_opts / sizeof run_opts[0])

static int parse_opts(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const opt *o = NULL;
        for (size_t k = 0; k < NOPTS; k++)
            if (!strcmp(argv[i], run_opts[k].name)) o = &run_opts[k];
        if (!o) {
            fprintf(stderr, "dkbench: unknown option %s\n", argv[i]);
            return -1;
        }
        if (!o->sval && !strncmp(o->name, "--no-", 5)) {
            *o->ival = o->flag_value;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dkbench: %s needs a value\n", o->name);
            return -1;
        }
        const char *v = argv[++i];
        if (o->sval) {
            *o->sval = v;
            continue;
        }
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || *end || x < 0 || x > 100000000) {
            fprintf(stderr, "dkbench: %s: not a number: %s\n", o->name, v);
            return -1;
        }
        *o->ival = (int)x;
    }
    return 0;
}

static void usage_run(FILE *f)
{
    fprintf(f, "usage: dkbench run [options]   (targets 127.0.0.1 only)\n");
    for (size_t k = 0; k < NOPTS; k++)
        fprintf(f, "  %-18s %s\n", run_opts[k].name, run_opts[k].help);
}

/* ---- the machine -------------------------------------------------------------------------- */

typedef struct machine {
    long nproc;
    char cpu[128], kernel[256], when[32];
    double load_start[3], load_end[3];
} machine;

static void machine_read(machine *m)
{
    m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(m->cpu, sizeof m->cpu, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *c = strchr(line, ':');
        if (c) {
            c += 1 + strspn(c + 1, " \t");
            c[strcspn(c, "\n")] = '\0';
            snprintf(m->cpu, sizeof m->cpu, "%s", c);
        }
        break;
    }
    if (f) fclose(f);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof m->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    time_t now = time(NULL);
    strftime(m->when, sizeof m->when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    getloadavg(m->load_start, 3);
}

/* ---- the bare server process ---------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static int port_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static pid_t spawn_bare(int port, int loops)
{
    char p[16], l[16];
    snprintf(p, sizeof p, "%d", port);
    snprintf(l, sizeof l, "%d", loops);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlives the run */
        execl("/proc/self/exe", "dkbench", "bare", "--port", p, "--loops", l, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 100; i++) {
        if (port_answers(port)) return pid;
        usleep(50000);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

/* ---- phases --------------------------------------------------------------------------------- */

typedef struct phase_result {
    int ran, aborted;
    double seconds;
    bench_stats st; /* merged over threads */
    uint64_t window_ok;
    double window_s;
} phase_result;

static phase_result R[P_NPHASES];

static void live_sum(bench_live *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < bench_g->o.threads; i++) {
        bench_live *l = &bench_g->threads[i].live;
#define ADD(f) s->f += atomic_load_explicit(&l->f, memory_order_relaxed)
        ADD(done);
        ADD(ok);
        ADD(errors);
        ADD(backoffs);
        ADD(inflight);
        ADD(waiting);
        ADD(answers_ok);
        ADD(logged_in);
        ADD(have_paper);
        ADD(submitted);
        ADD(failed);
#undef ADD
    }
}

/* examd's /metrics text, read with a blocking request (main thread only, between or
 * beside phases); NULL if examd does not answer. */
static char *examd_metrics(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {2, 0};
    char *buf = NULL;
    if (fd < 0) return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static const char req[] =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
        size_t cap = 1 << 20, n = 0;
        buf = dk_malloc(cap + 1);
        ssize_t k;
        while (n < cap && (k = read(fd, buf + n, cap - n)) > 0)
            n += (size_t)k;
        buf[n] = '\0';
    }
    close(fd);
    return buf;
}

/* The value of the line "name value" in a /metrics text; -1 if there is none. */
static double metric_in(const char *text, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = text ? strstr(text, key) : NULL;
    return at ? strtod(at + strlen(key), NULL) : -1;
}

static double examd_gauge(int port, const char *name)
{
    char *t = examd_metrics(port);
    double v = metric_in(t, name);
    free(t);
    return v;
}

/* A histogram of examd's /metrics since the last progress line: its p99 and worst
 * bucket ("p99<=0.025/0.1"), or "-" when examd has none or nothing happened. */
#define HIST_N (DK_HIST_BUCKETS + 1) /* dk_metrics.h's buckets, +Inf last */

static void hist_since(const char *text, const char *name, double prev[HIST_N], char *out,
                       size_t outsz)
{
    double cur[HIST_N], d[HIST_N];
    char le[HIST_N][24];
    for (size_t i = 0; i < HIST_N; i++) {
        char key[512];
        dk_hist_le((int)i, le[i], sizeof le[i]);
        snprintf(key, sizeof key, "%s_bucket{le=\"%s\"}", name, le[i]);
        cur[i] = metric_in(text, key);
    }
    snprintf(out, outsz, "-");
    if (cur[HIST_N - 1] < 0) return;
    for (size_t i = 0; i < HIST_N; i++) d[i] = cur[i] - (prev[i] > 0 ? prev[i] : 0);
    memcpy(prev, cur, sizeof cur);
    double total = d[HIST_N - 1];
    if (total <= 0) return;
    size_t p99 = 0, worst = 0;
    while (p99 < HIST_N - 1 && d[p99] < 0.99 * total) p99++;
    for (size_t i = 0; i < HIST_N; i++)
        if (d[i] > (i ? d[i - 1] : 0)) worst = i;
    snprintf(out, outsz, "p99<=%s/%s", le[p99], le[worst]);
}

/* examd's state in Redis, read for the progress lines only (the main thread's own
 * connection): sessions with a running clock, and sessions whose answers changed since
 * their last flush to MariaDB (DOM_KEY_DIRTY). NULL when Redis cannot be reached. */
static redisContext *g_redis;

static long long redis_count(const char *cmd)
{
    if (!g_redis) return -1;
    redisReply *r = redisCommand(g_redis, cmd);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (!r) {
        redisFree(g_redis);
        g_redis = NULL;
    } else {
        freeReplyObject(r);
    }
    return n;
}

static void progress(int ph, double el, bench_live *prev, double dt)
{
    bench_live s;
    live_sum(&s);
    long long live = redis_count("ZCARD " DOM_KEY_DEADLINES),
              dirty = redis_count("SCARD " DOM_KEY_DIRTY);
    static double lag_prev[HIST_N], ar_prev[HIST_N], sw_prev[HIST_N], sd_prev[HIST_N];
    char *mt = examd_metrics(bench_g->o.port), lag[40], ar[40], sw[40], sd[40];
    double backlog = metric_in(mt, "examd_capture_backlog"),
           dbq = metric_in(mt, "examd_db_queue_depth");
    hist_since(mt, "examd_loop_lag_seconds", lag_prev, lag, sizeof lag);
    hist_since(mt, "examd_answer_redis_seconds", ar_prev, ar, sizeof ar);
    hist_since(mt, "examd_submit_wait_seconds", sw_prev, sw, sizeof sw);
    hist_since(mt, "examd_submit_db_seconds", sd_prev, sd, sizeof sd);
    free(mt);
    double d = dt > 0 ? dt : 1;
    printf("[%6.1fs] %-10s %6.0f req/s, ok %6.0f/s, answers %6.0f/s, err %llu, backoff %llu, "
           "inflight %llu, queued %llu | in %llu, paper %llu, submitted %llu, gave up %llu | "
           "examd: live %lld, unflushed %lld, proctor backlog %.0f, db queue %.0f | s: loop lag %s, "
           "answer redis %s, submit wait %s, db %s\n",
           el, bench_phase_names[ph], (double)(s.done - prev->done) / d,
           (double)(s.ok - prev->ok) / d, (double)(s.answers_ok - prev->answers_ok) / d,
           (unsigned long long)(s.errors - prev->errors),
           (unsigned long long)(s.backoffs - prev->backoffs), (unsigned long long)s.inflight,
           (unsigned long long)s.waiting, (unsigned long long)s.logged_in,
           (unsigned long long)s.have_paper, (unsigned long long)s.submitted,
           (unsigned long long)s.failed, live, dirty, backlog, dbq, lag, ar, sw, sd);
    fflush(stdout);
    *prev = s;
}

/* Runs one phase on every client thread; returns -1 when it overran its guard. */
static int run_phase(int ph, int guard_s)
{
    bench_run *g = bench_g;
    printf("-- phase %s --\n", bench_phase_names[ph]);
    fflush(stdout);
    int64_t t0 = bench_now_us(), last = t0;
    bench_live prev;
    live_sum(&prev);
    atomic_store(&g->threads_done, 0);
    atomic_store(&g->phase, ph);
    atomic_fetch_add(&g->phase_seq, 1);
    R[ph].ran = 1;
    for (;;) {
        usleep(50000);
        int64_t now = bench_now_us();
        if (atomic_load(&g->threads_done) == g->o.threads) break;
        if (now - last >= (int64_t)g->o.progress_s * 1000000) {
            progress(ph, (double)(now - t0) / 1e6, &prev, (double)(now - last) / 1e6);
            last = now;
        }
        if (now - t0 > (int64_t)guard_s * 1000000) {
            printf("phase %s did not end within %d s: stopping the run here\n",
                   bench_phase_names[ph], guard_s);
            R[ph].aborted = 1;
            R[ph].seconds += (double)(now - t0) / 1e6;
            return -1;
        }
    }
    int64_t now = bench_now_us();
    progress(ph, (double)(now - t0) / 1e6, &prev, (double)(now - last) / 1e6);
    R[ph].seconds += (double)(now - t0) / 1e6;
    return 0;
}

/* ---- the report ----------------------------------------------------------------------------- */

static void merge_results(void)
{
    bench_run *g = bench_g;
    for (int ph = 0; ph < P_NPHASES; ph++) {
        bench_stats *m = &R[ph].st;
        int64_t wmax = 0;
        for (int i = 0; i < g->o.threads; i++) {
            bench_thread *t = &g->threads[i];
            bench_stats *s = &t->stats[ph];
            for (int r = 0; r < R_NROUTES; r++) {
                bench_hist_merge(&m->e2e[r], &s->e2e[r]);
                bench_hist_merge(&m->service[r], &s->service[r]);
                bench_hist_merge(&m->wait[r], &s->wait[r]);
                for (int c = 0; c < BENCH_MAX_STATUS; c++)
                    m->status[r][c] += s->status[r][c];
                for (int e = 0; e < T_NTERR; e++)
                    m->terr[r][e] += s->terr[r][e];
            }
            bench_hist_merge(&m->loop_lag, &s->loop_lag);
            m->stale_retries += s->stale_retries;
            m->backoffs += s->backoffs;
            m->backoff_wait_ms += s->backoff_wait_ms;
            R[ph].window_ok += t->window_ok[ph];
            if (t->window_us[ph] > wmax) wmax = t->window_us[ph]; /* threads run the same window */
        }
        R[ph].window_s = (double)wmax / 1e6;
    }
}

/* Non-2xx statuses and transport failures of a route, as "503x12 timeout x1". */
static void codes(const bench_stats *st, int r, char *out, size_t sz, uint64_t *errors,
                  uint64_t *backoff_codes)
{
    size_t o = 0;
    out[0] = '\0';
    *errors = *backoff_codes = 0;
    for (int c = 0; c < BENCH_MAX_STATUS; c++) {
        uint64_t n = st->status[r][c];
        if (!n || (c >= 200 && c < 300)) continue;
        if (c == 429 || c == 503)
            *backoff_codes += n;
        else
            *errors += n;
        o += (size_t)snprintf(out + o, o < sz ? sz - o : 0, "%s%dx%llu", o ? " " : "", c,
                              (unsigned long long)n);
    }
    for (int e = 1; e < T_NTERR; e++) {
        uint64_t n = st->terr[r][e];
        if (!n) continue;
        *errors += n;
        o += (size_t)snprintf(out + o, o < sz ? sz - o : 0, "%s%s x%llu", o ? " " : "",
                              bench_terr_names[e], (unsigned long long)n);
    }
    if (!o) snprintf(out, sz, "-");
}

static uint64_t ok_count(const bench_stats *st, int r)
{
    uint64_t n = 0;
    for (int c = 200; c < 300; c++)
        n += st->status[r][c];
    return n;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static json_t *hist_json(const bench_hist *h)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->count, "p50_ms",
                     ms(bench_hist_pct(h, 0.50)), "p90_ms", ms(bench_hist_pct(h, 0.90)), "p99_ms",
                     ms(bench_hist_pct(h, 0.99)), "p999_ms", ms(bench_hist_pct(h, 0.999)), "max_ms",
                     ms(h->max_us), "mean_ms",
                     h->count ? (double)h->sum_us / (double)h->count / 1000.0 : 0.0);
}

/* Prints one phase's table and returns its JSON. */
static json_t *report_phase(int ph)
{
    phase_result *pr = &R[ph];
    bench_stats *st = &pr->st;
    json_t *routes = json_object();
    printf("\n== %s: %.1f s%s ==\n", bench_phase_names[ph], pr->seconds,
           pr->aborted ? " (ABORTED)" : "");
    printf("%-13s %8s %8s | %-43s | %-15s | %-6s | %s\n", "route", "count", "2xx/s",
           "from due time (ms): p50 p90 p99 p99.9 max", "service p50 p99", "wait99",
           "non-2xx, transport");
    for (int r = 0; r < R_NROUTES; r++) {
        const bench_hist *h = &st->e2e[r];
        if (!h->count) continue;
        char c[256];
        uint64_t errs, bo;
        codes(st, r, c, sizeof c, &errs, &bo);
        uint64_t ok = ok_count(st, r);
        printf("%-13s %8llu %8.1f | %6.2f %7.2f %8.2f %8.2f %8.1f | %6.2f %8.2f | %6.2f | %s\n",
               bench_route_names[r], (unsigned long long)h->count,
               pr->seconds > 0 ? (double)ok / pr->seconds : 0.0, ms(bench_hist_pct(h, 0.5)),
               ms(bench_hist_pct(h, 0.9)), ms(bench_hist_pct(h, 0.99)),
               ms(bench_hist_pct(h, 0.999)), ms(h->max_us),
               ms(bench_hist_pct(&st->service[r], 0.5)), ms(bench_hist_pct(&st->service[r], 0.99)),
               ms(bench_hist_pct(&st->wait[r], 0.99)), c);
        json_t *jr = json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:s}", "count", (json_int_t)h->count, "ok",
                               (json_int_t)ok, "errors", (json_int_t)errs, "latency", hist_json(h),
                               "service", hist_json(&st->service[r]), "client_wait",
                               hist_json(&st->wait[r]), "codes", c);
        json_object_set_new(routes, bench_route_names[r], jr);
    }
    printf("client loop lag (its 20 ms tick, late by): p50 %.2f p99 %.2f max %.1f ms\n",
           ms(bench_hist_pct(&st->loop_lag, 0.5)), ms(bench_hist_pct(&st->loop_lag, 0.99)),
           ms(st->loop_lag.max_us));
    if (st->stale_retries || st->backoffs)
        printf("client: %llu waits on 429/503 + Retry-After (%.1f s in total), %llu requests "
               "resent once on a fresh connection after a stale keep-alive one\n",
               (unsigned long long)st->backoffs, (double)st->backoff_wait_ms / 1000.0,
               (unsigned long long)st->stale_retries);
    return json_pack("{s:f,s:b,s:o,s:o,s:I,s:I}", "seconds", pr->seconds, "aborted", pr->aborted,
                     "routes", routes, "client_loop_lag", hist_json(&st->loop_lag), "backoffs",
                     (json_int_t)st->backoffs, "stale_retries", (json_int_t)st->stale_retries);
}

static uint64_t phase_errors(int ph, int route_only)
{
    uint64_t total = 0;
    for (int r = 0; r < R_NROUTES; r++) {
        if (route_only >= 0 && r != route_only) continue;
        char c[256];
        uint64_t e, b;
        codes(&R[ph].st, r, c, sizeof c, &e, &b);
        total += e;
    }
    return total;
}

static uint64_t phase_backoff_codes(int ph)
{
    uint64_t total = 0;
    for (int r = 0; r < R_NROUTES; r++) {
        char c[256];
        uint64_t e, b;
        codes(&R[ph].st, r, c, sizeof c, &e, &b);
        total += b;
    }
    return total;
}

static const char *verdict(int met)
{
    return met ? "met" : "NOT MET";
}

/* ---- run ------------------------------------------------------------------------------------- */

/* The phases of a scenario, each with the group of physicians it drives (PLAN(ph, g)).
 * Group 0 (--physicians) sits the exam: start or setup, steady, finish. Group 1 (one
 * physician per connection, no camera) prices answer saves: it alternates bare and
 * saturation rounds and ends with a bare round, so drift in the machine's load hits both
 * sides alike; in `all` it runs after group 0 has submitted. */
#define PLAN(ph, g) ((ph) | ((g) << 8))
#define PLAN_PHASE(x) ((x)&0xff)
#define PLAN_GROUP(x) ((x) >> 8)

static int plan_of(const char *s, int rounds, int *plan, int *main_used, int *sat_used)
{
    int n = 0, all = !strcmp(s, "all");
    *main_used = all || !strcmp(s, "start") || !strcmp(s, "steady");
    *sat_used = all || !strcmp(s, "saturation");
    if (!*main_used && !*sat_used) return -1;
    if (all || !strcmp(s, "start")) plan[n++] = PLAN(P_START, 0);
    if (!strcmp(s, "steady")) plan[n++] = PLAN(P_SETUP, 0);
    if (all || !strcmp(s, "steady")) plan[n++] = PLAN(P_STEADY, 0);
    if (*main_used) plan[n++] = PLAN(P_FINISH, 0);
    if (*sat_used) {
        plan[n++] = PLAN(P_SETUP, 1);
        for (int r = 0; r < rounds; r++) {
            plan[n++] = PLAN(P_BARE, 1);
            plan[n++] = PLAN(P_SATURATION, 1);
        }
        plan[n++] = PLAN(P_BARE, 1);
        plan[n++] = PLAN(P_FINISH, 1);
    }
    plan[n] = -1;
    return 0;
}

#define MAX_ROUNDS 20

/* Sum over threads of a phase's timed window so far (ok replies, microseconds). */
static void window_now(int ph, uint64_t *ok, int64_t *us)
{
    *ok = 0;
    *us = 0;
    for (int i = 0; i < bench_g->o.threads; i++) {
        *ok += bench_g->threads[i].window_ok[ph];
        if (bench_g->threads[i].window_us[ph] > *us) *us = bench_g->threads[i].window_us[ph];
    }
}

static int cmd_run(const dk_config *cfg, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_run(stdout);
            return 0;
        }
    if (parse_opts(argc, argv)) {
        usage_run(stderr);
        return 2;
    }
    if (O.rounds < 1 || O.rounds > MAX_ROUNDS) {
        fprintf(stderr, "dkbench: --rounds must be 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    int plan[2 * MAX_ROUNDS + 8], main_used, sat_used;
    if (plan_of(O.scenario, O.rounds, plan, &main_used, &sat_used)) {
        fprintf(stderr, "dkbench: --scenario must be steady, saturation, start or all\n");
        return 2;
    }
    if (!O.port) O.port = (int)dk_config_int(cfg, "exam_port");
    if (!O.bare_loops) O.bare_loops = (int)dk_config_int(cfg, "http_loops");
    /* accounts: group 0 from --first, group 1 (one per connection) right after them */
    int nmain = main_used ? O.physicians : 0, nsat = sat_used ? O.connections : 0;
    int ntotal = nmain + nsat, sat_first = O.first_seq + O.physicians;
    if (O.threads < 1 || O.connections < O.threads || O.physicians < 1 ||
        O.first_seq + O.physicians + O.connections > 100000 || O.pace_ms < 1) {
        fprintf(stderr, "dkbench: need threads >= 1, connections >= threads, 1 <= physicians and "
                        "--first + physicians + connections <= 100000\n");
        return 2;
    }
    int need_bare = sat_used;
    long long have = bench_accounts(cfg, O.first_seq, O.first_seq + O.physicians + nsat - 1);
    if (have < O.physicians + nsat) {
        fprintf(stderr,
                "dkbench: %lld of the %d bench physicians this run needs exist: run "
                "dkbench setup --physicians %d%s\n",
                have < 0 ? 0 : have, O.physicians + nsat, O.physicians + nsat,
                nsat ? " (the physicians, plus one per connection for saturation)" : "");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    machine m;
    machine_read(&m);
    printf("dkbench run: scenario %s, %d physicians, %d connections, %d client thread(s), "
           "examd 127.0.0.1:%d\n",
           O.scenario, O.physicians, O.connections, O.threads, O.port);
    printf("machine: nproc %ld, CPU %s, kernel %s, load average %.2f %.2f %.2f, %s\n", m.nproc,
           m.cpu, m.kernel, m.load_start[0], m.load_start[1], m.load_start[2], m.when);
    if (!port_answers(O.port)) {
        fprintf(stderr, "dkbench: nothing listens on 127.0.0.1:%d (start examd first)\n", O.port);
        return 1;
    }
    if (O.reset && bench_reset(cfg, O.first_seq, O.physicians)) return 1;

    pid_t bare = -1;
    if (need_bare) {
        if (!O.bare_port) O.bare_port = free_port();
        bare = spawn_bare(O.bare_port, O.bare_loops);
        if (bare < 0) {
            fprintf(stderr, "dkbench: the bare server did not start on port %d\n", O.bare_port);
            return 1;
        }
        printf("bare server: pid %d, 127.0.0.1:%d, %d loop(s)\n", (int)bare, O.bare_port,
               O.bare_loops > 0 ? O.bare_loops : (int)m.nproc);
    } else {
        O.bare_port = 0;
    }

    bench_run *g = dk_calloc(1, sizeof *g);
    bench_g = g;
    g->o = O;
    g->cfg = cfg;
    if (O.capture_jpeg) {
        FILE *f = fopen(O.capture_jpeg, "rb");
        g->jpeg = dk_malloc(2u << 20);
        g->jpeg_len = f ? fread(g->jpeg, 1, 2u << 20, f) : 0;
        if (!f || !g->jpeg_len || !feof(f)) {
            fprintf(stderr, "dkbench: cannot read %s (or larger than 2 MiB)\n", O.capture_jpeg);
            return 1;
        }
        fclose(f);
        printf("camera: %s (%zu bytes) for the camera check and the captures\n", O.capture_jpeg,
               g->jpeg_len);
    } else {
        printf("camera: off (no --capture-jpeg): no camera check, no captures\n");
    }
    g->phys = dk_calloc((size_t)ntotal, sizeof *g->phys);
    g->nphys = ntotal;
    g->threads = dk_calloc((size_t)O.threads, sizeof *g->threads);
    for (int t = 0; t < O.threads; t++) {
        bench_thread *th = &g->threads[t];
        th->index = t;
        th->phys = dk_calloc((size_t)ntotal / (size_t)O.threads + 1, sizeof *th->phys);
        th->stats = dk_calloc(P_NPHASES, sizeof *th->stats);
        th->phase_seq = 0;
        th->phase_done = 1;
    }
    uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    for (int i = 0; i < ntotal; i++) {
        bench_phys *p = &g->phys[i];
        bench_thread *th = &g->threads[i % O.threads];
        p->idx = i;
        p->t = th;
        p->group = i >= nmain;
        p->rng = seed + 2654435761u * (uint32_t)(i + 1);
        snprintf(p->account, sizeof p->account, "%s%05d", BENCH_INST,
                 p->group ? sat_first + i - nmain : O.first_seq + i);
        th->phys[th->nphys++] = p;
    }
    for (int t = 0; t < O.threads; t++)
        if (pthread_create(&g->threads[t].tid, NULL, bench_thread_main, &g->threads[t]) != 0) {
            fprintf(stderr, "dkbench: pthread_create failed\n");
            return 1;
        }

    dk_error rerr = {0};
    g_redis = dk_redis_connect(cfg, &rerr);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t run_t0 = bench_now_us();
    int aborted = 0, nbare = 0, nsatr = 0, drained = 0;
    double bare_rounds[MAX_ROUNDS + 1], sat_rounds[MAX_ROUNDS];
    for (int i = 0; plan[i] >= 0 && !aborted; i++) {
        int ph = PLAN_PHASE(plan[i]), guard;
        atomic_store(&g->group, PLAN_GROUP(plan[i]));
        if (ph == P_BARE && !drained) { /* the ceiling and the saturation on a quiet examd */
            drained = 1;
            double b = examd_gauge(O.port, "examd_capture_backlog");
            int64_t t0 = bench_now_us();
            if (b > 0) printf("waiting for the proctor to score its backlog of %.0f captures\n", b);
            while (b > 0 && bench_now_us() - t0 < 300 * 1000000LL) {
                usleep(500000);
                b = examd_gauge(O.port, "examd_capture_backlog");
            }
            if (b > 0) printf("  still %.0f after 300 s: going on\n", b);
        }
        switch (ph) {
        case P_START: guard = O.start_window_s + 900; break;
        case P_BARE: guard = O.bare_s + 120; break;
        case P_SATURATION: guard = O.sat_s + 120; break;
        case P_STEADY: guard = O.steady_max_s + 300; break;
        default: guard = 3600; break;
        }
        if (ph == P_START && O.opening_in_s > 0) { /* the waiting room's opening */
            long long opening = bench_wall_ms() + (long long)O.opening_in_s * 1000;
            if (bench_opening(cfg, O.first_seq, opening)) {
                aborted = 1;
                break;
            }
            g->opening_wall_ms = opening;
            guard += O.opening_in_s;
            printf("waiting room: the window opens at +%d s; arrivals over %d s\n", O.opening_in_s,
                   O.start_window_s);
        }
        uint64_t ok0, ok1;
        int64_t us0, us1;
        window_now(ph, &ok0, &us0);
        if (run_phase(ph, guard)) aborted = 1;
        window_now(ph, &ok1, &us1);
        double rate = us1 > us0 ? (double)(ok1 - ok0) * 1e6 / (double)(us1 - us0) : 0;
        if (ph == P_BARE && nbare < MAX_ROUNDS + 1) bare_rounds[nbare++] = rate;
        if (ph == P_SATURATION && nsatr < MAX_ROUNDS) sat_rounds[nsatr++] = rate;
    }
    atomic_store(&g->quit, 1);
    for (int t = 0; t < O.threads; t++)
        pthread_join(g->threads[t].tid, NULL);
    double run_s = (double)(bench_now_us() - run_t0) / 1e6;
    getrusage(RUSAGE_SELF, &ru1);
    if (bare > 0) {
        kill(bare, SIGTERM);
        waitpid(bare, NULL, 0);
    }
    getloadavg(m.load_end, 3);
    if (g_redis) redisFree(g_redis);
    g_redis = NULL;
    merge_results();

    /* ---- the loss check ---- */
    bench_loss loss;
    int loss_ok = !aborted && bench_loss_check(cfg, g->phys, g->nphys, &loss) == 0;

    /* ---- the report ---- */
    printf("\n==================== dkbench report ====================\n");
    printf("scenario %s, %d physicians, %d connections, %d client thread(s), %.1f s\n", O.scenario,
           O.physicians, O.connections, O.threads, run_s);
    printf("machine: nproc %ld, CPU %s, kernel %s\n", m.nproc, m.cpu, m.kernel);
    printf("load average: %.2f %.2f %.2f at start, %.2f %.2f %.2f at end (the machine is shared: "
           "noise)\n",
           m.load_start[0], m.load_start[1], m.load_start[2], m.load_end[0], m.load_end[1],
           m.load_end[2]);
    double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                            ru0.ru_stime.tv_sec) +
                   (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                            ru0.ru_stime.tv_usec) /
                       1e6;
    printf("client CPU (this process, not the bare server): %.1f s user+sys\n", cpu_s);
    json_t *phases = json_object();
    for (int ph = 0; ph < P_NPHASES; ph++)
        if (R[ph].ran) json_object_set_new(phases, bench_phase_names[ph], report_phase(ph));

    json_t *targets = json_object();
    printf("\n== targets (this run, this machine) ==\n");
    /* per group (0: start/steady, 1: saturation), counted on the physicians themselves */
    uint64_t have_paper_g[2] = {0}, submitted_g[2] = {0}, failed_g[2] = {0}, size_g[2] = {0};
    for (int i = 0; i < g->nphys; i++) {
        bench_phys *p = &g->phys[i];
        size_g[p->group]++;
        have_paper_g[p->group] += p->have_paper;
        submitted_g[p->group] += p->submitted;
        failed_g[p->group] += p->failed;
    }
    uint64_t have_paper = have_paper_g[0];
    uint64_t changes = 0, rs_ok = 0, rs_fail = 0, rs_sid = 0, rs_ans = 0, dep_ok = 0, dep_fail = 0;
    uint64_t cam_ok = 0, cam_not_ok = 0, captures = 0;
    bench_hist s2p = {0}, o2p = {0};
    uint64_t waited = 0;
    int64_t last_paper = 0;
    for (int t = 0; t < O.threads; t++) {
        bench_thread *th = &g->threads[t];
        changes += th->changes;
        rs_ok += th->resume_ok;
        rs_fail += th->resume_failed;
        rs_sid += th->resume_sid_mismatch;
        rs_ans += th->resume_answer_mismatch;
        dep_ok += th->departures_ok;
        dep_fail += th->departures_failed;
        cam_ok += th->camera_ok;
        cam_not_ok += th->camera_not_ok;
        captures += th->captures_ok;
        bench_hist_merge(&s2p, &th->start_to_paper);
        bench_hist_merge(&o2p, &th->open_to_paper);
        waited += th->waited;
        if (th->last_paper_us > last_paper) last_paper = th->last_paper_us;
    }
    if (R[P_START].ran) {
        uint64_t errs = phase_errors(P_START, -1), bo = phase_backoff_codes(P_START);
        int64_t start_t0 = 0;
        /* the phase began when its arrivals were scheduled: the first tick of each thread */
        for (int t = 0; t < O.threads; t++)
            if (!start_t0 || g->threads[t].start_t0_us < start_t0)
                start_t0 = g->threads[t].start_t0_us;
        double last_s = last_paper && start_t0 ? (double)(last_paper - start_t0) / 1e6 : -1;
        uint64_t got = s2p.count;
        printf("synchronized start: %d physicians arriving uniformly over %d s; %llu got their "
               "paper (%s), %llu gave up\n",
               O.physicians, O.start_window_s, (unsigned long long)got,
               verdict(got == (uint64_t)O.physicians), (unsigned long long)(O.physicians - got));
        printf(
            "  the last paper arrived %.1f s after the window opened; arrival -> paper p50 %.2f s, "
            "p90 %.2f s, p99 %.2f s, max %.2f s\n",
            last_s, (double)bench_hist_pct(&s2p, 0.5) / 1e6,
            (double)bench_hist_pct(&s2p, 0.9) / 1e6, (double)bench_hist_pct(&s2p, 0.99) / 1e6,
            (double)s2p.max_us / 1e6);
        if (g->jpeg)
            printf("  camera checks before the start: %llu saw one face, %llu did not\n",
                   (unsigned long long)cam_ok, (unsigned long long)cam_not_ok);
        printf("  429/503 with Retry-After (allowed, retried with jitter): %llu; errors (timeouts, "
               "other 4xx/5xx): %llu (%s)\n",
               (unsigned long long)bo, (unsigned long long)errs, verdict(errs == 0));
        json_object_set_new(targets, "start",
                            json_pack("{s:i,s:I,s:f,s:o,s:I,s:I,s:b}", "physicians", O.physicians,
                                      "got_paper", (json_int_t)got, "last_paper_s", last_s,
                                      "arrival_to_paper", hist_json(&s2p), "retried_429_503",
                                      (json_int_t)bo, "errors", (json_int_t)errs, "met",
                                      got == (uint64_t)O.physicians && errs == 0));
    }
    if (R[P_START].ran && g->opening_wall_ms) {
        uint64_t in10 = 0;
        for (int t = 0; t < O.threads; t++) in10 += g->threads[t].open_in10;
        printf("waiting room: %llu of %d physicians waited for the opening; %llu got their paper; "
               "opening -> paper p50 %.2f s, p99 %.2f s, max %.2f s; within 10 s: %llu (target: "
               "every paper within 10 s: %s)\n",
               (unsigned long long)waited, O.physicians, (unsigned long long)o2p.count,
               (double)bench_hist_pct(&o2p, 0.5) / 1e6, (double)bench_hist_pct(&o2p, 0.99) / 1e6,
               (double)o2p.max_us / 1e6, (unsigned long long)in10,
               verdict(o2p.count == (uint64_t)O.physicians && o2p.max_us <= 10000000ULL));
        json_object_set_new(targets, "waiting",
                            json_pack("{s:i,s:I,s:I,s:o,s:I,s:b}", "physicians", O.physicians,
                                      "waited", (json_int_t)waited, "got_paper",
                                      (json_int_t)o2p.count, "opening_to_paper", hist_json(&o2p),
                                      "within_10s", (json_int_t)in10, "met",
                                      o2p.count == (uint64_t)O.physicians &&
                                          o2p.max_us <= 10000000ULL));
    }
    if (R[P_SATURATION].ran) {
        double bare = R[P_BARE].window_s > 0 ? (double)R[P_BARE].window_ok / R[P_BARE].window_s : 0;
        double sat = R[P_SATURATION].window_s > 0
                         ? (double)R[P_SATURATION].window_ok / R[P_SATURATION].window_s
                         : 0;
        double ratio = bare > 0 ? sat / bare : 0;
        char br[256] = "", sr[256] = "";
        json_t *jb = json_array(), *js = json_array();
        for (int i = 0, o = 0; i < nbare; i++) {
            o += snprintf(br + o, sizeof br - (size_t)o, "%s%.0f", i ? " " : "", bare_rounds[i]);
            json_array_append_new(jb, json_real(bare_rounds[i]));
        }
        for (int i = 0, o = 0; i < nsatr; i++) {
            o += snprintf(sr + o, sizeof sr - (size_t)o, "%s%.0f", i ? " " : "", sat_rounds[i]);
            json_array_append_new(js, json_real(sat_rounds[i]));
        }
        printf("saturation: answer saves %.0f/s (%.1f s in %d rounds) against the bare server's "
               "%.0f req/s (%.1f s in %d rounds, alternating): ratio %.3f (target >= 0.35: %s)\n",
               sat, R[P_SATURATION].window_s, nsatr, bare, R[P_BARE].window_s, nbare, ratio,
               verdict(ratio >= 0.35));
        printf("  per round, in order: bare %s; saturation %s\n", br, sr);
        printf("  saturation errors: %llu; answer service time p99 %.2f ms with %d requests in "
               "flight; bare p99 %.2f ms\n",
               (unsigned long long)phase_errors(P_SATURATION, -1),
               ms(bench_hist_pct(&R[P_SATURATION].st.service[R_ANSWER], 0.99)), O.connections,
               ms(bench_hist_pct(&R[P_BARE].st.service[R_BARE], 0.99)));
        json_object_set_new(
            targets, "saturation",
            json_pack("{s:f,s:f,s:f,s:o,s:o,s:I,s:b}", "answers_per_s", sat, "bare_per_s", bare,
                      "ratio", ratio, "bare_rounds", jb, "saturation_rounds", js, "errors",
                      (json_int_t)phase_errors(P_SATURATION, -1), "met", ratio >= 0.35));
    }
    if (R[P_STEADY].ran) {
        const bench_hist *h = &R[P_STEADY].st.e2e[R_ANSWER];
        double p99 = ms(bench_hist_pct(h, 0.99));
        uint64_t errs = phase_errors(P_STEADY, -1) + phase_backoff_codes(P_STEADY);
        long long lost = loss_ok ? loss.lost + loss.mismatched + loss.not_submitted : -1;
        printf("steady: %llu physicians answering at once, pace %d ms (%.0f answers/s offered), "
               "%llu answer saves, %llu of them changes\n",
               (unsigned long long)have_paper, O.pace_ms, (double)have_paper * 1000.0 / O.pace_ms,
               (unsigned long long)h->count, (unsigned long long)changes);
        const bench_hist *sv = &R[P_STEADY].st.service[R_ANSWER];
        double svc99 = ms(bench_hist_pct(sv, 0.99));
        printf("  answer-save latency from due time p99 %.2f ms (target <= 25 ms: %s), p50 %.2f, "
               "p99.9 %.2f, max %.1f ms\n",
               p99, verdict(p99 <= 25.0), ms(bench_hist_pct(h, 0.5)), ms(bench_hist_pct(h, 0.999)),
               ms(h->max_us));
        printf("  of which on the wire (written -> answered) p99 %.2f ms (%s), and in the client "
               "before the write p99 %.2f ms; client loop lag max %.1f ms\n",
               svc99, verdict(svc99 <= 25.0),
               ms(bench_hist_pct(&R[P_STEADY].st.wait[R_ANSWER], 0.99)),
               ms(R[P_STEADY].st.loop_lag.max_us));
        printf("  errors in steady (any non-2xx or transport failure): %llu (target 0: %s)\n",
               (unsigned long long)errs, verdict(errs == 0));
        if (g->jpeg)
            printf("  captures accepted (202) from the paper to the submit: %llu, at the times the "
                   "server picked\n",
                   (unsigned long long)captures);
        printf("  resumes from a fresh connection: %llu ok, %llu failed, %llu returned another "
               "session, %llu answers differed from the acknowledged ones\n",
               (unsigned long long)rs_ok, (unsigned long long)rs_fail, (unsigned long long)rs_sid,
               (unsigned long long)rs_ans);
        if (O.departure_pct > 0)
            printf("  departures from the page (%d%% of physicians, twice each): %llu recorded, "
                   "%llu refused\n",
                   O.departure_pct, (unsigned long long)dep_ok, (unsigned long long)dep_fail);
        json_object_set_new(
            targets, "steady",
            json_pack("{s:I,s:i,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "physicians",
                      (json_int_t)have_paper, "pace_ms", O.pace_ms, "answer_p99_ms", p99,
                      "answer_service_p99_ms", svc99, "errors", (json_int_t)errs, "lost",
                      (json_int_t)lost, "resumes_ok", (json_int_t)rs_ok, "resume_answer_mismatches",
                      (json_int_t)rs_ans, "resume_failed", (json_int_t)rs_fail, "changes",
                      (json_int_t)changes, "met", p99 <= 25.0 && errs == 0 && lost == 0));
    }
    int lost_any = 0;
    if (loss_ok) {
        lost_any = loss.lost + loss.mismatched + loss.not_submitted > 0;
        printf("loss check against MariaDB: %lld sessions, %lld submitted (%lld not 'submitted' in "
               "MariaDB); %lld acknowledged answers checked: %lld missing, %lld different (%s); "
               "%lld of unknown fate skipped; %lld rows we never acknowledged\n",
               loss.sessions, loss.submitted, loss.not_submitted, loss.checked, loss.lost,
               loss.mismatched, verdict(!lost_any), loss.indeterminate, loss.extra);
    } else {
        printf("loss check: not made%s\n",
               aborted ? " (the run was aborted)" : " (see errors above)");
    }
    for (int gr = 0; gr < 2; gr++)
        if (size_g[gr])
            printf("physicians (%s): %llu, %llu with a paper, %llu submitted, %llu gave up\n",
                   gr ? "saturation group" : "start/steady", (unsigned long long)size_g[gr],
                   (unsigned long long)have_paper_g[gr], (unsigned long long)submitted_g[gr],
                   (unsigned long long)failed_g[gr]);

    json_t *root = json_pack(
        "{s:s,s:s,s:{s:I,s:s,s:s,s:[f,f,f],s:[f,f,f]},s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i},"
        "s:f,s:f,s:o,s:o,s:b}",
        "bench", "dkbench", "when", m.when, "machine", "nproc", (json_int_t)m.nproc, "cpu", m.cpu,
        "kernel", m.kernel, "load_start", m.load_start[0], m.load_start[1], m.load_start[2],
        "load_end", m.load_end[0], m.load_end[1], m.load_end[2], "options", "physicians",
        O.physicians, "connections", O.connections, "threads", O.threads, "pace_ms", O.pace_ms,
        "change_pct", O.change_pct, "sat_s", O.sat_s, "bare_s", O.bare_s, "rounds", O.rounds,
        "start_window_s", O.start_window_s, "bare_loops", O.bare_loops, "seconds", run_s,
        "client_cpu_s", cpu_s, "phases", phases, "targets", targets, "aborted", aborted);
    json_object_set_new(root, "scenario", json_string(O.scenario));
    if (loss_ok)
        json_object_set_new(
            root, "loss",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sessions", (json_int_t)loss.sessions,
                      "submitted", (json_int_t)loss.submitted, "not_submitted",
                      (json_int_t)loss.not_submitted, "checked", (json_int_t)loss.checked, "lost",
                      (json_int_t)loss.lost, "mismatched", (json_int_t)loss.mismatched,
                      "indeterminate", (json_int_t)loss.indeterminate, "extra",
                      (json_int_t)loss.extra));
    char *js = json_dumps(root, JSON_COMPACT);
    printf("DKBENCH_JSON %s\n", js);
    if (O.json_out) {
        FILE *f = fopen(O.json_out, "w");
        if (f) {
            fprintf(f, "%s\n", js);
            fclose(f);
        } else {
            fprintf(stderr, "dkbench: cannot write %s: %s\n", O.json_out, strerror(errno));
        }
    }
    free(js);
    json_decref(root);
    for (int t = 0; t < O.threads; t++) {
        free(g->threads[t].phys);
        free(g->threads[t].stats);
    }
    free(g->threads);
    free(g->phys);
    free(g->jpeg);
    free(g);
    bench_g = NULL;
    if (aborted) return 1;
    return lost_any ? 3 : 0;
}

/* ---- the other commands ------------------------------------------------------------------------
 */

static int cmd_setup(const dk_config *cfg, int argc, char **argv)
{
    if (parse_opts(argc, argv)) return 2;
    if (O.physicians < 1 || O.first_seq < 10000 || O.first_seq + O.physicians > 100000) {
        fprintf(stderr,
                "dkbench setup: --first must be >= 10000 and --first + --physicians <= 100000\n");
        return 2;
    }
    return bench_setup(cfg, O.physicians, O.first_seq, O.photo);
}

static int cmd_reset(const dk_config *cfg, int argc, char **argv)
{
    if (parse_opts(argc, argv)) return 2;
    return bench_reset(cfg, O.first_seq, O.physicians);
}

static int cmd_bare(const dk_config *cfg, int argc, char **argv)
{
    (void)cfg;
    int port = 0, loops = 0;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--loops"))
            loops = atoi(argv[i + 1]);
        else
            return 2;
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: dkbench bare --port P [--loops L]\n");
        return 2;
    }
    return bench_bare_main(port, loops);
}

static const struct {
    const char *name;
    int (*fn)(const dk_config *cfg, int argc, char **argv);
    const char *help;
} commands[] = {
    {"setup", cmd_setup,
     "setup [--physicians N] [--first S] [--photo JPEG]   accounts, enrolments; then reset"},
    {"reset", cmd_reset,
     "reset [--first S]                     forget the bench physicians' sittings"},
    {"run", cmd_run, "run [options] (run --help)            the scenarios and the report"},
    {"bare", cmd_bare, "bare --port P [--loops L]             the bare ceiling server"},
};

int main(int argc, char **argv)
{
    if (argc < 2) goto usage;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        dk_config *cfg = NULL;
        dk_error err = {0};
        if (dk_config_load(&cfg, NULL, &err)) {
            fprintf(stderr, "dkbench: %s\n", err.msg);
            return 2;
        }
        dk_log_level lvl;
        if (dk_log_parse_level(dk_config_str(cfg, "log_level"), &lvl) == 0) dk_log_set_level(lvl);
        int rc = commands[i].fn(cfg, argc - 2, argv + 2);
        dk_config_free(cfg);
        return rc;
    }
usage:
    fprintf(stderr, "usage: dkbench COMMAND  (settings from the DK_* environment, as examd)\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, "  dkbench %s\n", commands[i].help);
    return 2;
}
