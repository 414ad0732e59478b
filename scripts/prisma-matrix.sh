#!/usr/bin/env bash
# Runs the library's own specs (packages/nest-prisma-tenancy/src/**/*.spec.ts) on the Prisma Clients
# the peer range promises beyond the demo's own (7.10, prisma-client-js, which `npm test` runs):
#   prisma-6.19                  @prisma/client 6.19.3, prisma-client-js (engineType = "client"),
#                                with @prisma/adapter-pg and @prisma/driver-adapter-utils 6.19.3
#   prisma-7-prisma-client-cjs   @prisma/client 7.10, the `prisma-client` generator (moduleFormat
#                                "cjs", importFileExtension "", custom output)
# Each client is generated into .data/prisma-matrix/<variant>; jest.prisma-matrix.config.js maps the
# Prisma packages to it. The database comes from DIRECT_URL/DATABASE_URL as for `npm test` (or the
# embedded PostgreSQL). With PRISMA_MATRIX_JSON_DIR set, Jest's JSON results go to
# $PRISMA_MATRIX_JSON_DIR/<variant>.json (for CI's closing count). Exits non-zero if any run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.data/prisma-matrix
mkdir -p "$work"
status=0

# The demo's schema as each generator wants it: only the generator block differs.
schema_with_generator() { # schema_with_generator <generator block file> <source schema> > out
  node -e '
    const fs = require("fs");
    const [block, source] = process.argv.slice(1);
    const schema = fs.readFileSync(source, "utf8").replace(/^generator\s+\w+\s*\{[^}]*\}\s*$/gm, "");
    process.stdout.write(fs.readFileSync(block, "utf8") + "\n" + schema);
  ' "$1" "$2"
}

run_specs() { # run_specs <variant> <client module> <node_modules of the Prisma packages> [node options]
  local variant=$1 json=()
  echo "=== library specs on ${variant} ==="
  if [ -n "${PRISMA_MATRIX_JSON_DIR:-}" ]; then
    mkdir -p "$PRISMA_MATRIX_JSON_DIR"
    rm -f "$PRISMA_MATRIX_JSON_DIR/$variant.json"
    json=(--json --outputFile="$PRISMA_MATRIX_JSON_DIR/$variant.json")
  fi
  PRISMA_MATRIX_CLIENT=$2 PRISMA_MATRIX_PACKAGES=$3 NODE_OPTIONS="${4:-}" \
    npx --no-install jest --config jest.prisma-matrix.config.js --runInBand --ci "${json[@]}" ||
    status=1
}

# --- Prisma 6.19: its own packages, CLI included (its generator wants @prisma/client beside it).
v6=$work/prisma-6.19
rm -rf "$v6" && mkdir -p "$v6"
cat > "$v6/package.json" <<'JSON'
{
  "name": "prisma-matrix-6-19",
  "private": true,
  "dependencies": {
    "@prisma/adapter-pg": "6.19.3",
    "@prisma/client": "6.19.3",
    "@prisma/driver-adapter-utils": "6.19.3",
    "prisma": "6.19.3"
  }
}
JSON
(cd "$v6" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --no-package-lock \
  > install.log 2>&1) || { cat "$v6/install.log" >&2; exit 1; }
printf '%s\n' 'generator client {' '  provider   = "prisma-client-js"' '  engineType = "client"' \
  '  previewFeatures = ["fullTextSearchPostgres", "strictUndefinedChecks"]' '}' > "$v6/generator.prisma"
# The 6.19 CLI reads the url-bearing copy (src/database/prisma6-schema.ts); writing it needs no database.
npx --no-install tsx -e 'require("./src/database/prisma6-schema").writePrisma6Schema()'
schema_with_generator "$v6/generator.prisma" .data/prisma6/schema.prisma > "$v6/schema.prisma"
# No prisma.config.ts here: the schema engine is never run, the stub only stops its download.
(cd "$v6" && PRISMA_SCHEMA_ENGINE_BINARY=$root/prisma/schema-engine-stub.sh \
  PRISMA_HIDE_UPDATE_MESSAGE=1 node node_modules/prisma/build/index.js generate \
  --schema schema.prisma > generate.log 2>&1) || { cat "$v6/generate.log" >&2; exit 1; }
run_specs prisma-6.19 "$v6/node_modules/@prisma/client/default.js" "$v6/node_modules"

# --- Prisma 7, the `prisma-client` generator, CommonJS, custom output.
v7=$work/prisma-7-prisma-client-cjs
rm -rf "$v7" && mkdir -p "$v7"
printf '%s\n' 'generator client {' '  provider            = "prisma-client"' '  output              = "./generated"' \
  '  moduleFormat        = "cjs"' '  importFileExtension = ""' \
  '  previewFeatures     = ["fullTextSearchPostgres", "strictUndefinedChecks"]' '}' > "$v7/generator.prisma"
schema_with_generator "$v7/generator.prisma" prisma/schema.prisma > "$v7/schema.prisma"
(PRISMA_HIDE_UPDATE_MESSAGE=1 node node_modules/prisma/build/index.js generate --schema "$v7/schema.prisma" \
  > "$v7/generate.log" 2>&1) || { cat "$v7/generate.log" >&2; exit 1; }
# The generated client loads its query compiler with `await import(...)`, which Node runs natively
# but Jest's module sandbox only with --experimental-vm-modules.
run_specs prisma-7-prisma-client-cjs "$v7/generated/client.ts" "$root/node_modules" \
  --experimental-vm-modules

exit "$status"
