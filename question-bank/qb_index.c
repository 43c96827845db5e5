/* qb_index.c - builds the immutable in-memory index (from MariaDB or from records), and
 * the refcounted holder that reloads swap into.
 *
 * Layout: questions sorted by (group or own id, position in group), so a group's members
 * are consecutive; every text is serialised once into one arena as the JSON the client
 * gets, without keys; each blueprint row gets its pool of single questions and whole
 * groups, and whether the bank can fill it. Building allocates freely; after that the
 * index is read-only and shared by every thread until its last reference goes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

static atomic_uint_fast64_t build_serial = 1;

/* ---- arena ------------------------------------------------------------------------------ */

typedef struct arena {
    char *p;
    size_t len, cap;
} arena;

static uint32_t arena_add(arena *a, const char *s, size_t n)
{
    if (a->len + n + 1 > a->cap) {
        while (a->len + n + 1 > a->cap)
            a->cap = a->cap ? a->cap * 2 : 1 << 16;
        a->p = dk_realloc(a->p, a->cap);
    }
    uint32_t off = (uint32_t)a->len;
    memcpy(a->p + a->len, s, n);
    a->len += n;
    a->p[a->len++] = '\0';
    return off;
}

/* Appends to the fragment being built (no NUL): arena_add of the whole piece at the end. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap = b->cap ? b->cap * 2 : 4096;
        b->p = dk_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_json(sbuf *b, const char *s)
{
    json_t *j = json_string(s);
    char *d = dk_json_dump(j);
    sb_str(b, d);
    free(d);
    json_decref(j);
}

/* ---- build -------------------------------------------------------------------------------- */

static const char *unit_key(const qb_rec *r)
{
    return r->group ? r->group : r->id;
}

static int cmp_rec(const void *a, const void *b)
{
    const qb_rec *x = *(const qb_rec *const *)a, *y = *(const qb_rec *const *)b;
    int c = strcmp(unit_key(x), unit_key(y));
    if (c) return c;
    if (x->group_pos != y->group_pos) return x->group_pos < y->group_pos ? -1 : 1;
    return strcmp(x->id, y->id);
}

static uint16_t intern_section(qb_index *idx, size_t *cap, int cp, const char *name)
{
    for (size_t i = 0; i < idx->nsections; i++)
        if (idx->section_cp[i] == cp && !strcmp(idx->sections[i], name)) return (uint16_t)i;
    if (idx->nsections == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        idx->sections = dk_realloc(idx->sections, *cap * sizeof *idx->sections);
        idx->section_cp = dk_realloc(idx->section_cp, *cap * sizeof *idx->section_cp);
    }
    idx->sections[idx->nsections] = dk_strdup(name);
    idx->section_cp[idx->nsections] = (uint16_t)cp;
    return (uint16_t)idx->nsections++;
}

static int find_section(const qb_index *idx, int cp, const char *name)
{
    for (size_t i = 0; i < idx->nsections; i++)
        if (idx->section_cp[i] == cp && !strcmp(idx->sections[i], name)) return (int)i;
    return -1;
}

static int unit_matches(int sec, unsigned types, int q_sec, int q_type)
{
    return q_sec == sec && (!types || (types & QB_TYPE_BIT(q_type)));
}

/* Can whole groups plus single questions make exactly count? (subset sums up to count) */
static int pool_feasible(const qb_index *idx, const qb_pool *p)
{
    int n = p->count;
    if ((int)p->nquestions < n) return 0;
    unsigned char *reach = dk_calloc((size_t)n + 1, 1);
    reach[0] = 1;
    for (uint32_t g = 0; g < p->ngroups; g++) {
        int k = idx->groups[p->groups[g]].size;
        for (int s = n; s >= k; s--)
            if (reach[s - k]) reach[s] = 1;
    }
    int ok = 0;
    for (int s = n - (int)(p->nsingles < (uint32_t)n ? p->nsingles : (uint32_t)n); s <= n; s++)
        if (reach[s]) ok = 1;
    free(reach);
    return ok;
}

