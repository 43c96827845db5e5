/* qbank.c - the question-bank tool: import, blueprint set/show, stats, draw, gen-demo,
 * analyse (item statistics of a cycle) and sim-sittings (synthetic sittings).
 *
 * Commands are rows of a table; each parses its own arguments. Database commands read
 * the same configuration as the servers (dk_config: $DK_CONFIG, DK_MYSQL_* overrides).
 * Exit codes: 0 done, 1 failed (bad lines, database errors), 2 the bank cannot satisfy
 * the blueprint (draw), 64 bad usage. Violations go to stderr as FILE:LINE: reason. */
#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_config.h"
#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

#define EXIT_UNSATISFIABLE 2
#define EXIT_USAGE 64

typedef struct cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} cmd;

static int usage(void);

/* ---- helpers ------------------------------------------------------------------------------ */

static MYSQL *connect_db(void)
{
    dk_config *cfg;
    dk_error err = {0};
    if (dk_config_load(&cfg, NULL, &err)) {
        fprintf(stderr, "qbank: configuration: %s\n", err.msg);
        return NULL;
    }
    MYSQL *db = dk_mysql_connect(cfg, &err);
    if (!db)
        fprintf(stderr, "qbank: cannot reach MariaDB at %s:%lld: %s\n",
                dk_config_str(cfg, "mysql_host"), dk_config_int(cfg, "mysql_port"), err.msg);
    dk_config_free(cfg);
    return db;
}

static qb_index *load_index(MYSQL *db)
{
    qb_index *idx;
    dk_error err = {0};
    if (qb_index_load(db, &idx, &err)) {
        fprintf(stderr, "qbank: loading the bank: %s\n", err.msg);
        return NULL;
    }
    return idx;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* ---- import --------------------------------------------------------------------------------- */

static int cmd_import(int argc, char **argv)
{
    const char *path = NULL;
    int dry = 0;
    unsigned flags = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--skip-bad"))
            flags |= QB_IMPORT_SKIP_BAD;
        else if (!strcmp(argv[i], "--ignore-existing"))
            flags |= QB_IMPORT_IGNORE_EXISTING;
        else if (!strcmp(argv[i], "--dry-run"))
            dry = 1;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            return usage();
    }
    if (!path) return usage();
    MYSQL *db = dry ? NULL : connect_db();
    if (!dry && !db) return 1;
    long imported = 0, bad = 0, existing = 0;
    dk_error err = {0};
    int rc = qb_import_file(db, path, flags, stderr, &imported, &bad, &existing, &err);
    dk_mysql_close(db);
    if (rc) {
        fprintf(stderr, "qbank: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "qbank: %s: %ld questions %s, %ld bad lines, %ld already in the bank\n", path,
            imported, dry ? "valid (dry run, nothing written)" : "imported", bad, existing);
    return 0;
}

/* ---- blueprints ------------------------------------------------------------------------------ */

static int cmd_blueprint(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[0], "set")) {
        MYSQL *db = connect_db();
        if (!db) return 1;
        int stored;
        dk_error err = {0};
        int rc = qb_blueprint_store_file(db, argv[1], &stored, &err);
        dk_mysql_close(db);
        if (rc) {
            fprintf(stderr, "qbank: %s\n", err.msg);
            return 1;
        }
        fprintf(stderr, "qbank: %d blueprints stored from %s\n", stored, argv[1]);
        return 0;
    }
    if (argc == 1 && !strcmp(argv[0], "show")) {
        MYSQL *db = connect_db();
        if (!db) return 1;
        qb_bp_def *bps;
        size_t n;
        dk_error err = {0};
        int rc = qb_blueprint_load_all(db, &bps, &n, &err);
        dk_mysql_close(db);
        if (rc) {
            fprintf(stderr, "qbank: %s\n", err.msg);
            return 1;
        }
        if (!n) printf("no blueprints\n");
        for (size_t i = 0; i < n; i++) {
            qb_blueprint_print(&bps[i], stdout);
            qb_bp_clear(&bps[i]);
        }
        free(bps);
        return 0;
    }
    return usage();
}

