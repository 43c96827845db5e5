#!/usr/bin/env bash
# deploy/migrate.sh - applies deploy/schema/NNN_name.sql in numeric order, once each.
#
#   deploy/migrate.sh            apply what is pending
#   deploy/migrate.sh --status   list applied / pending / changed files, change nothing
#
# Each applied file is a row of schema_migrations (version, name, sha256 checksum,
# applied_at). A file whose sha256 no longer matches its row is refused (exit 1): an
# applied migration is history, a change is a new NNN file. A pending file numbered
# below the newest applied one is refused too (renumber it). A file and its
# schema_migrations row go to the server in one client run that stops at the first
# error, so a failed file is not recorded; MariaDB DDL is not transactional, so write
# files that can be re-run after a fix (CREATE TABLE IF NOT EXISTS, INSERT IGNORE).
#
# Connection: DK_MYSQL_HOST [127.0.0.1] DK_MYSQL_PORT [13306] over TCP, or the unix
# socket DK_MYSQL_SOCKET when set; DK_MYSQL_USER [dingkao] DK_MYSQL_PASSWORD
# [dingkao-dev] DK_MYSQL_DB [dingkao]. DK_SCHEMA_DIR [deploy/schema] for tests.
# Concurrent runs against one database on one machine are serialised by a lock file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
DK_SCHEMA_DIR=${DK_SCHEMA_DIR:-$here/schema}
DK_MYSQL_HOST=${DK_MYSQL_HOST:-127.0.0.1}
DK_MYSQL_PORT=${DK_MYSQL_PORT:-13306}
DK_MYSQL_USER=${DK_MYSQL_USER:-dingkao}
DK_MYSQL_PASSWORD=${DK_MYSQL_PASSWORD:-dingkao-dev}
DK_MYSQL_DB=${DK_MYSQL_DB:-dingkao}
DK_MYSQL_SOCKET=${DK_MYSQL_SOCKET:-}

log() { printf 'migrate: %s\n' "$*" >&2; }
die() { printf 'migrate: error: %s\n' "$*" >&2; exit 1; }

mode=apply
case ${1:-} in
"") ;;
--status) mode=status ;;
-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument '$1' (try --help)" ;;
esac

