/* qb_bench.c - how fast the question bank draws papers, and what the index costs in memory.
 *
 * Builds the synthetic demo bank in memory (about 20,000 questions by default: every
 * category x paper, all types and groups), then on one thread draws 100-question papers
 * round-robin over the eight blueprints for a fixed time, and measures the other per-paper
 * operations (client JSON, encode, decode, score). Prints what it measured and the machine;
 * never fails on a time. Usage: qbbench [--questions N] [--seconds S] */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "qb_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void machine(void)
{
    char model[256] = "unknown CPU", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f) fclose(f);
    struct utsname u;
    uname(&u);
    printf("machine: %s, %s %s %s\n", model, u.sysname, u.release, u.machine);
#if defined(__SANITIZE_ADDRESS__)
    printf("WARNING: built with AddressSanitizer; configure without -DDK_SANITIZE for figures\n");
#endif
}

typedef struct bench_bp {
    const char *category, *paper;
} bench_bp;

int main(int argc, char **argv)
{
    long target = 20000;
    double seconds = 3.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--questions")) target = atol(argv[i + 1]);
        if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    }
    machine();

    /* the bank: 40 generated sections, so per_section = target / 40 */
    qb_bp_def bps[QB_NCATS * QB_NPAPERS];
    size_t nbp = qb_gen_demo_blueprints(bps, QB_NCATS * QB_NPAPERS);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    int per = (int)(target / 40 > 1 ? target / 40 : 1);
    qb_gen_demo(mem, per, 7);
    fclose(mem);
    double t0 = now();
    size_t bad = 0;
    qb_index *idx = qb_index_from_jsonl(buf, len, bps, nbp, 1, &bad);
    double t_build = now() - t0;
    free(buf);
    size_t nq = qb_index_question_count(idx);
    printf("bank: %zu questions (%zu bad lines), %zu groups, validated and indexed in %.2f s\n", nq,
           bad, idx->ngroups, t_build);
    printf("index memory: %zu bytes = %.0f bytes per question (texts serialised as JSON "
           "included)\n",
           qb_index_memory(idx), (double)qb_index_memory(idx) / (double)nq);

    const qb_blueprint *list[QB_NCATS * QB_NPAPERS];
    int nlist = 0;
    for (int c = 0; c < QB_NCATS; c++)
        for (int p = 0; p < QB_NPAPERS; p++) {
            const qb_blueprint *b = qb_blueprint_find(idx, qb_category_names[c], qb_paper_names[p]);
            if (b && b->satisfiable) list[nlist++] = b;
        }
    if (!nlist) {
        fprintf(stderr, "qbbench: no satisfiable blueprint\n");
        return 1;
    }

    /* draws */
    long draws = 0, questions = 0;
    uint64_t seed = 1;
    t0 = now();
    double t;
    do {
        for (int k = 0; k < 1000; k++) {
            const qb_blueprint *b = list[draws % nlist];
            qb_paper *p;
            dk_error err;
            if (qb_draw(idx, b->category, b->paper, seed++, &p, &err)) {
                fprintf(stderr, "qbbench: draw failed: %s\n", err.msg);
                return 1;
            }
            questions += qb_paper_count(p);
            qb_paper_free(p);
            draws++;
        }
        t = now() - t0;
    } while (t < seconds);
    printf("draw: %ld papers in %.2f s on one thread = %.0f papers/s (%.2f us each, %.1f "
           "questions per paper)\n",
           draws, t, (double)draws / t, t * 1e6 / (double)draws, (double)questions / (double)draws);

    /* the other per-paper operations, on one paper per blueprint */
    struct evbuffer *eb = evbuffer_new();
    long ops = 0;
    size_t json_bytes = 0, enc_bytes = 0;
    double t_json = 0, t_enc = 0, t_dec = 0, t_score = 0;
    for (int rep = 0; rep < 2000; rep++) {
        const qb_blueprint *b = list[rep % nlist];
        qb_paper *p, *d;
        dk_error err;
        qb_draw(idx, b->category, b->paper, (uint64_t)rep, &p, &err);
        double a = now();
        qb_paper_client_json(idx, p, eb);
        double bt = now();
        json_bytes += evbuffer_get_length(eb);
        evbuffer_drain(eb, evbuffer_get_length(eb));
        size_t elen;
        char *enc = qb_paper_encode(idx, p, &elen);
        double c = now();
        qb_paper_decode(idx, enc, elen, &d, &err);
        double dt = now();
        const char *choices[QB_MAX_PAPER];
        for (int i = 0; i < qb_paper_count(p); i++)
            choices[i] = "A";
        int score, total;
        qb_score(idx, d, choices, &score, &total);
        double e = now();
        t_json += bt - a;
        t_enc += c - bt;
        t_dec += dt - c;
        t_score += e - dt;
        enc_bytes += elen;
        free(enc);
        qb_paper_free(d);
        qb_paper_free(p);
        ops++;
    }
    evbuffer_free(eb);
    printf("client JSON: %.1f us per paper (%zu bytes), encode %.2f us (%zu bytes), decode %.2f "
           "us, score %.2f us\n",
           t_json * 1e6 / (double)ops, json_bytes / (size_t)ops, t_enc * 1e6 / (double)ops,
           enc_bytes / (size_t)ops, t_dec * 1e6 / (double)ops, t_score * 1e6 / (double)ops);
    for (size_t i = 0; i < nbp; i++)
        qb_bp_clear(&bps[i]);
    qb_index_unref(idx);
    return 0;
}