/* ---- stats ------------------------------------------------------------------------------------
 */

static int cmp_section(const void *a, const void *b, void *ctx)
{
    const qb_index *idx = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (idx->section_cp[x] != idx->section_cp[y]) return idx->section_cp[x] - idx->section_cp[y];
    return strcmp(idx->sections[x], idx->sections[y]);
}

static int cmd_stats(int argc, char **argv)
{
    (void)argv;
    if (argc) return usage();
    MYSQL *db = connect_db();
    if (!db) return 1;
    qb_index *idx = load_index(db);
    dk_mysql_close(db);
    if (!idx) return 1;
    size_t ns = idx->nsections;
    long(*count)[QB_NTYPES] = dk_calloc(ns ? ns : 1, sizeof *count);
    for (size_t i = 0; i < idx->nq; i++)
        count[idx->qs[i].section][idx->qs[i].type]++;
    size_t *order = dk_malloc((ns ? ns : 1) * sizeof *order);
    for (size_t i = 0; i < ns; i++)
        order[i] = i;
    qsort_r(order, ns, sizeof *order, cmp_section, idx);
    printf("bank version %llu: %zu questions, %zu groups, index %zu bytes (%zu per question)\n\n",
           (unsigned long long)idx->version, idx->nq, idx->ngroups, idx->memory,
           idx->nq ? idx->memory / idx->nq : 0);
    qb_fpad(stdout, "category", 10);
    qb_fpad(stdout, "paper", 10);
    qb_fpad(stdout, "section", 22);
    for (int t = 0; t < QB_NTYPES; t++)
        printf("%6s", qb_type_names[t]);
    printf("%7s\n", "total");
    for (size_t k = 0; k < ns; k++) {
        size_t s = order[k];
        long total = 0;
        qb_fpad(stdout, qb_category_names[idx->section_cp[s] / QB_NPAPERS], 10);
        qb_fpad(stdout, qb_paper_names[idx->section_cp[s] % QB_NPAPERS], 10);
        qb_fpad(stdout, idx->sections[s], 22);
        for (int t = 0; t < QB_NTYPES; t++) {
            printf("%6ld", count[s][t]);
            total += count[s][t];
        }
        printf("%7ld\n", total);
    }
    printf("\nblueprints:\n");
    for (int c = 0; c < QB_NCATS; c++)
        for (int p = 0; p < QB_NPAPERS; p++) {
            const qb_blueprint *bp =
                qb_blueprint_find(idx, qb_category_names[c], qb_paper_names[p]);
            printf("  %s %s: ", qb_category_names[c], qb_paper_names[p]);
            if (!bp)
                printf("no blueprint\n");
            else if (bp->satisfiable)
                printf("can be drawn (%d questions, %d minutes, pass mark %d)\n",
                       bp->question_count, bp->duration_min, bp->pass_mark);
            else
                printf("CANNOT be drawn: %s\n", bp->why);
        }
    free(order);
    free(count);
    qb_index_unref(idx);
    return 0;
}

/* ---- draw ---------------------------------------------------------------------------------------
 */

