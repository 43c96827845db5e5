/* admin_cert.c - the pass certificate (定期考核合格证书, seed [002] 打印/下载证书) as a PDF,
 * or as the picture seed [004] saves (下载证书: PNG, the same drawing), and its public
 * verification.
 *
 * The PDF is drawn with cairo and pango in Noto Serif CJK: A4 landscape, the holder, the
 * cycle, the result, the issuing authority (发证机关) and date, the number, and a QR code
 * (libqrencode) of the verification address, cert_verify_url + the certificate's
 * verification code (domain: dom_cert_verify_code; 100 random bits, so the public page can
 * be asked about a certificate only by someone who holds it: the guessable certificate
 * number is never a key). The public page answers genuine, revoked (the enrolment is no
 * longer 考核完成 合格, e.g. after 认定作弊) or unknown, with the name, the masked ID number,
 * the cycle, the result and the number; it is counted per address (cert_verify_max) and
 * every answer that names someone is audited.
 *
 * Threads: database worker threads (the route's pool), never a loop. Rendering holds one
 * process-wide mutex (fontconfig is not safe to enter from several threads at once) and a
 * font map of its own, freed after each page. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_export.h"
#include "dom_tests.h"

#define PDF_MAX (8 << 20) /* a certificate is ~100 KB (PDF) or ~400 KB (PNG): more is a bug */
#define FONT_SERIF "Noto Serif CJK SC"
#define FONT_SANS "Noto Sans CJK SC"

static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;
#define RENDER_WAIT_MS 1000

/* ---- dates ---------------------------------------------------------------------------------- */

