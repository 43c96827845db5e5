/* dom_account.h - accounts: the three kinds (physician, institution, authority account),
 * their lookups, the one login check both servers run, and the password change.
 *
 * The login check is an asynchronous state machine (dom_login_start) that a server's
 * HTTP handler hands its request to; it calls the handler's completion once, on the loop,
 * and the completion makes the token and sends the one reply. Lookups and the password
 * change block: database or hash worker threads only (they take a MYSQL *).
 *
 * The login rules, written once here:
 * - Limits: a Lua script counts every attempt BEFORE the password is verified (atomic
 *   check-and-increment, so parallel attempts cannot all pass), per account and per
 *   client address, within login_window_s: at login_max_failures (account) or
 *   login_max_failures_ip (address) the next attempts get 429 + Retry-After. A success
 *   resets its account's counter and takes its own attempt back from the address; an
 *   attempt that was never judged (a full pool, a database error) is taken back too.
 * - Keys (owned here, nowhere else): see DOM_LOGIN_KEY_* below. A known account is keyed
 *   by kind and id, so a physician typing the account or the ID number shares a budget,
 *   on examd and admind alike; an unknown name by a keyed hash (no names or ID numbers in
 *   Redis).
 * - Time: an unknown account is verified against a dummy argon2id hash made at start, so
 *   it costs what a known account with a wrong password costs.
 * - Status: a physician must be 在岗 and not deleted, an institution or authority account
 *   enabled; a disabled account is reported (403) only after the right password.
 * - Audit: every login decision writes one audit_log row through dom_audit: "login" or
 *   "login_failed" (reason: wrong_password, unknown_account, disabled, rate_limited,
 *   captcha_required, captcha_wrong), the typed name masked; an unknown account has
 *   actor_id 0. Only infrastructure failures (Redis, MariaDB down: 503) go unaudited.
 *   The row and the account's failure counter are one transaction on a database thread,
 *   after the hash: a hash thread does argon2id only (two commits on it cut the logins
 *   per second of the 09:00 start by a third).
 * - Captcha (admind only, optional per server): asked from captcha_after failures of the
 *   account (or a fifth of the address limit), checked by the same script.
 *
 * Takeover and lockout (issue 12):
 * - First login: a login whose password is the initial one (666666: created, reset or
 *   transferred in, must_change_password = 1) must also prove identity: a physician the
 *   ID number and name on file, an institution or authority account the one-time
 *   activation code (dom_activation_new) shown once to whoever created or reset it. The
 *   step is asked (400, activation_required) from what was typed alone, before any
 *   lookup result is used and without counting; a wrong proof, a wrong password and an
 *   unknown account get one message and the same work (the code is verified against the
 *   dummy hash when there is none). The password change clears the code.
 * - Expiry: an initial password older than login_initial_ttl_s is refused (403, after
 *   the right proof only) and needs a reset.
 * - Initial-password sweeps: an address may try the initial password on at most
 *   login_initial_max_accounts_ip accounts per window (a success takes its account back).
 * - The address limit counts DISTINCT accounts with attempts not yet followed by a
 *   success (a set per address): an exam room behind one NAT where each physician
 *   mistypes and then succeeds never fills it; a sweep over many accounts does.
 * - Device tokens: every success returns a device token (signed with token_secret,
 *   bound to the account, login_device_ttl_s). An attempt that carries a valid one spends
 *   that device's own budget (login_max_failures per window) instead of the account's
 *   and the address's: an attacker who used up the account's budget does not lock the
 *   owner out. Without the token an attacker gets login_max_failures guesses per account
 *   per login_window_s (5 per 15 minutes, 20 an hour by default). */
#ifndef DOM_ACCOUNT_H
#define DOM_ACCOUNT_H

#include "dk_auth.h"
#include "dk_http.h"
#include "dk_mysql.h"
#include "dom_status.h"

/* ---- kinds ------------------------------------------------------------------------------ */

/* Token kinds (dk_claims.kind) and account kinds, one letter each. */
#define DOM_KIND_PHYSICIAN 'p'   /* table physician: account or ID number */
#define DOM_KIND_INSTITUTION 'i' /* table institution: code */
#define DOM_KIND_AUTHORITY 'a'   /* table authority_account: user name */
#define DOM_KIND_REVIEWER 'r'    /* table institution_reviewer: user name (信息审核员) */

