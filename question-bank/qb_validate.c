/* qb_validate.c - checks import lines against every rule of the import format and keeps
 * the records of the lines that parsed.
 *
 * The rules and their reason keywords are those of ../shared/data/qbank/check_format.py
 * (one line may break several; rules comparing a line with an earlier one blame the later
 * line). A validator sees one file, in order; the database checks (ids and questions
 * already in the bank) are added by qb_import.c through qb_validator_report(). Single
 * threaded; the validator owns every record and string it hands out. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "qb_internal.h"

#define MAX_LINE_BYTES (1u << 20)

typedef struct group_seen {
    char *gid, *type, *category, *paper, *section, *case_text;
    json_t *options;
    long first_line, members;
} group_seen;

typedef struct content_seen {
    uint64_t h;
    long line; /* 0 for a question already in the bank */
    char *bank_id;
} content_seen;

struct qb_validator {
    qb_violation *viol;
    size_t nviol, capviol;
    qb_rec *recs;
    size_t nrecs, caprecs;
    qb_strmap ids; /* id -> line */
    char **id_store;
    size_t nid_store, capid_store;
    qb_strmap groups; /* gid -> index in gs */
    group_seen *gs;
    size_t ngs, capgs;
    content_seen *content; /* open addressing on h */
    size_t ncontent, capcontent;
    unsigned char *bad; /* per line */
    size_t capbad;
};

static const char *const REQUIRED[] = {"id",   "category", "paper",   "section",
                                       "type", "stem",     "options", "answer"};
static const char *const OPTIONAL[] = {"group", "case", "difficulty", "explanation"};
static const char *const STRING_FIELDS[] = {"id",   "category", "paper", "section", "type",
                                            "stem", "answer",   "group", "case",    "explanation"};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

qb_validator *qb_validator_new(void)
{
    qb_validator *v = dk_calloc(1, sizeof *v);
    qb_strmap_init(&v->ids, 1024);
    qb_strmap_init(&v->groups, 256);
    v->capcontent = 1024;
    v->content = dk_calloc(v->capcontent, sizeof *v->content);
    return v;
}

void qb_validator_free(qb_validator *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->nrecs; i++)
        qb_rec_clear(&v->recs[i]);
    free(v->recs);
    for (size_t i = 0; i < v->nid_store; i++)
        free(v->id_store[i]);
    free(v->id_store);
    for (size_t i = 0; i < v->ngs; i++) {
        group_seen *g = &v->gs[i];
        free(g->gid);
        free(g->type);
        free(g->category);
        free(g->paper);
        free(g->section);
        free(g->case_text);
        json_decref(g->options);
    }
    free(v->gs);
    for (size_t i = 0; i < v->capcontent; i++)
        free(v->content[i].bank_id);
    free(v->content);
    qb_strmap_free(&v->ids);
    qb_strmap_free(&v->groups);
    free(v->viol);
    free(v->bad);
    free(v);
}

static void mark_bad(qb_validator *v, long line)
{
    if (line <= 0) return;
    if ((size_t)line >= v->capbad) {
        size_t cap = v->capbad ? v->capbad : 1024;
        while (cap <= (size_t)line)
            cap *= 2;
        v->bad = dk_realloc(v->bad, cap);
        memset(v->bad + v->capbad, 0, cap - v->capbad);
        v->capbad = cap;
    }
    v->bad[line] = 1;
}

static void vreport(qb_validator *v, long line, const char *reason, const char *fmt, va_list ap)
{
    if (v->nviol == v->capviol) {
        v->capviol = v->capviol ? v->capviol * 2 : 64;
        v->viol = dk_realloc(v->viol, v->capviol * sizeof *v->viol);
    }
    qb_violation *x = &v->viol[v->nviol++];
    x->line = line;
    x->reason = reason;
    x->detail[0] = '\0';
    if (fmt) vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    mark_bad(v, line);
}

