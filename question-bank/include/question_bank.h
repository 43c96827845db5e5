/* question_bank.h - the question bank: an immutable in-memory index of the questions and
 * blueprints, the paper draw, the client's view of a paper, and scoring.
 *
 * This header is the module's whole contract. Everything here is thread-safe: a qb_index
 * is immutable once built and refcounted, so any number of threads may draw from it
 * while a database thread builds the next one and qb_bank_swap() publishes it. Only
 * qb_index_load() blocks (it reads MariaDB); every other call is pure CPU and may run
 * on an event loop. Answer keys never leave this module: the only way to use them is
 * qb_score(). Errors follow dk_err.h: 0 or a negative dk_err code with *err filled. */
#ifndef QUESTION_BANK_H
#define QUESTION_BANK_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "dk_err.h"

struct evbuffer;

#define QB_MAX_OPTIONS 10     /* options of one question: A..J */
#define QB_MAX_PAPER 500      /* questions of one paper (blueprint question_count) */
#define QB_MAX_BP_SECTIONS 32 /* rows of one blueprint */
#define QB_CHOICE_MAX 8       /* size of a normalised choice buffer, NUL included */

typedef struct qb_index qb_index;
typedef struct qb_bank qb_bank;
typedef struct qb_paper qb_paper;

/* ---- the index -------------------------------------------------------------------- */

/* Reads the whole bank (qb_question, qb_group, qb_blueprint, qb_bank_version) in one
 * consistent snapshot and builds the index: questions grouped by category x paper x
 * section, groups kept whole, and every question's client JSON serialised once here.
 * Blocking: call it on a database thread or in a tool. *out has one reference. */
int qb_index_load(MYSQL *db, qb_index **out, dk_error *err);
qb_index *qb_index_ref(qb_index *idx);
void qb_index_unref(qb_index *idx);             /* NULL is fine */
uint64_t qb_index_version(const qb_index *idx); /* qb_bank_version.version it was read at */
size_t qb_index_question_count(const qb_index *idx);
size_t qb_index_memory(const qb_index *idx); /* bytes held by the index */

/* ---- the holder that reloads swap into ------------------------------------------------ */

qb_bank *qb_bank_new(qb_index *idx); /* takes over the caller's reference; idx may be NULL */
void qb_bank_free(qb_bank *bank);    /* drops the bank's reference */
/* Returns the current index with a new reference (NULL if none): unref it when done. A
 * draw in flight keeps its index alive across a swap. */
qb_index *qb_bank_current(qb_bank *bank);
/* Publishes idx (taking over the caller's reference) and drops the old one. */
void qb_bank_swap(qb_bank *bank, qb_index *idx);

/* ---- blueprints ------------------------------------------------------------------------ */

/* Question types. A blueprint row may restrict itself to a set of them (a bit mask). */
typedef enum { QB_A1, QB_A2, QB_A3, QB_A4, QB_B1, QB_X, QB_NTYPES } qb_type;
#define QB_TYPE_BIT(t) (1u << (t))

typedef struct qb_bp_section {
    const char *section; /* exam subject, e.g. 内科学 */
    unsigned types;      /* QB_TYPE_BIT mask; 0 = every type */
    int count;           /* questions drawn from this row */
} qb_bp_section;

typedef struct qb_blueprint {
    const char *category; /* 临床 中医 口腔 公共卫生 */
    const char *paper;    /* 公共知识 业务水平 */
    int question_count, duration_min, pass_mark;
    size_t nsections;
    const qb_bp_section *sections;
    int satisfiable; /* 1 if the bank of this index can fill every row */
    const char *why; /* when not: which row, what it needs, what the bank has */
} qb_blueprint;

/* NULL if the index has no blueprint for category x paper. Lives as long as idx. */
const qb_blueprint *qb_blueprint_find(const qb_index *idx, const char *category, const char *paper);

/* ---- the draw -------------------------------------------------------------------------- */