static void explain_pool(const qb_index *idx, const qb_pool *p, const qb_bp_row *row, char *out,
                         size_t outsz)
{
    char types[32], bytype[160] = "";
    size_t o = 0;
    uint32_t count[QB_NTYPES] = {0};
    for (uint32_t i = 0; i < p->nsingles; i++)
        count[idx->qs[p->singles[i]].type]++;
    for (uint32_t i = 0; i < p->ngroups; i++)
        count[idx->groups[p->groups[i]].type] += idx->groups[p->groups[i]].size;
    for (int t = 0; t < QB_NTYPES; t++)
        if (count[t])
            o += (size_t)snprintf(bytype + o, sizeof bytype - o, "%s%s %u", o ? ", " : "",
                                  qb_type_names[t], count[t]);
    qb_types_str(row->types, types);
    if ((int)p->nquestions < p->count)
        snprintf(out, outsz, "%s%s%s needs %d questions, the bank has %u%s%s%s", row->section,
                 types[0] ? " " : "", types, p->count, p->nquestions, o ? " (" : "", bytype,
                 o ? ")" : "");
    else
        snprintf(out, outsz,
                 "%s%s%s needs exactly %d questions: %u whole groups and %u single questions "
                 "cannot add up to it",
                 row->section, types[0] ? " " : "", types, p->count, p->ngroups, p->nsingles);
}

static void build_blueprint(qb_index *idx, const qb_bp_def *def)
{
    int cp = def->category * QB_NPAPERS + def->paper;
    qb_bp_entry *e = &idx->bps[cp];
    if (e->present) return; /* the first definition wins */
    e->present = 1;
    e->def = *def;
    for (size_t i = 0; i < def->nrows; i++)
        e->def.rows[i].section = dk_strdup(def->rows[i].section);
    e->pub.category = qb_category_names[def->category];
    e->pub.paper = qb_paper_names[def->paper];
    e->pub.question_count = def->question_count;
    e->pub.duration_min = def->duration_min;
    e->pub.pass_mark = def->pass_mark;
    e->pub.nsections = def->nrows;
    e->pub.sections = e->rows;
    e->pub.satisfiable = 1;
    e->pub.why = e->why;
    size_t wo = 0;
    for (size_t r = 0; r < def->nrows; r++) {
        const qb_bp_row *row = &e->def.rows[r];
        qb_pool *p = &e->pools[r];
        e->rows[r] = (qb_bp_section){row->section, row->types, row->count};
        p->count = row->count;
        int sec = find_section(idx, cp, row->section);
        uint32_t ns = 0, ng = 0;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                p->singles = dk_malloc((ns ? ns : 1) * sizeof *p->singles);
                p->groups = dk_malloc((ng ? ng : 1) * sizeof *p->groups);
                idx->memory += (ns + ng) * sizeof(uint32_t);
            }
            ns = ng = 0;
            for (size_t q = 0; sec >= 0 && q < idx->nq; q++) {
                const qb_q *qq = &idx->qs[q];
                if (qq->retired || !unit_matches(sec, row->types, qq->section, qq->type)) continue;
                if (qq->group == QB_NONE) {
                    if (pass) p->singles[ns] = (uint32_t)q;
                    ns++;
                } else if (idx->groups[qq->group].first == q) {
                    if (pass) p->groups[ng] = qq->group;
                    ng++;
                    p->nquestions += pass ? idx->groups[qq->group].size : 0;
                }
            }
        }
        p->nsingles = ns;
        p->ngroups = ng;
        p->nquestions += ns;
        if (p->nquestions) {
            uint64_t e2 = (uint64_t)ng * (uint64_t)p->count;
            p->gcount_base = (uint32_t)(e2 / p->nquestions);
            p->gcount_rem = (uint32_t)(e2 % p->nquestions);
        }
        p->feasible = pool_feasible(idx, p);
        if (!p->feasible) {
            char why[256];
            explain_pool(idx, p, row, why, sizeof why);
            e->pub.satisfiable = 0;
            wo += (size_t)snprintf(e->why + wo, sizeof e->why - wo, "%s%s", wo ? "; " : "", why);
            if (wo >= sizeof e->why) wo = sizeof e->why - 1;
        }
    }
}

