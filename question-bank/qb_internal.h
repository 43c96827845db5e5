/* qb_internal.h - what the files of question-bank/ share and nothing outside uses (the unit
 * tests and the benchmark include it to build an index without a database).
 *
 * A question travels as a qb_rec (one import line, one generated question or one database
 * row; the record owns its strings) into qb_index_build(), which lays out the immutable
 * index below: flat arrays and one string arena, no pointers inside. */
#ifndef QB_INTERNAL_H
#define QB_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "question_bank.h"

#define QB_NCATS 4
#define QB_NPAPERS 2
#define QB_NONE UINT32_MAX
#define QB_MAX_TEXT 4000  /* stem and case, in characters (code points) */
#define QB_MAX_SECTION 50 /* section name, in characters */
#define QB_MAX_ID 64      /* id and group id, ASCII */

extern const char *const qb_category_names[QB_NCATS]; /* 临床 中医 口腔 公共卫生 */
extern const char *const qb_paper_names[QB_NPAPERS];  /* 公共知识 业务水平 */
extern const char *const qb_type_names[QB_NTYPES];    /* A1 A2 A3 A4 B1 X */
int qb_category_find(const char *s);                  /* index or -1 */
int qb_paper_find(const char *s);
int qb_type_find(const char *s);
int qb_type_is_group(int type);                /* A3 A4 B1: drawn whole */
int qb_type_has_case(int type);                /* A3 A4 */
int qb_section_is_public(const char *section); /* 卫生法规 医学伦理学 医学心理学 */

/* ---- records ------------------------------------------------------------------------ */

typedef struct qb_rec {
    long line; /* import line (0 for database rows) */
    char *id, *section, *stem, *case_text, *group, *explanation; /* case/group/expl. may be NULL */
    char *opt[QB_MAX_OPTIONS];
    int nopt;
    int category, paper, type, difficulty, group_pos;
    int retired;  /* loaded for the papers that hold it, never drawn again */
    uint16_t key; /* bit i = option letter 'A'+i is correct */
} qb_rec;

void qb_rec_clear(qb_rec *r); /* frees the strings; the struct itself is the caller's */
/* The answer letters of a key mask ("ACD"), NUL-terminated in out[QB_MAX_OPTIONS + 1]. */
void qb_key_letters(uint16_t key, char *out);

/* ---- the validator (qb_validate.c) ---------------------------------------------------- */

typedef struct qb_violation {
    long line;
    const char *reason; /* check_format.py keyword, e.g. "duplicate-id" */
    char detail[200];
} qb_violation;

