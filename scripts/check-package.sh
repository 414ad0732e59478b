#!/usr/bin/env bash
# Packs the library as npm would publish it and installs the tarball into an empty app:
# the tarball holds built JavaScript and declarations only (no sources, no specs), and both entry
# points load from the installed copy, with the peers npm installs next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
npm pack -w nest-prisma-tenancy --pack-destination "$dir" --silent > "$dir/name"
tarball="$dir/$(tail -n 1 "$dir/name")"
tar -tzf "$tarball" > "$dir/files"
for required in package/dist/index.js package/dist/index.d.ts package/dist/testing/index.js \
  package/dist/testing/index.d.ts package/dist/prisma-cli/index.js package/dist/prisma-cli/index.d.ts \
  package/dist/cli/main.js package/README.md package/LICENSE package/package.json; do
  grep -qx "$required" "$dir/files" || { echo "the tarball lacks $required" >&2; exit 1; }
done
if grep -E '\.ts$' "$dir/files" | grep -vE '\.d\.ts$' | grep -q .; then
  echo "the tarball ships TypeScript sources:" >&2
  grep -E '\.ts$' "$dir/files" | grep -vE '\.d\.ts$' >&2
  exit 1
fi
if grep -qE '\.spec\.' "$dir/files"; then echo "the tarball ships specs" >&2; exit 1; fi
mkdir "$dir/app"
(cd "$dir/app" && npm init -y > /dev/null && npm install --prefer-offline --no-audit --no-fund \
  --ignore-scripts "$tarball" > "$dir/install.log" 2>&1) || { cat "$dir/install.log" >&2; exit 1; }
# The app's own generated client (here: the demo's, as `prisma generate` would have written it).
ln -s "$PWD/node_modules/.prisma" "$dir/app/node_modules/.prisma"
(cd "$dir/app" && node -e '
  const lib = require("nest-prisma-tenancy");
  const kit = require("nest-prisma-tenancy/testing");
  for (const name of ["PrismaModule", "PrismaService", "TenantScoped", "runInTenant", "TenantSettingSigner"])
    if (!lib[name]) throw new Error(`nest-prisma-tenancy does not export ${name}`);
  if (!kit.describeTenantIsolation) throw new Error("nest-prisma-tenancy/testing does not export describeTenantIsolation");
  if (!require("nest-prisma-tenancy/prisma").createMigrateAdapter)
    throw new Error("nest-prisma-tenancy/prisma does not export createMigrateAdapter");
')
# The installed command runs (bin link, shebang) and generates the migration of the demo schema.
(cd "$dir/app" && ./node_modules/.bin/nest-prisma-tenancy rls generate --schema "$root/prisma/schema.prisma" \
  | grep -q "SELECT public.enable_tenant_rls('public.workspaces', 'id');") ||
  { echo "the installed nest-prisma-tenancy command did not generate the RLS migration" >&2; exit 1; }
echo "nest-prisma-tenancy: $(wc -l < "$dir/files") files packed; installs and loads from the tarball"
