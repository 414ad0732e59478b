#!/usr/bin/env bash
# The adopter's path, end to end: packs the library, installs the tarball (plus peers) into this
# example, lints the schema with the INSTALLED command, generates its client (once, at its custom
# output), builds a scratch database on the server of DIRECT_URL, applies the schema and the RLS
# migration of the installed command, checks the live database with it (the deliberate plain
# foreign key must be reported, then nothing once it is dropped), runs the e2e tests (Jest +
# supertest, real database, the isolation kit reading the app's module) and drops the database.
# Run from anywhere; exits non-zero on any failure.
set -euo pipefail
example="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$example/../.." && pwd)"
direct_url="${DIRECT_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
started=$(date +%s)
work=$(mktemp -d)
db="npt_example_orgs_$$_$(date +%s)"
admin_url=""

cleanup() {
  local code=$?
  if [ -n "$admin_url" ]; then
    psql "$admin_url" -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
      echo "could not drop the scratch database $db" >&2
  fi
  rm -rf "$work" "$example/prisma/.app-schema.prisma"
  echo "run-example.sh: exit $code after $(($(date +%s) - started))s"
  exit "$code"
}
trap cleanup EXIT

step() { echo "--- $*"; }

# URLs of the scratch database: the owner (DIRECT_URL's role), app_runtime and app_admin.
url_for() { # url_for <base url> <user or ''> <database>
  node -e '
    const u = new URL(process.argv[1]);
    if (process.argv[2]) { u.username = process.argv[2]; u.password = ""; }
    u.pathname = "/" + process.argv[3];
    console.log(u.toString());
  ' "$1" "$2" "$3"
}

psql "$direct_url" -qAtc 'SELECT 1' >/dev/null 2>&1 || {
  echo "no PostgreSQL answers at DIRECT_URL (${direct_url}); set DIRECT_URL to an owner's URL" >&2
  exit 1
}

step "pack the library"
(cd "$root" && npm pack -w nest-prisma-tenancy --pack-destination "$work" --silent > "$work/pack.out")
mkdir -p "$example/.pack"
cp "$work/$(tail -n 1 "$work/pack.out")" "$example/.pack/nest-prisma-tenancy.tgz"

step "install the tarball and the peers into the example"
# A fresh tarball each run: forget the previous install of it.
rm -rf "$example/node_modules/nest-prisma-tenancy" "$example/package-lock.json"
(cd "$example" && npm install --prefer-offline --no-audit --no-fund > "$work/install.log" 2>&1) ||
  { cat "$work/install.log" >&2; exit 1; }
[ -f "$example/node_modules/nest-prisma-tenancy/dist/index.js" ] ||
  { echo "nest-prisma-tenancy is not installed from the tarball" >&2; exit 1; }
cli="$example/node_modules/.bin/nest-prisma-tenancy"
prisma="$example/node_modules/.bin/prisma"

step "nest-prisma-tenancy check names the deliberate plain foreign key"
set +e
(cd "$example" && "$cli" check --schema prisma/schema.prisma --schema-only --tenant-field orgId \
  --root-model Organization) > "$work/check.out" 2>&1
check_code=$?
set -e
cat "$work/check.out"
[ "$check_code" -eq 1 ] || { echo "check exited $check_code, expected 1" >&2; exit 1; }
grep -q 'Comment.plainTask' "$work/check.out" ||
  { echo "check did not name Comment.plainTask (the plain foreign key)" >&2; exit 1; }

# The app runs on the schema as the check wants it: a copy without the marked lines, beside the
# original (git-ignored), so that it generates into the same custom output.
app_schema="$example/prisma/.app-schema.prisma"
sed -e '/deliberate-plain-fk/d' "$example/prisma/schema.prisma" > "$app_schema"
(cd "$example" && "$cli" check --schema "$app_schema" --schema-only --tenant-field orgId \
  --root-model Organization) ||
  { echo "check still fails without the plain foreign key" >&2; exit 1; }
echo "without the plain foreign key, check --schema-only passes"

step "prisma generate (the example's own client, $example/src/generated/prisma)"
rm -rf "$example/src/generated"
(cd "$example" && "$prisma" generate --schema "$app_schema" > "$work/generate.log" 2>&1) ||
  { cat "$work/generate.log" >&2; exit 1; }