[[ $DK_MYSQL_DB =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "DK_MYSQL_DB must match [A-Za-z0-9_]{1,64}"
[[ -d $DK_SCHEMA_DIR ]] || die "no schema directory $DK_SCHEMA_DIR"

if [[ -n $DK_MYSQL_SOCKET ]]; then
    conn=(--socket="$DK_MYSQL_SOCKET")
    where="$DK_MYSQL_USER@$DK_MYSQL_SOCKET/$DK_MYSQL_DB"
else
    conn=(--protocol=TCP --host="$DK_MYSQL_HOST" --port="$DK_MYSQL_PORT")
    where="$DK_MYSQL_USER@$DK_MYSQL_HOST:$DK_MYSQL_PORT/$DK_MYSQL_DB"
fi

# The password travels in MYSQL_PWD (environment of the client only), not in argv.
sqlc() {
    MYSQL_PWD=$DK_MYSQL_PASSWORD mariadb --no-defaults "${conn[@]}" --user="$DK_MYSQL_USER" \
        --default-character-set=utf8mb4 --connect-timeout=10 --batch --skip-column-names \
        "$DK_MYSQL_DB" "$@"
}

err=$(sqlc -e 'SELECT 1' 2>&1 >/dev/null) || die "cannot connect as $where: $err"

lock=${TMPDIR:-/tmp}/dk-migrate-$(id -u)-$(printf '%s' "$where" | sha256sum | cut -c1-16).lock
exec 8>>"$lock"
flock -w 300 8 || die "another migrate.sh holds $lock"

sqlc <<'SQL' || die "cannot create schema_migrations in $where"
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INT          NOT NULL PRIMARY KEY COMMENT 'NNN of deploy/schema/NNN_name.sql',
    name       VARCHAR(200) NOT NULL COMMENT 'the name part of the file name',
    checksum   CHAR(64)     NOT NULL COMMENT 'sha256 of the file as applied',
    applied_at DATETIME(3)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='deploy/migrate.sh: one row per applied schema file';
SQL

# ---- the files -------------------------------------------------------------------
declare -A file_of=() name_of=() sum_of=()
versions=()
shopt -s nullglob
for f in "$DK_SCHEMA_DIR"/*.sql; do
    base=${f##*/}
    [[ $base =~ ^([0-9]{3,})_([A-Za-z0-9_.-]+)\.sql$ ]] ||
        die "schema file name '$base' is not NNN_name.sql (digits, underscore, [A-Za-z0-9_.-])"
    v=$((10#${BASH_REMATCH[1]}))
    [[ -z ${file_of[$v]:-} ]] || die "version $v twice: ${file_of[$v]##*/} and $base"
    file_of[$v]=$f
    name_of[$v]=${BASH_REMATCH[2]}
    sum_of[$v]=$(sha256sum "$f" | cut -d' ' -f1)
    versions+=("$v")
done
shopt -u nullglob
mapfile -t versions < <(printf '%s\n' "${versions[@]}" | sed '/^$/d' | sort -n)

# ---- what is applied ---------------------------------------------------------------
declare -A applied_sum=() applied_at=()
max_applied=0
while IFS=$'\t' read -r v name sum at; do
    [[ -n $v ]] || continue
    applied_sum[$v]=$sum
    applied_at[$v]=$at
    ((v > max_applied)) && max_applied=$v
    if [[ -z ${file_of[$v]:-} ]]; then
        log "warning: version $v ($name) is applied but has no file in $DK_SCHEMA_DIR"
    fi
done < <(sqlc -e 'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version')

changed=0
for v in "${versions[@]}"; do
    if [[ -n ${applied_sum[$v]:-} && ${applied_sum[$v]} != "${sum_of[$v]}" ]]; then
        log "error: ${file_of[$v]##*/} changed after it was applied on ${applied_at[$v]}"
        log "       recorded sha256 ${applied_sum[$v]}"
        log "       file now    sha256 ${sum_of[$v]}"
        changed=1
    fi
done

if [[ $mode == status ]]; then
    for v in "${versions[@]}"; do
        if [[ -z ${applied_sum[$v]:-} ]]; then state=pending
        elif [[ ${applied_sum[$v]} != "${sum_of[$v]}" ]]; then state="CHANGED (applied ${applied_at[$v]})"
        else state="applied ${applied_at[$v]}"
        fi
        printf '%03d %-32s %s\n' "$v" "${name_of[$v]}" "$state"
    done
    exit $changed
fi

((changed == 0)) || die "refusing to migrate $where: an applied schema file was modified (add a new NNN_name.sql instead)"

pending=()
for v in "${versions[@]}"; do
    [[ -n ${applied_sum[$v]:-} ]] && continue
    ((v > max_applied)) ||
        die "${file_of[$v]##*/} is pending but version $max_applied is already applied: renumber it above $max_applied"
    pending+=("$v")
done

if ((${#pending[@]} == 0)); then
    log "$where is up to date (${#applied_sum[@]} applied, nothing pending)"
    exit 0
fi

for v in "${pending[@]}"; do
    f=${file_of[$v]}
    t0=$SECONDS
    if ! {
        printf 'SET NAMES utf8mb4;\n'
        cat "$f"
        printf '\nINSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (%d, '"'%s'"', '"'%s'"', NOW(3));\n' \
            "$v" "${name_of[$v]}" "${sum_of[$v]}"
    } | sqlc; then
        die "${f##*/} failed (not recorded; statements before the failing one may have been applied)"
    fi
    log "applied ${f##*/} (sha256 ${sum_of[$v]:0:12}) in $((SECONDS - t0))s"
done
log "$where: ${#pending[@]} applied now, $((${#applied_sum[@]} + ${#pending[@]})) in total"