/* "2024-06-03T16:39:05.000Z" (UTC, shown in Beijing) or "2024-06-03" -> "2024年6月4日" */
static void cn_date(const char *s, char out[40])
{
    struct tm tm = {0};
    out[0] = '\0';
    if (!s || sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3) return;
    if (strlen(s) >= 19 && s[10] == 'T') {
        tm.tm_hour = atoi(s + 11);
        tm.tm_min = atoi(s + 14);
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm) + (strlen(s) >= 19 && s[10] == 'T' ? 8 * 3600 : 0);
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%d年%d月%d日", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2) v = json_object_get(v, path2);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* ---- drawing ---------------------------------------------------------------------------- */

typedef struct pdf_buf {
    char *b;
    size_t len, cap;
    int over;
} pdf_buf;

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
    pdf_buf *p = closure;
    if (p->len + length > PDF_MAX) {
        p->over = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (p->len + length > p->cap) {
        while (p->len + length > p->cap)
            p->cap = p->cap ? p->cap * 2 : 64 << 10;
        p->b = dk_realloc(p->b, p->cap);
    }
    memcpy(p->b + p->len, data, length);
    p->len += length;
    return CAIRO_STATUS_SUCCESS;
}

typedef struct page {
    cairo_t *cr;
    PangoContext *ctx;
} page;

/* Text at (x, y) in a box of width w (align: PANGO_ALIGN_*), wrapped; one line cut with …
 * when the box is given as a negative width. */
static double text(page *pg, const char *font, double size, int bold, double x, double y, double w,
                   PangoAlignment align, const char *s)
{
    int one_line = w < 0;
    if (one_line) w = -w;
    PangoLayout *l = pango_layout_new(pg->ctx);
    PangoFontDescription *fd = pango_font_description_from_string(font);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(l, fd);
    pango_layout_set_width(l, (int)(w * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    if (one_line) pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment(l, align);
    pango_layout_set_text(l, s, -1);
    cairo_move_to(pg->cr, x, y);
    pango_cairo_show_layout(pg->cr, l);
    int lw, lh;
    pango_layout_get_size(l, &lw, &lh);
    pango_font_description_free(fd);
    g_object_unref(l);
    return (double)lh / PANGO_SCALE;
}

/* The QR code of s, size pt square, at (x, y): dark modules as filled squares. */
static int qr(page *pg, const char *s, double x, double y, double size)
{
    QRcode *q = QRcode_encodeString(s, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q) return -1;
    int n = q->width, quiet = 2;
    double m = size / (n + 2 * quiet);
    cairo_set_source_rgb(pg->cr, 1, 1, 1);
    cairo_rectangle(pg->cr, x, y, size, size);
    cairo_fill(pg->cr);
    cairo_set_source_rgb(pg->cr, 0, 0, 0);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            if (q->data[r * n + c] & 1)
                cairo_rectangle(pg->cr, x + (c + quiet) * m, y + (r + quiet) * m, m + 0.02,
                                m + 0.02);
    cairo_fill(pg->cr);
    QRcode_free(q);
    return 0;
}

/* The certificate, A4 landscape (842 x 595 pt). cert: admin_certificate's JSON. */
static void draw(page *pg, json_t *cert, const char *url, const char *code)
{
    cairo_t *cr = pg->cr;
    const double W = 842, H = 595;
    /* a double frame in the seal's red-brown */
    cairo_set_source_rgb(cr, 0.55, 0.16, 0.12);
    cairo_set_line_width(cr, 4);
    cairo_rectangle(cr, 24, 24, W - 48, H - 48);
    cairo_stroke(cr);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, 32, 32, W - 64, H - 64);
    cairo_stroke(cr);

    cairo_set_source_rgb(cr, 0.55, 0.16, 0.12);
    text(pg, FONT_SERIF, 34, 1, 60, 62, W - 120, PANGO_ALIGN_CENTER, jstr(cert, "title", NULL));
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);

    char line[1024], from[40], to[40], issued[40], done[40];
    cn_date(jstr(cert, "cycle", "period_start"), from);
    cn_date(jstr(cert, "cycle", "period_end"), to);
    cn_date(jstr(cert, "issued_at", NULL), issued);
    cn_date(jstr(cert, "completed_at", NULL), done);
    snprintf(line, sizeof line,
             "    %s（证件号码 %s）于 %s 所在的 %s 考核周期（%s至%s）参加医师定期考核，"
             "考核程序为%s，经考核，结果为「%s」，特发此证。",
             jstr(cert, "physician", "name"), jstr(cert, "physician", "id_number"),
             jstr(cert, "institution_name", NULL), jstr(cert, "cycle", "name"), from, to,
             jstr(cert, "procedure_type", NULL), jstr(cert, "result", NULL));
    double said = text(pg, FONT_SERIF, 16, 0, 80, 130, W - 160, PANGO_ALIGN_LEFT, line);

    static const struct {
        const char *label, *k1, *k2;
    } rows[] = {{"姓　　名", "physician", "name"},
                {"性　　别", "physician", "sex"},
                {"证件号码", "physician", "id_number"},
                {"医师级别", "physician", "practice_level"},
                {"执业类别", "physician", "practice_category"},
                {"执业范围", "physician", "practice_scope"},
                {"执业证书编号", "physician", "practice_cert_no"},
                {"执业机构", "institution_name", NULL},
                {"考核周期", "cycle", "name"},
                {"考核结果", "result", NULL}};
    double y = 130 + said + 16; /* below the sentence, however long its names made it */
    if (y > 230) y = 230;        /* five rows must end above the issuer (y 375) */
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(line, sizeof line, "%s：%s", rows[i].label, jstr(cert, rows[i].k1, rows[i].k2));
        text(pg, FONT_SERIF, 14, 0, i % 2 ? 440 : 100, y, -330, PANGO_ALIGN_LEFT, line);
        if (i % 2) y += 28;
    }

    /* the issuer, the date and the seal's place, bottom right */
    snprintf(line, sizeof line, "发证机关：%s", jstr(cert, "issuer", "name"));
    text(pg, FONT_SERIF, 15, 1, 430, 375, 340, PANGO_ALIGN_RIGHT, line);
    snprintf(line, sizeof line, "发证日期：%s", issued);
    text(pg, FONT_SERIF, 14, 0, 430, 402, 340, PANGO_ALIGN_RIGHT, line);
    snprintf(line, sizeof line, "考核完成日期：%s", done);
    text(pg, FONT_SERIF, 12, 0, 430, 426, 340, PANGO_ALIGN_RIGHT, line);
    cairo_set_source_rgb(cr, 0.55, 0.16, 0.12);
    text(pg, FONT_SERIF, 12, 0, 430, 450, 340, PANGO_ALIGN_RIGHT, jstr(cert, "seal_note", NULL));
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);

    /* the number, the QR code of the verification page and its address, bottom left */
    char full[512];
    snprintf(full, sizeof full, "%s%s", url, code);
    qr(pg, full, 60, 385, 120);
    snprintf(line, sizeof line, "证书编号：%s", jstr(cert, "cert_no", NULL));
    text(pg, FONT_SANS, 11, 0, 190, 395, 250, PANGO_ALIGN_LEFT, line);
    snprintf(line, sizeof line, "验证码：%s", code);
    text(pg, FONT_SANS, 11, 0, 190, 415, 250, PANGO_ALIGN_LEFT, line);
    text(pg, FONT_SANS, 10, 0, 190, 437, 240, PANGO_ALIGN_LEFT,
         "扫描二维码或访问下列网址，核验本证书的真伪与状态：");
    text(pg, FONT_SANS, 8, 0, 190, 470, 240, PANGO_ALIGN_LEFT, full);
}