static void add(qb_validator *v, long line, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(qb_validator *v, long line, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, line, reason, fmt, ap);
    va_end(ap);
}

static void sort_violations(qb_validator *v)
{
    /* insertion sort: stable, and violations arrive almost in order */
    for (size_t i = 1; i < v->nviol; i++) {
        qb_violation t = v->viol[i];
        size_t j = i;
        while (j > 0 && v->viol[j - 1].line > t.line) {
            v->viol[j] = v->viol[j - 1];
            j--;
        }
        v->viol[j] = t;
    }
}

void qb_validator_report(qb_validator *v, long line, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, line, reason, fmt, ap);
    va_end(ap);
    sort_violations(v);
}

void qb_validator_forgive(qb_validator *v, long line)
{
    size_t o = 0;
    for (size_t i = 0; i < v->nviol; i++)
        if (v->viol[i].line != line) v->viol[o++] = v->viol[i];
    v->nviol = o;
    if (line > 0 && (size_t)line < v->capbad) v->bad[line] = 0;
}

size_t qb_validator_nviolations(const qb_validator *v)
{
    return v->nviol;
}
const qb_violation *qb_validator_violation(const qb_validator *v, size_t i)
{
    return &v->viol[i];
}
size_t qb_validator_nrecs(const qb_validator *v)
{
    return v->nrecs;
}
qb_rec *qb_validator_rec(qb_validator *v, size_t i)
{
    return &v->recs[i];
}
int qb_validator_bad(const qb_validator *v, long line)
{
    return line > 0 && (size_t)line < v->capbad && v->bad[line];
}

/* ---- content hashes ------------------------------------------------------------------------ */

static content_seen *content_slot(qb_validator *v, uint64_t h)
{
    size_t mask = v->capcontent - 1;
    size_t i = (size_t)(h ^ (h >> 31)) & mask;
    while (v->content[i].h && v->content[i].h != h)
        i = (i + 1) & mask;
    return &v->content[i];
}

static content_seen *content_add(qb_validator *v, uint64_t h)
{
    if (!h) h = 1;
    if ((v->ncontent + 1) * 2 > v->capcontent) {
        content_seen *old = v->content;
        size_t oldcap = v->capcontent;
        v->capcontent *= 2;
        v->content = dk_calloc(v->capcontent, sizeof *v->content);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].h) *content_slot(v, old[i].h) = old[i];
        free(old);
    }
    content_seen *c = content_slot(v, h);
    if (c->h) return c; /* already there: the caller reports */
    c->h = h;
    v->ncontent++;
    return NULL;
}

void qb_validator_known_content(qb_validator *v, uint64_t h, const char *id)
{
    if (!h) h = 1;
    if (content_add(v, h)) return;
    content_seen *c = content_slot(v, h);
    c->line = 0;
    c->bank_id = dk_strdup(id);
}

static uint64_t content_hash(const char *category, const char *case_text, const char *stem,
                             const char *const *opts, size_t nopt)
{
    uint64_t h = qb_hash_bytes(0xcbf29ce484222325ULL, category, strlen(category) + 1);
    h = qb_hash_norm(h, case_text ? case_text : "");
    h = qb_hash_bytes(h, "\x01", 1);
    h = qb_hash_norm(h, stem);
    h = qb_hash_bytes(h, "\x01", 1);
    /* sorted(norm(v)): sort by the normalised texts' hashes, which is order-free too */
    uint64_t oh[64];
    if (nopt > 64) nopt = 64;
    for (size_t i = 0; i < nopt; i++)
        oh[i] = qb_hash_norm(0xcbf29ce484222325ULL, opts[i]);
    for (size_t i = 1; i < nopt; i++)
        for (size_t j = i; j > 0 && oh[j - 1] > oh[j]; j--) {
            uint64_t t = oh[j];
            oh[j] = oh[j - 1];
            oh[j - 1] = t;
        }
    for (size_t i = 0; i < nopt; i++)
        h = qb_hash_bytes(h, &oh[i], sizeof oh[i]);
    return h ? h : 1;
}