typedef struct qb_validator qb_validator;
qb_validator *qb_validator_new(void);
void qb_validator_free(qb_validator *v);
/* Checks one line (without its '\n'). Lines come in order, numbered from 1. */
void qb_validator_line(qb_validator *v, long lineno, const char *buf, size_t len);
/* Whole-file rules (singleton groups); then violations are sorted by line. */
void qb_validator_finish(qb_validator *v);
/* Adds a violation found outside (e.g. an id already in the bank); re-sorts. */
void qb_validator_report(qb_validator *v, long line, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Drops every violation of line (a line the caller leaves out on purpose). */
void qb_validator_forgive(qb_validator *v, long line);
size_t qb_validator_nviolations(const qb_validator *v);
const qb_violation *qb_validator_violation(const qb_validator *v, size_t i);
/* Records of lines that parsed far enough to hold one, in line order; qb_validator_bad()
 * says whether a line has a violation. The validator owns them. */
size_t qb_validator_nrecs(const qb_validator *v);
qb_rec *qb_validator_rec(qb_validator *v, size_t i);
int qb_validator_bad(const qb_validator *v, long line);
/* Content hash of a question as check_format.py compares them (category and normalised
 * case, stem and sorted option texts). */
uint64_t qb_rec_content_hash(const qb_rec *r);
/* The field a reason is about (out[32]) and its Chinese text (the console's report). */
void qb_reason_info(const char *reason, const char *detail, char field[32], const char **text);
/* Adds a known bank question's content hash, so a file line repeating it is reported. */
void qb_validator_known_content(qb_validator *v, uint64_t h, const char *id);

/* ---- text helpers (qb_util.c) --------------------------------------------------------- */

int qb_utf8_valid(const char *s, size_t n);
size_t qb_utf8_chars(const char *s);
int qb_is_blank(const char *s);                          /* empty or only (Unicode) white space */
void qb_strip(const char *s, const char **b, size_t *n); /* Unicode strip, as Python does */
int qb_has_image_ref(const char *s);
uint64_t qb_hash_bytes(uint64_t h, const void *p, size_t n);
uint64_t qb_hash_norm(uint64_t h, const char *s); /* NFKC-ish, lower, no space/punct */

/* Open-addressing map from strings to uint32 (strings are borrowed, must outlive it). */
typedef struct qb_strmap {
    const char **keys;
    uint32_t *vals;
    size_t cap, n;
} qb_strmap;
void qb_strmap_init(qb_strmap *m, size_t hint);
void qb_strmap_free(qb_strmap *m);
uint32_t qb_strmap_get(const qb_strmap *m, const char *k, size_t klen); /* QB_NONE if absent */
void qb_strmap_put(qb_strmap *m, const char *k, uint32_t v);

/* ---- blueprints (qb_blueprint.c) ------------------------------------------------------- */

typedef struct qb_bp_row {
    char *section;
    unsigned types;
    int count;
} qb_bp_row;

typedef struct qb_bp_def {
    int category, paper;
    int question_count, duration_min, pass_mark;
    size_t nrows;
    qb_bp_row rows[QB_MAX_BP_SECTIONS];
} qb_bp_def;

/* Parses and checks one blueprint object {"category","paper","question_count",
 * "duration_min","pass_mark","sections":[{"section","count","type"?}]}. */
int qb_bp_parse(json_t *obj, qb_bp_def *out, dk_error *err);
/* The "sections" array only (as stored in qb_blueprint.sections). */
int qb_bp_parse_sections(json_t *arr, qb_bp_def *bp, dk_error *err);
json_t *qb_bp_sections_json(const qb_bp_def *bp);
void qb_bp_clear(qb_bp_def *bp);
/* "A1" / "A3+A4" / "" for 0 (every type), into out[32]. */
void qb_types_str(unsigned types, char *out);

/* ---- the index (qb_index.c) ------------------------------------------------------------- */

typedef struct qb_q {
    uint32_t id;   /* arena offset, NUL-terminated */
    uint32_t frag; /* arena: "type":..,"section":..,"group":..,"stem":.. (no braces) */
    uint32_t frag_len;
    uint32_t opt;   /* first of nopt entries in idx->opts */
    uint32_t group; /* index in idx->groups or QB_NONE */
    uint16_t key;
    uint16_t section; /* index in idx->sections */
    uint8_t type, nopt, category, paper;
    uint8_t difficulty;
    uint8_t retired; /* in no pool: old papers still decode, render and score it */
} qb_q;

typedef struct qb_span {
    uint32_t off, len;
} qb_span;

typedef struct qb_g {
    uint32_t id;    /* arena offset */
    uint32_t first; /* first member in idx->qs; members are consecutive */
    uint32_t frag;  /* arena: "id":..,"type":..[,"case":..] (no braces) */
    uint32_t frag_len;
    uint16_t size;
    uint8_t type;
} qb_g;

typedef struct qb_pool { /* the questions one blueprint row draws from */
    uint32_t *singles;   /* question indexes */
    uint32_t *groups;    /* group indexes */
    uint32_t nsingles, ngroups;
    uint32_t nquestions;              /* nsingles + members of the groups */
    uint32_t gcount_base, gcount_rem; /* groups per draw: base + (r < rem of nquestions) */
    int count;
    int feasible;
} qb_pool;

typedef struct qb_bp_entry {
    qb_blueprint pub;
    qb_bp_def def;
    qb_bp_section rows[QB_MAX_BP_SECTIONS];
    qb_pool pools[QB_MAX_BP_SECTIONS];
    char why[512];
    int present;
} qb_bp_entry;

struct qb_index {
    atomic_int refs;
    uint64_t version;
    uint64_t serial; /* unique per build: papers remember which index they are of */
    qb_q *qs;
    size_t nq;
    qb_g *groups;
    size_t ngroups;
    qb_span *opts; /* option texts as JSON string literals */
    size_t nopts;
    char *arena;
    size_t arena_len;
    char **sections; /* interned section names */
    size_t nsections;
    uint16_t *section_cp; /* category * QB_NPAPERS + paper of each section */
    qb_strmap ids;
    qb_bp_entry bps[QB_NCATS * QB_NPAPERS];
    size_t memory;
};

/* ---- papers (qb_draw.c, qb_serve.c) --------------------------------------------------- */

typedef struct qb_item {
    uint32_t q; /* index in idx->qs */
    uint8_t nopt;
    uint8_t order[QB_MAX_OPTIONS]; /* display position -> original option */
} qb_item;

struct qb_paper {
    uint64_t serial; /* of the index it belongs to */
    uint64_t seed;
    int category, paper, count;
    qb_item items[];
};

/* The item of question no (1-based) if p belongs to idx, else NULL. */
const qb_item *qb_paper_item(const qb_index *idx, const qb_paper *p, int no);

/* Builds an index from records (sorted here; strings copied, recs left to the caller)
 * and blueprints. Used by qb_index_load, the tests and the benchmark. */
qb_index *qb_index_build(qb_rec *recs, size_t n, const qb_bp_def *bps, size_t nbp,
                         uint64_t version);
/* Validates JSON Lines held in memory and builds an index of the good lines (tests,
 * benchmark). *nbad (if not NULL) gets the number of lines with violations. */
qb_index *qb_index_from_jsonl(const char *buf, size_t len, const qb_bp_def *bps, size_t nbp,
                              uint64_t version, size_t *nbad);
/* qb_index_load_with in the caller's open transaction (its own writes seen; nothing
 * committed). bps NULL: the bank's blueprints. */
int qb_index_load_in_txn(MYSQL *db, const qb_bp_def *bps, size_t nbp, qb_index **out,
                         dk_error *err);
/* qb_index_load with the blueprints given instead of the bank's (bps NULL: the bank's). */
int qb_index_load_with(MYSQL *db, const qb_bp_def *bps, size_t nbp, qb_index **out, dk_error *err);
static inline const char *qb_arena(const qb_index *idx, uint32_t off)
{
    return idx->arena + off;
}

/* ---- SQL text for multi-row INSERTs (qb_stats.c; qb_sim.c uses it too) ---------------------- */

typedef struct qb_sqlbuf {
    char *s;
    size_t len, cap;
} qb_sqlbuf;
void qb_sb_cat(qb_sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qb_sb_str(qb_sqlbuf *b, MYSQL *db, const char *s); /* quoted and escaped */
int qb_sb_run(qb_sqlbuf *b, MYSQL *db, dk_error *err);  /* runs and empties b */

/* ---- synthetic sittings (qb_sim.c): the demo's finished window and the benchmark --------- */

/* For every enrolment of cycle_id with a procedure and no session: the papers of its
 * procedure drawn from idx and answered by a simulated physician, stored as submitted
 * sittings (see qb_sim.c). Deterministic in seed. Blocking. */
int qb_sim_sittings(MYSQL *db, const qb_index *idx, long long cycle_id, uint64_t seed,
                    long *sessions, long long *answers, dk_error *err);

/* ---- the synthetic bank (qb_gen.c) --------------------------------------------------------- */

/* Writes the demo bank as import lines: every category x paper, its sections, all types.
 * per_section questions per section (about), deterministic in seed. Returns lines. */
long qb_gen_demo(FILE *out, int per_section, uint64_t seed);
/* The demo blueprints that match the generator (the contents of deploy/demo/blueprints.json). */
size_t qb_gen_demo_blueprints(qb_bp_def *out, size_t max);

/* ---- database tools (qb_import.c, qb_blueprint.c); blocking ------------------------------ */

int qb_bank_version_bump(MYSQL *db, dk_error *err);
/* Locks the bank's version row (the first statement of a publish's transaction): two
 * publishes run one after the other, and the second's reads (READ COMMITTED) see the first's
 * commit, so neither checks feasibility against a bank lacking the other's changes. */
int qb_bank_lock(MYSQL *db, dk_error *err);
#define QB_IMPORT_SKIP_BAD 1u        /* import the good lines, report the bad ones */
#define QB_IMPORT_IGNORE_EXISTING 2u /* lines whose id the bank has are left out, not errors */
/* Checks every line of path (and ids/questions against the bank), prints each violation
 * to report as "path:LINE: reason: detail", then imports in one transaction: all lines,
 * or with QB_IMPORT_SKIP_BAD the good ones (whole groups only). db NULL: check only.
 * *imported = questions written (or that would be), *existing = lines left out. */
int qb_import_file(MYSQL *db, const char *path, unsigned flags, FILE *report, long *imported,
                   long *bad_lines, long *existing, dk_error *err);
/* (qb_console.c) DK_ENOTFOUND, or DK_ECONFLICT "题目 X 当前状态为已退役，<what>" unless id is
 * live; group: its group id, "" for a single question. */
int qb_question_live(MYSQL *db, const char *id, const char *what, char group[QB_MAX_ID + 1],
                     dk_error *err);
/* Writes one blueprint (insert or replace) in the caller's transaction. */
int qb_bp_store(MYSQL *db, const qb_bp_def *bp, dk_error *err);
int qb_blueprint_store_file(MYSQL *db, const char *path, int *stored, dk_error *err);
int qb_blueprint_load_all(MYSQL *db, qb_bp_def **out, size_t *n, dk_error *err);
void qb_blueprint_print(const qb_bp_def *bp, FILE *out);
/* Writes s padded with spaces to cols display columns (CJK characters take two). */
void qb_fpad(FILE *f, const char *s, int cols);

#endif
