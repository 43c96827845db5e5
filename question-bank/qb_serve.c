/* qb_serve.c - what happens to a drawn paper while it is sat: its JSON for the client,
 * checking a choice, and scoring.
 *
 * The client JSON is spliced from fragments the index serialised when it was loaded:
 * one pass measures, the second copies into one contiguous evbuffer reservation, so a
 * paper costs two walks and one memcpy per fragment. Keys are read only by qb_score(). */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "qb_internal.h"

typedef struct sink {
    char *p; /* NULL: only count */
    size_t n;
} sink;

static inline void put(sink *s, const char *b, size_t n)
{
    if (s->p) memcpy(s->p + s->n, b, n);
    s->n += n;
}

#define PUTS(s, lit) put((s), (lit), sizeof(lit) - 1)

static void put_int(sink *s, long long v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", v);
    put(s, b, (size_t)n);
}

static void put_frag(sink *s, const qb_index *idx, uint32_t off, uint32_t len)
{
    put(s, idx->arena + off, len);
}

static void put_options(sink *s, const qb_index *idx, const qb_q *q, const qb_item *it)
{
    static const char labels[] = "ABCDEFGHIJ";
    PUTS(s, "\"options\":[");
    for (int i = 0; i < it->nopt; i++) {
        const qb_span *o = &idx->opts[q->opt + it->order[i]];
        if (i) PUTS(s, ",");
        PUTS(s, "{\"label\":\"");
        put(s, &labels[i], 1);
        PUTS(s, "\",\"text\":");
        put_frag(s, idx, o->off, o->len);
        PUTS(s, "}");
    }
    PUTS(s, "]");
}

static void put_question(sink *s, const qb_index *idx, const qb_paper *p, int i)
{
    const qb_item *it = &p->items[i];
    const qb_q *q = &idx->qs[it->q];
    PUTS(s, "{\"no\":");
    put_int(s, i + 1);
    PUTS(s, ",");
    put_frag(s, idx, q->frag, q->frag_len);
    PUTS(s, ",");
    put_options(s, idx, q, it);
    PUTS(s, "}");
}

static void put_paper(sink *s, const qb_index *idx, const qb_paper *p)
{
    const qb_bp_entry *e = &idx->bps[p->category * QB_NPAPERS + p->paper];
    PUTS(s, "{\"category\":\"");
    put(s, qb_category_names[p->category], strlen(qb_category_names[p->category]));
    PUTS(s, "\",\"paper\":\"");
    put(s, qb_paper_names[p->paper], strlen(qb_paper_names[p->paper]));
    PUTS(s, "\",\"count\":");
    put_int(s, p->count);
    PUTS(s, ",\"duration_min\":");
    put_int(s, e->present ? e->def.duration_min : 0);
    PUTS(s, ",\"questions\":[");
    for (int i = 0; i < p->count; i++) {
        if (i) PUTS(s, ",");
        put_question(s, idx, p, i);
    }
    PUTS(s, "],\"groups\":[");
    int first = 1;
    for (int i = 0; i < p->count;) {
        const qb_q *q = &idx->qs[p->items[i].q];
        if (q->group == QB_NONE) {
            i++;
            continue;
        }
        const qb_g *g = &idx->groups[q->group];
        if (!first) PUTS(s, ",");
        first = 0;
        PUTS(s, "{");
        put_frag(s, idx, g->frag, g->frag_len);
        if (g->type == QB_B1) {
            PUTS(s, ",");
            put_options(s, idx, q, &p->items[i]);
        }
        PUTS(s, ",\"nos\":[");
        int j = i;
        for (; j < p->count && idx->qs[p->items[j].q].group == q->group; j++) {
            if (j > i) PUTS(s, ",");
            put_int(s, j + 1);
        }
        PUTS(s, "]}");
        i = j;
    }
    PUTS(s, "]}");
}

