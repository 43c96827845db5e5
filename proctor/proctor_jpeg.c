/* proctor_jpeg.c - JPEG captures in, BGR pixels out, through the TurboJPEG API.
 *
 * Everything that can be refused is refused from the header, before a pixel is
 * decoded: not a JPEG, over the byte limit, over the width/height/pixel limits, too
 * small. Large photos are decoded at a TurboJPEG scaling factor (long side <= 1280).
 * A truncated or corrupt file is an error with TurboJPEG's reason, never a grey-filled
 * picture: libjpeg warnings count as errors here. CMYK and YCCK JPEGs (scanners, print
 * software) are decoded to CMYK and converted to BGR here, without colour management.
 * Every refusal says its real cause. Thread-safe (a handle per call). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "dk_log.h"
#include "proctor_internal.h"

double proctor_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *what_is_it(const unsigned char *b, size_t len)
{
    if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "a PNG";
    if (len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) return "a GIF";
    if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "a WEBP";
    if (len >= 2 && b[0] == 'B' && b[1] == 'M') return "a BMP";
    return "not an image we know";
}

/* TurboJPEG's error as a reason that names the cause: a libjpeg warning (with
 * TJFLAG_STOPONWARNING) is damaged data; "Unsupported ..." is a valid JPEG of a kind
 * libjpeg-turbo cannot decode (lossless, 12-bit, an unknown colour transform); the scan
 * limit is our own refusal. */
static int tj_fail(tjhandle h, int header, dk_error *err)
{
    const char *msg = tjGetErrorStr2(h);
    if (tjGetErrorCode(h) == TJERR_WARNING)
        return dk_error_set(err, DK_EUNPROCESSABLE, "corrupt or truncated JPEG: %s", msg);
    if (strstr(msg, "scans"))
        return dk_error_set(err, DK_EUNPROCESSABLE, "refused: %s (a limit against decoding bombs)",
                            msg);
    if (strstr(msg, "Unsupported") || strstr(msg, "not supported"))
        return dk_error_set(err, DK_EUNPROCESSABLE, "unsupported kind of JPEG: %s", msg);
    return dk_error_set(err, DK_EUNPROCESSABLE, "%s: %s",
                        header ? "bad JPEG header" : "corrupt or truncated JPEG", msg);
}

/* 1 when an APP14 "Adobe" segment comes before the first SOS. Photoshop (and libjpeg,
 * which writes this marker for CMYK/YCCK) store CMYK inverted: 255 = no ink. A CMYK JPEG
 * without it is taken to be plain (0 = no ink), as browsers do. Bounded by len. */
static int has_adobe_marker(const unsigned char *b, size_t len)
{
    size_t i = 2;
    while (i + 4 <= len && b[i] == 0xFF) {
        unsigned char m = b[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0xDA || m == 0xD9) break; /* SOS, EOI */
        size_t seg = (size_t)b[i + 2] << 8 | b[i + 3];
        if (seg < 2) break;
        if (m == 0xEE && seg >= 12 && i + 4 + 5 <= len && !memcmp(b + i + 4, "Adobe", 5)) return 1;
        i += 2 + seg;
    }
    return 0;
}

/* CMYK (4 bytes a pixel, as stored in the JPEG) to BGR in place of out: R = (1-C)(1-K) in
 * plain CMYK; with Adobe's inverted values that is R = C'K'/255. */
static void cmyk_to_bgr(const unsigned char *cmyk, unsigned char *bgr, size_t pixels, int inverted)
{
    for (size_t i = 0; i < pixels; i++, cmyk += 4, bgr += 3) {
        unsigned c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        bgr[0] = (unsigned char)((y * k + 127) / 255);
        bgr[1] = (unsigned char)((m * k + 127) / 255);
        bgr[2] = (unsigned char)((c * k + 127) / 255);
    }
}