[ -f "$example/src/generated/prisma/index.js" ] || { echo "no generated client" >&2; exit 1; }
# Only the custom output is generated (no second generate into @prisma/client's default output):
# the isolation kit reads AppModule's client. A default client left by an earlier version of this
# script is removed, so nothing else could supply the example's models.
rm -rf "$example/node_modules/.prisma/client"

step "scratch database $db"
admin_url="$direct_url"
owner_url=$(url_for "$direct_url" "" "$db")
runtime_url=$(url_for "$direct_url" app_runtime "$db")
psql "$admin_url" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$db\"" >/dev/null
# The tables of the FULL schema, the deliberate plain foreign key included: the database check
# below must find it in the live catalog.
(cd "$example" && DIRECT_URL="$owner_url" "$prisma" migrate diff --from-empty \
  --to-schema-datamodel prisma/schema.prisma --script > "$work/schema.sql" 2> "$work/diff.log") ||
  { cat "$work/diff.log" >&2; exit 1; }
# current_workspace_id() comes with the RLS migration, which also sets the tenant column defaults:
# the tables are created without them first.
sed -i 's/ DEFAULT current_workspace_id()//' "$work/schema.sql"
psql "$owner_url" -v ON_ERROR_STOP=1 -q -f "$work/schema.sql" >/dev/null 2>"$work/psql.log" ||
  { cat "$work/psql.log" >&2; exit 1; }
(cd "$example" && "$cli" rls generate --schema "$app_schema" --tenant-field orgId \
  --root-model Organization --out "$work/rls.sql")
psql "$owner_url" -v ON_ERROR_STOP=1 -q -f "$work/rls.sql" >/dev/null 2>"$work/psql.log" ||
  { cat "$work/psql.log" >&2; exit 1; }

export TENANT_SETTING_SECRET=$(node -e 'console.log(require("crypto").randomBytes(48).toString("base64url"))')

step "nest-prisma-tenancy check, database half, names the plain foreign key in the live database"
# --schema is the app's copy (its lint is clean), so the problem can only come from the database.
set +e
(cd "$example" && "$cli" check --schema "$app_schema" --database-url "$runtime_url" \
  --setting-secret "$TENANT_SETTING_SECRET" --tenant-field orgId --root-model Organization) \
  > "$work/check-db.out" 2> "$work/check-db.err"
check_code=$?
set -e
cat "$work/check-db.out" "$work/check-db.err"
[ "$check_code" -eq 1 ] || { echo "database check exited $check_code, expected 1" >&2; exit 1; }
plain_fk='^database: foreign key comments_plain_task_id_fkey on ([a-z_]+\.)?comments \(plain_task_id\) → ([a-z_]+\.)?tasks \(id\) does not pair org_id with ([a-z_]+\.)?tasks\.org_id'
grep -Eq "$plain_fk" "$work/check-db.out" ||
  { echo "the database check did not report comments_plain_task_id_fkey (the plain foreign key)" >&2; exit 1; }
[ "$(wc -l < "$work/check-db.out")" -eq 1 ] ||
  { echo "the database check reported more than the plain foreign key" >&2; exit 1; }

# The app runs on the schema without it: drop it from the database too, and check again.
psql "$owner_url" -v ON_ERROR_STOP=1 -qAtc 'ALTER TABLE comments DROP COLUMN plain_task_id' >/dev/null
(cd "$example" && "$cli" check --schema "$app_schema" --database-url "$runtime_url" \
  --setting-secret "$TENANT_SETTING_SECRET" --tenant-field orgId --root-model Organization) ||
  { echo "the database check still fails without the plain foreign key" >&2; exit 1; }
echo "without the plain foreign key, check (schema and database) passes"

step "type-check the example"
(cd "$example" && npx --no-install tsc -p tsconfig.json --noEmit)

step "e2e tests"
export DIRECT_URL="$owner_url"
export DATABASE_URL="$runtime_url"
export SYSTEM_DATABASE_URL=$(url_for "$direct_url" app_admin "$db")
export NODE_ENV=test
# EXAMPLE_SUMMARY (set by .ci/run): where Jest writes its JSON results, for CI's closing count.
(cd "$example" && npx --no-install jest --runInBand --ci \
  ${EXAMPLE_SUMMARY:+--json --outputFile="$EXAMPLE_SUMMARY"})