qb_index *qb_index_build(qb_rec *recs, size_t n, const qb_bp_def *bps, size_t nbp, uint64_t version)
{
    qb_index *idx = dk_calloc(1, sizeof *idx);
    atomic_init(&idx->refs, 1);
    idx->version = version;
    idx->serial = atomic_fetch_add(&build_serial, 1);
    const qb_rec **order = dk_malloc((n ? n : 1) * sizeof *order);
    size_t m = 0, nopts = 0, ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        const qb_rec *r = &recs[i];
        if (r->category < 0 || r->category >= QB_NCATS || r->paper < 0 || r->paper >= QB_NPAPERS ||
            r->type < 0 || r->type >= QB_NTYPES || r->nopt < 2 || !r->id || !r->stem ||
            !r->section || (qb_type_is_group(r->type) && !r->group)) {
            DK_WARN("qb", "question %s is incomplete, left out of the index", r->id ? r->id : "?");
            continue;
        }
        order[m++] = r;
        nopts += (size_t)r->nopt;
    }
    qsort(order, m, sizeof *order, cmp_rec);
    for (size_t i = 0; i < m; i++)
        if (order[i]->group &&
            (i == 0 || !order[i - 1]->group || strcmp(order[i - 1]->group, order[i]->group)))
            ngroups++;

    idx->qs = dk_calloc(m ? m : 1, sizeof *idx->qs);
    idx->opts = dk_calloc(nopts ? nopts : 1, sizeof *idx->opts);
    idx->groups = dk_calloc(ngroups ? ngroups : 1, sizeof *idx->groups);
    arena a = {0};
    sbuf b = {0};
    size_t seccap = 0;
    for (size_t i = 0; i < m; i++) {
        const qb_rec *r = order[i];
        qb_q *q = &idx->qs[i];
        int cp = r->category * QB_NPAPERS + r->paper;
        q->id = arena_add(&a, r->id, strlen(r->id));
        q->section = intern_section(idx, &seccap, cp, r->section);
        q->type = (uint8_t)r->type;
        q->category = (uint8_t)r->category;
        q->paper = (uint8_t)r->paper;
        q->difficulty = (uint8_t)r->difficulty;
        q->key = r->key;
        q->nopt = (uint8_t)r->nopt;
        q->retired = (uint8_t) !!r->retired;
        q->group = QB_NONE;
        if (r->group) {
            qb_g *g = idx->ngroups ? &idx->groups[idx->ngroups - 1] : NULL;
            if (!g || strcmp(a.p + g->id, r->group)) {
                g = &idx->groups[idx->ngroups++];
                g->id = arena_add(&a, r->group, strlen(r->group));
                g->first = (uint32_t)i;
                g->type = (uint8_t)r->type;
                b.len = 0;
                sb_str(&b, "\"id\":");
                sb_json(&b, r->group);
                sb_str(&b, ",\"type\":\"");
                sb_str(&b, qb_type_names[r->type]);
                sb_str(&b, "\"");
                if (qb_type_has_case(r->type)) {
                    sb_str(&b, ",\"case\":");
                    sb_json(&b, r->case_text ? r->case_text : "");
                }
                g->frag = arena_add(&a, b.p, b.len);
                g->frag_len = (uint32_t)b.len;
            }
            g->size++;
            q->group = (uint32_t)(g - idx->groups);
        }
        b.len = 0;
        sb_str(&b, "\"type\":\"");
        sb_str(&b, qb_type_names[r->type]);
        sb_str(&b, "\",\"section\":");
        sb_json(&b, r->section);
        sb_str(&b, ",\"group\":");
        if (r->group)
            sb_json(&b, r->group);
        else
            sb_str(&b, "null");
        sb_str(&b, ",\"stem\":");
        sb_json(&b, r->stem);
        q->frag = arena_add(&a, b.p, b.len);
        q->frag_len = (uint32_t)b.len;
        q->opt = (uint32_t)idx->nopts;
        for (int k = 0; k < r->nopt; k++) {
            b.len = 0;
            sb_json(&b, r->opt[k]);
            idx->opts[idx->nopts].off = arena_add(&a, b.p, b.len);
            idx->opts[idx->nopts++].len = (uint32_t)b.len;
        }
    }
    free(b.p);
    free(order);
    idx->nq = m;
    idx->arena = a.p ? dk_realloc(a.p, a.len ? a.len : 1) : dk_malloc(1);
    idx->arena_len = a.len;
    qb_strmap_init(&idx->ids, m);
    for (size_t i = 0; i < m; i++)
        qb_strmap_put(&idx->ids, idx->arena + idx->qs[i].id, (uint32_t)i);
    idx->memory = sizeof *idx + m * sizeof *idx->qs + idx->nopts * sizeof *idx->opts +
                  idx->ngroups * sizeof *idx->groups + idx->arena_len +
                  idx->ids.cap * (sizeof *idx->ids.keys + sizeof *idx->ids.vals);
    for (size_t i = 0; i < nbp; i++)
        if (bps[i].category >= 0 && bps[i].category < QB_NCATS && bps[i].paper >= 0 &&
            bps[i].paper < QB_NPAPERS)
            build_blueprint(idx, &bps[i]);
    return idx;
}