uint64_t qb_rec_content_hash(const qb_rec *r)
{
    return content_hash(qb_category_names[r->category], r->case_text, r->stem,
                        (const char *const *)r->opt, (size_t)r->nopt);
}

/* ---- one line -------------------------------------------------------------------------------- */

static const char *json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "dict";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "str";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "NoneType";
    }
}

static int in_list(const char *const *list, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], k)) return 1;
    return 0;
}

static const char *str_of(json_t *rec, const char *k)
{
    json_t *j = json_object_get(rec, k);
    return j ? json_string_value(j) : NULL;
}

static int id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > QB_MAX_ID) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || (c != '_' && c != '-'))) return 0;
    }
    return 1;
}

/* The bank's columns hold 32 characters of id and group id. */
#define DB_ID_MAX 32

static void remember_id(qb_validator *v, const char *id, long line)
{
    if (v->nid_store == v->capid_store) {
        v->capid_store = v->capid_store ? v->capid_store * 2 : 1024;
        v->id_store = dk_realloc(v->id_store, v->capid_store * sizeof *v->id_store);
    }
    char *copy = dk_strdup(id);
    v->id_store[v->nid_store++] = copy;
    qb_strmap_put(&v->ids, copy, (uint32_t)line);
}

static int is_upper_ascending(const char *a)
{
    if (!*a) return 0;
    for (const char *p = a; *p; p++) {
        if (*p < 'A' || *p > 'Z') return 0;
        if (p > a && p[-1] >= *p) return 0;
    }
    return 1;
}

static void check_group(qb_validator *v, long n, json_t *rec, const char *gid, int qt,
                        const char *type_s, const char *case_text, json_t *opts, int opts_ok,
                        int *group_pos)
{
    uint32_t gi = qb_strmap_get(&v->groups, gid, strlen(gid));
    if (gi == QB_NONE) {
        if (v->ngs == v->capgs) {
            v->capgs = v->capgs ? v->capgs * 2 : 256;
            v->gs = dk_realloc(v->gs, v->capgs * sizeof *v->gs);
        }
        group_seen *g = &v->gs[v->ngs];
        memset(g, 0, sizeof *g);
        g->gid = dk_strdup(gid);
        g->type = dk_strdup(type_s);
        g->category = dk_strdup(str_of(rec, "category"));
        g->paper = dk_strdup(str_of(rec, "paper"));
        g->section = dk_strdup(str_of(rec, "section"));
        g->case_text = case_text ? dk_strdup(case_text) : NULL;
        g->options = json_incref(opts);
        g->first_line = n;
        g->members = 1;
        qb_strmap_put(&v->groups, g->gid, (uint32_t)v->ngs);
        v->ngs++;
        *group_pos = 1;
        return;
    }
    group_seen *g = &v->gs[gi];
    *group_pos = (int)++g->members;
    if (strcmp(g->type, type_s))
        add(v, n, "group-type-mismatch", "%s vs %s at line %ld", type_s, g->type, g->first_line);
    else if (strcmp(g->category, str_of(rec, "category")) ||
             strcmp(g->paper, str_of(rec, "paper")) || strcmp(g->section, str_of(rec, "section")))
        add(v, n, "group-mismatch", "category/paper/section differ from line %ld", g->first_line);
    if (qb_type_has_case(qt) && case_text && g->case_text && strcmp(case_text, g->case_text))
        add(v, n, "case-mismatch", "case differs from line %ld", g->first_line);
    if (qt == QB_B1 && opts_ok && !json_equal(g->options, opts))
        add(v, n, "options-mismatch", "options differ from line %ld", g->first_line);
}