int admin_certificate_render(admin_job *j, MYSQL *db, long long eid, json_t *cert, int png)
{
    char code[DOM_CERT_CODE_LEN + 1];
    int rc = dom_cert_verify_code(db, eid, code, &j->err);
    if (rc) return rc;
    const char *url = dk_config_str(j->srv->cfg, "cert_verify_url");
    pdf_buf out = {0};
    /* one render at a time (cairo/pango font maps); a caller waits at most RENDER_WAIT_MS on
     * this database thread, then gets 503: a flood of downloads cannot hold every db thread */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += RENDER_WAIT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    if (pthread_mutex_timedlock(&render_lock, &until) != 0) {
        dk_error_set(&j->err, DK_EBUSY, "证书生成繁忙，请稍后重试");
        j->err.retry_after = 2;
        return DK_EBUSY;
    }
    cairo_surface_t *s;
    if (png) { /* seed [004] 下载证书: the picture, twice the points for print */
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 842 * 2, 595 * 2);
    } else {
        s = cairo_pdf_surface_create_for_stream(pdf_write, &out, 842, 595);
        char title[160];
        snprintf(title, sizeof title, "医师定期考核合格证书 %s", jstr(cert, "cert_no", NULL));
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "dingkao admind");
    }
    cairo_t *cr = cairo_create(s);
    if (png) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        cairo_scale(cr, 2, 2);
    }
    PangoFontMap *fm = pango_cairo_font_map_new();
    page pg = {cr, pango_font_map_create_context(fm)};
    pango_cairo_update_context(cr, pg.ctx);
    draw(&pg, cert, url, code);
    cairo_show_page(cr);
    g_object_unref(pg.ctx);
    g_object_unref(fm);
    cairo_destroy(cr);
    if (png) cairo_surface_flush(s);
    cairo_status_t st = png ? cairo_surface_write_to_png_stream(s, pdf_write, &out) : CAIRO_STATUS_SUCCESS;
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    pthread_mutex_unlock(&render_lock);
    if (st != CAIRO_STATUS_SUCCESS || out.over) {
        free(out.b);
        return dk_error_set(&j->err, DK_EINTERNAL, "certificate rendering failed: %s",
                            cairo_status_to_string(st));
    }
    const char *fmt = png ? "png" : "pdf";
    j->bytes = out.b;
    j->bytes_len = out.len;
    j->ctype = png ? "image/png" : "application/pdf";
    snprintf(j->filename, sizeof j->filename, "certificate-%.60s.%s", jstr(cert, "cert_no", NULL),
             fmt);
    json_t *d = json_pack("{s:s,s:s}", "format", fmt, "cert_no", jstr(cert, "cert_no", NULL));
    unsigned acting = j->actor.kind == 'i' ? ADMIN_R_INST : 0;
    rc = admin_audit(db, j, acting, "certificate_download", "enrolment", eid, NULL, NULL, NULL,
                     NULL, d, &j->err);
    json_decref(d);
    if (rc) {
        free(j->bytes);
        j->bytes = NULL;
        j->bytes_len = 0;
    }
    return rc;
}

