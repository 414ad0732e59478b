#!/usr/bin/env bash
# Checks the everyday `npm run db:*` flow the README documents, on a scratch database and a scratch
# copy of the project (its schema and migrations are changed here, never the repository's):
# deploy, status, drift, `db:migrate -- --create-only` (Prisma 6.19's WebAssembly engine exits 1
# after writing the file; the script must report success), applying it with `db:migrate`, and
# `db:migrate` after a `db:push` without a terminal (must explain, exit 1, change nothing).
# Needs the PostgreSQL on 127.0.0.1:5432 (trust auth). Exits non-zero on the first failed check.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "check-db-scripts: no PostgreSQL on 127.0.0.1:5432; this check needs it" >&2
  exit 1
fi
root=$PWD
db="db_scripts_check_$$"
admin=postgresql://postgres@127.0.0.1:5432
work=$(mktemp -d)
failures=0

cleanup() {
  psql -q "$admin/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  # db:push regenerated the shared client from the scratch schema: regenerate the project's.
  (cd "$root" && npx prisma generate >/dev/null 2>&1) || echo "check-db-scripts: could not regenerate the client"
}
trap cleanup EXIT

check() {
  local label=$1 expected=$2 actual=$3
  if [ "$actual" = "$expected" ]; then
    echo "ok   $label"
  else
    echo "FAIL $label (expected $expected, got $actual); the command's last output:"
    tail -n 15 "$work/out.log" | sed 's/^/     /'
    failures=$((failures + 1))
  fi
}

psql -q "$admin/postgres" -c "CREATE DATABASE $db" >/dev/null
cp -r prisma scripts src package.json tsconfig.json prisma.config.ts prisma6.config.ts "$work"/
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"
export DIRECT_URL="$admin/$db" DATABASE_URL="postgresql://app_runtime@127.0.0.1:5432/$db"
unset SYSTEM_DATABASE_URL

run() { npm run --silent "$@" </dev/null >"$work/out.log" 2>&1; echo $?; }

check "db:deploy applies the migrations" 0 "$(run db:deploy)"
check "db:status reports them applied" 0 "$(run db:status)"
check "db:drift finds no drift" 0 "$(run db:drift)"

cat >>prisma/schema.prisma <<'EOF'

model ScriptProbe {
  id   String @id @default(uuid()) @db.Uuid
  name String

  @@map("script_probes")
}
EOF
check "db:migrate -- --create-only succeeds" 0 "$(run db:migrate -- --create-only --name script_probe)"
created=$(ls -d prisma/migrations/*_script_probe 2>/dev/null | head -n 1)
check "the created migration creates the table" yes \
  "$([ -n "$created" ] && grep -q 'CREATE TABLE "public"."script_probes"\|CREATE TABLE "script_probes"' "$created/migration.sql" && echo yes || echo no)"
check "db:migrate applies it" 0 "$(run db:migrate)"
check "the table exists" 1 "$(psql -Atq "$DIRECT_URL" -c "SELECT count(*) FROM pg_class WHERE relname = 'script_probes'")"

sed -i 's/^  name String$/  name String\n  note String?/' prisma/schema.prisma
check "db:migrate -- --name creates and applies a migration in one go" 0 "$(run db:migrate -- --name script_probe_note)"
check "the new column exists" 1 "$(psql -Atq "$DIRECT_URL" -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'script_probes' AND column_name = 'note'")"

cat >>prisma/schema.prisma <<'EOF'

model PushProbe {
  id String @id @default(uuid()) @db.Uuid

  @@map("push_probes")
}
EOF
check "db:push adds a table without a migration" 0 "$(run db:push)"
code=$(run db:migrate -- --name after_push)
check "db:migrate after db:push without a terminal exits 1" 1 "$code"
check "... and explains what to do" yes "$(grep -q 'no terminal to ask on' "$work/out.log" && echo yes || echo no)"
check "... and changed nothing" 1 "$(psql -Atq "$DIRECT_URL" -c "SELECT count(*) FROM pg_class WHERE relname = 'push_probes'")"

echo "check-db-scripts: $failures failed"
[ "$failures" -eq 0 ]