void qb_validator_line(qb_validator *v, long n, const char *buf, size_t len)
{
    size_t k = 0;
    while (k < len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r'))
        k++;
    if (k == len) {
        add(v, n, "empty-line", NULL);
        return;
    }
    if (len > MAX_LINE_BYTES) {
        add(v, n, "invalid-json", "line of %zu bytes over the limit %u", len, MAX_LINE_BYTES);
        return;
    }
    if (!qb_utf8_valid(buf, len)) {
        add(v, n, "invalid-utf8", "line is not valid UTF-8");
        return;
    }
    json_error_t je;
    json_t *rec = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!rec) {
        if (json_error_code(&je) == json_error_duplicate_key)
            add(v, n, "duplicate-key", "%s", je.text);
        else
            add(v, n, "invalid-json", "%s at column %d", je.text, je.column);
        return;
    }
    if (!json_is_object(rec)) {
        add(v, n, "not-object", "%s", json_type_name(rec));
        json_decref(rec);
        return;
    }
    int bad = 0;
    for (size_t i = 0; i < NELEM(REQUIRED); i++)
        if (!json_object_get(rec, REQUIRED[i])) {
            add(v, n, "missing-field", "%s", REQUIRED[i]);
            bad = 1;
        }
    const char *key;
    json_t *val;
    json_object_foreach(rec, key, val)
    {
        if (!in_list(REQUIRED, NELEM(REQUIRED), key) && !in_list(OPTIONAL, NELEM(OPTIONAL), key))
            add(v, n, "unknown-field", "%.60s", key);
    }
    for (size_t i = 0; i < NELEM(STRING_FIELDS); i++) {
        json_t *j = json_object_get(rec, STRING_FIELDS[i]);
        if (j && !json_is_string(j)) {
            add(v, n, "wrong-type", "%s is %s, not a string", STRING_FIELDS[i], json_type_name(j));
            bad = 1;
        } else if (j && strlen(json_string_value(j)) != json_string_length(j)) {
            add(v, n, "wrong-type", "%s contains a NUL character", STRING_FIELDS[i]);
            bad = 1;
        }
    }
    if (bad) {
        json_decref(rec);
        return;
    }

    const char *id = str_of(rec, "id"), *cat = str_of(rec, "category");
    const char *paper = str_of(rec, "paper"), *sec = str_of(rec, "section");
    const char *type_s = str_of(rec, "type"), *stem = str_of(rec, "stem");
    const char *case_text = str_of(rec, "case"), *gid = str_of(rec, "group");
    const char *expl = str_of(rec, "explanation"), *ans = str_of(rec, "answer");
    int ci = qb_category_find(cat), pi = qb_paper_find(paper), qt = qb_type_find(type_s);

    if (!id_ok(id)) {
        add(v, n, "bad-id", "%.40s", id);
    } else if (strlen(id) > DB_ID_MAX) {
        add(v, n, "bad-id", "%.40s: longer than the bank's %d characters", id, DB_ID_MAX);
    } else {
        uint32_t first = qb_strmap_get(&v->ids, id, strlen(id));
        if (first != QB_NONE)
            add(v, n, "duplicate-id", "%s (first at line %u)", id, first);
        else
            remember_id(v, id, n);
    }
    if (ci < 0) add(v, n, "unknown-category", "%.40s", cat);
    if (pi < 0) add(v, n, "unknown-paper", "%.40s", paper);
    if (qb_is_blank(sec) || qb_utf8_chars(sec) > QB_MAX_SECTION)
        add(v, n, "bad-section", "%.60s", sec);
    else if (qb_section_is_public(sec) && pi >= 0 && pi != 0)
        add(v, n, "paper-section-mismatch", "%s/%s", sec, paper);
    if (qt < 0) add(v, n, "unknown-type", "%.20s", type_s);
    size_t stem_chars = qb_utf8_chars(stem);
    if (qb_is_blank(stem))
        add(v, n, "empty-stem", NULL);
    else if (stem_chars > QB_MAX_TEXT)
        add(v, n, "stem-too-long", "%zu characters (limit %d)", stem_chars, QB_MAX_TEXT);
    if (case_text) {
        size_t cc = qb_utf8_chars(case_text);
        if (qb_is_blank(case_text))
            add(v, n, "empty-case", NULL);
        else if (cc > QB_MAX_TEXT)
            add(v, n, "case-too-long", "%zu characters (limit %d)", cc, QB_MAX_TEXT);
    }
    if (expl && qb_is_blank(expl)) add(v, n, "empty-explanation", NULL);

    /* options */
    json_t *opts = json_object_get(rec, "options");
    int opts_ok = json_is_object(opts);
    const char *opt_text[QB_MAX_OPTIONS + 64];
    size_t nopt = 0;
    if (opts_ok) {
        json_object_foreach(opts, key, val)
        {
            if (!json_is_string(val) || strlen(json_string_value(val)) != json_string_length(val))
                opts_ok = 0;
        }
    }
    if (!opts_ok) {
        add(v, n, "bad-options", "%s", json_type_name(opts));
    } else {
        nopt = json_object_size(opts);
        if (nopt < 2) {
            add(v, n, "too-few-options", "%zu", nopt);
        } else if (nopt > QB_MAX_OPTIONS) {
            add(v, n, "too-many-options", "%zu", nopt);
        } else {
            size_t i = 0;
            int letters_ok = 1;
            char got[QB_MAX_OPTIONS + 1];
            json_object_foreach(opts, key, val)
            {
                got[i] = (char)(strlen(key) == 1 ? key[0] : '?');
                if (strlen(key) != 1 || key[0] != 'A' + (int)i) letters_ok = 0;
                i++;
            }
            got[i] = '\0';
            if (!letters_ok) add(v, n, "bad-option-letters", "%s", got);
        }
        int empty = 0, dup = 0;
        size_t i = 0;
        json_object_foreach(opts, key, val)
        {
            if (i < NELEM(opt_text)) opt_text[i++] = json_string_value(val);
            if (qb_is_blank(json_string_value(val))) empty = 1;
        }
        if (!empty) {
            for (size_t a = 0; a < i && !dup; a++)
                for (size_t b = a + 1; b < i && !dup; b++) {
                    const char *pa, *pb;
                    size_t la, lb;
                    qb_strip(opt_text[a], &pa, &la);
                    qb_strip(opt_text[b], &pb, &lb);
                    dup = la == lb && !memcmp(pa, pb, la);
                }
        }
        if (empty)
            add(v, n, "empty-option", NULL);
        else if (dup)
            add(v, n, "duplicate-option-text", NULL);
        nopt = i;
    }

    /* answer */
    uint16_t keymask = 0;
    if (!is_upper_ascending(ans)) {
        add(v, n, "bad-answer-format", "%.10s", ans);
    } else {
        int missing = 0;
        for (const char *p = ans; *p; p++) {
            char lk[2] = {*p, 0};
            if (opts_ok && !json_object_get(opts, lk)) missing = 1;
            if (*p - 'A' < QB_MAX_OPTIONS) keymask |= (uint16_t)(1u << (*p - 'A'));
        }
        if (opts_ok && missing) add(v, n, "answer-not-in-options", "%s", ans);
        if (qt >= 0 && qt != QB_X && strlen(ans) > 1)
            add(v, n, "multiple-answers", "%s %s", type_s, ans);
        else if (strlen(ans) > QB_CHOICE_MAX - 1)
            add(v, n, "bad-answer-format", "%s: more than %d letters", ans, QB_CHOICE_MAX - 1);
    }
    long long difficulty = 3;
    json_t *d = json_object_get(rec, "difficulty");
    if (d) {
        if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 5) {
            if (json_is_integer(d))
                add(v, n, "bad-difficulty", "%lld (allowed 1-5)", (long long)json_integer_value(d));
            else
                add(v, n, "bad-difficulty", "%s, not an integer", json_type_name(d));
        } else
            difficulty = json_integer_value(d);
    }
    int img = qb_has_image_ref(stem) || (case_text && qb_has_image_ref(case_text));
    for (size_t i = 0; i < nopt && !img; i++)
        img = qb_has_image_ref(opt_text[i]);
    if (img) add(v, n, "image-reference", NULL);

    /* group structure */
    int group_pos = 0;
    if (qt >= 0 && qb_type_is_group(qt)) {
        if (!gid) add(v, n, "missing-group", NULL);
        if (qb_type_has_case(qt) && !case_text) add(v, n, "missing-case", NULL);
        if (qt == QB_B1 && case_text) add(v, n, "unexpected-case", NULL);
    } else if (qt >= 0) {
        if (gid) add(v, n, "unexpected-group", NULL);
        if (case_text) add(v, n, "unexpected-case", NULL);
    }
    if (qt >= 0 && qb_type_is_group(qt) && gid) {
        if (!id_ok(gid) || strlen(gid) > DB_ID_MAX) add(v, n, "bad-id", "group %.40s", gid);
        check_group(v, n, rec, gid, qt, type_s, case_text, opts, opts_ok, &group_pos);
    }

    /* repeated question */
    if (opts_ok) {
        uint64_t h = content_hash(cat, case_text, stem, opt_text, nopt);
        content_seen *c = content_add(v, h);
        if (c && c->line)
            add(v, n, "duplicate-question", "same as line %ld", c->line);
        else if (c)
            add(v, n, "duplicate-question", "same as %s in the bank", c->bank_id);
        else
            content_slot(v, h)->line = n;
    }

    /* the record */
    if (v->nrecs == v->caprecs) {
        v->caprecs = v->caprecs ? v->caprecs * 2 : 1024;
        v->recs = dk_realloc(v->recs, v->caprecs * sizeof *v->recs);
    }
    qb_rec *r = &v->recs[v->nrecs++];
    memset(r, 0, sizeof *r);
    r->line = n;
    r->id = dk_strdup(id);
    r->section = dk_strdup(sec);
    r->stem = dk_strdup(stem);
    r->case_text = case_text ? dk_strdup(case_text) : NULL;
    r->group = gid ? dk_strdup(gid) : NULL;
    r->explanation = expl ? dk_strdup(expl) : NULL;
    r->category = ci;
    r->paper = pi;
    r->type = qt;
    r->difficulty = (int)difficulty;
    r->group_pos = group_pos;
    r->key = keymask;
    if (opts_ok && nopt <= QB_MAX_OPTIONS) {
        for (size_t i = 0; i < nopt; i++)
            r->opt[i] = dk_strdup(opt_text[i]);
        r->nopt = (int)nopt;
    }
    json_decref(rec);
}