/* Measures, reserves one contiguous block, writes. */
#define EMIT(out, CALL)                                                                            \
    do {                                                                                           \
        sink s_ = {NULL, 0};                                                                       \
        sink *s = &s_;                                                                             \
        CALL;                                                                                      \
        struct evbuffer_iovec v_;                                                                  \
        if (evbuffer_reserve_space((out), (ev_ssize_t)s_.n, &v_, 1) != 1) return DK_EINTERNAL;     \
        s_.p = v_.iov_base;                                                                        \
        s_.n = 0;                                                                                  \
        CALL;                                                                                      \
        v_.iov_len = s_.n;                                                                         \
        if (evbuffer_commit_space((out), &v_, 1)) return DK_EINTERNAL;                             \
    } while (0)

int qb_paper_client_json(const qb_index *idx, const qb_paper *p, struct evbuffer *out)
{
    if (!qb_paper_item(idx, p, 1)) return DK_EINVAL;
    EMIT(out, put_paper(s, idx, p));
    return 0;
}

int qb_paper_question_json(const qb_index *idx, const qb_paper *p, int no, struct evbuffer *out)
{
    if (!qb_paper_item(idx, p, no)) return DK_ENOTFOUND;
    EMIT(out, put_question(s, idx, p, no - 1));
    return 0;
}

/* ---- choices and scoring ------------------------------------------------------------------ */

int qb_choice_normalise(const qb_index *idx, const qb_paper *p, int no, const char *in, size_t len,
                        char out[QB_CHOICE_MAX], dk_error *err)
{
    out[0] = '\0';
    const qb_item *it = qb_paper_item(idx, p, no);
    if (!it) return dk_error_set(err, DK_ENOTFOUND, "no question %d in this paper", no);
    int type = idx->qs[it->q].type;
    while (len && (*in == ' ' || *in == '\t'))
        in++, len--;
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (!len) return dk_error_set(err, DK_EINVAL, "empty choice");
    if (len > QB_MAX_OPTIONS)
        return dk_error_set(err, DK_EINVAL, "choice longer than %d letters", QB_MAX_OPTIONS);
    unsigned mask = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 32);
        int d = c - 'A';
        if (d < 0 || d >= it->nopt)
            return dk_error_set(err, DK_EINVAL, "choose letters A to %c", 'A' + it->nopt - 1);
        if (mask & (1u << d)) return dk_error_set(err, DK_EINVAL, "letter %c given twice", c);
        mask |= 1u << d;
    }
    if (type != QB_X && len != 1)
        return dk_error_set(err, DK_EINVAL, "question %d takes exactly one letter", no);
    if (len > QB_CHOICE_MAX - 1)
        return dk_error_set(err, DK_EINVAL, "at most %d letters", QB_CHOICE_MAX - 1);
    size_t o = 0;
    for (int d = 0; d < it->nopt; d++)
        if (mask & (1u << d)) out[o++] = (char)('A' + d);
    out[o] = '\0';
    return 0;
}

int qb_score(const qb_index *idx, const qb_paper *p, const char *const *choices, int *score,
             int *total)
{
    *score = 0;
    *total = 0;
    if (!qb_paper_item(idx, p, 1)) return DK_EINVAL;
    int s = 0;
    for (int i = 0; i < p->count; i++) {
        const char *c = choices ? choices[i] : NULL;
        if (!c || !*c) continue;
        const qb_item *it = &p->items[i];
        const qb_q *q = &idx->qs[it->q];
        unsigned mask = 0;
        int letters = 0, ok = 1;
        for (; *c && ok; c++) {
            int d = (*c >= 'a' && *c <= 'z' ? *c - 32 : *c) - 'A';
            ok = d >= 0 && d < it->nopt && !(mask & (1u << it->order[d]));
            if (ok) mask |= 1u << it->order[d], letters++;
        }
        if (ok && (q->type == QB_X || letters == 1) && mask == q->key) s++;
    }
    *score = s;
    *total = p->count;
    return 0;
}
