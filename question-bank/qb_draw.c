/* qb_draw.c - draws a paper from an index, and the paper's compact text form.
 *
 * Each blueprint row is sampled without replacement from its pool so that every question
 * has the same chance count/pool of appearing: a number of whole groups is drawn with
 * that chance each, then single questions fill the rest; when the pool has no single
 * questions, or the groups drawn do not fit, whole units are taken greedily in random
 * order, and as a last resort a random exact subset is found by subset sums. Everything
 * comes from one xoshiro256** stream seeded from the seed, so a seed redraws its paper.
 * No locks and no allocation but the paper itself (one malloc): the scratch of the
 * sparse Fisher-Yates shuffle is thread-local. */
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "qb_internal.h"

/* ---- random numbers ------------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, int cp)
{
    uint64_t x = seed ^ ((uint64_t)(cp + 1) * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in [0, n) (multiply-shift; the bias is below n / 2^64). */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* ---- sparse Fisher-Yates: k draws out of n in O(k), positions kept in a small map ------ */

#define SFY_CAP 4096u
#define SFY_MAX_STEPS 1536u

typedef struct sfy_map {
    uint32_t gen;
    uint32_t stamp[SFY_CAP], key[SFY_CAP], val[SFY_CAP];
} sfy_map;

static _Thread_local sfy_map tls_map;

typedef struct sfy {
    sfy_map *m;
    uint32_t n, i;
} sfy;

static void sfy_begin(sfy *s, uint32_t n)
{
    s->m = &tls_map;
    s->n = n;
    s->i = 0;
    if (++s->m->gen == 0) {
        memset(s->m->stamp, 0, sizeof s->m->stamp);
        s->m->gen = 1;
    }
}

static inline uint32_t sfy_slot(uint32_t k)
{
    return (k * 2654435761u) & (SFY_CAP - 1);
}

static uint32_t sfy_get(const sfy_map *m, uint32_t k)
{
    for (uint32_t i = sfy_slot(k);; i = (i + 1) & (SFY_CAP - 1)) {
        if (m->stamp[i] != m->gen) return k;
        if (m->key[i] == k) return m->val[i];
    }
}

static void sfy_set(sfy_map *m, uint32_t k, uint32_t v)
{
    for (uint32_t i = sfy_slot(k);; i = (i + 1) & (SFY_CAP - 1)) {
        if (m->stamp[i] != m->gen) {
            m->stamp[i] = m->gen;
            m->key[i] = k;
            m->val[i] = v;
            return;
        }
        if (m->key[i] == k) {
            m->val[i] = v;
            return;
        }
    }
}

/* The next element of a uniformly random permutation of 0..n-1 (s->i < s->n). */
static uint32_t sfy_next(sfy *s, rng *r)
{
    uint32_t j = s->i + rng_below(r, s->n - s->i);
    uint32_t vj = sfy_get(s->m, j);
    if (j != s->i) sfy_set(s->m, j, sfy_get(s->m, s->i));
    s->i++;
    return vj;
}

/* ---- one blueprint row -------------------------------------------------------------------- */

#define GROUP_BIT 0x80000000u /* a selected unit: question index, or GROUP_BIT | group index */

static uint32_t unit_of(const qb_pool *p, uint32_t u)
{
    return u < p->nsingles ? p->singles[u] : GROUP_BIT | p->groups[u - p->nsingles];
}

static uint32_t unit_size(const qb_index *idx, uint32_t sel)
{
    return sel & GROUP_BIT ? idx->groups[sel & ~GROUP_BIT].size : 1;
}

/* Groups each with chance count/pool (their number is fixed up to one Bernoulli), then
 * singles fill the rest: every question of the pool has the same chance. */
static int row_two_phase(const qb_index *idx, const qb_pool *p, rng *r, uint32_t *sel,
                         uint32_t *nsel)
{
    uint32_t n = (uint32_t)p->count;
    for (int attempt = 0; attempt < 8; attempt++) {
        uint32_t c = p->gcount_base + (rng_below(r, p->nquestions) < p->gcount_rem);
        if (c > p->ngroups) c = p->ngroups;
        uint32_t k = 0, got = 0;
        sfy s;
        sfy_begin(&s, p->ngroups);
        for (uint32_t i = 0; i < c && got <= n; i++) {
            uint32_t g = p->groups[sfy_next(&s, r)];
            got += idx->groups[g].size;
            sel[k++] = GROUP_BIT | g;
        }
        if (got > n || n - got > p->nsingles) continue;
        sfy_begin(&s, p->nsingles);
        for (uint32_t i = got; i < n; i++)
            sel[k++] = p->singles[sfy_next(&s, r)];
        *nsel = k;
        return 0;
    }
    return -1;
}