/* Draws a paper for category x paper. Each blueprint row is sampled without replacement
 * from its pool; A3/A4/B1 groups are drawn whole (members in their order, next to each
 * other); every question in a pool has the same chance to appear. Options are shuffled
 * per paper, a B1 group sharing one order. Within a row questions are ordered by type
 * (A1 A2 X A3 A4 B1), rows follow the blueprint. The same seed on the same bank version
 * gives the same paper. DK_ENOTFOUND: no blueprint; DK_ECONFLICT: the bank cannot fill
 * it (err says which row and why). A paper belongs to the index it was drawn from (or
 * decoded against): pass that index to the calls below. */
int qb_draw(const qb_index *idx, const char *category, const char *paper, uint64_t seed,
            qb_paper **out, dk_error *err);
void qb_paper_free(qb_paper *p);
int qb_paper_count(const qb_paper *p);
uint64_t qb_paper_seed(const qb_paper *p);
const char *qb_paper_category(const qb_paper *p);
const char *qb_paper_paper(const qb_paper *p);
/* Question no (1-based): its bank id, its type, and its displayed option order as
 * original letters ("CAEBD": display A shows original C). NULL / -1 if no is unknown. */
const char *qb_paper_question_id(const qb_index *idx, const qb_paper *p, int no);
int qb_paper_question_type(const qb_index *idx, const qb_paper *p, int no);
int qb_paper_question_order(const qb_paper *p, int no, char out[QB_MAX_OPTIONS + 1]);

/* Compact text form for Redis and MariaDB, ASCII apart from category and paper:
 *   qb1;<category>;<paper>;<seed>;<id>:<order>,<id>:<order>,...
 * e.g. "qb1;临床;业务水平;42;Q000123:CAEBD,Q000007:BADCE". Returns a malloc'd string
 * (free()), *len set if len is not NULL; NULL if p is not of idx. About 16 bytes per
 * question. */
char *qb_paper_encode(const qb_index *idx, const qb_paper *p, size_t *len);
/* Rebuilds a paper against idx. DK_EINVAL: malformed; DK_ENOTFOUND: a question is no
 * longer in the bank (err names it). s need not be NUL-terminated. */
int qb_paper_decode(const qb_index *idx, const char *s, size_t len, qb_paper **out, dk_error *err);

/* ---- what the client sees ---------------------------------------------------------------- */

/* Appends the whole paper, without keys or explanations, as one JSON object:
 * {"category":"临床","paper":"业务水平","count":100,"duration_min":60,
 *  "questions":[
 *    {"no":1,"type":"A1","section":"内科学","group":null,"stem":"…",
 *     "options":[{"label":"A","text":"…"},{"label":"B","text":"…"},…]},
 *    {"no":7,"type":"A3","section":"内科学","group":"G17","stem":"…","options":[…]}, …],
 *  "groups":[
 *    {"id":"G17","type":"A3","case":"…","nos":[7,8,9]},
 *    {"id":"G18","type":"B1","options":[{"label":"A","text":"…"},…],"nos":[40,41]}]}
 * Options are in display order, labelled A, B, C… by position; B1 members repeat their
 * group's shared options in the group's one order. Built from fragments serialised when
 * the index was loaded: no JSON is built per request. DK_EINVAL if p is not of idx. */
int qb_paper_client_json(const qb_index *idx, const qb_paper *p, struct evbuffer *out);
/* One question of the paper, the same object as in "questions" above. */
int qb_paper_question_json(const qb_index *idx, const qb_paper *p, int no, struct evbuffer *out);

/* ---- answers and scoring ----------------------------------------------------------------------
 */

/* Validates a client's choice for question no (1-based) and writes it canonical (upper
 * case, letters sorted) into out. A1 A2 A3 A4 B1: one letter; X: one to seven distinct
 * letters (the import refuses X keys of more); every letter within the displayed option
 * count. Case and surrounding spaces are forgiven. DK_ENOTFOUND: unknown no (or p not
 * of idx); DK_EINVAL: a bad choice. */
int qb_choice_normalise(const qb_index *idx, const qb_paper *p, int no, const char *in, size_t len,
                        char out[QB_CHOICE_MAX], dk_error *err);

