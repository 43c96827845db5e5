/* dk_config.c - the configuration table, file parsing and environment overrides.
 *
 * Every key of every program is a row of config_table: adding a setting is adding a
 * row. Values are validated by type at load time, so a server never starts with a
 * setting it cannot use. Precedence: environment (DK_<KEY>) > file > default. */
#include "dk_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"

typedef enum { T_STR, T_INT, T_DOUBLE, T_BOOL } ktype;

typedef struct {
    const char *name;
    ktype type;
    const char *dflt;
    int secret;
    const char *help;
} config_key;

static const config_key config_table[] = {
    /* logging */
    {"log_level", T_STR, "info", 0, "debug, info, warn or error"},
    /* Redis */
    {"redis_host", T_STR, "127.0.0.1", 0, "Redis IP address (not a host name)"},
    {"redis_port", T_INT, "16379", 0, "Redis port"},
    {"redis_timeout_ms", T_INT, "2000", 0, "deadline of one Redis command"},
    {"redis_password", T_STR, "", 1, "Redis AUTH password ('' = none)"},
    {"redis_sentinels", T_STR, "", 0,
     "Sentinels (ip:port, comma-separated) that name the primary; '' = redis_host:redis_port"},
    {"redis_master_name", T_STR, "dingkao", 0, "the primary's name in the Sentinels"},
    {"redis_sentinel_poll_ms", T_INT, "1000", 0, "how often the Sentinels are asked"},
    {"redis_wait_replicas", T_INT, "0", 0,
     "replicas that must have an answer before it is acknowledged (WAIT); 0 = none"},
    {"redis_wait_ms", T_INT, "200", 0, "how long an answer may wait for those replicas"},
    /* MariaDB */
    {"mysql_host", T_STR, "127.0.0.1", 0, "MariaDB IP address"},
    {"mysql_port", T_INT, "13306", 0, "MariaDB port"},
    {"mysql_hosts", T_STR, "", 0,
     "MariaDB nodes in order (ip:port, comma-separated, e.g. a Galera cluster): every connection "
     "goes to the first live one; '' = mysql_host:mysql_port"},
    {"mysql_user", T_STR, "dingkao", 0, "MariaDB user"},
    {"mysql_password", T_STR, "dingkao-dev", 1, "MariaDB password"},
    {"mysql_db", T_STR, "dingkao", 0, "MariaDB database"},
    {"mysql_timeout_ms", T_INT, "5000", 0, "connect/read/write timeout of MariaDB calls"},
    {"db_workers", T_INT, "4", 0, "database worker threads per server"},
    {"db_queue", T_INT, "4096", 0, "database jobs that may wait before 503"},
    /* HTTP servers */
    {"http_host", T_STR, "127.0.0.1", 0, "address the servers listen on"},
    {"exam_port", T_INT, "18080", 0, "examd port"},
    {"admin_port", T_INT, "18081", 0, "admind port"},
    {"http_loops", T_INT, "0", 0, "event loops per server (0 = one per core)"},
    {"http_max_body", T_INT, "65536", 0, "largest JSON request body in bytes"},
    {"http_max_headers", T_INT, "8192", 0, "largest request header block in bytes"},
    {"http_timeout_s", T_INT, "15", 0,
     "idle limit of a connection: no byte read or written for this long closes it"},
    {"http_header_timeout_s", T_INT, "30", 0,
     "a request line and headers must arrive within this of the connection opening or of the "
     "previous reply, however they trickle"},
    {"http_body_timeout_s", T_INT, "60", 0,
     "a request body must arrive within this of the end of its headers, however it trickles"},
    {"http_max_connections", T_INT, "1000", 0,
     "open connections per node; beyond it a new connection gets 503 and is closed (lowered "
     "to fit the open-files limit)"},
    {"metrics_allow", T_STR, "127.0.0.0/8,::1", 0,
     "client addresses (IPs or CIDRs, comma-separated) that may read /metrics; others get 403"},
    {"web_root", T_STR, "", 0, "folder of static pages ('' = none)"},
    {"http_trusted_proxies", T_STR, "", 0,
     "load balancers (IPs, comma-separated) whose X-Real-IP is believed"},
    {"http_cors_origins", T_STR, "http://127.0.0.1:18080,http://localhost:18080", 0,
     "origins (comma-separated, exact) whose pages may call this server's API (CORS)"},
    {"admin_url", T_STR, "http://127.0.0.1:18081", 0,
     "admind's address as the exam page's browser sees it ('' = the page's own origin)"},
    /* auth */
    {"token_secret", T_STR, "", 1, "hex key (64 hex chars) signing tokens; '' = random per start"},
    {"token_ttl_s", T_INT, "43200", 0, "token lifetime (a whole test day)"},
    {"token_revocation_refresh_ms", T_INT, "1000", 0,
     "how often each event loop fetches new token revocations from Redis"},
    {"token_revocation_stale_s", T_INT, "10", 0,
     "a loop whose revocations are older than this refuses tokens (503) until it refreshes"},
    {"hash_workers", T_INT, "2", 0, "password-hashing threads"},
    {"hash_queue", T_INT, "64", 0, "password hashes that may wait before 503"},
    {"argon2_opslimit", T_INT, "2", 0, "argon2id passes (libsodium opslimit)"},
    {"argon2_memlimit_kib", T_INT, "19456", 0, "argon2id memory in KiB"},
    {"login_max_failures", T_INT, "5", 0, "failed logins per account per window"},
    {"login_max_failures_ip", T_INT, "50", 0, "failed logins per client address per window"},
    {"login_window_s", T_INT, "900", 0, "window of the failed-login counters"},
    {"login_initial_ttl_s", T_INT, "1209600", 0,
     "how long an initial or reset password (666666) stays usable (then a reset is needed)"},
    {"login_initial_max_accounts_ip", T_INT, "5", 0,
     "accounts one address may try the initial password on per window (failures)"},
    {"login_queue", T_STR, "login", 0,
     "name of the fair login queue in Redis (queue:NAME:*); every node of a deployment shares "
     "it: [a-z0-9_] only, at most 32"},
    {"departure_max_per_session", T_INT, "200", 0,
     "departures from the exam page (切屏) recorded per session, at most 200 (then 409)"},
    {"concurrent_device_window_s", T_INT, "60", 0,
     "two devices answering one session within this time flag it (concurrent_devices)"},
    {"login_queue_max_per_addr", T_INT, "1000", 0,
     "places in the login queue one client address may hold at once (0: no cap); a hospital "
     "behind one NAT sends many physicians from one address: keep it above the largest"},
    {"login_device_ttl_s", T_INT, "15552000", 0,
     "lifetime of a device token (a browser's proof of an earlier success)"},
    /* exam */
    {"exam_duration_s", T_INT, "3600", 0, "test duration when no blueprint says otherwise"},
    {"exam_release_spread_ms", T_INT, "3000", 0,
     "the waiting room's pages ask for their papers spread over this long after the opening "
     "(see bench/README.md, capacity: about 1 ms of CPU per paper)"},
    {"exam_waiting_room_min", T_INT, "60", 0,
     "minutes before a window opens that physicians may enter the waiting room (paper drawn, "
     "hidden until the opening); 0 = no waiting room"},
    {"sweeper_period_ms", T_INT, "1000", 0, "how often expired sessions are submitted"},
    {"flush_period_ms", T_INT, "5000", 0, "how often live answers are flushed to MariaDB"},
    {"bank_reload_period_ms", T_INT, "30000", 0, "how often examd checks for a new bank version"},
    {"orphan_sweep_period_ms", T_INT, "30000", 0, "how often MariaDB is asked for lost sessions"},
    {"session_ttl_s", T_INT, "86400", 0, "how long a session stays in Redis after submit"},
    {"proctor_inprocess", T_BOOL, "1", 0, "run proctor workers as threads inside examd"},
    {"camera_check_workers", T_INT, "0", 0,
     "threads answering the camera check before a test (0 = one per core)"},
    {"camera_check_queue", T_INT, "32", 0, "camera checks that may wait before 503"},
    {"capture_workers", T_INT, "2", 0,
     "threads storing captures (file, row, rename), apart from the database threads"},
    {"capture_queue", T_INT, "512", 0, "captures that may wait to be stored before 503"},
    {"capture_sweep_period_s", T_INT, "3600", 0,
     "how often the captures folder is swept of photos no capture row names (left by a crash "
     "between the write and the commit); the first sweep runs soon after the start; 0 = never"},
    {"flush_workers", T_INT, "1", 0,
     "threads writing the answer flush to MariaDB, apart from the database threads"},
    {"flush_queue", T_INT, "64", 0, "flush jobs that may wait (beyond: the sessions wait for the next tick)"},
    {"camera_check_max", T_INT, "30", 0,
     "camera checks per physician per camera_check_window_s (then 429); 0 = no limit"},
    {"camera_check_window_s", T_INT, "3600", 0, "window of the camera-check counter"},
    {"camera_liveness", T_BOOL, "1", 0,
     "the camera check's liveness challenge decides (0: its verdict is only logged)"},
    {"capture_early_slack_s", T_INT, "30", 0,
     "a capture is taken from this long before the server's next due time (earlier: 429 "
     "with the due time)"},
    {"capture_max_per_session", T_INT, "100", 0,
     "captures one session may store (then 409); 0 = no limit"},
    /* proctor */
    {"proctor_model_dir", T_STR, "", 0,
     "folder of the face models ('' = the models shipped in proctor/models; 'none' = "
     "degraded mode: faces counted, nothing flagged)"},
    {"proctor_detector", T_STR, "yunet_120x160.onnx", 0, "YuNet detector file"},
    {"proctor_recognizer", T_STR, "MobileFaceNet.onnx", 0, "recogniser file"},
    {"proctor_recognizer_kind", T_STR, "mobilefacenet", 0, "mobilefacenet or sface"},
    {"proctor_threshold", T_DOUBLE, "40", 0, "similarity % below which a capture is suspect"},
    {"proctor_max_bytes", T_INT, "2097152", 0, "largest capture in bytes"},
    {"proctor_max_width", T_INT, "4096", 0, "largest capture width"},
    {"proctor_max_height", T_INT, "4096", 0, "largest capture height"},
    {"proctor_max_pixels", T_INT, "16777216", 0, "largest capture pixel count"},
    {"proctor_workers", T_INT, "2", 0, "scoring threads (in examd or proctord)"},
    {"proctor_nice", T_INT, "10", 0,
     "nice value of the scoring threads (0-19): in examd they yield the cores to the event "
     "loops"},
    {"proctor_sched_idle", T_BOOL, "1", 0,
     "run the scoring threads under SCHED_IDLE (Linux): they use only time no other thread "
     "wants, so a backlog of captures never delays Redis, MariaDB or the event loops"},
    {"proctor_claim_idle_ms", T_INT, "30000", 0, "a pending job idle this long is claimed"},
    {"proctor_max_attempts", T_INT, "3", 0, "a job failing this often is parked"},
    {"proctor_stream_maxlen", T_INT, "100000", 0, "capture stream length shown as lag"},
    {"proctor_capture_interval_s", T_INT, "300", 0, "mean time between captures"},
    {"proctor_capture_grace_s", T_INT, "120", 0, "overdue beyond this = missing captures"},
    /* session decisions (proctor/proctor_session.h; fitted with facesim --eval-sessions,
     * proctor/README.md): a session is flagged from all of its captures together */
    {"proctor_session_low_run", T_INT, "4", 0,
     "flag a session after this many consecutive captures below proctor_threshold (0 = off)"},
    {"proctor_session_low_share", T_DOUBLE, "50", 0,
     "flag a session when this % of its captures with a similarity are below "
     "proctor_threshold (0 = off) ..."},
    {"proctor_session_low_share_min", T_INT, "6", 0, "... and at least this many are"},
    {"proctor_session_median", T_DOUBLE, "0", 0,
     "flag a session whose median similarity is below this % (0 = off) ..."},
    {"proctor_session_median_min", T_INT, "4", 0, "... once it has this many similarities"},
    {"proctor_session_no_face_s", T_INT, "600", 0,
     "flag a session whose captures show no face for at least this long (0 = off)"},
    {"proctor_session_multiple_faces", T_INT, "1", 0,
     "flag a session with this many captures showing two or more faces (0 = off)"},
    {"proctor_challenge_rate", T_DOUBLE, "0.1", 0,
     "share of judged captures after which the page is asked for a liveness challenge"},
    {"proctor_requeue_after_s", T_INT, "300", 0,
     "a capture stored but never queued is queued again after this (and once the stream's "
     "oldest job is this much younger)"},
    {"proctor_requeue_backlog", T_INT, "200", 0,
     "the requeue sweep tops the capture stream up to this many jobs at most"},
    {"photo_retention_days", T_INT, "365", 0, "capture photos kept after final determinations"},
    /* storage */
    {"data_dir", T_STR, ".stack/data", 0, "where photos and attachments are stored"},
    /* admind: limits per physician and per institution */
    {"photo_upload_max", T_INT, "20", 0,
     "registered-photo uploads per physician per photo_upload_window_s (then 429); 0 = no limit"},
    {"photo_upload_window_s", T_INT, "3600", 0, "window of the photo-upload counter"},
    {"id_lookup_max", T_INT, "60", 0,
     "ID-number lookups and transfers-in (调入) per institution per id_lookup_window_s "
     "(then 429); 0 = no limit"},
    {"id_lookup_window_s", T_INT, "3600", 0, "window of the ID-lookup counter"},
    {"attachment_max_count", T_INT, "20", 0,
     "attachments one owner (an exemption request, an application) may have (then 409)"},
    {"attachment_max_total_bytes", T_INT, "52428800", 0,
     "total bytes of one owner's attachments (then 413)"},
    /* admind: continuing medical education (admin/admin_cme*.c) */
    {"cme_declare_lead_days", T_INT, "14", 0,
     "a CME project is declared at least this many days before its first session"},
    {"cme_feedback_days", T_INT, "14", 0,
     "execution feedback later than this many days after the end is flagged late"},
    {"cme_grant_days", T_INT, "14", 0,
     "a grant later than this many days after the committee's approval is flagged late"},
    {"cme_grant_batch", T_INT, "5000", 0,
     "a grant commits its credits in batches of this many cards (its progress in between)"},
    {"cme_swipe_early_min", T_INT, "30", 0, "card swipes accepted this long before a session"},
    {"cme_attendance_min_percent", T_INT, "100", 0,
     "share of a project's sessions an attendee must have signed in to be granted"},
    {"cme_rule_total_min", T_INT, "25", 0, "national rule: credits a year (年度验证)"},
    {"cme_rule_i_min", T_INT, "5", 0, "national rule: I类 credits a year, at least"},
    {"cme_rule_i_max", T_INT, "10", 0, "national rule: I类 credits counted a year, at most"},
    {"cme_rule_ii_min", T_INT, "15", 0, "national rule: II类 credits a year, at least"},
    {"cme_rule_ii_max", T_INT, "20", 0, "national rule: II类 credits counted a year, at most"},
    /* admind: exports and the certificate (admin/admin_export.h) */
    {"export_max_rows", T_INT, "100000", 0,
     "rows one spreadsheet/CSV export may hold (then 413: narrow the filters)"},
    {"cert_verify_url", T_STR, "http://127.0.0.1:18081/verify.html?code=", 0,
     "public address of the certificate check: the PDF's QR code is this + the code"},
    {"cert_verify_max", T_INT, "60", 0,
     "public certificate checks per address per cert_verify_window_s (then 429); 0 = no limit"},
    {"cert_verify_window_s", T_INT, "600", 0, "window of the certificate-check counter"},
};

