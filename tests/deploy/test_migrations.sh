#!/usr/bin/env bash
# tests/deploy/test_migrations.sh - deploy/migrate.sh against a running stack:
# applying again changes nothing, an edited applied file is refused, the schema keeps
# its conventions (InnoDB, utf8mb4, foreign keys) and the tables other modules code
# against have the agreed columns. With admin access to the stack (deploy/stack.sh sql)
# it also runs migrate.sh on a scratch database: numeric order, out-of-order and
# failing files. Exits 77 (skipped) when the stack is not reachable.
#
# Uses the stack of the environment: DK_STACK_DIR DK_MYSQL_HOST DK_MYSQL_PORT
# DK_MYSQL_USER DK_MYSQL_PASSWORD DK_MYSQL_DB DK_REDIS_PORT (stack.sh defaults).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
export DK_MYSQL_HOST=${DK_MYSQL_HOST:-127.0.0.1}
export DK_MYSQL_PORT=${DK_MYSQL_PORT:-13306}
export DK_MYSQL_USER=${DK_MYSQL_USER:-dingkao}
export DK_MYSQL_PASSWORD=${DK_MYSQL_PASSWORD:-dingkao-dev}
export DK_MYSQL_DB=${DK_MYSQL_DB:-dingkao}
export DK_REDIS_PORT=${DK_REDIS_PORT:-16379}
unset DK_MYSQL_SOCKET DK_SCHEMA_DIR
MIN_FOREIGN_KEYS=${DK_MIN_FOREIGN_KEYS:-40}

