#!/bin/sh
# NOT Prisma's schema engine: a stand-in named by PRISMA_SCHEMA_ENGINE_BINARY in prisma.config.ts.
#
# Prisma 7's CLI checks, before `prisma generate`, `validate` and `format`, that its native schema
# engine is on disk, and downloads it from binaries.prisma.sh when it is not, although those commands
# never run it. Naming this file lets them run offline. prisma.config.ts stops `migrate` and `db`
# commands before they get here; anything else that runs the engine lands here and stops.
cat >&2 <<'MESSAGE'
Prisma 7's schema engine is not installed here: prisma/schema-engine-stub.sh stands in for it so that
`prisma generate` works offline. Run migrations through the npm scripts (npm run db:migrate, db:deploy,
db:status, db:push, db:reset, db:drift), which use Prisma 6.19's WebAssembly schema engine.
With access to binaries.prisma.sh you can use the Prisma 7 CLI directly instead: run it with
PRISMA_SCHEMA_ENGINE_BINARY set to an empty value, e.g. PRISMA_SCHEMA_ENGINE_BINARY= npx prisma migrate dev
MESSAGE
exit 1