static int cmd_draw(int argc, char **argv)
{
    const char *cat = NULL, *paper = NULL, *seed_s = NULL;
    int client = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--category") && i + 1 < argc)
            cat = argv[++i];
        else if (!strcmp(argv[i], "--paper") && i + 1 < argc)
            paper = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed_s = argv[++i];
        else if (!strcmp(argv[i], "--client"))
            client = 1;
        else
            return usage();
    }
    uint64_t seed;
    if (!cat || !paper || !seed_s) return usage();
    if (parse_u64(seed_s, &seed)) {
        fprintf(stderr, "qbank: --seed takes an unsigned 64-bit number\n");
        return EXIT_USAGE;
    }
    MYSQL *db = connect_db();
    if (!db) return 1;
    qb_index *idx = load_index(db);
    dk_mysql_close(db);
    if (!idx) return 1;
    qb_paper *p;
    dk_error err = {0};
    int rc = qb_draw(idx, cat, paper, seed, &p, &err);
    if (rc) {
        fprintf(stderr, "qbank: %s\n", err.msg);
        qb_index_unref(idx);
        return rc == DK_ECONFLICT ? EXIT_UNSATISFIABLE : 1;
    }
    if (client) {
        struct evbuffer *b = evbuffer_new();
        qb_paper_client_json(idx, p, b);
        evbuffer_write(b, 1);
        while (evbuffer_get_length(b))
            evbuffer_write(b, 1);
        evbuffer_free(b);
        printf("\n");
    } else {
        printf("{\"category\":\"%s\",\"paper\":\"%s\",\"seed\":%llu,\"questions\":[",
               qb_paper_category(p), qb_paper_paper(p), (unsigned long long)seed);
        for (int no = 1; no <= qb_paper_count(p); no++) {
            char order[QB_MAX_OPTIONS + 1];
            qb_paper_question_order(p, no, order);
            printf("%s\n{\"no\":%d,\"id\":\"%s\",\"options\":[", no > 1 ? "," : "", no,
                   qb_paper_question_id(idx, p, no));
            for (char *o = order; *o; o++)
                printf("%s\"%c\"", o > order ? "," : "", *o);
            printf("]}");
        }
        printf("\n]}\n");
    }
    qb_paper_free(p);
    qb_index_unref(idx);
    return 0;
}

/* ---- gen-demo
 * ------------------------------------------------------------------------------------ */

static int write_blueprints(const char *path)
{
    qb_bp_def bps[QB_NCATS * QB_NPAPERS];
    size_t n = qb_gen_demo_blueprints(bps, QB_NCATS * QB_NPAPERS);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o =
            json_pack("{s:s, s:s, s:i, s:i, s:i, s:o}", "category",
                      qb_category_names[bps[i].category], "paper", qb_paper_names[bps[i].paper],
                      "question_count", bps[i].question_count, "duration_min", bps[i].duration_min,
                      "pass_mark", bps[i].pass_mark, "sections", qb_bp_sections_json(&bps[i]));
        json_array_append_new(list, o);
        qb_bp_clear(&bps[i]);
    }
    json_t *root = json_pack("{s:o}", "blueprints", list);
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (rc) fprintf(stderr, "qbank: cannot write %s\n", path);
    return rc ? 1 : 0;
}

static int cmd_gen_demo(int argc, char **argv)
{
    const char *out = NULL, *bp_out = NULL;
    uint64_t per = 120, seed = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--blueprints") && i + 1 < argc)
            bp_out = argv[++i];
        else if (!strcmp(argv[i], "--per-section") && i + 1 < argc) {
            if (parse_u64(argv[++i], &per) || per < 1 || per > 100000) return usage();
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (parse_u64(argv[++i], &seed)) return usage();
        } else
            return usage();
    }
    if (!out && !bp_out) return usage();
    if (out) {
        FILE *f = strcmp(out, "-") ? fopen(out, "w") : stdout;
        if (!f) {
            fprintf(stderr, "qbank: cannot write %s: %s\n", out, strerror(errno));
            return 1;
        }
        long n = qb_gen_demo(f, (int)per, seed);
        if ((f != stdout && fclose(f)) || (f == stdout && fflush(f))) {
            fprintf(stderr, "qbank: writing %s failed\n", out);
            return 1;
        }
        fprintf(stderr, "qbank: %ld demo questions written to %s\n", n, out);
    }
    return bp_out ? write_blueprints(bp_out) : 0;
}

/* ---- item analysis and synthetic sittings ----------------------------------------------------- */

