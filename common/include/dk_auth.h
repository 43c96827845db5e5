/* dk_auth.h - signed bearer tokens, the password rules, and argon2id hashing.
 *
 * A token is "v2.<kind>.<id>.<issued>.<expiry>.<flags>.<mac>" where mac is HMAC-SHA-256
 * (libsodium) over the rest, base64url. It carries the subject (kind 'p' physician,
 * 'i' institution, 'a' authority), its id, when it was issued (unix milliseconds: an
 * account's revocation refuses every token issued before it, domain/dom_token.h), the
 * expiry (unix seconds) and whether the password must be changed first. v1 tokens (no
 * issue time) are refused. Hashing costs tens of milliseconds: call
 * dk_password_hash / dk_password_verify on worker threads only. */
#ifndef DK_AUTH_H
#define DK_AUTH_H

#include <stddef.h>
#include "dk_config.h"
#include "dk_err.h"

#define DK_TOKEN_MAX 160
#define DK_PASSWORD_MAX 128
#define DK_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

typedef struct dk_claims {
    char kind;          /* 'p', 'i', 'a' */
    long long id;
    long long issued_ms; /* unix milliseconds */
    long long expires;  /* unix seconds */
    int must_change;    /* only POST /password is allowed with such a token */
} dk_claims;

typedef struct dk_auth {
    unsigned char key[32];
    /* libsodium's HMAC-SHA-256 state once the key is in (dk_auth_init): a token check
     * copies it and hashes the token, two SHA-256 blocks instead of four */
    _Alignas(16) unsigned char mac_key_state[256];
    long long ttl_s;
    unsigned long long opslimit;
    size_t memlimit;
} dk_auth;

/* Key from token_secret (64 hex characters), or random when it is empty (then tokens
 * do not survive a restart nor cross nodes: the server warns). */
int dk_auth_init(dk_auth *a, const dk_config *cfg, dk_error *err);
/* After a->key was changed by hand (tests): recomputes what dk_auth_init derives from it. */
void dk_auth_rekey(dk_auth *a);
void dk_token_make(const dk_auth *a, const dk_claims *c, char out[DK_TOKEN_MAX]);
/* DK_EAUTH for a malformed, forged or expired token. */
int dk_token_check(const dk_auth *a, const char *tok, size_t len, long long now_s, dk_claims *out,
                   dk_error *err);
/* The token of an "Authorization: Bearer ..." header value; NULL if absent. */
const char *dk_bearer(const char *header, size_t *len);

/* 8..128 characters with three of: upper case, lower case, digit, symbol. Error
 * messages are in Chinese: they are shown to the user. */
int dk_password_policy(const char *pw, size_t len, dk_error *err);
int dk_password_hash(const dk_auth *a, const char *pw, size_t len, char out[DK_HASH_MAX],
                     dk_error *err);
/* 0 when it matches, DK_EAUTH when it does not. */
int dk_password_verify(const char *hash, const char *pw, size_t len);

#endif
