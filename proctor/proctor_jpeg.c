/* proctor_jpeg.c - JPEG captures in, BGR pixels out, through the TurboJPEG API.
 *
 * Everything that can be refused is refused from the header, before a pixel is
 * decoded: not a JPEG, over the byte limit, over the width/height/pixel limits, too
 * small. Large photos are decoded at a TurboJPEG scaling factor (long side <= 1280).
 * A truncated or corrupt file is an error with TurboJPEG's reason, never a grey-filled
 * picture: libjpeg warnings count as errors here. Thread-safe (a handle per call). */
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

/* The header part shared by proctor_jpeg_check and proctor_jpeg_decode. */
static int check_header(tjhandle h, const unsigned char *jpeg, size_t len, const proctor_options *o,
                        int *w, int *hh, dk_error *err)
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
        return dk_error_set(err, DK_EUNPROCESSABLE, "bad JPEG header: %s", tjGetErrorStr2(h));
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
    int w = 0, hh = 0;
    int rc = check_header(h, jpeg, len, o, &w, &hh, err);
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
    int w = 0, hh = 0, rc;
    if ((rc = check_header(h, jpeg, len, o, &w, &hh, err))) goto fail;
    tjscalingfactor sf = pick_scale(w, hh);
    int sw = TJSCALED(w, sf), sh = TJSCALED(hh, sf);
    out->bgr = dk_malloc((size_t)sw * (size_t)sh * 3);
    /* STOPONWARNING: a truncated or corrupt file is refused, not decoded with grey fill.
     * LIMITSCANS: a progressive JPEG with thousands of scans is refused (CPU bomb). */
    if (tjDecompress2(h, jpeg, (unsigned long)len, out->bgr, sw, sw * 3, sh, TJPF_BGR,
                      TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
        rc = dk_error_set(err, DK_EUNPROCESSABLE, "corrupt or truncated JPEG: %s",
                          tjGetErrorStr2(h));
        goto fail;
    }
    out->w = sw;
    out->h = sh;
    out->orig_w = w;
    out->orig_h = hh;
    tjDestroy(h);
    return 0;
fail:
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
