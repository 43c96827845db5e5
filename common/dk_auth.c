/* dk_auth.c - tokens (HMAC-SHA-256), password rules and argon2id through libsodium. */
#include "dk_auth.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"

int dk_auth_init(dk_auth *a, const dk_config *cfg, dk_error *err)
{
    if (sodium_init() < 0) return dk_error_set(err, DK_EINTERNAL, "sodium_init failed");
    memset(a, 0, sizeof *a);
    const char *hex = dk_config_str(cfg, "token_secret");
    if (!*hex) {
        randombytes_buf(a->key, sizeof a->key);
        DK_WARN("auth", "token_secret is empty: using a random key, tokens end with this process");
    } else {
        size_t n = 0;
        if (sodium_hex2bin(a->key, sizeof a->key, hex, strlen(hex), NULL, &n, NULL) != 0 ||
            n != sizeof a->key)
            return dk_error_set(err, DK_EINVAL, "token_secret must be 64 hex characters");
    }
    dk_auth_rekey(a);
    a->ttl_s = dk_config_int(cfg, "token_ttl_s");
    a->opslimit = (unsigned long long)dk_config_int(cfg, "argon2_opslimit");
    a->memlimit = (size_t)dk_config_int(cfg, "argon2_memlimit_kib") * 1024;
    if (a->opslimit < crypto_pwhash_OPSLIMIT_MIN || a->memlimit < crypto_pwhash_MEMLIMIT_MIN)
        return dk_error_set(err, DK_EINVAL, "argon2 limits below libsodium's minimum");
    return 0;
}

_Static_assert(sizeof(crypto_auth_hmacsha256_state) <= sizeof(((dk_auth *)0)->mac_key_state),
               "dk_auth.mac_key_state too small");

void dk_auth_rekey(dk_auth *a)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, a->key, sizeof a->key);
    memcpy(a->mac_key_state, &st, sizeof st);
    sodium_memzero(&st, sizeof st);
}

static void mac_of(const dk_auth *a, const char *msg, size_t len, char out[48])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    memcpy(&st, a->mac_key_state, sizeof st);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    sodium_bin2base64(out, 48, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A field of a token: digits up to a '.'; advances *p past the dot. */
static int token_num(const char **p, long long *out)
{
    const char *s = *p;
    long long v = 0;
    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (LLONG_MAX - (*s - '0')) / 10) return -1;
        v = v * 10 + (*s - '0');
    }
    if (*s != '.') return -1;
    *out = v;
    *p = s + 1;
    return 0;
}

void dk_token_make(const dk_auth *a, const dk_claims *c, char out[DK_TOKEN_MAX])
{
    int n = snprintf(out, DK_TOKEN_MAX, "v2.%c.%lld.%lld.%lld.%c.", c->kind, c->id, c->issued_ms,
                     c->expires, c->must_change ? 'c' : 'n');
    char mac[48];
    mac_of(a, out, (size_t)n - 1, mac);
    snprintf(out + n, DK_TOKEN_MAX - (size_t)n, "%s", mac);
}

int dk_token_check(const dk_auth *a, const char *tok, size_t len, long long now_s, dk_claims *out,
                   dk_error *err)
{
    char buf[DK_TOKEN_MAX];
    if (!tok || len < 10 || len >= sizeof buf)
        return dk_error_set(err, DK_EAUTH, "登录凭证无效，请重新登录");
    memcpy(buf, tok, len);
    buf[len] = '\0';
    char *dot = strrchr(buf, '.');
    if (!dot) return dk_error_set(err, DK_EAUTH, "登录凭证无效，请重新登录");
    char mac[48];
    mac_of(a, buf, (size_t)(dot - buf), mac);
    size_t ml = strlen(mac);
    if (strlen(dot + 1) != ml || sodium_memcmp(mac, dot + 1, ml) != 0)
        return dk_error_set(err, DK_EAUTH, "登录凭证无效，请重新登录");
    /* "v2.<kind>.<id>.<issued>.<expiry>.<flag>", parsed by hand: sscanf was a fifth of
     * the check's time, and the MAC already vouches for the text */
    dk_claims c = {0};
    *dot = '\0';
    const char *p = buf;
    if (strncmp(p, "v2.", 3) != 0 || !p[3] || p[4] != '.')
        return dk_error_set(err, DK_EAUTH, "登录凭证无效，请重新登录");
    c.kind = p[3];
    p += 5;
    if (token_num(&p, &c.id) || token_num(&p, &c.issued_ms) || token_num(&p, &c.expires) ||
        !p[0] || p[1])
        return dk_error_set(err, DK_EAUTH, "登录凭证无效，请重新登录");
    char flag = p[0];
    if (c.expires <= now_s) return dk_error_set(err, DK_EAUTH, "登录已过期，请重新登录");
    c.must_change = flag == 'c';
    *out = c;
    return 0;
}

const char *dk_bearer(const char *h, size_t *len)
{
    if (!h || strncmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ') h++;
    *len = strlen(h);
    while (*len && h[*len - 1] == ' ') (*len)--;
    return *len ? h : NULL;
}

int dk_password_policy(const char *pw, size_t len, dk_error *err)
{
    if (len < 8) return dk_error_set(err, DK_EINVAL, "密码至少 8 位");
    if (len > DK_PASSWORD_MAX) return dk_error_set(err, DK_EINVAL, "密码不能超过 128 位");
    int upper = 0, lower = 0, digit = 0, symbol = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)pw[i];
        if (ch < 0x20 || ch == 0x7f) return dk_error_set(err, DK_EINVAL, "密码含有不可见字符");
        if (ch >= 'A' && ch <= 'Z') upper = 1;
        else if (ch >= 'a' && ch <= 'z') lower = 1;
        else if (ch >= '0' && ch <= '9') digit = 1;
        else symbol = 1;
    }
    if (upper + lower + digit + symbol < 3)
        return dk_error_set(err, DK_EINVAL,
                            "密码需包含大写字母、小写字母、数字、符号中的至少三种");
    return 0;
}

int dk_password_hash(const dk_auth *a, const char *pw, size_t len, char out[DK_HASH_MAX],
                     dk_error *err)
{
    if (crypto_pwhash_str_alg(out, pw, len, a->opslimit, a->memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return dk_error_set(err, DK_EINTERNAL, "argon2id hashing failed (out of memory?)");
    return 0;
}

int dk_password_verify(const char *hash, const char *pw, size_t len)
{
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : DK_EAUTH;
}