#define NKEYS (sizeof config_table / sizeof config_table[0])

struct dk_config {
    char *values[NKEYS];
    const char *sources[NKEYS];
};

static int key_index(const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(config_table[i].name, key) == 0) return (int)i;
    return -1;
}

static int must_index(const char *key)
{
    int i = key_index(key);
    if (i < 0) {
        DK_ERROR("config", "unknown configuration key key=%s", key);
        abort();
    }
    return i;
}

static int check_value(const config_key *k, const char *v, dk_error *err)
{
    char *end;
    errno = 0;
    switch (k->type) {
    case T_STR: return 0;
    case T_INT:
        (void)strtoll(v, &end, 10);
        break;
    case T_DOUBLE:
        (void)strtod(v, &end);
        break;
    case T_BOOL:
        if (!strcmp(v, "0") || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "false") ||
            !strcmp(v, "yes") || !strcmp(v, "no"))
            return 0;
        return dk_error_set(err, DK_EINVAL, "%s: expected a boolean, got '%s'", k->name, v);
    }
    if (errno || end == v || *end)
        return dk_error_set(err, DK_EINVAL, "%s: expected a number, got '%s'", k->name, v);
    return 0;
}

static int set_value(dk_config *cfg, int i, const char *v, const char *source, dk_error *err)
{
    int rc = check_value(&config_table[i], v, err);
    if (rc) return rc;
    free(cfg->values[i]);
    cfg->values[i] = dk_strdup(v);
    cfg->sources[i] = source;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int load_file(dk_config *cfg, const char *path, dk_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return dk_error_set(err, DK_EIO, "cannot open config %s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = dk_error_set(err, DK_EINVAL, "%s:%d: expected key = value", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        int i = key_index(key);
        if (i < 0) {
            rc = dk_error_set(err, DK_EINVAL, "%s:%d: unknown key '%s'", path, lineno, key);
            break;
        }
        rc = set_value(cfg, i, val, "file", err);
    }
    fclose(f);
    return rc;
}

int dk_config_load(dk_config **out, const char *path, dk_error *err)
{
    dk_config *cfg = dk_calloc(1, sizeof *cfg);
    int rc = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        cfg->values[i] = dk_strdup(config_table[i].dflt);
        cfg->sources[i] = "default";
    }
    if (!path || !*path) path = getenv("DK_CONFIG");
    if (path && *path && (rc = load_file(cfg, path, err))) goto fail;
    for (size_t i = 0; i < NKEYS; i++) {
        char env[96] = "DK_";
        size_t n = 3;
        for (const char *k = config_table[i].name; *k && n < sizeof env - 1; k++)
            env[n++] = (char)toupper((unsigned char)*k);
        env[n] = '\0';
        const char *v = getenv(env);
        if (v && (rc = set_value(cfg, (int)i, v, "env", err))) goto fail;
    }
    dk_log_level lvl;
    if (dk_log_parse_level(dk_config_str(cfg, "log_level"), &lvl)) {
        rc = dk_error_set(err, DK_EINVAL, "log_level: unknown level '%s'",
                          dk_config_str(cfg, "log_level"));
        goto fail;
    }
    dk_log_set_level(lvl);
    *out = cfg;
    return 0;
fail:
    dk_config_free(cfg);
    return rc;
}

void dk_config_free(dk_config *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < NKEYS; i++) free(cfg->values[i]);
    free(cfg);
}

const char *dk_config_str(const dk_config *cfg, const char *key)
{
    return cfg->values[must_index(key)];
}

long long dk_config_int(const dk_config *cfg, const char *key)
{
    return strtoll(dk_config_str(cfg, key), NULL, 10);
}

double dk_config_double(const dk_config *cfg, const char *key)
{
    return strtod(dk_config_str(cfg, key), NULL);
}

int dk_config_bool(const dk_config *cfg, const char *key)
{
    const char *v = dk_config_str(cfg, key);
    return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes");
}

const char *dk_config_source(const dk_config *cfg, const char *key)
{
    return cfg->sources[must_index(key)];
}

void dk_config_print(const dk_config *cfg, FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v = cfg->values[i];
        if (config_table[i].secret && *v) v = "***";
        fprintf(out, "  %-28s = %s (%s)\n", config_table[i].name, v, cfg->sources[i]);
    }
}
