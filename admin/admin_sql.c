/* admin_sql.c - the SQL helpers of admind: result sets as JSON (typed, times in ISO
 * 8601 UTC, ID numbers masked unless asked), single values, statements built piece by
 * piece, paged lists, time parsing, text limits, the audit log writer and file storage.
 * Blocking: database worker threads only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin_export.h"

/* "2024-06-03 11:39:05.123" -> "2024-06-03T11:39:05.123Z" */
static json_t *iso_time(const char *v)
{
    char b[40];
    size_t n = strlen(v);
    if (n < 19 || n > 30) return json_string(v);
    snprintf(b, sizeof b, "%.10sT%.8s%s%.4sZ", v, v + 11, n > 19 ? "" : ".000",
             n > 19 ? v + 19 : "");
    return json_string(b);
}

static json_t *cell(MYSQL_FIELD *f, const char *v, unsigned long len, unsigned flags)
{
    if (!v) return json_null();
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
        /* TINYINT(1) columns and comparisons (a = b, x IS NULL) are flags */
        if (f->length == 1) return json_boolean(atoi(v) != 0);
        return json_integer(strtoll(v, NULL, 10));
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: return json_real(strtod(v, NULL));
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP: return iso_time(v);
    default: break;
    }
    if (!(flags & ADMIN_SQL_FULL_ID) && !strcmp(f->name, "id_number")) {
        char m[40];
        dk_mask_id(v, m, sizeof m);
        return json_string(m);
    }
    if (f->charsetnr == 63 &&
        (f->type == MYSQL_TYPE_TINY_BLOB || f->type == MYSQL_TYPE_BLOB ||
         f->type == MYSQL_TYPE_MEDIUM_BLOB || f->type == MYSQL_TYPE_LONG_BLOB))
        return json_null(); /* binary blobs never leave the server */
    json_t *s = json_stringn(v, len);
    return s ? s : json_string("?");
}

static json_t *row_object(MYSQL_RES *res, MYSQL_ROW row, unsigned flags)
{
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *fs = mysql_fetch_fields(res);
    unsigned long *lens = mysql_fetch_lengths(res);
    json_t *o = json_object();
    for (unsigned i = 0; i < n; i++)
        json_object_set_new(o, fs[i].name, cell(&fs[i], row[i], lens[i], flags));
    return o;
}

json_t *admin_sql_row_json(MYSQL_RES *res, MYSQL_ROW row, unsigned flags)
{
    return row_object(res, row, flags);
}

int admin_sql_rows(MYSQL *db, const char *sql, const dk_param *p, size_t n, unsigned flags,
                   json_t **out, dk_error *err)
{
    MYSQL_RES *res;
    *out = NULL;
    int rc = dk_mysql_exec(db, sql, p, n, &res, NULL, err);
    if (rc) return rc;
    json_t *a = json_array();
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res)))
        json_array_append_new(a, row_object(res, row, flags));
    if (res) mysql_free_result(res);
    *out = a;
    return 0;
}

int admin_sql_row(MYSQL *db, const char *sql, const dk_param *p, size_t n, unsigned flags,
                  const char *notfound, json_t **out, dk_error *err)
{
    MYSQL_RES *res;
    *out = NULL;
    int rc = dk_mysql_exec(db, sql, p, n, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row) *out = row_object(res, row, flags);
    if (res) mysql_free_result(res);
    if (!*out) return dk_error_set(err, DK_ENOTFOUND, "%s", notfound ? notfound : "记录不存在");
    return 0;
}

int admin_sql_ll(MYSQL *db, const char *sql, const dk_param *p, size_t n, long long *out,
                 dk_error *err)
{
    return dk_mysql_ll(db, sql, p, n, out, err);
}

int admin_sql_str(MYSQL *db, const char *sql, const dk_param *p, size_t n, char *out, size_t outsz,
                  dk_error *err)
{
    return dk_mysql_str(db, sql, p, n, out, outsz, err);
}

int admin_sql_exec(MYSQL *db, const char *sql, const dk_param *p, size_t n, uint64_t *affected,
                   dk_error *err)
{
    return dk_mysql_exec(db, sql, p, n, NULL, affected, err);
}

/* ---- statements built piece by piece ------------------------------------------------------ */

void admin_sqlb_init(admin_sqlb *b, const char *start)
{
    memset(b, 0, sizeof *b);
    b->cap = 1024;
    b->sql = dk_malloc(b->cap);
    b->sql[0] = '\0';
    if (start) admin_sqlb_cat(b, start);
}

void admin_sqlb_cat(admin_sqlb *b, const char *frag)
{
    size_t n = strlen(frag);
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap *= 2;
        b->sql = dk_realloc(b->sql, b->cap);
    }
    memcpy(b->sql + b->len, frag, n + 1);
    b->len += n;
}

void admin_sqlb_param(admin_sqlb *b, dk_param p)
{
    if (b->np >= ADMIN_SQLB_PARAMS) {
        DK_ERROR("admind", "too many SQL parameters in one statement");
        abort();
    }
    b->p[b->np++] = p;
}

void admin_sqlb_free(admin_sqlb *b)
{
    free(b->sql);
    b->sql = NULL;
}