static int parse_cycle(int argc, char **argv, long long *cycle, uint64_t *num, const char *numopt)
{
    *cycle = 0;
    for (int i = 0; i < argc; i++) {
        uint64_t v;
        if (!strcmp(argv[i], "--cycle") && i + 1 < argc && !parse_u64(argv[i + 1], &v) && v)
            *cycle = (long long)v, i++;
        else if (numopt && !strcmp(argv[i], numopt) && i + 1 < argc && !parse_u64(argv[i + 1], num))
            i++;
        else
            return -1;
    }
    return *cycle ? 0 : -1;
}

/* qbank analyse --cycle ID [--min-n N]: the same computation as admind's analysis pool,
 * run here (it is queued as a run of the system, then computed at once). */
static int cmd_analyse(int argc, char **argv)
{
    long long cycle;
    uint64_t min_n = QB_STATS_MIN_N;
    if (parse_cycle(argc, argv, &cycle, &min_n, "--min-n") || min_n < 1 || min_n > 100000)
        return usage();
    MYSQL *db = connect_db();
    if (!db) return 1;
    dk_error err = {0};
    long long run;
    qb_stats_summary sum;
    int rc = qb_stats_queue(db, cycle, 0, (int)min_n, &run, &err);
    if (!rc) rc = qb_stats_run(db, run, &sum, &err);
    dk_mysql_close(db);
    if (rc) {
        fprintf(stderr, "qbank: analyse: %s\n", err.msg);
        return 1;
    }
    printf("run %lld: %ld sittings, %lld answers, %ld papers, %ld questions, %ld flagged, "
           "%lld ms\n",
           run, sum.sessions, sum.answers, sum.papers, sum.questions, sum.flagged, sum.ms);
    return 0;
}

/* qbank sim-sittings --cycle ID [--seed S]: synthetic sittings (demo, benchmark). */
static int cmd_sim(int argc, char **argv)
{
    long long cycle;
    uint64_t seed = 1;
    if (parse_cycle(argc, argv, &cycle, &seed, "--seed")) return usage();
    MYSQL *db = connect_db();
    if (!db) return 1;
    qb_index *idx = load_index(db);
    if (!idx) {
        dk_mysql_close(db);
        return 1;
    }
    dk_error err = {0};
    long n;
    long long answers;
    int rc = qb_sim_sittings(db, idx, cycle, seed, &n, &answers, &err);
    qb_index_unref(idx);
    dk_mysql_close(db);
    if (rc) {
        fprintf(stderr, "qbank: sim-sittings: %s\n", err.msg);
        return rc == DK_ECONFLICT ? EXIT_UNSATISFIABLE : 1;
    }
    printf("%ld sittings, %lld answers written\n", n, answers);
    return 0;
}

/* ---- the table
 * ----------------------------------------------------------------------------------- */

static const cmd commands[] = {
    {"import", cmd_import, "import FILE [--skip-bad] [--ignore-existing] [--dry-run]"},
    {"blueprint", cmd_blueprint, "blueprint set FILE.json | blueprint show"},
    {"stats", cmd_stats, "stats"},
    {"draw", cmd_draw, "draw --category C --paper P --seed N [--client]"},
    {"gen-demo", cmd_gen_demo,
     "gen-demo --out FILE [--per-section N] [--seed S] [--blueprints FILE.json]"},
    {"analyse", cmd_analyse, "analyse --cycle ID [--min-n N]"},
    {"sim-sittings", cmd_sim, "sim-sittings --cycle ID [--seed S]"},
};

static int usage(void)
{
    fprintf(stderr, "usage:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, "  qbank %s\n", commands[i].usage);
    fprintf(stderr, "configuration: $DK_CONFIG and DK_MYSQL_HOST, DK_MYSQL_PORT, ... as the "
                    "servers\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 2, argv + 2);
    return usage();
}
