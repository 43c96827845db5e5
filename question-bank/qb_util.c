/* qb_util.c - the small things the rest of question-bank/ stands on: the names of
 * categories, papers and types, strict UTF-8, the text rules of the import format
 * (Unicode white space, image references, the normalisation used to spot repeated
 * questions) and a string-keyed hash map. Pure functions; no allocation but the map's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dk_log.h"
#include "qb_internal.h"

const char *const qb_category_names[QB_NCATS] = {"临床", "中医", "口腔", "公共卫生"};
const char *const qb_paper_names[QB_NPAPERS] = {"公共知识", "业务水平"};
const char *const qb_type_names[QB_NTYPES] = {"A1", "A2", "A3", "A4", "B1", "X"};
static const char *const public_sections[] = {"医学伦理学", "卫生法规", "医学心理学"};

static int find(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

int qb_category_find(const char *s)
{
    return find(qb_category_names, QB_NCATS, s);
}
int qb_paper_find(const char *s)
{
    return find(qb_paper_names, QB_NPAPERS, s);
}
int qb_type_find(const char *s)
{
    return find(qb_type_names, QB_NTYPES, s);
}
int qb_type_is_group(int t)
{
    return t == QB_A3 || t == QB_A4 || t == QB_B1;
}
int qb_type_has_case(int t)
{
    return t == QB_A3 || t == QB_A4;
}
int qb_section_is_public(const char *s)
{
    return find(public_sections, 3, s) >= 0;
}

void qb_rec_clear(qb_rec *r)
{
    free(r->id);
    free(r->section);
    free(r->stem);
    free(r->case_text);
    free(r->group);
    free(r->explanation);
    for (int i = 0; i < r->nopt; i++)
        free(r->opt[i]);
    memset(r, 0, sizeof *r);
}

void qb_key_letters(uint16_t key, char *out)
{
    int n = 0;
    for (int i = 0; i < QB_MAX_OPTIONS; i++)
        if (key & (1u << i)) out[n++] = (char)('A' + i);
    out[n] = '\0';
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Decodes one code point of valid UTF-8 (checked before) and advances *p. */
static uint32_t next_cp(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    if (c < 0x80) {
        *p = s + 1;
        return c;
    }
    if (c < 0xE0) {
        *p = s + 2;
        return ((c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0) {
        *p = s + 3;
        return ((c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *p = s + 4;
    return ((c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
           (s[3] & 0x3F);
}

int qb_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str, *e = s + n;
    while (s < e) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if ((size_t)(e - s) <= need) return 0;
        for (size_t i = 1; i <= need; i++) {
            if ((s[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        s += need + 1;
    }
    return 1;
}

size_t qb_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Python's str.isspace(). */
static int is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

int qb_is_blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p)
        if (!is_space(next_cp(&p))) return 0;
    return 1;
}

void qb_strip(const char *s, const char **b, size_t *n)
{
    const unsigned char *p = (const unsigned char *)s, *start = NULL, *end = p;
    while (*p) {
        const unsigned char *q = p;
        uint32_t c = next_cp(&p);
        if (!is_space(c)) {
            if (!start) start = q;
            end = p;
        }
    }
    *b = start ? (const char *)start : s;
    *n = start ? (size_t)(end - start) : 0;
}

/* A character Python's \w would match (letters, digits, '_'), roughly: ASCII alnum and
 * '_', and anything non-ASCII that is not white space or punctuation. */
static int is_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_';
    if (is_space(c)) return 0;
    if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
        (c >= 0xFE30 && c <= 0xFE6F) || (c >= 0xFF00 && c <= 0xFF0F) ||
        (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
        (c >= 0xFF5B && c <= 0xFF65))
        return 0;
    return 1;
}

/* check_format.py: <img|\.(png|jpe?g|gif|bmp|svg)\b|如图|见图|下图|附图, ignoring case. */
int qb_has_image_ref(const char *s)
{
    static const char *const words[] = {"如图", "见图", "下图", "附图"};
    static const char *const exts[] = {"png", "jpg", "jpeg", "gif", "bmp", "svg"};
    for (size_t i = 0; i < 4; i++)
        if (strstr(s, words[i])) return 1;
    for (const char *p = s; *p; p++) {
        if (*p == '<' && !strncasecmp(p + 1, "img", 3)) return 1;
        if (*p != '.') continue;
        for (size_t i = 0; i < 6; i++) {
            size_t n = strlen(exts[i]);
            if (strncasecmp(p + 1, exts[i], n)) continue;
            const unsigned char *after = (const unsigned char *)p + 1 + n;
            if (!*after || !is_word(next_cp(&after))) return 1;
        }
    }
    return 0;
}

/* ---- hashing and normalisation ------------------------------------------------------------- */

uint64_t qb_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Punctuation, symbols and separators (Unicode P*, S*, Z*) after the fold below,
 * approximately: ASCII non-alphanumerics, Latin-1 signs, general punctuation, arrows,
 * maths, boxes, shapes, dingbats, CJK punctuation and the full-width signs. */
static int is_punct_or_symbol(uint32_t c)
{
    if (c < 0x80) return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'));
    if (c >= 0xA1 && c <= 0xBF)
        return c != 0xAA && c != 0xB2 && c != 0xB3 && c != 0xB5 && c != 0xB9 && c != 0xBA &&
               c != 0xBC && c != 0xBD && c != 0xBE;
    if (c == 0xD7 || c == 0xF7) return 1;
    if (c >= 0x2010 && c <= 0x2BFF)
        return !(c >= 0x2070 && c <= 0x209F) && !(c >= 0x2150 && c <= 0x218F) &&
               !(c >= 0x2460 && c <= 0x24FF);
    if (c >= 0x3001 && c <= 0x303F) return !(c >= 0x3005 && c <= 0x3007) && c != 0x3021;
    if (c >= 0xFE10 && c <= 0xFE6F) return 1;
    if (c >= 0xFF5F && c <= 0xFF65) return 1;
    if (c >= 0xFFE0 && c <= 0xFFEE) return 1;
    return 0;
}

/* Folds a code point as NFKC + lower() would for the characters exam text uses:
 * full-width ASCII, ideographic space, circled and parenthesised numbers, Latin-1 and
 * Greek capitals. Returns 0 for characters that normalise to several (dropped). */
static uint32_t fold(uint32_t c)
{
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;
    if (c == 0x3000) c = ' ';
    if (c >= 0x2460 && c <= 0x2468) c = '1' + (c - 0x2460);
    if (c >= 0x2474 && c <= 0x247C) c = '1' + (c - 0x2474);
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) c += 32;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) c += 32;
    if (c >= 0x410 && c <= 0x42F) c += 32;
    return c;
}

uint64_t qb_hash_norm(uint64_t h, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = fold(next_cp(&p));
        if (is_space(c) || is_punct_or_symbol(c)) continue;
        h = qb_hash_bytes(h, &c, sizeof c);
    }
    return h;
}

/* ---- string map ------------------------------------------------------------------------------ */

static uint64_t str_hash(const char *k, size_t n)
{
    uint64_t h = qb_hash_bytes(0xcbf29ce484222325ULL, k, n);
    return h ^ (h >> 29);
}

void qb_strmap_init(qb_strmap *m, size_t hint)
{
    size_t cap = 16;
    while (cap < hint * 2)
        cap *= 2;
    m->keys = dk_calloc(cap, sizeof *m->keys);
    m->vals = dk_calloc(cap, sizeof *m->vals);
    m->cap = cap;
    m->n = 0;
}

void qb_strmap_free(qb_strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

uint32_t qb_strmap_get(const qb_strmap *m, const char *k, size_t klen)
{
    size_t mask = m->cap - 1;
    for (size_t i = str_hash(k, klen) & mask;; i = (i + 1) & mask) {
        const char *e = m->keys[i];
        if (!e) return QB_NONE;
        if (!strncmp(e, k, klen) && e[klen] == '\0') return m->vals[i];
    }
}

static void put_raw(qb_strmap *m, const char *k, uint32_t v)
{
    size_t mask = m->cap - 1, klen = strlen(k);
    size_t i = str_hash(k, klen) & mask;
    while (m->keys[i] && strcmp(m->keys[i], k))
        i = (i + 1) & mask;
    if (!m->keys[i]) m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
}

void qb_strmap_put(qb_strmap *m, const char *k, uint32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        qb_strmap old = *m;
        qb_strmap_init(m, old.cap);
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i]) put_raw(m, old.keys[i], old.vals[i]);
        qb_strmap_free(&old);
    }
    put_raw(m, k, v);
}

void qb_fpad(FILE *f, const char *s, int cols)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w += *p >= 0xE1 ? 2 : 1;
    fputs(s, f);
    for (; w < cols; w++)
        fputc(' ', f);
}