void qb_validator_finish(qb_validator *v)
{
    for (size_t i = 0; i < v->ngs; i++)
        if (v->gs[i].members == 1)
            add(v, v->gs[i].first_line, "singleton-group", "%s has no other member", v->gs[i].gid);
    sort_violations(v);
}

qb_index *qb_index_from_jsonl(const char *buf, size_t len, const qb_bp_def *bps, size_t nbp,
                              uint64_t version, size_t *nbad)
{
    qb_validator *v = qb_validator_new();
    long lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len;
        qb_validator_line(v, ++lineno, buf + at, end - at);
        at = end + 1;
    }
    qb_validator_finish(v);
    size_t n = 0, bad = 0;
    for (long l = 1; l <= lineno; l++)
        bad += (size_t)qb_validator_bad(v, l);
    qb_rec *good = dk_calloc(v->nrecs + 1, sizeof *good);
    for (size_t i = 0; i < v->nrecs; i++)
        if (!qb_validator_bad(v, v->recs[i].line)) good[n++] = v->recs[i];
    qb_index *idx = qb_index_build(good, n, bps, nbp, version);
    free(good); /* the strings stay the validator's */
    qb_validator_free(v);
    if (nbad) *nbad = bad;
    return idx;
}

/* ---- what the console shows for a reason ---------------------------------------------------- */