/* seeds [002][004]: the initial and reset password of every account */
#define DOM_INITIAL_PASSWORD "666666"

/* The status rule as SQL over a physician alias: "p" -> p.deleted_at IS NULL AND ... */
#define DOM_PHYS_USABLE_SQL(p) p ".deleted_at IS NULL AND " p ".status = '" DOM_PHYS_ACTIVE "'"

/* "physician", "institution", "authority" (as the APIs name the kinds); NULL if unknown. */
const char *dom_kind_name(char kind);
/* The kind of such a name; 0 if unknown. */
char dom_kind_of(const char *name);
/* The account's table (audit entity_type) and audit actor type; NULL if unknown. */
const char *dom_kind_table(char kind);
/* The i-th account kind (0, 1, ...), 0 past the last: for walking every account table. */
char dom_kind_at(size_t i);
const char *dom_kind_actor(char kind);

/* The status rule of a reviewer as SQL over aliases r (institution_reviewer) and i (its
 * institution): both enabled. */
#define DOM_REVIEWER_USABLE_SQL "(r.enabled = 1 AND i.enabled = 1)"

/* ---- lookups (blocking) ----------------------------------------------------------------- */

typedef struct dom_account {
    char kind;
    long long id;
    int must_change;
    int usable;        /* the status rule holds (在岗 / enabled) */
    char name[160];    /* physician or institution name, authority display name */
    char login[72];    /* account, code or user name (the physician's account) */
    char category[16]; /* physician: practice_category; else "" */
    char id_number[36];      /* physician: the ID number on file; else "" */
    char hash[256];          /* the argon2id string; wiped by dom_account_wipe */
    char act_hash[256];      /* institution, authority: argon2id of the activation code or "" */
    long long initial_age_s; /* seconds since the last reset (or the creation) */
} dom_account;

/* By what a person types: physician account or ID number (deleted ones are not found),
 * institution code, authority user name. DK_ENOTFOUND when there is none. */
int dom_account_find(MYSQL *db, char kind, const char *login, size_t len, dom_account *out,
                     dk_error *err);
/* By id (deleted physicians too: usable says whether it may act). DK_ENOTFOUND if none. */
int dom_account_get(MYSQL *db, char kind, long long id, dom_account *out, dk_error *err);
void dom_account_wipe(dom_account *a);

/* ---- activation codes (blocking: argon2id, tens of ms) ---------------------------------- */

#define DOM_ACTIVATION_MAX 16
/* A new one-time activation code ("XXXXX-XXXXX", 50 bits, no 0/O/1/I) and its argon2id
 * hash to store in activation_hash; shown once, to whoever created or reset the account.
 * Typed codes are compared without dashes or spaces, in capitals. */
int dom_activation_new(const dk_auth *auth, char code[DOM_ACTIVATION_MAX], char hash[DK_HASH_MAX],
                       dk_error *err);

/* ---- password change (blocking: hash threads) ------------------------------------------- */

/* The policy of a new password (dk_password_policy, not the old one, not the initial
 * one); pure and cheap, so a loop may check it before queueing the change. */
int dom_password_check(const char *oldp, const char *newp, dk_error *err);
/* Checks the policy, verifies the old password (DK_EAUTH "原密码不正确"), hashes, stores
 * (must_change_password = 0) and audits "change_password" (role: as the pages name the
 * actor, NULL: from the kind), on the caller's connection. */
int dom_password_change(MYSQL *db, const dk_auth *auth, char kind, long long id, const char *oldp,
                        const char *newp, const char *role, const char *ip, dk_error *err);

/* ---- the login check (asynchronous, on a server's loop) --------------------------------- */

#define DOM_DEVICE_TOKEN_MAX 128

/* Redis keys of the login check (the ones a test or an operator may need to read):
 *   DOM_LOGIN_KEY_ACCT "<kind>:<id>"   attempts of a known account in the window
 *   DOM_LOGIN_KEY_ACCT "u:<hex>"       attempts of an unknown name (keyed BLAKE2b)
 *   DOM_LOGIN_KEY_IP   "<address>"     attempts from a client address
 *   DOM_LOGIN_KEY_CAPTCHA "<id>"       a captcha's answer (5 minutes, used once) */