/* ---- GET /api/v1/public/certificates/{code} ----------------------------------------------- */

/* The code as typed or scanned: Crockford base32, case-insensitive, O as 0 and I L as 1;
 * 0 when it cannot be one. */
static int norm_code(const char *in, char out[DOM_CERT_CODE_LEN + 1])
{
    if (!in || strlen(in) != DOM_CERT_CODE_LEN) return 0;
    for (size_t i = 0; i < DOM_CERT_CODE_LEN; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        if (c == 'O') c = '0';
        if (c == 'I' || c == 'L') c = '1';
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c) || !c) return 0;
        out[i] = c;
    }
    out[DOM_CERT_CODE_LEN] = '\0';
    return 1;
}

int admin_cert_verify(admin_job *j, MYSQL *db)
{
    char code[DOM_CERT_CODE_LEN + 1];
    if (!norm_code(j->params[0], code))
        return dk_error_set(&j->err, DK_ENOTFOUND,
                            "查无此证书：验证码应为 %d 位字母或数字，请核对证书上的验证码",
                            DOM_CERT_CODE_LEN);
    json_t *row;
    dk_param p[] = {DK_PSTR(code)};
    int rc = admin_sql_row(
        db,
        "SELECT x.enrolment_id, x.cert_no, x.issued_at, au.name AS issuer_name, p.name, "
        "p.id_number, c.name AS cycle_name, c.code AS cycle_code, e.status, e.result, "
        "(e.status = '" DOM_ST_DONE "' AND e.result = '" DOM_RESULT_PASS "') AS valid "
        "FROM certificate x JOIN enrolment e ON e.id = x.enrolment_id "
        "JOIN physician p ON p.id = e.physician_id JOIN cycle c ON c.id = e.cycle_id "
        "JOIN authority au ON au.id = x.authority_id WHERE x.verify_code = ?",
        p, 1, 0, "查无此证书：该验证码没有对应的合格证书，证书可能是伪造的", &row, &j->err);
    dom_audit_row a = {.actor_type = NULL, .action = "certificate_verify", .ip = j->ip};
    if (rc == DK_ENOTFOUND) { /* a forged or mistyped code: audited too (who probes) */
        json_t *d = json_pack("{s:s}", "code", code);
        a.entity_type = "certificate";
        a.entity_sid = "unknown";
        a.detail = d;
        dk_error ignore = {0};
        dom_audit(db, &a, &ignore);
        json_decref(d);
        return rc;
    }
    if (rc) return rc;
    int valid = json_is_true(json_object_get(row, "valid"));
    const char *status = valid ? "valid" : "revoked";
    /* a revoked one says only that: why (a cheating determination, a changed result) and the
     * physician's current status are not for whoever holds the code; the issuer is named */
    const char *msg = valid ? "该证书为本系统签发的医师定期考核合格证书，当前有效"
                            : "证书已撤销：该证书已失效，详情请向发证机关核实";
    char issued[40];
    cn_date(jstr(row, "issued_at", NULL), issued);
    const char *res = valid ? jstr(row, "result", NULL) : "已撤销";
    j->out = json_pack("{s:s,s:b,s:s,s:O,s:O,s:O,s:O,s:O,s:s,s:s}", "status", status, "valid",
                       valid, "message", msg, "cert_no", json_object_get(row, "cert_no"), "name",
                       json_object_get(row, "name"), "id_number",
                       json_object_get(row, "id_number"), /* masked by admin_sql_row */
                       "cycle", json_object_get(row, "cycle_name"), "issuer",
                       json_object_get(row, "issuer_name"), "issued_on", issued, "result",
                       res);
    json_t *d = json_pack("{s:s,s:O}", "status", status, "cert_no", json_object_get(row, "cert_no"));
    a.entity_type = "enrolment";
    a.entity_id = json_integer_value(json_object_get(row, "enrolment_id"));
    a.detail = d;
    rc = dom_audit(db, &a, &j->err);
    json_decref(d);
    json_decref(row);
    return rc;
}