/* Every reason keyword: the field it is about ("" when the detail names it: missing-field,
 * unknown-field, wrong-type; "*" for the line as a whole) and what the console says. */
static const struct {
    const char *reason, *field, *text;
} REASONS[] = {
    {"empty-line", "*", "空行（每行一道题）"},
    {"invalid-utf8", "*", "不是有效的 UTF-8 编码"},
    {"invalid-json", "*", "不是有效的 JSON"},
    {"duplicate-key", "*", "同一字段出现两次"},
    {"not-object", "*", "不是 JSON 对象"},
    {"missing-field", "", "缺少必填字段"},
    {"unknown-field", "", "不认识的字段"},
    {"wrong-type", "", "字段应为文本"},
    {"bad-id", "id", "编号格式错误（字母数字开头，仅含字母、数字、_ 和 -，至多 32 个字符）"},
    {"duplicate-id", "id", "编号重复（本文件之前的行或题库中已有）"},
    {"unknown-category", "category", "执业类别应为 临床、中医、口腔、公共卫生 之一"},
    {"unknown-paper", "paper", "试卷应为 公共知识 或 业务水平"},
    {"bad-section", "section", "科目为空或超过 50 个字符"},
    {"paper-section-mismatch", "section", "医学伦理学、卫生法规、医学心理学 属于公共知识试卷"},
    {"unknown-type", "type", "题型应为 A1、A2、A3、A4、B1、X 之一"},
    {"empty-stem", "stem", "题干为空"},
    {"stem-too-long", "stem", "题干超过 4000 个字符"},
    {"empty-case", "case", "病例为空"},
    {"case-too-long", "case", "病例超过 4000 个字符"},
    {"empty-explanation", "explanation", "解析为空"},
    {"bad-options", "options", "选项应为文本组成的对象"},
    {"too-few-options", "options", "选项少于 2 个"},
    {"too-many-options", "options", "选项多于 10 个"},
    {"bad-option-letters", "options", "选项字母应从 A 起依次排列"},
    {"empty-option", "options", "选项内容为空"},
    {"duplicate-option-text", "options", "两个选项内容相同"},
    {"bad-answer-format", "answer", "答案应为按字母顺序排列的大写字母"},
    {"answer-not-in-options", "answer", "答案字母不在选项中"},
    {"multiple-answers", "answer", "单选题只能有一个答案"},
    {"bad-difficulty", "difficulty", "难度应为 1 到 5 的整数"},
    {"image-reference", "stem", "题目引用了图片（不支持图片）"},
    {"missing-group", "group", "A3/A4/B1 题须有组号"},
    {"missing-case", "case", "A3/A4 题须有病例"},
    {"unexpected-group", "group", "只有 A3/A4/B1 题有组号"},
    {"unexpected-case", "case", "只有 A3/A4 题有病例"},
    {"group-type-mismatch", "type", "与同组第一题的题型不同"},
    {"group-mismatch", "group", "与同组第一题的执业类别、试卷或科目不同"},
    {"case-mismatch", "case", "与同组第一题的病例不同"},
    {"options-mismatch", "options", "B1 题与同组第一题的选项不同"},
    {"group-split-across-files", "group", "同组题目分散在多个文件中"},
    {"singleton-group", "group", "组内只有一道题"},
    {"duplicate-question", "stem", "题目重复（本文件之前的行或题库中已有相同题目）"},
};

void qb_reason_info(const char *reason, const char *detail, char field[32], const char **text)
{
    *text = reason;
    snprintf(field, 32, "*");
    for (size_t i = 0; i < NELEM(REASONS); i++) {
        if (strcmp(REASONS[i].reason, reason)) continue;
        *text = REASONS[i].text;
        if (REASONS[i].field[0]) {
            snprintf(field, 32, "%s", REASONS[i].field);
        } else { /* the detail's first word names the field */
            size_t n = strcspn(detail ? detail : "", " ");
            snprintf(field, 32, "%.*s", (int)(n < 31 ? n : 31), detail ? detail : "");
        }
        return;
    }
}