/* Scores a paper: choices[i] is the display-letter choice for question i+1 (NULL or ""
 * = unanswered; as qb_choice_normalise writes it). Display letters are mapped back to
 * the original letters through the paper's order and compared with the keys; X scores
 * only with exactly every correct letter. One point per question: *total is the count.
 * DK_EINVAL if p is not of idx. */
int qb_score(const qb_index *idx, const qb_paper *p, const char *const *choices, int *score,
             int *total);

/* ---- item analysis (qb_stats.c) -------------------------------------------------------------
 * Classical item statistics of a cycle's submitted sittings, stored in item_stats_paper and
 * item_stats_question (deploy/schema/015; the definitions are at the top of qb_stats.c).
 * Blocking (reads every answer of the cycle): a worker thread or a program only. */

#define QB_STATS_MIN_N 20   /* default: a question is flagged only when drawn this often */
#define QB_STATS_EASY 0.95  /* flagged too_easy above this facility */
#define QB_STATS_HARD 0.10  /* flagged too_hard below it */

typedef struct qb_stats_summary {
    long long run_id;
    long sessions, papers, questions, flagged;
    long long answers, ms;
} qb_stats_summary;

/* Queues a run for cycle_id (requested_by: the authority account, 0 = system; min_n 0 =
 * QB_STATS_MIN_N). */
int qb_stats_queue(MYSQL *db, long long cycle_id, long long requested_by, int min_n,
                   long long *run_id, dk_error *err);
/* qb_stats_run's answer when run_id is not queued (another admind took it): not a failure */
#define QB_STATS_TAKEN 1
/* Claims run_id (queued -> running; QB_STATS_TAKEN if it is not queued), computes it, stores
 * the results in one transaction with the run marked done (older results of the cycle
 * removed), or marks it failed with the error. sum->run_id is run_id once it is claimed (0
 * when the claim itself failed: the run stays queued). */
int qb_stats_run(MYSQL *db, long long run_id, qb_stats_summary *sum, dk_error *err);
/* Runs the oldest queued run; DK_ENOTFOUND when none is queued. */
int qb_stats_run_next(MYSQL *db, qb_stats_summary *sum, dk_error *err);
/* Queues a system run for every cycle whose test window (or, once over, makeup window)
 * ended after its latest run was requested, and that has submitted sittings. */
int qb_stats_queue_finished(MYSQL *db, dk_error *err);
/* Queues again the runs left running for over an hour (their process died). */
int qb_stats_recover(MYSQL *db, dk_error *err);
/* ---- the console: checked uploads, drafted releases, blueprints, preview ------------------------
 *
 * What the console of admind does to the bank, all blocking (a database thread's work).
 * The rule that keeps a drawn paper stable: a live question row never changes. An upload
 * adds draft rows of a release; an edit adds a new row (id <base>-R<n>) that retires the
 * one it revises; a retirement retires (a group member: its whole group). Publishing a
 * release makes its rows live and its retirements retired and bumps the bank version;
 * retired rows stay in every index (readable, scorable), in no pool (never drawn). The
 * functions that write run in the caller's transaction, so the caller's audit row commits
 * with them. */

struct json_t;

#define QB_UPLOAD_MAX (8u << 20) /* bytes of one upload (a JSON Lines file) */

typedef struct qb_check qb_check;
typedef struct qb_issue {
    long line;          /* 1-based line of the upload */
    const char *reason; /* check_format.py keyword, as `qbank import` prints it */
    const char *detail; /* as `qbank import` prints it ("" if none) */
    const char *text;   /* what it means, in Chinese */
    char field[32];     /* the field it is about; "*" for the line as a whole */
} qb_issue;

/* Checks JSON Lines exactly as `qbank import` does (the same validator, the same checks
 * against the bank: ids, and questions repeating one that is live or drafted). Never
 * writes. *out is the caller's (qb_check_free) even when lines are bad. len is not limited
 * here: the caller limits the file as uploaded (QB_UPLOAD_MAX), not the JSON Lines it may
 * have converted it to (a CSV grows by a fifth or more). */