/* ---- refcounting -------------------------------------------------------------------------- */

qb_index *qb_index_ref(qb_index *idx)
{
    if (idx) atomic_fetch_add_explicit(&idx->refs, 1, memory_order_relaxed);
    return idx;
}

void qb_index_unref(qb_index *idx)
{
    if (!idx || atomic_fetch_sub_explicit(&idx->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < QB_NCATS * QB_NPAPERS; i++) {
        qb_bp_entry *e = &idx->bps[i];
        if (!e->present) continue;
        for (size_t r = 0; r < e->def.nrows; r++) {
            free(e->pools[r].singles);
            free(e->pools[r].groups);
            free(e->def.rows[r].section);
        }
    }
    for (size_t i = 0; i < idx->nsections; i++)
        free(idx->sections[i]);
    free(idx->sections);
    free(idx->section_cp);
    qb_strmap_free(&idx->ids);
    free(idx->qs);
    free(idx->opts);
    free(idx->groups);
    free(idx->arena);
    free(idx);
}

uint64_t qb_index_version(const qb_index *idx)
{
    return idx->version;
}
size_t qb_index_question_count(const qb_index *idx)
{
    return idx->nq;
}
size_t qb_index_memory(const qb_index *idx)
{
    return idx->memory;
}

const qb_blueprint *qb_blueprint_find(const qb_index *idx, const char *category, const char *paper)
{
    int c = qb_category_find(category), p = qb_paper_find(paper);
    if (c < 0 || p < 0 || !idx->bps[c * QB_NPAPERS + p].present) return NULL;
    return &idx->bps[c * QB_NPAPERS + p].pub;
}

/* ---- loading from MariaDB ------------------------------------------------------------------- */

static int row_to_rec(MYSQL_ROW row, qb_rec *r)
{
    /* id, category, paper, section, qtype, group_id, group_pos, stem, options, answer,
     * difficulty, case_text, retired */
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 5; i++)
        if (!row[i]) return -1;
    if (!row[7] || !row[8] || !row[9]) return -1;
    r->id = dk_strdup(row[0]);
    r->category = qb_category_find(row[1]);
    r->paper = qb_paper_find(row[2]);
    r->section = dk_strdup(row[3]);
    r->type = qb_type_find(row[4]);
    r->group = row[5] ? dk_strdup(row[5]) : NULL;
    r->group_pos = row[6] ? atoi(row[6]) : 0;
    r->stem = dk_strdup(row[7]);
    r->difficulty = row[10] ? atoi(row[10]) : 3;
    r->case_text = row[11] ? dk_strdup(row[11]) : NULL;
    r->retired = row[12] && atoi(row[12]);
    for (const char *p = row[9]; *p; p++)
        if (*p >= 'A' && *p < 'A' + QB_MAX_OPTIONS) r->key |= (uint16_t)(1u << (*p - 'A'));
    json_error_t je;
    json_t *o = json_loads(row[8], 0, &je);
    if (!json_is_object(o) || json_object_size(o) > QB_MAX_OPTIONS) {
        json_decref(o);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v)) break;
        r->opt[r->nopt++] = dk_strdup(json_string_value(v));
    }
    json_decref(o);
    return 0;
}

static int index_load(MYSQL *db, const qb_bp_def *given, size_t ngiven, int own, qb_index **out,
                      dk_error *err);

int qb_index_load(MYSQL *db, qb_index **out, dk_error *err)
{
    return qb_index_load_with(db, NULL, 0, out, err);
}