int admin_list(admin_job *j, MYSQL *db, const char *cols, admin_sqlb *fw, const char *order,
               unsigned flags)
{
    long long page, size, total;
    int rc;
    if ((rc = admin_q_int(j, "page", 1, 1000000, 1, &page)) ||
        (rc = admin_q_int(j, "page_size", 1, 500, 10, &size)))
        return rc;
    admin_sqlb c;
    admin_sqlb_init(&c, "SELECT COUNT(*) ");
    admin_sqlb_cat(&c, fw->sql);
    rc = admin_sql_ll(db, c.sql, fw->p, fw->np, &total, &j->err);
    admin_sqlb_free(&c);
    if (rc) return rc;
    admin_sqlb q;
    admin_sqlb_init(&q, "SELECT ");
    admin_sqlb_cat(&q, cols);
    admin_sqlb_cat(&q, " ");
    admin_sqlb_cat(&q, fw->sql);
    char tail[128];
    snprintf(tail, sizeof tail, " ORDER BY %s LIMIT %lld OFFSET %lld", order, size,
             (page - 1) * size);
    admin_sqlb_cat(&q, tail);
    json_t *items;
    rc = admin_sql_rows(db, q.sql, fw->p, fw->np, flags, &items, &j->err);
    admin_sqlb_free(&q);
    if (rc) return rc;
    j->out = json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total", (json_int_t)total, "page",
                       (json_int_t)page, "page_size", (json_int_t)size);
    return 0;
}

/* ---- time input
 * ------------------------------------------------------------------------------------ */

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

int admin_parse_date(const char *s)
{
    if (!s || strlen(s) != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return DK_EINVAL;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > days_in(y, m)) return DK_EINVAL;
    return 0;
}

int admin_parse_time(const char *s, char out[32])
{
    if (!s || strlen(s) < 20 || strlen(s) > 35) return DK_EINVAL;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    if (admin_parse_date(date) || (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2) ||
        s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return DK_EINVAL;
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) return DK_EINVAL;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3) ms = ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0) return DK_EINVAL;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    long off = 0;
    if (*p == 'Z' && p[1] == '\0') {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' &&
               digits(p + 4, 2)) {
        off = (atoi(p + 1) * 60 + atoi(p + 4)) * 60L;
        if (*p == '-') off = -off;
    } else {
        return DK_EINVAL; /* a time without a zone is ambiguous: refuse it */
    }
    time_t t = timegm(&tm) - off;
    struct tm u;
    gmtime_r(&t, &u);
    char buf[96]; /* wide enough for any int fields, so no truncation to reason about */
    int n = snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", u.tm_year + 1900,
                     u.tm_mon + 1, u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
    if (n < 0 || n > 31) return DK_EINVAL;
    memcpy(out, buf, (size_t)n + 1);
    return 0;
}

/* ---- audit
 * ------------------------------------------------------------------------------------------ */

int admin_audit(MYSQL *db, admin_job *j, unsigned acting_role, const char *action,
                const char *entity_type, long long entity_id, const char *entity_sid,
                const char *from, const char *to, const char *reason, json_t *detail, dk_error *err)
{
    dom_audit_row r = {.action = action,
                       .entity_type = entity_type,
                       .entity_id = entity_id,
                       .entity_sid = entity_sid,
                       .from = from,
                       .to = to,
                       .reason = reason,
                       .detail = detail};
    if (j) {
        r.actor_id = dom_actor_id(&j->actor); /* a 信息审核员 as itself (dom_flow.h) */
        r.role = dom_role_name(&j->actor, acting_role);
        r.actor_type = dom_actor_type(&j->actor, acting_role);
        r.ip = j->ip;
    }
    return dom_audit(db, &r, err);
}

int admin_audit_id_view(MYSQL *db, admin_job *j, unsigned acting_role, long long pid, dk_error *err)
{
    json_t *d = json_pack("{s:s}", "route", j->api ? j->api->name : "");
    int rc = admin_audit(db, j, acting_role, "view_id_number", "physician", pid, NULL, NULL, NULL,
                         NULL, d, err);
    json_decref(d);
    return rc;
}

/* ---- files
 * ---------------------------------------------------------------------------------------- */

int admin_mkdirs(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

int admin_write_file(const char *path, const unsigned char *b, size_t n)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    int rc = fsync(fd);
    if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int admin_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return DK_ENOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return DK_EIO;
    }
    char *b = dk_malloc((size_t)st.st_size + 1);
    size_t off = 0;
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, b + off, (size_t)st.st_size - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        off += (size_t)r;
    }
    close(fd);
    *out = b;
    *len = off;
    return 0;
}

int admin_like_any(admin_job *j, const char *label, const char *text, size_t max, char *out,
                   size_t outsz)
{
    if (strlen(text) > max || outsz < 2 * max + 3)
        return dk_error_set(&j->err, DK_EINVAL, "%s过长", label);
    size_t o = 0;
    out[o++] = '%';
    for (const char *c = text; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') out[o++] = '\\';
        out[o++] = *c;
    }
    out[o++] = '%';
    out[o] = '\0';
    return 0;
}