int qb_check_upload(MYSQL *db, const char *buf, size_t len, qb_check **out, dk_error *err);
/* The same for an edit of one live question: line is the revised question in the import
 * format (its id is replaced by the new revision's). A member of an A3/A4/B1 group revises
 * the whole group: every live member under a new id in a new group <gid>-R<n>, the edited
 * member's case (A3/A4) or options (B1) shared. DK_ENOTFOUND: no such question;
 * DK_ECONFLICT: not live (err names its state). */
int qb_check_revision(MYSQL *db, const char *id, const char *line, size_t len, qb_check **out,
                      dk_error *err);
void qb_check_free(qb_check *c);
long qb_check_lines(const qb_check *c);
long qb_check_bad_lines(const qb_check *c);
long qb_check_questions(const qb_check *c); /* good questions, what a release would add */
size_t qb_check_nissues(const qb_check *c);
void qb_check_issue(const qb_check *c, size_t i, qb_issue *out); /* sorted by line */
const char *qb_check_new_id(const qb_check *c);                  /* a revision's id, else NULL */

/* Makes a draft release (kind "import", "edit" or "retire"; title at most 200 characters)
 * by authority account `by`. */
int qb_release_create(MYSQL *db, const char *kind, const char *title, long long by, long long *rid,
                      dk_error *err);
/* Writes the questions of a check with no bad line as drafts of release rid (a revision
 * also retires the question it revises). DK_EINVAL if a line is bad. */
int qb_release_add(MYSQL *db, long long rid, const qb_check *c, long *written, dk_error *err);
/* Adds a live question to the retirements of release rid (a group member: every member).
 * DK_ENOTFOUND / DK_ECONFLICT (not live: err names its state). *added: rows added. */
int qb_release_retire(MYSQL *db, long long rid, const char *id, long *added, dk_error *err);
/* Publishes draft release rid (locked FOR UPDATE): DK_ECONFLICT naming its status if it
 * is not a draft, naming a question it retires that another release retired first, or
 * naming a blueprint the bank could fill before and not after (the bank is read in the
 * transaction before and after the change). *version: the bank version it made. */
int qb_release_publish(MYSQL *db, long long rid, long long by, uint64_t *version, dk_error *err);
/* Discards draft release rid: its draft rows are deleted. DK_ECONFLICT as above. */
int qb_release_discard(MYSQL *db, long long rid, long long by, dk_error *err);

/* A blueprint object as in blueprints.json ({"category","paper","question_count",
 * "duration_min","pass_mark","sections":[{"section","count","type"?}]}), checked against
 * the live bank: *out = {"feasible":bool,"why":"…","question_count",…,"sections":[{"section",
 * "type":["A1",…],"count","available","feasible"}]}. DK_EINVAL: malformed (err says why). */
int qb_blueprint_check(MYSQL *db, struct json_t *bp, struct json_t **out, dk_error *err);
/* The same, then stores it and bumps the bank version in a transaction it begins and
 * leaves open for the caller to commit (with its audit row); DK_ECONFLICT (and *out filled)
 * if the bank cannot fill it. Checking reads the bank in a snapshot of its own: the caller
 * must not be in a transaction (nor for qb_blueprint_all and qb_preview). */
int qb_blueprint_publish(MYSQL *db, struct json_t *bp, struct json_t **out, dk_error *err);
/* Every category x paper: its blueprint (or null) with the check above. */
int qb_blueprint_all(MYSQL *db, struct json_t **out, dk_error *err);
/* A sample paper for reviewers, drawn from the live bank with seed, not stored:
 * {"category","paper","seed","bank_version","questions":[{"no","id","type","section",
 * "group","case","stem","options":{"A":…},"answer","explanation","difficulty"}]} (options
 * in the bank's order, so the key reads as stored). DK_ENOTFOUND / DK_ECONFLICT as qb_draw. */
int qb_preview(MYSQL *db, const char *category, const char *paper, uint64_t seed,
               struct json_t **out, dk_error *err);

#endif