int qb_index_load_with(MYSQL *db, const qb_bp_def *given, size_t ngiven, qb_index **out,
                       dk_error *err)
{
    return index_load(db, given, ngiven, 1, out, err);
}

int qb_index_load_in_txn(MYSQL *db, const qb_bp_def *given, size_t ngiven, qb_index **out,
                         dk_error *err)
{
    return index_load(db, given, ngiven, 0, out, err);
}

/* own: in a snapshot of its own (else in the caller's transaction, seeing its writes) */
static int index_load(MYSQL *db, const qb_bp_def *given, size_t ngiven, int own, qb_index **out,
                      dk_error *err)
{
    *out = NULL;
    MYSQL_RES *res = NULL;
    qb_rec *recs = NULL;
    size_t n = 0, nbp = 0;
    qb_bp_def *bps = NULL;
    uint64_t version = 0;
    int rc = own ? dk_mysql_exec(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT", NULL, 0, NULL,
                                 NULL, err)
                 : 0;
    if (rc) return rc;
    if ((rc = dk_mysql_exec(db, "SELECT version FROM qb_bank_version WHERE id = 1", NULL, 0, &res,
                            NULL, err)))
        goto fail;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0]) version = strtoull(row[0], NULL, 10);
    mysql_free_result(res);
    res = NULL;
    if ((rc = dk_mysql_exec(db,
                            "SELECT q.id, q.category, q.paper, q.section, q.qtype, q.group_id, "
                            "q.group_pos, q.stem, q.options, q.answer, q.difficulty, g.case_text, "
                            "q.state = 'retired' FROM qb_question q LEFT JOIN qb_group g ON "
                            "g.id = q.group_id WHERE q.state <> 'draft'",
                            NULL, 0, &res, NULL, err)))
        goto fail;
    recs = dk_calloc((size_t)mysql_num_rows(res) + 1, sizeof *recs);
    while ((row = mysql_fetch_row(res))) {
        if (row_to_rec(row, &recs[n])) {
            DK_WARN("qb", "question %s has a malformed row, left out of the index",
                    row[0] ? row[0] : "?");
            qb_rec_clear(&recs[n]);
            continue;
        }
        n++;
    }
    mysql_free_result(res);
    res = NULL;
    if (!given && (rc = qb_blueprint_load_all(db, &bps, &nbp, err))) goto fail;
    if (own) dk_mysql_exec(db, "COMMIT", NULL, 0, NULL, NULL, NULL);
    *out = given ? qb_index_build(recs, n, given, ngiven, version)
                 : qb_index_build(recs, n, bps, nbp, version);
    DK_INFO("qb", "bank loaded version=%llu questions=%zu groups=%zu blueprints=%zu bytes=%zu",
            (unsigned long long)version, (*out)->nq, (*out)->ngroups, given ? ngiven : nbp,
            (*out)->memory);
fail:
    if (rc && own) dk_mysql_rollback(db);
    if (res) mysql_free_result(res);
    for (size_t i = 0; i < n; i++)
        qb_rec_clear(&recs[i]);
    free(recs);
    for (size_t i = 0; i < nbp; i++)
        qb_bp_clear(&bps[i]);
    free(bps);
    return rc;
}

/* ---- the holder --------------------------------------------------------------------------------
 */

struct qb_bank {
    pthread_mutex_t lock;
    qb_index *cur;
};

qb_bank *qb_bank_new(qb_index *idx)
{
    qb_bank *b = dk_calloc(1, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
    b->cur = idx;
    return b;
}

void qb_bank_free(qb_bank *bank)
{
    if (!bank) return;
    qb_index_unref(bank->cur);
    pthread_mutex_destroy(&bank->lock);
    free(bank);
}

qb_index *qb_bank_current(qb_bank *bank)
{
    pthread_mutex_lock(&bank->lock);
    qb_index *idx = qb_index_ref(bank->cur);
    pthread_mutex_unlock(&bank->lock);
    return idx;
}

void qb_bank_swap(qb_bank *bank, qb_index *idx)
{
    pthread_mutex_lock(&bank->lock);
    qb_index *old = bank->cur;
    bank->cur = idx;
    pthread_mutex_unlock(&bank->lock);
    qb_index_unref(old);
}