skip() { echo "SKIP test_migrations: $*" >&2; exit 77; }
fail() { echo "FAIL test_migrations: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

for b in mariadb mariadb-dump redis-cli; do
    command -v "$b" >/dev/null || skip "$b is not installed (deploy/setup.sh)"
done

sqlc() {
    MYSQL_PWD=$DK_MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP --host="$DK_MYSQL_HOST" \
        --port="$DK_MYSQL_PORT" --user="$DK_MYSQL_USER" --default-character-set=utf8mb4 \
        --batch --skip-column-names "$@"
}
where="$DK_MYSQL_USER@$DK_MYSQL_HOST:$DK_MYSQL_PORT/$DK_MYSQL_DB"
sqlc --connect-timeout=3 -e 'SELECT 1' "$DK_MYSQL_DB" >/dev/null 2>&1 ||
    skip "MariaDB $where is not reachable (start the stack: deploy/stack.sh up)"
[[ $(redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" ping 2>/dev/null) == PONG ]] ||
    skip "Redis 127.0.0.1:$DK_REDIS_PORT is not reachable (start the stack: deploy/stack.sh up)"

work=$(mktemp -d "${TMPDIR:-/tmp}/dk-test-migrations.XXXXXX")
scratch=
cleanup() {
    if [[ -n $scratch ]]; then
        "$repo/deploy/stack.sh" sql -e "DROP DATABASE IF EXISTS \`$scratch\`;
            REVOKE ALL PRIVILEGES ON \`$scratch\`.* FROM '$DK_MYSQL_USER'@'127.0.0.1';" \
            >/dev/null 2>&1 || echo "warning: could not drop scratch database $scratch" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT

migrate() { "$repo/deploy/migrate.sh"; }

# dump NAME [DB]: the schema without AUTO_INCREMENT counters, and the migration rows.
dump() {
    local db=${2:-$DK_MYSQL_DB}
    MYSQL_PWD=$DK_MYSQL_PASSWORD mariadb-dump --no-defaults --protocol=TCP --host="$DK_MYSQL_HOST" \
        --port="$DK_MYSQL_PORT" --user="$DK_MYSQL_USER" --default-character-set=utf8mb4 \
        --no-data --skip-comments --skip-dump-date --routines --triggers --events \
        --skip-lock-tables "$db" | sed -E 's/ AUTO_INCREMENT=[0-9]+//' >"$work/$1.schema"
    sqlc -e 'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version' \
        "$db" >"$work/$1.rows"
}

# ---- 1. applying again changes nothing -----------------------------------------------
migrate >"$work/migrate0.log" 2>&1 || { cat "$work/migrate0.log" >&2; fail "migrate.sh failed on $where"; }
dump before
[[ -s $work/before.rows ]] || fail "schema_migrations is empty after migrate.sh"
migrate >"$work/migrate1.log" 2>&1 || { cat "$work/migrate1.log" >&2; fail "second migrate.sh failed"; }
grep -q 'up to date' "$work/migrate1.log" || { cat "$work/migrate1.log" >&2; fail "second run did not say it was up to date"; }
dump after
diff -u "$work/before.schema" "$work/after.schema" >&2 || fail "the schema changed when migrate.sh ran again"
diff -u "$work/before.rows" "$work/after.rows" >&2 || fail "schema_migrations changed when migrate.sh ran again"
ok "migrate.sh again: schema ($(grep -c '^CREATE TABLE' "$work/after.schema") tables) and $(wc -l <"$work/after.rows") schema_migrations rows unchanged"

# every file of deploy/schema is applied with its current checksum
for f in "$repo"/deploy/schema/[0-9]*.sql; do
    v=$((10#$(basename "$f" | cut -d_ -f1)))
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    awk -v v="$v" -v s="$sum" -F'\t' '$1 == v && $3 == s { found = 1 } END { exit !found }' \
        "$work/after.rows" || fail "$(basename "$f") is not recorded with sha256 $sum"
done
ok "every deploy/schema file is recorded with its sha256"

# ---- 2. an applied file that changed is refused ------------------------------------------
cp -r "$repo/deploy/schema" "$work/edited"
last=$(printf "%s\n" "$work/edited"/[0-9]*.sql | sort | tail -n 1)
printf '\n-- an edit after the fact\n' >>"$last"
if DK_SCHEMA_DIR=$work/edited migrate >"$work/edited.log" 2>&1; then
    cat "$work/edited.log" >&2; fail "migrate.sh accepted an edited applied file"
fi
grep -q 'changed after it was applied' "$work/edited.log" ||
    { cat "$work/edited.log" >&2; fail "no clear error for an edited file"; }
dump refused
diff -q "$work/after.schema" "$work/refused.schema" >/dev/null &&
    diff -q "$work/after.rows" "$work/refused.rows" >/dev/null || fail "a refused run changed the database"
ok "an edited applied file is refused (exit 1) and nothing changes"

# ---- 3. conventions ------------------------------------------------------------------
bad=$(sqlc -e "SELECT table_name, engine, table_collation FROM information_schema.tables
    WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
      AND (engine <> 'InnoDB' OR table_collation NOT LIKE 'utf8mb4\\_%')" "$DK_MYSQL_DB")
[[ -z $bad ]] || fail "tables not InnoDB/utf8mb4: $bad"
bad=$(sqlc -e "SELECT CONCAT(table_name, '.', column_name, ' ', character_set_name)
    FROM information_schema.columns WHERE table_schema = DATABASE()
      AND character_set_name IS NOT NULL AND character_set_name <> 'utf8mb4'" "$DK_MYSQL_DB")
[[ -z $bad ]] || fail "columns not utf8mb4: $bad"
ntables=$(sqlc -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()
    AND table_type = 'BASE TABLE'" "$DK_MYSQL_DB")
ok "all $ntables tables are InnoDB and utf8mb4"

nfk=$(sqlc -e "SELECT COUNT(*) FROM information_schema.referential_constraints
    WHERE constraint_schema = DATABASE()" "$DK_MYSQL_DB")
((nfk >= MIN_FOREIGN_KEYS)) || fail "only $nfk foreign keys (want at least $MIN_FOREIGN_KEYS)"
ok "$nfk foreign keys (at least $MIN_FOREIGN_KEYS)"

nopk=$(sqlc -e "SELECT t.table_name FROM information_schema.tables t
    LEFT JOIN information_schema.table_constraints c ON c.table_schema = t.table_schema
     AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY'
    WHERE t.table_schema = DATABASE() AND t.table_type = 'BASE TABLE' AND c.table_name IS NULL" \
    "$DK_MYSQL_DB")
[[ -z $nopk ]] || fail "tables without a primary key: $nopk"
ok "every table has a primary key"

# ---- 4. the contracts other modules code against --------------------------------------
# question-bank/: these columns exactly (name, type, nullability, order); 014 added the
# states and releases of the console (a live row never changes; question_bank.h).
sqlc -e "SELECT table_name, column_name, column_type, is_nullable FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name IN ('qb_group', 'qb_question', 'qb_blueprint',
    'qb_bank_version') ORDER BY table_name, ordinal_position" "$DK_MYSQL_DB" >"$work/qb.cols"
cat >"$work/qb.want" <<'EOF'
qb_bank_version	id	tinyint(4)	NO
qb_bank_version	version	bigint(20)	NO
qb_bank_version	updated_at	datetime(3)	YES
qb_blueprint	category	varchar(8)	NO
qb_blueprint	paper	varchar(8)	NO
qb_blueprint	question_count	int(11)	YES
qb_blueprint	duration_min	int(11)	YES
qb_blueprint	pass_mark	int(11)	YES
qb_blueprint	sections	longtext	NO
qb_blueprint	updated_at	datetime(3)	YES
qb_group	id	varchar(32)	NO
qb_group	category	varchar(8)	NO
qb_group	paper	varchar(8)	NO
qb_group	section	varchar(64)	NO
qb_group	qtype	varchar(4)	NO
qb_group	case_text	mediumtext	YES
qb_group	shared_options	longtext	YES
qb_group	state	enum('draft','live','retired')	NO
qb_group	release_id	bigint(20) unsigned	YES
qb_question	id	varchar(32)	NO
qb_question	category	varchar(8)	NO
qb_question	paper	varchar(8)	NO
qb_question	section	varchar(64)	NO
qb_question	qtype	varchar(4)	NO
qb_question	group_id	varchar(32)	YES
qb_question	group_pos	int(11)	YES
qb_question	stem	mediumtext	NO
qb_question	options	longtext	NO
qb_question	answer	varchar(8)	NO
qb_question	difficulty	tinyint(4)	NO
qb_question	explanation	mediumtext	YES
qb_question	imported_at	datetime(3)	YES
qb_question	state	enum('draft','live','retired')	NO
qb_question	release_id	bigint(20) unsigned	YES
qb_question	replaces	varchar(32)	YES
qb_question	retired_release	bigint(20) unsigned	YES
EOF
diff -u "$work/qb.want" "$work/qb.cols" >&2 || fail "the qb_* tables differ from the agreed definition"
[[ $(sqlc -e 'SELECT id, version FROM qb_bank_version' "$DK_MYSQL_DB" | head -n 1 | cut -f1) == 1 ]] ||
    fail "qb_bank_version has no row 1"
ok "qb_* tables match the agreed columns; qb_bank_version has its row"

# exam-engine/ and proctor/: these columns exist.
need="exam_session:id,physician_id,enrolment_id,cycle_id,paper,attempt,seed,bank_version,paper_json,started_at,deadline,submitted_at,submitted_by,status
exam_answer:session_id,question_no,choice,saved_at
exam_result:session_id,score,total,pass_mark,passed,cheating_confirmed,final_passed,created_at
proctor_capture:id,session_id,physician_id,taken_at,photo_path,photo_sha256,bytes,width,height,faces,det_score,box,cosine,similarity,flag,error,scored_at
proctor_suspect:id,session_id,physician_id,capture_id,frames,reason,score,created_at,status
schema_migrations:version,name,checksum,applied_at"
while IFS=: read -r table cols; do
    have=$(sqlc -e "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE()
        AND table_name = '$table'" "$DK_MYSQL_DB")
    IFS=, read -ra list <<<"$cols"
    for c in "${list[@]}"; do
        grep -qx "$c" <<<"$have" || fail "$table has no column $c"
    done
done <<<"$need"
ok "exam_*, proctor_* and schema_migrations have the agreed columns"

# ---- 5. migrate.sh itself, on a scratch database (needs the stack's admin socket) -----------
scratch_db=dk_migtest_$$
if ! "$repo/deploy/stack.sh" sql -e "CREATE DATABASE \`$scratch_db\` CHARACTER SET utf8mb4
        COLLATE utf8mb4_unicode_ci; GRANT ALL PRIVILEGES ON \`$scratch_db\`.* TO
        '$DK_MYSQL_USER'@'127.0.0.1';" >/dev/null 2>"$work/admin.err"; then
    echo "# skipped the scratch-database checks: no admin access through deploy/stack.sh sql" \
        "($(head -n 1 "$work/admin.err"))"
    echo "PASS test_migrations (scratch-database part skipped)"
    exit 0
fi
scratch=$scratch_db
mkdir "$work/s"
cp "$repo"/deploy/schema/*.sql "$work/s/"
cat >"$work/s/900_probe_a.sql" <<'EOF'
CREATE TABLE probe_order (n INT NOT NULL PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO probe_order VALUES (900);
EOF
cat >"$work/s/1000_probe_b.sql" <<'EOF'
INSERT INTO probe_order VALUES (1000);
EOF
smig() { DK_MYSQL_DB=$scratch DK_SCHEMA_DIR=$work/s migrate; }
smig >"$work/s1.log" 2>&1 || { cat "$work/s1.log" >&2; fail "migrate.sh on an empty database failed"; }
got=$(sqlc -e 'SELECT GROUP_CONCAT(n ORDER BY n) FROM probe_order' "$scratch")
[[ $got == 900,1000 ]] || fail "900 must run before 1000 (numeric order), got '$got'"
dump s1 "$scratch"
smig >"$work/s2.log" 2>&1 || { cat "$work/s2.log" >&2; fail "second run on the scratch database failed"; }
dump s2 "$scratch"
diff -u "$work/s1.schema" "$work/s2.schema" >&2 && diff -u "$work/s1.rows" "$work/s2.rows" >&2 ||
    fail "a second run changed the scratch database"
ok "from empty: every file applied in numeric order (900 before 1000); a second run changes nothing"

cat >"$work/s/950_late.sql" <<'EOF'
INSERT INTO probe_order VALUES (950);
EOF
if smig >"$work/s3.log" 2>&1; then fail "a pending file below the newest applied version was accepted"; fi
grep -q 'renumber' "$work/s3.log" || { cat "$work/s3.log" >&2; fail "no clear error for an out-of-order file"; }
rm "$work/s/950_late.sql"
ok "a pending file numbered below the newest applied one is refused"

cat >"$work/s/1001_broken.sql" <<'EOF'
INSERT INTO probe_order VALUES (1001);
THIS IS NOT SQL;
EOF
if smig >"$work/s4.log" 2>&1; then fail "a failing file was reported as applied"; fi
n=$(sqlc -e 'SELECT COUNT(*) FROM schema_migrations WHERE version = 1001' "$scratch")
[[ $n == 0 ]] || fail "a failing file was recorded in schema_migrations"
ok "a failing file exits non-zero and is not recorded"

echo "PASS test_migrations"