/* The header part shared by proctor_jpeg_check and proctor_jpeg_decode. */
static int check_header(tjhandle h, const unsigned char *jpeg, size_t len, const proctor_options *o,
                        int *w, int *hh, int *colorspace, dk_error *err)
{
    if (!jpeg || len == 0) return dk_error_set(err, DK_EUNPROCESSABLE, "empty image");
    if (len > o->max_bytes)
        return dk_error_set(err, DK_ETOOBIG, "image of %zu bytes is over the limit of %zu", len,
                            o->max_bytes);
    if (len < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 || jpeg[2] != 0xFF)
        return dk_error_set(err, DK_EUNPROCESSABLE, "not a JPEG (%s)", what_is_it(jpeg, len));
    if (len > (size_t)0xFFFFFFFFul)
        return dk_error_set(err, DK_ETOOBIG, "image of %zu bytes is too large", len);
    int subsamp = 0, cs = 0;
    if (tjDecompressHeader3(h, jpeg, (unsigned long)len, w, hh, &subsamp, &cs) != 0)
        return tj_fail(h, 1, err);
    *colorspace = cs;
    if (*w <= 0 || *hh <= 0)
        return dk_error_set(err, DK_EUNPROCESSABLE, "bad JPEG dimensions %dx%d", *w, *hh);
    if (*w > o->max_width || *hh > o->max_height || (long long)*w * *hh > o->max_pixels)
        return dk_error_set(err, DK_ETOOBIG, "image %dx%d is over the limits %dx%d, %lld pixels",
                            *w, *hh, o->max_width, o->max_height, o->max_pixels);
    if (*w < PROCTOR_MIN_SIDE || *hh < PROCTOR_MIN_SIDE)
        return dk_error_set(err, DK_EUNPROCESSABLE, "image %dx%d is too small (minimum %dx%d)", *w,
                            *hh, PROCTOR_MIN_SIDE, PROCTOR_MIN_SIDE);
    return 0;
}

int proctor_jpeg_check(const unsigned char *jpeg, size_t len, const proctor_options *o, int *width,
                       int *height, dk_error *err)
{
    tjhandle h = tjInitDecompress();
    if (!h) return dk_error_set(err, DK_EINTERNAL, "tjInitDecompress: %s", tjGetErrorStr2(NULL));
    int w = 0, hh = 0, cs = 0;
    int rc = check_header(h, jpeg, len, o, &w, &hh, &cs, err);
    tjDestroy(h);
    if (!rc) {
        if (width) *width = w;
        if (height) *height = hh;
    }
    return rc;
}

/* The largest scaling factor <= 1 that brings the long side to at most the target. */
static tjscalingfactor pick_scale(int w, int h)
{
    tjscalingfactor best = {1, 1};
    int lng = w > h ? w : h;
    if (lng <= PROCTOR_DECODE_LONG_SIDE) return best;
    int n = 0;
    tjscalingfactor *sf = tjGetScalingFactors(&n);
    double best_f = 0;
    for (int i = 0; sf && i < n; i++) {
        double f = (double)sf[i].num / sf[i].denom;
        if (f >= 1.0 || TJSCALED(lng, sf[i]) > PROCTOR_DECODE_LONG_SIDE) continue;
        if (f > best_f) {
            best_f = f;
            best = sf[i];
        }
    }
    if (best_f == 0) best = (tjscalingfactor){1, 8};
    return best;
}

int proctor_jpeg_decode(const unsigned char *jpeg, size_t len, const proctor_options *o,
                        proctor_image *out, dk_error *err)
{
    memset(out, 0, sizeof *out);
    tjhandle h = tjInitDecompress();
    if (!h) return dk_error_set(err, DK_EINTERNAL, "tjInitDecompress: %s", tjGetErrorStr2(NULL));
    int w = 0, hh = 0, cs = 0, rc;
    unsigned char *cmyk = NULL;
    if ((rc = check_header(h, jpeg, len, o, &w, &hh, &cs, err))) goto fail;
    tjscalingfactor sf = pick_scale(w, hh);
    int sw = TJSCALED(w, sf), sh = TJSCALED(hh, sf);
    size_t pixels = (size_t)sw * (size_t)sh;
    out->bgr = dk_malloc(pixels * 3);
    /* libjpeg converts CMYK/YCCK only to CMYK: decode to that, convert below */
    int four = cs == TJCS_CMYK || cs == TJCS_YCCK;
    if (four) cmyk = dk_malloc(pixels * 4);
    /* STOPONWARNING: a truncated or corrupt file is refused, not decoded with grey fill.
     * LIMITSCANS: a progressive JPEG with thousands of scans is refused (CPU bomb). */
    if (tjDecompress2(h, jpeg, (unsigned long)len, four ? cmyk : out->bgr, sw, sw * (four ? 4 : 3),
                      sh, four ? TJPF_CMYK : TJPF_BGR,
                      TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
        rc = tj_fail(h, 0, err);
        goto fail;
    }
    if (four) {
        cmyk_to_bgr(cmyk, out->bgr, pixels, has_adobe_marker(jpeg, len));
        free(cmyk);
        cmyk = NULL;
    }
    out->w = sw;
    out->h = sh;
    out->orig_w = w;
    out->orig_h = hh;
    tjDestroy(h);
    return 0;
fail:
    free(cmyk);
    proctor_image_free(out);
    tjDestroy(h);
    return rc;
}

void proctor_image_free(proctor_image *img)
{
    if (!img) return;
    free(img->bgr);
    memset(img, 0, sizeof *img);
}