/* Whole units in random order, each taken if it still fits. */
static int row_greedy(const qb_index *idx, const qb_pool *p, rng *r, uint32_t *sel, uint32_t *nsel)
{
    uint32_t units = p->nsingles + p->ngroups;
    for (int attempt = 0; attempt < 4; attempt++) {
        uint32_t rem = (uint32_t)p->count, k = 0;
        sfy s;
        sfy_begin(&s, units);
        while (rem && s.i < units && s.i < SFY_MAX_STEPS) {
            uint32_t u = unit_of(p, sfy_next(&s, r)), size = unit_size(idx, u);
            if (size > rem) continue;
            sel[k++] = u;
            rem -= size;
        }
        if (!rem) {
            *nsel = k;
            return 0;
        }
    }
    return -1;
}

/* A random exact subset by subset sums over the units in random order (rarely needed). */
static int row_exact(const qb_index *idx, const qb_pool *p, rng *r, uint32_t *sel, uint32_t *nsel)
{
    uint32_t units = p->nsingles + p->ngroups, n = (uint32_t)p->count, k = 0;
    uint32_t *perm = dk_malloc((units ? units : 1) * sizeof *perm);
    for (uint32_t i = 0; i < units; i++)
        perm[i] = i;
    for (uint32_t i = units; i > 1; i--) {
        uint32_t j = rng_below(r, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    size_t w = (size_t)n + 1;
    unsigned char *reach = dk_calloc(((size_t)units + 1) * w, 1);
    reach[0] = 1;
    for (uint32_t i = 0; i < units; i++) {
        uint32_t size = unit_size(idx, unit_of(p, perm[i]));
        const unsigned char *a = reach + i * w;
        unsigned char *b = reach + (i + 1) * w;
        for (uint32_t s = 0; s <= n; s++)
            b[s] = a[s] || (s >= size && a[s - size]);
    }
    int rc = -1;
    if (reach[units * w + n]) {
        uint32_t s = n;
        for (uint32_t i = units; i > 0 && s; i--) {
            if (reach[(i - 1) * w + s]) continue;
            uint32_t u = unit_of(p, perm[i - 1]);
            sel[k++] = u;
            s -= unit_size(idx, u);
        }
        *nsel = k;
        rc = 0;
    }
    free(reach);
    free(perm);
    return rc;
}

/* A1 A2 X, then the groups A3 A4 B1: the order of a printed paper. */
static const uint8_t type_rank[QB_NTYPES] = {
    [QB_A1] = 0, [QB_A2] = 1, [QB_X] = 2, [QB_A3] = 3, [QB_A4] = 4, [QB_B1] = 5};

static int emit_row(const qb_index *idx, const uint32_t *sel, uint32_t nsel, qb_item *items,
                    int pos)
{
    for (int rank = 0; rank < QB_NTYPES; rank++)
        for (uint32_t i = 0; i < nsel; i++) {
            uint32_t u = sel[i];
            if (u & GROUP_BIT) {
                const qb_g *g = &idx->groups[u & ~GROUP_BIT];
                if (type_rank[g->type] != rank) continue;
                for (uint32_t m = 0; m < g->size; m++)
                    items[pos++].q = g->first + m;
            } else if (type_rank[idx->qs[u].type] == rank) {
                items[pos++].q = u;
            }
        }
    return pos;
}

/* A uniformly random order of n <= 10 options from one 64-bit number (10! < 2^22). */
static void shuffle_options(uint64_t x, uint8_t n, uint8_t *order)
{
    for (uint8_t i = 0; i < n; i++)
        order[i] = i;
    for (uint8_t i = n; i > 1; i--) {
        uint8_t j = (uint8_t)(x % i), t = order[i - 1];
        x /= i;
        order[i - 1] = order[j];
        order[j] = t;
    }
}

int qb_draw(const qb_index *idx, const char *category, const char *paper, uint64_t seed,
            qb_paper **out, dk_error *err)
{
    *out = NULL;
    int c = qb_category_find(category), pp = qb_paper_find(paper);
    if (c < 0 || pp < 0 || !idx->bps[c * QB_NPAPERS + pp].present)
        return dk_error_set(err, DK_ENOTFOUND, "no blueprint for %.32s %.32s", category, paper);
    const qb_bp_entry *e = &idx->bps[c * QB_NPAPERS + pp];
    if (!e->pub.satisfiable)
        return dk_error_set(err, DK_ECONFLICT, "the bank cannot fill %s %s: %s", e->pub.category,
                            e->pub.paper, e->why);
    int n = e->def.question_count;
    qb_paper *p = dk_malloc(sizeof *p + (size_t)n * sizeof p->items[0]);
    p->serial = idx->serial;
    p->seed = seed;
    p->category = c;
    p->paper = pp;
    rng r;
    rng_seed(&r, seed, c * QB_NPAPERS + pp);
    uint32_t sel[QB_MAX_PAPER];
    int pos = 0;
    for (size_t row = 0; row < e->def.nrows; row++) {
        const qb_pool *pool = &e->pools[row];
        uint32_t nsel = 0;
        int rc = -1;
        if (pool->nsingles) rc = row_two_phase(idx, pool, &r, sel, &nsel);
        if (rc) rc = row_greedy(idx, pool, &r, sel, &nsel);
        if (rc) rc = row_exact(idx, pool, &r, sel, &nsel);
        if (rc) { /* cannot happen for a feasible pool */
            free(p);
            return dk_error_set(err, DK_EINTERNAL, "no exact draw for %s", e->rows[row].section);
        }
        pos = emit_row(idx, sel, nsel, p->items, pos);
    }
    p->count = pos;
    for (int i = 0; i < pos; i++) {
        qb_item *it = &p->items[i];
        const qb_q *q = &idx->qs[it->q];
        it->nopt = q->nopt;
        if (q->type == QB_B1 && i > 0 && idx->qs[p->items[i - 1].q].group == q->group)
            memcpy(it->order, p->items[i - 1].order, sizeof it->order);
        else
            shuffle_options(rng_next(&r), q->nopt, it->order);
    }
    *out = p;
    return 0;
}

/* ---- the paper ---------------------------------------------------------------------------------
 */

void qb_paper_free(qb_paper *p)
{
    free(p);
}
int qb_paper_count(const qb_paper *p)
{
    return p->count;
}
uint64_t qb_paper_seed(const qb_paper *p)
{
    return p->seed;
}
const char *qb_paper_category(const qb_paper *p)
{
    return qb_category_names[p->category];
}
const char *qb_paper_paper(const qb_paper *p)
{
    return qb_paper_names[p->paper];
}

const qb_item *qb_paper_item(const qb_index *idx, const qb_paper *p, int no)
{
    if (!idx || !p || p->serial != idx->serial || no < 1 || no > p->count) return NULL;
    return &p->items[no - 1];
}

const char *qb_paper_question_id(const qb_index *idx, const qb_paper *p, int no)
{
    const qb_item *it = qb_paper_item(idx, p, no);
    return it ? qb_arena(idx, idx->qs[it->q].id) : NULL;
}

int qb_paper_question_type(const qb_index *idx, const qb_paper *p, int no)
{
    const qb_item *it = qb_paper_item(idx, p, no);
    return it ? idx->qs[it->q].type : -1;
}

int qb_paper_question_order(const qb_paper *p, int no, char out[QB_MAX_OPTIONS + 1])
{
    out[0] = '\0';
    if (no < 1 || no > p->count) return DK_ENOTFOUND;
    const qb_item *it = &p->items[no - 1];
    for (int i = 0; i < it->nopt; i++)
        out[i] = (char)('A' + it->order[i]);
    out[it->nopt] = '\0';
    return 0;
}

char *qb_paper_encode(const qb_index *idx, const qb_paper *p, size_t *len)
{
    if (!idx || p->serial != idx->serial) return NULL;
    const char *cat = qb_category_names[p->category], *pap = qb_paper_names[p->paper];
    size_t cap = 64 + strlen(cat) + strlen(pap);
    for (int i = 0; i < p->count; i++)
        cap += strlen(qb_arena(idx, idx->qs[p->items[i].q].id)) + 2 + p->items[i].nopt;
    char *s = dk_malloc(cap);
    size_t o = (size_t)snprintf(s, cap, "qb1;%s;%s;%llu;", cat, pap, (unsigned long long)p->seed);
    for (int i = 0; i < p->count; i++) {
        const qb_item *it = &p->items[i];
        const char *id = qb_arena(idx, idx->qs[it->q].id);
        size_t n = strlen(id);
        if (i) s[o++] = ',';
        memcpy(s + o, id, n);
        o += n;
        s[o++] = ':';
        for (int k = 0; k < it->nopt; k++)
            s[o++] = (char)('A' + it->order[k]);
    }
    s[o] = '\0';
    if (len) *len = o;
    return s;
}

/* The next field of s up to sep (or the end): [*b, *b + *n); advances *pos past sep. */
static int field(const char *s, size_t len, size_t *pos, char sep, const char **b, size_t *n)
{
    if (*pos > len) return -1;
    const char *e = memchr(s + *pos, sep, len - *pos);
    *b = s + *pos;
    *n = e ? (size_t)(e - *b) : len - *pos;
    *pos += *n + 1;
    return e ? 1 : 0;
}

static int find_name(const char *const *names, int count, const char *b, size_t n)
{
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == n && !memcmp(names[i], b, n)) return i;
    return -1;
}

int qb_paper_decode(const qb_index *idx, const char *s, size_t len, qb_paper **out, dk_error *err)
{
    *out = NULL;
    size_t pos = 0, n;
    const char *b;
    if (field(s, len, &pos, ';', &b, &n) != 1 || n != 3 || memcmp(b, "qb1", 3))
        return dk_error_set(err, DK_EINVAL, "not an encoded paper");
    int cat, pap;
    if (field(s, len, &pos, ';', &b, &n) != 1 ||
        (cat = find_name(qb_category_names, QB_NCATS, b, n)) < 0)
        return dk_error_set(err, DK_EINVAL, "encoded paper: bad category");
    if (field(s, len, &pos, ';', &b, &n) != 1 ||
        (pap = find_name(qb_paper_names, QB_NPAPERS, b, n)) < 0)
        return dk_error_set(err, DK_EINVAL, "encoded paper: bad paper");
    if (field(s, len, &pos, ';', &b, &n) != 1 || n == 0 || n > 20)
        return dk_error_set(err, DK_EINVAL, "encoded paper: bad seed");
    uint64_t seed = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] < '0' || b[i] > '9')
            return dk_error_set(err, DK_EINVAL, "encoded paper: bad seed");
        seed = seed * 10 + (uint64_t)(b[i] - '0');
    }
    size_t count = 0;
    for (size_t i = pos; i < len; i++)
        count += s[i] == ',';
    if (pos < len) count++;
    if (count == 0 || count > QB_MAX_PAPER)
        return dk_error_set(err, DK_EINVAL, "encoded paper: %zu questions", count);
    qb_paper *p = dk_malloc(sizeof *p + count * sizeof p->items[0]);
    p->serial = idx->serial;
    p->seed = seed;
    p->category = cat;
    p->paper = pap;
    p->count = 0;
    while (pos < len) {
        const char *item, *id;
        size_t ilen, idlen, ipos = 0;
        field(s, len, &pos, ',', &item, &ilen);
        if (field(item, ilen, &ipos, ':', &id, &idlen) != 1 || idlen == 0 || idlen > QB_MAX_ID) {
            int bad = p->count + 1;
            free(p);
            return dk_error_set(err, DK_EINVAL, "encoded paper: bad item %d", bad);
        }
        uint32_t q = qb_strmap_get(&idx->ids, id, idlen);
        if (q == QB_NONE) {
            dk_error_set(err, DK_ENOTFOUND, "question %.*s is no longer in the bank", (int)idlen,
                         id);
            free(p);
            return DK_ENOTFOUND;
        }
        qb_item *it = &p->items[p->count];
        const char *ord = item + ipos;
        size_t olen = ilen - ipos;
        unsigned seen = 0;
        it->q = q;
        it->nopt = idx->qs[q].nopt;
        memset(it->order, 0, sizeof it->order);
        int ok = olen == it->nopt;
        for (size_t k = 0; ok && k < olen; k++) {
            int o = ord[k] - 'A';
            ok = o >= 0 && o < it->nopt && !(seen & (1u << o));
            if (ok) seen |= 1u << o, it->order[k] = (uint8_t)o;
        }
        if (!ok) {
            free(p);
            return dk_error_set(err, DK_EINVAL, "encoded paper: bad option order of %.*s",
                                (int)idlen, id);
        }
        p->count++;
    }
    *out = p;
    return 0;
}
