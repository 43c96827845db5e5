/* jpeg2y4m.c - turns JPEG photos into a Y4M video (I420, "C420jpeg") for Chromium's fake
 * webcam (--use-file-for-fake-video-capture), since the test machines have no ffmpeg.
 * Each photo is decoded with TurboJPEG, scaled to cover WxH (centre crop, bilinear) and
 * repeated for N frames; Chromium loops the file. -c fits the whole photo instead
 * (letterboxed on grey, as the face detector's reference fit does, for group photos),
 * -g scales the brightness (0.1 makes a too-dark picture). Test tooling only: photos
 * are read from the path given and never copied anywhere else.
 *
 *   jpeg2y4m [-c] [-g GAIN] OUT.y4m WIDTH HEIGHT FPS FRAMES_PER_PHOTO PHOTO.jpg...   */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static unsigned char *read_file(const char *path, unsigned long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    long n = 0;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (64L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n)) &&
        fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (unsigned long)n;
    return b;
}

static unsigned char clamp8(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (unsigned char)(v + 0.5);
}

/* samples an RGB image at (x, y) with bilinear interpolation */
static void sample(const unsigned char *rgb, int w, int h, double x, double y, double out[3])
{
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > w - 1) x = w - 1;
    if (y > h - 1) y = h - 1;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    for (int c = 0; c < 3; c++) {
        double a = rgb[(y0 * w + x0) * 3 + c], b = rgb[(y0 * w + x1) * 3 + c];
        double d = rgb[(y1 * w + x0) * 3 + c], e = rgb[(y1 * w + x1) * 3 + c];
        out[c] = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
    }
}

/* Blurs a plane of W x H bytes by about sigma pixels: three box blurs each way (the
 * fake webcam out of focus: the proctor's quality gate says "blurred"). */
static void blur_plane(unsigned char *p, int W, int H, double sigma)
{
    int r = (int)((sqrt(4 * sigma * sigma + 1) - 1) / 2 + 0.5);
    if (r < 1) return;
    int n = W > H ? W : H;
    unsigned char *tmp = malloc((size_t)n);
    if (!tmp) abort();
    for (int k = 0; k < 6; k++) {
        int rows = k % 2 == 0, len = rows ? W : H, count = rows ? H : W;
        for (int l = 0; l < count; l++) {
            unsigned char *q = rows ? p + (size_t)l * W : p + l;
            size_t st = rows ? 1 : (size_t)W;
            long sum = 0;
            for (int i = -r - 1; i < r; i++)
                sum += q[(size_t)(i < 0 ? 0 : i >= len ? len - 1 : i) * st];
            for (int i = 0; i < len; i++) {
                int add = i + r < len ? i + r : len - 1, sub = i - r - 1 < 0 ? 0 : i - r - 1;
                sum += q[(size_t)add * st] - q[(size_t)sub * st];
                tmp[i] = (unsigned char)(sum / (2 * r + 1));
            }
            for (int i = 0; i < len; i++)
                q[(size_t)i * st] = tmp[i];
        }
    }
    free(tmp);
}