#define DOM_LOGIN_KEY_ACCT "rl:login:acct:"
#define DOM_LOGIN_KEY_IP "rl:login:ips:"
#define DOM_LOGIN_KEY_CAPTCHA "captcha:"
/*   DOM_LOGIN_KEY_IP "dev:<nonce>"     accounts tried with one device token (a set)
 *   DOM_LOGIN_KEY_ACCT "<kind>:<id>" DOM_LOGIN_KEY_DEVICE "<nonce>"  one device's budget
 *   DOM_LOGIN_KEY_INITIAL "<address>"  accounts tried with the initial password (a set)
 * DOM_LOGIN_KEY_IP "<address>" is a set of accounts (members: the account keys above). */
#define DOM_LOGIN_KEY_DEVICE ":dev:"
#define DOM_LOGIN_KEY_INITIAL "rl:login:init:"

/* What a server fixes at start: limits and pools. Read-only afterwards (any thread). */
typedef struct dom_login_env {
    const dk_auth *auth;
    dk_workq *db;   /* the account lookup, then the counter and audit row (dk_dbconn threads) */
    dk_workq *hash; /* argon2id only: no database round trip holds a hash thread */
    long long max_acct, max_ip, window_s;
    long long initial_ttl_s, initial_max_ip, device_ttl_s;
    long long captcha_acct, captcha_ip; /* 0: this server asks no captcha */
    char dummy_hash[DK_HASH_MAX];       /* argon2id of a random password, made once */
    unsigned char name_key[32];         /* keys the hash of unknown names */
    unsigned char device_key[32];       /* signs device tokens */
} dom_login_env;

/* Reads login_max_failures, login_max_failures_ip, login_window_s, login_initial_ttl_s,
 * login_initial_max_accounts_ip, login_device_ttl_s; makes the dummy hash
 * (tens of ms: call before serving). captcha_after: account failures before a captcha
 * (0: none). */
int dom_login_env_init(dom_login_env *e, const dk_config *cfg, const dk_auth *auth, dk_workq *db,
                       dk_workq *hash, int captcha_after, dk_error *err);

typedef struct dom_login_result {
    int rc;               /* 0: logged in; DK_EAUTH, DK_EFORBIDDEN (disabled), DK_ERATELIMIT,
                           * DK_EINVAL (captcha), DK_EBUSY, DK_EIO, ... */
    dk_error err;         /* the user-facing message (Chinese) and Retry-After */
    int captcha_required; /* the next attempt needs a captcha (servers that ask for one) */
    int activation_required;                 /* the initial password needs the identity step */
    char device_token[DOM_DEVICE_TOKEN_MAX]; /* rc 0: for this browser's next logins */
    dom_account acct;     /* rc 0: the account (hash wiped) */
    char typed[72];       /* the name as typed */
} dom_login_result;

/* On the loop, once; it must answer rq (reply or fail), which frees the login's state. */
typedef void (*dom_login_done_fn)(dk_req *rq, const dom_login_result *r);

typedef struct dom_login_req {
    char kind;              /* DOM_KIND_* */
    const char *account;    /* as typed (NUL-terminated, at most 64 bytes) */
    const char *password;   /* at most DK_PASSWORD_MAX bytes */
    const char *captcha_id; /* NULL or "" when none */
    const char *captcha_answer;
    const char *id_number, *name; /* physician, with the initial password: NULL or "" */
    const char *activation_code;  /* institution, authority, with the initial password */
    const char *device_token;     /* from an earlier success in this browser, or NULL */
} dom_login_req;

/* Takes rq over (rq->state) until done runs; copies what it needs from req. */
void dom_login_start(dk_req *rq, const dom_login_env *env, const dom_login_req *req,
                     dom_login_done_fn done);

/* The Redis key of a captcha id (hex, at most 32 characters; anything else gives a key
 * no captcha is ever stored under). */
void dom_login_captcha_key(char out[64], const char *id);

#endif