/* photo -> one I420 frame of W x H (BT.601, studio range) */
static int photo_frame(tjhandle tj, const char *path, int W, int H, int contain, double gain,
                       double blur_sigma, unsigned char *frame)
{
    unsigned long len;
    unsigned char *jpg = read_file(path, &len);
    if (!jpg) {
        fprintf(stderr, "jpeg2y4m: cannot read %s\n", path);
        return -1;
    }
    int w, h, sub, cs;
    if (tjDecompressHeader3(tj, jpg, len, &w, &h, &sub, &cs) != 0 || w <= 0 || h <= 0 || w > 8192 ||
        h > 8192) {
        fprintf(stderr, "jpeg2y4m: %s: %s\n", path, tjGetErrorStr2(tj));
        free(jpg);
        return -1;
    }
    unsigned char *rgb = malloc((size_t)w * h * 3);
    if (!rgb || tjDecompress2(tj, jpg, len, rgb, w, 0, h, TJPF_RGB, TJFLAG_ACCURATEDCT) != 0) {
        fprintf(stderr, "jpeg2y4m: %s: %s\n", path, tjGetErrorStr2(tj));
        free(rgb);
        free(jpg);
        return -1;
    }
    free(jpg);
    double sw = (double)W / w, sh = (double)H / h;
    double scale = contain ? (sw < sh ? sw : sh) : (sw > sh ? sw : sh);
    double ox = (w * scale - W) / 2, oy = (h * scale - H) / 2;
    unsigned char *Y = frame, *U = frame + (size_t)W * H, *V = U + (size_t)(W / 2) * (H / 2);
    double *cb = calloc((size_t)W * H, sizeof *cb), *cr = calloc((size_t)W * H, sizeof *cr);
    if (!cb || !cr) {
        fprintf(stderr, "jpeg2y4m: out of memory\n");
        abort();
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double p[3] = {128, 128, 128}; /* the letterbox */
            double sx = (x + 0.5 + ox) / scale - 0.5, sy = (y + 0.5 + oy) / scale - 0.5;
            if (sx >= -0.5 && sx <= w - 0.5 && sy >= -0.5 && sy <= h - 0.5)
                sample(rgb, w, h, sx, sy, p);
            for (int c = 0; c < 3; c++)
                p[c] *= gain;
            Y[y * W + x] = clamp8(16 + (65.738 * p[0] + 129.057 * p[1] + 25.064 * p[2]) / 256);
            cb[y * W + x] = 128 + (-37.945 * p[0] - 74.494 * p[1] + 112.439 * p[2]) / 256;
            cr[y * W + x] = 128 + (112.439 * p[0] - 94.154 * p[1] - 18.285 * p[2]) / 256;
        }
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++) {
            size_t a = (size_t)(2 * y) * W + 2 * x, b = a + W;
            U[y * (W / 2) + x] = clamp8((cb[a] + cb[a + 1] + cb[b] + cb[b + 1]) / 4);
            V[y * (W / 2) + x] = clamp8((cr[a] + cr[a + 1] + cr[b] + cr[b + 1]) / 4);
        }
    free(cb);
    free(cr);
    free(rgb);
    if (blur_sigma > 0) {
        blur_plane(Y, W, H, blur_sigma);
        blur_plane(U, W / 2, H / 2, blur_sigma / 2);
        blur_plane(V, W / 2, H / 2, blur_sigma / 2);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int contain = 0;
    double gain = 1.0, blur_sigma = 0;
    while (argc > 1 && argv[1][0] == '-') {
        if (!strcmp(argv[1], "-c")) {
            contain = 1;
        } else if (!strcmp(argv[1], "-b") && argc > 2) {
            blur_sigma = atof(argv[2]);
            argv++, argc--;
        } else if (!strcmp(argv[1], "-g") && argc > 2) {
            gain = atof(argv[2]);
            argv++, argc--;
        } else {
            break;
        }
        argv++, argc--;
    }
    if (argc < 7 || gain <= 0 || gain > 4 || blur_sigma < 0 || blur_sigma > 50) {
        fprintf(
            stderr,
            "usage: jpeg2y4m [-c] [-g GAIN] [-b SIGMA] OUT.y4m WIDTH HEIGHT FPS FRAMES_PER_PHOTO "
            "PHOTO.jpg...\n");
        return 2;
    }
    int W = atoi(argv[2]), H = atoi(argv[3]), fps = atoi(argv[4]), per = atoi(argv[5]);
    if (W < 16 || H < 16 || W > 4096 || H > 4096 || W % 2 || H % 2 || fps < 1 || fps > 60 ||
        per < 1 || per > 10000) {
        fprintf(stderr,
                "jpeg2y4m: WIDTH and HEIGHT must be even (16-4096), FPS 1-60, FRAMES 1-10000\n");
        return 2;
    }
    tjhandle tj = tjInitDecompress();
    size_t fsize = (size_t)W * H * 3 / 2;
    unsigned char *frame = malloc(fsize);
    FILE *out = fopen(argv[1], "wb");
    if (!tj || !frame || !out) {
        fprintf(stderr, "jpeg2y4m: cannot open %s\n", argv[1]);
        return 1;
    }
    fprintf(out, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", W, H, fps);
    int rc = 0;
    for (int i = 6; i < argc && rc == 0; i++) {
        if (photo_frame(tj, argv[i], W, H, contain, gain, blur_sigma, frame) != 0) {
            rc = 1;
            break;
        }
        for (int k = 0; k < per; k++)
            if (fputs("FRAME\n", out) == EOF || fwrite(frame, 1, fsize, out) != fsize) {
                fprintf(stderr, "jpeg2y4m: write error on %s\n", argv[1]);
                rc = 1;
                break;
            }
    }
    if (fclose(out) != 0) rc = 1;
    free(frame);
    tjDestroy(tj);
    if (rc) remove(argv[1]);
    return rc;
}
